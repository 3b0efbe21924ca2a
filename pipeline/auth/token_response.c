#include "token_response.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>

/* A token reply is one flat object; its only arrays hold numbers. */
#define PARSE_DEPTH 16
/* Any longer run of digits is clamped, not parsed. */
#define DIGITS_MAX 12

static const unsigned char bom[3] = { 0xEF, 0xBB, 0xBF };

void token_response_init(struct token_response *r)
{
	memset(r, 0, sizeof(*r));
	buf_init_secret(&r->access_token, 0);
	buf_init_secret(&r->refresh_token, 0);
	buf_init_secret(&r->device_code, 0);
	r->expires_in = -1;
	r->interval = -1;
}

void token_response_release(struct token_response *r)
{
	buf_release(&r->access_token);
	buf_release(&r->refresh_token);
	buf_release(&r->device_code);
	free(r->token_type);
	free(r->scope);
	free(r->error);
	free(r->error_description);
	free(r->trace_id);
	free(r->correlation_id);
	free(r->user_code);
	free(r->verification_uri);
	free(r->message);
	token_response_init(r);
}

bool token_response_has_code(const struct token_response *r, long code)
{
	for(size_t i = 0; i < r->n_error_codes; i++)
		if(r->error_codes[i] == code)
			return true;
	return false;
}

