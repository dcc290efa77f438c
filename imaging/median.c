/*
 * imaging/median.c - the constant-time median filter (spec section 4).
 *
 * Semantics: per channel, a square window of odd width w, borders by
 * replicating the edge pixels, the value at rank w*w/2 (0-based) of the
 * window - bit-identical to Pillow's MedianFilter(size=w) and OpenCV's
 * medianBlur.  Replication falls out of clamping coordinates: a column
 * left of the image is column 0 counted again.
 *
 * Method: Perreault & Hebert (2007), written from the paper.  Each column
 * keeps the histogram of the w pixels around the current row in two levels,
 * 16 coarse bins (high nibble) and 16 fine segments of 16 bins; moving down
 * a row adds one pixel and removes one per column.  The kernel histogram
 * moves right by adding one column's histogram and subtracting another's;
 * its coarse level is always current, while a fine segment is brought up to
 * date only when the median falls into it (the paper's lazy update), so the
 * cost per pixel does not depend on w.
 *
 * Departures from the paper make the search and the updates cheap.
 * Histograms are stored cumulatively - each coarse lane counts the values
 * below its bin, each fine lane the values of its segment up to its bin -
 * so that finding the median's bin is one vector comparison against the
 * rank and a count of the lanes that pass, with no scan and no branch.
 * Adding a value to a cumulative histogram is one vector add of a step
 * (steps).  Fine column histograms count at most w <= 255 pixels, so they
 * are 8-bit (half the cache), widened to the kernel's 16 bits on load;
 * coarse ones are 16-bit, one load straight into the kernel.
 *
 * The order of work is the other departure.  Row by row, a tile first
 * works out, vectorised over the contiguous RGB bytes, the table offsets
 * of every column's row step (the segments and steps of the value coming
 * in and the one going out, with one step for both when they share a
 * segment).  Then it sweeps each channel left to right, moving each
 * column down a row just before the kernel reaches it (COL_AHEAD columns
 * ahead), while its histograms come into L1 anyway: the row step costs no
 * pass of its own over the tile and is loads, vector adds and stores only.
 * The fine segment in use moves on with the kernel before the coarse
 * search confirms that the median is still in it, which it nearly always
 * is, so that the loads do not wait for the search.
 *
 * The hot loop (median_tile.h) is compiled three times, with AVX-512BW/VL,
 * with AVX2 and for the baseline, and chosen at run time, so no build
 * assumes either instruction set.  The AVX-512 build also sweeps channels
 * 0 and 1 together in 512-bit vectors, and takes the count below the
 * median's segment out of the kernel with a permute.  Windows over 255
 * would overflow the 8-bit counts; they take a plain 32-bit path whose
 * cost per pixel is 272 bin updates, also independent of w.
 *
 * Parallelism: horizontal strips, a few per thread, each initialising its
 * column histograms from its own w/2-row halo; threads claim strips as
 * they come free, so a core lost to another process for a while delays
 * one strip, not half the image.  Within a strip, column tiles keep the
 * histograms in the L2 cache.  Scratch is per thread and sized to a tile,
 * never to the image, so a call touches few fresh pages.
 */
#include "imaging/median_private.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define MEDIAN_HAVE_AVX2 1
#endif

/*
 * GCC notes that 32-byte vectors are passed differently with and without
 * AVX; every function taking one here is static and inlined, so no such
 * vector ever crosses an ABI boundary.
 */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef uint8_t u8x16 __attribute__((vector_size(16)));
typedef uint16_t u16x16 __attribute__((vector_size(32)));
/* A row step's offsets (see PRE_H). */
typedef uint16_t pre_t;

/*
 * Output columns per tile.  With w = 41 a 1024-column tile has ~0.9 MiB
 * of histograms for its three channels, which stay in a 1 MiB L2 from one
 * row's sweep to the next; before the row step moved into the sweep, a
 * tile spilling to L3 was ~10 % slower on a 12 MP photo, while 640 and
 * 768 columns measured the same as 1024 afterwards (their halos cost
 * more at wide windows).
 */
#define TILE_COLS 1024
#define MAX_THREADS 64
/* Strips shorter than this spend more on their halos than on output. */
#define MIN_STRIP_ROWS 32
/* Strips per thread, taken as threads come free (see run_worker()). */
#define STRIPS_PER_THREAD 4
/* The widest window whose counts fit the 8- and 16-bit histograms. */
#define NARROW_MAX_WINDOW 255
/*
 * Columns a row step runs ahead of the sweep (see median_tile.h).  The
 * pair sweep's 512-bit load of a column's two coarse histograms covers two
 * 256-bit stores of its row step, which cannot be forwarded to it: it
 * waits until both have left the store queue, which two columns did not
 * give them time to do (3, 4 and 6 measured the same, ~5 % faster).
 */
