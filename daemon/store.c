/*
 * daemon/store.c - typed reads and writes of the state rows.
 *
 * The stage machine thinks in images, HITs and assignments; this file
 * turns them into SQL and back, so that no SQL appears anywhere else.
 * Strings are copied into the records' fixed-size fields; the few that can
 * be long (boxes JSON, feedback) are allocated and freed with
 * assignment_rec_cleanup().
 */
#include "daemon/daemon.h"
#include "daemon/store_private.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const image_state_names[] = {
	[IMAGE_RENDER] = "render", [IMAGE_POST] = "post",
	[IMAGE_WAIT] = "wait",	   [IMAGE_FINAL] = "final",
	[IMAGE_DONE] = "done",	   [IMAGE_PAUSED] = "paused",
	[IMAGE_FAILED] = "failed",
};

const char *
image_state_str(enum image_state s)
{
	if ((unsigned)s >= NELEM(image_state_names))
		return "?";
	return image_state_names[s];
}

static const char *const approval_names[] = {
	[APPROVAL_PENDING] = "pending",
	[APPROVAL_APPROVED] = "approved",
	[APPROVAL_REJECTED] = "rejected",
	[APPROVAL_MANUAL] = "manual",
};

const char *
approval_str(enum approval a)
{
	if ((unsigned)a >= NELEM(approval_names))
		return "?";
	return approval_names[a];
}

int
approval_parse(const char *name)
{
	for (size_t i = 0; i < NELEM(approval_names); i++)
		if (strcmp(name, approval_names[i]) == 0)
			return (int)i;
	return -1;
}

int
image_state_parse(const char *name)
{
	for (size_t i = 0; i < NELEM(image_state_names); i++)
		if (strcmp(name, image_state_names[i]) == 0)
			return (int)i;
	return -1;
}

static char *
dup_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return strdup(t != NULL ? (const char *)t : "");
}

/* ---- images ------------------------------------------------------------ */

#define IMAGE_COLS STORE_IMAGE_COLS

static void
image_bind(sqlite3_stmt *stmt, const struct image_rec *im)
{
	bind_text(stmt, 1, im->id);
	bind_text(stmt, 2, im->file);
	bind_text(stmt, 3, im->fingerprint);
	bind_text(stmt, 4, image_state_str(im->state));
	sqlite3_bind_int(stmt, 5, im->stage);
	sqlite3_bind_int(stmt, 6, im->attempt);
	sqlite3_bind_int64(stmt, 7, im->next_at);
	bind_text(stmt, 8, im->reason);
	bind_text(stmt, 9, im->image_url);
	bind_text(stmt, 10, im->object_key);
	sqlite3_bind_int64(stmt, 11, im->url_expires);
	sqlite3_bind_int64(stmt, 12, im->started_at);
	sqlite3_bind_int64(stmt, 13, im->updated_at);
	sqlite3_bind_int64(stmt, 14, im->seq);
	bind_text(stmt, 15, im->error);
	sqlite3_bind_int64(stmt, 16, im->error_since);
	sqlite3_bind_int(stmt, 17, im->retries);
}

static void
image_read(sqlite3_stmt *stmt, struct image_rec *im)
{
	char state[32];
	int s;

	memset(im, 0, sizeof(*im));
	copy_text(im->id, sizeof(im->id), stmt, 0);
	copy_text(im->file, sizeof(im->file), stmt, 1);
	copy_text(im->fingerprint, sizeof(im->fingerprint), stmt, 2);
	copy_text(state, sizeof(state), stmt, 3);
	s = image_state_parse(state);
	/* An unknown name can only come from a newer schema: stop there. */
	im->state = s >= 0 ? (enum image_state)s : IMAGE_FAILED;
	im->stage = sqlite3_column_int(stmt, 4);
	im->attempt = sqlite3_column_int(stmt, 5);
	im->next_at = sqlite3_column_int64(stmt, 6);
	copy_text(im->reason, sizeof(im->reason), stmt, 7);
	copy_text(im->image_url, sizeof(im->image_url), stmt, 8);
	copy_text(im->object_key, sizeof(im->object_key), stmt, 9);
	im->url_expires = sqlite3_column_int64(stmt, 10);
	im->started_at = sqlite3_column_int64(stmt, 11);
	im->updated_at = sqlite3_column_int64(stmt, 12);
	im->seq = sqlite3_column_int64(stmt, 13);
	copy_text(im->error, sizeof(im->error), stmt, 14);
	im->error_since = sqlite3_column_int64(stmt, 15);
	im->retries = sqlite3_column_int(stmt, 16);
}

