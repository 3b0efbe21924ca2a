/*
 * cli.h: the qualreport command line (and its config file) -> struct
 * pipeline_config.
 *
 * Options come from one table (options.h). A config file given with
 * --config is applied first and the command line after it, so the
 * command line overrides the file. Every value is checked here with a
 * precise message; nothing is fetched or opened except the config file
 * and secret files. Secrets (the token, the client secret) come only from
 * the environment, files or a private config file, and are owned by
 * struct cli (wiped in cli_release).
 */
#ifndef QR_CLI_H
#define QR_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "pipeline.h"

struct conffile;

#define CLI_DEFAULT_BASE_URL "https://api.partnercenter.microsoft.com"
#define CLI_DEFAULT_AUTHORITY "https://login.microsoftonline.com"

enum cli_action { CLI_RUN = 0, CLI_HELP, CLI_VERSION };

/* Strings the configuration points at that the CLI allocated (config
 * values after %Y-%m expansion, the default manifest path). */
struct cli_strings {
	char **items;
	size_t n, cap;
};

struct cli {
	struct pipeline_config cfg;
	enum cli_action action;
	int verbosity;          /* 0 default, <0 quieter, >0 more verbose */
	enum log_format log_format;
	const char *config;     /* --config FILE, NULL = none */
	const char *metrics;    /* --metrics PATH, NULL = none */
	const char *ping_url;   /* --ping-url URL, NULL = none */
	const char *token_file;
	const char *secret_file;
	const char *passphrase_file;
	const struct auth_cloud *cloud; /* --cloud, NULL: global */
	bool login;             /* qualreport login */
	int login_check;        /* login --check */
	int page_size_set;      /* --page-size given */
	char *token;            /* owned secret */
	char *client_secret;    /* owned secret */
	char *config_token;     /* owned secret from a private config file */
	char *config_secret;    /* owned secret from a private config file */
	char *passphrase;       /* owned secret: the key's passphrase */
	char *config_passphrase; /* owned secret from a private config file */
	struct tm started;      /* local time the %Y-%m of config paths use */
	struct cli_strings owned;
	struct conffile *conf;  /* the --config file; values point into it */
	struct pl_err auth_error; /* deferred credential error */

	/* While a config file is applied: where a value comes from, for
	 * messages and the secrets rule. NULL on the command line. */
	const struct conffile *from_file;
	unsigned long from_line;
};

/*
 * Parse argv (and the config file it names). On PL_EUSAGE the message
 * says what was wrong (with FILE:LINE for the config file). A missing
 * credential is not an error here: it is recorded in cfg.auth_error for
 * the pipeline to report after reading the input.
 */
enum pl_status cli_parse(struct cli *cli, int argc, char **argv,
			 struct pl_err *err);
void cli_release(struct cli *cli);
void cli_print_help(FILE *out);

/* For the setters in options.c: keep s (allocated) until cli_release.
 * PL_ENOMEM (s freed) when the list cannot grow. */
enum pl_status cli_keep(struct cli *cli, char *s, struct pl_err *err);

#endif
