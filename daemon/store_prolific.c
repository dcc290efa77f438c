/*
 * daemon/store_prolific.c - the Prolific rows of the state (schema 4).
 *
 * The records of prolific/once.c are written here before each remote
 * call (state.c's WAL with synchronous=FULL: a statement outside a
 * transaction is durable when it returns), so that a crash leaves a row
 * saying what may have been sent.  Every other file reads and writes
 * these tables through the functions of daemon/recruit.h only.
 */
#include "daemon/recruit.h"
#include "daemon/store_private.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char *const approval_state_names[] = {
	[PROLIFIC_APPROVAL_NEW] = "new",
	[PROLIFIC_APPROVAL_SENDING] = "sending",
	[PROLIFIC_APPROVAL_DONE] = "done",
};

static const char *const bonus_state_names[] = {
	[PROLIFIC_BONUS_NEW] = "new",
	[PROLIFIC_BONUS_CREATED] = "created",
	[PROLIFIC_BONUS_PAYING] = "paying",
	[PROLIFIC_BONUS_PAID] = "paid",
	[PROLIFIC_BONUS_REFUSED] = "refused",
};

const char *
prolific_approval_state_str(enum prolific_approval_state s)
{
	if ((unsigned)s >= NELEM(approval_state_names))
		return "?";
	return approval_state_names[s];
}

const char *
prolific_bonus_state_str(enum prolific_bonus_state s)
{
	if ((unsigned)s >= NELEM(bonus_state_names))
		return "?";
	return bonus_state_names[s];
}

static int
name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static int
db_fail(struct state *st, struct errbuf *eb)
{
	return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
		       sqlite3_errmsg(state_db(st)));
}

/* ---- submissions -------------------------------------------------------- */

#define SUB_COLS                                                           \
	"submission_id, participant_id, status, seen_at, awaiting_since, " \
	"settled, next_at, waiting"

static void
sub_read(sqlite3_stmt *stmt, struct prolific_sub_rec *r)
{
	memset(r, 0, sizeof(*r));
	copy_text(r->submission_id, sizeof(r->submission_id), stmt, 0);
	copy_text(r->participant_id, sizeof(r->participant_id), stmt, 1);
	copy_text(r->status, sizeof(r->status), stmt, 2);
	r->seen_at = sqlite3_column_int64(stmt, 3);
	r->awaiting_since = sqlite3_column_int64(stmt, 4);
	r->settled = sqlite3_column_int(stmt, 5);
	r->next_at = sqlite3_column_int64(stmt, 6);
	copy_text(r->waiting, sizeof(r->waiting), stmt, 7);
}

