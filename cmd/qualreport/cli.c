/*
 * cli.c: the command line and the config file, both through the option
 * table of options.c, then the checks that involve several options and
 * the credentials.
 */
#include "cli.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "conffile.h"
#include "options.h"
#include "fetch.h"
#include "url_check.h"

#define DEFAULT_CONCURRENCY 16
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_PAGE_SIZE 500
#define DEFAULT_MAX_RETRY_WAIT_S 600

/* getopt_long's view of the table: long options return 256 + their row. */
#define LONG_BASE 256

static const char help_head[] =
"usage: qualreport [OPTIONS] INPUT.csv        (INPUT \"-\" = standard input)\n"
"       qualreport login [--check] OPTIONS    (App+User sign-in, see Login)\n"
"       qualreport [OPTIONS] --all-customers\n"
"\n"
"Reads customer tenant IDs from a CSV, or lists all of the partner's\n"
"customers from the API (--all-customers), asks Partner Center for each\n"
"one's special-offer qualifications (GET /v1/customers/{id}/qualifications)\n"
"and writes a detail report (one row per tenant and qualification) and a\n"
"summary (tenants by qualification and vetting status).\n";

static const char help_tail[] =
"\n"
"Exit codes: 0 all tenants answered; 1 some tenants failed (reports written);\n"
"2 usage; 3 input unreadable or no tenant column (the customer list could\n"
"not be read); 4 authentication failed;\n"
"5 output not written; 130/143 interrupted (no report, journal kept).\n"
"\n"
"Examples:\n"
"  PARTNER_CENTER_TOKEN=$(cat token) qualreport customers.csv -o quals.csv\n"
"  qualreport export.csv -o quals.ndjson.gz -s summary.csv --rejects bad.csv\n"
"  PARTNER_CENTER_CLIENT_SECRET=... qualreport --tenant contoso.onmicrosoft.com \\\n"
"      --client-id 11111111-2222-3333-4444-555555555555 --rate 500/min \\\n"
"      --journal run.journal customers.csv -o quals.csv -s summary.csv\n"
"  qualreport login --tenant contoso.onmicrosoft.com --client-id 1111...5555 \\\n"
"      --refresh-token-file /var/lib/qualreport/refresh-token\n"
"  qualreport --tenant contoso.onmicrosoft.com --client-id 1111...5555 \\\n"
"      --refresh-token-file /var/lib/qualreport/refresh-token customers.csv\n"
"  qualreport --all-customers --journal run.journal -o quals.csv \\\n"
"      --customers customers.csv\n"
"  qualreport --config /etc/qualreport/qualreport.conf customers.csv\n"
"  cut -d, -f3 crm.csv | qualreport - --column 1 -o - | less\n";

/* Where the description starts in an option line of --help. */
#define HELP_COLUMN 27

void cli_print_help(FILE *out)
{
	fputs(help_head, out);
	for(size_t i = 0; i < cli_noptions; i++) {
		const struct cli_option *o = &cli_options[i];
		const char *p;
		int n;

		if(!o->name) {
			fprintf(out, "\n%s\n", o->help);
			continue;
		}
		if(o->flags & OPT_SECRET)
			n = fprintf(out, "  %s = %s", o->name, o->metavar);
		else if(o->letter)
			n = fprintf(out, "  -%c, --%s%s%s", o->letter, o->name,
				    o->metavar ? " " : "",
				    o->metavar ? o->metavar : "");
		else
			n = fprintf(out, "      --%s%s%s", o->name,
				    o->metavar ? " " : "",
				    o->metavar ? o->metavar : "");
		/* the description column, or two spaces past a long name */
		fprintf(out, "%*s", n < HELP_COLUMN - 1 ? HELP_COLUMN - n : 2,
			"");
		for(p = o->help; *p; p++) {
			fputc(*p, out);
			if(*p == '\n')
				fprintf(out, "%*s", HELP_COLUMN, "");
		}
		fputc('\n', out);
	}
	fputs(help_tail, out);
}

