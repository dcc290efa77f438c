/*
 * tests/fakes/fake_prolific_server.c - the fake Prolific of
 * tests/support/fake_prolific.c in a process of its own, for the e2e
 * suites that restart the daemon (kill -9) while the service remembers.
 *
 *   fake_prolific_server TOKEN STUDY_ID
 *
 * Prints "url: http://127.0.0.1:PORT" on stdout once it listens, then
 * serves until SIGTERM or SIGINT.  Submissions, faults and counters go
 * through its /_fake/ control surface (see control() in fake_prolific.c).
 * Built with the tests only; never installed.
 */
#include "tests/support/fake_prolific.h"

#include <signal.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	struct fake_prolific *f;
	sigset_t set;
	int sig;

	if (argc != 3) {
		fprintf(stderr, "usage: fake_prolific_server TOKEN STUDY_ID\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* Before the server's threads exist, so that they inherit it. */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((f = fake_prolific_start(argv[1], argv[2])) == NULL) {
		fprintf(stderr, "fake_prolific_server: cannot start\n");
		return 1;
	}
	printf("url: %s\n", fake_prolific_url(f));
	fflush(stdout);
	sigwait(&set, &sig);
	fake_prolific_stop(f);
	return 0;
}
