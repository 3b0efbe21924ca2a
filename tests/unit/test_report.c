/*
 * test_report: the detail, summary and rejects writers byte for byte
 * against tests/golden/, stats against the files themselves, every file
 * against the JSON Schemas (tests/schemas/validate.py), escaping, quoting,
 * excel_safe and write errors.
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <csv.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "record.h"
#include "report.h"
#include "testutil.h"
#include "summary.h"

#define GOLDEN QR_SOURCE_DIR "/tests/golden/"
#define VALIDATE "/usr/bin/python3 " QR_SOURCE_DIR "/tests/schemas/validate.py"
#define SCHEMAS QR_SOURCE_DIR "/schemas/"

#define NRECS 7
#define NROWS 10 /* detail rows of the records below */

struct fixture {
	char dir[64];
	char validate_out[128]; /* validate.py's messages */
	struct tenant_record recs[NRECS];
};

static void add_row(struct tenant_record *r, const char *q, const char *st,
		    const char *reason, const char *date)
{
	assert_int_equal(tenant_record_add_row(r, q, st, reason, date, NULL),
			 PL_OK);
}

static void set_tenant(struct tenant_record *r, int n, long http,
		       unsigned attempts, int with_request, const char *error)
{
	tenant_record_init(r);
	snprintf(r->tenant_id, sizeof(r->tenant_id),
		 "0a1b2c3d-0000-4000-8000-%012d", n);
	if(with_request)
		snprintf(r->request_id, sizeof(r->request_id),
			 "9f000000-0000-5000-8000-%012d", n);
	r->http_status = http;
	r->attempts = attempts;
	assert_int_equal(tenant_record_set_error(r, error, NULL), PL_OK);
}

/* The tenants behind tests/golden/detail*.{csv,ndjson}. */
static void build_records(struct tenant_record *recs)
{
	set_tenant(&recs[0], 1, 200, 1, 1, NULL);
	add_row(&recs[0], "Education", "Approved", NULL,
		"2020-12-03T10:37:38.885Z");
	add_row(&recs[0], "StateOwnedEntity", NULL, NULL, NULL);
	set_tenant(&recs[1], 2, 200, 2, 1, NULL);
	add_row(&recs[1], "Education", "Denied",
		"Not an \"Education\", customer\nsee notes",
		"2021-05-06T19:59:56.6832021Z");
	set_tenant(&recs[2], 3, 200, 1, 0, NULL);
	add_row(&recs[2], NULL, "None", NULL, NULL);
	set_tenant(&recs[3], 4, 404, 1, 1, "2000: Customer does not exist");
	recs[3].outcome = OUTCOME_NOT_FOUND;
	add_row(&recs[3], NULL, "NotFound", NULL, NULL);
	set_tenant(&recs[4], 5, 503, 6, 1, "HTTP 503 Service Unavailable");
	recs[4].outcome = OUTCOME_FAILED;
	add_row(&recs[4], NULL, "Error", NULL, NULL);
	set_tenant(&recs[5], 6, 200, 1, 1, NULL);
	add_row(&recs[5], "GovernmentCommunityCloud", "Denied",
		"N\xc3\xa3o \xc3\xa9 cliente \xe2\x80\x93 \xc3\xbc",
		"2021-01-01T00:00:00Z");
	set_tenant(&recs[6], 7, 200, 1, 1, NULL);
	add_row(&recs[6], "Education", "Denied", "=cmd|' /C calc'!A0", NULL);
	add_row(&recs[6], "GovernmentCommunityCloud", "Denied", "@SUM(1,1)",
		NULL);
	add_row(&recs[6], "StateOwnedEntity", "InReview", "+1 555 0100", NULL);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if(!fx)
		return -1;
	if(testutil_mkdtemp(fx->dir, sizeof(fx->dir), "report")) {
		free(fx);
		return -1;
	}
	snprintf(fx->validate_out, sizeof(fx->validate_out),
		 "%s/validate.out", fx->dir);
	build_records(fx->recs);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	testutil_rmtree(fx->dir);
	for(int i = 0; i < NRECS; i++)
		tenant_record_release(&fx->recs[i]);
	free(fx);
	return 0;
}

