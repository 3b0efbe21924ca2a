/*
 * fetch.c: the fetch engine, one libcurl multi handle and one loop (the
 * shape of curl's own parallel_transfers()), in four phases like libuv's
 * uv_run (see run()):
 *
 *   fill   start attempts up to the cap, due retries first (make_request:
 *          how a job, a tenant or a page of the customer list, becomes a
 *          request)
 *   poll   wait for socket events up to the next deadline (loop.h)
 *   drain  curl_multi_socket_action on each ready socket and on libcurl's
 *          timer when due, then curl_multi_info_read: attempt_done()
 *          decides what an answer means (finish, or schedule a retry)
 *   tick   progress and back-pressure, every 100 ms
 *
 * The pieces around it: url_check (which URLs), httpopt (the hardening of
 * every handle), answer (what arrives, checked and decoded as it comes),
 * outcome (what a finished attempt means: retry, an Error row, or the end
 * of the run, and its words), curlmem (libcurl's allocations counted),
 * waitq (retries waiting for their time), loop/loop_epoll (the event
 * loop), retry and ratelimit (pure policies).
 *
 * Event-driven (CURLMOPT_SOCKETFUNCTION/TIMERFUNCTION into the loop's set)
 * rather than curl_multi_poll + curl_multi_perform: each wake of that pair
 * costs O(handles) (poll(2) over every socket, then a visit of every
 * handle), and when answers trickle in, as they do from a real API, it
 * wakes two or three times per answer; socket_action touches only the
 * sockets that are ready. Measured at 20 ms latency, -j 64: 20% less CPU
 * and 1.5% less wall time (bench/README.md).
 *
 * The cap is enforced by counting the handles added (never by
 * CURLMOPT_MAX_TOTAL_CONNECTIONS, whose internal queue would eat the
 * per-attempt timeout). Retries wait in a min-heap (waitq.h) on their
 * not-before time and take no in-flight slot; a due retry goes before new
 * jobs. The poll timeout is the time until the next retry is due or the
 * rate limiter lets the next attempt go (a token, or the end of a
 * pool-wide pause: ratelimit.h) or libcurl's timer fires, and never more
 * than 100 ms, so *stop and the progress tick are served promptly;
 * nothing ever sleep()s.
 *
 * Cheap per request: easy handles are made once per slot and reused (with
 * their connection, through the multi's connection cache, and their TLS
 * session, through a share handle), the header list is patched in place
 * (only MS-RequestId changes between attempts; the list is rebuilt when
 * the token changes), body buffers are kept across attempts and job
 * records come from a free list.
 *
 * fetch_run() initialises libcurl itself (curlmem_init: reference-
 * counted like curl_global_init, so a caller that did already loses
 * nothing; one that wants libcurl's allocations counted calls
 * curlmem_init first).
 */
#include "fetch.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "answer.h"
#include "buf.h"
#include "curlmem.h"
#include "httpopt.h"
#include "ids.h"
#include "log.h"
#include "loop.h"
#include "norm.h"
#include "now.h"
#include "outcome.h"
#include "ratelimit.h"
#include "retry.h"
#include "url_check.h"
#include "waitq.h"

#define TICK_US 100000              /* poll at least this often */
#define DEFAULT_TIMEOUT_MS 60000L
#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define BODY_KEEP (256 * 1024)      /* keep smaller buffers for reuse */
#define JOB_CHUNK 64
#define MAX_EVENTS 64               /* ready sockets taken per wake */
/* socket_action failures in a row before libcurl is given up on: its
 * timer is what times transfers out, so a multi handle that fails on
 * every call would otherwise spin for ever */
#define MULTI_ERRORS_MAX 1000

#define PATH_PREFIX "/v1/customers/"
#define PATH_SUFFIX "/qualifications"
#define RID_HEADER "MS-RequestId: "

/* One tenant in progress: in flight, waiting for a retry, or free. */
struct job {
	struct fetch_job in;
	unsigned attempts;       /* requests started */
	unsigned answers;        /* HTTP answers received (any status) */
	unsigned reauths;        /* retries after a 401 renewal (<= 1) */
	long last_status;        /* last HTTP status seen; 0 = none */
	int64_t sent_us;         /* in flight: started at */
	unsigned gen;            /* token generation of the last attempt */
	char request_id[GUID_STR_LEN + 1];
	struct job *next_free;
};

struct job_chunk {
	struct job_chunk *next;
	struct job jobs[JOB_CHUNK];
};

/* One in-flight slot: an easy handle with its buffers. */
struct xfer {
	CURL *easy;
	struct job *job;          /* NULL when idle */
	struct curl_slist *headers;
	struct curl_slist *rid;   /* the MS-RequestId line, patched */
	/* A page's own header lines, linked after rid while it is in
	 * flight (the shared lines are not copied per page). */
	struct curl_slist *extra;
	int has_headers;
	unsigned header_gen;      /* token generation in the headers */
	struct answer ans;        /* what arrives, checked (answer.h) */
	bool page;                /* the request is a page of the list */
	unsigned long curl_failures; /* curlmem_failures() at the start */
	char errbuf[CURL_ERROR_SIZE];
	/* errbuf held words before this attempt's answer began: a dead
	 * kept-alive connection's, from before libcurl resent the request
	 * on a fresh one (it keeps a transfer's first message) */
	bool stale_words;
};

struct fetch_engine {
	const struct fetch_config *cfg;
	fetch_next_fn next;
	fetch_done_fn done;
	fetch_tick_fn on_tick;    /* may be NULL */
	void *ctx;
	struct pl_err *err;

