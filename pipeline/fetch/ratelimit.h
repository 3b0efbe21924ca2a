/*
 * ratelimit.h: the send-rate control of the fetch engine. Pure: no I/O,
 * no clock; the caller passes the monotonic time in microseconds, so the
 * unit tests drive it in virtual time against simulated servers.
 *
 * It learns the server's quota from what it accepts and refuses, starting
 * from nothing, and tells the engine when the next attempt may start. The
 * two shapes are told apart by the 429s' Retry-After (or the "Try again
 * in N seconds" of a body without one, which the engine passes the same):
 *  - a bucket (R requests/s, holding B): Retry-After 1 s at most (whole
 *    seconds, rounded up: its next token is closer than that);
 *  - a window (N requests per S seconds): Retry-After 2 s or more
 *    (LONG_WAIT), the time to the window's end.
 *
 * Slow start. Without --rate the cap starts at 10/s (SS_RATE0) and
 * doubles after every round (a round trip, at least 25 ms) in which it
 * held an attempt back, up to no cap at all. The first 429 ends it. If it
 * comes right after the first request passed, the server is a bucket
 * holding one request (a full one holding two would have taken the
 * second one too), which refuses any two requests closer than 1/R
 * whatever the rate and gets its own control below; R < 1 / that gap.
 * With --rate R the cap is R from the start and never rises above it.
 *
 * Window. A long Retry-After means the quota is spent: no attempt starts
 * before it expires, for the whole pool (attempts in flight finish,
 * tenants waiting for a retry hold no slot). Of the 429s of one spent
 * window the earliest expiry counts (each bounds the window's end from
 * above, rounded up to a second). What the first window accepted is the
 * budget; from then on each window gets the budget at full speed and the
 * pool waits for the next one, instead of probing it with 429s. A
 * Retry-After X heard at t dates the window's end in (t + X - 1 s,
 * t + X]; the period is the distance of two such openings over the
 * windows between them (with one known, the first window's length from
 * our first request). A window ends with one request past the budget (a
 * probe, refused at no cost since the pool waits anyway, that dates the
 * next opening) only at doubling distances from the first known opening
 * (windows 2, 3, 5, 9, 17, ...), which keeps the period's error below a
 * second over any stretch of predicted windows. A predicted opening is
 * tried with one request (the opener) before the rest: refused, it dates
 * the opening. A probe that passes means a larger budget: that window is
 * sent freely until a 429 ends it, and its count is the new budget, as is
 * the count of any window a 429 ended. A short Retry-After in the middle
 * of a window pauses the pool that long, and dates nothing.
 *
 * Bucket holding more requests. The slow start drained it: the cap is cut
 * to a quarter (SAT_DOWN) and nothing is sent for a round trip, to hear
 * how the requests in flight fared. Then:
 *  - the floor: a 429 at t0 says the bucket held less than a token then,
 *    so R > (accepted since t0 - 1) / (now - t0), for any bucket; the best
 *    bound over the last 16 429s, on spans of 0.2 s at least;
 *  - until the floor is known, two 429s of the drain bound R from above:
 *    (accepted between them, what may still be in flight, and 1) over
 *    their distance, and the cap comes down to that;
 *  - at a 429 (of a request sent a round trip or more after the previous
 *    one was heard: earlier ones speak of the old rate) the cap becomes
 *    the floor when the rate refused is within 10% of it (SAT_CLOSE), else
 *    the geometric middle of the two;
 *  - after a quiet spell (0.5 s; a 429 within 10% of the floor doubles it,
 *    4 s at least, 32 s at most) the cap grows: doubling per round while
 *    below 90% of the rate last refused, then by 2% per second.
 * So it settles at the floor, just under R, and probes above it rarely.
 *
 * Bucket holding one request: bisection between the fastest rate that
 * passed (lo, as the server saw our gaps) and the slowest refused (hi: the
 * cap, or the gap to the previous request when slower, since R < 1 / that
 * gap for any bucket). A rate passes after 4 requests accepted over 2.5 of
 * its gaps; the next try is the geometric middle while hi / lo >= 1.03
 * (BRACKET), then 99% of lo is kept (what passed may have passed just at
 * the edge); refused there within 64 requests (luck, a change of the
 * limit), lo becomes 99% of the rate refused, while a 429 after a longer
 * cruise is taken for a hiccup (a loaded machine stalls for tens of ms,
 * which no small margin absorbs) and changes nothing. The gaps are
 * stretched by 1.5 times the round trip's variation (RFC 6298's RTTVAR: the
 * server sees them give or take the path's jitter; at most 1% longer, so
 * that one slow answer does not slow every gap for long), and under
 * --rate below
 * 50/s, where the burst is not known, by 2%: a one-request bucket at the
 * same rate then never sees a gap below 1/R. hi drifts up 2% per 30 s
 * without a 429 (a drift refused doubles that, up to 240 s), so that a
 * cruise probes again now and then.
 *
 * A bucket's 429 (Retry-After 1 s) does not pause the pool: the rate is
 * cut instead, and the refused tenant alone waits its Retry-After (a
 * second's pause per 429 would cost R requests' worth each). Near the end
 * (ratelimit_draining) nothing probes higher: a 429 then only adds a late
 * retry. The pacer is a token bucket at the cap holding max(1, cap / 100)
 * tokens, which absorbs ~10 ms of event-loop lateness while any window of
 * T seconds holds at most cap * T + burst sends; a 429 empties it.
 *
 * Goals (issue 12; tests/unit/test_ratelimit.c asserts them in
 * simulation at -j 16): against buckets 8.33/s holding 1, 20/s holding 20
 * and 200/s holding 20, >= 95% of the ideal (N - B) / R and < 2% of the
 * requests answered 429; against a window 500/60 s (or scaled), >= 90% of
 * the ideal (when the last needed window opens), at most -j 429s in the
 * first window and < 2% after it; with --rate at a bucket's rate no 429,
 * at a window's at most what is in flight when the first one ends.
 */
