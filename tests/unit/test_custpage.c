/*
 * test_custpage.c: a page of GET /v1/customers (custpage.h): the items
 * (id, the tenantId fallback, every kind of invalid item with its
 * reason), the next link's rule as a table (with and without /v1, never
 * /v1//v1/, absolute links on and off the base's host, the base's path
 * prefix, dots, encoding), the headers sent with it (token, reserved
 * ones dropped, control characters refused), the top-level
 * continuationToken, tolerant JSON (BOM, trailing commas, comments) and
 * what is no page at all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "custpage.h"
#include "guid.h"

#define BASE "https://api.partnercenter.microsoft.com"
#define T1 "b44bb1fb-c595-45b0-9e09-d657365580bf"
#define T2 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static enum pl_status parse(const char *body, struct custpage *pg,
			    struct pl_err *err)
{
	return custpage_parse(body, strlen(body), BASE, pg, err);
}

static void tenant_is(const struct custpage_item *it, const char *want)
{
	char got[GUID_STR_LEN + 1];

	assert_true(it->valid);
	guid_format(it->id, got);
	assert_string_equal(got, want);
}

/* The documentation's example page, verbatim in shape. */
static void doc_example(void **state)
{
	static const char body[] =
		"{\"totalCount\": 2,\n"
		" \"items\": [{\"id\": \"" T1 "\",\n"
		"   \"companyProfile\": {\"tenantId\": \"" T1 "\",\n"
		"     \"domain\": \"contoso.onmicrosoft.com\",\n"
		"     \"companyName\": \"Contoso\",\n"
		"     \"attributes\": {\"objectType\": "
		"\"CustomerCompanyProfile\"}},\n"
		"   \"relationshipToPartner\": \"reseller\",\n"
		"   \"attributes\": {\"objectType\": \"Customer\"}},\n"
		"  {\"id\": \"" T2 "\", \"companyProfile\": {\"companyName\": "
		"\"Fabrikam\"}}],\n"
		" \"links\": {\"self\": {\"uri\": \"/v1/customers?size=40\", "
		"\"method\": \"GET\", \"headers\": []}},\n"
		" \"attributes\": {\"objectType\": \"Collection\"}}";
	struct custpage pg;
	struct pl_err err;

	(void)state;
	assert_int_equal(parse(body, &pg, &err), PL_OK);
	assert_int_equal(pg.nitems, 2);
	assert_int_equal(pg.total_count, 2);
	tenant_is(&pg.items[0], T1);
	assert_string_equal(pg.items[0].name, "Contoso");
	assert_string_equal(pg.items[0].domain, "contoso.onmicrosoft.com");
	assert_string_equal(pg.items[0].relationship, "reseller");
	tenant_is(&pg.items[1], T2);
	assert_string_equal(pg.items[1].name, "Fabrikam");
	assert_null(pg.items[1].domain);
	assert_null(pg.items[1].relationship);
	assert_false(pg.has_next);
	custpage_release(&pg);
	custpage_release(&pg); /* twice is harmless */
}

/* Every way an item fails to name a tenant, and the fallback. */
static void items(void **state)
{
	static const char body[] =
		"{\"items\": ["
		"{\"companyProfile\": {\"tenantId\": \"{" T1 "}\"}},"  /* 0 */
		"{\"id\": null, \"companyProfile\": "
		"{\"tenantId\": \"" T2 "\"}},"                         /* 1 */
		"{\"id\": \"not-a-guid\"},"                            /* 2 */
		"{\"id\": 12345},"                                     /* 3 */
		"{\"companyProfile\": {\"companyName\": \"X\"}},"      /* 4 */
		"[1, 2],"                                              /* 5 */
		"\"" T1 "\","                                          /* 6 */
		"{\"ID\": \"" T2 "\", \"CompanyProfile\": "
		"{\"CompanyName\": 7, \"Domain\": \"d.example\"}},"    /* 7 */
		"{\"id\": \"" T1 "\", \"companyProfile\": "
		"{\"tenantId\": \"" T2 "\"}}"                          /* 8 */
		"]}";
	struct custpage pg;
	struct pl_err err;

	(void)state;
	assert_int_equal(parse(body, &pg, &err), PL_OK);
	assert_int_equal(pg.nitems, 9);
	assert_int_equal(pg.total_count, -1);
	tenant_is(&pg.items[0], T1);
	tenant_is(&pg.items[1], T2);
	assert_false(pg.items[2].valid);
	assert_string_equal(pg.items[2].reason, "not a GUID");
	assert_int_equal(pg.items[2].value_len, 10);
	assert_memory_equal(pg.items[2].value, "not-a-guid", 10);
	assert_false(pg.items[3].valid);
	assert_string_equal(pg.items[3].reason, "not a GUID");
	assert_memory_equal(pg.items[3].value, "12345", 5);
	assert_false(pg.items[4].valid);
	assert_string_equal(pg.items[4].reason, "no id");
	assert_int_equal(pg.items[4].value_len, 0);
	assert_string_equal(pg.items[4].name, "X");
	assert_false(pg.items[5].valid);
	assert_string_equal(pg.items[5].reason, "not an object");
	assert_memory_equal(pg.items[5].value, "[1,2]", 5);
	assert_false(pg.items[6].valid);
	assert_string_equal(pg.items[6].reason, "not an object");
	/* keys ignore case; a name that is not a string is no name */
	tenant_is(&pg.items[7], T2);
	assert_null(pg.items[7].name);
	assert_string_equal(pg.items[7].domain, "d.example");
	/* id wins over companyProfile.tenantId */
	tenant_is(&pg.items[8], T1);
	custpage_release(&pg);
}

