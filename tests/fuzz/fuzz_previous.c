/*
 * fuzz_previous.c: libFuzzer entry for the previous-report reader. The
 * input is written to a scratch file read as CSV, as NDJSON and (deflated
 * here) as NDJSON.gz; every tenant the sequential pass gives must load
 * again, the same, from its offset. Run on a scratch copy of the corpus:
 *   fuzz_previous -max_total_time=60 /tmp/corpus tests/fuzz/corpus_previous
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "previous.h"
#include "record.h"

#define MAX_TENANTS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static void check_same(const struct tenant_record *a,
		       const struct tenant_record *b)
{
	if(strcmp(a->tenant_id, b->tenant_id) || a->nrows != b->nrows ||
	   a->outcome != b->outcome || a->http_status != b->http_status ||
	   a->attempts != b->attempts || !same(a->error, b->error))
		abort();
	for(size_t i = 0; i < a->nrows; i++)
		if(!same(a->rows[i].qualification, b->rows[i].qualification) ||
		   !same(a->rows[i].vetting_status,
			 b->rows[i].vetting_status) ||
		   !same(a->rows[i].vetting_reason,
			 b->rows[i].vetting_reason) ||
		   !same(a->rows[i].vetting_created_date,
			 b->rows[i].vetting_created_date))
			abort();
}

static void run(const char *path)
{
	static uint64_t offs[MAX_TENANTS];
	struct previous *p = NULL;
	struct pl_err err;
	struct tenant_record rec, again;
	size_t n = 0;
	bool end = false;

	if(previous_open(path, &p, &err))
		return;
	tenant_record_init(&rec);
	tenant_record_init(&again);
	while(n < MAX_TENANTS) {
		if(previous_next(p, &rec, &offs[n], &end, &err) || end)
			break;
		if(!rec.nrows || previous_load(p, offs[n], &again, &err))
			abort();
		check_same(&rec, &again);
		if(n && offs[n] <= offs[n - 1])
			abort();
		n++;
	}
	/* and backwards, across the buffers */
	for(size_t i = n; i-- > 0;)
		if(previous_load(p, offs[i], &again, &err))
			abort();
	tenant_record_release(&rec);
	tenant_record_release(&again);
	previous_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char base[64];
	char path[96];
	FILE *f;
	gzFile gz;

	if(!base[0])
		snprintf(base, sizeof(base), "/tmp/fuzz_previous.%ld",
			 (long)getpid());
	snprintf(path, sizeof(path), "%s.csv", base);
	f = fopen(path, "wb");
	if(!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	run(path);
	unlink(path);
	snprintf(path, sizeof(path), "%s.ndjson", base);
	f = fopen(path, "wb");
	if(!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	run(path);
	unlink(path);
	snprintf(path, sizeof(path), "%s.ndjson.gz", base);
	gz = gzopen(path, "wb");
	if(!gz || (size && gzwrite(gz, data, (unsigned)size) != (int)size) ||
	   gzclose(gz) != Z_OK)
		abort();
	run(path);
	unlink(path);
	return 0;
}