int
store_image_insert(struct state *st, const struct image_rec *im,
		   struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT INTO images (" IMAGE_COLS ") VALUES "
		    "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,"
		    "?17)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	image_bind(stmt, im);
	return write_done(st, stmt, eb);
}

int
store_image_update(struct state *st, const struct image_rec *im,
		   struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE images SET file=?2, fingerprint=?3, state=?4, "
		    "stage=?5, attempt=?6, next_at=?7, reason=?8, "
		    "image_url=?9, object_key=?10, url_expires=?11, "
		    "started_at=?12, updated_at=?13, seq=?14, error=?15, "
		    "error_since=?16, retries=?17 WHERE id=?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	image_bind(stmt, im);
	return write_done(st, stmt, eb);
}

int
store_image_get(struct state *st, const char *id, struct image_rec *out,
		bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (prepare(st, "SELECT " IMAGE_COLS " FROM images WHERE id=?1", &stmt,
		    eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, id);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found)
		image_read(stmt, out);
	sqlite3_finalize(stmt);
	return rc;
}

static int query_int64(struct state *st, const char *sql, int64_t *out,
		       struct errbuf *eb);

int
store_images_list(struct state *st, struct image_rec **out, size_t *n,
		  struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*out = NULL;
	*n = 0;
	if (prepare(st, "SELECT " IMAGE_COLS " FROM images ORDER BY seq, id",
		    &stmt, eb) != IF_OK)
		return eb->code;
	return store_images_read_all(st, stmt, out, n, eb);
}

int
store_images_read_all(struct state *st, sqlite3_stmt *stmt,
		      struct image_rec **out, size_t *n, struct errbuf *eb)
{
	struct image_rec *list = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 16;
			struct image_rec *p = realloc(list, ncap * sizeof(*p));
			if (p == NULL) {
				free(list);
				sqlite3_finalize(stmt);
				return err_set(eb, IF_ERUNTIME,
					       "out of memory");
			}
			list = p;
			cap = ncap;
		}
		image_read(stmt, &list[count++]);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	}
	*out = list;
	*n = count;
	return IF_OK;
}

/*
 * The inner SELECT's WHERE is the images_pending index's own (state.c),
 * so that SQLite walks the index in next_at order and stops at max.
 */
