/*
 * imaging/median.c - the constant-time median filter (spec section 4).
 *
 * Semantics: per channel, a square window of odd width w, borders by
 * replicating the edge pixels, the value at rank w*w/2 (0-based) of the
 * window - bit-identical to Pillow's MedianFilter(size=w) and OpenCV's
 * medianBlur.
 *
 * Method: Perreault & Hebert (2007), written from the paper.  Each column
 * keeps a histogram of the w pixels above and below the current row, in two
 * levels: 16 coarse bins (the high nibble) and 16 fine segments of 16 bins.
 * Moving down one row costs two increments per column; moving right one
 * pixel adds one column histogram to the kernel histogram and subtracts
 * another.  The coarse level is always current; a fine segment is brought up
 * to date only when the median falls into it (the paper's lazy update), so
 * the cost per pixel does not depend on w.  Edge replication falls out of
 * clamping column and row indices: a column left of the image is column 0
 * counted again.
 *
 * Histogram bins are 16-bit, sixteen to a vector (GCC vector extensions);
 * the hot loop is compiled twice, for AVX2 and for the baseline, and the
 * loader picks one at run time (target_clones), so no build assumes AVX2.
 * Windows over 255 could overflow 16-bit kernel counts (w*w > 65535); they
 * take a plain 32-bit path that is slower but exact.
 *
 * Parallelism: horizontal strips, one per thread, each with its own w/2-row
 * halo; columns are processed in tiles so that a tile's column histograms
 * stay in the L2 cache.
 */
#include "imaging/imaging.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef uint16_t hist16 __attribute__((vector_size(32)));

/* Columns per tile: 512 columns of fine histograms are 256 KiB. */
#define TILE_COLS 512

struct strip_job {
	const struct img *src;
	struct img *dst;
	int r;	/* window radius */
	int y0; /* first output row of the strip */
	int y1; /* one past the last */
	int rc; /* IF_OK or IF_ERUNTIME (out of memory) */
};

static inline int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) &&       \
	!defined(__SANITIZE_ADDRESS__)
#define MEDIAN_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MEDIAN_CLONES
#endif

/*
 * One channel of one tile of one strip.  fine holds ncols*16 vectors
 * (fine[c*16 + k] = bins 16k..16k+15 of column c), coarse ncols vectors.
 */
MEDIAN_CLONES static void
tile_channel(const struct img *src, struct img *dst, int ch, int r, int tx0,
	     int tx1, int y0, int y1, hist16 *fine, hist16 *coarse)
{
	const int W = src->w, H = src->h, w = 2 * r + 1;
	const int c0 = tx0 - r < 0 ? 0 : tx0 - r;
	const int c1 = tx1 + r > W ? W : tx1 + r;
	const int ncols = c1 - c0;
	const unsigned rank = (unsigned)(w * w / 2);
	uint16_t *fine16 = (uint16_t *)fine, *coarse16 = (uint16_t *)coarse;

	memset(fine, 0, (size_t)ncols * 16 * sizeof(hist16));
	memset(coarse, 0, (size_t)ncols * sizeof(hist16));
	for (int j = -r; j <= r; j++) {
		const uint8_t *row = src->px +
				     (size_t)clampi(y0 + j, 0, H - 1) * src->stride;
		for (int c = c0; c < c1; c++) {
			unsigned v = row[(size_t)c * 3 + (size_t)ch];
			fine16[(size_t)(c - c0) * 256 + v]++;
			coarse16[(size_t)(c - c0) * 16 + (v >> 4)]++;
		}
	}
	for (int y = y0; y < y1; y++) {
		hist16 kc = {0}, kf[16];
		int luc[16];
		uint8_t *out = dst->px + (size_t)y * dst->stride + (size_t)ch;

		if (y > y0) {
			int add = clampi(y + r, 0, H - 1);
			int sub = clampi(y - 1 - r, 0, H - 1);
			if (add != sub) {
				const uint8_t *ra = src->px + (size_t)add * src->stride;
				const uint8_t *rs = src->px + (size_t)sub * src->stride;
				for (int c = c0; c < c1; c++) {
					unsigned va = ra[(size_t)c * 3 + (size_t)ch];
					unsigned vs = rs[(size_t)c * 3 + (size_t)ch];
					size_t base = (size_t)(c - c0);
					fine16[base * 256 + va]++;
					coarse16[base * 16 + (va >> 4)]++;
					fine16[base * 256 + vs]--;
					coarse16[base * 16 + (vs >> 4)]--;
				}
			}
		}
		for (int j = -r; j <= r; j++)
			kc += coarse[clampi(tx0 + j, 0, W - 1) - c0];
		for (int k = 0; k < 16; k++)
			luc[k] = tx0 - w - 1; /* stale: rebuild on first use */
		for (int x = tx0; x < tx1; x++) {
			unsigned sum = 0;
			int k, b;

			if (x > tx0)
				kc += coarse[clampi(x + r, 0, W - 1) - c0] -
				      coarse[clampi(x - 1 - r, 0, W - 1) - c0];
			for (k = 0; k < 15; k++) {
				if (sum + kc[k] > rank)
					break;
				sum += kc[k];
			}
			if (luc[k] <= x - w) {
				hist16 acc = {0};
				for (int j = -r; j <= r; j++)
					acc += fine[(size_t)(clampi(x + j, 0, W - 1) - c0) * 16 +
						    (size_t)k];
				kf[k] = acc;
			} else {
				hist16 acc = kf[k];
				for (int xx = luc[k]; xx < x; xx++)
					acc += fine[(size_t)(clampi(xx + 1 + r, 0, W - 1) - c0) * 16 +
						    (size_t)k] -
					       fine[(size_t)(clampi(xx - r, 0, W - 1) - c0) * 16 +
						    (size_t)k];
				kf[k] = acc;
			}
			luc[k] = x;
			for (b = 0; b < 15; b++) {
				if (sum + kf[k][b] > rank)
					break;
				sum += kf[k][b];
			}
			out[(size_t)x * 3] = (uint8_t)(k * 16 + b);
		}
	}
}

