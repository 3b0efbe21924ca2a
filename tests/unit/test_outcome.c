/*
 * test_outcome.c: "what happens next" (outcome.h) without a network: the
 * table of every CURLcode, the exact words of the Error row for each kind
 * of failure, the classification of whole attempts (libcurl's result, the
 * answer module's faults, the status classes, libcurl's header limit told
 * from memory running out), Retry-After refusals and CURLMcodes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "answer.h"
#include "norm.h"
#include "outcome.h"

static void permanent(void **state)
{
	(void)state;
	assert_true(outcome_is_permanent(CURLE_PEER_FAILED_VERIFICATION));
	assert_true(outcome_is_permanent(CURLE_URL_MALFORMAT));
	assert_true(outcome_is_permanent(CURLE_BAD_CONTENT_ENCODING));
	assert_false(outcome_is_permanent(CURLE_OK));
	assert_false(outcome_is_permanent(CURLE_COULDNT_CONNECT));
	assert_false(outcome_is_permanent(CURLE_OPERATION_TIMEDOUT));
	assert_false(outcome_is_permanent(CURLE_RECV_ERROR));
}

static void secs(void **state)
{
	char s[32];

	(void)state;
	outcome_format_secs(30000, s, sizeof(s));
	assert_string_equal(s, "30");
	outcome_format_secs(500, s, sizeof(s));
	assert_string_equal(s, "0.5");
	outcome_format_secs(1250, s, sizeof(s));
	assert_string_equal(s, "1.25");
}

static void words(void **state)
{
	static const struct {
		struct outcome_failure f;
		unsigned attempts;
		const char *want;
	} cases[] = {
		{{CURLE_OPERATION_TIMEDOUT, 0, true, ""}, 1,
		 "timeout after 30 s"},
		{{CURLE_OPERATION_TIMEDOUT, 0, true, ""}, 6,
		 "timeout after 30 s (6 attempts)"},
		{{CURLE_OPERATION_TIMEDOUT, 0, false, ""}, 1,
		 "cannot connect: timeout after 10 s"},
		{{CURLE_COULDNT_CONNECT, ECONNREFUSED, false, ""}, 2,
		 "connection refused (2 attempts)"},
		{{CURLE_COULDNT_CONNECT, ENETUNREACH, false, ""}, 1,
		 "cannot connect: Network is unreachable"},
		{{CURLE_COULDNT_CONNECT, 0, false, ""}, 1, "cannot connect"},
		{{CURLE_GOT_NOTHING, 0, true, ""}, 1,
		 "connection closed without response"},
		{{CURLE_PARTIAL_FILE, 0, true, ""}, 1,
		 "connection closed before the end of the body"},
		{{CURLE_RECV_ERROR, ECONNRESET, true, ""}, 1,
		 "connection reset"},
		{{CURLE_RECV_ERROR, 0, true, "Recv failure: oops"}, 1,
		 "recv failure: oops"},
		{{CURLE_PEER_FAILED_VERIFICATION, 0, false,
		  "SSL certificate problem: self-signed certificate"}, 1,
		 "SSL certificate problem: self-signed certificate"},
		{{CURLE_COULDNT_RESOLVE_HOST, 0, false, ""}, 1,
		 "couldn't resolve host name"},
	};
	const struct outcome_limits lim = {30000, 10000};
	const struct outcome_limits short_total = {2500, 10000};
	struct outcome_failure f = {CURLE_OPERATION_TIMEDOUT, 0, false, ""};
	char out[256];

	(void)state;
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		outcome_describe(&cases[i].f, cases[i].attempts, &lim, out,
				 sizeof(out));
		assert_string_equal(out, cases[i].want);
	}
	/* a total timeout below the connect timeout is the one that hits */
	outcome_describe(&f, 1, &short_total, out, sizeof(out));
	assert_string_equal(out, "cannot connect: timeout after 2.5 s");
	/* cut to the buffer, still a string */
	outcome_describe(&f, 1, &lim, out, 8);
	assert_string_equal(out, "cannot ");
}

