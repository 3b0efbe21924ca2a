#!/usr/bin/env bash
# The reports load into a real PostgreSQL with the README's exact commands
# ("Loading the reports"): the CSV detail with \copy, the gzipped NDJSON as
# jsonb, the summary CSV; then SQL proves the summary is exactly the
# detail's per-tenant counts and the NDJSON rows are exactly the CSV rows,
# on the samples and on values chosen to break naive loaders (quotes,
# backslashes, "\N", newlines, control characters, non-dates).
#
# The server is private to the test: initdb into its own directory,
# listening only on a unix socket in that directory (listen_addresses=''),
# so no TCP port is taken and none can collide; it is stopped in the EXIT
# trap. As root, initdb and postgres run as the postgres user (they refuse
# to run as root); psql stays the caller, who can read the reports.
source "$(dirname "$0")/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ] || ! command -v psql >/dev/null
then
  echo "FAIL: no PostgreSQL server in /usr/lib/postgresql (run scripts/bootstrap)"
  exit 1
fi
as_pg() { "$@"; }
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || { echo "FAIL: no postgres user"; exit 1; }
  as_pg() { runuser -u postgres -- "$@"; }
fi

# Under /tmp, not $TMPDIR: a unix socket path must stay under 108 bytes,
# and the postgres user must be able to reach the directory.
PGDIR=$(mktemp -d /tmp/qr-pg.XXXXXX)
[ "$(id -u)" = 0 ] && chown postgres: "$PGDIR"
pg_cleanup() {
  if [ -f "$PGDIR/data/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w -t 30 stop >/dev/null 2>&1
  fi
  [ -n "${KEEP_PG:-}" ] || rm -rf "$PGDIR"
  cleanup
}
trap pg_cleanup EXIT

as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U qr --auth=trust -E UTF8 \
  --locale=C.UTF-8 -N >"$TMP/initdb.log" 2>&1 \
  || { echo "FAIL: initdb: $(cat "$TMP/initdb.log")"; exit 1; }
# The port only names the socket file in our own directory.
export PGHOST=$PGDIR PGPORT=$((20000 + RANDOM % 40000)) PGUSER=qr \
  PGDATABASE=postgres PGTZ=UTC
export PGOPTIONS='-c client_min_messages=warning'
unset PGPASSWORD PGSERVICE
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w -t 30 \
  -o "-k $PGDIR -p $PGPORT -c listen_addresses= -c fsync=off" start \
  >/dev/null 2>&1 \
  || { echo "FAIL: postgres did not start: $(cat "$PGDIR/server.log")"; exit 1; }

psql_run() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
# sql QUERY: the single value (or rows, |-separated) it returns
sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

corr=7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745
export PARTNER_CENTER_TOKEN=pg-token-not-a-secret

# run_reports NAME INPUT WANT-EXIT DATA: the CSV detail + summary, then the
# NDJSON.gz detail, each against a fresh pcsim (a scripted answer sequence
# advances per request, so both runs must start from its beginning) and
# with the same correlation ID, so the two runs' rows are the same.
run_reports() {
  local name=$1 input=$2 want=$3 data=$4
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 7 --data "$data"
  "$QR" "$input" --base-url "$PCSIM_URL" --correlation-id $corr -q \
    -o "$TMP/$name.csv" -s "$TMP/$name-summary.csv"
  check "$name: CSV run exit code" "$?" "$want"
  stop_pcsim
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 7 --data "$data"
  "$QR" "$input" --base-url "$PCSIM_URL" --correlation-id $corr -q \
    -o "$TMP/$name.ndjson.gz"
  check "$name: NDJSON.gz run exit code" "$?" "$want"
  stop_pcsim
}

# load NAME: the README's statements, verbatim but for the file names.
# The CSV is loaded first and kept as qualifications_csv; then
# qualifications is refilled from the NDJSON.gz, so compare() can hold
# the two loads against each other.
load() {
  local name=$1
  psql_run <<EOF
DROP TABLE IF EXISTS qualifications, qualifications_raw, qualifications_csv,
  qualification_summary CASCADE;
CREATE TABLE qualifications (
  tenant_id            uuid    NOT NULL,
  qualification        text,
  vetting_status       text,
  vetting_reason       text,
  vetting_created_date text,
  http_status          integer NOT NULL,
  attempts             integer NOT NULL,
  error                text,
  request_id           uuid
);
CREATE TABLE qualification_summary (
  qualification  text,
  vetting_status text,
  count          integer NOT NULL
);
\copy qualifications FROM '$TMP/$name.csv' WITH (FORMAT csv, HEADER true)
\copy qualification_summary FROM '$TMP/$name-summary.csv' WITH (FORMAT csv, HEADER true)
CREATE VIEW qualifications_typed AS
  SELECT q.*,
         CASE WHEN vetting_created_date
                   ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$'
              THEN vetting_created_date::timestamptz END
           AS vetting_created_at
  FROM qualifications q;
CREATE TABLE qualifications_raw (
  line bigint GENERATED ALWAYS AS IDENTITY,
  doc  jsonb  NOT NULL
);
CREATE TABLE qualifications_csv AS TABLE qualifications;
TRUNCATE qualifications;
EOF
  check "$name: schema and CSV loads" "$?" 0
  zcat "$TMP/$name.ndjson.gz" | psql -X -q -v ON_ERROR_STOP=1 -c "COPY qualifications_raw (doc) FROM STDIN WITH (FORMAT csv, QUOTE e'\x01', DELIMITER e'\x02')"
  check "$name: NDJSON.gz COPY" "$?" 0
  psql_run <<'EOF'
INSERT INTO qualifications
  SELECT r.* FROM qualifications_raw,
    jsonb_populate_record(NULL::qualifications, doc) AS r ORDER BY line;
EOF
  check "$name: jsonb_populate_record" "$?" 0
}

# compare NAME ROWS SUMMARY-ROWS: the SQL checks of both kinds.
compare() {
  local name=$1 rows=$2 srows=$3
  check "$name: CSV rows" "$(sql 'SELECT count(*) FROM qualifications_csv')" "$rows"
  check "$name: rows from the NDJSON" "$(sql 'SELECT count(*) FROM qualifications')" "$rows"
  check "$name: NDJSON rows" "$(sql 'SELECT count(*) FROM qualifications_raw')" "$rows"
  check "$name: NDJSON lines numbered 1..n" \
    "$(sql "SELECT min(line) || ' ' || max(line) FROM qualifications_raw")" "1 $rows"
  check "$name: every NDJSON object has exactly the 9 columns" \
    "$(sql "SELECT count(*) FROM qualifications_raw WHERE
      (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(doc) k) <>
      '{attempts,error,http_status,qualification,request_id,tenant_id,vetting_created_date,vetting_reason,vetting_status}'")" 0
  check "$name: numbers are JSON numbers" \
    "$(sql "SELECT count(*) FROM qualifications_raw WHERE
      jsonb_typeof(doc->'http_status') <> 'number' OR
      jsonb_typeof(doc->'attempts') <> 'number'")" 0
  check "$name: no empty strings in NDJSON (null instead)" \
    "$(sql "SELECT count(*) FROM qualifications_raw, jsonb_each(doc) e
      WHERE e.value = '\"\"'::jsonb")" 0
  # Multisets, both ways: every CSV row is an NDJSON row and back.
  check "$name: CSV rows missing from NDJSON" \
    "$(sql 'SELECT count(*) FROM (TABLE qualifications_csv EXCEPT ALL TABLE qualifications) d')" 0
  check "$name: NDJSON rows missing from CSV" \
    "$(sql 'SELECT count(*) FROM (TABLE qualifications EXCEPT ALL TABLE qualifications_csv) d')" 0
  # The summary is the detail's tenant count per (qualification, status).
  psql_run -c "CREATE VIEW summary_from_detail AS
    SELECT qualification, vetting_status, count(DISTINCT tenant_id)::int AS count
    FROM qualifications GROUP BY qualification, vetting_status"
  check "$name: summary rows" "$(sql 'SELECT count(*) FROM qualification_summary')" "$srows"
  check "$name: summary rows from the detail" "$(sql 'SELECT count(*) FROM summary_from_detail')" "$srows"
  local extra missing
  extra=$(sql 'TABLE qualification_summary EXCEPT TABLE summary_from_detail')
  missing=$(sql 'TABLE summary_from_detail EXCEPT TABLE qualification_summary')
  check "$name: summary rows not in the detail" "$extra" ""
  check "$name: detail counts not in the summary" "$missing" ""
  # The README's one-query version of the same check.
  check "$name: the README's summary check" "$(psql -X -q -A -t -v ON_ERROR_STOP=1 <<'EOF'
(TABLE qualification_summary
 EXCEPT SELECT qualification, vetting_status, count(DISTINCT tenant_id)::int
        FROM qualifications GROUP BY 1, 2)
UNION ALL
(SELECT qualification, vetting_status, count(DISTINCT tenant_id)::int
 FROM qualifications GROUP BY 1, 2
 EXCEPT TABLE qualification_summary);
EOF
)" ""
}

