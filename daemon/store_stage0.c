/*
 * daemon/store_stage0.c - stage 0 in the state: each image's starting
 * boxes with their origins (issue 17; tables stage0 and stage0_boxes of
 * schema 4, see state.c).
 *
 * Stage 0 is written once per image, in one transaction: the stage0 row
 * says it is recorded (with no boxes too), and its primary key makes a
 * second record of the same image a no-op that the caller is told about,
 * so that a step that runs again after a crash never records twice.
 */
#include "daemon/daemon.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int
stage0_db_error(struct state *st, const char *what, struct errbuf *eb)
{
	return err_set(eb, IF_ERUNTIME, "%s: %s: %s", state_path(st), what,
		       sqlite3_errmsg(state_db(st)));
}

static int
stage0_prepare(struct state *st, const char *sql, sqlite3_stmt **stmt,
	       struct errbuf *eb)
{
	if (sqlite3_prepare_v2(state_db(st), sql, -1, stmt, NULL) !=
	    SQLITE_OK)
		return stage0_db_error(st, "stage 0", eb);
	return IF_OK;
}

int
store_stage0_put(struct state *st, const char *image_id,
		 const struct stage0_box *boxes, size_t n, int64_t now,
		 bool *inserted, struct errbuf *eb)
{
	static const char mark_sql[] =
		"INSERT OR IGNORE INTO stage0 (image_id, recorded_at) "
		"VALUES (?1, ?2)";
	static const char box_sql[] =
		"INSERT INTO stage0_boxes (image_id, seq, x, y, w, h, origin) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *stmt = NULL;
	int rc;

	*inserted = false;
	if (state_write_check(st, mark_sql, eb) != IF_OK)
		return eb->code;
	if (stage0_prepare(st, mark_sql, &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, image_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 2, now);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return stage0_db_error(st, "recording stage 0", eb);
	/* Recorded already: the first record stands. */
	if (sqlite3_changes(state_db(st)) == 0)
		return IF_OK;
	for (size_t i = 0; i < n; i++) {
		if (state_write_check(st, box_sql, eb) != IF_OK)
			return eb->code;
		if (stage0_prepare(st, box_sql, &stmt, eb) != IF_OK)
			return eb->code;
		sqlite3_bind_text(stmt, 1, image_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 2, (sqlite3_int64)i);
		sqlite3_bind_int(stmt, 3, boxes[i].box.x);
		sqlite3_bind_int(stmt, 4, boxes[i].box.y);
		sqlite3_bind_int(stmt, 5, boxes[i].box.w);
		sqlite3_bind_int(stmt, 6, boxes[i].box.h);
		sqlite3_bind_text(stmt, 7, boxes[i].origin, -1,
				  SQLITE_TRANSIENT);
		rc = sqlite3_step(stmt);
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			return stage0_db_error(st, "recording stage 0", eb);
	}
	*inserted = true;
	return IF_OK;
}

int
store_stage0_get(struct state *st, const char *image_id,
		 struct stage0_box **out, size_t *n, bool *recorded,
		 struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	struct stage0_box *v = NULL;
	size_t cap = 0, used = 0;
	int rc;

	*out = NULL;
	*n = 0;
	*recorded = false;
	if (stage0_prepare(st, "SELECT 1 FROM stage0 WHERE image_id = ?1",
			   &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, image_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return IF_OK;
	if (rc != SQLITE_ROW)
		return stage0_db_error(st, "reading stage 0", eb);
	if (stage0_prepare(st,
			   "SELECT x, y, w, h, origin FROM stage0_boxes "
			   "WHERE image_id = ?1 ORDER BY seq",
			   &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, image_id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const unsigned char *origin;

		if (used == cap) {
			size_t ncap = cap == 0 ? 8 : cap * 2;
			struct stage0_box *p = realloc(v, ncap * sizeof(*p));

			if (p == NULL) {
				sqlite3_finalize(stmt);
				free(v);
				return err_set(eb, IF_ERUNTIME,
					       "out of memory");
			}
			v = p;
			cap = ncap;
		}
		v[used].box = (struct box){sqlite3_column_int(stmt, 0),
					   sqlite3_column_int(stmt, 1),
					   sqlite3_column_int(stmt, 2),
					   sqlite3_column_int(stmt, 3)};
		origin = sqlite3_column_text(stmt, 4);
		snprintf(v[used].origin, sizeof(v[used].origin), "%s",
			 origin != NULL ? (const char *)origin : "");
		used++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(v);
		return stage0_db_error(st, "reading stage 0", eb);
	}
	*out = v;
	*n = used;
	*recorded = true;
	return IF_OK;
}
