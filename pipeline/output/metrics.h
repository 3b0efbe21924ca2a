/*
 * metrics.h: the run's metrics for monitoring, in the Prometheus text
 * exposition format (version 0.0.4), for node_exporter's textfile
 * collector.
 *
 * The file is written atomically (outfile.h: a temporary file beside it,
 * fsync, rename), so the collector never reads half of it, and carries no
 * client-side timestamps (the collector refuses them). Every family has
 * its HELP and TYPE lines and always appears, zeros included, so that an
 * alert rule never sees a series vanish:
 *
 *   qualreport_last_run_timestamp_seconds       gauge, end of this run
 *   qualreport_last_success_timestamp_seconds   gauge, end of the last run
 *       that exited 0: this run's end if it did, else the value in the
 *       file at PATH from before (0 when there is none: no success yet)
 *   qualreport_run_duration_seconds             gauge
 *   qualreport_exit_code                        gauge
 *   qualreport_tenants{status="..."}            gauge, one per entry given
 *   qualreport_requests_total{code="..."}       counter, HTTP status of
 *       each attempt ("0": no answer: timeout, refused, dropped)
 *   qualreport_throttled_seconds_total          counter, time the fetch
 *       pool spent paused for the API's quota (a 429's Retry-After, or a
 *       window's budget sent: fetch_stats.throttled_us)
 *
 * The counters count this run's requests: each run starts them again,
 * which Prometheus sees as a counter reset.
 *
 * Label values are escaped as the format says (backslash, double quote,
 * line feed). The module takes plain values; what they mean for a run is
 * the caller's business (pipeline.c documents its choice).
 */
#ifndef QR_METRICS_H
#define QR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

struct metrics_count {
	const char *label;     /* the label's value, any bytes but NUL */
	uint64_t count;
};

struct metrics_code {
	unsigned code;         /* HTTP status; 0 = no answer */
	uint64_t count;
};

struct metrics_run {
	int64_t ended_ms;      /* Unix epoch milliseconds (UTC) */
	int64_t duration_ms;
	int exit_code;
	/* qualreport_tenants, label "status", written in this order */
	const struct metrics_count *tenants;
	size_t ntenants;
	/* qualreport_requests_total, label "code", written in this order */
	const struct metrics_code *requests;
	size_t nrequests;
	double throttled_s;
};

/*
 * The last success time recorded in an earlier metrics file: the value
 * of its qualreport_last_success_timestamp_seconds line, copied verbatim
 * into out (a number Prometheus reads, at most 63 bytes). false when the
 * file does not exist or holds no such line with a finite value >= 0 (a
 * file qualreport did not write, or a truncated one); an unreadable file
 * is also false and gets a warning, since its time is lost.
 */
bool metrics_last_success(const char *path, char out[64]);

/*
 * Append the whole exposition text to b. previous_success is the value
 * for the last success line when m->exit_code is not 0 (NULL or "" =
 * none, written as 0). PL_ENOMEM (or PL_ELIMIT) leaves b cut back to
 * where it was.
 */
enum pl_status metrics_format(struct buf *b, const struct metrics_run *m,
			      const char *previous_success);

/*
 * Write the metrics to path atomically, taking the previous success time
 * from the file there when this run did not exit 0. PL_EOUTPUT (message
 * naming the path) or PL_ENOMEM; nothing at path changes on failure.
 */
enum pl_status metrics_write(const char *path, const struct metrics_run *m,
			     struct pl_err *err);

#endif
