/*
 * grant.h: one token request from start to end, shared by every token
 * source — the app's identity and its client authentication (a secret,
 * a certificate's signed assertion, or none for a public client), the
 * form, the POST, the reply parsed, and a refusal turned into a message a
 * person can act on.
 *
 * Refusals: the message names the credential (the client ID, the refresh
 * token's file, the certificate's path and thumbprint), says what to do
 * next for the identity platform's errors that have a known cure
 * (AADSTS700082 expired, 65001 no consent, 50076/50078 MFA, 700007
 * another client, 50173 password changed, 700027 unknown certificate,
 * 7000215 wrong secret, ...), and carries the error, the first line of
 * error_description, trace_id and correlation_id. The description is
 * also logged (warning) whole. Text from the server is cleaned: control
 * characters become spaces, every secret of the request (the client
 * secret, the refresh token, the assertion and its signature, the
 * device code) is replaced by "[redacted]" should a server echo it.
 */
#ifndef QR_GRANT_H
#define QR_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "assertion.h"
#include "auth_http.h"
#include "buf.h"
#include "status.h"
#include "token_response.h"

/* The app and how it authenticates; borrowed strings, shared by all the
 * grants of a run. */
struct grant_client {
	const char *authority;     /* no trailing slash */
	const char *tenant;
	const char *client_id;
	const char *resource;      /* the API's (v1 resource=, v2 scopes) */
	bool v1;                   /* /oauth2/token, not /oauth2/v2.0/token */
	struct auth_http http;
	const char *secret;        /* client secret, NULL: none */
	const struct assertion_key *cert; /* NULL: none */
};

/* What a grant redeems, for messages: e.g. credential "the refresh token
 * in /var/lib/qualreport/rt" and relogin "run qualreport login
 * --refresh-token-file /var/lib/qualreport/rt"; both may be NULL. */
struct grant_what {
	const char *credential;
	const char *relogin;
};

#define GRANT_MAX_SECRETS 6

/* A request's form, and the secrets in it (for redaction). */
struct grant_form {
	struct buf body;            /* secret */
	struct buf assertion;       /* secret; the client assertion if any */
	const char *secrets[GRANT_MAX_SECRETS];
	size_t nsecrets;
};

void grant_form_init(struct grant_form *f);
void grant_form_release(struct grant_form *f);  /* wipes */
enum pl_status grant_form_add(struct grant_form *f, const char *name,
			      const char *value, struct pl_err *err);
/* value is remembered (borrowed: it must outlive f) to be redacted. */
enum pl_status grant_form_add_secret(struct grant_form *f, const char *name,
				     const char *value, struct pl_err *err);

/* {authority}/{tenant}/oauth2/v2.0/token, or /oauth2/token for v1, and
 * the v2 device-code endpoint; into out (reset first). */
enum pl_status grant_token_url(const struct grant_client *c, struct buf *out);
enum pl_status grant_devicecode_url(const struct grant_client *c,
				    struct buf *out);

/*
 * client_id and the client's authentication for a request to url: the
 * secret, or a fresh assertion (aud = url, now_s) built into
 * f->assertion, or nothing for a public client. PL_EAUTH when the
 * certificate is no longer valid.
 */
enum pl_status grant_add_client(const struct grant_client *c, const char *url,
				int64_t now_s, struct grant_form *f,
				struct pl_err *err);

/*
 * POST f to url and parse the reply into r. PL_OK only for HTTP 200 with
 * a usable access_token (printable, no spaces) and token_type Bearer (or
 * none); then *started_ms is when the request went out. Any other answer:
 * PL_EAUTH with the message described above (r keeps the parsed error,
 * so a caller can tell authorization_pending from a refusal).
 */
enum pl_status grant_request(const struct grant_client *c, const char *url,
			     const struct grant_form *f,
			     const struct grant_what *what,
			     struct token_response *r, long *status,
			     int64_t *started_ms, struct pl_err *err);

/* The refusal message for a parsed error reply (grant_request's). */
enum pl_status grant_refusal(const struct grant_client *c, const char *url,
			     const struct grant_form *f,
			     const struct grant_what *what, long status,
			     const struct token_response *r,
			     struct pl_err *err);

/*
 * Copy server text into out for a message: runs of control characters
 * become one space, each of secrets[0..n) (4 characters or longer) is
 * replaced by "[redacted]", at most max bytes are kept ("..." added when
 * cut), and with first_line only what comes before the first CR or LF.
 */
void grant_clean_text(char *out, size_t outsz, const char *in, size_t max,
		      bool first_line, const char *const *secrets, size_t n);

/* A bearer token goes into a header line: no spaces, control characters
 * or non-ASCII, and not empty. */
bool grant_is_token_usable(const char *t, size_t len);

#endif
