/*
 * source_listing.c: the API's customer list as the pipeline's input.
 *
 * One page at a time goes to the engine (source_next_request) and comes
 * back through source_request_done(), where custpage.h reads it: new
 * tenants go into the tenantset (so the pipeline can fetch them at once),
 * to the sink with their names, and the page to the sink for the
 * journal. Then the next link, if any, is the next request.
 *
 * How a page's answer is judged (the engine has already retried 429,
 * 5xx, drops and timeouts up to --retries and renewed the token on 401):
 *   2xx and a page           read it; no links.next: the list is done
 *   2xx, not JSON            asked again after a backoff, up to
 *                            --retries times (a body cut short), then
 *                            the end of the run
 *   2xx, JSON but no page    the end of the run (a next link to another
 *                            host, items not a list: asking again gets
 *                            the same)
 *   400, code 2000, seek     the end of the list (Microsoft's own NCE
 *                            sample reads it so)
 *   400, other, seek         the continuation token was refused (it
 *                            expired): the list is read again from the
 *                            first page and deduplicated, at most
 *                            SOURCE_MAX_RESTARTS times in a run
 *   anything else, or no     the list cannot be read: PL_EINPUT (exit 3)
 *   answer after retries
 * A "seek" request is one that followed a next link, i.e. any but the
 * first page of a pass.
 *
 * Counting (source.h): an item is a new tenant, a new rejected value, a
 * duplicate (seen before in this pass: a customer on two pages) or a
 * relisted one (listed in an earlier pass, seen again after a restart).
 * Passes after the first keep a bitmap over the tenants listed before
 * them (one bit each) to tell the last two apart.
 */
#include "source_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "custpage.h"
#include "log.h"
#include "norm.h"
#include "now.h"
#include "retry.h"

/* A server that sends next links to empty pages without end is not
 * listing anything: give up after this many in a row. */
#define MAX_EMPTY_PAGES 1000
/* The seq of page jobs: tenants use their index. */
#define PAGE_SEQ UINT64_MAX

/* Hashes of rejected values, to count a value listed twice once. */
struct hashset {
	uint64_t *slots;           /* 0 = empty */
	size_t cap, len;
};

struct source_listing {
	struct source base;
	struct source_listing_options opt;
	struct tenantset *tenants;
	struct source_sink sink;

	/* the next request, and whether one is with the engine */
	bool out;
	bool complete;
	bool seek;                 /* the next request follows a next link */
	bool new_pass;             /* begin a pass before the next request */
	struct buf path;
	char **headers;
	size_t nheaders;
	char label[64];
	int64_t not_before_us;
	unsigned reasks;           /* of the current page: no page came */
	unsigned empty_run;        /* empty pages in a row */
	uint64_t rng;

	/* the pass */
	unsigned pass;
	unsigned long page;        /* pages read in this pass */
	unsigned long line;        /* items seen in this pass */
	unsigned run_restarts;     /* refused tokens in this run */
	size_t pass_start;         /* tenants listed before the pass */
	uint8_t *seen;             /* pass_start bits: relisted already */

	struct hashset rejected;
	struct source_counts counts;
	struct source_listing_facts facts;

	/* the page being handed to the sink */
	struct listing_tenant *pg_tenants;
	struct listing_reject *pg_rejects;
	size_t pg_cap;
	struct buf reasons;
};

/* ---- small helpers ------------------------------------------------------ */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for(size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h ? h : 1;
}

/* Add h unless present; *added says which. PL_ENOMEM (no message): the
 * set is unchanged. */
static enum pl_status hashset_add(struct hashset *set, uint64_t h,
				  bool *added)
{
	size_t i;

	*added = false;
	if(2 * (set->len + 1) > set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 64;
		uint64_t *slots = calloc(cap, sizeof(*slots));

		if(!slots)
			return PL_ENOMEM;
		for(size_t k = 0; k < set->cap; k++) {
			if(!set->slots[k])
				continue;
			for(i = set->slots[k] & (cap - 1); slots[i];
			    i = (i + 1) & (cap - 1))
				;
			slots[i] = set->slots[k];
		}
		free(set->slots);
		set->slots = slots;
		set->cap = cap;
	}
	for(i = h & (set->cap - 1); set->slots[i]; i = (i + 1) & (set->cap - 1))
		if(set->slots[i] == h)
			return PL_OK;
	set->slots[i] = h;
	set->len++;
	*added = true;
	return PL_OK;
}

