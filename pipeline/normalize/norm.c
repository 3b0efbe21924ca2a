#include "norm.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "civil.h"

/*
 * Nesting the tokener allows. A real body needs 3 (wrapper, list,
 * entry); the limit only keeps a hostile [[[[... from costing memory.
 * json-c's tokener is iterative, so this is not about the C stack.
 */
#define PARSE_DEPTH 64
/* Bytes of the body quoted in a "malformed JSON" reason. */
#define SNIPPET_MAX 24
/* Longest API error text kept (the API caps description at 1024). */
#define API_TEXT_MAX 1024
/* Room for any reason norm composes itself. */
#define WHY_MAX NORM_WHY_MAX
/* Longer than any RFC 3339 date-time norm_date converts. */
#define DATE_MAX 64

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

/* Free the rows and error of rec, keeping the caller's fields. */
static void clear_answer(struct tenant_record *rec)
{
	char tenant_id[sizeof(rec->tenant_id)];
	char request_id[sizeof(rec->request_id)];
	long http_status = rec->http_status;
	unsigned attempts = rec->attempts;

	memcpy(tenant_id, rec->tenant_id, sizeof(tenant_id));
	memcpy(request_id, rec->request_id, sizeof(request_id));
	tenant_record_release(rec);
	memcpy(rec->tenant_id, tenant_id, sizeof(tenant_id));
	memcpy(rec->request_id, request_id, sizeof(request_id));
	rec->http_status = http_status;
	rec->attempts = attempts;
}

static enum pl_status oom(struct tenant_record *rec, struct pl_err *err)
{
	clear_answer(rec);
	return pl_fail(err, PL_ENOMEM, "out of memory normalizing the answer "
		       "for tenant %s", rec->tenant_id);
}

/*
 * Make rec exactly one row (qualification NULL, status) with error and
 * outcome. On ENOMEM rec is left without rows.
 */
static enum pl_status single_row(struct tenant_record *rec,
				 const char *status, const char *error,
				 enum tenant_outcome outcome,
				 struct pl_err *err)
{
	clear_answer(rec);
	if(tenant_record_add_row(rec, NULL, status, NULL, NULL, NULL) ||
	   tenant_record_set_error(rec, error, NULL))
		return oom(rec, err);
	rec->outcome = outcome;
	return PL_OK;
}

static bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/*
 * Skip white space and complete comments from p[i]; returns the index of
 * the first other byte (n when none). *open is set when the bytes end
 * inside a block comment.
 */
static size_t skip_filler(const char *p, size_t n, size_t i, bool *open)
{
	*open = false;
	for(;;) {
		while(i < n && is_ws((unsigned char)p[i]))
			i++;
		if(i + 1 >= n || p[i] != '/')
			return i;
		if(p[i + 1] == '/') {
			const char *nl = memchr(p + i, '\n', n - i);

			if(!nl)
				return n;
			i = (size_t)(nl - p) + 1;
		} else if(p[i + 1] == '*') {
			size_t j = i + 2;

			while(j + 1 < n && !(p[j] == '*' && p[j + 1] == '/'))
				j++;
			if(j + 1 >= n) {
				*open = true;
				return n;
			}
			i = j + 2;
		} else {
			return i;
		}
	}
}

/* " near '<up to SNIPPET_MAX bytes>'", control and non-ASCII as '?'. */
static void snippet(char *dst, size_t dstlen, const char *p, size_t n,
		    size_t at)
{
	char s[SNIPPET_MAX + 1];
	size_t k = 0;

	for(; at < n && k < SNIPPET_MAX; at++, k++) {
		unsigned char c = (unsigned char)p[at];

		s[k] = (c < 0x20 || c >= 0x7F) ? '?' : (char)c;
	}
	s[k] = '\0';
	if(k)
		snprintf(dst, dstlen, " near '%s'", s);
	else
		dst[0] = '\0';
}

/* Fill why with "malformed JSON: <what> at offset N near '...'". */
static void malformed(char *why, const char *what, const char *body,
		      size_t len, size_t at)
{
	char near[SNIPPET_MAX + 16];

	snippet(near, sizeof(near), body, len, at);
	snprintf(why, WHY_MAX, "malformed JSON: %s at offset %zu%s", what, at,
		 near);
}

static const char *type_word(struct json_object *o)
{
	switch(json_object_get_type(o)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_double:
	case json_type_int:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	}
	return "value";
}

/*
 * Parse exactly len bytes of body (a leading BOM skipped) into *out (NULL
 * for JSON null). A body that is not one JSON value leaves why (WHY_MAX
 * bytes, else "") with a short, printable reason. PL_ENOMEM when the
 * tokener cannot be allocated. A body of only white space and comments
 * is "empty"; one over max bytes is not parsed.
 */
