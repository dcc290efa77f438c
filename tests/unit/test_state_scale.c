/*
 * daemon/store.c at scale (issue 15): the queries a pass of the daemon
 * makes instead of reading every image - the images not final, soonest
 * due first, through an index; the counts of progress; the failed ones;
 * the next image's seq.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/query_plan.h"
#include "tests/support/state_fixture.h"

#include "daemon/daemon.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static int
setup(void **state)
{
	*state = state_fixture_new("stscale", "exp/state");
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	state_fixture_free(*state);
	return 0;
}

/* Inserts image id with this seq, state, next_at and error. */
static void
add_image(struct state *st, const char *id, int64_t seq, enum image_state s,
	  int64_t next_at, const char *error)
{
	struct errbuf eb = {0};
	struct image_rec im;

	memset(&im, 0, sizeof(im));
	snprintf(im.id, sizeof(im.id), "%s", id);
	snprintf(im.file, sizeof(im.file), "images/%s.jpg", id);
	snprintf(im.error, sizeof(im.error), "%s", error);
	im.state = s;
	im.stage = 1;
	im.attempt = 1;
	im.seq = seq;
	im.next_at = next_at;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
}

/* The ids of a list, space-separated. */
static void
ids_of(const struct image_rec *list, size_t n, char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
					i > 0 ? " " : "", list[i].id);
}

/*
 * A study: final images (done, failed) are never read; of the others the
 * soonest due come first, and come back in the experiment's order.
 */
static void
add_study(struct state *st)
{
	add_image(st, "a", 0, IMAGE_DONE, 0, "");
	add_image(st, "b", 1, IMAGE_WAIT, 50, "");
	add_image(st, "c", 2, IMAGE_FAILED, 0, "gone");
	add_image(st, "d", 3, IMAGE_RENDER, 0, "");
	add_image(st, "e", 4, IMAGE_WAIT, 20, "");
	add_image(st, "f", 5, IMAGE_PAUSED, 20, "");
	add_image(st, "g", 6, IMAGE_POST, 90, "ServiceUnavailable");
}

static void
test_pending_soonest_first(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_rec *list = NULL;
	size_t n = 0;
	char ids[128];

	add_study(f->st);
	assert_int_equal(store_images_pending(f->st, 100, &list, &n, &eb),
			 IF_OK);
	ids_of(list, n, ids, sizeof(ids));
	assert_string_equal(ids, "b d e f g");
	free(list);
	/* Three: d (0), then e and f (20, by seq); in seq order. */
	assert_int_equal(store_images_pending(f->st, 3, &list, &n, &eb),
			 IF_OK);
	ids_of(list, n, ids, sizeof(ids));
	assert_string_equal(ids, "d e f");
	assert_int_equal(list[1].next_at, 20);
	assert_int_equal(list[1].state, IMAGE_WAIT);
	free(list);
	assert_int_equal(store_images_pending(f->st, 1, &list, &n, &eb),
			 IF_OK);
	ids_of(list, n, ids, sizeof(ids));
	assert_string_equal(ids, "d");
	free(list);
}

/* The pending images are found through the index, not a table scan. */
static void
test_pending_uses_the_index(void **state)
{
	struct state_fixture *f = *state;
	char plan[1024];

	add_study(f->st);
	query_plan(state_db(f->st),
		   "SELECT id FROM images WHERE state NOT IN ('done', "
		   "'failed') ORDER BY next_at, seq, id LIMIT 10",
		   plan, sizeof(plan));
	if (strstr(plan, "USING INDEX images_pending") == NULL ||
	    strstr(plan, "TEMP B-TREE") != NULL)
		fail_msg("plan: %s", plan);
}

/* A state made before the index gets it when it is next opened. */
static void
test_index_added_on_open(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	sqlite3_stmt *stmt = NULL;
	int found;

	assert_int_equal(state_exec(f->st, "DROP INDEX images_pending", &eb),
			 IF_OK);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(f->sub, "exp1", &f->st, &eb), IF_OK);
	assert_int_equal(sqlite3_prepare_v2(state_db(f->st),
					    "SELECT COUNT(*) FROM sqlite_master"
					    " WHERE name = 'images_pending'",
					    -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	found = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	assert_int_equal(found, 1);
}

static void
test_counts(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_counts c;

	assert_int_equal(store_image_counts(f->st, &c, &eb), IF_OK);
	assert_int_equal(c.images, 0);
	assert_int_equal(c.next_at, 0);
	add_study(f->st);
	assert_int_equal(store_image_counts(f->st, &c, &eb), IF_OK);
	assert_int_equal(c.images, 7);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.paused, 1);
	/* g retries an error; c's error is a final one's. */
	assert_int_equal(c.erring, 1);
	/* d is due at 0: "due now" is 1, as the loop counts it. */
	assert_int_equal(c.next_at, 1);
}

static void
test_counts_when_all_final(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_counts c;

	add_image(f->st, "a", 0, IMAGE_DONE, 5, "");
	add_image(f->st, "b", 1, IMAGE_FAILED, 7, "expired");
	assert_int_equal(store_image_counts(f->st, &c, &eb), IF_OK);
	assert_int_equal(c.images, 2);
	assert_int_equal(c.done + c.failed, 2);
	assert_int_equal(c.erring, 0);
	assert_int_equal(c.next_at, 0);
}

static void
test_in_state_and_next_seq(void **state)
{
	struct state_fixture *f = *state;
	struct errbuf eb = {0};
	struct image_rec *list = NULL;
	size_t n = 0;
	int64_t seq = -1;
	char ids[128];

	assert_int_equal(store_image_next_seq(f->st, &seq, &eb), IF_OK);
	assert_int_equal(seq, 0);
	add_study(f->st);
	add_image(f->st, "h", 9, IMAGE_FAILED, 0, "refused");
	assert_int_equal(store_image_next_seq(f->st, &seq, &eb), IF_OK);
	assert_int_equal(seq, 10);
	assert_int_equal(store_images_in_state(f->st, IMAGE_FAILED, &list, &n,
					       &eb),
			 IF_OK);
	ids_of(list, n, ids, sizeof(ids));
	assert_string_equal(ids, "c h");
	free(list);
	assert_int_equal(store_images_in_state(f->st, IMAGE_FINAL, &list, &n,
					       &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	free(list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pending_soonest_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_pending_uses_the_index,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_added_on_open,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts_when_all_final,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_state_and_next_seq,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
