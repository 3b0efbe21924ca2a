/*
 * record_shape.h: the one shape every normalized answer has, for the
 * fuzzers that normalize (fuzz_norm, fuzz_answer): abort (a finding)
 * unless rec has it.
 */
#ifndef QR_FUZZ_RECORD_SHAPE_H
#define QR_FUZZ_RECORD_SHAPE_H

#include <stdlib.h>

#include "record.h"

static inline void check_record_shape(const struct tenant_record *rec)
{
	if(rec->nrows < 1)
		abort();
	/* NotFound and Error: exactly one row, with its status. */
	if(rec->outcome != OUTCOME_ANSWERED &&
	   (rec->nrows != 1 || !rec->rows[0].vetting_status ||
	    rec->rows[0].qualification))
		abort();
	if(rec->outcome == OUTCOME_FAILED && !rec->error)
		abort();
}

#endif
