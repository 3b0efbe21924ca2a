/*
 * test_answer.c: one attempt's answer as libcurl's callbacks hand it over:
 * status lines (1xx included), Retry-After, the echoed MS-RequestId, the
 * header and body limits, Content-Length, and gzip/deflate decoding with
 * its truncated, corrupt and oversized cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "answer.h"
#include "norm.h"
#include "retry.h"

#define RID "16fd2706-8baf-433b-82eb-8c7fada847da"
#define OTHER "7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define BODY "{\"qualifications\":[{\"qualification\":\"Education\"}]}"
/* 2015-10-21T07:28:00Z */
#define NOW_MS 1445412480000LL

static struct answer a;

static int setup(void **state)
{
	(void)state;
	answer_init(&a);
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	answer_release(&a);
	return 0;
}

static bool hdr(const char *line)
{
	return answer_header(&a, line, strlen(line));
}

static bool body(const void *data, size_t len)
{
	return answer_body(&a, data, len);
}

/* Feed data one byte at a time, as a slow connection would. */
static bool body_bytewise(const unsigned char *data, size_t len)
{
	for(size_t i = 0; i < len; i++)
		if(!answer_body(&a, (const char *)data + i, 1))
			return false;
	return true;
}

/* data compressed as gzip (wbits 16+15), zlib (15) or raw deflate (-15). */
static unsigned char *squeeze(const void *data, size_t len, int wbits,
			      size_t *out_len)
{
	z_stream z;
	size_t cap = compressBound((uLong)len) + 64;
	unsigned char *out = malloc(cap);

	assert_non_null(out);
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 9,
				      Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	*out_len = cap - z.avail_out;
	deflateEnd(&z);
	return out;
}

static void ok_headers(const char *extra)
{
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Type: application/json\r\n"));
	if(extra)
		assert_true(hdr(extra));
	assert_true(hdr("\r\n"));
}

static void test_plain(void **state)
{
	(void)state;
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("MS-RequestId: " RID "\r\n"));
	assert_true(hdr("Content-Length: 51\r\n"));
	assert_false(a.headers_done);
	assert_true(hdr("\r\n"));
	assert_true(a.headers_done);
	assert_true(body(BODY, strlen(BODY)));
	assert_true(answer_finish(&a));
	assert_int_equal(a.status, 200);
	assert_true(a.echoed_id);
	assert_int_equal(a.fault, ANSWER_FINE);
	assert_string_equal(a.body.data, BODY);
	assert_int_equal(a.retry_after_ms, -1);
}

/* 100 and 103 come first; what they said is forgotten; LF-only lines. */
static void test_interim(void **state)
{
	(void)state;
	assert_true(hdr("HTTP/1.1 100 Continue\r\n"));
	assert_true(hdr("Retry-After: 5\r\n"));
	assert_true(hdr("\r\n"));
	assert_false(a.headers_done);
	assert_int_equal(a.status, 100);
	assert_true(hdr("HTTP/1.1 103 Early Hints\n"));
	assert_true(hdr("Link: </s.css>; rel=preload\n"));
	assert_true(hdr("\n"));
	assert_false(a.headers_done);
	assert_true(hdr("HTTP/2 404 \r\n"));
	assert_true(hdr("\r\n"));
	assert_true(a.headers_done);
	assert_int_equal(a.status, 404);
	assert_int_equal(a.retry_after_ms, -1);
	assert_string_equal(a.retry_after, "");
	assert_true(answer_finish(&a));
}

