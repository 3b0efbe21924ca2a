/*
 * pcsim: a local simulator of the Partner Center qualifications API, for
 * qualreport's demo, integration tests and benchmarks. main() parses the
 * command line, starts the server on 127.0.0.1, prints the base URL as
 * the first line of stdout and serves until SIGINT or SIGTERM.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "data.h"
#include "identity.h"
#include "pcsim.h"
#include "scenario.h"
#include "server.h"

static const char usage_text[] =
"usage: pcsim [OPTIONS]\n"
"\n"
"Simulate the Partner Center API on 127.0.0.1. The first line of stdout\n"
"is the base URL (http[s]://127.0.0.1:PORT). Runs until SIGINT/SIGTERM.\n"
"\n"
"  --port N             port to listen on; 0 picks a free one (default 0)\n"
"  --latency-ms N       delay every API answer by N ms (default 0)\n"
"  --jitter-ms N        plus a uniform 0..N ms (default 0)\n"
"  --fail-rate P        share of requests answered 500/503 (0..1)\n"
"  --drop-rate P        share of connections closed without an answer\n"
"  --malformed-rate P   share answered 200 with a truncated JSON body or\n"
"                       an HTML page (the three rates add up to <= 1)\n"
"  --unknown-rate P     share of tenants answering 404 Tenant not found\n"
"  --throttle-rps R     global token bucket: a burst of max(1, R/10), then\n"
"                       R per second; above it 429 with Retry-After\n"
"  --throttle-burst B   with --throttle-rps: the bucket holds B requests\n"
"  --throttle-window N/S  global fixed window: N requests per S seconds\n"
"                       (e.g. 500/60), windows aligned on the first\n"
"                       request; past N, 429 with Retry-After = whole\n"
"                       seconds to the window's end (\"Try again in X\n"
"                       seconds.\")\n"
"  --doc-style          bodies as on the documentation page (indented,\n"
"                       trailing commas, // comments)\n"
"  --token T            require \"Authorization: Bearer T\"\n"
"  --client-id ID       serve the client-credentials token endpoints\n"
"                       POST /{tenant}/oauth2/token and .../v2.0/token;\n"
"                       the secret comes from PCSIM_CLIENT_SECRET or\n"
"  --client-secret S    (briefly visible to other users: prefer the env)\n"
"  --token-ttl SECONDS  lifetime of issued tokens (default 3600)\n"
"  --client-cert FILE   PEM certificate that signs the app's client\n"
"                       assertions (PS256/RS256 JWTs, instead of a secret)\n"
"  --public-client      refresh and device-code grants need no client\n"
"                       secret or assertion\n"
"  --refresh-token T    a refresh token to accept (or PCSIM_REFRESH_TOKEN);\n"
"                       every use returns a new one\n"
"  --refresh-grace-ms N a used refresh token still works N ms (default\n"
"                       10000), then invalid_grant AADSTS700082\n"
"  --refresh-ttl SECONDS  lifetime of refresh tokens (default 90 days)\n"
"  --device-interval S  device-code polling interval (default 5)\n"
"  --device-expires-in S  device-code lifetime (default 900)\n"
"  --device-approve-after K  the poll that decides (default 2)\n"
"  --device-mode M      approve | decline | expire | slow_down\n"
"  --aad-error CODE     every token grant fails with AADSTS<CODE> (65001,\n"
"                       50076, 50078, 700007, 50173, 700082, 700027)\n"
"  --token-delay-ms N   the token endpoints answer N ms late (after the\n"
"                       grant took effect)\n"
"  --record-assertions FILE  append every client assertion received (for\n"
"                       tests that look for it where it must not be)\n"
"  --data FILE          scripted answers per tenant (JSON object)\n"
"  --seed N             seed of the generated answers and faults (default 0)\n"
"  --threads N          server threads (default: number of CPUs)\n"
"  --tls-cert FILE      serve HTTPS with this PEM certificate (chain) ...\n"
"  --tls-key FILE       ... and this PEM private key; the URL printed\n"
"                       is then https://127.0.0.1:PORT\n"
"\n"
"The customer list, GET /v1/customers?size=N (pages with links.next and\n"
"MS-ContinuationToken), from --data's \"customers\" list or generated:\n"
"  --customers N        N generated customers (tenant, name, domain per\n"
"                       --seed and position; default 0)\n"
"  --customers-duplicate K  the first K page boundaries repeat a customer\n"
"                       (one on two pages)\n"
"  --customers-page-max M   pages of at most M customers, whatever size\n"
"  --customers-token-ttl S  continuation tokens S seconds old or older\n"
"                       are refused: 400 {\"code\":2005} (expired); 0: all\n"
"  --customers-expire-page P  the first request with page P's token is\n"
"                       refused that way, once (2 = the second page)\n"
"  --customers-next STYLE   next links: v1 (default), bare, relative,\n"
"                       absolute, mixed (v1 and bare by turns), other-host\n"
"  --customers-end STYLE    the end of the list: nolink (default),\n"
"                       code2000 (a last next link answered 400 code 2000),\n"
"                       empty (a last next link to an empty page)\n"
"  --customers-quirks   a BOM before each page, a trailing comma in items\n"
"  --help               show this help\n"
"\n"
"Not API (never delayed, throttled or authenticated): GET /stats,\n"
"POST /stats/reset.\n";

static void die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));
static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "pcsim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'pcsim --help'.\n");
	exit(2);
}

static unsigned long long parse_uint(const char *opt, const char *s,
				     unsigned long long max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if(!*s || *s == '-' || *end || errno || v > max) {
		fprintf(stderr, "pcsim: %s: bad value '%s' (0..%llu)\n", opt,
			s, max);
		fprintf(stderr, "Try 'pcsim --help'.\n");
		exit(2);
	}
	return v;
}

static double parse_double(const char *opt, const char *s, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if(!*s || *end || errno || !isfinite(v) || v < 0 || v > max) {
		fprintf(stderr, "pcsim: %s: bad value '%s' (0..%g)\n", opt, s,
			max);
		fprintf(stderr, "Try 'pcsim --help'.\n");
		exit(2);
	}
	return v;
}

/* Sockets are files: 2,000 waiting clients need more than 1,024. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

enum {
	OPT_PORT = 256, OPT_LATENCY, OPT_JITTER, OPT_FAIL, OPT_DROP,
	OPT_MALFORMED, OPT_UNKNOWN, OPT_THROTTLE, OPT_DOC, OPT_TOKEN,
	OPT_CLIENT_ID, OPT_CLIENT_SECRET, OPT_TTL, OPT_DATA, OPT_SEED,
	OPT_THREADS, OPT_TLS_CERT, OPT_TLS_KEY, OPT_HELP, OPT_CLIENT_CERT,
	OPT_PUBLIC_CLIENT, OPT_REFRESH_TOKEN, OPT_REFRESH_GRACE,
	OPT_REFRESH_TTL, OPT_DEVICE_INTERVAL, OPT_DEVICE_EXPIRES,
	OPT_DEVICE_APPROVE, OPT_DEVICE_MODE, OPT_AAD_ERROR, OPT_TOKEN_DELAY,
	OPT_RECORD_ASSERTIONS, OPT_BURST, OPT_WINDOW,
	OPT_CUSTOMERS, OPT_CUST_DUP, OPT_CUST_PAGE_MAX, OPT_CUST_TTL,
	OPT_CUST_EXPIRE, OPT_CUST_NEXT, OPT_CUST_END, OPT_CUST_QUIRKS
};

static const struct option options[] = {
	{"aad-error", required_argument, NULL, OPT_AAD_ERROR},
	{"client-cert", required_argument, NULL, OPT_CLIENT_CERT},
	{"client-id", required_argument, NULL, OPT_CLIENT_ID},
	{"client-secret", required_argument, NULL, OPT_CLIENT_SECRET},
	{"customers", required_argument, NULL, OPT_CUSTOMERS},
	{"customers-duplicate", required_argument, NULL, OPT_CUST_DUP},
	{"customers-end", required_argument, NULL, OPT_CUST_END},
	{"customers-expire-page", required_argument, NULL, OPT_CUST_EXPIRE},
	{"customers-next", required_argument, NULL, OPT_CUST_NEXT},
	{"customers-page-max", required_argument, NULL, OPT_CUST_PAGE_MAX},
	{"customers-quirks", no_argument, NULL, OPT_CUST_QUIRKS},
	{"customers-token-ttl", required_argument, NULL, OPT_CUST_TTL},
	{"data", required_argument, NULL, OPT_DATA},
	{"device-approve-after", required_argument, NULL, OPT_DEVICE_APPROVE},
	{"device-expires-in", required_argument, NULL, OPT_DEVICE_EXPIRES},
	{"device-interval", required_argument, NULL, OPT_DEVICE_INTERVAL},
	{"device-mode", required_argument, NULL, OPT_DEVICE_MODE},
	{"doc-style", no_argument, NULL, OPT_DOC},
	{"drop-rate", required_argument, NULL, OPT_DROP},
	{"fail-rate", required_argument, NULL, OPT_FAIL},
	{"help", no_argument, NULL, OPT_HELP},
	{"jitter-ms", required_argument, NULL, OPT_JITTER},
	{"latency-ms", required_argument, NULL, OPT_LATENCY},
	{"malformed-rate", required_argument, NULL, OPT_MALFORMED},
	{"port", required_argument, NULL, OPT_PORT},
	{"public-client", no_argument, NULL, OPT_PUBLIC_CLIENT},
	{"record-assertions", required_argument, NULL, OPT_RECORD_ASSERTIONS},
	{"refresh-grace-ms", required_argument, NULL, OPT_REFRESH_GRACE},
	{"refresh-token", required_argument, NULL, OPT_REFRESH_TOKEN},
	{"refresh-ttl", required_argument, NULL, OPT_REFRESH_TTL},
	{"seed", required_argument, NULL, OPT_SEED},
	{"threads", required_argument, NULL, OPT_THREADS},
	{"throttle-burst", required_argument, NULL, OPT_BURST},
	{"throttle-rps", required_argument, NULL, OPT_THROTTLE},
	{"throttle-window", required_argument, NULL, OPT_WINDOW},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY},
	{"token", required_argument, NULL, OPT_TOKEN},
	{"token-delay-ms", required_argument, NULL, OPT_TOKEN_DELAY},
	{"token-ttl", required_argument, NULL, OPT_TTL},
	{"unknown-rate", required_argument, NULL, OPT_UNKNOWN},
	{NULL, 0, NULL, 0}
};

/* The whole of a PEM file (at most 1 MiB), NUL-terminated; exits 2 on
 * failure. libmicrohttpd takes certificates and keys as memory. */
