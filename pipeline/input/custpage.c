/*
 * custpage.c: a page of the customer list, and the next link's rule.
 * See custpage.h for what is accepted and why.
 */
#include "custpage.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "guid.h"
#include "norm.h"

/* Headers the engine sets itself, or that would change the request or
 * the connection rather than say where the list goes on. */
static const char *const reserved_headers[] = {
	"accept", "accept-encoding", "authorization", "connection",
	"content-length", "cookie", "expect", "host", "keep-alive",
	"ms-correlationid", "ms-requestid", "proxy-authorization",
	"proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
	"user-agent"
};

#define CONTINUATION "MS-ContinuationToken"

/* ---- JSON helpers ------------------------------------------------------ */

/* The member of object o whose key equals name ignoring case (the last
 * one when it appears twice, as json-c keeps the last of a key), or
 * NULL; *found tells an explicit null from an absent key. */
static struct json_object *get_ci(struct json_object *o, const char *name,
				  bool *found)
{
	struct json_object_iterator it, stop;
	struct json_object *val = NULL;

	if(found)
		*found = false;
	if(!json_object_is_type(o, json_type_object))
		return NULL;
	it = json_object_iter_begin(o);
	stop = json_object_iter_end(o);
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

/* A string member's text, or NULL when absent or not a string. */
static const char *get_str(struct json_object *o, const char *name)
{
	struct json_object *v = get_ci(o, name, NULL);

	return json_object_is_type(v, json_type_string)
		? json_object_get_string(v) : NULL;
}

/* ---- URLs -------------------------------------------------------------- */

/* The parts of an absolute http(s) URL that say where it goes. */
struct origin {
	bool https;
	const char *host;          /* without brackets for IPv6 */
	size_t host_len;
	unsigned port;             /* the default one when none is given */
	bool has_user;
	const char *rest;          /* path, query and fragment */
};

static bool is_scheme_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
}

/* Length of a URI's scheme ("https" of "https://..."), 0 when it has
 * none (a relative reference). */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if(!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while(is_scheme_char(s[i]))
		i++;
	return s[i] == ':' ? i : 0;
}

/*
 * Parse the authority at s (after "//") into o, scheme already set; rest
 * points after it. false when it is not one (an empty host, a bad port).
 */
static bool parse_authority(const char *s, struct origin *o)
{
	const char *end = s + strcspn(s, "/?#");
	const char *at, *h = s, *colon = NULL;
	unsigned long port;
	char *stop;

	o->rest = end;
	at = memchr(s, '@', (size_t)(end - s));
	o->has_user = at != NULL;
	if(at)
		h = at + 1;
	if(*h == '[') {
		const char *close = memchr(h, ']', (size_t)(end - h));

		if(!close)
			return false;
		o->host = h + 1;
		o->host_len = (size_t)(close - h - 1);
		if(close + 1 < end) {
			if(close[1] != ':')
				return false;
			colon = close + 1;
		}
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		o->host = h;
		o->host_len = (size_t)((colon ? colon : end) - h);
	}
	if(!o->host_len)
		return false;
	o->port = o->https ? 443 : 80;
	if(colon && colon + 1 < end) {
		errno = 0;
		port = strtoul(colon + 1, &stop, 10);
		if(errno || stop != end || port < 1 || port > 65535 ||
		   colon[1] < '0' || colon[1] > '9')
			return false;
		o->port = (unsigned)port;
	}
	return true;
}

/* An absolute http(s) URL (or, with scheme_https set, a network-path
 * reference "//host/..."). */
static bool parse_origin(const char *url, int scheme_https,
			 struct origin *o)
{
	size_t n = scheme_len(url);

	memset(o, 0, sizeof(*o));
	if(n) {
		if(n == 5 && !strncasecmp(url, "https", 5))
			o->https = true;
		else if(!(n == 4 && !strncasecmp(url, "http", 4)))
			return false;
		url += n + 1;
	} else {
		if(scheme_https < 0)
			return false;
		o->https = scheme_https;
	}
	if(strncmp(url, "//", 2))
		return false;
	return parse_authority(url + 2, o);
}

