/*
 * failshim.c: an LD_PRELOAD library that makes one library call fail, so
 * a case can show what qualreport does when memory or a handle runs out
 * at one precise place (jq preloads a shim that fails fread and fclose;
 * curl fails allocations one by one).
 *
 *   QR_FAIL_CURL_EASY_INIT=N        the N-th curl_easy_init() returns NULL
 *   QR_FAIL_JSON_NEW_OBJECT=N       the N-th json_object_new_object() too
 *   QR_FAIL_JSON_TO_STRING=N        the N-th json_object_to_json_string_ext()
 *   QR_FAIL_RENAME_TO=SUFFIX        rename() onto a path ending in SUFFIX
 *                                   fails with EIO
 *
 * Everything else passes through to the real function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

static atomic_ulong easy_calls, new_object_calls, to_string_calls;

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

struct json_object *json_object_new_object(void)
{
	struct json_object *(*real)(void) =
		(struct json_object *(*)(void))dlsym(RTLD_NEXT,
						     "json_object_new_object");
	unsigned long n = atomic_fetch_add(&new_object_calls, 1) + 1;

	if(n == nth("QR_FAIL_JSON_NEW_OBJECT"))
		return NULL;
	return real ? real() : NULL;
}

const char *json_object_to_json_string_ext(struct json_object *o, int flags)
{
	const char *(*real)(struct json_object *, int) =
		(const char *(*)(struct json_object *, int))dlsym(
			RTLD_NEXT, "json_object_to_json_string_ext");
	unsigned long n = atomic_fetch_add(&to_string_calls, 1) + 1;

	if(n == nth("QR_FAIL_JSON_TO_STRING"))
		return NULL;
	return real ? real(o, flags) : NULL;
}

int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) =
		(int (*)(const char *, const char *))dlsym(RTLD_NEXT,
							   "rename");
	const char *suffix = getenv("QR_FAIL_RENAME_TO");
	size_t n = suffix ? strlen(suffix) : 0, len = strlen(to);

	if(n && len >= n && !strcmp(to + len - n, suffix)) {
		errno = EIO;
		return -1;
	}
	return real ? real(from, to) : -1;
}
