#include "conffile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "buf.h"

#define PATH_MAX_EXPANDED 4096

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Read the whole file into b, refusing what is not a small regular file. */
static enum pl_status slurp(const char *path, struct buf *b,
			    struct conffile *cf, struct pl_err *err)
{
	struct stat sb;
	char chunk[8192];
	enum pl_status st = PL_OK;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0)
		return pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			       strerror(errno));
	if(fstat(fd, &sb) < 0) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s", path,
			     strerror(errno));
		goto out;
	}
	if(!S_ISREG(sb.st_mode)) {
		st = pl_fail(err, PL_EUSAGE, "cannot read %s: not a regular "
			     "file", path);
		goto out;
	}
	cf->mode = (unsigned)(sb.st_mode & 07777);
	cf->owned_by_user = sb.st_uid == geteuid();
	while((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if(n < 0) {
			if(errno == EINTR)
				continue;
			st = pl_fail(err, PL_EUSAGE, "cannot read %s: %s",
				     path, strerror(errno));
			goto out;
		}
		st = buf_add(b, chunk, (size_t)n);
		if(st == PL_ELIMIT)
			st = pl_fail(err, PL_EUSAGE, "cannot read %s: larger "
				     "than %d KiB", path, CONFFILE_MAX / 1024);
		else if(st)
			st = pl_fail(err, st, "out of memory");
		if(st)
			goto out;
	}
out:
	close(fd);
	return st;
}

/*
 * Unquote a value in place: s points at the opening quote. Returns the
 * end of the unquoted value (where its NUL goes) or NULL when the quote
 * is not closed or something follows it.
 */
static char *unquote(char *s)
{
	char *r = s + 1, *w = s;

	for(; *r && *r != '"'; r++) {
		if(*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r;
		} else {
			*w++ = *r;
		}
	}
	if(*r != '"')
		return NULL;
	for(r++; is_blank(*r); r++)
		;
	return *r ? NULL : w;
}

/* Split one line (NUL-terminated, no line end) into an entry. Returns
 * false with *why set on a syntax error; a blank or comment line gives
 * an entry with a NULL name. */
static bool split_line(char *s, struct conffile_entry *e, const char **why)
{
	char *end, *v;

	e->name = NULL;
	e->value = NULL;
	while(is_blank(*s))
		s++;
	if(!*s || *s == '#')
		return true;
	if(s[0] == '-' && s[1] == '-')
		s += 2;
	end = s;
	while(*end && !is_blank(*end) && *end != '=' && *end != ':')
		end++;
	if(end == s) {
		*why = "no option name";
		return false;
	}
	v = end;
	while(is_blank(*v))
		v++;
	if(*v == '=' || *v == ':')
		v++;
	*end = '\0';
	while(is_blank(*v))
		v++;
	e->name = s;
	if(!*v)
		return true;
	if(*v == '"') {
		char *vend = unquote(v);

		if(!vend) {
			*why = "unterminated quote or text after it";
			return false;
		}
		*vend = '\0';
	} else {
		end = v + strlen(v);
		while(end > v && is_blank(end[-1]))
			end--;
		*end = '\0';
	}
	e->value = v;
	return true;
}

enum pl_status conffile_read(const char *path, struct conffile **out,
			     struct pl_err *err)
{
	struct buf text;
	struct conffile *cf;
	struct conffile_entry *grown;
	size_t cap = 0;
	unsigned long line = 0;
	enum pl_status st;
	char *p, *nl;

	*out = NULL;
	buf_init_secret(&text, CONFFILE_MAX);
	cf = calloc(1, sizeof(*cf));
	if(!cf || !(cf->path = strdup(path))) {
		free(cf);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	st = slurp(path, &text, cf, err);
	if(st)
		goto fail;
	if(memchr(text.data, '\0', text.len)) {
		st = pl_fail(err, PL_EUSAGE, "%s: a NUL byte: not a text "
			     "file", path);
		goto fail;
	}
	cf->_text = buf_detach(&text, &cf->_len);
	if(!cf->_text) {
		st = pl_fail(err, PL_ENOMEM, "out of memory");
		goto fail;
	}
	p = cf->_text;
	if(!strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	for(; *p; p = nl) {
		struct conffile_entry e;
		const char *why = NULL;
		size_t len;

		line++;
		nl = strchr(p, '\n');
		if(nl)
			*nl++ = '\0';
		else
			nl = p + strlen(p);
		len = strlen(p);
		if(len && p[len - 1] == '\r')
			p[len - 1] = '\0';
		if(!split_line(p, &e, &why)) {
			st = pl_fail(err, PL_EUSAGE, "%s:%lu: %s", path, line,
				     why);
			goto fail;
		}
		if(!e.name)
			continue;
		e.line = line;
		if(cf->n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(cf->entries, cap * sizeof(*grown));
			if(!grown) {
				st = pl_fail(err, PL_ENOMEM, "out of memory");
				goto fail;
			}
			cf->entries = grown;
		}
		cf->entries[cf->n++] = e;
	}
	*out = cf;
	return PL_OK;
fail:
	buf_release(&text);
	conffile_free(cf);
	return st;
}

bool conffile_is_private(const struct conffile *cf)
{
	return cf->owned_by_user && (cf->mode & 0777 & ~0600u) == 0;
}

enum pl_status conffile_expand_path(const char *value, const struct tm *tm,
				    char **out, struct pl_err *err)
{
	char expanded[PATH_MAX_EXPANDED + 1];
	size_t n;

	*out = NULL;
	if(!strchr(value, '%')) {
		n = strlen(value);
	} else {
		/* strftime gives 0 both for an empty result and for one that
		 * does not fit: either way there is no usable path */
		/* the format is the user's own path: that is the point */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = strftime(expanded, sizeof(expanded), value, tm);
#pragma GCC diagnostic pop
		if(!n)
			return pl_fail(err, PL_EUSAGE, "path '%s' expands to "
				       "nothing or more than %d bytes", value,
				       PATH_MAX_EXPANDED);
		value = expanded;
	}
	*out = strndup(value, n);
	if(!*out)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	return PL_OK;
}

void conffile_free(struct conffile *cf)
{
	if(!cf)
		return;
	/* the file may hold a secret (a private config file may) */
	if(cf->_text)
		OPENSSL_cleanse(cf->_text, cf->_len);
	free(cf->_text);
	free(cf->entries);
	free(cf->path);
	free(cf);
}
