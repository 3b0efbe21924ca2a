#include "ratelimit.h"

#include <math.h>
#include <string.h>

#define SEC 1000000

/* slow start */
#define SS_RATE0 10.0           /* req/s: the first round's cap */
#define SS_ROUND_MIN_US 25000   /* a round: max(srtt, this) */
#define SS_UNCAPPED 1e5         /* req/s: no cap beyond */
/* bucket */
#define LONG_WAIT_US (2 * SEC)  /* a Retry-After this long: a window */
#define BRACKET 1.03            /* cruise once hi / lo is below this */
#define TRIAL_MIN_OK 4          /* a trial passes after this many ... */
#define TRIAL_MIN_GAPS 2.5      /* ... and this many of its gaps */
#define LO_BACKOFF 0.99         /* refused at <= lo: lo was wrong */
#define B1_DOWN 0.75            /* nothing passed yet: this of hi */
#define B1_CRUISE 0.99          /* cruise at this share of lo */
#define B1_CRUISE_OK 64         /* a 429 after this many passed: noise */
#define B1_JITTER 1.5           /* gaps longer by this * rttvar ... */
#define B1_JITTER_MAX 0.01      /* ... up to this share of the gap */
#define B1_SLACK 0.02           /* --rate, burst not known: gaps longer
				   by this share ... */
#define B1_SLACK_BELOW 50.0     /* ... below this rate (req/s) */
#define REPROBE_US (30 * SEC)   /* cruising: hi drifts up after this */
#define REPROBE_MAX_US (240 * SEC) /* ... doubled by each probe refused */
#define REPROBE_GROWTH 0.02     /* by this share per REPROBE_US */
#define MIN_RATE 0.05           /* req/s: never slower */
#define FLOOR_MIN_US 200000     /* rate_floor: spans at least this */
#define SAT_DOWN 4.0            /* no floor yet: divide by this */
#define EP_SPAN_MIN_US 2000     /* refusals this far apart bound R */
#define SAT_ABOVE 0.0           /* a larger bucket: the floor + this */
#define SAT_CLOSE 1.1           /* a 429 this close to the floor ... */
#define SAT_QUIET_US 500000     /* quiet spell before growing; a 429
				   this close doubles it, from ... */
#define SAT_QUIET_CLOSE_US (4 * SEC) /* ... at least this ... */
#define SAT_QUIET_MAX_US (32 * SEC)  /* ... up to this */
#define SAT_NEAR 0.9            /* of the rate refused: double per
				   round below, then grow ... */
#define SAT_SLOW 0.02           /* ... this much per second */
/* window */
#define OPENER_WAIT_MIN_US 100000

static double burst_for(double cap)
{
	return cap / 100.0 > 1.0 ? cap / 100.0 : 1.0;
}

/*
 * The rate the pacer really keeps. A bucket that holds one request
 * refuses any two that reach it closer than 1/R, so against one (or one
 * not known not to be, under --rate) the gaps are stretched by the
 * round trip's jitter, and by at least 1%: with --rate R the server then
 * sees no gap below 1/R.
 */
static double pace_rate(const struct ratelimit *rl)
{
	double gap, slack;

	if(rl->_cap <= 0 || rl->_burst1 == 0 ||
	   (rl->_burst1 < 0 && rl->_shape != RATELIMIT_UNKNOWN) ||
	   (rl->_burst1 < 0 && rl->_ceiling <= 0))
		return rl->_cap;
	if(rl->_burst1 < 0 && rl->_cap >= B1_SLACK_BELOW)
		return rl->_cap;
	gap = SEC / rl->_cap;
	if(rl->_burst1 == 1) {
		/* one slow answer (a loaded machine) must not slow every
		 * gap for long: at most B1_JITTER_MAX of it */
		slack = B1_JITTER * (double)rl->_rttvar_us;
		if(slack > B1_JITTER_MAX * gap)
			slack = B1_JITTER_MAX * gap;
	} else {
		slack = B1_SLACK * gap;
	}
	return SEC / (gap + slack);
}

