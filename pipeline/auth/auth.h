/*
 * auth.h: bearer tokens for the Partner Center API — the one header the
 * rest of the pipeline uses for authentication.
 *
 * Where tokens come from (token_source.h), chosen by the configuration:
 *   - a ready token (PARTNER_CENTER_TOKEN or --token-file), never renewed;
 *   - App+User: a refresh-token file (--refresh-token-file), redeemed
 *     with the refresh-token grant, the rotated refresh token written
 *     back under the file's lock (refresh_file.h); the app authenticates
 *     with its secret or certificate when it is confidential;
 *   - app-only: the client-credentials grant, with the app's secret or
 *     certificate (a signed JWT client assertion, assertion.h).
 * The grants go to {authority}/{tenant}/oauth2/v2.0/token with scopes
 * derived from the resource (RESOURCE/.default app-only,
 * RESOURCE/user_impersonation offline_access App+User), or with v1 to
 * {authority}/{tenant}/oauth2/token with resource=RESOURCE.
 *
 * Renewal: a token is renewed 60 s before expires_in runs out (at half
 * its life when that is under two minutes), and once after a 401; a
 * failed renewal while the current token still works is logged and tried
 * again 5 s later instead of stopping the run.
 *
 * Secrets (the client secret, the key's passphrase, tokens, the refresh
 * token, assertions) live only in memory this module owns, in wiped
 * buffers; they are sent only in request bodies and headers and never
 * appear in error messages or logs.
 */
#ifndef QR_AUTH_H
#define QR_AUTH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "assertion.h"
#include "device_code.h"
#include "status.h"

#define AUTH_DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define AUTH_DEFAULT_RESOURCE "https://api.partnercenter.microsoft.com"

struct auth_config {
	const char *token;         /* ready token; if set, the rest is unused */
	const char *authority;     /* default AUTH_DEFAULT_AUTHORITY */
	const char *tenant;        /* partner tenant (ID or domain) */
	const char *client_id;
	const char *client_secret; /* a secret, borrowed */
	const char *client_cert;   /* PEM certificate (and key) path */
	const char *client_key;    /* PEM key path, NULL: in client_cert */
	const char *client_key_passphrase; /* a secret, borrowed */
	enum assertion_alg assertion_alg;  /* default PS256 */
	const char *refresh_token_file;    /* App+User */
	const char *resource;      /* default AUTH_DEFAULT_RESOURCE */
	const char *scope;         /* overrides the app-only v2 scope */
	bool v1;                   /* the v1 endpoint with resource= */
	const char *cacert;        /* extra CA bundle, may be NULL */
	long timeout_ms;           /* for a token request, 0 = 30 s */
	const char *user_agent;
	long lock_timeout_ms;      /* refresh-token file lock, 0: 120 s */
};

/* A sovereign cloud's endpoints (API doc §1): --cloud sets all three. */
struct auth_cloud {
	const char *name;          /* global, usgov, china */
	const char *api_root;
	const char *authority;
	const char *resource;
};

/* The cloud called name, or NULL. */
const struct auth_cloud *auth_cloud_find(const char *name);

struct auth;

/*
 * Copies what it needs from cfg (secrets included), loads and checks a
 * certificate, and checks the configuration; fetches nothing yet.
 * PL_EUSAGE for a bad configuration (a message naming the option or
 * file); PL_EAUTH for a certificate outside its validity period or a
 * refresh-token file that does not exist.
 */
enum pl_status auth_new(const struct auth_config *cfg, struct auth **out,
			struct pl_err *err);
void auth_free(struct auth *a); /* wipes secrets; NULL is a no-op */

/*
 * The current token, fetching or renewing it first when there is none or
 * it expires soon (see above). *token is borrowed until the next auth_
 * call. PL_EAUTH with a message that says which credential failed and
 * what to do (never the secret) when no token can be had.
 */
enum pl_status auth_token(struct auth *a, const char **token,
			  struct pl_err *err);

/*
 * A request got 401 with the token of generation gen. If the token has
 * been renewed since (generation moved on), returns PL_OK at once: retry
 * with the new one. Otherwise renew now; a ready token cannot be renewed:
 * PL_EAUTH. Each generation is renewed at most once on 401.
 */
enum pl_status auth_renew_after_401(struct auth *a, unsigned gen,
				    struct pl_err *err);
/* Increases by one each time a new token is obtained. */
unsigned auth_generation(const struct auth *a);
/* Whether the token can be renewed (anything but a ready token). */
bool auth_is_renewable(const struct auth *a);

/*
 * qualreport login: the device-code flow for cfg's tenant and client
 * (public, or confidential with its secret or certificate), writing the
 * refresh token to cfg->refresh_token_file (device_code.h).
 */
enum pl_status auth_login(const struct auth_config *cfg,
			  const struct device_code_prompt *prompt,
			  volatile sig_atomic_t *stop, struct pl_err *err);

struct auth_check {
	int64_t rotated_s;         /* when the stored token was written */
	bool rotated_from_mtime;   /* no header: the file's mtime */
	bool rotated_now;          /* the check's grant rotated it */
};

/*
 * qualreport login --check: whether the stored refresh token still
 * works, by redeeming it (which rotates it: the new one is written back),
 * and when it had last been rotated. PL_EAUTH as auth_token.
 */
enum pl_status auth_login_check(const struct auth_config *cfg,
				struct auth_check *out, struct pl_err *err);

/*
 * Read a secret or token from a file: the first line, trailing CR/LF and
 * spaces removed. Refuses an empty result. Caller frees (and should wipe)
 * *out. PL_EUSAGE with a message naming the file on failure.
 */
enum pl_status auth_read_secret_file(const char *path, char **out,
				     struct pl_err *err);

#endif
