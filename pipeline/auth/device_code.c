#include "device_code.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "now.h"
#include "refresh_file.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define DEFAULT_INTERVAL_S 5
#define DEFAULT_EXPIRES_S 900
#define SLOW_DOWN_S 5
/* Polls that get no answer at all before the flow gives up. */
#define MAX_TRANSPORT_FAILURES 3
#define TEXT_MAX 512

/* Sleep ms milliseconds in short steps, watching stop. Timed in
 * microseconds: whole milliseconds, truncated, could end the wait up to
 * a millisecond before the interval RFC 8628 says a client must keep
 * between polls, and a strict platform answers such a poll slow_down. */
static bool wait_ms(int64_t ms, volatile sig_atomic_t *stop)
{
	int64_t until = now_mono_us() + ms * 1000;

	for(;;) {
		int64_t left = until - now_mono_us();
		struct timespec ts;

		if(stop && *stop)
			return false;
		if(left <= 0)
			return true;
		if(left > 100000)
			left = 100000;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000L;
		nanosleep(&ts, NULL);
	}
}

/* Ask for a device code; r holds the reply. */
static enum pl_status start(const struct grant_client *c, const char *scope,
			    struct token_response *r, struct pl_err *err)
{
	struct grant_form f;
	struct buf url = BUF_INIT, reply;
	struct pl_err why = {{0}};
	int64_t started;
	long status = 0;
	enum pl_status st, pst;

	grant_form_init(&f);
	buf_init_secret(&reply, AUTH_HTTP_REPLY_MAX);
	if(grant_devicecode_url(c, &url)) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	st = grant_form_add(&f, "client_id", c->client_id, err);
	if(!st)
		st = grant_form_add(&f, "scope", scope, err);
	if(!st)
		st = auth_http_post(&c->http, url.data, &f.body, &status,
				    &reply, &started, err);
	if(st)
		goto out;
	pst = token_response_parse(r, reply.data, reply.len, &why);
	if(status != 200) {
		st = grant_refusal(c, url.data, &f, NULL, status, r, err);
		goto out;
	}
	if(pst)
		st = pl_fail(err, PL_EAUTH, "device-code endpoint %s sent an "
			     "invalid reply: %s", url.data, why.msg);
	else if(!r->device_code.len || !r->user_code || !r->verification_uri)
		st = pl_fail(err, PL_EAUTH, "device-code endpoint %s sent no "
			     "device_code, user_code or verification_uri",
			     url.data);
out:
	buf_release(&url);
	buf_release(&reply);
	grant_form_release(&f);
	return st;
}

/* One poll. PL_OK with tokens in r; PL_EAUTH with r->error telling
 * pending/slow_down from the rest; other statuses as grant_request. */
static enum pl_status poll_once(const struct grant_client *c, const char *url,
				const char *device_code,
				const struct grant_what *what,
				struct token_response *r, struct pl_err *err)
{
	struct grant_form f;
	int64_t started;
	long status = 0;
	enum pl_status st;

	grant_form_init(&f);
	st = grant_form_add(&f, "grant_type", DEVICE_GRANT, err);
	if(!st)
		st = grant_add_client(c, url, now_wall_ms() / 1000, &f, err);
	if(!st)
		st = grant_form_add_secret(&f, "device_code", device_code, err);
	if(!st)
		st = grant_request(c, url, &f, what, r, &status, &started,
				   err);
	if(st && status == 0 && st == PL_EAUTH)
		st = PL_EINTERNAL; /* no answer: marks a transport failure */
	grant_form_release(&f);
	return st;
}

static bool is_error(const struct token_response *r, const char *e)
{
	return r->error && !strcmp(r->error, e);
}

static enum pl_status store(const struct grant_client *c, const char *path,
			    const struct token_response *r,
			    struct pl_err *err)
{
	struct refresh_file *f = NULL;
	enum pl_status st;

	if(!r->refresh_token.len)
		return pl_fail(err, PL_EAUTH, "signed in, but the identity "
			       "platform sent no refresh token: the app must "
			       "be allowed offline_access");
	st = refresh_file_open(path, true, 0, &f, err);
	if(!st)
		st = refresh_file_replace(f, r->refresh_token.data,
					  r->refresh_token.len, c->client_id,
					  c->tenant, now_wall_ms() / 1000, err);
	refresh_file_close(f);
	return st;
}

enum pl_status device_code_login(const struct grant_client *c,
				 const char *scope, const char *path,
				 const struct device_code_prompt *prompt,
				 volatile sig_atomic_t *stop,
				 struct pl_err *err)
{
	struct token_response dc, r;
	struct grant_what what = {"the sign-in", NULL};
	struct buf url = BUF_INIT;
	char uri[TEXT_MAX], code[TEXT_MAX];
	int64_t deadline, interval_ms;
	long expires;
	unsigned failures = 0;
	enum pl_status st;

	st = refresh_file_check_writable(path, err);
	if(st)
		return st;
	token_response_init(&dc);
	token_response_init(&r);
	if(grant_token_url(c, &url)) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	st = start(c, scope, &dc, err);
	if(st)
		goto out;
	expires = dc.expires_in > 0 ? dc.expires_in : DEFAULT_EXPIRES_S;
	interval_ms = (dc.interval > 0 ? dc.interval : DEFAULT_INTERVAL_S) *
		      1000LL;
	deadline = now_mono_ms() + (int64_t)expires * 1000;
	grant_clean_text(uri, sizeof(uri), dc.verification_uri, 256, true,
			 NULL, 0);
	grant_clean_text(code, sizeof(code), dc.user_code, 64, true, NULL, 0);
	prompt->show(prompt->ctx, uri, code, expires);
	for(;;) {
		if(!wait_ms(interval_ms, stop)) {
			st = pl_fail(err, PL_EINTERRUPTED, "sign-in "
				     "interrupted: nothing was written to %s",
				     path);
			goto out;
		}
		if(now_mono_ms() >= deadline) {
			st = pl_fail(err, PL_EAUTH, "the sign-in code expired "
				     "after %ld s before the sign-in was "
				     "completed: run qualreport login again",
				     expires);
			goto out;
		}
		st = poll_once(c, url.data, dc.device_code.data, &what, &r,
			       err);
		if(!st)
			break;
		if(st == PL_EINTERNAL) {
			if(++failures >= MAX_TRANSPORT_FAILURES) {
				st = PL_EAUTH;
				goto out;
			}
			log_warn("%s; trying again", err->msg);
			continue;
		}
		failures = 0;
		if(st != PL_EAUTH)
			goto out;
		if(is_error(&r, "authorization_pending"))
			continue;
		if(is_error(&r, "slow_down")) {
			interval_ms += SLOW_DOWN_S * 1000;
			log_debug("slow_down: polling every %lld s now",
				  (long long)(interval_ms / 1000));
			continue;
		}
		if(is_error(&r, "expired_token")) {
			st = pl_fail(err, PL_EAUTH, "the sign-in code expired "
				     "before the sign-in was completed: run "
				     "qualreport login again");
		} else if(is_error(&r, "authorization_declined") ||
			  is_error(&r, "access_denied")) {
			st = pl_fail(err, PL_EAUTH, "the sign-in was declined: "
				     "nothing was written to %s", path);
		}
		goto out;
	}
	st = store(c, path, &r, err);
out:
	buf_release(&url);
	token_response_release(&dc);
	token_response_release(&r);
	return st;
}
