/*
 * test_assertion.c: certificate credentials (assertion.h). The test makes
 * its own RSA keys and certificates with OpenSSL, loads them the ways a
 * user gives them (one PEM file, a separate key file, an encrypted key),
 * builds client assertions and checks each one the way the identity
 * platform does: the header's alg and thumbprint, the claims, and the
 * signature verified with OpenSSL against the certificate's public key
 * (PS256 and RS256). Refusals: expired and not-yet-valid certificates, a
 * key of another certificate, a non-RSA key, a short key, a missing or
 * wrong passphrase, files without PEM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "assertion.h"
#include "testutil.h"

#define CLIENT_ID "11111111-2222-3333-4444-555555555555"
#define AUD "https://login.microsoftonline.com/contoso.onmicrosoft.com/" \
	    "oauth2/v2.0/token"
#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */

struct fixture {
	char dir[64];
	char path[256];
	EVP_PKEY *key;        /* 2048-bit RSA */
	EVP_PKEY *other;      /* another RSA key */
};

static struct fixture *fx;

static EVP_PKEY *rsa_key(int bits)
{
	EVP_PKEY *k = EVP_RSA_gen((unsigned)bits);

	assert_non_null(k);
	return k;
}

/* A self-signed certificate for key, valid from `from` to `to` (Unix
 * seconds). */
static X509 *make_cert(EVP_PKEY *key, int64_t from, int64_t to)
{
	X509 *c = X509_new();
	X509_NAME *n;

	assert_non_null(c);
	X509_set_version(c, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c), 42);
	assert_non_null(ASN1_TIME_set(X509_getm_notBefore(c), (time_t)from));
	assert_non_null(ASN1_TIME_set(X509_getm_notAfter(c), (time_t)to));
	X509_set_pubkey(c, key);
	n = X509_get_subject_name(c);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"qualreport test",
				   -1, -1, 0);
	X509_set_issuer_name(c, n);
	assert_true(X509_sign(c, key, EVP_sha256()) > 0);
	return c;
}

/* Write a PEM file dir/name with the certificate and/or key (key
 * encrypted with pass when pass is not NULL). */
static const char *write_pem(const char *name, X509 *cert, EVP_PKEY *key,
			     const char *pass)
{
	static char path[4][256];
	static int next;
	char *p = path[next++ % 4];
	FILE *f;

	snprintf(p, 256, "%s/%s", fx->dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	if(cert)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	if(key && pass)
		assert_int_equal(PEM_write_PKCS8PrivateKey(
			f, key, EVP_aes_256_cbc(), NULL, 0, NULL,
			(void *)pass), 1);
	else if(key)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
						      NULL, NULL), 1);
	assert_int_equal(fclose(f), 0);
	return p;
}

