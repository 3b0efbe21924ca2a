/*
 * test_log.c: the log lines on stderr. JSON lines are built by hand (no
 * allocation, so the line reporting an out-of-memory error can be
 * written): they must parse, carry the message exactly, and be the bytes
 * json-c's writer made before. Text lines carry the correlation ID only
 * at debug level.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "log.h"
#include "testutil.h"

#define CORR "0f8fad5b-d9cb-469f-a165-70867728950e"

static char path[64];
static int saved_fd = -1;

/* Send stderr to a fresh file until captured() reads it back. */
static void capture(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/qr-log-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_fd = dup(STDERR_FILENO);
	assert_true(saved_fd >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
}

static char *captured(void)
{
	char *text;

	fflush(stderr);
	assert_int_equal(dup2(saved_fd, STDERR_FILENO), STDERR_FILENO);
	close(saved_fd);
	text = testutil_read_file(path, NULL);
	unlink(path);
	return text;
}

/* What json-c's writer makes of the same object (the old log line). */
static char *json_c_line(const char *ts, const char *level, const char *msg,
			 const char *corr)
{
	struct json_object *o = json_object_new_object();
	char *line;

	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "level", json_object_new_string(level));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	if(corr)
		json_object_object_add(o, "correlation_id",
				       json_object_new_string(corr));
	line = strdup(json_object_to_json_string_ext(o,
			JSON_C_TO_STRING_PLAIN |
			JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return line;
}

static void json_lines_parse_and_match_json_c(void **state)
{
	static const char *const msgs[] = {
		"plain",
		"quote \" backslash \\ slash / done",
		"line\nbreak\ttab\rreturn\bback\fform",
		"\x01\x02\x1f\x7f bytes",
		"caf\xc3\xa9 \xe2\x9c\x93 and a lone \xff byte",
		"",
	};
	char *text, *line, *next;
	size_t k = 0;
	(void)state;

	log_setup(LOG_DEBUG, LOG_JSON);
	log_set_correlation(CORR);
	capture();
	for(size_t i = 0; i < sizeof(msgs) / sizeof(*msgs); i++)
		log_msg(i % 2 ? LOG_WARN : LOG_DEBUG, "%s", msgs[i]);
	log_set_correlation(NULL);
	log_error("no correlation yet");
	text = captured();

	for(line = text; *line; line = next, k++) {
		struct json_object *o, *v;
		const char *ts;
		char *want;

		next = strchr(line, '\n');
		assert_non_null(next);
		*next++ = '\0';
		o = json_tokener_parse(line);
		if(!o)
			fail_msg("line %zu does not parse: %s", k, line);
		assert_true(json_object_object_get_ex(o, "ts", &v));
		ts = json_object_get_string(v);
		assert_int_equal(strlen(ts), 24);
		assert_true(json_object_object_get_ex(o, "msg", &v));
		if(k < 6) {
			/* json-c reads the message back byte for byte (the
			 * lone 0xff too: it does not validate by default) */
			assert_string_equal(json_object_get_string(v),
					    msgs[k]);
			want = json_c_line(ts, k % 2 ? "warning" : "debug",
					   msgs[k], CORR);
		} else {
			assert_false(json_object_object_get_ex(
				o, "correlation_id", &v));
			want = json_c_line(ts, "error", "no correlation yet",
					   NULL);
		}
		assert_string_equal(line, want);
		free(want);
		json_object_put(o);
	}
	assert_int_equal(k, 7);
	free(text);
}

static void text_lines_name_the_correlation_at_debug_only(void **state)
{
	char *text;
	(void)state;

	log_set_correlation(CORR);
	log_setup(LOG_INFO, LOG_TEXT);
	capture();
	log_info("correlation ID %s", CORR);
	log_warn("a warning");
	log_debug("not shown");
	text = captured();
	assert_string_equal(text, "qualreport: info: correlation ID " CORR
			    "\nqualreport: warning: a warning\n");
	free(text);

	log_setup(LOG_DEBUG, LOG_TEXT);
	capture();
	log_debug("request 1");
	log_error("failed");
	text = captured();
	assert_string_equal(text,
		"qualreport: debug: request 1 [corr=" CORR "]\n"
		"qualreport: error: failed [corr=" CORR "]\n");
	free(text);
	log_set_correlation(NULL);
}

static void long_messages_are_cut_not_overrun(void **state)
{
	char big[5000], *text;
	struct json_object *o, *v;
	(void)state;

	/* Every byte escaped six-fold: the worst case of the line buffer. */
	memset(big, '\x01', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_setup(LOG_INFO, LOG_JSON);
	log_set_correlation(CORR);
	capture();
	log_info("%s", big);
	text = captured();
	o = json_tokener_parse(text);
	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "msg", &v));
	assert_int_equal(json_object_get_string_len(v), 2047);
	json_object_put(o);
	free(text);
	log_set_correlation(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_lines_parse_and_match_json_c),
		cmocka_unit_test(text_lines_name_the_correlation_at_debug_only),
		cmocka_unit_test(long_messages_are_cut_not_overrun),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
