/*
 * source.h: where the tenants come from. The pipeline's input stage as
 * one interface it pulls tenants from, whatever the input is:
 *
 *   CSV      (source_csv.c)      a file read whole by source_start(),
 *                                over csvin, before any request;
 *   listing  (source_listing.c)  the API's customer list, GET
 *                                /v1/customers page by page, read while
 *                                the qualifications are fetched: its
 *                                pages are requests of the same engine
 *                                (fetch.h FETCH_PAGE), asked for by
 *                                source_next_request() and answered
 *                                through source_request_done().
 *
 * Either way the source adds each first-seen tenant to the caller's
 * tenantset, so a tenant's index there is its input position (listing
 * order for the listing), and tells the sink about every new tenant
 * (with what --customers needs), every rejected value and, for the
 * listing, every page it finished (what the journal records). The
 * pipeline dispatches tenants 0..tenantset_count()-1 as they appear and
 * is done when source_is_complete() and all are written.
 *
 * Counts tie out as for a CSV: rows = tenants + duplicates + rejects +
 * blanks. For the listing a "row" is an item of a page, a duplicate an
 * item whose tenant (or rejected value) was listed before (on an earlier
 * page, or before a restart), and there are no blanks.
 *
 * Ownership: a source borrows the tenantset and the sink (both outlive
 * it); strings handed to the sink are borrowed for the call only.
 * source_free(NULL) is a no-op.
 */
#ifndef QR_SOURCE_H
#define QR_SOURCE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fetch.h"
#include "status.h"
#include "tenantset.h"

/* What --customers carries for a tenant; NULL = empty. */
struct customer_info {
	const char *name;          /* company name */
	const char *domain;
	const char *relationship;  /* relationshipToPartner */
};

/* One tenant first listed on a page. */
struct listing_tenant {
	uint8_t id[16];
	struct customer_info info;
};

/* One rejected item of a page: line is its position in the listing
 * (1-based, counting every item of this pass), reason says why and
 * where ("not a GUID (page 3, item 17)"). */
struct listing_reject {
	unsigned long line;
	const char *value;
	size_t value_len;
	const char *reason;
};

/* A finished page of the listing, as the journal keeps it. The tenants
 * first seen on it got the indices first..first+ntenants-1. Its items =
 * ntenants + nrejects + duplicates + relisted. */
struct listing_page {
	unsigned pass;             /* 0, and +1 at each restart */
	unsigned long page;        /* 1-based within the pass */
	unsigned long items;
	unsigned long duplicates;  /* seen before in this pass */
	unsigned long relisted;    /* listed before the pass began */
	size_t first;
	const struct listing_tenant *tenants;
	size_t ntenants;
	const struct listing_reject *rejects;
	size_t nrejects;
};

struct source_sink {
	void *ctx;
	/* A first-seen tenant at index; info may be NULL (nothing known). */
	enum pl_status (*on_tenant)(void *ctx, size_t index,
				    const struct customer_info *info,
				    struct pl_err *err);
	/* A value that is no tenant (see csvin.h for the CSV's lines). */
	enum pl_status (*on_reject)(void *ctx, unsigned long line,
				    const char *value, size_t value_len,
				    const char *reason, struct pl_err *err);
	/* Listing: a page is done (after its tenants and rejects), or, with
	 * page NULL, the whole list is. May be NULL. */
	enum pl_status (*on_page)(void *ctx, const struct listing_page *page,
				  struct pl_err *err);
};

struct source_counts {
	unsigned long rows;        /* CSV records + blank lines; items */
	unsigned long tenants;     /* first seen */
	unsigned long duplicates;
	unsigned long rejects;
	unsigned long blanks;      /* CSV only */
};

/* The listing's own facts, for the manifest and the logs. */
struct source_listing_facts {
	unsigned long pages;       /* pages read, over every pass */
	unsigned long duplicates;  /* items seen twice within a pass */
	unsigned long relisted;    /* items listed again after a restart */
	unsigned restarts;         /* passes after the first */
	bool complete;
};

struct source;

/* ---- the interface ------------------------------------------------------ */

/* Read what can be read before any request: the whole CSV (PL_EINPUT,
 * PL_EUSAGE as csvin.h says, or the sink's status), nothing for the
 * listing. */
enum pl_status source_start(struct source *s, struct pl_err *err);

/*
 * A request the source needs the engine to make now: true and *job
 * filled (a FETCH_PAGE job, its strings owned by the source until the job
 * is done), false when none is due. At most one is out at a time. The
 * CSV source never has one.
 */
bool source_next_request(struct source *s, int64_t now_us,
			 struct fetch_job *job);

/*
 * The answer to a request of source_next_request(). PL_OK when it was
 * read (or will be asked again); PL_EINPUT when the list cannot be read
 * (the message says which page and why); the sink's status; PL_ENOMEM.
 */
enum pl_status source_request_done(struct source *s,
				   const struct fetch_result *res,
				   struct pl_err *err);

/* True once every tenant has been added: the CSV after start, the
 * listing after its last page. */
bool source_is_complete(const struct source *s);

void source_counts(const struct source *s, struct source_counts *c);

void source_free(struct source *s);

/* ---- the CSV ------------------------------------------------------------ */

struct source_csv_options {
	const char *path;          /* "-" = stdin */
	const char *column;        /* --column, NULL = auto */
	/* --customers: find the company-name and domain columns by header
	 * (csvin.h) and hand them to on_tenant; PL_EUSAGE when the input
	 * names neither. */
	bool want_names;
	/* Set asynchronously (a signal): reading stops, PL_EINTERRUPTED. */
	volatile sig_atomic_t *stop;
};

enum pl_status source_csv_new(const struct source_csv_options *opt,
			      struct tenantset *tenants,
			      const struct source_sink *sink,
			      struct source **out, struct pl_err *err);

/* After start: the input's SHA-256 (hex) and size, for the manifest and
 * the journal's identity; and the column used, for the log. */
const char *source_csv_sha256(const struct source *s);
uint64_t source_csv_bytes(const struct source *s);

/* ---- the listing -------------------------------------------------------- */

/* Restarts after an expired continuation token allowed in one run; one
 * more is the end of the run (exit 3). */
#define SOURCE_MAX_RESTARTS 3

struct source_listing_options {
	const char *base_url;
	unsigned page_size;        /* size=N of the first page */
	unsigned retries;          /* re-asks of a page that is no page */
	uint64_t seed;             /* backoff jitter; 0 = from the clock */
};

enum pl_status source_listing_new(const struct source_listing_options *opt,
				  struct tenantset *tenants,
				  const struct source_sink *sink,
				  struct source **out, struct pl_err *err);

/*
 * Resuming from a journal: a page recorded by an earlier run, in order,
 * before any request. Adds its tenants (which must all be new, at
 * page->first) and rejects, tells the sink (on_tenant, on_reject, not
 * on_page), and counts it. PL_EUSAGE when it does not fit (the journal is
 * corrupt).
 */
enum pl_status source_listing_replay(struct source *s,
				     const struct listing_page *page,
				     struct pl_err *err);

/* Resuming: the journal says the list was read to its end; nothing is
 * requested again. */
void source_listing_replay_complete(struct source *s);

void source_listing_facts(const struct source *s,
			  struct source_listing_facts *f);

#endif
