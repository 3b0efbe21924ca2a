#include "waitq.h"

#include <stdbool.h>
#include <stdlib.h>

#define WAITQ_MIN 64

static bool is_before(const struct waitq_item *a, const struct waitq_item *b)
{
	if(a->due_us != b->due_us)
		return a->due_us < b->due_us;
	return a->seq < b->seq;
}

enum pl_status waitq_push(struct waitq *q, int64_t due_us, uint64_t seq,
			  void *data)
{
	struct waitq_item it = {due_us, seq, data};
	size_t i;

	if(q->_len == q->_cap) {
		size_t cap = q->_cap ? 2 * q->_cap : WAITQ_MIN;
		struct waitq_item *grown;

		if(cap > SIZE_MAX / sizeof(*grown))
			return PL_ENOMEM;
		grown = realloc(q->_items, cap * sizeof(*grown));
		if(!grown)
			return PL_ENOMEM;
		q->_items = grown;
		q->_cap = cap;
	}
	i = q->_len++;
	while(i > 0) {
		size_t parent = (i - 1) / 2;

		if(!is_before(&it, &q->_items[parent]))
			break;
		q->_items[i] = q->_items[parent];
		i = parent;
	}
	q->_items[i] = it;
	return PL_OK;
}

void *waitq_pop(struct waitq *q)
{
	struct waitq_item *h = q->_items;
	struct waitq_item last;
	void *top;
	size_t i = 0;

	if(!q->_len)
		return NULL;
	top = h[0].data;
	last = h[--q->_len];
	for(;;) {
		size_t c = 2 * i + 1;

		if(c >= q->_len)
			break;
		if(c + 1 < q->_len && is_before(&h[c + 1], &h[c]))
			c++;
		if(!is_before(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	if(q->_len)
		h[i] = last;
	return top;
}

void waitq_release(struct waitq *q)
{
	free(q->_items);
	q->_items = NULL;
	q->_len = 0;
	q->_cap = 0;
}
