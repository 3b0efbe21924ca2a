#!/usr/bin/env bash
# The man page: installed by `cmake --install` beside the binary, formats
# without a single groff warning, and cannot drift from the program: the
# options in the code, in --help and in the man page's OPTIONS entries are
# the same sets, and so are the exit statuses and environment variables.
source "$(dirname "$0")/lib.sh"
page=$SRC/qualreport.1
BUILD=$(cd "$(dirname "$QR")" && pwd)

[ -f "$page" ] || { echo "FAIL: no $page"; exit 1; }

# ---- cmake --install into a scratch prefix -----------------------------
if cmake --install "$BUILD" --prefix "$TMP/prefix" >"$TMP/install.log" 2>&1
then ok; else fail "cmake --install: $(cat "$TMP/install.log")"; fi
[ -x "$TMP/prefix/bin/qualreport" ] && ok || fail "bin/qualreport not installed"
if [ -f "$TMP/prefix/share/man/man1/qualreport.1" ]; then
  ok
  check_file "installed man page" "$TMP/prefix/share/man/man1/qualreport.1" "$page"
else
  # install() of the page is decided at configure time.
  fail "share/man/man1/qualreport.1 not installed (re-run cmake on $BUILD?)"
fi
check "installed binary runs" "$("$TMP/prefix/bin/qualreport" --version)" \
  "$("$QR" --version)"

# ---- groff: formats, warnings clean -------------------------------------
if command -v groff >/dev/null; then
  # -P-cbou: plain text, no bold or underline, to grep.
  groff -man -Tutf8 -ww -P-cbou "$page" >"$TMP/page.txt" 2>"$TMP/groff.err"
  check "groff exit code" "$?" 0
  check "groff warnings" "$(cat "$TMP/groff.err")" ""
  check "rendered NAME line" "$(grep -A1 '^NAME$' "$TMP/page.txt" | tail -n 1)" \
    "       qualreport - report the Partner Center special-offer qualifications of"
else
  fail "groff not installed (run scripts/bootstrap)"
fi

# ---- sections, in order -------------------------------------------------
check "sections" "$(sed -n 's/^\.SH //p' "$page" | tr -d '"' | tr '\n' ';')" \
  "NAME;SYNOPSIS;DESCRIPTION;OPTIONS;INPUT;OUTPUT;CREDENTIALS;CONFIGURATION FILE;ENVIRONMENT;EXIT STATUS;FILES;EXAMPLES;SEE ALSO;"
check "title and version" "$(sed -n 's/^\.TH QUALREPORT 1 [0-9-]* "\(.*\)" "User Commands"$/\1/p' "$page")" \
  "$("$QR" --version)"

# tags SECTION: the tag line of every .TP entry in that section, with the
# roff escapes for '-' undone.
tags() {
  awk -v sec="$1" '
    /^\.SH / { s = $0; sub(/^\.SH /, "", s); gsub(/"/, "", s); insec = (s == sec); next }
    insec && tp { print; tp = 0; next }
    insec && /^\.TP/ { tp = 1 }' "$page" | sed 's/\\-/-/g'
}
longopts() { grep -oE -- '--[a-z]([a-z-]*[a-z])?' | sort -u; }

"$QR" --help >"$TMP/help.txt"
check "--help exit code" "$?" 0
longopts <"$TMP/help.txt" >"$TMP/help.opts"
# The option table (cmd/qualreport/options.c): one row per option, each
# starting with {"name", ...; the config-file-only secrets (OPT_SECRET)
# have no command-line form and are checked in CONFIGURATION FILE.
grep '^{"' "$SRC/cmd/qualreport/options.c" | grep -v OPT_SECRET \
  | sed -n 's/^{"\([a-z-]*\)",.*/--\1/p' | sort -u >"$TMP/code.opts"
tags OPTIONS | longopts >"$TMP/man.opts"
[ "$(wc -l <"$TMP/code.opts")" -ge 28 ] && ok \
  || fail "only $(wc -l <"$TMP/code.opts") long options read from the table"
grep '^{"' "$SRC/cmd/qualreport/options.c" | grep OPT_SECRET \
  | sed -n 's/^{"\([a-z-]*\)",.*/\1/p' | sort -u >"$TMP/code.secrets"
tags 'CONFIGURATION FILE' | sed 's/\\-/-/g; s/^\.BI* //; s/ .*//' \
  | sort -u >"$TMP/man.secrets"
check "config-file-only keys" "$(tr '\n' ' ' <"$TMP/code.secrets")" \
  "client-key-passphrase client-secret token "
check "config-file-only keys without a man page entry" \
  "$(comm -23 "$TMP/code.secrets" "$TMP/man.secrets" | tr '\n' ' ')" ""
check "options in the code but not in --help" \
  "$(comm -23 "$TMP/code.opts" "$TMP/help.opts" | tr '\n' ' ')" ""
check "options in --help but not in the code" \
  "$(comm -13 "$TMP/code.opts" "$TMP/help.opts" | tr '\n' ' ')" ""
check "options in --help without an entry in the man page" \
  "$(comm -23 "$TMP/help.opts" "$TMP/man.opts" | tr '\n' ' ')" ""
check "man page entries for options that do not exist" \
  "$(comm -13 "$TMP/help.opts" "$TMP/man.opts" | tr '\n' ' ')" ""

# Short options: each of --help's "-x," has an entry with -x.
grep -oE '^  -[a-zA-Z],' "$TMP/help.txt" | tr -d ' ,' | sort -u >"$TMP/help.short"
tags OPTIONS | grep -oE '(^|[^-a-z])-[a-zA-Z]\b' | grep -oE -- '-[a-zA-Z]' \
  | sort -u >"$TMP/man.short"
check "short options in --help" "$(tr '\n' ' ' <"$TMP/help.short")" "-f -h -j -o -q -s -v "
check "short options without a man page entry" \
  "$(comm -23 "$TMP/help.short" "$TMP/man.short" | tr '\n' ' ')" ""

# Exit statuses: the ones --help lists, each an entry of EXIT STATUS.
check "exit status entries" \
  "$(tags 'EXIT STATUS' | sed 's/^\.BR* //; s/[",]//g; s/  */ /g' | tr '\n' ';')" \
  "0;1;2;3;4;5;130 143;"
for code in 0 1 2 3 4 5 130 143; do
  grep -qE "(^|[ ;/])$code[ /]" <(tr '\n' ' ' <"$TMP/help.txt" | grep -o 'Exit codes:.*Examples:') \
    && ok || fail "--help does not list exit code $code"
done

# Environment: every VARIABLE= that --help names has an ENVIRONMENT entry.
grep -oE '\b[A-Z][A-Z_]{4,}=' "$TMP/help.txt" | tr -d = | sort -u >"$TMP/help.env"
tags ENVIRONMENT | sed 's/^\.BR* //; s/ .*//' | sort -u >"$TMP/man.env"
check "environment variables in --help" "$(tr '\n' ' ' <"$TMP/help.env")" \
  "PARTNER_CENTER_CLIENT_SECRET PARTNER_CENTER_KEY_PASSPHRASE PARTNER_CENTER_TOKEN "
check "environment variables without a man page entry" \
  "$(comm -23 "$TMP/help.env" "$TMP/man.env" | tr '\n' ' ')" ""

# The detail columns of the spec, each an entry of OUTPUT, in order.
check "detail columns" "$(tags OUTPUT | sed -n 's/^\.B \([a-z_]*\)$/\1/p' | head -n 9 | tr '\n' ',')" \
  "tenant_id,qualification,vetting_status,vetting_reason,vetting_created_date,http_status,attempts,error,request_id,"
finish
