/*
 * imaging/render.c: a renderer gives the bytes of the separate calls it
 * replaces (img_load_mem, img_render_stage, img_encode) - whatever its
 * thread count, whether its buffers are fresh or were used for another
 * image of another size, for every redaction style, for boxes across its
 * band boundaries, for oriented JPEGs and for PNG input - and an error
 * leaves it usable.
 *
 * The reference is the separate calls, themselves checked against Pillow
 * and brute force by test_imaging, test_median and t0100.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imaging/imaging_private.h"

#include <stdlib.h>
#include <string.h>

#define FIXDIR "tests/fixtures/images/"

static uint32_t
rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (uint32_t)((*s * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Gradients, a flat disc and noise: photo-like enough for JPEG. */
static struct img *
photo(int w, int h, uint64_t seed)
{
	struct img *im = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&im, w, h, 0, &eb), IF_OK);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p = im->px + (size_t)y * im->stride +
				     (size_t)x * 3;
			int dx = x - w / 3, dy = y - h / 2;
			int n = (int)(rng_next(&seed) % 40) - 20;
			int base[3] = {x * 200 / w, y * 200 / h,
				       100 + (x + y) % 64};

			if (dx * dx + dy * dy < (w / 4) * (w / 4))
				base[0] = base[1] = base[2] = 180;
			for (int c = 0; c < 3; c++) {
				int v = base[c] + n;
				p[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
			}
		}
	return im;
}

static struct buf
encoded(const struct img *im, enum img_format fmt)
{
	struct buf b;
	unsigned char *data = NULL;
	size_t len = 0;
	struct errbuf eb = {0};

	assert_int_equal(img_encode(im, fmt, 90, &data, &len, &eb), IF_OK);
	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, data, len), 0);
	free(data);
	return b;
}

