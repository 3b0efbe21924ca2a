#include "tenantmap.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define SHARD_BITS 6
#define NSHARDS (1u << SHARD_BITS)
#define SHARD_INITIAL 1024u /* slots, a power of two */
#define USED 0x80000000u    /* in count: the slot holds a tenant */

struct slot {
	uint8_t key[16];
	uint32_t count;       /* USED | served requests */
	uint32_t not_before;  /* ms deadline + 1, 0: none */
};

struct shard {
	pthread_mutex_t mu;
	struct slot *slots;
	size_t cap;  /* power of two */
	size_t used;
};

struct tenant_map {
	struct shard shards[NSHARDS];
};

/* The map's own hash, independent of the seed. */
static uint64_t key_hash(const uint8_t key[16])
{
	uint64_t a, b;

	memcpy(&a, key, 8);
	memcpy(&b, key + 8, 8);
	return scenario_mix(a ^ scenario_mix(b));
}

struct tenant_map *tenant_map_new(void)
{
	struct tenant_map *m = calloc(1, sizeof(*m));
	unsigned i;

	if(!m)
		return NULL;
	for(i = 0; i < NSHARDS; i++) {
		struct shard *s = &m->shards[i];

		s->slots = calloc(SHARD_INITIAL, sizeof(*s->slots));
		if(!s->slots)
			break;
		s->cap = SHARD_INITIAL;
		pthread_mutex_init(&s->mu, NULL);
	}
	if(i < NSHARDS) {
		while(i--) {
			free(m->shards[i].slots);
			pthread_mutex_destroy(&m->shards[i].mu);
		}
		free(m);
		return NULL;
	}
	return m;
}

void tenant_map_free(struct tenant_map *m)
{
	if(!m)
		return;
	for(unsigned i = 0; i < NSHARDS; i++) {
		free(m->shards[i].slots);
		pthread_mutex_destroy(&m->shards[i].mu);
	}
	free(m);
}

/* The slot for key: its own, or the empty one where it belongs. */
static struct slot *probe(struct slot *slots, size_t cap, uint64_t h,
			  const uint8_t key[16])
{
	size_t i = (size_t)h & (cap - 1);

	for(;;) {
		struct slot *sl = &slots[i];

		if(!(sl->count & USED) || !memcmp(sl->key, key, 16))
			return sl;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(struct shard *s)
{
	size_t cap = s->cap * 2;
	struct slot *slots = calloc(cap, sizeof(*slots));

	if(!slots)
		return -1;
	for(size_t i = 0; i < s->cap; i++) {
		struct slot *old = &s->slots[i];

		if(old->count & USED)
			*probe(slots, cap, key_hash(old->key), old->key) =
				*old;
	}
	free(s->slots);
	s->slots = slots;
	s->cap = cap;
	return 0;
}

static uint32_t clamp32(uint64_t v)
{
	return v >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)v;
}

int tenant_map_visit(struct tenant_map *m, const uint8_t key[16],
		     uint64_t now_ms, uint64_t throttled_until_ms,
		     uint32_t *n, int *violation)
{
	uint64_t h = key_hash(key);
	struct shard *s = &m->shards[h >> (64 - SHARD_BITS)];
	struct slot *sl;
	int rc = 0;

	*n = 0;
	*violation = 0;
	pthread_mutex_lock(&s->mu);
	sl = probe(s->slots, s->cap, h, key);
	if(!(sl->count & USED)) {
		/* Keep a free slot for every probe to end on. */
		if((s->used + 1) * 4 > s->cap * 3) {
			if(grow(s)) {
				rc = -1;
				goto out;
			}
			sl = probe(s->slots, s->cap, h, key);
		}
		memcpy(sl->key, key, 16);
		sl->count = USED;
		sl->not_before = 0;
		s->used++;
	}
	if(sl->not_before && now_ms + 1 < sl->not_before)
		*violation = 1;
	*n = sl->count & ~USED;
	if(throttled_until_ms)
		sl->not_before = clamp32(throttled_until_ms) + 1;
	else if(*n < ~USED)
		sl->count++;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}

size_t tenant_map_size(struct tenant_map *m)
{
	size_t total = 0;

	for(unsigned i = 0; i < NSHARDS; i++) {
		pthread_mutex_lock(&m->shards[i].mu);
		total += m->shards[i].used;
		pthread_mutex_unlock(&m->shards[i].mu);
	}
	return total;
}
