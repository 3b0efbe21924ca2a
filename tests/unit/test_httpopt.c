/*
 * test_httpopt.c: a hardened handle (httpopt.h) speaks http and https
 * only, and refuses what libcurl would otherwise do for other schemes
 * (read a local file, connect over ftp). TLS verification and redirects
 * are exercised end to end by tests/integration/t_tls.sh and test_fetch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>

#include "httpopt.h"

static size_t sink(char *p, size_t size, size_t n, void *userp)
{
	(void)p;
	*(size_t *)userp += size * n;
	return size * n;
}

static CURLcode fetch(const char *url, const struct httpopt *o,
		      size_t *got)
{
	struct pl_err err = {""};
	CURL *c = curl_easy_init();
	CURLcode cc;

	assert_non_null(c);
	if(o)
		assert_int_equal(httpopt_harden(c, o, &err), PL_OK);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, got);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
	cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return cc;
}

static void other_schemes_refused(void **state)
{
	const struct httpopt plain = {NULL, NULL};
	const struct httpopt ca = {QR_SOURCE_DIR "/README.md", "ua/1"};
	size_t got = 0;

	(void)state;
	/* the control: unhardened, libcurl reads the file */
	assert_int_equal(fetch("file://" QR_SOURCE_DIR "/README.md", NULL,
			       &got), CURLE_OK);
	assert_true(got > 0);
	got = 0;
	assert_int_equal(fetch("file://" QR_SOURCE_DIR "/README.md", &plain,
			       &got), CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(got, 0);
	assert_int_equal(fetch("ftp://127.0.0.1:1/x", &ca, &got),
			 CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(got, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(other_schemes_refused),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
