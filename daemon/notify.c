/*
 * daemon/notify.c - telling systemd the truth (spec section 10).
 *
 * READY=1 once the state is open and recovered, STATUS= with progress after
 * each pass of the loop, WATCHDOG=1 from the loop itself (never from a
 * thread, so that a stuck loop is caught), RELOADING=1 ... READY=1 around a
 * SIGHUP and STOPPING=1 on the way out.  Without NOTIFY_SOCKET every call is
 * a cheap no-op, which is what a terminal run wants.
 */
#include "daemon/daemon.h"

#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

void
notify_init(struct notifier *n)
{
	uint64_t usec = 0;

	n->enabled = getenv("NOTIFY_SOCKET") != NULL;
	n->watchdog_usec = 0;
	/* 0 = not asked; >0 = the interval systemd wants pings within. */
	if (n->enabled && sd_watchdog_enabled(0, &usec) > 0)
		n->watchdog_usec = usec;
}

static void
send_line(const struct notifier *n, const char *line)
{
	if (n->enabled)
		(void)sd_notify(0, line);
}

void
notify_ready(const struct notifier *n)
{
	send_line(n, "READY=1");
}

void
notify_reloading(const struct notifier *n)
{
	struct timespec ts;
	char line[64];

	/*
	 * systemd 253+ wants MONOTONIC_USEC with RELOADING=1; older ignore
	 * it.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(line, sizeof(line), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL +
			 (unsigned long long)ts.tv_nsec / 1000ULL);
	send_line(n, line);
}

void
notify_stopping(const struct notifier *n)
{
	send_line(n, "STOPPING=1");
}

void
notify_watchdog(const struct notifier *n)
{
	if (n->watchdog_usec > 0)
		send_line(n, "WATCHDOG=1");
}

void
notify_status(const struct notifier *n, const char *status)
{
	char line[512];

	if (!n->enabled)
		return;
	snprintf(line, sizeof(line), "STATUS=%s", status);
	send_line(n, line);
}
