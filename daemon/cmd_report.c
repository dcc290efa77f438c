/*
 * intofocus report: the results site (spec section 7) and the metrics
 * table (spec section 8) of an experiment, from its state alone.
 *
 *   intofocus report EXPERIMENT.yaml [--state-dir DIR] -o DIR
 *
 * The state is opened read-only, so a report can be taken beside a
 * running daemon; it then shows the stages that exist so far.  It never
 * touches the network.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
report_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus report EXPERIMENT.yaml [--state-dir DIR] "
		"-o DIR\n"
		"Writes the results site (DIR/index.html, DIR/images/) and\n"
		"the metrics table (DIR/metrics.csv, DIR/metrics.json) of\n"
		"the experiment.  Open DIR/index.html in a browser; no\n"
		"server is needed.\n"
		"  -o, --output DIR   where to write the site (created)\n"
		"  --state-dir DIR    the daemon's state [default: "
		"$STATE_DIRECTORY, else ./state/NAME]\n"
		"  --threads N        median filter threads [default: one per "
		"core]\n");
}

/*
 * The record's "updated_at" comes from the state, not from now: a report
 * taken twice from the same state is the same report.
 */
static int64_t
report_now(void *arg)
{
	(void)arg;
	return 0;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"output", required_argument, NULL, 'o'},
		{"threads", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct experiment *exp = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct run_ctx ctx;
	const char *state_dir_opt = NULL, *out_dir = NULL;
	char *state_dir = NULL;
	int64_t threads = 0;
	size_t n = 0;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			state_dir_opt = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 't':
			if (parse_int64(optarg, 0, 256, &threads) != 0) {
				fprintf(stderr, "intofocus report: --threads "
						"\"%s\" is not 0..256\n",
					optarg);
				return IF_EINPUT;
			}
			break;
		case 'h':
			report_usage(stdout);
			return IF_OK;
		default:
			fprintf(stderr, "intofocus report: bad option \"%s\"\n",
				argv[optind - 1]);
			report_usage(stderr);
			return IF_EINPUT;
		}
	}
	if (optind != argc - 1 || out_dir == NULL || out_dir[0] == '\0') {
		fprintf(stderr, "intofocus report: %s\n",
			optind != argc - 1 ? "one experiment file expected"
					   : "-o DIR is required");
		report_usage(stderr);
		return IF_EINPUT;
	}
	rc = exp_load(argv[optind], &exp, &errs, &eb);
	exp_errors_cleanup(&errs);
	if (rc != IF_OK)
		return cmd_fail("report", &eb);
	memset(&ctx, 0, sizeof(ctx));
	ctx.exp_path = argv[optind];
	ctx.exp = exp;
	ctx.threads = (int)threads;
	ctx.jpeg_quality = IMG_DEFAULT_JPEG_QUALITY;
	ctx.now = report_now;
	state_dir = state_dir_for(state_dir_opt, exp->name);
	rc = state_dir != NULL ? state_open_readonly(state_dir, &ctx.st, &eb)
			       : err_set(&eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = report_write(&ctx, out_dir, &n, NULL, &eb);
	if (rc == IF_OK)
		printf("report: %zu images, %s/index.html, %s/metrics.csv, "
		       "%s/metrics.json\n",
		       n, out_dir, out_dir, out_dir);
	img_renderer_free(ctx.renderer);
	state_close(ctx.st);
	free(state_dir);
	exp_free(exp);
	if (rc != IF_OK)
		return cmd_fail("report", &eb);
	return IF_OK;
}
