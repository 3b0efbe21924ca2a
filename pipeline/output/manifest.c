#include "manifest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "outfile.h"
#include "report_impl.h"

enum pl_status manifest_counts_tie_out(const struct manifest_counts *c,
				       struct pl_err *err)
{
	unsigned long rows = c->valid + c->duplicate + c->invalid + c->blank;
	unsigned long done = c->answered + c->not_found + c->failed;
	char a[PL_ERR_MAX / 2] = "", b[PL_ERR_MAX / 2] = "";

	if(rows == c->input_rows && done == c->valid)
		return PL_OK;
	if(rows != c->input_rows)
		snprintf(a, sizeof(a),
			 "input_rows %lu != valid %lu + duplicate %lu + "
			 "invalid %lu + blank %lu (%lu)",
			 c->input_rows, c->valid, c->duplicate, c->invalid,
			 c->blank, rows);
	if(done != c->valid)
		snprintf(b, sizeof(b),
			 "valid %lu != answered %lu + not_found %lu + "
			 "failed %lu (%lu)",
			 c->valid, c->answered, c->not_found, c->failed, done);
	return pl_fail(err, PL_EINTERNAL, "counts do not tie out: %s%s%s", a,
		       *a && *b ? "; " : "", b);
}

void manifest_format_time(int64_t ms, char out[32])
{
	int64_t secs = ms / 1000, rem = ms % 1000;
	struct tm tm;
	size_t len;
	time_t t;

	if(rem < 0) {
		rem += 1000;
		secs--;
	}
	t = (time_t)secs;
	if(!gmtime_r(&t, &tm)) {
		/* beyond struct tm's years: nothing honest to print */
		out[0] = '\0';
		return;
	}
	len = strftime(out, 32 - 5, "%Y-%m-%dT%H:%M:%S", &tm);
	if(!len) {
		out[0] = '\0';
		return;
	}
	snprintf(out + len, 32 - len, ".%03dZ", (int)rem);
}

/*
 * Add key -> value, taking the value's reference; NULL values become JSON
 * null. False (and the value dropped) when json-c failed: the builders
 * below only say whether memory ran out.
 */
static bool put(struct json_object *obj, const char *key,
		struct json_object *val, bool is_null)
{
	if(!val && !is_null)
		return false;
	if(json_object_object_add(obj, key, val)) {
		json_object_put(val);
		return false;
	}
	return true;
}

/* A string (made valid UTF-8 so the manifest always parses) or null. */
static bool put_str(struct json_object *obj, const char *key, const char *s)
{
	struct json_object *val = NULL;
	char *clean;

	if(!s)
		return put(obj, key, NULL, true);
	clean = report_utf8_dup(s);
	if(!clean)
		return false;
	val = json_object_new_string(clean);
	free(clean);
	return put(obj, key, val, false);
}

static bool put_u64(struct json_object *obj, const char *key, uint64_t v)
{
	return put(obj, key, json_object_new_uint64(v), false);
}

static struct json_object *build_counts(const struct manifest_counts *c)
{
	struct json_object *o = json_object_new_object();

