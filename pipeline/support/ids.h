/*
 * ids.h: correlation and request IDs (libuuid).
 *
 * MS-CorrelationId is one random UUID per run. MS-RequestId is derived:
 * UUIDv5(namespace = correlation ID, name = "<tenant-id>/<n>") where n is
 * the number of HTTP answers received so far for that tenant. So a retry
 * after no answer (timeout, dropped connection) repeats the previous ID, a
 * call after any answer gets a fresh one, no two tenants share one, and a
 * rerun with the same correlation ID and answers yields the same IDs.
 */
#ifndef QR_IDS_H
#define QR_IDS_H

#include <stdbool.h>

#include "record.h"

/* A fresh random (v4) UUID, lowercase. */
void ids_new_correlation(char out[GUID_STR_LEN + 1]);
/* Whether s is a UUID (any case); if so its lowercase form goes to out. */
bool ids_parse_uuid(const char *s, char out[GUID_STR_LEN + 1]);
/* The request ID for tenant's n-th answer; correlation must be valid. */
void ids_request_id(const char *correlation_id, const char *tenant_id,
		    unsigned answers, char out[GUID_STR_LEN + 1]);

#endif
