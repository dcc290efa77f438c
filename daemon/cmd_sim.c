/*
 * intofocus sim: the MTurk-compatible simulator on its own (spec sections
 * 2 and 6).
 *
 * It runs in the foreground until SIGINT or SIGTERM.  At start it prints
 * the API URL, the lab-mode URL and the credentials it accepts: those the
 * credentials chain finds (so that "intofocus sim" and "intofocus run" in
 * one shell agree; the secret is never printed), or else the fixed,
 * documented pair SIM_DEFAULT_* (which it prints, since it guards
 * nothing).  --experiment files teach the simulated crowd the images'
 * ground truth and the stages' windows (sim_view.c).
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"
#include "mturk/mturk.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The command line; the arrays hold one entry per argument at most. */
struct sim_opts {
	struct sim_config cfg; /* listen, seed, faults, crowd, state */
	char host[128];
	double delay, rate;
	int64_t seed, slow, latency;
	const char **exp_paths;	  /* the --experiment files */
	struct experiment **exps; /* each loaded (sim_load_experiments) */
	struct sim_view *views;	  /* the crowd's view of each */
	size_t nexps;		  /* of exp_paths; of exps once loaded */
	size_t nloaded;
	const char **refusals;
	size_t nrefusals;
	/* The crowd's model for every --experiment; < 0: the file's own. */
	double crowd_k, crowd_x0, spurious, jitter;
};

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus sim [--listen 127.0.0.1:PORT] [--seed N] "
		"[--faults RATE]\n"
		"                     [--experiment FILE]... [--delay SECONDS] "
		"[--no-crowd]\n"
		"                     [--slow-ms MS] [--latency-ms MS] "
		"[--state-dir DIR]\n"
		"                     [--push]\n"
		"                     [--refuse OPERATION[:TEXT]=ERROR]...\n"
		"\n"
		"  --listen ADDR:PORT  loopback address to listen on "
		"[127.0.0.1:9000]; port 0 = any\n"
		"  --seed N            seed of the crowd, the ids and the "
		"faults [1]\n"
		"  --faults RATE       share of API requests that fail "
		"(0..1) [0]\n"
		"  --experiment FILE   teach the crowd this experiment's "
		"ground truth (repeatable)\n"
		"  --delay SECONDS     time a simulated worker takes; the "
		"workers of a HIT\n"
		"                      work one after another [0]\n"
		"  --no-crowd          no simulated workers: lab mode only\n"
		"  --slow-ms MS        how long a \"slow reply\" fault waits "
		"[1500]; 0 = none\n"
		"  --latency-ms MS     every API and S3 request waits MS "
		"(0..2000) before its\n"
		"                      answer, like a remote service [0]\n"
		"  --push              offer daemons a push of finished HITs "
		"instead of their\n"
		"                      polling alone (which workers a "
		"HIT gets then\n"
		"                      depends on timing, as on MTurk)\n"
		"  --state-dir DIR     keep HITs, answers and images in DIR "
		"across restarts\n"
		"                      [default: in memory only]\n"
		"  --refuse OP[:TEXT]=ERROR\n"
		"                      answer every OP request (whose JSON "
		"body contains TEXT)\n"
		"                      with ERROR, one that does not pass: "
		"InsufficientFunds,\n"
		"                      ParameterValidationError, "
		"QualificationTypeDoesNotExist,\n"
		"                      UnrecognizedClientException, "
		"AccessDeniedException,\n"
		"                      ExpiredTokenException, or "
		"ServiceUnavailable (repeatable,\n"
		"                      at most 8); e.g. "
		"CreateHITWithHITType:/street/=ParameterValidationError\n"
		"  --crowd-k K, --crowd-x0 X, --spurious P, --jitter J\n"
		"                      the simulated crowd's model for every "
		"--experiment, over\n"
		"                      its simulator: keys (e.g. a curve "
		"fitted by calibrate)\n");
}

/* Splits "HOST:PORT" (or "[::1]:PORT"). */
int
sim_parse_listen(const char *s, char *host, size_t hostlen, unsigned *port,
	     struct errbuf *eb)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hl;
	int64_t p;

	if (colon == NULL || parse_int64(colon + 1, 0, 65535, &p) != 0)
		return err_set(eb, IF_EINPUT,
			       "--listen \"%s\": expected ADDRESS:PORT, e.g. "
			       "127.0.0.1:9000",
			       s);
	hl = (size_t)(colon - s);
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl == 0 || hl >= hostlen)
		return err_set(eb, IF_EINPUT, "--listen \"%s\": bad address",
			       s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return IF_OK;
}

static int
parse_double(const char *opt, const char *s, double lo, double hi,
	     double *out, struct errbuf *eb)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return err_set(eb, IF_EINPUT,
			       "%s \"%s\": expected a number from %g to %g",
			       opt, s, lo, hi);
	*out = v;
	return IF_OK;
}

static void
sim_opts_cleanup(struct sim_opts *o)
{
	for (size_t i = 0; i < o->nloaded; i++) {
		sim_view_cleanup(&o->views[i]);
		exp_free(o->exps[i]);
	}
	free(o->views);
	free(o->exps);
	free(o->exp_paths);
	free(o->refusals);
}