static enum pl_status parse_limited(const char *body, size_t len, size_t max,
				    struct json_object **out, char *why)
{
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;
	enum json_tokener_error jerr;
	size_t start = 0, end;
	bool open;

	*out = NULL;
	why[0] = '\0';
	if(len > max) {
		snprintf(why, WHY_MAX, "body larger than %zu MiB",
			 max / (1024 * 1024));
		return PL_OK;
	}
	if(len >= sizeof(bom) && !memcmp(body, bom, sizeof(bom)))
		start = sizeof(bom);
	if(skip_filler(body, len, start, &open) == len && !open) {
		snprintf(why, WHY_MAX, "unexpected body: empty");
		return PL_OK;
	}
	/*
	 * A fresh tokener per call: measured, reusing one saves ~0.2 us of
	 * the ~2 us a typical body takes, not worth a never-freed static.
	 */
	tok = json_tokener_new_ex(PARSE_DEPTH);
	if(!tok)
		return PL_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, body + start, (int)(len - start));
	jerr = json_tokener_get_error(tok);
	end = start + json_tokener_get_parse_end(tok);
	if(jerr == json_tokener_continue) {
		/*
		 * All bytes taken and no value yet. A bare scalar (123,
		 * true) and a // comment end only at a delimiter, so offer
		 * one newline: what is still not done then was cut short.
		 */
		obj = json_tokener_parse_ex(tok, "\n", 1);
		jerr = json_tokener_get_error(tok);
		if(jerr != json_tokener_success) {
			snprintf(why, WHY_MAX, "truncated JSON");
			goto out;
		}
		end = len;
	} else if(jerr != json_tokener_success) {
		if(end < len && body[end] == '\0')
			snprintf(why, WHY_MAX,
				 "malformed JSON: NUL byte at offset %zu", end);
		else
			malformed(why, json_tokener_error_desc(jerr), body,
				  len, end);
		goto out;
	}
	end = skip_filler(body, len, end, &open);
	if(open) {
		snprintf(why, WHY_MAX, "truncated JSON");
		goto out;
	}
	if(end < len) {
		malformed(why, "trailing data", body, len, end);
		goto out;
	}
	*out = obj;
	obj = NULL;
out:
	json_object_put(obj);
	json_tokener_free(tok);
	return PL_OK;
}

static enum pl_status parse_body(const char *body, size_t len,
				 struct json_object **out, char *why)
{
	return parse_limited(body, len, NORM_MAX_BODY, out, why);
}

enum pl_status norm_parse_json(const char *body, size_t len, size_t max,
			       struct json_object **out,
			       char why[NORM_WHY_MAX])
{
	enum pl_status st = parse_limited(body, len, max, out, why);

	if(st) {
		snprintf(why, WHY_MAX, "out of memory");
		return st;
	}
	return why[0] ? PL_EFORMAT : PL_OK;
}

/* The member of object o whose key equals name ignoring case, or NULL. */
static struct json_object *get_ci(struct json_object *o, const char *name,
				  bool *found)
{
	struct json_object_iterator it = json_object_iter_begin(o);
	struct json_object_iterator stop = json_object_iter_end(o);
	struct json_object *val = NULL;

	if(found)
		*found = false;
	/* Last match wins, as with json-c's own duplicate keys. */
	for(; !json_object_iter_equal(&it, &stop);
	    json_object_iter_next(&it)) {
		if(!strcasecmp(json_object_iter_peek_name(&it), name)) {
			val = json_object_iter_peek_value(&it);
			if(found)
				*found = true;
		}
	}
	return val;
}

