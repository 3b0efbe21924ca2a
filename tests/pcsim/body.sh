#!/bin/bash
# pcsim answer bodies: determinism, the mix of qualifications, shapes and
# spellings, --doc-style, headers, --unknown-rate.
. "$(dirname "$0")/lib.sh"

case_determinism() {
	start_pcsim --seed 7
	fetch_bodies 1 300 "$TMP/a"
	# Upper case asks for the same tenant.
	local t=$(tenant 5) upper lower
	upper=$(curl -s "$(api_url "${t^^}")")
	lower=$(curl -s "$(api_url "$t")")
	expect_eq "upper-case tenant body" "$upper" "$lower"
	stop_pcsim

	start_pcsim --seed 7 --threads 1
	fetch_bodies 1 300 "$TMP/b"
	stop_pcsim
	cmp -s "$TMP/a" "$TMP/b" ||
		fail "same seed, different bodies across runs"
	expect_eq "lines" "$(wc -l <"$TMP/a")" 300

	start_pcsim --seed 8
	fetch_bodies 1 300 "$TMP/c"
	stop_pcsim
	! cmp -s "$TMP/a" "$TMP/c" || fail "seeds 7 and 8 gave the same bodies"
}

# One line per tenant: "shape|entries|datekeys|dateformats|reasons".
classify() {
	strip_bom | jq -r '
		(if type == "object" then "wrapped" else "bare" end) as $shape
		| (if type == "object" then .qualifications else . end) as $q
		| [$q[] | .qualification + "/" + (.vettingStatus // "-")]
		  | join("+") as $e
		| [$q[] | keys[] | select(test("^vetting.*Date$"))]
		  | join(",") as $k
		| "^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d" as $t
		| [$q[] | (.vettingCreateDate // .vettingCreatedDate // empty)
		   | if test($t + "\\.\\d{3}Z$") then "ms"
		     elif test($t + "Z$") then "s"
		     elif test($t + "\\.\\d{7}\\+00:00$") then "7+"
		     else "BAD:" + . end] | join(",") as $f
		| [$q[] | .vettingReason // empty] | join(",") as $r
		| "\($shape)|\($e)|\($k)|\($f)|\($r)"'
}

case_mix() {
	local n=2000 c
	start_pcsim --seed 1
	fetch_bodies 1 $n "$TMP/bodies"
	expect_eq "bodies" "$(wc -l <"$TMP/bodies")" $n
	classify <"$TMP/bodies" >"$TMP/rows"
	expect_eq "classified" "$(wc -l <"$TMP/rows")" $n

	# share FIELD VALUE WHAT P TOLERANCE: the rows whose FIELD is VALUE.
	share() {
		expect_share "$3" "$(awk -F'|' -v f="$1" -v v="$2" '$f == v' \
			"$TMP/rows" | wc -l)" $n "$4" "$5"
	}
	local soe=StateOwnedEntity/-
	share 2 Education/Approved "Education Approved" 0.55 0.04
	share 2 Education/InReview "Education InReview" 0.08 0.025
	share 2 Education/Denied "Education Denied" 0.07 0.025
	share 2 "GovernmentCommunityCloud/Approved+$soe" "GCC + SOE" 0.05 0.02
	share 2 $soe "SOE alone" 0.03 0.015
	share 2 "Education/Approved+$soe" "Education + SOE" 0.02 0.012
	share 2 '' "no qualification" 0.20 0.03
	share 1 wrapped "wrapped shape" 0.10 0.025
	c=$(LC_ALL=C grep -c $'^\xEF\xBB\xBF' "$TMP/bodies" || true)
	expect_share "BOM" "$c" $n 0.03 0.015

	# Both date keys, all three date formats, no other.
	c=$(awk -F'|' '$3 == "vettingCreateDate"' "$TMP/rows" | wc -l)
	[[ $c -gt 0 ]] || fail "no vettingCreateDate"
	c=$(awk -F'|' '$3 == "vettingCreatedDate"' "$TMP/rows" | wc -l)
	[[ $c -gt 0 ]] || fail "no vettingCreatedDate"
	for f in ms s 7+; do
		c=$(awk -F'|' -v f="$f" '$4 == f' "$TMP/rows" | wc -l)
		[[ $c -gt 0 ]] || fail "no date in format $f"
	done
	! grep -q 'BAD:' "$TMP/rows" || fail "a date in an unknown format"
	# Dates: InReview, Denied and GCC always; some Approved; never SOE.
	c=$(awk -F'|' '$2 ~ /InReview|Denied|Government/ && $4 == ""' \
		"$TMP/rows" | wc -l)
	expect_eq "InReview/Denied/GCC without a date" "$c" 0
	rows() { awk -F'|' "$1" "$TMP/rows" | wc -l; }
	[[ $(rows '$2 == "Education/Approved" && $4 != ""') -gt 0 ]] ||
		fail "no Approved entry with a date"
	[[ $(rows '$2 == "Education/Approved" && $4 == ""') -gt 0 ]] ||
		fail "no Approved entry without a date"
	expect_eq "SOE with vetting fields" \
		"$(rows '$2 == "StateOwnedEntity/-" && $3 != ""')" 0
	# Reasons only on Denied, from the documented list.
	expect_eq "reason iff Denied" \
		"$(rows '($2 == "Education/Denied") != ($5 != "")')" 0
	awk -F'|' '$5 != "" { print $5 }' "$TMP/rows" | sort -u >"$TMP/reasons"
	while read -r r; do
		case "$r" in
		"Not an Education Customer" | \
		"No longer an Education Customer" | \
		"Not an Education Customer - After Review" | \
		"Restricted being an Education Customer" | \
		"Not an Academic Domain" | "Not an eligible Library" | \
		"Not an eligible Museum") ;;
		*) fail "undocumented reason '$r'" ;;
		esac
	done <"$TMP/reasons"
	[[ $(wc -l <"$TMP/reasons") -ge 4 ]] || fail "too few distinct reasons"
	stop_pcsim
}

case_doc_style() {
	local n=80
	start_pcsim --seed 3
	fetch_bodies 1 $n "$TMP/plain"
	! grep -q '//' "$TMP/plain" || fail "comments without --doc-style"
	stop_pcsim
	start_pcsim --seed 3 --doc-style
	curl_config 1 $n >"$TMP/cfg"
	curl -s -K "$TMP/cfg" >"$TMP/doc"
	grep -q '^ *"vettingCreated\?Date": "[^"]*",\? // UTC$' "$TMP/doc" ||
		fail "no // UTC comment after a date"
	grep -q '^ *"vettingReason": "[^"]*", // example Vetting Reason$' \
		"$TMP/doc" || fail "no comment after a reason"
	grep -Pzq '"Approved",\n *\}' "$TMP/doc" ||
		fail "no trailing comma after a last member"
	grep -q '^    "qualifications": \[$' "$TMP/doc" ||
		fail "no wrapped doc-style body"
	# Undo the page's quirks: what is left are the plain bodies.
	strip_bom <"$TMP/doc" | sed 's# // .*$##' |
		sed -z 's/,\n\( *[]}]\)/\n\1/g' | jq -cS . >"$TMP/doc.clean" ||
		fail "doc-style bodies do not clean up"
	strip_bom <"$TMP/plain" | jq -cS . >"$TMP/plain.clean"
	expect_eq "cleaned bodies" "$(wc -l <"$TMP/doc.clean")" $n
	cmp -s "$TMP/doc.clean" "$TMP/plain.clean" ||
		fail "doc-style bodies say something else than plain ones"
	stop_pcsim
}

case_headers() {
	local t=$(tenant 11) h code body
	local corr=7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745
	local rid=037db222-6d8e-4d7f-ba78-df3dca33fb68
	local uuid4='[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}'
	start_pcsim
	h=$(curl -s -D - -o /dev/null "$(api_url "$t")" \
		-H "MS-CorrelationId: $corr" -H "MS-RequestId: $rid" |
		tr -d '\r')
	grep -qix 'content-type: application/json' <<<"$h" ||
		fail "content type: $h"
	grep -qix "ms-correlationid: $corr" <<<"$h" ||
		fail "correlation id not echoed: $h"
	grep -qix "ms-requestid: $rid" <<<"$h" ||
		fail "request id not echoed: $h"
	h=$(curl -s -D - -o /dev/null "$(api_url "$t")" | tr -d '\r')
	grep -qiE "^ms-requestid: $uuid4-[0-9a-f]{12}\$" <<<"$h" ||
		fail "no generated request id: $h"
	! grep -qi '^ms-correlationid' <<<"$h" || fail "made-up correlation id"

	# code PATH [CURL ARGS]: the status for PATH.
	code() {
		local p=$1
		shift
		curl -gs -o /dev/null -w '%{http_code}' "$@" "$URL$p"
	}
	body=$(curl -s "$URL/v1/customers/not-a-guid/qualifications")
	expect_json "bad GUID" "$(jq -c '[.code, .source, .data]' \
		<<<"$body")" '[400, "PartnerFD", []]'
	expect_eq "bad GUID status" \
		"$(code /v1/customers/not-a-guid/qualifications)" 400
	expect_eq "braced GUID" "$(code "/v1/customers/{$t}/qualifications")" \
		400
	expect_eq "other /v1 path" "$(code "/v1/customers/$t")" 404
	expect_eq "unknown path" "$(code /nothing/here)" 404
	expect_eq "POST to the API" \
		"$(code "/v1/customers/$t/qualifications" -X POST)" 405
	expect_eq "HEAD" "$(code "/v1/customers/$t/qualifications" -I)" 200
	stop_pcsim
}

case_unknown() {
	local n=600 c i
	start_pcsim --unknown-rate 0.25 --seed 5
	fetch_codes 1 $n "$TMP/codes"
	c=$(grep -c '^404$' "$TMP/codes" || true)
	expect_share "404 share" "$c" $n 0.25 0.05
	expect_eq "other statuses" \
		"$(grep -vc '^\(404\|200\)$' "$TMP/codes" || true)" 0
	# Unknown stays unknown: the same tenants answer 404 again.
	fetch_codes 1 $n "$TMP/codes2"
	cmp -s "$TMP/codes" "$TMP/codes2" ||
		fail "404s changed on a second pass"
	i=$(awk '/^404$/ { print NR; exit }' "$TMP/codes")
	expect_json "404 body" "$(curl -s "$(api_url "$(tenant "$i")")")" \
		'{"code": 60003, "description": "Tenant not found", "data": [],
		  "source": "PartnerFD"}'
	stop_pcsim

	start_pcsim --unknown-rate 1
	fetch_codes 1 50 "$TMP/codes"
	expect_eq "all unknown" "$(grep -c '^404$' "$TMP/codes")" 50
	stop_pcsim
}

run_case
