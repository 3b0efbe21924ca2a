#!/usr/bin/env bash
# --config FILE: options from a file, overridden by the command line;
# strftime in paths; errors name the file and line; secrets only from a
# file nobody else can read.
source "$(dirname "$0")/lib.sh"
export PARTNER_CENTER_TOKEN=config-token
start_pcsim --token config-token --seed 3
gen_tenants 5 11 | sed '1i tenant_id' >"$TMP/in.csv"
month=$(date +%Y-%m)

# A config with paths that expand, a flag, quoting and comments.
cat >"$TMP/qr.conf" <<CONF
# qualreport.conf for the test
base-url = $PCSIM_URL
output = $TMP/%Y-%m/quals.csv
--summary: "$TMP/%Y-%m/summary.csv"
journal = $TMP/%Y-%m.journal
concurrency 4
no-progress
CONF
mkdir -p "$TMP/$month"
"$QR" --config "$TMP/qr.conf" -q "$TMP/in.csv"
check "config run exit code" "$?" 0
check "tenants in the detail at the expanded path" \
  "$(tail -n +2 "$TMP/$month/quals.csv" | cut -d, -f1 | sort -u | wc -l)" 5
[ -f "$TMP/$month/summary.csv" ] && ok || fail "no summary at $TMP/$month/summary.csv"
[ -f "$TMP/$month.journal" ] && ok || fail "no journal at $TMP/$month.journal"
check "manifest beside the expanded output" \
  "$(jq -r '.outputs[0].path' "$TMP/$month/quals.csv.manifest.json")" \
  "$TMP/$month/quals.csv"

# The command line overrides the file, and takes its values verbatim.
"$QR" --config "$TMP/qr.conf" -q -o "$TMP/cli-%Y.csv" \
  --journal "$TMP/other.journal" "$TMP/in.csv"
check "override exit code" "$?" 0
[ -f "$TMP/cli-%Y.csv" ] && ok || fail "-o on the command line was expanded or ignored"

# Errors name the file and line; exit 2; nothing written.
expect_error() {
  local want=$1; shift
  local out rc
  out=$("$QR" "$@" "$TMP/in.csv" 2>&1 >/dev/null); rc=$?
  if [ "$rc" = 2 ] && [[ "$out" == *"$want"* ]]; then ok
  else fail "qualreport $* -> $rc: $out (want '$want')"; fi
}
printf 'rate = 5/min\nbogus-option = 1\n' >"$TMP/bad1.conf"
expect_error "$TMP/bad1.conf:2: unknown option 'bogus-option'" --config "$TMP/bad1.conf"
printf '\n\nrate = fast\n' >"$TMP/bad2.conf"
expect_error "$TMP/bad2.conf:3: --rate: 'fast' is not a rate" --config "$TMP/bad2.conf"
printf 'excel-safe = yes\n' >"$TMP/bad3.conf"
expect_error "$TMP/bad3.conf:1: --excel-safe takes no value" --config "$TMP/bad3.conf"
printf 'output\n' >"$TMP/bad4.conf"
expect_error "$TMP/bad4.conf:1: --output needs a value" --config "$TMP/bad4.conf"
printf 'config = /etc/other.conf\n' >"$TMP/bad5.conf"
expect_error "$TMP/bad5.conf:1: --config only works on the command line" --config "$TMP/bad5.conf"
expect_error "cannot read $TMP/none.conf" --config "$TMP/none.conf"

# Secrets: never on the command line; in a file only if it is private.
expect_error "--client-secret: secrets never go on the command line" \
  --client-secret hunter2 --tenant t --client-id c
printf 'token = file-token-123\n' >"$TMP/secret.conf"
chmod 644 "$TMP/secret.conf"
expect_error "$TMP/secret.conf:1: refusing the secret 'token' from a config file other users can read" \
  --config "$TMP/secret.conf"
if [ "$(id -u)" = 0 ]; then
  chmod 600 "$TMP/secret.conf"; chown nobody "$TMP/secret.conf"
  expect_error "owned by another user" --config "$TMP/secret.conf"
  chown root "$TMP/secret.conf"
fi
chmod 600 "$TMP/secret.conf"
# A private file's token is used when nothing else gives one ...
env -u PARTNER_CENTER_TOKEN "$QR" --config "$TMP/secret.conf" -q \
  --base-url "$PCSIM_URL" -o "$TMP/tok.csv" "$TMP/in.csv" 2>"$TMP/tok.err"
check "token from the config file: pcsim refuses it (exit 4)" "$?" 4
grep -q file-token-123 "$TMP/tok.err" && fail "the token reached the log" || ok
# ... and the environment wins over it.
"$QR" --config "$TMP/secret.conf" -q --base-url "$PCSIM_URL" \
  -o "$TMP/env.csv" "$TMP/in.csv"
check "environment token wins over the config file" "$?" 0
finish