static void refill(struct ratelimit *rl, int64_t now_us)
{
	if(now_us > rl->_refill_us && rl->_cap > 0) {
		rl->_tokens += (double)(now_us - rl->_refill_us) *
			       pace_rate(rl) / SEC;
		if(rl->_tokens > rl->_burst)
			rl->_tokens = rl->_burst;
	}
	if(now_us > rl->_refill_us)
		rl->_refill_us = now_us;
}

static void set_cap(struct ratelimit *rl, int64_t now_us, double cap)
{
	refill(rl, now_us);
	if(rl->_ceiling > 0 && (cap <= 0 || cap > rl->_ceiling))
		cap = rl->_ceiling;
	if(cap > 0 && cap < MIN_RATE)
		cap = MIN_RATE;
	if(rl->_cap <= 0 && cap > 0)
		rl->_tokens = 1.0;
	rl->_cap = cap;
	rl->_burst = burst_for(cap);
	if(rl->_tokens > rl->_burst)
		rl->_tokens = rl->_burst;
}

void ratelimit_init(struct ratelimit *rl, double rate, int64_t now_us)
{
	memset(rl, 0, sizeof(*rl));
	rl->_ceiling = rate > 0 ? rate : 0;
	rl->_refill_us = now_us;
	rl->_tokens = 1.0;
	rl->_first_send_us = -1;
	rl->_slot_epoch = now_us / RATELIMIT_SLOT_US;
	rl->_ss_round_us = now_us;
	rl->_burst1 = -1;
	rl->_reprobe_us = REPROBE_US;
	set_cap(rl, now_us, rl->_ceiling > 0 ? rl->_ceiling : SS_RATE0);
}

/* ---- the send-rate meter -------------------------------------------- */

/* Move a meter's window to now: slots that fell out of it are zeroed. */
static void slots_advance(uint32_t *slots, int64_t *at, int64_t now_us)
{
	int64_t epoch = now_us / RATELIMIT_SLOT_US;

	if(epoch <= *at)
		return;
	if(epoch - *at >= RATELIMIT_SLOTS) {
		memset(slots, 0, RATELIMIT_SLOTS * sizeof(*slots));
	} else {
		for(int64_t e = *at + 1; e <= epoch; e++)
			slots[e % RATELIMIT_SLOTS] = 0;
	}
	*at = epoch;
}

static void meter_advance(struct ratelimit *rl, int64_t now_us)
{
	slots_advance(rl->_slot_sends, &rl->_slot_epoch, now_us);
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
	span = (double)(now_us - from) / SEC;
	if(span < 0.01)
		span = 0.01;
	return (double)sends / span;
}

static int64_t send_before(const struct ratelimit *rl, int64_t sent_us);

/* ---- slow start ----------------------------------------------------- */

/* A round: a round trip, at least SS_ROUND_MIN_US. */
static int64_t ss_round_us(const struct ratelimit *rl)
{
	return rl->_srtt_us > SS_ROUND_MIN_US ? rl->_srtt_us
					      : SS_ROUND_MIN_US;
}

/* Does the slow start grow (not after its first 429, not under --rate,
 * not before the first answer says how long a round is)? */
static bool ss_timed(const struct ratelimit *rl)
{
	return rl->_shape == RATELIMIT_UNKNOWN && rl->_ceiling <= 0 &&
	       rl->_cap > 0 && rl->_srtt_us > 0;
}

/* Double the cap after each round in which it held an attempt back. */
static void ss_advance(struct ratelimit *rl, int64_t now_us)
{
	if(!ss_timed(rl) || now_us - rl->_ss_round_us < ss_round_us(rl))
		return;
	if(rl->_ss_blocked) {
		double cap = 2 * rl->_cap;

		set_cap(rl, now_us, cap >= SS_UNCAPPED ? 0 : cap);
	}
	rl->_ss_round_us = now_us;
	rl->_ss_blocked = false;
}

/* ---- bucket --------------------------------------------------------- */

/*
 * A lower bound of the server's rate that holds for any bucket: after a
 * refusal at t0 the bucket held less than one token, so whatever it
 * accepted since came from its refill: R > (accepted since t0 - 1) /
 * (now - t0). The best of the recent refusals.
 */
