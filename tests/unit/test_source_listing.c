/*
 * test_source_listing.c: the customer list as a source (source.h),
 * driven without a network: the requests it asks for (first page, next
 * links with their headers, one at a time), and what each answer means:
 * a page, the end (no next link, 400 code 2000 on a seek), an expired
 * token (a restart from the first page, deduplicated and counted as
 * relisted, bounded), a body that is no JSON (asked again, bounded), a
 * failure (PL_EINPUT naming the page). Also the counts, the rejects'
 * lines and reasons, and resuming from replayed pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guid.h"
#include "source.h"

#define BASE "http://127.0.0.1:8080"
#define T(n) "00000000-0000-4000-8000-00000000000" #n

/* What the sink was told. */
struct seen {
	char tenants[32][GUID_STR_LEN + 1];
	char names[32][32];
	size_t ntenants;
	char rejects[8][96];
	unsigned long reject_lines[8];
	size_t nrejects;
	size_t pages;           /* on_page with a page */
	size_t ends;            /* on_page(NULL) */
	unsigned long last_items, last_dup, last_relisted;
	struct tenantset *set;
};

static enum pl_status on_tenant(void *ctx, size_t index,
				const struct customer_info *info,
				struct pl_err *err)
{
	struct seen *s = ctx;

	(void)err;
	assert_int_equal(index, s->ntenants);
	guid_format(tenantset_get(s->set, index), s->tenants[s->ntenants]);
	snprintf(s->names[s->ntenants], sizeof(s->names[0]), "%s",
		 info && info->name ? info->name : "-");
	s->ntenants++;
	return PL_OK;
}

static enum pl_status on_reject(void *ctx, unsigned long line,
				const char *value, size_t value_len,
				const char *reason, struct pl_err *err)
{
	struct seen *s = ctx;

	(void)err;
	snprintf(s->rejects[s->nrejects], sizeof(s->rejects[0]), "%.*s|%s",
		 (int)value_len, value, reason);
	s->reject_lines[s->nrejects++] = line;
	return PL_OK;
}

static enum pl_status on_page(void *ctx, const struct listing_page *pg,
			      struct pl_err *err)
{
	struct seen *s = ctx;

	(void)err;
	if(!pg) {
		s->ends++;
		return PL_OK;
	}
	s->pages++;
	s->last_items = pg->items;
	s->last_dup = pg->duplicates;
	s->last_relisted = pg->relisted;
	return PL_OK;
}

struct fx {
	struct tenantset *set;
	struct seen seen;
	struct source *src;
	unsigned retries;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	struct source_listing_options opt = {BASE, 2, 2, 7};
	struct source_sink sink;
	struct pl_err err;

	assert_non_null(fx);
	fx->set = tenantset_new();
	fx->seen.set = fx->set;
	sink = (struct source_sink){&fx->seen, on_tenant, on_reject, on_page};
	assert_int_equal(source_listing_new(&opt, fx->set, &sink, &fx->src,
					    &err), PL_OK);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	source_free(fx->src);
	tenantset_free(fx->set);
	free(fx);
	return 0;
}

/* The next request: it must be a page, at path, with one header (or
 * none when header is NULL). */
static void expect_request(struct fx *fx, const char *path,
			   const char *header)
{
	struct fetch_job job;

	assert_int_equal(source_next_request(fx->src, INT64_MAX / 2, &job), 1);
	assert_int_equal(job.kind, FETCH_PAGE);
	assert_string_equal(job.path, path);
	if(header) {
		assert_int_equal(job.nheaders, 1);
		assert_string_equal(job.headers[0], header);
	} else {
		assert_int_equal(job.nheaders, 0);
	}
	/* one at a time */
	assert_int_equal(source_next_request(fx->src, INT64_MAX / 2, &job), 0);
}

static enum pl_status answer(struct fx *fx, long status, const char *body,
			     struct pl_err *err)
{
	struct fetch_result res;

	memset(&res, 0, sizeof(res));
	res.kind = FETCH_PAGE;
	res.http_status = status;
	res.body = body;
	res.body_len = body ? strlen(body) : 0;
	res.attempts = 1;
	return source_request_done(fx->src, &res, err);
}

