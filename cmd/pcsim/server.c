#include "server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include <microhttpd.h>

#include "buf.h"
#include "identity.h"
#include "customers.h"
#include "ids.h"
#include "scenario.h"
#include "tenantmap.h"
#include "timer.h"
#include "tokens.h"

#define CONNECTION_LIMIT 10000
#define LISTEN_BACKLOG 4096
#define IDLE_TIMEOUT_S 120
/*
 * Per-connection memory (request headers, reply headers). MHD 0.9.75
 * zeroes the whole pool after every request, so the 32 KiB default costs
 * a 32 KiB memset per request; 16 KiB still takes any real client's
 * headers, bearer tokens included.
 */
#define CONNECTION_MEMORY (16 * 1024)
/* A delayed answer queued later than this after its deadline is late. */
#define LATE_NS (10 * 1000000ull)
#define POST_MAX (64 * 1024)   /* token request bodies are tiny */
#define URL_MAX 2048
#define WWW_AUTHENTICATE \
	"OAuth realm=urn:cpsvc:cpid:1ef0a1c4-7c5e-4b6b-9d2f-5a4e0c1d9b37"

enum route {
	ROUTE_API,        /* /v1/customers/{id}/qualifications */
	ROUTE_CUSTOMERS,  /* /v1/customers: the list (customers.h) */
	ROUTE_API_OTHER,  /* another path under /v1/ */
	ROUTE_TOKEN_V1,
	ROUTE_TOKEN_V2,
	ROUTE_DEVICECODE,
	ROUTE_STATS,
	ROUTE_STATS_RESET,
	ROUTE_OTHER
};

/* Counters for /stats; relaxed atomics, each one exact on its own. */
struct stats {
	atomic_uint_fast64_t requests;
	atomic_uint_fast64_t by_status[600];
	atomic_uint_fast64_t throttled;
	atomic_uint_fast64_t throttled_first; /* in window 0 */
	atomic_uint_fast64_t dropped;
	atomic_uint_fast64_t violations;
	atomic_uint_fast64_t tokens_issued;
	atomic_uint_fast64_t unauthorized;
	atomic_int_fast64_t in_flight;
	atomic_int_fast64_t max_in_flight;
	atomic_uint_fast64_t delayed;      /* answers sent after a delay */
	atomic_uint_fast64_t late;         /* ... more than LATE_NS late */
	atomic_uint_fast64_t max_late_us;
	atomic_uint_fast64_t late_sum_us;  /* for the mean lateness */
	atomic_uint_fast64_t customer_pages; /* pages of the list served */
};

struct server {
	const struct pcsim_config *cfg;
	struct MHD_Daemon *daemon;
	struct timer *timer;
	struct tenant_map *tenants;
	struct customers *customers;
	struct tenant_map *pages;    /* the list's request counts */
	struct token_store *tokens;  /* NULL without --client-id */
	struct identity *identity;   /* the token endpoints' logic */
	struct data_set *data;
	struct scenario_rates rates;
	pthread_mutex_t bucket_mu;
	struct scenario_bucket bucket;   /* --throttle-rps */
	struct scenario_window window;   /* --throttle-window */
	uint64_t start_ns;
	unsigned port;
	struct stats st;
};

/*
 * One request's state, from its first handler call (headers only) to
 * MHD_OPTION_NOTIFY_COMPLETED. The answer is decided and built as a
 * complete MHD_Response as soon as the request is complete; a delayed
 * one waits in resp while the connection is suspended.
 */
struct req {
	struct server *srv;
	struct MHD_Connection *conn;
	enum route route;
	int counted;          /* in requests and in in_flight */
	int in_flight;        /* still counted in in_flight */
	int suspended;        /* waiting for the timer */
	int answered;         /* finish() ran */
	int drop;             /* close without answering */
	unsigned status;
	uint64_t deadline_ns; /* of a delayed answer */
	struct MHD_Response *resp;
	char *post;           /* urlencoded body, NUL-terminated */
	size_t post_len;
	int post_too_big;
};

/* A small fast PRNG per thread, for IDs the client did not send. */
static _Thread_local uint64_t rng_state;

