/*
 * test_refresh_file.c: the refresh-token file (refresh_file.h) — what it
 * reads (a bare token as a person pastes it, the header format, BOM and
 * CRLF), what it refuses (missing, empty, a symbolic link, a directory,
 * a token with spaces), how it rotates (exact content, a new inode
 * renamed over the old, mode 0600 from a 0644 file, the old owner kept,
 * stale temporary files of a killed run removed) and how it locks (a
 * second opener waits for the first, then reads the token the first
 * wrote, not the one it replaced; a lock held too long is an error).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "civil.h"
#include "refresh_file.h"
#include "testutil.h"

#define NOW ((int64_t)1767225600) /* 2026-01-01T00:00:00Z */

static int setup(void **state)
{
	return testutil_scratch_setup(state, "rtfile", "refresh-token");
}

static int teardown(void **state)
{
	return testutil_scratch_teardown(state);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while((e = readdir(d)))
		if(strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static struct refresh_file *open_ok(const char *path)
{
	struct refresh_file *f = NULL;
	struct pl_err err = {{0}};

	if(refresh_file_open(path, false, 0, &f, &err) != PL_OK)
		fail_msg("open %s: %s", path, err.msg);
	return f;
}

static void bare_token(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f;
	struct stat sb;

	write_text(fx->path, "0.AXEA-bare_token.v*1\n", 0600);
	assert_int_equal(stat(fx->path, &sb), 0);
	f = open_ok(fx->path);
	assert_true(refresh_file_exists(f));
	assert_string_equal(refresh_file_token(f)->data,
			    "0.AXEA-bare_token.v*1");
	assert_true(refresh_file_token(f)->secret);
	/* No header: the mtime says when it was written. */
	assert_true(refresh_file_meta(f)->rotated_from_mtime);
	assert_int_equal(refresh_file_meta(f)->rotated_s, sb.st_mtime);
	assert_string_equal(refresh_file_meta(f)->client_id, "");
	refresh_file_close(f);
	refresh_file_close(NULL);

	/* Pasted on Windows: a BOM, CRLF, no final newline, blank lines. */
	write_text(fx->path, "\xef\xbb\xbf\r\n  tok-2 \r\n", 0600);
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "tok-2");
	refresh_file_close(f);
	write_text(fx->path, "tok-3", 0600);
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "tok-3");
	refresh_file_close(f);
}

static void header_format(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f;

	write_text(fx->path,
		   "# qualreport refresh token: a secret, keep it mode 0600\n"
		   "# rotated: 2026-03-01T06:00:02Z\n"
		   "# client-id: 11111111-2222-3333-4444-555555555555\n"
		   "# tenant: contoso.onmicrosoft.com\n"
		   "# some-future-key: ignored\n"
		   "0.AXEA-with-header\n", 0600);
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "0.AXEA-with-header");
	assert_false(refresh_file_meta(f)->rotated_from_mtime);
	assert_int_equal(refresh_file_meta(f)->rotated_s,
			 NOW + (31 + 28) * 86400 + 6 * 3600 + 2);
	assert_string_equal(refresh_file_meta(f)->client_id,
			    "11111111-2222-3333-4444-555555555555");
	assert_string_equal(refresh_file_meta(f)->tenant,
			    "contoso.onmicrosoft.com");
	refresh_file_close(f);
	/* An unreadable date falls back to the mtime. */
	write_text(fx->path, "# rotated: yesterday\ntok\n", 0600);
	f = open_ok(fx->path);
	assert_true(refresh_file_meta(f)->rotated_from_mtime);
	refresh_file_close(f);
}

