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
 * One call filters the three channels of one tile (a range of output
 * columns) of one strip (a range of output rows) in one sweep: three
 * independent chains for the core to overlap, and one pass over the
 * contiguous RGB bytes and one set of offsets and counters for all three.
 * Column i of the scratch arrays (coarse e[3i + c], fine f[16 * (3i + c)
 * .. 16 * (3i + c) + 15] for channel c) holds the histograms of source
 * column tx0 - r - 1 + i (clamped to the image), so that the window of
 * output column tx0 + p is columns p+1 .. p+w and moving right by one adds
 * column p+w and drops column p.  The scratch
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
		offs[i] = (size_t)clampi(job->tx0 - r - 1 + i, 0, src->w - 1) * 3;
	memset(e, 0, (size_t)n * 3 * sizeof(*e));
	memset(f, 0, (size_t)n * 3 * 16 * sizeof(*f));
	for (int j = -r; j <= r; j++) {
		const uint8_t *row =
			src->px + (size_t)clampi(job->y0 + j, 0, H - 1) * src->stride;
		for (int i = 0; i < 3 * n; i++)
			col_add(&e[i], &f[16 * i], row[offs[i / 3] + (size_t)(i % 3)]);
	}
	for (int y = job->y0; y < job->y1; y++) {
		uint8_t *out = job->dst->px + (size_t)y * job->dst->stride +
			       (size_t)job->tx0 * 3;
		u16x16 kc[3], kf[3][16], acc[3], below[3];
		int luc[3][16];
		unsigned ck[3];
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
			for (int i = 0; i < 3 * (w + COL_AHEAD); i++) {
				const size_t o = offs[i / 3] + (size_t)(i % 3);

				col_down(&e[i], &f[16 * i], ra[o], rs[o]);
			}
		/*
		 * The window of p = -1 (columns 0 .. w-1), so that every p
		 * below takes one step, with the fine segment of its median
		 * built: the segment in use is always a real one.
		 */
		for (int c = 0; c < 3; c++) {
			kc[c] = bias;
			for (int i = 0; i < w; i++)
				kc[c] += e[3 * i + c];
			ck[c] = 15 - MT_COUNT_GT(kc[c], rank - 0x8000);
			acc[c] = (u16x16){0};
			for (int i = 0; i < w; i++)
				acc[c] += MT_WIDEN(
					&f[16 * (3 * (size_t)i + (size_t)c) + ck[c]]);
			for (int k = 0; k < 16; k++)
				luc[c][k] = -r - 2;
			luc[c][ck[c]] = -1;
			below[c] = kc[c][ck[c]] + (u16x16){0};
		}
		for (int p = 0; p < tw; p++) {
			/* Column p + w comes into the window, column p leaves it. */
			const u16x16 *ein = &e[3 * (size_t)(p + w)];
			const u16x16 *eout = &e[3 * (size_t)p];
			const u8x16 *fin = &f[48 * (size_t)(p + w)];
			const u8x16 *fout = &f[48 * (size_t)p];
			/*
			 * Column p + w + COL_AHEAD moves down now, so that
			 * the loads of column p + w below find its stores
			 * done, not waiting to be forwarded.  Every column
			 * the kernel reads (up to p + w, even in the lazy
			 * catch-up) is on row y already.
			 */
			const size_t ahead = 3 * (size_t)(p + w + COL_AHEAD);
			const uint8_t *pa = ra + offs[p + w + COL_AHEAD];
			const uint8_t *ps = rs + offs[p + w + COL_AHEAD];

#pragma GCC unroll 3
			for (int c = 0; c < 3; c++) {
				const unsigned s = ck[c];
				unsigned k;
				u16x16 next, nbelow;

				if (step)
					col_down(&e[ahead + (size_t)c],
						 &f[16 * (ahead + (size_t)c)], pa[c],
						 ps[c]);
				kc[c] += ein[c] - eout[c];
				/*
				 * The segment in use and the count below it
				 * move on before the search has said whether
				 * the median is still in that segment (it
				 * nearly always is), so that their loads need
				 * not wait for the search.
				 */
				next = acc[c] + MT_WIDEN(&fin[16 * c + s]) -
				       MT_WIDEN(&fout[16 * c + s]);
				nbelow = below[c] + (uint16_t)(ein[c][s] - eout[c][s]);
				/*
				 * kc is cumulative and exclusive: lane k
				 * counts the values below 16k, so lane 0 is
				 * 0 and the median's coarse bin is the last
				 * lane not above the rank.
				 */
				k = 15 - MT_COUNT_GT(kc[c], rank - 0x8000);
				if (__builtin_expect(k == s, 1)) {
					acc[c] = next;
					below[c] = nbelow;
				} else {
					/*
					 * The lazy fine level: catch segment
					 * k up from where it was last used,
					 * or rebuild it when that is over
					 * half a window back.
					 */
					const u8x16 *fc = f + 16 * c + k;

					kf[c][s] = acc[c];
					luc[c][s] = p - 1;
					ck[c] = k;
					below[c] = kc[c][k] + (u16x16){0};
					if (p - luc[c][k] > r) {
						acc[c] = (u16x16){0};
						for (int i = p + 1; i <= p + w; i++)
							acc[c] += MT_WIDEN(
								&fc[48 * (size_t)i]);
					} else {
						acc[c] = kf[c][k];
						for (int q = luc[c][k] + 1; q <= p; q++)
							acc[c] += MT_WIDEN(&fc[48 * (size_t)(q + w)]) -
								  MT_WIDEN(&fc[48 * (size_t)q]);
					}
				}
				/*
				 * acc (fine, unbiased) plus the count below
				 * segment ck (biased) is the biased
				 * cumulative count up to each fine bin: one
				 * add and the same compare.
				 */
				out[(size_t)p * 3 + (size_t)c] = (uint8_t)(
					ck[c] * 16 + 16 -
					MT_COUNT_GT(acc[c] + below[c], rank - 0x8000));
			}
		}
	}
}