#define COL_AHEAD 4

/*
 * One column's histograms for one channel: the coarse one, exclusive
 * (lane k counts the values below 16k), in e; 16 fine segments, inclusive
 * (lane b of segment s counts the values 16s .. 16s+b), in f.  One record
 * per column, so that one pointer reaches all of a column and the hot loop
 * has general registers to spare (288 bytes, a multiple of 32).
 */
struct hcol {
	u16x16 e;
	u8x16 f[16];
};

/*
 * Channels 0 and 1 side by side (576 bytes), so that one 512-bit load
 * takes both coarse histograms (see MT_SWEEP2 in median_tile.h).
 */
struct hcol2 {
	u16x16 e[2];
	u8x16 f[2][16];
};

struct tile_job {
	const struct img *src;
	struct img *dst;
	int r;
	int tx0, tx1; /* output columns */
	int y0, y1;   /* output rows */
	struct hcol2 *cols01; /* channels 0 and 1 */
	struct hcol *cols2;   /* channel 2 */
	pre_t *pre;	      /* PRE_BYTES of a row step's offsets */
	size_t *offs; /* byte offset in a row of each column's source pixel */
};

/* One call's shared state: strips are claimed from next, in order. */
struct filter_ctx {
	const struct img *src;
	struct img *dst;
	int r;
	enum median_path path;
	int nstrips;
	atomic_int next;
};

/* A thread's scratch, allocated once and used for every strip it takes. */
struct scratch {
	struct hcol2 *cols01;
	struct hcol *cols2;
	pre_t *pre;
	size_t *offs;
	uint32_t *col; /* the 32-bit path's column histograms */
};

struct worker {
	struct filter_ctx *ctx;
	int rc;
};

static inline int
clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The steps that count a value in a cumulative histogram, in one table so
 * that one register addresses them all: coarse[i] has 1 in lanes i..15
 * (16-bit, for the coarse histograms), fine[i] too (8-bit, for the fine
 * ones); coarse[16] and fine[16] are zero.  diff[16x + l] is fine[l] -
 * fine[x], x <= 16: a value coming into a fine segment together with one
 * going out of the same segment (x = its low nibble) or alone (x = 16),
 * one load for what took two.
 */
#define ONES_FROM(i)                                                          \
	{0 >= (i), 1 >= (i), 2 >= (i), 3 >= (i), 4 >= (i), 5 >= (i),          \
	 6 >= (i), 7 >= (i), 8 >= (i), 9 >= (i), 10 >= (i), 11 >= (i),        \
	 12 >= (i), 13 >= (i), 14 >= (i), 15 >= (i)}
#define ONES_17                                                               \
	ONES_FROM(0), ONES_FROM(1), ONES_FROM(2), ONES_FROM(3), ONES_FROM(4),  \
		ONES_FROM(5), ONES_FROM(6), ONES_FROM(7), ONES_FROM(8),        \
		ONES_FROM(9), ONES_FROM(10), ONES_FROM(11), ONES_FROM(12),     \
		ONES_FROM(13), ONES_FROM(14), ONES_FROM(15), ONES_FROM(16)
#define D1(b, l, x) (uint8_t)(((b) >= (l)) - ((b) >= (x)))
#define DIFF(l, x)                                                            \
	{D1(0, l, x),  D1(1, l, x),  D1(2, l, x),  D1(3, l, x),               \
	 D1(4, l, x),  D1(5, l, x),  D1(6, l, x),  D1(7, l, x),               \
	 D1(8, l, x),  D1(9, l, x),  D1(10, l, x), D1(11, l, x),              \
	 D1(12, l, x), D1(13, l, x), D1(14, l, x), D1(15, l, x)}
#define DIFF_16(x)                                                            \
	DIFF(0, x), DIFF(1, x), DIFF(2, x), DIFF(3, x), DIFF(4, x),            \
		DIFF(5, x), DIFF(6, x), DIFF(7, x), DIFF(8, x), DIFF(9, x),    \
		DIFF(10, x), DIFF(11, x), DIFF(12, x), DIFF(13, x),            \
		DIFF(14, x), DIFF(15, x)
static const struct step_table {
	u16x16 coarse[17];
	u8x16 fine[17];
	u8x16 diff[17 * 16];
} steps = {
	.coarse = {ONES_17},
	.fine = {ONES_17},
	.diff = {DIFF_16(0), DIFF_16(1), DIFF_16(2), DIFF_16(3),
		 DIFF_16(4), DIFF_16(5), DIFF_16(6), DIFF_16(7),
		 DIFF_16(8), DIFF_16(9), DIFF_16(10), DIFF_16(11),
		 DIFF_16(12), DIFF_16(13), DIFF_16(14), DIFF_16(15),
		 DIFF_16(16)},
};
#undef DIFF_16
#undef DIFF
#undef D1
#undef ONES_17
#undef ONES_FROM

