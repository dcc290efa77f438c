/*
 * intofocus render: one stage image, offline (spec section 2).
 *
 *   intofocus render IMAGE -w WINDOW [--box x,y,w,h]... [--style S]
 *                    [--color #rrggbb] [--quality Q] [--threads N]
 *                    [--heavy-window N] [--max-megapixels N]
 *                    [--detect [--cascade C]... [--min-face L] [--margin P]]
 *                    -o OUT
 *
 * The output format follows OUT's extension (.jpg/.jpeg, .png, .ppm) and is
 * written atomically: a failed render leaves no file behind.  --detect
 * adds the faces `intofocus detect` finds to the boxes, as the detector
 * of an experiment does before its first stage.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RENDER_BOXES 10000

static void
render_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus render IMAGE -w WINDOW [--box x,y,w,h]... "
		"[--style fill|median|pixelate]\n"
		"                        [--color #rrggbb] [--quality Q] "
		"[--threads N] [--heavy-window N]\n"
		"                        [--max-megapixels N] [--detect "
		"[--cascade C]... [--min-face L]\n"
		"                        [--margin P]] -o OUT\n"
		"\n"
		"Renders one stage image: the median filter of IMAGE at WINDOW "
		"(odd; 1 = no filter),\n"
		"then every --box redacted.  OUT's extension picks the format: "
		".jpg, .png or .ppm.\n"
		"\n"
		"  -w, --window N        median window width (odd, >= 1)\n"
		"  -b, --box x,y,w,h     a region to redact, in pixels of the "
		"oriented image (repeatable)\n"
		"  -s, --style S         fill (default), median (the "
		"--heavy-window image), pixelate (16-px blocks)\n"
		"  -c, --color #rrggbb   fill colour [default: #000000]\n"
		"  -q, --quality Q       JPEG quality 1..100 [default: 90]\n"
		"  -t, --threads N       threads for the filter [default: one "
		"per core]\n"
		"      --heavy-window N  window of the median redaction "
		"[default: 41]\n"
		"      --max-megapixels N  refuse larger images "
		"[default: 100]\n"
		"      --detect          also redact the faces OpenCV's "
		"cascades find (see\n"
		"                        intofocus detect --help for "
		"--cascade, --min-face, --margin)\n"
		"  -o, --output OUT      the file to write\n"
		"\nexit status: 0 written, 1 runtime failure, 2 bad "
		"arguments or unreadable image\n");
}

static int
parse_int_arg(const char *what, const char *s, int64_t min, int64_t max,
	      int64_t *out, struct errbuf *eb)
{
	if (parse_int64(s, min, max, out) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s \"%s\" is not a whole number in %lld..%lld",
			       what, s, (long long)min, (long long)max);
	return IF_OK;
}

static int
parse_box(const char *s, struct box *b, struct errbuf *eb)
{
	long long v[4];
	char tail;

	if (sscanf(s, "%lld,%lld,%lld,%lld%c", &v[0], &v[1], &v[2], &v[3],
		   &tail) != 4)
		return err_set(eb, IF_EINPUT,
			       "--box \"%s\" is not x,y,w,h (four whole "
			       "numbers)",
			       s);
	for (int i = 0; i < 4; i++)
		if (v[i] < -1000000000LL || v[i] > 1000000000LL)
			return err_set(eb, IF_EINPUT,
				       "--box \"%s\": %lld is out of range", s,
				       v[i]);
	if (v[2] < 0 || v[3] < 0)
		return err_set(eb, IF_EINPUT,
			       "--box \"%s\": width and height cannot be "
			       "negative",
			       s);
	*b = (struct box){(int)v[0], (int)v[1], (int)v[2], (int)v[3]};
	return IF_OK;
}

/* Appends the detector's faces in the image at path to *boxes. */
static int
detect_boxes(const char *path, uint64_t max_pixels,
	     const char *const *cascades, size_t ncascades,
	     const struct exp_length *min_face, int margin_bp,
	     struct box **boxes, size_t *nboxes, struct errbuf *eb)
{
	struct img *im = NULL;
	struct box *found = NULL, *p;
	size_t nfound = 0;
	int rc;

