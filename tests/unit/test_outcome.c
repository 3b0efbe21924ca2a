/*
 * test_outcome.c: the transport side of "what happens next" (outcome.h)
 * without a network: which CURLcodes no retry mends, and the exact words
 * of the Error row for each kind of failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <string.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(permanent),
		cmocka_unit_test(secs),
		cmocka_unit_test(words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
