/*
 * imaging/boxes.c: clipping, dropping empty boxes, the pixel vote behind
 * "majority" aggregation and the coverage behind the 50% "found" rule
 * (spec sections 4 and 8).  Hand-made cases first, then a pixel-by-pixel
 * oracle on seeded random boxes, which knows nothing of the edge grid the
 * implementation works on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imaging/imaging.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static void
assert_box(const struct box *b, int x, int y, int w, int h)
{
	assert_int_equal(b->x, x);
	assert_int_equal(b->y, y);
	assert_int_equal(b->w, w);
	assert_int_equal(b->h, h);
}

static void
test_clip(void **state)
{
	struct box b;

	(void)state;
	b = (struct box){2, 3, 4, 5};
	assert_true(box_clip(&b, 100, 100));
	assert_box(&b, 2, 3, 4, 5);
	/* Hanging over the top-left corner. */
	b = (struct box){-5, -2, 10, 10};
	assert_true(box_clip(&b, 100, 100));
	assert_box(&b, 0, 0, 5, 8);
	/* Hanging over the bottom-right corner. */
	b = (struct box){95, 90, 10, 20};
	assert_true(box_clip(&b, 100, 100));
	assert_box(&b, 95, 90, 5, 10);
	/* Larger than the image on every side. */
	b = (struct box){-10, -10, 1000, 1000};
	assert_true(box_clip(&b, 64, 48));
	assert_box(&b, 0, 0, 64, 48);
	/* Touching the image only at an edge is empty. */
	b = (struct box){100, 0, 10, 10};
	assert_false(box_clip(&b, 100, 100));
	b = (struct box){-10, 0, 10, 10};
	assert_false(box_clip(&b, 100, 100));
	b = (struct box){0, 100, 10, 10};
	assert_false(box_clip(&b, 100, 100));
	/* Zero and negative sizes are empty. */
	b = (struct box){1, 1, 0, 5};
	assert_false(box_clip(&b, 100, 100));
	b = (struct box){1, 1, 5, 0};
	assert_false(box_clip(&b, 100, 100));
	b = (struct box){10, 10, -5, 5};
	assert_false(box_clip(&b, 100, 100));
	/* Sizes that would overflow int when added to x. */
	b = (struct box){10, 10, INT_MAX, INT_MAX};
	assert_true(box_clip(&b, 100, 50));
	assert_box(&b, 10, 10, 90, 40);
	b = (struct box){INT_MAX, INT_MAX, INT_MAX, INT_MAX};
	assert_false(box_clip(&b, 100, 50));
	b = (struct box){INT_MIN, INT_MIN, INT_MAX, INT_MAX};
	assert_false(box_clip(&b, 100, 50));
}

static void
test_clip_all_keeps_order(void **state)
{
	struct box v[] = {
		{0, 0, 0, 0},	  /* empty */
		{5, 5, 10, 10},	  /* kept as is */
		{200, 5, 10, 10}, /* outside */
		{-3, 40, 10, 20}, /* clipped */
		{7, 7, 1, 1},	  /* kept as is */
	};

	(void)state;
	assert_int_equal(boxes_clip_all(v, 5, 50, 50), 3);
	assert_box(&v[0], 5, 5, 10, 10);
	assert_box(&v[1], 0, 40, 7, 10);
	assert_box(&v[2], 7, 7, 1, 1);
	assert_int_equal(boxes_clip_all(v, 0, 50, 50), 0);
}

/* Paints boxes into an int map (count per pixel); boxes must be clipped. */
static void
paint(int *map, int w, const struct box *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int y = b[i].y; y < b[i].y + b[i].h; y++)
			for (int x = b[i].x; x < b[i].x + b[i].w; x++)
				map[y * w + x]++;
}

