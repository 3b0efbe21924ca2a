/*
 * source_refresh.c: the refresh-token grant (App+User, the Secure
 * Application Model), with the rotated refresh token written back.
 *
 * Every get: lock the file and read it (the token there is the newest:
 * another run may have rotated it since our last get), redeem it, write
 * the new one back, unlock. A new token that cannot be written is logged
 * as an error but does not fail the get: the access token is good, and
 * the old refresh token stays valid at the identity platform.
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "now.h"
#include "refresh_file.h"
#include "token_source.h"

struct refresh_source {
	struct token_source base;
	const struct grant_client *c;
	char *path;
	char *target;             /* scope (v2) or resource (v1) */
	long lock_timeout_ms;
	struct buf url;
	struct buf credential;    /* "the refresh token in PATH" */
	struct buf relogin;       /* "run qualreport login ..." */
};

/* A file that names its client: another client ID cannot redeem it. */
static enum pl_status check_client(const struct refresh_source *s,
				   const struct refresh_file *f,
				   struct pl_err *err)
{
	const struct refresh_meta *m = refresh_file_meta(f);

	if(m->client_id[0] && strcmp(m->client_id, s->c->client_id))
		return pl_fail(err, PL_EAUTH, "%s was issued to client %s, "
			       "not %s: use --client-id %s, or %s",
			       s->credential.data, m->client_id,
			       s->c->client_id, m->client_id, s->relogin.data);
	return PL_OK;
}

static enum pl_status refresh_get(struct token_source *ts, int64_t now_ms,
				  struct buf *token, int64_t *expires_ms,
				  struct pl_err *err)
{
	struct refresh_source *s = (struct refresh_source *)ts;
	struct grant_what what = {s->credential.data, s->relogin.data};
	struct refresh_file *f = NULL;
	struct grant_form form;
	struct token_response r;
	struct pl_err werr = {{0}};
	int64_t started = now_ms;
	long status = 0;
	enum pl_status st;

	buf_reset(token);
	grant_form_init(&form);
	token_response_init(&r);
	st = refresh_file_open(s->path, false, s->lock_timeout_ms, &f, err);
	if(!st)
		st = check_client(s, f, err);
	if(!st)
		st = grant_form_add(&form, "grant_type", "refresh_token", err);
	if(!st)
		st = grant_add_client(s->c, s->url.data, now_wall_ms() / 1000,
				      &form, err);
	if(!st)
		st = grant_form_add_secret(&form, "refresh_token",
					   refresh_file_token(f)->data, err);
	if(!st)
		st = grant_form_add(&form, s->c->v1 ? "resource" : "scope",
				    s->target, err);
	if(!st)
		st = grant_request(s->c, s->url.data, &form, &what, &r,
				   &status, &started, err);
	if(st)
		goto out;
	if(r.refresh_token.len) {
		if(refresh_file_replace(f, r.refresh_token.data,
					r.refresh_token.len, s->c->client_id,
					s->c->tenant, now_wall_ms() / 1000,
					&werr))
			log_error("%s; the old refresh token stays valid, but "
				  "it expires 90 days after its issue unless "
				  "a rotation is saved", werr.msg);
		else
			log_debug("refresh token in %s rotated", s->path);
	} else {
		log_warn("the identity platform returned no new refresh token "
			 "for %s (offline_access not granted?): the file is "
			 "kept as it was", s->path);
	}
	if(buf_add(token, r.access_token.data, r.access_token.len))
		st = pl_fail(err, PL_ENOMEM, "out of memory");
	else
		*expires_ms = token_source_expiry(started, r.expires_in);
out:
	refresh_file_close(f);
	token_response_release(&r);
	grant_form_release(&form);
	return st;
}

static enum pl_status refresh_renew_after_401(struct token_source *ts,
					      struct pl_err *err)
{
	(void)ts;
	(void)err;
	return PL_OK;
}

static void refresh_free(struct token_source *ts)
{
	struct refresh_source *s = (struct refresh_source *)ts;

	if(!s)
		return;
	free(s->path);
	free(s->target);
	buf_release(&s->url);
	buf_release(&s->credential);
	buf_release(&s->relogin);
	free(s);
}

static const struct token_source_ops refresh_ops = {
	refresh_get, refresh_renew_after_401, refresh_free, true
};

enum pl_status token_source_refresh(const struct grant_client *c,
				    const char *path, const char *target,
				    long lock_timeout_ms,
				    struct token_source **out,
				    struct pl_err *err)
{
	struct refresh_source *s;
	enum pl_status st;

	*out = NULL;
	st = refresh_file_check_writable(path, err);
	if(st)
		return st;
	s = calloc(1, sizeof(*s));
	if(!s)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->base.ops = &refresh_ops;
	s->c = c;
	s->lock_timeout_ms = lock_timeout_ms;
	buf_init(&s->url, 0);
	buf_init(&s->credential, 0);
	buf_init(&s->relogin, 0);
	s->path = strdup(path);
	s->target = strdup(target);
	if(!s->path || !s->target || grant_token_url(c, &s->url) ||
	   buf_addf(&s->credential, "the refresh token in %s", path) ||
	   buf_addf(&s->relogin, "run qualreport login --tenant %s "
		    "--client-id %s --refresh-token-file %s", c->tenant,
		    c->client_id, path)) {
		refresh_free(&s->base);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	*out = &s->base;
	return PL_OK;
}
