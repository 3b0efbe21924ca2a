/*
 * fuzz_norm.c: libFuzzer entry for the JSON normalizer. The input is a
 * response body as 200, 404 and 503, an API error body, and (NUL-
 * terminated) a date. Run on a scratch copy of the seed corpus:
 *   fuzz_norm -max_total_time=60 /tmp/corpus tests/fuzz/corpus_norm
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "norm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort (a finding) unless rec has the one shape every answer has. */
static void check(const struct tenant_record *rec)
{
	if(rec->nrows < 1)
		abort();
	/* NotFound and Error: exactly one row, with its status. */
	if(rec->outcome != OUTCOME_ANSWERED &&
	   (rec->nrows != 1 || !rec->rows[0].vetting_status ||
	    rec->rows[0].qualification))
		abort();
	if(rec->outcome == OUTCOME_FAILED && !rec->error)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = { 200, 404, 503 };
	const char *body = (const char *)data;
	struct tenant_record rec;
	char date[64];
	char *text, *z;

	for(size_t i = 0; i < sizeof(statuses) / sizeof(*statuses); i++) {
		tenant_record_init(&rec);
		if(norm_answer(statuses[i], body, size, &rec, NULL) == PL_OK)
			check(&rec);
		tenant_record_release(&rec);
	}
	norm_api_error(body, size, &text, NULL); /* text NULL on failure */
	if(text && strlen(text) > 1024)
		abort();
	free(text);
	z = malloc(size + 1);
	if(!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	norm_date(z, date, sizeof(date));
	if(strlen(date) >= sizeof(date))
		abort();
	free(z);
	return 0;
}
