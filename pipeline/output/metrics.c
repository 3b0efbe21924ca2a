#include "metrics.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "outfile.h"

#define LAST_SUCCESS "qualreport_last_success_timestamp_seconds"

/* A metrics file is a couple of kilobytes; a line longer than this is not
 * one we wrote, and is skipped in pieces. */
#define LINE_MAX_READ 512

/* Epoch or duration milliseconds as seconds, exactly, and the line's end
 * ("1795510862.004\n"). */
static enum pl_status add_ms(struct buf *b, int64_t ms)
{
	if(ms < 0)
		ms = 0;
	return buf_addf(b, "%lld.%03d\n", (long long)(ms / 1000),
			(int)(ms % 1000));
}

static enum pl_status add_family(struct buf *b, const char *name,
				 const char *type, const char *help)
{
	return buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
			type);
}

/* A label value between double quotes, escaped as the format says. */
static enum pl_status add_label_value(struct buf *b, const char *v)
{
	enum pl_status st = buf_addch(b, '"');

	for(; !st && *v; v++) {
		if(*v == '\\')
			st = buf_addstr(b, "\\\\");
		else if(*v == '"')
			st = buf_addstr(b, "\\\"");
		else if(*v == '\n')
			st = buf_addstr(b, "\\n");
		else
			st = buf_addch(b, *v);
	}
	return st ? st : buf_addch(b, '"');
}

static enum pl_status format(struct buf *b, const struct metrics_run *m,
			     const char *previous_success)
{
	double throttled = m->throttled_s;
	enum pl_status st;

	st = add_family(b, "qualreport_last_run_timestamp_seconds", "gauge",
			"Unix time the last run ended, whatever its exit "
			"status.");
	if(!st)
		st = buf_addstr(b, "qualreport_last_run_timestamp_seconds ");
	if(!st)
		st = add_ms(b, m->ended_ms);

	if(!st)
		st = add_family(b, LAST_SUCCESS, "gauge",
				"Unix time the last run with exit status 0 "
				"ended (0: none recorded).");
	if(!st)
		st = buf_addstr(b, LAST_SUCCESS " ");
	if(!st && m->exit_code == 0)
		st = add_ms(b, m->ended_ms);
	else if(!st)
		st = buf_addf(b, "%s\n", previous_success && *previous_success
			      ? previous_success : "0");

	if(!st)
		st = add_family(b, "qualreport_run_duration_seconds", "gauge",
				"Wall time of the last run.");
	if(!st)
		st = buf_addstr(b, "qualreport_run_duration_seconds ");
	if(!st)
		st = add_ms(b, m->duration_ms);

	if(!st)
		st = add_family(b, "qualreport_exit_code", "gauge",
				"Exit status of the last run (0 all "
				"answered, 1 some tenants failed, 2-5 no "
				"report, 130/143 interrupted).");
	if(!st)
		st = buf_addf(b, "qualreport_exit_code %d\n", m->exit_code);

	if(!st)
		st = add_family(b, "qualreport_tenants", "gauge",
				"Tenants of the last run by outcome.");
	for(size_t i = 0; !st && i < m->ntenants; i++) {
		st = buf_addstr(b, "qualreport_tenants{status=");
		if(!st)
			st = add_label_value(b, m->tenants[i].label);
		if(!st)
			st = buf_addf(b, "} %llu\n", (unsigned long long)
				      m->tenants[i].count);
	}

	if(!st)
		st = add_family(b, "qualreport_requests_total", "counter",
				"HTTP requests of the last run by the status "
				"of their answer (0: no answer).");
	for(size_t i = 0; !st && i < m->nrequests; i++)
		st = buf_addf(b, "qualreport_requests_total{code=\"%u\"} "
			      "%llu\n", m->requests[i].code,
			      (unsigned long long)m->requests[i].count);

	if(!isfinite(throttled) || throttled < 0)
		throttled = 0;
	if(!st)
		st = add_family(b, "qualreport_throttled_seconds_total",
				"counter",
				"Seconds the last run's requests were paused "
				"on the API's Retry-After.");
	if(!st)
		st = buf_addf(b, "qualreport_throttled_seconds_total %.3f\n",
			      throttled);
	return st;
}

enum pl_status metrics_format(struct buf *b, const struct metrics_run *m,
			      const char *previous_success)
{
	size_t len = b->len;
	enum pl_status st = format(b, m, previous_success);

	if(st)
		buf_setlen(b, len);
	return st;
}

/* The value of a "LAST_SUCCESS <value>[ <timestamp>]" line, if valid. */
static bool parse_line(const char *line, char out[64])
{
	const char *v = line + strlen(LAST_SUCCESS);
	size_t n;
	char *end;
	double d;

	if(*v != ' ' && *v != '\t')
		return false;
	while(*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, " \t\r\n");
	if(n == 0 || n >= 64)
		return false;
	errno = 0;
	d = strtod(v, &end);
	if(errno || end != v + n || !isfinite(d) || d < 0)
		return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

bool metrics_last_success(const char *path, char out[64])
{
	FILE *fp = fopen(path, "r");
	char line[LINE_MAX_READ];
	bool at_start = true, found = false;

	out[0] = '\0';
	if(!fp) {
		if(errno != ENOENT)
			log_warn("cannot read the earlier metrics file %s: %s; "
				 "its last success time is lost", path,
				 strerror(errno));
		return false;
	}
	while(!found && fgets(line, sizeof(line), fp)) {
		size_t len = strlen(line);

		/* Only a whole line counts: a piece of a long one is not a
		 * line start. */
		if(at_start && !strncmp(line, LAST_SUCCESS,
					strlen(LAST_SUCCESS)))
			found = parse_line(line, out);
		at_start = len > 0 && line[len - 1] == '\n';
	}
	if(ferror(fp) && !found)
		log_warn("cannot read the earlier metrics file %s: %s; its "
			 "last success time is lost", path, strerror(errno));
	fclose(fp);
	if(!found)
		out[0] = '\0';
	return found;
}

enum pl_status metrics_write(const char *path, const struct metrics_run *m,
			     struct pl_err *err)
{
	struct buf text = BUF_INIT;
	struct outfile *f = NULL;
	char previous[64] = "";
	enum pl_status st;

	if(m->exit_code != 0)
		metrics_last_success(path, previous);
	st = metrics_format(&text, m, previous);
	if(st) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	st = outfile_open(path, 0, &f, err);
	if(st)
		goto out;
	st = outfile_write(f, text.data, text.len, err);
	if(st) {
		outfile_abort(f);
		goto out;
	}
	st = outfile_commit(f, NULL, err);
out:
	buf_release(&text);
	return st;
}
