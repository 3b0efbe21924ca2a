/*
 * now.h: the clocks, in the units the pipeline uses.
 *
 * Monotonic time schedules (timeouts, retries, the rate limiter, progress):
 * it never jumps when the wall clock is set. Wall time only stamps what a
 * person or another machine reads (log lines, the manifest, Retry-After
 * dates, token expiry from the identity platform).
 */
#ifndef QR_NOW_H
#define QR_NOW_H

#include <stdint.h>
#include <time.h>

static inline int64_t now_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t now_mono_us(void)
{
	return now_mono_ns() / 1000;
}

static inline int64_t now_mono_ms(void)
{
	return now_mono_us() / 1000;
}

/* Unix epoch milliseconds (UTC). */
static inline int64_t now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
