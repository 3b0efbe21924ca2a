/*
 * test_metrics: the exposition text byte for byte, label escaping, the
 * last success time kept from the file before (and what does not count as
 * one), the atomic write, and the file accepted by a real Prometheus
 * parser (tests/metrics/validate.py, prometheus_client).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics.h"
#include "testutil.h"

static int setup(void **state)
{
	return testutil_scratch_setup(state, "metrics", "qualreport.prom");
}

static int teardown(void **state)
{
	return testutil_scratch_teardown(state);
}

static const struct metrics_count tenants[] = {
	{"answered", 7}, {"not_found", 1}, {"failed", 1}, {"unfinished", 0},
};

static const struct metrics_code requests[] = {
	{0, 2}, {200, 7}, {404, 1}, {429, 3}, {503, 2},
};

/* A run that ended 2026-11-24T09:01:02.004Z after 61.881 s. */
static struct metrics_run sample(int exit_code)
{
	struct metrics_run m = {0};

	m.ended_ms = 1795510862004;
	m.duration_ms = 61881;
	m.exit_code = exit_code;
	m.tenants = tenants;
	m.ntenants = sizeof(tenants) / sizeof(tenants[0]);
	m.requests = requests;
	m.nrequests = sizeof(requests) / sizeof(requests[0]);
	m.throttled_s = 12.5;
	return m;
}

#define EXPECTED(last_success, exit_code)                                   \
	"# HELP qualreport_last_run_timestamp_seconds Unix time the last "  \
	"run ended, whatever its exit status.\n"                            \
	"# TYPE qualreport_last_run_timestamp_seconds gauge\n"              \
	"qualreport_last_run_timestamp_seconds 1795510862.004\n"            \
	"# HELP qualreport_last_success_timestamp_seconds Unix time the "   \
	"last run with exit status 0 ended (0: none recorded).\n"           \
	"# TYPE qualreport_last_success_timestamp_seconds gauge\n"          \
	"qualreport_last_success_timestamp_seconds " last_success "\n"      \
	"# HELP qualreport_run_duration_seconds Wall time of the last "     \
	"run.\n"                                                            \
	"# TYPE qualreport_run_duration_seconds gauge\n"                    \
	"qualreport_run_duration_seconds 61.881\n"                          \
	"# HELP qualreport_exit_code Exit status of the last run (0 all "   \
	"answered, 1 some tenants failed, 2-5 no report, 130/143 "          \
	"interrupted).\n"                                                   \
	"# TYPE qualreport_exit_code gauge\n"                               \
	"qualreport_exit_code " exit_code "\n"                              \
	"# HELP qualreport_tenants Tenants of the last run by outcome.\n"   \
	"# TYPE qualreport_tenants gauge\n"                                 \
	"qualreport_tenants{status=\"answered\"} 7\n"                       \
	"qualreport_tenants{status=\"not_found\"} 1\n"                      \
	"qualreport_tenants{status=\"failed\"} 1\n"                         \
	"qualreport_tenants{status=\"unfinished\"} 0\n"                     \
	"# HELP qualreport_requests_total HTTP requests of the last run "   \
	"by the status of their answer (0: no answer).\n"                   \
	"# TYPE qualreport_requests_total counter\n"                        \
	"qualreport_requests_total{code=\"0\"} 2\n"                         \
	"qualreport_requests_total{code=\"200\"} 7\n"                       \
	"qualreport_requests_total{code=\"404\"} 1\n"                       \
	"qualreport_requests_total{code=\"429\"} 3\n"                       \
	"qualreport_requests_total{code=\"503\"} 2\n"                       \
	"# HELP qualreport_throttled_seconds_total Seconds the last run's " \
	"requests were paused on the API's Retry-After.\n"                  \
	"# TYPE qualreport_throttled_seconds_total counter\n"               \
	"qualreport_throttled_seconds_total 12.500\n"

static void test_format_success(void **state)
{
	struct buf b = BUF_INIT;
	struct metrics_run m = sample(0);

	assert_int_equal(metrics_format(&b, &m, "123"), PL_OK);
	/* exit 0: this run is the last success, whatever came before */
	assert_string_equal(b.data, EXPECTED("1795510862.004", "0"));
	buf_release(&b);
}

