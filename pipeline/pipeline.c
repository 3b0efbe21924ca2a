#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "buf.h"
#include "changes.h"
#include "curlmem.h"
#include "custdir.h"
#include "fetch.h"
#include "guid.h"
#include "html.h"
#include "ids.h"
#include "journal.h"
#include "manifest.h"
#include "norm.h"
#include "now.h"
#include "previous.h"
#include "progress.h"
#include "source.h"
#include "summary.h"
#include "tenantset.h"

/*
 * The reorder window: answers arrive in any order, rows leave in input
 * order. Tenant i may be dispatched only while i < next_write + window, so
 * at most `window` finished records wait in memory. A tenant stuck in a
 * long Retry-After holds the window's head; the engine then gets no new
 * jobs (back-pressure) until it is done, which is what a throttled API
 * wants anyway.
 */
#define WINDOW_MIN 4096
#define WINDOW_PER_SLOT 64

/* The customers report's columns (--customers). */
static const struct report_column customer_columns[] = {
	{"tenant_id", false},
	{"company_name", true},
	{"domain", true},
	{"relationship_to_partner", true},
};

struct run {
	const struct pipeline_config *cfg;
	struct pl_err *err;

	/* The input: the source adds tenants to the set in input order
	 * (for the listing, while fetching), so the total grows until the
	 * source is complete. */
	struct tenantset *tenants;
	struct source *source;
	struct source_counts input;
	char listing_request[1024];   /* the listing: what the journal and
					 manifest say was listed */
	/* Names, domains and relationships, on disk (custdir.h), for the
	 * page's company names: with --html and the listing or
	 * --customers. */
	struct custdir *custdir;

	struct report *detail, *summary_report, *rejects, *customers;
	struct report_stats detail_stats, summary_stats, rejects_stats;
	struct report_stats customers_stats;
	enum report_format summary_format, customers_format;
	struct previous *previous;
	struct changes *changes;       /* with previous */
	struct report *changes_report; /* --changes */
	struct report_stats changes_stats;
	enum report_format changes_format;
	struct html *html;             /* --html: collects, then writes */
	struct outfile *html_out;      /* the page, finished, not committed */
	struct outfile_stats html_stats;
	struct summary *summary;
	struct manifest_file *manifest; /* opened before any report is
					 * published, committed after */
	bool published;                 /* a report may be at its final path */
	struct journal *journal;
	struct progress *progress;

	struct tenant_record **window;
	size_t window_size;
	size_t next_dispatch; /* next index to hand to the engine */
	size_t next_write;    /* next index to write */

	struct fetch_stats fs;
	unsigned long answered, not_found, failed, fetched, resumed;
	unsigned long rows_written;
	unsigned in_flight, waiting;
	int64_t resume_in_ms;     /* the API's quota is spent: 0 = not */

	char correlation_id[GUID_STR_LEN + 1];
	int64_t started_ms, fetch_started_ms;
	int64_t started_us;   /* monotonic, for --deadline */
	unsigned long cut;    /* left unfinished by --deadline */
};

/* Tenants known so far (all of them once the source is complete). */
static size_t total(const struct run *run)
{
	return tenantset_count(run->tenants);
}

/* ---- the source's sink: what the input says, as it says it ---------- */

static enum pl_status on_tenant(void *ctx, size_t index,
				const struct customer_info *info,
				struct pl_err *err)
{
	struct run *run = ctx;
	char tenant[GUID_STR_LEN + 1];
	enum pl_status st = PL_OK;

	if(run->customers) {
		const char *row[4] = {tenant, NULL, NULL, NULL};

		guid_format(tenantset_get(run->tenants, index), tenant);
		if(info) {
			row[1] = info->name;
			row[2] = info->domain;
			row[3] = info->relationship;
		}
		st = report_write_row(run->customers, row, err);
	}
	if(!st && run->custdir)
		st = custdir_add(run->custdir, index, info, err);
	return st;
}

static enum pl_status on_reject(void *ctx, unsigned long line,
				const char *value, size_t value_len,
				const char *reason, struct pl_err *err)
{
	struct run *run = ctx;

	if(!run->rejects)
		return PL_OK;
	return report_write_reject(run->rejects, line, value, value_len,
				   reason, err);
}

/* The listing: a page read (or, page NULL, the end of the list) is
 * journaled before any of its tenants is, so a resumed run finds them. */
static enum pl_status on_page(void *ctx, const struct listing_page *page,
			      struct pl_err *err)
{
	struct run *run = ctx;

	if(!run->journal)
		return PL_OK;
	return journal_append_page(run->journal, page, err);
}

/* The journal's replay of the pages an earlier run read. */
static enum pl_status replay_page(void *ctx, const struct listing_page *page,
				  struct pl_err *err)
{
	struct run *run = ctx;

	return source_listing_replay(run->source, page, err);
}

static enum pl_status open_source(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	const struct source_sink sink = {run, on_tenant, on_reject, on_page};
	struct source_listing_options lo = {0};
	struct source_csv_options co = {0};
	size_t blen;

	if(cfg->all_customers) {
		blen = strlen(cfg->base_url);
		while(blen && cfg->base_url[blen - 1] == '/')
			blen--;
		snprintf(run->listing_request, sizeof(run->listing_request),
			 "GET %.*s/v1/customers?size=%u", (int)blen,
			 cfg->base_url, cfg->page_size);
		lo.base_url = cfg->base_url;
		lo.page_size = cfg->page_size;
		lo.retries = cfg->retries;
		return source_listing_new(&lo, run->tenants, &sink,
					  &run->source, run->err);
	}
	co.path = cfg->input;
	co.column = cfg->column;
	co.want_names = cfg->customers != NULL;
	co.stop = cfg->stop;
	return source_csv_new(&co, run->tenants, &sink, &run->source,
			      run->err);
}

