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
 * Boxes are clipped first; empty ones do nothing.  The result is that of
 * redacting the boxes one after the other, but the cost is bounded by the
 * image area, not by the boxes' total area: workers may send hundreds of
 * boxes over the whole image (issue 15).
 *
 *   fill and median write the same value into a pixel whatever box covers
 *   it, so they paint the union once: a sweep down the rows keeps a
 *   difference array of the boxes over the row, and its running sum says
 *   which pixels are covered.
 *   pixelate is not idempotent over overlapping parts of a block (a box
 *   averages what an earlier one left), but once a box covers a whole
 *   block the block is uniform and every later box leaves it as it is.
 *   So each block gets the boxes that cover part of it before the first
 *   box that covers all of it, then that one; partial covers lie on the
 *   boxes' borders, so their number grows with the boxes' perimeters.
 */
#include "imaging/imaging.h"
#include "imaging/imaging_private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PIXELATE_BLOCK 16
#define NO_BOX SIZE_MAX

/* Writes the pixels [x0, x1) of row y: fill colour or the heavy image. */
static void
paint_run(struct img *im, int y, int x0, int x1, enum redact_style style,
	  const uint8_t px[3], const struct img *heavy)
{
	uint8_t *p = im->px + (size_t)y * im->stride + (size_t)x0 * 3;

	if (style == REDACT_MEDIAN) {
		memcpy(p, heavy->px + (size_t)y * heavy->stride +
				  (size_t)x0 * 3,
		       (size_t)(x1 - x0) * 3);
		return;
	}
	for (int x = x0; x < x1; x++, p += 3)
		memcpy(p, px, 3);
}

/* A row where a box starts or ends, with the box. */
struct row_event {
	int y;
	size_t box;
};

static int
cmp_row_event(const void *a, const void *b)
{
	const struct row_event *p = a, *q = b;

	if (p->y != q->y)
		return (p->y > q->y) - (p->y < q->y);
	return (p->box > q->box) - (p->box < q->box);
}

/* fill and median: the union of the (clipped) boxes, each pixel once. */
static int
paint_union(struct img *im, const struct box *c, size_t m,
	    enum redact_style style, uint32_t fill_rgb,
	    const struct img *heavy, uint64_t *writes, struct errbuf *eb)
{
	uint8_t px[3] = {(uint8_t)(fill_rgb >> 16), (uint8_t)(fill_rgb >> 8),
			 (uint8_t)fill_rgb};
	struct row_event *tops, *bottoms;
	size_t nt = 0, nb = 0, active = 0;
	int32_t *diff;
	int top = im->h, bottom = 0;

	tops = malloc(m * sizeof(*tops));
	bottoms = malloc(m * sizeof(*bottoms));
	diff = calloc((size_t)im->w + 1, sizeof(*diff));
	if (tops == NULL || bottoms == NULL || diff == NULL) {
		free(tops);
		free(bottoms);
		free(diff);
		return err_set(eb, IF_ERUNTIME, "out of memory in redaction");
	}
	for (size_t i = 0; i < m; i++) {
		tops[i] = (struct row_event){c[i].y, i};
		bottoms[i] = (struct row_event){c[i].y + c[i].h, i};
		top = c[i].y < top ? c[i].y : top;
		bottom = c[i].y + c[i].h > bottom ? c[i].y + c[i].h : bottom;
	}
	qsort(tops, m, sizeof(*tops), cmp_row_event);
	qsort(bottoms, m, sizeof(*bottoms), cmp_row_event);
	for (int y = top; y < bottom; y++) {
		int32_t cover = 0;
		int run = -1;

		for (; nb < m && bottoms[nb].y == y; nb++) {
			const struct box *b = &c[bottoms[nb].box];
			diff[b->x]--;
			diff[b->x + b->w]++;
			active--;
		}
		for (; nt < m && tops[nt].y == y; nt++) {
			const struct box *b = &c[tops[nt].box];
			diff[b->x]++;
			diff[b->x + b->w]--;
			active++;
		}
		if (active == 0)
			continue;
		for (int x = 0; x <= im->w; x++) {
			cover += diff[x];
			if (cover > 0 && run < 0) {
				run = x;
			} else if (cover == 0 && run >= 0) {
				paint_run(im, y, run, x, style, px, heavy);
				*writes += (uint64_t)(x - run);
				run = -1;
			}
		}
	}
	free(tops);
	free(bottoms);
	free(diff);
	return IF_OK;
}