	CURLM *multi;
	CURLSH *share;
	struct loop *loop;        /* the sockets libcurl asked us to watch */
	int64_t curl_due_us;      /* libcurl's timer; -1 = none */
	int sock_failed;          /* on_socket could not watch a socket */
	struct pl_err sock_err;   /* why */
	int curl_inited;
	struct xfer *xfers;       /* concurrency slots, handles made lazily */
	unsigned nxfers;          /* slots with a handle */
	struct xfer **idle;       /* stack of idle slots */
	unsigned nidle;
	unsigned in_flight;
	unsigned cap;             /* cfg->concurrency */

	struct waitq waiting;     /* retries not yet due (data: struct job) */
	struct job_chunk *chunks;
	struct job *free_jobs;

	struct ratelimit rl;
	double logged_cap;
	int64_t logged_pause_us;  /* the pause last logged */
	int pause_logged;
	unsigned logged_gen;      /* token generation last logged */
	int throttle_logged;
	uint64_t rng;
	int exhausted;            /* next() returned -1 */
	int starved;              /* next() returned 0: ask after an event */
	bool echoes_id;           /* the server echoes MS-RequestId */
	bool cut;                 /* the deadline passed: send nothing */
	bool wait_refusal_logged;
	int64_t max_retry_wait_ms;
	unsigned long curl_failures; /* curlmem_failures() at the start */
	unsigned multi_errors;    /* socket_action failures in a row */
	CURLMcode logged_mc;      /* the last one logged */
	int64_t last_tick_us;

	char *url;                /* base + PATH_PREFIX + tenant + SUFFIX */
	size_t url_tenant;        /* offset of the tenant in url */
	struct buf page_url;      /* base + a page's path */
	long timeout_ms;
	long connect_timeout_ms;
	struct fetch_stats st;
};

static bool is_stop_requested(const struct fetch_engine *e)
{
	return e->cfg->stop && *e->cfg->stop;
}

/* ---- job records ----------------------------------------------------- */

static struct job *job_get(struct fetch_engine *e)
{
	struct job *j;

	if(!e->free_jobs) {
		struct job_chunk *c = malloc(sizeof(*c));

		if(!c)
			return NULL;
		c->next = e->chunks;
		e->chunks = c;
		for(int i = JOB_CHUNK - 1; i >= 0; i--) {
			c->jobs[i].next_free = e->free_jobs;
			e->free_jobs = &c->jobs[i];
		}
	}
	j = e->free_jobs;
	e->free_jobs = j->next_free;
	return j;
}

static void job_put(struct fetch_engine *e, struct job *j)
{
	j->next_free = e->free_jobs;
	e->free_jobs = j;
}

/* ---- transfers: a slot's easy handle and buffers --------------------- */

/* libcurl's callbacks hand everything to the answer module; a false
 * from it (a fault, kept in x->ans) makes libcurl abort the transfer
 * and close its connection. */
static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;

	return answer_body(&x->ans, data, len) ? len : 0;
}

static size_t on_header(char *line, size_t size, size_t n, void *userp)
{
	struct xfer *x = userp;
	size_t len = size * n;

	if(!x->ans.header_bytes && x->errbuf[0])
		x->stale_words = true;
	return answer_header(&x->ans, line, len) ? len : 0;
}

static enum pl_status xfer_create(struct fetch_engine *e, struct xfer *x)
{
	const struct fetch_config *cfg = e->cfg;
	const struct httpopt hardening = {cfg->cacert, HTTPOPT_USER_AGENT};
	CURL *c = curl_easy_init();
	enum pl_status st;

	if(!c)
		return pl_fail(e->err, PL_ENOMEM, "cannot create a transfer");
	st = httpopt_harden(c, &hardening, e->err);
	if(st) {
		curl_easy_cleanup(c);
		return st;
	}
	x->easy = c;
	answer_init(&x->ans);
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION,
			 (long)CURL_HTTP_VERSION_2TLS);
	/* Over TLS, wait for the first handshake to say (ALPN) whether the
	 * connection multiplexes, rather than opening one connection per
	 * request. Not for plain http (loopback): there libcurl learns it
	 * only from the first response, and one slow answer would hold
	 * every other request back, eating their timeout. */
	curl_easy_setopt(c, CURLOPT_PIPEWAIT,
			 (long)!strncasecmp(cfg->base_url, "https:", 6));
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, e->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, e->connect_timeout_ms);
	/* Our decoder (answer.c), not libcurl's: it tells a truncated or
	 * corrupt stream and a bomb apart under the body limit, and it
	 * knows what was asked for. */
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip, deflate");
	curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	if(e->share)
		curl_easy_setopt(c, CURLOPT_SHARE, e->share);
	e->nxfers++;
	return PL_OK;
}

/* A page's header lines off the slot's list. */
static void unlink_extra(struct xfer *x)
{
	if(!x->extra)
		return;
	x->rid->next = NULL;
	curl_slist_free_all(x->extra);
	x->extra = NULL;
}

static void xfer_release(struct fetch_engine *e, struct xfer *x)
{
	unlink_extra(x);
	x->job = NULL;
	/* one huge answer must not pin megabytes per slot for the run, nor
	 * a page of the list (hundreds of KB) a buffer in every slot it
	 * ever passed through */
	buf_trim(&x->ans.body, x->page ? 0 : BODY_KEEP);
	e->idle[e->nidle++] = x;
}

/* ---- requests: how a job becomes one --------------------------------- */

static void wipe_headers(struct xfer *x)
{
	/* the Authorization line holds the token: leave no copy behind */
	for(struct curl_slist *h = x->headers; h; h = h->next)
		OPENSSL_cleanse(h->data, strlen(h->data));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	x->rid = NULL;
	x->has_headers = 0;
}