int
store_prolific_sub_seen(struct state *st, const struct prolific_submission *s,
			int64_t now, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	bool awaiting = s->status == PROLIFIC_STATUS_AWAITING_REVIEW;

	/*
	 * A change of status makes a settled submission due again only
	 * while run still has something to do: an approval not done.
	 */
	if (prepare(st,
		    "INSERT INTO prolific_submissions (" SUB_COLS ") "
		    "VALUES (?1, ?2, ?3, ?4, ?5, 0, 0, '') "
		    "ON CONFLICT (submission_id) DO UPDATE SET "
		    "  next_at = CASE WHEN status != ?3 THEN 0 "
		    "    ELSE next_at END,"
		    "  settled = CASE WHEN status != ?3 AND NOT EXISTS ("
		    "    SELECT 1 FROM prolific_approvals a WHERE "
		    "    a.submission_id = ?1 AND a.state = 'done') THEN 0 "
		    "    ELSE settled END,"
		    "  status = ?3, seen_at = ?4,"
		    "  awaiting_since = CASE WHEN awaiting_since = 0 "
		    "    THEN ?5 ELSE awaiting_since END",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, s->id);
	bind_text(stmt, 2, s->participant_id);
	bind_text(stmt, 3, prolific_status_str(s->status));
	sqlite3_bind_int64(stmt, 4, now);
	sqlite3_bind_int64(stmt, 5, awaiting ? now : 0);
	return write_done(st, stmt, eb);
}

int
store_prolific_sub_get(struct state *st, const char *submission_id,
		       struct prolific_sub_rec *out, bool *found,
		       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*found = false;
	if (prepare(st,
		    "SELECT " SUB_COLS " FROM prolific_submissions "
		    "WHERE submission_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, submission_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		sub_read(stmt, out);
		*found = true;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, eb);
	return IF_OK;
}

int
store_prolific_sub_update(struct state *st, const struct prolific_sub_rec *r,
			  struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE prolific_submissions SET settled = ?2, "
		    "next_at = ?3, waiting = ?4 WHERE submission_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, r->submission_id);
	sqlite3_bind_int(stmt, 2, r->settled);
	sqlite3_bind_int64(stmt, 3, r->next_at);
	bind_text(stmt, 4, r->waiting);
	return write_done(st, stmt, eb);
}

static int
subs_query(struct state *st, sqlite3_stmt *stmt, struct prolific_sub_rec *out,
	   size_t max, size_t *n, struct errbuf *eb)
{
	int rc;

	*n = 0;
	while (*n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		sub_read(stmt, &out[(*n)++]);
	if (*n < max && rc != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		*n = 0;
		return db_fail(st, eb);
	}
	sqlite3_finalize(stmt);
	return IF_OK;
}

int
store_prolific_subs_due(struct state *st, int64_t now,
			struct prolific_sub_rec *out, size_t max, size_t *n,
			struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (prepare(st,
		    "SELECT " SUB_COLS " FROM prolific_submissions "
		    "WHERE settled IN (0, 2) AND next_at <= ?1 "
		    "ORDER BY next_at, submission_id LIMIT ?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
	return subs_query(st, stmt, out, max, n, eb);
}

int
store_prolific_subs_page(struct state *st, const char *after_id,
			 struct prolific_sub_rec *out, size_t max, size_t *n,
			 struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (prepare(st,
		    "SELECT " SUB_COLS " FROM prolific_submissions "
		    "WHERE submission_id > ?1 ORDER BY submission_id "
		    "LIMIT ?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, after_id);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
	return subs_query(st, stmt, out, max, n, eb);
}

static int
count_query(struct state *st, sqlite3_stmt *stmt, int64_t *n,
	    struct errbuf *eb)
{
	int rc = sqlite3_step(stmt);

	*n = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return db_fail(st, eb);
	return IF_OK;
}

int
store_prolific_subs_count(struct state *st, int settled, int64_t *n,
			  struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (prepare(st,
		    "SELECT COUNT(*) FROM prolific_submissions "
		    "WHERE settled = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int(stmt, 1, settled);
	return count_query(st, stmt, n, eb);
}

int
store_prolific_subs_next_at(struct state *st, int64_t *t, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*t = 0;
	if (prepare(st,
		    "SELECT COALESCE(MIN(next_at), 0) "
		    "FROM prolific_submissions WHERE settled IN (0, 2)",
		    &stmt, eb) != IF_OK)
		return eb->code;
	return count_query(st, stmt, t, eb);
}

int
store_prolific_subs_wake(struct state *st, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "UPDATE prolific_submissions SET next_at = 0 "
		    "WHERE settled = 2 AND next_at > 0",
		    &stmt, eb) != IF_OK)
		return eb->code;
	return write_done(st, stmt, eb);
}

int
store_hits_open_at(struct state *st, int64_t t, int64_t *n, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	*n = 0;
	if (prepare(st,
		    "SELECT COUNT(*) FROM hits WHERE closed = 0 AND "
		    "hit_id != '' AND created_at <= ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_int64(stmt, 1, t);
	return count_query(st, stmt, n, eb);
}

int
store_participant_answers(struct state *st, const char *participant_id,
			  struct participant_answers *out, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (prepare(st,
		    "SELECT COUNT(*), "
		    "  COALESCE(SUM(approval = 'approved'), 0), "
		    "  COALESCE(SUM(valid = 0), 0) "
		    "FROM assignments WHERE worker_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, participant_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->total = sqlite3_column_int64(stmt, 0);
		out->approved = sqlite3_column_int64(stmt, 1);
		out->invalid = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return db_fail(st, eb);
	return IF_OK;
}

/* ---- approvals ---------------------------------------------------------- */

int
store_prolific_approval_get(struct state *st, const char *submission_id,
			    struct prolific_approval *out,
			    int64_t *cost_cents, bool *found,
			    struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	char state[16];
	int rc, s;

	*found = false;
	if (prepare(st,
		    "SELECT state, cost_cents FROM prolific_approvals "
		    "WHERE submission_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, submission_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		snprintf(out->submission_id, sizeof(out->submission_id), "%s",
			 submission_id);
		copy_text(state, sizeof(state), stmt, 0);
		s = name_index(approval_state_names,
			       NELEM(approval_state_names), state);
		/* Unknown (a newer schema): "may have been sent". */
		out->state = s >= 0 ? (enum prolific_approval_state)s
				    : PROLIFIC_APPROVAL_SENDING;
		if (cost_cents != NULL)
			*cost_cents = sqlite3_column_int64(stmt, 1);
		*found = true;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, eb);
	return IF_OK;
}

int
store_prolific_approval_put(struct state *st,
			    const struct prolific_approval *a,
			    int64_t cost_cents, int64_t now,
			    struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT INTO prolific_approvals (submission_id, state, "
		    "cost_cents, intent_at, updated_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?4) "
		    "ON CONFLICT (submission_id) DO UPDATE SET state = ?2, "
		    "updated_at = ?4",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, a->submission_id);
	bind_text(stmt, 2, prolific_approval_state_str(a->state));
	sqlite3_bind_int64(stmt, 3, cost_cents);
	sqlite3_bind_int64(stmt, 4, now);
	return write_done(st, stmt, eb);
}

/* ---- bonuses ------------------------------------------------------------ */

int
store_prolific_bonus_get(struct state *st, const char *submission_id,
			 struct prolific_bonus *out, int64_t *cost_cents,
			 int *tasks, bool *found, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	char state[16];
	int rc, s;

	*found = false;
	if (prepare(st,
		    "SELECT study_id, amount_cents, state, bulk_id, baseline, "
		    "pay_sent_at, pay_calls, overpaid, cost_cents, tasks "
		    "FROM prolific_bonuses WHERE submission_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, submission_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		snprintf(out->submission_id, sizeof(out->submission_id), "%s",
			 submission_id);
		copy_text(out->study_id, sizeof(out->study_id), stmt, 0);
		out->amount_cents = sqlite3_column_int64(stmt, 1);
		copy_text(state, sizeof(state), stmt, 2);
		s = name_index(bonus_state_names, NELEM(bonus_state_names),
			       state);
		/* Unknown (a newer schema): "a pay call may have gone". */
		out->state = s >= 0 ? (enum prolific_bonus_state)s
				    : PROLIFIC_BONUS_PAYING;
		copy_text(out->bulk_id, sizeof(out->bulk_id), stmt, 3);
		out->baseline = (long)sqlite3_column_int64(stmt, 4);
		out->pay_sent_at = sqlite3_column_int64(stmt, 5);
		out->pay_calls = sqlite3_column_int(stmt, 6);
		out->overpaid = sqlite3_column_int(stmt, 7) != 0;
		if (cost_cents != NULL)
			*cost_cents = sqlite3_column_int64(stmt, 8);
		if (tasks != NULL)
			*tasks = sqlite3_column_int(stmt, 9);
		*found = true;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, eb);
	return IF_OK;
}

int
store_prolific_bonus_put(struct state *st, const struct prolific_bonus *b,
			 int64_t cost_cents, int tasks, int64_t now,
			 struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT INTO prolific_bonuses (submission_id, study_id, "
		    "amount_cents, tasks, cost_cents, state, bulk_id, "
		    "baseline, pay_sent_at, pay_calls, overpaid, intent_at, "
		    "updated_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		    "?12, ?12) "
		    "ON CONFLICT (submission_id) DO UPDATE SET state = ?6, "
		    "bulk_id = ?7, baseline = ?8, pay_sent_at = ?9, "
		    "pay_calls = ?10, overpaid = ?11, updated_at = ?12",
		    &stmt, eb) != IF_OK)
		return eb->code;
	bind_text(stmt, 1, b->submission_id);
	bind_text(stmt, 2, b->study_id);
	sqlite3_bind_int64(stmt, 3, b->amount_cents);
	sqlite3_bind_int(stmt, 4, tasks);
	sqlite3_bind_int64(stmt, 5, cost_cents);
	bind_text(stmt, 6, prolific_bonus_state_str(b->state));
	bind_text(stmt, 7, b->bulk_id);
	sqlite3_bind_int64(stmt, 8, b->baseline);
	sqlite3_bind_int64(stmt, 9, b->pay_sent_at);
	sqlite3_bind_int(stmt, 10, b->pay_calls);
	sqlite3_bind_int(stmt, 11, b->overpaid ? 1 : 0);
	sqlite3_bind_int64(stmt, 12, now);
	return write_done(st, stmt, eb);
}

int
store_prolific_committed_cents(struct state *st, int64_t *out,
			       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	*out = 0;
	/* Kept by triggers (schema 5), not summed over the records. */
	if (prepare(st, "SELECT cents_prolific FROM progress_counts", &stmt,
		    eb) != IF_OK)
		return eb->code;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return db_fail(st, eb);
	return IF_OK;
}
