#include "retry.h"

#include <string.h>

#include "civil.h"

/* Larger waits are all "far too long" alike; seconds saturate here so
 * that the arithmetic stays in range. */
#define AFTER_MAX_S (RETRY_AFTER_SATURATED / 1000)

enum retry_action retry_classify(long http_status)
{
	switch(http_status) {
	case 0:   /* no answer: connect error, timeout, dropped connection */
	case 408:
	case 429:
	case 500:
	case 502:
	case 503:
	case 504:
		return RETRY_AGAIN;
	case 401:
		return RETRY_REAUTH;
	default:
		return RETRY_FINAL;
	}
}

/* xorshift64* (Vigna): fast, decent low bits, state must not be 0. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t x = *state;

	if(!x)
		x = 0x9e3779b97f4a7c15ull;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}

int64_t retry_delay_ms(unsigned retry, int64_t retry_after_ms, uint64_t *rng)
{
	int64_t ceiling = RETRY_CAP_MS;
	int64_t delay;

	if(retry < 1)
		retry = 1;
	/* base * 2^(retry-1) without overflowing the shift */
	if(retry - 1 < 16) {
		int64_t exp = (int64_t)RETRY_BASE_MS << (retry - 1);

		if(exp < ceiling)
			ceiling = exp;
	}
	/* full jitter: uniform over [0, ceiling] */
	delay = (int64_t)(rng_next(rng) % (uint64_t)(ceiling + 1));
	if(retry_after_ms > delay)
		delay = retry_after_ms;
	return delay;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Delta seconds: digits only (no sign, no exponent). -1 if not that. */
static int64_t parse_delta(const char *s, size_t len)
{
	int64_t secs = 0;

	if(!len)
		return -1;
	for(size_t i = 0; i < len; i++) {
		if(s[i] < '0' || s[i] > '9')
			return -1;
		if(secs <= AFTER_MAX_S)
			secs = secs * 10 + (s[i] - '0');
	}
	/* a wait no run would sit through: the caller refuses it (retry.h) */
	if(secs > AFTER_MAX_S)
		return RETRY_AFTER_SATURATED;
	return secs * 1000;
}

static int month_index(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for(int i = 0; i < 12; i++)
		if(!strncmp(s, months + 3 * i, 3))
			return i + 1;
	return 0;
}

