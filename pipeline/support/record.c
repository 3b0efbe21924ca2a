#include "record.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

void tenant_record_init(struct tenant_record *rec)
{
	memset(rec, 0, sizeof(*rec));
}

static void row_release(struct qual_row *row)
{
	free(row->qualification);
	free(row->vetting_status);
	free(row->vetting_reason);
	free(row->vetting_created_date);
}

void tenant_record_release(struct tenant_record *rec)
{
	if(!rec)
		return;
	for(size_t i = 0; i < rec->nrows; i++)
		row_release(&rec->rows[i]);
	free(rec->rows);
	free(rec->error);
	tenant_record_init(rec);
}

/* Copy s, mapping "" to NULL; *ok cleared on allocation failure. */
static char *dup_or_null(const char *s, bool *ok)
{
	char *copy;

	if(!s || !*s)
		return NULL;
	copy = strdup(s);
	if(!copy)
		*ok = false;
	return copy;
}

enum pl_status tenant_record_add_row(struct tenant_record *rec,
				     const char *qualification,
				     const char *vetting_status,
				     const char *vetting_reason,
				     const char *vetting_created_date,
				     struct pl_err *err)
{
	struct qual_row row;
	struct qual_row *grown;
	bool ok = true;

	row.qualification = dup_or_null(qualification, &ok);
	row.vetting_status = dup_or_null(vetting_status, &ok);
	row.vetting_reason = dup_or_null(vetting_reason, &ok);
	row.vetting_created_date = dup_or_null(vetting_created_date, &ok);
	if(ok && rec->nrows == rec->_rows_cap) {
		/* Doubling: a hostile body with a million entries must not
		 * cost a million reallocations. */
		size_t cap = rec->_rows_cap ? rec->_rows_cap * 2 : 2;

		grown = realloc(rec->rows, cap * sizeof(*grown));
		if(grown) {
			rec->rows = grown;
			rec->_rows_cap = cap;
		} else {
			ok = false;
		}
	}
	if(!ok) {
		row_release(&row);
		return pl_fail(err, PL_ENOMEM, "out of memory adding row %zu "
			       "of tenant %s", rec->nrows + 1, rec->tenant_id);
	}
	rec->rows[rec->nrows++] = row;
	return PL_OK;
}

enum pl_status tenant_record_set_error(struct tenant_record *rec,
				       const char *msg, struct pl_err *err)
{
	char *copy = NULL;

	if(msg && *msg) {
		copy = strdup(msg);
		if(!copy)
			return pl_fail(err, PL_ENOMEM, "out of memory keeping "
				       "the error of tenant %s",
				       rec->tenant_id);
	}
	free(rec->error);
	rec->error = copy;
	return PL_OK;
}