static enum pl_status build_headers(struct fetch_engine *e, struct xfer *x,
				    const char *token, unsigned gen)
{
	struct curl_slist *list = NULL, *grown;
	char line[128];
	char *auth_line = NULL;
	size_t alen;

	if(x->has_headers && x->header_gen == gen)
		return PL_OK;
	wipe_headers(x);
	if(token) {
		alen = strlen("Authorization: Bearer ") + strlen(token) + 1;
		auth_line = malloc(alen);
		if(!auth_line)
			return pl_fail(e->err, PL_ENOMEM, "out of memory");
		snprintf(auth_line, alen, "Authorization: Bearer %s", token);
		list = curl_slist_append(list, auth_line);
		OPENSSL_cleanse(auth_line, alen);
		free(auth_line);
		if(!list)
			goto nomem;
	}
	grown = curl_slist_append(list, "Accept: application/json");
	if(!grown)
		goto nomem;
	list = grown;
	snprintf(line, sizeof(line), "MS-CorrelationId: %s",
		 e->cfg->correlation_id);
	grown = curl_slist_append(list, line);
	if(!grown)
		goto nomem;
	list = grown;
	/* a placeholder of the right length, patched per attempt */
	snprintf(line, sizeof(line), RID_HEADER "%0*d", GUID_STR_LEN, 0);
	grown = curl_slist_append(list, line);
	if(!grown)
		goto nomem;
	list = grown;
	x->headers = list;
	while(grown->next)
		grown = grown->next;
	x->rid = grown;
	x->has_headers = 1;
	x->header_gen = gen;
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	return PL_OK;
nomem:
	x->headers = list;
	wipe_headers(x);
	return pl_fail(e->err, PL_ENOMEM, "out of memory");
}

/* What a job is called in request IDs and log lines. */
static const char *job_name(const struct job *j)
{
	return j->in.kind == FETCH_PAGE ? j->in.label : j->in.tenant_id;
}

/* A page's URL (base + path) in e->page_url and its header lines in
 * x->extra, not linked yet. */
static enum pl_status page_request(struct fetch_engine *e, struct xfer *x,
				   const struct job *j)
{
	struct curl_slist *extra = NULL, *grown;
	size_t blen = e->url_tenant - strlen(PATH_PREFIX);

	buf_reset(&e->page_url);
	if(buf_add(&e->page_url, e->url, blen) ||
	   buf_addstr(&e->page_url, j->in.path))
		return pl_fail(e->err, PL_ENOMEM, "out of memory");
	for(size_t i = 0; i < j->in.nheaders; i++) {
		grown = curl_slist_append(extra, j->in.headers[i]);
		if(!grown) {
			curl_slist_free_all(extra);
			return pl_fail(e->err, PL_ENOMEM, "out of memory");
		}
		extra = grown;
	}
	x->extra = extra;
	return PL_OK;
}

/*
 * How a job becomes a request: the one place that knows the API's URL
 * and header lines. A tenant: GET {base}/v1/customers/{tenant}/
 * qualifications; a page: GET {base}{path} with its own header lines
 * after the shared ones. Both with Authorization: Bearer (when there are
 * credentials), Accept, MS-CorrelationId and an MS-RequestId that is
 * fresh after each answer (ids.h, named by the tenant or the page's
 * label). The shared header list is rebuilt only when the token changes
 * and is otherwise patched in place, like the tenant URL. On failure the
 * slot is as the caller gave it, ready for another try.
 */
static enum pl_status make_request(struct fetch_engine *e, struct xfer *x,
				   struct job *j)
{
	const struct fetch_config *cfg = e->cfg;
	const char *token = NULL;
	unsigned gen = 0;
	enum pl_status st;

	if(cfg->auth) {
		st = auth_token(cfg->auth, &token, e->err);
		if(st)
			return st;
		gen = auth_generation(cfg->auth);
	}
	st = build_headers(e, x, token, gen);
	if(!st && j->in.kind == FETCH_PAGE)
		st = page_request(e, x, j);
	if(st)
		return st;
	j->gen = gen;
	ids_request_id(cfg->correlation_id, job_name(j), j->answers,
		       j->request_id);
	memcpy(x->rid->data + strlen(RID_HEADER), j->request_id,
	       GUID_STR_LEN);
	x->rid->next = x->extra;
	/* set every time: the slot's last request may have been a page */
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	if(j->in.kind == FETCH_PAGE) {
		curl_easy_setopt(x->easy, CURLOPT_URL, e->page_url.data);
		return PL_OK;
	}
	memcpy(e->url + e->url_tenant, j->in.tenant_id, GUID_STR_LEN);
	curl_easy_setopt(x->easy, CURLOPT_URL, e->url);
	return PL_OK;
}

static enum pl_status decide(struct fetch_engine *e, struct xfer *x,
			     struct job *j, const struct outcome *o,
			     int64_t now);

/* Start the next attempt of j now, in an idle slot (made if need be).
 * *taken: j was handed on (finished or waiting) even if this fails. */