/* Copy s (n bytes) with control bytes as spaces, at most max bytes. */
static char *sanitized_copy(const char *s, size_t n, size_t max)
{
	char *copy;

	if(n > max) {
		n = max;
		/* Do not split a UTF-8 sequence. */
		while(n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	copy = malloc(n + 1);
	if(!copy)
		return NULL;
	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		copy[i] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
	}
	copy[n] = '\0';
	return copy;
}

/* A non-empty string member's text and length, else NULL. */
static const char *str_member(struct json_object *o, const char *name,
			      size_t *n)
{
	struct json_object *v = get_ci(o, name, NULL);

	if(!json_object_is_type(v, json_type_string) ||
	   !json_object_get_string_len(v))
		return NULL;
	*n = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/*
 * The API error text of a parsed body (see norm_api_error) in *text, NULL
 * when there is none. PL_ENOMEM (no message: the caller knows whose body
 * it was).
 */
static enum pl_status api_text(struct json_object *o, char **text)
{
	const char *code = NULL, *desc = NULL, *msg;
	size_t ncode = 0, ndesc = 0, nmsg = 0;
	struct json_object *c;
	char *joined;

	*text = NULL;
	if(json_object_is_type(o, json_type_string)) {
		if(!json_object_get_string_len(o))
			return PL_OK;
		*text = sanitized_copy(json_object_get_string(o),
				       (size_t)json_object_get_string_len(o),
				       API_TEXT_MAX);
		return *text ? PL_OK : PL_ENOMEM;
	}
	if(!json_object_is_type(o, json_type_object))
		return PL_OK;
	c = get_ci(o, "code", NULL);
	/* A number as json-c prints it (a double as the body spelled it). */
	if(json_object_is_type(c, json_type_int) ||
	   json_object_is_type(c, json_type_double)) {
		code = json_object_get_string(c);
		ncode = strlen(code);
	} else {
		code = str_member(o, "code", &ncode);
	}
	desc = str_member(o, "description", &ndesc);
	if(!code && !desc) {
		/* The 429 shape {statusCode, message}. */
		msg = str_member(o, "message", &nmsg);
		if(!msg)
			return PL_OK;
		*text = sanitized_copy(msg, nmsg, API_TEXT_MAX);
	} else if(!code || !desc) {
		*text = code ? sanitized_copy(code, ncode, API_TEXT_MAX)
			     : sanitized_copy(desc, ndesc, API_TEXT_MAX);
	} else {
		joined = malloc(ncode + 2 + ndesc + 1);
		if(!joined)
			return PL_ENOMEM;
		memcpy(joined, code, ncode);
		memcpy(joined + ncode, ": ", 2);
		memcpy(joined + ncode + 2, desc, ndesc);
		*text = sanitized_copy(joined, ncode + 2 + ndesc,
				       API_TEXT_MAX);
		free(joined);
	}
	return *text ? PL_OK : PL_ENOMEM;
}

enum pl_status norm_api_error(const char *body, size_t len, char **text,
			      struct pl_err *err)
{
	struct json_object *o;
	char why[WHY_MAX];
	enum pl_status st;

	*text = NULL;
	if(!body)
		return PL_OK;
	st = parse_body(body, len, &o, why);
	if(!st && !why[0]) {
		st = api_text(o, text);
		json_object_put(o);
	}
	if(st)
		return pl_fail(err, st, "out of memory reading an API error");
	return PL_OK;
}

/* Entry keys, matched ignoring case; names as used in reasons. */
enum field { F_QUAL, F_STATUS, F_REASON, F_DATE, F_NFIELDS };

static const struct {
	const char *key;
	enum field field;
} entry_keys[] = {
	{ "qualification", F_QUAL },
	{ "vettingStatus", F_STATUS },
	{ "vettingReason", F_REASON },
	{ "vettingCreatedDate", F_DATE },
	{ "vettingCreateDate", F_DATE },
};

/*
 * Add the row of entry number idx (1-based); a "None" placeholder adds
 * nothing. A wrong shape fills why and adds nothing. PL_ENOMEM.
 */
static enum pl_status add_entry(struct tenant_record *rec,
				struct json_object *e, size_t idx, char *why)
{
	const char *val[F_NFIELDS] = { NULL };
	struct json_object_iterator it, stop;
	char date[DATE_MAX];
	const char *dateout = NULL;

	if(!json_object_is_type(e, json_type_object)) {
		snprintf(why, WHY_MAX,
			 "unexpected body: entry %zu is not an object", idx);
		return PL_OK;
	}
	it = json_object_iter_begin(e);
	stop = json_object_iter_end(e);
	for(; !json_object_iter_equal(&it, &stop);
	    json_object_iter_next(&it)) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);

		for(size_t k = 0; k < sizeof(entry_keys) / sizeof(*entry_keys);
		    k++) {
			if(strcasecmp(name, entry_keys[k].key))
				continue;
			if(v && !json_object_is_type(v, json_type_string)) {
				snprintf(why, WHY_MAX,
					 "unexpected body: entry %zu %s is "
					 "not a string", idx,
					 entry_keys[k].key);
				return PL_OK;
			}
			/* Later duplicates win, null clears. */
			val[entry_keys[k].field] =
				v ? json_object_get_string(v) : NULL;
		}
	}
	if(!val[F_QUAL] || !*val[F_QUAL]) {
		snprintf(why, WHY_MAX, "unexpected body: entry %zu has no "
			 "qualification", idx);
		return PL_OK;
	}
	if(!strcasecmp(val[F_QUAL], "None") &&
	   !(val[F_STATUS] && *val[F_STATUS]) &&
	   !(val[F_REASON] && *val[F_REASON]) &&
	   !(val[F_DATE] && *val[F_DATE]))
		return PL_OK;
	if(val[F_DATE]) {
		/* No date norm_date converts is this long: keep it. */
		if(strlen(val[F_DATE]) < sizeof(date)) {
			norm_date(val[F_DATE], date, sizeof(date));
			dateout = date;
		} else {
			dateout = val[F_DATE];
		}
	}
	if(tenant_record_add_row(rec, val[F_QUAL], val[F_STATUS],
				 val[F_REASON], dateout, NULL))
		return PL_ENOMEM;
	return PL_OK;
}

