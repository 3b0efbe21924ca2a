# Helpers for the quota tests t_quota_*.sh (sourced after lib.sh): one
# qualreport run at default options (-j 16, no --rate) against a pcsim
# with a quota, and what pcsim's /stats says of it.
#
# quota_run NAME TENANTS "PCSIM ARGS" [QUALREPORT ARGS...]
#   runs it and sets Q_RC, Q_ROWS (distinct tenants in the report),
#   Q_REQ, Q_429 (Q_429_W1 of them in a window quota's first window),
#   Q_EARLY (requests before their tenant's Retry-After
#   had passed), Q_MAXFL (pcsim's max in flight); $TMP/NAME.err holds
#   qualreport's stderr.
export PARTNER_CENTER_TOKEN=quota-token

quota_run() {
  local name=$1 n=$2 pcsim_args=$3 s
  shift 3
  gen_tenants "$n" 12 >"$TMP/$name.csv"
  # shellcheck disable=SC2086
  start_pcsim --token quota-token --seed 3 $pcsim_args
  "$QR" "$TMP/$name.csv" --base-url "$PCSIM_URL" -o "$TMP/$name.out.csv" \
    --no-progress "$@" 2>"$TMP/$name.err"
  Q_RC=$?
  s=$(stats)
  stop_pcsim
  Q_ROWS=$(tail -n +2 "$TMP/$name.out.csv" | cut -d, -f1 | sort -u | wc -l)
  Q_REQ=$(jq .requests <<<"$s")
  Q_429=$(jq .throttled <<<"$s")
  Q_429_W1=$(jq .throttled_first_window <<<"$s")
  Q_EARLY=$(jq .retry_after_violations <<<"$s")
  Q_MAXFL=$(jq .max_in_flight <<<"$s")
  echo "$name: $n tenants, $Q_REQ requests, $Q_429 answered 429" \
    "($Q_429_W1 in a first window)," \
    "$Q_EARLY early, max $Q_MAXFL in flight"
}

# quota_check NAME TENANTS MAX_PERCENT_429: what every quota run must show.
quota_check() {
  local name=$1 n=$2 pct=$3
  check "$name: exit code" "$Q_RC" 0
  check "$name: every tenant answered" "$Q_ROWS" "$n"
  check "$name: no retry before its Retry-After" "$Q_EARLY" 0
  if [ "$Q_MAXFL" -le 16 ]; then ok; else
    fail "$name: $Q_MAXFL in flight, more than -j 16"; fi
  if awk -v t="$Q_429" -v r="$Q_REQ" -v p="$pct" \
       'BEGIN { exit !(t * 100 < p * r) }'; then ok; else
    fail "$name: $Q_429 of $Q_REQ requests answered 429 (want < $pct%)"
    tail -n 5 "$TMP/$name.err"
  fi
}
