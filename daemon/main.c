/*
 * intofocus: one executable, one command per word (spec section 2).
 * This file is the only place where errors become exit statuses.
 */
#include "daemon/daemon.h"

#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static const struct command commands[] = {
	{"run", "drive an experiment's images through their stages "
	 "(the daemon)", cmd_run},
	{"check", "validate an experiment file and print its plan and cost",
	 cmd_check},
	{"status", "show an experiment's progress from its state", cmd_status},
	{"report", "write the results site and the metrics table", cmd_report},
	{"render", "render one stage image offline", cmd_render},
	{"detect", "print the faces OpenCV's cascades find in an image",
	 cmd_detect},
	{"calibrate", "fit the crowd's detection curve; propose a schedule",
	 cmd_calibrate},
	{"mturk", "call one MTurk API operation and print the answer",
	 cmd_mturk},
	{"sim", "run the MTurk-compatible simulator", cmd_sim},
	{"serve", "run the task server for real participants", cmd_serve},
	{"prolific", "a Prolific study's submissions; approve or reject one",
	 cmd_prolific},
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: intofocus COMMAND [ARGS...]\n"
		    "       intofocus COMMAND --help\n"
		    "       intofocus --version\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-9s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(fp, "\nexit status: 0 success, 1 runtime failure, "
		    "2 usage or invalid input, 75 temporary failure\n");
}

int
cmd_fail(const char *cmd, const struct errbuf *eb)
{
	fprintf(stderr, "intofocus %s: %s\n", cmd,
		eb->msg[0] != '\0' ? eb->msg : "failed");
	return eb->code != IF_OK ? eb->code : IF_ERUNTIME;
}

int
is_help_flag(const char *arg)
{
	return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int
main(int argc, char **argv)
{
	/*
	 * The process holds AWS secrets: no core dump may carry them, and no
	 * other user may read this process's memory through /proc.
	 */
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init(0, false);
	if (argc < 2) {
		usage(stderr);
		return IF_EINPUT;
	}
	if (is_help_flag(argv[1]) || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return IF_OK;
	}
	if (strcmp(argv[1], "--version") == 0 ||
	    strcmp(argv[1], "version") == 0) {
		printf("intofocus %s\n", INTOFOCUS_VERSION);
		return IF_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].main(argc - 1, argv + 1);
	fprintf(stderr, "intofocus: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return IF_EINPUT;
}
