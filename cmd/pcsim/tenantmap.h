/*
 * tenantmap.h: per-tenant request counts and Retry-After deadlines,
 * shared by all server threads.
 *
 * Built for millions of tenants: 64 independently locked shards of open
 * addressing (linear probing) over 24-byte slots (16-byte GUID, count,
 * deadline), grown by doubling at 3/4 load. Tenants are never removed.
 */
#ifndef PCSIM_TENANTMAP_H
#define PCSIM_TENANTMAP_H

#include <stddef.h>
#include <stdint.h>

struct tenant_map;

/* NULL when out of memory. */
struct tenant_map *tenant_map_new(void);
/* NULL is a no-op. */
void tenant_map_free(struct tenant_map *m);

/*
 * Record one request of tenant key (16 GUID bytes) at now_ms, a
 * millisecond clock that starts near 0 (it is stored in 32 bits).
 *
 * *violation is set to 1 when the tenant was told to wait (an earlier
 * throttled request) and now_ms is before that deadline, else 0.
 * throttled_until_ms == 0: the request is served, *n receives how many
 * earlier served requests the tenant made and the count grows by one.
 * throttled_until_ms > 0: the request is refused with a Retry-After,
 * the tenant's deadline becomes throttled_until_ms, *n is the count
 * unchanged.
 *
 * Returns 0, or -1 when out of memory (the request is then not counted;
 * *n and *violation are still set as if the tenant were new).
 */
int tenant_map_visit(struct tenant_map *m, const uint8_t key[16],
		     uint64_t now_ms, uint64_t throttled_until_ms,
		     uint32_t *n, int *violation);

/* How many distinct tenants were seen. */
size_t tenant_map_size(struct tenant_map *m);

#endif