static void test_format_failure(void **state)
{
	struct buf b = BUF_INIT;
	struct metrics_run m = sample(1);

	assert_int_equal(metrics_format(&b, &m, "1792832461.5"), PL_OK);
	assert_string_equal(b.data, EXPECTED("1792832461.5", "1"));
	buf_reset(&b);
	m.exit_code = 143;
	assert_int_equal(metrics_format(&b, &m, NULL), PL_OK);
	assert_string_equal(b.data, EXPECTED("0", "143"));
	buf_release(&b);
}

static void test_format_empty_run(void **state)
{
	struct buf b = BUF_INIT;
	struct metrics_run m = {0};

	/* A run that stopped before anything (exit 2): every family is
	 * there, the labelled ones with no series. */
	m.exit_code = 2;
	assert_int_equal(metrics_format(&b, &m, ""), PL_OK);
	assert_non_null(strstr(b.data, "\nqualreport_exit_code 2\n"));
	assert_non_null(strstr(b.data,
			       "\nqualreport_last_success_timestamp_seconds "
			       "0\n"));
	assert_non_null(strstr(b.data,
			       "# TYPE qualreport_tenants gauge\n# HELP "
			       "qualreport_requests_total"));
	assert_non_null(strstr(b.data,
			       "\nqualreport_throttled_seconds_total 0.000\n"));
	assert_null(strstr(b.data, "{"));
	buf_release(&b);
}

static void test_label_escaping(void **state)
{
	struct metrics_count odd[] = {{"a\\b\"c\nd", 3}, {"", 0}};
	struct metrics_run m = sample(0);
	struct buf b = BUF_INIT;

	m.tenants = odd;
	m.ntenants = 2;
	assert_int_equal(metrics_format(&b, &m, NULL), PL_OK);
	assert_non_null(strstr(b.data, "\nqualreport_tenants{status="
				       "\"a\\\\b\\\"c\\nd\"} 3\n"
				       "qualreport_tenants{status=\"\"} 0\n"));
	buf_release(&b);
}

static void test_format_limit(void **state)
{
	struct buf b;
	struct metrics_run m = sample(0);

	buf_init(&b, 100);
	assert_int_equal(buf_addstr(&b, "kept"), PL_OK);
	assert_int_equal(metrics_format(&b, &m, NULL), PL_ELIMIT);
	assert_string_equal(b.data, "kept");
	buf_release(&b);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_last_success(void **state)
{
	struct testutil_scratch *fx = *state;
	char v[64], line[700];

	assert_false(metrics_last_success(fx->path, v)); /* no file */
	assert_string_equal(v, "");

	write_text(fx->path, "# HELP x\n"
		   "qualreport_last_success_timestamp_seconds_2 5\n"
		   "qualreport_last_success_timestamp_seconds 1792832461.5\n"
		   "qualreport_last_success_timestamp_seconds 9\n");
	assert_true(metrics_last_success(fx->path, v));
	assert_string_equal(v, "1792832461.5");

	/* a timestamp after the value (not ours, but valid) is dropped */
	write_text(fx->path,
		   "qualreport_last_success_timestamp_seconds 17e8 1000\n");
	assert_true(metrics_last_success(fx->path, v));
	assert_string_equal(v, "17e8");

	/* what is not a usable time */
	static const char *const bad[] = {
		"qualreport_last_success_timestamp_seconds\n",
		"qualreport_last_success_timestamp_seconds \n",
		"qualreport_last_success_timestamp_seconds x\n",
		"qualreport_last_success_timestamp_seconds 12x\n",
		"qualreport_last_success_timestamp_seconds -1\n",
		"qualreport_last_success_timestamp_seconds NaN\n",
		"qualreport_last_success_timestamp_seconds +Inf\n",
		"qualreport_last_success_timestamp_seconds{a=\"b\"} 5\n",
		" qualreport_last_success_timestamp_seconds 5\n",
		"# qualreport_last_success_timestamp_seconds 5\n",
		"",
	};
	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(fx->path, bad[i]);
		assert_false(metrics_last_success(fx->path, v));
		assert_string_equal(v, "");
	}

	/* the tail of an overlong line is not a line start */
	memset(line, 'x', 511);
	snprintf(line + 511, sizeof(line) - 511,
		 "qualreport_last_success_timestamp_seconds 5\n");
	write_text(fx->path, line);
	assert_false(metrics_last_success(fx->path, v));
}

