/*
 * daemon/state.c and store.c: schema creation and refusal of unknown
 * versions, file modes, the experiment guard, and the typed rows that the
 * recovery rules rely on (intent rows, idempotent assignment inserts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"
#include "tests/support/tmpdir.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char *sub;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/intofocus-state.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->sub = path_join(f->dir, "exp/state");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(tmpdir_remove(f->dir), 0);
	free(f->sub);
	free(f);
	return 0;
}

static void
test_open_creates_private_files(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct stat sb;
	char *db;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(stat(f->sub, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	db = path_join(f->sub, "state.db");
	assert_int_equal(stat(db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	free(db);
	state_close(st);
	/* Reopening the same experiment works and keeps the data. */
	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	state_close(st);
}

static void
test_refuses_other_experiment(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	state_close(st);
	assert_int_equal(state_open(f->sub, "exp2", &st, &eb), IF_EINPUT);
	assert_null(st);
	assert_non_null(strstr(eb.msg, "\"exp1\""));
	assert_non_null(strstr(eb.msg, "--state-dir"));
}

static void
test_refuses_newer_schema(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(state_exec(st, "PRAGMA user_version = 99", &eb),
			 IF_OK);
	state_close(st);
	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "schema version 99"));
	err_init(&eb);
	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_ERUNTIME);
}

/* What schema 5 added (counts of progress, HITs by HITId), undone. */
#define DROP_SCHEMA_5                                                    \
	"DROP TRIGGER progress_images_insert;"                             \
	"DROP TRIGGER progress_images_update;"                             \
	"DROP TRIGGER progress_images_delete;"                             \
	"DROP TRIGGER progress_hits_insert;"                               \
	"DROP TRIGGER progress_hits_update;"                               \
	"DROP TRIGGER progress_hits_delete; DROP TABLE progress_counts;"   \
	"DROP INDEX hits_by_hit_id;"

/* What schemas 4 (Prolific) and 5 added, undone to make an older state. */
#define DROP_SCHEMA_4                                                   \
	DROP_SCHEMA_5                                                   \
	"DROP TABLE prolific_submissions; DROP TABLE prolific_approvals;" \
	"DROP TABLE prolific_bonuses; DROP TABLE prolific_decisions;"     \
	"DROP TABLE stage0_boxes; DROP TABLE stage0;"

/*
 * A state file of schema 1 (before images kept their remote errors) is
 * migrated in place when the daemon opens it: its rows stay, the new
 * columns start empty, and status refuses it until then with a message
 * saying so.
 */
