/*
 * imaging/jpeg_io.c - the libjpeg-turbo boundary.
 *
 * Everything goes through libjpeg-turbo's libjpeg API: the header probe,
 * and the pixels row by row, because a stage transition overlaps
 * the decode with the median filter (render.c): TurboJPEG only takes or
 * gives whole images.  The encoder uses the same API, so that one set of
 * settings covers both directions.  The
 * settings are those of tjDecompress2(TJFLAG_ACCURATEDCT) and
 * tjCompress2(TJSAMP_420, TJFLAG_ACCURATEDCT), so the bytes are the same
 * as TurboJPEG's (tests/unit/test_imaging.c compares them) - except that
 * TurboJPEG's TJ_OPTIMIZE, TJ_RESTART and TJ_PROGRESSIVE environment
 * variables no longer change what we write.
 *
 * libjpeg reports errors by longjmp(); that stays inside this file, and
 * every message is copied into the caller's errbuf with the file's name.
 * Warnings (such as a truncated file) are errors: the spec wants truncated
 * input refused, never half-decoded.  Progressive files of more than 500
 * scans are refused, so that a crafted file cannot spin for minutes.
 *
 * The header is read first and the pixel count checked against the limit
 * before any pixel buffer exists.  Encoding writes a bare JFIF stream: no
 * EXIF, XMP, ICC profile or comment segment is ever written.
 */
#include "imaging/imaging_private.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h wants FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define MAX_SCANS 500
/* Encoder output is gathered in chunks of this size, then appended. */
#define OUT_CHUNK 65536

/*
 * The size from the header alone, through the same reader as the pixels
 * (no pixel buffer is made; the pixel limit is the caller's to apply).
 */
int
jpeg_header(const void *data, size_t len, const char *name, int *w, int *h,
	    struct errbuf *eb)
{
	struct jpeg_reader *jr = NULL;
	int rc = jpeg_reader_new(&jr, data, len, name, UINT64_MAX, w, h, eb);

	jpeg_reader_free(jr);
	return rc;
}

/* ---- libjpeg errors ------------------------------------------------------ */

struct jerr {
	struct jpeg_error_mgr pub; /* first: libjpeg sees only this */
	jmp_buf jmp;
	char msg[JMSG_LENGTH_MAX];
};

static void
jerr_exit(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	if (e->msg[0] == '\0')
		(*c->err->format_message)(c, e->msg);
	longjmp(e->jmp, 1);
}

/* Warnings stop the work; trace messages are ignored. */
static void
jerr_emit(j_common_ptr c, int level)
{
	if (level < 0)
		jerr_exit(c);
}

static void
jerr_output(j_common_ptr c)
{
	struct jerr *e = (struct jerr *)c->err;

	(*c->err->format_message)(c, e->msg);
}

static void
jerr_init(struct jerr *e)
{
	jpeg_std_error(&e->pub);
	e->pub.error_exit = jerr_exit;
	e->pub.emit_message = jerr_emit;
	e->pub.output_message = jerr_output;
	e->msg[0] = '\0';
}

/* ---- decoding ------------------------------------------------------------ */

struct jpeg_reader {
	struct jpeg_decompress_struct d;
	struct jerr err;
	struct jpeg_progress_mgr progress;
	const char *name;
	bool created, started;
};

static void
scan_limit(j_common_ptr c)
{
	j_decompress_ptr d = (j_decompress_ptr)c;
	struct jerr *e = (struct jerr *)c->err;

	if (d->input_scan_number > MAX_SCANS) {
		snprintf(e->msg, sizeof(e->msg),
			 "progressive JPEG with more than %d scans", MAX_SCANS);
		longjmp(e->jmp, 1);
	}
}

int
jpeg_reader_new(struct jpeg_reader **out, const void *data, size_t len,
		const char *name, uint64_t max_pixels, int *w, int *h,
		struct errbuf *eb)
{
	struct jpeg_reader *jr;

