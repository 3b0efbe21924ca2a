#include "outfile.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#define ZLIB_CONST
#include <zlib.h>

#define OUTBUF_SIZE (64 * 1024)
/* Room for every output of a run (detail, summary, rejects, manifest,
 * journal snapshots) with plenty to spare. */
#define TEMP_SLOTS 32
#define TEMP_PATH_MAX 4096
/* Keep ".<base>.<pid>.<n>.tmp" under NAME_MAX (255) for any base. */
#define TEMP_BASE_MAX 200

/*
 * The registry of temporary files for outfile_abort_all_unlink(). Each slot
 * holds its name in static storage, so the interrupt path reads no heap
 * and frees nothing. A slot is LIVE from just before the temporary file is
 * created until just after it is renamed or unlinked; BUSY while its name
 * is being written, so a concurrent scan never reads half a name.
 */
enum { SLOT_FREE = 0, SLOT_BUSY, SLOT_LIVE };

static struct temp_slot {
	atomic_int state;
	char path[TEMP_PATH_MAX];
} temp_slots[TEMP_SLOTS];

static atomic_uint temp_counter;

struct outfile {
	char *path;       /* target, as given */
	const char *name; /* for messages: path, or "standard output" */
	int fd;
	int is_stdout;
	int slot;         /* registry slot of the temporary file, or -1 */
	int err_no;       /* sticky: the first write error */
	int gzip;         /* deflate stream initialized */
	z_stream zs;
	EVP_MD_CTX *md;
	uint64_t bytes;
	unsigned char *buf;
	size_t buflen;
	int finished;     /* outfile_finish succeeded: only the rename left */
	struct outfile_stats stats; /* valid once finished */
};

static int slot_claim(void)
{
	for(int i = 0; i < TEMP_SLOTS; i++) {
		int expect = SLOT_FREE;

		if(atomic_compare_exchange_strong(&temp_slots[i].state,
						  &expect, SLOT_BUSY))
			return i;
	}
	return -1;
}

static void slot_release(int slot)
{
	if(slot >= 0)
		atomic_store(&temp_slots[slot].state, SLOT_FREE);
}

void outfile_abort_all_unlink(void)
{
	for(int i = 0; i < TEMP_SLOTS; i++)
		if(atomic_load(&temp_slots[i].state) == SLOT_LIVE)
			unlink(temp_slots[i].path);
}

static void outfile_free(struct outfile *f)
{
	if(f->gzip)
		deflateEnd(&f->zs);
	EVP_MD_CTX_free(f->md);
	free(f->buf);
	free(f->path);
	free(f);
}

/* Close the descriptor (never stdout's) and remove the temporary file. */
static void discard(struct outfile *f)
{
	if(f->fd >= 0 && !f->is_stdout)
		close(f->fd);
	f->fd = -1;
	if(f->slot >= 0)
		unlink(temp_slots[f->slot].path);
	slot_release(f->slot);
	f->slot = -1;
}

static enum pl_status write_failed(struct outfile *f, int e,
				   struct pl_err *err)
{
	if(!f->err_no)
		f->err_no = e;
	return pl_fail(err, PL_EOUTPUT, "cannot write %s: %s", f->name,
		       strerror(f->err_no));
}

/*
 * The directory part of path with its trailing slash ("" for a bare
 * name), as a length into path.
 */
static size_t dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/*
 * Remove temporary files a killed run (kill -9, power loss) left beside
 * this target: ".<base>.<pid>.<n>.tmp" whose pid no longer runs. Files of
 * a live process (another run writing the same target) are left alone.
 */
