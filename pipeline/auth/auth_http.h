/*
 * auth_http.h: the one HTTP request of the auth module — a form POST
 * (application/x-www-form-urlencoded) to the identity platform, with a
 * bounded reply.
 *
 * A blocking libcurl easy transfer: tokens are requested about once an
 * hour, so stalling the fetch loop for one costs nothing measurable. The
 * handle gets the API's hardening (httpopt_harden: TLS verified,
 * --cacert added to the system CAs, http/https only, no redirects).
 *
 * Secrets: the form and the reply are secret buffers of the caller's;
 * libcurl is given the form by pointer (CURLOPT_POSTFIELDS, no copy), and
 * nothing is logged.
 */
#ifndef QR_AUTH_HTTP_H
#define QR_AUTH_HTTP_H

#include <stdint.h>

#include "buf.h"
#include "status.h"

/* Token replies are a few KiB; anything far larger is not one. */
#define AUTH_HTTP_REPLY_MAX (256 * 1024)

struct auth_http {
	const char *cacert;      /* extra CA bundle, NULL: none */
	const char *user_agent;
	long timeout_ms;         /* whole request; 0: 30 s */
};

/*
 * POST form (a complete urlencoded body) to url. On PL_OK *status is the
 * HTTP status (any, 4xx included) and reply (reset first; limit
 * AUTH_HTTP_REPLY_MAX) holds the body; *started_ms is the monotonic time
 * just before the request went out (a token's lifetime counts from
 * there). PL_EAUTH "cannot reach URL: ..." when no answer came, or the
 * answer was larger than the limit.
 */
enum pl_status auth_http_post(const struct auth_http *h, const char *url,
			      const struct buf *form, long *status,
			      struct buf *reply, int64_t *started_ms,
			      struct pl_err *err);

/* "name=value" percent-encoded (RFC 3986 unreserved kept, the rest
 * %XX), with '&' before it unless form is empty. */
enum pl_status auth_http_form_add(struct buf *form, const char *name,
				  const char *value);

/* Whether url may be used as the authority: url_check()'s one rule for
 * every URL qualreport sends to, PL_EUSAGE naming --authority otherwise. */
enum pl_status auth_http_check_url(const char *url, struct pl_err *err);

#endif
