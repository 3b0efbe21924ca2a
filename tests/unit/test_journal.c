#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "guid.h"
#include "ids.h"
#include "journal.h"
#include "testutil.h"

#define SHA_A "0123456789abcdef0123456789abcdef" \
	      "0123456789abcdef0123456789abcdef"
#define SHA_B "fedcba9876543210fedcba9876543210" \
	      "fedcba9876543210fedcba9876543210"
#define FP "format=csv/excel_safe=0"
#define CORR "0f8fad5b-d9cb-469f-a165-70867728950e"
#define CORR2 "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define REQ "16fd2706-8baf-433b-82eb-8c7fada847da"

static char dir[64];
static int seq;

/* A fresh journal path in the test directory. */
static void new_path(char *out, size_t len)
{
	snprintf(out, len, "%s/j%d.journal", dir, seq++);
}

static int setup(void **state)
{
	(void)state;
	return testutil_mkdtemp(dir, sizeof(dir), "journal");
}

static int teardown(void **state)
{
	(void)state;
	return testutil_rmtree(dir);
}

/* n distinct tenants; `variant` changes every ID. */
static struct tenantset *make_set(size_t n, unsigned variant)
{
	struct tenantset *set = tenantset_new();
	uint8_t b[16];
	bool added;

	assert_non_null(set);
	for(size_t i = 0; i < n; i++) {
		for(int k = 0; k < 8; k++)
			b[k] = (uint8_t)(0xa0 + k + variant);
		for(int k = 0; k < 8; k++)
			b[15 - k] = (uint8_t)(i >> (8 * k));
		assert_int_equal(tenantset_add(set, b, &added, NULL), PL_OK);
		assert_true(added);
	}
	return set;
}

static void canon(const struct tenantset *set, size_t i,
		  char out[GUID_STR_LEN + 1])
{
	guid_format(tenantset_get(set, i), out);
}

/* A deterministic record for tenant i with some variety. */
static void make_record(const struct tenantset *set, size_t i,
			struct tenant_record *rec)
{
	char q[32];

	tenant_record_init(rec);
	canon(set, i, rec->tenant_id);
	if(i % 5)
		snprintf(rec->request_id, sizeof(rec->request_id), "%s", REQ);
	rec->http_status = i % 4 ? 200 : 503;
	rec->attempts = (unsigned)(i % 6);
	rec->outcome = (enum tenant_outcome)(i % 3);
	if(i % 7 == 0)
		assert_int_equal(tenant_record_set_error(rec, "HTTP 503 \"x\"",
							 NULL), PL_OK);
	for(size_t r = 0; r <= i % 3; r++) {
		snprintf(q, sizeof(q), "Q/%zu", i * 10 + r);
		assert_int_equal(tenant_record_add_row(rec, q, "Approved",
						       r ? "why" : NULL,
						       "2024-01-02T03:04:05Z",
						       NULL), PL_OK);
	}
}

static void assert_str_eq_null(const char *a, const char *b)
{
	if(!a || !b)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void assert_record_equal(const struct tenant_record *a,
				const struct tenant_record *b)
{
	assert_string_equal(a->tenant_id, b->tenant_id);
	assert_string_equal(a->request_id, b->request_id);
	assert_int_equal(a->http_status, b->http_status);
	assert_int_equal(a->attempts, b->attempts);
	assert_int_equal(a->outcome, b->outcome);
	assert_str_eq_null(a->error, b->error);
	assert_int_equal(a->nrows, b->nrows);
	for(size_t r = 0; r < a->nrows; r++) {
		assert_str_eq_null(a->rows[r].qualification,
				   b->rows[r].qualification);
		assert_str_eq_null(a->rows[r].vetting_status,
				   b->rows[r].vetting_status);
		assert_str_eq_null(a->rows[r].vetting_reason,
				   b->rows[r].vetting_reason);
		assert_str_eq_null(a->rows[r].vetting_created_date,
				   b->rows[r].vetting_created_date);
	}
}

static void spit(const char *path, const char *mode, const char *s,
		 size_t len)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static long long file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (long long)sb.st_size;
}

