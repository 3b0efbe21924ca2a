/*
 * test_ping: the URLs asked for (start, success, each failing status),
 * against a libmicrohttpd server on loopback that records every request;
 * non-2xx answers, refused connections, timeouts and redirects as
 * failures whose messages name only scheme://host:port; the URL checks.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <microhttpd.h>

#include "ping.h"

#define SECRET "0c9f6c3e-1b8a-4e55-9c1e-7f2d5a8b3c4d"

struct server {
	struct MHD_Daemon *d;
	unsigned port;
	char base[128];          /* http://127.0.0.1:PORT */
	unsigned status;         /* to answer with */
	unsigned delay_ms;
	const char *location;    /* a redirect target, or NULL */
	pthread_mutex_t mu;
	char paths[8][256];      /* "METHOD PATH" in arrival order */
	size_t npaths;
	char user_agent[128];
};

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
			       const char *url, const char *method,
			       const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *ua;

	pthread_mutex_lock(&s->mu);
	if(s->npaths < 8)
		snprintf(s->paths[s->npaths++], sizeof(s->paths[0]), "%s %s",
			 method, url);
	ua = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	snprintf(s->user_agent, sizeof(s->user_agent), "%s", ua ? ua : "");
	pthread_mutex_unlock(&s->mu);
	if(s->delay_ms) {
		struct timespec ts = {s->delay_ms / 1000,
				      (long)(s->delay_ms % 1000) * 1000000L};

		while(nanosleep(&ts, &ts))
			;
	}
	r = MHD_create_response_from_buffer(2, (void *)"OK",
					    MHD_RESPMEM_PERSISTENT);
	if(s->location)
		MHD_add_response_header(r, "Location", s->location);
	ret = MHD_queue_response(c, s->status, r);
	MHD_destroy_response(r);
	return ret;
}

static int setup(void **state)
{
	struct server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if(!s)
		return -1;
	pthread_mutex_init(&s->mu, NULL);
	s->status = 200;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				MHD_USE_THREAD_PER_CONNECTION,
				0, NULL, NULL, handler, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_END);
	if(!s->d)
		return -1;
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info->port;
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%u", s->port);
	*state = s;
	return 0;
}

static int teardown(void **state)
{
	struct server *s = *state;

	if(s->d)
		MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return 0;
}

static enum pl_status ping(struct server *s, const char *suffix, int event,
			   struct pl_err *err)
{
	char url[256];
	struct ping_config cfg = {0};

	snprintf(url, sizeof(url), "%s%s", s->base, suffix);
	cfg.url = url;
	cfg.user_agent = "qualreport/test";
	cfg.timeout_ms = 2000;
	return ping_send(&cfg, event, err);
}

/* The message names the server's origin and nothing of the path. */
static void assert_origin_only(const struct server *s, const char *msg)
{
	assert_non_null(strstr(msg, s->base));
	assert_null(strstr(msg, SECRET));
	assert_null(strstr(msg, "/ping"));
}

static void test_events(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};

	assert_int_equal(ping(s, "/ping/" SECRET, PING_START, &err), PL_OK);
	assert_int_equal(ping(s, "/ping/" SECRET, 0, &err), PL_OK);
	assert_int_equal(ping(s, "/ping/" SECRET, 1, &err), PL_OK);
	assert_int_equal(ping(s, "/ping/" SECRET "/", 5, &err), PL_OK);
	assert_int_equal(ping(s, "/ping/" SECRET "//", 143, &err), PL_OK);
	assert_int_equal(ping(s, "/ping/" SECRET, 255, &err), PL_OK);
	assert_int_equal(s->npaths, 6);
	assert_string_equal(s->paths[0], "GET /ping/" SECRET "/start");
	assert_string_equal(s->paths[1], "GET /ping/" SECRET);
	assert_string_equal(s->paths[2], "GET /ping/" SECRET "/1");
	assert_string_equal(s->paths[3], "GET /ping/" SECRET "/5");
	assert_string_equal(s->paths[4], "GET /ping/" SECRET "/143");
	assert_string_equal(s->paths[5], "GET /ping/" SECRET "/255");
	assert_string_equal(s->user_agent, "qualreport/test");
}

static void test_any_2xx(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};

	s->status = 204;
	assert_int_equal(ping(s, "/" SECRET, 0, &err), PL_OK);
	s->status = 201;
	assert_int_equal(ping(s, "/" SECRET, 0, &err), PL_OK);
	assert_int_equal(s->npaths, 2);
}

static void test_http_error(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};
	char want[256];

	s->status = 404;
	assert_int_equal(ping(s, "/ping/" SECRET, 3, &err), PL_EOUTPUT);
	snprintf(want, sizeof(want), "ping %s (exit 3): HTTP 404", s->base);
	assert_string_equal(err.msg, want);
	s->status = 500;
	assert_int_equal(ping(s, "/ping/" SECRET, PING_START, &err),
			 PL_EOUTPUT);
	snprintf(want, sizeof(want), "ping %s (start): HTTP 500", s->base);
	assert_string_equal(err.msg, want);
}

