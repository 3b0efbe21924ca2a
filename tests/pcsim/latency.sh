#!/bin/bash
# pcsim --latency-ms/--jitter-ms, in-flight accounting, shutdown with
# answers still waiting.
. "$(dirname "$0")/lib.sh"

# secs_ge A B: A >= B for decimal seconds.
secs_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'
}

case_latency() {
	local t s i
	start_pcsim --latency-ms 300
	t=$(curl -s -o /dev/null -w '%{time_total}' "$(api_url "$(tenant 1)")")
	secs_ge "$t" 0.3 || fail "answer after $t s, latency 0.3"
	secs_ge 1.0 "$t" || fail "answer after $t s, latency 0.3"
	# Not delayed: /stats.
	t=$(curl -s -o /dev/null -w '%{time_total}' "$URL/stats")
	secs_ge 0.25 "$t" || fail "/stats took $t s"
	stop_pcsim

	# Jitter: 100..300 ms, and not all the same.
	start_pcsim --latency-ms 100 --jitter-ms 200 --seed 1
	curl_config 1 8 /dev/null >"$TMP/cfg"
	curl -s -K "$TMP/cfg" -w '%{time_total}\n' >"$TMP/times"
	while read -r s; do
		secs_ge "$s" 0.1 && secs_ge 0.6 "$s" ||
			fail "answer after $s s, latency 100 + 0..200 ms"
	done <"$TMP/times"
	[[ $(awk '$1 >= 0.2' "$TMP/times" | wc -l) -gt 0 ]] ||
		fail "no jitter: $(tr '\n' ' ' <"$TMP/times")"
	stop_pcsim

	# A scripted latency replaces the global one.
	start_pcsim --data "$DATA_DIR/sequence.json"
	t=$(curl -s -o /dev/null -w '%{time_total}' \
		"$(api_url 55555555-5555-4555-8555-555555555555)")
	secs_ge "$t" 0.3 || fail "scripted latency: $t s"
	stop_pcsim
}

case_max_in_flight() {
	local i rc=0
	start_pcsim --latency-ms 1000
	for ((i = 1; i <= 10; i++)); do
		echo "url = \"$(api_url "$(tenant "$i")")\""
		echo 'output = "/dev/null"'
	done >"$TMP/cfg"
	curl -s --no-progress-meter --parallel --parallel-immediate \
		--parallel-max 10 -K "$TMP/cfg" \
		-w '%{http_code}\n' >"$TMP/codes" &
	local cpid=$!
	sleep 0.5
	expect_eq "in flight while waiting" "$(stats | jq .in_flight)" 10
	wait "$cpid" || rc=$?
	expect_eq "curl" "$rc" 0
	expect_eq "answers" "$(grep -c '^200$' "$TMP/codes")" 10
	expect_eq "stats" "$(stats | jq -c \
		'[.requests, .in_flight, .max_in_flight, .delayed]')" \
		'[10,0,10,10]'
	curl -sf -X POST "$URL/stats/reset" >/dev/null
	expect_eq "after reset" \
		"$(stats | jq -c '[.requests, .max_in_flight]')" '[0,0]'
	stop_pcsim
}

case_shutdown() {
	local rc=0 t0 t1 code
	# SIGTERM with an answer waiting 5 s: it is sent at once, exit 0.
	start_pcsim --latency-ms 5000
	curl -s -o /dev/null -w '%{http_code}' "$(api_url "$(tenant 1)")" \
		>"$TMP/code" &
	local cpid=$!
	sleep 0.3
	expect_eq "waiting" "$(stats | jq .in_flight)" 1
	t0=$(date +%s%N)
	stop_pcsim
	t1=$(date +%s%N)
	[[ $(((t1 - t0) / 1000000)) -lt 2000 ]] || fail "shutdown took too long"
	wait "$cpid" || true
	code=$(cat "$TMP/code")
	[[ "$code" == 200 || "$code" == 000 ]] ||
		fail "waiting request got $code"

	start_pcsim
	kill -INT "$PID"
	wait "$PID" || rc=$?
	expect_eq "exit status after SIGINT" "$rc" 0
}

run_case
