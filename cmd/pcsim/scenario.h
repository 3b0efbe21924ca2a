/*
 * scenario.h: every decision pcsim makes about an answer, as pure
 * functions of (seed, tenant, n) where n counts the tenant's earlier
 * requests. No clock, no global state, no I/O: the same inputs give the
 * same bytes, whatever the thread interleaving, and the server only
 * carries out what these functions decide.
 *
 * The tenant hash h = mix(FNV-1a(lowercase tenant id) ^ mix(seed)) keys
 * everything; independent draws come from h and a per-purpose salt.
 *
 * Generated mix (one draw per tenant): 55% Education Approved (35% of
 * those with a vetting date), 8% Education InReview, 7% Education Denied
 * (a documented vettingReason), 5% GovernmentCommunityCloud Approved plus
 * StateOwnedEntity, 3% StateOwnedEntity alone, 2% Education Approved plus
 * StateOwnedEntity, 20% no qualification ([]). Independent per-tenant
 * draws pick the shape (10% wrapped as {"qualifications":[...]}), the date
 * key (20% vettingCreatedDate, else vettingCreateDate), the date format
 * (40% "...:38.885Z", 30% "...:24Z", 30% "...:56.6832021+00:00") and a
 * leading UTF-8 BOM (3%).
 */
#ifndef PCSIM_SCENARIO_H
#define PCSIM_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

/* Room for any body these functions write; buffers must be this big. */
#define SCENARIO_BODY_MAX 2048

/* The splitmix64 finalizer: a bijective 64-bit mixer. */
uint64_t scenario_mix(uint64_t x);

/* The tenant hash of a canonical lowercase 36-character tenant ID. */
uint64_t scenario_tenant_hash(const char id[36], uint64_t seed);

/* A uniform draw in [0, 1) for (tenant hash, purpose salt, n). */
double scenario_uniform(uint64_t h, uint64_t salt, uint64_t n);

/*
 * Parse s[0..len) as a GUID, 8-4-4-4-12 hex digits in any case, nothing
 * around it. On success return 1 and write the lowercase form (36 chars
 * plus NUL) to lower and the 16 bytes to bytes; else return 0. The
 * pipeline's guid_canonicalize, without its tolerance for braces and
 * white space.
 */
int scenario_parse_guid(const char *s, size_t len, char lower[37],
			uint8_t bytes[16]);

enum scenario_kind {
	KIND_NONE = 0,     /* [] */
	KIND_EDU_APPROVED,
	KIND_EDU_INREVIEW,
	KIND_EDU_DENIED,
	KIND_GCC_SOE,      /* GovernmentCommunityCloud + StateOwnedEntity */
	KIND_SOE,          /* StateOwnedEntity alone, no vetting fields */
	KIND_EDU_SOE       /* Education Approved + StateOwnedEntity */
};

/* What a tenant's 200 body says and how it is spelled. */
struct scenario_profile {
	enum scenario_kind kind;
	int has_date;          /* the vetted entry carries a date */
	int wrapped;           /* {"qualifications":[...]} */
	int created_key;       /* vettingCreatedDate, else vettingCreateDate */
	int bom;               /* body starts with EF BB BF */
	int date_format;       /* 0: .mmmZ, 1: Z, 2: .fffffff+00:00 */
	int64_t date_s;        /* the date, seconds since the epoch */
	uint32_t date_frac;    /* 100 ns units, 0..9999999 */
	const char *reason;    /* Denied only, else NULL */
};

/* The profile of tenant hash h. */
void scenario_profile(uint64_t h, struct scenario_profile *p);

/*
 * Write p's body to buf (SCENARIO_BODY_MAX bytes) and return its length.
 * Compact JSON, or with doc_style the documentation page's way: indented
 * by four spaces, a comma after every member (so after the last one too,
 * as the page's Approved example has) except a last member that carries a
 * comment, "// UTC" after dates and "// example Vetting Reason" after a
 * reason. The BOM is written when p->bom is set.
 */
size_t scenario_render(const struct scenario_profile *p, int doc_style,
		       char *buf);

/* 1 when tenant h is one of the unknown_rate share answering 404. */
int scenario_unknown(uint64_t h, double unknown_rate);

