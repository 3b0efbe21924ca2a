#!/usr/bin/env bash
# --previous / --changes end to end. Two months of 600 tenants whose
# answers differ (another pcsim seed, 404s, failures that stay Error, a
# changed customer list) give exactly the rows an independent
# implementation of the documented rules (Python, below) computes from the
# two detail reports, in every previous format; reruns and journal replays
# give the same bytes. A bad previous report (another column order, a
# malformed line, a manifest whose hash does not match, a missing file)
# stops the run before any request with exit 3 and nothing written; a
# changes report that cannot be written publishes nothing (exit 5).
source "$(dirname "$0")/lib.sh"
export PARTNER_CENTER_TOKEN=changes-token
gen_tenants 600 17 >"$TMP/all"
# month 1: tenants 1-550; month 2: 51-600 in another order (50 gone, 50 new)
{ echo tenant_id; sed -n '1,550p' "$TMP/all"; } >"$TMP/in1.csv"
{ echo tenant_id; sed -n '51,600p' "$TMP/all" | sort; } >"$TMP/in2.csv"

month() { # month N SEED ARGS...: pcsim with that seed, qualreport
  local n=$1 seed=$2; shift 2
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed "$seed" \
    --unknown-rate 0.05 --fail-rate 0.04
  "$QR" "$TMP/in$n.csv" --base-url "$PCSIM_URL" --no-progress -q -j 8 \
    --retries 0 "$@"
  RC=$?
  stop_pcsim
}

month 1 3 -o "$TMP/m1.csv"
check "month 1 exit code (some Error rows)" "$RC" 1
zcat -f "$TMP/m1.csv" >/dev/null
# the same month as NDJSON and NDJSON.gz for --previous in every format
/usr/bin/python3 - "$TMP/m1.csv" "$TMP/m1.ndjson" <<'EOF'
import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
with open(sys.argv[2], "w") as out:
    for r in rows:
        o = {k: (None if v == "" else int(v) if k in ("http_status", "attempts") else v)
             for k, v in r.items()}
        out.write(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n")
EOF
gzip -k "$TMP/m1.ndjson"

month 2 4 -o "$TMP/m2.csv" --previous "$TMP/m1.csv.manifest.json" \
  --changes "$TMP/changes.csv"
check "month 2 exit code" "$RC" 1

# The rules (changes.h, README), implemented again from the two detail
# reports alone.
/usr/bin/python3 - "$TMP/m1.csv" "$TMP/m2.csv" "$TMP/want.csv" <<'EOF'
import csv, sys
def tenants(path):
    out, order = {}, []
    for r in csv.DictReader(open(path, newline="")):
        t = r["tenant_id"]
        if t not in out:
            out[t] = []
            order.append(t)
        out[t].append(r)
    return out, order
prev, porder = tenants(sys.argv[1])
cur, corder = tenants(sys.argv[2])
is_error = lambda rows: any(r["qualification"] == "" and r["vetting_status"] == "Error" for r in rows)
rows = []
def row(t, q, kind, p, c):
    rows.append([t, q, kind,
                 p["vetting_status"] if p else "", c["vetting_status"] if c else "",
                 p["vetting_reason"] if p else "", c["vetting_reason"] if c else "",
                 p["vetting_created_date"] if p else "", c["vetting_created_date"] if c else ""])
for t in corder:
    c = cur[t]
    if t not in prev:
        for r in c: row(t, r["qualification"], "new_tenant", None, r)
        continue
    p = prev[t]
    if is_error(p) and is_error(c):
        row(t, "", "unknown", p[0], c[0]); continue
    if is_error(c):
        for r in p: row(t, r["qualification"], "unknown", r, c[0])
        continue
    if is_error(p):
        for r in c: row(t, r["qualification"], "unknown", p[0], r)
        continue
    pq = [r for r in p if r["qualification"]]
    cq = [r for r in c if r["qualification"]]
    if not pq and not cq:
        if p[0]["vetting_status"] != c[0]["vetting_status"]:
            row(t, "", "status_changed", p[0], c[0])
        elif p[0]["vetting_reason"] != c[0]["vetting_reason"]:
            row(t, "", "reason_changed", p[0], c[0])
        continue
    pm, cm = [None] * len(pq), [None] * len(cq)
    for same in (lambda a, b: (a["qualification"], a["vetting_status"], a["vetting_reason"]) ==
                              (b["qualification"], b["vetting_status"], b["vetting_reason"]),
                 lambda a, b: a["qualification"] == b["qualification"]):
        for j, b in enumerate(cq):
            if cm[j] is not None: continue
            for i, a in enumerate(pq):
                if pm[i] is None and same(a, b):
                    pm[i], cm[j] = j, i
                    break
    for j, b in enumerate(cq):
        if cm[j] is None: row(t, b["qualification"], "added", None, b); continue
        a = pq[cm[j]]
        if a["vetting_status"] != b["vetting_status"]: row(t, b["qualification"], "status_changed", a, b)
        elif a["vetting_reason"] != b["vetting_reason"]: row(t, b["qualification"], "reason_changed", a, b)
    for i, a in enumerate(pq):
        if pm[i] is None: row(t, a["qualification"], "removed", a, None)
for t in porder:
    if t not in cur:
        for r in prev[t]: row(t, r["qualification"], "gone_tenant", r, None)
with open(sys.argv[3], "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["tenant_id", "qualification", "change", "previous_status",
                "vetting_status", "previous_reason", "vetting_reason",
                "previous_created_date", "vetting_created_date"])
    w.writerows(rows)
