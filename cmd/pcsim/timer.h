/*
 * timer.h: one thread that fires callbacks at deadlines, so a delayed
 * answer costs a heap slot instead of a blocked thread.
 *
 * The server suspends a connection, then adds a timer whose callback
 * resumes it. Deadlines live in a binary min-heap (O(log n) add and pop)
 * and the thread sleeps on a condition variable until the earliest one,
 * like Redis's ae.c sleeping until its nearest timer. Callbacks run on
 * the timer thread, outside the lock, in deadline order, and must be
 * short.
 */
#ifndef PCSIM_TIMER_H
#define PCSIM_TIMER_H

#include <stdint.h>

struct timer;

typedef void timer_fn(void *arg);

/* Start the thread. NULL when it or its memory cannot be had. */
struct timer *timer_new(timer_fn *fire);

/*
 * Call fire(arg) at deadline_ns (pcsim_now_ns() clock). Returns 0, or -1
 * when the timer is stopping or out of memory: then fire is never called
 * for arg, and the caller must do right away what the timer would have.
 */
int timer_add(struct timer *t, uint64_t deadline_ns, void *arg);

/* How many timers are pending. */
unsigned timer_pending(struct timer *t);

/*
 * Fire every pending timer now, refuse new ones, and join the thread.
 * After it returns no callback runs any more. Idempotent.
 */
void timer_stop(struct timer *t);

/* Stops the timer if needed, then frees it. NULL is a no-op. */
void timer_free(struct timer *t);

#endif
