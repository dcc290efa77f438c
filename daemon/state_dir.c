/*
 * daemon/state_dir.c - where an experiment's state lives, for the daemon
 * (run) and the commands that read its state (status, report).
 */
#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --state-dir, else $STATE_DIRECTORY (systemd), else ./state/NAME. */
char *
state_dir_for(const char *given, const char *exp_name)
{
	const char *sd = getenv("STATE_DIRECTORY");
	char buf[1024];

	if (given != NULL)
		return strdup(given);
	if (sd != NULL && sd[0] != '\0') {
		/* systemd may list several directories, colon-separated. */
		size_t n = strcspn(sd, ":");
		snprintf(buf, sizeof(buf), "%.*s", (int)n, sd);
		return strdup(buf);
	}
	snprintf(buf, sizeof(buf), "state/%s", exp_name);
	return strdup(buf);
}
