#!/bin/bash
# pcsim faults: --fail-rate, --drop-rate, --malformed-rate.
. "$(dirname "$0")/lib.sh"

FAIL_BODY='{"code":800003,"description":"Unexpected service error",'
FAIL_BODY+='"data":[],"source":"PartnerFD"}'

# retry_codes TENANT TIMES OUT: the statuses of TIMES requests for one
# tenant, one per line.
retry_codes() {
	local i u
	u=$(api_url "$1")
	for ((i = 0; i < $2; i++)); do
		echo "url = \"$u\""
		echo 'output = "/dev/null"'
	done >"$TMP/rcfg"
	curl -s -K "$TMP/rcfg" -w '%{http_code}\n' >"$3" || true
}

case_fail_rate() {
	local n=2000 c500 c503 t i
	start_pcsim --fail-rate 0.3 --seed 11
	fetch_codes 1 $n "$TMP/codes"
	expect_eq "answers" "$(wc -l <"$TMP/codes")" $n
	c500=$(grep -c '^500$' "$TMP/codes" || true)
	c503=$(grep -c '^503$' "$TMP/codes" || true)
	expect_share "5xx share" $((c500 + c503)) $n 0.30 0.05
	expect_share "500 among 5xx" "$c500" $((c500 + c503)) 0.5 0.1
	expect_eq "other statuses" \
		"$(grep -vc '^\(200\|500\|503\)$' "$TMP/codes" || true)" 0
	expect_eq "/stats by_status" "$(stats |
		jq -c '[.requests, .by_status["500"], .by_status["503"]]')" \
		"[$n,$c500,$c503]"

	# A failing request's body; then the same tenant retried 20 times
	# fails and succeeds in a pattern fixed by (seed, tenant, n).
	i=$(awk '/^50[03]$/ { print NR; exit }' "$TMP/codes")
	tenant_to t "$i"
	stop_pcsim
	start_pcsim --fail-rate 0.3 --seed 11
	expect_eq "fail body" "$(curl -s "$(api_url "$t")")" "$FAIL_BODY"
	retry_codes "$t" 20 "$TMP/r1"
	grep -q '^200$' "$TMP/r1" ||
		fail "tenant $t never succeeded in 20 tries"
	stop_pcsim
	start_pcsim --fail-rate 0.3 --seed 11 --threads 3
	curl -s -o /dev/null "$(api_url "$t")"
	retry_codes "$t" 20 "$TMP/r2"
	cmp -s "$TMP/r1" "$TMP/r2" || fail "retries differ between runs"
	stop_pcsim
}

case_drop() {
	local rc=0 n=400 c
	start_pcsim --drop-rate 1
	curl -s "$(api_url "$(tenant 1)")" >"$TMP/body" || rc=$?
	expect_eq "curl exit status on a dropped connection" "$rc" 52
	expect_eq "bytes received" "$(wc -c <"$TMP/body")" 0
	stop_pcsim

	# curl sends a request again, once, when a reused connection closes
	# without an answer, so count drops on the server's side.
	start_pcsim --drop-rate 0.4 --seed 2
	fetch_codes 1 $n "$TMP/codes"
	c=$(grep -c '^200$' "$TMP/codes")
	expect_eq "answers" $((c + $(grep -c '^000$' "$TMP/codes" || true))) $n
	stats >"$TMP/stats"
	expect_eq "200s" "$(jq '.by_status["200"]' "$TMP/stats")" "$c"
	expect_eq "requests" "$(jq '.requests' "$TMP/stats")" \
		$(($(jq '.dropped' "$TMP/stats") + c))
	expect_share "dropped share" "$(jq '.dropped' "$TMP/stats")" \
		"$(jq '.requests' "$TMP/stats")" 0.4 0.06
	expect_eq "in flight" "$(jq '.in_flight' "$TMP/stats")" 0
	stop_pcsim
}

case_malformed() {
	local n=40 i t html=0 cut=0 ctype good bad
	start_pcsim --seed 4
	fetch_bodies 1 $n "$TMP/good"
	stop_pcsim
	start_pcsim --seed 4 --malformed-rate 1
	for ((i = 1; i <= n; i++)); do
		tenant_to t "$i"
		ctype=$(curl -s -o "$TMP/bad" \
			-w '%{http_code} %{content_type}' "$(api_url "$t")")
		bad=$(cat "$TMP/bad")
		if [[ "$ctype" == "200 text/html; charset=utf-8" ]]; then
			[[ "$bad" == "<!DOCTYPE html>"* ]] ||
				fail "HTML page: $bad"
			html=$((html + 1))
		elif [[ "$ctype" == "200 application/json" ]]; then
			! jq . <<<"$bad" >/dev/null 2>&1 ||
				fail "tenant $t: malformed body parses: $bad"
			# A truncated body is a proper prefix of the good one.
			good=$(sed -n "${i}p" "$TMP/good" | strip_bom)
			[[ -n "$bad" && "$good" == "$bad"* &&
			   "$good" != "$bad" ]] ||
				fail "tenant $t: '$bad' is no prefix of '$good'"
			cut=$((cut + 1))
		else
			fail "tenant $t: unexpected answer $ctype"
		fi
	done
	[[ $html -gt 5 && $cut -gt 5 ]] || fail "html $html, truncated $cut"
	stop_pcsim
}

run_case