static void free_headers(struct source_listing *s)
{
	for(size_t i = 0; i < s->nheaders; i++)
		free(s->headers[i]);
	free(s->headers);
	s->headers = NULL;
	s->nheaders = 0;
}

static bool is_listing(const struct source *base);

/* ---- passes ------------------------------------------------------------- */

/* The first page's request: GET /v1/customers?size=N. */
static enum pl_status first_page(struct source_listing *s, struct pl_err *err)
{
	buf_reset(&s->path);
	free_headers(s);
	s->seek = false;
	if(buf_addf(&s->path, "/v1/customers?size=%u", s->opt.page_size))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	return PL_OK;
}

/* Start reading the list again from its first page. */
static enum pl_status begin_pass(struct source_listing *s,
				 struct pl_err *err)
{
	size_t n = tenantset_count(s->tenants);

	free(s->seen);
	s->seen = calloc(n / 8 + 1, 1);
	if(!s->seen)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->pass_start = n;
	s->page = 0;
	s->line = 0;
	s->empty_run = 0;
	s->reasks = 0;
	s->new_pass = false;
	return first_page(s, err);
}

static enum pl_status restart(struct source_listing *s, long status,
			      const char *why, struct pl_err *err)
{
	if(s->run_restarts >= SOURCE_MAX_RESTARTS)
		return pl_fail(err, PL_EINPUT, "cannot list the customers: "
			       "the continuation token of page %lu was "
			       "refused (HTTP %ld%s%s) after %u restarts from "
			       "the first page", s->page + 1, status,
			       why ? ": " : "", why ? why : "",
			       s->run_restarts);
	s->run_restarts++;
	s->pass++;
	s->facts.restarts++;
	log_warn("listing customers: the continuation token of page %lu "
		 "was refused (HTTP %ld%s%s): taken as expired, listing "
		 "again from the first page (restart %u of at most %d)",
		 s->page + 1, status, why ? ": " : "", why ? why : "",
		 s->run_restarts, SOURCE_MAX_RESTARTS);
	return begin_pass(s, err);
}

/* ---- a page ------------------------------------------------------------- */

static enum pl_status page_room(struct source_listing *s, size_t n,
				struct pl_err *err)
{
	struct listing_tenant *t;
	struct listing_reject *r;

	if(n <= s->pg_cap)
		return PL_OK;
	t = realloc(s->pg_tenants, n * sizeof(*t));
	if(t)
		s->pg_tenants = t;
	r = t ? realloc(s->pg_rejects, n * sizeof(*r)) : NULL;
	if(!r)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->pg_rejects = r;
	s->pg_cap = n;
	return PL_OK;
}

