# shellcheck shell=bash
# Helpers for bench/run.sh (sourced, not run). Expects: $TMP (scratch
# dir, removed by the caller), $PCSIM, $QR, $TOKEN (also exported as
# PARTNER_CENTER_TOKEN for qualreport), $SMOKE, and bench/nginx.sh sourced
# when SERVER=nginx.
#
# Conventions: every measured command runs under /usr/bin/time, which
# counts the CPU of every child it waited for (a whole pipeline under
# bash -c included), and the numbers land in T_USER T_SYS T_WALL (s) and
# T_RSS (KiB). Every server is started fresh for one measured run, so the
# contenders find it in the same state, and stopped by stop_server or, at
# the latest, by the caller's EXIT trap (kill_server).

PCSIM_PID=
PCSIM_URL=

die() {
	echo "bench: $*" >&2
	exit 1
}

# start_pcsim ARGS...: a fresh pcsim on a free port, requiring $TOKEN
# unless ARGS holds --no-token (for wrk, which sends no header).
start_pcsim() {
	local out=$TMP/pcsim.url err=$TMP/pcsim.err tok=(--token "$TOKEN") i
	local args=()

	for i in "$@"; do
		if [[ $i == --no-token ]]; then
			tok=()
		else
			args+=("$i")
		fi
	done
	: >"$out"
	"$PCSIM" --port 0 --seed 1 "${tok[@]}" "${args[@]}" >"$out" \
		2>"$err" &
	PCSIM_PID=$!
	for ((i = 0; i < 250; i++)); do
		PCSIM_URL=$(head -n1 "$out" 2>/dev/null || true)
		[[ $PCSIM_URL == http://127.0.0.1:* ]] && return 0
		kill -0 "$PCSIM_PID" 2>/dev/null || break
		sleep 0.02
	done
	die "pcsim did not start: $(cat "$err")"
}

stop_pcsim() {
	[[ -n $PCSIM_PID ]] || return 0
	kill "$PCSIM_PID" 2>/dev/null || true
	wait "$PCSIM_PID" 2>/dev/null || true
	PCSIM_PID=
}

# The server the scenarios run against: pcsim (SERVER=pcsim, default) or
# nginx as a stand-in (SERVER=nginx, bench/nginx.sh). Both take
# --latency-ms N, --throttle-rps N and --no-token, set PCSIM_URL, and give
# their counters in pcsim's /stats shape (requests, by_status, throttled,
# retry_after_violations).
SERVER=${SERVER:-pcsim}
start_server() {
	if [[ $SERVER == nginx ]]; then start_nginx "$@"; else start_pcsim "$@"; fi
}
stop_server() {
	if [[ $SERVER == nginx ]]; then stop_nginx; else stop_pcsim; fi
}
server_stats() {
	if [[ $SERVER == nginx ]]; then nginx_stats "$1"; else pcsim_stats "$1"; fi
}
kill_server() {
	stop_pcsim
	if declare -F stop_nginx >/dev/null; then stop_nginx; fi
}

# pcsim_stats FILE: its /stats JSON into FILE.
pcsim_stats() {
	curl -sSf "$PCSIM_URL/stats" >"$1" || die "cannot read pcsim /stats"
}

# gen_tenants N SEED FILE: a CSV with a tenant_id header and N distinct
# random lowercase GUIDs (version 4, variant a), the same for the same
# N and SEED on this machine.
gen_tenants() {
	{
		echo tenant_id
		awk -v n="$1" -v seed="$2" 'BEGIN {
			srand(seed)
			for(i = 0; i < n; i++)
				printf "%04x%04x-%04x-4%03x-a%03x-%04x%04x%04x\n",
				    int(rand() * 65536), int(rand() * 65536),
				    int(rand() * 65536), int(rand() * 4096),
				    int(rand() * 4096), int(rand() * 65536),
				    int(rand() * 65536), int(rand() * 65536)
		}'
	} >"$3"
	[[ $(tail -n +2 "$3" | sort -u | wc -l) -eq $1 ]] ||
		die "duplicate GUIDs generated for seed $2"
}

# curl_config INPUT FILE [OUTDIR]: a curl config (-K) with the bearer
# header and one url line per tenant, plus an output line per tenant when
# OUTDIR is given: OUTDIR/ID.json, or /dev/null when OUTDIR is /dev/null.
# Mode 600: it holds the token.
curl_config() {
	local input=$1 cfg=$2 dir=${3:-}

	(umask 077 && : >"$cfg")
	{
		printf 'header = "Authorization: Bearer %s"\n' "$TOKEN"
		printf 'header = "Accept: application/json"\n'
		tail -n +2 "$input" | awk -v u="$PCSIM_URL" -v d="$dir" '{
			printf "url = \"%s/v1/customers/%s/qualifications\"\n",
			    u, $1
			if(d == "/dev/null")
				print "output = \"/dev/null\""
			else if(d != "")
				printf "output = \"%s/%s.json\"\n", d, $1
		}'
	} >>"$cfg"
}