static void read_back(const char *path, const char *want)
{
	char *got = testutil_read_file(path, NULL);

	assert_string_equal(got, want);
	free(got);
}

static void test_write_keeps_last_success(void **state)
{
	struct testutil_scratch *fx = *state;
	struct metrics_run m = sample(0);
	struct pl_err err = {{0}};

	/* the first run fails: no success recorded yet */
	m.exit_code = 4;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	read_back(fx->path, EXPECTED("0", "4"));
	/* a success */
	m.exit_code = 0;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	read_back(fx->path, EXPECTED("1795510862.004", "0"));
	/* a month later a failure keeps that success time */
	m.exit_code = 1;
	m.ended_ms += 30LL * 86400 * 1000;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	{
		char *got = testutil_read_file(fx->path, NULL);

		assert_non_null(strstr(got, "\nqualreport_last_run_timestamp"
					    "_seconds 1798102862.004\n"));
		assert_non_null(strstr(got, "\nqualreport_last_success_"
					    "timestamp_seconds "
					    "1795510862.004\n"));
		assert_non_null(strstr(got, "\nqualreport_exit_code 1\n"));
		free(got);
	}
	/* and so does the failure after it */
	m.exit_code = 130;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	{
		char *got = testutil_read_file(fx->path, NULL);

		assert_non_null(strstr(got, "\nqualreport_last_success_"
					    "timestamp_seconds "
					    "1795510862.004\n"));
		free(got);
	}
}

static void test_write_failure(void **state)
{
	struct testutil_scratch *fx = *state;
	struct metrics_run m = sample(0);
	struct pl_err err = {{0}};
	char path[512];

	snprintf(path, sizeof(path), "%s/no/such/dir/q.prom", fx->dir);
	assert_int_equal(metrics_write(path, &m, &err), PL_EOUTPUT);
	assert_non_null(strstr(err.msg, path));

	/* no temporary file is left beside the target */
	write_text(fx->path, "old\n");
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = "
			 "qualreport.prom", fx->dir);
		assert_int_equal(system(cmd), 0);
	}
}

static int validate(const char *path, const char *asserts)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 " QR_SOURCE_DIR
		 "/tests/metrics/validate.py %s %s", path, asserts);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void test_parser_accepts(void **state)
{
	struct testutil_scratch *fx = *state;
	struct metrics_count odd[] = {{"a\\b\"c\nd", 3}};
	struct metrics_run m = sample(0);
	struct pl_err err = {{0}};

	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	assert_int_equal(validate(fx->path,
		"qualreport_last_run_timestamp_seconds=1795510862.004 "
		"qualreport_last_success_timestamp_seconds=1795510862.004 "
		"qualreport_run_duration_seconds=61.881 "
		"qualreport_exit_code=0 "
		"'qualreport_tenants{status=\"answered\"}=7' "
		"'qualreport_tenants{status=\"unfinished\"}=0' "
		"'qualreport_requests_total{code=\"0\"}=2' "
		"'qualreport_requests_total{code=\"429\"}=3' "
		"qualreport_throttled_seconds_total=12.5"), 0);

	/* the escaped label reads back as the bytes given */
	m.tenants = odd;
	m.ntenants = 1;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	assert_int_equal(validate(fx->path, "'qualreport_tenants{status="
				  "\"a\\\\b\\\"c\\nd\"}=3'"), 0);

	/* a run that stopped before any request */
	memset(&m, 0, sizeof(m));
	m.exit_code = 2;
	assert_int_equal(metrics_write(fx->path, &m, &err), PL_OK);
	assert_int_equal(validate(fx->path, "qualreport_exit_code=2 "
				  "qualreport_last_success_timestamp_seconds"
				  "=1795510862.004"), 0);

	/* the validator is not a rubber stamp */
	assert_int_equal(validate(fx->path, "qualreport_exit_code=1"), 1);
	write_text(fx->path, "qualreport_exit_code 0 1795510862004\n");
	assert_int_equal(validate(fx->path, ""), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_success),
		cmocka_unit_test(test_format_failure),
		cmocka_unit_test(test_format_empty_run),
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_format_limit),
		cmocka_unit_test_setup_teardown(test_last_success, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_write_keeps_last_success,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_failure, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_parser_accepts, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
