#!/usr/bin/env bash
# qualreport end to end under valgrind memcheck: the samples (with retries,
# 404, 403) and a faulty, throttled run with a journal. Any memcheck error
# or definite/indirect leak fails.   usage: valgrind_e2e.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
pcsim_pid=
server_pid=
trap 'kill $pcsim_pid $server_pid 2>/dev/null; wait $pcsim_pid $server_pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

export PARTNER_CENTER_TOKEN=valgrind-token
"$build/pcsim" --port 0 --token "$PARTNER_CENTER_TOKEN" --seed 7 \
  --data "$src/samples/pcsim-data.json" --fail-rate 0.2 --drop-rate 0.05 \
  --throttle-rps 300 >"$tmp/pcsim.out" 2>/dev/null &
pcsim_pid=$!
for _ in $(seq 1 100); do
  url=$(head -n 1 "$tmp/pcsim.out" 2>/dev/null || true)
  [ -n "$url" ] && break
  sleep 0.05
done

vg() {
  valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
    --track-fds=no --quiet "$@"
}

{
  echo "id"
  tail -n +2 "$src/samples/expected/qualifications.csv" | cut -d, -f1 | uniq
  for i in $(seq 1 200); do printf '%08x-0000-4000-8000-%012x\n' "$i" "$i"; done
} >"$tmp/in.csv"

status=0
vg "$build/qualreport" "$tmp/in.csv" --base-url "$url" -j 8 --retries 8 \
  -o "$tmp/out.ndjson.gz" -s "$tmp/sum.csv" --rejects "$tmp/rej.csv" \
  --journal "$tmp/j" --no-progress -q || status=$?
# 0 or 1 (the sample's 403 tenant) are the run's own answers; 99 is valgrind.
if [ "$status" -gt 1 ]; then echo "valgrind run failed: exit $status"; exit 1; fi
rows=$(zcat "$tmp/out.ndjson.gz" | jq -r .tenant_id | uniq | wc -l)
echo "valgrind: run 1 exit $status, $rows tenants"
[ "$rows" = 240 ] || { echo "expected 240 tenants, got $rows"; exit 1; }

# A resumed run from the finished journal, and a usage error path.
status=0
vg "$build/qualreport" "$tmp/in.csv" --base-url "$url" --journal "$tmp/j" \
  -o "$tmp/out2.csv" -q || status=$?
if [ "$status" -gt 1 ]; then echo "valgrind resume run failed: exit $status"; exit 1; fi
status=0
vg "$build/qualreport" --rate nope "$tmp/in.csv" 2>/dev/null || status=$?
[ "$status" = 2 ] || { echo "usage error path: exit $status"; exit 1; }

# Every case of the hostile server (tests/hostile/server.py), one tenant
# each: header lines libcurl refuses, gzip bombs, broken chunking, resets,
# redirects, Retry-After refusals, answers that never come.
python3 "$src/tests/hostile/server.py" --list | awk '{ print $1 }' >"$tmp/cases"
awk 'BEGIN { printf "{" } { printf "%s\"%08x-0000-4000-8000-000000000000\": \"%s\"", (NR > 1 ? "," : ""), NR, $1 } END { print "}" }' \
  "$tmp/cases" >"$tmp/cases.json"
{ echo id; awk '{ printf "%08x-0000-4000-8000-000000000000\n", NR }' "$tmp/cases"; } >"$tmp/hostile.csv"
python3 "$src/tests/hostile/server.py" --cases "$tmp/cases.json" >"$tmp/server.out" 2>/dev/null &
server_pid=$!
for _ in $(seq 1 100); do
  hurl=$(head -n 1 "$tmp/server.out" 2>/dev/null || true)
  [ -n "$hurl" ] && break
  sleep 0.05
done
status=0
vg "$build/qualreport" "$tmp/hostile.csv" --base-url "$hurl" -j 8 --retries 1 \
  --timeout 3 -o "$tmp/hostile.out.csv" --no-progress -q 2>/dev/null || status=$?
[ "$status" = 1 ] || { echo "valgrind hostile-server run: exit $status"; exit 1; }
rows=$(tail -n +2 "$tmp/hostile.out.csv" | cut -d, -f1 | uniq | wc -l)
want=$(wc -l <"$tmp/cases")
[ "$rows" = "$want" ] || { echo "hostile server: $rows tenants, want $want"; exit 1; }
echo "valgrind: hostile server, $rows cases, exit 1"
echo "valgrind: no errors, no leaks"
