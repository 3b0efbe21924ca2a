#!/usr/bin/env bash
# Token renewal mid-run, bad token -> exit 4 and no report, bad client
# secret -> exit 4 naming the client, secrets never in output.
source "$(dirname "$0")/lib.sh"

gen_tenants 240 31 >"$TMP/in.csv"
client=11111111-2222-3333-4444-555555555555
secret='s3cr3t&value=with+specials'

# App credentials, tokens that live 2 s, a run that lasts ~5 s.
PCSIM_CLIENT_SECRET=$secret start_pcsim --client-id $client --token-ttl 2 --latency-ms 80 --seed 2
PARTNER_CENTER_CLIENT_SECRET=$secret "$QR" "$TMP/in.csv" \
  --base-url "$PCSIM_URL" --authority "$PCSIM_URL" --tenant contoso.example \
  --client-id $client -j 4 -o "$TMP/out.csv" --no-progress -v \
  2>"$TMP/err"
rc=$?
check "renewal run exit code" "$rc" 0
check "renewal run rows" "$(tail -n +2 "$TMP/out.csv" | cut -d, -f1 | sort -u | wc -l)" 240
issued=$(stats | jq .tokens_issued)
[ "$issued" -ge 2 ] && ok || fail "tokens issued: $issued (want >= 2)"
grep -qF "$secret" "$TMP/err" "$TMP/out.csv" && fail "secret leaked" || ok
check "no Error rows" "$(grep -c ',Error,' "$TMP/out.csv")" 0

# Wrong client secret: exit 4, message names the client, no reports.
PARTNER_CENTER_CLIENT_SECRET=wrong "$QR" "$TMP/in.csv" \
  --base-url "$PCSIM_URL" --authority "$PCSIM_URL" --tenant contoso.example \
  --client-id $client -o "$TMP/bad.csv" -s "$TMP/bad-sum.csv" \
  --rejects "$TMP/bad-rej.csv" 2>"$TMP/err"
rc=$?
check "bad secret exit code" "$rc" 4
grep -q "$client" "$TMP/err" && ok || fail "message does not name the client: $(cat "$TMP/err")"
grep -q "wrong" "$TMP/err" && fail "secret in message" || ok
for f in bad.csv bad-sum.csv bad-rej.csv bad.csv.manifest.json; do
  [ -e "$TMP/$f" ] && fail "$f written after auth failure" || ok
done
stop_pcsim

# A ready token the API refuses: exit 4, no report.
start_pcsim --token right-token --seed 2
PARTNER_CENTER_TOKEN=wrong-token "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" \
  -o "$TMP/bad2.csv" 2>"$TMP/err"
check "bad token exit code" "$?" 4
[ -e "$TMP/bad2.csv" ] && fail "report written after 401" || ok
grep -q "wrong-token" "$TMP/err" && fail "token in message" || ok
check "no tmp files left" "$(ls -A "$TMP" | grep -c '\.tmp')" 0

# Token from a file.
printf 'right-token\n' >"$TMP/token"
env -u PARTNER_CENTER_TOKEN "$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" \
  --token-file "$TMP/token" -o "$TMP/ok.csv" -q 2>"$TMP/err"
check "token file exit code" "$?" 0
finish