static void test_retry_after(void **state)
{
	(void)state;
	assert_true(hdr("HTTP/1.1 429 Too Many Requests\r\n"));
	assert_true(hdr("retry-after:   120  \r\n"));
	assert_int_equal(a.retry_after_ms, 120000);
	assert_string_equal(a.retry_after, "120");
	assert_true(hdr("Retry-After: 999999999\r\n"));
	assert_int_equal(a.retry_after_ms, 999999999000LL);
	assert_true(hdr("Retry-After: Wed, 21 Oct 2015 07:28:10 GMT\r\n"));
	assert_int_equal(a.retry_after_ms, 10000);
	assert_string_equal(a.retry_after, "Wed, 21 Oct 2015 07:28:10 GMT");
	assert_true(hdr("Retry-After: 1.5\r\n"));
	assert_int_equal(a.retry_after_ms, -1);
	assert_true(hdr("Retry-After: \x01\xff\r\n"));
	assert_string_equal(a.retry_after, "??");
	assert_int_equal(a.retry_after_ms, -1);
	assert_true(hdr("\r\n"));
	assert_true(answer_finish(&a));
}

/* Header lines libcurl passed on: the section may not pass 256 KiB. */
static void test_header_limit(void **state)
{
	char line[1024];
	size_t total = 0;

	(void)state;
	memset(line, 'h', sizeof(line));
	memcpy(line, "X-Many: ", 8);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	total += 17;
	while(total + sizeof(line) <= ANSWER_MAX_HEADER_BYTES) {
		assert_true(answer_header(&a, line, sizeof(line)));
		total += sizeof(line);
	}
	assert_int_equal(a.header_bytes, total);
	assert_false(answer_header(&a, line, sizeof(line)));
	assert_int_equal(a.fault, ANSWER_HEADERS_TOO_BIG);
	/* a fault sticks: nothing more is taken */
	assert_false(hdr("\r\n"));
	assert_false(body("x", 1));
	assert_false(answer_finish(&a));
	assert_int_equal(a.fault, ANSWER_HEADERS_TOO_BIG);
}

static void test_content_length(void **state)
{
	(void)state;
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Length: 51\r\n"));
	assert_true(hdr("Content-Length: 51\r\n"));
	assert_true(hdr("Content-Length: 51, 51\r\n"));
	assert_true(hdr("Content-Length: 5\r\n"));
	assert_true(hdr("Content-Length: 7\r\n"));
	/* known at the end of the headers: a Transfer-Encoding would make
	 * the lengths moot */
	assert_false(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_LENGTH_CONFLICT);
	assert_string_equal(a.fault_detail, "51 and 5");

	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Length: 5\r\n"));
	assert_true(hdr("Content-Length: 9000000\r\n"));
	assert_true(hdr("Transfer-Encoding: chunked\r\n"));
	assert_true(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_FINE);

	/* announced over 8 MiB: refused before a byte of body */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Length: 8388609\r\n"));
	assert_false(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_TOO_BIG);
	assert_string_equal(a.fault_detail, "8388609");

	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Length: 1180591620717411303424\r\n"));
	assert_false(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_TOO_BIG);

	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Length: 8388608\r\n"));
	assert_true(hdr("\r\n"));
}

static void test_body_limit(void **state)
{
	char *big = malloc(NORM_MAX_BODY + 1);

	(void)state;
	assert_non_null(big);
	memset(big, ' ', NORM_MAX_BODY + 1);
	ok_headers(NULL);
	assert_true(body(big, NORM_MAX_BODY - 1));
	assert_true(body(big, 1));
	assert_int_equal(a.body.len, NORM_MAX_BODY);
	assert_false(body(big, 1));
	assert_int_equal(a.fault, ANSWER_TOO_BIG);
	/* what had arrived stays readable */
	assert_int_equal(a.body.len, NORM_MAX_BODY);

	/* the next attempt starts empty, its memory given back */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 4096);
	assert_int_equal(a.fault, ANSWER_FINE);
	assert_int_equal(a.body.len, 0);
	assert_int_equal(a.body.cap, 0);
	free(big);
}

