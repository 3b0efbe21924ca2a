#include "secret_file.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define CHUNK 4096

/* Read fd into out, at most limit bytes; *more tells whether the file
 * goes on past them. 0, or -1 with errno. */
static int read_fd(int fd, size_t limit, struct buf *out, bool *more)
{
	*more = false;
	for(;;) {
		ssize_t n;

		if(out->len >= limit) {
			char probe;

			do
				n = read(fd, &probe, 1);
			while(n < 0 && errno == EINTR);
			if(n < 0)
				return -1;
			*more = n > 0;
			return 0;
		}
		if(buf_grow(out, CHUNK)) {
			errno = ENOMEM;
			return -1;
		}
		n = read(fd, out->data + out->len,
			 out->cap - 1 - out->len < limit - out->len ?
			 out->cap - 1 - out->len : limit - out->len);
		if(n < 0 && errno == EINTR)
			continue;
		if(n < 0)
			return -1;
		if(n == 0)
			return 0;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
	}
}

static enum pl_status read_file(const char *path, size_t limit,
				struct buf *out, bool *more,
				struct pl_err *err)
{
	struct stat sb;
	enum pl_status st = PL_OK;
	int fd;

	buf_reset(out);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if(fd < 0)
		return pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			       strerror(errno));
	if(fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			     strerror(EISDIR));
		goto out;
	}
	if(fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
		log_warn("secret file %s is readable by other users", path);
	if(read_fd(fd, limit, out, more)) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			     strerror(errno));
		buf_release(out);
	}
out:
	close(fd);
	return st;
}

enum pl_status secret_file_read_line(const char *path, struct buf *out,
				     struct pl_err *err)
{
	struct buf all;
	const char *line, *nl;
	size_t len, n;
	bool more;
	enum pl_status st;

	buf_init_secret(&all, 0);
	/* A BOM, the line and its CR LF: anything longer is refused. */
	st = read_file(path, SECRET_FILE_LINE_MAX + 5, &all, &more, err);
	if(st)
		goto out;
	line = all.data;
	len = all.len;
	/* Editors on Windows may start the file with a UTF-8 BOM. */
	if(len >= 3 && !memcmp(line, "\xef\xbb\xbf", 3)) {
		line += 3;
		len -= 3;
	}
	nl = memchr(line, '\n', len);
	n = nl ? (size_t)(nl - line) : len;
	while(n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
			line[n - 1] == '\t'))
		n--;
	if(n > SECRET_FILE_LINE_MAX || (!nl && more)) {
		st = pl_fail(err, PL_EUSAGE,
			     "%s: the first line is longer than %d KiB", path,
			     SECRET_FILE_LINE_MAX / 1024);
		goto out;
	}
	if(memchr(line, '\0', n)) {
		st = pl_fail(err, PL_EUSAGE,
			     "%s: the first line contains a NUL byte", path);
		goto out;
	}
	if(n == 0) {
		bool blank = true;

		for(size_t i = 0; i < len && blank; i++)
			blank = line[i] && strchr(" \t\r\n", line[i]);
		blank = blank && !more;
		st = pl_fail(err, PL_EUSAGE, blank ? "%s: file is empty" :
			     "%s: the first line is empty", path);
		goto out;
	}
	buf_reset(out);
	if(buf_add(out, line, n))
		st = pl_fail(err, PL_ENOMEM, "out of memory");
out:
	buf_release(&all);
	return st;
}

enum pl_status secret_file_read_all(const char *path, size_t limit,
				    struct buf *out, struct pl_err *err)
{
	bool more;
	enum pl_status st = read_file(path, limit, out, &more, err);

	if(!st && more) {
		buf_release(out);
		st = pl_fail(err, PL_EUSAGE, "%s is larger than %zu KiB",
			     path, limit / 1024);
	}
	if(!st && out->len == 0)
		st = pl_fail(err, PL_EUSAGE, "%s: file is empty", path);
	return st;
}
