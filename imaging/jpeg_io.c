/*
 * imaging/jpeg_io.c - the TurboJPEG boundary.
 *
 * Debian 12 ships libjpeg-turbo 2.1, so this uses the tj* handle API (the
 * tj3 API of 3.0 is not there); it confines libjpeg's setjmp/longjmp error
 * model, and we never include jpeglib.h.  Every TurboJPEG error is copied
 * into the caller's errbuf with the file's name.  Warnings (such as a
 * truncated file) are errors: the spec wants truncated input refused,
 * never half-decoded.
 *
 * The header is read first and the pixel count checked against the limit
 * before any pixel buffer exists.  Encoding writes a bare JFIF stream: no
 * EXIF, XMP, ICC profile or comment segment is ever written.
 */
#include "imaging/imaging_private.h"

#include <stdlib.h>
#include <limits.h>
#include <turbojpeg.h>

int
jpeg_header(const void *data, size_t len, const char *name, int *w, int *h,
	    struct errbuf *eb)
{
	tjhandle tj = tjInitDecompress();
	int subsamp, colorspace, rc = IF_OK;

	/* See jpeg_decode: a header cut short may leave them unwritten. */
	*w = 0;
	*h = 0;
	if (tj == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: TurboJPEG: %s", name,
			       tjGetErrorStr2(NULL));
	if (len > ULONG_MAX ||
	    tjDecompressHeader3(tj, data, (unsigned long)len, w, h, &subsamp,
				&colorspace) != 0)
		rc = err_set(eb, IF_EINPUT, "%s: not a readable JPEG: %s", name,
			     tjGetErrorStr2(tj));
	else if (*w <= 0 || *h <= 0)
		rc = err_set(eb, IF_EINPUT, "%s: JPEG of size %dx%d", name, *w,
			     *h);
	tjDestroy(tj);
	return rc;
}

int
jpeg_decode(const void *data, size_t len, const char *name,
	    uint64_t max_pixels, struct img **out, struct errbuf *eb)
{
	tjhandle tj = NULL;
	struct img *im = NULL;
	int w = 0, h = 0, subsamp, colorspace, rc = IF_OK;

	*out = NULL;
	tj = tjInitDecompress();
	if (tj == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: TurboJPEG: %s", name,
			       tjGetErrorStr2(NULL));
	if (len > ULONG_MAX ||
	    tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &subsamp,
				&colorspace) != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: not a readable JPEG: %s", name,
			     tjGetErrorStr2(tj));
		goto done;
	}
	/*
	 * libjpeg pads a stream that ends early with a fake EOI and only
	 * warns, so a file cut inside its header "succeeds" with no frame,
	 * leaving w and h unwritten (valgrind saw it): hence their 0 start.
	 */
	if (w <= 0 || h <= 0) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: not a readable JPEG: no frame header (file "
			     "truncated?)",
			     name);
		goto done;
	}
	if (img_new(&im, w, h, max_pixels, eb) != IF_OK) {
		err_prefix(eb, "%s", name);
		rc = eb->code;
		goto done;
	}
	/*
	 * Accurate DCT so that every machine decodes to the same bytes; a
	 * scan limit so that a progressive bomb cannot spin for minutes.
	 */
	if (tjDecompress2(tj, data, (unsigned long)len, im->px, w,
			  (int)im->stride, h, TJPF_RGB,
			  TJFLAG_ACCURATEDCT | TJFLAG_STOPONWARNING |
				  TJFLAG_LIMITSCANS) != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: corrupt or truncated JPEG: %s",
			     name, tjGetErrorStr2(tj));
		goto done;
	}
	*out = im;
	im = NULL;
done:
	img_free(im);
	tjDestroy(tj);
	return rc;
}

int
jpeg_encode(const struct img *im, int quality, struct buf *out,
	    struct errbuf *eb)
{
	tjhandle tj;
	unsigned char *jpeg = NULL;
	unsigned long size = 0;
	int rc = IF_OK;

	if (quality <= 0)
		quality = IMG_DEFAULT_JPEG_QUALITY;
	if (quality > 100)
		return err_set(eb, IF_EINPUT, "JPEG quality %d is not 1..100",
			       quality);
	tj = tjInitCompress();
	if (tj == NULL)
		return err_set(eb, IF_ERUNTIME, "TurboJPEG: %s",
			       tjGetErrorStr2(NULL));
	/*
	 * 4:2:0 like every camera: the stage images are viewed, not
	 * measured, and it keeps uploads small.
	 */
	if (tjCompress2(tj, im->px, im->w, (int)im->stride, im->h, TJPF_RGB,
			&jpeg, &size, TJSAMP_420, quality,
			TJFLAG_ACCURATEDCT) != 0)
		rc = err_set(eb, IF_ERUNTIME, "JPEG encoding failed: %s",
			     tjGetErrorStr2(tj));
	else if (buf_append(out, jpeg, size) != 0)
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	tjFree(jpeg);
	tjDestroy(tj);
	return rc;
}