/* An invalid value is kept up to CUSTPAGE_MAX_VALUE, whole characters. */
static void long_value(void **state)
{
	static char body[4 * CUSTPAGE_MAX_VALUE];
	struct custpage pg;
	struct pl_err err;
	size_t n;

	(void)state;
	n = (size_t)snprintf(body, sizeof(body), "{\"items\":[{\"id\":\"x");
	/* "é" (2 bytes) from byte 1 on: the cut falls inside one */
	for(size_t i = 0; i < CUSTPAGE_MAX_VALUE; i++)
		n += (size_t)snprintf(body + n, sizeof(body) - n, "\xc3\xa9");
	snprintf(body + n, sizeof(body) - n, "\"}]}");
	assert_int_equal(parse(body, &pg, &err), PL_OK);
	assert_false(pg.items[0].valid);
	assert_int_equal(pg.items[0].value_len, CUSTPAGE_MAX_VALUE - 1);
	custpage_release(&pg);
}

/* The next link, its headers, and the top-level continuationToken. */
static void next_link(void **state)
{
	static const char body[] =
		"\xef\xbb\xbf{\"items\": [],\n"
		" \"links\": {\"next\": {\"uri\": "
		"\"/customers?size=500&seekOperation=Next\",\n"
		"   \"method\": \"GET\",\n"
		"   \"headers\": [{\"key\": \"MS-ContinuationToken\", "
		"\"value\": \" tok+/=1 \"},\n"
		"     {\"key\": \"Authorization\", \"value\": \"Bearer x\"},\n"
		"     {\"key\": \"host\", \"value\": \"evil\"},\n"
		"     {\"key\": \"X-Empty\", \"value\": \"\"},\n"
		"     {\"key\": \"X-NoValue\"},]}},\n"
		" // a comment\n"
		" \"continuationToken\": \"other\",}";
	struct custpage pg;
	struct pl_err err;

	(void)state;
	assert_int_equal(parse(body, &pg, &err), PL_OK);
	assert_int_equal(pg.nitems, 0);
	assert_true(pg.has_next);
	assert_string_equal(pg.next_path,
			    "/v1/customers?size=500&seekOperation=Next");
	assert_int_equal(pg.nnext_headers, 3);
	assert_string_equal(pg.next_headers[0],
			    "MS-ContinuationToken: tok+/=1");
	assert_string_equal(pg.next_headers[1], "X-Empty;");
	assert_string_equal(pg.next_headers[2], "X-NoValue;");
	assert_int_equal(pg.dropped_headers, 2);
	custpage_release(&pg);
}

static void top_level_token(void **state)
{
	static const char with_next[] =
		"{\"items\":[],\"continuationToken\":\"ct-9\","
		"\"links\":{\"next\":{\"uri\":\"customers?seekOperation=Next\"}}}";
	static const char alone[] =
		"{\"items\":[],\"continuationToken\":\"ct-9\"}";
	struct custpage pg;
	struct pl_err err;

	(void)state;
	assert_int_equal(parse(with_next, &pg, &err), PL_OK);
	assert_true(pg.has_next);
	assert_string_equal(pg.next_path,
			    "/v1/customers?seekOperation=Next");
	assert_int_equal(pg.nnext_headers, 1);
	assert_string_equal(pg.next_headers[0], "MS-ContinuationToken: ct-9");
	custpage_release(&pg);
	/* a token without links.next does not continue the list (SDK) */
	assert_int_equal(parse(alone, &pg, &err), PL_OK);
	assert_false(pg.has_next);
	custpage_release(&pg);
}

/* Bodies that are no page: PL_EFORMAT when not JSON, else PL_EINPUT,
 * with the reason. */
