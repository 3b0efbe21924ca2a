/*
 * answer.c: header lines and body bytes of one attempt, checked and
 * decoded as they arrive (see answer.h).
 */
#include "answer.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "guid.h"
#include "norm.h"
#include "retry.h"

#define INFLATE_CHUNK 16384

void answer_init(struct answer *a)
{
	memset(a, 0, sizeof(*a));
	buf_init(&a->body, NORM_MAX_BODY);
	a->retry_after_ms = -1;
}

static void end_inflate(struct answer *a)
{
	if(a->_z_live)
		inflateEnd(&a->_z);
	a->_z_live = false;
}

void answer_release(struct answer *a)
{
	end_inflate(a);
	buf_release(&a->body);
	answer_init(a);
}

/* What one response (interim or final) said about itself: forgotten at
 * the next status line, since only the final response's count. */
static void forget_response(struct answer *a)
{
	a->retry_after_ms = -1;
	a->retry_after[0] = '\0';
	a->location[0] = '\0';
	a->has_length = false;
	a->length = 0;
	a->length_text[0] = '\0';
	a->length_conflict = false;
	a->chunked = false;
	a->encoding = ANSWER_IDENTITY;
	a->encoding_name[0] = '\0';
}

void answer_start(struct answer *a, const char *request_id, bool expect_id,
		  int64_t now_epoch_ms, size_t max_body, size_t keep_bytes)
{
	struct buf body = a->body;

	end_inflate(a);
	buf_trim(&body, keep_bytes);
	memset(a, 0, sizeof(*a));
	a->body = body;
	a->body.limit = max_body;
	snprintf(a->request_id, sizeof(a->request_id), "%s",
		 request_id ? request_id : "");
	a->expect_id = expect_id;
	a->now_epoch_ms = now_epoch_ms;
	forget_response(a);
}

static bool fault(struct answer *a, enum answer_fault f, const char *detail)
{
	if(!a->fault) {
		a->fault = f;
		snprintf(a->fault_detail, sizeof(a->fault_detail), "%s",
			 detail ? detail : "");
	}
	return false;
}

/* Copy a header value for messages: printable ASCII only (anything else
 * as '?'), cut with "..." to fit. */
static void keep_text(char *out, size_t n, const char *v, size_t len)
{
	size_t i, room = n - 1;

	if(len > room)
		room -= 3;
	for(i = 0; i < len && i < room; i++)
		out[i] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
	if(len > i) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* "Name:" at the start of line (any case)? Then value and vlen give the
 * value without surrounding white space and line end. */
static bool field(const char *line, size_t len, const char *name,
		  const char **value, size_t *vlen)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;

	if(len <= n || line[n] != ':' || strncasecmp(line, name, n))
		return false;
	v = line + n + 1;
	while(end > v && (end[-1] == '\n' || end[-1] == '\r' ||
			  is_ows(end[-1])))
		end--;
	while(v < end && is_ows(*v))
		v++;
	*value = v;
	*vlen = (size_t)(end - v);
	return true;
}

/* "HTTP/1.1 200 OK": the three digits, or 0 when there are none. */
static long status_of(const char *line, size_t len)
{
	size_t i = 5;
	long code = 0;

	while(i < len && line[i] != ' ')
		i++;
	while(i < len && line[i] == ' ')
		i++;
	for(int d = 0; d < 3; d++, i++) {
		if(i >= len || line[i] < '0' || line[i] > '9')
			return 0;
		code = code * 10 + (line[i] - '0');
	}
	return code;
}

static void note_length(struct answer *a, const char *v, size_t len)
{
	uint64_t n = 0;

	for(size_t i = 0; i < len; i++) {
		if(v[i] < '0' || v[i] > '9') {
			/* "5, 5" is a list of one value; libcurl refuses
			 * anything else before it gets here */
			if(v[i] == ',' || is_ows(v[i]))
				break;
			return;
		}
		if(n > (UINT64_MAX - 9) / 10)
			n = UINT64_MAX;
		else
			n = n * 10 + (uint64_t)(v[i] - '0');
	}
	if(a->has_length && a->length != n) {
		/* a fault at the end of the headers, unless a
		 * Transfer-Encoding makes the lengths moot */
		if(!a->length_conflict)
			snprintf(a->_conflict, sizeof(a->_conflict),
				 "%llu and %llu",
				 (unsigned long long)a->length,
				 (unsigned long long)n);
		a->length_conflict = true;
		return;
	}
	a->has_length = true;
	a->length = n;
	keep_text(a->length_text, sizeof(a->length_text), v, len);
}

/* Content-Encoding: a list; identity entries mean nothing. We ask for
 * gzip and deflate, one of them, once. */
