/*
 * The state's work of a daemon pass does not grow with the study (issue
 * 15), counted in SQLite VM steps (never time): the queries of a pass
 * (daemon/store_poll.c: the images due, the poll round's HIT types and
 * wake-ups; the counts of progress) and Prolific's per-submission
 * queries (store_hits_open_at, store_prolific_committed_cents) cost the
 * same with 100 images as with 2,000, when as many are due or changed;
 * each one's plan (EXPLAIN QUERY PLAN of the very SQL the store ran) goes
 * through its index; a state made before the indexes gets them.
 *
 * Every statement the store finalizes goes through __wrap_sqlite3_finalize
 * (mk/test_pass_work.mk), which adds its VM steps to a counter and keeps
 * its SQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/query_plan.h"
#include "tests/support/state_fixture.h"

#include "daemon/daemon.h"
#include "daemon/recruit.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int __real_sqlite3_finalize(sqlite3_stmt *stmt);
int __wrap_sqlite3_finalize(sqlite3_stmt *stmt);

static uint64_t steps;	      /* VM steps of the statements finalized */
static char last_sql[2048]; /* the SQL of the last one */

int
__wrap_sqlite3_finalize(sqlite3_stmt *stmt)
{
	if (stmt != NULL) {
		const char *sql = sqlite3_sql(stmt);

		steps += (uint64_t)sqlite3_stmt_status(
			stmt, SQLITE_STMTSTATUS_VM_STEP, 0);
		snprintf(last_sql, sizeof(last_sql), "%s",
			 sql != NULL ? sql : "");
	}
	return __real_sqlite3_finalize(stmt);
}

static uint64_t
steps_take(void)
{
	uint64_t s = steps;

	steps = 0;
	return s;
}

/*
 * A study of n images: the first half done (their HITs closed), the
 * other half waiting on an open HIT each (types A and B in turn),
 * asleep until 100000 but for DUE of them due at 10; 4 of the open HITs
 * were created at 1, the others at 1000 and later.  In one transaction.
 */
#define DUE 3
static void
study(struct state *st, int n)
{
	struct errbuf eb = {0};

	assert_int_equal(state_begin(st, &eb), IF_OK);
	for (int i = 0; i < n; i++) {
		struct image_rec im;
		struct hit_rec h;
		bool waiting = i >= n / 2;

		memset(&im, 0, sizeof(im));
		snprintf(im.id, sizeof(im.id), "im%05d", i);
		snprintf(im.file, sizeof(im.file), "images/im%05d.jpg", i);
		im.state = waiting ? IMAGE_WAIT : IMAGE_DONE;
		im.stage = 1;
		im.attempt = 1;
		im.seq = i;
		im.next_at = !waiting ? 0 : i < n / 2 + DUE ? 10 : 100000;
		assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
		memset(&h, 0, sizeof(h));
		snprintf(h.token, sizeof(h.token), "tok%05d", i);
		snprintf(h.image_id, sizeof(h.image_id), "%s", im.id);
		snprintf(h.hit_id, sizeof(h.hit_id), "H%05d", i);
		snprintf(h.hit_type_id, sizeof(h.hit_type_id), "TYPE-%c",
			 i % 2 == 0 ? 'A' : 'B');
		h.stage = 1;
		h.attempt = 1;
		h.max_assignments = 3;
		h.cost_cents = 36;
		h.closed = waiting ? HIT_OPEN : HIT_REVIEWED;
		h.created_at = waiting && i >= n - 4 ? 1 : 1000 + i;
		h.expires_at = 200000;
		assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
	}
	/* Prolific's approvals, one per two images, each of 50 cents. */
	assert_int_equal(state_exec(st,
				    "WITH RECURSIVE k(i) AS (SELECT 0 UNION "
				    "ALL SELECT i + 1 FROM k LIMIT 1000000) "
				    "INSERT INTO prolific_approvals "
				    "SELECT 'S' || i, 'done', 50, 0, 0 FROM k "
				    "WHERE i < (SELECT COUNT(*) / 2 FROM "
				    "images)",
				    &eb),
			 IF_OK);
	/* No ANALYZE: run never runs it, the plans are those without. */
	assert_int_equal(state_commit(st, &eb), IF_OK);
}

