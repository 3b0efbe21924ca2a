#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "fetch.h"
#include "ids.h"

#define DEFAULT_BASE_URL "https://api.partnercenter.microsoft.com"
#define DEFAULT_AUTHORITY "https://login.microsoftonline.com"
#define DEFAULT_CONCURRENCY 16
#define DEFAULT_RETRIES 5
#define DEFAULT_TIMEOUT_MS 30000L
#define MAX_RETRIES 100
#define MAX_TIMEOUT_S 3600.0

/* Long-only options get values above the char range. */
enum {
	OPT_AUTHORITY = 256,
	OPT_BASE_URL,
	OPT_CACERT,
	OPT_CLIENT_ID,
	OPT_CLIENT_SECRET_FILE,
	OPT_COLUMN,
	OPT_CORRELATION_ID,
	OPT_EXCEL_SAFE,
	OPT_HELP,
	OPT_JOURNAL,
	OPT_LOG_FORMAT,
	OPT_MANIFEST,
	OPT_NO_PROGRESS,
	OPT_PROGRESS,
	OPT_RATE,
	OPT_REJECTS,
	OPT_RETRIES,
	OPT_TENANT,
	OPT_TIMEOUT,
	OPT_TOKEN_FILE,
	OPT_VERSION
};

/* Sorted by name. */
static const struct option options[] = {
	{"authority", required_argument, NULL, OPT_AUTHORITY},
	{"base-url", required_argument, NULL, OPT_BASE_URL},
	{"cacert", required_argument, NULL, OPT_CACERT},
	{"client-id", required_argument, NULL, OPT_CLIENT_ID},
	{"client-secret-file", required_argument, NULL, OPT_CLIENT_SECRET_FILE},
	{"column", required_argument, NULL, OPT_COLUMN},
	{"concurrency", required_argument, NULL, 'j'},
	{"correlation-id", required_argument, NULL, OPT_CORRELATION_ID},
	{"excel-safe", no_argument, NULL, OPT_EXCEL_SAFE},
	{"format", required_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},
	{"journal", required_argument, NULL, OPT_JOURNAL},
	{"log-format", required_argument, NULL, OPT_LOG_FORMAT},
	{"manifest", required_argument, NULL, OPT_MANIFEST},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"output", required_argument, NULL, 'o'},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"quiet", no_argument, NULL, 'q'},
	{"rate", required_argument, NULL, OPT_RATE},
	{"rejects", required_argument, NULL, OPT_REJECTS},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"summary", required_argument, NULL, 's'},
	{"tenant", required_argument, NULL, OPT_TENANT},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"token-file", required_argument, NULL, OPT_TOKEN_FILE},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0}
};

