#!/usr/bin/env bash
# qualreport against a hostile HTTP server (tests/hostile/server.py): every
# case of that server is one tenant. For each run: it finishes (a watchdog
# kills a hang), every tenant has exactly its row, each Error row says
# exactly what went wrong (the table below), the exit code is the
# contract's, no redirect is followed and no request goes anywhere but the
# base URL's host, and, under the sanitizers, nothing leaks.
source "$(dirname "$0")/lib.sh"
SERVER=$SRC/tests/hostile/server.py
export PARTNER_CENTER_TOKEN=hostile-server-token

# case|vetting_status|http_status|attempts|error, for --retries 1
# --timeout 2 (@FOREIGN@ is the server's "other host", @T@ the tenant).
# "A||B": either error text. Where the text is libcurl's words, B is what
# the row says when the attempt went out on a kept-alive connection the
# server had just closed: libcurl resends on a fresh one unseen, but keeps
# the dead one's message ("Recv failure: ...", and its OS error), so
# neither can be used and the row has libcurl's generic text for the code.
cat >"$TMP/expected.txt" <<'EOF'
ok|Approved|200|1|
gzip_ok|Approved|200|1|
deflate_ok|Approved|200|1|
chunked_ok|Approved|200|1|
info_100|Approved|200|1|
info_103|Approved|200|1|
info_many|Approved|200|1|
header_count_2000|Approved|200|1|
header_line_90k|Approved|200|1|
lf_only|Approved|200|1|
header_bare_cr|Approved|200|1|
body_8mib|Approved|200|1|
gzip_8mib|Approved|200|1|
retry_after_0|Approved|200|2|
retry_after_negative|Approved|200|2|
retry_after_fraction|Approved|200|2|
retry_after_garbage|Approved|200|2|
retry_after_past|Approved|200|2|
retry_after_small|Approved|200|2|
retry_after_huge|Error|429|1|server asked to wait 999999999 s, more than --max-retry-wait 600 s
retry_after_601|Error|429|1|server asked to wait 601 s, more than --max-retry-wait 600 s
retry_after_overflow|Error|429|1|server asked to wait 1000000000000000000000000000000 s, more than --max-retry-wait 600 s
retry_after_future|Error|429|1|server asked to wait until Fri, 01 Jan 2999 00:00:00 GMT, more than --max-retry-wait 600 s
header_line_300k|Error|200|1|response header line longer than 100 KiB
status_reason_200k|Error|0|1|response header line longer than 100 KiB
header_count_20000|Error|200|1|response headers larger than 256 KiB
header_total_2m|Error|200|1|response headers larger than 256 KiB
header_nul|Error|200|2|invalid HTTP response: nul byte in header (2 attempts)||invalid HTTP response: weird server reply (2 attempts)
header_no_colon|Error|200|2|invalid HTTP response: header without colon (2 attempts)||invalid HTTP response: weird server reply (2 attempts)
headers_cut|Error|200|2|connection closed inside the response headers (2 attempts)
status_invalid|Error|0|2|invalid HTTP status line (2 attempts)
status_999|Error|999|1|invalid HTTP status 999
status_099|Error|0|2|invalid HTTP status line (2 attempts)
status_http12|Error|0|2|invalid HTTP status line (2 attempts)
status_http2_text|Approved|200|1|
http09|Error|0|2|not an HTTP response (2 attempts)||invalid HTTP status line (2 attempts)
tls_garbage|Error|0|2|not an HTTP response (2 attempts)||invalid HTTP status line (2 attempts)
empty_reply|Error|0|2|connection closed without response (2 attempts)
reset_at_once|Error|0|2|connection reset (2 attempts)
http10_close_early|Error|200|1|truncated JSON
cl_larger|Error|200|2|connection closed before the end of the body (2 attempts)
cl_smaller|Error|200|1|truncated JSON
excess_keepalive|Error|200|1|truncated JSON
cl_duplicate|Error|200|2|invalid HTTP response: conflicting Content-Length headers (121 and 5) (2 attempts)
cl_negative|Error|200|2|invalid HTTP response: invalid Content-Length: value (2 attempts)||invalid HTTP response: weird server reply (2 attempts)
cl_huge|Error|200|1|body larger than 8 MiB (Content-Length: 1180591620717411303424)
chunked_bad_size|Error|200|2|invalid chunked encoding: illegal or missing hexadecimal sequence (2 attempts)||failure when receiving data from the peer (2 attempts)
chunked_huge_size|Error|200|2|invalid chunked encoding: too long hexadecimal number (2 attempts)||failure when receiving data from the peer (2 attempts)
chunked_cut|Error|200|2|connection closed before the end of the body (2 attempts)
reset_mid_body|Error|200|2|connection reset (2 attempts)
body_8mib_plus1|Error|200|1|body larger than 8 MiB (Content-Length: 8388609)
body_chunked_9mib|Error|200|1|body larger than 8 MiB
gzip_truncated|Error|200|2|truncated gzip body (2 attempts)
gzip_corrupt|Error|200|1|corrupt gzip body: invalid stored block lengths
gzip_bomb|Error|200|1|body larger than 8 MiB
gzip_8mib_plus1|Error|200|1|body larger than 8 MiB
deflate_truncated|Error|200|2|truncated deflate body (2 attempts)
deflate_corrupt|Error|200|1|corrupt deflate body: invalid stored block lengths
deflate_bomb|Error|200|1|body larger than 8 MiB
gzip_twice_bomb|Error|200|1|unsupported Content-Encoding 'gzip, gzip'
br_garbage|Error|200|1|unsupported Content-Encoding 'br'
encoding_unknown|Error|200|1|unsupported Content-Encoding 'x-hostile'
redirect_302|Error|302|1|HTTP 302 Found: redirect to http://@FOREIGN@/v1/customers/@T@/qualifications not followed
redirect_301|Error|301|1|HTTP 301 Moved Permanently: redirect to http://@FOREIGN@/v1/customers/@T@/qualifications not followed
redirect_307|Error|307|1|HTTP 307 Temporary Redirect: redirect to http://@FOREIGN@/v1/customers/@T@/qualifications not followed
redirect_308|Error|308|1|HTTP 308 Permanent Redirect: redirect to http://@FOREIGN@/v1/customers/@T@/qualifications not followed
redirect_same_host|Error|302|1|HTTP 302 Found: redirect to /elsewhere not followed
status_204|None|204|1|
status_418|Error|418|1|HTTP 418
status_500_always|Error|500|2|x: boom
status_200_html|Error|200|1|malformed JSON: unexpected character at offset 0 near '<html><body>moved</body>'
never_answer|Error|0|2|timeout after 2 s (2 attempts)
slow_drip|Error|0|2|timeout after 2 s (2 attempts)
slow_headers_drip|Error|200|2|timeout after 2 s (2 attempts)
late_garbage|Approved|200|1|
late_duplicate|Approved|200|1|
EOF

