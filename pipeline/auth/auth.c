#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/crypto.h>

#include "httpopt.h"
#include "log.h"
#include "now.h"
#include "url_check.h"

#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define DEFAULT_SCOPE "https://api.partnercenter.microsoft.com/.default"
#define DEFAULT_TIMEOUT_MS 30000L
#define CONNECT_TIMEOUT_MS 10000L
#define RENEW_MARGIN_MS 60000LL
/* Below this lifetime the 60 s margin would leave nothing: renew at half. */
#define SHORT_TTL_S 120
/* expires_in when the reply has none: RFC 6749 makes it optional; Azure
 * AD always sends it and its tokens live 60 to 90 minutes. */
#define ASSUMED_TTL_S 3600
#define MAX_TTL_S (366L * 24 * 3600)
/* After a failed renewal while the old token still works, wait this long
 * before trying again, so a down token endpoint does not stall every call
 * for a full timeout. */
#define RETRY_RENEW_MS 5000LL
/* Token replies are a few KiB; anything far larger is not one. */
#define REPLY_MAX (256 * 1024)
#define DESC_MAX 200
#define SECRET_FILE_MAX (64 * 1024)

struct auth {
	int renewable;
	unsigned gen;
	/* The current token was obtained because of a 401: a 401 on it too
	 * means renewing does not help. */
	int gen_from_401;
	char *token;             /* owned, wiped; NULL before the first fetch */
	long long renew_at_ms;   /* monotonic */
	long long expire_at_ms;
	long long retry_at_ms;   /* no renewal attempt before this */

	char *authority;         /* no trailing slash */
	char *tenant;
	char *client_id;
	char *secret;            /* owned, wiped */
	char *scope;
	char *cacert;
	char *user_agent;
	char *url;               /* the token endpoint */
	long timeout_ms;
	int curl_inited;
};

/* A reply buffer that never leaves a copy of its contents behind when it
 * grows (realloc would free the old block unwiped). */
struct reply {
	char *data;
	size_t len;
	size_t cap;
	int too_big;
};

