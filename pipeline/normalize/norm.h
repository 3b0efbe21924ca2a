/*
 * norm.h: turn one API answer into a tenant's detail rows (json-c).
 *
 * Bodies are parsed with json-c's non-strict tokener, so the API page's
 * own examples (trailing commas, // comments) parse verbatim; a leading
 * UTF-8 BOM is skipped. Accepted 200 shapes: a bare array, or an object
 * {"qualifications": [...]} (key matched case-insensitively); entry keys
 * are matched case-insensitively, vettingCreatedDate and vettingCreateDate
 * alike. Unknown keys are ignored and unknown vettingStatus values kept
 * verbatim.
 *
 * Rules (spec "Detail report"):
 *   200 + entries      one row per entry, outcome ANSWERED
 *   200 + [] / absent  one row qualification=NULL, status "None"
 *   404                one row status "NotFound", error = API code/desc
 *   other status       one row status "Error", error = API code/desc or
 *                      the reason phrase; outcome FAILED
 *   200 + garbage      one row status "Error", short reason; FAILED
 * Never crashes, whatever the bytes; never reads past len.
 *
 * Edge cases decided here:
 *   - any 2xx is read like 200; 204 is "None" whatever its body; an empty
 *     2xx body (only white space / BOM) is an Error ("unexpected body:
 *     empty"), since an answer that says nothing is not "no qualification";
 *   - {"qualifications": null} and {} are "None"; an entry whose
 *     qualification is "None" (any case) without vetting fields adds no
 *     row; a lone entry object {"qualification": ...} (the POST reply's
 *     shape) is read as a list of one;
 *   - an object without qualifications but with an API error
 *     ({code, description} or {message}) is an Error row with that text;
 *     any other object is "unexpected body: object without qualifications";
 *   - a wrong type anywhere (entry not an object, qualification missing,
 *     empty or not a string, a vetting field neither string nor null, a
 *     top-level scalar) makes the whole tenant ONE Error row; entries are
 *     numbered from 1 in the reason;
 *   - bodies must be UTF-8 (JSON_TOKENER_VALIDATE_UTF8), so every row
 *     string is valid UTF-8; a \u0000 escape ends a string; strings are
 *     otherwise kept in full (a 1 MiB vettingReason is kept);
 *   - reasons quote at most 24 body bytes, with control and non-ASCII
 *     bytes as '?'; when a key appears twice (in any case) the last wins.
 * norm_answer first drops any rows and error rec already holds; on
 * PL_ENOMEM rec is left without rows.
 *
 * The caller fills rec->tenant_id, request_id, http_status and attempts;
 * norm only adds rows, error and outcome.
 */
#ifndef QR_NORM_H
#define QR_NORM_H

#include <stdbool.h>
#include <stddef.h>

#include "record.h"
#include "status.h"

/* Bodies larger than this are not parsed: the tenant gets an Error row. */
#define NORM_MAX_BODY (8u * 1024u * 1024u)
/* Room for any reason norm writes. */
#define NORM_WHY_MAX 128

struct json_object;

/*
 * Normalize an HTTP answer. body need not be NUL-terminated.
 * Returns PL_OK (including for Error rows: a wrong answer is a fact about
 * the tenant) or PL_ENOMEM, naming the tenant.
 */
enum pl_status norm_answer(long http_status, const char *body, size_t len,
			   struct tenant_record *rec, struct pl_err *err);

/* The reason phrase of a status ("Found" for 302) as the Error rows
 * give it, or NULL for a status without one here. */
const char *norm_status_phrase(long http_status);

/*
 * Record a fetch that ended without a usable answer (retries exhausted on
 * a transport error, body too large, ...): one Error row with reason.
 * PL_ENOMEM as for norm_answer.
 */
enum pl_status norm_failure(const char *reason, struct tenant_record *rec,
			    struct pl_err *err);

/*
 * Normalize a date: RFC 3339 with 0-9 fraction digits and Z or +-hh:mm
 * ('T', 't' or ' ' between date and time; fields range-checked, leap
 * years and a :60 leap second included) becomes the same instant in UTC
 * with "T" and "Z", fraction digits kept as given; anything else (no
 * offset, a year outside 0000-9999 after the shift, ...) is copied
 * verbatim, truncated to fit. Writes at most outlen bytes incl. NUL;
 * true if converted, false if copied verbatim.
 */
bool norm_date(const char *in, char *out, size_t outlen);

/*
 * The short text of an API error body in *text: "code: description" from
 * {code, description} (code number or string; either alone when the
 * other is missing), the message of a 429 body {statusCode, message}, a
 * bare JSON string, else NULL (also for a NULL body or one over
 * NORM_MAX_BODY). At most 1024 bytes, control characters as spaces.
 * Caller frees. PL_ENOMEM: *text NULL.
 */
enum pl_status norm_api_error(const char *body, size_t len, char **text,
			      struct pl_err *err);

/*
 * The tolerant JSON reader the normalizer uses, for other API bodies (the
 * customer listing's pages): exactly len bytes (need not be NUL-
 * terminated), a leading BOM skipped, json-c's non-strict grammar
 * (trailing commas, // and block comments), UTF-8 validated, at most 64
 * levels deep; a body over max bytes is not parsed. PL_OK and *out (NULL
 * for JSON null; the caller puts it); PL_EFORMAT with a short printable
 * reason in why ("truncated JSON", "malformed JSON: ... at offset N
 * near '...'", "unexpected body: empty"); PL_ENOMEM.
 */
enum pl_status norm_parse_json(const char *body, size_t len, size_t max,
			       struct json_object **out,
			       char why[NORM_WHY_MAX]);

#endif
