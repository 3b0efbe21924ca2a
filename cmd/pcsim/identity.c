#include "identity.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "ids.h"

#define FORM_VALUE_MAX 1024
#define ASSERTION_MAX 16384
#define ASSERTION_MAX_LIFETIME_S 3600
#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define NS 1000000000ull

struct device {
	struct device *next;
	char code[TOKEN_STR_LEN + 1];
	char user_code[16];
	char scope[FORM_VALUE_MAX];
	unsigned polls;
	unsigned interval_s;
	uint64_t expires_ns;
	uint64_t last_answer_ns;   /* 0: not polled yet */
	bool done;
};

struct counters {
	atomic_uint_fast64_t grant_cc, grant_refresh, grant_device;
	atomic_uint_fast64_t refresh_rotations, refresh_grace_uses;
	atomic_uint_fast64_t refresh_refused;
	atomic_uint_fast64_t assertions_ok, assertions_refused;
	atomic_uint_fast64_t assertion_replays;
	atomic_uint_fast64_t device_codes, device_polls, device_early_polls;
	atomic_uint_fast64_t device_approved, device_declined, device_expired;
};

struct identity {
	const struct pcsim_config *cfg;
	struct token_store *tokens;        /* borrowed */
	struct refresh_store *refresh;
	struct jti_cache *jtis;
	X509 *cert;                        /* NULL without --client-cert */
	char x5t[64], x5t256[64];          /* base64url thumbprints */
	pthread_mutex_t mu;                /* devices, last_scope */
	struct device *devices;
	char last_scope[FORM_VALUE_MAX];
	struct counters n;
};

