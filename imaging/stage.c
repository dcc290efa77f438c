/*
 * imaging/stage.c - one stage image (spec section 4): the median of the
 * original at the stage's window, then every box aggregated in earlier
 * stages redacted.  Window 1 (or 0) is the original itself, which makes
 * the final image the same call with every box of every stage.
 */
#include "imaging/imaging.h"

int
img_render_stage(const struct img *orig, int window, const struct box *boxes,
		 size_t n, enum redact_style style, uint32_t fill_rgb,
		 const struct img *heavy, int threads, struct img **out,
		 struct errbuf *eb)
{
	struct img *im = NULL, *own_heavy = NULL;
	int rc;

	*out = NULL;
	if (window <= 1)
		rc = img_clone(orig, &im, eb);
	else if ((rc = img_new(&im, orig->w, orig->h, UINT64_MAX, eb)) == IF_OK)
		rc = img_median(orig, im, window, threads, eb);
	if (rc != IF_OK)
		goto fail;
	if (style == REDACT_MEDIAN && heavy == NULL && n > 0) {
		/* Callers rendering many stages pass the stage-1 image in. */
		if ((rc = img_new(&own_heavy, orig->w, orig->h, UINT64_MAX,
				  eb)) != IF_OK ||
		    (rc = img_median(orig, own_heavy, IMG_HEAVY_WINDOW, threads,
				     eb)) != IF_OK)
			goto fail;
		heavy = own_heavy;
	}
	if ((rc = img_redact(im, boxes, n, style, fill_rgb, heavy,
			     eb)) != IF_OK)
		goto fail;
	img_free(own_heavy);
	*out = im;
	return IF_OK;
fail:
	img_free(own_heavy);
	img_free(im);
	return rc;
}
