#include "scenario.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guid.h"

/* Salts keep the per-purpose draws independent of each other. */
enum {
	SALT_KIND = 1,
	SALT_SHAPE,
	SALT_KEY,
	SALT_FORMAT,
	SALT_BOM,
	SALT_DATE,
	SALT_FRAC,
	SALT_HAS_DATE,
	SALT_REASON,
	SALT_UNKNOWN,
	SALT_FAULT,
	SALT_FAIL_STATUS,
	SALT_MALFORMED,
	SALT_JITTER
};

/* Vetting dates fall in [2019-01-01, 2025-01-01). */
#define DATE_FIRST 1546300800
#define DATE_SPAN (1735689600 - DATE_FIRST)

static const char *const reasons[] = {
	"Not an Education Customer",
	"No longer an Education Customer",
	"Not an Education Customer - After Review",
	"Restricted being an Education Customer",
	"Not an Academic Domain",
	"Not an eligible Library",
	"Not an eligible Museum",
};

uint64_t scenario_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t scenario_tenant_hash(const char id[36], uint64_t seed)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for(int i = 0; i < 36; i++) {
		h ^= (unsigned char)id[i];
		h *= 0x100000001b3ULL;
	}
	return scenario_mix(h ^ scenario_mix(seed));
}

static uint64_t draw64(uint64_t h, uint64_t salt, uint64_t n)
{
	return scenario_mix(scenario_mix(h ^ (salt * 0xd1b54a32d192ed03ULL)) +
			    n);
}

double scenario_uniform(uint64_t h, uint64_t salt, uint64_t n)
{
	return (double)(draw64(h, salt, n) >> 11) * 0x1.0p-53;
}

int scenario_parse_guid(const char *s, size_t len, char lower[37],
			uint8_t bytes[16])
{
	/* exactly 36 characters: no braces or spaces in a URL path */
	return len == GUID_STR_LEN && !guid_canonicalize(s, len, lower, bytes);
}

void scenario_profile(uint64_t h, struct scenario_profile *p)
{
	double u = scenario_uniform(h, SALT_KIND, 0);
	double f = scenario_uniform(h, SALT_FORMAT, 0);

	memset(p, 0, sizeof(*p));
	if(u < 0.55)
		p->kind = KIND_EDU_APPROVED;
	else if(u < 0.63)
		p->kind = KIND_EDU_INREVIEW;
	else if(u < 0.70)
		p->kind = KIND_EDU_DENIED;
	else if(u < 0.75)
		p->kind = KIND_GCC_SOE;
	else if(u < 0.78)
		p->kind = KIND_SOE;
	else if(u < 0.80)
		p->kind = KIND_EDU_SOE;
	else
		p->kind = KIND_NONE;

	switch(p->kind) {
	case KIND_EDU_APPROVED:
		p->has_date = scenario_uniform(h, SALT_HAS_DATE, 0) < 0.35;
		break;
	case KIND_EDU_INREVIEW:
	case KIND_EDU_DENIED:
	case KIND_GCC_SOE:
		p->has_date = 1;
		break;
	default:
		break;
	}
	if(p->kind == KIND_EDU_DENIED)
		p->reason = reasons[draw64(h, SALT_REASON, 0) %
				    (sizeof(reasons) / sizeof(reasons[0]))];
	p->wrapped = scenario_uniform(h, SALT_SHAPE, 0) < 0.10;
	p->created_key = scenario_uniform(h, SALT_KEY, 0) < 0.20;
	p->bom = scenario_uniform(h, SALT_BOM, 0) < 0.03;
	p->date_format = f < 0.40 ? 0 : f < 0.70 ? 1 : 2;
	p->date_s = DATE_FIRST + (int64_t)(draw64(h, SALT_DATE, 0) % DATE_SPAN);
	p->date_frac = (uint32_t)(draw64(h, SALT_FRAC, 0) % 10000000u);
}

/* A bounded appender: a body never outgrows SCENARIO_BODY_MAX. */
struct out {
	char *buf;
	size_t len;
};

static void put(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if(n > SCENARIO_BODY_MAX - 1 - o->len)
		n = SCENARIO_BODY_MAX - 1 - o->len;
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void putf(struct out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void putf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, SCENARIO_BODY_MAX - o->len, fmt, ap);
	va_end(ap);
	if(n > 0)
		o->len += (size_t)n < SCENARIO_BODY_MAX - o->len ?
			  (size_t)n : SCENARIO_BODY_MAX - 1 - o->len;
}

