/*
 * test_manifest: time formatting, the tie-out check and its messages, and
 * the manifest file: exact bytes (tests/golden/manifest.json), key order
 * and values read back with json-c, schema validity and atomic writing.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "manifest.h"
#include "testutil.h"

#define SHA_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SHA_B "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static int setup(void **state)
{
	return testutil_scratch_setup(state, "manifest", "run.manifest.json");
}

static int teardown(void **state)
{
	return testutil_scratch_teardown(state);
}

static const struct manifest_option options[] = {
	{"format", "csv"},
	{"retries", "5"},
	{"column", NULL},
	{"excel_safe", "false"},
};

static const struct manifest_output outputs[] = {
	{"detail", "out/detail.csv", "csv", 10, 2345, SHA_A},
	{"rejects", "out/rejects.csv", "csv", 0, 18, SHA_B},
};

/* A run of 12 input rows: 9 valid (7 answered, 1 not found, 1 failed),
 * 1 duplicate, 1 invalid, 1 blank. */
static void sample(struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	m->version = "0.1.0";
	m->correlation_id = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f";
	m->started_ms = 1795510800123; /* 2026-11-24T09:00:00.123Z */
	m->ended_ms = 1795510862004;
	m->input_path = "in/tenants.csv";
	m->input_sha256 = SHA_B;
	m->input_bytes = 481;
	m->options = options;
	m->noptions = sizeof(options) / sizeof(options[0]);
	m->counts = (struct manifest_counts){
		.input_rows = 12, .valid = 9, .duplicate = 1, .invalid = 1,
		.blank = 1, .fetched = 9, .answered = 7, .not_found = 1,
		.failed = 1, .rows_written = 10};
	m->outputs = outputs;
	m->noutputs = sizeof(outputs) / sizeof(outputs[0]);
	m->exit_code = 1;
}

static void test_format_time(void **state)
{
	char out[32];

	(void)state;
	manifest_format_time(1795510800123, out);
	assert_string_equal(out, "2026-11-24T09:00:00.123Z");
	manifest_format_time(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000Z");
	manifest_format_time(951868799007, out);
	assert_string_equal(out, "2000-02-29T23:59:59.007Z");
	/* Before the epoch the millis still count forward. */
	manifest_format_time(-1, out);
	assert_string_equal(out, "1969-12-31T23:59:59.999Z");
	manifest_format_time(-1500, out);
	assert_string_equal(out, "1969-12-31T23:59:58.500Z");
}

static void test_tie_out(void **state)
{
	struct manifest m;
	struct pl_err err = {{0}};

	(void)state;
	sample(&m);
	assert_int_equal(manifest_counts_tie_out(&m.counts, &err), PL_OK);
	assert_string_equal(err.msg, "");
	assert_int_equal(manifest_counts_tie_out(&m.counts, NULL), PL_OK);

	m.counts.blank = 2;
	assert_int_equal(manifest_counts_tie_out(&m.counts, &err), PL_EINTERNAL);
	assert_string_equal(err.msg, "counts do not tie out: input_rows 12 != "
				     "valid 9 + duplicate 1 + invalid 1 + "
				     "blank 2 (13)");

	sample(&m);
	m.counts.failed = 0;
	assert_int_equal(manifest_counts_tie_out(&m.counts, &err), PL_EINTERNAL);
	assert_string_equal(err.msg, "counts do not tie out: valid 9 != "
				     "answered 7 + not_found 1 + failed 0 (8)");

	m.counts.input_rows = 11;
	assert_int_equal(manifest_counts_tie_out(&m.counts, &err), PL_EINTERNAL);
	assert_string_equal(err.msg, "counts do not tie out: input_rows 11 != "
				     "valid 9 + duplicate 1 + invalid 1 + "
				     "blank 1 (12); valid 9 != answered 7 + "
				     "not_found 1 + failed 0 (8)");
	assert_int_equal(manifest_counts_tie_out(&m.counts, NULL), PL_EINTERNAL);
}

static void expect_keys(struct json_object *obj, const char *const *keys,
			size_t n)
{
	size_t i = 0;

	assert_true(json_object_is_type(obj, json_type_object));
	json_object_object_foreach(obj, key, val) {
		(void)val;
		assert_true(i < n);
		assert_string_equal(key, keys[i]);
		i++;
	}
	assert_int_equal(i, n);
}

static struct json_object *get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if(!json_object_object_get_ex(obj, key, &v))
		fail_msg("no key %s", key);
	return v;
}

static void expect_str(struct json_object *obj, const char *key,
		       const char *want)
{
	struct json_object *v = get(obj, key);

	assert_true(json_object_is_type(v, json_type_string));
	assert_string_equal(json_object_get_string(v), want);
}

static void expect_int(struct json_object *obj, const char *key,
		       int64_t want)
{
	struct json_object *v = get(obj, key);

	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), want);
}