static const char *tmp_path(struct fixture *fx, const char *name)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", fx->dir, name);
	return p;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void assert_file_equals_golden(const char *path, const char *golden)
{
	size_t n1, n2;
	char *got = testutil_read_file(path, &n1), *want = testutil_read_file(golden, &n2);

	assert_string_equal(got, want);
	assert_int_equal(n1, n2);
	free(got);
	free(want);
}

/* Stats against the file on disk: size and an independent SHA-256. */
static void check_stats(const char *path, const struct report_stats *st,
			uint64_t rows)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char hex[65];
	struct stat sb;
	size_t len;
	char *data = testutil_read_file(path, &len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_int_equal(st->rows, rows);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(st->file.bytes, (uint64_t)sb.st_size);
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	for(unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	assert_string_equal(st->file.sha256, hex);
	EVP_MD_CTX_free(ctx);
	free(data);
}

static void write_detail(struct fixture *fx, const char *path,
			 enum report_format fmt, int excel_safe,
			 struct report_stats *st)
{
	struct report_options opt = {fmt, excel_safe};
	struct report *r = NULL;
	struct pl_err err = {{0}};

	assert_int_equal(report_open_detail(path, &opt, &r, &err), PL_OK);
	for(int i = 0; i < NRECS; i++)
		assert_int_equal(report_write_tenant(r, &fx->recs[i], &err),
				 PL_OK);
	/* Nothing at the final path before commit. */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(report_commit(r, st, &err), PL_OK);
}

static void write_summary(struct fixture *fx, const char *path,
			  enum report_format fmt, struct report_stats *st)
{
	struct report_options opt = {fmt, 0};
	struct summary *s = summary_new();
	const struct summary_entry *e;
	struct report *r = NULL;
	struct pl_err err = {{0}};
	size_t n;

	assert_non_null(s);
	for(int i = 0; i < NRECS; i++)
		assert_int_equal(summary_add_tenant(s, &fx->recs[i], NULL),
				 PL_OK);
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 8);
	assert_int_equal(report_open_summary(path, &opt, &r, &err), PL_OK);
	for(size_t i = 0; i < n; i++)
		assert_int_equal(report_write_summary_row(r,
				 e[i].qualification, e[i].vetting_status,
				 e[i].count, &err), PL_OK);
	assert_int_equal(report_commit(r, st, &err), PL_OK);
	summary_free(s);
}

static void write_rejects(const char *path, struct report_stats *st)
{
	static const char *const values[] = {
		"not-a-guid", "x,\"y\"", "=HYPERLINK(\"http://evil\")", "",
		"\xff" "abc"};
	static const unsigned long lines[] = {3, 5, 7, 9, 12};
	struct report *r = NULL;
	struct pl_err err = {{0}};

	assert_int_equal(report_open_rejects(path, 0, &r, &err), PL_OK);
	for(int i = 0; i < 5; i++)
		assert_int_equal(report_write_reject(r, lines[i], values[i],
				 strlen(values[i]),
				 i == 3 ? "empty value" : "not a GUID",
				 &err), PL_OK);
	assert_int_equal(report_commit(r, st, &err), PL_OK);
}

