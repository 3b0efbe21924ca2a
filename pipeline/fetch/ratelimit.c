#include "ratelimit.h"

#include <string.h>

/* An observation ends with enough accepted answers to measure the
 * server's accepted rate, or enough refused ones to know that most are
 * refused, or after so many answers, or after so long. */
#define OBSERVE_MIN 16          /* answers, at least */
#define OBSERVE_OK 8            /* accepted answers, or ... */
#define OBSERVE_REFUSED 12      /* ... refused ones (3/4 of 16) */
#define OBSERVE_MAX 256         /* answers, at most */
#define OBSERVE_MAX_US 1000000  /* and at most this long */
#define TARGET 0.95             /* of the server's accepted rate */
#define DECREASE_MIN (1.0 / 16) /* deepest single decrease */
#define DECREASE_MAX 0.95       /* gentlest single decrease */
#define GROW_SHARE 0.05         /* per second, of the cap, ... */
#define GROW_MIN 0.5            /* ... but at least this, req/s; */
#define GROW_FAST 0.25          /* this fast ... */
#define GROW_FAST_BELOW 0.85    /* ... below this share of the overload */
#define GROW_BINDING 0.8        /* the cap binds: sent >= 80% of it */
#define GROW_EVERY_US 100000

static double burst_for(double cap)
{
	return cap / 100.0 > 1.0 ? cap / 100.0 : 1.0;
}

void ratelimit_init(struct ratelimit *rl, double rate, int64_t now_us)
{
	memset(rl, 0, sizeof(*rl));
	rl->_adaptive = 1;
	rl->_ceiling = rate > 0 ? rate : 0;
	rl->_cap = rl->_ceiling;
	rl->_burst = burst_for(rl->_cap);
	rl->_tokens = 1.0;
	rl->_refill_us = now_us;
	rl->_grow_us = now_us;
	rl->_decrease_us = now_us;
	rl->_first_send_us = -1;
	rl->_slot_epoch = now_us / RATELIMIT_SLOT_US;
}

static void refill(struct ratelimit *rl, int64_t now_us)
{
	if(now_us > rl->_refill_us && rl->_cap > 0) {
		rl->_tokens += (double)(now_us - rl->_refill_us) * rl->_cap /
			       1e6;
		if(rl->_tokens > rl->_burst)
			rl->_tokens = rl->_burst;
	}
	if(now_us > rl->_refill_us)
		rl->_refill_us = now_us;
}

/* Drop meter slots that fell out of the last second. */
static void meter_advance(struct ratelimit *rl, int64_t now_us)
{
	int64_t epoch = now_us / RATELIMIT_SLOT_US;

	if(epoch <= rl->_slot_epoch)
		return;
	if(epoch - rl->_slot_epoch >= RATELIMIT_SLOTS) {
		memset(rl->_slot_sends, 0, sizeof(rl->_slot_sends));
	} else {
		for(int64_t e = rl->_slot_epoch + 1; e <= epoch; e++)
			rl->_slot_sends[e % RATELIMIT_SLOTS] = 0;
	}
	rl->_slot_epoch = epoch;
}

double ratelimit_send_rate(const struct ratelimit *rl, int64_t now_us)
{
	int64_t epoch = now_us / RATELIMIT_SLOT_US;
	int64_t oldest = epoch - RATELIMIT_SLOTS + 1;
	int64_t from = oldest * RATELIMIT_SLOT_US;
	uint64_t sends = 0;
	double span;

	if(rl->_first_send_us < 0)
		return 0;
	for(int k = 0; k < RATELIMIT_SLOTS; k++) {
		int64_t e = rl->_slot_epoch - k;

		if(e >= 0 && e >= oldest && e <= epoch)
			sends += rl->_slot_sends[e % RATELIMIT_SLOTS];
	}
	if(from < rl->_first_send_us)
		from = rl->_first_send_us;
	span = (double)(now_us - from) / 1e6;
	/* the first requests of a run: do not divide by almost nothing */
	if(span < 0.01)
		span = 0.01;
	return (double)sends / span;
}

static void set_cap(struct ratelimit *rl, double cap)
{
	if(rl->_ceiling > 0 && cap > rl->_ceiling)
		cap = rl->_ceiling;
	rl->_cap = cap;
	rl->_burst = burst_for(cap);
	if(rl->_tokens > rl->_burst)
		rl->_tokens = rl->_burst;
}

/*
 * Close an observation. While the server throttles, what it accepts per
 * second is its limit (a drained token bucket hands out exactly its refill
 * rate, whatever is sent): aim just below that. With too few accepted
 * answers to time, the refused share p says the server takes about
 * (1 - p) of the rate sent. Never cut to less than DECREASE_MIN or more
 * than DECREASE_MAX of the rate sent. An observation that ran out of
 * time with few answers (little is being sent) is a weak signal: a
 * gentle cut of the cap, not of the little that was sent.
 */
