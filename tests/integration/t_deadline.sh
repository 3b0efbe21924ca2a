#!/usr/bin/env bash
# --deadline: a run against a slow server stops sending at the deadline,
# writes complete reports (the tenants not fetched are Error rows saying
# so), exits 1 and keeps them out of the journal; the same command again
# fetches exactly those, and its reports are byte-identical to those of
# a run that was never cut short.
source "$(dirname "$0")/lib.sh"
n=80
gen_tenants $n 47 | awk 'BEGIN { print "tenant_id" } { print }' >"$TMP/in.csv"
export PARTNER_CENTER_TOKEN=deadline-token
start_pcsim --token deadline-token --latency-ms 400 --seed 13
corr=6b29fc40-ca47-1067-b31d-00dd010662da
why="deadline reached before this tenant was fetched"

# 2 in flight, 0.4 s each: about 5 tenants a second, 80 need 16 s
timeout 60 "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 2 --deadline 3s \
  --correlation-id $corr --journal "$TMP/j" -o "$TMP/cut.csv" \
  -s "$TMP/cut.sum.csv" --manifest "$TMP/cut.json" --no-progress \
  2>"$TMP/cut.err"
check "cut run: exit code" "$?" 1
check "cut run: every tenant has a row" \
  "$(tail -n +2 "$TMP/cut.csv" | cut -d, -f1 | uniq | wc -l)" $n
cut_rows=$(grep -c ",Error,,,0,0,$why," "$TMP/cut.csv")
[ "$cut_rows" -gt 0 ] && [ "$cut_rows" -lt $n ] && ok ||
  fail "cut run: $cut_rows deadline rows of $n"
check "cut run: Error rows = deadline rows" \
  "$(tail -n +2 "$TMP/cut.csv" | grep -c ',Error,')" "$cut_rows"
check "cut run: failed in the manifest" "$(jq .counts.failed "$TMP/cut.json")" \
  "$cut_rows"
check "cut run: manifest exit code" "$(jq .exit_code "$TMP/cut.json")" 1
grep -q "deadline 3s reached" "$TMP/cut.err" && ok ||
  fail "cut run: deadline not logged: $(cat "$TMP/cut.err")"
journaled=$(grep -c '^{"i":' "$TMP/j")
check "cut run: the journal holds exactly the fetched tenants" \
  "$journaled" $((n - cut_rows))
grep -q "$why" "$TMP/j" && fail "cut run: a deadline row was journaled" || ok

# The same command without the deadline: only the rest is fetched.
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
timeout 120 "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 \
  --journal "$TMP/j" -o "$TMP/resumed.csv" -s "$TMP/resumed.sum.csv" \
  --no-progress -q 2>"$TMP/resumed.err"
check "resumed run: exit code" "$?" 0
check "resumed run: fetched only the cut tenants" "$(stats | jq .requests)" \
  "$cut_rows"

# A run never cut short, with the same correlation ID.
timeout 120 "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 \
  --correlation-id $corr -o "$TMP/clean.csv" -s "$TMP/clean.sum.csv" \
  --no-progress -q
check "clean run: exit code" "$?" 0
check_file "resumed detail = uninterrupted detail" "$TMP/resumed.csv" "$TMP/clean.csv"
check_file "resumed summary = uninterrupted summary" "$TMP/resumed.sum.csv" \
  "$TMP/clean.sum.csv"

# A deadline that passes while tenants wait for a Retry-After: they are
# cut too, at once (no wait to the end of the Retry-After).
stop_pcsim
start_pcsim --token deadline-token --throttle-rps 2 --seed 13
# (the watchdog: 2 s, plus --timeout for what is in flight, is far less)
timeout 60 "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 --deadline 2s \
  --retries 50 --max-retry-wait 600 -o "$TMP/throttled.csv" --no-progress -q \
  2>"$TMP/throttled.err"
check "throttled run: exit code" "$?" 1
check "throttled run: every tenant has a row" \
  "$(tail -n +2 "$TMP/throttled.csv" | cut -d, -f1 | uniq | wc -l)" $n
grep -q ",Error,.*,$why," "$TMP/throttled.csv" && ok ||
  fail "throttled run: no deadline rows"
# --all-customers: the list read to its end before the deadline is a
# complete input: the unfetched customers are deadline rows, exit 1.
stop_pcsim
start_pcsim --token deadline-token --customers $n --latency-ms 400 --seed 13
timeout 60 "$QR" --all-customers --base-url "$PCSIM_URL" --page-size 500 \
  -j 2 --deadline 3s -o "$TMP/listed.csv" --no-progress -q \
  2>"$TMP/listed.err"
check "listed run: exit code" "$?" 1
check "listed run: every customer has a row" \
  "$(tail -n +2 "$TMP/listed.csv" | cut -d, -f1 | uniq | wc -l)" $n
grep -q ",Error,.*,$why," "$TMP/listed.csv" && ok ||
  fail "listed run: no deadline rows"

# A list not read to its end by the deadline is an input not read: exit
# 3, no report (it would hide the customers not listed), the journal
# keeps the pages and tenants done, and a rerun finishes the job.
rm -f "$TMP/j2"
timeout 60 "$QR" --all-customers --base-url "$PCSIM_URL" --page-size 2 \
  -j 2 --deadline 2s --journal "$TMP/j2" -o "$TMP/unlisted.csv" \
  --no-progress -q 2>"$TMP/unlisted.err"
check "unlisted run: exit code" "$?" 3
[ -e "$TMP/unlisted.csv" ] && fail "unlisted run: a report was written" || ok
grep -q "deadline 2s reached before the customer list was read to its end" \
  "$TMP/unlisted.err" && ok ||
  fail "unlisted run: not said: $(cat "$TMP/unlisted.err")"
timeout 120 "$QR" --all-customers --base-url "$PCSIM_URL" --page-size 2 \
  -j 8 --journal "$TMP/j2" -o "$TMP/unlisted.csv" --no-progress -q \
  2>"$TMP/unlisted2.err"
check "unlisted rerun: exit code" "$?" 0
check "unlisted rerun: every customer has a row" \
  "$(tail -n +2 "$TMP/unlisted.csv" | cut -d, -f1 | uniq | wc -l)" $n
grep -q ",Error," "$TMP/unlisted.csv" &&
  fail "unlisted rerun: Error rows: $(grep -m1 ,Error, "$TMP/unlisted.csv")" || ok
finish
