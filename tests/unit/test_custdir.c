/*
 * test_custdir.c: the customers' names on disk (custdir.h): what goes in
 * comes back for the tenants asked about, in index order, each once,
 * NULL fields as NULL, long names cut; adding goes on after a lookup;
 * indices must grow; nothing is left in $TMPDIR.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "custdir.h"
#include "testutil.h"

struct got {
	size_t index[16];
	char text[16][64];
	size_t name_len[16];
	size_t n;
};

static void collect(void *ctx, size_t index, const struct customer_info *in)
{
	struct got *g = ctx;

	assert_true(g->n < 16);
	g->index[g->n] = index;
	g->name_len[g->n] = in->name ? strlen(in->name) : 0;
	snprintf(g->text[g->n], sizeof(g->text[0]), "%s|%s|%s",
		 in->name ? in->name : "(null)",
		 in->domain ? in->domain : "(null)",
		 in->relationship ? in->relationship : "(null)");
	g->n++;
}

static size_t dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void round_trip(void **state)
{
	const struct customer_info a = {"Contoso", "contoso.example",
					"reseller"};
	const struct customer_info b = {"Fabrikam, \"Inc\"", NULL, NULL};
	const struct customer_info empty = {"", "", ""};
	const size_t want[] = {7, 0, 3, 7, 99, 5};
	char dir[64], *big;
	struct custdir *d;
	struct got g;
	struct pl_err err;

	(void)state;
	assert_int_equal(testutil_mkdtemp(dir, sizeof(dir), "custdir"), 0);
	setenv("TMPDIR", dir, 1);
	assert_int_equal(custdir_new(&d, &err), PL_OK);
	/* unlinked at once: nothing in the directory, even while open */
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(custdir_add(d, 0, &a, &err), PL_OK);
	assert_int_equal(custdir_add(d, 3, &b, &err), PL_OK);
	assert_int_equal(custdir_add(d, 5, NULL, &err), PL_OK);
	assert_int_equal(custdir_add(d, 7, &empty, &err), PL_OK);
	assert_int_equal(custdir_add(d, 7, &a, &err), PL_EINTERNAL);
	assert_int_equal(custdir_count(d), 4);

	memset(&g, 0, sizeof(g));
	assert_int_equal(custdir_lookup(d, want, 6, collect, &g, &err), PL_OK);
	assert_int_equal(g.n, 4);
	assert_int_equal(g.index[0], 0);
	assert_string_equal(g.text[0], "Contoso|contoso.example|reseller");
	assert_int_equal(g.index[1], 3);
	assert_string_equal(g.text[1], "Fabrikam, \"Inc\"|(null)|(null)");
	assert_int_equal(g.index[2], 5);
	assert_string_equal(g.text[2], "(null)|(null)|(null)");
	assert_int_equal(g.index[3], 7);
	assert_string_equal(g.text[3], "||");

	/* more after a lookup; a 100 KiB name is cut to 64 KiB */
	big = malloc(100 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'n', 100 * 1024);
	big[100 * 1024] = '\0';
	const struct customer_info c = {big, "d", "r"};
	assert_int_equal(custdir_add(d, 99, &c, &err), PL_OK);
	memset(&g, 0, sizeof(g));
	assert_int_equal(custdir_lookup(d, want + 4, 1, collect, &g, &err),
			 PL_OK);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.index[0], 99);
	assert_memory_equal(g.text[0], "nnnn", 4);
	assert_int_equal(g.name_len[0], 64 * 1024);
	free(big);
	/* nothing asked, nothing read */
	assert_int_equal(custdir_lookup(d, want, 0, collect, &g, &err), PL_OK);
	custdir_free(d);
	custdir_free(NULL);
	assert_int_equal(dir_entries(dir), 0);
	assert_int_equal(testutil_rmtree(dir), 0);
	unsetenv("TMPDIR");
}

/* A directory that cannot hold the file: PL_EOUTPUT naming it. */
static void no_tmpdir(void **state)
{
	struct custdir *d = NULL;
	struct pl_err err;

	(void)state;
	setenv("TMPDIR", "/nonexistent/qr-custdir", 1);
	assert_int_equal(custdir_new(&d, &err), PL_EOUTPUT);
	assert_null(d);
	assert_non_null(strstr(err.msg, "/nonexistent/qr-custdir"));
	unsetenv("TMPDIR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(no_tmpdir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
