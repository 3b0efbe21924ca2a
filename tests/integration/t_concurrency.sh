#!/usr/bin/env bash
# -j N is the number of requests in flight: reached, never exceeded.
source "$(dirname "$0")/lib.sh"

gen_tenants 300 21 >"$TMP/in.csv"
export PARTNER_CENTER_TOKEN=conc-token
for j in 1 7 32; do
  start_pcsim --token conc-token --latency-ms 40 --seed 1
  "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j $j -o "$TMP/out.csv" -q \
    --no-progress
  rc=$?
  check "exit code at -j $j" "$rc" 0
  s=$(stats)
  check "max in flight at -j $j" "$(jq .max_in_flight <<<"$s")" "$j"
  check "requests at -j $j" "$(jq .requests <<<"$s")" 300
  stop_pcsim
done
finish
