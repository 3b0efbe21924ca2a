/*
 * test_auth.c: tokens from a ready value and from the client-credentials
 * grant, against an in-process libmicrohttpd token endpoint on 127.0.0.1
 * that checks every form field and answers scripted replies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "log.h"

#define TENANT "contoso.onmicrosoft.com"
#define CLIENT_ID "11111111-2222-3333-4444-555555555555"
#define SECRET "Xq8~s3cr3t.V4lue_that_must_never_leak"
#define UA "qualreport-test/1.0"
#define PC_SCOPE "https://api.partnercenter.microsoft.com/.default"

struct script {
	unsigned status;
	const char *body;
};

struct server {
	struct MHD_Daemon *d;
	unsigned short port;
	pthread_mutex_t mu;
	const struct script *replies;
	int nreplies;
	int nreq;
	int bad;            /* requests that broke an expectation */
	char why[512];      /* the first broken expectation */
	const char *client_id;
	const char *secret;
	const char *scope;
};

struct upload {
	char buf[8192];
	size_t len;
	int overflow;
};

static char tmpdir[64];

/* ---- the token endpoint ---- */

static int hexval(int c)
{
	if(c >= '0' && c <= '9')
		return c - '0';
	if(c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if(c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* application/x-www-form-urlencoded value decoding, in place. */
static int form_decode(char *s)
{
	char *o = s;

	for(; *s; s++) {
		if(*s == '+') {
			*o++ = ' ';
		} else if(*s == '%') {
			int hi = hexval(s[1]), lo = hi < 0 ? -1 : hexval(s[2]);

			if(hi < 0 || lo < 0)
				return -1;
			*o++ = (char)(hi * 16 + lo);
			s += 2;
		} else if(*s == '&' || *s == '=' || *s == ' ') {
			return -1;	/* must have been encoded */
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return 0;
}

static void flag(struct server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Record a broken expectation; the first one is kept for the report. */
static void flag(struct server *s, const char *fmt, ...)
{
	va_list ap;

	if(s->bad++)
		return;
	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
}

/* Exactly the four fields, each once, with the expected values. */
static void check_form(struct server *s, char *body)
{
	static const char *const names[] = {"grant_type", "client_id",
					    "client_secret", "scope"};
	const char *want[4] = {"client_credentials", s->client_id, s->secret,
			       s->scope};
	int seen[4] = {0};
	char *save = NULL, *pair, *eq;

	for(pair = strtok_r(body, "&", &save); pair;
	    pair = strtok_r(NULL, "&", &save)) {
		int i;

		eq = strchr(pair, '=');
		if(!eq) {
			flag(s, "field without '=': %s", pair);
			continue;
		}
		*eq = '\0';
		if(form_decode(pair) || form_decode(eq + 1)) {
			flag(s, "badly encoded field %s", pair);
			continue;
		}
		for(i = 0; i < 4; i++)
			if(!strcmp(pair, names[i]))
				break;
		if(i == 4 || seen[i]++) {
			flag(s, "unexpected or repeated field %s", pair);
			continue;
		}
		if(strcmp(eq + 1, want[i]))
			flag(s, "field has %s, expected %s", eq + 1, want[i]);
	}
	for(int i = 0; i < 4; i++)
		if(!seen[i])
			flag(s, "missing field %s", names[i]);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *data,
				  size_t *data_size, void **con_cls)
{
	struct server *s = cls;
	struct upload *up = *con_cls;
	struct MHD_Response *resp;
	const struct script *r;
	const char *v;
	enum MHD_Result ret;

	if(!up) {
		up = calloc(1, sizeof(*up));
		if(!up)
			return MHD_NO;
		*con_cls = up;
		return MHD_YES;
	}
	if(*data_size) {
		if(*data_size >= sizeof(up->buf) - up->len)
			up->overflow = 1;
		else
			memcpy(up->buf + up->len, data, *data_size);
		up->len += up->overflow ? 0 : *data_size;
		*data_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->mu);
	r = &s->replies[s->nreq < s->nreplies ? s->nreq : s->nreplies - 1];
	s->nreq++;
	if(strcmp(method, "POST"))
		flag(s, "method %s", method);
	if(strcmp(url, "/" TENANT "/oauth2/v2.0/token"))
		flag(s, "path %s", url);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	if(!v || strcmp(v, "application/x-www-form-urlencoded"))
		flag(s, "content type %s", v ? v : "(none)");
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "User-Agent");
	if(!v || strcmp(v, UA))
		flag(s, "user agent %s", v ? v : "(none)");
	if(up->overflow)
		flag(s, "body too large");
	else
		check_form(s, up->buf);
	pthread_mutex_unlock(&s->mu);

	resp = MHD_create_response_from_buffer(strlen(r->body),
					       (void *)r->body,
					       MHD_RESPMEM_MUST_COPY);
	if(!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type",
				"application/json; charset=utf-8");
	ret = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void server_start(struct server *s, const struct script *replies,
			 int nreplies)
{
	struct sockaddr_in sin;
	const union MHD_DaemonInfo *info;

	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->replies = replies;
	s->nreplies = nreplies;
	s->client_id = CLIENT_ID;
	s->secret = SECRET;
	s->scope = PC_SCOPE;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
				NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sin,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed,
				NULL, MHD_OPTION_END);
	assert_non_null(s->d);
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	assert_non_null(info);
	s->port = info->port;
	assert_true(s->port > 0);
}

static int server_requests(struct server *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Stops the daemon and fails the test if any request broke a rule. */
static void server_stop(struct server *s)
{
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	if(s->bad)
		fail_msg("token server: %d bad request(s): %s", s->bad,
			 s->why);
}

/* ---- helpers ---- */

static void app_config(struct auth_config *cfg, char *authority,
		       size_t authsz, unsigned short port)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(authority, authsz, "http://127.0.0.1:%u", port);
	cfg->authority = authority;
	cfg->tenant = TENANT;
	cfg->client_id = CLIENT_ID;
	cfg->client_secret = SECRET;
	cfg->user_agent = UA;
	cfg->timeout_ms = 5000;
}

static void token_url(char *out, size_t outsz, unsigned short port)
{
	snprintf(out, outsz,
		 "http://127.0.0.1:%u/" TENANT "/oauth2/v2.0/token", port);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while(nanosleep(&ts, &ts))
		;
}

static void assert_no_secret(const char *text)
{
	if(strstr(text, SECRET))
		fail_msg("secret leaked into: %s", text);
}

/* Runs one auth_token call against a server answering `reply` once and
 * returns its status; err gets the message. */
static enum pl_status one_fetch(const struct script *reply,
				struct pl_err *err, char *url, size_t urlsz)
{
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	char authority[64];
	const char *tok = "untouched";
	enum pl_status st;

	server_start(&s, reply, 1);
	app_config(&cfg, authority, sizeof(authority), s.port);
	token_url(url, urlsz, s.port);
	assert_int_equal(auth_new(&cfg, &a, err), PL_OK);
	err->msg[0] = '\0';
	st = auth_token(a, &tok, err);
	if(st)
		assert_null(tok);
	assert_int_equal(server_requests(&s), 1);
	assert_int_equal(auth_generation(a), st ? 0 : 1);
	auth_free(a);
	server_stop(&s);
	assert_no_secret(err->msg);
	return st;
}

/* Capture what the library writes on stderr between begin and end. */
static int saved_stderr = -1;

static void capture_begin(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static void capture_end(const char *path, char *out, size_t outsz)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	saved_stderr = -1;
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(out, 1, outsz - 1, f);
	out[n] = '\0';
	fclose(f);
	unlink(path);
}

static void write_file(const char *path, const char *data, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* ---- grants that succeed ---- */

static void test_v2_reply(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"ext_expires_in\":3599,"
		      "\"access_token\":\"eyJ0eXAi.v2-token.sig\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 1);
	app_config(&cfg, authority, sizeof(authority), s.port);
	/* A trailing slash on the authority must not double the path's. */
	strcat(authority, "/");
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_is_renewable(a), 1);
	assert_int_equal(auth_generation(a), 0);
	assert_int_equal(server_requests(&s), 0);

	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "eyJ0eXAi.v2-token.sig");
	assert_int_equal(auth_generation(a), 1);
	assert_int_equal(server_requests(&s), 1);
	/* 3599 s to go: the same token, no new request. */
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "eyJ0eXAi.v2-token.sig");
	assert_int_equal(auth_generation(a), 1);
	assert_int_equal(server_requests(&s), 1);
	auth_free(a);
	server_stop(&s);
}

static void test_v1_string_expires_in(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"bearer\",\"expires_in\":\"3600\","
		      "\"ext_expires_in\":\"3600\","
		      "\"expires_on\":\"1546469802\","
		      "\"not_before\":\"1546465902\","
		      "\"resource\":"
		      "\"https://api.partnercenter.microsoft.com\","
		      "\"access_token\":\"v1-token\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 1);
	app_config(&cfg, authority, sizeof(authority), s.port);
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "v1-token");
	/* "3600" was read as an hour, not as 0: no renewal yet. */
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "v1-token");
	assert_int_equal(auth_generation(a), 1);
	assert_int_equal(server_requests(&s), 1);
	auth_free(a);
	server_stop(&s);
}

static void test_special_characters_encoded(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok\"}"},
	};
	static const char secret[] = "a&b=c+d %e/f?g#h~i\"j'k";
	static const char client_id[] = "app+id&x=1";
	static const char scope[] = "https://example.test/.default other";
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 1);
	s.secret = secret;
	s.client_id = client_id;
	s.scope = scope;
	app_config(&cfg, authority, sizeof(authority), s.port);
	cfg.client_secret = secret;
	cfg.client_id = client_id;
	cfg.scope = scope;
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok");
	assert_int_equal(server_requests(&s), 1);
	auth_free(a);
	server_stop(&s);	/* fails unless the server decoded all four */
}

