/*
 * html.h: the report for people (--html PATH), one self-contained page.
 *
 * The collector sees every tenant record in input order (and every change
 * row when there is a previous report) and keeps only what the page
 * shows, bounded: the first HTML_LIST_MAX Denied rows, Error tenants and
 * changes, and the HTML_LIST_MAX InReview rows longest in review (a
 * bounded heap, oldest first); past that the page says how many more the
 * detail (or changes) report holds. So the page stays about 1 MB whatever
 * the number of tenants.
 *
 * The page: a headline (when, input, tenants, answered, not found,
 * failed, exit status), an inline-SVG chart of tenants by qualification x
 * vetting status with the change against the previous run, a table of the
 * same counts, the Denied, InReview, changes and Error tables, and the
 * manifest's facts (correlation ID, SHA-256 of the input and of every
 * other output). Nothing is fetched: no script, no external style, font
 * or image; a Content-Security-Policy meta tag allows only the page's own
 * style block (by its hash). It prints on A4 (print styles).
 *
 * Every value from the API, the input or a path is HTML-escaped (& < > "
 * ') after ill-formed UTF-8 and control characters became U+FFFD, so a
 * vetting_reason of "<script>..." shows as text; status names never reach
 * a class or an attribute, only fixed class names chosen from them.
 *
 * Ownership: html_free(NULL) is a no-op; strings passed in are copied
 * unless said otherwise.
 */
#ifndef QR_HTML_H
#define QR_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "changes.h"
#include "manifest.h"
#include "outfile.h"
#include "record.h"
#include "status.h"
#include "summary.h"

#define HTML_LIST_MAX 1000
/* Bars in the chart; the table below it lists up to HTML_LIST_MAX. */
#define HTML_CHART_MAX 40

struct html_options {
	/*
	 * The company name of tenant `index` (input order), or NULL when it
	 * is not known; the page then shows the tenant ID alone. NULL hook:
	 * IDs only. The string is borrowed for the call.
	 */
	const char *(*name_of)(void *ctx, size_t tenant_index);
	void *name_ctx;
	/* "Today" for days in review: the run's start (epoch ms, UTC). */
	int64_t now_ms;
};

struct html;

/* NULL on allocation failure. */
struct html *html_new(const struct html_options *opt);
void html_free(struct html *h);

/* Tenant `index` of the run, in input order. PL_ENOMEM, naming it. */
enum pl_status html_add_tenant(struct html *h, size_t index,
			       const struct tenant_record *rec,
			       struct pl_err *err);
/* A change row (a changes_sink: ctx is the struct html). */
enum pl_status html_add_change(void *h, const struct change_row *row,
			       struct pl_err *err);

/* What the page states besides the tenants: the manifest's facts. */
struct html_facts {
	const char *version;
	const char *correlation_id;
	int64_t started_ms, ended_ms;
	const char *input_path;
	const char *input_sha256;
	uint64_t input_bytes;
	const struct manifest_counts *counts;
	int exit_code;
	/* The other outputs, finished (rows, bytes and SHA-256 final). */
	const struct manifest_output *outputs;
	size_t noutputs;
	const char *manifest_path;     /* NULL: no manifest */
	const char *detail_path;       /* for "N more in ..." */
	const char *changes_path;      /* NULL: no --changes */
	/* Tenants by (qualification, status), sorted as summary_sorted. */
	const struct summary_entry *summary;
	size_t nsummary;
	/* The previous run (previous NULL: none given). */
	const char *previous_path;
	const char *previous_sha256;
	uint64_t previous_tenants;
	const struct summary_entry *previous_summary;
	size_t nprevious_summary;
};

/*
 * Write the page to path through an outfile (atomic as every output) and
 * finish it: *out is the finished outfile, for the caller to commit (or
 * abort) with the others. On failure nothing is left at path.
 */
enum pl_status html_write(struct html *h, const char *path,
			  const struct html_facts *facts,
			  struct outfile **out, struct pl_err *err);

/* Append s[0..n) HTML-escaped (see above). PL_ENOMEM, PL_ELIMIT. */
enum pl_status html_escape(struct buf *b, const char *s, size_t n);

#endif
