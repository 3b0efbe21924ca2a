/*
 * ping.h: dead-man's-switch pings, the convention of healthchecks.io and
 * the monitors that copy it (Uptime Kuma push monitors, Cronitor, ...):
 *
 *   URL/start        when the run starts (the monitor measures the run)
 *   URL              when it ends with exit status 0
 *   URL/<status>     when it ends with any other exit status ("URL/1")
 *
 * so that the monitor raises an alarm when a run fails and also when none
 * ran at all. One GET, at most 10 s in all, with the hardening of every
 * request (httpopt.h: TLS verified, no redirects followed); any 2xx
 * answer is success. http:// only to a loopback host, as for the API.
 *
 * The URL is a secret: a healthchecks URL carries the check's UUID (or
 * the project's ping key), and whoever knows it can ping the check. So
 * no message of this module (and none the caller should write) holds
 * more of it than scheme://host[:port]; ping_url_origin() makes that.
 *
 * A ping that fails is a warning for the caller to log, never a reason to
 * change the run's exit status: the monitor sees the missing ping anyway.
 */
#ifndef QR_PING_H
#define QR_PING_H

#include <stddef.h>

#include "status.h"

/* The event to report: the start, or the run's exit status (0..255). */
#define PING_START (-1)

#define PING_TIMEOUT_MS 10000L

struct ping_config {
	const char *url;        /* base URL of the check */
	const char *cacert;     /* extra CA bundle (PEM) or NULL, as --cacert */
	const char *user_agent; /* NULL = HTTPOPT_USER_AGENT */
	long timeout_ms;        /* whole request; 0 = PING_TIMEOUT_MS */
};

/*
 * PL_OK when url can be pinged: url_check()'s rule for the API's URLs
 * (https://, http:// only to a loopback host, no user info, query or
 * fragment, a valid port). Else PL_EUSAGE with its reason and, of the
 * URL, only the origin.
 */
enum pl_status ping_check_url(const char *url, struct pl_err *err);

/*
 * "scheme://host[:port]" of url, never its path (where the secret is),
 * into out (len bytes; cut to fit). "(invalid URL)" when it has none.
 */
void ping_url_origin(const char *url, char *out, size_t len);

/*
 * Send the ping for event (PING_START, or an exit status 0..255) and wait
 * for the answer. PL_OK on a 2xx answer. Else PL_EOUTPUT with a message
 * naming the origin, the event and what went wrong ("ping https://hc-ping.com
 * (exit 1): HTTP 404"), PL_EUSAGE for a URL ping_check_url() refuses, or
 * PL_ENOMEM. Initialises libcurl itself (reference-counted).
 */
enum pl_status ping_send(const struct ping_config *cfg, int event,
			 struct pl_err *err);

#endif