static bool same_origin(const struct origin *a, const struct origin *b)
{
	return a->https == b->https && a->port == b->port &&
	       a->host_len == b->host_len &&
	       !strncasecmp(a->host, b->host, a->host_len);
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* Bytes a URL may carry as they are (RFC 3986 unreserved, sub-delims,
 * ':' '@' '/' '?'); '%' is judged by its caller. */
static bool is_url_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:@/?", c);
}

/* Append s[0..n) percent-encoding what a URL cannot carry raw. */
static enum pl_status add_encoded(struct buf *b, const char *s, size_t n)
{
	static const char digits[] = "0123456789ABCDEF";

	for(size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[3] = {'%', digits[c >> 4], digits[c & 15]};

		if(c && (is_url_char(c) ||
			 (c == '%' && i + 2 < n && is_hex(s[i + 1]) &&
			  is_hex(s[i + 2])))) {
			if(buf_addch(b, (char)c))
				return PL_ENOMEM;
		} else if(buf_add(b, esc, 3)) {
			return PL_ENOMEM;
		}
	}
	return PL_OK;
}

/* A dot segment, also spelled with %2e. */
static bool is_dot_segment(const char *s, size_t n)
{
	size_t dots = 0;

	for(size_t i = 0; i < n;) {
		if(s[i] == '.') {
			i++;
		} else if(n - i >= 3 && s[i] == '%' && s[i + 1] == '2' &&
			  (s[i + 2] == 'e' || s[i + 2] == 'E')) {
			i += 3;
		} else {
			return false;
		}
		dots++;
	}
	return dots == 1 || dots == 2;
}

/* The length of base_url's path prefix without trailing slashes. */
static size_t prefix_len(const struct origin *base)
{
	size_t n = strcspn(base->rest, "?#");

	while(n && base->rest[n - 1] == '/')
		n--;
	return n;
}

enum pl_status custpage_link(const char *base_url, const char *uri,
			     struct buf *out, struct pl_err *err)
{
	struct origin base, link;
	struct buf path = BUF_INIT;
	const char *p, *q, *frag;
	size_t len = strlen(uri), plen, seg, keep = out->len;
	enum pl_status st = PL_OK;

	if(!parse_origin(base_url, -1, &base))
		return pl_fail(err, PL_EINTERNAL, "base URL %s is not an "
			       "http(s) URL", base_url);
	if(!len)
		return pl_fail(err, PL_EFORMAT, "next link is empty");
	if(len > CUSTPAGE_MAX_LINK)
		return pl_fail(err, PL_EFORMAT, "next link is longer than %d "
			       "bytes", CUSTPAGE_MAX_LINK);
	for(size_t i = 0; i < len; i++)
		if((unsigned char)uri[i] < 0x20 || uri[i] == 0x7f)
			return pl_fail(err, PL_EFORMAT, "next link has a "
				       "control character");
	p = uri;
	if(scheme_len(uri) || !strncmp(uri, "//", 2)) {
		if(!parse_origin(uri, base.https, &link))
			return pl_fail(err, PL_EFORMAT, "next link '%.200s' "
				       "is not an http(s) URL", uri);
		if(link.has_user || !same_origin(&base, &link))
			return pl_fail(err, PL_EFORMAT, "next link '%.200s' "
				       "points to another host than %s: "
				       "refused", uri, base_url);
		p = link.rest;
		plen = prefix_len(&base);
		if(plen && !strncmp(p, base.rest, plen) &&
		   (p[plen] == '/' || p[plen] == '?' || p[plen] == '#' ||
		    !p[plen]))
			p += plen;
	}
	frag = strchr(p, '#');
	q = strchr(p, '?');
	if(frag && q && q > frag)
		q = NULL;
	plen = (size_t)((q ? q : frag ? frag : p + strlen(p)) - p);

