#!/usr/bin/env bash
# qualreport login: the device-code flow against pcsim — approved after K
# polls (the file written mode 0600 and then used by a run), declined,
# expired, slowed down (RFC 8628: +5 s, never polling early); login
# --check (works, rotates, says when; refused after a password change);
# usage errors. And --cloud: which hosts a run would talk to, seen by a
# local proxy that answers nothing (no request leaves the machine).
source "$(dirname "$0")/lib.sh"

CID=11111111-2222-3333-4444-555555555555
TENANT=contoso.onmicrosoft.com
RT=$TMP/state/refresh-token
mkdir -p "$TMP/state"
gen_tenants 5 29 >"$TMP/in.csv"

login() {
  "$QR" login --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
    "$@"
}
ident() { stats | jq -c ".identity | $1"; }

# ---- approved after two polls ---------------------------------------------
start_pcsim --client-id "$CID" --public-client --device-interval 1 \
  --device-approve-after 2
login --refresh-token-file "$RT" >"$TMP/out" 2>"$TMP/err"
check "approved login exit code" "$?" 0
grep -q "^To sign in, open $PCSIM_URL/devicelogin in a browser and enter the code [A-Z2-9]\{9\}$" "$TMP/err" \
  && ok || fail "no sign-in instructions: $(cat "$TMP/err")"
grep -q "signed in: the refresh token is in $RT (mode 0600)" "$TMP/err" && ok \
  || fail "no success line: $(cat "$TMP/err")"
check "nothing on stdout" "$(cat "$TMP/out")" ""
check "file mode" "$(stat -c %a "$RT")" 600
check "file header" "$(sed -n 's/^# client-id: //p; s/^# tenant: //p' "$RT" | tr '\n' ' ')" \
  "$CID $TENANT "
check "polls: pending then approved, none early" \
  "$(ident '[.device_codes, .device_polls, .device_approved, .device_early_polls]')" "[1,2,1,0]"
token=$(grep -v '^#' "$RT")
check "token length" "${#token}" 64
grep -qF "$token" "$TMP/err" "$TMP/out" && fail "token printed" || ok
# The stored token works for a run (and is rotated by it).
"$QR" --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
  --base-url "$PCSIM_URL" --refresh-token-file "$RT" "$TMP/in.csv" \
  -o "$TMP/run.csv" -q 2>"$TMP/err"
check "run with the login's token" "$?" 0
[ "$(grep -v '^#' "$RT")" != "$token" ] && ok || fail "run did not rotate"

# ---- login --check ------------------------------------------------------------
before=$(grep -v '^#' "$RT")
login --check --refresh-token-file "$RT" >"$TMP/out" 2>"$TMP/err"
check "check exit code" "$?" 0
grep -qE "^the refresh token in $RT works \(client $CID, tenant $TENANT\); it had last been rotated [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z \(0 days ago\) and was rotated again now$" \
  "$TMP/out" && ok || fail "check output: $(cat "$TMP/out")"
after=$(grep -v '^#' "$RT")
[ "$after" != "$before" ] && ok || fail "check did not write the rotated token"
grep -qF "$before" "$TMP/out" "$TMP/err" && fail "check printed the old token" || ok
grep -qF "$after" "$TMP/out" "$TMP/err" && fail "check printed the new token" || ok
# A file holding just the token (no header): the mtime stands in.
grep -v '^#' "$RT" >"$TMP/state/bare"
chmod 600 "$TMP/state/bare"
touch -d '2026-01-02 03:04:05 UTC' "$TMP/state/bare"
login --check --refresh-token-file "$TMP/state/bare" >"$TMP/out" 2>"$TMP/err"
check "check of a bare token exit code" "$?" 0
grep -q "last been rotated 2026-01-02T03:04:05Z (.* ago, from the file's mtime)" "$TMP/out" \
  && ok || fail "bare check: $(cat "$TMP/out")"
stop_pcsim

# Revoked after a password change: exit 4, the next step.
PCSIM_REFRESH_TOKEN=$(grep -v '^#' "$RT") start_pcsim --client-id "$CID" \
  --public-client --aad-error 50173
login --check --refresh-token-file "$RT" >"$TMP/out" 2>"$TMP/err"
check "check of a revoked token exit code" "$?" 4
grep -q "was revoked when the user's password changed: run qualreport login --tenant $TENANT --client-id $CID --refresh-token-file $RT" \
  "$TMP/err" && ok || fail "revoked check: $(cat "$TMP/err")"
check "check prints nothing on failure" "$(cat "$TMP/out")" ""
stop_pcsim

# ---- declined, expired --------------------------------------------------------
for mode in decline expire; do
  start_pcsim --client-id "$CID" --public-client --device-interval 1 \
    --device-mode "$mode" --device-approve-after 2
  login --refresh-token-file "$TMP/state/$mode" >"$TMP/out" 2>"$TMP/err"
  check "$mode login exit code" "$?" 4
  [ -e "$TMP/state/$mode" ] && fail "$mode: a file was written" || ok
  stop_pcsim
done
grep -q "the sign-in code expired before the sign-in was completed: run qualreport login again" \
  "$TMP/err" && ok || fail "expired: $(cat "$TMP/err")"
start_pcsim --client-id "$CID" --public-client --device-interval 1 \
  --device-mode decline --device-approve-after 1
login --refresh-token-file "$TMP/state/d" 2>"$TMP/err"
grep -q "the sign-in was declined: nothing was written to $TMP/state/d" "$TMP/err" \
  && ok || fail "declined: $(cat "$TMP/err")"