static double rate_floor(const struct ratelimit *rl, int64_t now_us)
{
	uint32_t n = rl->_nref < RATELIMIT_REFUSALS ? rl->_nref
						    : RATELIMIT_REFUSALS;
	double best = 0;

	for(uint32_t i = 0; i < n; i++) {
		int64_t dt = now_us - rl->_ref_us[i];
		double r;

		if(dt < FLOOR_MIN_US)
			continue;
		r = ((double)(rl->_accepted - rl->_ref_acc[i]) - 1) * SEC /
		    (double)dt;
		if(r > best)
			best = r;
	}
	return best;
}

/* The send before the one at sent_us, or -1. */
static int64_t send_before(const struct ratelimit *rl, int64_t sent_us)
{
	uint32_t n = rl->_nsend < RATELIMIT_SENDS ? rl->_nsend
						  : RATELIMIT_SENDS;
	int64_t best = -1;

	for(uint32_t i = 0; i < n; i++)
		if(rl->_send_us[i] < sent_us && rl->_send_us[i] > best)
			best = rl->_send_us[i];
	return best;
}

/* hi, drifting up after a while without a 429, so that a cruise below
 * it probes again now and then (less often each time it was right). */
static double hi_now(const struct ratelimit *rl, int64_t now_us)
{
	double dt = (double)(now_us - rl->_hi_us) / (double)rl->_reprobe_us;

	if(dt <= 1 || rl->_draining)
		return rl->_hi;
	return rl->_hi * (1 + REPROBE_GROWTH * (dt - 1));
}

/* One-request bucket: the next rate to try, halfway (geometrically)
 * between what passed and what was refused; once they are close, what
 * passed, less a margin for jitter. */
static void start_trial(struct ratelimit *rl, int64_t now_us)
{
	double hi = hi_now(rl, now_us);
	double trial;

	double pace;

	if(rl->_lo <= 0)
		trial = hi * B1_DOWN;
	else if(hi > BRACKET * rl->_lo)
		trial = sqrt(rl->_lo * hi);
	else
		trial = rl->_lo;
	rl->_trial = trial;
	rl->_trial_us = now_us;
	rl->_trial_ok = 0;
	/* cruising: a little below what passed, which may have passed
	 * just at the edge */
	pace = trial == rl->_lo ? B1_CRUISE * trial : trial;
	set_cap(rl, now_us, pace);
}

/* The cap of a larger bucket: the rate set at the last 429, growing
 * after a quiet spell (the floor only rises while the server refuses):
 * fast while well below where it refused, slowly near it. */
static double sat_cap(const struct ratelimit *rl, int64_t now_us)
{
	double quiet = (double)(now_us - rl->_ref_last_us - rl->_quiet_us) /
		       SEC;
	double cap = rl->_base, near = SAT_NEAR * rl->_ref_cap;

	if(quiet <= 0)
		return cap;
	if(cap < near) {
		/* a slow start again, a doubling per round */
		double rounds = quiet * SEC / (double)ss_round_us(rl);

		if(cap * pow(2, rounds) <= near)
			return cap * pow(2, rounds);
		quiet -= log2(near / cap) * (double)ss_round_us(rl) / SEC;
		cap = near;
	}
	return cap * (1 + SAT_SLOW * quiet);
}

/*
 * A larger bucket refused a request. Returns whether this was news (a
 * request sent after the last 429 was heard, which sets a new cap).
 */
