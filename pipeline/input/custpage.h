/*
 * custpage.h: one page of the API's customer list (GET /v1/customers,
 * docs/partner-center-api.md section 6), parsed. Pure: no I/O, no clock;
 * the listing source (source_listing.c) drives it and the fuzzer
 * (tests/fuzz/fuzz_customers_page.c) hammers it.
 *
 * A page:
 *   {"totalCount": 2,
 *    "items": [{"id": "<tenant>",
 *               "companyProfile": {"tenantId": "<tenant>",
 *                                  "domain": "contoso.onmicrosoft.com",
 *                                  "companyName": "Contoso"},
 *               "relationshipToPartner": "reseller"}, ...],
 *    "links": {"self": {...},
 *              "next": {"uri": "/customers?size=500&seekOperation=Next",
 *                       "method": "GET",
 *                       "headers": [{"key": "MS-ContinuationToken",
 *                                    "value": "..."}]}},
 *    "continuationToken": "...", "attributes": {...}}
 *
 * Read with norm's tolerant reader (a BOM, trailing commas, comments) and
 * keys matched ignoring case, as the SDK's JSON binding does. Unknown
 * keys are ignored. What it decides:
 *   - items[].id is the tenant; when id is absent or null,
 *     companyProfile.tenantId; an item with neither, whose id is not a
 *     GUID, or that is not an object, is an invalid item with a reason
 *     ("no id", "not a GUID", "bad character", "not an object", ...) and
 *     the value as sent (a non-string id as its JSON text), never a
 *     tenant;
 *   - companyName, domain and relationshipToPartner are kept when they
 *     are strings, else NULL;
 *   - "items" absent or null is an empty page (the last page of a list
 *     may be empty); anything else but an array is a malformed page;
 *   - links.next absent or null: the last page. Else it must be an object
 *     with a string "uri" (and "method" GET, when given), which
 *     custpage_link() turns into the path to request; every well-formed
 *     entry of links.next.headers is sent with it, except the headers
 *     the engine sets itself or that would change the connection
 *     (Authorization, Host, Content-Length, ...: counted in
 *     dropped_headers, never sent). A header name that is not an HTTP
 *     token or a value with a control character makes the page
 *     malformed: such a header cannot be sent as given. A top-level
 *     continuationToken is sent as MS-ContinuationToken when
 *     links.next.headers has none; alone (no links.next) it does not
 *     continue the list, as in the SDK.
 *
 * Ownership: struct custpage owns everything it points to (strings live
 * in the parsed tree it keeps); custpage_release() frees it and leaves
 * an empty page; releasing an empty (zeroed) page is a no-op.
 */
#ifndef QR_CUSTPAGE_H
#define QR_CUSTPAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

/* Bodies of a page up to this size are read (500 customers take about
 * 250 KB); a larger one is a failed page. */
#define CUSTPAGE_MAX_BODY (64u * 1024u * 1024u)
/* At most this many headers in links.next.headers are sent. */
#define CUSTPAGE_MAX_HEADERS 16
/* A next link, a header line, longer than this is refused. */
#define CUSTPAGE_MAX_LINK 8192
/* The value of an invalid item is kept up to this many bytes. */
#define CUSTPAGE_MAX_VALUE 1024

struct custpage_item {
	bool valid;
	uint8_t id[16];            /* valid: the tenant */
	/* invalid: the id as sent ("" when none) and why it is no tenant */
	const char *value;
	size_t value_len;
	const char *reason;
	const char *name;          /* companyProfile.companyName, or NULL */
	const char *domain;        /* companyProfile.domain, or NULL */
	const char *relationship;  /* relationshipToPartner, or NULL */
};

struct custpage {
	struct custpage_item *items;
	size_t nitems;
	bool has_next;
	char *next_path;           /* has_next: path and query under base */
	char **next_headers;       /* has_next: "Name: value" lines */
	size_t nnext_headers;
	unsigned dropped_headers;  /* next headers not sent (see above) */
	long long total_count;     /* totalCount, -1 when absent */
	struct json_object *_root; /* owns the strings */
};

/*
 * Parse body[0..len) as a page of the listing at base_url (an API root
 * url_check() accepted). PL_OK and *page filled; PL_EFORMAT when the body
 * is not JSON (cut short, garbled: what a retry may mend); PL_EINPUT when
 * it is JSON but no page (not an object, items not an array, a refused
 * next link or header: asking again would get the same); the reason in
 * err. On failure *page is left empty.
 */
enum pl_status custpage_parse(const char *body, size_t len,
			      const char *base_url, struct custpage *page,
			      struct pl_err *err);

void custpage_release(struct custpage *page);

/*
 * The path and query to request for the next link uri, appended to out,
 * relative to base_url's root (the engine sends base_url + out):
 *   - an absolute URI (http://host/..., or //host/...) must name
 *     base_url's own scheme, host and port, and no user; its path loses
 *     base_url's path prefix when it has one. Any other host is refused:
 *     the bearer token goes only where --base-url says;
 *   - the path gets "/v1" in front unless it already starts with it
 *     ("customers?x", "/customers?x" and "/v1/customers?x" all become
 *     "/v1/customers?x"; never "/v1//v1/..."), repeated slashes become
 *     one, and it must then be /v1/customers or below it;
 *   - a fragment is dropped; "." and ".." segments, control characters,
 *     an empty link or one longer than CUSTPAGE_MAX_LINK are refused;
 *     spaces and bytes outside ASCII are percent-encoded, existing %XX
 *     kept.
 * PL_EFORMAT with the reason in err ("next link ... points to another
 * host"); PL_ENOMEM. out is left as it was on failure.
 */
enum pl_status custpage_link(const char *base_url, const char *uri,
			     struct buf *out, struct pl_err *err);

/*
 * The API's error code of an error body {"code": 2000, ...} (a number, or
 * a string of digits, as the API sends both): true and *code; false when
 * the body has none.
 */
bool custpage_error_code(const char *body, size_t len, long long *code);

#endif
