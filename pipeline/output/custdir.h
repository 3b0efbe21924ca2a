/*
 * custdir.h: the customers' names, domains and relationships, kept on
 * disk instead of in memory, for whoever wants them by tenant at the end
 * (the HTML report's company names).
 *
 * A million customers' names are tens of megabytes; the pipeline keeps
 * only the 16-byte IDs in memory (tenantset.h). The names go, as they are
 * listed (or read from the CSV's name columns), to an unlinked temporary
 * file in $TMPDIR (else /tmp), mode 0600, which is gone when the process
 * is, however it ends. custdir_lookup() reads the file once, front to
 * back, for any number of tenants.
 *
 * Ownership: the directory copies what it is given; strings handed to a
 * lookup's callback are borrowed for the call. custdir_free(NULL) is a
 * no-op.
 */
#ifndef QR_CUSTDIR_H
#define QR_CUSTDIR_H

#include <stddef.h>

#include "source.h"
#include "status.h"

struct custdir;

/* An empty directory. PL_EOUTPUT when no temporary file can be made. */
enum pl_status custdir_new(struct custdir **out, struct pl_err *err);

/*
 * Keep what is known of tenant index (its position in the tenantset).
 * Indices must grow from call to call (PL_EINTERNAL otherwise). PL_EOUTPUT
 * when the file cannot be written (a full disk).
 */
enum pl_status custdir_add(struct custdir *d, size_t index,
			   const struct customer_info *info,
			   struct pl_err *err);

/* How many tenants were added. */
size_t custdir_count(const struct custdir *d);

typedef void (*custdir_fn)(void *ctx, size_t index,
			   const struct customer_info *info);

/*
 * Call fn for each of indices[0..n) that was added, in ascending order of
 * index (duplicates in indices once), reading the file once. Indices
 * never added are skipped. PL_EOUTPUT when the file cannot be read back,
 * PL_ENOMEM; adding may go on afterwards.
 */
enum pl_status custdir_lookup(struct custdir *d, const size_t *indices,
			      size_t n, custdir_fn fn, void *ctx,
			      struct pl_err *err);

/*
 * The company name of tenant index (an html_options name_of hook: ctx is
 * the struct custdir), for a caller that asks in input order, as the
 * page does while the detail report is written: a cursor reads the file
 * forward, so asking for every tenant in order reads it once, even while
 * tenants are still being added. Asking for a lower index than the last
 * starts again from the start. NULL when the tenant has no name or the
 * file cannot be read (the page then shows the ID alone). Borrowed until
 * the next call.
 */
const char *custdir_name_of(void *custdir, size_t index);

void custdir_free(struct custdir *d);

#endif
