/*
 * auth.c: the configuration turned into a token source, and the one
 * renewal policy over every source.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "now.h"
#include "refresh_file.h"
#include "secret_file.h"
#include "token_source.h"

#define RENEW_MARGIN_MS 60000LL
/* Below this lifetime the 60 s margin would leave nothing: renew at half. */
#define SHORT_TTL_MS 120000LL
/* After a failed renewal while the old token still works, wait this long
 * before trying again, so a down token endpoint does not stall every call
 * for a full timeout. */
#define RETRY_RENEW_MS 5000LL

static const struct auth_cloud clouds[] = {
	{"global", "https://api.partnercenter.microsoft.com",
	 "https://login.microsoftonline.com",
	 "https://api.partnercenter.microsoft.com"},
	{"usgov", "https://api.partnercenter.microsoft.com",
	 "https://login.microsoftonline.us",
	 "https://api.partnercenter.microsoft.com"},
	{"china", "https://partner.partnercenterapi.microsoftonline.cn",
	 "https://login.chinacloudapi.cn",
	 "https://partner.partnercenterapi.microsoftonline.cn"},
};

const struct auth_cloud *auth_cloud_find(const char *name)
{
	for(size_t i = 0; i < sizeof(clouds) / sizeof(clouds[0]); i++)
		if(!strcmp(clouds[i].name, name))
			return &clouds[i];
	return NULL;
}

struct auth {
	struct token_source *src;
	unsigned gen;
	/* The current token was obtained because of a 401: a 401 on it too
	 * means renewing does not help. */
	bool gen_from_401;
	struct buf token;          /* secret; empty before the first get */
	int64_t renew_at_ms;       /* monotonic */
	int64_t expire_at_ms;
	int64_t retry_at_ms;       /* no renewal attempt before this */

	/* What the grant_client points at, owned. */
	struct grant_client client;
	char *authority;           /* no trailing slash */
	char *tenant;
	char *client_id;
	char *resource;
	char *cacert;
	char *user_agent;
	struct buf secret;         /* secret */
	struct assertion_key *cert;
	bool curl_inited;
};

/* Tenant IDs are GUIDs or domain names; anything else could rewrite the
 * endpoint path. */
static bool is_tenant_ok(const char *t)
{
	if(!*t)
		return false;
	for(; *t; t++)
		if(!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		     (*t >= '0' && *t <= '9') || *t == '.' || *t == '-' ||
		     *t == '_'))
			return false;
	return true;
}

static bool dup_opt(char **dst, const char *src)
{
	if(!src)
		return true;
	*dst = strdup(src);
	return *dst != NULL;
}

void auth_free(struct auth *a)
{
	if(!a)
		return;
	if(a->src)
		a->src->ops->free(a->src);
	buf_release(&a->token);
	buf_release(&a->secret);
	assertion_key_free(a->cert);
	free(a->authority);
	free(a->tenant);
	free(a->client_id);
	free(a->resource);
	free(a->cacert);
	free(a->user_agent);
	if(a->curl_inited)
		curl_global_cleanup();
	free(a);
}

static struct auth *auth_alloc(void)
{
	struct auth *a = calloc(1, sizeof(*a));

	if(a) {
		buf_init_secret(&a->token, 0);
		buf_init_secret(&a->secret, 0);
	}
	return a;
}

/* The app's identity and credential, from cfg. */
static enum pl_status setup_client(struct auth *a,
				   const struct auth_config *cfg,
				   struct pl_err *err)
{
	const char *authority = cfg->authority && *cfg->authority ?
				cfg->authority : AUTH_DEFAULT_AUTHORITY;
	struct grant_client *c = &a->client;
	size_t n;
	enum pl_status st;

