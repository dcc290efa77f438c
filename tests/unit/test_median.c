/*
 * imaging/median.c against two oracles: a brute-force median written for
 * clarity (count the values of the clamped window, take rank w*w/2), on
 * random images over many windows, sizes, thread counts and every code
 * path; and Pillow's MedianFilter, whose outputs are committed under
 * tests/fixtures/median/ (see gen.py there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imaging/median_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A small deterministic PRNG (xorshift64*), seeded from each case's own
 * parameters, so that a failing case reproduces on its own.
 */
struct rng {
	uint64_t s;
};

static uint32_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Values from `levels` evenly spaced grey levels (few levels: many ties). */
static struct img *
random_image(uint64_t seed, int w, int h, int levels)
{
	struct rng r = {seed * 0x9E3779B97F4A7C15ULL + 1};
	struct img *im = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&im, w, h, 0, &eb), IF_OK);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w * 3; x++)
			im->px[(size_t)y * im->stride + (size_t)x] =
				(uint8_t)(rng_next(&r) % (uint32_t)levels *
					  (255 /
					   (levels - 1 > 0 ? levels - 1 : 1)));
	return im;
}

static int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The definition, spelled out: count values of the clamped window. */
static void
brute_median(const struct img *src, struct img *dst, int w)
{
	int r = w / 2;
	uint64_t rank = (uint64_t)w * (uint64_t)w / 2;

	for (int y = 0; y < src->h; y++)
		for (int x = 0; x < src->w; x++)
			for (int c = 0; c < 3; c++) {
				uint64_t hist[256] = {0}, sum = 0;
				int v;
				for (int dy = -r; dy <= r; dy++)
					for (int dx = -r; dx <= r; dx++) {
						int yy = clampi(y + dy, 0,
								src->h - 1);
						int xx = clampi(x + dx, 0,
								src->w - 1);
						hist[src->px[(size_t)yy *
							     src->stride +
							     (size_t)xx * 3 +
							     (size_t)c]]++;
					}
				for (v = 0; v < 255; v++) {
					if (sum + hist[v] > rank)
						break;
					sum += hist[v];
				}
				dst->px[(size_t)y * dst->stride +
					(size_t)x * 3 + (size_t)c] = (uint8_t)v;
			}
}

/*
 * Every code path against the brute force: img_median() itself, and the
 * generic, AVX2, AVX-512 and 32-bit paths forced, so that a machine with
 * AVX-512 still checks the AVX2 and baseline code (a path the CPU lacks
 * runs as the one img_median() picks).
 */
static void
check_against_brute(int w, int h, int window, int threads, int levels)
{
	static const enum median_path paths[] = {
		MEDIAN_PATH_AUTO, MEDIAN_PATH_GENERIC, MEDIAN_PATH_AVX2,
		MEDIAN_PATH_AVX512, MEDIAN_PATH_WIDE,
	};
	const uint64_t seed = (uint64_t)w * 1000003 + (uint64_t)h * 10007 +
			      (uint64_t)window * 101 + (uint64_t)threads;
	struct img *src = random_image(seed, w, h, levels);
	struct img *got = NULL, *want = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&got, w, h, 0, &eb), IF_OK);
	assert_int_equal(img_new(&want, w, h, 0, &eb), IF_OK);
	brute_median(src, want, window);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		memset(got->px, 0xA5, got->stride * (size_t)h);
		if (paths[i] == MEDIAN_PATH_AUTO)
			assert_int_equal(img_median(src, got, window, threads,
						    &eb),
					 IF_OK);
		else
			assert_int_equal(median_filter(src, got, window,
						       threads, paths[i], &eb),
					 IF_OK);
		for (int y = 0; y < h; y++)
			if (memcmp(got->px + (size_t)y * got->stride,
				   want->px + (size_t)y * want->stride,
				   (size_t)w * 3) != 0)
				fail_msg("%dx%d window %d threads %d path %d: "
					 "row %d differs",
					 w, h, window, threads, (int)paths[i],
					 y);
	}
	img_free(src);
	img_free(got);
	img_free(want);
}

static void
test_windows(void **state)
{
	static const int windows[] = {1, 3, 5, 7, 13, 21, 41};

	(void)state;
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		check_against_brute(53, 37, windows[i], 1, 256);
		check_against_brute(53, 37, windows[i], 3, 4);
	}
}

