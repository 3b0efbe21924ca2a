/*
 * test_csvlex.c: csvlex agrees with libcsv on every byte.
 *
 * csvin relies on csvlex to know libcsv's state without touching it; this
 * test is the one place that reads libcsv's parser fields (pstate,
 * quoted, entry_pos, spaces), to check that the copy of its state machine
 * is exact: after every byte, on random bytes from the alphabet that
 * matters (quotes, delimiters, spaces, tabs, CR, LF, text), on the
 * csv-spectrum files and on the fuzz corpus, for ',' ';' and TAB. And
 * that every field callback gets the length csvlex predicted. A libcsv
 * that parses differently fails here.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <csv.h>

#include "csvlex.h"
#include "testutil.h"

struct pair {
	struct csv_parser p;
	struct csvlex lx;
	size_t fields, rows;      /* callbacks seen */
	size_t want_fields, want_rows;
	size_t want_len;          /* of the field csvlex saw end */
	size_t offset;
};

static void on_field(void *s, size_t len, void *data)
{
	struct pair *t = data;

	(void)s;
	t->fields++;
	if(len != t->want_len)
		fail_msg("byte %zu: libcsv's field is %zu bytes, csvlex said "
			 "%zu", t->offset, len, t->want_len);
}

static void on_row(int c, void *data)
{
	struct pair *t = data;

	(void)c;
	t->rows++;
}

static void start(struct pair *t, unsigned char delim)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(csv_init(&t->p, 0), 0);
	csv_set_delim(&t->p, delim);
	csvlex_init(&t->lx, delim);
}

static void same_state(const struct pair *t)
{
	/* libcsv's states: 0 ROW_NOT_BEGUN ... 3 FIELD_MIGHT_HAVE_ENDED */
	if(t->p.pstate != (int)t->lx.state ||
	   (t->lx.state >= CSVLEX_FIELD &&
	    ((t->p.quoted != 0) != t->lx.quoted ||
	     t->p.entry_pos != t->lx.len || t->p.spaces != t->lx.spaces)))
		fail_msg("byte %zu: libcsv state %d quoted %d len %zu spaces "
			 "%zu, csvlex %d %d %zu %zu", t->offset, t->p.pstate,
			 t->p.quoted, t->p.entry_pos, t->p.spaces,
			 (int)t->lx.state, (int)t->lx.quoted, t->lx.len,
			 t->lx.spaces);
}

/* Feed s byte by byte to both and compare after each one. */
static void run(const unsigned char *s, size_t n, unsigned char delim)
{
	struct pair t;

	start(&t, delim);
	for(size_t i = 0; i < n; i++) {
		enum csvlex_effect e;

		t.offset = i;
		e = csvlex_step(&t.lx, s[i]);
		t.want_len = t.lx.ended_len;
		t.want_fields += e == CSVLEX_END_FIELD || e == CSVLEX_END_ROW;
		t.want_rows += e == CSVLEX_END_ROW;
		assert_int_equal(csv_parse(&t.p, s + i, 1, on_field, on_row,
					   &t), 1);
		same_state(&t);
		assert_int_equal(t.fields, t.want_fields);
		assert_int_equal(t.rows, t.want_rows);
	}
	t.offset = n;
	t.want_len = csvlex_field_len(&t.lx);
	if(t.lx.state != CSVLEX_ROW) {
		t.want_fields++;
		t.want_rows++;
	}
	csvlex_fini(&t.lx);
	csv_fini(&t.p, on_field, on_row, &t);
	same_state(&t);
	assert_int_equal(t.fields, t.want_fields);
	assert_int_equal(t.rows, t.want_rows);
	csv_free(&t.p);
}

static void random_bytes(void **state)
{
	static const unsigned char alphabet[] = "\"\"\",;\t  \r\nab";
	static const unsigned char delims[] = {',', ';', '\t'};
	unsigned char s[4096];
	uint64_t x = 0x9e3779b97f4a7c15u;
	(void)state;

	for(int round = 0; round < 600; round++) {
		for(size_t i = 0; i < sizeof(s); i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[i] = alphabet[x % (sizeof(alphabet) - 1)];
		}
		run(s, sizeof(s), delims[round % 3]);
	}
}

static void edges(void **state)
{
	static const char *const cases[] = {
		"", "\n", "\r\n\r\n", "a", "a,", ",", " , ,\n", "\"\"",
		"\"a\"\"b\"", "\"a\" \"b\"", "\"a\"  ,", "\"a\" x", "a  \n",
		"\"a\nb\"\r\n", "\"unterminated", "x\"y\",z", "\"\" \"\"",
		"\t\ta\t,\t", " \"q\" \n",
	};
	(void)state;

	for(size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		run((const unsigned char *)cases[i], strlen(cases[i]), ',');
		run((const unsigned char *)cases[i], strlen(cases[i]), '\t');
	}
}

/* Every file of a directory, with each delimiter. */
static void files_in(const char *dir)
{
	static const unsigned char delims[] = {',', ';', '\t'};
	char path[4096];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if(!d)
		fail_msg("cannot open %s", dir);
	while((e = readdir(d))) {
		char *text;
		size_t len;

		if(e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		text = testutil_read_file(path, &len);
		for(size_t k = 0; k < sizeof(delims); k++)
			run((const unsigned char *)text, len, delims[k]);
		free(text);
		n++;
	}
	closedir(d);
	assert_true(n > 3);
}

static void real_files(void **state)
{
	(void)state;
	files_in(QR_TESTDATA_DIR "/csv-spectrum/csvs");
	files_in(QR_SOURCE_DIR "/tests/fuzz/corpus_csvin");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(edges),
		cmocka_unit_test(random_bytes),
		cmocka_unit_test(real_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
