#include "summary.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* One (qualification, status) pair; NULL stands for empty. */
struct pair {
	char *qualification;
	char *vetting_status;
	size_t hash;
	unsigned long count;
	unsigned long stamp; /* serial of the last tenant counted here */
};

/*
 * Pairs live in an array; an open-addressing table (linear probing, load
 * at most 1/2) maps a pair to its index + 1, 0 meaning an empty slot.
 */
struct summary {
	struct pair *pairs;
	size_t npairs, cap;
	size_t *table;
	size_t tcap; /* power of two */
	unsigned long serial;
	struct summary_entry *sorted;
	size_t nsorted;
	bool dirty; /* sorted is stale */
};

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

/* FNV-1a over both strings, with a separator no UTF-8 text contains. */
static size_t pair_hash(const char *q, const char *st)
{
	uint64_t h = 14695981039346656037u;
	const unsigned char *p;

	for(p = (const unsigned char *)q; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	h = (h ^ 0xff) * 1099511628211u;
	for(p = (const unsigned char *)st; *p; p++)
		h = (h ^ *p) * 1099511628211u;
	return (size_t)h;
}

struct summary *summary_new(void)
{
	struct summary *s = calloc(1, sizeof(*s));

	if(!s)
		return NULL;
	s->tcap = 64;
	s->table = calloc(s->tcap, sizeof(*s->table));
	if(!s->table) {
		free(s);
		return NULL;
	}
	return s;
}

void summary_free(struct summary *s)
{
	if(!s)
		return;
	for(size_t i = 0; i < s->npairs; i++) {
		free(s->pairs[i].qualification);
		free(s->pairs[i].vetting_status);
	}
	free(s->pairs);
	free(s->table);
	free(s->sorted);
	free(s);
}

/* The table slot holding (q, st), or the empty slot where it belongs. */
static size_t probe(const struct summary *s, const char *q, const char *st,
		    size_t hash)
{
	size_t mask = s->tcap - 1;
	size_t i = hash & mask;

	while(s->table[i]) {
		const struct pair *p = &s->pairs[s->table[i] - 1];

		if(p->hash == hash &&
		   !strcmp(str_or_empty(p->qualification), q) &&
		   !strcmp(str_or_empty(p->vetting_status), st))
			return i;
		i = (i + 1) & mask;
	}
	return i;
}

static bool grow_table(struct summary *s)
{
	size_t tcap = s->tcap * 2;
	size_t *table = calloc(tcap, sizeof(*table));

	if(!table)
		return false;
	free(s->table);
	s->table = table;
	s->tcap = tcap;
	for(size_t i = 0; i < s->npairs; i++) {
		size_t j = s->pairs[i].hash & (tcap - 1);

		while(table[j])
			j = (j + 1) & (tcap - 1);
		table[j] = i + 1;
	}
	return true;
}

/* A copy of s, NULL for ""; *ok cleared when the copy failed. */
static char *dup_nonempty(const char *s, bool *ok)
{
	char *copy;

	if(!*s)
		return NULL;
	copy = strdup(s);
	if(!copy)
		*ok = false;
	return copy;
}

/* The pair's index in *at, inserting it with count 0; false on ENOMEM. */
static bool find_or_add(struct summary *s, const char *qual,
			const char *status, size_t *at)
{
	const char *q = str_or_empty(qual), *st = str_or_empty(status);
	size_t hash = pair_hash(q, st);
	size_t slot = probe(s, q, st, hash);
	struct pair p;
	bool ok = true;

	if(s->table[slot]) {
		*at = s->table[slot] - 1;
		return true;
	}
	if((s->npairs + 1) * 2 > s->tcap) {
		if(!grow_table(s))
			return false;
		slot = probe(s, q, st, hash);
	}
	if(s->npairs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct pair *grown = realloc(s->pairs, cap * sizeof(*grown));

		if(!grown)
			return false;
		s->pairs = grown;
		s->cap = cap;
	}
	p.qualification = dup_nonempty(q, &ok);
	p.vetting_status = dup_nonempty(st, &ok);
	if(!ok) {
		free(p.qualification);
		free(p.vetting_status);
		return false;
	}
	p.hash = hash;
	p.count = 0;
	p.stamp = 0;
	s->pairs[s->npairs] = p;
	s->table[slot] = ++s->npairs;
	*at = s->npairs - 1;
	return true;
}

enum pl_status summary_add_tenant(struct summary *s,
				  const struct tenant_record *rec,
				  struct pl_err *err)
{
	size_t at;

	/*
	 * First make sure every pair exists (the only step that allocates),
	 * then count: a failure leaves the counts as they were; pairs left
	 * at count 0 are never listed.
	 */
	for(size_t i = 0; i < rec->nrows; i++)
		if(!find_or_add(s, rec->rows[i].qualification,
				rec->rows[i].vetting_status, &at))
			return pl_fail(err, PL_ENOMEM, "out of memory counting "
				       "tenant %s for the summary",
				       rec->tenant_id);
	/* The stamp makes a tenant count once per distinct pair. */
	s->serial++;
	for(size_t i = 0; i < rec->nrows; i++) {
		struct pair *p;

		find_or_add(s, rec->rows[i].qualification,
			    rec->rows[i].vetting_status, &at);
		p = &s->pairs[at];
		if(p->stamp != s->serial) {
			p->stamp = s->serial;
			p->count++;
			s->dirty = true;
		}
	}
	return PL_OK;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct summary_entry *x = a, *y = b;
	int c = strcmp(str_or_empty(x->qualification),
		       str_or_empty(y->qualification));

	if(c)
		return c;
	return strcmp(str_or_empty(x->vetting_status),
		      str_or_empty(y->vetting_status));
}

enum pl_status summary_sorted(struct summary *s,
			      const struct summary_entry **out, size_t *n,
			      struct pl_err *err)
{
	struct summary_entry *sorted;
	size_t count = 0;

	if(!s->dirty) {
		*out = s->sorted;
		*n = s->nsorted;
		return PL_OK;
	}
	for(size_t i = 0; i < s->npairs; i++)
		count += s->pairs[i].count > 0;
	sorted = count ? malloc(count * sizeof(*sorted)) : NULL;
	if(count && !sorted) {
		*out = NULL;
		*n = 0;
		return pl_fail(err, PL_ENOMEM, "out of memory sorting the "
			       "summary");
	}
	count = 0;
	for(size_t i = 0; i < s->npairs; i++) {
		if(!s->pairs[i].count)
			continue;
		sorted[count].qualification = s->pairs[i].qualification;
		sorted[count].vetting_status = s->pairs[i].vetting_status;
		sorted[count].count = s->pairs[i].count;
		count++;
	}
	/* strcmp orders bytes as unsigned char, and "" sorts first */
	if(count)
		qsort(sorted, count, sizeof(*sorted), entry_cmp);
	free(s->sorted);
	s->sorted = sorted;
	s->nsorted = count;
	s->dirty = false;
	*out = sorted;
	*n = count;
	return PL_OK;
}
