/*
 * intofocus detect: the faces OpenCV's cascade classifiers find in one
 * image (issue 17), before any worker looks.
 *
 *   intofocus detect IMAGE [--cascade NAME|PATH]... [--min-face PX|N%]
 *                    [--margin N%] [--no-downscale] [--max-megapixels N]
 *                    [--json]
 *
 * Each box is printed as x,y,w,h (what `render --box` takes), one a line,
 * in pixels of the displayed image; --json prints one object instead.
 */
#include "daemon/detect_opts.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
detect_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus detect IMAGE [--cascade NAME|PATH]... "
		"[--min-face PX|N%%]\n"
		"                        [--margin N%%] [--no-downscale] "
		"[--max-megapixels N] [--json]\n"
		"\n"
		"Prints the faces OpenCV's cascade classifiers find in IMAGE, "
		"one x,y,w,h a line.\n"
		"\n"
		"  -c, --cascade C       a cascade of opencv-data by name "
		"(frontalface_alt2) or an\n"
		"                        .xml path; repeatable [default: "
		"frontalface_alt2, profileface]\n"
		"  -m, --min-face L      smallest face side: pixels, or a "
		"share of the shorter\n"
		"                        side like 2%% [default: 20]\n"
		"  -g, --margin P        each edge moves out by this share of "
		"the face [default: 10%%]\n"
		"      --no-downscale    search at full size even when the "
		"smallest face is large\n"
		"      --max-megapixels N  refuse larger images "
		"[default: 100]\n"
		"  -j, --json            one JSON object: image, size, "
		"min_face_px, boxes\n"
		"\nexit status: 0 done (even with no face), 1 runtime failure, "
		"2 bad arguments,\n"
		"unreadable image or cascade\n");
}

void
detect_opts_init(struct detect_opts *d)
{
	memset(d, 0, sizeof(*d));
	d->min_face.px = 20;
	d->margin_bp = 1000;
}

int
detect_opt_cascade(struct detect_opts *d, const char *arg,
		   struct errbuf *eb)
{
	if (d->ncascades == FACE_CASCADES_MAX)
		return err_set(eb, IF_EINPUT, "more than %d --cascade options",
			       FACE_CASCADES_MAX);
	d->cascades[d->ncascades++] = arg;
	return IF_OK;
}

int
detect_opt_min_face(struct detect_opts *d, const char *arg,
		    struct errbuf *eb)
{
	if (cfg_parse_length(arg, 100000, &d->min_face) != 0)
		return err_set(eb, IF_EINPUT,
			       "--min-face \"%s\": give pixels (1..100000) or "
			       "a share like 2%%",
			       arg);
	return IF_OK;
}

int
detect_opt_margin(struct detect_opts *d, const char *arg, struct errbuf *eb)
{
	d->margin_bp = 0;
	if (strcmp(arg, "0") != 0 && strcmp(arg, "0%") != 0 &&
	    cfg_parse_percent(arg, &d->margin_bp) != 0)
		return err_set(eb, IF_EINPUT,
			       "--margin \"%s\": give a percentage like 10%% "
			       "(0%% to 100%%)",
			       arg);
	return IF_OK;
}

int
detect_faces_in(const struct img *im, const struct detect_opts *d,
		struct box **out, size_t *nout, int *min_px,
		struct errbuf *eb)
{
	static const char *const defaults[] = {"frontalface_alt2",
					       "profileface"};
	const char *const *cascades = d->cascades;
	size_t ncascades = d->ncascades;
	struct face_detector *fd = NULL;
	struct face_detect_opts o = {0};
	int rc;

	if (ncascades == 0) {
		cascades = defaults;
		ncascades = 2;
	}
	o.min_face = img_length_resolve(d->min_face.px, d->min_face.bp, im->w,
					im->h);
	o.margin_bp = d->margin_bp;
	o.no_downscale = d->no_downscale;
	if (min_px != NULL)
		*min_px = o.min_face;
	rc = face_detector_new(cascades, ncascades, &fd, eb);
	if (rc == IF_OK)
		rc = face_detect(fd, im, &o, out, nout, eb);
	face_detector_free(fd);
	return rc;
}

static int
print_json(const char *path, const struct img *im, int min_px,
	   const struct box *b, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("[iiii]", b[i].x, b[i].y,
						     b[i].w, b[i].h));
	return cmd_print_json_line(json_pack("{s:s, s:i, s:i, s:i, s:o}",
					     "image", path, "width", im->w,
					     "height", im->h, "min_face_px",
					     min_px, "boxes", arr));
}

int
cmd_detect(int argc, char **argv)
{
	static const struct option opts[] = {
		{"cascade", required_argument, NULL, 'c'},
		{"min-face", required_argument, NULL, 'm'},
		{"margin", required_argument, NULL, 'g'},
		{"no-downscale", no_argument, NULL, 'D'},
		{"max-megapixels", required_argument, NULL, 'M'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct detect_opts d;
	size_t nboxes = 0;
	struct errbuf eb = {0};
	struct img *im = NULL;
	struct box *boxes = NULL;
	int64_t mp = 100;
	int min_px = 0, c, rc = IF_OK;
	bool json = false;

	detect_opts_init(&d);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:m:g:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			rc = detect_opt_cascade(&d, optarg, &eb);
			break;
		case 'm':
			rc = detect_opt_min_face(&d, optarg, &eb);
			break;
		case 'g':
			rc = detect_opt_margin(&d, optarg, &eb);
			break;
		case 'D':
			d.no_downscale = true;
			break;
		case 'M':
			if (parse_int64(optarg, 1, 100000, &mp) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--max-megapixels \"%s\" is not "
					     "a whole number in 1..100000",
					     optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			detect_usage(stdout);
			return IF_OK;
		default:
			rc = cmd_opt_error(c, argv[optind - 1], &eb);
			break;
		}
		if (rc != IF_OK)
			goto usage_error;
	}
	if (optind != argc - 1) {
		err_set(&eb, IF_EINPUT,
			optind >= argc ? "no IMAGE given"
				       : "one IMAGE only (got \"%s\" too)",
			optind + 1 < argc ? argv[optind + 1] : "");
		goto usage_error;
	}
	rc = img_load(argv[optind], (uint64_t)mp * 1000000ULL, &im, &eb);
	if (rc == IF_OK)
		rc = detect_faces_in(im, &d, &boxes, &nboxes, &min_px, &eb);
	if (rc == IF_OK && json)
		rc = print_json(argv[optind], im, min_px, boxes, nboxes) ==
				     IF_OK
			     ? IF_OK
			     : err_set(&eb, IF_ERUNTIME, "out of memory");
	else if (rc == IF_OK)
		for (size_t i = 0; i < nboxes; i++)
			printf("%d,%d,%d,%d\n", boxes[i].x, boxes[i].y,
			       boxes[i].w, boxes[i].h);
	free(boxes);
	img_free(im);
	if (rc != IF_OK)
		return cmd_fail("detect", &eb);
	return IF_OK;

usage_error:
	return cmd_usage_error("detect", &eb);
}
