/*
 * imaging/: loading and saving (JPEG, PNG, PPM), the EXIF orientation,
 * metadata stripping, the pixel limit, refusal of damaged input, the
 * redaction styles and the stage image (spec section 4).
 *
 * Fixtures are in tests/fixtures/images/ (see its README.md); expected
 * pixels come from gen.py's formulas or hand-written tables, never from
 * the code under test.  Damaged and oversized inputs are made here from
 * the fixtures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imaging/imaging.h"

#include <dirent.h>
#include <stdlib.h>
#include <turbojpeg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIXDIR "tests/fixtures/images/"

/* ---- helpers ------------------------------------------------------------ */

static struct buf
slurp(const char *path)
{
	struct buf b;
	struct errbuf eb = {0};

	buf_init(&b, 64u << 20);
	if (read_file(path, &b, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	return b;
}

static char *
scratch_dir(void)
{
	char tmpl[] = "/tmp/intofocus-imaging.XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static void
remove_dir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char *p;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		p = path_join(dir, e->d_name);
		unlink(p);
		free(p);
	}
	closedir(d);
	rmdir(dir);
	free(dir);
}

static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
write_bytes(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* find_bytes() is a GNU extension; the build is plain POSIX. */
static char *
find_bytes(const void *hay, size_t len, const void *needle, size_t n)
{
	const char *h = hay;

	for (size_t i = 0; n <= len && i <= len - n; i++)
		if (memcmp(h + i, needle, n) == 0)
			return (char *)(uintptr_t)(h + i);
	return NULL;
}

static uint32_t
rnd(uint32_t *s)
{
	uint32_t x = *s;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

static struct img *
random_img(int w, int h, uint32_t seed)
{
	struct img *im = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&im, w, h, 0, &eb), IF_OK);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w * 3; x++)
			im->px[(size_t)y * im->stride + (size_t)x] =
				(uint8_t)rnd(&seed);
	return im;
}

/* A smooth image that JPEG keeps well: gradients, no noise. */
static struct img *
smooth_img(int w, int h)
{
	struct img *im = NULL;
	struct errbuf eb = {0};

	assert_int_equal(img_new(&im, w, h, 0, &eb), IF_OK);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *p =
				im->px + (size_t)y * im->stride + (size_t)x * 3;
			p[0] = (uint8_t)(x * 255 / (w - 1));
			p[1] = (uint8_t)(y * 255 / (h - 1));
			p[2] = (uint8_t)((x + y) * 255 / (w + h - 2));
		}
	return im;
}

static const uint8_t *
pixel(const struct img *im, int x, int y)
{
	return im->px + (size_t)y * im->stride + (size_t)x * 3;
}

static void
assert_same_pixels(const struct img *a, const struct img *b)
{
	assert_int_equal(a->w, b->w);
	assert_int_equal(a->h, b->h);
	for (int y = 0; y < a->h; y++)
		if (memcmp(pixel(a, 0, y), pixel(b, 0, y), (size_t)a->w * 3) !=
		    0)
			fail_msg("row %d differs", y);
}

/* ---- allocation, names, sniffing ---------------------------------------- */

static void
test_new_and_names(void **state)
{
	struct img *im = NULL, *c = NULL;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_new(&im, 0, 5, 0, &eb), IF_EINPUT);
	assert_null(im);
	err_init(&eb);
	assert_int_equal(img_new(&im, 5, -1, 0, &eb), IF_EINPUT);
	err_init(&eb);
	/* The limit is inclusive. */
	assert_int_equal(img_new(&im, 10, 10, 100, &eb), IF_OK);
	img_free(im);
	assert_int_equal(img_new(&im, 10, 11, 100, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "limit"));
	err_init(&eb);
	/* Sizes whose product overflows 32 bits. */
	assert_int_equal(img_new(&im, 65536, 65536, 0, &eb), IF_EINPUT);
	err_init(&eb);
	img_free(NULL);

	im = random_img(7, 5, 1);
	assert_int_equal(img_clone(im, &c, &eb), IF_OK);
	assert_ptr_not_equal(c->px, im->px);
	assert_same_pixels(im, c);
	img_free(c);
	img_free(im);

	assert_int_equal(img_format_from_name("a.jpg"), IMG_FORMAT_JPEG);
	assert_int_equal(img_format_from_name("dir/A.JPEG"), IMG_FORMAT_JPEG);
	assert_int_equal(img_format_from_name("x.png"), IMG_FORMAT_PNG);
	assert_int_equal(img_format_from_name("x.ppm"), IMG_FORMAT_PPM);
	assert_int_equal(img_format_from_name("x.gif"), IMG_FORMAT_UNKNOWN);
	assert_int_equal(img_format_from_name("noext"), IMG_FORMAT_UNKNOWN);
	assert_int_equal(img_format_from_name("d.png/file"),
			 IMG_FORMAT_UNKNOWN);
	assert_int_equal(img_sniff("\xff\xd8\xff\xe0", 4), IMG_FORMAT_JPEG);
	assert_int_equal(img_sniff("\x89PNG\r\n\x1a\n", 8), IMG_FORMAT_PNG);
	assert_int_equal(img_sniff("P6\n", 3), IMG_FORMAT_PPM);
	assert_int_equal(img_sniff("GIF89a", 6), IMG_FORMAT_UNKNOWN);
	assert_int_equal(img_sniff("", 0), IMG_FORMAT_UNKNOWN);
}

/* ---- round trips -------------------------------------------------------- */

