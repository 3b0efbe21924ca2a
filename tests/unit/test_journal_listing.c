/*
 * test_journal_listing.c: the journal of a run whose input is the
 * customer list (journal.h, journal_open_listing): pages recorded before
 * their tenants' records and replayed in order on resume (tenants, names,
 * rejects, counts), the end of the list, the identity line naming the
 * listing (another listing, a file's journal and a listing's journal
 * refused for each other: usage errors), a torn page line dropped with
 * what followed it, a corrupt page refused (damage, PL_EOUTPUT).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guid.h"
#include "journal.h"
#include "testutil.h"

#define WHAT "GET http://127.0.0.1:1/v1/customers?size=2"
#define FP "base_url=http://127.0.0.1:1;listing"
#define CORR "0f8fad5b-d9cb-469f-a165-70867728950e"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return testutil_mkdtemp(dir, sizeof(dir), "jlisting");
}

static int teardown(void **state)
{
	(void)state;
	return testutil_rmtree(dir);
}

/* Add a tenant that must be new. */
static void add_new(struct tenantset *set, const uint8_t id[16])
{
	struct pl_err err;
	bool added = false;

	assert_int_equal(tenantset_add(set, id, &added, &err), PL_OK);
	assert_true(added);
}

/* What a replay brought back. */
struct replayed {
	struct tenantset *set;
	size_t pages;
	char names[8][32];
	size_t nnames;
	char rejects[4][64];
	size_t nrejects;
	unsigned long items;
};

static enum pl_status replay(void *ctx, const struct listing_page *pg,
			     struct pl_err *err)
{
	struct replayed *r = ctx;

	(void)err;
	r->pages++;
	r->items += pg->items;
	for(size_t i = 0; i < pg->ntenants; i++) {
		add_new(r->set, pg->tenants[i].id);
		snprintf(r->names[r->nnames++], sizeof(r->names[0]), "%s",
			 pg->tenants[i].info.name ? pg->tenants[i].info.name
						  : "(null)");
	}
	for(size_t i = 0; i < pg->nrejects; i++)
		snprintf(r->rejects[r->nrejects++], sizeof(r->rejects[0]),
			 "%lu|%.*s|%s", pg->rejects[i].line,
			 (int)pg->rejects[i].value_len, pg->rejects[i].value,
			 pg->rejects[i].reason);
	return PL_OK;
}

static void tenant(size_t i, uint8_t id[16])
{
	char s[GUID_STR_LEN + 1];

	snprintf(s, sizeof(s), "00000000-0000-4000-8000-%012zx", i + 1);
	assert_null(guid_canonicalize(s, GUID_STR_LEN, NULL, id));
}

static void record_for(const struct tenantset *set, size_t i,
		       struct tenant_record *rec)
{
	tenant_record_init(rec);
	guid_format(tenantset_get(set, i), rec->tenant_id);
	rec->http_status = 200;
	rec->attempts = 1;
	assert_int_equal(tenant_record_add_row(rec, "Education", "Approved",
					       NULL, NULL, NULL), PL_OK);
}

/* Page k (0-based) of a little list: two tenants each, one reject on the
 * second page. Tenants are added to set as a source would. */
static void page(struct tenantset *set, unsigned k, struct listing_page *pg,
		 struct listing_tenant t[2], struct listing_reject *r)
{
	static const char *const names[] = {"Contoso", "Fabrikam, \"Inc\"",
					    NULL, "Lamna"};

	memset(pg, 0, sizeof(*pg));
	pg->page = k + 1;
	pg->first = tenantset_count(set);
	for(size_t i = 0; i < 2; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		tenant(2 * k + i, t[i].id);
		t[i].info.name = names[2 * k + i];
		t[i].info.domain = "d.example";
		add_new(set, t[i].id);
	}
	pg->tenants = t;
	pg->ntenants = 2;
	pg->items = 2;
	if(k == 1) {
		*r = (struct listing_reject){4, "x\"y", 3,
					     "not a GUID (page 2, item 3)"};
		pg->rejects = r;
		pg->nrejects = 1;
		pg->items = 4;
		pg->duplicates = 1;
	}
}

static void open_listing(const char *path, struct tenantset *set,
			 struct replayed *r, const char *what,
			 struct journal **j, enum pl_status want)
{
	const struct journal_listing listing = {what, replay, r};
	struct journal_identity id = {"", FP, CORR};
	struct pl_err err;

	assert_int_equal(journal_open_listing(path, &id, &listing, set, j,
					      &err), want);
}