EOF
check_file "changes = the rules computed independently" "$TMP/changes.csv" "$TMP/want.csv"
kinds=$(tail -n +2 "$TMP/changes.csv" | cut -d, -f3 | sort | uniq -c | awk '{print $2}' | tr '\n' ' ')
check "change kinds seen" "$kinds" \
  "added gone_tenant new_tenant reason_changed removed status_changed unknown "
check "changes listed in the manifest" \
  "$(jq -c '.outputs[] | select(.role == "changes") | [.rows, .format]' "$TMP/m2.csv.manifest.json")" \
  "[$(($(wc -l <"$TMP/changes.csv") - 1)),\"csv\"]"

# The same rows against the previous report in every format, as NDJSON.gz
# too; a rerun gives the same bytes.
for prev in m1.csv m1.ndjson m1.ndjson.gz; do
  month 2 4 -o "$TMP/m2b.csv" --previous "$TMP/$prev" --changes "$TMP/c2.csv"
  check_file "changes against $prev" "$TMP/c2.csv" "$TMP/changes.csv"
done
month 2 4 -o "$TMP/m2c.ndjson.gz" --previous "$TMP/m1.ndjson.gz" \
  --changes "$TMP/c3.ndjson.gz"
check "NDJSON.gz changes rows" "$(zcat "$TMP/c3.ndjson.gz" | jq -r '[.tenant_id, .change] | join(",")' | md5sum)" \
  "$(tail -n +2 "$TMP/changes.csv" | cut -d, -f1,3 | md5sum)"

# Replayed from a finished journal, the server gone (a request would be
# an Error row): the same bytes.
month 2 4 -o "$TMP/j.csv" --journal "$TMP/j.journal" --previous "$TMP/m1.csv" \
  --changes "$TMP/cj1.csv"
"$QR" "$TMP/in2.csv" --base-url "$PCSIM_URL" --no-progress -q -o "$TMP/j.csv" \
  --journal "$TMP/j.journal" --previous "$TMP/m1.csv" --changes "$TMP/cj2.csv" \
  --retries 0
check "replay exit code" "$?" 1
check_file "changes replayed from the journal" "$TMP/cj2.csv" "$TMP/cj1.csv"
check_file "changes with a journal = without" "$TMP/cj1.csv" "$TMP/changes.csv"

