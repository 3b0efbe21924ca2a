/*
 * fuzz_answer.c: libFuzzer entry for the answer path end to end, as the
 * fetch engine runs it for one tenant over several attempts: the header
 * lines and body bytes libcurl's callbacks would hand over (answer.c:
 * status lines, 1xx, Retry-After, Location, Content-Length, the echoed
 * MS-RequestId, gzip/deflate decoding, the header and 8 MiB limits), the
 * classification of the attempt (outcome.c, with libcurl's result chosen
 * by the input), the request-ID bookkeeping across attempts, the
 * Retry-After refusal, and the normalization of what is used (norm.c).
 *
 * Input: byte 0 picks the first attempt's expect_id (bit 0), the size of
 * the body pieces (bits 1-3) and libcurl's result (bits 4-7); the rest is
 * up to 8 attempts separated by "\n~~\n". In an attempt, lines (each with
 * its "\n") are header lines until a header section ends, the rest is
 * body. "@RID@" in a header line becomes the MS-RequestId the attempt
 * sent, "@OLD@" the one before.
 *
 * Findings are aborts: the run ending (OUTCOME_FATAL) on anything a
 * server can send, an answer for another request counted as an answer,
 * a request ID not following the rule, a reason that is empty, too long
 * or not printable, a body over the limit, a record of the wrong shape.
 *   fuzz_answer -max_total_time=60 /tmp/corpus tests/fuzz/corpus_answer
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "ids.h"
#include "log.h"
#include "norm.h"
#include "record_shape.h"
#include "outcome.h"

#define CORR "0f8fad5b-d9cb-469f-a165-70867728950e"
#define TENANT "3fa85f64-5717-4562-b3fc-2c963f66afa6"
#define NOW_MS 1445412480000LL  /* 2015-10-21T07:28:00Z */
#define MAX_WAIT_MS 600000
#define MAX_ATTEMPTS 8
#define SEP "\n~~\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t pieces[8] = {1, 3, 17, 256, 4096, 65536, 1 << 20,
				 SIZE_MAX};
static const CURLcode results[16] = {
	CURLE_OK, CURLE_OK, CURLE_OK, CURLE_OK, CURLE_PARTIAL_FILE,
	CURLE_WEIRD_SERVER_REPLY, CURLE_RECV_ERROR, CURLE_OUT_OF_MEMORY,
	CURLE_OPERATION_TIMEDOUT, CURLE_GOT_NOTHING,
	CURLE_UNSUPPORTED_PROTOCOL, CURLE_HTTP2_STREAM,
	CURLE_BAD_CONTENT_ENCODING, CURLE_SSL_CONNECT_ERROR,
	CURLE_PEER_FAILED_VERIFICATION, CURLE_COULDNT_CONNECT};

