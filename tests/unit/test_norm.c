/*
 * test_norm.c: the JSON normalizer, without a network. Every case checks
 * all row fields, the error and the outcome exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"

#define SAMPLES QR_SOURCE_DIR "/samples/bodies/"
#define SUITE QR_TESTDATA_DIR "/JSONTestSuite/test_parsing/"

#define TENANT "0b5c6d3e-1f2a-4b3c-8d4e-5f6a7b8c9d0e"
#define REQID "11111111-2222-4333-8444-555555555555"

/* Whole file into a buffer of exactly its size (so ASan sees overreads). */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc(n ? (size_t)n : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A heap copy of exactly n bytes. */
static char *exact(const char *s, size_t n)
{
	char *p = malloc(n ? n : 1);

	assert_non_null(p);
	if(n)
		memcpy(p, s, n);
	return p;
}

/* Whether needle occurs in the n bytes at hay. */
static int contains(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for(size_t i = 0; i + k <= n; i++)
		if(!memcmp(hay + i, needle, k))
			return 1;
	return 0;
}

static void rec_start(struct tenant_record *rec, long status)
{
	tenant_record_init(rec);
	strcpy(rec->tenant_id, TENANT);
	strcpy(rec->request_id, REQID);
	rec->http_status = status;
	rec->attempts = 2;
}

/* Normalize n bytes copied into an exact-size heap buffer. */
static void run_n(struct tenant_record *rec, long status, const char *body,
		  size_t n)
{
	char *copy = exact(body, n);

	rec_start(rec, status);
	assert_int_equal(norm_answer(status, copy, n, rec, NULL), PL_OK);
	free(copy);
	/* norm never touches the caller's fields. */
	assert_string_equal(rec->tenant_id, TENANT);
	assert_string_equal(rec->request_id, REQID);
	assert_int_equal(rec->http_status, status);
	assert_int_equal(rec->attempts, 2);
}

/* norm_api_error, which must succeed: the text or NULL. */
static char *api_error(const char *body, size_t len)
{
	struct pl_err err;
	char *text = (char *)"unset";

	assert_int_equal(norm_api_error(body, len, &text, &err), PL_OK);
	return text;
}

static void run(struct tenant_record *rec, long status, const char *body)
{
	run_n(rec, status, body, strlen(body));
}

static void run_file(struct tenant_record *rec, long status, const char *name)
{
	size_t len;
	char *body = slurp(name, &len);

	rec_start(rec, status);
	assert_int_equal(norm_answer(status, body, len, rec, NULL), PL_OK);
	free(body);
}

static void str_eq(const char *got, const char *want)
{
	if(!want) {
		assert_null(got);
	} else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
}

static void row_eq(const struct tenant_record *rec, size_t i, const char *q,
		   const char *status, const char *reason, const char *date)
{
	assert_true(i < rec->nrows);
	str_eq(rec->rows[i].qualification, q);
	str_eq(rec->rows[i].vetting_status, status);
	str_eq(rec->rows[i].vetting_reason, reason);
	str_eq(rec->rows[i].vetting_created_date, date);
}

/* rec is exactly one row (NULL, status, NULL, NULL) with error, outcome. */
static void single_eq(const struct tenant_record *rec, const char *status,
		      const char *error, enum tenant_outcome outcome)
{
	assert_int_equal(rec->nrows, 1);
	row_eq(rec, 0, NULL, status, NULL, NULL);
	str_eq(rec->error, error);
	assert_int_equal(rec->outcome, outcome);
}

static void expect_error(long status, const char *body, const char *reason)
{
	struct tenant_record rec;

	run(&rec, status, body);
	single_eq(&rec, "Error", reason, OUTCOME_FAILED);
	tenant_record_release(&rec);
}

static void expect_none(long status, const char *body)
{
	struct tenant_record rec;

	run(&rec, status, body);
	single_eq(&rec, "None", NULL, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

/* rec holds exactly one answered row. */
static void expect_one(long status, const char *body, const char *q,
		       const char *st, const char *reason, const char *date)
{
	struct tenant_record rec;

	run(&rec, status, body);
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, q, st, reason, date);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

static void test_seed_examples(void **state)
{
	struct tenant_record rec;

	(void)state;
	run_file(&rec, 200, SAMPLES "approved.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "Approved", NULL, NULL);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "inreview.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "InReview", NULL,
	       "2020-12-03T10:37:38.885Z");
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "denied.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "Denied", "Not an Education Customer",
	       "2020-12-03T10:37:38.885Z");
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

static void test_seed_bodies_are_verbatim(void **state)
{
	size_t len;
	char *body;

	(void)state;
	/* The quirks the parser must accept are really in the samples. */
	body = slurp(SAMPLES "approved.json", &len);
	assert_true(contains(body, len, "\"Approved\",\n        }"));
	free(body);
	body = slurp(SAMPLES "denied.json", &len);
	assert_true(contains(body, len, "// example Vetting Reason"));
	assert_true(contains(body, len, "\" // UTC\n"));
	free(body);
	body = slurp(SAMPLES "inreview.json", &len);
	assert_true(contains(body, len, "\"qualifications\": ["));
	assert_true(contains(body, len, "\" // UTC\n"));
	free(body);
}

static void test_doc_bodies(void **state)
{
	struct tenant_record rec;

	(void)state;
	run_file(&rec, 200, SAMPLES "doc-approved.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "Approved", NULL, NULL);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "doc-inreview.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "InReview", NULL,
	       "2020-12-03T10:37:38.885Z");
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "doc-denied.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "Denied", "Not an Education Customer",
	       "2020-12-03T10:37:38.885Z");
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "doc-soe.json");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "StateOwnedEntity", NULL, NULL, NULL);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "doc-edu-soe.json");
	assert_int_equal(rec.nrows, 2);
	row_eq(&rec, 0, "Education", "Approved", NULL, NULL);
	row_eq(&rec, 1, "StateOwnedEntity", NULL, NULL, NULL);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);

	run_file(&rec, 200, SAMPLES "doc-gcc-soe.json");
	assert_int_equal(rec.nrows, 2);
	row_eq(&rec, 0, "GovernmentCommunityCloud", "Approved", NULL,
	       "2021-05-06T19:59:56.6832021Z");
	row_eq(&rec, 1, "StateOwnedEntity", NULL, NULL, NULL);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