/* Stage 1 for a CSV: read and validate every input row; rejects (and
 * --customers rows) go out as read. Nothing for the listing, whose pages
 * come with the fetches. */
static enum pl_status read_input(struct run *run)
{
	enum pl_status st = source_start(run->source, run->err);

	source_counts(run->source, &run->input);
	return st;
}

/* Which format the summary (or changes) report gets: its own suffix if
 * it has a known one, else the detail report's. */
static enum report_format own_format(const struct pipeline_config *cfg,
				     const char *path)
{
	enum report_format fmt;

	return report_format_has_known_suffix(path, &fmt) ? fmt : cfg->format;
}

static enum report_format summary_format(const struct pipeline_config *cfg)
{
	return own_format(cfg, cfg->summary);
}

static enum pl_status open_customers(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	struct report_options opt = {cfg->format, cfg->excel_safe};
	enum pl_status st;

	/* the page is the one reader of the names on disk */
	if(cfg->html && (cfg->all_customers || cfg->customers)) {
		st = custdir_new(&run->custdir, run->err);
		if(st)
			return st;
	}
	if(!cfg->customers)
		return PL_OK;
	run->customers_format = own_format(cfg, cfg->customers);
	opt.format = run->customers_format;
	return report_open_table(cfg->customers, &opt, customer_columns,
				 sizeof(customer_columns) /
				 sizeof(customer_columns[0]),
				 &run->customers, run->err);
}

static enum pl_status open_reports(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	struct report_options opt = {cfg->format, cfg->excel_safe};
	enum pl_status st;

	st = report_open_detail(cfg->output, &opt, &run->detail, run->err);
	if(st || !cfg->summary)
		return st;
	run->summary_format = summary_format(cfg);
	opt.format = run->summary_format;
	return report_open_summary(cfg->summary, &opt, &run->summary_report,
				   run->err);
}

/* With --previous, records wait to be written until the changes can be
 * computed (start_changes). */
static bool is_writing_held(const struct run *run)
{
	return run->previous && !run->changes;
}

/* Write out every record that is next in input order. */
static enum pl_status write_ready(struct run *run)
{
	enum pl_status st = PL_OK;

	if(is_writing_held(run))
		return PL_OK;
	while(run->next_write < total(run)) {
		size_t i = run->next_write;
		struct tenant_record **slot =
			&run->window[i % run->window_size];
		struct tenant_record loaded, *rec;

		if(*slot) {
			rec = *slot;
		} else if(run->journal && journal_is_done(run->journal, i)) {
			tenant_record_init(&loaded);
			st = journal_load(run->journal, i, &loaded, run->err);
			if(st) {
				tenant_record_release(&loaded);
				return st;
			}
			rec = &loaded;
		} else {
			break;
		}
		st = report_write_tenant(run->detail, rec, run->err);
		if(!st)
			st = summary_add_tenant(run->summary, rec, run->err);
		/* The page first: a change row gets the name of the tenant
		 * it last saw. */
		if(!st && run->html)
			st = html_add_tenant(run->html, i, rec, run->err);
		if(!st && run->changes)
			st = changes_add_tenant(run->changes, i, rec,
						run->err);
		if(!st) {
			run->rows_written += rec->nrows;
			if(rec->outcome == OUTCOME_ANSWERED)
				run->answered++;
			else if(rec->outcome == OUTCOME_NOT_FOUND)
				run->not_found++;
			else
				run->failed++;
		}
		tenant_record_release(rec);
		if(rec != &loaded) {
			free(rec);
			*slot = NULL;
		}
		if(st)
			return st;
		run->next_write++;
	}
	return PL_OK;
}

/*
 * The changes against the previous report: its index over this run's
 * tenants (one pass, every record checked) and the sinks of its rows.
 * The index needs every tenant of the run, so with the customer list it
 * is built once the list is read to its end; until then no record is
 * written (the reorder window fills and holds the fetches back, the
 * pages go on). Idempotent.
 */
static enum pl_status start_changes(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	struct changes_sink sink;
	enum pl_status st;

	if(!run->previous || run->changes || !source_is_complete(run->source))
		return PL_OK;
	st = changes_new(run->previous, run->tenants, &run->changes,
			 run->err);
	if(st)
		return st;
	log_info("previous report %s: %llu tenants, %llu of them in this "
		 "run", previous_detail_path(run->previous),
		 (unsigned long long)changes_previous_tenants(run->changes),
		 (unsigned long long)changes_kept_tenants(run->changes));
	if(cfg->changes) {
		sink = changes_report_sink(run->changes_report);
		st = changes_add_sink(run->changes, &sink, run->err);
		if(st)
			return st;
	}
	if(run->html) {
		sink = (struct changes_sink){html_add_change, run->html};
		st = changes_add_sink(run->changes, &sink, run->err);
	}
	return st;
}

/*
 * --previous, --changes, --html: read the previous report (every record
 * checked, before any request), open the changes report, and index it
 * when the run's tenants are known (start_changes); the page collects
 * from the first record written.
 */
