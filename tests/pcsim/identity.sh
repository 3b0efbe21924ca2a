#!/bin/bash
# pcsim's identity platform (identity.h): refresh tokens rotated with a
# grace period, client assertions validated (signature, thumbprint, aud,
# iss/sub, time, replay), the device-code flow and the AADSTS error modes.
# Assertions are made here with the openssl command, not with qualreport's
# code, so the two sides are checked against each other independently.
. "$(dirname "$0")/lib.sh"

CID=11111111-2222-3333-4444-555555555555
V2_SCOPE='https://api.partnercenter.microsoft.com/user_impersonation offline_access'
JWT_BEARER=urn:ietf:params:oauth:client-assertion-type:jwt-bearer
DEVICE_GRANT=urn:ietf:params:oauth:grant-type:device_code

# post PATH [CURL ARGS...]: POST to the identity endpoint PATH under
# tenant contoso; "status" printed, body in $TMP/tok.
post() {
	local path=$1
	shift
	curl -s -o "$TMP/tok" -w '%{http_code}' "$@" \
		"$URL/contoso.onmicrosoft.com/$path"
}

v2() { post oauth2/v2.0/token "$@"; }

# refresh TOKEN [CURL ARGS]: a v2 refresh grant of a public client.
refresh() {
	local t=$1
	shift
	v2 --data-urlencode grant_type=refresh_token \
		--data-urlencode "client_id=$CID" \
		--data-urlencode "refresh_token=$t" \
		--data-urlencode "scope=$V2_SCOPE" "$@"
}

field() { jq -r ".$1" "$TMP/tok"; }

# api TOKEN: status of the API with that bearer token.
api() {
	curl -s -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $1" "$(api_url "$(tenant 1)")"
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# A certificate and key (and another pair, to sign with the wrong key).
make_certs() {
	local n
	for n in app other; do
		openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=$n" \
			-days 2 -keyout "$TMP/$n.key" -out "$TMP/$n.crt" \
			2>/dev/null || fail "openssl req"
	done
}

# thumb CERT sha1|sha256: the base64url thumbprint.
thumb() {
	openssl x509 -in "$1" -outform DER | openssl dgst "-$2" -binary |
		b64url
}

# jwt ALG HEADER_JSON CLAIMS_JSON KEY: a signed compact JWT.
jwt() {
	local alg=$1 h c sig opts=()
	h=$(printf '%s' "$2" | b64url)
	c=$(printf '%s' "$3" | b64url)
	[[ $alg == PS256 ]] && opts=(-sigopt rsa_padding_mode:pss
		-sigopt rsa_pss_saltlen:digest -sigopt rsa_mgf1_md:sha256)
	sig=$(printf '%s.%s' "$h" "$c" |
		openssl dgst -sha256 -sign "$4" "${opts[@]}" -binary | b64url)
	printf '%s.%s.%s' "$h" "$c" "$sig"
}

# claims [AUD] [EXP_OFFSET] [ISS] [JTI]: the claims of an assertion.
claims() {
	local now aud=${1:-$URL/contoso.onmicrosoft.com/oauth2/v2.0/token}
	now=$(date +%s)
	jq -nc --arg aud "$aud" --arg iss "${3:-$CID}" \
		--arg jti "${4:-$(cat /proc/sys/kernel/random/uuid)}" \
		--argjson nbf "$now" --argjson exp "$((now + ${2:-300}))" \
		'{aud: $aud, iss: $iss, sub: $iss, jti: $jti, nbf: $nbf,
		  exp: $exp}'
}

ps_header() {
	jq -nc --arg t "$(thumb "${1:-$TMP/app.crt}" sha256)" \
		'{alg: "PS256", typ: "JWT", "x5t#S256": $t}'
}

# assert JWT [MORE CURL ARGS]: a client-credentials grant with it.
assert() {
	local a=$1
	shift
	v2 --data-urlencode grant_type=client_credentials \
		--data-urlencode "client_id=$CID" \
		--data-urlencode "client_assertion_type=$JWT_BEARER" \
		--data-urlencode "client_assertion=$a" \
		--data-urlencode 'scope=https://api.partnercenter.microsoft.com/.default' \
		"$@"
}