/*
 * Byte offsets instead of indices save shifts in the hottest loop: the
 * fine segment of value v (16 bytes each) begins at byte h = v & 0xF0 of
 * a column's fine histogram, its coarse step at byte 32 + 2h of coarse[]
 * (an address mode's scale), its fine step at byte (v << 4) & 0xF0 of
 * fine[].
 */
#define COARSE_STEP(h)                                                        \
	(*(const u16x16 *)((const char *)steps.coarse + 32 + 2 * (size_t)(h)))
#define FINE_STEP(off) (*(const u8x16 *)((const char *)steps.fine + (off)))
#define FINE_OFF(v) (((v) << 4) & 0xF0)
#define SEG_AT(f, off) (*(u8x16 *)((char *)(f) + (off)))

/* Counts value v in a column's coarse e and fine f histograms. */
static inline __attribute__((always_inline)) void
col_add(u16x16 *e, u8x16 *f, unsigned v)
{
	*e += COARSE_STEP(v & 0xF0);
	SEG_AT(f, v & 0xF0) += FINE_STEP(FINE_OFF(v));
}

/*
 * A row step's offsets, worked out for a whole row before its sweeps (see
 * row_offsets()): for the value coming in (a) and the one going out (s)
 * of each column and channel, 16-bit, in arrays PRE_STRIDE apart so that
 * one pointer and constant displacements reach all three:
 *   PRE_H           the byte offsets of their fine segments, v & 0xF0, a's
 *                   in the word's first byte in memory (PRE_HA) and s's in
 *                   its second (PRE_HS), each read as a byte: one store of
 *                   the pass writes both
 *   PRE_LS          the byte offset in fine[] of s's step
 *   PRE_LD          the byte offset in diff[] of a's step, less s's step
 *                   when both are in one segment
 * PRE_STRIDE covers the widest tile and window, three channels, and a
 * vector's overrun, in whole cache lines: every array starts on one, and
 * row_offsets()'s 32-byte stores never straddle two.
 */
typedef uint16_t pre_x16 __attribute__((vector_size(32)));
#define PRE_STRIDE                                                            \
	((3 * (TILE_COLS + NARROW_MAX_WINDOW + COL_AHEAD) + 32 + 31) / 32 * 32)
#define PRE_H 0
#define PRE_LS (1 * PRE_STRIDE)
#define PRE_LD (2 * PRE_STRIDE)
#define PRE_BYTES (3 * PRE_STRIDE * sizeof(pre_t))
/* PRE_H's word from the two segment offsets, and its bytes as read. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define PRE_H_WORD(ha, hs) (((ha) << 8) | (hs))
#else
#define PRE_H_WORD(ha, hs) ((ha) | ((hs) << 8))
#endif
#define PRE_HA(q) (((const uint8_t *)((q) + PRE_H))[0])
#define PRE_HS(q) (((const uint8_t *)((q) + PRE_H))[1])
/* The steps at t = (const char *)&steps, offsets as above. */
#define T_COARSE(t, h)                                                        \
	(*(const u16x16 *)((t) + offsetof(struct step_table, coarse) + 32 +    \
			   2 * (size_t)(h)))
#define T_FINE(t, off)                                                        \
	(*(const u8x16 *)((t) + offsetof(struct step_table, fine) + (off)))
#define T_DIFF(t, off)                                                        \
	(*(const u8x16 *)((t) + offsetof(struct step_table, diff) + (off)))

/* The offsets of one column and channel: a comes in, s goes out. */
static inline __attribute__((always_inline)) void
pre_one(pre_t *q, unsigned a, unsigned s)
{
	q[PRE_H] = (pre_t)PRE_H_WORD(a & 0xF0, s & 0xF0);
	q[PRE_LS] = (pre_t)((s & 15) << 4);
	q[PRE_LD] = (pre_t)((((a ^ s) < 16 ? s & 15 : 16) << 8) +
			    ((a & 15) << 4));
}

/*
 * The same for 16 consecutive columns and channels, a and s widened.  The
 * vectors come by address: this baseline function is inlined into the AVX
 * sweeps, and clang refuses a 32-byte vector argument across that target
 * boundary even where no call remains.
 */