static void
test_lossless_round_trips(void **state)
{
	static const char *const names[] = {"x.ppm", "x.png", "X.PNG"};
	char *dir = scratch_dir();
	struct img *im = random_img(17, 9, 42), *back = NULL;
	struct errbuf eb = {0};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char *p = path_join(dir, names[i]);
		assert_int_equal(img_save(im, p, 0, &eb), IF_OK);
		assert_int_equal(img_load(p, 0, &back, &eb), IF_OK);
		assert_same_pixels(im, back);
		img_free(back);
		free(p);
	}
	/* Memory encoders agree with the files. */
	for (int f = IMG_FORMAT_PNG; f <= IMG_FORMAT_PPM; f++) {
		unsigned char *data = NULL;
		size_t len = 0;
		assert_int_equal(
			img_encode(im, (enum img_format)f, 0, &data, &len, &eb),
			IF_OK);
		assert_int_equal(img_sniff(data, len), f);
		assert_int_equal(img_load_mem(data, len, "mem", 0, &back, &eb),
				 IF_OK);
		assert_same_pixels(im, back);
		img_free(back);
		free(data);
	}
	assert_int_equal(count_entries(dir), 3); /* no temporaries left */
	assert_false(err_isset(&eb));
	img_free(im);
	remove_dir(dir);
}

static void
test_jpeg_round_trip(void **state)
{
	struct img *im = smooth_img(96, 64), *back = NULL;
	unsigned char *hi = NULL, *lo = NULL, *def = NULL;
	size_t hilen = 0, lolen = 0, deflen = 0;
	struct errbuf eb = {0};
	long total = 0;
	int worst = 0;

	(void)state;
	assert_int_equal(img_encode(im, IMG_FORMAT_JPEG, 95, &hi, &hilen, &eb),
			 IF_OK);
	assert_int_equal(img_sniff(hi, hilen), IMG_FORMAT_JPEG);
	assert_int_equal(img_load_mem(hi, hilen, "q95", 0, &back, &eb), IF_OK);
	assert_int_equal(back->w, 96);
	assert_int_equal(back->h, 64);
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 96 * 3; x++) {
			int d = abs((int)pixel(im, 0, y)[x] -
				    (int)pixel(back, 0, y)[x]);
			total += d;
			worst = d > worst ? d : worst;
		}
	/* Smooth gradients survive quality 95 within a few steps. */
	assert_true(total / (96 * 64 * 3) <= 2);
	assert_true(worst <= 24);
	img_free(back);
	/* The quality is honoured: lower quality, fewer bytes. */
	assert_int_equal(img_encode(im, IMG_FORMAT_JPEG, 20, &lo, &lolen, &eb),
			 IF_OK);
	assert_true(lolen < hilen);
	/* 0 means the default, 90: between the two. */
	assert_int_equal(img_encode(im, IMG_FORMAT_JPEG, 0, &def, &deflen, &eb),
			 IF_OK);
	assert_true(deflen > lolen && deflen <= hilen);
	free(hi);
	free(lo);
	free(def);
	assert_int_equal(img_encode(im, IMG_FORMAT_JPEG, 101, &hi, &hilen, &eb),
			 IF_EINPUT);
	assert_null(hi);
	img_free(im);
}

/*
 * imaging/jpeg_io.c decodes and encodes through libjpeg's row API with
 * the settings of TurboJPEG's tjDecompress2(TJFLAG_ACCURATEDCT) and
 * tjCompress2(TJSAMP_420, TJFLAG_ACCURATEDCT): the same bytes both ways,
 * at sizes that are and are not multiples of the 16-pixel MCU, at several
 * qualities, and on a real photo.
 */
static void
test_jpeg_same_bytes_as_turbojpeg(void **state)
{
	static const int sizes[][2] = {{1, 1}, {17, 9}, {96, 64}, {333, 47}};
	static const int qualities[] = {20, 90, 100};
	tjhandle c = tjInitCompress(), d = tjInitDecompress();
	struct errbuf eb = {0};

	(void)state;
	assert_non_null(c);
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t q = 0; q < sizeof(qualities) / sizeof(qualities[0]);
		     q++) {
			int w = sizes[i][0], h = sizes[i][1];
			struct img *im = smooth_img(w > 1 ? w : 2,
						     h > 1 ? h : 2);
			unsigned char *ours = NULL, *tj = NULL, *px = NULL;
			unsigned long tjlen = 0;
			size_t len = 0;
			struct img *back = NULL;

			im->w = w;
			im->h = h;
			assert_int_equal(img_encode(im, IMG_FORMAT_JPEG,
						    qualities[q], &ours, &len,
						    &eb),
					 IF_OK);
			assert_int_equal(tjCompress2(c, im->px, w,
						     (int)im->stride, h,
						     TJPF_RGB, &tj, &tjlen,
						     TJSAMP_420, qualities[q],
						     TJFLAG_ACCURATEDCT),
					 0);
			assert_int_equal(len, tjlen);
			assert_memory_equal(ours, tj, len);
			/* And back: the same pixels as tjDecompress2. */
			assert_int_equal(img_load_mem(ours, len, "ours", 0,
						      &back, &eb),
					 IF_OK);
			px = malloc((size_t)w * (size_t)h * 3);
			assert_non_null(px);
			assert_int_equal(tjDecompress2(d, tj, tjlen, px, w,
						       w * 3, h, TJPF_RGB,
						       TJFLAG_ACCURATEDCT),
					 0);
			for (int y = 0; y < h; y++)
				assert_memory_equal(pixel(back, 0, y),
						    px + (size_t)y * w * 3,
						    (size_t)w * 3);
			free(px);
			img_free(back);
			tjFree(tj);
			free(ours);
			img_free(im);
		}
	{
		struct buf b = slurp(FIXDIR "s05_voc_family_group.jpg");
		struct img *back = NULL;
		unsigned char *px;

		assert_int_equal(img_load_mem(b.data, b.len, "photo", 0, &back,
					      &eb),
				 IF_OK);
		px = malloc((size_t)back->w * (size_t)back->h * 3);
		assert_non_null(px);
		assert_int_equal(tjDecompress2(d, (unsigned char *)b.data,
					       b.len, px, back->w, back->w * 3,
					       back->h, TJPF_RGB,
					       TJFLAG_ACCURATEDCT),
				 0);
		for (int y = 0; y < back->h; y++)
			assert_memory_equal(pixel(back, 0, y),
					    px + (size_t)y * back->w * 3,
					    (size_t)back->w * 3);
		free(px);
		img_free(back);
		buf_cleanup(&b);
	}
	tjDestroy(c);
	tjDestroy(d);
}

