#!/bin/bash
# Benchmark pcsim with wrk: throughput on one tenant and on many, then
# 2,000 concurrent requests at --latency-ms 100.
#
#   bench/pcsim_wrk.sh [BUILD_DIR]
#
# Without BUILD_DIR a Release build is made in build-bench. DURATION
# (default 10s) sets the length of each run. Exits 1 when a target is
# missed: >= 15,000 req/s at 64 connections without latency, and at 2,000
# connections with --latency-ms 100 a median within 10 ms of 100 ms and a
# p99 under 150 ms. wrk runs on the same machine, so it shares the CPUs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${DURATION:-10s}
TENANT=6f9619ff-8b86-d011-b42d-00c04fc964ff
TMP=$(mktemp -d "${TMPDIR:-/tmp}/pcsim-bench.XXXXXX")
PID=
missed=0

cleanup() {
	if [[ -n "$PID" ]]; then
		kill "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

if [[ $# -ge 1 ]]; then
	BUILD=$(cd "$1" && pwd)
else
	BUILD=$ROOT/build-bench
	cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build "$BUILD" --target pcsim -j"$(nproc)" >/dev/null
fi
PCSIM=$BUILD/pcsim
[[ -x "$PCSIM" ]] || { echo "no pcsim in $BUILD" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 2; }

# wrk needs a descriptor per connection.
ulimit -n "$(ulimit -Hn)"

start() {
	"$PCSIM" --port 0 "$@" >"$TMP/url" 2>"$TMP/err" &
	PID=$!
	local i
	for ((i = 0; i < 200; i++)); do
		URL=$(head -n1 "$TMP/url" 2>/dev/null || true)
		[[ -n "$URL" ]] && return
		sleep 0.02
	done
	echo "pcsim did not start: $(cat "$TMP/err")" >&2
	exit 2
}

stop() {
	kill "$PID"
	wait "$PID" || true
	PID=
}

# wrk output -> "rps p50_ms p99_ms" (wrk prints us, ms or s).
summarize() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return v / 1000
		if (v ~ /ms$/) return v + 0
		if (v ~ /s$/) return v * 1000
		return v + 0
	}
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	END { printf "%d %.2f %.2f\n", rps, p50, p99 }' "$1"
}

run() {
	local name=$1
	shift
	echo "== $name: wrk $*"
	wrk "$@" | tee "$TMP/$name.out"
	curl -s "$URL/stats" >"$TMP/$name.stats"
	echo "   pcsim /stats: $(jq -c '{requests, by_status, max_in_flight,
		delayed, late, max_late_ms}' "$TMP/$name.stats")"
	curl -s -X POST "$URL/stats/reset" >/dev/null
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' \
	/proc/cpuinfo | head -n1), $(uname -r)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "pcsim: $PCSIM"

start
run one_tenant -t2 -c64 -d"$DURATION" --latency \
	"$URL/v1/customers/$TENANT/qualifications"
run many_tenants -t2 -c64 -d"$DURATION" --latency \
	-s "$ROOT/bench/wrk_tenants.lua" "$URL"
echo "   distinct tenants seen: $(jq .tenants "$TMP/many_tenants.stats")"
stop

start --latency-ms 100
run latency_100ms -t2 -c2000 -d"$DURATION" --latency \
	"$URL/v1/customers/$TENANT/qualifications"
stop

read -r rps1 _ _ < <(summarize "$TMP/one_tenant.out")
read -r rps2 _ _ < <(summarize "$TMP/many_tenants.out")
read -r rps3 p50 p99 < <(summarize "$TMP/latency_100ms.out")
echo
echo "summary:"
echo "  one tenant, 64 connections:      $rps1 req/s (target >= 15000)"
echo "  many tenants, 64 connections:    $rps2 req/s (target >= 15000)"
echo "  --latency-ms 100, 2000 conns:    $rps3 req/s, p50 $p50 ms," \
	"p99 $p99 ms (target p50 100..110, p99 < 150)"
for r in "$rps1" "$rps2"; do
	[[ $r -ge 15000 ]] || missed=1
done
awk -v a="$p50" -v b="$p99" \
	'BEGIN { exit !(a >= 100 && a <= 110 && b < 150) }' || missed=1
for s in one_tenant many_tenants latency_100ms; do
	if jq -e '.by_status | keys - ["200"] | length > 0' \
		"$TMP/$s.stats" >/dev/null; then
		echo "  $s: answers other than 200" >&2
		missed=1
	fi
done
if [[ $missed -ne 0 ]]; then
	echo "RESULT: target missed"
	exit 1
fi
echo "RESULT: targets met"