/* ---- renewal ---- */

static void test_short_ttl_renews(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":2,"
		      "\"access_token\":\"tok-1\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3600,"
		      "\"access_token\":\"tok-2\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 2);
	app_config(&cfg, authority, sizeof(authority), s.port);
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	/* Half of 2 s has not passed yet. */
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	assert_int_equal(server_requests(&s), 1);
	sleep_ms(1100);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-2");
	assert_int_equal(auth_generation(a), 2);
	assert_int_equal(server_requests(&s), 2);
	auth_free(a);
	server_stop(&s);
}

/*
 * The renewal fails while the old token is still valid: keep it, do not
 * ask again for a while; once it has expired, fail.
 */
static void test_failed_renewal_keeps_valid_token(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":2,"
		      "\"access_token\":\"tok-1\"}"},
		{503, "{\"error\":\"temporarily_unavailable\","
		      "\"error_description\":\"try later\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64], logpath[128], logged[2048], want[512];
	const char *tok = NULL;

	server_start(&s, replies, 2);
	app_config(&cfg, authority, sizeof(authority), s.port);
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	sleep_ms(1100);

	snprintf(logpath, sizeof(logpath), "%s/stderr", tmpdir);
	capture_begin(logpath);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	capture_end(logpath, logged, sizeof(logged));
	assert_string_equal(tok, "tok-1");
	assert_int_equal(auth_generation(a), 1);
	assert_int_equal(server_requests(&s), 2);
	snprintf(want, sizeof(want),
		 "qualreport: warning: cannot renew the token yet, the "
		 "current one is valid for 1 s more: token request for "
		 "client " CLIENT_ID " at %s/" TENANT " failed: HTTP 503 "
		 "temporarily_unavailable: try later\n", authority);
	assert_string_equal(logged, want);
	assert_no_secret(logged);
	/* Backing off: no request right after a failure. */
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	assert_int_equal(server_requests(&s), 2);

	sleep_ms(1000);		/* now past the 2 s lifetime */
	tok = "untouched";
	assert_int_equal(auth_token(a, &tok, &err), PL_EAUTH);
	assert_null(tok);
	assert_int_equal(server_requests(&s), 3);
	snprintf(want, sizeof(want),
		 "token request for client " CLIENT_ID " at %s/" TENANT
		 " failed: HTTP 503 temporarily_unavailable: try later",
		 authority);
	assert_string_equal(err.msg, want);
	auth_free(a);
	server_stop(&s);
}

