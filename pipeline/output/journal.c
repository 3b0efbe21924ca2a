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
	size_t count;
	/* Per tenant: byte offset of its record line, NOT_DONE if none.
	 * Offsets past `end` point into out (appended, not yet written). */
	uint64_t *offsets;
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
					 size_t count)
{
	struct json_object *o = json_object_new_object();
	bool ok = o;

	ok = ok && put(o, "qualreport_journal", json_object_new_int(1), true);
	ok = ok && put(o, "input_sha256",
		       json_object_new_string(id->input_sha256), true);
	ok = ok && put(o, "fingerprint",
		       json_object_new_string(id->fingerprint), true);
	ok = ok && put(o, "correlation_id",
		       json_object_new_string(id->correlation_id), true);
	ok = ok && put(o, "tenants", json_object_new_int64((int64_t)count),
		       true);
	if(!ok) {
		json_object_put(o);
		return NULL;
	}
	return o;
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

/* A torn first line: what a crash while writing the identity leaves. */
static bool torn_identity(const char *line, size_t len)
{
	size_t m = sizeof(magic) - 1;

	return memcmp(line, magic, len < m ? len : m) == 0;
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
	size_t cap = 0, lineno = 0, index = 0;
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
		if(lineno == 1) {
			st = check_identity(j, o, id, corr, err);
		} else {
			struct pl_err why;

			st = read_record(j, o, &index, NULL, &why);
			if(st)
				at_line(j, lineno, st, &why, err);
			else if(j->offsets[index] == NOT_DONE)
				j->resumed++;
			if(!st)
				j->offsets[index] = pos;
		}
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
	o = identity_json(id, j->count);
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

enum pl_status journal_open(const char *path, struct journal_identity *id,
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
	j->count = tenantset_count(tenants);
	j->path = strdup(path);
	j->offsets = malloc((j->count ? j->count : 1) * sizeof(*j->offsets));
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
