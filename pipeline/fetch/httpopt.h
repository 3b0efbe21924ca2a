/*
 * httpopt.h: the hardening every easy handle of qualreport gets, the
 * API's (fetch.c) and the token endpoint's (auth.c) alike, so that no
 * request can be made with less:
 *
 *   - TLS peer and host verification on, whatever the options;
 *   - an extra CA bundle (--cacert) searched together with the system's
 *     certificate directory (/etc/ssl/certs), never instead of it;
 *   - http and https only;
 *   - redirects not followed (a 3xx is an answer, not a new destination
 *     to send the Authorization header to);
 *   - no signals (libcurl in one thread with timeouts);
 *   - the user agent.
 *
 * Timeouts, callbacks and the request itself stay with the caller.
 */
#ifndef QR_HTTPOPT_H
#define QR_HTTPOPT_H

#include <curl/curl.h>

#include "status.h"

#define HTTPOPT_USER_AGENT "qualreport/" QR_VERSION

struct httpopt {
	const char *cacert;       /* extra CA bundle (PEM); NULL = none */
	const char *user_agent;   /* NULL = HTTPOPT_USER_AGENT */
};

/*
 * Set the options above on c; the strings are copied by libcurl. PL_OK;
 * PL_ENOMEM or PL_EINTERNAL (an option libcurl refuses) with a message
 * naming the option, c then partly set up: the caller must not use it.
 */
enum pl_status httpopt_harden(CURL *c, const struct httpopt *o,
			      struct pl_err *err);

#endif