static void not_a_page(void **state)
{
	static const struct {
		const char *body;
		const char *why;
	} cases[] = {
		{"", "unexpected body: empty"},
		{"{\"items\": [", "truncated JSON"},
		{"[]", "not a JSON object but array"},
		{"null", "not a JSON object but null"},
		{"{\"items\": {}}", "items is not an array"},
		{"{\"items\": [], \"links\": {\"next\": 1}}",
		 "links.next is not an object"},
		{"{\"items\": [], \"links\": {\"next\": {}}}",
		 "links.next has no uri"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": \"/x\", "
		 "\"method\": \"POST\"}}}",
		 "links.next asks for method POST, not GET"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": "
		 "\"/customers\", \"headers\": {}}}}",
		 "links.next.headers is not an array"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": "
		 "\"/customers\", \"headers\": [{\"value\": \"v\"}]}}}",
		 "links.next.headers[0] is not {\"key\": string, \"value\": "
		 "string}"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": "
		 "\"/customers\", \"headers\": [{\"key\": \"A B\", "
		 "\"value\": \"v\"}]}}}",
		 "next link header name 'A B' is not an HTTP token"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": "
		 "\"/customers\", \"headers\": [{\"key\": \"X\", "
		 "\"value\": \"a\\r\\nHost: evil\"}]}}}",
		 "next link header X has a control character"},
		{"{\"items\": [], \"links\": {\"next\": {\"uri\": "
		 "\"https://evil.example/v1/customers\"}}}",
		 "next link 'https://evil.example/v1/customers' points to "
		 "another host than " BASE ": refused"},
	};
	struct custpage pg;
	struct pl_err err;

	(void)state;
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(parse(cases[i].body, &pg, &err),
				 i < 2 ? PL_EFORMAT : PL_EINPUT);
		if(strcmp(err.msg, cases[i].why))
			fail_msg("case %zu: got '%s', want '%s'", i, err.msg,
				 cases[i].why);
		assert_null(pg.items);
		assert_false(pg.has_next);
	}
}

/* An absent or null items is an empty page. */
static void empty_pages(void **state)
{
	static const char *const bodies[] = {
		"{}", "{\"items\": null}", "{\"items\": [], \"totalCount\": 0}",
		"{\"totalCount\": 0}"
	};
	struct custpage pg;
	struct pl_err err;

	(void)state;
	for(size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(bodies[i], &pg, &err), PL_OK);
		assert_int_equal(pg.nitems, 0);
		assert_false(pg.has_next);
		custpage_release(&pg);
	}
}

