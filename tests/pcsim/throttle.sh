#!/bin/bash
# pcsim --throttle-rps: 429 + Retry-After above the rate, Retry-After
# violations counted per tenant.
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

run_case