static void format_date(const struct scenario_profile *p, char *out,
			size_t cap)
{
	struct tm tm;
	time_t t = (time_t)p->date_s;
	char base[32];

	gmtime_r(&t, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	switch(p->date_format) {
	case 0:
		snprintf(out, cap, "%s.%03uZ", base,
			 (unsigned)(p->date_frac / 10000));
		break;
	case 1:
		snprintf(out, cap, "%sZ", base);
		break;
	default:
		snprintf(out, cap, "%s.%07u+00:00", base,
			 (unsigned)p->date_frac);
		break;
	}
}

struct member {
	const char *key;
	const char *value;
	const char *comment; /* doc style only */
};

struct entry {
	struct member m[4];
	int n;
};

static void add(struct entry *e, const char *key, const char *value,
		const char *comment)
{
	e->m[e->n].key = key;
	e->m[e->n].value = value;
	e->m[e->n].comment = comment;
	e->n++;
}

static void emit_compact(struct out *o, const struct entry *e, int ne)
{
	put(o, "[");
	for(int i = 0; i < ne; i++) {
		put(o, i ? ",{" : "{");
		for(int j = 0; j < e[i].n; j++)
			putf(o, "%s\"%s\":\"%s\"", j ? "," : "", e[i].m[j].key,
			     e[i].m[j].value);
		put(o, "}");
	}
	put(o, "]");
}

static void emit_doc(struct out *o, const struct entry *e, int ne,
		     const char *indent)
{
	if(!ne) {
		put(o, "[]");
		return;
	}
	put(o, "[\n");
	for(int i = 0; i < ne; i++) {
		putf(o, "%s    {\n", indent);
		for(int j = 0; j < e[i].n; j++) {
			const struct member *m = &e[i].m[j];
			int last = j == e[i].n - 1;

			putf(o, "%s        \"%s\": \"%s\"", indent, m->key,
			     m->value);
			if(!last || !m->comment)
				put(o, ",");
			if(m->comment)
				putf(o, " // %s", m->comment);
			put(o, "\n");
		}
		putf(o, "%s    }%s\n", indent, i < ne - 1 ? "," : "");
	}
	putf(o, "%s]", indent);
}

size_t scenario_render(const struct scenario_profile *p, int doc_style,
		       char *buf)
{
	struct out o = {buf, 0};
	struct entry e[2];
	char date[48];
	const char *date_key = p->created_key ? "vettingCreatedDate" :
						"vettingCreateDate";
	int ne = 0;

	buf[0] = '\0';
	memset(e, 0, sizeof(e));
	format_date(p, date, sizeof(date));
	switch(p->kind) {
	case KIND_NONE:
		break;
	case KIND_EDU_APPROVED:
	case KIND_EDU_INREVIEW:
	case KIND_EDU_DENIED:
	case KIND_EDU_SOE:
		add(&e[0], "qualification", "Education", NULL);
		add(&e[0], "vettingStatus",
		    p->kind == KIND_EDU_INREVIEW ? "InReview" :
		    p->kind == KIND_EDU_DENIED ? "Denied" : "Approved", NULL);
		if(p->reason)
			add(&e[0], "vettingReason", p->reason,
			    "example Vetting Reason");
		if(p->has_date)
			add(&e[0], date_key, date, "UTC");
		ne = 1;
		break;
	case KIND_GCC_SOE:
		add(&e[0], "qualification", "GovernmentCommunityCloud", NULL);
		add(&e[0], "vettingStatus", "Approved", NULL);
		if(p->has_date)
			add(&e[0], date_key, date, "UTC");
		ne = 1;
		break;
	case KIND_SOE:
		break;
	}
	if(p->kind == KIND_SOE || p->kind == KIND_GCC_SOE ||
	   p->kind == KIND_EDU_SOE)
		add(&e[ne++], "qualification", "StateOwnedEntity", NULL);

	if(p->bom)
		put(&o, "\xEF\xBB\xBF");
	if(!doc_style) {
		if(p->wrapped)
			put(&o, "{\"qualifications\":");
		emit_compact(&o, e, ne);
		if(p->wrapped)
			put(&o, "}");
	} else if(p->wrapped) {
		put(&o, "{\n    \"qualifications\": ");
		emit_doc(&o, e, ne, "    ");
		put(&o, "\n}\n");
	} else {
		emit_doc(&o, e, ne, "");
		put(&o, "\n");
	}
	return o.len;
}

int scenario_unknown(uint64_t h, double unknown_rate)
{
	return scenario_uniform(h, SALT_UNKNOWN, 0) < unknown_rate;
}

enum scenario_fault scenario_fault(const struct scenario_rates *r,
				   uint64_t h, uint32_t n)
{
	double u = scenario_uniform(h, SALT_FAULT, n);

	if(u < r->drop)
		return FAULT_DROP;
	u -= r->drop;
	if(u < r->fail)
		return FAULT_FAIL;
	u -= r->fail;
	if(u < r->malformed)
		return FAULT_MALFORMED;
	return FAULT_NONE;
}

int scenario_fail_status(uint64_t h, uint32_t n)
{
	return scenario_uniform(h, SALT_FAIL_STATUS, n) < 0.5 ? 500 : 503;
}

static const char html_page[] =
	"<!DOCTYPE html>\n<html><head><title>Service Unavailable</title>"
	"</head>\n<body><h1>Service Unavailable</h1>\n<p>The service is "
	"temporarily unable to handle the request.</p></body></html>\n";

size_t scenario_malformed(uint64_t h, uint32_t n, const char *body,
			  size_t len, char *buf, int *html)
{
	size_t cut;

	if(scenario_uniform(h, SALT_MALFORMED, n) < 0.5 || len < 2) {
		*html = 1;
		memcpy(buf, html_page, sizeof(html_page));
		return sizeof(html_page) - 1;
	}
	*html = 0;
	cut = len / 2;
	if(cut >= SCENARIO_BODY_MAX)
		cut = SCENARIO_BODY_MAX - 1;
	memcpy(buf, body, cut);
	buf[cut] = '\0';
	return cut;
}

unsigned scenario_jitter(uint64_t h, uint32_t n, unsigned jitter_ms)
{
	if(!jitter_ms)
		return 0;
	return (unsigned)(draw64(h, SALT_JITTER, n) %
			  ((uint64_t)jitter_ms + 1));
}

void scenario_bucket_init(struct scenario_bucket *b, double rate,
			  double burst, uint64_t now_ns)
{
	b->rate = rate;
	if(burst <= 0)
		burst = rate / 10;
	b->capacity = burst > 1 ? burst : 1;
	b->tokens = b->capacity;
	b->last_ns = now_ns;
}

/* Whole seconds for a wait of `seconds`, rounded up, in 1..86400. */
static unsigned whole_seconds(double seconds)
{
	double wait = ceil(seconds);

	if(wait < 1)
		return 1;
	if(wait > 86400)
		return 86400;
	return (unsigned)wait;
}

unsigned scenario_bucket_take(struct scenario_bucket *b, uint64_t now_ns)
{
	if(now_ns > b->last_ns) {
		b->tokens += (double)(now_ns - b->last_ns) / 1e9 * b->rate;
		if(b->tokens > b->capacity)
			b->tokens = b->capacity;
		b->last_ns = now_ns;
	}
	if(b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	return whole_seconds((1 - b->tokens) / b->rate);
}

void scenario_window_init(struct scenario_window *w, unsigned limit,
			  uint64_t length_ns)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit;
	w->length_ns = length_ns ? length_ns : 1;
}

unsigned scenario_window_take(struct scenario_window *w, uint64_t now_ns,
			      int *in_first)
{
	if(!w->started) {
		w->started = 1;
		w->start_ns = w->first_ns = now_ns;
	} else if(now_ns >= w->start_ns + w->length_ns) {
		/* whole windows only: the grid stays on the first request */
		w->start_ns += (now_ns - w->start_ns) / w->length_ns *
			       w->length_ns;
		w->used = 0;
	}
	if(in_first)
		*in_first = w->start_ns == w->first_ns;
	if(w->used < w->limit) {
		w->used++;
		return 0;
	}
	/* now_ns may trail start_ns by a thread's race for the lock */
	if(now_ns < w->start_ns)
		now_ns = w->start_ns;
	return whole_seconds((double)(w->start_ns + w->length_ns - now_ns) /
			     1e9);
}

int scenario_parse_window(const char *s, unsigned *limit,
			  uint64_t *length_ns)
{
	unsigned long long n = 0;
	const char *p = s;
	char *end;
	double secs;

	if(*p < '0' || *p > '9')
		return 0;
	for(; *p >= '0' && *p <= '9'; p++) {
		n = n * 10 + (unsigned)(*p - '0');
		if(n > 1000000000ull)
			return 0;
	}
	if(*p++ != '/' || n == 0 || *p < '0' || *p > '9' ||
	   p[strspn(p, "0123456789.")])
		return 0;
	secs = strtod(p, &end);
	if(*end || !(secs >= 0.001 && secs <= 86400))
		return 0;
	*limit = (unsigned)n;
	*length_ns = (uint64_t)llround(secs * 1e9);
	return 1;
}

size_t scenario_api_error(long code, const char *desc, char *buf)
{
	int n = snprintf(buf, SCENARIO_BODY_MAX,
			 "{\"code\":%ld,\"description\":\"%s\",\"data\":[],"
			 "\"source\":\"PartnerFD\"}", code, desc);

	return n < 0 ? 0 : (size_t)n;
}

size_t scenario_throttle_body(unsigned seconds, char *buf)
{
	int n = snprintf(buf, SCENARIO_BODY_MAX,
			 "{\"statusCode\":429,\"message\":\"Rate limit is "
			 "exceeded. Try again in %u seconds.\"}", seconds);

	return n < 0 ? 0 : (size_t)n;
}
