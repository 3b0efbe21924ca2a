/*
 * options.c: the option table and the setters that check each value.
 * See options.h for what a row means.
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "fetch.h"
#include "auth.h"
#include "ids.h"
#include "ping.h"

#define MAX_RETRIES 100
#define MAX_PAGE_SIZE 100000
#define MAX_TIMEOUT_S 3600.0
#define MAX_RETRY_WAIT_S (366ul * 24 * 3600)
#define MAX_DEADLINE_S (366ull * 24 * 3600)

#define FIELD(f) offsetof(struct cli, f)
#define CFG(f) offsetof(struct cli, cfg.f)

/* The field a generic setter writes. */
static void *field_of(struct cli *cli, const struct cli_option *opt)
{
	return (char *)cli + opt->field;
}

/* ---- generic setters ------------------------------------------------ */

/* A string value, kept as given (argv and config strings outlive cli). */
static enum pl_status set_string(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	if(!*v)
		return pl_fail(err, PL_EUSAGE, "--%s: empty value", o->name);
	*(const char **)field_of(cli, o) = v;
	return PL_OK;
}

/* A path: not empty ("-" means stdout or stdin where the option says). */
static enum pl_status set_path(struct cli *cli, const struct cli_option *o,
			       const char *v, struct pl_err *err)
{
	if(!*v)
		return pl_fail(err, PL_EUSAGE, "--%s: empty path", o->name);
	*(const char **)field_of(cli, o) = v;
	return PL_OK;
}

static enum pl_status set_flag(struct cli *cli, const struct cli_option *o,
			       const char *v, struct pl_err *err)
{
	(void)v;
	(void)err;
	*(int *)field_of(cli, o) = 1;
	return PL_OK;
}

/* ---- value parsers ---------------------------------------------------- */

