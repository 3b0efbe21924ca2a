/*
 * source_client.c: the client-credentials grant (app-only tokens), the
 * app authenticated by its secret or by a certificate's assertion.
 */
#include <stdlib.h>
#include <string.h>

#include "now.h"
#include "token_source.h"

struct client_source {
	struct token_source base;
	const struct grant_client *c;
	char *target;              /* scope (v2) or resource (v1) */
	struct buf url;
};

int64_t token_source_expiry(int64_t started_ms, long expires_in)
{
	return started_ms + (int64_t)(expires_in >= 0 ? expires_in :
				      TOKEN_SOURCE_ASSUMED_TTL_S) * 1000;
}

static enum pl_status client_get(struct token_source *ts, int64_t now_ms,
				 struct buf *token, int64_t *expires_ms,
				 struct pl_err *err)
{
	struct client_source *s = (struct client_source *)ts;
	struct grant_form f;
	struct token_response r;
	int64_t started = now_ms;
	long status = 0;
	enum pl_status st;

	buf_reset(token);
	grant_form_init(&f);
	token_response_init(&r);
	st = grant_form_add(&f, "grant_type", "client_credentials", err);
	if(!st)
		st = grant_add_client(s->c, s->url.data, now_wall_ms() / 1000,
				      &f, err);
	if(!st)
		st = grant_form_add(&f, s->c->v1 ? "resource" : "scope",
				    s->target, err);
	if(!st)
		st = grant_request(s->c, s->url.data, &f, NULL, &r, &status,
				   &started, err);
	if(!st && buf_add(token, r.access_token.data, r.access_token.len))
		st = pl_fail(err, PL_ENOMEM, "out of memory");
	if(!st)
		*expires_ms = token_source_expiry(started, r.expires_in);
	token_response_release(&r);
	grant_form_release(&f);
	return st;
}

static enum pl_status client_renew_after_401(struct token_source *ts,
					     struct pl_err *err)
{
	(void)ts;
	(void)err;
	return PL_OK;
}

static void client_free(struct token_source *ts)
{
	struct client_source *s = (struct client_source *)ts;

	if(!s)
		return;
	free(s->target);
	buf_release(&s->url);
	free(s);
}

static const struct token_source_ops client_ops = {
	client_get, client_renew_after_401, client_free, true
};

enum pl_status token_source_client(const struct grant_client *c,
				   const char *target,
				   struct token_source **out,
				   struct pl_err *err)
{
	struct client_source *s;

	*out = NULL;
	if(!c->secret && !c->cert)
		return pl_fail(err, PL_EUSAGE, "app credentials need a tenant, "
			       "a client ID and a client secret or "
			       "certificate");
	s = calloc(1, sizeof(*s));
	if(!s)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->base.ops = &client_ops;
	s->c = c;
	buf_init(&s->url, 0);
	s->target = strdup(target);
	if(!s->target || grant_token_url(c, &s->url)) {
		client_free(&s->base);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	*out = &s->base;
	return PL_OK;
}