static uint64_t rng_next(void)
{
	if(!rng_state) {
		uint64_t seed = 0;

		if(getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
			seed = (uint64_t)(uintptr_t)&seed ^
			       (uint64_t)time(NULL);
		rng_state = seed | 1;
	}
	rng_state += 0x9e3779b97f4a7c15ULL;
	return scenario_mix(rng_state);
}

/* A random version 4 UUID, lowercase. */
static void random_uuid(char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint64_t a = rng_next(), b = rng_next();
	uint8_t u[16];
	int j = 0;

	memcpy(u, &a, 8);
	memcpy(u + 8, &b, 8);
	u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
	u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
	for(int i = 0; i < 16; i++) {
		if(i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hex[u[i] >> 4];
		out[j++] = hex[u[i] & 15];
	}
	out[j] = '\0';
}

static void in_flight_add(struct stats *st)
{
	int_fast64_t now = atomic_fetch_add_explicit(&st->in_flight, 1,
						     memory_order_relaxed) + 1;
	int_fast64_t max = atomic_load_explicit(&st->max_in_flight,
						memory_order_relaxed);

	while(now > max && !atomic_compare_exchange_weak_explicit(
		      &st->max_in_flight, &max, now, memory_order_relaxed,
		      memory_order_relaxed))
		;
}

static void count(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static enum route route_of(const char *url, const char **id, size_t *idlen)
{
	static const char pre[] = "/v1/customers/";
	static const char suf[] = "/qualifications";
	const char *slash;

	if(!strcasecmp(url, "/v1/customers") ||
	   !strcasecmp(url, "/v1/customers/"))
		return ROUTE_CUSTOMERS;
	if(!strncasecmp(url, pre, sizeof(pre) - 1)) {
		const char *p = url + sizeof(pre) - 1;

		slash = strchr(p, '/');
		if(slash && !strcasecmp(slash, suf)) {
			*id = p;
			*idlen = (size_t)(slash - p);
			return ROUTE_API;
		}
		return ROUTE_API_OTHER;
	}
	if(!strncasecmp(url, "/v1/", 4))
		return ROUTE_API_OTHER;
	if(!strcmp(url, "/stats"))
		return ROUTE_STATS;
	if(!strcmp(url, "/stats/reset"))
		return ROUTE_STATS_RESET;
	slash = url[0] == '/' ? strchr(url + 1, '/') : NULL;
	if(slash && slash > url + 1) {
		if(!strcmp(slash, "/oauth2/token"))
			return ROUTE_TOKEN_V1;
		if(!strcmp(slash, "/oauth2/v2.0/token"))
			return ROUTE_TOKEN_V2;
		if(!strcmp(slash, "/oauth2/v2.0/devicecode"))
			return ROUTE_DEVICECODE;
	}
	return ROUTE_OTHER;
}

/*
 * Build r->resp from status and body (copied). ctype NULL: no
 * Content-Type. Returns 0, or -1 when MHD is out of memory.
 */
static int make_response(struct req *r, unsigned status, const char *body,
			 size_t len, const char *ctype)
{
	r->resp = MHD_create_response_from_buffer(len, (void *)body,
						  MHD_RESPMEM_MUST_COPY);
	if(!r->resp)
		return -1;
	r->status = status;
	if(ctype)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
	return 0;
}

static int json_reply(struct req *r, unsigned status, const char *body,
		      size_t len)
{
	return make_response(r, status, body, len, "application/json");
}

/* The API's request-tracing headers, echoed or made up. */
static void add_api_headers(struct req *r)
{
	const char *corr = MHD_lookup_connection_value(r->conn,
		MHD_HEADER_KIND, "MS-CorrelationId");
	const char *rid = MHD_lookup_connection_value(r->conn,
		MHD_HEADER_KIND, "MS-RequestId");
	char made[37];

	if(!rid || !*rid) {
		random_uuid(made);
		rid = made;
	}
	MHD_add_response_header(r->resp, "MS-RequestId", rid);
	if(corr && *corr)
		MHD_add_response_header(r->resp, "MS-CorrelationId", corr);
}

static int api_error(struct req *r, unsigned status, long code,
		     const char *desc)
{
	char body[SCENARIO_BODY_MAX];
	size_t len = scenario_api_error(code, desc, body);

	return json_reply(r, status, body, len);
}

enum auth { AUTH_OK, AUTH_MISSING, AUTH_DENIED };

static enum auth check_auth(struct server *s, struct MHD_Connection *c,
			    uint64_t now_ns)
{
	const char *h, *end;
	size_t len;

	if(!s->cfg->token && !s->tokens)
		return AUTH_OK;
	h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
					MHD_HTTP_HEADER_AUTHORIZATION);
	if(!h || !*h)
		return AUTH_MISSING;
	if(strncasecmp(h, "Bearer ", 7))
		return AUTH_DENIED;
	for(h += 7; *h == ' '; h++)
		;
	for(end = h + strlen(h); end > h && end[-1] == ' '; end--)
		;
	len = (size_t)(end - h);
	if(s->cfg->token && len == strlen(s->cfg->token) &&
	   !memcmp(h, s->cfg->token, len))
		return AUTH_OK;
	if(s->tokens &&
	   token_store_check(s->tokens, h, len, now_ns) == TOKEN_VALID)
		return AUTH_OK;
	return AUTH_DENIED;
}

/* An answer cut off mid-body: the first cut bytes of the scripted body
 * (borrowed from the data set, which outlives the server), then an error
 * that makes MHD close the connection. */
struct cut_body {
	const char *data;
	size_t len, cut;
};

static ssize_t read_cut(void *cls, uint64_t pos, char *out, size_t max)
{
	struct cut_body *c = cls;
	size_t n;

	if(pos >= c->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	n = c->cut - (size_t)pos;
	if(n > max)
		n = max;
	memcpy(out, c->data + pos, n);
	return (ssize_t)n;
}

static int cut_response(struct req *r, const struct data_answer *a)
{
	struct cut_body *c = malloc(sizeof(*c));

	if(!c)
		return -1;
	c->data = a->body ? a->body : "";
	c->len = a->body_len;
	c->cut = (size_t)a->cut_after < a->body_len ? (size_t)a->cut_after
						    : a->body_len;
	r->resp = MHD_create_response_from_callback(c->len, 4096, read_cut, c,
						    free);
	if(!r->resp) {
		free(c);
		return -1;
	}
	r->status = (unsigned)a->status;
	if(!a->has_content_type)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					"application/json");
	return 0;
}

/* The scripted answer a, with the API headers and a's own. */
static int scripted_reply(struct req *r, const struct data_answer *a)
{
	if(a->drop) {
		r->drop = 1;
		return 0;
	}
	if(a->cut_after >= 0) {
		if(cut_response(r, a))
			return -1;
	} else if(make_response(r, (unsigned)a->status,
				a->body ? a->body : "", a->body_len,
				a->has_content_type ? NULL
						    : "application/json")) {
		return -1;
	}
	for(size_t i = 0; i < a->nheaders; i++)
		MHD_add_response_header(r->resp, a->headers[i].name,
					a->headers[i].value);
	return 0;
}

/*
 * The generated answer of tenant h at its served request n: a fault
 * drawn for (h, n), else 404 for an unknown tenant, else its body.
 */
static int generated_reply(struct req *r, uint64_t h, uint32_t n)
{
	const struct pcsim_config *cfg = r->srv->cfg;
	char body[SCENARIO_BODY_MAX], whole[SCENARIO_BODY_MAX];
	struct scenario_profile p;
	size_t len;
	int html;

	switch(scenario_fault(&r->srv->rates, h, n)) {
	case FAULT_DROP:
		r->drop = 1;
		return 0;
	case FAULT_FAIL:
		return api_error(r, (unsigned)scenario_fail_status(h, n),
				 800003, "Unexpected service error");
	case FAULT_MALFORMED:
		scenario_profile(h, &p);
		p.bom = 0;
		len = scenario_render(&p, 0, whole);
		len = scenario_malformed(h, n, whole, len, body, &html);
		return make_response(r, 200, body, len, html ?
				     "text/html; charset=utf-8" :
				     "application/json");
	case FAULT_NONE:
		break;
	}
	if(scenario_unknown(h, cfg->unknown_rate))
		return api_error(r, 404, 60003, "Tenant not found");
	scenario_profile(h, &p);
	return json_reply(r, 200, body,
			  scenario_render(&p, cfg->doc_style, body));
}

/* A page of the customer list (or its error) as r's answer. */
static int page_reply(struct req *r, uint64_t h, uint32_t n, uint64_t now_ms)
{
	struct server *s = r->srv;
	char origin[64];
	struct customers_request q;
	struct customers_answer a;
	struct pl_err err;
	int rc;

	switch(scenario_fault(&s->rates, h, n)) {
	case FAULT_DROP:
		r->drop = 1;
		return 0;
	case FAULT_FAIL:
		return api_error(r, (unsigned)scenario_fail_status(h, n),
				 800003, "Unexpected service error");
	default:
		break;
	}
	snprintf(origin, sizeof(origin), "%s://127.0.0.1:%u",
		 s->cfg->tls_cert ? "https" : "http", s->port);
	q.size = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					     "size");
	q.seek = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					     "seekOperation");
	q.token = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					      "MS-ContinuationToken");
	q.origin = origin;
	q.now_ms = now_ms;
	if(customers_answer(s->customers, &q, scenario_fault(&s->rates, h, n)
			    == FAULT_MALFORMED, &a, &err))
		return -1;
	rc = json_reply(r, a.status, a.body, a.len);
	if(a.is_page)
		count(&s->st.customer_pages);
	free(a.body);
	return rc;
}