enum pl_status cli_keep(struct cli *cli, char *s, struct pl_err *err)
{
	struct cli_strings *o = &cli->owned;

	if(o->n == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 8;
		char **grown = realloc(o->items, cap * sizeof(*grown));

		if(!grown) {
			free(s);
			return pl_fail(err, PL_ENOMEM, "out of memory");
		}
		o->items = grown;
		o->cap = cap;
	}
	o->items[o->n++] = s;
	return PL_OK;
}

static void wipe_free(char *secret)
{
	if(secret) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
}

/* ---- the command line ------------------------------------------------ */

/* The getopt_long tables of cli_options; owned by the caller. */
static enum pl_status getopt_tables(struct option **longopts, char **shortopts,
				    struct pl_err *err)
{
	struct option *lo = calloc(cli_noptions + 1, sizeof(*lo));
	char *so = malloc(2 * cli_noptions + 2);
	size_t n = 0, k = 0;

	if(!lo || !so) {
		free(lo);
		free(so);
		return pl_fail(err, PL_ENOMEM, "out of memory");
	}
	so[k++] = ':'; /* a missing value is ':', not '?' */
	for(size_t i = 0; i < cli_noptions; i++) {
		const struct cli_option *o = &cli_options[i];

		if(!o->name)
			continue;
		lo[n].name = o->name;
		lo[n].has_arg = o->metavar ? required_argument : no_argument;
		lo[n].val = LONG_BASE + (int)i;
		n++;
		if(o->letter) {
			so[k++] = (char)o->letter;
			if(o->metavar)
				so[k++] = ':';
		}
	}
	so[k] = '\0';
	*longopts = lo;
	*shortopts = so;
	return PL_OK;
}

/*
 * One pass over argv. The first pass (early) applies only what must come
 * before the config file (--config, --help, --version) and stops at
 * --help/--version as getopt sees them; the second applies the rest, so
 * the command line overrides the file.
 */
