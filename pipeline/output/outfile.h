/*
 * outfile.h: an output file that appears atomically, or not at all.
 *
 * Bytes go to a temporary file beside the target (same directory, so the
 * final rename(2) is atomic); outfile_commit() flushes, fsyncs, renames and
 * fsyncs the directory. outfile_abort() unlinks the temporary file, so a
 * failed or interrupted run leaves nothing at the final path. The one
 * exception: a directory sync that fails after the rename ("cannot sync
 * PATH") leaves the file at its final path; the caller (pipeline.c) says
 * so, and the missing manifest tells loaders. "-" writes
 * to stdout directly (no temporary file; commit flushes, and fsyncs only
 * a regular file). A target that exists and is not a regular file
 * (/dev/null, /dev/full, a FIFO) is also written in place: renaming over
 * it would replace the device node.
 * The temporary file is ".<base>.<pid>.<n>.tmp", created O_EXCL with mode
 * 0666, so the umask sets the report's permissions as for any new file.
 *
 * Temporary files that a killed run left beside the same target (their
 * process is gone) are removed when the target is opened again.
 *
 * With gzip set, bytes are deflated (zlib, gzip framing) on the way out.
 * Byte count and SHA-256 (OpenSSL EVP) are of the bytes that reach the
 * file, i.e. of the compressed stream when gzip is on.
 *
 * Ownership: commit and abort both free the outfile; after either the
 * pointer is dead. outfile_abort(NULL) is a no-op.
 */
#ifndef QR_OUTFILE_H
#define QR_OUTFILE_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"

struct outfile;

struct outfile_stats {
	uint64_t bytes;
	char sha256[65]; /* lowercase hex */
};

enum pl_status outfile_open(const char *path, int gzip, struct outfile **out,
			    struct pl_err *err);
/* Errors are PL_EOUTPUT with a message naming the path. */
enum pl_status outfile_write(struct outfile *f, const void *data, size_t len,
			     struct pl_err *err);
/*
 * Everything a commit does except the rename: finish the gzip stream,
 * flush, fsync, close, digest. A run with several outputs finishes them
 * all before it commits any, so a failing one (a full disk) leaves none
 * of them at its final path. On failure the outfile is still owned by the
 * caller, who aborts it. Finishing twice is a no-op.
 */
enum pl_status outfile_finish(struct outfile *f, struct pl_err *err);
/* The stats of a finished outfile (what commit will report), or NULL
 * before outfile_finish succeeded. Borrowed until commit or abort. */
const struct outfile_stats *outfile_finished_stats(const struct outfile *f);
/* Finish if not yet done, then rename into place and sync the directory. */
enum pl_status outfile_commit(struct outfile *f, struct outfile_stats *stats,
			      struct pl_err *err);
void outfile_abort(struct outfile *f);
const char *outfile_path(const struct outfile *f);

/*
 * Remove every temporary file still open (signal-safe enough for the
 * interrupt path: only unlink(2) on names prepared in advance).
 */
void outfile_abort_all_unlink(void);

#endif