case_refresh_rotation() {
	local r0=seeded-refresh.token_0 r1 r2 r3 r4 at
	PCSIM_REFRESH_TOKEN=$r0 start_pcsim --client-id "$CID" \
		--public-client --refresh-grace-ms 1500
	# Each use returns a new refresh token and a working access token.
	expect_eq "first grant" "$(refresh "$r0")" 200
	expect_json "v2 reply" "$(jq -c '[.token_type, .scope, .expires_in,
		(.access_token | length), (.refresh_token | length)]' \
		"$TMP/tok")" "[\"Bearer\", \"$V2_SCOPE\", 3600, 64, 64]"
	r1=$(field refresh_token)
	at=$(field access_token)
	expect_eq "API with the App+User token" "$(api "$at")" 200
	expect_eq "second grant" "$(refresh "$r1")" 200
	r2=$(field refresh_token)
	[[ $r1 != "$r0" && $r2 != "$r1" ]] || fail "tokens did not rotate"
	# The used one still works within the grace period (a client
	# killed before storing r1 retries with r0)...
	expect_eq "r0 within grace" "$(refresh "$r0")" 200
	r3=$(field refresh_token)
	[[ $r3 != "$r2" ]] || fail "grace use returned an old token"
	# ... and is refused after it, as an expired token.
	sleep 2
	expect_eq "r0 after grace" "$(refresh "$r0")" 400
	expect_json "r0 refused" "$(jq -c '[.error, .error_codes,
		(.error_description | startswith("AADSTS700082: The refresh token has expired due to inactivity.")),
		(.error_description | test("redeemed [0-9]+ ms ago")),
		(.trace_id | length), (.correlation_id | length)]' \
		"$TMP/tok")" '["invalid_grant", [700082], true, true, 36, 36]'
	# The newest is still good; unknown and missing tokens are not.
	expect_eq "r2 after grace" "$(refresh "$r2")" 200
	r4=$(field refresh_token)
	expect_eq "unknown token" "$(refresh nope)" 400
	expect_json "unknown" "$(jq -c '[.error, .error_codes]' "$TMP/tok")" \
		'["invalid_grant", [9002313]]'
	expect_eq "no token" "$(v2 -d grant_type=refresh_token \
		-d client_id=$CID -d scope=x)" 400
	expect_eq "no token error" "$(field error_codes[0])" 900144
	expect_eq "other client" "$(v2 -d grant_type=refresh_token \
		-d client_id=someone-else -d refresh_token=x -d scope=x)" 400
	expect_eq "other client error" "$(field error_codes[0])" 700016
	expect_json "stats" "$(stats | jq -c '.identity | [.grants,
		.refresh_rotations, .refresh_grace_uses, .refresh_refused,
		.last_scope]')" "[{\"client_credentials\": 0,
		\"refresh_token\": 8, \"device_code\": 0}, 4, 1, 2,
		\"$V2_SCOPE\"]"
	expect_eq "tokens issued" "$(stats | jq .tokens_issued)" 4
	# v1: resource=, numbers as strings, a refresh token too.
	expect_eq "v1 refresh" "$(post oauth2/token \
		--data-urlencode grant_type=refresh_token \
		--data-urlencode "client_id=$CID" \
		--data-urlencode "refresh_token=$r4" \
		--data-urlencode resource=https://api.partnercenter.microsoft.com)" 200
	expect_json "v1 reply" "$(jq -c '[.expires_in, .resource,
		(.refresh_token | length)]' "$TMP/tok")" \
		'["3600", "https://api.partnercenter.microsoft.com", 64]'
	stop_pcsim
	! grep -q "$r0" "$PCSIM_ERR" "$TMP"/out.* || fail "token printed"

	# A confidential app must authenticate its refresh grants.
	PCSIM_CLIENT_SECRET=s3cret PCSIM_REFRESH_TOKEN=$r0 start_pcsim \
		--client-id "$CID"
	expect_eq "no client auth" "$(refresh "$r0")" 401
	expect_json "no client auth body" "$(jq -c '[.error, .error_codes]' \
		"$TMP/tok")" '["invalid_client", [7000218]]'
	expect_eq "wrong secret" "$(refresh "$r0" -d client_secret=x)" 401
	expect_eq "with the secret" "$(refresh "$r0" -d client_secret=s3cret)" \
		200
	expect_eq "unauthorized" "$(stats | jq .unauthorized)" 2
	stop_pcsim
}

