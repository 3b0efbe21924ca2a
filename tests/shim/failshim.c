/*
 * failshim.c: an LD_PRELOAD library that makes chosen library calls
 * fail, so tests can show what qualreport does when its own machine
 * fails it (jq's tests do the same with fread/fclose; curl fails
 * allocations one by one).
 *
 *   FAILSHIM_STRDUP=text         strdup() of exactly this text returns
 *                                NULL with errno ENOMEM
 *   FAILSHIM_CURL_EASY_INIT=N    the N-th curl_easy_init() returns NULL
 *   FAILSHIM_JSON_NEW_OBJECT=N   the N-th json_object_new_object() too
 *   FAILSHIM_JSON_TO_STRING=N    the N-th json_object_to_json_string_ext()
 *   FAILSHIM_RENAME_TO=suffix    rename() onto a path ending in suffix
 *                                fails with EIO
 *
 * Everything else passes through to the real function. The curl and
 * json-c functions are declared here with opaque types, so the shim needs
 * neither library to build.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct json_object;

/* Whether this is the call the variable names (its 1-based number). */
static int is_nth(atomic_ulong *calls, const char *var)
{
	const char *v = getenv(var);
	unsigned long n = atomic_fetch_add(calls, 1) + 1;

	return v && strtoul(v, NULL, 10) == n;
}

char *strdup(const char *s)
{
	static char *(*real)(const char *);
	const char *fail = getenv("FAILSHIM_STRDUP");

	if(fail && !strcmp(s, fail)) {
		errno = ENOMEM;
		return NULL;
	}
	if(!real)
		real = (char *(*)(const char *))dlsym(RTLD_NEXT, "strdup");
	return real(s);
}

void *curl_easy_init(void)
{
	static atomic_ulong calls;
	void *(*real)(void) = (void *(*)(void))dlsym(RTLD_NEXT,
						     "curl_easy_init");

	if(is_nth(&calls, "FAILSHIM_CURL_EASY_INIT"))
		return NULL;
	return real ? real() : NULL;
}

struct json_object *json_object_new_object(void)
{
	static atomic_ulong calls;
	struct json_object *(*real)(void) =
		(struct json_object *(*)(void))dlsym(RTLD_NEXT,
						     "json_object_new_object");

	if(is_nth(&calls, "FAILSHIM_JSON_NEW_OBJECT"))
		return NULL;
	return real ? real() : NULL;
}

const char *json_object_to_json_string_ext(struct json_object *o, int flags)
{
	static atomic_ulong calls;
	const char *(*real)(struct json_object *, int) =
		(const char *(*)(struct json_object *, int))dlsym(
			RTLD_NEXT, "json_object_to_json_string_ext");

	if(is_nth(&calls, "FAILSHIM_JSON_TO_STRING"))
		return NULL;
	return real ? real(o, flags) : NULL;
}

int rename(const char *from, const char *to)
{
	int (*real)(const char *, const char *) =
		(int (*)(const char *, const char *))dlsym(RTLD_NEXT,
							   "rename");
	const char *suffix = getenv("FAILSHIM_RENAME_TO");
	size_t n = suffix ? strlen(suffix) : 0, len = strlen(to);

	if(n && len >= n && !strcmp(to + len - n, suffix)) {
		errno = EIO;
		return -1;
	}
	return real ? real(from, to) : -1;
}
