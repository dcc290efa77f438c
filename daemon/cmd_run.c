/*
 * intofocus run: the daemon (spec sections 2, 9, 10).
 *
 *   intofocus run EXPERIMENT.yaml [--state-dir DIR] [-v] [--threads N]
 *                 [--sim-seed N] [--sim-delay MS] [--sim-latency MS]
 *                 [--sim-memory] [--sim-no-push]
 *                 [--sim-refuse OP[:TEXT]=ERROR]...
 *
 * The options, then the engine (engine.c): it ends when every image is
 * final (done or failed), or after SIGTERM/SIGINT once the step under way
 * is finished; both exit 0.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define RUN_SIM_REFUSALS_MAX 32

struct run_opts {
	const char *exp_path;
	const char *state_dir;
	int verbose;
	int64_t threads;
	int64_t sim_seed;
	int64_t sim_delay_ms;
	int64_t sim_latency_ms;
	bool sim_memory;
	bool sim_no_push;
	/* argv's --sim-refuse rules (the simulator checks each one). */
	const char *sim_refusals[RUN_SIM_REFUSALS_MAX];
	size_t sim_nrefusals;
};

static void
run_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus run EXPERIMENT.yaml [--state-dir DIR] [-v] "
		"[--threads N]\n"
		"                     [--sim-seed N] [--sim-delay MS] "
		"[--sim-latency MS]\n"
		"                     [--sim-memory] [--sim-no-push]"
		" [--sim-refuse OP[:TEXT]=ERROR]...\n"
		"\n"
		"Drives every image of the experiment through its stages until "
		"all are final,\nthen exits 0.  Resumes from its state after "
		"any stop.\n"
		"\n"
		"  --state-dir DIR   the state [default: $STATE_DIRECTORY, "
		"else ./state/NAME]\n"
		"  -v, --verbose     debug logging\n"
		"  --threads N       median filter threads [default: one per "
		"core]\n"
		"  --sim-seed N      the embedded simulator's seed "
		"[default: 1]\n"
		"  --sim-delay MS    simulated workers' delay [default: 0]\n"
		"  --sim-latency MS  each request to the embedded simulator "
		"waits MS, as on a\n"
		"                    remote service [default: 0]\n"
		"  --sim-memory      the embedded simulator keeps nothing on "
		"disk (faster for\n"
		"                    large runs; a restarted daemon then "
		"reposts its open HITs)\n"
		"  --sim-no-push     the embedded simulator offers no push of "
		"finished HITs:\n"
		"                    the daemon polls every poll interval, as "
		"with MTurk\n"
		"  --sim-refuse OP[:TEXT]=ERROR\n"
		"                    the embedded simulator answers that "
		"operation (or those of\n"
		"                    its requests whose body contains TEXT) "
		"with ERROR, as\n"
		"                    intofocus sim --refuse does; repeatable\n"
		"\n"
		"Signals: SIGTERM/SIGINT finish the step under way and exit 0; "
		"SIGHUP rereads\nthe experiment file.\n");
}

static int
parse_run_opts(int argc, char **argv, struct run_opts *o, struct errbuf *eb)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"threads", required_argument, NULL, 't'},
		{"sim-seed", required_argument, NULL, 'S'},
		{"sim-delay", required_argument, NULL, 'D'},
		{"sim-latency", required_argument, NULL, 'L'},
		{"sim-memory", no_argument, NULL, 'M'},
		{"sim-no-push", no_argument, NULL, 'N'},
		{"sim-refuse", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->sim_seed = 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:vt:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->state_dir = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 't':
			if (parse_int64(optarg, 0, 256, &o->threads) != 0)
				return err_set(eb, IF_EINPUT,
					       "--threads \"%s\" is not 0..256",
					       optarg);
			break;
		case 'S':
			if (parse_int64(optarg, 0, INT64_MAX,
					&o->sim_seed) != 0)
				return err_set(eb, IF_EINPUT,
					       "--sim-seed \"%s\" is not a "
					       "whole number",
					       optarg);
			break;
		case 'D':
			if (parse_int64(optarg, 0, 3600000,
					&o->sim_delay_ms) != 0)
				return err_set(eb, IF_EINPUT,
					       "--sim-delay \"%s\" is not "
					       "0..3600000 ms",
					       optarg);
			break;
		case 'L':
			if (parse_int64(optarg, 0, 2000,
					&o->sim_latency_ms) != 0)
				return err_set(eb, IF_EINPUT,
					       "--sim-latency \"%s\" is not "
					       "0..2000 ms",
					       optarg);
			break;
		case 'M':
			o->sim_memory = true;
			break;
		case 'N':
			o->sim_no_push = true;
			break;
		case 'R':
			if (o->sim_nrefusals == RUN_SIM_REFUSALS_MAX)
				return err_set(eb, IF_EINPUT,
					       "--sim-refuse \"%s\": at most "
					       "%d rules",
					       optarg, RUN_SIM_REFUSALS_MAX);
			o->sim_refusals[o->sim_nrefusals++] = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return -1;
		default:
			return cmd_opt_error(c, argv[optind - 1], eb);
		}
	}
	if (optind != argc - 1)
		return err_set(eb, IF_EINPUT,
			       "give exactly one EXPERIMENT.yaml");
	o->exp_path = argv[optind];
	return IF_OK;
}

int
cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct engine_config cfg;
	struct engine *e = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	int rc;

	rc = parse_run_opts(argc, argv, &o, &eb);
	if (rc == -1)
		return IF_OK;
	if (rc != IF_OK)
		return cmd_usage_error("run", &eb);
	log_init(o.verbose, false);
	memset(&cfg, 0, sizeof(cfg));
	cfg.exp_path = o.exp_path;
	cfg.state_dir = o.state_dir;
	cfg.threads = (int)o.threads;
	cfg.sim_seed = (uint64_t)o.sim_seed;
	cfg.sim_delay_ms = o.sim_delay_ms;
	cfg.sim_latency_ms = o.sim_latency_ms;
	cfg.sim_memory = o.sim_memory;
	cfg.sim_no_push = o.sim_no_push;
	cfg.sim_refusals = o.sim_refusals;
	cfg.sim_nrefusals = o.sim_nrefusals;
	rc = engine_open(&cfg, &errs, &e, &eb);
	if (rc != IF_OK && errs.nmsgs > 0) {
		/* The experiment file's problems, one a line. */
		for (size_t i = 0; i < errs.nmsgs; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		exp_errors_cleanup(&errs);
		return rc;
	}
	exp_errors_cleanup(&errs);
	if (rc == IF_OK)
		rc = engine_run(e, &eb);
	engine_close(e);
	if (rc != IF_OK)
		return cmd_fail("run", &eb);
	return IF_OK;
}
