/*
 * test_changes: the diff rules row by row (every change kind, Error on
 * either side and both, None against NotFound, duplicate qualifications,
 * row order), then whole runs against a previous report on disk: exact
 * changes-report bytes in CSV, the NDJSON against its JSON Schema, gone
 * tenants in the previous order, reruns byte-identical, and the previous
 * reports that are refused (split tenant rows, an older column order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "buf.h"
#include "changes.h"
#include "guid.h"
#include "previous.h"
#include "record.h"
#include "report.h"
#include "testutil.h"

#define VALIDATE "/usr/bin/python3 " QR_SOURCE_DIR "/tests/schemas/validate.py"
#define SCHEMAS QR_SOURCE_DIR "/schemas/"
#define T1 "0a1b2c3d-0000-4000-8000-000000000001"
#define T2 "0a1b2c3d-0000-4000-8000-000000000002"
#define T3 "0a1b2c3d-0000-4000-8000-000000000003"
#define T4 "0a1b2c3d-0000-4000-8000-000000000004"
#define T5 "0a1b2c3d-0000-4000-8000-000000000005"
#define T6 "0a1b2c3d-0000-4000-8000-000000000006"

/* Rows as "tenant|qualification|change|ps|vs|pr|vr|pd|vd" lines. */
struct capture {
	struct buf text;
	int fail_after; /* fail the n-th row (1-based), 0 = never */
	int rows;
};

static void field(struct buf *b, const char *s, bool last)
{
	assert_int_equal(buf_addstr(b, s ? s : ""), PL_OK);
	assert_int_equal(buf_addstr(b, last ? "\n" : "|"), PL_OK);
}

static enum pl_status capture_row(void *ctx, const struct change_row *row,
				  struct pl_err *err)
{
	struct capture *c = ctx;

	if(++c->rows == c->fail_after)
		return pl_fail(err, PL_EOUTPUT, "sink full");
	field(&c->text, row->tenant_id + 30, false); /* the last 6 digits */
	field(&c->text, row->qualification, false);
	field(&c->text, changes_kind_name(row->change), false);
	field(&c->text, row->previous_status, false);
	field(&c->text, row->vetting_status, false);
	field(&c->text, row->previous_reason, false);
	field(&c->text, row->vetting_reason, false);
	field(&c->text, row->previous_created_date, false);
	field(&c->text, row->vetting_created_date, true);
	return PL_OK;
}

static void rec_init(struct tenant_record *r, const char *tenant,
		     enum tenant_outcome outcome)
{
	tenant_record_init(r);
	snprintf(r->tenant_id, sizeof(r->tenant_id), "%s", tenant);
	r->outcome = outcome;
	r->http_status = outcome == OUTCOME_NOT_FOUND ? 404
			 : outcome == OUTCOME_FAILED ? 503 : 200;
	r->attempts = 1;
	if(outcome == OUTCOME_FAILED)
		assert_int_equal(tenant_record_set_error(r, "HTTP 503", NULL),
				 PL_OK);
}

static void row(struct tenant_record *r, const char *q, const char *st,
		const char *reason, const char *date)
{
	assert_int_equal(tenant_record_add_row(r, q, st, reason, date, NULL),
			 PL_OK);
}

/* Tenant-level records: None, NotFound, Error. */
static void none(struct tenant_record *r, const char *tenant)
{
	rec_init(r, tenant, OUTCOME_ANSWERED);
	row(r, NULL, "None", NULL, NULL);
}

static void not_found(struct tenant_record *r, const char *tenant)
{
	rec_init(r, tenant, OUTCOME_NOT_FOUND);
	row(r, NULL, "NotFound", NULL, NULL);
}

static void error(struct tenant_record *r, const char *tenant)
{
	rec_init(r, tenant, OUTCOME_FAILED);
	row(r, NULL, "Error", NULL, NULL);
}

