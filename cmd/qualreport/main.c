/*
 * qualreport: which of a partner's customers hold a Partner Center
 * special-offer qualification, and where each one's vetting stands.
 * main() only sets up the process (signals, no core dumps, logging),
 * parses the command line, runs the pipeline and tells monitoring how
 * it went (monitor.h: --metrics, --ping-url).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "curlmem.h"
#include "login.h"
#include "monitor.h"
#include "outfile.h"
#include "pipeline.h"

static volatile sig_atomic_t stop_signal;

/*
 * First SIGINT/SIGTERM: ask the pipeline to stop (it flushes the journal,
 * removes temporary outputs and exits 130/143). A second one: the user
 * means it, so remove temporary files and leave at once.
 */
static void on_signal(int signo)
{
	if(stop_signal) {
		outfile_abort_all_unlink();
		_exit(signo == SIGTERM ? QR_EXIT_SIGTERM : QR_EXIT_SIGINT);
	}
	stop_signal = signo;
}

static void setup_process(void)
{
	struct sigaction sa;
	struct rlimit no_core = {0, 0};

	/* Tokens and secrets live in this process's memory: no core file
	 * may carry them away, and no other process of the same user may
	 * ptrace or read /proc/PID/mem. */
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A failure before the run: said on stderr, and the monitor hears of it
 * (what was parsed may name a metrics file and a ping URL). */
static int fail_early(struct monitor *mon, struct cli *cli,
		      enum pl_status st, const struct pl_err *err)
{
	int code = pl_exit_code(st, 0);

	fprintf(stderr, "qualreport: %s\n", err->msg);
	monitor_end(mon, cli, NULL, code);
	cli_release(cli);
	return code;
}

int main(int argc, char **argv)
{
	struct cli cli;
	struct monitor mon;
	struct pipeline_result res;
	struct pl_err err = {{0}};
	enum pl_status st;
	int code;

	monitor_begin(&mon);
	setup_process();
	st = cli_parse(&cli, argc, argv, &err);
	if(st)
		return fail_early(&mon, &cli, st, &err);
	if(cli.action == CLI_HELP) {
		cli_print_help(stdout);
		cli_release(&cli);
		return fflush(stdout) ? QR_EXIT_OUTPUT : QR_EXIT_OK;
	}
	if(cli.action == CLI_VERSION) {
		printf("qualreport %s\n", QR_VERSION);
		cli_release(&cli);
		return fflush(stdout) ? QR_EXIT_OUTPUT : QR_EXIT_OK;
	}

	/* libcurl's allocations counted from its first use in the process
	 * (curlmem.h), whoever that is (the start ping, the login): a
	 * libcurl already set up with the plain allocator would make its
	 * header-line limit read as our memory running out */
	st = curlmem_init(&err);
	if(st)
		return fail_early(&mon, &cli, st, &err);
	cli.cfg.stop = &stop_signal;
	if(cli.login) {
		code = login_main(&cli, &stop_signal);
	} else {
		monitor_start(&mon, &cli);
		st = pipeline_run(&cli.cfg, &res, &err);
		if(st && st != PL_EINTERRUPTED)
			log_error("%s", err.msg);
		else if(st)
			log_warn("%s", err.msg);
		monitor_end(&mon, &cli, &res, res.exit_code);
		code = res.exit_code;
	}
	curlmem_cleanup();
	cli_release(&cli);
	return code;
}