static bool sat_refused(struct ratelimit *rl, int64_t now_us,
			int64_t sent_us, double floor)
{
	double at = rl->_cap > 0 ? rl->_cap : ratelimit_send_rate(rl, now_us);
	double ref = at;

	if(rl->_shape == RATELIMIT_UNKNOWN) {
		/* the slow start drained the bucket: a deep cut, and a round
		 * trip without sending, to hear how the requests in flight
		 * fare */
		rl->_shape = RATELIMIT_BUCKET;
		rl->_base = at / SAT_DOWN;
		rl->_quiet_us = SAT_QUIET_US;
		rl->_ep_first_us = sent_us;
		rl->_ep_ok = 0;
		rl->_ref_cap = at;
		rl->_ref_last_us = now_us;
		rl->_sat_ok = rl->_sat_refused = 0;
		set_cap(rl, now_us, rl->_base);
		rl->_tokens = -rl->_base * (double)rl->_srtt_us / SEC;
		return false;
	}
	if(floor <= 0 && sent_us > rl->_ep_first_us + EP_SPAN_MIN_US) {
		/* still draining: between two refusals the bucket accepted
		 * only what it refilled, so R < (accepted + 1) / their
		 * span; what is still in flight may have been accepted */
		uint64_t open = rl->_sends > rl->_answers ?
				rl->_sends - rl->_answers : 0;
		double u = (rl->_ep_ok + open + 1) * (double)SEC /
			   (double)(sent_us - rl->_ep_first_us);

		if(u < rl->_base) {
			rl->_base = u;
			set_cap(rl, now_us, u);
		}
		if(u < ref)
			ref = u;
	} else if(sent_us >= rl->_ref_last_us) {
		if(floor > 0 && at <= SAT_CLOSE * floor) {
			/* the floor is near what was refused: trust it, and
			 * probe less often */
			rl->_quiet_us *= 2;
			if(rl->_quiet_us < SAT_QUIET_CLOSE_US)
				rl->_quiet_us = SAT_QUIET_CLOSE_US;
			if(rl->_quiet_us > SAT_QUIET_MAX_US)
				rl->_quiet_us = SAT_QUIET_MAX_US;
			rl->_base = (1 + SAT_ABOVE) * floor;
		} else if(floor > 0) {
			/* the rate lies between: halfway */
			rl->_quiet_us = SAT_QUIET_US;
			rl->_base = sqrt(floor * at);
		} else {
			/* what passed of what was sent since the last 429,
			 * and at least a deep cut */
			double est = at * (rl->_sat_ok + 1) /
				     (rl->_sat_ok + rl->_sat_refused + 1);

			rl->_base = at / SAT_DOWN < est ? at / SAT_DOWN : est;
		}
		if(rl->_base > at)
			rl->_base = at;
	}
	if(sent_us < rl->_ref_last_us + rl->_srtt_us) {
		/* sent before the last 429 was heard, or so soon after that
		 * the requests sent at the old rate still reached the server
		 * around it: old news */
		rl->_sat_refused++;
		return false;
	}
	rl->_ref_cap = ref;
	rl->_ref_last_us = now_us;
	rl->_sat_ok = rl->_sat_refused = 0;
	set_cap(rl, now_us, rl->_base);
	return true;
}

static void bucket_refused(struct ratelimit *rl, int64_t now_us,
			   int64_t sent_us)
{
	int64_t prev = send_before(rl, sent_us);
	double gap_rate = prev >= 0 && sent_us > prev ?
			  (double)SEC / (double)(sent_us - prev) : 0;
	double floor;
	uint32_t i;

	/* the ring of refusals, for rate_floor() */
	i = rl->_nref++ % RATELIMIT_REFUSALS;
	rl->_ref_us[i] = now_us;
	rl->_ref_acc[i] = rl->_accepted;
	rl->_ref_acc_last = rl->_accepted;
	/* the first 429 right after the first request passed: a bucket
	 * that held it, full, held one request (B - 1 + R * gap < 1) */
	if(rl->_shape == RATELIMIT_UNKNOWN && rl->_burst1 < 0 &&
	   rl->_accepted == 1 && rl->_sends <= 3)
		rl->_burst1 = 1;
	floor = rate_floor(rl, now_us);
	if(rl->_burst1 == 1) {
		if(rl->_shape == RATELIMIT_UNKNOWN) {
			/* R < 1 / the gap refused */
			rl->_shape = RATELIMIT_BUCKET;
			rl->_hi = rl->_cap > 0 ? rl->_cap : gap_rate;
			if(gap_rate > 0 && gap_rate < rl->_hi)
				rl->_hi = gap_rate;
			rl->_lo = 0;
			rl->_hi_us = now_us;
			start_trial(rl, now_us);
		} else if(sent_us >= rl->_trial_us) {
			double at = rl->_trial;

			if(gap_rate > 0 && gap_rate < at)
				at = gap_rate;
			if(hi_now(rl, now_us) > rl->_hi &&
			   rl->_reprobe_us < REPROBE_MAX_US)
				rl->_reprobe_us *= 2; /* a probe refused */
			if(at < hi_now(rl, now_us))
				rl->_hi = at;
			rl->_hi_us = now_us;
			/* refused at what passed before, soon: luck or a
			 * change of the limit; after a long cruise, a hiccup
			 * (a loaded machine stalls for tens of ms, which no
			 * small margin absorbs): let it be */
			if(rl->_trial <= rl->_lo &&
			   rl->_trial_ok < B1_CRUISE_OK)
				rl->_lo = LO_BACKOFF * at;
			start_trial(rl, now_us);
		}
	} else if(!sat_refused(rl, now_us, sent_us, floor)) {
		return;
	}
	/* the server's bucket is empty now: so is ours */
	rl->_tokens = 0;
}