void cli_print_help(FILE *out)
{
	fputs(
"usage: qualreport [OPTIONS] INPUT.csv        (INPUT \"-\" = standard input)\n"
"\n"
"Reads customer tenant IDs from a CSV, asks Partner Center for each one's\n"
"special-offer qualifications (GET /v1/customers/{id}/qualifications) and\n"
"writes a detail report (one row per tenant and qualification) and a\n"
"summary (tenants by qualification and vetting status).\n"
"\n"
"Output:\n"
"  -o, --output PATH        detail report; - = stdout (default)\n"
"  -s, --summary PATH       summary report (qualification, vetting_status, count)\n"
"  -f, --format FMT         csv | ndjson | ndjson.gz; default from the suffix of\n"
"                           -o (.csv, .ndjson/.jsonl, .ndjson.gz/.jsonl.gz), else csv\n"
"      --rejects PATH       CSV of input rows that are not tenant IDs\n"
"                           (line,value,reason); written even when empty\n"
"      --manifest PATH      run manifest (JSON, written last); default\n"
"                           <output>.manifest.json when -o is a file\n"
"      --journal PATH       crash-safe journal: rerun with it to resume\n"
"      --excel-safe         prefix CSV text starting with = + - @ with '\n"
"                           so spreadsheets do not run it as a formula\n"
"\n"
"Input:\n"
"      --column NAME|N      column of tenant IDs (header name or 1-based number);\n"
"                           default: by header name, else the GUID column\n"
"\n"
"Fetching:\n"
"  -j, --concurrency N      requests in flight, 1-1024 (default 16)\n"
"      --rate R             max request rate: 8.3, 8.3/s, 500/min (default:\n"
"                           none, adapt on 429). Partner Center documents\n"
"                           500/min per partner for customer resources\n"
"      --retries N          retries per tenant after the first try (default 5)\n"
"      --timeout SECONDS    per-attempt timeout (default 30)\n"
"      --base-url URL       API root (default " DEFAULT_BASE_URL ")\n"
"      --cacert PATH        extra CA bundle (PEM), trusted besides the system CAs\n"
"      --correlation-id UUID  MS-CorrelationId of the run (default: new)\n"
"\n"
"Credentials (never on the command line):\n"
"  PARTNER_CENTER_TOKEN=... or --token-file PATH   a ready bearer token, or\n"
"  --tenant ID --client-id ID with PARTNER_CENTER_CLIENT_SECRET=... or\n"
"  --client-secret-file PATH: app credentials; tokens are requested from\n"
"      --authority URL      (default " DEFAULT_AUTHORITY ")\n"
"                           and renewed before they expire\n"
"\n"
"Display:\n"
"      --progress, --no-progress  progress bar on stderr (default: when a tty)\n"
"      --log-format text|json     log lines on stderr\n"
"  -q, --quiet              fewer messages (-qq: errors only)\n"
"  -v, --verbose            more messages\n"
"      --version, --help\n"
"\n"
"Exit codes: 0 all tenants answered; 1 some tenants failed (reports written);\n"
"2 usage; 3 input unreadable or no tenant column; 4 authentication failed;\n"
"5 output not written; 130/143 interrupted (no report, journal kept).\n"
"\n"
"Examples:\n"
"  PARTNER_CENTER_TOKEN=$(cat token) qualreport customers.csv -o quals.csv\n"
"  qualreport export.csv -o quals.ndjson.gz -s summary.csv --rejects bad.csv\n"
"  PARTNER_CENTER_CLIENT_SECRET=... qualreport --tenant contoso.onmicrosoft.com \\\n"
"      --client-id 11111111-2222-3333-4444-555555555555 --rate 500/min \\\n"
"      --journal run.journal customers.csv -o quals.csv -s summary.csv\n"
"  cut -d, -f3 crm.csv | qualreport - --column 1 -o - | less\n",
		out);
}

