/*
 * intofocus run: the daemon (spec sections 2, 9, 10).
 *
 *   intofocus run EXPERIMENT.yaml [--state-dir DIR] [-v] [--threads N]
 *                 [--sim-seed N] [--sim-delay MS] [--sim-memory]
 *                 [--sim-refuse OP[:TEXT]=ERROR]...
 *
 * Start-up: load the experiment, block the signals (before any thread
 * exists, so every thread inherits the mask), open and recover the state,
 * find the credentials, start the embedded simulator when the experiment
 * says `environment: simulator` without an endpoint, connect the MTurk
 * client and the image host, add the experiment's new images, READY=1.
 * Then the loop: due steps one at a time, progress to systemd and the
 * terminal, sleep until the next step is due or a signal arrives.  It ends
 * when every image is final (done or failed), or after SIGTERM/SIGINT once
 * the step under way is finished; both exit 0.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RUN_SIM_REFUSALS_MAX 32

struct run_opts {
	const char *exp_path;
	const char *state_dir;
	int verbose;
	int64_t threads;
	int64_t sim_seed;
	int64_t sim_delay_ms;
	bool sim_memory;
	/* argv's --sim-refuse rules (the simulator checks each, and its cap). */
	const char *sim_refusals[RUN_SIM_REFUSALS_MAX];
	size_t sim_nrefusals;
};

/*
 * The daemon's clock.  INTOFOCUS_TEST_TIME_WARP=N (a test hook) makes it
 * run N times faster from the start of the run, so that HIT lifetimes and
 * extensions can be tested in seconds, and INTOFOCUS_TEST_TIME_OFFSET=S
 * moves it S seconds ahead (a restart a day later); the signing clock is
 * not affected.
 */
struct run_clock {
	int64_t start;
	int64_t warp;
	int64_t offset; /* INTOFOCUS_TEST_TIME_OFFSET: seconds added */
};

static int64_t
wall_clock(void *arg)
{
	const struct run_clock *c = arg;
	int64_t now = (int64_t)time(NULL);

	if (c == NULL)
		return now;
	if (c->warp > 1)
		now = c->start + (now - c->start) * c->warp;
	return now + c->offset;
}

static void
run_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus run EXPERIMENT.yaml [--state-dir DIR] [-v] "
		"[--threads N]\n"
		"                     [--sim-seed N] [--sim-delay MS] "
		"[--sim-memory]\n"
		"                     [--sim-refuse OP[:TEXT]=ERROR]...\n"
		"\n"
		"Drives every image of the experiment through its stages until "
		"all are final,\nthen exits 0.  Resumes from its state after "
		"any stop.\n"
		"\n"
		"  --state-dir DIR   the state [default: $STATE_DIRECTORY, else "
		"./state/NAME]\n"
		"  -v, --verbose     debug logging\n"
		"  --threads N       median filter threads [default: one per "
		"core]\n"
		"  --sim-seed N      the embedded simulator's seed [default: 1]\n"
		"  --sim-delay MS    simulated workers' delay [default: 0]\n"
		"  --sim-memory      the embedded simulator keeps nothing on disk "
		"(faster for\n"
		"                    large runs; a restarted daemon then reposts "
		"its open HITs)\n"
		"  --sim-refuse OP[:TEXT]=ERROR\n"
		"                    the embedded simulator answers that "
		"operation (or those of\n"
		"                    its requests whose body contains TEXT) with "
		"ERROR, as\n"
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
		{"sim-memory", no_argument, NULL, 'M'},
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
			if (parse_int64(optarg, 0, INT64_MAX, &o->sim_seed) != 0)
				return err_set(eb, IF_EINPUT,
					       "--sim-seed \"%s\" is not a "
					       "whole number",
					       optarg);
			break;
		case 'D':
			if (parse_int64(optarg, 0, 3600000, &o->sim_delay_ms) != 0)
				return err_set(eb, IF_EINPUT,
					       "--sim-delay \"%s\" is not "
					       "0..3600000 ms",
					       optarg);
			break;
		case 'M':
			o->sim_memory = true;
			break;
		case 'R':
			if (o->sim_nrefusals == RUN_SIM_REFUSALS_MAX)
				return err_set(eb, IF_EINPUT,
					       "--sim-refuse \"%s\": at most %d "
					       "rules",
					       optarg, RUN_SIM_REFUSALS_MAX);
			o->sim_refusals[o->sim_nrefusals++] = optarg;
			break;
		case 'h':
			run_usage(stdout);
			return -1;
		case ':':
			return err_set(eb, IF_EINPUT, "%s needs a value",
				       argv[optind - 1]);
		default:
			return err_set(eb, IF_EINPUT, "unknown option \"%s\"",
				       argv[optind - 1]);
		}
	}
	if (optind != argc - 1)
		return err_set(eb, IF_EINPUT,
			       "give exactly one EXPERIMENT.yaml");
	o->exp_path = argv[optind];
	return IF_OK;
}

