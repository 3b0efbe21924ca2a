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

int token_random(char out[TOKEN_STR_LEN + 1])
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[TOKEN_STR_LEN * 3 / 4];

	if(random_bytes(raw, sizeof(raw)))
		return -1;
	for(size_t i = 0, j = 0; i < sizeof(raw); i += 3) {
		uint32_t v = (uint32_t)raw[i] << 16 |
			     (uint32_t)raw[i + 1] << 8 | raw[i + 2];

		out[j++] = b64[v >> 18 & 63];
		out[j++] = b64[v >> 12 & 63];
		out[j++] = b64[v >> 6 & 63];
		out[j++] = b64[v & 63];
	}
	out[TOKEN_STR_LEN] = '\0';
	memset(raw, 0, sizeof(raw));
	return 0;
}

int token_store_issue(struct token_store *s, uint64_t now_ns,
		      uint64_t expires_ns, char out[TOKEN_STR_LEN + 1])
{
	struct token *t;
	unsigned b;

	t = calloc(1, sizeof(*t));
	if(!t)
		return -1;
	if(token_random(t->str)) {
		free(t);
		return -1;
	}
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

/* ---- refresh tokens ---- */

#define CLIENT_ID_MAX 256

struct rt_entry {
	struct rt_entry *next;
	char *tok;
	size_t len;
	char client_id[CLIENT_ID_MAX];
	uint64_t issued_ns;
	uint64_t used_ns;     /* first redeemed; 0: never */
};

struct refresh_store {
	pthread_mutex_t mu;
	struct rt_entry *buckets[NBUCKETS];
};

struct refresh_store *refresh_store_new(void)
{
	struct refresh_store *s = calloc(1, sizeof(*s));

	if(s)
		pthread_mutex_init(&s->mu, NULL);
	return s;
}

void refresh_store_free(struct refresh_store *s)
{
	if(!s)
		return;
	for(unsigned i = 0; i < NBUCKETS; i++) {
		struct rt_entry *e = s->buckets[i], *next;

		for(; e; e = next) {
			next = e->next;
			memset(e->tok, 0, e->len);
			free(e->tok);
			free(e);
		}
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int refresh_store_add(struct refresh_store *s, const char *tok, size_t len,
		      const char *client_id, uint64_t now_ns)
{
	struct rt_entry *e;
	unsigned b;

	if(!len || len > REFRESH_TOKEN_MAX ||
	   strlen(client_id) >= CLIENT_ID_MAX)
		return -1;
	e = calloc(1, sizeof(*e));
	if(!e || !(e->tok = malloc(len))) {
		free(e);
		return -1;
	}
	memcpy(e->tok, tok, len);
	e->len = len;
	strcpy(e->client_id, client_id);
	e->issued_ns = now_ns;
	b = bucket_of(tok, len);
	pthread_mutex_lock(&s->mu);
	e->next = s->buckets[b];
	s->buckets[b] = e;
	pthread_mutex_unlock(&s->mu);
	return 0;
}

enum refresh_check refresh_store_redeem(struct refresh_store *s,
					const char *tok, size_t len,
					const char *client_id,
					uint64_t now_ns, uint64_t grace_ns,
					uint64_t ttl_ns,
					uint64_t *used_ago_ns)
{
	enum refresh_check rc = REFRESH_UNKNOWN;
	struct rt_entry *e;

	*used_ago_ns = 0;
	pthread_mutex_lock(&s->mu);
	for(e = s->buckets[bucket_of(tok, len)]; e; e = e->next) {
		if(e->len != len || memcmp(e->tok, tok, len))
			continue;
		if(strcmp(e->client_id, client_id))
			rc = REFRESH_OTHER_CLIENT;
		else if(now_ns - e->issued_ns >= ttl_ns)
			rc = REFRESH_EXPIRED;
		else if(!e->used_ns) {
			e->used_ns = now_ns ? now_ns : 1;
			rc = REFRESH_OK;
		} else {
			*used_ago_ns = now_ns - e->used_ns;
			rc = *used_ago_ns < grace_ns ? REFRESH_OK_GRACE :
						       REFRESH_USED;
		}
		break;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* ---- assertion IDs ---- */

struct jti_entry {
	struct jti_entry *next;
	uint64_t expires_ns;
	size_t len;
	char jti[];
};

struct jti_cache {
	pthread_mutex_t mu;
	struct jti_entry *buckets[NBUCKETS];
	size_t count;
	size_t purge_at;
};

struct jti_cache *jti_cache_new(void)
{
	struct jti_cache *c = calloc(1, sizeof(*c));

	if(c) {
		pthread_mutex_init(&c->mu, NULL);
		c->purge_at = 64;
	}
	return c;
}

void jti_cache_free(struct jti_cache *c)
{
	if(!c)
		return;
	for(unsigned i = 0; i < NBUCKETS; i++) {
		struct jti_entry *e = c->buckets[i], *next;

		for(; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void jti_purge(struct jti_cache *c, uint64_t now_ns)
{
	for(unsigned i = 0; i < NBUCKETS; i++) {
		struct jti_entry **pp = &c->buckets[i];

		while(*pp) {
			struct jti_entry *e = *pp;

			if(e->expires_ns < now_ns) {
				*pp = e->next;
				free(e);
				c->count--;
			} else {
				pp = &e->next;
			}
		}
	}
	c->purge_at = c->count * 2 > 64 ? c->count * 2 : 64;
}

int jti_cache_insert(struct jti_cache *c, const char *jti, size_t len,
		     uint64_t expires_ns, uint64_t now_ns)
{
	unsigned b = bucket_of(jti, len);
	struct jti_entry *e;
	int rc = 1;

	pthread_mutex_lock(&c->mu);
	if(c->count >= c->purge_at)
		jti_purge(c, now_ns);
	for(e = c->buckets[b]; e; e = e->next)
		if(e->len == len && !memcmp(e->jti, jti, len)) {
			rc = 0;
			goto out;
		}
	e = malloc(sizeof(*e) + len);
	if(!e) {
		rc = -1;
		goto out;
	}
	e->expires_ns = expires_ns;
	e->len = len;
	memcpy(e->jti, jti, len);
	e->next = c->buckets[b];
	c->buckets[b] = e;
	c->count++;
out:
	pthread_mutex_unlock(&c->mu);
	return rc;
}