/* Every code of libcurl 7.88 has its row; only our machine's end the
 * run; a code from a newer libcurl is one tenant's problem. */
static void table(void **state)
{
	static const CURLcode fatal[] = {
		CURLE_FAILED_INIT, CURLE_URL_MALFORMAT, CURLE_NOT_BUILT_IN,
		CURLE_WRITE_ERROR, CURLE_READ_ERROR, CURLE_OUT_OF_MEMORY,
		CURLE_FUNCTION_NOT_FOUND, CURLE_ABORTED_BY_CALLBACK,
		CURLE_BAD_FUNCTION_ARGUMENT, CURLE_INTERFACE_FAILED,
		CURLE_UNKNOWN_OPTION, CURLE_SETOPT_OPTION_SYNTAX,
		CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
		CURLE_SSL_CERTPROBLEM, CURLE_SSL_ENGINE_INITFAILED,
		CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE,
		CURLE_RECURSIVE_API_CALL, CURLE_UNRECOVERABLE_POLL};
	static const CURLcode retry[] = {
		CURLE_UNSUPPORTED_PROTOCOL, CURLE_COULDNT_RESOLVE_PROXY,
		CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
		CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2, CURLE_PARTIAL_FILE,
		CURLE_OPERATION_TIMEDOUT, CURLE_SSL_CONNECT_ERROR,
		CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR,
		CURLE_SEND_FAIL_REWIND, CURLE_SSL_SHUTDOWN_FAILED, CURLE_AGAIN,
		CURLE_NO_CONNECTION_AVAILABLE, CURLE_HTTP2_STREAM, CURLE_HTTP3,
		CURLE_QUIC_CONNECT_ERROR, CURLE_PROXY};
	size_t nfatal = 0, nretry = 0;

	(void)state;
	assert_int_equal(CURL_LAST, 100); /* the 7.88 set, 0..99 */
	for(int c = 1; c < CURL_LAST; c++) {
		enum outcome_kind k = outcome_curl_kind((CURLcode)c);
		bool want_fatal = false, want_retry = false;

		for(size_t i = 0; i < sizeof(fatal) / sizeof(*fatal); i++)
			want_fatal |= fatal[i] == (CURLcode)c;
		for(size_t i = 0; i < sizeof(retry) / sizeof(*retry); i++)
			want_retry |= retry[i] == (CURLcode)c;
		if(want_fatal) {
			assert_int_equal(k, OUTCOME_KIND_FATAL);
			nfatal++;
		} else if(want_retry) {
			assert_int_equal(k, OUTCOME_KIND_RETRY);
			nretry++;
		} else {
			assert_int_equal(k, OUTCOME_KIND_ROW);
		}
		assert_int_equal(outcome_is_permanent((CURLcode)c),
				 k != OUTCOME_KIND_RETRY);
	}
	assert_int_equal(nfatal, sizeof(fatal) / sizeof(*fatal));
	assert_int_equal(nretry, sizeof(retry) / sizeof(*retry));
	assert_int_equal(outcome_curl_kind((CURLcode)100), OUTCOME_KIND_ROW);
	assert_int_equal(outcome_curl_kind((CURLcode)999), OUTCOME_KIND_ROW);
}

static const struct outcome_limits lim30 = {30000, 10000};

/* classify an attempt that ended with res (errbuf, errno) at status */
static void classify(CURLcode res, long status, const char *errbuf,
		     long oserr, bool alloc_failed, const struct answer *a,
		     struct outcome *o)
{
	struct outcome_attempt in;

	memset(&in, 0, sizeof(in));
	in.f.res = res;
	in.f.os_errno = oserr;
	in.f.connected = true;
	in.f.errbuf = errbuf;
	in.status = status;
	in.curl_alloc_failed = alloc_failed;
	in.ans = a;
	outcome_classify(&in, &lim30, o);
}

