/*
 * curlmem.h: libcurl's memory, counted, so that "out of memory" from
 * libcurl can be told apart from "too large" in libcurl 7.88.
 *
 * libcurl 7.88 reports a response header line over CURL_MAX_HTTP_HEADER
 * (100 KiB) as CURLE_OUT_OF_MEMORY: its bounded buffer refuses the line
 * with the same code as a failed malloc (8.6 added CURLE_TOO_LARGE for
 * it). A server's answer must never end the run, and our own machine
 * running out of memory must; so libcurl is handed allocation functions
 * (curl_global_init_mem) that only count the allocations that fail. An
 * OUT_OF_MEMORY while that count stood still was libcurl's limit.
 *
 * curlmem_init() must come before any other libcurl call of the process
 * to install the counters: libcurl takes allocation functions only at its
 * first global init. It is reference-counted like curl_global_init(),
 * which later callers (auth, fetch) may go on calling as before.
 */
#ifndef QR_CURLMEM_H
#define QR_CURLMEM_H

#include <stdbool.h>

#include "status.h"

/* curl_global_init_mem with the counting functions; PL_EINTERNAL when
 * libcurl cannot be initialised. Pair with curlmem_cleanup(). */
enum pl_status curlmem_init(struct pl_err *err);
void curlmem_cleanup(void);

/* Whether libcurl uses the counting functions: false when someone
 * initialised libcurl before curlmem_init (then every OUT_OF_MEMORY has
 * to be taken as real). */
bool curlmem_is_counting(void);

/* Allocations of libcurl that failed so far (any thread: the threaded
 * resolver allocates too). */
unsigned long curlmem_failures(void);

#endif