static enum pl_status open_comparison(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	struct report_options opt = {cfg->format, cfg->excel_safe};
	enum pl_status st;

	if(cfg->html) {
		struct html_options ho = {cfg->name_of, cfg->name_ctx,
					  run->started_ms};

		/* the names listed (or read from the CSV) on disk, read
		 * forward as the tenants are written */
		if(run->custdir) {
			ho.name_of = custdir_name_of;
			ho.name_ctx = run->custdir;
		}
		run->html = html_new(&ho);
		if(!run->html)
			return pl_fail(run->err, PL_ENOMEM, "out of memory");
	}
	if(!cfg->previous)
		return PL_OK;
	st = previous_open(cfg->previous, &run->previous, run->err);
	if(st)
		return st;
	if(cfg->changes) {
		run->changes_format = own_format(cfg, cfg->changes);
		opt.format = run->changes_format;
		st = changes_report_open(cfg->changes, &opt,
					 &run->changes_report, run->err);
		if(st)
			return st;
	}
	return start_changes(run);
}

static void show_progress(struct run *run)
{
	struct progress_state ps;

	if(!run->progress)
		return;
	ps.done = run->fetched + run->resumed;
	ps.total = total(run);
	ps.listing = !source_is_complete(run->source);
	ps.failed = run->failed;
	ps.in_flight = run->in_flight;
	ps.waiting = run->waiting;
	ps.resume_in_ms = run->resume_in_ms;
	progress_update(run->progress, &ps);
}

/*
 * The engine's next job: a page of the listing when one is due (so the
 * list is never starved by the fetches; the source has at most one out,
 * so it never starves them), else the next tenant in input order within
 * the window; none for now while the list still has pages to come.
 */
static enum fetch_next next_job(void *ctx, struct fetch_job *job)
{
	struct run *run = ctx;
	size_t n = total(run);

	if(source_next_request(run->source, now_mono_us(), job))
		return FETCH_JOB;
	while(run->next_dispatch < n && run->journal &&
	      journal_is_done(run->journal, run->next_dispatch))
		run->next_dispatch++;
	if(run->next_dispatch >= n)
		return source_is_complete(run->source) ? FETCH_NO_MORE
						       : FETCH_NOT_NOW;
	if(run->next_dispatch >= run->next_write + run->window_size)
		return FETCH_NOT_NOW;
	memset(job, 0, sizeof(*job));
	job->kind = FETCH_TENANT;
	job->seq = run->next_dispatch;
	guid_format(tenantset_get(run->tenants, run->next_dispatch),
		    job->tenant_id);
	run->next_dispatch++;
	return FETCH_JOB;
}

static enum pl_status job_done(void *ctx, const struct fetch_result *res,
			       struct pl_err *err)
{
	struct run *run = ctx;
	struct tenant_record *rec;
	enum pl_status st;

	if(res->kind == FETCH_PAGE) {
		/* cut off by the deadline: the list stays unfinished
		 * (cut_the_rest says so) */
		if(res->unfinished)
			return PL_OK;
		st = source_request_done(run->source, res, err);
		if(!st)
			st = start_changes(run); /* the list may be complete */
		if(!st)
			st = write_ready(run); /* a resumed prefix, listed */
		show_progress(run);
		return st;
	}
	rec = malloc(sizeof(*rec));
	if(!rec)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	tenant_record_init(rec);
	memcpy(rec->tenant_id, res->tenant_id, sizeof(rec->tenant_id));
	memcpy(rec->request_id, res->request_id, sizeof(rec->request_id));
	rec->http_status = res->http_status;
	rec->attempts = res->attempts;
	if(res->failure)
		st = norm_failure(res->failure, rec, err);
	else
		st = norm_answer(res->http_status, res->body, res->body_len,
				 rec, err);
	/* a tenant the deadline cut off is not done: the journal leaves it
	 * to the next run */
	if(!st && run->journal && !res->unfinished)
		st = journal_append(run->journal, (size_t)res->seq, rec, err);
	if(st) {
		tenant_record_release(rec);
		free(rec);
		return st;
	}
	if(rec->outcome == OUTCOME_FAILED)
		log_debug("tenant %s failed: %s", rec->tenant_id,
			  rec->error ? rec->error : "error");
	run->window[res->seq % run->window_size] = rec;
	if(res->unfinished)
		run->cut++;
	else
		run->fetched++;
	st = write_ready(run);
	show_progress(run);
	return st;
}

/* "1h30m", "45s": a deadline as the option takes it. */
static void format_duration(int64_t ms, char *out, size_t n)
{
	int64_t s = ms / 1000;
	size_t len = 0;
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};

	out[0] = '\0';
	for(size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if(s >= units[i].secs && len < n) {
			int k = snprintf(out + len, n - len, "%lld%c",
					 (long long)(s / units[i].secs),
					 units[i].unit);

			if(k > 0)
				len += (size_t)k;
			s %= units[i].secs;
		}
	}
	if(!out[0])
		snprintf(out, n, "0s");
}

/*
 * The deadline passed: every tenant the engine was not given is an Error
 * row too, not journaled, in input order (everything dispatched is done
 * and written, so each goes out at once).
 */
