#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "scenario.h"

struct data_tenant {
	uint8_t key[16];
	struct data_answer *answers;
	size_t nanswers;
};

struct data_set {
	struct data_tenant *tenants; /* sorted by key */
	size_t ntenants;
	char **customers;            /* the "customers" list, compact JSON */
	size_t ncustomers;
	int has_customers;
};

static void answer_release(struct data_answer *a)
{
	free(a->body);
	for(size_t i = 0; i < a->nheaders; i++) {
		free(a->headers[i].name);
		free(a->headers[i].value);
	}
	free(a->headers);
}

void data_set_free(struct data_set *set)
{
	if(!set)
		return;
	for(size_t i = 0; i < set->ntenants; i++) {
		struct data_tenant *t = &set->tenants[i];

		for(size_t j = 0; j < t->nanswers; j++)
			answer_release(&t->answers[j]);
		free(t->answers);
	}
	free(set->tenants);
	for(size_t i = 0; i < set->ncustomers; i++)
		free(set->customers[i]);
	free(set->customers);
	free(set);
}

static int cmp_tenant(const void *a, const void *b)
{
	return memcmp(((const struct data_tenant *)a)->key,
		      ((const struct data_tenant *)b)->key, 16);
}

const struct data_answer *data_set_find(const struct data_set *set,
					const uint8_t key[16], uint32_t n)
{
	struct data_tenant probe;
	const struct data_tenant *t;

	if(!set || !set->ntenants)
		return NULL;
	memcpy(probe.key, key, 16);
	t = bsearch(&probe, set->tenants, set->ntenants, sizeof(probe),
		    cmp_tenant);
	if(!t)
		return NULL;
	return &t->answers[n < t->nanswers ? n : t->nanswers - 1];
}

size_t data_set_size(const struct data_set *set)
{
	return set ? set->ntenants : 0;
}

const char *const *data_set_customers(const struct data_set *set, size_t *n)
{
	*n = set && set->has_customers ? set->ncustomers : 0;
	return set && set->has_customers
		? (const char *const *)set->customers : NULL;
}

/* The "customers" list, kept as the compact text of each item. */
static enum pl_status parse_customers(struct data_set *set,
				      struct json_object *v, const char *path,
				      struct pl_err *err)
{
	size_t n;