/* The work of a pass's queries on a study of n images, one per query. */
enum query {
	Q_DUE,
	Q_WAIT_DUE,
	Q_TYPES,
	Q_WAKE,
	Q_WAKE_TYPE,
	Q_OPEN_AT,
	Q_COMMITTED,
	Q_COUNTS,
	NQUERIES
};
static const char *const query_names[NQUERIES] = {
	"store_images_due",	  "store_wait_due",
	"store_hit_types_after",  "store_images_wake_hits",
	"store_images_wake_type", "store_hits_open_at",
	"store_prolific_committed_cents", "progress (counts)",
};

static void
work_at(int n, uint64_t work[NQUERIES])
{
	struct state_fixture *f = state_fixture_new("passwork", "state");
	struct errbuf eb = {0};
	struct image_rec *list = NULL;
	struct image_counts c;
	char type[ID_MAX], after[ID_MAX] = "", ids[3][ID_MAX];
	size_t len = 0, woken = 0;
	int64_t open = 0, cents = 0, total = 0;
	bool found = false;
	int ntypes = 0;

	assert_non_null(f);
	study(f->st, n);
	steps_take();
	/* The DUE images due, of n / 2 waiting. */
	assert_int_equal(store_images_due(f->st, 50, 1000, &list, &len, &eb),
			 IF_OK);
	work[Q_DUE] = steps_take();
	assert_int_equal(len, DUE);
	for (size_t i = 0; i < len; i++)
		assert_int_equal(list[i].seq, n / 2 + (int)i);
	free(list);
	assert_int_equal(store_wait_due(f->st, 50, &found, &eb), IF_OK);
	work[Q_WAIT_DUE] = steps_take();
	assert_true(found);
	/* The two types of n / 2 open HITs. */
	for (;;) {
		assert_int_equal(store_hit_types_after(f->st, after, type,
						       sizeof(type), &found,
						       &eb),
				 IF_OK);
		if (!found)
			break;
		ntypes++;
		snprintf(after, sizeof(after), "%s", type);
	}
	work[Q_TYPES] = steps_take();
	assert_int_equal(ntypes, 2);
	/* A listing of three HITs: two asleep, one closed long ago. */
	snprintf(ids[0], ID_MAX, "H%05d", n - 1);
	snprintf(ids[1], ID_MAX, "H%05d", 0);
	snprintf(ids[2], ID_MAX, "H%05d", n - 2);
	assert_int_equal(store_images_wake_hits(
				 f->st, (const char(*)[ID_MAX])ids, 3, 50,
				 &woken, &eb),
			 IF_OK);
	work[Q_WAKE] = steps_take();
	assert_int_equal(woken, 2);
	/* A type nobody listed: its images, here none of a made-up one. */
	assert_int_equal(store_images_wake_type(f->st, "TYPE-C", 50, &woken,
						&eb),
			 IF_OK);
	work[Q_WAKE_TYPE] = steps_take();
	assert_int_equal(woken, 0);
	assert_int_equal(store_hits_open_at(f->st, 5, &open, &eb), IF_OK);
	work[Q_OPEN_AT] = steps_take();
	assert_int_equal(open, 4);
	assert_int_equal(store_prolific_committed_cents(f->st, &cents, &eb),
			 IF_OK);
	work[Q_COMMITTED] = steps_take();
	assert_int_equal(cents, 50 * (n / 2));
	assert_int_equal(store_image_counts(f->st, &c, &eb), IF_OK);
	assert_int_equal(store_hit_counts(f->st, &open, &total, &eb), IF_OK);
	work[Q_COUNTS] = steps_take();
	assert_int_equal(c.images, (size_t)n);
	assert_int_equal(open, n - n / 2);
	/* Two woken above: due at 50 now, with the DUE of before. */
	assert_int_equal(store_images_due(f->st, 50, 1000, &list, &len, &eb),
			 IF_OK);
	assert_int_equal(len, DUE + 2);
	free(list);
	state_fixture_free(f);
}

/*
 * With 20 times the images, and as many due and listed, each query's
 * work stays the same (a quarter more at most, for the B-trees' depth).
 */
