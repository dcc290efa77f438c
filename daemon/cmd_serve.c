/*
 * intofocus serve: the task server for real participants (issue 15).
 *
 * The MTurk-compatible service (API and S3, signed with the key pair the
 * credentials chain finds, as "intofocus sim") with people only: no
 * simulated crowd, no faults, ids from the CSPRNG, and participants'
 * pages behind a session opened by an entry link (sim/sim_people.c).  The
 * daemon talks to it as to MTurk.  It listens on loopback; a reverse
 * proxy terminating TLS puts it on the internet, and --public-url is the
 * address participants use.  It keeps its state in --state-dir.
 *
 * With --experiment (one or more), the server knows the experiments the
 * daemon runs there: their images, stages, HIT lifetime and extensions
 * and exclusive stages, so that it can tell a participant with no task
 * now whether one can still come (sim/sim_store_outlook.c); and a
 * Prolific study's id, completion code and share of tasks come from its
 * experiment's recruitment: keys (one source for both).
 *
 * "intofocus serve link" issues operators' entry links.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus serve --state-dir DIR "
		"[--listen 127.0.0.1:PORT]\n"
		"         [--public-url https://HOST] [--share N]\n"
		"         [--prolific-study ID --prolific-code CODE] "
		"[--experiment FILE]...\n"
		"         [--participant-param] [--per-ip N]\n"
		"         [--max-connections N] [--timeout SECONDS] "
		"[--threads N]\n"
		"         [--trusted-proxy ADDR]\n"
		"       intofocus serve link --state-dir DIR --public-url URL\n"
		"         [--participant ID | --count N]\n"
		"\n"
		"  --state-dir DIR       HITs, answers, images and the session "
		"key (required)\n"
		"  --listen ADDR:PORT    loopback address [127.0.0.1:9000]\n"
		"  --public-url URL      the address participants use, behind "
		"a TLS proxy\n"
		"  --share N             tasks per participant [0 = no limit]\n"
		"  --prolific-study ID   take Prolific's entry links for this "
		"study\n"
		"  --prolific-code CODE  send participants who are done to "
		"Prolific with it\n"
		"  --experiment FILE     an experiment run here (repeat for "
		"each): when no\n"
		"                        task can come any more; with "
		"recruitment: prolific,\n"
		"                        the study, its code and --share "
		"from it\n"
		"  --participant-param   take /enter?participant=ID links "
		"(your pool's ids)\n"
		"  --per-ip N            connections per address (IPv6: per "
		"/64) [64]\n"
		"  --max-connections N   connections in all [1024]\n"
		"  --timeout SECONDS     an idle connection's life [30]\n"
		"  --threads N           server threads [4]\n"
		"  --trusted-proxy ADDR  the loopback address the reverse "
		"proxy connects\n"
		"                        from; its X-Real-IP names the "
		"client for --per-ip\n"
		"\n"
		"link: prints entry links, one a line: for --participant ID, "
		"or for N new\n"
		"random participants (--count, default 1).\n");
}

static int
parse_count(const char *opt, const char *s, int64_t lo, int64_t hi,
	    int64_t *out, struct errbuf *eb)
{
	if (parse_int64(s, lo, hi, out) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s \"%s\": expected a whole number from %lld "
			       "to %lld",
			       opt, s, (long long)lo, (long long)hi);
	return IF_OK;
}

static int
cmd_serve_link(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'S'},
		{"public-url", required_argument, NULL, 'u'},
		{"participant", required_argument, NULL, 'p'},
		{"count", required_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *url = NULL, *participant = NULL;
	int64_t count = 1;
	struct errbuf eb;
	struct buf out;
	int c, rc = IF_OK;

	err_init(&eb);
	buf_init(&out, 0);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			dir = optarg;
			break;
		case 'u':
			url = optarg;
			break;
		case 'p':
			participant = optarg;
			break;
		case 'n':
			if (parse_count("--count", optarg, 1, 100000, &count,
					&eb) != IF_OK)
				goto fail;
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
	if (dir == NULL || url == NULL || optind < argc) {
		usage(stderr);
		err_set(&eb, IF_EINPUT,
			"link needs --state-dir and --public-url");
		goto fail;
	}
	if (participant != NULL)
		count = 1;
	for (int64_t i = 0; i < count; i++) {
		buf_reset(&out);
		if (sim_people_link(dir, url, participant, &out, &eb) != IF_OK)
			goto fail;
		printf("%s\n", out.data);
	}
	goto out;
fail:
	rc = cmd_fail("serve link", &eb);
out:
	buf_cleanup(&out);
	return rc;
}

/* The experiments given, and what the server is told of each. */
#define SERVE_EXPERIMENTS_MAX 16

struct serve_study {
	struct experiment *exp;
	const char **image_ids;
	unsigned char *image_stages;
	char (*slot_names)[96];
	const char *slot_ptrs[EXP_STAGES_MAX];
	int stage_slot[EXP_STAGES_MAX];
};

static void
serve_study_cleanup(struct serve_study *s)
{
	free(s->image_ids);
	free(s->image_stages);
	free(s->slot_names);
	exp_free(s->exp);
}

