/*
 * sim/sim_crowd.c: the simulated workers - the detection curve, seeded
 * reproducibility, jitter bounds, redacted faces and the boxes JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void
test_curve(void **state)
{
	(void)state;
	/* p = 1/(1+exp(-3*(side/window - 1))) */
	assert_true(fabs(sim_crowd_p_find(41, 41) - 0.5) < 1e-9);
	assert_true(fabs(sim_crowd_p_find(82, 41) - 1.0 / (1.0 + exp(-3.0))) <
		    1e-9);
	assert_true(sim_crowd_p_find(10, 41) < 0.15);
	assert_true(sim_crowd_p_find(200, 13) > 0.999);
	/* Monotonic in size, and in the window (smaller window: easier). */
	for (int s = 1; s < 300; s++)
		assert_true(sim_crowd_p_find(s, 27) <
			    sim_crowd_p_find(s + 1, 27));
	assert_true(sim_crowd_p_find(30, 13) > sim_crowd_p_find(30, 41));
	assert_true(sim_crowd_p_find(0, 13) == 0.0);
}

static const struct sim_face faces[] = {
	{100, 80, 40, 48}, {300, 90, 22, 26}, {500, 300, 120, 130},
};
static const struct sim_image image = {"bikes", 800, 600, faces, 3,
						NULL, 0, NULL, 0};

static void
answer(uint64_t seed, const char *worker, int window,
       const struct sim_face *covered, size_t ncovered,
       struct sim_crowd_answer *out)
{
	struct sim_crowd_task t;
	struct errbuf eb;

	memset(&t, 0, sizeof(t));
	t.image = &image;
	t.window = window;
	t.stage = 1;
	t.covered = covered;
	t.ncovered = ncovered;
	err_init(&eb);
	assert_int_equal(sim_crowd_answer(seed, "exp/bikes/1", 0, worker, &t,
					  out, &eb),
			 IF_OK);
}

static void
test_same_seed_same_answer(void **state)
{
	struct sim_crowd_answer a, b, c;
	bool differs = false;

	(void)state;
	answer(9, "AWORKER1", 27, NULL, 0, &a);
	answer(9, "AWORKER1", 27, NULL, 0, &b);
	assert_int_equal(a.nboxes, b.nboxes);
	if (a.nboxes > 0)
		assert_memory_equal(a.boxes, b.boxes,
				    a.nboxes * sizeof(*a.boxes));
	assert_int_equal(a.face_found, b.face_found);
	assert_string_equal(a.feedback, b.feedback);
	/* Over many seeds, answers differ somewhere. */
	for (uint64_t s = 10; s < 40 && !differs; s++) {
		answer(s, "AWORKER1", 27, NULL, 0, &c);
		differs = c.nboxes != a.nboxes ||
			  (c.nboxes > 0 &&
			   memcmp(c.boxes, a.boxes,
				  c.nboxes * sizeof(*c.boxes)) != 0);
		sim_crowd_answer_cleanup(&c);
	}
	assert_true(differs);
	sim_crowd_answer_cleanup(&a);
	sim_crowd_answer_cleanup(&b);
}

static void
test_rates_follow_curve(void **state)
{
	int found_big = 0, found_small = 0, n = 400, fp = 0;

	(void)state;
	for (int i = 0; i < n; i++) {
		struct sim_crowd_answer a;
		char w[32];
		size_t real = 0;

		snprintf(w, sizeof(w), "AW%d", i);
		answer(1, w, 41, NULL, 0, &a);
		for (size_t k = 0; k < a.nboxes; k++) {
			const struct sim_face *b = &a.boxes[k];
			/* Inside the image, always. */
			assert_true(b->x >= 0 && b->y >= 0 && b->w > 0 &&
				    b->h > 0);
			assert_true(b->x + b->w <= 800 && b->y + b->h <= 600);
			if (sim_coverage(&faces[2], b, 1) > 0.7) {
				found_big++;
				real++;
			} else if (sim_coverage(&faces[1], b, 1) > 0.5) {
				found_small++;
				real++;
			} else if (sim_coverage(&faces[0], b, 1) > 0.5) {
				real++;
			} else {
				fp++;
			}
		}
		assert_int_equal(a.face_found, real > 0);
		sim_crowd_answer_cleanup(&a);
	}
	/* p(120/41) = 0.997, p(22/41) = 0.19, false positives ~ 10%. */
	assert_true(found_big > n * 95 / 100);
	assert_true(found_small > n * 10 / 100 && found_small < n * 30 / 100);
	assert_true(fp > n * 4 / 100 && fp < n * 18 / 100);
}

static void
test_redacted_faces_are_skipped(void **state)
{
	struct sim_face cover = {490, 290, 140, 150};
	int seen = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		struct sim_crowd_answer a;
		char w[32];

		snprintf(w, sizeof(w), "AW%d", i);
		answer(1, w, 13, &cover, 1, &a);
		for (size_t k = 0; k < a.nboxes; k++)
			if (sim_coverage(&faces[2], &a.boxes[k], 1) > 0.7)
				seen++;
		sim_crowd_answer_cleanup(&a);
	}
	/* Only a false positive could land there, and rarely. */
	assert_true(seen < 5);
}

