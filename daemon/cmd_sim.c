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
 * ground truth and the stages' windows.
 *
 * This file also turns a loaded experiment into the simulator's view of
 * it, for "intofocus run" embedding the simulator.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"
#include "mturk/mturk.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sim_view_init(struct sim_view *v, const struct experiment *exp,
	      struct errbuf *eb)
{
	memset(v, 0, sizeof(*v));
	v->images = calloc(exp->nimages + 1, sizeof(*v->images));
	v->faces = calloc(exp->nimages + 1, sizeof(*v->faces));
	if (v->images == NULL || v->faces == NULL)
		goto nomem;
	for (size_t i = 0; i < exp->nimages; i++) {
		const struct exp_image *im = &exp->images[i];
		struct sim_face *f = calloc(im->nground_truth + 1, sizeof(*f));

		if (f == NULL)
			goto nomem;
		v->faces[i] = f;
		for (size_t k = 0; k < im->nground_truth; k++) {
			f[k].x = im->ground_truth[k].x;
			f[k].y = im->ground_truth[k].y;
			f[k].w = im->ground_truth[k].w;
			f[k].h = im->ground_truth[k].h;
		}
		v->images[i].id = im->id;
		v->images[i].width = im->width;
		v->images[i].height = im->height;
		v->images[i].faces = f;
		v->images[i].nfaces = im->nground_truth;
	}
	v->nimages = exp->nimages;
	v->exp.name = exp->name;
	v->exp.windows = exp->stages;
	v->exp.nwindows = exp->nstages;
	v->exp.images = v->images;
	v->exp.nimages = exp->nimages;
	return IF_OK;
nomem:
	sim_view_cleanup(v);
	return err_set(eb, IF_ERUNTIME, "%s: out of memory", exp->source);
}

void
sim_view_cleanup(struct sim_view *v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v->faces != NULL && i <= v->nimages; i++)
		free(v->faces[i]);
	free(v->faces);
	free(v->images);
	memset(v, 0, sizeof(*v));
}

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus sim [--listen 127.0.0.1:PORT] [--seed N] "
		"[--faults RATE]\n"
		"                     [--experiment FILE]... [--delay SECONDS] "
		"[--no-crowd]\n"
		"                     [--slow-ms MS] [--state-dir DIR]\n"
		"                     [--refuse OPERATION[:TEXT]=ERROR]...\n"
		"\n"
		"  --listen ADDR:PORT  loopback address to listen on "
		"[127.0.0.1:9000]; port 0 = any\n"
		"  --seed N            seed of the crowd, the ids and the faults "
		"[1]\n"
		"  --faults RATE       share of API requests that fail "
		"(0..1) [0]\n"
		"  --experiment FILE   teach the crowd this experiment's ground "
		"truth (repeatable)\n"
		"  --delay SECONDS     time a simulated worker takes; the "
		"workers of a HIT\n"
		"                      work one after another [0]\n"
		"  --no-crowd          no simulated workers: lab mode only\n"
		"  --slow-ms MS        how long a \"slow reply\" fault waits "
		"[1500]; 0 = none\n"
		"  --state-dir DIR     keep HITs, answers and images in DIR "
		"across restarts\n"
		"                      [default: in memory only]\n"
		"  --refuse OP[:TEXT]=ERROR\n"
		"                      answer every OP request (whose JSON body "
		"contains TEXT)\n"
		"                      with ERROR, one that does not pass: "
		"InsufficientFunds,\n"
		"                      ParameterValidationError, "
		"QualificationTypeDoesNotExist,\n"
		"                      UnrecognizedClientException, "
		"AccessDeniedException,\n"
		"                      ExpiredTokenException, or "
		"ServiceUnavailable (repeatable,\n"
		"                      at most 8); e.g. "
		"CreateHITWithHITType:/street/=ParameterValidationError\n");
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

	if (colon == NULL ||
	    parse_int64(colon + 1, 0, 65535, &p) != 0)
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
		return err_set(eb, IF_EINPUT, "--listen \"%s\": bad address", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	*port = (unsigned)p;
	return IF_OK;
}

static int
parse_double(const char *opt, const char *s, double lo, double hi, double *out,
	     struct errbuf *eb)
{
	char *end = NULL;
	double v = strtod(s, &end);

	if (end == s || *end != '\0' || !(v >= lo && v <= hi))
		return err_set(eb, IF_EINPUT,
			       "%s \"%s\": expected a number from %g to %g", opt,
			       s, lo, hi);
	*out = v;
	return IF_OK;
}

