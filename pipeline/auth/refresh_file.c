#include "refresh_file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "civil.h"
#include "log.h"
#include "now.h"

#define HEADER_LINE "# qualreport refresh token: a secret, keep it mode 0600"
#define TEMP_SUFFIX_LEN 6  /* mkstemp's XXXXXX */
#define LOCK_POLL_NS (50 * 1000000L)

struct refresh_file {
	char *path;
	char *dir;            /* path's directory ("." when none) */
	const char *base;     /* path's last component, inside path */
	int fd;               /* locked; -1 when the file did not exist */
	bool exists;
	struct stat st;       /* of the file read */
	struct buf token;     /* secret */
	struct refresh_meta meta;
};

bool refresh_file_is_token_usable(const char *token, size_t len)
{
	if(!len || token[0] == '#')
		return false;
	for(size_t i = 0; i < len; i++)
		if((unsigned char)token[i] <= 0x20 ||
		   (unsigned char)token[i] >= 0x7f)
			return false;
	return true;
}

static bool parse_time(const char *s, int64_t *out)
{
	unsigned y, mo, d, h, mi, se;
	char z, extra;

	if(sscanf(s, "%4u-%2u-%2uT%2u:%2u:%2u%c%c", &y, &mo, &d, &h, &mi,
		  &se, &z, &extra) != 7 || z != 'Z' || mo < 1 || mo > 12 ||
	   d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return false;
	*out = civil_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se;
	return true;
}

static void copy_meta(char *dst, const char *src, size_t n)
{
	size_t k = 0;

	/* Printable ASCII only: it goes into messages. */
	for(size_t i = 0; i < n && k + 1 < REFRESH_META_MAX; i++)
		if((unsigned char)src[i] >= 0x20 &&
		   (unsigned char)src[i] < 0x7f)
			dst[k++] = src[i];
	dst[k] = '\0';
}

/* When line[0..n) is prefix then a value, copy the value (spaces
 * before it skipped) to dst. */
static bool header_value(const char *line, size_t n, const char *prefix,
			 char *dst)
{
	size_t pl = strlen(prefix);

	if(n <= pl || strncmp(line, prefix, pl))
		return false;
	for(line += pl, n -= pl; n && *line == ' '; line++, n--)
		;
	copy_meta(dst, line, n);
	return true;
}

/* "# key: value" */
static void header_line(struct refresh_meta *m, const char *line,
			size_t n)
{
	char when[REFRESH_META_MAX];

	if(header_value(line, n, "# rotated:", when)) {
		if(parse_time(when, &m->rotated_s))
			m->rotated_from_mtime = false;
	} else if(!header_value(line, n, "# client-id:", m->client_id)) {
		header_value(line, n, "# tenant:", m->tenant);
	}
}

/* Find the header and the token in the file's text. */
static enum pl_status parse(struct refresh_file *f, const struct buf *text,
			    struct pl_err *err)
{
	const char *p = text->data, *end = text->data + text->len;

	if(text->len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	f->meta.rotated_s = (int64_t)f->st.st_mtime;
	f->meta.rotated_from_mtime = true;
	f->meta.inode = (uint64_t)f->st.st_ino;
	while(p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		size_t n;

		while(le > p && (le[-1] == '\r' || le[-1] == ' ' ||
				 le[-1] == '\t'))
			le--;
		while(p < le && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(le - p);
		if(n && *p == '#') {
			header_line(&f->meta, p, n);
		} else if(n) {
			if(!refresh_file_is_token_usable(p, n))
				return pl_fail(err, PL_EAUTH, "%s does not "
					       "hold a usable refresh token "
					       "(spaces or control "
					       "characters): run qualreport "
					       "login --refresh-token-file %s",
					       f->path, f->path);
			if(buf_add(&f->token, p, n))
				return pl_fail(err, PL_ENOMEM,
					       "out of memory");
			return PL_OK;
		}
		p = nl ? nl + 1 : end;
	}
	return pl_fail(err, PL_EAUTH, "%s holds no refresh token: run "
		       "qualreport login --refresh-token-file %s", f->path,
		       f->path);
}

static int sleep_ns(long ns)
{
	struct timespec ts = {0, ns};

	return nanosleep(&ts, NULL);
}

/* Lock fd, waiting up to timeout_ms. 0, or -1 with errno (ETIMEDOUT). */
static int lock_wait(int fd, long timeout_ms)
{
	int64_t deadline = now_mono_ms() + timeout_ms;
	bool said = false;

	for(;;) {
		if(flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if(errno == EINTR)
			continue;
		if(errno != EWOULDBLOCK)
			return -1;
		if(now_mono_ms() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		if(!said) {
			log_info("waiting for another run to finish "
				 "rotating the refresh token");
			said = true;
		}
		sleep_ns(LOCK_POLL_NS);
	}
}

static enum pl_status split_path(struct refresh_file *f, const char *path,
				 struct pl_err *err)
{
	const char *slash = strrchr(path, '/');

	f->path = strdup(path);
	if(!f->path)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	f->base = f->path + (slash ? (size_t)(slash - path) + 1 : 0);
	if(!*f->base || !strcmp(f->base, ".") || !strcmp(f->base, ".."))
		return pl_fail(err, PL_EUSAGE, "refresh token file %s: not a "
			       "file name", path);
	if(!slash)
		f->dir = strdup(".");
	else if(slash == path)
		f->dir = strdup("/");
	else
		f->dir = strndup(path, (size_t)(slash - path));
	return f->dir ? PL_OK : pl_fail(err, PL_ENOMEM, "out of memory");
}

/* Open the path and lock it, again until the locked inode is the one
 * the path names (a rename may have replaced it while we waited). */
static enum pl_status open_locked(struct refresh_file *f, bool allow_missing,
				  long timeout_ms, struct pl_err *err)
{
	struct stat now;

	for(;;) {
		if(lstat(f->path, &now) == 0 && S_ISLNK(now.st_mode))
			return pl_fail(err, PL_EUSAGE, "refresh token file %s "
				       "is a symbolic link: give the path of "
				       "the file itself (it is replaced at "
				       "every rotation)", f->path);
		f->fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
			     O_NOFOLLOW);
		if(f->fd < 0 && errno == ENOENT && allow_missing)
			return PL_OK;
		if(f->fd < 0 && errno == ENOENT)
			return pl_fail(err, PL_EAUTH, "no refresh token: %s "
				       "does not exist; run qualreport login "
				       "--refresh-token-file %s once to "
				       "create it", f->path, f->path);
		if(f->fd < 0)
			return pl_fail(err, PL_EUSAGE, "cannot open refresh "
				       "token file %s: %s", f->path,
				       strerror(errno));
		if(fstat(f->fd, &f->st) || !S_ISREG(f->st.st_mode))
			return pl_fail(err, PL_EUSAGE, "refresh token file %s "
				       "is not a regular file", f->path);
		if(lock_wait(f->fd, timeout_ms))
			return pl_fail(err, PL_EUSAGE, "cannot lock refresh "
				       "token file %s: %s", f->path,
				       errno == ETIMEDOUT ? "another run "
				       "holds it for too long" :
				       strerror(errno));
		if(stat(f->path, &now) == 0 && now.st_dev == f->st.st_dev &&
		   now.st_ino == f->st.st_ino) {
			f->exists = true;
			return PL_OK;
		}
		/* Replaced (or removed) while we waited: start again. */
		close(f->fd);
		f->fd = -1;
	}
}

static enum pl_status read_locked(struct refresh_file *f,
				  struct pl_err *err)
{
	struct buf text;
	enum pl_status st = PL_OK;
	ssize_t n;

	buf_init_secret(&text, REFRESH_FILE_MAX);
	for(;;) {
		if(buf_grow(&text, 4096)) {
			st = pl_fail(err, PL_EUSAGE, "refresh token file %s "
				     "is larger than %d KiB", f->path,
				     REFRESH_FILE_MAX / 1024);
			goto out;
		}
		n = read(f->fd, text.data + text.len,
			 text.cap - 1 - text.len);
		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0) {
			st = pl_fail(err, PL_EUSAGE, "cannot read refresh "
				     "token file %s: %s", f->path,
				     strerror(errno));
			goto out;
		}
		if(n == 0)
			break;
		text.len += (size_t)n;
		text.data[text.len] = '\0';
	}
	if(f->st.st_mode & 077)
		log_warn("refresh token file %s is readable by other users: "
			 "it is rewritten mode 0600 at the next rotation, but "
			 "the token may have leaked", f->path);
	st = parse(f, &text, err);
out:
	buf_release(&text);
	return st;
}

enum pl_status refresh_file_open(const char *path, bool allow_missing,
				 long lock_timeout_ms,
				 struct refresh_file **out,
				 struct pl_err *err)
{
	struct refresh_file *f = calloc(1, sizeof(*f));
	enum pl_status st;

	*out = NULL;
	if(!f)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	f->fd = -1;
	buf_init_secret(&f->token, REFRESH_FILE_MAX);
	st = split_path(f, path, err);
	if(!st)
		st = open_locked(f, allow_missing, lock_timeout_ms > 0 ?
				 lock_timeout_ms : REFRESH_LOCK_TIMEOUT_MS,
				 err);
	if(!st && f->exists)
		st = read_locked(f, err);
	if(st) {
		refresh_file_close(f);
		return st;
	}
	*out = f;
	return PL_OK;
}

void refresh_file_close(struct refresh_file *f)
{
	if(!f)
		return;
	if(f->fd >= 0)
		close(f->fd); /* releases the lock */
	buf_release(&f->token);
	free(f->path);
	free(f->dir);
	free(f);
}

bool refresh_file_exists(const struct refresh_file *f)
{
	return f->exists;
}

const struct buf *refresh_file_token(const struct refresh_file *f)
{
	return &f->token;
}

const struct refresh_meta *refresh_file_meta(const struct refresh_file *f)
{
	return &f->meta;
}

/* dir/name, or with temp: dir/.name.XXXXXX (for mkstemp). */
static char *join_as(const char *dir, const char *name, bool temp)
{
	size_t n = strlen(dir) + strlen(name) + 16;
	char *p = malloc(n);

	if(p)
		snprintf(p, n, temp ? "%s/.%s.XXXXXX" : "%s/%s", dir, name);
	return p;
}

static char *join(const char *dir, const char *name)
{
	return join_as(dir, name, false);
}

/* Whether name is ".<base>.XXXXXX", a temporary file of ours. */
static bool is_our_temp(const char *name, const char *base)
{
	size_t bl = strlen(base);

	return name[0] == '.' && !strncmp(name + 1, base, bl) &&
	       name[1 + bl] == '.' && strlen(name + 2 + bl) == TEMP_SUFFIX_LEN;
}

/* Under the lock no one else writes: what temporary files are left come
 * from runs killed mid-write. */
static void remove_stale_temps(const struct refresh_file *f)
{
	DIR *d = opendir(f->dir);
	struct dirent *e;

	if(!d)
		return;
	while((e = readdir(d))) {
		struct stat sb;
		char *p;

		if(!is_our_temp(e->d_name, f->base))
			continue;
		if(!(p = join(f->dir, e->d_name)))
			break;
		if(lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) &&
		   sb.st_uid == geteuid() && unlink(p) == 0)
			log_debug("removed %s, left by an interrupted run", p);
		free(p);
	}
	closedir(d);
}

static int write_all(int fd, const char *data, size_t len)
{
	while(len) {
		ssize_t n = write(fd, data, len);

		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static enum pl_status content(struct buf *out, const char *token,
			      size_t len, const char *client_id,
			      const char *tenant, int64_t now_s)
{
	char when[64];
	enum pl_status st;

	civil_format_utc(now_s, when, sizeof(when));
	st = buf_addf(out, "%s\n# rotated: %s\n", HEADER_LINE, when);
	if(!st && client_id && *client_id)
		st = buf_addf(out, "# client-id: %s\n", client_id);
	if(!st && tenant && *tenant)
		st = buf_addf(out, "# tenant: %s\n", tenant);
	if(!st)
		st = buf_add(out, token, len);
	if(!st)
		st = buf_addch(out, '\n');
	return st;
}

static void sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if(fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

enum pl_status refresh_file_replace(struct refresh_file *f,
				    const char *token, size_t len,
				    const char *client_id, const char *tenant,
				    int64_t now_s, struct pl_err *err)
{
	struct buf text;
	char *tmp = NULL;
	int fd = -1;
	enum pl_status st = PL_OK;

	if(!refresh_file_is_token_usable(token, len))
		return pl_fail(err, PL_EAUTH, "the identity platform sent a "
			       "refresh token that is not one line of "
			       "printable text: not written to %s", f->path);
	buf_init_secret(&text, 0);
	if(content(&text, token, len, client_id, tenant, now_s) ||
	   !(tmp = join_as(f->dir, f->base, true))) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto out;
	}
	remove_stale_temps(f);
	fd = mkstemp(tmp);  /* mode 0600 */
	if(fd < 0) {
		st = pl_fail(err, PL_EOUTPUT, "cannot write the rotated "
			     "refresh token next to %s: %s", f->path,
			     strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if(f->exists && (f->st.st_uid != geteuid() ||
			 f->st.st_gid != getegid()) &&
	   fchown(fd, f->st.st_uid, f->st.st_gid) != 0 &&
	   f->st.st_uid != geteuid()) {
		/* Another user's file rewritten as ours, mode 0600, would
		 * lock its owner out: keep the old file (its token stays
		 * valid) and say so. */
		st = pl_fail(err, PL_EOUTPUT, "cannot keep the owner (uid "
			     "%u) of %s when rotating its refresh token: run "
			     "qualreport as that user", (unsigned)f->st.st_uid,
			     f->path);
		goto out;
	}
	if(fchmod(fd, 0600) || write_all(fd, text.data, text.len) ||
	   fsync(fd)) {
		st = pl_fail(err, PL_EOUTPUT, "cannot write the rotated "
			     "refresh token to %s: %s", tmp, strerror(errno));
		goto out;
	}
	if(close(fd)) {
		fd = -1;
		st = pl_fail(err, PL_EOUTPUT, "cannot write the rotated "
			     "refresh token to %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if(rename(tmp, f->path)) {
		st = pl_fail(err, PL_EOUTPUT, "cannot replace %s with the "
			     "rotated refresh token: %s", f->path,
			     strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	sync_dir(f->dir);
	buf_reset(&f->token);
	if(buf_add(&f->token, token, len))
		buf_reset(&f->token);
	f->meta.rotated_s = now_s;
	f->meta.rotated_from_mtime = false;
	copy_meta(f->meta.client_id, client_id ? client_id : "",
		  client_id ? strlen(client_id) : 0);
	copy_meta(f->meta.tenant, tenant ? tenant : "",
		  tenant ? strlen(tenant) : 0);
out:
	if(fd >= 0)
		close(fd);
	if(tmp) {
		unlink(tmp);
		free(tmp);
	}
	buf_release(&text);
	return st;
}

enum pl_status refresh_file_check_writable(const char *path,
					   struct pl_err *err)
{
	struct refresh_file f;
	enum pl_status st;

	memset(&f, 0, sizeof(f));
	st = split_path(&f, path, err);
	if(!st && access(f.dir, W_OK | X_OK))
		st = pl_fail(err, PL_EUSAGE, "cannot rotate the refresh token "
			     "in %s: its directory %s is not writable (%s); "
			     "each run writes the new token back", path,
			     f.dir, strerror(errno));
	free(f.path);
	free(f.dir);
	return st;
}
