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
#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"

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

/* Parsed options shared with `render --detect`. */
int
detect_faces_in(const struct img *im, const char *const *cascades,
		size_t ncascades, const struct exp_length *min_face,
		int margin_bp, bool no_downscale, struct box **out,
		size_t *nout, int *min_px, struct errbuf *eb)
{
	static const char *const defaults[] = {"frontalface_alt2",
					       "profileface"};
	struct face_detector *d = NULL;
	struct face_detect_opts o = {0};
	int rc;

	if (ncascades == 0) {
		cascades = defaults;
		ncascades = 2;
	}
	o.min_face = img_length_resolve(min_face->px, min_face->bp, im->w,
					im->h);
	o.margin_bp = margin_bp;
	o.no_downscale = no_downscale;
	if (min_px != NULL)
		*min_px = o.min_face;
	rc = face_detector_new(cascades, ncascades, &d, eb);
	if (rc == IF_OK)
		rc = face_detect(d, im, &o, out, nout, eb);
	face_detector_free(d);
	return rc;
}

static int
print_json(const char *path, const struct img *im, int min_px,
	   const struct box *b, size_t n)
{
	json_t *o, *arr = json_array();
	char *text;

	for (size_t i = 0; arr != NULL && i < n; i++)
		json_array_append_new(arr, json_pack("[iiii]", b[i].x, b[i].y,
						     b[i].w, b[i].h));
	o = json_pack("{s:s, s:i, s:i, s:i, s:o}", "image", path, "width",
		      im->w, "height", im->h, "min_face_px", min_px, "boxes",
		      arr);
	text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text == NULL)
		return IF_ERUNTIME;
	printf("%s\n", text);
	free(text);
	return IF_OK;
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
	const char *cascades[FACE_CASCADES_MAX];
	size_t ncascades = 0, nboxes = 0;
	struct exp_length min_face = {.px = 20};
	struct errbuf eb = {0};
	struct img *im = NULL;
	struct box *boxes = NULL;
	int64_t mp = 100;
	int margin_bp = 1000, min_px = 0, c, rc = IF_OK;
	bool json = false, no_downscale = false;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:m:g:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (ncascades == FACE_CASCADES_MAX)
				rc = err_set(&eb, IF_EINPUT,
					     "more than %d --cascade options",
					     FACE_CASCADES_MAX);
			else
				cascades[ncascades++] = optarg;
			break;
		case 'm':
			if (cfg_parse_length(optarg, 100000, &min_face) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--min-face \"%s\": give pixels "
					     "(1..100000) or a share like 2%%",
					     optarg);
			break;
		case 'g':
			margin_bp = 0;
			if (strcmp(optarg, "0") != 0 &&
			    strcmp(optarg, "0%") != 0 &&
			    cfg_parse_percent(optarg, &margin_bp) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--margin \"%s\": give a "
					     "percentage like 10%% (0%% to "
					     "100%%)",
					     optarg);
			break;
		case 'D':
			no_downscale = true;
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
		case ':':
			rc = err_set(&eb, IF_EINPUT, "%s needs a value",
				     argv[optind - 1]);
			break;
		default:
			rc = err_set(&eb, IF_EINPUT, "unknown option \"%s\"",
				     argv[optind - 1]);
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
		rc = detect_faces_in(im, cascades, ncascades, &min_face,
				     margin_bp, no_downscale, &boxes, &nboxes,
				     &min_px, &eb);
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
	fprintf(stderr, "intofocus detect: %s\n", eb.msg);
	fprintf(stderr, "Try \"intofocus detect --help\".\n");
	return IF_EINPUT;
}
