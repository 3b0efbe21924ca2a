#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "csvin.h"
#include "guid.h"
#include "tenantset.h"

/* Canonical IDs and other spellings of them. */
#define G1 "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
#define G1U "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"
#define G2 "11111111-2222-4333-8444-555555555555"
#define G3 "aaaaaaaa-bbbb-4ccc-9ddd-eeeeeeeeeeee"
#define G3U "AAAAAAAA-BBBB-4CCC-9DDD-EEEEEEEEEEEE"
#define G4 "01234567-89ab-4cde-af01-23456789abcd"
#define G5 "fedcba98-7654-4321-8fed-cba987654321"

#define MIB (1024 * 1024)

/* AddressSanitizer keeps freed memory in quarantine, so peak RSS says
 * nothing about the reader there: print it, assert it only without. */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_CHECKED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_CHECKED 0
#endif
#endif
#ifndef RSS_CHECKED
#define RSS_CHECKED 1
#endif

static char tmpdir[64];

struct ev {
	enum csvin_kind kind;
	unsigned long line;
	char id[GUID_STR_LEN + 1];
	char *value;
	size_t value_len;
	char reason[32];
};

/* One reader run: what it detected and every event it gave. */
struct run {
	enum pl_status st;
	struct pl_err err;
	char delim;
	unsigned column;
	char column_name[64];
	int has_column_name;
	int has_header;
	struct csvin_counts counts;
	struct ev *evs;
	size_t n;
	struct tenantset *seen;
	/* on_bytes copy of the raw input */
	unsigned char *raw;
	size_t raw_len;
};

static void count_bytes(void *ctx, const void *data, size_t len)
{
	(void)data;
	*(uint64_t *)ctx += len;
}

/* on_bytes() keeps a copy of the input unless told not to (huge files). */
static int keep_raw = 1;

static void on_bytes(void *ctx, const void *data, size_t len)
{
	struct run *r = ctx;

	if(!keep_raw) {
		r->raw_len += len;
		return;
	}
	r->raw = realloc(r->raw, r->raw_len + len);
	assert_non_null(r->raw);
	memcpy(r->raw + r->raw_len, data, len);
	r->raw_len += len;
}

static void run_release(struct run *r)
{
	for(size_t i = 0; i < r->n; i++)
		free(r->evs[i].value);
	free(r->evs);
	free(r->raw);
	tenantset_free(r->seen);
	memset(r, 0, sizeof(*r));
}

/* Read everything from an open reader into r. */
static void collect(struct csvin *in, struct run *r)
{
	struct csvin_event ev;
	size_t cap = 0;

	r->delim = csvin_delimiter(in);
	r->column = csvin_column(in);
	r->has_header = csvin_column_name(in) != NULL;
	if(csvin_column_name(in)) {
		r->has_column_name = 1;
		snprintf(r->column_name, sizeof(r->column_name), "%s",
			 csvin_column_name(in));
	}
	for(;;) {
		struct ev *e;

		r->st = csvin_next(in, &ev, &r->err);
		if(r->st || ev.kind == CSVIN_END)
			break;
		if(r->n == cap) {
			cap = cap ? cap * 2 : 16;
			r->evs = realloc(r->evs, cap * sizeof(*r->evs));
			assert_non_null(r->evs);
		}
		e = &r->evs[r->n++];
		memset(e, 0, sizeof(*e));
		e->kind = ev.kind;
		e->line = ev.line;
		if(ev.kind == CSVIN_TENANT || ev.kind == CSVIN_DUPLICATE)
			memcpy(e->id, ev.tenant_id, sizeof(e->id));
		if(ev.kind == CSVIN_REJECT) {
			assert_non_null(ev.value);
			assert_non_null(ev.reason);
			e->value = malloc(ev.value_len + 1);
			assert_non_null(e->value);
			memcpy(e->value, ev.value, ev.value_len);
			e->value[ev.value_len] = '\0';
			e->value_len = ev.value_len;
			snprintf(e->reason, sizeof(e->reason), "%s",
				 ev.reason);
		}
	}
	r->counts = *csvin_counts(in);
}

static void run_path(const char *path, const char *column, struct run *r)
{
	struct csvin_options opt;
	struct csvin *in = (struct csvin *)&opt; /* must be reset */

	memset(r, 0, sizeof(*r));
	r->seen = tenantset_new();
	assert_non_null(r->seen);
	memset(&opt, 0, sizeof(opt));
	opt.seen = r->seen;
	opt.column = column;
	opt.on_bytes = on_bytes;
	opt.on_bytes_ctx = r;
	r->st = csvin_open(path, &opt, &in, &r->err);
	if(r->st) {
		assert_null(in);
		return;
	}
	assert_non_null(in);
	collect(in, r);
	csvin_free(in);
}

static void make_path(const char *name, char path[PATH_MAX])
{
	snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
}