/* One option; IF_OK, or an error with eb set. */
static int
sim_opt(struct sim_opts *o, int c, const char *arg, struct errbuf *eb)
{
	switch (c) {
	case 'l':
		return sim_parse_listen(arg, o->host, sizeof(o->host),
				    &o->cfg.port, eb);
	case 's':
		if (parse_int64(arg, 0, INT64_MAX, &o->seed) != 0)
			return err_set(eb, IF_EINPUT,
				       "--seed \"%s\": expected a whole "
				       "number >= 0",
				       arg);
		return IF_OK;
	case 'f':
		return parse_double("--faults", arg, 0.0, 1.0, &o->rate, eb);
	case 'd':
		return parse_double("--delay", arg, 0.0, 86400.0, &o->delay,
				    eb);
	case 'w':
		if (parse_int64(arg, 0, 2000, &o->slow) != 0)
			return err_set(eb, IF_EINPUT,
				       "--slow-ms \"%s\": expected 0 to 2000",
				       arg);
		return IF_OK;
	case 'L':
		if (parse_int64(arg, 0, 2000, &o->latency) != 0)
			return err_set(eb, IF_EINPUT,
				       "--latency-ms \"%s\": expected 0 to "
				       "2000",
				       arg);
		return IF_OK;
	case 'n':
		o->cfg.crowd_off = true;
		return IF_OK;
	case 'N':
		o->cfg.push_off = false;
		return IF_OK;
	case 'S':
		o->cfg.state_dir = arg;
		return IF_OK;
	case 'r':
		o->refusals[o->nrefusals++] = arg;
		return IF_OK;
	case 'K':
		return parse_double("--crowd-k", arg, 0.001, 100.0,
				    &o->crowd_k, eb);
	case 'X':
		return parse_double("--crowd-x0", arg, 0.0, 100.0,
				    &o->crowd_x0, eb);
	case 'P':
		return parse_double("--spurious", arg, 0.0, 1.0, &o->spurious,
				    eb);
	case 'J':
		return parse_double("--jitter", arg, 0.0, 1.0, &o->jitter, eb);
	case 'e':
		o->exp_paths[o->nexps++] = arg;
		return IF_OK;
	}
	return err_set(eb, IF_EINPUT, "unknown option");
}

/*
 * IF_OK to go on, -1 after --help, or an error with eb set: IF_EINPUT for
 * the command line (a usage error in run's shape: cmd_opt_error,
 * cmd_usage_error), IF_ERUNTIME when out of memory.  The --experiment
 * files are read afterwards (sim_load_experiments).
 */
static int
parse_sim_opts(int argc, char **argv, struct sim_opts *o, struct errbuf *eb)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"seed", required_argument, NULL, 's'},
		{"faults", required_argument, NULL, 'f'},
		{"experiment", required_argument, NULL, 'e'},
		{"delay", required_argument, NULL, 'd'},
		{"no-crowd", no_argument, NULL, 'n'},
		{"push", no_argument, NULL, 'N'},
		{"slow-ms", required_argument, NULL, 'w'},
		{"latency-ms", required_argument, NULL, 'L'},
		{"state-dir", required_argument, NULL, 'S'},
		{"refuse", required_argument, NULL, 'r'},
		{"crowd-k", required_argument, NULL, 'K'},
		{"crowd-x0", required_argument, NULL, 'X'},
		{"spurious", required_argument, NULL, 'P'},
		{"jitter", required_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	o->cfg.port = 9000;
	/*
	 * Polling alone by default: runs against "intofocus sim" line up on
	 * the poll interval, so that which worker takes which HIT (with
	 * exclusive stages) does not depend on the machine's speed.
	 */
	o->cfg.push_off = true;
	o->seed = 1;
	o->slow = -2;
	o->crowd_k = o->crowd_x0 = o->spurious = o->jitter = -1;
	o->exp_paths = calloc((size_t)argc + 1, sizeof(*o->exp_paths));
	o->exps = calloc((size_t)argc + 1, sizeof(*o->exps));
	o->views = calloc((size_t)argc + 1, sizeof(*o->views));
	o->refusals = calloc((size_t)argc + 1, sizeof(*o->refusals));
	if (o->exp_paths == NULL || o->exps == NULL || o->views == NULL ||
	    o->refusals == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return cmd_opt_error(c, argv[optind - 1], eb);
		if (sim_opt(o, c, optarg, eb) != IF_OK)
			return eb->code;
	}
	if (optind < argc)
		return err_set(eb, IF_EINPUT, "unexpected argument \"%s\"",
			       argv[optind]);
	return IF_OK;
}

/*
 * Reads the --experiment files and the crowd's view of each: IF_OK, or
 * the error of the first that cannot be read.
 */
