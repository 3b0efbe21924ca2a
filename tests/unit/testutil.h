/*
 * testutil.h: helpers the unit tests share (header-only; each test is
 * one executable).
 */
#ifndef QR_TESTUTIL_H
#define QR_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The whole of a file, NUL-terminated (caller frees); its length in *len
 * when len is not NULL. Fails the running cmocka test if unreadable, so
 * include <cmocka.h> before this header.
 */
static inline char *testutil_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if(!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	if(len)
		*len = (size_t)n;
	return data;
}

/* Make "/tmp/qr-<tag>-XXXXXX" into dir (len bytes). 0, or -1. */
static inline int testutil_mkdtemp(char *dir, size_t len, const char *tag)
{
	if(snprintf(dir, len, "/tmp/qr-%s-XXXXXX", tag) >= (int)len)
		return -1;
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove dir and everything under it (subdirectories made read-only by
 * a test included). 0, or -1. */
static inline int testutil_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096];
	struct stat st;

	while(d && (e = readdir(d))) {
		if(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if(snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >=
		   (int)sizeof(path))
			continue;
		if(lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			chmod(path, 0700);
			testutil_rmtree(path);
		} else {
			unlink(path);
		}
	}
	if(d)
		closedir(d);
	return rmdir(dir);
}

/*
 * A cmocka fixture: a scratch directory and the path of one file in it,
 * made by testutil_scratch_setup (from a test's own setup, which names
 * them) and removed by testutil_scratch_teardown.
 */
struct testutil_scratch {
	char dir[64];
	char path[256];
};

static inline int testutil_scratch_setup(void **state, const char *tag,
					 const char *file)
{
	struct testutil_scratch *fx = calloc(1, sizeof(*fx));

	if(!fx)
		return -1;
	if(testutil_mkdtemp(fx->dir, sizeof(fx->dir), tag) ||
	   snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->dir, file) >=
		   (int)sizeof(fx->path)) {
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static inline int testutil_scratch_teardown(void **state)
{
	struct testutil_scratch *fx = *state;

	testutil_rmtree(fx->dir);
	free(fx);
	return 0;
}

#endif
