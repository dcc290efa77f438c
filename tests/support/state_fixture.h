/*
 * tests/support/state_fixture.h - a run's state opened in a new temporary
 * directory, for the store's suites (test_store_counts, test_state_scale,
 * test_store_prolific): each one's cmocka setup and teardown.
 */
#ifndef INTOFOCUS_STATE_FIXTURE_H
#define INTOFOCUS_STATE_FIXTURE_H

#include "daemon/daemon.h"

struct state_fixture {
	char dir[64];	 /* /tmp/intofocus-<tag>.XXXXXX */
	char *sub;	 /* the state directory, under dir */
	struct state *st;
};

/*
 * Makes a new directory /tmp/intofocus-<tag>.XXXXXX and opens the state of
 * experiment "exp1" at sub under it; NULL (and a line on stderr) when it
 * cannot.
 */
struct state_fixture *state_fixture_new(const char *tag, const char *sub);
/* Closes the state and removes the directory with all it holds. */
void state_fixture_free(struct state_fixture *f);

#endif
