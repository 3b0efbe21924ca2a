#include "csvin.h"

#include <csv.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "csvlex.h"
#include "guid.h"

/*
 * How it works.
 *
 * Open reads a look-ahead of at most LOOKAHEAD_BYTES (stopping early once
 * LOOKAHEAD_RECORDS non-blank records were seen), guesses the delimiter
 * from its first lines, then runs a throw-away libcsv parser over it that
 * keeps only a few flags per cell plus the first row's names. From those
 * it picks the column and decides about the header. The look-ahead bytes
 * are then replayed through the real parser and reading continues in
 * CHUNK-sized freads, so memory is bounded whatever the file size.
 *
 * libcsv reports no positions, so the real parser is fed one physical line
 * (or at most CHUNK bytes of one) at a time. A line ends at LF, CR or CRLF.
 * Every byte fed also goes through csvlex, a copy of libcsv's state
 * machine that only counts (libcsv's own state is private). When a line
 * begins while the parser is between records, a record that appears
 * starts on that line; when it ends with the parser still between records
 * and no record completed, the line was blank (libcsv skips empty and
 * all-space lines without a callback). Records only end at a line end (or
 * at EOF), so a line completes at most one record and csvin_next() needs
 * a single pending event.
 *
 * The cell limit: when a byte would take the field libcsv is building past
 * CELL_MAX, libcsv gets no more of that field ("held"), only, once csvlex
 * sees the field end, a closing quote if libcsv is inside its quotes and
 * then the byte that ends the field. libcsv's buffer so stays at CELL_MAX
 * whatever the cell's state (unquoted, quoted, after a closing quote),
 * and the field's true length, which csvlex knows, decides "value too
 * long": trailing spaces that libcsv drops anyway never make a value too
 * long.
 */

#define CHUNK (64 * 1024)
#define LOOKAHEAD_BYTES (1024 * 1024)
#define LOOKAHEAD_RECORDS 100
/* A cell longer than this is rejected as "value too long" and only its
 * first CELL_MAX bytes are kept, so hostile input cannot make one field
 * (and libcsv's field buffer) grow without bound. */
#define CELL_MAX (1024 * 1024)
/* Auto-detection looks at this many columns at most. */
#define DETECT_COLS 1024
/* Header cells are kept up to this many bytes (names, messages). */
#define NAME_KEEP 256
#define PARSER_BLOCK (16 * 1024)
#define DELIM_SCAN_LINES 10

enum ready { READY_NONE = 0, READY_RECORD, READY_BLANK };

struct csvin {
	FILE *fp;
	int own_fp;
	char *name;                 /* display name for messages */
	struct tenantset *seen;
	void (*on_bytes)(void *ctx, const void *data, size_t len);
	void *on_bytes_ctx;

	struct buf raw;             /* look-ahead, then one chunk at a time */
	size_t pos;                 /* next byte of raw to feed */
	int eof;

	struct csv_parser parser;
	struct csvlex lex;          /* the state parser is in */
	int parser_ready;
	char delim;
	unsigned column;            /* 1-based */
	char *column_name;
	unsigned name_col;          /* want_names: 0 = none */
	unsigned domain_col;
	int has_header;
	int header_done;            /* first non-blank record went by */

	/* Line accounting. */
	unsigned long line;         /* physical line being fed */
	unsigned long rec_line;     /* line the current record started on */
	int at_line_start;
	int prev_cr;                /* last byte fed was a line-ending CR */
	int line_blankable;         /* line began between records */
	int row_seen;               /* a record ended on this line */
	int finished;

	/* The record being parsed. */
	size_t nf;
	int nonblank;
	int cell_too_long;
	bool held;                  /* libcsv gets no more of this field */
	bool held_in_quotes;        /* ... and is inside its quotes */
	bool field_too_long;        /* the held field that ends next was */
	struct buf cell;            /* tenant cell, at most CELL_MAX bytes */
	struct buf cust_name;       /* want_names: the record's name cell */
	struct buf cust_domain;     /* and its domain cell */
	int nomem, overrun;

	/* The completed record or blank line waiting for csvin_next(). */
	enum ready ready;
	unsigned long ready_line;
	size_t ready_nf;
	int ready_too_long;

	enum pl_status failed;
	struct pl_err fail;

	struct csvin_counts counts;
};

/* Per-cell flags gathered during detection. */
#define F_NONBLANK 1
#define F_VALID 2   /* a valid GUID */
#define F_ATTEMPT 4 /* not valid, but only hex, '-', braces and spaces */

