/*
 * intofocus prolific: the operator's view of a Prolific study, and
 * decisions by hand (issue 16).
 *
 *   intofocus prolific EXPERIMENT.yaml [--state-dir DIR] submissions
 *                      [--json]
 *   intofocus prolific EXPERIMENT.yaml [--state-dir DIR] approve ID
 *   intofocus prolific EXPERIMENT.yaml [--state-dir DIR] reject ID
 *                      --category CATEGORY (--message TEXT |
 *                      --message-file FILE)
 *
 * The experiment's recruitment must be prolific.  The token comes from
 * prolific_token_load()'s chain, never from an argument.  Listing opens
 * the state read-only (safe beside a running daemon; without a state yet
 * it shows Prolific's side alone); a decision opens it for writing and
 * records itself before its call (daemon/prolific_ops.c).
 *
 * Exit status: 0 done; 1 Prolific refused, or the submission cannot take
 * the decision; 2 bad arguments, experiment or token; 75 Prolific could
 * not be reached or stayed unavailable (passing).
 */
#include "daemon/prolific_ops.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A rejection's message: Prolific names no maximum; this is plenty. */
#define MESSAGE_FILE_MAX 8192

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus prolific EXPERIMENT.yaml [--state-dir DIR] "
		"submissions [--json]\n"
		"       intofocus prolific EXPERIMENT.yaml [--state-dir DIR] "
		"approve SUBMISSION_ID\n"
		"       intofocus prolific EXPERIMENT.yaml [--state-dir DIR] "
		"reject SUBMISSION_ID\n"
		"         --category CATEGORY (--message TEXT | "
		"--message-file FILE)\n"
		"\n"
		"The study of the experiment's recruitment (platform: "
		"prolific), through\nProlific's API:\n"
		"  submissions   each submission, Prolific's status beside "
		"the daemon's view:\n"
		"                the participant's answers and how many are "
		"valid, the\n"
		"                approval and bonus records, your decision "
		"(--json: as JSON)\n"
		"  approve ID    approve one by hand (recorded first; run "
		"never repeats it)\n"
		"  reject ID     reject one by hand, with Prolific's "
		"required category and\n"
		"                message to the participant (at least 100 "
		"characters);\n"
		"                run leaves it alone afterwards\n"
		"\n"
		"  --state-dir DIR   the daemon's state [STATE_DIRECTORY, "
		"else state/NAME]\n"
		"\n"
		"The API token: PROLIFIC_TOKEN, else "
		"$CREDENTIALS_DIRECTORY/prolific-token\n"
		"(a file only its owner may read).\n"
		"Exit status: 0 done, 1 refused, 2 bad arguments, 75 "
		"Prolific unavailable.\n");
}

struct prolific_args {
	const char *exp_path;
	const char *state_dir;
	const char *action;
	const char *id;
	const char *category;
	const char *message;
	const char *message_file;
	bool json;
};

static int
parse_args(int argc, char **argv, struct prolific_args *a, bool *help,
	   struct errbuf *eb)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'S'},
		{"json", no_argument, NULL, 'j'},
		{"category", required_argument, NULL, 'c'},
		{"message", required_argument, NULL, 'm'},
		{"message-file", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *pos[3] = {NULL, NULL, NULL};
	int c, npos = 0;

	memset(a, 0, sizeof(*a));
	*help = false;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			a->state_dir = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'c':
			a->category = optarg;
			break;
		case 'm':
			a->message = optarg;
			break;
		case 'f':
			a->message_file = optarg;
			break;
		case 'h':
			*help = true;
			return IF_OK;
		default:
			return err_set(eb, IF_EINPUT,
				       "unknown or incomplete option \"%s\"",
				       argv[optind - 1]);
		}
	}
	for (; optind < argc; optind++) {
		if (npos == 3)
			return err_set(eb, IF_EINPUT,
				       "unexpected argument \"%s\"",
				       argv[optind]);
		pos[npos++] = argv[optind];
	}
	a->exp_path = pos[0];
	a->action = pos[1];
	a->id = pos[2];
	if (a->exp_path == NULL || a->action == NULL)
		return err_set(eb, IF_EINPUT,
			       "an experiment file and what to do "
			       "(submissions, approve, reject)");
	if (strcmp(a->action, "submissions") == 0) {
		if (a->id != NULL)
			return err_set(eb, IF_EINPUT,
				       "submissions takes no id");
	} else if (strcmp(a->action, "approve") == 0 ||
		   strcmp(a->action, "reject") == 0) {
		if (a->id == NULL)
			return err_set(eb, IF_EINPUT,
				       "%s needs a submission id", a->action);
		if (a->json)
			return err_set(eb, IF_EINPUT,
				       "--json goes with submissions");
	} else {
		return err_set(eb, IF_EINPUT,
			       "\"%s\": expected submissions, approve or "
			       "reject",
			       a->action);
	}
	if (strcmp(a->action, "reject") != 0 &&
	    (a->category != NULL || a->message != NULL ||
	     a->message_file != NULL))
		return err_set(eb, IF_EINPUT,
			       "--category and --message go with reject");
	if (strcmp(a->action, "reject") == 0) {
		if (a->category == NULL)
			return err_set(eb, IF_EINPUT,
				       "reject needs --category (Prolific "
				       "requires one)");
		if ((a->message == NULL) == (a->message_file == NULL))
			return err_set(eb, IF_EINPUT,
				       "reject needs one of --message and "
				       "--message-file");
	}
	return IF_OK;
}