static void
test_vote_by_hand(void **state)
{
	const struct box a[] = {{0, 0, 10, 10}};
	const struct box b[] = {{5, 5, 10, 10}};
	const struct box c[] = {{100, 100, 5, 5}};
	const struct box twice[] = {{0, 0, 10, 10}, {0, 0, 10, 10}};
	const struct box *sets[3] = {a, b, c};
	size_t counts[3] = {1, 1, 1}, n = 99;
	struct box *out = NULL;
	struct errbuf eb = {0};

	(void)state;
	/* Majority of three: more than one worker. */
	assert_int_equal(
		boxes_vote(sets, counts, 3, 1, 200, 200, &out, &n, &eb), IF_OK);
	assert_int_equal(n, 1);
	assert_box(&out[0], 5, 5, 5, 5);
	free(out);

	/* Threshold 0 is the union: an L of two rectangles plus c. */
	assert_int_equal(
		boxes_vote(sets, counts, 3, 0, 200, 200, &out, &n, &eb), IF_OK);
	{
		int *map = calloc(200 * 200, sizeof(int));
		long covered = 0;
		assert_non_null(map);
		paint(map, 200, out, n);
		for (int i = 0; i < 200 * 200; i++) {
			assert_true(map[i] <= 1); /* disjoint */
			covered += map[i];
		}
		assert_int_equal(covered, 100 + 100 - 25 + 25);
		assert_int_equal(map[0], 1);
		assert_int_equal(map[14 * 200 + 14], 1);
		assert_int_equal(map[0 * 200 + 14], 0);
		assert_int_equal(map[102 * 200 + 102], 1);
		free(map);
	}
	free(out);

	/* One worker's overlapping boxes are one vote, not two. */
	sets[0] = twice;
	sets[1] = NULL;
	counts[0] = 2;
	counts[1] = 0;
	assert_int_equal(
		boxes_vote(sets, counts, 2, 1, 200, 200, &out, &n, &eb), IF_OK);
	assert_int_equal(n, 0);
	free(out);

	/* Everything outside the image: nothing, and no error. */
	sets[0] = c;
	counts[0] = 1;
	assert_int_equal(boxes_vote(sets, counts, 1, 0, 50, 50, &out, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	free(out);

	/* No sets at all. */
	assert_int_equal(boxes_vote(sets, counts, 0, 0, 50, 50, &out, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	free(out);
	assert_false(err_isset(&eb));
}

/* xorshift32: the oracle tests are reproducible from their seed. */
static uint32_t
rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static struct box
random_box(uint32_t *s, int w, int h)
{
	struct box b;

	b.x = (int)(rnd(s) % (uint32_t)(w + 20)) - 10;
	b.y = (int)(rnd(s) % (uint32_t)(h + 20)) - 10;
	b.w = (int)(rnd(s) % (uint32_t)(w / 2 + 2)) - 1; /* -1 .. w/2 */
	b.h = (int)(rnd(s) % (uint32_t)(h / 2 + 2)) - 1;
	return b;
}

static void
test_vote_oracle(void **state)
{
	enum { W = 41, H = 29, MAXSETS = 5, MAXBOXES = 6 };
	uint32_t seed = 12345;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct box sets_store[MAXSETS][MAXBOXES];
		const struct box *sets[MAXSETS];
		size_t counts[MAXSETS], nsets, threshold, n = 0;
		int votes[W * H], got[W * H];
		struct box *out = NULL;
		struct errbuf eb = {0};

		nsets = 1 + rnd(&seed) % MAXSETS;
		threshold = rnd(&seed) % (nsets + 1);
		memset(votes, 0, sizeof(votes));
		for (size_t s = 0; s < nsets; s++) {
			int mine[W * H];
			counts[s] = rnd(&seed) % (MAXBOXES + 1);
			memset(mine, 0, sizeof(mine));
			for (size_t i = 0; i < counts[s]; i++) {
				struct box b = random_box(&seed, W, H);
				sets_store[s][i] = b;
				if (box_clip(&b, W, H))
					paint(mine, W, &b, 1);
			}
			sets[s] = sets_store[s];
			for (int p = 0; p < W * H; p++)
				votes[p] += mine[p] > 0;
		}
		assert_int_equal(boxes_vote(sets, counts, nsets, threshold, W,
					    H, &out, &n, &eb),
				 IF_OK);
		memset(got, 0, sizeof(got));
		for (size_t i = 0; i < n; i++) {
			assert_true(out[i].w > 0 && out[i].h > 0);
			assert_true(out[i].x >= 0 && out[i].y >= 0);
			assert_true(out[i].x + out[i].w <= W);
			assert_true(out[i].y + out[i].h <= H);
		}
		paint(got, W, out, n);
		for (int p = 0; p < W * H; p++) {
			/* Exactly the voted pixels, each covered once. */
			if (got[p] != ((size_t)votes[p] > threshold ? 1 : 0))
				fail_msg("round %d pixel (%d,%d): votes %d "
					 "threshold %zu covered %d times",
					 round, p % W, p / W, votes[p],
					 threshold, got[p]);
		}
		free(out);
	}
}

static void
test_coverage_by_hand(void **state)
{
	const struct box t = {10, 10, 10, 10};
	const struct box half[] = {{10, 10, 5, 10}};
	const struct box overlap[] = {{10, 10, 6, 10}, {14, 10, 6, 10}};
	const struct box outside[] = {{0, 0, 10, 10}, {20, 10, 5, 5}};
	const struct box over_edge[] = {{0, 0, 15, 15}};
	const struct box quarter_twice[] = {{15, 15, 5, 5}, {15, 15, 5, 5}};
	const struct box empty_t = {5, 5, 0, 10};

	(void)state;
	assert_true(box_coverage(&t, half, 1) == 0.5);
	/* Overlapping boxes count once: 100%, not 120%. */
	assert_true(box_coverage(&t, overlap, 2) == 1.0);
	/* Touching the target at its edges covers nothing. */
	assert_true(box_coverage(&t, outside, 2) == 0.0);
	/* Only the part inside the target counts. */
	assert_true(box_coverage(&t, over_edge, 1) == 0.25);
	assert_true(box_coverage(&t, quarter_twice, 2) == 0.25);
	assert_true(box_coverage(&t, NULL, 0) == 0.0);
	assert_true(box_coverage(&empty_t, half, 1) == 0.0);
	/* The 50% rule's boundary is exact. */
	assert_true(box_coverage(&t, half, 1) >= 0.5);
}

static void
test_coverage_oracle(void **state)
{
	enum { W = 50, H = 40, MAXBOXES = 8 };
	uint32_t seed = 777;

	(void)state;
	for (int round = 0; round < 400; round++) {
		struct box boxes[MAXBOXES], t;
		size_t n = rnd(&seed) % (MAXBOXES + 1);
		long inside = 0;
		double want, got;

		t = random_box(&seed, W, H);
		if (!box_clip(&t, W, H))
			t = (struct box){3, 4, 7, 9};
		for (size_t i = 0; i < n; i++)
			boxes[i] = random_box(&seed, W, H);
		for (int y = t.y; y < t.y + t.h; y++)
			for (int x = t.x; x < t.x + t.w; x++)
				for (size_t i = 0; i < n; i++) {
					const struct box *b = &boxes[i];
					if (b->w > 0 && b->h > 0 && x >= b->x &&
					    x < b->x + b->w && y >= b->y &&
					    y < b->y + b->h) {
						inside++;
						break;
					}
				}
		want = (double)inside / ((double)t.w * t.h);
		got = box_coverage(&t, boxes, n);
		if (got != want)
			fail_msg("round %d: coverage %.6f, want %.6f", round,
				 got, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clip),
		cmocka_unit_test(test_clip_all_keeps_order),
		cmocka_unit_test(test_vote_by_hand),
		cmocka_unit_test(test_vote_oracle),
		cmocka_unit_test(test_coverage_by_hand),
		cmocka_unit_test(test_coverage_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