static void test_write(void **state)
{
	static const char *const top[] = {
		"tool", "version", "correlation_id", "started_at", "ended_at",
		"input", "options", "counts", "outputs", "exit_code"};
	static const char *const counts[] = {
		"input_rows", "valid", "duplicate", "invalid", "blank",
		"fetched", "answered", "not_found", "failed", "rows_written"};
	static const char *const input[] = {"path", "sha256", "bytes"};
	static const char *const opts[] = {"format", "retries", "column",
					   "excel_safe"};
	static const char *const out[] = {"role", "path", "format", "rows",
					  "bytes", "sha256"};
	struct testutil_scratch *fx = *state;
	struct manifest m;
	struct pl_err err = {{0}};
	struct json_object *root, *o, *arr;
	char *text, *golden, cmd[1024];
	int rc;

	sample(&m);
	assert_int_equal(manifest_write(fx->path, &m, &err), PL_OK);
	text = testutil_read_file(fx->path, NULL);
	golden = testutil_read_file(QR_SOURCE_DIR
				    "/tests/golden/manifest.json", NULL);
	assert_string_equal(text, golden);
	free(golden);
	assert_int_equal(text[strlen(text) - 1], '\n');

	root = json_tokener_parse(text);
	assert_non_null(root);
	expect_keys(root, top, 10);
	expect_str(root, "tool", "qualreport");
	expect_str(root, "version", "0.1.0");
	expect_str(root, "correlation_id",
		   "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f");
	expect_str(root, "started_at", "2026-11-24T09:00:00.123Z");
	expect_str(root, "ended_at", "2026-11-24T09:01:02.004Z");
	o = get(root, "input");
	expect_keys(o, input, 3);
	expect_str(o, "path", "in/tenants.csv");
	expect_str(o, "sha256", SHA_B);
	expect_int(o, "bytes", 481);
	o = get(root, "options");
	expect_keys(o, opts, 4);
	expect_str(o, "format", "csv");
	expect_str(o, "retries", "5");
	assert_null(get(o, "column"));
	o = get(root, "counts");
	expect_keys(o, counts, 10);
	expect_int(o, "input_rows", 12);
	expect_int(o, "valid", 9);
	expect_int(o, "duplicate", 1);
	expect_int(o, "invalid", 1);
	expect_int(o, "blank", 1);
	expect_int(o, "fetched", 9);
	expect_int(o, "answered", 7);
	expect_int(o, "not_found", 1);
	expect_int(o, "failed", 1);
	expect_int(o, "rows_written", 10);
	arr = get(root, "outputs");
	assert_true(json_object_is_type(arr, json_type_array));
	assert_int_equal(json_object_array_length(arr), 2);
	o = json_object_array_get_idx(arr, 0);
	expect_keys(o, out, 6);
	expect_str(o, "role", "detail");
	expect_str(o, "path", "out/detail.csv");
	expect_str(o, "format", "csv");
	expect_int(o, "rows", 10);
	expect_int(o, "bytes", 2345);
	expect_str(o, "sha256", SHA_A);
	o = json_object_array_get_idx(arr, 1);
	expect_str(o, "role", "rejects");
	expect_int(o, "rows", 0);
	expect_int(root, "exit_code", 1);
	json_object_put(root);
	free(text);

	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 " QR_SOURCE_DIR
		 "/tests/schemas/validate.py " QR_SOURCE_DIR
		 "/schemas/manifest.schema.json '%s' --format json", fx->path);
	rc = system(cmd);
	assert_true(rc != -1 && WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);

	/* The schema is strict enough to catch a missing count. */
	snprintf(cmd, sizeof(cmd), "sed -i '/\"blank\"/d' '%s' && "
		 "/usr/bin/python3 " QR_SOURCE_DIR "/tests/schemas/validate.py "
		 QR_SOURCE_DIR "/schemas/manifest.schema.json '%s' "
		 "--format json 2>/dev/null", fx->path, fx->path);
	rc = system(cmd);
	assert_true(rc != -1 && WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 1);
}

/* Odd strings still make valid JSON: escapes, and U+FFFD for bad UTF-8. */
static void test_strings(void **state)
{
	struct testutil_scratch *fx = *state;
	struct manifest m;
	struct pl_err err = {{0}};
	struct json_object *root;
	char *text;

	sample(&m);
	m.input_path = "in/\"odd\"\\dir/caf\xe9\n.csv";
	m.version = NULL;
	m.noptions = 0;
	m.noutputs = 0;
	assert_int_equal(manifest_write(fx->path, &m, &err), PL_OK);
	text = testutil_read_file(fx->path, NULL);
	assert_non_null(strstr(text, "\"path\": \"in/\\\"odd\\\"\\\\dir/"
				     "caf\xef\xbf\xbd\\n.csv\""));
	root = json_tokener_parse(text);
	assert_non_null(root);
	expect_str(get(root, "input"), "path",
		   "in/\"odd\"\\dir/caf\xef\xbf\xbd\n.csv");
	assert_null(get(root, "version"));
	assert_int_equal(json_object_object_length(get(root, "options")), 0);
	assert_int_equal(json_object_array_length(get(root, "outputs")), 0);
	json_object_put(root);
	free(text);
}

