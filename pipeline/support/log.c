#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

static enum log_level max_level = LOG_INFO;
static enum log_format format = LOG_TEXT;
static char correlation[64];
static void (*hook_fn)(void *ctx, int after);
static void *hook_ctx;

static const char *const level_names[] = {"error", "warning", "info",
					   "debug"};

void log_setup(enum log_level level, enum log_format fmt)
{
	max_level = level;
	format = fmt;
}

void log_set_correlation(const char *correlation_id)
{
	snprintf(correlation, sizeof(correlation), "%s",
		 correlation_id ? correlation_id : "");
}

bool log_enabled(enum log_level level)
{
	return level <= max_level;
}

void log_set_hook(void (*hook)(void *ctx, int after), void *ctx)
{
	hook_fn = hook;
	hook_ctx = ctx;
}

static void write_json(enum log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char stamp[96];
	struct json_object *o = json_object_new_object();

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
	json_object_object_add(o, "ts", json_object_new_string(stamp));
	json_object_object_add(o, "level",
			       json_object_new_string(level_names[level]));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	if(correlation[0])
		json_object_object_add(o, "correlation_id",
				       json_object_new_string(correlation));
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if(level > max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if(hook_fn)
		hook_fn(hook_ctx, 0);
	/* A person at a terminal reads the correlation ID once, in the run's
	 * first line; a log collector (JSON) or someone debugging (-v) gets
	 * it on every line. */
	if(format == LOG_JSON)
		write_json(level, msg);
	else if(correlation[0] && max_level >= LOG_DEBUG)
		fprintf(stderr, "qualreport: %s: %s [corr=%s]\n",
			level_names[level], msg, correlation);
	else
		fprintf(stderr, "qualreport: %s: %s\n", level_names[level],
			msg);
	fflush(stderr);
	if(hook_fn)
		hook_fn(hook_ctx, 1);
}