case_assertions() {
	local a good
	make_certs
	start_pcsim --client-id "$CID" --client-cert "$TMP/app.crt"
	good=$(jwt PS256 "$(ps_header)" "$(claims)" "$TMP/app.key")
	expect_eq "PS256 assertion" "$(assert "$good")" 200
	expect_eq "its token works" "$(api "$(field access_token)")" 200
	# The same assertion again: a replay.
	expect_eq "replay" "$(assert "$good")" 401
	expect_json "replay body" "$(jq -c '[.error, .error_codes,
		(.error_description | test("jti was used before"))]' \
		"$TMP/tok")" '["invalid_client", [50013], true]'
	# RS256 with the SHA-1 thumbprint (older tenants, ADFS).
	a=$(jwt RS256 "$(jq -nc --arg t "$(thumb "$TMP/app.crt" sha1)" \
		'{alg: "RS256", typ: "JWT", x5t: $t}')" "$(claims)" \
		"$TMP/app.key")
	expect_eq "RS256 assertion" "$(assert "$a")" 200
	# Signed with another key, or naming another certificate.
	a=$(jwt PS256 "$(ps_header)" "$(claims)" "$TMP/other.key")
	expect_eq "wrong key" "$(assert "$a")" 401
	expect_eq "wrong key code" "$(field error_codes[0])" 700027
	a=$(jwt PS256 "$(ps_header "$TMP/other.crt")" "$(claims)" \
		"$TMP/other.key")
	expect_eq "unknown certificate" "$(assert "$a")" 401
	expect_json "unknown certificate body" "$(jq -c '[.error_codes,
		(.error_description | test("not registered"))]' "$TMP/tok")" \
		'[[700027], true]'
	# PS256 signed as RS256 (PKCS#1 v1.5 padding) does not verify.
	a=$(jwt RS256 "$(ps_header)" "$(claims)" "$TMP/app.key")
	expect_eq "PS256 header, RS256 signature" "$(assert "$a")" 401
	# aud must be the URL posted to: the v1 URL is not the v2 one.
	a=$(jwt PS256 "$(ps_header)" "$(claims \
		"$URL/contoso.onmicrosoft.com/oauth2/token")" "$TMP/app.key")
	expect_eq "aud of the v1 endpoint at v2" "$(assert "$a")" 401
	expect_eq "aud code" "$(field error_codes[0])" 50013
	expect_eq "the same at v1" "$(post oauth2/token \
		--data-urlencode grant_type=client_credentials \
		--data-urlencode "client_id=$CID" \
		--data-urlencode "client_assertion_type=$JWT_BEARER" \
		--data-urlencode "client_assertion=$a" \
		--data-urlencode resource=https://api.partnercenter.microsoft.com)" \
		200
	# Expired, not yet valid, too long-lived, another issuer.
	a=$(jwt PS256 "$(ps_header)" "$(claims "" -120)" "$TMP/app.key")
	expect_eq "expired" "$(assert "$a")" 401
	expect_eq "expired code" "$(field error_codes[0])" 700024
	a=$(jwt PS256 "$(ps_header)" "$(claims "" 7200)" "$TMP/app.key")
	expect_eq "two hours" "$(assert "$a")" 401
	a=$(jwt PS256 "$(ps_header)" "$(claims "" 300 someone-else)" \
		"$TMP/app.key")
	expect_eq "iss" "$(assert "$a")" 401
	expect_eq "iss code" "$(field error_codes[0])" 700021
	# Not a JWT; the wrong assertion type.
	expect_eq "garbage" "$(assert not.a-jwt.at_all)" 401
	expect_eq "garbage code" "$(field error_codes[0])" 50027
	expect_eq "type" "$(v2 -d grant_type=client_credentials \
		-d client_id=$CID -d client_assertion_type=x \
		--data-urlencode "client_assertion=$good" -d scope=x)" 400
	expect_json "stats" "$(stats | jq -c '.identity | [.assertions_ok,
		.assertions_refused, .assertion_replays]')" '[3, 9, 1]'
	stop_pcsim
}

