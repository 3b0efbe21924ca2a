/*
 * test_pcsim_modules.c: pcsim's modules without HTTP: the pure decisions
 * of scenario.c (GUIDs, the generated mix and its exact bytes, faults,
 * the token bucket), the tenant map, the timer heap, the token store and
 * the --data loader. The HTTP side is tested by the scripts beside this
 * file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "data.h"
#include "pcsim.h"
#include "scenario.h"
#include "tenantmap.h"
#include "timer.h"
#include "tokens.h"

/* A distinct canonical tenant ID for every i. */
static void tenant_id(uint64_t i, char out[37], uint8_t key[16])
{
	char raw[40];

	snprintf(raw, sizeof(raw), "%08llx-%04llx-4%03llx-8%03llx-%012llx",
		 (unsigned long long)(i & 0xffffffffu),
		 (unsigned long long)(i % 65536),
		 (unsigned long long)(i % 4096),
		 (unsigned long long)(i * 7 % 4096),
		 (unsigned long long)(i * 2654435761u % 281474976710656ull));
	assert_true(scenario_parse_guid(raw, 36, out, key));
}

static void test_parse_guid(void **state)
{
	char lower[37];
	uint8_t b[16];
	static const uint8_t want[16] = {0x6f, 0x96, 0x19, 0xff, 0x8b, 0x86,
					 0xd0, 0x11, 0xb4, 0x2d, 0x00, 0xc0,
					 0x4f, 0xc9, 0x64, 0xff};

	assert_int_equal(scenario_parse_guid(
		"6F9619FF-8B86-D011-B42D-00C04FC964FF", 36, lower, b), 1);
	assert_string_equal(lower, "6f9619ff-8b86-d011-b42d-00c04fc964ff");
	assert_memory_equal(b, want, 16);
	assert_int_equal(scenario_parse_guid(
		"{6f9619ff-8b86-d011-b42d-00c04fc964f}", 38, lower, b), 0);
	assert_int_equal(scenario_parse_guid(
		"6f9619ff-8b86-d011-b42d-00c04fc964f", 35, lower, b), 0);
	assert_int_equal(scenario_parse_guid(
		"6f9619ff-8b86-d011-b42d-00c04fc964fg", 36, lower, b), 0);
	assert_int_equal(scenario_parse_guid(
		"6f9619ff08b86-d011-b42d-00c04fc964ff", 36, lower, b), 0);
	assert_int_equal(scenario_parse_guid(
		"6f9619ff-8b86-d011-b42d-00c04fc964-f", 36, lower, b), 0);
}

static void test_hash(void **state)
{
	char a[37], c[37];
	uint8_t b[16];

	scenario_parse_guid("6F9619FF-8B86-D011-B42D-00C04FC964FF", 36, a, b);
	scenario_parse_guid("6f9619ff-8b86-d011-b42d-00c04fc964ff", 36, c, b);
	assert_int_equal(scenario_tenant_hash(a, 1),
			 scenario_tenant_hash(c, 1));
	assert_int_not_equal(scenario_tenant_hash(a, 1),
			     scenario_tenant_hash(a, 2));
	/* Draws are in [0, 1) and differ per salt and per n. */
	for(uint64_t n = 0; n < 1000; n++) {
		double u = scenario_uniform(12345, 3, n);

		assert_true(u >= 0 && u < 1);
		assert_true(u != scenario_uniform(12345, 4, n));
	}
}