static void bucket_accepted(struct ratelimit *rl, int64_t now_us,
			    int64_t sent_us)
{
	if(rl->_shape == RATELIMIT_BUCKET && rl->_burst1 != 1) {
		if(sent_us >= rl->_ref_last_us)
			rl->_sat_ok++;
		if(sent_us > rl->_ep_first_us)
			rl->_ep_ok++;
	}
	if(rl->_shape != RATELIMIT_BUCKET || rl->_burst1 != 1 ||
	   sent_us < rl->_trial_us)
		return;
	rl->_trial_ok++;
	if(rl->_trial_ok >= TRIAL_MIN_OK &&
	   now_us - rl->_trial_us >= (int64_t)(TRIAL_MIN_GAPS * SEC /
						rl->_trial) &&
	   rl->_trial != rl->_lo) {
		/* kept as the trial's rate: at it, the pacer keeps the
		 * gaps that passed */
		if(rl->_trial > rl->_lo)
			rl->_lo = rl->_trial;
		start_trial(rl, now_us);
	}
}

/* Time-driven changes of the bucket control. */
static void bucket_advance(struct ratelimit *rl, int64_t now_us)
{
	if(rl->_shape != RATELIMIT_BUCKET)
		return;
	if(rl->_burst1 == 1) {
		if(rl->_lo > 0 && rl->_trial == rl->_lo &&
		   hi_now(rl, now_us) > BRACKET * rl->_lo)
			start_trial(rl, now_us);
		return;
	}
	/* probing higher near the end would only make a late retry */
	if(now_us - rl->_ref_last_us > rl->_quiet_us &&
	   (!rl->_draining || rl->_base < SAT_NEAR * rl->_ref_cap))
		set_cap(rl, now_us, sat_cap(rl, now_us));
}

/* ---- window --------------------------------------------------------- */

static int64_t mid(const struct ratelimit_anchor *a)
{
	return a->lo_us + (a->hi_us - a->lo_us) / 2;
}

int64_t ratelimit_window_period_us(const struct ratelimit *rl)
{
	const struct ratelimit_anchor *f = &rl->_w_first, *l = &rl->_w_last;

	if(rl->_shape != RATELIMIT_WINDOW || !f->index)
		return 0;
	if(l->index > f->index)
		return (mid(l) - mid(f)) / (l->index - f->index);
	/* one opening known: windows aligned on our first request */
	return mid(f) - rl->_first_send_us - rl->_srtt_us / 2;
}

/* When window number k opens, at the latest: its anchor, or predicted. */
static int64_t window_opening(const struct ratelimit *rl, int64_t k)
{
	const struct ratelimit_anchor *l = &rl->_w_last;

	if(l->index == k)
		return l->hi_us;
	return l->hi_us + (k - l->index) * ratelimit_window_period_us(rl);
}

/* Does window k end with a probe past the budget (to learn when k + 1
 * opens)? Anchors at doubling distances keep the period's error below a
 * second over any stretch of predicted windows. */
