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
#include "status.h"

struct summary_entry {
	const char *qualification;  /* NULL = empty */
	const char *vetting_status; /* NULL = empty (StateOwnedEntity) */
	unsigned long count;
};

struct summary;

struct summary *summary_new(void);
void summary_free(struct summary *s); /* NULL is a no-op */
/* Count rec's pairs. PL_ENOMEM leaves every count as it was. */
enum pl_status summary_add_tenant(struct summary *s,
				  const struct tenant_record *rec,
				  struct pl_err *err);
/*
 * The entries, sorted: *out and their number *n (*out NULL when there are
 * none). The array and its strings are owned by s and valid until the
 * next summary_add_tenant or free. PL_ENOMEM: *out NULL and *n 0.
 */
enum pl_status summary_sorted(struct summary *s,
			      const struct summary_entry **out, size_t *n,
			      struct pl_err *err);

#endif
