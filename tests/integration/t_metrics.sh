#!/usr/bin/env bash
# --metrics PATH: written after every run, whatever its exit status (0, 1,
# 2 from a broken config, 3, 4, 5, 143), atomically, accepted by
# prometheus_client's parser (tests/metrics/validate.py) with exact
# values: tenants by outcome, requests by HTTP status, the exit code, and
# the last success time kept across failed runs.
source "$(dirname "$0")/lib.sh"
validate() { /usr/bin/python3 "$SRC/tests/metrics/validate.py" "$@"; }
export PARTNER_CENTER_TOKEN=metrics-token

A=aaaaaaaa-0000-4000-8000-000000000001   # 200
B=aaaaaaaa-0000-4000-8000-000000000002   # 404
C=aaaaaaaa-0000-4000-8000-000000000003   # 503, then 200
D=aaaaaaaa-0000-4000-8000-000000000004   # 403: an Error row
E=aaaaaaaa-0000-4000-8000-000000000005   # dropped, then 200
cat >"$TMP/data.json" <<JSON
{
  "$A": {"status": 200, "body": [{"qualification": "Education", "vettingStatus": "Approved"}]},
  "$B": {"status": 404, "body": {"code": 60003, "description": "Tenant not found"}},
  "$C": [{"status": 503, "body": {"code": 800003}},
         {"status": 200, "body": []}],
  "$D": {"status": 403, "body": {"code": 20002, "description": "No relationship"}},
  "$E": [{"drop": true},
         {"status": 200, "body": []}]
}
JSON
# E first: the run's first request goes on a fresh connection, so its drop
# is seen (libcurl silently resends a request that dies on a reused one,
# and the slow start sends the next ones over the first connection)
printf 'tenant\n%s\n%s\n%s\n%s\n%s\nnot-an-id\n' "$E" "$A" "$B" "$C" "$D" >"$TMP/in.csv"
printf 'tenant\n%s\n%s\n' "$A" "$B" >"$TMP/good.csv"
start_pcsim --token metrics-token --data "$TMP/data.json"
m=$TMP/node/qualreport.prom
mkdir -p "$TMP/node"
value() { sed -n "s/^$1 //p" "$m"; }
run() { "$QR" --base-url "$PCSIM_URL" --metrics "$m" -q --no-progress "$@"; }

# ---- exit 1: some tenants failed ------------------------------------------
before=$(date +%s)
run "$TMP/in.csv" -o "$TMP/out.csv" 2>"$TMP/err1"
check "exit 1 run" "$?" 1
after=$(date +%s)
validate "$m" qualreport_exit_code=1 \
  qualreport_last_success_timestamp_seconds=0 \
  'qualreport_tenants{status="answered"}=3' \
  'qualreport_tenants{status="not_found"}=1' \
  'qualreport_tenants{status="failed"}=1' \
  'qualreport_tenants{status="unfinished"}=0' \
  'qualreport_requests_total{code="200"}=3' \
  'qualreport_requests_total{code="404"}=1' \
  'qualreport_requests_total{code="403"}=1' \
  'qualreport_requests_total{code="503"}=1' \
  'qualreport_requests_total{code="0"}=1' \
  'qualreport_run_duration_seconds=*' \
  qualreport_throttled_seconds_total=0 && ok || fail "exit 1 metrics"
check "request series: exactly the statuses seen" \
  "$(grep -c '^qualreport_requests_total{' "$m")" 5
t=$(value qualreport_last_run_timestamp_seconds)
awk -v t="$t" -v a="$before" -v b="$after" 'BEGIN { exit !(t >= a && t <= b + 1) }' \
  && ok || fail "last run time $t not within $before..$after"
check "no timestamps: every sample line has 2 fields" \
  "$(grep -v '^#' "$m" | awk 'NF != 2' | wc -l)" 0
check "mode follows the umask (0022)" "$(stat -c %a "$m")" 644
check "no temporary file beside it" "$(ls -A "$TMP/node")" qualreport.prom

