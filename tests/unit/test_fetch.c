/*
 * test_fetch.c: the fetch engine against an in-process libmicrohttpd
 * server on 127.0.0.1 (a free port) that plays scripted answers per
 * tenant and records every request it saw (headers, arrival time,
 * concurrency, connections).
 *
 * The scripts are data: files in pcsim's --data format (cmd/pcsim/data.h,
 * read with pcsim's own data.c) under tests/unit/fetch-fixtures/, one per
 * test, so a new scripted case is a JSON file. Only the two bodies at the
 * 8 MiB limit are made in code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "data.h"
#include "fetch.h"
#include "guid.h"
#include "ids.h"
#include "norm.h"
#include "now.h"
#include "log.h"

#define CORR "5f0c6a41-8f3e-4a55-9b8e-2f0b8f2f6c11"
#define TOKEN "test-token-123"
#define UA "qualreport/" QR_VERSION

/* ---- the scripted server ------------------------------------------ */

#define FIXTURES QR_SOURCE_DIR "/tests/unit/fetch-fixtures/"
/* Tenant N is 00000000-0000-4000-8000-<N>; the server counts requests
 * per N. */
#define MAX_TENANTS 8192

/* An answer made in code (a body too big for a fixture). */
struct made {
	size_t tenant;
	const char *body;
	size_t len;
};

struct req_log {
	char tenant[GUID_STR_LEN + 1];
	char request_id[64];
	char correlation[64];
	char auth[96];
	char accept[64];
	char ua[64];
	int64_t arrived_us;
	int64_t answered_us;   /* when the answer was queued; 0 = none */
	size_t index;          /* how many requests this tenant had before */
};

struct server {
	struct MHD_Daemon *d;
	unsigned port;
	char base[64];
	pthread_mutex_t mu;
	struct data_set *data;       /* the fixture, NULL for none */
	const struct made *made;
	size_t nmade;
	unsigned *counts;            /* requests per tenant number */
	unsigned default_delay_ms;   /* tenants without a script: 200 */
	unsigned jitter_ms;          /* default delay +- this, uniform */
	uint64_t rng;
	int conn_close;              /* "Connection: close" on answers */
	struct req_log *log;
	size_t nlog, caplog;
	unsigned cur, max_cur;
	unsigned connections;
	unsigned token_calls;
};

static int64_t mono_us(void)
{
	return now_mono_us();
}

/* CPU time of the calling thread: the engine's, not the server's. */
static int64_t thread_cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while(nanosleep(&ts, &ts) != 0)
		;
}

static void copy_header(struct MHD_Connection *c, const char *name,
			char *out, size_t n)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);

	snprintf(out, n, "%s", v ? v : "");
}

static enum MHD_Result reply(struct server *s, struct MHD_Connection *c,
			     unsigned status, const char *body, size_t len,
			     const struct data_answer *a)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body,
					    MHD_RESPMEM_MUST_COPY);
	if(!a || !a->has_content_type)
		MHD_add_response_header(r, "Content-Type", "application/json");
	for(size_t i = 0; a && i < a->nheaders; i++)
		MHD_add_response_header(r, a->headers[i].name,
					a->headers[i].value);
	if(s->conn_close)
		MHD_add_response_header(r, "Connection", "close");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result token_endpoint(struct server *s,
				      struct MHD_Connection *c)
{
	char body[128];
	unsigned n;

