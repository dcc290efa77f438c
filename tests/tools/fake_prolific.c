/*
 * tests/tools/fake_prolific.c - the fake Prolific API of
 * tests/support/fake_prolific.h in a process of its own, for the e2e
 * suites whose daemon (a process too) talks to it.
 *
 *   fake_prolific TOKEN STUDY_ID
 *
 * prints "fake prolific: http://127.0.0.1:PORT" once it listens, then
 * serves until SIGTERM or SIGINT.  Submissions, faults and the counters
 * are reached over HTTP under /_fake/ with the same token (see control()
 * in tests/support/fake_prolific.c).  Loopback only; never installed.
 */
#define _DEFAULT_SOURCE
#include "tests/support/fake_prolific.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	struct fake_prolific *f;
	sigset_t set;
	int sig = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: fake_prolific TOKEN STUDY_ID\n");
		return 2;
	}
	/* Blocked before the server's thread starts, so it inherits it. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return 1;
	f = fake_prolific_start(argv[1], argv[2]);
	if (f == NULL) {
		fprintf(stderr, "fake_prolific: cannot listen on loopback\n");
		return 1;
	}
	printf("fake prolific: %s\n", fake_prolific_url(f));
	fflush(stdout);
	sigwait(&set, &sig);
	fake_prolific_stop(f);
	return 0;
}
