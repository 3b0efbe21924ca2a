/*
 * fuzz_customers_page.c: libFuzzer entry for a page of the customer list
 * (custpage.h). The input is a page body, read against two base URLs;
 * then, NUL-terminated, a next link for custpage_link(); then an error
 * body for custpage_error_code(). Whatever the bytes, a parsed page must
 * keep custpage.h's promises: every item a tenant or an invalid value
 * with a reason, a next path under /v1/customers that no byte can turn
 * into another request, header lines without CR or LF. Run on a scratch
 * copy of the seed corpus:
 *   fuzz_customers_page -max_total_time=60 /tmp/corpus \
 *       tests/fuzz/corpus_customers_page
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "custpage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const bases[] = {
	"https://api.partnercenter.microsoft.com",
	"http://127.0.0.1:8080/prefix/",
};

/* Abort (a finding) unless path is one the engine may send: under
 * /v1/customers, URL characters only, one slash between segments and no
 * dot segment in the path part. */
static void check_path(const char *path)
{
	size_t plen = strcspn(path, "?");

	if(strncasecmp(path, "/v1/customers", 13) ||
	   (path[13] && path[13] != '/' && path[13] != '?'))
		abort();
	for(const char *p = path; *p; p++)
		if((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		   *p == '#')
			abort();
	for(size_t i = 0; i < plen; i++) {
		size_t seg;

		if(path[i] != '/')
			continue;
		seg = strcspn(path + i + 1, "/?");
		if(seg == 0 && i + 1 < plen)
			abort();
		if((seg == 1 && path[i + 1] == '.') ||
		   (seg == 2 && path[i + 1] == '.' && path[i + 2] == '.'))
			abort();
	}
}

static void check_page(const struct custpage *pg)
{
	for(size_t i = 0; i < pg->nitems; i++) {
		const struct custpage_item *it = &pg->items[i];

		if(it->valid == !!it->reason)
			abort();
		if(!it->valid && (!it->value ||
				  it->value_len > CUSTPAGE_MAX_VALUE))
			abort();
	}
	if(!pg->has_next) {
		if(pg->next_path || pg->nnext_headers)
			abort();
		return;
	}
	check_path(pg->next_path);
	if(pg->nnext_headers > CUSTPAGE_MAX_HEADERS + 1)
		abort();
	for(size_t i = 0; i < pg->nnext_headers; i++) {
		const char *h = pg->next_headers[i];

		size_t name = strcspn(h, ":;");

		if(strchr(h, '\r') || strchr(h, '\n') || !h[name] ||
		   (name == 13 && !strncasecmp(h, "authorization", 13)) ||
		   (name == 4 && !strncasecmp(h, "host", 4)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct custpage pg;
	struct pl_err err;
	long long code;
	char *uri;

	for(size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		if(custpage_parse((const char *)data, size, bases[b], &pg,
				  &err) == PL_OK)
			check_page(&pg);
		custpage_release(&pg);
	}
	uri = malloc(size + 1);
	if(!uri)
		return 0;
	memcpy(uri, data, size);
	uri[size] = '\0';
	for(size_t b = 0; b < sizeof(bases) / sizeof(bases[0]); b++) {
		struct buf out = BUF_INIT;

		if(custpage_link(bases[b], uri, &out, &err) == PL_OK)
			check_path(out.data);
		else if(out.len)
			abort();
		buf_release(&out);
	}
	free(uri);
	custpage_error_code((const char *)data, size, &code);
	return 0;
}