static size_t count_lines(const char *path)
{
	size_t len, n = 0;
	char *s = testutil_read_file(path, &len);

	for(size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	free(s);
	return n;
}

static enum pl_status open_j(const char *path, const struct tenantset *set,
			     const char *sha, const char *fp, const char *corr,
			     struct journal **j, struct pl_err *err)
{
	struct journal_identity id;

	id.input_sha256 = sha;
	id.fingerprint = fp;
	snprintf(id.correlation_id, sizeof(id.correlation_id), "%s", corr);
	return journal_open(path, &id, set, j, err);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Journal at path for set (5 tenants, SHA_A, FP, CORR) holding make_record
 * for each index in idx[0..n). */
static void write_journal(const char *path, const struct tenantset *set,
			  const size_t *idx, size_t n)
{
	struct journal *j;
	struct pl_err err;
	struct tenant_record rec;

	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	for(size_t k = 0; k < n; k++) {
		make_record(set, idx[k], &rec);
		assert_int_equal(journal_append(j, idx[k], &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	assert_int_equal(journal_close(j, &err), PL_OK);
}

static void test_new_identity_and_line(void **state)
{
	struct tenantset *set = make_set(5, 0);
	struct journal_identity id = {SHA_A, FP, CORR};
	struct journal *j;
	struct pl_err err;
	struct tenant_record rec;
	char path[256], t2[GUID_STR_LEN + 1], want[1024];
	char *got;

	new_path(path, sizeof(path));
	assert_int_equal(journal_open(path, &id, set, &j, &err), PL_OK);
	assert_string_equal(id.correlation_id, CORR);
	assert_int_equal(journal_resumed(j), 0);
	for(size_t i = 0; i < 5; i++)
		assert_false(journal_is_done(j, i));
	/* The identity is on disk at once, before any record. */
	got = testutil_read_file(path, NULL);
	assert_string_equal(got,
		"{\"qualreport_journal\":1,\"input_sha256\":\"" SHA_A "\","
		"\"fingerprint\":\"" FP "\",\"correlation_id\":\"" CORR "\","
		"\"tenants\":5}\n");
	free(got);

	tenant_record_init(&rec);
	canon(set, 2, t2);
	memcpy(rec.tenant_id, t2, sizeof(t2));
	memcpy(rec.request_id, REQ, sizeof(REQ));
	rec.http_status = 200;
	rec.attempts = 1;
	rec.outcome = OUTCOME_ANSWERED;
	assert_int_equal(tenant_record_add_row(&rec, "Q/1", "Approved", NULL,
					       "2024-01-02T03:04:05Z", NULL),
			 PL_OK);
	assert_int_equal(journal_append(j, 2, &rec, &err), PL_OK);
	assert_true(journal_is_done(j, 2));
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenant_record_release(&rec);

	snprintf(want, sizeof(want),
		 "{\"qualreport_journal\":1,\"input_sha256\":\"" SHA_A "\","
		 "\"fingerprint\":\"" FP "\",\"correlation_id\":\"" CORR "\","
		 "\"tenants\":5}\n"
		 "{\"i\":2,\"t\":\"%s\",\"h\":200,\"a\":1,\"r\":\"" REQ "\","
		 "\"o\":0,\"e\":null,\"rows\":[[\"Q/1\",\"Approved\",null,"
		 "\"2024-01-02T03:04:05Z\"]]}\n", t2);
	got = testutil_read_file(path, NULL);
	assert_string_equal(got, want);
	free(got);
	tenantset_free(set);
}

static void test_generated_correlation(void **state)
{
	struct tenantset *set = make_set(2, 0);
	struct journal_identity id = {SHA_A, FP, ""};
	struct journal *j;
	struct pl_err err;
	char path[256], parsed[GUID_STR_LEN + 1], made[GUID_STR_LEN + 1];
	char *got;

	new_path(path, sizeof(path));
	assert_int_equal(journal_open(path, &id, set, &j, &err), PL_OK);
	assert_int_equal(strlen(id.correlation_id), GUID_STR_LEN);
	assert_true(ids_parse_uuid(id.correlation_id, parsed));
	assert_string_equal(parsed, id.correlation_id);
	assert_int_equal(journal_close(j, &err), PL_OK);
	got = testutil_read_file(path, NULL);
	assert_non_null(strstr(got, id.correlation_id));
	free(got);

	/* Resuming with "" adopts it. */
	memcpy(made, id.correlation_id, sizeof(made));
	id.correlation_id[0] = '\0';
	assert_int_equal(journal_open(path, &id, set, &j, &err), PL_OK);
	assert_string_equal(id.correlation_id, made);
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
}

/* Three records: NULL strings, an awkward error, two rows. */
static void three_records(const struct tenantset *set,
			  struct tenant_record rec[3])
{
	for(int k = 0; k < 3; k++)
		tenant_record_init(&rec[k]);
	canon(set, 3, rec[0].tenant_id);
	rec[0].outcome = OUTCOME_FAILED;
	assert_int_equal(tenant_record_set_error(&rec[0],
		"bad \"body\"\nline 2 \\ caf\xc3\xa9 \xe2\x9c\x93 \x01/", NULL),
		PL_OK);
	assert_int_equal(tenant_record_add_row(&rec[0], NULL, "Error", NULL,
					       NULL, NULL), PL_OK);

	canon(set, 0, rec[1].tenant_id);
	memcpy(rec[1].request_id, REQ, sizeof(REQ));
	rec[1].http_status = 200;
	rec[1].attempts = 3;
	rec[1].outcome = OUTCOME_ANSWERED;
	assert_int_equal(tenant_record_add_row(&rec[1], "Azure/CSP", "Approved",
					       "ok", "2023-05-06T07:08:09Z",
					       NULL),
			 PL_OK);
	assert_int_equal(tenant_record_add_row(&rec[1], "Education", "Denied",
					       "\"quoted\"\t\xf0\x9f\x98\x80",
					       NULL, NULL), PL_OK);

	canon(set, 1, rec[2].tenant_id);
	memcpy(rec[2].request_id, CORR2, sizeof(CORR2));
	rec[2].http_status = 404;
	rec[2].attempts = 1;
	rec[2].outcome = OUTCOME_NOT_FOUND;
	assert_int_equal(tenant_record_add_row(&rec[2], NULL, "NotFound",
					       "Tenant not found", NULL, NULL),
			 PL_OK);
}

static void load_equal(struct journal *j, size_t index,
		       const struct tenant_record *want)
{
	struct tenant_record got;
	struct pl_err err;

	tenant_record_init(&got);
	assert_int_equal(journal_load(j, index, &got, &err), PL_OK);
	assert_record_equal(&got, want);
	tenant_record_release(&got);
}

static void test_round_trip(void **state)
{
	static const size_t idx[3] = {3, 0, 1};
	static const int done[5] = {1, 1, 0, 1, 0};
	struct tenantset *set = make_set(5, 0);
	struct tenant_record rec[3];
	struct journal *j;
	struct pl_err err;
	char path[256];
	long long before;

	three_records(set, rec);
	new_path(path, sizeof(path));
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	before = file_size(path);
	for(int k = 0; k < 3; k++)
		assert_int_equal(journal_append(j, idx[k], &rec[k], &err),
				 PL_OK);
	/* Loading works for records still in the buffer... */
	if(file_size(path) == before)
		for(int k = 0; k < 3; k++)
			load_equal(j, idx[k], &rec[k]);
	/* ... and once written. */
	assert_int_equal(journal_flush(j, true, &err), PL_OK);
	assert_true(file_size(path) > before);
	for(int k = 0; k < 3; k++)
		load_equal(j, idx[k], &rec[k]);
	assert_int_equal(journal_close(j, &err), PL_OK);

	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_resumed(j), 3);
	for(size_t i = 0; i < 5; i++)
		assert_int_equal(journal_is_done(j, i), done[i]);
	assert_false(journal_is_done(j, 5));
	for(int k = 2; k >= 0; k--)
		load_equal(j, idx[k], &rec[k]);
	assert_int_equal(journal_close(j, &err), PL_OK);
	for(int k = 0; k < 3; k++)
		tenant_record_release(&rec[k]);
	tenantset_free(set);
}

static void test_misuse(void **state)
{
	struct tenantset *set = make_set(5, 0);
	struct tenant_record rec, got;
	struct journal *j;
	struct pl_err err;
	char path[256], t1[GUID_STR_LEN + 1], t4[GUID_STR_LEN + 1];
	char want[PL_ERR_MAX];
	long long size;

	new_path(path, sizeof(path));
	canon(set, 1, t1);
	canon(set, 4, t4);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	size = file_size(path);
	make_record(set, 1, &rec);
	assert_int_equal(journal_append(j, 5, &rec, &err), PL_EINTERNAL);
	assert_string_equal(err.msg,
		"journal record index 5 out of range (5 tenants)");
	assert_int_equal(journal_append(j, 4, &rec, &err), PL_EINTERNAL);
	snprintf(want, sizeof(want), "journal record for tenant %s at index 4, "
		 "which is %s", t1, t4);
	assert_string_equal(err.msg, want);
	tenant_record_init(&got);
	assert_int_equal(journal_load(j, 4, &got, &err), PL_EINTERNAL);
	snprintf(want, sizeof(want), "journal %s has no record for tenant 4",
		 path);
	assert_string_equal(err.msg, want);
	assert_int_equal(journal_flush(j, true, &err), PL_OK);
	assert_int_equal(file_size(path), size);
	assert_false(journal_is_done(j, 4));

	/* A tenant appended twice: the last record wins, now and later. */
	assert_int_equal(journal_append(j, 1, &rec, &err), PL_OK);
	rec.http_status = 429;
	assert_int_equal(journal_append(j, 1, &rec, &err), PL_OK);
	load_equal(j, 1, &rec);
	assert_int_equal(journal_close(j, &err), PL_OK);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_resumed(j), 1);
	load_equal(j, 1, &rec);
	assert_int_equal(journal_close(j, &err), PL_OK);
	assert_int_equal(journal_close(NULL, &err), PL_OK);
	tenant_record_release(&rec);
	tenantset_free(set);
}

/* Every line ends in "\n" and is a JSON object. */
static void assert_well_formed(const char *path, size_t lines)
{
	size_t len, n = 0;
	char *s = testutil_read_file(path, &len), *p = s, *nl;
	struct json_tokener *tok = json_tokener_new();

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	assert_true(len > 0);
	assert_int_equal(s[len - 1], '\n');
	while((nl = memchr(p, '\n', len - (size_t)(p - s)))) {
		struct json_object *o;

		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, p, (int)(nl - p));
		assert_non_null(o);
		assert_int_equal(json_tokener_get_parse_end(tok),
				 (size_t)(nl - p));
		assert_true(json_object_is_type(o, json_type_object));
		json_object_put(o);
		n++;
		p = nl + 1;
	}
	assert_int_equal(n, lines);
	json_tokener_free(tok);
	free(s);
}

static void test_torn_last_line(void **state)
{
	static const size_t idx[2] = {0, 1};
	struct tenantset *set = make_set(5, 0);
	struct tenant_record rec;
	struct journal *j;
	struct pl_err err;
	char path[256], t2[GUID_STR_LEN + 1], half[256];
	const char *tails[3];
	size_t tail_len[3];
	long long good;

	canon(set, 2, t2);
	/* Half a record, a NUL-filled tail (a power cut), and a finished
	 * but unparsable last line. */
	snprintf(half, sizeof(half), "{\"i\":2,\"t\":\"%s\",\"h\":200,\"a\":1,"
		 "\"r\":null,\"o\":0,\"e\":null,\"rows\":[[\"Q", t2);
	tails[0] = half;
	tail_len[0] = strlen(half);
	tails[1] = "\0\0\0\0\0\0\0\0\0\0\0\0";
	tail_len[1] = 12;
	tails[2] = "{\"i\":2,\"t\n";
	tail_len[2] = strlen(tails[2]);
	for(int t = 0; t < 3; t++) {
		new_path(path, sizeof(path));
		write_journal(path, set, idx, 2);
		good = file_size(path);
		spit(path, "ab", tails[t], tail_len[t]);
		assert_int_equal(file_size(path), good + (long long)tail_len[t]);

		assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
				 PL_OK);
		assert_int_equal(journal_resumed(j), 2);
		assert_true(journal_is_done(j, 0));
		assert_true(journal_is_done(j, 1));
		assert_false(journal_is_done(j, 2));
		/* Cut off before anything is appended. */
		assert_int_equal(file_size(path), good);
		make_record(set, 2, &rec);
		assert_int_equal(journal_append(j, 2, &rec, &err), PL_OK);
		assert_int_equal(journal_close(j, &err), PL_OK);
		assert_well_formed(path, 4);

		assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
				 PL_OK);
		assert_int_equal(journal_resumed(j), 3);
		load_equal(j, 2, &rec);
		assert_int_equal(journal_close(j, &err), PL_OK);
		tenant_record_release(&rec);
	}
	tenantset_free(set);
}