# ---- The samples -------------------------------------------------------
run_reports samples "$SRC/samples/tenants.csv" 1 "$SRC/samples/pcsim-data.json"
# The README's loader check: wait for the manifest, verify every output's
# SHA-256 from it (paths in it are as given to qualreport: absolute here).
for m in "$TMP/samples.csv.manifest.json" "$TMP/samples.ndjson.gz.manifest.json"; do
  jq -r '.outputs[] | "\(.sha256)  \(.path)"' "$m" | sha256sum -c --quiet \
    && ok || fail "sha256sum -c from $m"
done
load samples
check "samples: rows loaded = the manifest's detail rows" \
  "$(sql 'SELECT count(*) FROM qualifications')" \
  "$(jq '.outputs[] | select(.role == "detail") | .rows' "$TMP/samples.csv.manifest.json")"
check "samples: summary rows loaded = the manifest's" \
  "$(sql 'SELECT count(*) FROM qualification_summary')" \
  "$(jq '.outputs[] | select(.role == "summary") | .rows' "$TMP/samples.csv.manifest.json")"
compare samples 41 8
check "samples: summary as loaded" \
  "$(sql "SELECT coalesce(qualification, '-') || ' ' ||
      coalesce(vetting_status, '-') || ' ' || count
    FROM qualification_summary ORDER BY 1" | tr '\n' ';')" \
  "- Error 1;- None 10;- NotFound 1;Education Approved 19;Education Denied 4;Education InReview 3;GovernmentCommunityCloud InReview 1;StateOwnedEntity - 2;"
