#!/usr/bin/env bash
# The progress display as an operator sees it: on a real terminal (a
# detached tmux session, 120x20) a bar redrawn in place while the run
# lasts, whose numbers agree with each other, cleared at the end so only
# the log lines remain; log lines printed during the run never carry a
# piece of the bar; without a terminal (cron, a log file) not one carriage
# return or escape byte; --progress forces the bar at most 10 times a
# second; --no-progress shows none even on a terminal.
source "$(dirname "$0")/lib.sh"
trap 'exit 130' INT
trap 'exit 143' TERM
command -v tmux >/dev/null || { echo "FAIL: no tmux (run scripts/bootstrap)"; exit 1; }

n=600
corr=0d9b4b5e-59a4-4c4f-9a57-3c1f1b0c2e55
export PARTNER_CENTER_TOKEN=progress-token
gen_tenants $n 31 >"$TMP/in.csv"
gen_tenants 100 32 >"$TMP/small.csv"

# A tmux server of our own (its own socket), stopped on exit.
TMUX_SOCK=$TMP/tmux.sock
unset TMUX
tm() { tmux -S "$TMUX_SOCK" "$@"; }
progress_cleanup() {
  tm kill-server 2>/dev/null
  cleanup
}
trap progress_cleanup EXIT

# in_tmux NAME ARGS...: run qualreport in a new 120x20 session, stderr on
# the terminal; its exit code goes to $TMP/NAME.rc, then the pane stays
# open (sleep) so the final screen can be read.
in_tmux() {
  local name=$1; shift
  rm -f "$TMP/$name.rc"
  {
    printf 'export PARTNER_CENTER_TOKEN=%q\n' "$PARTNER_CENTER_TOKEN"
    printf '%q ' "$QR" "$@"
    printf '>%q\n' "$TMP/$name.out"
    printf 'echo $? >%q.tmp && mv %q.tmp %q\n' "$TMP/$name.rc" \
      "$TMP/$name.rc" "$TMP/$name.rc"
    printf 'exec sleep 300\n'
  } >"$TMP/$name.sh"
  tm new-session -d -s "$name" -x 120 -y 20 "bash $TMP/$name.sh"
}

# screen NAME: the pane's whole history and screen, wrapped lines joined.
screen() { tm capture-pane -p -J -S - -t "$1"; }

# wait_rc NAME: wait (at most 60 s) for the run in session NAME to end.
wait_rc() {
  for _ in $(seq 1 600); do
    [ -f "$TMP/$1.rc" ] && return 0
    sleep 0.1
  done
  fail "$1: qualreport did not finish within 60 s"
  return 1
}

bar_re='^\[(=*)(>?)( *)\] ([0-9]+)/'$n' ([0-9]+)% [0-9]+\.[0-9]/s ETA ([0-9]+:[0-9][0-9]|-)$'

# ---- 1. On a terminal: the bar while it runs, gone at the end ---------
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 3 --latency-ms 30
in_tmux tty "$TMP/in.csv" --base-url "$PCSIM_URL" --correlation-id $corr \
  -j 4 -o "$TMP/tty.csv"
