/*
 * report_impl.h: internals shared by report.c, report_csv.c and
 * report_ndjson.c (and manifest.c and html.c, for UTF-8 repair). Not an
 * API: only these files include it.
 *
 * Row builders append whole records to a buf, so each tenant reaches
 * the outfile in one write. All return PL_OK, or PL_ENOMEM when memory
 * ran out (the buffer then holds a partial record; callers reset it).
 */
#ifndef QR_REPORT_IMPL_H
#define QR_REPORT_IMPL_H

#include <stddef.h>

#include "buf.h"
#include "record.h"
#include "report.h"
#include "status.h"

/*
 * CSV (report_csv.c). Fields are quoted only when they must be: a
 * delimiter, quote, CR or LF inside, or a leading or trailing space/tab
 * (which many readers, libcsv included, trim from unquoted fields).
 * scratch is working space the caller keeps between calls.
 */
enum pl_status report_csv_detail_header(struct buf *b);
enum pl_status report_csv_summary_header(struct buf *b);
enum pl_status report_csv_rejects_header(struct buf *b);
enum pl_status report_csv_detail_rows(struct buf *b, struct buf *scratch,
			   const struct tenant_record *rec, int excel_safe);
enum pl_status report_csv_summary_row(struct buf *b, struct buf *scratch,
			   const char *qualification,
			   const char *vetting_status, unsigned long count,
			   int excel_safe);
enum pl_status report_csv_table_header(struct buf *b,
			    const struct report_column *cols, size_t ncols);
enum pl_status report_csv_table_row(struct buf *b, struct buf *scratch,
			 const struct report_column *cols, size_t ncols,
			 const char *const *values, int excel_safe);
enum pl_status report_csv_reject_row(struct buf *b, struct buf *scratch,
			  unsigned long line, const char *value,
			  size_t value_len, const char *reason,
			  int excel_safe);

/*
 * NDJSON (report_ndjson.c). Strings are JSON-escaped (control characters
 * as \b \f \n \r \t or \u00xx) and made valid UTF-8: each ill-formed
 * sequence becomes one U+FFFD, per Unicode's "maximal subpart" practice,
 * so every line parses whatever bytes the API or the input sent.
 */
enum pl_status report_ndjson_detail_rows(struct buf *b,
			      const struct tenant_record *rec);
enum pl_status report_ndjson_summary_row(struct buf *b, const char *qualification,
			      const char *vetting_status, unsigned long count);
enum pl_status report_ndjson_table_row(struct buf *b,
			   const struct report_column *cols, size_t ncols,
			   const char *const *values);
/* A JSON string literal for s[0..n), quotes included. */
enum pl_status report_json_string(struct buf *b, const char *s, size_t n);
/* A copy of s with ill-formed UTF-8 replaced by U+FFFD; NULL on ENOMEM. */
char *report_utf8_dup(const char *s);
/* Append s[0..n) to b with ill-formed UTF-8 replaced by U+FFFD (for the
 * HTML page, html.c). */
enum pl_status report_utf8_add(struct buf *b, const char *s, size_t n);

#endif