static bool window_probes(const struct ratelimit *rl, int64_t k)
{
	int64_t span = rl->_w_last.index - rl->_w_first.index;

	return k + 1 - rl->_w_last.index >= (span > 1 ? span : 1);
}

static void window_open(struct ratelimit *rl, int64_t now_us)
{
	/* a window that refused took all it would: that is the budget */
	if(rl->_w_refused || rl->_w_free)
		rl->_w_budget = rl->_w_ok > 0 ? rl->_w_ok : 1;
	rl->_w_index++;
	rl->_w_open_us = now_us;
	rl->_w_sent = rl->_w_ok = rl->_w_refused = 0;
	rl->_w_free = false;
	rl->_w_probe = window_probes(rl, rl->_w_index);
	/* a predicted opening is tried with one request first */
	rl->_w_opener_us = rl->_w_last.index == rl->_w_index ? 0 : -1;
	rl->_w_next_us = window_opening(rl, rl->_w_index + 1);
}

static void anchor(struct ratelimit *rl, int64_t k, int64_t lo_us,
		   int64_t hi_us)
{
	struct ratelimit_anchor *a = &rl->_w_pending;

	if(a->index != k) {
		a->index = k;
		a->lo_us = lo_us;
		a->hi_us = hi_us;
	} else {
		if(lo_us > a->lo_us)
			a->lo_us = lo_us;
		if(hi_us < a->hi_us)
			a->hi_us = hi_us;
	}
	if(a->lo_us > a->hi_us)
		a->lo_us = a->hi_us;
	if(!rl->_w_first.index)
		rl->_w_first = *a;
	if(rl->_w_first.index == k)
		rl->_w_first = *a;
	if(k >= rl->_w_last.index)
		rl->_w_last = *a;
}

/*
 * A refusal that says the window is spent until now + ra. Which opening
 * it dates: the next one, unless nothing passed in this window yet (we
 * came early: it dates this one).
 */
static void window_refused(struct ratelimit *rl, int64_t now_us,
			   int64_t sent_us, int64_t ra_us)
{
	int64_t k;

	if(rl->_shape != RATELIMIT_WINDOW) {
		/* the first window: everything accepted so far was its
		 * budget */
		if(rl->_shape == RATELIMIT_BUCKET &&
		   rl->_accepted - rl->_ref_acc_last < rl->_w_ok)
			rl->_w_ok = (uint32_t)(rl->_accepted -
					       rl->_ref_acc_last);
		rl->_shape = RATELIMIT_WINDOW;
		rl->_w_index = 1;
		rl->_w_open_us = rl->_first_send_us;
		rl->_w_budget = rl->_w_ok > 0 ? rl->_w_ok : 1;
		set_cap(rl, now_us, 0);
	}
	if(sent_us < rl->_w_open_us)
		return; /* about a window already over */
	rl->_w_refused++;
	k = rl->_w_index + (rl->_w_ok > 0 || rl->_w_index == 1);
	if(k == rl->_w_index && rl->_w_opener_us)
		rl->_w_opener_us = 0;
	anchor(rl, k, sent_us + ra_us - SEC, now_us + ra_us);
	if(k == rl->_w_index) {
		/* came early: this window opens at the anchor */
		rl->_w_open_us = rl->_w_last.hi_us;
		rl->_w_sent = 0;
		rl->_w_refused = 0;
		rl->_w_next_us = window_opening(rl, k + 1);
	} else {
		rl->_w_next_us = rl->_w_last.hi_us;
	}
	rl->_pause_until_us = rl->_w_last.index == k ? rl->_w_last.hi_us :
						       now_us + ra_us;
}