static void test_format_names(void **state)
{
	enum report_format f = REPORT_NDJSON;
	struct pl_err err;

	(void)state;
	assert_int_equal(report_format_from_path("out.csv"), REPORT_CSV);
	assert_int_equal(report_format_from_path("out.CSV"), REPORT_CSV);
	assert_int_equal(report_format_from_path("a/out.ndjson"),
			 REPORT_NDJSON);
	assert_int_equal(report_format_from_path("out.JSONL"), REPORT_NDJSON);
	assert_int_equal(report_format_from_path("out.ndjson.gz"),
			 REPORT_NDJSON_GZ);
	assert_int_equal(report_format_from_path("out.Jsonl.GZ"),
			 REPORT_NDJSON_GZ);
	assert_int_equal(report_format_from_path("out.gz"), REPORT_CSV);
	assert_int_equal(report_format_from_path("out.json"), REPORT_CSV);
	assert_int_equal(report_format_from_path("-"), REPORT_CSV);
	assert_int_equal(report_format_from_path(".ndjson"), REPORT_NDJSON);
	assert_int_equal(report_format_from_path("ndjson"), REPORT_CSV);

	assert_int_equal(report_format_parse("ndjson.gz", &f, &err), PL_OK);
	assert_int_equal(f, REPORT_NDJSON_GZ);
	assert_int_equal(report_format_parse("csv", &f, &err), PL_OK);
	assert_int_equal(f, REPORT_CSV);
	assert_int_equal(report_format_parse("ndjson", &f, &err), PL_OK);
	assert_int_equal(f, REPORT_NDJSON);
	assert_true(report_format_has_known_suffix("a.JSONL", &f));
	assert_int_equal(f, REPORT_NDJSON);
	f = REPORT_CSV;
	assert_false(report_format_has_known_suffix("a.json", &f));
	assert_false(report_format_has_known_suffix(NULL, &f));
	assert_int_equal(f, REPORT_CSV);
	f = REPORT_NDJSON;
	assert_int_equal(report_format_parse("json", &f, &err), PL_EUSAGE);
	assert_string_equal(err.msg, "unknown format 'json' (use csv, ndjson "
			    "or ndjson.gz)");
	assert_int_equal(report_format_parse("", &f, &err), PL_EUSAGE);
	assert_int_equal(report_format_parse(NULL, &f, NULL), PL_EUSAGE);
	assert_int_equal(f, REPORT_NDJSON);
	assert_string_equal(report_format_name(REPORT_CSV), "csv");
	assert_string_equal(report_format_name(REPORT_NDJSON), "ndjson");
	assert_string_equal(report_format_name(REPORT_NDJSON_GZ), "ndjson.gz");
}

static void test_detail_csv(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "detail.csv");
	struct report_stats st;

	write_detail(fx, path, REPORT_CSV, 0, &st);
	assert_file_equals_golden(path, GOLDEN "detail.csv");
	check_stats(path, &st, NROWS);
}

static void test_detail_excel_csv(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "detail_excel.csv");
	struct report_stats st;

	write_detail(fx, path, REPORT_CSV, 1, &st);
	assert_file_equals_golden(path, GOLDEN "detail_excel.csv");
	check_stats(path, &st, NROWS);
}

static void test_detail_ndjson(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "detail.ndjson");
	struct report_stats st;

	/* excel_safe is for CSV only: NDJSON values stay exact. */
	write_detail(fx, path, REPORT_NDJSON, 1, &st);
	assert_file_equals_golden(path, GOLDEN "detail.ndjson");
	check_stats(path, &st, NROWS);
}

static void test_detail_ndjson_gz(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "detail.ndjson.gz");
	struct report_stats st;
	size_t glen, zlen;
	char *golden = testutil_read_file(GOLDEN "detail.ndjson", &glen);
	char *raw, *back;
	gzFile gz;

	write_detail(fx, path, REPORT_NDJSON_GZ, 0, &st);
	check_stats(path, &st, NROWS);
	raw = testutil_read_file(path, &zlen);
	assert_int_equal((unsigned char)raw[0], 0x1f);
	assert_int_equal((unsigned char)raw[1], 0x8b);
	free(raw);
	back = calloc(1, glen + 100);
	assert_non_null(back);
	gz = gzopen(path, "rb");
	assert_non_null(gz);
	assert_int_equal(gzread(gz, back, (unsigned)glen + 100), (int)glen);
	assert_int_equal(gzclose(gz), Z_OK);
	assert_string_equal(back, golden);
	free(back);
	free(golden);
}

static void test_summary(void **state)
{
	struct fixture *fx = *state;
	const char *csv = tmp_path(fx, "summary.csv");
	const char *nd = tmp_path(fx, "summary.ndjson");
	struct report_stats st;

	write_summary(fx, csv, REPORT_CSV, &st);
	assert_file_equals_golden(csv, GOLDEN "summary.csv");
	check_stats(csv, &st, 8);
	write_summary(fx, nd, REPORT_NDJSON, &st);
	assert_file_equals_golden(nd, GOLDEN "summary.ndjson");
	check_stats(nd, &st, 8);
}

static void test_rejects(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "rejects.ndjson");
	struct report_stats st;

	/* Rejects are CSV whatever the suffix says. */
	write_rejects(path, &st);
	assert_file_equals_golden(path, GOLDEN "rejects.csv");
	check_stats(path, &st, 5);
}