	*out = NULL;
	*w = *h = 0;
	if (len > ULONG_MAX)
		return err_set(eb, IF_EINPUT, "%s: JPEG too large", name);
	jr = calloc(1, sizeof(*jr));
	if (jr == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	jr->name = name;
	jerr_init(&jr->err);
	jr->d.err = &jr->err.pub;
	if (setjmp(jr->err.jmp)) {
		err_set(eb, IF_EINPUT, "%s: not a readable JPEG: %s", name,
			jr->err.msg);
		jpeg_reader_free(jr);
		return eb->code;
	}
	jpeg_create_decompress(&jr->d);
	jr->created = true;
	jpeg_mem_src(&jr->d, data, (unsigned long)len);
	jr->progress.progress_monitor = scan_limit;
	jr->d.progress = &jr->progress;
	(void)jpeg_read_header(&jr->d, TRUE);
	/* What tjDecompress2(TJPF_RGB, TJFLAG_ACCURATEDCT) asks for. */
	jr->d.out_color_space = JCS_EXT_RGB;
	jr->d.dct_method = JDCT_ISLOW;
	if (jr->d.image_width == 0 || jr->d.image_height == 0 ||
	    jr->d.image_width > INT_MAX || jr->d.image_height > INT_MAX) {
		err_set(eb, IF_EINPUT, "%s: JPEG of size %ux%u", name,
			(unsigned)jr->d.image_width,
			(unsigned)jr->d.image_height);
		jpeg_reader_free(jr);
		return eb->code;
	}
	if (img_check_size((int)jr->d.image_width, (int)jr->d.image_height,
			   max_pixels, eb) != IF_OK) {
		err_prefix(eb, "%s", name);
		jpeg_reader_free(jr);
		return eb->code;
	}
	*w = (int)jr->d.image_width;
	*h = (int)jr->d.image_height;
	*out = jr;
	return IF_OK;
}

int
jpeg_reader_rows(struct jpeg_reader *jr, uint8_t *row, size_t stride,
		 int max_rows, int *got, struct errbuf *eb)
{
	JSAMPROW rows[16];
	/* volatile: read after a longjmp */
	volatile int done = 0;

	*got = 0;
	if (setjmp(jr->err.jmp))
		return err_set(eb, IF_EINPUT,
			       "%s: corrupt or truncated JPEG: %s", jr->name,
			       jr->err.msg);
	if (!jr->started) {
		(void)jpeg_start_decompress(&jr->d);
		jr->started = true;
		if (jr->d.output_components != 3)
			return err_set(eb, IF_EINPUT,
				       "%s: JPEG decodes to %d components",
				       jr->name, jr->d.output_components);
	}
	while (done < max_rows && jr->d.output_scanline < jr->d.output_height) {
		int n = max_rows - done < 16 ? max_rows - done : 16;
		JDIMENSION k;

		for (int i = 0; i < n; i++)
			rows[i] = row + (size_t)(done + i) * stride;
		k = jpeg_read_scanlines(&jr->d, rows, (JDIMENSION)n);
		if (k == 0)
			return err_set(eb, IF_EINPUT,
				       "%s: corrupt or truncated JPEG: no data",
				       jr->name);
		done += (int)k;
	}
	/* The rest of the stream, to its EOI, as tjDecompress2 reads it. */
	if (jr->d.output_scanline >= jr->d.output_height)
		(void)jpeg_finish_decompress(&jr->d);
	*got = done;
	return IF_OK;
}

void
jpeg_reader_free(struct jpeg_reader *jr)
{
	if (jr == NULL)
		return;
	if (jr->created)
		jpeg_destroy_decompress(&jr->d);
	free(jr);
}

int
jpeg_decode(const void *data, size_t len, const char *name,
	    uint64_t max_pixels, struct img **out, struct errbuf *eb)
{
	struct jpeg_reader *jr = NULL;
	struct img *im = NULL;
	int w, h, got, rc;

	*out = NULL;
	if ((rc = jpeg_reader_new(&jr, data, len, name, max_pixels, &w, &h,
				  eb)) != IF_OK)
		return rc;
	if ((rc = img_new(&im, w, h, max_pixels, eb)) != IF_OK)
		err_prefix(eb, "%s", name);
	else
		rc = jpeg_reader_rows(jr, im->px, im->stride, h, &got, eb);
	jpeg_reader_free(jr);
	if (rc != IF_OK) {
		img_free(im);
		return rc;
	}
	*out = im;
	return IF_OK;
}

/* ---- encoding ------------------------------------------------------------ */

struct jpeg_writer;
static void jpeg_writer_free(struct jpeg_writer *jw);

/* The encoder, appending to out; used by jpeg_encode() only. */
struct jpeg_writer {
	struct jpeg_compress_struct c;
	struct jerr err;
	struct jpeg_destination_mgr dest;
	struct buf *out;
	bool created, oom;
	JOCTET chunk[OUT_CHUNK];
};

static void
dest_init(j_compress_ptr c)
{
	struct jpeg_writer *jw = (struct jpeg_writer *)c->client_data;

	jw->dest.next_output_byte = jw->chunk;
	jw->dest.free_in_buffer = OUT_CHUNK;
}

static boolean
dest_empty(j_compress_ptr c)
{
	struct jpeg_writer *jw = (struct jpeg_writer *)c->client_data;

	if (buf_append(jw->out, jw->chunk, OUT_CHUNK) != 0) {
		jw->oom = true;
		longjmp(jw->err.jmp, 1);
	}
	jw->dest.next_output_byte = jw->chunk;
	jw->dest.free_in_buffer = OUT_CHUNK;
	return TRUE;
}

static void
dest_term(j_compress_ptr c)
{
	struct jpeg_writer *jw = (struct jpeg_writer *)c->client_data;

	if (buf_append(jw->out, jw->chunk,
		       OUT_CHUNK - jw->dest.free_in_buffer) != 0) {
		jw->oom = true;
		longjmp(jw->err.jmp, 1);
	}
}

static int
writer_fail(struct jpeg_writer *jw, struct errbuf *eb)
{
	if (jw->oom)
		return err_set(eb, IF_ERUNTIME,
			       "out of memory for the JPEG stream");
	return err_set(eb, IF_ERUNTIME, "JPEG encoding failed: %s",
		       jw->err.msg);
}

static int
jpeg_writer_new(struct jpeg_writer **out, int w, int h, int quality,
		struct buf *dst, struct errbuf *eb)
{
	struct jpeg_writer *jw;

