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
 * The caller fills rec->tenant_id, request_id, http_status and attempts;
 * norm only adds rows, error and outcome.
 */
#ifndef QR_NORM_H
#define QR_NORM_H

#include <stddef.h>

#include "record.h"
#include "status.h"

/* Bodies larger than this are not parsed: the tenant gets an Error row. */
#define NORM_MAX_BODY (8u * 1024u * 1024u)

/*
 * Normalize an HTTP answer. body need not be NUL-terminated.
 * Returns PL_OK (including for Error rows) or PL_ENOMEM.
 */
enum pl_status norm_answer(long http_status, const char *body, size_t len,
			   struct tenant_record *rec);

/*
 * Record a fetch that ended without a usable answer (retries exhausted on
 * a transport error, body too large, ...): one Error row with reason.
 */
enum pl_status norm_failure(const char *reason, struct tenant_record *rec);

/*
 * Normalize a date: RFC 3339 with 0-7 fraction digits and Z or +-hh:mm
 * becomes the same instant in UTC with "Z", fraction digits kept as given;
 * anything else is copied verbatim. Writes at most outlen bytes incl. NUL;
 * returns 1 if converted, 0 if copied verbatim.
 */
int norm_date(const char *in, char *out, size_t outlen);

/*
 * The short text of an API error body: "code: description" from
 * {code, description} (code number or string), the message of a 429 body
 * {statusCode, message}, a bare JSON string, else NULL. Caller frees.
 */
char *norm_api_error(const char *body, size_t len);

#endif