check "samples: distinct tenants" \
  "$(sql 'SELECT count(DISTINCT tenant_id) FROM qualifications')" 40
check "samples: the 403 is an Error row" \
  "$(sql "SELECT http_status || '|' || error FROM qualifications
    WHERE tenant_id = 'c78165de-8458-420c-88ba-29b1f8223c08'")" \
  "403|20002: No relationship between caller and account."
check "samples: dates that are dates" \
  "$(sql "SELECT count(vetting_created_date) || ' ' ||
      count(vetting_created_at) FROM qualifications_typed")" \
  "18 18"
# timestamptz keeps microseconds: the API's 100 ns digit is rounded, which
# is why the column is loaded as text.
check "samples: a 7-digit fraction as timestamptz" \
  "$(sql "SELECT vetting_created_date || ' ' || vetting_created_at
    FROM qualifications_typed
    WHERE tenant_id = '83f11b2d-9bbc-4685-bcc3-323c673940a8'")" \
  "2021-05-06T19:59:56.6832021Z 2021-05-06 19:59:56.683202+00"
check "samples: request IDs are UUIDs and per tenant" \
  "$(sql 'SELECT count(DISTINCT request_id) FROM qualifications')" 40
check "samples: the tenant answered after two 503s" \
  "$(sql "SELECT attempts FROM qualifications
    WHERE tenant_id = '83f11b2d-9bbc-4685-bcc3-323c673940a8'")" 3

# ---- schemas/bigquery-detail.json says what the JSON Schema says ------
check "BigQuery schema: columns in order, types and modes" \
  "$(jq -c '[.[] | [.name, .type, .mode]]' "$SRC/schemas/bigquery-detail.json")" \
  "$(jq -c '.properties as $p | [.required[] | . as $n | [$n,
      (if ($p[$n].type | tostring | test("integer")) then "INTEGER" else "STRING" end),
      (if ($p[$n].type | tostring | test("null")) then "NULLABLE" else "REQUIRED" end)]]' \
      "$SRC/schemas/detail-row.schema.json")"
check "BigQuery schema: the CSV header's columns" \
  "$(jq -r '[.[].name] | join(",")' "$SRC/schemas/bigquery-detail.json")" \
  "$(head -n 1 "$TMP/samples.csv")"

