/*
 * test_waitq.c: the retry waiting queue (waitq.h) gives back items by due
 * time, ties by input order, across growth; a failed growth (realloc
 * failing, injected by the linker's --wrap) leaves it as it was.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>

#include "waitq.h"

/* tests/CMakeLists.txt links this test with -Wl,--wrap=realloc */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static bool fail_realloc;

void *__wrap_realloc(void *p, size_t n)
{
	if(fail_realloc)
		return NULL;
	return __real_realloc(p, n);
}

static void empty(void **state)
{
	struct waitq q = WAITQ_INIT;

	(void)state;
	assert_int_equal(waitq_len(&q), 0);
	assert_true(waitq_next_due(&q) == INT64_MAX);
	assert_null(waitq_pop(&q));
	waitq_release(&q);
	waitq_release(&q);
}

static void order_and_ties(void **state)
{
	/* due times with ties; data = index, seq = input order */
	static const int64_t due[] = {50, 10, 30, 10, 50, 0, 30, 10, 70, 0};
	static const int want[] = {5, 9, 1, 3, 7, 2, 6, 0, 4, 8};
	int ids[10];
	struct waitq q = WAITQ_INIT;

	(void)state;
	/* pushed out of seq order too: ties go by seq, not by arrival */
	for(int k = 9; k >= 0; k--) {
		ids[k] = k;
		assert_int_equal(waitq_push(&q, due[k], (uint64_t)k, &ids[k]),
				 PL_OK);
	}
	assert_int_equal(waitq_len(&q), 10);
	for(int k = 0; k < 10; k++) {
		int *got;

		assert_true(waitq_next_due(&q) == due[want[k]]);
		got = waitq_pop(&q);
		assert_non_null(got);
		assert_int_equal(*got, want[k]);
	}
	assert_null(waitq_pop(&q));
	waitq_release(&q);
}

/* Many items, interleaved pushes and pops: always the minimum. */
static void grows_and_stays_ordered(void **state)
{
	enum { N = 5000 };
	static int64_t due[N];
	struct waitq q = WAITQ_INIT;
	int64_t last_due = INT64_MIN;
	uint64_t last_seq = 0;
	uint64_t x = 12345;
	size_t popped = 0;

	(void)state;
	for(int k = 0; k < N; k++) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		due[k] = (int64_t)(x >> 54); /* 0..1023: many ties */
		assert_int_equal(waitq_push(&q, due[k], (uint64_t)k,
					    &due[k]), PL_OK);
		if(k % 3 == 2) {
			int64_t head = waitq_next_due(&q);

			assert_true(*(int64_t *)waitq_pop(&q) == head);
			popped++;
		}
	}
	assert_int_equal(waitq_len(&q), N - popped);
	while(waitq_len(&q)) {
		int64_t d = waitq_next_due(&q);
		int64_t *p = waitq_pop(&q);
		uint64_t seq = (uint64_t)(p - due);

		assert_true(*p == d);
		assert_true(d > last_due || (d == last_due && seq > last_seq));
		last_due = d;
		last_seq = seq;
	}
	waitq_release(&q);
}

static void failed_growth_leaves_it_unchanged(void **state)
{
	struct waitq q = WAITQ_INIT;
	int ids[65];
	int k;

	(void)state;
	/* the first push allocates: failing it leaves an empty queue */
	fail_realloc = true;
	assert_int_equal(waitq_push(&q, 1, 0, &ids[0]), PL_ENOMEM);
	fail_realloc = false;
	assert_int_equal(waitq_len(&q), 0);
	assert_null(waitq_pop(&q));
	/* fill the first block (64), then fail the growth */
	for(k = 0; k < 64; k++) {
		ids[k] = k;
		assert_int_equal(waitq_push(&q, 100 - k, (uint64_t)k,
					    &ids[k]), PL_OK);
	}
	fail_realloc = true;
	ids[64] = 64;
	assert_int_equal(waitq_push(&q, -1, 64, &ids[64]), PL_ENOMEM);
	fail_realloc = false;
	assert_int_equal(waitq_len(&q), 64);
	assert_true(waitq_next_due(&q) == 100 - 63);
	for(k = 63; k >= 0; k--)
		assert_int_equal(*(int *)waitq_pop(&q), k);
	assert_null(waitq_pop(&q));
	waitq_release(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty),
		cmocka_unit_test(order_and_ties),
		cmocka_unit_test(grows_and_stays_ordered),
		cmocka_unit_test(failed_growth_leaves_it_unchanged),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
