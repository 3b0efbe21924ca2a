#include "ping.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "httpopt.h"
#include "url_check.h"

/* Split url with libcurl's parser, for the origin only (url_check()
 * decides what may be pinged). false when it has no scheme and host. */
static bool origin_parts(const char *url, char **scheme, char **host,
			 char **port)
{
	CURLU *u = curl_url();
	bool ok;

	*scheme = *host = *port = NULL;
	if(!u)
		return false;
	ok = !curl_url_set(u, CURLUPART_URL, url, 0) &&
	     !curl_url_get(u, CURLUPART_SCHEME, scheme, 0) &&
	     !curl_url_get(u, CURLUPART_HOST, host, 0);
	if(ok)
		curl_url_get(u, CURLUPART_PORT, port, 0); /* absent: NULL */
	curl_url_cleanup(u);
	return ok;
}

void ping_url_origin(const char *url, char *out, size_t len)
{
	char *scheme = NULL, *host = NULL, *port = NULL;

	if(url && origin_parts(url, &scheme, &host, &port))
		snprintf(out, len, "%s://%s%s%s", scheme, host,
			 port ? ":" : "", port ? port : "");
	else
		snprintf(out, len, "(invalid URL)");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
}

/*
 * url_check()'s rule, the API's; its messages quote the whole URL
 * ("--ping-url 'URL': reason"), so the reason is kept and the URL cut
 * down to its origin.
 */
enum pl_status ping_check_url(const char *url, struct pl_err *err)
{
	struct pl_err inner = {{0}};
	char origin[256], prefix[PL_ERR_MAX];
	const char *reason;

	if(!url_check(url, "--ping-url", &inner))
		return PL_OK;
	if(!url || !*url)
		return pl_fail(err, PL_EUSAGE, "--ping-url: empty URL");
	snprintf(prefix, sizeof(prefix), "--ping-url '%s': ", url);
	reason = !strncmp(inner.msg, prefix, strlen(prefix))
		 ? inner.msg + strlen(prefix)
		 : "not a URL qualreport can send to";
	ping_url_origin(url, origin, sizeof(origin));
	if(!strcmp(origin, "(invalid URL)"))
		return pl_fail(err, PL_EUSAGE, "--ping-url: %s", reason);
	return pl_fail(err, PL_EUSAGE, "--ping-url %s...: %s", origin,
		       reason);
}

static size_t discard(char *data, size_t size, size_t n, void *ctx)
{
	return size * n;
}

static void event_name(int event, char *out, size_t len)
{
	if(event == PING_START)
		snprintf(out, len, "start");
	else
		snprintf(out, len, "exit %d", event);
}

/* The base URL without trailing slashes, then the event's path. */
static enum pl_status event_url(const char *base, int event, struct buf *b)
{
	size_t n = strlen(base);
	enum pl_status st;

	while(n > 0 && base[n - 1] == '/')
		n--;
	st = buf_add(b, base, n);
	if(!st && event == PING_START)
		st = buf_addstr(b, "/start");
	else if(!st && event != 0)
		st = buf_addf(b, "/%d", event);
	return st;
}

enum pl_status ping_send(const struct ping_config *cfg, int event,
			 struct pl_err *err)
{
	char origin[256], what[32], curlerr[CURL_ERROR_SIZE];
	const char *path;
	struct buf url = BUF_INIT;
	CURL *h = NULL;
	CURLcode cc;
	long status = 0;
	enum pl_status st;

	st = ping_check_url(cfg->url, err);
	if(st)
		return st;
	ping_url_origin(cfg->url, origin, sizeof(origin));
	event_name(event, what, sizeof(what));
	if(event_url(cfg->url, event, &url))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(curl_global_init(CURL_GLOBAL_DEFAULT)) {
		buf_release(&url);
		return pl_fail(err, PL_EOUTPUT, "ping %s (%s): cannot "
			       "initialise libcurl", origin, what);
	}
	h = curl_easy_init();
	if(!h) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}

	curlerr[0] = '\0';
	st = httpopt_harden(h, &(struct httpopt){cfg->cacert, cfg->user_agent},
			    err);
	if(st)
		goto out;
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 cfg->timeout_ms > 0 ? cfg->timeout_ms
					     : PING_TIMEOUT_MS);

	cc = curl_easy_perform(h);
	if(cc != CURLE_OK) {
		/* libcurl's messages name hosts, not paths; should one ever
		 * quote the URL, the generic text goes out instead. */
		path = strstr(url.data, "://");
		path = path ? strchr(path + 3, '/') : NULL;
		if(!curlerr[0] || (path && path[1] && strstr(curlerr, path)))
			snprintf(curlerr, sizeof(curlerr), "%s",
				 curl_easy_strerror(cc));
		st = pl_fail(err, PL_EOUTPUT, "ping %s (%s): %s", origin,
			     what, curlerr);
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if(status < 200 || status > 299)
		st = pl_fail(err, PL_EOUTPUT, "ping %s (%s): HTTP %ld", origin,
			     what, status);
out:
	curl_easy_cleanup(h);
	curl_global_cleanup();
	buf_release(&url);
	return st;
}
