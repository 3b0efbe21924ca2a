#!/bin/bash
# pcsim's customer list, GET /v1/customers: pages, links and tokens as
# customers.h describes them, read with curl and jq.
. "$(dirname "$0")/lib.sh"

auth=(-H 'Authorization: Bearer tk')

# page PATH [TOKEN]: the body of one page request (fails on non-2xx)
page() {
	if [[ -n ${2-} ]]; then
		curl -sf "${auth[@]}" -H "MS-ContinuationToken: $2" "$URL$1"
	else
		curl -sf "${auth[@]}" "$URL$1"
	fi
}

# status PATH [TOKEN]: the HTTP status and the error code of the body
status() {
	local h=()
	[[ -n ${2-} ]] && h=(-H "MS-ContinuationToken: $2")
	curl -s "${auth[@]}" "${h[@]}" -o "$TMP/body" -w '%{http_code}' \
		"$URL$1"
	echo " $(jq -c '.code // .items' "$TMP/body")"
}

token() { jq -r '.links.next.headers[0].value' <<<"$1"; }

# walk SIZE [extra pcsim paging]: every id of the list, following links
walk() {
	local next="/v1/customers?size=$1" tok= body
	while :; do
		body=$(page "$next" "$tok")
		jq -r '.items[].id' <<<"$body"
		next=$(jq -r '.links.next.uri // empty' <<<"$body")
		[[ -n $next ]] || break
		[[ $next == /v1/* ]] || next=/v1${next#/v1}
		tok=$(token "$body")
	done
}

case_list_pages() {
	local p1 p2 t
	start_pcsim --token tk --customers 5 --seed 3
	p1=$(page '/v1/customers?size=2')
	expect_eq "first page: items" "$(jq '.items | length' <<<"$p1")" 2
	expect_eq "first page: totalCount" "$(jq .totalCount <<<"$p1")" 2
	expect_eq "next uri" "$(jq -r .links.next.uri <<<"$p1")" \
		"/v1/customers?size=2&seekOperation=Next"
	expect_eq "token header" "$(jq -r '.links.next.headers[0].key' <<<"$p1")" \
		MS-ContinuationToken
	t=$(token "$p1")
	expect_eq "top-level continuationToken" "$(jq -r .continuationToken <<<"$p1")" "$t"
	expect_eq "an item's shape" "$(jq -c '.items[0] | [(.id == .companyProfile.tenantId), (.companyProfile.companyName | test(" 1$")), (.companyProfile.domain | endswith("1.onmicrosoft.com")), .relationshipToPartner != null]' <<<"$p1")" \
		'[true,true,true,true]'
	p2=$(page '/v1/customers?size=2&seekOperation=Next' "$t")
	expect_eq "second page starts at the third" \
		"$(jq -r '.items[0].companyProfile.companyName' <<<"$p2" | grep -c ' 3$')" 1
	expect_eq "the whole list" "$(walk 2 | wc -l)" 5
	expect_eq "distinct" "$(walk 2 | sort -u | wc -l)" 5
	expect_eq "same list whatever the page size" "$(walk 2 | md5sum)" "$(walk 5 | md5sum)"
	expect_eq "pages served" "$(curl -sf "$URL/stats" | jq .customer_pages)" 12
	expect_eq "no token" "$(status '/v1/customers?size=2&seekOperation=Next')" "400 2001"
	expect_eq "bad token" "$(status '/v1/customers?size=2' ct1.2.0.2.0.00000000)" "400 2001"
	expect_eq "bad size" "$(status '/v1/customers?size=0')" "400 400"
	expect_eq "unauthenticated" "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/customers")" 401
	first=$(walk 5 | head -n1)
	stop_pcsim
	start_pcsim --token tk --customers 5 --seed 3
	expect_eq "the same seed, the same list" "$(walk 5 | head -n1)" "$first"
	stop_pcsim
	start_pcsim --token tk --customers 5 --seed 4
	[[ $(walk 5 | head -n1) != "$first" ]] || fail "another seed, the same list"
	stop_pcsim
}

case_list_options() {
	local p t
	start_pcsim --token tk --customers 10 --customers-duplicate 2
	expect_eq "duplicate: 12 items" "$(walk 3 | wc -l)" 12
	expect_eq "duplicate: 10 customers" "$(walk 3 | sort -u | wc -l)" 10
	stop_pcsim
	start_pcsim --token tk --customers 10 --customers-page-max 4
	expect_eq "page max" "$(page '/v1/customers?size=100' | jq '.items | length')" 4
	stop_pcsim
	start_pcsim --token tk --customers 10 --customers-expire-page 2
	p=$(page '/v1/customers?size=3'); t=$(token "$p")
	expect_eq "expire page 2: refused once" \
		"$(status '/v1/customers?size=3&seekOperation=Next' "$t")" "400 2005"
	expect_eq "expire page 2: then accepted" \
		"$(status '/v1/customers?size=3&seekOperation=Next' "$t" | cut -c1-3)" 200
	stop_pcsim
	start_pcsim --token tk --customers 10 --customers-token-ttl 0
	p=$(page '/v1/customers?size=3'); t=$(token "$p")
	expect_eq "ttl 0: every token refused" \
		"$(status '/v1/customers?size=3&seekOperation=Next' "$t")" "400 2005"
	stop_pcsim
	for s in "bare /customers?" "relative customers?" "absolute http://127.0.0.1:" \
		 "other-host http://127.0.0.2:"; do
		start_pcsim --token tk --customers 10 --customers-next "${s%% *}"
		expect_eq "next style ${s%% *}" \
			"$(page '/v1/customers?size=3' | jq -r .links.next.uri | grep -c "^${s#* }")" 1
		stop_pcsim
	done
	start_pcsim --token tk --customers 4 --customers-end code2000
	p=$(page '/v1/customers?size=4'); t=$(token "$p")
	[[ $t != null ]] || fail "code2000: the last page has no next link"
	expect_eq "end code2000" "$(status '/v1/customers?size=4&seekOperation=Next' "$t")" "400 2000"
	stop_pcsim
	start_pcsim --token tk --customers 4 --customers-end empty
	p=$(page '/v1/customers?size=4'); t=$(token "$p")
	expect_eq "end empty" "$(status '/v1/customers?size=4&seekOperation=Next' "$t")" "200 []"
	expect_eq "end empty: no next" "$(jq '.links.next' "$TMP/body")" null
	stop_pcsim
	start_pcsim --token tk --customers 4 --customers-quirks
	curl -sf "${auth[@]}" "$URL/v1/customers?size=4" -o "$TMP/q"
	expect_eq "quirks: a BOM" "$(head -c 3 "$TMP/q" | od -An -tx1 | tr -d ' ')" efbbbf
	grep -q '}],"links"' "$TMP/q" && fail "quirks: no trailing comma" || true
	grep -q '},],"links"' "$TMP/q" || fail "quirks: no trailing comma"
	stop_pcsim
}

case_list_data() {
	cat >"$TMP/d.json" <<'JSON'
{"customers": [{"id": "6caf76a5-7035-48ae-8280-ad3729a6f2e7"}, "odd", {"x": 1}],
 "_": "a comment"}
JSON
	start_pcsim --token tk --data "$TMP/d.json" --customers 99
	expect_eq "data list served as written" \
		"$(page '/v1/customers?size=10' | jq -c .items)" \
		'[{"id":"6caf76a5-7035-48ae-8280-ad3729a6f2e7"},"odd",{"x":1}]'
	stop_pcsim
	echo '{"customers": {}}' >"$TMP/bad.json"
	if "$PCSIM" --data "$TMP/bad.json" 2>"$TMP/err"; then
		fail "a customers object accepted"
	fi
	grep -q '"customers" must be an array' "$TMP/err" || fail "$(cat "$TMP/err")"
}

case_list_faults() {
	local n
	start_pcsim --token tk --customers 20 --fail-rate 0.5 --seed 8
	n=0
	for i in $(seq 1 40); do
		[[ $(curl -s "${auth[@]}" -o /dev/null -w '%{http_code}' \
			"$URL/v1/customers?size=$i") == 5* ]] && n=$((n + 1))
	done
	expect_share "pages answered 5xx" "$n" 40 0.5 0.3
	stop_pcsim
	start_pcsim --token tk --customers 20 --throttle-rps 1
	curl -s -o /dev/null "${auth[@]}" "$URL/v1/customers?size=1"
	expect_eq "throttled page" "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" \
		"$URL/v1/customers?size=1")" 429
	stop_pcsim
}

"case_$CASE"
echo "PASS [$CASE]"
