/*
 * imaging/median_tile.h - the hot loop of imaging/median.c, included there
 * once per instruction set: the including file defines
 *   MT_NAME        the tile function's name
 *   MT_SWEEP, MT_ROW_OFFSETS  names for its helpers
 *   MT_TARGET      its target attribute (empty for the baseline)
 *   MT_COUNT_GT    a function (u16x16 v, int t) -> lanes of v > t, the
 *                  lanes read as signed 16-bit
 *   MT_WIDEN       a function (const u8x16 *) -> u16x16, zero-extending
 * and may define
 *   MT_WIDEN_U     the same as MT_WIDEN from any address (const uint8_t *),
 *                  when that is one instruction and a conversion is not
 *   MT_PRE32       a function (pre_t *q, const uint8_t *pa, *ps): the
 *                  offsets of 32 bytes at once (as pre_16w() does 16)
 *   MT_LANE        a function (u16x16 v, u16x16 sel) -> v[sel[0]] in every
 *                  lane (a one-instruction permute), to take the count
 *                  below the median's segment from the kernel itself
 *                  instead of keeping it alongside
 *   MT_MASK_GT     a function (u16x16 v, int t) -> the lanes of v above t
 *                  in a form that differs when their number does, with
 *                  MT_MASK_COUNT (mask) -> that number, when comparing
 *                  masks is cheaper than counting lanes at every step
 *   MT_SWEEP2      a name for a sweep of channels 0 and 1 together in
 *                  512-bit vectors, with MT_MASK_GT32, MT_WIDEN2,
 *                  MT_LANE32, MT_HALF and MT_SET_HALF (see median.c)
 * and the types, struct tile_job, col_add() and col_down() it uses.  Only
 * median.c includes this file.
 *
 * One call filters the three channels of one tile (a range of output
 * columns) of one strip (a range of output rows), a row at a time: first
 * the offsets of every column's row step, for all three channels at once
 * over the contiguous RGB bytes and vectorised (row_offsets()), then the
 * sweeps.  Record i of the scratch (cols01[i] for channels 0 and 1, cols2[i]
 * for channel 2) holds the histograms of source column tx0 - r - 1 + i
 * (clamped to the image), so that the window of output column tx0 + p is
 * columns p+1 .. p+w and moving right by one adds column p+w and drops
 * column p.  The scratch has COL_AHEAD columns more than the tile needs
 * (see below).
 */

/*
 * The offsets of row y's step (see PRE_H) for column i and channel c at
 * pre[3i + c]: rows ra (coming in) and ra + ds (going out).  Inside the
 * image (columns lo .. hi-1) a tile's columns are contiguous bytes.
 */
static MT_TARGET void
MT_ROW_OFFSETS(pre_t *pre, const uint8_t *ra, ptrdiff_t ds,
	       const size_t *offs, int n, int lo, int hi)
{
	size_t j = 3 * (size_t)lo;

	for (int i = 0; i < lo; i++)
		for (int c = 0; c < 3; c++)
			pre_one(pre + 3 * i + c, ra[offs[i] + c],
				ra[(ptrdiff_t)(offs[i] + c) + ds]);
	if (lo < hi) {
		const uint8_t *pa = ra + offs[lo] - j;

#ifdef MT_PRE32
		for (; j + 32 <= 3 * (size_t)hi; j += 32)
			MT_PRE32(pre + j, pa + j, pa + j + ds);
#endif
		for (; j + 16 <= 3 * (size_t)hi; j += 16) {
#ifdef MT_WIDEN_U
			const pre_x16 a = MT_WIDEN_U(pa + j);
			const pre_x16 s = MT_WIDEN_U(pa + j + ds);

			pre_16w(pre + j, &a, &s);
#else
			pre_16(pre + j, pa + j, pa + j + ds);
#endif
		}
		for (; j < 3 * (size_t)hi; j++)
			pre_one(pre + j, pa[j], pa[(ptrdiff_t)j + ds]);
	}
	for (int i = hi; i < n; i++)
		for (int c = 0; c < 3; c++)
			pre_one(pre + 3 * i + c, ra[offs[i] + c],
				ra[(ptrdiff_t)(offs[i] + c) + ds]);
}

