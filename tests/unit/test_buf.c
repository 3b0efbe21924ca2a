/*
 * test_buf.c: the growable buffer's invariants (buf.h): always a
 * NUL-terminated string, never past its limit, unchanged by a failing
 * call, handed over whole by detach, reusable after release.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "civil.h"

static void empty_is_a_string(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;

	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_reset(&b);          /* must not write into the shared "" */
	buf_setlen(&b, 0);
	buf_release(&b);
	assert_string_equal(b.data, "");
}

static void appends_and_terminates(void **state)
{
	struct buf b;
	(void)state;

	buf_init(&b, 0);
	assert_int_equal(buf_addstr(&b, "tenant"), PL_OK);
	assert_int_equal(buf_addch(&b, '/'), PL_OK);
	assert_int_equal(buf_add(&b, "42xyz", 2), PL_OK);
	assert_string_equal(b.data, "tenant/42");
	assert_int_equal(b.len, 9);
	assert_true(b.cap > b.len);
	for(int i = 0; i < 10000; i++)
		assert_int_equal(buf_addch(&b, 'x'), PL_OK);
	assert_int_equal(b.len, 10009);
	assert_int_equal(b.data[b.len], '\0');
	buf_setlen(&b, 3);
	assert_string_equal(b.data, "ten");
	buf_setlen(&b, 99); /* longer than len: ignored */
	assert_string_equal(b.data, "ten");
	buf_release(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
}

static void formats(void **state)
{
	struct buf b = BUF_INIT;
	char big[300];
	(void)state;

	assert_int_equal(buf_addf(&b, "%s %d", "HTTP", 429), PL_OK);
	assert_string_equal(b.data, "HTTP 429");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* past the allocated room: grows and writes again */
	assert_int_equal(buf_addf(&b, ":%s:", big), PL_OK);
	assert_int_equal(b.len, 8 + 2 + 299);
	assert_int_equal(b.data[9], 'a');
	assert_int_equal(b.data[b.len - 1], ':');
	assert_int_equal(strlen(b.data), b.len);
	buf_release(&b);
}

static void limit_is_hard(void **state)
{
	struct buf b;
	(void)state;

	buf_init(&b, 8);
	assert_int_equal(buf_addstr(&b, "12345678"), PL_OK);
	assert_int_equal(buf_addch(&b, '9'), PL_ELIMIT);
	assert_string_equal(b.data, "12345678");
	buf_setlen(&b, 6);
	assert_int_equal(buf_addstr(&b, "abc"), PL_ELIMIT);
	assert_string_equal(b.data, "123456");
	assert_int_equal(buf_addf(&b, "%s", "abc"), PL_ELIMIT);
	assert_string_equal(b.data, "123456");
	assert_int_equal(buf_addf(&b, "%s", "ab"), PL_OK);
	assert_string_equal(b.data, "123456ab");
	/* huge requests fail cleanly instead of overflowing size_t */
	assert_int_equal(buf_grow(&b, (size_t)-1), PL_ELIMIT);
	buf_release(&b);
	assert_int_equal(b.limit, 8); /* kept for reuse */

	buf_init(&b, 0);
	assert_int_equal(buf_grow(&b, (size_t)-1), PL_ELIMIT);
	assert_int_equal(buf_grow(&b, BUF_NO_LIMIT + 1), PL_ELIMIT);
	buf_release(&b);
}

static void detach_hands_over(void **state)
{
	struct buf b = BUF_INIT;
	size_t len = 99;
	char *s;
	(void)state;

	s = buf_detach(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	assert_int_equal(buf_addstr(&b, "refresh"), PL_OK);
	s = buf_detach(&b, &len);
	assert_string_equal(s, "refresh");
	assert_int_equal(len, 7);
	assert_string_equal(b.data, "");
	assert_int_equal(b.cap, 0);
	free(s);
	buf_release(&b);
}

static void secret_keeps_bytes_across_growth(void **state)
{
	struct buf b;
	(void)state;

	buf_init_secret(&b, 0);
	for(int i = 0; i < 5000; i++)
		assert_int_equal(buf_addch(&b, (char)('a' + i % 26)), PL_OK);
	for(int i = 0; i < 5000; i++)
		assert_int_equal(b.data[i], 'a' + i % 26);
	buf_reset(&b);
	assert_string_equal(b.data, "");
	assert_true(b.cap > 0); /* reset keeps the memory */
	buf_release(&b);
	assert_true(b.secret);
}

static void trim_frees_big_buffers(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;

	for(int i = 0; i < 2000; i++)
		buf_addch(&b, 'x');
	buf_trim(&b, 4096);
	assert_true(b.cap > 0);
	assert_int_equal(b.len, 0);
	for(int i = 0; i < 9000; i++)
		buf_addch(&b, 'x');
	buf_trim(&b, 4096);
	assert_int_equal(b.cap, 0);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void removes_from_the_front(void **state)
{
	struct buf b = BUF_INIT;
	(void)state;

	buf_remove(&b, 0, 5); /* empty: nothing to do, nothing written */
	assert_int_equal(buf_addstr(&b, "0123456789"), PL_OK);
	buf_remove(&b, 0, 3);
	assert_string_equal(b.data, "3456789");
	buf_remove(&b, 2, 2);
	assert_string_equal(b.data, "34789");
	buf_remove(&b, 3, 100);
	assert_string_equal(b.data, "347");
	assert_int_equal(b.len, 3);
	buf_remove(&b, 3, 1);
	assert_string_equal(b.data, "347");
	buf_release(&b);
}

static void freads_in_pieces(void **state)
{
	char text[] = "line one\nline two\n";
	struct buf b = BUF_INIT, small;
	FILE *fp = fmemopen(text, sizeof(text) - 1, "r");
	size_t got;
	(void)state;

	assert_non_null(fp);
	assert_int_equal(buf_fread(&b, 5, fp, &got), PL_OK);
	assert_int_equal(got, 5);
	assert_string_equal(b.data, "line ");
	assert_int_equal(buf_fread(&b, 100, fp, &got), PL_OK);
	assert_int_equal(got, sizeof(text) - 1 - 5);
	assert_string_equal(b.data, text);
	assert_int_equal(buf_fread(&b, 100, fp, &got), PL_OK);
	assert_int_equal(got, 0);
	assert_true(feof(fp));
	/* The limit holds before anything is read. */
	rewind(fp);
	buf_init(&small, 4);
	assert_int_equal(buf_fread(&small, 5, fp, &got), PL_ELIMIT);
	assert_int_equal(got, 0);
	assert_int_equal(ftell(fp), 0);
	assert_int_equal(buf_fread(&small, 4, fp, &got), PL_OK);
	assert_string_equal(small.data, "line");
	fclose(fp);
	buf_release(&small);
	buf_release(&b);
}

static void civil_round_trips(void **state)
{
	(void)state;
	assert_int_equal(civil_days(1970, 1, 1), 0);
	assert_int_equal(civil_days(2000, 3, 1), 11017);
	assert_int_equal(civil_days(1969, 12, 31), -1);
	for(int64_t z = -800000; z < 800000; z += 997) {
		int64_t y;
		unsigned m, d;

		civil_from_days(z, &y, &m, &d);
		assert_int_equal(civil_days(y, m, d), z);
	}
	assert_true(civil_is_leap(2000));
	assert_false(civil_is_leap(1900));
	assert_true(civil_is_leap(2024));
	assert_false(civil_is_leap(2026));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_is_a_string),
		cmocka_unit_test(appends_and_terminates),
		cmocka_unit_test(formats),
		cmocka_unit_test(limit_is_hard),
		cmocka_unit_test(detach_hands_over),
		cmocka_unit_test(secret_keeps_bytes_across_growth),
		cmocka_unit_test(trim_frees_big_buffers),
		cmocka_unit_test(removes_from_the_front),
		cmocka_unit_test(freads_in_pieces),
		cmocka_unit_test(civil_round_trips),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
