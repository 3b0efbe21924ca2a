#!/usr/bin/env bash
# App+User refresh tokens (--refresh-token-file) against pcsim's rotating
# identity platform: three runs in a row each rotating the token; a run
# killed with -9 after the platform rotated but before the answer
# arrived, and one killed after it wrote the new token, each followed by
# a run that authenticates; two concurrent runs on one file with no grace
# period for a used token (so a lost rotation would fail one of them);
# the refusals a person must act on (exit 4, no report, the next step).
source "$(dirname "$0")/lib.sh"

CID=11111111-2222-3333-4444-555555555555
TENANT=contoso.onmicrosoft.com
gen_tenants 20 17 >"$TMP/in.csv"
RT=$TMP/state/refresh-token
mkdir -p "$TMP/state"
R0="0.AXEA-seeded.refresh_token-$RANDOM$RANDOM$RANDOM"
printf '%s\n' "$R0" >"$RT"
chmod 600 "$RT"

# run FILE ARGS...: qualreport against pcsim with the refresh token FILE;
# exec'd, so that `run ... &` makes $! the PID of qualreport itself.
run() { (exec_run "$@"); }
exec_run() {
  local file=$1
  shift
  exec "$QR" --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
    --base-url "$PCSIM_URL" --refresh-token-file "$file" --no-progress "$@"
}
token_of() { grep -v '^#' "$1" | head -n 1; }
ident() { stats | jq -c ".identity | $1"; }

# ---- three runs in a row, each rotating ------------------------------
PCSIM_REFRESH_TOKEN=$R0 start_pcsim --client-id "$CID" --public-client \
  --refresh-grace-ms 0 --seed 4
seen=("$R0")
for i in 1 2 3; do
  run "$RT" "$TMP/in.csv" -o "$TMP/out$i.csv" -q 2>"$TMP/err$i"
  check "run $i exit code" "$?" 0
  check "run $i rows" "$(tail -n +2 "$TMP/out$i.csv" | cut -d, -f1 | sort -u | wc -l)" 20
  t=$(token_of "$RT")
  for s in "${seen[@]}"; do
    [ "$t" != "$s" ] && ok || fail "run $i did not rotate the token"
  done
  seen+=("$t")
  check "run $i mode" "$(stat -c %a "$RT")" 600
  check "run $i header" "$(head -n 1 "$RT")" \
    "# qualreport refresh token: a secret, keep it mode 0600"
  grep -q "^# client-id: $CID\$" "$RT" && ok || fail "run $i: no client-id line"
  grep -qE '^# rotated: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$RT" && ok \
    || fail "run $i: no rotated line"
done
check "three rotations, none refused" \
  "$(ident '[.refresh_rotations, .refresh_refused, .refresh_grace_uses]')" "[3,0,0]"
check "App+User scope" "$(ident .last_scope)" \
  '"https://api.partnercenter.microsoft.com/user_impersonation offline_access"'
check "no temporary files beside the token" "$(ls -A "$TMP/state" | tr '\n' ' ')" \
  "refresh-token "

# The first token is spent (no grace here): exit 4, the next step named,
# no report.
printf '%s\n' "$R0" >"$TMP/state/old"
chmod 600 "$TMP/state/old"
run "$TMP/state/old" "$TMP/in.csv" -o "$TMP/old.csv" -s "$TMP/old-sum.csv" 2>"$TMP/err"
check "spent token exit code" "$?" 4
msg=$(cat "$TMP/err")
[[ $msg == *"the refresh token in $TMP/state/old has expired"* ]] && ok || fail "no credential in: $msg"
[[ $msg == *"run qualreport login --tenant $TENANT --client-id $CID --refresh-token-file $TMP/state/old"* ]] \
  && ok || fail "no next step in: $msg"
[[ $msg == *"AADSTS700082"* && $msg == *"trace ID "* && $msg == *"correlation ID "* ]] \
  && ok || fail "no AADSTS code or IDs in: $msg"