static const char *type_name(struct json_object *v)
{
	switch(json_object_get_type(v)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double:
	case json_type_int: return "a number";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "something else";
}

/* The value of key, NULL when absent or null. */
static struct json_object *field(struct json_object *root, const char *key)
{
	struct json_object *v = NULL;

	if(!json_object_object_get_ex(root, key, &v) ||
	   json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

static enum pl_status want_string(struct json_object *v, const char *key,
				  struct pl_err *err)
{
	if(!json_object_is_type(v, json_type_string))
		return pl_fail(err, PL_EFORMAT, "%s is %s, not a string", key,
			       type_name(v));
	if(memchr(json_object_get_string(v), '\0',
		  (size_t)json_object_get_string_len(v)))
		return pl_fail(err, PL_EFORMAT, "%s contains a NUL character",
			       key);
	return PL_OK;
}

static enum pl_status get_text(struct json_object *root, const char *key,
			       char **out, struct pl_err *err)
{
	struct json_object *v = field(root, key);
	enum pl_status st;

	if(!v)
		return PL_OK;
	st = want_string(v, key, err);
	if(st)
		return st;
	*out = strdup(json_object_get_string(v));
	return *out ? PL_OK : pl_fail(err, PL_ENOMEM, "out of memory");
}

static enum pl_status get_secret(struct json_object *root, const char *key,
				 struct buf *out, struct pl_err *err)
{
	struct json_object *v = field(root, key);
	enum pl_status st;

	if(!v)
		return PL_OK;
	st = want_string(v, key, err);
	if(st)
		return st;
	if(buf_add(out, json_object_get_string(v),
		   (size_t)json_object_get_string_len(v)))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	return PL_OK;
}

/* Seconds: a non-negative JSON integer, or (v1) a string of digits. */
static enum pl_status get_seconds(struct json_object *root, const char *key,
				  long *out, struct pl_err *err)
{
	struct json_object *v = field(root, key);
	const char *s;
	size_t n;
	long val = 0;

	if(!v)
		return PL_OK;
	if(json_object_is_type(v, json_type_int)) {
		int64_t i = json_object_get_int64(v);

		if(i < 0)
			return pl_fail(err, PL_EFORMAT, "%s is negative", key);
		*out = i > TOKEN_RESPONSE_MAX_SECONDS ?
		       TOKEN_RESPONSE_MAX_SECONDS : (long)i;
		return PL_OK;
	}
	if(json_object_is_type(v, json_type_double))
		return pl_fail(err, PL_EFORMAT, "%s is not a whole number of "
			       "seconds", key);
	if(!json_object_is_type(v, json_type_string))
		return pl_fail(err, PL_EFORMAT, "%s is %s, not a number", key,
			       type_name(v));
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if(n == 0)
		return pl_fail(err, PL_EFORMAT, "%s is an empty string", key);
	for(size_t i = 0; i < n; i++) {
		if(s[i] < '0' || s[i] > '9')
			return pl_fail(err, PL_EFORMAT, "%s is a string that "
				       "is not a whole number of seconds",
				       key);
		if(i < DIGITS_MAX)
			val = val * 10 + (s[i] - '0');
	}
	*out = n > DIGITS_MAX || val > TOKEN_RESPONSE_MAX_SECONDS ?
	       TOKEN_RESPONSE_MAX_SECONDS : val;
	return PL_OK;
}

static enum pl_status get_codes(struct json_object *root,
				struct token_response *r, struct pl_err *err)
{
	struct json_object *v = field(root, "error_codes");
	size_t n;

	if(!v)
		return PL_OK;
	if(!json_object_is_type(v, json_type_array))
		return pl_fail(err, PL_EFORMAT,
			       "error_codes is %s, not an array", type_name(v));
	n = json_object_array_length(v);
	for(size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(v, i);
		int64_t code;

		if(!c || !json_object_is_type(c, json_type_int))
			return pl_fail(err, PL_EFORMAT, "error_codes[%zu] is "
				       "%s, not an integer", i,
				       c ? type_name(c) : "null");
		code = json_object_get_int64(c);
		if(code < 0 || code > INT32_MAX)
			return pl_fail(err, PL_EFORMAT, "error_codes[%zu] is "
				       "out of range", i);
		if(r->n_error_codes < TOKEN_RESPONSE_MAX_CODES)
			r->error_codes[r->n_error_codes++] = (long)code;
	}
	return PL_OK;
}

/* json-c keeps its own copy of every string: wipe them all (the secrets
 * among them) before the tree is freed. */
static void wipe_strings(struct json_object *root)
{
	json_object_object_foreach(root, key, v) {
		(void)key;
		if(v && json_object_is_type(v, json_type_string))
			OPENSSL_cleanse((char *)json_object_get_string(v),
					(size_t)json_object_get_string_len(v));
	}
}

static enum pl_status extract(struct json_object *root,
			      struct token_response *r, struct pl_err *err)
{
	enum pl_status st;

	if((st = get_secret(root, "access_token", &r->access_token, err)) ||
	   (st = get_secret(root, "refresh_token", &r->refresh_token, err)) ||
	   (st = get_secret(root, "device_code", &r->device_code, err)) ||
	   (st = get_text(root, "token_type", &r->token_type, err)) ||
	   (st = get_text(root, "scope", &r->scope, err)) ||
	   (st = get_text(root, "error", &r->error, err)) ||
	   (st = get_text(root, "error_description", &r->error_description,
			  err)) ||
	   (st = get_text(root, "trace_id", &r->trace_id, err)) ||
	   (st = get_text(root, "correlation_id", &r->correlation_id, err)) ||
	   (st = get_text(root, "user_code", &r->user_code, err)) ||
	   (st = get_text(root, "verification_uri", &r->verification_uri,
			  err)) ||
	   (st = get_text(root, "message", &r->message, err)) ||
	   (st = get_seconds(root, "expires_in", &r->expires_in, err)) ||
	   (st = get_seconds(root, "interval", &r->interval, err)) ||
	   (st = get_codes(root, r, err)))
		return st;
	/* The v1 device-code endpoint spelled it verification_url. */
	if(!r->verification_uri)
		st = get_text(root, "verification_url", &r->verification_uri,
			      err);
	return st;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

enum pl_status token_response_parse(struct token_response *r,
				    const char *body, size_t len,
				    struct pl_err *err)
{
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	size_t end;
	enum pl_status st;

	token_response_release(r);
	if(len >= 3 && !memcmp(body, bom, 3)) {
		body += 3;
		len -= 3;
	}
	while(len && is_space(body[len - 1]))
		len--;
	while(len && is_space(*body)) {
		body++;
		len--;
	}
	if(!len)
		return pl_fail(err, PL_EFORMAT, "empty body, not JSON");
	if(len > INT32_MAX)
		return pl_fail(err, PL_EFORMAT, "body too large");
	tok = json_tokener_new_ex(PARSE_DEPTH);
	if(!tok)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if(jerr == json_tokener_continue) {
		/* A bare number or literal ends only at the end of input:
		 * say so with a NUL (which ends nothing else). */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
	}
	if(jerr != json_tokener_success) {
		st = pl_fail(err, PL_EFORMAT, "not JSON: %s at byte %zu",
			     json_tokener_error_desc(jerr), end);
		goto out;
	}
	if(end < len) {
		st = pl_fail(err, PL_EFORMAT, "not JSON: more after the value "
			     "at byte %zu", end);
		goto out;
	}
	if(!json_object_is_type(root, json_type_object)) {
		st = pl_fail(err, PL_EFORMAT, "the body is %s, not a JSON "
			     "object", type_name(root));
		goto out;
	}
	st = extract(root, r, err);
out:
	if(st)
		token_response_release(r);
	if(root && json_object_is_type(root, json_type_object))
		wipe_strings(root);
	json_object_put(root);
	/* Best effort on the tokener's scratch copy of the last string. */
	if(tok->pb && tok->pb->buf && tok->pb->size > 0)
		OPENSSL_cleanse(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
	return st;
}