/*
 * Decide the answer to a request under /v1/ and build it in r, checking
 * in this order: token, path, method, tenant ID, throttle; then the
 * scripted answer, else the generated one. Returns the delay in ms, or
 * -1 when out of memory.
 */
static long decide_api(struct req *r, const char *method, const char *id,
		       size_t idlen)
{
	struct server *s = r->srv;
	const struct pcsim_config *cfg = s->cfg;
	const struct data_answer *scripted;
	uint64_t now_ns = pcsim_now_ns(), now_ms, h = 0;
	char lower[37], body[SCENARIO_BODY_MAX], num[16];
	uint8_t key[16];
	unsigned retry_after = 0;
	uint32_t n = 0;
	int violation, rc, first_window = 0;
	long delay = -1;
	enum auth auth;

	auth = check_auth(s, r->conn, now_ns);
	if(auth != AUTH_OK) {
		count(&s->st.unauthorized);
		rc = auth == AUTH_MISSING ?
			api_error(r, 401, 800001, "Partner Token missing in "
				  "request context") :
			api_error(r, 401, 400, "Access denied");
		if(!rc)
			MHD_add_response_header(r->resp, "WWW-Authenticate",
						WWW_AUTHENTICATE);
		goto out;
	}
	if(r->route != ROUTE_API && r->route != ROUTE_CUSTOMERS) {
		rc = api_error(r, 404, 1000, "Not found");
		goto out;
	}
	if(strcmp(method, MHD_HTTP_METHOD_GET) &&
	   strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		rc = api_error(r, 405, 405, "The requested resource does not "
			       "support this HTTP method");
		if(!rc)
			MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW,
						"GET, HEAD");
		goto out;
	}
	if(r->route == ROUTE_CUSTOMERS) {
		struct customers_request q = {0};

		q.size = MHD_lookup_connection_value(
			r->conn, MHD_GET_ARGUMENT_KIND, "size");
		q.token = MHD_lookup_connection_value(
			r->conn, MHD_HEADER_KIND, "MS-ContinuationToken");
		customers_key(&q, cfg->seed, key, &h);
	} else if(!scenario_parse_guid(id, idlen, lower, key)) {
		rc = api_error(r, 400, 400, "The customer tenant id must be "
			       "a GUID");
		goto out;
	} else {
		h = scenario_tenant_hash(lower, cfg->seed);
	}

	if(cfg->throttle_rps > 0 || cfg->window_ns) {
		pthread_mutex_lock(&s->bucket_mu);
		/* read under the lock: the quota sees time go forward */
		retry_after = cfg->window_ns ?
			scenario_window_take(&s->window, pcsim_now_ns(),
					     &first_window) :
			scenario_bucket_take(&s->bucket, pcsim_now_ns());
		pthread_mutex_unlock(&s->bucket_mu);
	}
	now_ms = (now_ns - s->start_ns) / 1000000u;
	tenant_map_visit(r->route == ROUTE_CUSTOMERS ? s->pages : s->tenants,
			 key, now_ms,
			 retry_after ? now_ms + retry_after * 1000ull : 0,
			 &n, &violation);
	if(violation)
		count(&s->st.violations);
	if(retry_after) {
		count(&s->st.throttled);
		if(first_window)
			count(&s->st.throttled_first);
		rc = json_reply(r, 429, body,
				scenario_throttle_body(retry_after, body));
		snprintf(num, sizeof(num), "%u", retry_after);
		if(!rc)
			MHD_add_response_header(r->resp,
						MHD_HTTP_HEADER_RETRY_AFTER,
						num);
		goto out;
	}
	scripted = r->route == ROUTE_CUSTOMERS ? NULL
					       : data_set_find(s->data, key, n);
	if(r->route == ROUTE_CUSTOMERS) {
		rc = page_reply(r, h, n, now_ms);
	} else if(scripted) {
		rc = scripted_reply(r, scripted);
		delay = scripted->latency_ms;
	} else {
		rc = generated_reply(r, h, n);
	}
