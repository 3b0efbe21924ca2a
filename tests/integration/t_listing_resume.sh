#!/usr/bin/env bash
# --all-customers and kill -9: killed while the list is being read, then
# while the qualifications are fetched (the list read to its end), each
# resumed with the same command and journal; the reports (detail,
# summary, customers, rejects) are byte-identical to an uninterrupted run
# with the journal's correlation ID. A finished journal replays without a
# request; a resumed run lists again only when the list was not done.
source "$(dirname "$0")/lib.sh"
export PARTNER_CENTER_TOKEN=resume-token
n=3000
start_pcsim --token resume-token --customers $n --seed 12 --latency-ms 25 \
  --customers-duplicate 3

# records JOURNAL: tenant records in the whole lines of the journal;
# pages JOURNAL: page lines; ended JOURNAL: 1 when the end is recorded.
whole() { head -c "$(stat -c %s "$1")" "$1" | sed '$!b; /[^}]$/d'; }
records() { whole "$1" | grep -c '^{"i":'; }
pages() { whole "$1" | grep -c '^{"page":'; }
ended() { whole "$1" | grep -c '^{"end":"listing"}'; }

# run_bg NAME: the listing run into $TMP/NAME.*, in the background
run_bg() {
  "$QR" --all-customers --base-url "$PCSIM_URL" --page-size 50 -j 8 \
    --journal "$TMP/$1.journal" -o "$TMP/$1.csv" -s "$TMP/$1.sum.csv" \
    --customers "$TMP/$1.cust.csv" --rejects "$TMP/$1.rej.csv" \
    --no-progress 2>>"$TMP/$1.err" &
  QPID=$!
}

# wait_for COND: poll until COND (a shell command) holds or the run ends;
# 0 when it held while the run was still going.
wait_for() {
  while kill -0 $QPID 2>/dev/null; do
    eval "$1" && return 0
    sleep 0.02
  done
  return 1
}

# ---- killed while listing ------------------------------------------------
j=$TMP/listing.journal
run_bg listing
if wait_for '[ -s "$j" ] && [ "$(pages "$j")" -ge 3 ]'; then
  kill -9 $QPID; wait $QPID; rc=$?
  check "killed while listing: exit code" "$rc" 137
else
  wait $QPID
  fail "killed while listing: the run ended first"
fi
p1=$(pages "$j")
check "killed while listing: the end of the list not reached" "$(ended "$j")" 0
[ "$p1" -ge 3 ] && [ "$p1" -lt 62 ] && ok || fail "killed while listing: $p1 pages"
[ -e "$TMP/listing.csv" ] && fail "killed while listing: a report" || ok

# ---- again, killed while fetching (the list read to its end) -------------
run_bg listing
if wait_for '[ "$(ended "$j")" = 1 ] && [ "$(records "$j")" -lt 2500 ]'; then
  kill -9 $QPID; wait $QPID; rc=$?
  check "killed while fetching: exit code" "$rc" 137
else
  wait $QPID
  fail "killed while fetching: the run ended first"
fi
r2=$(records "$j")
check "killed while fetching: the end of the list recorded" "$(ended "$j")" 1
[ "$r2" -lt $n ] && ok || fail "killed while fetching: $r2 records"
grep -q "resuming, [0-9]* customers listed so far: listing again" "$TMP/listing.err" \
  && ok || fail "second run did not resume the listing: $(cat "$TMP/listing.err")"

# ---- resumed to the end: no listing again, only the rest fetched --------
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
"$QR" --all-customers --base-url "$PCSIM_URL" --page-size 50 -j 8 \
  --journal "$j" -o "$TMP/listing.csv" -s "$TMP/listing.sum.csv" \
  --customers "$TMP/listing.cust.csv" --rejects "$TMP/listing.rej.csv" \
  --no-progress 2>"$TMP/resume.err"
check "resumed: exit code" "$?" 0
check "resumed: no page asked again" "$(stats | jq .customer_pages)" 0
grep -q "customers listed (the whole list)" "$TMP/resume.err" && ok \
  || fail "resumed: $(cat "$TMP/resume.err")"
check "resumed: only the rest fetched" "$(stats | jq .requests)" $((n - r2))
check "resumed: fetched in the manifest" \
  "$(jq '.counts.fetched' "$TMP/listing.csv.manifest.json")" $((n - r2))
check "resumed: every tenant done" "$(records "$j")" $n

# ---- the uninterrupted run, with the journal's correlation ID ------------
corr=$(head -n 1 "$j" | jq -r .correlation_id)
"$QR" --all-customers --base-url "$PCSIM_URL" --page-size 50 -j 8 \
  --correlation-id "$corr" -o "$TMP/clean.csv" -s "$TMP/clean.sum.csv" \
  --customers "$TMP/clean.cust.csv" --rejects "$TMP/clean.rej.csv" \
  --no-progress -q
check "uninterrupted: exit code" "$?" 0
check_file "resumed detail = uninterrupted" "$TMP/listing.csv" "$TMP/clean.csv"
check_file "resumed summary = uninterrupted" "$TMP/listing.sum.csv" "$TMP/clean.sum.csv"
check_file "resumed customers = uninterrupted" "$TMP/listing.cust.csv" "$TMP/clean.cust.csv"
check_file "resumed rejects = uninterrupted" "$TMP/listing.rej.csv" "$TMP/clean.rej.csv"
check "every tenant once" "$(tail -n +2 "$TMP/listing.csv" | cut -d, -f1 | uniq | sort | uniq -d | wc -l)" 0
check "every tenant" "$(tail -n +2 "$TMP/listing.cust.csv" | wc -l)" $n
m=$TMP/listing.csv.manifest.json
check "resumed manifest ties out" \
  "$(jq '.counts | .input_rows == .valid + .duplicate + .invalid and .valid == .answered + .not_found + .failed' "$m")" true
check "resumed manifest: a pass after the resume" "$(jq '.input.restarts >= 1' "$m")" true

# ---- a finished journal replays the same reports without a request -------
curl -sf -X POST "$PCSIM_URL/stats/reset" >/dev/null
"$QR" --all-customers --base-url "$PCSIM_URL" --page-size 50 -j 8 \
  --journal "$j" -o "$TMP/again.csv" --customers "$TMP/again.cust.csv" -q \
  --no-progress
check "finished journal: exit code" "$?" 0
check "finished journal: no request" "$(stats | jq .requests)" 0
check_file "finished journal: same detail" "$TMP/again.csv" "$TMP/clean.csv"
check_file "finished journal: same customers" "$TMP/again.cust.csv" "$TMP/clean.cust.csv"

# ---- another page size is another listing: refused, untouched ------------
before=$(sha256sum <"$j")
"$QR" --all-customers --base-url "$PCSIM_URL" --page-size 51 --journal "$j" \
  -o "$TMP/other.csv" -q 2>"$TMP/other.err"
check "other page size: exit code" "$?" 2
grep -q "belongs to another listing" "$TMP/other.err" && ok \
  || fail "other page size: $(cat "$TMP/other.err")"
check "other page size: journal untouched" "$(sha256sum <"$j")" "$before"
printf 'tenant\n%s\n' 6caf76a5-7035-48ae-8280-ad3729a6f2e7 >"$TMP/in.csv"
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" --journal "$j" -o "$TMP/csv.csv" \
  -q 2>"$TMP/csv.err"
check "a CSV run on the listing's journal: exit code" "$?" 2
grep -q "the customer listing, not a file" "$TMP/csv.err" && ok \
  || fail "csv on listing journal: $(cat "$TMP/csv.err")"
finish