static void note_encoding(struct answer *a, const char *v, size_t len)
{
	enum answer_encoding enc = ANSWER_IDENTITY;
	size_t i = 0, coded = 0;

	while(i < len) {
		size_t start, end;

		while(i < len && (is_ows(v[i]) || v[i] == ','))
			i++;
		start = i;
		while(i < len && v[i] != ',')
			i++;
		end = i;
		while(end > start && is_ows(v[end - 1]))
			end--;
		if(end == start)
			continue;
		if(end - start == 8 && !strncasecmp(v + start, "identity", 8))
			continue;
		coded++;
		if((end - start == 4 && !strncasecmp(v + start, "gzip", 4)) ||
		   (end - start == 6 && !strncasecmp(v + start, "x-gzip", 6)))
			enc = ANSWER_GZIP;
		else if(end - start == 7 &&
			!strncasecmp(v + start, "deflate", 7))
			enc = ANSWER_DEFLATE;
		else
			coded = 99;
	}
	if(coded > 1) {
		keep_text(a->encoding_name, sizeof(a->encoding_name), v, len);
		a->encoding = ANSWER_IDENTITY;
		return;
	}
	/* a second Content-Encoding header adds to the first */
	if(coded && a->encoding != ANSWER_IDENTITY) {
		keep_text(a->encoding_name, sizeof(a->encoding_name), v, len);
		return;
	}
	if(coded)
		a->encoding = enc;
}

static void note_request_id(struct answer *a, const char *v, size_t len)
{
	char theirs[GUID_STR_LEN + 1];

	if(guid_canonicalize(v, len, theirs, NULL))
		return; /* not a GUID: proves nothing */
	if(a->request_id[0] && !strcmp(theirs, a->request_id)) {
		a->echoed_id = true;
		return;
	}
	memcpy(a->foreign_id, theirs, sizeof(a->foreign_id));
	fault(a, ANSWER_FOREIGN_ID, theirs);
}

/* The final response's header section is complete. */
static bool headers_end(struct answer *a)
{
	a->headers_done = true;
	if(a->encoding_name[0])
		return fault(a, ANSWER_ENCODING_UNSUPPORTED, a->encoding_name);
	if(a->length_conflict && !a->chunked)
		return fault(a, ANSWER_LENGTH_CONFLICT, a->_conflict);
	if(a->expect_id && !a->echoed_id && a->request_id[0] &&
	   ((a->status >= 200 && a->status <= 299) || a->status == 404))
		return fault(a, ANSWER_MISSING_ID, NULL);
	/* an announced length over the limit: refused before any body */
	if(a->has_length && !a->chunked &&
	   a->length > (a->encoding == ANSWER_IDENTITY ? a->body.limit
						       : ANSWER_MAX_RAW_BODY))
		return fault(a, a->encoding == ANSWER_IDENTITY
				     ? ANSWER_TOO_BIG : ANSWER_RAW_TOO_BIG,
			     a->length_text);
	return true;
}

bool answer_header(struct answer *a, const char *line, size_t len)
{
	const char *v;
	size_t vlen;

	if(a->fault)
		return false;
	if(len > ANSWER_MAX_HEADER_BYTES - a->header_bytes)
		return fault(a, ANSWER_HEADERS_TOO_BIG, NULL);
	a->header_bytes += len;
	if(a->headers_done)
		return true; /* chunked trailers: counted, not read */
	if(len >= 5 && !memcmp(line, "HTTP/", 5)) {
		forget_response(a);
		a->status = status_of(line, len);
		return true;
	}
	if((len == 2 && line[0] == '\r' && line[1] == '\n') ||
	   (len == 1 && line[0] == '\n')) {
		/* an interim 1xx ends; the final response follows */
		if(a->status >= 100 && a->status <= 199)
			return true;
		return headers_end(a);
	}
	if(field(line, len, "Retry-After", &v, &vlen)) {
		char value[ANSWER_TEXT_MAX];

		keep_text(a->retry_after, sizeof(a->retry_after), v, vlen);
		/* retry_parse_after reads a C string: a value longer than
		 * any it accepts is garbage anyway */
		if(vlen < sizeof(value)) {
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			a->retry_after_ms = retry_parse_after(value,
							      a->now_epoch_ms);
		} else {
			a->retry_after_ms = -1;
		}
	} else if(field(line, len, "Location", &v, &vlen)) {
		keep_text(a->location, sizeof(a->location), v, vlen);
	} else if(field(line, len, "Content-Length", &v, &vlen)) {
		note_length(a, v, vlen);
	} else if(field(line, len, "Content-Encoding", &v, &vlen)) {
		note_encoding(a, v, vlen);
	} else if(field(line, len, "MS-RequestId", &v, &vlen)) {
		note_request_id(a, v, vlen);
	} else if(field(line, len, "Transfer-Encoding", &v, &vlen)) {
		a->chunked = vlen > 0;
	}
	return !a->fault;
}

static bool add_decoded(struct answer *a, const void *data, size_t len)
{
	switch(buf_add(&a->body, data, len)) {
	case PL_OK:
		return true;
	case PL_ELIMIT:
		return fault(a, ANSWER_TOO_BIG, NULL);
	default:
		return fault(a, ANSWER_NOMEM, NULL);
	}
}

static bool start_inflate(struct answer *a, int window_bits)
{
	int rc;

	memset(&a->_z, 0, sizeof(a->_z));
	rc = inflateInit2(&a->_z, window_bits);
	if(rc == Z_MEM_ERROR)
		return fault(a, ANSWER_NOMEM, NULL);
	if(rc != Z_OK)
		return fault(a, ANSWER_ENCODING_CORRUPT, "zlib init failed");
	a->_z_live = true;
	return true;
}

