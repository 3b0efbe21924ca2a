#include "changes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "guid.h"

#define NO_OFFSET UINT64_MAX
#define MAX_SINKS 2
/* Tenants with at most this many rows on both sides pair them without
 * allocating. */
#define SMALL_ROWS 16
#define UNPAIRED ((size_t)-1)

static const char *const kind_names[CHANGE_KINDS] = {
	"new_tenant", "gone_tenant", "added", "removed", "status_changed",
	"reason_changed", "unknown"};

const char *changes_kind_name(enum change_kind kind)
{
	return (unsigned)kind < CHANGE_KINDS ? kind_names[kind] : "unknown";
}

static const struct report_column columns[] = {
	{"tenant_id", false},
	{"qualification", true},
	{"change", false},
	{"previous_status", true},
	{"vetting_status", true},
	{"previous_reason", true},
	{"vetting_reason", true},
	{"previous_created_date", true},
	{"vetting_created_date", true}};

enum pl_status changes_report_open(const char *path,
				   const struct report_options *opt,
				   struct report **out, struct pl_err *err)
{
	return report_open_table(path, opt, columns,
				 sizeof(columns) / sizeof(columns[0]), out,
				 err);
}

enum pl_status changes_report_write(struct report *r,
				    const struct change_row *row,
				    struct pl_err *err)
{
	const char *values[] = {
		row->tenant_id, row->qualification,
		changes_kind_name(row->change), row->previous_status,
		row->vetting_status, row->previous_reason, row->vetting_reason,
		row->previous_created_date, row->vetting_created_date};

	return report_write_row(r, values, err);
}

static enum pl_status report_sink_row(void *ctx, const struct change_row *row,
				      struct pl_err *err)
{
	return changes_report_write(ctx, row, err);
}

struct changes_sink changes_report_sink(struct report *r)
{
	return (struct changes_sink){report_sink_row, r};
}

/* ---- the rules --------------------------------------------------------- */

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static bool same(const char *a, const char *b)
{
	return !cmp_str(a, b);
}

static bool is_error(const struct tenant_record *rec)
{
	return rec->outcome == OUTCOME_FAILED;
}

/* The row an Error tenant is written with (its only one). */
static const struct qual_row *error_row(const struct tenant_record *rec)
{
	static const struct qual_row fallback = {NULL, "Error", NULL, NULL};

	for(size_t i = 0; i < rec->nrows; i++)
		if(!rec->rows[i].qualification &&
		   same(rec->rows[i].vetting_status, "Error"))
			return &rec->rows[i];
	return &fallback;
}

static enum pl_status emit(const struct changes_sink *sink,
			   const char *tenant, enum change_kind kind,
			   const char *qualification,
			   const struct qual_row *prev,
			   const struct qual_row *cur, struct pl_err *err)
{
	struct change_row row;

	row.tenant_id = tenant;
	row.qualification = qualification;
	row.change = kind;
	row.previous_status = prev ? prev->vetting_status : NULL;
	row.previous_reason = prev ? prev->vetting_reason : NULL;
	row.previous_created_date = prev ? prev->vetting_created_date : NULL;
	row.vetting_status = cur ? cur->vetting_status : NULL;
	row.vetting_reason = cur ? cur->vetting_reason : NULL;
	row.vetting_created_date = cur ? cur->vetting_created_date : NULL;
	return sink->row(sink->ctx, &row, err);
}

/* A row to pair: which row of its side, and that side's pairing. */
struct ent {
	const struct qual_row *row;
	size_t idx;
};