	pthread_mutex_lock(&s->mu);
	n = ++s->token_calls;
	pthread_mutex_unlock(&s->mu);
	snprintf(body, sizeof(body),
		 "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		 "\"access_token\":\"tok-%u\"}", n);
	return reply(s, c, 200, body, strlen(body), NULL);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_size, void **req_cls)
{
	static int marker;
	static const char dflt_body[] = "[{\"qualification\":\"Education\"}]";
	struct server *s = cls;
	char tenant[GUID_STR_LEN + 1];
	uint8_t key[16];
	const struct data_answer *a = NULL;
	const char *body = dflt_body;
	size_t body_len = sizeof(dflt_body) - 1, number, at;
	unsigned status = 200, delay_ms, idx;
	struct req_log *e;

	(void)method;
	(void)version;
	(void)upload;
	if(*req_cls != &marker) {
		*req_cls = &marker;
		return MHD_YES;
	}
	if(*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if(strstr(url, "/oauth2/v2.0/token"))
		return token_endpoint(s, c);
	if(strncmp(url, "/v1/customers/", 14) || strlen(url) != 14 + 36 + 15 ||
	   strcmp(url + 50, "/qualifications"))
		return reply(s, c, 400, "bad path", 8, NULL);
	memcpy(tenant, url + 14, GUID_STR_LEN);
	tenant[GUID_STR_LEN] = '\0';
	number = strtoul(tenant + 24, NULL, 16);
	if(guid_canonicalize(tenant, GUID_STR_LEN, NULL, key) ||
	   number >= MAX_TENANTS)
		return reply(s, c, 400, "bad tenant", 10, NULL);

	pthread_mutex_lock(&s->mu);
	idx = s->counts[number]++;
	delay_ms = s->default_delay_ms;
	a = data_set_find(s->data, key, idx);
	if(a) {
		status = (unsigned)a->status;
		body = a->body ? a->body : "";
		body_len = a->body_len;
		if(a->latency_ms >= 0)
			delay_ms = (unsigned)a->latency_ms;
	}
	for(size_t i = 0; i < s->nmade; i++) {
		if(s->made[i].tenant == number) {
			body = s->made[i].body;
			body_len = s->made[i].len;
		}
	}
	if(s->nlog == s->caplog) {
		s->caplog = s->caplog ? 2 * s->caplog : 256;
		s->log = realloc(s->log, s->caplog * sizeof(*s->log));
		if(!s->log)
			abort(); /* server thread: no cmocka assert here */
	}
	at = s->nlog++;
	e = &s->log[at];
	memset(e, 0, sizeof(*e));
	snprintf(e->tenant, sizeof(e->tenant), "%s", tenant);
	copy_header(c, "MS-RequestId", e->request_id, sizeof(e->request_id));
	copy_header(c, "MS-CorrelationId", e->correlation,
		    sizeof(e->correlation));
	copy_header(c, "Authorization", e->auth, sizeof(e->auth));
	copy_header(c, "Accept", e->accept, sizeof(e->accept));
	copy_header(c, "User-Agent", e->ua, sizeof(e->ua));
	e->arrived_us = mono_us();
	e->index = idx;
	if(!a && s->jitter_ms && delay_ms >= s->jitter_ms) {
		s->rng = s->rng * 6364136223846793005ull +
			 1442695040888963407ull;
		delay_ms += (unsigned)((s->rng >> 33) %
				       (2 * s->jitter_ms + 1)) - s->jitter_ms;
	}
	if(++s->cur > s->max_cur)
		s->max_cur = s->cur;
	pthread_mutex_unlock(&s->mu);

	if(delay_ms)
		sleep_ms(delay_ms);

	pthread_mutex_lock(&s->mu);
	s->cur--;
	if(!a || !a->drop)
		s->log[at].answered_us = mono_us();
	pthread_mutex_unlock(&s->mu);
	if(a && a->drop)
		return MHD_NO;
	return reply(s, c, status, body, body_len, a);
}

static void on_connection(void *cls, struct MHD_Connection *c,
			  void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;

	(void)c;
	(void)socket_context;
	if(code == MHD_CONNECTION_NOTIFY_STARTED) {
		pthread_mutex_lock(&s->mu);
		s->connections++;
		pthread_mutex_unlock(&s->mu);
	}
}

/*
 * A server playing fixture (a file name under fetch-fixtures/, NULL for
 * none); tenants without a script get 200 [{"qualification":"Education"}]
 * after default_delay_ms.
 */
static struct server *server_start(const char *fixture, int conn_close,
				   unsigned default_delay_ms)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	struct pl_err err;

	assert_non_null(s);
	pthread_mutex_init(&s->mu, NULL);
	if(fixture) {
		char path[512];

		snprintf(path, sizeof(path), FIXTURES "%s", fixture);
		if(data_set_load(path, &s->data, &err))
			fail_msg("%s", err.msg);
	}
	s->counts = calloc(MAX_TENANTS, sizeof(*s->counts));
	assert_non_null(s->counts);
	s->conn_close = conn_close;
	s->default_delay_ms = default_delay_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_THREAD_PER_CONNECTION,
				0, NULL, NULL, handler, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
				MHD_OPTION_CONNECTION_LIMIT, 1000u,
				MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
	assert_true(s->port > 0);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u/", s->port);
	return s;
}

static void server_stop(struct server *s)
{
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	data_set_free(s->data);
	free(s->counts);
	free(s->log);
	free(s);
}

/* The log entries of one tenant, in arrival order. */
static size_t tenant_log(const struct server *s, const char *tenant,
			 const struct req_log **out, size_t max)
{
	size_t n = 0;

	for(size_t i = 0; i < s->nlog; i++)
		if(!strcmp(s->log[i].tenant, tenant) && n < max)
			out[n++] = &s->log[i];
	return n;
}

/* ---- the caller's side --------------------------------------------- */

struct outcome {
	unsigned calls;
	long status;
	unsigned attempts;
	char request_id[GUID_STR_LEN + 1];
	char *body;
	size_t body_len;
	char *failure;
	bool unfinished;
};

struct run {
	char (*tenants)[GUID_STR_LEN + 1];
	size_t n, issued;
	struct outcome *out;
	unsigned done_calls;
	/* back-pressure: at most this many outstanding (0 = no limit), and
	 * refuse the first `refuse_first` calls */
	size_t max_outstanding;
	unsigned refuse_first;
	unsigned next_zero;
	/* set *stop from the done() call number stop_at (0 = never) */
	unsigned stop_at;
	volatile sig_atomic_t *stop;
	/* fail from the first done() with this status (PL_OK = never) */
	enum pl_status fail_with;
	unsigned ticks;
};

