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
#include "daemon/detect_opts.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RENDER_BOXES 10000

struct render_opts {
	const char *input, *output;
	struct box *boxes; /* owned */
	size_t nboxes;
	enum redact_style style;
	uint32_t color;
	int64_t window, quality, threads, heavy_window, mp;
	bool detect; /* --detect: the detector's faces join the boxes */
	struct detect_opts detector;
};

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

/* Appends one --box. */
static int
add_box(struct render_opts *o, const char *arg, struct errbuf *eb)
{
	struct box *p;

	if (o->nboxes == MAX_RENDER_BOXES)
		return err_set(eb, IF_EINPUT, "more than %d --box options",
			       MAX_RENDER_BOXES);
	p = realloc(o->boxes, (o->nboxes + 1) * sizeof(*p));
	if (p == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	o->boxes = p;
	if (parse_box(arg, &o->boxes[o->nboxes], eb) != IF_OK)
		return eb->code;
	o->nboxes++;
	return IF_OK;
}

static int
parse_style(const char *arg, enum redact_style *style, struct errbuf *eb)
{
	if (strcmp(arg, "fill") == 0)
		*style = REDACT_FILL;
	else if (strcmp(arg, "median") == 0)
		*style = REDACT_MEDIAN;
	else if (strcmp(arg, "pixelate") == 0)
		*style = REDACT_PIXELATE;
	else
		return err_set(eb, IF_EINPUT,
			       "--style \"%s\": use fill, median or pixelate",
			       arg);
	return IF_OK;
}

/* One option (getopt's c and optarg); missing and unknown ones too. */
static int
render_opt(struct render_opts *o, int c, const char *arg, const char *opt,
	   struct errbuf *eb)
{
	switch (c) {
	case 'w':
		return parse_int_arg("window", arg, 1, 65535, &o->window, eb);
	case 'b':
		return add_box(o, arg, eb);
	case 's':
		return parse_style(arg, &o->style, eb);
	case 'c':
		if (parse_rgb_hex(arg, &o->color) != 0)
			return err_set(eb, IF_EINPUT,
				       "--color \"%s\" is not #rrggbb", arg);
		return IF_OK;
	case 'q':
		return parse_int_arg("quality", arg, 1, 100, &o->quality, eb);
	case 't':
		return parse_int_arg("threads", arg, 0, 256, &o->threads, eb);
	case 'H':
		return parse_int_arg("heavy window", arg, 1, 65535,
				     &o->heavy_window, eb);
	case 'M':
		return parse_int_arg("max megapixels", arg, 1, 100000, &o->mp,
				     eb);
	case 'o':
		o->output = arg;
		return IF_OK;
	case 'd':
		o->detect = true;
		return IF_OK;
	case 'C':
		return detect_opt_cascade(&o->detector, arg, eb);
	case 'F':
		return detect_opt_min_face(&o->detector, arg, eb);
	case 'G':
		return detect_opt_margin(&o->detector, arg, eb);
	default:
		return cmd_opt_error(c, opt, eb);
	}
}

/* What the options must say together: IMAGE, -w, odd windows, -o. */
static int
render_opts_check(const struct render_opts *o, struct errbuf *eb)
{
	if (o->window < 0)
		return err_set(eb, IF_EINPUT, "-w WINDOW is required");
	if (o->window % 2 == 0 || o->heavy_window % 2 == 0)
		return err_set(eb, IF_EINPUT,
			       "window %lld is even; windows are odd",
			       (long long)(o->window % 2 == 0
						   ? o->window
						   : o->heavy_window));
	if (o->output == NULL)
		return err_set(eb, IF_EINPUT, "-o OUT is required");
	if (img_format_from_name(o->output) == IMG_FORMAT_UNKNOWN)
		return err_set(eb, IF_EINPUT,
			       "%s: unknown output format; use .jpg, .png or "
			       ".ppm",
			       o->output);
	return IF_OK;
}

/* IF_OK to go on, -1 after --help, or IF_EINPUT with eb set. */
static int
parse_render_opts(int argc, char **argv, struct render_opts *o,
		  struct errbuf *eb)
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
	int c;

	memset(o, 0, sizeof(*o));
	o->style = REDACT_FILL;
	o->window = -1;
	o->quality = IMG_DEFAULT_JPEG_QUALITY;
	o->heavy_window = IMG_HEAVY_WINDOW;
	o->mp = 100;
	detect_opts_init(&o->detector);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":w:b:s:c:q:t:o:h", opts,
				NULL)) != -1) {
		if (c == 'h') {
			render_usage(stdout);
			return -1;
		}
		if (render_opt(o, c, optarg, argv[optind - 1], eb) != IF_OK)
			return eb->code;
	}
	if (optind != argc - 1)
		return err_set(eb, IF_EINPUT,
			       optind >= argc
				       ? "no IMAGE given"
				       : "one IMAGE only (got \"%s\" too)",
			       optind + 1 < argc ? argv[optind + 1] : "");
	o->input = argv[optind];
	return render_opts_check(o, eb);
}