	if(!o)
		return NULL;
	if(!put_u64(o, "input_rows", c->input_rows) ||
	   !put_u64(o, "valid", c->valid) ||
	   !put_u64(o, "duplicate", c->duplicate) ||
	   !put_u64(o, "invalid", c->invalid) ||
	   !put_u64(o, "blank", c->blank) ||
	   !put_u64(o, "fetched", c->fetched) ||
	   !put_u64(o, "answered", c->answered) ||
	   !put_u64(o, "not_found", c->not_found) ||
	   !put_u64(o, "failed", c->failed) ||
	   !put_u64(o, "rows_written", c->rows_written)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *build_outputs(const struct manifest *m)
{
	struct json_object *arr = json_object_new_array();

	for(size_t i = 0; arr && i < m->noutputs; i++) {
		const struct manifest_output *mo = &m->outputs[i];
		struct json_object *o = json_object_new_object();

		if(!o || !put_str(o, "role", mo->role) ||
		   !put_str(o, "path", mo->path) ||
		   !put_str(o, "format", mo->format) ||
		   !put_u64(o, "rows", mo->rows) ||
		   !put_u64(o, "bytes", mo->bytes) ||
		   !put_str(o, "sha256", mo->sha256) ||
		   json_object_array_add(arr, o)) {
			json_object_put(o);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *build_listing(const struct manifest_listing *l)
{
	struct json_object *o = json_object_new_object();

	if(!o)
		return NULL;
	if(!put_str(o, "listing", l->request) ||
	   !put_str(o, "base_url", l->base_url) ||
	   !put_u64(o, "page_size", l->page_size) ||
	   !put_u64(o, "pages", l->pages) ||
	   !put_u64(o, "customers_listed", l->customers_listed) ||
	   !put_u64(o, "duplicates_across_pages", l->duplicates) ||
	   !put_u64(o, "relisted", l->relisted) ||
	   !put_u64(o, "invalid", l->invalid) ||
	   !put_u64(o, "restarts", l->restarts)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *build_input(const struct manifest *m)
{
	struct json_object *o;

	if(m->listing)
		return build_listing(m->listing);
	o = json_object_new_object();
	if(!o)
		return NULL;
	if(!put_str(o, "path", m->input_path) ||
	   !put_str(o, "sha256", m->input_sha256) ||
	   !put_u64(o, "bytes", m->input_bytes)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *build_options(const struct manifest *m)
{
	struct json_object *o = json_object_new_object();

	for(size_t i = 0; o && i < m->noptions; i++) {
		if(!put_str(o, m->options[i].name, m->options[i].value)) {
			json_object_put(o);
			return NULL;
		}
	}
	return o;
}

/* The whole manifest, keys in manifest.h's order; NULL on ENOMEM. */
static struct json_object *build(const struct manifest *m)
{
	struct json_object *root = json_object_new_object();
	char started[32], ended[32];
	bool ok = true;

	if(!root)
		return NULL;
	manifest_format_time(m->started_ms, started);
	manifest_format_time(m->ended_ms, ended);
	/* put() consumes its value even when it fails, so every call runs
	 * and nothing leaks; one failure spoils the whole. */
	ok &= put_str(root, "tool", "qualreport");
	ok &= put_str(root, "version", m->version);
	ok &= put_str(root, "correlation_id", m->correlation_id);
	ok &= put_str(root, "started_at", started);
	ok &= put_str(root, "ended_at", ended);
	ok &= put(root, "input", build_input(m), false);
	ok &= put(root, "options", build_options(m), false);
	ok &= put(root, "counts", build_counts(&m->counts), false);
	ok &= put(root, "outputs", build_outputs(m), false);
	ok &= put(root, "exit_code", json_object_new_int(m->exit_code),
		  false);
	if(!ok) {
		json_object_put(root);
		return NULL;
	}
	return root;
}

struct manifest_file {
	struct outfile *out;
};

enum pl_status manifest_open(const char *path, struct manifest_file **out,
			     struct pl_err *err)
{
	struct manifest_file *f;
	struct stat sb;
	enum pl_status rc;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if(!f)
		return pl_fail(err, PL_ENOMEM, "out of memory opening the "
			       "manifest %s", path);
	rc = outfile_open(path, 0, &f->out, err);
	if(rc) {
		free(f);
		return rc;
	}
	/* Only a regular file is renamed over; anything else is written in
	 * place and stays. */
	if(strcmp(path, "-") && lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	   unlink(path) != 0 && errno != ENOENT) {
		rc = pl_fail(err, PL_EOUTPUT, "cannot remove the previous "
			     "manifest %s: %s", path, strerror(errno));
		manifest_abort(f);
		return rc;
	}
	*out = f;
	return PL_OK;
}

void manifest_abort(struct manifest_file *f)
{
	if(!f)
		return;
	outfile_abort(f->out);
	free(f);
}

enum pl_status manifest_commit(struct manifest_file *f,
			       const struct manifest *m, struct pl_err *err)
{
	struct json_object *root = build(m);
	const char *text = NULL;
	enum pl_status rc;

	/* Two-space indent and "key": value, as jq prints it; "/" stays
	 * unescaped so paths read naturally. */
	if(root)
		text = json_object_to_json_string_ext(root,
				JSON_C_TO_STRING_PRETTY |
				JSON_C_TO_STRING_SPACED |
				JSON_C_TO_STRING_NOSLASHESCAPE);
	if(!text) {
		rc = pl_fail(err, PL_ENOMEM, "out of memory writing the "
			     "manifest %s", outfile_path(f->out));
		manifest_abort(f);
		goto out;
	}
	rc = outfile_write(f->out, text, strlen(text), err);
	if(!rc)
		rc = outfile_write(f->out, "\n", 1, err);
	if(rc)
		outfile_abort(f->out);
	else
		rc = outfile_commit(f->out, NULL, err);
	free(f);
out:
	json_object_put(root);
	return rc;
}

enum pl_status manifest_write(const char *path, const struct manifest *m,
			      struct pl_err *err)
{
	struct manifest_file *f;
	enum pl_status rc = manifest_open(path, &f, err);

	return rc ? rc : manifest_commit(f, m, err);
}