static void
test_odd_sizes(void **state)
{
	(void)state;
	check_against_brute(1, 1, 3, 1, 256);
	check_against_brute(1, 1, 41, 2, 256);
	check_against_brute(1, 29, 5, 1, 256);
	check_against_brute(29, 1, 5, 2, 256);
	check_against_brute(17, 2, 13, 1, 256);
	check_against_brute(2, 17, 13, 1, 256);
}

static void
test_window_larger_than_image(void **state)
{
	(void)state;
	check_against_brute(9, 7, 41, 1, 256);
	check_against_brute(12, 5, 255, 2, 256);
	/* Past 255 the 16-bit counts would overflow: the wide path. */
	check_against_brute(6, 5, 257, 1, 256);
	check_against_brute(4, 3, 301, 1, 3);
}

static void
test_tiles_and_threads(void **state)
{
	static const int threads[] = {1, 2, 3, 7, 0};

	(void)state;
	/* Wider than eight tiles (1024 columns), so tile seams are crossed. */
	check_against_brute(8300, 3, 13, 1, 256);
	check_against_brute(4100, 40, 5, 2, 256);
	/*
	 * Wide windows across a seam, random values and few levels: the
	 * medians change segments often, so the sweeps' rare path (the
	 * lazy catch-up, p worked out from pointers) runs near tile ends.
	 */
	check_against_brute(2100, 12, 41, 1, 256);
	check_against_brute(1030, 20, 27, 1, 16);
	/*
	 * Tall enough for several strips (at least max(4w, 32) rows each),
	 * more strips than threads for the first, so threads claim several.
	 */
	for (size_t i = 0; i < sizeof(threads) / sizeof(threads[0]); i++) {
		check_against_brute(31, 260, 9, threads[i], 256);
		check_against_brute(11, 700, 41, threads[i], 5);
	}
	/* Halos reaching past the image edge from inner strips. */
	check_against_brute(9, 70, 255, 2, 256);
}

static void
test_invalid_windows(void **state)
{
	struct img *a = random_image(1, 8, 8, 256);
	struct img *b = random_image(2, 8, 8, 256);
	struct img *c = random_image(3, 9, 8, 256);
	struct img view = *a;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_median(a, b, 4, 1, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "4"));
	err_init(&eb);
	assert_int_equal(img_median(a, b, 0, 1, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "window 0"));
	err_init(&eb);
	assert_int_equal(img_median(a, b, -3, 1, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "-3"));
	err_init(&eb);
	assert_int_equal(img_median(a, a, 3, 1, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "in place"));
	err_init(&eb);
	/* A view one pixel into the input overlaps it too. */
	view.px = a->px + 3;
	assert_int_equal(img_median(a, &view, 3, 1, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(img_median(&view, a, 3, 1, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(img_median(a, c, 3, 1, &eb), IF_EINPUT);
	img_free(a);
	img_free(b);
	img_free(c);
}

/* Reads a fixture PPM written by gen.py. */
static struct img *
load_fixture(const char *name)
{
	char path[256];
	struct img *im = NULL;
	struct errbuf eb = {0};

	snprintf(path, sizeof(path), "tests/fixtures/median/%s", name);
	if (img_load(path, 0, &im, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	return im;
}

static void
test_pillow_fixtures(void **state)
{
	FILE *list = fopen("tests/fixtures/median/cases.txt", "r");
	char input[128], output[128];
	int window, cases = 0;

	(void)state;
	assert_non_null(list);
	while (fscanf(list, "%127s %d %127s", input, &window, output) == 3) {
		struct img *src = load_fixture(input);
		struct img *want = load_fixture(output), *got = NULL;
		struct errbuf eb = {0};
		assert_int_equal(img_new(&got, src->w, src->h, 0, &eb), IF_OK);
		assert_int_equal(img_median(src, got, window, 2, &eb), IF_OK);
		for (int y = 0; y < src->h; y++)
			if (memcmp(got->px + (size_t)y * got->stride,
				   want->px + (size_t)y * want->stride,
				   (size_t)src->w * 3) != 0)
				fail_msg("%s window %d differs from Pillow "
					 "at row %d",
					 input, window, y);
		img_free(src);
		img_free(want);
		img_free(got);
		cases++;
	}
	fclose(list);
	assert_true(cases >= 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_odd_sizes),
		cmocka_unit_test(test_window_larger_than_image),
		cmocka_unit_test(test_tiles_and_threads),
		cmocka_unit_test(test_invalid_windows),
		cmocka_unit_test(test_pillow_fixtures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