/* --state-dir, else $STATE_DIRECTORY (systemd), else ./state/NAME. */
char *
state_dir_for(const char *given, const char *exp_name)
{
	const char *sd = getenv("STATE_DIRECTORY");
	char buf[1024];

	if (given != NULL)
		return strdup(given);
	if (sd != NULL && sd[0] != '\0') {
		/* systemd may list several directories, colon-separated. */
		size_t n = strcspn(sd, ":");
		snprintf(buf, sizeof(buf), "%.*s", (int)n, sd);
		return strdup(buf);
	}
	snprintf(buf, sizeof(buf), "state/%s", exp_name);
	return strdup(buf);
}

/* Inserts the images of the experiment that the state has not seen. */
static int
sync_images(struct run_ctx *ctx, struct errbuf *eb)
{
	struct image_rec *have = NULL;
	size_t nhave = 0;
	int64_t seq = 0;
	int rc = IF_OK;

	if (store_images_list(ctx->st, &have, &nhave, eb) != IF_OK)
		return eb->code;
	for (size_t i = 0; i < nhave; i++)
		if (have[i].seq >= seq)
			seq = have[i].seq + 1;
	for (size_t i = 0; i < ctx->exp->nimages && rc == IF_OK; i++) {
		const struct exp_image *ei = &ctx->exp->images[i];
		struct image_rec im;
		bool known = false;

		for (size_t j = 0; j < nhave && !known; j++)
			known = strcmp(have[j].id, ei->id) == 0;
		if (known)
			continue;
		memset(&im, 0, sizeof(im));
		snprintf(im.id, sizeof(im.id), "%s", ei->id);
		snprintf(im.file, sizeof(im.file), "%s", ei->path);
		rc = file_fingerprint(ei->path, im.fingerprint, eb);
		if (rc != IF_OK)
			break;
		im.state = IMAGE_RENDER;
		im.stage = 1;
		im.attempt = 1;
		im.started_at = ctx->now(ctx->now_arg);
		im.updated_at = im.started_at;
		im.seq = seq++;
		rc = store_image_insert(ctx->st, &im, eb);
		if (rc == IF_OK)
			log_info("%s/%s: new image (%dx%d, %zu faces in the "
				 "ground truth)",
				 ctx->exp->name, ei->id, ei->width, ei->height,
				 ei->nground_truth);
	}
	free(have);
	return rc;
}

struct progress {
	size_t images, final, done, failed, paused;
	size_t erring; /* working images whose last step failed */
	int64_t open_hits, total_hits, committed;
	int64_t next_at; /* earliest next_at of a working image, 0 = none */
};

static int
progress_read(struct run_ctx *ctx, struct image_rec **list, size_t *n,
	      struct progress *p, struct errbuf *eb)
{
	memset(p, 0, sizeof(*p));
	if (store_images_list(ctx->st, list, n, eb) != IF_OK ||
	    store_hit_counts(ctx->st, &p->open_hits, &p->total_hits, eb) !=
		    IF_OK ||
	    store_committed_cents(ctx->st, &p->committed, eb) != IF_OK)
		return eb->code;
	p->images = *n;
	for (size_t i = 0; i < *n; i++) {
		const struct image_rec *im = &(*list)[i];
		if (im->state == IMAGE_DONE)
			p->done++;
		else if (im->state == IMAGE_FAILED)
			p->failed++;
		else {
			if (im->state == IMAGE_PAUSED)
				p->paused++;
			if (im->error[0] != '\0')
				p->erring++;
			if (p->next_at == 0 || im->next_at < p->next_at)
				p->next_at = im->next_at > 0 ? im->next_at : 1;
		}
	}
	p->final = p->done + p->failed;
	return IF_OK;
}