int
store_images_pending(struct state *st, size_t max, struct image_rec **out,
		     size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*out = NULL;
	*n = 0;
	if (prepare(st,
		    "SELECT " IMAGE_COLS " FROM (SELECT " IMAGE_COLS
		    " FROM images WHERE state NOT IN ('done', 'failed') "
		    "ORDER BY next_at, seq, id LIMIT ?1) ORDER BY seq, id",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, max < INT64_MAX ? (int64_t)max : INT64_MAX);
	return store_images_read_all(st, stmt, out, n, eb);
}

int
store_images_in_state(struct state *st, enum image_state s,
		      struct image_rec **out, size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*out = NULL;
	*n = 0;
	if (prepare(st,
		    "SELECT " IMAGE_COLS " FROM images WHERE state = ?1 "
		    "ORDER BY seq, id",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, image_state_str(s));
	return store_images_read_all(st, stmt, out, n, eb);
}

int
store_image_next_seq(struct state *st, int64_t *out, struct errbuf *eb)
{
	return query_int64(st, "SELECT COALESCE(MAX(seq) + 1, 0) FROM images",
			   out, eb);
}

/*
 * From progress_counts (schema 5, kept by triggers) and the soonest due
 * image through the images_pending index: the same work whatever the
 * study's size.
 */
int
store_image_counts(struct state *st, struct image_counts *out,
		   struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (prepare(st,
		    "SELECT images, done, failed, paused, erring, "
		    "COALESCE((SELECT MAX(next_at, 1) FROM images "
		    "WHERE state NOT IN ('done', 'failed') "
		    "ORDER BY next_at LIMIT 1), 0) FROM progress_counts",
		    &stmt, eb) != IF_OK)
		return eb->code;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->images = (size_t)sqlite3_column_int64(stmt, 0);
		out->done = (size_t)sqlite3_column_int64(stmt, 1);
		out->failed = (size_t)sqlite3_column_int64(stmt, 2);
		out->paused = (size_t)sqlite3_column_int64(stmt, 3);
		out->erring = (size_t)sqlite3_column_int64(stmt, 4);
		out->next_at = sqlite3_column_int64(stmt, 5);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	return IF_OK;
}

/* ---- HITs -------------------------------------------------------------- */

#define HIT_COLS                                                            \
	"token, image_id, stage, attempt, annotation, hit_id, hit_type_id, " \
	"image_url, max_assignments, cost_cents, intent_at, created_at, "    \
	"expires_at, extensions, closed, extension_refused"

static void
hit_bind(sqlite3_stmt *stmt, const struct hit_rec *h)
{
	bind_text(stmt, 1, h->token);
	bind_text(stmt, 2, h->image_id);
	sqlite3_bind_int(stmt, 3, h->stage);
	sqlite3_bind_int(stmt, 4, h->attempt);
	bind_text(stmt, 5, h->annotation);
	bind_text(stmt, 6, h->hit_id);
	bind_text(stmt, 7, h->hit_type_id);
	bind_text(stmt, 8, h->image_url);
	sqlite3_bind_int(stmt, 9, h->max_assignments);
	sqlite3_bind_int64(stmt, 10, h->cost_cents);
	sqlite3_bind_int64(stmt, 11, h->intent_at);
	sqlite3_bind_int64(stmt, 12, h->created_at);
	sqlite3_bind_int64(stmt, 13, h->expires_at);
	sqlite3_bind_int(stmt, 14, h->extensions);
	sqlite3_bind_int(stmt, 15, h->closed);
	bind_text(stmt, 16, h->extension_refused);
}

static void
hit_read(sqlite3_stmt *stmt, struct hit_rec *h)
{
	memset(h, 0, sizeof(*h));
	copy_text(h->token, sizeof(h->token), stmt, 0);
	copy_text(h->image_id, sizeof(h->image_id), stmt, 1);
	h->stage = sqlite3_column_int(stmt, 2);
	h->attempt = sqlite3_column_int(stmt, 3);
	copy_text(h->annotation, sizeof(h->annotation), stmt, 4);
	copy_text(h->hit_id, sizeof(h->hit_id), stmt, 5);
	copy_text(h->hit_type_id, sizeof(h->hit_type_id), stmt, 6);
	copy_text(h->image_url, sizeof(h->image_url), stmt, 7);
	h->max_assignments = sqlite3_column_int(stmt, 8);
	h->cost_cents = sqlite3_column_int64(stmt, 9);
	h->intent_at = sqlite3_column_int64(stmt, 10);
	h->created_at = sqlite3_column_int64(stmt, 11);
	h->expires_at = sqlite3_column_int64(stmt, 12);
	h->extensions = sqlite3_column_int(stmt, 13);
	h->closed = sqlite3_column_int(stmt, 14);
	copy_text(h->extension_refused, sizeof(h->extension_refused), stmt,
		  15);
}

int
store_hit_insert(struct state *st, const struct hit_rec *h, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT INTO hits (" HIT_COLS ") VALUES "
		    "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,"
		    "?16)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	hit_bind(stmt, h);
	return write_done(st, stmt, eb);
}

int
store_hit_write(struct state *st, void *hit, struct errbuf *eb)
{
	return store_hit_update(st, hit, eb);
}

int
store_hit_update(struct state *st, const struct hit_rec *h, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE hits SET image_id=?2, stage=?3, attempt=?4, "
		    "annotation=?5, hit_id=?6, hit_type_id=?7, image_url=?8, "
		    "max_assignments=?9, cost_cents=?10, intent_at=?11, "
		    "created_at=?12, expires_at=?13, extensions=?14, "
		    "closed=?15, extension_refused=?16 WHERE token=?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	hit_bind(stmt, h);
	return write_done(st, stmt, eb);
}

int
store_hit_get(struct state *st, const char *image_id, int stage, int attempt,
	      struct hit_rec *out, bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (prepare(st,
		    "SELECT " HIT_COLS " FROM hits WHERE image_id=?1 AND "
		    "stage=?2 AND attempt=?3",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, image_id);
	sqlite3_bind_int(stmt, 2, stage);
	sqlite3_bind_int(stmt, 3, attempt);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found)
		hit_read(stmt, out);
	sqlite3_finalize(stmt);
	return rc;
}

int
store_hit_by_hit_id(struct state *st, const char *hit_id, struct hit_rec *out,
		    bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (hit_id[0] == '\0')
		return IF_OK; /* an intent has no HITId yet */
	if (prepare(st, "SELECT " HIT_COLS " FROM hits WHERE hit_id=?1", &stmt,
		    eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, hit_id);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found)
		hit_read(stmt, out);
	sqlite3_finalize(stmt);
	return rc;
}

/* Runs a SELECT of HIT_COLS whose ?1 is arg (text, or an int if NULL). */
static int
hits_query(struct state *st, const char *sql, const char *arg, int iarg,
	   struct hit_rec **out, size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	struct hit_rec *list = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (prepare(st, sql, &stmt, eb) != IF_OK)
		return eb->code;
	if (arg != NULL)
		bind_text(stmt, 1, arg);
	else
		sqlite3_bind_int(stmt, 1, iarg);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 8;
			struct hit_rec *p = realloc(list, ncap * sizeof(*p));
			if (p == NULL) {
				free(list);
				sqlite3_finalize(stmt);
				return err_set(eb, IF_ERUNTIME,
					       "out of memory");
			}
			list = p;
			cap = ncap;
		}
		hit_read(stmt, &list[count++]);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	}
	*out = list;
	*n = count;
	return IF_OK;
}

