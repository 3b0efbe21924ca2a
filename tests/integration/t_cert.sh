#!/usr/bin/env bash
# Certificate credentials (--client-cert) against pcsim, which validates
# each client assertion with the certificate it was given: PS256 and
# RS256, renewals each with a fresh assertion (pcsim refuses a replayed
# jti), the v1 endpoint (aud is the URL posted to), App+User with a
# certificate; refusals: a certificate the tenant does not know, an
# expired or not-yet-valid one (exit 4 before any request), a key of
# another certificate, an encrypted key without its passphrase.
source "$(dirname "$0")/lib.sh"

CID=11111111-2222-3333-4444-555555555555
TENANT=contoso.onmicrosoft.com
gen_tenants 30 23 >"$TMP/in.csv"
C=$TMP/certs
mkdir -p "$C/db"
touch "$C/db/index"
echo 01 >"$C/db/serial"
cat >"$C/ca.cnf" <<'CNF'
[ca]
default_ca = c
[c]
database = db/index
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
CNF

# selfsigned NAME START END: NAME.key and NAME.crt valid START..END
# (YYYYMMDDHHMMSSZ), and NAME.pem with both.
selfsigned() {
  (cd "$C" &&
   openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$1.key" \
     -out "$1.csr" 2>/dev/null &&
   openssl ca -batch -config ca.cnf -selfsign -keyfile "$1.key" -in "$1.csr" \
     -startdate "$2" -enddate "$3" -out "$1.crt" >/dev/null 2>&1 &&
   cat "$1.crt" "$1.key" >"$1.pem" && chmod 600 "$1.key" "$1.pem") \
    || { echo "FAIL: cannot make certificate $1"; exit 1; }
}
now=$(date -u +%Y%m%d%H%M%SZ)
selfsigned app 20200101000000Z 20991231000000Z
selfsigned other 20200101000000Z 20991231000000Z
selfsigned expired 20200101000000Z 20200201000000Z
selfsigned future 20990101000000Z 20991231000000Z

run() {
  "$QR" --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
    --base-url "$PCSIM_URL" --no-progress "$@"
}
ident() { stats | jq -c ".identity | $1"; }

# ---- PS256 (the default), renewed with a fresh assertion each time -------
start_pcsim --client-id "$CID" --client-cert "$C/app.crt" --token-ttl 2 \
  --latency-ms 150 --record-assertions "$TMP/assertions" --seed 5
env -u PARTNER_CENTER_CLIENT_SECRET "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --no-progress \
  --client-cert "$C/app.pem" "$TMP/in.csv" -j 2 -o "$TMP/ps.csv" -v 2>"$TMP/ps.err"
