#!/usr/bin/env bash
# qualreport against nginx, a server no one here wrote, in place of pcsim:
# static files with the API's body shapes (the seed page's verbatim, a BOM,
# an empty list), nginx's own HTML 404 and 403, a limit_req throttle
# answering 429 with Retry-After, and connections that nginx closes every
# few requests (keepalive_requests). Exact rows, counts and exit codes;
# nginx's access log is the independent record of what was asked.
source "$(dirname "$0")/lib.sh"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is not installed (scripts/bootstrap)"; exit 1; }
export PARTNER_CENTER_TOKEN=nginx-test-token
corr=0b7e2c1a-5d4f-4e8a-9c3b-2a1f0e9d8c7b

# start_nginx DIR SERVER-BLOCK-DIRECTIVES [HTTP-DIRECTIVES]: nginx with DIR
# as its prefix and root (DIR/www) on a free port; sets NGINX_URL.
start_nginx() {
  local dir=$1 server=$2 http=${3:-} port try
  mkdir -p "$dir/tmp" "$dir/www"
  for try in $(seq 1 20); do
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
    cat >"$dir/nginx.conf" <<EOF
# as root the workers would drop to nobody, who cannot read \$TMP
user $(id -un) $(id -gn);
worker_processes 1;
daemon off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 1024; }
http {
  log_format t '\$msec \$status \$request_uri \$http_authorization';
  access_log $dir/access.log t;
  client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp;
  uwsgi_temp_path $dir/tmp;
  scgi_temp_path $dir/tmp;
  $http
  server {
    listen 127.0.0.1:$port;
    root $dir/www;
    $server
  }
}
EOF
    : >"$dir/error.log"
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" 2>>"$dir/error.log" &
    SERVER_PIDS+=($!)
    for _ in $(seq 1 100); do
      if curl -s -o /dev/null "http://127.0.0.1:$port/"; then
        NGINX_URL=http://127.0.0.1:$port
        return 0
      fi
      kill -0 "${SERVER_PIDS[-1]}" 2>/dev/null || break
      sleep 0.05
    done
    grep -q 'Address already in use' "$dir/error.log" || break
  done
  echo "nginx did not start: $(cat "$dir/error.log")" >&2
  exit 1
}

# requests DIR: the access log's API requests as "status uri" lines, once
# nginx has written them all (each line follows its answer).
requests() {
  local a=-1 b
  b=$(wc -l <"$1/access.log")
  while [ "$a" != "$b" ]; do
    sleep 0.1
    a=$b
    b=$(wc -l <"$1/access.log")
  done
  awk '$3 ~ /^\/v1\/customers\// { print $2, $3 }' "$1/access.log"
}

# Refuse a request without the bearer token: proves qualreport sends it.
auth='if ($http_authorization != "Bearer nginx-test-token") { return 401; }'

# --- 1. body shapes from static files, 404 and 403 from nginx itself ------
d=$TMP/shapes
t_obj=11111111-1111-4111-8111-111111111111     # seed: wrapper, trailing ,
t_denied=22222222-2222-4222-8222-222222222222  # seed: list, reason, date
t_review=33333333-3333-4333-8333-333333333333  # seed: // comment
t_none=44444444-4444-4444-8444-444444444444    # []
t_bom=55555555-5555-4555-8555-555555555555     # BOM, two qualifications
t_missing=66666666-6666-4666-8666-666666666666 # no file: nginx's 404
t_denyall=77777777-7777-4777-8777-777777777777 # nginx: return 403
start_nginx "$d" "location /v1/customers/ { $auth default_type application/json; }
    location = /v1/customers/$t_denyall/qualifications { return 403; }"
put() { mkdir -p "$d/www/v1/customers/$1"; cat >"$d/www/v1/customers/$1/qualifications"; }
put $t_obj <"$SRC/samples/bodies/approved.json"
put $t_denied <"$SRC/samples/bodies/doc-denied.json"
put $t_review <"$SRC/samples/bodies/inreview.json"
echo '[]' | put $t_none
{ printf '\xef\xbb\xbf'; cat "$SRC/samples/bodies/doc-edu-soe.json"; } | put $t_bom
{ echo tenant_id; printf '%s\n' $t_obj $t_denied $t_review $t_none $t_bom \
  $t_missing $t_denyall; } >"$TMP/shapes.csv"

"$QR" "$TMP/shapes.csv" --base-url "$NGINX_URL" --correlation-id $corr \
  --retries 2 -o "$TMP/shapes.out.csv" -s "$TMP/shapes.sum.csv" -q --no-progress
