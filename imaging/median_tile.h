/*
 * imaging/median_tile.h - the hot loop of imaging/median.c, included there
 * once per instruction set: the including file defines
 *   MT_NAME        the function's name
 *   MT_TARGET      its target attribute (empty for the baseline)
 *   MT_COUNT_GT    a function (u16x16 v, int t) -> lanes of v > t, the
 *                  lanes read as signed 16-bit
 *   MT_WIDEN       a function (const u8x16 *) -> u16x16, zero-extending
 * and the types, struct tile_job, col_add() and col_down() it uses.  Only
 * median.c includes this file.
 *
 * One call filters one channel of one tile (a range of output columns) of
 * one strip (a range of output rows).  Column i of the scratch arrays
 * (coarse e[i], fine f[16 * i .. 16 * i + 15]) holds the histograms of
 * source column tx0 - r - 1 + i (clamped to the image),
 * so that the window of output column tx0 + p is columns p+1 .. p+w and
 * moving right by one adds column p+w and drops column p.  The scratch
 * has COL_AHEAD columns more than the tile needs (see below).
 */

static MT_TARGET void
MT_NAME(const struct tile_job *job)
{
	const struct img *src = job->src;
	const int r = job->r, w = 2 * r + 1, H = src->h;
	const int tw = job->tx1 - job->tx0, n = tw + w + COL_AHEAD;
	const int rank = w * w / 2;
	/*
	 * Kernel counts are kept biased by 0x8000 so that a signed 16-bit
	 * compare orders them (counts reach w*w = 65025 for w = 255).
	 */
	const u16x16 bias = {0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000,
			     0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000,
			     0x8000, 0x8000, 0x8000, 0x8000};
	u16x16 *e = job->e;
	u8x16 *f = job->f;
	size_t *offs = job->offs;

	for (int i = 0; i < n; i++)
		offs[i] = (size_t)clampi(job->tx0 - r - 1 + i, 0, src->w - 1) *
				  3 +
			  (size_t)job->ch;
	memset(e, 0, (size_t)n * sizeof(*e));
	memset(f, 0, (size_t)n * 16 * sizeof(*f));
	for (int j = -r; j <= r; j++) {
		const uint8_t *row =
			src->px + (size_t)clampi(job->y0 + j, 0, H - 1) * src->stride;
		for (int i = 0; i < n; i++)
			col_add(&e[i], &f[16 * i], row[offs[i]]);
	}
	for (int y = job->y0; y < job->y1; y++) {
		uint8_t *out = job->dst->px + (size_t)y * job->dst->stride +
			       (size_t)job->tx0 * 3 + (size_t)job->ch;
		u16x16 kc = bias, kf[16], acc = {0}, below;
		int luc[16];
		unsigned ck;
		const uint8_t *ra =
			src->px + (size_t)clampi(y + r, 0, H - 1) * src->stride;
		const uint8_t *rs =
			src->px + (size_t)clampi(y - 1 - r, 0, H - 1) * src->stride;
		/*
		 * Columns move down a row as the sweep reaches them (below),
		 * while their histograms are in L1 anyway, instead of in a
		 * pass of their own over the whole tile.  Rows clamped to the
		 * same source row cancel out.
		 */
		const bool step = y > job->y0 && ra != rs;

		if (step)
			for (int i = 0; i < w + COL_AHEAD; i++)
				col_down(&e[i], &f[16 * i], ra[offs[i]], rs[offs[i]]);
		/*
		 * The window of p = -1 (columns 0 .. w-1), so that every p
		 * below takes one step, with the fine segment of its median
		 * built: the segment in use is always a real one.
		 */
		for (int i = 0; i < w; i++)
			kc += e[i];
		ck = 15 - MT_COUNT_GT(kc, rank - 0x8000);
		for (int i = 0; i < w; i++)
			acc += MT_WIDEN(&f[16 * (size_t)i + ck]);
		for (int k = 0; k < 16; k++)
			luc[k] = -r - 2;
		luc[ck] = -1;
		below = kc[ck] + (u16x16){0};
		for (int p = 0; p < tw; p++) {
			/* Column p + w comes into the window, column p leaves it. */
			const u16x16 *ein = &e[p + w], *eout = &e[p];
			const u8x16 *fin = &f[16 * (size_t)(p + w)];
			const u8x16 *fout = &f[16 * (size_t)p];
			const unsigned s = ck;
			unsigned k;
			u16x16 next, nbelow;

			/*
			 * Column p + w + COL_AHEAD moves down now, so that the
			 * loads of column p + w below find its stores done,
			 * not waiting to be forwarded.  Every column the
			 * kernel reads (up to p + w, even in the lazy
			 * catch-up) is on row y already.
			 */
			if (step)
				col_down(&e[p + w + COL_AHEAD],
					 &f[16 * (size_t)(p + w + COL_AHEAD)],
					 ra[offs[p + w + COL_AHEAD]],
					 rs[offs[p + w + COL_AHEAD]]);
			kc += *ein - *eout;
			/*
			 * The segment in use and the count below it move on
			 * before the search has said whether the median is
			 * still in that segment (it nearly always is), so
			 * that their loads need not wait for the search.
			 */
			next = acc + MT_WIDEN(&fin[s]) - MT_WIDEN(&fout[s]);
			nbelow = below + (uint16_t)((*ein)[s] - (*eout)[s]);
			/*
			 * kc is cumulative and exclusive: lane k counts the
			 * values below 16k, so lane 0 is 0 and the median's
			 * coarse bin is the last lane not above the rank.
			 */
			k = 15 - MT_COUNT_GT(kc, rank - 0x8000);
			if (__builtin_expect(k == s, 1)) {
				acc = next;
				below = nbelow;
			} else {
				/*
				 * The lazy fine level: catch segment k up
				 * from where it was last used, or rebuild it
				 * when that is over half a window back.
				 */
				kf[s] = acc;
				luc[s] = p - 1;
				ck = k;
				below = kc[k] + (u16x16){0};
				if (p - luc[k] > r) {
					acc = (u16x16){0};
					for (int i = p + 1; i <= p + w; i++)
						acc += MT_WIDEN(&f[16 * (size_t)i + k]);
				} else {
					acc = kf[k];
					for (int q = luc[k] + 1; q <= p; q++)
						acc += MT_WIDEN(&f[16 * (size_t)(q + w) + k]) -
						       MT_WIDEN(&f[16 * (size_t)q + k]);
				}
			}
			/*
			 * acc (fine, unbiased) plus the count below segment
			 * ck (biased) is the biased cumulative count up to
			 * each fine bin: one add and the same compare.
			 */
			out[(size_t)p * 3] = (uint8_t)(
				ck * 16 + 16 - MT_COUNT_GT(acc + below, rank - 0x8000));
		}
	}
}