/* Parse a whole decimal unsigned in [lo, hi]. */
static int parse_uint(const char *s, unsigned long lo, unsigned long hi,
		      unsigned long *out)
{
	char *end;
	unsigned long v;

	if(!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if(errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A finite positive number, all of s. */
static int parse_positive(const char *s, char **end, double *out)
{
	double v;

	if(!s || !*s || *s == '-' || *s == '+' || (*s < '0' && *s != '.') ||
	   *s > '9')
		return -1;
	errno = 0;
	v = strtod(s, end);
	if(errno || *end == s || !isfinite(v) || v <= 0)
		return -1;
	*out = v;
	return 0;
}

/* "8.3", "8.3/s", "500/min", "30000/h" -> requests per second. */
static int parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	if(parse_positive(s, &end, &v))
		return -1;
	if(*end == '\0' || !strcmp(end, "/s") || !strcmp(end, "/sec"))
		*out = v;
	else if(!strcmp(end, "/m") || !strcmp(end, "/min"))
		*out = v / 60.0;
	else if(!strcmp(end, "/h") || !strcmp(end, "/hour"))
		*out = v / 3600.0;
	else
		return -1;
	return 0;
}

static void wipe_free(char *secret)
{
	if(secret) {
		OPENSSL_cleanse(secret, strlen(secret));
		free(secret);
	}
}

/* Take a secret from the environment, then remove it from there so no
 * child process (libcurl spawns none, but a future one might) inherits
 * it. /proc/PID/environ still shows the original block: that file is
 * closed to other users by PR_SET_DUMPABLE 0 in main(). */
static char *take_env_secret(const char *name)
{
	const char *v = getenv(name);
	char *copy;

	if(!v || !*v)
		return NULL;
	copy = strdup(v);
	unsetenv(name);
	return copy;
}

static enum pl_status check_credentials(struct cli *cli, const char *token_file,
					const char *secret_file,
					struct pl_err *err)
{
	struct auth_config *auth = &cli->cfg.auth;
	int app = auth->tenant || auth->client_id;
	enum pl_status st;

	if(app && (!auth->tenant || !auth->client_id))
		return pl_fail(err, PL_EUSAGE,
			       "--tenant and --client-id go together");
	if(app && token_file)
		return pl_fail(err, PL_EUSAGE,
			       "--token-file and --tenant/--client-id are "
			       "alternatives: give one");
	if(!app && secret_file)
		return pl_fail(err, PL_EUSAGE,
			       "--client-secret-file needs --tenant and "
			       "--client-id");
	if(app) {
		if(secret_file) {
			st = auth_read_secret_file(secret_file,
						   &cli->client_secret, err);
			if(st)
				return st;
			unsetenv("PARTNER_CENTER_CLIENT_SECRET");
		} else {
			cli->client_secret =
				take_env_secret("PARTNER_CENTER_CLIENT_SECRET");
		}
		if(!cli->client_secret)
			return pl_fail(err, PL_EAUTH,
				       "no client secret for client %s: set "
				       "PARTNER_CENTER_CLIENT_SECRET or use "
				       "--client-secret-file",
				       auth->client_id);
		auth->client_secret = cli->client_secret;
		return PL_OK;
	}
	if(token_file) {
		st = auth_read_secret_file(token_file, &cli->token, err);
		if(st)
			return st;
		unsetenv("PARTNER_CENTER_TOKEN");
	} else {
		cli->token = take_env_secret("PARTNER_CENTER_TOKEN");
	}
	if(!cli->token)
		return pl_fail(err, PL_EAUTH,
			       "no credentials: set PARTNER_CENTER_TOKEN, use "
			       "--token-file, or --tenant and --client-id with "
			       "a client secret");
	auth->token = cli->token;
	return PL_OK;
}

static int is_file_path(const char *path)
{
	return path && strcmp(path, "-") != 0;
}

enum pl_status cli_parse(struct cli *cli, int argc, char **argv,
			 struct pl_err *err)
{
	struct pipeline_config *cfg = &cli->cfg;
	const char *token_file = NULL, *secret_file = NULL;
	unsigned long n;
	double seconds;
	char *end;
	int c;

	memset(cli, 0, sizeof(*cli));
	cfg->output = "-";
	cfg->base_url = DEFAULT_BASE_URL;
	cfg->concurrency = DEFAULT_CONCURRENCY;
	cfg->retries = DEFAULT_RETRIES;
	cfg->timeout_ms = DEFAULT_TIMEOUT_MS;
	cfg->progress = PROGRESS_AUTO;
	cfg->auth.authority = DEFAULT_AUTHORITY;
	cfg->auth.user_agent = "qualreport/" QR_VERSION;

	opterr = 0;
	optind = 1;
	while((c = getopt_long(argc, argv, ":o:s:f:j:qvh", options, NULL)) !=
	      -1) {
		switch(c) {
		case 'o':
			cfg->output = optarg;
			break;
		case 's':
			cfg->summary = optarg;
			break;
		case 'f':
			if(report_format_parse(optarg, &cfg->format))
				return pl_fail(err, PL_EUSAGE,
					       "--format: unknown format '%s' "
					       "(use csv, ndjson or ndjson.gz)",
					       optarg);
			cfg->format_set = 1;
			break;
		case 'j':
			if(parse_uint(optarg, 1, FETCH_MAX_CONCURRENCY, &n))
				return pl_fail(err, PL_EUSAGE,
					       "--concurrency: '%s' is not a "
					       "number from 1 to %d",
					       optarg, FETCH_MAX_CONCURRENCY);
			cfg->concurrency = (unsigned)n;
			break;
		case 'q':
			cli->verbosity--;
			break;
		case 'v':
			cli->verbosity++;
			break;
		case 'h':
			cli->action = CLI_HELP;
			return PL_OK;
		case OPT_VERSION:
			cli->action = CLI_VERSION;
			return PL_OK;
		case OPT_AUTHORITY:
			cfg->auth.authority = optarg;
			break;
		case OPT_BASE_URL:
			cfg->base_url = optarg;
			break;
		case OPT_CACERT:
			cfg->cacert = optarg;
			cfg->auth.cacert = optarg;
			break;
		case OPT_CLIENT_ID:
			cfg->auth.client_id = optarg;
			break;
		case OPT_CLIENT_SECRET_FILE:
			secret_file = optarg;
			break;
		case OPT_COLUMN:
			if(!*optarg)
				return pl_fail(err, PL_EUSAGE,
					       "--column: empty name");
			cfg->column = optarg;
			break;
		case OPT_CORRELATION_ID:
			if(!ids_parse_uuid(optarg, cfg->correlation_id))
				return pl_fail(err, PL_EUSAGE,
					       "--correlation-id: '%s' is not a "
					       "UUID", optarg);
			break;
		case OPT_EXCEL_SAFE:
			cfg->excel_safe = 1;
			break;
		case OPT_JOURNAL:
			cfg->journal = optarg;
			break;
		case OPT_LOG_FORMAT:
			if(!strcmp(optarg, "text"))
				cli->log_format = LOG_TEXT;
			else if(!strcmp(optarg, "json"))
				cli->log_format = LOG_JSON;
			else
				return pl_fail(err, PL_EUSAGE,
					       "--log-format: '%s' is not text "
					       "or json", optarg);
			break;
		case OPT_MANIFEST:
			cfg->manifest = optarg;
			break;
		case OPT_NO_PROGRESS:
			cfg->progress = PROGRESS_OFF;
			break;
		case OPT_PROGRESS:
			cfg->progress = PROGRESS_ON;
			break;
		case OPT_RATE:
			if(parse_rate(optarg, &cfg->rate))
				return pl_fail(err, PL_EUSAGE,
					       "--rate: '%s' is not a rate "
					       "(examples: 8.3, 8.3/s, 500/min)",
					       optarg);
			break;
		case OPT_REJECTS:
			cfg->rejects = optarg;
			break;
		case OPT_RETRIES:
			if(parse_uint(optarg, 0, MAX_RETRIES, &n))
				return pl_fail(err, PL_EUSAGE,
					       "--retries: '%s' is not a number "
					       "from 0 to %d", optarg,
					       MAX_RETRIES);
			cfg->retries = (unsigned)n;
			break;
		case OPT_TENANT:
			cfg->auth.tenant = optarg;
			break;
		case OPT_TIMEOUT:
			if(parse_positive(optarg, &end, &seconds) || *end ||
			   seconds > MAX_TIMEOUT_S || seconds < 0.001)
				return pl_fail(err, PL_EUSAGE,
					       "--timeout: '%s' is not a number "
					       "of seconds from 0.001 to %.0f",
					       optarg, MAX_TIMEOUT_S);
			cfg->timeout_ms = (long)ceil(seconds * 1000.0);
			break;
		case OPT_TOKEN_FILE:
			token_file = optarg;
			break;
		case ':':
			return pl_fail(err, PL_EUSAGE, "%s needs a value",
				       argv[optind - 1]);
		case '?':
		default:
			if(optopt && optopt < 256)
				return pl_fail(err, PL_EUSAGE,
					       "unknown option '-%c' (see "
					       "--help)", optopt);
			return pl_fail(err, PL_EUSAGE,
				       "unknown option '%s' (see --help)",
				       argv[optind - 1]);
		}
	}

	if(optind >= argc)
		return pl_fail(err, PL_EUSAGE,
			       "no input file (give a CSV path, or - for "
			       "stdin; see --help)");
	if(argc - optind > 1)
		return pl_fail(err, PL_EUSAGE,
			       "one input file only, got '%s' and '%s'",
			       argv[optind], argv[optind + 1]);
	cfg->input = argv[optind];
	if(!*cfg->input)
		return pl_fail(err, PL_EUSAGE, "input path is empty");

	if(!cfg->format_set)
		cfg->format = report_format_from_path(cfg->output);
	if(!*cfg->output || (cfg->summary && !*cfg->summary) ||
	   (cfg->rejects && !*cfg->rejects) ||
	   (cfg->journal && !*cfg->journal) ||
	   (cfg->manifest && !*cfg->manifest))
		return pl_fail(err, PL_EUSAGE, "an output path is empty");
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
	if(!cfg->manifest && is_file_path(cfg->output)) {
		size_t len = strlen(cfg->output) + sizeof(".manifest.json");

		cli->manifest_default = malloc(len);
		if(!cli->manifest_default)
			return pl_fail(err, PL_ENOMEM, "out of memory");
		snprintf(cli->manifest_default, len, "%s.manifest.json",
			 cfg->output);
		cfg->manifest = cli->manifest_default;
	}
	if(fetch_check_base_url(cfg->base_url, err))
		return PL_EUSAGE;

	cfg->quiet = cli->verbosity < 0;
	/* Logging is set up before the secret files are read, so their
	 * warnings already come out in the requested format. */
	log_setup(cli->verbosity <= -2 ? LOG_ERROR
		  : cli->verbosity == -1 ? LOG_WARN
		  : cli->verbosity == 0 ? LOG_INFO : LOG_DEBUG,
		  cli->log_format);
	switch(check_credentials(cli, token_file, secret_file,
				 &cli->auth_error)) {
	case PL_OK:
		return PL_OK;
	case PL_EAUTH:
		cfg->auth_error = cli->auth_error.msg;
		return PL_OK;
	default:
		*err = cli->auth_error;
		return PL_EUSAGE;
	}
}

void cli_release(struct cli *cli)
{
	wipe_free(cli->token);
	wipe_free(cli->client_secret);
	free(cli->manifest_default);
	memset(cli, 0, sizeof(*cli));
}
