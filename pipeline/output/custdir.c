/*
 * custdir.c: see custdir.h. The file is a sequence of records
 *   u64 index, u32 name, u32 domain, u32 relationship, then the bytes
 * where each u32 is the string's length + 1 (0: NULL), in host byte
 * order (the file never outlives the process).
 */
#include "custdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

#define IO_BUF (256 * 1024)
/* A longer string is cut: a company name of megabytes is not a name. */
#define FIELD_MAX (64u * 1024u)

struct custdir {
	FILE *fp;
	size_t count;
	size_t last;               /* last index added */
	uint64_t written;          /* bytes handed to fp */
	uint64_t flushed;          /* of them, in the file */
	struct buf rec;
	char *iobuf;
	/* custdir_name_of's cursor: the next record's offset and index */
	uint64_t rd_off;
	size_t rd_asked;
	struct buf rd_name;
};

struct head {
	uint64_t index;
	uint32_t len[3];
};

/* An unlinked temporary file, O_TMPFILE where the file system has it. */
static int temp_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if(!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if(fd >= 0)
		return fd;
#endif
	if(snprintf(path, sizeof(path), "%s/.qualreport-custdir.XXXXXX",
		    dir) >= (int)sizeof(path))
		return -1;
	fd = mkstemp(path);
	if(fd >= 0)
		unlink(path);
	return fd;
}

enum pl_status custdir_new(struct custdir **out, struct pl_err *err)
{
	struct custdir *d = calloc(1, sizeof(*d));
	int fd;

	*out = NULL;
	if(!d || !(d->iobuf = malloc(IO_BUF))) {
		free(d);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	buf_init(&d->rec, 0);
	buf_init(&d->rd_name, 0);
	fd = temp_fd();
	if(fd >= 0)
		d->fp = fdopen(fd, "w+b");
	if(!d->fp) {
		int e = errno;

		if(fd >= 0)
			close(fd);
		custdir_free(d);
		return pl_fail(err, PL_EOUTPUT, "cannot make a temporary file "
			       "for the customers' names in %s: %s",
			       getenv("TMPDIR") && *getenv("TMPDIR")
			       ? getenv("TMPDIR") : "/tmp", strerror(e));
	}
	setvbuf(d->fp, d->iobuf, _IOFBF, IO_BUF);
	*out = d;
	return PL_OK;
}

static uint32_t field_len(const char *s)
{
	size_t n;

	if(!s)
		return 0;
	n = strlen(s);
	return (uint32_t)(n > FIELD_MAX ? FIELD_MAX : n) + 1;
}

enum pl_status custdir_add(struct custdir *d, size_t index,
			   const struct customer_info *info,
			   struct pl_err *err)
{
	const char *f[3] = {NULL, NULL, NULL};
	struct head h;

