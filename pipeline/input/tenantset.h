/*
 * tenantset.h: the de-duplicated tenant list, in first-seen order.
 *
 * IDs are kept as their 16 raw bytes in one contiguous array (insertion
 * order, which is input order), indexed by an open-addressing hash table of
 * 32-bit positions: about 16 + 8 bytes per tenant at the table's load
 * factor, no per-entry allocation. The pipeline reads the whole input into
 * it first, so it knows the total before fetching.
 */
#ifndef QR_TENANTSET_H
#define QR_TENANTSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct tenantset;

struct tenantset *tenantset_new(void);
void tenantset_free(struct tenantset *set); /* NULL is a no-op */
/* Append id unless present; *added says which. PL_ENOMEM, or PL_ELIMIT
 * past 4,294,967,294 IDs: the set is unchanged. */
enum pl_status tenantset_add(struct tenantset *set, const uint8_t id[16],
			     bool *added, struct pl_err *err);
bool tenantset_has(const struct tenantset *set, const uint8_t id[16]);
/* true and *index (its position in input order) when the ID is in the
 * set. */
bool tenantset_find(const struct tenantset *set, const uint8_t id[16],
		    size_t *index);
size_t tenantset_count(const struct tenantset *set);
/* The i-th ID added (0-based, i < count); borrowed. */
const uint8_t *tenantset_get(const struct tenantset *set, size_t i);
/* Bytes held by the array and table (for the memory benchmark). */
size_t tenantset_bytes(const struct tenantset *set);

#endif
