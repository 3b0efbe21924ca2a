#!/bin/bash
# pcsim /stats: exact counters for a known sequence, and the reset.
. "$(dirname "$0")/lib.sh"

# counters TENANTS [KEY=VALUE...]: the /stats object expected when every
# counter is 0 except the ones given (values are JSON).
counters() {
	local tenants=$1 kv args=()
	shift
	for kv in "$@"; do
		args+=(--argjson "${kv%%=*}" "${kv#*=}")
	done
	jq -nc --argjson tenants "$tenants" "${args[@]}" '
		{requests: 0, by_status: {}, throttled: 0,
		 throttled_first_window: 0, dropped: 0,
		 in_flight: 0, max_in_flight: 0, retry_after_violations: 0,
		 tokens_issued: 0, unauthorized: 0, tenants: $tenants,
		 delayed: 0, late: 0, max_late_ms: 0, mean_late_ms: 0,
		 customer_pages: 0} + $ARGS.named'
}

case_stats() {
	local a=11111111-1111-4111-8111-111111111111
	local t1 t2 auth=(-H 'Authorization: Bearer tk')
	tenant_to t1 1
	tenant_to t2 2
	start_pcsim --token tk --data "$DATA_DIR/sequence.json"
	expect_json "fresh" "$(stats)" "$(counters 0)"
	# 503, drop, 429, 200 (scripted), twice 200 (generated, one tenant),
	# 401, 400, 404 off the API.
	curl -s -o /dev/null "${auth[@]}" "$(api_url $a)"
	curl -s -o /dev/null "${auth[@]}" "$(api_url $a)" || true
	curl -s -o /dev/null "${auth[@]}" "$(api_url $a)"
	curl -s -o /dev/null "${auth[@]}" "$(api_url $a)"
	curl -s "${auth[@]}" -o /dev/null "$(api_url "$t1")" \
		-o /dev/null "$(api_url "$t1")"
	curl -s -o /dev/null "$(api_url "$t2")"
	curl -s -o /dev/null "${auth[@]}" "$(api_url not-a-guid)"
	curl -s -o /dev/null "$URL/elsewhere"
	# /stats does not count itself.
	stats >/dev/null
	expect_json "after the sequence" "$(stats)" "$(counters 2 requests=9 \
		by_status='{"200":3,"400":1,"401":1,"404":1,"429":1,"503":1}' \
		dropped=1 max_in_flight=1 unauthorized=1)"
	expect_eq "reset" "$(curl -s -X POST "$URL/stats/reset")" \
		'{"reset":true}'
	expect_json "after reset" "$(stats)" "$(counters 2)"
	# Scripts keep their place across a reset: only counters are reset.
	expect_eq "scripted answer after reset" "$(curl -s -o /dev/null \
		-w '%{http_code}' "${auth[@]}" "$(api_url $a)")" 200
	expect_eq "GET /stats/reset" "$(curl -s -o /dev/null \
		-w '%{http_code}' "$URL/stats/reset")" 405
	stop_pcsim
}

run_case
