#!/bin/bash
# pcsim command line: help, usage errors, the port, the URL line.
. "$(dirname "$0")/lib.sh"

# usage_error ARGS...: pcsim exits 2 without serving.
usage_error() {
	local rc=0
	timeout 5 "$PCSIM" "$@" >"$TMP/o" 2>"$TMP/e" || rc=$?
	expect_eq "exit status of pcsim $*" "$rc" 2
	grep -q '^pcsim: ' "$TMP/e" || fail "no message for $*"
	[[ ! -s "$TMP/o" ]] || fail "pcsim $* printed: $(cat "$TMP/o")"
}

case_cli() {
	local rc=0 port
	"$PCSIM" --help >"$TMP/o" || rc=$?
	expect_eq "--help exit status" "$rc" 0
	for o in --port --latency-ms --jitter-ms --fail-rate --drop-rate \
		--malformed-rate --unknown-rate --throttle-rps --throttle-burst \
		--throttle-window --doc-style \
		--token --client-id --client-secret --token-ttl --data --seed \
		--threads PCSIM_CLIENT_SECRET; do
		grep -q -- "$o" "$TMP/o" || fail "--help does not mention $o"
	done
	usage_error --bogus
	usage_error --port
	usage_error --port 70000
	usage_error --fail-rate 1.5
	usage_error --drop-rate -0.1
	usage_error --unknown-rate x
	usage_error --fail-rate 0.5 --drop-rate 0.4 --malformed-rate 0.2
	usage_error --throttle-rps nan
	usage_error --throttle-window 5
	usage_error --throttle-burst 3
	usage_error --throttle-rps 3 --throttle-window 5/1
	usage_error --token-ttl 0
	usage_error --threads 0
	usage_error --doc-style=yes
	usage_error --client-id app
	usage_error --client-secret s
	usage_error stray-argument

	# The first stdout line is the URL, the port is the one asked for,
	# and a taken port is a clean error.
	start_pcsim
	port=${URL##*:}
	[[ $port -gt 0 ]] || fail "port $port"
	usage_error --port "$port"
	stop_pcsim
	start_pcsim --port "$port"
	expect_eq "fixed port" "$URL" "http://127.0.0.1:$port"
	# /proc/net/tcp: local address 0100007F = 127.0.0.1, state 0A =
	# LISTEN; no IPv6 listener either.
	local hex
	printf -v hex ':%04X' "$port"
	expect_eq "listens on loopback only" "$(awk -v p="$hex" \
		'$4 == "0A" && substr($2, 9) == p { print $2 }' \
		/proc/net/tcp /proc/net/tcp6)" "0100007F$hex"
	stop_pcsim
}

run_case
