/*
 * server.h: pcsim's HTTP side over libmicrohttpd.
 *
 * Routes:
 *   GET  /v1/customers/{id}/qualifications  the API
 *   GET  /v1/customers                       the customer list, in pages
 *                                            (customers.h; steps 1, 2,
 *                                            4 and 6 apply, keyed by the
 *                                            page asked for)
 *   any other path under /v1/                404 {"code":1000,...}
 *   POST /{tenant}/oauth2/v2.0/token         token grants, v2 form
 *   POST /{tenant}/oauth2/token              token grants, v1 form
 *   POST /{tenant}/oauth2/v2.0/devicecode    the device-code flow
 *                                            (the three: identity.h)
 *   GET  /stats, POST /stats/reset           counters
 *   anything else                            404 {"code":1000,...}
 *
 * An API request is checked in this order, and the first that applies
 * answers it:
 *   1. Token (--token and/or --client-id): no Authorization header gives
 *      401 {"code":800001,"description":"Partner Token missing in request
 *      context"}; a wrong, unknown or expired token, or another scheme
 *      than Bearer, gives 401 {"code":400,"description":"Access denied"}
 *      (the pairs 401/800001 and 401/400 of the API's error-code table).
 *      Both carry WWW-Authenticate: OAuth realm=urn:cpsvc:cpid:<GUID>.
 *   2. Path and method: 404 (code 1000), 405 (GET and HEAD only).
 *   3. Tenant ID: not 8-4-4-4-12 hex digits (any case) gives 400.
 *   4. --throttle-rps (a global token bucket) or --throttle-window (a
 *      global fixed window), see scenario.h: a refused request gets 429
 *      with Retry-After and {"statusCode":429,"message":"Rate limit is
 *      exceeded. Try again in X seconds."} with the same X. The tenant
 *      must not call again before X seconds; an earlier call is an early
 *      retry (retry_after_violations), whether it is refused or not;
 *      throttled_first_window counts the 429s of the first window.
 *   5. --data: the tenant's scripted answer number n, exempt from faults.
 *   6. Faults drawn for (seed, tenant, n): drop, 500/503, malformed.
 *   7. --unknown-rate: 404 {"code":60003,"description":"Tenant not
 *      found"} for that share of tenants.
 *   8. The generated body (scenario.h).
 * n counts the tenant's earlier requests that got past step 4, so faults
 * and scripts replay the same whatever the interleaving of tenants.
 * Every API answer carries Content-Type, MS-RequestId (echoed, or a new
 * UUID) and MS-CorrelationId (echoed when sent), and waits --latency-ms
 * plus 0..--jitter-ms (or the script's latency_ms) first. The token
 * endpoints answer after --token-delay-ms (default at once), /stats at
 * once, both unthrottled and unauthenticated.
 *
 * Counters (/stats): requests, by_status, dropped and in_flight count
 * every request except /stats itself (token requests included);
 * in_flight is requests whose answer is not queued yet, suspended ones
 * included; unauthorized counts 401s from the token checks and
 * invalid_client; delayed/late/max_late_ms tell how punctually delayed
 * answers went out (late: more than 10 ms after the deadline). POST
 * /stats/reset zeroes the counters (max_in_flight restarts from the
 * present in_flight); scripts and per-tenant counts keep their place.
 *
 * Workers: an MHD thread pool (cfg->threads, epoll where available).
 * Delayed answers suspend their connection and a timer thread resumes it
 * at the deadline, so thousands of them wait without a thread each.
 */
#ifndef PCSIM_SERVER_H
#define PCSIM_SERVER_H

#include "data.h"
#include "pcsim.h"
#include "status.h"

struct server;

/*
 * Bind 127.0.0.1:cfg->port and start serving. cfg must outlive the
 * server. data (may be NULL) is taken over in every case. On failure
 * *out is NULL and err says why (PL_EUSAGE: cannot bind; PL_ENOMEM).
 */
enum pl_status server_start(const struct pcsim_config *cfg,
			    struct data_set *data, struct server **out,
			    struct pl_err *err);

/* The port actually bound (useful with port 0). */
unsigned server_port(const struct server *s);

/*
 * Answer every delayed request at once, stop the daemon and free
 * everything. NULL is a no-op.
 */
void server_stop(struct server *s);

#endif
