/*
 * record.h: one tenant's normalized answer, the unit every later stage
 * (reorder buffer, journal, writers, summary) passes along.
 *
 * Ownership: a struct tenant_record owns every string and the rows array
 * it points to; tenant_record_release() frees them and leaves an empty
 * record. A NULL string means "empty" in every output format (CSV: empty
 * field; NDJSON: null).
 */
#ifndef QR_RECORD_H
#define QR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define GUID_STR_LEN 36 /* 8-4-4-4-12, lowercase, no braces */

/* How a tenant ended, for the counts and the exit code. */
enum tenant_outcome {
	OUTCOME_ANSWERED = 0, /* 200: qualifications found or None */
	OUTCOME_NOT_FOUND,    /* 404 */
	OUTCOME_FAILED        /* Error row: retries exhausted, 403, bad body */
};

/* One detail-report row's qualification-specific columns. */
struct qual_row {
	char *qualification;        /* NULL when the tenant has none */
	char *vetting_status;       /* "Approved", "None", "NotFound", "Error" */
	char *vetting_reason;
	char *vetting_created_date; /* normalized to UTC "Z" when it parses */
};

struct tenant_record {
	char tenant_id[GUID_STR_LEN + 1];
	char request_id[GUID_STR_LEN + 1]; /* "" when no request was made */
	long http_status;                  /* last status, 0 when none */
	unsigned attempts;                 /* requests made for this tenant */
	enum tenant_outcome outcome;
	char *error;                       /* NULL unless an error/API fault */
	size_t nrows;                      /* >= 1 once normalized */
	struct qual_row *rows;
	size_t _rows_cap;                  /* allocated rows (private) */
};

/* Zero the record. */
void tenant_record_init(struct tenant_record *rec);
/* Free everything the record owns and re-init it. NULL is a no-op. */
void tenant_record_release(struct tenant_record *rec);
/*
 * Append a row, copying the strings (NULL or "" both stored as NULL).
 * PL_ENOMEM leaves the record unchanged.
 */
enum pl_status tenant_record_add_row(struct tenant_record *rec,
				     const char *qualification,
				     const char *vetting_status,
				     const char *vetting_reason,
				     const char *vetting_created_date,
				     struct pl_err *err);
/* Replace rec->error with a copy of msg (NULL clears). PL_ENOMEM leaves
 * the old one. */
enum pl_status tenant_record_set_error(struct tenant_record *rec,
				       const char *msg, struct pl_err *err);

#endif