static void test_renew_after_401(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok-1\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok-2\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok-3\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 3);
	app_config(&cfg, authority, sizeof(authority), s.port);
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	assert_int_equal(auth_generation(a), 1);

	/* A stale generation: already renewed, nothing to do. */
	assert_int_equal(auth_renew_after_401(a, 0, &err), PL_OK);
	assert_int_equal(server_requests(&s), 1);
	assert_int_equal(auth_generation(a), 1);

	/* The current generation: one request, generation + 1. */
	assert_int_equal(auth_renew_after_401(a, 1, &err), PL_OK);
	assert_int_equal(server_requests(&s), 2);
	assert_int_equal(auth_generation(a), 2);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-2");
	assert_int_equal(server_requests(&s), 2);

	/* Other requests that failed with generation 1 just retry. */
	assert_int_equal(auth_renew_after_401(a, 1, &err), PL_OK);
	assert_int_equal(server_requests(&s), 2);

	/* 401 again with the renewed token: give up. */
	assert_int_equal(auth_renew_after_401(a, 2, &err), PL_EAUTH);
	assert_string_equal(err.msg,
			    "the API still answers 401 after renewing the "
			    "token for client " CLIENT_ID ": check that the "
			    "app is consented for Partner Center");
	assert_int_equal(server_requests(&s), 2);
	assert_int_equal(auth_generation(a), 2);
	auth_free(a);
	server_stop(&s);
}

