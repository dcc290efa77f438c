/*
 * imaging/median_private.h - the median filter's internals that its tests
 * need to reach: the choice of code path, so that every path is checked
 * against the brute-force oracle on any machine.
 */
#ifndef INTOFOCUS_MEDIAN_PRIVATE_H
#define INTOFOCUS_MEDIAN_PRIVATE_H

#include "imaging/imaging.h"

enum median_path {
	MEDIAN_PATH_AUTO = 0, /* what img_median() uses */
	MEDIAN_PATH_GENERIC,  /* the histogram method without AVX2 */
	MEDIAN_PATH_AVX2,     /* the histogram method with AVX2 (if the CPU
			       * has it) */
	MEDIAN_PATH_WIDE,     /* 32-bit counts, any window (the only one
			       * past 255) */
	MEDIAN_PATH_AVX512,   /* the histogram method with AVX-512BW/VL
			       * (ditto) */
};

/*
 * img_median() with the code path chosen by the caller.  A path the window
 * or the CPU cannot take falls back to the one AUTO would pick.
 */
int median_filter(const struct img *src, struct img *dst, int window,
		  int threads, enum median_path path, struct errbuf *eb);

/* The path AUTO takes for a window on this CPU. */
enum median_path median_auto_path(int window);

#endif /* INTOFOCUS_MEDIAN_PRIVATE_H */
