/*
 * test_previous: last run's detail report read back exactly from what the
 * report writers write (CSV, NDJSON, NDJSON.gz), sequentially and by
 * offset, in any order and across buffer refills; hand-edited CSV (BOM,
 * CRLF, CR, quoted line breaks); the manifest path (resolution, SHA-256
 * check naming both hashes); and every refusal naming file and line: an
 * older column order, a malformed record, a bad value, a truncated gzip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "manifest.h"
#include "previous.h"
#include "record.h"
#include "report.h"
#include "testutil.h"

#define HDR "tenant_id,qualification,vetting_status,vetting_reason," \
	"vetting_created_date,http_status,attempts,error,request_id\n"
#define T1 "0a1b2c3d-0000-4000-8000-000000000001"
#define T2 "0a1b2c3d-0000-4000-8000-000000000002"
#define RQ "9f000000-0000-5000-8000-000000000001"

struct fixture {
	char dir[64];
	char path[4][300];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if(!fx || testutil_mkdtemp(fx->dir, sizeof(fx->dir), "previous"))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	testutil_rmtree(fx->dir);
	free(fx);
	return 0;
}

static const char *at(struct fixture *fx, int k, const char *name)
{
	snprintf(fx->path[k], sizeof(fx->path[k]), "%s/%s", fx->dir, name);
	return fx->path[k];
}

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
	write_file(path, text, strlen(text));
}

static void add(struct tenant_record *r, const char *q, const char *st,
		const char *reason, const char *date)
{
	assert_int_equal(tenant_record_add_row(r, q, st, reason, date, NULL),
			 PL_OK);
}

static void set(struct tenant_record *r, unsigned n, long http,
		unsigned attempts, const char *error, enum tenant_outcome o)
{
	tenant_record_init(r);
	snprintf(r->tenant_id, sizeof(r->tenant_id),
		 "0a1b2c3d-0000-4000-8000-%012u", n);
	snprintf(r->request_id, sizeof(r->request_id),
		 "9f000000-0000-5000-8000-%012u", n);
	r->http_status = http;
	r->attempts = attempts;
	r->outcome = o;
	assert_int_equal(tenant_record_set_error(r, error, NULL), PL_OK);
}

/* Tenant n of a deterministic set: every shape a detail report has. */
static void tenant(struct tenant_record *r, unsigned n)
{
	char reason[128];

	switch(n % 6) {
	case 0:
		set(r, n, 200, 1, NULL, OUTCOME_ANSWERED);
		add(r, "Education", "Approved", NULL,
		    "2021-05-06T19:59:56.6832021Z");
		add(r, "StateOwnedEntity", NULL, NULL, NULL);
		break;
	case 1:
		set(r, n, 200, 2, NULL, OUTCOME_ANSWERED);
		snprintf(reason, sizeof(reason), "  \"Not\" an, Education\n"
			 "customer %u \xe2\x80\x93 \xc3\xbc\r\nend ", n);
		add(r, "Education", "Denied", reason, "2020-12-03T10:37:38Z");
		break;
	case 2:
		set(r, n, 200, 1, NULL, OUTCOME_ANSWERED);
		add(r, NULL, "None", NULL, NULL);
		break;
	case 3:
		set(r, n, 404, 1, "60003: Tenant not found",
		    OUTCOME_NOT_FOUND);
		add(r, NULL, "NotFound", NULL, NULL);
		break;
	case 4:
		set(r, n, 503, 6, "HTTP 503 Service Unavailable",
		    OUTCOME_FAILED);
		add(r, NULL, "Error", NULL, NULL);
		break;
	default:
		set(r, n, 200, 1, NULL, OUTCOME_ANSWERED);
		add(r, "GovernmentCommunityCloud", "InReview", NULL,
		    "not a date");
		add(r, "Education", "InReview", "=1+1", NULL);
		add(r, "Education", "InReview", "=1+1", NULL);
		break;
	}
}

