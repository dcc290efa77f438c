/*
 * imaging/png_io.c - the libpng boundary (spec section 4).
 *
 * Reading uses libpng's full API rather than the simplified png_image one,
 * for two reasons.  The simplified reader treats 16-bit samples without a
 * gAMA chunk as linear light and re-encodes them, so a 16-bit PNG came out
 * visibly brighter than in every viewer (32768 became 186, not 128); and
 * it composites alpha in linear light.  Here 16-bit samples are scaled by
 * 255/65535 (png_set_scale_16), palettes and low-depth grey are expanded,
 * grey is copied to R, G and B, and colour values are taken as stored
 * (gAMA, cHRM and iCCP are ignored, as the JPEG path ignores ICC).  An
 * eXIf chunk before the image data gives the EXIF orientation, as browsers
 * now honour it; one after IDAT is ignored, so that the header alone
 * gives the displayed size.  Alpha
 * (an alpha channel or a tRNS chunk) is composited onto black by us, as
 * round(c * a / 255): transparent regions become black, the colour a fill
 * redaction uses, and never reveal the colours stored under them.
 *
 * Limits: png_set_user_limits caps the dimensions libpng accepts, the IHDR
 * is read and the pixel count checked against our limit before any pixel
 * buffer exists, ancillary chunks other than tRNS are skipped unparsed,
 * and libpng's caps on chunk memory stay on.
 * A truncated file, a bad CRC in a critical chunk or missing IEND is an
 * error.  libpng reports errors by longjmp: the two functions that call
 * setjmp are small and keep everything they own in a struct, not in locals.
 *
 * Writing also uses the full API so that we choose every chunk: IHDR, IDAT
 * and IEND only - no text, time, EXIF or colour-profile chunks.
 */
#include "imaging/imaging_private.h"

#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Far above any real photo; our pixel limit is the real bound. */
#define PNG_MAX_SIDE 1000000u

/* Ancillary chunks that cannot change the pixels we decode. */
static const png_byte skipped_chunks[] = "bKGD\0cHRM\0gAMA\0hIST\0"
					 "iCCP\0iTXt\0oFFs\0pCAL\0pHYs\0"
					 "sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0"
					 "tIME\0zTXt";

struct png_src {
	const unsigned char *data;
	size_t len, pos;
	char msg[200]; /* libpng's error message */
	/* Filled by read_header(). */
	png_uint_32 w, h;
	int color_type, bit_depth;
	int orientation; /* from eXIf, 1 without one */
	bool alpha; /* the rows we get are RGBA, to be composited */
	/* Owned here so that a longjmp cannot leak them. */
	uint8_t *rgba;
	png_bytep *rows;
};

static void
src_error(png_structp png, png_const_charp msg)
{
	struct png_src *src = png_get_error_ptr(png);

	snprintf(src->msg, sizeof(src->msg), "%s", msg);
	png_longjmp(png, 1);
}

static void
src_warning(png_structp png, png_const_charp msg)
{
	/* Warnings are about ancillary chunks, which we drop anyway. */
	(void)png;
	(void)msg;
}

static void
src_read(png_structp png, png_bytep out, size_t n)
{
	struct png_src *src = png_get_io_ptr(png);

	if (n > src->len - src->pos)
		png_error(png, "truncated file");
	memcpy(out, src->data + src->pos, n);
	src->pos += n;
}

/* Reads up to the first IDAT and sets the transformations to 8-bit RGB(A). */
static int
read_header(png_structp png, png_infop info, struct png_src *src)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_read_fn(png, src, src_read);
	png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
	/*
	 * Metadata we would drop anyway is skipped unparsed: no compressed
	 * text or ICC profile is ever inflated.  CRCs are still checked.
	 */
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, skipped_chunks,
				    (int)(sizeof(skipped_chunks) / 5));
	png_read_info(png, info);
	png_get_IHDR(png, info, &src->w, &src->h, &src->bit_depth,
		     &src->color_type, NULL, NULL, NULL);
	{
		png_uint_32 n = 0;
		png_bytep exif = NULL;
		src->orientation = 1;
		if (png_get_eXIf_1(png, info, &n, &exif) != 0 && exif != NULL)
			src->orientation = exif_tiff_orientation(exif, n);
	}
	if (src->color_type == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	if (src->color_type == PNG_COLOR_TYPE_GRAY && src->bit_depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	src->alpha = (src->color_type & PNG_COLOR_MASK_ALPHA) != 0;
	if (png_get_valid(png, info, PNG_INFO_tRNS)) {
		png_set_tRNS_to_alpha(png);
		src->alpha = true;
	}
	if (src->bit_depth == 16)
		png_set_scale_16(png);
	if ((src->color_type & PNG_COLOR_MASK_COLOR) == 0)
		png_set_gray_to_rgb(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);
	if (png_get_rowbytes(png, info) !=
	    (size_t)src->w * (src->alpha ? 4 : 3))
		png_error(png, "unexpected row layout after conversion");
	return 0;
}

static int
read_pixels(png_structp png, png_infop info, struct png_src *src)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_read_image(png, src->rows);
	/* Reads up to IEND, so that a file cut after its last IDAT fails. */
	png_read_end(png, info);
	return 0;
}

