/*
 * curlmem.c: libcurl's allocations through counters (see curlmem.h).
 */
#include "curlmem.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"

static atomic_ulong failures;
static atomic_ulong calls;
static bool counting;

/* An allocation was asked for; failed: it returned nothing for a size
 * that was not 0. (A flag, not the pointer: the block is uninitialised
 * memory, which the compiler rightly does not want passed around.) */
static void note(bool failed)
{
	atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
	if(failed)
		atomic_fetch_add_explicit(&failures, 1, memory_order_relaxed);
}

static void *count_malloc(size_t n)
{
	void *p = malloc(n);

	note(!p && n);
	return p;
}

static void count_free(void *p)
{
	free(p);
}

static void *count_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	note(!q && n);
	return q;
}

static char *count_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	note(!p);
	if(p)
		memcpy(p, s, n);
	return p;
}

static void *count_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb, size);

	note(!p && nmemb && size);
	return p;
}

enum pl_status curlmem_init(struct pl_err *err)
{
	struct curl_slist *probe;
	unsigned long before;

	/* Once libcurl is initialised, this only counts up and libcurl keeps
	 * the allocator it has: whether it is ours, an allocation shows. */
	if(curl_global_init_mem(CURL_GLOBAL_DEFAULT, count_malloc, count_free,
				count_realloc, count_strdup, count_calloc))
		return pl_fail(err, PL_EINTERNAL, "cannot initialise libcurl");
	before = atomic_load(&calls);
	probe = curl_slist_append(NULL, "probe");
	counting = atomic_load(&calls) != before;
	curl_slist_free_all(probe);
	if(!counting)
		log_debug("libcurl was initialised before: its allocations are "
			  "not counted, and any out-of-memory it reports ends "
			  "the run");
	return PL_OK;
}

void curlmem_cleanup(void)
{
	curl_global_cleanup();
}

bool curlmem_is_counting(void)
{
	return counting;
}

unsigned long curlmem_failures(void)
{
	return atomic_load_explicit(&failures, memory_order_relaxed);
}
