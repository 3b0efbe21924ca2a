#!/usr/bin/env bash
# Every option is validated with a precise message and exit 2; --help and
# --version work; credentials are never taken from argv.
set -u
qr=$1
src=$2
fails=0 passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'tenant_id\n3fa85f64-5717-4562-b3fc-2c963f66afa6\n' >"$tmp/in.csv"
export PARTNER_CENTER_TOKEN=t0k3n-for-tests

# expect EXIT MESSAGE-SUBSTRING ARGS...
expect() {
  local want=$1 msg=$2; shift 2
  local got out
  out=$("$qr" "$@" 2>&1 >/dev/null); got=$?
  if [ "$got" != "$want" ] || [[ "$out" != *"$msg"* ]]; then
    echo "FAIL: qualreport $* -> exit $got (want $want), stderr: $out (want '$msg')"
    fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}

expect 2 "no input file"
expect 2 "one input file only" a.csv b.csv
expect 2 "unknown option '--bogus'" --bogus "$tmp/in.csv"
expect 2 "unknown option '-x'" -x "$tmp/in.csv"
expect 2 "--output needs a value" "$tmp/in.csv" --output
expect 2 "--concurrency: '0' is not a number from 1 to 1024" -j 0 "$tmp/in.csv"
expect 2 "--concurrency: '1025'" -j 1025 "$tmp/in.csv"
expect 2 "--concurrency: '8x'" -j 8x "$tmp/in.csv"
expect 2 "--rate: 'fast' is not a rate" --rate fast "$tmp/in.csv"
expect 2 "--rate: '-3'" --rate -3 "$tmp/in.csv"
expect 2 "--rate: '0'" --rate 0 "$tmp/in.csv"
expect 2 "--rate: '5/fortnight'" --rate 5/fortnight "$tmp/in.csv"
expect 2 "--retries: '101'" --retries 101 "$tmp/in.csv"
expect 2 "--retries: '-1'" --retries -1 "$tmp/in.csv"
expect 2 "--timeout: 'soon'" --timeout soon "$tmp/in.csv"
expect 2 "--timeout: '0'" --timeout 0 "$tmp/in.csv"
expect 2 "--format: unknown format 'xml'" -f xml "$tmp/in.csv"
expect 2 "--log-format: 'yaml'" --log-format yaml "$tmp/in.csv"
expect 2 "--correlation-id: 'abc' is not a UUID" --correlation-id abc "$tmp/in.csv"
expect 2 "--column: empty name" --column "" "$tmp/in.csv"
expect 2 "-o and -s cannot both be stdout" -s - "$tmp/in.csv"
expect 2 "-o and -s name the same file" -o "$tmp/x.csv" -s "$tmp/x.csv" "$tmp/in.csv"
expect 2 "refusing plain http:// to non-loopback host" --base-url http://example.com "$tmp/in.csv"
expect 2 "--base-url 'http://127.0.0.1:99999': invalid port: want a number from 1 to 65535" --base-url http://127.0.0.1:99999 "$tmp/in.csv"
expect 2 "--base-url 'https://127.0.0.1:0': invalid port" --base-url https://127.0.0.1:0 "$tmp/in.csv"
expect 2 "--tenant and --client-id go together" --tenant contoso "$tmp/in.csv"
expect 2 "--client-secret-file needs --tenant" --client-secret-file "$tmp/in.csv" "$tmp/in.csv"
expect 2 "cannot read $tmp/missing-token" --token-file "$tmp/missing-token" "$tmp/in.csv"
: >"$tmp/empty-token"
expect 2 "is empty" --token-file "$tmp/empty-token" "$tmp/in.csv"

# Usage errors come before anything is read or written.
expect 2 "--rate" --rate x -o "$tmp/never.csv" "$tmp/in.csv"
[ ! -e "$tmp/never.csv" ] && passes=$((passes + 1)) || { echo "FAIL: output written on usage error"; fails=$((fails + 1)); }

# --help teaches; --version answers.
help=$("$qr" --help); rc=$?
if [ $rc = 0 ] && [[ "$help" == *"usage: qualreport"* ]] && [[ "$help" == *"Examples:"* ]] \
   && [[ "$help" == *"--journal"* ]] && [[ "$help" == *"Exit codes"* ]]; then
  passes=$((passes + 1)); else echo "FAIL: --help"; fails=$((fails + 1)); fi
ver=$("$qr" --version); rc=$?
if [ $rc = 0 ] && [[ "$ver" =~ ^qualreport\ [0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  passes=$((passes + 1)); else echo "FAIL: --version: $ver"; fails=$((fails + 1)); fi

# No credentials at all: exit 4 once there is a tenant to fetch.
out=$(env -u PARTNER_CENTER_TOKEN "$qr" --base-url http://127.0.0.1:9 -q "$tmp/in.csv" 2>&1 >/dev/null); rc=$?
if [ $rc = 4 ] && [[ "$out" == *"no credentials"* ]]; then passes=$((passes + 1))
else echo "FAIL: no credentials -> $rc $out"; fails=$((fails + 1)); fi

# Missing input: exit 3 naming the file.
expect 3 "$tmp/nope.csv" "$tmp/nope.csv"

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