/* What each libcurl failure becomes: retried, a row now, or the end. */
static void curl_failures(void **state)
{
	static const struct {
		CURLcode res;
		long status;
		const char *errbuf;
		long oserr;
		enum outcome_action action;
		const char *why;
	} cases[] = {
		{CURLE_WEIRD_SERVER_REPLY, 200, "Nul byte in header", 0,
		 OUTCOME_RETRY, "invalid HTTP response: nul byte in header"},
		{CURLE_WEIRD_SERVER_REPLY, 200, "Header without colon", 0,
		 OUTCOME_RETRY, "invalid HTTP response: header without colon"},
		{CURLE_WEIRD_SERVER_REPLY, 200, "Invalid Content-Length: value",
		 0, OUTCOME_RETRY,
		 "invalid HTTP response: invalid Content-Length: value"},
		{CURLE_UNSUPPORTED_PROTOCOL, 0,
		 "Received HTTP/0.9 when not allowed", 0, OUTCOME_RETRY,
		 "not an HTTP response"},
		{CURLE_UNSUPPORTED_PROTOCOL, 0,
		 "Unsupported HTTP version (1.2) in response", 0, OUTCOME_RETRY,
		 "invalid HTTP status line"},
		/* a stale buffer: the words of a reused connection that died
		 * before libcurl resent the request */
		{CURLE_UNSUPPORTED_PROTOCOL, 0,
		 "Recv failure: Connection reset by peer", 0, OUTCOME_RETRY,
		 "invalid HTTP status line"},
		{CURLE_WEIRD_SERVER_REPLY, 200,
		 "Recv failure: Connection reset by peer", 0, OUTCOME_RETRY,
		 "invalid HTTP response: weird server reply"},
		{CURLE_RECV_ERROR, 200, "Illegal or missing hexadecimal "
		 "sequence in chunked-encoding", ECONNRESET, OUTCOME_RETRY,
		 "invalid chunked encoding: illegal or missing hexadecimal "
		 "sequence"},
		{CURLE_RECV_ERROR, 200,
		 "Recv failure: Connection reset by peer", ECONNRESET,
		 OUTCOME_RETRY, "connection reset"},
		{CURLE_RECV_ERROR, 200, "Too large response headers: 307212 > "
		 "307200", 0, OUTCOME_ROW, "response headers too large"},
		{CURLE_HTTP2_STREAM, 200, "HTTP/2 stream 1 was not closed "
		 "cleanly: PROTOCOL_ERROR (err 1)", 0, OUTCOME_RETRY,
		 "HTTP/2 stream 1 was not closed cleanly: PROTOCOL_ERROR "
		 "(err 1)"},
		{CURLE_HTTP2, 0, "", 0, OUTCOME_RETRY,
		 "error in the HTTP2 framing layer"},
		{CURLE_PARTIAL_FILE, 200, "", 0, OUTCOME_RETRY,
		 "connection closed before the end of the body"},
		{CURLE_BAD_CONTENT_ENCODING, 200, "Unrecognized or bad HTTP "
		 "Content or Transfer-Encoding", 0, OUTCOME_ROW,
		 "invalid HTTP response: unrecognized or bad HTTP Content or "
		 "Transfer-Encoding"},
		{CURLE_PEER_FAILED_VERIFICATION, 0, "SSL certificate problem: "
		 "self-signed certificate", 0, OUTCOME_ROW,
		 "SSL certificate problem: self-signed certificate"},
		/* libcurl 7.88's 100 KiB header line, our memory intact */
		{CURLE_OUT_OF_MEMORY, 200, "", 0, OUTCOME_ROW,
		 "response header line longer than 100 KiB"},
		{CURLE_OUT_OF_MEMORY, 0, "", 0, OUTCOME_ROW,
		 "response header line longer than 100 KiB"},
		{CURLE_SSL_CACERT_BADFILE, 0, "error setting certificate file: "
		 "/x.pem", 0, OUTCOME_FATAL, "cannot use the local TLS files: "
		 "error setting certificate file: /x.pem"},
		{CURLE_BAD_FUNCTION_ARGUMENT, 0, "", 0, OUTCOME_FATAL,
		 "internal error: libcurl: a libcurl function was given a bad "
		 "argument"},
		{CURLE_WRITE_ERROR, 200, "", 0, OUTCOME_FATAL,
		 "internal error: libcurl: failed writing received data to "
		 "disk/application"},
		{CURLE_TFTP_PERM, 0, "", 0, OUTCOME_ROW,
		 "TFTP: Access Violation"},
	};
	struct outcome o;

	(void)state;
	for(size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		classify(cases[i].res, cases[i].status, cases[i].errbuf,
			 cases[i].oserr, false, NULL, &o);
		assert_int_equal(o.action, cases[i].action);
		assert_string_equal(o.why, cases[i].why);
		assert_int_equal(o.answered, cases[i].status > 0);
		assert_int_equal(o.status, cases[i].status);
		if(o.action == OUTCOME_FATAL)
			assert_true(o.fatal == PL_EUSAGE ||
				    o.fatal == PL_EINTERNAL);
	}
	/* our memory: the end of the run, whatever the code */
	classify(CURLE_OUT_OF_MEMORY, 200, "", 0, true, NULL, &o);
	assert_int_equal(o.action, OUTCOME_FATAL);
	assert_int_equal(o.fatal, PL_ENOMEM);
	assert_string_equal(o.why, "out of memory");
}

