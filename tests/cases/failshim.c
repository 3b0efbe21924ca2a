/*
 * failshim.c: an LD_PRELOAD library that makes one library call fail, so
 * a case can show what qualreport does when memory or a handle runs out
 * at one precise place (jq preloads a shim that fails fread and fclose;
 * curl fails allocations one by one).
 *
 *   QR_FAIL_CURL_EASY_INIT=N   the N-th curl_easy_init() returns NULL
 *
 * Everything else passes through to the real function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <curl/curl.h>

static atomic_ulong easy_calls;

static unsigned long nth(const char *var)
{
	const char *v = getenv(var);

	return v ? strtoul(v, NULL, 10) : 0;
}

CURL *curl_easy_init(void)
{
	CURL *(*real)(void) = (CURL *(*)(void))dlsym(RTLD_NEXT,
						     "curl_easy_init");
	unsigned long n = atomic_fetch_add(&easy_calls, 1) + 1;

	if(n == nth("QR_FAIL_CURL_EASY_INIT"))
		return NULL;
	return real ? real() : NULL;
}