struct name {
	size_t off, len;
	int cut;                    /* longer than NAME_KEEP */
};

struct detect {
	unsigned long nrec;         /* non-blank records completed */
	size_t maxf;                /* most fields in the first records */
	size_t nf;                  /* current record */
	int nonblank;
	struct buf flags;           /* one byte per cell of the record */
	int have_row1;
	char *row1;                 /* flags of the first non-blank record */
	size_t row1_nf;
	struct name *names;         /* cells of the (candidate) first row */
	size_t nnames;
	struct buf text;            /* their names, each NUL-terminated */
	unsigned valid[DETECT_COLS];
	unsigned nonempty[DETECT_COLS];
	int nomem;
};

static const char *const known_headers[] = {
	"customertenantid", "tenantid", "customerid", "microsoftid", "id"
};
/* --customers: company-name and domain columns, in priority order. */
static const char *const name_headers[] = {"companyname", "company", "name"};
static const char *const domain_headers[] = {"domain"};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

static bool all_space(const unsigned char *s, size_t len)
{
	for(size_t i = 0; i < len; i++) {
		if(!is_space(s[i]))
			return false;
	}
	return true;
}

static bool is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Lowercase ASCII letters and digits of s, at most outsz - 1 of them.
 * Returns the length, or -1 when they do not fit. */