static void test_bom(void **state)
{
	(void)state;
	expect_one(200, "\xEF\xBB\xBF[{\"qualification\":\"Education\","
		   "\"vettingStatus\":\"Approved\"}]",
		   "Education", "Approved", NULL, NULL);
	expect_one(200, "\xEF\xBB\xBF {\"qualifications\":[{\"qualification\":"
		   "\"Education\",\"vettingStatus\":\"InReview\"},]}\r\n",
		   "Education", "InReview", NULL, NULL);
	/* Only one BOM is skipped; a second is not JSON. */
	expect_error(200, "\xEF\xBB\xBF\xEF\xBB\xBF[]",
		     "malformed JSON: invalid utf-8 string at offset 3 near "
		     "'???[]'");
	/* A BOM and nothing else says nothing. */
	expect_error(200, "\xEF\xBB\xBF", "unexpected body: empty");
}

static void test_date_keys(void **state)
{
	(void)state;
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"InReview\",\"vettingCreatedDate\":"
		   "\"2020-12-04T20:54:24Z\"}]",
		   "Education", "InReview", NULL, "2020-12-04T20:54:24Z");
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"InReview\",\"vettingCreateDate\":"
		   "\"2020-12-04T20:54:24Z\"}]",
		   "Education", "InReview", NULL, "2020-12-04T20:54:24Z");
	expect_one(200, "[{\"qualification\":\"Education\","
		   "\"VETTINGCREATEDATE\":\"2020-12-04T21:54:24+01:00\"}]",
		   "Education", NULL, NULL, "2020-12-04T20:54:24Z");
	/* Not a date: kept verbatim. */
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"Denied\",\"vettingCreateDate\":"
		   "\"07/09/2020: 00:00:00\"}]",
		   "Education", "Denied", NULL, "07/09/2020: 00:00:00");
	/* Both spellings: the later key wins. */
	expect_one(200, "[{\"qualification\":\"Education\","
		   "\"vettingCreateDate\":\"2020-01-01T00:00:00Z\","
		   "\"vettingCreatedDate\":\"2021-01-01T00:00:00Z\"}]",
		   "Education", NULL, NULL, "2021-01-01T00:00:00Z");
	/* null date: empty. */
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"Approved\",\"vettingCreateDate\":null}]",
		   "Education", "Approved", NULL, NULL);
}

static void test_pascal_case(void **state)
{
	(void)state;
	expect_one(200, "{\"Qualifications\":[{\"Qualification\":\"Education\","
		   "\"VettingStatus\":\"Denied\",\"VettingReason\":"
		   "\"Not an Academic Domain\",\"VettingCreateDate\":"
		   "\"2020-12-03T10:37:38Z\"}]}",
		   "Education", "Denied", "Not an Academic Domain",
		   "2020-12-03T10:37:38Z");
	expect_one(200, "[{\"QUALIFICATION\":\"Education\","
		   "\"vettingstatus\":\"Approved\"}]",
		   "Education", "Approved", NULL, NULL);
}