out:
	if(rc)
		return -1;
	if(r->resp)
		add_api_headers(r);
	if(delay < 0)
		delay = (long)cfg->latency_ms +
			(long)scenario_jitter(h ? h : rng_next(), n,
					      cfg->jitter_ms);
	return delay;
}

/* scheme://Host and scheme://Host/path of the request, as the client
 * named them (a client assertion's aud must be the latter). */
static void request_urls(struct req *r, const char *path, char *base,
			 char *endpoint)
{
	const char *host = MHD_lookup_connection_value(r->conn,
		MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);

	snprintf(base, URL_MAX, "%s://%s", r->srv->cfg->tls_cert ? "https" :
		 "http", host ? host : "127.0.0.1");
	snprintf(endpoint, URL_MAX, "%s%s", base, path);
}

/* The token and device-code endpoints (identity.h). -1 on no memory. */
static int decide_token(struct req *r, const char *method, const char *url)
{
	struct server *s = r->srv;
	struct identity_request rq;
	struct identity_reply ir;
	char base[URL_MAX], endpoint[URL_MAX];
	int rc;

	static const char no_client[] = "{\"error\":\"not_found\","
		"\"error_description\":\"pcsim: no token endpoint without "
		"--client-id\"}";

	if(!s->tokens)
		return json_reply(r, 404, no_client, sizeof(no_client) - 1);
	request_urls(r, url, base, endpoint);
	rq.body = r->post ? r->post : "";
	rq.v2 = r->route != ROUTE_TOKEN_V1;
	rq.endpoint_url = endpoint;
	rq.base_url = base;
	identity_reply_init(&ir);
	if(strcmp(method, MHD_HTTP_METHOD_POST))
		rc = identity_error(&ir, 405, "invalid_request", 900561,
				    "The endpoint only accepts POST "
				    "requests.");
	else if(r->post_too_big)
		rc = identity_error(&ir, 413, "invalid_request", 90002,
				    "The request body is too large.");
	else if(r->route == ROUTE_DEVICECODE)
		rc = identity_devicecode(s->identity, &rq, &ir);
	else
		rc = identity_token(s->identity, &rq, &ir);
	if(!rc)
		rc = json_reply(r, ir.status, ir.body.data, ir.body.len);
	if(!rc && ir.status == 405)
		MHD_add_response_header(r->resp, MHD_HTTP_HEADER_ALLOW, "POST");
	if(!rc) {
		MHD_add_response_header(r->resp, "Cache-Control",
					"no-store, no-cache");
		MHD_add_response_header(r->resp, "Pragma", "no-cache");
		if(ir.issued)
			count(&s->st.tokens_issued);
		if(ir.unauthorized)
			count(&s->st.unauthorized);
	}
	identity_reply_release(&ir);
	return rc;
}