[[ $msg != *"$R0"* ]] && ok || fail "the refresh token is in the message"
for f in old.csv old-sum.csv old.csv.manifest.json; do
  [ -e "$TMP/$f" ] && fail "$f written after an auth failure" || ok
done
stop_pcsim

# ---- kill -9 after the platform rotated, before the answer arrived -----
R3=$(token_of "$RT")
PCSIM_REFRESH_TOKEN=$R3 start_pcsim --client-id "$CID" --public-client \
  --refresh-grace-ms 120000 --token-delay-ms 2000 --seed 4
exec_run "$RT" "$TMP/in.csv" -o "$TMP/k1.csv" -q 2>"$TMP/k1.err" &
pid=$!
for _ in $(seq 1 200); do
  [ "$(ident .grants.refresh_token)" -ge 1 ] 2>/dev/null && break
  sleep 0.05
done
check "grant redeemed before the kill" "$(ident .refresh_rotations)" 1
kill -9 "$pid"
wait "$pid" 2>/dev/null
check "file unchanged by the killed run" "$(token_of "$RT")" "$R3"
[ -e "$TMP/k1.csv" ] && fail "killed run left a report" || ok
# The old token is on disk and still honoured: the next run works.
run "$RT" "$TMP/in.csv" -o "$TMP/k2.csv" -q 2>"$TMP/k2.err"
check "run after the kill exit code" "$?" 0
check "it used the grace period" "$(ident .refresh_grace_uses)" 1
[ "$(token_of "$RT")" != "$R3" ] && ok || fail "no rotation after the kill"
stop_pcsim

# ---- kill -9 after the new token was written --------------------------
R4=$(token_of "$RT")
PCSIM_REFRESH_TOKEN=$R4 start_pcsim --client-id "$CID" --public-client \
  --refresh-grace-ms 0 --latency-ms 400 --seed 4
ino=$(stat -c %i "$RT")
exec_run "$RT" "$TMP/in.csv" -o "$TMP/k3.csv" -j 1 -q 2>"$TMP/k3.err" &
pid=$!
for _ in $(seq 1 200); do
  [ "$(stat -c %i "$RT")" != "$ino" ] && break
  sleep 0.05
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
[ "$(stat -c %i "$RT")" != "$ino" ] && ok || fail "the token was not rotated before the kill"
[ "$(token_of "$RT")" != "$R4" ] && ok || fail "the file still holds the spent token"
run "$RT" "$TMP/in.csv" -o "$TMP/k4.csv" -q 2>"$TMP/k4.err"
check "run after the second kill exit code" "$?" 0
check "no refusals" "$(ident .refresh_refused)" 0
check "no temporary files after the kills" "$(ls -A "$TMP/state" | grep -vc '^refresh-token$\|^old$')" 0
stop_pcsim

# ---- two concurrent runs on one file ------------------------------------
# No grace: had both redeemed the same token, one would be refused.
R5=$(token_of "$RT")
PCSIM_REFRESH_TOKEN=$R5 start_pcsim --client-id "$CID" --public-client \
  --refresh-grace-ms 0 --token-delay-ms 400 --seed 4
run "$RT" "$TMP/in.csv" -o "$TMP/c1.csv" -q 2>"$TMP/c1.err" &
p1=$!
run "$RT" "$TMP/in.csv" -o "$TMP/c2.csv" -q 2>"$TMP/c2.err" &
p2=$!
wait "$p1"; r1=$?
wait "$p2"; r2=$?
check "concurrent run 1 exit code" "$r1" 0
check "concurrent run 2 exit code" "$r2" 0
check "two rotations, none lost" \
  "$(ident '[.refresh_rotations, .refresh_refused]')" "[2,0]"
cat "$TMP/c1.err" "$TMP/c2.err" | grep -v 'waiting for another run' | grep . \
  && fail "messages from the concurrent runs" || ok
# The file holds the newest token: it works.
run "$RT" "$TMP/in.csv" -o "$TMP/c3.csv" -q 2>"$TMP/c3.err"
check "run after the concurrent ones" "$?" 0
stop_pcsim