int
store_hits_for_image(struct state *st, const char *image_id,
		     struct hit_rec **out, size_t *n, struct errbuf *eb)
{
	return hits_query(st,
			  "SELECT " HIT_COLS " FROM hits WHERE image_id=?1 "
			  "ORDER BY stage, attempt",
			  image_id, 0, out, n, eb);
}

int
store_hits_closed(struct state *st, int closed, struct hit_rec **out,
		  size_t *n, struct errbuf *eb)
{
	return hits_query(st,
			  "SELECT " HIT_COLS " FROM hits WHERE closed=?1 AND "
			  "hit_id != '' ORDER BY intent_at, token",
			  NULL, closed, out, n, eb);
}

static int
query_int64(struct state *st, const char *sql, int64_t *out,
	    struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (prepare(st, sql, &stmt, eb) != IF_OK)
		return eb->code;
	rc = sqlite3_step(stmt);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	return IF_OK;
}

int
store_committed_cents(struct state *st, int64_t *out, struct errbuf *eb)
{
	/* With Prolific, its approvals and bonuses too (schema 4). */
	return query_int64(st,
			   "SELECT cents_hits + cents_prolific FROM "
			   "progress_counts",
			   out, eb);
}

int
store_hit_counts(struct state *st, int64_t *open, int64_t *total,
		 struct errbuf *eb)
{
	if (query_int64(st, "SELECT hits_open FROM progress_counts", open,
			eb) != IF_OK)
		return eb->code;
	return query_int64(st, "SELECT hits_posted FROM progress_counts",
			   total, eb);
}

/* ---- assignments ------------------------------------------------------- */

