/*
 * csvin.h: the tenant-ID reader, first stage of the pipeline.
 *
 * Streams a CSV file (or stdin) through libcsv, never holding the whole
 * file: it reads in fixed-size chunks and keeps only a small look-ahead of
 * records for header, delimiter and column detection.
 *
 * Each call to csvin_next() yields one event for one input record (or
 * blank line), in input order, with the physical line (1-based, counting
 * the header) on which the record starts:
 *   CSVIN_TENANT     a valid, first-seen tenant: canonical id + bytes
 *   CSVIN_DUPLICATE  a valid tenant already seen (any spelling)
 *   CSVIN_REJECT     not a tenant ID: raw value + reason
 *   CSVIN_BLANK      a blank line or a record whose fields are all empty
 * The header row, when there is one, yields nothing and is not counted.
 *
 * Counts tie out: rows = tenants + duplicates + rejects + blanks.
 *
 * A physical line ends at LF, CRLF or a lone CR. A cell longer than 1 MiB
 * (as libcsv delivers it: an unquoted cell's trailing spaces never count)
 * is rejected as "value too long" with its first 1 MiB as the value (less
 * the spaces or quote libcsv drops when the cut falls on them), and
 * libcsv never holds more of it, in any parser state, which bounds memory
 * on hostile input. csvin uses only libcsv's public interface; it knows
 * the parser's state from csvlex.h. The look-ahead is the first 100
 * non-blank records or 1 MiB, whichever comes first.
 *
 * Ownership: strings in struct csvin_event are borrowed and valid until
 * the next csvin_next() call or csvin_free().
 */
#ifndef QR_CSVIN_H
#define QR_CSVIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "record.h"
#include "status.h"
#include "tenantset.h"

struct csvin;

struct csvin_options {
	/* The set valid IDs are added to (de-duplication across spellings);
	 * required, owned by the caller, who reads the ordered tenant list
	 * from it afterwards. */
	struct tenantset *seen;
	/* --column: NULL = auto-detect; a 1-based number ("3") or a header
	 * name matched case- and punctuation-insensitively. */
	const char *column;
	/* Called with every chunk of raw input bytes as read (for the
	 * manifest's SHA-256); may be NULL. */
	void (*on_bytes)(void *ctx, const void *data, size_t len);
	void *on_bytes_ctx;
	/* --customers: also find the columns holding each tenant's company
	 * name and domain, by a header cell named companyName, Company or
	 * Name (in that priority) and domain (case and punctuation ignored,
	 * never the tenant column), and hand their cells with TENANT and
	 * DUPLICATE events. Without a header naming one of them csvin_open
	 * fails with PL_EUSAGE. */
	bool want_names;
};

enum csvin_kind {
	CSVIN_END = 0,
	CSVIN_TENANT,
	CSVIN_DUPLICATE,
	CSVIN_REJECT,
	CSVIN_BLANK
};

struct csvin_event {
	enum csvin_kind kind;
	unsigned long line;             /* physical line the record starts on */
	char tenant_id[GUID_STR_LEN + 1]; /* TENANT, DUPLICATE */
	uint8_t tenant_bytes[16];         /* TENANT, DUPLICATE */
	const char *value;  /* REJECT: the raw cell as read (may be "") */
	size_t value_len;
	const char *reason; /* REJECT: "not a GUID", "missing column", ... */
	/* want_names, TENANT and DUPLICATE: the record's company-name and
	 * domain cells ("" when the record has no such cell; NULL when the
	 * header names no such column), cut to 1 MiB. */
	const char *name;
	const char *domain;
};

struct csvin_counts {
	unsigned long rows;       /* records + blank lines, header excluded */
	unsigned long tenants;    /* valid and first seen */
	unsigned long duplicates;
	unsigned long rejects;
	unsigned long blanks;
};

/*
 * Open path ("-" = stdin) and detect BOM, delimiter, header and column.
 * Fails with PL_EINPUT (message names the file and what was looked for)
 * when the file cannot be read or no tenant-ID column is found; with
 * PL_EUSAGE when --column names a number out of range (or 0, or is
 * neither a number nor a name).
 * On failure *out is NULL and nothing is left open.
 */
enum pl_status csvin_open(const char *path, const struct csvin_options *opt,
			  struct csvin **out, struct pl_err *err);

/*
 * The same over an already-open stream (a pipe, fmemopen() for the
 * fuzzer); name is used in messages. fp is borrowed: csvin_free() does
 * not close it, nor does a failure.
 */
enum pl_status csvin_open_stream(FILE *fp, const char *name,
				 const struct csvin_options *opt,
				 struct csvin **out, struct pl_err *err);

/*
 * Next event. Returns PL_OK with ev->kind == CSVIN_END at the end;
 * PL_EINPUT on a read error (message names file and line).
 */
enum pl_status csvin_next(struct csvin *in, struct csvin_event *ev,
			  struct pl_err *err);

/* What was detected, for the log: the delimiter (',', ';' or TAB), the
 * 1-based column in use and its header name (NULL when the file has no
 * header row). */
char csvin_delimiter(const struct csvin *in);
unsigned csvin_column(const struct csvin *in);
const char *csvin_column_name(const struct csvin *in);
const struct csvin_counts *csvin_counts(const struct csvin *in);

void csvin_free(struct csvin *in); /* NULL is a no-op */

#endif