static void remove_stale_temps(const char *path)
{
	size_t dlen = dir_len(path);
	const char *base = path + dlen;
	size_t blen = strlen(base);
	char dir[TEMP_PATH_MAX], stale[TEMP_PATH_MAX];
	struct dirent *de;
	DIR *d;

	if(dlen >= sizeof(dir) || blen > TEMP_BASE_MAX)
		return;
	if(dlen)
		snprintf(dir, sizeof(dir), "%.*s", (int)dlen, path);
	else
		snprintf(dir, sizeof(dir), ".");
	d = opendir(dir);
	if(!d)
		return;
	while((de = readdir(d))) {
		const char *name = de->d_name, *p;
		char *end;
		long pid;
		size_t len = strlen(name);

		if(name[0] != '.' || strncmp(name + 1, base, blen) ||
		   name[1 + blen] != '.' || len < 4 ||
		   strcmp(name + len - 4, ".tmp"))
			continue;
		p = name + 2 + blen;
		pid = strtol(p, &end, 10);
		if(end == p || *end != '.' || pid <= 0 || pid == getpid())
			continue;
		if(kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if(snprintf(stale, sizeof(stale), "%.*s%s", (int)dlen, path,
			    name) < (int)sizeof(stale))
			unlink(stale);
	}
	closedir(d);
}

/*
 * Create "<dir>/.<base>.<pid>.<n>.tmp" with O_EXCL and mode 0666, so the
 * umask decides the final permissions as for any new file (mkstemp's 0600
 * would make every report private to the user). The name is registered
 * before the file exists, so an interrupt can never miss it.
 */
static enum pl_status open_temp(struct outfile *f, struct pl_err *err)
{
	size_t dlen = dir_len(f->path);
	const char *base = f->path + dlen;
	int e = 0;

	remove_stale_temps(f->path);
	f->slot = slot_claim();
	if(f->slot < 0)
		return pl_fail(err, PL_EOUTPUT,
			       "cannot open %s: too many open outputs",
			       f->path);
	for(int tries = 0; tries < 100; tries++) {
		struct temp_slot *s = &temp_slots[f->slot];
		unsigned n = atomic_fetch_add(&temp_counter, 1);
		int len;

		atomic_store(&s->state, SLOT_BUSY);
		len = snprintf(s->path, sizeof(s->path), "%.*s.%.*s.%ld.%u.tmp",
			       (int)dlen, f->path, TEMP_BASE_MAX, base,
			       (long)getpid(), n);
		if(len < 0 || (size_t)len >= sizeof(s->path)) {
			e = ENAMETOOLONG;
			break;
		}
		atomic_store(&s->state, SLOT_LIVE);
		f->fd = open(s->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			     0666);
		if(f->fd >= 0)
			return PL_OK;
		e = errno;
		if(e != EEXIST)
			break;
	}
	slot_release(f->slot);
	f->slot = -1;
	return pl_fail(err, PL_EOUTPUT, "cannot open %s: %s", f->path,
		       strerror(e));
}

enum pl_status outfile_open(const char *path, int gzip, struct outfile **out,
			    struct pl_err *err)
{
	struct outfile *f;
	struct stat st;
	enum pl_status rc;

	*out = NULL;
	f = calloc(1, sizeof(*f));
	if(!f)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	f->fd = -1;
	f->slot = -1;
	f->path = strdup(path);
	f->buf = malloc(OUTBUF_SIZE);
	f->md = EVP_MD_CTX_new();
	if(!f->path || !f->buf || !f->md) {
		rc = pl_fail(err, PL_ENOMEM, "out of memory");
		goto fail;
	}
	f->name = f->path;
	if(!EVP_DigestInit_ex(f->md, EVP_sha256(), NULL)) {
		rc = pl_fail(err, PL_EOUTPUT, "cannot open %s: no SHA-256",
			     path);
		goto fail;
	}
	if(gzip) {
		/* windowBits 15 + 16: gzip framing; mtime 0 in the header
		 * keeps the bytes reproducible. */
		if(deflateInit2(&f->zs, 6, Z_DEFLATED, 15 + 16, 8,
				Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = pl_fail(err, PL_ENOMEM, "out of memory");
			goto fail;
		}
		f->gzip = 1;
	}

	if(!strcmp(path, "-")) {
		f->fd = STDOUT_FILENO;
		f->is_stdout = 1;
		f->name = "standard output";
	} else if(stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		/*
		 * A device or FIFO (/dev/null, /dev/full, a named pipe) is
		 * written in place: a rename would replace the device node
		 * itself (we may be root), which is never what was meant.
		 */
		f->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if(f->fd < 0) {
			rc = pl_fail(err, PL_EOUTPUT, "cannot open %s: %s",
				     path, strerror(errno));
			goto fail;
		}
	} else {
		rc = open_temp(f, err);
		if(rc)
			goto fail;
	}
	*out = f;
	return PL_OK;
fail:
	discard(f);
	outfile_free(f);
	return rc;
}

/* Write the buffer out; the digest sees exactly what reached the file. */
static enum pl_status flush_buf(struct outfile *f, struct pl_err *err)
{
	const unsigned char *p = f->buf;
	size_t n = f->buflen;

	while(n) {
		ssize_t w = write(f->fd, p, n);

		if(w < 0) {
			if(errno == EINTR)
				continue;
			return write_failed(f, errno, err);
		}
		if(w == 0)
			return write_failed(f, EIO, err);
		p += w;
		n -= (size_t)w;
	}
	if(!EVP_DigestUpdate(f->md, f->buf, f->buflen))
		return write_failed(f, EIO, err);
	f->bytes += f->buflen;
	f->buflen = 0;
	return PL_OK;
}

/*
 * Run deflate over the pending input into the buffer, draining the buffer
 * whenever it fills. Z_NO_FLUSH: until all input is taken; Z_FINISH: until
 * the stream (trailer included) is complete.
 */
static enum pl_status pump(struct outfile *f, int flush, struct pl_err *err)
{
	int zr;

	for(;;) {
		if(f->buflen == OUTBUF_SIZE && flush_buf(f, err))
			return PL_EOUTPUT;
		f->zs.next_out = f->buf + f->buflen;
		f->zs.avail_out = (uInt)(OUTBUF_SIZE - f->buflen);
		zr = deflate(&f->zs, flush);
		f->buflen = OUTBUF_SIZE - f->zs.avail_out;
		if(zr == Z_STREAM_ERROR)
			return write_failed(f, EIO, err);
		if(flush == Z_FINISH ? zr == Z_STREAM_END
				     : f->zs.avail_out != 0)
			return PL_OK;
	}
}

enum pl_status outfile_write(struct outfile *f, const void *data, size_t len,
			     struct pl_err *err)
{
	const unsigned char *p = data;

	if(f->err_no)
		return write_failed(f, f->err_no, err);
	if(f->gzip) {
		while(len) {
			/* avail_in is a uInt: feed huge writes in pieces */
			uInt chunk = len > 1u << 30 ? 1u << 30 : (uInt)len;

			f->zs.next_in = p;
			f->zs.avail_in = chunk;
			if(pump(f, Z_NO_FLUSH, err))
				return PL_EOUTPUT;
			p += chunk;
			len -= chunk;
		}
		return PL_OK;
	}
	while(len) {
		size_t room = OUTBUF_SIZE - f->buflen;
		size_t n = len < room ? len : room;

		memcpy(f->buf + f->buflen, p, n);
		f->buflen += n;
		p += n;
		len -= n;
		if(f->buflen == OUTBUF_SIZE && flush_buf(f, err))
			return PL_EOUTPUT;
	}
	return PL_OK;
}

/* fsync the directory holding path, so the rename itself is durable. */
static int sync_dir(const char *path)
{
	size_t dlen = dir_len(path);
	char *dir;
	int fd, e = 0;

	if(dlen == 0)
		dir = strdup(".");
	else if(dlen == 1)
		dir = strdup("/");
	else
		dir = strndup(path, dlen - 1);
	if(!dir)
		return ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if(fd < 0)
		return errno;
	/* Some filesystems cannot sync a directory: nothing more to do. */
	if(fsync(fd) && errno != EINVAL)
		e = errno;
	close(fd);
	return e;
}

enum pl_status outfile_finish(struct outfile *f, struct pl_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	struct stat st;
	enum pl_status rc;

	if(f->finished)
		return PL_OK;
	if(f->err_no)
		return write_failed(f, f->err_no, err);
	if(f->gzip) {
		f->zs.next_in = NULL;
		f->zs.avail_in = 0;
		rc = pump(f, Z_FINISH, err);
		if(rc)
			return rc;
	}
	rc = flush_buf(f, err);
	if(rc)
		return rc;
	/* Only a regular file has anything to sync; a pipe or terminal on
	 * stdout answers EINVAL, which is no failure. */
	if(fstat(f->fd, &st) == 0 && S_ISREG(st.st_mode) && fsync(f->fd) &&
	   errno != EINVAL)
		return write_failed(f, errno, err);
	if(!f->is_stdout) {
		int fd = f->fd;

		f->fd = -1;
		/* close() reports deferred write errors (NFS, quotas) */
		if(close(fd))
			return write_failed(f, errno, err);
	}
	if(!EVP_DigestFinal_ex(f->md, md, &mdlen))
		return pl_fail(err, PL_EOUTPUT,
			       "cannot write %s: SHA-256 failed", f->name);
	f->stats.bytes = f->bytes;
	for(unsigned i = 0; i < mdlen && i < 32; i++)
		snprintf(f->stats.sha256 + 2 * i, 3, "%02x", md[i]);
	f->stats.sha256[64] = '\0';
	f->finished = 1;
	return PL_OK;
}

enum pl_status outfile_commit(struct outfile *f, struct outfile_stats *stats,
			      struct pl_err *err)
{
	enum pl_status rc;
	int e;

	rc = outfile_finish(f, err);
	if(rc)
		goto fail;
	if(f->slot >= 0) {
		if(rename(temp_slots[f->slot].path, f->path)) {
			rc = write_failed(f, errno, err);
			goto fail;
		}
		slot_release(f->slot);
		f->slot = -1;
		e = sync_dir(f->path);
		if(e) {
			rc = pl_fail(err, PL_EOUTPUT, "cannot sync %s: %s",
				     f->path, strerror(e));
			goto fail;
		}
	}
	if(stats)
		*stats = f->stats;
	outfile_free(f);
	return PL_OK;
fail:
	discard(f);
	outfile_free(f);
	return rc;
}

void outfile_abort(struct outfile *f)
{
	if(!f)
		return;
	discard(f);
	outfile_free(f);
}

const struct outfile_stats *outfile_finished_stats(const struct outfile *f)
{
	return f->finished ? &f->stats : NULL;
}

const char *outfile_path(const struct outfile *f)
{
	return f->path;
}
