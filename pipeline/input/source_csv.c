/*
 * source_csv.c: the CSV source, today's input stage behind source.h:
 * csvin reads the file whole at start (streaming: only the 16-byte IDs
 * stay, in the caller's tenantset), every row goes to the sink as it is
 * read, and the bytes are hashed for the manifest and the journal.
 */
#include "source_impl.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "csvin.h"
#include "log.h"

struct source_csv {
	struct source base;
	struct source_csv_options opt;
	struct tenantset *tenants;
	struct source_sink sink;
	EVP_MD_CTX *hash;
	char sha256[65];
	uint64_t bytes;
	struct csvin_counts counts;
	bool done;
};

static void hash_bytes(void *ctx, const void *data, size_t len)
{
	struct source_csv *s = ctx;

	EVP_DigestUpdate(s->hash, data, len);
	s->bytes += len;
}

static void hex(const unsigned char *bytes, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for(size_t i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
}

static void log_input(const struct source_csv *s, const struct csvin *in)
{
	const struct csvin_counts *c = &s->counts;

	if(csvin_column_name(in))
		log_info("input %s: column %u '%s', %lu rows: %lu tenants, "
			 "%lu duplicate, %lu invalid, %lu blank", s->opt.path,
			 csvin_column(in), csvin_column_name(in), c->rows,
			 c->tenants, c->duplicates, c->rejects, c->blanks);
	else
		log_info("input %s: column %u (no header), %lu rows: %lu "
			 "tenants, %lu duplicate, %lu invalid, %lu blank",
			 s->opt.path, csvin_column(in), c->rows, c->tenants,
			 c->duplicates, c->rejects, c->blanks);
}

/* One row of the file to the sink. */
static enum pl_status deliver(struct source_csv *s,
			      const struct csvin_event *ev,
			      struct pl_err *err)
{
	struct customer_info info = {ev->name, ev->domain, NULL};
	const struct source_sink *k = &s->sink;

	if(ev->kind == CSVIN_TENANT && k->on_tenant)
		return k->on_tenant(k->ctx, tenantset_count(s->tenants) - 1,
				    s->opt.want_names ? &info : NULL, err);
	if(ev->kind != CSVIN_REJECT)
		return PL_OK;
	log_debug("%s:%lu: rejected '%.*s': %s", s->opt.path, ev->line,
		  (int)(ev->value_len > 80 ? 80 : ev->value_len), ev->value,
		  ev->reason);
	if(!k->on_reject)
		return PL_OK;
	return k->on_reject(k->ctx, ev->line, ev->value, ev->value_len,
			    ev->reason, err);
}

static enum pl_status csv_start(struct source *base, struct pl_err *err)
{
	struct source_csv *s = (struct source_csv *)base;
	struct csvin_options opt = {0};
	struct csvin *in = NULL;
	struct csvin_event ev;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len = 0;
	enum pl_status st;

	opt.seen = s->tenants;
	opt.column = s->opt.column;
	opt.want_names = s->opt.want_names;
	opt.on_bytes = hash_bytes;
	opt.on_bytes_ctx = s;
	st = csvin_open(s->opt.path, &opt, &in, err);
	if(st)
		return st;
	for(;;) {
		st = csvin_next(in, &ev, err);
		if(st || ev.kind == CSVIN_END)
			break;
		st = deliver(s, &ev, err);
		if(st)
			break;
		if(s->opt.stop && *s->opt.stop) {
			st = pl_fail(err, PL_EINTERRUPTED,
				     "interrupted while reading %s",
				     s->opt.path);
			break;
		}
	}
	s->counts = *csvin_counts(in);
	if(!st) {
		log_input(s, in);
		s->done = true;
	}
	csvin_free(in);
	EVP_DigestFinal_ex(s->hash, digest, &digest_len);
	hex(digest, digest_len, s->sha256);
	return st;
}

static bool csv_is_complete(const struct source *base)
{
	return ((const struct source_csv *)base)->done;
}

static void csv_counts(const struct source *base, struct source_counts *c)
{
	const struct source_csv *s = (const struct source_csv *)base;

	c->rows = s->counts.rows;
	c->tenants = s->counts.tenants;
	c->duplicates = s->counts.duplicates;
	c->rejects = s->counts.rejects;
	c->blanks = s->counts.blanks;
}

static void csv_free(struct source *base)
{
	struct source_csv *s = (struct source_csv *)base;

	EVP_MD_CTX_free(s->hash);
	free(s);
}

static const struct source_ops csv_ops = {
	.start = csv_start,
	.is_complete = csv_is_complete,
	.counts = csv_counts,
	.free = csv_free,
};

enum pl_status source_csv_new(const struct source_csv_options *opt,
			      struct tenantset *tenants,
			      const struct source_sink *sink,
			      struct source **out, struct pl_err *err)
{
	struct source_csv *s = calloc(1, sizeof(*s));

	*out = NULL;
	if(!s)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	s->base.ops = &csv_ops;
	s->opt = *opt;
	s->tenants = tenants;
	s->sink = *sink;
	s->hash = EVP_MD_CTX_new();
	if(!s->hash || !EVP_DigestInit_ex(s->hash, EVP_sha256(), NULL)) {
		csv_free(&s->base);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	*out = &s->base;
	return PL_OK;
}

const char *source_csv_sha256(const struct source *base)
{
	return base->ops == &csv_ops ? ((const struct source_csv *)base)->sha256
				     : "";
}

uint64_t source_csv_bytes(const struct source *base)
{
	return base->ops == &csv_ops ? ((const struct source_csv *)base)->bytes
				     : 0;
}