/* What the server needs of s->exp to tell when no task can come. */
static int
serve_study_fill(struct serve_study *s, struct sim_people_study *out,
		 struct errbuf *eb)
{
	const struct experiment *e = s->exp;
	int nslots = e->hit.exclusive_stages ? exp_qual_slots(e) : 0;

	memset(out, 0, sizeof(*out));
	s->image_ids = calloc(e->nimages + 1, sizeof(*s->image_ids));
	s->image_stages = calloc(e->nimages + 1, 1);
	s->slot_names = calloc((size_t)nslots + 1, sizeof(*s->slot_names));
	if (s->image_ids == NULL || s->image_stages == NULL ||
	    s->slot_names == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < e->nimages; i++) {
		const struct exp_image *im = &e->images[i];

		s->image_ids[i] = im->id;
		s->image_stages[i] = (unsigned char)(
			im->nwindow_specs > 0 ? im->nwindow_specs
					      : e->nstages);
	}
	for (int j = 0; j < nslots && j < EXP_STAGES_MAX; j++) {
		exp_qual_slot_name(e, j + 1, s->slot_names[j],
				   sizeof(s->slot_names[j]));
		s->slot_ptrs[j] = s->slot_names[j];
	}
	for (size_t k = 0; nslots > 0 && k < e->nstages; k++)
		s->stage_slot[k] = exp_qual_slot(e, (int)k + 1) - 1;
	out->name = e->name;
	out->image_ids = s->image_ids;
	out->image_stages = s->image_stages;
	out->nimages = e->nimages;
	out->lifetime_s = e->hit.lifetime;
	out->max_extensions = e->hit.max_extensions;
	out->poll_interval_s = e->mturk.poll_interval;
	out->slot_names = s->slot_ptrs;
	out->nslots = nslots > EXP_STAGES_MAX ? EXP_STAGES_MAX
					      : (size_t)nslots;
	out->stage_slot = s->stage_slot;
	out->nstages = nslots > 0 ? e->nstages : 0;
	return IF_OK;
}

/*
 * The study's id and completion code, and the share (tasks_per_participant),
 * from a Prolific experiment's recruitment: keys.  pc's strings then
 * belong to exp, which the caller frees after the server.
 */
static int
serve_from_experiment(const char *path, const struct experiment *exp,
		      struct sim_people_config *pc, bool share_given,
		      struct errbuf *eb)
{
	const struct exp_recruitment *r = &exp->recruitment;

	if (r->platform != EXP_PLATFORM_PROLIFIC)
		return IF_OK;
	if (pc->prolific_study != NULL || pc->prolific_code != NULL)
		return err_set(eb, IF_EINPUT,
			       "%s: --experiment gives the study and its "
			       "code (recruitment:): leave out "
			       "--prolific-study and --prolific-code, and "
			       "give one Prolific experiment",
			       path);
	pc->prolific_study = r->study_id;
	pc->prolific_code = r->completion_code;
	if (r->tasks_per_participant > 0) {
		if (share_given && pc->share != r->tasks_per_participant)
			return err_set(eb, IF_EINPUT,
				       "--share %d differs from %s's "
				       "recruitment.tasks_per_participant %d",
				       pc->share, path,
				       r->tasks_per_participant);
		pc->share = r->tasks_per_participant;
	}
	return IF_OK;
}