static enum pl_status start_attempt(struct fetch_engine *e, struct job *j,
				    int64_t now, bool *taken)
{
	struct xfer *x;
	struct outcome o;
	enum pl_status st;
	CURLMcode mc;

	if(!e->nidle) {
		st = xfer_create(e, &e->xfers[e->nxfers]);
		if(st)
			return st;
		e->idle[e->nidle++] = &e->xfers[e->nxfers - 1];
	}
	x = e->idle[e->nidle - 1];
	st = make_request(e, x, j);
	if(st)
		return st;
	e->nidle--;
	if(j->attempts)
		e->st.retries++;
	j->attempts++;
	j->sent_us = now;
	x->job = j;
	x->page = j->in.kind == FETCH_PAGE;
	answer_start(&x->ans, j->request_id, e->echoes_id, now_wall_ms(),
		     x->page ? FETCH_PAGE_MAX_BODY : NORM_MAX_BODY, BODY_KEEP);
	x->curl_failures = curlmem_failures();
	x->errbuf[0] = '\0';
	x->stale_words = false;
	mc = curl_multi_add_handle(e->multi, x->easy);
	if(mc) {
		/* one transfer libcurl would not take: a failed attempt,
		 * unless it is our memory */
		if(outcome_multi_kind(mc, true,
				      !curlmem_is_counting() ||
				      curlmem_failures() != x->curl_failures)
		   == OUTCOME_MULTI_FATAL) {
			xfer_release(e, x);
			return pl_fail(e->err, PL_ENOMEM,
				       "cannot start a transfer: %s",
				       curl_multi_strerror(mc));
		}
		memset(&o, 0, sizeof(o));
		o.action = OUTCOME_RETRY;
		snprintf(o.why, sizeof(o.why), "cannot start the transfer: %s",
			 curl_multi_strerror(mc));
		log_warn("%s%s: %s", j->in.kind == FETCH_PAGE ? "" : "tenant ",
			 job_name(j), o.why);
		e->st.requests++;
		*taken = true;
		return decide(e, x, j, &o, now);
	}
	ratelimit_take(&e->rl, now);
	e->in_flight++;
	e->st.requests++;
	if(e->in_flight > e->st.max_in_flight)
		e->st.max_in_flight = e->in_flight;
	if(log_enabled(LOG_DEBUG))
		log_debug("GET %s (attempt %u)", j->in.kind == FETCH_PAGE ?
			  e->page_url.data : e->url, j->attempts);
	return PL_OK;
}

/* Only hex digits and dashes reach the URL. */
static bool is_canonical_tenant(const char *t)
{
	size_t i;

	for(i = 0; t[i]; i++)
		if(!isxdigit((unsigned char)t[i]) && t[i] != '-')
			return false;
	return i == GUID_STR_LEN;
}

/* No byte of s ends a header line or breaks a URL: the caller's page
 * path and header lines are checked, not trusted. */
static bool is_clean(const char *s, bool is_url)
{
	for(; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if(c < 0x20 ? !(c == '\t' && !is_url)
			    : c == 0x7f || (is_url && (c == ' ' || c >= 0x80)))
			return false;
	}
	return true;
}

static bool is_sound_page(const struct fetch_job *in)
{
	if(!in->path || in->path[0] != '/' || !is_clean(in->path, true) ||
	   !in->label || !*in->label || (in->nheaders && !in->headers))
		return false;
	for(size_t i = 0; i < in->nheaders; i++)
		if(!in->headers[i] || !is_clean(in->headers[i], false))
			return false;
	return true;
}

/* ---- answers: what the end of an attempt means ----------------------- */

/* The failure text of a cut tenant; finish() knows it by its address. */
static const char deadline_why[] = FETCH_DEADLINE_TEXT;

/* Hand the tenant's final outcome to the caller and free its slot (x
 * NULL: it has none, it was waiting). */
static enum pl_status finish(struct fetch_engine *e, struct xfer *x,
			     struct job *j, int with_body,
			     const char *failure)
{
	struct fetch_result r;
	enum pl_status st;

	memset(&r, 0, sizeof(r));
	r.seq = j->in.seq;
	r.kind = j->in.kind;
	r.tenant_id = job_name(j);
	r.http_status = j->last_status;
	r.attempts = j->attempts;
	memcpy(r.request_id, j->request_id, sizeof(r.request_id));
	if(with_body && x) {
		r.body = x->ans.body.data;
		r.body_len = x->ans.body.len;
	}
	r.failure = failure;
	r.unfinished = failure == deadline_why;
	if(r.unfinished)
		e->st.cut++;
	if(log_enabled(LOG_DEBUG))
		log_debug("%s%s done: HTTP %ld, %u attempts%s%s",
			  j->in.kind == FETCH_PAGE ? "" : "tenant ",
			  job_name(j), j->last_status, j->attempts,
			  failure ? ": " : "", failure ? failure : "");
	st = e->done(e->ctx, &r, e->err);
	e->st.done++;
	if(x)
		xfer_release(e, x);
	job_put(e, j);
	if(st)
		return st;
	if(is_stop_requested(e))
		return pl_fail(e->err, PL_EINTERRUPTED, "interrupted");
	return PL_OK;
}

static enum pl_status wait_retry(struct fetch_engine *e, struct xfer *x,
				 struct job *j, int64_t due_us)
{
	/* past the deadline nothing waits: nothing would send it */
	if(e->cut)
		return finish(e, x, j, 0, deadline_why);
	xfer_release(e, x);
	if(waitq_push(&e->waiting, due_us, j->in.seq, j)) {
		job_put(e, j);
		return pl_fail(e->err, PL_ENOMEM, "out of memory");
	}
	return PL_OK;
}

static enum pl_status reauth(struct fetch_engine *e, struct xfer *x,
			     struct job *j, int64_t now)
{
	enum pl_status st;

	if(!e->cfg->auth)
		st = pl_fail(e->err, PL_EAUTH,
			     "401 Unauthorized from the API and no "
			     "credentials were given");
	else if(j->reauths)
		st = pl_fail(e->err, PL_EAUTH,
			     "401 Unauthorized from the API after renewing "
			     "the token: the credentials are not accepted "
			     "for this partner");
	else
		st = auth_renew_after_401(e->cfg->auth, j->gen, e->err);
	if(st) {
		xfer_release(e, x);
		job_put(e, j);
		return st;
	}
	/* many requests in flight with the old token: say it once */
	if(auth_generation(e->cfg->auth) != e->logged_gen) {
		e->logged_gen = auth_generation(e->cfg->auth);
		log_info("401 Unauthorized from the API: token renewed, "
			 "retrying");
	}
	j->reauths++;
	return wait_retry(e, x, j, now);
}

