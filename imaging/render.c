/*
 * imaging/render.c - a whole stage transition (spec section 4): decode the
 * original, median filter, redact, encode - with its buffers kept from
 * one call to the next, and the decode overlapped with the filter.
 *
 * Buffers.  Every pixel buffer (the original, the stage image, the heavy
 * image, the filter's band outputs), the file's bytes and the encoded
 * stream live in the renderer and are reused: a fresh 12 MP buffer is
 * thousands of page faults (spec section 4), and the daemon renders every
 * stage of every image through one renderer.  They grow to the largest
 * image seen and stay; img_renderer_free() gives them back.
 *
 * Overlap.  libjpeg decodes one row after another, on one core, while the
 * filter needs only the rows of its window: an "early" thread filters
 * bands of rows from the top as soon as the decoder has passed them (plus
 * the window's half), while this thread decodes.  When the decode is
 * done, this thread filters the rest with every core, then encodes.
 * (An encoder thread writing rows as they were filtered, the late rows in
 * three bands, was tried: on the 2-core VM it saved no wall time and cost
 * some 13 ms of CPU a transition - the encoder only takes its share of
 * cores that the filter keeps busy.)
 *
 * A band [y0, y1) is the median of a view of the original's rows
 * [y0 - r, y1 + r), clamped to the image, of which rows y0..y1 are kept:
 * within the view each kept row sees exactly the rows its window sees in
 * the whole image (edge rows are replicated only at the image's own top
 * and bottom, where the view ends too), so a band is bit-identical to the
 * same rows of a whole-image filter, and the bytes do not depend on the
 * band sizes, the thread count or the timing.  The price is 2r rows
 * filtered twice per band boundary, which is why there are few: one or
 * two.
 * Boundaries are multiples of 16 rows, the pixelation block, so that each
 * band is redacted on its own with the same result.
 *
 * Streaming needs a JPEG with EXIF orientation 1 (the rows arrive in the
 * displayed order) and no median redaction (which needs the whole heavy
 * image first); anything else is decoded whole, then filtered whole.
 */
#include "imaging/imaging_private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Bands start and end on the pixelation grid. */
#define BAND_ALIGN 16
/* Rows the decoder produces between two reports to the early thread. */
#define DECODE_STEP 32
/* Bands of the early thread: at least this many rows, or 8 windows. */
#define EARLY_MIN_ROWS 128
/* Input files larger than this are refused before being read whole. */
#define MAX_FILE_BYTES (512u * 1024u * 1024u)

struct img_renderer {
	int threads;
	uint64_t max_pixels;
	struct buf file;      /* img_renderer_read_file() */
	struct img_slot raw;  /* a JPEG as stored, when it must be oriented */
	struct img_slot orig; /* the original as displayed */
	struct img_slot stage;
	struct img_slot heavy;
	struct img_slot early_band; /* the early thread's band, halo included */
	int test_early_bands; /* img_renderer_test_early_bands() */
	struct buf encoded;
};

int
img_renderer_new(struct img_renderer **out, int threads, uint64_t max_pixels,
		 struct errbuf *eb)
{
	struct img_renderer *r;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	r->threads = threads > 0 ? threads : cpu_count();
	r->max_pixels = max_pixels;
	buf_init(&r->file, MAX_FILE_BYTES);
	buf_init(&r->encoded, 0);
	*out = r;
	return IF_OK;
}

void
img_renderer_free(struct img_renderer *r)
{
	if (r == NULL)
		return;
	buf_cleanup(&r->file);
	buf_cleanup(&r->encoded);
	img_slot_cleanup(&r->raw);
	img_slot_cleanup(&r->orig);
	img_slot_cleanup(&r->stage);
	img_slot_cleanup(&r->heavy);
	img_slot_cleanup(&r->early_band);
	free(r);
}

void
img_renderer_test_early_bands(struct img_renderer *r, int n)
{
	r->test_early_bands = n;
}

int
img_renderer_read_file(struct img_renderer *r, const char *path,
		       const void **data, size_t *len, struct errbuf *eb)
{
	*data = NULL;
	*len = 0;
	/* An empty file is refused by the render, as img_load_mem does. */
	if (read_file(path, &r->file, eb) != IF_OK)
		return eb->code;
	*data = r->file.data;
	*len = r->file.len;
	return IF_OK;
}