static int cmp_exact(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = cmp_str(x->row->qualification, y->row->qualification);

	if(!c)
		c = cmp_str(x->row->vetting_status, y->row->vetting_status);
	if(!c)
		c = cmp_str(x->row->vetting_reason, y->row->vetting_reason);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_qual(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	int c = cmp_str(x->row->qualification, y->row->qualification);

	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/*
 * Pair the still unpaired qualification rows of both sides whose keys
 * (cmp without the index) are equal, the k-th of a key in one side with
 * the k-th in the other, in row order: sorting by (key, index) lines the
 * groups up, and one merge walk pairs them.
 */
static void pair_by(const struct tenant_record *prev,
		    const struct tenant_record *cur, size_t *pmatch,
		    size_t *cmatch, struct ent *pe, struct ent *ce,
		    int (*cmp)(const void *, const void *))
{
	size_t np = 0, nc = 0, i = 0, j = 0;

	for(size_t k = 0; k < prev->nrows; k++)
		if(prev->rows[k].qualification && pmatch[k] == UNPAIRED)
			pe[np++] = (struct ent){&prev->rows[k], k};
	for(size_t k = 0; k < cur->nrows; k++)
		if(cur->rows[k].qualification && cmatch[k] == UNPAIRED)
			ce[nc++] = (struct ent){&cur->rows[k], k};
	qsort(pe, np, sizeof(*pe), cmp);
	qsort(ce, nc, sizeof(*ce), cmp);
	while(i < np && j < nc) {
		struct ent a = pe[i], b = ce[j];
		int c;

		/* the key alone: compare with equal indexes */
		a.idx = b.idx = 0;
		c = cmp(&a, &b);
		if(c < 0) {
			i++;
		} else if(c > 0) {
			j++;
		} else {
			pmatch[pe[i].idx] = ce[j].idx;
			cmatch[ce[j].idx] = pe[i].idx;
			i++;
			j++;
		}
	}
}

static bool has_qualifications(const struct tenant_record *rec)
{
	for(size_t i = 0; i < rec->nrows; i++)
		if(rec->rows[i].qualification)
			return true;
	return false;
}

/* Neither side has a qualification: compare their None / NotFound. */
static enum pl_status diff_answers(const struct tenant_record *prev,
				   const struct tenant_record *cur,
				   const struct changes_sink *sink,
				   struct pl_err *err)
{
	static const struct qual_row none = {NULL, "None", NULL, NULL};
	const struct qual_row *p = prev->nrows ? &prev->rows[0] : &none;
	const struct qual_row *c = cur->nrows ? &cur->rows[0] : &none;

	if(same(p->vetting_status, c->vetting_status) &&
	   same(p->vetting_reason, c->vetting_reason))
		return PL_OK;
	return emit(sink, cur->tenant_id,
		    same(p->vetting_status, c->vetting_status) ? CHANGE_REASON
							       : CHANGE_STATUS,
		    NULL, p, c, err);
}

/* Both answered: pair qualification rows, then emit in report order. */
static enum pl_status diff_qualifications(const struct tenant_record *prev,
					  const struct tenant_record *cur,
					  const struct changes_sink *sink,
					  struct pl_err *err)
{
	size_t small_p[SMALL_ROWS], small_c[SMALL_ROWS];
	struct ent small_pe[SMALL_ROWS], small_ce[SMALL_ROWS];
	size_t *pmatch = small_p, *cmatch = small_c;
	struct ent *pe = small_pe, *ce = small_ce;
	bool heap = prev->nrows > SMALL_ROWS || cur->nrows > SMALL_ROWS;
	enum pl_status st = PL_OK;

	if(heap) {
		pmatch = malloc((prev->nrows + 1) * sizeof(*pmatch));
		cmatch = malloc((cur->nrows + 1) * sizeof(*cmatch));
		pe = malloc((prev->nrows + 1) * sizeof(*pe));
		ce = malloc((cur->nrows + 1) * sizeof(*ce));
		if(!pmatch || !cmatch || !pe || !ce) {
			st = pl_fail(err, PL_ENOMEM, "out of memory");
			goto out;
		}
	}
	for(size_t i = 0; i < prev->nrows; i++)
		pmatch[i] = UNPAIRED;
	for(size_t j = 0; j < cur->nrows; j++)
		cmatch[j] = UNPAIRED;
	pair_by(prev, cur, pmatch, cmatch, pe, ce, cmp_exact);
	pair_by(prev, cur, pmatch, cmatch, pe, ce, cmp_qual);

	for(size_t j = 0; j < cur->nrows && !st; j++) {
		const struct qual_row *c = &cur->rows[j], *p;

		if(!c->qualification)
			continue; /* None / NotFound beside qualifications */
		if(cmatch[j] == UNPAIRED) {
			st = emit(sink, cur->tenant_id, CHANGE_ADDED,
				  c->qualification, NULL, c, err);
			continue;
		}
		p = &prev->rows[cmatch[j]];
		if(!same(p->vetting_status, c->vetting_status))
			st = emit(sink, cur->tenant_id, CHANGE_STATUS,
				  c->qualification, p, c, err);
		else if(!same(p->vetting_reason, c->vetting_reason))
			st = emit(sink, cur->tenant_id, CHANGE_REASON,
				  c->qualification, p, c, err);
	}
	for(size_t i = 0; i < prev->nrows && !st; i++) {
		const struct qual_row *p = &prev->rows[i];

		if(p->qualification && pmatch[i] == UNPAIRED)
			st = emit(sink, cur->tenant_id, CHANGE_REMOVED,
				  p->qualification, p, NULL, err);
	}
out:
	if(heap) {
		free(pmatch);
		free(cmatch);
		free(pe);
		free(ce);
	}
	return st;
}

enum pl_status changes_diff(const struct tenant_record *prev,
			    const struct tenant_record *cur,
			    const struct changes_sink *sink,
			    struct pl_err *err)
{
	enum pl_status st = PL_OK;

	if(!prev && !cur)
		return PL_OK;
	if(!prev) {
		for(size_t j = 0; j < cur->nrows && !st; j++)
			st = emit(sink, cur->tenant_id, CHANGE_NEW_TENANT,
				  cur->rows[j].qualification, NULL,
				  &cur->rows[j], err);
		return st;
	}
	if(!cur) {
		for(size_t i = 0; i < prev->nrows && !st; i++)
			st = emit(sink, prev->tenant_id, CHANGE_GONE_TENANT,
				  prev->rows[i].qualification, &prev->rows[i],
				  NULL, err);
		return st;
	}
	if(is_error(prev) && is_error(cur))
		return emit(sink, cur->tenant_id, CHANGE_UNKNOWN, NULL,
			    error_row(prev), error_row(cur), err);
	if(is_error(cur)) {
		for(size_t i = 0; i < prev->nrows && !st; i++)
			st = emit(sink, cur->tenant_id, CHANGE_UNKNOWN,
				  prev->rows[i].qualification, &prev->rows[i],
				  error_row(cur), err);
		return st;
	}
	if(is_error(prev)) {
		for(size_t j = 0; j < cur->nrows && !st; j++)
			st = emit(sink, cur->tenant_id, CHANGE_UNKNOWN,
				  cur->rows[j].qualification, error_row(prev),
				  &cur->rows[j], err);
		return st;
	}
	if(!has_qualifications(prev) && !has_qualifications(cur))
		return diff_answers(prev, cur, sink, err);
	return diff_qualifications(prev, cur, sink, err);
}

/* ---- a run against a previous report ----------------------------------- */

struct changes {
	struct previous *prev;
	const struct tenantset *current;
	uint64_t *offsets;          /* per current tenant, or NO_OFFSET */
	struct summary *prev_summary;
	uint64_t prev_tenants, kept;
	struct tenant_record loaded;
	struct changes_sink sinks[MAX_SINKS];
	size_t nsinks;
	struct changes_sink fan;    /* counts, then every sink */
	uint64_t count, by_kind[CHANGE_KINDS];
};

static enum pl_status fan_out(void *ctx, const struct change_row *row,
			      struct pl_err *err)
{
	struct changes *c = ctx;
	enum pl_status st = PL_OK;

	for(size_t i = 0; i < c->nsinks && !st; i++)
		st = c->sinks[i].row(c->sinks[i].ctx, row, err);
	if(!st) {
		c->count++;
		c->by_kind[row->change]++;
	}
	return st;
}

static enum pl_status tenant_bytes(const struct previous *prev,
				   const struct tenant_record *rec,
				   uint8_t id[16], struct pl_err *err)
{
	if(guid_canonicalize(rec->tenant_id, strlen(rec->tenant_id), NULL,
			     id))
		return pl_fail(err, PL_EINTERNAL, "%s: tenant %s: not a GUID",
			       previous_detail_path(prev), rec->tenant_id);
	return PL_OK;
}

enum pl_status changes_new(struct previous *prev,
			   const struct tenantset *current,
			   struct changes **out, struct pl_err *err)
{
	struct changes *c = calloc(1, sizeof(*c));
	size_t n = tenantset_count(current);
	struct tenant_record rec;
	enum pl_status st;

	*out = NULL;
	tenant_record_init(&rec);
	if(!c)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	c->prev = prev;
	c->current = current;
	tenant_record_init(&c->loaded);
	c->fan = (struct changes_sink){fan_out, c};
	c->offsets = malloc((n ? n : 1) * sizeof(*c->offsets));
	c->prev_summary = summary_new();
	if(!c->offsets || !c->prev_summary) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto fail;
	}
	for(size_t i = 0; i < n; i++)
		c->offsets[i] = NO_OFFSET;
	st = previous_rewind(prev, err);
	while(!st) {
		uint64_t off;
		uint8_t id[16];
		size_t index;
		bool end;

		st = previous_next(prev, &rec, &off, &end, err);
		if(st || end)
			break;
		st = tenant_bytes(prev, &rec, id, err);
		if(st)
			break;
		c->prev_tenants++;
		st = summary_add_tenant(c->prev_summary, &rec, err);
		if(st)
			break;
		if(!tenantset_find(current, id, &index))
			continue;
		if(c->offsets[index] != NO_OFFSET) {
			st = pl_fail(err, PL_EINPUT, "%s: tenant %s appears "
				     "twice, at bytes %llu and %llu (a "
				     "tenant's rows must be consecutive, as "
				     "qualreport writes them)",
				     previous_detail_path(prev),
				     rec.tenant_id,
				     (unsigned long long)c->offsets[index],
				     (unsigned long long)off);
			break;
		}
		c->offsets[index] = off;
		c->kept++;
	}
	tenant_record_release(&rec);
	if(st)
		goto fail;
	*out = c;
	return PL_OK;
fail:
	changes_free(c);
	return st;
}

void changes_free(struct changes *c)
{
	if(!c)
		return;
	tenant_record_release(&c->loaded);
	summary_free(c->prev_summary);
	free(c->offsets);
	free(c);
}

enum pl_status changes_add_sink(struct changes *c,
				const struct changes_sink *sink,
				struct pl_err *err)
{
	if(c->nsinks == MAX_SINKS)
		return pl_fail(err, PL_EINTERNAL, "internal error: too many "
			       "change sinks");
	c->sinks[c->nsinks++] = *sink;
	return PL_OK;
}

enum pl_status changes_add_tenant(struct changes *c, size_t index,
				  const struct tenant_record *rec,
				  struct pl_err *err)
{
	uint64_t off;
	enum pl_status st;

	if(index >= tenantset_count(c->current))
		return pl_fail(err, PL_EINTERNAL, "internal error: tenant "
			       "%zu of %zu", index,
			       tenantset_count(c->current));
	off = c->offsets[index];
	if(off == NO_OFFSET)
		return changes_diff(NULL, rec, &c->fan, err);
	st = previous_load(c->prev, off, &c->loaded, err);
	if(!st && strcmp(c->loaded.tenant_id, rec->tenant_id))
		st = pl_fail(err, PL_EINPUT, "%s: tenant %s expected at byte "
			     "%llu, found %s (changed while being read?)",
			     previous_detail_path(c->prev), rec->tenant_id,
			     (unsigned long long)off, c->loaded.tenant_id);
	if(!st)
		st = changes_diff(&c->loaded, rec, &c->fan, err);
	tenant_record_release(&c->loaded);
	return st;
}

enum pl_status changes_add_gone(struct changes *c, struct pl_err *err)
{
	struct tenant_record rec;
	enum pl_status st;

	tenant_record_init(&rec);
	st = previous_rewind(c->prev, err);
	while(!st) {
		uint64_t off;
		uint8_t id[16];
		bool end;

		st = previous_next(c->prev, &rec, &off, &end, err);
		if(st || end)
			break;
		st = tenant_bytes(c->prev, &rec, id, err);
		if(!st && !tenantset_has(c->current, id))
			st = changes_diff(&rec, NULL, &c->fan, err);
	}
	tenant_record_release(&rec);
	return st;
}

uint64_t changes_count(const struct changes *c)
{
	return c->count;
}

uint64_t changes_count_kind(const struct changes *c, enum change_kind kind)
{
	return (unsigned)kind < CHANGE_KINDS ? c->by_kind[kind] : 0;
}

uint64_t changes_previous_tenants(const struct changes *c)
{
	return c->prev_tenants;
}

uint64_t changes_kept_tenants(const struct changes *c)
{
	return c->kept;
}

struct summary *changes_previous_summary(struct changes *c)
{
	return c->prev_summary;
}