static int setup(void **state)
{
	(void)state;
	fx = calloc(1, sizeof(*fx));
	if(!fx || testutil_mkdtemp(fx->dir, sizeof(fx->dir), "assert"))
		return -1;
	fx->key = EVP_RSA_gen(2048);
	fx->other = EVP_RSA_gen(2048);
	return fx->key && fx->other ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(fx->key);
	EVP_PKEY_free(fx->other);
	testutil_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* base64url -> bytes (test side: OpenSSL's decoder after re-padding). */
static unsigned char *b64url_decode(const char *s, size_t n, size_t *outlen)
{
	size_t padded = (n + 3) / 4 * 4;
	char *t = calloc(1, padded + 1);
	unsigned char *out = malloc(padded);
	int len;

	assert_non_null(t);
	assert_non_null(out);
	for(size_t i = 0; i < n; i++) {
		assert_true(s[i] != '+' && s[i] != '/' && s[i] != '=');
		t[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	}
	for(size_t i = n; i < padded; i++)
		t[i] = '=';
	len = EVP_DecodeBlock(out, (unsigned char *)t, (int)padded);
	assert_true(len >= 0);
	/* DecodeBlock counts the padding as zero bytes. */
	len -= (int)(padded - n);
	free(t);
	*outlen = (size_t)len;
	return out;
}

static struct json_object *decode_json(const char *s, size_t n)
{
	size_t len;
	unsigned char *raw = b64url_decode(s, n, &len);
	char *z = calloc(1, len + 1);
	struct json_object *o;

	memcpy(z, raw, len);
	o = json_tokener_parse(z);
	assert_non_null(o);
	free(raw);
	free(z);
	return o;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

static int64_t num(struct json_object *o, const char *key)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v) ||
	   !json_object_is_type(v, json_type_int))
		fail_msg("no number %s", key);
	return json_object_get_int64(v);
}

/* The base64url thumbprint of cert with md, as the platform expects. */
static void thumb(X509 *cert, const EVP_MD *md, char *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n;
	struct buf b = BUF_INIT;

	assert_int_equal(X509_digest(cert, md, d, &n), 1);
	assert_int_equal(assertion_b64url(d, n, &b), PL_OK);
	strcpy(out, b.data);
	buf_release(&b);
}

/* Verify jwt as an identity platform would, with cert's public key. */
static void verify(const char *jwt, X509 *cert, enum assertion_alg alg,
		   const char *jti)
{
	const char *d1 = strchr(jwt, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : 0;
	struct json_object *h, *c;
	unsigned char *sig;
	size_t siglen;
	char want[128];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(cert);

	assert_non_null(d2);
	assert_null(strchr(d2 + 1, '.'));
	h = decode_json(jwt, (size_t)(d1 - jwt));
	c = decode_json(d1 + 1, (size_t)(d2 - d1 - 1));
	assert_string_equal(str(h, "alg"), assertion_alg_name(alg));
	assert_string_equal(str(h, "typ"), "JWT");
	if(alg == ASSERTION_PS256) {
		thumb(cert, EVP_sha256(), want);
		assert_string_equal(str(h, "x5t#S256"), want);
		assert_int_equal(strlen(want), 43);
		assert_false(json_object_object_get_ex(h, "x5t", NULL));
	} else {
		thumb(cert, EVP_sha1(), want);
		assert_string_equal(str(h, "x5t"), want);
		assert_int_equal(strlen(want), 27);
		assert_false(json_object_object_get_ex(h, "x5t#S256", NULL));
	}
	assert_int_equal(json_object_object_length(h), 3);
	assert_string_equal(str(c, "aud"), AUD);
	assert_string_equal(str(c, "iss"), CLIENT_ID);
	assert_string_equal(str(c, "sub"), CLIENT_ID);
	if(jti)
		assert_string_equal(str(c, "jti"), jti);
	assert_int_equal(strlen(str(c, "jti")), 36);
	assert_int_equal(num(c, "nbf"), NOW);
	assert_int_equal(num(c, "iat"), NOW);
	assert_int_equal(num(c, "exp"), NOW + ASSERTION_LIFETIME_S);
	assert_true(ASSERTION_LIFETIME_S >= 120 && ASSERTION_LIFETIME_S <= 600);

	sig = b64url_decode(d2 + 1, strlen(d2 + 1), &siglen);
	assert_int_equal(siglen, 256);
	assert_int_equal(EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), NULL,
					      pub), 1);
	if(alg == ASSERTION_PS256) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(
			pctx, RSA_PKCS1_PSS_PADDING), 1);
		/* The platform expects salt length = digest length. */
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_mgf1_md(pctx,
							      EVP_sha256()), 1);
	} else {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(
			pctx, RSA_PKCS1_PADDING), 1);
	}
	assert_int_equal(EVP_DigestVerify(md, sig, siglen,
					  (const unsigned char *)jwt,
					  (size_t)(d2 - jwt)), 1);
	/* One changed byte of the claims and it no longer verifies. */
	{
		char *bad = strdup(jwt);
		EVP_MD_CTX *m2 = EVP_MD_CTX_new();
		EVP_PKEY_CTX *p2 = NULL;

		bad[d1 - jwt + 3] ^= 1;
		EVP_DigestVerifyInit(m2, &p2, EVP_sha256(), NULL, pub);
		EVP_PKEY_CTX_set_rsa_padding(p2, alg == ASSERTION_PS256 ?
					     RSA_PKCS1_PSS_PADDING :
					     RSA_PKCS1_PADDING);
		assert_int_not_equal(EVP_DigestVerify(m2, sig, siglen,
			(const unsigned char *)bad, (size_t)(d2 - jwt)), 1);
		EVP_MD_CTX_free(m2);
		free(bad);
	}
	EVP_MD_CTX_free(md);
	free(sig);
	json_object_put(h);
	json_object_put(c);
}

static struct assertion_key *load(const char *cert, const char *key,
				  const char *pass, enum assertion_alg alg,
				  int64_t now, enum pl_status want,
				  struct pl_err *err)
{
	struct assertion_config cfg = {cert, key, pass, alg};
	struct assertion_key *k = NULL;

	memset(err, 0, sizeof(*err));
	assert_int_equal(assertion_key_load(&cfg, now, &k, err), want);
	if(want)
		assert_null(k);
	else
		assert_non_null(k);
	return k;
}

