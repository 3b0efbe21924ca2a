/*
 * loop.h: the smallest event loop the fetch engine needs, Redis ae.c's
 * split: this interface, and a backend per kernel API (loop_epoll.c).
 * libcurl says which sockets to watch for what (CURLMOPT_SOCKETFUNCTION);
 * the engine passes that on here and asks, with a timeout, which are
 * ready. One thread; no callbacks, no timers: the caller keeps its own
 * deadlines and turns the nearest into the timeout.
 *
 * Masks are LOOP_READ | LOOP_WRITE; a ready descriptor may also carry
 * LOOP_ERROR (error or hang-up: the caller reads or writes to learn
 * which).
 */
#ifndef QR_LOOP_H
#define QR_LOOP_H

#include <stdint.h>

#include "status.h"

#define LOOP_READ 1
#define LOOP_WRITE 2
#define LOOP_ERROR 4

struct loop;

struct loop_event {
	int fd;
	int mask;
};

/* PL_ENOMEM or PL_EINTERNAL with a message; *out is NULL then. */
enum pl_status loop_new(struct loop **out, struct pl_err *err);
/* Closes the backend's descriptor, not the watched ones. NULL: no-op. */
void loop_free(struct loop *l);

/*
 * Watch fd for mask (replacing what it was watched for, if it was). A
 * descriptor number reused after a close is handled (the kernel forgot
 * the closed one). PL_ENOMEM or PL_EINTERNAL ("epoll_ctl: ...") with a
 * message; the descriptor's watch is then unchanged or gone.
 */
enum pl_status loop_watch(struct loop *l, int fd, int mask,
			  struct pl_err *err);
/* Stop watching fd; no error if it was not watched or is closed. */
void loop_unwatch(struct loop *l, int fd);

/*
 * Wait up to timeout_us (0 = just look) for watched descriptors to be
 * ready; *n gets how many of ev[0..max) were filled. An interrupting
 * signal is not an error: *n is 0. Microseconds because the rate limiter
 * paces sends a few milliseconds apart and a millisecond rounding skews
 * them (see loop_epoll.c). PL_EINTERNAL with a message on failure.
 */
enum pl_status loop_wait(struct loop *l, int64_t timeout_us,
			 struct loop_event *ev, int max, int *n,
			 struct pl_err *err);

#endif
