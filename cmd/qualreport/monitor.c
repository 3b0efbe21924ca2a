#include "monitor.h"

#include <stddef.h>

#include "log.h"
#include "metrics.h"
#include "now.h"
#include "ping.h"

void monitor_begin(struct monitor *m)
{
	m->started_us = now_mono_us();
}

static void ping(const struct cli *cli, int event)
{
	struct ping_config pc = {0};
	struct pl_err err = {{0}};
	char origin[256];

	pc.url = cli->ping_url;
	pc.cacert = cli->cfg.cacert;
	pc.user_agent = cli->cfg.auth.user_agent;
	if(ping_send(&pc, event, &err)) {
		log_warn("%s", err.msg);
		return;
	}
	ping_url_origin(cli->ping_url, origin, sizeof(origin));
	if(event == PING_START)
		log_debug("ping %s (start) sent", origin);
	else
		log_debug("ping %s (exit %d) sent", origin, event);
}

void monitor_start(struct monitor *m, const struct cli *cli)
{
	(void)m;
	if(cli->ping_url)
		ping(cli, PING_START);
}

/*
 * The tenants by outcome: answered (qualifications or none), not_found
 * (404), failed (an Error row), unfinished (not written: the run stopped
 * first). They add up to the input's valid tenants.
 */
static void write_metrics(struct monitor *m, const struct cli *cli,
			  const struct pipeline_result *res, int exit_code)
{
	static const struct pipeline_result none;
	struct metrics_count tenants[4];
	struct metrics_code codes[16];
	struct metrics_run mr = {0};
	struct pl_err err = {{0}};
	unsigned long done;
	size_t n = 0;

	if(!res)
		res = &none;
	done = res->answered + res->not_found + res->failed;
	tenants[0] = (struct metrics_count){"answered", res->answered};
	tenants[1] = (struct metrics_count){"not_found", res->not_found};
	tenants[2] = (struct metrics_count){"failed", res->failed};
	tenants[3] = (struct metrics_count){
		"unfinished", res->tenants > done ? res->tenants - done : 0};
	/* a run sees a handful of distinct statuses; should one see more,
	 * the rarest ones past 16 are left out rather than the file */
	for(unsigned code = 0; code < FETCH_STATUS_SLOTS; code++) {
		if(!res->fetch.by_status[code])
			continue;
		if(n == sizeof(codes) / sizeof(codes[0])) {
			log_warn("metrics: more than %zu HTTP statuses; the "
				 "ones above %u are left out", n,
				 codes[n - 1].code);
			break;
		}
		codes[n++] = (struct metrics_code){code,
						   res->fetch.by_status[code]};
	}

	mr.ended_ms = now_wall_ms();
	mr.duration_ms = (now_mono_us() - m->started_us) / 1000;
	mr.exit_code = exit_code;
	mr.tenants = tenants;
	mr.ntenants = sizeof(tenants) / sizeof(tenants[0]);
	mr.requests = codes;
	mr.nrequests = n;
	mr.throttled_s = (double)res->fetch.throttled_us / 1e6;
	if(metrics_write(cli->metrics, &mr, &err))
		log_warn("metrics not written: %s", err.msg);
	else
		log_debug("metrics written to %s", cli->metrics);
}

void monitor_end(struct monitor *m, const struct cli *cli,
		 const struct pipeline_result *res, int exit_code)
{
	if(cli->metrics)
		write_metrics(m, cli, res, exit_code);
	if(cli->ping_url)
		ping(cli, exit_code);
}
