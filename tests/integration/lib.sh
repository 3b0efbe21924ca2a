# Shared helpers for the integration tests (sourced). Each test starts its
# own server (pcsim, or nginx in t_nginx.sh) on a free loopback port and
# stops it on exit: every PID in SERVER_PIDS is killed by cleanup.
#   $QR     qualreport binary      $PCSIM  pcsim binary
#   $SRC    source tree            $TMP    a scratch dir removed on exit
set -u
QR=$1
PCSIM=$2
SRC=$3
TMP=$(mktemp -d)
PASSES=0
FAILS=0
SERVER_PIDS=()

cleanup() {
  for pid in "${SERVER_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  rm -rf "$TMP"
}
trap cleanup EXIT

# start_pcsim ARGS... : sets PCSIM_URL and PCSIM_PID
start_pcsim() {
  local log="$TMP/pcsim.$RANDOM.out"
  "$PCSIM" --port 0 "$@" >"$log" 2>"$log.err" &
  PCSIM_PID=$!
  SERVER_PIDS+=("$PCSIM_PID")
  for _ in $(seq 1 100); do
    PCSIM_URL=$(head -n 1 "$log" 2>/dev/null)
    [[ "$PCSIM_URL" == http*://127.0.0.1:* ]] && return 0
    kill -0 "$PCSIM_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "pcsim did not start: $(cat "$log.err")" >&2
  exit 1
}

stop_pcsim() {
  kill "$PCSIM_PID" 2>/dev/null
  wait "$PCSIM_PID" 2>/dev/null
}

stats() { curl -sf "$PCSIM_URL/stats"; }

ok() { PASSES=$((PASSES + 1)); }
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

# check DESCRIPTION GOT WANT
check() {
  if [ "$2" == "$3" ]; then ok; else fail "$1: got '$2', want '$3'"; fi
}

# check_file DESCRIPTION GOT-FILE WANT-FILE
check_file() {
  if cmp -s "$2" "$3"; then ok; else
    fail "$1: $2 differs from $3"; diff -u "$3" "$2" | head -n 40; fi
}

# gen_tenants N SEED : N distinct lowercase GUIDs, one per line
gen_tenants() {
  local n=$1 seed=$2
  awk -v n="$n" -v seed="$seed" 'BEGIN {
    srand(seed);
    for (i = 0; i < n; i++) {
      s = "";
      for (k = 0; k < 32; k++) s = s sprintf("%x", int(rand() * 16));
      printf "%s-%s-4%s-a%s-%s\n", substr(s,1,8), substr(s,9,4),
             substr(s,14,3), substr(s,18,3), substr(s,21,12);
    }
  }'
}

finish() {
  echo "$PASSES passed, $FAILS failed"
  [ "$FAILS" = 0 ]
}
