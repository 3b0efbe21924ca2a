/*
 * customers.h: pcsim's customer list, GET /v1/customers?size=N
 * (docs/partner-center-api.md section 6), paged as the API pages it.
 *
 * The customer base is either generated (--customers N: customer i's
 * tenant ID, company name, domain and relationship derived from --seed
 * and i, so a run can list a million customers without storing one) or
 * the "customers" list of the --data file (items sent as written).
 *
 * A page:
 *   {"totalCount":T,"items":[...],
 *    "links":{"self":{"uri":"/customers?size=N","method":"GET",
 *                     "headers":[]},
 *             "next":{"uri":"/v1/customers?size=N&seekOperation=Next",
 *                     "method":"GET",
 *                     "headers":[{"key":"MS-ContinuationToken",
 *                                 "value":"<token>"}]}},
 *    "continuationToken":"<token>",
 *    "attributes":{"objectType":"Collection"}}
 * The next page is asked for with the token in the MS-ContinuationToken
 * header (and seekOperation=Next); the token says where the page starts.
 * A request without a token is the first page; size defaults to 100.
 *
 * Options (struct customers_options):
 *   duplicate K     the first K pages' tokens point one customer back,
 *                   so a customer appears on two pages (as when one is
 *                   added while a partner lists them): K more items
 *   page_max M      pages hold at most M items, whatever size asks
 *   token_ttl_ms T  a token T or more old is refused (0: every token):
 *                   400 {"code":2005,"description":"Continuation token
 *                   has expired"}
 *   expire_page P   the first request with the token of page P (2 = the
 *                   second page) is refused the same way, once
 *   next_style      v1 ("/v1/customers?..."), bare ("/customers?...",
 *                   as the SDK expects), relative ("customers?..."),
 *                   absolute ("http://127.0.0.1:PORT/v1/customers?..."),
 *                   mixed (v1 and bare by turns), other-host (absolute,
 *                   to 127.0.0.2: a client must refuse it)
 *   end_style       nolink (the last page has no links.next), code2000
 *                   (it has one, and following it gives 400 {"code":
 *                   2000}), empty (it has one, leading to an empty page
 *                   without one)
 *   quirks          a BOM before every page and a trailing comma after
 *                   every items array (json-c reads both; strict JSON
 *                   does not)
 * A token that does not parse is 400 {"code":2001,"description":
 * "Invalid continuation token"}. Faults (--fail-rate, --drop-rate,
 * --malformed-rate: the first half of the page) and the throttle apply to
 * pages as to any request; server.c draws them with customers_key()'s
 * hash of the page asked for.
 */
#ifndef PCSIM_CUSTOMERS_H
#define PCSIM_CUSTOMERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data.h"
#include "status.h"

enum customers_next_style {
	NEXT_V1 = 0, NEXT_BARE, NEXT_RELATIVE, NEXT_ABSOLUTE, NEXT_MIXED,
	NEXT_OTHER_HOST
};

enum customers_end_style { END_NOLINK = 0, END_CODE2000, END_EMPTY };

struct customers_options {
	unsigned long count;       /* generated customers (no --data list) */
	unsigned duplicate;
	unsigned page_max;         /* 0: as asked */
	long token_ttl_ms;         /* -1: tokens never expire */
	unsigned expire_page;      /* 0: none */
	enum customers_next_style next_style;
	enum customers_end_style end_style;
	int quirks;
	uint64_t seed;
};

/* Parse a style name ("v1", "bare", ...): false when unknown. */
bool customers_next_style_parse(const char *s,
				enum customers_next_style *out);
bool customers_end_style_parse(const char *s,
			       enum customers_end_style *out);

struct customers;

/* data (may be NULL) is borrowed: its list, if any, is the base. */
struct customers *customers_new(const struct customers_options *opt,
				const struct data_set *data);
void customers_free(struct customers *c);

/* The request as the server sees it. */
struct customers_request {
	const char *size;          /* ?size=, NULL: absent */
	const char *seek;          /* ?seekOperation=, NULL: absent */
	const char *token;         /* MS-ContinuationToken, NULL: absent */
	const char *origin;        /* "http://127.0.0.1:PORT" */
	uint64_t now_ms;           /* since the server started */
};

/* 16 bytes naming the page asked for (for per-page request counts and
 * Retry-After), and its hash for the fault draws. */
void customers_key(const struct customers_request *q, uint64_t seed,
		   uint8_t key[16], uint64_t *hash);

struct customers_answer {
	unsigned status;
	char *body;                /* malloc'd */
	size_t len;
	int is_page;               /* a 200 page (counted in /stats) */
};

/*
 * Answer q; malformed set: only the first half of the page's body (the
 * fault). PL_OK and *a; PL_ENOMEM. The caller frees a->body.
 */
enum pl_status customers_answer(struct customers *c,
				const struct customers_request *q,
				int malformed, struct customers_answer *a,
				struct pl_err *err);

/* Generated customer i's tenant ID (lowercase, 36 chars + NUL). */
void customers_tenant(uint64_t seed, unsigned long i, char out[37]);

#endif