/* May the current window take one more request? */
static int64_t window_wait(struct ratelimit *rl, int64_t now_us)
{
	uint32_t limit;

	if(rl->_w_next_us && now_us >= rl->_w_next_us)
		window_open(rl, now_us);
	if(rl->_w_opener_us > 0) {
		int64_t wait = 4 * rl->_srtt_us;

		if(wait < OPENER_WAIT_MIN_US)
			wait = OPENER_WAIT_MIN_US;
		if(now_us < rl->_w_opener_us + wait)
			return rl->_w_opener_us + wait - now_us;
		rl->_w_opener_us = 0;
	}
	if(rl->_w_free)
		return 0;
	limit = rl->_w_budget + (rl->_w_probe ? 1 : 0);
	if(rl->_w_sent < limit)
		return 0;
	if(rl->_w_next_us > now_us)
		return rl->_w_next_us - now_us;
	return 0;
}

/* ---- the pool-wide wait --------------------------------------------- */

/* When the pool may send again, if it may not now: the end of a 429's
 * pause, or of a window whose budget is sent. 0 when it may. */
static int64_t pool_end(const struct ratelimit *rl, int64_t now_us)
{
	int64_t end = rl->_pause_until_us > now_us ? rl->_pause_until_us : 0;

	if(rl->_shape == RATELIMIT_WINDOW && !rl->_w_free &&
	   rl->_w_sent >= rl->_w_budget + (rl->_w_probe ? 1 : 0) &&
	   rl->_w_next_us > now_us && rl->_w_next_us > end)
		end = rl->_w_next_us;
	return end;
}

/* Keep the account of the time the pool waits: the current wait is
 * [_pw_from_us, _pw_until_us), the ones before add up in _pw_total_us. */
static void pool_note(struct ratelimit *rl, int64_t now_us)
{
	int64_t end = pool_end(rl, now_us);
	bool live = rl->_pw_until_us > now_us;

	if(!end) {
		if(live)
			rl->_pw_until_us = now_us; /* over sooner */
		return;
	}
	if(live) {
		rl->_pw_until_us = end;
		return;
	}
	rl->_pw_total_us += rl->_pw_until_us - rl->_pw_from_us;
	rl->_pw_from_us = now_us;
	rl->_pw_until_us = end;
}

int64_t ratelimit_paused_until(const struct ratelimit *rl, int64_t now_us)
{
	return pool_end(rl, now_us);
}

int64_t ratelimit_paused_us(const struct ratelimit *rl, int64_t now_us)
{
	int64_t cur = 0;

	if(now_us > rl->_pw_from_us)
		cur = (rl->_pw_until_us < now_us ? rl->_pw_until_us : now_us) -
		      rl->_pw_from_us;
	return rl->_pw_total_us + (cur > 0 ? cur : 0);
}

/* ---- the interface ------------------------------------------------- */

static int64_t wait_us(struct ratelimit *rl, int64_t now_us);

int64_t ratelimit_wait_us(struct ratelimit *rl, int64_t now_us)
{
	int64_t wait = wait_us(rl, now_us);

	pool_note(rl, now_us);
	return wait;
}

static int64_t wait_us(struct ratelimit *rl, int64_t now_us)
{
	double missing;
	int64_t wait;

	if(rl->_pause_until_us > now_us)
		return rl->_pause_until_us - now_us;
	ss_advance(rl, now_us);
	if(rl->_shape == RATELIMIT_WINDOW) {
		wait = window_wait(rl, now_us);
		if(wait > 0)
			return wait;
	}
	bucket_advance(rl, now_us);
	/* the second request keeps the first cap's gap whatever the slow
	 * start grew to meanwhile: refused, it tells a one-request bucket */
	if(rl->_shape == RATELIMIT_UNKNOWN && rl->_ceiling <= 0 &&
	   rl->_sends == 1 && now_us < rl->_first_send_us + SEC / SS_RATE0)
		return rl->_first_send_us + (int64_t)(SEC / SS_RATE0) - now_us;
	if(rl->_cap <= 0)
		return 0;
	refill(rl, now_us);
	if(rl->_tokens >= 1.0)
		return 0;
	missing = (1.0 - rl->_tokens) * SEC / pace_rate(rl);
	wait = (int64_t)missing + 1;
	if(ss_timed(rl)) {
		/* held back: wake at the round's end, when the cap grows */
		int64_t end = rl->_ss_round_us + ss_round_us(rl) - now_us;

		rl->_ss_blocked = true;
		if(end > 0 && end < wait)
			wait = end;
	}
	return wait;
}

