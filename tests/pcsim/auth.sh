#!/bin/bash
# pcsim authentication: --token, the client-credentials token endpoints,
# token expiry.
. "$(dirname "$0")/lib.sh"

# call [CURL ARGS...]: "status|code" of the API for tenant 1, headers in
# $TMP/h, body in $TMP/body.
call() {
	local s
	s=$(curl -s -D "$TMP/h" -o "$TMP/body" -w '%{http_code}' "$@" \
		"$(api_url "$(tenant 1)")")
	echo "$s|$(jq -c '.code // empty' "$TMP/body" 2>/dev/null || true)"
}

# token VERSION [CURL ARGS...]: POST to the v1 or v2 token endpoint;
# "status" printed, body in $TMP/tok.
token() {
	local path=oauth2/v2.0/token
	[[ $1 == v1 ]] && path=oauth2/token
	shift
	curl -s -o "$TMP/tok" -w '%{http_code}' "$@" \
		"$URL/contoso.onmicrosoft.com/$path"
}

case_token_required() {
	start_pcsim --token s3cr3t-t0ken
	expect_eq "no Authorization" "$(call)" "401|800001"
	grep -qi '^WWW-Authenticate: OAuth realm=urn:cpsvc:cpid:' "$TMP/h" ||
		fail "no WWW-Authenticate: $(cat "$TMP/h")"
	expect_json "401 body" "$(jq -c '[.description, .data, .source]' \
		"$TMP/body")" \
		'["Partner Token missing in request context", [], "PartnerFD"]'
	expect_eq "wrong token" "$(call -H 'Authorization: Bearer nope')" \
		"401|400"
	expect_eq "401 description" "$(jq -r .description "$TMP/body")" \
		"Access denied"
	expect_eq "token prefix" \
		"$(call -H 'Authorization: Bearer s3cr3t-t0ke')" "401|400"
	expect_eq "other scheme" \
		"$(call -H 'Authorization: Basic s3cr3t-t0ken')" "401|400"
	expect_eq "right token" \
		"$(call -H 'Authorization: Bearer s3cr3t-t0ken')" "200|"
	expect_eq "scheme in lower case" \
		"$(call -H 'Authorization: bearer s3cr3t-t0ken')" "200|"
	# /stats needs no token.
	expect_json "stats" "$(stats | jq -c \
		'[.requests, .unauthorized, .by_status]')" \
		'[6, 4, {"200": 2, "401": 4}]'
	# Without --token nothing is checked.
	stop_pcsim
	start_pcsim
	expect_eq "open server" "$(call)" "200|"
	stop_pcsim
}

# grant VERSION CLIENT_ID SECRET [MORE CURL ARGS]: a client-credentials
# request; "status" printed, body in $TMP/tok.
grant() {
	local v=$1 id=$2 secret=$3
	shift 3
	token "$v" --data-urlencode grant_type=client_credentials \
		--data-urlencode "client_id=$id" \
		--data-urlencode "client_secret=$secret" "$@"
}

V2_SCOPE=scope=https://api.partnercenter.microsoft.com/.default
V1_RESOURCE=resource=https://api.partnercenter.microsoft.com