static void tenant_name(size_t i, char out[GUID_STR_LEN + 1])
{
	snprintf(out, GUID_STR_LEN + 1, "00000000-0000-4000-8000-%012zx", i);
}

static void run_init(struct run *r, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->n = n;
	r->tenants = calloc(n, sizeof(*r->tenants));
	r->out = calloc(n, sizeof(*r->out));
	assert_non_null(r->tenants);
	assert_non_null(r->out);
	for(size_t i = 0; i < n; i++)
		tenant_name(i, r->tenants[i]);
}

static void run_release(struct run *r)
{
	for(size_t i = 0; i < r->n; i++) {
		free(r->out[i].body);
		free(r->out[i].failure);
	}
	free(r->out);
	free(r->tenants);
}

static enum fetch_next next_job(void *ctx, struct fetch_job *job)
{
	struct run *r = ctx;

	if(r->issued >= r->n)
		return FETCH_NO_MORE;
	if(r->next_zero < r->refuse_first) {
		r->next_zero++;
		return FETCH_NOT_NOW;
	}
	if(r->max_outstanding &&
	   r->issued - r->done_calls >= r->max_outstanding) {
		r->next_zero++;
		return FETCH_NOT_NOW;
	}
	job->seq = r->issued;
	memcpy(job->tenant_id, r->tenants[r->issued], GUID_STR_LEN + 1);
	r->issued++;
	return FETCH_JOB;
}

static enum pl_status job_done(void *ctx, const struct fetch_result *res,
			       struct pl_err *err)
{
	struct run *r = ctx;
	struct outcome *o;

	assert_true(res->seq < r->issued);
	assert_string_equal(res->tenant_id, r->tenants[res->seq]);
	o = &r->out[res->seq];
	o->calls++;
	o->status = res->http_status;
	o->attempts = res->attempts;
	memcpy(o->request_id, res->request_id, sizeof(o->request_id));
	if(res->body) {
		o->body = malloc(res->body_len + 1);
		assert_non_null(o->body);
		memcpy(o->body, res->body, res->body_len + 1);
		o->body_len = res->body_len;
		assert_int_equal(res->body[res->body_len], '\0');
	}
	if(res->failure) {
		o->failure = strdup(res->failure);
		assert_non_null(o->failure);
	}
	o->unfinished = res->unfinished;
	assert_true(!res->unfinished ||
		    !strcmp(res->failure, FETCH_DEADLINE_TEXT));
	r->done_calls++;
	if(r->stop_at && r->done_calls == r->stop_at)
		*r->stop = 1;
	if(r->fail_with)
		return pl_fail(err, r->fail_with, "cannot write row %u",
			       r->done_calls);
	return PL_OK;
}

static void on_tick(void *ctx, const struct fetch_stats *st)
{
	struct run *r = ctx;

	assert_true(st->in_flight <= st->max_in_flight);
	r->ticks++;
}

static struct auth *ready_auth(void)
{
	struct auth_config ac;
	struct auth *a = NULL;
	struct pl_err err;

	memset(&ac, 0, sizeof(ac));
	ac.token = TOKEN;
	assert_int_equal(auth_new(&ac, &a, &err), PL_OK);
	return a;
}

static void base_config(struct fetch_config *cfg, const struct server *s,
			struct auth *a)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->base_url = s ? s->base : "http://127.0.0.1:1";
	cfg->concurrency = 4;
	cfg->retries = 2;
	cfg->timeout_ms = 5000;
	cfg->connect_timeout_ms = 2000;
	cfg->correlation_id = CORR;
	cfg->auth = a;
	cfg->seed = 1234;
}

static void expect_rid(const struct req_log *e, const char *tenant,
		       unsigned answers)
{
	char want[GUID_STR_LEN + 1];

	ids_request_id(CORR, tenant, answers, want);
	assert_string_equal(e->request_id, want);
}

static void expect_headers(const struct server *s)
{
	for(size_t i = 0; i < s->nlog; i++) {
		assert_string_equal(s->log[i].correlation, CORR);
		assert_string_equal(s->log[i].auth, "Bearer " TOKEN);
		assert_string_equal(s->log[i].accept, "application/json");
		assert_string_equal(s->log[i].ua, UA);
	}
}

/* The body of the fixture's answer n for tenant number i. */
static const char *fixture_body(const struct server *s, size_t i, uint32_t n)
{
	char id[GUID_STR_LEN + 1];
	uint8_t key[16];
	const struct data_answer *a;

	tenant_name(i, id);
	assert_null(guid_canonicalize(id, GUID_STR_LEN, NULL, key));
	a = data_set_find(s->data, key, n);
	assert_non_null(a);
	return a->body;
}

/* ---- tests ---------------------------------------------------------- */