#define ITEM(t, name) "{\"id\":\"" t "\",\"companyProfile\":" \
	"{\"companyName\":\"" name "\"}}"
#define NEXT(tok) ",\"links\":{\"next\":{\"uri\":" \
	"\"/customers?size=2&seekOperation=Next\",\"headers\":" \
	"[{\"key\":\"MS-ContinuationToken\",\"value\":\"" tok "\"}]}}"

static void two_pages(void **state)
{
	struct fx *fx = *state;
	struct source_counts c;
	struct source_listing_facts f;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") ","
				ITEM(T(2), "B") "]" NEXT("t1") "}", &err),
			 PL_OK);
	assert_false(source_is_complete(fx->src));
	assert_int_equal(fx->seen.ntenants, 2);
	expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
		       "MS-ContinuationToken: t1");
	/* T(2) again: a customer on two pages, fetched once */
	assert_int_equal(answer(fx, 200, "\xef\xbb\xbf{\"items\":["
				ITEM(T(2), "B") "," ITEM(T(3), "C") ",],}",
				&err), PL_OK);
	assert_true(source_is_complete(fx->src));
	assert_int_equal(fx->seen.ntenants, 3);
	assert_string_equal(fx->seen.tenants[2], T(3));
	assert_string_equal(fx->seen.names[2], "C");
	assert_int_equal(fx->seen.pages, 2);
	assert_int_equal(fx->seen.ends, 1);
	assert_int_equal(fx->seen.last_dup, 1);
	source_counts(fx->src, &c);
	assert_int_equal(c.rows, 4);
	assert_int_equal(c.tenants, 3);
	assert_int_equal(c.duplicates, 1);
	assert_int_equal(c.rejects, 0);
	source_listing_facts(fx->src, &f);
	assert_int_equal(f.pages, 2);
	assert_int_equal(f.duplicates, 1);
	assert_int_equal(f.restarts, 0);
	assert_true(f.complete);
	/* complete: nothing more to ask */
	struct fetch_job job;
	assert_int_equal(source_next_request(fx->src, INT64_MAX / 2, &job), 0);
}

static void end_code_2000(void **state)
{
	struct fx *fx = *state;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") "]"
				NEXT("t1") "}", &err), PL_OK);
	expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
		       "MS-ContinuationToken: t1");
	assert_int_equal(answer(fx, 400, "{\"code\":2000,\"description\":"
				"\"done\"}", &err), PL_OK);
	assert_true(source_is_complete(fx->src));
	assert_int_equal(fx->seen.ends, 1);
}

/* A refused token: the list again from its first page, deduplicated;
 * after SOURCE_MAX_RESTARTS restarts the end of the run. */
static void expired_token(void **state)
{
	struct fx *fx = *state;
	struct source_counts c;
	struct source_listing_facts f;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") ","
				ITEM(T(2), "B") "]" NEXT("t1") "}", &err),
			 PL_OK);
	expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
		       "MS-ContinuationToken: t1");
	assert_int_equal(answer(fx, 400, "{\"code\":2005,\"description\":"
				"\"expired\"}", &err), PL_OK);
	expect_request(fx, "/v1/customers?size=2", NULL);
	/* the first page again, with one more customer: T(1) and T(2) are
	 * relisted (counted once each), T(2) twice is a duplicate */
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") ","
				ITEM(T(2), "B") "," ITEM(T(2), "B") ","
				ITEM(T(4), "D") "]}", &err), PL_OK);
	assert_true(source_is_complete(fx->src));
	assert_int_equal(fx->seen.ntenants, 3);
	assert_string_equal(fx->seen.tenants[2], T(4));
	assert_int_equal(fx->seen.last_relisted, 2);
	assert_int_equal(fx->seen.last_dup, 1);
	source_counts(fx->src, &c);
	assert_int_equal(c.rows, 6);
	assert_int_equal(c.tenants, 3);
	assert_int_equal(c.duplicates, 3);
	source_listing_facts(fx->src, &f);
	assert_int_equal(f.restarts, 1);
	assert_int_equal(f.relisted, 2);
	assert_int_equal(f.duplicates, 1);
}

