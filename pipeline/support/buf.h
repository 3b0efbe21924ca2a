/*
 * buf.h: the one growable byte buffer of the pipeline (git's strbuf, with
 * curl dynbuf's hard limit).
 *
 * Invariants, true after every call:
 *   - data is never NULL and data[len] == '\0', so data can be used as a
 *     C string (an empty buffer points at a shared, read-only "");
 *   - len < cap whenever memory is allocated (room for the NUL); cap == 0
 *     means nothing is allocated;
 *   - len <= limit: a call that would pass the limit fails with
 *     PL_ELIMIT and leaves the buffer as it was, so a hostile input (a
 *     body, a cell, a line) cannot grow it without bound;
 *   - a secret buffer (buf_init_secret) never leaves a copy of its bytes
 *     in freed memory: growing moves them and wipes the old block, and
 *     reset, release and detach's caller (see buf_detach) wipe.
 *
 * Errors: PL_ENOMEM when an allocation fails, PL_ELIMIT at the limit. No
 * message: the caller knows what the bytes were and says so.
 *
 * Ownership: the buffer owns data until buf_detach() hands it over.
 * buf_release() frees it and leaves an empty buffer with the same limit,
 * ready for reuse; a zeroed struct is not valid, use BUF_INIT or
 * buf_init().
 */
#ifndef QR_BUF_H
#define QR_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* No limit given: half the address space, i.e. only memory limits. */
#define BUF_NO_LIMIT ((size_t)-1 / 2)

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
	bool secret;
};

extern char buf_empty[];

#define BUF_INIT {buf_empty, 0, 0, BUF_NO_LIMIT, false}

/* limit 0 means BUF_NO_LIMIT. */
void buf_init(struct buf *b, size_t limit);
void buf_init_secret(struct buf *b, size_t limit);

/* Make room for extra more bytes (plus the NUL) without changing len. */
enum pl_status buf_grow(struct buf *b, size_t extra);

enum pl_status buf_add(struct buf *b, const void *data, size_t n);
enum pl_status buf_addstr(struct buf *b, const char *s);
enum pl_status buf_addch(struct buf *b, char c);
enum pl_status buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Append up to n bytes read with fread(3) from fp; *got says how many
 * came (0 at end of file or on a read error: feof/ferror tell which).
 * PL_ELIMIT or PL_ENOMEM before anything is read.
 */
enum pl_status buf_fread(struct buf *b, size_t n, FILE *fp, size_t *got);

/* Cut to len bytes (len <= b->len); keeps the memory. */
void buf_setlen(struct buf *b, size_t len);
/* Remove n bytes at pos (clamped to the end), moving the rest down: a
 * buffer drained from the front, such as bytes a short write left. */
void buf_remove(struct buf *b, size_t pos, size_t n);
/* Empty it, keeping the memory (wiped first if secret). */
void buf_reset(struct buf *b);
/* Free the memory if more than keep bytes are allocated, else reset:
 * for a buffer reused per request, one huge answer must not pin its
 * memory for the rest of the run. */
void buf_trim(struct buf *b, size_t keep);

/*
 * Hand the bytes to the caller (NUL-terminated, *len set when len is not
 * NULL; an empty buffer gives a fresh allocation of ""), and leave the
 * buffer empty. NULL on allocation failure (the buffer unchanged). The
 * caller frees, and wipes first if the buffer was secret.
 */
char *buf_detach(struct buf *b, size_t *len);

/* Free the memory (wiped first if secret) and leave an empty buffer. */
void buf_release(struct buf *b);

#endif
