/*
 * imaging/img_io.c - loading and saving by format (spec section 4).
 *
 * The format of an input is read from its first bytes, never its name;
 * the format of an output comes from its extension.  Loading applies the
 * EXIF orientation (JPEG APP1, PNG eXIf), so every coordinate in IntoFocus
 * is in the frame a person sees.  Saving is atomic: a failed save leaves no
 * partial file.
 */
#include "imaging/imaging_private.h"

#include <string.h>
#include <strings.h>

/* Input files larger than this are refused before being read whole. */
#define IMG_MAX_FILE_BYTES (512u * 1024u * 1024u)

enum img_format
img_sniff(const void *data, size_t len)
{
	const unsigned char *p = data;

	if (len >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
		return IMG_FORMAT_JPEG;
	if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0)
		return IMG_FORMAT_PNG;
	if (len >= 2 && p[0] == 'P' && p[1] == '6')
		return IMG_FORMAT_PPM;
	return IMG_FORMAT_UNKNOWN;
}

enum img_format
img_format_from_name(const char *path)
{
	const char *dot = strrchr(path, '.');

	if (dot == NULL || strchr(dot, '/') != NULL)
		return IMG_FORMAT_UNKNOWN;
	if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
		return IMG_FORMAT_JPEG;
	if (strcasecmp(dot, ".png") == 0)
		return IMG_FORMAT_PNG;
	if (strcasecmp(dot, ".ppm") == 0)
		return IMG_FORMAT_PPM;
	return IMG_FORMAT_UNKNOWN;
}

static int
read_image_file(const char *path, struct buf *b, struct errbuf *eb)
{
	buf_init(b, IMG_MAX_FILE_BYTES);
	if (read_file(path, b, eb) != IF_OK)
		return eb->code;
	if (b->len == 0)
		return err_set(eb, IF_EINPUT, "%s: empty file, not an image",
			       path);
	return IF_OK;
}

static int
probe_mem(const void *data, size_t len, const char *name, int *w, int *h,
	  enum img_format *fmt, struct errbuf *eb)
{
	enum img_format f = img_sniff(data, len);
	size_t off;
	int rc, orientation = 1;

	if (fmt != NULL)
		*fmt = f;
	switch (f) {
	case IMG_FORMAT_JPEG:
		rc = jpeg_header(data, len, name, w, h, eb);
		if (rc == IF_OK &&
		    orientation_swaps(exif_jpeg_orientation(data, len))) {
			int t = *w;
			*w = *h;
			*h = t;
		}
		return rc;
	case IMG_FORMAT_PNG:
		rc = png_header(data, len, name, w, h, &orientation, eb);
		if (rc == IF_OK && orientation_swaps(orientation)) {
			int t = *w;
			*w = *h;
			*h = t;
		}
		return rc;
	case IMG_FORMAT_PPM:
		if (ppm_header(data, len, w, h, &off) != 0)
			return err_set(eb, IF_EINPUT,
				       "%s: damaged PPM header", name);
		return IF_OK;
	default:
		return err_set(eb, IF_EINPUT,
			       "%s: not a JPEG, PNG or PPM image", name);
	}
}

int
img_probe(const char *path, int *w, int *h, enum img_format *fmt,
	  struct errbuf *eb)
{
	struct buf b;
	int rc;

	if (read_image_file(path, &b, eb) != IF_OK) {
		buf_cleanup(&b);
		return eb->code;
	}
	rc = probe_mem(b.data, b.len, path, w, h, fmt, eb);
	buf_cleanup(&b);
	return rc;
}

int
img_load_mem(const void *data, size_t len, const char *name,
	     uint64_t max_pixels, struct img **out, struct errbuf *eb)
{
	struct img *raw = NULL;
	int orientation = 1, rc;

	*out = NULL;
	if (len == 0)
		return err_set(eb, IF_EINPUT, "%s: empty file, not an image",
			       name);
	switch (img_sniff(data, len)) {
	case IMG_FORMAT_JPEG:
		rc = jpeg_decode(data, len, name, max_pixels, &raw, eb);
		orientation = exif_jpeg_orientation(data, len);
		break;
	case IMG_FORMAT_PNG:
		rc = png_decode(data, len, name, max_pixels, &raw, &orientation,
				eb);
		break;
	case IMG_FORMAT_PPM:
		rc = ppm_decode(data, len, name, max_pixels, &raw, eb);
		break;
	default:
		return err_set(eb, IF_EINPUT,
			       "%s: not a JPEG, PNG or PPM image", name);
	}
	if (rc != IF_OK)
		return rc;
	if (orientation == 1) {
		*out = raw;
		return IF_OK;
	}
	rc = img_orient(raw, orientation, out, eb);
	img_free(raw);
	return rc;
}

int
img_load(const char *path, uint64_t max_pixels, struct img **out,
	 struct errbuf *eb)
{
	struct buf b;
	int rc;

	*out = NULL;
	if (read_image_file(path, &b, eb) != IF_OK) {
		buf_cleanup(&b);
		return eb->code;
	}
	rc = img_load_mem(b.data, b.len, path, max_pixels, out, eb);
	buf_cleanup(&b);
	return rc;
}

static int
encode_buf(const struct img *im, enum img_format fmt, int quality,
	   struct buf *out, struct errbuf *eb)
{
	switch (fmt) {
	case IMG_FORMAT_JPEG:
		return jpeg_encode(im, quality, out, eb);
	case IMG_FORMAT_PNG:
		return png_encode(im, out, eb);
	case IMG_FORMAT_PPM:
		return ppm_encode(im, out, eb);
	default:
		return err_set(eb, IF_EINPUT, "unknown output image format");
	}
}

int
img_encode(const struct img *im, enum img_format fmt, int jpeg_quality,
	   unsigned char **out, size_t *len, struct errbuf *eb)
{
	struct buf b;

	*out = NULL;
	*len = 0;
	buf_init(&b, 0);
	if (encode_buf(im, fmt, jpeg_quality, &b, eb) != IF_OK) {
		buf_cleanup(&b);
		return eb->code;
	}
	*out = (unsigned char *)buf_steal(&b, len);
	if (*out == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

int
img_save(const struct img *im, const char *path, int jpeg_quality,
	 struct errbuf *eb)
{
	enum img_format fmt = img_format_from_name(path);
	struct buf b;
	int rc;

	if (fmt == IMG_FORMAT_UNKNOWN)
		return err_set(eb, IF_EINPUT,
			       "%s: unknown output format; use .jpg, .png or "
			       ".ppm",
			       path);
	buf_init(&b, 0);
	rc = encode_buf(im, fmt, jpeg_quality, &b, eb);
	if (rc == IF_OK)
		rc = atomic_write_file(path, b.data, b.len, 0644, eb);
	buf_cleanup(&b);
	return rc;
}