static void test_mix(void **state)
{
	enum { N = 100000 };
	unsigned kinds[7] = {0}, wrapped = 0, created = 0, bom = 0;
	unsigned approved_dated = 0, fmt[3] = {0};
	static const double want[7] = {0.20, 0.55, 0.08, 0.07, 0.05, 0.03,
				       0.02};

	for(unsigned i = 0; i < N; i++) {
		char id[37];
		uint8_t key[16];
		struct scenario_profile p;

		tenant_id(i, id, key);
		scenario_profile(scenario_tenant_hash(id, 0), &p);
		kinds[p.kind]++;
		wrapped += (unsigned)p.wrapped;
		created += (unsigned)p.created_key;
		bom += (unsigned)p.bom;
		fmt[p.date_format]++;
		if(p.kind == KIND_EDU_APPROVED && p.has_date)
			approved_dated++;
		assert_true((p.kind == KIND_EDU_DENIED) == (p.reason != NULL));
		if(p.kind == KIND_EDU_INREVIEW || p.kind == KIND_EDU_DENIED ||
		   p.kind == KIND_GCC_SOE)
			assert_int_equal(p.has_date, 1);
		if(p.kind == KIND_NONE || p.kind == KIND_SOE ||
		   p.kind == KIND_EDU_SOE)
			assert_int_equal(p.has_date, 0);
	}
	for(int k = 0; k < 7; k++) {
		double share = (double)kinds[k] / N;

		assert_true(share > want[k] - 0.01 && share < want[k] + 0.01);
	}
	assert_in_range(wrapped, N * 9 / 100, N * 11 / 100);
	assert_in_range(created, N * 19 / 100, N * 21 / 100);
	assert_in_range(bom, N * 25 / 1000, N * 35 / 1000);
	assert_in_range(fmt[0], N * 39 / 100, N * 41 / 100);
	assert_in_range(fmt[1], N * 29 / 100, N * 31 / 100);
	assert_in_range(approved_dated, kinds[KIND_EDU_APPROVED] * 33 / 100,
			kinds[KIND_EDU_APPROVED] * 37 / 100);
}

/* 2020-12-03T10:37:38.885Z, as on the documentation page. */
static struct scenario_profile doc_denied(void)
{
	struct scenario_profile p = {
		.kind = KIND_EDU_DENIED, .has_date = 1, .wrapped = 1,
		.created_key = 1, .date_format = 0, .date_s = 1606991858,
		.date_frac = 8851234, .reason = "Not an Education Customer"
	};
	return p;
}

static void test_render_exact(void **state)
{
	char buf[SCENARIO_BODY_MAX];
	struct scenario_profile p = doc_denied();
	size_t len;

	/* The documentation page's Denied example, byte for byte. */
	len = scenario_render(&p, 1, buf);
	assert_string_equal(buf,
		"{\n"
		"    \"qualifications\": [\n"
		"        {\n"
		"            \"qualification\": \"Education\",\n"
		"            \"vettingStatus\": \"Denied\",\n"
		"            \"vettingReason\": \"Not an Education Customer\", "
		"// example Vetting Reason\n"
		"            \"vettingCreatedDate\": "
		"\"2020-12-03T10:37:38.885Z\" // UTC\n"
		"        }\n"
		"    ]\n"
		"}\n");
	assert_int_equal(len, strlen(buf));

	p.wrapped = 0;
	p.created_key = 0;
	p.date_format = 2;
	scenario_render(&p, 0, buf);
	assert_string_equal(buf,
		"[{\"qualification\":\"Education\","
		"\"vettingStatus\":\"Denied\","
		"\"vettingReason\":\"Not an Education Customer\","
		"\"vettingCreateDate\":"
		"\"2020-12-03T10:37:38.8851234+00:00\"}]");

	/* GCC + SOE with a BOM; the Approved example's trailing comma. */
	p.kind = KIND_GCC_SOE;
	p.reason = NULL;
	p.date_format = 1;
	p.bom = 1;
	scenario_render(&p, 0, buf);
	assert_string_equal(buf,
		"\xEF\xBB\xBF[{\"qualification\":\"GovernmentCommunityCloud\","
		"\"vettingStatus\":\"Approved\","
		"\"vettingCreateDate\":\"2020-12-03T10:37:38Z\"},"
		"{\"qualification\":\"StateOwnedEntity\"}]");
	p.kind = KIND_EDU_APPROVED;
	p.has_date = 0;
	p.bom = 0;
	scenario_render(&p, 1, buf);
	assert_string_equal(buf,
		"[\n"
		"    {\n"
		"        \"qualification\": \"Education\",\n"
		"        \"vettingStatus\": \"Approved\",\n"
		"    }\n"
		"]\n");
	p.kind = KIND_NONE;
	p.wrapped = 1;
	scenario_render(&p, 0, buf);
	assert_string_equal(buf, "{\"qualifications\":[]}");
	scenario_render(&p, 1, buf);
	assert_string_equal(buf, "{\n    \"qualifications\": []\n}\n");
}