/* ---- PNG flavours ------------------------------------------------------- */

static void
test_png_flavours(void **state)
{
	static const char *const flavours[] = {
		"rgb8", "gray8", "gray16", "rgb16", "gray1", "palette",
		"palette_trns", "rgba8", "graya8",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(flavours) / sizeof(flavours[0]); i++) {
		char png[256], ppm[256];
		struct img *got = NULL, *want = NULL;
		struct errbuf eb = {0};
		snprintf(png, sizeof(png), FIXDIR "%s.png", flavours[i]);
		snprintf(ppm, sizeof(ppm), FIXDIR "exp_%s.ppm", flavours[i]);
		if (img_load(png, 0, &got, &eb) != IF_OK)
			fail_msg("%s", eb.msg);
		assert_int_equal(img_load(ppm, 0, &want, &eb), IF_OK);
		for (int y = 0; y < want->h; y++)
			for (int x = 0; x < want->w; x++)
				if (memcmp(pixel(got, x, y), pixel(want, x, y),
					   3) != 0)
					fail_msg(
						"%s (%d,%d): got %d,%d,%d want "
						"%d,%d,%d",
						flavours[i], x, y,
						pixel(got, x, y)[0],
						pixel(got, x, y)[1],
						pixel(got, x, y)[2],
						pixel(want, x, y)[0],
						pixel(want, x, y)[1],
						pixel(want, x, y)[2]);
		img_free(got);
		img_free(want);
	}
}

/* ---- EXIF orientation --------------------------------------------------- */

/* The colours of the six 16x16 cells, stored order (see gen.py). */
static const uint8_t cell_rgb[6][3] = {
	{255, 0, 0},   {0, 255, 0},   {0, 0, 255},
	{255, 255, 0}, {0, 255, 255}, {255, 0, 255},
};

/*
 * Where the stored cells (0 1 2 / 3 4 5) must appear once orientation o
 * is applied: EXIF 2 mirrors, 3 turns 180 degrees, 4 flips, 5 transposes,
 * 6 turns clockwise, 7 transverses, 8 turns counter-clockwise.
 */
static const int layout[9][3][3] = {
	[1] = {{0, 1, 2}, {3, 4, 5}, {-1}},
	[2] = {{2, 1, 0}, {5, 4, 3}, {-1}},
	[3] = {{5, 4, 3}, {2, 1, 0}, {-1}},
	[4] = {{3, 4, 5}, {0, 1, 2}, {-1}},
	[5] = {{0, 3, -1}, {1, 4, -1}, {2, 5, -1}},
	[6] = {{3, 0, -1}, {4, 1, -1}, {5, 2, -1}},
	[7] = {{5, 2, -1}, {4, 1, -1}, {3, 0, -1}},
	[8] = {{2, 5, -1}, {1, 4, -1}, {0, 3, -1}},
};

/* Checks the whole of every cell, away from its edges (JPEG ringing). */
static void
assert_layout(const struct img *im, int o, const char *what)
{
	int rows = o >= 5 ? 3 : 2, cols = o >= 5 ? 2 : 3;

	assert_int_equal(im->w, cols * 16);
	assert_int_equal(im->h, rows * 16);
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			const uint8_t *want = cell_rgb[layout[o][r][c]];
			for (int y = r * 16 + 3; y < r * 16 + 13; y++)
				for (int x = c * 16 + 3; x < c * 16 + 13; x++)
					for (int k = 0; k < 3; k++)
						if (abs(pixel(im, x, y)[k] -
							want[k]) > 8)
							fail_msg("%s: pixel "
								 "(%d,%d) is "
								 "not cell %d",
								 what, x, y,
								 layout[o][r]
								       [c]);
		}
}

static void
test_exif_orientations(void **state)
{
	(void)state;
	for (int e = 0; e < 3; e++)
		for (int o = 1; o <= 8; o++) {
			char path[256], name[32];
			struct img *im = NULL;
			struct errbuf eb = {0};
			enum img_format fmt = IMG_FORMAT_UNKNOWN;
			int w = 0, h = 0;
			if (e == 2)
				snprintf(name, sizeof(name), "png_%d.png", o);
			else
				snprintf(name, sizeof(name), "%s_%d.jpg",
					 e ? "be" : "le", o);
			snprintf(path, sizeof(path), FIXDIR "orient_%s", name);
			if (img_load(path, 0, &im, &eb) != IF_OK)
				fail_msg("%s", eb.msg);
			assert_layout(im, o, path);
			/* The probe reports the displayed size too. */
			assert_int_equal(img_probe(path, &w, &h, &fmt, &eb),
					 IF_OK);
			assert_int_equal(w, im->w);
			assert_int_equal(h, im->h);
			assert_int_equal(fmt, e == 2 ? IMG_FORMAT_PNG
						     : IMG_FORMAT_JPEG);
			/* PNG is lossless: the cells are exact. */
			if (e == 2)
				assert_memory_equal(pixel(im, 0, 0),
						    cell_rgb[layout[o][0][0]],
						    3);
			img_free(im);
		}
}