void ratelimit_take(struct ratelimit *rl, int64_t now_us)
{
	if(rl->_cap > 0) {
		refill(rl, now_us);
		rl->_tokens -= 1.0;
	}
	meter_advance(rl, now_us);
	rl->_slot_sends[rl->_slot_epoch % RATELIMIT_SLOTS]++;
	if(rl->_first_send_us < 0)
		rl->_first_send_us = now_us;
	rl->_send_us[rl->_nsend++ % RATELIMIT_SENDS] = now_us;
	rl->_sends++;
	if(rl->_shape == RATELIMIT_WINDOW) {
		rl->_w_sent++;
		if(rl->_w_opener_us < 0)
			rl->_w_opener_us = now_us;
	}
	pool_note(rl, now_us);
}

static void answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		   bool throttled, int64_t retry_after_us);

void ratelimit_answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		      bool throttled, int64_t retry_after_us)
{
	answer(rl, now_us, sent_us, throttled, retry_after_us);
	pool_note(rl, now_us);
}

static void answer(struct ratelimit *rl, int64_t now_us, int64_t sent_us,
		   bool throttled, int64_t retry_after_us)
{
	if(now_us > sent_us) {
		/* TCP's SRTT and RTTVAR (RFC 6298) */
		int64_t rtt = now_us - sent_us;

		if(rl->_srtt_us <= 0) {
			rl->_srtt_us = rtt;
			rl->_rttvar_us = rtt / 2;
		} else {
			int64_t d = rtt > rl->_srtt_us ? rtt - rl->_srtt_us
						       : rl->_srtt_us - rtt;

			rl->_rttvar_us += (d - rl->_rttvar_us) / 4;
			rl->_srtt_us += (rtt - rl->_srtt_us) / 8;
		}
	}
	rl->_answers++;
	if(!throttled) {
		rl->_accepted++;
		if(sent_us >= rl->_w_open_us || rl->_shape != RATELIMIT_WINDOW)
			rl->_w_ok++;
		if(rl->_shape == RATELIMIT_WINDOW && rl->_w_opener_us > 0 &&
		   sent_us >= rl->_w_opener_us)
			rl->_w_opener_us = 0;
		/* the probe past the budget passed: the budget is larger */
		if(rl->_shape == RATELIMIT_WINDOW && rl->_w_probe &&
		   rl->_w_ok > rl->_w_budget)
			rl->_w_free = true;
		bucket_accepted(rl, now_us, sent_us);
		return;
	}
	if(rl->_shape == RATELIMIT_WINDOW) {
		if(retry_after_us < 0)
			return; /* says nothing of the window */
		if(retry_after_us < LONG_WAIT_US && rl->_w_ok > 0 &&
		   rl->_w_sent < rl->_w_budget && rl->_w_opener_us <= 0) {
			/* a short wait in the middle of a window: not its
			 * end (another limit, or a share of it spent by
			 * someone else) */
			if(now_us + retry_after_us > rl->_pause_until_us)
				rl->_pause_until_us = now_us + retry_after_us;
			return;
		}
		window_refused(rl, now_us, sent_us, retry_after_us);
	} else if(retry_after_us >= LONG_WAIT_US) {
		window_refused(rl, now_us, sent_us, retry_after_us);
	} else {
		bucket_refused(rl, now_us, sent_us);
	}
}

void ratelimit_draining(struct ratelimit *rl, bool draining)
{
	rl->_draining = draining;
}

double ratelimit_cap(const struct ratelimit *rl)
{
	if(rl->_shape == RATELIMIT_UNKNOWN && rl->_ceiling <= 0)
		return 0;
	return rl->_cap;
}

enum ratelimit_shape ratelimit_shape(const struct ratelimit *rl)
{
	return rl->_shape;
}

uint32_t ratelimit_window_budget(const struct ratelimit *rl)
{
	return rl->_shape == RATELIMIT_WINDOW ? rl->_w_budget : 0;
}
