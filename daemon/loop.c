/*
 * daemon/loop.c - the signals and the sleep of the daemon's loop; the loop
 * itself (engine_run) is in daemon/engine.c (spec sections 2, 9, 10).
 *
 * Signals only set flags.  They are blocked everywhere except inside
 * ppoll(), which unblocks them atomically while it sleeps, so that a signal
 * arriving between the check of a flag and the sleep still wakes the loop.
 * SIGTERM and SIGINT end the loop after the step under way; SIGHUP rereads
 * the experiment file (engine_reload in engine.c).
 */
#define _GNU_SOURCE
#include "daemon/daemon.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_stop;
static volatile sig_atomic_t got_reload;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_reload = 1;
	else
		got_stop = 1;
}

int
loop_signals_init(sigset_t *unblocked, struct errbuf *eb)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 ||
	    sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return err_set(eb, IF_ERUNTIME, "sigaction: %s",
			       strerror(errno));
	/* A closed pipe to a client must be an error return, not a death. */
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &block, unblocked) != 0)
		return err_set(eb, IF_ERUNTIME, "pthread_sigmask failed");
	sigdelset(unblocked, SIGTERM);
	sigdelset(unblocked, SIGINT);
	sigdelset(unblocked, SIGHUP);
	return IF_OK;
}

bool
loop_stop_requested(void)
{
	return got_stop != 0;
}

void
loop_request_stop(void)
{
	got_stop = 1;
}

bool
loop_take_reload(void)
{
	if (!got_reload)
		return false;
	got_reload = 0;
	return true;
}

/* Sleeps up to ms milliseconds, waking early for a signal. */
void
loop_sleep(const sigset_t *unblocked, int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	(void)ppoll(NULL, 0, &ts, unblocked);
}