static void test_torn_identity_and_foreign_file(void **state)
{
	static const char *foreign[3] = {"tenant\n1234\n", "tenant",
					 "{\"a\":1}\n"};
	struct tenantset *set = make_set(5, 0);
	struct journal *j;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX];
	char *got;

	/* The process died while writing line 1: a new journal. */
	new_path(path, sizeof(path));
	spit(path, "wb", "{\"qualreport_jou", 16);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_resumed(j), 0);
	assert_int_equal(journal_close(j, &err), PL_OK);
	got = testutil_read_file(path, NULL);
	assert_string_equal(got,
		"{\"qualreport_journal\":1,\"input_sha256\":\"" SHA_A "\","
		"\"fingerprint\":\"" FP "\",\"correlation_id\":\"" CORR "\","
		"\"tenants\":5}\n");
	free(got);

	/* An empty file is a new journal too. */
	new_path(path, sizeof(path));
	spit(path, "wb", "", 0);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_close(j, &err), PL_OK);
	assert_well_formed(path, 1);

	/* Anything else is refused and left alone. */
	for(int f = 0; f < 3; f++) {
		new_path(path, sizeof(path));
		spit(path, "wb", foreign[f], strlen(foreign[f]));
		assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
				 PL_EUSAGE);
		assert_null(j);
		snprintf(want, sizeof(want), "%s is not a qualreport journal",
			 path);
		assert_string_equal(err.msg, want);
		got = testutil_read_file(path, NULL);
		assert_string_equal(got, foreign[f]);
		free(got);
	}
	tenantset_free(set);
}

