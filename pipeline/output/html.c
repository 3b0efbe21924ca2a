#include "html.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "civil.h"
#include "report_impl.h"

/* Write the page out in pieces of about this size. */
#define FLUSH_BYTES (64 * 1024)
/* Chart labels are cut to this many characters (the full one is its
 * tooltip and is in the table below). */
#define LABEL_CHARS 38
#define NO_DATE INT64_MAX

/* The page's only style; its SHA-256 goes into the CSP. */
static const char style[] =
	":root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa}"
	"*{box-sizing:border-box}"
	"body{font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
	"\"Liberation Sans\",\"DejaVu Sans\",sans-serif;color:var(--fg);"
	"margin:1.5rem auto;max-width:64rem;padding:0 1rem}"
	"h1{font-size:1.55rem;margin:0 0 .2rem}"
	"h2{font-size:1.1rem;margin:1.8rem 0 .5rem;padding-bottom:.2rem;"
	"border-bottom:1px solid var(--line)}"
	".sub,.more,.note,footer{color:var(--muted)}"
	".more{font-style:italic}"
	"code,.id,.sha{font-family:ui-monospace,\"DejaVu Sans Mono\","
	"\"Liberation Mono\",monospace;font-size:.86em}"
	".sha,.id{overflow-wrap:anywhere}"
	".cards{display:flex;flex-wrap:wrap;gap:.5rem;margin:.9rem 0}"
	".card{flex:1 1 7.5rem;border:1px solid var(--line);border-radius:6px;"
	"padding:.45rem .7rem}"
	".card .n{display:block;font-size:1.45rem;font-weight:600;"
	"font-variant-numeric:tabular-nums}"
	".card.bad{border-color:#cf222e}.card.bad .n{color:#cf222e}"
	".card.good .n{color:#1a7f37}"
	"table{border-collapse:collapse;width:100%;font-size:.9rem;"
	"margin:.3rem 0}"
	"th,td{text-align:left;padding:.28rem .45rem;vertical-align:top;"
	"border-bottom:1px solid var(--line)}"
	"th{background:var(--head);font-weight:600}"
	"td{overflow-wrap:anywhere}"
	"td.reason{white-space:pre-line}td.change,td.role{white-space:nowrap}"
	".num{text-align:right;font-variant-numeric:tabular-nums;"
	"white-space:nowrap}"
	".name{display:block}.name+.id{color:var(--muted)}"
	".st{display:inline-block;padding:0 .4em;border-radius:1em;"
	"font-size:.85em;border:1px solid currentColor;white-space:nowrap}"
	".st-ok{color:#1a7f37}.st-review{color:#9a6700}"
	".st-denied{color:#cf222e}.st-error{color:#82071e;font-weight:600}"
	".st-none,.st-blank{color:#59636e}.st-notfound{color:#0550ae}"
	".st-other{color:#8250df}"
	".up{color:#1a7f37}.down{color:#cf222e}.same{color:#59636e}"
	"svg.chart{width:100%;height:auto;display:block;margin:.4rem 0 .8rem}"
	"svg.chart text{font-size:12px;fill:#1f2328}"
	"svg.chart text.val{font-weight:600}"
	"svg.chart text.up{fill:#1a7f37}svg.chart text.down{fill:#cf222e}"
	"svg.chart text.same{fill:#59636e}"
	"dl.facts{display:grid;grid-template-columns:max-content 1fr;"
	"gap:.2rem 1rem;margin:.4rem 0}"
	"dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}"
	"footer{margin-top:2rem;font-size:.85em}"
	"@media print{@page{size:A4;margin:14mm 12mm}"
	"body{margin:0;max-width:none;padding:0;font-size:9.5pt}"
	"h2{break-after:avoid}tr,.card,svg.chart{break-inside:avoid}"
	"thead{display:table-header-group}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* One list entry: copies of what its table shows. */
struct item {
	char tenant[GUID_STR_LEN + 1];
	char *name;                     /* company, or NULL */
	char *qualification, *status, *reason, *date;
	char *prev_status, *prev_reason; /* changes */
	enum change_kind kind;
	long http;
	unsigned attempts;
	int64_t since;                  /* InReview: created, epoch s */
	uint64_t seq;                   /* arrival, for ties */
};

struct list {
	struct item *items;
	size_t n;
	uint64_t total; /* all seen, shown or not */
};

struct html {
	struct html_options opt;
	struct list denied, review, changes, errors;
	uint64_t by_kind[CHANGE_KINDS];
	uint64_t seq;
	/* The tenant last added, so its change rows get its name. */
	char last_tenant[GUID_STR_LEN + 1];
	char *last_name;
};

/* ---- escaping ---------------------------------------------------------- */

enum pl_status html_escape(struct buf *b, const char *s, size_t n)
{
	struct buf clean = BUF_INIT;
	enum pl_status st;
	size_t run = 0;