# devicecode: start a device flow; user_code, device_code in $TMP/dc.
devicecode() {
	post oauth2/v2.0/devicecode --data-urlencode "client_id=$CID" \
		--data-urlencode "scope=$V2_SCOPE" "$@" >"$TMP/dc.status"
	cp "$TMP/tok" "$TMP/dc"
	cat "$TMP/dc.status"
}

# poll: one device-code poll; "status error" printed.
poll() {
	local s
	s=$(v2 --data-urlencode "grant_type=$DEVICE_GRANT" \
		--data-urlencode "client_id=$CID" \
		--data-urlencode "device_code=$(jq -r .device_code "$TMP/dc")")
	echo "$s $(jq -r '.error // "tokens"' "$TMP/tok")"
}

case_device_code() {
	start_pcsim --client-id "$CID" --public-client --device-interval 1
	expect_eq "devicecode" "$(devicecode)" 200
	expect_json "devicecode reply" "$(jq -c '[(.user_code | length),
		(.device_code | length), .verification_uri, .expires_in,
		.interval, (.message | contains("enter the code"))]' \
		"$TMP/dc")" "[9, 64, \"$URL/devicelogin\", 900, 1, true]"
	expect_eq "poll 1" "$(poll)" "400 authorization_pending"
	expect_eq "poll 1 code" "$(field error_codes[0])" 70016
	# Sooner than the interval: slow_down, and the interval grows.
	expect_eq "early poll" "$(poll)" "400 slow_down"
	sleep 6.2
	expect_eq "poll 2: approved" "$(poll)" "200 tokens"
	expect_json "tokens" "$(jq -c '[.scope, (.refresh_token | length)]' \
		"$TMP/tok")" "[\"$V2_SCOPE\", 64]"
	expect_eq "its access token" "$(api "$(field access_token)")" 200
	# The refresh token it gave rotates like any other.
	expect_eq "refresh it" "$(refresh "$(field refresh_token)")" 200
	expect_eq "used code" "$(poll)" "400 invalid_grant"
	expect_json "stats" "$(stats | jq -c '.identity | [.device_codes,
		.device_polls, .device_early_polls, .device_approved]')" \
		'[1, 3, 1, 1]'
	expect_eq "unknown client" "$(post oauth2/v2.0/devicecode \
		-d client_id=other -d scope=x)" 400
	expect_eq "no scope" "$(post oauth2/v2.0/devicecode \
		-d client_id=$CID)" 400
	stop_pcsim

	start_pcsim --client-id "$CID" --public-client --device-interval 1 \
		--device-mode decline --device-approve-after 1
	devicecode >/dev/null
	expect_eq "declined" "$(poll)" "400 authorization_declined"
	stop_pcsim
	start_pcsim --client-id "$CID" --public-client --device-interval 1 \
		--device-mode expire --device-approve-after 1
	devicecode >/dev/null
	expect_eq "expired" "$(poll)" "400 expired_token"
	expect_eq "expired code" "$(field error_codes[0])" 70019
	stop_pcsim
	# slow_down mode: the first poll is told to slow down by 5 s.
	start_pcsim --client-id "$CID" --public-client --device-interval 1 \
		--device-mode slow_down --device-approve-after 1
	devicecode >/dev/null
	expect_eq "slow_down" "$(poll)" "400 slow_down"
	expect_eq "too soon after slow_down" "$(poll)" "400 slow_down"
	expect_eq "early polls" "$(stats | jq .identity.device_early_polls)" 1
	stop_pcsim
	# A device code that lives 1 s.
	start_pcsim --client-id "$CID" --public-client --device-interval 1 \
		--device-expires-in 1
	devicecode >/dev/null
	sleep 1.2
	expect_eq "lifetime over" "$(poll)" "400 expired_token"
	stop_pcsim
}

case_aad_errors() {
	local code want
	for code in 65001 50076 50078 700007 50173 700082 700027; do
		want=invalid_grant
		[[ $code == 700027 ]] && want=invalid_client
		PCSIM_REFRESH_TOKEN=r0 start_pcsim --client-id "$CID" \
			--public-client --aad-error "$code"
		refresh r0 >/dev/null
		expect_json "AADSTS$code" "$(jq -c '[.error, .error_codes,
			(.error_description | startswith("AADSTS'"$code"': "))]' \
			"$TMP/tok")" "[\"$want\", [$code], true]"
		stop_pcsim
	done
}

run_case
