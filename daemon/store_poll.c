/*
 * daemon/store_poll.c - the state's reads and writes of a pass's poll
 * round and due list (issue 15: a pass's work grows with what is due and
 * what changed, not with the study).
 *
 * Each query here goes through an index (state.c: images_pending,
 * hits_by_hit_id, hits_open_types), so that it reads the rows it returns
 * or changes and a handful of index pages besides:
 *
 *   store_images_due         the images due by now, soonest first;
 *   store_images_due_count   how many, counted up to a pass's worth;
 *   store_wait_due           whether a WAIT image is due by now;
 *   store_hit_types_after    the HIT types of the open HITs, one seek
 *                            each (a loose scan of hits_open_types);
 *   store_images_wake_hits   the WAIT images whose open HIT a listing
 *                            named, made due now (one lookup per HITId);
 *   store_images_wake_type   every WAIT image of one HIT type's open
 *                            HITs, made due now (a listing that failed).
 */
#include "daemon/daemon.h"
#include "daemon/store_private.h"

#include <sqlite3.h>
#include <string.h>

int
store_images_due(struct state *st, int64_t now, size_t max,
		 struct image_rec **out, size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*out = NULL;
	*n = 0;
	/* The inner WHERE is images_pending's own: a range of the index. */
	if (prepare(st,
		    "SELECT " STORE_IMAGE_COLS " FROM (SELECT " STORE_IMAGE_COLS
		    " FROM images WHERE state NOT IN ('done', 'failed') "
		    "AND next_at <= ?2 ORDER BY next_at, seq, id LIMIT ?1) "
		    "ORDER BY seq, id",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, max < INT64_MAX ? (int64_t)max : INT64_MAX);
	sqlite3_bind_int64(stmt, 2, now);
	return store_images_read_all(st, stmt, out, n, eb);
}

int
store_images_due_count(struct state *st, int64_t now, size_t max,
		       size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*n = 0;
	/* store_images_due's range, counted no further than max rows. */
	if (prepare(st,
		    "SELECT count(*) FROM (SELECT 1 FROM images "
		    "WHERE state NOT IN ('done', 'failed') "
		    "AND next_at <= ?2 LIMIT ?1)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, max < INT64_MAX ? (int64_t)max : INT64_MAX);
	sqlite3_bind_int64(stmt, 2, now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	return IF_OK;
}

int
store_wait_due(struct state *st, int64_t now, bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (prepare(st,
		    "SELECT 1 FROM images WHERE state NOT IN ('done', "
		    "'failed') AND next_at <= ?1 AND state = 'wait' LIMIT 1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, now);
	rc = row_or_done(st, stmt, found, eb);
	sqlite3_finalize(stmt);
	return rc;
}

int
store_hit_types_after(struct state *st, const char *after, char *out,
		      size_t size, bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	/* A range of hits_open_types (closed, hit_type_id): one seek. */
	if (prepare(st,
		    "SELECT hit_type_id FROM hits WHERE closed = 0 AND "
		    "hit_id != '' AND hit_type_id > ?1 "
		    "ORDER BY hit_type_id LIMIT 1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, after);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found)
		copy_text(out, size, stmt, 0);
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Runs stmt (an UPDATE whose ?1 is text) once per text in ids, through
 * the store-failure hook, adding the rows changed to *changed.
 */
static int
update_each(struct state *st, sqlite3_stmt *stmt, const char (*ids)[ID_MAX],
	    size_t n, size_t *changed, struct errbuf *eb)
{
	for (size_t i = 0; i < n; i++) {
		int rc;

		if (state_write_check(st, sqlite3_sql(stmt), eb) != IF_OK)
			return eb->code;
		bind_text(stmt, 1, ids[i]);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE)
			return err_set(eb, IF_ERUNTIME, "%s: %s",
				       state_path(st),
				       sqlite3_errmsg(state_db(st)));
		*changed += (size_t)sqlite3_changes(state_db(st));
	}
	return IF_OK;
}

/*
 * The image is found by its rowid, from the HIT found by its HITId: two
 * indexed lookups per HITId listed, whatever the study's size.  The unary
 * + keeps the planner on hits_by_hit_id rather than an index led by
 * closed, which would walk every open HIT.
 */
int
store_images_wake_hits(struct state *st, const char (*hit_ids)[ID_MAX],
		       size_t n, int64_t now, size_t *woken,
		       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*woken = 0;
	if (n == 0)
		return IF_OK;
	if (prepare(st,
		    "UPDATE images SET next_at = ?2 WHERE rowid IN ("
		    "SELECT i.rowid FROM hits h JOIN images i "
		    "ON i.id = h.image_id WHERE h.hit_id = ?1 "
		    "AND h.hit_id != '' AND +h.closed = 0 "
		    "AND i.state = 'wait' AND i.stage = h.stage "
		    "AND i.attempt = h.attempt AND i.next_at > ?2)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 2, now);
	rc = update_each(st, stmt, hit_ids, n, woken, eb);
	sqlite3_finalize(stmt);
	return rc;
}

int
store_images_wake_type(struct state *st, const char *hit_type_id,
		       int64_t now, size_t *woken, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	char id[1][ID_MAX];
	int rc;

	*woken = 0;
	snprintf(id[0], sizeof(id[0]), "%s", hit_type_id);
	if (prepare(st,
		    "UPDATE images SET next_at = ?2 WHERE rowid IN ("
		    "SELECT i.rowid FROM hits h JOIN images i "
		    "ON i.id = h.image_id WHERE h.closed = 0 "
		    "AND h.hit_id != '' AND h.hit_type_id = ?1 "
		    "AND i.state = 'wait' AND i.stage = h.stage "
		    "AND i.attempt = h.attempt AND i.next_at > ?2)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 2, now);
	rc = update_each(st, stmt, (const char(*)[ID_MAX])id, 1, woken, eb);
	sqlite3_finalize(stmt);
	return rc;
}