	st = report_utf8_add(&clean, s ? s : "", s ? n : 0);
	for(size_t i = 0; !st && i < clean.len; i++) {
		unsigned char c = (unsigned char)clean.data[i];
		const char *rep;

		switch(c) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default:
			if((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
				rep = "\xef\xbf\xbd"; /* U+FFFD */
			else
				continue;
		}
		st = buf_add(b, clean.data + run, i - run);
		if(!st)
			st = buf_addstr(b, rep);
		run = i + 1;
	}
	if(!st)
		st = buf_add(b, clean.data + run, clean.len - run);
	buf_release(&clean);
	return st;
}

static enum pl_status esc(struct buf *b, const char *s)
{
	return html_escape(b, s, s ? strlen(s) : 0);
}

/* ---- collecting -------------------------------------------------------- */

struct html *html_new(const struct html_options *opt)
{
	struct html *h = calloc(1, sizeof(*h));

	if(!h)
		return NULL;
	h->opt = *opt;
	h->denied.items = calloc(HTML_LIST_MAX, sizeof(struct item));
	h->review.items = calloc(HTML_LIST_MAX, sizeof(struct item));
	h->changes.items = calloc(HTML_LIST_MAX, sizeof(struct item));
	h->errors.items = calloc(HTML_LIST_MAX, sizeof(struct item));
	if(!h->denied.items || !h->review.items || !h->changes.items ||
	   !h->errors.items) {
		html_free(h);
		return NULL;
	}
	return h;
}

static void item_release(struct item *it)
{
	free(it->name);
	free(it->qualification);
	free(it->status);
	free(it->reason);
	free(it->date);
	free(it->prev_status);
	free(it->prev_reason);
	memset(it, 0, sizeof(*it));
}

static void list_release(struct list *l)
{
	for(size_t i = 0; l->items && i < l->n; i++)
		item_release(&l->items[i]);
	free(l->items);
}

void html_free(struct html *h)
{
	if(!h)
		return;
	list_release(&h->denied);
	list_release(&h->review);
	list_release(&h->changes);
	list_release(&h->errors);
	free(h->last_name);
	free(h);
}

static char *dup(const char *s, bool *ok)
{
	char *copy;

	if(!s || !*s)
		return NULL;
	copy = strdup(s);
	if(!copy)
		*ok = false;
	return copy;
}

/* Fill it from a tenant's row (row may be NULL). false on ENOMEM. */
static bool item_fill(struct html *h, struct item *it, const char *tenant,
		      const char *name, const struct qual_row *row)
{
	bool ok = true;

	snprintf(it->tenant, sizeof(it->tenant), "%s", tenant);
	it->name = dup(name, &ok);
	if(row) {
		it->qualification = dup(row->qualification, &ok);
		it->status = dup(row->vetting_status, &ok);
		it->reason = dup(row->vetting_reason, &ok);
		it->date = dup(row->vetting_created_date, &ok);
	}
	it->seq = h->seq++;
	if(!ok)
		item_release(it);
	return ok;
}

/*
 * Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.fff]Z", the form the
 * detail report normalizes dates to; NO_DATE for anything else.
 */
static int64_t parse_date(const char *s)
{
	int v[6] = {0};
	static const int widths[6] = {4, 2, 2, 2, 2, 2};
	static const char seps[6] = {'-', '-', 'T', ':', ':', '\0'};
	const char *p = s;

	if(!s)
		return NO_DATE;
	for(int k = 0; k < 6; k++) {
		for(int i = 0; i < widths[k]; i++, p++) {
			if(*p < '0' || *p > '9')
				return NO_DATE;
			v[k] = v[k] * 10 + (*p - '0');
		}
		if(seps[k] && *p++ != seps[k])
			return NO_DATE;
	}
	if(*p == '.')
		for(p++; *p >= '0' && *p <= '9'; p++)
			;
	if(*p != 'Z' || p[1] || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	   v[2] > 31 || v[3] > 23 || v[4] > 59 || v[5] > 60)
		return NO_DATE;
	return civil_days(v[0], (unsigned)v[1], (unsigned)v[2]) * 86400 +
	       v[3] * 3600 + v[4] * 60 + v[5];
}

/* Heap order for the InReview list: a is newer than b (later created,
 * then later in the input), so the root is the first to give way. */
static bool newer(const struct item *a, const struct item *b)
{
	return a->since != b->since ? a->since > b->since : a->seq > b->seq;
}

static void sift_down(struct item *v, size_t n, size_t i)
{
	for(;;) {
		size_t l = 2 * i + 1, r = l + 1, top = i;
		struct item tmp;

		if(l < n && newer(&v[l], &v[top]))
			top = l;
		if(r < n && newer(&v[r], &v[top]))
			top = r;
		if(top == i)
			return;
		tmp = v[i];
		v[i] = v[top];
		v[top] = tmp;
		i = top;
	}
}

static void sift_up(struct item *v, size_t i)
{
	while(i > 0) {
		size_t parent = (i - 1) / 2;
		struct item tmp;

		if(!newer(&v[i], &v[parent]))
			return;
		tmp = v[i];
		v[i] = v[parent];
		v[parent] = tmp;
		i = parent;
	}
}

/* Keep the HTML_LIST_MAX oldest InReview rows. */
static bool add_review(struct html *h, const char *tenant, const char *name,
		       const struct qual_row *row)
{
	struct list *l = &h->review;
	struct item it;

	memset(&it, 0, sizeof(it));
	l->total++;
	it.since = parse_date(row->vetting_created_date);
	it.seq = h->seq;
	if(l->n == HTML_LIST_MAX && !newer(&l->items[0], &it)) {
		h->seq++;
		return true; /* newer than all kept */
	}
	if(!item_fill(h, &it, tenant, name, row))
		return false;
	it.since = parse_date(row->vetting_created_date);
	if(l->n < HTML_LIST_MAX) {
		l->items[l->n] = it;
		sift_up(l->items, l->n++);
	} else {
		item_release(&l->items[0]);
		l->items[0] = it;
		sift_down(l->items, l->n, 0);
	}
	return true;
}

static bool add_listed(struct html *h, struct list *l, const char *tenant,
		       const char *name, const struct qual_row *row,
		       struct item **out)
{
	*out = NULL;
	if(l->total++ >= HTML_LIST_MAX)
		return true;
	if(!item_fill(h, &l->items[l->n], tenant, name, row))
		return false;
	*out = &l->items[l->n++];
	return true;
}

static enum pl_status oom_for(const struct tenant_record *rec,
			      struct pl_err *err)
{
	return pl_fail(err, PL_ENOMEM, "out of memory adding tenant %s to "
		       "the page", rec->tenant_id);
}

enum pl_status html_add_tenant(struct html *h, size_t index,
			       const struct tenant_record *rec,
			       struct pl_err *err)
{
	const char *name = h->opt.name_of
		? h->opt.name_of(h->opt.name_ctx, index) : NULL;
	struct item *it;