/* diff(prev, cur) must give exactly `want` (and release both). */
static void expect_diff(struct tenant_record *prev, struct tenant_record *cur,
			const char *want)
{
	struct capture c = {BUF_INIT, 0, 0};
	struct changes_sink sink = {capture_row, &c};
	struct pl_err err = {{0}};

	assert_int_equal(changes_diff(prev, cur, &sink, &err), PL_OK);
	assert_string_equal(c.text.data, want);
	buf_release(&c.text);
	tenant_record_release(prev);
	tenant_record_release(cur);
}

static void test_new_and_gone(void **state)
{
	struct tenant_record p, c;

	(void)state;
	rec_init(&p, T1, OUTCOME_ANSWERED);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "InReview", NULL, "2026-10-01T00:00:00Z");
	row(&c, "StateOwnedEntity", NULL, NULL, NULL);
	tenant_record_release(&p);
	expect_diff(NULL, &c,
		    "000001|Education|new_tenant||InReview||||"
		    "2026-10-01T00:00:00Z\n"
		    "000001|StateOwnedEntity|new_tenant||||||\n");
	/* A new tenant's None, NotFound or Error row is its whole state. */
	none(&c, T2);
	expect_diff(NULL, &c, "000002||new_tenant||None||||\n");
	not_found(&c, T2);
	expect_diff(NULL, &c, "000002||new_tenant||NotFound||||\n");
	error(&c, T3);
	expect_diff(NULL, &c, "000003||new_tenant||Error||||\n");

	rec_init(&p, T4, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "Not an Education Customer",
	    "2020-12-03T10:37:38.885Z");
	row(&p, "GovernmentCommunityCloud", "Approved", NULL, NULL);
	expect_diff(&p, NULL,
		    "000004|Education|gone_tenant|Denied||Not an Education "
		    "Customer||2020-12-03T10:37:38.885Z|\n"
		    "000004|GovernmentCommunityCloud|gone_tenant|Approved"
		    "|||||\n");
	error(&p, T5);
	expect_diff(&p, NULL, "000005||gone_tenant|Error|||||\n");
	/* Neither side: nothing. */
	expect_diff(NULL, NULL, "");
}

static void test_status_reason_date(void **state)
{
	struct tenant_record p, c;

	(void)state;
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Approved", NULL, "2021-01-01T00:00:00Z");
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Denied", "Not an Academic Domain",
	    "2026-10-02T00:00:00Z");
	expect_diff(&p, &c,
		    "000001|Education|status_changed|Approved|Denied||"
		    "Not an Academic Domain|2021-01-01T00:00:00Z|"
		    "2026-10-02T00:00:00Z\n");

	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "Reason one", NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Denied", "Reason two", NULL);
	expect_diff(&p, &c, "000001|Education|reason_changed|Denied|Denied|"
		    "Reason one|Reason two||\n");
	/* A reason that goes away is a change too. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "Reason one", NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Denied", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|reason_changed|Denied|Denied|"
		    "Reason one|||\n");
	/* A new date alone is not; the empty status of StateOwnedEntity
	 * compares equal to itself; values compare exactly (case). */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "InReview", NULL, "2026-09-01T00:00:00Z");
	row(&p, "StateOwnedEntity", NULL, NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "InReview", NULL, "2026-10-01T00:00:00Z");
	row(&c, "StateOwnedEntity", NULL, NULL, NULL);
	expect_diff(&p, &c, "");
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "approved", NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|status_changed|approved|"
		    "Approved||||\n");
	/* StateOwnedEntity gaining a status */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "StateOwnedEntity", NULL, NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "StateOwnedEntity", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|StateOwnedEntity|status_changed||"
		    "Approved||||\n");
}

