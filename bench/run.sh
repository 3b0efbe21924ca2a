#!/bin/bash
# qualreport measured against curl, the shell and the limits, in one run:
#
#   1. latency-bound: pcsim --latency-ms 20, 20,000 tenants, -j 64; wall
#      time against the ideal N x latency / concurrency, against
#      curl --parallel --parallel-max 64 fetching the same URLs to files,
#      and, without a target, against N x pcsim's real answer time (as
#      curl -w measures it) / concurrency and against wrk -c 64
#   2. CPU: no latency, 100,000 tenants; user+sys per 1,000 tenants of the
#      full pipeline (-o x.ndjson.gz) against curl --parallel writing
#      every body to one stream, and against xargs -P 64 curl | jq
#      (2,000 tenants, scaled)
#   3. memory: peak RSS at 10k, 100k and 1M tenants (ndjson.gz); and
#      listing 1M customers from pcsim (--all-customers with --customers
#      and a journal, the monthly run) against the same limit, and at
#      1M again as next month's run: --previous (the 1M run's manifest,
#      its detail ndjson.gz), --changes and --html; the page's size
#   4. throttled: the API's quota in four shapes, at qualreport's default
#      options (-j 16, no --rate), beside curl --parallel --retry 5 and the
#      ideal: token buckets of 8.33/s holding 1 (500/min), 20/s holding
#      20 (nginx's limit_req burst=20) and 200/s holding 20, and a fixed
#      window of 500 requests per 60 s (20 per 2 s in the smoke run; not
#      with nginx): wall time against the ideal, the share of 429s (for
#      the window: in the first window and after), retries before their
#      Retry-After, tenants lost
#
# and prints a markdown table (scenario | metric | qualreport | baseline
# | ratio | target | met?).
#
#   bench/run.sh [--out FILE] [BUILD_DIR]
#       Release build into BUILD_DIR (default build/bench), full sizes
#       (a few minutes); exits 1 when a target is missed.
#   bench/run.sh --smoke [--out FILE] [BUILD_DIR]
#       seconds-long, small sizes, BUILD_DIR used as it is (built only
#       when not given); asserts no target, but fails when a scenario
#       breaks: a crash, a lost tenant, a baseline that did not fetch
#       everything, no table.
#   bench/run.sh --server nginx [...]
#       the same scenarios against nginx instead of pcsim, a stand-in
#       server no one here wrote (bench/nginx.sh: echo_sleep for the
#       latency, limit_req for the throttle, its access log for the
#       counters).
#
# Every measured run gets a fresh server (pcsim or nginx) on a free port;
# tenant CSVs are generated deterministically into a temporary directory
# removed at exit. The clients and the server share the machine's CPUs:
# the server's own CPU is not counted, but it competes for the same cores
# in every run alike.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMOKE=0
OUT=
BUILD=
SERVER=pcsim

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--smoke) SMOKE=1 ;;
	--out)
		[[ $# -ge 2 ]] || { echo "--out needs a file" >&2; exit 2; }
		OUT=$2
		shift
		;;
	--out=*) OUT=${1#--out=} ;;
	--server)
		[[ $# -ge 2 ]] || { echo "--server needs pcsim or nginx" >&2; exit 2; }
		SERVER=$2
		shift
		;;
	--server=*) SERVER=${1#--server=} ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "unknown option $1" >&2; usage >&2; exit 2 ;;
	*)
		[[ -z $BUILD ]] || { echo "one BUILD_DIR only" >&2; exit 2; }
		BUILD=$1
		;;
	esac
	shift
done

case $SERVER in
pcsim | nginx) ;;
*) echo "--server: pcsim or nginx, not '$SERVER'" >&2; exit 2 ;;
esac
export SERVER

for tool in curl jq wrk xargs zcat cmake; do
	command -v "$tool" >/dev/null ||
		{ echo "$tool is not installed (scripts/bootstrap)" >&2; exit 2; }
done
[[ -x /usr/bin/time ]] ||
	{ echo "/usr/bin/time is not installed (scripts/bootstrap)" >&2; exit 2; }

if [[ $SMOKE -eq 1 && -n $BUILD ]]; then
	BUILD=$(cd "$BUILD" && pwd)