static enum pl_status cut_the_rest(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	char when[32];
	enum pl_status st = PL_OK;

	format_duration(cfg->deadline_ms, when, sizeof(when));
	/* A list not read to its end is an input not read: a report of the
	 * customers listed so far would hide the others (and, against
	 * --previous, call them gone). As when a page fails: no report,
	 * the journal keeps what was done. */
	if(!source_is_complete(run->source))
		return pl_fail(run->err, PL_EINPUT, "deadline %s reached "
			       "before the customer list was read to its end "
			       "(%zu customers listed so far): no report%s%s",
			       when, total(run), cfg->journal
			       ? "; run again with --journal " : "",
			       cfg->journal ? cfg->journal : "");
	for(; !st && run->next_dispatch < total(run); run->next_dispatch++) {
		size_t i = run->next_dispatch;
		struct tenant_record *rec;

		if(run->journal && journal_is_done(run->journal, i))
			continue;
		rec = malloc(sizeof(*rec));
		if(!rec)
			return pl_fail(run->err, PL_ENOMEM, "out of memory");
		tenant_record_init(rec);
		guid_format(tenantset_get(run->tenants, i), rec->tenant_id);
		st = norm_failure(FETCH_DEADLINE_TEXT, rec, run->err);
		if(st) {
			tenant_record_release(rec);
			free(rec);
			return st;
		}
		run->window[i % run->window_size] = rec;
		run->cut++;
		st = write_ready(run);
	}
	if(cfg->journal)
		log_warn("deadline %s reached: %lu tenants not fetched are "
			 "Error rows; run again with --journal %s to fetch "
			 "them", when, run->cut, cfg->journal);
	else
		log_warn("deadline %s reached: %lu tenants not fetched are "
			 "Error rows (without --journal a rerun fetches "
			 "every tenant again)", when, run->cut);
	return st;
}

static void on_tick(void *ctx, const struct fetch_stats *fs)
{
	struct run *run = ctx;

	run->in_flight = fs->in_flight;
	run->waiting = fs->waiting;
	run->resume_in_ms = fs->resume_in_ms;
	/* Appends flush the journal by count and age, but while every tenant
	 * waits on a retry nothing is appended: push the batch out here. A
	 * failure shows up again, reported, at the next append or close. */
	if(run->journal) {
		struct pl_err ignored;

		journal_flush(run->journal, false, &ignored);
	}
	show_progress(run);
}

/*
 * The correlation ID recorded in an existing journal's identity line, so
 * that a resumed run logs under the same ID from its first line. Any
 * problem is left for journal_open() to report.
 */
static void peek_journal_correlation(const char *path,
				     char out[GUID_STR_LEN + 1])
{
	FILE *fp = fopen(path, "r");
	char line[4096];
	struct json_object *o, *id;

	if(!fp)
		return;
	if(fgets(line, sizeof(line), fp)) {
		o = json_tokener_parse(line);
		if(o && json_object_object_get_ex(o, "correlation_id", &id))
			ids_parse_uuid(json_object_get_string(id), out);
		json_object_put(o);
	}
	fclose(fp);
}

/* Options that change what the journal's records mean. */
static void fingerprint(const struct pipeline_config *cfg, char *out,
			size_t len)
{
	if(cfg->all_customers)
		snprintf(out, len, "base_url=%s;listing", cfg->base_url);
	else
		snprintf(out, len, "base_url=%s;column=%s", cfg->base_url,
			 cfg->column ? cfg->column : "auto");
}

static enum pl_status open_journal(struct run *run)
{
	const struct journal_listing listing = {run->listing_request,
						replay_page, run};
	struct journal_identity id;
	char print[1024];
	enum pl_status st;

	fingerprint(run->cfg, print, sizeof(print));
	id.input_sha256 = source_csv_sha256(run->source);
	id.fingerprint = print;
	memcpy(id.correlation_id, run->correlation_id, sizeof(id.correlation_id));
	if(run->cfg->all_customers)
		st = journal_open_listing(run->cfg->journal, &id, &listing,
					  run->tenants, &run->journal,
					  run->err);
	else
		st = journal_open(run->cfg->journal, &id, run->tenants,
				  &run->journal, run->err);
	if(st)
		return st;
	memcpy(run->correlation_id, id.correlation_id,
	       sizeof(run->correlation_id));
	run->resumed = journal_resumed(run->journal);
	if(journal_is_listing_complete(run->journal))
		source_listing_replay_complete(run->source);
	source_counts(run->source, &run->input);
	if(run->cfg->all_customers && total(run))
		log_info("journal %s: resuming, %zu customers listed%s, %lu "
			 "of them already done", run->cfg->journal, total(run),
			 source_is_complete(run->source)
			 ? " (the whole list)" : " so far: listing again",
			 run->resumed);
	else if(run->resumed)
		log_info("journal %s: resuming, %lu of %zu tenants already "
			 "done", run->cfg->journal, run->resumed, total(run));
	return PL_OK;
}

