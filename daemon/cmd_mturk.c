/*
 * intofocus mturk: not built yet; issue 3 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_mturk(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus mturk: not implemented yet (issue 3)\n");
	return IF_ERUNTIME;
}
