/*
 * imaging/imaging.h - the image half of IntoFocus (spec section 4).
 *
 * Images are 8-bit RGB, rows top to bottom, in the orientation a person
 * sees (the EXIF orientation is applied on load).  Boxes are [x, y, w, h]
 * in those pixel coordinates.  Nothing here reads a clock or a global: the
 * median filter's threads are the only threads in the program.
 *
 * Functions return an enum if_status and fill the caller's errbuf with a
 * message that names the file or value at fault.
 */
#ifndef INTOFOCUS_IMAGING_H
#define INTOFOCUS_IMAGING_H

#include "common/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default refusal limit, checked from the header before decoding pixels. */
#define IMG_DEFAULT_MAX_PIXELS 100000000ULL
#define IMG_DEFAULT_JPEG_QUALITY 90
/* The heaviest window, used for median redaction when none is given. */
#define IMG_HEAVY_WINDOW 41

struct img {
	int w, h;
	size_t stride; /* bytes per row, >= 3 * w */
	uint8_t *px;   /* RGB, row-major; owned by the struct */
};

struct box {
	int x, y, w, h;
};

enum img_format {
	IMG_FORMAT_UNKNOWN = 0,
	IMG_FORMAT_JPEG,
	IMG_FORMAT_PNG,
	IMG_FORMAT_PPM,
};

enum redact_style {
	REDACT_FILL = 0,
	REDACT_MEDIAN,	 /* the stage-1 (heaviest) filtered pixels */
	REDACT_PIXELATE, /* 16-px block averages */
};

/* ---- img.c: allocation and PPM ---------------------------------------- */

/*
 * Allocates a w x h image (contents unspecified).  Refuses sizes that
 * overflow or exceed max_pixels (0 = IMG_DEFAULT_MAX_PIXELS).
 */
int img_new(struct img **out, int w, int h, uint64_t max_pixels,
	    struct errbuf *eb);
/* NULL is a no-op. */
void img_free(struct img *im);
/* A new image with the same pixels. */
int img_clone(const struct img *src, struct img **out, struct errbuf *eb);

/* ---- load/save (img_io.c, jpeg_io.c, png_io.c, exif.c) ------------------ */

/* The format from a file's first bytes (not its name). */
enum img_format img_sniff(const void *data, size_t len);
/* The format a name's extension asks for (.jpg/.jpeg, .png, .ppm). */
enum img_format img_format_from_name(const char *path);

/*
 * Reads only the header: width and height as displayed (after the EXIF
 * orientation), and the format.  For `check` and the simulator.
 */
int img_probe(const char *path, int *w, int *h, enum img_format *fmt,
	      struct errbuf *eb);

/*
 * Decodes a JPEG, PNG or binary PPM file or memory buffer, applies the EXIF
 * orientation, and refuses images over max_pixels (0 = default) before
 * decoding pixels.  name is used in messages.  Truncated or corrupt input is
 * IF_EINPUT with a message naming the file and the problem.  Every input
 * becomes 8-bit RGB as stored, with no colour management: grey is copied to
 * R, G and B, palettes expanded, 16-bit PNG samples scaled by 255/65535,
 * and alpha (PNG alpha channel or tRNS) composited on black as
 * round(c * a / 255).  The format is sniffed from the bytes, not the name.
 */
int img_load(const char *path, uint64_t max_pixels, struct img **out,
	     struct errbuf *eb);
int img_load_mem(const void *data, size_t len, const char *name,
		 uint64_t max_pixels, struct img **out, struct errbuf *eb);

/*
 * Writes im to path in the format of its extension, atomically (temporary
 * name, then rename), with no metadata of any kind.  jpeg_quality 0 means
 * IMG_DEFAULT_JPEG_QUALITY; JPEG is baseline 4:2:0 with a bare JFIF header
 * (stage images are looked at, not measured, and 4:2:0 keeps uploads
 * small); PNG holds IHDR, IDAT and IEND only; PPM is P6, maxval 255.
 * .jpg/.jpeg, .png and .ppm in any case; any other name is IF_EINPUT.
 */
