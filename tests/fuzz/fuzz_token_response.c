/*
 * fuzz_token_response.c: libFuzzer entry for the identity platform's
 * reply parser (token_response.h). Any input must give either PL_EFORMAT
 * with a message or a struct whose fields keep their invariants. Run on
 * a scratch copy of the seed corpus:
 *   fuzz_token_response -max_total_time=60 /tmp/corpus \
 *     tests/fuzz/corpus_token_response
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token_response.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_buf(const struct buf *b)
{
	if(!b->data || b->data[b->len] != '\0' || !b->secret ||
	   memchr(b->data, '\0', b->len))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_response r;
	struct pl_err err;
	enum pl_status st;

	token_response_init(&r);
	err.msg[0] = '\0';
	st = token_response_parse(&r, (const char *)data, size, &err);
	if(st == PL_OK) {
		check_buf(&r.access_token);
		check_buf(&r.refresh_token);
		check_buf(&r.device_code);
		if(r.expires_in < -1 ||
		   r.expires_in > TOKEN_RESPONSE_MAX_SECONDS ||
		   r.interval < -1 ||
		   r.interval > TOKEN_RESPONSE_MAX_SECONDS ||
		   r.n_error_codes > TOKEN_RESPONSE_MAX_CODES)
			abort();
		for(size_t i = 0; i < r.n_error_codes; i++)
			if(r.error_codes[i] < 0)
				abort();
	} else if(st == PL_EFORMAT) {
		/* A refusal leaves nothing behind and says why. */
		if(!err.msg[0] || r.access_token.len || r.refresh_token.len ||
		   r.error || r.token_type)
			abort();
	} else if(st != PL_ENOMEM) {
		abort();
	}
	token_response_release(&r);
	return 0;
}
