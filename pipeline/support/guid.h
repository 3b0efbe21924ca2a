/*
 * guid.h: tenant-ID canonicalization.
 *
 * A tenant ID is accepted in any case, with or without surrounding braces
 * and surrounding white space, as 8-4-4-4-12 hex digits. Anything else is
 * rejected with a short reason and never reaches a URL.
 */
#ifndef QR_GUID_H
#define QR_GUID_H

#include <stddef.h>
#include <stdint.h>

#include "record.h"

/*
 * Parse raw[0..len) and, on success, write the canonical lowercase form
 * (36 chars + NUL) to out and the 16 bytes to bytes (either may be NULL).
 * Returns NULL on success, else a constant reason such as "empty value",
 * "not a GUID" or "bad character".
 */
const char *guid_canonicalize(const char *raw, size_t len,
			      char out[GUID_STR_LEN + 1], uint8_t bytes[16]);

/* Format 16 bytes as the canonical lowercase string. */
void guid_format(const uint8_t bytes[16], char out[GUID_STR_LEN + 1]);

#endif
