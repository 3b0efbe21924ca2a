#include "assertion.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "civil.h"
#include "ids.h"
#include "secret_file.h"

/* Entra ID refuses shorter RSA keys for certificate credentials. */
#define MIN_RSA_BITS 2048

struct assertion_key {
	X509 *cert;
	EVP_PKEY *pkey;
	enum assertion_alg alg;
	char *path;
	char thumbprint[2 * 20 + 1];   /* SHA-1, upper-case hex */
	char x5t[64];                  /* base64url thumbprint for alg */
	int64_t not_before;
	int64_t not_after;
};

const char *assertion_alg_name(enum assertion_alg alg)
{
	return alg == ASSERTION_RS256 ? "RS256" : "PS256";
}

bool assertion_alg_parse(const char *s, enum assertion_alg *out)
{
	if(!strcasecmp(s, "PS256"))
		*out = ASSERTION_PS256;
	else if(!strcasecmp(s, "RS256"))
		*out = ASSERTION_RS256;
	else
		return false;
	return true;
}

enum pl_status assertion_b64url(const unsigned char *in, size_t len,
				struct buf *out)
{
	size_t start = out->len, n;
	enum pl_status st;
	int w;

	if(len > (size_t)INT_MAX / 4 * 3 - 3)
		return PL_ELIMIT;
	n = (len + 2) / 3 * 4;
	st = buf_grow(out, n);
	if(st)
		return st;
	w = EVP_EncodeBlock((unsigned char *)out->data + start, in, (int)len);
	if(w < 0)
		return PL_EINTERNAL;
	n = (size_t)w;
	for(size_t i = start; i < start + n; i++) {
		if(out->data[i] == '+')
			out->data[i] = '-';
		else if(out->data[i] == '/')
			out->data[i] = '_';
	}
	while(n > 0 && out->data[start + n - 1] == '=')
		n--;
	out->len = start + n;
	out->data[out->len] = '\0';
	return PL_OK;
}

void assertion_key_free(struct assertion_key *k)
{
	if(!k)
		return;
	X509_free(k->cert);
	EVP_PKEY_free(k->pkey);
	free(k->path);
	free(k);
}

/* What the passphrase callback knows and learns. */
struct pass_ctx {
	const char *passphrase;
	bool asked;
};

/* OpenSSL asks only for an encrypted key. Without a passphrase, refuse
 * (OpenSSL would otherwise prompt on the terminal). */
static int pass_cb(char *out, int size, int rwflag, void *u)
{
	struct pass_ctx *p = u;
	size_t n;

	(void)rwflag;
	p->asked = true;
	if(!p->passphrase || size <= 0)
		return -1;
	n = strlen(p->passphrase);
	if(n > (size_t)size)
		return -1;
	memcpy(out, p->passphrase, n);
	return (int)n;
}

/* ASN1 time -> Unix seconds; false when it cannot be read. */
static bool asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if(!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return false;
	*out = civil_days((int64_t)tm.tm_year + 1900,
			  (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday) *
	       86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return true;
}

#define UTC_MAX 64

enum pl_status assertion_key_check_time(const struct assertion_key *k,
					int64_t now_s, struct pl_err *err)
{
	char a[UTC_MAX], b[UTC_MAX];

	if(now_s >= k->not_after) {
		civil_format_utc(k->not_after, a, sizeof(a));
		return pl_fail(err, PL_EAUTH, "certificate %s (thumbprint %s) "
			       "expired on %s: renew it, upload the new one "
			       "to the app registration and point "
			       "--client-cert at it", k->path, k->thumbprint,
			       a);
	}
	if(now_s < k->not_before) {
		civil_format_utc(k->not_before, a, sizeof(a));
		civil_format_utc(now_s, b, sizeof(b));
		return pl_fail(err, PL_EAUTH, "certificate %s (thumbprint %s) "
			       "is not valid before %s (now %s): check the "
			       "clock or use the current certificate",
			       k->path, k->thumbprint, a, b);
	}
	return PL_OK;
}

static enum pl_status read_cert(struct assertion_key *k,
				const struct buf *pem, struct pl_err *err)
{
	struct pass_ctx none = {NULL, false};
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);

	if(!bio)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	k->cert = PEM_read_bio_X509(bio, NULL, pass_cb, &none);
	BIO_free(bio);
	ERR_clear_error();
	if(!k->cert)
		return pl_fail(err, PL_EUSAGE, "%s holds no PEM certificate "
			       "(-----BEGIN CERTIFICATE-----)", k->path);
	return PL_OK;
}

static enum pl_status read_key(struct assertion_key *k, const char *path,
			       const struct buf *pem, const char *passphrase,
			       struct pl_err *err)
{
	struct pass_ctx pc = {passphrase, false};
	BIO *bio = BIO_new_mem_buf(pem->data, (int)pem->len);