/* A token renewed by the clock after a 401 renewal may be renewed on a
 * 401 again: the limit is per generation. */
static void test_401_limit_is_per_generation(void **state)
{
	static const struct script replies[] = {
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":2,"
		      "\"access_token\":\"tok-1\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":2,"
		      "\"access_token\":\"tok-2\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok-3\"}"},
		{200, "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
		      "\"access_token\":\"tok-4\"}"},
	};
	struct server s;
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	const char *tok = NULL;

	server_start(&s, replies, 4);
	app_config(&cfg, authority, sizeof(authority), s.port);
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-1");
	assert_int_equal(auth_renew_after_401(a, 1, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-2");
	sleep_ms(1100);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-3");
	assert_int_equal(auth_generation(a), 3);
	assert_int_equal(auth_renew_after_401(a, 3, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "tok-4");
	assert_int_equal(auth_generation(a), 4);
	assert_int_equal(server_requests(&s), 4);
	auth_free(a);
	server_stop(&s);
}

/* ---- grants that fail ---- */

static void test_invalid_client(void **state)
{
	static const struct script reply = {
		401, "{\"error\":\"invalid_client\",\"error_description\":"
		     "\"AADSTS7000215: Invalid client secret provided.\","
		     "\"error_codes\":[7000215],"
		     "\"timestamp\":\"2024-01-01 00:00:00Z\","
		     "\"trace_id\":\"0b3f-trace\","
		     "\"correlation_id\":\"7c2e-corr\"}"};
	struct pl_err err = {""};
	char url[128], want[512];
	unsigned short port;

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	assert_int_equal(sscanf(url, "http://127.0.0.1:%hu/", &port), 1);
	/* What to do, then the platform's code and IDs (its description is
	 * logged on a line of its own). */
	(void)port;
	snprintf(want, sizeof(want),
		 "the client secret of client " CLIENT_ID " was refused "
		 "(mistyped, or expired in the app registration): put the "
		 "current one in PARTNER_CENTER_CLIENT_SECRET or "
		 "--client-secret-file (AADSTS7000215 invalid_client, trace "
		 "ID 0b3f-trace, correlation ID 7c2e-corr)");
	assert_string_equal(err.msg, want);
}

/* Control characters go, an echoed secret is redacted, the description is
 * cut at 200 characters and at its first line break (the platform's
 * further lines repeat the trace and correlation IDs). */
static void test_error_description_cleaned(void **state)
{
	static const char z250[] =
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
		"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz";
	static char body[1024];
	static const char kept[] =
		"AADSTS900144: line one line two [redacted] ";
	struct script reply = {400, body};
	struct pl_err err = {""};
	char url[128], want[768], desc[512];
	unsigned short port;
	size_t nz = 200 - strlen(kept);

	snprintf(body, sizeof(body),
		 "{\"error\":\"invalid_request\",\"error_description\":"
		 "\"AADSTS900144: line one\\t\\tline two " SECRET
		 " %s\\r\\nTrace ID: x\"}", z250);
	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	assert_int_equal(sscanf(url, "http://127.0.0.1:%hu/", &port), 1);
	snprintf(desc, sizeof(desc), "%s%.*s...", kept, (int)nz, z250);
	assert_int_equal(strlen(desc), 203);
	snprintf(want, sizeof(want),
		 "token request for client " CLIENT_ID " at "
		 "http://127.0.0.1:%u/" TENANT " failed: HTTP 400 "
		 "invalid_request: %s", port, desc);
	assert_string_equal(err.msg, want);
}

static void test_server_error(void **state)
{
	static const struct script reply = {
		500, "<html><body>Internal Server Error</body></html>"};
	struct pl_err err = {""};
	char url[128], want[512];
	unsigned short port;

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	assert_int_equal(sscanf(url, "http://127.0.0.1:%hu/", &port), 1);
	snprintf(want, sizeof(want),
		 "token request for client " CLIENT_ID " at "
		 "http://127.0.0.1:%u/" TENANT " failed: HTTP 500", port);
	assert_string_equal(err.msg, want);
}

static void test_garbage_json(void **state)
{
	static const struct script reply = {200, "{\"access_token\": tok"};
	struct pl_err err = {""};
	char url[128], want[256];

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	snprintf(want, sizeof(want), "token endpoint %s sent an invalid "
		 "reply: not JSON: boolean expected at byte 18", url);
	assert_string_equal(err.msg, want);
}

static void test_missing_access_token(void **state)
{
	static const struct script reply = {
		200, "{\"token_type\":\"Bearer\",\"expires_in\":3599}"};
	struct pl_err err = {""};
	char url[128], want[256];

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	snprintf(want, sizeof(want), "token endpoint %s sent no access_token",
		 url);
	assert_string_equal(err.msg, want);
}

static void test_token_type_mac(void **state)
{
	static const struct script reply = {
		200, "{\"token_type\":\"mac\",\"expires_in\":3599,"
		     "\"access_token\":\"tok\"}"};
	struct pl_err err = {""};
	char url[128], want[256];

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	snprintf(want, sizeof(want),
		 "token endpoint %s sent token_type mac, not Bearer", url);
	assert_string_equal(err.msg, want);
}

static void test_bad_expires_in(void **state)
{
	static const struct script reply = {
		200, "{\"token_type\":\"Bearer\",\"expires_in\":\"36s\","
		     "\"access_token\":\"tok\"}"};
	struct pl_err err = {""};
	char url[128], want[256];

	assert_int_equal(one_fetch(&reply, &err, url, sizeof(url)), PL_EAUTH);
	snprintf(want, sizeof(want),
		 "token endpoint %s sent an invalid reply: expires_in is a "
		 "string that is not a whole number of seconds", url);
	assert_string_equal(err.msg, want);
}

static void test_unreachable(void **state)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64], prefix[160];
	const char *tok = "untouched";
	int fd;

	/* A port that was free a moment ago and has no listener. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);

	app_config(&cfg, authority, sizeof(authority), ntohs(sin.sin_port));
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_token(a, &tok, &err), PL_EAUTH);
	assert_null(tok);
	snprintf(prefix, sizeof(prefix),
		 "cannot reach http://127.0.0.1:%u/" TENANT
		 "/oauth2/v2.0/token: ", ntohs(sin.sin_port));
	assert_memory_equal(err.msg, prefix, strlen(prefix));
	assert_true(strlen(err.msg) > strlen(prefix));
	assert_no_secret(err.msg);
	assert_int_equal(auth_generation(a), 0);
	auth_free(a);
}

/* ---- configuration ---- */

static void test_ready_token(void **state)
{
	char token[] = "eyJ0eXAiOiJKV1Qi.ready.token-_~+/=";
	struct auth_config cfg = {.token = token,
				  .client_secret = "ignored"};
	struct auth *a = NULL;
	struct pl_err err = {""};
	const char *tok = NULL;

	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	assert_int_equal(auth_is_renewable(a), 0);
	assert_int_equal(auth_generation(a), 1);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "eyJ0eXAiOiJKV1Qi.ready.token-_~+/=");
	/* A copy: the caller may wipe its own right away. */
	assert_ptr_not_equal(tok, token);
	memset(token, 'x', sizeof(token) - 1);
	assert_int_equal(auth_token(a, &tok, &err), PL_OK);
	assert_string_equal(tok, "eyJ0eXAiOiJKV1Qi.ready.token-_~+/=");

	assert_int_equal(auth_renew_after_401(a, 0, &err), PL_OK);
	assert_int_equal(auth_renew_after_401(a, 1, &err), PL_EAUTH);
	assert_string_equal(err.msg,
			    "the API refused the token (401): "
			    "PARTNER_CENTER_TOKEN / --token-file token is "
			    "invalid or expired");
	assert_int_equal(auth_generation(a), 1);
	auth_free(a);
	auth_free(NULL);

	cfg.token = "two words";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_null(a);
	assert_string_equal(err.msg, "the token is empty or contains spaces "
			    "or control characters");
	cfg.token = "";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_null(a);
}