static void count(atomic_uint_fast64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- small helpers ---- */

int identity_form_get(const char *body, const char *name, char *out,
		      size_t cap)
{
	size_t nlen = strlen(name);
	const char *p = body;

	while(p && *p) {
		const char *end = strchr(p, '&');
		const char *stop = end ? end : p + strlen(p);

		if((size_t)(stop - p) > nlen && !strncmp(p, name, nlen) &&
		   p[nlen] == '=') {
			size_t o = 0;

			for(p += nlen + 1; p < stop; p++) {
				int c = (unsigned char)*p;

				if(c == '+') {
					c = ' ';
				} else if(c == '%') {
					unsigned v;

					if(stop - p < 3 ||
					   !strchr("0123456789abcdefABCDEF",
						   p[1]) ||
					   !strchr("0123456789abcdefABCDEF",
						   p[2]) ||
					   sscanf(p + 1, "%2x", &v) != 1)
						return -1;
					c = (int)v;
					p += 2;
				}
				if(o + 1 >= cap)
					return -1;
				out[o++] = (char)c;
			}
			out[o] = '\0';
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* Whether the form has a field name (whatever its value). */
static bool form_has(const char *body, const char *name)
{
	size_t nlen = strlen(name);

	for(const char *p = body; p && *p;) {
		if(!strncmp(p, name, nlen) && p[nlen] == '=')
			return true;
		p = strchr(p, '&');
		if(p)
			p++;
	}
	return false;
}

/* Equal strings, in time independent of where they differ. */
static bool secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = la != lb;

	for(size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return !diff;
}

static int add_json_string(struct buf *b, const char *s)
{
	if(buf_addch(b, '"'))
		return -1;
	for(; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if(c == '"' || c == '\\') {
			if(buf_addch(b, '\\') || buf_addch(b, (char)c))
				return -1;
		} else if(c < 0x20) {
			if(buf_addf(b, "\\u%04x", c))
				return -1;
		} else if(buf_addch(b, (char)c)) {
			return -1;
		}
	}
	return buf_addch(b, '"') ? -1 : 0;
}

static uint64_t wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec;
}

/* An Entra ID (AAD) style error: the description begins with AADSTS and
 * its code and ends with the trace and correlation IDs, as the real
 * one's does. */
int identity_error(struct identity_reply *r, unsigned status,
		   const char *error, long code, const char *desc)
{
	char trace[37], corr[37], stamp[32], full[2048];
	time_t now = time(NULL);
	struct tm tm;
	struct buf *b = &r->body;

	ids_new_correlation(trace);
	ids_new_correlation(corr);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%SZ", &tm);
	snprintf(full, sizeof(full), "AADSTS%ld: %s\r\nTrace ID: %s\r\n"
		 "Correlation ID: %s\r\nTimestamp: %s", code, desc, trace,
		 corr, stamp);
	r->status = status;
	buf_reset(b);
	if(buf_addf(b, "{\"error\":\"%s\",\"error_description\":", error) ||
	   add_json_string(b, full) ||
	   buf_addf(b, ",\"error_codes\":[%ld],\"timestamp\":\"%s\","
		    "\"trace_id\":\"%s\",\"correlation_id\":\"%s\","
		    "\"error_uri\":\"https://login.microsoftonline.com/error"
		    "?code=%ld\"}", code, stamp, trace, corr, code))
		return -1;
	if(!strcmp(error, "invalid_client"))
		r->unauthorized = true;
	return 0;
}

static int missing_param(struct identity_reply *r, const char *name)
{
	char desc[160];

	snprintf(desc, sizeof(desc), "The request body must contain the "
		 "following parameter: '%s'.", name);
	return identity_error(r, 400, "invalid_request", 900144, desc);
}

/* ---- set-up ---- */

static int b64url(const unsigned char *in, size_t n, char *out, size_t cap)
{
	unsigned char tmp[128];
	int w;

	if((n + 2) / 3 * 4 + 1 > sizeof(tmp) || cap < sizeof(tmp) / 2)
		return -1;
	w = EVP_EncodeBlock(tmp, in, (int)n);
	while(w > 0 && tmp[w - 1] == '=')
		w--;
	if((size_t)w >= cap)
		return -1;
	for(int i = 0; i < w; i++)
		out[i] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' :
			 (char)tmp[i];
	out[w] = '\0';
	return 0;
}

static enum pl_status load_cert(struct identity *id, const char *pem,
				struct pl_err *err)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n;

	if(!bio)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	id->cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if(!id->cert)
		return pl_fail(err, PL_EUSAGE, "--client-cert: no PEM "
			       "certificate in the file");
	if(!X509_digest(id->cert, EVP_sha1(), md, &n) ||
	   b64url(md, n, id->x5t, sizeof(id->x5t)) ||
	   !X509_digest(id->cert, EVP_sha256(), md, &n) ||
	   b64url(md, n, id->x5t256, sizeof(id->x5t256)))
		return pl_fail(err, PL_EUSAGE, "--client-cert: cannot hash "
			       "the certificate");
	return PL_OK;
}

enum pl_status identity_new(const struct pcsim_config *cfg,
			    struct token_store *tokens,
			    struct identity **out, struct pl_err *err)
{
	struct identity *id = calloc(1, sizeof(*id));
	enum pl_status st = PL_OK;

	*out = NULL;
	if(!id)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	id->cfg = cfg;
	id->tokens = tokens;
	pthread_mutex_init(&id->mu, NULL);
	id->refresh = refresh_store_new();
	id->jtis = jti_cache_new();
	if(!id->refresh || !id->jtis) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	if(cfg->client_cert)
		st = load_cert(id, cfg->client_cert, err);
	if(!st && cfg->refresh_token &&
	   refresh_store_add(id->refresh, cfg->refresh_token,
			     strlen(cfg->refresh_token),
			     cfg->client_id ? cfg->client_id : "",
			     pcsim_now_ns()))
		st = pl_fail(err, PL_EUSAGE, "--refresh-token: longer than "
			     "%d characters", REFRESH_TOKEN_MAX);
out:
	if(st) {
		identity_free(id);
		return st;
	}
	*out = id;
	return PL_OK;
}

void identity_free(struct identity *id)
{
	struct device *d, *next;

	if(!id)
		return;
	for(d = id->devices; d; d = next) {
		next = d->next;
		memset(d, 0, sizeof(*d));
		free(d);
	}
	refresh_store_free(id->refresh);
	jti_cache_free(id->jtis);
	X509_free(id->cert);
	pthread_mutex_destroy(&id->mu);
	free(id);
}

void identity_reply_init(struct identity_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init_secret(&r->body, 0);
}

void identity_reply_release(struct identity_reply *r)
{
	buf_release(&r->body);
}

bool identity_device_mode_parse(const char *s, enum identity_device_mode *m)
{
	static const char *const names[] = {"approve", "decline", "expire",
					    "slow_down"};

	for(int i = 0; i < 4; i++)
		if(!strcmp(s, names[i])) {
			*m = (enum identity_device_mode)i;
			return true;
		}
	return false;
}

/* ---- client assertions ---- */

/* base64url text -> bytes (NUL-terminated) in out; false when it is not
 * base64url. */
static bool b64url_decode(const char *s, size_t n, struct buf *out)
{
	size_t padded = (n + 3) / 4 * 4;
	char *t;
	int len;

	buf_reset(out);
	if(n % 4 == 1 || buf_grow(out, padded))
		return false;
	t = malloc(padded + 1);
	if(!t)
		return false;
	for(size_t i = 0; i < n; i++) {
		char c = s[i];

		if(!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		     (c >= '0' && c <= '9') || c == '-' || c == '_')) {
			free(t);
			return false;
		}
		t[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	memset(t + n, '=', padded - n);
	len = EVP_DecodeBlock((unsigned char *)out->data,
			      (unsigned char *)t, (int)padded);
	free(t);
	if(len < 0)
		return false;
	out->len = (size_t)len - (padded - n);
	out->data[out->len] = '\0';
	return true;
}

static struct json_object *decode_part(const char *s, size_t n)
{
	struct buf raw = BUF_INIT;
	struct json_object *o = NULL;

	if(b64url_decode(s, n, &raw) && !memchr(raw.data, '\0', raw.len))
		o = json_tokener_parse(raw.data);
	buf_release(&raw);
	if(o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v) ||
	   !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jint(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v) ||
	   !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

static bool verify_signature(struct identity *id, bool pss,
			     const char *input, size_t len,
			     const struct buf *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = md &&
		EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
				     X509_get0_pubkey(id->cert)) == 1;

	if(ok && pss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx,
						  RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
						      RSA_PSS_SALTLEN_DIGEST) ==
		     1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1;
	else if(ok)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) ==
		     1;
	ok = ok && EVP_DigestVerify(md, (const unsigned char *)sig->data,
				    sig->len, (const unsigned char *)input,
				    len) == 1;
	EVP_MD_CTX_free(md);
	ERR_clear_error();
	return ok;
}

/*
 * Check a client assertion. 0 valid; otherwise *code and desc (cap
 * bytes) say why, in Entra ID's words where it has them.
 */
static int check_assertion(struct identity *id, const char *jwt,
			   const char *client_id, const char *aud,
			   long *code, char *desc, size_t cap)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') :
						      NULL;
	struct json_object *h = NULL, *c = NULL;
	struct buf sig = BUF_INIT;
	const char *alg, *thumb, *v;
	int64_t exp = 0, nbf = 0, now = (int64_t)wall_s();
	bool pss;
	int rc = -1, seen;

	*code = 50027;
	if(!id->cert) {
		*code = 700027;
		snprintf(desc, cap, "Client assertion failed signature "
			 "validation. (pcsim: no --client-cert registered)");
		return -1;
	}
	if(!d2 || strchr(d2 + 1, '.') || d1 == jwt || d2 == d1 + 1 ||
	   !d2[1] || !(h = decode_part(jwt, (size_t)(d1 - jwt))) ||
	   !(c = decode_part(d1 + 1, (size_t)(d2 - d1 - 1))) ||
	   !b64url_decode(d2 + 1, strlen(d2 + 1), &sig)) {
		snprintf(desc, cap, "JWT token is invalid or malformed.");
		goto out;
	}
	alg = jstr(h, "alg");
	if(!alg || (strcmp(alg, "PS256") && strcmp(alg, "RS256"))) {
		snprintf(desc, cap, "JWT token is invalid: unsupported alg "
			 "(pcsim: PS256 or RS256).");
		goto out;
	}
	pss = !strcmp(alg, "PS256");
	thumb = jstr(h, "x5t#S256");
	if(thumb ? strcmp(thumb, id->x5t256) :
	   (!(thumb = jstr(h, "x5t")) || strcmp(thumb, id->x5t))) {
		*code = 700027;
		snprintf(desc, cap, "The certificate with identifier used to "
			 "sign the client assertion is not registered on "
			 "application.");
		goto out;
	}
	if(!verify_signature(id, pss, jwt, (size_t)(d2 - jwt), &sig)) {
		*code = 700027;
		snprintf(desc, cap, "Client assertion failed signature "
			 "validation.");
		goto out;
	}
	v = jstr(c, "aud");
	if(!v || strcmp(v, aud)) {
		*code = 50013;
		snprintf(desc, cap, "Assertion audience claim does not match "
			 "the required value (pcsim: aud must be %s).", aud);
		goto out;
	}
	if(!(v = jstr(c, "iss")) || strcmp(v, client_id) ||
	   !(v = jstr(c, "sub")) || strcmp(v, client_id)) {
		*code = 700021;
		snprintf(desc, cap, "Client assertion application identifier "
			 "doesn't match 'client_id' parameter.");
		goto out;
	}
	if(!jint(c, "exp", &exp) || !jint(c, "nbf", &nbf) ||
	   exp <= now - ASSERTION_SKEW_S || nbf > now + ASSERTION_SKEW_S ||
	   exp > now + ASSERTION_MAX_LIFETIME_S + ASSERTION_SKEW_S ||
	   nbf >= exp) {
		*code = 700024;
		snprintf(desc, cap, "Client assertion is not within its valid "
			 "time range. Current time: %lld, assertion valid "
			 "from %lld to %lld.", (long long)now,
			 (long long)nbf, (long long)exp);
		goto out;
	}
	v = jstr(c, "jti");
	if(!v || !*v) {
		snprintf(desc, cap, "JWT token is invalid: no jti.");
		goto out;
	}
	seen = jti_cache_insert(id->jtis, v, strlen(v),
				pcsim_now_ns() + (uint64_t)(exp - now +
					ASSERTION_SKEW_S) * NS,
				pcsim_now_ns());
	if(seen < 0) {
		snprintf(desc, cap, "pcsim: out of memory");
		goto out;
	}
	if(!seen) {
		count(&id->n.assertion_replays);
		*code = 50013;
		snprintf(desc, cap, "Assertion is invalid: its jti was used "
			 "before (a replayed client assertion).");
		goto out;
	}
	rc = 0;
out:
	json_object_put(h);
	json_object_put(c);
	buf_release(&sig);
	count(rc ? &id->n.assertions_refused : &id->n.assertions_ok);
	return rc;
}

/* --record-assertions: tests grep a client's logs and files for what it
 * sent, which only the receiving end knows. */
static void record(struct identity *id, const char *jwt)
{
	FILE *f;

	if(!id->cfg->record_assertions)
		return;
	pthread_mutex_lock(&id->mu);
	f = fopen(id->cfg->record_assertions, "a");
	if(f) {
		fprintf(f, "%s\n", jwt);
		fclose(f);
	}
	pthread_mutex_unlock(&id->mu);
}

/*
 * Authenticate the client of a token request. 1 authenticated, 0 a
 * public client (no credential, allowed), -1 refused (*r holds the
 * error), -2 out of memory.
 */
static int client_auth(struct identity *id, const struct identity_request *rq,
		       const char *client_id, bool public_ok,
		       struct identity_reply *r)
{
	const struct pcsim_config *cfg = id->cfg;
	char value[FORM_VALUE_MAX], type[FORM_VALUE_MAX], desc[512];
	char *jwt;
	long code;
	int rc;

	if(identity_form_get(rq->body, "client_secret", value,
			     sizeof(value)) == 1) {
		bool ok = cfg->client_secret &&
			  secret_equal(client_id, cfg->client_id) &&
			  secret_equal(value, cfg->client_secret);

		memset(value, 0, sizeof(value));
		if(ok)
			return 1;
		rc = identity_error(r, 401, "invalid_client", 7000215,
				    "Invalid client secret provided.");
		return rc ? -2 : -1;
	}
	if(strcmp(client_id, cfg->client_id)) {
		snprintf(desc, sizeof(desc), "Application with identifier "
			 "'%.200s' was not found in the directory.",
			 client_id);
		rc = identity_error(r, 400, "unauthorized_client", 700016,
				    desc);
		return rc ? -2 : -1;
	}
	jwt = malloc(ASSERTION_MAX);
	if(!jwt)
		return -2;
	rc = identity_form_get(rq->body, "client_assertion", jwt,
			       ASSERTION_MAX);
	if(rc == 1) {
		if(identity_form_get(rq->body, "client_assertion_type", type,
				     sizeof(type)) != 1 ||
		   strcmp(type, JWT_BEARER)) {
			free(jwt);
			rc = identity_error(r, 400, "invalid_request", 50027,
					    "client_assertion_type must be "
					    JWT_BEARER ".");
			return rc ? -2 : -1;
		}
		record(id, jwt);
		rc = check_assertion(id, jwt, client_id, rq->endpoint_url,
				     &code, desc, sizeof(desc));
		memset(jwt, 0, ASSERTION_MAX);
		free(jwt);
		if(!rc)
			return 1;
		rc = identity_error(r, 401, "invalid_client", code, desc);
		return rc ? -2 : -1;
	}
	free(jwt);
	if(rc < 0) {
		rc = identity_error(r, 400, "invalid_request", 50027,
				    "JWT token is invalid or malformed.");
		return rc ? -2 : -1;
	}
	if(public_ok && cfg->public_client)
		return 0;
	rc = identity_error(r, 401, "invalid_client", 7000218,
			    "The request body must contain the following "
			    "parameter: 'client_assertion' or "
			    "'client_secret'.");
	return rc ? -2 : -1;
}

/* ---- replies ---- */

/* The --aad-error mode's reply; 0 when none is configured. */
static int configured_error(struct identity *id, struct identity_reply *r,
			    int *rc)
{
	static const struct {
		long code;
		const char *error;
		const char *desc;
	} errors[] = {
		{65001, "invalid_grant", "The user or administrator has not "
		 "consented to use the application. Send an interactive "
		 "authorization request for this user and resource."},
		{50076, "invalid_grant", "Due to a configuration change made "
		 "by your administrator, or because you moved to a new "
		 "location, you must use multi-factor authentication to "
		 "access the resource."},
		{50078, "invalid_grant", "Presented multi-factor "
		 "authentication has expired due to policies configured by "
		 "your administrator, you must refresh your multi-factor "
		 "authentication to access the resource."},
		{700007, "invalid_grant", "The refresh token was issued to a "
		 "different client ID than the one presented."},
		{50173, "invalid_grant", "The provided grant has expired due "
		 "to it being revoked, a fresh auth token is needed. The user "
		 "might have changed or reset their password."},
		{700082, "invalid_grant", "The refresh token has expired due "
		 "to inactivity. The token was issued on 2025-01-01T00:00:00Z "
		 "and was inactive for 90.00:00:00."},
		{700027, "invalid_client", "The certificate with identifier "
		 "used to sign the client assertion is not registered on "
		 "application."},
	};

	if(!id->cfg->aad_error)
		return 0;
	for(size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if(errors[i].code == id->cfg->aad_error) {
			unsigned status = errors[i].code == 700027 ? 401 : 400;

			*rc = identity_error(r, status, errors[i].error,
					     errors[i].code, errors[i].desc);
			return 1;
		}
	*rc = identity_error(r, 400, "invalid_grant", id->cfg->aad_error,
			     "pcsim: the configured error.");
	return 1;
}

static void note_scope(struct identity *id, const char *target)
{
	pthread_mutex_lock(&id->mu);
	snprintf(id->last_scope, sizeof(id->last_scope), "%s", target);
	pthread_mutex_unlock(&id->mu);
}

/*
 * A token reply: an access token (into the token store), and a new
 * refresh token for client_id when with_refresh. target is the scope
 * (v2) or the resource (v1).
 */
static int token_reply(struct identity *id, const struct identity_request *rq,
		       const char *target, bool with_refresh,
		       struct identity_reply *r)
{
	const struct pcsim_config *cfg = id->cfg;
	char at[TOKEN_STR_LEN + 1], rt[TOKEN_STR_LEN + 1];
	uint64_t now_ns = pcsim_now_ns();
	struct buf *b = &r->body;
	int rc = -1;

	if(!id->tokens ||
	   token_store_issue(id->tokens, now_ns,
			     now_ns + (uint64_t)cfg->token_ttl * NS, at))
		return -1;
	if(with_refresh &&
	   (token_random(rt) ||
	    refresh_store_add(id->refresh, rt, TOKEN_STR_LEN,
			      cfg->client_id, now_ns)))
		goto out;
	r->status = 200;
	r->issued = true;
	buf_reset(b);
	if(rq->v2) {
		if(buf_addf(b, "{\"token_type\":\"Bearer\",\"scope\":") ||
		   add_json_string(b, target) ||
		   buf_addf(b, ",\"expires_in\":%u,\"ext_expires_in\":%u,"
			    "\"access_token\":\"%s\"", cfg->token_ttl,
			    cfg->token_ttl, at))
			goto out;
	} else {
		long long now = (long long)wall_s();

		if(buf_addf(b, "{\"token_type\":\"Bearer\",\"expires_in\":"
			    "\"%u\",\"ext_expires_in\":\"%u\",\"expires_on\":"
			    "\"%lld\",\"not_before\":\"%lld\",\"resource\":",
			    cfg->token_ttl, cfg->token_ttl,
			    now + cfg->token_ttl, now - 300) ||
		   add_json_string(b, target) ||
		   buf_addf(b, ",\"access_token\":\"%s\"", at))
			goto out;
	}
	if(with_refresh && buf_addf(b, ",\"refresh_token\":\"%s\"", rt))
		goto out;
	rc = buf_addch(b, '}') ? -1 : 0;
	if(!rc)
		note_scope(id, target);
out:
	memset(at, 0, sizeof(at));
	memset(rt, 0, sizeof(rt));
	return rc;
}

/* ---- grants ---- */

static int refresh_grant(struct identity *id,
			 const struct identity_request *rq,
			 const char *target, struct identity_reply *r)
{
	const struct pcsim_config *cfg = id->cfg;
	char *tok = malloc(REFRESH_TOKEN_MAX + 1), desc[512];
	uint64_t ago = 0;
	enum refresh_check rc;
	int got, ret;

	if(!tok)
		return -1;
	got = identity_form_get(rq->body, "refresh_token", tok,
				REFRESH_TOKEN_MAX + 1);
	if(got != 1) {
		free(tok);
		return missing_param(r, "refresh_token");
	}
	rc = refresh_store_redeem(id->refresh, tok, strlen(tok),
				  cfg->client_id, pcsim_now_ns(),
				  (uint64_t)cfg->refresh_grace_ms * 1000000u,
				  (uint64_t)cfg->refresh_ttl_s * NS, &ago);
	memset(tok, 0, REFRESH_TOKEN_MAX + 1);
	free(tok);
	switch(rc) {
	case REFRESH_OK:
	case REFRESH_OK_GRACE:
		count(&id->n.refresh_rotations);
		if(rc == REFRESH_OK_GRACE)
			count(&id->n.refresh_grace_uses);
		return token_reply(id, rq, target, true, r);
	case REFRESH_USED:
		snprintf(desc, sizeof(desc), "The refresh token has expired "
			 "due to inactivity. (pcsim: it was redeemed %llu ms "
			 "ago and replaced; a used refresh token is honoured "
			 "for %u ms.)", (unsigned long long)(ago / 1000000u),
			 cfg->refresh_grace_ms);
		ret = identity_error(r, 400, "invalid_grant", 700082, desc);
		break;
	case REFRESH_EXPIRED:
		ret = identity_error(r, 400, "invalid_grant", 700082,
				     "The refresh token has expired due to "
				     "inactivity.");
		break;
	case REFRESH_OTHER_CLIENT:
		ret = identity_error(r, 400, "invalid_grant", 700007,
				     "The refresh token was issued to a "
				     "different client ID.");
		break;
	case REFRESH_UNKNOWN:
	default:
		ret = identity_error(r, 400, "invalid_grant", 9002313,
				     "Invalid request. Request is malformed "
				     "or invalid.");
		break;
	}
	count(&id->n.refresh_refused);
	return ret;
}

static struct device *find_device(struct identity *id, const char *code)
{
	struct device *d;

	for(d = id->devices; d; d = d->next)
		if(secret_equal(d->code, code))
			return d;
	return NULL;
}

enum device_answer {
	ANSWER_PENDING, ANSWER_SLOW_DOWN, ANSWER_APPROVED, ANSWER_DECLINED,
	ANSWER_EXPIRED, ANSWER_UNKNOWN, ANSWER_USED
};

/* The answer to one poll of code, decided under the lock. */
static enum device_answer poll_device(struct identity *id, const char *code,
				      char *scope, size_t cap)
{
	const struct pcsim_config *cfg = id->cfg;
	uint64_t now = pcsim_now_ns();
	enum device_answer a;
	struct device *d;

	pthread_mutex_lock(&id->mu);
	d = find_device(id, code);
	if(!d) {
		a = ANSWER_UNKNOWN;
		goto out;
	}
	if(d->done) {
		a = ANSWER_USED;
		goto out;
	}
	count(&id->n.device_polls);
	if(now >= d->expires_ns) {
		a = ANSWER_EXPIRED;
		d->done = true;
		goto out;
	}
	/* RFC 8628 §3.5: polling faster than the interval is slowed. */
	if(d->last_answer_ns &&
	   now < d->last_answer_ns + (uint64_t)d->interval_s * NS) {
		count(&id->n.device_early_polls);
		d->interval_s += 5;
		a = ANSWER_SLOW_DOWN;
		goto answered;
	}
	d->polls++;
	if(cfg->device_mode == DEVICE_SLOW_DOWN && d->polls == 1) {
		d->interval_s += 5;
		a = ANSWER_SLOW_DOWN;
		goto answered;
	}
	if(d->polls < cfg->device_approve_after) {
		a = ANSWER_PENDING;
		goto answered;
	}
	d->done = true;
	a = cfg->device_mode == DEVICE_DECLINE ? ANSWER_DECLINED :
	    cfg->device_mode == DEVICE_EXPIRE ? ANSWER_EXPIRED :
	    ANSWER_APPROVED;
	snprintf(scope, cap, "%s", d->scope);
answered:
	d->last_answer_ns = pcsim_now_ns();
out:
	pthread_mutex_unlock(&id->mu);
	return a;
}

static int device_grant(struct identity *id, const struct identity_request *rq,
			struct identity_reply *r)
{
	char code[FORM_VALUE_MAX], scope[FORM_VALUE_MAX] = "";
	enum device_answer a;

	if(identity_form_get(rq->body, "device_code", code,
			     sizeof(code)) != 1)
		return missing_param(r, "device_code");
	a = poll_device(id, code, scope, sizeof(scope));
	memset(code, 0, sizeof(code));
	switch(a) {
	case ANSWER_PENDING:
		return identity_error(r, 400, "authorization_pending", 70016,
				      "OAuth 2.0 device flow error. "
				      "Authorization is pending. Continue "
				      "polling.");
	case ANSWER_SLOW_DOWN:
		return identity_error(r, 400, "slow_down", 70016,
				      "OAuth 2.0 device flow error: polling "
				      "too fast, slow down (interval + 5 s).");
	case ANSWER_DECLINED:
		count(&id->n.device_declined);
		return identity_error(r, 400, "authorization_declined", 70000,
				      "The end user declined the authorization "
				      "request.");
	case ANSWER_EXPIRED:
		count(&id->n.device_expired);
		return identity_error(r, 400, "expired_token", 70019,
				      "Verification code expired.");
	case ANSWER_USED:
		return identity_error(r, 400, "invalid_grant", 54005,
				      "OAuth2 Authorization code was already "
				      "redeemed.");
	case ANSWER_UNKNOWN:
		return identity_error(r, 400, "invalid_grant", 70000, "The "
				      "provided device code is not valid.");
	case ANSWER_APPROVED:
		break;
	}
	count(&id->n.device_approved);
	return token_reply(id, rq, scope, strstr(scope, "offline_access"),
			   r);
}

int identity_token(struct identity *id, const struct identity_request *rq,
		   struct identity_reply *r)
{
	char grant[FORM_VALUE_MAX], cid[FORM_VALUE_MAX], target[FORM_VALUE_MAX];
	const char *tname = rq->v2 ? "scope" : "resource";
	bool refresh, device;
	int rc;

	if(identity_form_get(rq->body, "grant_type", grant, sizeof(grant)) != 1)
		return missing_param(r, "grant_type");
	refresh = !strcmp(grant, "refresh_token");
	device = !strcmp(grant, DEVICE_GRANT);
	if(!refresh && !device && strcmp(grant, "client_credentials"))
		return identity_error(r, 400, "unsupported_grant_type", 70003,
				      "The app requested an unsupported grant "
				      "type.");
	count(refresh ? &id->n.grant_refresh : device ? &id->n.grant_device :
	      &id->n.grant_cc);
	if(identity_form_get(rq->body, "client_id", cid, sizeof(cid)) != 1)
		return missing_param(r, "client_id");
	/* The client-credentials grant names the secret it misses, as it
	 * always did here. */
	if(!refresh && !device && !form_has(rq->body, "client_secret") &&
	   !form_has(rq->body, "client_assertion"))
		return missing_param(r, "client_secret");
	rc = client_auth(id, rq, cid, refresh || device, r);
	if(rc == -2)
		return -1;
	if(rc == -1)
		return 0;
	if(configured_error(id, r, &rc))
		return rc;
	if(device)
		return device_grant(id, rq, r);
	if(identity_form_get(rq->body, tname, target, sizeof(target)) != 1)
		return missing_param(r, tname);
	if(refresh)
		return refresh_grant(id, rq, target, r);
	return token_reply(id, rq, target, false, r);
}

int identity_devicecode(struct identity *id,
			const struct identity_request *rq,
			struct identity_reply *r)
{
	const struct pcsim_config *cfg = id->cfg;
	char cid[FORM_VALUE_MAX], desc[512];
	struct device *d;

	if(identity_form_get(rq->body, "client_id", cid, sizeof(cid)) != 1)
		return missing_param(r, "client_id");
	if(!cfg->client_id || strcmp(cid, cfg->client_id)) {
		snprintf(desc, sizeof(desc), "Application with identifier "
			 "'%.200s' was not found in the directory.", cid);
		return identity_error(r, 400, "unauthorized_client", 700016,
				      desc);
	}
	d = calloc(1, sizeof(*d));
	if(!d)
		return -1;
	if(identity_form_get(rq->body, "scope", d->scope,
			     sizeof(d->scope)) != 1) {
		free(d);
		return missing_param(r, "scope");
	}
	if(token_random(d->code)) {
		free(d);
		return -1;
	}
	for(int i = 0; i < 9; i++)
		d->user_code[i] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
			[(unsigned char)d->code[i] % 32];
	d->interval_s = cfg->device_interval;
	d->expires_ns = pcsim_now_ns() + (uint64_t)cfg->device_expires_in * NS;
	r->status = 200;
	if(buf_addf(&r->body, "{\"user_code\":\"%s\",\"device_code\":\"%s\","
		    "\"verification_uri\":\"%s/devicelogin\",\"expires_in\":"
		    "%u,\"interval\":%u,\"message\":\"To sign in, use a web "
		    "browser to open the page %s/devicelogin and enter the "
		    "code %s to authenticate.\"}", d->user_code, d->code,
		    rq->base_url, cfg->device_expires_in, d->interval_s,
		    rq->base_url, d->user_code)) {
		free(d);
		return -1;
	}
	pthread_mutex_lock(&id->mu);
	d->next = id->devices;
	id->devices = d;
	pthread_mutex_unlock(&id->mu);
	count(&id->n.device_codes);
	return 0;
}

/* ---- /stats ---- */

int identity_stats(struct identity *id, struct buf *out)
{
	struct counters *n = &id->n;
	char scope[FORM_VALUE_MAX];

	if(!id->cfg->client_id)
		return 0;  /* no token endpoint, nothing to count */
#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), \
	memory_order_relaxed))
	pthread_mutex_lock(&id->mu);
	memcpy(scope, id->last_scope, sizeof(scope));
	pthread_mutex_unlock(&id->mu);
	if(buf_addf(out, ",\"identity\":{\"grants\":{\"client_credentials\":"
		    "%llu,\"refresh_token\":%llu,\"device_code\":%llu},"
		    "\"refresh_rotations\":%llu,\"refresh_grace_uses\":%llu,"
		    "\"refresh_refused\":%llu,\"assertions_ok\":%llu,"
		    "\"assertions_refused\":%llu,\"assertion_replays\":%llu,"
		    "\"device_codes\":%llu,\"device_polls\":%llu,"
		    "\"device_early_polls\":%llu,\"device_approved\":%llu,"
		    "\"device_declined\":%llu,\"device_expired\":%llu,"
		    "\"last_scope\":",
		    LOAD(n->grant_cc), LOAD(n->grant_refresh),
		    LOAD(n->grant_device), LOAD(n->refresh_rotations),
		    LOAD(n->refresh_grace_uses), LOAD(n->refresh_refused),
		    LOAD(n->assertions_ok), LOAD(n->assertions_refused),
		    LOAD(n->assertion_replays), LOAD(n->device_codes),
		    LOAD(n->device_polls), LOAD(n->device_early_polls),
		    LOAD(n->device_approved), LOAD(n->device_declined),
		    LOAD(n->device_expired)) ||
	   add_json_string(out, scope) || buf_addch(out, '}'))
		return -1;
#undef LOAD
	return 0;
}

void identity_stats_reset(struct identity *id)
{
	struct counters *n = &id->n;
	atomic_uint_fast64_t *all[] = {
		&n->grant_cc, &n->grant_refresh, &n->grant_device,
		&n->refresh_rotations, &n->refresh_grace_uses,
		&n->refresh_refused, &n->assertions_ok, &n->assertions_refused,
		&n->assertion_replays, &n->device_codes, &n->device_polls,
		&n->device_early_polls, &n->device_approved,
		&n->device_declined, &n->device_expired,
	};

	for(size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		atomic_store(all[i], 0);
	pthread_mutex_lock(&id->mu);
	id->last_scope[0] = '\0';
	pthread_mutex_unlock(&id->mu);
}
