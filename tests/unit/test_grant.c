/*
 * test_grant.c: the pieces every token request shares (grant.h) — the
 * endpoints (v1, v2, device code), the form and its client
 * authentication (a secret, a certificate's assertion, none), server text
 * cleaned for messages (control characters, echoed secrets, length, first
 * line), and refusals turned into messages with the next step — plus the
 * clouds of auth.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "grant.h"
#include "log.h"
#include "testutil.h"

#define CID "11111111-2222-3333-4444-555555555555"
#define NOW ((int64_t)1767225600)
#define PC "https://api.partnercenter.microsoft.com"
#define CN "https://partner.partnercenterapi.microsoftonline.cn"
#define LOGIN "https://login.example/contoso/oauth2/"

static struct grant_client client(void)
{
	struct grant_client c;

	memset(&c, 0, sizeof(c));
	c.authority = "https://login.example";
	c.tenant = "contoso";
	c.client_id = CID;
	c.resource = "https://api.partnercenter.microsoft.com";
	return c;
}

static void urls(void **state)
{
	struct grant_client c = client();
	struct buf b = BUF_INIT;
	(void)state;

	assert_int_equal(grant_token_url(&c, &b), PL_OK);
	assert_string_equal(b.data, LOGIN "v2.0/token");
	c.v1 = true;
	assert_int_equal(grant_token_url(&c, &b), PL_OK);
	assert_string_equal(b.data, LOGIN "token");
	/* The device-code endpoint exists on v2 only. */
	assert_int_equal(grant_devicecode_url(&c, &b), PL_OK);
	assert_string_equal(b.data, LOGIN "v2.0/devicecode");
	buf_release(&b);
}

static void form_with_secret(void **state)
{
	struct grant_client c = client();
	struct grant_form f;
	struct pl_err err = {{0}};
	(void)state;

	c.secret = "s3cret&x=y+z %";
	grant_form_init(&f);
	assert_true(f.body.secret);
	assert_int_equal(grant_form_add(&f, "grant_type", "refresh_token",
					&err), PL_OK);
	assert_int_equal(grant_add_client(&c, "https://x/token", NOW, &f, &err),
			 PL_OK);
	assert_int_equal(grant_form_add_secret(&f, "refresh_token", "0.A-b_c~d",
					       &err), PL_OK);
	assert_string_equal(f.body.data, "grant_type=refresh_token&client_id="
			    CID "&client_secret=s3cret%26x%3Dy%2Bz%20%25"
			    "&refresh_token=0.A-b_c~d");
	assert_int_equal(f.nsecrets, 2);
	assert_string_equal(f.secrets[0], c.secret);
	assert_int_equal(f.assertion.len, 0);
	grant_form_release(&f);
	/* A public client: the client ID alone. */
	c.secret = NULL;
	grant_form_init(&f);
	assert_int_equal(grant_add_client(&c, "https://x/token", NOW, &f, &err),
			 PL_OK);
	assert_string_equal(f.body.data, "client_id=" CID);
	assert_int_equal(f.nsecrets, 0);
	grant_form_release(&f);
}

