/*
 * test_token_response.c: the identity platform's replies as
 * token_response.h reads them — v2 and v1 token replies, refresh-token
 * and device-code replies, AADSTS errors — and the replies it refuses
 * (wrong types, not an object, not JSON), each exactly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "token_response.h"

static enum pl_status parse(struct token_response *r, const char *body,
			    struct pl_err *err)
{
	return token_response_parse(r, body, strlen(body), err);
}

static void v2_reply(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"token_type\":\"Bearer\",\"expires_in\":"
			       "3599,\"ext_expires_in\":3599,\"access_token\":"
			       "\"eyJ0.abc-_\"}", &err), PL_OK);
	assert_string_equal(r.access_token.data, "eyJ0.abc-_");
	assert_true(r.access_token.secret);
	assert_string_equal(r.token_type, "Bearer");
	assert_int_equal(r.expires_in, 3599);
	assert_int_equal(r.refresh_token.len, 0);
	assert_null(r.error);
	assert_null(r.scope);
	assert_int_equal(r.interval, -1);
	assert_int_equal(r.n_error_codes, 0);
	token_response_release(&r);
	assert_int_equal(r.access_token.len, 0);
	assert_null(r.token_type);
}

/* The v1 endpoint sends its numbers as strings (API doc §5). */
static void v1_string_numbers(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"token_type\":\"Bearer\",\"expires_in\":"
			       "\"3600\",\"ext_expires_in\":\"3600\","
			       "\"expires_on\":\"1546469802\",\"not_before\":"
			       "\"1546465902\",\"resource\":\"https://api."
			       "partnercenter.microsoft.com\",\"access_token\":"
			       "\"tok\"}", &err), PL_OK);
	assert_int_equal(r.expires_in, 3600);
	assert_string_equal(r.access_token.data, "tok");
	/* Leading zeros, and a huge value clamped, not wrapped. */
	assert_int_equal(parse(&r, "{\"expires_in\":\"0060\"}", &err), PL_OK);
	assert_int_equal(r.expires_in, 60);
	assert_int_equal(parse(&r, "{\"expires_in\":\"99999999999999999999\"}",
			       &err), PL_OK);
	assert_int_equal(r.expires_in, TOKEN_RESPONSE_MAX_SECONDS);
	assert_int_equal(parse(&r, "{\"expires_in\":9223372036854775807}",
			       &err), PL_OK);
	assert_int_equal(r.expires_in, TOKEN_RESPONSE_MAX_SECONDS);
	token_response_release(&r);
}

static void refresh_reply(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "\xef\xbb\xbf  {\"token_type\":\"Bearer\","
			       "\"scope\":\"https://api.partnercenter.microsoft"
			       ".com/user_impersonation\",\"expires_in\":4280,"
			       "\"access_token\":\"at\",\"refresh_token\":"
			       "\"0.AXEA-rt\",\"id_token\":\"x.y.z\"}\r\n",
			       &err), PL_OK);
	assert_string_equal(r.refresh_token.data, "0.AXEA-rt");
	assert_true(r.refresh_token.secret);
	assert_string_equal(r.scope, "https://api.partnercenter.microsoft.com/"
			    "user_impersonation");
	assert_int_equal(r.expires_in, 4280);
	token_response_release(&r);
}

static void aadsts_error(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"error\":\"invalid_grant\","
			       "\"error_description\":\"AADSTS700082: The "
			       "refresh token has expired due to inactivity."
			       "\\r\\nTrace ID: t\\r\\n\",\"error_codes\":"
			       "[700082, 50173],\"timestamp\":\"2026-01-01 "
			       "00:00:00Z\",\"trace_id\":\"5c3e-trace\","
			       "\"correlation_id\":\"9a1b-corr\",\"error_uri\":"
			       "\"https://login.microsoftonline.com/error?code="
			       "700082\"}", &err), PL_OK);
	assert_string_equal(r.error, "invalid_grant");
	assert_string_equal(r.error_description, "AADSTS700082: The refresh "
			    "token has expired due to inactivity.\r\nTrace "
			    "ID: t\r\n");
	assert_int_equal(r.n_error_codes, 2);
	assert_int_equal(r.error_codes[0], 700082);
	assert_true(token_response_has_code(&r, 50173));
	assert_false(token_response_has_code(&r, 65001));
	assert_string_equal(r.trace_id, "5c3e-trace");
	assert_string_equal(r.correlation_id, "9a1b-corr");
	assert_int_equal(r.access_token.len, 0);
	/* More codes than are kept: the first ones. */
	assert_int_equal(parse(&r, "{\"error_codes\":[1,2,3,4,5,6,7,8,9,10]}",
			       &err), PL_OK);
	assert_int_equal(r.n_error_codes, TOKEN_RESPONSE_MAX_CODES);
	assert_int_equal(r.error_codes[7], 8);
	token_response_release(&r);
}

static void device_code_reply(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"user_code\":\"FQK5HW3UF\","
			       "\"device_code\":\"DAQABAAEAAA-dc\","
			       "\"verification_uri\":\"https://microsoft.com/"
			       "devicelogin\",\"expires_in\":900,\"interval\":"
			       "5,\"message\":\"To sign in, use a web browser "
			       "to open the page https://microsoft.com/"
			       "devicelogin and enter the code FQK5HW3UF to "
			       "authenticate.\"}", &err), PL_OK);
	assert_string_equal(r.user_code, "FQK5HW3UF");
	assert_string_equal(r.device_code.data, "DAQABAAEAAA-dc");
	assert_true(r.device_code.secret);
	assert_string_equal(r.verification_uri,
			    "https://microsoft.com/devicelogin");
	assert_int_equal(r.expires_in, 900);
	assert_int_equal(r.interval, 5);
	assert_non_null(strstr(r.message, "FQK5HW3UF"));
	/* The v1 endpoint's spelling. */
	assert_int_equal(parse(&r, "{\"verification_url\":\"https://x/\","
			       "\"interval\":\"5\"}", &err), PL_OK);
	assert_string_equal(r.verification_uri, "https://x/");
	assert_int_equal(r.interval, 5);
	token_response_release(&r);
}

