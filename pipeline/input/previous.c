#include "previous.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#define ZLIB_CONST
#include <zlib.h>

#include "buf.h"
#include "guid.h"

/*
 * How it works.
 *
 * Two readers share the file descriptor, each with its own buffer and
 * parser: `scan` for the sequential passes (it knows line numbers) and
 * `seek` for previous_load() (it knows only offsets). Both read with
 * pread(2), so neither disturbs the other, and the page cache, not this
 * process, holds the file. A reader returns one record at a time; a
 * tenant's rows end where the next record has another tenant ID, which
 * is kept as the reader's pending record.
 *
 * CSV goes through libcsv one physical line at a time (a line ends at LF,
 * CR or CRLF), as in csvin.c: a record begins on the line that starts
 * while the parser is between records, and ends at most once per line, so
 * its first byte's offset and its line are known exactly even when a
 * quoted value spans lines.
 */

#define NCOLS 9
#define CHUNK (64 * 1024)
#define SEEK_CHUNK 4096
/* A value, or an NDJSON line: bodies are at most 8 MiB, escaped at most
 * six bytes per byte. */
#define FIELD_MAX (64u << 20)
#define LINE_MAX_BYTES (256u << 20)
#define MANIFEST_MAX (16u << 20)

/* libcsv's parser state between records (libcsv.c; stable since 3.0). */
#define ROW_NOT_BEGUN 0

enum { C_TENANT, C_QUAL, C_STATUS, C_REASON, C_DATE, C_HTTP, C_ATTEMPTS,
       C_ERROR, C_REQUEST };

static const char *const columns[NCOLS] = {
	"tenant_id", "qualification", "vetting_status", "vetting_reason",
	"vetting_created_date", "http_status", "attempts", "error",
	"request_id"};
#define COLUMN_LIST "tenant_id,qualification,vetting_status," \
	"vetting_reason,vetting_created_date,http_status,attempts,error," \
	"request_id"

struct row {
	struct buf f[NCOLS];
	size_t nf;          /* CSV fields seen */
	uint64_t off, line; /* first byte, and its line (scan only) */
	char tenant[GUID_STR_LEN + 1];
};

struct reader {
	struct previous *p;
	bool sequential;        /* a pass from the start: lines are known */
	unsigned char *buf;
	size_t len, pos, cap;
	uint64_t base;          /* file offset of buf[0] */
	size_t chunk;
	bool eof;
	uint64_t line;          /* line of buf[pos] */
	bool prev_cr;           /* the last byte consumed was a CR */
	bool at_line_start;

	struct csv_parser parser;
	bool parser_ready;
	bool header_done;
	uint64_t rec_off, rec_line;
	struct row *fill;       /* the row libcsv's callbacks fill */
	bool rec_done, nomem, too_long;

	struct buf line_buf;    /* NDJSON */
	struct json_tokener *tok;

	struct row rows[2];     /* rows[cur]: pending when has_pending */
	int cur;
	bool has_pending;
};

struct previous {
	char *path;             /* as given */
	char *detail;           /* the detail report read */
	enum report_format format;
	int fd;                 /* the detail, or its inflated copy */
	char sha256[65];
	struct reader scan, seek;
};

static enum pl_status oom(struct pl_err *err)
{
	return pl_fail(err, PL_ENOMEM, "out of memory");
}

