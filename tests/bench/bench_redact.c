/*
 * tests/bench/bench_redact.c - redaction of 3 workers x 200 boxes over the
 * whole of a 12 MP image (issue 15), for `make bench`: the implementation
 * before issue 15 (box after box, kept here as the baseline) against
 * img_redact(), time and pixels written, for the fill and pixelate styles
 * (median copies like fill).  Figures only: it never fails on speed.
 */
#include "imaging/imaging_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REF_BLOCK 16
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
static void
ref_fill_box(struct img *im, const struct box *b, uint32_t rgb)
{
	uint8_t px[3] = {(uint8_t)(rgb >> 16), (uint8_t)(rgb >> 8),
			 (uint8_t)rgb};

	for (int y = b->y; y < b->y + b->h; y++) {
		uint8_t *p = im->px + (size_t)y * im->stride + (size_t)b->x * 3;
		for (int x = 0; x < b->w; x++, p += 3)
			memcpy(p, px, 3);
	}
}

static void
ref_copy_box(struct img *im, const struct box *b, const struct img *from)
{
	for (int y = b->y; y < b->y + b->h; y++)
		memcpy(im->px + (size_t)y * im->stride + (size_t)b->x * 3,
		       from->px + (size_t)y * from->stride + (size_t)b->x * 3,
		       (size_t)b->w * 3);
}

static void
ref_pixelate_box(struct img *im, const struct box *b)
{
	int bx0 = b->x / REF_BLOCK * REF_BLOCK;
	int by0 = b->y / REF_BLOCK * REF_BLOCK;

	for (int by = by0; by < b->y + b->h; by += REF_BLOCK)
		for (int bx = bx0; bx < b->x + b->w; bx += REF_BLOCK) {
			struct box cell = {bx, by, REF_BLOCK, REF_BLOCK};
			uint64_t sum[3] = {0, 0, 0}, n;
			uint8_t mean[3];
			/* The part of the block inside the box. */
			int x0 = cell.x > b->x ? cell.x : b->x;
			int y0 = cell.y > b->y ? cell.y : b->y;
			int x1 = cell.x + cell.w < b->x + b->w ? cell.x + cell.w
							       : b->x + b->w;
			int y1 = cell.y + cell.h < b->y + b->h ? cell.y + cell.h
							       : b->y + b->h;
			if (x1 <= x0 || y1 <= y0)
				continue;
			for (int y = y0; y < y1; y++) {
				const uint8_t *p = im->px +
						   (size_t)y * im->stride +
						   (size_t)x0 * 3;
				for (int x = x0; x < x1; x++, p += 3) {
					sum[0] += p[0];
					sum[1] += p[1];
					sum[2] += p[2];
				}
			}
			n = (uint64_t)(x1 - x0) * (uint64_t)(y1 - y0);
			for (int c = 0; c < 3; c++)
				mean[c] = (uint8_t)((sum[c] + n / 2) / n);
			for (int y = y0; y < y1; y++) {
				uint8_t *p = im->px + (size_t)y * im->stride +
					     (size_t)x0 * 3;
				for (int x = x0; x < x1; x++, p += 3)
					memcpy(p, mean, 3);
			}
		}
}

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