static void test_redirect_not_followed(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};
	char target[256];

	snprintf(target, sizeof(target), "%s/elsewhere", s->base);
	s->status = 302;
	s->location = target;
	assert_int_equal(ping(s, "/ping/" SECRET, 0, &err), PL_EOUTPUT);
	assert_non_null(strstr(err.msg, "HTTP 302"));
	assert_int_equal(s->npaths, 1);
	assert_origin_only(s, err.msg);
}

static void test_timeout(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};
	struct ping_config cfg = {0};
	char url[256];

	s->delay_ms = 1500;
	snprintf(url, sizeof(url), "%s/ping/" SECRET, s->base);
	cfg.url = url;
	cfg.timeout_ms = 100;
	assert_int_equal(ping_send(&cfg, 0, &err), PL_EOUTPUT);
	assert_non_null(strstr(err.msg, "(exit 0): "));
	/* libcurl's words: "Operation timed out after 100 milliseconds" */
	assert_non_null(strstr(err.msg, "timed out"));
	assert_origin_only(s, err.msg);
}

static void test_refused(void **state)
{
	struct server *s = *state;
	struct pl_err err = {{0}};
	struct ping_config cfg = {0};
	char url[256], origin[192];

	/* the server's port once it is closed: nobody listens there */
	MHD_stop_daemon(s->d);
	s->d = NULL;
	snprintf(url, sizeof(url), "%s/ping/" SECRET, s->base);
	cfg.url = url;
	assert_int_equal(ping_send(&cfg, 2, &err), PL_EOUTPUT);
	snprintf(origin, sizeof(origin), "ping %s (exit 2): ", s->base);
	assert_memory_equal(err.msg, origin, strlen(origin));
	assert_null(strstr(err.msg, SECRET));
}

static void test_origin(void **state)
{
	char o[128];

	ping_url_origin("https://hc-ping.com/" SECRET, o, sizeof(o));
	assert_string_equal(o, "https://hc-ping.com");
	ping_url_origin("https://hc.example.net:8443/ping/" SECRET "/x", o,
			sizeof(o));
	assert_string_equal(o, "https://hc.example.net:8443");
	ping_url_origin("http://[::1]:9/" SECRET, o, sizeof(o));
	assert_string_equal(o, "http://[::1]:9");
	ping_url_origin("https://u:" SECRET "@hc-ping.com/x", o, sizeof(o));
	assert_string_equal(o, "https://hc-ping.com");
	ping_url_origin("hc-ping.com/" SECRET, o, sizeof(o));
	assert_string_equal(o, "(invalid URL)");
	ping_url_origin(NULL, o, sizeof(o));
	assert_string_equal(o, "(invalid URL)");
}

static void test_check_url(void **state)
{
	static const struct {
		const char *url, *msg;
	} bad[] = {
		{"", "--ping-url: empty URL"},
		{"hc-ping.com/" SECRET,
		 "--ping-url: unsupported scheme: use https://"},
		{"http://hc-ping.com/" SECRET,
		 "--ping-url http://hc-ping.com...: refusing plain http:// to "
		 "non-loopback host 'hc-ping.com': use https://"},
		{"ftp://hc-ping.com/" SECRET,
		 "--ping-url ftp://hc-ping.com...: unsupported scheme: use "
		 "https://"},
		{"https://hc-ping.com/" SECRET "?rid=1",
		 "--ping-url https://hc-ping.com...: must not have a query or "
		 "fragment"},
		{"https://hc-ping.com/" SECRET "#x",
		 "--ping-url https://hc-ping.com...: must not have a query or "
		 "fragment"},
		{"https://me:" SECRET "@hc-ping.com/",
		 "--ping-url https://hc-ping.com...: must not carry "
		 "credentials"},
		{"https://hc-ping.com:0/" SECRET,
		 "--ping-url https://hc-ping.com:0...: invalid port: want a "
		 "number from 1 to 65535"},
		{"https://hc-ping.com/" SECRET " x",
		 "--ping-url: invalid character (space, control or "
		 "non-ASCII)"},
	};
	static const char *const good[] = {
		"https://hc-ping.com/" SECRET,
		"https://hc-ping.com/ping-key/qualreport-monthly",
		"HTTPS://HC-PING.COM/" SECRET,
		"http://127.0.0.1:8000/" SECRET,
		"http://localhost/x",
		"http://[::1]:8000/x",
	};
	struct pl_err err;

	for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(ping_check_url(bad[i].url, &err), PL_EUSAGE);
		assert_string_equal(err.msg, bad[i].msg);
	}
	for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(ping_check_url(good[i], &err), PL_OK);

	/* ping_send refuses what the check refuses, without a request */
	{
		struct ping_config cfg = {"http://example.com/" SECRET, NULL,
					  NULL, 0};

		assert_int_equal(ping_send(&cfg, 0, &err), PL_EUSAGE);
		assert_null(strstr(err.msg, SECRET));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_any_2xx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_redirect_not_followed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_check_url),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
