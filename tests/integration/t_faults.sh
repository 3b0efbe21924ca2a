#!/usr/bin/env bash
# With 30% 5xx, dropped connections, malformed bodies and a throttle, every
# input row is accounted for exactly once, -j is never exceeded and no
# Retry-After is violated.
source "$(dirname "$0")/lib.sh"

n=1500
gen_tenants $n 11 >"$TMP/ids"
{
  echo "tenantId,name"
  awk '{ print $0 ",cust" NR }' "$TMP/ids"
  head -n 40 "$TMP/ids" | tr 'a-f' 'A-F' | awk '{ print "{" $0 "},dup" NR }'
  for i in $(seq 1 25); do echo "not-a-guid-$i,bad"; done
  echo ","
  echo ""
} >"$TMP/in.csv"
rows=$((n + 40 + 25 + 2))

export PARTNER_CENTER_TOKEN=faults-token
start_pcsim --token faults-token --seed 5 --fail-rate 0.3 --drop-rate 0.05 \
  --malformed-rate 0.01 --throttle-rps 400 --latency-ms 5
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 24 --retries 12 --timeout 5 \
  -o "$TMP/out.csv" -s "$TMP/sum.csv" --rejects "$TMP/rej.csv" \
  --manifest "$TMP/m.json" --no-progress -q 2>"$TMP/err"
rc=$?
[ "$rc" = 0 ] || [ "$rc" = 1 ] && ok || fail "exit code $rc: $(cat "$TMP/err")"

detail_tenants=$(tail -n +2 "$TMP/out.csv" | cut -d, -f1 | sort -u | wc -l)
check "distinct tenants in detail" "$detail_tenants" "$n"
expected_ids=$(sort -u "$TMP/ids" | tr -d '\n' | sha256sum)
got_ids=$(tail -n +2 "$TMP/out.csv" | cut -d, -f1 | sort -u | tr -d '\n' | sha256sum)
check "detail holds exactly the input tenants" "$got_ids" "$expected_ids"
# Input order: first appearance order of tenants equals the input's.
order=$(tail -n +2 "$TMP/out.csv" | cut -d, -f1 | awk '!seen[$0]++' | sha256sum)
check "rows in input order" "$order" "$(sha256sum <"$TMP/ids")"
check "rejects rows" "$(tail -n +2 "$TMP/rej.csv" | wc -l)" 25
check "manifest input_rows" "$(jq .counts.input_rows "$TMP/m.json")" "$rows"
check "manifest valid" "$(jq .counts.valid "$TMP/m.json")" "$n"
check "manifest duplicate" "$(jq .counts.duplicate "$TMP/m.json")" 40
check "manifest invalid" "$(jq .counts.invalid "$TMP/m.json")" 25
check "manifest blank" "$(jq .counts.blank "$TMP/m.json")" 2
sum=$(jq '.counts | .answered + .not_found + .failed' "$TMP/m.json")
check "answered + not found + failed = valid" "$sum" "$n"
errors=$(tail -n +2 "$TMP/out.csv" | awk -F, '$3 == "Error"' | cut -d, -f1 | sort -u | wc -l)
check "Error rows = failed" "$errors" "$(jq .counts.failed "$TMP/m.json")"
[ "$rc" = "$(jq .exit_code "$TMP/m.json")" ] && ok || fail "manifest exit_code"
summary_total=$(tail -n +2 "$TMP/sum.csv" | awk -F, '$1 == "" { s += $3 } END { print s + 0 }')
[ "$summary_total" -le "$n" ] && ok || fail "summary counts"

s=$(stats)
max=$(jq .max_in_flight <<<"$s")
[ "$max" -le 24 ] && ok || fail "max in flight $max > 24"
check "Retry-After violations" "$(jq .retry_after_violations <<<"$s")" 0
throttled=$(jq .throttled <<<"$s")
[ "$throttled" -gt 0 ] && ok || fail "the throttle never engaged ($throttled)"
finish
