#!/usr/bin/env bash
# A fixed-window quota (Partner Center's 500/min, scaled to 40 per 5 s) at
# default options: at most -j 429s in the first window, then the learned
# budget per window and (almost) no 429 after it; every tenant answered,
# no Retry-After violated, -j kept; the pause is logged and shown in the
# progress line ("throttled by the API: resuming in N s").
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/quota.sh"

# 240 tenants: 6 windows, the last one opening 25 s after the first.
quota_run w 240 "--throttle-window 40/5" --progress --metrics "$TMP/w.prom"
quota_check w 240 100
if [ "$Q_429_W1" -le 16 ]; then ok; else
  fail "w: $Q_429_W1 429s in the first window, more than -j 16"; fi
# after it: a probe in windows 2 and 3 at most, and one for a loaded
# machine's late wake-up
if [ $((Q_429 - Q_429_W1)) -le 3 ]; then ok; else
  fail "w: $((Q_429 - Q_429_W1)) 429s after the first window"; fi
grep -q "the API's quota is spent (429, try again in [1-5] s)" "$TMP/w.err" &&
  ok || fail "w: the pause was not logged: $(head -n 5 "$TMP/w.err")"
grep -q 'throttled by the API: resuming in [1-5] s' "$TMP/w.err" && ok ||
  fail "w: the progress line never said so"
grep -q "waited 0:[0-9][0-9] for the API's quota" "$TMP/w.err" && ok ||
  fail "w: no time waited in the summary"
# six windows of 5 s: the pool waits out most of the 25 s the server
# imposes, whatever the machine
paused=$(sed -n 's/^qualreport_throttled_seconds_total //p' "$TMP/w.prom")
awk -v p="$paused" 'BEGIN { exit !(p > 10) }' && ok ||
  fail "w: qualreport_throttled_seconds_total $paused"

# --rate at the window's average (8/s): at most what is in flight when the
# first window ends is refused (one, paced).
quota_run wr 120 "--throttle-window 40/5" --rate 8
quota_check wr 120 100
if [ "$Q_429" -le 2 ]; then ok; else fail "wr: $Q_429 429s with --rate 8"; fi
finish
