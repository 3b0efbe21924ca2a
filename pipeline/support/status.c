#include "status.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>

enum pl_status pl_fail(struct pl_err *err, enum pl_status st,
		       const char *fmt, ...)
{
	va_list ap;

	if(!err)
		return st;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return st;
}

int pl_exit_code(enum pl_status st, int signo)
{
	switch(st) {
	case PL_OK: return QR_EXIT_OK;
	case PL_EUSAGE: return QR_EXIT_USAGE;
	case PL_EINPUT: return QR_EXIT_INPUT;
	case PL_EAUTH: return QR_EXIT_AUTH;
	case PL_EINTERRUPTED:
		return signo == SIGTERM ? QR_EXIT_SIGTERM : QR_EXIT_SIGINT;
	case PL_EOUTPUT:
	case PL_ENOMEM:
	case PL_ELIMIT:
	case PL_EFORMAT:
	case PL_EINTERNAL:
		break;
	}
	return QR_EXIT_OUTPUT;
}