/* Inflate data[0..len) into the body. */
static bool inflate_some(struct answer *a, const unsigned char *data,
			 size_t len)
{
	unsigned char out[INFLATE_CHUNK];

	while(len) {
		uInt in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
		int rc;

		if(a->_z_end) {
			/* RFC 1952: a gzip file may hold several members */
			if(a->encoding != ANSWER_GZIP || data[0] != 0x1f)
				return fault(a, ANSWER_ENCODING_CORRUPT,
					     "data after the end of the "
					     "stream");
			inflateReset(&a->_z);
			a->_z_end = false;
		}
		a->_z.next_in = (Bytef *)(uintptr_t)data;
		a->_z.avail_in = in;
		/* until the slice is used up and the output drained */
		do {
			size_t made;

			a->_z.next_out = out;
			a->_z.avail_out = sizeof(out);
			rc = inflate(&a->_z, Z_NO_FLUSH);
			if(rc == Z_MEM_ERROR)
				return fault(a, ANSWER_NOMEM, NULL);
			if(rc == Z_NEED_DICT || rc == Z_DATA_ERROR ||
			   rc == Z_STREAM_ERROR)
				return fault(a, ANSWER_ENCODING_CORRUPT,
					     a->_z.msg ? a->_z.msg
						       : "invalid data");
			made = sizeof(out) - a->_z.avail_out;
			if(made && !add_decoded(a, out, made))
				return false;
			if(rc == Z_STREAM_END)
				a->_z_end = true;
		} while(!a->_z_end && rc != Z_BUF_ERROR &&
			(a->_z.avail_in || !a->_z.avail_out));
		in -= a->_z.avail_in;
		/* inflate always takes input while it has room for output:
		 * this guards the loop, it does not happen */
		if(!in && !a->_z_end)
			return fault(a, ANSWER_ENCODING_CORRUPT, "no progress");
		data += in;
		len -= in;
	}
	return true;
}

/* deflate: zlib-wrapped as RFC 9110 says, or raw as some servers send
 * it; the first two bytes tell (RFC 1950 header check). */
static bool deflate_begin(struct answer *a, const unsigned char **data,
			  size_t *len)
{
	bool zlib_header;

	while(a->_nstash < 2 && *len) {
		a->_stash[a->_nstash++] = **data;
		(*data)++;
		(*len)--;
	}
	if(a->_nstash < 2)
		return true; /* wait for more */
	zlib_header = (a->_stash[0] & 0x0f) == 8 &&
		      ((a->_stash[0] << 8) | a->_stash[1]) % 31 == 0;
	if(!start_inflate(a, zlib_header ? MAX_WBITS : -MAX_WBITS))
		return false;
	return inflate_some(a, a->_stash, 2);
}

bool answer_body(struct answer *a, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;

	if(a->fault)
		return false;
	if(a->encoding == ANSWER_IDENTITY)
		return add_decoded(a, data, len);
	if(len > ANSWER_MAX_RAW_BODY - a->raw_bytes)
		return fault(a, ANSWER_RAW_TOO_BIG, NULL);
	a->raw_bytes += len;
	if(!a->_z_live) {
		if(a->encoding == ANSWER_GZIP) {
			if(!start_inflate(a, 16 + MAX_WBITS))
				return false;
		} else if(!deflate_begin(a, &p, &len) || !a->_z_live) {
			return !a->fault;
		}
	}
	return inflate_some(a, p, len);
}

bool answer_finish(struct answer *a)
{
	if(a->fault)
		return false;
	if(!a->headers_done)
		return fault(a, ANSWER_HEADERS_CUT, NULL);
	if(a->encoding == ANSWER_IDENTITY || !a->raw_bytes)
		return true;
	if(a->encoding == ANSWER_DEFLATE && !a->_z_live)
		return fault(a, ANSWER_ENCODING_TRUNCATED, NULL); /* 1 byte */
	if(!a->_z_end)
		return fault(a, ANSWER_ENCODING_TRUNCATED, NULL);
	return true;
}

const char *answer_fault_name(enum answer_fault f)
{
	switch(f) {
	case ANSWER_FINE: return "fine";
	case ANSWER_NOMEM: return "out of memory";
	case ANSWER_TOO_BIG: return "body too big";
	case ANSWER_RAW_TOO_BIG: return "encoded body too big";
	case ANSWER_HEADERS_TOO_BIG: return "headers too big";
	case ANSWER_LENGTH_CONFLICT: return "conflicting lengths";
	case ANSWER_ENCODING_UNSUPPORTED: return "unsupported encoding";
	case ANSWER_ENCODING_CORRUPT: return "corrupt encoding";
	case ANSWER_ENCODING_TRUNCATED: return "truncated encoding";
	case ANSWER_FOREIGN_ID: return "foreign request ID";
	case ANSWER_MISSING_ID: return "missing request ID";
	case ANSWER_HEADERS_CUT: return "headers cut";
	}
	return "unknown";
}