	free(h->last_name);
	h->last_name = NULL;
	snprintf(h->last_tenant, sizeof(h->last_tenant), "%s",
		 rec->tenant_id);
	if(name && *name && !(h->last_name = strdup(name)))
		return oom_for(rec, err);
	name = h->last_name;
	if(rec->outcome == OUTCOME_FAILED) {
		if(!add_listed(h, &h->errors, rec->tenant_id, name,
			       rec->nrows ? &rec->rows[0] : NULL, &it))
			return oom_for(rec, err);
		if(it) {
			it->http = rec->http_status;
			it->attempts = rec->attempts;
			free(it->reason);
			it->reason = NULL;
			if(rec->error && !(it->reason = strdup(rec->error)))
				return oom_for(rec, err);
		}
		return PL_OK;
	}
	for(size_t i = 0; i < rec->nrows; i++) {
		const struct qual_row *row = &rec->rows[i];
		const char *st = row->vetting_status ? row->vetting_status : "";

		if(!strcmp(st, "Denied")) {
			if(!add_listed(h, &h->denied, rec->tenant_id, name,
				       row, &it))
				return oom_for(rec, err);
		} else if(!strcmp(st, "InReview")) {
			if(!add_review(h, rec->tenant_id, name, row))
				return oom_for(rec, err);
		}
	}
	return PL_OK;
}

enum pl_status html_add_change(void *ctx, const struct change_row *row,
			       struct pl_err *err)
{
	struct html *h = ctx;
	struct qual_row cur = {(char *)row->qualification,
			       (char *)row->vetting_status,
			       (char *)row->vetting_reason,
			       (char *)row->vetting_created_date};
	const char *name = !strcmp(row->tenant_id, h->last_tenant)
		? h->last_name : NULL;
	bool ok = true;
	struct item *it;

