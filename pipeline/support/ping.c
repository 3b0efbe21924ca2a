#include "ping.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"

/*
 * TODO(lead): the TLS and protocol settings below are the ones fetch.c and
 * auth.c set; when pipeline/fetch/httpopt.h lands on main, replace them
 * (and is_loopback) with it.
 */
static bool is_loopback(const char *host)
{
	unsigned a, b, c, d;
	char extra;

	if(!strcasecmp(host, "localhost") || !strcmp(host, "[::1]"))
		return true;
	return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &extra) == 4 &&
	       a == 127 && b < 256 && c < 256 && d < 256;
}

struct parts {
	char *scheme, *host, *port;
};

static void parts_free(struct parts *p)
{
	curl_free(p->scheme);
	curl_free(p->host);
	curl_free(p->port);
	memset(p, 0, sizeof(*p));
}

/* Split url; false when it is not an absolute URL with a host. With
 * strict, also false (and *why set) for what a ping URL must not have. */
static bool split(const char *url, struct parts *p, const char **why)
{
	CURLU *u = curl_url();
	char *extra = NULL;
	bool ok = false;

	memset(p, 0, sizeof(*p));
	*why = "not an absolute URL";
	if(!u)
		return false;
	if(curl_url_set(u, CURLUPART_URL, url, 0) ||
	   curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) ||
	   curl_url_get(u, CURLUPART_HOST, &p->host, 0))
		goto out;
	curl_url_get(u, CURLUPART_PORT, &p->port, 0); /* absent: NULL */
	ok = true;
	if(!curl_url_get(u, CURLUPART_USER, &extra, 0)) {
		*why = "it must not carry a user name or password";
		ok = false;
	} else if(!curl_url_get(u, CURLUPART_QUERY, &extra, 0) ||
		  !curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0)) {
		*why = "it must not have a query or fragment";
		ok = false;
	}
out:
	curl_free(extra);
	curl_url_cleanup(u);
	if(!ok && p->scheme && p->host)
		return false; /* parsed, but refused: parts kept for origin */
	if(!ok)
		parts_free(p);
	return ok;
}

void ping_url_origin(const char *url, char *out, size_t len)
{
	struct parts p;
	const char *why;

	split(url ? url : "", &p, &why);
	if(!p.scheme || !p.host)
		snprintf(out, len, "(invalid URL)");
	else
		snprintf(out, len, "%s://%s%s%s", p.scheme, p.host,
			 p.port ? ":" : "", p.port ? p.port : "");
	parts_free(&p);
}

enum pl_status ping_check_url(const char *url, struct pl_err *err)
{
	char origin[256];
	struct parts p;
	const char *why;
	enum pl_status st = PL_OK;

	if(!url || !*url)
		return pl_fail(err, PL_EUSAGE, "--ping-url: empty URL");
	for(const char *c = url; *c; c++)
		if((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
			return pl_fail(err, PL_EUSAGE,
				       "--ping-url: invalid character in the "
				       "URL (a space, a control character or "
				       "non-ASCII)");
	ping_url_origin(url, origin, sizeof(origin));
	if(!split(url, &p, &why)) {
		if(p.scheme)
			st = pl_fail(err, PL_EUSAGE, "--ping-url %s...: %s",
				     origin, why);
		else
			st = pl_fail(err, PL_EUSAGE,
				     "--ping-url: not an absolute http(s) "
				     "URL");
	} else if(!strcasecmp(p.scheme, "http")) {
		if(!is_loopback(p.host))
			st = pl_fail(err, PL_EUSAGE,
				     "--ping-url %s...: plain http is allowed "
				     "only for a loopback host (127.0.0.1, "
				     "localhost, ::1): use https://", origin);
	} else if(strcasecmp(p.scheme, "https")) {
		st = pl_fail(err, PL_EUSAGE,
			     "--ping-url %s...: not an https URL", origin);
	}
	parts_free(&p);
	return st;
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
	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT,
			 cfg->user_agent ? cfg->user_agent : "qualreport");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
			 cfg->timeout_ms > 0 ? cfg->timeout_ms
					     : PING_TIMEOUT_MS);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS,
			 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	/* --cacert adds to the system's CAs, as for the API (fetch.c) */
	if(cfg->cacert) {
		curl_easy_setopt(h, CURLOPT_CAINFO, cfg->cacert);
		curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
	}

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