/* fetch-fixtures/scripted.json: each tenant one kind of answer. */
static void test_scripted(void **state)
{
	enum { A, B, C, D, F, S, G, H, N };
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	const struct req_log *lg[16];
	size_t n;

	(void)state;
	run_init(&r, N);
	/* G has no script: the default 200. Every answer closes its
	 * connection, so a dropped request is always on a fresh connection
	 * (libcurl silently resends a request that dies on a reused one). */
	s = server_start("scripted.json", 1, 0);
	base_config(&cfg, s, a);
	cfg.timeout_ms = 400;

	assert_int_equal(fetch_run(&cfg, next_job, job_done, on_tick, &r, &st,
				   &err), PL_OK);

	for(size_t i = 0; i < N; i++)
		assert_int_equal(r.out[i].calls, 1);
	assert_int_equal(st.done, N);

	/* A: 503, 503, 200: three answers, three fresh IDs */
	assert_int_equal(r.out[A].status, 200);
	assert_int_equal(r.out[A].attempts, 3);
	assert_null(r.out[A].failure);
	assert_string_equal(r.out[A].body, fixture_body(s, A, 2));
	n = tenant_log(s, r.tenants[A], lg, 16);
	assert_int_equal(n, 3);
	for(unsigned k = 0; k < 3; k++)
		expect_rid(lg[k], r.tenants[A], k);
	assert_string_equal(r.out[A].request_id, lg[2]->request_id);

	/* B: 429 with Retry-After: 1, honoured */
	assert_int_equal(r.out[B].status, 200);
	assert_int_equal(r.out[B].attempts, 2);
	assert_string_equal(r.out[B].body, "[]");
	n = tenant_log(s, r.tenants[B], lg, 16);
	assert_int_equal(n, 2);
	assert_true(lg[1]->arrived_us - lg[0]->answered_us >= 1000000);
	print_message("Retry-After 1 s: retry came %.3f s after the 429\n",
		      (double)(lg[1]->arrived_us - lg[0]->answered_us) / 1e6);
	expect_rid(lg[0], r.tenants[B], 0);
	expect_rid(lg[1], r.tenants[B], 1);

	/* C: dropped, then 200: the retry repeats the request ID */
	assert_int_equal(r.out[C].status, 200);
	assert_int_equal(r.out[C].attempts, 2);
	assert_null(r.out[C].failure);
	n = tenant_log(s, r.tenants[C], lg, 16);
	assert_int_equal(n, 2);
	expect_rid(lg[0], r.tenants[C], 0);
	expect_rid(lg[1], r.tenants[C], 0);
	assert_string_equal(r.out[C].request_id, lg[1]->request_id);

	/* D: 404 is final */
	assert_int_equal(r.out[D].status, 404);
	assert_int_equal(r.out[D].attempts, 1);
	assert_null(r.out[D].failure);
	assert_string_equal(r.out[D].body, fixture_body(s, D, 0));
	assert_int_equal(tenant_log(s, r.tenants[D], lg, 16), 1);

	/* F: always 500: 1 + retries attempts, the last answer handed on */
	assert_int_equal(r.out[F].status, 500);
	assert_int_equal(r.out[F].attempts, 3);
	assert_null(r.out[F].failure);
	assert_string_equal(r.out[F].body, fixture_body(s, F, 0));
	n = tenant_log(s, r.tenants[F], lg, 16);
	assert_int_equal(n, 3);
	for(unsigned k = 0; k < 3; k++)
		expect_rid(lg[k], r.tenants[F], k);

	/* S: slower than the timeout every time; no answer, same ID */
	assert_int_equal(r.out[S].status, 0);
	assert_int_equal(r.out[S].attempts, 3);
	assert_null(r.out[S].body);
	assert_string_equal(r.out[S].failure,
			    "timeout after 0.4 s (3 attempts)");
	n = tenant_log(s, r.tenants[S], lg, 16);
	assert_int_equal(n, 3);
	for(unsigned k = 0; k < 3; k++)
		expect_rid(lg[k], r.tenants[S], 0);

	/* H: 503, then dropped twice: failure, with the last status seen */
	assert_int_equal(r.out[H].status, 503);
	assert_int_equal(r.out[H].attempts, 3);
	assert_null(r.out[H].body);
	assert_string_equal(r.out[H].failure,
			    "connection closed without response (3 attempts)");
	n = tenant_log(s, r.tenants[H], lg, 16);
	assert_int_equal(n, 3);
	expect_rid(lg[0], r.tenants[H], 0);
	expect_rid(lg[1], r.tenants[H], 1);
	expect_rid(lg[2], r.tenants[H], 1);
	assert_string_equal(r.out[H].request_id, lg[2]->request_id);

	/* G: plain 200 */
	assert_int_equal(r.out[G].status, 200);
	assert_int_equal(r.out[G].attempts, 1);

	expect_headers(s);
	assert_int_equal(st.requests, s->nlog);
	assert_int_equal(st.requests, 3 + 2 + 2 + 1 + 3 + 3 + 1 + 3);
	assert_int_equal(st.retries, st.requests - N);

	/* every finished attempt by the status of its answer, 0 for none */
	{
		uint64_t sum = 0;

		assert_int_equal(st.by_status[200], 4);   /* A B C G */
		assert_int_equal(st.by_status[503], 3);   /* A A H */
		assert_int_equal(st.by_status[500], 3);   /* F F F */
		assert_int_equal(st.by_status[429], 1);   /* B */
		assert_int_equal(st.by_status[404], 1);   /* D */
		assert_int_equal(st.by_status[0], 6);     /* C S S S H H */
		for(size_t k = 0; k < FETCH_STATUS_SLOTS; k++)
			sum += st.by_status[k];
		assert_int_equal(sum, st.requests);
	}
	assert_int_equal(st.throttled, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.waiting, 0);
	assert_true(st.max_in_flight <= 4);
	assert_true(r.ticks > 0);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* The cap holds (counted at the server), it is reached, and connections
 * are reused: never more than the cap. */
static void test_concurrency(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 10);
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	int64_t t0, t1;

	(void)state;
	run_init(&r, 300);
	base_config(&cfg, s, a);
	cfg.concurrency = 8;
	t0 = mono_us();
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	t1 = mono_us();
	for(size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.out[i].calls, 1);
		assert_int_equal(r.out[i].status, 200);
		assert_int_equal(r.out[i].attempts, 1);
	}
	assert_int_equal(s->nlog, 300);
	assert_int_equal(s->max_cur, 8);
	assert_int_equal(st.max_in_flight, 8);
	assert_true(s->connections <= 8);
	expect_headers(s);
	print_message("300 requests, -j 8, 10 ms each: %.3f s (ideal %.3f), "
		      "%u connections\n", (double)(t1 - t0) / 1e6,
		      300 * 0.010 / 8, s->connections);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/*
 * The benchmark shape: -j 64 against 20 ms answers (+-5 ms, so answers do
 * not all arrive in the same instant). Prints how close the engine keeps
 * the pipe to full: ideal = N * latency / concurrency, with the latency
 * the server really spent per request.
 */