seen=0 bad=0 multi=0 last_done=-1 backwards=0
for _ in $(seq 1 400); do
  done_now=0
  [ -f "$TMP/tty.rc" ] && done_now=1
  s=$(screen tty)
  nbars=$(grep -cE "$bar_re" <<<"$s")
  [ "$nbars" -gt 1 ] && multi=$((multi + 1))
  while IFS= read -r line; do
    [[ "$line" =~ $bar_re ]] || continue
    eq=${#BASH_REMATCH[1]} gt=${#BASH_REMATCH[2]} sp=${#BASH_REMATCH[3]}
    d=${BASH_REMATCH[4]} pct=${BASH_REMATCH[5]}
    seen=$((seen + 1))
    # 40 cells at 120 columns: '=' for each done 40th, then '>' unless full.
    if [ $((eq + gt + sp)) != 40 ] || [ "$eq" != $((40 * d / n)) ] ||
       [ "$gt" != $((eq < 40 ? 1 : 0)) ] || [ "$pct" != $((d * 100 / n)) ]
    then
      bad=$((bad + 1))
      echo "inconsistent bar: $line"
    fi
    [ "$d" -lt "$last_done" ] && backwards=$((backwards + 1))
    last_done=$d
  done <<<"$s"
  [ "$done_now" = 1 ] && break
  sleep 0.1
done
wait_rc tty
check "tty: exit code" "$(cat "$TMP/tty.rc")" 0
[ "$seen" -ge 3 ] && ok || fail "tty: the bar was seen in only $seen captures"
check "tty: bars whose cells, count and percentage disagree" "$bad" 0
check "tty: captures with more than one bar line (not redrawn in place)" "$multi" 0
check "tty: the done count never went back" "$backwards" 0
final=$(screen tty)
check "tty: no bar left on the final screen" \
  "$(grep -cE '\[[= >]*\]|/'$n' [0-9]+%' <<<"$final")" 0
grep -qxF "qualreport: info: summary: $n input rows: $n valid, 0 duplicate, 0 invalid, 0 blank" <<<"$final" \
  && ok || fail "tty: input summary line missing from the final screen: $final"
grep -qxF "qualreport: info: summary: $n fetched, 0 resumed from journal: $n answered, 0 not found, 0 failed" <<<"$final" \
  && ok || fail "tty: fetch summary line missing from the final screen: $final"
check "tty: every non-blank line is a whole log line" \
  "$(grep -v '^$' <<<"$final" | grep -cv '^qualreport: ')" 0
check "tty: tenants in the report" "$(tail -n +2 "$TMP/tty.csv" | cut -d, -f1 | sort -u | wc -l)" $n
stop_pcsim

# ---- 2. Log lines while the bar is up (-v: one per request) -----------
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 3 --latency-ms 30
in_tmux verbose "$TMP/small.csv" --base-url "$PCSIM_URL" -j 4 -v \
  -o "$TMP/verbose.csv"
wait_rc verbose
check "verbose tty: exit code" "$(cat "$TMP/verbose.rc")" 0
final=$(screen verbose)
nlines=$(grep -c '^qualreport: debug: ' <<<"$final")
[ "$nlines" -ge 100 ] && ok || fail "verbose tty: only $nlines debug lines"
check "verbose tty: lines that are not whole log lines" \
  "$(grep -v '^$' <<<"$final" | grep -cv '^qualreport: ')" 0
check "verbose tty: bar pieces left anywhere" \
  "$(grep -cE '\[[= >]*\] [0-9]+/|/100 [0-9]+%' <<<"$final")" 0
stop_pcsim

# ---- 3. --no-progress on a terminal: never a bar ----------------------
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 3 --latency-ms 30
in_tmux quiet "$TMP/small.csv" --base-url "$PCSIM_URL" -j 2 --no-progress \
  -o "$TMP/quiet.csv"
bars=0
for _ in $(seq 1 300); do
  [ -f "$TMP/quiet.rc" ] && break
  grep -qE '\] [0-9]+/100 ' <<<"$(screen quiet)" && bars=$((bars + 1))
  sleep 0.1
done
wait_rc quiet
check "--no-progress tty: exit code" "$(cat "$TMP/quiet.rc")" 0
check "--no-progress tty: captures with a bar" "$bars" 0
stop_pcsim

# ---- 4. No terminal (cron, a log file): plain lines only --------------
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 3 --latency-ms 30
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" --correlation-id $corr -j 4 \
  -o "$TMP/plain.csv" 2>"$TMP/plain.err"
check "no tty: exit code" "$?" 0
check "no tty: carriage returns and escape bytes" \
  "$(tr -cd '\r\033' <"$TMP/plain.err" | wc -c)" 0
check "no tty: bar characters" "$(grep -cE '\[[= >]*\]' "$TMP/plain.err")" 0
check "no tty: every line is a log line" "$(grep -cv '^qualreport: ' "$TMP/plain.err")" 0
# A run past 10 s would add "progress: N/600 ..." lines; they are log
# lines like any other, so the checks above hold for them too.
grep -qxF "qualreport: info: summary: $n fetched, 0 resumed from journal: $n answered, 0 not found, 0 failed" \
  "$TMP/plain.err" && ok || fail "no tty: summary line: $(cat "$TMP/plain.err")"
check "no tty: same report as on the terminal" "$(cmp -s "$TMP/plain.csv" "$TMP/tty.csv" && echo same)" same
stop_pcsim

# ---- 5. --progress without a terminal: the bar, at most 10 draws/s ----
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 3 --latency-ms 30
t0=$(date +%s%N)
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" -j 4 --progress -q \
  -o "$TMP/forced.csv" 2>"$TMP/forced.err"
check "--progress: exit code" "$?" 0
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
draws=$(grep -o $'\r\033\\[K\\[' "$TMP/forced.err" | wc -l)
max=$((elapsed_ms / 100 + 2))
if [ "$draws" -ge 5 ] && [ "$draws" -le "$max" ]; then ok; else
  fail "--progress: $draws draws in $elapsed_ms ms (want 5..$max)"; fi
# The last thing written is the erase: the line is left clean.
check "--progress: ends by erasing the bar" \
  "$(tail -c 4 "$TMP/forced.err" | od -An -c | tr -s ' ')" ' \r 033 [ K'
stop_pcsim
finish