check "exit code (the 403 is a failed tenant)" "$?" 1
cut -d, -f1-8 "$TMP/shapes.out.csv" >"$TMP/shapes.rows"
cat >"$TMP/shapes.want" <<EOF
tenant_id,qualification,vetting_status,vetting_reason,vetting_created_date,http_status,attempts,error
$t_obj,Education,Approved,,,200,1,
$t_denied,Education,Denied,Not an Education Customer,2020-12-03T10:37:38.885Z,200,1,
$t_review,Education,InReview,,2020-12-03T10:37:38.885Z,200,1,
$t_none,,None,,,200,1,
$t_bom,Education,Approved,,,200,1,
$t_bom,StateOwnedEntity,,,,200,1,
$t_missing,,NotFound,,,404,1,
$t_denyall,,Error,,,403,1,HTTP 403 Forbidden
EOF
check_file "rows from nginx's answers" "$TMP/shapes.rows" "$TMP/shapes.want"
jq -c .counts "$TMP/shapes.out.csv.manifest.json" >"$TMP/shapes.counts"
check "manifest counts" "$(cat "$TMP/shapes.counts")" \
  '{"input_rows":7,"valid":7,"duplicate":0,"invalid":0,"blank":0,"fetched":7,"answered":5,"not_found":1,"failed":1,"rows_written":8}'
check "one request per tenant, as nginx logged them" \
  "$(requests "$d" | awk '{ print $1 }' | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" \
  "200:5 403:1 404:1 "
check "the bearer token on every request" \
  "$(grep -c ' Bearer nginx-test-token$' "$d/access.log")" 7

# --- 2. limit_req: 429 with Retry-After, kept, and no tenant lost ---------
d=$TMP/throttle
start_nginx "$d" "location ~ ^/v1/customers/[^/]+/qualifications\$ {
      $auth
      limit_req zone=api burst=5 nodelay;
      limit_req_status 429;
      error_page 429 = @throttled;
      default_type application/json;
      try_files /body.json =500;
    }
    location @throttled {
      add_header Retry-After 1 always;
      return 429 '{\"code\":429,\"description\":\"Rate limit is exceeded\"}';
    }" "limit_req_zone \$binary_remote_addr zone=api:1m rate=100r/s;"
cp "$SRC/samples/bodies/doc-approved.json" "$d/www/body.json"
{ echo tenant_id; gen_tenants 300 17; } >"$TMP/thr.csv"
"$QR" "$TMP/thr.csv" --base-url "$NGINX_URL" -j 16 -o "$TMP/thr.out.csv" \
  -q --no-progress
check "throttled run: exit code" "$?" 0
check "throttled run: every tenant Approved once" \
  "$(tail -n +2 "$TMP/thr.out.csv" | cut -d, -f1,3 | sort -u | grep -c ',Approved$')" 300
requests "$d" >"$TMP/thr.log"
check "throttled run: 300 answers 200 in nginx's log" \
  "$(grep -c '^200 ' "$TMP/thr.log")" 300
n429=$(grep -c '^429 ' "$TMP/thr.log")
[ "$n429" -gt 0 ] && ok || fail "nginx never throttled: the test proves nothing"
# A tenant asked again sooner than Retry-After (1 s) after its 429, by
# nginx's own clock ($msec, when each answer went out).
viol=$(awk '$3 ~ /^\/v1\// {
    if ($3 in until && $1 < until[$3]) v++
    delete until[$3]
    if ($2 == 429) until[$3] = $1 + 1
  } END { print v + 0 }' "$d/access.log")
check "throttled run: Retry-After kept after each of $n429 429s" "$viol" 0
check "throttled run: attempts column = 1 + that tenant's 429s" \
  "$(tail -n +2 "$TMP/thr.out.csv" | awk -F, '{ s += $7 } END { print s }')" \
  $((300 + n429))

# --rate above what nginx allows: the cap still comes down, and says so.
: >"$d/access.log"
{ echo tenant_id; gen_tenants 300 19; } >"$TMP/thr2.csv"
"$QR" "$TMP/thr2.csv" --base-url "$NGINX_URL" -j 16 --rate 400 \
  -o "$TMP/thr2.out.csv" --no-progress 2>"$TMP/thr2.err"
check "--rate 400 against 100/s: exit code" "$?" 0
grep -q 'the API throttles (429): sending at most [0-9.]* requests/s' \
  "$TMP/thr2.err" && ok || fail "no log of the cut below --rate: $(cat "$TMP/thr2.err")"
check "--rate 400 against 100/s: 300 answers 200" \
  "$(requests "$d" | grep -c '^200 ')" 300

# --- 3. nginx closes each connection after 7 requests ---------------------
d=$TMP/close
start_nginx "$d" "keepalive_requests 7;
    location /v1/customers/ { $auth default_type application/json;
      try_files /body.json =500; }"
cp "$SRC/samples/bodies/doc-denied.json" "$d/www/body.json"
{ echo tenant_id; gen_tenants 200 23; } >"$TMP/close.csv"
"$QR" "$TMP/close.csv" --base-url "$NGINX_URL" -j 4 -o "$TMP/close.out.ndjson" \
  -q --no-progress
check "closing server: exit code" "$?" 0
check "closing server: 200 Denied rows" \
  "$(jq -r 'select(.vetting_status == "Denied" and .attempts == 1) | .tenant_id' \
    "$TMP/close.out.ndjson" | sort -u | wc -l)" 200
check "closing server: 200 requests in nginx's log" \
  "$(requests "$d" | grep -c '^200 ')" 200

finish
