/*
 * intofocus render: one stage image, offline (spec sections 2 and 4).
 *
 * The same library calls the daemon makes for a stage, with the boxes given
 * on the command line: load (EXIF orientation applied, metadata dropped),
 * median at the window, redact, save atomically in the format the output's
 * extension names.  Every argument is checked before the image is read, so
 * a typo costs no decoding and never leaves an output file behind.
 *
 * For --style median the redaction copies the stage-1 image, which offline
 * we do not know: it is the median at --heavy-window (default 41, the first
 * stage of every experiment in spec section 1).
 */
#include "daemon/daemon.h"
#include "imaging/imaging.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_THREADS 1024
#define MAX_WINDOW 65535

struct render_args {
	const char *input;
	const char *output;
	int window;
	int heavy_window;
	enum redact_style style;
	uint32_t color;
	int quality;
	int threads;
	uint64_t max_pixels;
	struct box *boxes;
	size_t nboxes;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus render IMAGE -w WINDOW [--box x,y,w,h]...\n"
		"           [--style fill|median|pixelate] [--color #rrggbb]\n"
		"           [--heavy-window N] [--quality Q] [--threads N]\n"
		"           [--max-megapixels N] -o OUT\n"
		"\n"
		"Renders one stage image: the median filter of IMAGE (JPEG, PNG or\n"
		"binary PPM; EXIF orientation applied) at WINDOW, with every box\n"
		"redacted.  WINDOW 1 (or 0) keeps the original: the final image.\n"
		"\n"
		"  -w, --window N        odd median window in pixels, or 0/1\n"
		"  -b, --box x,y,w,h     a region to redact, in pixels of the\n"
		"                        oriented image; repeat for more; clipped\n"
		"                        to the image, empty boxes ignored\n"
		"  -s, --style S         fill (default), median (the pixels of the\n"
		"                        heavy image), pixelate (16-px blocks on\n"
		"                        the image grid)\n"
		"  -c, --color #rrggbb   fill colour (default #000000)\n"
		"      --heavy-window N  median window of the image that --style\n"
		"                        median copies from (default 41)\n"
		"  -q, --quality Q       JPEG quality 1..100 (default 90)\n"
		"  -j, --threads N       median filter threads (default 0 = one\n"
		"                        per core)\n"
		"      --max-megapixels N  refuse larger images (default 100)\n"
		"  -o, --output OUT      .jpg/.jpeg, .png or .ppm; written\n"
		"                        atomically, never partly\n"
		"  -h, --help            this text\n"
		"\n"
		"No metadata (EXIF, XMP, comments, ICC, text chunks) is written.\n"
		"Exit status: 0 done, 1 runtime failure, 2 bad arguments or an\n"
		"unreadable image.\n");
}

static int bad_arg(const char *fmt, ...) IF_PRINTF(1, 2);

/* Prints a usage error naming the argument; returns IF_EINPUT. */
static int
bad_arg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "intofocus render: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see intofocus render --help)\n");
	return IF_EINPUT;
}

static int
parse_int_opt(const char *opt, const char *value, int64_t min, int64_t max,
	      int *out)
{
	int64_t v;

	if (parse_int64(value, min, max, &v) != 0)
		return bad_arg("%s \"%s\": want an integer from %lld to %lld",
			       opt, value, (long long)min, (long long)max);
	*out = (int)v;
	return IF_OK;
}

/* "x,y,w,h": four strict integers; w and h not negative. */
static int
parse_box(const char *value, struct box *b)
{
	char tmp[128], *fields[4], *tok;
	int64_t v[4];
	int n = 0;

	if (strlen(value) >= sizeof(tmp))
		return -1;
	memcpy(tmp, value, strlen(value) + 1);
	/* strtok_r would merge ",," into one separator: split by hand. */
	tok = tmp;
	fields[n++] = tok;
	while ((tok = strchr(tok, ',')) != NULL) {
		if (n == 4)
			return -1;
		*tok++ = '\0';
		fields[n++] = tok;
	}
	if (n != 4)
		return -1;
	for (int i = 0; i < 4; i++)
		if (parse_int64(fields[i], i < 2 ? -1000000000 : 0, 1000000000,
				&v[i]) != 0)
			return -1;
	b->x = (int)v[0];
	b->y = (int)v[1];
	b->w = (int)v[2];
	b->h = (int)v[3];
	return 0;
}

static int
parse_color(const char *value, uint32_t *out)
{
	uint32_t c = 0;

	if (strlen(value) != 7 || value[0] != '#')
		return -1;
	for (int i = 1; i < 7; i++) {
		char ch = value[i];
		int d;
		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -1;
		c = c << 4 | (uint32_t)d;
	}
	*out = c;
	return 0;
}

static int
add_box(struct render_args *a, const char *value)
{
	struct box b, *p;

	if (parse_box(value, &b) != 0)
		return bad_arg("--box \"%s\": want x,y,w,h (integers, w and h "
			       "not negative)",
			       value);
	p = realloc(a->boxes, (a->nboxes + 1) * sizeof(*p));
	if (p == NULL) {
		fprintf(stderr, "intofocus render: out of memory\n");
		return IF_ERUNTIME;
	}
	a->boxes = p;
	a->boxes[a->nboxes++] = b;
	return IF_OK;
}

enum { OPT_HEAVY = 256, OPT_MAXMP };

/*
 * Fills a from argv.  Returns IF_OK, an error status, or -1 for --help
 * (already printed).
 */