static void
test_boxes_json_roundtrip(void **state)
{
	struct sim_face in[2] = {{1, 2, 3, 4}, {10, 20, 30, 40}}, *out = NULL;
	size_t n = 0;
	char *s = sim_boxes_json(in, 2);

	(void)state;
	assert_string_equal(s, "[[1,2,3,4],[10,20,30,40]]");
	sim_boxes_parse(s, &out, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(out, in, sizeof(in));
	free(out);
	free(s);
	s = sim_boxes_json(NULL, 0);
	assert_string_equal(s, "[]");
	free(s);
	sim_boxes_parse("not json", &out, &n);
	assert_int_equal(n, 0);
	free(out);
	sim_boxes_parse("[[1,2,3],[1,2,-3,4],[5,6,7,8]]", &out, &n);
	assert_int_equal(n, 1);
	assert_int_equal(out[0].x, 5);
	free(out);
}

static void
test_ids(void **state)
{
	char w1[SIM_WORKER_ID_LEN + 1], w2[SIM_WORKER_ID_LEN + 1];
	struct sim_rng r;
	char id[SIM_ID_LEN + 1];

	(void)state;
	sim_worker_id(5, 0, w1);
	sim_worker_id(5, 0, w2);
	assert_string_equal(w1, w2);
	assert_int_equal(w1[0], 'A');
	assert_int_equal(strlen(w1), SIM_WORKER_ID_LEN);
	sim_worker_id(5, 1, w2);
	assert_string_not_equal(w1, w2);
	sim_rng_init(&r, 1);
	sim_rng_id(&r, id, SIM_ID_LEN);
	assert_int_equal(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
			 SIM_ID_LEN);
}

/* Eligibility for the picker tests: workers listed in ctx are kept out. */
struct banned {
	char ids[64][SIM_WORKER_ID_LEN + 1];
	size_t n;
};

static bool
not_banned(void *ctx, const char *worker)
{
	struct banned *b = ctx;

	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->ids[i], worker) == 0)
			return false;
	return true;
}

/* A HIT that fills from the first batch picks as the fixed pool did. */
static void
test_pick_first_batch_is_the_old_pool(void **state)
{
	struct banned none = {.n = 0};
	size_t got[3], want[3], order[50], size = 50;
	struct sim_rng r;
	int attempt = 2;

	(void)state;
	assert_int_equal(sim_crowd_pick(9, "e/a/1", attempt, &size, 50, 3,
					not_banned, &none, got),
			 3);
	assert_int_equal(size, 50);
	/* The shuffle the store did before the crowd could grow. */
	sim_rng_init(&r, sim_hash(sim_hash_str(sim_hash_str(9, "pick"),
					       "e/a/1"),
				  &attempt, sizeof(attempt)));
	for (size_t i = 0; i < 50; i++)
		order[i] = i;
	for (size_t i = 50; i > 1; i--) {
		size_t j = (size_t)(sim_rng_next(&r) % i), t = order[i - 1];
		order[i - 1] = order[j];
		order[j] = t;
	}
	memcpy(want, order, sizeof(want));
	assert_memory_equal(got, want, sizeof(want));
}

/* When the workers present may not take a HIT, new ones arrive. */
static void
test_pick_grows_the_crowd(void **state)
{
	struct banned b = {.n = 0};
	size_t got[3], again[3], size = 5, size2 = 5;

	(void)state;
	for (size_t i = 0; i < 5; i++)
		sim_worker_id(3, i, b.ids[b.n++]);
	assert_int_equal(sim_crowd_pick(3, "e/a/2", 0, &size, 5, 3, not_banned,
					&b, got),
			 3);
	assert_int_equal(size, 10);
	for (size_t i = 0; i < 3; i++) {
		assert_true(got[i] >= 5 && got[i] < 10);
		for (size_t k = 0; k < i; k++)
			assert_true(got[i] != got[k]);
	}
	/* Reproducible from the seed. */
	assert_int_equal(sim_crowd_pick(3, "e/a/2", 0, &size2, 5, 3, not_banned,
					&b, again),
			 3);
	assert_memory_equal(got, again, sizeof(got));
	/* Four of five present banned and three wanted: one batch more. */
	size = 5;
	b.n = 4;
	assert_int_equal(sim_crowd_pick(3, "e/b/1", 0, &size, 5, 3, not_banned,
					&b, got),
			 3);
	assert_int_equal(size, 10);
}

/* A HIT nobody new may take stops the growth after one batch. */
static bool
nobody(void *ctx, const char *worker)
{
	(void)ctx;
	(void)worker;
	return false;
}

static void
test_pick_stops_for_a_hit_nobody_may_take(void **state)
{
	size_t got[3], size = 5;

	(void)state;
	assert_int_equal(sim_crowd_pick(3, "e/c/1", 0, &size, 5, 3, nobody,
					NULL, got),
			 0);
	assert_int_equal(size, 10);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_curve),
		cmocka_unit_test(test_pick_first_batch_is_the_old_pool),
		cmocka_unit_test(test_pick_grows_the_crowd),
		cmocka_unit_test(test_pick_stops_for_a_hit_nobody_may_take),
		cmocka_unit_test(test_same_seed_same_answer),
		cmocka_unit_test(test_rates_follow_curve),
		cmocka_unit_test(test_redacted_faces_are_skipped),
		cmocka_unit_test(test_boxes_json_roundtrip),
		cmocka_unit_test(test_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
