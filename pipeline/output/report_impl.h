/*
 * report_impl.h: internals shared by report.c, report_csv.c and
 * report_ndjson.c (and manifest.c, for UTF-8 repair). Not an API: only
 * these files include it.
 *
 * Row builders append whole records to a report_buf, so each tenant
 * reaches the outfile in one write. All return 0, or -1 when memory ran
 * out (the buffer then holds a partial record; callers reset it).
 */
#ifndef QR_REPORT_IMPL_H
#define QR_REPORT_IMPL_H

#include <stddef.h>

#include "record.h"

/* A growable byte buffer; zero-initialized is empty. */
struct report_buf {
	char *data;
	size_t len, cap;
};

void report_buf_release(struct report_buf *b);
int report_buf_reserve(struct report_buf *b, size_t extra);
int report_buf_add(struct report_buf *b, const void *p, size_t n);
int report_buf_addstr(struct report_buf *b, const char *s);

/*
 * CSV (report_csv.c). Fields are quoted only when they must be: a
 * delimiter, quote, CR or LF inside, or a leading or trailing space/tab
 * (which many readers, libcsv included, trim from unquoted fields).
 * scratch is working space the caller keeps between calls.
 */
int report_csv_detail_header(struct report_buf *b);
int report_csv_summary_header(struct report_buf *b);
int report_csv_rejects_header(struct report_buf *b);
int report_csv_detail_rows(struct report_buf *b, struct report_buf *scratch,
			   const struct tenant_record *rec, int excel_safe);
int report_csv_summary_row(struct report_buf *b, struct report_buf *scratch,
			   const char *qualification,
			   const char *vetting_status, unsigned long count,
			   int excel_safe);
int report_csv_reject_row(struct report_buf *b, struct report_buf *scratch,
			  unsigned long line, const char *value,
			  size_t value_len, const char *reason,
			  int excel_safe);

/*
 * NDJSON (report_ndjson.c). Strings are JSON-escaped (control characters
 * as \b \f \n \r \t or \u00xx) and made valid UTF-8: each ill-formed
 * sequence becomes one U+FFFD, per Unicode's "maximal subpart" practice,
 * so every line parses whatever bytes the API or the input sent.
 */
int report_ndjson_detail_rows(struct report_buf *b,
			      const struct tenant_record *rec);
int report_ndjson_summary_row(struct report_buf *b, const char *qualification,
			      const char *vetting_status, unsigned long count);
/* A JSON string literal for s[0..n), quotes included. */
int report_json_string(struct report_buf *b, const char *s, size_t n);
/* A copy of s with ill-formed UTF-8 replaced by U+FFFD; NULL on ENOMEM. */
char *report_utf8_dup(const char *s);

#endif
