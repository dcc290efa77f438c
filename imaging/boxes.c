/*
 * imaging/boxes.c - box geometry: clipping, the pixel vote behind
 * "majority" aggregation, and coverage for the "found" metric
 * (spec sections 4 and 8).
 *
 * Boxes are few (at most a few hundred per image) but images are large, so
 * everything here works on the grid that the box edges induce rather than
 * on pixels: compressed coordinates make the vote and the coverage exact
 * and independent of the image size.
 */
#include "imaging/imaging.h"

#include <stdlib.h>
#include <string.h>

bool
box_clip(struct box *b, int w, int h)
{
	int64_t x0 = b->x, y0 = b->y;
	int64_t x1 = x0 + b->w, y1 = y0 + b->h;

	if (b->w <= 0 || b->h <= 0)
		return false;
	if (x0 < 0)
		x0 = 0;
	if (y0 < 0)
		y0 = 0;
	if (x1 > w)
		x1 = w;
	if (y1 > h)
		y1 = h;
	if (x1 <= x0 || y1 <= y0)
		return false;
	b->x = (int)x0;
	b->y = (int)y0;
	b->w = (int)(x1 - x0);
	b->h = (int)(y1 - y0);
	return true;
}

size_t
boxes_clip_all(struct box *boxes, size_t n, int w, int h)
{
	size_t kept = 0;

	for (size_t i = 0; i < n; i++) {
		struct box b = boxes[i];
		if (box_clip(&b, w, h))
			boxes[kept++] = b;
	}
	return kept;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Sorted, unique edge coordinates of the boxes along one axis. */
static int *
edges(const struct box *const *sets, const size_t *counts, size_t nsets,
      bool horizontal, size_t *n)
{
	size_t total = 0, k = 0, u = 0;
	int *e;

	for (size_t s = 0; s < nsets; s++)
		total += counts[s];
	e = malloc((2 * total + 1) * sizeof(*e));
	if (e == NULL)
		return NULL;
	for (size_t s = 0; s < nsets; s++)
		for (size_t i = 0; i < counts[s]; i++) {
			const struct box *b = &sets[s][i];
			e[k++] = horizontal ? b->x : b->y;
			e[k++] = horizontal ? b->x + b->w : b->y + b->h;
		}
	qsort(e, k, sizeof(*e), cmp_int);
	for (size_t i = 0; i < k; i++)
		if (u == 0 || e[u - 1] != e[i])
			e[u++] = e[i];
	*n = u;
	return e;
}

static size_t
find_edge(const int *e, size_t n, int v)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The vote of boxes_vote() and boxes_vote_weighted(): a set gives a cell
 * the largest weight (0..100) among its boxes over it, 100 when weights
 * is NULL; a cell wins when its votes pass need.
 */
static int
vote(const struct box *const *sets, const int *const *weights,
     const size_t *counts, size_t nsets, uint64_t need, int w, int h,
     struct box **out, size_t *nout, struct errbuf *eb)
{
	struct box **clipped = NULL;
	unsigned char **cw = NULL;
	size_t *ccounts = NULL, nx = 0, ny = 0, nres = 0, cap = 0;
	int *xs = NULL, *ys = NULL, rc = IF_OK;
	uint32_t *votes = NULL;
	unsigned char *seen = NULL, *cell = NULL;
	struct box *res = NULL;

	*out = NULL;
	*nout = 0;
	clipped = calloc(nsets + 1, sizeof(*clipped));
	cw = calloc(nsets + 1, sizeof(*cw));
	ccounts = calloc(nsets + 1, sizeof(*ccounts));
	if (clipped == NULL || cw == NULL || ccounts == NULL)
		goto oom;
	for (size_t s = 0; s < nsets; s++) {
		clipped[s] = malloc((counts[s] + 1) * sizeof(struct box));
		cw[s] = malloc(counts[s] + 1);
		if (clipped[s] == NULL || cw[s] == NULL)
			goto oom;
		/* Clipped in step with the weights: empty boxes go. */
		for (size_t i = 0; i < counts[s]; i++) {
			struct box b = sets[s][i];
			int wt = weights != NULL && weights[s] != NULL
					 ? weights[s][i]
					 : 100;

			if (!box_clip(&b, w, h))
				continue;
			cw[s][ccounts[s]] =
				(unsigned char)(wt < 0 ? 100 : wt > 100 ? 100
									: wt);
			clipped[s][ccounts[s]++] = b;
		}
	}
	xs = edges((const struct box *const *)clipped, ccounts, nsets, true,
		   &nx);
	ys = edges((const struct box *const *)clipped, ccounts, nsets, false,
		   &ny);
	if (xs == NULL || ys == NULL)
		goto oom;
	if (nx < 2 || ny < 2)
		goto done;
	/* votes[j][i]: how many sets cover grid cell (i, j). */
	votes = calloc((nx - 1) * (ny - 1), sizeof(*votes));
	seen = malloc((nx - 1) * (ny - 1));
	cell = calloc((nx - 1) * (ny - 1), 1);
	if (votes == NULL || seen == NULL || cell == NULL)
		goto oom;
	for (size_t s = 0; s < nsets; s++) {
		/*
		 * A set votes once per cell, however many of its boxes
		 * overlap.
		 */
		memset(seen, 0, (nx - 1) * (ny - 1));
		for (size_t i = 0; i < ccounts[s]; i++) {
			const struct box *b = &clipped[s][i];
			size_t x0 = find_edge(xs, nx, b->x);
			size_t x1 = find_edge(xs, nx, b->x + b->w);
			size_t y0 = find_edge(ys, ny, b->y);
			size_t y1 = find_edge(ys, ny, b->y + b->h);
			for (size_t y = y0; y < y1; y++)
				for (size_t x = x0; x < x1; x++)
					if (seen[y * (nx - 1) + x] < cw[s][i])
						seen[y * (nx - 1) + x] =
							cw[s][i];
		}
		for (size_t c = 0; c < (nx - 1) * (ny - 1); c++)
			votes[c] += seen[c];
	}
	for (size_t c = 0; c < (nx - 1) * (ny - 1); c++)
		cell[c] = votes[c] > need;
	/*
	 * Greedy cover of the winning cells by rectangles: extend right along
	 * the row, then down while the whole run wins.  Exact: every winning
	 * cell is in exactly one box and no losing cell is in any.
	 */
	for (size_t y = 0; y < ny - 1; y++)
		for (size_t x = 0; x < nx - 1; x++) {
			size_t xe = x, ye;
			if (!cell[y * (nx - 1) + x])
				continue;
			while (xe < nx - 1 && cell[y * (nx - 1) + xe])
				xe++;
			for (ye = y + 1; ye < ny - 1; ye++) {
				size_t k;
				for (k = x; k < xe; k++)
					if (!cell[ye * (nx - 1) + k])
						break;
				if (k < xe)
					break;
			}
			for (size_t yy = y; yy < ye; yy++)
				memset(&cell[yy * (nx - 1) + x], 0, xe - x);
			if (nres == cap) {
				size_t ncap = cap != 0 ? cap * 2 : 16;
				struct box *p = realloc(res, ncap * sizeof(*p));
				if (p == NULL)
					goto oom;
				res = p;
				cap = ncap;
			}
			res[nres++] = (struct box){xs[x], ys[y], xs[xe] - xs[x],
						   ys[ye] - ys[y]};
		}
	goto done;
oom:
	rc = err_set(eb, IF_ERUNTIME, "out of memory in the box vote");
done:
	if (rc == IF_OK) {
		*out = res;
		*nout = nres;
	} else {
		free(res);
	}
	for (size_t s = 0; clipped != NULL && s < nsets; s++)
		free(clipped[s]);
	for (size_t s = 0; cw != NULL && s < nsets; s++)
		free(cw[s]);
	free(clipped);
	free(cw);
	free(ccounts);
	free(xs);
	free(ys);
	free(votes);
	free(seen);
	free(cell);
	return rc;
}

int
boxes_vote(const struct box *const *sets, const size_t *counts, size_t nsets,
	   size_t threshold, int w, int h, struct box **out, size_t *nout,
	   struct errbuf *eb)
{
	return vote(sets, NULL, counts, nsets, (uint64_t)threshold * 100, w, h,
		    out, nout, eb);
}

int
boxes_vote_weighted(const struct box *const *sets,
		    const int *const *weights, const size_t *counts,
		    size_t nsets, size_t threshold, int w, int h,
		    struct box **out, size_t *nout, struct errbuf *eb)
{
	return vote(sets, weights, counts, nsets, (uint64_t)threshold * 100, w,
		    h, out, nout, eb);
}

/*
 * Sweeps the horizontal slabs between consecutive y edges: in each, the
 * boxes spanning it mark their x cells in a difference array, whose running
 * sum says which cells are covered.  O(y edges x (boxes + x edges)), so
 * hundreds of boxes over the whole image stay cheap (issue 15).
 */
double
box_coverage(const struct box *target, const struct box *boxes, size_t n)
{
	struct box *inside;
	size_t k = 0, nx = 0, ny = 0, *x0 = NULL, *x1 = NULL;
	const struct box *sets[1];
	int *xs, *ys, *diff = NULL;
	double covered = 0, area;

	if (target->w <= 0 || target->h <= 0)
		return 0.0;
	inside = malloc((n + 1) * sizeof(*inside));
	if (inside == NULL)
		return 0.0;
	/* Clip every box to the target: only the part inside it counts. */
	for (size_t i = 0; i < n; i++) {
		struct box b = {boxes[i].x - target->x, boxes[i].y - target->y,
				boxes[i].w, boxes[i].h};
		if (box_clip(&b, target->w, target->h))
			inside[k++] = b;
	}
	sets[0] = inside;
	xs = edges(sets, &k, 1, true, &nx);
	ys = edges(sets, &k, 1, false, &ny);
	if (xs != NULL && ys != NULL && nx >= 2 && ny >= 2) {
		x0 = malloc(k * sizeof(*x0));
		x1 = malloc(k * sizeof(*x1));
		diff = malloc(nx * sizeof(*diff));
	}
	if (x0 != NULL && x1 != NULL && diff != NULL) {
		for (size_t i = 0; i < k; i++) {
			x0[i] = find_edge(xs, nx, inside[i].x);
			x1[i] = find_edge(xs, nx, inside[i].x + inside[i].w);
		}
		for (size_t y = 0; y + 1 < ny; y++) {
			int cover = 0;
			int64_t len = 0;

			memset(diff, 0, nx * sizeof(*diff));
			for (size_t i = 0; i < k; i++)
				if (inside[i].y <= ys[y] &&
				    ys[y + 1] <= inside[i].y + inside[i].h) {
					diff[x0[i]]++;
					diff[x1[i]]--;
				}
			for (size_t x = 0; x + 1 < nx; x++) {
				cover += diff[x];
				if (cover > 0)
					len += xs[x + 1] - xs[x];
			}
			covered += (double)len * (ys[y + 1] - ys[y]);
		}
	}
	free(x0);
	free(x1);
	free(diff);
	free(xs);
	free(ys);
	free(inside);
	area = (double)target->w * target->h;
	return covered / area;
}

int
img_length_resolve(int px, int bp, int w, int h)
{
	int64_t side = w < h ? w : h;
	int64_t v;

	if (bp <= 0)
		return px > 0 ? px : 1;
	/* Rounded half up, in integers: bp is hundredths of a percent. */
	v = (side * bp + 5000) / 10000;
	return v < 1 ? 1 : v > INT32_MAX ? INT32_MAX : (int)v;
}