/* Replace line `lineno` (1-based) of path with text (which has its "\n"). */
static void replace_line(const char *path, int lineno, const char *text)
{
	size_t len;
	char *s = testutil_read_file(path, &len), *start = s, *end;
	FILE *f;

	for(int l = 1; l < lineno; l++)
		start = strchr(start, '\n') + 1;
	end = strchr(start, '\n') + 1;
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(s, 1, (size_t)(start - s), f);
	fputs(text, f);
	fputs(end, f);
	assert_int_equal(fclose(f), 0);
	free(s);
}

static void test_corrupt_line(void **state)
{
	static const size_t idx[3] = {0, 1, 2};
	static const struct {
		int line;
		const char *text, *why;
	} cases[4] = {
		{1, "{\"qualreport_journal\":1,\"input_sha256\":5}\n",
		    "\"input_sha256\" is not a string or null"},
		{3, "{\"i\":1,,}\n", "not a JSON object"},
		{3, "{\"i\":1}\n", "\"t\" is not a string or null"},
		/* Valid JSON as the last line is no torn write. */
		{4, "{\"i\":2,\"t\":null,\"h\":1,\"a\":1,\"r\":null,\"o\":0,"
		    "\"e\":null,\"rows\":[]}\n", "\"t\" is null"},
	};
	struct tenantset *set = make_set(5, 0);
	struct journal *j;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX];
	long long size;

	/* A damaged journal is a failed output of this run (exit 5), not a
	 * usage error: it is still this input's, only broken. */
	for(int c = 0; c < 4; c++) {
		new_path(path, sizeof(path));
		write_journal(path, set, idx, 3);
		replace_line(path, cases[c].line, cases[c].text);
		size = file_size(path);
		assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
				 PL_EOUTPUT);
		assert_null(j);
		snprintf(want, sizeof(want), "journal %s line %d is corrupt: %s",
			 path, cases[c].line, cases[c].why);
		assert_string_equal(err.msg, want);
		assert_int_equal(file_size(path), size);
	}
	tenantset_free(set);
}