	/* The path, one slash between segments, "/v1" in front. */
	if(plen == 0)
		st = buf_addstr(&path, "/v1/customers");
	for(size_t i = 0; !st && i < plen; i += seg) {
		while(i < plen && p[i] == '/')
			i++;
		seg = strcspn(p + i, "/?#");
		if(seg > plen - i)
			seg = plen - i;
		if(!seg)
			break;
		if(is_dot_segment(p + i, seg)) {
			st = pl_fail(err, PL_EFORMAT, "next link '%.200s' has "
				     "a dot segment", uri);
			break;
		}
		if(path.len == 0 &&
		   !(seg == 2 && !strncasecmp(p + i, "v1", 2)))
			st = buf_addstr(&path, "/v1");
		if(!st)
			st = buf_addch(&path, '/');
		if(!st)
			st = add_encoded(&path, p + i, seg);
	}
	if(!st && path.len == 0)
		st = buf_addstr(&path, "/v1/customers");
	if(!st && !(path.len >= 13 &&
		    !strncasecmp(path.data, "/v1/customers", 13) &&
		    (path.len == 13 || path.data[13] == '/')))
		st = pl_fail(err, PL_EFORMAT, "next link '%.200s' leaves "
			     "/v1/customers", uri);
	if(!st)
		st = buf_add(out, path.data, path.len);
	if(!st && q) {
		size_t qlen = (size_t)((frag ? frag : q + strlen(q)) - q);

		st = add_encoded(out, q, qlen);
	}
	if(st == PL_ENOMEM)
		pl_fail(err, st, "out of memory");
	if(st)
		buf_setlen(out, keep);
	buf_release(&path);
	return st;
}

/* ---- headers ------------------------------------------------------------ */

static bool is_token_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_reserved(const char *name)
{
	for(size_t i = 0; i < sizeof(reserved_headers) /
			      sizeof(reserved_headers[0]); i++)
		if(!strcasecmp(name, reserved_headers[i]))
			return true;
	return false;
}

/* Add "name: value" to the page's next headers, checked (see the
 * header). */
static enum pl_status add_header(struct custpage *pg, const char *name,
				 const char *value, size_t vlen,
				 struct pl_err *err)
{
	struct buf line = BUF_INIT;
	size_t nlen = strlen(name);
	char **grown;

	if(!nlen)
		return pl_fail(err, PL_EFORMAT, "next link header without "
			       "a name");
	for(size_t i = 0; i < nlen; i++)
		if(!is_token_char((unsigned char)name[i]))
			return pl_fail(err, PL_EFORMAT, "next link header "
				       "name '%.64s' is not an HTTP token",
				       name);
	for(size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)value[i];

		if((c < 0x20 && c != '\t') || c == 0x7f)
			return pl_fail(err, PL_EFORMAT, "next link header %s "
				       "has a control character", name);
	}
	while(vlen && (*value == ' ' || *value == '\t')) {
		value++;
		vlen--;
	}
	while(vlen && (value[vlen - 1] == ' ' || value[vlen - 1] == '\t'))
		vlen--;
	if(nlen + vlen + 2 > CUSTPAGE_MAX_LINK)
		return pl_fail(err, PL_EFORMAT, "next link header %s is "
			       "longer than %d bytes", name,
			       CUSTPAGE_MAX_LINK);
	if(is_reserved(name) || pg->nnext_headers == CUSTPAGE_MAX_HEADERS) {
		pg->dropped_headers++;
		return PL_OK;
	}
	/* curl sends "Name;" as an empty header; "Name:" would remove it */
	if(buf_addstr(&line, name) ||
	   (vlen ? buf_addstr(&line, ": ") || buf_add(&line, value, vlen)
		 : buf_addch(&line, ';')))
		goto nomem;
	grown = realloc(pg->next_headers,
			(pg->nnext_headers + 1) * sizeof(*grown));
	if(!grown)
		goto nomem;
	pg->next_headers = grown;
	pg->next_headers[pg->nnext_headers] = buf_detach(&line, NULL);
	if(!pg->next_headers[pg->nnext_headers])
		goto nomem;
	pg->nnext_headers++;
	return PL_OK;
nomem:
	buf_release(&line);
	return pl_fail(err, PL_ENOMEM, "out of memory");
}