/* Count the page's items and tell the sink about the new ones. */
static enum pl_status take_page(struct source_listing *s,
				const struct custpage *cp, struct pl_err *err)
{
	struct listing_page pg;
	size_t *reason_at;
	enum pl_status st;

	memset(&pg, 0, sizeof(pg));
	st = page_room(s, cp->nitems, err);
	if(st)
		return st;
	reason_at = calloc(cp->nitems + 1, sizeof(*reason_at));
	if(!reason_at)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	buf_reset(&s->reasons);
	pg.pass = s->pass;
	pg.page = s->page + 1;
	pg.items = cp->nitems;
	pg.first = tenantset_count(s->tenants);
	for(size_t i = 0; i < cp->nitems && !st; i++) {
		const struct custpage_item *it = &cp->items[i];
		size_t index;
		bool added;

		s->line++;
		if(!it->valid) {
			st = hashset_add(&s->rejected,
					 hash_bytes(it->value, it->value_len),
					 &added);
			if(st) {
				st = pl_fail(err, st, "out of memory");
				break;
			}
			if(!added) {
				pg.duplicates++;
				continue;
			}
			reason_at[pg.nrejects] = s->reasons.len;
			if(buf_addf(&s->reasons, "%s (page %lu, item %zu)",
				    it->reason, pg.page, i + 1) ||
			   buf_addch(&s->reasons, '\0')) {
				st = pl_fail(err, PL_ENOMEM, "out of memory");
				break;
			}
			s->pg_rejects[pg.nrejects++] =
				(struct listing_reject){
					s->line, it->value, it->value_len,
					NULL};
			continue;
		}
		st = tenantset_add(s->tenants, it->id, &added, err);
		if(st)
			break;
		if(added) {
			struct listing_tenant *t =
				&s->pg_tenants[pg.ntenants++];

			memcpy(t->id, it->id, sizeof(t->id));
			t->info = (struct customer_info){
				it->name, it->domain, it->relationship};
		} else if(tenantset_find(s->tenants, it->id, &index) &&
			  index < s->pass_start &&
			  !(s->seen[index / 8] & (1u << (index % 8)))) {
			s->seen[index / 8] |= (uint8_t)(1u << (index % 8));
			pg.relisted++;
		} else {
			pg.duplicates++;
		}
	}
	if(st) {
		free(reason_at);
		return st;
	}
	for(size_t i = 0; i < pg.nrejects; i++)
		s->pg_rejects[i].reason = s->reasons.data + reason_at[i];
	free(reason_at);
	pg.tenants = s->pg_tenants;
	pg.rejects = s->pg_rejects;

	s->page++;
	s->facts.pages++;
	s->facts.duplicates += pg.duplicates;
	s->facts.relisted += pg.relisted;
	s->counts.rows += pg.items;
	s->counts.tenants += pg.ntenants;
	s->counts.duplicates += pg.duplicates + pg.relisted;
	s->counts.rejects += pg.nrejects;
	for(size_t i = 0; !st && i < pg.ntenants; i++)
		if(s->sink.on_tenant)
			st = s->sink.on_tenant(s->sink.ctx, pg.first + i,
					       &pg.tenants[i].info, err);
	for(size_t i = 0; !st && i < pg.nrejects; i++) {
		const struct listing_reject *r = &pg.rejects[i];

		log_debug("listing customers: rejected '%.*s': %s",
			  (int)(r->value_len > 80 ? 80 : r->value_len),
			  r->value, r->reason);
		if(s->sink.on_reject)
			st = s->sink.on_reject(s->sink.ctx, r->line, r->value,
					       r->value_len, r->reason, err);
	}
	if(!st && s->sink.on_page)
		st = s->sink.on_page(s->sink.ctx, &pg, err);
	log_debug("listing customers: page %lu%s: %lu items, %zu new, %lu "
		  "duplicate, %lu relisted, %zu invalid; %zu tenants so far",
		  pg.page, s->pass ? " (again)" : "", pg.items, pg.ntenants,
		  pg.duplicates, pg.relisted, pg.nrejects,
		  tenantset_count(s->tenants));
	return st;
}

static enum pl_status finish_list(struct source_listing *s,
				  struct pl_err *err)
{
	s->complete = true;
	s->facts.complete = true;
	log_info("listed %lu customers in %lu pages: %lu tenants, %lu "
		 "duplicate across pages, %lu listed again after a restart, "
		 "%lu invalid", s->counts.rows, s->facts.pages,
		 s->counts.tenants, s->facts.duplicates, s->facts.relisted,
		 s->counts.rejects);
	if(s->sink.on_page)
		return s->sink.on_page(s->sink.ctx, NULL, err);
	return PL_OK;
}

/* The next link of a page read: the next request. */
static enum pl_status follow(struct source_listing *s, struct custpage *cp,
			     struct pl_err *err)
{
	bool same;

	same = s->seek && !strcmp(cp->next_path, s->path.data) &&
	       cp->nnext_headers == s->nheaders;
	for(size_t i = 0; same && i < s->nheaders; i++)
		same = !strcmp(cp->next_headers[i], s->headers[i]);
	if(same)
		return pl_fail(err, PL_EINPUT, "cannot list the customers: "
			       "page %lu links to itself (%s)", s->page,
			       cp->next_path);
	if(cp->nitems == 0 && ++s->empty_run >= MAX_EMPTY_PAGES)
		return pl_fail(err, PL_EINPUT, "cannot list the customers: "
			       "%d empty pages in a row, each with a next "
			       "link", MAX_EMPTY_PAGES);
	if(cp->nitems)
		s->empty_run = 0;
	if(cp->dropped_headers)
		log_warn("listing customers: page %lu asks for %u header%s "
			 "qualreport sets itself or never sends: not sent",
			 s->page, cp->dropped_headers,
			 cp->dropped_headers == 1 ? "" : "s");
	buf_reset(&s->path);
	if(buf_addstr(&s->path, cp->next_path))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	free_headers(s);
	s->headers = cp->next_headers;
	s->nheaders = cp->nnext_headers;
	cp->next_headers = NULL;
	cp->nnext_headers = 0;
	s->seek = true;
	return PL_OK;
}

