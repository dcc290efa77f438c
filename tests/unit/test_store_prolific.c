/*
 * daemon/store_prolific.c and schema 4: the Prolific rows of the state.
 *
 * - a state of schema 3 migrates to 4 in place, keeping its rows, and
 *   the new tables work;
 * - submissions from listings: inserted once, status and first AWAITING
 *   REVIEW time kept, due again on a change of status unless approved;
 * - the due batch is bounded and ordered; the operator's pages go by id;
 * - approval and bonus records round-trip every field once.c changes,
 *   and their costs count in the money committed (store_committed_cents
 *   too, which the HIT path reads);
 * - a participant's answers counted from the assignments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/state_fixture.h"

#include "daemon/recruit.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
setup(void **state)
{
	*state = state_fixture_new("sp", "state");
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	state_fixture_free(*state);
	return 0;
}

static int
user_version(struct state *st)
{
	sqlite3_stmt *stmt;
	int v;

	assert_int_equal(sqlite3_prepare_v2(state_db(st), "PRAGMA user_version",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

static void
add_assignment(struct state *st, const char *aid, const char *worker,
	       int valid, enum approval approval)
{
	struct assignment_rec a = {0};
	struct errbuf eb = {0};
	bool inserted;

	snprintf(a.assignment_id, sizeof(a.assignment_id), "%s", aid);
	snprintf(a.worker_id, sizeof(a.worker_id), "%s", worker);
	snprintf(a.image_id, sizeof(a.image_id), "img");
	a.stage = 1;
	a.valid = valid;
	a.boxes = "[]";
	assert_int_equal(store_assignment_insert(st, &a, &inserted, &eb),
			 IF_OK);
	assert_true(inserted);
	assert_int_equal(store_assignment_set_approval(st, aid, worker,
						       approval, &eb),
			 IF_OK);
}

static void
add_image(struct state *st)
{
	struct image_rec im = {0};
	struct errbuf eb = {0};

	snprintf(im.id, sizeof(im.id), "img");
	im.state = IMAGE_WAIT;
	im.stage = 1;
	im.attempt = 1;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
}

static struct prolific_submission
submission(const char *id, const char *pid, enum prolific_status status)
{
	struct prolific_submission s = {0};

	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.participant_id, sizeof(s.participant_id), "%s", pid);
	s.status = status;
	return s;
}

/*
 * A state of schema 3 (before Prolific) becomes schema 4 (and 5), rows
 * kept.
 */
