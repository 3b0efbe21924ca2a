#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tenantset.h"

/* A distinct ID per n; a few shapes so the hash sees sequential, sparse
 * and high-bit patterns, not only random ones. */
static void make_id(uint32_t n, uint8_t id[16])
{
	memset(id, 0, 16);
	switch(n % 3) {
	case 0: /* sequential in the first word */
		id[0] = (uint8_t)(n >> 24);
		id[1] = (uint8_t)(n >> 16);
		id[2] = (uint8_t)(n >> 8);
		id[3] = (uint8_t)n;
		break;
	case 1: /* only the last bytes differ */
		id[12] = (uint8_t)(n >> 24);
		id[13] = (uint8_t)(n >> 16);
		id[14] = (uint8_t)(n >> 8);
		id[15] = (uint8_t)n;
		break;
	default: /* spread out, high bits set */
		id[4] = (uint8_t)n;
		id[7] = (uint8_t)(n >> 8);
		id[9] = (uint8_t)(n >> 16);
		id[11] = (uint8_t)(n >> 24);
		id[15] = 0xff;
		break;
	}
}

/* tenantset_add, which must succeed: whether id was new. */
static bool add(struct tenantset *set, const uint8_t id[16])
{
	struct pl_err err;
	bool added = false;

	assert_int_equal(tenantset_add(set, id, &added, &err), PL_OK);
	return added;
}

static void add_contains_order(void **state)
{
	static const uint8_t a[16] = { 1 }, b[16] = { 2 }, c[16] = { 0 };
	uint8_t c2[16] = { 0 };
	struct tenantset *set = tenantset_new();
	(void)state;

	assert_non_null(set);
	assert_int_equal(tenantset_count(set), 0);
	assert_false(tenantset_has(set, a));
	assert_true(add(set, b));
	assert_true(add(set, a));
	assert_false(add(set, b));
	assert_true(add(set, c));
	assert_false(add(set, c2));
	assert_int_equal(tenantset_count(set), 3);
	assert_true(tenantset_has(set, a));
	assert_true(tenantset_has(set, b));
	assert_true(tenantset_has(set, c));
	c2[15] = 1;
	assert_false(tenantset_has(set, c2));
	assert_memory_equal(tenantset_get(set, 0), b, 16);
	assert_memory_equal(tenantset_get(set, 1), a, 16);
	assert_memory_equal(tenantset_get(set, 2), c, 16);
	assert_null(tenantset_get(set, 3));
	tenantset_free(set);
	tenantset_free(NULL);
}

static void grows_and_stays_small(void **state)
{
	const uint32_t n = 300000;
	struct tenantset *set = tenantset_new();
	uint8_t id[16];
	size_t worst = 0;
	(void)state;

	assert_non_null(set);
	for(uint32_t i = 0; i < n; i++) {
		make_id(i, id);
		assert_true(add(set, id));
		/* Past the initial sizes, every intermediate size counts. */
		if(i >= 1000) {
			size_t per = tenantset_bytes(set) /
				     tenantset_count(set);

			if(per > worst)
				worst = per;
		}
	}
	assert_int_equal(tenantset_count(set), n);
	assert_true(worst < 40);
	print_message("tenantset: %u IDs in %zu bytes (%.1f per tenant, "
		      "worst %zu while growing)\n", n, tenantset_bytes(set),
		      (double)tenantset_bytes(set) / n, worst);
	/* Every ID is found after many resizes, re-adding changes nothing,
	 * and order is insertion order. */
	for(uint32_t i = 0; i < n; i++) {
		make_id(i, id);
		assert_true(tenantset_has(set, id));
		assert_false(add(set, id));
		assert_memory_equal(tenantset_get(set, i), id, 16);
	}
	assert_int_equal(tenantset_count(set), n);
	for(uint32_t i = n; i < n + 1000; i++) {
		make_id(i, id);
		assert_false(tenantset_has(set, id));
	}
	tenantset_free(set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_contains_order),
		cmocka_unit_test(grows_and_stays_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