/* A 2xx answer: a page, or a body that is none (asked again). */
static enum pl_status read_page(struct source_listing *s,
				const struct fetch_result *res,
				struct pl_err *err)
{
	struct custpage cp;
	struct pl_err why;
	enum pl_status st;

	st = custpage_parse(res->body ? res->body : "", res->body_len,
			    s->opt.base_url, &cp, &why);
	if(st == PL_ENOMEM)
		return pl_fail(err, st, "out of memory");
	if(st == PL_EINPUT)
		return pl_fail(err, PL_EINPUT, "cannot list the customers: "
			       "page %lu (GET %s) is not a page of the list: "
			       "%s", s->page + 1, s->path.data, why.msg);
	if(st) {
		if(s->reasks >= s->opt.retries)
			return pl_fail(err, PL_EINPUT, "cannot list the "
				       "customers: page %lu (GET %s) is not a "
				       "page of the list: %s", s->page + 1,
				       s->path.data, why.msg);
		s->reasks++;
		s->not_before_us = now_mono_us() + 1000 *
			retry_delay_ms(s->reasks, -1, &s->rng);
		log_warn("listing customers: page %lu is not a page of the "
			 "list (%s): asking again", s->page + 1, why.msg);
		return PL_OK;
	}
	s->reasks = 0;
	st = take_page(s, &cp, err);
	if(!st && cp.has_next)
		st = follow(s, &cp, err);
	else if(!st)
		st = finish_list(s, err);
	custpage_release(&cp);
	return st;
}

/* ---- the interface ------------------------------------------------------ */

static bool listing_next_request(struct source *base, int64_t now_us,
				 struct fetch_job *job)
{
	struct source_listing *s = (struct source_listing *)base;
	struct pl_err ignored;

	if(s->out || s->complete || now_us < s->not_before_us)
		return false;
	/* a pass for a resumed run; out of memory here shows up again */
	if(s->new_pass && begin_pass(s, &ignored))
		return false;
	memset(job, 0, sizeof(*job));
	job->seq = PAGE_SEQ;
	job->kind = FETCH_PAGE;
	job->path = s->path.data;
	job->headers = (const char *const *)s->headers;
	job->nheaders = s->nheaders;
	if(s->pass)
		snprintf(s->label, sizeof(s->label), "customers page %lu "
			 "pass %u", s->page + 1, s->pass + 1);
	else
		snprintf(s->label, sizeof(s->label), "customers page %lu",
			 s->page + 1);
	job->label = s->label;
	s->out = true;
	return true;
}

static enum pl_status listing_request_done(struct source *base,
					   const struct fetch_result *res,
					   struct pl_err *err)
{
	struct source_listing *s = (struct source_listing *)base;
	long long code = 0;
	char *api;
	enum pl_status st;

	s->out = false;
	if(res->failure)
		return pl_fail(err, PL_EINPUT, "cannot list the customers: "
			       "page %lu (GET %s): %s", s->page + 1,
			       s->path.data, res->failure);
	if(res->http_status >= 200 && res->http_status < 300)
		return read_page(s, res, err);
	if(norm_api_error(res->body, res->body_len, &api, err))
		return PL_ENOMEM;
	if(res->http_status == 400 && s->seek) {
		if(custpage_error_code(res->body, res->body_len, &code) &&
		   code == 2000) {
			log_debug("listing customers: HTTP 400 code 2000 after "
				  "page %lu: the end of the list", s->page);
			free(api);
			return finish_list(s, err);
		}
		st = restart(s, res->http_status, api, err);
		free(api);
		return st;
	}
	st = pl_fail(err, PL_EINPUT, "cannot list the customers: page %lu "
		     "(GET %s): HTTP %ld%s%s", s->page + 1, s->path.data,
		     res->http_status, api ? ": " : "", api ? api : "");
	free(api);
	return st;
}

static bool listing_is_complete(const struct source *base)
{
	return ((const struct source_listing *)base)->complete;
}

static void listing_counts(const struct source *base,
			   struct source_counts *c)
{
	*c = ((const struct source_listing *)base)->counts;
}

