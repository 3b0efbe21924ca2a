/*
 * ratelimit.h: the send-rate control of the fetch engine. Pure: no I/O,
 * no clock; the caller passes the monotonic time in microseconds, so the
 * unit tests drive it in virtual time against a simulated server.
 *
 * Every attempt start is gated by a token bucket refilled at `cap`
 * requests/s. Its capacity (the burst) is max(1, cap / 100): enough to
 * absorb ~10 ms of event-loop lateness without losing rate, small enough
 * that any window of T seconds holds at most cap * T + burst requests
 * (cap + 1 per second below 100/s, within 1% above). The bucket starts
 * with one token, not full, so a run does not start with a burst.
 *
 * With --rate R the cap starts at R and never rises above it; without,
 * there is no cap until the server answers 429. Either way a 429 brings
 * the adaptation below into play (a --rate above what the server allows
 * would otherwise be a steady 429 storm):
 * a gentle multiplicative decrease and a slow increase (AIMD-like, as
 * in TCP congestion control; the goal is >= 90% of the server's limit
 * with < 5% of requests answered 429):
 *  - decrease: a 429 opens an observation that lasts until 16 answers
 *    with 8 accepted or 12 refused (or 256 answers, or 1 s). While a
 *    server throttles, what it accepts per second is its limit (a
 *    drained token bucket hands out exactly its refill rate, whatever is
 *    sent), so the new cap is 95% of the accepted rate; with too few
 *    accepted answers to time, 95% of (1 - refused share) * the rate
 *    sent; the first cut (from no cap) also at most what was accepted
 *    since the first send per second. Either way between 1/16 and 0.95
 *    of min(cap, rate sent over the last second): near the limit that
 *    is a 5% cut; at the start of a run, sent uncapped at -j 64 and 15x
 *    over the server's limit, it converges in one or two round trips
 *    instead of burning hundreds of 429s. An observation that ends by
 *    time with fewer than 16 answers (little is sent) cuts the cap by
 *    5% only.
 *    One overload is one event: answers count only for requests sent at
 *    least one smoothed round trip after the previous decrease (earlier
 *    ones were sent at the old rate, or reached the server while those
 *    were still draining its bucket).
 *  - increase: while the cap is what limits the sending (the measured
 *    rate is at least 80% of it), cap grows by max(5% of cap, 0.5 req/s)
 *    per second; by 25% per second while it is below 85% of the rate
 *    that last overloaded the server (a cut that overshot, by estimation
 *    noise, recovers in a second or two, not in twenty). A cap that does
 *    not bind does not grow, so it never drifts far above what is really
 *    sent. Once set, the cap stays for the run.
 * The cap never falls below RATELIMIT_MIN_RATE.
 */
#ifndef QR_RATELIMIT_H
#define QR_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_MIN_RATE 1.0    /* req/s: adaptive floor */
#define RATELIMIT_SLOTS 10        /* send-rate meter: 10 slots ... */
#define RATELIMIT_SLOT_US 100000  /* ... of 100 ms = the last second */

/* Plain data so it can live on the stack; fields are private. */
struct ratelimit {
	int _adaptive;
	double _cap;               /* req/s; 0 = none */
	double _ceiling;           /* --rate: the cap never exceeds it */
	double _burst;             /* bucket capacity, tokens */
	double _tokens;
	double _overload;          /* the rate at the last decrease */
	int64_t _refill_us;        /* time of the last refill */
	int64_t _grow_us;          /* time of the last additive increase */
	int64_t _decrease_us;      /* the last decrease, else init time */
	int64_t _grace_us;         /* ignore requests sent this soon after */
	int64_t _srtt_us;          /* smoothed round-trip time */
	int _observing;            /* a 429 opened an observation ... */
	int64_t _observe_us;       /* ... at this time */
	unsigned _obs_ok;          /* observed answers, not 429 */
	unsigned _obs_throttled;   /* observed 429 answers */
	uint64_t _total_ok;        /* answers not 429, since init */
	int64_t _first_send_us;    /* -1 until the first send */
	int64_t _slot_epoch;       /* index of the newest meter slot */
	uint32_t _slot_sends[RATELIMIT_SLOTS];
};

/* rate > 0: a ceiling, the starting cap; rate <= 0: no cap until 429. */
void ratelimit_init(struct ratelimit *rl, double rate, int64_t now_us);

/*
 * Microseconds until an attempt may start: 0 = now. Call it only when an
 * attempt is ready to go; then call ratelimit_take() when it starts.
 */
int64_t ratelimit_wait_us(struct ratelimit *rl, int64_t now_us);
/* An attempt starts now: spend a token, feed the send-rate meter. */
void ratelimit_take(struct ratelimit *rl, int64_t now_us);

/*
 * An HTTP answer arrived for a request sent at sent_us (the time passed to
 * ratelimit_take); throttled = it was a 429.
 */
void ratelimit_answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		      int throttled);

/* The current cap in requests/s; 0 = none. */
double ratelimit_cap(const struct ratelimit *rl);
/* The send rate measured over the last second, requests/s. */
double ratelimit_send_rate(const struct ratelimit *rl, int64_t now_us);

#endif