/* A whole decimal unsigned in [lo, hi]. */
static bool parse_uint(const char *s, unsigned long lo, unsigned long hi,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if(!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if(errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* A finite positive number at the start of s; *end after it. */
static bool parse_positive(const char *s, char **end, double *out)
{
	double v;

	if(!s || !*s || *s == '-' || *s == '+' || (*s < '0' && *s != '.') ||
	   *s > '9')
		return false;
	errno = 0;
	v = strtod(s, end);
	if(errno || *end == s || !isfinite(v) || v <= 0)
		return false;
	*out = v;
	return true;
}

/* "8.3", "8.3/s", "500/min", "30000/h" -> requests per second. */
static bool parse_rate(const char *s, double *out)
{
	char *end;
	double v;

	if(!parse_positive(s, &end, &v))
		return false;
	if(*end == '\0' || !strcmp(end, "/s") || !strcmp(end, "/sec"))
		*out = v;
	else if(!strcmp(end, "/m") || !strcmp(end, "/min"))
		*out = v / 60.0;
	else if(!strcmp(end, "/h") || !strcmp(end, "/hour"))
		*out = v / 3600.0;
	else
		return false;
	return true;
}

/* ---- option setters ------------------------------------------------- */

static enum pl_status set_format(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	(void)o;
	if(report_format_parse(v, &cli->cfg.format, NULL))
		return pl_fail(err, PL_EUSAGE, "--format: unknown format '%s' "
			       "(use csv, ndjson or ndjson.gz)", v);
	cli->cfg.format_set = 1;
	return PL_OK;
}

static enum pl_status set_column(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	(void)o;
	if(!*v)
		return pl_fail(err, PL_EUSAGE, "--column: empty name");
	cli->cfg.column = v;
	return PL_OK;
}

static enum pl_status set_concurrency(struct cli *cli,
				      const struct cli_option *o,
				      const char *v, struct pl_err *err)
{
	unsigned long n;

	(void)o;
	if(!parse_uint(v, 1, FETCH_MAX_CONCURRENCY, &n))
		return pl_fail(err, PL_EUSAGE, "--concurrency: '%s' is not a "
			       "number from 1 to %d", v,
			       FETCH_MAX_CONCURRENCY);
	cli->cfg.concurrency = (unsigned)n;
	return PL_OK;
}

static enum pl_status set_rate(struct cli *cli, const struct cli_option *o,
			       const char *v, struct pl_err *err)
{
	(void)o;
	if(!parse_rate(v, &cli->cfg.rate))
		return pl_fail(err, PL_EUSAGE, "--rate: '%s' is not a rate "
			       "(examples: 8.3, 8.3/s, 500/min)", v);
	return PL_OK;
}

static enum pl_status set_retries(struct cli *cli, const struct cli_option *o,
				  const char *v, struct pl_err *err)
{
	unsigned long n;

	(void)o;
	if(!parse_uint(v, 0, MAX_RETRIES, &n))
		return pl_fail(err, PL_EUSAGE, "--retries: '%s' is not a "
			       "number from 0 to %d", v, MAX_RETRIES);
	cli->cfg.retries = (unsigned)n;
	return PL_OK;
}

static enum pl_status set_timeout(struct cli *cli, const struct cli_option *o,
				  const char *v, struct pl_err *err)
{
	double seconds;
	char *end;

	(void)o;
	if(!parse_positive(v, &end, &seconds) || *end ||
	   seconds > MAX_TIMEOUT_S || seconds < 0.001)
		return pl_fail(err, PL_EUSAGE, "--timeout: '%s' is not a "
			       "number of seconds from 0.001 to %.0f", v,
			       MAX_TIMEOUT_S);
	cli->cfg.timeout_ms = (long)ceil(seconds * 1000.0);
	return PL_OK;
}

static enum pl_status set_page_size(struct cli *cli,
				    const struct cli_option *o,
				    const char *v, struct pl_err *err)
{
	unsigned long n;

	(void)o;
	if(!parse_uint(v, 1, MAX_PAGE_SIZE, &n))
		return pl_fail(err, PL_EUSAGE, "--page-size: '%s' is not a "
			       "number from 1 to %d", v, MAX_PAGE_SIZE);
	cli->cfg.page_size = (unsigned)n;
	cli->page_size_set = 1;
	return PL_OK;
}

static enum pl_status set_max_retry_wait(struct cli *cli,
					 const struct cli_option *o,
					 const char *v, struct pl_err *err)
{
	unsigned long n;

	(void)o;
	if(!parse_uint(v, 1, MAX_RETRY_WAIT_S, &n))
		return pl_fail(err, PL_EUSAGE, "--max-retry-wait: '%s' is not "
			       "a number of seconds from 1 to %lu", v,
			       MAX_RETRY_WAIT_S);
	cli->cfg.max_retry_wait_s = (unsigned)n;
	return PL_OK;
}

/*
 * "90m", "6h", "45s", "1h30m", "2d", or plain seconds ("3600"): whole
 * numbers with units d, h, m, s, each at most once and in that order.
 */
static bool parse_duration(const char *s, uint64_t *out_s)
{
	static const struct {
		char unit;
		uint64_t secs;
	} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}};
	uint64_t total = 0;
	size_t next = 0;

	if(!s || *s < '0' || *s > '9')
		return false;
	while(*s) {
		uint64_t n = 0;
		size_t u;

		if(*s < '0' || *s > '9')
			return false;
		for(; *s >= '0' && *s <= '9'; s++) {
			n = n * 10 + (uint64_t)(*s - '0');
			if(n > MAX_DEADLINE_S)
				return false;
		}
		if(!*s && !next && !total) {
			total = n; /* plain seconds */
			break;
		}
		for(u = next; u < sizeof(units) / sizeof(units[0]); u++)
			if(units[u].unit == *s)
				break;
		if(u == sizeof(units) / sizeof(units[0]))
			return false;
		total += n * units[u].secs;
		if(total > MAX_DEADLINE_S)
			return false;
		next = u + 1;
		s++;
	}
	*out_s = total;
	return true;
}

static enum pl_status set_deadline(struct cli *cli, const struct cli_option *o,
				   const char *v, struct pl_err *err)
{
	uint64_t secs;

	(void)o;
	if(!parse_duration(v, &secs) || !secs)
		return pl_fail(err, PL_EUSAGE, "--deadline: '%s' is not a "
			       "duration from 1s to 366d (examples: 45s, "
			       "90m, 6h, 1h30m)", v);
	cli->cfg.deadline_ms = (int64_t)secs * 1000;
	return PL_OK;
}

static enum pl_status set_cacert(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	enum pl_status st = set_path(cli, o, v, err);

	if(!st)
		cli->cfg.auth.cacert = v; /* the authority is TLS too */
	return st;
}

static enum pl_status set_correlation(struct cli *cli,
				      const struct cli_option *o,
				      const char *v, struct pl_err *err)
{
	(void)o;
	if(!ids_parse_uuid(v, cli->cfg.correlation_id))
		return pl_fail(err, PL_EUSAGE, "--correlation-id: '%s' is not "
			       "a UUID", v);
	return PL_OK;
}

static enum pl_status set_log_format(struct cli *cli,
				     const struct cli_option *o,
				     const char *v, struct pl_err *err)
{
	(void)o;
	if(!strcmp(v, "text"))
		cli->log_format = LOG_TEXT;
	else if(!strcmp(v, "json"))
		cli->log_format = LOG_JSON;
	else
		return pl_fail(err, PL_EUSAGE, "--log-format: '%s' is not text "
			       "or json", v);
	return PL_OK;
}

static enum pl_status set_progress(struct cli *cli, const struct cli_option *o,
				   const char *v, struct pl_err *err)
{
	(void)v;
	(void)err;
	cli->cfg.progress = !strcmp(o->name, "progress") ? PROGRESS_ON
							 : PROGRESS_OFF;
	return PL_OK;
}

static enum pl_status set_verbosity(struct cli *cli,
				    const struct cli_option *o,
				    const char *v, struct pl_err *err)
{
	(void)v;
	(void)err;
	cli->verbosity += o->letter == 'v' ? 1 : -1;
	return PL_OK;
}

static enum pl_status set_action(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	(void)v;
	(void)err;
	cli->action = !strcmp(o->name, "help") ? CLI_HELP : CLI_VERSION;
	return PL_OK;
}

/* A secret value from a private config file (cli.c checks both). */
static enum pl_status set_secret(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	char **slot = field_of(cli, o);
	char *copy;

	if(!*v)
		return pl_fail(err, PL_EUSAGE, "%s: empty value", o->name);
	copy = strdup(v);
	if(!copy)
		return pl_fail(err, PL_ENOMEM, "out of memory");
	if(*slot) {
		OPENSSL_cleanse(*slot, strlen(*slot));
		free(*slot);
	}
	*slot = copy;
	return PL_OK;
}

/* Checked now, so that a URL no ping could use is a usage error at the
 * start, not a warning at the end; its messages name only the origin. */
static enum pl_status set_ping_url(struct cli *cli, const struct cli_option *o,
				   const char *v, struct pl_err *err)
{
	enum pl_status st = ping_check_url(v, err);

	if(!st)
		*(const char **)field_of(cli, o) = v;
	return st;
}

static enum pl_status set_assertion_alg(struct cli *cli,
					const struct cli_option *o,
					const char *v, struct pl_err *err)
{
	(void)o;
	if(!assertion_alg_parse(v, &cli->cfg.auth.assertion_alg))
		return pl_fail(err, PL_EUSAGE, "--client-assertion-alg: '%s' "
			       "is not PS256 or RS256", v);
	return PL_OK;
}

static enum pl_status set_cloud(struct cli *cli, const struct cli_option *o,
				const char *v, struct pl_err *err)
{
	(void)o;
	cli->cloud = auth_cloud_find(v);
	if(!cli->cloud)
		return pl_fail(err, PL_EUSAGE, "--cloud: '%s' is not global, "
			       "usgov or china", v);
	return PL_OK;
}

static enum pl_status set_token_endpoint(struct cli *cli,
					 const struct cli_option *o,
					 const char *v, struct pl_err *err)
{
	(void)o;
	if(!strcmp(v, "v2"))
		cli->cfg.auth.v1 = false;
	else if(!strcmp(v, "v1"))
		cli->cfg.auth.v1 = true;
	else
		return pl_fail(err, PL_EUSAGE, "--token-endpoint: '%s' is not "
			       "v2 or v1", v);
	return PL_OK;
}

/* --config is read before everything else (cli.c); here it only has to
 * be accepted. */
static enum pl_status set_config(struct cli *cli, const struct cli_option *o,
				 const char *v, struct pl_err *err)
{
	return set_path(cli, o, v, err);
}

/* ---- the table ------------------------------------------------------ */

#define HEADING(text) {NULL, 0, NULL, 0, NULL, 0, text}

const struct cli_option cli_options[] = {
HEADING("Output:"),
{"output", 'o', "PATH", OPT_PATH, set_path, CFG(output),
	"detail report; - = stdout (default)"},
{"summary", 's', "PATH", OPT_PATH, set_path, CFG(summary),
	"summary report (qualification, vetting_status, count)"},
{"format", 'f', "FMT", 0, set_format, 0,
	"csv | ndjson | ndjson.gz; default from the suffix of\n"
	"-o (.csv, .ndjson/.jsonl, .ndjson.gz/.jsonl.gz), else csv"},
{"rejects", 0, "PATH", OPT_PATH, set_path, CFG(rejects),
	"CSV of input rows that are not tenant IDs\n"
	"(line,value,reason); written even when empty"},
{"manifest", 0, "PATH", OPT_PATH, set_path, CFG(manifest),
	"run manifest (JSON, written last); default\n"
	"<output>.manifest.json when -o is a file"},
{"journal", 0, "PATH", OPT_PATH, set_path, CFG(journal),
	"crash-safe journal: rerun with it to resume"},
{"changes", 0, "PATH", OPT_PATH, set_path, CFG(changes),
	"rows that changed since --previous (format from\n"
	"its suffix, else -f's)"},
{"html", 0, "PATH", OPT_PATH, set_path, CFG(html),
	"a self-contained HTML report for people (no\n"
	"network access; prints on A4)"},
{"customers", 0, "PATH", OPT_PATH, set_path, CFG(customers),
	"one row per tenant: tenant_id, company_name, domain,\n"
	"relationship_to_partner (a CSV input: from its\n"
	"companyName/Company/Name and domain columns)"},
{"excel-safe", 0, NULL, 0, set_flag, CFG(excel_safe),
	"prefix CSV text starting with = + - @ with '\n"
	"so spreadsheets do not run it as a formula"},
HEADING("Input:"),
{"column", 0, "NAME|N", 0, set_column, 0,
	"column of tenant IDs (header name or 1-based number);\n"
	"default: by header name, else the GUID column"},
{"previous", 0, "PATH", OPT_PATH, set_path, CFG(previous),
	"last run's detail report (.csv, .ndjson[.gz]) or\n"
	"manifest (.json), for --changes and --html"},
{"all-customers", 0, NULL, 0, set_flag, CFG(all_customers),
	"no INPUT: list the partner's customers from the API\n"
	"(GET /v1/customers, page by page) and report them all"},
{"page-size", 0, "N", 0, set_page_size, 0,
	"customers per listing page, 1-100000 (default 500)"},
HEADING("Fetching:"),
{"concurrency", 'j', "N", 0, set_concurrency, 0,
	"requests in flight, 1-1024 (default 16)"},
{"rate", 0, "R", 0, set_rate, 0,
	"max request rate: 8.3, 8.3/s, 500/min (default:\n"
	"none, learn the API's quota from its 429s).\n"
	"Partner Center documents 500/min per partner\n"
	"for customer resources"},
{"retries", 0, "N", 0, set_retries, 0,
	"retries per tenant after the first try (default 5)"},
{"timeout", 0, "SECONDS", 0, set_timeout, 0,
	"per-attempt timeout (default 30)"},
{"max-retry-wait", 0, "SECONDS", 0, set_max_retry_wait, 0,
	"longest Retry-After waited for (default 600); a\n"
	"longer one makes the tenant an Error row"},
{"deadline", 0, "DURATION", 0, set_deadline, 0,
	"stop sending at this run time (45s, 90m, 6h,\n"
	"1h30m): unfinished tenants are Error rows (exit\n"
	"1) that a rerun with --journal fetches"},
{"base-url", 0, "URL", 0, set_string, CFG(base_url),
	"API root (default " CLI_DEFAULT_BASE_URL ",\n"
	"or that of --cloud)"},
{"cacert", 0, "PATH", OPT_PATH, set_cacert, CFG(cacert),
	"extra CA bundle (PEM), trusted besides the system CAs"},
{"correlation-id", 0, "UUID", 0, set_correlation, 0,
	"MS-CorrelationId of the run (default: new)"},
HEADING("Credentials (never on the command line):\n"
	"  PARTNER_CENTER_TOKEN=... or --token-file PATH: a ready bearer token, or\n"
	"  --tenant and --client-id with PARTNER_CENTER_CLIENT_SECRET=... or\n"
	"  --client-secret-file PATH, or --client-cert PATH: app credentials, for\n"
	"  which qualreport gets tokens itself and renews them before they expire;\n"
	"  add --refresh-token-file PATH for App+User tokens (see qualreport login)."),
{"token-file", 0, "PATH", OPT_PATH, set_path, FIELD(token_file),
	"a file whose first line is a bearer token"},
{"tenant", 0, "ID", 0, set_string, CFG(auth.tenant),
	"the partner's tenant (ID or domain)"},
{"client-id", 0, "ID", 0, set_string, CFG(auth.client_id),
	"the app's client (application) ID"},
{"client-secret-file", 0, "PATH", OPT_PATH, set_path, FIELD(secret_file),
	"a file whose first line is the app's client secret"},
{"client-cert", 0, "PATH", OPT_PATH, set_path, CFG(auth.client_cert),
	"the app's certificate (PEM, with its key unless\n"
	"--client-key): a signed assertion, no secret"},
{"client-key", 0, "PATH", OPT_PATH, set_path, CFG(auth.client_key),
	"the certificate's private key (PEM)"},
{"client-key-passphrase-file", 0, "PATH", OPT_PATH, set_path,
	FIELD(passphrase_file),
	"a file whose first line is the key's passphrase\n"
	"(or PARTNER_CENTER_KEY_PASSPHRASE=...)"},
{"client-assertion-alg", 0, "ALG", 0, set_assertion_alg, 0,
	"PS256 (default, with x5t#S256) or RS256 (with\n"
	"x5t, for older tenants and ADFS)"},
{"refresh-token-file", 0, "PATH", OPT_PATH, set_path,
	CFG(auth.refresh_token_file),
	"App+User: the refresh token qualreport login\n"
	"stored; each use writes the rotated one back"},
{"cloud", 0, "NAME", 0, set_cloud, 0,
	"global | usgov | china: the API root, authority\n"
	"and scope of that cloud (default global)"},
{"authority", 0, "URL", 0, set_string, CFG(auth.authority),
	"identity platform (default " CLI_DEFAULT_AUTHORITY ",\n"
	"or that of --cloud)"},
{"token-endpoint", 0, "v2|v1", 0, set_token_endpoint, 0,
	"v2 (default): /oauth2/v2.0/token with scopes;\n"
	"v1: /oauth2/token with resource="},
{"token", 0, "TOKEN", OPT_SECRET, set_secret, FIELD(config_token),
	"config file only: a ready bearer token"},
{"client-secret", 0, "SECRET", OPT_SECRET, set_secret,
	FIELD(config_secret),
	"config file only: the app's client secret"},
{"client-key-passphrase", 0, "PASSPHRASE", OPT_SECRET, set_secret,
	FIELD(config_passphrase),
	"config file only: the key's passphrase"},
HEADING("Login (qualreport login [--check] --tenant ID --client-id ID\n"
	"  --refresh-token-file PATH [--client-secret-file PATH | --client-cert PATH]):\n"
	"  the one interactive sign-in (device code, with MFA) that stores the\n"
	"  refresh token for App+User runs."),
{"check", 0, NULL, OPT_ARGV_ONLY, set_flag, FIELD(login_check),
	"login: say whether the stored refresh token still\n"
	"works (redeeming it rotates it) and when it was\n"
	"last rotated"},
HEADING("Running:"),
{"config", 0, "FILE", OPT_PATH | OPT_ARGV_ONLY, set_config, FIELD(config),
	"long options, one per line (name = value); the\n"
	"command line overrides them. %Y-%m in paths"},
{"metrics", 0, "PATH", OPT_PATH, set_path, FIELD(metrics),
	"Prometheus metrics for node_exporter's textfile\n"
	"collector, written atomically after every run"},
{"ping-url", 0, "URL", 0, set_ping_url, FIELD(ping_url),
	"dead-man's switch: GET URL/start, then URL on\n"
	"exit 0, else URL/<exit status> (10 s timeout)"},
HEADING("Display:"),
{"progress", 0, NULL, 0, set_progress, 0,
	"progress bar on stderr (default: when a tty)"},
{"no-progress", 0, NULL, 0, set_progress, 0,
	"no progress bar or periodic progress lines"},
{"log-format", 0, "text|json", 0, set_log_format, 0,
	"log lines on stderr"},
{"quiet", 'q', NULL, 0, set_verbosity, 0,
	"fewer messages (-qq: errors only)"},
{"verbose", 'v', NULL, 0, set_verbosity, 0,
	"more messages"},
{"version", 0, NULL, OPT_ARGV_ONLY, set_action, 0,
	"print the version and exit"},
{"help", 'h', NULL, OPT_ARGV_ONLY, set_action, 0,
	"print this help and exit"},
};

const size_t cli_noptions = sizeof(cli_options) / sizeof(cli_options[0]);

const struct cli_option *cli_option_find(const char *name)
{
	for(size_t i = 0; i < cli_noptions; i++)
		if(cli_options[i].name && !strcmp(cli_options[i].name, name))
			return &cli_options[i];
	return NULL;
}

const struct cli_option *cli_option_by_letter(int letter)
{
	for(size_t i = 0; i < cli_noptions; i++)
		if(cli_options[i].name && cli_options[i].letter == letter)
			return &cli_options[i];
	return NULL;
}