/* Rows of a parsed list, up to the first entry of the wrong shape (why
 * filled then). PL_ENOMEM. */
static enum pl_status add_list(struct tenant_record *rec,
			       struct json_object *list, char *why)
{
	size_t n = json_object_array_length(list);
	enum pl_status st = PL_OK;

	for(size_t i = 0; i < n && !st && !why[0]; i++)
		st = add_entry(rec, json_object_array_get_idx(list, i), i + 1,
			       why);
	return st;
}

/*
 * Rows of a 2xx body already parsed. A body that is no answer fills why,
 * or *apierr with the API's own error text. PL_ENOMEM.
 */
static enum pl_status add_body(struct tenant_record *rec,
			       struct json_object *o, char *why, char **apierr)
{
	struct json_object *list;
	enum pl_status st;
	bool found;

	if(json_object_is_type(o, json_type_array))
		return add_list(rec, o, why);
	if(!json_object_is_type(o, json_type_object)) {
		snprintf(why, WHY_MAX, "unexpected body: top-level %s",
			 type_word(o));
		return PL_OK;
	}
	list = get_ci(o, "qualifications", &found);
	if(found) {
		if(!list)
			return PL_OK;
		if(!json_object_is_type(list, json_type_array)) {
			snprintf(why, WHY_MAX, "unexpected body: "
				 "qualifications is not a list");
			return PL_OK;
		}
		return add_list(rec, list, why);
	}
	if(!json_object_object_length(o))
		return PL_OK;
	/* The POST reply's shape: one entry, not wrapped in a list. */
	get_ci(o, "qualification", &found);
	if(found)
		return add_entry(rec, o, 1, why);
	st = api_text(o, apierr);
	if(!st && !*apierr)
		snprintf(why, WHY_MAX, "unexpected body: object without "
			 "qualifications");
	return st;
}

static enum pl_status answer_2xx(long http_status, const char *body,
				 size_t len, struct tenant_record *rec,
				 struct pl_err *err)
{
	struct json_object *o = NULL;
	char why[WHY_MAX];
	char *apierr = NULL;
	enum pl_status st;

	if(http_status == 204)
		return single_row(rec, "None", NULL, OUTCOME_ANSWERED, err);
	if(parse_body(body, len, &o, why))
		return oom(rec, err);
	if(why[0])
		return single_row(rec, "Error", why, OUTCOME_FAILED, err);
	st = add_body(rec, o, why, &apierr);
	json_object_put(o);
	if(st)
		return oom(rec, err);
	if(apierr || why[0]) {
		st = single_row(rec, "Error", apierr ? apierr : why,
				OUTCOME_FAILED, err);
		free(apierr);
		return st;
	}
	if(!rec->nrows)
		return single_row(rec, "None", NULL, OUTCOME_ANSWERED, err);
	rec->outcome = OUTCOME_ANSWERED;
	return PL_OK;
}

