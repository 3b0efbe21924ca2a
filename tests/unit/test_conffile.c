/*
 * test_conffile.c: the config-file reader (conffile.h): names and values
 * split as curl's -K does, errors with FILE:LINE, the private-file rule
 * for secrets, and strftime expansion of paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "conffile.h"
#include "testutil.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	if(testutil_mkdtemp(dir, sizeof(dir), "conffile"))
		return -1;
	snprintf(path, sizeof(path), "%s/qualreport.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return testutil_rmtree(dir);
}

static void write_conf(const char *text, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void expect_entry(const struct conffile *cf, size_t i,
			 const char *name, const char *value,
			 unsigned long line)
{
	assert_true(i < cf->n);
	assert_string_equal(cf->entries[i].name, name);
	if(value)
		assert_string_equal(cf->entries[i].value, value);
	else
		assert_null(cf->entries[i].value);
	assert_int_equal(cf->entries[i].line, line);
}

static void splits_every_spelling(void **state)
{
	struct conffile *cf;
	struct pl_err err;
	(void)state;

	write_conf("\xef\xbb\xbf# monthly run\r\n"
		   "rate = 500/min\r\n"
		   "\n"
		   "   # indented comment\n"
		   "--journal: /var/lib/qualreport/%Y-%m.journal\n"
		   "excel-safe\n"
		   "tenant \"contoso #1.onmicrosoft.com\"  \n"
		   "column\t=\ttenant id  \n"
		   "reason = a \"quoted\" # not a comment\n"
		   "esc = \"tab\\there \\\"q\\\" back\\\\slash\"\n"
		   "last=novalue-newline", 0600);
	assert_int_equal(conffile_read(path, &cf, &err), PL_OK);
	assert_int_equal(cf->n, 8);
	expect_entry(cf, 0, "rate", "500/min", 2);
	expect_entry(cf, 1, "journal", "/var/lib/qualreport/%Y-%m.journal",
		     5);
	expect_entry(cf, 2, "excel-safe", NULL, 6);
	expect_entry(cf, 3, "tenant", "contoso #1.onmicrosoft.com", 7);
	expect_entry(cf, 4, "column", "tenant id", 8);
	expect_entry(cf, 5, "reason", "a \"quoted\" # not a comment", 9);
	expect_entry(cf, 6, "esc", "tab\there \"q\" back\\slash", 10);
	expect_entry(cf, 7, "last", "novalue-newline", 11);
	assert_true(conffile_is_private(cf));
	conffile_free(cf);
}

static void errors_name_file_and_line(void **state)
{
	struct conffile *cf = (void *)1;
	struct pl_err err;
	char want[256];
	(void)state;

	write_conf("rate = 5\ntenant = \"unterminated\n", 0600);
	assert_int_equal(conffile_read(path, &cf, &err), PL_EUSAGE);
	assert_null(cf);
	snprintf(want, sizeof(want), "%s:2: unterminated quote or text after "
		 "it", path);
	assert_string_equal(err.msg, want);

	write_conf("tenant = \"x\" trailing\n", 0600);
	assert_int_equal(conffile_read(path, &cf, &err), PL_EUSAGE);
	snprintf(want, sizeof(want), "%s:1: unterminated quote or text after "
		 "it", path);
	assert_string_equal(err.msg, want);

	write_conf("ok\n = value\n", 0600);
	assert_int_equal(conffile_read(path, &cf, &err), PL_EUSAGE);
	snprintf(want, sizeof(want), "%s:2: no option name", path);
	assert_string_equal(err.msg, want);

	write_conf("a\0b\n", 0600);
	/* fputs stops at the NUL: write it by hand */
	{
		FILE *f = fopen(path, "wb");

		assert_non_null(f);
		assert_int_equal(fwrite("a\0b\n", 1, 4, f), 4);
		fclose(f);
	}
	assert_int_equal(conffile_read(path, &cf, &err), PL_EUSAGE);
	assert_non_null(strstr(err.msg, "not a text file"));

	assert_int_equal(conffile_read(dir, &cf, &err), PL_EUSAGE);
	snprintf(want, sizeof(want), "cannot read %s: not a regular file",
		 dir);
	assert_string_equal(err.msg, want);
	snprintf(want, sizeof(want), "%s/missing", dir);
	assert_int_equal(conffile_read(want, &cf, &err), PL_EUSAGE);
	assert_non_null(strstr(err.msg, "No such file"));
}

static void too_big_is_refused(void **state)
{
	struct conffile *cf;
	struct pl_err err;
	FILE *f;
	(void)state;

	f = fopen(path, "wb");
	assert_non_null(f);
	for(int i = 0; i < CONFFILE_MAX / 16 + 1; i++)
		fputs("# padding line.\n", f);
	fclose(f);
	assert_int_equal(conffile_read(path, &cf, &err), PL_EUSAGE);
	assert_non_null(strstr(err.msg, "larger than 256 KiB"));
}

static void private_means_0600_or_0400(void **state)
{
	static const struct {
		mode_t mode;
		bool private;
	} cases[] = {
		{0600, true}, {0400, true}, {0640, false}, {0644, false},
		{0604, false}, {0660, false}, {0700, false}, {0610, false},
	};
	(void)state;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conffile *cf;
		struct pl_err err;

		write_conf("rate = 1\n", cases[i].mode);
		assert_int_equal(conffile_read(path, &cf, &err), PL_OK);
		if(conffile_is_private(cf) != cases[i].private)
			fail_msg("mode %o: private=%d", (unsigned)cases[i].mode,
				 !cases[i].private);
		conffile_free(cf);
	}
}

static void expands_strftime_in_paths(void **state)
{
	struct tm tm;
	struct pl_err err;
	char *out;
	(void)state;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = 2026 - 1900;
	tm.tm_mon = 10;
	tm.tm_mday = 1;
	assert_int_equal(conffile_expand_path("/var/lib/qr/%Y-%m.journal",
					      &tm, &out, &err), PL_OK);
	assert_string_equal(out, "/var/lib/qr/2026-11.journal");
	free(out);
	assert_int_equal(conffile_expand_path("/srv/100%%/%Y/%m/%d", &tm,
					      &out, &err), PL_OK);
	assert_string_equal(out, "/srv/100%/2026/11/01");
	free(out);
	assert_int_equal(conffile_expand_path("plain/path", &tm, &out, &err),
			 PL_OK);
	assert_string_equal(out, "plain/path");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits_every_spelling),
		cmocka_unit_test(errors_name_file_and_line),
		cmocka_unit_test(too_big_is_refused),
		cmocka_unit_test(private_means_0600_or_0400),
		cmocka_unit_test(expands_strftime_in_paths),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
