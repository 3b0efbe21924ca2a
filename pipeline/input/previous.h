/*
 * previous.h: last run's detail report (--previous PATH), read streaming
 * and by offset, never held in memory.
 *
 * PATH is a detail report, its format from its suffix (.csv, .ndjson /
 * .jsonl, .ndjson.gz / .jsonl.gz), or a run manifest (.json): then the
 * detail report it lists is read, in the format it records, after its
 * SHA-256 was checked against the manifest's (a mismatch is an error
 * naming both). The manifest records paths as they were given: an
 * absolute one is used where it is, else (the reports were moved, say
 * into an archive) the file of that name beside the manifest; a relative
 * one is looked for beside the manifest first, then relative to the
 * current directory.
 *
 * The report must have exactly the columns this version writes, in its
 * order (CSV header, NDJSON keys): a report of another column order or
 * set is refused naming the file and the first difference. Rows of one
 * tenant are consecutive, as qualreport writes them; every value is
 * checked (GUIDs, numbers) on the sequential pass, and a malformed record
 * is an error naming the file and its line.
 *
 * Random access: a gzipped report is first inflated into an unlinked
 * temporary file ($TMPDIR, else /tmp), so every report can be re-read
 * from the byte offset of a tenant's first record; memory stays at a few
 * buffers whatever the report's size.
 *
 * Errors are PL_EINPUT (unreadable, malformed, other columns, a hash
 * mismatch) or PL_ENOMEM, with a message. previous_free(NULL) is a no-op.
 */
#ifndef QR_PREVIOUS_H
#define QR_PREVIOUS_H

#include <stdbool.h>
#include <stdint.h>

#include "record.h"
#include "report.h"
#include "status.h"

struct previous;

/* Open path (see above) and hash the detail report; positioned before
 * its first tenant. */
enum pl_status previous_open(const char *path, struct previous **out,
			     struct pl_err *err);
void previous_free(struct previous *p);

/* The detail report read: path itself, or the one its manifest names. */
const char *previous_detail_path(const struct previous *p);
enum report_format previous_format(const struct previous *p);
/* SHA-256 (lowercase hex) of the detail report's bytes as stored (the
 * compressed bytes of a gzipped one), as a manifest records it. */
const char *previous_sha256(const struct previous *p);

/* Back to the first tenant, for another sequential pass. */
enum pl_status previous_rewind(struct previous *p, struct pl_err *err);

/*
 * The next tenant in file order: rec (initialized by the caller) is
 * released and refilled with its rows (tenant-level fields from its first
 * row; outcome FAILED for an Error row, NOT_FOUND for NotFound), *offset
 * is the byte offset of its first record. At the end *end is true and
 * rec is empty.
 */
enum pl_status previous_next(struct previous *p, struct tenant_record *rec,
			     uint64_t *offset, bool *end,
			     struct pl_err *err);

/*
 * The tenant whose first record starts at offset (as previous_next gave
 * it), into rec (released first). Independent of the sequential pass.
 */
enum pl_status previous_load(struct previous *p, uint64_t offset,
			     struct tenant_record *rec, struct pl_err *err);

#endif