static void test_none(void **state)
{
	struct tenant_record rec;

	(void)state;
	expect_none(200, "[]");
	expect_none(200, " [ ] \n");
	expect_none(200, "{\"qualifications\": []}");
	expect_none(200, "{\"QUALIFICATIONS\": [], \"links\": {}}");
	expect_none(200, "{\"qualifications\": null}");
	expect_none(200, "{}");
	expect_none(200, "[{\"qualification\":\"None\"}]");
	expect_none(200, "[{\"qualification\":\"none\",\"vettingStatus\":null,"
		    "\"vettingReason\":\"\"}]");
	expect_none(201, "[]");
	expect_none(204, "");
	expect_none(204, "whatever");
	/* An empty 200 is not an answer. */
	expect_error(200, "", "unexpected body: empty");
	expect_error(200, " \r\n\t// nothing\n/* at all */ ",
		     "unexpected body: empty");
	/* "None" with vetting data is kept as a row. */
	expect_one(200, "[{\"qualification\":\"None\",\"vettingStatus\":"
		   "\"Approved\"}]", "None", "Approved", NULL, NULL);
	/* A None placeholder beside a real entry adds nothing. */
	run(&rec, 200, "[{\"qualification\":\"NONE\"},{\"qualification\":"
	    "\"Education\",\"vettingStatus\":\"Approved\"}]");
	assert_int_equal(rec.nrows, 1);
	row_eq(&rec, 0, "Education", "Approved", NULL, NULL);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

static void test_open_set_and_unknown_keys(void **state)
{
	struct tenant_record rec;

	(void)state;
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"Escalated\"}]", "Education", "Escalated", NULL, NULL);
	expect_one(200, "[{\"qualification\":\"Nonprofit\",\"vettingStatus\":"
		   "\"approved\",\"educationSegment\":\"K12\",\"website\":"
		   "\"contoso.edu\",\"extra\":{\"a\":[1,2,{\"b\":null}]},"
		   "\"n\":1.5e3,\"t\":true}]",
		   "Nonprofit", "approved", NULL, NULL);
	/* Unknown wrapper keys too (SDK-style collection). */
	run(&rec, 200, "{\"totalCount\":2,\"qualifications\":"
	    "[{\"qualification\":\"Education\",\"vettingStatus\":"
	    "\"Approved\"},{\"qualification\":\"StateOwnedEntity\"}],"
	    "\"attributes\":{\"objectType\":\"Collection\"}}");
	assert_int_equal(rec.nrows, 2);
	row_eq(&rec, 0, "Education", "Approved", NULL, NULL);
	row_eq(&rec, 1, "StateOwnedEntity", NULL, NULL, NULL);
	assert_null(rec.error);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
	/* The POST reply's shape: a lone entry object. */
	expect_one(200, "{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"InReview\",\"vettingCreateDate\":"
		   "\"2020-12-04T20:54:24Z\"}",
		   "Education", "InReview", NULL, "2020-12-04T20:54:24Z");
	/* Comments and trailing commas anywhere json-c allows them. */
	expect_one(200, "/* lead */ [ // one\n{\"qualification\":\"Education\","
		   " /* x */ \"vettingStatus\":\"Approved\",},] // end",
		   "Education", "Approved", NULL, NULL);
}

