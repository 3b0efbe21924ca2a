# Helpers for the pcsim tests, sourced by every tests/pcsim/*.sh.
# Usage of a test script: bash SCRIPT.sh CASE PATH/TO/pcsim
# Each case starts its own pcsim(s) on a free port and the EXIT trap stops
# them and removes the temporary directory.

set -Eeuo pipefail
# A command failing under set -e says where, instead of a silent exit.
trap 'echo "FAIL [$CASE]: line $LINENO: \"$BASH_COMMAND\" exited $?" >&2' ERR

CASE=${1:?usage: $0 CASE PCSIM}
PCSIM=${2:?usage: $0 CASE PCSIM}
DATA_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/data" && pwd)
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcsim-test.XXXXXX")
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

fail() {
	echo "FAIL [$CASE]: $*" >&2
	exit 1
}

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() {
	[[ "$2" == "$3" ]] || fail "$1: got '$2', expected '$3'"
}

# expect_json WHAT ACTUAL EXPECTED: equal JSON values (key order and
# layout aside).
expect_json() {
	local a e
	a=$(jq -cS . <<<"$2") || fail "$1: not JSON: $2"
	e=$(jq -cS . <<<"$3")
	[[ "$a" == "$e" ]] || fail "$1: got '$a', expected '$e'"
}

# expect_share WHAT COUNT TOTAL EXPECTED_FRACTION TOLERANCE
expect_share() {
	awk -v c="$2" -v n="$3" -v p="$4" -v t="$5" -v w="$1" 'BEGIN {
		s = c / n; d = s - p; if (d < 0) d = -d
		if (d > t) {
			printf "FAIL: %s: share %.4f (%d/%d), " \
			       "expected %.4f +- %.4f\n", w, s, c, n, p, t \
			       > "/dev/stderr"
			exit 1
		}
	}' || fail "$1 out of tolerance"
}

# start_pcsim ARGS... : start a pcsim, set URL and PID from it.
start_pcsim() {
	local out="$TMP/out.${#PIDS[@]}" err="$TMP/err.${#PIDS[@]}" i
	"$PCSIM" --port 0 "$@" >"$out" 2>"$err" &
	PID=$!
	PIDS+=("$PID")
	URL=
	for ((i = 0; i < 200; i++)); do
		URL=$(head -n1 "$out" 2>/dev/null || true)
		[[ -n "$URL" ]] && break
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.02
	done
	[[ "$URL" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] ||
		fail "pcsim $* printed no URL: $(cat "$err")"
	PCSIM_ERR=$err
}

# stop_pcsim: SIGTERM the last pcsim and check it exits 0.
stop_pcsim() {
	local rc=0
	kill -TERM "$PID"
	wait "$PID" || rc=$?
	expect_eq "pcsim exit status after SIGTERM" "$rc" 0
}

# tenant N: a fixed, valid, lowercase tenant ID for number N.
# tenant_to VAR N: the same into VAR, without a subshell (loops use it).
tenant_to() {
	printf -v "$1" '%08x-%04x-4%03x-8%03x-%012x' "$2" $(($2 % 65536)) \
		$(($2 % 4096)) $((($2 * 7) % 4096)) \
		$((($2 * 2654435761) % 281474976710656))
}

tenant() {
	local t
	tenant_to t "$1"
	echo "$t"
}

api_url() {
	echo "$URL/v1/customers/$1/qualifications"
}

# curl_config FIRST LAST [OUTPUT]: a curl -K file with the API URLs of
# tenants FIRST..LAST, so one curl process fetches them over one
# connection; OUTPUT, when given, is where each body goes.
curl_config() {
	local i t
	for ((i = $1; i <= $2; i++)); do
		tenant_to t "$i"
		echo "url = \"$URL/v1/customers/$t/qualifications\""
		[[ -z "${3:-}" ]] || echo "output = \"$3\""
	done
}

# fetch_bodies FIRST LAST OUT: the bodies, one per line (compact bodies
# hold no newline).
fetch_bodies() {
	curl_config "$1" "$2" >"$TMP/cfg"
	curl -s -K "$TMP/cfg" -w '\n' >"$3"
}

# fetch_codes FIRST LAST OUT: the HTTP statuses, one per line (000: none).
fetch_codes() {
	curl_config "$1" "$2" /dev/null >"$TMP/cfg"
	curl -s -K "$TMP/cfg" -w '%{http_code}\n' >"$3" || true
}

strip_bom() {
	LC_ALL=C sed 's/^\xEF\xBB\xBF//'
}

stats() {
	curl -sf "$URL/stats"
}

run_case() {
	if ! declare -F "case_$CASE" >/dev/null; then
		fail "no such case"
	fi
	"case_$CASE"
	echo "PASS [$CASE]"
}
