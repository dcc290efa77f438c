/*
 * The counts of progress (schema 5, issue 15): progress_counts, kept by
 * triggers as the images, HITs and Prolific costs change, read by every
 * pass (store_image_counts, store_hit_counts, store_committed_cents).
 *
 * - after a long random walk of inserts and updates, and after rolled
 *   back transactions, the counts equal a count over the rows;
 * - a state of schema 4 migrates to 5 with the counts of its rows;
 * - reading them walks no table: the soonest due image comes from the
 *   images_pending index, the rest from the one row;
 * - also schema 5: a HIT found by its HITId through an index (the push's
 *   lookup), never an intent without one.
 * The kill -9 side is tests/e2e/t0613-counts-crash.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/query_plan.h"
#include "tests/support/state_fixture.h"

#include "daemon/recruit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int
setup(void **state)
{
	*state = state_fixture_new("counts", "state");
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	state_fixture_free(*state);
	return 0;
}

/* One integer from a query of the test's own. */
static int64_t
sql_int(struct state *st, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(state_db(st), sql, -1, &stmt,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* The store's counts against counts over the rows, one by one. */
static void
assert_counts_true(struct state *st)
{
	struct errbuf eb = {0};
	struct image_counts c;
	int64_t open = -1, total = -1, cents = -1;

	assert_int_equal(store_image_counts(st, &c, &eb), IF_OK);
	assert_int_equal(store_hit_counts(st, &open, &total, &eb), IF_OK);
	assert_int_equal(store_committed_cents(st, &cents, &eb), IF_OK);
	assert_int_equal(c.images, sql_int(st, "SELECT COUNT(*) FROM images"));
	assert_int_equal(c.done, sql_int(st, "SELECT COUNT(*) FROM images "
					     "WHERE state = 'done'"));
	assert_int_equal(c.failed, sql_int(st, "SELECT COUNT(*) FROM images "
					       "WHERE state = 'failed'"));
	assert_int_equal(c.paused, sql_int(st, "SELECT COUNT(*) FROM images "
					       "WHERE state = 'paused'"));
	assert_int_equal(c.erring,
			 sql_int(st, "SELECT COUNT(*) FROM images WHERE "
				     "error != '' AND state NOT IN ('done', "
				     "'failed')"));
	assert_int_equal(c.next_at,
			 sql_int(st, "SELECT COALESCE(MIN(MAX(next_at, 1)), 0) "
				     "FROM images WHERE state NOT IN ('done', "
				     "'failed')"));
	assert_int_equal(open, sql_int(st, "SELECT COUNT(*) FROM hits WHERE "
					   "hit_id != '' AND closed = 0"));
	assert_int_equal(total, sql_int(st, "SELECT COUNT(*) FROM hits WHERE "
					    "hit_id != ''"));
	assert_int_equal(cents,
			 sql_int(st, "SELECT (SELECT COALESCE(SUM(cost_cents), "
				     "0) FROM hits) + (SELECT "
				     "COALESCE(SUM(cost_cents), 0) FROM "
				     "prolific_approvals) + (SELECT "
				     "COALESCE(SUM(cost_cents), 0) FROM "
				     "prolific_bonuses)"));
}

static const enum image_state some_states[] = {
	IMAGE_RENDER, IMAGE_POST, IMAGE_WAIT,  IMAGE_FINAL,
	IMAGE_DONE,   IMAGE_PAUSED, IMAGE_FAILED,
};

#define NIMAGES 40

static void
image_at(int i, struct image_rec *im)
{
	memset(im, 0, sizeof(*im));
	snprintf(im->id, sizeof(im->id), "im%03d", i);
	snprintf(im->file, sizeof(im->file), "images/im%03d.jpg", i);
	im->state = IMAGE_RENDER;
	im->stage = 1;
	im->attempt = 1;
	im->seq = i;
}

/* One random change: an image's state, error or next_at, or a HIT's. */
static void
random_change(struct state *st, unsigned *seed)
{
	struct errbuf eb = {0};
	struct image_rec im;
	struct hit_rec h;
	bool found = false;
	int i = rand_r(seed) % NIMAGES, stage = 1 + rand_r(seed) % 3;

	image_at(i, &im);
	assert_int_equal(store_image_get(st, im.id, &im, &found, &eb), IF_OK);
	assert_true(found);
	switch (rand_r(seed) % 4) {
	case 0:
		im.state = some_states[rand_r(seed) % 7];
		im.next_at = rand_r(seed) % 1000;
		assert_int_equal(store_image_update(st, &im, &eb), IF_OK);
		return;
	case 1:
		snprintf(im.error, sizeof(im.error), "%s",
			 rand_r(seed) % 2 ? "CreateHIT: ServiceUnavailable"
					  : "");
		assert_int_equal(store_image_update(st, &im, &eb), IF_OK);
		return;
	default:
		break;
	}
	/* A HIT: its intent, then created, closed, reviewed, or repriced. */
	assert_int_equal(store_hit_get(st, im.id, stage, 1, &h, &found, &eb),
			 IF_OK);
	if (!found) {
		memset(&h, 0, sizeof(h));
		snprintf(h.token, sizeof(h.token), "%s-%d", im.id, stage);
		snprintf(h.image_id, sizeof(h.image_id), "%s", im.id);
		h.stage = stage;
		h.attempt = 1;
		h.cost_cents = 10 + rand_r(seed) % 50;
		assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
		return;
	}
	if (h.hit_id[0] == '\0')
		snprintf(h.hit_id, sizeof(h.hit_id), "HIT%.40s", h.token);
	else
		h.closed = rand_r(seed) % 3;
	if (rand_r(seed) % 5 == 0)
		h.cost_cents += 7;
	assert_int_equal(store_hit_update(st, &h, &eb), IF_OK);
}

/* One Prolific record: an approval or a bonus, new or repriced. */
static void
random_prolific(struct state *st, unsigned *seed)
{
	struct errbuf eb = {0};
	char id[32];

	snprintf(id, sizeof(id), "S%02d", rand_r(seed) % 8);
	if (rand_r(seed) % 2) {
		struct prolific_approval a = {0};

		snprintf(a.submission_id, sizeof(a.submission_id), "%s", id);
		assert_int_equal(store_prolific_approval_put(
					 st, &a, 100 + rand_r(seed) % 100, 5,
					 &eb),
				 IF_OK);
	} else {
		struct prolific_bonus b = {0};

		snprintf(b.submission_id, sizeof(b.submission_id), "%s", id);
		snprintf(b.study_id, sizeof(b.study_id), "ST1");
		b.amount_cents = 20;
		b.baseline = -1;
		assert_int_equal(store_prolific_bonus_put(
					 st, &b, 25 + rand_r(seed) % 10, 2, 5,
					 &eb),
				 IF_OK);
	}
}

static int
write_changes(struct state *st, void *arg, struct errbuf *eb)
{
	unsigned *seed = arg;

	(void)eb;
	for (int k = 0; k < 5; k++)
		random_change(st, seed);
	random_prolific(st, seed);
	return IF_OK;
}

/*
 * A random walk over the rows the counts count: after each step, and
 * after transactions that fail half way (their rows and counts roll back
 * together), the counts are those of the rows.
 */
static void
test_counts_follow_random_changes(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	unsigned seed = 15;
	struct image_rec im;

	assert_counts_true(f->st);
	for (int i = 0; i < NIMAGES; i++) {
		image_at(i, &im);
		assert_int_equal(store_image_insert(f->st, &im, &eb), IF_OK);
	}
	assert_counts_true(f->st);
	for (int step = 0; step < 400; step++) {
		random_change(f->st, &seed);
		if (step % 10 == 0)
			random_prolific(f->st, &seed);
		if (step % 25 == 0)
			assert_counts_true(f->st);
	}
	assert_counts_true(f->st);
	/* Transactions whose commit fails: nothing of them stays. */
	for (int k = 0; k < 10; k++) {
		int64_t before = sql_int(f->st, "SELECT hits_posted + "
						"cents_hits + done FROM "
						"progress_counts");

		state_fail_write_at(f->st, 1, "COMMIT");
		err_init(&eb);
		assert_int_not_equal(state_transaction(f->st, write_changes,
						       &seed, &eb),
				     IF_OK);
		state_fail_write_at(f->st, 0, NULL);
		assert_int_equal(sql_int(f->st, "SELECT hits_posted + "
						"cents_hits + done FROM "
						"progress_counts"),
				 before);
		assert_counts_true(f->st);
		err_init(&eb);
		assert_int_equal(state_transaction(f->st, write_changes, &seed,
						   &eb),
				 IF_OK);
		assert_counts_true(f->st);
	}
	/* The walk reached every kind of count (else it proves little). */
	assert_true(sql_int(f->st, "SELECT MIN(done, failed, paused, erring, "
				   "hits_posted, hits_open, cents_prolific) "
				   "FROM progress_counts") > 0);
	/* A deleted image leaves the counts too. */
	assert_int_equal(state_exec(f->st,
				    "DELETE FROM images WHERE id NOT IN "
				    "(SELECT image_id FROM hits) AND id NOT IN "
				    "(SELECT image_id FROM stage0)",
				    &eb),
			 IF_OK);
	assert_counts_true(f->st);
}

/* What schema 5 added, undone to make a state of schema 4. */
#define DROP_SCHEMA_5                                                    \
	"DROP TRIGGER progress_images_insert;"                             \
	"DROP TRIGGER progress_images_update;"                             \
	"DROP TRIGGER progress_images_delete;"                             \
	"DROP TRIGGER progress_hits_insert;"                               \
	"DROP TRIGGER progress_hits_update;"                               \
	"DROP TRIGGER progress_hits_delete;"                               \
	"DROP TRIGGER progress_prolific_approvals_insert;"                 \
	"DROP TRIGGER progress_prolific_approvals_update;"                 \
	"DROP TRIGGER progress_prolific_approvals_delete;"                 \
	"DROP TRIGGER progress_prolific_bonuses_insert;"                   \
	"DROP TRIGGER progress_prolific_bonuses_update;"                   \
	"DROP TRIGGER progress_prolific_bonuses_delete;"                   \
	"DROP TABLE progress_counts; DROP INDEX hits_by_hit_id;"

/*
 * A state of schema 4 with rows in every counted table becomes schema 5
 * with the counts of those rows, and they follow changes from there.
 */
static void
test_migrates_schema_4(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	unsigned seed = 4;
	struct image_rec im;

	for (int i = 0; i < NIMAGES; i++) {
		image_at(i, &im);
		assert_int_equal(store_image_insert(f->st, &im, &eb), IF_OK);
	}
	for (int step = 0; step < 200; step++)
		random_change(f->st, &seed);
	for (int k = 0; k < 6; k++)
		random_prolific(f->st, &seed);
	assert_int_equal(state_exec(f->st,
				    DROP_SCHEMA_5 "PRAGMA user_version = 4",
				    &eb),
			 IF_OK);
	/* Rows changed while no trigger kept the counts. */
	for (int step = 0; step < 50; step++)
		random_change(f->st, &seed);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open_readonly(f->sub, &f->st, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "schema version 4"));
	err_init(&eb);
	assert_int_equal(state_open(f->sub, "exp1", &f->st, &eb), IF_OK);
	assert_int_equal(sql_int(f->st, "PRAGMA user_version"), 5);
	assert_true(sql_int(f->st, "SELECT images FROM progress_counts") ==
		    NIMAGES);
	assert_counts_true(f->st);
	for (int step = 0; step < 100; step++)
		random_change(f->st, &seed);
	random_prolific(f->st, &seed);
	assert_counts_true(f->st);
}

/*
 * Reading the counts walks no table: the row of counts, and the first
 * entry of the images_pending index (SQLite's plan says "SCAN" for a
 * walk of a table; the index gives the rows in next_at order, so the
 * LIMIT 1 reads one).  The queries are the store's own, from its SQL.
 */
static void
test_counts_read_without_a_scan(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_rec im;
	char plan[1024];
	struct image_counts c;

	for (int i = 0; i < NIMAGES; i++) {
		image_at(i, &im);
		im.next_at = 500 - i;
		assert_int_equal(store_image_insert(f->st, &im, &eb), IF_OK);
	}
	assert_int_equal(state_exec(f->st, "ANALYZE", &eb), IF_OK);
	query_plan(state_db(f->st),
		   "SELECT MAX(next_at, 1) FROM images WHERE state NOT IN "
		   "('done', 'failed') ORDER BY next_at LIMIT 1",
		   plan, sizeof(plan));
	if (strstr(plan, "USING COVERING INDEX images_pending") == NULL &&
	    strstr(plan, "USING INDEX images_pending") == NULL)
		fail_msg("plan: %s", plan);
	if (strstr(plan, "TEMP B-TREE") != NULL)
		fail_msg("plan sorts: %s", plan);
	/* The rest is one row, whatever the study's size. */
	assert_int_equal(sql_int(f->st, "SELECT COUNT(*) FROM "
					"progress_counts"),
			 1);
	assert_int_equal(store_image_counts(f->st, &c, &eb), IF_OK);
	assert_int_equal(c.next_at, 500 - (NIMAGES - 1));
	assert_int_equal(c.images, NIMAGES);
}

static void
test_hit_by_hit_id(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_rec im;
	struct hit_rec h = {0}, got;
	bool found = true;
	char plan[1024];

	image_at(0, &im);
	assert_int_equal(store_image_insert(f->st, &im, &eb), IF_OK);
	snprintf(h.image_id, sizeof(h.image_id), "%s", im.id);
	h.attempt = 1;
	for (int stage = 1; stage <= 3; stage++) {
		h.stage = stage;
		snprintf(h.token, sizeof(h.token), "tok%d", stage);
		/* Stage 3's is an intent: no HITId yet. */
		snprintf(h.hit_id, sizeof(h.hit_id), "%s",
			 stage == 3 ? "" : stage == 1 ? "H1" : "H2");
		assert_int_equal(store_hit_insert(f->st, &h, &eb), IF_OK);
	}
	assert_int_equal(store_hit_by_hit_id(f->st, "H2", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(got.stage, 2);
	assert_string_equal(got.token, "tok2");
	assert_int_equal(store_hit_by_hit_id(f->st, "H9", &got, &found, &eb),
			 IF_OK);
	assert_false(found);
	assert_int_equal(store_hit_by_hit_id(f->st, "", &got, &found, &eb),
			 IF_OK);
	assert_false(found);
	query_plan(state_db(f->st),
		   "SELECT token FROM hits WHERE hit_id = 'H2'", plan,
		   sizeof(plan));
	if (strstr(plan, "hits_by_hit_id") == NULL)
		fail_msg("plan: %s", plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_counts_follow_random_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_schema_4, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_counts_read_without_a_scan, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hit_by_hit_id, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
