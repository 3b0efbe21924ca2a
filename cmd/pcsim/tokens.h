/*
 * tokens.h: the bearer tokens pcsim's token endpoint issued, each with
 * its expiry, shared by all server threads.
 *
 * A token is 64 random base64url characters (48 bytes from getrandom):
 * opaque, as a client must treat a real one. Expired tokens are purged
 * while new ones are issued, so the store stays as big as the number of
 * live tokens.
 */
#ifndef PCSIM_TOKENS_H
#define PCSIM_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_STR_LEN 64

struct token_store;

/* NULL when out of memory. */
struct token_store *token_store_new(void);
/* NULL is a no-op; wipes the tokens. */
void token_store_free(struct token_store *s);

/*
 * Issue a token valid until expires_ns (pcsim_now_ns() clock) and write
 * it with its NUL to out. Returns 0, or -1 when out of memory or without
 * randomness (nothing is issued).
 */
int token_store_issue(struct token_store *s, uint64_t now_ns,
		      uint64_t expires_ns, char out[TOKEN_STR_LEN + 1]);

enum token_check {
	TOKEN_UNKNOWN = 0,
	TOKEN_VALID,
	TOKEN_EXPIRED
};

/* Look tok[0..len) up at now_ns. */
enum token_check token_store_check(struct token_store *s, const char *tok,
				   size_t len, uint64_t now_ns);

#endif