static void refusals(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f = NULL;
	struct pl_err err = {{0}};
	char path[300];

	/* Missing: an auth failure naming the next step; with
	 * allow_missing (login) nothing. */
	assert_int_equal(refresh_file_open(fx->path, false, 0, &f, &err),
			 PL_EAUTH);
	assert_null(f);
	assert_non_null(strstr(err.msg, "does not exist"));
	assert_non_null(strstr(err.msg, "run qualreport login "
			       "--refresh-token-file"));
	assert_non_null(strstr(err.msg, fx->path));
	assert_int_equal(refresh_file_open(fx->path, true, 0, &f, &err), PL_OK);
	assert_false(refresh_file_exists(f));
	assert_int_equal(refresh_file_token(f)->len, 0);
	refresh_file_close(f);

	write_text(fx->path, "", 0600);
	assert_int_equal(refresh_file_open(fx->path, false, 0, &f, &err),
			 PL_EAUTH);
	assert_non_null(strstr(err.msg, "holds no refresh token"));
	write_text(fx->path, "# only a header\n\n", 0600);
	assert_int_equal(refresh_file_open(fx->path, false, 0, &f, &err),
			 PL_EAUTH);
	assert_non_null(strstr(err.msg, "holds no refresh token"));
	write_text(fx->path, "two words\n", 0600);
	assert_int_equal(refresh_file_open(fx->path, false, 0, &f, &err),
			 PL_EAUTH);
	assert_non_null(strstr(err.msg, "does not hold a usable refresh"));
	assert_null(strstr(err.msg, "two words"));

	/* A symbolic link would be replaced by a file at the first
	 * rotation: refused. */
	snprintf(path, sizeof(path), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->path, path), 0);
	assert_int_equal(refresh_file_open(path, false, 0, &f, &err),
			 PL_EUSAGE);
	assert_non_null(strstr(err.msg, "symbolic link"));
	snprintf(path, sizeof(path), "%s/sub", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(refresh_file_open(path, false, 0, &f, &err),
			 PL_EUSAGE);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(refresh_file_open(fx->dir, false, 0, &f, &err),
			 PL_EUSAGE);
}

static void rotation(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f;
	struct pl_err err = {{0}};
	struct stat before, after;
	char stale[300], *text;

	write_text(fx->path, "old-token\n", 0644);
	if(geteuid() == 0)
		assert_int_equal(chown(fx->path, 4321, 4322), 0);
	assert_int_equal(stat(fx->path, &before), 0);
	/* A temporary file of a run killed mid-write. */
	snprintf(stale, sizeof(stale), "%s/.refresh-token.Ab12Cd", fx->dir);
	write_text(stale, "half", 0600);

	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "old-token");
	assert_int_equal(refresh_file_replace(f, "new-token!", 9,
					      "cid", "contoso", NOW, &err),
			 PL_OK);
	assert_string_equal(refresh_file_token(f)->data, "new-token");
	refresh_file_close(f);

	text = testutil_read_file(fx->path, NULL);
	assert_string_equal(text,
		"# qualreport refresh token: a secret, keep it mode 0600\n"
		"# rotated: 2026-01-01T00:00:00Z\n"
		"# client-id: cid\n"
		"# tenant: contoso\n"
		"new-token\n");
	free(text);
	assert_int_equal(stat(fx->path, &after), 0);
	assert_int_not_equal(after.st_ino, before.st_ino); /* renamed */
	assert_int_equal(after.st_mode & 07777, 0600);
	assert_int_equal(after.st_uid, before.st_uid);
	assert_int_equal(after.st_gid, before.st_gid);
	/* The stale temporary file is gone, and no new one is left. */
	assert_int_equal(access(stale, F_OK), -1);
	assert_int_equal(count_entries(fx->dir), 1);

	/* What was written reads back, header and all. */
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "new-token");
	assert_int_equal(refresh_file_meta(f)->rotated_s, NOW);
	assert_string_equal(refresh_file_meta(f)->client_id, "cid");
	/* A token from a server that is not one printable line is not
	 * written, and the file stays as it was. */
	assert_int_equal(refresh_file_replace(f, "bad\ntoken", 9, NULL, NULL,
					      NOW, &err), PL_EAUTH);
	assert_null(strstr(err.msg, "bad"));
	assert_int_equal(refresh_file_replace(f, "", 0, NULL, NULL, NOW,
					      &err), PL_EAUTH);
	refresh_file_close(f);
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "new-token");
	refresh_file_close(f);
	assert_int_equal(count_entries(fx->dir), 1);
}

/* login: the file does not exist yet; replace creates it, mode 0600. */
static void create(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f = NULL;
	struct pl_err err = {{0}};
	struct stat sb;
	mode_t old = umask(0);

	assert_int_equal(refresh_file_open(fx->path, true, 0, &f, &err), PL_OK);
	assert_int_equal(refresh_file_replace(f, "first", 5, NULL, NULL, NOW,
					      &err), PL_OK);
	refresh_file_close(f);
	umask(old);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "first");
	assert_string_equal(refresh_file_meta(f)->client_id, "");
	refresh_file_close(f);
}

