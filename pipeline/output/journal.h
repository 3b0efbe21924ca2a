/*
 * journal.h: the crash-safe run journal (--journal PATH).
 *
 * An append-only text file, one JSON object per line:
 *   line 1, the identity of the run it belongs to:
 *     {"qualreport_journal":1,"input_sha256":"...","fingerprint":"...",
 *      "correlation_id":"...","tenants":N}
 *   then one line per finished tenant, in completion order:
 *     {"i":INDEX,"t":"TENANT","h":HTTP,"a":ATTEMPTS,"r":"REQUEST-ID",
 *      "o":OUTCOME,"e":ERROR|null,"rows":[[QUAL,STATUS,REASON,DATE],...]}
 *     (strings or null; INDEX is the tenant's position in input order)
 *
 * When the input is the API's customer list (--all-customers), line 1
 * says so instead of naming a file:
 *     {"qualreport_journal":1,"listing":"GET <base>/v1/customers?size=N",
 *      "fingerprint":"...","correlation_id":"..."}
 * the tenants are not known when the journal is opened, and every page
 * read is recorded, before any record of its tenants, as
 *     {"page":P,"pass":K,"items":N,"dup":D,"relisted":R,"first":F,
 *      "new":[[TENANT,NAME,DOMAIN,RELATIONSHIP],...],
 *      "rejects":[[LINE,VALUE,REASON],...]}
 * (the tenants first listed on it, which got indices F, F+1, ..., with
 * what --customers needs, and its rejected items; source.h's struct
 * listing_page), and the end of the list as {"end":"listing"}. A resumed
 * run replays the pages (journal_listing's replay hook), so its tenants,
 * their order and names do not depend on the listing coming out the same
 * a second time; with the end recorded it does not list again.
 *
 * Rerunning with the same journal and input skips the tenants already
 * done and reuses their recorded rows and the journal's correlation ID,
 * so the reports are byte-identical to an uninterrupted run. A torn last
 * line (the process died mid-write) is ignored and cut off before new
 * records are appended. A journal written for another input (SHA-256) or
 * other result-shaping options (fingerprint) is refused.
 *
 * Errors, one rule for opening and loading alike:
 *   PL_EUSAGE   the file is not this run's journal: not a journal at all,
 *               one of another input (SHA-256, tenant count), of other
 *               result-shaping options, of another correlation ID, of an
 *               unknown version, or in use by another run. Nothing was
 *               read or written; the remedy is another path or the
 *               journal's options.
 *   PL_EOUTPUT  the file is this run's journal but cannot serve: it
 *               cannot be created, read, written or synced, or a line is
 *               damaged (not JSON, the wrong shape, a tenant that is not
 *               the input's at its index), whether found at open or by a
 *               later journal_load. The journal is the run's own state,
 *               an output like the reports, so this is exit 5, and the
 *               message says "journal PATH line N ..." (a torn last line
 *               is no damage: it is dropped, see above).
 *
 * Durability: records are buffered and written with write(2) every
 * JOURNAL_BATCH records or JOURNAL_FLUSH_MS, whichever comes first (so a
 * kill -9 loses at most that batch, which is simply fetched again), and
 * fdatasync(2)ed at most once per JOURNAL_SYNC_MS (so a power loss loses
 * at most a second or so).
 */
#ifndef QR_JOURNAL_H
#define QR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"
#include "source.h"
#include "status.h"
#include "tenantset.h"

#define JOURNAL_BATCH 64
#define JOURNAL_FLUSH_MS 200
#define JOURNAL_SYNC_MS 1000

struct journal;

/* The input is the customer listing (see above). */
struct journal_listing {
	/* What is listed, compared with a resumed journal's:
	 * "GET https://api.partnercenter.microsoft.com/v1/customers?size=500" */
	const char *what;
	/* Called from journal_open() with each page an earlier run
	 * recorded, in order (the page's strings are borrowed for the
	 * call): it must add the page's tenants to the tenantset, at their
	 * indices. A failure refuses the journal with that status. */
	enum pl_status (*replay)(void *ctx, const struct listing_page *page,
				 struct pl_err *err);
	void *ctx;
};

struct journal_identity {
	const char *input_sha256; /* lowercase hex; unused for a listing */
	const char *fingerprint;  /* opaque text of result-shaping options */
	/* In: the run's correlation ID ("" = none chosen: one is made for a
	 * new journal). Out: the effective one (the journal's own when
	 * resuming). A resumed journal whose ID differs from a non-empty
	 * one given here is refused (PL_EUSAGE). */
	char correlation_id[GUID_STR_LEN + 1];
};

/*
 * Open or create the journal at path for the tenants in `tenants` (input
 * order; borrowed for the journal's lifetime), checking every line.
 * Errors as above; on failure the file is left as it was.
 * For a listing the set grows: first by the replayed pages, then as the
 * run adds tenants (each page recorded with journal_append_page() before
 * its tenants' records).
 */
enum pl_status journal_open(const char *path, struct journal_identity *id,
			    const struct tenantset *tenants,
			    struct journal **out, struct pl_err *err);

/* The same for a run whose input is the customer listing (borrowed for
 * the journal's lifetime); id->input_sha256 is not used. */
enum pl_status journal_open_listing(const char *path,
				    struct journal_identity *id,
				    const struct journal_listing *listing,
				    const struct tenantset *tenants,
				    struct journal **out, struct pl_err *err);

/* Tenants already done when the journal was opened (resumed ones). */
size_t journal_resumed(const struct journal *j);
/* Whether tenant `index` has a record (resumed or appended). */
bool journal_is_done(const struct journal *j, size_t index);

/* Read back tenant `index`'s record into rec (initialized by caller).
 * PL_EOUTPUT (naming the line) if it can no longer be read or parsed;
 * PL_ENOMEM; rec is left empty on failure. */
enum pl_status journal_load(struct journal *j, size_t index,
			    struct tenant_record *rec, struct pl_err *err);

/* Append a finished tenant (buffered as described above). */
enum pl_status journal_append(struct journal *j, size_t index,
			      const struct tenant_record *rec,
			      struct pl_err *err);

/* Listing: record a page read (after its tenants were added to the set),
 * or with page NULL the end of the list. */
enum pl_status journal_append_page(struct journal *j,
				   const struct listing_page *page,
				   struct pl_err *err);

/* Listing: the journal holds the end of the list (an earlier run read it
 * all, or this one did). */
bool journal_is_listing_complete(const struct journal *j);

/* Write out buffered records; with sync, fdatasync as well. */
enum pl_status journal_flush(struct journal *j, bool sync,
			     struct pl_err *err);

/* Flush (with sync) and close. Returns the flush status. NULL: PL_OK. */
enum pl_status journal_close(struct journal *j, struct pl_err *err);

#endif