# Every case the server has is in the table, and only those.
python3 "$SERVER" --list | awk '{ print $1 }' | sort >"$TMP/cases.server"
cut -d'|' -f1 "$TMP/expected.txt" | sort >"$TMP/cases.table"
check_file "cases of server.py = cases of the table" "$TMP/cases.table" "$TMP/cases.server"

# tenant N: a GUID per case number
tenant() { printf '%08x-0000-4000-8000-%012x\n' "$1" "$2"; }

SERVER_LOG=$TMP/server.log
# start_server CASES.json: sets URL, stops at exit (lib.sh's cleanup)
start_server() {
  local out="$TMP/server.$RANDOM.out"
  python3 "$SERVER" --cases "$1" --token "$PARTNER_CENTER_TOKEN" \
    --log "$SERVER_LOG" >"$out" 2>"$out.err" &
  SERVER_PIDS+=($!)
  for _ in $(seq 1 200); do
    URL=$(head -n 1 "$out" 2>/dev/null)
    [[ "$URL" == http://127.0.0.1:* ]] && return 0
    kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || break
    sleep 0.05
  done
  echo "server.py did not start: $(cat "$out.err")" >&2
  exit 1
}

# run NAME WANT-EXIT ARGS...: qualreport on $TMP/NAME.csv, 120 s watchdog
run() {
  local name=$1 want=$2; shift 2
  timeout 120 "$QR" "$TMP/$name.csv" --base-url "$URL" --retries 1 \
    --timeout 2 --no-progress -q -o "$TMP/$name.out.csv" \
    --manifest "$TMP/$name.manifest.json" "$@" 2>"$TMP/$name.err"
  local rc=$?
  check "$name: exit code" "$rc" "$want"
  if grep -q Sanitizer "$TMP/$name.err"; then
    fail "$name: sanitizer report"; head -n 30 "$TMP/$name.err"
  else ok; fi
}

# check_rows NAME: $TMP/NAME.want (tenant|case|status|http|attempts|error
# per tenant, input order) against the detail report, row by row
check_rows() {
  local name=$1
  [ -f "$TMP/$name.out.csv" ] || { fail "$name: no report"; return; }
  python3 - "$TMP/$name.out.csv" "$TMP/$name.want" <<'PY' >"$TMP/$name.diff"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline='')))
