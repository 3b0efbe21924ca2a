#include "csvlex.h"

/*
 * The transitions are libcsv 3.0's csv_parse() switch, case for case and
 * in its order of tests (a TAB delimiter is a delimiter before it is a
 * space), keeping the lengths instead of the bytes.
 */

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static bool is_term(unsigned char c)
{
	return c == '\r' || c == '\n';
}

void csvlex_init(struct csvlex *lx, unsigned char delim)
{
	lx->state = CSVLEX_ROW;
	lx->quoted = false;
	lx->len = lx->spaces = lx->ended_len = 0;
	lx->delim = delim;
}

size_t csvlex_field_len(const struct csvlex *lx)
{
	switch(lx->state) {
	case CSVLEX_ROW:
	case CSVLEX_BETWEEN:
		return 0;
	case CSVLEX_FIELD:
		return lx->quoted ? lx->len : lx->len - lx->spaces;
	case CSVLEX_QUOTE:
		return lx->len - lx->spaces - 1;
	}
	return 0;
}

/* SUBMIT_FIELD: the field ends; the record goes on. */
static enum csvlex_effect end_field(struct csvlex *lx)
{
	lx->ended_len = csvlex_field_len(lx);
	lx->state = CSVLEX_BETWEEN;
	lx->quoted = false;
	lx->len = lx->spaces = 0;
	return CSVLEX_END_FIELD;
}

/* SUBMIT_FIELD and SUBMIT_ROW. */
static enum csvlex_effect end_row(struct csvlex *lx)
{
	end_field(lx);
	lx->state = CSVLEX_ROW;
	return CSVLEX_END_ROW;
}

/* SUBMIT_CHAR; a space counts as trailing, anything else ends the run. */
static enum csvlex_effect keep(struct csvlex *lx, bool space)
{
	lx->len++;
	lx->spaces = space ? lx->spaces + 1 : 0;
	return CSVLEX_BYTE;
}

/* SUBMIT_CHAR where libcsv leaves its space count alone. */
static enum csvlex_effect keep_as_is(struct csvlex *lx)
{
	lx->len++;
	return CSVLEX_BYTE;
}

enum csvlex_effect csvlex_step(struct csvlex *lx, unsigned char c)
{
	switch(lx->state) {
	case CSVLEX_ROW:
	case CSVLEX_BETWEEN:
		if(is_space(c) && c != lx->delim)
			return CSVLEX_NOTHING;
		if(is_term(c)) {
			/* An empty line between records makes no record. */
			if(lx->state == CSVLEX_ROW)
				return CSVLEX_NOTHING;
			return end_row(lx);
		}
		if(c == lx->delim)
			return end_field(lx);
		lx->state = CSVLEX_FIELD;
		if(c == '"') {
			lx->quoted = true;
			return CSVLEX_NOTHING;
		}
		lx->quoted = false;
		return keep(lx, false);
	case CSVLEX_FIELD:
		if(c == '"') {
			if(lx->quoted) {
				lx->state = CSVLEX_QUOTE; /* maybe the end */
				return keep_as_is(lx);
			}
			return keep(lx, false);
		}
		if(c == lx->delim) {
			if(lx->quoted)
				return keep_as_is(lx);
			return end_field(lx);
		}
		if(is_term(c)) {
			if(lx->quoted)
				return keep_as_is(lx);
			return end_row(lx);
		}
		return keep(lx, !lx->quoted && is_space(c));
	case CSVLEX_QUOTE:
		if(c == lx->delim)
			return end_field(lx);
		if(is_term(c))
			return end_row(lx);
		if(is_space(c))
			return keep(lx, true);
		if(c == '"') {
			if(lx->spaces)
				return keep(lx, false); /* text, still maybe */
			lx->state = CSVLEX_FIELD;   /* "" is one quote */
			return CSVLEX_NOTHING;
		}
		lx->state = CSVLEX_FIELD;
		return keep(lx, false);
	}
	return CSVLEX_NOTHING;
}

void csvlex_fini(struct csvlex *lx)
{
	csvlex_init(lx, lx->delim);
}