struct scenario_rates {
	double drop;
	double fail;
	double malformed;
};

enum scenario_fault {
	FAULT_NONE = 0,
	FAULT_DROP,       /* close the connection, no answer */
	FAULT_FAIL,       /* 500 or 503, see scenario_fail_status() */
	FAULT_MALFORMED   /* 200, see scenario_malformed() */
};

/*
 * The fault for tenant h's request number n (0-based). One draw u per
 * request is cut into consecutive ranges [0, drop), [drop, drop + fail),
 * [.., .. + malformed), so each rate holds exactly, independently of the
 * others; the caller keeps their sum <= 1. A retried tenant gets a fresh
 * draw each time and so eventually succeeds while the sum is < 1.
 */
enum scenario_fault scenario_fault(const struct scenario_rates *r,
				   uint64_t h, uint32_t n);

/* 500 or 503, evenly, for a FAULT_FAIL request. */
int scenario_fail_status(uint64_t h, uint32_t n);

/*
 * A FAULT_MALFORMED body: either the first half of the tenant's compact
 * body (a proper prefix of a JSON array or object, so never valid JSON)
 * or an HTML error page. body/len is the compact body (no BOM). Writes
 * buf (SCENARIO_BODY_MAX bytes), returns the length, sets *html.
 */
size_t scenario_malformed(uint64_t h, uint32_t n, const char *body,
			  size_t len, char *buf, int *html);

/* The extra delay, 0..jitter_ms inclusive, for tenant h's request n. */
unsigned scenario_jitter(uint64_t h, uint32_t n, unsigned jitter_ms);

/*
 * The throttles (--throttle-rps/--throttle-burst, --throttle-window). A
 * take at now_ns returns 0 when the request is let through, else the
 * Retry-After in whole seconds, at least 1 (and at most 86400).
 *
 * A token bucket: capacity `burst` tokens (default max(1, rate / 10)),
 * refilled at rate per second, starting full. So a client may burst that
 * many requests, then is held to the rate. A refusal takes nothing; its
 * Retry-After is the time until a token is back, rounded up.
 */
struct scenario_bucket {
	double rate;
	double capacity;
	double tokens;
	uint64_t last_ns;
};

/* burst <= 0: the default max(1, rate / 10); else at least 1. */
void scenario_bucket_init(struct scenario_bucket *b, double rate,
			  double burst, uint64_t now_ns);
unsigned scenario_bucket_take(struct scenario_bucket *b, uint64_t now_ns);

/*
 * A fixed window: at most `limit` requests let through per window of
 * `length_ns`; windows are aligned on the first request (it opens window
 * 0, window k is [first + k * length, first + (k + 1) * length)), and an
 * idle stretch skips whole windows. A refusal takes nothing; its
 * Retry-After is the time to the window's end in whole seconds, rounded
 * up, at least 1 (the Partner Center way: "Try again in 57 seconds").
 */
struct scenario_window {
	unsigned limit;
	uint64_t length_ns;
	uint64_t start_ns;   /* of the current window */
	uint64_t first_ns;   /* of window 0 */
	unsigned used;       /* requests let through in it */
	int started;         /* the first request came */
};

void scenario_window_init(struct scenario_window *w, unsigned limit,
			  uint64_t length_ns);
/* *in_first (may be NULL): the request fell in window 0. */
unsigned scenario_window_take(struct scenario_window *w, uint64_t now_ns,
			      int *in_first);

/*
 * Parse --throttle-window's "N/S": N requests (1..10^9) per S seconds
 * (a decimal number, 0.001..86400, fractions allowed). Returns 1 and
 * fills *limit and *length_ns, or 0 when s is not of that form.
 */
int scenario_parse_window(const char *s, unsigned *limit,
			  uint64_t *length_ns);

/* {"code":code,"description":desc,"data":[],"source":"PartnerFD"} */
size_t scenario_api_error(long code, const char *desc, char *buf);
/* {"statusCode":429,"message":"Rate limit is exceeded. Try again in ..."} */
size_t scenario_throttle_body(unsigned seconds, char *buf);

#endif
