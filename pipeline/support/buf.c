#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

/* What an empty buffer points at. Never written: every write first
 * allocates (buf_grow), and buf_setlen/buf_reset write the NUL only when
 * memory is allocated. */
char buf_empty[1];

#define BUF_MIN_ALLOC 64

void buf_init(struct buf *b, size_t limit)
{
	b->data = buf_empty;
	b->len = 0;
	b->cap = 0;
	b->limit = limit ? limit : BUF_NO_LIMIT;
	b->secret = false;
}

void buf_init_secret(struct buf *b, size_t limit)
{
	buf_init(b, limit);
	b->secret = true;
}

enum pl_status buf_grow(struct buf *b, size_t extra)
{
	size_t need, cap;
	char *grown;

	if(extra > b->limit - b->len)
		return PL_ELIMIT;
	need = b->len + extra + 1;
	if(need <= b->cap)
		return PL_OK;
	cap = b->cap ? b->cap : BUF_MIN_ALLOC;
	while(cap < need)
		cap = cap > BUF_NO_LIMIT ? need : cap * 2;
	if(b->secret) {
		/* realloc may move the bytes and free the old block as it is:
		 * move them ourselves and wipe what they leave behind */
		grown = malloc(cap);
		if(!grown)
			return PL_ENOMEM;
		memcpy(grown, b->data, b->len + 1);
		if(b->cap) {
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
	} else {
		grown = realloc(b->cap ? b->data : NULL, cap);
		if(!grown)
			return PL_ENOMEM;
		if(!b->cap)
			grown[0] = '\0';
	}
	b->data = grown;
	b->cap = cap;
	return PL_OK;
}

enum pl_status buf_add(struct buf *b, const void *data, size_t n)
{
	enum pl_status st;

	if(!n)
		return PL_OK;
	st = buf_grow(b, n);
	if(st)
		return st;
	memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PL_OK;
}

enum pl_status buf_addstr(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

enum pl_status buf_addch(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

enum pl_status buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	enum pl_status st;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->cap ? b->data + b->len : NULL,
		      b->cap ? b->cap - b->len : 0, fmt, ap);
	va_end(ap);
	if(n < 0)
		return PL_EINTERNAL; /* a bad format: the caller's bug */
	if(b->cap && (size_t)n < b->cap - b->len) {
		if((size_t)n > b->limit - b->len) {
			b->data[b->len] = '\0';
			return PL_ELIMIT;
		}
		b->len += (size_t)n;
		return PL_OK;
	}
	if(b->cap)
		b->data[b->len] = '\0'; /* undo the truncated write */
	st = buf_grow(b, (size_t)n);
	if(st)
		return st;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return PL_OK;
}

enum pl_status buf_fread(struct buf *b, size_t n, FILE *fp, size_t *got)
{
	enum pl_status st;

	*got = 0;
	if(!n)
		return PL_OK;
	st = buf_grow(b, n);
	if(st)
		return st;
	*got = fread(b->data + b->len, 1, n, fp);
	b->len += *got;
	b->data[b->len] = '\0';
	return PL_OK;
}

void buf_setlen(struct buf *b, size_t len)
{
	if(len > b->len)
		return;
	if(b->secret && b->cap)
		OPENSSL_cleanse(b->data + len, b->len - len);
	b->len = len;
	if(b->cap)
		b->data[len] = '\0';
}

void buf_remove(struct buf *b, size_t pos, size_t n)
{
	if(pos >= b->len || !n)
		return;
	if(n > b->len - pos)
		n = b->len - pos;
	memmove(b->data + pos, b->data + pos + n, b->len - pos - n);
	buf_setlen(b, b->len - n);
}

void buf_reset(struct buf *b)
{
	buf_setlen(b, 0);
}

void buf_trim(struct buf *b, size_t keep)
{
	if(b->cap > keep)
		buf_release(b);
	else
		buf_reset(b);
}

char *buf_detach(struct buf *b, size_t *len)
{
	char *data;

	if(!b->cap && buf_grow(b, 0))
		return NULL;
	data = b->data;
	if(len)
		*len = b->len;
	b->data = buf_empty;
	b->len = b->cap = 0;
	return data;
}

void buf_release(struct buf *b)
{
	if(b->cap) {
		if(b->secret)
			OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = buf_empty;
	b->len = b->cap = 0;
}
