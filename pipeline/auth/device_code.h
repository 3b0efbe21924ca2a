/*
 * device_code.h: `qualreport login` — the one interactive consent of the
 * Secure Application Model, by the OAuth 2.0 device authorization grant
 * (RFC 8628) against {authority}/{tenant}/oauth2/v2.0/devicecode.
 *
 * The person is shown a URL and a code (through the caller's show
 * callback), signs in with MFA in any browser, and the refresh token the
 * platform then hands out is written to the refresh-token file
 * (refresh_file.h: atomically, mode 0600). Polling follows RFC 8628
 * §3.5: every interval seconds (5 when the reply has none), 5 s more
 * after each slow_down, authorization_pending means go on, and
 * expired_token, authorization_declined (access_denied) end it. The file
 * is not locked while the person signs in (that may take minutes, and a
 * scheduled run must not wait for it), only while the token is written.
 */
#ifndef QR_DEVICE_CODE_H
#define QR_DEVICE_CODE_H

#include <signal.h>

#include "grant.h"
#include "status.h"

struct device_code_prompt {
	/* Show uri and user_code to the person (not secret); the code is
	 * valid expires_in_s seconds. */
	void (*show)(void *ctx, const char *uri, const char *user_code,
		     long expires_in_s);
	void *ctx;
};

/*
 * Run the flow for scope (which must include offline_access) and write
 * the refresh token to path. stop (may be NULL) ends the wait when it
 * becomes non-zero (PL_EINTERRUPTED). PL_EAUTH with a message saying what
 * happened (declined, expired, refused); PL_EOUTPUT when the token cannot
 * be written; PL_EUSAGE when path's directory is not writable.
 */
enum pl_status device_code_login(const struct grant_client *c,
				 const char *scope, const char *path,
				 const struct device_code_prompt *prompt,
				 volatile sig_atomic_t *stop,
				 struct pl_err *err);

#endif
