/*
 * test_outfile: atomic appearance, abort, the interrupt registry, write
 * errors (/dev/full, missing directories), stdout, gzip and the byte count
 * and SHA-256 of what reached the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "outfile.h"
#include "testutil.h"

static int setup(void **state)
{
	return testutil_scratch_setup(state, "outfile", "out.csv");
}

static int teardown(void **state)
{
	return testutil_scratch_teardown(state);
}

/* Names in dir, sorted, joined by "|" ("" when empty). */
static void list_dir(const char *dir, char *out, size_t size)
{
	char names[16][300];
	size_t n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;

	out[0] = '\0';
	assert_non_null(d);
	while((e = readdir(d))) {
		if(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		assert_true(n < 16);
		snprintf(names[n++], sizeof(names[0]), "%s", e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]),
	      (int (*)(const void *, const void *))strcmp);
	for(size_t i = 0; i < n; i++) {
		if(i)
			strncat(out, "|", size - strlen(out) - 1);
		strncat(out, names[i], size - strlen(out) - 1);
	}
}

/* SHA-256 of a file, computed here independently of outfile. */
static void file_sha256(const char *path, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	size_t len;
	char *data = testutil_read_file(path, &len);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	assert_int_equal(EVP_DigestUpdate(ctx, data, len), 1);
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	assert_int_equal(mdlen, 32);
	for(unsigned i = 0; i < mdlen; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	EVP_MD_CTX_free(ctx);
	free(data);
}

static void check_stats(const char *path, const struct outfile_stats *st)
{
	struct stat sb;
	char hex[65];

	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(st->bytes, (uint64_t)sb.st_size);
	file_sha256(path, hex);
	assert_string_equal(st->sha256, hex);
}

static void write_str(struct outfile *f, const char *s)
{
	struct pl_err err = {{0}};

	assert_int_equal(outfile_write(f, s, strlen(s), &err), PL_OK);
}

static void test_commit_is_atomic(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};
	char names[1024], want[128];
	struct stat sb;
	size_t len;
	char *data;
	mode_t old = umask(022);

	assert_int_equal(outfile_open(fx->path, 0, &f, &err), PL_OK);
	assert_string_equal(outfile_path(f), fx->path);
	write_str(f, "a,b\n1,2\n");
	/* Before commit only the hidden temporary file exists, beside it. */
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	list_dir(fx->dir, names, sizeof(names));
	snprintf(want, sizeof(want), ".out.csv.%ld.", (long)getpid());
	assert_int_equal(strncmp(names, want, strlen(want)), 0);
	assert_null(strchr(names, '|'));
	assert_string_equal(names + strlen(names) - 4, ".tmp");

	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "out.csv");
	data = testutil_read_file(fx->path, &len);
	assert_string_equal(data, "a,b\n1,2\n");
	free(data);
	assert_int_equal(st.bytes, 8);
	/* sha256("a,b\n1,2\n"), from coreutils sha256sum */
	assert_string_equal(st.sha256, "492d5ea496056f1a6a6592241032fab7"
				       "64c321596317930b4fa0e1e8bc3b7470");
	check_stats(fx->path, &st);
	/* A new file's mode follows the umask, as for any created file. */
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	umask(old);
}

static void test_commit_replaces_target(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};
	FILE *old = fopen(fx->path, "w");
	char names[1024];
	size_t len;
	char *data;

	assert_non_null(old);
	fputs("old contents that are longer than the new ones\n", old);
	fclose(old);
	assert_int_equal(outfile_open(fx->path, 0, &f, &err), PL_OK);
	write_str(f, "new\n");
	/* The old report stays whole until the rename. */
	data = testutil_read_file(fx->path, &len);
	assert_int_equal(len, 47);
	free(data);
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	data = testutil_read_file(fx->path, &len);
	assert_string_equal(data, "new\n");
	free(data);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "out.csv");
	check_stats(fx->path, &st);
}

static void test_abort_leaves_nothing(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct pl_err err = {{0}};
	char names[1024];

	assert_int_equal(outfile_open(fx->path, 1, &f, &err), PL_OK);
	write_str(f, "partial row");
	list_dir(fx->dir, names, sizeof(names));
	assert_string_not_equal(names, "");
	outfile_abort(f);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "");
	outfile_abort(NULL);
}

static void test_abort_all_unlink(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *a = NULL, *b = NULL;
	struct pl_err err = {{0}};
	char pb[300], names[1024];

	snprintf(pb, sizeof(pb), "%s/summary.ndjson", fx->dir);
	assert_int_equal(outfile_open(fx->path, 0, &a, &err), PL_OK);
	assert_int_equal(outfile_open(pb, 1, &b, &err), PL_OK);
	write_str(a, "x");
	write_str(b, "y");
	list_dir(fx->dir, names, sizeof(names));
	assert_non_null(strchr(names, '|'));
	outfile_abort_all_unlink();
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "");
	/* The interrupted run cannot publish a report afterwards. */
	assert_int_equal(outfile_commit(a, NULL, &err), PL_EOUTPUT);
	assert_non_null(strstr(err.msg, fx->path));
	assert_int_equal(access(fx->path, F_OK), -1);
	outfile_abort(b);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "");
}

