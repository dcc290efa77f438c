/*
 * intofocus run: not built yet; issue 6 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus run: not implemented yet (issue 6)\n");
	return IF_ERUNTIME;
}