	rc = img_load(path, max_pixels, &im, eb);
	if (rc == IF_OK)
		rc = detect_faces_in(im, cascades, ncascades, min_face,
				     margin_bp, false, &found, &nfound, NULL,
				     eb);
	img_free(im);
	if (rc != IF_OK || nfound == 0) {
		free(found);
		return rc;
	}
	p = realloc(*boxes, (*nboxes + nfound) * sizeof(*p));
	if (p == NULL) {
		free(found);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	memcpy(p + *nboxes, found, nfound * sizeof(*p));
	*boxes = p;
	*nboxes += nfound;
	free(found);
	return IF_OK;
}

int
cmd_render(int argc, char **argv)
{
	static const struct option opts[] = {
		{"window", required_argument, NULL, 'w'},
		{"box", required_argument, NULL, 'b'},
		{"style", required_argument, NULL, 's'},
		{"color", required_argument, NULL, 'c'},
		{"quality", required_argument, NULL, 'q'},
		{"threads", required_argument, NULL, 't'},
		{"output", required_argument, NULL, 'o'},
		{"heavy-window", required_argument, NULL, 'H'},
		{"max-megapixels", required_argument, NULL, 'M'},
		{"detect", no_argument, NULL, 'd'},
		{"cascade", required_argument, NULL, 'C'},
		{"min-face", required_argument, NULL, 'F'},
		{"margin", required_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct errbuf eb = {0};
	struct box *boxes = NULL;
	size_t nboxes = 0;
	struct img_renderer *r = NULL;
	struct img_stage_spec spec = {0};
	const void *data = NULL;
	const unsigned char *bytes = NULL;
	size_t len = 0, nbytes = 0;
	const char *output = NULL, *input;
	enum redact_style style = REDACT_FILL;
	uint32_t color = 0;
	int64_t window = -1, quality = IMG_DEFAULT_JPEG_QUALITY, threads = 0;
	int64_t heavy_window = IMG_HEAVY_WINDOW, mp = 100;
	const char *cascades[FACE_CASCADES_MAX];
	size_t ncascades = 0;
	struct exp_length min_face = {.px = 20};
	int margin_bp = 1000;
	bool detect = false;
	int c, rc = IF_OK;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":w:b:s:c:q:t:o:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'w':
			rc = parse_int_arg("window", optarg, 1, 65535, &window,
					   &eb);
			break;
		case 'b':
			if (nboxes == MAX_RENDER_BOXES) {
				rc = err_set(&eb, IF_EINPUT,
					     "more than %d --box options",
					     MAX_RENDER_BOXES);
				break;
			}
			{
				struct box *p = realloc(
					boxes, (nboxes + 1) * sizeof(*p));
				if (p == NULL) {
					rc = err_set(&eb, IF_ERUNTIME,
						     "out of memory");
					break;
				}
				boxes = p;
			}
			rc = parse_box(optarg, &boxes[nboxes], &eb);
			if (rc == IF_OK)
				nboxes++;
			break;
		case 's':
			if (strcmp(optarg, "fill") == 0)
				style = REDACT_FILL;
			else if (strcmp(optarg, "median") == 0)
				style = REDACT_MEDIAN;
			else if (strcmp(optarg, "pixelate") == 0)
				style = REDACT_PIXELATE;
			else
				rc = err_set(&eb, IF_EINPUT,
					     "--style \"%s\": use fill, median "
					     "or pixelate",
					     optarg);
			break;
		case 'c':
			if (parse_rgb_hex(optarg, &color) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--color \"%s\" is not #rrggbb",
					     optarg);
			break;
		case 'q':
			rc = parse_int_arg("quality", optarg, 1, 100, &quality,
					   &eb);
			break;
		case 't':
			rc = parse_int_arg("threads", optarg, 0, 256, &threads,
					   &eb);
			break;
		case 'H':
			rc = parse_int_arg("heavy window", optarg, 1, 65535,
					   &heavy_window, &eb);
			break;
		case 'M':
			rc = parse_int_arg("max megapixels", optarg, 1, 100000,
					   &mp, &eb);
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
			detect = true;
			break;
		case 'C':
			if (ncascades == FACE_CASCADES_MAX)
				rc = err_set(&eb, IF_EINPUT,
					     "more than %d --cascade options",
					     FACE_CASCADES_MAX);
			else
				cascades[ncascades++] = optarg;
			break;
		case 'F':
			if (cfg_parse_length(optarg, 100000, &min_face) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--min-face \"%s\": give pixels "
					     "(1..100000) or a share like 2%%",
					     optarg);
			break;
		case 'G':
			margin_bp = 0;
			if (strcmp(optarg, "0") != 0 &&
			    strcmp(optarg, "0%") != 0 &&
			    cfg_parse_percent(optarg, &margin_bp) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--margin \"%s\": give a "
					     "percentage like 10%%",
					     optarg);
			break;
		case 'h':
			render_usage(stdout);
			free(boxes);
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
	input = argv[optind];
	if (window < 0) {
		err_set(&eb, IF_EINPUT, "-w WINDOW is required");
		goto usage_error;
	}
	if (window % 2 == 0 || heavy_window % 2 == 0) {
		err_set(&eb, IF_EINPUT, "window %lld is even; windows are odd",
			(long long)(window % 2 == 0 ? window : heavy_window));
		goto usage_error;
	}
	if (output == NULL) {
		err_set(&eb, IF_EINPUT, "-o OUT is required");
		goto usage_error;
	}
	if (img_format_from_name(output) == IMG_FORMAT_UNKNOWN) {
		err_set(&eb, IF_EINPUT,
			"%s: unknown output format; use .jpg, .png or .ppm",
			output);
		goto usage_error;
	}

	if (detect) {
		rc = detect_boxes(input, (uint64_t)mp * 1000000ULL, cascades,
				  ncascades, &min_face, margin_bp, &boxes,
				  &nboxes, &eb);
		if (rc != IF_OK) {
			free(boxes);
			return cmd_fail("render", &eb);
		}
	}
	spec.window = (int)window;
	spec.boxes = boxes;
	spec.n = nboxes;
	spec.style = style;
	spec.fill_rgb = color;
	spec.heavy_window = (int)heavy_window;
	rc = img_renderer_new(&r, (int)threads, (uint64_t)mp * 1000000ULL, &eb);
	if (rc == IF_OK)
		rc = img_renderer_read_file(r, input, &data, &len, &eb);
	if (rc == IF_OK)
		rc = img_renderer_encode(r, data, len, input, &spec,
					 img_format_from_name(output),
					 (int)quality, &bytes, &nbytes, &eb);
	/* A temporary name, then rename: a failed render leaves no file. */
	if (rc == IF_OK)
		rc = atomic_write_file(output, bytes, nbytes, 0644, &eb);
	img_renderer_free(r);
	free(boxes);
	if (rc != IF_OK)
		return cmd_fail("render", &eb);
	return IF_OK;

usage_error:
	free(boxes);
	fprintf(stderr, "intofocus render: %s\n", eb.msg);
	fprintf(stderr, "Try \"intofocus render --help\".\n");
	return IF_EINPUT;
}
