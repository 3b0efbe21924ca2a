/*
 * report.h: the report writers (detail, summary, rejects), all streaming.
 *
 * Formats: CSV (RFC 4180 via libcsv's writer, CRLF-free "\n" records,
 * header row of the contract's column names), NDJSON (one object per line,
 * numbers as numbers, empty strings as null) and gzipped NDJSON. Every
 * report goes through an outfile, so it appears atomically at commit.
 * CSV values are bytes verbatim; NDJSON strings are made valid UTF-8 (each
 * ill-formed sequence becomes U+FFFD) so every line parses.
 *
 * Detail columns, in order: tenant_id, qualification, vetting_status,
 * vetting_reason, vetting_created_date, http_status, attempts, error,
 * request_id. Summary: qualification, vetting_status, count. Rejects
 * (always CSV): line, value, reason. A table report (report_open_table)
 * has the text columns its caller names (the changes report's, see
 * changes.h).
 *
 * excel_safe (CSV only): a free-text field starting with = + - @ (or tab /
 * CR) is prefixed with a single quote so spreadsheets show it as text.
 * Off by default: values stay exact for warehouses.
 *
 * Ownership: commit and abort free the report. report_abort(NULL) is a
 * no-op.
 */
#ifndef QR_REPORT_H
#define QR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outfile.h"
#include "record.h"
#include "status.h"

enum report_format { REPORT_CSV = 0, REPORT_NDJSON, REPORT_NDJSON_GZ };

/* From the path suffix: .csv, .ndjson/.jsonl, .ndjson.gz/.jsonl.gz; else
 * CSV. */
enum report_format report_format_from_path(const char *path);
/* True, and *out set, when path ends in one of those suffixes. */
bool report_format_has_known_suffix(const char *path,
				    enum report_format *out);
/* "csv", "ndjson", "ndjson.gz" -> *out; else PL_EUSAGE ("unknown format
 * 'x' (use csv, ndjson or ndjson.gz)"), *out unchanged. */
enum pl_status report_format_parse(const char *name, enum report_format *out,
				   struct pl_err *err);
const char *report_format_name(enum report_format fmt);

struct report_options {
	enum report_format format;
	int excel_safe;
};

struct report_stats {
	uint64_t rows; /* data rows, header excluded */
	struct outfile_stats file;
};

struct report;

enum pl_status report_open_detail(const char *path,
				  const struct report_options *opt,
				  struct report **out, struct pl_err *err);
enum pl_status report_open_summary(const char *path,
				   const struct report_options *opt,
				   struct report **out, struct pl_err *err);
/* The header "line,value,reason" is written at once. */
enum pl_status report_open_rejects(const char *path, int excel_safe,
				   struct report **out, struct pl_err *err);

/*
 * A report of text columns, named by the caller: CSV with a header row,
 * NDJSON with the names as keys in column order (every value a string or
 * null). excel_safe applies to the columns marked free_text. cols is
 * borrowed for the report's lifetime (a static table).
 */
struct report_column {
	const char *name;
	bool free_text;
};
enum pl_status report_open_table(const char *path,
				 const struct report_options *opt,
				 const struct report_column *cols, size_t ncols,
				 struct report **out, struct pl_err *err);
/* One table row: values[i] for column i, NULL (or "") = empty. */
enum pl_status report_write_row(struct report *r, const char *const *values,
				struct pl_err *err);

/* Detail: one row per rec->rows[i]. */
enum pl_status report_write_tenant(struct report *r,
				   const struct tenant_record *rec,
				   struct pl_err *err);
/* Summary: qualification may be NULL (empty). */
enum pl_status report_write_summary_row(struct report *r,
					const char *qualification,
					const char *vetting_status,
					unsigned long count,
					struct pl_err *err);
/* Rejects: value is the raw cell, value_len bytes. */
enum pl_status report_write_reject(struct report *r, unsigned long line,
				   const char *value, size_t value_len,
				   const char *reason, struct pl_err *err);

/* Write out and sync everything but do not publish yet (outfile_finish):
 * on failure the report is still the caller's to abort. */
enum pl_status report_finish(struct report *r, struct pl_err *err);
/* After a successful report_finish: true and *stats (rows, bytes and
 * SHA-256 of the file as it will be published), else false. */
bool report_finished_stats(const struct report *r, struct report_stats *stats);
enum pl_status report_commit(struct report *r, struct report_stats *stats,
			     struct pl_err *err);
void report_abort(struct report *r);

#endif