static int stats_reply(struct req *r)
{
	struct stats *st = &r->srv->st;
	struct buf body = BUF_INIT;
	enum pl_status bst;
	int first = 1, rc;

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), \
	memory_order_relaxed))
	bst = buf_addf(&body, "{\"requests\":%llu,\"by_status\":{",
		       LOAD(st->requests));
	for(unsigned i = 100; i < 600 && !bst; i++) {
		unsigned long long v = LOAD(st->by_status[i]);

		if(!v)
			continue;
		bst = buf_addf(&body, "%s\"%u\":%llu", first ? "" : ",", i, v);
		first = 0;
	}
	if(!bst)
		bst = buf_addf(&body,
			       "},\"throttled\":%llu,"
			       "\"throttled_first_window\":%llu,\"dropped\":%llu,"
			       "\"in_flight\":%lld,\"max_in_flight\":%lld,"
			       "\"retry_after_violations\":%llu,"
			       "\"tokens_issued\":%llu,\"unauthorized\":%llu,"
			       "\"tenants\":%zu,\"delayed\":%llu,\"late\":%llu,"
			       "\"max_late_ms\":%.3f,\"mean_late_ms\":%.3f,"
			       "\"customer_pages\":%llu",
			       LOAD(st->throttled), LOAD(st->throttled_first),
			       LOAD(st->dropped),
			       (long long)atomic_load(&st->in_flight),
			       (long long)atomic_load(&st->max_in_flight),
			       LOAD(st->violations), LOAD(st->tokens_issued),
			       LOAD(st->unauthorized),
			       tenant_map_size(r->srv->tenants),
			       LOAD(st->delayed), LOAD(st->late),
			       (double)LOAD(st->max_late_us) / 1000,
			       LOAD(st->delayed)
				      ? (double)LOAD(st->late_sum_us) / 1000 /
						(double)LOAD(st->delayed)
				      : 0.0,
			      LOAD(st->customer_pages));