static void test_wrong_types(void **state)
{
	static const struct {
		const char *body;
		const char *reason;
	} cases[] = {
		{ "[{\"qualification\":\"Education\"}, 5]",
		  "unexpected body: entry 2 is not an object" },
		{ "[[]]", "unexpected body: entry 1 is not an object" },
		{ "[null]", "unexpected body: entry 1 is not an object" },
		{ "[{\"qualification\":\"Education\"},{\"vettingStatus\":"
		  "\"Approved\"}]",
		  "unexpected body: entry 2 has no qualification" },
		{ "[{\"qualification\":null}]",
		  "unexpected body: entry 1 has no qualification" },
		{ "[{\"qualification\":\"\"}]",
		  "unexpected body: entry 1 has no qualification" },
		{ "[{\"qualification\":7}]",
		  "unexpected body: entry 1 qualification is not a string" },
		{ "[{\"qualification\":\"Education\",\"vettingStatus\":true}]",
		  "unexpected body: entry 1 vettingStatus is not a string" },
		{ "[{\"qualification\":\"Education\",\"vettingStatus\":"
		  "[\"Approved\"]}]",
		  "unexpected body: entry 1 vettingStatus is not a string" },
		{ "[{\"qualification\":\"Education\",\"VettingReason\":{}}]",
		  "unexpected body: entry 1 vettingReason is not a string" },
		{ "[{\"qualification\":\"Education\",\"vettingcreatedate\":"
		  "20201203}]",
		  "unexpected body: entry 1 vettingCreateDate is not a "
		  "string" },
		{ "{\"qualifications\":{\"qualification\":\"Education\"}}",
		  "unexpected body: qualifications is not a list" },
		{ "{\"qualifications\":\"Education\"}",
		  "unexpected body: qualifications is not a list" },
		{ "{\"items\":[],\"totalCount\":0}",
		  "unexpected body: object without qualifications" },
		{ "\"education\"", "unexpected body: top-level string" },
		{ "123", "unexpected body: top-level number" },
		{ "-1.5e3 ", "unexpected body: top-level number" },
		{ "true", "unexpected body: top-level boolean" },
		{ "null", "unexpected body: top-level null" },
		{ "null // x", "unexpected body: top-level null" },
		/* An API error inside a 200 is still a failure. */
		{ "{\"code\":20002,\"description\":\"No relationship between "
		  "caller and account.\",\"data\":[],\"source\":\"PartnerFD\"}",
		  "20002: No relationship between caller and account." },
		{ "{\"statusCode\":429,\"message\":\"Slow down.\"}",
		  "Slow down." },
	};
	struct tenant_record rec;

	(void)state;
	for(size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
		expect_error(200, cases[i].body, cases[i].reason);
	/* Rows already added for earlier entries are dropped. */
	run(&rec, 200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
	    "\"Approved\"},{\"qualification\":\"StateOwnedEntity\"},"
	    "{\"qualification\":false}]");
	single_eq(&rec, "Error",
		  "unexpected body: entry 3 qualification is not a string",
		  OUTCOME_FAILED);
	tenant_record_release(&rec);
}

static void test_malformed(void **state)
{
	static const char nul_mid[] = "[{\"qualification\":\"A\"},\0]";
	static const char nul_end[] = "[]\0";
	struct tenant_record rec;

	(void)state;
	expect_error(200, "[{\"qualification\": \"Education\"",
		     "truncated JSON");
	expect_error(200, "{\"qualifications\": [", "truncated JSON");
	expect_error(200, "[", "truncated JSON");
	expect_error(200, "[{\"qualification\": \"Educ", "truncated JSON");
	expect_error(200, "tru", "truncated JSON");
	expect_error(200, "[] /* open", "truncated JSON");
	expect_error(200, "[]/*", "truncated JSON");
	expect_error(200, "[] x", "malformed JSON: trailing data at offset 3 "
		     "near 'x'");
	expect_error(200, "[][]", "malformed JSON: trailing data at offset 2 "
		     "near '[]'");
	expect_error(200, "{\"qualifications\":[]} /", "truncated JSON");
	expect_error(200, "[] /x", "malformed JSON: expected comment at "
		     "offset 4 near 'x'");
	/* A // comment may run to the end of the body. */
	expect_none(200, "[] // no newline");
	expect_error(200, "[1 2]", "malformed JSON: array value separator "
		     "',' expected at offset 3 near '2]'");
	expect_error(200, "{\"qualification\" \"x\"}",
		     "malformed JSON: object property name separator ':' "
		     "expected at offset 17 near '\"x\"}'");
	/* json-c's own NUL-as-end-of-input is reported as what it is. */
	run_n(&rec, 200, nul_mid, sizeof(nul_mid) - 1);
	single_eq(&rec, "Error", "malformed JSON: NUL byte at offset 23",
		  OUTCOME_FAILED);
	tenant_record_release(&rec);
	run_n(&rec, 200, nul_end, sizeof(nul_end) - 1);
	single_eq(&rec, "Error",
		  "malformed JSON: trailing data at offset 2 near '?'",
		  OUTCOME_FAILED);
	tenant_record_release(&rec);
	/* An HTML error page with 200; the quote is cut and sanitized. */
	expect_error(200, "<html>\r\n<head><title>502 Bad Gateway</title>"
		     "</head></html>",
		     "malformed JSON: unexpected character at offset 0 near "
		     "'<html>?\?<head><title>502'");
	/* Bytes that are not UTF-8 make the body malformed. */
	expect_error(200, "[{\"qualification\":\"Educa\xE7\xE3o\"}]",
		     "malformed JSON: invalid utf-8 string at offset 25 near "
		     "'?o\"}]'");
}

static void test_deep_nesting(void **state)
{
	enum { LEVELS = 100000 };
	char *body = malloc(2 * LEVELS);
	struct tenant_record rec;

	(void)state;
	assert_non_null(body);
	memset(body, '[', LEVELS);
	memset(body + LEVELS, ']', LEVELS);
	run_n(&rec, 200, body, LEVELS);
	single_eq(&rec, "Error", "malformed JSON: nesting too deep at "
		  "offset 64 near '[[[[[[[[[[[[[[[[[[[[[[[['", OUTCOME_FAILED);
	tenant_record_release(&rec);
	run_n(&rec, 200, body, 2 * LEVELS);
	single_eq(&rec, "Error", "malformed JSON: nesting too deep at "
		  "offset 64 near '[[[[[[[[[[[[[[[[[[[[[[[['", OUTCOME_FAILED);
	tenant_record_release(&rec);
	/* Depth 3 is what a real wrapper needs; 60 still parses. */
	memset(body, '[', 60);
	memset(body + 60, ']', 60);
	run_n(&rec, 200, body, 120);
	single_eq(&rec, "Error", "unexpected body: entry 1 is not an object",
		  OUTCOME_FAILED);
	tenant_record_release(&rec);
	free(body);
}

static void test_huge_and_unicode(void **state)
{
	enum { BIG = 1024 * 1024 };
	static const char head[] = "[{\"qualification\":\"Education\","
				   "\"vettingStatus\":\"Denied\","
				   "\"vettingReason\":\"";
	static const char tail[] = "\"}]";
	size_t n = sizeof(head) - 1 + BIG + sizeof(tail) - 1;
	char *body = malloc(n);
	struct tenant_record rec;

	(void)state;
	assert_non_null(body);
	memcpy(body, head, sizeof(head) - 1);
	memset(body + sizeof(head) - 1, 'x', BIG);
	memcpy(body + sizeof(head) - 1 + BIG, tail, sizeof(tail) - 1);
	/* A 1 MiB reason is kept in full. */
	run_n(&rec, 200, body, n);
	assert_int_equal(rec.nrows, 1);
	assert_string_equal(rec.rows[0].qualification, "Education");
	assert_string_equal(rec.rows[0].vetting_status, "Denied");
	assert_non_null(rec.rows[0].vetting_reason);
	assert_int_equal(strlen(rec.rows[0].vetting_reason), BIG);
	assert_int_equal(strspn(rec.rows[0].vetting_reason, "x"), BIG);
	assert_null(rec.rows[0].vetting_created_date);
	assert_int_equal(rec.outcome, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
	free(body);

	/* Raw UTF-8 and \u escapes (with a surrogate pair) come out UTF-8. */
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"Denied\",\"vettingReason\":\"N\xC3\xA3o \xC3\xA9 "
		   "cliente \xE2\x80\x94 \xE6\x95\x99\xE8\x82\xB2 "
		   "\xF0\x9F\x8E\x93\"}]",
		   "Education", "Denied",
		   "N\xC3\xA3o \xC3\xA9 cliente \xE2\x80\x94 "
		   "\xE6\x95\x99\xE8\x82\xB2 \xF0\x9F\x8E\x93", NULL);
	expect_one(200, "[{\"qualification\":\"Education\",\"vettingStatus\":"
		   "\"Denied\",\"vettingReason\":\"N\\u00e3o \\u2014 "
		   "\\ud83c\\udf93\"}]",
		   "Education", "Denied",
		   "N\xC3\xA3o \xE2\x80\x94 \xF0\x9F\x8E\x93", NULL);
}

static void test_body_size_limit(void **state)
{
	char *body = malloc(NORM_MAX_BODY + 1);
	struct tenant_record rec;

	(void)state;
	assert_non_null(body);
	/* Exactly the limit is parsed: [] and white space. */
	memset(body, ' ', NORM_MAX_BODY + 1);
	body[0] = '[';
	body[1] = ']';
	rec_start(&rec, 200);
	assert_int_equal(norm_answer(200, body, NORM_MAX_BODY, &rec, NULL),
			 PL_OK);
	single_eq(&rec, "None", NULL, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
	rec_start(&rec, 200);
	assert_int_equal(norm_answer(200, body, NORM_MAX_BODY + 1, &rec, NULL),
			 PL_OK);
	single_eq(&rec, "Error", "body larger than 8 MiB", OUTCOME_FAILED);
	tenant_record_release(&rec);
	/* An oversized error body falls back to the reason phrase. */
	rec_start(&rec, 503);
	assert_int_equal(norm_answer(503, body, NORM_MAX_BODY + 1, &rec, NULL),
			 PL_OK);
	single_eq(&rec, "Error", "HTTP 503 Service Unavailable",
		  OUTCOME_FAILED);
	tenant_record_release(&rec);
	assert_null(api_error(body, NORM_MAX_BODY + 1));
	free(body);
}

static void test_http_errors(void **state)
{
	struct tenant_record rec;

	(void)state;
	run(&rec, 404, "{\"code\":60003,\"description\":\"Tenant not found\","
	    "\"data\":[],\"source\":\"PartnerFD\"}");
	single_eq(&rec, "NotFound", "60003: Tenant not found",
		  OUTCOME_NOT_FOUND);
	tenant_record_release(&rec);
	run(&rec, 404, "");
	single_eq(&rec, "NotFound", NULL, OUTCOME_NOT_FOUND);
	tenant_record_release(&rec);
	run(&rec, 404, "<h1>Not Found</h1>");
	single_eq(&rec, "NotFound", NULL, OUTCOME_NOT_FOUND);
	tenant_record_release(&rec);
	rec_start(&rec, 404);
	assert_int_equal(norm_answer(404, NULL, 0, &rec, NULL), PL_OK);
	single_eq(&rec, "NotFound", NULL, OUTCOME_NOT_FOUND);
	tenant_record_release(&rec);

	expect_error(403, "{\"code\":20002,\"description\":\"No relationship "
		     "between caller and account.\",\"data\":[],\"source\":"
		     "\"PartnerFD\"}",
		     "20002: No relationship between caller and account.");
	expect_error(403, "\xEF\xBB\xBF{\"code\":\"2032\",\"description\":"
		     "\"Access denied\",\"data\":[],}",
		     "2032: Access denied");
	expect_error(403, "", "HTTP 403 Forbidden");
	expect_error(500, "<!DOCTYPE html><html><body><h1>Internal Server "
		     "Error</h1></body></html>",
		     "HTTP 500 Internal Server Error");
	expect_error(500, "{\"code\":800003,\"description\":\"Unexpected "
		     "service error\"}", "800003: Unexpected service error");
	expect_error(429, "{ \"statusCode\": 429, \"message\": \"Rate limit is "
		     "exceeded. Try again in 57 seconds.\" }",
		     "Rate limit is exceeded. Try again in 57 seconds.");
	expect_error(400, "\"Customer tagging denied.\"",
		     "Customer tagging denied.");
	expect_error(502, "{}", "HTTP 502 Bad Gateway");
	expect_error(504, "[]", "HTTP 504 Gateway Timeout");
	expect_error(401, "", "HTTP 401 Unauthorized");
	expect_error(418, "", "HTTP 418");
	expect_error(302, "", "HTTP 302 Found");
	expect_error(0, "", "HTTP 0");
	/* A 200-style body under an error status is still an error. */
	expect_error(503, "[{\"qualification\":\"Education\"}]",
		     "HTTP 503 Service Unavailable");
}

static void api_eq(const char *body, const char *want)
{
	char *copy = exact(body, strlen(body));
	char *got = api_error(copy, strlen(body));

	free(copy);
	str_eq(got, want);
	free(got);
}

static void test_api_error(void **state)
{
	char *big, *got;
	size_t n;

	(void)state;
	api_eq("{\"code\":60003,\"description\":\"Tenant not found\","
	       "\"data\":[],\"source\":\"PartnerFD\"}",
	       "60003: Tenant not found");
	api_eq("{\"code\":\"2032\",\"description\":\"Access denied\"}",
	       "2032: Access denied");
	api_eq("{\"Code\":800001,\"Description\":\"Partner Token missing in "
	       "request context\"}",
	       "800001: Partner Token missing in request context");
	api_eq("{\"code\":20002.0,\"description\":\"x\"}", "20002.0: x");
	api_eq("{\"code\":1000}", "1000");
	api_eq("{\"description\":\"Not found\",\"source\":\"PartnerFD\"}",
	       "Not found");
	api_eq("{\"code\":\"\",\"description\":\"Access denied\"}",
	       "Access denied");
	api_eq("{\"code\":true,\"description\":\"Access denied\"}",
	       "Access denied");
	api_eq("{ \"statusCode\": 429, \"message\": \"Rate limit is exceeded. "
	       "Try again in 57 seconds.\" }",
	       "Rate limit is exceeded. Try again in 57 seconds.");
	api_eq("\"Customer tagging denied.\"", "Customer tagging denied.");
	api_eq("\xEF\xBB\xBF{\"code\":20002,\"description\":\"No relationship "
	       "between caller and account.\",\"data\":[],\"source\":"
	       "\"PartnerFD\",} // UTC",
	       "20002: No relationship between caller and account.");
	api_eq("{\"code\":1,\"description\":\"line1\\nline2\\ttab\\u0000nul\"}",
	       "1: line1 line2 tab nul");
	api_eq("{\"error\":\"invalid_client\"}", NULL);
	api_eq("{}", NULL);
	api_eq("[]", NULL);
	api_eq("42", NULL);
	api_eq("null", NULL);
	api_eq("\"\"", NULL);
	api_eq("", NULL);
	api_eq("<html>oops</html>", NULL);
	api_eq("{\"code\":1,\"description\":\"x\"", NULL);
	assert_null(api_error(NULL, 0));

	/* Capped at 1024 bytes, never inside a UTF-8 sequence. */
	big = malloc(2100);
	assert_non_null(big);
	for(int shift = 0; shift < 2; shift++) {
		/* shift 1: "a" first, so byte 1024 is a continuation byte. */
		n = (size_t)sprintf(big, "{\"description\":\"%s",
				    shift ? "a" : "");
		for(size_t i = 0; i < 1000; i++, n += 2)
			memcpy(big + n, "\xC3\xA9", 2);
		memcpy(big + n, "\"}", 2);
		got = api_error(big, n + 2);
		assert_non_null(got);
		assert_int_equal(strlen(got), 1024 - shift);
		assert_memory_equal(got, big + 16, 1024 - shift);
		free(got);
	}
	free(big);
}

static void test_norm_failure(void **state)
{
	struct tenant_record rec;

	(void)state;
	run(&rec, 200, "[{\"qualification\":\"Education\"},{\"qualification\":"
	    "\"StateOwnedEntity\"}]");
	assert_int_equal(rec.nrows, 2);
	assert_int_equal(norm_failure("Timeout was reached\n", &rec, NULL),
			 PL_OK);
	single_eq(&rec, "Error", "Timeout was reached ", OUTCOME_FAILED);
	assert_string_equal(rec.tenant_id, TENANT);
	assert_string_equal(rec.request_id, REQID);
	assert_int_equal(rec.attempts, 2);
	assert_int_equal(norm_failure(NULL, &rec, NULL), PL_OK);
	single_eq(&rec, "Error", "fetch failed", OUTCOME_FAILED);
	/* norm_answer too replaces what the record held. */
	assert_int_equal(norm_answer(404, "", 0, &rec, NULL), PL_OK);
	single_eq(&rec, "NotFound", NULL, OUTCOME_NOT_FOUND);
	assert_int_equal(norm_answer(200, "[]", 2, &rec, NULL), PL_OK);
	single_eq(&rec, "None", NULL, OUTCOME_ANSWERED);
	tenant_record_release(&rec);
}

static void date_eq(const char *in, const char *want, int converted)
{
	char out[64];

	memset(out, 'X', sizeof(out));
	assert_int_equal(norm_date(in, out, sizeof(out)), converted);
	assert_string_equal(out, want);
}

static void test_norm_date(void **state)
{
	char small[8];

	(void)state;
	date_eq("2021-05-06T19:59:56.6832021+00:00",
		"2021-05-06T19:59:56.6832021Z", 1);
	date_eq("2021-05-06T01:30:00.5+02:00", "2021-05-05T23:30:00.5Z", 1);
	date_eq("2020-12-31T23:00:00-01:30", "2021-01-01T00:30:00Z", 1);
	date_eq("2020-12-03T10:37:38.885Z", "2020-12-03T10:37:38.885Z", 1);
	date_eq("2020-12-04T20:54:24Z", "2020-12-04T20:54:24Z", 1);
	date_eq("2020-12-04t20:54:24z", "2020-12-04T20:54:24Z", 1);
	date_eq("2020-12-04 20:54:24-00:00", "2020-12-04T20:54:24Z", 1);
	date_eq("2020-03-01T00:15:00+01:00", "2020-02-29T23:15:00Z", 1);
	date_eq("2021-03-01T00:15:00+01:00", "2021-02-28T23:15:00Z", 1);
	date_eq("2000-02-29T12:00:00+23:59", "2000-02-28T12:01:00Z", 1);
	date_eq("2016-12-31T23:59:60Z", "2016-12-31T23:59:60Z", 1);
	date_eq("2017-01-01T00:59:60.25+01:00", "2016-12-31T23:59:60.25Z", 1);
	date_eq("1970-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z", 1);
	date_eq("0000-01-01T12:00:00+01:00", "0000-01-01T11:00:00Z", 1);
	date_eq("2021-05-06T19:59:56.123456789Z",
		"2021-05-06T19:59:56.123456789Z", 1);
	/* Not an instant, or not a valid one: verbatim. */
	date_eq("2020-12-03T10:37:38", "2020-12-03T10:37:38", 0);
	date_eq("07/09/2020: 00:00:00", "07/09/2020: 00:00:00", 0);
	date_eq("", "", 0);
	date_eq("2021-02-29T00:00:00Z", "2021-02-29T00:00:00Z", 0);
	date_eq("1900-02-29T00:00:00Z", "1900-02-29T00:00:00Z", 0);
	date_eq("2021-13-01T00:00:00Z", "2021-13-01T00:00:00Z", 0);
	date_eq("2021-00-01T00:00:00Z", "2021-00-01T00:00:00Z", 0);
	date_eq("2021-04-31T00:00:00Z", "2021-04-31T00:00:00Z", 0);
	date_eq("2021-04-00T00:00:00Z", "2021-04-00T00:00:00Z", 0);
	date_eq("2021-01-01T25:00:00Z", "2021-01-01T25:00:00Z", 0);
	date_eq("2021-01-01T24:00:00Z", "2021-01-01T24:00:00Z", 0);
	date_eq("2021-01-01T00:60:00Z", "2021-01-01T00:60:00Z", 0);
	date_eq("2021-01-01T00:00:61Z", "2021-01-01T00:00:61Z", 0);
	date_eq("2021-01-01T00:00:00+24:00", "2021-01-01T00:00:00+24:00", 0);
	date_eq("2021-01-01T00:00:00+01:60", "2021-01-01T00:00:00+01:60", 0);
	date_eq("2021-01-01T00:00:00+0100", "2021-01-01T00:00:00+0100", 0);
	date_eq("2021-01-01T00:00:00.Z", "2021-01-01T00:00:00.Z", 0);
	date_eq("2021-01-01T00:00:00.1234567890Z",
		"2021-01-01T00:00:00.1234567890Z", 0);
	date_eq("2021-01-01T00:00:00Z ", "2021-01-01T00:00:00Z ", 0);
	date_eq(" 2021-01-01T00:00:00Z", " 2021-01-01T00:00:00Z", 0);
	date_eq("2021-01-01", "2021-01-01", 0);
	date_eq("2021-1-01T00:00:00Z", "2021-1-01T00:00:00Z", 0);
	date_eq("+2021-01-01T00:00:00Z", "+2021-01-01T00:00:00Z", 0);
	/* Shifted out of four-digit years. */
	date_eq("0000-01-01T00:00:00+00:01", "0000-01-01T00:00:00+00:01", 0);
	date_eq("9999-12-31T23:59:59-00:01", "9999-12-31T23:59:59-00:01", 0);
	/* Output never longer than outlen - 1. */
	assert_int_equal(norm_date("2020-12-04T20:54:24Z", small,
				   sizeof(small)), 0);
	assert_string_equal(small, "2020-12");
	assert_int_equal(norm_date("abc", small, 1), 0);
	assert_string_equal(small, "");
	assert_int_equal(norm_date("abc", small, 0), 0);
	assert_int_equal(norm_date(NULL, small, sizeof(small)), 0);
	assert_string_equal(small, "");
}

/* The invariant every answer keeps, whatever the bytes. */
static void check_shape(const struct tenant_record *rec, long status)
{
	assert_true(rec->nrows >= 1);
	if(status == 404) {
		assert_int_equal(rec->nrows, 1);
		row_eq(rec, 0, NULL, "NotFound", NULL, NULL);
		assert_int_equal(rec->outcome, OUTCOME_NOT_FOUND);
		return;
	}
	if(rec->outcome == OUTCOME_FAILED) {
		assert_int_equal(rec->nrows, 1);
		row_eq(rec, 0, NULL, "Error", NULL, NULL);
		assert_non_null(rec->error);
		assert_true(strlen(rec->error) <= 1024);
		for(const char *p = rec->error; *p; p++)
			assert_true((unsigned char)*p >= 0x20 && *p != 0x7F);
		return;
	}
	assert_true(status >= 200 && status <= 299);
	assert_int_equal(rec->outcome, OUTCOME_ANSWERED);
	assert_null(rec->error);
	if(!rec->rows[0].qualification) {
		assert_int_equal(rec->nrows, 1);
		row_eq(rec, 0, NULL, "None", NULL, NULL);
		return;
	}
	for(size_t i = 0; i < rec->nrows; i++) {
		assert_non_null(rec->rows[i].qualification);
		if(rec->rows[i].vetting_status)
			assert_string_not_equal(rec->rows[i].vetting_status,
						"Error");
	}
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The suite's documents that are a valid (empty) answer. */
static int is_answered_doc(const char *name)
{
	static const char *const docs[] = {
		"i_structure_UTF-8_BOM_empty_object.json",
		"y_array_empty.json",
		"y_object_empty.json",
		"y_structure_whitespace_array.json",
	};

	for(size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++)
		if(!strcmp(name, docs[i]))
			return 1;
	return 0;
}

static void test_json_test_suite(void **state)
{
	DIR *dir = opendir(SUITE);
	struct dirent *de;
	char *names[1024];
	size_t nnames = 0, answered = 0, failed = 0, y_rejected = 0;
	char path[4096];

	(void)state;
	assert_non_null(dir);
	while((de = readdir(dir))) {
		if(de->d_name[0] == '.')
			continue;
		assert_true(nnames < sizeof(names) / sizeof(*names));
		names[nnames] = strdup(de->d_name);
		assert_non_null(names[nnames++]);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(*names), cmp_names);
	assert_int_equal(nnames, 318);
	for(size_t i = 0; i < nnames; i++) {
		static const long statuses[] = { 200, 404, 503 };
		struct tenant_record rec;
		size_t len;
		char *body, *api;

		snprintf(path, sizeof(path), SUITE "%s", names[i]);
		body = slurp(path, &len);
		for(size_t s = 0; s < 3; s++) {
			rec_start(&rec, statuses[s]);
			assert_int_equal(norm_answer(statuses[s], body, len,
						     &rec, NULL), PL_OK);
			check_shape(&rec, statuses[s]);
			if(statuses[s] == 200) {
				if(rec.outcome == OUTCOME_FAILED) {
					failed++;
				} else {
					/* Only empty lists and objects. */
					answered++;
					assert_true(is_answered_doc(names[i]));
				}
				/*
				 * Valid JSON is never "malformed" or
				 * "truncated", only "unexpected".
				 */
				if(names[i][0] == 'y' && rec.error &&
				   (!strncmp(rec.error, "malformed", 9) ||
				    !strncmp(rec.error, "truncated", 9)))
					y_rejected++;
			}
			tenant_record_release(&rec);
		}
		api = api_error(body, len);
		if(api)
			assert_true(strlen(api) <= 1024);
		free(api);
		free(body);
		free(names[i]);
	}
	print_message("JSONTestSuite: %zu files, %zu answered, %zu Error, "
		      "%zu valid documents rejected\n", nnames, answered,
		      failed, y_rejected);
	assert_int_equal(answered, 4);
	assert_int_equal(failed, 314);
	assert_int_equal(y_rejected, 0);
}

/* xorshift64*: a fixed sequence, so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static void test_random_bytes(void **state)
{
	static const char *const toks[] = {
		"[", "]", "{", "}", ",", ":", " ", "\n", "\"", "\\", "//",
		"/*", "*/", "null", "true", "1", "-0.5e3", "\"qualification\"",
		"\"vettingStatus\"", "\"vettingCreateDate\"", "\"Education\"",
		"\"qualifications\"", "\"2021-05-06T01:30:00.5+02:00\"",
		"\"code\"", "\"description\"", "\"message\"", "\xEF\xBB\xBF",
		"\xC3\xA9", "\xFF", "\\u00e9", "\\ud83c", "\0",
	};
	size_t ntoks = sizeof(toks) / sizeof(*toks);
	char buf[600];

	(void)state;
	for(int iter = 0; iter < 2000; iter++) {
		size_t n = (size_t)(rng() % 512);
		struct tenant_record rec;
		char date[40];
		char *copy, *api;

		if(iter % 2) {
			for(size_t i = 0; i < n; i++)
				buf[i] = (char)rng();
		} else {
			size_t i = 0;

			while(i < n) {
				const char *t = toks[rng() % ntoks];
				size_t tl = *t ? strlen(t) : 1;

				if(i + tl > n)
					break;
				memcpy(buf + i, t, tl);
				i += tl;
			}
			n = i;
		}
		run_n(&rec, 200, buf, n);
		check_shape(&rec, 200);
		tenant_record_release(&rec);
		run_n(&rec, 404, buf, n);
		check_shape(&rec, 404);
		tenant_record_release(&rec);
		run_n(&rec, 500, buf, n);
		check_shape(&rec, 500);
		tenant_record_release(&rec);
		copy = exact(buf, n);
		api = api_error(copy, n);
		free(copy);
		if(api)
			assert_true(strlen(api) <= 1024);
		free(api);
		buf[n < 60 ? n : 60] = '\0';
		norm_date(buf, date, sizeof(date));
		assert_true(strlen(date) < sizeof(date));
	}
}

static void test_prefixes(void **state)
{
	static const char *const files[] = {
		"approved.json", "inreview.json", "denied.json",
		"doc-approved.json", "doc-inreview.json", "doc-denied.json",
		"doc-soe.json", "doc-edu-soe.json", "doc-gcc-soe.json",
	};
	char path[4096];

	(void)state;
	for(size_t f = 0; f < sizeof(files) / sizeof(*files); f++) {
		struct tenant_record full, rec;
		size_t len, complete;
		char *body;

		snprintf(path, sizeof(path), SAMPLES "%s", files[f]);
		body = slurp(path, &len);
		run_n(&full, 200, body, len);
		assert_int_equal(full.outcome, OUTCOME_ANSWERED);
		/* The document ends at its last closing bracket. */
		complete = len;
		while(complete && body[complete - 1] != '}' &&
		      body[complete - 1] != ']')
			complete--;
		assert_true(complete > 0);
		for(size_t n = 0; n <= len; n++) {
			run_n(&rec, 200, body, n);
			if(n < complete) {
				assert_int_equal(rec.nrows, 1);
				row_eq(&rec, 0, NULL, "Error", NULL, NULL);
				assert_non_null(rec.error);
				assert_int_equal(rec.outcome, OUTCOME_FAILED);
			} else {
				assert_int_equal(rec.nrows, full.nrows);
				for(size_t r = 0; r < full.nrows; r++)
					row_eq(&rec, r,
					       full.rows[r].qualification,
					       full.rows[r].vetting_status,
					       full.rows[r].vetting_reason,
					       full.rows[r]
						       .vetting_created_date);
				assert_null(rec.error);
				assert_int_equal(rec.outcome,
						 OUTCOME_ANSWERED);
			}
			tenant_record_release(&rec);
		}
		tenant_record_release(&full);
		free(body);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seed_examples),
		cmocka_unit_test(test_seed_bodies_are_verbatim),
		cmocka_unit_test(test_doc_bodies),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_date_keys),
		cmocka_unit_test(test_pascal_case),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_open_set_and_unknown_keys),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_huge_and_unicode),
		cmocka_unit_test(test_body_size_limit),
		cmocka_unit_test(test_http_errors),
		cmocka_unit_test(test_api_error),
		cmocka_unit_test(test_norm_failure),
		cmocka_unit_test(test_norm_date),
		cmocka_unit_test(test_json_test_suite),
		cmocka_unit_test(test_random_bytes),
		cmocka_unit_test(test_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