static inline __attribute__((always_inline)) void
pre_16w(pre_t *q, const pre_x16 *pa, const pre_x16 *ps)
{
	const pre_x16 a = *pa, s = *ps;
	pre_x16 same, v;

	/* Lanes of a comparison are 0 or all ones. */
	same = (pre_x16)((a ^ s) <= 15);
	v = PRE_H_WORD(a & 0xF0, s & 0xF0);
	memcpy(q + PRE_H, &v, 32);
	v = (s & 15) << 4;
	memcpy(q + PRE_LS, &v, 32);
	v = ((((s & 15) & same) | (16 & ~same)) << 8) + ((a & 15) << 4);
	memcpy(q + PRE_LD, &v, 32);
}

/* The same from 16 consecutive bytes (unaligned). */
static inline __attribute__((always_inline)) void
pre_16(pre_t *q, const uint8_t *pa, const uint8_t *ps)
{
	u8x16 a8, s8;
	pre_x16 a, s;

	memcpy(&a8, pa, 16);
	memcpy(&s8, ps, 16);
	a = __builtin_convertvector(a8, pre_x16);
	s = __builtin_convertvector(s8, pre_x16);
	pre_16w(q, &a, &s);
}

/*
 * Moves a column down a row by the offsets at q (see PRE_H): the value
 * coming in is counted, the one going out uncounted (the same value
 * changes nothing).  Both fine segments are read before either is
 * written, and when they are the same one the second store writes both
 * steps: a load right after a store that sometimes hits the same address
 * (often, in a photo) would stall on every guess the core makes about it.
 */
static inline __attribute__((always_inline)) void
col_down(u16x16 *e, u8x16 *f, const pre_t *q, const char *t)
{
	const unsigned ha = PRE_HA(q), hs = PRE_HS(q);
	const u8x16 a = SEG_AT(f, ha), s = SEG_AT(f, hs);

	*e += T_COARSE(t, ha) - T_COARSE(t, hs);
	SEG_AT(f, hs) = s - T_FINE(t, q[PRE_LS]);
	SEG_AT(f, ha) = a + T_DIFF(t, q[PRE_LD]);
}

/*
 * steps as an address the compiler cannot see through, so that it keeps
 * the one register for all three tables instead of three (and spills).
 */
static inline __attribute__((always_inline)) const char *
steps_base(void)
{
	const char *t = (const char *)&steps;

	__asm__("" : "+r"(t));
	return t;
}

static inline __attribute__((always_inline)) u16x16
widen_generic(const u8x16 *v)
{
	return __builtin_convertvector(*v, u16x16);
}

#ifdef MEDIAN_HAVE_AVX2
/*
 * The baseline x86-64 version: SSE2 compares on the two halves, packed to
 * one bit per lane.  Lanes are non-decreasing, so those above t are the
 * last ones and their number is 16 minus the index of the first.
 */
static inline __attribute__((always_inline)) unsigned
count_gt_generic(u16x16 v, int t)
{
	union {
		u16x16 v;
		__m128i h[2];
	} u = {.v = v};
	__m128i tt = _mm_set1_epi16((short)t);
	unsigned m = (unsigned)_mm_movemask_epi8(
		_mm_packs_epi16(_mm_cmpgt_epi16(u.h[0], tt),
				_mm_cmpgt_epi16(u.h[1], tt)));

	return 16 - (unsigned)__builtin_ctz(m | 0x10000);
}
#else
static inline __attribute__((always_inline)) unsigned
count_gt_generic(u16x16 v, int t)
{
	unsigned n = 0;

	for (int i = 0; i < 16; i++)
		n += (int16_t)v[i] > t;
	return n;
}
#endif

#define MT_NAME tile_generic
#define MT_SWEEP sweep_generic
#define MT_ROW_OFFSETS row_offsets_generic
#define MT_TARGET
#define MT_COUNT_GT count_gt_generic
#define MT_WIDEN widen_generic
#include "imaging/median_tile.h"
#undef MT_NAME
#undef MT_SWEEP
#undef MT_ROW_OFFSETS
#undef MT_TARGET
#undef MT_COUNT_GT
#undef MT_WIDEN
#undef MT_WIDEN_U

#ifdef MEDIAN_HAVE_AVX2
/* Two mask bits per lane. */
__attribute__((target("avx2,popcnt"))) static inline unsigned
count_gt_avx2(u16x16 v, int t)
{
	__m256i gt = _mm256_cmpgt_epi16((__m256i)v,
					_mm256_set1_epi16((short)t));

	return (unsigned)__builtin_popcount(
		   (unsigned)_mm256_movemask_epi8(gt)) / 2;
}

/* One vpmovzxbw from memory (GCC splits __builtin_convertvector in two). */
__attribute__((target("avx2"))) static inline u16x16
widen_avx2(const u8x16 *v)
{
	return (u16x16)_mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)v));
}