static void test_gzip(void **state)
{
	size_t n;
	unsigned char *z = squeeze(BODY, strlen(BODY), 16 + MAX_WBITS, &n);
	unsigned char *two = malloc(2 * n);

	(void)state;
	ok_headers("Content-Encoding: gzip\r\n");
	assert_true(body(z, n));
	assert_true(answer_finish(&a));
	assert_string_equal(a.body.data, BODY);
	assert_int_equal(a.raw_bytes, n);

	/* byte by byte, x-gzip spelling */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: X-GZIP\r\n");
	assert_true(body_bytewise(z, n));
	assert_true(answer_finish(&a));
	assert_string_equal(a.body.data, BODY);

	/* two members, as RFC 1952 allows */
	memcpy(two, z, n);
	memcpy(two + n, z, n);
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: gzip\r\n");
	assert_true(body(two, 2 * n));
	assert_true(answer_finish(&a));
	assert_int_equal(a.body.len, 2 * strlen(BODY));

	/* truncated: everything decodes, but the stream has no end */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: gzip\r\n");
	assert_true(body(z, n - 4));
	assert_false(answer_finish(&a));
	assert_int_equal(a.fault, ANSWER_ENCODING_TRUNCATED);

	/* corrupt after the header */
	for(size_t i = 10; i < n; i++)
		z[i] ^= 0x5a;
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: gzip\r\n");
	assert_false(body(z, n));
	assert_int_equal(a.fault, ANSWER_ENCODING_CORRUPT);
	assert_true(a.fault_detail[0] != '\0');

	/* garbage after the end */
	for(size_t i = 10; i < n; i++)
		z[i] ^= 0x5a;
	memcpy(two, z, n);
	memcpy(two + n, "junk", 4);
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: gzip\r\n");
	assert_false(body(two, n + 4));
	assert_int_equal(a.fault, ANSWER_ENCODING_CORRUPT);
	assert_string_equal(a.fault_detail, "data after the end of the stream");
	free(two);
	free(z);
}

/* Decompressing to 8 MiB is fine, one byte more is not. */
static void test_gzip_bomb(void **state)
{
	size_t n;
	char *big = malloc(NORM_MAX_BODY + 1);
	unsigned char *z;

	(void)state;
	memset(big, ' ', NORM_MAX_BODY + 1);
	z = squeeze(big, NORM_MAX_BODY, 16 + MAX_WBITS, &n);
	ok_headers("Content-Encoding: gzip\r\n");
	assert_true(body(z, n));
	assert_true(answer_finish(&a));
	assert_int_equal(a.body.len, NORM_MAX_BODY);
	free(z);

	z = squeeze(big, NORM_MAX_BODY + 1, MAX_WBITS, &n);
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: deflate\r\n");
	assert_false(body(z, n));
	assert_int_equal(a.fault, ANSWER_TOO_BIG);
	free(z);
	free(big);
}

/* deflate as zlib data (RFC 9110) and raw, as some servers send it. */
static void test_deflate(void **state)
{
	static const int wbits[2] = {MAX_WBITS, -MAX_WBITS};
	size_t n;
	unsigned char *z;

	(void)state;
	for(int w = 0; w < 2; w++) {
		z = squeeze(BODY, strlen(BODY), wbits[w], &n);
		answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
		ok_headers("Content-Encoding: deflate\r\n");
		assert_true(body_bytewise(z, n));
		assert_true(answer_finish(&a));
		assert_string_equal(a.body.data, BODY);

		answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
		ok_headers("Content-Encoding: deflate\r\n");
		assert_true(body(z, n / 2));
		assert_false(answer_finish(&a));
		assert_int_equal(a.fault, ANSWER_ENCODING_TRUNCATED);

		answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
		ok_headers("Content-Encoding: deflate\r\n");
		assert_true(body(z, 1));
		assert_false(answer_finish(&a));
		assert_int_equal(a.fault, ANSWER_ENCODING_TRUNCATED);
		free(z);
	}
	/* no body at all is an empty body, whatever the encoding */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers("Content-Encoding: deflate\r\n");
	assert_true(answer_finish(&a));
	assert_int_equal(a.body.len, 0);
}