/*
 * The wait a 429 asks for, in ms, -1 for none: its Retry-After, else the
 * "Try again in N seconds" of its body (Partner Center's own words).
 */
static int64_t quota_wait_ms(const struct xfer *x)
{
	if(x->ans.retry_after_ms >= 0)
		return x->ans.retry_after_ms;
	return retry_parse_body_wait(x->ans.body.data, x->ans.body.len);
}

/* Say what the rate control learned, once; later changes at debug. */
static void log_quota(struct fetch_engine *e, int64_t now, int64_t wait_ms)
{
	double cap = ratelimit_cap(&e->rl);
	int64_t until = ratelimit_paused_until(&e->rl, now);
	char secs[32];

	if(until > e->logged_pause_us) {
		/* a new pause: the quota is spent */
		snprintf(secs, sizeof(secs), "%.0f",
			 (double)(until - now) / 1e6 + 0.499);
		if(!e->pause_logged)
			log_info("the API's quota is spent (429, try again in "
				 "%" PRId64 " s): no request starts for %s s, "
				 "then each window's %u requests, waiting "
				 "for the next", wait_ms / 1000, secs,
				 ratelimit_window_budget(&e->rl));
		else
			log_debug("the API's quota is spent: resuming in %s s",
				  secs);
		e->pause_logged = 1;
	}
	e->logged_pause_us = until;
	/* with --rate the cap starts at the rate: only a cut is news */
	if(e->logged_cap == 0 && e->cfg->rate > 0)
		e->logged_cap = e->cfg->rate;
	if(cap > 0 && (e->logged_cap == 0 || cap < e->logged_cap)) {
		if(!e->throttle_logged)
			log_info("the API throttles (429): sending at most "
				 "%.1f requests/s, adapting", cap);
		else
			log_debug("send-rate cap lowered to %.1f/s", cap);
		e->throttle_logged = 1;
	}
	e->logged_cap = cap;
}

/* The first Retry-After over --max-retry-wait is news; the rest are
 * the same news. */
static void log_wait_refused(struct fetch_engine *e, const struct job *j,
			     const char *why)
{
	if(e->wait_refusal_logged)
		return;
	e->wait_refusal_logged = true;
	log_warn("%s%s: %s: not waiting, an Error row instead (logged "
		 "once per run)", j->in.kind == FETCH_PAGE ? "" : "tenant ",
		 job_name(j), why);
}

/*
 * What the outcome of an attempt leads to: the tenant's end (a row, an
 * answer to normalize) or its next attempt, honouring --retries,
 * Retry-After within --max-retry-wait, and the deadline.
 */
static enum pl_status decide(struct fetch_engine *e, struct xfer *x,
			     struct job *j, const struct outcome *o,
			     int64_t now)
{
	const struct fetch_config *cfg = e->cfg;
	char why[PL_ERR_MAX];
	unsigned used;
	int64_t after, delay;

	switch(o->action) {
	case OUTCOME_USE:
		return finish(e, x, j, 1, NULL);
	case OUTCOME_REAUTH:
		return reauth(e, x, j, now);
	case OUTCOME_ROW:
	case OUTCOME_FATAL: /* handled by the caller */
		outcome_with_attempts(o->why, j->attempts, why, sizeof(why));
		return finish(e, x, j, 0, why);
	case OUTCOME_USE_RETRY:
	case OUTCOME_RETRY:
		break;
	}
	/* the one retry after a 401 renewal is not charged to --retries */
	used = j->attempts - 1 - j->reauths;
	if(used < cfg->retries) {
		after = o->action != OUTCOME_USE_RETRY ? -1
			: o->status == 429 ? quota_wait_ms(x)
					   : x->ans.retry_after_ms;
		if(after > e->max_retry_wait_ms) {
			long max_s = (long)(e->max_retry_wait_ms / 1000);

			outcome_wait_refused(&x->ans, after, max_s, why,
					     sizeof(why));
			log_wait_refused(e, j, why);
			return finish(e, x, j, 0, why);
		}
		delay = retry_delay_ms(used + 1, after, &e->rng);
		return wait_retry(e, x, j, now + delay * 1000);
	}
	if(o->action == OUTCOME_USE_RETRY)
		return finish(e, x, j, 1, NULL);
	outcome_with_attempts(o->why, j->attempts, why, sizeof(why));
	return finish(e, x, j, 0, why);
}

/* An attempt ended: finish the tenant, or schedule its next attempt. */
static enum pl_status attempt_done(struct fetch_engine *e, CURLMsg *msg,
				   int64_t now)
{
	const struct outcome_limits lim = {e->timeout_ms,
					   e->connect_timeout_ms};
	CURLcode res = msg->data.result;
	struct outcome_attempt in;
	struct outcome o;
	char *priv = NULL;
	struct xfer *x;
	struct job *j;
	long status = 0;
	int64_t wait_ms = -1;     /* a 429's: Retry-After or its body's */

	curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
	x = (struct xfer *)priv;
	curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(e->multi, msg->easy_handle);
	e->in_flight--;
	e->starved = 0;
	j = x->job;
	if(res == CURLE_OK)
		answer_finish(&x->ans);
	memset(&in, 0, sizeof(in));
	outcome_failure_get(&in.f, x->easy, res, x->errbuf);
	if(x->stale_words) {
		/* neither the words nor the OS error are this answer's */
		in.f.errbuf = "";
		in.f.os_errno = 0;
	}
	in.status = status;
	in.curl_alloc_failed = !curlmem_is_counting() ||
			       curlmem_failures() != x->curl_failures;
	in.ans = &x->ans;
	outcome_classify(&in, &lim, &o);
	e->st.by_status[o.status > 0 && o.status < FETCH_STATUS_SLOTS
				? o.status : 0]++;
	if(o.answered) {
		/* an answer, even a cut-off one: the next ID is fresh */
		j->answers++;
		j->last_status = o.status;
		if(o.status == 429) {
			e->st.throttled++;
			wait_ms = quota_wait_ms(x);
			/* a wait refused (--max-retry-wait) pauses nobody */
			if(wait_ms > e->max_retry_wait_ms)
				wait_ms = -1;
		}
		/* the rate control hears every wait the engine honours
		 * (a spent window pauses the whole pool) */
		ratelimit_answer(&e->rl, now, j->sent_us, o.status == 429,
				 wait_ms >= 0 ? wait_ms * 1000 : -1);
		log_quota(e, now, wait_ms);
	}
	if(x->ans.echoed_id)
		e->echoes_id = true;
	if(log_enabled(LOG_DEBUG))
		log_debug("%s%s attempt %u: HTTP %ld%s%s",
			  j->in.kind == FETCH_PAGE ? "" : "tenant ",
			  job_name(j), j->attempts, status,
			  o.why[0] ? ": " : "", o.why);
	if(o.action == OUTCOME_FATAL) {
		xfer_release(e, x);
		job_put(e, j);
		return pl_fail(e->err, o.fatal, "%s", o.why);
	}
	return decide(e, x, j, &o, now);
}