static void
progress_say(struct run_ctx *ctx, const struct progress *p, bool last)
{
	char line[256], money[32], erring[64] = "";

	cfg_format_money(p->committed, money, sizeof(money));
	if (p->erring > 0)
		snprintf(erring, sizeof(erring),
			 ", %zu retrying after errors (see status)", p->erring);
	snprintf(line, sizeof(line),
		 "%zu/%zu images final, %lld HITs open, $%s committed%s%s%s",
		 p->final, p->images, (long long)p->open_hits, money,
		 p->failed > 0 ? ", some failed" : "",
		 p->paused > 0 ? ", some paused for budget" : "", erring);
	notify_status(&ctx->notify, line);
	if (ctx->tty) {
		fprintf(stderr, "\r\033[K%s%s", line, last ? "\n" : "");
		fflush(stderr);
	}
}

/* SIGHUP: reread the file under the rules of spec section 3. */
static int
run_reload(struct run_ctx *ctx, struct sim_view *simexp,
	   struct errbuf *eb)
{
	struct experiment *fresh = NULL;
	struct exp_errors errs = {0};
	struct exp_diff diff;
	struct image_rec *list = NULL;
	const char **started = NULL;
	struct errbuf why = {0};
	size_t n = 0;
	int rc;

	notify_reloading(&ctx->notify);
	log_info("%s: SIGHUP: rereading %s", ctx->exp->name, ctx->exp_path);
	rc = exp_load(ctx->exp_path, &fresh, &errs, &why);
	if (rc != IF_OK) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			log_warnx("%s", errs.msgs[i]);
		log_warnx("%s: reload refused, the old plan continues: %s",
			  ctx->exp->name, why.msg);
		goto out;
	}
	if (store_images_list(ctx->st, &list, &n, eb) != IF_OK) {
		rc = eb->code;
		goto fatal;
	}
	started = calloc(n + 1, sizeof(*started));
	if (started == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto fatal;
	}
	for (size_t i = 0; i < n; i++)
		started[i] = list[i].id;
	memset(&diff, 0, sizeof(diff));
	if (exp_diff(ctx->exp, fresh, started, n, &diff, &why) != IF_OK) {
		log_warnx("%s: reload refused, the old plan continues: %s",
			  ctx->exp->name, why.msg);
		exp_diff_cleanup(&diff);
		goto out;
	}
	if (diff.budget_changed) {
		char a[32], b[32];
		cfg_format_money(diff.old_budget_cents, a, sizeof(a));
		cfg_format_money(diff.new_budget_cents, b, sizeof(b));
		log_info("%s: budget $%s -> $%s", ctx->exp->name, a, b);
	}
	exp_diff_cleanup(&diff);
	exp_free(ctx->exp);
	ctx->exp = fresh;
	fresh = NULL;
	if (ctx->sim != NULL) {
		sim_view_cleanup(simexp);
		if (sim_view_init(simexp, ctx->exp, eb) != IF_OK ||
		    sim_add_experiment(ctx->sim, &simexp->exp, eb) != IF_OK) {
			rc = eb->code;
			goto fatal;
		}
	}
	/*
	 * Paused images look at the budget again now, and images backing off
	 * after errors try again now (the operator may have mended the cause).
	 */
	for (size_t i = 0; i < n; i++)
		if (list[i].state == IMAGE_PAUSED ||
		    (list[i].error[0] != '\0' && list[i].state != IMAGE_DONE &&
		     list[i].state != IMAGE_FAILED)) {
			list[i].next_at = 0;
			if (store_image_update(ctx->st, &list[i], eb) != IF_OK) {
				rc = eb->code;
				goto fatal;
			}
		}
	rc = sync_images(ctx, eb);
	if (rc != IF_OK)
		goto fatal;
	log_info("%s: reloaded", ctx->exp->name);
out:
	rc = IF_OK;
fatal:
	exp_errors_cleanup(&errs);
	exp_free(fresh);
	free(started);
	free(list);
	notify_ready(&ctx->notify);
	return rc;
}

/*
 * The requests sent per operation (pages, retries and read-backs
 * included), for the operator's view of what polling costs:
 * "crash: MTurk requests: CreateHITWithHITType 6, ListReviewableHITs 9, ...".
 */