static bool has_header(const struct custpage *pg, const char *name)
{
	size_t n = strlen(name);

	for(size_t i = 0; i < pg->nnext_headers; i++)
		if(!strncasecmp(pg->next_headers[i], name, n) &&
		   (pg->next_headers[i][n] == ':' ||
		    pg->next_headers[i][n] == ';'))
			return true;
	return false;
}

/* links.next, when there is one: the path to request and its headers. */
static enum pl_status read_next(struct json_object *root, const char *base,
				struct custpage *pg, struct pl_err *err)
{
	struct json_object *links = get_ci(root, "links", NULL);
	struct json_object *next = get_ci(links, "next", NULL);
	struct json_object *uri, *headers, *token;
	struct buf path = BUF_INIT;
	const char *method;
	enum pl_status st;
	size_t n;

	if(!next)
		return PL_OK;
	if(!json_object_is_type(next, json_type_object))
		return pl_fail(err, PL_EFORMAT, "links.next is not an object");
	uri = get_ci(next, "uri", NULL);
	if(!json_object_is_type(uri, json_type_string))
		return pl_fail(err, PL_EFORMAT, "links.next has no uri");
	method = get_str(next, "method");
	if(get_ci(next, "method", NULL) && (!method || strcasecmp(method,
								   "GET")))
		return pl_fail(err, PL_EFORMAT, "links.next asks for method "
			       "%.16s, not GET", method ? method : "?");
	if((size_t)json_object_get_string_len(uri) !=
	   strlen(json_object_get_string(uri)))
		return pl_fail(err, PL_EFORMAT, "next link has a NUL byte");
	st = custpage_link(base, json_object_get_string(uri), &path, err);
	if(st) {
		buf_release(&path);
		return st;
	}
	pg->next_path = buf_detach(&path, NULL);
	buf_release(&path);
	if(!pg->next_path)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	pg->has_next = true;

	headers = get_ci(next, "headers", NULL);
	if(headers && !json_object_is_type(headers, json_type_array))
		return pl_fail(err, PL_EFORMAT, "links.next.headers is not "
			       "an array");
	n = headers ? json_object_array_length(headers) : 0;
	for(size_t i = 0; i < n; i++) {
		struct json_object *h = json_object_array_get_idx(headers, i);
		struct json_object *v = get_ci(h, "value", NULL);
		const char *key = get_str(h, "key");

		if(!json_object_is_type(h, json_type_object) || !key ||
		   (v && !json_object_is_type(v, json_type_string)))
			return pl_fail(err, PL_EFORMAT, "links.next.headers[%zu]"
				       " is not {\"key\": string, \"value\": "
				       "string}", i);
		if(strlen(key) != (size_t)json_object_get_string_len(
			   get_ci(h, "key", NULL)))
			return pl_fail(err, PL_EFORMAT, "next link header "
				       "name has a NUL byte");
		st = add_header(pg, key, v ? json_object_get_string(v) : "",
				v ? (size_t)json_object_get_string_len(v) : 0,
				err);
		if(st)
			return st;
	}
	token = get_ci(root, "continuationToken", NULL);
	if(json_object_is_type(token, json_type_string) &&
	   json_object_get_string_len(token) > 0 &&
	   !has_header(pg, CONTINUATION))
		return add_header(pg, CONTINUATION,
				  json_object_get_string(token),
				  (size_t)json_object_get_string_len(token),
				  err);
	return PL_OK;
}

/* ---- items -------------------------------------------------------------- */