/*
 * One channel's sweep of one row: the coarse histogram of column i at
 * e0 + i * stride bytes, its fine ones at f0 + i * stride bytes; q are its
 * offsets (pre + c), out its first output byte.
 */
static MT_TARGET void
MT_SWEEP(u16x16 *e0, u8x16 *f0, size_t stride, const pre_t *q,
	 uint8_t *out, int r, int tw)
{
#define COL_E(i) (*(u16x16 *)((char *)e0 + (size_t)(i) * stride))
#define COL_F(i) ((u8x16 *)((char *)f0 + (size_t)(i) * stride))
	const int w = 2 * r + 1, rank = w * w / 2;
	const size_t win = (size_t)w * stride;
	const u16x16 bias = {0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000,
			     0x8000, 0x8000, 0x8000, 0x8000, 0x8000, 0x8000,
			     0x8000, 0x8000, 0x8000, 0x8000};
	u16x16 kc = bias, kf[16], acc = {0};
#ifdef MT_LANE
	u16x16 sel;
#define MT_BELOW MT_LANE(kc, sel)
#else
	u16x16 below;
#define MT_BELOW below
#endif
	int luc[16];
	unsigned ck;
	size_t cko;
	uint8_t *out0;
#ifdef MT_MASK_GT
	/* The search's result (as MT_MASK_GT gives it) while ck lasts. */
	unsigned expect;
#endif
	char *ce, *cf;
	const char *t = steps_base();

	/*
	 * Columns move down a row as the sweep reaches them (below),
	 * while their histograms are in L1 anyway, instead of in a pass
	 * of their own over the whole tile.
	 */
	for (int i = 0; i < w + COL_AHEAD; i++)
		col_down(&COL_E(i), COL_F(i), q + 3 * i, t);
	/*
	 * The window of p = -1 (columns 0 .. w-1), so that every p below
	 * takes one step, with the fine segment of its median built: the
	 * segment in use is always a real one.
	 */
	for (int i = 0; i < w; i++)
		kc += COL_E(i);
#ifdef MT_MASK_GT
	expect = MT_MASK_GT(kc, rank - 0x8000);
	ck = 15 - MT_MASK_COUNT(expect);
#else
	ck = 15 - MT_COUNT_GT(kc, rank - 0x8000);
#endif
	for (int i = 0; i < w; i++)
		acc += MT_WIDEN(&COL_F(i)[ck]);
	for (int k = 0; k < 16; k++)
		luc[k] = -r - 2;
	luc[ck] = -1;
#ifdef MT_LANE
	sel = (u16x16){0} + (uint16_t)ck;
#else
	below = kc[ck] + (u16x16){0};
#endif
	q += 3 * (w + COL_AHEAD);
	/* Column p's histograms, as p goes. */
	ce = (char *)e0;
	cf = (char *)f0;
	/* Segment ck as a byte offset, out's end, p from out (rare path). */
	cko = 16 * ck;
	out0 = out;
	for (const uint8_t *const oend = out + 3 * (size_t)tw; out < oend;
	     q += 3, out += 3, ce += stride, cf += stride) {
		/* Column p + w comes into the window, column p leaves it. */
		const u16x16 *eout = (const u16x16 *)ce;
		const u16x16 *ein = (const u16x16 *)(ce + win);
		const char *fout = cf;
		const char *fin = cf + win;
		const unsigned s = ck;
		unsigned k;
#ifdef MT_MASK_GT
		unsigned m;
#endif

		/*
		 * Column p + w + COL_AHEAD moves down now, so that the loads
		 * of column p + w below find its stores done, not waiting to
		 * be forwarded (or, in the pair sweep, unable to be: see
		 * COL_AHEAD).  Every column the kernel reads (up to p + w,
		 * even in the lazy catch-up) is on row y already.
		 */
		col_down((u16x16 *)(ce + win + COL_AHEAD * stride),
			 (u8x16 *)(cf + win + COL_AHEAD * stride), q, t);
		kc += *ein - *eout;
		/*
		 * The segment in use (and the count below it) moves on
		 * before the search has said whether the median is still in
		 * that segment (it nearly always is), so that its loads need
		 * not wait for the search.  kf[s] and luc[s] keep it as of p
		 * if the median has left it.
		 */
		acc += MT_WIDEN((const u8x16 *)(fin + cko)) -
		       MT_WIDEN((const u8x16 *)(fout + cko));
#ifndef MT_LANE
		below += (uint16_t)((*ein)[s] - (*eout)[s]);
#endif
		/*
		 * kc is cumulative and exclusive: lane k counts the values
		 * below 16k, so lane 0 is 0 and the median's coarse bin is
		 * the last lane not above the rank.
		 */
#ifdef MT_MASK_GT
		m = MT_MASK_GT(kc, rank - 0x8000);
		if (__builtin_expect(m != expect, 0)) {
			k = 15 - MT_MASK_COUNT(m);
			expect = m;
#else
		k = 15 - MT_COUNT_GT(kc, rank - 0x8000);
		if (__builtin_expect(k != s, 0)) {
#endif
			const int p = (int)((out - out0) / 3);

			/*
			 * The lazy fine level: catch segment k up from where
			 * it was last used, or rebuild it when that is over
			 * half a window back.
			 */
			kf[s] = acc;
			luc[s] = p;
			ck = k;
			cko = 16 * k;
#ifdef MT_LANE
			sel = (u16x16){0} + (uint16_t)k;
#else
			below = kc[k] + (u16x16){0};
#endif
			if (p - luc[k] > r) {
				acc = (u16x16){0};
				for (int i = p + 1; i <= p + w; i++)
					acc += MT_WIDEN(&COL_F(i)[k]);
			} else {
				acc = kf[k];
				for (int i = luc[k] + 1; i <= p; i++)
					acc += MT_WIDEN(&COL_F(i + w)[k]) -
					       MT_WIDEN(&COL_F(i)[k]);
			}
		}
		/*
		 * acc (fine, unbiased) plus the count below segment ck
		 * (biased) is the biased cumulative count up to each fine
		 * bin: one add and the same compare.
		 */
		*out = (uint8_t)(cko + 16 -
				 MT_COUNT_GT(acc + MT_BELOW, rank - 0x8000));
	}
#undef MT_BELOW
#undef COL_E
#undef COL_F
}


#ifdef MT_SWEEP2
/*
 * Channels 0 and 1 of one row in one sweep, in 512-bit vectors: lanes
 * 0..15 are channel 0, lanes 16..31 channel 1.  The row step, the fine
 * segments (one each, likely different) and the lazy catch-up stay per
 * channel; the coarse update, both searches and both output counts take
 * one instruction for the two.  q are the offsets of channel 0 (pre + 0),
 * out its first output byte.
 */
static MT_TARGET void
MT_SWEEP2(struct hcol2 *cc, const pre_t *q, uint8_t *out, int r, int tw)
{
	const int w = 2 * r + 1, rank = w * w / 2;
	const u16x32 bias = (u16x32){0} + 0x8000;
	const u16x32 hi16 = {0,	 0,  0,	 0,  0,	 0,  0,	 0,  0,	 0,  0,
			     0,	 0,  0,	 0,  0,	 16, 16, 16, 16, 16, 16,
			     16, 16, 16, 16, 16, 16, 16, 16, 16, 16};
	u16x32 kc = bias, acc = {0}, sel;
	u16x16 kf[2][16];
	int luc[2][16];
	unsigned ck[2];
	size_t o0, o1;
	/* The compare mask of kc while both medians stay in their segments. */
	uint32_t expect;
	const char *t = steps_base();

	for (int i = 0; i < w + COL_AHEAD; i++)
		for (int c = 0; c < 2; c++)
			col_down(&cc[i].e[c], cc[i].f[c], q + 3 * i + c, t);
	for (int i = 0; i < w; i++)
		kc += *(const u16x32 *)cc[i].e;
	expect = MT_MASK_GT32(kc, rank - 0x8000);
	for (int c = 0; c < 2; c++) {
		u16x16 a = {0};

		ck[c] = 15 - (unsigned)__builtin_popcount((expect >> (16 * c)) &
							  0xFFFF);
		for (int i = 0; i < w; i++)
			a += MT_WIDEN(&cc[i].f[c][ck[c]]);
		for (int k = 0; k < 16; k++)
			luc[c][k] = -r - 2;
		luc[c][ck[c]] = -1;
		acc = MT_SET_HALF(acc, c, a);
	}
	sel = hi16 + (u16x32){
		ck[0], ck[0], ck[0], ck[0], ck[0], ck[0], ck[0], ck[0],
		ck[0], ck[0], ck[0], ck[0], ck[0], ck[0], ck[0], ck[0],
		ck[1], ck[1], ck[1], ck[1], ck[1], ck[1], ck[1], ck[1],
		ck[1], ck[1], ck[1], ck[1], ck[1], ck[1], ck[1], ck[1]};
	q += 3 * (w + COL_AHEAD);
	/*
	 * The segments in use as byte offsets into a record (channel 1's
	 * past channel 0's), kept in scalars of their own: in the arrays
	 * GCC reloads one from the stack at every column.
	 */
	o0 = offsetof(struct hcol2, f[0][0]) + 16 * ck[0];
	o1 = offsetof(struct hcol2, f[1][0]) + 16 * ck[1];
	/*
	 * Pointers that step, and p only where the rare path needs it:
	 * with a counter and an index GCC runs out of registers.
	 */
	for (struct hcol2 *co = cc, *const oend = cc + tw; co < oend;
	     co++, q += 3, out += 3) {
		const struct hcol2 *cout = co, *cin = co + w;
		struct hcol2 *cah = co + w + COL_AHEAD;
		uint32_t m, mo;

		col_down(&cah->e[0], cah->f[0], q, t);
		col_down(&cah->e[1], cah->f[1], q + 1, t);
		kc += *(const u16x32 *)cin->e - *(const u16x32 *)cout->e;
		acc += MT_WIDEN2((const u8x16 *)((const char *)cin + o0),
				 (const u8x16 *)((const char *)cin + o1)) -
		       MT_WIDEN2((const u8x16 *)((const char *)cout + o0),
				 (const u8x16 *)((const char *)cout + o1));
		m = MT_MASK_GT32(kc, rank - 0x8000);
		if (__builtin_expect(m != expect, 0)) {
			const int p = (int)(co - cc);

			/* One median or both have left their segments. */
			for (int c = 0; c < 2; c++) {
				const unsigned k = 15 - (unsigned)
				    __builtin_popcount((m >> (16 * c)) &
						       0xFFFF);
				const unsigned s = ck[c];
				u16x16 a;

				if (k == s)
					continue;
				a = MT_HALF(acc, c);
				kf[c][s] = a;
				luc[c][s] = p;
				ck[c] = k;
				if (p - luc[c][k] > r) {
					a = (u16x16){0};
					for (int i = p + 1; i <= p + w; i++)
						a += MT_WIDEN(&cc[i].f[c][k]);
				} else {
					a = kf[c][k];
					for (int i = luc[c][k] + 1; i <= p; i++)
						a += MT_WIDEN(
						    &cc[i + w].f[c][k]) -
						    MT_WIDEN(&cc[i].f[c][k]);
				}
				acc = MT_SET_HALF(acc, c, a);
				sel = MT_SET_HALF(sel, c, (u16x16){0} +
						  (uint16_t)(16 * c + k));
			}
			o0 = offsetof(struct hcol2, f[0][0]) + 16 * ck[0];
			o1 = offsetof(struct hcol2, f[1][0]) + 16 * ck[1];
			expect = m;
		}
		mo = MT_MASK_GT32(acc + MT_LANE32(kc, sel), rank - 0x8000);
		/*
		 * The median is 16 ck + 16 less the fine bins above the
		 * rank.
		 */
		out[0] = (uint8_t)(o0 + 16 - offsetof(struct hcol2, f[0][0]) -
				   (unsigned)__builtin_popcount(mo & 0xFFFF));
		out[1] = (uint8_t)(o1 + 16 - offsetof(struct hcol2, f[1][0]) -
				   (unsigned)__builtin_popcount(mo >> 16));
	}
}
#endif

static MT_TARGET void
MT_NAME(const struct tile_job *job)
{
	const struct img *src = job->src;
	const int r = job->r, w = 2 * r + 1, H = src->h;
	const int tw = job->tx1 - job->tx0, n = tw + w + COL_AHEAD;
	/* Columns lo .. hi-1 are inside the image: no clamping there. */
	const int lo = clampi(r + 1 - job->tx0, 0, n);
	const int hi = clampi(src->w + r + 1 - job->tx0, lo, n);
	struct hcol2 *cols01 = job->cols01;
	struct hcol *cols2 = job->cols2;
	size_t *offs = job->offs;

	for (int i = 0; i < n; i++)
		offs[i] = (size_t)clampi(job->tx0 - r - 1 + i, 0,
					 src->w - 1) * 3;
	memset(cols01, 0, (size_t)n * sizeof(*cols01));
	memset(cols2, 0, (size_t)n * sizeof(*cols2));
	for (int j = -r; j <= r; j++) {
		const uint8_t *row = src->px +
		    (size_t)clampi(job->y0 + j, 0, H - 1) * src->stride;

		for (int i = 0; i < n; i++) {
			col_add(&cols01[i].e[0], cols01[i].f[0], row[offs[i]]);
			col_add(&cols01[i].e[1], cols01[i].f[1],
				row[offs[i] + 1]);
			col_add(&cols2[i].e, cols2[i].f, row[offs[i] + 2]);
		}
	}
	for (int y = job->y0; y < job->y1; y++) {
		uint8_t *out = job->dst->px + (size_t)y * job->dst->stride +
			       (size_t)job->tx0 * 3;
		const uint8_t *ra =
			src->px + (size_t)clampi(y + r, 0, H - 1) * src->stride;
		/*
		 * From the row coming in to the row going out, in bytes.  On
		 * a strip's first row the columns stay: adding and removing
		 * the same row's values changes nothing, and spares the
		 * sweep a branch.
		 */
		const ptrdiff_t ds =
			y == job->y0 ? 0
				     : ((ptrdiff_t)clampi(y - 1 - r, 0, H - 1) -
					(ptrdiff_t)clampi(y + r, 0, H - 1)) *
					       (ptrdiff_t)src->stride;

		MT_ROW_OFFSETS(job->pre, ra, ds, offs, n, lo, hi);
#ifdef MT_SWEEP2
		MT_SWEEP2(cols01, job->pre, out, r, tw);
#else
		for (int c = 0; c < 2; c++)
			MT_SWEEP(&cols01[0].e[c], cols01[0].f[c],
				 sizeof(*cols01), job->pre + c, out + c, r, tw);
#endif
		MT_SWEEP(&cols2[0].e, cols2[0].f, sizeof(*cols2), job->pre + 2,
			 out + 2, r, tw);
	}
}