static void test_config_checks(void **state)
{
	struct auth_config cfg;
	struct auth *a = NULL;
	struct pl_err err = {""};
	char authority[64];
	static const char *const allowed[] = {
		"http://localhost:8080", "http://127.0.0.1:1",
		"http://127.10.20.30", "http://[::1]:9",
		"http://localhost.:8080",
		"https://login.example.com",
		"https://login.microsoftonline.com/", NULL};
	static const char *const refused[] = {
		"http://login.example.com", "http://127.0.0.1.nip.io",
		"http://10.0.0.1", NULL};

	app_config(&cfg, authority, sizeof(authority), 1);
	for(int i = 0; allowed[i]; i++) {
		cfg.authority = allowed[i];
		assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
		assert_non_null(a);
		auth_free(a);
	}
	cfg.authority = NULL;	/* the default, https */
	assert_int_equal(auth_new(&cfg, &a, &err), PL_OK);
	auth_free(a);
	for(int i = 0; refused[i]; i++) {
		char want[256];

		cfg.authority = refused[i];
		assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
		assert_null(a);
		snprintf(want, sizeof(want),
			 "--authority '%s': refusing plain http:// to "
			 "non-loopback host '%s': use https://", refused[i],
			 refused[i] + strlen("http://"));
		assert_string_equal(err.msg, want);
	}
	cfg.authority = "ftp://login.example.com";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_string_equal(err.msg, "--authority 'ftp://login.example.com': "
			    "unsupported scheme: use https://");
	cfg.authority = "https://login.example.com/?x=1";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	cfg.authority = "http://127.0.0.1:99999";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_string_equal(err.msg, "--authority 'http://127.0.0.1:99999': "
			    "invalid port: want a number from 1 to 65535");

	cfg.authority = NULL;
	cfg.tenant = "../evil";
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_string_equal(err.msg, "invalid tenant ../evil: expected a "
			    "tenant ID or a domain name");
	cfg.tenant = TENANT;
	cfg.client_secret = NULL;
	assert_int_equal(auth_new(&cfg, &a, &err), PL_EUSAGE);
	assert_string_equal(err.msg, "app credentials need a tenant, a "
			    "client ID and a client secret or certificate");
	assert_null(a);
}