static void ps256_one_file(void **state)
{
	X509 *cert = make_cert(fx->key, NOW - 86400, NOW + 86400);
	const char *pem = write_pem("app.pem", cert, fx->key, NULL);
	struct assertion_key *k;
	struct pl_err err;
	struct buf jwt, jwt2;
	(void)state;

	k = load(pem, NULL, NULL, ASSERTION_PS256, NOW, PL_OK, &err);
	assert_int_equal(strlen(assertion_key_thumbprint(k)), 40);
	assert_string_equal(assertion_key_path(k), pem);
	buf_init_secret(&jwt, 0);
	buf_init_secret(&jwt2, 0);
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW,
					 "0b0c0d0e-0000-4000-8000-000000000001",
					 &jwt, &err), PL_OK);
	assert_true(jwt.secret);
	verify(jwt.data, cert, ASSERTION_PS256,
	       "0b0c0d0e-0000-4000-8000-000000000001");
	/* A fresh jti each time when none is given. */
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW, NULL, &jwt,
					 &err), PL_OK);
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW, NULL, &jwt2,
					 &err), PL_OK);
	verify(jwt.data, cert, ASSERTION_PS256, NULL);
	verify(jwt2.data, cert, ASSERTION_PS256, NULL);
	assert_string_not_equal(jwt.data, jwt2.data);
	buf_release(&jwt);
	buf_release(&jwt2);
	assertion_key_free(k);
	assertion_key_free(NULL);
	X509_free(cert);
}

static void rs256_separate_key(void **state)
{
	X509 *cert = make_cert(fx->key, NOW - 60, NOW + 3600);
	const char *c = write_pem("cert.pem", cert, NULL, NULL);
	const char *key = write_pem("key.pem", NULL, fx->key, NULL);
	struct assertion_key *k;
	struct pl_err err;
	struct buf jwt;
	(void)state;

	k = load(c, key, NULL, ASSERTION_RS256, NOW, PL_OK, &err);
	buf_init_secret(&jwt, 0);
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW, NULL, &jwt,
					 &err), PL_OK);
	verify(jwt.data, cert, ASSERTION_RS256, NULL);
	buf_release(&jwt);
	assertion_key_free(k);
	/* The key first, then the certificate, in one file. */
	{
		FILE *f;
		char path[256];

		snprintf(path, sizeof(path), "%s/keyfirst.pem", fx->dir);
		f = fopen(path, "w");
		PEM_write_PrivateKey(f, fx->key, NULL, NULL, 0, NULL, NULL);
		PEM_write_X509(f, cert);
		fclose(f);
		k = load(path, NULL, NULL, ASSERTION_PS256, NOW, PL_OK, &err);
		assertion_key_free(k);
	}
	X509_free(cert);
}

static void encrypted_key(void **state)
{
	X509 *cert = make_cert(fx->key, NOW - 60, NOW + 3600);
	const char *pem = write_pem("enc.pem", cert, fx->key, "correct horse");
	struct assertion_key *k;
	struct pl_err err;
	struct buf jwt;
	(void)state;

	load(pem, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "is encrypted"));
	assert_non_null(strstr(err.msg, "--client-key-passphrase-file"));
	assert_non_null(strstr(err.msg, "PARTNER_CENTER_KEY_PASSPHRASE"));
	assert_non_null(strstr(err.msg, pem));
	load(pem, NULL, "wrong", ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "wrong passphrase"));
	assert_null(strstr(err.msg, "wrong\""));
	k = load(pem, NULL, "correct horse", ASSERTION_PS256, NOW, PL_OK,
		 &err);
	buf_init_secret(&jwt, 0);
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW, NULL, &jwt,
					 &err), PL_OK);
	verify(jwt.data, cert, ASSERTION_PS256, NULL);
	buf_release(&jwt);
	assertion_key_free(k);
	X509_free(cert);
}

