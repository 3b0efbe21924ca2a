#!/usr/bin/env bash
# The HTML page in a real browser: two runs a month apart against pcsim
# with hostile answers (reasons, error descriptions, a qualification name
# that are markup, scripts, and requests to a listener of this test),
# then headless Chromium renders the second run's page. From the rendered
# DOM: the numbers are the summary's, the manifest's, the detail's and the
# changes report's; every hostile value is text, no script ran (the title
# and the body are what qualreport wrote, nothing injected); and the page
# made no request: every connection the browser makes goes to a listener
# (as its proxy, and as the host the hostile URLs name) that records each
# one. The browser itself, whatever the page, asks Google for component
# updates, sign-in and the time; those exact requests are its own and
# listed apart, anything else fails (the page names no host at all, and a
# canary page shows that a page's requests do reach the listener).
# Printed, the page is A4.
source "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null ||
  { echo "FAIL: chromium is not installed (run scripts/bootstrap)"; exit 1; }
export PARTNER_CENTER_TOKEN=html-token

# ---- a listener that records every connection ----------------------------
/usr/bin/python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(64)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
log = open(sys.argv[2], "a")
while True:
    c, addr = s.accept()
    c.settimeout(2)
    try: first = c.recv(300)
    except OSError: first = b""
    # the request line, as text
    log.write(first.split(b"\r\n")[0].decode("latin-1") + "\n")
    log.flush()
    c.close()
' "$TMP/listen.port" "$TMP/listen.log" &
SERVER_PIDS+=($!)
for _ in $(seq 1 100); do [ -s "$TMP/listen.port" ] && break; sleep 0.05; done
PORT=$(cat "$TMP/listen.port")
[ -n "$PORT" ] || { echo "FAIL: listener did not start"; exit 1; }
: >"$TMP/listen.log"
URL=http://127.0.0.1:$PORT

# ---- the tenants and two months of answers -------------------------------
T=(00000000-0000-4000-8000-0000000000a1 00000000-0000-4000-8000-0000000000a2
   00000000-0000-4000-8000-0000000000a3 00000000-0000-4000-8000-0000000000a4
   00000000-0000-4000-8000-0000000000a5 00000000-0000-4000-8000-0000000000a6
   00000000-0000-4000-8000-0000000000a7 00000000-0000-4000-8000-0000000000a8)
{ echo tenant_id; printf '%s\n' "${T[@]}"; gen_tenants 30 77; } >"$TMP/in.csv"

# The hostile values (the same list the DOM check reads back).
/usr/bin/python3 - "$URL" "$TMP" "${T[@]}" <<'EOF'
import json, sys
url, tmp, t = sys.argv[1], sys.argv[2], sys.argv[3:]
hostile = {
  "script": "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=injected>x</p>')</script>",
  "img": "\"><img src=x onerror=\"document.title='pwned'\">",
  "fetch": "<img src=\"" + url + "/img.png\"><iframe src=\"" + url + "/frame\"></iframe>",
  "style": "<link rel=stylesheet href=\"" + url + "/x.css\"><style>@import url(" + url + "/y.css);body{background:url(" + url + "/z.png)}</style>",
  "refresh": "<meta http-equiv=\"refresh\" content=\"0;url=" + url + "/refresh\">",
  "attr": "' onmouseover='document.title=\"pwned\"' x='",
  "qual": "Education</td><td><script>document.title='pwned'</script>",
  "error": "<svg onload=\"document.title='pwned'\"><a href=\"" + url + "/link\">x</a></svg>",
}
json.dump(hostile, open(tmp + "/hostile.json", "w"))
def ans(q, st, reason=None, date=None):
    e = {"qualification": q, "vettingStatus": st}
    if reason is not None: e["vettingReason"] = reason
    if date is not None: e["vettingCreatedDate"] = date
    return {"status": 200, "body": [e]}