/* ---- secret files ---- */

static char *read_ok(const char *name, const char *data, size_t len)
{
	char path[128];
	char *out = NULL;
	struct pl_err err = {""};

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, data, len, 0600);
	assert_int_equal(auth_read_secret_file(path, &out, &err), PL_OK);
	unlink(path);
	return out;
}

static void read_fails(const char *name, const char *data, size_t len,
		       const char *why)
{
	char path[128], want[256];
	char *out = (char *)"untouched";
	struct pl_err err = {""};

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	write_file(path, data, len, 0600);
	assert_int_equal(auth_read_secret_file(path, &out, &err), PL_EUSAGE);
	assert_null(out);
	snprintf(want, sizeof(want), "%s: %s", path, why);
	assert_string_equal(err.msg, want);
	unlink(path);
}

static void test_read_secret_file(void **state)
{
	static const struct {
		const char *data;
		const char *want;
	} cases[] = {
		{"s3cret", "s3cret"},
		{"s3cret\n", "s3cret"},
		{"s3cret\r\n", "s3cret"},
		{"s3cret \t\r\nsecond line\n", "s3cret"},
		{"  lead stays\n", "  lead stays"},
		{"\xef\xbb\xbf" "bom-secret\n", "bom-secret"},
	};
	char path[128], want[256], logpath[128], logged[512];
	char *out;
	struct pl_err err = {""};
	char *big;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out = read_ok("s", cases[i].data, strlen(cases[i].data));
		assert_string_equal(out, cases[i].want);
		free(out);
	}
	read_fails("empty", "", 0, "file is empty");
	read_fails("blank", "\r\n \n", 4, "file is empty");
	read_fails("first", "\nsecret\n", 8, "the first line is empty");
	read_fails("nul", "ab\0cd\n", 6, "the first line contains a NUL byte");

	/* Exactly 64 KiB without a newline is fine; one byte more is not. */
	big = malloc(64 * 1024 + 1);
	assert_non_null(big);
	memset(big, 'k', 64 * 1024 + 1);
	out = read_ok("big", big, 64 * 1024);
	assert_int_equal(strlen(out), 64 * 1024);
	free(out);
	read_fails("huge", big, 64 * 1024 + 1,
		   "the first line is longer than 64 KiB");
	free(big);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	out = (char *)"untouched";
	assert_int_equal(auth_read_secret_file(path, &out, &err), PL_EUSAGE);
	assert_null(out);
	snprintf(want, sizeof(want),
		 "cannot read %s: No such file or directory", path);
	assert_string_equal(err.msg, want);

	/* Readable by others: used, with a warning. */
	snprintf(path, sizeof(path), "%s/open", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/stderr", tmpdir);
	write_file(path, "shared\n", 7, 0644);
	capture_begin(logpath);
	assert_int_equal(auth_read_secret_file(path, &out, &err), PL_OK);
	capture_end(logpath, logged, sizeof(logged));
	assert_string_equal(out, "shared");
	free(out);
	snprintf(want, sizeof(want), "qualreport: warning: secret file %s is "
		 "readable by other users\n", path);
	assert_string_equal(logged, want);
	/* Private: silent. */
	assert_int_equal(chmod(path, 0400), 0);
	capture_begin(logpath);
	assert_int_equal(auth_read_secret_file(path, &out, &err), PL_OK);
	capture_end(logpath, logged, sizeof(logged));
	assert_string_equal(out, "shared");
	assert_string_equal(logged, "");
	free(out);
	unlink(path);
}

