/*
 * token_response.h: the one parser of the identity platform's JSON
 * replies — token replies (v1 and v2, every grant), error replies and the
 * device-code reply.
 *
 * Strict about types: a field that is present must have its type
 * (strings are strings, error_codes an array of integers), or the whole
 * reply is refused with PL_EFORMAT naming the field; a JSON null counts
 * as absent. Tolerant where the platform itself varies: expires_in and
 * interval may be a non-negative integer (v2) or a string of digits (v1,
 * "3600"); fields it does not know are ignored; a UTF-8 BOM and
 * surrounding white space are skipped. The body must be exactly one JSON
 * object (RFC 8259, no comments or trailing commas).
 *
 * Secrets: access_token, refresh_token and device_code are copied into
 * secret buffers (buf_init_secret, wiped when released), and every
 * top-level string of the parsed tree is wiped before the tree is freed.
 * json-c's scratch buffer grows by realloc inside json-c, out of our
 * reach: that copy is best effort (core dumps are off in qualreport).
 * The other strings are not secret but come from a server: clean them
 * (auth_text_clean) before they reach a message.
 */
#ifndef QR_TOKEN_RESPONSE_H
#define QR_TOKEN_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "status.h"

#define TOKEN_RESPONSE_MAX_CODES 8
/* Longer numbers are clamped to this (seconds; a year and a day). */
#define TOKEN_RESPONSE_MAX_SECONDS (366L * 24 * 3600)

struct token_response {
	/* secrets, empty when absent */
	struct buf access_token;
	struct buf refresh_token;
	struct buf device_code;
	/* owned strings, NULL when absent */
	char *token_type;
	char *scope;
	char *error;
	char *error_description;
	char *trace_id;
	char *correlation_id;
	char *user_code;          /* device-code reply */
	char *verification_uri;   /* device-code reply (or verification_url) */
	char *message;            /* device-code reply */
	long expires_in;          /* seconds, -1 when absent */
	long interval;            /* seconds, -1 when absent */
	long error_codes[TOKEN_RESPONSE_MAX_CODES];
	size_t n_error_codes;     /* the first TOKEN_RESPONSE_MAX_CODES kept */
};

void token_response_init(struct token_response *r);
/* Wipe the secrets and free everything; r is then as after _init. */
void token_response_release(struct token_response *r);

/*
 * Parse body[0..len) into r (initialised; released first). PL_OK;
 * PL_EFORMAT with a message such as "expires_in is an object, not a
 * number" (never quoting a value); PL_ENOMEM. On failure r holds no
 * secret and nothing to free beyond what _release frees.
 */
enum pl_status token_response_parse(struct token_response *r,
				     const char *body, size_t len,
				     struct pl_err *err);

/* Whether code is among r's error_codes. */
bool token_response_has_code(const struct token_response *r, long code);

#endif