#ifndef QR_RATELIMIT_H
#define QR_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS 10        /* send-rate meter: 10 slots ... */
#define RATELIMIT_SLOT_US 100000  /* ... of 100 ms = the last second */
#define RATELIMIT_REFUSALS 16     /* refusals kept for the rate bound */
#define RATELIMIT_SENDS 64        /* send times kept for their gaps */

/* What the rate control has learned of the server's quota. */
enum ratelimit_shape {
	RATELIMIT_UNKNOWN = 0,  /* no 429 yet */
	RATELIMIT_BUCKET,       /* a rate: 429s with Retry-After <= 1 s */
	RATELIMIT_WINDOW        /* a budget per window: long Retry-Afters */
};

/* An opening of the window quota the server announced or we predict. */
struct ratelimit_anchor {
	int64_t index;    /* window number (1: the run's first) */
	int64_t lo_us;    /* it opened after this ... */
	int64_t hi_us;    /* ... and at the latest then */
};

/* Plain data so it can live on the stack; fields are private. */
struct ratelimit {
	double _ceiling;           /* --rate: the cap never exceeds it */
	enum ratelimit_shape _shape;
	/* pacing: a token bucket at _cap requests/s (0: none) */
	double _cap;
	double _burst;
	double _tokens;
	int64_t _refill_us;
	/* the pool-wide pause of a spent quota */
	int64_t _pause_until_us;
	int64_t _pw_from_us;       /* the pool's current or last wait ... */
	int64_t _pw_until_us;      /* ... [from, until) */
	int64_t _pw_total_us;      /* and the ones before */
	int64_t _srtt_us;          /* smoothed round-trip time */
	int64_t _rttvar_us;        /* and its variation */
	/* slow start (before the first 429) */
	int64_t _ss_round_us;      /* the current round began */
	bool _ss_blocked;          /* the cap held an attempt back in it */
	/* bucket */
	int _burst1;               /* -1 unknown, 1: holds one request */
	double _lo;                /* one-request bucket: passes at _lo ... */
	double _hi;                /* ... is refused at _hi */
	double _trial;             /* the rate being tried */
	int64_t _trial_us;         /* since */
	uint32_t _trial_ok;        /* accepted answers sent at it */
	int64_t _hi_us;            /* _hi last lowered */
	int64_t _reprobe_us;       /* cruising: probe again after this */
	double _base;              /* larger bucket: the rate after a 429 */
	double _ref_cap;           /* the cap at the last 429 */
	int64_t _ref_last_us;      /* the last 429 */
	int64_t _quiet_us;         /* no 429 this long: probe upwards */
	int64_t _ep_first_us;      /* the first refused of the drain */
	uint32_t _ep_ok;           /* accepted sent after it */
	uint64_t _sends;           /* requests sent, ... */
	uint64_t _answers;         /* ... and answered */
	uint32_t _sat_ok;          /* answers to requests sent since ... */
	uint32_t _sat_refused;     /* ... the last 429 */
	uint64_t _accepted;        /* answers not 429, since init */
	uint64_t _ref_acc_last;    /* _accepted at the last 429 */
	uint32_t _nref;            /* refusals in the ring below */
	int64_t _ref_us[RATELIMIT_REFUSALS];     /* recent refusals ... */
	uint64_t _ref_acc[RATELIMIT_REFUSALS];   /* ... and _accepted then */
	int64_t _send_us[RATELIMIT_SENDS];       /* recent send times */
	uint32_t _nsend;
	/* window */
	int64_t _w_index;          /* the current window's number */
	int64_t _w_open_us;        /* it opened (for us) */
	int64_t _w_next_us;        /* the next one opens (0: unknown) */
	uint32_t _w_budget;        /* requests a window takes */
	uint32_t _w_sent;          /* sent in the current window */
	uint32_t _w_ok;            /* accepted of those */
	uint32_t _w_refused;       /* refused of those */
	bool _w_probe;             /* one request past the budget */
	bool _w_free;              /* the probe passed: no budget now */
	int64_t _w_opener_us;      /* an opener is out since (0: none) */
	struct ratelimit_anchor _w_first, _w_last, _w_pending;
	int64_t _first_send_us;    /* -1 until the first send */
	bool _draining;            /* no new work: no probing */
	/* send-rate meter over the last second */
	int64_t _slot_epoch;
	uint32_t _slot_sends[RATELIMIT_SLOTS];
};