/* Replaces the pixels [x0, x1) x [y0, y1) with their mean. */
static void
average_rect(struct img *im, int x0, int y0, int x1, int y1,
	     uint64_t *writes)
{
	uint64_t sum[3] = {0, 0, 0}, n;
	uint8_t mean[3];

	for (int y = y0; y < y1; y++) {
		const uint8_t *p =
			im->px + (size_t)y * im->stride + (size_t)x0 * 3;
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
		uint8_t *p = im->px + (size_t)y * im->stride + (size_t)x0 * 3;
		for (int x = x0; x < x1; x++, p += 3)
			memcpy(p, mean, 3);
	}
	*writes += n;
}

/* The part of block (bx, by) inside box b, averaged. */
static void
average_block_part(struct img *im, const struct box *b, int bx, int by,
		   uint64_t *writes)
{
	int x0 = bx * PIXELATE_BLOCK, y0 = by * PIXELATE_BLOCK;
	int x1 = x0 + PIXELATE_BLOCK, y1 = y0 + PIXELATE_BLOCK;

	x0 = x0 > b->x ? x0 : b->x;
	y0 = y0 > b->y ? y0 : b->y;
	x1 = x1 < b->x + b->w ? x1 : b->x + b->w;
	y1 = y1 < b->y + b->h ? y1 : b->y + b->h;
	if (x1 > x0 && y1 > y0)
		average_rect(im, x0, y0, x1, y1, writes);
}

/*
 * The blocks [*f0, *f1) along one axis that the span [s, e) covers whole;
 * the last block ends at the image edge n.
 */
static void
whole_blocks(int s, int e, int n, int nblocks, int *f0, int *f1)
{
	*f0 = (s + PIXELATE_BLOCK - 1) / PIXELATE_BLOCK;
	*f1 = e == n ? nblocks : e / PIXELATE_BLOCK;
	if (*f1 < *f0)
		*f1 = *f0;
}

/* The first column >= c of a row not yet given its first whole cover. */
static int
next_open(int *next, int c)
{
	int r = c;

	while (next[r] != r)
		r = next[r];
	while (next[c] != r) {
		int up = next[c];
		next[c] = r;
		c = up;
	}
	return r;
}

static int
pixelate(struct img *im, const struct box *c, size_t m, uint64_t *writes,
	 struct errbuf *eb)
{
	int bw = (im->w + PIXELATE_BLOCK - 1) / PIXELATE_BLOCK;
	int bh = (im->h + PIXELATE_BLOCK - 1) / PIXELATE_BLOCK;
	size_t nblocks = (size_t)bw * (size_t)bh;
	size_t *first_whole = malloc(nblocks * sizeof(*first_whole));
	int *next = malloc((size_t)bh * ((size_t)bw + 1) * sizeof(*next));