want = [l.rstrip('\n').split('|', 5) for l in open(sys.argv[2])]
if len(rows) != len(want):
    print('%d rows, want %d' % (len(rows), len(want)))
for r, (t, case, status, http, attempts, error) in zip(rows, want):
    got = (r['tenant_id'], r['vetting_status'], r['http_status'],
           r['attempts'], r['error'])
    exp = (t, status, http, attempts, error)
    if attempts == '1-2' and r['attempts'] in ('1', '2'):
        exp = exp[:3] + (r['attempts'],) + exp[4:]
    if '||' in error and r['error'] in error.split('||'):
        exp = exp[:4] + (r['error'],)
    if got != exp:
        print('%s: got %s, want %s' % (case, got, exp))
PY
  if [ -s "$TMP/$name.diff" ]; then fail "$name rows:"; cat "$TMP/$name.diff"
  else ok; fi
}

# The server's view: nothing reached the other host, every request had
# the base URL's Host and the token.
check_server() {
  local s; s=$(curl -sf "$URL/__stats")
  check "$1: requests to the other host" "$(jq .foreign_requests <<<"$s")" 0
  check "$1: Authorization sent to the other host" "$(jq .foreign_auth <<<"$s")" 0
  check "$1: requests with another Host" "$(jq .bad_host <<<"$s")" 0
  check "$1: requests without the token" "$(jq .no_auth <<<"$s")" 0
  check "$1: unexpected requests" "$(jq .bad_requests <<<"$s")" 0
}

# The server counts requests per tenant ("first a 429, then the answer"),
# so every run below has tenants of its own: set S, case number N is
# tenant S-N. Sets 3 and 7 are the good tenants of runs 2 and 5, "ok".
{
  echo "{"
  n=0
  while IFS='|' read -r case _; do
    n=$((n + 1))
    [ $n -gt 1 ] && echo ","
    printf '"%s": "ok", "%s": "ok"' "$(tenant 3 $n)" "$(tenant 7 $n)"
    for set in 1 2 4 5 6 8; do printf ', "%s": "%s"' "$(tenant $set $n)" "$case"; done
  done <"$TMP/expected.txt"
  echo "}"
} >"$TMP/cases.json"
start_server "$TMP/cases.json"
FOREIGN=$(curl -sf "$URL/__stats" | jq -r .foreign)

