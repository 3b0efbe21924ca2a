#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <json-c/json.h>

#include "guid.h"
#include "ids.h"
#include "buf.h"
#include "log.h"
#include "now.h"

#define NOT_DONE UINT64_MAX
#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
#define KEY_FLAGS \
	(JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY)
/* Besides the record count and the timer: write once this many bytes are
 * pending, so tenants with thousands of rows cannot pile up megabytes. */
#define BUF_FLUSH_BYTES (1u << 20)
/* What the identity line starts with, to tell a torn identity from a
 * file that is not a journal at all (which must never be truncated). */
static const char magic[] = "{\"qualreport_journal\":";

struct journal {
	char *path;
	int fd;
	const struct tenantset *tenants;
	const struct journal_listing *listing; /* NULL: a file's journal */
	bool listing_done;       /* {"end":"listing"} is in it */
	size_t count;            /* tenants the offsets cover */
	/* Per tenant: byte offset of its record line, NOT_DONE if none.
	 * Offsets past `end` point into out (appended, not yet written). */
	uint64_t *offsets;
	size_t offsets_cap;
	size_t resumed;
	uint64_t end;            /* bytes in the file */
	struct buf out;          /* whole lines not yet written */
	size_t pending;          /* records in out */
	int64_t last_write_ms;
	int64_t last_sync_ms;
	bool dirty;              /* written since the last fdatasync */
	struct buf line;         /* journal_load's read buffer */
	struct json_tokener *tok;
};

static enum pl_status fail_write(struct journal *j, int errnum,
				 struct pl_err *err)
{
	return pl_fail(err, PL_EOUTPUT, "cannot write journal %s: %s",
		       j->path, strerror(errnum));
}

static enum pl_status oom(struct pl_err *err)
{
	return pl_fail(err, PL_ENOMEM, "out of memory");
}

/* Cover every tenant in the set (a listing's set grows). */
static enum pl_status ensure_count(struct journal *j)
{
	size_t n = tenantset_count(j->tenants), cap = j->offsets_cap;
	uint64_t *grown;

	if(n > cap) {
		while(cap < n)
			cap = cap ? 2 * cap : 1024;
		grown = realloc(j->offsets, cap * sizeof(*grown));
		if(!grown)
			return PL_ENOMEM;
		j->offsets = grown;
		j->offsets_cap = cap;
	}
	for(size_t i = j->count; i < n; i++)
		j->offsets[i] = NOT_DONE;
	j->count = n;
	return PL_OK;
}

/* write(2) all of p, across short writes and EINTR; *done says how much
 * reached the file even on failure. 0 or an errno. */
static int write_all(int fd, const char *p, size_t n, size_t *done)
{
	*done = 0;
	while(*done < n) {
		ssize_t w = write(fd, p + *done, n - *done);

		if(w < 0) {
			if(errno == EINTR)
				continue;
			return errno;
		}
		*done += (size_t)w;
	}
	return 0;
}

static int sync_fd(int fd)
{
	while(fdatasync(fd) != 0) {
		if(errno != EINTR)
			return errno;
	}
	return 0;
}

/* Make the file's directory entry durable too: fdatasync alone does not
 * persist a newly created name. Best effort: some file systems refuse
 * fsync on a directory, and losing a fresh journal only costs a refetch. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd;

	if(!slash)
		dir = strdup(".");
	else if(slash == path)
		dir = strdup("/");
	else
		dir = strndup(path, (size_t)(slash - path));
	if(!dir)
		return;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if(fd < 0)
		return;
	(void)fsync(fd);
	close(fd);
}

/* Write out `out`; then fdatasync if `sync`, or if JOURNAL_SYNC_MS passed. */
static enum pl_status write_out(struct journal *j, bool sync,
				struct pl_err *err)
{
	int64_t now = now_mono_ms();
	size_t done;
	int e;

	if(j->out.len) {
		e = write_all(j->fd, j->out.data, j->out.len, &done);
		/* Keep offsets of buffered records valid (end + position in
		 * out) even when only part of it made it to the file. */
		j->end += done;
		buf_remove(&j->out, 0, done);
		if(done)
			j->dirty = true;
		if(e)
			return fail_write(j, e, err);
		j->pending = 0;
		j->last_write_ms = now;
	}
	if(j->dirty && (sync || now - j->last_sync_ms >= JOURNAL_SYNC_MS)) {
		e = sync_fd(j->fd);
		if(e)
			return fail_write(j, e, err);
		j->dirty = false;
		j->last_sync_ms = now;
	}
	return PL_OK;
}

/* Add key: v to o. v NULL is JSON null when !want, a failed allocation
 * when want. False (v released) when memory ran out. */