#define ASSIGNMENT_COLS                                                     \
	"assignment_id, worker_id, hit_id, image_id, stage, submit_time, "  \
	"accept_time, valid, invalid_reason, boxes, face_found, feedback, " \
	"approval, granted"

void
assignment_rec_cleanup(struct assignment_rec *a)
{
	if (a == NULL)
		return;
	free(a->boxes);
	free(a->feedback);
	a->boxes = NULL;
	a->feedback = NULL;
}

void
assignment_recs_free(struct assignment_rec *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		assignment_rec_cleanup(&a[i]);
	free(a);
}

int
store_assignment_insert(struct state *st, const struct assignment_rec *a,
			bool *inserted, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*inserted = false;
	if (prepare(st,
		    "INSERT INTO assignments (" ASSIGNMENT_COLS
		    ", recorded_at) VALUES "
		    "(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?6) "
		    "ON CONFLICT (assignment_id, worker_id) DO NOTHING",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, a->assignment_id);
	bind_text(stmt, 2, a->worker_id);
	bind_text(stmt, 3, a->hit_id);
	bind_text(stmt, 4, a->image_id);
	sqlite3_bind_int(stmt, 5, a->stage);
	sqlite3_bind_int64(stmt, 6, a->submit_time);
	sqlite3_bind_int64(stmt, 7, a->accept_time);
	sqlite3_bind_int(stmt, 8, a->valid);
	bind_text(stmt, 9, a->invalid_reason);
	bind_text(stmt, 10, a->boxes != NULL ? a->boxes : "[]");
	bind_text(stmt, 11, a->face_found);
	bind_text(stmt, 12, a->feedback);
	bind_text(stmt, 13, approval_str(a->approval));
	sqlite3_bind_int(stmt, 14, a->granted);
	if (write_done(st, stmt, eb) != IF_OK)
		return eb->code;
	/*
	 * Finalizing keeps the connection's count of the last statement's
	 * changes (its triggers' not included): 0 when the row was there.
	 */
	*inserted = sqlite3_changes(state_db(st)) == 1;
	return IF_OK;
}

int
store_assignments_for(struct state *st, const char *image_id, int stage,
		      struct assignment_rec **out, size_t *n,
		      struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	struct assignment_rec *list = NULL;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	/* Submission order, so that "first" means the first to submit. */
	if (prepare(st,
		    "SELECT " ASSIGNMENT_COLS " FROM assignments WHERE "
		    "image_id=?1 AND (?2 = 0 OR stage=?2) "
		    "ORDER BY stage, submit_time, assignment_id, worker_id",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, image_id);
	sqlite3_bind_int(stmt, 2, stage);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct assignment_rec *a;
		char approval[16];
		int ap;

		if (count == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 8;
			struct assignment_rec *p;

			p = realloc(list, ncap * sizeof(*p));
			if (p == NULL)
				goto oom;
			list = p;
			cap = ncap;
		}
		a = &list[count++];
		memset(a, 0, sizeof(*a));
		copy_text(a->assignment_id, sizeof(a->assignment_id), stmt, 0);
		copy_text(a->worker_id, sizeof(a->worker_id), stmt, 1);
		copy_text(a->hit_id, sizeof(a->hit_id), stmt, 2);
		copy_text(a->image_id, sizeof(a->image_id), stmt, 3);
		a->stage = sqlite3_column_int(stmt, 4);
		a->submit_time = sqlite3_column_int64(stmt, 5);
		a->accept_time = sqlite3_column_int64(stmt, 6);
		a->valid = sqlite3_column_int(stmt, 7);
		copy_text(a->invalid_reason, sizeof(a->invalid_reason), stmt,
			  8);
		a->boxes = dup_text(stmt, 9);
		copy_text(a->face_found, sizeof(a->face_found), stmt, 10);
		a->feedback = dup_text(stmt, 11);
		copy_text(approval, sizeof(approval), stmt, 12);
		ap = approval_parse(approval);
		/* Unknown: from a newer schema; leave it to the operator. */
		a->approval = ap >= 0 ? (enum approval)ap : APPROVAL_MANUAL;
		a->granted = sqlite3_column_int(stmt, 13);
		if (a->boxes == NULL || a->feedback == NULL)
			goto oom;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		assignment_recs_free(list, count);
		return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
			       sqlite3_errmsg(state_db(st)));
	}
	*out = list;
	*n = count;
	return IF_OK;
oom:
	sqlite3_finalize(stmt);
	assignment_recs_free(list, count);
	return err_set(eb, IF_ERUNTIME, "out of memory");
}