/* The next link's rule; want NULL: refused with why. */
static const struct {
	const char *base;
	const char *uri;
	const char *want;
	const char *why;
} links[] = {
	{BASE, "/v1/customers?size=500&seekOperation=Next",
	 "/v1/customers?size=500&seekOperation=Next", NULL},
	{BASE, "/customers?size=500&seekOperation=Next",
	 "/v1/customers?size=500&seekOperation=Next", NULL},
	{BASE, "customers?size=500", "/v1/customers?size=500", NULL},
	{BASE, "v1/customers?size=500", "/v1/customers?size=500", NULL},
	{BASE, "/v1//v1/customers?x=1", NULL,
	 "next link '/v1//v1/customers?x=1' leaves /v1/customers"},
	{BASE, "//v1/customers", NULL,
	 "next link '//v1/customers' points to another host than " BASE
	 ": refused"},
	{BASE, "/v1//customers", "/v1/customers", NULL},
	{BASE, "///customers", NULL,
	 "next link '///customers' is not an http(s) URL"},
	{BASE, "/V1/Customers?a=b", "/V1/Customers?a=b", NULL},
	{BASE, "/v1/customers/", "/v1/customers", NULL},
	{BASE, "/v1/customers/x/y", "/v1/customers/x/y", NULL},
	{BASE, "?seekOperation=Next", "/v1/customers?seekOperation=Next",
	 NULL},
	{BASE, "/customers#frag?x", "/v1/customers", NULL},
	{BASE, "/customers?q=a b\xc3\xa9%2F%zz",
	 "/v1/customers?q=a%20b%C3%A9%2F%25zz", NULL},
	{BASE, "https://api.partnercenter.microsoft.com/v1/customers?s=1",
	 "/v1/customers?s=1", NULL},
	{BASE, "HTTPS://API.PartnerCenter.Microsoft.com:443/customers",
	 "/v1/customers", NULL},
	{BASE, "//api.partnercenter.microsoft.com/customers?s=2",
	 "/v1/customers?s=2", NULL},
	{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/customers?a",
	 "/v1/customers?a", NULL},
	{"http://127.0.0.1:8080/", "/customers", "/v1/customers", NULL},
	{"http://127.0.0.1:8080", "http://127.0.0.1:8081/v1/customers", NULL,
	 "next link 'http://127.0.0.1:8081/v1/customers' points to another "
	 "host than http://127.0.0.1:8080: refused"},
	{"http://127.0.0.1:8080", "https://127.0.0.1:8080/v1/customers", NULL,
	 "next link 'https://127.0.0.1:8080/v1/customers' points to another "
	 "host than http://127.0.0.1:8080: refused"},
	{BASE, "https://user@api.partnercenter.microsoft.com/v1/customers",
	 NULL, "next link 'https://user@api.partnercenter.microsoft.com/v1/"
	 "customers' points to another host than " BASE ": refused"},
	{BASE, "ftp://api.partnercenter.microsoft.com/v1/customers", NULL,
	 "next link 'ftp://api.partnercenter.microsoft.com/v1/customers' is "
	 "not an http(s) URL"},
	{BASE, "javascript:alert(1)", NULL,
	 "next link 'javascript:alert(1)' is not an http(s) URL"},
	{"https://gw.example/pc", "/customers?x", "/v1/customers?x", NULL},
	{"https://gw.example/pc/", "https://gw.example/pc/v1/customers?x",
	 "/v1/customers?x", NULL},
	{"https://gw.example/pc", "https://gw.example/v1/customers",
	 "/v1/customers", NULL},
	{BASE, "/v1/customers/../admin", NULL,
	 "next link '/v1/customers/../admin' has a dot segment"},
	{BASE, "/v1/./customers", NULL,
	 "next link '/v1/./customers' has a dot segment"},
	{BASE, "/v1/%2E%2e/x", NULL,
	 "next link '/v1/%2E%2e/x' has a dot segment"},
	{BASE, "/v1/admin", NULL, "next link '/v1/admin' leaves /v1/customers"},
	{BASE, "/v1/customersx", NULL,
	 "next link '/v1/customersx' leaves /v1/customers"},
	{BASE, "", NULL, "next link is empty"},
	{BASE, "/customers\r\nHost: x", NULL,
	 "next link has a control character"},
	{BASE, "https://[::1]:443/v1/customers", NULL,
	 "next link 'https://[::1]:443/v1/customers' points to another host "
	 "than " BASE ": refused"},
	{"https://[::1]:8443", "https://[::1]:8443/customers", "/v1/customers",
	 NULL},
	{BASE, "https://api.partnercenter.microsoft.com:99999/v1/customers",
	 NULL, "next link 'https://api.partnercenter.microsoft.com:99999/v1/"
	 "customers' is not an http(s) URL"},
};

static void link_rule(void **state)
{
	(void)state;
	for(size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		struct buf out = BUF_INIT;
		struct pl_err err;
		enum pl_status st;

		memset(&err, 0, sizeof(err));
		buf_addstr(&out, "kept:");
		st = custpage_link(links[i].base, links[i].uri, &out, &err);
		if(links[i].want) {
			if(st)
				fail_msg("case %zu (%s): refused: %s", i,
					 links[i].uri, err.msg);
			assert_string_equal(out.data + 5, links[i].want);
		} else {
			if(st != PL_EFORMAT)
				fail_msg("case %zu (%s): got %s, not refused",
					 i, links[i].uri, out.data);
			assert_string_equal(err.msg, links[i].why);
			assert_string_equal(out.data, "kept:");
		}
		buf_release(&out);
	}
}

static void too_long(void **state)
{
	static char uri[CUSTPAGE_MAX_LINK + 2];
	struct buf out = BUF_INIT;
	struct pl_err err;

	(void)state;
	memset(uri, 'a', sizeof(uri) - 1);
	uri[0] = '/';
	assert_int_equal(custpage_link(BASE, uri, &out, &err), PL_EFORMAT);
	assert_string_equal(err.msg, "next link is longer than 8192 bytes");
	buf_release(&out);
}

static void error_codes(void **state)
{
	long long code = 0;

	(void)state;
	assert_true(custpage_error_code("{\"code\":2000,\"description\":\"x\"}",
					31, &code));
	assert_int_equal(code, 2000);
	assert_true(custpage_error_code("\xef\xbb\xbf{\"Code\":\"2000\"}", 18,
					&code));
	assert_int_equal(code, 2000);
	assert_false(custpage_error_code("{\"code\":\"x20\"}", 14, &code));
	assert_false(custpage_error_code("{\"statusCode\":429}", 18, &code));
	assert_false(custpage_error_code("oops", 4, &code));
	assert_false(custpage_error_code(NULL, 0, &code));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doc_example),
		cmocka_unit_test(items),
		cmocka_unit_test(long_value),
		cmocka_unit_test(next_link),
		cmocka_unit_test(top_level_token),
		cmocka_unit_test(not_a_page),
		cmocka_unit_test(empty_pages),
		cmocka_unit_test(link_rule),
		cmocka_unit_test(too_long),
		cmocka_unit_test(error_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
