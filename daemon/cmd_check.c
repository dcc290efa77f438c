/*
 * intofocus check: not built yet; issue 4 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus check: not implemented yet (issue 4)\n");
	return IF_ERUNTIME;
}
