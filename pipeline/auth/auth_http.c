#include "auth_http.h"

#include <string.h>

#include <curl/curl.h>

#include "httpopt.h"
#include "now.h"
#include "url_check.h"

#define DEFAULT_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L

enum pl_status auth_http_form_add(struct buf *form, const char *name,
				  const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	enum pl_status st = PL_OK;

	if(form->len)
		st = buf_addch(form, '&');
	if(!st)
		st = buf_addstr(form, name);
	if(!st)
		st = buf_addch(form, '=');
	for(const unsigned char *p = (const unsigned char *)value;
	    !st && *p; p++) {
		if((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		   (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' ||
		   *p == '_' || *p == '~') {
			st = buf_addch(form, (char)*p);
		} else {
			char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};

			st = buf_add(form, esc, 3);
		}
	}
	return st;
}

enum pl_status auth_http_check_url(const char *url, struct pl_err *err)
{
	return url_check(url, "--authority", err);
}

struct sink {
	struct buf *reply;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	enum pl_status st = buf_add(s->reply, ptr, n);

	if(st == PL_ELIMIT)
		s->too_big = true;
	return st ? 0 : n;
}

enum pl_status auth_http_post(const struct auth_http *o, const char *url,
			      const struct buf *form, long *status,
			      struct buf *reply, int64_t *started_ms,
			      struct pl_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		/* No "Expect: 100-continue" round trip for a small body. */
		"Expect:",
	};
	struct sink sink = {reply, false};
	struct curl_slist *hdrs = NULL, *more;
	char curlerr[CURL_ERROR_SIZE];
	CURL *h;
	CURLcode cc;
	enum pl_status st = PL_OK;

	*status = 0;
	buf_reset(reply);
	reply->limit = AUTH_HTTP_REPLY_MAX;
	h = curl_easy_init();
	if(!h)
		return pl_fail(err, PL_ENOMEM, "cannot create a curl handle");
	for(size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		more = curl_slist_append(hdrs, headers[i]);
		if(!more) {
			st = pl_fail(err, PL_ENOMEM, "out of memory");
			goto out;
		}
		hdrs = more;
	}
	curlerr[0] = '\0';
	st = httpopt_harden(h, &(struct httpopt){o->cacert, o->user_agent},
			    err);
	if(st)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, form->data);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)form->len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ?
			 o->timeout_ms : DEFAULT_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);

	*started_ms = now_mono_ms();
	cc = curl_easy_perform(h);
	if(cc != CURLE_OK) {
		if(sink.too_big)
			st = pl_fail(err, PL_EAUTH, "token endpoint %s sent a "
				     "reply larger than %d KiB", url,
				     AUTH_HTTP_REPLY_MAX / 1024);
		else
			st = pl_fail(err, PL_EAUTH, "cannot reach %s: %s", url,
				     curlerr[0] ? curlerr :
				     curl_easy_strerror(cc));
		buf_reset(reply);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return st;
}
