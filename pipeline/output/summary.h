/*
 * summary.h: counts of tenants by (qualification, vetting status).
 *
 * A tenant counts once per distinct pair among its rows. Qualification is
 * empty (NULL) for None, NotFound and Error. Entries come out sorted by
 * qualification then status, bytewise, empty first.
 */
#ifndef QR_SUMMARY_H
#define QR_SUMMARY_H

#include <stddef.h>

#include "record.h"

struct summary_entry {
	const char *qualification;  /* NULL = empty */
	const char *vetting_status; /* NULL = empty (StateOwnedEntity) */
	unsigned long count;
};

struct summary;

struct summary *summary_new(void);
void summary_free(struct summary *s); /* NULL is a no-op */
/* 0, or -1 on allocation failure. */
int summary_add_tenant(struct summary *s, const struct tenant_record *rec);
/*
 * The entries, sorted; *n set to their number. The array and its strings
 * are owned by s and valid until the next summary_add_tenant or free.
 * NULL with *n == 0 when empty (or on allocation failure: then returns
 * NULL and *n is (size_t)-1).
 */
const struct summary_entry *summary_sorted(struct summary *s, size_t *n);

#endif