/* Stage 2-4 with libcurl: a token, then fetch, normalize and write. */
static enum pl_status fetch_with_curl(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	struct fetch_config fc;
	struct fetch_stats *fs = &run->fs;
	struct auth *auth = NULL;
	const char *token;
	enum pl_status st;

	/* Fail fast, each failure with its own code: only PL_EAUTH is
	 * "authentication failed" (exit 4); a bad setting stays a usage
	 * error and running out of memory stays exit 5. */
	st = auth_new(&cfg->auth, &auth, run->err);
	if(!st)
		st = auth_token(auth, &token, run->err);
	if(st) {
		auth_free(auth);
		return st;
	}

	memset(&fc, 0, sizeof(fc));
	fc.base_url = cfg->base_url;
	fc.concurrency = cfg->concurrency;
	fc.rate = cfg->rate;
	fc.retries = cfg->retries;
	fc.timeout_ms = cfg->timeout_ms;
	fc.cacert = cfg->cacert;
	fc.correlation_id = run->correlation_id;
	fc.auth = auth;
	fc.stop = cfg->stop;
	fc.max_retry_wait_ms = (int64_t)cfg->max_retry_wait_s * 1000;
	if(cfg->deadline_ms > 0)
		fc.deadline_us = run->started_us + cfg->deadline_ms * 1000;
	if(!source_is_complete(run->source))
		log_info("listing the customers from %s, %u a page, and "
			 "fetching their qualifications, %u in flight%s",
			 cfg->base_url, cfg->page_size, cfg->concurrency,
			 cfg->rate > 0 ? "" : ", adaptive rate");
	else
		log_info("fetching %zu tenants from %s, %u in flight%s",
			 total(run) - run->resumed, cfg->base_url,
			 cfg->concurrency, cfg->rate > 0 ? ""
						     : ", adaptive rate");
	run->fetch_started_ms = now_wall_ms();
	st = fetch_run(&fc, next_job, job_done, on_tick, run, fs, run->err);
	auth_free(auth);
	source_counts(run->source, &run->input);
	if(!st && fs->deadline_reached)
		st = cut_the_rest(run);
	if(st)
		return st;
	if(run->next_write != total(run) || !source_is_complete(run->source))
		return pl_fail(run->err, PL_EINTERNAL,
			       "internal error: %zu of %zu tenants written%s",
			       run->next_write, total(run),
			       source_is_complete(run->source)
			       ? "" : ", the list not read to its end");
	log_debug("%llu requests, %llu retries, %llu throttled, max %u in "
		  "flight", (unsigned long long)fs->requests,
		  (unsigned long long)fs->retries,
		  (unsigned long long)fs->throttled, fs->max_in_flight);
	if(fs->throttled_us >= 1000000) {
		char paused[16];

		progress_format_duration((double)fs->throttled_us / 1e6, paused,
					 sizeof(paused));
		log_info("waited %s for the API's quota (%llu requests "
			 "answered 429)", paused,
			 (unsigned long long)fs->throttled);
	}
	return PL_OK;
}

/* Stage 2-4: fetch, normalize and write in input order. */
static enum pl_status fetch_all(struct run *run)
{
	const struct pipeline_config *cfg = run->cfg;
	enum pl_status st;

	run->window_size = (size_t)cfg->concurrency * WINDOW_PER_SLOT;
	if(run->window_size < WINDOW_MIN)
		run->window_size = WINDOW_MIN;
	run->window = calloc(run->window_size, sizeof(*run->window));
	if(!run->window)
		return pl_fail(run->err, PL_ENOMEM, "out of memory");

	/* Write the resumed tenants at the head of the input now: the
	 * window only moves on as rows are written, and no answer would
	 * come to move it past a resumed prefix longer than the window.
	 * (A resumed list read to its end can be compared now.) */
	st = start_changes(run);
	if(!st)
		st = write_ready(run);
	if(st || (source_is_complete(run->source) &&
		  run->resumed == total(run)))
		return st; /* everything resumed: no token needed */
	if(cfg->auth_error)
		return pl_fail(run->err, PL_EAUTH, "%s", cfg->auth_error);
	/* libcurl's allocations counted from the start, before the
	 * authority's first request: an out-of-memory from libcurl is then
	 * told from its header limit (curlmem.h) */
	st = curlmem_init(run->err);
	if(st)
		return st;
	st = fetch_with_curl(run);
	curlmem_cleanup();
	return st;
}

static enum pl_status write_summary(struct run *run)
{
	const struct summary_entry *e;
	size_t n;
	enum pl_status st = PL_OK;

	if(!run->summary_report)
		return PL_OK;
	st = summary_sorted(run->summary, &e, &n, run->err);
	for(size_t i = 0; i < n && !st; i++)
		st = report_write_summary_row(run->summary_report,
					      e[i].qualification,
					      e[i].vetting_status, e[i].count,
					      run->err);
	return st;
}

static void fill_counts(const struct run *run, struct manifest_counts *c)
{
	c->input_rows = run->input.rows;
	c->valid = run->input.tenants;
	c->duplicate = run->input.duplicates;
	c->invalid = run->input.rejects;
	c->blank = run->input.blanks;
	c->fetched = run->fetched;
	c->answered = run->answered;
	c->not_found = run->not_found;
	c->failed = run->failed;
	c->rows_written = run->rows_written;
}

/*
 * Every output of the run that is finished, for the manifest and the
 * page (which lists all but itself): role, path, format, rows, bytes,
 * SHA-256. outs has room for 6.
 */
static size_t list_outputs(const struct run *run, bool with_html,
			   struct manifest_output *outs)
{
	const struct pipeline_config *cfg = run->cfg;
	size_t n = 0;

