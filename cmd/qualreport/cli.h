/*
 * cli.h: the qualreport command line -> struct pipeline_config.
 *
 * Every option of the contract is parsed and validated here with a precise
 * message; nothing is fetched or opened except secret files. Secrets (the
 * token and the client secret) come only from the environment or files and
 * are owned by struct cli (wiped in cli_release).
 */
#ifndef QR_CLI_H
#define QR_CLI_H

#include "pipeline.h"

enum cli_action { CLI_RUN = 0, CLI_HELP, CLI_VERSION };

struct cli {
	struct pipeline_config cfg;
	enum cli_action action;
	int verbosity;          /* 0 default, <0 quieter, >0 more verbose */
	enum log_format log_format;
	char *token;            /* owned secret */
	char *client_secret;    /* owned secret */
	char *manifest_default; /* owned "<output>.manifest.json" */
	struct pl_err auth_error; /* deferred credential error */
};

/*
 * Parse argv. On PL_EUSAGE the message says what was wrong. A missing
 * credential is not an error here: it is recorded in cfg.auth_error for
 * the pipeline to report after reading the input.
 */
enum pl_status cli_parse(struct cli *cli, int argc, char **argv,
			 struct pl_err *err);
void cli_release(struct cli *cli);
void cli_print_help(FILE *out);

#endif