static void test_dev_full(void **state)
{
	struct outfile *f = NULL;
	struct pl_err err = {{0}};
	struct stat sb;
	char *big;

	(void)state;
	/* Small writes are buffered: the failure surfaces at commit. */
	assert_int_equal(outfile_open("/dev/full", 0, &f, &err), PL_OK);
	write_str(f, "header\n");
	assert_int_equal(outfile_commit(f, NULL, &err), PL_EOUTPUT);
	assert_string_equal(err.msg, "cannot write /dev/full: "
				     "No space left on device");
	/* The device node itself is never replaced. */
	assert_int_equal(stat("/dev/full", &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));

	/* A write bigger than the buffer fails at once, and stays failed. */
	big = calloc(1, 200000);
	assert_non_null(big);
	memset(&err, 0, sizeof(err));
	assert_int_equal(outfile_open("/dev/full", 0, &f, &err), PL_OK);
	assert_int_equal(outfile_write(f, big, 200000, &err), PL_EOUTPUT);
	assert_string_equal(err.msg, "cannot write /dev/full: "
				     "No space left on device");
	memset(&err, 0, sizeof(err));
	assert_int_equal(outfile_write(f, "x", 1, &err), PL_EOUTPUT);
	assert_non_null(strstr(err.msg, "/dev/full"));
	outfile_abort(f);
	free(big);
}

static void test_dev_null(void **state)
{
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};
	struct stat sb;

	(void)state;
	assert_int_equal(outfile_open("/dev/null", 0, &f, &err), PL_OK);
	write_str(f, "hello\n");
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	assert_int_equal(st.bytes, 6);
	assert_string_equal(st.sha256, "5891b5b522d5df086d0ff0b110fbd9d2"
				       "1bb4fc7163af34d08286a2e846f6be03");
	assert_int_equal(stat("/dev/null", &sb), 0);
	assert_true(S_ISCHR(sb.st_mode));
}

static void test_unwritable_directory(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct pl_err err = {{0}};
	char path[512], want[600], file[300];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/missing/out.csv", fx->dir);
	assert_int_equal(outfile_open(path, 0, &f, &err), PL_EOUTPUT);
	assert_null(f);
	snprintf(want, sizeof(want),
		 "cannot open %s: No such file or directory", path);
	assert_string_equal(err.msg, want);

	/* A parent that is a regular file: not a directory. */
	snprintf(file, sizeof(file), "%s/plain", fx->dir);
	fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/out.csv", file);
	assert_int_equal(outfile_open(path, 0, &f, &err), PL_EOUTPUT);
	snprintf(want, sizeof(want), "cannot open %s: Not a directory", path);
	assert_string_equal(err.msg, want);

	/* Permission bits only bind a non-root user. */
	if(geteuid() != 0) {
		char ro[300];

		snprintf(ro, sizeof(ro), "%s/ro", fx->dir);
		assert_int_equal(mkdir(ro, 0555), 0);
		snprintf(path, sizeof(path), "%s/out.csv", ro);
		assert_int_equal(outfile_open(path, 0, &f, &err), PL_EOUTPUT);
		snprintf(want, sizeof(want),
			 "cannot open %s: Permission denied", path);
		assert_string_equal(err.msg, want);
	}
}

/* Run fn with fd 1 pointing at fd, then restore it. */
static void with_stdout(int fd, void (*fn)(void))
{
	int saved;

	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	fn();
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
}

static enum pl_status stdout_rc;
static struct outfile_stats stdout_st;

static void write_stdout(void)
{
	struct outfile *f = NULL;
	struct pl_err err = {{0}};

	stdout_rc = outfile_open("-", 0, &f, &err);
	if(stdout_rc)
		return;
	stdout_rc = outfile_write(f, "to stdout\n", 10, &err);
	if(stdout_rc) {
		outfile_abort(f);
		return;
	}
	stdout_rc = outfile_commit(f, &stdout_st, &err);
}

