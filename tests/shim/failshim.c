/*
 * failshim.c: an LD_PRELOAD library that makes chosen C library calls
 * fail, so tests can show what qualreport does when its own machine
 * fails it (jq's tests do the same with fread/fclose).
 *
 *   FAILSHIM_STRDUP=text   strdup() of exactly this text returns NULL
 *                          with errno ENOMEM
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