int
cmd_sim(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"seed", required_argument, NULL, 's'},
		{"faults", required_argument, NULL, 'f'},
		{"experiment", required_argument, NULL, 'e'},
		{"delay", required_argument, NULL, 'd'},
		{"no-crowd", no_argument, NULL, 'n'},
		{"slow-ms", required_argument, NULL, 'w'},
		{"state-dir", required_argument, NULL, 'S'},
		{"refuse", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct errbuf eb;
	struct sim_config cfg;
	struct sim_server *sim = NULL;
	struct aws_creds_env env;
	struct aws_creds *creds = NULL;
	struct experiment **exps = NULL;
	struct sim_view *views = NULL;
	const char **refusals = NULL;
	size_t nexps = 0, nrefusals = 0;
	char host[128] = "127.0.0.1";
	unsigned port = 9000;
	int64_t seed = 1, slow = -2;
	double delay = 0.0, rate = 0.0;
	sigset_t unblocked;
	int c, rc = IF_OK;

	err_init(&eb);
	memset(&cfg, 0, sizeof(cfg));
	exps = calloc((size_t)argc + 1, sizeof(*exps));
	views = calloc((size_t)argc + 1, sizeof(*views));
	refusals = calloc((size_t)argc + 1, sizeof(*refusals));
	if (exps == NULL || views == NULL || refusals == NULL) {
		err_set(&eb, IF_ERUNTIME, "out of memory");
		goto fail;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (sim_parse_listen(optarg, host, sizeof(host), &port,
					 &eb) != IF_OK)
				goto fail;
			break;
		case 's':
			if (parse_int64(optarg, 0, INT64_MAX, &seed) != 0) {
				err_set(&eb, IF_EINPUT,
					"--seed \"%s\": expected a whole number "
					">= 0", optarg);
				goto fail;
			}
			break;
		case 'f':
			if (parse_double("--faults", optarg, 0.0, 1.0, &rate,
					 &eb) != IF_OK)
				goto fail;
			break;
		case 'd':
			if (parse_double("--delay", optarg, 0.0, 86400.0,
					 &delay, &eb) != IF_OK)
				goto fail;
			break;
		case 'w':
			if (parse_int64(optarg, 0, 2000, &slow) != 0) {
				err_set(&eb, IF_EINPUT,
					"--slow-ms \"%s\": expected 0 to 2000",
					optarg);
				goto fail;
			}
			break;
		case 'n':
			cfg.crowd_off = true;
			break;
		case 'S':
			cfg.state_dir = optarg;
			break;
		case 'r':
			refusals[nrefusals++] = optarg;
			break;
		case 'e':
			if (exp_load(optarg, &exps[nexps], NULL, &eb) != IF_OK ||
			    sim_view_init(&views[nexps], exps[nexps], &eb) !=
				    IF_OK) {
				exp_free(exps[nexps]);
				exps[nexps] = NULL;
				goto fail;
			}
			nexps++;
			break;
		case 'h':
			usage(stdout);
			goto out;
		default:
			usage(stderr);
			err_set(&eb, IF_EINPUT, "unknown or incomplete option "
						"\"%s\"",
				argv[optind - 1]);
			goto fail;
		}
	}
	if (optind < argc) {
		usage(stderr);
		err_set(&eb, IF_EINPUT, "unexpected argument \"%s\"", argv[optind]);
		goto fail;
	}
	aws_creds_env_from_process(&env);
	if (aws_creds_find(&env, NULL, &creds, &eb) != IF_OK)
		goto fail;
	cfg.listen_host = host;
	cfg.port = port;
	cfg.seed = (uint64_t)seed;
	cfg.fault_rate = rate;
	cfg.fault_slow_ms = slow == -2 ? 0 : slow == 0 ? -1 : slow;
	cfg.crowd_delay_ms = (int64_t)(delay * 1000.0);
	cfg.access_key_id = creds != NULL ? creds->access_key_id
					  : SIM_DEFAULT_ACCESS_KEY_ID;
	cfg.secret_access_key = creds != NULL ? creds->secret_access_key
					      : SIM_DEFAULT_SECRET_ACCESS_KEY;
	cfg.session_token = creds != NULL ? creds->session_token : NULL;
	cfg.refusals = refusals;
	cfg.nrefusals = nrefusals;
	/* Threads started by the simulator inherit the blocked signals. */
	if (loop_signals_init(&unblocked, &eb) != IF_OK)
		goto fail;
	sim = sim_new(&cfg, &eb);
	if (sim == NULL)
		goto fail;
	for (size_t i = 0; i < nexps; i++)
		if (sim_add_experiment(sim, &views[i].exp, &eb) != IF_OK)
			goto fail;
	printf("intofocus sim: MTurk API and S3 endpoint: "
	       "http://%s%s%s:%u\n",
	       strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", sim_port(sim));
	printf("intofocus sim: lab mode: http://%s%s%s:%u/\n",
	       strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", sim_port(sim));
	if (creds != NULL)
		printf("intofocus sim: accepting access key %s from %s "
		       "(region us-east-1)\n",
		       creds->access_key_id, creds->source);
	else
		printf("intofocus sim: no credentials configured; accepting "
		       "AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s "
		       "(region us-east-1)\n",
		       SIM_DEFAULT_ACCESS_KEY_ID, SIM_DEFAULT_SECRET_ACCESS_KEY);
	printf("intofocus sim: seed %lld, faults %g, delay %gs, crowd %s, "
	       "%zu experiment(s), state %s\n",
	       (long long)seed, rate, delay, cfg.crowd_off ? "off" : "on", nexps,
	       cfg.state_dir != NULL ? cfg.state_dir : "in memory only");
	for (size_t i = 0; i < nrefusals; i++)
		printf("intofocus sim: refusing %s\n", refusals[i]);
	fflush(stdout);
	while (!loop_stop_requested())
		loop_sleep(&unblocked, 1000);
	printf("intofocus sim: stopping\n");
	goto out;
fail:
	rc = cmd_fail("sim", &eb);
out:
	sim_free(sim);
	aws_creds_free(creds);
	for (size_t i = 0; i < nexps; i++) {
		sim_view_cleanup(&views[i]);
		exp_free(exps[i]);
	}
	free(views);
	free(exps);
	free(refusals);
	return rc;
}