int img_save(const struct img *im, const char *path, int jpeg_quality,
	     struct errbuf *eb);

/* Encodes to memory (for hosting); *out is freed with free(). */
int img_encode(const struct img *im, enum img_format fmt, int jpeg_quality,
	       unsigned char **out, size_t *len, struct errbuf *eb);

/* ---- median.c: the constant-time median filter -------------------------- */

/*
 * dst = the median filter of src with an odd window (spec section 4):
 * per channel, edge pixels replicated, the value at rank w*w/2 of the
 * window; bit-identical to Pillow's MedianFilter(size=window).  Its cost
 * does not grow with the window.  dst must be the same size as src and may
 * not alias it.  threads 0 = one per core.
 */
int img_median(const struct img *src, struct img *dst, int window,
	       int threads, struct errbuf *eb);

/* ---- boxes.c: box geometry ---------------------------------------------- */

/* Clips b to a w x h image; returns false when nothing is left. */
bool box_clip(struct box *b, int w, int h);
/*
 * Clips every box and drops the empty ones, in place; returns the new count.
 */
size_t boxes_clip_all(struct box *boxes, size_t n, int w, int h);
/*
 * Pixel vote: the regions covered by more than `threshold` of the nboxsets
 * sets, returned as boxes (newly allocated in *out, count in *nout).
 */
int boxes_vote(const struct box *const *sets, const size_t *counts,
	       size_t nsets, size_t threshold, int w, int h, struct box **out,
	       size_t *nout, struct errbuf *eb);
/*
 * The same vote with a weight per box, 0..100 (weights[s][i] for
 * sets[s][i]; a NULL weights[s], or a negative weight, counts 100): a set
 * gives a pixel the largest weight among its boxes over it, and a pixel
 * wins when the sum passes threshold * 100.  With every weight 100 it is
 * boxes_vote().
 */
int boxes_vote_weighted(const struct box *const *sets,
			const int *const *weights, const size_t *counts,
			size_t nsets, size_t threshold, int w, int h,
			struct box **out, size_t *nout, struct errbuf *eb);
/* Fraction (0..1) of target's area covered by the union of boxes. */
double box_coverage(const struct box *target, const struct box *boxes,
		    size_t n);

/* ---- redact.c: redaction ------------------------------------------------ */

/*
 * Redacts every box (clipped first) of im in place.  fill_rgb is 0xRRGGBB
 * for REDACT_FILL; heavy is the stage-1 filtered image for REDACT_MEDIAN
 * (same size as im; ignored otherwise).
 */
int img_redact(struct img *im, const struct box *boxes, size_t n,
	       enum redact_style style, uint32_t fill_rgb,
	       const struct img *heavy, struct errbuf *eb);

/* ---- stage.c: one stage image ------------------------------------------- */

/*
 * The stage image of spec section 4: the median of orig at window (window
 * 1 or 0 = the original, for the final image), then boxes redacted.
 * heavy: the stage-1 filtered image for REDACT_MEDIAN (NULL computes it).
 */
int img_render_stage(const struct img *orig, int window,
		     const struct box *boxes, size_t n,
		     enum redact_style style, uint32_t fill_rgb,
		     const struct img *heavy, int threads, struct img **out,
		     struct errbuf *eb);

/* ---- render.c: stage transitions with buffers kept between calls ------- */

/* What img_render_stage() takes, for a renderer. */
struct img_stage_spec {
	int window;		 /* the stage's window; 0 or 1: the original */
	const struct box *boxes; /* clipped first */
	size_t n;
	enum redact_style style;
	uint32_t fill_rgb; /* 0xRRGGBB, for REDACT_FILL */
	/* REDACT_MEDIAN's stage-1 window; 0 = IMG_HEAVY_WINDOW */
	int heavy_window;
};

/*
 * A renderer keeps its pixel buffers, the file it read and the stream it
 * encoded from one call to the next (a fresh 12 MP buffer costs thousands
 * of page faults), and overlaps a JPEG's decode with the median filter.
 * threads 0 = one per core; max_pixels 0 =
 * IMG_DEFAULT_MAX_PIXELS.  One renderer serves one thread at a time.
 */
