#!/usr/bin/env bash
# --ping-url URL: URL/start when the run starts, URL on exit 0, URL/<exit
# status> on any other (1, 2 from a bad option, 3, 4, 143), checked on a
# stand-in for healthchecks.io on loopback that records the paths asked
# for (pingserver.py); a failing ping is one warning and never changes the
# exit status; no log line ever holds more of the URL than scheme://host.
source "$(dirname "$0")/lib.sh"
export PARTNER_CENTER_TOKEN=ping-token
start_pcsim --token ping-token --seed 2
UUID=5bd9c5a4-7f1e-4c1e-9b0a-2d6f8e3c1a77    # the check's secret

"$(dirname "$0")/pingserver.py" "$TMP/pings.log" >"$TMP/ping.port" 2>"$TMP/ping.err" &
PING_PID=$!
SERVER_PIDS+=("$PING_PID")
for _ in $(seq 1 100); do [ -s "$TMP/ping.port" ] && break; sleep 0.05; done
PORT=$(head -n 1 "$TMP/ping.port")
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "FAIL: ping server did not start: $(cat "$TMP/ping.err")"; exit 1; }
ORIGIN=http://127.0.0.1:$PORT
URL=$ORIGIN/ping/$UUID

gen_tenants 3 4 | sed '1i tenant_id' >"$TMP/in.csv"
# pings_of CMD...: run qualreport, then print its exit status and the
# paths the server was asked for, joined with spaces
pings_of() {
  : >"$TMP/pings.log"
  "$QR" --base-url "$PCSIM_URL" --no-progress "$@" 2>>"$TMP/all.err"
  echo "exit $? $(tr '\n' ' ' <"$TMP/pings.log" | sed 's/ $//')"
}
P=/ping/$UUID

check "exit 0" "$(pings_of --ping-url "$URL" -q "$TMP/in.csv" -o "$TMP/o.csv")" \
  "exit 0 GET $P/start GET $P"
check "a trailing slash" "$(pings_of --ping-url "$URL/" -q "$TMP/in.csv" -o "$TMP/o.csv")" \
  "exit 0 GET $P/start GET $P"
check "exit 3" "$(pings_of --ping-url "$URL" -q "$TMP/missing.csv")" \
  "exit 3 GET $P/start GET $P/3"
check "exit 4" "$(PARTNER_CENTER_TOKEN=wrong pings_of --ping-url "$URL" -q "$TMP/in.csv" -o "$TMP/o.csv")" \
  "exit 4 GET $P/start GET $P/4"
check "exit 5" "$(pings_of --ping-url "$URL" -q "$TMP/in.csv" -o "$TMP/no/dir/o.csv")" \
  "exit 5 GET $P/start GET $P/5"
# A usage error after the URL: no run started, but the monitor hears of it.
check "exit 2" "$(pings_of --ping-url "$URL" --rate fast "$TMP/in.csv")" "exit 2 GET $P/2"
# ... also when the URL comes from a config file.
printf 'ping-url = %s\nretries = many\n' "$URL" >"$TMP/bad.conf"
check "exit 2 from a config" "$(pings_of --config "$TMP/bad.conf" "$TMP/in.csv")" "exit 2 GET $P/2"
printf 'ping-url = %s\n' "$URL" >"$TMP/good.conf"
check "URL from a config" "$(pings_of --config "$TMP/good.conf" -q "$TMP/in.csv" -o "$TMP/o.csv")" \
  "exit 0 GET $P/start GET $P"
# --help and --version are not runs
check "--version" "$(pings_of --ping-url "$URL" --version | tail -n 1)" "exit 0 "

# exit 1: a tenant the API refuses
T403=33333333-3333-4333-8333-333333333333
printf '{"%s": {"status": 403, "body": {"code": 20002}}}\n' "$T403" >"$TMP/data.json"
stop_pcsim
start_pcsim --token ping-token --data "$TMP/data.json" --latency-ms 3000
printf 'tenant\n%s\n' "$T403" >"$TMP/refused.csv"
check "exit 1" "$(pings_of --ping-url "$URL" -q "$TMP/refused.csv" -o "$TMP/o.csv")" \
  "exit 1 GET $P/start GET $P/1"

# interrupted: SIGTERM while the (slow) answers are awaited
: >"$TMP/pings.log" >"$TMP/term.err"
"$QR" --base-url "$PCSIM_URL" --no-progress --ping-url "$URL" "$TMP/in.csv" \
  -o "$TMP/t.csv" 2>"$TMP/term.err" &
qpid=$!
for _ in $(seq 1 200); do grep -q 'fetching 3 tenants' "$TMP/term.err" && break; sleep 0.05; done
kill -TERM "$qpid"; wait "$qpid"
check "interrupted" "exit $? $(tr '\n' ' ' <"$TMP/pings.log" | sed 's/ $//')" \
  "exit 143 GET $P/start GET $P/143"
cat "$TMP/term.err" >>"$TMP/all.err"
stop_pcsim
start_pcsim --token ping-token --seed 2

# ---- failing pings: a warning each, the exit status untouched --------------
: >"$TMP/pings.log"
"$QR" --base-url "$PCSIM_URL" --no-progress -q --ping-url "$ORIGIN/fail/$UUID" \
  "$TMP/in.csv" -o "$TMP/o.csv" 2>"$TMP/fail.err"
check "HTTP 500 pings: exit status" "$?" 0
check "HTTP 500 pings: asked" "$(tr '\n' ' ' <"$TMP/pings.log")" \
  "GET /fail/$UUID/start GET /fail/$UUID "
check "HTTP 500 pings: warnings" "$(cat "$TMP/fail.err")" \
"qualreport: warning: ping $ORIGIN (start): HTTP 500
qualreport: warning: ping $ORIGIN (exit 0): HTTP 500"
cat "$TMP/fail.err" >>"$TMP/all.err"

# -v says each ping went out, with the origin only
"$QR" --base-url "$PCSIM_URL" --no-progress -v --ping-url "$URL" \
  "$TMP/in.csv" -o "$TMP/o.csv" 2>"$TMP/v.err"
check "-v: pings sent" "$(grep -o 'debug: ping [^ ]* ([a-z0-9 ]*) sent' "$TMP/v.err")" \
"debug: ping $ORIGIN (start) sent
debug: ping $ORIGIN (exit 0) sent"
cat "$TMP/v.err" >>"$TMP/all.err"

# nobody listening: the server's port once it is gone
kill "$PING_PID"; wait "$PING_PID" 2>/dev/null
"$QR" --base-url "$PCSIM_URL" --no-progress -q --ping-url "$URL" \
  "$TMP/in.csv" -o "$TMP/o.csv" 2>"$TMP/refused.err"
check "refused pings: exit status" "$?" 0
check "refused pings: two warnings" \
  "$(grep -c "^qualreport: warning: ping $ORIGIN (\(start\|exit 0\)): " "$TMP/refused.err")" 2
cat "$TMP/refused.err" >>"$TMP/all.err"

check "bad URL" "$("$QR" --ping-url "http://example.com/$UUID" "$TMP/in.csv" 2>&1; echo "exit $?")" \
"qualreport: --ping-url http://example.com...: refusing plain http:// to non-loopback host 'example.com': use https://
exit 2"

# ---- the secret never reaches a log line -------------------------------------
[ -s "$TMP/all.err" ] && ok || fail "no log lines collected"
check "log lines with the check's UUID" "$(grep -c "$UUID" "$TMP/all.err")" 0
finish