/* The same from any address. */
__attribute__((target("avx2"))) static inline u16x16
widen_u_avx2(const uint8_t *p)
{
	return (u16x16)_mm256_cvtepu8_epi16(
		_mm_loadu_si128((const __m128i *)p));
}

/* The byte mask of the compare, two bits per lane; its lanes counted. */
__attribute__((target("avx2,popcnt"))) static inline unsigned
mask_gt_avx2(u16x16 v, int t)
{
	return (unsigned)_mm256_movemask_epi8(
		_mm256_cmpgt_epi16((__m256i)v, _mm256_set1_epi16((short)t)));
}

#define MASK_COUNT_AVX2(m) ((unsigned)__builtin_popcount(m) / 2)

#define MT_NAME tile_avx2
#define MT_MASK_GT mask_gt_avx2
#define MT_MASK_COUNT MASK_COUNT_AVX2
#define MT_SWEEP sweep_avx2
#define MT_ROW_OFFSETS row_offsets_avx2
#define MT_TARGET __attribute__((target("avx2,popcnt")))
#define MT_COUNT_GT count_gt_avx2
#define MT_WIDEN widen_avx2
#define MT_WIDEN_U widen_u_avx2
#include "imaging/median_tile.h"
#undef MT_NAME
#undef MT_MASK_GT
#undef MT_MASK_COUNT
#undef MT_SWEEP
#undef MT_ROW_OFFSETS
#undef MT_TARGET
#undef MT_COUNT_GT
#undef MT_WIDEN
#undef MT_WIDEN_U
#endif

#ifdef MEDIAN_HAVE_AVX2
/*
 * AVX-512BW/VL on the same 256-bit vectors: a compare into a mask
 * register and its popcount (one bit per lane, no halving), a broadcast
 * straight from a general register, and 32 vector registers for the
 * three channels' state.
 */
#define MEDIAN_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx2,popcnt"

__attribute__((target(MEDIAN_AVX512_TARGET))) static inline unsigned
count_gt_avx512(u16x16 v, int t)
{
	return (unsigned)__builtin_popcount(
		_mm256_cmpgt_epi16_mask((__m256i)v,
					_mm256_set1_epi16((short)t)));
}

__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x16
widen_avx512(const u8x16 *v)
{
	return (u16x16)_mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)v));
}

typedef uint16_t u16x32 __attribute__((vector_size(64)));

/* The lanes of v above t (signed), one bit each. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline uint32_t
mask_gt32_avx512(u16x32 v, int t)
{
	return _mm512_cmpgt_epi16_mask((__m512i)v, _mm512_set1_epi16((short)t));
}

/* Two segments widened side by side: a in lanes 0..15, b in 16..31. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x32
widen2_avx512(const u8x16 *a, const u8x16 *b)
{
	return (u16x32)_mm512_cvtepu8_epi16(_mm256_inserti128_si256(
		_mm256_castsi128_si256(_mm_load_si128((const __m128i *)a)),
		_mm_load_si128((const __m128i *)b), 1));
}

/* Lanes 16c .. 16c+15 of v, and v with them replaced by h. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x16
half_avx512(u16x32 v, int c)
{
	return (u16x16)(c ? _mm512_extracti64x4_epi64((__m512i)v, 1)
			  : _mm512_castsi512_si256((__m512i)v));
}

__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x32
set_half_avx512(u16x32 v, int c, u16x16 h)
{
	return (u16x32)(c ? _mm512_inserti64x4((__m512i)v, (__m256i)h, 1)
			  : _mm512_inserti64x4((__m512i)v, (__m256i)h, 0));
}

/* vpermw on 32 lanes: lane sel[i] of v in lane i. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x32
lane32_avx512(u16x32 v, u16x32 sel)
{
	return (u16x32)_mm512_permutexvar_epi16((__m512i)sel, (__m512i)v);
}

/* The lanes of v above t (signed), one bit each; and their number. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline unsigned
mask_gt_avx512(u16x16 v, int t)
{
	return _mm256_cmpgt_epi16_mask((__m256i)v, _mm256_set1_epi16((short)t));
}

#define MASK_COUNT_AVX512(m) ((unsigned)__builtin_popcount(m))

/* pre_16w() for 32 columns and channels, from bytes at pa and ps. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline void
pre_32_avx512(pre_t *q, const uint8_t *pa, const uint8_t *ps)
{
	const u16x32 a = (u16x32)_mm512_cvtepu8_epi16(
		_mm256_loadu_si256((const __m256i *)pa));
	const u16x32 s = (u16x32)_mm512_cvtepu8_epi16(
		_mm256_loadu_si256((const __m256i *)ps));
	const u16x32 same = (u16x32)((a ^ s) <= 15);
	u16x32 v;

	v = PRE_H_WORD(a & 0xF0, s & 0xF0);
	memcpy(q + PRE_H, &v, 64);
	v = (s & 15) << 4;
	memcpy(q + PRE_LS, &v, 64);
	v = ((((s & 15) & same) | (16 & ~same)) << 8) + ((a & 15) << 4);
	memcpy(q + PRE_LD, &v, 64);
}

/* vpermw: lane sel[0] of v in every lane. */
__attribute__((target(MEDIAN_AVX512_TARGET))) static inline u16x16
lane_avx512(u16x16 v, u16x16 sel)
{
	return (u16x16)_mm256_permutexvar_epi16((__m256i)sel, (__m256i)v);
}