/* Appends the detector's faces in the image to the boxes (--detect). */
static int
detect_boxes(struct render_opts *o, struct errbuf *eb)
{
	struct img *im = NULL;
	struct box *found = NULL, *p;
	size_t nfound = 0;
	int rc;

	rc = img_load(o->input, (uint64_t)o->mp * 1000000ULL, &im, eb);
	if (rc == IF_OK)
		rc = detect_faces_in(im, &o->detector, &found, &nfound, NULL,
				     eb);
	img_free(im);
	if (rc != IF_OK || nfound == 0) {
		free(found);
		return rc;
	}
	p = realloc(o->boxes, (o->nboxes + nfound) * sizeof(*p));
	if (p == NULL) {
		free(found);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	memcpy(p + o->nboxes, found, nfound * sizeof(*p));
	o->boxes = p;
	o->nboxes += nfound;
	free(found);
	return IF_OK;
}

/* Renders and writes OUT atomically: a failed render leaves no file. */
static int
render_write(const struct render_opts *o, struct errbuf *eb)
{
	struct img_stage_spec spec = {0};
	struct img_renderer *r = NULL;
	const void *data = NULL;
	const unsigned char *bytes = NULL;
	size_t len = 0, nbytes = 0;
	int rc;

	spec.window = (int)o->window;
	spec.boxes = o->boxes;
	spec.n = o->nboxes;
	spec.style = o->style;
	spec.fill_rgb = o->color;
	spec.heavy_window = (int)o->heavy_window;
	rc = img_renderer_new(&r, (int)o->threads,
			      (uint64_t)o->mp * 1000000ULL, eb);
	if (rc == IF_OK)
		rc = img_renderer_read_file(r, o->input, &data, &len, eb);
	if (rc == IF_OK)
		rc = img_renderer_encode(r, data, len, o->input, &spec,
					 img_format_from_name(o->output),
					 (int)o->quality, &bytes, &nbytes, eb);
	if (rc == IF_OK)
		rc = atomic_write_file(o->output, bytes, nbytes, 0644, eb);
	img_renderer_free(r);
	return rc;
}

int
cmd_render(int argc, char **argv)
{
	struct errbuf eb = {0};
	struct render_opts o;
	int rc;

	rc = parse_render_opts(argc, argv, &o, &eb);
	if (rc == IF_OK)
		rc = (!o.detect || detect_boxes(&o, &eb) == IF_OK) &&
				     render_write(&o, &eb) == IF_OK
			     ? IF_OK
			     : cmd_fail("render", &eb);
	else if (rc != -1) {
		rc = cmd_usage_error("render", &eb);
	} else {
		rc = IF_OK;
	}
	free(o.boxes);
	return rc;
}
