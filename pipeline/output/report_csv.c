#include "report_impl.h"

#include <stdio.h>
#include <string.h>

#include <csv.h>

/* Characters that make RFC 4180 quoting necessary anywhere in a field. */
static bool needs_quotes(const char *s, size_t n)
{
	if(n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' ||
		 s[n - 1] == '\t'))
		return true;
	for(size_t i = 0; i < n; i++)
		if(s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			return true;
	return false;
}

/* What a spreadsheet would run as a formula (or DDE) when opening. */
static bool looks_like_formula(const char *s, size_t n)
{
	return n && (s[0] == '=' || s[0] == '+' || s[0] == '-' ||
		     s[0] == '@' || s[0] == '\t' || s[0] == '\r');
}

static enum pl_status put_field(struct buf *b, const char *s, size_t n)
{
	size_t need;

	if(!needs_quotes(s, n))
		return buf_add(b, s, n);
	/* libcsv's writer: surrounding quotes, inner quotes doubled */
	need = 2 * n + 2;
	if(buf_grow(b, need))
		return PL_ENOMEM;
	b->len += csv_write(b->data + b->len, need, s, n);
	b->data[b->len] = '\0'; /* csv_write does not add buf's NUL */
	return PL_OK;
}

/*
 * One field; s may be NULL (empty). With excel_safe (free-text fields
 * only) a formula-looking value gets a leading single quote.
 */
static enum pl_status field(struct buf *b, struct buf *scratch,
			    const char *s, size_t n, int excel_safe)
{
	if(!s)
		return PL_OK;
	if(excel_safe && looks_like_formula(s, n)) {
		buf_reset(scratch);
		if(buf_addch(scratch, '\'') || buf_add(scratch, s, n))
			return PL_ENOMEM;
		return put_field(b, scratch->data, scratch->len);
	}
	return put_field(b, s, n);
}

static enum pl_status text(struct buf *b, struct buf *scratch,
			   const char *s, int excel_safe)
{
	return field(b, scratch, s, s ? strlen(s) : 0, excel_safe);
}

static enum pl_status comma(struct buf *b)
{
	return buf_add(b, ",", 1);
}

enum pl_status report_csv_detail_header(struct buf *b)
{
	return buf_addstr(b, "tenant_id,qualification,vetting_status,"
				    "vetting_reason,vetting_created_date,"
				    "http_status,attempts,error,request_id\n");
}

enum pl_status report_csv_summary_header(struct buf *b)
{
	return buf_addstr(b, "qualification,vetting_status,count\n");
}

enum pl_status report_csv_rejects_header(struct buf *b)
{
	return buf_addstr(b, "line,value,reason\n");
}

enum pl_status report_csv_table_header(struct buf *b,
			    const struct report_column *cols, size_t ncols)
{
	for(size_t i = 0; i < ncols; i++)
		if((i && comma(b)) || buf_addstr(b, cols[i].name))
			return PL_ENOMEM;
	return buf_add(b, "\n", 1);
}

enum pl_status report_csv_table_row(struct buf *b, struct buf *scratch,
			 const struct report_column *cols, size_t ncols,
			 const char *const *values, int excel_safe)
{
	for(size_t i = 0; i < ncols; i++)
		if((i && comma(b)) ||
		   text(b, scratch, values[i],
			excel_safe && cols[i].free_text))
			return PL_ENOMEM;
	return buf_add(b, "\n", 1);
}

enum pl_status report_csv_detail_rows(struct buf *b, struct buf *scratch,
			   const struct tenant_record *rec, int excel_safe)
{
	char nums[64];

	snprintf(nums, sizeof(nums), ",%ld,%u,", rec->http_status,
		 rec->attempts);
	for(size_t i = 0; i < rec->nrows; i++) {
		const struct qual_row *row = &rec->rows[i];

		if(text(b, scratch, rec->tenant_id, 0) || comma(b) ||
		   text(b, scratch, row->qualification, excel_safe) ||
		   comma(b) ||
		   text(b, scratch, row->vetting_status, excel_safe) ||
		   comma(b) ||
		   text(b, scratch, row->vetting_reason, excel_safe) ||
		   comma(b) ||
		   text(b, scratch, row->vetting_created_date, excel_safe) ||
		   buf_addstr(b, nums) ||
		   text(b, scratch, rec->error, excel_safe) || comma(b) ||
		   text(b, scratch, rec->request_id, 0) ||
		   buf_add(b, "\n", 1))
			return PL_ENOMEM;
	}
	return PL_OK;
}

enum pl_status report_csv_summary_row(struct buf *b, struct buf *scratch,
			   const char *qualification,
			   const char *vetting_status, unsigned long count,
			   int excel_safe)
{
	char num[32];

	snprintf(num, sizeof(num), ",%lu\n", count);
	if(text(b, scratch, qualification, excel_safe) || comma(b) ||
	   text(b, scratch, vetting_status, excel_safe) ||
	   buf_addstr(b, num))
		return PL_ENOMEM;
	return PL_OK;
}

enum pl_status report_csv_reject_row(struct buf *b, struct buf *scratch,
			  unsigned long line, const char *value,
			  size_t value_len, const char *reason,
			  int excel_safe)
{
	char num[32];

	snprintf(num, sizeof(num), "%lu,", line);
	if(buf_addstr(b, num) ||
	   field(b, scratch, value ? value : "", value ? value_len : 0,
		 excel_safe) ||
	   comma(b) || text(b, scratch, reason, excel_safe) ||
	   buf_add(b, "\n", 1))
		return PL_ENOMEM;
	return PL_OK;
}