static const struct {
	long status;
	const char *phrase;
} phrases[] = {
	{ 100, "Continue" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 415, "Unsupported Media Type" },
	{ 417, "Expectation Failed" },
	{ 422, "Unprocessable Content" },
	{ 429, "Too Many Requests" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
};

const char *norm_status_phrase(long http_status)
{
	for(size_t i = 0; i < sizeof(phrases) / sizeof(*phrases); i++)
		if(phrases[i].status == http_status)
			return phrases[i].phrase;
	return NULL;
}

enum pl_status norm_answer(long http_status, const char *body, size_t len,
			   struct tenant_record *rec, struct pl_err *err)
{
	char fallback[WHY_MAX];
	char *apierr;
	enum pl_status st;

	if(!body)
		len = 0;
	clear_answer(rec);
	if(http_status >= 200 && http_status <= 299)
		return answer_2xx(http_status, body, len, rec, err);
	if(norm_api_error(body, len, &apierr, NULL))
		return oom(rec, err);
	if(http_status == 404) {
		st = single_row(rec, "NotFound", apierr, OUTCOME_NOT_FOUND,
				err);
		free(apierr);
		return st;
	}
	if(!apierr) {
		const char *phrase = norm_status_phrase(http_status);

		if(phrase)
			snprintf(fallback, sizeof(fallback), "HTTP %ld %s",
				 http_status, phrase);
		else
			snprintf(fallback, sizeof(fallback), "HTTP %ld",
				 http_status);
	}
	st = single_row(rec, "Error", apierr ? apierr : fallback,
			OUTCOME_FAILED, err);
	free(apierr);
	return st;
}

enum pl_status norm_failure(const char *reason, struct tenant_record *rec,
			    struct pl_err *err)
{
	enum pl_status st;
	char *text = NULL;

	if(reason && *reason) {
		text = sanitized_copy(reason, strlen(reason), API_TEXT_MAX);
		if(!text)
			return oom(rec, err);
	}
	st = single_row(rec, "Error", text ? text : "fetch failed",
			OUTCOME_FAILED, err);
	free(text);
	return st;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;

	for(int i = 0; i < n; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static unsigned month_days(int y, int m)
{
	static const unsigned char mdays[12] = { 31, 28, 31, 30, 31, 30,
						 31, 31, 30, 31, 30, 31 };
	int leap = civil_is_leap(y);

	return (unsigned)mdays[m - 1] + (m == 2 && leap ? 1u : 0u);
}

/*
 * Convert an RFC 3339 date-time to UTC "Z" form in out (outlen bytes).
 * False when in is not one or the result does not fit.
 */
static bool to_utc(const char *in, char *out, size_t outlen)
{
	int y, mo, d, h, mi, s, oh = 0, om = 0, sign = 0, w;
	const char *frac, *p;
	int nfrac = 0;
	int64_t minutes, days, yy;
	unsigned um, ud;

	/* Fields are read left to right, so no read passes the NUL. */
	if((y = digits(in, 4)) < 0 || in[4] != '-' ||
	   (mo = digits(in + 5, 2)) < 0 || in[7] != '-' ||
	   (d = digits(in + 8, 2)) < 0 ||
	   (in[10] != 'T' && in[10] != 't' && in[10] != ' ') ||
	   (h = digits(in + 11, 2)) < 0 || in[13] != ':' ||
	   (mi = digits(in + 14, 2)) < 0 || in[16] != ':' ||
	   (s = digits(in + 17, 2)) < 0)
		return false;
	p = in + 19;
	frac = p + 1;
	if(*p == '.') {
		while(frac[nfrac] >= '0' && frac[nfrac] <= '9')
			nfrac++;
		if(nfrac < 1 || nfrac > 9)
			return false;
		p = frac + nfrac;
	}
	if(*p == 'Z' || *p == 'z') {
		p++;
	} else if(*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		if((oh = digits(p + 1, 2)) < 0 || p[3] != ':' ||
		   (om = digits(p + 4, 2)) < 0)
			return false;
		p += 6;
	} else {
		return false; /* no offset: a local time, not an instant */
	}
	if(*p || mo < 1 || mo > 12 || d < 1 ||
	   (unsigned)d > month_days(y, mo) || h > 23 || mi > 59 || s > 60 ||
	   oh > 23 || om > 59)
		return false;
	/*
	 * Shift whole minutes only: the seconds (a leap second's 60 too)
	 * and the fraction stay as written.
	 */
	minutes = civil_days(y, (unsigned)mo, (unsigned)d) * 1440 +
		  h * 60 + mi - sign * (oh * 60 + om);
	days = minutes >= 0 ? minutes / 1440 : -((-minutes + 1439) / 1440);
	minutes -= days * 1440;
	civil_from_days(days, &yy, &um, &ud);
	if(yy < 0 || yy > 9999)
		return false;
	w = snprintf(out, outlen, "%04d-%02u-%02uT%02d:%02d:%02d%s%.*sZ",
		     (int)yy, um, ud, (int)(minutes / 60), (int)(minutes % 60),
		     s, nfrac ? "." : "", nfrac, frac);
	return w > 0 && (size_t)w < outlen;
}

bool norm_date(const char *in, char *out, size_t outlen)
{
	size_t n;

	if(!out || !outlen)
		return false;
	if(!in) {
		out[0] = '\0';
		return false;
	}
	if(to_utc(in, out, outlen))
		return true;
	n = strnlen(in, outlen - 1);
	memcpy(out, in, n);
	out[n] = '\0';
	return false;
}