/* validate.py's exit code; its stderr goes to out (a file). */
static int run_validate(const char *schema, const char *file,
			const char *format, const char *out)
{
	char cmd[2048];
	int rc;

	snprintf(cmd, sizeof(cmd), VALIDATE " '" SCHEMAS "%s' '%s' "
		 "--format %s >'%s' 2>&1", schema, file, format, out);
	rc = system(cmd);
	assert_true(rc != -1 && WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void expect_valid(struct fixture *fx, const char *schema,
			 const char *file, const char *format)
{
	const char *out = fx->validate_out;
	size_t len;
	char *msg;

	if(run_validate(schema, file, format, out)) {
		msg = testutil_read_file(out, &len);
		fail_msg("%s against %s: %s", file, schema, msg);
	}
}

/* Expect failure, with want in validate.py's message. */
static void expect_invalid(struct fixture *fx, const char *schema,
			   const char *file, const char *format,
			   const char *want)
{
	const char *out = fx->validate_out;
	size_t len;
	char *msg;

	assert_int_equal(run_validate(schema, file, format, out), 1);
	msg = testutil_read_file(out, &len);
	if(!strstr(msg, want))
		fail_msg("expected \"%s\" in: %s", want, msg);
	free(msg);
}

static void test_schemas(void **state)
{
	struct fixture *fx = *state;
	const char *p;
	struct report_stats st;
	DIR *d;
	struct dirent *e;
	int bodies = 0;

	p = tmp_path(fx, "d.csv");
	write_detail(fx, p, REPORT_CSV, 0, &st);
	expect_valid(fx, "detail-row.schema.json", p, "csv");
	p = tmp_path(fx, "dx.csv");
	write_detail(fx, p, REPORT_CSV, 1, &st);
	expect_valid(fx, "detail-row.schema.json", p, "csv");
	p = tmp_path(fx, "d.ndjson");
	write_detail(fx, p, REPORT_NDJSON, 0, &st);
	expect_valid(fx, "detail-row.schema.json", p, "ndjson");
	p = tmp_path(fx, "d.ndjson.gz");
	write_detail(fx, p, REPORT_NDJSON_GZ, 0, &st);
	expect_valid(fx, "detail-row.schema.json", p, "ndjson.gz");
	p = tmp_path(fx, "s.csv");
	write_summary(fx, p, REPORT_CSV, &st);
	expect_valid(fx, "summary-row.schema.json", p, "csv");
	p = tmp_path(fx, "s.ndjson");
	write_summary(fx, p, REPORT_NDJSON, &st);
	expect_valid(fx, "summary-row.schema.json", p, "ndjson");
	p = tmp_path(fx, "r.csv");
	write_rejects(p, &st);
	expect_valid(fx, "reject-row.schema.json", p, "csv");

	/* The validator must be able to say no. */
	p = tmp_path(fx, "bad.ndjson");
	write_file(p, "{\"qualification\":\"Education\",\"vetting_status\":"
		      "\"Approved\",\"count\":1}\n"
		      "{\"qualification\":\"Education\",\"vetting_status\":"
		      "\"Denied\",\"count\":\"2\"}\n");
	expect_invalid(fx, "summary-row.schema.json", p, "ndjson",
		       "line 2: count: '2' is not of type 'integer'");
	write_file(p, "{\"tenant_id\":\"0A1B2C3D-0000-4000-8000-000000000001\","
		      "\"qualification\":null,\"vetting_status\":\"None\","
		      "\"vetting_reason\":null,\"vetting_created_date\":null,"
		      "\"http_status\":200,\"attempts\":1,\"error\":null,"
		      "\"request_id\":null}\n");
	expect_invalid(fx, "detail-row.schema.json", p, "ndjson",
		       "line 1: tenant_id");
	write_file(p, "{\"qualification\":\"Education\",\"count\":1,"
		      "\"vetting_status\":\"Denied\"}\n");
	expect_invalid(fx, "summary-row.schema.json", p, "ndjson",
		       "line 1: keys out of order");
	p = tmp_path(fx, "bad.csv");
	write_file(p, "line,value,reason\n4,x,not a GUID\n0,y,not a GUID\n");
	expect_invalid(fx, "reject-row.schema.json", p, "csv",
		       "row 2 (line 3): line: 0 is less than the minimum");
	write_file(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,error,"
		      "request_id\n0a1b2c3d-0000-4000-8000-000000000001,,None"
		      ",,,200,-1,,\n");
	expect_invalid(fx, "detail-row.schema.json", p, "csv",
		       "row 1 (line 2): attempts: -1 is less than");

	/* API bodies: the documented samples, when present, and the other
	 * shapes the API sends. */
	d = opendir(QR_SOURCE_DIR "/samples/bodies");
	while(d && (e = readdir(d))) {
		char body[512];
		size_t n = strlen(e->d_name);

		if(strncmp(e->d_name, "doc-", 4) || n < 5 ||
		   strcmp(e->d_name + n - 5, ".json"))
			continue;
		snprintf(body, sizeof(body), QR_SOURCE_DIR "/samples/bodies/%s",
			 e->d_name);
		expect_valid(fx, "api-response.schema.json", body, "json");
		bodies++;
	}
	if(d)
		closedir(d);
	assert_true(bodies >= 1);
	p = tmp_path(fx, "body.json");
	write_file(p, "{\"qualifications\":[{\"qualification\":"
		      "\"GovernmentCommunityCloud\",\"vettingStatus\":"
		      "\"Approved\",\"vettingCreateDate\":"
		      "\"2021-05-06T19:59:56.6832021+00:00\",\"extra\":1},"
		      "{\"qualification\":\"StateOwnedEntity\"}],"
		      "\"totalCount\":2}");
	expect_valid(fx, "api-response.schema.json", p, "json");
	write_file(p, "[]");
	expect_valid(fx, "api-response.schema.json", p, "json");
	write_file(p, "[{\"vettingStatus\":\"Approved\"}]");
	expect_invalid(fx, "api-response.schema.json", p, "json",
		       "body.json");
	write_file(p, "{\"code\":600001,\"description\":\"nope\"}");
	expect_invalid(fx, "api-response.schema.json", p, "json",
		       "body.json");
}

/*
 * One NDJSON row whose reason holds every escape and repair case: control
 * characters, quote, backslash, DEL (raw), a stray byte, a truncated
 * sequence, overlongs (C0, E0, F0), a surrogate (ED A0), beyond U+10FFFF
 * (F4 90), and valid 3- and 4-byte characters. One U+FFFD per maximal
 * ill-formed subpart, as Python's decode(errors="replace") counts them.
 */
static void test_ndjson_escaping(void **state)
{
	static const char reason[] =
		"a\x01" "b\x1f\"\\/\x7f" "\xff" "\xe2\x82" "x" "\xc0\xaf"
		"\xed\xa0\x80" "\xf0\x9f\x98\x80" "\xf4\x90\x80\x80"
		"\xe2\x82\xac" "\xe0\x80\xaf" "\xf0\x8f\xbf\xbf" "\tend";
#define FFFD "\xef\xbf\xbd"
	static const char want_json[] =
		"\"a\\u0001b\\u001f\\\"\\\\/\x7f" FFFD FFFD "x" FFFD FFFD
		FFFD FFFD FFFD "\xf0\x9f\x98\x80" FFFD FFFD FFFD FFFD
		"\xe2\x82\xac" FFFD FFFD FFFD FFFD FFFD FFFD FFFD "\\tend\"";
	static const char want_value[] =
		"a\x01" "b\x1f\"\\/\x7f" FFFD FFFD "x" FFFD FFFD FFFD FFFD FFFD
		"\xf0\x9f\x98\x80" FFFD FFFD FFFD FFFD "\xe2\x82\xac"
		FFFD FFFD FFFD FFFD FFFD FFFD FFFD "\tend";
#undef FFFD
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "esc.ndjson");
	struct report_options opt = {REPORT_NDJSON, 0};
	struct tenant_record rec;
	struct report *r = NULL;
	struct report_stats st;
	struct pl_err err = {{0}};
	struct json_object *obj, *v;
	char *data, line[1024];
	size_t len;

	set_tenant(&rec, 9, 0, 3, 1, "timeout\r\nafter 30 s");
	add_row(&rec, "Edu\bcation", "Denied", reason, "\f");
	assert_int_equal(report_open_detail(path, &opt, &r, &err), PL_OK);
	assert_int_equal(report_write_tenant(r, &rec, &err), PL_OK);
	assert_int_equal(report_commit(r, &st, &err), PL_OK);
	check_stats(path, &st, 1);
	data = testutil_read_file(path, &len);
	snprintf(line, sizeof(line), "{\"tenant_id\":\"0a1b2c3d-0000-4000-8000-"
		 "000000000009\",\"qualification\":\"Edu\\bcation\""
		 ",\"vetting_status\":\"Denied\",\"vetting_reason"
		 "\":%s,\"vetting_created_date\":\"\\f\","
		 "\"http_status\":0,\"attempts\":3,\"error\":"
		 "\"timeout\\r\\nafter 30 s\",\"request_id\":"
		 "\"9f000000-0000-5000-8000-000000000009\"}\n",
		 want_json);
	assert_string_equal(data, line);

	/* And json-c reads back the repaired value. */
	obj = json_tokener_parse(data);
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "vetting_reason", &v));
	assert_string_equal(json_object_get_string(v), want_value);
	assert_true(json_object_object_get_ex(obj, "http_status", &v));
	assert_true(json_object_is_type(v, json_type_int));
	json_object_put(obj);
	free(data);
	expect_valid(fx, "detail-row.schema.json", path, "ndjson");
	tenant_record_release(&rec);
}