static void too_many_restarts(void **state)
{
	struct fx *fx = *state;
	struct pl_err err;

	for(int i = 0; i <= SOURCE_MAX_RESTARTS; i++) {
		expect_request(fx, "/v1/customers?size=2", NULL);
		assert_int_equal(answer(fx, 200, "{\"items\":["
					ITEM(T(1), "A") "]" NEXT("t1") "}",
					&err), PL_OK);
		expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
			       "MS-ContinuationToken: t1");
		assert_int_equal(answer(fx, 400, "{\"code\":2005,"
					"\"description\":\"expired\"}", &err),
				 i < SOURCE_MAX_RESTARTS ? PL_OK : PL_EINPUT);
	}
	assert_string_equal(err.msg, "cannot list the customers: the "
			    "continuation token of page 2 was refused (HTTP "
			    "400: 2005: expired) after 3 restarts from the "
			    "first page");
	assert_int_equal(fx->seen.ntenants, 1);
}

/* Failures that are the end of the run: exit 3. */
static void failures(void **state)
{
	struct fx *fx = *state;
	struct fetch_result res;
	struct pl_err err;

	/* a 400 on the first page is no expired token */
	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 400, "{\"code\":400,\"description\":"
				"\"bad size\"}", &err), PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 1 (GET "
			    "/v1/customers?size=2): HTTP 400: 400: bad size");
	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 503, "{\"code\":800003,\"description\":"
				"\"Unexpected service error\"}", &err),
			 PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 1 (GET "
			    "/v1/customers?size=2): HTTP 503: 800003: "
			    "Unexpected service error");
	expect_request(fx, "/v1/customers?size=2", NULL);
	memset(&res, 0, sizeof(res));
	res.kind = FETCH_PAGE;
	res.failure = "timeout after 30 s (6 attempts)";
	assert_int_equal(source_request_done(fx->src, &res, &err), PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 1 (GET "
			    "/v1/customers?size=2): timeout after 30 s (6 "
			    "attempts)");
	/* JSON, but a next link to another host: no point asking again */
	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[],\"links\":{\"next\":"
				"{\"uri\":\"http://10.1.1.1/v1/customers\"}}}",
				&err), PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 1 (GET "
			    "/v1/customers?size=2) is not a page of the list: "
			    "next link 'http://10.1.1.1/v1/customers' points "
			    "to another host than " BASE ": refused");
	assert_false(source_is_complete(fx->src));
}

/* A body cut short is asked for again, after a backoff, --retries
 * times. */
static void not_json_reasked(void **state)
{
	struct fx *fx = *state;
	struct fetch_job job;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[", &err), PL_OK);
	/* not before its backoff (at least a moment) */
	assert_int_equal(source_next_request(fx->src, 0, &job), 0);
	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "<html>", &err), PL_OK);
	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[", &err), PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 1 (GET "
			    "/v1/customers?size=2) is not a page of the list: "
			    "truncated JSON");
}

static void rejects(void **state)
{
	struct fx *fx = *state;
	struct source_counts c;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") ","
				"{\"id\":\"nope\"}]" NEXT("t1") "}", &err),
			 PL_OK);
	expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
		       "MS-ContinuationToken: t1");
	assert_int_equal(answer(fx, 200, "{\"items\":[{\"id\":\"nope\"},"
				"{\"companyProfile\":{}},3]}", &err), PL_OK);
	assert_int_equal(fx->seen.nrejects, 3);
	assert_string_equal(fx->seen.rejects[0], "nope|not a GUID (page 1, "
			    "item 2)");
	assert_int_equal(fx->seen.reject_lines[0], 2);
	/* "nope" again is a duplicate, not a second reject */
	assert_string_equal(fx->seen.rejects[1], "|no id (page 2, item 2)");
	assert_int_equal(fx->seen.reject_lines[1], 4);
	assert_string_equal(fx->seen.rejects[2], "3|not an object (page 2, "
			    "item 3)");
	assert_int_equal(fx->seen.reject_lines[2], 5);
	source_counts(fx->src, &c);
	assert_int_equal(c.rows, 5);
	assert_int_equal(c.tenants, 1);
	assert_int_equal(c.rejects, 3);
	assert_int_equal(c.duplicates, 1);
}

