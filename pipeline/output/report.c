#include "report.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "report_impl.h"

enum report_kind { KIND_DETAIL, KIND_SUMMARY, KIND_REJECTS, KIND_TABLE };

struct report {
	struct outfile *out;
	enum report_format format;
	int excel_safe;
	uint64_t rows;
	const struct report_column *cols; /* KIND_TABLE: borrowed */
	size_t ncols;
	struct buf line;    /* the record(s) being built */
	struct buf scratch; /* CSV working space */
};

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !strcasecmp(s + len - n, suffix);
}

bool report_format_has_known_suffix(const char *path,
				    enum report_format *out)
{
	size_t len = path ? strlen(path) : 0;

	if(has_suffix(path, len, ".ndjson.gz") ||
	   has_suffix(path, len, ".jsonl.gz"))
		*out = REPORT_NDJSON_GZ;
	else if(has_suffix(path, len, ".ndjson") ||
		has_suffix(path, len, ".jsonl"))
		*out = REPORT_NDJSON;
	else if(has_suffix(path, len, ".csv"))
		*out = REPORT_CSV;
	else
		return false;
	return true;
}

enum report_format report_format_from_path(const char *path)
{
	enum report_format fmt;

	return report_format_has_known_suffix(path, &fmt) ? fmt : REPORT_CSV;
}

enum pl_status report_format_parse(const char *name, enum report_format *out,
				   struct pl_err *err)
{
	static const enum report_format all[] = {REPORT_CSV, REPORT_NDJSON,
						 REPORT_NDJSON_GZ};

	for(size_t i = 0; name && i < sizeof(all) / sizeof(all[0]); i++) {
		if(!strcmp(name, report_format_name(all[i]))) {
			*out = all[i];
			return PL_OK;
		}
	}
	return pl_fail(err, PL_EUSAGE, "unknown format '%s' (use csv, ndjson "
		       "or ndjson.gz)", name ? name : "");
}

const char *report_format_name(enum report_format fmt)
{
	switch(fmt) {
	case REPORT_CSV: return "csv";
	case REPORT_NDJSON: return "ndjson";
	case REPORT_NDJSON_GZ: return "ndjson.gz";
	}
	return "csv";
}

/*
 * Hand the built record(s) to the outfile and reset the buffer; built is
 * the row builder's status (PL_ENOMEM when memory ran out).
 */