/* Offset of the TIFF header ("II"/"MM") in an Exif JPEG. */
static size_t
tiff_offset(const struct buf *b)
{
	const char *p = find_bytes(b->data, b->len, "Exif\0\0", 6);

	assert_non_null(p);
	return (size_t)(p - b->data) + 6;
}

static void
put16(unsigned char *p, bool le, unsigned v)
{
	p[le ? 0 : 1] = (unsigned char)(v & 0xff);
	p[le ? 1 : 0] = (unsigned char)(v >> 8);
}

static void
put32(unsigned char *p, bool le, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[le ? i : 3 - i] = (unsigned char)(v >> (8 * i));
}

/*
 * Damaged EXIF never fails a load and never crashes: the image is used as
 * stored (orientation 1).  Each case starts from orientation 6, which
 * would turn the 48x32 image to 32x48 if the tag were (wrongly) used.
 */
static void
test_exif_damaged(void **state)
{
	struct buf le = slurp(FIXDIR "orient_le_6.jpg");
	struct buf be = slurp(FIXDIR "orient_be_6.jpg");
	size_t tl = tiff_offset(&le), tb = tiff_offset(&be);
	/* le: IFD at 8 with 2 entries; Orientation entry at 8+2+12. */
	size_t le_ent = tl + 8 + 2 + 12;

	(void)state;
	for (int c = 0; c < 9; c++) {
		unsigned char *d = malloc(le.len);
		struct img *im = NULL;
		struct errbuf eb = {0};
		assert_non_null(d);
		memcpy(d, le.data, le.len);
		switch (c) {
		case 0: /* the IFD far past the segment */
			put32(d + tl + 4, true, 0xFFFFFFF0u);
			break;
		case 1: /* the IFD inside the TIFF header */
			put32(d + tl + 4, true, 3);
			break;
		case 2: /* a huge count and no Orientation: runs off the end */
			put16(d + tl + 8, true, 0xFFFF);
			put16(d + le_ent, true, 0x0113);
			break;
		case 3: /* values out of 1..8 */
			put16(d + le_ent + 8, true, 9);
			break;
		case 4:
			put16(d + le_ent + 8, true, 0);
			break;
		case 5: /* LONG instead of SHORT */
			put16(d + le_ent + 2, true, 4);
			break;
		case 6: /* two values */
			put32(d + le_ent + 4, true, 2);
			break;
		case 7: /* no byte order */
			memcpy(d + tl, "XX", 2);
			break;
		case 8: /* not 42 */
			put16(d + tl + 2, true, 43);
			break;
		}
		if (img_load_mem(d, le.len, "damaged.jpg", 0, &im, &eb) !=
		    IF_OK)
			fail_msg("case %d: %s", c, eb.msg);
		if (im->w != 48 || im->h != 32)
			fail_msg("case %d: oriented to %dx%d", c, im->w, im->h);
		img_free(im);
		free(d);
	}
	/* Big-endian read as little-endian would be wrong: order matters. */
	{
		unsigned char *d = malloc(be.len);
		struct img *im = NULL;
		struct errbuf eb = {0};
		assert_non_null(d);
		memcpy(d, be.data, be.len);
		put32(d + tb + 4, false, 0x7FFFFFFF);
		assert_int_equal(img_load_mem(d, be.len, "be.jpg", 0, &im, &eb),
				 IF_OK);
		assert_int_equal(im->w, 48);
		img_free(im);
		free(d);
	}
	buf_cleanup(&le);
	buf_cleanup(&be);
}

/* Seeded random damage to the EXIF segment and its length: never a crash. */
static void
test_exif_fuzz(void **state)
{
	struct buf src = slurp(FIXDIR "orient_le_6.jpg");
	size_t t = tiff_offset(&src), app1 = t - 6 - 4;
	size_t seglen = ((size_t)(unsigned char)src.data[app1 + 2] << 8 |
			 (unsigned char)src.data[app1 + 3]);
	unsigned char *d = malloc(src.len);
	uint32_t seed = 99;
	int ok = 0;

	(void)state;
	assert_non_null(d);
	for (int i = 0; i < 1500; i++) {
		struct img *im = NULL;
		struct errbuf eb = {0};
		int flips = 1 + (int)(rnd(&seed) % 6);
		bool hit_len = false;
		int rc;
		memcpy(d, src.data, src.len);
		for (int k = 0; k < flips; k++) {
			/* Mostly the TIFF; sometimes the segment length. */
			size_t at;
			if (rnd(&seed) % 8 == 0) {
				at = app1 + 2 + rnd(&seed) % 2;
				hit_len = true;
			} else {
				at = app1 + 4 + rnd(&seed) % (seglen - 2);
			}
			d[at] = (unsigned char)rnd(&seed);
		}
		rc = img_load_mem(d, src.len, "fuzz.jpg", 0, &im, &eb);
		if (!hit_len && rc != IF_OK)
			fail_msg("round %d: EXIF damage failed the load: %s", i,
				 eb.msg);
		assert_true(rc == IF_OK || rc == IF_EINPUT);
		if (rc == IF_OK) {
			assert_true((im->w == 48 && im->h == 32) ||
				    (im->w == 32 && im->h == 48));
			ok++;
		} else {
			assert_non_null(strstr(eb.msg, "fuzz.jpg"));
		}
		img_free(im);
	}
	/* The damage did reach the segment length sometimes. */
	assert_true(ok > 500 && ok < 1500);
	free(d);
	buf_cleanup(&src);
}

/*
 * Seeded random damage anywhere in JPEG, PNG and PPM files: every result is
 * either an image of a sane size or IF_EINPUT naming the file; never a
 * crash, a leak or a read out of bounds (the ASan run checks those).
 */