/* ---- libcurl's socket and timer callbacks, over loop.h --------------- */

/*
 * libcurl tells which sockets to watch for what; the loop (loop.h) keeps
 * the set. A failure is kept for the loop to report: libcurl only learns
 * that the callback failed.
 */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp,
		     void *socketp)
{
	struct fetch_engine *e = userp;
	int mask = 0;

	(void)easy;
	(void)socketp;
	if(what == CURL_POLL_REMOVE) {
		loop_unwatch(e->loop, s);
		return 0;
	}
	if(what & CURL_POLL_IN)
		mask |= LOOP_READ;
	if(what & CURL_POLL_OUT)
		mask |= LOOP_WRITE;
	if(loop_watch(e->loop, s, mask, &e->sock_err)) {
		e->sock_failed = 1;
		return -1;
	}
	return 0;
}

/* libcurl wants socket_action(CURL_SOCKET_TIMEOUT) after timeout_ms. */
static int on_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct fetch_engine *e = userp;

	(void)multi;
	/* 0 is "now" (a handle was just added): due whatever the clock */
	if(timeout_ms < 0)
		e->curl_due_us = -1;
	else if(timeout_ms == 0)
		e->curl_due_us = 0;
	else
		e->curl_due_us = now_mono_us() + timeout_ms * 1000;
	return 0;
}

static enum pl_status engine_init(struct fetch_engine *e,
				  const struct fetch_config *cfg)
{
	size_t blen;
	char *url;
	enum pl_status st;

	e->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms
					    : DEFAULT_TIMEOUT_MS;
	e->connect_timeout_ms = cfg->connect_timeout_ms > 0
					? cfg->connect_timeout_ms
					: DEFAULT_CONNECT_TIMEOUT_MS;
	e->cap = cfg->concurrency;
	e->max_retry_wait_ms = cfg->max_retry_wait_ms > 0
				       ? cfg->max_retry_wait_ms
				       : FETCH_DEFAULT_MAX_RETRY_WAIT_MS;
	e->rng = cfg->seed;
	if(!e->rng) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		e->rng = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
			 (uint64_t)now_mono_us();
		if(!e->rng)
			e->rng = 1;
	}
	ratelimit_init(&e->rl, cfg->rate, now_mono_us());
	e->curl_due_us = -1;
	buf_init(&e->page_url, 0);

	blen = strlen(cfg->base_url);
	while(blen && cfg->base_url[blen - 1] == '/')
		blen--;
	url = malloc(blen + strlen(PATH_PREFIX) + GUID_STR_LEN +
		     strlen(PATH_SUFFIX) + 1);
	e->xfers = calloc(e->cap, sizeof(*e->xfers));
	e->idle = calloc(e->cap, sizeof(*e->idle));
	if(!url || !e->xfers || !e->idle) {
		free(url);
		return pl_fail(e->err, PL_ENOMEM, "out of memory");
	}
	memcpy(url, cfg->base_url, blen);
	strcpy(url + blen, PATH_PREFIX);
	e->url_tenant = blen + strlen(PATH_PREFIX);
	memset(url + e->url_tenant, '0', GUID_STR_LEN);
	strcpy(url + e->url_tenant + GUID_STR_LEN, PATH_SUFFIX);
	e->url = url;

	st = curlmem_init(e->err);
	if(st)
		return st;
	e->curl_inited = 1;
	e->curl_failures = curlmem_failures();
	e->multi = curl_multi_init();
	if(!e->multi)
		return pl_fail(e->err, PL_ENOMEM, "cannot create libcurl "
			       "multi handle");
	st = loop_new(&e->loop, e->err);
	if(st)
		return st;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_PIPELINING,
			  (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(e->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
			  (long)e->cap);
	/* keep every connection the slots use (the default cache size
	 * follows the number of handles added, which dips between
	 * attempts) */
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, (long)e->cap);
	/* TLS sessions and DNS answers shared by all slots; one thread, so
	 * no lock callbacks. Optional: without it each slot keeps its own. */
	e->share = curl_share_init();
	if(e->share) {
		curl_share_setopt(e->share, CURLSHOPT_SHARE,
				  CURL_LOCK_DATA_SSL_SESSION);
		curl_share_setopt(e->share, CURLSHOPT_SHARE,
				  CURL_LOCK_DATA_DNS);
	}
	return PL_OK;
}