/* Parses the header of data; on success png and info are left to free. */
static int
open_src(const void *data, size_t len, const char *name, struct png_src *src,
	 png_structp *png, png_infop *info, struct errbuf *eb)
{
	memset(src, 0, sizeof(*src));
	src->data = data;
	src->len = len;
	*info = NULL;
	*png = png_create_read_struct(PNG_LIBPNG_VER_STRING, src, src_error,
				      src_warning);
	if (*png == NULL || (*info = png_create_info_struct(*png)) == NULL) {
		png_destroy_read_struct(png, NULL, NULL);
		return err_set(eb, IF_ERUNTIME, "%s: libpng: out of memory",
			       name);
	}
	if (read_header(*png, *info, src) != 0)
		return err_set(eb, IF_EINPUT, "%s: not a readable PNG: %s",
			       name, src->msg);
	if (src->w == 0 || src->h == 0 || src->w > PNG_MAX_SIDE ||
	    src->h > PNG_MAX_SIDE)
		return err_set(eb, IF_EINPUT, "%s: PNG of size %lux%lu", name,
			       (unsigned long)src->w, (unsigned long)src->h);
	return IF_OK;
}

int
png_header(const void *data, size_t len, const char *name, int *w, int *h,
	   int *orientation, struct errbuf *eb)
{
	struct png_src src;
	png_structp png;
	png_infop info;
	int rc;

	rc = open_src(data, len, name, &src, &png, &info, eb);
	if (rc == IF_OK) {
		*w = (int)src.w;
		*h = (int)src.h;
		*orientation = src.orientation;
	}
	png_destroy_read_struct(&png, &info, NULL);
	return rc;
}

/* RGBA rows -> RGB composited on black, rounded: round(c * a / 255). */
static void
composite_on_black(const struct png_src *src, struct img *im)
{
	for (png_uint_32 y = 0; y < src->h; y++) {
		const uint8_t *s = src->rows[y];
		uint8_t *d = im->px + (size_t)y * im->stride;
		for (png_uint_32 x = 0; x < src->w; x++, s += 4, d += 3)
			for (int c = 0; c < 3; c++)
				d[c] = (uint8_t)((s[c] * s[3] + 127) / 255);
	}
}

int
png_decode(const void *data, size_t len, const char *name,
	   uint64_t max_pixels, struct img **out, int *orientation,
	   struct errbuf *eb)
{
	struct png_src src;
	png_structp png = NULL;
	png_infop info = NULL;
	struct img *im = NULL;
	size_t rowbytes;
	int rc;

	*out = NULL;
	*orientation = 1;
	rc = open_src(data, len, name, &src, &png, &info, eb);
	if (rc != IF_OK)
		goto done;
	/* The limit, before any pixel memory: img_new checks it. */
	if ((rc = img_new(&im, (int)src.w, (int)src.h, max_pixels, eb)) !=
	    IF_OK) {
		err_prefix(eb, "%s", name);
		goto done;
	}
	rowbytes = (size_t)src.w * (src.alpha ? 4 : 3);
	src.rows = malloc((size_t)src.h * sizeof(*src.rows));
	if (src.alpha)
		src.rgba = malloc(rowbytes * src.h);
	if (src.rows == NULL || (src.alpha && src.rgba == NULL)) {
		rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", name);
		goto done;
	}
	for (png_uint_32 y = 0; y < src.h; y++)
		src.rows[y] = src.alpha ? src.rgba + (size_t)y * rowbytes
					: im->px + (size_t)y * im->stride;
	if (read_pixels(png, info, &src) != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: corrupt or truncated PNG: %s",
			     name, src.msg);
		goto done;
	}
	if (src.alpha)
		composite_on_black(&src, im);
	*orientation = src.orientation;
	*out = im;
	im = NULL;
done:
	png_destroy_read_struct(&png, &info, NULL);
	free(src.rows);
	free(src.rgba);
	img_free(im);
	return rc;
}

static void
write_to_buf(png_structp png, png_bytep data, size_t len)
{
	struct buf *out = png_get_io_ptr(png);

	if (buf_append(out, data, len) != 0)
		png_error(png, "out of memory");
}

static void
flush_nothing(png_structp png)
{
	(void)png;
}

/* The only function here with libpng's longjmp: kept small on purpose. */
static int
encode_rows(png_structp png, png_infop info, const struct img *im,
	    struct buf *out)
{
	if (setjmp(png_jmpbuf(png)))
		return -1;
	png_set_write_fn(png, out, write_to_buf, flush_nothing);
	png_set_IHDR(png, info, (png_uint_32)im->w, (png_uint_32)im->h, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (int y = 0; y < im->h; y++)
		png_write_row(png, im->px + (size_t)y * im->stride);
	png_write_end(png, NULL);
	return 0;
}

int
png_encode(const struct img *im, struct buf *out, struct errbuf *eb)
{
	png_structp png;
	png_infop info = NULL;
	int rc = IF_OK;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	if (png == NULL || (info = png_create_info_struct(png)) == NULL) {
		png_destroy_write_struct(&png, NULL);
		return err_set(eb, IF_ERUNTIME, "libpng: out of memory");
	}
	if (encode_rows(png, info, im, out) != 0)
		rc = err_set(eb, IF_ERUNTIME, "PNG encoding failed");
	png_destroy_write_struct(&png, &info);
	return rc;
}