/* Read exactly n digits at *p; -1 when they are not there. */
static int read_digits(const char **p, int n)
{
	int v = 0;

	for(int i = 0; i < n; i++) {
		if((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v;
}

static int expect(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if(strncmp(*p, lit, n))
		return 0;
	*p += n;
	return 1;
}

/* "08:49:37" */
static int read_clock(const char **p, int *h, int *mi, int *sec)
{
	*h = read_digits(p, 2);
	if(*h < 0 || !expect(p, ":"))
		return 0;
	*mi = read_digits(p, 2);
	if(*mi < 0 || !expect(p, ":"))
		return 0;
	*sec = read_digits(p, 2);
	return *sec >= 0 && *h < 24 && *mi < 60 && *sec <= 60;
}

/*
 * The three forms of RFC 9110 section 5.6.7 (the weekday is skipped, not
 * checked):
 *   IMF-fixdate  Sun, 06 Nov 1994 08:49:37 GMT
 *   RFC 850      Sunday, 06-Nov-94 08:49:37 GMT
 *   asctime      Sun Nov  6 08:49:37 1994
 * Returns 1 and the epoch seconds, or 0.
 */
static int parse_http_date(const char *s, size_t len, int64_t *epoch)
{
	char buf[64];
	const char *p, *comma;
	int y, mo, d, h, mi, sec;

	if(len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	comma = strchr(buf, ',');
	if(comma && comma - buf == 3) {
		p = comma + 1;
		if(!expect(&p, " ") || (d = read_digits(&p, 2)) < 0 ||
		   !expect(&p, " ") || !(mo = month_index(p)))
			return 0;
		p += 3;
		if(!expect(&p, " ") || (y = read_digits(&p, 4)) < 0 ||
		   !expect(&p, " ") || !read_clock(&p, &h, &mi, &sec) ||
		   strcmp(p, " GMT"))
			return 0;
	} else if(comma) {
		p = comma + 1;
		if(!expect(&p, " ") || (d = read_digits(&p, 2)) < 0 ||
		   !expect(&p, "-") || !(mo = month_index(p)))
			return 0;
		p += 3;
		if(!expect(&p, "-") || (y = read_digits(&p, 2)) < 0 ||
		   !expect(&p, " ") || !read_clock(&p, &h, &mi, &sec) ||
		   strcmp(p, " GMT"))
			return 0;
		/* RFC 9110: a two-digit year more than 50 years ahead is in
		 * the past century; pivot at 70 like most clients */
		y += y < 70 ? 2000 : 1900;
	} else {
		if(len < 24 || buf[3] != ' ')
			return 0;
		p = buf + 4;
		if(!(mo = month_index(p)))
			return 0;
		p += 3;
		if(!expect(&p, " "))
			return 0;
		if(*p == ' ') {
			p++;
			d = read_digits(&p, 1);
		} else {
			d = read_digits(&p, 2);
		}
		if(d < 0 || !expect(&p, " ") ||
		   !read_clock(&p, &h, &mi, &sec) || !expect(&p, " ") ||
		   (y = read_digits(&p, 4)) < 0 || *p)
			return 0;
	}
	if(d < 1 || d > 31)
		return 0;
	*epoch = civil_days(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
	return 1;
}

int64_t retry_parse_after(const char *value, int64_t now_epoch_ms)
{
	size_t len;
	int64_t epoch, ms;

	if(!value)
		return -1;
	while(is_space(*value))
		value++;
	len = strlen(value);
	while(len && (is_space(value[len - 1]) || value[len - 1] == '\r' ||
		      value[len - 1] == '\n'))
		len--;
	if(!len)
		return -1;
	if(value[0] >= '0' && value[0] <= '9')
		return parse_delta(value, len);
	if(!parse_http_date(value, len, &epoch))
		return -1;
	ms = epoch * 1000 - now_epoch_ms;
	/* a date now or past asks for nothing: backoff decides */
	if(ms <= 0)
		return -1;
	return ms > RETRY_AFTER_SATURATED ? RETRY_AFTER_SATURATED : ms;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Does s[0..n) start with lit (lowercase), ignoring case? */
static int starts_ci(const char *s, size_t n, const char *lit)
{
	size_t i;

	for(i = 0; lit[i]; i++)
		if(i >= n || lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

/* Skip spaces at s[*i..n); whether there was at least one. */
static int skip_spaces(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while(*i < n && s[*i] == ' ')
		(*i)++;
	return *i > start;
}

/* "N second" at s[i..n): the wait in ms, or -1. */
static int64_t parse_seconds_at(const char *s, size_t n, size_t i)
{
	int64_t ms = 0, unit = 1000;
	int digits = 0;

	for(; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++)
		if(ms <= RETRY_AFTER_SATURATED)
			ms = ms * 10 + (s[i] - '0') * 1000;
	if(!digits)
		return -1;
	if(i < n && s[i] == '.') {
		int frac = 0, rest = 0;

		for(i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, frac++) {
			unit /= 10;
			if(unit)
				ms += (s[i] - '0') * unit;
			else if(s[i] != '0')
				rest = 1;
		}
		if(!frac)
			return -1;
		/* a fraction of a millisecond rounds the wait up */
		ms += rest;
	}
	if(!skip_spaces(s, n, &i) || !starts_ci(s + i, n - i, "second"))
		return -1;
	/* as asked, like a Retry-After: --max-retry-wait decides */
	return ms > RETRY_AFTER_SATURATED ? RETRY_AFTER_SATURATED : ms;
}

int64_t retry_parse_body_wait(const char *body, size_t len)
{
	static const char key[] = "try again in";

	if(!body)
		return -1;
	for(size_t i = 0; i + sizeof(key) - 1 <= len; i++) {
		size_t j = i + sizeof(key) - 1;
		int64_t ms;

		if(lower((unsigned char)body[i]) != 't' ||
		   !starts_ci(body + i, len - i, key))
			continue;
		if(!skip_spaces(body, len, &j))
			continue;
		ms = parse_seconds_at(body, len, j);
		if(ms >= 0)
			return ms;
	}
	return -1;
}
