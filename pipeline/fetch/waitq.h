/*
 * waitq.h: the tenants waiting for their retry time, a binary min-heap on
 * the not-before time (Redis keeps its timers the same way for the same
 * question: what is due next, and how long until then).
 *
 * Ties go by seq, the caller's input order, so that two runs with the
 * same seed send in the same order. Items are stored by value: a pop or a
 * look at the head never touches the caller's records.
 *
 * Ownership: the queue owns only its array; data pointers are the
 * caller's. A zeroed struct (or WAITQ_INIT) is an empty queue;
 * waitq_release() frees the array and leaves an empty queue.
 */
#ifndef QR_WAITQ_H
#define QR_WAITQ_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct waitq_item {
	int64_t due_us;
	uint64_t seq;
	void *data;
};

struct waitq {
	struct waitq_item *_items;
	size_t _len, _cap;
};

#define WAITQ_INIT {NULL, 0, 0}

/* PL_ENOMEM (no message) when the array cannot grow: the queue is then
 * unchanged. */
enum pl_status waitq_push(struct waitq *q, int64_t due_us, uint64_t seq,
			  void *data);

/* Take the item due first (ties: lowest seq); NULL when empty. Whether it
 * is due yet is the caller's question (waitq_next_due). */
void *waitq_pop(struct waitq *q);

static inline size_t waitq_len(const struct waitq *q)
{
	return q->_len;
}

/* The head's due time; INT64_MAX when empty, so `due <= now` is false. */
static inline int64_t waitq_next_due(const struct waitq *q)
{
	return q->_len ? q->_items[0].due_us : INT64_MAX;
}

void waitq_release(struct waitq *q);

#endif
