/*
 * token_source.h: where access tokens come from, behind one small
 * interface (auth.c keeps the current token, renews it before it expires
 * and once after a 401, whatever the source).
 *
 *   static  a ready token (PARTNER_CENTER_TOKEN, --token-file): never
 *           renewed                                   (source_static.c)
 *   client  the client-credentials grant (app-only), the app
 *           authenticated by its secret or certificate (source_client.c)
 *   refresh the refresh-token grant (App+User) from a refresh-token file,
 *           rotated and written back under its lock   (source_refresh.c)
 *
 * The device-code flow of `qualreport login` (device_code.c) makes the
 * refresh-token file the refresh source then reads.
 *
 * Ownership: a source owns what its constructor copied and borrows the
 * grant_client it was given (which must outlive it).
 */
#ifndef QR_TOKEN_SOURCE_H
#define QR_TOKEN_SOURCE_H

#include <stdint.h>

#include "buf.h"
#include "grant.h"
#include "status.h"

/* A source's lifetime for a token that never expires. */
#define TOKEN_SOURCE_NEVER INT64_MAX

struct token_source;

struct token_source_ops {
	/*
	 * A new access token into token (a secret buffer, reset first) and
	 * the monotonic millisecond at which it expires (*expires_ms;
	 * TOKEN_SOURCE_NEVER when it does not say). now_ms is the monotonic
	 * time of the call. PL_EAUTH with a message naming the credential
	 * when none can be had; token is then empty.
	 */
	enum pl_status (*get)(struct token_source *ts, int64_t now_ms,
			      struct buf *token, int64_t *expires_ms,
			      struct pl_err *err);
	/*
	 * The API refused this source's newest token (401). PL_OK: getting
	 * another may help, call get; PL_EAUTH: it cannot (a ready token),
	 * with the message to stop the run with.
	 */
	enum pl_status (*renew_after_401)(struct token_source *ts,
					  struct pl_err *err);
	void (*free)(struct token_source *ts);
	/* A token from get can be replaced by another get. */
	bool renewable;
};

struct token_source {
	const struct token_source_ops *ops;
};

/* token is copied (into a secret buffer). PL_EUSAGE when it is empty or
 * has spaces or control characters. */
enum pl_status token_source_static(const char *token,
				   struct token_source **out,
				   struct pl_err *err);

/* The client-credentials grant for target (v2: the scope, e.g.
 * https://api.partnercenter.microsoft.com/.default; v1: the resource).
 * c must authenticate the app (a secret or a certificate). */
enum pl_status token_source_client(const struct grant_client *c,
				   const char *target,
				   struct token_source **out,
				   struct pl_err *err);

/*
 * The refresh-token grant on the file at path for target (v2 scopes, v1
 * resource); c may be a public client. Each get locks the file, reads the
 * token, redeems it and writes the new one back before unlocking
 * (refresh_file.h). lock_timeout_ms 0: the default.
 */
enum pl_status token_source_refresh(const struct grant_client *c,
				    const char *path, const char *target,
				    long lock_timeout_ms,
				    struct token_source **out,
				    struct pl_err *err);

/* Turn a reply's expires_in (-1: absent) at started_ms into the expiry
 * sources report: absent means TOKEN_SOURCE_ASSUMED_TTL_S. */
#define TOKEN_SOURCE_ASSUMED_TTL_S 3600
int64_t token_source_expiry(int64_t started_ms, long expires_in);

#endif
