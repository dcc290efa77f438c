/*
 * intofocus report: not built yet; issue 7 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus report: not implemented yet (issue 7)\n");
	return IF_ERUNTIME;
}