static void
test_migrates_schema_3(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct participant_answers pa;
	struct prolific_submission s;
	struct prolific_sub_rec r;
	bool found;

	add_image(f->st);
	add_assignment(f->st, "A1", "P1", 1, APPROVAL_APPROVED);
	assert_int_equal(state_exec(f->st,
				    /* schema 5 first (test_state.c) */
				    "DROP TRIGGER progress_images_insert;"
				    "DROP TRIGGER progress_images_update;"
				    "DROP TRIGGER progress_images_delete;"
				    "DROP TRIGGER progress_hits_insert;"
				    "DROP TRIGGER progress_hits_update;"
				    "DROP TRIGGER progress_hits_delete;"
				    "DROP TABLE progress_counts;"
				    "DROP INDEX hits_by_hit_id;"
				    "DROP TABLE prolific_submissions;"
				    "DROP TABLE prolific_approvals;"
				    "DROP TABLE prolific_bonuses;"
				    "DROP TABLE stage0_boxes;"
				    "DROP TABLE stage0;"
				    "DROP TABLE prolific_decisions;"
				    "PRAGMA user_version = 3",
				    &eb),
			 IF_OK);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open_readonly(f->sub, &f->st, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "schema version 3"));
	err_init(&eb);
	assert_int_equal(state_open(f->sub, "exp1", &f->st, &eb), IF_OK);
	assert_int_equal(user_version(f->st), 5); /* the current one */
	assert_int_equal(store_participant_answers(f->st, "P1", &pa, &eb),
			 IF_OK);
	assert_int_equal(pa.total, 1);
	assert_int_equal(pa.approved, 1);
	s = submission("S1", "P1", PROLIFIC_STATUS_ACTIVE);
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 10, &eb), IF_OK);
	assert_int_equal(store_prolific_sub_get(f->st, "S1", &r, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(r.participant_id, "P1");
}

static void
test_submissions(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct prolific_submission s;
	struct prolific_sub_rec r, due[4];
	struct prolific_approval a = {0};
	size_t n;
	bool found;

	s = submission("S1", "P1", PROLIFIC_STATUS_ACTIVE);
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 10, &eb), IF_OK);
	assert_int_equal(store_prolific_sub_get(f->st, "S1", &r, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(r.status, "ACTIVE");
	assert_int_equal(r.seen_at, 10);
	assert_int_equal(r.awaiting_since, 0);
	assert_int_equal(r.settled, PROLIFIC_SUB_OPEN);
	assert_int_equal(store_prolific_sub_get(f->st, "S9", &r, &found, &eb),
			 IF_OK);
	assert_false(found);

	/* Completed: the first time it is seen awaiting review is kept. */
	s.status = PROLIFIC_STATUS_AWAITING_REVIEW;
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 20, &eb), IF_OK);
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 30, &eb), IF_OK);
	assert_int_equal(store_prolific_sub_get(f->st, "S1", &r, &found, &eb),
			 IF_OK);
	assert_string_equal(r.status, "AWAITING REVIEW");
	assert_int_equal(r.awaiting_since, 20);
	assert_int_equal(r.seen_at, 30);

	/* Waiting: not due before next_at; due after. */
	r.next_at = 100;
	snprintf(r.waiting, sizeof(r.waiting), "2 answers not approved");
	assert_int_equal(store_prolific_sub_update(f->st, &r, &eb), IF_OK);
	assert_int_equal(store_prolific_subs_due(f->st, 99, due, 4, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	assert_int_equal(store_prolific_subs_due(f->st, 100, due, 4, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 1);
	assert_string_equal(due[0].waiting, "2 answers not approved");

	/* The same status again leaves next_at; a new status makes it due. */
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 40, &eb), IF_OK);
	assert_int_equal(store_prolific_subs_due(f->st, 99, due, 4, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	s.status = PROLIFIC_STATUS_RETURNED;
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 50, &eb), IF_OK);
	assert_int_equal(store_prolific_subs_due(f->st, 50, due, 4, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 1);

	/* Settled and approved: a later status change does not reopen it. */
	assert_int_equal(store_prolific_sub_get(f->st, "S1", &r, &found, &eb),
			 IF_OK);
	r.settled = PROLIFIC_SUB_DONE;
	assert_int_equal(store_prolific_sub_update(f->st, &r, &eb), IF_OK);
	snprintf(a.submission_id, sizeof(a.submission_id), "S1");
	a.state = PROLIFIC_APPROVAL_DONE;
	assert_int_equal(store_prolific_approval_put(f->st, &a, 300, 60, &eb),
			 IF_OK);
	s.status = PROLIFIC_STATUS_APPROVED;
	assert_int_equal(store_prolific_sub_seen(f->st, &s, 70, &eb), IF_OK);
	assert_int_equal(store_prolific_subs_due(f->st, 1000, due, 4, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
}

/* The due batch is bounded; the operator's pages cover every row once. */
static void
test_batches_and_pages(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct prolific_sub_rec out[3];
	char after[PROLIFIC_ID_MAX] = "";
	size_t n, total = 0, pages = 0;

	for (int i = 0; i < 7; i++) {
		char id[16], pid[16];
		struct prolific_submission s;

		snprintf(id, sizeof(id), "S%d", i);
		snprintf(pid, sizeof(pid), "P%d", i);
		s = submission(id, pid, PROLIFIC_STATUS_AWAITING_REVIEW);
		assert_int_equal(store_prolific_sub_seen(f->st, &s, 5, &eb),
				 IF_OK);
	}
	assert_int_equal(store_prolific_subs_due(f->st, 5, out, 3, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	do {
		assert_int_equal(store_prolific_subs_page(f->st, after, out, 3,
							  &n, &eb),
				 IF_OK);
		for (size_t i = 0; i < n; i++)
			assert_true(strcmp(out[i].submission_id, after) > 0);
		if (n > 0)
			snprintf(after, sizeof(after), "%s",
				 out[n - 1].submission_id);
		total += n;
		pages++;
	} while (n == 3);
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);
}

static void
test_records_and_money(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct prolific_approval a = {0}, ag;
	struct prolific_bonus b = {0}, bg;
	int64_t cost = 0, committed = -1;
	int tasks = 0;
	bool found;

	assert_int_equal(store_prolific_committed_cents(f->st, &committed,
							&eb),
			 IF_OK);
	assert_int_equal(committed, 0);
	snprintf(a.submission_id, sizeof(a.submission_id), "S1");
	a.state = PROLIFIC_APPROVAL_NEW;
	assert_int_equal(store_prolific_approval_put(f->st, &a, 286, 10, &eb),
			 IF_OK);
	a.state = PROLIFIC_APPROVAL_SENDING;
	/* The cost is the intent's: an update keeps it. */
	assert_int_equal(store_prolific_approval_put(f->st, &a, 999, 11, &eb),
			 IF_OK);
	assert_int_equal(store_prolific_approval_get(f->st, "S1", &ag, &cost,
						     &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(ag.state, PROLIFIC_APPROVAL_SENDING);
	assert_int_equal(cost, 286);
	assert_int_equal(store_prolific_approval_get(f->st, "S2", &ag, &cost,
						     &found, &eb),
			 IF_OK);
	assert_false(found);

	snprintf(b.study_id, sizeof(b.study_id), "study1");
	snprintf(b.submission_id, sizeof(b.submission_id), "S1");
	b.amount_cents = 25;
	b.baseline = -1;
	assert_int_equal(store_prolific_bonus_put(f->st, &b, 36, 5, 12, &eb),
			 IF_OK);
	b.state = PROLIFIC_BONUS_PAYING;
	snprintf(b.bulk_id, sizeof(b.bulk_id), "bulk7");
	b.baseline = 2;
	b.pay_sent_at = 13;
	b.pay_calls = 1;
	b.overpaid = true;
	assert_int_equal(store_prolific_bonus_put(f->st, &b, 0, 0, 13, &eb),
			 IF_OK);
	assert_int_equal(store_prolific_bonus_get(f->st, "S1", &bg, &cost,
						  &tasks, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(bg.study_id, "study1");
	assert_int_equal(bg.amount_cents, 25);
	assert_int_equal(bg.state, PROLIFIC_BONUS_PAYING);
	assert_string_equal(bg.bulk_id, "bulk7");
	assert_int_equal(bg.baseline, 2);
	assert_int_equal(bg.pay_sent_at, 13);
	assert_int_equal(bg.pay_calls, 1);
	assert_true(bg.overpaid);
	assert_int_equal(cost, 36);
	assert_int_equal(tasks, 5);

	assert_int_equal(store_prolific_committed_cents(f->st, &committed,
							&eb),
			 IF_OK);
	assert_int_equal(committed, 286 + 36);
	/* The HIT path's figure includes Prolific's money. */
	assert_int_equal(store_committed_cents(f->st, &committed, &eb), IF_OK);
	assert_int_equal(committed, 286 + 36);
	assert_string_equal(prolific_bonus_state_str(PROLIFIC_BONUS_REFUSED),
			    "refused");
	assert_string_equal(
		prolific_approval_state_str(PROLIFIC_APPROVAL_DONE), "done");
}

static void
test_participant_answers(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct participant_answers pa;

	add_image(f->st);
	add_assignment(f->st, "A1", "P1", 1, APPROVAL_APPROVED);
	add_assignment(f->st, "A2", "P1", 0, APPROVAL_PENDING);
	add_assignment(f->st, "A3", "P1", 1, APPROVAL_PENDING);
	add_assignment(f->st, "A4", "P2", 1, APPROVAL_APPROVED);
	assert_int_equal(store_participant_answers(f->st, "P1", &pa, &eb),
			 IF_OK);
	assert_int_equal(pa.total, 3);
	assert_int_equal(pa.approved, 1);
	assert_int_equal(pa.invalid, 1);
	assert_int_equal(store_participant_answers(f->st, "P3", &pa, &eb),
			 IF_OK);
	assert_int_equal(pa.total, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_migrates_schema_3, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_submissions, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_batches_and_pages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_records_and_money, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_participant_answers,
						setup, teardown),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
