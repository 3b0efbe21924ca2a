/*
 * options.h: every qualreport option, defined once.
 *
 * One table (options.c, in the style of curl's tool_getparam.c) gives
 * each option its name, short letter, value kind, where it may come from
 * and its --help text; the command-line parser, the config-file reader
 * and --help all come from it. Adding an option is a row in the table
 * (with a setter when the value needs checking), a field in the config
 * (struct pipeline_config or struct cli) and its lines in README.md and
 * qualreport.1, which tests/integration/t_manpage.sh keeps in step with
 * the table.
 *
 * Rows come in --help order; a row without a name is a section heading
 * (its help text printed as it is).
 */
#ifndef QR_OPTIONS_H
#define QR_OPTIONS_H

#include <stddef.h>

#include "status.h"

struct cli;
struct cli_option;

/* Apply a value (NULL for a flag) to the configuration; messages start
 * with the option's name ("--rate: 'x' is not a rate"). */
typedef enum pl_status (*cli_setter)(struct cli *cli,
				     const struct cli_option *opt,
				     const char *value, struct pl_err *err);

/* Where an option may come from, and what its value is. */
enum {
	/* the value is a path: strftime conversions (%Y-%m) are expanded
	 * when it comes from a config file, and it must not be empty */
	OPT_PATH = 1 << 0,
	/* the value is a secret: never on the command line (ps shows argv
	 * to every user), only in a config file nobody else can read */
	OPT_SECRET = 1 << 1,
	/* only on the command line, not in a config file */
	OPT_ARGV_ONLY = 1 << 2
};

struct cli_option {
	const char *name;     /* long name without "--"; NULL: a heading */
	int letter;           /* short option, 0 = none */
	const char *metavar;  /* the value's name in --help; NULL: a flag */
	unsigned flags;       /* OPT_* */
	cli_setter set;
	size_t field;         /* offset in struct cli, for generic setters */
	const char *help;     /* --help text; '\n' continues it */
};

extern const struct cli_option cli_options[];
extern const size_t cli_noptions;

/* The row of a long name (without "--"), or NULL. */
const struct cli_option *cli_option_find(const char *name);
/* The row of a short letter, or NULL. */
const struct cli_option *cli_option_by_letter(int letter);

#endif
