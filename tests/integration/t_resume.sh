#!/usr/bin/env bash
# Crash safety: kill -9, SIGTERM and SIGINT mid-run leave nothing at the
# final paths; resuming with the journal skips what was done and yields
# reports byte-identical to an uninterrupted run.
source "$(dirname "$0")/lib.sh"
n=600
gen_tenants $n 41 | awk 'BEGIN { print "customer_id" } { print }' >"$TMP/in.csv"
export PARTNER_CENTER_TOKEN=resume-token
start_pcsim --token resume-token --latency-ms 40 --seed 9

# run_bg JOURNAL OUT: qualreport in the background, pid in $QPID
run_bg() {
  "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 --journal "$1" \
    -o "$2" -s "$2.sum.csv" --no-progress -q 2>>"$TMP/bg.err" &
  QPID=$!
}

# records JOURNAL: complete tenant records in the journal
records() { head -c "$(stat -c %s "$1")" "$1" | grep -c '^{"i":'; }

interrupted_then_resumed() {
  local sig=$1 want=$2 j=$TMP/$3.journal out=$TMP/$3.csv
  run_bg "$j" "$out"; sleep 0.8; kill -"$sig" $QPID; wait $QPID; rc=$?
  check "$sig: exit code" "$rc" "$want"
  [ -e "$out" ] && fail "$sig: report at the final path" || ok
  [ -e "$out.sum.csv" ] && fail "$sig: summary at the final path" || ok
  if [ "$sig" != KILL ]; then
    check "$sig: no temporary files left" "$(ls -A "$TMP" | grep -c '\.tmp$')" 0
  fi
  local done1; done1=$(records "$j")
  [ "$done1" -gt 0 ] && [ "$done1" -lt $n ] && ok || fail "$sig: journal holds $done1 records"

  # A second interruption at another point, then a run to completion.
  run_bg "$j" "$out"; sleep 1.1; kill -"$sig" $QPID; wait $QPID
  local done2; done2=$(records "$j")
  [ "$done2" -gt "$done1" ] && ok || fail "$sig: second run added nothing ($done1 -> $done2)"
  curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
  "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 --journal "$j" -o "$out" \
    -s "$out.sum.csv" --no-progress 2>"$TMP/resume.err"
  check "$sig: resumed run exit code" "$?" 0
  check "$sig: resumed run fetched only the rest" "$(stats | jq .requests)" $((n - done2))
  grep -q "resuming, $done2 of $n tenants already done" "$TMP/resume.err" && ok \
    || fail "$sig: resume not announced: $(cat "$TMP/resume.err")"

  # The uninterrupted run, with the journal's correlation ID.
  local corr; corr=$(head -n 1 "$j" | jq -r .correlation_id)
  "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 --correlation-id "$corr" \
    -o "$TMP/clean.csv" -s "$TMP/clean.sum.csv" --no-progress -q
  check "clean run exit code" "$?" 0
  check_file "$sig: resumed detail = uninterrupted detail" "$out" "$TMP/clean.csv"
  check_file "$sig: resumed summary = uninterrupted summary" "$out.sum.csv" "$TMP/clean.sum.csv"
  check "$sig: every tenant once" "$(tail -n +2 "$out" | cut -d, -f1 | uniq | sort | uniq -d | wc -l)" 0
  check "$sig: every tenant" "$(tail -n +2 "$out" | cut -d, -f1 | uniq | wc -l)" $n
  check "$sig: stale temporary files of the killed runs removed" \
    "$(ls -A "$TMP" | grep -c '\.tmp$')" 0
}

interrupted_then_resumed KILL 137 kill
interrupted_then_resumed TERM 143 term
interrupted_then_resumed INT 130 int

# A journal of another input is refused, and left as it was.
head -n 100 "$TMP/in.csv" >"$TMP/other.csv"
before=$(sha256sum <"$TMP/kill.journal")
"$QR" "$TMP/other.csv" --base-url "$PCSIM_URL" --journal "$TMP/kill.journal" \
  -o "$TMP/other-out.csv" 2>"$TMP/err"
check "journal of another input: exit code" "$?" 2
grep -q "belongs to another input" "$TMP/err" && ok || fail "message: $(cat "$TMP/err")"
check "journal untouched" "$(sha256sum <"$TMP/kill.journal")" "$before"

# Rerunning a finished journal fetches nothing and rewrites the same bytes.
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 8 --journal "$TMP/kill.journal" \
  -o "$TMP/again.csv" -q
check "finished journal: exit code" "$?" 0
check "finished journal: no requests" "$(stats | jq .requests)" 0
check_file "finished journal: same report" "$TMP/again.csv" "$TMP/kill.csv"

# A resumed prefix longer than the reorder window (4096 tenants) must not
# stall the run: only the rest is fetched.
stop_pcsim
start_pcsim --token resume-token --seed 9
gen_tenants 6000 43 | awk 'BEGIN { print "tenant" } { print }' >"$TMP/big.csv"
"$QR" "$TMP/big.csv" --base-url "$PCSIM_URL" -j 1 --journal "$TMP/big.journal" \
  -o "$TMP/big-full.csv" -q
check "big run exit code" "$?" 0
head -n 5001 "$TMP/big.journal" >"$TMP/big5000.journal"
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
timeout 60 "$QR" "$TMP/big.csv" --base-url "$PCSIM_URL" -j 4 \
  --journal "$TMP/big5000.journal" -o "$TMP/big-resumed.csv" -q
check "long resumed prefix: exit code" "$?" 0
check "long resumed prefix: requests" "$(stats | jq .requests)" 1000
check_file "long resumed prefix: same report" "$TMP/big-resumed.csv" "$TMP/big-full.csv"
finish