int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"state-dir", required_argument, NULL, 'S'},
		{"public-url", required_argument, NULL, 'u'},
		{"share", required_argument, NULL, 's'},
		{"prolific-study", required_argument, NULL, 'P'},
		{"prolific-code", required_argument, NULL, 'C'},
		{"experiment", required_argument, NULL, 'x'},
		{"participant-param", no_argument, NULL, 'a'},
		{"per-ip", required_argument, NULL, 'i'},
		{"max-connections", required_argument, NULL, 'm'},
		{"timeout", required_argument, NULL, 't'},
		{"threads", required_argument, NULL, 'T'},
		{"trusted-proxy", required_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct errbuf eb;
	struct sim_config cfg;
	struct sim_people_config pc;
	struct sim_server *sim = NULL;
	struct aws_creds_env env;
	struct aws_creds *creds = NULL;
	struct serve_study studies[SERVE_EXPERIMENTS_MAX];
	struct sim_people_study known[SERVE_EXPERIMENTS_MAX];
	const char *exp_paths[SERVE_EXPERIMENTS_MAX];
	size_t nexp = 0;
	bool share_given = false;
	char host[128] = "127.0.0.1";
	unsigned port = 9000;
	int64_t v;
	sigset_t unblocked;
	int c, rc = IF_OK;

	if (argc > 1 && strcmp(argv[1], "link") == 0)
		return cmd_serve_link(argc - 1, argv + 1);
	err_init(&eb);
	memset(&cfg, 0, sizeof(cfg));
	memset(&pc, 0, sizeof(pc));
	memset(studies, 0, sizeof(studies));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			if (sim_parse_listen(optarg, host, sizeof(host), &port,
					     &eb) != IF_OK)
				goto fail;
			break;
		case 'S':
			cfg.state_dir = optarg;
			break;
		case 'u':
			pc.public_url = optarg;
			break;
		case 's':
			if (parse_count("--share", optarg, 0, 1000000, &v,
					&eb) != IF_OK)
				goto fail;
			pc.share = (int)v;
			share_given = true;
			break;
		case 'P':
			pc.prolific_study = optarg;
			break;
		case 'C':
			pc.prolific_code = optarg;
			break;
		case 'x':
			if (nexp == SERVE_EXPERIMENTS_MAX) {
				err_set(&eb, IF_EINPUT,
					"--experiment: at most %d",
					SERVE_EXPERIMENTS_MAX);
				goto fail;
			}
			exp_paths[nexp++] = optarg;
			break;
		case 'a':
			pc.participant_param = true;
			break;
		case 'i':
			if (parse_count("--per-ip", optarg, 1, 100000, &v,
					&eb) != IF_OK)
				goto fail;
			pc.per_ip_limit = (unsigned)v;
			break;
		case 'm':
			if (parse_count("--max-connections", optarg, 16, 100000,
					&v, &eb) != IF_OK)
				goto fail;
			pc.connection_limit = (unsigned)v;
			break;
		case 't':
			if (parse_count("--timeout", optarg, 1, 3600, &v,
					&eb) != IF_OK)
				goto fail;
			pc.timeout_s = (unsigned)v;
			break;
		case 'T':
			if (parse_count("--threads", optarg, 1, 64, &v, &eb) !=
			    IF_OK)
				goto fail;
			pc.threads = (unsigned)v;
			break;
		case 'X':
			pc.trusted_proxy = optarg;
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
		err_set(&eb, IF_EINPUT, "unexpected argument \"%s\"",
			argv[optind]);
		goto fail;
	}
	if (cfg.state_dir == NULL) {
		usage(stderr);
		err_set(&eb, IF_EINPUT, "--state-dir is required: a study's "
					"answers must outlive a restart");
		goto fail;
	}
	for (size_t i = 0; i < nexp; i++) {
		if (exp_load(exp_paths[i], &studies[i].exp, NULL, &eb) !=
			    IF_OK ||
		    serve_from_experiment(exp_paths[i], studies[i].exp, &pc,
					  share_given, &eb) != IF_OK ||
		    serve_study_fill(&studies[i], &known[i], &eb) != IF_OK)
			goto fail;
		for (size_t j = 0; j < i; j++)
			if (strcmp(studies[j].exp->name,
				   studies[i].exp->name) == 0) {
				err_set(&eb, IF_EINPUT,
					"%s: another --experiment is named "
					"\"%s\" too",
					exp_paths[i], studies[i].exp->name);
				goto fail;
			}
	}
	pc.studies = known;
	pc.nstudies = nexp;
	if ((pc.prolific_code != NULL) != (pc.prolific_study != NULL)) {
		err_set(&eb, IF_EINPUT, "--prolific-study and --prolific-code "
					"go together");
		goto fail;
	}
	aws_creds_env_from_process(&env);
	if (aws_creds_find(&env, NULL, &creds, &eb) != IF_OK)
		goto fail;
	if (creds == NULL) {
		/* The simulator's documented pair guards nothing: refused. */
		err_set(&eb, IF_EINPUT,
			"no credentials: the daemon's key pair must be set "
			"(AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a "
			"credentials file, or systemd credentials)");
		goto fail;
	}
	cfg.listen_host = host;
	cfg.port = port;
	cfg.crowd_off = true;
	cfg.access_key_id = creds->access_key_id;
	cfg.secret_access_key = creds->secret_access_key;
	cfg.session_token = creds->session_token;
	cfg.people = &pc;
	if (loop_signals_init(&unblocked, &eb) != IF_OK)
		goto fail;
	sim = sim_new(&cfg, &eb);
	if (sim == NULL)
		goto fail;
	printf("intofocus serve: MTurk API and S3 endpoint: "
	       "http://%s%s%s:%u\n",
	       strchr(host, ':') != NULL ? "[" : "", host,
	       strchr(host, ':') != NULL ? "]" : "", sim_port(sim));
	printf("intofocus serve: participants' address: %s\n",
	       pc.public_url != NULL ? pc.public_url : "(the listening one)");
	printf("intofocus serve: accepting access key %s from %s; state %s; "
	       "share %d; Prolific %s; trusted proxy %s\n",
	       creds->access_key_id, creds->source, cfg.state_dir, pc.share,
	       pc.prolific_study != NULL ? pc.prolific_study : "off",
	       pc.trusted_proxy != NULL ? pc.trusted_proxy : "none");
	printf("intofocus serve: experiments known: %zu%s\n", nexp,
	       nexp == 0 ? " (participants with no task wait until nothing "
			   "has been open for 4 days)"
			 : "");
	fflush(stdout);
	while (!loop_stop_requested())
		loop_sleep(&unblocked, 1000);
	printf("intofocus serve: stopping\n");
	goto out;
fail:
	rc = cmd_fail("serve", &eb);
out:
	sim_free(sim);
	aws_creds_free(creds);
	for (size_t i = 0; i < nexp; i++)
		serve_study_cleanup(&studies[i]);
	return rc;
}
