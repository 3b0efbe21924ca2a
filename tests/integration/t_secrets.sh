#!/usr/bin/env bash
# No secret, token or assertion leaves qualreport where others can see it:
# runs with a known client secret, refresh token, certificate key and key
# passphrase, at debug verbosity, with every output (detail, summary,
# rejects, journal, manifest). While each run is in flight its argv
# (/proc/PID/cmdline) is read; afterwards its log, every report and every
# file it created are searched for each secret, each refresh token the
# file held, and each assertion pcsim received and its signature part.
# The refresh-token file is the only file holding a secret, mode 0600.
source "$(dirname "$0")/lib.sh"

CID=11111111-2222-3333-4444-555555555555
TENANT=contoso.onmicrosoft.com
SECRET='Xq8~client.s3cret-known_to-the_test'
PASS='key passphrase known to the test'
R0="0.AXEA-known.refresh_token-$RANDOM$RANDOM$RANDOM"
OUT=$TMP/out
mkdir -p "$OUT" "$TMP/state" "$TMP/keys"
gen_tenants 60 41 >"$TMP/in.csv"
printf 'not-a-guid\n' >>"$TMP/in.csv"

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=app -days 2 \
  -keyout "$TMP/keys/plain.key" -out "$TMP/keys/app.crt" 2>/dev/null
openssl pkcs8 -topk8 -in "$TMP/keys/plain.key" -out "$TMP/keys/app.key" \
  -v2 aes-256-cbc -passout "pass:$PASS" 2>/dev/null
printf '%s\n' "$PASS" >"$TMP/keys/pass"
chmod 600 "$TMP/keys/"*
KEYLINE=$(sed -n 2p "$TMP/keys/plain.key")   # a line of key material
printf '%s\n' "$R0" >"$TMP/state/rt"
chmod 600 "$TMP/state/rt"
touch "$TMP/start"

# watch_argv PID NAME: sample /proc/PID/cmdline while the run lasts.
watch_argv() {
  local pid=$1 name=$2
  while kill -0 "$pid" 2>/dev/null; do
    tr '\0' ' ' <"/proc/$pid/cmdline" >>"$TMP/argv.$name" 2>/dev/null
    echo >>"$TMP/argv.$name"
    sleep 0.05
  done
}

tokens=("$R0")
# 1. App+User, confidential app with a client secret; tokens renewed
#    (ttl 2 s) so several grants rotate the file mid-run.
PCSIM_CLIENT_SECRET=$SECRET PCSIM_REFRESH_TOKEN=$R0 start_pcsim \
  --client-id "$CID" --token-ttl 2 --latency-ms 100 --refresh-grace-ms 60000
PARTNER_CENTER_CLIENT_SECRET=$SECRET "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --no-progress -v -j 2 \
  --refresh-token-file "$TMP/state/rt" "$TMP/in.csv" -o "$OUT/secret.csv" \
  -s "$OUT/secret-summary.ndjson" --rejects "$OUT/secret-rejects.csv" \
  --journal "$TMP/state/secret.journal" 2>"$OUT/secret.log" &
pid=$!
watch_argv "$pid" secret &
wpid=$!
while kill -0 "$pid" 2>/dev/null; do
  t=$(grep -v '^#' "$TMP/state/rt")
  [ "$t" != "${tokens[-1]}" ] && tokens+=("$t")
  sleep 0.05
done
wait "$pid"
check "secret run exit code" "$?" 0
wait "$wpid"
tokens+=("$(grep -v '^#' "$TMP/state/rt")")
n=$(stats | jq .identity.refresh_rotations)
[ "$n" -ge 2 ] && ok || fail "refresh grants: $n (want >= 2)"
stop_pcsim

# 2. App+User with a certificate whose key is encrypted (passphrase from
#    a file), assertions recorded by pcsim.
PCSIM_REFRESH_TOKEN=$(grep -v '^#' "$TMP/state/rt") start_pcsim \
  --client-id "$CID" --client-cert "$TMP/keys/app.crt" --token-ttl 2 \
  --latency-ms 100 --record-assertions "$TMP/assertions"
