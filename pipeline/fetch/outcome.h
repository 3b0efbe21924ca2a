/*
 * outcome.h: maps a finished transfer to what happens next, and to the
 * words an Error row gives for it.
 *
 * The rule: a server's answer, however wrong, is a fact about one tenant
 * (a row, maybe after retries); only a failure of our own machine
 * (memory we could not get, a CA file we cannot read, the event loop)
 * ends the run. outcome_classify() applies it to every attempt: libcurl's
 * result (each CURLcode of libcurl 7.88 has a row in outcome.c's table),
 * the answer module's view of what arrived (answer.h: oversized headers,
 * bad encodings, a body over 8 MiB, somebody else's answer), and the HTTP
 * status class. Three kinds of decision:
 *
 *   retry   the bytes may have been damaged on the way, or the server says
 *           "later": connection failures, timeouts, resets, malformed
 *           framing (status line, header syntax, chunking, lengths), a
 *           truncated compressed body, an answer for another request,
 *           408/429/500/502/503/504
 *   row     a well-framed answer no retry would change: its status
 *           (3xx not followed, 4xx, other 5xx, an invalid status), its
 *           size (headers, body), its encoding, its certificate
 *   end     our machine: an allocation of ours or of libcurl's failed, a
 *           local TLS file is unusable, libcurl was misused (a bug)
 *
 * libcurl 7.88 reports a response header line over 100 KiB as
 * CURLE_OUT_OF_MEMORY; curlmem.h counts libcurl's failed allocations so
 * that this limit (a row) is told from memory running out (the end).
 *
 * Pure apart from outcome_failure_get(), which reads the handle's infos,
 * so the table can be tested without a network.
 */
#ifndef QR_OUTCOME_H
#define QR_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "answer.h"
#include "status.h"

#define OUTCOME_WHY_MAX 512

/* What a failed attempt left behind: the few infos the text needs. */
struct outcome_failure {
	CURLcode res;
	long os_errno;           /* CURLINFO_OS_ERRNO; 0 = none */
	/* The request went out: a connection was made (CONNECT_TIME_T), or
	 * a reused one was ready (PRETRANSFER_TIME_T). A timeout before
	 * that is a connect timeout. */
	bool connected;
	const char *errbuf;      /* CURLOPT_ERRORBUFFER text; "" = none */
};

/* The per-attempt limits the text quotes, in milliseconds. */
struct outcome_limits {
	long timeout_ms;
	long connect_timeout_ms;
};

/* Fill f from a finished easy handle (res from its CURLMsg). errbuf is
 * borrowed: it must live as long as f. */
void outcome_failure_get(struct outcome_failure *f, CURL *easy,
			 CURLcode res, const char *errbuf);

/* What one CURLcode means, whatever else happened. */
enum outcome_kind {
	OUTCOME_KIND_RETRY = 0, /* transport or framing: try again */
	OUTCOME_KIND_ROW,       /* the server's answer: an Error row now */
	OUTCOME_KIND_FATAL      /* our machine or our bug: end the run */
};

/* The table row of res (OUTCOME_KIND_ROW for a code libcurl 7.88 does not
 * have: a newer libcurl's new code is still one tenant's problem). */
enum outcome_kind outcome_curl_kind(CURLcode res);

/* Errors no retry can mend: the same request would fail the same way. */
bool outcome_is_permanent(CURLcode res);

/* What happens next. */
enum outcome_action {
	OUTCOME_USE = 0,   /* a final HTTP answer: norm makes its rows */
	OUTCOME_USE_RETRY, /* an answer that says "later" (408, 429, 5xx of
			    * retry.h): retry if retries remain (honouring
			    * Retry-After), else use it */
	OUTCOME_REAUTH,    /* 401: renew the token once */
	OUTCOME_RETRY,     /* no usable answer: retry if retries remain,
			    * else an Error row saying why */
	OUTCOME_ROW,       /* an Error row saying why, now */
	OUTCOME_FATAL      /* end the run with `fatal` and `why` */
};

/* What outcome_classify() looks at. */
struct outcome_attempt {
	struct outcome_failure f;   /* res CURLE_OK when the transfer ended
				     * well (answer_finish() already run) */
	long status;                /* CURLINFO_RESPONSE_CODE, 0 = none */
	/* a libcurl allocation failed since the attempt started, or that
	 * cannot be known (curlmem_is_counting() false) */
	bool curl_alloc_failed;
	const struct answer *ans;   /* may be NULL: nothing seen */
};

struct outcome {
	enum outcome_action action;
	/* An HTTP answer to this request arrived, even a broken one: the
	 * next attempt gets a fresh MS-RequestId (spec: request_id). Not
	 * for an answer carrying another request's ID. */
	bool answered;
	long status;               /* the answer's status when answered */
	enum pl_status fatal;      /* OUTCOME_FATAL: why the run ends */
	/* RETRY, ROW, FATAL: why, short and lowercase, without the count of
	 * attempts (outcome_with_attempts adds it) */
	char why[OUTCOME_WHY_MAX];
};

/* Decide what the attempt means (see the top of this file). */
void outcome_classify(const struct outcome_attempt *in,
		      const struct outcome_limits *lim, struct outcome *out);

/* "why" or "why (N attempts)" when attempts > 1, cut to n bytes. */
void outcome_with_attempts(const char *why, unsigned attempts, char *out,
			   size_t n);

/*
 * The Error row for a wait longer than --max-retry-wait: "server asked to
 * wait 999999999 s, more than --max-retry-wait 600 s" with the
 * Retry-After's digits as sent, "... to wait until <the HTTP date as
 * sent>, ..." for a date, or wait_ms in seconds (rounded up) when the
 * wait came from elsewhere (a 429 body's "Try again in N seconds").
 */
void outcome_wait_refused(const struct answer *ans, int64_t wait_ms,
			  long max_wait_s, char *out, size_t n);

/* What a CURLMcode means. */
enum outcome_multi {
	OUTCOME_MULTI_OK = 0,
	OUTCOME_MULTI_ATTEMPT, /* this attempt failed (curl_multi_add_handle) */
	OUTCOME_MULTI_IGNORE,  /* nothing to do now: the transfers involved
				* still end, by their own timeout at worst */
	OUTCOME_MULTI_FATAL    /* our machine: end the run */
};

/* For curl_multi_add_handle (adding) or curl_multi_socket_action. */
enum outcome_multi outcome_multi_kind(CURLMcode mc, bool adding,
				      bool curl_alloc_failed);

/*
 * Why the tenant got no usable answer, short, lowercase, for the Error
 * row: "cannot connect: timeout after 10 s", "connection reset", or
 * libcurl's own words; " (N attempts)" is added when attempts > 1.
 * Always NUL-terminated, cut to n bytes.
 */
void outcome_describe(const struct outcome_failure *f, unsigned attempts,
		      const struct outcome_limits *lim, char *out, size_t n);

/* "30", "0.5": seconds from milliseconds, for messages. */
void outcome_format_secs(long ms, char *out, size_t n);

#endif
