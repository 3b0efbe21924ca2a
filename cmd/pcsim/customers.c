/*
 * customers.c: GET /v1/customers, see customers.h.
 */
#include "customers.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "scenario.h"

#define DEFAULT_SIZE 100
#define MAX_SIZE 100000
#define SALT_ID_HI 0x6b8f1e4d2c3a5978ull
#define SALT_ID_LO 0x1f2e3d4c5b6a7988ull
#define SALT_NAME 0x51ed2701a5b3c4d7ull
#define SALT_MAC 0x2545f4914f6cdd1dull

struct customers {
	struct customers_options opt;
	const char *const *items;  /* the --data list, or NULL */
	unsigned long count;
	atomic_int expired_once;
};

static const char *const words[] = {
	"Contoso", "Fabrikam", "Northwind", "Tailspin", "Woodgrove",
	"Litware", "Adventure Works", "Proseware", "Wingtip", "Alpine",
	"Coho", "Lamna", "Margie's", "Trey", "Fourth Coffee", "Humongous"
};
static const char *const kinds[] = {
	"School", "University", "Academy", "County", "City", "Library",
	"Museum", "Ltd", "Inc.", "Hospital"
};

bool customers_next_style_parse(const char *s,
				enum customers_next_style *out)
{
	static const char *const names[] = {"v1", "bare", "relative",
					    "absolute", "mixed", "other-host"};

	for(size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if(!strcmp(s, names[i])) {
			*out = (enum customers_next_style)i;
			return true;
		}
	}
	return false;
}

bool customers_end_style_parse(const char *s,
			       enum customers_end_style *out)
{
	static const char *const names[] = {"nolink", "code2000", "empty"};

	for(size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if(!strcmp(s, names[i])) {
			*out = (enum customers_end_style)i;
			return true;
		}
	}
	return false;
}

struct customers *customers_new(const struct customers_options *opt,
				const struct data_set *data)
{
	struct customers *c = calloc(1, sizeof(*c));
	size_t n = 0;

	if(!c)
		return NULL;
	c->opt = *opt;
	c->items = data_set_customers(data, &n);
	c->count = c->items ? (unsigned long)n : opt->count;
	atomic_init(&c->expired_once, 0);
	return c;
}

void customers_free(struct customers *c)
{
	free(c);
}

void customers_tenant(uint64_t seed, unsigned long i, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t s = scenario_mix(seed);
	uint64_t hi = scenario_mix((uint64_t)i ^ SALT_ID_HI ^ s);
	uint64_t lo = scenario_mix(scenario_mix((uint64_t)i ^ SALT_ID_LO) ^ s);
	uint8_t u[16];
	int j = 0;

	for(int k = 0; k < 8; k++) {
		u[k] = (uint8_t)(hi >> (56 - 8 * k));
		u[8 + k] = (uint8_t)(lo >> (56 - 8 * k));
	}
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	for(int k = 0; k < 16; k++) {
		if(k == 4 || k == 6 || k == 8 || k == 10)
			out[j++] = '-';
		out[j++] = hex[u[k] >> 4];
		out[j++] = hex[u[k] & 15];
	}
	out[j] = '\0';
}