	h->by_kind[row->change]++;
	if(!add_listed(h, &h->changes, row->tenant_id, name, &cur, &it))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(it) {
		it->kind = row->change;
		it->prev_status = dup(row->previous_status, &ok);
		it->prev_reason = dup(row->previous_reason, &ok);
		if(!ok)
			return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	return PL_OK;
}

/* ---- writing ----------------------------------------------------------- */

struct page {
	struct buf b;
	struct outfile *out;
	enum pl_status st;  /* sticky: the first failure */
	struct pl_err *err;
};

static void put(struct page *pg, const char *s)
{
	if(!pg->st && buf_addstr(&pg->b, s))
		pg->st = pl_fail(pg->err, PL_ENOMEM, "out of memory");
}

static void putf(struct page *pg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void putf(struct page *pg, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(pg, tmp);
}

static void text(struct page *pg, const char *s)
{
	if(!pg->st && esc(&pg->b, s))
		pg->st = pl_fail(pg->err, PL_ENOMEM, "out of memory");
}

static void flush(struct page *pg, bool force)
{
	if(pg->st || (!force && pg->b.len < FLUSH_BYTES))
		return;
	pg->st = outfile_write(pg->out, pg->b.data, pg->b.len, pg->err);
	buf_reset(&pg->b);
}

/* 1234567 -> "1,234,567" */
static const char *count(uint64_t v, char out[32])
{
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%llu",
			 (unsigned long long)v), k = 0;

	for(int i = 0; i < n; i++) {
		if(i && (n - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
	return out;
}

static void num(struct page *pg, uint64_t v)
{
	char c[32];

	put(pg, count(v, c));
}

/* "2026-11-01 06:00:03 UTC" */
static void when(struct page *pg, int64_t ms)
{
	char iso[32];

	manifest_format_time(ms, iso);
	if(strlen(iso) < 19) {
		put(pg, "(unknown)");
		return;
	}
	putf(pg, "<time datetime=\"%s\">%.10s %.8s UTC</time>", iso, iso,
	     iso + 11);
}

/* Fixed class names for statuses: API text never reaches an attribute. */
static const char *status_class(const char *s)
{
	static const struct { const char *status, *cls; } map[] = {
		{"Approved", "ok"}, {"InReview", "review"},
		{"Denied", "denied"}, {"None", "none"},
		{"NotFound", "notfound"}, {"Error", "error"}};

	if(!s || !*s)
		return "blank";
	for(size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if(!strcmp(s, map[i].status))
			return map[i].cls;
	return "other";
}

static const char *status_color(const char *s)
{
	const char *c = status_class(s);

	if(!strcmp(c, "ok"))
		return "#2da44e";
	if(!strcmp(c, "review"))
		return "#d4a72c";
	if(!strcmp(c, "denied"))
		return "#cf222e";
	if(!strcmp(c, "error"))
		return "#82071e";
	if(!strcmp(c, "notfound"))
		return "#0969da";
	if(!strcmp(c, "other"))
		return "#8250df";
	return "#8c959f";
}

static void status(struct page *pg, const char *s)
{
	if(!s || !*s) {
		put(pg, "<span class=\"st st-blank\">(no status)</span>");
		return;
	}
	putf(pg, "<span class=\"st st-%s\">", status_class(s));
	text(pg, s);
	put(pg, "</span>");
}

/* The customer cell: its name with the ID below, or the ID. */
static void customer(struct page *pg, const struct item *it)
{
	put(pg, "<td class=\"customer\">");
	if(it->name) {
		put(pg, "<span class=\"name\">");
		text(pg, it->name);
		put(pg, "</span>");
	}
	put(pg, "<span class=\"id\">");
	text(pg, it->tenant);
	put(pg, "</span></td>");
}

static void cell(struct page *pg, const char *cls, const char *s)
{
	if(cls)
		putf(pg, "<td class=\"%s\">", cls);
	else
		put(pg, "<td>");
	text(pg, s);
	put(pg, "</td>");
}

static void section(struct page *pg, const char *id, const char *title,
		    uint64_t total)
{
	putf(pg, "<section id=\"%s\"><h2>%s (<span class=\"count\" "
	     "id=\"count-%s\">", id, title, id);
	num(pg, total);
	put(pg, "</span>)</h2>\n");
}

/* "Showing the first 1,000 of N ...; the other M are in <where>." */
static void more(struct page *pg, uint64_t total, size_t shown,
		 const char *what, const char *where, const char *path)
{
	char a[32], b[32], c[32];

	if(total <= shown)
		return;
	putf(pg, "<p class=\"more\">Showing %s of %s %s; the other %s are in ",
	     count(shown, a), count(total, b), what,
	     count(total - shown, c));
	if(path) {
		put(pg, where);
		put(pg, " <code>");
		text(pg, path);
		put(pg, "</code>.</p>\n");
	} else {
		put(pg, where);
		put(pg, ".</p>\n");
	}
}

static void headline(struct page *pg, const struct html_facts *f)
{
	const struct manifest_counts *c = f->counts;

	put(pg, "<header>\n<h1>Partner Center qualifications</h1>\n"
		"<p class=\"sub\">Run of ");
	when(pg, f->started_ms);
	put(pg, " &middot; input <code id=\"input\">");
	text(pg, f->input_path);
	put(pg, "</code> &middot; qualreport ");
	text(pg, f->version);
	put(pg, "</p>\n<div class=\"cards\">\n");
	put(pg, "<div class=\"card\"><span class=\"n\" id=\"n-tenants\">");
	num(pg, c->valid);
	put(pg, "</span>tenants</div>\n");
	put(pg, "<div class=\"card\"><span class=\"n\" id=\"n-answered\">");
	num(pg, c->answered);
	put(pg, "</span>answered</div>\n");
	put(pg, "<div class=\"card\"><span class=\"n\" id=\"n-notfound\">");
	num(pg, c->not_found);
	put(pg, "</span>not found (404)</div>\n");
	putf(pg, "<div class=\"card%s\"><span class=\"n\" id=\"n-failed\">",
	     c->failed ? " bad" : "");
	num(pg, c->failed);
	put(pg, "</span>failed</div>\n");
	putf(pg, "<div class=\"card%s\"><span class=\"n\" id=\"n-exit\">%d"
	     "</span>exit status%s</div>\n</div>\n",
	     f->exit_code ? " bad" : " good", f->exit_code,
	     f->exit_code == 0 ? ": all answered"
	     : f->exit_code == 1 ? ": some failed" : "");
	put(pg, "<p class=\"note\">");
	num(pg, c->input_rows);
	put(pg, " input rows: ");
	num(pg, c->valid);
	put(pg, " valid, ");
	num(pg, c->duplicate);
	put(pg, " duplicate, ");
	num(pg, c->invalid);
	put(pg, " invalid, ");
	num(pg, c->blank);
	put(pg, " blank. ");
	num(pg, c->rows_written);
	put(pg, " rows in the detail report");
	if(f->detail_path) {
		put(pg, " <code>");
		text(pg, f->detail_path);
		put(pg, "</code>");
	}
	put(pg, ".</p>\n</header>\n");
}

/* A (qualification, status) bar: current and previous tenant counts. */
struct bar {
	const char *qualification, *status;
	uint64_t now, before;
};

static int cmp_pair(const char *q1, const char *s1, const char *q2,
		    const char *s2)
{
	int c = strcmp(q1 ? q1 : "", q2 ? q2 : "");

	return c ? c : strcmp(s1 ? s1 : "", s2 ? s2 : "");
}

/* Merge the two sorted summaries; *n bars. NULL on ENOMEM. */
static struct bar *merge_bars(const struct html_facts *f, size_t *n)
{
	size_t i = 0, j = 0, k = 0;
	size_t np = f->previous_path ? f->nprevious_summary : 0;
	struct bar *bars = malloc((f->nsummary + np + 1) * sizeof(*bars));

	if(!bars)
		return NULL;
	while(i < f->nsummary || j < np) {
		const struct summary_entry *a = i < f->nsummary
			? &f->summary[i] : NULL;
		const struct summary_entry *b = j < np
			? &f->previous_summary[j] : NULL;
		int c = !a ? 1 : !b ? -1
			: cmp_pair(a->qualification, a->vetting_status,
				   b->qualification, b->vetting_status);
		struct bar *bar = &bars[k++];

		bar->qualification = c <= 0 ? a->qualification
					    : b->qualification;
		bar->status = c <= 0 ? a->vetting_status : b->vetting_status;
		bar->now = c <= 0 ? a->count : 0;
		bar->before = c >= 0 ? b->count : 0;
		i += c <= 0;
		j += c >= 0;
	}
	*n = k;
	return bars;
}

/* The label "Education · Approved" (escaped), cut to LABEL_CHARS
 * characters when cut is set. */
static void label(struct page *pg, const struct bar *bar, bool cut)
{
	struct buf full = BUF_INIT;
	size_t chars = 0, i;
	bool bad = false;

	if(bar->qualification)
		bad = buf_addstr(&full, bar->qualification) ||
		      buf_addstr(&full, " \xc2\xb7 ");
	bad = bad || buf_addstr(&full, bar->status && *bar->status
				? bar->status : "(no status)");
	for(i = 0; cut && i < full.len; i++) {
		if(((unsigned char)full.data[i] & 0xc0) != 0x80 &&
		   ++chars > LABEL_CHARS)
			break;
	}
	if(!bad && cut && i < full.len) {
		buf_setlen(&full, i);
		bad = buf_addstr(&full, "\xe2\x80\xa6");
	}
	if(!bad && !pg->st)
		bad = html_escape(&pg->b, full.data, full.len);
	if(bad && !pg->st)
		pg->st = pl_fail(pg->err, PL_ENOMEM, "out of memory");
	buf_release(&full);
}

static void delta(struct page *pg, const struct bar *bar, bool svg)
{
	const char *cls = bar->now > bar->before ? "up"
			  : bar->now < bar->before ? "down" : "same";
	uint64_t d = bar->now > bar->before ? bar->now - bar->before
					    : bar->before - bar->now;
	char c[32];

	if(!svg)
		putf(pg, "<td class=\"num delta %s\">", cls);
	if(d == 0)
		put(pg, "\xc2\xb1" "0");
	else
		putf(pg, "%s%s", bar->now > bar->before ? "+" : "\xe2\x88\x92",
		     count(d, c));
	if(!svg)
		put(pg, "</td>");
}

static void chart(struct page *pg, const struct html_facts *f,
		  const struct bar *bars, size_t n)
{
	const int width = 760, left = 290, span = 360, row = 24;
	size_t shown = n < HTML_CHART_MAX ? n : HTML_CHART_MAX;
	uint64_t max = 1;

	for(size_t i = 0; i < shown; i++) {
		if(bars[i].now > max)
			max = bars[i].now;
		if(bars[i].before > max)
			max = bars[i].before;
	}
	putf(pg, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" "
	     "role=\"img\" aria-labelledby=\"chart-title\" "
	     "viewBox=\"0 0 %d %zu\" width=\"%d\" height=\"%zu\">"
	     "<title id=\"chart-title\">Tenants by qualification and vetting "
	     "status%s</title>\n", width, shown * row + 8, width,
	     shown * row + 8, f->previous_path
	     ? ", with the change since the previous run" : "");
	for(size_t i = 0; i < shown && !pg->st; i++) {
		const struct bar *bar = &bars[i];
		int y = (int)i * row + 4;
		int w = (int)((double)bar->now * span / (double)max + 0.5);
		char c[32];
		int end;

		if(bar->now && w < 2)
			w = 2;
		/* the figures go after the bar or the previous run's tick,
		 * whichever ends further right */
		end = w;
		if(f->previous_path) {
			int pw = (int)((double)bar->before * span /
				       (double)max + 0.5);

			if(pw + 2 > end)
				end = pw + 2;
		}
		put(pg, "<g class=\"bar\"><title>");
		label(pg, bar, false);
		put(pg, "</title>");
		putf(pg, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" "
		     "class=\"lbl\">", left - 8, y + 15);
		label(pg, bar, true);
		put(pg, "</text>");
		putf(pg, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" "
		     "rx=\"2\" fill=\"%s\"/>", left, y + 3, w,
		     status_color(bar->status));
		if(f->previous_path && bar->before) {
			int pw = (int)((double)bar->before * span /
				       (double)max + 0.5);

			putf(pg, "<rect x=\"%d\" y=\"%d\" width=\"2\" "
			     "height=\"20\" fill=\"#1f2328\"><title>previous "
			     "run: %s</title></rect>", left + pw - 1, y + 1,
			     count(bar->before, c));
		}
		putf(pg, "<text x=\"%d\" y=\"%d\" class=\"val\">%s</text>",
		     left + end + 6, y + 15, count(bar->now, c));
		if(f->previous_path) {
			const char *cls = bar->now > bar->before ? "up"
				: bar->now < bar->before ? "down" : "same";

			putf(pg, "<text x=\"%d\" y=\"%d\" class=\"%s\">",
			     left + end + 16 + 8 * (int)strlen(c), y + 15, cls);
			delta(pg, bar, true);
			put(pg, "</text>");
		}
		put(pg, "</g>\n");
	}
	put(pg, "</svg>\n");
	if(n > shown) {
		char a[32], b[32];

		putf(pg, "<p class=\"more\">The chart shows the first %s of %s "
		     "combinations; the table lists them.</p>\n",
		     count(shown, a), count(n, b));
	}
}

static void counts_table(struct page *pg, const struct html_facts *f,
			 const struct bar *bars, size_t n)
{
	size_t shown = n < HTML_LIST_MAX ? n : HTML_LIST_MAX;

	put(pg, "<table id=\"counts-table\"><thead><tr><th>Qualification</th>"
		"<th>Vetting status</th><th class=\"num\">Tenants</th>");
	if(f->previous_path)
		put(pg, "<th class=\"num\">Previous run</th>"
			"<th class=\"num\">Change</th>");
	put(pg, "</tr></thead><tbody>\n");
	for(size_t i = 0; i < shown && !pg->st; i++) {
		put(pg, "<tr>");
		cell(pg, "q", bars[i].qualification);
		put(pg, "<td class=\"s\">");
		status(pg, bars[i].status);
		put(pg, "</td><td class=\"num n\">");
		num(pg, bars[i].now);
		put(pg, "</td>");
		if(f->previous_path) {
			put(pg, "<td class=\"num p\">");
			num(pg, bars[i].before);
			put(pg, "</td>");
			delta(pg, &bars[i], false);
		}
		put(pg, "</tr>\n");
		flush(pg, false);
	}
	put(pg, "</tbody></table>\n");
	more(pg, n, shown, "combinations", "the summary report", NULL);
}

static enum pl_status overview(struct page *pg, const struct html_facts *f)
{
	size_t n = 0;
	struct bar *bars = merge_bars(f, &n);

	if(!bars)
		return pl_fail(pg->err, PL_ENOMEM, "out of memory");
	put(pg, "<section id=\"overview\"><h2>Tenants by qualification and "
		"vetting status</h2>\n");
	if(f->previous_path) {
		char c[32];

		putf(pg, "<p class=\"note\">Against the previous run (%s "
		     "tenants, <code>", count(f->previous_tenants, c));
		text(pg, f->previous_path);
		put(pg, "</code>): the dark tick marks its count, the figure "
			"after the bar the change.</p>\n");
	}
	if(n)
		chart(pg, f, bars, n);
	counts_table(pg, f, bars, n);
	put(pg, "</section>\n");
	free(bars);
	return PL_OK;
}

static void denied(struct page *pg, const struct html *h,
		   const struct html_facts *f)
{
	section(pg, "denied", "Denied", h->denied.total);
	if(!h->denied.total) {
		put(pg, "<p class=\"note\">No Denied qualification.</p>"
			"</section>\n");
		return;
	}
	put(pg, "<table><thead><tr><th>Customer</th><th>Qualification</th>"
		"<th>Reason</th><th>Vetting created</th></tr></thead>"
		"<tbody>\n");
	for(size_t i = 0; i < h->denied.n && !pg->st; i++) {
		const struct item *it = &h->denied.items[i];

		put(pg, "<tr>");
		customer(pg, it);
		cell(pg, NULL, it->qualification);
		cell(pg, "reason", it->reason);
		cell(pg, NULL, it->date);
		put(pg, "</tr>\n");
		flush(pg, false);
	}
	put(pg, "</tbody></table>\n");
	more(pg, h->denied.total, h->denied.n, "Denied rows",
	     "the detail report", f->detail_path);
	put(pg, "</section>\n");
}

static int cmp_oldest(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	return newer(x, y) ? 1 : newer(y, x) ? -1 : 0;
}

static void review(struct page *pg, struct html *h,
		   const struct html_facts *f)
{
	int64_t now = h->opt.now_ms / 1000;

	section(pg, "inreview", "In review", h->review.total);
	if(!h->review.total) {
		put(pg, "<p class=\"note\">No qualification in review.</p>"
			"</section>\n");
		return;
	}
	qsort(h->review.items, h->review.n, sizeof(struct item), cmp_oldest);
	put(pg, "<p class=\"note\">Longest in review first; days counted to "
		"the run's start.</p>\n<table><thead><tr><th>Customer</th>"
		"<th>Qualification</th><th>In review since</th>"
		"<th class=\"num\">Days</th></tr></thead><tbody>\n");
	for(size_t i = 0; i < h->review.n && !pg->st; i++) {
		const struct item *it = &h->review.items[i];

		put(pg, "<tr>");
		customer(pg, it);
		cell(pg, NULL, it->qualification);
		cell(pg, NULL, it->date);
		put(pg, "<td class=\"num days\">");
		if(it->since == NO_DATE)
			put(pg, "&mdash;");
		else
			putf(pg, "%lld", (long long)(now > it->since
				? (now - it->since) / 86400 : 0));
		put(pg, "</td></tr>\n");
		flush(pg, false);
	}
	put(pg, "</tbody></table>\n");
	more(pg, h->review.total, h->review.n,
	     "InReview rows (the longest in review)", "the detail report",
	     f->detail_path);
	put(pg, "</section>\n");
}

static void changes(struct page *pg, const struct html *h,
		    const struct html_facts *f)
{
	bool any = false;

	if(!f->previous_path) {
		put(pg, "<section id=\"changes\"><h2>Changes since the "
			"previous run</h2><p class=\"note\">No previous run "
			"given (<code>--previous</code>).</p></section>\n");
		return;
	}
	section(pg, "changes", "Changes since the previous run",
		h->changes.total);
	put(pg, "<p class=\"note\" id=\"change-kinds\">");
	for(int k = 0; k < CHANGE_KINDS; k++) {
		if(!h->by_kind[k])
			continue;
		putf(pg, "%s<span class=\"kind\">%s</span> ", any ? ", " : "",
		     changes_kind_name((enum change_kind)k));
		num(pg, h->by_kind[k]);
		any = true;
	}
	put(pg, any ? ". <code>unknown</code>: the tenant was Error in one "
		"run or both, so nothing is known about a change.</p>\n"
		: "No change.</p>\n");
	if(!h->changes.total) {
		put(pg, "</section>\n");
		return;
	}
	put(pg, "<table><thead><tr><th>Customer</th><th>Qualification</th>"
		"<th>Change</th><th>Before</th><th>Now</th></tr></thead>"
		"<tbody>\n");
	for(size_t i = 0; i < h->changes.n && !pg->st; i++) {
		const struct item *it = &h->changes.items[i];

		put(pg, "<tr>");
		customer(pg, it);
		cell(pg, NULL, it->qualification);
		cell(pg, "change", changes_kind_name(it->kind));
		put(pg, "<td>");
		if(it->kind != CHANGE_NEW_TENANT && it->kind != CHANGE_ADDED) {
			status(pg, it->prev_status);
			if(it->prev_reason) {
				put(pg, "<br><span class=\"reason\">");
				text(pg, it->prev_reason);
				put(pg, "</span>");
			}
		}
		put(pg, "</td><td>");
		if(it->kind != CHANGE_GONE_TENANT &&
		   it->kind != CHANGE_REMOVED) {
			status(pg, it->status);
			if(it->reason) {
				put(pg, "<br><span class=\"reason\">");
				text(pg, it->reason);
				put(pg, "</span>");
			}
		}
		put(pg, "</td></tr>\n");
		flush(pg, false);
	}
	put(pg, "</tbody></table>\n");
	if(f->changes_path)
		more(pg, h->changes.total, h->changes.n, "changes",
		     "the changes report", f->changes_path);
	else
		more(pg, h->changes.total, h->changes.n, "changes",
		     "the changes report (<code>--changes</code>)", NULL);
	put(pg, "</section>\n");
}

static void errors(struct page *pg, const struct html *h,
		   const struct html_facts *f)
{
	section(pg, "errors", "Errors", h->errors.total);
	if(!h->errors.total) {
		put(pg, "<p class=\"note\">Every tenant was answered.</p>"
			"</section>\n");
		return;
	}
	put(pg, "<table><thead><tr><th>Customer</th><th class=\"num\">HTTP"
		"</th><th class=\"num\">Attempts</th><th>Reason</th></tr>"
		"</thead><tbody>\n");
	for(size_t i = 0; i < h->errors.n && !pg->st; i++) {
		const struct item *it = &h->errors.items[i];

		put(pg, "<tr>");
		customer(pg, it);
		putf(pg, "<td class=\"num\">%ld</td><td class=\"num\">%u</td>",
		     it->http, it->attempts);
		cell(pg, "reason", it->reason);
		put(pg, "</tr>\n");
		flush(pg, false);
	}
	put(pg, "</tbody></table>\n");
	more(pg, h->errors.total, h->errors.n, "Error tenants",
	     "the detail report", f->detail_path);
	put(pg, "</section>\n");
}

static void fact(struct page *pg, const char *name, const char *value,
		 const char *cls)
{
	putf(pg, "<dt>%s</dt><dd%s%s%s>", name, cls ? " class=\"" : "",
	     cls ? cls : "", cls ? "\"" : "");
	text(pg, value);
	put(pg, "</dd>\n");
}

static void facts(struct page *pg, const struct html_facts *f)
{
	char c[32];

	put(pg, "<section id=\"facts\"><h2>Run facts</h2>\n"
		"<dl class=\"facts\">\n");
	fact(pg, "Correlation ID", f->correlation_id, "sha");
	put(pg, "<dt>Started</dt><dd>");
	when(pg, f->started_ms);
	put(pg, "</dd>\n<dt>Written</dt><dd>");
	when(pg, f->ended_ms);
	put(pg, "</dd>\n");
	fact(pg, "Input", f->input_path, NULL);
	putf(pg, "<dt>Input bytes</dt><dd>%s</dd>\n",
	     count(f->input_bytes, c));
	fact(pg, "Input SHA-256", f->input_sha256, "sha");
	if(f->previous_path) {
		fact(pg, "Previous run", f->previous_path, NULL);
		fact(pg, "Previous SHA-256", f->previous_sha256, "sha");
	}
	if(f->manifest_path)
		fact(pg, "Manifest", f->manifest_path, NULL);
	put(pg, "</dl>\n<table id=\"outputs\"><thead><tr><th>Output</th>"
		"<th>Path</th><th>Format</th><th class=\"num\">Rows</th>"
		"<th class=\"num\">Bytes</th><th>SHA-256</th></tr></thead>"
		"<tbody>\n");
	for(size_t i = 0; i < f->noutputs && !pg->st; i++) {
		const struct manifest_output *o = &f->outputs[i];

		put(pg, "<tr>");
		cell(pg, "role", o->role);
		cell(pg, NULL, o->path);
		cell(pg, NULL, o->format);
		put(pg, "<td class=\"num\">");
		num(pg, o->rows);
		put(pg, "</td><td class=\"num\">");
		num(pg, o->bytes);
		put(pg, "</td>");
		cell(pg, "sha", o->sha256);
		put(pg, "</tr>\n");
	}
	put(pg, "</tbody></table>\n<p class=\"note\">");
	if(f->manifest_path)
		put(pg, "The manifest, written last, lists these and this "
			"page with their SHA-256.");
	else
		put(pg, "No manifest was written for this run.");
	put(pg, "</p></section>\n");
}

/* 'sha256-<base64>' of the style block, for the CSP. */
static void style_hash(char out[64])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	EVP_Digest(style, sizeof(style) - 1, md, &len, EVP_sha256(), NULL);
	EVP_EncodeBlock((unsigned char *)out, md, (int)len);
}

static void document(struct page *pg, struct html *h,
		     const struct html_facts *f)
{
	char hash[64], iso[32];

	style_hash(hash);
	manifest_format_time(f->started_ms, iso);
	put(pg, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
		"<meta charset=\"utf-8\">\n");
	/* Nothing may load: no script, image, font, frame or connection;
	 * only this style block, by its hash. */
	putf(pg, "<meta http-equiv=\"Content-Security-Policy\" content=\""
	     "default-src 'none'; style-src 'sha256-%s'; img-src 'none'; "
	     "script-src 'none'; base-uri 'none'; form-action 'none'\">\n",
	     hash);
	put(pg, "<meta name=\"referrer\" content=\"no-referrer\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, "
		"initial-scale=1\">\n<meta name=\"generator\" content="
		"\"qualreport ");
	text(pg, f->version);
	putf(pg, "\">\n<title>Partner Center qualifications %.10s</title>\n"
	     "<style>", iso);
	put(pg, style);
	put(pg, "</style>\n</head>\n<body>\n");
	headline(pg, f);
	if(!pg->st)
		pg->st = overview(pg, f);
	denied(pg, h, f);
	flush(pg, false);
	review(pg, h, f);
	flush(pg, false);
	changes(pg, h, f);
	flush(pg, false);
	errors(pg, h, f);
	facts(pg, f);
	put(pg, "<footer>Written by qualreport ");
	text(pg, f->version);
	put(pg, ". This page is self-contained: it loads nothing and runs "
		"no script. Values from the API and the input are shown as "
		"text.</footer>\n</body>\n</html>\n");
}

enum pl_status html_write(struct html *h, const char *path,
			  const struct html_facts *facts_in,
			  struct outfile **out, struct pl_err *err)
{
	struct page pg;

	*out = NULL;
	memset(&pg, 0, sizeof(pg));
	buf_init(&pg.b, 0);
	pg.err = err;
	pg.st = outfile_open(path, 0, &pg.out, err);
	if(pg.st)
		return pg.st;
	document(&pg, h, facts_in);
	flush(&pg, true);
	if(!pg.st)
		pg.st = outfile_finish(pg.out, err);
	buf_release(&pg.b);
	if(pg.st) {
		outfile_abort(pg.out);
		return pg.st;
	}
	*out = pg.out;
	return PL_OK;
}