/* The exact 32-bit path for windows whose counts overflow 16 bits. */
static int
strip_wide(const struct strip_job *job)
{
	const struct img *src = job->src;
	const int W = src->w, H = src->h, r = job->r;
	const uint64_t w = (uint64_t)(2 * r + 1);
	const uint64_t rank = w * w / 2;
	uint32_t *col = calloc((size_t)W * 256, sizeof(*col));
	uint32_t kern[256];

	if (col == NULL)
		return IF_ERUNTIME;
	for (int ch = 0; ch < 3; ch++) {
		for (int y = job->y0; y < job->y1; y++) {
			memset(col, 0, (size_t)W * 256 * sizeof(*col));
			/* Rows clamp; count each source row's multiplicity. */
			for (int j = -r; j <= r; j++) {
				const uint8_t *row =
					src->px +
					(size_t)clampi(y + j, 0, H - 1) * src->stride;
				for (int c = 0; c < W; c++)
					col[(size_t)c * 256 + row[(size_t)c * 3 + (size_t)ch]]++;
			}
			memset(kern, 0, sizeof(kern));
			for (int j = -r; j <= r; j++) {
				const uint32_t *cc =
					col + (size_t)clampi(j, 0, W - 1) * 256;
				for (int v = 0; v < 256; v++)
					kern[v] += cc[v];
			}
			for (int x = 0; x < W; x++) {
				uint64_t sum = 0;
				int v;
				if (x > 0) {
					const uint32_t *ca =
						col + (size_t)clampi(x + r, 0, W - 1) * 256;
					const uint32_t *cs =
						col + (size_t)clampi(x - 1 - r, 0, W - 1) * 256;
					for (v = 0; v < 256; v++)
						kern[v] += ca[v] - cs[v];
				}
				for (v = 0; v < 255; v++) {
					if (sum + kern[v] > rank)
						break;
					sum += kern[v];
				}
				job->dst->px[(size_t)y * job->dst->stride +
					     (size_t)x * 3 + (size_t)ch] = (uint8_t)v;
			}
		}
	}
	free(col);
	return IF_OK;
}

static void *
run_strip(void *arg)
{
	struct strip_job *job = arg;
	const int W = job->src->w, r = job->r;
	size_t ncols_max;
	hist16 *fine, *coarse;

	if (2 * r + 1 > 255) {
		job->rc = strip_wide(job);
		return NULL;
	}
	ncols_max = (size_t)(TILE_COLS + 2 * r);
	fine = aligned_alloc(32, ncols_max * 16 * sizeof(hist16));
	coarse = aligned_alloc(32, ncols_max * sizeof(hist16));
	if (fine == NULL || coarse == NULL) {
		free(fine);
		free(coarse);
		job->rc = IF_ERUNTIME;
		return NULL;
	}
	for (int ch = 0; ch < 3; ch++)
		for (int tx0 = 0; tx0 < W; tx0 += TILE_COLS) {
			int tx1 = tx0 + TILE_COLS < W ? tx0 + TILE_COLS : W;
			tile_channel(job->src, job->dst, ch, r, tx0, tx1, job->y0,
				     job->y1, fine, coarse);
		}
	free(fine);
	free(coarse);
	job->rc = IF_OK;
	return NULL;
}

int
img_median(const struct img *src, struct img *dst, int window, int threads,
	   struct errbuf *eb)
{
	struct strip_job jobs[256];
	pthread_t tids[256];
	int nthreads, started = 0, rc = IF_OK;

	if (window < 1 || window % 2 == 0)
		return err_set(eb, IF_EINPUT,
			       "median window %d must be odd and at least 1",
			       window);
	if (window > 65535)
		return err_set(eb, IF_EINPUT, "median window %d is too large",
			       window);
	if (src == dst || src->px == dst->px)
		return err_set(eb, IF_EINPUT,
			       "median filter cannot work in place");
	if (src->w != dst->w || src->h != dst->h)
		return err_set(eb, IF_EINPUT,
			       "median output is %dx%d, input %dx%d", dst->w,
			       dst->h, src->w, src->h);
	if (window == 1) {
		for (int y = 0; y < src->h; y++)
			memcpy(dst->px + (size_t)y * dst->stride,
			       src->px + (size_t)y * src->stride,
			       (size_t)src->w * 3);
		return IF_OK;
	}
	nthreads = threads > 0 ? threads : cpu_count();
	if (nthreads > 256)
		nthreads = 256;
	/* Strips shorter than the window would spend more on halos than work. */
	while (nthreads > 1 && src->h / nthreads < 16)
		nthreads--;
	for (int i = 0; i < nthreads; i++) {
		jobs[i] = (struct strip_job){
			.src = src,
			.dst = dst,
			.r = window / 2,
			.y0 = (int)((int64_t)src->h * i / nthreads),
			.y1 = (int)((int64_t)src->h * (i + 1) / nthreads),
			.rc = IF_OK,
		};
	}
	for (int i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, run_strip, &jobs[i]) != 0)
			break;
		started = i;
	}
	/* The calling thread takes strip 0 and any strip not started. */
	run_strip(&jobs[0]);
	for (int i = started + 1; i < nthreads; i++)
		run_strip(&jobs[i]);
	for (int i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	for (int i = 0; i < nthreads; i++)
		if (jobs[i].rc != IF_OK)
			rc = err_set(eb, IF_ERUNTIME,
				     "median filter: out of memory");
	return rc;
}