# timed NAME CMD...: run CMD under /usr/bin/time, its stderr into
# $TMP/NAME.log; sets T_* and T_RC.
timed() {
	local name=$1

	shift
	T_RC=0
	/usr/bin/time -f '%U %S %e %M' -o "$TMP/$name.time" "$@" \
		2>"$TMP/$name.log" || T_RC=$?
	read -r T_USER T_SYS T_WALL T_RSS < <(tail -n1 "$TMP/$name.time")
	echo "   $name: user ${T_USER}s sys ${T_SYS}s wall ${T_WALL}s" \
		"maxrss ${T_RSS}KiB rc $T_RC" >&2
}

# run_qr NAME INPUT OUTPUT ARGS...: qualreport on the current pcsim,
# timed.
run_qr() {
	local name=$1 input=$2 output=$3

	shift 3
	timed "$name" "$QR" -q --no-progress --base-url "$PCSIM_URL" \
		-o "$output" "$@" "$input"
}

# check_rc NAME WHAT: the timed run exited 0, else die with its log.
check_rc() {
	[[ $T_RC -eq 0 ]] && return 0
	tail -n 20 "$TMP/$1.log" >&2
	die "$1: $2 exited $T_RC"
}

# check_qr NAME INPUT OUTPUT: the run that just ended exited 0, its
# manifest ties out with every tenant answered, and the detail report
# holds exactly the input's tenants, none as Error. A lost tenant is a
# broken run in any mode.
check_qr() {
	local name=$1 input=$2 output=$3 n errors

	n=$(($(wc -l <"$input") - 1))
	check_rc "$name" qualreport
	jq -e --argjson n "$n" '.exit_code == 0 and .counts.valid == $n
		and .counts.answered == $n and .counts.failed == 0' \
		"$output.manifest.json" >/dev/null ||
		die "$name: manifest does not show $n tenants answered:" \
			"$(jq -c .counts "$output.manifest.json")"
	# tenant_id is the first key of every NDJSON row
	zcat -f "$output" | cut -d'"' -f4 | sort -u >"$TMP/$name.ids"
	tail -n +2 "$input" | sort >"$TMP/$name.want"
	cmp -s "$TMP/$name.ids" "$TMP/$name.want" ||
		die "$name: the detail report's tenants differ from the input" \
			"($(wc -l <"$TMP/$name.ids") of $n)"
	errors=$(zcat -f "$output" | grep -c '"vetting_status":"Error"' ||
		true)
	[[ $errors -eq 0 ]] ||
		die "$name: $errors Error rows in the detail report"
	rm -f "$TMP/$name.ids" "$TMP/$name.want"
}

# check_served NAME STATS N: pcsim answered exactly N requests, all 200
# (a baseline that did all the work, once).
check_served() {
	jq -e --argjson n "$3" '.requests == $n and .by_status["200"] == $n' \
		"$2" >/dev/null ||
		die "$1: pcsim served $(jq -c '{requests, by_status}' "$2")," \
			"want $3 answered 200"
}

# calc EXPR: floating-point arithmetic with awk.
calc() { awk "BEGIN { printf \"%s\", ($1) }" </dev/null; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }" </dev/null; }

# Bytes the dedupe set (pipeline/input/tenantset.c) touches for N tenants:
# 16 per ID in its array (pages past the last ID are reserved by
# realloc but never touched) plus the hash table of 4-byte positions, a
# power of two from 128 that doubles to keep the load at or under 0.7.
set_bytes() {
	awk -v n="$1" 'BEGIN {
		slots = 128
		while(n * 10 > slots * 7)
			slots *= 2
		printf "%d", n * 16 + slots * 4
	}'
}

# Table rows: scenario|metric|qualreport|baseline|ratio|target|met?
ROWS=()
MISSED=0

# row SCENARIO METRIC QR BASELINE RATIO TARGET VERDICT
# VERDICT: "yes", "no" (counts as missed) or "—" (no target).
row() {
	local verdict=$7

	if [[ $SMOKE -eq 1 && $verdict != "—" ]]; then
		verdict="n/a (smoke)"
	elif [[ $verdict == no ]]; then
		MISSED=$((MISSED + 1))
	fi
	ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 | $verdict |")
}

# meets VALUE OP LIMIT: "yes" or "no" (OP one of <= >= < >).
meets() {
	if awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
		if(op == "<=") ok = a <= b
		else if(op == ">=") ok = a >= b
		else if(op == "<") ok = a < b
		else ok = a > b
		exit !ok
	}'; then
		echo yes
	else
		echo no
	fi
}