static void
test_work_does_not_grow(void **state)
{
	uint64_t small[NQUERIES], big[NQUERIES];

	(void)state;
	work_at(100, small);
	work_at(2000, big);
	for (int q = 0; q < NQUERIES; q++) {
		print_message("# %s: %llu VM steps at 100 images, %llu at "
			      "2,000\n",
			      query_names[q], (unsigned long long)small[q],
			      (unsigned long long)big[q]);
		if (small[q] == 0 || big[q] > small[q] + small[q] / 4)
			fail_msg("%s: %llu steps with 100 images, %llu with "
				 "2,000",
				 query_names[q], (unsigned long long)small[q],
				 (unsigned long long)big[q]);
	}
}

/*
 * Fails unless the plan of the last statement the store ran names index
 * and scans no table.
 */
static void
assert_plan(struct state *st, const char *what, const char *index)
{
	char sql[sizeof(last_sql)];

	/* Copied: explaining it runs a statement of its own. */
	memcpy(sql, last_sql, sizeof(sql));
	assert_plan_searches(state_db(st), what, sql, index, NULL);
}

static void
test_plans_use_the_indexes(void **state)
{
	struct state_fixture *f = state_fixture_new("passplan", "state");
	struct errbuf eb = {0};
	struct image_rec *list = NULL;
	char type[ID_MAX], ids[1][ID_MAX] = {"H00199"};
	size_t n = 0;
	int64_t open = 0, cents = 0;
	bool found = false;

	(void)state;
	assert_non_null(f);
	study(f->st, 200);
	assert_int_equal(store_images_due(f->st, 50, 1000, &list, &n, &eb),
			 IF_OK);
	free(list);
	assert_plan(f->st, "store_images_due", "images_pending");
	assert_int_equal(store_wait_due(f->st, 50, &found, &eb), IF_OK);
	assert_plan(f->st, "store_wait_due", "images_pending");
	assert_int_equal(store_hit_types_after(f->st, "", type, sizeof(type),
					       &found, &eb),
			 IF_OK);
	assert_plan(f->st, "store_hit_types_after", "hits_open_types");
	assert_int_equal(store_images_wake_hits(
				 f->st, (const char(*)[ID_MAX])ids, 1, 50, &n,
				 &eb),
			 IF_OK);
	assert_plan(f->st, "store_images_wake_hits", "hits_by_hit_id");
	assert_int_equal(store_images_wake_type(f->st, "TYPE-A", 50, &n,
						&eb),
			 IF_OK);
	assert_plan(f->st, "store_images_wake_type", "hits_open_types");
	assert_int_equal(store_hits_open_at(f->st, 5, &open, &eb), IF_OK);
	assert_plan(f->st, "store_hits_open_at", "hits_open_created");
	assert_int_equal(store_prolific_committed_cents(f->st, &cents, &eb),
			 IF_OK);
	if (strstr(last_sql, "prolific_approvals") != NULL ||
	    strstr(last_sql, "progress_counts") == NULL)
		fail_msg("committed cents: %s", last_sql);
	state_fixture_free(f);
}

/*
 * A state written before these indexes (schema 5 without them) gets them
 * when run opens it, and its queries then use them.
 */
static void
test_indexes_added_to_an_older_state(void **state)
{
	struct state_fixture *f = state_fixture_new("passold", "state");
	struct errbuf eb = {0};
	char type[ID_MAX];
	bool found = false;

	(void)state;
	assert_non_null(f);
	study(f->st, 50);
	assert_int_equal(state_exec(f->st,
				    "DROP INDEX hits_open_types;"
				    "DROP INDEX hits_open_created;",
				    &eb),
			 IF_OK);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->sub, "exp1", &f->st, &eb), IF_OK);
	assert_int_equal(store_hit_types_after(f->st, "", type, sizeof(type),
					       &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(type, "TYPE-A");
	assert_plan(f->st, "store_hit_types_after", "hits_open_types");
	state_fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_work_does_not_grow),
		cmocka_unit_test(test_plans_use_the_indexes),
		cmocka_unit_test(test_indexes_added_to_an_older_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
