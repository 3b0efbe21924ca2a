/*
 * test_summary: counting tenants by (qualification, status), the
 * distinct-pair rule, NULL/"" equivalence, bytewise order and growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"
#include "summary.h"

/* Add one tenant whose rows are given as (qualification, status) pairs. */
static void add(struct summary *s, int npairs, ...)
{
	struct tenant_record rec;
	va_list ap;

	tenant_record_init(&rec);
	va_start(ap, npairs);
	for(int i = 0; i < npairs; i++) {
		const char *q = va_arg(ap, const char *);
		const char *st = va_arg(ap, const char *);

		assert_int_equal(tenant_record_add_row(&rec, q, st, "r", NULL,
						       NULL),
				 PL_OK);
	}
	va_end(ap);
	assert_int_equal(summary_add_tenant(s, &rec, NULL), PL_OK);
	tenant_record_release(&rec);
}

static void expect(const struct summary_entry *e, const char *q,
		   const char *st, unsigned long count)
{
	if(q)
		assert_string_equal(e->qualification, q);
	else
		assert_null(e->qualification);
	if(st)
		assert_string_equal(e->vetting_status, st);
	else
		assert_null(e->vetting_status);
	assert_int_equal(e->count, count);
}

static void test_empty(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e = (void *)s;
	size_t n = 99;

	(void)state;
	assert_non_null(s);
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_null(e);
	assert_int_equal(n, 0);
	/* A tenant with no rows adds nothing. */
	add(s, 0);
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_null(e);
	assert_int_equal(n, 0);
	summary_free(s);
	summary_free(NULL);
}

static void test_counts_and_order(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	size_t n;

	(void)state;
	assert_non_null(s);
	add(s, 2, "Education", "Approved", "StateOwnedEntity", NULL);
	add(s, 1, "Education", "Denied");
	add(s, 1, NULL, "None");
	add(s, 1, NULL, "NotFound");
	add(s, 1, NULL, "Error");
	add(s, 1, NULL, "Error");
	add(s, 1, "Education", "Approved");
	add(s, 1, "StateOwnedEntity", "InReview");
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 7);
	expect(&e[0], NULL, "Error", 2);
	expect(&e[1], NULL, "None", 1);
	expect(&e[2], NULL, "NotFound", 1);
	expect(&e[3], "Education", "Approved", 2);
	expect(&e[4], "Education", "Denied", 1);
	expect(&e[5], "StateOwnedEntity", NULL, 1);
	expect(&e[6], "StateOwnedEntity", "InReview", 1);
	summary_free(s);
}

static void test_distinct_pairs(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	size_t n;

	(void)state;
	assert_non_null(s);
	/* Same pair twice in one tenant: counted once. */
	add(s, 3, "Education", "Approved", "Education", "Approved",
	    "Education", "Denied");
	/* Two tenants: counted twice. */
	add(s, 1, "Education", "Approved");
	/* Same qualification, two statuses: one in each. */
	add(s, 2, "Education", "Denied", "Education", "InReview");
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 3);
	expect(&e[0], "Education", "Approved", 2);
	expect(&e[1], "Education", "Denied", 2);
	expect(&e[2], "Education", "InReview", 1);
	summary_free(s);
}

/* "" and NULL are one and the same empty value. */
static void test_null_equals_empty(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	struct tenant_record rec;
	struct qual_row rows[2];
	char empty1[] = "", empty2[] = "", soe[] = "StateOwnedEntity";
	size_t n;

	(void)state;
	assert_non_null(s);
	/* Built by hand: tenant_record_add_row would map "" to NULL. */
	tenant_record_init(&rec);
	memset(rows, 0, sizeof(rows));
	rows[0].qualification = empty1;
	rows[0].vetting_status = empty2;
	rows[1].qualification = soe;
	rows[1].vetting_status = empty1;
	rec.rows = rows;
	rec.nrows = 2;
	assert_int_equal(summary_add_tenant(s, &rec, NULL), PL_OK);
	add(s, 2, NULL, NULL, "StateOwnedEntity", NULL);
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 2);
	expect(&e[0], NULL, NULL, 2);
	expect(&e[1], "StateOwnedEntity", NULL, 2);
	summary_free(s);
}

static void test_bytewise_order(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	size_t n;

	(void)state;
	assert_non_null(s);
	add(s, 1, "\xc3\x89" "cole", "Approved"); /* "École": 0xC3 > 'z' */
	add(s, 1, "alpha", "Approved");
	add(s, 1, "Zeta", "approved");
	add(s, 1, "Zeta", "Approved");
	add(s, 1, "Zeta", "");
	add(s, 1, "", "Zulu");
	add(s, 1, "Ze", "Approved");
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 7);
	expect(&e[0], NULL, "Zulu", 1);
	expect(&e[1], "Ze", "Approved", 1);
	expect(&e[2], "Zeta", NULL, 1);
	expect(&e[3], "Zeta", "Approved", 1);
	expect(&e[4], "Zeta", "approved", 1);
	expect(&e[5], "alpha", "Approved", 1);
	expect(&e[6], "\xc3\x89" "cole", "Approved", 1);
	summary_free(s);
}

/* The sorted view follows later additions. */
static void test_sorted_refreshes(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	size_t n;

	(void)state;
	assert_non_null(s);
	add(s, 1, "Education", "Approved");
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 1);
	expect(&e[0], "Education", "Approved", 1);
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 1);
	add(s, 1, "Education", "Approved");
	add(s, 1, "Apple", "Denied");
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 2);
	expect(&e[0], "Apple", "Denied", 1);
	expect(&e[1], "Education", "Approved", 2);
	summary_free(s);
}

/* Thousands of pairs: the table grows and nothing is lost. */
static void test_many_pairs(void **state)
{
	struct summary *s = summary_new();
	const struct summary_entry *e;
	char q[32], st[32];
	size_t n;

	(void)state;
	assert_non_null(s);
	for(int round = 0; round < 3; round++) {
		for(int i = 0; i < 2000; i++) {
			snprintf(q, sizeof(q), "Q%04d", i);
			snprintf(st, sizeof(st), "S%d", i % 3);
			if(round < 2 || i % 2 == 0)
				add(s, 1, q, st);
		}
	}
	assert_int_equal(summary_sorted(s, &e, &n, NULL), PL_OK);
	assert_int_equal(n, 2000);
	for(int i = 0; i < 2000; i++) {
		snprintf(q, sizeof(q), "Q%04d", i);
		snprintf(st, sizeof(st), "S%d", i % 3);
		expect(&e[i], q, st, i % 2 == 0 ? 3 : 2);
	}
	summary_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_counts_and_order),
		cmocka_unit_test(test_distinct_pairs),
		cmocka_unit_test(test_null_equals_empty),
		cmocka_unit_test(test_bytewise_order),
		cmocka_unit_test(test_sorted_refreshes),
		cmocka_unit_test(test_many_pairs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
