/*
 * fuzz_csvin.c: libFuzzer entry for the tenant-ID reader. The input is a
 * whole CSV file, read through fmemopen() with column auto-detection and
 * with --column 1, 2 and "id". Run on a scratch copy of the seed corpus:
 *   fuzz_csvin -max_total_time=60 /tmp/corpus tests/fuzz/corpus_csvin
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"
#include "guid.h"
#include "tenantset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Physical lines in the input: LF, CRLF and a lone CR end one. */
static void count_bytes(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(size_t *)ctx += len;
}

static unsigned long count_lines(const uint8_t *s, size_t len)
{
	unsigned long n = 1;

	for(size_t i = 0; i < len; i++) {
		if(s[i] == '\n' || (s[i] == '\r' &&
				    (i + 1 == len || s[i + 1] != '\n')))
			n++;
	}
	return n;
}

static void check_event(const struct csvin_event *ev, size_t size)
{
	char canon[GUID_STR_LEN + 1];
	uint8_t bytes[16];

	switch(ev->kind) {
	case CSVIN_TENANT:
	case CSVIN_DUPLICATE:
		/* Only canonical IDs come out, and they round-trip. */
		if(guid_canonicalize(ev->tenant_id, strlen(ev->tenant_id),
				     canon, bytes) ||
		   strcmp(canon, ev->tenant_id) ||
		   memcmp(bytes, ev->tenant_bytes, 16))
			abort();
		break;
	case CSVIN_REJECT:
		if(!ev->value || !ev->reason || ev->value_len > size)
			abort();
		break;
	case CSVIN_BLANK:
		break;
	default:
		abort();
	}
}

static void run(const uint8_t *data, size_t size, const char *column)
{
	struct csvin_options opt;
	struct csvin_event ev;
	const struct csvin_counts *c;
	struct csvin *in = NULL;
	struct pl_err err;
	unsigned long events = 0, last = 0, lines;
	size_t bytes = 0;
	enum pl_status st;
	FILE *fp;

	/* fmemopen() only reads in "r" mode; the cast drops const. */
	fp = fmemopen((void *)data, size, "r");
	if(!fp)
		return;
	memset(&opt, 0, sizeof(opt));
	opt.seen = tenantset_new();
	opt.column = column;
	opt.on_bytes = count_bytes;
	opt.on_bytes_ctx = &bytes;
	if(!opt.seen)
		abort();
	err.msg[0] = '\0';
	st = csvin_open_stream(fp, "fuzz", &opt, &in, &err);
	if(st) {
		if(in || !err.msg[0] || (st != PL_EINPUT && st != PL_EUSAGE))
			abort();
		goto out;
	}
	lines = count_lines(data, size);
	for(;;) {
		if(csvin_next(in, &ev, &err))
			abort(); /* memory input cannot fail to read */
		if(ev.kind == CSVIN_END)
			break;
		check_event(&ev, size);
		/* One event per line at most, in input order. */
		if(ev.line <= last || ev.line > lines)
			abort();
		last = ev.line;
		events++;
	}
	c = csvin_counts(in);
	if(c->rows != events ||
	   c->rows != c->tenants + c->duplicates + c->rejects + c->blanks ||
	   tenantset_count(opt.seen) != c->tenants ||
	   bytes != size || csvin_column(in) < 1)
		abort();
out:
	csvin_free(in);
	tenantset_free(opt.seen);
	fclose(fp);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, NULL);
	run(data, size, "1");
	run(data, size, "2");
	run(data, size, "id");
	return 0;
}