# want_rows SET FILTER: the expected rows of set SET for the cases of the
# table matching the awk filter (on c, the case); sets 2 and 6 have a good
# tenant (of set 3 or 7) after each case
want_rows() {
  local set=$1 filter=$2 n=0
  while IFS='|' read -r case rest; do
    n=$((n + 1))
    awk -v c="$case" "BEGIN { exit !($filter) }" || continue
    t=$(tenant "$set" $n)
    echo "$t|$case|${rest//@T@/$t}" | sed "s/@FOREIGN@/$FOREIGN/g"
    if [ "$set" = 2 ] || [ "$set" = 6 ]; then
      # a good tenant after each case, on the same kept-alive connection:
      # a late answer may hit it, then it needs a second attempt
      case $case in late_*) a=1-2 ;; *) a=1 ;; esac
      echo "$(tenant $((set + 1)) $n)|ok after $case|Approved|200|$a|"
    fi
  done <"$TMP/expected.txt"
}

want_rows 1 'c !~ /^late_/' >"$TMP/all.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/all.want"; } >"$TMP/all.csv"
run all 1 -j 8
check_rows all
check "all: manifest exit code" \
  "$(jq .exit_code "$TMP/all.manifest.json" 2>&1)" 1
check "all: manifest failed" \
  "$(jq .counts.failed "$TMP/all.manifest.json" 2>&1)" \
  "$(grep -c '|Error|' "$TMP/all.want")"
check_server all

# ---- 2. one at a time, each case followed by a good tenant (the late_*
# cases in run 5: their late answer hits whatever request goes out next
# on that connection, which may be an earlier case's retry) -------------
want_rows 2 'c !~ /^late_/' >"$TMP/seq.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/seq.want"; } >"$TMP/seq.csv"
run seq 1 -j 1
check_rows seq
check_server seq

# ---- 3. only the answers that are answers: exit 0 ----------------------
want_rows 4 'c ~ /^(ok|gzip_ok|deflate_ok|chunked_ok|info_|lf_only|body_8mib$|gzip_8mib$|retry_after_(0|small|garbage|past)$)/' \
  >"$TMP/good.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/good.want"; } >"$TMP/good.csv"
run good 0 -j 4
check_rows good
check_server good

# ---- 4. --max-retry-wait names the limit given, and is logged once -----
want_rows 5 'c ~ /^retry_after_(601|huge|future)$/' |
  sed 's/--max-retry-wait 600 s$/--max-retry-wait 1 s/' >"$TMP/wait.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/wait.want"; } >"$TMP/wait.csv"
run wait 1 -j 3 --max-retry-wait 1
check_rows wait
check "wait: the refusal is logged once (-q keeps warnings)" \
  "$(grep -c 'asked to wait' "$TMP/wait.err")" 1

# ---- 5. late answers on a kept-alive connection: the request that goes
# out next on it gets them (a good tenant here), and must not take them
# for its own: it is Approved (the planted "[]" would read as None) -----
want_rows 6 'c ~ /^(ok|late_)/' >"$TMP/late.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/late.want"; } >"$TMP/late.csv"
run late 0 -j 1
check_rows late
check_server late

# ---- 6. libcurl first used by the start ping (--ping-url): its header
# line limit is still a row, not our memory running out (exit 5) -------
"$(dirname "$0")/pingserver.py" "$TMP/pings.log" >"$TMP/ping.port" \
  2>"$TMP/ping.err" &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$TMP/ping.port" ] && break; sleep 0.05; done
PING=http://127.0.0.1:$(head -n 1 "$TMP/ping.port")/ping/hostile
want_rows 8 'c ~ /^(ok|header_line_300k)$/' >"$TMP/pinged.want"
{ echo tenant_id; cut -d'|' -f1 "$TMP/pinged.want"; } >"$TMP/pinged.csv"
run pinged 1 -j 2 --ping-url "$PING"
check_rows pinged
check "pinged: the pings" "$(tr '\n' ' ' <"$TMP/pings.log")" \
  "GET /ping/hostile/start GET /ping/hostile/1 "
finish
