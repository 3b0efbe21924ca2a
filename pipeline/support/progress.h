/*
 * progress.h: run progress on stderr.
 *
 * On a terminal: one status line redrawn in place at most 10 times a
 * second ("[=====>    ] 1200/5000 24% 95/s ETA 0:40 failed 3 retrying 2",
 * and while the API's quota is spent "throttled by the API: resuming in
 * 41 s"),
 * erased before any log line is printed (and redrawn after), and cleared
 * at the end. Not on a terminal (cron, a log file): a plain log line every
 * 10 s instead, nothing with carriage returns or escape codes.
 */
#ifndef QR_PROGRESS_H
#define QR_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "pipeline.h"

struct progress_state {
	uint64_t done;     /* tenants finished (including resumed) */
	uint64_t total;    /* tenants to account for (so far, if listing) */
	/* The customer list is still being read: the total is what was
	 * listed so far ("1200 done, listed 5000 so far"), no percentage
	 * or ETA. */
	bool listing;
	uint64_t failed;
	unsigned in_flight;
	unsigned waiting;  /* tenants waiting for a retry */
	int64_t resume_in_ms; /* > 0: the API's quota is spent, no request
				 starts for this long */
};

struct progress;

/* mode AUTO: bar when stderr is a tty, periodic log lines otherwise;
 * ON: the bar even if stderr is not a tty; OFF: nothing. Returns NULL
 * when there is nothing to show (OFF) or on allocation failure. */
struct progress *progress_new(enum progress_mode mode);
/* Cheap to call often: it redraws only when its interval has passed. */
void progress_update(struct progress *p, const struct progress_state *st);
/* Erase the bar (tty) and stop; frees p. NULL is a no-op. */
void progress_finish(struct progress *p);

/* Format seconds as "1:05:07" / "4:07" into out (at least 16 bytes). */
void progress_format_duration(double seconds, char *out, unsigned outlen);

#endif