static void engine_release(struct fetch_engine *e)
{
	for(unsigned i = 0; i < e->nxfers; i++) {
		struct xfer *x = &e->xfers[i];

		if(x->job)
			curl_multi_remove_handle(e->multi, x->easy);
		curl_easy_cleanup(x->easy);
		unlink_extra(x);
		wipe_headers(x);
		answer_release(&x->ans);
	}
	if(e->multi)
		curl_multi_cleanup(e->multi);
	loop_free(e->loop);
	if(e->share)
		curl_share_cleanup(e->share);
	while(e->chunks) {
		struct job_chunk *next = e->chunks->next;

		free(e->chunks);
		e->chunks = next;
	}
	waitq_release(&e->waiting);
	free(e->xfers);
	free(e->idle);
	free(e->url);
	buf_release(&e->page_url);
	if(e->curl_inited)
		curlmem_cleanup();
}

static enum pl_status check_config(const struct fetch_config *cfg,
				   struct pl_err *err)
{
	char uuid[GUID_STR_LEN + 1];
	enum pl_status st;

	if(!cfg->base_url)
		return pl_fail(err, PL_EUSAGE, "no base URL");
	st = url_check(cfg->base_url, "--base-url", err);
	if(st)
		return st;
	if(cfg->concurrency < 1 || cfg->concurrency > FETCH_MAX_CONCURRENCY)
		return pl_fail(err, PL_EUSAGE,
			       "concurrency must be 1 to %d, not %u",
			       FETCH_MAX_CONCURRENCY, cfg->concurrency);
	if(!(cfg->rate >= 0))
		return pl_fail(err, PL_EUSAGE, "invalid request rate");
	if(!cfg->correlation_id ||
	   !ids_parse_uuid(cfg->correlation_id, uuid))
		return pl_fail(err, PL_EUSAGE, "invalid correlation ID");
	return PL_OK;
}

/* ---- the loop, in phases (libuv's uv_run) ---------------------------- */

/*
 * Phase 1, fill: start attempts while there is a free slot, work and a
 * token: due retries first, then new jobs. *gate_us gets the limiter's
 * wait when work is held back by it.
 */
static enum pl_status fill(struct fetch_engine *e, int64_t now,
			   int64_t *gate_us)
{
	enum pl_status st;

	*gate_us = 0;
	while(!e->cut && e->in_flight < e->cap) {
		int due = waitq_next_due(&e->waiting) <= now;
		bool taken = false;
		struct job *j;
		int64_t wait;
		enum fetch_next next;

		if(!due && (e->exhausted || e->starved))
			break;
		wait = ratelimit_wait_us(&e->rl, now);
		if(wait > 0) {
			*gate_us = wait;
			break;
		}
		if(due) {
			j = waitq_pop(&e->waiting);
		} else {
			j = job_get(e);
			if(!j)
				return pl_fail(e->err, PL_ENOMEM,
					       "out of memory");
			memset(j, 0, sizeof(*j));
			next = e->next(e->ctx, &j->in);
			if(next != FETCH_JOB) {
				job_put(e, j);
				if(next == FETCH_NO_MORE) {
					/* what is left: nothing to probe for */
					e->exhausted = 1;
					ratelimit_draining(&e->rl, true);
				}
				else
					e->starved = 1;
				break;
			}
			j->in.tenant_id[GUID_STR_LEN] = '\0';
			if(j->in.kind == FETCH_PAGE ? !is_sound_page(&j->in)
			   : !is_canonical_tenant(j->in.tenant_id)) {
				job_put(e, j);
				return pl_fail(e->err, PL_EINTERNAL,
					       "job %llu has no canonical "
					       "%s",
					       (unsigned long long)j->in.seq,
					       j->in.kind == FETCH_PAGE
					       ? "page path or header"
					       : "tenant ID");
			}
		}
		st = start_attempt(e, j, now, &taken);
		if(st) {
			if(!taken)
				job_put(e, j);
			return st;
		}
	}
	return PL_OK;
}

/* How long to wait for events: until the next retry is due, the limiter
 * has a token or libcurl's timer fires, at most one tick. */
static int64_t wait_timeout_us(const struct fetch_engine *e, int64_t now,
			       int64_t gate_us)
{
	int64_t t = TICK_US;

	if(e->in_flight < e->cap) {
		/* a retry already due waits for the limiter (gate_us) */
		int64_t due = waitq_next_due(&e->waiting);

		if(due > now && due - now < t)
			t = due - now;
		if(gate_us > 0 && gate_us < t)
			t = gate_us;
	}
	if(e->curl_due_us >= 0 && e->curl_due_us - now < t)
		t = e->curl_due_us - now;
	if(!e->cut && e->cfg->deadline_us > 0 &&
	   e->cfg->deadline_us - now < t)
		t = e->cfg->deadline_us - now;
	return t < 0 ? 0 : t;
}

/* Phase 2, poll: wait for socket events up to the next deadline. */
static enum pl_status poll_io(struct fetch_engine *e, int64_t gate_us,
			      struct loop_event *ev, int *n)
{
	return loop_wait(e->loop, wait_timeout_us(e, now_mono_us(), gate_us),
			 ev, MAX_EVENTS, n, e->err);
}

static enum pl_status multi_failed(struct fetch_engine *e, CURLMcode mc)
{
	/* a socket callback that failed says why; libcurl only knows that
	 * it did */
	if(e->sock_failed)
		return pl_fail(e->err, PL_EINTERNAL, "%s", e->sock_err.msg);
	return pl_fail(e->err, mc == CURLM_OUT_OF_MEMORY ? PL_ENOMEM
							 : PL_EINTERNAL,
		       "libcurl: %s", curl_multi_strerror(mc));
}

/*
 * A CURLMcode of socket_action: only our own machine ends the run (the
 * event loop, memory); anything else concerns transfers that still end,
 * by their timeout at worst, so the loop carries on, saying so once.
 */