static void
test_decoders_survive_damage(void **state)
{
	static const char *const sources[] = {
		FIXDIR "orient_be_8.jpg",  FIXDIR "meta.jpg",
		FIXDIR "palette_trns.png", FIXDIR "rgb16.png",
		FIXDIR "meta.png",	   FIXDIR "exp_rgb8.ppm",
	};
	uint32_t seed = 2024;

	(void)state;
	for (size_t f = 0; f < sizeof(sources) / sizeof(sources[0]); f++) {
		struct buf src = slurp(sources[f]);
		unsigned char *d = malloc(src.len);
		assert_non_null(d);
		for (int i = 0; i < 300; i++) {
			struct img *im = NULL;
			struct errbuf eb = {0};
			size_t len = src.len;
			int rc;
			memcpy(d, src.data, src.len);
			/* A few bytes changed, sometimes also cut short. */
			for (int k = 1 + (int)(rnd(&seed) % 4); k > 0; k--)
				d[rnd(&seed) % len] = (unsigned char)rnd(&seed);
			if (rnd(&seed) % 4 == 0)
				len = rnd(&seed) % len;
			rc = img_load_mem(d, len, "damaged", 0, &im, &eb);
			if (rc == IF_OK) {
				assert_true(im->w > 0 && im->h > 0);
				assert_true((uint64_t)im->w * (uint64_t)im->h <=
					    IMG_DEFAULT_MAX_PIXELS);
			} else {
				assert_int_equal(rc, IF_EINPUT);
				assert_null(im);
				assert_non_null(strstr(eb.msg, "damaged"));
			}
			img_free(im);
		}
		free(d);
		buf_cleanup(&src);
	}
}

/* ---- metadata ----------------------------------------------------------- */

static void
assert_clean_jpeg(const unsigned char *p, size_t len, const char *what)
{
	size_t pos = 2;

	assert_true(len > 4 && p[0] == 0xFF && p[1] == 0xD8);
	/* Every marker segment before the scan: only what decoding needs. */
	for (;;) {
		unsigned m, seglen;
		assert_true(pos + 4 <= len);
		assert_int_equal(p[pos], 0xFF);
		m = p[pos + 1];
		if (m == 0xDA)
			break;
		seglen = (unsigned)p[pos + 2] << 8 | p[pos + 3];
		if (m == 0xE0) /* JFIF is allowed, nothing else in APPn */
			assert_memory_equal(p + pos + 4, "JFIF\0", 5);
		else if (!(m == 0xDB || m == 0xC4 || m == 0xDD ||
			   (m >= 0xC0 && m <= 0xC2)))
			fail_msg("%s: marker 0x%02X in the output", what, m);
		pos += 2 + seglen;
	}
	assert_null(find_bytes(p, len, "Exif", 4));
	assert_null(find_bytes(p, len, "http://ns.adobe.com", 19));
	assert_null(find_bytes(p, len, "ICC_PROFILE", 11));
	assert_null(find_bytes(p, len, "secret", 6));
	assert_null(find_bytes(p, len, "IntoFocusTestCam", 16));
}

static void
assert_clean_png(const unsigned char *p, size_t len, const char *what)
{
	size_t pos = 8;

	assert_memory_equal(p, "\x89PNG\r\n\x1a\n", 8);
	while (pos + 8 <= len) {
		uint32_t n = (uint32_t)p[pos] << 24 |
			     (uint32_t)p[pos + 1] << 16 |
			     (uint32_t)p[pos + 2] << 8 | p[pos + 3];
		const unsigned char *type = p + pos + 4;
		if (memcmp(type, "IHDR", 4) != 0 &&
		    memcmp(type, "IDAT", 4) != 0 &&
		    memcmp(type, "IEND", 4) != 0)
			fail_msg("%s: chunk %.4s in the output", what,
				 (const char *)type);
		pos += 12 + n;
	}
	assert_int_equal(pos, len);
}

static void
test_metadata_stripped(void **state)
{
	static const char *const inputs[] = {FIXDIR "meta.jpg",
					     FIXDIR "meta.png"};
	char *dir = scratch_dir();

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct img *im = NULL;
		struct errbuf eb = {0};
		unsigned char *data = NULL;
		size_t len = 0;
		char *out;
		struct buf file;

		assert_int_equal(img_load(inputs[i], 0, &im, &eb), IF_OK);
		assert_layout(im, 1, inputs[i]);
		assert_int_equal(
			img_encode(im, IMG_FORMAT_JPEG, 0, &data, &len, &eb),
			IF_OK);
		assert_clean_jpeg(data, len, inputs[i]);
		free(data);
		assert_int_equal(
			img_encode(im, IMG_FORMAT_PNG, 0, &data, &len, &eb),
			IF_OK);
		assert_clean_png(data, len, inputs[i]);
		free(data);
		/* And the files img_save writes. */
		out = path_join(dir, "o.jpg");
		assert_int_equal(img_save(im, out, 0, &eb), IF_OK);
		file = slurp(out);
		assert_clean_jpeg((unsigned char *)file.data, file.len, out);
		buf_cleanup(&file);
		free(out);
		out = path_join(dir, "o.png");
		assert_int_equal(img_save(im, out, 0, &eb), IF_OK);
		file = slurp(out);
		assert_clean_png((unsigned char *)file.data, file.len, out);
		buf_cleanup(&file);
		free(out);
		img_free(im);
	}
	remove_dir(dir);
}

/* ---- the pixel limit ---------------------------------------------------- */

static uint32_t
crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;

	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

/*
 * An image whose header claims 20000x20000 (400 MP, 1.2 GB of RGB) but
 * that holds no pixel data at all: if the limit were checked after
 * decoding began, the error would be about truncation instead.
 */
