#!/usr/bin/env bash
# What the package ships in dist/ works as shipped: the command line of
# qualreport.service's ExecStart= and the example qualreport.conf, with
# every commented key switched on and the system paths moved under $TMP,
# run against pcsim (its customer list, its client-credentials grant):
# exit 0, the reports, the customers table, the journal and the metrics at
# the config's %Y-%m paths (the metrics accepted by prometheus_client),
# both pings, JSON log lines.
source "$(dirname "$0")/lib.sh"
client=11111111-2222-3333-4444-555555555555
PCSIM_CLIENT_SECRET=dist-secret start_pcsim --client-id $client --seed 4 \
  --customers 5
month=$(date +%Y-%m)

"$(dirname "$0")/pingserver.py" "$TMP/pings.log" >"$TMP/ping.port" 2>"$TMP/ping.err" &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$TMP/ping.port" ] && break; sleep 0.05; done
ping=http://127.0.0.1:$(head -n 1 "$TMP/ping.port")/ping/0c1d

# ---- the config: every key on, paths under $TMP -------------------------
mkdir -p "$TMP/etc" "$TMP/state/reports" "$TMP/node" "$TMP/cred"
sed -e "s|/var/lib/qualreport|$TMP/state|g" \
    -e "s|/var/lib/prometheus/node-exporter|$TMP/node|g" \
    -e 's/^#\([a-z][a-z-]*\)\( = \|$\)/\1\2/' \
    -e "s|^ping-url = .*|ping-url = $ping|" \
    "$SRC/dist/qualreport.conf" >"$TMP/etc/qualreport.conf"
printf 'base-url = %s\nauthority = %s\n' "$PCSIM_URL" "$PCSIM_URL" >>"$TMP/etc/qualreport.conf"
keys=$(grep -cE '^[a-z][a-z-]*( = |$)' "$TMP/etc/qualreport.conf")
[ "$keys" -ge 14 ] && ok || fail "only $keys keys in the example config"
check "example keys with a value that are still commented" \
  "$(grep -cE '^#[a-z][a-z-]* = ' "$TMP/etc/qualreport.conf")" 0
umask 077; printf 'dist-secret\n' >"$TMP/cred/client-secret"; umask 022

# ---- the service's command line -----------------------------------------------
unit=$SRC/dist/systemd/qualreport.service
line=$(awk '/^ExecStart=/ {on = 1} on { l = l $0; if (!sub(/\\$/, "", l)) { print l; exit } }' "$unit" | tr '\t' ' ')
check "ExecStart" "$(echo "$line" | tr -s ' ')" \
  'ExecStart=/usr/bin/qualreport --config /etc/qualreport/qualreport.conf --client-secret-file ${CREDENTIALS_DIRECTORY}/client-secret --all-customers'
line=${line#ExecStart=}
line=${line//'${CREDENTIALS_DIRECTORY}'/$TMP/cred}
line=${line//\/etc\/qualreport\/qualreport.conf/$TMP/etc/qualreport.conf}
line=${line//\/var\/lib\/qualreport/$TMP/state}
read -ra argv <<<"$line"
argv[0]=$QR
env -u PARTNER_CENTER_TOKEN -u PARTNER_CENTER_CLIENT_SECRET "${argv[@]}" 2>"$TMP/err"
check "the service's run" "$?" 0

r=$TMP/state/reports/$month
check "detail rows" "$(zcat "$r-qualifications.ndjson.gz" | jq -r .tenant_id | sort -u | wc -l)" 5
[ -f "$r-summary.csv" ] && ok || fail "no summary at $r-summary.csv"
check "rejects" "$(cat "$r-rejects.csv")" "line,value,reason"
check "customers listed" "$(($(wc -l <"$r-customers.csv") - 1))" 5
check "manifest" "$(jq .exit_code "$r-qualifications.ndjson.gz.manifest.json")" 0
[ -f "$TMP/state/$month.journal" ] && ok || fail "no journal $TMP/state/$month.journal"
/usr/bin/python3 "$SRC/tests/metrics/validate.py" "$TMP/node/qualreport.prom" \
  qualreport_exit_code=0 'qualreport_tenants{status="answered"}=5' \
  'qualreport_requests_total{code="200"}=6' && ok || fail "metrics"
check "pings" "$(tr '\n' ' ' <"$TMP/pings.log")" "GET /ping/0c1d/start GET /ping/0c1d "
check "log lines that are not JSON" "$(jq -c . "$TMP/err" >/dev/null 2>&1 && echo 0 || echo some)" 0
[ -s "$TMP/err" ] && ok || fail "no log lines"
grep -q dist-secret "$TMP/err" && fail "the secret reached the log" || ok

# ---- the units --------------------------------------------------------------------
check "User=" "$(sed -n 's/^User=//p' "$unit")" qualreport
check "Type=" "$(sed -n 's/^Type=//p' "$unit")" oneshot
check "LoadCredential=" "$(sed -n 's/^LoadCredential=//p' "$unit")" \
  client-secret:/etc/qualreport/client-secret
check "no [Install]: the timer starts it" "$(grep -c '^\[Install\]' "$unit")" 0
timer=$SRC/dist/systemd/qualreport.timer
check "Persistent=" "$(sed -n 's/^Persistent=//p' "$timer")" true
if command -v systemd-analyze >/dev/null; then
  check "OnCalendar= is monthly" \
    "$(systemd-analyze calendar "$(sed -n 's/^OnCalendar=//p' "$timer")" | sed -n 's/^ *Normalized form: //p')" \
    "*-*-01 06:00:00"
fi
finish