static void hex(const unsigned char *md, unsigned n, char out[65])
{
	static const char digits[] = "0123456789abcdef";

	for(unsigned i = 0; i < n && i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

/* "file:LINE" on a sequential pass, else "file: record at byte N". */
static const char *where(const struct reader *r, uint64_t line,
			 uint64_t off, char *out, size_t len)
{
	if(r->sequential)
		snprintf(out, len, "%s:%llu", r->p->detail,
			 (unsigned long long)line);
	else
		snprintf(out, len, "%s: record at byte %llu", r->p->detail,
			 (unsigned long long)off);
	return out;
}

/* At most 60 bytes of a value for a message, control bytes as '?'. */
static const char *excerpt(const struct buf *b, char out[64])
{
	size_t n = b->len < 60 ? b->len : 60;

	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)b->data[i];

		out[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	out[n] = '\0';
	return out;
}

/* ---- readers ----------------------------------------------------------- */

static void row_init(struct row *row)
{
	for(int i = 0; i < NCOLS; i++)
		buf_init(&row->f[i], FIELD_MAX);
	row->nf = 0;
	row->off = row->line = 0;
	row->tenant[0] = '\0';
}

static void row_release(struct row *row)
{
	for(int i = 0; i < NCOLS; i++)
		buf_release(&row->f[i]);
}

static void row_reset(struct row *row)
{
	for(int i = 0; i < NCOLS; i++)
		buf_trim(&row->f[i], 64 * 1024);
	row->nf = 0;
}

static void reader_release(struct reader *r)
{
	free(r->buf);
	r->buf = NULL;
	if(r->parser_ready)
		csv_free(&r->parser);
	r->parser_ready = false;
	if(r->tok)
		json_tokener_free(r->tok);
	r->tok = NULL;
	buf_release(&r->line_buf);
	row_release(&r->rows[0]);
	row_release(&r->rows[1]);
}

static enum pl_status reader_init(struct reader *r, struct previous *p,
				  bool sequential, struct pl_err *err)
{
	memset(r, 0, sizeof(*r));
	r->p = p;
	r->sequential = sequential;
	buf_init(&r->line_buf, LINE_MAX_BYTES);
	row_init(&r->rows[0]);
	row_init(&r->rows[1]);
	r->cap = CHUNK;
	r->buf = malloc(r->cap);
	if(!r->buf)
		return oom(err);
	if(p->format == REPORT_CSV) {
		if(csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI))
			return oom(err);
		r->parser_ready = true;
		csv_set_blk_size(&r->parser, 16 * 1024);
	} else {
		r->tok = json_tokener_new_ex(64);
		if(!r->tok)
			return oom(err);
	}
	return PL_OK;
}

static void ignore_cell(void *s, size_t len, void *data)
{
	(void)s;
	(void)len;
	(void)data;
}

static void ignore_row(int c, void *data)
{
	(void)c;
	(void)data;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Position the reader at offset off, forgetting any partial record. */
static void reader_seek(struct reader *r, uint64_t off)
{
	if(!r->sequential && off >= r->base && off - r->base <= r->len) {
		r->pos = (size_t)(off - r->base);
	} else {
		r->base = off;
		r->len = r->pos = 0;
		r->eof = false;
	}
	r->chunk = r->sequential ? CHUNK : SEEK_CHUNK;
	if(r->parser_ready)
		/* csv_fini resets the parser; the partial record is dropped */
		csv_fini(&r->parser, ignore_cell, ignore_row, NULL);
	r->at_line_start = true;
	r->prev_cr = false;
	r->line = 1;
	r->header_done = off > 0 || r->p->format != REPORT_CSV;
	r->has_pending = false;
}

/* Read more bytes after buf[len]. */
static enum pl_status reader_fill(struct reader *r, struct pl_err *err)
{
	ssize_t n;

	if(r->pos == r->len) {
		r->base += r->len;
		r->len = r->pos = 0;
	} else if(r->pos > 0 && r->cap - r->len < r->chunk) {
		memmove(r->buf, r->buf + r->pos, r->len - r->pos);
		r->base += r->pos;
		r->len -= r->pos;
		r->pos = 0;
	}
	if(r->cap - r->len < r->chunk) {
		size_t cap = r->cap * 2;
		unsigned char *grown;

		while(cap - r->len < r->chunk)
			cap *= 2;
		grown = realloc(r->buf, cap);
		if(!grown)
			return oom(err);
		r->buf = grown;
		r->cap = cap;
	}
	do {
		n = pread(r->p->fd, r->buf + r->len, r->chunk,
			  (off_t)(r->base + r->len));
	} while(n < 0 && errno == EINTR);
	if(n < 0)
		return pl_fail(err, PL_EINPUT, "cannot read %s: %s",
			       r->p->detail, strerror(errno));
	if(n == 0)
		r->eof = true;
	r->len += (size_t)n;
	/* A load reads little at first (one tenant's rows), more as a
	 * record turns out long. */
	if(r->chunk < CHUNK)
		r->chunk *= 2;
	/* A UTF-8 BOM before the first record, as a spreadsheet saves it */
	if(r->base == 0 && r->pos == 0 && r->len >= 3 &&
	   !memcmp(r->buf, "\xef\xbb\xbf", 3))
		r->pos = 3;
	return PL_OK;
}

static void csv_cell(void *s, size_t len, void *data)
{
	struct reader *r = data;
	struct row *row = r->fill;
	enum pl_status st;

	if(row->nf < NCOLS) {
		st = buf_add(&row->f[row->nf], s, len);
		if(st == PL_ELIMIT)
			r->too_long = true;
		else if(st)
			r->nomem = true;
	}
	row->nf++;
}

static void csv_row(int c, void *data)
{
	struct reader *r = data;

	(void)c;
	r->rec_done = true;
}

/* The header must be this version's: name the first difference. */
static enum pl_status check_header(struct reader *r, const struct row *row,
				   struct pl_err *err)
{
	char got[64];

	for(size_t i = 0; i < NCOLS && i < row->nf; i++) {
		if(strcmp(row->f[i].data, columns[i]) ||
		   row->f[i].len != strlen(columns[i]))
			return pl_fail(err, PL_EINPUT,
				       "%s: not a detail report of this "
				       "version: header column %zu is '%s' "
				       "where it has '%s' (columns: "
				       COLUMN_LIST ")", r->p->detail, i + 1,
				       excerpt(&row->f[i], got), columns[i]);
	}
	if(row->nf < NCOLS)
		return pl_fail(err, PL_EINPUT,
			       "%s: not a detail report of this version: the "
			       "header has %zu columns, column %zu '%s' is "
			       "missing (columns: " COLUMN_LIST ")",
			       r->p->detail, row->nf, row->nf + 1,
			       columns[row->nf]);
	if(row->nf > NCOLS)
		return pl_fail(err, PL_EINPUT,
			       "%s: not a detail report of this version: the "
			       "header has %zu columns, %d expected "
			       "(columns: " COLUMN_LIST ")", r->p->detail,
			       row->nf, NCOLS);
	return PL_OK;
}

/* One CSV record into row; *end at the end of the file. */
static enum pl_status csv_read(struct reader *r, struct row *row, bool *end,
			       struct pl_err *err)
{
	char at[600];
	enum pl_status st;

	*end = false;
	for(;;) {
		const unsigned char *s, *lf, *cr, *term;
		size_t n, take;

		row_reset(row);
		r->fill = row;
		r->rec_done = false;
		for(;;) {
			if(r->pos == r->len && !r->eof) {
				st = reader_fill(r, err);
				if(st)
					return st;
				continue;
			}
			if(r->pos == r->len) {
				if(csv_fini(&r->parser, csv_cell, csv_row, r))
					return pl_fail(err, PL_EINPUT,
						       "%s: malformed CSV: "
						       "the record never "
						       "ends (a quote not "
						       "closed?)",
						       where(r, r->rec_line,
							     r->rec_off, at,
							     sizeof(at)));
				if(!r->rec_done && !r->header_done)
					return pl_fail(err, PL_EINPUT,
						       "%s: empty, not a "
						       "detail report (no "
						       "header row)",
						       r->p->detail);
				if(!r->rec_done) {
					*end = true;
					return PL_OK;
				}
				break;
			}
			if(r->at_line_start) {
				r->at_line_start = false;
				if(r->parser.pstate == ROW_NOT_BEGUN) {
					r->rec_off = r->base + r->pos;
					r->rec_line = r->line;
				}
			}
			s = r->buf + r->pos;
			n = r->len - r->pos;
			lf = memchr(s, '\n', n);
			cr = memchr(s, '\r', lf ? (size_t)(lf - s) : n);
			term = cr ? cr : lf;
			take = term ? (size_t)(term - s) + 1 : n;
			if(csv_parse(&r->parser, s, take, csv_cell, csv_row,
				     r) != take)
				return pl_fail(err, PL_EINPUT,
					       "%s: malformed CSV: %s",
					       where(r, r->line, r->rec_off, at,
						     sizeof(at)),
					       csv_strerror(csv_error(
						       &r->parser)));
			r->pos += take;
			if(term) {
				if(*term == '\r') {
					r->line++;
					r->prev_cr = true;
				} else {
					if(!(r->prev_cr && take == 1))
						r->line++;
					r->prev_cr = false;
				}
				r->at_line_start = true;
			} else {
				r->prev_cr = false;
			}
			if(r->nomem)
				return oom(err);
			if(r->too_long)
				return pl_fail(err, PL_EINPUT,
					       "%s: a value longer than %u MiB",
					       where(r, r->rec_line,
						     r->rec_off, at,
						     sizeof(at)),
					       FIELD_MAX >> 20);
			if(r->rec_done)
				break;
		}
		row->off = r->rec_off;
		row->line = r->rec_line;
		if(!r->header_done) {
			r->header_done = true;
			st = check_header(r, row, err);
			if(st)
				return st;
			continue;
		}
		if(row->nf != NCOLS)
			return pl_fail(err, PL_EINPUT,
				       "%s: %zu fields where the detail report "
				       "has %d", where(r, row->line, row->off,
						       at, sizeof(at)),
				       row->nf, NCOLS);
		return PL_OK;
	}
}

/* One NDJSON object's members into row, checking keys and types. */
static enum pl_status ndjson_row(struct reader *r, struct row *row,
				 const char *at, struct pl_err *err)
{
	const char *text = r->line_buf.data;
	size_t len = r->line_buf.len, end;
	struct json_object *obj;
	enum json_tokener_error jerr;
	enum pl_status st = PL_OK;
	size_t k = 0;

	json_tokener_reset(r->tok);
	obj = json_tokener_parse_ex(r->tok, text, (int)len);
	jerr = json_tokener_get_error(r->tok);
	if(jerr == json_tokener_continue)
		jerr = json_tokener_error_parse_eof;
	if(!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		return pl_fail(err, PL_EINPUT, "%s: not JSON: %s", at,
			       json_tokener_error_desc(jerr));
	}
	end = json_tokener_get_parse_end(r->tok);
	while(end < len && is_blank(text[end]))
		end++;
	if(end < len) {
		st = pl_fail(err, PL_EINPUT, "%s: not JSON: text after the "
			     "object", at);
		goto out;
	}
	if(!json_object_is_type(obj, json_type_object)) {
		st = pl_fail(err, PL_EINPUT, "%s: not a JSON object", at);
		goto out;
	}
	json_object_object_foreach(obj, key, val) {
		enum json_type t = json_object_get_type(val);

		if(k >= NCOLS) {
			st = pl_fail(err, PL_EINPUT,
				     "%s: not a detail report of this "
				     "version: key %zu \"%.60s\" after its "
				     "%d (keys: " COLUMN_LIST ")", at,
				     k + 1, key, NCOLS);
			goto out;
		}
		if(strcmp(key, columns[k])) {
			st = pl_fail(err, PL_EINPUT,
				     "%s: not a detail report of this "
				     "version: key %zu is \"%.60s\" where it "
				     "has \"%s\" (keys: " COLUMN_LIST ")",
				     at, k + 1, key, columns[k]);
			goto out;
		}
		if(k == C_HTTP || k == C_ATTEMPTS) {
			if(t != json_type_int) {
				st = pl_fail(err, PL_EINPUT,
					     "%s: %s is not an integer", at,
					     key);
				goto out;
			}
			st = buf_addf(&row->f[k], "%lld", (long long)
				      json_object_get_int64(val));
		} else if(t == json_type_string) {
			st = buf_add(&row->f[k], json_object_get_string(val),
				     (size_t)json_object_get_string_len(val));
		} else if(t != json_type_null) {
			st = pl_fail(err, PL_EINPUT,
				     "%s: %s is not a string or null", at,
				     key);
			goto out;
		}
		if(st == PL_ELIMIT) {
			st = pl_fail(err, PL_EINPUT, "%s: a value longer than "
				     "%u MiB", at, FIELD_MAX >> 20);
			goto out;
		}
		if(st) {
			st = oom(err);
			goto out;
		}
		k++;
	}
	if(k < NCOLS)
		st = pl_fail(err, PL_EINPUT,
			     "%s: not a detail report of this version: key "
			     "%zu \"%s\" is missing (keys: " COLUMN_LIST ")",
			     at, k + 1, columns[k]);
out:
	json_object_put(obj);
	return st;
}

/* One NDJSON line (blank lines skipped) into row. */
static enum pl_status ndjson_read(struct reader *r, struct row *row,
				  bool *end, struct pl_err *err)
{
	char at[600];
	enum pl_status st;

	*end = false;
	for(;;) {
		uint64_t off;
		bool newline = false, blank = true;

		/* Fill first: a BOM skipped moves the first line's start. */
		if(r->pos == r->len && !r->eof) {
			st = reader_fill(r, err);
			if(st)
				return st;
		}
		off = r->base + r->pos;
		buf_trim(&r->line_buf, 1u << 20);
		for(;;) {
			const unsigned char *s, *lf;
			size_t n;

			if(r->pos == r->len && !r->eof) {
				st = reader_fill(r, err);
				if(st)
					return st;
				continue;
			}
			if(r->pos == r->len)
				break;
			s = r->buf + r->pos;
			n = r->len - r->pos;
			lf = memchr(s, '\n', n);
			st = buf_add(&r->line_buf, s,
				     lf ? (size_t)(lf - s) : n);
			if(st == PL_ELIMIT)
				return pl_fail(err, PL_EINPUT,
					       "%s: a line longer than %u MiB",
					       where(r, r->line, off, at,
						     sizeof(at)),
					       LINE_MAX_BYTES >> 20);
			if(st)
				return oom(err);
			r->pos += lf ? (size_t)(lf - s) + 1 : n;
			if(lf) {
				newline = true;
				break;
			}
		}
		if(!newline && !r->line_buf.len) {
			*end = true;
			return PL_OK;
		}
		for(size_t i = 0; i < r->line_buf.len && blank; i++)
			blank = is_blank(r->line_buf.data[i]);
		row_reset(row);
		row->off = off;
		row->line = r->line++;
		if(blank)
			continue;
		return ndjson_row(r, row, where(r, row->line, off, at,
						sizeof(at)), err);
	}
}

/* The next record, its tenant ID checked and canonicalized. */
static enum pl_status read_row(struct reader *r, struct row *row, bool *end,
			       struct pl_err *err)
{
	const struct buf *id = &row->f[C_TENANT];
	const char *reason;
	char at[600], got[64];
	enum pl_status st;

	st = r->p->format == REPORT_CSV ? csv_read(r, row, end, err)
					: ndjson_read(r, row, end, err);
	if(st || *end)
		return st;
	reason = guid_canonicalize(id->data, id->len, row->tenant, NULL);
	if(reason)
		return pl_fail(err, PL_EINPUT, "%s: tenant_id '%s': %s",
			       where(r, row->line, row->off, at, sizeof(at)),
			       excerpt(id, got), reason);
	return PL_OK;
}

/* A decimal number of at most 9 digits, else -1. */
static long number(const struct buf *b)
{
	long v = 0;

	if(!b->len || b->len > 9)
		return -1;
	for(size_t i = 0; i < b->len; i++) {
		if(b->data[i] < '0' || b->data[i] > '9')
			return -1;
		v = v * 10 + (b->data[i] - '0');
	}
	return v;
}

/* Tenant-level fields from a tenant's first row. */
static enum pl_status start_tenant(struct reader *r, const struct row *row,
				   struct tenant_record *rec,
				   struct pl_err *err)
{
	const struct buf *req = &row->f[C_REQUEST];
	long http = number(&row->f[C_HTTP]);
	long attempts = number(&row->f[C_ATTEMPTS]);
	char at[600], got[64];

	memcpy(rec->tenant_id, row->tenant, sizeof(rec->tenant_id));
	if(http < 0 || http > 999)
		return pl_fail(err, PL_EINPUT, "%s: http_status '%s' is not "
			       "an HTTP status", where(r, row->line, row->off,
						       at, sizeof(at)),
			       excerpt(&row->f[C_HTTP], got));
	if(attempts < 0)
		return pl_fail(err, PL_EINPUT, "%s: attempts '%s' is not a "
			       "count", where(r, row->line, row->off, at,
					      sizeof(at)),
			       excerpt(&row->f[C_ATTEMPTS], got));
	rec->http_status = http;
	rec->attempts = (unsigned)attempts;
	if(req->len && guid_canonicalize(req->data, req->len, rec->request_id,
					 NULL))
		return pl_fail(err, PL_EINPUT, "%s: request_id '%s' is not a "
			       "GUID", where(r, row->line, row->off, at,
					     sizeof(at)), excerpt(req, got));
	return tenant_record_set_error(rec, row->f[C_ERROR].data, err);
}

static enum pl_status add_row(struct tenant_record *rec, const struct row *row,
			      struct pl_err *err)
{
	const char *q = row->f[C_QUAL].data, *s = row->f[C_STATUS].data;
	enum pl_status st;

	st = tenant_record_add_row(rec, q, s, row->f[C_REASON].data,
				   row->f[C_DATE].data, err);
	if(st)
		return st;
	if(!*q && !strcmp(s, "Error"))
		rec->outcome = OUTCOME_FAILED;
	else if(!*q && !strcmp(s, "NotFound") &&
		rec->outcome != OUTCOME_FAILED)
		rec->outcome = OUTCOME_NOT_FOUND;
	return PL_OK;
}

/* The next tenant's rows from reader r (see previous_next). */
static enum pl_status read_tenant(struct reader *r, struct tenant_record *rec,
				  uint64_t *offset, bool *end,
				  struct pl_err *err)
{
	struct row *first, *next;
	enum pl_status st;

	tenant_record_release(rec);
	*end = false;
	if(!r->has_pending) {
		st = read_row(r, &r->rows[r->cur], end, err);
		if(st || *end)
			return st;
	}
	r->has_pending = false;
	first = &r->rows[r->cur];
	*offset = first->off;
	st = start_tenant(r, first, rec, err);
	if(!st)
		st = add_row(rec, first, err);
	while(!st) {
		bool done;

		next = &r->rows[1 - r->cur];
		st = read_row(r, next, &done, err);
		if(st || done)
			break;
		if(strcmp(next->tenant, first->tenant)) {
			r->cur = 1 - r->cur;
			r->has_pending = true;
			break;
		}
		st = add_row(rec, next, err);
	}
	if(st)
		tenant_record_release(rec);
	return st;
}

enum pl_status previous_next(struct previous *p, struct tenant_record *rec,
			     uint64_t *offset, bool *end,
			     struct pl_err *err)
{
	return read_tenant(&p->scan, rec, offset, end, err);
}

enum pl_status previous_load(struct previous *p, uint64_t offset,
			     struct tenant_record *rec, struct pl_err *err)
{
	uint64_t got;
	bool end;
	enum pl_status st;

	reader_seek(&p->seek, offset);
	st = read_tenant(&p->seek, rec, &got, &end, err);
	if(!st && end)
		st = pl_fail(err, PL_EINPUT, "%s: no record at byte %llu "
			     "(changed while being read?)", p->detail,
			     (unsigned long long)offset);
	return st;
}

enum pl_status previous_rewind(struct previous *p, struct pl_err *err)
{
	(void)err;
	reader_seek(&p->scan, 0);
	return PL_OK;
}

/* ---- opening: manifest, hash, inflate ---------------------------------- */

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcasecmp(s + n - k, suffix);
}

/* The whole of a small file (a manifest), NUL-terminated. */
static enum pl_status slurp(const char *path, struct buf *out,
			    struct pl_err *err)
{
	char chunk[16384];
	FILE *fp = fopen(path, "rb");
	size_t n;
	enum pl_status st = PL_OK;

	if(!fp)
		return pl_fail(err, PL_EINPUT, "cannot open previous report "
			       "%s: %s", path, strerror(errno));
	buf_init(out, MANIFEST_MAX);
	while(!st && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		st = buf_add(out, chunk, n);
	if(st == PL_ELIMIT)
		st = pl_fail(err, PL_EINPUT, "%s: too large for a manifest",
			     path);
	else if(st)
		st = oom(err);
	else if(ferror(fp))
		st = pl_fail(err, PL_EINPUT, "cannot read %s: %s", path,
			     strerror(errno));
	fclose(fp);
	return st;
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

/*
 * From a run manifest: the detail report's path (resolved as previous.h
 * says), its format and its recorded SHA-256.
 */
static enum pl_status read_manifest(struct previous *p, char want[65],
				    struct pl_err *err)
{
	struct buf text;
	struct json_object *root = NULL, *outs, *v;
	const char *dpath = NULL, *fmt = NULL, *sha = NULL;
	enum pl_status st;

	st = slurp(p->path, &text, err);
	if(st)
		return st;
	root = json_tokener_parse(text.data);
	buf_release(&text);
	if(!root || !json_object_is_type(root, json_type_object) ||
	   !json_object_object_get_ex(root, "tool", &v) ||
	   strcmp(json_object_get_string(v), "qualreport")) {
		st = pl_fail(err, PL_EINPUT, "%s: not a qualreport manifest",
			     p->path);
		goto out;
	}
	if(!json_object_object_get_ex(root, "outputs", &outs) ||
	   !json_object_is_type(outs, json_type_array)) {
		st = pl_fail(err, PL_EINPUT, "%s: manifest without outputs",
			     p->path);
		goto out;
	}
	for(size_t i = 0; i < json_object_array_length(outs); i++) {
		struct json_object *o = json_object_array_get_idx(outs, i);

		if(json_object_object_get_ex(o, "role", &v) &&
		   !strcmp(json_object_get_string(v), "detail")) {
			if(json_object_object_get_ex(o, "path", &v))
				dpath = json_object_get_string(v);
			if(json_object_object_get_ex(o, "format", &v))
				fmt = json_object_get_string(v);
			if(json_object_object_get_ex(o, "sha256", &v))
				sha = json_object_get_string(v);
			break;
		}
	}
	if(!dpath || !fmt || !sha || strlen(sha) != 64) {
		st = pl_fail(err, PL_EINPUT, "%s: the manifest lists no "
			     "detail report with path, format and sha256",
			     p->path);
		goto out;
	}
	if(report_format_parse(fmt, &p->format, NULL)) {
		st = pl_fail(err, PL_EINPUT, "%s: unknown detail format '%s'",
			     p->path, fmt);
		goto out;
	}
	if(!strcmp(dpath, "-")) {
		st = pl_fail(err, PL_EINPUT, "%s: that run wrote its detail "
			     "report to standard output; give --previous the "
			     "saved report itself", p->path);
		goto out;
	}
	memcpy(want, sha, 65);
	{
		const char *slash = strrchr(p->path, '/');
		const char *base = strrchr(dpath, '/');
		int dlen = slash ? (int)(slash - p->path) + 1 : 0;
		struct buf beside = BUF_INIT;

		/* An absolute path as recorded first; a relative one was
		 * relative to that run's directory, so beside the manifest
		 * first. Either way the hash decides. */
		base = base ? base + 1 : dpath;
		if(buf_addf(&beside, "%.*s%s", dlen, p->path, base)) {
			st = oom(err);
			goto out;
		}
		if(dpath[0] == '/' && exists(dpath))
			p->detail = strdup(dpath);
		else if(exists(beside.data))
			p->detail = buf_detach(&beside, NULL);
		else if(exists(dpath))
			p->detail = strdup(dpath);
		else
			st = pl_fail(err, PL_EINPUT, "%s: cannot find the "
				     "detail report it lists: neither %s nor "
				     "%s exists", p->path, dpath, beside.data);
		buf_release(&beside);
		if(st)
			goto out;
	}
	if(!p->detail)
		st = oom(err);
out:
	json_object_put(root);
	return st;
}

/* An unlinked temporary file for the inflated report. */
static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if(!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
	if(fd >= 0)
		return fd;
#endif
	if(snprintf(path, sizeof(path), "%s/qualreport-previous.XXXXXX", dir) >=
	   (int)sizeof(path))
		return -1;
	fd = mkstemp(path);
	if(fd >= 0)
		unlink(path);
	return fd;
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
	while(n) {
		ssize_t w = write(fd, p, n);

		if(w < 0 && errno == EINTR)
			continue;
		if(w <= 0)
			return w < 0 ? errno : EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Read the detail report once: hash its bytes and, when gzipped, inflate
 * them into a temporary file that replaces p->fd. Concatenated gzip
 * members are read as one stream, as zcat does.
 */
static enum pl_status hash_and_inflate(struct previous *p, struct pl_err *err)
{
	bool gz = p->format == REPORT_NDJSON_GZ;
	unsigned char *in = malloc(CHUNK), *out = gz ? malloc(CHUNK) : NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	z_stream zs;
	bool zinit = false, ended = false;
	int tmp = -1, e, zr = Z_OK;
	uint64_t total = 0;
	enum pl_status st = PL_OK;

	memset(&zs, 0, sizeof(zs));
	if(!in || (gz && !out) || !ctx ||
	   !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		st = oom(err);
		goto out;
	}
	if(gz) {
		if(inflateInit2(&zs, 15 + 16) != Z_OK) {
			st = oom(err);
			goto out;
		}
		zinit = true;
		tmp = temp_fd();
		if(tmp < 0) {
			st = pl_fail(err, PL_EINPUT, "cannot create a "
				     "temporary file to inflate %s: %s",
				     p->detail, strerror(errno));
			goto out;
		}
	}
	for(;;) {
		ssize_t n = read(p->fd, in, CHUNK);

		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0) {
			st = pl_fail(err, PL_EINPUT, "cannot read %s: %s",
				     p->detail, strerror(errno));
			goto out;
		}
		if(n == 0)
			break;
		total += (uint64_t)n;
		EVP_DigestUpdate(ctx, in, (size_t)n);
		if(!gz)
			continue;
		zs.next_in = in;
		zs.avail_in = (uInt)n;
		while(zs.avail_in) {
			if(ended) {
				/* another member follows */
				inflateReset(&zs);
				ended = false;
			}
			zs.next_out = out;
			zs.avail_out = CHUNK;
			zr = inflate(&zs, Z_NO_FLUSH);
			if(zr != Z_OK && zr != Z_STREAM_END) {
				st = pl_fail(err, PL_EINPUT, "%s: not gzip "
					     "data, or corrupt: %s", p->detail,
					     zs.msg ? zs.msg
						    : "inflate failed");
				goto out;
			}
			e = write_all(tmp, out, CHUNK - zs.avail_out);
			if(e) {
				st = pl_fail(err, PL_EINPUT, "cannot inflate "
					     "%s into a temporary file: %s",
					     p->detail, strerror(e));
				goto out;
			}
			if(zr == Z_STREAM_END)
				ended = true;
		}
	}
	if(gz && !ended) {
		st = pl_fail(err, PL_EINPUT, "%s: truncated gzip data (%llu "
			     "bytes)", p->detail, (unsigned long long)total);
		goto out;
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	hex(md, mdlen, p->sha256);
	if(gz) {
		close(p->fd);
		p->fd = tmp;
		tmp = -1;
	}
out:
	if(tmp >= 0)
		close(tmp);
	if(zinit)
		inflateEnd(&zs);
	EVP_MD_CTX_free(ctx);
	free(in);
	free(out);
	return st;
}

enum pl_status previous_open(const char *path, struct previous **out,
			     struct pl_err *err)
{
	struct previous *p = calloc(1, sizeof(*p));
	char want[65] = "";
	struct stat sb;
	enum pl_status st;

	*out = NULL;
	if(!p)
		return oom(err);
	p->fd = -1;
	p->path = strdup(path);
	if(!p->path) {
		st = oom(err);
		goto fail;
	}
	if(has_suffix(path, ".json")) {
		st = read_manifest(p, want, err);
		if(st)
			goto fail;
	} else if(report_format_has_known_suffix(path, &p->format)) {
		p->detail = strdup(path);
		if(!p->detail) {
			st = oom(err);
			goto fail;
		}
	} else {
		st = pl_fail(err, PL_EINPUT, "previous report %s: give a "
			     "detail report (.csv, .ndjson, .ndjson.gz) or a "
			     "run manifest (.json)", path);
		goto fail;
	}
	p->fd = open(p->detail, O_RDONLY | O_CLOEXEC);
	if(p->fd < 0) {
		st = pl_fail(err, PL_EINPUT, "cannot open previous report "
			     "%s: %s", p->detail, strerror(errno));
		goto fail;
	}
	if(fstat(p->fd, &sb) || !S_ISREG(sb.st_mode)) {
		st = pl_fail(err, PL_EINPUT, "previous report %s: not a "
			     "regular file", p->detail);
		goto fail;
	}
	st = hash_and_inflate(p, err);
	if(st)
		goto fail;
	if(want[0] && strcmp(want, p->sha256)) {
		st = pl_fail(err, PL_EINPUT, "%s: SHA-256 %s, but the "
			     "manifest %s records %s", p->detail, p->sha256,
			     p->path, want);
		goto fail;
	}
	st = reader_init(&p->scan, p, true, err);
	if(!st)
		st = reader_init(&p->seek, p, false, err);
	if(st)
		goto fail;
	reader_seek(&p->scan, 0);
	reader_seek(&p->seek, 0);
	*out = p;
	return PL_OK;
fail:
	previous_free(p);
	return st;
}

void previous_free(struct previous *p)
{
	if(!p)
		return;
	if(p->scan.p)
		reader_release(&p->scan);
	if(p->seek.p)
		reader_release(&p->seek);
	if(p->fd >= 0)
		close(p->fd);
	free(p->detail);
	free(p->path);
	free(p);
}

const char *previous_detail_path(const struct previous *p)
{
	return p->detail;
}

enum report_format previous_format(const struct previous *p)
{
	return p->format;
}

const char *previous_sha256(const struct previous *p)
{
	return p->sha256;
}