month1 = {
  t[0]: ans("Education", "Approved"),
  t[1]: ans("Education", "Denied", hostile["img"], "2026-09-01T00:00:00Z"),
  t[2]: ans("Education", "InReview", None, "2026-10-01T00:00:00Z"),
  t[3]: ans("Education", "Denied", "Not an Education Customer"),
  t[4]: ans("Education", "Approved"),
  t[5]: ans("Education", "Denied", hostile["refresh"]),
  t[6]: ans("GovernmentCommunityCloud", "Approved"),
  t[7]: ans("Education", "Approved"),
}
month2 = {
  t[0]: ans("Education", "Denied", hostile["script"], "2026-11-20T00:00:00Z"),
  t[1]: ans("Education", "Denied", hostile["fetch"], "2026-09-01T00:00:00Z"),
  t[2]: ans(hostile["qual"], "InReview", None, "2026-10-01T00:00:00Z"),
  t[3]: ans("Education", "Denied", hostile["style"]),
  t[4]: {"status": 403, "body": {"code": 20002, "description": hostile["error"], "data": [], "source": "PartnerFD"}},
  t[5]: ans("Education", "Denied", hostile["attr"]),
  t[6]: {"status": 404, "body": {"code": 60003, "description": "Tenant not found"}},
  t[7]: ans("Education", "InReview", hostile["script"], "2019-05-05T05:05:05Z"),
}
json.dump(month1, open(tmp + "/month1.json", "w"))
json.dump(month2, open(tmp + "/month2.json", "w"))
EOF

start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 5 --data "$TMP/month1.json"
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" --no-progress -q \
  -o "$TMP/m1.ndjson.gz" -s "$TMP/m1-summary.csv"
check "month 1 exit code" "$?" 0
stop_pcsim
start_pcsim --token "$PARTNER_CENTER_TOKEN" --seed 5 --data "$TMP/month2.json"
"$QR" "$TMP/in.csv" --base-url "$PCSIM_URL" --no-progress -q \
  --previous "$TMP/m1.ndjson.gz.manifest.json" -o "$TMP/m2.csv" \
  -s "$TMP/m2-summary.csv" --changes "$TMP/changes.csv" \
  --html "$TMP/report.html"
check "month 2 exit code (one tenant refused)" "$?" 1
stop_pcsim
[ -s "$TMP/report.html" ] && ok || fail "no page written"

# ---- the browser -----------------------------------------------------------
# Every request Chromium could make goes to the listener: it is the proxy
# for every scheme, and <-loopback> removes the implicit bypass of
# 127.0.0.1 (the host the hostile URLs name).
browser() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu \
    --disable-background-networking --disable-component-update \
    --disable-sync --no-first-run --disable-default-apps \
    --user-data-dir="$(mktemp -d "$TMP/chrome.XXXXXX")" \
    --proxy-server="127.0.0.1:$PORT" --proxy-bypass-list='<-loopback>' \
    --virtual-time-budget=3000 "$@" 2>>"$TMP/chromium.err"
}
# page_requests: the listener's log without the browser's own requests
# (the cup2key query strings differ from run to run).
page_requests() {
  grep -vE '^(CONNECT (update\.googleapis\.com|accounts\.google\.com|clients2\.google\.com):443 |POST http://update\.googleapis\.com/service/update2/json\?|GET http://clients2\.google\.com/time/1/current\?)' \
    "$TMP/listen.log"
}

# The canary: a page that does fetch is seen, over http and https.
printf '<!DOCTYPE html><title>canary</title><img src="%s/canary.png">%s\n' \
  "$URL" '<link rel="stylesheet" href="https://fonts.example.com/c.css">' \
  >"$TMP/canary.html"
browser --dump-dom "file://$TMP/canary.html" >/dev/null
check "canary's requests seen" "$(page_requests | cut -d' ' -f1,2 | sort | tr '\n' ';')" \
  "CONNECT fonts.example.com:443;GET $URL/canary.png;"
: >"$TMP/listen.log"