/*
 * Two runs on one file: the child takes the lock, tells the parent,
 * rotates after a pause and unlocks. The parent's open, begun while the
 * child held the lock (on the inode the rename then replaced), must
 * wait and then read the child's token.
 */
static void lock_serialises_rotations(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *f;
	int go[2], status;
	char c;
	pid_t pid;

	write_text(fx->path, "T0\n", 0600);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if(pid == 0) {
		struct refresh_file *cf = NULL;
		struct pl_err cerr;

		close(go[0]);
		if(refresh_file_open(fx->path, false, 0, &cf, &cerr))
			_exit(2);
		if(strcmp(refresh_file_token(cf)->data, "T0"))
			_exit(3);
		if(write(go[1], "L", 1) != 1)
			_exit(4);
		usleep(300 * 1000);
		if(refresh_file_replace(cf, "T1", 2, NULL, NULL, NOW, &cerr))
			_exit(5);
		usleep(100 * 1000);
		refresh_file_close(cf);
		_exit(0);
	}
	close(go[1]);
	assert_int_equal(read(go[0], &c, 1), 1);
	close(go[0]);
	/* The child holds the lock now. */
	f = open_ok(fx->path);
	assert_string_equal(refresh_file_token(f)->data, "T1");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	refresh_file_close(f);
}

static void lock_timeout(void **state)
{
	struct testutil_scratch *fx = *state;
	struct refresh_file *held, *f = NULL;
	struct pl_err err = {{0}};
	int done[2], status;
	char c;
	pid_t pid;

	write_text(fx->path, "T0\n", 0600);
	held = open_ok(fx->path);
	/* flock locks belong to the open file description: another
	 * process must try. */
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if(pid == 0) {
		enum pl_status st;

		close(done[0]);
		st = refresh_file_open(fx->path, false, 200, &f, &err);
		c = st == PL_EUSAGE && strstr(err.msg, "holds it for too "
					       "long") ? 'y' : 'n';
		if(write(done[1], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(done[1]);
	assert_int_equal(read(done[0], &c, 1), 1);
	close(done[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(c, 'y');
	refresh_file_close(held);
}

static void writable_check(void **state)
{
	struct testutil_scratch *fx = *state;
	struct pl_err err = {{0}};
	char path[300];

	assert_int_equal(refresh_file_check_writable(fx->path, &err), PL_OK);
	snprintf(path, sizeof(path), "%s/nodir/token", fx->dir);
	assert_int_equal(refresh_file_check_writable(path, &err), PL_EUSAGE);
	assert_non_null(strstr(err.msg, "is not writable"));
	if(geteuid() != 0) {
		snprintf(path, sizeof(path), "%s/ro", fx->dir);
		assert_int_equal(mkdir(path, 0500), 0);
		strcat(path, "/token");
		assert_int_equal(refresh_file_check_writable(path, &err),
				 PL_EUSAGE);
	}
}

static void time_format(void **state)
{
	char out[32];
	(void)state;

	civil_format_utc(NOW, out, sizeof(out));
	assert_string_equal(out, "2026-01-01T00:00:00Z");
	civil_format_utc(951782400 + 86399, out, sizeof(out));
	assert_string_equal(out, "2000-02-29T23:59:59Z");
	civil_format_utc(-1, out, sizeof(out));
	assert_string_equal(out, "1969-12-31T23:59:59Z");
	assert_true(refresh_file_is_token_usable("a.b-c_d*~", 9));
	assert_false(refresh_file_is_token_usable("#x", 2));
	assert_false(refresh_file_is_token_usable("a b", 3));
	assert_false(refresh_file_is_token_usable("\xc3\xa9", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bare_token, setup, teardown),
		cmocka_unit_test_setup_teardown(header_format, setup, teardown),
		cmocka_unit_test_setup_teardown(refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(create, setup, teardown),
		cmocka_unit_test_setup_teardown(lock_serialises_rotations,
						setup, teardown),
		cmocka_unit_test_setup_teardown(lock_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(writable_check, setup,
						teardown),
		cmocka_unit_test(time_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