static void test_stdout(void **state)
{
	struct testutil_scratch *fx = *state;
	char buf[64] = "";
	int fd, p[2];
	char *data;
	size_t len;

	/* stdout on a regular file: written in place, no temporary. */
	fd = open(fx->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	with_stdout(fd, write_stdout);
	close(fd);
	assert_int_equal(stdout_rc, PL_OK);
	data = testutil_read_file(fx->path, &len);
	assert_string_equal(data, "to stdout\n");
	free(data);
	check_stats(fx->path, &stdout_st);

	/* stdout on a pipe: nothing to fsync, still a success. */
	assert_int_equal(pipe(p), 0);
	with_stdout(p[1], write_stdout);
	close(p[1]);
	assert_int_equal(stdout_rc, PL_OK);
	assert_int_equal(read(p[0], buf, sizeof(buf) - 1), 10);
	assert_string_equal(buf, "to stdout\n");
	close(p[0]);
	assert_int_equal(stdout_st.bytes, 10);
}

/* Deterministic text that compresses, but not trivially. */
static char *make_text(size_t n)
{
	char *s = malloc(n);
	uint32_t x = 12345;

	assert_non_null(s);
	for(size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		s[i] = (x >> 16) % 7 == 0 ? '\n' : (char)('a' + (x >> 20) % 26);
	}
	return s;
}

static void test_large_writes(void **state)
{
	struct testutil_scratch *fx = *state;
	static const size_t chunks[] = {1, 7, 65535, 1, 65536, 70000, 3, 60000};
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};
	size_t total = 0, off = 0, len;
	char *text, *data;

	for(size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		total += chunks[i];
	text = make_text(total);
	assert_int_equal(outfile_open(fx->path, 0, &f, &err), PL_OK);
	for(size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		assert_int_equal(outfile_write(f, text + off, chunks[i], &err),
				 PL_OK);
		off += chunks[i];
	}
	assert_int_equal(outfile_write(f, "", 0, &err), PL_OK);
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	data = testutil_read_file(fx->path, &len);
	assert_int_equal(len, total);
	assert_memory_equal(data, text, total);
	assert_int_equal(st.bytes, total);
	check_stats(fx->path, &st);
	free(data);
	free(text);
}

static void test_gzip(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};
	size_t total = 3 * 1024 * 1024 + 17, len;
	char *text = make_text(total), *back = malloc(total + 1), *raw;
	gzFile gz;
	int n;

	assert_non_null(back);
	assert_int_equal(outfile_open(fx->path, 1, &f, &err), PL_OK);
	for(size_t off = 0; off < total; off += 100003) {
		size_t c = total - off < 100003 ? total - off : 100003;

		assert_int_equal(outfile_write(f, text + off, c, &err), PL_OK);
	}
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	check_stats(fx->path, &st);
	raw = testutil_read_file(fx->path, &len);
	/* gzip magic, deflate, mtime 0 (reproducible bytes) */
	assert_int_equal((unsigned char)raw[0], 0x1f);
	assert_int_equal((unsigned char)raw[1], 0x8b);
	assert_int_equal(raw[2], 8);
	assert_memory_equal(raw + 4, "\0\0\0\0", 4);
	assert_true(len < total);
	free(raw);

	gz = gzopen(fx->path, "rb");
	assert_non_null(gz);
	n = gzread(gz, back, (unsigned)total + 1);
	assert_int_equal(n, (int)total);
	assert_memory_equal(back, text, total);
	gzclose(gz);

	/* An empty gzip stream is still a valid, complete file. */
	assert_int_equal(outfile_open(fx->path, 1, &f, &err), PL_OK);
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	assert_int_equal(st.bytes, 20);
	gz = gzopen(fx->path, "rb");
	assert_non_null(gz);
	assert_int_equal(gzread(gz, back, 10), 0);
	assert_int_equal(gzclose(gz), Z_OK);
	free(back);
	free(text);
}

static void test_long_name(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct pl_err err = {{0}};
	char path[600], names[1024];
	size_t dlen;

	/* A 250-byte name still gets a temporary beside it (under NAME_MAX). */
	dlen = (size_t)snprintf(path, sizeof(path), "%s/", fx->dir);
	memset(path + dlen, 'r', 246);
	strcpy(path + dlen + 246, ".csv");
	assert_int_equal(outfile_open(path, 0, &f, &err), PL_OK);
	write_str(f, "x\n");
	assert_int_equal(outfile_commit(f, NULL, &err), PL_OK);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, path + dlen);
}

static void test_empty_file_sha(void **state)
{
	struct testutil_scratch *fx = *state;
	struct outfile *f = NULL;
	struct outfile_stats st;
	struct pl_err err = {{0}};

	assert_int_equal(outfile_open(fx->path, 0, &f, &err), PL_OK);
	assert_int_equal(outfile_commit(f, &st, &err), PL_OK);
	assert_int_equal(st.bytes, 0);
	assert_string_equal(st.sha256, "e3b0c44298fc1c149afbf4c8996fb924"
				       "27ae41e4649b934ca495991b7852b855");
	assert_int_equal(access(fx->path, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_is_atomic, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_commit_replaces_target,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_all_unlink, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dev_full, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_dev_null, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_directory,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_stdout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_gzip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_empty_file_sha, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