#define MT_NAME tile_avx512
#define MT_SWEEP sweep_avx512
#define MT_ROW_OFFSETS row_offsets_avx512
#define MT_TARGET __attribute__((target(MEDIAN_AVX512_TARGET)))
#define MT_COUNT_GT count_gt_avx512
#define MT_WIDEN widen_avx512
#define MT_WIDEN_U widen_u_avx2
#define MT_PRE32 pre_32_avx512
#define MT_LANE lane_avx512
#define MT_MASK_GT mask_gt_avx512
#define MT_MASK_COUNT MASK_COUNT_AVX512
#define MT_SWEEP2 sweep2_avx512
#define MT_MASK_GT32 mask_gt32_avx512
#define MT_WIDEN2 widen2_avx512
#define MT_LANE32 lane32_avx512
#define MT_HALF half_avx512
#define MT_SET_HALF set_half_avx512
#include "imaging/median_tile.h"
#undef MT_HALF
#undef MT_SET_HALF
#undef MT_SWEEP2
#undef MT_MASK_GT32
#undef MT_WIDEN2
#undef MT_LANE32
#undef MT_NAME
#undef MT_SWEEP
#undef MT_ROW_OFFSETS
#undef MT_TARGET
#undef MT_COUNT_GT
#undef MT_WIDEN
#undef MT_WIDEN_U
#undef MT_LANE
#undef MT_PRE32
#undef MT_MASK_GT
#undef MT_MASK_COUNT
#endif

static bool
cpu_has_avx512(void)
{
#ifdef MEDIAN_HAVE_AVX2
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512bw") &&
	       __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("popcnt");
#else
	return false;
#endif
}

static bool
cpu_has_avx2(void)
{
#ifdef MEDIAN_HAVE_AVX2
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx2") &&
	       __builtin_cpu_supports("popcnt");
#else
	return false;
#endif
}

enum median_path
median_auto_path(int window)
{
	if (window > NARROW_MAX_WINDOW)
		return MEDIAN_PATH_WIDE;
	if (cpu_has_avx512())
		return MEDIAN_PATH_AVX512;
	return cpu_has_avx2() ? MEDIAN_PATH_AVX2 : MEDIAN_PATH_GENERIC;
}

static void
strip_narrow(const struct filter_ctx *ctx, const struct scratch *sc, int y0,
	     int y1)
{
	const int W = ctx->src->w;
	const int tile = W < TILE_COLS ? W : TILE_COLS;
	struct tile_job tj = {
		.src = ctx->src,
		.dst = ctx->dst,
		.r = ctx->r,
		.y0 = y0,
		.y1 = y1,
		.cols01 = sc->cols01,
		.cols2 = sc->cols2,
		.pre = sc->pre,
		.offs = sc->offs,
	};

	for (tj.tx0 = 0; tj.tx0 < W; tj.tx0 += tile) {
		tj.tx1 = tj.tx0 + tile < W ? tj.tx0 + tile : W;
#ifdef MEDIAN_HAVE_AVX2
		if (ctx->path == MEDIAN_PATH_AVX512) {
			tile_avx512(&tj);
			continue;
		}
		if (ctx->path == MEDIAN_PATH_AVX2) {
			tile_avx2(&tj);
			continue;
		}
#endif
		tile_generic(&tj);
	}
}

/*
 * The 32-bit path: per column 256 fine bins and then 16 coarse ones
 * (WIDE_BINS counts), the same for the kernel.  Any window; the cost per
 * pixel is one 272-bin add and subtract (vectorised by the compiler) and a
 * search of at most 16 + 16 bins, independent of w.
 */
#define WIDE_BINS 272

static void
wide_count(uint32_t *c, unsigned v, uint32_t n)
{
	c[v] += n;
	c[256 + (v >> 4)] += n;
}

