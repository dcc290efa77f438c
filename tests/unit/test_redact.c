/*
 * imaging/redact.c: redaction gives the bytes of the implementation it
 * replaced (each box redacted after the other, kept below as the
 * reference) for random box sets - overlapping, nested, repeated, partly
 * outside, over the whole image, on image sizes that are and are not
 * multiples of the pixelate block - in every style, and its cost is bounded
 * by the image area: 600 boxes over the whole image write each pixel once
 * (counted, not timed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imaging/imaging_private.h"
#include "tests/support/redact_reference.h"

#include <stdlib.h>
#include <string.h>


static uint32_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545F4914F6CDD1DULL) >> 32);
}

/* The implementation before issue 15, box after box. */
static void
ref_redact(struct img *im, const struct box *boxes, size_t n,
	   enum redact_style style, uint32_t fill_rgb, const struct img *heavy)
{
	for (size_t i = 0; i < n; i++) {
		struct box b = boxes[i];
		if (!box_clip(&b, im->w, im->h))
			continue;
		if (style == REDACT_FILL)
			ref_fill_box(im, &b, fill_rgb);
		else if (style == REDACT_MEDIAN)
			ref_copy_box(im, &b, heavy);
		else
			ref_pixelate_box(im, &b);
	}
}

static struct img *
noise(int w, int h, uint64_t seed)
{
	struct img *im = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&im, w, h, 0, &eb), IF_OK);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w * 3; x++)
			im->px[(size_t)y * im->stride + x] =
				(uint8_t)rng_next(&seed);
	return im;
}

static struct img *
copy_of(const struct img *im)
{
	struct img *c = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&c, im->w, im->h, 0, &eb), IF_OK);
	for (int y = 0; y < im->h; y++)
		memcpy(c->px + (size_t)y * c->stride,
		       im->px + (size_t)y * im->stride, (size_t)im->w * 3);
	return c;
}

static void
assert_same_pixels(const struct img *a, const struct img *b)
{
	for (int y = 0; y < a->h; y++)
		assert_memory_equal(a->px + (size_t)y * a->stride,
				    b->px + (size_t)y * b->stride,
				    (size_t)a->w * 3);
}

/* A random box: anywhere, often partly outside, sometimes everything. */
static struct box
random_box(uint64_t *s, int w, int h, const struct box *prev, size_t nprev)
{
	uint32_t kind = rng_next(s) % 10;
	struct box b;

	if (kind == 0)
		return (struct box){0, 0, w, h};
	if (kind == 1)
		return (struct box){-5, -7, w + 20, h + 30};
	if (kind == 2 && nprev > 0) {
		/* Nested in (or equal to) an earlier box. */
		b = prev[rng_next(s) % nprev];
		if (b.w > 2 && rng_next(s) % 2) {
			int dx = (int)(rng_next(s) % (uint32_t)(b.w / 2));
			b.x += dx;
			b.w -= dx + (int)(rng_next(s) % (uint32_t)(b.w - dx));
		}
		return b;
	}
	b.x = (int)(rng_next(s) % (uint32_t)(w + 20)) - 10;
	b.y = (int)(rng_next(s) % (uint32_t)(h + 20)) - 10;
	b.w = (int)(rng_next(s) % (uint32_t)(kind < 6 ? 40 : w)) - 2;
	b.h = (int)(rng_next(s) % (uint32_t)(kind < 6 ? 40 : h)) - 2;
	return b;
}

static void
test_same_bytes_as_box_after_box(void **state)
{
	static const int sizes[][2] = {{64, 48}, {67, 41}, {33, 130},
				       {1, 1},	 {17, 16}, {200, 3}};
	static const enum redact_style styles[] = {REDACT_FILL, REDACT_MEDIAN,
						   REDACT_PIXELATE};
	uint64_t seed = 0x5eed15ULL;
	(void)state;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (int round = 0; round < 60; round++) {
			int w = sizes[s][0], h = sizes[s][1];
			size_t n = rng_next(&seed) % (round < 5 ? 3 : 40);
			struct box boxes[40];
			struct img *src = noise(w, h, seed + 1);
			struct img *heavy = noise(w, h, seed + 2);

			for (size_t i = 0; i < n; i++)
				boxes[i] = random_box(&seed, w, h, boxes, i);
			for (size_t k = 0; k < 3; k++) {
				struct img *want = copy_of(src);
				struct img *got = copy_of(src);
				struct errbuf eb = {0};

				ref_redact(want, boxes, n, styles[k], 0x123456,
					   heavy);
				assert_int_equal(img_redact(got, boxes, n,
							    styles[k], 0x123456,
							    heavy, &eb),
						 IF_OK);
				assert_same_pixels(got, want);
				img_free(want);
				img_free(got);
			}
			img_free(src);
			img_free(heavy);
		}
}

/*
 * Three workers' 200 boxes each over the whole image, on a 12 MP image:
 * each pixel is written once, where box after box wrote it 600 times.
 */
static void
test_600_whole_boxes_write_pixels_once(void **state)
{
	static const enum redact_style styles[] = {REDACT_FILL, REDACT_MEDIAN,
						   REDACT_PIXELATE};
	int w = 4000, h = 3000;
	struct box boxes[600];
	struct img *im = noise(w, h, 7), *heavy = noise(w, h, 8);
	(void)state;

	for (size_t i = 0; i < 600; i++)
		boxes[i] = i % 3 == 0 ? (struct box){0, 0, w, h}
				      : (struct box){-1 - (int)i, -(int)i,
						     w + 2 * (int)i,
						     h + 3 * (int)i};
	for (size_t k = 0; k < 3; k++) {
		struct errbuf eb = {0};
		uint64_t writes = 0;

		assert_int_equal(img_redact_counted(im, boxes, 600, styles[k],
						    0, heavy, &writes, &eb),
				 IF_OK);
		assert_int_equal(writes, (uint64_t)w * h);
	}
	img_free(im);
	img_free(heavy);
}

/*
 * Boxes that each cover part of a block: their partial averages are
 * bounded by their borders, not by their area.
 */
static void
test_pixelate_writes_bounded_by_borders(void **state)
{
	int w = 1000, h = 800;
	struct box boxes[300];
	struct img *im = noise(w, h, 9);
	struct errbuf eb = {0};
	uint64_t writes = 0, bound;
	(void)state;

	for (size_t i = 0; i < 300; i++)
		boxes[i] = (struct box){3 + (int)i % 7, 5 + (int)i % 11,
					w - 20, h - 30};
	assert_int_equal(img_redact_counted(im, boxes, 300, REDACT_PIXELATE,
					    0, NULL, &writes, &eb),
			 IF_OK);
	/* Each box's border blocks once, plus each pixel once. */
	bound = (uint64_t)w * h +
		300ULL * 2 * ((uint64_t)w / 16 + h / 16 + 4) * 16 * 16;
	assert_true(writes <= bound);
	/* Box after box wrote every box's whole area. */
	assert_true(writes < 300ULL * (uint64_t)(w - 20) * (h - 30) / 10);
	img_free(im);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_box_after_box),
		cmocka_unit_test(test_600_whole_boxes_write_pixels_once),
		cmocka_unit_test(test_pixelate_writes_bounded_by_borders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