static void links_to_itself(void **state)
{
	struct fx *fx = *state;
	struct pl_err err;

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") "]"
				NEXT("t1") "}", &err), PL_OK);
	expect_request(fx, "/v1/customers?size=2&seekOperation=Next",
		       "MS-ContinuationToken: t1");
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(2), "B") "]"
				NEXT("t1") "}", &err), PL_EINPUT);
	assert_string_equal(err.msg, "cannot list the customers: page 2 "
			    "links to itself (/v1/customers?size=2&"
			    "seekOperation=Next)");
}

/* Resuming: replayed pages first, then a new pass from page 1 in which
 * the replayed tenants are relisted. */
static void replay(void **state)
{
	struct fx *fx = *state;
	struct listing_tenant t[2];
	struct listing_reject r = {2, "bad", 3, "not a GUID (page 1, item 2)"};
	struct listing_page pg;
	struct source_counts c;
	struct source_listing_facts f;
	struct pl_err err;

	memset(t, 0, sizeof(t));
	assert_null(guid_canonicalize(T(1), GUID_STR_LEN, NULL, t[0].id));
	assert_null(guid_canonicalize(T(2), GUID_STR_LEN, NULL, t[1].id));
	t[0].info.name = "A";
	memset(&pg, 0, sizeof(pg));
	pg.page = 1;
	pg.items = 3;
	pg.tenants = t;
	pg.ntenants = 2;
	pg.rejects = &r;
	pg.nrejects = 1;
	assert_int_equal(source_listing_replay(fx->src, &pg, &err), PL_OK);
	assert_int_equal(fx->seen.ntenants, 2);
	assert_string_equal(fx->seen.names[0], "A");
	assert_int_equal(fx->seen.nrejects, 1);
	assert_int_equal(fx->seen.pages, 0); /* journaled already */
	/* a page that does not follow is refused */
	pg.first = 0;
	assert_int_equal(source_listing_replay(fx->src, &pg, &err),
			 PL_EUSAGE);

	expect_request(fx, "/v1/customers?size=2", NULL);
	assert_int_equal(answer(fx, 200, "{\"items\":[" ITEM(T(1), "A") ","
				"{\"id\":\"bad\"}," ITEM(T(3), "C") "]}",
				&err), PL_OK);
	assert_true(source_is_complete(fx->src));
	assert_int_equal(fx->seen.ntenants, 3);
	assert_int_equal(fx->seen.nrejects, 1);
	assert_int_equal(fx->seen.last_relisted, 1);
	source_counts(fx->src, &c);
	assert_int_equal(c.rows, 6);
	assert_int_equal(c.tenants, 3);
	assert_int_equal(c.rejects, 1);
	assert_int_equal(c.duplicates, 2);
	source_listing_facts(fx->src, &f);
	assert_int_equal(f.pages, 2);
	assert_int_equal(f.restarts, 1);
}

static void replay_complete(void **state)
{
	struct fx *fx = *state;
	struct fetch_job job;

	source_listing_replay_complete(fx->src);
	assert_true(source_is_complete(fx->src));
	assert_int_equal(source_next_request(fx->src, INT64_MAX / 2, &job), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(two_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(end_code_2000, setup,
						teardown),
		cmocka_unit_test_setup_teardown(expired_token, setup,
						teardown),
		cmocka_unit_test_setup_teardown(too_many_restarts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(failures, setup, teardown),
		cmocka_unit_test_setup_teardown(not_json_reasked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rejects, setup, teardown),
		cmocka_unit_test_setup_teardown(links_to_itself, setup,
						teardown),
		cmocka_unit_test_setup_teardown(replay, setup, teardown),
		cmocka_unit_test_setup_teardown(replay_complete, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
