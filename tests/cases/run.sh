#!/usr/bin/env bash
# One end-to-end case: run qualreport as tests/cases/NAME/ describes and
# compare what it leaves behind. The folder format is in README.md here.
#
#   run.sh QUALREPORT PCSIM SRC CASEDIR SHIM
set -u
QR=$(realpath "$1")
PCSIM=$(realpath "$2")
SRC=$(realpath "$3")
CASE=$(realpath "$4")
SHIM=$5
[ "$SHIM" = none ] || SHIM=$(realpath "$SHIM")
TOKEN=case-token-not-a-secret
NAME=$(basename "$CASE")
WORK=$(mktemp -d)
OUT=$WORK/out
PCSIM_PID=
URL=
FAILS=0
mkdir -p "$OUT"

cleanup() {
  if [ -n "$PCSIM_PID" ]; then
    kill "$PCSIM_PID" 2>/dev/null
    wait "$PCSIM_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $NAME: $*"; FAILS=$((FAILS + 1)); }

# expand TEXT: the placeholders of args, env and the expect lists
expand() {
  local s=$1
  s=${s//@URL@/$URL}
  s=${s//@OUT@/$OUT}
  s=${s//@CASE@/$CASE}
  s=${s//@INPUT@/$CASE/input.csv}
  s=${s//@SRC@/$SRC}
  s=${s//@SHIM@/$SHIM}
  printf '%s' "$s"
}

# lines FILE: FILE's lines into the array LINES (an empty line is an
# empty element; no final newline needed)
lines() {
  LINES=()
  [ -f "$1" ] || return 0
  mapfile -t LINES <"$1"
}

[ -f "$CASE/args" ] || { echo "$NAME: no args file"; exit 1; }
if [ "$SHIM" = none ] && grep -q '@SHIM@' "$CASE"/args "$CASE"/env 2>/dev/null; then
  echo "$NAME: skipped: no failure-injection library (sanitizer build)"
  exit 77
fi
[ -f "$CASE/exit" ] || { echo "$NAME: no exit file"; exit 1; }

# pcsim, when the case talks to it: a fresh one per case, on a free port.
if [ -f "$CASE/data.json" ] || [ -f "$CASE/pcsim-args" ] ||
   grep -q '@URL@' "$CASE/args" "$CASE/env" 2>/dev/null; then
  pargs=(--port 0 --token "$TOKEN")
  [ -f "$CASE/data.json" ] && pargs+=(--data "$CASE/data.json")
  lines "$CASE/pcsim-args"
  for a in "${LINES[@]}"; do pargs+=("$(expand "$a")"); done
  "$PCSIM" "${pargs[@]}" >"$WORK/pcsim.out" 2>"$WORK/pcsim.err" &
  PCSIM_PID=$!
  for _ in $(seq 1 200); do
    URL=$(head -n 1 "$WORK/pcsim.out" 2>/dev/null)
    [[ "$URL" == http*://127.0.0.1:* ]] && break
    URL=
    kill -0 "$PCSIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$URL" ] || { echo "$NAME: pcsim did not start: $(cat "$WORK/pcsim.err")"; exit 1; }
fi

# What the output folder holds before the run.
[ -d "$CASE/before" ] && cp -a "$CASE/before/." "$OUT/"

args=()
lines "$CASE/args"
for a in "${LINES[@]}"; do args+=("$(expand "$a")"); done
# The token pcsim wants, unless the case unsets it ("-NAME") or sets its
# own; nothing from the caller's credentials leaks in.
envs=()
unsets=(-u PARTNER_CENTER_CLIENT_SECRET -u PARTNER_CENTER_TOKEN)
lines "$CASE/env"
grep -qx -e '-PARTNER_CENTER_TOKEN' -e 'PARTNER_CENTER_TOKEN=.*' \
  "$CASE/env" 2>/dev/null || envs+=(PARTNER_CENTER_TOKEN="$TOKEN")
for e in "${LINES[@]}"; do
  case $e in
    -*) unsets+=(-u "${e#-}") ;;
    '') ;;
    *) envs+=("$(expand "$e")") ;;
  esac
done
stdin=/dev/null
[ -f "$CASE/stdin" ] && stdin=$CASE/stdin

(cd "$OUT" && exec env "${unsets[@]}" "${envs[@]}" "$QR" "${args[@]}") \
  <"$stdin" >"$WORK/stdout" 2>"$WORK/stderr"
rc=$?

want=$(tr -d ' \n' <"$CASE/exit")
[ "$rc" = "$want" ] || fail "exit code $rc, want $want"

# has FILE LIST [not] [re]: every line of LIST found (or not) in FILE
has() {
  local file=$1 list=$2 neg=${3:-} mode=${4:-F} pat
  lines "$list"
  for pat in "${LINES[@]}"; do
    [ -z "$pat" ] && continue
    pat=$(expand "$pat")
    if grep -q -"$mode" -e "$pat" "$file"; then
      [ "$neg" = not ] && fail "$(basename "$file") holds '$pat'"
    else
      [ "$neg" = not ] || fail "$(basename "$file") lacks '$pat'"
    fi
  done
}

E=$CASE/expect
if [ -d "$E" ]; then
  while IFS= read -r -d '' f; do
    rel=${f#"$E"/}
    case $rel in
      stdout)
        cmp -s "$f" "$WORK/stdout" ||
          { fail "stdout differs"; diff -u "$f" "$WORK/stdout" | head -n 40; } ;;
      stdout-has) has "$WORK/stdout" "$f" ;;
      stdout-re) has "$WORK/stdout" "$f" "" E ;;
      stderr) has "$WORK/stderr" "$f" ;;
      stderr-not) has "$WORK/stderr" "$f" not ;;
      stderr-re) has "$WORK/stderr" "$f" "" E ;;
      stderr-every)
        lines "$f"
        for p in "${LINES[@]}"; do
          [ -z "$p" ] && continue
          p=$(expand "$p")
          bad=$(grep -c -v -E -e "$p" "$WORK/stderr")
          [ "$bad" = 0 ] || fail "$bad stderr lines do not match '$p'"
        done ;;
      absent)
        lines "$f"
        for p in "${LINES[@]}"; do
          [ -z "$p" ] && continue
          p=$(expand "$p")
          compgen -G "$p" >/dev/null && fail "$p exists: $(compgen -G "$p")"
        done ;;
      present)
        lines "$f"
        for p in "${LINES[@]}"; do
          [ -z "$p" ] && continue
          p=$(expand "$p")
          [ -e "$p" ] || fail "$p is missing"
        done ;;
      *.gz)
        if [ ! -f "$OUT/$rel" ]; then fail "no $rel"
        elif ! cmp -s <(zcat "$f") <(zcat "$OUT/$rel"); then
          fail "$rel differs (decompressed)"
          diff -u <(zcat "$f") <(zcat "$OUT/$rel") | head -n 40
        fi ;;
      *)
        if [ ! -f "$OUT/$rel" ]; then fail "no $rel"
        elif ! cmp -s "$f" "$OUT/$rel"; then
          fail "$rel differs"; diff -u "$f" "$OUT/$rel" | head -n 40
        fi ;;
    esac
  done < <(find -L "$E" -type f -print0 | sort -z)
fi

if [ "$FAILS" != 0 ]; then
  echo "--- qualreport ${args[*]}"
  echo "--- stderr:"; head -c 4000 "$WORK/stderr"
  exit 1
fi
echo "$NAME: ok"