browser --dump-dom "file://$TMP/report.html" >"$TMP/dom.html"
check "chromium exit code" "$?" 0
[ -s "$TMP/dom.html" ] && ok || fail "empty DOM dump: $(tail -n 5 "$TMP/chromium.err")"
browser --print-to-pdf="$TMP/report.pdf" --no-pdf-header-footer \
  "file://$TMP/report.html" >/dev/null
[ -s "$TMP/report.pdf" ] && ok || fail "no PDF printed"
check "requests of the page (to the proxy or a hostile URL)" \
  "$(page_requests)" ""
echo "the browser's own requests, not the page's: $(cut -d' ' -f1,2 "$TMP/listen.log" | sed 's/?.*//' | sort -u | tr '\n' ' ')"


# ---- the rendered DOM against the reports -----------------------------------
/usr/bin/python3 - "$TMP" <<'EOF' >"$TMP/dom.check" 2>&1
import csv, gzip, json, re, sys
from html.parser import HTMLParser
tmp = sys.argv[1]
fails = []
def check(what, got, want):
    if got != want:
        fails.append("%s: got %r, want %r" % (what, got, want))

class Dom(HTMLParser):
    """Elements with their attributes, and the text of every element
    with an id or inside a table cell."""
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.stack, self.ids, self.cells = [], [], {}, []
        self.title = None
        self.rows = {}        # section id -> list of rows (lists of cells)
        self.section = None
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input",
            "link", "meta", "source", "track", "wbr"}
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section":
            self.section = a.get("id")
        if tag == "tr":
            self.rows.setdefault(self.section, []).append([])
        if tag not in self.VOID:
            self.stack.append([tag, a, ""])
    def handle_endtag(self, tag):
        if tag not in [t for t, _, _ in self.stack]:
            return
        while self.stack:
            t, a, text = self.stack.pop()
            for outer in self.stack:
                outer[2] += text
            if t == "title" and self.title is None:
                self.title = text
            if "id" in a:
                self.ids[a["id"]] = text
            if t in ("td", "th") and self.section in self.rows:
                self.rows[self.section][-1].append(text)
            if t == tag:
                break
        if tag == "section":
            self.section = None
    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2] += data

dom = Dom()
dom.feed(open(tmp + "/dom.html", encoding="utf-8").read())
num = lambda s: int(s.replace(",", ""))
man = json.load(open(tmp + "/m2.csv.manifest.json"))
c = man["counts"]

# No script ran, nothing injected: the title is qualreport's, no element
# qualreport does not write exists.
check("title", re.fullmatch(r"Partner Center qualifications \d{4}-\d\d-\d\d",
                            dom.title or "") is not None, True)
check("element injected by a hostile script", "injected" in dom.ids, False)
kinds = {}
for tag, a in dom.tags:
    kinds[tag] = kinds.get(tag, 0) + 1
for tag in ("script", "img", "iframe", "link", "object", "embed", "a",
            "form", "input", "frame", "base"):
    check("<%s> elements" % tag, kinds.get(tag, 0), 0)
check("<meta> elements (charset, CSP, referrer, viewport, generator)",
      kinds.get("meta"), 5)
check("<style> elements", kinds.get("style"), 1)
check("elements with event handlers",
      [t for t, a in dom.tags if any(k.startswith("on") for k in a)], [])
check("<svg> elements (the chart)", kinds.get("svg"), 1)
# The page names no host: no URL in any attribute but the SVG namespace
# (hostile URLs are only text).
check("URLs in attributes",
      [(t, k, v) for t, a in dom.tags for k, v in a.items()
       if v and "://" in v and k != "xmlns"], [])
