/*
 * fetch.h: the fetch engine. One libcurl multi handle drives every
 * transfer from a single event loop (no thread per request).
 *
 * The engine pulls jobs from the caller (next), keeps at most
 * `concurrency` requests in flight (counted by the handles it has added,
 * not by CURLMOPT_MAX_TOTAL_CONNECTIONS, whose queueing would eat the
 * timeout), retries per retry.h with backoff scheduled by not-before times
 * (never sleep()), paces its requests by ratelimit.h (--rate as a
 * ceiling; without it, it learns the API's quota, a rate or a window, from
 * the 429s; a spent quota pauses every new attempt until its Retry-After,
 * or the "Try again in N seconds" of a 429's body, expires), and hands
 * each tenant's final answer to the caller (done), exactly once per job.
 *
 * Two kinds of job share the loop, the connections, the retries and the
 * one rate control (both count against the partner's quota):
 *   FETCH_TENANT  GET {base_url}/v1/customers/{tenant}/qualifications
 *   FETCH_PAGE    GET {base_url}{path}: a page of the customer list
 *                 (source_listing.c), with the extra header lines the
 *                 previous page asked for (MS-ContinuationToken)
 * Both carry Authorization: Bearer, Accept: application/json,
 * MS-CorrelationId, MS-RequestId (ids.h; a page's is derived from its
 * label), User-Agent: qualreport/VERSION. A page's answer goes back to
 * the caller like a tenant's (done), who reads it as a page instead of
 * normalizing it; its body may be up to FETCH_PAGE_MAX_BODY. Which job
 * goes first is the caller's: next() is asked after due retries, so a
 * caller that hands out a due page before new tenants keeps the list
 * from being starved, and one page at a time keeps it from starving the
 * fetches. Connections are
 * reused; HTTP/2 is used where the server offers it over TLS. Every
 * handle gets httpopt.h's hardening (TLS peer and host verification
 * always on, http/https only, no redirects); http:// is accepted only for
 * loopback hosts (url_check.h, which fetch_run applies to base_url too).
 *
 * Inside (pipeline/fetch/): fetch.c is the engine and its loop (fill,
 * poll, drain, tick); answer.h checks what arrives (limits, encodings,
 * the echoed request ID); outcome.h says what a finished attempt means
 * (retry, an Error row and its text, or the end of the run: only for our
 * own machine); curlmem.h counts libcurl's allocations; waitq.h holds
 * the retries waiting for their time; loop.h is the event loop it waits in
 * (loop_epoll.c); retry.h and ratelimit.h are its pure policies.
 */
#ifndef QR_FETCH_H
#define QR_FETCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "record.h"
#include "status.h"

#define FETCH_MAX_CONCURRENCY 1024
/* by_status slots: every three-digit HTTP status, and 0 for no answer */
#define FETCH_STATUS_SLOTS 1000
/* A page of the customer list is read up to this size. */
#define FETCH_PAGE_MAX_BODY (64u * 1024u * 1024u)
#define FETCH_DEFAULT_MAX_RETRY_WAIT_MS 600000
/* The Error row of a tenant the deadline cut off. */
#define FETCH_DEADLINE_TEXT "deadline reached before this tenant was fetched"

struct fetch_config {
	const char *base_url;      /* no trailing slash needed */
	unsigned concurrency;      /* 1..FETCH_MAX_CONCURRENCY */
	double rate;               /* max requests/s; 0 = adaptive on 429 */
	unsigned retries;          /* retries after the first attempt */
	long timeout_ms;           /* per attempt; 0 = 60 s */
	long connect_timeout_ms;   /* 0 = 10 s */
	/* Extra CA bundle (PEM), may be NULL: searched together with the
	 * system's certificate directory (/etc/ssl/certs, CURLOPT_CAPATH). */
	const char *cacert;
	const char *correlation_id;
	struct auth *auth;         /* borrowed */
	/* Set asynchronously (signal handler): stop dispatching and return
	 * PL_EINTERRUPTED promptly; in-flight transfers are abandoned. */
	volatile sig_atomic_t *stop;
	uint64_t seed;             /* jitter RNG seed; 0 = from the clock */
	/* The longest Retry-After waited for (0 = 600 s). A server asking
	 * for longer gets no wait: that tenant is finished at once with
	 * "server asked to wait N s, more than --max-retry-wait M s", and
	 * nothing else waits for it. */
	int64_t max_retry_wait_ms;
	/* now_mono_us() after which nothing more is sent (0 = none): jobs
	 * waiting for a retry are finished at once, unfinished, and
	 * in-flight attempts that would retry are finished unfinished when
	 * they end (within the timeout); next() is not called again. */
	int64_t deadline_us;
};

