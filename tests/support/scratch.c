/*
 * tests/support/scratch.c - see scratch.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/scratch.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct scratch *
scratch_new(const char *tag)
{
	struct scratch *s = calloc(1, sizeof(*s));

	if (s == NULL) {
		perror("calloc");
		return NULL;
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/intofocus-%s.XXXXXX", tag);
	if (mkdtemp(s->dir) == NULL) {
		perror(s->dir);
		free(s);
		return NULL;
	}
	if (getcwd(s->top, sizeof(s->top)) == NULL) {
		perror("getcwd");
		(void)tmpdir_remove(s->dir);
		free(s);
		return NULL;
	}
	return s;
}

int
scratch_free(struct scratch *s)
{
	int rc;

	if (s == NULL)
		return 0;
	rc = tmpdir_remove(s->dir);
	free(s);
	return rc;
}

const char *
scratch_write(struct scratch *s, const char *name, const char *text)
{
	FILE *fp;

	snprintf(s->path, sizeof(s->path), "%s/%s", s->dir, name);
	fp = fopen(s->path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	return s->path;
}