static char *read_pem(const char *opt, const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *pem = malloc(1u << 20);
	size_t n = 0;

	if(!fp || !pem)
		die_usage("%s: cannot read %s: %s", opt, path,
			  strerror(errno));
	n = fread(pem, 1, (1u << 20) - 1, fp);
	if(ferror(fp) || n == 0)
		die_usage("%s: cannot read %s", opt, path);
	fclose(fp);
	pem[n] = '\0';
	return pem;
}

static void parse_args(int argc, char **argv, struct pcsim_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const char *env_secret = getenv("PCSIM_CLIENT_SECRET");
	const char *env_refresh = getenv("PCSIM_REFRESH_TOKEN");
	enum identity_device_mode mode;
	char name[32];
	int c, li = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->token_ttl = 3600;
	cfg->refresh_grace_ms = 10000;
	cfg->refresh_ttl_s = 90u * 24 * 3600;
	cfg->device_interval = 5;
	cfg->device_expires_in = 900;
	cfg->device_approve_after = 2;
	cfg->customers.token_ttl_ms = -1;
	cfg->threads = ncpu > 0 ? (unsigned)ncpu : 1;
	opterr = 0;
	while((c = getopt_long(argc, argv, "", options, &li)) != -1) {
		snprintf(name, sizeof(name), "--%s", options[li].name);
		switch(c) {
		case OPT_PORT:
			cfg->port = (unsigned)parse_uint(name, optarg, 65535);
			break;
		case OPT_LATENCY:
			cfg->latency_ms = (unsigned)parse_uint(name, optarg,
							       3600000);
			break;
		case OPT_JITTER:
			cfg->jitter_ms = (unsigned)parse_uint(name, optarg,
							      3600000);
			break;
		case OPT_FAIL:
			cfg->fail_rate = parse_double(name, optarg, 1);
			break;
		case OPT_DROP:
			cfg->drop_rate = parse_double(name, optarg, 1);
			break;
		case OPT_MALFORMED:
			cfg->malformed_rate = parse_double(name, optarg, 1);
			break;
		case OPT_UNKNOWN:
			cfg->unknown_rate = parse_double(name, optarg, 1);
			break;
		case OPT_THROTTLE:
			cfg->throttle_rps = parse_double(name, optarg, 1e9);
			break;
		case OPT_BURST:
			cfg->throttle_burst = parse_double(name, optarg, 1e9);
			if(cfg->throttle_burst < 1)
				die_usage("%s: must be at least 1",
					  "--throttle-burst");
			break;
		case OPT_WINDOW:
			if(!scenario_parse_window(optarg, &cfg->window_limit,
						  &cfg->window_ns))
				die_usage("%s: bad value '%s' (N/S: N requests "
					  "per S seconds, e.g. 500/60)",
					  "--throttle-window", optarg);
			break;
		case OPT_DOC:
			cfg->doc_style = 1;
			break;
		case OPT_TOKEN:
			if(!*optarg)
				die_usage("%s: empty token", "--token");
			cfg->token = optarg;
			break;
		case OPT_CLIENT_ID:
			if(!*optarg)
				die_usage("%s: empty client id", "--client-id");
			cfg->client_id = optarg;
			break;
		case OPT_CLIENT_SECRET:
			free(cfg->client_secret);
			cfg->client_secret = strdup(optarg);
			/* Hide it from ps from now on. */
			memset(optarg, 0, strlen(optarg));
			break;
		case OPT_TTL:
			cfg->token_ttl = (unsigned)parse_uint(name, optarg,
							      31536000);
			if(!cfg->token_ttl)
				die_usage("%s: must be at least 1",
					  "--token-ttl");
			break;
		case OPT_DATA:
			cfg->data_path = optarg;
			break;
		case OPT_SEED:
			cfg->seed = parse_uint(name, optarg, UINT64_MAX);
			break;
		case OPT_THREADS:
			cfg->threads = (unsigned)parse_uint(name, optarg, 1024);
			if(!cfg->threads)
				die_usage("%s: must be at least 1",
					  "--threads");
			break;
		case OPT_TLS_CERT:
			cfg->tls_cert = read_pem(name, optarg);
			break;
		case OPT_TLS_KEY:
			cfg->tls_key = read_pem(name, optarg);
			break;
		case OPT_CLIENT_CERT:
			cfg->client_cert = read_pem(name, optarg);
			break;
		case OPT_PUBLIC_CLIENT:
			cfg->public_client = 1;
			break;
		case OPT_REFRESH_TOKEN:
			if(!*optarg)
				die_usage("%s: empty token", "--refresh-token");
			free(cfg->refresh_token);
			cfg->refresh_token = strdup(optarg);
			memset(optarg, 0, strlen(optarg));
			break;
		case OPT_REFRESH_GRACE:
			cfg->refresh_grace_ms =
				(unsigned)parse_uint(name, optarg, 86400000);
			break;
		case OPT_REFRESH_TTL:
			cfg->refresh_ttl_s = (unsigned)parse_uint(name, optarg,
								  UINT32_MAX);
			break;
		case OPT_DEVICE_INTERVAL:
			cfg->device_interval =
				(unsigned)parse_uint(name, optarg, 3600);
			break;
		case OPT_DEVICE_EXPIRES:
			cfg->device_expires_in =
				(unsigned)parse_uint(name, optarg, 86400);
			break;
		case OPT_DEVICE_APPROVE:
			cfg->device_approve_after =
				(unsigned)parse_uint(name, optarg, 1000000);
			if(!cfg->device_approve_after)
				die_usage("%s: must be at least 1",
					  "--device-approve-after");
			break;
		case OPT_DEVICE_MODE:
			if(!identity_device_mode_parse(optarg, &mode))
				die_usage("--device-mode: '%s' is not approve, "
					  "decline, expire or slow_down",
					  optarg);
			cfg->device_mode = (int)mode;
			break;
		case OPT_AAD_ERROR:
			cfg->aad_error = (long)parse_uint(name, optarg,
							  99999999);
			break;
		case OPT_RECORD_ASSERTIONS:
			cfg->record_assertions = optarg;
			break;
		case OPT_TOKEN_DELAY:
			cfg->token_delay_ms =
				(unsigned)parse_uint(name, optarg, 3600000);
			break;
		case OPT_CUSTOMERS:
			cfg->customers.count = (unsigned long)parse_uint(
				name, optarg, 100000000);
			break;
		case OPT_CUST_DUP:
			cfg->customers.duplicate = (unsigned)parse_uint(
				name, optarg, 1000000);
			break;
		case OPT_CUST_PAGE_MAX:
			cfg->customers.page_max = (unsigned)parse_uint(
				name, optarg, 100000);
			break;
		case OPT_CUST_TTL:
			cfg->customers.token_ttl_ms = (long)(1000 *
				parse_double(name, optarg, 86400));
			break;
		case OPT_CUST_EXPIRE:
			cfg->customers.expire_page = (unsigned)parse_uint(
				name, optarg, 100000000);
			if(cfg->customers.expire_page < 2)
				die_usage("%s: the first page has no token; "
					  "2 is the second page", name);
			break;
		case OPT_CUST_NEXT:
			if(!customers_next_style_parse(
				   optarg, &cfg->customers.next_style))
				die_usage("%s: '%s' is not v1, bare, relative, "
					  "absolute, mixed or other-host",
					  name, optarg);
			break;
		case OPT_CUST_END:
			if(!customers_end_style_parse(
				   optarg, &cfg->customers.end_style))
				die_usage("%s: '%s' is not nolink, code2000 or "
					  "empty", name, optarg);
			break;
		case OPT_CUST_QUIRKS:
			cfg->customers.quirks = 1;
			break;
		case OPT_HELP:
			fputs(usage_text, stdout);
			exit(0);
		default:
			if(optopt == OPT_DOC || optopt == OPT_HELP ||
			   optopt == OPT_PUBLIC_CLIENT ||
			   optopt == OPT_CUST_QUIRKS)
				fprintf(stderr, "pcsim: option '%s' takes no "
					"argument\n", argv[optind - 1]);
			else if(optopt)
				fprintf(stderr, "pcsim: option '%s' requires "
					"an argument\n", argv[optind - 1]);
			else
				fprintf(stderr, "pcsim: unknown option "
					"'%s'\n", argv[optind - 1]);
			fprintf(stderr, "Try 'pcsim --help'.\n");
			exit(2);
		}
	}
	if(optind < argc)
		die_usage("unexpected argument '%s'", argv[optind]);
	cfg->customers.seed = cfg->seed;
	if(cfg->drop_rate + cfg->fail_rate + cfg->malformed_rate >
	   1 + 1e-9)
		die_usage("%s add up to more than 1",
			  "--drop-rate, --fail-rate and --malformed-rate");
	if(cfg->throttle_burst > 0 && !(cfg->throttle_rps > 0))
		die_usage("%s needs --throttle-rps", "--throttle-burst");
	if(cfg->throttle_rps > 0 && cfg->window_ns)
		die_usage("%s: one throttle at a time",
			  "--throttle-rps and --throttle-window");
	if(!cfg->tls_cert != !cfg->tls_key)
		die_usage("%s go together", "--tls-cert and --tls-key");
	if(!cfg->client_secret && env_secret && *env_secret)
		cfg->client_secret = strdup(env_secret);
	if(cfg->client_secret && !cfg->client_id)
		die_usage("%s needs --client-id", "a client secret");
	if(cfg->client_id && (!cfg->client_secret || !*cfg->client_secret) &&
	   !cfg->client_cert && !cfg->public_client)
		die_usage("%s needs a secret (PCSIM_CLIENT_SECRET), "
			  "--client-cert or --public-client", "--client-id");
	if(!cfg->refresh_token && env_refresh && *env_refresh)
		cfg->refresh_token = strdup(env_refresh);
	if((cfg->refresh_token || cfg->client_cert || cfg->public_client) &&
	   !cfg->client_id)
		die_usage("%s need --client-id", "--refresh-token, "
			  "--client-cert and --public-client");
}

