/*
 * log.h: the run's log lines on stderr.
 *
 * Text: "qualreport: warning: message", with " [corr=<id>]" appended at
 * debug level (-v); JSON: one object per line {"ts","level","msg",
 * "correlation_id"} for log shippers, the correlation ID on every line
 * once set. The pipeline logs "correlation ID <id>" as its first line, so
 * a plain text log names it once. Never pass a secret here.
 *
 * Writing a line allocates nothing (JSON is escaped by hand into a stack
 * buffer, byte for byte what json-c's writer makes), so even an
 * out-of-memory error gets its line. Messages are cut at 2047 bytes.
 *
 * A hook lets the progress bar erase itself before a line is written and
 * redraw after, so the terminal never shows a line torn by the bar.
 */
#ifndef QR_LOG_H
#define QR_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };
enum log_format { LOG_TEXT = 0, LOG_JSON };

void log_setup(enum log_level max_level, enum log_format format);
void log_set_correlation(const char *correlation_id);
bool log_enabled(enum log_level level);
/* Called before (after=0) and after (after=1) each line; NULL clears. */
void log_set_hook(void (*hook)(void *ctx, int after), void *ctx);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
