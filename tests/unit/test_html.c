/*
 * test_html: the page for people. Escaping (markup, quotes, ill-formed
 * UTF-8, control characters), hostile values inert wherever they appear
 * (reasons, qualification names in the chart, company names, paths), the
 * page's structure and counts, the CSP hash of its style block, the
 * bounded lists (first 1,000 and "N more"), InReview oldest first with
 * days in review, change rows with names, and an atomic write.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "buf.h"
#include "changes.h"
#include "civil.h"
#include "html.h"
#include "record.h"
#include "summary.h"
#include "testutil.h"

/* Stand-in SHA-256 values, 64 hex digits each. */
#define SHA(c) c c c c c c c c c c c c c c c c
#define SHA1 SHA("1111")
#define SHA2 SHA("2222")
#define SHA3 SHA("3333")
#define SHA4 SHA("4444")
#define HOSTILE_SCRIPT "<script>document.title='pwned'</script>"
#define HOSTILE_IMG "\"><img src=x onerror=alert(1)>"

static void expect_escaped(const char *in, size_t n, const char *want)
{
	struct buf b = BUF_INIT;

	assert_int_equal(html_escape(&b, in, n), PL_OK);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_escape(void **state)
{
	(void)state;
	expect_escaped("<script>alert(1)</script>", 25,
		       "&lt;script&gt;alert(1)&lt;/script&gt;");
	expect_escaped("\"><img src=x onerror=alert('1')>", 32,
		       "&quot;&gt;&lt;img src=x onerror=alert(&#39;1&#39;)"
		       "&gt;");
	expect_escaped("a & b &amp;", 11, "a &amp; b &amp;amp;");
	/* Ill-formed UTF-8 and control characters become U+FFFD; text,
	 * tab and line breaks stay. */
	expect_escaped("\xff" "x\x01y\x7f\tz\n\xc3\xbc", 10,
		       "\xef\xbf\xbd" "x\xef\xbf\xbdy\xef\xbf\xbd\tz\n"
		       "\xc3\xbc");
	expect_escaped("nul\0after", 9, "nul\xef\xbf\xbd" "after");
	expect_escaped("\r", 1, "\xef\xbf\xbd");
	expect_escaped(NULL, 0, "");
	expect_escaped("plain text, no change", 21, "plain text, no change");
}

static void add(struct tenant_record *r, const char *q, const char *st,
		const char *reason, const char *date)
{
	assert_int_equal(tenant_record_add_row(r, q, st, reason, date, NULL),
			 PL_OK);
}

static void tenant(struct tenant_record *r, unsigned n,
		   enum tenant_outcome o)
{
	tenant_record_init(r);
	snprintf(r->tenant_id, sizeof(r->tenant_id),
		 "0a1b2c3d-0000-4000-8000-%012u", n);
	r->outcome = o;
	r->http_status = o == OUTCOME_FAILED ? 403 : 200;
	r->attempts = 1;
}

static const char *names(void *ctx, size_t index)
{
	(void)ctx;
	if(index == 0)
		return "Contoso <b>School</b> & \"Sons\"";
	if(index == 1)
		return "Fabrikam University";
	return NULL;
}

struct page {
	struct html *h;
	struct summary *sum, *prev;
	struct outfile *out;
	char dir[64], path[128];
	char *text;
};

/* 2026-11-01T06:00:00Z, the run's start */
static int64_t run_start(void)
{
	return (civil_days(2026, 11, 1) * 86400 + 6 * 3600) * 1000;
}

static void feed(struct page *pg, size_t index, struct tenant_record *r)
{
	assert_int_equal(html_add_tenant(pg->h, index, r, NULL), PL_OK);
	assert_int_equal(summary_add_tenant(pg->sum, r, NULL), PL_OK);
	tenant_record_release(r);
}

static void change(struct page *pg, const char *tenant, const char *q,
		   enum change_kind kind, const char *ps, const char *vs,
		   const char *pr, const char *vr)
{
	struct change_row row = {tenant, q, kind, ps, vs, pr, vr, NULL, NULL};
	struct pl_err err = {{0}};

	assert_int_equal(html_add_change(pg->h, &row, &err), PL_OK);
}

static void write_page(struct page *pg, bool with_previous)
{
	struct manifest_counts counts = {41, 40, 1, 0, 0, 40, 36, 1, 3, 44};
	struct manifest_output outs[] = {
		{"detail", "out/<q>.csv", "csv", 44, 5000,
		 SHA1},
		{"changes", "out/changes.csv", "csv", 7, 900,
		 SHA2}};
	struct html_facts f;
	struct pl_err err = {{0}};

	memset(&f, 0, sizeof(f));
	f.version = "0.1.0";
	f.correlation_id = "7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745";
	f.started_ms = run_start();
	f.ended_ms = run_start() + 65000;
	f.input_path = "samples/<tenants>.csv";
	f.input_sha256 = SHA3;
	f.input_bytes = 1234567;
	f.counts = &counts;
	f.exit_code = 1;
	f.outputs = outs;
	f.noutputs = 2;
	f.manifest_path = "out/q.csv.manifest.json";
	f.detail_path = "out/<q>.csv";
	f.changes_path = "out/changes.csv";
	assert_int_equal(summary_sorted(pg->sum, &f.summary, &f.nsummary,
					NULL), PL_OK);
	if(with_previous) {
		f.previous_path = "last/q.csv";
		f.previous_sha256 = SHA4;
		f.previous_tenants = 39;
		assert_int_equal(summary_sorted(pg->prev,
						&f.previous_summary,
						&f.nprevious_summary, NULL),
				 PL_OK);
	}
	assert_int_equal(html_write(pg->h, pg->path, &f, &pg->out, &err),
			 PL_OK);
	/* Finished but not yet at its path: committed with the others. */
	assert_int_equal(access(pg->path, F_OK), -1);
	assert_non_null(outfile_finished_stats(pg->out));
	assert_int_equal(outfile_commit(pg->out, NULL, &err), PL_OK);
	pg->text = testutil_read_file(pg->path, NULL);
}

static void page_init(struct page *pg)
{
	struct html_options opt = {names, NULL, run_start()};

	memset(pg, 0, sizeof(*pg));
	assert_int_equal(testutil_mkdtemp(pg->dir, sizeof(pg->dir), "html"),
			 0);
	snprintf(pg->path, sizeof(pg->path), "%s/report.html", pg->dir);
	pg->h = html_new(&opt);
	pg->sum = summary_new();
	pg->prev = summary_new();
	assert_non_null(pg->h);
	assert_non_null(pg->sum);
	assert_non_null(pg->prev);
}

static void page_free(struct page *pg)
{
	html_free(pg->h);
	summary_free(pg->sum);
	summary_free(pg->prev);
	free(pg->text);
	testutil_rmtree(pg->dir);
}

static size_t occurrences(const char *hay, const char *needle)
{
	size_t n = 0;

	for(const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static void expect(const char *text, const char *needle)
{
	if(!strstr(text, needle))
		fail_msg("page lacks '%s'", needle);
}

static void test_page(void **state)
{
	struct page pg;
	struct tenant_record r;
	char hash[80], csp[200];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	const char *style, *end;

	(void)state;
	page_init(&pg);
	/* 0: Denied with a hostile reason, and a company name */
	tenant(&r, 0, OUTCOME_ANSWERED);
	add(&r, "Education", "Denied", HOSTILE_SCRIPT,
	    "2020-12-03T10:37:38.885Z");
	feed(&pg, 0, &r);
	change(&pg, "0a1b2c3d-0000-4000-8000-000000000000", "Education",
	       CHANGE_STATUS, "Approved", "Denied", NULL, HOSTILE_SCRIPT);
	/* 1: InReview since 2026-10-01 (31 days at the run's start) */
	tenant(&r, 1, OUTCOME_ANSWERED);
	add(&r, "Education", "InReview", NULL, "2026-10-01T06:00:00Z");
	feed(&pg, 1, &r);
	/* 2: InReview since 2020 (oldest), with a hostile qualification */
	tenant(&r, 2, OUTCOME_ANSWERED);
	add(&r, "<svg onload=alert(1)>", "InReview", NULL,
	    "2020-12-03T10:37:38.885Z");
	feed(&pg, 2, &r);
	/* 3: InReview without a date */
	tenant(&r, 3, OUTCOME_ANSWERED);
	add(&r, "Education", "InReview", NULL, NULL);
	feed(&pg, 3, &r);
	/* 4: Error with a hostile API description */
	tenant(&r, 4, OUTCOME_FAILED);
	add(&r, NULL, "Error", NULL, NULL);
	assert_int_equal(tenant_record_set_error(&r, "20002: " HOSTILE_IMG,
						 NULL),
			 PL_OK);
	feed(&pg, 4, &r);
	/* 5: an unknown status, Approved and None */
	tenant(&r, 5, OUTCOME_ANSWERED);
	add(&r, "Education", "Approved", NULL, NULL);
	add(&r, "GovernmentCommunityCloud", "Suspended\"", NULL, NULL);
	feed(&pg, 5, &r);
	tenant(&r, 6, OUTCOME_ANSWERED);
	add(&r, NULL, "None", NULL, NULL);
	feed(&pg, 6, &r);
	change(&pg, "0a1b2c3d-0000-4000-8000-000000000099", "Education",
	       CHANGE_GONE_TENANT, "Approved", NULL, NULL, NULL);
	/* the previous run's counts */
	tenant(&r, 9, OUTCOME_ANSWERED);
	add(&r, "Education", "Approved", NULL, NULL);
	assert_int_equal(summary_add_tenant(pg.prev, &r, NULL), PL_OK);
	assert_int_equal(summary_add_tenant(pg.prev, &r, NULL), PL_OK);
	tenant_record_release(&r);
	write_page(&pg, true);

	/* Hostile text inert: no markup of its own anywhere. */
	assert_null(strstr(pg.text, "<script"));
	assert_null(strstr(pg.text, "<img"));
	assert_null(strstr(pg.text, "<svg onload"));
	assert_null(strstr(pg.text, "<b>"));
	assert_null(strstr(pg.text, "Suspended\""));
	expect(pg.text, "&lt;script&gt;document.title=&#39;pwned&#39;"
		       "&lt;/script&gt;");
	expect(pg.text, "20002: &quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	expect(pg.text, "&lt;svg onload=alert(1)&gt;");
	expect(pg.text, "Contoso &lt;b&gt;School&lt;/b&gt; &amp; "
		       "&quot;Sons&quot;");
	expect(pg.text, "samples/&lt;tenants&gt;.csv");
	/* An unknown status gets the fixed class "other", its text
	 * escaped. */
	expect(pg.text, "<span class=\"st st-other\">Suspended&quot;</span>");

	/* Structure and counts. */
	expect(pg.text, "<!DOCTYPE html>\n<html lang=\"en\">");
	expect(pg.text, "<title>Partner Center qualifications 2026-11-01"
		       "</title>");
	expect(pg.text, "<span class=\"n\" id=\"n-tenants\">40</span>");
	expect(pg.text, "<span class=\"n\" id=\"n-answered\">36</span>");
	expect(pg.text, "<span class=\"n\" id=\"n-notfound\">1</span>");
	expect(pg.text, "<span class=\"n\" id=\"n-failed\">3</span>");
	expect(pg.text, "<span class=\"n\" id=\"n-exit\">1</span>");
	expect(pg.text, "1,234,567");
	expect(pg.text, "id=\"count-denied\">1</span>");
	expect(pg.text, "id=\"count-inreview\">3</span>");
	expect(pg.text, "id=\"count-errors\">1</span>");
	expect(pg.text, "id=\"count-changes\">2</span>");
	expect(pg.text, "<span class=\"kind\">gone_tenant</span> 1");
	expect(pg.text, "<span class=\"kind\">status_changed</span> 1");
	expect(pg.text, "<td class=\"sha\">" SHA2 "</td>");
	expect(pg.text, "7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745");
	/* The chart: one bar per pair, Education/Approved up from the
	 * previous run's 2 to 1 (down 1). */
	assert_int_equal(occurrences(pg.text, "<g class=\"bar\">"), 7);
	expect(pg.text, "<title>Education \xc2\xb7 Approved</title>");
	expect(pg.text, "<td class=\"num n\">1</td><td class=\"num p\">2</td>"
		       "<td class=\"num delta down\">\xe2\x88\x92" "1</td>");
	/* The change row of tenant 0 carries its name; the gone one its
	 * ID alone. */
	expect(pg.text, "<td>Education</td><td class=\"change\">"
		       "status_changed</td>");
	/* InReview oldest first, days to the run's start, no date last. */
	{
		const char *a = strstr(pg.text, "000000000002</span>");
		const char *b = strstr(pg.text,
			"000000000001</span></td><td>Education</td><td>"
			"2026-10-01T06:00:00Z</td><td class=\"num days\">31"
			"</td>");
		const char *c = strstr(pg.text, "000000000003</span>");

		assert_non_null(a);
		assert_non_null(b);
		assert_non_null(c);
		assert_true(a < b && b < c);
	}
	/* The CSP allows exactly this page's style block. */
	style = strstr(pg.text, "<style>");
	end = strstr(pg.text, "</style>");
	assert_non_null(style);
	assert_non_null(end);
	style += 7;
	EVP_Digest(style, (size_t)(end - style), md, &mdlen, EVP_sha256(),
		   NULL);
	EVP_EncodeBlock((unsigned char *)hash, md, (int)mdlen);
	snprintf(csp, sizeof(csp), "default-src 'none'; style-src "
		 "'sha256-%s';", hash);
	expect(pg.text, csp);
	expect(pg.text, "@media print{@page{size:A4");
	/* Nothing that could fetch: no URL but the SVG namespace. */
	assert_int_equal(occurrences(pg.text, "http://"), 1);
	assert_int_equal(occurrences(pg.text, "https://"), 0);
	assert_int_equal(occurrences(pg.text, "src="), 1); /* as text */
	assert_null(strstr(pg.text, "href="));
	assert_null(strstr(pg.text, "url("));
	assert_null(strstr(pg.text, "@import"));
	page_free(&pg);
}

static void test_bounded_lists(void **state)
{
	struct page pg;
	struct tenant_record r;
	char want[256];

	(void)state;
	page_init(&pg);
	/* 1,500 Denied, 1,500 Error, 2,500 InReview (the oldest are the
	 * last ones), 1,200 changes */
	for(unsigned i = 0; i < 2500; i++) {
		char date[32];
		int64_t y;
		unsigned m, d;

		/* a day each, older the later in the input */
		civil_from_days(civil_days(2015, 1, 1) + 2500 - i, &y, &m, &d);
		snprintf(date, sizeof(date), "%04d-%02u-%02uT00:00:00Z",
			 (int)y, m, d);
		tenant(&r, 10000 + i, OUTCOME_ANSWERED);
		add(&r, "Education", "InReview", NULL, date);
		feed(&pg, 10000 + i, &r);
	}
	for(unsigned i = 0; i < 1500; i++) {
		tenant(&r, 20000 + i, OUTCOME_ANSWERED);
		add(&r, "Education", "Denied", "Not an Education Customer",
		    NULL);
		feed(&pg, 20000 + i, &r);
		tenant(&r, 30000 + i, OUTCOME_FAILED);
		add(&r, NULL, "Error", NULL, NULL);
		assert_int_equal(tenant_record_set_error(&r, "timeout", NULL),
				 PL_OK);
		feed(&pg, 30000 + i, &r);
	}
	for(unsigned i = 0; i < 1200; i++)
		change(&pg, "0a1b2c3d-0000-4000-8000-000000000001", "E",
		       CHANGE_ADDED, NULL, "Approved", NULL, NULL);
	write_page(&pg, true);
	expect(pg.text, "id=\"count-denied\">1,500</span>");
	expect(pg.text, "id=\"count-errors\">1,500</span>");
	expect(pg.text, "id=\"count-inreview\">2,500</span>");
	expect(pg.text, "id=\"count-changes\">1,200</span>");
	snprintf(want, sizeof(want), "Showing 1,000 of 1,500 Denied rows; the "
		 "other 500 are in the detail report <code>out/&lt;q&gt;.csv"
		 "</code>.");
	expect(pg.text, want);
	expect(pg.text, "Showing 1,000 of 1,500 Error tenants; the other 500");
	expect(pg.text, "Showing 1,000 of 2,500 InReview rows (the longest in "
		       "review); the other 1,500");
	expect(pg.text, "Showing 1,000 of 1,200 changes; the other 200 are in "
		       "the changes report <code>out/changes.csv</code>.");
	/* 1,000 rows each: 4,000 table rows plus the counts table's 3 */
	assert_int_equal(occurrences(pg.text, "<tr><td class=\"customer\">"),
			 4000);
	/* The InReview table is sorted oldest first: dates ascending. */
	{
		const char *p = strstr(pg.text, "<section id=\"inreview\">");
		char last[32] = "";

		assert_non_null(p);
		for(int k = 0; k < 1000; k++) {
			char date[32];

			p = strstr(p, "</td><td>Education</td><td>");
			assert_non_null(p);
			p += strlen("</td><td>Education</td><td>");
			memcpy(date, p, 20);
			date[20] = '\0';
			assert_true(strcmp(last, date) <= 0);
			memcpy(last, date, sizeof(last));
		}
		/* and it kept the oldest 1,000: the last shown is the
		 * 1,000th oldest (input 1,500, 1,000 days after 2015) */
		{
			int64_t y;
			unsigned m, d;
			char want_last[32];

			civil_from_days(civil_days(2015, 1, 1) + 1000, &y, &m,
					&d);
			snprintf(want_last, sizeof(want_last),
				 "%04d-%02u-%02uT00:00:00Z", (int)y, m, d);
			assert_string_equal(last, want_last);
		}
	}
	assert_true(strlen(pg.text) < 2 * 1024 * 1024);
	page_free(&pg);
}

static void test_no_previous_and_write_error(void **state)
{
	struct page pg;
	struct tenant_record r;
	struct outfile *out = NULL;
	struct manifest_counts counts = {1, 1, 0, 0, 0, 1, 1, 0, 0, 1};
	struct html_facts f;
	struct pl_err err = {{0}};

	(void)state;
	page_init(&pg);
	tenant(&r, 1, OUTCOME_ANSWERED);
	add(&r, "Education", "Approved", NULL, NULL);
	feed(&pg, 0, &r);
	write_page(&pg, false);
	expect(pg.text, "No previous run given (<code>--previous</code>).");
	assert_null(strstr(pg.text, "Previous run"));
	expect(pg.text, "Every tenant was answered.");
	expect(pg.text, "No Denied qualification.");

	memset(&f, 0, sizeof(f));
	f.version = "0.1.0";
	f.correlation_id = "x";
	f.input_path = "in.csv";
	f.input_sha256 = "";
	f.counts = &counts;
	assert_int_equal(html_write(pg.h, "/dev/full", &f, &out, &err),
			 PL_EOUTPUT);
	assert_null(out);
	assert_non_null(strstr(err.msg, "/dev/full"));
	assert_int_equal(html_write(pg.h, "/nonexistent/dir/r.html", &f, &out,
				    &err), PL_EOUTPUT);
	page_free(&pg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_page),
		cmocka_unit_test(test_bounded_lists),
		cmocka_unit_test(test_no_previous_and_write_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