static void write_tricky_rejects(const char *path, int excel_safe)
{
	static const char *const values[] = {"-1", "\tx", "\rx", "@a", "+a",
					     "=a,b", "a=b", " lead",
					     "trail\t", "in\"side", "end "};
	struct report *r = NULL;
	struct pl_err err = {{0}};

	assert_int_equal(report_open_rejects(path, excel_safe, &r, &err),
			 PL_OK);
	for(unsigned long i = 0; i < 11; i++)
		assert_int_equal(report_write_reject(r, i + 1, values[i],
				 strlen(values[i]), i ? "r" : "=bad", &err),
				 PL_OK);
	assert_int_equal(report_commit(r, NULL, &err), PL_OK);
}

static void test_excel_safe_and_quoting(void **state)
{
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "x.csv");
	size_t len;
	char *data;

	write_tricky_rejects(path, 1);
	data = testutil_read_file(path, &len);
	assert_string_equal(data, "line,value,reason\n"
				  "1,'-1,'=bad\n"
				  "2,'\tx,r\n"
				  "3,\"'\rx\",r\n"
				  "4,'@a,r\n"
				  "5,'+a,r\n"
				  "6,\"'=a,b\",r\n"
				  "7,a=b,r\n"
				  "8,\" lead\",r\n"
				  "9,\"trail\t\",r\n"
				  "10,\"in\"\"side\",r\n"
				  "11,\"end \",r\n");
	free(data);
	write_tricky_rejects(path, 0);
	data = testutil_read_file(path, &len);
	assert_string_equal(data, "line,value,reason\n"
				  "1,-1,=bad\n"
				  "2,\"\tx\",r\n"
				  "3,\"\rx\",r\n"
				  "4,@a,r\n"
				  "5,+a,r\n"
				  "6,\"=a,b\",r\n"
				  "7,a=b,r\n"
				  "8,\" lead\",r\n"
				  "9,\"trail\t\",r\n"
				  "10,\"in\"\"side\",r\n"
				  "11,\"end \",r\n");
	free(data);
	expect_valid(fx, "reject-row.schema.json", path, "csv");
}

