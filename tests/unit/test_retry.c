/*
 * test_retry.c: the pure retry policy: which outcomes are retried, the
 * bounds of the jittered backoff, and Retry-After parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <string.h>

#include <cmocka.h>

#include "retry.h"

static void test_classify(void **state)
{
	static const long again[] = {0, 408, 429, 500, 502, 503, 504};
	static const long final[] = {200, 201, 204, 301, 302, 304, 400, 403,
				     404, 405, 409, 412, 417, 422, 501, 505};

	(void)state;
	for(size_t i = 0; i < sizeof(again) / sizeof(again[0]); i++)
		assert_int_equal(retry_classify(again[i]), RETRY_AGAIN);
	for(size_t i = 0; i < sizeof(final) / sizeof(final[0]); i++)
		assert_int_equal(retry_classify(final[i]), RETRY_FINAL);
	assert_int_equal(retry_classify(401), RETRY_REAUTH);
}

/* Every draw within [0, min(cap, base * 2^(n-1))], and the draws spread
 * over that range (full jitter, not a constant). */
static void test_delay_bounds(void **state)
{
	uint64_t rng = 42;

	(void)state;
	for(unsigned n = 1; n <= 40; n++) {
		int64_t ceiling = RETRY_CAP_MS;
		int64_t lo = INT64_MAX, hi = -1;

		if(n <= 16 && ((int64_t)RETRY_BASE_MS << (n - 1)) < ceiling)
			ceiling = (int64_t)RETRY_BASE_MS << (n - 1);
		for(int i = 0; i < 2000; i++) {
			int64_t d = retry_delay_ms(n, -1, &rng);

			assert_true(d >= 0);
			assert_true(d <= ceiling);
			if(d < lo)
				lo = d;
			if(d > hi)
				hi = d;
		}
		assert_true(lo < ceiling / 10);
		assert_true(hi > ceiling * 9 / 10);
	}
	/* retry 0 is treated as the first retry */
	for(int i = 0; i < 100; i++)
		assert_true(retry_delay_ms(0, -1, &rng) <= RETRY_BASE_MS);
	/* a zero state is not a stuck generator */
	rng = 0;
	assert_true(retry_delay_ms(5, -1, &rng) <= 8000);
	assert_true(rng != 0);
}

static void test_delay_retry_after_floor(void **state)
{
	uint64_t rng = 7;

	(void)state;
	for(int i = 0; i < 1000; i++) {
		assert_true(retry_delay_ms(1, 57000, &rng) >= 57000);
		/* the floor may exceed the cap: it is always honoured */
		assert_int_equal(retry_delay_ms(1, 57000, &rng), 57000);
		assert_true(retry_delay_ms(7, 1000, &rng) >= 1000);
		assert_true(retry_delay_ms(7, 1000, &rng) <= RETRY_CAP_MS);
		assert_true(retry_delay_ms(3, 0, &rng) <= 2000);
	}
}

/* 2015-10-21T07:28:00Z */
#define NOW_MS 1445412480000LL

static void test_parse_delta(void **state)
{
	(void)state;
	assert_int_equal(retry_parse_after("57", NOW_MS), 57000);
	assert_int_equal(retry_parse_after(" 3 ", NOW_MS), 3000);
	assert_int_equal(retry_parse_after("\t3\r\n", NOW_MS), 3000);
	assert_int_equal(retry_parse_after("0", NOW_MS), 0);
	assert_int_equal(retry_parse_after("-1", NOW_MS), -1);
	assert_int_equal(retry_parse_after("abc", NOW_MS), -1);
	assert_int_equal(retry_parse_after("1e3", NOW_MS), -1);
	assert_int_equal(retry_parse_after("3.5", NOW_MS), -1);
	assert_int_equal(retry_parse_after("+3", NOW_MS), -1);
	assert_int_equal(retry_parse_after("3 4", NOW_MS), -1);
	assert_int_equal(retry_parse_after("", NOW_MS), -1);
	assert_int_equal(retry_parse_after("   ", NOW_MS), -1);
	assert_int_equal(retry_parse_after(NULL, NOW_MS), -1);
	/* long waits are returned as asked (the engine refuses them), huge
	 * ones saturate instead of overflowing */
	assert_int_equal(retry_parse_after("86401", NOW_MS), 86401000);
	assert_int_equal(retry_parse_after("999999999", NOW_MS),
			 999999999000LL);
	assert_int_equal(retry_parse_after("99999999999999999999999", NOW_MS),
			 RETRY_AFTER_SATURATED);
	assert_int_equal(retry_parse_after("1125899906842", NOW_MS),
			 1125899906842000LL);
	assert_true(retry_parse_after("1125899906843", NOW_MS) >=
		    RETRY_AFTER_SATURATED);
	assert_int_equal(retry_parse_after("-5", NOW_MS), -1);
}

