/*
 * identity.h: pcsim's identity platform — the token endpoints and the
 * device-code endpoint, as Entra ID answers them, for the grants
 * qualreport makes.
 *
 *   POST /{tenant}/oauth2/v2.0/token, /{tenant}/oauth2/token (v1):
 *     grant_type=client_credentials   (app-only)
 *     grant_type=refresh_token        (App+User, with rotation)
 *     grant_type=urn:ietf:params:oauth:grant-type:device_code
 *   POST /{tenant}/oauth2/v2.0/devicecode
 *
 * Client authentication, checked for every grant: client_secret (equal
 * to --client-secret / PCSIM_CLIENT_SECRET); or client_assertion (with
 * client_assertion_type jwt-bearer) validated against --client-cert:
 * alg PS256 (RSA-PSS, SHA-256, salt = digest length) or RS256, x5t#S256
 * or x5t naming that certificate, the RSA signature, aud = the exact URL
 * posted to, iss = sub = client_id, nbf/exp within ASSERTION_SKEW_S of
 * now and exp at most an hour ahead, and a jti never seen before (kept
 * until the assertion expires); or nothing, for the refresh and
 * device-code grants of a public client (--public-client).
 *
 * Refresh tokens (--refresh-token seeds one; every refresh and device
 * grant issues one): each use returns a new refresh token; a used one
 * still works for --refresh-grace-ms (a client killed before it stored
 * the new one can retry), then is refused with invalid_grant AADSTS700082
 * ("... has expired due to inactivity" plus when it was used); one
 * redeemed by another client ID gets AADSTS700007; one older than
 * --refresh-ttl is expired (AADSTS700082).
 *
 * Device codes: interval --device-interval s (default 5), expiry
 * --device-expires-in; the poll number --device-approve-after (K,
 * default 2) decides per --device-mode: approve (tokens), decline
 * (authorization_declined), expire (expired_token), slow_down (as
 * approve, but the first poll gets slow_down and the interval grows by
 * 5 s). Polls before that one get authorization_pending; a poll sooner
 * than the interval after the previous answer gets slow_down and counts
 * as an early poll.
 *
 * --aad-error CODE makes every token grant fail with that Entra ID error
 * (65001 no consent, 50076 / 50078 MFA required / expired, 700007 another
 * client, 50173 password changed, 700082 expired, 700027 certificate
 * not registered), after client authentication.
 *
 * Thread safety: every function may be called from any MHD thread.
 */
#ifndef PCSIM_IDENTITY_H
#define PCSIM_IDENTITY_H

#include <stdbool.h>

#include "buf.h"
#include "pcsim.h"
#include "status.h"
#include "tokens.h"

#define ASSERTION_SKEW_S 60

enum identity_device_mode {
	DEVICE_APPROVE = 0,
	DEVICE_DECLINE,
	DEVICE_EXPIRE,
	DEVICE_SLOW_DOWN
};

struct identity;

/*
 * tokens (borrowed, may be NULL without --client-id) receives the access
 * tokens issued. PL_EUSAGE when --client-cert holds no usable
 * certificate or --refresh-token is too long; PL_ENOMEM.
 */
enum pl_status identity_new(const struct pcsim_config *cfg,
			    struct token_store *tokens,
			    struct identity **out, struct pl_err *err);
void identity_free(struct identity *id);  /* NULL: no-op */

struct identity_request {
	const char *body;          /* the urlencoded form, NUL-terminated */
	bool v2;                   /* .../oauth2/v2.0/... */
	const char *endpoint_url;  /* scheme://Host/path posted to */
	const char *base_url;      /* scheme://Host */
};

struct identity_reply {
	unsigned status;
	struct buf body;           /* JSON */
	bool issued;               /* an access token was issued */
	bool unauthorized;         /* invalid_client */
};

/* Every reply is initialised by the caller and released after use. */
void identity_reply_init(struct identity_reply *r);
void identity_reply_release(struct identity_reply *r);

/* An Entra ID error reply ({"error", "error_description": "AADSTS<code>:
 * desc\r\nTrace ID: ...", "error_codes", "trace_id", "correlation_id",
 * ...}). 0, or -1 when out of memory. */
int identity_error(struct identity_reply *r, unsigned status,
		   const char *error, long code, const char *desc);

/* A token request. -1 when out of memory, else 0 with *out set. */
int identity_token(struct identity *id, const struct identity_request *rq,
		   struct identity_reply *out);
/* A device-code request. -1 when out of memory. */
int identity_devicecode(struct identity *id,
			const struct identity_request *rq,
			struct identity_reply *out);

/* ,"identity":{...} for /stats (appended to out; nothing without
 * --client-id, when there is no token endpoint); 0 or -1. */
int identity_stats(struct identity *id, struct buf *out);
void identity_stats_reset(struct identity *id);

/* Parse "approve" etc.; false for anything else. */
bool identity_device_mode_parse(const char *s, enum identity_device_mode *m);

/* Find name in a urlencoded form and decode its value into out (cap
 * bytes with the NUL). 1 found, 0 absent, -1 too long or bad escape. */
int identity_form_get(const char *body, const char *name, char *out,
		      size_t cap);

#endif