static void test_atomic_and_errors(void **state)
{
	struct testutil_scratch *fx = *state;
	struct manifest m;
	struct pl_err err = {{0}};
	char path[256], want[300], *text;
	FILE *f;
	DIR *d;
	struct dirent *e;
	int entries = 0;

	sample(&m);
	f = fopen(fx->path, "w");
	assert_non_null(f);
	fputs("stale", f);
	fclose(f);
	assert_int_equal(manifest_write(fx->path, &m, &err), PL_OK);
	text = testutil_read_file(fx->path, NULL);
	assert_int_equal(strncmp(text, "{\n", 2), 0);
	free(text);
	d = opendir(fx->dir);
	assert_non_null(d);
	while((e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(entries, 1);

	snprintf(path, sizeof(path), "%s/gone/m.json", fx->dir);
	assert_int_equal(manifest_write(path, &m, &err), PL_EOUTPUT);
	snprintf(want, sizeof(want),
		 "cannot open %s: No such file or directory", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(manifest_write("/dev/full", &m, &err), PL_EOUTPUT);
	assert_string_equal(err.msg, "cannot write /dev/full: "
				     "No space left on device");
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/*
 * manifest_open removes the previous run's manifest (so that while the
 * reports are renamed into place no manifest describes other files) but
 * only once its own temporary file exists, and never a device.
 */
static void test_open_removes_the_previous(void **state)
{
	struct testutil_scratch *fx = *state;
	struct manifest_file *mf = (void *)fx;
	struct manifest m;
	struct pl_err err = {{0}};
	char path[256];
	struct stat sb;
	FILE *f;

	sample(&m);
	f = fopen(fx->path, "w");
	assert_non_null(f);
	fputs("{\"the previous run's\": true}\n", f);
	fclose(f);
	assert_int_equal(manifest_open(fx->path, &mf, &err), PL_OK);
	assert_non_null(mf);
	assert_int_equal(stat(fx->path, &sb), -1);
	assert_int_equal(count_entries(fx->dir), 1); /* the temporary file */
	manifest_abort(mf);
	assert_int_equal(count_entries(fx->dir), 0);
	manifest_abort(NULL);

	/* No temporary file, nothing removed. */
	snprintf(path, sizeof(path), "%s/gone/m.json", fx->dir);
	assert_int_equal(manifest_open(path, &mf, &err), PL_EOUTPUT);
	assert_null(mf);

	/* A device is written in place, not removed. */
	assert_int_equal(manifest_open("/dev/null", &mf, &err), PL_OK);
	assert_int_equal(manifest_commit(mf, &m, &err), PL_OK);
	assert_int_equal(stat("/dev/null", &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));

	/* open then commit: the manifest, and nothing else. */
	assert_int_equal(manifest_open(fx->path, &mf, &err), PL_OK);
	assert_int_equal(manifest_commit(mf, &m, &err), PL_OK);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(count_entries(fx->dir), 1);
}

/* The customer list as the input: its facts instead of a file's, the
 * counts tying out as for a file, the schema accepting it. */
static void test_listing_input(void **state)
{
	static const char *const input[] = {
		"listing", "base_url", "page_size", "pages",
		"customers_listed", "duplicates_across_pages", "relisted",
		"invalid", "restarts"};
	const struct manifest_listing listing = {
		"GET https://api.example/v1/customers?size=500",
		"https://api.example", 500, 23, 12, 1, 0, 1, 0};
	struct testutil_scratch *fx = *state;
	struct manifest m;
	struct pl_err err = {{0}};
	struct json_object *root, *o;
	char *text, cmd[1024];
	int rc;

	sample(&m);
	m.input_path = NULL;
	m.input_sha256 = NULL;
	m.input_bytes = 0;
	m.listing = &listing;
	assert_int_equal(manifest_counts_tie_out(&m.counts, &err), PL_OK);
	assert_int_equal(manifest_write(fx->path, &m, &err), PL_OK);
	text = testutil_read_file(fx->path, NULL);
	root = json_tokener_parse(text);
	assert_non_null(root);
	o = get(root, "input");
	expect_keys(o, input, 9);
	expect_str(o, "listing", "GET https://api.example/v1/customers?size=500");
	expect_str(o, "base_url", "https://api.example");
	expect_int(o, "page_size", 500);
	expect_int(o, "pages", 23);
	expect_int(o, "customers_listed", 12);
	expect_int(o, "duplicates_across_pages", 1);
	expect_int(o, "invalid", 1);
	json_object_put(root);
	free(text);
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 " QR_SOURCE_DIR
		 "/tests/schemas/validate.py " QR_SOURCE_DIR
		 "/schemas/manifest.schema.json '%s' --format json", fx->path);
	rc = system(cmd);
	assert_true(rc != -1 && WIFEXITED(rc));
	assert_int_equal(WEXITSTATUS(rc), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_time),
		cmocka_unit_test(test_tie_out),
		cmocka_unit_test_setup_teardown(test_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing_input, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_and_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_removes_the_previous,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