# ---- Values that break naive loaders ----------------------------------
# A backslash, "\N" (NULL in COPY's text format), quotes, a comma, a CR LF,
# a tab, U+0001 and U+0002 (the NDJSON COPY's quote and delimiter, escaped
# by JSON but raw bytes in the CSV), non-ASCII text, an empty reason, a
# status the tool has never seen, a date with an offset and one that is
# not a date.
t1=11111111-0000-4000-8000-000000000001
t2=11111111-0000-4000-8000-000000000002
t3=11111111-0000-4000-8000-000000000003
t4=11111111-0000-4000-8000-000000000004
cat >"$TMP/tricky.json" <<EOF
{
  "$t1": {"status": 200, "body": [
    {"qualification": "Education", "vettingStatus": "Denied",
     "vettingReason": "see \\\\\\\\srv\\\\share \\"A, B\\"\\r\\nline 2\\tend",
     "vettingCreatedDate": "2021-05-06T21:59:56.1234567+02:00"}]},
  "$t2": {"status": 200, "body": [
    {"qualification": "Education", "vettingStatus": "Approved",
     "vettingReason": "\\\\N", "vettingCreatedDate": "yesterday"},
    {"qualification": "StateOwnedEntity"}]},
  "$t3": {"status": 200, "body": [
    {"qualification": "GovernmentCommunityCloud",
     "vettingStatus": "UnderAppeal",
     "vettingReason": "\\u0001\\u0002 École – 学校 =1+1",
     "vettingCreatedDate": ""}]},
  "$t4": {"status": 200, "body": [
    {"qualification": "Education", "vettingStatus": "Approved",
     "vettingReason": ""}]}
}
EOF
printf 'tenant_id\n%s\n%s\n%s\n%s\n' $t1 $t2 $t3 $t4 >"$TMP/tricky.csv"
run_reports tricky "$TMP/tricky.csv" 0 "$TMP/tricky.json"
load tricky
compare tricky 5 4
check "tricky: backslashes, quotes, CR LF and tab kept" \
  "$(sql "SELECT count(*) FROM qualifications WHERE tenant_id = '$t1'
    AND vetting_reason = E'see \\\\\\\\srv\\\\share \"A, B\"\\r\\nline 2\\tend'")" 1
check "tricky: \\N is text, not NULL" \
  "$(sql "SELECT vetting_reason FROM qualifications
    WHERE tenant_id = '$t2' AND qualification = 'Education'")" '\N'
check "tricky: control characters and UTF-8 kept" \
  "$(sql "SELECT count(*) FROM qualifications WHERE tenant_id = '$t3'
    AND vetting_reason = U&'\\0001\\0002 \\00C9cole \\2013 \\5B66\\6821 =1+1'")" 1
check "tricky: unknown status kept" \
  "$(sql "SELECT vetting_status FROM qualifications WHERE tenant_id = '$t3'")" \
  UnderAppeal
check "tricky: an empty reason is NULL" \
  "$(sql "SELECT count(*) FROM qualifications
    WHERE tenant_id = '$t4' AND vetting_reason IS NULL")" 1
check "tricky: an empty date is NULL" \
  "$(sql "SELECT count(*) FROM qualifications
    WHERE tenant_id = '$t3' AND vetting_created_date IS NULL")" 1
check "tricky: no empty string anywhere in the CSV load" \
  "$(sql "SELECT count(*) FROM qualifications q, jsonb_each_text(to_jsonb(q)) e
    WHERE e.value = ''")" 0
check "tricky: an offset date in UTC, a non-date verbatim" \
  "$(sql "SELECT coalesce(vetting_created_date, '-') || ' ' ||
      coalesce(vetting_created_at::text, '-')
    FROM qualifications_typed ORDER BY tenant_id, qualification" | tr '\n' ';')" \
  "2021-05-06T19:59:56.1234567Z 2021-05-06 19:59:56.123457+00;yesterday -;- -;- -;- -;"
check "tricky: summary" \
  "$(sql "SELECT coalesce(qualification, '-') || ' ' ||
      coalesce(vetting_status, '-') || ' ' || count
    FROM qualification_summary ORDER BY 1" | tr '\n' ';')" \
  "Education Approved 2;Education Denied 1;GovernmentCommunityCloud UnderAppeal 1;StateOwnedEntity - 1;"
finish