/* Every generated compact body is strict JSON. */
static void test_render_valid(void **state)
{
	for(unsigned i = 0; i < 5000; i++) {
		char id[37], buf[SCENARIO_BODY_MAX];
		uint8_t key[16];
		struct scenario_profile p;
		struct json_object *o;
		size_t len;

		tenant_id(i, id, key);
		scenario_profile(scenario_tenant_hash(id, 9), &p);
		len = scenario_render(&p, 0, buf);
		assert_true(len > 1 && len < SCENARIO_BODY_MAX - 1);
		o = json_tokener_parse(buf + (p.bom ? 3 : 0));
		assert_non_null(o);
		json_object_put(o);
	}
}

static void test_faults(void **state)
{
	struct scenario_rates r = {0.1, 0.2, 0.3};
	struct scenario_rates none = {0, 0, 0}, all = {0, 1, 0};
	unsigned c[4] = {0}, s500 = 0;
	enum { N = 200000 };

	for(unsigned i = 0; i < N; i++) {
		uint64_t h = scenario_mix(i / 8);
		enum scenario_fault f = scenario_fault(&r, h, i % 8);

		c[f]++;
		assert_int_equal(f, scenario_fault(&r, h, i % 8));
		assert_int_equal(scenario_fault(&none, h, i % 8), FAULT_NONE);
		assert_int_equal(scenario_fault(&all, h, i % 8), FAULT_FAIL);
		if(f == FAULT_FAIL)
			s500 += scenario_fail_status(h, i % 8) == 500;
	}
	assert_in_range(c[FAULT_DROP], N * 95 / 1000, N * 105 / 1000);
	assert_in_range(c[FAULT_FAIL], N * 195 / 1000, N * 205 / 1000);
	assert_in_range(c[FAULT_MALFORMED], N * 295 / 1000, N * 305 / 1000);
	assert_in_range(s500, c[FAULT_FAIL] * 48 / 100,
			c[FAULT_FAIL] * 52 / 100);
}

static void test_malformed(void **state)
{
	const char *body = "[{\"qualification\":\"StateOwnedEntity\"}]";
	char buf[SCENARIO_BODY_MAX];
	unsigned html = 0, cut = 0;

	for(uint32_t n = 0; n < 200; n++) {
		int is_html;
		size_t len = scenario_malformed(77, n, body, strlen(body), buf,
						&is_html);

		if(is_html) {
			html++;
			assert_memory_equal(buf, "<!DOCTYPE html>", 15);
		} else {
			cut++;
			assert_int_equal(len, strlen(body) / 2);
			assert_memory_equal(buf, body, len);
			assert_null(json_tokener_parse(buf));
		}
	}
	assert_true(html > 50 && cut > 50);
	/* Too short to cut into something invalid: HTML. */
	int is_html = 0;
	scenario_malformed(1, 1, "1", 1, buf, &is_html);
	assert_int_equal(is_html, 1);
}

static void test_jitter(void **state)
{
	unsigned seen_max = 0;

	assert_int_equal(scenario_jitter(5, 5, 0), 0);
	for(uint32_t n = 0; n < 10000; n++) {
		unsigned j = scenario_jitter(5, n, 20);

		assert_true(j <= 20);
		if(j > seen_max)
			seen_max = j;
	}
	assert_int_equal(seen_max, 20);
}