static void feed(struct answer *a, const char *const *lines)
{
	for(; *lines; lines++)
		answer_header(a, *lines, strlen(*lines));
}

#define RID "16fd2706-8baf-433b-82eb-8c7fada847da"

/* The answer module's faults, and the status classes. */
static void answers(void **state)
{
	static const struct {
		const char *lines[5];
		CURLcode res;
		enum outcome_action action;
		bool answered;
		const char *why;
	} cases[] = {
		{{"HTTP/1.1 200 OK\r\n", "\r\n"}, CURLE_OK, OUTCOME_USE,
		 true, ""},
		{{"HTTP/1.1 404 Not Found\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_USE, true, ""},
		{{"HTTP/1.1 403 Forbidden\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_USE, true, ""},
		{{"HTTP/1.1 501 Not Implemented\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_USE, true, ""},
		{{"HTTP/1.1 503 Busy\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_USE_RETRY, true, ""},
		{{"HTTP/1.1 429 Slow down\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_USE_RETRY, true, ""},
		{{"HTTP/1.1 401 Unauthorized\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_REAUTH, true, ""},
		{{"HTTP/1.1 302 Found\r\n", "Location: http://x.example/\r\n",
		  "\r\n"}, CURLE_OK, OUTCOME_ROW, true,
		 "HTTP 302 Found: redirect to http://x.example/ not followed"},
		{{"HTTP/1.1 304 Not Modified\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_ROW, true, "HTTP 304 Not Modified"},
		{{"HTTP/1.1 399 Odd\r\n", "\r\n"}, CURLE_OK, OUTCOME_ROW,
		 true, "HTTP 399"},
		{{"HTTP/1.1 999 Weird\r\n", "\r\n"}, CURLE_OK, OUTCOME_ROW,
		 true, "invalid HTTP status 999"},
		{{"HTTP/1.1 200 OK\r\n", "Content-Length: 9000000\r\n",
		  "\r\n"}, CURLE_WRITE_ERROR, OUTCOME_ROW, true,
		 "body larger than 8 MiB (Content-Length: 9000000)"},
		/* a 503 that is too big is still a 503 */
		{{"HTTP/1.1 503 Busy\r\n", "Content-Length: 9000000\r\n",
		  "\r\n"}, CURLE_WRITE_ERROR, OUTCOME_USE_RETRY, true, ""},
		{{"HTTP/1.1 200 OK\r\n", "Content-Encoding: br\r\n", "\r\n"},
		 CURLE_WRITE_ERROR, OUTCOME_ROW, true,
		 "unsupported Content-Encoding 'br'"},
		{{"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n",
		  "Content-Length: 6\r\n", "\r\n"}, CURLE_WRITE_ERROR,
		 OUTCOME_RETRY,
		 true, "invalid HTTP response: conflicting Content-Length "
		 "headers (5 and 6)"},
		{{"HTTP/1.1 200 OK\r\n",
		  "MS-RequestId: 7c9e6679-7425-40de-944b-e07fc1f90ae7\r\n"},
		 CURLE_WRITE_ERROR, OUTCOME_RETRY, false,
		 "answer for another request (MS-RequestId "
		 "7c9e6679-7425-40de-944b-e07fc1f90ae7)"},
		{{"HTTP/1.1 200 OK\r\n", "Content-Type: x\r\n"}, CURLE_OK,
		 OUTCOME_RETRY, true,
		 "connection closed inside the response headers"},
		{{"HTTP/1.1 100 Continue\r\n", "\r\n"}, CURLE_OK,
		 OUTCOME_RETRY, true,
		 "connection closed inside the response headers"},
	};
	struct answer a;
	struct outcome o;
	long status;

	(void)state;
	answer_init(&a);
	for(size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		answer_start(&a, RID, false, 0, NORM_MAX_BODY, 0);
		feed(&a, cases[i].lines);
		if(cases[i].res == CURLE_OK)
			answer_finish(&a);
		status = a.status;
		classify(cases[i].res, status, "", 0, false, &a, &o);
		assert_int_equal(o.action, cases[i].action);
		assert_int_equal(o.answered, cases[i].answered);
		assert_int_equal(o.status, cases[i].answered ? status : 0);
		assert_string_equal(o.why, cases[i].why);
	}
	/* the server echoes IDs: a 200 without one is not trusted */
	answer_start(&a, RID, true, 0, NORM_MAX_BODY, 0);
	feed(&a, (const char *const[]){"HTTP/1.1 200 OK\r\n", "\r\n", NULL});
	classify(CURLE_WRITE_ERROR, 200, "", 0, false, &a, &o);
	assert_int_equal(o.action, OUTCOME_RETRY);
	assert_false(o.answered);
	assert_string_equal(o.why, "answer without the MS-RequestId sent");
	/* a corrupt and a truncated gzip body */
	answer_start(&a, RID, false, 0, NORM_MAX_BODY, 0);
	feed(&a, (const char *const[]){"HTTP/1.1 200 OK\r\n",
				       "Content-Encoding: gzip\r\n", "\r\n",
				       NULL});
	answer_body(&a, "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff",
		    12);
	classify(CURLE_WRITE_ERROR, 200, "", 0, false, &a, &o);
	assert_int_equal(o.action, OUTCOME_ROW);
	assert_string_equal(o.why, "corrupt gzip body: invalid block type");
	answer_start(&a, RID, false, 0, NORM_MAX_BODY, 0);
	feed(&a, (const char *const[]){"HTTP/1.1 200 OK\r\n",
				       "Content-Encoding: deflate\r\n",
				       "\r\n", NULL});
	answer_body(&a, "\x78\x9c", 2);
	answer_finish(&a);
	classify(CURLE_OK, 200, "", 0, false, &a, &o);
	assert_int_equal(o.action, OUTCOME_RETRY);
	assert_string_equal(o.why, "truncated deflate body");
	/* our own allocation failing in the answer module ends the run */
	a.fault = ANSWER_NOMEM;
	classify(CURLE_WRITE_ERROR, 200, "", 0, false, &a, &o);
	assert_int_equal(o.action, OUTCOME_FATAL);
	assert_int_equal(o.fatal, PL_ENOMEM);
	answer_release(&a);
}

static void wait_refused(void **state)
{
	struct answer a;
	char out[256];

	(void)state;
	answer_init(&a);
	snprintf(a.retry_after, sizeof(a.retry_after), "999999999");
	a.retry_after_ms = 999999999000LL;
	outcome_wait_refused(&a, a.retry_after_ms, 600, out, sizeof(out));
	assert_string_equal(out, "server asked to wait 999999999 s, more than "
			    "--max-retry-wait 600 s");
	snprintf(a.retry_after, sizeof(a.retry_after), "000601");
	a.retry_after_ms = 601000;
	outcome_wait_refused(&a, a.retry_after_ms, 600, out, sizeof(out));
	assert_string_equal(out, "server asked to wait 601 s, more than "
			    "--max-retry-wait 600 s");
	snprintf(a.retry_after, sizeof(a.retry_after),
		 "Fri, 01 Jan 2999 00:00:00 GMT");
	a.retry_after_ms = 31026731520000LL;
	outcome_wait_refused(&a, a.retry_after_ms, 1, out, sizeof(out));
	assert_string_equal(out, "server asked to wait until Fri, 01 Jan 2999 "
			    "00:00:00 GMT, more than --max-retry-wait 1 s");
	/* a 429 body's "Try again in 3600 seconds", no Retry-After */
	a.retry_after[0] = '\0';
	a.retry_after_ms = -1;
	outcome_wait_refused(&a, 3599500, 600, out, sizeof(out));
	assert_string_equal(out, "server asked to wait 3600 s, more than "
			    "--max-retry-wait 600 s");
	outcome_with_attempts("x", 1, out, sizeof(out));
	assert_string_equal(out, "x");
	outcome_with_attempts("x", 3, out, sizeof(out));
	assert_string_equal(out, "x (3 attempts)");
}

/* A CURLMcode ends the run only for our machine. */
static void multi(void **state)
{
	(void)state;
	assert_int_equal(outcome_multi_kind(CURLM_OK, false, false),
			 OUTCOME_MULTI_OK);
	assert_int_equal(outcome_multi_kind(CURLM_OUT_OF_MEMORY, false, true),
			 OUTCOME_MULTI_FATAL);
	assert_int_equal(outcome_multi_kind(CURLM_OUT_OF_MEMORY, true, false),
			 OUTCOME_MULTI_ATTEMPT);
	assert_int_equal(outcome_multi_kind(CURLM_OUT_OF_MEMORY, false, false),
			 OUTCOME_MULTI_IGNORE);
	assert_int_equal(outcome_multi_kind(CURLM_ABORTED_BY_CALLBACK, false,
					    false), OUTCOME_MULTI_FATAL);
	assert_int_equal(outcome_multi_kind(CURLM_UNRECOVERABLE_POLL, false,
					    false), OUTCOME_MULTI_FATAL);
	for(int mc = CURLM_BAD_HANDLE; mc < CURLM_LAST; mc++) {
		if(mc == CURLM_OUT_OF_MEMORY ||
		   mc == CURLM_ABORTED_BY_CALLBACK ||
		   mc == CURLM_UNRECOVERABLE_POLL)
			continue;
		assert_int_equal(outcome_multi_kind((CURLMcode)mc, true, false),
				 OUTCOME_MULTI_ATTEMPT);
		assert_int_equal(outcome_multi_kind((CURLMcode)mc, false,
						    false),
				 OUTCOME_MULTI_IGNORE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(permanent),
		cmocka_unit_test(secs),
		cmocka_unit_test(words),
		cmocka_unit_test(table),
		cmocka_unit_test(curl_failures),
		cmocka_unit_test(answers),
		cmocka_unit_test(wait_refused),
		cmocka_unit_test(multi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