	outs[n++] = (struct manifest_output){
		"detail", cfg->output, report_format_name(cfg->format),
		run->detail_stats.rows, run->detail_stats.file.bytes,
		run->detail_stats.file.sha256};
	if(cfg->summary)
		outs[n++] = (struct manifest_output){
			"summary", cfg->summary,
			report_format_name(run->summary_format),
			run->summary_stats.rows, run->summary_stats.file.bytes,
			run->summary_stats.file.sha256};
	if(cfg->rejects)
		outs[n++] = (struct manifest_output){
			"rejects", cfg->rejects, "csv",
			run->rejects_stats.rows, run->rejects_stats.file.bytes,
			run->rejects_stats.file.sha256};
	if(cfg->customers)
		outs[n++] = (struct manifest_output){
			"customers", cfg->customers,
			report_format_name(run->customers_format),
			run->customers_stats.rows,
			run->customers_stats.file.bytes,
			run->customers_stats.file.sha256};
	if(cfg->changes)
		outs[n++] = (struct manifest_output){
			"changes", cfg->changes,
			report_format_name(run->changes_format),
			run->changes_stats.rows, run->changes_stats.file.bytes,
			run->changes_stats.file.sha256};
	if(cfg->html && with_html)
		outs[n++] = (struct manifest_output){
			"html", cfg->html, "html", 1, run->html_stats.bytes,
			run->html_stats.sha256};
	return n;
}

/*
 * The page, once every other output is finished (so it can state their
 * SHA-256) and before any is published: it is finished here and
 * committed with them.
 */
static enum pl_status write_html(struct run *run, int exit_code)
{
	const struct pipeline_config *cfg = run->cfg;
	struct manifest_output outs[6];
	struct manifest_counts counts;
	struct html_facts f;
	enum pl_status st;

	memset(&f, 0, sizeof(f));
	fill_counts(run, &counts);
	f.version = QR_VERSION;
	f.correlation_id = run->correlation_id;
	f.started_ms = run->started_ms;
	f.ended_ms = now_wall_ms();
	f.input_path = cfg->all_customers ? run->listing_request : cfg->input;
	f.input_sha256 = cfg->all_customers ? NULL
					    : source_csv_sha256(run->source);
	f.input_bytes = source_csv_bytes(run->source);
	f.counts = &counts;
	f.exit_code = exit_code;
	f.outputs = outs;
	f.noutputs = list_outputs(run, false, outs);
	f.manifest_path = cfg->manifest;
	f.detail_path = strcmp(cfg->output, "-") ? cfg->output : NULL;
	f.changes_path = cfg->changes;
	st = summary_sorted(run->summary, &f.summary, &f.nsummary, run->err);
	if(st)
		return st;
	if(run->changes) {
		f.previous_path = previous_detail_path(run->previous);
		f.previous_sha256 = previous_sha256(run->previous);
		f.previous_tenants = changes_previous_tenants(run->changes);
		st = summary_sorted(changes_previous_summary(run->changes),
				    &f.previous_summary,
				    &f.nprevious_summary, run->err);
		if(st)
			return st;
	}
	return html_write(run->html, cfg->html, &f, &run->html_out, run->err);
}

/* The reports a run may write (NULL when not asked for), with where
 * each one's stats go; the page is apart (an outfile, written last). */
struct report_slot {
	struct report **report;
	struct report_stats *stats;
};

#define REPORT_SLOTS 5

static void report_slots(struct run *run, struct report_slot *out)
{
	out[0] = (struct report_slot){&run->detail, &run->detail_stats};
	out[1] = (struct report_slot){&run->summary_report,
				      &run->summary_stats};
	out[2] = (struct report_slot){&run->rejects, &run->rejects_stats};
	out[3] = (struct report_slot){&run->changes_report,
				      &run->changes_stats};
	out[4] = (struct report_slot){&run->customers,
				      &run->customers_stats};
}

/*
 * Write out, sync and close every report, then write the page (which
 * states their SHA-256), renaming none: a full disk on one leaves none of
 * them behind.
 */
static enum pl_status finish_reports(struct run *run, int exit_code)
{
	struct report_slot all[REPORT_SLOTS];
	enum pl_status st = PL_OK;

	report_slots(run, all);
	for(size_t i = 0; i < REPORT_SLOTS && !st; i++) {
		struct report *r = *all[i].report;

		if(!r)
			continue;
		st = report_finish(r, run->err);
		if(!st && !report_finished_stats(r, all[i].stats))
			st = pl_fail(run->err, PL_EINTERNAL, "internal error: "
				     "a finished report without stats");
	}
	if(!st && run->html)
		st = write_html(run, exit_code);
	return st;
}

/*
 * Rename every finished output into place. Only a failing rename(2) in
 * the same directory, or the directory sync after it, can leave some at
 * their final paths and not others (run->published says it may be so).
 */
static enum pl_status publish_reports(struct run *run)
{
	struct report_slot all[REPORT_SLOTS];
	enum pl_status st = PL_OK;

	report_slots(run, all);
	run->published = true;
	for(size_t i = 0; i < REPORT_SLOTS; i++) {
		struct report *r = *all[i].report;

		if(!st && r)
			st = report_commit(r, all[i].stats, run->err);
		else
			report_abort(r);
		*all[i].report = NULL;
	}
	if(!st && run->html_out)
		st = outfile_commit(run->html_out, &run->html_stats, run->err);
	else
		outfile_abort(run->html_out);
	run->html_out = NULL;
	return st;
}

static void abort_reports(struct run *run)
{
	struct report_slot all[REPORT_SLOTS];

	report_slots(run, all);
	for(size_t i = 0; i < REPORT_SLOTS; i++) {
		report_abort(*all[i].report);
		*all[i].report = NULL;
	}
	outfile_abort(run->html_out);
	run->html_out = NULL;
}