static void form_with_certificate(void **state)
{
	char dir[64], path[128];
	struct grant_client c = client();
	struct assertion_config ac = {path, NULL, NULL, ASSERTION_PS256};
	struct assertion_key *k = NULL;
	struct grant_form f;
	struct pl_err err = {{0}};
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cert = X509_new();
	FILE *fp;
	const char *sig;
	(void)state;

	assert_int_equal(testutil_mkdtemp(dir, sizeof(dir), "grant"), 0);
	snprintf(path, sizeof(path), "%s/app.pem", dir);
	ASN1_TIME_set(X509_getm_notBefore(cert), (time_t)(NOW - 60));
	ASN1_TIME_set(X509_getm_notAfter(cert), (time_t)(NOW + 3600));
	X509_set_pubkey(cert, key);
	X509_sign(cert, key, EVP_sha256());
	fp = fopen(path, "w");
	PEM_write_X509(fp, cert);
	PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
	fclose(fp);
	assert_int_equal(assertion_key_load(&ac, NOW, &k, &err), PL_OK);
	c.cert = k;
	c.secret = "ignored when there is a certificate";
	grant_form_init(&f);
	assert_int_equal(grant_add_client(&c, "https://x/token", NOW, &f, &err),
			 PL_OK);
	assert_true(f.assertion.secret);
	assert_non_null(strstr(f.body.data, "client_assertion_type=urn%3Aietf"
			       "%3Aparams%3Aoauth%3Aclient-assertion-type%3A"
			       "jwt-bearer&client_assertion="));
	assert_null(strstr(f.body.data, "client_secret"));
	/* Both the assertion and its signature are to be redacted. */
	sig = strrchr(f.assertion.data, '.') + 1;
	assert_int_equal(f.nsecrets, 2);
	assert_string_equal(f.secrets[0], sig);
	assert_string_equal(f.secrets[1], f.assertion.data);
	assert_non_null(strstr(f.body.data, f.assertion.data));
	grant_form_release(&f);
	/* Expired by now: no assertion, an auth failure. */
	grant_form_init(&f);
	assert_int_equal(grant_add_client(&c, "https://x/token", NOW + 3600,
					  &f, &err), PL_EAUTH);
	assert_non_null(strstr(err.msg, "expired"));
	grant_form_release(&f);
	assertion_key_free(k);
	X509_free(cert);
	EVP_PKEY_free(key);
	testutil_rmtree(dir);
}

static void clean_text(void **state)
{
	const char *secrets[] = {"TOPSECRET", "abc", NULL};
	char out[64];
	(void)state;

	grant_clean_text(out, sizeof(out), "a\r\n\tb TOPSECRET c abc", 60,
			 false, secrets, 3);
	/* "abc" is too short to redact: it would eat ordinary words. */
	assert_string_equal(out, "a b [redacted] c abc");
	grant_clean_text(out, sizeof(out), "first line\r\nTrace ID: x", 60,
			 true, secrets, 3);
	assert_string_equal(out, "first line");
	grant_clean_text(out, sizeof(out), "0123456789abcdef", 10, false,
			 NULL, 0);
	assert_string_equal(out, "0123456789...");
	/* The output size wins over max. */
	grant_clean_text(out, 8, "0123456789", 100, false, NULL, 0);
	assert_string_equal(out, "0123...");
	/* A secret cut by the limit is dropped, not shown in part. */
	grant_clean_text(out, sizeof(out), "xx TOPSECRET", 8, false, secrets,
			 3);
	assert_string_equal(out, "xx...");
	assert_true(grant_is_token_usable("eyJ0.a-b_c", 10));
	assert_false(grant_is_token_usable("a b", 3));
	assert_false(grant_is_token_usable("", 0));
}

/* A refusal as the platform sends it, and the message made of it. */
static void refusal(const struct grant_client *c, const struct grant_what *w,
		    const char *body, char *msg, size_t n)
{
	struct token_response r;
	struct grant_form f;
	struct pl_err err = {{0}};

	token_response_init(&r);
	grant_form_init(&f);
	assert_int_equal(token_response_parse(&r, body, strlen(body), &err),
			 PL_OK);
	assert_int_equal(grant_refusal(c, "https://login.example/t", &f, w,
				       400, &r, &err), PL_EAUTH);
	snprintf(msg, n, "%s", err.msg);
	token_response_release(&r);
	grant_form_release(&f);
}

