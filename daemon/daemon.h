/*
 * daemon/daemon.h - private to daemon/: the commands' entry points and,
 * as they land, the state store, the stage machine and the loop.
 *
 * Every command takes the arguments after its name (argv[0] is the command
 * name) and returns the process exit status (enum if_status).  Only these
 * entry points print errors for the user; everything below them returns an
 * error code and fills a struct errbuf.
 */
#ifndef INTOFOCUS_DAEMON_H
#define INTOFOCUS_DAEMON_H

#include "common/common.h"

/* One entry per command; main.c dispatches on name. */
struct command {
	const char *name;
	const char *summary; /* one line for "intofocus --help" */
	int (*main)(int argc, char **argv);
};

int cmd_run(int argc, char **argv);	/* cmd_run.c */
int cmd_check(int argc, char **argv);	/* cmd_check.c */
int cmd_status(int argc, char **argv);	/* cmd_status.c */
int cmd_report(int argc, char **argv);	/* cmd_report.c */
int cmd_render(int argc, char **argv);	/* cmd_render.c */
int cmd_mturk(int argc, char **argv);	/* cmd_mturk.c */
int cmd_sim(int argc, char **argv);	/* cmd_sim.c */

/*
 * Prints "intofocus CMD: message" for an error and returns its code, for the
 * commands' entry points.
 */
int cmd_fail(const char *cmd, const struct errbuf *eb);

/* True when arg is "-h" or "--help". */
int is_help_flag(const char *arg);

#endif /* INTOFOCUS_DAEMON_H */