#undef LOAD
	if(!bst && identity_stats(r->srv->identity, &body))
		bst = PL_ENOMEM;
	if(!bst)
		bst = buf_addstr(&body, "}\n");
	rc = bst ? -1 : json_reply(r, 200, body.data, body.len);
	buf_release(&body);
	return rc;
}

static void stats_reset(struct stats *st)
{
	atomic_store(&st->requests, 0);
	for(unsigned i = 0; i < 600; i++)
		atomic_store(&st->by_status[i], 0);
	atomic_store(&st->throttled, 0);
	atomic_store(&st->throttled_first, 0);
	atomic_store(&st->dropped, 0);
	atomic_store(&st->violations, 0);
	atomic_store(&st->tokens_issued, 0);
	atomic_store(&st->unauthorized, 0);
	atomic_store(&st->delayed, 0);
	atomic_store(&st->late, 0);
	atomic_store(&st->max_late_us, 0);
	atomic_store(&st->late_sum_us, 0);
	atomic_store(&st->customer_pages, 0);
	/* A gauge is not zeroed: its maximum restarts from the present. */
	atomic_store(&st->max_in_flight, atomic_load(&st->in_flight));
}

/* Hand the built answer to MHD (or drop the connection). */
static enum MHD_Result finish(struct req *r)
{
	struct stats *st = &r->srv->st;
	enum MHD_Result ret;

	r->answered = 1;
	r->suspended = 0;
	if(r->in_flight) {
		atomic_fetch_sub_explicit(&st->in_flight, 1,
					  memory_order_relaxed);
		r->in_flight = 0;
	}
	if(r->drop || !r->resp) {
		if(r->drop)
			count(&st->dropped);
		return MHD_NO;
	}
	ret = MHD_queue_response(r->conn, r->status, r->resp);
	MHD_destroy_response(r->resp);
	r->resp = NULL;
	if(r->counted && r->status < 600)
		count(&st->by_status[r->status]);
	return ret;
}

