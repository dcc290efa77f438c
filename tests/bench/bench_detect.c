/*
 * tests/bench/bench_detect.c - the face detector's recall, precision and
 * speed (issue 17), for `make bench`.
 *
 *   bench_detect EXPERIMENT...
 *
 * For every image with ground truth in the experiment files: the faces
 * the default cascades find (smallest face 20 px, no margin).  A ground-
 * truth face counts as found when one detection covers at least half of
 * it (hidden, as a redaction would hide it); a detection counts as right
 * when it covers at least half of some ground-truth face.  Then the time
 * of one detection on a 12 MP image (the image with the most faces
 * scaled up to 4032x3024) with the smallest face at 2% of the shorter
 * side: searched at full size (the baseline) and scaled down so that the
 * smallest face meets the cascades' 24-px window (what intofocus does).
 * Figures only: the bench never fails on them.
 */
#include "config/config.h"
#include "imaging/imaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static bool
covers_half(const struct box *det, const struct box *face)
{
	return box_coverage(face, det, 1) >= 0.5;
}

/* The image scaled (nearest pixel) to w x h. */
static struct img *
scaled(const struct img *src, int w, int h)
{
	struct img *out = NULL;
	struct errbuf eb = {0};

	if (img_new(&out, w, h, 0, &eb) != IF_OK)
		return NULL;
	for (int y = 0; y < h; y++) {
		const uint8_t *row = src->px + (size_t)(y * src->h / h) *
						       src->stride;
		uint8_t *o = out->px + (size_t)y * out->stride;

		for (int x = 0; x < w; x++)
			memcpy(o + 3 * x, row + 3 * (x * src->w / w), 3);
	}
	return out;
}

static double
time_detect(struct face_detector *d, const struct img *im, int min_face,
	    bool no_downscale, size_t *nfound)
{
	struct face_detect_opts o = {.min_face = min_face,
				     .no_downscale = no_downscale};
	struct errbuf eb = {0};
	struct box *b = NULL;
	double t0 = now_ms(), t;

	if (face_detect(d, im, &o, &b, nfound, &eb) != IF_OK) {
		fprintf(stderr, "bench_detect: %s\n", eb.msg);
		exit(1);
	}
	t = now_ms() - t0;
	free(b);
	return t;
}

int
main(int argc, char **argv)
{
	static const char *const cascades[] = {"frontalface_alt2",
					       "profileface"};
	struct face_detector *d = NULL;
	struct errbuf eb = {0};
	struct img *first = NULL;
	size_t faces = 0, found = 0, dets = 0, right = 0, most = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench_detect EXPERIMENT...\n");
		return 2;
	}
	if (face_detector_new(cascades, 2, &d, &eb) != IF_OK) {
		fprintf(stderr, "bench_detect: %s\n", eb.msg);
		return 1;
	}
	printf("face detector (OpenCV cascades frontalface_alt2, profileface;"
	       " smallest face 20 px)\n");
	printf("  %-24s %6s %6s %6s %9s\n", "image", "faces", "found",
	       "boxes", "false");
	for (int a = 1; a < argc; a++) {
		struct experiment *e = NULL;

		if (exp_load(argv[a], &e, NULL, &eb) != IF_OK) {
			fprintf(stderr, "bench_detect: %s\n", eb.msg);
			return 1;
		}
		for (size_t i = 0; i < e->nimages; i++) {
			const struct exp_image *ei = &e->images[i];
			struct face_detect_opts o = {.min_face = 20};
			struct img *im = NULL;
			struct box *b = NULL;
			size_t n = 0, f = 0, r = 0;

			if (!ei->has_ground_truth)
				continue;
			if (img_load(ei->path, 0, &im, &eb) != IF_OK ||
			    face_detect(d, im, &o, &b, &n, &eb) != IF_OK) {
				fprintf(stderr, "bench_detect: %s\n", eb.msg);
				return 1;
			}
			for (size_t g = 0; g < ei->nground_truth; g++)
				for (size_t k = 0; k < n; k++)
					if (covers_half(&b[k],
							&ei->ground_truth[g])) {
						f++;
						break;
					}
			for (size_t k = 0; k < n; k++)
				for (size_t g = 0; g < ei->nground_truth; g++)
					if (covers_half(&b[k],
							&ei->ground_truth[g])) {
						r++;
						break;
					}
			printf("  %-24s %6zu %6zu %6zu %9zu\n", ei->id,
			       ei->nground_truth, f, n, n - r);
			faces += ei->nground_truth;
			found += f;
			dets += n;
			right += r;
			free(b);
			if (ei->nground_truth > most) {
				img_free(first);
				first = im;
				most = ei->nground_truth;
			} else {
				img_free(im);
			}
		}
		exp_free(e);
	}
	printf("  recall %.2f (%zu of %zu faces), precision %.2f (%zu of %zu "
	       "boxes)\n",
	       faces > 0 ? (double)found / faces : 0.0, found, faces,
	       dets > 0 ? (double)right / dets : 0.0, right, dets);
	if (first != NULL) {
		struct img *big = scaled(first, 4032, 3024);
		size_t nfull = 0, nsmall = 0;
		double full, small;

		if (big == NULL) {
			fprintf(stderr, "bench_detect: out of memory\n");
			return 1;
		}
		/* 2% of 3024: 60 px. */
		small = time_detect(d, big, 60, false, &nsmall);
		full = time_detect(d, big, 60, true, &nfull);
		printf("12 MP (4032x3024), smallest face 60 px (2%%): "
		       "%.0f ms, %zu faces; searched at full size %.0f ms, "
		       "%zu faces (%.1fx)\n",
		       small, nsmall, full, nfull,
		       small > 0 ? full / small : 0.0);
		img_free(big);
		img_free(first);
	}
	face_detector_free(d);
	return 0;
}
