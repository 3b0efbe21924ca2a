#include "tenantset.h"

#include <stdlib.h>
#include <string.h>

/*
 * ids[0..count) holds the IDs in insertion order; table[] (a power of two
 * in size) holds 1-based positions into ids, 0 meaning an empty slot, and
 * is probed linearly. The table doubles when the load passes 0.7, so it
 * sits between 0.35 and 0.7 full: 5.7 to 11.4 bytes per tenant. The array
 * grows by 1.5x, 16 to 24 bytes per tenant, so the whole set stays under
 * 36 bytes per tenant once past its initial sizes.
 */
struct tenantset {
	uint8_t (*ids)[16];
	size_t count;
	size_t cap;        /* IDs ids[] has room for */
	uint32_t *table;
	size_t mask;       /* table size - 1 */
};

#define INITIAL_IDS 64
#define INITIAL_SLOTS 128
/* Positions are stored 1-based in 32 bits. */
#define MAX_IDS ((size_t)UINT32_MAX - 1)

/* The murmur3 64-bit finalizer: full avalanche, so sequential or
 * hand-made IDs spread as well as random ones. */
static uint64_t fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_id(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return fmix64(a ^ fmix64(b));
}

struct tenantset *tenantset_new(void)
{
	struct tenantset *set = calloc(1, sizeof(*set));

	if(!set)
		return NULL;
	set->ids = malloc(INITIAL_IDS * sizeof(*set->ids));
	set->table = calloc(INITIAL_SLOTS, sizeof(*set->table));
	if(!set->ids || !set->table) {
		tenantset_free(set);
		return NULL;
	}
	set->cap = INITIAL_IDS;
	set->mask = INITIAL_SLOTS - 1;
	return set;
}

void tenantset_free(struct tenantset *set)
{
	if(!set)
		return;
	free(set->ids);
	free(set->table);
	free(set);
}

/* Slot holding id, or the empty slot where it would go. */
static size_t find_slot(const struct tenantset *set, const uint8_t id[16],
			uint64_t h)
{
	size_t i = (size_t)h & set->mask;

	for(;;) {
		uint32_t pos = set->table[i];

		if(!pos || !memcmp(set->ids[pos - 1], id, 16))
			return i;
		i = (i + 1) & set->mask;
	}
}

static bool grow_table(struct tenantset *set)
{
	size_t size = (set->mask + 1) * 2;
	uint32_t *table = calloc(size, sizeof(*table));

	if(!table)
		return false;
	for(size_t k = 0; k < set->count; k++) {
		size_t i = (size_t)hash_id(set->ids[k]) & (size - 1);

		while(table[i])
			i = (i + 1) & (size - 1);
		table[i] = (uint32_t)(k + 1);
	}
	free(set->table);
	set->table = table;
	set->mask = size - 1;
	return true;
}

enum pl_status tenantset_add(struct tenantset *set, const uint8_t id[16],
			     bool *added, struct pl_err *err)
{
	uint64_t h = hash_id(id);
	size_t slot = find_slot(set, id, h);

	*added = false;
	if(set->table[slot])
		return PL_OK;
	if(set->count >= MAX_IDS)
		return pl_fail(err, PL_ELIMIT, "more than %zu tenants",
			       MAX_IDS);
	if(set->count == set->cap) {
		size_t cap = set->cap + set->cap / 2;
		uint8_t (*ids)[16] = realloc(set->ids, cap * sizeof(*ids));

		if(!ids)
			goto nomem;
		set->ids = ids;
		set->cap = cap;
	}
	/* Keep the load at or under 0.7 after this insert. */
	if((set->count + 1) * 10 > (set->mask + 1) * 7) {
		if(!grow_table(set))
			goto nomem;
		slot = find_slot(set, id, h);
	}
	memcpy(set->ids[set->count], id, 16);
	set->count++;
	set->table[slot] = (uint32_t)set->count;
	*added = true;
	return PL_OK;
nomem:
	return pl_fail(err, PL_ENOMEM, "out of memory at %zu tenants",
		       set->count);
}

bool tenantset_has(const struct tenantset *set, const uint8_t id[16])
{
	return set->table[find_slot(set, id, hash_id(id))] != 0;
}

bool tenantset_find(const struct tenantset *set, const uint8_t id[16],
		    size_t *index)
{
	uint32_t pos = set->table[find_slot(set, id, hash_id(id))];

	if(pos)
		*index = pos - 1;
	return pos != 0;
}

size_t tenantset_count(const struct tenantset *set)
{
	return set->count;
}

const uint8_t *tenantset_get(const struct tenantset *set, size_t i)
{
	return i < set->count ? set->ids[i] : NULL;
}

size_t tenantset_bytes(const struct tenantset *set)
{
	return sizeof(*set) + set->cap * sizeof(*set->ids) +
	       (set->mask + 1) * sizeof(*set->table);
}
