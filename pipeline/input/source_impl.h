/*
 * source_impl.h: what a source implements (source.h's interface as a
 * table of functions, like report_impl.h for the writers). Only
 * source.c, source_csv.c and source_listing.c include it.
 */
#ifndef QR_SOURCE_IMPL_H
#define QR_SOURCE_IMPL_H

#include "source.h"

struct source_ops {
	enum pl_status (*start)(struct source *s, struct pl_err *err);
	bool (*next_request)(struct source *s, int64_t now_us,
			     struct fetch_job *job);
	enum pl_status (*request_done)(struct source *s,
				       const struct fetch_result *res,
				       struct pl_err *err);
	bool (*is_complete)(const struct source *s);
	void (*counts)(const struct source *s, struct source_counts *c);
	void (*free)(struct source *s);
};

/* The first member of every source. */
struct source {
	const struct source_ops *ops;
};

#endif