static void write_file(const char *name, const void *data, size_t len,
		       char path[PATH_MAX])
{
	FILE *fp;

	make_path(name, path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Write s and read it back with --column column. */
static void run_text(const char *name, const char *s, const char *column,
		     struct run *r, char path[PATH_MAX])
{
	write_file(name, s, strlen(s), path);
	run_path(path, column, r);
}

static void expect_counts(const struct run *r, unsigned long tenants,
			  unsigned long duplicates, unsigned long rejects,
			  unsigned long blanks)
{
	assert_int_equal(r->counts.tenants, tenants);
	assert_int_equal(r->counts.duplicates, duplicates);
	assert_int_equal(r->counts.rejects, rejects);
	assert_int_equal(r->counts.blanks, blanks);
	assert_int_equal(r->counts.rows, tenants + duplicates + rejects +
					 blanks);
	assert_int_equal(r->n, r->counts.rows);
}

/* Event i: TENANT/DUPLICATE with id text, REJECT with value text and
 * reason, BLANK with text NULL. */
static void expect_ev(const struct run *r, size_t i, enum csvin_kind kind,
		      unsigned long line, const char *text, const char *reason)
{
	const struct ev *e;

	assert_true(i < r->n);
	e = &r->evs[i];
	if(e->kind != kind || e->line != line)
		fail_msg("event %zu: kind %d line %lu, expected kind %d "
			 "line %lu (value '%.60s', %s)", i, e->kind, e->line,
			 kind, line, e->value ? e->value : "",
			 e->reason);
	switch(kind) {
	case CSVIN_TENANT:
	case CSVIN_DUPLICATE:
		assert_string_equal(e->id, text);
		break;
	case CSVIN_REJECT:
		assert_int_equal(e->value_len, strlen(text));
		assert_memory_equal(e->value, text, e->value_len);
		assert_string_equal(e->reason, reason);
		break;
	default:
		break;
	}
}

static int rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char path[PATH_MAX];

	if(!d)
		return -1;
	while((de = readdir(d))) {
		struct stat sb;

		if(!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if(!lstat(path, &sb) && S_ISDIR(sb.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	return rmdir(dir);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_csvin.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return rm_tree(tmpdir);
}

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the tests -------------------------------------------------------- */

static void excel_export(void **state)
{
	static const char text[] =
		"\xef\xbb\xbf" "Company;Microsoft ID;Country\r\n"
		"\"Contoso; Ltd\";" G1U ";US\r\n"
		"Fabrikam;{" G2 "};\"DE\"\r\n"
		"\"Northwind \"\"Traders\"\"; Inc\";not-a-guid;FR\r\n"
		"\r\n"
		";;\r\n"
		"Tailspin; " G1 " ;NL\r\n"
		"\"Wide; World\";\" {" G3U "} \";\"a;b\"\r\n";
	char path[PATH_MAX];
	struct run r;
	(void)state;

	run_text("excel.csv", text, NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.delim, ';');
	assert_int_equal(r.column, 2);
	assert_true(r.has_header);
	assert_string_equal(r.column_name, "Microsoft ID");
	expect_counts(&r, 3, 1, 1, 2);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 3, G2, NULL);
	expect_ev(&r, 2, CSVIN_REJECT, 4, "not-a-guid", "not a GUID");
	expect_ev(&r, 3, CSVIN_BLANK, 5, NULL, NULL);
	expect_ev(&r, 4, CSVIN_BLANK, 6, NULL, NULL);
	expect_ev(&r, 5, CSVIN_DUPLICATE, 7, G1, NULL);
	expect_ev(&r, 6, CSVIN_TENANT, 8, G3, NULL);
	/* The set holds first-seen order; on_bytes saw every byte, BOM
	 * included. */
	assert_int_equal(tenantset_count(r.seen), 3);
	{
		char id[GUID_STR_LEN + 1];

		guid_format(tenantset_get(r.seen, 0), id);
		assert_string_equal(id, G1);
		guid_format(tenantset_get(r.seen, 2), id);
		assert_string_equal(id, G3);
	}
	assert_int_equal(r.raw_len, sizeof(text) - 1);
	assert_int_equal(r.raw_len, sizeof(text) - 1);
	assert_memory_equal(r.raw, text, sizeof(text) - 1);
	run_release(&r);
}

static void tab_delimited(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	run_text("tab.tsv",
		 "Name\tTenantId\tNote\n"
		 "Contoso, Inc\t" G1 "\ta, b\n"
		 "Fabrikam\t" G2 "\t\n"
		 "\t\t\n"
		 "\"Tab\tInside\"\t" G3 "\tx\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.delim, '\t');
	assert_int_equal(r.column, 2);
	assert_string_equal(r.column_name, "TenantId");
	expect_counts(&r, 3, 0, 0, 1);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 3, G2, NULL);
	expect_ev(&r, 2, CSVIN_BLANK, 4, NULL, NULL);
	expect_ev(&r, 3, CSVIN_TENANT, 5, G3, NULL);
	run_release(&r);

	/* The first line alone is a tie (one ',' one ';'): the next lines
	 * decide. */
	run_text("semi.csv", "Contoso, Inc;" G1 "\nFabrikam;" G2 "\n"
		 "Northwind;" G3 "\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.delim, ';');
	assert_int_equal(r.column, 2);
	expect_counts(&r, 3, 0, 0, 0);
	run_release(&r);

	/* A quote inside an unquoted field is a character, not the start
	 * of a quoted field that would hide the ';' after it. */
	run_text("inch.csv", "Note, 5\" disk;Tenant\na;" G1 "\nb;" G2 "\n",
		 NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.delim, ';');
	assert_int_equal(r.column, 2);
	assert_string_equal(r.column_name, "Tenant");
	expect_counts(&r, 2, 0, 0, 0);
	run_release(&r);
}

static void headerless(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	/* One column: no delimiter anywhere, ',' by default. */
	run_text("one.csv", G1 "\n" G2 "\n{" G3U "}\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.delim, ',');
	assert_int_equal(r.column, 1);
	assert_false(r.has_header);
	assert_false(r.has_column_name);
	expect_counts(&r, 3, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 2, G2, NULL);
	expect_ev(&r, 2, CSVIN_TENANT, 3, G3, NULL);
	run_release(&r);

	/* A BOM before a first row of data is not part of the ID. */
	run_text("bom.csv", "\xef\xbb\xbf" G1 "\n" G2 "\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_false(r.has_header);
	expect_counts(&r, 2, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	run_release(&r);

	/* The GUIDs in the third column, the first row is data. */
	run_text("third.csv",
		 "Contoso,US," G1 "\n"
		 "Fabrikam,DE," G2 "\n"
		 "Northwind,FR,n/a\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 3);
	assert_false(r.has_header);
	expect_counts(&r, 2, 0, 1, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 2, G2, NULL);
	expect_ev(&r, 2, CSVIN_REJECT, 3, "n/a", "not a GUID");
	run_release(&r);

	/* A first cell that is an attempted ID is data and gets rejected. */
	run_text("attempt.csv",
		 "x,12345\n"
		 "y," G1 "\n"
		 "z," G2 "\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 2);
	assert_false(r.has_header);
	expect_counts(&r, 2, 0, 1, 0);
	expect_ev(&r, 0, CSVIN_REJECT, 1, "12345", "not a GUID");
	run_release(&r);
}

static void column_not_first(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	/* No known header name: found by content; "Tenant GUID" is a
	 * header because it cannot be an attempted ID. */
	run_text("notfirst.csv",
		 "Company,Country,Tenant GUID,Notes\n"
		 "Contoso,US," G1 ",x\n"
		 "Fabrikam,DE," G2 ",\n"
		 "Northwind,FR,\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 3);
	assert_true(r.has_header);
	assert_string_equal(r.column_name, "Tenant GUID");
	expect_counts(&r, 2, 0, 1, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 3, G2, NULL);
	expect_ev(&r, 2, CSVIN_REJECT, 4, "", "empty value");
	run_release(&r);

	/* A header over a single GUID still wins: the header row does not
	 * count against the column. */
	run_text("guidhdr.csv", "Name,GUID\nContoso," G1 "\n", NULL, &r,
		 path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 2);
	assert_true(r.has_header);
	assert_string_equal(r.column_name, "GUID");
	expect_counts(&r, 1, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	run_release(&r);
}

static void header_spellings(void **state)
{
	static const char *const names[] = {
		"customer-tenant-id", "Customer Tenant ID", "customerTenantId",
		"CUSTOMER_TENANT_ID", "tenantId", "tenant_id", "Tenant ID",
		"TENANT-ID", "customerId", "customer_id", "Customer ID",
		"Microsoft ID", "microsoft-id", "MicrosoftID", "id", "ID",
		"Id", "\"Tenant Id\"", " tenant.id "
	};
	char path[PATH_MAX];
	char text[256];
	struct run r;
	(void)state;

	/* Column 1 is GUIDs too, so only the name can pick column 2. */
	for(size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		snprintf(text, sizeof(text),
			 "Other,%s,Notes\n" G1 "," G2 ",x\n" G3 "," G4 ",y\n",
			 names[i]);
		run_text("spelling.csv", text, NULL, &r, path);
		assert_int_equal(r.st, PL_OK);
		if(r.column != 2)
			fail_msg("header '%s': column %u", names[i], r.column);
		assert_true(r.has_header);
		expect_counts(&r, 2, 0, 0, 0);
		expect_ev(&r, 0, CSVIN_TENANT, 2, G2, NULL);
		expect_ev(&r, 1, CSVIN_TENANT, 3, G4, NULL);
		run_release(&r);
	}

	/* Priority: customer tenant id, tenant id, customer id, microsoft
	 * id, id, whatever their order in the file. */
	run_text("prio1.csv", "id,customer id,tenant_id\n"
		 G1 "," G2 "," G3 "\n", NULL, &r, path);
	assert_int_equal(r.column, 3);
	assert_string_equal(r.column_name, "tenant_id");
	run_release(&r);
	run_text("prio2.csv", "Tenant ID,ID,Customer Tenant ID\n"
		 G1 "," G2 "," G3 "\n", NULL, &r, path);
	assert_int_equal(r.column, 3);
	run_release(&r);
	run_text("prio3.csv", "ID,Microsoft ID,Customer ID\n"
		 G1 "," G2 "," G3 "\n", NULL, &r, path);
	assert_int_equal(r.column, 3);
	run_release(&r);
	run_text("prio4.csv", "ID,Microsoft ID\n" G1 "," G2 "\n", NULL, &r,
		 path);
	assert_int_equal(r.column, 2);
	run_release(&r);

	/* The BOM is not part of the first header name. */
	run_text("bomhdr.csv", "\xef\xbb\xbfTenant ID,x\n" G1 ",y\n", NULL,
		 &r, path);
	assert_int_equal(r.column, 1);
	assert_string_equal(r.column_name, "Tenant ID");
	run_release(&r);

	/* A header cell too long to keep whole never matches a name, even
	 * if its kept start would ("id" and 300 dashes, then more). */
	{
		char hdr[512];
		int n = snprintf(hdr, sizeof(hdr), "\"id");

		memset(hdr + n, '-', 300);
		snprintf(hdr + n + 300, sizeof(hdr) - (size_t)n - 300,
			 "x\",Other\nA," G1 "\nB," G2 "\n");
		run_text("longname.csv", hdr, NULL, &r, path);
		assert_int_equal(r.st, PL_OK);
		assert_int_equal(r.column, 2);
		assert_string_equal(r.column_name, "Other");
		run_release(&r);
	}
}

static void column_option(void **state)
{
	static const char text[] =
		"Name,Customer Tenant ID,Backup\n"
		"A," G1 "," G3 "\n"
		"B," G2 "," G4 "\n";
	char path[PATH_MAX];
	char msg[PATH_MAX + 128];
	struct run r;
	(void)state;

	run_text("col.csv", text, "3", &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 3);
	assert_true(r.has_header);
	assert_string_equal(r.column_name, "Backup");
	expect_counts(&r, 2, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G3, NULL);
	expect_ev(&r, 1, CSVIN_TENANT, 3, G4, NULL);
	run_release(&r);

	/* Names match case- and punctuation-insensitively. */
	run_path(path, "customer TENANT-id", &r);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 2);
	assert_string_equal(r.column_name, "Customer Tenant ID");
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	run_release(&r);
	run_path(path, "customerTenantId", &r);
	assert_int_equal(r.column, 2);
	run_release(&r);
	run_path(path, "BACKUP", &r);
	assert_int_equal(r.column, 3);
	run_release(&r);

	/* Numbered column over a "Name" header: the header is skipped and
	 * the names are rejects. */
	run_path(path, "1", &r);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 1);
	assert_true(r.has_header);
	expect_counts(&r, 0, 0, 2, 0);
	expect_ev(&r, 0, CSVIN_REJECT, 2, "A", "not a GUID");
	expect_ev(&r, 1, CSVIN_REJECT, 3, "B", "not a GUID");
	run_release(&r);

	run_path(path, "Tenant", &r);
	assert_int_equal(r.st, PL_EINPUT);
	snprintf(msg, sizeof(msg), "%s: no column named 'Tenant' in the "
		 "header (columns: Name, Customer Tenant ID, Backup)", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	run_path(path, "0", &r);
	assert_int_equal(r.st, PL_EUSAGE);
	assert_string_equal(r.err.msg,
			    "--column 0: columns are numbered from 1");
	run_release(&r);

	run_path(path, "4", &r);
	assert_int_equal(r.st, PL_EUSAGE);
	snprintf(msg, sizeof(msg), "--column 4: %s has only 3 columns", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	run_path(path, "99999999999999999999999", &r);
	assert_int_equal(r.st, PL_EUSAGE);
	run_release(&r);

	run_path(path, "-", &r);
	assert_int_equal(r.st, PL_EUSAGE);
	assert_string_equal(r.err.msg,
			    "--column '-': not a column number or name");
	run_release(&r);

	/* Numbered column, header-less file; "abc-def" in row 1 is an
	 * attempted ID, so data. */
	run_text("colnum.csv", "x,abc-def\ny," G1 "\n", "2", &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_false(r.has_header);
	assert_false(r.has_column_name);
	expect_counts(&r, 1, 0, 1, 0);
	expect_ev(&r, 0, CSVIN_REJECT, 1, "abc-def", "not a GUID");
	expect_ev(&r, 1, CSVIN_TENANT, 2, G1, NULL);
	run_release(&r);
}

/* The same records with LF, CRLF and lone-CR line ends. */
static void quoted_newlines(void **state)
{
	static const char *const eols[] = { "\n", "\r\n", "\r" };
	static const char *const lines[] = {
		"tenant_id,comment",          /* 1 */
		G1 ",\"multi",                /* 2 */
		"line",                       /* 3 */
		"comment\"",                  /* 4 */
		G2 ",plain",                  /* 5 */
		"\"{" G3 "}\",\"a \"\"quoted\"\"", /* 6 */
		", and newline\"",            /* 7 */
		"bad,x",                      /* 8 */
		"\"" G4,                      /* 9: tenant cell spans lines */
		"\",y",                       /* 10 */
		G5 ",\"",                     /* 11 */
		"\"",                         /* 12 */
		"\"unterminated," G1,         /* 13: quote never closes */
		"x",                          /* 14 */
	};
	char path[PATH_MAX];
	char text[1024];
	struct run r;
	(void)state;

	for(size_t k = 0; k < 3; k++) {
		size_t n = 0;

		for(size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
			n += (size_t)snprintf(text + n, sizeof(text) - n,
					      "%s%s", lines[i], eols[k]);
		run_text("quoted.csv", text, NULL, &r, path);
		assert_int_equal(r.st, PL_OK);
		assert_int_equal(r.column, 1);
		expect_counts(&r, 5, 0, 2, 0);
		expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
		expect_ev(&r, 1, CSVIN_TENANT, 5, G2, NULL);
		expect_ev(&r, 2, CSVIN_TENANT, 6, G3, NULL);
		expect_ev(&r, 3, CSVIN_REJECT, 8, "bad", "not a GUID");
		/* A trailing line end inside the quotes is white space. */
		expect_ev(&r, 4, CSVIN_TENANT, 9, G4, NULL);
		expect_ev(&r, 5, CSVIN_TENANT, 11, G5, NULL);
		/* An unclosed quote runs to the end of the file. */
		snprintf(text, sizeof(text), "unterminated," G1 "%sx%s",
			 eols[k], eols[k]);
		expect_ev(&r, 6, CSVIN_REJECT, 13, text, "not a GUID");
		run_release(&r);
	}
}

static void blanks(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	run_text("blanks.csv",
		 "\n"                 /* 1 */
		 "\r\n"               /* 2 */
		 "tenantid,name\n"    /* 3: header after blank lines */
		 G1 ",a\n"            /* 4 */
		 "\n"                 /* 5 */
		 ",,,\n"              /* 6 */
		 "   \n"              /* 7 */
		 "\t\n"               /* 8 */
		 "\"\"\n"             /* 9 */
		 " , \" \" \n"        /* 10 */
		 "\r"                 /* 11: lone CR */
		 G2 ",b\r\n"          /* 12 */
		 "\n"                 /* 13 */
		 "  ",                /* 14: spaces, no line end */
		 NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_true(r.has_header);
	assert_int_equal(r.column, 1);
	expect_counts(&r, 2, 0, 0, 11);
	expect_ev(&r, 0, CSVIN_BLANK, 1, NULL, NULL);
	expect_ev(&r, 1, CSVIN_BLANK, 2, NULL, NULL);
	expect_ev(&r, 2, CSVIN_TENANT, 4, G1, NULL);
	for(size_t i = 0; i < 7; i++)
		expect_ev(&r, 3 + i, CSVIN_BLANK, 5 + i, NULL, NULL);
	expect_ev(&r, 10, CSVIN_TENANT, 12, G2, NULL);
	expect_ev(&r, 11, CSVIN_BLANK, 13, NULL, NULL);
	expect_ev(&r, 12, CSVIN_BLANK, 14, NULL, NULL);
	run_release(&r);

	/* Only blank lines, with --column: nothing but blanks. */
	run_text("allblank.csv", "\n  \n,\n", "1", &r, path);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 0, 0, 0, 3);
	expect_ev(&r, 2, CSVIN_BLANK, 3, NULL, NULL);
	run_release(&r);

	/* Empty input: fine with a numbered column, no column otherwise. */
	run_text("empty.csv", "", "1", &r, path);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 0, 0, 0, 0);
	assert_int_equal(r.raw_len, 0);
	run_release(&r);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	run_release(&r);
}

static void duplicates(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	run_text("dups.csv",
		 "id\n"
		 G1 "\n"
		 G1U "\n"
		 "{" G1 "}\n"
		 " {" G1U "} \n"
		 G2 "\n"
		 "\" {" G2 "}\t\"\n"
		 G1 "\n", NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 2, 5, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	expect_ev(&r, 1, CSVIN_DUPLICATE, 3, G1, NULL);
	expect_ev(&r, 2, CSVIN_DUPLICATE, 4, G1, NULL);
	expect_ev(&r, 3, CSVIN_DUPLICATE, 5, G1, NULL);
	expect_ev(&r, 4, CSVIN_TENANT, 6, G2, NULL);
	expect_ev(&r, 5, CSVIN_DUPLICATE, 7, G2, NULL);
	expect_ev(&r, 6, CSVIN_DUPLICATE, 8, G1, NULL);
	assert_int_equal(tenantset_count(r.seen), 2);
	run_release(&r);
}

static void rejects(void **state)
{
	static const char text[] =
		"name,id\n"                               /* 1 */
		"a," G1 "\n"                              /* 2 */
		"b,\n"                                    /* 3 */
		"c,12345\n"                               /* 4 */
		"d,{" G2 "\n"                             /* 5 */
		"e," G2 "}\n"                             /* 6 */
		"f,0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg\n" /* 7 */
		"g,../x\n"                                /* 8 */
		"h,a?b=1\n"                               /* 9 */
		"i,%2e%2e\n"                              /* 10 */
		"j," G1 "/../x\n"                         /* 11 */
		"k," G1 "%00\n"                           /* 12 */
		"onlyname\n"                              /* 13 */
		"m,\"" G1 "\0\"\n"                        /* 14: NUL byte */
		"n,\"  \"\n"                              /* 15 */
		"o,\"" G3 " x\"\n";                       /* 16 */
	char path[PATH_MAX];
	struct run r;
	(void)state;

	write_file("rejects.csv", text, sizeof(text) - 1, path);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 2);
	expect_counts(&r, 1, 0, 14, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	expect_ev(&r, 1, CSVIN_REJECT, 3, "", "empty value");
	expect_ev(&r, 2, CSVIN_REJECT, 4, "12345", "not a GUID");
	expect_ev(&r, 3, CSVIN_REJECT, 5, "{" G2, "unbalanced braces");
	expect_ev(&r, 4, CSVIN_REJECT, 6, G2 "}", "unbalanced braces");
	expect_ev(&r, 5, CSVIN_REJECT, 7,
		  "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "bad character");
	expect_ev(&r, 6, CSVIN_REJECT, 8, "../x", "not a GUID");
	expect_ev(&r, 7, CSVIN_REJECT, 9, "a?b=1", "not a GUID");
	expect_ev(&r, 8, CSVIN_REJECT, 10, "%2e%2e", "not a GUID");
	expect_ev(&r, 9, CSVIN_REJECT, 11, G1 "/../x", "not a GUID");
	expect_ev(&r, 10, CSVIN_REJECT, 12, G1 "%00", "not a GUID");
	expect_ev(&r, 11, CSVIN_REJECT, 13, "", "missing column");
	assert_int_equal(r.evs[12].kind, CSVIN_REJECT);
	assert_int_equal(r.evs[12].line, 14);
	assert_int_equal(r.evs[12].value_len, GUID_STR_LEN + 1);
	assert_memory_equal(r.evs[12].value, G1 "\0", GUID_STR_LEN + 1);
	assert_string_equal(r.evs[12].reason, "not a GUID");
	expect_ev(&r, 13, CSVIN_REJECT, 15, "  ", "empty value");
	expect_ev(&r, 14, CSVIN_REJECT, 16, G3 " x", "not a GUID");
	run_release(&r);
}

static void first_row_guid_is_data(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	run_text("data1.csv", G1 ",Contoso\n" G2 ",Fabrikam\n", NULL, &r,
		 path);
	assert_int_equal(r.st, PL_OK);
	assert_false(r.has_header);
	expect_counts(&r, 2, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	run_release(&r);
	run_path(path, "1", &r);
	assert_int_equal(r.st, PL_OK);
	assert_false(r.has_header);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	run_release(&r);
}

static void no_guid_column(void **state)
{
	char path[PATH_MAX];
	char msg[PATH_MAX + 256];
	struct run r;
	(void)state;

	run_text("noguid.csv", "Name,Country\nContoso,US\nFabrikam,DE\n",
		 NULL, &r, path);
	assert_int_equal(r.st, PL_EINPUT);
	snprintf(msg, sizeof(msg),
		 "%s: no tenant-ID column: looked for a header named "
		 "customer-tenant-id, tenant-id, customer-id, microsoft-id "
		 "or id, and for a column of GUIDs", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	/* UTF-16 (Excel's "Unicode Text") is named as such. */
	write_file("utf16.txt", "\xff\xfei\0d\0\n\0", 8, path);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	snprintf(msg, sizeof(msg), "%s: UTF-16 text is not supported, save "
		 "it as CSV UTF-8", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	/* Half GUIDs is not "mostly", but still the column with the most:
	 * it is used, and its other values are rejected one by one. */
	run_text("half.csv", "a,x\n" G1 ",y\nb,z\n" G2 ",w\n", NULL, &r,
		 path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 1);
	assert_int_equal(r.has_header, 0);
	assert_int_equal(r.counts.rows, 4);
	assert_int_equal(r.counts.tenants, 2);
	assert_int_equal(r.counts.rejects, 2);
	run_release(&r);

	/* The most GUIDs wins over the first column with any. */
	run_text("most.csv", "id2,x\n" G1 ",q\nzz," G1 "\nyy," G2 "\n",
		 NULL, &r, path);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 2);
	run_release(&r);
}

static void unreadable(void **state)
{
	char path[PATH_MAX];
	char msg[PATH_MAX + 64];
	struct run r;
	(void)state;

	make_path("does-not-exist.csv", path);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	snprintf(msg, sizeof(msg),
		 "cannot read %s: No such file or directory", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	make_path("adir", path);
	assert_int_equal(mkdir(path, 0700), 0);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	snprintf(msg, sizeof(msg), "cannot read %s: Is a directory", path);
	assert_string_equal(r.err.msg, msg);
	run_release(&r);

	/* Same through the stream API, where fread() reports EISDIR. */
	{
		FILE *fp = fopen(path, "r");
		struct csvin_options opt;
		struct csvin *in = NULL;
		struct pl_err err;

		assert_non_null(fp);
		memset(&opt, 0, sizeof(opt));
		opt.seen = tenantset_new();
		assert_int_equal(csvin_open_stream(fp, "adir", &opt, &in, &err),
				 PL_EINPUT);
		assert_null(in);
		assert_string_equal(err.msg,
				    "cannot read adir: Is a directory");
		tenantset_free(opt.seen);
		fclose(fp);
	}
}

static void binary_garbage(void **state)
{
	const size_t len = 3 * 65536 + 123;
	unsigned char *data = malloc(len);
	char path[PATH_MAX];
	uint32_t x = 12345;
	struct run r;
	(void)state;

	assert_non_null(data);
	for(size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		data[i] = (unsigned char)(x >> 16);
	}
	write_file("garbage.bin", data, len, path);
	free(data);

	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	run_release(&r);

	run_path(path, "1", &r);
	assert_int_equal(r.st, PL_OK);
	assert_true(r.n > 0);
	expect_counts(&r, 0, 0, r.counts.rejects, r.counts.blanks);
	for(size_t i = 0; i < r.n; i++) {
		assert_true(r.evs[i].kind == CSVIN_REJECT ||
			    r.evs[i].kind == CSVIN_BLANK);
		if(i)
			assert_true(r.evs[i].line > r.evs[i - 1].line);
	}
	assert_int_equal(r.raw_len, len);
	run_release(&r);
}

/* Physical line breaks in s[0..len): LF, CRLF and lone CR. */
static unsigned long count_breaks(const char *s, size_t len)
{
	unsigned long n = 0;

	for(size_t i = 0; i < len; i++) {
		if(s[i] == '\n')
			n++;
		else if(s[i] == '\r' && (i + 1 == len || s[i + 1] != '\n'))
			n++;
	}
	return n;
}

/*
 * Every csv-spectrum case, every column picked by its header name: each
 * record gives one reject whose value is the cell of the expected JSON,
 * on the line computed from the line breaks of the records before it.
 */
static void csv_spectrum(void **state)
{
	static const char *const cases[] = {
		"comma_in_quotes", "empty", "empty_crlf", "escaped_quotes",
		"json", "newlines", "newlines_crlf", "quotes_and_newlines",
		"simple", "simple_crlf", "utf8"
	};
	char path[PATH_MAX];
	struct run r;
	(void)state;

	for(size_t c = 0; c < sizeof(cases) / sizeof(*cases); c++) {
		struct json_object *arr, *first;
		size_t nrec;

		snprintf(path, sizeof(path),
			 QR_TESTDATA_DIR "/csv-spectrum/json/%s.json",
			 cases[c]);
		arr = json_object_from_file(path);
		assert_non_null(arr);
		nrec = json_object_array_length(arr);
		assert_true(nrec > 0);
		first = json_object_array_get_idx(arr, 0);
		snprintf(path, sizeof(path),
			 QR_TESTDATA_DIR "/csv-spectrum/csvs/%s.csv",
			 cases[c]);
		json_object_object_foreach(first, key, unused) {
			unsigned long line = 2;

			(void)unused;
			run_path(path, key, &r);
			if(r.st)
				fail_msg("%s --column %s: %s", cases[c], key,
					 r.err.msg);
			assert_int_equal(r.delim, ',');
			assert_true(r.has_header);
			assert_string_equal(r.column_name, key);
			expect_counts(&r, 0, 0, nrec, 0);
			for(size_t i = 0; i < nrec; i++) {
				struct json_object *rec =
					json_object_array_get_idx(arr, i);
				struct json_object *v;
				const char *want;

				assert_true(json_object_object_get_ex(rec, key,
								      &v));
				want = json_object_get_string(v);
				expect_ev(&r, i, CSVIN_REJECT, line, want,
					  *want ? "not a GUID" : "empty value");
				json_object_object_foreach(rec, k2, v2) {
					size_t n = (size_t)
						json_object_get_string_len(v2);

					(void)k2;
					line += count_breaks(
						json_object_get_string(v2), n);
				}
				line++;
			}
			run_release(&r);
		}
		json_object_put(arr);
	}
}

static void from_stdin(void **state)
{
	char path[PATH_MAX];
	struct run r;
	(void)state;

	write_file("stdin.csv", "Name,Country\nContoso,US\n", 24, path);
	assert_non_null(freopen(path, "rb", stdin));
	run_path("-", NULL, &r);
	assert_int_equal(r.st, PL_EINPUT);
	assert_true(!strncmp(r.err.msg, "stdin: no tenant-ID column", 26));
	run_release(&r);

	write_file("stdin2.csv", "\xef\xbb\xbftenant\n" G1 "\n", 47, path);
	assert_non_null(freopen(path, "rb", stdin));
	run_path("-", NULL, &r);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 1, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 2, G1, NULL);
	run_release(&r);
}

/* ---- larger inputs: chunk edges, huge cells, a million rows ------------ */

struct gen {
	char *s;
	size_t len, cap;
	unsigned long line;    /* line the next byte is on */
	struct ev *want;
	size_t n, ncap;
	unsigned serial;
};

static void gen_put(struct gen *g, const char *s, size_t len)
{
	if(g->len + len > g->cap) {
		g->cap = (g->len + len) * 2;
		g->s = realloc(g->s, g->cap);
		assert_non_null(g->s);
	}
	memcpy(g->s + g->len, s, len);
	g->len += len;
	g->line += count_breaks(s, len);
}

static void gen_want(struct gen *g, enum csvin_kind kind, unsigned long line,
		     const char *id)
{
	if(g->n == g->ncap) {
		g->ncap = g->ncap ? g->ncap * 2 : 64;
		g->want = realloc(g->want, g->ncap * sizeof(*g->want));
		assert_non_null(g->want);
	}
	memset(&g->want[g->n], 0, sizeof(*g->want));
	g->want[g->n].kind = kind;
	g->want[g->n].line = line;
	if(id)
		memcpy(g->want[g->n].id, id, GUID_STR_LEN + 1);
	g->n++;
}

static void gen_guid(struct gen *g, char out[GUID_STR_LEN + 1])
{
	unsigned n = ++g->serial;

	snprintf(out, GUID_STR_LEN + 1, "%08x-%04x-4000-8000-%012x", n,
		 n & 0xffff, n * 7919u);
}

/* A row "<guid><rest>" expected as a tenant on the current line. */
static void gen_row(struct gen *g, const char *rest)
{
	char id[GUID_STR_LEN + 1];

	gen_guid(g, id);
	gen_want(g, CSVIN_TENANT, g->line, id);
	gen_put(g, id, GUID_STR_LEN);
	gen_put(g, rest, strlen(rest));
}

/* Blank lines of spaces so that the next byte lands at offset at. */
static void gen_pad_to(struct gen *g, size_t at)
{
	assert_true(at >= g->len);
	while(at - g->len >= 2) {
		size_t n = at - g->len;
		char sp[80];

		if(n > 60)
			n = 40;
		if(n < 2)
			break;
		memset(sp, ' ', n - 2);
		gen_want(g, CSVIN_BLANK, g->line, NULL);
		gen_put(g, sp, n - 2);
		gen_put(g, "\r\n", 2);
	}
	assert_int_equal(g->len, at);
}

/*
 * Line ends and cells cut by the 64 KiB reads: a CRLF split between two
 * reads, a CRLF inside quotes split, a blank CRLF line split, a GUID
 * split, a lone CR at the end of a read, and a quoted line longer than a
 * read inside the look-ahead, all with exact line numbers.
 */
static void chunk_edges(void **state)
{
	const size_t K = 65536;
	struct gen g;
	char path[PATH_MAX];
	struct run r;
	(void)state;

	memset(&g, 0, sizeof(g));
	g.line = 1;
	gen_put(&g, "\xef\xbb\xbf" "tenant_id,note\r\n", 19);
	/* A quoted note longer than a read, its CRLF cut after the CR. */
	gen_row(&g, ",\"");
	while(g.len < 19 + K - 1 - 60)
		gen_put(&g, "0123456789", 10);
	while(g.len < 19 + K - 1)
		gen_put(&g, "x", 1);
	gen_put(&g, "\r\nend of note\"\r\n", 16);
	while(g.len < 2 * K - 200)
		gen_row(&g, ",plain row\r\n");
	/* The 2nd read ends after the CR of a row's CRLF. */
	gen_pad_to(&g, 2 * K - 1 - GUID_STR_LEN);
	gen_row(&g, "\r\n");
	while(g.len < 3 * K - 200)
		gen_row(&g, "\r\n");
	/* The 3rd read ends inside quotes, after a CR. */
	gen_pad_to(&g, 3 * K - 1 - GUID_STR_LEN - 4);
	gen_row(&g, ",\"ab\r\ncd\"\r\n");
	while(g.len < 4 * K - 200)
		gen_row(&g, ",x\r\n");
	/* The 4th read ends with the CR of a blank line. */
	gen_pad_to(&g, 4 * K - 1);
	gen_want(&g, CSVIN_BLANK, g.line, NULL);
	gen_put(&g, "\r\n", 2);
	while(g.len < 5 * K - 200)
		gen_row(&g, "\n");
	/* The 5th read ends inside a GUID. */
	gen_pad_to(&g, 5 * K - 10);
	gen_row(&g, ",split\r\n");
	while(g.len < 6 * K - 200)
		gen_row(&g, "\r\n");
	/* The 6th read ends with a lone CR. */
	gen_pad_to(&g, 6 * K - 1 - GUID_STR_LEN);
	gen_row(&g, "\r");
	gen_row(&g, "\r");
	while(g.len < 7 * K)
		gen_row(&g, "\r\n");
	/* No line end at the end of the file. */
	gen_row(&g, ",last");

	write_file("edges.csv", g.s, g.len, path);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 1);
	assert_true(r.has_header);
	assert_int_equal(r.n, g.n);
	for(size_t i = 0; i < g.n; i++)
		expect_ev(&r, i, g.want[i].kind, g.want[i].line, g.want[i].id,
			  NULL);
	assert_int_equal(r.raw_len, g.len);
	assert_memory_equal(r.raw, g.s, g.len);
	print_message("chunk edges: %zu bytes, %zu events, last line %lu\n",
		      g.len, g.n, g.want[g.n - 1].line);
	run_release(&r);
	free(g.s);
	free(g.want);
}

static void write_repeat(FILE *fp, int c, size_t n)
{
	char block[4096];

	memset(block, c, sizeof(block));
	while(n) {
		size_t k = n < sizeof(block) ? n : sizeof(block);

		assert_int_equal(fwrite(block, 1, k, fp), k);
		n -= k;
	}
}

static void huge_cells(void **state)
{
	char path[PATH_MAX];
	struct run r;
	FILE *fp;
	long rss0, rss1;
	double t0;
	(void)state;

	/* 100 MB on one line without a line end, the tenant first. */
	make_path("huge.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(G1 ",", fp);
	write_repeat(fp, 'x', 100 * 1000 * 1000);
	assert_int_equal(fclose(fp), 0);
	rss0 = maxrss_kb();
	t0 = now_s();
	keep_raw = 0;
	run_path(path, NULL, &r);
	keep_raw = 1;
	rss1 = maxrss_kb();
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 1);
	assert_false(r.has_header);
	expect_counts(&r, 1, 0, 0, 0);
	expect_ev(&r, 0, CSVIN_TENANT, 1, G1, NULL);
	assert_int_equal(r.raw_len, 37 + 100 * 1000 * 1000);
	/* The cell cap keeps libcsv's field buffer near 1 MiB. */
	print_message("100 MB line: %.2f s, peak RSS +%ld KiB\n",
		      now_s() - t0, rss1 - rss0);
	if(RSS_CHECKED)
		assert_true(rss1 - rss0 < 32 * 1024);
	run_release(&r);
	unlink(path);

	/* The tenant cell itself too long: cut, rejected, line exact. */
	make_path("longcell.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	write_repeat(fp, 'a', 3 * MIB);
	fputs("\n" G1 "\n", fp);
	assert_int_equal(fclose(fp), 0);
	run_path(path, "1", &r);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 1, 0, 1, 0);
	assert_int_equal(r.evs[0].kind, CSVIN_REJECT);
	assert_int_equal(r.evs[0].line, 1);
	assert_string_equal(r.evs[0].reason, "value too long");
	assert_int_equal(r.evs[0].value_len, MIB);
	for(size_t i = 0; i < MIB; i++)
		assert_true(r.evs[0].value[i] == 'a');
	expect_ev(&r, 1, CSVIN_TENANT, 2, G1, NULL);
	run_release(&r);

	/* A quoted tenant cell over 2 MiB of lines; then trailing spaces
	 * beyond the cap that libcsv trims (unquoted and after a closing
	 * quote) must not make a value too long, interior ones must. */
	make_path("longquoted.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("tenant_id,x\n\"", fp);                         /* 1, 2.. */
	for(size_t i = 0; i < 700000; i++)
		fputs("ab\n", fp);
	fputs("\",y\n", fp);                                  /* 700002 */
	fputs(G1, fp);                                        /* 700003 */
	write_repeat(fp, ' ', 2 * MIB);
	fputs(",x\n\"" G2 "\"", fp);                          /* 700004 */
	write_repeat(fp, ' ', 2 * MIB);
	fputs("\n" G3, fp);                                   /* 700005 */
	write_repeat(fp, ' ', 2 * MIB);
	fputs("z\n" G4 "\n", fp);                             /* 700006 */
	assert_int_equal(fclose(fp), 0);
	run_path(path, NULL, &r);
	assert_int_equal(r.st, PL_OK);
	assert_int_equal(r.column, 1);
	expect_counts(&r, 3, 0, 2, 0);
	assert_int_equal(r.evs[0].line, 2);
	assert_string_equal(r.evs[0].reason, "value too long");
	assert_int_equal(r.evs[0].value_len, MIB);
	expect_ev(&r, 1, CSVIN_TENANT, 700003, G1, NULL);
	expect_ev(&r, 2, CSVIN_TENANT, 700004, G2, NULL);
	assert_int_equal(r.evs[3].line, 700005);
	assert_string_equal(r.evs[3].reason, "value too long");
	expect_ev(&r, 4, CSVIN_TENANT, 700006, G4, NULL);
	run_release(&r);
}

/* Event i is a reject on line `line` with reason, its value n bytes of
 * which the first is `first` and every other one `rest`. */
static void expect_long(const struct run *r, size_t i, unsigned long line,
			const char *reason, size_t n, char first, char rest)
{
	const struct ev *e;

	assert_true(i < r->n);
	e = &r->evs[i];
	if(e->kind != CSVIN_REJECT || e->line != line ||
	   strcmp(e->reason, reason) || e->value_len != n)
		fail_msg("event %zu: kind %d line %lu '%s' %zu bytes, expected "
			 "a reject on line %lu '%s' %zu bytes", i, e->kind,
			 e->line, e->reason, e->value_len, line, reason, n);
	assert_int_equal(e->value[0], first);
	for(size_t k = 1; k < n; k++)
		if(e->value[k] != rest)
			fail_msg("event %zu: byte %zu is 0x%02x", i, k,
				 (unsigned char)e->value[k]);
}

/*
 * The 1 MiB cell limit exactly at its edge, in every state libcsv can be
 * in when a cell reaches it: unquoted, quoted, with trailing spaces that
 * libcsv trims, with an escaped quote, at the closing quote.
 */
static void cell_limit_boundaries(void **state)
{
	char path[PATH_MAX];
	struct run r;
	FILE *fp;
	(void)state;

	make_path("edge.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	write_repeat(fp, 'a', MIB);                       /* 1: exactly */
	fputs("\n", fp);
	write_repeat(fp, 'b', MIB + 1);                   /* 2: one over */
	fputs("\n\"", fp);
	write_repeat(fp, 'c', MIB);                       /* 3: quoted */
	fputs("\"\n\"", fp);
	write_repeat(fp, 'd', MIB + 1);                   /* 4: quoted, over */
	fputs("\"\n", fp);
	write_repeat(fp, 'e', MIB);                       /* 5: trimmed */
	write_repeat(fp, ' ', 3);
	fputs("\n\"", fp);
	write_repeat(fp, 'f', MIB - 1);                   /* 6: "" at edge */
	fputs("\"\"\"\n", fp);
	write_repeat(fp, 'g', MIB);                       /* 7: spaces, then */
	write_repeat(fp, ' ', 3);                         /*    more text */
	fputs("g\n" G1 "\n", fp);                        /* 8 */
	assert_int_equal(fclose(fp), 0);
	run_path(path, "1", &r);
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 1, 0, 7, 0);
	expect_long(&r, 0, 1, "not a GUID", MIB, 'a', 'a');
	expect_long(&r, 1, 2, "value too long", MIB, 'b', 'b');
	expect_long(&r, 2, 3, "not a GUID", MIB, 'c', 'c');
	expect_long(&r, 3, 4, "value too long", MIB, 'd', 'd');
	expect_long(&r, 4, 5, "not a GUID", MIB, 'e', 'e');
	assert_int_equal(r.evs[5].line, 6);
	assert_string_equal(r.evs[5].reason, "not a GUID");
	assert_int_equal(r.evs[5].value_len, MIB);
	assert_int_equal(r.evs[5].value[MIB - 1], '"');
	assert_int_equal(r.evs[6].line, 7);
	assert_string_equal(r.evs[6].reason, "value too long");
	expect_ev(&r, 7, CSVIN_TENANT, 8, G1, NULL);
	run_release(&r);
}

/*
 * A quoted cell that libcsv keeps in its "might have ended" state while
 * it grows: after a closing quote, pairs of a space and a quote are text
 * (non-strict libcsv), and no state edit between calls ever saw such a
 * field inside FIELD_BEGUN to cut it. 100 MB of it must still cost about
 * 1 MiB, and be rejected as too long.
 */
static void cell_limit_in_every_state(void **state)
{
	char path[PATH_MAX], pairs[4096];
	struct run r;
	FILE *fp;
	long rss0, rss1;
	(void)state;

	for(size_t k = 0; k < sizeof(pairs); k += 2) {
		pairs[k] = ' ';
		pairs[k + 1] = '"';
	}
	make_path("pairs.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("\"x\"", fp);
	for(int k = 0; k < 100 * 1000 * 1000 / (int)sizeof(pairs); k++)
		assert_int_equal(fwrite(pairs, 1, sizeof(pairs), fp),
				 sizeof(pairs));
	fputs(",y\n" G1 "\n", fp);
	assert_int_equal(fclose(fp), 0);
	rss0 = maxrss_kb();
	keep_raw = 0;
	run_path(path, "1", &r);
	keep_raw = 1;
	rss1 = maxrss_kb();
	assert_int_equal(r.st, PL_OK);
	expect_counts(&r, 1, 0, 1, 0);
	assert_int_equal(r.evs[0].line, 1);
	assert_string_equal(r.evs[0].reason, "value too long");
	/* Up to 1 MiB of it: x" " " ..., less the quote and space libcsv
	 * drops at the end of a field in that state. */
	assert_true(r.evs[0].value_len >= MIB - 2 &&
		    r.evs[0].value_len <= MIB);
	assert_memory_equal(r.evs[0].value, "x\" \" \" ", 7);
	expect_ev(&r, 1, CSVIN_TENANT, 2, G1, NULL);
	print_message("100 MB quoted cell: peak RSS +%ld KiB\n", rss1 - rss0);
	if(RSS_CHECKED)
		assert_true(rss1 - rss0 < 32 * 1024);
	run_release(&r);
	unlink(path);
}

/*
 * A million rows (~40 MB): fresh IDs, re-spelled duplicates and invalid
 * values; exact counts and lines, bounded memory, and the time taken.
 */
static void million_rows(void **state)
{
	const unsigned long rows = 1000000;
	unsigned long tenants = 0, dups = 0, bad = 0;
	uint64_t bytes = 0;
	struct csvin_options opt;
	struct csvin *in = NULL;
	struct csvin_event ev;
	struct pl_err err;
	char path[PATH_MAX];
	struct stat sb;
	long rss0, rss1;
	double t0, t1;
	FILE *fp;
	(void)state;

	make_path("million.csv", path);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("customerId,name\n", fp);
	for(unsigned long i = 0; i < rows; i++) {
		if(i % 100 == 99) {
			fprintf(fp, "bad-%lu,row %lu\n", i, i);
			bad++;
		} else if(i % 10 == 9) {
			unsigned long j = i - 5;

			fprintf(fp, "{%08lX-0000-4000-8000-%012lX},dup\n",
				j, j * 3);
			dups++;
		} else {
			fprintf(fp, "%08lx-0000-4000-8000-%012lx,row\n",
				i, i * 3);
			tenants++;
		}
	}
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(stat(path, &sb), 0);

	memset(&opt, 0, sizeof(opt));
	opt.seen = tenantset_new();
	assert_non_null(opt.seen);
	opt.on_bytes = count_bytes;
	opt.on_bytes_ctx = &bytes;
	rss0 = maxrss_kb();
	t0 = now_s();
	assert_int_equal(csvin_open(path, &opt, &in, &err), PL_OK);
	assert_int_equal(csvin_column(in), 1);
	for(unsigned long i = 0;; i++) {
		assert_int_equal(csvin_next(in, &ev, &err), PL_OK);
		if(ev.kind == CSVIN_END) {
			assert_int_equal(i, rows);
			break;
		}
		if(ev.line != i + 2)
			fail_msg("row %lu: line %lu", i, ev.line);
		if(i % 100 == 99)
			assert_int_equal(ev.kind, CSVIN_REJECT);
		else if(i % 10 == 9)
			assert_int_equal(ev.kind, CSVIN_DUPLICATE);
		else
			assert_int_equal(ev.kind, CSVIN_TENANT);
	}
	t1 = now_s();
	rss1 = maxrss_kb();
	assert_int_equal(csvin_counts(in)->rows, rows);
	assert_int_equal(csvin_counts(in)->tenants, tenants);
	assert_int_equal(csvin_counts(in)->duplicates, dups);
	assert_int_equal(csvin_counts(in)->rejects, bad);
	assert_int_equal(csvin_counts(in)->blanks, 0);
	assert_int_equal(bytes, (uint64_t)sb.st_size);
	assert_int_equal(tenantset_count(opt.seen), tenants);
	print_message("1M rows (%lld bytes): %.2f s, peak RSS +%ld KiB, "
		      "tenantset %zu bytes for %lu tenants (%.1f/tenant)\n",
		      (long long)sb.st_size, t1 - t0, rss1 - rss0,
		      tenantset_bytes(opt.seen), tenants,
		      (double)tenantset_bytes(opt.seen) / (double)tenants);
	if(RSS_CHECKED)
		assert_true(rss1 - rss0 < 80 * 1024);
	csvin_free(in);
	tenantset_free(opt.seen);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		/* First, so its peak RSS is not hidden by earlier tests. */
		cmocka_unit_test(million_rows),
		cmocka_unit_test(excel_export),
		cmocka_unit_test(tab_delimited),
		cmocka_unit_test(headerless),
		cmocka_unit_test(column_not_first),
		cmocka_unit_test(header_spellings),
		cmocka_unit_test(column_option),
		cmocka_unit_test(quoted_newlines),
		cmocka_unit_test(blanks),
		cmocka_unit_test(duplicates),
		cmocka_unit_test(rejects),
		cmocka_unit_test(first_row_guid_is_data),
		cmocka_unit_test(no_guid_column),
		cmocka_unit_test(unreadable),
		cmocka_unit_test(binary_garbage),
		cmocka_unit_test(csv_spectrum),
		cmocka_unit_test(from_stdin),
		cmocka_unit_test(chunk_edges),
		cmocka_unit_test(huge_cells),
		cmocka_unit_test(cell_limit_boundaries),
		cmocka_unit_test(cell_limit_in_every_state),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