struct img_renderer;
int img_renderer_new(struct img_renderer **out, int threads,
		     uint64_t max_pixels, struct errbuf *eb);
/* NULL is a no-op. */
void img_renderer_free(struct img_renderer *r);

/*
 * Reads a file into the renderer's buffer (reused by the next call);
 * *data stays valid until then.
 */
int img_renderer_read_file(struct img_renderer *r, const char *path,
			   const void **data, size_t *len, struct errbuf *eb);

/*
 * The stage image of spec from an encoded original (JPEG, PNG or PPM, as
 * img_load_mem() takes it): the same pixels as img_load_mem() then
 * img_render_stage().  *out belongs to the renderer and stays valid until
 * its next call.
 */
int img_renderer_image(struct img_renderer *r, const void *data, size_t len,
		       const char *name, const struct img_stage_spec *spec,
		       const struct img **out, struct errbuf *eb);

/*
 * The same, encoded as img_encode() would (fmt JPEG, PNG or PPM); the
 * bytes in *out belong to the renderer until its next call.
 */
int img_renderer_encode(struct img_renderer *r, const void *data, size_t len,
			const char *name, const struct img_stage_spec *spec,
			enum img_format fmt, int jpeg_quality,
			const unsigned char **out, size_t *outlen,
			struct errbuf *eb);


/* ---- face_detect.cc: OpenCV's cascade classifiers ----------------------- */

/*
 * Where Debian's opencv-data puts the cascades; a cascade named without a
 * '/' ("frontalface_default") is FACE_CASCADE_DIR/haarcascade_NAME.xml.
 */
#ifndef FACE_CASCADE_DIR
#define FACE_CASCADE_DIR "/usr/share/opencv4/haarcascades"
#endif
#define FACE_CASCADES_MAX 8
/* The cascades used when none is named: frontal faces and profiles. */
#define FACE_DEFAULT_CASCADES "frontalface_alt2,profileface"

/*
 * A detector holds its loaded cascades; one detector serves one thread at
 * a time.  A cascade whose name ends in "profileface" also runs on the
 * mirrored image, since it was trained on faces turned one way only.
 */
struct face_detector;

/*
 * Loads every cascade, each a name or a path (see FACE_CASCADE_DIR).  A
 * missing or unreadable cascade is IF_EINPUT naming the file.
 */
int face_detector_new(const char *const *cascades, size_t n,
		      struct face_detector **out, struct errbuf *eb);
/* NULL is a no-op. */
void face_detector_free(struct face_detector *d);
/* The file a cascade name stands for; truncated to len - 1 bytes. */
void face_cascade_path(const char *name, char *out, size_t len);

/* What face_detect() looks for and how it reports it. */
struct face_detect_opts {
	/* The smallest face side looked for, in pixels (>= 1). */
	int min_face;
	/*
	 * Each edge of a found face moves out by this many hundredths of a
	 * percent of the face's side (1000 = 10%), then is clipped to the
	 * image: what is hidden should cover hair and ears too.
	 */
	int margin_bp;
	/*
	 * The image is scaled down for the search so that min_face maps to
	 * the cascades' own window (about 24 px) when it is larger: the
	 * same faces at a fraction of the cost.  false searches full size.
	 */
	bool no_downscale;
};

/*
 * The faces in im, each once (boxes of several cascades that overlap by
 * more than a third are merged into their union), grown by the margin
 * and inside the image, sorted top to bottom then left to right.  *out is
 * freed with free(); it is NULL when *nout is 0.
 */
int face_detect(struct face_detector *d, const struct img *im,
		const struct face_detect_opts *opts, struct box **out,
		size_t *nout, struct errbuf *eb);

/*
 * A length written as pixels or as hundredths of a percent of an image's
 * shorter side, resolved for that image: bp 250 on a 4000x3000 image is
 * 75 px.  Rounded to the nearest pixel, at least 1.
 */
int img_length_resolve(int px, int bp, int w, int h);

#endif /* INTOFOCUS_IMAGING_H */