/* Generated customer i as an item of the list. */
static enum pl_status add_generated(struct buf *b, uint64_t seed,
				    unsigned long i)
{
	uint64_t h = scenario_mix((uint64_t)i ^ SALT_NAME ^
				  scenario_mix(seed));
	const char *word = words[h % (sizeof(words) / sizeof(words[0]))];
	const char *kind = kinds[(h >> 8) % (sizeof(kinds) / sizeof(kinds[0]))];
	char id[37], name[96], domain[96];
	size_t d = 0;

	customers_tenant(seed, i, id);
	/* now and then a name a CSV must quote */
	if(i % 97 == 96)
		snprintf(name, sizeof(name), "%s, \\\"%s\\\" & Co %lu", word,
			 kind, i + 1);
	else
		snprintf(name, sizeof(name), "%s %s %lu", word, kind, i + 1);
	for(const char *p = word; *p && d < 40; p++)
		if((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
			domain[d++] = (char)(*p | 0x20);
	snprintf(domain + d, sizeof(domain) - d, "%lu.onmicrosoft.com", i + 1);
	return buf_addf(b, "{\"id\":\"%s\",\"commerceId\":\"%s\","
			"\"companyProfile\":{\"tenantId\":\"%s\","
			"\"domain\":\"%s\",\"companyName\":\"%s\","
			"\"attributes\":{\"objectType\":"
			"\"CustomerCompanyProfile\"}},"
			"\"relationshipToPartner\":\"%s\","
			"\"allowDelegatedAccess\":true,"
			"\"attributes\":{\"objectType\":\"Customer\"}}",
			id, id, id, domain, name,
			(h >> 20) % 10 == 0 ? "advisor" : "reseller");
}

/* ---- continuation tokens ------------------------------------------------ */

struct token {
	unsigned long offset;      /* first item of the page it leads to */
	unsigned dups;             /* duplicating pages so far */
	unsigned long page;        /* the page it leads to, 2 = second */
	uint64_t issued_ms;
};

static uint32_t mac(const struct token *t, uint64_t seed)
{
	return (uint32_t)scenario_mix((uint64_t)t->offset * 0x9e3779b1u ^
				      (uint64_t)t->dups << 40 ^
				      (uint64_t)t->page << 20 ^ t->issued_ms ^
				      SALT_MAC ^ seed);
}

static void format_token(const struct token *t, uint64_t seed, char *out,
			 size_t n)
{
	snprintf(out, n, "ct1.%lu.%u.%lu.%" PRIu64 ".%08" PRIx32, t->offset,
		 t->dups, t->page, t->issued_ms, mac(t, seed));
}

static bool parse_token(const char *s, uint64_t seed, struct token *t)
{
	uint32_t m;
	char tail;

	if(sscanf(s, "ct1.%lu.%u.%lu.%" SCNu64 ".%" SCNx32 "%c", &t->offset,
		  &t->dups, &t->page, &t->issued_ms, &m, &tail) != 5)
		return false;
	return m == mac(t, seed);
}

void customers_key(const struct customers_request *q, uint64_t seed,
		   uint8_t key[16], uint64_t *hash)
{
	const char *t = q->token ? q->token : "first";
	uint64_t h = 0xcbf29ce484222325ull ^ scenario_mix(seed ^ SALT_NAME);
	uint64_t g;

	for(const char *p = t; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	for(const char *p = q->size ? q->size : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = scenario_mix(h);
	g = scenario_mix(h ^ SALT_ID_LO);
	for(int k = 0; k < 8; k++) {
		key[k] = (uint8_t)(h >> (8 * k));
		key[8 + k] = (uint8_t)(g >> (8 * k));
	}
	*hash = h;
}

/* ---- pages -------------------------------------------------------------- */

static enum pl_status error_body(struct customers_answer *a, unsigned status,
				 long code, const char *desc)
{
	char body[SCENARIO_BODY_MAX];
	size_t len = scenario_api_error(code, desc, body);

	a->status = status;
	a->body = malloc(len + 1);
	if(!a->body)
		return PL_ENOMEM;
	memcpy(a->body, body, len);
	a->body[len] = '\0';
	a->len = len;
	return PL_OK;
}

/* The next link's uri for a page asked with size, in the style wanted. */
static enum pl_status add_next_uri(struct buf *b,
				   const struct customers_options *opt,
				   const struct customers_request *q,
				   unsigned long size, unsigned long page)
{
	enum customers_next_style style = opt->next_style;
	const char *host = q->origin;

	if(style == NEXT_MIXED)
		style = page % 2 ? NEXT_BARE : NEXT_V1;
	switch(style) {
	case NEXT_BARE:
		return buf_addf(b, "/customers?size=%lu&seekOperation=Next",
				size);
	case NEXT_RELATIVE:
		return buf_addf(b, "customers?size=%lu&seekOperation=Next",
				size);
	case NEXT_ABSOLUTE:
		return buf_addf(b, "%s/v1/customers?size=%lu&"
				"seekOperation=Next", host, size);
	case NEXT_OTHER_HOST:
		/* the same port on another loopback address */
		host = strrchr(q->origin, ':');
		return buf_addf(b, "http://127.0.0.2%s/v1/customers?size=%lu&"
				"seekOperation=Next", host ? host : "", size);
	default:
		return buf_addf(b, "/v1/customers?size=%lu&seekOperation=Next",
				size);
	}
}

enum pl_status customers_answer(struct customers *c,
				const struct customers_request *q,
				int malformed, struct customers_answer *a,
				struct pl_err *err)
{
	const struct customers_options *opt = &c->opt;
	struct token t = {0, 0, 1, 0}, next;
	struct buf b = BUF_INIT;
	unsigned long size = DEFAULT_SIZE, n, end;
	char tok[128];
	char *stop;
	bool has_next;
	enum pl_status st = PL_OK;

	memset(a, 0, sizeof(*a));
	if(q->size) {
		errno = 0;
		size = strtoul(q->size, &stop, 10);
		if(errno || *stop || !*q->size || size < 1 || size > MAX_SIZE)
			return error_body(a, 400, 400, "size must be a number "
					  "from 1 to 100000") ? pl_fail(err,
					  PL_ENOMEM, "out of memory") : PL_OK;
	}
	if(q->seek && strcasecmp(q->seek, "Next"))
		return error_body(a, 400, 400, "pcsim serves seekOperation="
				  "Next only") ? pl_fail(err, PL_ENOMEM,
				  "out of memory") : PL_OK;
	if(q->seek && !q->token)
		return error_body(a, 400, 2001, "Missing continuation token")
			? pl_fail(err, PL_ENOMEM, "out of memory") : PL_OK;
	if(q->token) {
		int first = 0;

		if(!parse_token(q->token, opt->seed, &t))
			return error_body(a, 400, 2001, "Invalid continuation "
					  "token") ? pl_fail(err, PL_ENOMEM,
					  "out of memory") : PL_OK;
		if(opt->expire_page && t.page == opt->expire_page)
			first = atomic_exchange(&c->expired_once, 1) == 0;
		if(first || (opt->token_ttl_ms >= 0 &&
			     q->now_ms >= t.issued_ms +
					  (uint64_t)opt->token_ttl_ms))
			return error_body(a, 400, 2005, "Continuation token "
					  "has expired") ? pl_fail(err,
					  PL_ENOMEM, "out of memory") : PL_OK;
		if(t.offset >= c->count && opt->end_style == END_CODE2000)
			return error_body(a, 400, 2000, "All records have "
					  "been fetched") ? pl_fail(err,
					  PL_ENOMEM, "out of memory") : PL_OK;
	}
	n = opt->page_max && size > opt->page_max ? opt->page_max : size;
	end = t.offset < c->count ? t.offset + n : t.offset;
	if(end > c->count)
		end = c->count;
	has_next = t.offset < c->count &&
		   (end < c->count || opt->end_style != END_NOLINK);
	next.offset = end;
	next.dups = t.dups;
	if(has_next && t.dups < opt->duplicate && end - t.offset >= 2 &&
	   end < c->count) {
		next.offset = end - 1;
		next.dups = t.dups + 1;
	}
	next.page = t.page + 1;
	next.issued_ms = q->now_ms;

	if(opt->quirks)
		st = buf_add(&b, "\xef\xbb\xbf", 3);
	if(!st)
		st = buf_addf(&b, "{\"totalCount\":%lu,\"items\":[",
			      end - (t.offset < end ? t.offset : end));
	for(unsigned long i = t.offset; !st && i < end; i++) {
		if(i > t.offset)
			st = buf_addch(&b, ',');
		if(!st)
			st = c->items ? buf_addstr(&b, c->items[i])
				      : add_generated(&b, opt->seed, i);
	}
	if(!st && opt->quirks && end > t.offset)
		st = buf_addch(&b, ',');
	if(!st)
		st = buf_addf(&b, "],\"links\":{\"self\":{\"uri\":\"/customers"
			      "?size=%lu\",\"method\":\"GET\",\"headers\":"
			      "[]}", size);
	if(!st && has_next) {
		format_token(&next, opt->seed, tok, sizeof(tok));
		st = buf_addstr(&b, ",\"next\":{\"uri\":\"");
		if(!st)
			st = add_next_uri(&b, opt, q, size, t.page);
		if(!st)
			st = buf_addf(&b, "\",\"method\":\"GET\",\"headers\":"
				      "[{\"key\":\"MS-ContinuationToken\","
				      "\"value\":\"%s\"}]}},"
				      "\"continuationToken\":\"%s\"", tok,
				      tok);
	} else if(!st) {
		st = buf_addch(&b, '}');
	}
	if(!st)
		st = buf_addstr(&b, ",\"attributes\":{\"objectType\":"
				"\"Collection\"}}");
	if(st) {
		buf_release(&b);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	if(malformed)
		buf_setlen(&b, b.len / 2);
	a->status = 200;
	a->is_page = !malformed;
	a->len = b.len;
	a->body = buf_detach(&b, NULL);
	buf_release(&b);
	if(!a->body)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	return PL_OK;
}