static void test_added_removed_none_notfound(void **state)
{
	struct tenant_record p, c;

	(void)state;
	/* None -> a qualification: one added row, no row for None. */
	none(&p, T1);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "GovernmentCommunityCloud", "InReview", NULL,
	    "2026-10-03T00:00:00Z");
	expect_diff(&p, &c, "000001|GovernmentCommunityCloud|added||InReview"
		    "||||2026-10-03T00:00:00Z\n");
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Approved", NULL, NULL);
	none(&c, T1);
	expect_diff(&p, &c, "000001|Education|removed|Approved|||||\n");
	/* NotFound against qualifications: only those compare. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Approved", NULL, "2021-01-01T00:00:00Z");
	not_found(&c, T1);
	expect_diff(&p, &c, "000001|Education|removed|Approved||||"
		    "2021-01-01T00:00:00Z|\n");
	not_found(&p, T1);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|added||Approved||||\n");
	/* Neither side has a qualification: None against NotFound. */
	none(&p, T1);
	not_found(&c, T1);
	expect_diff(&p, &c, "000001||status_changed|None|NotFound||||\n");
	not_found(&p, T1);
	none(&c, T1);
	expect_diff(&p, &c, "000001||status_changed|NotFound|None||||\n");
	none(&p, T1);
	none(&c, T1);
	expect_diff(&p, &c, "");
	not_found(&p, T1);
	not_found(&c, T1);
	expect_diff(&p, &c, "");
	/* Added and removed side by side, in report order: current rows in
	 * their order, then the removed ones in the previous order. */
	rec_init(&p, T2, OUTCOME_ANSWERED);
	row(&p, "Education", "Approved", NULL, NULL);
	row(&p, "GovernmentCommunityCloud", "Denied", "No", NULL);
	row(&p, "StateOwnedEntity", NULL, NULL, NULL);
	row(&p, "Zeta", "Approved", NULL, NULL);
	rec_init(&c, T2, OUTCOME_ANSWERED);
	row(&c, "GovernmentCommunityCloud", "Approved", NULL, NULL);
	row(&c, "Nonprofit", "InReview", NULL, NULL);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c,
		    "000002|GovernmentCommunityCloud|status_changed|Denied|"
		    "Approved|No|||\n"
		    "000002|Nonprofit|added||InReview||||\n"
		    "000002|StateOwnedEntity|removed||||||\n"
		    "000002|Zeta|removed|Approved|||||\n");
}