static void write_detail(const char *path, unsigned n)
{
	struct report_options opt = {report_format_from_path(path), 0};
	struct report *r = NULL;
	struct pl_err err = {{0}};

	assert_int_equal(report_open_detail(path, &opt, &r, &err), PL_OK);
	for(unsigned i = 0; i < n; i++) {
		struct tenant_record rec;

		tenant(&rec, i);
		assert_int_equal(report_write_tenant(r, &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	assert_int_equal(report_commit(r, NULL, &err), PL_OK);
}

static void assert_str(const char *got, const char *want)
{
	if(!want)
		assert_null(got);
	else
		assert_string_equal(got ? got : "(null)", want);
}

static void assert_same(const struct tenant_record *got,
			const struct tenant_record *want)
{
	assert_string_equal(got->tenant_id, want->tenant_id);
	assert_string_equal(got->request_id, want->request_id);
	assert_int_equal(got->http_status, want->http_status);
	assert_int_equal(got->attempts, want->attempts);
	assert_int_equal(got->outcome, want->outcome);
	assert_str(got->error, want->error);
	assert_int_equal(got->nrows, want->nrows);
	for(size_t i = 0; i < got->nrows; i++) {
		assert_str(got->rows[i].qualification,
			   want->rows[i].qualification);
		assert_str(got->rows[i].vetting_status,
			   want->rows[i].vetting_status);
		assert_str(got->rows[i].vetting_reason,
			   want->rows[i].vetting_reason);
		assert_str(got->rows[i].vetting_created_date,
			   want->rows[i].vetting_created_date);
	}
}

/* Read every tenant back in order, then by offset from last to first. */
static void round_trip(const char *path, unsigned n)
{
	struct previous *p = NULL;
	struct pl_err err = {{0}};
	struct tenant_record got, want;
	uint64_t *offs = calloc(n + 1, sizeof(*offs));
	bool end = false;

	assert_non_null(offs);
	write_detail(path, n);
	assert_int_equal(previous_open(path, &p, &err), PL_OK);
	assert_int_equal(strlen(previous_sha256(p)), 64);
	tenant_record_init(&got);
	for(int pass = 0; pass < 2; pass++) {
		assert_int_equal(previous_rewind(p, &err), PL_OK);
		for(unsigned i = 0; i < n; i++) {
			uint64_t off;

			assert_int_equal(previous_next(p, &got, &off, &end,
						       &err), PL_OK);
			assert_false(end);
			tenant(&want, i);
			assert_same(&got, &want);
			tenant_record_release(&want);
			if(pass)
				assert_int_equal(off, offs[i]);
			offs[i] = off;
		}
		assert_int_equal(previous_next(p, &got, &offs[n], &end, &err),
				 PL_OK);
		assert_true(end);
		assert_int_equal(got.nrows, 0);
	}
	for(unsigned i = n; i-- > 0;) {
		assert_int_equal(previous_load(p, offs[i], &got, &err), PL_OK);
		tenant(&want, i);
		assert_same(&got, &want);
		tenant_record_release(&want);
	}
	/* and forwards again, as a run in the same order loads them */
	for(unsigned i = 0; i < n; i++) {
		assert_int_equal(previous_load(p, offs[i], &got, &err), PL_OK);
		tenant(&want, i);
		assert_same(&got, &want);
		tenant_record_release(&want);
	}
	tenant_record_release(&got);
	previous_free(p);
	free(offs);
}

static void test_round_trip(void **state)
{
	struct fixture *fx = *state;

	round_trip(at(fx, 0, "small.csv"), 12);
	round_trip(at(fx, 0, "small.ndjson"), 12);
	round_trip(at(fx, 0, "small.ndjson.gz"), 12);
	round_trip(at(fx, 0, "small.jsonl"), 12);
	/* Many buffers' worth, every refill and seek path. */
	round_trip(at(fx, 0, "big.csv"), 6000);
	round_trip(at(fx, 0, "big.ndjson.gz"), 6000);
	/* Nothing: a CSV with its header only, an empty NDJSON. */
	round_trip(at(fx, 0, "none.csv"), 0);
	round_trip(at(fx, 0, "none.ndjson"), 0);
	round_trip(at(fx, 0, "none.ndjson.gz"), 0);
}

/* Read path's tenants into one line per row "tenant/q/status/reason". */
static enum pl_status dump(const char *path, char *out, size_t len,
			   struct pl_err *err)
{
	struct previous *p = NULL;
	struct tenant_record rec;
	enum pl_status st;
	size_t used = 0;
	bool end = false;

	out[0] = '\0';
	st = previous_open(path, &p, err);
	tenant_record_init(&rec);
	while(!st) {
		uint64_t off;

		st = previous_next(p, &rec, &off, &end, err);
		if(st || end)
			break;
		for(size_t i = 0; i < rec.nrows; i++)
			used += (size_t)snprintf(out + used, len - used,
				"%s/%s/%s/%s/%d\n", rec.tenant_id + 30,
				rec.rows[i].qualification
				? rec.rows[i].qualification : "",
				rec.rows[i].vetting_status
				? rec.rows[i].vetting_status : "",
				rec.rows[i].vetting_reason
				? rec.rows[i].vetting_reason : "",
				(int)rec.outcome);
	}
	tenant_record_release(&rec);
	previous_free(p);
	return st;
}

static void test_hand_edited_csv(void **state)
{
	struct fixture *fx = *state;
	struct pl_err err = {{0}};
	char out[2048];
	const char *p = at(fx, 0, "edited.csv");
	static const char crlf[] =
		"\xef\xbb\xbf" "tenant_id,qualification,vetting_status,"
		"vetting_reason,vetting_created_date,http_status,attempts,"
		"error,request_id\r\n"
		"0A1B2C3D-0000-4000-8000-000000000001,Education,Denied,"
		"\"two\r\nlines\",,200,1,,\r\n"
		"\r\n"
		T2 ",,Error,,,0,6,timeout after 30 s,\r\n";

	write_text(p, crlf);
	assert_int_equal(dump(p, out, sizeof(out), &err), PL_OK);
	assert_string_equal(out, "000001/Education/Denied/two\r\nlines/0\n"
				 "000002//Error//2\n");
	/* Old Mac line ends. */
	write_text(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,error,"
		      "request_id\r" T1 ",,NotFound,,,404,1,,\r" T2
		      ",,None,,,200,1,,");
	assert_int_equal(dump(p, out, sizeof(out), &err), PL_OK);
	assert_string_equal(out, "000001//NotFound//1\n000002//None//0\n");
}

static void expect_refused(const char *path, const char *msg)
{
	struct pl_err err = {{0}};
	char out[4096];

	assert_int_equal(dump(path, out, sizeof(out), &err), PL_EINPUT);
	if(!strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static void test_columns_refused(void **state)
{
	struct fixture *fx = *state;
	const char *p = at(fx, 0, "old.csv");
	const char *j = at(fx, 1, "old.ndjson");
	char want[600];

	/* An older column order. */
	write_text(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,request_id,"
		      "error\n" T1 ",,None,,,200,1,,\n");
	snprintf(want, sizeof(want), "%s: not a detail report of this "
		 "version: header column 8 is 'request_id' where it has "
		 "'error' (columns: tenant_id,", p);
	expect_refused(p, want);
	/* One column short, one too many, another file entirely. */
	write_text(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,error\n");
	expect_refused(p, "the header has 8 columns, column 9 'request_id' "
		       "is missing");
	write_text(p, HDR "x\n");
	expect_refused(p, ":2: 1 fields where the detail report has 9");
	write_text(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,error,"
		      "request_id,extra\n");
	expect_refused(p, "the header has 10 columns, 9 expected");
	write_text(p, "qualification,vetting_status,count\nEducation,"
		      "Approved,3\n");
	expect_refused(p, "header column 1 is 'qualification' where it has "
		       "'tenant_id'");
	write_text(p, "");
	expect_refused(p, "empty, not a detail report (no header row)");

	/* NDJSON keys: order, missing, extra. */
	write_text(j, "{\"tenant_id\":\"" T1 "\",\"qualification\":null,"
		      "\"vetting_reason\":null,\"vetting_status\":\"None\","
		      "\"vetting_created_date\":null,\"http_status\":200,"
		      "\"attempts\":1,\"error\":null,\"request_id\":null}\n");
	snprintf(want, sizeof(want), "%s:1: not a detail report of this "
		 "version: key 3 is \"vetting_reason\" where it has "
		 "\"vetting_status\"", j);
	expect_refused(j, want);
	write_text(j, "{\"tenant_id\":\"" T1 "\",\"qualification\":null,"
		      "\"vetting_status\":\"None\",\"vetting_reason\":null,"
		      "\"vetting_created_date\":null,\"http_status\":200,"
		      "\"attempts\":1,\"error\":null}\n");
	expect_refused(j, ":1: not a detail report of this version: key 9 "
		       "\"request_id\" is missing");
	write_text(j, "{\"tenant_id\":\"" T1 "\",\"qualification\":null,"
		      "\"vetting_status\":\"None\",\"vetting_reason\":null,"
		      "\"vetting_created_date\":null,\"http_status\":200,"
		      "\"attempts\":1,\"error\":null,\"request_id\":null,"
		      "\"x\":1}\n");
	expect_refused(j, ":1: not a detail report of this version: key 10 "
		       "\"x\" after its 9");
}

#define NDJ(t, http) "{\"tenant_id\":\"" t "\",\"qualification\":null," \
	"\"vetting_status\":\"None\",\"vetting_reason\":null," \
	"\"vetting_created_date\":null,\"http_status\":" http "," \
	"\"attempts\":1,\"error\":null,\"request_id\":null}\n"

static void test_malformed(void **state)
{
	struct fixture *fx = *state;
	const char *p = at(fx, 0, "bad.csv");
	const char *j = at(fx, 1, "bad.ndjson");
	const char *g = at(fx, 2, "bad.ndjson.gz");
	char want[600], out[4096];
	struct pl_err err = {{0}};

	write_text(p, HDR T1 ",,None,,,200,1,,\n"
		      T2 ",\"Edu\"cation,Approved,,,200,1,,\n");
	snprintf(want, sizeof(want), "%s:3: malformed CSV", p);
	expect_refused(p, want);
	write_text(p, HDR T1 ",,None,,,200,1,,\n" T1 ",\"unterminated,None,"
		      ",,200,1,,\n" T2 ",,None,,,200,1,,\n");
	snprintf(want, sizeof(want), "%s:3: malformed CSV: the record never "
		 "ends (a quote not closed?)", p);
	expect_refused(p, want);
	write_text(p, HDR T1 ",,None,,,200,1,,\n\nnot-a-guid,,None,,,200,1,"
		      ",\n");
	snprintf(want, sizeof(want), "%s:4: tenant_id 'not-a-guid': not a "
		 "GUID", p);
	expect_refused(p, want);
	write_text(p, HDR T1 ",,None,,,2OO,1,,\n");
	expect_refused(p, ":2: http_status '2OO' is not an HTTP status");
	write_text(p, HDR T1 ",,None,,,200,-1,,\n");
	expect_refused(p, ":2: attempts '-1' is not a count");
	write_text(p, HDR T1 ",,None,,,200,1,,nope\n");
	expect_refused(p, ":2: request_id 'nope' is not a GUID");

	/* NDJSON: a bad line among good ones (blank lines are skipped). */
	write_text(j, NDJ(T1, "200") "\n{\"tenant_id\": \n" NDJ(T2, "200"));
	snprintf(want, sizeof(want), "%s:3: not JSON", j);
	expect_refused(j, want);
	write_text(j, NDJ(T1, "200") "[1,2]\n");
	expect_refused(j, ":2: not a JSON object");
	write_text(j, NDJ(T1, "\"200\""));
	expect_refused(j, ":1: http_status is not an integer");
	write_text(j, NDJ(T1, "200") " {\"a\":1} x\n");
	expect_refused(j, ":2: not JSON");
	write_text(j, NDJ(T1, "200") "\n\n" NDJ(T2, "404"));
	assert_int_equal(dump(j, out, sizeof(out), &err), PL_OK);
	assert_string_equal(out, "000001//None//0\n000002//None//0\n");

	/* Gzip: truncated, not gzip at all, and two members (as zcat). */
	write_detail(g, 6);
	{
		size_t n;
		char *data = testutil_read_file(g, &n);

		write_file(g, data, n - 9);
		expect_refused(g, "truncated gzip data");
		write_file(g, data, n);
		/* appended: a second member */
		{
			FILE *f = fopen(g, "ab");

			assert_non_null(f);
			assert_int_equal(fwrite(data, 1, n, f), n);
			fclose(f);
		}
		assert_int_equal(dump(g, out, sizeof(out), &err), PL_OK);
		free(data);
	}
	write_text(g, "plain text\n");
	expect_refused(g, "not gzip data, or corrupt");
	/* Neither a report suffix nor a manifest, a directory, missing. */
	expect_refused(at(fx, 3, "prev.txt"), "give a detail report (.csv, "
		       ".ndjson, .ndjson.gz) or a run manifest (.json)");
	mkdir(at(fx, 3, "dir.csv"), 0700);
	expect_refused(fx->path[3], "not a regular file");
	expect_refused(at(fx, 3, "missing.csv"), "cannot open previous "
		       "report");
}

/* A manifest naming the detail report as `recorded`, with its hash. */
static void write_manifest(const char *path, const char *recorded,
			   const char *format, const char *sha)
{
	struct manifest m;
	struct manifest_output out = {"detail", recorded, format, 1, 1, sha};
	struct pl_err err = {{0}};

	memset(&m, 0, sizeof(m));
	m.version = "test";
	m.correlation_id = "7d2456fd-2d79-46d0-9f8e-5d7ecd5f8745";
	m.input_path = "in.csv";
	m.input_sha256 = sha;
	m.outputs = &out;
	m.noutputs = 1;
	assert_int_equal(manifest_write(path, &m, &err), PL_OK);
}

static void test_manifest(void **state)
{
	struct fixture *fx = *state;
	struct previous *p = NULL;
	struct pl_err err = {{0}};
	char sha[65], want[800], out[4096];
	const char *detail = at(fx, 0, "q.ndjson.gz");
	const char *man = at(fx, 1, "q.ndjson.gz.manifest.json");

	write_detail(detail, 6);
	assert_int_equal(previous_open(detail, &p, &err), PL_OK);
	snprintf(sha, sizeof(sha), "%s", previous_sha256(p));
	previous_free(p);

	/* Recorded relative to another directory: found beside it. */
	write_manifest(man, "somewhere/else/q.ndjson.gz", "ndjson.gz", sha);
	assert_int_equal(previous_open(man, &p, &err), PL_OK);
	assert_string_equal(previous_detail_path(p), detail);
	assert_int_equal(previous_format(p), REPORT_NDJSON_GZ);
	previous_free(p);
	assert_int_equal(dump(man, out, sizeof(out), &err), PL_OK);
	assert_non_null(strstr(out, "000004//Error//2\n"));
	/* Absolute, as recorded; moved since: beside the manifest. */
	write_manifest(man, detail, "ndjson.gz", sha);
	assert_int_equal(dump(man, out, sizeof(out), &err), PL_OK);
	write_manifest(man, "/nonexistent/archive/q.ndjson.gz", "ndjson.gz",
		       sha);
	assert_int_equal(previous_open(man, &p, &err), PL_OK);
	assert_string_equal(previous_detail_path(p), detail);
	previous_free(p);

	/* Another detail report than the manifest's: both hashes named. */
	write_detail(detail, 7);
	assert_int_equal(previous_open(detail, &p, &err), PL_OK);
	snprintf(want, sizeof(want), "%s: SHA-256 %s, but the manifest %s "
		 "records %s", detail, previous_sha256(p), man, sha);
	previous_free(p);
	expect_refused(man, want);

	write_manifest(man, "gone/nowhere.csv", "csv", sha);
	expect_refused(man, "cannot find the detail report it lists");
	write_manifest(man, "-", "csv", sha);
	expect_refused(man, "wrote its detail report to standard output");
	write_text(man, "{\"tool\":\"other\"}");
	expect_refused(man, "not a qualreport manifest");
	write_text(man, "{\"tool\":\"qualreport\",\"outputs\":[{\"role\":"
			"\"summary\",\"path\":\"s.csv\",\"format\":\"csv\","
			"\"sha256\":\"" "0000000000000000000000000000000000"
			"000000000000000000000000000000\"}]}");
	expect_refused(man, "lists no detail report");
}

int main(void)
{
#define F(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		F(test_round_trip),
		F(test_hand_edited_csv),
		F(test_columns_refused),
		F(test_malformed),
		F(test_manifest),
	};
#undef F

	return cmocka_run_group_tests(tests, NULL, NULL);
}
