#!/usr/bin/env bash
# The samples, end to end: the reports and the manifest valid against the
# schemas, readable by Python's gzip and jq, the manifest describing the
# files exactly; then the second month (samples/tenants-next.csv against
# samples/pcsim-data-next.json) against the first: every change kind, from
# the manifest or the detail itself, the same bytes every time. The exact
# bytes of every report against samples/expected/ are the case runner's
# (tests/cases/samples-*).
source "$(dirname "$0")/lib.sh"
validate="/usr/bin/python3 $SRC/tests/schemas/validate.py"
corr=7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745
export PARTNER_CENTER_TOKEN=demo-token-not-a-secret
# pcsim plays each scripted tenant's answers in order (503, 503, 200 ...),
# so every run gets a fresh simulator to see the same answers.
fresh_pcsim() {
  [ -n "${PCSIM_PID:-}" ] && stop_pcsim
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 7 \
    --data "$SRC/samples/${1:-pcsim-data.json}"
}
fresh_pcsim

"$QR" "$SRC/samples/tenants.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/q.csv" -s "$TMP/s.csv" --rejects "$TMP/r.csv" --no-progress 2>"$TMP/err"
check "exit code (one tenant refused with 403)" "$?" 1

fresh_pcsim
"$QR" "$SRC/samples/tenants.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/q.ndjson.gz" -s "$TMP/s.ndjson" -q
check "exit code, NDJSON" "$?" 1
/usr/bin/python3 -c 'import gzip,json,sys
n = sum(1 for line in gzip.open(sys.argv[1], "rt") if json.loads(line))
print(n)' "$TMP/q.ndjson.gz" >"$TMP/n"
check "python gzip reads every line" "$(cat "$TMP/n")" 41
check "jq reads every line" "$(zcat "$TMP/q.ndjson.gz" | jq -c . | wc -l)" 41

for f in q.csv:detail-row:csv q.ndjson.gz:detail-row:ndjson.gz \
         s.csv:summary-row:csv s.ndjson:summary-row:ndjson r.csv:reject-row:csv \
         q.csv.manifest.json:manifest:json; do
  IFS=: read -r file schema format <<<"$f"
  if $validate "$SRC/schemas/$schema.schema.json" "$TMP/$file" --format "$format" \
      >"$TMP/v" 2>&1; then ok; else fail "schema $schema on $file: $(cat "$TMP/v")"; fi
done
for body in "$SRC"/samples/bodies/doc-*.json; do
  $validate "$SRC/schemas/api-response.schema.json" "$body" --format json \
    >/dev/null 2>&1 && ok || fail "api-response schema on $body"
done

# The manifest ties out and describes the files exactly.
m=$TMP/q.csv.manifest.json
check "manifest exit code" "$(jq .exit_code "$m")" 1
check "manifest counts" "$(jq -c '.counts | [.input_rows,.valid,.duplicate,.invalid,.blank,.answered,.not_found,.failed,.rows_written]' "$m")" \
  "[45,40,1,2,2,38,1,1,41]"
check "manifest detail sha256" "$(jq -r '.outputs[0].sha256' "$m")" \
  "$(sha256sum <"$TMP/q.csv" | cut -d' ' -f1)"
check "manifest detail bytes" "$(jq -r '.outputs[0].bytes' "$m")" "$(stat -c %s "$TMP/q.csv")"
check "manifest input sha256" "$(jq -r .input.sha256 "$m")" \
  "$(sha256sum <"$SRC/samples/tenants.csv" | cut -d' ' -f1)"
check "manifest correlation" "$(jq -r .correlation_id "$m")" $corr

# ---- a month later -------------------------------------------------------
fresh_pcsim pcsim-data-next.json
"$QR" "$SRC/samples/tenants-next.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/n.csv" -s "$TMP/n-s.csv" --previous "$TMP/q.csv.manifest.json" \
  --changes "$TMP/changes.csv" --html "$TMP/report.html" --no-progress 2>"$TMP/err"
check "month 2 exit code (one Error)" "$?" 1
check "every change kind in the samples" \
  "$(tail -n +2 "$TMP/changes.csv" | cut -d, -f3 | sort -u | tr '\n' ' ')" \
  "added gone_tenant new_tenant reason_changed removed status_changed unknown "
grep -q "changes since $TMP/q.csv: 11 rows: new_tenant 1, gone_tenant 1, added 1, removed 2, status_changed 3, reason_changed 1, unknown 2" "$TMP/err" \
  && ok || fail "changes summary on stderr: $(grep changes "$TMP/err")"
m=$TMP/n.csv.manifest.json
check "manifest lists changes and the page" \
  "$(jq -c '[.outputs[] | [.role, .format, .rows]]' "$m")" \
  '[["detail","csv",41],["summary","csv",9],["changes","csv",11],["html","html",1]]'
for role in changes html; do
  f=$(jq -r ".outputs[] | select(.role == \"$role\") | .path" "$m")
  check "manifest $role sha256" "$(jq -r ".outputs[] | select(.role == \"$role\") | .sha256" "$m")" \
    "$(sha256sum <"$f" | cut -d' ' -f1)"
  check "manifest $role bytes" "$(jq -r ".outputs[] | select(.role == \"$role\") | .bytes" "$m")" \
    "$(stat -c %s "$f")"
done
check "manifest previous" "$(jq -r '.options.previous + " " + .options.previous_sha256' "$m")" \
  "$TMP/q.csv $(sha256sum <"$TMP/q.csv" | cut -d' ' -f1)"
# The page states the other outputs' hashes.
grep -qF "$(sha256sum <"$TMP/changes.csv" | cut -d' ' -f1)" "$TMP/report.html" \
  && ok || fail "the page lacks the changes report's SHA-256"
if $validate "$SRC/schemas/changes-row.schema.json" "$TMP/changes.csv" >"$TMP/v" 2>&1
then ok; else fail "schema changes-row on changes.csv: $(cat "$TMP/v")"; fi
if $validate "$SRC/schemas/manifest.schema.json" "$m" --format json >"$TMP/v" 2>&1
then ok; else fail "schema manifest with changes and html: $(cat "$TMP/v")"; fi

# The same from the previous detail report itself, as NDJSON, twice: the
# same bytes every time.
for k in 1 2; do
  fresh_pcsim pcsim-data-next.json
  "$QR" "$SRC/samples/tenants-next.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
    -o "$TMP/n.ndjson" --previous "$TMP/q.csv" --changes "$TMP/changes$k.ndjson" -q
  check "month 2 NDJSON exit code ($k)" "$?" 1
done
check_file "changes NDJSON, the same bytes twice" "$TMP/changes2.ndjson" "$TMP/changes1.ndjson"
if $validate "$SRC/schemas/changes-row.schema.json" "$TMP/changes1.ndjson" >"$TMP/v" 2>&1
then ok; else fail "schema changes-row on changes.ndjson: $(cat "$TMP/v")"; fi
finish
