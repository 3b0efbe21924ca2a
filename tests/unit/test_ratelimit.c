/*
 * test_ratelimit.c: the send-rate control in virtual time.
 *
 * Fixed mode: a greedy sender (with random event-loop lateness) must never
 * put more than rate * T + burst requests in any window of T seconds, and
 * must still reach the rate over a long run.
 *
 * Adaptive mode: a discrete-event simulation of the fetch engine (-j 64,
 * 20 ms round trips, retries with the real retry policy and Retry-After)
 * against a server that throttles with a token bucket. The engine must get
 * >= 90% of the server's limit with < 5% of the requests answered 429, and
 * lose no tenant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ratelimit.h"
#include "retry.h"

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Largest number of sends in any window [t, t + window) of times[]. */
static size_t max_in_window(const int64_t *times, size_t n, int64_t window)
{
	size_t best = 0, lo = 0;

	for(size_t hi = 0; hi < n; hi++) {
		while(times[hi] - times[lo] >= window)
			lo++;
		if(hi - lo + 1 > best)
			best = hi - lo + 1;
	}
	return best;
}

/*
 * Send as fast as the bucket allows for `seconds`, waking up late by up to
 * `late_us` each time (a real poll loop does). Returns the sends.
 */
static size_t greedy_sender(double rate, double seconds, int64_t late_us,
			    int64_t **out)
{
	struct ratelimit rl;
	int64_t now = 1000000, end = now + (int64_t)(seconds * 1e6);
	size_t n = 0, cap = (size_t)(rate * seconds) + 16;
	int64_t *times = malloc(cap * sizeof(*times));

	assert_non_null(times);
	ratelimit_init(&rl, rate, now);
	while(now < end) {
		int64_t w = ratelimit_wait_us(&rl, now);

		if(w > 0) {
			now += w + (late_us ? (int64_t)(rnd() % late_us) : 0);
			continue;
		}
		ratelimit_take(&rl, now);
		assert_true(n < cap);
		times[n++] = now;
		/* several sends may go in the same instant */
	}
	*out = times;
	return n;
}

static void check_fixed(double rate, int64_t late_us)
{
	int64_t *times;
	double seconds = 20;
	size_t n = greedy_sender(rate, seconds, late_us, &times);
	double burst = rate / 100 > 1 ? rate / 100 : 1;

	/* no 1 s window above rate + burst; no 100 ms window above
	 * rate / 10 + burst; the whole run within the bound too */
	assert_true(max_in_window(times, n, 1000000) <=
		    (size_t)(rate + burst));
	assert_true(max_in_window(times, n, 100000) <=
		    (size_t)(rate / 10 + burst));
	assert_true((double)n <= rate * seconds + burst);
	/* and the rate is reached: lateness is absorbed by the burst */
	assert_true((double)n >= 0.98 * rate * seconds);
	free(times);
}

static void test_fixed_rates(void **state)
{
	(void)state;
	check_fixed(500.0 / 60, 0);
	check_fixed(500.0 / 60, 1000);
	check_fixed(20, 1000);
	check_fixed(200, 0);
	check_fixed(200, 4000);
	check_fixed(1000, 2000);
}

/* 500/min: no minute holds more than 501 requests. */
static void test_fixed_per_minute(void **state)
{
	int64_t *times;
	size_t n = greedy_sender(500.0 / 60, 180, 1000, &times);

	(void)state;
	assert_true(max_in_window(times, n, 60000000) <= 501);
	assert_true(n >= 1480);
	free(times);
}