static struct buf
slurp(const char *path)
{
	struct buf b;
	struct errbuf eb = {0};

	buf_init(&b, 64u << 20);
	if (read_file(path, &b, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	return b;
}

/* The separate calls: load, render the stage, encode. */
static struct buf
reference(const struct buf *in, const struct img_stage_spec *s,
	  enum img_format fmt, int threads)
{
	struct img *orig = NULL, *stage = NULL, *heavy = NULL;
	struct errbuf eb = {0};
	struct buf out;

	assert_int_equal(img_load_mem(in->data, in->len, "in", 0, &orig, &eb),
			 IF_OK);
	if (s->style == REDACT_MEDIAN && s->heavy_window > 0) {
		assert_int_equal(img_new(&heavy, orig->w, orig->h, 0, &eb),
				 IF_OK);
		assert_int_equal(img_median(orig, heavy, s->heavy_window,
					    threads, &eb),
				 IF_OK);
	}
	assert_int_equal(img_render_stage(orig, s->window, s->boxes, s->n,
					  s->style, s->fill_rgb, heavy, threads,
					  &stage, &eb),
			 IF_OK);
	out = encoded(stage, fmt);
	img_free(heavy);
	img_free(stage);
	img_free(orig);
	return out;
}

static void
assert_renders_as_reference(struct img_renderer *r, const struct buf *in,
			    const struct img_stage_spec *s,
			    enum img_format fmt, int threads)
{
	struct buf want = reference(in, s, fmt, threads);
	const unsigned char *got = NULL;
	const struct img *im = NULL;
	struct img *back = NULL;
	size_t len = 0;
	struct errbuf eb = {0};

	if (img_renderer_encode(r, in->data, in->len, "in", s, fmt, 90, &got,
				&len, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	assert_int_equal(len, want.len);
	assert_memory_equal(got, want.data, len);
	/* The image alone: the pixels the encoded bytes were made from. */
	if (fmt == IMG_FORMAT_PPM) {
		assert_int_equal(img_renderer_image(r, in->data, in->len, "in",
						    s, &im, &eb),
				 IF_OK);
		assert_int_equal(img_load_mem(want.data, want.len, "want", 0,
					      &back, &eb),
				 IF_OK);
		assert_int_equal(im->w, back->w);
		assert_int_equal(im->h, back->h);
		for (int y = 0; y < im->h; y++)
			assert_memory_equal(im->px + (size_t)y * im->stride,
					    back->px + (size_t)y * back->stride,
					    (size_t)im->w * 3);
		img_free(back);
	}
	buf_cleanup(&want);
}

/* Boxes across the band boundaries (multiples of 16 rows) and edges. */
static const struct box tall_boxes[] = {
	{-10, -10, 40, 40}, {30, 200, 60, 100},	 {5, 215, 150, 30},
	{70, 440, 90, 300}, {0, 700, 160, 17},	 {40, 1000, 300, 300},
	{10, 9, 33, 1200},  {100, 1100, 20, 20}, {50, 2000, 10, 10},
};
#define NTALL (sizeof(tall_boxes) / sizeof(tall_boxes[0]))

/*
 * A tall JPEG (several early and late bands at window 27), every style,
 * 1, 2 and 3 threads: the renderer's bytes are the separate calls'.
 */
static void
test_same_bytes_as_separate_calls(void **state)
{
	static const int threads[] = {1, 2, 3};
	static const enum redact_style styles[] = {REDACT_FILL, REDACT_PIXELATE,
						   REDACT_MEDIAN};
	struct img *src = photo(160, 1203, 1);
	struct buf in = encoded(src, IMG_FORMAT_JPEG);
	struct errbuf eb = {0};

	(void)state;
	for (size_t t = 0; t < 3; t++) {
		struct img_renderer *r = NULL;

		assert_int_equal(img_renderer_new(&r, threads[t], 0, &eb),
				 IF_OK);
		for (size_t s = 0; s < 3; s++) {
			struct img_stage_spec spec = {
				.window = 27,
				.boxes = tall_boxes,
				.n = NTALL,
				.style = styles[s],
				.fill_rgb = 0x123456,
				.heavy_window = styles[s] == REDACT_MEDIAN ? 41
									   : 0,
			};
			assert_renders_as_reference(r, &in, &spec,
						    IMG_FORMAT_JPEG,
						    threads[t]);
		}
		img_renderer_free(r);
	}
	buf_cleanup(&in);
	img_free(src);
}

/*
 * The early thread's bands ending before the decode (the boundary rows
 * copied at once) and after it (left for the main thread): forced by the
 * test hook, so that both ways run whatever the timing.
 */
static void
test_early_bands_both_ways(void **state)
{
	static const enum redact_style styles[] = {REDACT_FILL,
						   REDACT_PIXELATE};
	struct img *src = photo(96, 2400, 5);
	struct buf in = encoded(src, IMG_FORMAT_JPEG);
	struct errbuf eb = {0};

	(void)state;
	for (int threads = 2; threads <= 3; threads++)
		for (int bands = 1; bands <= 3; bands++)
			for (size_t s = 0; s < 2; s++) {
				struct img_renderer *r = NULL;
				struct img_stage_spec spec = {
					.window = 27,
					.boxes = tall_boxes,
					.n = NTALL,
					.style = styles[s],
					.fill_rgb = 0x00ff00,
				};

				assert_int_equal(img_renderer_new(&r, threads,
								  0, &eb),
						 IF_OK);
				img_renderer_test_early_bands(r, bands);
				assert_renders_as_reference(r, &in, &spec,
							    IMG_FORMAT_JPEG,
							    threads);
				img_renderer_free(r);
			}
	buf_cleanup(&in);
	img_free(src);
}

/*
 * Median redaction computes the heavy image only in the rows its boxes
 * cover (plus the heavy window's half): boxes in a few rows of a tall
 * image, at the top, in the middle and at the bottom edge, and the final
 * image (window 1) too.
 */
static void
test_median_redaction_in_few_rows(void **state)
{
	static const struct box few[] = {
		{10, 500, 40, 30}, {60, 520, 50, 70}, {0, 0, 20, 5},
		{100, 1190, 60, 40},
	};
	struct img *src = photo(160, 1203, 9);
	struct buf in = encoded(src, IMG_FORMAT_JPEG);
	struct img_renderer *r = NULL;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_renderer_new(&r, 2, 0, &eb), IF_OK);
	for (size_t k = 1; k <= 4; k++) {
		struct img_stage_spec spec = {
			.window = k % 2 ? 27 : 1,
			.boxes = few + (k == 4 ? 3 : 0),
			.n = k < 3 ? 2 : k == 3 ? 4 : 1,
			.style = REDACT_MEDIAN,
			.heavy_window = 41,
		};
		assert_renders_as_reference(r, &in, &spec, IMG_FORMAT_PPM, 2);
	}
	img_renderer_free(r);
	buf_cleanup(&in);
	img_free(src);
}

/*
 * One renderer through images of different sizes, windows and formats, in
 * an order that makes it grow, shrink and grow its buffers: every result
 * is the fresh one.  Window 1 is the final image (the original redacted).
 */
static void
test_reused_across_sizes(void **state)
{
	static const struct {
		int w, h, window;
		enum img_format out;
	} cases[] = {
		{160, 1203, 27, IMG_FORMAT_JPEG},
		{7, 5, 3, IMG_FORMAT_JPEG},
		{300, 90, 13, IMG_FORMAT_PNG},
		{160, 1203, 1, IMG_FORMAT_JPEG},
		{61, 700, 41, IMG_FORMAT_PPM},
		{1, 1, 27, IMG_FORMAT_JPEG},
		{200, 333, 301, IMG_FORMAT_JPEG},
		{160, 1203, 27, IMG_FORMAT_PPM},
	};
	struct img_renderer *r = NULL;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_renderer_new(&r, 2, 0, &eb), IF_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct img *src = photo(cases[i].w, cases[i].h, 7 + i);
		struct buf in = encoded(src, IMG_FORMAT_JPEG);
		struct img_stage_spec spec = {
			.window = cases[i].window,
			.boxes = tall_boxes,
			.n = NTALL,
			.style = i % 2 ? REDACT_PIXELATE : REDACT_FILL,
			.fill_rgb = 0xff0000,
		};

		assert_renders_as_reference(r, &in, &spec, cases[i].out, 2);
		buf_cleanup(&in);
		img_free(src);
	}
	img_renderer_free(r);
}

/* Oriented JPEGs (decoded whole, then turned) and PNG input. */
static void
test_oriented_and_png_input(void **state)
{
	static const char *const files[] = {
		FIXDIR "orient_le_6.jpg", FIXDIR "orient_be_3.jpg",
		FIXDIR "orient_le_8.jpg", FIXDIR "orient_png_6.png",
		FIXDIR "rgba8.png",	  FIXDIR "s05_voc_family_group.jpg",
	};
	static const struct box boxes[] = {{2, 3, 10, 20}, {30, 1, 5, 5}};
	struct img_renderer *r = NULL;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_renderer_new(&r, 3, 0, &eb), IF_OK);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct buf in = slurp(files[i]);
		struct img_stage_spec spec = {
			.window = 5,
			.boxes = boxes,
			.n = 2,
			.style = REDACT_MEDIAN,
		};

		assert_renders_as_reference(r, &in, &spec, IMG_FORMAT_PPM, 3);
		spec.window = 1;
		assert_renders_as_reference(r, &in, &spec, IMG_FORMAT_JPEG, 3);
		buf_cleanup(&in);
	}
	img_renderer_free(r);
}