"$QR" --tenant "$TENANT" --client-id "$CID" --authority "$PCSIM_URL" \
  --base-url "$PCSIM_URL" --no-progress -v -j 2 --client-cert "$TMP/keys/app.crt" \
  --client-key "$TMP/keys/app.key" --client-key-passphrase-file "$TMP/keys/pass" \
  --refresh-token-file "$TMP/state/rt" "$TMP/in.csv" -o "$OUT/cert.ndjson.gz" \
  -s "$OUT/cert-summary.csv" --rejects "$OUT/cert-rejects.csv" \
  --journal "$TMP/state/cert.journal" 2>"$OUT/cert.log" &
pid=$!
watch_argv "$pid" cert
wait "$pid"
check "certificate run exit code" "$?" 0
tokens+=("$(grep -v '^#' "$TMP/state/rt")")
n=$(wc -l <"$TMP/assertions")
[ "$n" -ge 2 ] && ok || fail "assertions: $n (want >= 2)"
stop_pcsim

# 3. App-only with the secret (client credentials).
PCSIM_CLIENT_SECRET=$SECRET start_pcsim --client-id "$CID" --latency-ms 50
PARTNER_CENTER_CLIENT_SECRET=$SECRET "$QR" --tenant "$TENANT" --client-id "$CID" \
  --authority "$PCSIM_URL" --base-url "$PCSIM_URL" --no-progress -v \
  "$TMP/in.csv" -o "$OUT/app.csv" 2>"$OUT/app.log" &
pid=$!
watch_argv "$pid" app
wait "$pid"
check "app-only run exit code" "$?" 0
stop_pcsim

# ---- what must not be anywhere ----------------------------------------------
needles=("$SECRET" "$PASS" "$KEYLINE" "${tokens[@]}")
while read -r a; do
  needles+=("$a" "${a##*.}")
done <"$TMP/assertions"
# Controls: argv was really sampled, and the search finds what is there.
check "runs watched" "$(cat "$TMP"/argv.* | grep -c -- '--refresh-token-file' | awk '{print ($1 > 2)}')" 1
grep -qF -- "${tokens[-1]}" "$TMP/state/rt" && ok || fail "the search does not find the token"
check "distinct refresh tokens seen" "$(printf '%s\n' "${tokens[@]}" | sort -u | wc -l | awk '{print ($1 >= 4)}')" 1
# Every file the runs created or changed (reports, logs, journals, the
# manifests, the rotated token file), and argv.
find "$OUT" "$TMP/state" -type f -newer "$TMP/start" | sort >"$TMP/files"
[ "$(wc -l <"$TMP/files")" -ge 15 ] && ok || fail "only $(wc -l <"$TMP/files") files to search"
leaks=0
for f in $(cat "$TMP/files") "$TMP"/argv.*; do
  [ "$f" = "$TMP/state/rt" ] && continue
  for s in "${needles[@]}"; do
    [ -n "$s" ] || continue
    if [[ $f == *.gz ]]; then
      zcat "$f" | grep -qF -- "$s" && { fail "secret in $f"; leaks=$((leaks + 1)); }
    else
      grep -qF -- "$s" "$f" && { fail "secret in $f"; leaks=$((leaks + 1)); }
    fi
  done
done
check "leaks" "$leaks" 0
# The log at -v says a lot, about tokens too, but never one.
grep -q "got a token for client $CID" "$OUT/secret.log" && ok || fail "debug log too quiet"
# The token file holds exactly one secret, the newest token, mode 0600;
# nothing readable by others holds any.
check "token file mode" "$(stat -c %a "$TMP/state/rt")" 600
check "token file content" "$(grep -v '^#' "$TMP/state/rt")" "${tokens[-1]}"
for f in $(cat "$TMP/files"); do
  if [ "$(( 0$(stat -c %a "$f") & 044 ))" != 0 ]; then
    for s in "${needles[@]}"; do
      grep -qF -- "$s" "$f" 2>/dev/null && fail "readable by others with a secret: $f"
    done
  fi
done
ok
finish