/* The message of a rejection from its file, without the final newlines. */
static int
message_read(const char *path, struct buf *out, struct errbuf *eb)
{
	buf_init(out, MESSAGE_FILE_MAX);
	if (read_file(path, out, eb) != IF_OK) {
		err_prefix(eb, "--message-file");
		return eb->code;
	}
	while (out->len > 0 && (out->data[out->len - 1] == '\n' ||
				out->data[out->len - 1] == '\r'))
		out->data[--out->len] = '\0';
	if (out->len == 0 || strlen(out->data) != out->len)
		return err_set(eb, IF_EINPUT,
			       "--message-file %s: empty, or not text", path);
	return IF_OK;
}

int
cmd_prolific(int argc, char **argv)
{
	struct prolific_args a;
	struct errbuf eb;
	struct experiment *exp = NULL;
	struct state *st = NULL;
	struct prolific_client *client = NULL;
	struct prolific_client_config cc;
	struct prolific_token_env tenv;
	struct prolific_ops o;
	struct buf message;
	char *state_dir = NULL, *token = NULL, source[256];
	bool help;
	int rc = IF_OK;

	err_init(&eb);
	buf_init(&message, 0);
	if (parse_args(argc, argv, &a, &help, &eb) != IF_OK) {
		usage(stderr);
		goto fail;
	}
	if (help) {
		usage(stdout);
		goto out;
	}
	if (a.message_file != NULL &&
	    message_read(a.message_file, &message, &eb) != IF_OK)
		goto fail;
	if (exp_load(a.exp_path, &exp, NULL, &eb) != IF_OK)
		goto fail;
	if (exp->recruitment.platform != EXP_PLATFORM_PROLIFIC) {
		err_set(&eb, IF_EINPUT,
			"%s: recruitment.platform is not prolific", a.exp_path);
		goto fail;
	}
	state_dir = state_dir_for(a.state_dir, exp->name);
	if (state_dir == NULL) {
		err_set(&eb, IF_ERUNTIME, "out of memory");
		goto fail;
	}
	if (strcmp(a.action, "submissions") == 0) {
		/* No state yet (IF_EINPUT): Prolific's side alone. */
		rc = state_open_readonly(state_dir, &st, &eb);
		if (rc == IF_EINPUT)
			err_init(&eb);
		else if (rc != IF_OK)
			goto fail;
		rc = IF_OK;
	} else if (state_open(state_dir, exp->name, &st, &eb) != IF_OK) {
		goto fail;
	}
	prolific_token_env_from_process(&tenv);
	if (prolific_token_load(&tenv, NULL, &token, source, sizeof(source),
				&eb) != IF_OK)
		goto fail;
	memset(&cc, 0, sizeof(cc));
	cc.base_url = exp->recruitment.api_url;
	cc.token = token;
	if (prolific_client_new(&cc, &client, &eb) != IF_OK)
		goto fail;
	memset(&o, 0, sizeof(o));
	o.exp = exp;
	o.st = st;
	o.client = client;
	o.out = stdout;
	if (strcmp(a.action, "submissions") == 0)
		rc = prolific_ops_submissions(&o, a.json, &eb);
	else if (strcmp(a.action, "approve") == 0)
		rc = prolific_ops_approve(&o, a.id, &eb);
	else
		rc = prolific_ops_reject(&o, a.id, a.category,
					 a.message != NULL ? a.message
							   : message.data,
					 &eb);
	fflush(stdout);
	if (rc != IF_OK)
		goto fail;
	goto out;
fail:
	rc = cmd_fail("prolific", &eb);
out:
	prolific_client_free(client);
	prolific_token_free(token);
	state_close(st);
	free(state_dir);
	exp_free(exp);
	buf_cleanup(&message);
	return rc;
}