static void wipe_free(char *s)
{
	if(s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

static int dup_opt(char **dst, const char *src)
{
	if(!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* A bearer token goes into a header line: refuse anything that could
 * break it (spaces, control characters, non-ASCII). */
static int token_usable(const char *t)
{
	if(!*t)
		return 0;
	for(; *t; t++)
		if((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

/* Tenant IDs are GUIDs or domain names; anything else could rewrite the
 * endpoint path. */
static int tenant_ok(const char *t)
{
	if(!*t)
		return 0;
	for(; *t; t++)
		if(!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') ||
		     (*t >= '0' && *t <= '9') || *t == '.' || *t == '-' ||
		     *t == '_'))
			return 0;
	return 1;
}

void auth_free(struct auth *a)
{
	if(!a)
		return;
	wipe_free(a->token);
	wipe_free(a->secret);
	free(a->authority);
	free(a->tenant);
	free(a->client_id);
	free(a->scope);
	free(a->cacert);
	free(a->user_agent);
	free(a->url);
	if(a->curl_inited)
		curl_global_cleanup();
	OPENSSL_cleanse(a, sizeof(*a));
	free(a);
}

static enum pl_status new_ready(struct auth *a, const char *token,
				struct pl_err *err)
{
	if(!token_usable(token))
		return pl_fail(err, PL_EUSAGE,
			       "the token is empty or contains spaces or "
			       "control characters");
	a->token = strdup(token);
	if(!a->token)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	a->gen = 1;
	a->renewable = 0;
	return PL_OK;
}

static enum pl_status new_app(struct auth *a, const struct auth_config *cfg,
			      struct pl_err *err)
{
	const char *authority = cfg->authority && *cfg->authority ?
				cfg->authority : DEFAULT_AUTHORITY;
	size_t n;
	enum pl_status st;

	if(!cfg->tenant || !*cfg->tenant || !cfg->client_id ||
	   !*cfg->client_id || !cfg->client_secret || !*cfg->client_secret)
		return pl_fail(err, PL_EUSAGE,
			       "app credentials need a tenant, a client ID "
			       "and a client secret");
	if(!tenant_ok(cfg->tenant))
		return pl_fail(err, PL_EUSAGE,
			       "invalid tenant %s: expected a tenant ID or a "
			       "domain name", cfg->tenant);
	st = url_check(authority, "--authority", err);
	if(st)
		return st;
	if(curl_global_init(CURL_GLOBAL_DEFAULT))
		return pl_fail(err, PL_EINTERNAL, "cannot initialise libcurl");
	a->curl_inited = 1;

	if(dup_opt(&a->authority, authority) ||
	   dup_opt(&a->tenant, cfg->tenant) ||
	   dup_opt(&a->client_id, cfg->client_id) ||
	   dup_opt(&a->secret, cfg->client_secret) ||
	   dup_opt(&a->scope, cfg->scope && *cfg->scope ? cfg->scope :
			       DEFAULT_SCOPE) ||
	   dup_opt(&a->cacert, cfg->cacert) ||
	   dup_opt(&a->user_agent, cfg->user_agent ? cfg->user_agent :
				    "qualreport/" QR_VERSION))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	n = strlen(a->authority);
	while(n > 0 && a->authority[n - 1] == '/')
		a->authority[--n] = '\0';
	n = strlen(a->authority) + strlen(a->tenant) +
	    sizeof("//oauth2/v2.0/token");
	a->url = malloc(n);
	if(!a->url)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	snprintf(a->url, n, "%s/%s/oauth2/v2.0/token", a->authority,
		 a->tenant);
	a->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms :
			DEFAULT_TIMEOUT_MS;
	a->renewable = 1;
	return PL_OK;
}

enum pl_status auth_new(const struct auth_config *cfg, struct auth **out,
			struct pl_err *err)
{
	struct auth *a = calloc(1, sizeof(*a));
	enum pl_status st;

	*out = NULL;
	if(!a)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(cfg->token)
		st = new_ready(a, cfg->token, err);
	else
		st = new_app(a, cfg, err);
	if(st) {
		auth_free(a);
		return st;
	}
	*out = a;
	return PL_OK;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply *r = userdata;
	size_t n = size * nmemb;
	size_t cap;
	char *grown;

	if(n > REPLY_MAX - r->len) {
		r->too_big = 1;
		return 0;
	}
	if(r->len + n + 1 > r->cap) {
		cap = r->cap ? r->cap : 4096;
		while(cap < r->len + n + 1)
			cap *= 2;
		grown = malloc(cap);
		if(!grown)
			return 0;
		if(r->data) {
			memcpy(grown, r->data, r->len);
			OPENSSL_cleanse(r->data, r->cap);
			free(r->data);
		}
		r->data = grown;
		r->cap = cap;
	}
	memcpy(r->data + r->len, ptr, n);
	r->len += n;
	r->data[r->len] = '\0';
	return n;
}

static void reply_release(struct reply *r)
{
	if(r->data) {
		OPENSSL_cleanse(r->data, r->cap);
		free(r->data);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * Copy server-supplied text into a message: runs of control characters
 * become one space, the secret (should a server echo it) becomes
 * "[redacted]", and at most max bytes are kept, with "..." when cut.
 */
static void clean_text(char *out, size_t outsz, const char *in, size_t max,
		       const char *secret)
{
	size_t slen = secret ? strlen(secret) : 0;
	size_t o = 0;
	int space = 0;

	if(max > outsz - 4)
		max = outsz - 4;
	while(*in && o < max) {
		if(slen && !strncmp(in, secret, slen)) {
			size_t k = strlen("[redacted]");

			if(o + k > max)
				break;
			memcpy(out + o, "[redacted]", k);
			o += k;
			in += slen;
			space = 0;
		} else if((unsigned char)*in < 0x20 || *in == 0x7f) {
			if(!space && o > 0)
				out[o++] = ' ';
			space = 1;
			in++;
		} else {
			out[o++] = *in++;
			space = 0;
		}
	}
	while(o > 0 && out[o - 1] == ' ')
		o--;
	if(*in) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

/* Append "x=<escaped v>" to body at *len; body was sized by the caller. */
static int add_field(CURL *h, char *body, size_t bodysz, size_t *len,
		     const char *name, const char *value)
{
	char *esc = curl_easy_escape(h, value, 0);
	int n;

	if(!esc)
		return -1;
	n = snprintf(body + *len, bodysz - *len, "%s%s=%s",
		     *len ? "&" : "", name, esc);
	OPENSSL_cleanse(esc, strlen(esc));
	curl_free(esc);
	if(n < 0 || (size_t)n >= bodysz - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

/* expires_in: a JSON number (v2) or a string of digits (v1). */
static int parse_ttl(struct json_object *v, long *ttl)
{
	const char *s;
	long n = 0;

	if(!v) {
		*ttl = ASSUMED_TTL_S;
		return 0;
	}
	if(json_object_is_type(v, json_type_int) ||
	   json_object_is_type(v, json_type_double)) {
		double d = json_object_get_double(v);

		if(!(d >= 0))
			return -1;
		*ttl = d > MAX_TTL_S ? MAX_TTL_S : (long)d;
		return 0;
	}
	if(!json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	if(!*s)
		return -1;
	for(; *s; s++) {
		if(*s < '0' || *s > '9')
			return -1;
		if(n < MAX_TTL_S)
			n = n * 10 + (*s - '0');
	}
	*ttl = n > MAX_TTL_S ? MAX_TTL_S : n;
	return 0;
}

/* json-c keeps its own copy of every string; wipe the token's before the
 * tree is freed. Best effort: the parser's scratch buffer is out of
 * reach. */
static void wipe_json_string(struct json_object *v)
{
	if(v && json_object_is_type(v, json_type_string))
		OPENSSL_cleanse((char *)json_object_get_string(v),
				(size_t)json_object_get_string_len(v));
}

static enum pl_status http_error(struct auth *a, long status,
				 struct json_object *root, struct pl_err *err)
{
	struct json_object *e = NULL, *d = NULL;
	char code[80], desc[DESC_MAX + 8];

	if(root && json_object_is_type(root, json_type_object)) {
		json_object_object_get_ex(root, "error", &e);
		json_object_object_get_ex(root, "error_description", &d);
	}
	if(!e || !json_object_is_type(e, json_type_string))
		return pl_fail(err, PL_EAUTH,
			       "token request for client %s at %s/%s failed: "
			       "HTTP %ld", a->client_id, a->authority,
			       a->tenant, status);
	clean_text(code, sizeof(code), json_object_get_string(e), 64,
		   a->secret);
	if(!d || !json_object_is_type(d, json_type_string))
		return pl_fail(err, PL_EAUTH,
			       "token request for client %s at %s/%s failed: "
			       "HTTP %ld %s", a->client_id, a->authority,
			       a->tenant, status, code);
	clean_text(desc, sizeof(desc), json_object_get_string(d), DESC_MAX,
		   a->secret);
	return pl_fail(err, PL_EAUTH,
		       "token request for client %s at %s/%s failed: "
		       "HTTP %ld %s: %s", a->client_id, a->authority,
		       a->tenant, status, code, desc);
}

/* Take the token out of a 200 reply. */
static enum pl_status use_reply(struct auth *a, struct json_object *root,
				long long started, struct pl_err *err)
{
	struct json_object *tok = NULL, *ttl_v = NULL, *type = NULL;
	char shown[40];
	char *copy;
	long ttl;
	long long life;

	if(!root || !json_object_is_type(root, json_type_object) ||
	   !json_object_object_get_ex(root, "access_token", &tok) ||
	   !json_object_is_type(tok, json_type_string))
		return pl_fail(err, PL_EAUTH,
			       "token endpoint %s sent no access_token",
			       a->url);
	if(json_object_object_get_ex(root, "token_type", &type) &&
	   (!json_object_is_type(type, json_type_string) ||
	    strcasecmp(json_object_get_string(type), "Bearer"))) {
		clean_text(shown, sizeof(shown),
			   json_object_is_type(type, json_type_string) ?
			   json_object_get_string(type) :
			   json_object_to_json_string(type), 32, a->secret);
		return pl_fail(err, PL_EAUTH,
			       "token endpoint %s sent token_type %s, not "
			       "Bearer", a->url, shown);
	}
	json_object_object_get_ex(root, "expires_in", &ttl_v);
	if(parse_ttl(ttl_v, &ttl))
		return pl_fail(err, PL_EAUTH,
			       "token endpoint %s sent an invalid expires_in",
			       a->url);
	if(!token_usable(json_object_get_string(tok)))
		return pl_fail(err, PL_EAUTH,
			       "token endpoint %s sent an unusable "
			       "access_token (empty, spaces or control "
			       "characters)", a->url);
	copy = strdup(json_object_get_string(tok));
	if(!copy)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	wipe_free(a->token);
	a->token = copy;
	a->gen++;
	a->gen_from_401 = 0;
	/* Count the lifetime from before the request went out: the server
	 * started its clock no earlier than that. */
	life = (long long)ttl * 1000;
	a->expire_at_ms = started + life;
	a->renew_at_ms = ttl < SHORT_TTL_S ? started + life / 2 :
			 started + life - RENEW_MARGIN_MS;
	a->retry_at_ms = 0;
	log_debug("got a token for client %s (generation %u, expires in "
		  "%ld s)", a->client_id, a->gen, ttl);
	return PL_OK;
}

/* One client-credentials grant; on success the new token is current. */
static enum pl_status fetch_token(struct auth *a, struct pl_err *err)
{
	static const char *const headers[] = {
		"Content-Type: application/x-www-form-urlencoded",
		"Accept: application/json",
		/* No "Expect: 100-continue" round trip for a small body. */
		"Expect:",
	};
	CURL *h = NULL;
	struct curl_slist *hdrs = NULL, *more;
	struct reply r = {0};
	struct json_object *root = NULL, *tok = NULL;
	char curlerr[CURL_ERROR_SIZE];
	char *body = NULL;
	size_t bodysz = 0, len = 0;
	long status = 0;
	long long started;
	CURLcode cc;
	enum pl_status st;

	h = curl_easy_init();
	if(!h) {
		st = pl_fail(err, PL_ENOMEM, "cannot create a curl handle");
		goto out;
	}
	/* Percent-encoding at most triples each byte. */
	bodysz = 3 * (strlen(a->client_id) + strlen(a->secret) +
		      strlen(a->scope)) + 128;
	body = malloc(bodysz);
	if(!body) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	if(add_field(h, body, bodysz, &len, "grant_type",
		     "client_credentials") ||
	   add_field(h, body, bodysz, &len, "client_id", a->client_id) ||
	   add_field(h, body, bodysz, &len, "client_secret", a->secret) ||
	   add_field(h, body, bodysz, &len, "scope", a->scope)) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	for(size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		more = curl_slist_append(hdrs, headers[i]);
		if(!more) {
			st = pl_fail(err, PL_ENOMEM, "out of memory");
			goto out;
		}
		hdrs = more;
	}

	curlerr[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, a->url);
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, a->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
	st = httpopt_harden(h, &(struct httpopt){a->cacert, a->user_agent},
			    err);
	if(st)
		goto out;

	started = now_mono_ms();
	cc = curl_easy_perform(h);
	if(cc != CURLE_OK) {
		if(r.too_big)
			st = pl_fail(err, PL_EAUTH,
				     "token endpoint %s sent a reply larger "
				     "than %d KiB", a->url, REPLY_MAX / 1024);
		else
			st = pl_fail(err, PL_EAUTH, "cannot reach %s: %s",
				     a->url, curlerr[0] ? curlerr :
				     curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if(r.data)
		root = json_tokener_parse(r.data);
	if(status != 200) {
		st = http_error(a, status, root, err);
		goto out;
	}
	st = use_reply(a, root, started, err);
out:
	if(root && json_object_is_type(root, json_type_object) &&
	   json_object_object_get_ex(root, "access_token", &tok))
		wipe_json_string(tok);
	json_object_put(root);
	reply_release(&r);
	if(body) {
		OPENSSL_cleanse(body, bodysz);
		free(body);
	}
	curl_slist_free_all(hdrs);
	if(h)
		curl_easy_cleanup(h);
	return st;
}

enum pl_status auth_token(struct auth *a, const char **token,
			  struct pl_err *err)
{
	struct pl_err why = {{0}};
	long long now;
	enum pl_status st;

	*token = NULL;
	if(!a->renewable) {
		*token = a->token;
		return PL_OK;
	}
	now = now_mono_ms();
	if(a->token && (now < a->renew_at_ms || now < a->retry_at_ms) &&
	   now < a->expire_at_ms) {
		*token = a->token;
		return PL_OK;
	}
	st = fetch_token(a, &why);
	if(st && a->token && now < a->expire_at_ms) {
		/* The current token still works: use it and try again
		 * later rather than stop the run. */
		log_warn("cannot renew the token yet, the current one is "
			 "valid for %lld s more: %s",
			 (a->expire_at_ms - now + 999) / 1000, why.msg);
		a->retry_at_ms = now + RETRY_RENEW_MS;
		*token = a->token;
		return PL_OK;
	}
	if(st) {
		if(err)
			*err = why;
		return st;
	}
	*token = a->token;
	return PL_OK;
}

enum pl_status auth_renew_after_401(struct auth *a, unsigned gen,
				    struct pl_err *err)
{
	enum pl_status st;

	if(gen != a->gen)
		return PL_OK;
	if(!a->renewable)
		return pl_fail(err, PL_EAUTH,
			       "the API refused the token (401): "
			       "PARTNER_CENTER_TOKEN / --token-file token is "
			       "invalid or expired");
	if(a->gen_from_401)
		return pl_fail(err, PL_EAUTH,
			       "the API still answers 401 after renewing the "
			       "token for client %s: check that the app is "
			       "consented for Partner Center", a->client_id);
	st = fetch_token(a, err);
	if(st)
		return st;
	a->gen_from_401 = 1;
	return PL_OK;
}

unsigned auth_generation(const struct auth *a)
{
	return a->gen;
}

int auth_renewable(const struct auth *a)
{
	return a->renewable;
}

/* Read up to cap bytes; *len gets the count, *more whether data remains. */
static int read_upto(int fd, char *buf, size_t cap, size_t *len, int *more)
{
	ssize_t n;
	char probe;

	*len = 0;
	while(*len < cap) {
		n = read(fd, buf + *len, cap - *len);
		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0)
			return -1;
		if(n == 0) {
			*more = 0;
			return 0;
		}
		*len += (size_t)n;
	}
	do
		n = read(fd, &probe, 1);
	while(n < 0 && errno == EINTR);
	if(n < 0)
		return -1;
	*more = n > 0;
	return 0;
}

static int blank(const char *s, size_t n)
{
	for(size_t i = 0; i < n; i++)
		if(!strchr(" \t\r\n", s[i]) || !s[i])
			return 0;
	return 1;
}

enum pl_status auth_read_secret_file(const char *path, char **out,
				     struct pl_err *err)
{
	struct stat sb;
	char *buf = NULL, *line, *nl;
	size_t len = 0, n;
	int fd, more = 0;
	enum pl_status st = PL_OK;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0)
		return pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			       strerror(errno));
	if(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
	   (sb.st_mode & 077))
		log_warn("secret file %s is readable by other users", path);
	buf = malloc(SECRET_FILE_MAX);
	if(!buf) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	if(read_upto(fd, buf, SECRET_FILE_MAX, &len, &more)) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			     strerror(errno));
		goto out;
	}
	line = buf;
	/* Editors on Windows may start the file with a UTF-8 BOM. */
	if(len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	nl = memchr(line, '\n', len);
	if(!nl && more) {
		st = pl_fail(err, PL_EUSAGE,
			     "%s: the first line is longer than %d KiB", path,
			     SECRET_FILE_MAX / 1024);
		goto out;
	}
	n = nl ? (size_t)(nl - line) : len;
	while(n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
			line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if(memchr(line, '\0', n)) {
		st = pl_fail(err, PL_EUSAGE,
			     "%s: the first line contains a NUL byte", path);
		goto out;
	}
	if(n == 0) {
		st = pl_fail(err, PL_EUSAGE, blank(line, len) && !more ?
			     "%s: file is empty" :
			     "%s: the first line is empty", path);
		goto out;
	}
	*out = malloc(n + 1);
	if(!*out) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*out, line, n);
	(*out)[n] = '\0';
out:
	if(buf) {
		OPENSSL_cleanse(buf, SECRET_FILE_MAX);
		free(buf);
	}
	close(fd);
	return st;
}
