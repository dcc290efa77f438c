/*
 * tests/support/redact_reference.h - the redaction before issue 15, each
 * box redacted after the other: the reference whose bytes test_redact
 * compares img_redact() against, and the baseline bench_redact times.
 * Header-only, so that the bench (which links the library alone) and the
 * unit suite share one copy.
 */
#ifndef INTOFOCUS_REDACT_REFERENCE_H
#define INTOFOCUS_REDACT_REFERENCE_H

#include "imaging/imaging_private.h"

#include <stdint.h>
#include <string.h>

#define REF_BLOCK 16

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

#endif
