/*
 * tests/fuzz/fuzz_config.c - the experiment file (config/, spec section 2):
 * the libyaml boundary (ydoc_parse) in memory, then the whole of exp_load()
 * - schema walk, cross-field rules, image lookups - on the same bytes
 * written to a private temporary directory, because exp_load() reads a
 * path (it is the only public entry, and the file's directory anchors the
 * relative image paths).  The directory holds one small JPEG, a.jpg
 * (written by img_save), so that seeds naming it get past the image checks
 * into the later rules.
 */
#include "tests/fuzz/fuzz.h"

#include "config/config.h"
#include "config/config_private.h"
#include "imaging/imaging.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	int rc = 0;

	if (f == NULL)
		return -1;
	if (len > 0 && fwrite(data, 1, len, f) != len)
		rc = -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static int
write_jpeg(const char *path, struct errbuf *eb)
{
	struct img *im = NULL;
	int rc;

	rc = img_new(&im, 64, 48, 0, eb);
	if (rc != IF_OK)
		return rc;
	for (size_t i = 0; i < im->stride * (size_t)im->h; i++)
		im->px[i] = (uint8_t)(i * 7);
	rc = img_save(im, path, 0, eb);
	img_free(im);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR");
	char dir[4096], yml[4200], jpg[4200];
	struct exp_errors errs = {0};
	struct experiment *exp = NULL;
	struct cfg_diag d = {"fuzz.yaml", &errs, 0, false};
	struct ydoc y;
	struct errbuf eb;

	memset(&y, 0, sizeof(y));
	if (ydoc_parse((const char *)data, size, &y, &d) == IF_OK)
		(void)ydoc_root(&y);
	ydoc_cleanup(&y);
	exp_errors_cleanup(&errs);

	snprintf(dir, sizeof(dir), "%s/intofocus-fuzz.XXXXXX",
		 tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(yml, sizeof(yml), "%s/exp.yaml", dir);
	snprintf(jpg, sizeof(jpg), "%s/a.jpg", dir);
	err_init(&eb);
	if (write_file(yml, data, size) != 0 || write_jpeg(jpg, &eb) != IF_OK)
		abort();
	memset(&errs, 0, sizeof(errs));
	if (exp_load(yml, &exp, &errs, &eb) == IF_OK) {
		if (exp == NULL)
			abort();
	} else if (exp != NULL || !err_isset(&eb)) {
		abort(); /* a refusal always says why, and returns nothing */
	}
	exp_free(exp);
	exp_errors_cleanup(&errs);
	unlink(yml);
	unlink(jpg);
	rmdir(dir);
	return 0;
}