static void test_fixed_cap_reported(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 20, 5);
	assert_true(ratelimit_cap(&rl) == 20);
	/* one token at start, then 50 ms per token */
	ratelimit_take(&rl, 10);
	assert_int_equal(ratelimit_wait_us(&rl, 10), 50001);
	assert_int_equal(ratelimit_wait_us(&rl, 50010), 0);
	/* a --rate the server refuses is cut like an adaptive cap ... */
	for(int i = 0; i < 100; i++)
		ratelimit_answer(&rl, 20000 + i, 10, 1);
	ratelimit_wait_us(&rl, 1100000);
	assert_true(ratelimit_cap(&rl) > 0 && ratelimit_cap(&rl) < 20);
	/* ... and grows back while it binds, but never above --rate */
	for(int64_t t = 1100000; t < 60000000; t += 10000) {
		if(ratelimit_wait_us(&rl, t) == 0) {
			ratelimit_take(&rl, t);
			ratelimit_answer(&rl, t + 5000, t, 0);
		}
		assert_true(ratelimit_cap(&rl) <= 20);
	}
	assert_true(ratelimit_cap(&rl) == 20);
	ratelimit_init(&rl, 0, 5);
	assert_true(ratelimit_cap(&rl) == 0);
	assert_int_equal(ratelimit_wait_us(&rl, 10), 0);
}

/* One overload is one decrease; growth needs a binding cap. */
static void test_adaptive_mechanics(void **state)
{
	struct ratelimit rl;
	int64_t t = 1000000, now;
	double cap;
	int sent;

	(void)state;
	ratelimit_init(&rl, 0, t);
	/* 100 sends in 100 ms: 1000/s, uncapped */
	for(int i = 0; i < 100; i++) {
		assert_int_equal(ratelimit_wait_us(&rl, t + i * 1000), 0);
		ratelimit_take(&rl, t + i * 1000);
	}
	ratelimit_answer(&rl, t + 100000, t, 0);
	assert_true(ratelimit_cap(&rl) == 0);
	/* 16 refused: one decrease, to 1/16 of the rate sent */
	for(int i = 1; i <= 15; i++) {
		ratelimit_answer(&rl, t + 100000 + i, t + i * 1000, 1);
		assert_true(ratelimit_cap(&rl) == 0);
	}
	ratelimit_answer(&rl, t + 100016, t + 16000, 1);
	cap = ratelimit_cap(&rl);
	assert_true(cap > 1000.0 / 16 * 0.99 && cap < 1000.0 / 16 * 1.01);
	/* more 429s for requests sent before it: the same overload */
	for(int i = 17; i < 100; i++)
		ratelimit_answer(&rl, t + 100100 + i, t + i * 1000, 1);
	assert_true(ratelimit_cap(&rl) == cap);
	/* sending at the cap for a second: it grows fast (far below the
	 * rate that overloaded), and the sends keep to it */
	sent = 0;
	for(now = t + 200000; now < t + 1200000; now += 1000) {
		if(ratelimit_wait_us(&rl, now) == 0) {
			ratelimit_take(&rl, now);
			sent++;
		}
	}
	assert_true(ratelimit_cap(&rl) > cap * 1.2);
	assert_true(ratelimit_cap(&rl) < cap * 1.3);
	assert_true(sent >= (int)cap && sent <= (int)(cap * 1.3) + 1);
	/* idle: a cap that does not bind does not grow */
	cap = ratelimit_cap(&rl);
	for(now = t + 3000000; now < t + 6000000; now += 100000)
		assert_int_equal(ratelimit_wait_us(&rl, now), 0);
	assert_true(ratelimit_cap(&rl) == cap);
	/* a 429 for a request sent long after the decrease opens a new
	 * observation: 8 of 16 accepted in 80 ms = 100/s accepted, but 50/s
	 * sent (the last second): 95% of the rate sent */
	now = t + 6000000;
	for(int i = 0; i < 50; i++)
		ratelimit_take(&rl, now + i * 10000);
	now += 500000;
	ratelimit_answer(&rl, now, now - 20000, 1);
	for(int i = 1; i < 16; i++)
		ratelimit_answer(&rl, now + i * 5333, now - 20000, i % 2 == 0);
	assert_true(ratelimit_cap(&rl) > 0.95 * 50 * 0.95 &&
		    ratelimit_cap(&rl) < 0.95 * 50 * 1.05);
}

