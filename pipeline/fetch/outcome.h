/*
 * outcome.h: maps a finished transfer to what happens next, and to the
 * words an Error row gives for it.
 *
 * The engine (fetch.c) asks two things of an attempt that got no usable
 * answer: whether any retry could mend it (outcome_is_permanent: the same
 * request would fail the same way), and, when the tenant is given up, why,
 * in a few words ("connection refused", "timeout after 30 s (6
 * attempts)"). HTTP statuses are classified by retry.h; this module is
 * the transport side. Pure apart from outcome_failure_get(), which reads
 * the handle's infos, so the table can be tested without a network.
 */
#ifndef QR_OUTCOME_H
#define QR_OUTCOME_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

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

/* Errors no retry can mend (a bad URL, a certificate, a cipher, a body
 * that does not decode). */
bool outcome_is_permanent(CURLcode res);

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
