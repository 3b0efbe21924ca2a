#include "record.h"

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
static char *dup_or_null(const char *s, int *ok)
{
	char *copy;

	if(!s || !*s)
		return NULL;
	copy = strdup(s);
	if(!copy)
		*ok = 0;
	return copy;
}

int tenant_record_add_row(struct tenant_record *rec, const char *qualification,
			  const char *vetting_status, const char *vetting_reason,
			  const char *vetting_created_date)
{
	struct qual_row row;
	struct qual_row *grown;
	int ok = 1;

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
			ok = 0;
		}
	}
	if(!ok) {
		row_release(&row);
		return -1;
	}
	rec->rows[rec->nrows++] = row;
	return 0;
}

int tenant_record_set_error(struct tenant_record *rec, const char *msg)
{
	char *copy = NULL;

	if(msg && *msg) {
		copy = strdup(msg);
		if(!copy)
			return -1;
	}
	free(rec->error);
	rec->error = copy;
	return 0;
}