static void test_bucket(void **state)
{
	struct scenario_bucket b;
	const uint64_t s = 1000000000u, t0 = 5 * s;

	/* 10/s: a burst of 1, then one every 100 ms. */
	scenario_bucket_init(&b, 10, 0, t0);
	assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0), 1);
	assert_int_equal(scenario_bucket_take(&b, t0 + s / 20), 1);
	assert_int_equal(scenario_bucket_take(&b, t0 + s / 10 + 1000), 0);
	/* 100/s: a burst of 10. */
	scenario_bucket_init(&b, 100, 0, t0);
	for(int i = 0; i < 10; i++)
		assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0), 1);
	/* Idle time refills no more than the capacity. */
	for(int i = 0; i < 10; i++)
		assert_int_equal(scenario_bucket_take(&b, t0 + 60 * s), 0);
	assert_int_equal(scenario_bucket_take(&b, t0 + 60 * s), 1);
	/* 0.25/s: the next token is 4 s away. */
	scenario_bucket_init(&b, 0.25, 0, t0);
	assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0), 4);
	assert_int_equal(scenario_bucket_take(&b, t0 + s), 3);
	assert_int_equal(scenario_bucket_take(&b, t0 + 4 * s + 1000), 0);
	/* A burst given: 20/s holding 20 (nginx's burst=20 nodelay). */
	scenario_bucket_init(&b, 20, 20, t0);
	for(int i = 0; i < 20; i++)
		assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0), 1);
	assert_int_equal(scenario_bucket_take(&b, t0 + s / 20 + 1000), 0);
	assert_int_equal(scenario_bucket_take(&b, t0 + s / 20 + 1000), 1);
	/* 8.33/s holding 1: the next token is 0.12 s away, Retry-After 1. */
	scenario_bucket_init(&b, 500.0 / 60, 1, t0);
	assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0 + s / 10), 1);
	assert_int_equal(scenario_bucket_take(&b, t0 + s * 12 / 100 + 1000),
			 0);
	/* A burst below 1 is 1: one request must pass. */
	scenario_bucket_init(&b, 200, 0.5, t0);
	assert_int_equal(scenario_bucket_take(&b, t0), 0);
	assert_int_equal(scenario_bucket_take(&b, t0), 1);
}

static void test_window(void **state)
{
	struct scenario_window w;
	const uint64_t s = 1000000000u, t0 = 7 * s + 123;

	(void)state;
	/* 3 per 10 s, aligned on the first request at t0. */
	scenario_window_init(&w, 3, 10 * s);
	for(int i = 0; i < 3; i++)
		assert_int_equal(scenario_window_take(&w, t0 + (uint64_t)i, NULL), 0);
	/* Retry-After: whole seconds to t0 + 10 s, rounded up */
	assert_int_equal(scenario_window_take(&w, t0 + 3, NULL), 10);
	assert_int_equal(scenario_window_take(&w, t0 + s / 2, NULL), 10);
	assert_int_equal(scenario_window_take(&w, t0 + s, NULL), 9);
	assert_int_equal(scenario_window_take(&w, t0 + 8 * s + 1, NULL), 2);
	assert_int_equal(scenario_window_take(&w, t0 + 9 * s + 1, NULL), 1);
	/* at least 1, however close the end */
	assert_int_equal(scenario_window_take(&w, t0 + 10 * s - 1, NULL), 1);
	/* the next window opens exactly at t0 + 10 s */
	for(int i = 0; i < 3; i++)
		assert_int_equal(scenario_window_take(&w, t0 + 10 * s, NULL), 0);
	assert_int_equal(scenario_window_take(&w, t0 + 15 * s, NULL), 5);
	/* idle for windows 2 and 3: window 4 starts on the grid */
	assert_int_equal(scenario_window_take(&w, t0 + 43 * s, NULL), 0);
	assert_int_equal(scenario_window_take(&w, t0 + 43 * s, NULL), 0);
	assert_int_equal(scenario_window_take(&w, t0 + 44 * s, NULL), 0);
	assert_int_equal(scenario_window_take(&w, t0 + 44 * s, NULL), 6);
	/* a caller's clock a hair before the window start (a race for
	 * the lock) is the window's start */
	assert_int_equal(scenario_window_take(&w, t0 + 40 * s - 5, NULL), 10);
	/* which window a request fell in */
	{
		int first = -1;

		scenario_window_init(&w, 1, 10 * s);
		assert_int_equal(scenario_window_take(&w, t0, &first), 0);
		assert_int_equal(first, 1);
		assert_int_equal(scenario_window_take(&w, t0 + s, &first), 9);
		assert_int_equal(first, 1);
		assert_int_equal(scenario_window_take(&w, t0 + 10 * s, &first),
				 0);
		assert_int_equal(first, 0);
		assert_int_equal(scenario_window_take(&w, t0 + 11 * s, &first),
				 9);
		assert_int_equal(first, 0);
	}
	/* a window under a second: Retry-After is still 1 */
	scenario_window_init(&w, 1, s / 4);
	assert_int_equal(scenario_window_take(&w, t0, NULL), 0);
	assert_int_equal(scenario_window_take(&w, t0 + 1, NULL), 1);
	assert_int_equal(scenario_window_take(&w, t0 + s / 4, NULL), 0);
}

