/*
 * url_check.h: the one rule for the URLs qualreport sends requests to,
 * the API root (--base-url) and the identity platform (--authority).
 *
 * Accepted: https:// to any host; http:// only to a loopback host, where
 * nothing crosses a network (127.0.0.0/8, ::1, localhost, localhost.).
 * Refused: any other scheme, userinfo (user:pw@), a query or fragment,
 * spaces, control or non-ASCII bytes, an empty or malformed host, and a
 * port that is not a number from 1 to 65535. A path is allowed (the API
 * root may carry a prefix). The check is syntactic: nothing is resolved.
 *
 * A refusal is a usage error (PL_EUSAGE, exit 2) whose message names the
 * option and the URL, so a typo is reported before any request is made
 * instead of as an Error row per tenant.
 */
#ifndef QR_URL_CHECK_H
#define QR_URL_CHECK_H

#include <stdbool.h>

#include "status.h"

/*
 * PL_OK when url may be used; PL_EUSAGE with a message such as
 * "--base-url 'http://example.com': refusing plain http:// to
 * non-loopback host 'example.com': use https://" otherwise. option is how
 * the user gave the URL ("--base-url", "--authority"); url may be NULL.
 */
enum pl_status url_check(const char *url, const char *option,
			 struct pl_err *err);

/* host as it appears in a URL, without brackets: "127.0.0.1", "::1",
 * "localhost", "localhost." (any case). */
bool url_check_is_loopback(const char *host);

#endif
