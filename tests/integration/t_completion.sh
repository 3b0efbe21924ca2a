#!/usr/bin/env bash
# The bash completion (dist/bash-completion/qualreport), sourced into bash
# with bash-completion's library and driven as bash drives it (COMP_WORDS,
# COMP_CWORD, COMP_LINE, COMP_POINT, then _qualreport): it offers exactly
# the options of `qualreport --help`, long and short, the values of the
# format options, file names for every option whose value --help calls
# PATH or FILE and for the input, and nothing for numbers and IDs.
source "$(dirname "$0")/lib.sh"
comp=$SRC/dist/bash-completion/qualreport
lib=/usr/share/bash-completion/bash_completion
[ -f "$lib" ] || { echo "FAIL: $lib missing (run scripts/bootstrap)"; exit 1; }

# complete LINE: the candidates for the last word of LINE (a trailing
# space starts a new, empty word), one per line, sorted.
complete_line() {
  LINE=$1 LIB=$lib COMP=$comp bash --norc --noprofile -c '
    source "$LIB" && source "$COMP" || exit 9
    read -ra COMP_WORDS <<<"$LINE"
    [[ $LINE == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMP_LINE=$LINE COMP_POINT=${#LINE}
    _qualreport qualreport "${COMP_WORDS[COMP_CWORD]}" \
      "${COMP_WORDS[COMP_CWORD-1]}" 2>/dev/null
    printf "%s\n" "${COMPREPLY[@]}"' | sed '/^$/d' | sort
}
joined() { tr '\n' ' ' | sed 's/ $//'; }

"$QR" --help >"$TMP/help.txt"
grep -oE -- '--[a-z]([a-z-]*[a-z])?' "$TMP/help.txt" | sort -u >"$TMP/help.long"
grep -oE '^  -[a-zA-Z],' "$TMP/help.txt" | tr -d ' ,' | sort -u >"$TMP/help.short"

# ---- options: the same sets as --help -----------------------------------
complete_line "qualreport --" | sed 's/=$//' | sort -u >"$TMP/comp.long"
check "long options offered" "$(wc -l <"$TMP/comp.long")" "$(wc -l <"$TMP/help.long")"
check "options in --help that are not offered" \
  "$(comm -23 "$TMP/help.long" "$TMP/comp.long" | joined)" ""
check "options offered that --help does not list" \
  "$(comm -13 "$TMP/help.long" "$TMP/comp.long" | joined)" ""
complete_line "qualreport -" | grep -vE -- '^--' >"$TMP/comp.short"
check "short options offered" "$(joined <"$TMP/comp.short")" "$(joined <"$TMP/help.short")"
check "prefix" "$(complete_line "qualreport --re" | joined)" \
  "--refresh-token-file= --rejects= --retries="
check "a flag gets no =" "$(complete_line "qualreport --excel" | joined)" "--excel-safe"
check "options after the input" "$(complete_line "qualreport in.csv --jou" | joined)" "--journal="

# ---- values of the format options --------------------------------------
check "-f" "$(complete_line "qualreport -f " | joined)" "csv ndjson ndjson.gz"
check "--format nd" "$(complete_line "qualreport --format nd" | joined)" "ndjson ndjson.gz"
check "--format=nd" "$(complete_line "qualreport --format=nd" | joined)" "ndjson ndjson.gz"
check "--log-format" "$(complete_line "qualreport --log-format " | joined)" "json text"
check "--log-format=j" "$(complete_line "qualreport --log-format=j" | joined)" "json"
check "--cloud" "$(complete_line "qualreport --cloud " | joined)" "china global usgov"
check "--client-assertion-alg" \
  "$(complete_line "qualreport --client-assertion-alg " | joined)" "PS256 RS256"
check "--token-endpoint" "$(complete_line "qualreport --token-endpoint " | joined)" "v1 v2"
check "the login subcommand" "$(complete_line "qualreport log" | joined)" "login"

# ---- file names ----------------------------------------------------------
mkdir -p "$TMP/d/sub"
touch "$TMP/d/customers.csv" "$TMP/d/crm export.csv" "$TMP/d/notes.txt"
want_d="$TMP/d/crm export.csv $TMP/d/customers.csv $TMP/d/notes.txt $TMP/d/sub"
check "the input" "$(complete_line "qualreport --rate 5 $TMP/d/" | joined)" "$want_d"
check "the input, a prefix" "$(complete_line "qualreport -q $TMP/d/cu" | joined)" "$TMP/d/customers.csv"
check "-o=..." "$(complete_line "qualreport --output=$TMP/d/no" | joined)" "$TMP/d/notes.txt"
# Every option that --help shows with PATH or FILE completes file names.
grep -oE -- '--[a-z][a-z-]*[ =](PATH|FILE)\b' "$TMP/help.txt" \
  | sed 's/[ =].*//' | sort -u >"$TMP/help.path"
[ "$(wc -l <"$TMP/help.path")" -ge 8 ] && ok || fail "only $(wc -l <"$TMP/help.path") PATH options found in --help"
while read -r opt; do
  check "$opt completes files" "$(complete_line "qualreport $opt $TMP/d/" | joined)" "$want_d"
done <"$TMP/help.path"
for opt in -o -s; do
  check "$opt completes files" "$(complete_line "qualreport $opt $TMP/d/c" | joined)" \
    "$TMP/d/crm export.csv $TMP/d/customers.csv"
done

# ---- nothing to guess -----------------------------------------------------
# Every option --help shows with any other upper-case value (N, R, URL,
# ID, UUID, SECONDS, NAME|N) completes nothing, not even file names; the
# format options, whose values are listed, were checked above.
grep -oE -- '--[a-z][a-z-]*[ =][A-Z][A-Z|]*\b' "$TMP/help.txt" \
  | grep -vE '[ =](PATH|FILE)$' | sed 's/[ =].*//' \
  | grep -vxE -- '--(format|log-format|cloud|client-assertion-alg|token-endpoint)' \
  | sort -u >"$TMP/help.value"
[ "$(wc -l <"$TMP/help.value")" -ge 8 ] && ok || fail "only $(wc -l <"$TMP/help.value") value options found in --help"
cd "$TMP/d" || exit 1
while read -r opt; do
  check "$opt completes nothing" "$(complete_line "qualreport $opt " | joined)" ""
done <"$TMP/help.value"
check "-j completes nothing" "$(complete_line "qualreport -j " | joined)" ""
check "after --help nothing" "$(complete_line "qualreport --help " | joined)" ""
finish