static void test_encodings(void **state)
{
	static const struct {
		const char *header;
		bool fine;
		const char *name;
	} cases[] = {
		{"Content-Encoding: br\r\n", false, "br"},
		{"Content-Encoding: gzip, gzip\r\n", false, "gzip, gzip"},
		{"Content-Encoding: zstd\r\n", false, "zstd"},
		{"Content-Encoding: identity\r\n", true, ""},
		{"Content-Encoding: identity, gzip\r\n", true, ""},
		{"Content-Encoding: \r\n", true, ""},
	};

	(void)state;
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
		assert_true(hdr("HTTP/1.1 200 OK\r\n"));
		assert_true(hdr(cases[i].header));
		assert_int_equal(hdr("\r\n"), cases[i].fine);
		assert_int_equal(a.fault, cases[i].fine
				 ? ANSWER_FINE : ANSWER_ENCODING_UNSUPPORTED);
		assert_string_equal(a.fault_detail, cases[i].name);
	}
	/* two headers are a list of two */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Encoding: gzip\r\n"));
	assert_true(hdr("Content-Encoding: deflate\r\n"));
	assert_false(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_ENCODING_UNSUPPORTED);
}

static void test_request_id(void **state)
{
	(void)state;
	/* the same ID in capitals and braces is ours */
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("MS-RequestId: {16FD2706-8BAF-433B-82EB-"
			"8C7FADA847DA}\r\n"));
	assert_true(a.echoed_id);
	assert_true(hdr("\r\n"));

	/* another request's: refused on sight */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_false(hdr("ms-requestid: " OTHER "\r\n"));
	assert_int_equal(a.fault, ANSWER_FOREIGN_ID);
	assert_string_equal(a.foreign_id, OTHER);

	/* not a GUID: no evidence either way */
	answer_start(&a, RID, true, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 503 Service Unavailable\r\n"));
	assert_true(hdr("MS-RequestId: gateway-42\r\n"));
	assert_false(a.echoed_id);
	assert_true(hdr("\r\n"));

	/* missing, from a server that echoes: only answers that become
	 * facts (2xx, 404) are refused */
	answer_start(&a, RID, true, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_false(hdr("\r\n"));
	assert_int_equal(a.fault, ANSWER_MISSING_ID);
	answer_start(&a, RID, true, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 404 Not Found\r\n"));
	assert_false(hdr("\r\n"));
	answer_start(&a, RID, true, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 403 Forbidden\r\n"));
	assert_true(hdr("\r\n"));
	/* nothing sent, nothing expected */
	answer_start(&a, "", true, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("\r\n"));
	/* chunked trailers are counted but not read */
	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	ok_headers(NULL);
	assert_true(hdr("MS-RequestId: " OTHER "\r\n"));
	assert_true(hdr("\r\n"));
	assert_true(answer_finish(&a));
}

static void test_cut_and_location(void **state)
{
	char line[400];

	(void)state;
	assert_true(hdr("HTTP/1.1 200 OK\r\n"));
	assert_true(hdr("Content-Type: appl"));
	assert_false(answer_finish(&a));
	assert_int_equal(a.fault, ANSWER_HEADERS_CUT);

	answer_start(&a, RID, false, NOW_MS, NORM_MAX_BODY, 0);
	assert_true(hdr("HTTP/1.1 302 Found\r\n"));
	assert_true(hdr("Location: http://127.0.0.2:9/x\r\n"));
	assert_string_equal(a.location, "http://127.0.0.2:9/x");
	memset(line, 'a', sizeof(line));
	memcpy(line, "Location: ", 10);
	memcpy(line + sizeof(line) - 2, "\r\n", 2);
	assert_true(answer_header(&a, line, sizeof(line)));
	assert_int_equal(strlen(a.location), ANSWER_TEXT_MAX - 1);
	assert_string_equal(a.location + ANSWER_TEXT_MAX - 4, "...");
	assert_true(hdr("\r\n"));
	assert_int_equal(a.status, 302);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interim, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_after, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_header_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_content_length, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_body_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gzip_bomb, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_deflate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encodings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_request_id, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_cut_and_location, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
