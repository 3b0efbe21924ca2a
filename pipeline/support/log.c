#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "now.h"

/* The longest message kept; longer ones are cut. */
#define MSG_MAX 2048

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

/*
 * Append s to out at *at as a JSON string, escaped as json-c's writer
 * escapes (JSON_C_TO_STRING_NOSLASHESCAPE): the quote, the backslash and
 * control bytes; every other byte as it is. out has room for 6 bytes per
 * byte of s plus the quotes.
 */
static void put_string(char *out, size_t *at, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = *at;

	out[n++] = '"';
	for(; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc = 0;

		switch(c) {
		case '"': esc = '"'; break;
		case '\\': esc = '\\'; break;
		case '\b': esc = 'b'; break;
		case '\f': esc = 'f'; break;
		case '\n': esc = 'n'; break;
		case '\r': esc = 'r'; break;
		case '\t': esc = 't'; break;
		}
		if(esc) {
			out[n++] = '\\';
			out[n++] = esc;
		} else if(c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else {
			out[n++] = (char)c;
		}
	}
	out[n++] = '"';
	*at = n;
}

static void put_raw(char *out, size_t *at, const char *s)
{
	size_t len = strlen(s);

	memcpy(out + *at, s, len);
	*at += len;
}

/*
 * One JSON object per line, built on the stack: the line that reports
 * running out of memory must not need any (json-c's objects did, and a
 * failed one crashed or printed "(null)").
 */
static void write_json(enum log_level level, const char *msg)
{
	int64_t ms = now_wall_ms();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char stamp[64];
	char line[256 + 6 * (MSG_MAX + sizeof(correlation))];
	size_t at = 0;

	if(!gmtime_r(&secs, &tm))
		memset(&tm, 0, sizeof(tm));
	snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	put_raw(line, &at, "{\"ts\":");
	put_string(line, &at, stamp);
	put_raw(line, &at, ",\"level\":");
	put_string(line, &at, level_names[level]);
	put_raw(line, &at, ",\"msg\":");
	put_string(line, &at, msg);
	if(correlation[0]) {
		put_raw(line, &at, ",\"correlation_id\":");
		put_string(line, &at, correlation);
	}
	put_raw(line, &at, "}\n");
	fwrite(line, 1, at, stderr);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[MSG_MAX];
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