/*
 * The simulation. Each request reaches the server half a round trip after
 * it is sent (the server decides then) and its answer arrives a round trip
 * after it was sent; round trips vary by +-25%.
 */
struct sim_req {
	uint32_t tenant;
	int64_t sent, arrive, answer;
	int decided;
	int status;
	int64_t retry_after_ms;
};

struct sim_wait {
	uint32_t tenant;
	int64_t due;
};

struct sim_result {
	double share;      /* tenants/s as a share of the server's rate */
	double throttled;  /* share of requests answered 429 */
	unsigned lost;     /* tenants that ran out of retries */
	double seconds;
	uint64_t requests;
};

#define SIM_MAX_FLIGHT 64

static struct sim_result simulate(double server_rate, double server_burst,
				  unsigned tenants, unsigned conc,
				  int64_t rtt_us, double client_rate)
{
	struct ratelimit rl;
	struct sim_req flight[SIM_MAX_FLIGHT];
	struct sim_wait *wait = calloc(tenants, sizeof(*wait));
	unsigned *attempts = calloc(tenants, sizeof(*attempts));
	unsigned nflight = 0, nwait = 0, next_new = 0, finished = 0;
	unsigned lost = 0;
	uint64_t requests = 0, n429 = 0, rng = 12345;
	double tokens = server_burst;
	int64_t now = 0, server_t = 0;
	struct sim_result res;

	assert_non_null(wait);
	assert_non_null(attempts);
	assert_true(conc <= SIM_MAX_FLIGHT);
	ratelimit_init(&rl, client_rate, now);
	while(finished < tenants) {
		int64_t t_next = INT64_MAX;
		int have_work;

		/* fill: due retries first, then new tenants, rate-gated */
		for(;;) {
			int w_idx = -1;
			uint32_t tenant;
			struct sim_req *r;

			if(nflight >= conc)
				break;
			for(unsigned i = 0; i < nwait; i++)
				if(wait[i].due <= now &&
				   (w_idx < 0 || wait[i].due < wait[w_idx].due))
					w_idx = (int)i;
			if(w_idx < 0 && next_new >= tenants)
				break;
			if(ratelimit_wait_us(&rl, now) > 0)
				break;
			if(w_idx >= 0) {
				tenant = wait[w_idx].tenant;
				wait[w_idx] = wait[--nwait];
			} else {
				tenant = next_new++;
			}
			ratelimit_take(&rl, now);
			r = &flight[nflight++];
			r->tenant = tenant;
			r->sent = now;
			{
				int64_t rtt = rtt_us * 3 / 4 +
					      (int64_t)(rnd() %
							(uint64_t)(rtt_us / 2));
				r->arrive = now + rtt / 2;
				r->answer = now + rtt;
			}
			r->decided = 0;
			attempts[tenant]++;
			requests++;
		}
		/* the next event */
		for(unsigned i = 0; i < nflight; i++) {
			int64_t t = flight[i].decided ? flight[i].answer
						      : flight[i].arrive;
			if(t < t_next)
				t_next = t;
		}
		have_work = next_new < tenants;
		if(nflight < conc) {
			for(unsigned i = 0; i < nwait; i++) {
				/* due now: waits for the rate gate below */
				if(wait[i].due > now && wait[i].due < t_next)
					t_next = wait[i].due;
				if(wait[i].due <= now)
					have_work = 1;
			}
			if(have_work) {
				int64_t w = ratelimit_wait_us(&rl, now);

				if(now + w < t_next)
					t_next = now + w;
			}
		}
		assert_true(t_next != INT64_MAX && t_next >= now);
		now = t_next;
		/* server decisions, in arrival order */
		for(;;) {
			int idx = -1;

			for(unsigned i = 0; i < nflight; i++)
				if(!flight[i].decided &&
				   flight[i].arrive <= now &&
				   (idx < 0 ||
				    flight[i].arrive < flight[idx].arrive))
					idx = (int)i;
			if(idx < 0)
				break;
			tokens += (double)(flight[idx].arrive - server_t) *
				  server_rate / 1e6;
			if(tokens > server_burst)
				tokens = server_burst;
			server_t = flight[idx].arrive;
			flight[idx].decided = 1;
			if(tokens >= 1) {
				tokens -= 1;
				flight[idx].status = 200;
			} else {
				/* seconds until a token, rounded up */
				double s = (1 - tokens) / server_rate;

				flight[idx].status = 429;
				flight[idx].retry_after_ms =
					((int64_t)s + 1) * 1000;
			}
		}
		/* answers */
		for(unsigned i = 0; i < nflight;) {
			struct sim_req r = flight[i];

			if(!r.decided || r.answer > now) {
				i++;
				continue;
			}
			flight[i] = flight[--nflight];
			ratelimit_answer(&rl, now, r.sent, r.status == 429);
			if(r.status == 200) {
				finished++;
				continue;
			}
			n429++;
			if(attempts[r.tenant] > 5) {
				lost++;
				finished++;
				continue;
			}
			wait[nwait].tenant = r.tenant;
			wait[nwait].due = now + 1000 *
				retry_delay_ms(attempts[r.tenant],
					       r.retry_after_ms, &rng);
			nwait++;
		}
	}
	res.seconds = (double)now / 1e6;
	res.share = tenants / res.seconds / server_rate;
	res.throttled = (double)n429 / (double)requests;
	res.lost = lost;
	res.requests = requests;
	print_message("server %.0f/s burst %.0f: %u tenants in %.2f s = "
		      "%.1f%% of the limit, %llu requests, %.2f%% 429, "
		      "final cap %.1f/s\n", server_rate, server_burst, tenants,
		      res.seconds, 100 * res.share,
		      (unsigned long long)requests, 100 * res.throttled,
		      ratelimit_cap(&rl));
	free(wait);
	free(attempts);
	return res;
}