static void null_is_absent(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"access_token\":\"a\",\"refresh_token\":"
			       "null,\"expires_in\":null,\"error_codes\":null}",
			       &err), PL_OK);
	assert_int_equal(r.refresh_token.len, 0);
	assert_int_equal(r.expires_in, -1);
	token_response_release(&r);
}

struct refusal {
	const char *body;
	const char *msg;
};

static void refusals(void **state)
{
	static const struct refusal cases[] = {
		{"{\"access_token\":42}", "access_token is a number, not a "
		 "string"},
		{"{\"access_token\":[\"a\"]}", "access_token is an array, not "
		 "a string"},
		{"{\"refresh_token\":{}}", "refresh_token is an object, not a "
		 "string"},
		{"{\"token_type\":true}", "token_type is a boolean, not a "
		 "string"},
		{"{\"access_token\":\"a\\u0000b\"}", "access_token contains a "
		 "NUL character"},
		{"{\"expires_in\":-1}", "expires_in is negative"},
		{"{\"expires_in\":3599.5}", "expires_in is not a whole number "
		 "of seconds"},
		{"{\"expires_in\":\"\"}", "expires_in is an empty string"},
		{"{\"expires_in\":\"36O0\"}", "expires_in is a string that is "
		 "not a whole number of seconds"},
		{"{\"expires_in\":\"-5\"}", "expires_in is a string that is "
		 "not a whole number of seconds"},
		{"{\"expires_in\":\" 60\"}", "expires_in is a string that is "
		 "not a whole number of seconds"},
		{"{\"interval\":{}}", "interval is an object, not a number"},
		{"{\"error_codes\":700082}", "error_codes is a number, not an "
		 "array"},
		{"{\"error_codes\":[\"700082\"]}", "error_codes[0] is a "
		 "string, not an integer"},
		{"{\"error_codes\":[1,-2]}", "error_codes[1] is out of range"},
		{"{\"error\":null,\"error_description\":5}",
		 "error_description is a number, not a string"},
		{"[{\"access_token\":\"a\"}]", "the body is an array, not a "
		 "JSON object"},
		{"\"access_token\"", "the body is a string, not a JSON object"},
		{"null", "the body is null, not a JSON object"},
		{"", "empty body, not JSON"},
		{" \r\n", "empty body, not JSON"},
		{"{\"access_token\":\"a\"", "not JSON: unexpected end of "
		 "data at byte 19"},
		{"{\"access_token\":\"a\"}{}", "not JSON: unexpected character "
		 "at byte 20"},
	};
	struct token_response r;
	struct pl_err err;
	(void)state;

	token_response_init(&r);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(parse(&r, cases[i].body, &err), PL_EFORMAT);
		if(strcmp(err.msg, cases[i].msg))
			fail_msg("body %s: message '%s', expected '%s'",
				 cases[i].body, err.msg, cases[i].msg);
		/* Nothing is left behind by a refusal. */
		assert_int_equal(r.access_token.len, 0);
		assert_null(r.error);
	}
	token_response_release(&r);
}

/* JSON that only a lenient parser takes: comments, trailing commas,
 * single quotes. The platform never sends them. */
static void strict_json(void **state)
{
	static const char *const bodies[] = {
		"{\"access_token\":\"a\",}",
		"{\"access_token\":\"a\"} // c",
		"{'access_token':'a'}",
		"{\"access_token\":\"a\"\x01}",
		"{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]}",
	};
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	for(size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		if(parse(&r, bodies[i], &err) != PL_EFORMAT)
			fail_msg("accepted %s", bodies[i]);
		assert_true(!strncmp(err.msg, "not JSON: ", 10));
	}
	token_response_release(&r);
}

/* A second parse into the same struct replaces the first completely. */
static void reparse_replaces(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"access_token\":\"first\","
			       "\"scope\":\"s\",\"expires_in\":5}", &err),
			 PL_OK);
	assert_int_equal(parse(&r, "{\"error\":\"e\"}", &err), PL_OK);
	assert_int_equal(r.access_token.len, 0);
	assert_null(r.scope);
	assert_int_equal(r.expires_in, -1);
	assert_string_equal(r.error, "e");
	token_response_release(&r);
	token_response_release(&r); /* twice is fine */
}

/* Messages never quote a value: a token in the wrong place stays out. */
static void messages_quote_no_value(void **state)
{
	struct token_response r;
	struct pl_err err = {{0}};
	(void)state;

	token_response_init(&r);
	assert_int_equal(parse(&r, "{\"access_token\":\"SECRETTOKEN\","
			       "\"expires_in\":\"SECRETTOKEN\"}", &err),
			 PL_EFORMAT);
	assert_null(strstr(err.msg, "SECRETTOKEN"));
	assert_int_equal(parse(&r, "{\"x\":\"SECRETTOKEN\" junk", &err),
			 PL_EFORMAT);
	assert_null(strstr(err.msg, "SECRETTOKEN"));
	token_response_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v2_reply),
		cmocka_unit_test(v1_string_numbers),
		cmocka_unit_test(refresh_reply),
		cmocka_unit_test(aadsts_error),
		cmocka_unit_test(device_code_reply),
		cmocka_unit_test(null_is_absent),
		cmocka_unit_test(refusals),
		cmocka_unit_test(strict_json),
		cmocka_unit_test(reparse_replaces),
		cmocka_unit_test(messages_quote_no_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
