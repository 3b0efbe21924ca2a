/*
 * changes.h: what changed since the previous run (--previous, --changes).
 *
 * A tenant's state is its detail rows. The rules, per tenant:
 *
 *   - only in this run: `new_tenant`, one row per current row (its None,
 *     NotFound or Error row included);
 *   - only in the previous report: `gone_tenant`, one row per previous
 *     row;
 *   - in both, Error in either (or both): `unknown`, one row per row of
 *     the side that is not Error (qualification and columns from it, the
 *     other side's status `Error`), or a single row with an empty
 *     qualification when both are Error. A failed fetch says nothing
 *     about a qualification: never `removed` or `status_changed`;
 *   - in both, neither Error: rows are compared by qualification. One in
 *     this run only is `added`, one in the previous only `removed`; one
 *     in both whose vetting_status differs is `status_changed`, else whose
 *     vetting_reason differs `reason_changed`, else nothing (a new
 *     vetting_created_date alone is no change; both dates ride along on
 *     every row). None and NotFound are answers, not qualifications:
 *     when neither side has a qualification, None against NotFound is
 *     `status_changed` with an empty qualification; when one side has
 *     qualifications, only those are compared (None -> Education InReview
 *     is one `added` row, Education Approved -> NotFound one `removed`).
 *   - The same qualification listed more than once in one tenant: first
 *     identical rows (status and reason) are paired, in order, then the
 *     rest, the n-th remaining of the previous run with the n-th of this
 *     one; what is left over is `added` or `removed`.
 *
 * Values compare bytewise; empty and absent are the same. Row order: a
 * tenant's current rows in their order (with their change), then its
 * removed rows in the previous order; tenants in this run's input order,
 * then gone tenants in the previous report's order, so the same two runs
 * always give the same bytes.
 *
 * The changes report's columns: tenant_id, qualification, change,
 * previous_status, vetting_status, previous_reason, vetting_reason,
 * previous_created_date, vetting_created_date (CSV, NDJSON or
 * NDJSON.gz, as every report).
 *
 * Memory: struct changes keeps one 8-byte offset per tenant of this run
 * (where its previous rows start, previous.h), never the previous rows;
 * each tenant's are read back from the file when its record is written.
 */
#ifndef QR_CHANGES_H
#define QR_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "previous.h"
#include "record.h"
#include "report.h"
#include "status.h"
#include "summary.h"
#include "tenantset.h"

enum change_kind {
	CHANGE_NEW_TENANT = 0,
	CHANGE_GONE_TENANT,
	CHANGE_ADDED,
	CHANGE_REMOVED,
	CHANGE_STATUS,  /* status_changed */
	CHANGE_REASON,  /* reason_changed */
	CHANGE_UNKNOWN
};
#define CHANGE_KINDS 7

/* "new_tenant", ... as the report writes them. */
const char *changes_kind_name(enum change_kind kind);

/* One changes-report row; strings borrowed (NULL = empty). */
struct change_row {
	const char *tenant_id;
	const char *qualification;
	enum change_kind change;
	const char *previous_status, *vetting_status;
	const char *previous_reason, *vetting_reason;
	const char *previous_created_date, *vetting_created_date;
};

/* Where change rows go: called once per row, the row borrowed for the
 * call; a failure stops the comparison and is returned. */
struct changes_sink {
	enum pl_status (*row)(void *ctx, const struct change_row *row,
			      struct pl_err *err);
	void *ctx;
};

/*
 * The rules for one tenant: prev NULL when it is not in the previous
 * report, cur NULL when it is not in this run. Rows go to sink in report
 * order. PL_ENOMEM, or the sink's failure.
 */
enum pl_status changes_diff(const struct tenant_record *prev,
			    const struct tenant_record *cur,
			    const struct changes_sink *sink,
			    struct pl_err *err);

/* The changes report (format as opt says; excel_safe on the text
 * columns). Finished, committed and aborted as any report. */
enum pl_status changes_report_open(const char *path,
				   const struct report_options *opt,
				   struct report **out, struct pl_err *err);
enum pl_status changes_report_write(struct report *r,
				    const struct change_row *row,
				    struct pl_err *err);
/* A sink writing to r (borrowed). */
struct changes_sink changes_report_sink(struct report *r);

/* A whole run against a previous report. */
struct changes;

/*
 * Read prev once from its start (checking every record, previous.h) and
 * note where each tenant of `current` (the run's tenants, input order)
 * has its previous rows; also counts the previous report's tenants by
 * qualification and status. prev and current are borrowed for the
 * lifetime of the result. A tenant of this run whose previous rows are
 * not consecutive is refused (PL_EINPUT).
 */
enum pl_status changes_new(struct previous *prev,
			   const struct tenantset *current,
			   struct changes **out, struct pl_err *err);
void changes_free(struct changes *c); /* NULL is a no-op */

/* Rows go to each sink given (at most two: the report, the page). */
enum pl_status changes_add_sink(struct changes *c,
				const struct changes_sink *sink,
				struct pl_err *err);

/* Tenant `index` of this run, in input order, as its record is written. */
enum pl_status changes_add_tenant(struct changes *c, size_t index,
				  const struct tenant_record *rec,
				  struct pl_err *err);
/* After the last tenant: the gone tenants, in the previous report's
 * order (a second pass over it). */
enum pl_status changes_add_gone(struct changes *c, struct pl_err *err);

/* Rows emitted so far, in all and of one kind. */
uint64_t changes_count(const struct changes *c);
uint64_t changes_count_kind(const struct changes *c, enum change_kind kind);
/* Tenants in the previous report; of them, also in this run. */
uint64_t changes_previous_tenants(const struct changes *c);
uint64_t changes_kept_tenants(const struct changes *c);
/* The previous report's tenants by (qualification, status), as the
 * summary counts them. Owned by c. */
struct summary *changes_previous_summary(struct changes *c);

#endif
