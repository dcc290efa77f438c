/*
 * tests/support/tmpdir.h - a suite's scratch directory under /tmp, made
 * and removed in process (no shell).
 */
#ifndef INTOFOCUS_TMPDIR_H
#define INTOFOCUS_TMPDIR_H

#include <stddef.h>

/*
 * A new directory /tmp/intofocus-<tag>.XXXXXX, its path malloc'ed; the
 * test fails when it cannot be made.
 */
char *tmpdir_new(const char *tag);
/* Removes dir with all it holds and frees the path; the test fails when
 * something cannot be removed. */
void tmpdir_free(char *dir);
/*
 * Removes dir with all it holds, not following links: 0, or -1 with a
 * line on stderr (for a fixture's teardown).
 */
int tmpdir_remove(const char *dir);
/*
 * How many entries dir holds ("." and ".." aside), as `ls -A | wc -l`
 * would say; the test fails when it cannot be read.
 */
size_t tmpdir_entries(const char *dir);

#endif
