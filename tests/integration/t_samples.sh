#!/usr/bin/env bash
# The samples, end to end: exact detail, summary and rejects reports in
# every format, valid against the schemas, with the contract's exit code.
source "$(dirname "$0")/lib.sh"
exp=$SRC/samples/expected
validate="/usr/bin/python3 $SRC/tests/schemas/validate.py"
corr=7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745
export PARTNER_CENTER_TOKEN=demo-token-not-a-secret
# pcsim plays each scripted tenant's answers in order (503, 503, 200 ...),
# so every run gets a fresh simulator to see the same answers.
fresh_pcsim() {
  [ -n "${PCSIM_PID:-}" ] && stop_pcsim
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 7 \
    --data "$SRC/samples/pcsim-data.json"
}
fresh_pcsim

"$QR" "$SRC/samples/tenants.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/q.csv" -s "$TMP/s.csv" --rejects "$TMP/r.csv" --no-progress 2>"$TMP/err"
check "exit code (one tenant refused with 403)" "$?" 1
check_file "detail CSV" "$TMP/q.csv" "$exp/qualifications.csv"
check_file "summary CSV" "$TMP/s.csv" "$exp/summary.csv"
check_file "rejects CSV" "$TMP/r.csv" "$exp/rejects.csv"
grep -q "summary: 45 input rows: 40 valid, 1 duplicate, 2 invalid, 2 blank" "$TMP/err" \
  && ok || fail "human summary on stderr: $(cat "$TMP/err")"
grep -q "correlation ID $corr" "$TMP/err" && ok || fail "correlation ID not logged"

fresh_pcsim
"$QR" "$SRC/samples/tenants.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/q.ndjson.gz" -s "$TMP/s.ndjson" -q
check "exit code, NDJSON" "$?" 1
zcat "$TMP/q.ndjson.gz" >"$TMP/q.ndjson"
check_file "detail NDJSON.gz" "$TMP/q.ndjson" "$exp/qualifications.ndjson"
check_file "summary NDJSON" "$TMP/s.ndjson" "$exp/summary.ndjson"
/usr/bin/python3 -c 'import gzip,json,sys
n = sum(1 for line in gzip.open(sys.argv[1], "rt") if json.loads(line))
print(n)' "$TMP/q.ndjson.gz" >"$TMP/n"
check "python gzip reads every line" "$(cat "$TMP/n")" 41
check "jq reads every line" "$(zcat "$TMP/q.ndjson.gz" | jq -c . | wc -l)" 41

# Same bytes from stdin, and with -f overriding the suffix.
fresh_pcsim
"$QR" - --base-url "$PCSIM_URL" --correlation-id $corr -q -f ndjson \
  <"$SRC/samples/tenants.csv" >"$TMP/stdin.ndjson"
check_file "stdin to stdout NDJSON" "$TMP/stdin.ndjson" "$exp/qualifications.ndjson"

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

# --excel-safe only changes CSV free text that starts with = + - @.
fresh_pcsim
"$QR" "$SRC/samples/tenants.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -o "$TMP/x.csv" --excel-safe -q
check_file "excel-safe detail (no formula-like text in the samples)" "$TMP/x.csv" "$exp/qualifications.csv"
finish
