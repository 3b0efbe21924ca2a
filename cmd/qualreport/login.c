/*
 * login.c: `qualreport login [--check]`. The sign-in instructions go to
 * stderr (they are for the person at the terminal, and stdout may be a
 * pipe); --check's verdict goes to stdout. Neither ever shows a token.
 */
#include "login.h"

#include <stdio.h>
#include <time.h>

#include "auth.h"
#include "civil.h"

static void show(void *ctx, const char *uri, const char *user_code,
		 long expires_in_s)
{
	(void)ctx;
	fprintf(stderr, "To sign in, open %s in a browser and enter the code "
		"%s\n(valid for %ld minutes; sign in with the user the "
		"reports run as, with MFA).\nWaiting for the sign-in...\n",
		uri, user_code, (expires_in_s + 59) / 60);
	fflush(stderr);
}

static int check(struct cli *cli)
{
	const struct auth_config *cfg = &cli->cfg.auth;
	struct auth_check res;
	struct pl_err err = {{0}};
	char when[64];
	long long days;
	enum pl_status st;

	st = auth_login_check(cfg, &res, &err);
	if(st) {
		log_error("%s", err.msg);
		return pl_exit_code(st, 0);
	}
	civil_format_utc(res.rotated_s, when, sizeof(when));
	days = ((long long)time(NULL) - res.rotated_s) / 86400;
	printf("the refresh token in %s works (client %s, tenant %s); it had "
	       "last been rotated %s (%lld day%s ago%s)%s\n",
	       cfg->refresh_token_file, cfg->client_id, cfg->tenant, when,
	       days, days == 1 ? "" : "s",
	       res.rotated_from_mtime ? ", from the file's mtime" : "",
	       res.rotated_now ? " and was rotated again now" : "");
	return fflush(stdout) ? QR_EXIT_OUTPUT : QR_EXIT_OK;
}

int login_main(struct cli *cli, volatile sig_atomic_t *stop)
{
	struct device_code_prompt prompt = {show, NULL};
	struct pl_err err = {{0}};
	enum pl_status st;

	if(cli->login_check)
		return check(cli);
	st = auth_login(&cli->cfg.auth, &prompt, stop, &err);
	if(st) {
		log_error("%s", err.msg);
		return pl_exit_code(st, stop ? *stop : 0);
	}
	log_info("signed in: the refresh token is in %s (mode 0600); "
		 "qualreport --refresh-token-file %s uses it and keeps it "
		 "rotated", cli->cfg.auth.refresh_token_file,
		 cli->cfg.auth.refresh_token_file);
	return QR_EXIT_OK;
}
