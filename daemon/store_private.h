/*
 * daemon/store_private.h - the statement helpers of the files that read
 * and write the state's tables (store.c, store_prolific.c,
 * prolific_ops.c), so that each error names the state file and every
 * write goes through the store-failure hook (state_write_check) the same
 * way.  Private to daemon/.
 */
#ifndef INTOFOCUS_STORE_PRIVATE_H
#define INTOFOCUS_STORE_PRIVATE_H

#include "daemon/daemon.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

/* The columns of an image row, in the order image_read takes them. */
#define STORE_IMAGE_COLS                                                    \
	"id, file, fingerprint, state, stage, attempt, next_at, reason, "   \
	"image_url, object_key, url_expires, started_at, updated_at, seq, " \
	"error, error_since, retries"

/*
 * Reads every row of a prepared SELECT of STORE_IMAGE_COLS (stmt
 * finalized); *out is freed with free().  In store.c.
 */
int store_images_read_all(struct state *st, sqlite3_stmt *stmt,
			  struct image_rec **out, size_t *n,
			  struct errbuf *eb);

static inline int
prepare(struct state *st, const char *sql, sqlite3_stmt **stmt,
	struct errbuf *eb)
{
	if (sqlite3_prepare_v2(state_db(st), sql, -1, stmt, NULL) != SQLITE_OK)
		return err_set(eb, IF_ERUNTIME, "%s: %s (in: %.60s)",
			       state_path(st), sqlite3_errmsg(state_db(st)),
			       sql);
	return IF_OK;
}

/* Runs a write statement (through the store-failure hook), finalizes it. */
static inline int
write_done(struct state *st, sqlite3_stmt *stmt, struct errbuf *eb)
{
	int rc;

	if (state_write_check(st, sqlite3_sql(stmt), eb) != IF_OK) {
		sqlite3_finalize(stmt);
		return eb->code;
	}
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	return IF_OK;
}

/*
 * Steps a query that gives at most one row: IF_OK with *found telling
 * whether it did (the row is then the statement's current one), or an
 * error.
 */
static inline int
row_or_done(struct state *st, sqlite3_stmt *stmt, bool *found,
	    struct errbuf *eb)
{
	int rc = sqlite3_step(stmt);

	*found = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	return IF_OK;
}

static inline void
copy_text(char *dst, size_t size, sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

static inline void
bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
	sqlite3_bind_text(stmt, idx, s != NULL ? s : "", -1, SQLITE_TRANSIENT);
}

#endif /* INTOFOCUS_STORE_PRIVATE_H */