static void validity_period(void **state)
{
	X509 *cert = make_cert(fx->key, NOW - 7200, NOW - 3600);
	const char *pem = write_pem("old.pem", cert, fx->key, NULL);
	struct assertion_key *k;
	struct pl_err err;
	struct buf jwt;
	(void)state;

	load(pem, NULL, NULL, ASSERTION_PS256, NOW, PL_EAUTH, &err);
	assert_non_null(strstr(err.msg, "expired on 2025-12-31T23:00:00Z"));
	assert_non_null(strstr(err.msg, pem));
	assert_non_null(strstr(err.msg, "thumbprint "));
	X509_free(cert);

	cert = make_cert(fx->key, NOW + 3600, NOW + 7200);
	pem = write_pem("future.pem", cert, fx->key, NULL);
	load(pem, NULL, NULL, ASSERTION_PS256, NOW, PL_EAUTH, &err);
	assert_non_null(strstr(err.msg, "not valid before "
			       "2026-01-01T01:00:00Z"));
	X509_free(cert);

	/* Valid at load, expired at build: refused then too. */
	cert = make_cert(fx->key, NOW - 60, NOW + 100);
	pem = write_pem("short.pem", cert, fx->key, NULL);
	k = load(pem, NULL, NULL, ASSERTION_PS256, NOW, PL_OK, &err);
	assert_int_equal(assertion_key_not_after(k), NOW + 100);
	buf_init_secret(&jwt, 0);
	assert_int_equal(assertion_build(k, CLIENT_ID, AUD, NOW + 100, NULL,
					 &jwt, &err), PL_EAUTH);
	assert_int_equal(jwt.len, 0);
	assert_non_null(strstr(err.msg, "expired"));
	buf_release(&jwt);
	assertion_key_free(k);
	X509_free(cert);
}

static void wrong_keys(void **state)
{
	X509 *cert = make_cert(fx->key, NOW - 60, NOW + 3600);
	const char *c = write_pem("c.pem", cert, NULL, NULL);
	const char *other = write_pem("other.pem", NULL, fx->other, NULL);
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	EVP_PKEY *small = rsa_key(1024);
	X509 *eccert, *smallcert;
	struct pl_err err;
	(void)state;

	load(c, other, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "does not belong to the certificate"));
	/* The certificate alone: no key. */
	load(c, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "holds no PEM private key"));
	assert_non_null(strstr(err.msg, "--client-key"));
	/* A key alone: no certificate. */
	load(other, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "holds no PEM certificate"));

	assert_non_null(ec);
	eccert = make_cert(ec, NOW - 60, NOW + 3600);
	c = write_pem("ec.pem", eccert, ec, NULL);
	load(c, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "not an RSA key"));
	smallcert = make_cert(small, NOW - 60, NOW + 3600);
	c = write_pem("small.pem", smallcert, small, NULL);
	load(c, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
	assert_non_null(strstr(err.msg, "1024 bits"));

	/* Not PEM at all, empty, missing. */
	{
		char path[256];
		FILE *f;

		snprintf(path, sizeof(path), "%s/junk.pem", fx->dir);
		f = fopen(path, "w");
		fputs("not a certificate\n", f);
		fclose(f);
		load(path, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
		assert_non_null(strstr(err.msg, "holds no PEM certificate"));
		snprintf(path, sizeof(path), "%s/empty.pem", fx->dir);
		fclose(fopen(path, "w"));
		load(path, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
		assert_non_null(strstr(err.msg, "file is empty"));
		snprintf(path, sizeof(path), "%s/missing.pem", fx->dir);
		load(path, NULL, NULL, ASSERTION_PS256, NOW, PL_EUSAGE, &err);
		assert_non_null(strstr(err.msg, "No such file"));
	}
	X509_free(cert);
	X509_free(eccert);
	X509_free(smallcert);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(small);
}

static void b64url(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"", ""}, {"f", "Zg"}, {"fo", "Zm8"}, {"foo", "Zm9v"},
		{"foob", "Zm9vYg"}, {"\xfb\xff", "-_8"},
		{"\xff\xfe\xfd", "__79"},
	};
	(void)state;

	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;

		assert_int_equal(assertion_b64url(
			(const unsigned char *)cases[i].in,
			strlen(cases[i].in), &b), PL_OK);
		assert_string_equal(b.data, cases[i].out);
		buf_release(&b);
	}
}

static void alg_names(void **state)
{
	enum assertion_alg a;
	(void)state;

	assert_true(assertion_alg_parse("PS256", &a));
	assert_int_equal(a, ASSERTION_PS256);
	assert_true(assertion_alg_parse("rs256", &a));
	assert_int_equal(a, ASSERTION_RS256);
	assert_false(assertion_alg_parse("ES256", &a));
	assert_false(assertion_alg_parse("", &a));
	assert_string_equal(assertion_alg_name(ASSERTION_RS256), "RS256");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ps256_one_file),
		cmocka_unit_test(rs256_separate_key),
		cmocka_unit_test(encrypted_key),
		cmocka_unit_test(validity_period),
		cmocka_unit_test(wrong_keys),
		cmocka_unit_test(b64url),
		cmocka_unit_test(alg_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