/*
 * Errors name the input and leave the renderer usable: a truncated JPEG,
 * one over the pixel limit, a bad quality, an unknown format, a file that
 * is not there.
 */
static void
test_errors_leave_it_usable(void **state)
{
	struct img *src = photo(160, 1203, 3);
	struct buf in = encoded(src, IMG_FORMAT_JPEG);
	struct img_stage_spec spec = {.window = 27,
				      .boxes = tall_boxes,
				      .n = NTALL};
	struct img_renderer *r = NULL, *small = NULL;
	const unsigned char *out = NULL;
	const void *data = NULL;
	size_t len = 0;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_renderer_new(&r, 2, 0, &eb), IF_OK);
	/* The decode fails while the early thread waits for its rows. */
	img_renderer_test_early_bands(r, 2);
	assert_int_equal(img_renderer_encode(r, in.data, in.len / 10, "cut.jpg",
					     &spec, IMG_FORMAT_JPEG, 0, &out,
					     &len, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "cut.jpg: corrupt or truncated JPEG"));
	err_init(&eb);
	assert_int_equal(img_renderer_encode(r, in.data, in.len / 2, "half.jpg",
					     &spec, IMG_FORMAT_JPEG, 0, &out,
					     &len, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "half.jpg: corrupt or truncated JPEG"));
	assert_null(out);
	err_init(&eb);
	assert_int_equal(img_renderer_encode(r, in.data, in.len, "q.jpg", &spec,
					     IMG_FORMAT_JPEG, 101, &out, &len,
					     &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "quality 101"));
	err_init(&eb);
	assert_int_equal(img_renderer_encode(r, in.data, in.len, "x.jpg", &spec,
					     IMG_FORMAT_UNKNOWN, 0, &out, &len,
					     &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(img_renderer_read_file(r, "/nonexistent/a.jpg", &data,
						&len, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "/nonexistent/a.jpg"));
	err_init(&eb);
	assert_int_equal(img_renderer_new(&small, 2, 1000, &eb), IF_OK);
	assert_int_equal(img_renderer_encode(small, in.data, in.len, "big.jpg",
					     &spec, IMG_FORMAT_JPEG, 0, &out,
					     &len, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "big.jpg: image of 160x1203"));
	img_renderer_free(small);
	/* And after all that, the right bytes. */
	assert_renders_as_reference(r, &in, &spec, IMG_FORMAT_JPEG, 2);
	img_renderer_free(r);
	img_renderer_free(NULL);
	buf_cleanup(&in);
	img_free(src);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_bytes_as_separate_calls),
		cmocka_unit_test(test_early_bands_both_ways),
		cmocka_unit_test(test_median_redaction_in_few_rows),
		cmocka_unit_test(test_reused_across_sizes),
		cmocka_unit_test(test_oriented_and_png_input),
		cmocka_unit_test(test_errors_leave_it_usable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