static void refusals(void **state)
{
	static const struct {
		long code;
		const char *error;
		const char *want;
	} cases[] = {
		{700082, "invalid_grant", "the refresh token in /rt has "
		 "expired (unused for 90 days, or revoked): run qualreport "
		 "login X (AADSTS700082 invalid_grant, trace ID tr, "
		 "correlation ID co)"},
		{65001, "invalid_grant", "client " CID " has no consent for "
		 "Partner Center in tenant contoso: an administrator must "
		 "grant the app's API permissions, then run qualreport login "
		 "X"},
		{50076, "invalid_grant", "multi-factor authentication is "
		 "required for the user of the refresh token in /rt: run "
		 "qualreport login X and sign in with MFA"},
		{50078, "invalid_grant", "the multi-factor authentication "
		 "behind the refresh token in /rt has expired"},
		{700007, "invalid_grant", "the refresh token in /rt was issued "
		 "to another client ID than " CID},
		{50173, "invalid_grant", "the refresh token in /rt was revoked "
		 "when the user's password changed: run qualreport login X"},
		{9002313, "invalid_grant", "the refresh token in /rt was "
		 "refused: run qualreport login X (AADSTS9002313"},
		{700016, "unauthorized_client", "no app with client ID " CID
		 " in tenant contoso: check --client-id and --tenant"},
	};
	struct grant_client c = client();
	struct grant_what w = {"the refresh token in /rt",
			       "run qualreport login X"};
	char body[512], msg[PL_ERR_MAX];
	(void)state;

	log_setup(LOG_ERROR, LOG_TEXT);
	for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"error\":\"%s\","
			 "\"error_description\":\"AADSTS%ld: words.\\r\\n"
			 "Trace ID: tr\",\"error_codes\":[%ld],\"trace_id\":"
			 "\"tr\",\"correlation_id\":\"co\"}", cases[i].error,
			 cases[i].code, cases[i].code);
		refusal(&c, &w, body, msg, sizeof(msg));
		if(strncmp(msg, cases[i].want, strlen(cases[i].want)))
			fail_msg("AADSTS%ld: '%s', expected it to start with "
				 "'%s'", cases[i].code, msg, cases[i].want);
	}
	/* Without a known code: the request and the platform's words. */
	refusal(&c, &w, "{\"error\":\"invalid_request\",\"error_description\":"
		"\"AADSTS900144: missing scope\\r\\nTrace ID: x\"}", msg,
		sizeof(msg));
	assert_string_equal(msg, "token request for client " CID " at "
			    "https://login.example/contoso failed: HTTP 400 "
			    "invalid_request: AADSTS900144: missing scope");
	/* The code read from the description when error_codes is absent. */
	refusal(&c, &w, "{\"error\":\"invalid_grant\",\"error_description\":"
		"\"AADSTS50173: revoked\"}", msg, sizeof(msg));
	assert_non_null(strstr(msg, "password changed"));
	/* Not JSON at all (an HTML 500 page): the status alone. */
	{
		struct token_response r;
		struct grant_form f;
		struct pl_err err = {{0}};

		token_response_init(&r);
		grant_form_init(&f);
		assert_int_equal(grant_refusal(&c, "u", &f, NULL, 503, &r,
					       &err), PL_EAUTH);
		assert_string_equal(err.msg, "token request for client " CID
				    " at https://login.example/contoso failed: "
				    "HTTP 503");
		grant_form_release(&f);
	}
}

static void clouds(void **state)
{
	const struct auth_cloud *c;
	(void)state;

	c = auth_cloud_find("global");
	assert_non_null(c);
	assert_string_equal(c->api_root, PC);
	assert_string_equal(c->authority, "https://login.microsoftonline.com");
	c = auth_cloud_find("usgov");
	assert_string_equal(c->api_root, PC);
	assert_string_equal(c->authority, "https://login.microsoftonline.us");
	assert_string_equal(c->resource, PC);
	c = auth_cloud_find("china");
	assert_string_equal(c->api_root, CN);
	assert_string_equal(c->authority, "https://login.chinacloudapi.cn");
	assert_string_equal(c->resource, CN);
	assert_null(auth_cloud_find("germany"));
	assert_null(auth_cloud_find("Global"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urls),
		cmocka_unit_test(form_with_secret),
		cmocka_unit_test(form_with_certificate),
		cmocka_unit_test(clean_text),
		cmocka_unit_test(refusals),
		cmocka_unit_test(clouds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