static void test_parse_window(void **state)
{
	unsigned n = 0;
	uint64_t ns = 0;

	(void)state;
	assert_true(scenario_parse_window("500/60", &n, &ns));
	assert_int_equal(n, 500);
	assert_true(ns == 60000000000ull);
	assert_true(scenario_parse_window("40/2.5", &n, &ns));
	assert_int_equal(n, 40);
	assert_true(ns == 2500000000ull);
	assert_true(scenario_parse_window("1/0.001", &n, &ns));
	assert_true(ns == 1000000ull);
	n = 7;
	assert_false(scenario_parse_window("", &n, &ns));
	assert_false(scenario_parse_window("500", &n, &ns));
	assert_false(scenario_parse_window("500/", &n, &ns));
	assert_false(scenario_parse_window("/60", &n, &ns));
	assert_false(scenario_parse_window("0/60", &n, &ns));
	assert_false(scenario_parse_window("-5/60", &n, &ns));
	assert_false(scenario_parse_window("5/-60", &n, &ns));
	assert_false(scenario_parse_window("5/0", &n, &ns));
	assert_false(scenario_parse_window("5/60s", &n, &ns));
	assert_false(scenario_parse_window("5/100000", &n, &ns));
	assert_false(scenario_parse_window("5.5/60", &n, &ns));
	assert_false(scenario_parse_window("5/ 60", &n, &ns));
	assert_false(scenario_parse_window("5/inf", &n, &ns));
	assert_false(scenario_parse_window("5/nan", &n, &ns));
	assert_false(scenario_parse_window("5/0x10", &n, &ns));
	assert_false(scenario_parse_window("5/1e2", &n, &ns));
	assert_false(scenario_parse_window("2000000000/60", &n, &ns));
	assert_int_equal(n, 7);
}

static void test_error_bodies(void **state)
{
	char buf[SCENARIO_BODY_MAX];

	size_t len = scenario_api_error(60003, "Tenant not found", buf);

	assert_int_equal(len, strlen(buf));
	assert_string_equal(buf, "{\"code\":60003,\"description\":"
			    "\"Tenant not found\",\"data\":[],"
			    "\"source\":\"PartnerFD\"}");
	scenario_throttle_body(57, buf);
	assert_string_equal(buf, "{\"statusCode\":429,\"message\":\"Rate "
			    "limit is exceeded. Try again in 57 seconds.\"}");
}

static void test_tenant_map(void **state)
{
	struct tenant_map *m = tenant_map_new();
	enum { N = 300000 };
	uint32_t n;
	int v;

	assert_non_null(m);
	for(int pass = 0; pass < 2; pass++) {
		for(unsigned i = 0; i < N; i++) {
			char id[37];
			uint8_t key[16];

			tenant_id(i, id, key);
			assert_int_equal(tenant_map_visit(m, key, 10, 0, &n,
							  &v), 0);
			assert_int_equal(n, (uint32_t)pass);
			assert_int_equal(v, 0);
		}
	}
	assert_int_equal(tenant_map_size(m), N);

	/* Throttled until 2000 ms: not counted, and early calls violate. */
	uint8_t k[16] = {1, 2, 3};
	tenant_map_visit(m, k, 1000, 0, &n, &v);
	assert_int_equal(n, 0);
	tenant_map_visit(m, k, 1000, 2000, &n, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v, 0);
	tenant_map_visit(m, k, 1999, 0, &n, &v);
	assert_int_equal(n, 1);
	assert_int_equal(v, 1);
	tenant_map_visit(m, k, 2000, 0, &n, &v);
	assert_int_equal(n, 2);
	assert_int_equal(v, 0);
	assert_int_equal(tenant_map_size(m), N + 1);
	tenant_map_free(m);
	tenant_map_free(NULL);
}

/* The timer fires in deadline order, never early, all at stop. */
struct fired {
	pthread_mutex_t mu;
	int order[16];
	uint64_t at[16];
	int n;
};

static struct fired fired;

