/*
 * test_loop.c: the event loop interface (loop.h) over its epoll backend,
 * with socket pairs: readable, writable, a change of mask, timeouts,
 * unwatch, and a descriptor number reused after a close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sys/socket.h>
#include <unistd.h>

#include "loop.h"

#define SHORT_US 2000 /* a wait expected to time out */

struct fixture {
	struct loop *l;
	int sv[2];
};

static int setup(void **state)
{
	static struct fixture f;
	struct pl_err err = {""};

	assert_int_equal(loop_new(&f.l, &err), PL_OK);
	assert_non_null(f.l);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, f.sv), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	loop_free(f->l);
	close(f->sv[0]);
	close(f->sv[1]);
	return 0;
}

/* Wait and return the number of events; ev gets them. */
static int wait_n(struct loop *l, int64_t us, struct loop_event *ev,
		  int max)
{
	struct pl_err err = {""};
	int n = -1;

	assert_int_equal(loop_wait(l, us, ev, max, &n, &err), PL_OK);
	return n;
}

static void readable_after_write(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};
	struct loop_event ev[4];
	char c;

	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ, &err), PL_OK);
	/* nothing to read: the wait times out with no events */
	assert_int_equal(wait_n(f->l, SHORT_US, ev, 4), 0);
	assert_int_equal(wait_n(f->l, 0, ev, 4), 0);
	assert_int_equal(write(f->sv[1], "x", 1), 1);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	assert_int_equal(ev[0].fd, f->sv[0]);
	assert_int_equal(ev[0].mask, LOOP_READ);
	/* level-triggered: still readable until read */
	assert_int_equal(wait_n(f->l, 0, ev, 4), 1);
	assert_int_equal(read(f->sv[0], &c, 1), 1);
	assert_int_equal(wait_n(f->l, SHORT_US, ev, 4), 0);
}

static void writable_and_mask_change(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};
	struct loop_event ev[4];

	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_WRITE, &err),
			 PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	assert_int_equal(ev[0].fd, f->sv[0]);
	assert_int_equal(ev[0].mask, LOOP_WRITE);
	/* watched again: the mask is replaced, not added to */
	assert_int_equal(write(f->sv[1], "x", 1), 1);
	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ, &err), PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	assert_int_equal(ev[0].mask, LOOP_READ);
	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ | LOOP_WRITE,
				    &err), PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	assert_int_equal(ev[0].mask, LOOP_READ | LOOP_WRITE);
	/* two descriptors ready; max 1 takes one per wait */
	assert_int_equal(loop_watch(f->l, f->sv[1], LOOP_WRITE, &err),
			 PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 2);
	assert_int_equal(wait_n(f->l, 1000000, ev, 1), 1);
}

static void unwatch(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};
	struct loop_event ev[4];

	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ, &err), PL_OK);
	assert_int_equal(write(f->sv[1], "x", 1), 1);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	loop_unwatch(f->l, f->sv[0]);
	assert_int_equal(wait_n(f->l, SHORT_US, ev, 4), 0);
	/* again, and for a descriptor never watched: no-ops */
	loop_unwatch(f->l, f->sv[0]);
	loop_unwatch(f->l, f->sv[1]);
	loop_unwatch(f->l, 100000);
	/* and it can be watched again */
	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ, &err), PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
}

static void hangup(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};
	struct loop_event ev[4];

	assert_int_equal(loop_watch(f->l, f->sv[0], LOOP_READ, &err), PL_OK);
	close(f->sv[1]);
	f->sv[1] = -1;
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	/* end of file reads as readable: the caller's read learns it */
	assert_true(ev[0].mask & LOOP_READ);
}

/* A closed descriptor leaves the kernel's set on its own; its number,
 * reused, must be watchable although the loop still thought it known. */
static void reused_descriptor(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};
	struct loop_event ev[4];
	int fd = f->sv[0], again[2];

	assert_int_equal(loop_watch(f->l, fd, LOOP_READ, &err), PL_OK);
	close(fd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, again), 0);
	assert_int_equal(again[0], fd); /* lowest free number */
	f->sv[0] = again[0];
	assert_int_equal(loop_watch(f->l, fd, LOOP_WRITE, &err), PL_OK);
	assert_int_equal(wait_n(f->l, 1000000, ev, 4), 1);
	assert_int_equal(ev[0].fd, fd);
	assert_int_equal(ev[0].mask, LOOP_WRITE);
	close(again[1]);
}

static void bad_descriptor(void **state)
{
	struct fixture *f = *state;
	struct pl_err err = {""};

	assert_int_equal(loop_watch(f->l, -1, LOOP_READ, &err),
			 PL_EINTERNAL);
	assert_string_equal(err.msg, "epoll_ctl: Bad file descriptor");
	assert_int_equal(loop_watch(f->l, 100000, LOOP_READ, &err),
			 PL_EINTERNAL);
	assert_string_equal(err.msg, "epoll_ctl: Bad file descriptor");
	loop_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(readable_after_write, setup,
						teardown),
		cmocka_unit_test_setup_teardown(writable_and_mask_change,
						setup, teardown),
		cmocka_unit_test_setup_teardown(unwatch, setup, teardown),
		cmocka_unit_test_setup_teardown(hangup, setup, teardown),
		cmocka_unit_test_setup_teardown(reused_descriptor, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_descriptor, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