static void listing_free(struct source *base)
{
	struct source_listing *s = (struct source_listing *)base;

	buf_release(&s->path);
	buf_release(&s->reasons);
	free_headers(s);
	free(s->seen);
	free(s->rejected.slots);
	free(s->pg_tenants);
	free(s->pg_rejects);
	free(s);
}

static const struct source_ops listing_ops = {
	.next_request = listing_next_request,
	.request_done = listing_request_done,
	.is_complete = listing_is_complete,
	.counts = listing_counts,
	.free = listing_free,
};

static bool is_listing(const struct source *base)
{
	return base && base->ops == &listing_ops;
}

enum pl_status source_listing_new(const struct source_listing_options *opt,
				  struct tenantset *tenants,
				  const struct source_sink *sink,
				  struct source **out, struct pl_err *err)
{
	struct source_listing *s;
	enum pl_status st;

	*out = NULL;
	if(!opt->base_url || !opt->page_size)
		return pl_fail(err, PL_EINTERNAL, "listing without a base URL "
			       "or page size");
	s = calloc(1, sizeof(*s));
	if(!s)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->base.ops = &listing_ops;
	s->opt = *opt;
	s->tenants = tenants;
	s->sink = *sink;
	buf_init(&s->path, 0);
	buf_init(&s->reasons, 0);
	s->rng = opt->seed;
	if(!s->rng)
		s->rng = (uint64_t)now_mono_us() ^ ((uint64_t)time(NULL) << 20)
			 ^ 0x9e3779b97f4a7c15ull;
	st = first_page(s, err);
	if(st) {
		listing_free(&s->base);
		return st;
	}
	*out = &s->base;
	return PL_OK;
}

enum pl_status source_listing_replay(struct source *base,
				     const struct listing_page *pg,
				     struct pl_err *err)
{
	struct source_listing *s = (struct source_listing *)base;
	enum pl_status st = PL_OK;
	bool added;

	if(!is_listing(base))
		return pl_fail(err, PL_EINTERNAL, "replaying a page into "
			       "another source");
	if(pg->first != tenantset_count(s->tenants) ||
	   pg->ntenants + pg->nrejects + pg->duplicates + pg->relisted !=
	   pg->items)
		return pl_fail(err, PL_EUSAGE, "page %lu does not follow the "
			       "pages before it", pg->page);
	for(size_t i = 0; !st && i < pg->ntenants; i++) {
		st = tenantset_add(s->tenants, pg->tenants[i].id, &added,
				   err);
		if(st)
			return st;
		if(!added)
			return pl_fail(err, PL_EUSAGE, "page %lu lists a tenant "
				       "of an earlier page as new", pg->page);
		if(s->sink.on_tenant)
			st = s->sink.on_tenant(s->sink.ctx, pg->first + i,
					       &pg->tenants[i].info, err);
	}
	for(size_t i = 0; !st && i < pg->nrejects; i++) {
		const struct listing_reject *r = &pg->rejects[i];

		if(hashset_add(&s->rejected,
			       hash_bytes(r->value, r->value_len), &added))
			return pl_fail(err, PL_ENOMEM, "out of memory");
		if(s->sink.on_reject)
			st = s->sink.on_reject(s->sink.ctx, r->line, r->value,
					       r->value_len, r->reason, err);
	}
	if(st)
		return st;
	s->facts.pages++;
	s->facts.duplicates += pg->duplicates;
	s->facts.relisted += pg->relisted;
	if(pg->pass > s->facts.restarts)
		s->facts.restarts = pg->pass;
	s->counts.rows += pg->items;
	s->counts.tenants += pg->ntenants;
	s->counts.duplicates += pg->duplicates + pg->relisted;
	s->counts.rejects += pg->nrejects;
	/* a resumed run lists again, as a pass of its own */
	s->pass = pg->pass + 1;
	s->facts.restarts = s->pass;
	s->new_pass = true;
	return PL_OK;
}

void source_listing_replay_complete(struct source *base)
{
	struct source_listing *s = (struct source_listing *)base;

	if(!is_listing(base))
		return;
	s->complete = true;
	s->facts.complete = true;
	s->new_pass = false;
	s->facts.restarts = s->pass ? s->pass - 1 : 0;
}

void source_listing_facts(const struct source *base,
			  struct source_listing_facts *f)
{
	memset(f, 0, sizeof(*f));
	if(is_listing(base))
		*f = ((const struct source_listing *)base)->facts;
}