static void on_fire(void *arg)
{
	pthread_mutex_lock(&fired.mu);
	fired.order[fired.n] = (int)(intptr_t)arg;
	fired.at[fired.n] = pcsim_now_ns();
	fired.n++;
	pthread_mutex_unlock(&fired.mu);
}

static void test_timer(void **state)
{
	static const int ms[] = {60, 20, 40, 10, 50, 30};
	struct timer *t = timer_new(on_fire);
	uint64_t t0 = pcsim_now_ns();

	memset(&fired, 0, sizeof(fired));
	pthread_mutex_init(&fired.mu, NULL);
	assert_non_null(t);
	for(int i = 0; i < 6; i++)
		assert_int_equal(timer_add(t, t0 + (uint64_t)ms[i] * 1000000u,
					   (void *)(intptr_t)ms[i]), 0);
	assert_int_equal(timer_add(t, t0 + 10 * 1000000000ull,
				   (void *)(intptr_t)9999), 0);
	usleep(300 * 1000);
	pthread_mutex_lock(&fired.mu);
	assert_int_equal(fired.n, 6);
	for(int i = 0; i < 6; i++) {
		assert_int_equal(fired.order[i], 10 * (i + 1));
		assert_true(fired.at[i] >=
			    t0 + (uint64_t)fired.order[i] * 1000000u);
	}
	pthread_mutex_unlock(&fired.mu);
	assert_int_equal(timer_pending(t), 1);
	/* Stop fires the 10 s timer now and refuses new ones. */
	timer_stop(t);
	assert_int_equal(fired.n, 7);
	assert_int_equal(fired.order[6], 9999);
	assert_true(fired.at[6] < t0 + 5 * 1000000000ull);
	assert_int_equal(timer_add(t, t0, NULL), -1);
	timer_stop(t);
	timer_free(t);
	timer_free(NULL);
	pthread_mutex_destroy(&fired.mu);
}

static atomic_int many_fired;

static void on_fire_count(void *arg)
{
	atomic_fetch_add(&many_fired, 1);
}

static void test_timer_many(void **state)
{
	struct timer *t = timer_new(on_fire_count);
	uint64_t now = pcsim_now_ns();

	/* Past the initial heap capacity; none due before the stop. */
	for(int i = 0; i < 5000; i++)
		assert_int_equal(timer_add(t, now + 3600 * 1000000000ull +
					   (uint64_t)(i * 7919 % 5000), NULL),
				 0);
	assert_int_equal(timer_pending(t), 5000);
	assert_int_equal(atomic_load(&many_fired), 0);
	timer_free(t);
	assert_int_equal(atomic_load(&many_fired), 5000);
}

static void test_tokens(void **state)
{
	struct token_store *s = token_store_new();
	char tok[TOKEN_STR_LEN + 1], other[TOKEN_STR_LEN + 1];
	const uint64_t sec = 1000000000u, t0 = 100 * sec;

	assert_non_null(s);
	assert_int_equal(token_store_issue(s, t0, t0 + 2 * sec, tok), 0);
	assert_int_equal(strlen(tok), TOKEN_STR_LEN);
	assert_int_equal(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm"
				"nopqrstuvwxyz0123456789-_"), TOKEN_STR_LEN);
	assert_int_equal(token_store_check(s, tok, TOKEN_STR_LEN, t0 + sec),
			 TOKEN_VALID);
	assert_int_equal(token_store_check(s, tok, TOKEN_STR_LEN, t0 + 2 * sec),
			 TOKEN_EXPIRED);
	assert_int_equal(token_store_check(s, tok, TOKEN_STR_LEN - 1, t0),
			 TOKEN_UNKNOWN);
	memcpy(other, tok, sizeof(tok));
	other[5] = other[5] == 'A' ? 'B' : 'A';
	assert_int_equal(token_store_check(s, other, TOKEN_STR_LEN, t0),
			 TOKEN_UNKNOWN);
	/* Many tokens, all distinct and valid; expired ones get purged
	 * while new ones are issued, live ones never. */
	for(int i = 0; i < 2000; i++) {
		assert_int_equal(token_store_issue(s, t0 + 1000 * sec,
						   t0 + 2000 * sec, other), 0);
		assert_int_equal(token_store_check(s, other, TOKEN_STR_LEN,
						   t0 + 1000 * sec),
				 TOKEN_VALID);
	}
	assert_int_equal(token_store_check(s, tok, TOKEN_STR_LEN,
					   t0 + 1000 * sec), TOKEN_UNKNOWN);
	assert_int_equal(token_store_check(s, other, TOKEN_STR_LEN,
					   t0 + 1500 * sec), TOKEN_VALID);
	token_store_free(s);
	token_store_free(NULL);
}

