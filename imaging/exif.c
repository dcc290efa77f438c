/*
 * imaging/exif.c - the one piece of EXIF we honour: Orientation
 * (spec section 4), from a JPEG's APP1 or a PNG's eXIf chunk.  Every other
 * piece of metadata is dropped on load and never written.
 *
 * The scan is bounded by the segment lengths it reads and checks every
 * offset against them, so that hostile EXIF can at worst be ignored.
 */
#include "imaging/imaging_private.h"

#include <string.h>

static unsigned
rd16(const unsigned char *p, bool le)
{
	return le ? (unsigned)p[0] | (unsigned)p[1] << 8
		  : (unsigned)p[0] << 8 | (unsigned)p[1];
}

static uint32_t
rd32(const unsigned char *p, bool le)
{
	return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 |
			    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
		  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
			    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
exif_tiff_orientation(const void *data, size_t len)
{
	const unsigned char *t = data;
	bool le;
	uint32_t ifd;
	unsigned count;

	if (len < 8)
		return 1;
	if (t[0] == 'I' && t[1] == 'I')
		le = true;
	else if (t[0] == 'M' && t[1] == 'M')
		le = false;
	else
		return 1;
	if (rd16(t + 2, le) != 42)
		return 1;
	ifd = rd32(t + 4, le);
	if (ifd < 8 || ifd > len - 2)
		return 1;
	count = rd16(t + ifd, le);
	for (unsigned i = 0; i < count; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		unsigned value;
		if (e + 12 > len)
			return 1;
		if (rd16(t + e, le) != 0x0112)
			continue;
		/* SHORT, count 1: the value sits in the first two bytes. */
		if (rd16(t + e + 2, le) != 3 || rd32(t + e + 4, le) != 1)
			return 1;
		value = rd16(t + e + 8, le);
		return value >= 1 && value <= 8 ? (int)value : 1;
	}
	return 1;
}

int
exif_jpeg_orientation(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t pos = 2;

	if (len < 4 || p[0] != 0xFF || p[1] != 0xD8)
		return 1;
	/* Walk the marker segments up to the first scan. */
	while (pos + 4 <= len) {
		unsigned marker, seglen;
		if (p[pos] != 0xFF)
			return 1;
		marker = p[pos + 1];
		if (marker == 0xFF) { /* fill byte */
			pos++;
			continue;
		}
		if (marker == 0xDA || marker == 0xD9)
			return 1;
		seglen = (unsigned)p[pos + 2] << 8 | p[pos + 3];
		if (seglen < 2 || pos + 2 + seglen > len)
			return 1;
		if (marker == 0xE1 && seglen >= 2 + 6 + 8 &&
		    memcmp(p + pos + 4, "Exif\0\0", 6) == 0)
			return exif_tiff_orientation(p + pos + 10, seglen - 8);
		pos += 2 + seglen;
	}
	return 1;
}

bool
orientation_swaps(int orientation)
{
	return orientation >= 5 && orientation <= 8;
}

void
img_orient_into(const struct img *im, int o, struct img *dst)
{
	int W = im->w, H = im->h;
	int dw = dst->w, dh = dst->h;

	for (int dy = 0; dy < dh; dy++) {
		uint8_t *drow = dst->px + (size_t)dy * dst->stride;
		for (int dx = 0; dx < dw; dx++) {
			int sx, sy;
			switch (o) {
			case 2: sx = W - 1 - dx; sy = dy; break;
			case 3: sx = W - 1 - dx; sy = H - 1 - dy; break;
			case 4: sx = dx; sy = H - 1 - dy; break;
			case 5: sx = dy; sy = dx; break;
			case 6: sx = dy; sy = H - 1 - dx; break;
			case 7: sx = W - 1 - dy; sy = H - 1 - dx; break;
			case 8: sx = W - 1 - dy; sy = dx; break;
			default: sx = dx; sy = dy; break;
			}
			memcpy(drow + (size_t)dx * 3,
			       im->px + (size_t)sy * im->stride +
			       (size_t)sx * 3, 3);
		}
	}
}

int
img_orient(const struct img *im, int o, struct img **out, struct errbuf *eb)
{
	struct img *dst;

	if (img_new(&dst, orientation_swaps(o) ? im->h : im->w,
		    orientation_swaps(o) ? im->w : im->h, UINT64_MAX,
		    eb) != IF_OK)
		return eb->code;
	img_orient_into(im, o, dst);
	*out = dst;
	return IF_OK;
}