csp = [a.get("content", "") for t, a in dom.tags
       if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
check("CSP forbids scripts and fetches",
      bool(csp) and csp[0].startswith("default-src 'none'; style-src 'sha256-"),
      True)

# The headline: the manifest's counts.
for id_, key in (("n-tenants", "valid"), ("n-answered", "answered"),
                 ("n-notfound", "not_found"), ("n-failed", "failed")):
    check(id_, num(dom.ids.get(id_, "-1")), c[key])
check("n-exit", num(dom.ids.get("n-exit", "-1")), man["exit_code"])

# The counts table: the summary report, row for row.
summary = [(r["qualification"], r["vetting_status"], int(r["count"]))
           for r in csv.DictReader(open(tmp + "/m2-summary.csv"))]
prev = {(r["qualification"], r["vetting_status"]): int(r["count"])
        for r in csv.DictReader(open(tmp + "/m1-summary.csv"))}
table = [r for r in dom.rows.get("overview", []) if len(r) == 5 and r[0] != "Qualification"]
now = [(q, s if s != "(no status)" else "", num(n)) for q, s, n, p, d in table
       if num(n) > 0]
check("counts table = summary", now, summary)
for q, s, n, p, d in table:
    key = (q, s if s != "(no status)" else "")
    check("previous count of %r" % (key,), num(p), prev.get(key, 0))

# The lists: the detail and the changes report.
detail = list(csv.DictReader(open(tmp + "/m2.csv")))
denied = [r for r in detail if r["vetting_status"] == "Denied"]
review = [r for r in detail if r["vetting_status"] == "InReview"]
check("count-denied", num(dom.ids.get("count-denied", "-1")), len(denied))
check("count-inreview", num(dom.ids.get("count-inreview", "-1")), len(review))
check("count-errors", num(dom.ids.get("count-errors", "-1")), c["failed"])
changes = list(csv.DictReader(open(tmp + "/changes.csv")))
check("count-changes", num(dom.ids.get("count-changes", "-1")), len(changes))
body = lambda sec: [r for r in dom.rows.get(sec, []) if r and r[0] != "Customer"]
check("Denied rows shown", len(body("denied")), len(denied))
check("InReview rows shown", len(body("inreview")), len(review))
check("change rows shown", len(body("changes")), len(changes))
check("Error rows shown", len(body("errors")), c["failed"])
check("Denied reasons, as text, in input order",
      [r[2] for r in body("denied")], [r["vetting_reason"] for r in denied])
def since(r):
    m = re.match(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z$",
                 r["vetting_created_date"])
    return tuple(int(x) for x in m.groups()[:6]) if m else (10**9,)
oldest = sorted(range(len(review)), key=lambda i: (since(review[i]), i))
check("in review, oldest first", [r[0] for r in body("inreview")],
      [review[i]["tenant_id"] for i in oldest])
check("changes in report order", [r[0] for r in body("changes")],
      [r["tenant_id"] for r in changes])
check("change kinds", [r[2] for r in body("changes")],
      [r["change"] for r in changes])

# Every hostile value shows as its own text.
hostile = json.load(open(tmp + "/hostile.json"))
texts = [cell for rows in dom.rows.values() for r in rows for cell in r]
for name in ("script", "img", "fetch", "style", "attr", "error"):
    check("hostile %s as text in a cell" % name,
          any(hostile[name] in t for t in texts), True)
check("hostile qualification as text in a cell",
      hostile["qual"] in texts, True)
check("hostile refresh (last month) as text in a change row",
      any(hostile["refresh"] in t for t in texts), True)
check("the hostile qualification in the chart, as text",
      hostile["qual"][:20] in dom.ids.get("overview", ""), True)
print("\n".join(fails) if fails else "ok")
EOF
check "rendered DOM" "$(cat "$TMP/dom.check")" ok

# ---- printed on A4 ------------------------------------------------------------
# The PDF's page box: A4 is 595 x 842 points.
box=$(grep -aoE '/MediaBox ?\[ ?0 0 [0-9.]+ [0-9.]+ ?\]' "$TMP/report.pdf" | head -n 1 |
  grep -oE '[0-9.]+ [0-9.]+ ?\]$' | tr -d ']')
check "printed page size (points)" "$(echo $box | awk '{printf "%.0f x %.0f", $1, $2}')" "595 x 842"
check "requests of the page after printing" "$(page_requests)" ""
finish