static void test_throughput(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 20);
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	int64_t t0, t1, c0, c1, busy = 0;
	double ideal, took;

	(void)state;
	s->jitter_ms = 5;
	run_init(&r, 3200);
	base_config(&cfg, s, a);
	cfg.concurrency = 64;
	t0 = mono_us();
	c0 = thread_cpu_us();
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	c1 = thread_cpu_us();
	t1 = mono_us();
	for(size_t i = 0; i < r.n; i++)
		assert_int_equal(r.out[i].calls, 1);
	assert_int_equal(st.done, 3200);
	assert_int_equal(st.requests, 3200);
	assert_int_equal(st.max_in_flight, 64);
	assert_int_equal(s->nlog, 3200);
	assert_true(s->max_cur <= 64);
	assert_true(s->connections <= 64);
	for(size_t i = 0; i < s->nlog; i++)
		busy += s->log[i].answered_us - s->log[i].arrived_us;
	ideal = (double)busy / 1e6 / 64;
	took = (double)(t1 - t0) / 1e6;
	print_message("3200 requests, -j 64, 20+-5 ms each: %.3f s, ideal "
		      "%.3f s: %.1f%% of ideal; max %u concurrent at the "
		      "server, %u connections; engine thread CPU %.1f us per "
		      "request\n", took, ideal, 100 * ideal / took, s->max_cur,
		      s->connections, (double)(c1 - c0) / 3200);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* next() says "not now": it is asked again later and the run completes. */
static void test_backpressure(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 5);
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();

	(void)state;
	run_init(&r, 40);
	r.refuse_first = 3;
	r.max_outstanding = 2;
	base_config(&cfg, s, a);
	cfg.concurrency = 8;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	for(size_t i = 0; i < r.n; i++) {
		assert_int_equal(r.out[i].calls, 1);
		assert_int_equal(r.out[i].status, 200);
	}
	assert_true(r.next_zero > 3);
	assert_true(s->max_cur <= 2);
	assert_true(st.max_in_flight <= 2);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* --rate 20: no 1 s window holds more than rate + burst (1) requests. */
static void test_rate_cap(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 0);
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	size_t worst = 0, lo = 0;
	double span;

	(void)state;
	run_init(&r, 50);
	base_config(&cfg, s, a);
	cfg.concurrency = 8;
	cfg.rate = 20;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	assert_int_equal(s->nlog, 50);
	for(size_t hi = 0; hi < s->nlog; hi++) {
		while(s->log[hi].arrived_us - s->log[lo].arrived_us >= 1000000)
			lo++;
		if(hi - lo + 1 > worst)
			worst = hi - lo + 1;
	}
	span = (double)(s->log[49].arrived_us - s->log[0].arrived_us) / 1e6;
	print_message("--rate 20: 50 requests over %.3f s, at most %zu in a "
		      "second\n", span, worst);
	assert_true(worst <= 21);
	/* one token at the start, then one per 50 ms */
	assert_true(span >= 2.3);
	assert_true(st.rate_limit == 20);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