static void round_trip(void **state)
{
	struct tenantset *set = tenantset_new(), *again = tenantset_new();
	struct listing_tenant t[2];
	struct listing_reject rj;
	struct listing_page pg;
	struct tenant_record rec, back;
	struct replayed r = {again, 0, {{0}}, 0, {{0}}, 0, 0};
	struct journal *j;
	char path[128];
	struct pl_err err;

	(void)state;
	snprintf(path, sizeof(path), "%s/a.journal", dir);
	open_listing(path, set, &r, WHAT, &j, PL_OK);
	assert_int_equal(journal_resumed(j), 0);
	assert_false(journal_is_listing_complete(j));
	for(unsigned k = 0; k < 2; k++) {
		page(set, k, &pg, t, &rj);
		assert_int_equal(journal_append_page(j, &pg, &err), PL_OK);
		/* the tenants of the page just recorded can be appended */
		record_for(set, 2 * k, &rec);
		assert_int_equal(journal_append(j, 2 * k, &rec, &err), PL_OK);
		tenant_record_release(&rec);
	}
	/* a page whose tenants do not start where the set ended */
	pg.first = 1;
	assert_int_equal(journal_append_page(j, &pg, &err), PL_EINTERNAL);
	assert_int_equal(journal_append_page(j, NULL, &err), PL_OK);
	assert_true(journal_is_listing_complete(j));
	assert_int_equal(journal_close(j, &err), PL_OK);

	/* the identity line names the listing, not a file */
	char *text = testutil_read_file(path, NULL);
	assert_non_null(strstr(text, "{\"qualreport_journal\":1,\"listing\":"
			       "\"" WHAT "\","));
	assert_null(strstr(text, "input_sha256"));
	free(text);

	open_listing(path, again, &r, WHAT, &j, PL_OK);
	assert_int_equal(r.pages, 2);
	assert_int_equal(r.items, 6);
	assert_int_equal(tenantset_count(again), 4);
	for(size_t i = 0; i < 4; i++)
		assert_memory_equal(tenantset_get(again, i),
				    tenantset_get(set, i), 16);
	assert_string_equal(r.names[1], "Fabrikam, \"Inc\"");
	assert_string_equal(r.names[2], "(null)");
	assert_int_equal(r.nrejects, 1);
	assert_string_equal(r.rejects[0], "4|x\"y|not a GUID (page 2, item 3)");
	assert_true(journal_is_listing_complete(j));
	assert_int_equal(journal_resumed(j), 2);
	assert_true(journal_is_done(j, 0));
	assert_false(journal_is_done(j, 1));
	assert_true(journal_is_done(j, 2));
	tenant_record_init(&back);
	assert_int_equal(journal_load(j, 2, &back, &err), PL_OK);
	record_for(again, 2, &rec);
	assert_string_equal(back.tenant_id, rec.tenant_id);
	tenant_record_release(&back);
	tenant_record_release(&rec);
	/* a tenant added in this run gets a record: the offsets grow */
	uint8_t id[16];
	tenant(9, id);
	add_new(again, id);
	record_for(again, 4, &rec);
	assert_int_equal(journal_append(j, 4, &rec, &err), PL_OK);
	tenant_record_release(&rec);
	assert_true(journal_is_done(j, 4));
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
	tenantset_free(again);
}

/* Killed in the middle of a page line: that page and everything after it
 * are gone; the pages before it come back. */
static void torn_page(void **state)
{
	struct tenantset *set = tenantset_new(), *again = tenantset_new();
	struct listing_tenant t[2];
	struct listing_reject rj;
	struct listing_page pg;
	struct replayed r = {again, 0, {{0}}, 0, {{0}}, 0, 0};
	struct journal *j;
	char path[128];
	struct pl_err err;
	size_t len;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/torn.journal", dir);
	open_listing(path, set, &r, WHAT, &j, PL_OK);
	for(unsigned k = 0; k < 2; k++) {
		page(set, k, &pg, t, &rj);
		assert_int_equal(journal_append_page(j, &pg, &err), PL_OK);
	}
	assert_int_equal(journal_close(j, &err), PL_OK);
	char *text = testutil_read_file(path, &len);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len - 20, f), len - 20);
	fclose(f);
	free(text);
	open_listing(path, again, &r, WHAT, &j, PL_OK);
	assert_int_equal(r.pages, 1);
	assert_int_equal(tenantset_count(again), 2);
	assert_false(journal_is_listing_complete(j));
	assert_int_equal(journal_close(j, &err), PL_OK);
	tenantset_free(set);
	tenantset_free(again);
}

static void refused(void **state)
{
	struct tenantset *set = tenantset_new(), *other = tenantset_new();
	struct replayed r = {other, 0, {{0}}, 0, {{0}}, 0, 0};
	struct journal_identity id = {"ab", FP, CORR};
	struct journal *j;
	char path[128], csv[128];
	struct pl_err err;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/r.journal", dir);
	open_listing(path, set, &r, WHAT, &j, PL_OK);
	assert_int_equal(journal_close(j, &err), PL_OK);
	/* another page size is another listing */
	const struct journal_listing l2 = {
		"GET http://127.0.0.1:1/v1/customers?size=500", replay, &r};
	assert_int_equal(journal_open_listing(path, &id, &l2, other, &j, &err),
			 PL_EUSAGE);
	assert_non_null(strstr(err.msg, "belongs to another listing"));
	/* a file's run cannot use it */
	assert_int_equal(journal_open(path, &id, other, &j, &err), PL_EUSAGE);
	assert_non_null(strstr(err.msg, "the customer listing, not a file"));
	/* nor a listing a file's journal */
	snprintf(csv, sizeof(csv), "%s/csv.journal", dir);
	assert_int_equal(journal_open(csv, &id, other, &j, &err), PL_OK);
	assert_int_equal(journal_close(j, &err), PL_OK);
	open_listing(csv, other, &r, WHAT, &j, PL_EUSAGE);
	/* a page line that does not follow the pages before it */
	f = fopen(path, "ab");
	assert_non_null(f);
	fputs("{\"page\":1,\"pass\":0,\"items\":1,\"dup\":0,\"relisted\":0,"
	      "\"first\":5,\"new\":[[\"00000000-0000-4000-8000-000000000001\","
	      "null,null,null]],\"rejects\":[]}\n", f);
	fclose(f);
	/* damage, as every corrupt journal line: PL_EOUTPUT */
	open_listing(path, other, &r, WHAT, &j, PL_EOUTPUT);
	tenantset_free(set);
	tenantset_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(torn_page),
		cmocka_unit_test(refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