check "PS256 run exit code" "$?" 0
check "PS256 rows" "$(tail -n +2 "$TMP/ps.csv" | cut -d, -f1 | sort -u | wc -l)" 30
n=$(ident .assertions_ok)
[ "$n" -ge 2 ] && ok || fail "assertions accepted: $n (want >= 2: renewed)"
check "none refused, none replayed" "$(ident '[.assertions_refused, .assertion_replays]')" "[0,0]"
check "every assertion distinct" "$(sort "$TMP/assertions" | uniq -d | wc -l)" 0
check "recorded assertions" "$(wc -l <"$TMP/assertions")" "$n"
# b64url_decode: base64url on stdin (no padding) -> bytes.
b64url_decode() {
  local s
  s=$(tr '_-' '/+')
  while [ $((${#s} % 4)) != 0 ]; do s="$s="; done
  base64 -d <<<"$s"
}
header=$(head -n 1 "$TMP/assertions" | cut -d. -f1 | b64url_decode)
check "PS256 header" "$(jq -c '[.alg, .typ, (."x5t#S256" | length), has("x5t")]' <<<"$header")" \
  '["PS256","JWT",43,false]'
check "app-only scope" "$(ident .last_scope)" '"https://api.partnercenter.microsoft.com/.default"'
# The assertion, its signature and the key are nowhere in what the run left.
while read -r a; do
  grep -qF "$a" "$TMP/ps.err" "$TMP/ps.csv" "$TMP/ps.csv.manifest.json" \
    && fail "an assertion leaked" || ok
  grep -qF "${a##*.}" "$TMP/ps.err" "$TMP/ps.csv" "$TMP/ps.csv.manifest.json" \
    && fail "an assertion's signature leaked" || ok
done < <(head -n 3 "$TMP/assertions")
grep -q "PRIVATE KEY" "$TMP/ps.err" && fail "key material in the log" || ok
stop_pcsim

# ---- RS256 with x5t; a separate key file; the v1 endpoint -----------------
start_pcsim --client-id "$CID" --client-cert "$C/app.crt" --seed 5
run --client-cert "$C/app.crt" --client-key "$C/app.key" \
  --client-assertion-alg RS256 "$TMP/in.csv" -o "$TMP/rs.csv" -q 2>"$TMP/err"
check "RS256 run exit code" "$?" 0
run --client-cert "$C/app.pem" --token-endpoint v1 "$TMP/in.csv" \
  -o "$TMP/v1.csv" -q 2>"$TMP/err"
check "v1 endpoint run exit code (aud = the v1 URL)" "$?" 0
check "v1 resource" "$(ident .last_scope)" '"https://api.partnercenter.microsoft.com"'
check "assertions" "$(ident '[.assertions_ok, .assertions_refused]')" "[2,0]"

# ---- refusals ----------------------------------------------------------------
# The tenant knows another certificate: exit 4 naming ours and its
# thumbprint, and what to do.
thumb=$(openssl x509 -in "$C/other.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
run --client-cert "$C/other.pem" "$TMP/in.csv" -o "$TMP/x.csv" 2>"$TMP/err"
check "unknown certificate exit code" "$?" 4
grep -q "the certificate $C/other.pem (thumbprint $thumb) is not registered for client $CID: upload it" "$TMP/err" \
  && ok || fail "unknown certificate: $(cat "$TMP/err")"
grep -q "AADSTS700027" "$TMP/err" && ok || fail "no AADSTS700027: $(cat "$TMP/err")"
[ -e "$TMP/x.csv" ] && fail "report after a refused certificate" || ok
stop_pcsim

# Expired and not yet valid: refused before any request (exit 4).
start_pcsim --client-id "$CID" --client-cert "$C/expired.crt"
run --client-cert "$C/expired.pem" "$TMP/in.csv" -o "$TMP/x.csv" 2>"$TMP/err"
check "expired certificate exit code" "$?" 4
grep -q "certificate $C/expired.pem (thumbprint [0-9A-F]\{40\}) expired on 2020-02-01T00:00:00Z" "$TMP/err" \
  && ok || fail "expired: $(cat "$TMP/err")"
run --client-cert "$C/future.pem" "$TMP/in.csv" -o "$TMP/x.csv" 2>"$TMP/err"
check "future certificate exit code" "$?" 4
grep -q "is not valid before 2099-01-01T00:00:00Z" "$TMP/err" && ok \
  || fail "future: $(cat "$TMP/err")"
check "no token request for them" "$(stats | jq '.identity.grants.client_credentials')" 0
stop_pcsim

# A key that is not the certificate's; an encrypted key.
start_pcsim --client-id "$CID" --client-cert "$C/app.crt"
run --client-cert "$C/app.crt" --client-key "$C/other.key" "$TMP/in.csv" \
  -o "$TMP/x.csv" 2>"$TMP/err"
check "mismatched key exit code" "$?" 2
grep -q "the private key in $C/other.key does not belong to the certificate in $C/app.crt" \
  "$TMP/err" && ok || fail "mismatch: $(cat "$TMP/err")"
pass='correct horse battery'
openssl pkcs8 -topk8 -in "$C/app.key" -out "$C/enc.key" -v2 aes-256-cbc \
  -passout "pass:$pass" 2>/dev/null
chmod 600 "$C/enc.key"
env -u PARTNER_CENTER_KEY_PASSPHRASE "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --client-cert "$C/app.crt" \
  --client-key "$C/enc.key" "$TMP/in.csv" -o "$TMP/x.csv" 2>"$TMP/err"
check "encrypted key without passphrase exit code" "$?" 2
grep -q "the private key in $C/enc.key is encrypted: give its passphrase in a file with --client-key-passphrase-file or in PARTNER_CENTER_KEY_PASSPHRASE" \
  "$TMP/err" && ok || fail "encrypted: $(cat "$TMP/err")"
printf '%s\n' "$pass" >"$C/pass"
chmod 600 "$C/pass"
run --client-cert "$C/app.crt" --client-key "$C/enc.key" \
  --client-key-passphrase-file "$C/pass" "$TMP/in.csv" -o "$TMP/e1.csv" -q 2>"$TMP/err"
check "passphrase from a file" "$?" 0
PARTNER_CENTER_KEY_PASSPHRASE=$pass run --client-cert "$C/app.crt" \
  --client-key "$C/enc.key" "$TMP/in.csv" -o "$TMP/e2.csv" -q 2>"$TMP/err"
check "passphrase from the environment" "$?" 0
PARTNER_CENTER_KEY_PASSPHRASE=wrong run --client-cert "$C/app.crt" \
  --client-key "$C/enc.key" "$TMP/in.csv" -o "$TMP/x.csv" 2>"$TMP/err"
check "wrong passphrase exit code" "$?" 2
grep -q "cannot decrypt the private key in $C/enc.key: wrong passphrase" "$TMP/err" \
  && ok || fail "wrong passphrase: $(cat "$TMP/err")"
grep -q "$pass" "$TMP"/*.err "$TMP/err" && fail "passphrase in a log" || ok
stop_pcsim

# ---- App+User with a certificate (a confidential app's refresh grant) -------
R0="0.AXEA-cert-refresh-$RANDOM$RANDOM"
printf '%s\n' "$R0" >"$TMP/rt"
chmod 600 "$TMP/rt"
PCSIM_REFRESH_TOKEN=$R0 start_pcsim --client-id "$CID" --client-cert "$C/app.crt"
run --client-cert "$C/app.pem" --refresh-token-file "$TMP/rt" "$TMP/in.csv" \
  -o "$TMP/au.csv" -q 2>"$TMP/err"
check "App+User with a certificate exit code" "$?" 0
check "rotated, by assertion" "$(ident '[.refresh_rotations, .assertions_ok]')" "[1,1]"
[ "$(grep -v '^#' "$TMP/rt")" != "$R0" ] && ok || fail "not rotated"
stop_pcsim

# Usage errors before anything is read.
run --client-key "$C/app.key" "$TMP/in.csv" 2>"$TMP/err"
check "--client-key alone" "$?" 2
grep -q -- "--client-key needs --client-cert" "$TMP/err" && ok || fail "$(cat "$TMP/err")"
run --client-cert "$C/app.pem" --client-assertion-alg ES256 "$TMP/in.csv" 2>"$TMP/err"
check "bad --client-assertion-alg" "$?" 2
grep -q -- "--client-assertion-alg: 'ES256' is not PS256 or RS256" "$TMP/err" && ok \
  || fail "$(cat "$TMP/err")"
finish