static int normalize(const char *s, size_t len, char *out, size_t outsz)
{
	size_t n = 0;

	for(size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if(c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		else if(!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9'))
			continue;
		if(n + 1 >= outsz)
			return -1;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return (int)n;
}

/* ---- reading ---------------------------------------------------------- */

/* The bytes of raw from `from` on, as libcsv and the scanners take them. */
static const unsigned char *raw_at(const struct csvin *in, size_t from)
{
	return (const unsigned char *)in->raw.data + from;
}

static enum pl_status read_more(struct csvin *in, struct pl_err *err)
{
	size_t from = in->raw.len, n;

	errno = 0;
	if(buf_fread(&in->raw, CHUNK, in->fp, &n))
		return pl_fail(err, PL_ENOMEM, "out of memory reading %s",
			       in->name);
	if(n < CHUNK && ferror(in->fp)) {
		int e = errno ? errno : EIO;

		if(in->line)
			return pl_fail(err, PL_EINPUT,
				       "cannot read %s at line %lu: %s",
				       in->name, in->line, strerror(e));
		return pl_fail(err, PL_EINPUT, "cannot read %s: %s", in->name,
			       strerror(e));
	}
	if(n < CHUNK)
		in->eof = 1;
	if(n && in->on_bytes)
		in->on_bytes(in->on_bytes_ctx, raw_at(in, from), n);
	return PL_OK;
}

/*
 * The delimiter: count ',' ';' and TAB outside quoted fields over the
 * first non-blank lines; the most frequent wins, ',' on a tie or when
 * there is none (a one-column file). A quote opens a quoted field only at
 * a field start, as in libcsv, so a stray inch mark cannot hide the rest.
 */
static char detect_delimiter(const unsigned char *s, size_t n)
{
	size_t comma = 0, semi = 0, tab = 0;
	int inq = 0, at_start = 1, line_has = 0;
	unsigned lines = 0;

	for(size_t i = 0; i < n; i++) {
		unsigned char c = s[i];

		if(inq) {
			if(c == '"') {
				if(i + 1 < n && s[i + 1] == '"')
					i++;
				else
					inq = 0;
			}
			continue;
		}
		switch(c) {
		case '"':
			inq = at_start;
			at_start = 0;
			line_has = 1;
			break;
		case ',':
		case ';':
		case '\t':
			comma += c == ',';
			semi += c == ';';
			tab += c == '\t';
			at_start = 1;
			line_has = 1;
			break;
		case '\n':
		case '\r':
			if(line_has && ++lines == DELIM_SCAN_LINES)
				goto out;
			line_has = 0;
			at_start = 1;
			break;
		case ' ':
			break;
		default:
			at_start = 0;
			line_has = 1;
			break;
		}
	}
out:
	if(tab > comma && tab > semi)
		return '\t';
	if(semi > comma)
		return ';';
	return ',';
}

/* ---- detection pass --------------------------------------------------- */

static unsigned char cell_flags(const unsigned char *s, size_t len)
{
	if(all_space(s, len))
		return 0;
	if(!guid_canonicalize((const char *)s, len, NULL, NULL))
		return F_NONBLANK | F_VALID;
	for(size_t i = 0; i < len; i++) {
		if(!is_hex(s[i]) && s[i] != '-' && s[i] != '{' &&
		   s[i] != '}' && !is_space(s[i]))
			return F_NONBLANK;
	}
	return F_NONBLANK | F_ATTEMPT;
}

static void keep_name(struct detect *d, const char *s, size_t len)
{
	struct name *nm;
	size_t keep = len < NAME_KEEP ? len : NAME_KEEP;

	if(d->nnames % 16 == 0) {
		struct name *grown = realloc(d->names,
					     (d->nnames + 16) * sizeof(*grown));

		if(!grown) {
			d->nomem = 1;
			return;
		}
		d->names = grown;
	}
	if(buf_grow(&d->text, keep + 1)) {
		d->nomem = 1;
		return;
	}
	nm = &d->names[d->nnames++];
	nm->off = d->text.len;
	nm->len = keep;
	nm->cut = keep < len;
	/* Neither can fail after the grow. */
	buf_add(&d->text, s, keep);
	buf_addch(&d->text, '\0');
}

static void detect_cell(void *s, size_t len, void *data)
{
	struct detect *d = data;
	unsigned char f = cell_flags(s, len);

	if(d->nomem)
		return;
	if(buf_addch(&d->flags, (char)f)) {
		d->nomem = 1;
		return;
	}
	if(f)
		d->nonblank = 1;
	if(!d->have_row1 && d->nf < DETECT_COLS)
		keep_name(d, s, len);
	d->nf++;
}

/* The record's flags become row 1's; the next record starts afresh. */
static void keep_row1(struct detect *d)
{
	d->row1 = buf_detach(&d->flags, NULL);
	d->row1_nf = d->nf;
	d->have_row1 = 1;
	if(!d->row1)
		d->nomem = 1;
}

static void detect_row(int c, void *data)
{
	struct detect *d = data;

	(void)c;
	if(d->nomem)
		return;
	if(!d->nonblank) {
		if(!d->have_row1) {
			d->nnames = 0;
			buf_reset(&d->text);
		}
	} else if(++d->nrec <= LOOKAHEAD_RECORDS) {
		if(d->nf > d->maxf)
			d->maxf = d->nf;
		if(!d->have_row1) {
			keep_row1(d);
		} else {
			size_t n = d->nf < DETECT_COLS ? d->nf : DETECT_COLS;
			const unsigned char *flags =
				(const unsigned char *)d->flags.data;

			for(size_t j = 0; j < n; j++) {
				unsigned char f = flags[j];

				d->nonempty[j] += (f & F_NONBLANK) != 0;
				d->valid[j] += (f & F_VALID) != 0;
			}
		}
	}
	buf_reset(&d->flags);
	d->nf = 0;
	d->nonblank = 0;
}

static void detect_free(struct detect *d)
{
	if(!d)
		return;
	buf_release(&d->flags);
	free(d->row1);
	free(d->names);
	buf_release(&d->text);
	free(d);
}

/* Flags of row 1's cell in column col (1-based); 0 when it has none. */
static unsigned char row1_cell(const struct detect *d, unsigned col)
{
	if(!d->have_row1 || col > d->row1_nf)
		return 0;
	return (unsigned char)d->row1[col - 1];
}

/* Row 1 is a header when its tenant cell is there, not a GUID and does
 * not look like an attempt at one ("Tenant" is a header, "12345" data). */
static bool row1_is_header(const struct detect *d, unsigned col)
{
	return row1_cell(d, col) == F_NONBLANK;
}

/* "a, b, c" from the first row's names, shortened to fit a message. */
static void list_names(const struct detect *d, char *out, size_t outsz)
{
	size_t n = 0;

	out[0] = '\0';
	for(size_t j = 0; j < d->nnames; j++) {
		const char *nm = d->text.data + d->names[j].off;
		int w = snprintf(out + n, outsz - n, "%s%s", j ? ", " : "", nm);

		if(w < 0 || (size_t)w >= outsz - n) {
			if(outsz >= 4)
				memcpy(out + outsz - 4, "...", 4);
			return;
		}
		n += (size_t)w;
	}
}

/* 1-based column of the first row cell whose normalized name is want. */
static unsigned find_name(const struct detect *d, const char *want)
{
	char norm[NAME_KEEP + 1];

	for(size_t j = 0; j < d->nnames; j++) {
		const struct name *nm = &d->names[j];

		if(nm->cut)
			continue;
		if(normalize(d->text.data + nm->off, nm->len, norm,
			     sizeof(norm)) >= 0 && !strcmp(norm, want))
			return (unsigned)j + 1;
	}
	return 0;
}

/* The first of names (normalized) that names a header cell other than
 * the tenant column; 0 when none does. */
static unsigned find_other(const struct csvin *in, const struct detect *d,
			   const char *const *names, size_t n)
{
	for(size_t k = 0; k < n; k++) {
		char norm[NAME_KEEP + 1];

		for(size_t j = 0; j < d->nnames; j++) {
			const struct name *nm = &d->names[j];

			if(nm->cut || j + 1 == in->column)
				continue;
			if(normalize(d->text.data + nm->off, nm->len, norm,
				     sizeof(norm)) >= 0 &&
			   !strcmp(norm, names[k]))
				return (unsigned)j + 1;
		}
	}
	return 0;
}

/* --customers: the columns that carry each tenant's name and domain. */
static enum pl_status choose_name_columns(struct csvin *in,
					  const struct detect *d,
					  struct pl_err *err)
{
	if(in->has_header) {
		in->name_col = find_other(in, d, name_headers,
					  sizeof(name_headers) /
					  sizeof(name_headers[0]));
		in->domain_col = find_other(in, d, domain_headers,
					    sizeof(domain_headers) /
					    sizeof(domain_headers[0]));
	}
	if(in->name_col || in->domain_col)
		return PL_OK;
	return pl_fail(err, PL_EUSAGE, "--customers: %s has no company-name "
		       "or domain column (looked for a header named "
		       "companyName, Company, Name or domain)", in->name);
}

static enum pl_status use_number(struct csvin *in, const struct detect *d,
				 const char *opt, const char *digits,
				 size_t ndigits, struct pl_err *err)
{
	unsigned long n = 0;

	for(size_t i = 0; i < ndigits; i++) {
		if(n > 1000000000UL)
			break;
		n = n * 10 + (unsigned long)(digits[i] - '0');
	}
	if(n == 0)
		return pl_fail(err, PL_EUSAGE,
			       "--column %s: columns are numbered from 1", opt);
	/* Only judge the range from complete records: a first record longer
	 * than the look-ahead tells nothing. */
	if(d->nrec > 0 && n > d->maxf)
		return pl_fail(err, PL_EUSAGE,
			       "--column %s: %s has only %zu column%s", opt,
			       in->name, d->maxf, d->maxf == 1 ? "" : "s");
	if(n > 1000000000UL)
		return pl_fail(err, PL_EUSAGE, "--column %s: out of range",
			       opt);
	in->column = (unsigned)n;
	in->has_header = row1_is_header(d, in->column);
	return PL_OK;
}

static enum pl_status use_name(struct csvin *in, const struct detect *d,
			       const char *opt, struct pl_err *err)
{
	char want[NAME_KEEP + 1];
	char list[300];
	int n = normalize(opt, strlen(opt), want, sizeof(want));

	if(n <= 0)
		return pl_fail(err, PL_EUSAGE,
			       "--column '%s': not a column number or name",
			       opt);
	in->column = find_name(d, want);
	if(!in->column) {
		if(!d->have_row1)
			return pl_fail(err, PL_EINPUT,
				       "%s: no column named '%s': "
				       "no header row", in->name, opt);
		list_names(d, list, sizeof(list));
		return pl_fail(err, PL_EINPUT,
			       "%s: no column named '%s' in the header "
			       "(columns: %s)", in->name, opt, list);
	}
	in->has_header = 1;
	return PL_OK;
}

static enum pl_status use_auto(struct csvin *in, const struct detect *d,
			       struct pl_err *err)
{
	size_t ncols = d->maxf > d->row1_nf ? d->maxf : d->row1_nf;

	for(size_t k = 0; k < sizeof(known_headers) / sizeof(*known_headers);
	    k++) {
		in->column = find_name(d, known_headers[k]);
		if(in->column) {
			in->has_header = 1;
			return PL_OK;
		}
	}
	if(ncols > DETECT_COLS)
		ncols = DETECT_COLS;
	/* The first column mostly made of GUIDs. Row 1 counts unless it
	 * looks like a header, so "Tenant" over a single GUID still wins.
	 * Failing that, the column with the most GUIDs: a short or messy
	 * export whose ID column is half typos still has one, and its bad
	 * values are rejected one by one with a reason rather than the
	 * whole file refused. */
	unsigned best = 0, best_valid = 0;

	for(size_t j = 0; j < ncols; j++) {
		unsigned valid = d->valid[j], nonempty = d->nonempty[j];
		unsigned char f = row1_cell(d, (unsigned)j + 1);

		if(f & (F_VALID | F_ATTEMPT)) {
			nonempty++;
			valid += (f & F_VALID) != 0;
		}
		if(valid > 0 && valid * 2 > nonempty) {
			best = (unsigned)j + 1;
			break;
		}
		if(valid > best_valid) {
			best_valid = valid;
			best = (unsigned)j + 1;
		}
	}
	if(best) {
		in->column = best;
		in->has_header = row1_is_header(d, in->column);
		return PL_OK;
	}
	return pl_fail(err, PL_EINPUT,
		       "%s: no tenant-ID column: looked for a header named "
		       "customer-tenant-id, tenant-id, customer-id, "
		       "microsoft-id or id, and for a column of GUIDs",
		       in->name);
}

static enum pl_status choose_column(struct csvin *in, const struct detect *d,
				    const char *opt, bool want_names,
				    struct pl_err *err)
{
	enum pl_status st;
	size_t b, e;

	if(!opt) {
		st = use_auto(in, d, err);
	} else {
		for(b = 0; opt[b] == ' '; b++)
			;
		for(e = strlen(opt); e > b && opt[e - 1] == ' '; e--)
			;
		if(e > b && strspn(opt + b, "0123456789") == e - b)
			st = use_number(in, d, opt, opt + b, e - b, err);
		else
			st = use_name(in, d, opt, err);
	}
	if(st)
		return st;
	if(in->has_header) {
		const struct name *nm = in->column <= d->nnames ?
					&d->names[in->column - 1] : NULL;

		in->column_name = strdup(nm ? d->text.data + nm->off : "");
		if(!in->column_name)
			return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	return want_names ? choose_name_columns(in, d, err) : PL_OK;
}

static enum pl_status detect_feed(struct csvin *in, struct csv_parser *p,
				  struct detect *d, size_t from,
				  struct pl_err *err)
{
	size_t n = in->raw.len - from;

	if(csv_parse(p, raw_at(in, from), n, detect_cell, detect_row, d) != n)
		return pl_fail(err, PL_EINPUT, "cannot parse %s: %s",
			       in->name, csv_strerror(csv_error(p)));
	if(d->nomem)
		return pl_fail(err, PL_ENOMEM, "out of memory reading %s",
			       in->name);
	return PL_OK;
}

/* Read the look-ahead, detect delimiter, column and header; leaves
 * in->pos after the BOM for the replay. */
static enum pl_status detect(struct csvin *in, const char *opt,
			     bool want_names, struct pl_err *err)
{
	struct csv_parser p;
	struct detect *d;
	enum pl_status st;
	size_t from;

	st = read_more(in, err);
	if(st)
		return st;
	/* Excel's "Unicode Text" is UTF-16: say so rather than find no
	 * column in it. */
	if(in->raw.len >= 2 && (!memcmp(in->raw.data, "\xff\xfe", 2) ||
				!memcmp(in->raw.data, "\xfe\xff", 2)))
		return pl_fail(err, PL_EINPUT, "%s: UTF-16 text is not "
			       "supported, save it as CSV UTF-8", in->name);
	if(in->raw.len >= 3 && !memcmp(in->raw.data, "\xef\xbb\xbf", 3))
		in->pos = 3;
	in->delim = detect_delimiter(raw_at(in, in->pos),
				     in->raw.len - in->pos);

	d = calloc(1, sizeof(*d));
	if(!d || csv_init(&p, 0)) {
		free(d);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	buf_init(&d->flags, 0);
	buf_init(&d->text, 0);
	csv_set_delim(&p, (unsigned char)in->delim);
	csv_set_blk_size(&p, PARSER_BLOCK);
	st = detect_feed(in, &p, d, in->pos, err);
	while(!st && !in->eof && d->nrec < LOOKAHEAD_RECORDS &&
	      in->raw.len < LOOKAHEAD_BYTES) {
		from = in->raw.len;
		st = read_more(in, err);
		if(!st)
			st = detect_feed(in, &p, d, from, err);
	}
	if(!st && in->eof) {
		csv_fini(&p, detect_cell, detect_row, d);
		if(d->nomem)
			st = pl_fail(err, PL_ENOMEM, "out of memory");
	}
	/* A first record longer than the look-ahead: judge by its cells
	 * so far. */
	if(!st && !d->have_row1 && d->nonblank) {
		keep_row1(d);
		if(d->nomem)
			st = pl_fail(err, PL_ENOMEM, "out of memory");
	}
	if(!st)
		st = choose_column(in, d, opt, want_names, err);
	csv_free(&p);
	detect_free(d);
	return st;
}

/* ---- main pass -------------------------------------------------------- */

static void cell_cb(void *s, size_t len, void *data)
{
	struct csvin *in = data;

	in->nf++;
	if(!in->nonblank && !all_space(s, len))
		in->nonblank = 1;
	if(in->nf == in->column) {
		size_t keep = len < CELL_MAX ? len : CELL_MAX;

		buf_reset(&in->cell);
		if(buf_add(&in->cell, s, keep))
			in->nomem = 1;
		in->cell_too_long = in->field_too_long || len > CELL_MAX;
	}
	if(in->nf == in->name_col || in->nf == in->domain_col) {
		struct buf *b = in->nf == in->name_col ? &in->cust_name
						       : &in->cust_domain;

		buf_reset(b);
		if(buf_add(b, s, len < CELL_MAX ? len : CELL_MAX))
			in->nomem = 1;
	}
	in->field_too_long = false;
}

static void row_cb(int c, void *data)
{
	struct csvin *in = data;

	(void)c;
	in->row_seen = 1;
	if(in->ready)
		in->overrun = 1;
	if(!in->nonblank) {
		in->ready = READY_BLANK;
		in->ready_line = in->rec_line;
	} else if(!in->header_done && in->has_header) {
		in->header_done = 1;
		buf_reset(&in->cust_name);
		buf_reset(&in->cust_domain);
	} else {
		in->header_done = 1;
		in->ready = READY_RECORD;
		in->ready_line = in->rec_line;
		in->ready_nf = in->nf;
		in->ready_too_long = in->cell_too_long;
	}
	in->nf = 0;
	in->nonblank = 0;
	in->cell_too_long = 0;
}

/* Hand n bytes to libcsv. */
static enum pl_status parse(struct csvin *in, const unsigned char *s,
			    size_t n, struct pl_err *err)
{
	if(n && csv_parse(&in->parser, s, n, cell_cb, row_cb, in) != n)
		return pl_fail(err, PL_EINPUT,
			       "cannot parse %s at line %lu: %s", in->name,
			       in->line,
			       csv_strerror(csv_error(&in->parser)));
	if(in->nomem)
		return pl_fail(err, PL_ENOMEM, "out of memory reading %s",
			       in->name);
	if(in->overrun)
		return pl_fail(err, PL_EINTERNAL,
			       "%s: two records ended on line %lu", in->name,
			       in->line);
	return PL_OK;
}

/*
 * Feed s[0..n) through csvlex, and to libcsv all of it but the bytes of a
 * field past CELL_MAX (see "The cell limit" above).
 */
static enum pl_status feed(struct csvin *in, const unsigned char *s,
			   size_t n, struct pl_err *err)
{
	struct csvlex *lx = &in->lex;
	size_t from = 0; /* the first byte libcsv has not been given */
	enum pl_status st;

	for(size_t i = 0; i < n; i++) {
		bool in_quotes = lx->state == CSVLEX_FIELD && lx->quoted;
		enum csvlex_effect e = csvlex_step(lx, s[i]);

		if(!in->held) {
			if(e != CSVLEX_BYTE || lx->len <= CELL_MAX)
				continue;
			st = parse(in, s + from, i - from, err);
			if(st)
				return st;
			in->held = true;
			in->held_in_quotes = in_quotes;
			from = i + 1;
		} else if(e == CSVLEX_END_FIELD || e == CSVLEX_END_ROW) {
			/* The callback this byte causes reads the verdict. */
			in->held = false;
			in->field_too_long = lx->ended_len > CELL_MAX;
			if(in->held_in_quotes) {
				st = parse(in, (const unsigned char *)"\"", 1,
					   err);
				if(st)
					return st;
			}
			from = i;
		} else {
			from = i + 1;
		}
	}
	return parse(in, s + from, n - from, err);
}

static void begin_line(struct csvin *in)
{
	in->line++;
	in->at_line_start = 0;
	in->row_seen = 0;
	in->line_blankable = in->lex.state == CSVLEX_ROW;
	if(in->line_blankable)
		in->rec_line = in->line;
}

static void end_line(struct csvin *in)
{
	in->at_line_start = 1;
	if(in->line_blankable && !in->row_seen &&
	   in->lex.state == CSVLEX_ROW) {
		in->ready = READY_BLANK;
		in->ready_line = in->line;
	}
}

static enum pl_status finish(struct csvin *in)
{
	/* csv_fini ends a held field too, as it stands (no closing quote
	 * needed); its true length is csvlex's. */
	if(in->held) {
		in->field_too_long = csvlex_field_len(&in->lex) > CELL_MAX;
		in->held = false;
	}
	csvlex_fini(&in->lex);
	csv_fini(&in->parser, cell_cb, row_cb, in);
	if(!in->at_line_start && in->line_blankable && !in->row_seen) {
		in->ready = READY_BLANK;
		in->ready_line = in->line;
	}
	in->finished = 1;
	if(in->nomem)
		return PL_ENOMEM;
	return PL_OK;
}

/* Feed the next line or piece of one; may make an event ready. */
static enum pl_status step(struct csvin *in, struct pl_err *err)
{
	const unsigned char *p;
	size_t avail, n;
	enum pl_status st;

	if(in->pos == in->raw.len) {
		if(in->eof) {
			if(finish(in))
				return pl_fail(err, PL_ENOMEM,
					       "out of memory reading %s",
					       in->name);
			return PL_OK;
		}
		/* Drop the look-ahead's room once it has been replayed. */
		buf_trim(&in->raw, 2 * CHUNK);
		in->pos = 0;
		return read_more(in, err);
	}
	p = raw_at(in, in->pos);
	avail = in->raw.len - in->pos;
	if(avail > CHUNK)
		avail = CHUNK;
	if(in->prev_cr) {
		in->prev_cr = 0;
		if(p[0] == '\n') {
			/* The LF of a CRLF split between two reads. */
			in->pos++;
			return feed(in, p, 1, err);
		}
	}
	if(in->at_line_start)
		begin_line(in);
	for(n = 0; n < avail && p[n] != '\n' && p[n] != '\r'; n++)
		;
	if(n == avail) {
		in->pos += n;
		return feed(in, p, n, err);
	}
	n++;
	if(p[n - 1] == '\r') {
		if(n < avail && p[n] == '\n')
			n++;
		else if(n == avail)
			in->prev_cr = 1;
	}
	in->pos += n;
	st = feed(in, p, n, err);
	if(st)
		return st;
	end_line(in);
	return PL_OK;
}

/* ---- API -------------------------------------------------------------- */

static enum pl_status open_stream(FILE *fp, int own, const char *name,
				  const struct csvin_options *opt,
				  struct csvin **out, struct pl_err *err)
{
	struct csvin *in;
	enum pl_status st;
	struct stat sb;
	int fd;

	in = calloc(1, sizeof(*in));
	if(!in) {
		if(own)
			fclose(fp);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	buf_init(&in->raw, 0);
	buf_init(&in->cell, CELL_MAX);
	in->fp = fp;
	in->own_fp = own;
	in->seen = opt->seen;
	in->on_bytes = opt->on_bytes;
	in->on_bytes_ctx = opt->on_bytes_ctx;
	in->at_line_start = 1;
	buf_init(&in->cust_name, 0);
	buf_init(&in->cust_domain, 0);
	in->name = strdup(name);
	if(!in->name) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	/* fopen() accepts a directory on Linux; say so before fread's
	 * EISDIR does, with the same message. */
	fd = fileno(fp);
	if(fd >= 0 && !fstat(fd, &sb) && S_ISDIR(sb.st_mode)) {
		st = pl_fail(err, PL_EINPUT, "cannot read %s: %s", name,
			     strerror(EISDIR));
		goto out;
	}
	st = detect(in, opt->column, opt->want_names, err);
	if(st)
		goto out;
	if(csv_init(&in->parser, 0)) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	in->parser_ready = 1;
	csv_set_delim(&in->parser, (unsigned char)in->delim);
	csvlex_init(&in->lex, (unsigned char)in->delim);
	csv_set_blk_size(&in->parser, PARSER_BLOCK);
out:
	if(st) {
		csvin_free(in);
		return st;
	}
	*out = in;
	return PL_OK;
}

enum pl_status csvin_open(const char *path, const struct csvin_options *opt,
			  struct csvin **out, struct pl_err *err)
{
	FILE *fp;

	*out = NULL;
	if(!path || !opt || !opt->seen)
		return pl_fail(err, PL_EINTERNAL,
			       "csvin_open: no path or tenant set");
	if(!strcmp(path, "-"))
		return open_stream(stdin, 0, "stdin", opt, out, err);
	fp = fopen(path, "rb");
	if(!fp)
		return pl_fail(err, PL_EINPUT, "cannot read %s: %s", path,
			       strerror(errno));
	return open_stream(fp, 1, path, opt, out, err);
}

enum pl_status csvin_open_stream(FILE *fp, const char *name,
				 const struct csvin_options *opt,
				 struct csvin **out, struct pl_err *err)
{
	*out = NULL;
	if(!fp || !name || !opt || !opt->seen)
		return pl_fail(err, PL_EINTERNAL,
			       "csvin_open_stream: no stream or tenant set");
	return open_stream(fp, 0, name, opt, out, err);
}

/* Turn the ready record or blank line into ev. */
static enum pl_status deliver(struct csvin *in, struct csvin_event *ev,
			      struct pl_err *err)
{
	const char *reason;
	struct pl_err why;
	enum pl_status st;
	bool added;

	ev->line = in->ready_line;
	if(in->ready == READY_BLANK) {
		ev->kind = CSVIN_BLANK;
		in->counts.blanks++;
		goto out;
	}
	ev->kind = CSVIN_REJECT;
	if(in->ready_nf < in->column) {
		ev->value = "";
		ev->reason = "missing column";
		in->counts.rejects++;
		goto out;
	}
	ev->value = in->cell.data;
	ev->value_len = in->cell.len;
	if(in->ready_too_long)
		reason = "value too long";
	else
		reason = guid_canonicalize(ev->value, ev->value_len,
					   ev->tenant_id, ev->tenant_bytes);
	if(reason) {
		ev->reason = reason;
		in->counts.rejects++;
		goto out;
	}
	st = tenantset_add(in->seen, ev->tenant_bytes, &added, &why);
	if(st)
		return pl_fail(err, st, "cannot add the tenant on line %lu of "
			       "%s: %s", ev->line, in->name, why.msg);
	ev->value = NULL;
	ev->value_len = 0;
	if(in->name_col)
		ev->name = in->cust_name.data;
	if(in->domain_col)
		ev->domain = in->cust_domain.data;
	if(added) {
		ev->kind = CSVIN_TENANT;
		in->counts.tenants++;
	} else {
		ev->kind = CSVIN_DUPLICATE;
		in->counts.duplicates++;
	}
out:
	in->ready = READY_NONE;
	in->counts.rows++;
	return PL_OK;
}

enum pl_status csvin_next(struct csvin *in, struct csvin_event *ev,
			  struct pl_err *err)
{
	enum pl_status st;

	memset(ev, 0, sizeof(*ev));
	/* the last event's cells are not this record's */
	buf_reset(&in->cust_name);
	buf_reset(&in->cust_domain);
	if(in->failed)
		return pl_fail(err, in->failed, "%s", in->fail.msg);
	while(!in->ready) {
		if(in->finished) {
			ev->kind = CSVIN_END;
			return PL_OK;
		}
		st = step(in, &in->fail);
		if(st) {
			in->failed = st;
			return pl_fail(err, st, "%s", in->fail.msg);
		}
	}
	st = deliver(in, ev, &in->fail);
	if(st) {
		in->failed = st;
		return pl_fail(err, st, "%s", in->fail.msg);
	}
	return PL_OK;
}

char csvin_delimiter(const struct csvin *in)
{
	return in->delim;
}

unsigned csvin_column(const struct csvin *in)
{
	return in->column;
}

const char *csvin_column_name(const struct csvin *in)
{
	return in->column_name;
}

const struct csvin_counts *csvin_counts(const struct csvin *in)
{
	return &in->counts;
}

void csvin_free(struct csvin *in)
{
	if(!in)
		return;
	if(in->parser_ready)
		csv_free(&in->parser);
	if(in->own_fp && in->fp)
		fclose(in->fp);
	buf_release(&in->raw);
	buf_release(&in->cell);
	free(in->column_name);
	buf_release(&in->cust_name);
	buf_release(&in->cust_domain);
	free(in->name);
	free(in);
}