	if(!bio)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	k->pkey = PEM_read_bio_PrivateKey(bio, NULL, pass_cb, &pc);
	BIO_free(bio);
	ERR_clear_error();
	if(k->pkey)
		return PL_OK;
	if(pc.asked && !passphrase)
		return pl_fail(err, PL_EUSAGE, "the private key in %s is "
			       "encrypted: give its passphrase in a file "
			       "with --client-key-passphrase-file or in "
			       "PARTNER_CENTER_KEY_PASSPHRASE", path);
	if(pc.asked)
		return pl_fail(err, PL_EUSAGE, "cannot decrypt the private "
			       "key in %s: wrong passphrase", path);
	return pl_fail(err, PL_EUSAGE, "%s holds no PEM private key "
		       "(-----BEGIN PRIVATE KEY-----)%s", path,
		       k->path == path || !strcmp(k->path, path) ?
		       ": give the key with --client-key" : "");
}

static enum pl_status check_key(struct assertion_key *k, const char *kpath,
				struct pl_err *err)
{
	int id = EVP_PKEY_base_id(k->pkey);

	if(id != EVP_PKEY_RSA && !(id == EVP_PKEY_RSA_PSS &&
				   k->alg == ASSERTION_PS256))
		return pl_fail(err, PL_EUSAGE, "the private key in %s is not "
			       "an RSA key: client assertions for Entra ID "
			       "are signed with RSA (PS256 or RS256)", kpath);
	if(EVP_PKEY_bits(k->pkey) < MIN_RSA_BITS)
		return pl_fail(err, PL_EUSAGE, "the RSA key in %s has %d bits; "
			       "Entra ID needs at least %d", kpath,
			       EVP_PKEY_bits(k->pkey), MIN_RSA_BITS);
	if(X509_check_private_key(k->cert, k->pkey) != 1) {
		ERR_clear_error();
		return pl_fail(err, PL_EUSAGE, "the private key in %s does not "
			       "belong to the certificate in %s", kpath,
			       k->path);
	}
	return PL_OK;
}

static enum pl_status thumbprints(struct assertion_key *k,
				  struct pl_err *err)
{
	static const char hex[] = "0123456789ABCDEF";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	struct buf b = BUF_INIT;
	enum pl_status st;

	if(!X509_digest(k->cert, EVP_sha1(), md, &n) || n != 20)
		return pl_fail(err, PL_EINTERNAL, "cannot hash the certificate "
			       "in %s", k->path);
	for(unsigned i = 0; i < n; i++) {
		k->thumbprint[2 * i] = hex[md[i] >> 4];
		k->thumbprint[2 * i + 1] = hex[md[i] & 15];
	}
	k->thumbprint[2 * n] = '\0';
	if(k->alg == ASSERTION_PS256 &&
	   (!X509_digest(k->cert, EVP_sha256(), md, &n) || n != 32))
		return pl_fail(err, PL_EINTERNAL, "cannot hash the certificate "
			       "in %s", k->path);
	st = assertion_b64url(md, n, &b);
	if(!st && b.len < sizeof(k->x5t))
		memcpy(k->x5t, b.data, b.len + 1);
	buf_release(&b);
	return st ? pl_fail(err, st, "out of memory") : PL_OK;
}

enum pl_status assertion_key_load(const struct assertion_config *cfg,
				  int64_t now_s, struct assertion_key **out,
				  struct pl_err *err)
{
	struct assertion_key *k = calloc(1, sizeof(*k));
	struct buf pem, kpem;
	const char *kpath = cfg->key_path ? cfg->key_path : cfg->cert_path;
	enum pl_status st;

	*out = NULL;
	buf_init_secret(&pem, ASSERTION_PEM_MAX);
	buf_init_secret(&kpem, ASSERTION_PEM_MAX);
	if(!k || !(k->path = strdup(cfg->cert_path))) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	k->alg = cfg->alg;
	st = secret_file_read_all(cfg->cert_path, ASSERTION_PEM_MAX, &pem,
				  err);
	if(!st)
		st = read_cert(k, &pem, err);
	if(!st && cfg->key_path)
		st = secret_file_read_all(cfg->key_path, ASSERTION_PEM_MAX,
					  &kpem, err);
	if(!st)
		st = read_key(k, kpath, cfg->key_path ? &kpem : &pem,
			      cfg->passphrase, err);
	if(!st)
		st = check_key(k, kpath, err);
	if(!st)
		st = thumbprints(k, err);
	if(st)
		goto out;
	if(!asn1_to_unix(X509_get0_notBefore(k->cert), &k->not_before) ||
	   !asn1_to_unix(X509_get0_notAfter(k->cert), &k->not_after)) {
		st = pl_fail(err, PL_EUSAGE, "the certificate in %s has an "
			     "unreadable validity period", k->path);
		goto out;
	}
	st = assertion_key_check_time(k, now_s, err);
out:
	buf_release(&pem);
	buf_release(&kpem);
	if(st) {
		assertion_key_free(k);
		return st;
	}
	*out = k;
	return PL_OK;
}

