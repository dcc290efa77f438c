/*
 * imaging/imaging_private.h - shared between the files of imaging/ only.
 */
#ifndef INTOFOCUS_IMAGING_PRIVATE_H
#define INTOFOCUS_IMAGING_PRIVATE_H

#include "imaging/imaging.h"

/* img.c: binary PPM. */
int ppm_header(const void *data, size_t len, int *w, int *h, size_t *offset);
int ppm_decode(const void *data, size_t len, const char *name,
	       uint64_t max_pixels, struct img **out, struct errbuf *eb);
int ppm_encode(const struct img *im, struct buf *out, struct errbuf *eb);

/* jpeg_io.c: TurboJPEG.  Dimensions are as stored (before orientation). */
int jpeg_header(const void *data, size_t len, const char *name, int *w,
		int *h, struct errbuf *eb);
int jpeg_decode(const void *data, size_t len, const char *name,
		uint64_t max_pixels, struct img **out, struct errbuf *eb);
int jpeg_encode(const struct img *im, int quality, struct buf *out,
		struct errbuf *eb);

/*
 * png_io.c: libpng.  Dimensions are as stored; *orientation is the EXIF
 * Orientation of an eXIf chunk before the image data (1 without one).
 */
int png_header(const void *data, size_t len, const char *name, int *w,
	       int *h, int *orientation, struct errbuf *eb);
int png_decode(const void *data, size_t len, const char *name,
	       uint64_t max_pixels, struct img **out, int *orientation,
	       struct errbuf *eb);
int png_encode(const struct img *im, struct buf *out, struct errbuf *eb);

/*
 * exif.c: the EXIF Orientation (1..8) of a JPEG's APP1 segment; 1 when
 * there is none or it cannot be read (a damaged EXIF never fails a load).
 */
int exif_jpeg_orientation(const void *data, size_t len);
/* The same from a bare TIFF structure (a PNG eXIf chunk's contents). */
int exif_tiff_orientation(const void *data, size_t len);
/* A new image with orientation applied to im (1 = a plain copy). */
int img_orient(const struct img *im, int orientation, struct img **out,
	       struct errbuf *eb);
/* True when the orientation swaps width and height (5..8). */
bool orientation_swaps(int orientation);

#endif