static void read_item(struct json_object *e, struct custpage_item *it)
{
	struct json_object *profile, *id;
	bool found;
	size_t n;

	memset(it, 0, sizeof(*it));
	it->value = "";
	if(!json_object_is_type(e, json_type_object)) {
		it->value = json_object_to_json_string_ext(
			e, JSON_C_TO_STRING_PLAIN);
		it->value_len = strlen(it->value);
		it->reason = "not an object";
		goto cut;
	}
	profile = get_ci(e, "companyProfile", NULL);
	if(!json_object_is_type(profile, json_type_object))
		profile = NULL;
	it->name = get_str(profile, "companyName");
	it->domain = get_str(profile, "domain");
	it->relationship = get_str(e, "relationshipToPartner");
	id = get_ci(e, "id", &found);
	if(!id)
		id = get_ci(profile, "tenantId", &found);
	if(!id) {
		it->reason = "no id";
		return;
	}
	if(!json_object_is_type(id, json_type_string)) {
		it->value = json_object_to_json_string_ext(
			id, JSON_C_TO_STRING_PLAIN);
		it->value_len = strlen(it->value);
		it->reason = "not a GUID";
		goto cut;
	}
	it->value = json_object_get_string(id);
	n = (size_t)json_object_get_string_len(id);
	it->value_len = n;
	it->reason = guid_canonicalize(it->value, n, NULL, it->id);
	if(!it->reason) {
		it->valid = true;
		it->value = NULL;
		it->value_len = 0;
		return;
	}
cut:
	if(it->value_len > CUSTPAGE_MAX_VALUE) {
		/* on a character boundary: the value stays UTF-8 */
		n = CUSTPAGE_MAX_VALUE;
		while(n && ((unsigned char)it->value[n] & 0xC0) == 0x80)
			n--;
		it->value_len = n;
	}
}

static enum pl_status read_items(struct json_object *root,
				 struct custpage *pg, struct pl_err *err)
{
	struct json_object *items = get_ci(root, "items", NULL);
	size_t n;

	if(!items)
		return PL_OK;
	if(!json_object_is_type(items, json_type_array))
		return pl_fail(err, PL_EFORMAT, "items is not an array");
	n = json_object_array_length(items);
	if(!n)
		return PL_OK;
	pg->items = calloc(n, sizeof(*pg->items));
	if(!pg->items)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	for(size_t i = 0; i < n; i++)
		read_item(json_object_array_get_idx(items, i), &pg->items[i]);
	pg->nitems = n;
	return PL_OK;
}

enum pl_status custpage_parse(const char *body, size_t len,
			      const char *base_url, struct custpage *page,
			      struct pl_err *err)
{
	char why[NORM_WHY_MAX];
	struct json_object *root = NULL, *total;
	enum pl_status st;

	memset(page, 0, sizeof(*page));
	page->total_count = -1;
	st = norm_parse_json(body, len, CUSTPAGE_MAX_BODY, &root, why);
	if(st)
		return pl_fail(err, st, "%s", why);
	page->_root = root;
	if(!json_object_is_type(root, json_type_object)) {
		st = pl_fail(err, PL_EFORMAT, "not a JSON object but %s",
			     root ? json_type_to_name(json_object_get_type(
				     root)) : "null");
		goto out;
	}
	total = get_ci(root, "totalCount", NULL);
	if(json_object_is_type(total, json_type_int))
		page->total_count = json_object_get_int64(total);
	st = read_items(root, page, err);
	if(!st)
		st = read_next(root, base_url, page, err);
out:
	/* JSON that parsed but is no page is the server's considered
	 * answer, not a glitch in transit */
	if(st == PL_EFORMAT)
		st = PL_EINPUT;
	if(st)
		custpage_release(page);
	return st;
}

void custpage_release(struct custpage *page)
{
	if(!page)
		return;
	for(size_t i = 0; i < page->nnext_headers; i++)
		free(page->next_headers[i]);
	free(page->next_headers);
	free(page->next_path);
	free(page->items);
	json_object_put(page->_root);
	memset(page, 0, sizeof(*page));
	page->total_count = -1;
}

bool custpage_error_code(const char *body, size_t len, long long *code)
{
	char why[NORM_WHY_MAX];
	struct json_object *root = NULL, *c;
	const char *s;
	char *end;
	bool ok = false;

	if(!body || norm_parse_json(body, len, CUSTPAGE_MAX_BODY, &root, why))
		return false;
	c = get_ci(root, "code", NULL);
	if(json_object_is_type(c, json_type_int)) {
		*code = json_object_get_int64(c);
		ok = true;
	} else if(json_object_is_type(c, json_type_string)) {
		s = json_object_get_string(c);
		errno = 0;
		*code = strtoll(s, &end, 10);
		ok = *s >= '0' && *s <= '9' && !*end && !errno;
	}
	json_object_put(root);
	return ok;
}
