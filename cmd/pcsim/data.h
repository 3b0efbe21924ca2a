/*
 * data.h: scripted answers (--data FILE) for chosen tenants.
 *
 * The file is one JSON object mapping a tenant ID (any case) to an answer
 * or to an array of answers. An array is played in order, one answer per
 * served request of that tenant, and its last answer repeats. An answer:
 *
 *   {"status": 200,              HTTP status, 100..599, default 200
 *    "body": <any JSON>,         sent serialized (compact), or
 *    "body_raw": "<bytes>",      sent exactly as this string's bytes
 *    "headers": {"Retry-After": "2"},  extra headers; a Content-Type
 *                                here replaces application/json
 *    "drop": true,               close the connection, no answer
 *    "cut_after": N,             send the headers (Content-Length of the
 *                                whole body) and N body bytes, then
 *                                close: an answer cut off mid-body
 *    "latency_ms": N}            delay instead of --latency-ms/jitter
 *
 * No body gives an empty one. The top-level key "customers" is not a
 * tenant: it is the customer list GET /v1/customers serves (customers.h),
 * an array of items sent as given (compact), so a test can list exactly
 * the customers it wants, invalid ones included:
 *
 *   "customers": [{"id": "<tenant>", "companyProfile": {...}}, ...]
 *
 * Keys starting with "_" are comments, at the
 * top level and in answers; any other unknown key is an error, so a typo
 * does not silently fall back to the generated answer.
 *
 * Ownership: the set owns everything; data_set_find() returns borrowed
 * pointers valid until data_set_free().
 */
#ifndef PCSIM_DATA_H
#define PCSIM_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct data_header {
	char *name;
	char *value;
};

struct data_answer {
	int status;
	char *body;             /* body_len bytes, may hold NULs */
	size_t body_len;
	struct data_header *headers;
	size_t nheaders;
	int has_content_type;   /* headers set Content-Type */
	int drop;
	long cut_after;         /* -1: the whole body */
	long latency_ms;        /* -1: the server's latency and jitter */
};

struct data_set;

/*
 * Read path. On success *out owns the set (an empty file object gives an
 * empty set). On failure returns PL_EUSAGE or PL_ENOMEM with err set
 * ("data.json: tenant \"x\": not a GUID") and *out is NULL.
 */
enum pl_status data_set_load(const char *path, struct data_set **out,
			     struct pl_err *err);

/* NULL is a no-op. */
void data_set_free(struct data_set *set);

/*
 * The answer for tenant key (16 GUID bytes) at its served request n
 * (0-based), or NULL when the tenant is not scripted.
 */
const struct data_answer *data_set_find(const struct data_set *set,
					const uint8_t key[16], uint32_t n);

/* How many tenants the set scripts. */
size_t data_set_size(const struct data_set *set);

/* The "customers" list: *n items, each compact JSON text; NULL (and 0)
 * when the file has none. */
const char *const *data_set_customers(const struct data_set *set, size_t *n);

#endif
