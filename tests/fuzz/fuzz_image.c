/*
 * tests/fuzz/fuzz_image.c - img_load_mem() (imaging/img_io.c, jpeg_io.c,
 * png_io.c, exif.c; spec section 3): JPEG, PNG and PPM headers and pixels,
 * and the EXIF orientation, with a small pixel cap so that a header
 * claiming a huge image is refused before any allocation.
 *
 * The EXIF walkers are also fed the raw bytes directly: a JPEG is only one
 * way to reach them, and the TIFF walker is the part with offsets.
 */
#include "tests/fuzz/fuzz.h"

#include "imaging/imaging.h"
#include "imaging/imaging_private.h"

#include <stdlib.h>

#define MAX_PIXELS (1u << 18)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct img *im = NULL;
	struct errbuf eb;
	int o;

	err_init(&eb);
	if (img_load_mem(data, size, "fuzz", MAX_PIXELS, &im, &eb) == IF_OK) {
		if (im == NULL || im->w <= 0 || im->h <= 0 ||
		    (uint64_t)im->w * (uint64_t)im->h > MAX_PIXELS)
			abort(); /* the cap is a promise */
	} else if (im != NULL) {
		abort(); /* *out is only set on success */
	}
	img_free(im);
	o = exif_jpeg_orientation(data, size);
	if (o < 1 || o > 8)
		abort();
	o = exif_tiff_orientation(data, size);
	if (o < 1 || o > 8)
		abort();
	(void)img_sniff(data, size);
	return 0;
}