static int64_t max_resume_ms;

static void quota_tick(void *ctx, const struct fetch_stats *st)
{
	(void)ctx;
	if(st->resume_in_ms > max_resume_ms)
		max_resume_ms = st->resume_in_ms;
}

/* fetch-fixtures/spent-quota.json: Partner Center's 429 body without
 * Retry-After; its "Try again in 2 seconds" is the tenant's wait, and a
 * spent quota's for the whole pool. */
static void test_quota_pause(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	const struct req_log *lg[4];
	int64_t told;
	size_t early = 0;

	(void)state;
	run_init(&r, 12);
	s = server_start("spent-quota.json", 0, 0);
	base_config(&cfg, s, a);
	max_resume_ms = 0;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, quota_tick, &r,
				   &st, &err), PL_OK);
	for(size_t i = 0; i < 12; i++)
		assert_int_equal(r.out[i].status, 200);
	assert_int_equal(tenant_log(s, r.tenants[3], lg, 4), 2);
	told = lg[0]->answered_us;
	/* the tenant waited its 2 s ... */
	assert_true(lg[1]->arrived_us - told >= 2000000);
	/* ... and so did everyone: nothing sent after the 429 was heard
	 * (give the requests already on their way 0.2 s to arrive) */
	for(size_t i = 0; i < s->nlog; i++)
		if(s->log[i].arrived_us > told + 200000 &&
		   s->log[i].arrived_us < told + 1900000)
			early++;
	print_message("429 with \"Try again in 2 seconds\": retry after "
		      "%.3f s, %zu requests during the pause, paused %.3f s\n",
		      (double)(lg[1]->arrived_us - told) / 1e6, early,
		      (double)st.throttled_us / 1e6);
	assert_int_equal(early, 0);
	assert_true(st.throttled_us >= 1900000);
	assert_true(max_resume_ms > 1000 && max_resume_ms <= 2000);
	assert_int_equal(st.throttled, 1);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* *stop set from done(): PL_EINTERRUPTED, no further done() calls. */
static void test_stop_from_done(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 5);
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	volatile sig_atomic_t stop = 0;

	(void)state;
	run_init(&r, 100);
	r.stop_at = 3;
	r.stop = &stop;
	base_config(&cfg, s, a);
	cfg.stop = &stop;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EINTERRUPTED);
	assert_int_equal(r.done_calls, 3);
	assert_true(r.issued < 100);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* A failing done() stops the run with its status and message. */
static void test_done_fails(void **state)
{
	struct run r;
	struct server *s = server_start(NULL, 0, 0);
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();

	(void)state;
	run_init(&r, 20);
	r.fail_with = PL_EOUTPUT;
	base_config(&cfg, s, a);
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EOUTPUT);
	assert_int_equal(r.done_calls, 1);
	assert_string_equal(err.msg, "cannot write row 1");
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* 401 with a ready token: it cannot be renewed, the run stops. */
static void test_401_ready_token(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	const struct req_log *lg[4];

	(void)state;
	run_init(&r, 1);
	s = server_start("always-401.json", 0, 0);
	base_config(&cfg, s, a);
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EAUTH);
	assert_true(err.msg[0] != '\0');
	assert_null(strstr(err.msg, TOKEN));
	assert_int_equal(r.done_calls, 0);
	assert_int_equal(tenant_log(s, r.tenants[0], lg, 4), 1);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

static struct auth *app_auth(const struct server *s)
{
	struct auth_config ac;
	struct auth *a = NULL;
	struct pl_err err;
	char authority[64];

	snprintf(authority, sizeof(authority), "http://127.0.0.1:%u", s->port);
	memset(&ac, 0, sizeof(ac));
	ac.authority = authority;
	ac.tenant = "partner";
	ac.client_id = "client";
	ac.client_secret = "secret";
	assert_int_equal(auth_new(&ac, &a, &err), PL_OK);
	return a;
}

/* App credentials: the 401s of tok-1 renew the token once (for all the
 * requests that carried it), and the retry is not charged to --retries.
 * fetch-fixtures/renewed-token.json refuses tenants 0 and 1 once. */
