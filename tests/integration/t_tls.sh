#!/usr/bin/env bash
# TLS: verification is always on (a server whose CA is unknown is refused,
# with the reason in the rows), and --cacert trusts a private CA for both
# the API and the token authority.
source "$(dirname "$0")/lib.sh"
cd "$TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout ca.key -out ca.pem -days 2 -subj "/CN=qualreport test CA" \
  2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout server.key -out server.csr -subj /CN=127.0.0.1 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
  -out server.pem -days 2 -extfile san.ext 2>/dev/null
[ -s server.pem ] || { echo "cannot make a test certificate"; exit 1; }
gen_tenants 20 51 >"$TMP/in.csv"

client=22222222-3333-4444-5555-666666666666
PCSIM_CLIENT_SECRET=tls-secret start_pcsim --tls-cert server.pem \
  --tls-key server.key --token tls-token --client-id $client --seed 3
[[ "$PCSIM_URL" == https://* ]] && ok || fail "pcsim URL $PCSIM_URL"

# Unknown CA: every tenant fails with the certificate problem, exit 1.
PARTNER_CENTER_TOKEN=tls-token "$QR" in.csv --base-url "$PCSIM_URL" \
  -o untrusted.csv -q --retries 1
check "untrusted server: exit code" "$?" 1
check "untrusted server: Error rows" "$(grep -c ',Error,' untrusted.csv)" 20
grep -qi "certificate" untrusted.csv && ok || fail "reason: $(sed -n 2p untrusted.csv)"
check "untrusted server: nothing reached the API" \
  "$(curl -sf --cacert ca.pem "$PCSIM_URL/stats" | jq '.by_status."200" // 0')" 0

# The private CA via --cacert: a ready token, then app credentials.
PARTNER_CENTER_TOKEN=tls-token "$QR" in.csv --base-url "$PCSIM_URL" \
  --cacert ca.pem -o trusted.csv -q
check "trusted server: exit code" "$?" 0
check "trusted server: tenants" "$(tail -n +2 trusted.csv | cut -d, -f1 | uniq | wc -l)" 20
PARTNER_CENTER_CLIENT_SECRET=tls-secret "$QR" in.csv --base-url "$PCSIM_URL" \
  --authority "$PCSIM_URL" --tenant contoso.example --client-id $client \
  --cacert ca.pem -o app.csv -q
check "app credentials over TLS: exit code" "$?" 0
# Without --cacert the token request itself fails: exit 4, no report.
PARTNER_CENTER_CLIENT_SECRET=tls-secret "$QR" in.csv --base-url "$PCSIM_URL" \
  --authority "$PCSIM_URL" --tenant contoso.example --client-id $client \
  -o app2.csv 2>err
check "untrusted authority: exit code" "$?" 4
[ -e app2.csv ] && fail "report written" || ok
grep -qi "certificate" err && ok || fail "authority message: $(cat err)"
finish