static enum pl_status write_manifest(struct run *run, int exit_code)
{
	const struct pipeline_config *cfg = run->cfg;
	struct manifest m;
	struct manifest_listing listing;
	struct source_listing_facts facts;
	struct manifest_output outs[6];
	struct manifest_option opts[12];
	char conc[16], retries[16], timeout[32], rate[32], excel[8];
	char max_wait[16], deadline[32];
	size_t n = 0;
	enum pl_status st;

	memset(&m, 0, sizeof(m));
	snprintf(conc, sizeof(conc), "%u", cfg->concurrency);
	snprintf(retries, sizeof(retries), "%u", cfg->retries);
	snprintf(timeout, sizeof(timeout), "%.3f",
		 (double)cfg->timeout_ms / 1000.0);
	snprintf(rate, sizeof(rate), "%g", cfg->rate);
	snprintf(excel, sizeof(excel), "%s", cfg->excel_safe ? "true"
							     : "false");
	opts[n++] = (struct manifest_option){"base_url", cfg->base_url};
	opts[n++] = (struct manifest_option){"column", cfg->column};
	opts[n++] = (struct manifest_option){"format",
					     report_format_name(cfg->format)};
	opts[n++] = (struct manifest_option){"excel_safe", excel};
	opts[n++] = (struct manifest_option){"retries", retries};
	opts[n++] = (struct manifest_option){"timeout_s", timeout};
	opts[n++] = (struct manifest_option){"concurrency", conc};
	opts[n++] = (struct manifest_option){"rate_per_s",
					     cfg->rate > 0 ? rate : NULL};
	snprintf(max_wait, sizeof(max_wait), "%u", cfg->max_retry_wait_s
		 ? cfg->max_retry_wait_s
		 : FETCH_DEFAULT_MAX_RETRY_WAIT_MS / 1000);
	format_duration(cfg->deadline_ms, deadline, sizeof(deadline));
	opts[n++] = (struct manifest_option){"max_retry_wait_s", max_wait};
	opts[n++] = (struct manifest_option){"deadline",
					     cfg->deadline_ms > 0 ? deadline
								  : NULL};
	/* What the changes were computed against: the detail report read
	 * and its SHA-256 (only with --previous, so other manifests keep
	 * their shape). */
	if(run->previous) {
		opts[n++] = (struct manifest_option){
			"previous", previous_detail_path(run->previous)};
		opts[n++] = (struct manifest_option){
			"previous_sha256", previous_sha256(run->previous)};
	}

	m.version = QR_VERSION;
	m.correlation_id = run->correlation_id;
	m.started_ms = run->started_ms;
	m.ended_ms = now_wall_ms();
	if(cfg->all_customers) {
		source_listing_facts(run->source, &facts);
		listing = (struct manifest_listing){
			run->listing_request, cfg->base_url, cfg->page_size,
			facts.pages, run->input.rows, facts.duplicates,
			facts.relisted, run->input.rejects, facts.restarts};
		m.listing = &listing;
	} else {
		m.input_path = cfg->input;
		m.input_sha256 = source_csv_sha256(run->source);
		m.input_bytes = source_csv_bytes(run->source);
	}
	m.options = opts;
	m.noptions = n;
	fill_counts(run, &m.counts);
	m.outputs = outs;
	m.noutputs = list_outputs(run, true, outs);
	m.exit_code = exit_code;
	st = manifest_commit(run->manifest, &m, run->err);
	run->manifest = NULL;
	return st;
}

/*
 * A failure after the first rename cannot take back what is already at
 * the final paths; say what a loader sees there: reports, and no manifest
 * (manifest_open removed the previous one), so one that waits for the
 * manifest takes nothing.
 */
static enum pl_status after_publishing(struct run *run, enum pl_status st)
{
	struct pl_err first = *run->err;

	return pl_fail(run->err, st, "%s (reports renamed so far are at their "
		       "final paths without a manifest: a loader waiting for "
		       "it takes none)", first.msg);
}

/* The changes since the previous run, by kind, on stderr. */
static void print_changes(struct run *run)
{
	struct buf line;

	/* A log line: the kinds that fit in 512 bytes, whole. */
	buf_init(&line, 512);
	for(int k = 0; k < CHANGE_KINDS; k++) {
		uint64_t n = changes_count_kind(run->changes,
						(enum change_kind)k);

		if(n && buf_addf(&line, "%s%s %llu", line.len ? ", " : "",
				 changes_kind_name((enum change_kind)k),
				 (unsigned long long)n))
			break;
	}
	log_info("changes since %s: %llu rows%s%s",
		 previous_detail_path(run->previous),
		 (unsigned long long)changes_count(run->changes),
		 line.len ? ": " : "", line.data);
	buf_release(&line);
}