static enum pl_status multi_result(struct fetch_engine *e, CURLMcode mc)
{
	bool alloc_failed = !curlmem_is_counting() ||
			    curlmem_failures() != e->curl_failures;

	switch(outcome_multi_kind(mc, false, alloc_failed)) {
	case OUTCOME_MULTI_OK:
		e->multi_errors = 0;
		return PL_OK;
	case OUTCOME_MULTI_FATAL:
		return multi_failed(e, mc);
	default:
		break;
	}
	if(++e->multi_errors > MULTI_ERRORS_MAX)
		return pl_fail(e->err, PL_EINTERNAL, "libcurl fails on every "
			       "call: %s", curl_multi_strerror(mc));
	if(mc != e->logged_mc) {
		e->logged_mc = mc;
		log_warn("libcurl: %s; carrying on (the transfers concerned "
			 "end, by their timeout at worst)",
			 curl_multi_strerror(mc));
	}
	return PL_OK;
}

/*
 * Phase 3, drain: libcurl acts on each ready socket, then on its timer
 * when due; every attempt that ended goes to attempt_done().
 */
static enum pl_status drain(struct fetch_engine *e,
			    const struct loop_event *ev, int n)
{
	enum pl_status st = PL_OK;
	CURLMcode mc = CURLM_OK;
	CURLMsg *msg;
	int running, left;
	int64_t now;

	for(int i = 0; i < n && !st; i++) {
		int mask = 0;

		if(ev[i].mask & LOOP_READ)
			mask |= CURL_CSELECT_IN;
		if(ev[i].mask & LOOP_WRITE)
			mask |= CURL_CSELECT_OUT;
		if(ev[i].mask & LOOP_ERROR)
			mask |= CURL_CSELECT_ERR;
		mc = curl_multi_socket_action(e->multi, ev[i].fd, mask,
					      &running);
		st = multi_result(e, mc);
	}
	if(!st && e->curl_due_us >= 0 && now_mono_us() >= e->curl_due_us) {
		/* on_timer sets the next one, if any */
		e->curl_due_us = -1;
		mc = curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0,
					      &running);
		st = multi_result(e, mc);
	}
	if(st)
		return st;
	now = now_mono_us();
	while(!st && (msg = curl_multi_info_read(e->multi, &left)))
		if(msg->msg == CURLMSG_DONE)
			st = attempt_done(e, msg, now);
	return st;
}

static void snapshot_stats(struct fetch_engine *e)
{
	e->st.in_flight = e->in_flight;
	e->st.waiting = (unsigned)waitq_len(&e->waiting);
	int64_t now = now_mono_us();
	int64_t until = ratelimit_paused_until(&e->rl, now);

	e->st.rate_limit = ratelimit_cap(&e->rl);
	e->st.resume_in_ms = until ? (until - now + 999) / 1000 : 0;
	e->st.throttled_us = ratelimit_paused_us(&e->rl, now);
}

/* Phase 4, tick: every TICK_US, re-ask a starved next() and show
 * progress. */
static void tick(struct fetch_engine *e)
{
	int64_t now = now_mono_us();

	if(now - e->last_tick_us < TICK_US)
		return;
	e->last_tick_us = now;
	/* back-pressure is re-asked at least every tick */
	e->starved = 0;
	if(e->on_tick) {
		snapshot_stats(e);
		e->on_tick(e->ctx, &e->st);
	}
}

static bool is_finished(const struct fetch_engine *e)
{
	return !e->in_flight && !waitq_len(&e->waiting) &&
	       (e->exhausted || e->cut);
}

/*
 * The deadline passed: nothing more is sent. Tenants waiting for a retry
 * are finished now, unfinished (no wait for a Retry-After to run out);
 * those in flight end within the timeout and are finished unfinished if
 * they would retry (decide()). next() is not asked again.
 */
static enum pl_status cut_off(struct fetch_engine *e)
{
	enum pl_status st = PL_OK;

	e->cut = true;
	e->st.deadline_reached = true;
	log_info("deadline reached: sending nothing more (%u in flight, %zu "
		 "waiting for a retry)", e->in_flight, waitq_len(&e->waiting));
	while(!st && waitq_len(&e->waiting))
		st = finish(e, NULL, waitq_pop(&e->waiting), 0,
			    deadline_why);
	return st;
}

static enum pl_status run(struct fetch_engine *e)
{
	struct loop_event ev[MAX_EVENTS];
	enum pl_status st;
	int64_t gate_us;
	int n;

	e->last_tick_us = now_mono_us();
	for(;;) {
		if(is_stop_requested(e))
			return pl_fail(e->err, PL_EINTERRUPTED, "interrupted");
		if(!e->cut && e->cfg->deadline_us > 0 &&
		   now_mono_us() >= e->cfg->deadline_us) {
			st = cut_off(e);
			if(st)
				return st;
		}
		st = fill(e, now_mono_us(), &gate_us);
		if(st || is_finished(e))
			return st;
		st = poll_io(e, gate_us, ev, &n);
		if(!st)
			st = drain(e, ev, n);
		if(st)
			return st;
		tick(e);
	}
}

enum pl_status fetch_run(const struct fetch_config *cfg, fetch_next_fn next,
			 fetch_done_fn done, fetch_tick_fn on_tick, void *ctx,
			 struct fetch_stats *stats, struct pl_err *err)
{
	struct fetch_engine e;
	enum pl_status st;

	memset(&e, 0, sizeof(e));
	e.cfg = cfg;
	e.next = next;
	e.done = done;
	e.on_tick = on_tick;
	e.ctx = ctx;
	e.err = err;
	st = check_config(cfg, err);
	if(!st)
		st = engine_init(&e, cfg);
	if(!st)
		st = run(&e);
	snapshot_stats(&e);
	if(stats)
		*stats = e.st;
	engine_release(&e);
	return st;
}