/* ---- fixtures ---- */

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_auth.XXXXXX");
	if(!mkdtemp(tmpdir))
		return -1;
	/* Talk to 127.0.0.1 directly even where a proxy is configured. */
	setenv("NO_PROXY", "127.0.0.1,localhost,::1", 1);
	setenv("no_proxy", "127.0.0.1,localhost,::1", 1);
	log_setup(LOG_WARN, LOG_TEXT);
	return 0;
}

static int group_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[PATH_MAX];

	while(d && (e = readdir(d))) {
		if(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	if(d)
		closedir(d);
	return rmdir(tmpdir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_reply),
		cmocka_unit_test(test_v1_string_expires_in),
		cmocka_unit_test(test_special_characters_encoded),
		cmocka_unit_test(test_short_ttl_renews),
		cmocka_unit_test(test_failed_renewal_keeps_valid_token),
		cmocka_unit_test(test_renew_after_401),
		cmocka_unit_test(test_401_limit_is_per_generation),
		cmocka_unit_test(test_invalid_client),
		cmocka_unit_test(test_error_description_cleaned),
		cmocka_unit_test(test_server_error),
		cmocka_unit_test(test_garbage_json),
		cmocka_unit_test(test_missing_access_token),
		cmocka_unit_test(test_token_type_mac),
		cmocka_unit_test(test_bad_expires_in),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_ready_token),
		cmocka_unit_test(test_config_checks),
		cmocka_unit_test(test_read_secret_file),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
