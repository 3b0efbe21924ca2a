/*
 * test_csvin_names.c: csvin's want_names (--customers with a CSV input):
 * the company-name and domain columns found by header name (companyName
 * before Company before Name, domain; case and punctuation ignored,
 * never the tenant column), their cells handed with each tenant (a short
 * record's as "", a header's never), and an input naming neither refused
 * as a usage error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csvin.h"

struct row {
	enum csvin_kind kind;
	char name[32];
	char domain[32];
	int has_name, has_domain;
};

/* Read text with want_names; rows gets the tenant and duplicate events. */
static enum pl_status read_names(const char *text, struct row *rows,
				 size_t *n, struct pl_err *err)
{
	struct tenantset *set = tenantset_new();
	struct csvin_options opt = {0};
	struct csvin *in = NULL;
	struct csvin_event ev;
	enum pl_status st;
	FILE *fp = fmemopen((void *)text, strlen(text), "r");

	assert_non_null(fp);
	opt.seen = set;
	opt.want_names = true;
	*n = 0;
	st = csvin_open_stream(fp, "in.csv", &opt, &in, err);
	while(!st) {
		st = csvin_next(in, &ev, err);
		if(st || ev.kind == CSVIN_END)
			break;
		if(ev.kind != CSVIN_TENANT && ev.kind != CSVIN_DUPLICATE)
			continue;
		rows[*n].kind = ev.kind;
		rows[*n].has_name = ev.name != NULL;
		rows[*n].has_domain = ev.domain != NULL;
		snprintf(rows[*n].name, sizeof(rows[0].name), "%s",
			 ev.name ? ev.name : "");
		snprintf(rows[*n].domain, sizeof(rows[0].domain), "%s",
			 ev.domain ? ev.domain : "");
		(*n)++;
	}
	csvin_free(in);
	fclose(fp);
	tenantset_free(set);
	return st;
}

#define T1 "b44bb1fb-c595-45b0-9e09-d657365580bf"
#define T2 "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

static void both_columns(void **state)
{
	struct row rows[8];
	struct pl_err err;
	size_t n;

	(void)state;
	assert_int_equal(read_names("Name;Tenant ID;Company_Name;DOMAIN\n"
				    "x;" T1 ";\"Contoso; Ltd\";contoso.com\n"
				    "y;" T2 "\n"
				    "z;{" T1 "};Again;again.com\n",
				    rows, &n, &err), PL_OK);
	assert_int_equal(n, 3);
	/* companyName wins over Name */
	assert_string_equal(rows[0].name, "Contoso; Ltd");
	assert_string_equal(rows[0].domain, "contoso.com");
	/* a record without those cells: empty, not the last record's */
	assert_true(rows[1].has_name);
	assert_string_equal(rows[1].name, "");
	assert_string_equal(rows[1].domain, "");
	assert_int_equal(rows[2].kind, CSVIN_DUPLICATE);
	assert_string_equal(rows[2].name, "Again");
}

static void name_only(void **state)
{
	struct row rows[8];
	struct pl_err err;
	size_t n;

	(void)state;
	assert_int_equal(read_names("customer-id,Company\n" T1 ",Fabrikam\n",
				    rows, &n, &err), PL_OK);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].name, "Fabrikam");
	assert_false(rows[0].has_domain);
}

/* "Name" is the tenant column here: it is never taken for a name. */
static void not_the_tenant_column(void **state)
{
	struct row rows[8];
	struct pl_err err;
	size_t n;

	(void)state;
	assert_int_equal(read_names("Name,other\n" T1 ",x\n", rows, &n, &err),
			 PL_EUSAGE);
	assert_string_equal(err.msg, "--customers: in.csv has no "
			    "company-name or domain column (looked for a "
			    "header named companyName, Company, Name or "
			    "domain)");
}

static void no_header(void **state)
{
	struct row rows[8];
	struct pl_err err;
	size_t n;

	(void)state;
	assert_int_equal(read_names(T1 ",Contoso\n" T2 ",Fabrikam\n", rows, &n,
				    &err), PL_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(both_columns),
		cmocka_unit_test(name_only),
		cmocka_unit_test(not_the_tenant_column),
		cmocka_unit_test(no_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