static void
test_migrates_schema_1(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	bool found = false;
	struct state *st = NULL;
	struct image_rec im, got;
	sqlite3_stmt *stmt;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	memset(&im, 0, sizeof(im));
	snprintf(im.id, sizeof(im.id), "bikes");
	snprintf(im.file, sizeof(im.file), "bikes.jpg");
	snprintf(im.fingerprint, sizeof(im.fingerprint), "ab");
	im.state = IMAGE_WAIT;
	im.stage = 2;
	im.attempt = 1;
	im.started_at = 100;
	im.updated_at = 200;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	/* Back to what schema 1 looked like. */
	assert_int_equal(
		state_exec(st,
			   /* first: schema 5's triggers read error */
			   DROP_SCHEMA_4
			   "ALTER TABLE images DROP COLUMN error;"
			   "ALTER TABLE images DROP COLUMN error_since;"
			   "ALTER TABLE images DROP COLUMN retries;"
			   "ALTER TABLE hits DROP COLUMN "
			   "extension_refused;"
			   "PRAGMA user_version = 1",
			   &eb),
		IF_OK);
	state_close(st);
	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "schema version 1"));
	assert_non_null(strstr(eb.msg, "intofocus run"));
	err_init(&eb);
	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(sqlite3_prepare_v2(state_db(st), "PRAGMA user_version",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 5); /* the current one */
	sqlite3_finalize(stmt);
	assert_int_equal(store_image_get(st, "bikes", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(got.state, IMAGE_WAIT);
	assert_int_equal(got.stage, 2);
	assert_string_equal(got.error, "");
	assert_int_equal(got.retries, 0);
	snprintf(got.error, sizeof(got.error),
		 "CreateHIT: ThrottlingException");
	got.error_since = 300;
	got.retries = 3;
	assert_int_equal(store_image_update(st, &got, &eb), IF_OK);
	state_close(st);
	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_OK);
	assert_int_equal(store_image_get(st, "bikes", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(got.error, "CreateHIT: ThrottlingException");
	assert_int_equal(got.error_since, 300);
	assert_int_equal(got.retries, 3);
	state_close(st);
}

/*
 * Schema 2 kept a refused UpdateExpirationForHIT as the prefix
 * "UpdateExpirationForHIT refused: " of the image's error; schema 3 moves
 * it to the HIT of the image's current attempt, and to no other HIT.
 */
static void
test_migrates_schema_2(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec im = {0}, got;
	struct hit_rec h = {0}, hg;
	bool found = false;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "street");
	im.state = IMAGE_WAIT;
	im.stage = 2;
	im.attempt = 1;
	snprintf(im.error, sizeof(im.error),
		 "UpdateExpirationForHIT refused: UpdateExpirationForHIT: "
		 "AWS.MechanicalTurk.HITTooOldForExtension: too old");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "group");
	snprintf(im.error, sizeof(im.error), "ListHITs: refused");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	snprintf(h.image_id, sizeof(h.image_id), "street");
	h.stage = 2;
	h.attempt = 1;
	snprintf(h.token, sizeof(h.token), "t1");
	assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
	h.stage = 1; /* an earlier stage's HIT: not this refusal's */
	snprintf(h.token, sizeof(h.token), "t0");
	assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
	snprintf(h.image_id, sizeof(h.image_id), "group");
	h.stage = 2;
	snprintf(h.token, sizeof(h.token), "t2");
	assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
	/* Back to what schema 2 looked like. */
	assert_int_equal(state_exec(st,
				    "ALTER TABLE hits DROP COLUMN "
				    "extension_refused;" DROP_SCHEMA_4
				    "PRAGMA user_version = 2",
				    &eb),
			 IF_OK);
	state_close(st);
	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(store_hit_get(st, "street", 2, 1, &hg, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(hg.extension_refused,
			    "UpdateExpirationForHIT: AWS.MechanicalTurk."
			    "HITTooOldForExtension: too old");
	assert_int_equal(store_hit_get(st, "street", 1, 1, &hg, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(hg.extension_refused, "");
	assert_int_equal(store_hit_get(st, "group", 2, 1, &hg, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(hg.extension_refused, "");
	/* The image keeps its error: status shows it until the HIT ends. */
	assert_int_equal(store_image_get(st, "street", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_non_null(strstr(got.error, "UpdateExpirationForHIT refused"));
	state_close(st);
}

static void
put_image(struct state *st, const char *id)
{
	struct errbuf eb = {0};
	struct image_rec im = {0};

	snprintf(im.id, sizeof(im.id), "%s", id);
	snprintf(im.file, sizeof(im.file), "%s.jpg", id);
	im.state = IMAGE_RENDER;
	im.stage = 1;
	im.attempt = 1;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
}

/*
 * Schema 3 had no stage 0: the migration adds its tables, keeps the rows,
 * and the starting boxes can then be recorded and read back.
 */
static void
test_migrates_schema_3(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec got;
	struct stage0_box b = {{1, 2, 3, 4}, "image"}, *out = NULL;
	size_t n = 9;
	bool found = false, inserted = false, recorded = true;
	sqlite3_stmt *stmt;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	put_image(st, "street");
	assert_int_equal(state_exec(st,
				    DROP_SCHEMA_4
				    "PRAGMA user_version = 3",
				    &eb),
			 IF_OK);
	state_close(st);
	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "schema version 3"));
	err_init(&eb);
	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(sqlite3_prepare_v2(state_db(st), "PRAGMA user_version",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 5); /* the current one */
	sqlite3_finalize(stmt);
	assert_int_equal(store_image_get(st, "street", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(store_stage0_get(st, "street", &out, &n, &recorded,
					  &eb),
			 IF_OK);
	assert_false(recorded);
	assert_null(out);
	assert_int_equal(n, 0);
	assert_int_equal(store_stage0_put(st, "street", &b, 1, 50, &inserted,
					  &eb),
			 IF_OK);
	assert_true(inserted);
	state_close(st);
	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_OK);
	assert_int_equal(store_stage0_get(st, "street", &out, &n, &recorded,
					  &eb),
			 IF_OK);
	assert_true(recorded);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].box.w, 3);
	assert_string_equal(out[0].origin, "image");
	free(out);
	state_close(st);
}

/*
 * Stage 0 is recorded once per image: a second record (a step run again
 * after a crash) changes nothing and says so; an image recorded with no
 * boxes is recorded all the same; boxes keep their order and origins.
 */
static void
test_stage0_recorded_once(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct stage0_box first[3] = {
		{{10, 20, 30, 40}, "experiment exp1 stage 1"},
		{{0, 0, 5, 5}, "file"},
		{{7, 8, 9, 10}, "detector"},
	};
	struct stage0_box again = {{1, 1, 1, 1}, "image"}, *out = NULL;
	size_t n = 0;
	bool inserted = false, recorded = false;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	put_image(st, "street");
	put_image(st, "cat");
	assert_int_equal(store_stage0_put(st, "street", first, 3, 5, &inserted,
					  &eb),
			 IF_OK);
	assert_true(inserted);
	assert_int_equal(store_stage0_put(st, "street", &again, 1, 6,
					  &inserted, &eb),
			 IF_OK);
	assert_false(inserted);
	assert_int_equal(store_stage0_put(st, "cat", NULL, 0, 6, &inserted,
					  &eb),
			 IF_OK);
	assert_true(inserted);
	assert_int_equal(store_stage0_get(st, "street", &out, &n, &recorded,
					  &eb),
			 IF_OK);
	assert_true(recorded);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_memory_equal(&out[i].box, &first[i].box,
				    sizeof(struct box));
		assert_string_equal(out[i].origin, first[i].origin);
	}
	free(out);
	assert_int_equal(store_stage0_get(st, "cat", &out, &n, &recorded,
					  &eb),
			 IF_OK);
	assert_true(recorded);
	assert_int_equal(n, 0);
	free(out);
	assert_int_equal(store_stage0_get(st, "nope", &out, &n, &recorded,
					  &eb),
			 IF_OK);
	assert_false(recorded);
	/* The store-failure hook reaches these writes too. */
	put_image(st, "shop");
	state_fail_write_at(st, 1, "stage0");
	assert_int_equal(store_stage0_put(st, "shop", first, 1, 7, &inserted,
					  &eb),
			 IF_ERUNTIME);
	assert_false(inserted);
	state_close(st);
}

static void
test_wal_and_full_sync(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	sqlite3_stmt *stmt;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(sqlite3_prepare_v2(state_db(st), "PRAGMA journal_mode",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "wal");
	sqlite3_finalize(stmt);
	assert_int_equal(sqlite3_prepare_v2(state_db(st), "PRAGMA synchronous",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(stmt, 0), 2); /* FULL */
	sqlite3_finalize(stmt);
	state_close(st);
}

static void
test_images_and_hits(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	bool found = false;
	struct state *st = NULL;
	struct image_rec im = {0}, got;
	struct hit_rec h = {0}, hg;
	struct image_rec *list;
	size_t n;
	int64_t cents, open, total;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "bikes");
	snprintf(im.file, sizeof(im.file), "images/bikes.jpg");
	im.state = IMAGE_RENDER;
	im.stage = 1;
	im.attempt = 1;
	im.seq = 2;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "cats");
	im.seq = 1;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	/* A second insert of the same id is an error, not a silent dup. */
	assert_int_equal(store_image_insert(st, &im, &eb), IF_ERUNTIME);
	err_init(&eb);
	assert_int_equal(store_images_list(st, &list, &n, &eb), IF_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].id, "cats"); /* experiment order */
	free(list);
	assert_int_equal(store_image_get(st, "nope", &got, &found, &eb), IF_OK);
	assert_false(found);
	assert_int_equal(store_image_get(st, "bikes", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	got.state = IMAGE_WAIT;
	snprintf(got.reason, sizeof(got.reason), "why");
	assert_int_equal(store_image_update(st, &got, &eb), IF_OK);
	assert_int_equal(store_image_get(st, "bikes", &got, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(got.state, IMAGE_WAIT);
	assert_string_equal(got.reason, "why");

	/* A HIT intent has a token and a cost but no HIT id yet. */
	snprintf(h.token, sizeof(h.token), "tok1");
	snprintf(h.image_id, sizeof(h.image_id), "bikes");
	h.stage = 1;
	h.attempt = 1;
	h.max_assignments = 3;
	h.cost_cents = 54;
	assert_int_equal(store_hit_insert(st, &h, &eb), IF_OK);
	assert_int_equal(store_hit_counts(st, &open, &total, &eb), IF_OK);
	assert_int_equal(total, 0);
	assert_int_equal(store_committed_cents(st, &cents, &eb), IF_OK);
	assert_int_equal(cents, 54);
	assert_int_equal(store_hit_get(st, "bikes", 1, 1, &hg, &found, &eb),
			 IF_OK);
	assert_true(found);
	snprintf(hg.hit_id, sizeof(hg.hit_id), "3ABC");
	assert_int_equal(store_hit_update(st, &hg, &eb), IF_OK);
	assert_int_equal(store_hit_counts(st, &open, &total, &eb), IF_OK);
	assert_int_equal(open, 1);
	assert_int_equal(total, 1);
	assert_int_equal(store_hit_get(st, "bikes", 2, 1, &hg, &found, &eb),
			 IF_OK);
	assert_false(found);
	state_close(st);
}

static void
test_assignments_idempotent(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	bool found = false;
	struct state *st = NULL;
	struct image_rec im = {0};
	struct assignment_rec a = {0}, *list;
	size_t n;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "bikes");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	snprintf(a.assignment_id, sizeof(a.assignment_id), "A1");
	snprintf(a.worker_id, sizeof(a.worker_id), "AW1");
	snprintf(a.image_id, sizeof(a.image_id), "bikes");
	a.stage = 1;
	a.submit_time = 20;
	a.valid = 1;
	a.boxes = "[[1,2,3,4]]";
	assert_int_equal(store_assignment_insert(st, &a, &found, &eb), IF_OK);
	assert_true(found);
	assert_int_equal(store_assignment_insert(st, &a, &found, &eb), IF_OK);
	assert_false(found);
	/* The same assignment id with another worker is another record. */
	snprintf(a.worker_id, sizeof(a.worker_id), "AW2");
	a.submit_time = 10;
	assert_int_equal(store_assignment_insert(st, &a, &found, &eb), IF_OK);
	assert_true(found);
	assert_int_equal(store_assignment_set_approval(st, "A1", "AW1",
						       APPROVAL_APPROVED, &eb),
			 IF_OK);
	assert_int_equal(store_assignments_for(st, "bikes", 1, &list, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].worker_id, "AW2"); /* submitted first */
	assert_int_equal(list[0].approval, APPROVAL_PENDING);
	assert_int_equal(list[1].approval, APPROVAL_APPROVED);
	assert_string_equal(list[1].boxes, "[[1,2,3,4]]");
	assignment_recs_free(list, n);
	state_close(st);
}

static void
test_results_quals_grants(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	bool found = false;
	struct state *st = NULL;
	struct image_rec im = {0};
	char *boxes, qual[ID_MAX];

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "bikes");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	assert_int_equal(
		store_stage_result_get(st, "bikes", 1, &boxes, &found, &eb),
		IF_OK);
	assert_false(found);
	assert_int_equal(store_stage_result_put(st, "bikes", 1, 41,
						"[[0,0,2,2]]", 3, 100, &eb),
			 IF_OK);
	assert_int_equal(
		store_stage_result_get(st, "bikes", 1, &boxes, &found, &eb),
		IF_OK);
	assert_true(found);
	assert_string_equal(boxes, "[[0,0,2,2]]");
	free(boxes);
	assert_int_equal(store_qual_get(st, 2, qual, sizeof(qual), &found, &eb),
			 IF_OK);
	assert_false(found);
	assert_int_equal(store_qual_put(st, 2, "3QUAL", &eb), IF_OK);
	assert_int_equal(store_qual_get(st, 2, qual, sizeof(qual), &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(qual, "3QUAL");
	assert_int_equal(store_grant_get(st, "AW1", 2, &found, &eb), IF_OK);
	assert_false(found);
	assert_int_equal(store_grant_put(st, "AW1", 2, 5, &eb), IF_OK);
	assert_int_equal(store_grant_put(st, "AW1", 2, 6, &eb), IF_OK);
	assert_int_equal(store_grant_get(st, "AW1", 2, &found, &eb), IF_OK);
	assert_true(found);
	assert_int_equal(store_grant_get(st, "AW1", 3, &found, &eb), IF_OK);
	assert_false(found);
	state_close(st);
}

static void
test_transaction_rollback(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	bool found = false;
	struct state *st = NULL;
	struct image_rec im = {0}, got;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	assert_int_equal(state_begin(st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "gone");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	state_rollback(st);
	assert_int_equal(store_image_get(st, "gone", &got, &found, &eb), IF_OK);
	assert_false(found);
	state_rollback(st); /* outside a transaction: harmless */
	assert_string_equal(image_state_str(IMAGE_PAUSED), "paused");
	assert_int_equal(image_state_parse("wait"), IMAGE_WAIT);
	assert_int_equal(image_state_parse("bogus"), -1);
	state_close(st);
}

/*
 * A failing store is an error, never "absent" or "recorded already": the
 * two meanings once shared the value 1 with IF_ERUNTIME, and an answer
 * whose insert failed was taken as recorded.
 */
static void
test_errors_are_not_absence(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec im = {0}, got;
	struct hit_rec hg;
	struct assignment_rec a = {0};
	char *boxes = NULL, qual[ID_MAX];
	bool found = true;

	assert_int_equal(state_open(f->sub, "exp1", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "bikes");
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	assert_int_equal(
		state_exec(st,
			   "PRAGMA foreign_keys=OFF;"
			   "DROP TABLE assignments; DROP TABLE hits;"
			   "DROP TABLE stage_results;"
			   "DROP TABLE qualifications; DROP TABLE grants;"
			   "ALTER TABLE images RENAME TO gone",
			   &eb),
		IF_OK);
	assert_int_equal(store_image_get(st, "bikes", &got, &found, &eb),
			 IF_ERUNTIME);
	assert_false(found);
	found = true;
	err_init(&eb);
	assert_int_equal(store_hit_get(st, "bikes", 1, 1, &hg, &found, &eb),
			 IF_ERUNTIME);
	assert_false(found);
	found = true;
	err_init(&eb);
	snprintf(a.assignment_id, sizeof(a.assignment_id), "A1");
	snprintf(a.worker_id, sizeof(a.worker_id), "AW1");
	assert_int_equal(store_assignment_insert(st, &a, &found, &eb),
			 IF_ERUNTIME);
	assert_false(found);
	found = true;
	err_init(&eb);
	assert_int_equal(store_stage_result_get(st, "bikes", 1, &boxes, &found,
						&eb),
			 IF_ERUNTIME);
	assert_false(found);
	assert_null(boxes);
	found = true;
	err_init(&eb);
	assert_int_equal(store_qual_get(st, 1, qual, sizeof(qual), &found, &eb),
			 IF_ERUNTIME);
	assert_false(found);
	found = true;
	err_init(&eb);
	assert_int_equal(store_grant_get(st, "AW1", 1, &found, &eb),
			 IF_ERUNTIME);
	assert_false(found);
	state_close(st);
}

static void
test_readonly_without_state(void **state)
{
	struct fixture *f = *state;
	struct errbuf eb = {0};
	struct state *st = NULL;

	assert_int_equal(state_open_readonly(f->sub, &st, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "no state yet"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_private_files,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_other_experiment,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrates_schema_1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrates_schema_2, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migrates_schema_3, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stage0_recorded_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_newer_schema,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_and_full_sync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_images_and_hits, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_assignments_idempotent,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_results_quals_grants,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_transaction_rollback,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_are_not_absence,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_without_state,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