static void
strip_wide(const struct filter_ctx *ctx, uint32_t *col, int y0, int y1)
{
	const struct img *src = ctx->src;
	const int W = src->w, H = src->h, r = ctx->r;
	const uint64_t w = (uint64_t)(2 * r + 1), rank = w * w / 2;
	uint32_t kern[WIDE_BINS];

	for (int ch = 0; ch < 3; ch++) {
		memset(col, 0, (size_t)W * WIDE_BINS * sizeof(*col));
		for (int j = -r; j <= r; j++) {
			const uint8_t *row = src->px +
					     (size_t)clampi(y0 + j, 0, H - 1) *
						     src->stride;
			for (int c = 0; c < W; c++)
				wide_count(col + (size_t)c * WIDE_BINS,
					   row[(size_t)c * 3 + (size_t)ch], 1);
		}
		for (int y = y0; y < y1; y++) {
			uint8_t *out = ctx->dst->px +
				       (size_t)y * ctx->dst->stride +
				       (size_t)ch;

			if (y > y0) {
				const uint8_t *ra = src->px +
				    (size_t)clampi(y + r, 0, H - 1) *
				    src->stride;
				const uint8_t *rs = src->px +
				    (size_t)clampi(y - 1 - r, 0, H - 1) *
				    src->stride;
				for (int c = 0; c < W; c++) {
					uint32_t *cc =
					    col + (size_t)c * WIDE_BINS;
					wide_count(cc,
					    ra[(size_t)c * 3 + (size_t)ch], 1);
					/* Adding 2^32 - 1 subtracts one. */
					wide_count(cc,
					    rs[(size_t)c * 3 + (size_t)ch],
					    UINT32_MAX);
				}
			}
			/* The window of x = -1; each x below takes one step. */
			memset(kern, 0, sizeof(kern));
			for (int j = -r - 1; j < r; j++) {
				const uint32_t *cc = col +
				    (size_t)clampi(j, 0, W - 1) * WIDE_BINS;
				for (int v = 0; v < WIDE_BINS; v++)
					kern[v] += cc[v];
			}
			for (int x = 0; x < W; x++) {
				const uint32_t *ca = col +
				    (size_t)clampi(x + r, 0, W - 1) * WIDE_BINS;
				const uint32_t *cs = col +
				    (size_t)clampi(x - 1 - r, 0, W - 1) *
				    WIDE_BINS;
				uint64_t sum = 0;
				int k, v;

				for (v = 0; v < WIDE_BINS; v++)
					kern[v] += ca[v] - cs[v];
				for (k = 0; k < 15; k++) {
					if (sum + kern[256 + k] > rank)
						break;
					sum += kern[256 + k];
				}
				for (v = k * 16; v < k * 16 + 15; v++) {
					if (sum + kern[v] > rank)
						break;
					sum += kern[v];
				}
				out[(size_t)x * 3] = (uint8_t)v;
			}
		}
	}
}

static int
scratch_init(struct scratch *sc, const struct filter_ctx *ctx)
{
	const int W = ctx->src->w, w = 2 * ctx->r + 1;
	const int tile = W < TILE_COLS ? W : TILE_COLS;

	memset(sc, 0, sizeof(*sc));
	if (ctx->path == MEDIAN_PATH_WIDE) {
		sc->col = malloc((size_t)W * WIDE_BINS * sizeof(*sc->col));
		return sc->col == NULL ? IF_ERUNTIME : IF_OK;
	}
	/* Sizes are multiples of 64, as aligned_alloc() wants. */
	sc->cols01 = aligned_alloc(64, (size_t)(tile + w + COL_AHEAD) *
					       sizeof(struct hcol2));
	sc->cols2 = aligned_alloc(64,
				  (size_t)(tile + w + COL_AHEAD + 1) / 2 * 2 *
				  sizeof(struct hcol));
	sc->pre = aligned_alloc(64, (PRE_BYTES + 63) / 64 * 64);
	sc->offs = malloc((size_t)(tile + w + COL_AHEAD) * sizeof(size_t));
	if (sc->cols01 == NULL || sc->cols2 == NULL || sc->pre == NULL ||
	    sc->offs == NULL)
		return IF_ERUNTIME;
	return IF_OK;
}

static void
scratch_cleanup(struct scratch *sc)
{
	free(sc->cols01);
	free(sc->cols2);
	free(sc->pre);
	free(sc->offs);
	free(sc->col);
	memset(sc, 0, sizeof(*sc));
}

/*
 * Takes strips until none is left.  More strips than threads, claimed as
 * threads come free, keep every core busy to the end even when another
 * process holds one of them for a while.
 */
