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

/*
 * img.c: the pixel limit and reusable pixel buffers.  img_check_size()
 * refuses what img_new() refuses (empty, over max_pixels - 0 means the
 * default - or too large for size_t).
 */
int img_check_size(int w, int h, uint64_t max_pixels, struct errbuf *eb);

/*
 * An image whose pixel buffer is kept between uses: img_slot_reserve()
 * makes slot->im a w x h image (contents unspecified), reallocating only
 * when the buffer it holds is too small, so that a buffer's pages are
 * faulted in once, not at every stage.  A zeroed slot is empty;
 * img_slot_cleanup() frees the buffer and leaves it empty.
 */
struct img_slot {
	struct img im;
	size_t cap; /* bytes allocated at im.px */
};
int img_slot_reserve(struct img_slot *slot, int w, int h,
		     uint64_t max_pixels, struct errbuf *eb);
void img_slot_cleanup(struct img_slot *slot);

/*
 * jpeg_io.c: libjpeg-turbo.  Dimensions are as stored (before
 * orientation).  jpeg_decode() and jpeg_encode() work on whole images;
 * the reader below decodes row by row.
 */
int jpeg_header(const void *data, size_t len, const char *name, int *w,
		int *h, struct errbuf *eb);
int jpeg_decode(const void *data, size_t len, const char *name,
		uint64_t max_pixels, struct img **out, struct errbuf *eb);
int jpeg_encode(const struct img *im, int quality, struct buf *out,
		struct errbuf *eb);

/*
 * Reads the header of data (which must outlive the reader) and refuses
 * sizes over max_pixels; *w and *h are the stored size.
 */
struct jpeg_reader;
int jpeg_reader_new(struct jpeg_reader **out, const void *data, size_t len,
		    const char *name, uint64_t max_pixels, int *w, int *h,
		    struct errbuf *eb);
/*
 * Decodes the next rows, at most max_rows, as RGB into row, row + stride,
 * ...; *got says how many.  After the last row the rest of the stream is
 * checked.  An error leaves the reader good only for jpeg_reader_free().
 */
int jpeg_reader_rows(struct jpeg_reader *jr, uint8_t *row, size_t stride,
		     int max_rows, int *got, struct errbuf *eb);
/* NULL is a no-op. */
void jpeg_reader_free(struct jpeg_reader *jr);

/*
 * render.c, for tests only: each render holds the end of its decode until
 * the early thread has finished n bands (or has none left), so that both
 * ways a band can end - before and after the decode - are exercised
 * whatever the timing.  0, the default, holds nothing.
 */
struct img_renderer;
void img_renderer_test_early_bands(struct img_renderer *r, int n);

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
/*
 * The same into dst, which must already have the oriented size (im's
 * with width and height swapped for 5..8) and may not alias im.
 */
void img_orient_into(const struct img *im, int orientation, struct img *dst);
/* True when the orientation swaps width and height (5..8). */
bool orientation_swaps(int orientation);

/*
 * redact.c: img_redact() that also says how many pixels it wrote, so that
 * tests and the bench can show the cost bounded by the image area.
 */
int img_redact_counted(struct img *im, const struct box *boxes, size_t n,
		       enum redact_style style, uint32_t fill_rgb,
		       const struct img *heavy, uint64_t *pixel_writes,
		       struct errbuf *eb);

#endif