	if(d->count && index <= d->last)
		return pl_fail(err, PL_EINTERNAL, "custdir: index %zu after "
			       "%zu", index, d->last);
	if(info) {
		f[0] = info->name;
		f[1] = info->domain;
		f[2] = info->relationship;
	}
	memset(&h, 0, sizeof(h));
	h.index = index;
	buf_reset(&d->rec);
	for(int i = 0; i < 3; i++)
		h.len[i] = field_len(f[i]);
	if(buf_add(&d->rec, &h, sizeof(h)))
		return pl_fail(err, PL_ENOMEM, "out of memory");
	for(int i = 0; i < 3; i++)
		if(h.len[i] > 1 && buf_add(&d->rec, f[i], h.len[i] - 1))
			return pl_fail(err, PL_ENOMEM, "out of memory");
	if(fwrite(d->rec.data, 1, d->rec.len, d->fp) != d->rec.len)
		return pl_fail(err, PL_EOUTPUT, "cannot write the customers' "
			       "names to a temporary file: %s",
			       strerror(errno));
	d->count++;
	d->last = index;
	d->written += d->rec.len;
	return PL_OK;
}

size_t custdir_count(const struct custdir *d)
{
	return d ? d->count : 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

static enum pl_status read_fail(struct custdir *d, struct pl_err *err)
{
	int e = ferror(d->fp) ? errno : EIO;

	clearerr(d->fp);
	fseek(d->fp, 0, SEEK_END);
	return pl_fail(err, PL_EOUTPUT, "cannot read back the customers' "
		       "names: %s", e ? strerror(e) : "cut short");
}

enum pl_status custdir_lookup(struct custdir *d, const size_t *indices,
			      size_t n, custdir_fn fn, void *ctx,
			      struct pl_err *err)
{
	size_t *want = NULL, k = 0;
	struct buf text = BUF_INIT;
	enum pl_status st = PL_OK;
	struct head h;

	if(!n || !d->count)
		return PL_OK;
	want = malloc(n * sizeof(*want));
	if(!want)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	memcpy(want, indices, n * sizeof(*want));
	qsort(want, n, sizeof(*want), cmp_size);
	if(fflush(d->fp) || fseek(d->fp, 0, SEEK_SET)) {
		free(want);
		return read_fail(d, err);
	}
	d->flushed = d->written;
	for(size_t r = 0; r < d->count && k < n; r++) {
		size_t len, off[3];
		const char *f[3];
		struct customer_info info;

		if(fread(&h, sizeof(h), 1, d->fp) != 1) {
			st = read_fail(d, err);
			break;
		}
		len = 0;
		for(int i = 0; i < 3; i++) {
			off[i] = len;
			len += h.len[i] ? h.len[i] - 1 : 0;
		}
		while(k < n && want[k] < h.index)
			k++;
		if(k == n || want[k] != h.index) {
			if(len && fseek(d->fp, (long)len, SEEK_CUR)) {
				st = read_fail(d, err);
				break;
			}
			continue;
		}
		buf_reset(&text);
		if(buf_grow(&text, len + 3)) {
			st = pl_fail(err, PL_ENOMEM, "out of memory");
			break;
		}
		if(len && fread(text.data, 1, len, d->fp) != len) {
			st = read_fail(d, err);
			break;
		}
		/* NUL-terminate each field in place, back to front */
		for(int i = 2; i >= 0; i--) {
			size_t flen = h.len[i] ? h.len[i] - 1 : 0;

			memmove(text.data + off[i] + (size_t)i,
				text.data + off[i], flen);
			text.data[off[i] + (size_t)i + flen] = '\0';
			f[i] = h.len[i] ? text.data + off[i] + (size_t)i
					: NULL;
		}
		info = (struct customer_info){f[0], f[1], f[2]};
		fn(ctx, (size_t)h.index, &info);
		while(k < n && want[k] == h.index)
			k++;
	}
	buf_release(&text);
	free(want);
	if(!st && fseek(d->fp, 0, SEEK_END))
		st = read_fail(d, err);
	return st;
}

/* pread all of n bytes at off (flushing what is still buffered first).
 * true, or false at a short read or an error. */
static bool read_at(struct custdir *d, uint64_t off, void *p, size_t n)
{
	size_t done = 0;

	if(off + n > d->flushed) {
		if(fflush(d->fp))
			return false;
		d->flushed = d->written;
	}
	while(done < n) {
		ssize_t r = pread(fileno(d->fp), (char *)p + done, n - done,
				  (off_t)(off + done));

		if(r < 0 && errno == EINTR)
			continue;
		if(r <= 0)
			return false;
		done += (size_t)r;
	}
	return true;
}

const char *custdir_name_of(void *ctx, size_t index)
{
	struct custdir *d = ctx;
	struct head h;
	size_t len;

	if(!d)
		return NULL;
	if(index < d->rd_asked)
		d->rd_off = 0;
	d->rd_asked = index;
	while(d->rd_off + sizeof(h) <= d->written) {
		if(!read_at(d, d->rd_off, &h, sizeof(h)))
			return NULL;
		if(h.index > index)
			return NULL;
		len = 0;
		for(int i = 0; i < 3; i++)
			len += h.len[i] ? h.len[i] - 1 : 0;
		if(h.index < index) {
			d->rd_off += sizeof(h) + len;
			continue;
		}
		d->rd_off += sizeof(h) + len;
		if(!h.len[0])
			return NULL;
		buf_reset(&d->rd_name);
		if(buf_grow(&d->rd_name, h.len[0]) ||
		   !read_at(d, d->rd_off - len, d->rd_name.data,
			    h.len[0] - 1))
			return NULL;
		d->rd_name.len = h.len[0] - 1;
		d->rd_name.data[d->rd_name.len] = '\0';
		return d->rd_name.data;
	}
	return NULL;
}

void custdir_free(struct custdir *d)
{
	if(!d)
		return;
	if(d->fp)
		fclose(d->fp);
	buf_release(&d->rec);
	buf_release(&d->rd_name);
	free(d->iobuf);
	free(d);
}