/*
 * A journal damaged after it was opened: journal_load says which line of
 * which file, with the same status a damaged line gets at open
 * (PL_EOUTPUT: the journal is this run's own state, not a usage error).
 */
static void test_load_errors(void **state)
{
	static const size_t idx[3] = {0, 1, 2};
	struct tenantset *set = make_set(5, 0);
	struct tenant_record got;
	struct journal *j;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX];
	size_t len;
	char *text, *line3;

	new_path(path, sizeof(path));
	write_journal(path, set, idx, 3);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_resumed(j), 3);

	/* Line 3 (tenant 1's record) overwritten in place, same length. */
	text = testutil_read_file(path, &len);
	line3 = strchr(strchr(text, '\n') + 1, '\n') + 1;
	memset(line3, 'x', (size_t)(strchr(line3, '\n') - line3));
	spit(path, "r+b", text, len);
	free(text);
	tenant_record_init(&got);
	assert_int_equal(journal_load(j, 1, &got, &err), PL_EOUTPUT);
	snprintf(want, sizeof(want), "journal %s line 3 is corrupt: not a "
		 "JSON object", path);
	assert_string_equal(err.msg, want);
	assert_int_equal(got.nrows, 0);

	/* Cut short in line 4 (tenant 2's record): a read that ends early. */
	assert_int_equal(truncate(path, file_size(path) - 10), 0);
	assert_int_equal(journal_load(j, 2, &got, &err), PL_EOUTPUT);
	snprintf(want, sizeof(want), "cannot read journal %s line 4: the "
		 "file ends inside the record", path);
	assert_string_equal(err.msg, want);

	/* Line 2 is intact and still loads. */
	assert_int_equal(journal_load(j, 0, &got, &err), PL_OK);
	assert_int_equal(got.nrows, 1);
	tenant_record_release(&got);
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
}