static void decrease(struct ratelimit *rl, int64_t now_us)
{
	double sent = ratelimit_send_rate(rl, now_us);
	double base = rl->_cap > 0 && rl->_cap < sent ? rl->_cap : sent;
	double span = (double)(now_us - rl->_observe_us) / 1e6;
	unsigned seen = rl->_obs_ok + rl->_obs_throttled;
	double accepted, cap;

	/* no send measured (cannot happen after a send): halve */
	if(base <= 0)
		base = rl->_cap > 0 ? rl->_cap : 2 * RATELIMIT_MIN_RATE;
	if(seen < OBSERVE_MIN && rl->_cap > 0)
		base = rl->_cap;
	if(seen < OBSERVE_MIN)
		accepted = base;
	else if(rl->_obs_ok >= OBSERVE_OK && span > 0)
		accepted = rl->_obs_ok / span;
	else
		accepted = base * rl->_obs_ok / seen;
	cap = TARGET * accepted;
	/* The first cut, from no cap: everything accepted since the first
	 * send, over that time, bounds the limit from above (the server's
	 * initial burst only inflates it), and it is a long measurement
	 * while the observation may be a few answers accepted from that
	 * burst, out of order. */
	if(rl->_cap <= 0 && now_us > rl->_first_send_us &&
	   rl->_first_send_us >= 0) {
		double overall = (double)rl->_total_ok * 1e6 /
				 (double)(now_us - rl->_first_send_us);

		if(overall < cap)
			cap = overall;
	}
	if(cap < DECREASE_MIN * base)
		cap = DECREASE_MIN * base;
	if(cap > DECREASE_MAX * base)
		cap = DECREASE_MAX * base;
	if(cap < RATELIMIT_MIN_RATE)
		cap = RATELIMIT_MIN_RATE;
	refill(rl, now_us);
	if(rl->_cap <= 0)
		rl->_tokens = 0; /* from no cap: the server is overloaded */
	set_cap(rl, cap);
	rl->_overload = base;
	rl->_observing = 0;
	rl->_obs_ok = rl->_obs_throttled = 0;
	rl->_decrease_us = now_us;
	rl->_grace_us = rl->_srtt_us;
	rl->_grow_us = now_us;
}

/* Time-driven changes: close an observation that ran out of time, grow
 * a binding cap. */
static void advance(struct ratelimit *rl, int64_t now_us)
{
	double step;

	if(!rl->_adaptive)
		return;
	if(rl->_observing && now_us - rl->_observe_us >= OBSERVE_MAX_US)
		decrease(rl, now_us);
	if(rl->_cap <= 0 || now_us - rl->_grow_us < GROW_EVERY_US)
		return;
	refill(rl, now_us);
	if(!rl->_observing && ratelimit_send_rate(rl, now_us) >=
			      GROW_BINDING * rl->_cap) {
		step = rl->_cap < GROW_FAST_BELOW * rl->_overload ?
		       GROW_FAST * rl->_cap : GROW_SHARE * rl->_cap;
		if(step < GROW_MIN)
			step = GROW_MIN;
		set_cap(rl, rl->_cap +
			    step * (double)(now_us - rl->_grow_us) / 1e6);
	}
	rl->_grow_us = now_us;
}

int64_t ratelimit_wait_us(struct ratelimit *rl, int64_t now_us)
{
	double missing;

	advance(rl, now_us);
	if(rl->_cap <= 0)
		return 0;
	refill(rl, now_us);
	if(rl->_tokens >= 1.0)
		return 0;
	missing = (1.0 - rl->_tokens) * 1e6 / rl->_cap;
	return (int64_t)missing + 1;
}

void ratelimit_take(struct ratelimit *rl, int64_t now_us)
{
	advance(rl, now_us);
	if(rl->_cap > 0) {
		refill(rl, now_us);
		rl->_tokens -= 1.0;
	}
	meter_advance(rl, now_us);
	rl->_slot_sends[rl->_slot_epoch % RATELIMIT_SLOTS]++;
	if(rl->_first_send_us < 0)
		rl->_first_send_us = now_us;
}

void ratelimit_answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		      int throttled)
{
	unsigned seen;

	if(!rl->_adaptive)
		return;
	advance(rl, now_us);
	if(!throttled)
		rl->_total_ok++;
	/* round-trip time, smoothed like TCP's SRTT (1/8 gain) */
	if(now_us > sent_us) {
		if(rl->_srtt_us <= 0)
			rl->_srtt_us = now_us - sent_us;
		else
			rl->_srtt_us += (now_us - sent_us - rl->_srtt_us) / 8;
	}
	/* Sent before the last decrease, or so soon after it that requests
	 * sent at the old rate were still reaching the server and draining
	 * its bucket: it speaks of the old rate. */
	if(sent_us < rl->_decrease_us + rl->_grace_us)
		return;
	if(!rl->_observing) {
		if(!throttled)
			return;
		/* the accepted rate is measured from here on */
		rl->_observing = 1;
		rl->_observe_us = now_us;
		rl->_obs_ok = 0;
		rl->_obs_throttled = 1;
		return;
	}
	if(throttled)
		rl->_obs_throttled++;
	else
		rl->_obs_ok++;
	seen = rl->_obs_ok + rl->_obs_throttled;
	if((seen >= OBSERVE_MIN && (rl->_obs_ok >= OBSERVE_OK ||
				    rl->_obs_throttled >= OBSERVE_REFUSED)) ||
	   seen >= OBSERVE_MAX)
		decrease(rl, now_us);
}

double ratelimit_cap(const struct ratelimit *rl)
{
	return rl->_cap;
}
