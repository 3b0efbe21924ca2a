#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guid.h"

#define CANON "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

static const uint8_t canon_bytes[16] = {
	0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78,
	0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1, 0xf0
};

/* Reason for a NUL-terminated value (NULL when accepted). */
static const char *check(const char *raw)
{
	return guid_canonicalize(raw, strlen(raw), NULL, NULL);
}

static void accepts_every_spelling(void **state)
{
	static const char *const spellings[] = {
		CANON,
		"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
		"0f1E2d3C-4b5A-6978-8796-a5B4c3D2e1F0",
		"{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}",
		"{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}",
		"  0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0  ",
		"\t{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}\r\n",
		" {0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0} ",
	};
	(void)state;

	for(size_t i = 0; i < sizeof(spellings) / sizeof(*spellings); i++) {
		char out[GUID_STR_LEN + 1];
		uint8_t bytes[16];

		memset(out, 'x', sizeof(out));
		memset(bytes, 0, sizeof(bytes));
		assert_null(guid_canonicalize(spellings[i],
					      strlen(spellings[i]), out,
					      bytes));
		assert_string_equal(out, CANON);
		assert_memory_equal(bytes, canon_bytes, 16);
	}
}

static void accepts_null_outputs(void **state)
{
	char out[GUID_STR_LEN + 1];
	uint8_t bytes[16];
	(void)state;

	assert_null(guid_canonicalize(CANON, strlen(CANON), out, NULL));
	assert_string_equal(out, CANON);
	assert_null(guid_canonicalize(CANON, strlen(CANON), NULL, bytes));
	assert_memory_equal(bytes, canon_bytes, 16);
}

static void uses_only_len_bytes(void **state)
{
	const char *s = CANON "trailing junk";
	char out[GUID_STR_LEN + 1];
	(void)state;

	assert_null(guid_canonicalize(s, GUID_STR_LEN, out, NULL));
	assert_string_equal(out, CANON);
	assert_string_equal(guid_canonicalize(s, GUID_STR_LEN + 1, NULL, NULL),
			    "not a GUID");
}

static void reasons(void **state)
{
	(void)state;

	assert_string_equal(check(""), "empty value");
	assert_string_equal(check("   "), "empty value");
	assert_string_equal(check(" \t\r\n"), "empty value");
	assert_string_equal(guid_canonicalize(NULL, 0, NULL, NULL),
			    "empty value");

	assert_string_equal(check("12345"), "not a GUID");
	assert_string_equal(check("Tenant"), "not a GUID");
	assert_string_equal(check("{}"), "not a GUID");
	/* 32 digits without dashes, dashes misplaced, one digit short or
	 * long, and a URN prefix are all the wrong shape. */
	assert_string_equal(check("0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
			    "not a GUID");
	assert_string_equal(check("0f1e2d3c4-b5a-6978-8796-a5b4c3d2e1f0"),
			    "not a GUID");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f"),
			    "not a GUID");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f00"),
			    "not a GUID");
	assert_string_equal(check("urn:uuid:" CANON), "not a GUID");
	assert_string_equal(check("{{" CANON "}}"), "not a GUID");

	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg"),
			    "bad character");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1 0"),
			    "bad character");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-+5b4c3d2e1f0"),
			    "bad character");
	assert_string_equal(check("0x1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"),
			    "bad character");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1\xc3\xa9"),
			    "bad character");

	assert_string_equal(check("{" CANON), "unbalanced braces");
	assert_string_equal(check(CANON "}"), "unbalanced braces");
	assert_string_equal(check("{"), "unbalanced braces");
	assert_string_equal(check("}"), "unbalanced braces");
	assert_string_equal(check("}" CANON "{"), "unbalanced braces");
}

static void rejects_injection(void **state)
{
	static const char with_nul[] = CANON "\0";
	static const char nul_inside[] =
		"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e\0f0";
	(void)state;

	assert_string_equal(check("../x"), "not a GUID");
	assert_string_equal(check("a?b=1"), "not a GUID");
	assert_string_equal(check("%2e%2e"), "not a GUID");
	assert_string_equal(check("%2e%2e%2f%2e%2e%2fetc%2fpasswd"),
			    "not a GUID");
	assert_string_equal(check(CANON "/../x"), "not a GUID");
	assert_string_equal(check(CANON "%00"), "not a GUID");
	assert_string_equal(check(CANON "?x=1"), "not a GUID");
	assert_string_equal(check(CANON "#"), "not a GUID");
	assert_string_equal(check("../../../../../../../../../../../x"),
			    "not a GUID");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2/../"),
			    "bad character");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3%2e%2e"),
			    "bad character");
	assert_string_equal(check("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1?x"),
			    "bad character");
	/* A trailing NUL byte is not white space. */
	assert_string_equal(guid_canonicalize(with_nul, sizeof(with_nul) - 1,
					      NULL, NULL),
			    "not a GUID");
	assert_string_equal(guid_canonicalize(nul_inside,
					      sizeof(nul_inside) - 1, NULL,
					      NULL),
			    "bad character");
	/* Spaces inside are not allowed anywhere. */
	assert_string_equal(check("0f1e2d3c -4b5a-6978-8796-a5b4c3d2e1f0"),
			    "not a GUID");
	assert_string_equal(check("{ " CANON " }"), "not a GUID");
}

static void formats(void **state)
{
	static const uint8_t edge[16] = {
		0x00, 0xff, 0x10, 0x01, 0xab, 0xcd, 0xef, 0x09,
		0x90, 0x0a, 0xa0, 0x5f, 0xf5, 0x00, 0x00, 0xff
	};
	char out[GUID_STR_LEN + 1];
	uint8_t back[16];
	(void)state;

	guid_format(canon_bytes, out);
	assert_string_equal(out, CANON);
	guid_format(edge, out);
	assert_string_equal(out, "00ff1001-abcd-ef09-900a-a05ff50000ff");
	assert_null(guid_canonicalize(out, strlen(out), NULL, back));
	assert_memory_equal(back, edge, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_every_spelling),
		cmocka_unit_test(accepts_null_outputs),
		cmocka_unit_test(uses_only_len_bytes),
		cmocka_unit_test(reasons),
		cmocka_unit_test(rejects_injection),
		cmocka_unit_test(formats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
