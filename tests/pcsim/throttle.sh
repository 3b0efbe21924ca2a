#!/bin/bash
# pcsim --throttle-rps (token bucket, --throttle-burst) and
# --throttle-window (fixed window): 429 + Retry-After + the API's body
# past the quota, early retries (retry_after_violations) counted per
# tenant.
. "$(dirname "$0")/lib.sh"

# get TENANT_NUMBER: "status retry-after" of one request; body in $TMP/body.
get() {
	local t
	tenant_to t "$1"
	curl -s -D "$TMP/h" -o "$TMP/body" -w '%{http_code}' "$(api_url "$t")"
	echo " $(tr -d '\r' <"$TMP/h" | sed -n 's/^[Rr]etry-[Aa]fter: //p')"
}

case_throttle() {
	local body1='{"statusCode":429,"message":"Rate limit is exceeded.'
	body1+=' Try again in 1 seconds."}'
	# 1 request/s, burst 1: the first passes, the next ones wait 1 s.
	start_pcsim --throttle-rps 1
	expect_eq "first request" "$(get 1)" "200 "
	expect_eq "tenant 2 throttled" "$(get 2)" "429 1"
	expect_eq "429 body" "$(cat "$TMP/body")" "$body1"
	expect_eq "tenant 2 again at once" "$(get 2)" "429 1"
	expect_eq "tenant 3 throttled" "$(get 3)" "429 1"
	expect_eq "violations so far" "$(stats | jq .retry_after_violations)" 1
	sleep 1.1
	expect_eq "tenant 3 after waiting" "$(get 3)" "200 "
	stats >"$TMP/stats"
	expect_eq "stats" "$(jq -c '[.requests, .by_status, .throttled,
		.retry_after_violations]' "$TMP/stats")" \
		'[5,{"200":2,"429":3},3,1]'
	stop_pcsim

	# Below 1/s the wait is longer than a second: ceil(1 / 0.25) = 4.
	start_pcsim --throttle-rps 0.25
	expect_eq "first request" "$(get 1)" "200 "
	expect_eq "slow refill" "$(get 2)" "429 4"
	grep -q 'Try again in 4 seconds' "$TMP/body" ||
		fail "body: $(cat "$TMP/body")"
	stop_pcsim

	# Sustained: never more than the burst plus the rate times the time.
	local t0 t1 ok ms
	start_pcsim --throttle-rps 200
	t0=$(date +%s%N)
	fetch_codes 1 600 "$TMP/codes"
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))
	ok=$(grep -c '^200$' "$TMP/codes" || true)
	expect_eq "all answered" \
		$((ok + $(grep -c '^429$' "$TMP/codes" || true))) 600
	[[ $ok -gt 20 && $ok -le $((20 + 200 * ms / 1000 + 2)) ]] ||
		fail "$ok requests passed in $ms ms at 200/s with a burst of 20"
	expect_eq "violations" "$(stats | jq .retry_after_violations)" 0
	stop_pcsim
}

case_burst() {
	local i codes=
	# 1/s holding 5: five pass at once, the sixth waits a second.
	start_pcsim --throttle-rps 1 --throttle-burst 5
	for ((i = 1; i <= 6; i++)); do
		codes+="$(get "$i")|"
	done
	expect_eq "burst of 5" "$codes" "200 |200 |200 |200 |200 |429 1|"
	grep -q 'Try again in 1 seconds' "$TMP/body" ||
		fail "body: $(cat "$TMP/body")"
	sleep 1.1
	expect_eq "a token back" "$(get 6)" "200 "
	expect_eq "the next one waits" "$(get 7)" "429 1"
	expect_eq "no early retry" "$(stats | jq .retry_after_violations)" 0
	stop_pcsim
	# A burst below 1, or without a rate, is refused.
	"$PCSIM" --throttle-rps 5 --throttle-burst 0.5 2>"$TMP/err" &&
		fail "burst 0.5 accepted"
	grep -q 'at least 1' "$TMP/err" || fail "$(cat "$TMP/err")"
	"$PCSIM" --throttle-burst 5 2>"$TMP/err" && fail "burst alone accepted"
	grep -q 'needs --throttle-rps' "$TMP/err" || fail "$(cat "$TMP/err")"
}

case_window() {
	local body='{"statusCode":429,"message":"Rate limit is exceeded.'
	body+=' Try again in 3 seconds."}'
	# 3 requests per 3 s window, the window opened by the first request.
	start_pcsim --throttle-window 3/3
	expect_eq "1st" "$(get 1)" "200 "
	expect_eq "2nd" "$(get 2)" "200 "
	expect_eq "3rd" "$(get 3)" "200 "
	expect_eq "4th: to the window's end" "$(get 4)" "429 3"
	expect_eq "the API's body, the same seconds" "$(cat "$TMP/body")" \
		"$body"
	expect_eq "tenant 4 again at once: refused" "$(get 4)" "429 3"
	expect_eq "an early retry" "$(stats | jq .retry_after_violations)" 1
	sleep 1.2
	# a second later: 2 s left (1 on a slow machine)
	[[ "$(get 5)" =~ ^429\ [12]$ ]] || fail "Retry-After did not go down"
	sleep 2
	# the second window: three again, tenants 4 and 5 waited enough
	expect_eq "window 2, 1st" "$(get 4)" "200 "
	expect_eq "window 2, 2nd" "$(get 5)" "200 "
	expect_eq "window 2, 3rd" "$(get 6)" "200 "
	[[ "$(get 7)" =~ ^429\ [123]$ ]] || fail "window 2 not full"
	stats >"$TMP/stats"
	expect_eq "stats" "$(jq -c '[.requests, .by_status, .throttled,
		.throttled_first_window, .retry_after_violations]' \
		"$TMP/stats")" '[10,{"200":6,"429":4},4,3,1]'
	stop_pcsim
	for bad in 500 500/ /60 0/60 5/0 5/60s x; do
		"$PCSIM" --throttle-window "$bad" 2>"$TMP/err" &&
			fail "--throttle-window $bad accepted"
		grep -q "bad value '$bad'" "$TMP/err" || fail "$(cat "$TMP/err")"
	done
	"$PCSIM" --throttle-window 5/1 --throttle-rps 3 2>"$TMP/err" &&
		fail "two throttles accepted"
	grep -q 'one throttle at a time' "$TMP/err" || fail "$(cat "$TMP/err")"
}

run_case
