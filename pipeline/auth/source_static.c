/*
 * source_static.c: a ready bearer token (PARTNER_CENTER_TOKEN or
 * --token-file). It cannot be renewed: a 401 ends the run.
 */
#include <stdlib.h>
#include <string.h>

#include "token_source.h"

struct static_source {
	struct token_source base;
	struct buf token;          /* secret */
};

static enum pl_status static_get(struct token_source *ts, int64_t now_ms,
				 struct buf *token, int64_t *expires_ms,
				 struct pl_err *err)
{
	struct static_source *s = (struct static_source *)ts;

	(void)now_ms;
	buf_reset(token);
	if(buf_add(token, s->token.data, s->token.len))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	*expires_ms = TOKEN_SOURCE_NEVER;
	return PL_OK;
}

static enum pl_status static_renew_after_401(struct token_source *ts,
					     struct pl_err *err)
{
	(void)ts;
	return pl_fail(err, PL_EAUTH, "the API refused the token (401): "
		       "PARTNER_CENTER_TOKEN / --token-file token is invalid "
		       "or expired");
}

static void static_free(struct token_source *ts)
{
	struct static_source *s = (struct static_source *)ts;

	if(!s)
		return;
	buf_release(&s->token);
	free(s);
}

static const struct token_source_ops static_ops = {
	static_get, static_renew_after_401, static_free, false
};

enum pl_status token_source_static(const char *token,
				   struct token_source **out,
				   struct pl_err *err)
{
	struct static_source *s;

	*out = NULL;
	if(!grant_is_token_usable(token, strlen(token)))
		return pl_fail(err, PL_EUSAGE, "the token is empty or contains "
			       "spaces or control characters");
	s = calloc(1, sizeof(*s));
	if(!s)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->base.ops = &static_ops;
	buf_init_secret(&s->token, 0);
	if(buf_addstr(&s->token, token)) {
		static_free(&s->base);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	*out = &s->base;
	return PL_OK;
}
