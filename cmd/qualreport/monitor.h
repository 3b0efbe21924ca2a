/*
 * monitor.h: what a run tells monitoring, whatever its exit status:
 * --metrics (output/metrics.h) and --ping-url (support/ping.h).
 *
 * main() calls monitor_begin() first thing, monitor_start() once the
 * command line is parsed and the run begins, and monitor_end() on every
 * way out but --help and --version: a usage error (exit 2, with what was
 * parsed before it), a failed run (3, 4, 5), an interrupted one (130,
 * 143) and a finished one (0, 1). Neither a ping nor the metrics file
 * ever changes the exit status: a failure is a warning in the log, and
 * the monitor notices the ping or the fresh metrics that did not come.
 * A second Ctrl-C leaves at once, without either.
 */
#ifndef QR_MONITOR_H
#define QR_MONITOR_H

#include <stdint.h>

#include "cli.h"
#include "pipeline.h"

struct monitor {
	int64_t started_us; /* monotonic, for the run's duration */
};

void monitor_begin(struct monitor *m);

/* The start ping (URL/start), when --ping-url is set. */
void monitor_start(struct monitor *m, const struct cli *cli);

/*
 * The metrics file and the end ping (URL, or URL/<exit_code>). res is
 * NULL when the run never started (a usage error): its counts are zero.
 */
void monitor_end(struct monitor *m, const struct cli *cli,
		 const struct pipeline_result *res, int exit_code);

#endif