static enum pl_status parse_argv(struct cli *cli, int argc, char **argv,
				 bool early, struct pl_err *err)
{
	struct option *longopts = NULL;
	char *shortopts = NULL;
	enum pl_status st;
	int c;

	st = getopt_tables(&longopts, &shortopts, err);
	if(st)
		return st;
	opterr = 0;
	optind = 0; /* 0: glibc re-initialises for a second pass */
	while((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct cli_option *o;

		if(c == ':') {
			st = pl_fail(err, PL_EUSAGE, "%s needs a value",
				     argv[optind - 1]);
			break;
		}
		if(c == '?') {
			if(optopt && optopt < LONG_BASE)
				st = pl_fail(err, PL_EUSAGE, "unknown option "
					     "'-%c' (see --help)", optopt);
			else
				st = pl_fail(err, PL_EUSAGE, "unknown option "
					     "'%s' (see --help)",
					     argv[optind - 1]);
			break;
		}
		o = c >= LONG_BASE ? &cli_options[c - LONG_BASE]
				   : cli_option_by_letter(c);
		if(!o) {
			st = pl_fail(err, PL_EINTERNAL, "option table has no "
				     "'-%c'", c);
			break;
		}
		if(early != !!(o->flags & OPT_ARGV_ONLY))
			continue;
		if(o->flags & OPT_SECRET) {
			st = pl_fail(err, PL_EUSAGE, "--%s: secrets never go on "
				     "the command line, where ps shows them "
				     "to every user: use the environment, a "
				     "file option or a config file only you "
				     "can read", o->name);
			break;
		}
		st = o->set(cli, o, o->metavar ? optarg : NULL, err);
		if(st || cli->action != CLI_RUN)
			break;
	}
	free(longopts);
	free(shortopts);
	return st;
}

/* ---- the config file ---------------------------------------------------- */

/* Prefix err's message with "FILE:LINE: ". */
static enum pl_status at_line(const struct conffile *cf, unsigned long line,
			      enum pl_status st, struct pl_err *err)
{
	struct pl_err inner = *err;

	return pl_fail(err, st, "%s:%lu: %s", cf->path, line, inner.msg);
}

static enum pl_status apply_entry(struct cli *cli, const struct conffile *cf,
				  const struct conffile_entry *e,
				  struct pl_err *err)
{
	const struct cli_option *o = cli_option_find(e->name);
	const char *value = e->value;
	enum pl_status st;
	char *expanded;

	if(!o)
		return pl_fail(err, PL_EUSAGE, "%s:%lu: unknown option '%s' "
			       "(see qualreport --help)", cf->path, e->line,
			       e->name);
	if(o->flags & OPT_ARGV_ONLY)
		return pl_fail(err, PL_EUSAGE, "%s:%lu: --%s only works on "
			       "the command line", cf->path, e->line,
			       o->name);
	if(!o->metavar && value)
		return pl_fail(err, PL_EUSAGE, "%s:%lu: --%s takes no value",
			       cf->path, e->line, o->name);
	if(o->metavar && !value)
		return pl_fail(err, PL_EUSAGE, "%s:%lu: --%s needs a value",
			       cf->path, e->line, o->name);
	if((o->flags & OPT_SECRET) && !conffile_is_private(cf))
		return pl_fail(err, PL_EUSAGE, "%s:%lu: refusing the secret "
			       "'%s' from a config file %s: make it mode "
			       "0600 or 0400 and owned by you (chmod 600 "
			       "%s), or keep the secret out of it",
			       cf->path, e->line, o->name,
			       cf->owned_by_user ? "other users can read"
						 : "owned by another user",
			       cf->path);
	if(o->flags & OPT_PATH) {
		st = conffile_expand_path(value, &cli->started, &expanded,
					  err);
		if(!st)
			st = cli_keep(cli, expanded, err);
		if(st)
			return at_line(cf, e->line, st, err);
		value = expanded;
	}
	st = o->set(cli, o, value, err);
	return st ? at_line(cf, e->line, st, err) : PL_OK;
}

static enum pl_status apply_config(struct cli *cli, struct conffile **cfp,
				   struct pl_err *err)
{
	enum pl_status st;

	st = conffile_read(cli->config, cfp, err);
	for(size_t i = 0; !st && i < (*cfp)->n; i++)
		st = apply_entry(cli, *cfp, &(*cfp)->entries[i], err);
	return st;
}

/* ---- credentials ------------------------------------------------------ */

/*
 * Take a secret from the environment, then remove it from there so no
 * child process (libcurl spawns none, but a future one might) inherits
 * it. /proc/PID/environ still shows the original block: that file is
 * closed to other users by PR_SET_DUMPABLE 0 in main(). The variable
 * stays set when the copy cannot be made, so nothing is lost.
 */
static enum pl_status take_env_secret(const char *name, char **out,
				      struct pl_err *err)
{
	const char *v = getenv(name);

	*out = NULL;
	if(!v || !*v)
		return PL_OK;
	*out = strdup(v);
	if(!*out)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	unsetenv(name);
	return PL_OK;
}

/*
 * One secret from the first source that has it: a file option (command
 * line or config file), the environment variable, the config file's
 * own value. *owned receives an allocation the caller wipes; *use points
 * at the secret (NULL when no source has one).
 */
static enum pl_status find_secret(const char *file, const char *env,
				  char *config_value, char **owned,
				  const char **use, struct pl_err *err)
{
	enum pl_status st;

	*use = NULL;
	if(file) {
		st = auth_read_secret_file(file, owned, err);
		if(st)
			return st;
		unsetenv(env);
	} else {
		st = take_env_secret(env, owned, err);
		if(st)
			return st;
	}
	*use = *owned ? *owned : config_value;
	return PL_OK;
}

/* Option combinations that cannot work, before any file is read. */
static enum pl_status check_credential_options(const struct cli *cli,
					       struct pl_err *err)
{
	const struct auth_config *auth = &cli->cfg.auth;
	bool app = auth->tenant || auth->client_id;

	if(app && (!auth->tenant || !auth->client_id))
		return pl_fail(err, PL_EUSAGE,
			       "--tenant and --client-id go together");
	if(cli->login && !app)
		return pl_fail(err, PL_EUSAGE, "qualreport login needs "
			       "--tenant and --client-id");
	if(cli->login && !auth->refresh_token_file)
		return pl_fail(err, PL_EUSAGE, "qualreport login needs "
			       "--refresh-token-file PATH: where to keep the "
			       "refresh token");
	if(app && cli->token_file)
		return pl_fail(err, PL_EUSAGE,
			       "--token-file and --tenant/--client-id are "
			       "alternatives: give one");
	if(!app && cli->secret_file)
		return pl_fail(err, PL_EUSAGE,
			       "--client-secret-file needs --tenant and "
			       "--client-id");
	if(!app && auth->refresh_token_file)
		return pl_fail(err, PL_EUSAGE, "--refresh-token-file needs "
			       "--tenant and --client-id");
	if(!app && auth->client_cert)
		return pl_fail(err, PL_EUSAGE, "--client-cert needs --tenant "
			       "and --client-id");
	if(auth->client_key && !auth->client_cert)
		return pl_fail(err, PL_EUSAGE, "--client-key needs "
			       "--client-cert");
	if(cli->passphrase_file && !auth->client_cert)
		return pl_fail(err, PL_EUSAGE, "--client-key-passphrase-file "
			       "needs --client-cert");
	if(cli->secret_file && auth->client_cert)
		return pl_fail(err, PL_EUSAGE, "--client-secret-file and "
			       "--client-cert are alternatives: give one");
	return PL_OK;
}

static enum pl_status check_credentials(struct cli *cli, struct pl_err *err)
{
	struct auth_config *auth = &cli->cfg.auth;
	bool app = auth->tenant || auth->client_id;
	enum pl_status st;

	st = check_credential_options(cli, err);
	if(st)
		return st;
	if(app && auth->client_cert)
		/* A key need not be encrypted: no passphrase is no error. */
		return find_secret(cli->passphrase_file,
				   "PARTNER_CENTER_KEY_PASSPHRASE",
				   cli->config_passphrase, &cli->passphrase,
				   &auth->client_key_passphrase, err);
	if(app) {
		st = find_secret(cli->secret_file,
				 "PARTNER_CENTER_CLIENT_SECRET",
				 cli->config_secret, &cli->client_secret,
				 &auth->client_secret, err);
		if(st)
			return st;
		/* A refresh token may belong to a public client. */
		if(!auth->client_secret && !auth->refresh_token_file)
			return pl_fail(err, PL_EAUTH,
				       "no client secret for client %s: set "
				       "PARTNER_CENTER_CLIENT_SECRET, use "
				       "--client-secret-file or --client-cert",
				       auth->client_id);
		return PL_OK;
	}
	st = find_secret(cli->token_file, "PARTNER_CENTER_TOKEN",
			 cli->config_token, &cli->token, &auth->token, err);
	if(st)
		return st;
	if(!auth->token)
		return pl_fail(err, PL_EAUTH,
			       "no credentials: set PARTNER_CENTER_TOKEN, use "
			       "--token-file, or --tenant and --client-id with "
			       "a client secret, a certificate or a refresh "
			       "token file");
	return PL_OK;
}

/* ---- checks across options ------------------------------------------- */

static bool is_file_path(const char *path)
{
	return path && strcmp(path, "-") != 0;
}

/*
 * --previous, --changes and --html: each needs the others it works with,
 * and the new outputs (those and --customers) clash with no other output
 * (one stdout at most, no file named twice).
 */
static enum pl_status check_comparison(const struct pipeline_config *cfg,
				       struct pl_err *err)
{
	const struct { const char *opt, *path; } outs[] = {
		{"-o", cfg->output}, {"-s", cfg->summary},
		{"--rejects", cfg->rejects}, {"--manifest", cfg->manifest},
		{"--journal", cfg->journal}, {"--changes", cfg->changes},
		{"--html", cfg->html}, {"--customers", cfg->customers}};
	size_t n = sizeof(outs) / sizeof(outs[0]), stdouts = 0;

	if(cfg->changes && !cfg->previous)
		return pl_fail(err, PL_EUSAGE, "--changes needs --previous "
			       "(last run's detail report or manifest)");
	if(cfg->previous && !cfg->changes && !cfg->html)
		return pl_fail(err, PL_EUSAGE, "--previous is used only by "
			       "--changes and --html: give one of them");
	if(cfg->previous && !strcmp(cfg->previous, "-"))
		return pl_fail(err, PL_EUSAGE, "--previous: give a file (the "
			       "report is read by offset), not stdin");
	for(size_t i = 0; i < n; i++)
		stdouts += outs[i].path && !strcmp(outs[i].path, "-");
	if(stdouts > 1 && ((cfg->changes && !strcmp(cfg->changes, "-")) ||
			   (cfg->html && !strcmp(cfg->html, "-")) ||
			   (cfg->customers && !strcmp(cfg->customers, "-"))))
		return pl_fail(err, PL_EUSAGE,
			       "only one output can be stdout");
	/* the new options against every output (the others are checked
	 * among themselves above) */
	for(size_t i = n - 3; i < n; i++) {
		if(!is_file_path(outs[i].path))
			continue;
		for(size_t j = 0; j < n; j++)
			if(j != i && is_file_path(outs[j].path) &&
			   !strcmp(outs[i].path, outs[j].path))
				return pl_fail(err, PL_EUSAGE,
					       "%s and %s name the same file "
					       "'%s'", outs[j].opt,
					       outs[i].opt, outs[i].path);
	}
	return PL_OK;
}

static enum pl_status check_outputs(struct cli *cli, struct pl_err *err)
{
	struct pipeline_config *cfg = &cli->cfg;
	char *manifest;
	size_t len;
	enum pl_status st;

	if(!cfg->format_set)
		cfg->format = report_format_from_path(cfg->output);
	if(cfg->summary && !strcmp(cfg->summary, "-") &&
	   !strcmp(cfg->output, "-"))
		return pl_fail(err, PL_EUSAGE,
			       "-o and -s cannot both be stdout");
	if(cfg->rejects && !strcmp(cfg->rejects, "-") &&
	   (!strcmp(cfg->output, "-") ||
	    (cfg->summary && !strcmp(cfg->summary, "-"))))
		return pl_fail(err, PL_EUSAGE,
			       "only one output can be stdout");
	if(is_file_path(cfg->output) && is_file_path(cfg->summary) &&
	   !strcmp(cfg->output, cfg->summary))
		return pl_fail(err, PL_EUSAGE,
			       "-o and -s name the same file '%s'",
			       cfg->output);
	if(is_file_path(cfg->output) && is_file_path(cfg->rejects) &&
	   !strcmp(cfg->output, cfg->rejects))
		return pl_fail(err, PL_EUSAGE,
			       "-o and --rejects name the same file '%s'",
			       cfg->output);
	st = check_comparison(cfg, err);
	if(st)
		return st;
	if(cfg->manifest || !is_file_path(cfg->output))
		return PL_OK;
	len = strlen(cfg->output) + sizeof(".manifest.json");
	manifest = malloc(len);
	if(!manifest)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	snprintf(manifest, len, "%s.manifest.json", cfg->output);
	cfg->manifest = manifest;
	return cli_keep(cli, manifest, err);
}

/* --cloud fills what --base-url and --authority did not set. */
static void apply_cloud(struct cli *cli)
{
	const struct auth_cloud *c = cli->cloud ? cli->cloud :
				     auth_cloud_find("global");

	if(!cli->cfg.base_url)
		cli->cfg.base_url = c->api_root;
	if(!cli->cfg.auth.authority)
		cli->cfg.auth.authority = c->authority;
	cli->cfg.auth.resource = c->resource;
}

static void setup_log(struct cli *cli)
{
	cli->cfg.quiet = cli->verbosity < 0;
	log_setup(cli->verbosity <= -2 ? LOG_ERROR
		  : cli->verbosity == -1 ? LOG_WARN
		  : cli->verbosity == 0 ? LOG_INFO : LOG_DEBUG,
		  cli->log_format);
}

static void set_defaults(struct cli *cli)
{
	struct pipeline_config *cfg = &cli->cfg;
	time_t now = time(NULL);

	memset(cli, 0, sizeof(*cli));
	cfg->output = "-";
	/* base_url and the authority stay NULL until --cloud is known. */
	cfg->concurrency = DEFAULT_CONCURRENCY;
	cfg->retries = DEFAULT_RETRIES;
	cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
	cfg->page_size = DEFAULT_PAGE_SIZE;
	cfg->max_retry_wait_s = DEFAULT_MAX_RETRY_WAIT_S;
	cfg->progress = PROGRESS_AUTO;
	cfg->auth.user_agent = "qualreport/" QR_VERSION;
	localtime_r(&now, &cli->started);
}

enum pl_status cli_parse(struct cli *cli, int argc, char **argv,
			 struct pl_err *err)
{
	struct pipeline_config *cfg = &cli->cfg;
	enum pl_status st;

	set_defaults(cli);
	/* qualreport login: the rest is parsed as usual, without an input. */
	if(argc > 1 && !strcmp(argv[1], "login")) {
		cli->login = true;
		argc--;
		argv++;
	}
	st = parse_argv(cli, argc, argv, true, err);
	if(st || cli->action != CLI_RUN)
		return st;
	if(cli->config) {
		st = apply_config(cli, &cli->conf, err);
		if(st)
			return st;
	}
	st = parse_argv(cli, argc, argv, false, err);
	if(st || cli->action != CLI_RUN)
		return st;
	apply_cloud(cli);
	if(cli->login_check && !cli->login)
		return pl_fail(err, PL_EUSAGE, "--check only works with "
			       "qualreport login");
	if(cli->login) {
		if(optind < argc)
			return pl_fail(err, PL_EUSAGE, "qualreport login takes "
				       "no input file, got '%s'", argv[optind]);
		setup_log(cli);
		return check_credentials(cli, err);
	}

	if(cfg->all_customers && optind < argc)
		return pl_fail(err, PL_EUSAGE,
			       "--all-customers lists the customers from the "
			       "API: no input file, got '%s'", argv[optind]);
	if(!cfg->all_customers && cli->page_size_set)
		return pl_fail(err, PL_EUSAGE,
			       "--page-size is for --all-customers");
	if(cfg->all_customers && cfg->column)
		return pl_fail(err, PL_EUSAGE,
			       "--column is for an input file, not "
			       "--all-customers");
	if(!cfg->all_customers && optind >= argc)
		return pl_fail(err, PL_EUSAGE,
			       "no input file (give a CSV path, or - for "
			       "stdin, or --all-customers; see --help)");
	if(argc - optind > 1)
		return pl_fail(err, PL_EUSAGE,
			       "one input file only, got '%s' and '%s'",
			       argv[optind], argv[optind + 1]);
	if(!cfg->all_customers) {
		cfg->input = argv[optind];
		if(!*cfg->input)
			return pl_fail(err, PL_EUSAGE, "input path is empty");
	}
	st = check_outputs(cli, err);
	if(st)
		return st;
	if(url_check(cfg->base_url, "--base-url", err))
		return PL_EUSAGE;

	/* Logging is set up before the secret files are read, so their
	 * warnings already come out in the requested format. */
	setup_log(cli);
	st = check_credentials(cli, &cli->auth_error);
	if(st == PL_EAUTH) {
		cfg->auth_error = cli->auth_error.msg;
		return PL_OK;
	}
	if(st)
		*err = cli->auth_error;
	return st;
}

void cli_release(struct cli *cli)
{
	wipe_free(cli->token);
	wipe_free(cli->client_secret);
	wipe_free(cli->config_token);
	wipe_free(cli->config_secret);
	wipe_free(cli->passphrase);
	wipe_free(cli->config_passphrase);
	conffile_free(cli->conf);
	for(size_t i = 0; i < cli->owned.n; i++)
		free(cli->owned.items[i]);
	free(cli->owned.items);
	memset(cli, 0, sizeof(*cli));
}
