/*
 * pipeline.h: the whole job, wired; the only header the CLI needs.
 *
 *   read CSV (or list the customers) -> validate + dedupe IDs -> fetch
 *   concurrently (bounded, retried, rate-limited) -> normalize JSON into
 *   rows -> write detail + summary reports (+ rejects, customers,
 *   journal, changes since a previous run, an HTML page, manifest)
 *
 * The input is a source (source.h) the pipeline pulls tenants from. A
 * CSV is read completely first (streaming: only the 16-byte IDs are
 * kept), so input errors stop the run before any request and the total
 * is known for progress. The customer listing (all_customers) is read
 * page by page by the same engine that fetches the qualifications, which
 * start as soon as the first page is in; its total is known at its last
 * page. Answers arrive in any order; a reorder window puts rows back in
 * input order before they are written, so the same input, correlation
 * ID and answers give the same bytes.
 */
#ifndef QR_PIPELINE_H
#define QR_PIPELINE_H

#include <signal.h>

#include "auth.h"
#include "fetch.h"
#include "log.h"
#include "record.h"
#include "report.h"
#include "status.h"

enum progress_mode { PROGRESS_AUTO = -1, PROGRESS_OFF = 0, PROGRESS_ON = 1 };

struct pipeline_config {
	const char *input;        /* path, "-" = stdin */
	const char *output;       /* detail report, "-" = stdout */
	const char *summary;      /* NULL = no summary report */
	const char *rejects;      /* NULL = no rejects file */
	const char *journal;      /* NULL = no journal */
	const char *manifest;     /* NULL = default (beside a file output) */
	const char *previous;     /* last run's detail or manifest, or NULL */
	const char *changes;      /* changes report (needs previous), NULL */
	const char *html;         /* the page for people, NULL = none */
	/* Company names for the page: the name of tenant `index` (input
	 * order) or NULL (borrowed for the call). NULL hook: tenant IDs
	 * only. With all_customers or customers the pipeline uses the
	 * names it was given (custdir.h) instead. */
	const char *(*name_of)(void *ctx, size_t tenant_index);
	void *name_ctx;
	int format_set;           /* -f given */
	enum report_format format;
	int excel_safe;
	const char *column;       /* --column, NULL = auto */
	/* --all-customers: no input file; the input is the API's customer
	 * list (GET /v1/customers), page_size customers a page. */
	int all_customers;
	unsigned page_size;
	/* --customers PATH: one row per tenant (tenant_id, company_name,
	 * domain, relationship_to_partner), NULL = none. With a CSV input
	 * its name and domain columns (csvin.h) fill it. */
	const char *customers;

	const char *base_url;
	unsigned concurrency;
	double rate;              /* 0 = adaptive */
	unsigned retries;
	long timeout_ms;
	/* The longest Retry-After waited for, in seconds (0 = 600): a longer
	 * one makes that tenant an Error row instead of a wait. */
	unsigned max_retry_wait_s;
	/* Run time (ms from the start) after which nothing more is sent,
	 * 0 = none: what is unfinished then becomes Error rows that are not
	 * journaled, so a rerun with the journal fetches them (exit 1). */
	int64_t deadline_ms;
	const char *cacert;
	char correlation_id[GUID_STR_LEN + 1]; /* "" = new (or journal's) */

	struct auth_config auth;  /* secrets borrowed from the CLI */
	/* Why no credential could be had, or NULL. Reported (exit 4) only
	 * once the input has been read and holds a tenant to fetch, so input
	 * errors keep their own exit code and an input without valid IDs
	 * needs no token. */
	const char *auth_error;

	enum progress_mode progress;
	int quiet;                /* no human summary on stderr */
	volatile sig_atomic_t *stop; /* set to the signal number */
};

/*
 * How the run ended, and what it got to however it ended (zeros for what
 * it did not reach), for --metrics: tenants are counted as their rows are
 * written (input order), so an interrupted run has answered + not_found +
 * failed < tenants.
 */
struct pipeline_result {
	int exit_code;            /* the contract's exit code */
	unsigned long tenants;    /* valid tenants of the input */
	unsigned long answered, not_found;
	unsigned long failed;     /* tenants with an Error row */
	struct fetch_stats fetch; /* the fetch engine's counters */
};

/* Run the job. The returned status maps to the exit code through
 * pl_exit_code(); PL_OK with res->failed > 0 means exit 1. */
enum pl_status pipeline_run(const struct pipeline_config *cfg,
			    struct pipeline_result *res, struct pl_err *err);

#endif
