#!/bin/bash
# pcsim --data: scripted answers, played in order per tenant.
. "$(dirname "$0")/lib.sh"

SEQ="$DATA_DIR/sequence.json"

# get TENANT: "status" of one request on a fresh connection; headers in
# $TMP/h, body in $TMP/body; "status curl-exit" when curl fails.
get() {
	local s rc=0
	s=$(curl -s -D "$TMP/h" -o "$TMP/body" -w '%{http_code}' \
		"$(api_url "$1")") || rc=$?
	if [[ $rc -ne 0 ]]; then
		echo "$s $rc"
	else
		echo "$s"
	fi
}

header() {
	tr -d '\r' <"$TMP/h" | sed -n "s/^$1: //Ip"
}

case_data() {
	local a=11111111-1111-4111-8111-111111111111
	local b=22222222-2222-4222-8222-22222222222a
	start_pcsim --data "$SEQ" --fail-rate 1 --seed 9
	# The array, in order, then its last answer again and again.
	expect_eq "1st" "$(get $a)" 503
	expect_eq "1st Retry-After" "$(header Retry-After)" 1
	expect_json "1st body" "$(cat "$TMP/body")" '{"code": 800003,
		"description": "Unexpected service error", "data": [],
		"source": "PartnerFD"}'
	expect_eq "2nd: dropped" "$(get $a)" "000 52"
	expect_eq "3rd" "$(get $a)" 429
	expect_eq "3rd Retry-After" "$(header Retry-After)" 2
	expect_eq "4th" "$(get $a)" 200
	expect_eq "4th body" "$(cat "$TMP/body")" \
		'[{"qualification":"Education","vettingStatus":"Approved"}]'
	expect_eq "4th Content-Type" "$(header Content-Type)" application/json
	expect_eq "5th repeats the last" "$(get ${a^^})" 200
	expect_eq "5th body" "$(cat "$TMP/body")" \
		'[{"qualification":"Education","vettingStatus":"Approved"}]'

	# body_raw goes out byte for byte (BOM, comment, trailing comma),
	# whatever the case of the ID in the file or the URL.
	jq -j --arg k "${b^^}" '.[$k].body_raw' "$SEQ" >"$TMP/raw"
	expect_eq "raw" "$(get $b)" 200
	cmp -s "$TMP/raw" "$TMP/body" || fail "body_raw changed on the way"
	expect_eq "raw starts with a BOM" \
		"$(head -c3 "$TMP/body" | od -An -tx1 | tr -d ' ')" efbbbf

	expect_eq "403" "$(get 33333333-3333-4333-8333-333333333333)" 403
	expect_eq "403 body" "$(jq -c .code "$TMP/body")" 20002
	expect_eq "custom Content-Type" \
		"$(get 66666666-6666-4666-8666-666666666666)" 200
	expect_eq "one Content-Type" "$(header Content-Type)" text/plain
	expect_eq "text body" "$(cat "$TMP/body")" "not json at all"

	# Tenants not in the file get the generated answer (here: the
	# --fail-rate 1 fault; scripted ones are exempt from faults).
	local t=$(tenant 3)
	[[ "$(get "$t")" == 50[03] ]] || fail "unscripted tenant not faulted"
	stop_pcsim
	start_pcsim --data "$SEQ" --seed 9
	get "$t" >/dev/null
	cp "$TMP/body" "$TMP/with"
	stop_pcsim
	start_pcsim --seed 9
	get "$t" >/dev/null
	cmp -s "$TMP/with" "$TMP/body" ||
		fail "data file changed a generated answer"
	stop_pcsim

	# The quirks example loads and serves its oddities.
	start_pcsim --data "$DATA_DIR/quirks.json"
	local q=a0000000-0000-4000-8000-00000000000
	expect_eq "bare string" "$(get ${q}7)" 200
	expect_eq "bare string body" "$(cat "$TMP/body")" '"education"'
	expect_eq "string code" "$(get ${q}6)" 403
	expect_eq "HTML 502" "$(get ${q}8)" 502
	expect_eq "HTML type" "$(header Content-Type)" text/html
	stop_pcsim
}

# bad_data JSON EXPECTED_MESSAGE_PART: pcsim refuses the file, exit 2.
bad_data() {
	local rc=0
	printf '%s' "$1" >"$TMP/bad.json"
	"$PCSIM" --data "$TMP/bad.json" >"$TMP/o" 2>"$TMP/e" || rc=$?
	expect_eq "exit status for $1" "$rc" 2
	grep -q "$2" "$TMP/e" || fail "message for $1: $(cat "$TMP/e")"
	[[ ! -s "$TMP/o" ]] || fail "printed a URL for a bad file"
}

case_data_errors() {
	local rc=0
	bad_data '{"not-a-guid": {}}' 'not a GUID'
	local a='"11111111-1111-4111-8111-111111111111"'
	bad_data "{$a: {\"stauts\": 200}}" 'unknown key "stauts"'
	bad_data "{$a: {\"status\": 99}}" '"status" must be'
	bad_data "{$a: []}" 'empty array'
	bad_data "{$a: {\"body\": 1, \"body_raw\": \"x\"}}" 'both'
	bad_data "{$a: {\"headers\": {\"A\": \"x\\ny\"}}}" \
		'bad name or value'
	bad_data '{"aaaaaaaa-1111-4111-8111-111111111111": {},
		"AAAAAAAA-1111-4111-8111-111111111111": {}}' 'listed twice'
	bad_data '[1, 2]' 'top level must be an object'
	bad_data '{"a": ' 'cannot parse'
	bad_data '{} x' 'cannot parse'
	"$PCSIM" --data "$TMP/missing.json" >/dev/null 2>"$TMP/e" || rc=$?
	expect_eq "missing file" "$rc" 2
	grep -q 'cannot open' "$TMP/e" || fail "missing file: $(cat "$TMP/e")"
	# An empty object is a valid, empty script.
	printf '{}\n' >"$TMP/empty.json"
	start_pcsim --data "$TMP/empty.json"
	expect_eq "empty script" "$(get "$(tenant 1)")" 200
	stop_pcsim
}

run_case