	*out = NULL;
	if (quality <= 0)
		quality = IMG_DEFAULT_JPEG_QUALITY;
	if (quality > 100)
		return err_set(eb, IF_EINPUT, "JPEG quality %d is not 1..100",
			       quality);
	if (w <= 0 || h <= 0 || w > JPEG_MAX_DIMENSION ||
	    h > JPEG_MAX_DIMENSION)
		return err_set(eb, IF_EINPUT,
			       "a %dx%d image cannot be a JPEG (at most %d "
			       "pixels a side)",
			       w, h, (int)JPEG_MAX_DIMENSION);
	jw = calloc(1, sizeof(*jw));
	if (jw == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	jw->out = dst;
	jerr_init(&jw->err);
	jw->c.err = &jw->err.pub;
	if (setjmp(jw->err.jmp)) {
		writer_fail(jw, eb);
		jpeg_writer_free(jw);
		return eb->code;
	}
	jpeg_create_compress(&jw->c);
	jw->created = true;
	jw->c.client_data = jw;
	jw->dest.init_destination = dest_init;
	jw->dest.empty_output_buffer = dest_empty;
	jw->dest.term_destination = dest_term;
	jw->c.dest = &jw->dest;
	jw->c.image_width = (JDIMENSION)w;
	jw->c.image_height = (JDIMENSION)h;
	jw->c.in_color_space = JCS_EXT_RGB;
	jw->c.input_components = 3;
	/*
	 * tjCompress2(TJSAMP_420, TJFLAG_ACCURATEDCT): baseline, 4:2:0 like
	 * every camera (the stage images are viewed, not measured, and it
	 * keeps uploads small), the accurate DCT, standard Huffman tables.
	 */
	jpeg_set_defaults(&jw->c);
	jpeg_set_quality(&jw->c, quality, TRUE);
	jw->c.dct_method = JDCT_ISLOW;
	jpeg_set_colorspace(&jw->c, JCS_YCbCr);
	jw->c.comp_info[0].h_samp_factor = 2;
	jw->c.comp_info[0].v_samp_factor = 2;
	for (int i = 1; i < 3; i++) {
		jw->c.comp_info[i].h_samp_factor = 1;
		jw->c.comp_info[i].v_samp_factor = 1;
	}
	jpeg_start_compress(&jw->c, TRUE);
	*out = jw;
	return IF_OK;
}

static int
jpeg_writer_rows(struct jpeg_writer *jw, const uint8_t *row, size_t stride,
		 int nrows, struct errbuf *eb)
{
	JSAMPROW rows[16];
	volatile int done = 0;

	if (setjmp(jw->err.jmp))
		return writer_fail(jw, eb);
	while (done < nrows) {
		int n = nrows - done < 16 ? nrows - done : 16;
		JDIMENSION k;

		/* libjpeg's prototype is not const; it only reads the rows. */
		for (int i = 0; i < n; i++)
			rows[i] = (JSAMPROW)(uintptr_t)(row +
							(size_t)(done + i) *
								stride);
		k = jpeg_write_scanlines(&jw->c, rows, (JDIMENSION)n);
		if (k == 0)
			return err_set(eb, IF_ERUNTIME,
				       "JPEG encoding failed: too many rows");
		done += (int)k;
	}
	return IF_OK;
}

static int
jpeg_writer_finish(struct jpeg_writer *jw, struct errbuf *eb)
{
	if (setjmp(jw->err.jmp))
		return writer_fail(jw, eb);
	jpeg_finish_compress(&jw->c);
	return IF_OK;
}

static void
jpeg_writer_free(struct jpeg_writer *jw)
{
	if (jw == NULL)
		return;
	if (jw->created)
		jpeg_destroy_compress(&jw->c);
	free(jw);
}

int
jpeg_encode(const struct img *im, int quality, struct buf *out,
	    struct errbuf *eb)
{
	struct jpeg_writer *jw = NULL;
	int rc;

	if ((rc = jpeg_writer_new(&jw, im->w, im->h, quality, out, eb)) !=
	    IF_OK)
		return rc;
	if ((rc = jpeg_writer_rows(jw, im->px, im->stride, im->h, eb)) ==
	    IF_OK)
		rc = jpeg_writer_finish(jw, eb);
	jpeg_writer_free(jw);
	return rc;
}