/* Fields as libcsv's (trimming, strict) reader gives them back. */
struct parsed {
	char fields[64][128];
	int n;
};

static void on_field(void *s, size_t len, void *p)
{
	struct parsed *ps = p;

	assert_true(ps->n < 64 && len < 128);
	memcpy(ps->fields[ps->n], s, len);
	ps->fields[ps->n++][len] = '\0';
}

static void test_csv_round_trip(void **state)
{
	static const char *const values[] = {"-1", "\tx", "\rx", "@a", "+a",
					     "=a,b", "a=b", " lead",
					     "trail\t", "in\"side", "end "};
	struct fixture *fx = *state;
	const char *path = tmp_path(fx, "rt.csv");
	struct csv_parser p;
	struct parsed ps = {.n = 0};
	size_t len;
	char *data;

	write_tricky_rejects(path, 0);
	data = testutil_read_file(path, &len);
	assert_int_equal(csv_init(&p, CSV_STRICT | CSV_STRICT_FINI), 0);
	assert_int_equal(csv_parse(&p, data, len, on_field, NULL, &ps), len);
	assert_int_equal(csv_fini(&p, on_field, NULL, &ps), 0);
	csv_free(&p);
	free(data);
	assert_int_equal(ps.n, 36);
	assert_string_equal(ps.fields[1], "value");
	for(int i = 0; i < 11; i++)
		assert_string_equal(ps.fields[3 + 3 * i + 1], values[i]);
}

