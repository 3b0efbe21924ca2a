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
#include "record_shape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
			check_record_shape(&rec);
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