/* How late a delayed answer is: "on time" is checked, not assumed. */
static void note_lateness(struct stats *st, uint64_t deadline_ns)
{
	uint64_t now = pcsim_now_ns();
	uint64_t late = now > deadline_ns ? now - deadline_ns : 0;
	uint_fast64_t us = late / 1000, max;

	count(&st->delayed);
	atomic_fetch_add_explicit(&st->late_sum_us, us, memory_order_relaxed);
	if(late > LATE_NS)
		count(&st->late);
	max = atomic_load_explicit(&st->max_late_us, memory_order_relaxed);
	while(us > max && !atomic_compare_exchange_weak_explicit(
		      &st->max_late_us, &max, us, memory_order_relaxed,
		      memory_order_relaxed))
		;
}

static void resume_cb(void *arg)
{
	struct req *r = arg;

	MHD_resume_connection(r->conn);
}

/*
 * Keep a request body (a token request's form) up to POST_MAX bytes,
 * NUL-terminated; beyond that only remember it was too big. Returns -1
 * when out of memory.
 */
static int append_upload(struct req *r, const char *data, size_t n)
{
	char *p;

	if(r->post_too_big || r->post_len + n > POST_MAX) {
		r->post_too_big = 1;
		return 0;
	}
	p = realloc(r->post, r->post_len + n + 1);
	if(!p)
		return -1;
	memcpy(p + r->post_len, data, n);
	r->post = p;
	r->post_len += n;
	r->post[r->post_len] = '\0';
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	struct server *s = cls;
	struct req *r = *con_cls;
	const char *id = NULL;
	size_t idlen = 0;
	long delay = 0;
	int rc = 0;

	if(!r) {
		r = calloc(1, sizeof(*r));
		if(!r)
			return MHD_NO;
		r->srv = s;
		r->conn = conn;
		*con_cls = r;
		r->route = route_of(url, &id, &idlen);
		if(r->route != ROUTE_STATS && r->route != ROUTE_STATS_RESET) {
			r->counted = r->in_flight = 1;
			count(&s->st.requests);
			in_flight_add(&s->st);
		}
		/* Answer in a later call, after the whole request: MHD
		 * 0.9.75 closes the connection after an answer queued on
		 * this first call, which would defeat keep-alive. */
		return MHD_YES;
	}
	if(r->suspended) {  /* the timer resumed us: the answer is ready */
		note_lateness(&s->st, r->deadline_ns);
		return finish(r);
	}
	if(*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		return append_upload(r, upload_data, n) ? MHD_NO : MHD_YES;
	}
	if(r->answered)  /* MHD has the answer already */
		return MHD_YES;

	switch(r->route) {
	case ROUTE_API:
	case ROUTE_API_OTHER:
	case ROUTE_CUSTOMERS:
		route_of(url, &id, &idlen);
		delay = decide_api(r, method, id, idlen);
		rc = delay < 0 ? -1 : 0;
		break;
	case ROUTE_TOKEN_V1:
	case ROUTE_TOKEN_V2:
	case ROUTE_DEVICECODE:
		rc = decide_token(r, method, url);
		delay = s->cfg->token_delay_ms;
		break;
	case ROUTE_STATS:
		rc = stats_reply(r);
		break;
	case ROUTE_STATS_RESET:
		if(strcmp(method, MHD_HTTP_METHOD_POST)) {
			rc = api_error(r, 405, 405, "Use POST /stats/reset");
			break;
		}
		stats_reset(&s->st);
		identity_stats_reset(s->identity);
		rc = json_reply(r, 200, "{\"reset\":true}\n", 15);
		break;
	case ROUTE_OTHER:
		rc = api_error(r, 404, 1000, "Not found");
		break;
	}
	if(rc)
		return MHD_NO;
	if(delay > 0) {
		r->suspended = 1;
		r->deadline_ns = pcsim_now_ns() + (uint64_t)delay * 1000000u;
		MHD_suspend_connection(conn);
		/* The order matters: a connection must be suspended before
		 * anything may resume it. */
		if(timer_add(s->timer, r->deadline_ns, r))
			MHD_resume_connection(conn);
		return MHD_YES;
	}
	return finish(r);
}