/* A record that parses but has no row: refused, since its tenant would
 * vanish from the reports (found by fuzz_journal). */
static void test_record_without_rows(void **state)
{
	static const size_t idx[3] = {0, 1, 2};
	struct tenantset *set = make_set(5, 0);
	struct journal *j;
	struct pl_err err;
	char path[256], t1[GUID_STR_LEN + 1], line[256], want[PL_ERR_MAX];

	canon(set, 1, t1);
	snprintf(line, sizeof(line), "{\"i\":1,\"t\":\"%s\",\"h\":200,"
		 "\"a\":1,\"r\":null,\"o\":0,\"e\":null,\"rows\":[]}\n", t1);
	new_path(path, sizeof(path));
	write_journal(path, set, idx, 3);
	replace_line(path, 3, line);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
			 PL_EOUTPUT);
	assert_null(j);
	snprintf(want, sizeof(want), "journal %s line 3 is corrupt: "
		 "\"rows\" is empty", path);
	assert_string_equal(err.msg, want);
	tenantset_free(set);
}

/* A request ID that is not a GUID never reaches a report (found by
 * fuzz_journal: the column is loaded as uuid). */
static void test_bad_request_id(void **state)
{
	static const size_t idx[2] = {0, 1};
	static const char *bad[3] = {"16fd2706-8baf-433^-82eb-8c7fada847da",
				     "16FD2706-8BAF-433B-82EB-8C7FADA847DA",
				     "x,y"};
	struct tenantset *set = make_set(5, 0);
	struct journal *j;
	struct pl_err err;
	char path[256], t1[GUID_STR_LEN + 1], line[256], want[PL_ERR_MAX];

	canon(set, 1, t1);
	for(int c = 0; c < 3; c++) {
		snprintf(line, sizeof(line), "{\"i\":1,\"t\":\"%s\",\"h\":200,"
			 "\"a\":1,\"r\":\"%s\",\"o\":0,\"e\":null,\"rows\":"
			 "[[\"Q\",\"Approved\",null,null]]}\n", t1, bad[c]);
		new_path(path, sizeof(path));
		write_journal(path, set, idx, 2);
		replace_line(path, 3, line);
		assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
				 PL_EOUTPUT);
		snprintf(want, sizeof(want), "journal %s line 3 is corrupt: "
			 "\"r\" is not a request ID", path);
		assert_string_equal(err.msg, want);
	}
	tenantset_free(set);
}