/* Refresh tokens: first use, the grace period, then refused; bound to
 * their client; expired after their lifetime. */
static void test_refresh_store(void **state)
{
	struct refresh_store *s = refresh_store_new();
	const uint64_t ms = 1000000u, t0 = 5000 * ms, grace = 100 * ms,
		       ttl = 10000 * ms;
	uint64_t ago;
	char fresh[TOKEN_STR_LEN + 1];
	(void)state;

	assert_non_null(s);
	assert_int_equal(refresh_store_add(s, "rt-0", 4, "app", t0), 0);
	assert_int_equal(refresh_store_redeem(s, "rt-0", 4, "app", t0 + ms,
					      grace, ttl, &ago), REFRESH_OK);
	assert_int_equal(refresh_store_redeem(s, "rt-0", 4, "app",
					      t0 + 50 * ms, grace, ttl, &ago),
			 REFRESH_OK_GRACE);
	assert_int_equal(ago, 49 * ms);
	assert_int_equal(refresh_store_redeem(s, "rt-0", 4, "app",
					      t0 + 101 * ms, grace, ttl, &ago),
			 REFRESH_USED);
	assert_int_equal(refresh_store_redeem(s, "rt-0", 4, "other", t0,
					      grace, ttl, &ago),
			 REFRESH_OTHER_CLIENT);
	assert_int_equal(refresh_store_redeem(s, "rt-", 3, "app", t0, grace,
					      ttl, &ago), REFRESH_UNKNOWN);
	assert_int_equal(token_random(fresh), 0);
	assert_int_equal(refresh_store_add(s, fresh, TOKEN_STR_LEN, "app", t0),
			 0);
	assert_int_equal(refresh_store_redeem(s, fresh, TOKEN_STR_LEN, "app",
					      t0 + ttl, grace, ttl, &ago),
			 REFRESH_EXPIRED);
	assert_int_equal(refresh_store_add(s, "", 0, "app", t0), -1);
	refresh_store_free(s);
	refresh_store_free(NULL);
}

/* Assertion IDs: a second insert is a replay until the first expires. */
static void test_jti_cache(void **state)
{
	struct jti_cache *c = jti_cache_new();
	const uint64_t sec = 1000000000u;
	char jti[32];
	(void)state;

	assert_non_null(c);
	assert_int_equal(jti_cache_insert(c, "a", 1, 10 * sec, 0), 1);
	assert_int_equal(jti_cache_insert(c, "a", 1, 10 * sec, sec), 0);
	assert_int_equal(jti_cache_insert(c, "b", 1, 10 * sec, sec), 1);
	/* Enough others to purge: "a" expired by then, "b" too. */
	for(int i = 0; i < 200; i++) {
		snprintf(jti, sizeof(jti), "j%d", i);
		assert_int_equal(jti_cache_insert(c, jti, strlen(jti),
						  100 * sec, 20 * sec), 1);
	}
	assert_int_equal(jti_cache_insert(c, "j7", 2, 100 * sec, 20 * sec), 0);
	jti_cache_free(c);
	jti_cache_free(NULL);
}

