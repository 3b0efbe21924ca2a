#!/usr/bin/env bash
# When our own machine fails us (an allocation), the run says so and
# exits 5; it never mistakes it for a missing credential (exit 4), and the
# secret it could not copy is not lost from the environment first.
set -u
qr=$1
fails=0 passes=0
if [ -z "${FAILSHIM:-}" ] || [ ! -f "$FAILSHIM" ]; then
  echo "SKIP: no failshim (sanitizer build)"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf 'tenant_id\n3fa85f64-5717-4562-b3fc-2c963f66afa6\n' >"$tmp/in.csv"

out=$(PARTNER_CENTER_TOKEN=tok-oom-1 FAILSHIM_STRDUP=tok-oom-1 \
      LD_PRELOAD=$FAILSHIM "$qr" --base-url http://127.0.0.1:9 \
      "$tmp/in.csv" 2>&1 >/dev/null); rc=$?
if [ $rc = 5 ] && [[ "$out" == *"out of memory"* ]]; then passes=$((passes + 1))
else echo "FAIL: strdup of the token failing -> $rc: $out"; fails=$((fails + 1)); fi

out=$(PARTNER_CENTER_CLIENT_SECRET=sec-oom-2 FAILSHIM_STRDUP=sec-oom-2 \
      LD_PRELOAD=$FAILSHIM "$qr" --base-url http://127.0.0.1:9 \
      --tenant t --client-id c "$tmp/in.csv" 2>&1 >/dev/null); rc=$?
if [ $rc = 5 ] && [[ "$out" == *"out of memory"* ]]; then passes=$((passes + 1))
else echo "FAIL: strdup of the secret failing -> $rc: $out"; fails=$((fails + 1)); fi

echo "$passes passed, $fails failed"
[ "$fails" = 0 ]
