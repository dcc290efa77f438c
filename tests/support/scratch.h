/*
 * tests/support/scratch.h - a suite's scratch directory with the source
 * tree's path and a file the test writes there, as a cmocka fixture's
 * state (test_config, test_stage0).
 */
#ifndef INTOFOCUS_SCRATCH_H
#define INTOFOCUS_SCRATCH_H

struct scratch {
	char dir[64];	/* /tmp/intofocus-<tag>.XXXXXX */
	char top[1024]; /* the source tree: the working directory */
	char path[256]; /* the last file scratch_write wrote */
};

/*
 * Makes the directory (the working directory must be the source tree);
 * NULL, with a line on stderr, when it cannot (for a cmocka setup).
 */
struct scratch *scratch_new(const char *tag);
/*
 * Removes the directory with all it holds, in process, and frees s: 0, or
 * -1 with a line on stderr (for a cmocka teardown).
 */
int scratch_free(struct scratch *s);
/* Writes text to the file name in the directory; its path (s->path). */
const char *scratch_write(struct scratch *s, const char *name,
			  const char *text);

#endif