case_client_credentials() {
	local tok s='sh!h s3cret'
	PCSIM_CLIENT_SECRET=$s start_pcsim --client-id app-1 --token-ttl 1800
	# v2: numbers are numbers.
	expect_eq "v2 token" "$(grant v2 app-1 "$s" \
		--data-urlencode "$V2_SCOPE")" 200
	expect_json "v2 reply" "$(jq -c '[.token_type, .expires_in,
		.ext_expires_in, (.access_token | length), has("expires_on")]' \
		"$TMP/tok")" '["Bearer", 1800, 1800, 64, false]'
	tok=$(jq -r .access_token "$TMP/tok")
	expect_eq "API with the v2 token" \
		"$(call -H "Authorization: Bearer $tok")" "200|"
	# v1: numbers are strings, plus expires_on, not_before, resource.
	expect_eq "v1 token" "$(grant v1 app-1 "$s" \
		--data-urlencode "$V1_RESOURCE")" 200
	expect_json "v1 reply" "$(jq -c '[.token_type, .expires_in,
		.ext_expires_in, .resource, (.expires_on | type),
		(.not_before | type),
		((.expires_on | tonumber) - (.not_before | tonumber)),
		((.expires_on | tonumber) - now | . > 1700 and . < 1900)]' \
		"$TMP/tok")" '["Bearer", "1800", "1800",
		"https://api.partnercenter.microsoft.com", "string", "string",
		2100, true]'
	tok=$(jq -r .access_token "$TMP/tok")
	expect_eq "API with the v1 token" \
		"$(call -H "Authorization: Bearer $tok")" "200|"
	expect_eq "API without a token" "$(call)" "401|800001"
	# A resource of control bytes, quotes and backslashes is escaped and
	# cut to fit its buffer: the reply is still one JSON object.
	local res
	res=$(printf '\001"\\%.0s' $(seq 1 300))
	expect_eq "v1 token, hostile resource" "$(grant v1 app-1 "$s" \
		--data-urlencode "resource=$res")" 200
	expect_json "hostile resource: an escaped prefix" "$(jq -c \
		--arg r "$res" '. as $o | [($o.resource | length) > 300,
		($r | startswith($o.resource))]' "$TMP/tok")" '[true, true]'

	# Refusals, in Entra ID's words.
	expect_eq "bad secret" "$(grant v2 app-1 wrong -d scope=x)" 401
	expect_json "bad secret body" "$(jq -c '[.error, .error_codes,
		(.error_description | startswith(
			"AADSTS7000215: Invalid client secret provided.")),
		(.trace_id | length), (.correlation_id | length)]' \
		"$TMP/tok")" '["invalid_client", [7000215], true, 36, 36]'
	expect_eq "bad client id" "$(grant v1 app-2 "$s" -d resource=x)" 401
	expect_eq "bad grant" "$(token v2 -d grant_type=password \
		-d client_id=app-1 -d client_secret=x -d scope=x)" 400
	expect_json "bad grant body" \
		"$(jq -c '[.error, .error_codes]' "$TMP/tok")" \
		'["unsupported_grant_type", [70003]]'
	expect_eq "no grant" "$(token v2 -d client_id=app-1)" 400
	expect_eq "no grant body" "$(jq -r .error "$TMP/tok")" invalid_request
	expect_eq "no scope" "$(grant v2 app-1 "$s")" 400
	jq -e '.error_description | test("scope")' "$TMP/tok" >/dev/null ||
		fail "no scope: $(cat "$TMP/tok")"
	expect_eq "GET" "$(token v2)" 405
	expect_json "stats" \
		"$(stats | jq -c '[.tokens_issued, .unauthorized]')" '[3, 3]'
	stop_pcsim
	! grep -q 's3cret' "$PCSIM_ERR" "$TMP"/out.* || fail "secret printed"

	# The secret on the command line works, and leaves ps at once.
	start_pcsim --client-id app-1 --client-secret cmdline-s3cret
	local cmdline
	cmdline=$(tr '\0' ' ' <"/proc/$PID/cmdline")
	[[ "$cmdline" == *--client-secret* &&
	   "$cmdline" != *cmdline-s3cret* ]] ||
		fail "secret visible in /proc/PID/cmdline: $cmdline"
	expect_eq "token with the command-line secret" \
		"$(grant v2 app-1 cmdline-s3cret -d scope=x)" 200
	stop_pcsim

	# Both a static token and issued ones are accepted.
	PCSIM_CLIENT_SECRET=s start_pcsim --client-id a --token static-t
	expect_eq "static" "$(call -H 'Authorization: Bearer static-t')" \
		"200|"
	grant v2 a s -d scope=x >/dev/null
	tok=$(jq -r .access_token "$TMP/tok")
	expect_eq "issued" "$(call -H "Authorization: Bearer $tok")" "200|"
	stop_pcsim

	# Without --client-id there is no token endpoint.
	start_pcsim
	expect_eq "no endpoint" "$(grant v2 a s -d scope=x)" 404
	stop_pcsim
}

case_token_expiry() {
	local tok
	PCSIM_CLIENT_SECRET=s start_pcsim --client-id a --token-ttl 2
	expect_eq "token" "$(grant v2 a s -d scope=x)" 200
	expect_eq "expires_in" "$(jq .expires_in "$TMP/tok")" 2
	tok=$(jq -r .access_token "$TMP/tok")
	expect_eq "fresh token" "$(call -H "Authorization: Bearer $tok")" \
		"200|"
	sleep 3
	expect_eq "expired token" \
		"$(call -H "Authorization: Bearer $tok")" "401|400"
	stop_pcsim
}

run_case