static int
parse_args(int argc, char **argv, struct render_args *a)
{
	static const struct option longopts[] = {
		{"window", required_argument, NULL, 'w'},
		{"box", required_argument, NULL, 'b'},
		{"style", required_argument, NULL, 's'},
		{"color", required_argument, NULL, 'c'},
		{"colour", required_argument, NULL, 'c'},
		{"heavy-window", required_argument, NULL, OPT_HEAVY},
		{"quality", required_argument, NULL, 'q'},
		{"threads", required_argument, NULL, 'j'},
		{"max-megapixels", required_argument, NULL, OPT_MAXMP},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_window = false;
	int ch, rc, mp = 0;

	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc, argv, ":w:b:s:c:q:j:o:h", longopts,
				 NULL)) != -1) {
		rc = IF_OK;
		switch (ch) {
		case 'w':
			rc = parse_int_opt("--window", optarg, 0, MAX_WINDOW,
					   &a->window);
			if (rc == IF_OK && a->window > 1 && a->window % 2 == 0)
				rc = bad_arg("--window %s: the median window must "
					     "be odd (or 0/1 for none)",
					     optarg);
			have_window = true;
			break;
		case 'b':
			rc = add_box(a, optarg);
			break;
		case 's':
			if (strcmp(optarg, "fill") == 0)
				a->style = REDACT_FILL;
			else if (strcmp(optarg, "median") == 0)
				a->style = REDACT_MEDIAN;
			else if (strcmp(optarg, "pixelate") == 0)
				a->style = REDACT_PIXELATE;
			else
				rc = bad_arg("--style \"%s\": want fill, median "
					     "or pixelate",
					     optarg);
			break;
		case 'c':
			if (parse_color(optarg, &a->color) != 0)
				rc = bad_arg("--color \"%s\": want #rrggbb, "
					     "e.g. #000000",
					     optarg);
			break;
		case OPT_HEAVY:
			rc = parse_int_opt("--heavy-window", optarg, 1,
					   MAX_WINDOW, &a->heavy_window);
			if (rc == IF_OK && a->heavy_window % 2 == 0)
				rc = bad_arg("--heavy-window %s: the median "
					     "window must be odd",
					     optarg);
			break;
		case 'q':
			rc = parse_int_opt("--quality", optarg, 1, 100,
					   &a->quality);
			break;
		case 'j':
			rc = parse_int_opt("--threads", optarg, 0, MAX_THREADS,
					   &a->threads);
			break;
		case OPT_MAXMP:
			rc = parse_int_opt("--max-megapixels", optarg, 1,
					   1000000, &mp);
			if (rc == IF_OK)
				a->max_pixels = (uint64_t)mp * 1000000u;
			break;
		case 'o':
			a->output = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			if (optopt != 0 && optopt < 256)
				return bad_arg("-%c needs a value", optopt);
			return bad_arg("%s needs a value", argv[optind - 1]);
		default:
			if (optopt != 0)
				return bad_arg("unknown option -%c", optopt);
			return bad_arg("unknown option %s", argv[optind - 1]);
		}
		if (rc != IF_OK)
			return rc;
	}
	if (optind >= argc) {
		fprintf(stderr, "intofocus render: no IMAGE given\n");
		usage(stderr);
		return IF_EINPUT;
	}
	if (optind + 1 < argc)
		return bad_arg("unexpected argument \"%s\": one IMAGE only",
			       argv[optind + 1]);
	a->input = argv[optind];
	if (!have_window)
		return bad_arg("-w WINDOW is required");
	if (a->output == NULL)
		return bad_arg("-o OUT is required");
	if (img_format_from_name(a->output) == IMG_FORMAT_UNKNOWN)
		return bad_arg("-o \"%s\": unknown format; name it .jpg, "
			       ".jpeg, .png or .ppm",
			       a->output);
	return IF_OK;
}

int
cmd_render(int argc, char **argv)
{
	struct render_args a = {
		.window = -1,
		.heavy_window = IMG_HEAVY_WINDOW,
		.style = REDACT_FILL,
		.color = 0x000000,
		.quality = IMG_DEFAULT_JPEG_QUALITY,
	};
	struct img *orig = NULL, *heavy = NULL, *out = NULL;
	struct errbuf eb;
	int rc;

	err_init(&eb);
	rc = parse_args(argc, argv, &a);
	if (rc != IF_OK) {
		free(a.boxes);
		return rc < 0 ? IF_OK : rc;
	}
	if (img_load(a.input, a.max_pixels, &orig, &eb) != IF_OK)
		goto fail;
	a.nboxes = boxes_clip_all(a.boxes, a.nboxes, orig->w, orig->h);
	if (a.style == REDACT_MEDIAN && a.nboxes > 0) {
		if (img_new(&heavy, orig->w, orig->h, UINT64_MAX, &eb) != IF_OK ||
		    img_median(orig, heavy, a.heavy_window, a.threads, &eb) !=
			    IF_OK)
			goto fail;
	}
	if (img_render_stage(orig, a.window, a.boxes, a.nboxes, a.style,
			     a.color, heavy, a.threads, &out, &eb) != IF_OK)
		goto fail;
	if (img_save(out, a.output, a.quality, &eb) != IF_OK)
		goto fail;
	rc = IF_OK;
	goto done;
fail:
	rc = cmd_fail("render", &eb);
done:
	img_free(out);
	img_free(heavy);
	img_free(orig);
	free(a.boxes);
	return rc;
}