static int
sim_load_experiments(struct sim_opts *o, struct errbuf *eb)
{
	for (size_t i = 0; i < o->nexps; i++) {
		if (exp_load(o->exp_paths[i], &o->exps[i], NULL, eb) != IF_OK)
			return eb->code;
		o->nloaded++;
		if (sim_view_init(&o->views[i], o->exps[i], eb) != IF_OK) {
			/* Nothing of the view to clean up. */
			o->nloaded--;
			exp_free(o->exps[i]);
			o->exps[i] = NULL;
			return eb->code;
		}
	}
	/* Flags replay a fitted crowd over what the files say. */
	for (size_t i = 0; i < o->nexps; i++) {
		struct sim_crowd_model *m = &o->views[i].crowd;

		m->k = o->crowd_k >= 0 ? o->crowd_k : m->k;
		m->x0 = o->crowd_x0 >= 0 ? o->crowd_x0 : m->x0;
		m->spurious = o->spurious >= 0 ? o->spurious : m->spurious;
		m->jitter = o->jitter >= 0 ? o->jitter : m->jitter;
	}
	return IF_OK;
}

/* The service's settings from the options and the credentials. */
static void
sim_configure(struct sim_opts *o, const struct aws_creds *creds)
{
	struct sim_config *cfg = &o->cfg;

	cfg->listen_host = o->host;
	cfg->seed = (uint64_t)o->seed;
	cfg->fault_rate = o->rate;
	cfg->fault_slow_ms = o->slow == -2 ? 0 : o->slow == 0 ? -1 : o->slow;
	cfg->crowd_delay_ms = (int64_t)(o->delay * 1000.0);
	cfg->call_latency_ms = o->latency;
	cfg->access_key_id = creds != NULL ? creds->access_key_id
					   : SIM_DEFAULT_ACCESS_KEY_ID;
	cfg->secret_access_key = creds != NULL
					 ? creds->secret_access_key
					 : SIM_DEFAULT_SECRET_ACCESS_KEY;
	cfg->session_token = creds != NULL ? creds->session_token : NULL;
	cfg->refusals = o->refusals;
	cfg->nrefusals = o->nrefusals;
}

/* Where the service listens and what it accepts, on stdout. */
static void
sim_announce(const struct sim_opts *o, const struct sim_server *sim,
	     const struct aws_creds *creds)
{
	bool v6 = strchr(o->host, ':') != NULL;

	printf("intofocus sim: MTurk API and S3 endpoint: "
	       "http://%s%s%s:%u\n",
	       v6 ? "[" : "", o->host, v6 ? "]" : "", sim_port(sim));
	printf("intofocus sim: lab mode: http://%s%s%s:%u/\n", v6 ? "[" : "",
	       o->host, v6 ? "]" : "", sim_port(sim));
	if (creds != NULL)
		printf("intofocus sim: accepting access key %s from %s "
		       "(region us-east-1)\n",
		       creds->access_key_id, creds->source);
	else
		printf("intofocus sim: no credentials configured; accepting "
		       "AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s "
		       "(region us-east-1)\n",
		       SIM_DEFAULT_ACCESS_KEY_ID,
		       SIM_DEFAULT_SECRET_ACCESS_KEY);
	printf("intofocus sim: seed %lld, faults %g, delay %gs, crowd %s, "
	       "%zu experiment(s), state %s\n",
	       (long long)o->seed, o->rate, o->delay,
	       o->cfg.crowd_off ? "off" : "on", o->nexps,
	       o->cfg.state_dir != NULL ? o->cfg.state_dir
					: "in memory only");
	if (o->latency > 0)
		printf("intofocus sim: every request waits %lld ms\n",
		       (long long)o->latency);
	for (size_t i = 0; i < o->nrefusals; i++)
		printf("intofocus sim: refusing %s\n", o->refusals[i]);
	fflush(stdout);
}

int
cmd_sim(int argc, char **argv)
{
	struct errbuf eb;
	struct sim_opts o;
	struct sim_server *sim = NULL;
	struct aws_creds_env env;
	struct aws_creds *creds = NULL;
	sigset_t unblocked;
	int rc = IF_OK;

	err_init(&eb);
	rc = parse_sim_opts(argc, argv, &o, &eb);
	if (rc == -1) {
		rc = IF_OK;
		goto out;
	}
	if (rc == IF_EINPUT) {
		rc = cmd_usage_error("sim", &eb);
		goto out;
	}
	if (rc != IF_OK || sim_load_experiments(&o, &eb) != IF_OK)
		goto fail;
	aws_creds_env_from_process(&env);
	if (aws_creds_find(&env, NULL, &creds, &eb) != IF_OK)
		goto fail;
	sim_configure(&o, creds);
	/* Threads started by the simulator inherit the blocked signals. */
	if (loop_signals_init(&unblocked, &eb) != IF_OK)
		goto fail;
	sim = sim_new(&o.cfg, &eb);
	if (sim == NULL)
		goto fail;
	for (size_t i = 0; i < o.nexps; i++)
		if (sim_add_experiment(sim, &o.views[i].exp, &eb) != IF_OK)
			goto fail;
	sim_announce(&o, sim, creds);
	while (!loop_stop_requested())
		loop_sleep(&unblocked, 1000);
	printf("intofocus sim: stopping\n");
	goto out;
fail:
	rc = cmd_fail("sim", &eb);
out:
	sim_free(sim);
	aws_creds_free(creds);
	sim_opts_cleanup(&o);
	return rc;
}
