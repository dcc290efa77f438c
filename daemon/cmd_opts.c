/*
 * daemon/cmd_opts.c - what the commands' option parsing and printing
 * share: getopt's errors, the usage error's two lines, one JSON line.
 */
#include "daemon/daemon.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

int
cmd_opt_error(int c, const char *opt, struct errbuf *eb)
{
	if (c == ':')
		return err_set(eb, IF_EINPUT, "%s needs a value", opt);
	return err_set(eb, IF_EINPUT, "unknown option \"%s\"", opt);
}

int
cmd_usage_error(const char *cmd, const struct errbuf *eb)
{
	fprintf(stderr, "intofocus %s: %s\n", cmd, eb->msg);
	fprintf(stderr, "Try \"intofocus %s --help\".\n", cmd);
	return IF_EINPUT;
}

int
cmd_print_json_line(json_t *o)
{
	char *text = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

	json_decref(o);
	if (text == NULL)
		return IF_ERUNTIME;
	printf("%s\n", text);
	free(text);
	return IF_OK;
}