static void check_text(const char *s, size_t max)
{
	size_t n = strlen(s);

	if(!n || n >= max)
		abort();
	for(size_t i = 0; i < n; i++)
		if((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			abort();
}

/* A header line with @RID@ and @OLD@ replaced, into out (NUL-free
 * input is not assumed: lengths throughout). */
static size_t substitute(const char *line, size_t len, const char *rid,
			 const char *old, char *out, size_t cap)
{
	size_t o = 0;

	for(size_t i = 0; i < len && o < cap;) {
		const char *with = NULL;

		if(len - i >= 5 && !memcmp(line + i, "@RID@", 5))
			with = rid;
		else if(len - i >= 5 && !memcmp(line + i, "@OLD@", 5))
			with = old;
		if(with) {
			size_t w = strlen(with);

			if(w > cap - o)
				w = cap - o;
			memcpy(out + o, with, w);
			o += w;
			i += 5;
		} else {
			out[o++] = line[i++];
		}
	}
	return o;
}

/* One attempt: returns whether it counted as an answer. */
static bool attempt(struct answer *a, const char *p, size_t len,
		    CURLcode res, size_t piece, const char *rid,
		    const char *old, bool expect_id, unsigned n)
{
	static char line[1 << 20];
	const struct outcome_limits lim = {30000, 10000};
	struct outcome_attempt in;
	struct outcome o;
	struct tenant_record rec;
	struct pl_err err;
	char why[OUTCOME_WHY_MAX + 64];
	bool aborted = false;
	size_t i = 0;

	answer_start(a, rid, expect_id, NOW_MS, NORM_MAX_BODY, 256 * 1024);
	/* header lines while the header section lasts */
	while(i < len && !a->headers_done) {
		const char *nl = memchr(p + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (p + i)) + 1 : len - i;
		size_t m = substitute(p + i, l, rid, old, line, sizeof(line));

		i += l;
		if(!answer_header(a, line, m)) {
			aborted = true;
			break;
		}
	}
	/* the body, in pieces */
	while(!aborted && i < len) {
		size_t l = len - i < piece ? len - i : piece;

		if(!answer_body(a, p + i, l))
			aborted = true;
		i += l;
	}
	if(a->body.len > NORM_MAX_BODY)
		abort();
	if(aborted)
		res = CURLE_WRITE_ERROR; /* what libcurl says then */
	else if(res == CURLE_OK)
		answer_finish(a);
	if(aborted && !a->fault)
		abort(); /* a callback said stop without saying why */

	memset(&in, 0, sizeof(in));
	in.f.res = res;
	in.f.connected = true;
	in.f.errbuf = "";
	in.status = a->status;
	in.ans = a;
	outcome_classify(&in, &lim, &o);

	/* nothing a server sends ends the run */
	if(o.action == OUTCOME_FATAL && a->fault != ANSWER_NOMEM)
		abort();
	if((a->fault == ANSWER_FOREIGN_ID || a->fault == ANSWER_MISSING_ID) &&
	   o.answered)
		abort();
	if(!o.answered && o.status)
		abort();
	if(o.answered && o.status != a->status)
		abort();
	if(o.action > OUTCOME_FATAL)
		abort();

	tenant_record_init(&rec);
	switch(o.action) {
	case OUTCOME_USE_RETRY:
		if(a->retry_after_ms > MAX_WAIT_MS) {
			outcome_wait_refused(a, a->retry_after_ms,
					     MAX_WAIT_MS / 1000, why,
					     sizeof(why));
			check_text(why, sizeof(why));
			if(strncmp(why, "server asked to wait ", 21))
				abort();
		}
		/* fall through: used when retries run out */
	case OUTCOME_USE:
		if(norm_answer(o.status, a->body.data, a->body.len, &rec,
			       &err) == PL_OK)
			check_record_shape(&rec);
		break;
	case OUTCOME_RETRY:
	case OUTCOME_ROW:
		check_text(o.why, sizeof(o.why));
		outcome_with_attempts(o.why, n, why, sizeof(why));
		if(norm_failure(why, &rec, &err) == PL_OK) {
			check_record_shape(&rec);
			if(rec.outcome != OUTCOME_FAILED)
				abort();
		}
		break;
	case OUTCOME_REAUTH:
		if(o.status != 401)
			abort();
		break;
	case OUTCOME_FATAL:
		break;
	}
	tenant_record_release(&rec);
	return o.answered;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct answer a;
	static bool ready;
	char rid[GUID_STR_LEN + 1], next[GUID_STR_LEN + 1];
	char old[GUID_STR_LEN + 1] = "";
	const char *p, *end;
	unsigned answers = 0, n = 0;
	bool expect_id;
	size_t piece;
	CURLcode res;

	if(!ready) {
		log_setup(LOG_ERROR, LOG_TEXT);
		answer_init(&a);
		ready = true;
	}
	if(!size)
		return 0;
	expect_id = data[0] & 1;
	piece = pieces[(data[0] >> 1) & 7];
	res = results[data[0] >> 4];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	while(p <= end && n < MAX_ATTEMPTS) {
		const char *sep = NULL;
		size_t len;
		bool answered;

		for(const char *q = p; q + 4 <= end; q++)
			if(!memcmp(q, SEP, 4)) {
				sep = q;
				break;
			}
		len = (size_t)((sep ? sep : end) - p);
		ids_request_id(CORR, TENANT, answers, rid);
		n++;
		answered = attempt(&a, p, len, res, piece, rid, old, expect_id,
				   n);
		/* the engine's bookkeeping: a fresh ID after an answer, the
		 * same after none; an echo makes the server an echoing one */
		if(answered)
			answers++;
		ids_request_id(CORR, TENANT, answers, next);
		if(answered == !strcmp(next, rid))
			abort();
		if(a.echoed_id)
			expect_id = true;
		memcpy(old, rid, sizeof(old));
		if(!sep)
			break;
		p = sep + 4;
		res = results[((data[0] >> 4) + n) & 15];
	}
	return 0;
}
