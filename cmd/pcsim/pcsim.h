/*
 * pcsim.h: the simulator's configuration, shared by main.c (which fills
 * it from the command line) and server.c (which serves it).
 *
 * Ownership: struct pcsim_config borrows every string it points to (argv,
 * the environment); client_secret, refresh_token and the PEM texts are
 * owned, so main() can wipe and free them.
 */
#ifndef PCSIM_H
#define PCSIM_H

#include <stdint.h>

#include "now.h"

#include "customers.h"

struct pcsim_config {
	unsigned port;            /* 0: any free port */
	unsigned latency_ms;      /* added to every API answer */
	unsigned jitter_ms;       /* plus uniform 0..jitter_ms */
	double fail_rate;         /* 500/503 share of requests */
	double drop_rate;         /* connections closed without an answer */
	double malformed_rate;    /* 200 with a truncated body or HTML */
	double unknown_rate;      /* share of tenants answering 404 */
	double throttle_rps;      /* token bucket rate; 0: none */
	double throttle_burst;    /* its capacity; 0: max(1, rps / 10) */
	unsigned window_limit;    /* fixed window: this many requests ... */
	uint64_t window_ns;       /* ... per window this long; 0: none */
	int doc_style;            /* bodies as on the documentation page */
	const char *token;        /* static bearer token, NULL: none */
	const char *client_id;    /* client-credentials app, NULL: none */
	char *client_secret;      /* owned; required with client_id */
	unsigned token_ttl;       /* seconds an issued token lives */
	const char *data_path;    /* scripted answers, NULL: none */
	uint64_t seed;
	unsigned threads;         /* MHD worker threads, >= 1 */
	char *tls_cert;           /* owned PEM text; with tls_key: HTTPS */
	char *tls_key;            /* owned PEM text */
	/* The identity platform (identity.h). */
	char *refresh_token;      /* owned; a seeded refresh token or NULL */
	unsigned refresh_grace_ms;  /* a used refresh token still works */
	unsigned refresh_ttl_s;   /* a refresh token's lifetime */
	char *client_cert;        /* owned PEM text: validates assertions */
	int public_client;        /* refresh/device grants without a secret */
	unsigned device_interval;   /* seconds between device-code polls */
	unsigned device_expires_in; /* seconds a device code lives */
	unsigned device_approve_after; /* the poll that decides */
	int device_mode;          /* enum identity_device_mode */
	long aad_error;           /* every token grant fails so; 0: none */
	unsigned token_delay_ms;  /* the token endpoints answer this late */
	const char *record_assertions; /* append each assertion received */
	struct customers_options customers; /* GET /v1/customers */
};

/* Monotonic clock in nanoseconds (now.h's): every deadline in pcsim
 * uses it, unsigned as pcsim's deadlines are. */
static inline uint64_t pcsim_now_ns(void)
{
	return (uint64_t)now_mono_ns();
}

#endif
