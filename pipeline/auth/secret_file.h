/*
 * secret_file.h: reading secrets (a token, a client secret, a key
 * passphrase, a PEM private key) from files.
 *
 * Everything read lands in a secret buffer (buf_init_secret) the caller
 * owns, and the scratch memory is wiped. A file other users can read gets
 * a warning naming it (the secret may already have leaked), once per
 * read. Messages name the file, never its contents.
 */
#ifndef QR_SECRET_FILE_H
#define QR_SECRET_FILE_H

#include <stddef.h>

#include "buf.h"
#include "status.h"

/* Longest first line read_line accepts. */
#define SECRET_FILE_LINE_MAX (64 * 1024)

/*
 * The first line of path: a UTF-8 BOM skipped, trailing CR/LF, spaces
 * and tabs removed, into out (reset first). Refuses an empty line, a NUL
 * byte and a line over SECRET_FILE_LINE_MAX. PL_EUSAGE with a message
 * naming the file; out is then empty.
 */
enum pl_status secret_file_read_line(const char *path, struct buf *out,
				     struct pl_err *err);

/*
 * The whole of path (at most limit bytes) into out (reset first).
 * PL_EUSAGE when unreadable, empty or larger than limit.
 */
enum pl_status secret_file_read_all(const char *path, size_t limit,
				    struct buf *out, struct pl_err *err);

#endif
