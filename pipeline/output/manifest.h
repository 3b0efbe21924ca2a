/*
 * manifest.h: the run manifest, written atomically and last (json-c).
 *
 * Loaders wait for it: its presence says the reports beside it are whole.
 * So a run opens it before it publishes any report (manifest_open: a
 * manifest that cannot be created fails the run with nothing published)
 * and removes the previous run's manifest then, so that from the first
 * report's rename until this manifest lands no manifest describes the
 * files at the final paths; if writing it fails after all, there is none
 * at all.
 * Layout (keys in this order):
 *   {"tool": "qualreport", "version": "...", "correlation_id": "...",
 *    "started_at": "2026-11-24T09:00:00.123Z", "ended_at": "...",
 *    "input": {"path": "...", "sha256": "...", "bytes": N},
 *       or, when the input is the customer listing (--all-customers):
 *             {"listing": "GET <base>/v1/customers?size=N",
 *              "base_url": "...", "page_size": N, "pages": N,
 *              "customers_listed": N, "duplicates_across_pages": N,
 *              "relisted": N, "invalid": N, "restarts": N},
 *    "options": {name: value, ...},      (only options that shape results)
 *    "counts": {"input_rows", "valid", "duplicate", "invalid", "blank",
 *               "fetched", "answered", "not_found", "failed",
 *               "rows_written"},
 *    "outputs": [{"role": "detail"|"summary"|"rejects"|"changes"|"html"|
 *                 "customers", "path", "format", "rows", "bytes",
 *                 "sha256"}],
 *                (the page: format "html", rows 1)
 *    "exit_code": N}
 */
#ifndef QR_MANIFEST_H
#define QR_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct manifest_counts {
	unsigned long input_rows, valid, duplicate, invalid, blank;
	unsigned long fetched;  /* tenants fetched in this run (not resumed) */
	unsigned long answered, not_found, failed;
	unsigned long rows_written;
};

struct manifest_output {
	const char *role;   /* "detail", "summary", "rejects", "changes", "html" */
	const char *path;
	const char *format; /* "csv", "ndjson", "ndjson.gz", "html" */
	uint64_t rows, bytes;
	const char *sha256;
};

struct manifest_option {
	const char *name;
	const char *value; /* NULL = JSON null */
};

/* The input when it is the customer listing instead of a file: what was
 * asked and what came (source.h). customers_listed = valid + duplicate
 * + invalid of the counts, duplicate = duplicates + relisted. */
struct manifest_listing {
	const char *request;      /* "GET https://.../v1/customers?size=500" */
	const char *base_url;
	unsigned page_size;
	uint64_t pages;
	uint64_t customers_listed; /* items of every page read */
	uint64_t duplicates;      /* items seen twice within a pass */
	uint64_t relisted;        /* items listed again after a restart */
	uint64_t invalid;
	unsigned restarts;        /* passes after the first */
};

struct manifest {
	const char *version;
	const char *correlation_id;
	int64_t started_ms, ended_ms; /* Unix epoch milliseconds (UTC) */
	const char *input_path;
	const char *input_sha256;
	uint64_t input_bytes;
	const struct manifest_listing *listing; /* instead of the three */
	const struct manifest_option *options;
	size_t noptions;
	struct manifest_counts counts;
	const struct manifest_output *outputs;
	size_t noutputs;
	int exit_code;
};

/*
 * PL_OK when the counts tie out: input_rows = valid + duplicate + invalid
 * + blank and valid = answered + not_found + failed. Else PL_EINTERNAL
 * with both sums in the message.
 */
enum pl_status manifest_counts_tie_out(const struct manifest_counts *c,
				       struct pl_err *err);

struct manifest_file;

/*
 * Create the manifest's temporary file beside path, then remove a file
 * already at path (a regular one: a device or FIFO is written in place,
 * "-" is stdout). PL_EOUTPUT naming the path when either fails; nothing
 * is removed when the temporary file cannot be made.
 */
enum pl_status manifest_open(const char *path, struct manifest_file **out,
			     struct pl_err *err);
/* Write m, sync and rename into place; frees f, whatever happens.
 * PL_EOUTPUT, PL_ENOMEM: nothing at path. */
enum pl_status manifest_commit(struct manifest_file *f,
			       const struct manifest *m, struct pl_err *err);
/* Remove the temporary file and free f. NULL is a no-op. */
void manifest_abort(struct manifest_file *f);

/* manifest_open and manifest_commit in one. */
enum pl_status manifest_write(const char *path, const struct manifest *m,
			      struct pl_err *err);

/* Format epoch milliseconds as RFC 3339 UTC with millis and "Z". */
void manifest_format_time(int64_t ms, char out[32]);

#endif