else
	BUILD=${BUILD:-$ROOT/build/bench}
	echo "== Release build in $BUILD" >&2
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" --target qualreport pcsim -j"$(nproc)" \
		>/dev/null
	BUILD=$(cd "$BUILD" && pwd)
fi
QR=$BUILD/qualreport
PCSIM=$BUILD/pcsim
[[ -x $QR && -x $PCSIM ]] ||
	{ echo "no qualreport and pcsim in $BUILD" >&2; exit 2; }

TMP=$(mktemp -d "${TMPDIR:-/tmp}/qr-bench.XXXXXX")
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/nginx.sh
source "$ROOT/bench/nginx.sh"
if [[ $SERVER == nginx ]]; then
	nginx_check || exit 2
fi
cleanup() {
	kill_server
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# curl --parallel and wrk hold a descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# A throwaway token: pcsim gets it on its command line (it is only a
# test server), qualreport from the environment, curl from a config file.
TOKEN=bench-$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export PARTNER_CENTER_TOKEN=$TOKEN

J=64
LAT_MS=20
if [[ $SMOKE -eq 1 ]]; then
	LAT_N=300 CPU_N=300 SHELL_N=100 WRK_SECS=1
	MEM_NS=(1000 3000 10000)
	# the quota shapes, scaled: seconds each
	Q8_N=40 Q20_N=100 Q200_N=400 QW="20 2 60"
else
	LAT_N=20000 CPU_N=100000 SHELL_N=2000 WRK_SECS=10
	MEM_NS=(10000 100000 1000000)
	# about 25 s of quota each; the window's last needed one opens
	# 60 s after the first
	Q8_N=200 Q20_N=600 Q200_N=6000 QW="500 60 1000"
fi
MEM_LIMIT_KIB=$((64 * 1024))

# 20000 -> "20,000"
commas() {
	echo "$1" | sed -e :a -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' \
		-e ta
}

# 1. Latency-bound --------------------------------------------------------
scenario_latency() {
	local n=$LAT_N in=$TMP/lat.csv scen qr_wall curl_wall ideal wrk_rate
	local wrk_wall r files answer eff metric

	scen="latency ${LAT_MS} ms, $(commas "$n") tenants, -j $J"
	echo "== $scen" >&2
	gen_tenants "$n" 11 "$in"

	start_server --latency-ms "$LAT_MS"
	run_qr lat_qr "$in" "$TMP/lat.ndjson.gz" -j "$J"
	check_qr lat_qr "$in" "$TMP/lat.ndjson.gz"
	stop_server
	qr_wall=$T_WALL

	start_server --latency-ms "$LAT_MS"
	mkdir "$TMP/lat.bodies"
	curl_config "$in" "$TMP/lat.curl" "$TMP/lat.bodies"
	timed lat_curl curl --no-progress-meter --parallel \
		--parallel-max "$J" -K "$TMP/lat.curl"
	check_rc lat_curl curl
	server_stats "$TMP/lat_curl.stats"
	check_served lat_curl "$TMP/lat_curl.stats" "$n"
	files=$(find "$TMP/lat.bodies" -type f | wc -l)
	[[ $files -eq $n ]] || die "lat_curl: $files bodies, want $n"
	stop_server
	rm -rf "$TMP/lat.bodies"
	curl_wall=$T_WALL

	# How long the server really takes to answer at this load (more than
	# LAT_MS: it never answers early, wakes late, and shares the CPUs):
	# curl's time_total per transfer, bodies to /dev/null.
	start_server --latency-ms "$LAT_MS"
	curl_config "$in" "$TMP/lat.null" /dev/null
	timed lat_curl_w curl --no-progress-meter --parallel \
		--parallel-max "$J" -K "$TMP/lat.null" \
		-w '%{time_total}\n' >"$TMP/lat.times"
	check_rc lat_curl_w curl
	server_stats "$TMP/lat_curl_w.stats"
	check_served lat_curl_w "$TMP/lat_curl_w.stats" "$n"
	stop_server
	answer=$(awk '{ s += $1 } END { printf "%.6f", s / NR }' \
		"$TMP/lat.times")

	# What a bare HTTP load generator gets from this server at the same
	# concurrency: the practical ceiling.
	start_server --no-token --latency-ms "$LAT_MS"
	WRK_TENANTS=$n wrk -t1 -c"$J" -d"${WRK_SECS}s" \
		-s "$ROOT/bench/wrk_tenants.lua" "$PCSIM_URL" >"$TMP/lat.wrk"
	stop_server
	if grep -q 'Non-2xx' "$TMP/lat.wrk"; then
		die "wrk: answers other than 200: $(cat "$TMP/lat.wrk")"
	fi
	wrk_rate=$(awk '/^Requests\/sec:/ { print $2 }' "$TMP/lat.wrk")
	[[ -n $wrk_rate ]] || die "wrk printed no rate: $(cat "$TMP/lat.wrk")"
	wrk_wall=$(calc "$n / $wrk_rate")

	ideal=$(calc "$n * $LAT_MS / 1000 / $J")
	r=$(calc "$ideal / $qr_wall")
	row "$scen" "wall time vs ideal N × latency / j (ideal / actual)" \
		"$(fmt %.2f "$qr_wall") s" "$(fmt %.2f "$ideal") s (ideal)" \
		"$(fmt %.3f "$r")" "≥ 0.95" "$(meets "$r" '>=' 0.95)"
	r=$(calc "$qr_wall / $curl_wall")
	row "$scen" "wall time vs curl --parallel-max $J to files" \
		"$(fmt %.2f "$qr_wall") s" "$(fmt %.2f "$curl_wall") s (curl)" \
		"$(fmt %.3f "$r")" "≤ 1.00" "$(meets "$r" '<=' 1.00)"
	eff=$(calc "$n * $answer / $J")
	r=$(calc "$eff / $qr_wall")
	metric="wall time vs N × $SERVER's measured answer time / j"
	metric+=" (curl -w mean $(fmt %.2f "$(calc "$answer * 1000")") ms)"
	row "$scen" "$metric" \
		"$(fmt %.2f "$qr_wall") s" "$(fmt %.2f "$eff") s" \
		"$(fmt %.3f "$r")" "—" "—"
	r=$(calc "$wrk_wall / $qr_wall")
	row "$scen" "wall time vs wrk -c $J at its rate (wrk / actual)" \
		"$(fmt %.2f "$qr_wall") s" \
		"$(fmt %.2f "$wrk_wall") s (wrk $(fmt %.0f "$wrk_rate")/s)" \
		"$(fmt %.3f "$r")" "—" "—"
}

# 2. CPU cost ---------------------------------------------------------------
scenario_cpu() {
	local n=$CPU_N in=$TMP/cpu.csv scen qr_cpu curl_cpu sh_cpu r metric

	scen="CPU, no latency, $(commas "$n") tenants, -j $J"
	echo "== $scen" >&2
	gen_tenants "$n" 21 "$in"

	start_server
	run_qr cpu_qr "$in" "$TMP/cpu.ndjson.gz" -j "$J"
	check_qr cpu_qr "$in" "$TMP/cpu.ndjson.gz"
	stop_server
	qr_cpu=$(calc "($T_USER + $T_SYS) * 1000 * 1000 / $n")

	start_server
	curl_config "$in" "$TMP/cpu.curl"
	timed cpu_curl curl --no-progress-meter --parallel \
		--parallel-max "$J" -K "$TMP/cpu.curl" >"$TMP/cpu.bodies"
	check_rc cpu_curl curl
	server_stats "$TMP/cpu_curl.stats"
	check_served cpu_curl "$TMP/cpu_curl.stats" "$n"
	stop_server
	rm -f "$TMP/cpu.bodies" "$TMP/cpu.curl"
	curl_cpu=$(calc "($T_USER + $T_SYS) * 1000 * 1000 / $n")

	# The shell way: a curl per tenant, 64 at a time, bodies piped into
	# one jq that turns them into rows (after sed drops the UTF-8 BOMs
	# that the API, and pcsim, put before some bodies: jq refuses them).
	# Same tenants (the first SHELL_N).
	start_server
	head -n $((SHELL_N + 1)) "$in" | tail -n +2 |
		awk -v u="$PCSIM_URL" \
			'{ printf "%s/v1/customers/%s/qualifications\n", u, $1 }' \
		>"$TMP/shell.urls"
	(umask 077 && printf 'header = "Authorization: Bearer %s"\n' \
		"$TOKEN" >"$TMP/shell.curl")
	# shellcheck disable=SC2016
	timed cpu_shell bash -c 'set -o pipefail
		xargs -P "$1" -n 1 curl -sS -K "$2" <"$3" |
		LC_ALL=C sed "s/\xef\xbb\xbf//g" |
		jq -c "(if type == \"array\" then . else .qualifications end)
			| .[] | {qualification,
				vetting_status: .vettingStatus,
				vetting_reason: .vettingReason,
				vetting_created_date:
				(.vettingCreatedDate // .vettingCreateDate)}" \
		>"$4"' _ "$J" "$TMP/shell.curl" "$TMP/shell.urls" \
		"$TMP/shell.rows"
	check_rc cpu_shell "xargs curl | jq"
	server_stats "$TMP/cpu_shell.stats"
	check_served cpu_shell "$TMP/cpu_shell.stats" "$SHELL_N"
	stop_server
	sh_cpu=$(calc "($T_USER + $T_SYS) * 1000 * 1000 / $SHELL_N")

	r=$(calc "$qr_cpu / $curl_cpu")
	metric="user+sys CPU per 1,000 tenants"
	row "$scen" "$metric vs curl --parallel-max $J, one output stream" \
		"$(fmt %.1f "$qr_cpu") ms" "$(fmt %.1f "$curl_cpu") ms (curl)" \
		"$(fmt %.3f "$r")" "≤ 1.50" "$(meets "$r" '<=' 1.50)"
	r=$(calc "$qr_cpu / $sh_cpu")
	row "$scen" "$metric vs xargs -P $J curl \\| jq ($(commas \
		"$SHELL_N") tenants)" \
		"$(fmt %.1f "$qr_cpu") ms" "$(fmt %.1f "$sh_cpu") ms (shell)" \
		"$(fmt %.3f "$r")" "—" "—"
}

# 3. Memory ---------------------------------------------------------------
scenario_memory() {
	local n n0=${MEM_NS[0]} rss rss0='' set0 sb expect r in scen seed=31
	local mib metric

	for n in "${MEM_NS[@]}"; do
		scen="memory, no latency, -j $J, ndjson.gz"
		echo "== $scen, $(commas "$n") tenants" >&2
		in=$TMP/mem.csv
		gen_tenants "$n" "$seed" "$in"
		seed=$((seed + 1))
		start_server
		run_qr "mem_$n" "$in" "$TMP/mem.ndjson.gz" -j "$J"
		check_qr "mem_$n" "$in" "$TMP/mem.ndjson.gz"
		stop_server
		if [[ $n -eq ${MEM_NS[-1]} ]]; then
			# last month's, archived as a monthly run would be
			mkdir -p "$TMP/prev"
			mv "$TMP/mem.ndjson.gz" "$TMP/mem.ndjson.gz.manifest.json" \
				"$TMP/prev/"
		else
			rm -f "$in"
		fi
		rm -f "$TMP/mem.ndjson.gz" "$TMP/mem.ndjson.gz.manifest.json"
		rss=$T_RSS
		mib=$(fmt %.1f "$(calc "$rss / 1024")")
		sb=$(set_bytes "$n")
		if [[ -z $rss0 ]]; then
			rss0=$rss
			set0=$sb
			metric="peak RSS, $(commas "$n") tenants (dedupe set"
			metric+=" $(fmt %.2f "$(calc "$sb / 1048576")") MiB)"
			row "$scen" "$metric" \
				"$mib MiB" "—" "—" "—" "—"
			continue
		fi
		# Flat apart from the dedupe set: the smallest run's RSS plus
		# what the set grew by.
		expect=$(calc "$rss0 + ($sb - $set0) / 1024")
		r=$(calc "$rss / $expect")
		metric="peak RSS, $(commas "$n") tenants, vs"
		metric+=" $(commas "$n0")'s + dedupe set growth"
		row "$scen" "$metric" \
			"$mib MiB" "$(fmt %.1f "$(calc "$expect / 1024")") MiB (flat)" \
			"$(fmt %.3f "$r")" "≤ 1.10" "$(meets "$r" '<=' 1.10)"
	done
	r=$(calc "$rss / $MEM_LIMIT_KIB")
	row "$scen" "peak RSS, $(commas "$n") tenants, vs the limit" \
		"$mib MiB" "64.0 MiB (limit)" "$(fmt %.3f "$r")" "≤ 1.00" \
		"$(meets "$r" '<=' 1.00)"
	MEM_CSV_RSS=$rss
	scenario_previous "$n" "$in" "$rss"
}

# 3b. The customer list instead of a CSV: pcsim lists n customers in pages
# of 500 while qualreport fetches them, writing --customers (names spilled
# to disk, not kept) and a journal. pcsim only: nginx serves no list.
scenario_listing() {
	local n=${MEM_NS[-1]} scen rss mib r rows
	local out=$TMP/list.ndjson.gz cust=$TMP/list.customers.ndjson.gz

	scen="listing, no latency, -j $J, ndjson.gz, --customers --journal"
	if [[ $SERVER != pcsim ]]; then
		echo "== $scen: pcsim only, skipped" >&2
		return 0
	fi
	echo "== $scen, $(commas "$n") customers" >&2
	start_server --customers "$n"
	timed "list_$n" "$QR" -q --no-progress --base-url "$PCSIM_URL" \
		--all-customers -j "$J" -o "$out" --customers "$cust" \
		--journal "$TMP/list.journal"
	check_rc "list_$n" qualreport
	stop_server
	jq -e --argjson n "$n" '.exit_code == 0 and .counts.valid == $n
		and .counts.answered == $n and .input.customers_listed == $n' \
		"$out.manifest.json" >/dev/null ||
		die "list_$n: manifest does not show $n customers answered:" \
			"$(jq -c .counts "$out.manifest.json")"
	rows=$(zcat "$cust" | wc -l)
	[[ $rows -eq $n ]] || die "list_$n: $rows customers rows, not $n"
	[[ $(zcat "$out" | cut -d'"' -f4 | sort -u | wc -l) -eq $n ]] ||
		die "list_$n: the detail report lacks tenants"
	rm -f "$out" "$out.manifest.json" "$cust" "$TMP/list.journal"
	rss=$T_RSS
	mib=$(fmt %.1f "$(calc "$rss / 1024")")
	if [[ -n ${MEM_CSV_RSS-} ]]; then
		r=$(calc "$rss / $MEM_CSV_RSS")
		row "$scen" "peak RSS, $(commas "$n") customers listed, vs $(commas "$n") CSV rows" \
			"$mib MiB" \
			"$(fmt %.1f "$(calc "$MEM_CSV_RSS / 1024")") MiB" \
			"$(fmt %.3f "$r")" "—" "—"
	fi
	r=$(calc "$rss / $MEM_LIMIT_KIB")
	row "$scen" "peak RSS, $(commas "$n") customers listed, vs the limit" \
		"$mib MiB" "64.0 MiB (limit)" "$(fmt %.3f "$r")" "≤ 1.00" \
		"$(meets "$r" '<=' 1.00)"
}

# 3b. Next month: the largest run again, with the last one as --previous.
# pcsim answers with another seed (so many tenants change; nginx serves
# the same bodies), the changes report and the page are written, and
# peak RSS is compared with the same run without --previous and with the
# limit; the page's size is reported.
scenario_previous() {
	local n=$1 in=$2 rss_plain=$3 scen rss mib r seed=() page rows

	scen="memory, no latency, -j $J, ndjson.gz, --previous"
	scen+=" (ndjson.gz manifest) --changes --html"
	echo "== $scen, $(commas "$n") tenants" >&2
	[[ $SERVER == pcsim ]] && seed=(--seed 2)
	start_server "${seed[@]}"
	run_qr "prev_$n" "$in" "$TMP/next.ndjson.gz" -j "$J" \
		--previous "$TMP/prev/mem.ndjson.gz.manifest.json" \
		--changes "$TMP/changes.ndjson.gz" --html "$TMP/report.html"
	check_qr "prev_$n" "$in" "$TMP/next.ndjson.gz"
	stop_server
	rss=$T_RSS
	mib=$(fmt %.1f "$(calc "$rss / 1024")")
	r=$(calc "$rss / $rss_plain")
	row "$scen" \
		"peak RSS, $(commas "$n") tenants, vs the same run without it" \
		"$mib MiB" \
		"$(fmt %.1f "$(calc "$rss_plain / 1024")") MiB" \
		"$(fmt %.3f "$r")" "—" "—"
	r=$(calc "$rss / $MEM_LIMIT_KIB")
	row "$scen" "peak RSS, $(commas "$n") tenants, vs the limit" \
		"$mib MiB" "64.0 MiB (limit)" "$(fmt %.3f "$r")" "≤ 1.00" \
		"$(meets "$r" '<=' 1.00)"
	page=$(stat -c %s "$TMP/report.html")
	rows=$(jq '.outputs[] | select(.role == "changes") | .rows' \
		"$TMP/next.ndjson.gz.manifest.json")
	row "$scen" "HTML page size, $(commas "$n") tenants ($(commas \
		"$rows") change rows)" \
		"$(fmt %.0f "$(calc "$page / 1024")") KiB" "—" "—" "≤ 2048 KiB" \
		"$(meets "$page" '<=' 2097152)"
	rm -rf "$in" "$TMP/prev" "$TMP"/next.ndjson.gz* \
		"$TMP/changes.ndjson.gz" "$TMP/report.html"
}

# 4. Throttled: the API's quota --------------------------------------------
# One shape: a name, pcsim's throttle, the tenants, the ideal (s) and the
# throughput target; qualreport at default options (-j 16, no --rate)
# beside curl --parallel --parallel-max 16 --retry 5 (which honours
# Retry-After), one after the other, each against a fresh server.
quota_shape() {
	local name=$1 throttle=$2 n=$3 ideal=$4 target=$5 window=$6
	local in=$TMP/q.csv scen req thr early w1 lost r p429 curl_wall
	local curl_req curl_thr curl_ok curl_early qr_wall

	scen="$name, $(commas "$n") tenants, default options"
	echo "== $scen" >&2
	gen_tenants "$n" 43 "$in"
	# shellcheck disable=SC2086
	start_server $throttle
	run_qr "q_qr" "$in" "$TMP/q.ndjson"
	server_stats "$TMP/q_qr.stats"
	stop_server
	check_qr q_qr "$in" "$TMP/q.ndjson"
	qr_wall=$T_WALL
	req=$(jq .requests "$TMP/q_qr.stats")
	thr=$(jq .throttled "$TMP/q_qr.stats")
	early=$(jq .retry_after_violations "$TMP/q_qr.stats")
	w1=$(jq '.throttled_first_window // 0' "$TMP/q_qr.stats")

	# shellcheck disable=SC2086
	start_server $throttle
	# bodies to files: curl --retry truncates its output before a
	# retry, which /dev/null refuses
	mkdir "$TMP/q.bodies"
	curl_config "$in" "$TMP/q.curl" "$TMP/q.bodies"
	# the final status of every tenant, one a line
	timed q_curl bash -c 'curl --no-progress-meter --parallel \
		--parallel-max 16 --retry 5 -w "%{http_code}\n" -K "$1" >"$2"' \
		_ "$TMP/q.curl" "$TMP/q_curl.codes"
	check_rc q_curl curl
	server_stats "$TMP/q_curl.stats"
	stop_server
	curl_wall=$T_WALL
	curl_ok=$(grep -c '^200$' "$TMP/q_curl.codes" || true)
	curl_req=$(jq .requests "$TMP/q_curl.stats")
	curl_thr=$(jq .throttled "$TMP/q_curl.stats")
	curl_early=$(jq .retry_after_violations "$TMP/q_curl.stats")

	r=$(calc "$ideal / $qr_wall")
	row "$scen" "wall time: ideal / wall" \
		"$(fmt %.2f "$qr_wall") s ($(fmt %.3f "$r"))" \
		"ideal $(fmt %.2f "$ideal") s; curl --parallel --retry 5: $(fmt %.2f "$curl_wall") s ($(fmt %.3f "$(calc "$ideal / $curl_wall")"))" \
		"$(fmt %.3f "$r")" "≥ $target" "$(meets "$r" '>=' "$target")"
	p429=$(calc "$thr * 100 / $req")
	if [[ $window -eq 1 ]]; then
		local after after_req
		after=$((thr - w1))
		after_req=$(calc "$req - $w1")
		row "$scen" "429s in the first window, and after it (share)" \
			"$w1, then $after ($(fmt %.2f "$(calc "$after * 100 / $after_req")")%)" \
			"curl: $curl_thr of $curl_req requests" "—" \
			"≤ 16, then < 2%" \
			"$(meets "$(calc "($w1 <= 16) && ($after * 100 < 2 * $after_req)")" '>' 0)"
	else
		row "$scen" "requests answered 429" \
			"$(fmt %.2f "$p429")% ($thr of $req)" \
			"curl: $(fmt %.2f "$(calc "$curl_thr * 100 / $curl_req")")% ($curl_thr of $curl_req)" \
			"—" "< 2%" "$(meets "$p429" '<' 2)"
	fi
	row "$scen" "retries before their Retry-After; tenants lost" \
		"$early; 0 of $(commas "$n")" \
		"curl: $curl_early; $((n - curl_ok)) lost" "—" "0; 0" \
		"$(meets "$early" '<=' 0)"
	rm -rf "$TMP/q_curl.codes" "$TMP/q.bodies"
}

scenario_throttle() {
	local w_n w_s w_tenants

	quota_shape "bucket 8.33/s holding 1 (500/min)" \
		"--throttle-rps 8.333 --throttle-burst 1" "$Q8_N" \
		"$(calc "($Q8_N - 1) / 8.333")" 0.95 0
	quota_shape "bucket 20/s holding 20 (nginx limit_req burst=20)" \
		"--throttle-rps 20 --throttle-burst 20" "$Q20_N" \
		"$(calc "($Q20_N - 20) / 20")" 0.95 0
	quota_shape "bucket 200/s holding 20" \
		"--throttle-rps 200 --throttle-burst 20" "$Q200_N" \
		"$(calc "($Q200_N - 20) / 200")" 0.95 0
	if [[ $SERVER == nginx ]]; then
		echo "== window quota: not with nginx (limit_req is a bucket)" >&2
		return
	fi
	read -r w_n w_s w_tenants <<<"$QW"
	# the last needed window opens (ceil(N / budget) - 1) windows on
	quota_shape "window $w_n per $w_s s" "--throttle-window $w_n/$w_s" \
		"$w_tenants" \
		"$(calc "int(($w_tenants + $w_n - 1) / $w_n - 1) * $w_s")" 0.90 1
}

machine() {
	local cpu deb srv

	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
	deb=$(cat /etc/debian_version 2>/dev/null || echo '?')
	if [[ $SERVER == nginx ]]; then
		srv=$("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //')
	else
		srv=pcsim
	fi
	printf '%s UTC; %s CPUs (%s), Debian %s, Linux %s, %s; server %s; load %s\n' \
		"$(date -u '+%Y-%m-%d %H:%M')" "$(nproc)" "$cpu" "$deb" \
		"$(uname -r)" "$(curl --version | head -n1 | cut -d' ' -f1-2)" \
		"$srv" "$(cut -d' ' -f1-3 /proc/loadavg)"
}

MACHINE=$(machine)
echo "machine: $MACHINE" >&2
echo "qualreport: $QR$([[ $SMOKE -eq 1 ]] && echo ' (smoke run)')" >&2

scenario_latency
scenario_cpu
scenario_memory
scenario_listing
scenario_throttle

{
	if [[ $SMOKE -eq 1 ]]; then
		echo "Smoke run (sizes too small for the targets), $MACHINE"
	else
		echo "$MACHINE"
	fi
	echo
	echo "| scenario | metric | qualreport | baseline | ratio | target | met? |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
} >"$TMP/table.md"
[[ ${#ROWS[@]} -ge 13 ]] || die "the table is incomplete"
echo
cat "$TMP/table.md"
if [[ -n $OUT ]]; then
	cp "$TMP/table.md" "$OUT"
fi
echo
if [[ $SMOKE -eq 1 ]]; then
	echo "RESULT: smoke run complete, every tenant accounted for" \
		"(targets not assessed)"
elif [[ $MISSED -gt 0 ]]; then
	echo "RESULT: $MISSED target(s) missed"
	exit 1
else
	echo "RESULT: all targets met"
fi