static void check_adaptive(double server_rate, double server_burst,
			   unsigned tenants)
{
	struct sim_result r = simulate(server_rate, server_burst, tenants,
				       64, 20000, 0);

	assert_true(r.share >= 0.9);
	assert_true(r.throttled < 0.05);
	assert_int_equal(r.lost, 0);
}

static void test_adaptive_200(void **state)
{
	(void)state;
	check_adaptive(200, 20, 6000);  /* pcsim: burst max(1, R/10) */
	check_adaptive(200, 200, 6000);
}

static void test_adaptive_50(void **state)
{
	(void)state;
	check_adaptive(50, 5, 6000);
	check_adaptive(50, 50, 6000);
}

static void test_adaptive_1000(void **state)
{
	(void)state;
	check_adaptive(1000, 100, 30000);
	check_adaptive(1000, 1000, 30000);
}

/* --rate above the server's limit: adapts below it, as without --rate. */
static void test_rate_above_limit(void **state)
{
	struct sim_result r;

	(void)state;
	r = simulate(200, 20, 6000, 64, 20000, 500);
	assert_true(r.share >= 0.9);
	assert_true(r.throttled < 0.05);
	assert_int_equal(r.lost, 0);
	/* and a --rate below it is simply kept: no 429 at all */
	r = simulate(200, 20, 3000, 64, 20000, 150);
	assert_true(r.throttled == 0);
	assert_int_equal(r.lost, 0);
}

/* Below the server's limit nothing is throttled and no cap appears. */
static void test_adaptive_under_limit(void **state)
{
	struct sim_result r;

	(void)state;
	r = simulate(5000, 100, 6000, 64, 20000, 0);
	assert_true(r.throttled == 0);
	assert_true(r.requests == 6000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_rates),
		cmocka_unit_test(test_fixed_per_minute),
		cmocka_unit_test(test_fixed_cap_reported),
		cmocka_unit_test(test_adaptive_mechanics),
		cmocka_unit_test(test_adaptive_200),
		cmocka_unit_test(test_adaptive_50),
		cmocka_unit_test(test_adaptive_1000),
		cmocka_unit_test(test_rate_above_limit),
		cmocka_unit_test(test_adaptive_under_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
