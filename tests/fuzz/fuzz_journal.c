/*
 * fuzz_journal.c: libFuzzer entry for the journal reader (journal.c), fed
 * a hostile or corrupted journal file. The first input byte chooses the
 * framing: bit 0 set puts a valid identity line for this harness's run in
 * front of the rest, so the fuzzer spends its time on records; clear, the
 * rest is the whole file. The run has FUZZ_TENANTS tenants,
 * 00000000-0000-4000-8000-00000000000N for N = 0..7.
 *
 * Whatever the bytes, journal_open() must succeed or fail cleanly; when it
 * succeeds, every record it counts as done must load back as a record of
 * that tenant, one more record must append, and a second open of the file
 * (the resume) must see exactly the same records plus that one, loading
 * to the same values. Run on a scratch copy of the seed corpus:
 *   fuzz_journal -max_total_time=60 /tmp/corpus tests/fuzz/corpus_journal
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guid.h"
#include "journal.h"
#include "log.h"
#include "tenantset.h"

#define FUZZ_TENANTS 8
#define SHA "0123456789abcdef0123456789abcdef" \
	    "0123456789abcdef0123456789abcdef"
#define FP "base_url=http://127.0.0.1;column=auto"
#define CORR "0f8fad5b-d9cb-469f-a165-70867728950e"
#define IDENTITY "{\"qualreport_journal\":1,\"input_sha256\":\"" SHA \
		 "\",\"fingerprint\":\"" FP "\",\"correlation_id\":\"" \
		 CORR "\",\"tenants\":8}\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct tenantset *tenants;
static char path[64];

static void setup(void)
{
	uint8_t id[16] = {0, 0, 0, 0, 0, 0, 0x40, 0, 0x80};
	char dir[32];

	log_setup(LOG_ERROR, LOG_TEXT);
	tenants = tenantset_new();
	if(!tenants)
		abort();
	for(int i = 0; i < FUZZ_TENANTS; i++) {
		struct pl_err err;
		bool added;

		id[15] = (uint8_t)i;
		if(tenantset_add(tenants, id, &added, &err) || !added)
			abort();
	}
	snprintf(dir, sizeof(dir), "%s/fjXXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if(!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/journal", dir);
}

static int same_str(const char *a, const char *b)
{
	return (!a || !*a) ? (!b || !*b) : (b && !strcmp(a, b));
}

static int same_record(const struct tenant_record *a,
		       const struct tenant_record *b)
{
	if(strcmp(a->tenant_id, b->tenant_id) ||
	   strcmp(a->request_id, b->request_id) ||
	   a->http_status != b->http_status || a->attempts != b->attempts ||
	   a->outcome != b->outcome || !same_str(a->error, b->error) ||
	   a->nrows != b->nrows)
		return 0;
	for(size_t r = 0; r < a->nrows; r++) {
		const struct qual_row *x = &a->rows[r], *y = &b->rows[r];

		if(!same_str(x->qualification, y->qualification) ||
		   !same_str(x->vetting_status, y->vetting_status) ||
		   !same_str(x->vetting_reason, y->vetting_reason) ||
		   !same_str(x->vetting_created_date,
			     y->vetting_created_date))
			return 0;
	}
	return 1;
}

/*
 * A record every report writer can take: at least one row (a tenant with
 * no row would vanish from the detail report) and a request ID that is
 * empty or a canonical GUID (loaders type the column as uuid).
 */
static int is_sane(const struct tenant_record *rec)
{
	char canon[GUID_STR_LEN + 1];
	uint8_t bytes[16];

	if(rec->nrows < 1)
		return 0;
	return !rec->request_id[0] ||
	       (!guid_canonicalize(rec->request_id, strlen(rec->request_id),
				   canon, bytes) &&
		!strcmp(canon, rec->request_id));
}

/* Every done record loads as its own tenant's; copies go to recs. */
static void load_all(struct journal *j, struct tenant_record *recs,
		     int *done)
{
	char canon[GUID_STR_LEN + 1];
	struct pl_err err;

	for(size_t i = 0; i < FUZZ_TENANTS; i++) {
		done[i] = journal_is_done(j, i);
		tenant_record_init(&recs[i]);
		if(!done[i])
			continue;
		if(journal_load(j, i, &recs[i], &err))
			abort(); /* counted as done, yet unreadable */
		guid_format(tenantset_get(tenants, i), canon);
		if(strcmp(recs[i].tenant_id, canon) ||
		   recs[i].outcome > OUTCOME_FAILED || !is_sane(&recs[i]))
			abort();
	}
}

static void write_file(const uint8_t *data, size_t size, int identity)
{
	FILE *f = fopen(path, "w");

	if(!f)
		abort();
	if(identity)
		fputs(IDENTITY, f);
	if(size && fwrite(data, 1, size, f) != size)
		abort();
	if(fclose(f))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tenant_record first[FUZZ_TENANTS], again[FUZZ_TENANTS], add;
	int done1[FUZZ_TENANTS], done2[FUZZ_TENANTS];
	struct journal_identity id;
	struct journal *j = NULL;
	struct pl_err err;
	size_t resumed, target = FUZZ_TENANTS;

	if(!tenants)
		setup();
	if(!size)
		return 0;
	write_file(data + 1, size - 1, data[0] & 1);

	memset(&id, 0, sizeof(id));
	id.input_sha256 = SHA;
	id.fingerprint = FP;
	err.msg[0] = '\0';
	if(journal_open(path, &id, tenants, &j, &err)) {
		if(j || !err.msg[0])
			abort();
		return 0;
	}
	resumed = journal_resumed(j);
	load_all(j, first, done1);

	/* Append a record for the first tenant not done, as a run would. */
	for(size_t i = 0; i < FUZZ_TENANTS && target == FUZZ_TENANTS; i++)
		if(!done1[i])
			target = i;
	tenant_record_init(&add);
	if(target < FUZZ_TENANTS) {
		guid_format(tenantset_get(tenants, target), add.tenant_id);
		add.http_status = 200;
		add.attempts = 1;
		if(tenant_record_add_row(&add, "Education", "Approved", NULL,
					 NULL, &err) ||
		   journal_append(j, target, &add, &err))
			abort();
	}
	if(journal_close(j, &err))
		abort();

	/* The resume sees the same records, plus the appended one. */
	memset(&id, 0, sizeof(id));
	id.input_sha256 = SHA;
	id.fingerprint = FP;
	if(journal_open(path, &id, tenants, &j, &err))
		abort();
	if(journal_resumed(j) != resumed + (target < FUZZ_TENANTS))
		abort();
	load_all(j, again, done2);
	for(size_t i = 0; i < FUZZ_TENANTS; i++) {
		if(i == target) {
			if(!done2[i] || !same_record(&again[i], &add))
				abort();
		} else if(done1[i] != done2[i] ||
			  (done1[i] && !same_record(&first[i], &again[i]))) {
			abort();
		}
		tenant_record_release(&first[i]);
		tenant_record_release(&again[i]);
	}
	tenant_record_release(&add);
	if(journal_close(j, &err))
		abort();
	return 0;
}