static void *
run_worker(void *arg)
{
	struct worker *wk = arg;
	struct filter_ctx *ctx = wk->ctx;
	const int H = ctx->src->h;
	struct scratch sc;
	int i;

	wk->rc = scratch_init(&sc, ctx);
	if (wk->rc != IF_OK) {
		scratch_cleanup(&sc);
		return NULL;
	}
	while ((i = atomic_fetch_add(&ctx->next, 1)) < ctx->nstrips) {
		int y0 = (int)((int64_t)H * i / ctx->nstrips);
		int y1 = (int)((int64_t)H * (i + 1) / ctx->nstrips);

		if (ctx->path == MEDIAN_PATH_WIDE)
			strip_wide(ctx, sc.col, y0, y1);
		else
			strip_narrow(ctx, &sc, y0, y1);
	}
	scratch_cleanup(&sc);
	return NULL;
}

int
median_filter(const struct img *src, struct img *dst, int window,
	      int threads, enum median_path path, struct errbuf *eb)
{
	struct filter_ctx ctx;
	struct worker workers[MAX_THREADS];
	pthread_t tids[MAX_THREADS];
	int nthreads, min_rows, started = 0, rc = IF_OK;

	if (window < 1 || window % 2 == 0)
		return err_set(eb, IF_EINPUT,
			       "median window %d must be odd and at least 1",
			       window);
	/* 2r+1 and (2r+1)^2 must fit the 64-bit rank arithmetic. */
	if (window > 65535)
		return err_set(eb, IF_EINPUT,
			       "median window %d is over the limit of 65535",
			       window);
	if (src == NULL || dst == NULL || src->px == NULL || dst->px == NULL)
		return err_set(eb, IF_EINPUT, "median filter: missing image");
	if (src->w != dst->w || src->h != dst->h)
		return err_set(eb, IF_EINPUT,
			       "median filter: output is %dx%d, input %dx%d",
			       dst->w, dst->h, src->w, src->h);
	/*
	 * Strips read rows others are writing if the buffers overlap at
	 * all, not only when they start at the same address.
	 */
	if ((uintptr_t)src->px <
		    (uintptr_t)dst->px + dst->stride * (size_t)dst->h &&
	    (uintptr_t)dst->px <
		    (uintptr_t)src->px + src->stride * (size_t)src->h)
		return err_set(eb, IF_EINPUT,
			       "median filter: output overlaps input (the "
			       "filter cannot work in place)");
	if (window == 1) {
		for (int y = 0; y < src->h; y++)
			memcpy(dst->px + (size_t)y * dst->stride,
			       src->px + (size_t)y * src->stride,
			       (size_t)src->w * 3);
		return IF_OK;
	}
	if (window > NARROW_MAX_WINDOW || path == MEDIAN_PATH_AUTO ||
	    (path == MEDIAN_PATH_AVX2 && !cpu_has_avx2()) ||
	    (path == MEDIAN_PATH_AVX512 && !cpu_has_avx512()))
		path = median_auto_path(window);
	ctx.src = src;
	ctx.dst = dst;
	ctx.r = window / 2;
	ctx.path = path;
	atomic_init(&ctx.next, 0);
	nthreads = threads > 0 ? threads : cpu_count();
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	/*
	 * Each strip reads w - 1 rows of halo before its first output row:
	 * strips of at least 4w rows keep that under a few percent.
	 */
	min_rows = window * 4 > MIN_STRIP_ROWS ? window * 4 : MIN_STRIP_ROWS;
	ctx.nstrips = nthreads == 1 ? 1 : nthreads * STRIPS_PER_THREAD;
	if (ctx.nstrips > src->h / min_rows)
		ctx.nstrips = src->h / min_rows > 0 ? src->h / min_rows : 1;
	if (nthreads > ctx.nstrips)
		nthreads = ctx.nstrips;
	for (int i = 0; i < nthreads; i++)
		workers[i] = (struct worker){.ctx = &ctx, .rc = IF_OK};
	for (int i = 1; i < nthreads; i++) {
		if (pthread_create(&tids[i], NULL, run_worker,
				   &workers[i]) != 0)
			break;
		started = i;
	}
	/* This thread works too; the strips of threads not made wait for it. */
	run_worker(&workers[0]);
	for (int i = 1; i <= started; i++)
		pthread_join(tids[i], NULL);
	/* A worker without memory took no strip: others may have done all. */
	if (atomic_load(&ctx.next) < ctx.nstrips)
		for (int i = 0; i <= started && rc == IF_OK; i++)
			if (workers[i].rc != IF_OK)
				rc = err_set(eb, IF_ERUNTIME,
					     "median filter of %dx%d, window "
					     "%d: out of memory",
					     src->w, src->h, window);
	return rc;
}

int
img_median(const struct img *src, struct img *dst, int window, int threads,
	   struct errbuf *eb)
{
	return median_filter(src, dst, window, threads, MEDIAN_PATH_AUTO, eb);
}