static void test_identity_mismatch(void **state)
{
	static const size_t idx[1] = {0};
	struct tenantset *set = make_set(5, 0), *four = make_set(4, 0);
	struct journal_identity id = {SHA_A, FP, ""};
	struct journal *j;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX];
	long long size;

	new_path(path, sizeof(path));
	write_journal(path, set, idx, 1);
	size = file_size(path);

	assert_int_equal(open_j(path, set, SHA_B, FP, CORR, &j, &err),
			 PL_EUSAGE);
	snprintf(want, sizeof(want), "journal %s belongs to another input "
		 "(sha256 0123456789ab\xe2\x80\xa6 \xe2\x89\xa0 "
		 "fedcba987654\xe2\x80\xa6): use a new journal path or delete "
		 "it", path);
	assert_string_equal(err.msg, want);

	assert_int_equal(open_j(path, four, SHA_A, FP, CORR, &j, &err),
			 PL_EUSAGE);
	snprintf(want, sizeof(want), "journal %s belongs to another input "
		 "(5 tenants \xe2\x89\xa0 4): use a new journal path or delete "
		 "it", path);
	assert_string_equal(err.msg, want);

	assert_int_equal(open_j(path, set, SHA_A, "format=ndjson", CORR, &j,
				&err), PL_EUSAGE);
	snprintf(want, sizeof(want), "journal %s was written with other "
		 "options (\"" FP "\" \xe2\x89\xa0 \"format=ndjson\"): rerun "
		 "with those options, use a new journal path or delete it",
		 path);
	assert_string_equal(err.msg, want);

	assert_int_equal(open_j(path, set, SHA_A, FP, CORR2, &j, &err),
			 PL_EUSAGE);
	snprintf(want, sizeof(want), "journal %s has correlation ID " CORR
		 ", not " CORR2, path);
	assert_string_equal(err.msg, want);
	assert_int_equal(file_size(path), size);

	/* Adopted when none is given; the same one in capitals is fine. */
	assert_int_equal(journal_open(path, &id, set, &j, &err), PL_OK);
	assert_string_equal(id.correlation_id, CORR);
	assert_int_equal(journal_resumed(j), 1);
	assert_int_equal(journal_close(j, &err), PL_OK);
	snprintf(id.correlation_id, sizeof(id.correlation_id),
		 "0F8FAD5B-D9CB-469F-A165-70867728950E");
	assert_int_equal(journal_open(path, &id, set, &j, &err), PL_OK);
	assert_string_equal(id.correlation_id, CORR);
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(four);
	tenantset_free(set);
}

static void test_tenant_mismatch(void **state)
{
	static const size_t idx[2] = {0, 1};
	struct tenantset *set = make_set(5, 0), *other = tenantset_new();
	bool added;
	struct journal *j;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX], line[512];
	char t1[GUID_STR_LEN + 1], o1[GUID_STR_LEN + 1];
	uint8_t b[16];

	/* The same input but for a different tenant at index 1. */
	for(size_t i = 0; i < 5; i++) {
		memcpy(b, tenantset_get(set, i), 16);
		if(i == 1)
			b[0] ^= 0xff;
		assert_int_equal(tenantset_add(other, b, &added, NULL),
				 PL_OK);
		assert_true(added);
	}
	canon(set, 1, t1);
	canon(other, 1, o1);
	new_path(path, sizeof(path));
	write_journal(path, set, idx, 2);
	assert_int_equal(open_j(path, other, SHA_A, FP, CORR, &j, &err),
			 PL_EOUTPUT);
	snprintf(want, sizeof(want), "journal %s line 3 does not match the "
		 "input: tenant %s at index 1 is %s in the input", path, t1,
		 o1);
	assert_string_equal(err.msg, want);

	/* An index past the set. */
	new_path(path, sizeof(path));
	write_journal(path, set, idx, 2);
	snprintf(line, sizeof(line), "{\"i\":9,\"t\":\"%s\",\"h\":200,\"a\":1,"
		 "\"r\":null,\"o\":0,\"e\":null,\"rows\":[]}\n", t1);
	spit(path, "ab", line, strlen(line));
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
			 PL_EOUTPUT);
	snprintf(want, sizeof(want), "journal %s line 4 does not match the "
		 "input: index 9 is out of range (5 tenants)", path);
	assert_string_equal(err.msg, want);
	tenantset_free(other);
	tenantset_free(set);
}