static enum pl_status emit(struct report *r, enum pl_status built,
			   uint64_t rows, struct pl_err *err)
{
	enum pl_status rc;

	if(built) {
		buf_reset(&r->line);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	rc = outfile_write(r->out, r->line.data, r->line.len, err);
	buf_reset(&r->line);
	if(!rc)
		r->rows += rows;
	return rc;
}

static enum pl_status open_report(const char *path, enum report_kind kind,
				  enum report_format format, int excel_safe,
				  const struct report_column *cols,
				  size_t ncols, struct report **out,
				  struct pl_err *err)
{
	struct report *r;
	enum pl_status rc;
	enum pl_status bad = PL_OK;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if(!r)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	buf_init(&r->line, 0);
	buf_init(&r->scratch, 0);
	r->format = format;
	r->excel_safe = format == REPORT_CSV && excel_safe;
	r->cols = cols;
	r->ncols = ncols;
	rc = outfile_open(path, format == REPORT_NDJSON_GZ, &r->out, err);
	if(rc) {
		free(r);
		return rc;
	}
	/* CSV reports carry their header even when no row follows. */
	if(format == REPORT_CSV) {
		if(kind == KIND_DETAIL)
			bad = report_csv_detail_header(&r->line);
		else if(kind == KIND_SUMMARY)
			bad = report_csv_summary_header(&r->line);
		else if(kind == KIND_TABLE)
			bad = report_csv_table_header(&r->line, cols, ncols);
		else
			bad = report_csv_rejects_header(&r->line);
		rc = emit(r, bad, 0, err);
		if(rc) {
			report_abort(r);
			return rc;
		}
	}
	*out = r;
	return PL_OK;
}

enum pl_status report_open_detail(const char *path,
				  const struct report_options *opt,
				  struct report **out, struct pl_err *err)
{
	return open_report(path, KIND_DETAIL, opt->format, opt->excel_safe,
			   NULL, 0, out, err);
}

enum pl_status report_open_summary(const char *path,
				   const struct report_options *opt,
				   struct report **out, struct pl_err *err)
{
	return open_report(path, KIND_SUMMARY, opt->format, opt->excel_safe,
			   NULL, 0, out, err);
}

enum pl_status report_open_rejects(const char *path, int excel_safe,
				   struct report **out, struct pl_err *err)
{
	return open_report(path, KIND_REJECTS, REPORT_CSV, excel_safe, NULL,
			   0, out, err);
}

enum pl_status report_open_table(const char *path,
				 const struct report_options *opt,
				 const struct report_column *cols, size_t ncols,
				 struct report **out, struct pl_err *err)
{
	return open_report(path, KIND_TABLE, opt->format, opt->excel_safe,
			   cols, ncols, out, err);
}

enum pl_status report_write_row(struct report *r, const char *const *values,
				struct pl_err *err)
{
	enum pl_status bad;

	if(r->format == REPORT_CSV)
		bad = report_csv_table_row(&r->line, &r->scratch, r->cols,
					   r->ncols, values, r->excel_safe);
	else
		bad = report_ndjson_table_row(&r->line, r->cols, r->ncols,
					      values);
	return emit(r, bad, 1, err);
}

enum pl_status report_write_tenant(struct report *r,
				   const struct tenant_record *rec,
				   struct pl_err *err)
{
	enum pl_status bad;

	if(r->format == REPORT_CSV)
		bad = report_csv_detail_rows(&r->line, &r->scratch, rec,
					     r->excel_safe);
	else
		bad = report_ndjson_detail_rows(&r->line, rec);
	return emit(r, bad, rec->nrows, err);
}

enum pl_status report_write_summary_row(struct report *r,
					const char *qualification,
					const char *vetting_status,
					unsigned long count,
					struct pl_err *err)
{
	enum pl_status bad;

	if(r->format == REPORT_CSV)
		bad = report_csv_summary_row(&r->line, &r->scratch,
					     qualification, vetting_status,
					     count, r->excel_safe);
	else
		bad = report_ndjson_summary_row(&r->line, qualification,
						vetting_status, count);
	return emit(r, bad, 1, err);
}

enum pl_status report_write_reject(struct report *r, unsigned long line,
				   const char *value, size_t value_len,
				   const char *reason, struct pl_err *err)
{
	enum pl_status bad = report_csv_reject_row(&r->line, &r->scratch, line, value,
					value_len, reason, r->excel_safe);

	return emit(r, bad, 1, err);
}

static void report_free(struct report *r)
{
	buf_release(&r->line);
	buf_release(&r->scratch);
	free(r);
}

enum pl_status report_finish(struct report *r, struct pl_err *err)
{
	return outfile_finish(r->out, err);
}

bool report_finished_stats(const struct report *r, struct report_stats *stats)
{
	const struct outfile_stats *fs = outfile_finished_stats(r->out);

	if(!fs)
		return false;
	stats->rows = r->rows;
	stats->file = *fs;
	return true;
}

enum pl_status report_commit(struct report *r, struct report_stats *stats,
			     struct pl_err *err)
{
	struct outfile_stats fs;
	enum pl_status rc;

	rc = outfile_commit(r->out, &fs, err);
	if(!rc && stats) {
		stats->rows = r->rows;
		stats->file = fs;
	}
	report_free(r);
	return rc;
}

void report_abort(struct report *r)
{
	if(!r)
		return;
	outfile_abort(r->out);
	report_free(r);
}