/* The short human summary at the end of a run, on stderr. */
static void print_summary(struct run *run)
{
	double secs = (double)(now_wall_ms() - run->started_ms) / 1000.0;
	double fetch_secs = run->fetch_started_ms
		? (double)(now_wall_ms() - run->fetch_started_ms) / 1000.0 : 0;
	const struct summary_entry *e;
	struct buf line;
	size_t n;

	if(run->cfg->all_customers)
		log_info("summary: %lu customers listed: %lu valid, %lu "
			 "duplicate, %lu invalid", run->input.rows,
			 run->input.tenants, run->input.duplicates,
			 run->input.rejects);
	else
		log_info("summary: %lu input rows: %lu valid, %lu duplicate, "
			 "%lu invalid, %lu blank", run->input.rows,
			 run->input.tenants, run->input.duplicates,
			 run->input.rejects, run->input.blanks);
	log_info("summary: %lu fetched, %lu resumed from journal: %lu "
		 "answered, %lu not found, %lu failed", run->fetched,
		 run->resumed, run->answered, run->not_found, run->failed);
	if(run->cut)
		log_info("summary: %lu of the failed left by the deadline for "
			 "the next run", run->cut);
	/* Out of memory: no line by status, the rest is still worth it. */
	summary_sorted(run->summary, &e, &n, NULL);
	/* A log line, not the report: the pairs that fit in 1 KiB, whole. */
	buf_init(&line, 1024);
	for(size_t i = 0; e && i < n; i++)
		if(buf_addf(&line, "%s%s%s%s %lu", i ? ", " : "",
			    e[i].qualification ? e[i].qualification : "",
			    e[i].qualification ? "/" : "",
			    e[i].vetting_status ? e[i].vetting_status
						: "(no status)",
			    e[i].count))
			break;
	if(line.len)
		log_info("summary: by status: %s", line.data);
	buf_release(&line);
	log_info("summary: %.2f s wall, %.1f tenants/s", secs,
		 fetch_secs > 0 ? (double)run->fetched / fetch_secs : 0.0);
}

enum pl_status pipeline_run(const struct pipeline_config *cfg,
			    struct pipeline_result *res, struct pl_err *err)
{
	struct run run;
	struct manifest_counts counts;
	enum pl_status st;
	int signo;

	memset(&run, 0, sizeof(run));
	memset(res, 0, sizeof(*res));
	run.cfg = cfg;
	run.err = err;
	run.started_ms = now_wall_ms();
	run.started_us = now_mono_us();
	memcpy(run.correlation_id, cfg->correlation_id,
	       sizeof(run.correlation_id));
	run.tenants = tenantset_new();
	run.summary = summary_new();
	if(!run.tenants || !run.summary) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}

	/* The correlation ID goes on every log line, so settle it first: the
	 * journal's own when resuming, else the given one, else a new one. */
	if(!run.correlation_id[0] && cfg->journal)
		peek_journal_correlation(cfg->journal, run.correlation_id);
	if(!run.correlation_id[0])
		ids_new_correlation(run.correlation_id);
	log_set_correlation(run.correlation_id);
	log_info("correlation ID %s", run.correlation_id);

	if(cfg->rejects) {
		st = report_open_rejects(cfg->rejects, cfg->excel_safe,
					 &run.rejects, err);
		if(st)
			goto out;
	}
	st = open_source(&run);
	if(!st)
		st = open_customers(&run);
	if(!st)
		st = read_input(&run);
	if(!st)
		st = open_reports(&run);
	if(!st)
		st = open_comparison(&run);
	if(!st && cfg->journal)
		st = open_journal(&run);
	if(st)
		goto out;

	/* A report printed to the same terminal would be torn by the bar. */
	run.progress = progress_new(cfg->progress == PROGRESS_AUTO &&
				    !strcmp(cfg->output, "-") &&
				    isatty(STDOUT_FILENO)
				    ? PROGRESS_OFF : cfg->progress);
	st = fetch_all(&run);
	progress_finish(run.progress);
	run.progress = NULL;
	if(run.journal) {
		struct pl_err jerr;
		enum pl_status jst = journal_close(run.journal, &jerr);

		run.journal = NULL;
		if(jst && !st) {
			*err = jerr;
			st = jst;
		}
	}
	/* Gone tenants close the changes, after every tenant of the run. */
	if(!st && run.changes)
		st = changes_add_gone(run.changes, err);
	if(!st)
		st = write_summary(&run);
	if(st)
		goto out;

	fill_counts(&run, &counts);
	st = manifest_counts_tie_out(&counts, err);
	if(st)
		goto out;
	res->exit_code = run.failed ? QR_EXIT_FAILURES : QR_EXIT_OK;
	st = finish_reports(&run, res->exit_code);
	/* The manifest before any rename: one that cannot even be created
	 * fails the run while nothing is published, and the previous run's
	 * goes only once this run's outputs are whole on disk. */
	if(!st && cfg->manifest)
		st = manifest_open(cfg->manifest, &run.manifest, err);
	if(!st)
		st = publish_reports(&run);
	if(!st && run.manifest)
		st = write_manifest(&run, res->exit_code);
	if(st) {
		if(run.published)
			st = after_publishing(&run, st);
		goto out;
	}
	if(!cfg->quiet)
		print_summary(&run);
	if(!cfg->quiet && run.changes)
		print_changes(&run);

out:
	if(run.journal) {
		struct pl_err jerr;

		journal_close(run.journal, &jerr);
	}
	progress_finish(run.progress);
	abort_reports(&run);
	manifest_abort(run.manifest);
	if(st) {
		signo = cfg->stop ? (int)*cfg->stop : 0;
		res->exit_code = pl_exit_code(st, signo);
	}
	res->tenants = run.tenants ? total(&run) : 0;
	res->answered = run.answered;
	res->not_found = run.not_found;
	res->failed = run.failed;
	res->fetch = run.fs;
	for(size_t i = 0; run.window && i < run.window_size; i++) {
		tenant_record_release(run.window[i]);
		free(run.window[i]);
	}
	free(run.window);
	source_free(run.source);
	custdir_free(run.custdir);
	html_free(run.html);
	changes_free(run.changes);
	previous_free(run.previous);
	summary_free(run.summary);
	tenantset_free(run.tenants);
	return st;
}