static void test_error_is_unknown(void **state)
{
	struct tenant_record p, c;

	(void)state;
	/* Error now: every previous row is unknown, never removed. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Approved", NULL, "2021-01-01T00:00:00Z");
	row(&p, "GovernmentCommunityCloud", "InReview", NULL, NULL);
	error(&c, T1);
	expect_diff(&p, &c,
		    "000001|Education|unknown|Approved|Error|||"
		    "2021-01-01T00:00:00Z|\n"
		    "000001|GovernmentCommunityCloud|unknown|InReview|Error"
		    "||||\n");
	/* Error before: every current row is unknown, never added. */
	error(&p, T1);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Denied", "No", NULL);
	expect_diff(&p, &c, "000001|Education|unknown|Error|Denied||No||\n");
	error(&p, T1);
	none(&c, T1);
	expect_diff(&p, &c, "000001||unknown|Error|None||||\n");
	none(&p, T1);
	error(&c, T1);
	expect_diff(&p, &c, "000001||unknown|None|Error||||\n");
	not_found(&p, T1);
	error(&c, T1);
	expect_diff(&p, &c, "000001||unknown|NotFound|Error||||\n");
	/* Error in both: one row, still unknown. */
	error(&p, T1);
	error(&c, T1);
	expect_diff(&p, &c, "000001||unknown|Error|Error||||\n");
	/* A previous Error row is recognized by its row too (the outcome
	 * previous.c sets from it). */
	rec_init(&p, T1, OUTCOME_FAILED);
	row(&p, NULL, "Error", NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|unknown|Error|Approved||||\n");
}

static void test_duplicate_qualifications(void **state)
{
	struct tenant_record p, c;

	(void)state;
	/* Identical rows pair first, whatever their position. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "Old", NULL);
	row(&p, "Education", "Approved", NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|removed|Denied||Old|||\n");
	/* Then the rest in order: n-th remaining with n-th remaining. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "a", NULL);
	row(&p, "Education", "Denied", "b", NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Denied", "b", NULL);
	row(&c, "Education", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|status_changed|Denied|Approved"
		    "|a|||\n");
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "InReview", NULL, NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "InReview", NULL, NULL);
	row(&c, "Education", "InReview", NULL, NULL);
	expect_diff(&p, &c, "000001|Education|added||InReview||||\n");
	rec_init(&p, T1, OUTCOME_ANSWERED);
	row(&p, "Education", "Denied", "x", NULL);
	row(&p, "Education", "Denied", "y", NULL);
	row(&p, "Education", "Denied", "z", NULL);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	row(&c, "Education", "Approved", NULL, NULL);
	row(&c, "Education", "Denied", "y", NULL);
	expect_diff(&p, &c, "000001|Education|status_changed|Denied|Approved"
		    "|x|||\n000001|Education|removed|Denied||z|||\n");
	/* Many rows (past the on-stack size): same rules. */
	rec_init(&p, T1, OUTCOME_ANSWERED);
	rec_init(&c, T1, OUTCOME_ANSWERED);
	for(int i = 0; i < 40; i++) {
		char q[16];

		snprintf(q, sizeof(q), "Q%02d", i);
		row(&p, q, "Approved", NULL, NULL);
		row(&c, q, i == 33 ? "Denied" : "Approved", NULL, NULL);
	}
	row(&c, "Q00", "Approved", NULL, NULL);
	expect_diff(&p, &c, "000001|Q33|status_changed|Approved|Denied||||\n"
		    "000001|Q00|added||Approved||||\n");
}

static void test_sink_failure(void **state)
{
	struct capture c = {BUF_INIT, 2, 0};
	struct changes_sink sink = {capture_row, &c};
	struct tenant_record cur;
	struct pl_err err = {{0}};

	(void)state;
	rec_init(&cur, T1, OUTCOME_ANSWERED);
	row(&cur, "A", "Approved", NULL, NULL);
	row(&cur, "B", "Approved", NULL, NULL);
	row(&cur, "C", "Approved", NULL, NULL);
	assert_int_equal(changes_diff(NULL, &cur, &sink, &err), PL_EOUTPUT);
	assert_string_equal(err.msg, "sink full");
	assert_int_equal(c.rows, 2);
	buf_release(&c.text);
	tenant_record_release(&cur);
}

/* ---- whole runs against a previous report on disk ---------------------- */

struct fixture {
	char dir[64];
	char path[4][300];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if(!fx || testutil_mkdtemp(fx->dir, sizeof(fx->dir), "changes"))
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

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void write_detail(const char *path, struct tenant_record *recs,
			 size_t n)
{
	struct report_options opt = {report_format_from_path(path), 0};
	struct report *r = NULL;
	struct pl_err err = {{0}};

	assert_int_equal(report_open_detail(path, &opt, &r, &err), PL_OK);
	for(size_t i = 0; i < n; i++)
		assert_int_equal(report_write_tenant(r, &recs[i], &err), PL_OK);
	assert_int_equal(report_commit(r, NULL, &err), PL_OK);
}

/* Last month: T1..T5 (T6 is new this month, T3 is gone). */
static size_t last_month(struct tenant_record *v)
{
	rec_init(&v[0], T1, OUTCOME_ANSWERED);
	row(&v[0], "Education", "Approved", NULL, "2021-01-01T00:00:00Z");
	rec_init(&v[1], T2, OUTCOME_ANSWERED);
	row(&v[1], "Education", "InReview", NULL, "2026-09-01T00:00:00Z");
	row(&v[1], "StateOwnedEntity", NULL, NULL, NULL);
	rec_init(&v[2], T3, OUTCOME_ANSWERED);
	row(&v[2], "Education", "Denied", "Not an \"Education\", customer",
	    "2020-12-03T10:37:38.885Z");
	error(&v[3], T4);
	none(&v[4], T5);
	return 5;
}

/* This month, in its input order. */
static size_t this_month(struct tenant_record *v)
{
	rec_init(&v[0], T2, OUTCOME_ANSWERED);
	row(&v[0], "Education", "Denied", "Not an Academic Domain",
	    "2026-10-02T00:00:00Z");
	row(&v[0], "StateOwnedEntity", NULL, NULL, NULL);
	rec_init(&v[1], T6, OUTCOME_ANSWERED);
	row(&v[1], "GovernmentCommunityCloud", "InReview", NULL,
	    "2026-10-03T00:00:00Z");
	rec_init(&v[2], T1, OUTCOME_ANSWERED);
	row(&v[2], "Education", "Approved", NULL, "2021-01-01T00:00:00Z");
	rec_init(&v[3], T4, OUTCOME_ANSWERED);
	row(&v[3], "Education", "Approved", NULL, NULL);
	not_found(&v[4], T5);
	return 5;
}

static const char want_csv[] =
	"tenant_id,qualification,change,previous_status,vetting_status,"
	"previous_reason,vetting_reason,previous_created_date,"
	"vetting_created_date\n"
	T2 ",Education,status_changed,InReview,Denied,,Not an Academic "
	"Domain,2026-09-01T00:00:00Z,2026-10-02T00:00:00Z\n"
	T6 ",GovernmentCommunityCloud,new_tenant,,InReview,,,,"
	"2026-10-03T00:00:00Z\n"
	T4 ",Education,unknown,Error,Approved,,,,\n"
	T5 ",,status_changed,None,NotFound,,,,\n"
	T3 ",Education,gone_tenant,Denied,,\"Not an \"\"Education\"\", "
	"customer\",,2020-12-03T10:37:38.885Z,\n";

/* Run this month against the previous report at prev_path into out. */
static enum pl_status run(const char *prev_path, const char *out,
			  struct pl_err *err, uint64_t *nrows)
{
	struct tenant_record cur[8];
	size_t n = this_month(cur);
	struct tenantset *set = tenantset_new();
	struct previous *prev = NULL;
	struct changes *c = NULL;
	struct report *r = NULL;
	struct report_options opt = {report_format_from_path(out), 0};
	enum pl_status st;

	assert_non_null(set);
	for(size_t i = 0; i < n; i++) {
		uint8_t id[16];

		assert_null(guid_canonicalize(cur[i].tenant_id, 36, NULL, id));
		bool added;

		assert_int_equal(tenantset_add(set, id, &added, NULL), PL_OK);
		assert_true(added);
	}
	st = previous_open(prev_path, &prev, err);
	if(!st)
		st = changes_new(prev, set, &c, err);
	if(!st)
		st = changes_report_open(out, &opt, &r, err);
	if(!st) {
		struct changes_sink sink = changes_report_sink(r);

		st = changes_add_sink(c, &sink, err);
	}
	for(size_t i = 0; !st && i < n; i++)
		st = changes_add_tenant(c, i, &cur[i], err);
	if(!st)
		st = changes_add_gone(c, err);
	if(!st && nrows)
		*nrows = changes_count(c);
	if(!st) {
		assert_int_equal(changes_previous_tenants(c), 5);
		assert_int_equal(changes_kept_tenants(c), 4);
		assert_int_equal(changes_count_kind(c, CHANGE_UNKNOWN), 1);
		assert_int_equal(changes_count_kind(c, CHANGE_GONE_TENANT), 1);
		st = report_commit(r, NULL, err);
		r = NULL;
	}
	report_abort(r);
	changes_free(c);
	previous_free(prev);
	tenantset_free(set);
	for(size_t i = 0; i < n; i++)
		tenant_record_release(&cur[i]);
	return st;
}

static void test_run_csv_exact(void **state)
{
	struct fixture *fx = *state;
	struct tenant_record prev[8];
	size_t n = last_month(prev);
	const char *formats[] = {"prev.csv", "prev.ndjson", "prev.ndjson.gz"};
	struct pl_err err = {{0}};
	uint64_t rows = 0;
	char *got;

	for(size_t k = 0; k < 3; k++) {
		write_detail(at(fx, 0, formats[k]), prev, n);
		assert_int_equal(run(fx->path[0], at(fx, 1, "changes.csv"),
				     &err, &rows), PL_OK);
		got = testutil_read_file(fx->path[1], NULL);
		assert_string_equal(got, want_csv);
		free(got);
		assert_int_equal(rows, 5);
	}
	for(size_t i = 0; i < n; i++)
		tenant_record_release(&prev[i]);
}

static void test_run_ndjson_schema(void **state)
{
	struct fixture *fx = *state;
	struct tenant_record prev[8];
	size_t n = last_month(prev);
	struct pl_err err = {{0}};
	char cmd[1024];
	char *first, *second;

	write_detail(at(fx, 0, "prev.csv"), prev, n);
	assert_int_equal(run(fx->path[0], at(fx, 1, "changes.ndjson"), &err,
			     NULL), PL_OK);
	first = testutil_read_file(fx->path[1], NULL);
	assert_non_null(strstr(first, "{\"tenant_id\":\"" T4 "\","
			       "\"qualification\":\"Education\",\"change\":"
			       "\"unknown\",\"previous_status\":\"Error\","
			       "\"vetting_status\":\"Approved\","
			       "\"previous_reason\":null,"));
	snprintf(cmd, sizeof(cmd), VALIDATE " " SCHEMAS
		 "changes-row.schema.json %s 2>/dev/null", fx->path[1]);
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	/* the schema can say no: an "added" row with a previous status */
	write_file(at(fx, 2, "bad.ndjson"),
		   "{\"tenant_id\":\"" T1 "\",\"qualification\":\"E\","
		   "\"change\":\"added\",\"previous_status\":\"Approved\","
		   "\"vetting_status\":\"Approved\",\"previous_reason\":null,"
		   "\"vetting_reason\":null,\"previous_created_date\":null,"
		   "\"vetting_created_date\":null}\n");
	snprintf(cmd, sizeof(cmd), VALIDATE " " SCHEMAS
		 "changes-row.schema.json %s 2>/dev/null", fx->path[2]);
	assert_int_equal(WEXITSTATUS(system(cmd)), 1);
	/* The CSV form validates as well. */
	assert_int_equal(run(fx->path[0], at(fx, 3, "changes.csv"), &err,
			     NULL), PL_OK);
	snprintf(cmd, sizeof(cmd), VALIDATE " " SCHEMAS
		 "changes-row.schema.json %s 2>/dev/null", fx->path[3]);
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	/* A rerun gives the same bytes. */
	assert_int_equal(run(fx->path[0], fx->path[1], &err, NULL), PL_OK);
	second = testutil_read_file(fx->path[1], NULL);
	assert_string_equal(first, second);
	free(first);
	free(second);
	for(size_t i = 0; i < n; i++)
		tenant_record_release(&prev[i]);
}

static void test_refused_previous(void **state)
{
	struct fixture *fx = *state;
	struct pl_err err = {{0}};
	const char *p = at(fx, 0, "old.csv");

	/* An older column order (no request_id, error before attempts). */
	write_file(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,error,attempts\n"
		      T1 ",Education,Approved,,,200,,1\n");
	assert_int_equal(run(p, at(fx, 1, "c.csv"), &err, NULL), PL_EINPUT);
	assert_non_null(strstr(err.msg, "old.csv: not a detail report of "
			       "this version: header column 7 is 'error' "
			       "where it has 'attempts'"));
	/* The changes report is not left behind. */
	assert_int_equal(access(fx->path[1], F_OK), -1);

	/* A tenant of this run whose rows are split apart. */
	p = at(fx, 0, "split.csv");
	write_file(p, "tenant_id,qualification,vetting_status,vetting_reason,"
		      "vetting_created_date,http_status,attempts,error,"
		      "request_id\n"
		      T1 ",Education,Approved,,,200,1,,\n"
		      T3 ",,None,,,200,1,,\n"
		      T1 ",StateOwnedEntity,,,,200,1,,\n");
	assert_int_equal(run(p, at(fx, 1, "c.csv"), &err, NULL), PL_EINPUT);
	assert_non_null(strstr(err.msg, "split.csv: tenant " T1 " appears "
			       "twice"));
}

int main(void)
{
#define F(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_gone),
		cmocka_unit_test(test_status_reason_date),
		cmocka_unit_test(test_added_removed_none_notfound),
		cmocka_unit_test(test_error_is_unknown),
		cmocka_unit_test(test_duplicate_qualifications),
		cmocka_unit_test(test_sink_failure),
		F(test_run_csv_exact),
		F(test_run_ndjson_schema),
		F(test_refused_previous),
	};
#undef F

	return cmocka_run_group_tests(tests, NULL, NULL);
}
