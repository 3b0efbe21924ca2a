/*
 * auth.h: bearer tokens for the Partner Center API.
 *
 * Two sources: a ready token (PARTNER_CENTER_TOKEN or --token-file), which
 * cannot be renewed; or app credentials (tenant, client ID, secret), for
 * which the module runs the OAuth 2.0 client-credentials grant against
 * {authority}/{tenant}/oauth2/v2.0/token with
 * scope=https://api.partnercenter.microsoft.com/.default, and renews the
 * token 60 s before expires_in runs out (number or string in the reply).
 *
 * Secrets: the client secret and tokens live only in memory this module
 * owns, are wiped (OPENSSL_cleanse) on free, are sent only in request
 * bodies/headers, and never appear in error messages or logs.
 *
 * The token request is a blocking libcurl easy transfer: it happens about
 * once an hour, so stalling the event loop for it costs nothing measurable.
 */
#ifndef QR_AUTH_H
#define QR_AUTH_H

#include "status.h"

struct auth_config {
	const char *token;         /* ready token; if set, the rest is unused */
	const char *authority;     /* default https://login.microsoftonline.com */
	const char *tenant;        /* partner tenant (ID or domain) */
	const char *client_id;
	const char *client_secret;
	const char *scope;         /* default the Partner Center .default */
	const char *cacert;        /* extra CA bundle, may be NULL */
	long timeout_ms;           /* for the token request, 0 = 30 s */
	const char *user_agent;
};

struct auth;

/* Copies what it needs from cfg (secrets included). Fetches nothing yet. */
enum pl_status auth_new(const struct auth_config *cfg, struct auth **out,
			struct pl_err *err);
void auth_free(struct auth *a); /* wipes secrets; NULL is a no-op */

/*
 * The current token, fetching or renewing it first when there is none or
 * it expires within 60 s. *token is borrowed until the next auth_ call.
 * PL_EAUTH with a message that says which credential failed (never the
 * secret) when no token can be had.
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
/* 1 for app credentials (renewable), 0 for a ready token. */
int auth_renewable(const struct auth *a);

/*
 * Read a secret or token from a file: the first line, trailing CR/LF and
 * spaces removed. Refuses an empty result. Caller frees (and should wipe)
 * *out. PL_EUSAGE with a message naming the file on failure.
 */
enum pl_status auth_read_secret_file(const char *path, char **out,
				     struct pl_err *err);

#endif
