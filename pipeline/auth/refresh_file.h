/*
 * refresh_file.h: the App+User refresh token on disk, and its rotation.
 *
 * The identity platform hands out a new refresh token with every use and
 * each one's 90 days run from its own issue, so the file is rewritten
 * after every refresh grant. The rules:
 *
 *   - Lock, then read. A run holds an exclusive flock on the file from
 *     before it reads the token until after the rotated one is renamed
 *     into place, so two runs cannot both redeem one token and lose one
 *     rotation: the second waits, then reads what the first wrote. The
 *     lock is on the file itself; since the rename replaces the inode, a
 *     waiter that gets the lock checks that the path still names the
 *     inode it locked, and opens and locks again if not.
 *   - Replace atomically: a temporary file in the same directory
 *     (".NAME.XXXXXX", mode 0600, the old file's owner and group), the
 *     content written and fsynced, renamed over the file, the directory
 *     fsynced. A run killed at any point leaves either the old file or
 *     the new one, whole; its temporary file is removed by the next
 *     writer. The old token is not revoked by the platform when the new
 *     one is issued, so a file still holding it keeps working.
 *
 * Format (text, "# key: value" header lines, then the token on a line of
 * its own). A file holding just the token (what a person pastes, or
 * another tool wrote) is read as well, and gets the header at its first
 * rotation:
 *
 *   # qualreport refresh token: a secret, keep it mode 0600
 *   # rotated: 2026-03-01T06:00:02Z
 *   # client-id: 11111111-2222-3333-4444-555555555555
 *   # tenant: contoso.onmicrosoft.com
 *   0.AXEAtr...
 *
 * "rotated" is when the token was written (for `qualreport login
 * --check`); without the header the file's mtime stands in.
 *
 * Secrets: the token is read into and written from secret buffers;
 * messages name the file, never the token.
 */
#ifndef QR_REFRESH_FILE_H
#define QR_REFRESH_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

#define REFRESH_FILE_MAX (64 * 1024)
#define REFRESH_META_MAX 256
/* How long a run waits for another one's lock by default. */
#define REFRESH_LOCK_TIMEOUT_MS 120000L

struct refresh_meta {
	int64_t rotated_s;        /* Unix seconds; 0 when unknown */
	bool rotated_from_mtime;  /* no header: the file's mtime */
	char client_id[REFRESH_META_MAX]; /* "" when not recorded */
	char tenant[REFRESH_META_MAX];
	uint64_t inode;           /* changes with every rotation (rename) */
};

struct refresh_file;

/*
 * Open path, take its lock (waiting up to lock_timeout_ms; 0 = the
 * default) and read it. allow_missing: a file that does not exist yet is
 * no error (qualreport login creates it), and nothing is locked.
 * Failures name the file: PL_EAUTH when it does not exist ("run
 * qualreport login --refresh-token-file PATH") or holds no usable token;
 * PL_EUSAGE when it is a symbolic link, a directory or unreadable, or the
 * lock was not had in time.
 */
enum pl_status refresh_file_open(const char *path, bool allow_missing,
				 long lock_timeout_ms,
				 struct refresh_file **out,
				 struct pl_err *err);

/* Unlock, wipe and free. NULL is a no-op. */
void refresh_file_close(struct refresh_file *f);

bool refresh_file_exists(const struct refresh_file *f);
/* The token read (empty when the file did not exist); borrowed. */
const struct buf *refresh_file_token(const struct refresh_file *f);
const struct refresh_meta *refresh_file_meta(const struct refresh_file *f);

/*
 * Replace the file's token with token[0..len) as described above, with a
 * header saying now_s, client_id and tenant (either may be NULL). The
 * token must be one line of printable ASCII (PL_EAUTH otherwise: it came
 * from a server). The lock stays held until _close. PL_EOUTPUT with a
 * message naming the file when it cannot be written or its owner cannot
 * be kept (the old file then stays as it was).
 */
enum pl_status refresh_file_replace(struct refresh_file *f,
				    const char *token, size_t len,
				    const char *client_id, const char *tenant,
				    int64_t now_s, struct pl_err *err);

/*
 * Before any grant: whether path's directory lets this process write a
 * rotated token back (PL_EUSAGE naming it otherwise), so a run does not
 * redeem a token it cannot replace.
 */
enum pl_status refresh_file_check_writable(const char *path,
					   struct pl_err *err);

/* Whether a token is a single line of printable ASCII, not a '#'. */
bool refresh_file_is_token_usable(const char *token, size_t len);

#endif