static void test_401_renewed(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a;
	const struct req_log *lg[4];

	(void)state;
	run_init(&r, 4);
	s = server_start("renewed-token.json", 0, 0);
	a = app_auth(s);
	base_config(&cfg, s, a);
	cfg.retries = 0;
	/* a cap instead of the slow start, whose second request waits
	 * 0.1 s: both tok-1 requests go out before their 401s (50 ms) */
	cfg.rate = 1000;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	assert_int_equal(s->token_calls, 2);
	for(size_t i = 0; i < 2; i++) {
		assert_int_equal(r.out[i].calls, 1);
		assert_int_equal(r.out[i].status, 200);
		assert_int_equal(r.out[i].attempts, 2);
		assert_int_equal(tenant_log(s, r.tenants[i], lg, 4), 2);
		assert_string_equal(lg[0]->auth, "Bearer tok-1");
		assert_string_equal(lg[1]->auth, "Bearer tok-2");
		/* an answer (the 401) came in between: fresh ID */
		expect_rid(lg[0], r.tenants[i], 0);
		expect_rid(lg[1], r.tenants[i], 1);
	}
	for(size_t i = 2; i < 4; i++) {
		assert_int_equal(r.out[i].calls, 1);
		assert_int_equal(r.out[i].status, 200);
	}
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* 401 again after the renewal: the run stops with PL_EAUTH. */
static void test_401_after_renewal(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a;

	(void)state;
	run_init(&r, 1);
	s = server_start("always-401.json", 0, 0);
	a = app_auth(s);
	base_config(&cfg, s, a);
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EAUTH);
	assert_int_equal(r.done_calls, 0);
	assert_int_equal(s->token_calls, 2);
	assert_int_equal(s->nlog, 2);
	assert_non_null(strstr(err.msg, "401"));
	assert_null(strstr(err.msg, "tok-"));
	assert_null(strstr(err.msg, "secret"));
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* Bodies up to 8 MiB are handed over; one byte more is a failure, known
 * from the Content-Length before the body is read. Too big for a
 * fixture, they are made here. */
static void test_body_limit(void **state)
{
	struct run r;
	struct made made[2];
	struct server *s;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	char *body = malloc(NORM_MAX_BODY + 2);

	(void)state;
	assert_non_null(body);
	memset(body, 'x', NORM_MAX_BODY + 1);
	body[NORM_MAX_BODY + 1] = '\0';
	run_init(&r, 2);
	made[0] = (struct made){0, body, NORM_MAX_BODY};
	made[1] = (struct made){1, body, NORM_MAX_BODY + 1};
	s = server_start(NULL, 0, 0);
	s->made = made;
	s->nmade = 2;
	base_config(&cfg, s, a);
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_OK);
	assert_int_equal(r.out[0].status, 200);
	assert_int_equal(r.out[0].body_len, NORM_MAX_BODY);
	assert_null(r.out[0].failure);
	assert_int_equal(r.out[1].calls, 1);
	assert_int_equal(r.out[1].status, 200);
	assert_int_equal(r.out[1].attempts, 1);
	assert_null(r.out[1].body);
	assert_string_equal(r.out[1].failure,
			    "body larger than 8 MiB (Content-Length: 8388609)");
	server_stop(s);
	run_release(&r);
	auth_free(a);
	free(body);
}

/* A timeout on a reused connection is a timeout, not a connect failure;
 * one that never connects says so. */
static void test_timeout_kinds(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();

	(void)state;
	run_init(&r, 2);
	s = server_start("slow-second.json", 0, 0);
	base_config(&cfg, s, a);
	cfg.concurrency = 1;
	cfg.retries = 0;
	cfg.timeout_ms = 300;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_OK);
	assert_int_equal(r.out[0].status, 200);
	assert_int_equal(r.out[1].status, 0);
	assert_int_equal(r.out[1].attempts, 1);
	assert_string_equal(r.out[1].failure, "timeout after 0.3 s");
	assert_int_equal(s->connections, 1);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* A listener whose accept queue is full drops new SYNs: the connect
 * times out. */
static void test_connect_timeout(void **state)
{
	struct run r;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char base[64];
	int lfd = socket(AF_INET, SOCK_STREAM, 0), cfd[4];

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	/* fill the queue (never accepted) */
	for(int i = 0; i < 4; i++) {
		cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(cfd[i] >= 0);
		connect(cfd[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
		 (unsigned)ntohs(sa.sin_port));
	run_init(&r, 1);
	base_config(&cfg, NULL, a);
	cfg.base_url = base;
	cfg.retries = 0;
	cfg.connect_timeout_ms = 300;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_OK);
	assert_int_equal(r.out[0].status, 0);
	assert_string_equal(r.out[0].failure,
			    "cannot connect: timeout after 0.3 s");
	for(int i = 0; i < 4; i++)
		close(cfd[i]);
	close(lfd);
	run_release(&r);
	auth_free(a);
}

/* Nothing listens: "connection refused", retried with the same ID. */
static void test_connection_refused(void **state)
{
	struct run r;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	char base[64], rid[GUID_STR_LEN + 1];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	/* a port that was free a moment ago */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u",
		 (unsigned)ntohs(sa.sin_port));
	run_init(&r, 1);
	base_config(&cfg, NULL, a);
	cfg.base_url = base;
	cfg.retries = 1;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_OK);
	assert_int_equal(r.out[0].calls, 1);
	assert_int_equal(r.out[0].status, 0);
	assert_int_equal(r.out[0].attempts, 2);
	assert_null(r.out[0].body);
	assert_string_equal(r.out[0].failure,
			    "connection refused (2 attempts)");
	ids_request_id(CORR, r.tenants[0], 0, rid);
	assert_string_equal(r.out[0].request_id, rid);
	run_release(&r);
	auth_free(a);
}

