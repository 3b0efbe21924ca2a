#include "guid.h"

#include <stdbool.h>

/*
 * Hand-written rather than uuid_parse(): libuuid wants a NUL-terminated
 * string of exactly 36 chars, while cells come as (pointer, length) and may
 * hold NUL bytes, and the reject reasons below need to say what is wrong.
 */

static bool is_ascii_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

/* Value of a hex digit, or -1. */
static int hex_value(unsigned char c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

const char *guid_canonicalize(const char *raw, size_t len,
			      char out[GUID_STR_LEN + 1], uint8_t bytes[16])
{
	const unsigned char *s = (const unsigned char *)raw;
	uint8_t b[16];
	size_t n = 0;

	while(len > 0 && is_ascii_space(s[0])) {
		s++;
		len--;
	}
	while(len > 0 && is_ascii_space(s[len - 1]))
		len--;
	if(len == 0)
		return "empty value";
	if(s[0] == '{' || s[0] == '}' || s[len - 1] == '{' ||
	   s[len - 1] == '}') {
		if(len < 2 || s[0] != '{' || s[len - 1] != '}')
			return "unbalanced braces";
		s++;
		len -= 2;
	}
	if(len != GUID_STR_LEN)
		return "not a GUID";
	if(s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-')
		return "not a GUID";
	for(size_t i = 0; i < GUID_STR_LEN; i += 2) {
		int hi, lo;

		if(i == 8 || i == 13 || i == 18 || i == 23)
			i++;
		hi = hex_value(s[i]);
		lo = hex_value(s[i + 1]);
		if(hi < 0 || lo < 0)
			return "bad character";
		b[n++] = (uint8_t)(hi << 4 | lo);
	}
	if(bytes) {
		for(size_t i = 0; i < 16; i++)
			bytes[i] = b[i];
	}
	if(out)
		guid_format(b, out);
	return NULL;
}

void guid_format(const uint8_t bytes[16], char out[GUID_STR_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	char *o = out;

	for(size_t i = 0; i < 16; i++) {
		if(i == 4 || i == 6 || i == 8 || i == 10)
			*o++ = '-';
		*o++ = digits[bytes[i] >> 4];
		*o++ = digits[bytes[i] & 0xf];
	}
	*o = '\0';
}