/* rate > 0: a ceiling (--rate); rate <= 0: none. */
void ratelimit_init(struct ratelimit *rl, double rate, int64_t now_us);

/*
 * Microseconds until an attempt may start: 0 = now. Call it only when an
 * attempt is ready to go; then call ratelimit_take() when it starts. A
 * pool-wide pause (see ratelimit_paused_until) is part of the wait.
 */
int64_t ratelimit_wait_us(struct ratelimit *rl, int64_t now_us);
/* An attempt starts now. */
void ratelimit_take(struct ratelimit *rl, int64_t now_us);

/*
 * An HTTP answer arrived for a request sent at sent_us (the time passed to
 * ratelimit_take). throttled: it was a 429; retry_after_us: its
 * Retry-After (or the "Try again in N seconds" of its body) in
 * microseconds, -1 for none. The engine passes -1 for a Retry-After it
 * will not honour by waiting (one beyond --max-retry-wait): such a 429
 * then cuts the rate but does not pause the pool.
 */
void ratelimit_answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		      bool throttled, int64_t retry_after_us);

/*
 * The engine has no new work, only what is in flight or waiting for a
 * retry: the rate control stops probing for a higher rate (a 429 then
 * would only add a retry at the end of the run).
 */
void ratelimit_draining(struct ratelimit *rl, bool draining);

/*
 * When the pool may send again if it may not at now_us, else 0: the
 * quota is spent, by a 429's Retry-After or a window's budget sent.
 * Attempts in flight are not affected; the wait is part of
 * ratelimit_wait_us().
 */
int64_t ratelimit_paused_until(const struct ratelimit *rl, int64_t now_us);
/* The time the pool spent waiting that way until now_us, in total. */
int64_t ratelimit_paused_us(const struct ratelimit *rl, int64_t now_us);
/*
 * The cap in requests/s, 0 = none: --rate, or what a bucket's 429s
 * taught (the slow start's pacing is no cap, nor is a window's budget).
 */
double ratelimit_cap(const struct ratelimit *rl);
enum ratelimit_shape ratelimit_shape(const struct ratelimit *rl);
/* Window shape: the learned budget and period (0 until known). */
uint32_t ratelimit_window_budget(const struct ratelimit *rl);
int64_t ratelimit_window_period_us(const struct ratelimit *rl);
/* The send rate measured over the last second, requests/s. */
double ratelimit_send_rate(const struct ratelimit *rl, int64_t now_us);

#endif
