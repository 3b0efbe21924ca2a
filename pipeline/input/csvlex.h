/*
 * csvlex.h: libcsv's grammar, tracked byte by byte.
 *
 * csvin needs two things libcsv does not tell: whether the parser is
 * between records when a line begins or ends (to give each record its
 * line and to see blank lines), and how long the field being parsed has
 * grown (to stop feeding it at the 1 MiB cell limit instead of letting
 * libcsv's buffer grow). Rather than read or write libcsv's private
 * parser state, csvin runs every byte it feeds libcsv through this copy
 * of libcsv 3.0's state machine (csv_parse with the options csvin uses:
 * not strict, space and tab as spaces, CR and LF as line ends), which
 * only counts. The states are libcsv's own; tests/unit/test_csvlex.c
 * checks, on every byte of random and real inputs, that both agree, so a
 * libcsv that parses differently fails the tests, not a report.
 */
#ifndef QR_CSVLEX_H
#define QR_CSVLEX_H

#include <stdbool.h>
#include <stddef.h>

enum csvlex_state {
	CSVLEX_ROW = 0,   /* between records (libcsv ROW_NOT_BEGUN) */
	CSVLEX_BETWEEN,   /* between fields of a record (FIELD_NOT_BEGUN) */
	CSVLEX_FIELD,     /* in a field (FIELD_BEGUN) */
	CSVLEX_QUOTE      /* a quote in a quoted field: its end, or text
			   * (FIELD_MIGHT_HAVE_ENDED) */
};

/* What one byte did. */
enum csvlex_effect {
	CSVLEX_NOTHING = 0, /* nothing kept (a leading space, an opening
			     * quote, the second quote of "", the end of a
			     * blank line) */
	CSVLEX_BYTE,        /* one byte added to the field */
	CSVLEX_END_FIELD,   /* a field ended (libcsv's field callback) */
	CSVLEX_END_ROW      /* a field and its record ended (both) */
};

struct csvlex {
	enum csvlex_state state;
	bool quoted;          /* the field began with a quote */
	size_t len;           /* bytes libcsv holds for the field */
	size_t spaces;        /* of them, trailing spaces it may drop */
	size_t ended_len;     /* length of the field the last byte ended */
	unsigned char delim;
};

void csvlex_init(struct csvlex *lx, unsigned char delim);
enum csvlex_effect csvlex_step(struct csvlex *lx, unsigned char c);
/* The length libcsv would hand its callback if the field ended now (an
 * unquoted field's trailing spaces dropped, and after a closing quote
 * that quote and the spaces after it), as csv_fini() ends it. */
size_t csvlex_field_len(const struct csvlex *lx);
/* What csv_fini() does to the state: back between records. */
void csvlex_fini(struct csvlex *lx);

#endif
