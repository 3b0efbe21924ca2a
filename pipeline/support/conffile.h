/*
 * conffile.h: the config file (--config FILE), read the way curl reads
 * its -K files, so the cron line and the systemd unit stay short.
 *
 * One long option per line, without or with its leading "--":
 *     # a comment (a line whose first non-blank character is '#')
 *     rate = 500/min
 *     journal: /var/lib/qualreport/%Y-%m.journal
 *     excel-safe
 *     tenant "contoso.onmicrosoft.com"
 * The name ends at '=', ':' or white space; the value is the rest of the
 * line, blanks around it removed. A value in double quotes may hold
 * blanks, '#' and the escapes \" \\ \t \n; an unquoted value is taken
 * verbatim (a '#' inside it is not a comment). Blank lines are skipped;
 * CRLF line ends and a UTF-8 BOM are accepted.
 *
 * The reader knows nothing about which options exist: it hands each
 * (name, value, line) to the caller, who looks the name up in its option
 * table. The file is read whole (it is small: at most CONFFILE_MAX
 * bytes), and the strings handed out live until conffile_free().
 */
#ifndef QR_CONFFILE_H
#define QR_CONFFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "status.h"

#define CONFFILE_MAX (256 * 1024)

struct conffile_entry {
	const char *name;   /* without "--" */
	const char *value;  /* NULL when the line has no value */
	unsigned long line; /* 1-based */
};

struct conffile {
	char *path;
	struct conffile_entry *entries;
	size_t n;
	/* Mode and owner as read, for the secrets rule (conffile_is_private). */
	unsigned mode;
	bool owned_by_user;
	/* private */
	char *_text;
	size_t _len;
};

/*
 * Read and split path. PL_EUSAGE with "FILE:LINE: ..." for a syntax
 * error (an unterminated quote, an empty name), or "cannot read FILE:
 * ..." when it cannot be read or is not a regular file or is larger
 * than CONFFILE_MAX; PL_ENOMEM. On failure *out is NULL.
 */
enum pl_status conffile_read(const char *path, struct conffile **out,
			     struct pl_err *err);

/* Mode 0600 or 0400 (nobody else may read it) and owned by the
 * effective user: only such a file may hold a secret. */
bool conffile_is_private(const struct conffile *cf);

/*
 * Expand strftime conversions (%Y, %m, %d, ..., %% for a literal %) in a
 * path value with the time tm; a value without '%' is copied. Returns
 * PL_EUSAGE when the result would be empty or longer than 4096 bytes.
 * The caller frees *out.
 */
enum pl_status conffile_expand_path(const char *value, const struct tm *tm,
				    char **out, struct pl_err *err);

void conffile_free(struct conffile *cf); /* NULL is a no-op */

#endif