/* ---- one call's pipeline ------------------------------------------------- */

struct pipeline {
	struct img_renderer *r;
	const struct img_stage_spec *spec;
	const struct img *src; /* the original, rows arriving when streaming */
	struct img *dst;       /* the stage image */
	const struct img *heavy;
	int H, radius;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* Under mu. */
	int decoded;	    /* rows of src ready */
	bool decode_done;   /* decoded == H, or failed */
	int early_claimed;  /* rows [0, early_claimed) are the early thread's */
	int tail_y0, tail_a; /* see early_main(); tail_y0 -1: nothing left */
	int early_bands;     /* bands the early thread has finished */
	bool early_exited;
	bool failed;
	struct errbuf err; /* the first error of any thread */
};

static void
pipe_fail(struct pipeline *p, const struct errbuf *eb)
{
	pthread_mutex_lock(&p->mu);
	if (!p->failed) {
		p->failed = true;
		p->err = *eb;
	}
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

static int
align_rows(int y, int H)
{
	y = (y + BAND_ALIGN - 1) / BAND_ALIGN * BAND_ALIGN;
	return y < H ? y : H;
}

/* Redacts the part of every box inside rows [y0, y1) of the stage image. */
static int
redact_band(struct pipeline *p, int y0, int y1, struct errbuf *eb)
{
	const struct img_stage_spec *s = p->spec;
	struct box *part;
	size_t m = 0;
	int rc;

	if (s->n == 0)
		return IF_OK;
	part = malloc(s->n * sizeof(*part));
	if (part == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < s->n; i++) {
		struct box b = s->boxes[i];
		int top, bottom;

		if (!box_clip(&b, p->dst->w, p->dst->h))
			continue;
		top = b.y > y0 ? b.y : y0;
		bottom = b.y + b.h < y1 ? b.y + b.h : y1;
		if (bottom <= top)
			continue;
		b.y = top;
		b.h = bottom - top;
		part[m++] = b;
	}
	rc = img_redact(p->dst, part, m, s->style, s->fill_rgb, p->heavy, eb);
	free(part);
	return rc;
}

/* Rows [y0, y1) of the stage image from rows [y0 - a, y1 - a) of from. */
static void
copy_rows(struct pipeline *p, const struct img *from, int a, int y0, int y1)
{
	for (int y = y0; y < y1; y++)
		memcpy(p->dst->px + (size_t)y * p->dst->stride,
		       from->px + (size_t)(y - a) * from->stride,
		       (size_t)p->dst->w * 3);
}

/*
 * The median of the view of the original's rows [y0 - r, y1 + r), clamped
 * (see the top of the file), into tmp; *a is the view's first row.
 */
static int
median_band(struct pipeline *p, int y0, int y1, struct img_slot *tmp,
	    int threads, int *a, struct errbuf *eb)
{
	const struct img *src = p->src;
	int b = y1 + p->radius < p->H ? y1 + p->radius : p->H;
	struct img view;

	*a = y0 - p->radius > 0 ? y0 - p->radius : 0;
	view = (struct img){.w = src->w,
			    .h = b - *a,
			    .stride = src->stride,
			    .px = src->px + (size_t)*a * src->stride};
	if (img_slot_reserve(tmp, view.w, view.h, UINT64_MAX, eb) != IF_OK ||
	    img_median(&view, &tmp->im, p->spec->window, threads, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/*
 * Rows [y0, H) of the stage image, the last band, with every core: the
 * median of the view of rows [y0 - r, H) straight into the same rows of
 * the stage image.  Its first r rows come out wrong (the view's top edge
 * is replicated there); they are the early thread's, which puts them
 * right after this is done (see early_main()).
 */
static int
filter_last(struct pipeline *p, int y0, struct errbuf *eb)
{
	int a = y0 - p->radius > 0 ? y0 - p->radius : 0;
	struct img from = {.w = p->src->w,
			   .h = p->H - a,
			   .stride = p->src->stride,
			   .px = p->src->px + (size_t)a * p->src->stride};
	struct img into = {.w = p->dst->w,
			   .h = p->H - a,
			   .stride = p->dst->stride,
			   .px = p->dst->px + (size_t)a * p->dst->stride};

	if (img_median(&from, &into, p->spec->window, p->r->threads, eb) !=
	    IF_OK)
		return eb->code;
	return redact_band(p, y0, p->H, eb);
}

/*
 * The early thread's bands: an eighth of the image, about what one core
 * filters while the other decodes (libjpeg-turbo decodes a photo some 6
 * times faster than one core filters it), so that there is one band
 * boundary, rarely two; at least EARLY_MIN_ROWS and 8 windows.
 */
static int
early_rows(const struct pipeline *p)
{
	int rows = p->H / 8;

	if (rows < 8 * p->spec->window)
		rows = 8 * p->spec->window;
	if (rows < EARLY_MIN_ROWS)
		rows = EARLY_MIN_ROWS;
	return align_rows(rows, INT32_MAX);
}

/*
 * Bands from the top, each once the decoder is past it, until the decode
 * is done.  The first band is claimed for it before it starts, so that it
 * does that one even when the decoder is done first.
 *
 * The last band ends where filter_last() starts, and filter_last() writes
 * wrong rows just above its start: the rows of a band from the 16-row line
 * at or above y1 - r down to y1 are copied into the stage image under the
 * lock while the decode is not done (filter_last() has not started, and
 * the next band is claimed before the lock is let go), and otherwise left
 * in early_band for the main thread to copy once both are done (tail_y0).
 */
static void *
early_main(void *arg)
{
	struct pipeline *p = arg;
	struct errbuf eb = {0};
	struct img *tmp = &p->r->early_band.im;
	int y0 = 0, y1, a, ya;

	pthread_mutex_lock(&p->mu);
	y1 = p->early_claimed;
	for (;;) {
		int need = y1 + p->radius < p->H ? y1 + p->radius : p->H;

		while (!p->failed && p->decoded < need)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->failed)
			break;
		pthread_mutex_unlock(&p->mu);
		ya = y1 == p->H ? y1
				: (y1 - p->radius) / BAND_ALIGN * BAND_ALIGN;
		if (ya < y0)
			ya = y0;
		if (median_band(p, y0, y1, &p->r->early_band, 1, &a, &eb) !=
		    IF_OK) {
			pipe_fail(p, &eb);
			return NULL;
		}
		copy_rows(p, tmp, a, y0, ya);
		if (redact_band(p, y0, ya, &eb) != IF_OK) {
			pipe_fail(p, &eb);
			return NULL;
		}
		pthread_mutex_lock(&p->mu);
		if (p->decode_done) {
			/* filter_last() may be writing from y1 - r. */
			p->tail_y0 = ya;
			p->tail_a = a;
			break;
		}
		copy_rows(p, tmp, a, ya, y1);
		if (redact_band(p, ya, y1, &eb) != IF_OK) {
			pthread_mutex_unlock(&p->mu);
			pipe_fail(p, &eb);
			return NULL;
		}
		p->early_bands++;
		pthread_cond_broadcast(&p->cv);
		y0 = y1;
		if (p->failed || y0 >= p->H)
			break;
		y1 = align_rows(y0 + early_rows(p), p->H);
		p->early_claimed = y1;
	}
	p->early_exited = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/*
 * The heavy image for median redaction, in the rows the boxes cover only:
 * the median of the view of rows [top - hr, bottom + hr) straight into the
 * same rows of r->heavy; the hr rows at either end come out wrong and are
 * never read (faces are a small part of a photo: most rows are skipped).
 */
static int
heavy_rows(struct pipeline *p, struct errbuf *eb)
{
	const struct img_stage_spec *s = p->spec;
	struct img_renderer *r = p->r;
	int hw = s->heavy_window > 0 ? s->heavy_window : IMG_HEAVY_WINDOW;
	int top = p->H, bottom = 0, a, b;
	struct img from, into;

	if (img_slot_reserve(&r->heavy, p->src->w, p->src->h, UINT64_MAX, eb) !=
	    IF_OK)
		return eb->code;
	p->heavy = &r->heavy.im;
	for (size_t i = 0; i < s->n; i++) {
		struct box bx = s->boxes[i];

		if (!box_clip(&bx, p->src->w, p->src->h))
			continue;
		top = bx.y < top ? bx.y : top;
		bottom = bx.y + bx.h > bottom ? bx.y + bx.h : bottom;
	}
	if (bottom <= top)
		return IF_OK;
	a = top - hw / 2 > 0 ? top - hw / 2 : 0;
	b = bottom + hw / 2 < p->H ? bottom + hw / 2 : p->H;
	from = (struct img){.w = p->src->w,
			    .h = b - a,
			    .stride = p->src->stride,
			    .px = p->src->px + (size_t)a * p->src->stride};
	into = r->heavy.im;
	into.h = b - a;
	into.px += (size_t)a * into.stride;
	return img_median(&from, &into, hw, r->threads, eb);
}

/* Decodes every row of jr into im, telling the early thread as it goes. */
static int
decode_rows(struct pipeline *p, struct jpeg_reader *jr, struct img *im,
	    struct errbuf *eb)
{
	int y = 0, got;

	while (y < im->h) {
		if (jpeg_reader_rows(jr, im->px + (size_t)y * im->stride,
				     im->stride, DECODE_STEP, &got,
				     eb) != IF_OK)
			return eb->code;
		y += got;
		pthread_mutex_lock(&p->mu);
		p->decoded = y;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return IF_OK;
}

/* The original, as displayed, into r->orig; a JPEG is left to decode. */
static int
open_original(struct img_renderer *r, const void *data, size_t len,
	      const char *name, struct jpeg_reader **jr, int *orientation,
	      struct errbuf *eb)
{
	struct img *loaded = NULL;
	int w, h, rc;

	*jr = NULL;
	*orientation = 1;
	if (len > 0 && img_sniff(data, len) == IMG_FORMAT_JPEG) {
		if ((rc = jpeg_reader_new(jr, data, len, name, r->max_pixels,
					  &w, &h, eb)) != IF_OK)
			return rc;
		*orientation = exif_jpeg_orientation(data, len);
		if (*orientation != 1 &&
		    (rc = img_slot_reserve(&r->raw, w, h, UINT64_MAX, eb)) !=
			    IF_OK)
			return rc;
		if (orientation_swaps(*orientation))
			return img_slot_reserve(&r->orig, h, w, UINT64_MAX, eb);
		return img_slot_reserve(&r->orig, w, h, UINT64_MAX, eb);
	}
	/* PNG and PPM: decoded whole, then kept in our buffer. */
	if ((rc = img_load_mem(data, len, name, r->max_pixels, &loaded, eb)) !=
	    IF_OK)
		return rc;
	rc = img_slot_reserve(&r->orig, loaded->w, loaded->h, UINT64_MAX, eb);
	if (rc == IF_OK)
		for (int y = 0; y < loaded->h; y++)
			memcpy(r->orig.im.px + (size_t)y * r->orig.im.stride,
			       loaded->px + (size_t)y * loaded->stride,
			       (size_t)loaded->w * 3);
	img_free(loaded);
	return rc;
}

static int
render(struct img_renderer *r, const void *data, size_t len, const char *name,
       const struct img_stage_spec *spec, enum img_format fmt, int quality,
       const struct img **result, struct errbuf *eb)
{
	struct pipeline p = {.r = r, .spec = spec, .tail_y0 = -1};
	struct jpeg_reader *jr = NULL;
	pthread_t early;
	bool early_on = false;
	const bool filter = spec->window > 1;
	const bool heavy = spec->style == REDACT_MEDIAN && spec->n > 0;
	int orientation = 1, late_start, rc;

	*result = NULL;
	buf_reset(&r->encoded);
	/* Refused before the work, not after it. */
	if (fmt == IMG_FORMAT_JPEG && quality > 100)
		return err_set(eb, IF_EINPUT, "JPEG quality %d is not 1..100",
			       quality);
	if (pthread_mutex_init(&p.mu, NULL) != 0)
		return err_set(eb, IF_ERUNTIME, "rendering: cannot make a "
			       "mutex");
	if (pthread_cond_init(&p.cv, NULL) != 0) {
		pthread_mutex_destroy(&p.mu);
		return err_set(eb, IF_ERUNTIME, "rendering: cannot make a "
			       "condition variable");
	}
	if ((rc = open_original(r, data, len, name, &jr, &orientation, eb)) !=
	    IF_OK)
		goto done;
	p.src = &r->orig.im;
	p.H = p.src->h;
	p.radius = spec->window / 2;
	if (filter) {
		if ((rc = img_slot_reserve(&r->stage, p.src->w, p.src->h,
					   UINT64_MAX, eb)) != IF_OK)
			goto done;
		p.dst = &r->stage.im;
	} else {
		/* The final image: the original itself, redacted in place. */
		p.dst = &r->orig.im;
	}

	/*
	 * The early thread only with more than one thread, and only where
	 * it can start early: rows that arrive in order, a filter to overlap.
	 */
	if (r->threads > 1 && filter && jr != NULL && orientation == 1 &&
	    !heavy) {
		p.early_claimed = align_rows(early_rows(&p), p.H);
		if (pthread_create(&early, NULL, early_main, &p) == 0)
			early_on = true;
		else
			p.early_claimed = 0;
	}
	if (jr != NULL) {
		struct img *into = orientation == 1 ? &r->orig.im : &r->raw.im;

		rc = decode_rows(&p, jr, into, eb);
		if (rc == IF_OK && orientation != 1)
			img_orient_into(into, orientation, &r->orig.im);
	}
	pthread_mutex_lock(&p.mu);
	/* Tests: hold the decode's end until the early thread did n bands. */
	while (early_on && rc == IF_OK && !p.failed && !p.early_exited &&
	       p.early_bands < r->test_early_bands)
		pthread_cond_wait(&p.cv, &p.mu);
	p.decode_done = true;
	late_start = p.early_claimed;
	pthread_cond_broadcast(&p.cv);
	pthread_mutex_unlock(&p.mu);

	if (rc == IF_OK && heavy)
		rc = heavy_rows(&p, eb);
	/* The rest, with every core (the early thread may still be busy). */
	if (rc == IF_OK && filter && late_start < p.H)
		rc = filter_last(&p, late_start, eb);
	else if (rc == IF_OK && !filter)
		rc = redact_band(&p, 0, p.H, eb);
	if (rc != IF_OK)
		pipe_fail(&p, eb);
	if (early_on)
		pthread_join(early, NULL);
	if (!p.failed && p.tail_y0 >= 0) {
		copy_rows(&p, &r->early_band.im, p.tail_a, p.tail_y0,
			  late_start);
		if ((rc = redact_band(&p, p.tail_y0, late_start, eb)) != IF_OK)
			goto done;
	}
	if (p.failed) {
		/* The first error of any thread, in the caller's errbuf. */
		if (rc == IF_OK)
			rc = err_set(eb, p.err.code != 0 ? p.err.code
							 : IF_ERUNTIME,
				     "%s", p.err.msg);
		goto done;
	}
	if (fmt == IMG_FORMAT_JPEG)
		rc = jpeg_encode(p.dst, quality, &r->encoded, eb);
	else if (fmt == IMG_FORMAT_PNG)
		rc = png_encode(p.dst, &r->encoded, eb);
	else if (fmt == IMG_FORMAT_PPM)
		rc = ppm_encode(p.dst, &r->encoded, eb);
	if (rc == IF_OK)
		*result = p.dst;
done:
	jpeg_reader_free(jr);
	pthread_cond_destroy(&p.cv);
	pthread_mutex_destroy(&p.mu);
	return rc;
}

int
img_renderer_image(struct img_renderer *r, const void *data, size_t len,
		   const char *name, const struct img_stage_spec *spec,
		   const struct img **out, struct errbuf *eb)
{
	return render(r, data, len, name, spec, IMG_FORMAT_UNKNOWN, 0, out,
		      eb);
}

int
img_renderer_encode(struct img_renderer *r, const void *data, size_t len,
		    const char *name, const struct img_stage_spec *spec,
		    enum img_format fmt, int jpeg_quality,
		    const unsigned char **out, size_t *outlen,
		    struct errbuf *eb)
{
	const struct img *im;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (fmt != IMG_FORMAT_JPEG && fmt != IMG_FORMAT_PNG &&
	    fmt != IMG_FORMAT_PPM)
		return err_set(eb, IF_EINPUT, "unknown output image format");
	if ((rc = render(r, data, len, name, spec, fmt, jpeg_quality, &im,
			 eb)) != IF_OK)
		return rc;
	*out = (const unsigned char *)r->encoded.data;
	*outlen = r->encoded.len;
	return IF_OK;
}