int
store_assignment_set_approval(struct state *st, const char *assignment_id,
			      const char *worker_id, enum approval approval,
			      struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE assignments SET approval=?3 WHERE assignment_id=?1 "
		    "AND worker_id=?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, assignment_id);
	bind_text(stmt, 2, worker_id);
	bind_text(stmt, 3, approval_str(approval));
	return write_done(st, stmt, eb);
}

int
store_assignment_set_granted(struct state *st, const char *assignment_id,
			     const char *worker_id, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE assignments SET granted=1 WHERE assignment_id=?1 "
		    "AND worker_id=?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, assignment_id);
	bind_text(stmt, 2, worker_id);
	return write_done(st, stmt, eb);
}

/* ---- stage results, qualifications, grants ----------------------------- */

int
store_stage_result_put(struct state *st, const char *image_id, int stage,
		       int window, const char *boxes_json, int assignments,
		       int64_t now, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT OR REPLACE INTO stage_results (image_id, stage, "
		    "window, boxes, assignments, finished_at) VALUES "
		    "(?1,?2,?3,?4,?5,?6)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, image_id);
	sqlite3_bind_int(stmt, 2, stage);
	sqlite3_bind_int(stmt, 3, window);
	bind_text(stmt, 4, boxes_json);
	sqlite3_bind_int(stmt, 5, assignments);
	sqlite3_bind_int64(stmt, 6, now);
	return write_done(st, stmt, eb);
}

int
store_stage_result_get(struct state *st, const char *image_id, int stage,
		       char **boxes_json, bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*boxes_json = NULL;
	*found = false;
	if (prepare(st,
		    "SELECT boxes FROM stage_results WHERE image_id=?1 AND "
		    "stage=?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, image_id);
	sqlite3_bind_int(stmt, 2, stage);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found) {
		*boxes_json = dup_text(stmt, 0);
		if (*boxes_json == NULL) {
			*found = false;
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
		}
	}
	sqlite3_finalize(stmt);
	return rc;
}

int
store_qual_get(struct state *st, int stage, char *qual_id, size_t size,
	       bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (prepare(st,
		    "SELECT qualification_type_id FROM qualifications WHERE "
		    "stage=?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int(stmt, 1, stage);
	rc = row_or_done(st, stmt, found, eb);
	if (rc == IF_OK && *found)
		copy_text(qual_id, size, stmt, 0);
	sqlite3_finalize(stmt);
	return rc;
}

int
store_qual_put(struct state *st, int stage, const char *qual_id,
	       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT OR REPLACE INTO qualifications (stage, "
		    "qualification_type_id) VALUES (?1, ?2)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int(stmt, 1, stage);
	bind_text(stmt, 2, qual_id);
	return write_done(st, stmt, eb);
}

int
store_grant_get(struct state *st, const char *worker_id, int stage,
		bool *granted, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*granted = false;
	if (prepare(st,
		    "SELECT 1 FROM grants WHERE worker_id=?1 AND stage=?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, worker_id);
	sqlite3_bind_int(stmt, 2, stage);
	rc = row_or_done(st, stmt, granted, eb);
	sqlite3_finalize(stmt);
	return rc;
}

int
store_grant_put(struct state *st, const char *worker_id, int stage,
		int64_t now, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT OR IGNORE INTO grants (worker_id, stage, "
		    "granted_at) VALUES (?1, ?2, ?3)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, worker_id);
	sqlite3_bind_int(stmt, 2, stage);
	sqlite3_bind_int64(stmt, 3, now);
	return write_done(st, stmt, eb);
}
