/*
 * imaging/png_io.c - the libpng boundary.
 *
 * Reading uses libpng's simplified API, which turns every PNG flavour
 * (palette, grey, 16-bit, alpha) into 8-bit RGB; alpha is composited onto
 * black, the colour a redaction would use.  The size is known after
 * png_image_begin_read and checked against the limit before the pixels are
 * decoded.  Writing uses the full API so that we choose every chunk: IHDR,
 * IDAT and IEND only - no text, time, EXIF or colour-profile chunks.
 */
#include "imaging/imaging_private.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>

int
png_header(const void *data, size_t len, const char *name, int *w, int *h,
	   struct errbuf *eb)
{
	png_image image;
	int rc = IF_OK;

	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&image, data, len))
		rc = err_set(eb, IF_EINPUT, "%s: not a readable PNG: %s", name,
			     image.message);
	else if (image.width == 0 || image.height == 0 ||
		 image.width > INT32_MAX / 4 || image.height > INT32_MAX / 4)
		rc = err_set(eb, IF_EINPUT, "%s: PNG of size %ux%u", name,
			     image.width, image.height);
	else {
		*w = (int)image.width;
		*h = (int)image.height;
	}
	png_image_free(&image);
	return rc;
}

int
png_decode(const void *data, size_t len, const char *name,
	   uint64_t max_pixels, struct img **out, struct errbuf *eb)
{
	png_image image;
	png_color black = {0, 0, 0};
	struct img *im = NULL;
	int rc = IF_OK;

	*out = NULL;
	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_memory(&image, data, len)) {
		rc = err_set(eb, IF_EINPUT, "%s: not a readable PNG: %s", name,
			     image.message);
		goto done;
	}
	if (image.width > INT32_MAX / 4 || image.height > INT32_MAX / 4) {
		rc = err_set(eb, IF_EINPUT, "%s: PNG of size %ux%u", name,
			     image.width, image.height);
		goto done;
	}
	if (img_new(&im, (int)image.width, (int)image.height, max_pixels, eb) !=
	    IF_OK) {
		err_prefix(eb, "%s", name);
		rc = eb->code;
		goto done;
	}
	image.format = PNG_FORMAT_RGB;
	if (!png_image_finish_read(&image, &black, im->px, (png_int_32)im->stride,
				   NULL)) {
		rc = err_set(eb, IF_EINPUT, "%s: corrupt or truncated PNG: %s",
			     name, image.message);
		goto done;
	}
	*out = im;
	im = NULL;
done:
	png_image_free(&image);
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