static void test_batching(void **state)
{
	struct tenantset *set = make_set(200, 0);
	struct tenant_record rec;
	struct journal *j;
	struct pl_err err;
	char path[256];
	size_t next = 0;
	long long size0, size1;
	uint64_t t0;
	struct timespec nap = {0, 250 * 1000000L};

	new_path(path, sizeof(path));
	t0 = mono_ms();
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	size0 = file_size(path);
	for(; next < 3; next++) {
		make_record(set, next, &rec);
		assert_int_equal(journal_append(j, next, &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	/* The timer could only have fired on a badly stalled machine. */
	if(mono_ms() - t0 < JOURNAL_FLUSH_MS)
		assert_int_equal(file_size(path), size0);
	assert_int_equal(journal_flush(j, false, &err), PL_OK);
	assert_true(file_size(path) > size0);
	assert_well_formed(path, 4);

	/* JOURNAL_BATCH records trigger a write by themselves. */
	size1 = file_size(path);
	t0 = mono_ms();
	for(size_t k = 0; k < JOURNAL_BATCH; k++, next++) {
		if(k == JOURNAL_BATCH - 1 && mono_ms() - t0 < JOURNAL_FLUSH_MS)
			assert_int_equal(file_size(path), size1);
		make_record(set, next, &rec);
		assert_int_equal(journal_append(j, next, &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	assert_well_formed(path, 4 + JOURNAL_BATCH);

	/* So does JOURNAL_FLUSH_MS since the last write. */
	make_record(set, next, &rec);
	assert_int_equal(journal_append(j, next++, &rec, &err), PL_OK);
	tenant_record_release(&rec);
	assert_int_equal(count_lines(path), 4 + JOURNAL_BATCH);
	nanosleep(&nap, NULL);
	make_record(set, next, &rec);
	assert_int_equal(journal_append(j, next++, &rec, &err), PL_OK);
	tenant_record_release(&rec);
	assert_well_formed(path, 6 + JOURNAL_BATCH);
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
}

static void test_many_records(void **state)
{
	enum { N = 100000 };
	struct tenantset *set = make_set(N, 1);
	struct tenant_record rec;
	struct journal *j;
	struct pl_err err;
	char path[256];

	new_path(path, sizeof(path));
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	/* Out of input order, like completions. */
	for(size_t k = 0; k < N; k++) {
		size_t i = (k * 7919) % N;

		make_record(set, i, &rec);
		assert_int_equal(journal_append(j, i, &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	assert_int_equal(journal_close(j, &err), PL_OK);
	assert_int_equal(count_lines(path), N + 1);

	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(journal_resumed(j), N);
	for(size_t i = 0; i < N; i++)
		assert_true(journal_is_done(j, i));
	for(size_t i = 0; i < N; i += (i % 2 ? 997 : 1)) {
		make_record(set, i, &rec);
		load_equal(j, i, &rec);
		tenant_record_release(&rec);
	}
	make_record(set, N - 1, &rec);
	load_equal(j, N - 1, &rec);
	tenant_record_release(&rec);
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
}

static void test_open_errors(void **state)
{
	struct tenantset *set = make_set(5, 0);
	struct journal *j, *j2;
	struct pl_err err;
	char path[256], want[PL_ERR_MAX];

	snprintf(path, sizeof(path), "%s/missing/run.journal", dir);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err),
			 PL_EOUTPUT);
	assert_null(j);
	snprintf(want, sizeof(want), "cannot open journal %s: No such file or "
		 "directory", path);
	assert_string_equal(err.msg, want);

	/* One run at a time per journal. */
	new_path(path, sizeof(path));
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j, &err), PL_OK);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j2, &err),
			 PL_EUSAGE);
	snprintf(want, sizeof(want), "journal %s is in use by another run",
		 path);
	assert_string_equal(err.msg, want);
	assert_int_equal(journal_close(j, &err), PL_OK);
	assert_int_equal(open_j(path, set, SHA_A, FP, CORR, &j2, &err), PL_OK);
	assert_int_equal(journal_close(j2, &err), PL_OK);
	tenantset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_identity_and_line),
		cmocka_unit_test(test_generated_correlation),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_torn_last_line),
		cmocka_unit_test(test_torn_identity_and_foreign_file),
		cmocka_unit_test(test_corrupt_line),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_record_without_rows),
		cmocka_unit_test(test_bad_request_id),
		cmocka_unit_test(test_identity_mismatch),
		cmocka_unit_test(test_tenant_mismatch),
		cmocka_unit_test(test_batching),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_open_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