# ---- exit 0: the last success is now ----------------------------------------
run "$TMP/good.csv" -o "$TMP/good-out.csv"
check "exit 0 run" "$?" 0
success=$(value qualreport_last_success_timestamp_seconds)
check "success time = run time" "$success" "$(value qualreport_last_run_timestamp_seconds)"
validate "$m" qualreport_exit_code=0 'qualreport_tenants{status="answered"}=1' \
  'qualreport_tenants{status="not_found"}=1' 'qualreport_requests_total{code="200"}=1' \
  && ok || fail "exit 0 metrics"

# ---- failures keep that success time ----------------------------------------
# kept FILE CODE: the metrics of a run that exited CODE
kept() {
  validate "$m" "qualreport_exit_code=$1" \
    "qualreport_last_success_timestamp_seconds=$success" && ok \
    || fail "exit $1 metrics"
  check "exit $1: success time kept verbatim" \
    "$(value qualreport_last_success_timestamp_seconds)" "$success"
}
run "$TMP/missing.csv" -o "$TMP/x.csv" 2>/dev/null
check "exit 3 run" "$?" 3
kept 3
check "exit 3: no requests" "$(grep -c '^qualreport_requests_total{' "$m")" 0

PARTNER_CENTER_TOKEN=wrong run "$TMP/good.csv" -o "$TMP/x.csv" 2>/dev/null
check "exit 4 run" "$?" 4
kept 4
validate "$m" 'qualreport_tenants{status="unfinished"}=2' \
  'qualreport_requests_total{code="401"}=*' && ok || fail "exit 4: tenants unfinished"

run "$TMP/good.csv" -o "$TMP/no/such/dir/x.csv" 2>/dev/null
check "exit 5 run" "$?" 5
kept 5

# exit 2 from a broken config file: the metrics path parsed before the
# error (a config path: %Y-%m expanded) still gets the run's end.
month=$(date +%Y-%m)
printf 'metrics = %s/node/%%Y-%%m.prom\nrate = fast\n' "$TMP" >"$TMP/bad.conf"
cp "$m" "$TMP/node/$month.prom"
"$QR" --config "$TMP/bad.conf" "$TMP/good.csv" 2>/dev/null
check "exit 2 run" "$?" 2
m=$TMP/node/$month.prom kept 2
m=$TMP/node/qualreport.prom

# ---- interrupted: SIGTERM mid-run ----------------------------------------------
stop_pcsim
start_pcsim --token metrics-token --latency-ms 4000
gen_tenants 20 5 | sed '1i tenant_id' >"$TMP/slow.csv"
: >"$TMP/slow.err"
"$QR" --base-url "$PCSIM_URL" --metrics "$m" --no-progress -j 4 \
  "$TMP/slow.csv" -o "$TMP/slow-out.csv" 2>"$TMP/slow.err" &
qpid=$!
for _ in $(seq 1 200); do grep -q 'fetching 20 tenants' "$TMP/slow.err" && break; sleep 0.05; done
kill -TERM "$qpid"; wait "$qpid"
check "interrupted run" "$?" 143
kept 143
validate "$m" 'qualreport_tenants{status="unfinished"}=20' && ok \
  || fail "interrupted: every tenant unfinished"
[ -e "$TMP/slow-out.csv" ] && fail "a report of the interrupted run" || ok

# ---- a metrics file that cannot be written is a warning, not a failure ---------
stop_pcsim
start_pcsim --token metrics-token --data "$TMP/data.json"
"$QR" --base-url "$PCSIM_URL" --metrics "$TMP/no/dir/q.prom" -q \
  "$TMP/good.csv" -o "$TMP/w.csv" 2>"$TMP/werr"
check "unwritable metrics: exit status unchanged" "$?" 0
check "unwritable metrics: one warning" \
  "$(grep -c "^qualreport: warning: metrics not written: .*$TMP/no/dir/" "$TMP/werr")" 1
finish