static void
test_oversized_refused_from_header(void **state)
{
	struct buf jpg = slurp(FIXDIR "orient_le_1.jpg");
	unsigned char png[8 + 25 + 12];
	char *sof, *sos;
	struct img *im = NULL;
	struct errbuf eb = {0};
	int w = 0, h = 0;
	size_t cut;

	(void)state;
	/* JPEG: patch the frame header, cut right after the scan header. */
	sof = find_bytes(jpg.data, jpg.len, "\xff\xc0", 2);
	sos = find_bytes(jpg.data, jpg.len, "\xff\xda", 2);
	assert_non_null(sof);
	assert_non_null(sos);
	memcpy(sof + 5, "\x4e\x20\x4e\x20", 4); /* 20000, 20000 */
	cut = (size_t)(sos - jpg.data) + 2 + 12;
	assert_int_equal(img_load_mem(jpg.data, cut, "huge.jpg", 0, &im, &eb),
			 IF_EINPUT);
	assert_null(im);
	assert_non_null(strstr(eb.msg, "huge.jpg"));
	assert_non_null(strstr(eb.msg, "20000x20000"));
	assert_non_null(strstr(eb.msg, "limit of 100.0 megapixels"));

	/* PNG: a valid IHDR and nothing after it. */
	memcpy(png, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
	memcpy(png + 16, "\0\0\x4e\x20\0\0\x4e\x20\x08\x02\0\0\0", 13);
	{
		uint32_t c = crc32_png(png + 12, 17);
		png[29] = (unsigned char)(c >> 24);
		png[30] = (unsigned char)(c >> 16);
		png[31] = (unsigned char)(c >> 8);
		png[32] = (unsigned char)c;
	}
	memcpy(png + 33, "\0\0\0\0IDAT\x35\xaf\x06\x1e", 12);
	err_init(&eb);
	assert_int_equal(
		img_load_mem(png, sizeof(png), "huge.png", 0, &im, &eb),
		IF_EINPUT);
	assert_non_null(strstr(eb.msg, "huge.png"));
	assert_non_null(strstr(eb.msg, "limit of 100.0 megapixels"));

	/* PPM: the header alone. */
	err_init(&eb);
	assert_int_equal(img_load_mem("P6\n20000 20000\n255\n", 19, "huge.ppm",
				      0, &im, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "huge.ppm"));
	assert_non_null(strstr(eb.msg, "limit"));

	/* A lower limit applies the same way; at the limit is allowed. */
	err_init(&eb);
	assert_int_equal(
		img_load(FIXDIR "orient_le_1.jpg", 48 * 32 - 1, &im, &eb),
		IF_EINPUT);
	assert_non_null(strstr(eb.msg, "orient_le_1.jpg"));
	err_init(&eb);
	assert_int_equal(img_load(FIXDIR "rgb8.png", 13 * 7 - 1, &im, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "limit"));
	err_init(&eb);
	assert_int_equal(img_load(FIXDIR "orient_le_1.jpg", 48 * 32, &im, &eb),
			 IF_OK);
	img_free(im);

	/* The probe reads the header only and so reports the size. */
	{
		char *dir = scratch_dir(), *p = path_join(dir, "huge.jpg");
		write_bytes(p, jpg.data, cut);
		assert_int_equal(img_probe(p, &w, &h, NULL, &eb), IF_OK);
		assert_int_equal(w, 20000);
		assert_int_equal(h, 20000);
		free(p);
		remove_dir(dir);
	}
	buf_cleanup(&jpg);
}

/* ---- damaged and non-image input ---------------------------------------- */

struct bad_case {
	const char *name;
	const char *from; /* fixture, NULL for literal bytes */
	const char *bytes;
	size_t keep;   /* bytes of the fixture to keep; 0 = all */
	size_t drop;   /* bytes to drop from its end */
	long patch_at; /* -1: none; else offset of the marker to patch */
	const char *marker;
	size_t patch_off;
	unsigned char patch_byte;
	const char *why; /* words the message must contain */
};

static void
test_bad_inputs(void **state)
{
	static const struct bad_case cases[] = {
		{"empty.jpg", NULL, "", 0, 0, -1, NULL, 0, 0, "empty"},
		{"text.png", NULL, "hello, world\n", 0, 0, -1, NULL, 0, 0,
		 "not a JPEG, PNG or PPM"},
		{"half.jpg", FIXDIR "s05_voc_family_group.jpg", NULL, 40000, 0,
		 -1, NULL, 0, 0, "truncated"},
		{"noeoi.jpg", FIXDIR "s05_voc_family_group.jpg", NULL, 0, 2, -1,
		 NULL, 0, 0, "truncated"},
		{"soi.jpg", NULL, "\xff\xd8\xff", 0, 0, -1, NULL, 0, 0, "JPEG"},
		{"precision.jpg", FIXDIR "s05_voc_family_group.jpg", NULL, 0, 0,
		 0, "\xff\xc0", 4, 12, "precision"},
		{"huffman.jpg", FIXDIR "s05_voc_family_group.jpg", NULL, 0, 0,
		 0, "\xff\xc4", 5, 0xff, "JPEG"},
		{"half.png", FIXDIR "rgb8.png", NULL, 0, 40, -1, NULL, 0, 0,
		 "truncated"},
		{"noiend.png", FIXDIR "rgb8.png", NULL, 0, 12, -1, NULL, 0, 0,
		 "truncated"},
		{"header.png", FIXDIR "rgb8.png", NULL, 20, 0, -1, NULL, 0, 0,
		 "PNG"},
		{"crc.png", FIXDIR "rgb8.png", NULL, 0, 0, 0, "IDAT", 20, 0x5a,
		 "PNG"},
		{"short.ppm", NULL, "P6\n4 4\n255\nabc", 0, 0, -1, NULL, 0, 0,
		 "truncated"},
		{"wide.ppm", NULL, "P6\n1 1\n65535\nabcdef", 0, 0, -1, NULL, 0,
		 0, "PPM"},
		{"ascii.ppm", NULL, "P3\n1 1\n255\n1 2 3\n", 0, 0, -1, NULL, 0,
		 0, "not a JPEG, PNG or PPM"},
	};
	char *dir = scratch_dir();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_case *c = &cases[i];
		char *p = path_join(dir, c->name);
		struct img *im = NULL;
		struct errbuf eb = {0};
		struct buf b;
		size_t len;

		if (c->from != NULL) {
			b = slurp(c->from);
			len = c->keep != 0 ? c->keep : b.len - c->drop;
			if (c->patch_at >= 0) {
				char *m = find_bytes(b.data, b.len, c->marker,
						     strlen(c->marker));
				assert_non_null(m);
				m[c->patch_off] = (char)c->patch_byte;
			}
			write_bytes(p, b.data, len);
			buf_cleanup(&b);
		} else {
			write_bytes(p, c->bytes, strlen(c->bytes));
		}
		if (img_load(p, 0, &im, &eb) != IF_EINPUT)
			fail_msg("%s: loaded or wrong code: %s", c->name,
				 eb.msg);
		assert_null(im);
		if (strstr(eb.msg, p) == NULL || strstr(eb.msg, c->why) == NULL)
			fail_msg("%s: message \"%s\" lacks the name or \"%s\"",
				 c->name, eb.msg, c->why);
		free(p);
	}
	{
		struct img *im = NULL;
		struct errbuf eb = {0};
		assert_int_equal(img_load("/nonexistent/x.jpg", 0, &im, &eb),
				 IF_EINPUT);
		assert_non_null(strstr(eb.msg, "/nonexistent/x.jpg"));
	}
	remove_dir(dir);
}