static void completed(void *cls, struct MHD_Connection *conn,
		      void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct req *r = *con_cls;

	if(!r)
		return;
	if(r->in_flight)
		atomic_fetch_sub_explicit(&s->st.in_flight, 1,
					  memory_order_relaxed);
	if(r->resp)
		MHD_destroy_response(r->resp);
	free(r->post);
	free(r);
	*con_cls = NULL;
}

enum pl_status server_start(const struct pcsim_config *cfg,
			    struct data_set *data, struct server **out,
			    struct pl_err *err)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_AUTO | MHD_USE_INTERNAL_POLLING_THREAD |
			 MHD_ALLOW_SUSPEND_RESUME;
	enum pl_status st;

	*out = NULL;
	if(!s) {
		data_set_free(data);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	s->cfg = cfg;
	s->data = data;
	s->start_ns = pcsim_now_ns();
	s->rates.drop = cfg->drop_rate;
	s->rates.fail = cfg->fail_rate;
	s->rates.malformed = cfg->malformed_rate;
	pthread_mutex_init(&s->bucket_mu, NULL);
	if(cfg->throttle_rps > 0)
		scenario_bucket_init(&s->bucket, cfg->throttle_rps,
				     cfg->throttle_burst, s->start_ns);
	if(cfg->window_ns)
		scenario_window_init(&s->window, cfg->window_limit,
				     cfg->window_ns);
	s->tenants = tenant_map_new();
	s->pages = tenant_map_new();
	s->customers = customers_new(&cfg->customers, data);
	s->timer = timer_new(resume_cb);
	if(cfg->client_id)
		s->tokens = token_store_new();
	if(!s->tenants || !s->pages || !s->customers || !s->timer ||
	   (cfg->client_id && !s->tokens)) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto fail;
	}
	st = identity_new(cfg, s->tokens, &s->identity, err);
	if(st)
		goto fail;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons((uint16_t)cfg->port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if(cfg->tls_cert) {
		if(MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			st = pl_fail(err, PL_EUSAGE, "this libmicrohttpd has "
				     "no TLS support");
			goto fail;
		}
		flags |= MHD_USE_TLS;
	}
	struct MHD_OptionItem tls_opts[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, cfg->tls_cert},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, cfg->tls_key},
		{MHD_OPTION_END, 0, NULL}
	};
	s->daemon = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL,
		handle, s,
		MHD_OPTION_ARRAY, cfg->tls_cert ? tls_opts : tls_opts + 2,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
		MHD_OPTION_THREAD_POOL_SIZE,
		(unsigned)(cfg->threads > 1 ? cfg->threads : 0),
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)LISTEN_BACKLOG,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
		MHD_OPTION_NOTIFY_COMPLETED, completed, s,
		MHD_OPTION_END);
	if(!s->daemon) {
		st = pl_fail(err, PL_EUSAGE, "cannot listen on 127.0.0.1:%u",
			     cfg->port);
		goto fail;
	}
	info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	*out = s;
	return PL_OK;
fail:
	server_stop(s);
	return st;
}

unsigned server_port(const struct server *s)
{
	return s->port;
}

void server_stop(struct server *s)
{
	if(!s)
		return;
	/* Resume every suspended connection first: MHD must not be
	 * stopped while one is suspended. Requests arriving later are
	 * answered without delay, because timer_add() now refuses. */
	if(s->timer)
		timer_stop(s->timer);
	if(s->daemon)
		MHD_stop_daemon(s->daemon);
	timer_free(s->timer);
	tenant_map_free(s->tenants);
	identity_free(s->identity);
	tenant_map_free(s->pages);
	customers_free(s->customers);
	token_store_free(s->tokens);
	data_set_free(s->data);
	pthread_mutex_destroy(&s->bucket_mu);
	free(s);
}
