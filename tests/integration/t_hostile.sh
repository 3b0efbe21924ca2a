#!/usr/bin/env bash
# Hostile input and hostile disks: each gives its exit code and a message
# naming the culprit; no crash, no hang, nothing half-written left behind.
source "$(dirname "$0")/lib.sh"
export PARTNER_CENTER_TOKEN=hostile-token
start_pcsim --token hostile-token --seed 4
good=3fa85f64-5717-4562-b3fc-2c963f66afa6
printf 'tenant_id\n%s\n' $good >"$TMP/good.csv"

# run WANT-EXIT MESSAGE ARGS... (60 s watchdog: a hang is a failure)
run() {
  local want=$1 msg=$2; shift 2
  timeout 60 "$QR" --base-url "$PCSIM_URL" --no-progress "$@" \
    >"$TMP/stdout" 2>"$TMP/stderr"
  local rc=$?
  if [ "$rc" != "$want" ] || ! grep -qF -- "$msg" "$TMP/stderr"; then
    fail "qualreport $* -> $rc (want $want, '$msg'): $(head -c 300 "$TMP/stderr")"
  else
    ok
  fi
}

# Full disk: the report and the summary.
run 5 "/dev/full" "$TMP/good.csv" -o /dev/full
run 5 "/dev/full" "$TMP/good.csv" -o "$TMP/x.csv" -s /dev/full
[ -e "$TMP/x.csv" ] && fail "detail left behind when the summary failed" || ok
# Output directory that cannot exist (its parent is a file).
run 5 "$TMP/good.csv/out.csv" "$TMP/good.csv" -o "$TMP/good.csv/out.csv"
run 5 "$TMP/nodir/sub/out.csv" "$TMP/good.csv" -o "$TMP/nodir/sub/out.csv"
run 5 "$TMP/nodir/rej.csv" "$TMP/good.csv" -o "$TMP/y.csv" --rejects "$TMP/nodir/rej.csv"
[ -e "$TMP/y.csv" ] && fail "detail left behind when rejects failed" || ok
check "no temporary files left" "$(ls -A "$TMP" | grep -c '\.tmp')" 0

# Input that is a directory, missing, or unreadable garbage.
run 3 "$TMP" "$TMP" -o "$TMP/z.csv"
run 3 "$TMP/missing.csv" "$TMP/missing.csv"
head -c 3000000 /dev/urandom >"$TMP/garbage.bin"
run 3 "$TMP/garbage.bin" "$TMP/garbage.bin" -o "$TMP/z.csv"
[ -e "$TMP/z.csv" ] && fail "report written for unreadable input" || ok
# Garbage with an explicit column: every row rejected or blank, exit 0.
run 0 "" "$TMP/garbage.bin" --column 1 -o "$TMP/g.csv" --rejects "$TMP/g-rej.csv" --manifest "$TMP/g.json"
tie=$(jq '.counts | .input_rows == .valid + .duplicate + .invalid + .blank' "$TMP/g.json")
check "garbage counts tie out" "$tie" true

# A single 100 MB line.
head -c 100000000 /dev/zero | tr '\0' 'x' >"$TMP/long.csv"
run 3 "$TMP/long.csv" "$TMP/long.csv"
run 0 "" "$TMP/long.csv" --column 1 -o "$TMP/l.csv" --rejects "$TMP/l-rej.csv"
check "100 MB line rejected as too long" "$(tail -n +2 "$TMP/l-rej.csv" | cut -d, -f1)" 1
grep -q "value too long" "$TMP/l-rej.csv" && ok || fail "reason for the long line"
rm -f "$TMP/long.csv"

# Ten million commas.
head -c 10000000 /dev/zero | tr '\0' ',' >"$TMP/commas.csv"
run 3 "$TMP/commas.csv" "$TMP/commas.csv"
run 0 "" "$TMP/commas.csv" --column 1 -o "$TMP/c.csv" --manifest "$TMP/c.json"
check "commas: one blank row" "$(jq .counts.blank "$TMP/c.json")" 1
rm -f "$TMP/commas.csv"

# Injection-like IDs never reach a URL.
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
printf 'id\n../x\na?b=1\n%%2e%%2e\n%s/../x\n' $good >"$TMP/inj.csv"
run 0 "" "$TMP/inj.csv" -o "$TMP/inj-out.csv" --rejects "$TMP/inj-rej.csv"
check "injection rejects" "$(tail -n +2 "$TMP/inj-rej.csv" | wc -l)" 4
check "no request made" "$(stats | jq .requests)" 0
finish