enum fetch_kind {
	FETCH_TENANT = 0,  /* a tenant's qualifications */
	FETCH_PAGE         /* a page of the customer list */
};

struct fetch_job {
	uint64_t seq;                      /* caller's index, echoed back */
	enum fetch_kind kind;
	char tenant_id[GUID_STR_LEN + 1];  /* FETCH_TENANT: canonical */
	/*
	 * FETCH_PAGE: the path and query under base_url to GET
	 * ("/v1/customers?size=500"; only URL characters, starting with
	 * '/'), header lines to send besides the engine's ("Name: value",
	 * no CR or LF), and a name for the page's MS-RequestId and the log
	 * ("customers page 3"). Borrowed until done() for this job returns.
	 */
	const char *path;
	const char *const *headers;
	size_t nheaders;
	const char *label;
};

/* A job's final outcome, borrowed for the duration of done(). */
struct fetch_result {
	uint64_t seq;
	enum fetch_kind kind;
	const char *tenant_id;   /* a page: its label */
	long http_status;        /* last HTTP status; 0 when none */
	unsigned attempts;       /* requests made */
	char request_id[GUID_STR_LEN + 1]; /* of the last attempt */
	const char *body;        /* last body, NUL-terminated; NULL if none */
	size_t body_len;
	/* NULL when an HTTP answer was received and used; else why the
	 * job failed: "timeout after 30 s (6 attempts)", "connection
	 * refused", "body larger than 8 MiB", ... */
	const char *failure;
	/* Cut off by the deadline (failure is FETCH_DEADLINE_TEXT): not a
	 * result to keep, a rerun should fetch it. */
	bool unfinished;
};

struct fetch_stats {
	uint64_t done;           /* jobs finished (tenants and pages) */
	uint64_t requests;       /* attempts started */
	uint64_t retries;        /* attempts that were retries */
	uint64_t throttled;      /* 429 answers */
	/* Finished attempts by the HTTP status of their answer; [0] counts
	 * those without one (timeout, refused, dropped). Attempts abandoned
	 * by an interruption are not counted. */
	uint64_t by_status[FETCH_STATUS_SLOTS];
	unsigned in_flight;
	unsigned waiting;        /* tenants waiting for a retry time */
	unsigned max_in_flight;
	double rate_limit;       /* current send-rate cap (0 = none) */
	/* The API's quota is spent (a 429's Retry-After, or a window's
	 * budget sent): no attempt starts for this long (0 = sending). */
	int64_t resume_in_ms;
	int64_t throttled_us;    /* the time spent so, in total */
	bool deadline_reached;   /* the run was cut by cfg->deadline_us */
	uint64_t cut;            /* tenants finished unfinished by it */
};

/* What the job source says when asked for the next job. */
enum fetch_next {
	FETCH_JOB,     /* *job is filled */
	FETCH_NOT_NOW, /* nothing to send right now (back-pressure: the
			* engine asks again after the next completion) */
	FETCH_NO_MORE  /* there will be no more jobs */
};
typedef enum fetch_next (*fetch_next_fn)(void *ctx, struct fetch_job *job);
/* A job is finished. A non-OK return stops the run with that status. */
typedef enum pl_status (*fetch_done_fn)(void *ctx,
					const struct fetch_result *res,
					struct pl_err *err);
/* Called from the loop about every 100 ms (progress display); may be
 * NULL. */
typedef void (*fetch_tick_fn)(void *ctx, const struct fetch_stats *st);

/*
 * Run until next() returns -1 and every job is done, or the deadline has
 * passed and every job taken is done (stats->deadline_reached; the jobs
 * next() was not asked for are the caller's to account for). Returns PL_OK;
 * PL_EAUTH when no token can be had or a 401 persists after renewal (the
 * run stops; message says which credential failed); PL_EINTERRUPTED when
 * *stop was set; the status of a failing done(); PL_ENOMEM.
 * stats (may be NULL) receives the final counters.
 */
enum pl_status fetch_run(const struct fetch_config *cfg, fetch_next_fn next,
			 fetch_done_fn done, fetch_tick_fn on_tick, void *ctx,
			 struct fetch_stats *stats, struct pl_err *err);

#endif
