/*
 * status.h: the one error currency of the pipeline.
 *
 * Every fallible library call returns enum pl_status; PL_OK (0) is success,
 * so callers write `if(st) goto out;`. The human detail travels in a
 * caller-supplied buffer (struct pl_err), never on stderr from inside the
 * library, and nothing in pipeline/ calls exit().
 *
 * The CLI maps a status to the contract's exit code with pl_exit_code().
 */
#ifndef QR_STATUS_H
#define QR_STATUS_H

#include <stddef.h>

enum pl_status {
	PL_OK = 0,
	PL_EUSAGE,       /* bad option or configuration          -> exit 2 */
	PL_EINPUT,       /* input unreadable / no tenant column   -> exit 3 */
	PL_EAUTH,        /* no token, or 401 after renewal        -> exit 4 */
	PL_EOUTPUT,      /* an output could not be written        -> exit 5 */
	PL_ENOMEM,       /* allocation failed                     -> exit 5 */
	PL_EINTERRUPTED, /* SIGINT/SIGTERM                        -> 130/143 */
	PL_ELIMIT,       /* a size limit was reached (buf.h); callers
			  * turn it into a fact about the input first */
	PL_EFORMAT,      /* a body or record could not be parsed (local) */
	PL_EINTERNAL     /* a broken invariant (counts do not tie out) */
};

/* Exit codes of the product contract. */
enum qr_exit {
	QR_EXIT_OK = 0,
	QR_EXIT_FAILURES = 1,
	QR_EXIT_USAGE = 2,
	QR_EXIT_INPUT = 3,
	QR_EXIT_AUTH = 4,
	QR_EXIT_OUTPUT = 5,
	QR_EXIT_SIGINT = 130,
	QR_EXIT_SIGTERM = 143
};

/* Error detail: a message in git's style ("cannot open x: No such file"). */
#define PL_ERR_MAX 512
struct pl_err {
	char msg[PL_ERR_MAX];
};

/*
 * Record a message in err (printf-style) and return st, so a failing path
 * reads `return pl_fail(err, PL_EINPUT, "cannot open %s: %s", ...)`.
 * err may be NULL, then only st is returned.
 */
enum pl_status pl_fail(struct pl_err *err, enum pl_status st,
		       const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The exit code for a final status (PL_EINTERRUPTED needs the signal). */
int pl_exit_code(enum pl_status st, int signo);

#endif