stop_pcsim
# The code's own lifetime ends the wait even if the platform never says.
start_pcsim --client-id "$CID" --public-client --device-interval 1 \
  --device-expires-in 2 --device-approve-after 100
login --refresh-token-file "$TMP/state/late" 2>"$TMP/err"
check "lifetime over exit code" "$?" 4
grep -q "expired" "$TMP/err" && ok || fail "late: $(cat "$TMP/err")"
stop_pcsim

# ---- slow_down: 5 s more, and no early poll ----------------------------------
start_pcsim --client-id "$CID" --public-client --device-interval 1 \
  --device-mode slow_down --device-approve-after 2
login --refresh-token-file "$TMP/state/slow" 2>"$TMP/err"
check "slowed-down login exit code" "$?" 0
check "slow_down honoured" "$(ident '[.device_polls, .device_early_polls, .device_approved]')" \
  "[2,0,1]"
stop_pcsim

# ---- a confidential app: its secret goes with every poll --------------------
PCSIM_CLIENT_SECRET=app-s3cret start_pcsim --client-id "$CID" --device-interval 1 \
  --device-approve-after 1
env -u PARTNER_CENTER_CLIENT_SECRET "$QR" login --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --refresh-token-file "$TMP/state/conf" 2>"$TMP/err"
check "confidential login without its secret" "$?" 4
grep -q "client $CID is a confidential app: give its secret" "$TMP/err" && ok \
  || fail "no secret: $(cat "$TMP/err")"
PARTNER_CENTER_CLIENT_SECRET=app-s3cret login --refresh-token-file "$TMP/state/conf" 2>"$TMP/err"
check "confidential login with its secret" "$?" 0
check "its file" "$(stat -c %a "$TMP/state/conf")" 600
grep -q "app-s3cret" "$TMP/err" "$TMP/state/conf" && fail "secret leaked" || ok
stop_pcsim

# ---- usage -------------------------------------------------------------------------
"$QR" login --tenant "$TENANT" --client-id "$CID" 2>"$TMP/err"
check "login without a file" "$?" 2
grep -q "qualreport login needs --refresh-token-file PATH" "$TMP/err" && ok || fail "$(cat "$TMP/err")"
"$QR" login --refresh-token-file "$RT" 2>"$TMP/err"
check "login without tenant" "$?" 2
"$QR" login --tenant "$TENANT" --client-id "$CID" --refresh-token-file "$RT" "$TMP/in.csv" 2>"$TMP/err"
check "login with an input" "$?" 2
"$QR" --check "$TMP/in.csv" 2>"$TMP/err"
check "--check without login" "$?" 2
grep -q -- "--check only works with qualreport login" "$TMP/err" && ok || fail "$(cat "$TMP/err")"

# ---- --cloud: the hosts it selects ---------------------------------------------
# connect_host ARGS...: run qualreport with ARGS through a proxy that
# writes down the CONNECT line it gets, then hangs up; print that line.
connect_host() {
  local log=$TMP/proxy.$RANDOM port=
  python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); line = c.recv(4096).split(b"\r\n")[0]
open(sys.argv[1], "wb").write(line); c.close()
' "$log.line" >"$log.port" &
  SERVER_PIDS+=("$!")
  for _ in $(seq 1 100); do
    port=$(cat "$log.port" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.05
  done
  https_proxy=http://127.0.0.1:$port HTTPS_PROXY=http://127.0.0.1:$port \
    "$QR" "$@" "$TMP/in.csv" -o "$TMP/cloud.csv" --retries 0 --timeout 5 \
    2>/dev/null
  sed 's/ HTTP.*//' "$log.line"
}
app=(--tenant "$TENANT" --client-id "$CID")
export PARTNER_CENTER_CLIENT_SECRET=s
check "global authority" "$(connect_host "${app[@]}")" "CONNECT login.microsoftonline.com:443"
check "usgov authority" "$(connect_host "${app[@]}" --cloud usgov)" \
  "CONNECT login.microsoftonline.us:443"
check "china authority" "$(connect_host "${app[@]}" --cloud china)" \
  "CONNECT login.chinacloudapi.cn:443"
unset PARTNER_CENTER_CLIENT_SECRET
# A ready token goes straight to the API root.
check "usgov API root" "$(PARTNER_CENTER_TOKEN=t connect_host --cloud usgov)" \
  "CONNECT api.partnercenter.microsoft.com:443"
check "china API root" "$(PARTNER_CENTER_TOKEN=t connect_host --cloud china)" \
  "CONNECT partner.partnercenterapi.microsoftonline.cn:443"
# Explicit --authority and --base-url win over --cloud; the scope is
# still the cloud's.
PCSIM_REFRESH_TOKEN=cloud-refresh-token-0 start_pcsim --client-id "$CID" --public-client
printf 'cloud-refresh-token-0\n' >"$TMP/state/cloud"
chmod 600 "$TMP/state/cloud"
"$QR" --cloud china --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
  --base-url "$PCSIM_URL" --refresh-token-file "$TMP/state/cloud" "$TMP/in.csv" \
  -o "$TMP/cn.csv" -q 2>"$TMP/err"
check "china with explicit URLs exit code" "$?" 0
check "china scope" "$(ident .last_scope)" \
  '"https://partner.partnercenterapi.microsoftonline.cn/user_impersonation offline_access"'
"$QR" --cloud mars "$TMP/in.csv" 2>"$TMP/err"
check "unknown cloud" "$?" 2
grep -q -- "--cloud: 'mars' is not global, usgov or china" "$TMP/err" && ok || fail "$(cat "$TMP/err")"
stop_pcsim
finish
