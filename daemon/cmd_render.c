/*
 * intofocus render: not built yet; issue 2 of the tracker builds it.
 * This placeholder says so plainly instead of pretending to work.
 */
#include "daemon/daemon.h"

#include <stdio.h>

int
cmd_render(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "intofocus render: not implemented yet (issue 2)\n");
	return IF_ERUNTIME;
}