static void
log_calls_by_operation(const struct run_ctx *ctx)
{
	const char *const *ops = mturk_operation_names();
	char line[1024];
	size_t len = 0;

	line[0] = '\0';
	for (size_t i = 0; ops[i] != NULL && len < sizeof(line); i++) {
		uint64_t k = mturk_client_sent(ctx->client, ops[i]);
		int w;

		if (k == 0)
			continue;
		w = snprintf(line + len, sizeof(line) - len, "%s%s %llu",
			     len > 0 ? ", " : "", ops[i], (unsigned long long)k);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	log_info("%s: MTurk requests: %s (%llu in all)", ctx->exp->name,
		 len > 0 ? line : "none",
		 (unsigned long long)mturk_client_sent(ctx->client, NULL));
}

static int
run_loop(struct run_ctx *ctx, const sigset_t *unblocked,
	 struct sim_view *simexp, struct errbuf *eb)
{
	int64_t last_watchdog = 0;

	for (;;) {
		struct image_rec *list = NULL;
		struct progress p;
		size_t n = 0;
		int64_t now, wait_ms;

		if (loop_take_reload() &&
		    run_reload(ctx, simexp, eb) != IF_OK)
			return eb->code;
		if (progress_read(ctx, &list, &n, &p, eb) != IF_OK) {
			free(list);
			return eb->code;
		}
		if (p.final == p.images) {
			progress_say(ctx, &p, true);
			free(list);
			return IF_OK;
		}
		now = ctx->now(ctx->now_arg);
		/*
		 * One ListReviewableHITs per HIT type decides which WAIT images
		 * read their assignments this pass (poll.c); then the finished
		 * HITs leave the Reviewable list.
		 */
		if (poll_round(ctx, list, n, now, eb) != IF_OK ||
		    hits_review_sweep(ctx, now, eb) != IF_OK) {
			poll_round_end(ctx);
			free(list);
			return eb->code;
		}
		for (size_t i = 0; i < n && !loop_stop_requested(); i++) {
			struct image_rec *im = &list[i];
			if (im->state == IMAGE_DONE || im->state == IMAGE_FAILED ||
			    im->next_at > now)
				continue;
			if (image_step(ctx, im, eb) != IF_OK) {
				poll_round_end(ctx);
				free(list);
				return eb->code;
			}
		}
		poll_round_end(ctx);
		free(list);
		if (loop_stop_requested()) {
			if (progress_read(ctx, &list, &n, &p, eb) == IF_OK)
				progress_say(ctx, &p, true);
			free(list);
			log_info("%s: stopping on request; run again to go on",
				 ctx->exp->name);
			return IF_OK;
		}
		if (progress_read(ctx, &list, &n, &p, eb) != IF_OK) {
			free(list);
			return eb->code;
		}
		free(list);
		progress_say(ctx, &p, false);
		now = ctx->now(ctx->now_arg);
		if (ctx->notify.watchdog_usec > 0 || now != last_watchdog) {
			notify_watchdog(&ctx->notify);
			last_watchdog = now;
		}
		if (p.final == p.images)
			continue;
		wait_ms = p.next_at > now ? (p.next_at - now) * 1000 : 0;
		if (ctx->now_arg != NULL)
			wait_ms /= ((const struct run_clock *)ctx->now_arg)->warp;
		/* Wake for the watchdog at half its interval. */
		if (ctx->notify.watchdog_usec > 0 &&
		    wait_ms > (int64_t)(ctx->notify.watchdog_usec / 2000))
			wait_ms = (int64_t)(ctx->notify.watchdog_usec / 2000);
		if (wait_ms > 0)
			loop_sleep(unblocked, wait_ms);
	}
}

int
cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct run_ctx ctx;
	struct errbuf eb = {0};
	struct exp_errors errs = {0};
	struct aws_creds_env env;
	struct mturk_client_config ccfg;
	struct mturk_host_config hcfg;
	struct sim_view simexp;
	struct run_clock clock = {0, 1, 0};
	sigset_t unblocked;
	char endpoint[256], bucket[96];
	char *state_dir = NULL, *sim_dir = NULL;
	int rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&simexp, 0, sizeof(simexp));
	rc = parse_run_opts(argc, argv, &o, &eb);
	if (rc == -1)
		return IF_OK;
	if (rc != IF_OK) {
		fprintf(stderr, "intofocus run: %s\nTry \"intofocus run "
				"--help\".\n",
			eb.msg);
		return IF_EINPUT;
	}
	log_init(o.verbose, false);
	ctx.exp_path = o.exp_path;
	ctx.threads = (int)o.threads;
	ctx.jpeg_quality = IMG_DEFAULT_JPEG_QUALITY;
	ctx.tty = isatty(STDERR_FILENO) && getenv("JOURNAL_STREAM") == NULL;
	ctx.now = wall_clock;
	{
		const char *warp = getenv("INTOFOCUS_TEST_TIME_WARP");
		const char *offset = getenv("INTOFOCUS_TEST_TIME_OFFSET");
		if (warp != NULL &&
		    parse_int64(warp, 2, 100000, &clock.warp) == 0) {
			clock.start = (int64_t)time(NULL);
			ctx.now_arg = &clock;
		}
		if (offset != NULL &&
		    parse_int64(offset, 0, 10LL * 365 * 86400, &clock.offset) == 0)
			ctx.now_arg = &clock;
	}
	notify_init(&ctx.notify);
	{
		/* The kill -9 suites' hook (see crash_point in stage.c). */
		const char *crash = getenv("INTOFOCUS_TEST_CRASH_AT");
		if (crash != NULL &&
		    parse_int64(crash, 1, INT64_MAX, &ctx.crash_at) != 0)
			ctx.crash_at = 0;
		ctx.crash_label = getenv("INTOFOCUS_TEST_CRASH_LABEL");
	}

	rc = exp_load(o.exp_path, &ctx.exp, &errs, &eb);
	if (rc != IF_OK) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		if (errs.nmsgs == 0)
			fprintf(stderr, "intofocus run: %s\n", eb.msg);
		exp_errors_cleanup(&errs);
		return rc;
	}
	exp_errors_cleanup(&errs);
	/* Block the signals before any thread (simulator, filter) exists. */
	if ((rc = loop_signals_init(&unblocked, &eb)) != IF_OK)
		goto done;
	state_dir = state_dir_for(o.state_dir, ctx.exp->name);
	if (state_dir == NULL) {
		rc = err_set(&eb, IF_ERUNTIME, "out of memory");
		goto done;
	}
	if ((rc = state_open(state_dir, ctx.exp->name, &ctx.st, &eb)) != IF_OK ||
	    (rc = run_salt_load(&ctx, &eb)) != IF_OK ||
	    (rc = run_note_start(&ctx, &eb)) != IF_OK)
		goto done;

	aws_creds_env_from_process(&env);
	if (ctx.exp->mturk.environment == EXP_ENV_SIMULATOR) {
		rc = aws_creds_find(&env, ctx.exp->mturk.profile, &ctx.creds, &eb);
		if (rc == IF_OK && ctx.creds == NULL)
			ctx.creds = aws_creds_new(SIM_DEFAULT_ACCESS_KEY_ID,
						  SIM_DEFAULT_SECRET_ACCESS_KEY,
						  NULL, "the simulator's pair");
	} else {
		rc = aws_creds_load(&env, ctx.exp->mturk.profile, &ctx.creds, &eb);
	}
	if (rc != IF_OK)
		goto done;
	if (ctx.creds == NULL) {
		rc = err_set(&eb, IF_ERUNTIME, "out of memory");
		goto done;
	}

	/* A rule that would not apply must not pass for a tested one. */
	if (o.sim_nrefusals > 0 &&
	    (ctx.exp->mturk.endpoint != NULL ||
	     ctx.exp->mturk.environment != EXP_ENV_SIMULATOR)) {
		rc = err_set(&eb, IF_EINPUT,
			     "--sim-refuse \"%s\": %s does not use the embedded "
			     "simulator (mturk.environment: simulator, no "
			     "endpoint)",
			     o.sim_refusals[0], o.exp_path);
		goto done;
	}
	if (ctx.exp->mturk.endpoint != NULL) {
		snprintf(endpoint, sizeof(endpoint), "%s", ctx.exp->mturk.endpoint);
	} else if (ctx.exp->mturk.environment == EXP_ENV_SIMULATOR) {
		struct sim_config scfg;
		if ((rc = sim_view_init(&simexp, ctx.exp, &eb)) != IF_OK)
			goto done;
		memset(&scfg, 0, sizeof(scfg));
		scfg.listen_host = "127.0.0.1";
		scfg.seed = (uint64_t)o.sim_seed;
		scfg.crowd_delay_ms = o.sim_delay_ms;
		scfg.access_key_id = ctx.creds->access_key_id;
		scfg.secret_access_key = ctx.creds->secret_access_key;
		scfg.experiments = &simexp.exp;
		scfg.nexperiments = 1;
		scfg.refusals = o.sim_refusals;
		scfg.nrefusals = o.sim_nrefusals;
		/*
		 * The embedded simulator keeps its HITs beside our state, so a
		 * daemon restarted after kill -9 finds them again.
		 */
		if (!o.sim_memory) {
			sim_dir = path_join(state_dir, "simulator");
			if (sim_dir == NULL) {
				rc = err_set(&eb, IF_ERUNTIME, "out of memory");
				goto done;
			}
			scfg.state_dir = sim_dir;
		}
		ctx.sim = sim_new(&scfg, &eb);
		if (ctx.sim == NULL) {
			rc = eb.code != IF_OK ? eb.code : IF_ERUNTIME;
			goto done;
		}
		snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
			 sim_port(ctx.sim));
		log_info("%s: embedded simulator at %s (lab mode: open it in a "
			 "browser)",
			 ctx.exp->name, endpoint);
		for (size_t i = 0; i < o.sim_nrefusals; i++)
			log_info("%s: the embedded simulator refuses %s",
				 ctx.exp->name, o.sim_refusals[i]);
	} else {
		snprintf(endpoint, sizeof(endpoint), "%s",
			 ctx.exp->mturk.environment == EXP_ENV_PRODUCTION
				 ? MTURK_ENDPOINT_PRODUCTION
				 : MTURK_ENDPOINT_SANDBOX);
	}

	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.endpoint = endpoint;
	ccfg.region = ctx.exp->mturk.region;
	ccfg.creds = ctx.creds;
	if ((rc = mturk_client_new(&ccfg, &ctx.client, &eb)) != IF_OK)
		goto done;

	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.creds = ctx.creds;
	switch (ctx.exp->images_host.kind) {
	case EXP_HOST_SIMULATOR:
		snprintf(bucket, sizeof(bucket), "intofocus-%s", ctx.exp->name);
		hcfg.kind = MTURK_HOST_SIMULATOR;
		hcfg.bucket = bucket;
		hcfg.endpoint = endpoint;
		hcfg.path_style = true;
		break;
	case EXP_HOST_S3:
		hcfg.kind = MTURK_HOST_S3;
		hcfg.bucket = ctx.exp->images_host.bucket;
		hcfg.region = ctx.exp->images_host.region;
		hcfg.prefix = ctx.exp->images_host.prefix;
		hcfg.endpoint = ctx.exp->images_host.endpoint;
		hcfg.path_style = ctx.exp->images_host.endpoint != NULL;
		hcfg.url_expiry = ctx.exp->images_host.url_expiry;
		break;
	case EXP_HOST_LOCAL:
		hcfg.kind = MTURK_HOST_LOCAL;
		hcfg.dir = ctx.exp->images_host.dir;
		hcfg.base_url = ctx.exp->images_host.base_url;
		break;
	}
	if ((rc = mturk_image_host_new(&hcfg, &ctx.host, &eb)) != IF_OK)
		goto done;
	if ((rc = sync_images(&ctx, &eb)) != IF_OK)
		goto done;
	log_info("%s: running from %s (state %s, credentials from %s)",
		 ctx.exp->name, o.exp_path, state_path(ctx.st),
		 ctx.creds->source);
	notify_ready(&ctx.notify);
	rc = run_loop(&ctx, &unblocked, &simexp, &eb);
	notify_stopping(&ctx.notify);
	if (rc == IF_OK) {
		struct image_rec *list = NULL;
		struct progress p;
		size_t n = 0;
		if (progress_read(&ctx, &list, &n, &p, &eb) == IF_OK &&
		    p.final == p.images) {
			log_info("%s: all %zu images final (%zu done, %zu "
				 "failed); final images in %s",
				 ctx.exp->name, p.images, p.done, p.failed,
				 ctx.exp->output_dir);
			for (size_t i = 0; i < n; i++)
				if (list[i].state == IMAGE_FAILED)
					log_warnx("%s/%s: failed: %s",
						  ctx.exp->name, list[i].id,
						  list[i].reason);
		}
		free(list);
		log_info("%s: %llu MTurk operations this run", ctx.exp->name,
			 (unsigned long long)ctx.api_calls);
		log_calls_by_operation(&ctx);
	}
done:
	img_renderer_free(ctx.renderer);
	mturk_image_host_free(ctx.host);
	mturk_client_free(ctx.client);
	sim_free(ctx.sim);
	sim_view_cleanup(&simexp);
	aws_creds_free(ctx.creds);
	state_close(ctx.st);
	if (rc != IF_OK && ctx.exp != NULL)
		err_prefix(&eb, "%s", ctx.exp->name);
	exp_free(ctx.exp);
	free(state_dir);
	free(sim_dir);
	if (rc != IF_OK)
		return cmd_fail("run", &eb);
	return IF_OK;
}
