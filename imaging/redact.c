/*
 * imaging/redact.c - hiding the selected regions (spec section 4).
 *
 *   fill      paints the box in one colour;
 *   median    copies the stage-1 (heaviest) filtered pixels into the box,
 *             so the region keeps its rough colours but none of its detail;
 *   pixelate  replaces each 16x16 block with its mean.  Blocks are aligned
 *             to the image grid, not to the box, so that overlapping boxes
 *             from different workers pixelate to the same blocks; a block
 *             partly outside the box is averaged over its part inside.
 *
 * Boxes are clipped first; empty ones do nothing.
 */
#include "imaging/imaging.h"

#include <string.h>

#define PIXELATE_BLOCK 16

static void
fill_box(struct img *im, const struct box *b, uint32_t rgb)
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
copy_box(struct img *im, const struct box *b, const struct img *from)
{
	for (int y = b->y; y < b->y + b->h; y++)
		memcpy(im->px + (size_t)y * im->stride + (size_t)b->x * 3,
		       from->px + (size_t)y * from->stride + (size_t)b->x * 3,
		       (size_t)b->w * 3);
}

static void
pixelate_box(struct img *im, const struct box *b)
{
	int bx0 = b->x / PIXELATE_BLOCK * PIXELATE_BLOCK;
	int by0 = b->y / PIXELATE_BLOCK * PIXELATE_BLOCK;

	for (int by = by0; by < b->y + b->h; by += PIXELATE_BLOCK)
		for (int bx = bx0; bx < b->x + b->w; bx += PIXELATE_BLOCK) {
			struct box cell = {bx, by, PIXELATE_BLOCK, PIXELATE_BLOCK};
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
				const uint8_t *p = im->px + (size_t)y * im->stride +
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

int
img_redact(struct img *im, const struct box *boxes, size_t n,
	   enum redact_style style, uint32_t fill_rgb,
	   const struct img *heavy, struct errbuf *eb)
{
	if (style == REDACT_MEDIAN &&
	    (heavy == NULL || heavy->w != im->w || heavy->h != im->h))
		return err_set(eb, IF_EINPUT,
			       "median redaction needs the stage-1 image of "
			       "the same size");
	if (style != REDACT_FILL && style != REDACT_MEDIAN &&
	    style != REDACT_PIXELATE)
		return err_set(eb, IF_EINPUT, "unknown redaction style %d",
			       (int)style);
	for (size_t i = 0; i < n; i++) {
		struct box b = boxes[i];
		if (!box_clip(&b, im->w, im->h))
			continue;
		switch (style) {
		case REDACT_FILL:
			fill_box(im, &b, fill_rgb);
			break;
		case REDACT_MEDIAN:
			copy_box(im, &b, heavy);
			break;
		case REDACT_PIXELATE:
			pixelate_box(im, &b);
			break;
		}
	}
	return IF_OK;
}
