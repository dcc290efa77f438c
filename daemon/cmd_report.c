/*
 * intofocus report: the results site (spec section 7) and the metrics
 * table (spec section 8) of an experiment, from its state alone.
 *
 *   intofocus report EXPERIMENT.yaml [--state-dir DIR] -o DIR
 *   intofocus report A.yaml B.yaml ... [--state-dir DIR ...] -o DIR
 *
 * With several experiment files each report goes to DIR/NAME/ and
 * DIR/index.html compares them (the study's union against first, five
 * stages against three): the same plots overlaid and one table.
 * The state is opened read-only, so a report can be taken beside a
 * running daemon; it then shows the stages that exist so far.  It never
 * touches the network.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
report_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus report EXPERIMENT.yaml [--state-dir DIR] "
		"-o DIR\n"
		"       intofocus report A.yaml B.yaml ... [--state-dir DIR "
		"...] -o DIR\n"
		"Writes the results site (DIR/index.html, DIR/images/) and\n"
		"the metrics table (DIR/metrics.csv, DIR/metrics.json) of\n"
		"the experiment.  Open DIR/index.html in a browser; no\n"
		"server is needed.  With several experiments, each one's\n"
		"site goes to DIR/NAME/ and DIR/index.html compares them\n"
		"side by side.\n"
		"  -o, --output DIR   where to write the site (created)\n"
		"  --state-dir DIR    the daemon's state [default: "
		"$STATE_DIRECTORY, else ./state/NAME];\n"
		"                     once per experiment, in their order\n"
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

/* One experiment's site into dir; *metrics (may be NULL) its summary. */
static int
report_one(const char *path, const char *state_dir_opt, const char *dir,
	   int threads, bool quiet, char **name, json_t **metrics)
{
	struct experiment *exp = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct run_ctx ctx;
	char *state_dir = NULL;
	size_t n = 0;
	int rc;

	rc = exp_load(path, &exp, &errs, &eb);
	exp_errors_cleanup(&errs);
	if (rc != IF_OK)
		return cmd_fail("report", &eb);
	memset(&ctx, 0, sizeof(ctx));
	ctx.exp_path = path;
	ctx.exp = exp;
	ctx.threads = threads;
	ctx.jpeg_quality = IMG_DEFAULT_JPEG_QUALITY;
	ctx.now = report_now;
	state_dir = state_dir_for(state_dir_opt, exp->name);
	rc = state_dir != NULL ? state_open_readonly(state_dir, &ctx.st, &eb)
			       : err_set(&eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = report_write(&ctx, dir, &n, metrics, &eb);
	if (rc == IF_OK && !quiet)
		printf("report: %zu images, %s/index.html, %s/metrics.csv, "
		       "%s/metrics.json\n",
		       n, dir, dir, dir);
	if (rc == IF_OK && name != NULL &&
	    (*name = strdup(exp->name)) == NULL)
		rc = err_set(&eb, IF_ERUNTIME, "out of memory");
	img_renderer_free(ctx.renderer);
	state_close(ctx.st);
	free(state_dir);
	exp_free(exp);
	if (rc != IF_OK)
		return cmd_fail("report", &eb);
	return IF_OK;
}

/* Several experiments: each in dir/NAME/, the comparison in dir/. */
static int
report_many(char **paths, size_t n, char **state_dirs, size_t nstate,
	    const char *dir, int threads)
{
	char **names = calloc(n, sizeof(*names));
	json_t **metrics = calloc(n, sizeof(*metrics));
	struct errbuf eb = {0};
	size_t done = 0;
	int rc = IF_OK;

	if (names == NULL || metrics == NULL) {
		free(names);
		free(metrics);
		fprintf(stderr, "intofocus report: out of memory\n");
		return IF_ERUNTIME;
	}
	rc = mkdir_p(dir, 0755, &eb);
	if (rc != IF_OK)
		rc = cmd_fail("report", &eb);
	for (size_t i = 0; rc == IF_OK && i < n; i++, done++) {
		struct experiment *exp = NULL;
		char *sub;

		/* The name first: it names the folder. */
		rc = exp_load(paths[i], &exp, NULL, &eb);
		if (rc != IF_OK) {
			rc = cmd_fail("report", &eb);
			break;
		}
		for (size_t j = 0; j < i; j++)
			if (strcmp(names[j], exp->name) == 0) {
				fprintf(stderr,
					"intofocus report: %s and %s are both "
					"experiment \"%s\"\n",
					paths[j], paths[i], exp->name);
				rc = IF_EINPUT;
			}
		sub = rc == IF_OK ? path_join(dir, exp->name) : NULL;
		exp_free(exp);
		if (rc != IF_OK)
			break;
		if (sub == NULL) {
			rc = IF_ERUNTIME;
			break;
		}
		rc = report_one(paths[i], i < nstate ? state_dirs[i] : NULL,
				sub, threads, false, &names[i], &metrics[i]);
		free(sub);
	}
	if (rc == IF_OK) {
		rc = report_compare_write(dir, (const char *const *)names,
					  (json_t *const *)metrics, n, &eb);
		if (rc == IF_OK)
			printf("report: %zu experiments compared in "
			       "%s/index.html\n",
			       n, dir);
		else
			rc = cmd_fail("report", &eb);
	}
	for (size_t i = 0; i < done && i < n; i++) {
		free(names[i]);
		json_decref(metrics[i]);
	}
	free(names);
	free(metrics);
	return rc;
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
	const char *out_dir = NULL;
	char **state_dirs = NULL;
	size_t nstate = 0;
	int64_t threads = 0;
	int c, rc;

	optind = 1;
	opterr = 0;
	state_dirs = calloc((size_t)argc + 1, sizeof(*state_dirs));
	if (state_dirs == NULL)
		return IF_ERUNTIME;
	while ((c = getopt_long(argc, argv, ":d:o:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			state_dirs[nstate++] = optarg;
			break;
		case 'o':
			out_dir = optarg;
			break;
		case 't':
			if (parse_int64(optarg, 0, 256, &threads) != 0) {
				fprintf(stderr, "intofocus report: --threads "
						"\"%s\" is not 0..256\n",
					optarg);
				free(state_dirs);
				return IF_EINPUT;
			}
			break;
		case 'h':
			report_usage(stdout);
			free(state_dirs);
			return IF_OK;
		default:
			fprintf(stderr, "intofocus report: bad option \"%s\"\n",
				argv[optind - 1]);
			report_usage(stderr);
			free(state_dirs);
			return IF_EINPUT;
		}
	}
	if (optind >= argc || out_dir == NULL || out_dir[0] == '\0' ||
	    nstate > (size_t)(argc - optind)) {
		fprintf(stderr, "intofocus report: %s\n",
			optind >= argc ? "one experiment file expected"
			: out_dir == NULL || out_dir[0] == '\0'
				? "-o DIR is required"
				: "more --state-dir than experiment files");
		report_usage(stderr);
		free(state_dirs);
		return IF_EINPUT;
	}
	if (argc - optind == 1)
		rc = report_one(argv[optind], nstate > 0 ? state_dirs[0] : NULL,
				out_dir, (int)threads, false, NULL, NULL);
	else
		rc = report_many(argv + optind, (size_t)(argc - optind),
				 state_dirs, nstate, out_dir, (int)threads);
	free(state_dirs);
	return rc;
}