	st = auth_http_check_url(authority, err);
	if(st)
		return st;
	if(!cfg->tenant || !is_tenant_ok(cfg->tenant))
		return pl_fail(err, PL_EUSAGE, "invalid tenant %s: expected a "
			       "tenant ID or a domain name", cfg->tenant);
	if(curl_global_init(CURL_GLOBAL_DEFAULT))
		return pl_fail(err, PL_EINTERNAL, "cannot initialise libcurl");
	a->curl_inited = true;
	if(!dup_opt(&a->authority, authority) ||
	   !dup_opt(&a->tenant, cfg->tenant) ||
	   !dup_opt(&a->client_id, cfg->client_id) ||
	   !dup_opt(&a->resource, cfg->resource && *cfg->resource ?
		    cfg->resource : AUTH_DEFAULT_RESOURCE) ||
	   !dup_opt(&a->cacert, cfg->cacert) ||
	   !dup_opt(&a->user_agent, cfg->user_agent ? cfg->user_agent :
		    "qualreport/" QR_VERSION))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	n = strlen(a->authority);
	while(n > 0 && a->authority[n - 1] == '/')
		a->authority[--n] = '\0';
	if(cfg->client_secret && *cfg->client_secret &&
	   buf_addstr(&a->secret, cfg->client_secret))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(cfg->client_cert) {
		struct assertion_config ac = {
			cfg->client_cert, cfg->client_key,
			cfg->client_key_passphrase, cfg->assertion_alg
		};

		st = assertion_key_load(&ac, now_wall_ms() / 1000, &a->cert,
					err);
		if(st)
			return st;
		log_debug("client %s authenticates with certificate %s "
			  "(thumbprint %s, %s)", a->client_id,
			  assertion_key_path(a->cert),
			  assertion_key_thumbprint(a->cert),
			  assertion_alg_name(cfg->assertion_alg));
	}
	c->authority = a->authority;
	c->tenant = a->tenant;
	c->client_id = a->client_id;
	c->resource = a->resource;
	c->v1 = cfg->v1;
	c->http.cacert = a->cacert;
	c->http.user_agent = a->user_agent;
	c->http.timeout_ms = cfg->timeout_ms;
	/* A certificate wins over a secret: organisations that use one
	 * forbid the other. */
	c->cert = a->cert;
	c->secret = a->cert || !a->secret.len ? NULL : a->secret.data;
	return PL_OK;
}

/* RESOURCE + suffix into out (owned by the caller). */
static char *target_of(const struct auth *a, bool v1, const char *suffix)
{
	size_t n = strlen(a->resource) + strlen(suffix) + 1;
	char *t = malloc(n);

	if(t)
		snprintf(t, n, "%s%s", a->resource, v1 ? "" : suffix);
	return t;
}

static enum pl_status make_source(struct auth *a,
				  const struct auth_config *cfg,
				  struct pl_err *err)
{
	char *target;
	enum pl_status st;

	if(cfg->token)
		return token_source_static(cfg->token, &a->src, err);
	if(!cfg->tenant || !*cfg->tenant || !cfg->client_id ||
	   !*cfg->client_id)
		return pl_fail(err, PL_EUSAGE, cfg->refresh_token_file ?
			       "a refresh token needs a tenant and a client "
			       "ID (--tenant, --client-id)" :
			       "app credentials need a tenant, a client ID "
			       "and a client secret or certificate");
	if(!cfg->refresh_token_file &&
	   !(cfg->client_secret && *cfg->client_secret) && !cfg->client_cert)
		return pl_fail(err, PL_EUSAGE, "app credentials need a tenant, "
			       "a client ID and a client secret or "
			       "certificate");
	st = setup_client(a, cfg, err);
	if(st)
		return st;
	if(cfg->refresh_token_file) {
		target = target_of(a, cfg->v1, "/user_impersonation "
				   "offline_access");
		st = target ? token_source_refresh(&a->client,
						   cfg->refresh_token_file,
						   target, cfg->lock_timeout_ms,
						   &a->src, err) :
			      pl_fail(err, PL_ENOMEM, "out of memory");
	} else {
		target = cfg->scope && *cfg->scope && !cfg->v1 ?
			 strdup(cfg->scope) :
			 target_of(a, cfg->v1, "/.default");
		st = target ? token_source_client(&a->client, target, &a->src,
						  err) :
			      pl_fail(err, PL_ENOMEM, "out of memory");
	}
	free(target);
	return st;
}

static enum pl_status renew(struct auth *a, struct pl_err *err);

enum pl_status auth_new(const struct auth_config *cfg, struct auth **out,
			struct pl_err *err)
{
	struct auth *a = auth_alloc();
	enum pl_status st;

	*out = NULL;
	if(!a)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	st = make_source(a, cfg, err);
	/* A ready token is current at once (nothing to fetch). */
	if(!st && !a->src->ops->renewable)
		st = renew(a, err);
	if(st) {
		auth_free(a);
		return st;
	}
	*out = a;
	return PL_OK;
}

/* Get a new token from the source; on success it is current. */
static enum pl_status renew(struct auth *a, struct pl_err *err)
{
	struct buf fresh;
	int64_t now = now_mono_ms(), expires = TOKEN_SOURCE_NEVER, life;
	enum pl_status st;

	buf_init_secret(&fresh, 0);
	st = a->src->ops->get(a->src, now, &fresh, &expires, err);
	if(st) {
		buf_release(&fresh);
		return st;
	}
	buf_release(&a->token);
	a->token = fresh;
	a->gen++;
	a->gen_from_401 = false;
	a->expire_at_ms = expires;
	a->retry_at_ms = 0;
	if(expires == TOKEN_SOURCE_NEVER) {
		a->renew_at_ms = TOKEN_SOURCE_NEVER;
		return PL_OK;
	}
	life = expires - now;
	a->renew_at_ms = life < SHORT_TTL_MS ? now + life / 2 :
			 expires - RENEW_MARGIN_MS;
	log_debug("got a token for client %s (generation %u, expires in "
		  "%lld s)", a->client_id ? a->client_id : "-", a->gen,
		  (long long)(life / 1000));
	return PL_OK;
}