static void test_parse_date(void **state)
{
	(void)state;
	/* IMF-fixdate, 10 s ahead of NOW_MS */
	assert_int_equal(
		retry_parse_after("Wed, 21 Oct 2015 07:28:10 GMT", NOW_MS),
		10000);
	/* now, and a past date: nothing asked, backoff decides */
	assert_int_equal(
		retry_parse_after("Wed, 21 Oct 2015 07:28:00 GMT", NOW_MS), -1);
	assert_int_equal(
		retry_parse_after("Sun, 06 Nov 1994 08:49:37 GMT", NOW_MS), -1);
	/* the fraction of the current second counts */
	assert_int_equal(retry_parse_after("Wed, 21 Oct 2015 07:28:10 GMT",
					   NOW_MS + 250),
			 9750);
	/* across a year and into a leap day */
	/* now = 2015-12-31 23:59:50 */
	assert_int_equal(retry_parse_after("Fri, 01 Jan 2016 00:00:10 GMT",
					   1451606390000LL),
			 20000);
	assert_int_equal(retry_parse_after("Mon, 29 Feb 2016 00:00:00 GMT",
					   1456700400000LL), /* 02-28 23:00 */
			 3600000);
	assert_int_equal(retry_parse_after("Tue, 01 Mar 2016 00:00:00 GMT",
					   1456704000000LL), /* 02-29 00:00 */
			 86400000);
	/* RFC 850 and asctime */
	assert_int_equal(
		retry_parse_after("Wednesday, 21-Oct-15 07:28:10 GMT", NOW_MS),
		10000);
	assert_int_equal(
		retry_parse_after("Wed Oct 21 07:28:10 2015", NOW_MS), 10000);
	assert_int_equal(
		retry_parse_after("Wed Oct  1 07:28:10 2015", 1443684490000LL),
		-1);
	assert_int_equal(
		retry_parse_after("Thu Oct  1 07:28:20 2015", 1443684490000LL),
		10000);
	/* far ahead: as asked (18 years; 2999 is 984 years) */
	assert_int_equal(
		retry_parse_after("Fri, 21 Oct 2033 07:28:00 GMT", NOW_MS),
		568080000000LL);
	assert_int_equal(
		retry_parse_after("Fri, 01 Jan 2999 00:00:00 GMT", NOW_MS),
		31026731520000LL);
	/* garbage */
	assert_int_equal(
		retry_parse_after("Wed, 21 Foo 2015 07:28:10 GMT", NOW_MS), -1);
	assert_int_equal(
		retry_parse_after("Wed, 21 Oct 2015 07:28:10 UTC", NOW_MS), -1);
	assert_int_equal(
		retry_parse_after("Wed, 21 Oct 2015 25:28:10 GMT", NOW_MS), -1);
	assert_int_equal(
		retry_parse_after("Wed, 21 Oct 2015 07:28 GMT", NOW_MS), -1);
	assert_int_equal(
		retry_parse_after("Wed, 41 Oct 2015 07:28:10 GMT", NOW_MS), -1);
	assert_int_equal(retry_parse_after("Wed,", NOW_MS), -1);
	assert_int_equal(retry_parse_after("W", NOW_MS), -1);
}

static void test_parse_body_wait(void **state)
{
	static const char api[] = "{\"statusCode\":429,\"message\":\"Rate "
		"limit is exceeded. Try again in 57 seconds.\"}";
	static const char bom[] = "\xEF\xBB\xBF{ \"statusCode\": 429, "
		"\"message\": \"Rate limit is exceeded. Try again in 1 "
		"seconds.\" }";
	char cut[] = "Try again in 12 seconds";

	(void)state;
	assert_int_equal(retry_parse_body_wait(api, strlen(api)), 57000);
	assert_int_equal(retry_parse_body_wait(bom, strlen(bom)), 1000);
	assert_int_equal(retry_parse_body_wait("try again in 1 second", 21),
			 1000);
	assert_int_equal(retry_parse_body_wait("TRY AGAIN IN  2  SECONDS",
					       24), 2000);
	assert_int_equal(retry_parse_body_wait("Try again in 0 seconds.", 23),
			 0);
	assert_int_equal(retry_parse_body_wait("try again in 2.5 seconds",
					       24), 2500);
	/* a fraction finer than a millisecond rounds up */
	assert_int_equal(retry_parse_body_wait("try again in 0.0001 seconds",
					       27), 1);
	assert_int_equal(retry_parse_body_wait("try again in 1.00000 seconds",
					       28), 1000);
	/* an earlier "try again" without a number does not hide a later
	 * one */
	assert_int_equal(retry_parse_body_wait("Try again later. Try again "
					       "in 3 seconds", 39), 3000);
	/* huge waits are as asked, saturated like a Retry-After (how long
	 * is too long is --max-retry-wait's) */
	assert_int_equal(retry_parse_body_wait("try again in 99999999999999"
					       "9999 seconds", 39),
			 RETRY_AFTER_SATURATED);
	assert_int_equal(retry_parse_body_wait("try again in 999999999 "
					       "seconds", 31), 999999999000LL);
	/* the length is honoured: no NUL needed, none read past it */
	cut[15] = 'X';
	assert_int_equal(retry_parse_body_wait(cut, 15), -1);
	assert_int_equal(retry_parse_body_wait(cut, 14), -1);
	/* not that */
	assert_int_equal(retry_parse_body_wait(NULL, 5), -1);
	assert_int_equal(retry_parse_body_wait("", 0), -1);
	assert_int_equal(retry_parse_body_wait("Try again later.", 16), -1);
	assert_int_equal(retry_parse_body_wait("try again in 5 minutes", 22),
			 -1);
	assert_int_equal(retry_parse_body_wait("try again in -5 seconds", 23),
			 -1);
	assert_int_equal(retry_parse_body_wait("try again in 5seconds", 21),
			 -1);
	assert_int_equal(retry_parse_body_wait("try again in5 seconds", 21),
			 -1);
	assert_int_equal(retry_parse_body_wait("try again in 5. seconds", 23),
			 -1);
	assert_int_equal(retry_parse_body_wait("try again in seconds", 20),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_delay_bounds),
		cmocka_unit_test(test_delay_retry_after_floor),
		cmocka_unit_test(test_parse_delta),
		cmocka_unit_test(test_parse_date),
		cmocka_unit_test(test_parse_body_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