static void
test_save_failures_leave_nothing(void **state)
{
	char *dir = scratch_dir(), *p;
	struct img *im = random_img(8, 8, 3);
	struct errbuf eb = {0};

	(void)state;
	p = path_join(dir, "x.gif");
	assert_int_equal(img_save(im, p, 0, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "x.gif"));
	free(p);
	err_init(&eb);
	p = path_join(dir, "missing/x.png");
	assert_int_equal(img_save(im, p, 0, &eb), IF_ERUNTIME);
	free(p);
	err_init(&eb);
	p = path_join(dir, "q.jpg");
	assert_int_equal(img_save(im, p, 500, &eb), IF_EINPUT);
	free(p);
	assert_int_equal(count_entries(dir), 0);
	img_free(im);
	remove_dir(dir);
}

/* ---- redaction ---------------------------------------------------------- */

static bool
in_box(int x, int y, const struct box *b)
{
	return x >= b->x && x < b->x + b->w && y >= b->y && y < b->y + b->h;
}

static void
test_redact_fill_and_median(void **state)
{
	struct img *orig = random_img(30, 20, 5), *im = NULL;
	struct img *heavy = random_img(30, 20, 6), *small = random_img(3, 3, 7);
	const struct box boxes[] = {
		{-5, 3, 10, 4},	  /* clipped to 0,3,5,4 */
		{25, 15, 100, 1}, /* clipped to 25,15,5,1 */
		{40, 40, 5, 5},	  /* outside: nothing */
		{3, 3, 0, 9},	  /* empty: nothing */
	};
	const struct box clipped[] = {{0, 3, 5, 4}, {25, 15, 5, 1}};
	struct errbuf eb = {0};

	(void)state;
	for (int style = REDACT_FILL; style <= REDACT_MEDIAN; style++) {
		assert_int_equal(img_clone(orig, &im, &eb), IF_OK);
		assert_int_equal(img_redact(im, boxes, 4,
					    (enum redact_style)style, 0x123456,
					    heavy, &eb),
				 IF_OK);
		for (int y = 0; y < 20; y++)
			for (int x = 0; x < 30; x++) {
				const uint8_t *p = pixel(im, x, y);
				bool inside = in_box(x, y, &clipped[0]) ||
					      in_box(x, y, &clipped[1]);
				if (!inside)
					assert_memory_equal(
						p, pixel(orig, x, y), 3);
				else if (style == REDACT_FILL)
					assert_memory_equal(p, "\x12\x34\x56",
							    3);
				else
					assert_memory_equal(
						p, pixel(heavy, x, y), 3);
			}
		img_free(im);
	}
	/* Median redaction needs a heavy image of the same size. */
	assert_int_equal(img_clone(orig, &im, &eb), IF_OK);
	assert_int_equal(img_redact(im, boxes, 1, REDACT_MEDIAN, 0, NULL, &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(img_redact(im, boxes, 1, REDACT_MEDIAN, 0, small, &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(
		img_redact(im, boxes, 1, (enum redact_style)7, 0, NULL, &eb),
		IF_EINPUT);
	/* No boxes: nothing changes. */
	err_init(&eb);
	assert_int_equal(img_redact(im, NULL, 0, REDACT_FILL, 0, NULL, &eb),
			 IF_OK);
	assert_same_pixels(im, orig);
	img_free(im);
	img_free(orig);
	img_free(heavy);
	img_free(small);
}

/*
 * Pixelate: 16-px blocks aligned to the image grid (so that boxes of
 * different workers agree on the blocks), each block averaged over its
 * part inside the box, rounded to nearest.  The oracle below computes
 * that from the definition, pixel by pixel.
 */
static void
test_redact_pixelate(void **state)
{
	struct img *orig = random_img(50, 40, 11), *im = NULL;
	const struct box boxes[] = {{10, 5, 27, 30}, {-3, 38, 8, 9}};
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(img_clone(orig, &im, &eb), IF_OK);
	assert_int_equal(
		img_redact(im, boxes, 2, REDACT_PIXELATE, 0, NULL, &eb), IF_OK);
	for (int y = 0; y < 40; y++)
		for (int x = 0; x < 50; x++) {
			const struct box *b = NULL;
			struct box cb;
			uint64_t sum[3] = {0, 0, 0}, n = 0;
			for (int i = 0; i < 2; i++) {
				cb = boxes[i];
				if (box_clip(&cb, 50, 40) &&
				    in_box(x, y, &cb)) {
					b = &boxes[i];
					break;
				}
			}
			if (b == NULL) {
				assert_memory_equal(pixel(im, x, y),
						    pixel(orig, x, y), 3);
				continue;
			}
			for (int yy = cb.y; yy < cb.y + cb.h; yy++)
				for (int xx = cb.x; xx < cb.x + cb.w; xx++) {
					if (xx / 16 != x / 16 ||
					    yy / 16 != y / 16)
						continue;
					for (int k = 0; k < 3; k++)
						sum[k] +=
							pixel(orig, xx, yy)[k];
					n++;
				}
			for (int k = 0; k < 3; k++)
				if (pixel(im, x, y)[k] != (sum[k] + n / 2) / n)
					fail_msg("(%d,%d)[%d]: %d, want %d", x,
						 y, k, pixel(im, x, y)[k],
						 (int)((sum[k] + n / 2) / n));
		}
	/* A whole block inside the box becomes one colour. */
	assert_memory_equal(pixel(im, 16, 16), pixel(im, 31, 31), 3);
	assert_memory_equal(pixel(im, 16, 16), pixel(im, 16, 31), 3);
	img_free(im);
	img_free(orig);
}

/* ---- the stage image ---------------------------------------------------- */

static void
test_render_stage(void **state)
{
	struct img *orig = random_img(40, 30, 21), *out = NULL;
	struct img *want = NULL, *heavy = NULL;
	const struct box boxes[] = {{5, 5, 10, 10}, {30, 20, 20, 20}};
	struct errbuf eb = {0};

	(void)state;
	/* Window 1 and 0: the original itself, as a new image. */
	for (int w = 0; w <= 1; w++) {
		assert_int_equal(img_render_stage(orig, w, NULL, 0, REDACT_FILL,
						  0, NULL, 1, &out, &eb),
				 IF_OK);
		assert_ptr_not_equal(out, orig);
		assert_same_pixels(out, orig);
		img_free(out);
	}
	/* The final image: the original with the boxes filled. */
	assert_int_equal(img_render_stage(orig, 1, boxes, 2, REDACT_FILL,
					  0xFFFFFF, NULL, 1, &out, &eb),
			 IF_OK);
	assert_memory_equal(pixel(out, 5, 5), "\xff\xff\xff", 3);
	assert_memory_equal(pixel(out, 39, 29), "\xff\xff\xff", 3);
	assert_memory_equal(pixel(out, 4, 4), pixel(orig, 4, 4), 3);
	img_free(out);
	/* A stage: the median at its window, then the boxes. */
	assert_int_equal(img_new(&want, 40, 30, 0, &eb), IF_OK);
	assert_int_equal(img_median(orig, want, 5, 1, &eb), IF_OK);
	assert_int_equal(
		img_redact(want, boxes, 2, REDACT_FILL, 0x00FF00, NULL, &eb),
		IF_OK);
	assert_int_equal(img_render_stage(orig, 5, boxes, 2, REDACT_FILL,
					  0x00FF00, NULL, 2, &out, &eb),
			 IF_OK);
	assert_same_pixels(out, want);
	img_free(out);
	/* Median style without a heavy image takes the window-41 median. */
	assert_int_equal(img_new(&heavy, 40, 30, 0, &eb), IF_OK);
	assert_int_equal(img_median(orig, heavy, 41, 1, &eb), IF_OK);
	assert_int_equal(img_render_stage(orig, 1, boxes, 2, REDACT_MEDIAN, 0,
					  NULL, 1, &out, &eb),
			 IF_OK);
	assert_memory_equal(pixel(out, 7, 7), pixel(heavy, 7, 7), 3);
	assert_memory_equal(pixel(out, 35, 25), pixel(heavy, 35, 25), 3);
	assert_memory_equal(pixel(out, 20, 3), pixel(orig, 20, 3), 3);
	img_free(out);
	/* An even window is refused. */
	assert_int_equal(img_render_stage(orig, 4, NULL, 0, REDACT_FILL, 0,
					  NULL, 1, &out, &eb),
			 IF_EINPUT);
	assert_null(out);
	img_free(want);
	img_free(heavy);
	img_free(orig);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_and_names),
		cmocka_unit_test(test_lossless_round_trips),
		cmocka_unit_test(test_jpeg_round_trip),
		cmocka_unit_test(test_jpeg_same_bytes_as_turbojpeg),
		cmocka_unit_test(test_png_flavours),
		cmocka_unit_test(test_exif_orientations),
		cmocka_unit_test(test_exif_damaged),
		cmocka_unit_test(test_exif_fuzz),
		cmocka_unit_test(test_decoders_survive_damage),
		cmocka_unit_test(test_metadata_stripped),
		cmocka_unit_test(test_oversized_refused_from_header),
		cmocka_unit_test(test_bad_inputs),
		cmocka_unit_test(test_save_failures_leave_nothing),
		cmocka_unit_test(test_redact_fill_and_median),
		cmocka_unit_test(test_redact_pixelate),
		cmocka_unit_test(test_render_stage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