# ---- refusals ------------------------------------------------------------
# refused WANT-EXIT MESSAGE ARGS...: exit code, message, no request made,
# nothing at the output paths.
refused() {
  local want=$1 msg=$2; shift 2
  rm -f "$TMP/r.csv" "$TMP/r.csv.manifest.json" "$TMP/rc.csv" "$TMP/r.html"
  start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 4
  "$QR" "$TMP/in2.csv" --base-url "$PCSIM_URL" --no-progress -o "$TMP/r.csv" \
    "$@" 2>"$TMP/err"
  local rc=$?
  local req; req=$(stats | jq .requests)
  stop_pcsim
  check "$msg: exit code" "$rc" "$want"
  grep -qF -- "$msg" "$TMP/err" && ok || fail "message '$msg' in: $(cat "$TMP/err")"
  [ "$want" = 5 ] || check "$msg: requests made" "$req" 0
  check "$msg: outputs left" "$(ls "$TMP"/r.csv "$TMP"/rc.csv "$TMP"/r.html 2>/dev/null)" ""
}
refused 2 "--changes needs --previous" --changes "$TMP/rc.csv"
refused 2 "--previous is used only by --changes and --html" --previous "$TMP/m1.csv"
refused 3 "cannot open previous report $TMP/none.csv" --previous "$TMP/none.csv" \
  --changes "$TMP/rc.csv"
# An older detail report: request_id missing, error before attempts.
{ echo "tenant_id,qualification,vetting_status,vetting_reason,vetting_created_date,http_status,error,attempts"
  tail -n +2 "$TMP/m1.csv" | cut -d, -f1-6,8,7; } >"$TMP/old.csv"
refused 3 "$TMP/old.csv: not a detail report of this version: header column 7 is 'error' where it has 'attempts'" \
  --previous "$TMP/old.csv" --changes "$TMP/rc.csv" --html "$TMP/r.html"
# A malformed line, a quote never closed.
{ head -n 100 "$TMP/m1.csv"; sed -n 101p "$TMP/m1.csv" | sed 's/,/,x"y/'
  tail -n +102 "$TMP/m1.csv"; } >"$TMP/bad.csv"
refused 3 "$TMP/bad.csv:101: malformed CSV" --previous "$TMP/bad.csv" --changes "$TMP/rc.csv"
{ head -n 100 "$TMP/m1.csv"; sed -n 101p "$TMP/m1.csv" | sed 's/,/,"/'
  tail -n +102 "$TMP/m1.csv"; } >"$TMP/bad.csv"
refused 3 "$TMP/bad.csv:101: malformed CSV: the record never ends" \
  --previous "$TMP/bad.csv" --changes "$TMP/rc.csv"
sed '3s/"attempts":[0-9]*/"attempts":"x"/' "$TMP/m1.ndjson" >"$TMP/bad.ndjson"
refused 3 "$TMP/bad.ndjson:3: attempts is not an integer" --previous "$TMP/bad.ndjson" \
  --changes "$TMP/rc.csv"
# The manifest's detail report changed since: both hashes named.
cp "$TMP/m1.csv" "$TMP/m1.keep"
printf '%s,,None,,,200,1,,\n' 00000000-0000-4000-8000-000000000001 >>"$TMP/m1.csv"
refused 3 "$TMP/m1.csv: SHA-256 $(sha256sum <"$TMP/m1.csv" | cut -d' ' -f1), but the manifest $TMP/m1.csv.manifest.json records $(jq -r '.outputs[0].sha256' "$TMP/m1.csv.manifest.json")" \
  --previous "$TMP/m1.csv.manifest.json" --changes "$TMP/rc.csv"
mv "$TMP/m1.keep" "$TMP/m1.csv"
# The changes report cannot be written: no report published at all.
refused 5 "/dev/full" --previous "$TMP/m1.csv" --changes /dev/full --html "$TMP/r.html"
check "no temporary files left" "$(ls -A "$TMP" | grep -c '\.tmp$')" 0
finish
