/*
 * imaging/img.c - the image type, its allocation, and binary PPM.
 *
 * Sizes are computed in 64 bits and checked against the pixel limit before
 * any allocation, so that a hostile header can never make us allocate (or
 * overflow) on its say-so (spec section 4: refuse before decoding).
 *
 * Large pixel buffers ask the kernel for transparent huge pages.  Spec
 * section 4 measures the first touch of a fresh 4 KiB page at about 12 us
 * on our VMs, 110 ms for one 12 MP RGB image; with 2 MiB pages the same
 * buffer takes 18 faults instead of 9,000.  madvise() is only a hint: where
 * huge pages are off, nothing changes.  Buffers that live across stages
 * (struct img_slot, for render.c) are faulted in once.
 */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE (Linux) */
#include "imaging/imaging_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((size_t)2 << 20)

/* Large buffers are 2 MiB-aligned and advised whole, their tail included. */
static uint8_t *
alloc_pixels(size_t size, size_t *cap)
{
	uint8_t *p;
	size_t rounded;

	*cap = size;
	if (size < 2 * HUGE_PAGE)
		return malloc(size);
	/* aligned_alloc wants a multiple of the alignment. */
	rounded = (size + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
	p = aligned_alloc(HUGE_PAGE, rounded);
	if (p == NULL)
		return NULL;
	*cap = rounded;
#ifdef MADV_HUGEPAGE
	(void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
	return p;
}

int
img_check_size(int w, int h, uint64_t max_pixels, struct errbuf *eb)
{
	uint64_t pixels;

	if (max_pixels == 0)
		max_pixels = IMG_DEFAULT_MAX_PIXELS;
	if (w <= 0 || h <= 0)
		return err_set(eb, IF_EINPUT, "image size %dx%d is empty",
			       w, h);
	pixels = (uint64_t)w * (uint64_t)h;
	if (pixels > max_pixels)
		return err_set(eb, IF_EINPUT,
			       "image of %dx%d (%.1f megapixels) is over the "
			       "limit of %.1f megapixels",
			       w, h, (double)pixels / 1e6,
			       (double)max_pixels / 1e6);
	if (pixels > SIZE_MAX / 3)
		return err_set(eb, IF_EINPUT, "image of %dx%d is too large",
			       w, h);
	return IF_OK;
}

int
img_new(struct img **out, int w, int h, uint64_t max_pixels,
	struct errbuf *eb)
{
	struct img *im;
	size_t cap;

	*out = NULL;
	if (img_check_size(w, h, max_pixels, eb) != IF_OK)
		return eb->code;
	im = calloc(1, sizeof(*im));
	if (im == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	im->w = w;
	im->h = h;
	im->stride = (size_t)w * 3;
	im->px = alloc_pixels(im->stride * (size_t)h, &cap);
	if (im->px == NULL) {
		free(im);
		return err_set(eb, IF_ERUNTIME,
			       "out of memory for a %dx%d image", w, h);
	}
	*out = im;
	return IF_OK;
}

void
img_free(struct img *im)
{
	if (im == NULL)
		return;
	free(im->px);
	free(im);
}

int
img_clone(const struct img *src, struct img **out, struct errbuf *eb)
{
	if (img_new(out, src->w, src->h, UINT64_MAX, eb) != IF_OK)
		return eb->code;
	for (int y = 0; y < src->h; y++)
		memcpy((*out)->px + (size_t)y * (*out)->stride,
		       src->px + (size_t)y * src->stride, (size_t)src->w * 3);
	return IF_OK;
}

int
img_slot_reserve(struct img_slot *slot, int w, int h, uint64_t max_pixels,
		 struct errbuf *eb)
{
	size_t need;

	if (img_check_size(w, h, max_pixels, eb) != IF_OK)
		return eb->code;
	need = (size_t)w * 3 * (size_t)h;
	if (slot->im.px == NULL || slot->cap < need) {
		img_slot_cleanup(slot);
		slot->im.px = alloc_pixels(need, &slot->cap);
		if (slot->im.px == NULL) {
			slot->cap = 0;
			return err_set(eb, IF_ERUNTIME,
				       "out of memory for a %dx%d image", w, h);
		}
	}
	slot->im.w = w;
	slot->im.h = h;
	slot->im.stride = (size_t)w * 3;
	return IF_OK;
}

void
img_slot_cleanup(struct img_slot *slot)
{
	free(slot->im.px);
	memset(slot, 0, sizeof(*slot));
}

/* ---- PPM (P6, maxval 255) ----------------------------------------------- */

/* Reads one header number, skipping whitespace and # comments. */
static int
ppm_number(const unsigned char *p, size_t len, size_t *pos, long *out)
{
	long v = 0;
	int digits = 0;

	for (;;) {
		while (*pos < len && (p[*pos] == ' ' || p[*pos] == '\t' ||
				      p[*pos] == '\n' || p[*pos] == '\r'))
			(*pos)++;
		if (*pos < len && p[*pos] == '#') {
			while (*pos < len && p[*pos] != '\n')
				(*pos)++;
			continue;
		}
		break;
	}
	while (*pos < len && p[*pos] >= '0' && p[*pos] <= '9') {
		if (v > 100000000L)
			return -1;
		v = v * 10 + (p[*pos] - '0');
		(*pos)++;
		digits++;
	}
	if (digits == 0)
		return -1;
	*out = v;
	return 0;
}

int
ppm_header(const void *data, size_t len, int *w, int *h, size_t *offset)
{
	const unsigned char *p = data;
	size_t pos = 2;
	long lw, lh, maxval;

	if (len < 2 || p[0] != 'P' || p[1] != '6')
		return -1;
	if (ppm_number(p, len, &pos, &lw) != 0 ||
	    ppm_number(p, len, &pos, &lh) != 0 ||
	    ppm_number(p, len, &pos, &maxval) != 0 || maxval != 255 ||
	    pos >= len || lw <= 0 || lh <= 0 || lw > INT32_MAX / 4 ||
	    lh > INT32_MAX / 4)
		return -1;
	pos++; /* the single whitespace byte after maxval */
	*w = (int)lw;
	*h = (int)lh;
	*offset = pos;
	return 0;
}

int
ppm_decode(const void *data, size_t len, const char *name,
	   uint64_t max_pixels, struct img **out, struct errbuf *eb)
{
	size_t off, need;
	int w, h;

	*out = NULL;
	if (ppm_header(data, len, &w, &h, &off) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s: not a binary PPM (P6, maxval 255) image",
			       name);
	if (img_new(out, w, h, max_pixels, eb) != IF_OK) {
		err_prefix(eb, "%s", name);
		return eb->code;
	}
	need = (size_t)w * (size_t)h * 3;
	if (len - off < need) {
		img_free(*out);
		*out = NULL;
		return err_set(eb, IF_EINPUT,
			       "%s: truncated PPM: %zu of %zu pixel bytes",
			       name, len - off, need);
	}
	memcpy((*out)->px, (const unsigned char *)data + off, need);
	return IF_OK;
}

int
ppm_encode(const struct img *im, struct buf *out, struct errbuf *eb)
{
	if (buf_printf(out, "P6\n%d %d\n255\n", im->w, im->h) != 0)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (int y = 0; y < im->h; y++)
		if (buf_append(out, im->px + (size_t)y * im->stride,
			       (size_t)im->w * 3) != 0)
			return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}