static void test_empty_reports(void **state)
{
	struct fixture *fx = *state;
	struct report_options csv = {REPORT_CSV, 0}, nd = {REPORT_NDJSON, 0};
	struct report *r = NULL;
	struct report_stats st;
	struct pl_err err = {{0}};
	const char *p;
	size_t len;
	char *data;

	p = tmp_path(fx, "e.csv");
	assert_int_equal(report_open_detail(p, &csv, &r, &err), PL_OK);
	assert_int_equal(report_commit(r, &st, &err), PL_OK);
	data = testutil_read_file(p, &len);
	assert_string_equal(data, "tenant_id,qualification,vetting_status,"
				  "vetting_reason,vetting_created_date,"
				  "http_status,attempts,error,request_id\n");
	free(data);
	check_stats(p, &st, 0);

	p = tmp_path(fx, "e.ndjson");
	assert_int_equal(report_open_summary(p, &nd, &r, &err), PL_OK);
	assert_int_equal(report_commit(r, &st, &err), PL_OK);
	assert_int_equal(st.file.bytes, 0);
	assert_string_equal(st.file.sha256, "e3b0c44298fc1c149afbf4c8996fb924"
					    "27ae41e4649b934ca495991b7852b855");
	check_stats(p, &st, 0);

	p = tmp_path(fx, "e-rejects.csv");
	assert_int_equal(report_open_rejects(p, 0, &r, &err), PL_OK);
	assert_int_equal(report_commit(r, &st, &err), PL_OK);
	data = testutil_read_file(p, &len);
	assert_string_equal(data, "line,value,reason\n");
	free(data);
	check_stats(p, &st, 0);
}

static void test_errors(void **state)
{
	struct fixture *fx = *state;
	struct report_options opt = {REPORT_CSV, 0};
	struct report *r = NULL;
	struct pl_err err = {{0}};
	char path[600], want[700];
	DIR *d;
	struct dirent *e;
	int entries = 0;

	assert_int_equal(report_open_detail("/dev/full", &opt, &r, &err),
			 PL_OK);
	for(int i = 0; i < NRECS; i++)
		assert_int_equal(report_write_tenant(r, &fx->recs[i], &err),
				 PL_OK);
	assert_int_equal(report_commit(r, NULL, &err), PL_EOUTPUT);
	assert_string_equal(err.msg, "cannot write /dev/full: "
				     "No space left on device");

	snprintf(path, sizeof(path), "%s/no/such/dir/detail.csv", fx->dir);
	assert_int_equal(report_open_detail(path, &opt, &r, &err),
			 PL_EOUTPUT);
	assert_null(r);
	snprintf(want, sizeof(want),
		 "cannot open %s: No such file or directory", path);
	assert_string_equal(err.msg, want);

	/* Abort after rows: nothing at all is left in the directory. */
	snprintf(path, sizeof(path), "%s/aborted.csv", fx->dir);
	assert_int_equal(report_open_detail(path, &opt, &r, &err), PL_OK);
	assert_int_equal(report_write_tenant(r, &fx->recs[0], &err), PL_OK);
	report_abort(r);
	report_abort(NULL);
	d = opendir(fx->dir);
	assert_non_null(d);
	while((e = readdir(d)))
		entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	assert_int_equal(entries, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_format_names),
		T(test_detail_csv),
		T(test_detail_excel_csv),
		T(test_detail_ndjson),
		T(test_detail_ndjson_gz),
		T(test_summary),
		T(test_rejects),
		T(test_schemas),
		T(test_ndjson_escaping),
		T(test_excel_safe_and_quoting),
		T(test_csv_round_trip),
		T(test_empty_reports),
		T(test_errors),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