enum pl_status auth_token(struct auth *a, const char **token,
			  struct pl_err *err)
{
	struct pl_err why = {{0}};
	int64_t now;
	enum pl_status st;

	*token = NULL;
	now = now_mono_ms();
	if(a->token.len && (now < a->renew_at_ms || now < a->retry_at_ms) &&
	   now < a->expire_at_ms) {
		*token = a->token.data;
		return PL_OK;
	}
	st = renew(a, &why);
	if(st && a->token.len && now < a->expire_at_ms) {
		/* The current token still works: use it and try again
		 * later rather than stop the run. */
		log_warn("cannot renew the token yet, the current one is "
			 "valid for %lld s more: %s",
			 (long long)((a->expire_at_ms - now + 999) / 1000),
			 why.msg);
		a->retry_at_ms = now + RETRY_RENEW_MS;
		*token = a->token.data;
		return PL_OK;
	}
	if(st) {
		if(err)
			*err = why;
		return st;
	}
	*token = a->token.data;
	return PL_OK;
}

enum pl_status auth_renew_after_401(struct auth *a, unsigned gen,
				    struct pl_err *err)
{
	enum pl_status st;

	if(gen != a->gen)
		return PL_OK;
	st = a->src->ops->renew_after_401(a->src, err);
	if(st)
		return st;
	if(a->gen_from_401)
		return pl_fail(err, PL_EAUTH,
			       "the API still answers 401 after renewing the "
			       "token for client %s: check that the app is "
			       "consented for Partner Center", a->client_id);
	st = renew(a, err);
	if(st)
		return st;
	a->gen_from_401 = true;
	return PL_OK;
}

unsigned auth_generation(const struct auth *a)
{
	return a->gen;
}

bool auth_is_renewable(const struct auth *a)
{
	return a->src->ops->renewable;
}

enum pl_status auth_login(const struct auth_config *cfg,
			  const struct device_code_prompt *prompt,
			  volatile sig_atomic_t *stop, struct pl_err *err)
{
	struct auth *a;
	char *scope;
	enum pl_status st;

	if(!cfg->refresh_token_file)
		return pl_fail(err, PL_EUSAGE, "qualreport login needs "
			       "--refresh-token-file PATH: where to keep the "
			       "refresh token");
	if(!cfg->tenant || !*cfg->tenant || !cfg->client_id ||
	   !*cfg->client_id)
		return pl_fail(err, PL_EUSAGE, "qualreport login needs "
			       "--tenant and --client-id");
	a = auth_alloc();
	if(!a)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	st = setup_client(a, cfg, err);
	if(st)
		goto out;
	/* The device-code endpoint exists on v2 only. */
	a->client.v1 = false;
	scope = target_of(a, false, "/user_impersonation offline_access");
	if(!scope) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	st = device_code_login(&a->client, scope, cfg->refresh_token_file,
			       prompt, stop, err);
	free(scope);
out:
	auth_free(a);
	return st;
}

enum pl_status auth_login_check(const struct auth_config *cfg,
				struct auth_check *out, struct pl_err *err)
{
	struct refresh_file *f = NULL;
	struct auth *a = NULL;
	const char *token;
	uint64_t inode;
	enum pl_status st;

	memset(out, 0, sizeof(*out));
	if(!cfg->refresh_token_file)
		return pl_fail(err, PL_EUSAGE, "qualreport login --check needs "
			       "--refresh-token-file PATH");
	st = refresh_file_open(cfg->refresh_token_file, false,
			       cfg->lock_timeout_ms, &f, err);
	if(st)
		return st;
	out->rotated_s = refresh_file_meta(f)->rotated_s;
	out->rotated_from_mtime = refresh_file_meta(f)->rotated_from_mtime;
	inode = refresh_file_meta(f)->inode;
	refresh_file_close(f);
	st = auth_new(cfg, &a, err);
	if(!st)
		st = auth_token(a, &token, err);
	auth_free(a);
	if(st)
		return st;
	st = refresh_file_open(cfg->refresh_token_file, false,
			       cfg->lock_timeout_ms, &f, err);
	if(st)
		return st;
	out->rotated_now = refresh_file_meta(f)->inode != inode;
	refresh_file_close(f);
	return PL_OK;
}

enum pl_status auth_read_secret_file(const char *path, char **out,
				     struct pl_err *err)
{
	struct buf b;
	enum pl_status st;

	*out = NULL;
	buf_init_secret(&b, 0);
	st = secret_file_read_line(path, &b, err);
	if(!st) {
		*out = buf_detach(&b, NULL);
		if(!*out)
			st = pl_fail(err, PL_ENOMEM, "out of memory");
	}
	buf_release(&b);
	return st;
}