int main(int argc, char **argv)
{
	struct pcsim_config cfg;
	struct data_set *data = NULL;
	struct server *srv;
	struct pl_err err = {{0}};
	sigset_t stop;
	int sig = 0;

	parse_args(argc, argv, &cfg);
	if(cfg.data_path &&
	   data_set_load(cfg.data_path, &data, &err) != PL_OK) {
		fprintf(stderr, "pcsim: error: %s\n", err.msg);
		return 2;
	}
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	/* Block the stop signals in every thread: main() takes them with
	 * sigwait() and shuts down in order. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	if(server_start(&cfg, data, &srv, &err) != PL_OK) {
		fprintf(stderr, "pcsim: error: %s\n", err.msg);
		free(cfg.client_secret);
		return 2;
	}
	printf("%s://127.0.0.1:%u\n", cfg.tls_cert ? "https" : "http",
	       server_port(srv));
	fflush(stdout);
	fprintf(stderr, "pcsim: serving %s://127.0.0.1:%u (threads %u, "
		"seed %llu%s%s)\n", cfg.tls_cert ? "https" : "http",
		server_port(srv), cfg.threads,
		(unsigned long long)cfg.seed,
		cfg.data_path ? ", data " : "",
		cfg.data_path ? cfg.data_path : "");

	while(sigwait(&stop, &sig) != 0)
		;
	server_stop(srv);
	free(cfg.tls_cert);
	free(cfg.tls_key);
	free(cfg.client_cert);
	if(cfg.refresh_token) {
		memset(cfg.refresh_token, 0, strlen(cfg.refresh_token));
		free(cfg.refresh_token);
	}
	if(cfg.client_secret) {
		memset(cfg.client_secret, 0, strlen(cfg.client_secret));
		free(cfg.client_secret);
	}
	return 0;
}