const char *assertion_key_thumbprint(const struct assertion_key *k)
{
	return k->thumbprint;
}

const char *assertion_key_path(const struct assertion_key *k)
{
	return k->path;
}

int64_t assertion_key_not_after(const struct assertion_key *k)
{
	return k->not_after;
}

/* One JSON object as compact text, base64url-encoded onto out. */
static enum pl_status add_part(struct json_object *o, struct buf *out)
{
	const char *s = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	if(!s)
		return PL_ENOMEM;
	return assertion_b64url((const unsigned char *)s, strlen(s), out);
}

static enum pl_status add_str(struct json_object *o, const char *key,
			      const char *val)
{
	struct json_object *v = json_object_new_string(val);

	if(!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return PL_ENOMEM;
	}
	return PL_OK;
}

static enum pl_status add_int(struct json_object *o, const char *key,
			      int64_t val)
{
	struct json_object *v = json_object_new_int64(val);

	if(!v || json_object_object_add(o, key, v)) {
		json_object_put(v);
		return PL_ENOMEM;
	}
	return PL_OK;
}

/* header.claims, base64url each, onto out. */
static enum pl_status signing_input(const struct assertion_key *k,
				    const char *client_id, const char *aud,
				    int64_t now_s, const char *jti,
				    struct buf *out)
{
	struct json_object *h = json_object_new_object();
	struct json_object *c = json_object_new_object();
	enum pl_status st = h && c ? PL_OK : PL_ENOMEM;

	if(!st)
		st = add_str(h, "alg", assertion_alg_name(k->alg));
	if(!st)
		st = add_str(h, "typ", "JWT");
	if(!st)
		st = add_str(h, k->alg == ASSERTION_PS256 ? "x5t#S256" : "x5t",
			     k->x5t);
	if(!st)
		st = add_str(c, "aud", aud);
	if(!st)
		st = add_str(c, "iss", client_id);
	if(!st)
		st = add_str(c, "sub", client_id);
	if(!st)
		st = add_str(c, "jti", jti);
	if(!st)
		st = add_int(c, "nbf", now_s);
	if(!st)
		st = add_int(c, "iat", now_s);
	if(!st)
		st = add_int(c, "exp", now_s + ASSERTION_LIFETIME_S);
	if(!st)
		st = add_part(h, out);
	if(!st)
		st = buf_addch(out, '.');
	if(!st)
		st = add_part(c, out);
	json_object_put(h);
	json_object_put(c);
	return st;
}

static enum pl_status sign(const struct assertion_key *k,
			   const struct buf *input, struct buf *out,
			   struct pl_err *err)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *sig = NULL;
	size_t siglen = 0;
	enum pl_status st = PL_OK;

	if(!md)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, k->pkey) != 1)
		goto fail;
	if(k->alg == ASSERTION_PS256) {
		if(EVP_PKEY_CTX_set_rsa_padding(pctx,
						RSA_PKCS1_PSS_PADDING) != 1 ||
		   EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx,
						    RSA_PSS_SALTLEN_DIGEST) !=
		   1 ||
		   EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1)
			goto fail;
	} else if(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) !=
		  1) {
		goto fail;
	}
	if(EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)input->data,
			  input->len) != 1)
		goto fail;
	sig = malloc(siglen);
	if(!sig) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	if(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)input->data,
			  input->len) != 1)
		goto fail;
	st = assertion_b64url(sig, siglen, out);
	if(st)
		st = pl_fail(err, st, "out of memory");
	goto out;
fail:
	st = pl_fail(err, PL_EINTERNAL, "cannot sign the client assertion "
		     "with the key of %s: %s", k->path,
		     ERR_reason_error_string(ERR_peek_last_error()) ?
		     ERR_reason_error_string(ERR_peek_last_error()) :
		     "OpenSSL error");
	ERR_clear_error();
out:
	if(sig) {
		OPENSSL_cleanse(sig, siglen);
		free(sig);
	}
	EVP_MD_CTX_free(md);
	return st;
}

enum pl_status assertion_build(const struct assertion_key *k,
			       const char *client_id, const char *aud,
			       int64_t now_s, const char *jti,
			       struct buf *out, struct pl_err *err)
{
	char fresh[GUID_STR_LEN + 1];
	struct buf sig;
	enum pl_status st;

	buf_reset(out);
	st = assertion_key_check_time(k, now_s, err);
	if(st)
		return st;
	if(!jti) {
		ids_new_correlation(fresh);
		jti = fresh;
	}
	st = signing_input(k, client_id, aud, now_s, jti, out);
	if(st)
		return pl_fail(err, st, "out of memory");
	buf_init_secret(&sig, 0);
	st = sign(k, out, &sig, err);
	if(!st && (buf_addch(out, '.') || buf_add(out, sig.data, sig.len)))
		st = pl_fail(err, PL_ENOMEM, "out of memory");
	buf_release(&sig);
	if(st)
		buf_reset(out);
	return st;
}
