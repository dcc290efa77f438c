/*
 * intofocus sim: not built yet; issue 5 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_sim(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus sim: not implemented yet (issue 5)\n");
	return IF_ERUNTIME;
}