static bool put(struct json_object *o, const char *key, struct json_object *v,
		bool want)
{
	if(want && !v)
		return false;
	if(json_object_object_add_ex(o, key, v, KEY_FLAGS) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* A JSON string, or null for NULL and "" (the record's "empty"). */
static bool put_str(struct json_object *o, const char *key, const char *s)
{
	bool want = s && *s;

	return put(o, key, want ? json_object_new_string(s) : NULL, want);
}

static bool push_str(struct json_object *arr, const char *s)
{
	struct json_object *v = NULL;

	if(s && *s) {
		v = json_object_new_string(s);
		if(!v)
			return false;
	}
	if(json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

static struct json_object *record_json(size_t index,
				       const struct tenant_record *rec)
{
	struct json_object *o = json_object_new_object();
	struct json_object *rows = NULL;
	bool ok = o;

	ok = ok && put(o, "i", json_object_new_int64((int64_t)index), true);
	ok = ok && put_str(o, "t", rec->tenant_id);
	ok = ok && put(o, "h", json_object_new_int64(rec->http_status), true);
	ok = ok && put(o, "a", json_object_new_int64(rec->attempts), true);
	ok = ok && put_str(o, "r", rec->request_id);
	ok = ok && put(o, "o", json_object_new_int((int)rec->outcome), true);
	ok = ok && put_str(o, "e", rec->error);
	if(ok) {
		rows = json_object_new_array_ext((int)rec->nrows);
		ok = put(o, "rows", rows, true);
	}
	for(size_t r = 0; ok && r < rec->nrows; r++) {
		const struct qual_row *q = &rec->rows[r];
		struct json_object *row = json_object_new_array_ext(4);

		if(!row || json_object_array_add(rows, row) != 0) {
			json_object_put(row);
			ok = false;
			break;
		}
		ok = push_str(row, q->qualification) &&
		     push_str(row, q->vetting_status) &&
		     push_str(row, q->vetting_reason) &&
		     push_str(row, q->vetting_created_date);
	}
	if(!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* Serialize o plus "\n" at the end of `out`, whole or not at all. */
static enum pl_status add_json(struct journal *j, struct json_object *o)
{
	size_t n;
	const char *s = json_object_to_json_string_length(o, JSON_FLAGS, &n);
	enum pl_status st;

	if(!s)
		return PL_ENOMEM;
	st = buf_grow(&j->out, n + 1);
	if(!st) {
		buf_add(&j->out, s, n); /* cannot fail after the grow */
		buf_addch(&j->out, '\n');
	}
	return st;
}

/* Parse exactly line[0..len) as one JSON object; NULL if it is not. */
static struct json_object *parse_line(struct json_tokener *tok,
				      const char *line, size_t len)
{
	struct json_object *o;

	if(len == 0 || len > INT_MAX)
		return NULL;
	json_tokener_reset(tok);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if(o && (json_tokener_get_parse_end(tok) != len ||
		 !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Field getters: true when present with the right type, else why says
 * what is wrong. */
static bool get_int(struct json_object *o, const char *key, int64_t min,
		    int64_t max, int64_t *out, char *why, size_t whylen)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v) ||
	   !json_object_is_type(v, json_type_int)) {
		snprintf(why, whylen, "\"%s\" is not an integer", key);
		return false;
	}
	errno = 0;
	*out = json_object_get_int64(v);
	if(errno || *out < min || *out > max) {
		snprintf(why, whylen, "\"%s\" is out of range", key);
		return false;
	}
	return true;
}

/* A string or null (*out NULL); maxlen 0 = unbounded. */
static bool get_str(struct json_object *o, const char *key, size_t maxlen,
		    const char **out, char *why, size_t whylen)
{
	struct json_object *v;

	*out = NULL;
	if(!json_object_object_get_ex(o, key, &v))
		goto bad;
	if(!v)
		return true;
	if(!json_object_is_type(v, json_type_string))
		goto bad;
	if(maxlen && (size_t)json_object_get_string_len(v) > maxlen)
		goto bad;
	*out = json_object_get_string(v);
	return true;
bad:
	snprintf(why, whylen, "\"%s\" is not a string or null", key);
	return false;
}

static enum pl_status corrupt(const struct journal *j, size_t lineno,
			      const char *why, struct pl_err *err)
{
	return pl_fail(err, PL_EOUTPUT, "journal %s line %zu is corrupt: %s",
		       j->path, lineno, why);
}

/* Where a record failure happened: "journal P line N " + its message
 * ("is corrupt: ..."); out of memory is passed on as it is. */
static enum pl_status at_line(const struct journal *j, size_t lineno,
			      enum pl_status st, const struct pl_err *why,
			      struct pl_err *err)
{
	if(st == PL_ENOMEM) {
		if(err)
			*err = *why;
		return st;
	}
	return pl_fail(err, st, "journal %s line %zu %s", j->path, lineno,
		       why->msg);
}

static bool is_canonical_guid(const char *s)
{
	char canon[GUID_STR_LEN + 1];

	return !guid_canonicalize(s, strlen(s), canon, NULL) &&
	       !strcmp(canon, s);
}

/*
 * Check a record line's object against the tenant set and, when rec is
 * not NULL, fill rec (which must be empty) from it. *index gets "i". A
 * record of the wrong shape, or for a tenant that is not the input's at
 * its index, is PL_EOUTPUT with what is wrong in `out` ("is corrupt: ..."
 * or "does not match the input: ..."; at_line() puts the place in front);
 * PL_ENOMEM. On failure rec may hold part of the record.
 */
static enum pl_status read_record(const struct journal *j,
				  struct json_object *o, size_t *index,
				  struct tenant_record *rec,
				  struct pl_err *out)
{
	char canon[GUID_STR_LEN + 1], why[200];
	const size_t whylen = sizeof(why);
	const char *tenant, *request, *error, *cell[4];
	struct json_object *rows, *row;
	int64_t i, http, attempts, outcome;
	size_t nrows;

	if(!get_int(o, "i", 0, INT64_MAX, &i, why, whylen) ||
	   !get_str(o, "t", GUID_STR_LEN, &tenant, why, whylen) ||
	   !get_int(o, "h", 0, INT_MAX, &http, why, whylen) ||
	   !get_int(o, "a", 0, UINT_MAX, &attempts, why, whylen) ||
	   !get_str(o, "r", GUID_STR_LEN, &request, why, whylen) ||
	   !get_int(o, "o", OUTCOME_ANSWERED, OUTCOME_FAILED, &outcome, why,
		    whylen) ||
	   !get_str(o, "e", 0, &error, why, whylen))
		return pl_fail(out, PL_EOUTPUT, "is corrupt: %s", why);
	if(!tenant)
		return pl_fail(out, PL_EOUTPUT, "is corrupt: \"t\" is null");
	/* The request_id column is a GUID or empty (loaders type it uuid) */
	if(request && *request && !is_canonical_guid(request))
		return pl_fail(out, PL_EOUTPUT, "is corrupt: \"r\" is not a "
			       "request ID");
	if(!json_object_object_get_ex(o, "rows", &rows) ||
	   !json_object_is_type(rows, json_type_array))
		return pl_fail(out, PL_EOUTPUT, "is corrupt: \"rows\" is not "
			       "an array");
	/* The identity matched, so the input is the same: a record that
	 * does not fit it is damage too, in its own words. */
	if((uint64_t)i >= j->count)
		return pl_fail(out, PL_EOUTPUT, "does not match the input: "
			       "index %" PRId64 " is out of range (%zu "
			       "tenants)", i, j->count);
	guid_format(tenantset_get(j->tenants, (size_t)i), canon);
	if(strcmp(tenant, canon) != 0)
		return pl_fail(out, PL_EOUTPUT, "does not match the input: "
			       "tenant %s at index %" PRId64 " is %s in the "
			       "input", tenant, i, canon);
	*index = (size_t)i;
	nrows = json_object_array_length(rows);
	/* Every normalized answer has a row: a tenant without one would
	 * vanish from the reports while its counts still tie out. */
	if(!nrows)
		return pl_fail(out, PL_EOUTPUT, "is corrupt: \"rows\" is "
			       "empty");
	for(size_t r = 0; r < nrows; r++) {
		row = json_object_array_get_idx(rows, r);
		if(!json_object_is_type(row, json_type_array) ||
		   json_object_array_length(row) != 4)
			goto bad_row;
		for(size_t c = 0; c < 4; c++) {
			struct json_object *v = json_object_array_get_idx(row,
									   c);

			if(v && !json_object_is_type(v, json_type_string))
				goto bad_row;
			cell[c] = v ? json_object_get_string(v) : NULL;
		}
		if(rec && tenant_record_add_row(rec, cell[0], cell[1], cell[2],
						cell[3], out))
			return PL_ENOMEM;
	}
	if(!rec)
		return PL_OK;
	memcpy(rec->tenant_id, tenant, GUID_STR_LEN + 1);
	snprintf(rec->request_id, sizeof(rec->request_id), "%s",
		 request ? request : "");
	rec->http_status = (long)http;
	rec->attempts = (unsigned)attempts;
	rec->outcome = (enum tenant_outcome)outcome;
	return tenant_record_set_error(rec, error, out);
bad_row:
	return pl_fail(out, PL_EOUTPUT, "is corrupt: \"rows\" holds "
		       "something other than arrays of 4 strings or nulls");
}

static struct json_object *identity_json(const struct journal_identity *id,
					 const struct journal_listing *listing,
					 size_t count)
{
	struct json_object *o = json_object_new_object();
	bool ok = o;

	ok = ok && put(o, "qualreport_journal", json_object_new_int(1), true);
	if(listing)
		ok = ok && put(o, "listing",
			       json_object_new_string(listing->what), true);
	else
		ok = ok && put(o, "input_sha256",
			       json_object_new_string(id->input_sha256), true);
	ok = ok && put(o, "fingerprint",
		       json_object_new_string(id->fingerprint), true);
	ok = ok && put(o, "correlation_id",
		       json_object_new_string(id->correlation_id), true);
	if(!listing)
		ok = ok && put(o, "tenants",
			       json_object_new_int64((int64_t)count), true);
	if(!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* The fingerprint and correlation ID checks both identities share. */
static enum pl_status check_options(const struct journal *j, const char *fp,
				    const char *corr,
				    const struct journal_identity *id,
				    struct pl_err *err)
{
	if(strcmp(fp, id->fingerprint) != 0)
		return pl_fail(err, PL_EUSAGE, "journal %s was written with "
			       "other options (\"%.80s\" \u2260 \"%.80s\"): "
			       "rerun with those options, use a new journal "
			       "path or delete it", j->path, fp,
			       id->fingerprint);
	if(id->correlation_id[0] && strcasecmp(corr, id->correlation_id) != 0)
		return pl_fail(err, PL_EUSAGE, "journal %s has correlation ID "
			       "%s, not %s", j->path, corr, id->correlation_id);
	return PL_OK;
}

/* Line 1 of a listing's journal against this run's listing. */
static enum pl_status check_listing_identity(const struct journal *j,
					     struct json_object *o,
					     const struct journal_identity *id,
					     char corr[GUID_STR_LEN + 1],
					     struct pl_err *err)
{
	const char *what, *fp, *cid;
	char why[160];

	if(!get_str(o, "listing", 0, &what, why, sizeof(why)) ||
	   !get_str(o, "fingerprint", 0, &fp, why, sizeof(why)) ||
	   !get_str(o, "correlation_id", GUID_STR_LEN, &cid, why,
		    sizeof(why)))
		return corrupt(j, 1, why, err);
	if(!what || !fp || !cid || !ids_parse_uuid(cid, corr))
		return corrupt(j, 1, "incomplete identity", err);
	if(strcmp(what, j->listing->what) != 0)
		return pl_fail(err, PL_EUSAGE, "journal %s belongs to another "
			       "listing (%.120s \u2260 %.120s): use a new "
			       "journal path or delete it", j->path, what,
			       j->listing->what);
	return check_options(j, fp, corr, id, err);
}

/* Compare line 1 with this run; on a match, *corr gets its ID. */
static enum pl_status check_identity(const struct journal *j,
				     struct json_object *o,
				     const struct journal_identity *id,
				     char corr[GUID_STR_LEN + 1],
				     struct pl_err *err)
{
	struct json_object *v;
	const char *sha, *fp, *cid;
	char why[160];
	int64_t version, tenants;

	if(!json_object_object_get_ex(o, "qualreport_journal", &v))
		return pl_fail(err, PL_EUSAGE, "%s is not a qualreport journal",
			       j->path);
	if(!get_int(o, "qualreport_journal", 0, INT64_MAX, &version, why,
		    sizeof(why)) || version != 1)
		return pl_fail(err, PL_EUSAGE,
			       "journal %s has an unsupported version",
			       j->path);
	if(json_object_object_get_ex(o, "listing", &v) != !!j->listing)
		return pl_fail(err, PL_EUSAGE, "journal %s belongs to another "
			       "input (%s): use a new journal path or delete "
			       "it", j->path, j->listing
			       ? "a file, not the customer listing"
			       : "the customer listing, not a file");
	if(j->listing)
		return check_listing_identity(j, o, id, corr, err);
	if(!get_str(o, "input_sha256", 0, &sha, why, sizeof(why)) ||
	   !get_str(o, "fingerprint", 0, &fp, why, sizeof(why)) ||
	   !get_str(o, "correlation_id", GUID_STR_LEN, &cid, why,
		    sizeof(why)) ||
	   !get_int(o, "tenants", 0, INT64_MAX, &tenants, why, sizeof(why)))
		return corrupt(j, 1, why, err);
	if(!sha || !fp || !cid || !ids_parse_uuid(cid, corr))
		return corrupt(j, 1, "incomplete identity", err);
	if(strcmp(sha, id->input_sha256) != 0)
		return pl_fail(err, PL_EUSAGE, "journal %s belongs to another "
			       "input (sha256 %.12s\u2026 \u2260 %.12s\u2026): "
			       "use a new journal path or delete it", j->path,
			       sha, id->input_sha256);
	if((uint64_t)tenants != j->count)
		return pl_fail(err, PL_EUSAGE, "journal %s belongs to another "
			       "input (%" PRId64 " tenants \u2260 %zu): use a "
			       "new journal path or delete it", j->path,
			       tenants, j->count);
	return check_options(j, fp, corr, id, err);
}

/* A torn first line: what a crash while writing the identity leaves. */
static bool torn_identity(const char *line, size_t len)
{
	size_t m = sizeof(magic) - 1;

	return memcmp(line, magic, len < m ? len : m) == 0;
}

/* ---- the listing's records --------------------------------------------- */

static bool put_u64(struct json_object *o, const char *key, uint64_t v)
{
	return put(o, key, json_object_new_uint64(v), true);
}

static bool push_bytes(struct json_object *arr, const char *s, size_t n)
{
	struct json_object *v = n <= INT_MAX
		? json_object_new_string_len(s, (int)n) : NULL;

	if(!v || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		return false;
	}
	return true;
}

/* An array added to o under key (NULL on failure). */
static struct json_object *put_array(struct json_object *o, const char *key,
				     size_t n)
{
	struct json_object *a = json_object_new_array_ext((int)n);

	return put(o, key, a, true) ? a : NULL;
}

/* A row array appended to arr (NULL on failure). */
static struct json_object *push_row(struct json_object *arr, int n)
{
	struct json_object *row = json_object_new_array_ext(n);

	if(!row || json_object_array_add(arr, row) != 0) {
		json_object_put(row);
		return NULL;
	}
	return row;
}

static struct json_object *page_json(const struct listing_page *pg)
{
	struct json_object *o = json_object_new_object();
	struct json_object *news = NULL, *rejects = NULL, *row;
	char tenant[GUID_STR_LEN + 1];
	bool ok = o;

	ok = ok && put_u64(o, "page", pg->page);
	ok = ok && put_u64(o, "pass", pg->pass);
	ok = ok && put_u64(o, "items", pg->items);
	ok = ok && put_u64(o, "dup", pg->duplicates);
	ok = ok && put_u64(o, "relisted", pg->relisted);
	ok = ok && put_u64(o, "first", pg->first);
	ok = ok && (news = put_array(o, "new", pg->ntenants));
	for(size_t i = 0; ok && i < pg->ntenants; i++) {
		const struct listing_tenant *t = &pg->tenants[i];

		guid_format(t->id, tenant);
		ok = (row = push_row(news, 4)) && push_str(row, tenant) &&
		     push_str(row, t->info.name) &&
		     push_str(row, t->info.domain) &&
		     push_str(row, t->info.relationship);
	}
	ok = ok && (rejects = put_array(o, "rejects", pg->nrejects));
	for(size_t i = 0; ok && i < pg->nrejects; i++) {
		const struct listing_reject *r = &pg->rejects[i];
		struct json_object *line;

		ok = (row = push_row(rejects, 3)) &&
		     (line = json_object_new_uint64(r->line)) &&
		     json_object_array_add(row, line) == 0 &&
		     push_bytes(row, r->value ? r->value : "",
				r->value ? r->value_len : 0) &&
		     push_str(row, r->reason);
	}
	if(!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

/* A string cell of a row array, or NULL (null); false when it is
 * neither. */
static bool cell_str(struct json_object *row, size_t i, const char **out,
		     size_t *len)
{
	struct json_object *v = json_object_array_get_idx(row, i);

	*out = NULL;
	if(len)
		*len = 0;
	if(!v)
		return true;
	if(!json_object_is_type(v, json_type_string))
		return false;
	*out = json_object_get_string(v);
	if(len)
		*len = (size_t)json_object_get_string_len(v);
	return true;
}

/* An array member of o, or NULL with why. */
static struct json_object *get_array(struct json_object *o, const char *key,
				     char *why, size_t whylen)
{
	struct json_object *v;

	if(!json_object_object_get_ex(o, key, &v) ||
	   !json_object_is_type(v, json_type_array)) {
		snprintf(why, whylen, "\"%s\" is not an array", key);
		return NULL;
	}
	return v;
}

/*
 * A page line back into a struct listing_page (arrays allocated into
 * *tenants and *rejects, strings borrowed from o), checked for shape.
 * PL_OK; PL_EOUTPUT with why; PL_ENOMEM.
 */
static enum pl_status read_page(struct json_object *o,
				struct listing_page *pg,
				struct listing_tenant **tenants,
				struct listing_reject **rejects, char *why,
				size_t whylen)
{
	static const char *const keys[] = {"page", "pass", "items", "dup",
					   "relisted", "first"};
	struct json_object *news, *rej;
	int64_t v[6];

	memset(pg, 0, sizeof(*pg));
	for(size_t k = 0; k < 6; k++)
		if(!get_int(o, keys[k], 0, k == 1 ? UINT_MAX : INT64_MAX,
			    &v[k], why, whylen))
			return PL_EOUTPUT;
	pg->page = (unsigned long)v[0];
	pg->pass = (unsigned)v[1];
	pg->items = (unsigned long)v[2];
	pg->duplicates = (unsigned long)v[3];
	pg->relisted = (unsigned long)v[4];
	pg->first = (size_t)v[5];
	if(!(news = get_array(o, "new", why, whylen)) ||
	   !(rej = get_array(o, "rejects", why, whylen)))
		return PL_EOUTPUT;
	pg->ntenants = json_object_array_length(news);
	pg->nrejects = json_object_array_length(rej);
	*tenants = calloc(pg->ntenants + 1, sizeof(**tenants));
	*rejects = calloc(pg->nrejects + 1, sizeof(**rejects));
	if(!*tenants || !*rejects)
		return PL_ENOMEM;
	for(size_t i = 0; i < pg->ntenants; i++) {
		struct json_object *row = json_object_array_get_idx(news, i);
		struct listing_tenant *t = &(*tenants)[i];
		const char *id;
		size_t idlen;

		if(!json_object_is_type(row, json_type_array) ||
		   json_object_array_length(row) != 4 ||
		   !cell_str(row, 0, &id, &idlen) || !id ||
		   guid_canonicalize(id, idlen, NULL, t->id) ||
		   !cell_str(row, 1, &t->info.name, NULL) ||
		   !cell_str(row, 2, &t->info.domain, NULL) ||
		   !cell_str(row, 3, &t->info.relationship, NULL)) {
			snprintf(why, whylen, "\"new\" holds something other "
				 "than [tenant, name, domain, relationship]");
			return PL_EOUTPUT;
		}
	}
	for(size_t i = 0; i < pg->nrejects; i++) {
		struct json_object *row = json_object_array_get_idx(rej, i);
		struct json_object *line = json_object_array_get_idx(row, 0);
		struct listing_reject *r = &(*rejects)[i];

		if(!json_object_is_type(row, json_type_array) ||
		   json_object_array_length(row) != 3 ||
		   !json_object_is_type(line, json_type_int) ||
		   json_object_get_int64(line) < 1 ||
		   !cell_str(row, 1, &r->value, &r->value_len) ||
		   !cell_str(row, 2, &r->reason, NULL) || !r->reason) {
			snprintf(why, whylen, "\"rejects\" holds something "
				 "other than [line, value, reason]");
			return PL_EOUTPUT;
		}
		r->line = (unsigned long)json_object_get_int64(line);
	}
	pg->tenants = *tenants;
	pg->rejects = *rejects;
	return PL_OK;
}

/* A page line of a resumed listing: handed to the replay hook, which
 * adds its tenants; then the offsets cover them. */
static enum pl_status replay_page(struct journal *j, struct json_object *o,
				  size_t lineno, struct pl_err *err)
{
	struct listing_page pg;
	struct listing_tenant *tenants = NULL;
	struct listing_reject *rejects = NULL;
	enum pl_status st;
	struct pl_err inner;
	char why[200];

	st = read_page(o, &pg, &tenants, &rejects, why, sizeof(why));
	if(st == PL_ENOMEM) {
		st = oom(err);
		goto out;
	}
	if(st) {
		st = corrupt(j, lineno, why, err);
		goto out;
	}
	if(pg.first != j->count) {
		snprintf(why, sizeof(why), "its tenants start at %zu, not %zu",
			 pg.first, j->count);
		st = corrupt(j, lineno, why, err);
		goto out;
	}
	st = j->listing->replay(j->listing->ctx, &pg, &inner);
	if(st == PL_ENOMEM) {
		*err = inner;
		goto out;
	}
	if(st) {
		st = corrupt(j, lineno, inner.msg, err);
		goto out;
	}
	if(ensure_count(j))
		st = oom(err);
	else if(j->count != pg.first + pg.ntenants)
		st = pl_fail(err, PL_EINTERNAL, "journal %s line %zu: %zu "
			     "tenants after the page, not %zu", j->path,
			     lineno, j->count, pg.first + pg.ntenants);
out:
	free(tenants);
	free(rejects);
	return st;
}

/* A record line after line 1, whichever kind it is. */
static enum pl_status scan_record(struct journal *j, struct json_object *o,
				  size_t lineno, uint64_t pos,
				  struct pl_err *err)
{
	struct json_object *v, *end = NULL;
	bool is_page = json_object_object_get_ex(o, "page", &v);
	struct pl_err why;
	size_t index = 0;
	enum pl_status st;

	if(is_page || json_object_object_get_ex(o, "end", &end)) {
		if(!j->listing)
			return corrupt(j, lineno, "a record of a listing in "
				       "the journal of a file", err);
		if(j->listing_done)
			return corrupt(j, lineno, "a listing record after the "
				       "end of the list", err);
		if(is_page)
			return replay_page(j, o, lineno, err);
		if(!json_object_is_type(end, json_type_string) ||
		   strcmp(json_object_get_string(end), "listing"))
			return corrupt(j, lineno, "\"end\" is not \"listing\"",
				       err);
		j->listing_done = true;
		return PL_OK;
	}
	st = read_record(j, o, &index, NULL, &why);
	if(st)
		return at_line(j, lineno, st, &why, err);
	if(j->offsets[index] == NOT_DONE)
		j->resumed++;
	j->offsets[index] = pos;
	return PL_OK;
}

/*
 * Read an existing journal: check its identity, note the offset of every
 * record, and find where the good part ends (*good_end; 0 when not even
 * the identity line survived, *corr is then left alone). The last line
 * may be torn (no newline, or not JSON): it is left out. Anything else
 * that is wrong refuses the file. A tenant recorded twice keeps its last
 * record (the pipeline never appends one twice, but a journal cut and
 * resumed by hand might).
 */
static enum pl_status scan(struct journal *j, uint64_t size,
			   const struct journal_identity *id,
			   char corr[GUID_STR_LEN + 1], uint64_t *good_end,
			   struct pl_err *err)
{
	enum pl_status st = PL_OK;
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	uint64_t pos = 0;
	ssize_t n;
	FILE *f;
	int fd = dup(j->fd);

	f = fd < 0 ? NULL : fdopen(fd, "r");
	if(!f) {
		st = pl_fail(err, PL_EOUTPUT, "cannot read journal %s: %s",
			     j->path, strerror(errno));
		if(fd >= 0)
			close(fd);
		return st;
	}
	while((n = getline(&line, &cap, f)) > 0) {
		bool complete = line[n - 1] == '\n';
		bool last = pos + (uint64_t)n >= size;
		size_t len = (size_t)n - (complete ? 1 : 0);
		struct json_object *o;

		lineno++;
		o = complete ? parse_line(j->tok, line, len) : NULL;
		if(!o && last && (lineno > 1 || torn_identity(line, len)))
			break; /* torn: dropped */
		if(!o && lineno == 1) {
			st = pl_fail(err, PL_EUSAGE,
				     "%s is not a qualreport journal",
				     j->path);
			break;
		}
		if(!o) {
			st = corrupt(j, lineno, "not a JSON object", err);
			break;
		}
		if(lineno == 1)
			st = check_identity(j, o, id, corr, err);
		else
			st = scan_record(j, o, lineno, pos, err);
		json_object_put(o);
		if(st)
			break;
		pos += (uint64_t)n;
	}
	if(!st && n < 0 && ferror(f))
		st = pl_fail(err, PL_EOUTPUT, "cannot read journal %s line "
			     "%zu: %s", j->path, lineno + 1, strerror(errno));
	free(line);
	fclose(f);
	*good_end = pos;
	return st;
}

/* Write the identity line of a fresh journal and make it durable. */
static enum pl_status start_new(struct journal *j,
				struct journal_identity *id,
				struct pl_err *err)
{
	struct json_object *o;
	enum pl_status st;

	if(!id->correlation_id[0])
		ids_new_correlation(id->correlation_id);
	o = identity_json(id, j->listing, j->count);
	if(!o || add_json(j, o)) {
		json_object_put(o);
		return oom(err);
	}
	json_object_put(o);
	st = write_out(j, true, err);
	if(!st)
		sync_dir(j->path);
	return st;
}

static enum pl_status open_journal(const char *path,
				   struct journal_identity *id,
				   const struct journal_listing *listing,
				   const struct tenantset *tenants,
				   struct journal **out, struct pl_err *err)
{
	enum pl_status st = PL_OK;
	struct journal *j;
	struct stat sb;
	uint64_t good_end = 0;
	char corr[GUID_STR_LEN + 1] = "";

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if(!j)
		return oom(err);
	j->fd = -1;
	buf_init(&j->out, 0);
	buf_init(&j->line, 0);
	j->tenants = tenants;
	j->listing = listing;
	j->count = tenantset_count(tenants);
	j->offsets_cap = j->count ? j->count : 1;
	j->path = strdup(path);
	j->offsets = malloc(j->offsets_cap * sizeof(*j->offsets));
	j->tok = json_tokener_new();
	if(!j->path || !j->offsets || !j->tok) {
		st = oom(err);
		goto out;
	}
	json_tokener_set_flags(j->tok, JSON_TOKENER_STRICT);
	for(size_t i = 0; i < j->count; i++)
		j->offsets[i] = NOT_DONE;

	/* O_RDWR, not O_WRONLY: resuming and journal_load read it back. */
	j->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if(j->fd < 0) {
		st = pl_fail(err, PL_EOUTPUT, "cannot open journal %s: %s",
			     path, strerror(errno));
		goto out;
	}
	/* Two runs appending to one journal would interleave their lines.
	 * Best effort: a file system without flock just goes unlocked. */
	if(flock(j->fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
		st = pl_fail(err, PL_EUSAGE, "journal %s is in use by another "
			     "run", path);
		goto out;
	}
	if(fstat(j->fd, &sb) != 0) {
		st = pl_fail(err, PL_EOUTPUT, "cannot read journal %s: %s",
			     path, strerror(errno));
		goto out;
	}
	if(sb.st_size > 0) {
		st = scan(j, (uint64_t)sb.st_size, id, corr, &good_end, err);
		if(st)
			goto out;
	}
	if(good_end < (uint64_t)sb.st_size) {
		log_warn("journal %s: dropping a torn last line (%" PRIu64
			 " bytes)", path, (uint64_t)sb.st_size - good_end);
		if(ftruncate(j->fd, (off_t)good_end) != 0) {
			st = fail_write(j, errno, err);
			goto out;
		}
		j->dirty = true;
	}
	j->end = good_end;
	if(good_end == 0) {
		/* Empty, or only a torn identity line: a new journal. */
		st = start_new(j, id, err);
	} else {
		memcpy(id->correlation_id, corr, sizeof(corr));
	}
out:
	if(st) {
		/* Nothing half-open leaks, nothing more is written, and the
		 * error in err is kept. */
		buf_reset(&j->out);
		j->dirty = false;
		journal_close(j, NULL);
		return st;
	}
	/* The batching timer starts now, not before a long resume scan. */
	j->last_write_ms = j->last_sync_ms = now_mono_ms();
	*out = j;
	return PL_OK;
}

enum pl_status journal_open(const char *path, struct journal_identity *id,
			    const struct tenantset *tenants,
			    struct journal **out, struct pl_err *err)
{
	return open_journal(path, id, NULL, tenants, out, err);
}

enum pl_status journal_open_listing(const char *path,
				    struct journal_identity *id,
				    const struct journal_listing *listing,
				    const struct tenantset *tenants,
				    struct journal **out, struct pl_err *err)
{
	*out = NULL;
	if(!listing || !listing->what || !listing->replay)
		return pl_fail(err, PL_EINTERNAL, "journal %s: a listing "
			       "without its description or replay", path);
	return open_journal(path, id, listing, tenants, out, err);
}

size_t journal_resumed(const struct journal *j)
{
	return j->resumed;
}

bool journal_is_done(const struct journal *j, size_t index)
{
	return index < j->count && j->offsets[index] != NOT_DONE;
}

/*
 * The 1-based line of the record at byte off, for messages: the newlines
 * before it in the file, and in `out` for a record not written yet. 0
 * when the file cannot tell (a read error).
 */
static size_t line_of(struct journal *j, uint64_t off)
{
	char chunk[4096];
	uint64_t in_file = off < j->end ? off : j->end, at = 0;
	size_t lines = 1;

	while(at < in_file) {
		size_t want = in_file - at < sizeof(chunk)
			      ? (size_t)(in_file - at) : sizeof(chunk);
		ssize_t r = pread(j->fd, chunk, want, (off_t)at);

		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0)
			return 0;
		for(ssize_t k = 0; k < r; k++)
			lines += chunk[k] == '\n';
		at += (uint64_t)r;
	}
	for(size_t k = 0; off > j->end && k < off - j->end; k++)
		lines += j->out.data[k] == '\n';
	return lines;
}

/* "line N" of the record at off, or "at byte B" when N is unknown. */
static void where(struct journal *j, uint64_t off, char *out, size_t len)
{
	size_t lineno = line_of(j, off);

	if(lineno)
		snprintf(out, len, "line %zu", lineno);
	else
		snprintf(out, len, "at byte %" PRIu64, off);
}

/*
 * Point *line at the record starting at off (the file, or `out` for a
 * record not written yet), *len without its newline. A failing read, or
 * a file that ends inside the record, is PL_EOUTPUT naming the line.
 */
static enum pl_status read_line(struct journal *j, uint64_t off,
				const char **line, size_t *len,
				struct pl_err *err)
{
	char chunk[4096], place[48];
	const char *nl;

	if(off >= j->end) {
		size_t at = (size_t)(off - j->end);

		nl = at < j->out.len ? memchr(j->out.data + at, '\n',
					      j->out.len - at)
				     : NULL;
		if(!nl)
			return pl_fail(err, PL_EINTERNAL, "journal %s: lost "
				       "the record at byte %" PRIu64, j->path,
				       off);
		*line = j->out.data + at;
		*len = (size_t)(nl - *line);
		return PL_OK;
	}
	/* A long line is read in pieces; the buffer keeps its memory for
	 * the next record unless one huge record grew it. */
	buf_trim(&j->line, 1u << 20);
	for(;;) {
		ssize_t r;

		r = pread(j->fd, chunk, sizeof(chunk),
			  (off_t)(off + j->line.len));
		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0) {
			int e = errno;

			where(j, off, place, sizeof(place));
			return pl_fail(err, PL_EOUTPUT, "cannot read journal "
				       "%s %s: %s", j->path, place, r < 0
				       ? strerror(e)
				       : "the file ends inside the record");
		}
		nl = memchr(chunk, '\n', (size_t)r);
		if(buf_add(&j->line, chunk, nl ? (size_t)(nl - chunk)
					       : (size_t)r))
			return oom(err);
		if(nl) {
			*line = j->line.data;
			*len = j->line.len;
			return PL_OK;
		}
	}
}

enum pl_status journal_load(struct journal *j, size_t index,
			    struct tenant_record *rec, struct pl_err *err)
{
	enum pl_status st;
	struct json_object *o;
	const char *line = NULL;
	size_t len = 0, got = SIZE_MAX, lineno;
	struct pl_err why;

	tenant_record_release(rec);
	if(!journal_is_done(j, index))
		return pl_fail(err, PL_EINTERNAL, "journal %s has no record "
			       "for tenant %zu", j->path, index);
	st = read_line(j, j->offsets[index], &line, &len, err);
	if(st)
		return st;
	/*
	 * Every record was checked when the journal was opened, so one that
	 * is unusable now was changed under the run: the same PL_EOUTPUT
	 * and words as at open. The line number is counted only then.
	 */
	o = parse_line(j->tok, line, len);
	if(!o) {
		pl_fail(&why, PL_EOUTPUT, "is corrupt: not a JSON object");
		st = PL_EOUTPUT;
	} else {
		st = read_record(j, o, &got, rec, &why);
		if(!st && got != index)
			st = pl_fail(&why, PL_EOUTPUT, "is corrupt: it holds "
				     "tenant %zu, not %zu", got, index);
		json_object_put(o);
	}
	if(st) {
		tenant_record_release(rec);
		lineno = line_of(j, j->offsets[index]);
		if(lineno)
			return at_line(j, lineno, st, &why, err);
		return pl_fail(err, st, "journal %s record at byte %" PRIu64
			       " %s", j->path, j->offsets[index], why.msg);
	}
	return PL_OK;
}

enum pl_status journal_append(struct journal *j, size_t index,
			      const struct tenant_record *rec,
			      struct pl_err *err)
{
	char canon[GUID_STR_LEN + 1];
	struct json_object *o;
	uint64_t off;

	/* A wrong pair would make the journal refuse the next resume. */
	if(index >= j->count && j->listing && ensure_count(j))
		return oom(err);
	if(index >= j->count)
		return pl_fail(err, PL_EINTERNAL, "journal record index %zu "
			       "out of range (%zu tenants)", index, j->count);
	guid_format(tenantset_get(j->tenants, index), canon);
	if(strcmp(rec->tenant_id, canon) != 0)
		return pl_fail(err, PL_EINTERNAL, "journal record for tenant "
			       "%s at index %zu, which is %s", rec->tenant_id,
			       index, canon);
	o = record_json(index, rec);
	off = j->end + j->out.len;
	if(!o || add_json(j, o)) {
		json_object_put(o);
		return oom(err);
	}
	json_object_put(o);
	j->offsets[index] = off;
	j->pending++;
	if(j->pending >= JOURNAL_BATCH || j->out.len >= BUF_FLUSH_BYTES ||
	   now_mono_ms() - j->last_write_ms >= JOURNAL_FLUSH_MS)
		return write_out(j, false, err);
	return PL_OK;
}

enum pl_status journal_append_page(struct journal *j,
				   const struct listing_page *page,
				   struct pl_err *err)
{
	struct json_object *o;

	if(!j->listing)
		return pl_fail(err, PL_EINTERNAL, "journal %s: a listing page "
			       "in the journal of a file", j->path);
	if(page && page->first != j->count)
		return pl_fail(err, PL_EINTERNAL, "journal %s: page tenants "
			       "start at %zu, not %zu", j->path, page->first,
			       j->count);
	if(page) {
		o = page_json(page);
	} else {
		o = json_object_new_object();
		if(o && !put(o, "end", json_object_new_string("listing"),
			     true))
			o = NULL; /* put() released it */
	}
	if(!o || add_json(j, o)) {
		json_object_put(o);
		return oom(err);
	}
	json_object_put(o);
	if(ensure_count(j))
		return oom(err);
	if(!page)
		j->listing_done = true;
	j->pending++;
	if(!page || j->pending >= JOURNAL_BATCH ||
	   j->out.len >= BUF_FLUSH_BYTES ||
	   now_mono_ms() - j->last_write_ms >= JOURNAL_FLUSH_MS)
		return write_out(j, false, err);
	return PL_OK;
}

bool journal_is_listing_complete(const struct journal *j)
{
	return j && j->listing_done;
}

enum pl_status journal_flush(struct journal *j, bool sync,
			     struct pl_err *err)
{
	return write_out(j, sync, err);
}

enum pl_status journal_close(struct journal *j, struct pl_err *err)
{
	enum pl_status st = PL_OK;

	if(!j)
		return PL_OK;
	if(j->fd >= 0) {
		st = write_out(j, true, err);
		if(close(j->fd) != 0 && !st)
			st = fail_write(j, errno, err);
	}
	json_tokener_free(j->tok);
	buf_release(&j->line);
	buf_release(&j->out);
	free(j->offsets);
	free(j->path);
	free(j);
	return st;
}
