/*
 * civil.h: proleptic Gregorian calendar arithmetic without the C
 * library's time zone state (timegm is not C11, and mktime reads TZ).
 * Howard Hinnant's days_from_civil / civil_from_days algorithms.
 */
#ifndef QR_CIVIL_H
#define QR_CIVIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31). */
int64_t civil_days(int64_t y, unsigned m, unsigned d);

/* The inverse: y-m-d of a day count since 1970-01-01. */
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Unix seconds t as "2026-03-01T06:00:02Z" into out (outsz >= 21 holds
 * any year of four digits; longer years are cut by snprintf). */
void civil_format_utc(int64_t t, char *out, size_t outsz);

bool civil_is_leap(int64_t y);

#endif
