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

/* 64 random base64url characters and a NUL into out; 0, or -1 without
 * randomness. */
int token_random(char out[TOKEN_STR_LEN + 1]);

/*
 * Refresh tokens, rotated as the identity platform rotates them: each is
 * bound to a client ID and lives ttl from its issue; redeeming one marks
 * it used, and a used one is still honoured for a grace period (a client
 * killed before it stored the new one can retry with the old), then
 * refused. Tokens are any length up to REFRESH_TOKEN_MAX (a test seeds
 * its own).
 */
#define REFRESH_TOKEN_MAX 1024

struct refresh_store;

struct refresh_store *refresh_store_new(void);
void refresh_store_free(struct refresh_store *s);  /* NULL: no-op */

/* Add tok for client_id, issued at now_ns. 0, or -1 (memory, length). */
int refresh_store_add(struct refresh_store *s, const char *tok, size_t len,
		      const char *client_id, uint64_t now_ns);

enum refresh_check {
	REFRESH_UNKNOWN = 0,
	REFRESH_OK,           /* first use: now marked used */
	REFRESH_OK_GRACE,     /* used before, within the grace period */
	REFRESH_USED,         /* used before, grace period over */
	REFRESH_EXPIRED,      /* older than ttl */
	REFRESH_OTHER_CLIENT  /* issued to another client ID */
};

/*
 * Redeem tok for client_id at now_ns. *used_ago_ns tells how long ago a
 * used one was first redeemed.
 */
enum refresh_check refresh_store_redeem(struct refresh_store *s,
					const char *tok, size_t len,
					const char *client_id,
					uint64_t now_ns, uint64_t grace_ns,
					uint64_t ttl_ns,
					uint64_t *used_ago_ns);

/*
 * Client-assertion IDs seen (jti), each kept until its assertion's
 * expiry so a replay within its lifetime is caught. Returns 1 when jti
 * was new (now recorded), 0 when seen before, -1 when out of memory.
 */
struct jti_cache;

struct jti_cache *jti_cache_new(void);
void jti_cache_free(struct jti_cache *c);  /* NULL: no-op */
int jti_cache_insert(struct jti_cache *c, const char *jti, size_t len,
		     uint64_t expires_ns, uint64_t now_ns);

#endif
