#include "report_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/*
 * The length of the well-formed UTF-8 sequence (2..4 bytes) starting with
 * the non-ASCII byte s[0], or 0 with *bad set to the length of its
 * maximal ill-formed subpart (Unicode 15, section 3.9, table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xBF;
	size_t need, i;

	if(c >= 0xC2 && c <= 0xDF) {
		need = 1;
	} else if(c >= 0xE0 && c <= 0xEF) {
		need = 2;
		if(c == 0xE0)
			lo = 0xA0;
		else if(c == 0xED)
			hi = 0x9F;
	} else if(c >= 0xF0 && c <= 0xF4) {
		need = 3;
		if(c == 0xF0)
			lo = 0x90;
		else if(c == 0xF4)
			hi = 0x8F;
	} else {
		*bad = 1;
		return 0;
	}
	for(i = 1; i <= need && i < n; i++) {
		if(s[i] < lo || s[i] > hi)
			break;
		lo = 0x80;
		hi = 0xBF;
	}
	if(i > need)
		return need + 1;
	*bad = i;
	return 0;
}

/*
 * Append s[0..n) with ill-formed UTF-8 replaced; with json set, also
 * escape what a JSON string cannot hold raw.
 */
static enum pl_status add_text(struct buf *b, const char *str, size_t n,
			       int json)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0; /* start of the pending verbatim run */
	size_t i = 0;

	while(i < n) {
		unsigned char c = s[i];
		char esc[8];
		const char *out = NULL;
		size_t outlen = 0, skip = 1;

		if(c >= 0x80) {
			size_t len = utf8_seq(s + i, n - i, &skip);

			if(len) {
				i += len;
				continue;
			}
			out = replacement;
			outlen = 3;
		} else if(json && (c < 0x20 || c == '"' || c == '\\')) {
			switch(c) {
			case '"': out = "\\\""; break;
			case '\\': out = "\\\\"; break;
			case '\b': out = "\\b"; break;
			case '\f': out = "\\f"; break;
			case '\n': out = "\\n"; break;
			case '\r': out = "\\r"; break;
			case '\t': out = "\\t"; break;
			default:
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				out = esc;
				break;
			}
			outlen = strlen(out);
		} else {
			i++;
			continue;
		}
		if(buf_add(b, s + run, i - run) || buf_add(b, out, outlen))
			return PL_ENOMEM;
		i += skip;
		run = i;
	}
	return buf_add(b, s + run, n - run);
}

enum pl_status report_json_string(struct buf *b, const char *s, size_t n)
{
	if(buf_addch(b, '"') || add_text(b, s, n, 1))
		return PL_ENOMEM;
	return buf_add(b, "\"", 1);
}

enum pl_status report_utf8_add(struct buf *b, const char *s, size_t n)
{
	return add_text(b, s, n, 0);
}

char *report_utf8_dup(const char *s)
{
	struct buf b = BUF_INIT;
	char *dup;

	if(add_text(&b, s, strlen(s), 0)) {
		buf_release(&b);
		return NULL;
	}
	dup = buf_detach(&b, NULL);
	buf_release(&b);
	return dup;
}

/* "key": then a string, or null for NULL and "". */
static enum pl_status member(struct buf *b, const char *key, const char *s)
{
	if(buf_addstr(b, key))
		return PL_ENOMEM;
	if(!s || !*s)
		return buf_add(b, "null", 4);
	return report_json_string(b, s, strlen(s));
}

enum pl_status report_ndjson_detail_rows(struct buf *b,
			      const struct tenant_record *rec)
{
	char nums[80];

	snprintf(nums, sizeof(nums), ",\"http_status\":%ld,\"attempts\":%u",
		 rec->http_status, rec->attempts);
	for(size_t i = 0; i < rec->nrows; i++) {
		const struct qual_row *row = &rec->rows[i];

		if(member(b, "{\"tenant_id\":", rec->tenant_id) ||
		   member(b, ",\"qualification\":", row->qualification) ||
		   member(b, ",\"vetting_status\":", row->vetting_status) ||
		   member(b, ",\"vetting_reason\":", row->vetting_reason) ||
		   member(b, ",\"vetting_created_date\":",
			  row->vetting_created_date) ||
		   buf_addstr(b, nums) ||
		   member(b, ",\"error\":", rec->error) ||
		   member(b, ",\"request_id\":", rec->request_id) ||
		   buf_add(b, "}\n", 2))
			return PL_ENOMEM;
	}
	return PL_OK;
}

enum pl_status report_ndjson_summary_row(struct buf *b, const char *qualification,
			      const char *vetting_status, unsigned long count)
{
	char num[40];

	snprintf(num, sizeof(num), ",\"count\":%lu}\n", count);
	if(member(b, "{\"qualification\":", qualification) ||
	   member(b, ",\"vetting_status\":", vetting_status) ||
	   buf_addstr(b, num))
		return PL_ENOMEM;
	return PL_OK;
}

enum pl_status report_ndjson_table_row(struct buf *b,
			   const struct report_column *cols, size_t ncols,
			   const char *const *values)
{
	for(size_t i = 0; i < ncols; i++)
		if(buf_addstr(b, i ? ",\"" : "{\"") ||
		   add_text(b, cols[i].name, strlen(cols[i].name), 1) ||
		   member(b, "\":", values[i]))
			return PL_ENOMEM;
	return buf_add(b, "}\n", 2);
}
