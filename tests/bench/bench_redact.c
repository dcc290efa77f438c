/*
 * tests/bench/bench_redact.c - redaction of 3 workers x 200 boxes over the
 * whole of a 12 MP image (issue 15), for `make bench`: the implementation
 * before issue 15 (box after box, kept here as the baseline) against
 * img_redact(), time and pixels written, for the fill and pixelate styles
 * (median copies like fill).  Figures only: it never fails on speed.
 */
#include "imaging/imaging_private.h"
#include "tests/support/redact_reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define W 4000
#define H 3000
#define NBOXES 600

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The implementation before issue 15, box after box. */
static uint64_t
ref_redact(struct img *im, const struct box *boxes, size_t n,
	   enum redact_style style, uint32_t fill_rgb, const struct img *heavy)
{
	uint64_t writes = 0;

	for (size_t i = 0; i < n; i++) {
		struct box b = boxes[i];
		if (!box_clip(&b, im->w, im->h))
			continue;
		writes += (uint64_t)b.w * (uint64_t)b.h;
		if (style == REDACT_FILL)
			ref_fill_box(im, &b, fill_rgb);
		else if (style == REDACT_MEDIAN)
			ref_copy_box(im, &b, heavy);
		else
			ref_pixelate_box(im, &b);
	}
	return writes;
}

int
main(void)
{
	static const enum redact_style styles[] = {REDACT_FILL,
						   REDACT_PIXELATE};
	static const char *const names[] = {"fill", "pixelate"};
	struct box boxes[NBOXES];
	struct img *im = NULL;
	struct errbuf eb = {0};

	if (img_new(&im, W, H, 0, &eb) != IF_OK) {
		fprintf(stderr, "bench_redact: %s\n", eb.msg);
		return 1;
	}
	memset(im->px, 0x5a, (size_t)im->stride * H);
	/* Whole-image boxes, a few pixels apart, as a hostile worker sends. */
	for (int i = 0; i < NBOXES; i++)
		boxes[i] = (struct box){-(i % 5), -(i % 7), W + i % 11,
					H + i % 13};
	printf("redaction, %d boxes over the whole of a %dx%d image "
	       "(%.0f MP):\n",
	       NBOXES, W, H, (double)W * H / 1e6);
	printf("%9s | %10s %14s | %10s %14s | %7s\n", "style", "before ms",
	       "before writes", "after ms", "after writes", "speedup");
	for (size_t k = 0; k < 2; k++) {
		double t0, before, after = 1e30;
		uint64_t wb, wa = 0;

		t0 = now_ms();
		wb = ref_redact(im, boxes, NBOXES, styles[k], 0x808080, NULL);
		before = now_ms() - t0;
		for (int rep = 0; rep < 3; rep++) {
			t0 = now_ms();
			if (img_redact_counted(im, boxes, NBOXES, styles[k],
					       0x808080, NULL, &wa,
					       &eb) != IF_OK) {
				fprintf(stderr, "bench_redact: %s\n", eb.msg);
				img_free(im);
				return 1;
			}
			t0 = now_ms() - t0;
			after = t0 < after ? t0 : after;
		}
		printf("%9s | %10.1f %14llu | %10.1f %14llu | %6.0fx\n",
		       names[k], before, (unsigned long long)wb, after,
		       (unsigned long long)wa, before / after);
	}
	img_free(im);
	return 0;
}