	if(!json_object_is_type(v, json_type_array))
		return pl_fail(err, PL_EUSAGE, "%s: \"customers\" must be an "
			       "array of items", path);
	n = json_object_array_length(v);
	set->customers = calloc(n + 1, sizeof(*set->customers));
	if(!set->customers)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	set->has_customers = 1;
	for(size_t i = 0; i < n; i++) {
		const char *s = json_object_to_json_string_ext(
			json_object_array_get_idx(v, i),
			JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		set->customers[i] = strdup(s ? s : "null");
		if(!set->customers[i])
			return pl_fail(err, PL_ENOMEM, "out of memory");
		set->ncustomers++;
	}
	return PL_OK;
}

static char *dup_bytes(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if(p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* Header text must not be able to split the response. */
static int header_safe(const char *s)
{
	for(; *s; s++)
		if(*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

static enum pl_status parse_headers(struct json_object *o,
				    struct data_answer *a, const char *where,
				    struct pl_err *err)
{
	struct json_object_iterator it, end;

	if(!json_object_is_type(o, json_type_object))
		return pl_fail(err, PL_EUSAGE, "%s: \"headers\" must be an "
			       "object", where);
	a->headers = calloc((size_t)json_object_object_length(o) + 1,
			    sizeof(*a->headers));
	if(!a->headers)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for(; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		const char *value;
		struct data_header *h;

		if(!json_object_is_type(v, json_type_string) &&
		   !json_object_is_type(v, json_type_int) &&
		   !json_object_is_type(v, json_type_double))
			return pl_fail(err, PL_EUSAGE, "%s: header \"%s\": "
				       "value must be a string or a number",
				       where, name);
		value = json_object_get_string(v);
		if(!*name || !header_safe(name) || !header_safe(value) ||
		   strchr(name, ':'))
			return pl_fail(err, PL_EUSAGE, "%s: header \"%s\": "
				       "bad name or value", where, name);
		h = &a->headers[a->nheaders];
		h->name = strdup(name);
		h->value = strdup(value);
		if(!h->name || !h->value) {
			free(h->name);
			free(h->value);
			return pl_fail(err, PL_ENOMEM, "out of memory");
		}
		a->nheaders++;
		if(!strcasecmp(name, "Content-Type"))
			a->has_content_type = 1;
	}
	return PL_OK;
}

static enum pl_status parse_answer(struct json_object *o,
				   struct data_answer *a, const char *where,
				   struct pl_err *err)
{
	struct json_object_iterator it, end;
	int have_body = 0;
	enum pl_status st;

	a->status = 200;
	a->latency_ms = -1;
	a->cut_after = -1;
	if(!json_object_is_type(o, json_type_object))
		return pl_fail(err, PL_EUSAGE, "%s: an answer must be an "
			       "object", where);
	it = json_object_iter_begin(o);
	end = json_object_iter_end(o);
	for(; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *k = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		if(k[0] == '_')
			continue;
		if(!strcmp(k, "status")) {
			int64_t s = json_object_get_int64(v);

			if(!json_object_is_type(v, json_type_int) ||
			   s < 100 || s > 599)
				return pl_fail(err, PL_EUSAGE, "%s: \"status\" "
					       "must be an integer 100..599",
					       where);
			a->status = (int)s;
		} else if(!strcmp(k, "body") || !strcmp(k, "body_raw")) {
			const char *s;
			size_t len;

			if(have_body++)
				return pl_fail(err, PL_EUSAGE, "%s: both "
					       "\"body\" and \"body_raw\"",
					       where);
			if(!strcmp(k, "body")) {
				s = json_object_to_json_string_ext(v,
					JSON_C_TO_STRING_PLAIN |
					JSON_C_TO_STRING_NOSLASHESCAPE);
				len = strlen(s);
			} else if(json_object_is_type(v, json_type_string)) {
				s = json_object_get_string(v);
				len = (size_t)json_object_get_string_len(v);
			} else {
				return pl_fail(err, PL_EUSAGE, "%s: "
					       "\"body_raw\" must be a string",
					       where);
			}
			a->body = dup_bytes(s, len);
			if(!a->body)
				return pl_fail(err, PL_ENOMEM, "out of memory");
			a->body_len = len;
		} else if(!strcmp(k, "headers")) {
			st = parse_headers(v, a, where, err);
			if(st)
				return st;
		} else if(!strcmp(k, "drop")) {
			if(!json_object_is_type(v, json_type_boolean))
				return pl_fail(err, PL_EUSAGE, "%s: \"drop\" "
					       "must be true or false", where);
			a->drop = json_object_get_boolean(v);
		} else if(!strcmp(k, "cut_after")) {
			int64_t n = json_object_get_int64(v);

			if(!json_object_is_type(v, json_type_int) || n < 0)
				return pl_fail(err, PL_EUSAGE, "%s: "
					       "\"cut_after\" must be an "
					       "integer >= 0", where);
			a->cut_after = (long)n;
		} else if(!strcmp(k, "latency_ms")) {
			int64_t ms = json_object_get_int64(v);

			if(!json_object_is_type(v, json_type_int) || ms < 0 ||
			   ms > 3600000)
				return pl_fail(err, PL_EUSAGE, "%s: "
					       "\"latency_ms\" must be an "
					       "integer 0..3600000", where);
			a->latency_ms = (long)ms;
		} else {
			return pl_fail(err, PL_EUSAGE, "%s: unknown key "
				       "\"%s\"", where, k);
		}
	}
	return PL_OK;
}

static enum pl_status parse_tenant(const char *id, struct json_object *v,
				   struct data_tenant *t, const char *path,
				   struct pl_err *err)
{
	char lower[37], where[256];
	int is_array = json_object_is_type(v, json_type_array);
	size_t n = is_array ? json_object_array_length(v) : 1;
	enum pl_status st;

	snprintf(where, sizeof(where), "%s: tenant \"%.80s\"", path, id);
	if(!scenario_parse_guid(id, strlen(id), lower, t->key))
		return pl_fail(err, PL_EUSAGE, "%s: not a GUID", where);
	if(!n)
		return pl_fail(err, PL_EUSAGE, "%s: empty array of answers",
			       where);
	t->answers = calloc(n, sizeof(*t->answers));
	if(!t->answers)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	for(size_t i = 0; i < n; i++) {
		struct json_object *o = is_array ?
			json_object_array_get_idx(v, i) : v;

		t->nanswers++;
		if(is_array)
			snprintf(where, sizeof(where),
				 "%s: tenant \"%.80s\", answer %zu", path, id,
				 i + 1);
		st = parse_answer(o, &t->answers[i], where, err);
		if(st)
			return st;
	}
	return PL_OK;
}

static enum pl_status read_all(const char *path, char **out,
			       struct pl_err *err)
{
	FILE *f = fopen(path, "rb");
	struct buf b = BUF_INIT;
	enum pl_status st = PL_OK;
	size_t n;

	*out = NULL;
	if(!f)
		return pl_fail(err, PL_EUSAGE, "cannot open %s: %s", path,
			       strerror(errno));
	do {
		if(buf_fread(&b, 65536, f, &n)) {
			st = pl_fail(err, PL_ENOMEM, "out of memory");
			goto out;
		}
	} while(n);
	if(ferror(f)) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			     strerror(errno));
		goto out;
	}
	*out = buf_detach(&b, NULL);
	if(!*out)
		st = pl_fail(err, PL_ENOMEM, "out of memory");
out:
	buf_release(&b);
	fclose(f);
	return st;
}

enum pl_status data_set_load(const char *path, struct data_set **out,
			     struct pl_err *err)
{
	struct data_set *set = NULL;
	struct json_object *root = NULL;
	struct json_tokener *tok = NULL;
	struct json_object_iterator it, end;
	enum pl_status st;
	char *text;

	*out = NULL;
	st = read_all(path, &text, err);
	if(st)
		return st;
	tok = json_tokener_new();
	if(!tok) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	/* A script is strict JSON: a stray comma is a typo to report. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, text, (int)strlen(text));
	if(!root || text[json_tokener_get_parse_end(tok) +
			 strspn(text + json_tokener_get_parse_end(tok),
				" \t\r\n")]) {
		enum json_tokener_error je = json_tokener_get_error(tok);

		st = pl_fail(err, PL_EUSAGE, "cannot parse %s: %s", path,
			     root ? "data after the JSON object" :
			     je == json_tokener_continue ?
			     "unexpected end of file" :
			     json_tokener_error_desc(je));
		goto out;
	}
	if(!json_object_is_type(root, json_type_object)) {
		st = pl_fail(err, PL_EUSAGE, "%s: top level must be an "
			     "object mapping tenant IDs to answers", path);
		goto out;
	}
	set = calloc(1, sizeof(*set));
	if(set)
		set->tenants = calloc((size_t)json_object_object_length(root) +
				      1, sizeof(*set->tenants));
	if(!set || !set->tenants) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	it = json_object_iter_begin(root);
	end = json_object_iter_end(root);
	for(; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *id = json_object_iter_peek_name(&it);

		if(id[0] == '_')
			continue;
		if(!strcmp(id, "customers")) {
			st = parse_customers(set, json_object_iter_peek_value(
						     &it), path, err);
			if(st)
				goto out;
			continue;
		}
		st = parse_tenant(id, json_object_iter_peek_value(&it),
				  &set->tenants[set->ntenants++], path, err);
		if(st)
			goto out;
	}
	qsort(set->tenants, set->ntenants, sizeof(*set->tenants), cmp_tenant);
	for(size_t i = 1; i < set->ntenants; i++) {
		if(!memcmp(set->tenants[i - 1].key, set->tenants[i].key, 16)) {
			st = pl_fail(err, PL_EUSAGE, "%s: a tenant is listed "
				     "twice (IDs differ only in case)", path);
			goto out;
		}
	}
	*out = set;
	set = NULL;
out:
	data_set_free(set);
	json_object_put(root);
	if(tok)
		json_tokener_free(tok);
	free(text);
	return st;
}
