/*
 * retry.h: pure retry policy (no I/O, no clock): what to do with an
 * attempt's outcome, and how long to wait before the next one.
 *
 * Retried: transport failures (connect errors, timeouts, dropped
 * connections), 408, 429, 500, 502, 503, 504. Final: 2xx, 404, 400, 403 and
 * other 4xx/5xx. 401 asks the caller to renew the token once.
 *
 * Backoff: exponential with full jitter, delay = random(0, min(cap,
 * base * 2^(retry-1))) with base 500 ms and cap 30 s; a server's
 * Retry-After is a floor. How long a Retry-After may be is the engine's
 * decision (--max-retry-wait): this module parses it as sent, without a
 * clamp, so that a 31-year wait is seen as one.
 */
#ifndef QR_RETRY_H
#define QR_RETRY_H

#include <stddef.h>
#include <stdint.h>

#define RETRY_BASE_MS 500
#define RETRY_CAP_MS 30000
/* Retry-After waits longer than this (about 36 million years) read as
 * this. */
#define RETRY_AFTER_SATURATED ((int64_t)1 << 50)

enum retry_action {
	RETRY_FINAL = 0, /* done: hand the answer to the normalizer */
	RETRY_AGAIN,     /* retry if attempts remain */
	RETRY_REAUTH     /* 401: renew the token once, then retry */
};

/* http_status 0 means no answer (transport error). */
enum retry_action retry_classify(long http_status);

/*
 * Delay before retry number `retry` (1 = first retry). rng is a caller-
 * owned xorshift state (never 0). retry_after_ms < 0 means none given.
 */
int64_t retry_delay_ms(unsigned retry, int64_t retry_after_ms, uint64_t *rng);

/*
 * Parse a Retry-After value: delta seconds ("57") or an HTTP date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", relative to now_epoch_ms). Returns
 * milliseconds to wait (>= 0, at most RETRY_AFTER_SATURATED), or -1 when
 * absent, unparsable (a sign, a fraction, words) or a date that is not
 * in the future: the caller then backs off as if none had been given.
 */
int64_t retry_parse_after(const char *value, int64_t now_epoch_ms);

/*
 * The wait a 429's body asks for, for a 429 without Retry-After: Partner
 * Center's {"statusCode":429,"message":"Rate limit is exceeded. Try again
 * in 57 seconds."}. Finds "try again in N second" (any case, one or more
 * spaces, N digits with an optional fraction) anywhere in body[0..len),
 * which need not be NUL-terminated. Returns milliseconds, rounded up and
 * saturated like a Retry-After (RETRY_AFTER_SATURATED), or -1 when there
 * is none.
 */
int64_t retry_parse_body_wait(const char *body, size_t len);

#endif
