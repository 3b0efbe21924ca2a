/*
 * source.c: source.h's interface, dispatched to the source at hand.
 */
#include "source_impl.h"

enum pl_status source_start(struct source *s, struct pl_err *err)
{
	return s->ops->start ? s->ops->start(s, err) : PL_OK;
}

bool source_next_request(struct source *s, int64_t now_us,
			 struct fetch_job *job)
{
	return s->ops->next_request && s->ops->next_request(s, now_us, job);
}

enum pl_status source_request_done(struct source *s,
				   const struct fetch_result *res,
				   struct pl_err *err)
{
	if(!s->ops->request_done)
		return pl_fail(err, PL_EINTERNAL, "an answer for a source "
			       "that asked nothing");
	return s->ops->request_done(s, res, err);
}

bool source_is_complete(const struct source *s)
{
	return s->ops->is_complete(s);
}

void source_counts(const struct source *s, struct source_counts *c)
{
	s->ops->counts(s, c);
}

void source_free(struct source *s)
{
	if(s)
		s->ops->free(s);
}