# ---- refusals a person must act on ---------------------------------------
# want CODE TEXT: with --aad-error CODE the run exits 4, writes nothing,
# and its message names the file and says TEXT.
want() {
  local code=$1 text=$2 msg
  PCSIM_REFRESH_TOKEN=$(token_of "$RT") start_pcsim --client-id "$CID" \
    --public-client --aad-error "$code"
  run "$RT" "$TMP/in.csv" -o "$TMP/e$code.csv" 2>"$TMP/e$code.err"
  check "AADSTS$code exit code" "$?" 4
  msg=$(cat "$TMP/e$code.err")
  [[ $msg == *"$text"* && $msg == *"AADSTS$code"* ]] && ok \
    || fail "AADSTS$code: '$text' not in: $msg"
  [[ $msg == *"qualreport login"* ]] && ok || fail "AADSTS$code: no next step: $msg"
  # The platform's description, trace and correlation IDs are logged.
  grep -qE "warning: the identity platform at $PCSIM_URL/$TENANT/oauth2/v2.0/token refused the request: AADSTS$code: .* \[trace ID [0-9a-f-]{36}, correlation ID [0-9a-f-]{36}\]" \
    <<<"$msg" && ok || fail "AADSTS$code: description not logged: $msg"
  [ -e "$TMP/e$code.csv" ] && fail "AADSTS$code: report written" || ok
  stop_pcsim
}
want 700082 "the refresh token in $RT has expired"
want 65001 "client $CID has no consent for Partner Center in tenant $TENANT"
want 50076 "multi-factor authentication is required for the user of the refresh token in $RT"
want 50078 "the multi-factor authentication behind the refresh token in $RT has expired"
want 700007 "the refresh token in $RT was issued to another client ID than $CID"
want 50173 "the refresh token in $RT was revoked when the user's password changed"

# A file that names another client is refused before any request.
sed "s/^# client-id: .*/# client-id: 99999999-0000-0000-0000-000000000000/" "$RT" >"$TMP/state/other"
chmod 600 "$TMP/state/other"
PCSIM_REFRESH_TOKEN=x start_pcsim --client-id "$CID" --public-client
run "$TMP/state/other" "$TMP/in.csv" -o "$TMP/o.csv" 2>"$TMP/err"
check "other client's file exit code" "$?" 4
grep -q "was issued to client 99999999-0000-0000-0000-000000000000, not $CID" "$TMP/err" \
  && ok || fail "other client: $(cat "$TMP/err")"
check "no request for it" "$(ident .grants.refresh_token)" 0
# Missing file: exit 4 with the login command.
run "$TMP/state/missing" "$TMP/in.csv" -o "$TMP/m.csv" 2>"$TMP/err"
check "missing file exit code" "$?" 4
grep -q "run qualreport login --refresh-token-file $TMP/state/missing once" "$TMP/err" \
  && ok || fail "missing file: $(cat "$TMP/err")"
# A confidential app without its secret: the platform says so, we say how.
stop_pcsim
PCSIM_CLIENT_SECRET=app-s3cret PCSIM_REFRESH_TOKEN=$(token_of "$RT") \
  start_pcsim --client-id "$CID"
env -u PARTNER_CENTER_CLIENT_SECRET "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --refresh-token-file "$RT" \
  "$TMP/in.csv" -o "$TMP/p.csv" 2>"$TMP/err"
check "confidential app without a secret" "$?" 4
grep -q "client $CID is a confidential app: give its secret" "$TMP/err" \
  && ok || fail "no secret: $(cat "$TMP/err")"
PARTNER_CENTER_CLIENT_SECRET=app-s3cret "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --refresh-token-file "$RT" \
  "$TMP/in.csv" -o "$TMP/p.csv" -q --token-endpoint v1 2>"$TMP/err"
check "confidential app with its secret, v1 endpoint" "$?" 0
check "v1 resource" "$(ident .last_scope)" '"https://api.partnercenter.microsoft.com"'
stop_pcsim
finish
