/*
 * assertion.h: certificate credentials — the app's certificate and RSA
 * private key, and the signed JWT client assertion (RFC 7523) that
 * replaces a client secret in a token request.
 *
 * The format is Microsoft's current one:
 *   header  {"alg":"PS256","typ":"JWT","x5t#S256":<base64url SHA-256 of
 *            the certificate's DER>}            (ASSERTION_PS256, default)
 *           {"alg":"RS256","typ":"JWT","x5t":<base64url SHA-1>}
 *                                    (ASSERTION_RS256: older tenants, ADFS)
 *   claims  {"aud":<the token endpoint URL posted to>,"iss":<client ID>,
 *            "sub":<client ID>,"jti":<a fresh UUID>,"nbf":now,"iat":now,
 *            "exp":now + ASSERTION_LIFETIME_S}
 * signed with OpenSSL's EVP interface (PS256: RSA-PSS, SHA-256, MGF1
 * SHA-256, salt length = digest length; RS256: RSASSA-PKCS1-v1_5 SHA-256)
 * and base64url-encoded by OpenSSL (EVP_EncodeBlock, then the URL-safe
 * alphabet without padding). Nothing here is hand-written cryptography.
 *
 * A fresh assertion is built for every token request: a jti is never
 * used twice, and none outlives its few minutes.
 *
 * Secrets: the private key stays inside OpenSSL's EVP_PKEY (freed with
 * the key); the PEM text is read into a secret buffer and wiped; the
 * assertion is written to a secret buffer of the caller's. Messages name
 * the files and the thumbprint, never key material or an assertion.
 */
#ifndef QR_ASSERTION_H
#define QR_ASSERTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

enum assertion_alg {
	ASSERTION_PS256 = 0,
	ASSERTION_RS256
};

/* Seconds an assertion is valid; Microsoft allows 5 to 10 minutes. */
#define ASSERTION_LIFETIME_S 300
/* The most a PEM file may hold (a certificate chain and a key). */
#define ASSERTION_PEM_MAX (1024 * 1024)

struct assertion_config {
	const char *cert_path;    /* PEM: the certificate (first one is the
				   * app's), and the key unless key_path */
	const char *key_path;     /* PEM private key, NULL: in cert_path */
	const char *passphrase;   /* for an encrypted key; NULL: none */
	enum assertion_alg alg;
};

struct assertion_key;

/*
 * Load the certificate and key and check them against each other and
 * against now_s (Unix seconds). Failures, each naming the file:
 *   PL_EUSAGE  unreadable, no PEM certificate or key in it, an encrypted
 *              key without a passphrase ("give it with
 *              --client-key-passphrase-file or PARTNER_CENTER_KEY_PASSPHRASE")
 *              or with a wrong one, a key that is not RSA or does not
 *              belong to the certificate;
 *   PL_EAUTH   the certificate has expired or is not valid yet (with the
 *              dates), so no request is made with it.
 */
enum pl_status assertion_key_load(const struct assertion_config *cfg,
				  int64_t now_s, struct assertion_key **out,
				  struct pl_err *err);
void assertion_key_free(struct assertion_key *k); /* NULL: no-op */

/* PL_EAUTH, as in _load, when now_s is outside the validity period. */
enum pl_status assertion_key_check_time(const struct assertion_key *k,
					int64_t now_s, struct pl_err *err);

/* The certificate's SHA-1 thumbprint in upper-case hex, as the Azure
 * portal shows it (not secret), and its path, for messages. */
const char *assertion_key_thumbprint(const struct assertion_key *k);
const char *assertion_key_path(const struct assertion_key *k);
/* Unix time the certificate stops being valid. */
int64_t assertion_key_not_after(const struct assertion_key *k);

/*
 * Build and sign an assertion for client_id posting to aud at now_s into
 * out (a secret buffer; reset first). jti NULL: a fresh random UUID
 * (tests pass their own). PL_EAUTH when the certificate is outside its
 * validity period; PL_EINTERNAL when OpenSSL fails; PL_ENOMEM.
 */
enum pl_status assertion_build(const struct assertion_key *k,
			       const char *client_id, const char *aud,
			       int64_t now_s, const char *jti,
			       struct buf *out, struct pl_err *err);

/* base64url (RFC 4648 §5) of in[0..len), no padding, appended to out. */
enum pl_status assertion_b64url(const unsigned char *in, size_t len,
				struct buf *out);

/* "PS256" / "RS256"; parse returns false for anything else. */
const char *assertion_alg_name(enum assertion_alg alg);
bool assertion_alg_parse(const char *s, enum assertion_alg *out);

#endif
