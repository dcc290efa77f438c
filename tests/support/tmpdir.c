/*
 * tests/support/tmpdir.c - see tmpdir.h.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/tmpdir.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
tmpdir_new(const char *tag)
{
	char tmpl[256];
	char *dir;

	snprintf(tmpl, sizeof(tmpl), "/tmp/intofocus-%s.XXXXXX", tag);
	if (mkdtemp(tmpl) == NULL)
		fail_msg("mkdtemp %s: %s", tmpl, strerror(errno));
	dir = strdup(tmpl);
	assert_non_null(dir);
	return dir;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
	     struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

int
tmpdir_remove(const char *dir)
{
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		perror(dir);
		return -1;
	}
	return 0;
}

void
tmpdir_free(char *dir)
{
	if (dir == NULL)
		return;
	if (tmpdir_remove(dir) != 0) {
		free(dir);
		fail_msg("could not remove a scratch directory");
	}
	free(dir);
}

size_t
tmpdir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (d == NULL)
		fail_msg("opendir %s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}