	if (first_whole == NULL || next == NULL) {
		free(first_whole);
		free(next);
		return err_set(eb, IF_ERUNTIME, "out of memory in redaction");
	}
	for (size_t k = 0; k < nblocks; k++)
		first_whole[k] = NO_BOX;
	for (int by = 0; by < bh; by++)
		for (int bx = 0; bx <= bw; bx++)
			next[(size_t)by * (bw + 1) + bx] = bx;
	/* Each block's first whole cover, every block visited once. */
	for (size_t i = 0; i < m; i++) {
		int fx0, fx1, fy0, fy1;

		whole_blocks(c[i].x, c[i].x + c[i].w, im->w, bw, &fx0, &fx1);
		whole_blocks(c[i].y, c[i].y + c[i].h, im->h, bh, &fy0, &fy1);
		for (int by = fy0; by < fy1; by++) {
			int *row = next + (size_t)by * (bw + 1);
			for (int bx = next_open(row, fx0); bx < fx1;
			     bx = next_open(row, bx)) {
				first_whole[(size_t)by * bw + bx] = i;
				row[bx] = bx + 1;
			}
		}
	}
	/* Partial covers, in box order, up to the block's first whole one. */
	for (size_t i = 0; i < m; i++) {
		const struct box *b = &c[i];
		int tx0 = b->x / PIXELATE_BLOCK;
		int tx1 = (b->x + b->w - 1) / PIXELATE_BLOCK + 1;
		int ty0 = b->y / PIXELATE_BLOCK;
		int ty1 = (b->y + b->h - 1) / PIXELATE_BLOCK + 1;
		int fx0, fx1, fy0, fy1;

		whole_blocks(b->x, b->x + b->w, im->w, bw, &fx0, &fx1);
		whole_blocks(b->y, b->y + b->h, im->h, bh, &fy0, &fy1);
		for (int by = ty0; by < ty1; by++) {
			bool inner = by >= fy0 && by < fy1 && fx0 < fx1;
			for (int bx = tx0; bx < tx1; bx++) {
				if (inner && bx == fx0)
					bx = fx1;
				if (bx >= tx1)
					break;
				if (i < first_whole[(size_t)by * bw + bx])
					average_block_part(im, b, bx, by,
							   writes);
			}
		}
	}
	/* Then each whole cover, after which the block is uniform. */
	for (int by = 0; by < bh; by++)
		for (int bx = 0; bx < bw; bx++) {
			struct box whole = {0, 0, im->w, im->h};
			if (first_whole[(size_t)by * bw + bx] != NO_BOX)
				average_block_part(im, &whole, bx, by, writes);
		}
	free(first_whole);
	free(next);
	return IF_OK;
}

int
img_redact_counted(struct img *im, const struct box *boxes, size_t n,
		   enum redact_style style, uint32_t fill_rgb,
		   const struct img *heavy, uint64_t *pixel_writes,
		   struct errbuf *eb)
{
	struct box *clipped;
	uint64_t writes = 0;
	size_t m = 0;
	int rc;

	if (style == REDACT_MEDIAN &&
	    (heavy == NULL || heavy->w != im->w || heavy->h != im->h))
		return err_set(eb, IF_EINPUT,
			       "median redaction needs the stage-1 image of "
			       "the same size");
	if (style != REDACT_FILL && style != REDACT_MEDIAN &&
	    style != REDACT_PIXELATE)
		return err_set(eb, IF_EINPUT, "unknown redaction style %d",
			       (int)style);
	if (pixel_writes != NULL)
		*pixel_writes = 0;
	if (n == 0)
		return IF_OK;
	clipped = malloc(n * sizeof(*clipped));
	if (clipped == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory in redaction");
	for (size_t i = 0; i < n; i++) {
		clipped[m] = boxes[i];
		if (box_clip(&clipped[m], im->w, im->h))
			m++;
	}
	if (m == 0)
		rc = IF_OK;
	else if (style == REDACT_PIXELATE)
		rc = pixelate(im, clipped, m, &writes, eb);
	else
		rc = paint_union(im, clipped, m, style, fill_rgb, heavy,
				 &writes, eb);
	free(clipped);
	if (rc == IF_OK && pixel_writes != NULL)
		*pixel_writes = writes;
	return rc;
}

int
img_redact(struct img *im, const struct box *boxes, size_t n,
	   enum redact_style style, uint32_t fill_rgb,
	   const struct img *heavy, struct errbuf *eb)
{
	return img_redact_counted(im, boxes, n, style, fill_rgb, heavy, NULL,
				  eb);
}
