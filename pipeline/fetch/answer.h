/*
 * answer.h: one attempt's HTTP answer, checked as libcurl hands it over.
 *
 * The engine's header callback passes every line libcurl gives it (the
 * status line of each interim 1xx and of the final response, each header
 * field, the blank line that ends a header section, chunked trailers),
 * and its write callback the body, still content-encoded: the engine asks
 * for gzip and deflate only and turns libcurl's own decoding off
 * (CURLOPT_HTTP_CONTENT_DECODING 0), so that a truncated stream, a bomb
 * and an encoding nobody asked for are told apart here, under the limits,
 * with zlib.
 *
 * Noted on the way: the status, Retry-After (parsed by retry.h, kept as
 * sent for messages), Location, and whether the answer echoed the
 * MS-RequestId that was sent. The first fault stops the transfer (the
 * callbacks return false, so libcurl aborts it and closes the
 * connection) and stays in a->fault for outcome.h to put into words; a
 * fault is a fact about this answer, never about our machine, except
 * ANSWER_NOMEM.
 *
 * Limits: a header section (all lines of all responses of the attempt)
 * of ANSWER_MAX_HEADER_BYTES; a decoded body of the caller's max_body
 * (NORM_MAX_BODY for a tenant's answer, more for a page of the customer
 * list; body.limit holds it); a content-encoded body of
 * ANSWER_MAX_RAW_BODY before decoding.
 *
 * Request IDs: an answer carrying another request's MS-RequestId is not
 * ours (a proxy or a kept-alive connection handed us someone else's
 * answer): ANSWER_FOREIGN_ID as soon as the header arrives. Once the
 * server has echoed the ID (the engine passes expect_id), a 2xx or 404
 * answer without one is not trusted either (ANSWER_MISSING_ID): those are
 * the answers that become facts in the report. A value that is not a GUID
 * proves nothing and is ignored.
 *
 * Ownership: struct answer owns its body buffer and zlib state;
 * answer_release() frees them. The body stays readable after a fault (it
 * holds what had arrived).
 */
#ifndef QR_ANSWER_H
#define QR_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zlib.h>

#include "buf.h"
#include "record.h"

#define ANSWER_MAX_HEADER_BYTES (256u * 1024u)
#define ANSWER_MAX_RAW_BODY (16u * 1024u * 1024u)
#define ANSWER_TEXT_MAX 128 /* kept header values, NUL included */

enum answer_fault {
	ANSWER_FINE = 0,
	ANSWER_NOMEM,             /* our own allocation failed */
	ANSWER_TOO_BIG,           /* decoded body (or its length) > max_body */
	ANSWER_RAW_TOO_BIG,       /* encoded body > ANSWER_MAX_RAW_BODY */
	ANSWER_HEADERS_TOO_BIG,   /* header section > the limit */
	ANSWER_LENGTH_CONFLICT,   /* Content-Length headers disagree */
	ANSWER_ENCODING_UNSUPPORTED, /* a Content-Encoding not asked for */
	ANSWER_ENCODING_CORRUPT,  /* gzip/deflate data zlib refuses */
	ANSWER_ENCODING_TRUNCATED, /* the compressed stream stops early */
	ANSWER_FOREIGN_ID,        /* MS-RequestId of another request */
	ANSWER_MISSING_ID,        /* no MS-RequestId from an echoing server */
	ANSWER_HEADERS_CUT        /* ended inside the header section */
};

enum answer_encoding {
	ANSWER_IDENTITY = 0,
	ANSWER_GZIP,
	ANSWER_DEFLATE
};

struct answer {
	/* set by answer_start() */
	char request_id[GUID_STR_LEN + 1]; /* the MS-RequestId sent */
	bool expect_id;
	int64_t now_epoch_ms;     /* for Retry-After dates */

	/* what arrived */
	long status;              /* last status line; 0 = none yet */
	bool headers_done;        /* the final response's headers ended */
	size_t header_bytes;
	int64_t retry_after_ms;   /* retry_parse_after(); -1 = none */
	char retry_after[ANSWER_TEXT_MAX]; /* as sent, printable; "" = none */
	char location[ANSWER_TEXT_MAX];    /* as sent, printable; "" = none */
	bool echoed_id;           /* our MS-RequestId came back */
	char foreign_id[GUID_STR_LEN + 1]; /* ANSWER_FOREIGN_ID: theirs */
	bool has_length;
	uint64_t length;          /* Content-Length (saturated) */
	char length_text[32];     /* as sent, for messages */
	bool length_conflict;     /* two different values */
	bool chunked;             /* Transfer-Encoding: then the length
				   * means nothing (RFC 9112 6.3) */
	enum answer_encoding encoding;
	char encoding_name[ANSWER_TEXT_MAX]; /* unsupported: as sent */
	size_t raw_bytes;         /* body bytes before decoding */
	struct buf body;          /* decoded, at most NORM_MAX_BODY */

	enum answer_fault fault;
	char fault_detail[ANSWER_TEXT_MAX]; /* zlib's words; "" = none */

	/* private */
	z_stream _z;
	bool _z_live;             /* inflateInit2 done */
	bool _z_end;              /* a stream ended (Z_STREAM_END) */
	unsigned char _stash[2];  /* deflate: the first bytes, to tell */
	size_t _nstash;           /* zlib-wrapped from raw */
	char _conflict[48];       /* "121 and 5" */
};

/* An empty answer (no allocation). */
void answer_init(struct answer *a);
/* Free the body and the zlib state; a is then as after answer_init. */
void answer_release(struct answer *a);

/*
 * Start over for a new attempt that sends request_id (a canonical GUID,
 * or "" when none is sent) and reads a decoded body of at most max_body
 * bytes. The body's memory is kept up to keep_bytes for reuse.
 */
void answer_start(struct answer *a, const char *request_id, bool expect_id,
		  int64_t now_epoch_ms, size_t max_body, size_t keep_bytes);

/* One header line as libcurl gives it (CRLF included, not NUL-
 * terminated). false: a fault, stop the transfer. */
bool answer_header(struct answer *a, const char *line, size_t len);

/* Body bytes as they arrive. false: a fault, stop the transfer. */
bool answer_body(struct answer *a, const char *data, size_t len);

/* The transfer ended without error: flush the decoder and check that
 * nothing is missing. false: a fault (a->fault). */
bool answer_finish(struct answer *a);

/* The fault's short name for logs ("headers too big"). */
const char *answer_fault_name(enum answer_fault f);

#endif
