#include "tokens.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "scenario.h"

#define NBUCKETS 1024u
/* An expired token is still told apart from an unknown one this long. */
#define KEEP_EXPIRED_NS (600ull * 1000000000ull)

struct token {
	struct token *next;
	uint64_t expires_ns;
	char str[TOKEN_STR_LEN + 1];
};

struct token_store {
	pthread_mutex_t mu;
	struct token *buckets[NBUCKETS];
	size_t count;
	size_t purge_at; /* purge when count reaches this */
};

static unsigned bucket_of(const char *tok, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for(size_t i = 0; i < len; i++) {
		h ^= (unsigned char)tok[i];
		h *= 0x100000001b3ULL;
	}
	return (unsigned)(scenario_mix(h) % NBUCKETS);
}

struct token_store *token_store_new(void)
{
	struct token_store *s = calloc(1, sizeof(*s));

	if(!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	s->purge_at = 64;
	return s;
}

static void wipe_free(struct token *t)
{
	/* No compiler may skip this: the pointer escapes to free(). */
	memset(t->str, 0, sizeof(t->str));
	free(t);
}

void token_store_free(struct token_store *s)
{
	if(!s)
		return;
	for(unsigned i = 0; i < NBUCKETS; i++) {
		struct token *t = s->buckets[i], *next;

		for(; t; t = next) {
			next = t->next;
			wipe_free(t);
		}
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

static void purge(struct token_store *s, uint64_t now_ns)
{
	for(unsigned i = 0; i < NBUCKETS; i++) {
		struct token **pp = &s->buckets[i];

		while(*pp) {
			struct token *t = *pp;

			if(t->expires_ns + KEEP_EXPIRED_NS < now_ns) {
				*pp = t->next;
				wipe_free(t);
				s->count--;
			} else {
				pp = &t->next;
			}
		}
	}
	/* Amortized: the next purge waits until the store doubled. */
	s->purge_at = s->count * 2 > 64 ? s->count * 2 : 64;
}

static int random_bytes(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while(got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if(n < 0) {
			if(errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

int token_store_issue(struct token_store *s, uint64_t now_ns,
		      uint64_t expires_ns, char out[TOKEN_STR_LEN + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[TOKEN_STR_LEN * 3 / 4];
	struct token *t;
	unsigned b;

	if(random_bytes(raw, sizeof(raw)))
		return -1;
	t = calloc(1, sizeof(*t));
	if(!t)
		return -1;
	for(size_t i = 0, j = 0; i < sizeof(raw); i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 |
			     (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		t->str[j++] = b64[v >> 18 & 63];
		t->str[j++] = b64[v >> 12 & 63];
		t->str[j++] = b64[v >> 6 & 63];
		t->str[j++] = b64[v & 63];
	}
	memset(raw, 0, sizeof(raw));
	t->expires_ns = expires_ns;
	memcpy(out, t->str, TOKEN_STR_LEN + 1);
	b = bucket_of(t->str, TOKEN_STR_LEN);

	pthread_mutex_lock(&s->mu);
	if(s->count >= s->purge_at)
		purge(s, now_ns);
	t->next = s->buckets[b];
	s->buckets[b] = t;
	s->count++;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

enum token_check token_store_check(struct token_store *s, const char *tok,
				   size_t len, uint64_t now_ns)
{
	enum token_check rc = TOKEN_UNKNOWN;
	struct token *t;

	if(len != TOKEN_STR_LEN)
		return TOKEN_UNKNOWN;
	pthread_mutex_lock(&s->mu);
	for(t = s->buckets[bucket_of(tok, len)]; t; t = t->next) {
		if(!memcmp(t->str, tok, TOKEN_STR_LEN)) {
			rc = now_ns < t->expires_ns ? TOKEN_VALID :
						      TOKEN_EXPIRED;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}
