/*
 * loop_epoll.c: loop.h over Linux epoll.
 *
 * The backend remembers which descriptors are in the epoll set, so that a
 * change is one EPOLL_CTL_MOD and a new descriptor one EPOLL_CTL_ADD (as
 * Redis ae_epoll.c does with its per-fd mask); the fallbacks cover a
 * number reused after a close, which the kernel already dropped from the
 * set.
 */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64                 /* events taken per wait at most */
#define KNOWN_MIN 64

struct loop {
	int epfd;
	bool no_pwait2;          /* the kernel has no epoll_pwait2 */
	unsigned char *known;    /* known[fd]: fd is in the epoll set */
	size_t nknown;
};

enum pl_status loop_new(struct loop **out, struct pl_err *err)
{
	struct loop *l = calloc(1, sizeof(*l));

	*out = NULL;
	if(!l)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if(l->epfd < 0) {
		int e = errno;

		free(l);
		return pl_fail(err, PL_EINTERNAL, "epoll_create1: %s",
			       strerror(e));
	}
	*out = l;
	return PL_OK;
}

void loop_free(struct loop *l)
{
	if(!l)
		return;
	close(l->epfd);
	free(l->known);
	free(l);
}

static bool is_known(const struct loop *l, int fd)
{
	return (size_t)fd < l->nknown && l->known[fd];
}

/* Room for known[fd]; the table unchanged on failure. */
static enum pl_status know_room(struct loop *l, int fd, struct pl_err *err)
{
	size_t n = l->nknown ? l->nknown : KNOWN_MIN;
	unsigned char *grown;

	if((size_t)fd < l->nknown)
		return PL_OK;
	while(n <= (size_t)fd)
		n *= 2;
	grown = realloc(l->known, n);
	if(!grown)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	memset(grown + l->nknown, 0, n - l->nknown);
	l->known = grown;
	l->nknown = n;
	return PL_OK;
}

enum pl_status loop_watch(struct loop *l, int fd, int mask,
			  struct pl_err *err)
{
	struct epoll_event ev;
	enum pl_status st;
	int op;

	if(fd < 0)
		return pl_fail(err, PL_EINTERNAL, "epoll_ctl: %s",
			       strerror(EBADF));
	st = know_room(l, fd, err);
	if(st)
		return st;
	memset(&ev, 0, sizeof(ev));
	if(mask & LOOP_READ)
		ev.events |= EPOLLIN;
	if(mask & LOOP_WRITE)
		ev.events |= EPOLLOUT;
	ev.data.fd = fd;
	op = l->known[fd] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if(epoll_ctl(l->epfd, op, fd, &ev) < 0) {
		if(errno == EEXIST)
			op = EPOLL_CTL_MOD;
		else if(errno == ENOENT)
			op = EPOLL_CTL_ADD;
		else
			op = -1;
		if(op < 0 || epoll_ctl(l->epfd, op, fd, &ev) < 0) {
			l->known[fd] = 0;
			return pl_fail(err, PL_EINTERNAL, "epoll_ctl: %s",
				       strerror(errno));
		}
	}
	l->known[fd] = 1;
	return PL_OK;
}

void loop_unwatch(struct loop *l, int fd)
{
	if(!is_known(l, fd))
		return;
	/* may already be closed: then the kernel dropped it */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	l->known[fd] = 0;
}

/*
 * epoll_wait with a microsecond timeout. The limiter paces sends 5 ms
 * apart at 200/s: a timeout rounded up to whole milliseconds made sends
 * 5 to 6 ms apart, and the bucket then caught up with pairs 4 ms apart,
 * which a server's leaky bucket without burst (nginx's limit_req) answers
 * with 429. epoll_pwait2 (Linux 5.11) takes a timespec; older kernels get
 * the millisecond call.
 */
static int wait_events(struct loop *l, struct epoll_event *ev, int max,
		       int64_t timeout_us)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 35)
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_us / 1000000),
		.tv_nsec = (long)(timeout_us % 1000000) * 1000
	};
	int n;

	if(!l->no_pwait2) {
		n = epoll_pwait2(l->epfd, ev, max, &ts, NULL);
		if(n >= 0 || errno != ENOSYS)
			return n;
		l->no_pwait2 = true;
	}
#endif
	return epoll_wait(l->epfd, ev, max, (int)((timeout_us + 999) / 1000));
}

enum pl_status loop_wait(struct loop *l, int64_t timeout_us,
			 struct loop_event *ev, int max, int *n,
			 struct pl_err *err)
{
	struct epoll_event got[BATCH];
	int k;

	*n = 0;
	if(timeout_us < 0)
		timeout_us = 0;
	if(max > BATCH)
		max = BATCH;
	if(max <= 0)
		return PL_OK;
	k = wait_events(l, got, max, timeout_us);
	if(k < 0) {
		if(errno == EINTR)
			return PL_OK;
		return pl_fail(err, PL_EINTERNAL, "epoll_wait: %s",
			       strerror(errno));
	}
	for(int i = 0; i < k; i++) {
		int mask = 0;

		if(got[i].events & EPOLLIN)
			mask |= LOOP_READ;
		if(got[i].events & EPOLLOUT)
			mask |= LOOP_WRITE;
		if(got[i].events & (EPOLLERR | EPOLLHUP))
			mask |= LOOP_ERROR;
		ev[i].fd = got[i].data.fd;
		ev[i].mask = mask;
	}
	*n = k;
	return PL_OK;
}
