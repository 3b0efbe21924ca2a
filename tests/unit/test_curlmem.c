/*
 * test_curlmem.c: libcurl's allocations go through curlmem's counters
 * when curlmem_init comes first, and it knows when they do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "curlmem.h"

/* Someone initialised libcurl first: its allocator stays, and curlmem
 * says it cannot count. Then, once all are cleaned up, a first
 * curlmem_init counts. */
static void test_counting(void **state)
{
	struct pl_err err;
	struct curl_slist *l;

	(void)state;
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	assert_int_equal(curlmem_init(&err), PL_OK);
	assert_false(curlmem_is_counting());
	curlmem_cleanup();
	curl_global_cleanup();

	assert_int_equal(curlmem_init(&err), PL_OK);
	assert_true(curlmem_is_counting());
	/* nested inits (auth, fetch) keep it */
	assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
	assert_int_equal(curlmem_init(&err), PL_OK);
	assert_true(curlmem_is_counting());
	l = curl_slist_append(NULL, "works");
	assert_non_null(l);
	curl_slist_free_all(l);
	assert_int_equal(curlmem_failures(), 0);
	curlmem_cleanup();
	curl_global_cleanup();
	curlmem_cleanup();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