/* A Retry-After over --max-retry-wait is an Error row at once, saying
 * so; one within it is waited for. */
static void test_max_retry_wait(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();

	(void)state;
	run_init(&r, 3);
	s = server_start("max-retry-wait.json", 0, 0);
	base_config(&cfg, s, a);
	cfg.max_retry_wait_ms = 1000;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_OK);
	assert_int_equal(r.out[0].attempts, 1);
	assert_int_equal(r.out[0].status, 429);
	assert_string_equal(r.out[0].failure, "server asked to wait 999999999 "
			    "s, more than --max-retry-wait 1 s");
	assert_int_equal(r.out[1].attempts, 1);
	assert_string_equal(r.out[1].failure, "server asked to wait 2 s, more "
			    "than --max-retry-wait 1 s");
	assert_false(r.out[1].unfinished);
	/* 1 s is not more than 1 s: waited for, then answered */
	assert_int_equal(r.out[2].attempts, 2);
	assert_int_equal(r.out[2].status, 200);
	assert_null(r.out[2].failure);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

/* At the deadline nothing more is sent: a tenant waiting out a
 * Retry-After is finished at once, unfinished; the one in flight ends
 * as it would; next() is not asked again. */
static void test_deadline(void **state)
{
	struct run r;
	struct server *s;
	struct fetch_config cfg;
	struct fetch_stats st;
	struct pl_err err = {{0}};
	struct auth *a = ready_auth();
	size_t cut = 0;

	(void)state;
	run_init(&r, 40);
	/* the other tenants: the default answer after 300 ms */
	s = server_start("deadline.json", 0, 300);
	base_config(&cfg, s, a);
	cfg.concurrency = 1;
	cfg.retries = 5;
	cfg.deadline_us = now_mono_us() + 1000000;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	assert_true(st.deadline_reached);
	/* 40 tenants at 0.3 s one at a time do not fit in a second */
	assert_true(r.issued >= 2);
	assert_true(r.issued < 40);
	assert_int_equal(r.done_calls, r.issued);
	assert_true(r.out[0].unfinished);
	assert_int_equal(r.out[0].attempts, 1);
	assert_int_equal(r.out[0].status, 503);
	for(size_t i = 0; i < r.issued; i++) {
		assert_int_equal(r.out[i].calls, 1);
		cut += r.out[i].unfinished;
		if(i)
			assert_int_equal(r.out[i].status, 200);
	}
	assert_int_equal(cut, 1);
	assert_int_equal(st.cut, 1);

	/* a deadline already past: nothing is asked for at all */
	run_release(&r);
	run_init(&r, 3);
	cfg.deadline_us = now_mono_us() - 1;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, &st,
				   &err), PL_OK);
	assert_true(st.deadline_reached);
	assert_int_equal(r.issued, 0);
	server_stop(s);
	run_release(&r);
	auth_free(a);
}

static void test_bad_config(void **state)
{
	struct run r;
	struct fetch_config cfg;
	struct pl_err err = {{0}};

	(void)state;
	run_init(&r, 1);
	base_config(&cfg, NULL, NULL);
	cfg.concurrency = 0;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EUSAGE);
	cfg.concurrency = FETCH_MAX_CONCURRENCY + 1;
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EUSAGE);
	cfg.concurrency = 1;
	cfg.correlation_id = "not-a-uuid";
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EUSAGE);
	cfg.correlation_id = CORR;
	cfg.base_url = "http://example.com";
	assert_int_equal(fetch_run(&cfg, next_job, job_done, NULL, &r, NULL,
				   &err), PL_EUSAGE);
	assert_int_equal(r.issued, 0);
	run_release(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_scripted),
		cmocka_unit_test(test_concurrency),
		cmocka_unit_test(test_throughput),
		cmocka_unit_test(test_backpressure),
		cmocka_unit_test(test_rate_cap),
		cmocka_unit_test(test_quota_pause),
		cmocka_unit_test(test_stop_from_done),
		cmocka_unit_test(test_done_fails),
		cmocka_unit_test(test_401_ready_token),
		cmocka_unit_test(test_401_renewed),
		cmocka_unit_test(test_401_after_renewal),
		cmocka_unit_test(test_body_limit),
		cmocka_unit_test(test_timeout_kinds),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_max_retry_wait),
		cmocka_unit_test(test_deadline),
	};

	signal(SIGPIPE, SIG_IGN);
	/* debugging aids: FETCHDBG=1 logs every request, TESTFILTER=name
	 * runs matching tests only */
	if(getenv("FETCHDBG"))
		log_setup(LOG_DEBUG, LOG_TEXT);
	if(getenv("TESTFILTER"))
		cmocka_set_test_filter(getenv("TESTFILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