/* Write text to a temporary file; its path in path. */
static void temp_file(const char *text, char path[64])
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/pcsim-data-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void test_data_load(void **state)
{
	static const uint8_t a[16] = {0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
				      0x41, 0x11, 0x81, 0x11, 0x11, 0x11,
				      0x11, 0x11, 0x11, 0x11};
	static const uint8_t b[16] = {0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa,
				      0x4a, 0xaa, 0x8a, 0xaa, 0xaa, 0xaa,
				      0xaa, 0xaa, 0xaa, 0xaa};
	static const uint8_t c[16] = {1};
	struct data_set *set;
	const struct data_answer *ans;
	struct pl_err err = {{0}};
	char path[64];

	temp_file("{\"_comment\": \"x\",\n"
		  " \"11111111-1111-4111-8111-111111111111\": [\n"
		  "  {\"status\": 503, \"headers\": {\"Retry-After\": 2}},\n"
		  "  {\"drop\": true, \"latency_ms\": 5},\n"
		  "  {\"body\": [{\"a\": \"b/c\"}], \"_note\": 1}],\n"
		  " \"AAAAAAAA-AAAA-4AAA-8AAA-AAAAAAAAAAAA\":\n"
		  "  {\"body_raw\": \"x\\u0000y\", \"status\": 201,\n"
		  "   \"headers\": {\"content-type\": \"text/plain\"}}}\n",
		  path);
	assert_int_equal(data_set_load(path, &set, &err), PL_OK);
	unlink(path);
	assert_int_equal(data_set_size(set), 2);

	ans = data_set_find(set, a, 0);
	assert_non_null(ans);
	assert_int_equal(ans->status, 503);
	assert_int_equal(ans->nheaders, 1);
	assert_string_equal(ans->headers[0].name, "Retry-After");
	assert_string_equal(ans->headers[0].value, "2");
	assert_int_equal(ans->body_len, 0);
	assert_int_equal(ans->latency_ms, -1);
	assert_int_equal(ans->has_content_type, 0);
	ans = data_set_find(set, a, 1);
	assert_int_equal(ans->drop, 1);
	assert_int_equal(ans->latency_ms, 5);
	for(uint32_t n = 2; n < 5; n++) {
		ans = data_set_find(set, a, n);
		assert_int_equal(ans->status, 200);
		assert_string_equal(ans->body, "[{\"a\":\"b/c\"}]");
	}
	ans = data_set_find(set, b, 0);
	assert_int_equal(ans->status, 201);
	assert_int_equal(ans->body_len, 3);
	assert_memory_equal(ans->body, "x\0y", 3);
	assert_int_equal(ans->has_content_type, 1);
	assert_null(data_set_find(set, c, 0));
	data_set_free(set);
	data_set_free(NULL);
}

static void expect_load_error(const char *text, const char *msg)
{
	struct data_set *set = (struct data_set *)&set;
	struct pl_err err = {{0}};
	char path[64];

	temp_file(text, path);
	assert_int_equal(data_set_load(path, &set, &err), PL_EUSAGE);
	unlink(path);
	assert_null(set);
	if(!strstr(err.msg, msg))
		fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static void test_data_errors(void **state)
{
	expect_load_error("{\"x\": {}}", "tenant \"x\": not a GUID");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "[{}, {\"satus\": 1}]}",
			  "tenant \"11111111-1111-4111-8111-111111111111\", "
			  "answer 2: unknown key \"satus\"");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"status\": \"200\"}}", "\"status\" must be");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"latency_ms\": -1}}", "\"latency_ms\" must be");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"drop\": 1}}", "\"drop\" must be");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"headers\": []}}", "\"headers\" must be");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"headers\": {\"X\": {}}}}", "string or a number");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"headers\": {\"X: y\": \"1\"}}}", "bad name");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": "
			  "{\"body_raw\": 5}}", "\"body_raw\" must be");
	expect_load_error("{\"11111111-1111-4111-8111-111111111111\": 5}",
			  "an answer must be an object");
	expect_load_error("[]", "top level must be an object");
	expect_load_error("", "cannot parse");
	expect_load_error("{\"a\": 1,}", "cannot parse");

	struct data_set *set;
	struct pl_err err = {{0}};

	assert_int_equal(data_set_load("/nonexistent/pcsim.json", &set, &err),
			 PL_EUSAGE);
	assert_non_null(strstr(err.msg, "cannot open /nonexistent/pcsim.json"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_guid),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_mix),
		cmocka_unit_test(test_render_exact),
		cmocka_unit_test(test_render_valid),
		cmocka_unit_test(test_faults),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_parse_window),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_tenant_map),
		cmocka_unit_test(test_timer),
		cmocka_unit_test(test_timer_many),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_refresh_store),
		cmocka_unit_test(test_jti_cache),
		cmocka_unit_test(test_data_load),
		cmocka_unit_test(test_data_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
