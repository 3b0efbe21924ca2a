/*
 * test_url_check.c: the one rule for --base-url and --authority
 * (url_check.h), as a table of URLs and the exact message each gets,
 * checked under both option names: one loopback rule, ports 1..65535,
 * no userinfo, query or fragment.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "url_check.h"

/* why == NULL: accepted; else the message after "OPTION 'URL': ". */
static const struct {
	const char *url;
	const char *why;
} cases[] = {
	{"https://api.partnercenter.microsoft.com", NULL},
	{"https://api.partnercenter.microsoft.com/", NULL},
	{"HTTPS://example.com:8443/prefix", NULL},
	{"https://login.microsoftonline.com/", NULL},
	{"https://host:1", NULL},
	{"https://host:65535/x", NULL},
	{"https://host:00443", NULL},
	{"https://[2001:db8::1]:443/", NULL},
	{"http://127.0.0.1:8080", NULL},
	{"http://127.1.2.3/", NULL},
	{"http://127.255.255.255", NULL},
	{"http://localhost", NULL},
	{"http://LOCALHOST:99/x", NULL},
	{"http://localhost.:8080", NULL},
	{"http://[::1]:8080/", NULL},
	{"http://[::1]", NULL},
	{"http://[0:0:0:0:0:0:0:1]:9", NULL},

	{"http://example.com",
	 "refusing plain http:// to non-loopback host 'example.com': "
	 "use https://"},
	{"http://example.com:80/",
	 "refusing plain http:// to non-loopback host 'example.com': "
	 "use https://"},
	{"http://10.0.0.1:8080",
	 "refusing plain http:// to non-loopback host '10.0.0.1': "
	 "use https://"},
	{"http://128.0.0.1",
	 "refusing plain http:// to non-loopback host '128.0.0.1': "
	 "use https://"},
	{"http://127.0.0.1.nip.io",
	 "refusing plain http:// to non-loopback host '127.0.0.1.nip.io': "
	 "use https://"},
	{"http://[::2]:80",
	 "refusing plain http:// to non-loopback host '::2': use https://"},
	{"http://[::ffff:127.0.0.1]",
	 "refusing plain http:// to non-loopback host '::ffff:127.0.0.1': "
	 "use https://"},
	{"http://localhost.example.com",
	 "refusing plain http:// to non-loopback host "
	 "'localhost.example.com': use https://"},
	{"http://localhost..",
	 "refusing plain http:// to non-loopback host 'localhost..': "
	 "use https://"},
	{"ftp://127.0.0.1", "unsupported scheme: use https://"},
	{"file:///etc/passwd", "unsupported scheme: use https://"},
	{"127.0.0.1:8080", "unsupported scheme: use https://"},
	{"https://", "no valid host"},
	{"https:///path", "no valid host"},
	{"https://:443", "no valid host"},
	{"http://[::1", "invalid host"},
	{"http://[]:80", "no valid host"},
	{"https://[example.com]", "invalid host"},
	{"http://127.0.0.1:99999", "invalid port: want a number from 1 to 65535"},
	{"http://127.0.0.1:65536", "invalid port: want a number from 1 to 65535"},
	{"https://host:0", "invalid port: want a number from 1 to 65535"},
	{"https://host:000", "invalid port: want a number from 1 to 65535"},
	{"https://host:99999999999999999999999",
	 "invalid port: want a number from 1 to 65535"},
	{"https://host:", "invalid port: want a number from 1 to 65535"},
	{"https://host:80x", "invalid port: want a number from 1 to 65535"},
	{"https://host:-1", "invalid port: want a number from 1 to 65535"},
	{"http://[::1]x:80", "invalid port: want a number from 1 to 65535"},
	{"https://user:pw@host", "must not carry credentials"},
	{"https://user@host/x", "must not carry credentials"},
	{"https://host/?q=1", "must not have a query or fragment"},
	{"https://host/#frag", "must not have a query or fragment"},
	{"https://host?x", "must not have a query or fragment"},
	{"https://ho st", "invalid character (space, control or non-ASCII)"},
	{"https://host/\tx", "invalid character (space, control or non-ASCII)"},
	{"https://h\xc3\xb6st", "invalid character (space, control or "
				"non-ASCII)"},
};

static const char *const options[] = {"--base-url", "--authority"};

static void table(void **state)
{
	(void)state;
	for(size_t o = 0; o < sizeof(options) / sizeof(options[0]); o++) {
		for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct pl_err err = {"untouched"};
			char want[PL_ERR_MAX];
			enum pl_status st;

			st = url_check(cases[i].url, options[o], &err);
			if(!cases[i].why) {
				if(st != PL_OK)
					fail_msg("%s %s refused: %s",
						 options[o], cases[i].url,
						 err.msg);
				assert_string_equal(err.msg, "untouched");
				continue;
			}
			snprintf(want, sizeof(want), "%s '%s': %s", options[o],
				 cases[i].url, cases[i].why);
			assert_int_equal(st, PL_EUSAGE);
			assert_string_equal(err.msg, want);
		}
	}
}

static void empty(void **state)
{
	struct pl_err err;

	(void)state;
	assert_int_equal(url_check(NULL, "--base-url", &err), PL_EUSAGE);
	assert_string_equal(err.msg, "--base-url: empty URL");
	assert_int_equal(url_check("", "--authority", &err), PL_EUSAGE);
	assert_string_equal(err.msg, "--authority: empty URL");
	/* err may be NULL: only the status */
	assert_int_equal(url_check("http://example.com", "--base-url", NULL),
			 PL_EUSAGE);
}

static void loopback(void **state)
{
	(void)state;
	assert_true(url_check_is_loopback("127.0.0.1"));
	assert_true(url_check_is_loopback("127.200.1.9"));
	assert_true(url_check_is_loopback("::1"));
	assert_true(url_check_is_loopback("localhost"));
	assert_true(url_check_is_loopback("Localhost."));
	assert_false(url_check_is_loopback("[::1]"));
	assert_false(url_check_is_loopback("126.0.0.1"));
	assert_false(url_check_is_loopback("127.1"));
	assert_false(url_check_is_loopback("localhost.localdomain"));
	assert_false(url_check_is_loopback(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table),
		cmocka_unit_test(empty),
		cmocka_unit_test(loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
