/*
 * daemon/engine.c - the daemon behind "intofocus run" (spec sections 2, 9,
 * 10), without its command line.
 *
 * engine_open() is the start-up: load the experiment, block the signals
 * (before any thread exists, so every thread inherits the mask), open and
 * recover the state, find the credentials, start the embedded simulator
 * when the experiment says `environment: simulator` without an endpoint,
 * connect the MTurk client and the image host, add the experiment's new
 * images.  engine_run() is the loop: due steps one at a time, progress to
 * systemd and the terminal, sleep until the next step is due or a signal
 * arrives.  It ends when every image is final (done or failed), or after
 * SIGTERM/SIGINT once the step under way is finished.  engine_pass() is
 * one turn of that loop without the sleep, for tests that keep the clock.
 * With recruitment on Prolific each pass ends with recruit.c's step
 * (approvals and bonuses), and the run ends only once it is idle too.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "daemon/recruit.h"
#include "mturk/mturk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

struct engine {
	struct run_ctx ctx;
	struct engine_config cfg;
	struct run_clock clock;
	struct sim_view simexp; /* the embedded simulator's view, if any */
	struct recruit *recruit; /* Prolific's step, or NULL (mturk) */
	sigset_t unblocked;	/* the mask loop_sleep() waits under */
	char *state_dir;
	char *sim_dir;
	char endpoint[256];
	char bucket[96];
	/*
	 * Requests of the MTurk clients a reload replaced (follow_commit),
	 * per operation of mturk_operation_names() then in all; NULL until
	 * one is replaced.
	 */
	uint64_t *sent_before;
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

/* The embedded simulator on a test's clock (engine_config.now). */
static int64_t
test_clock_ms(void *arg)
{
	const struct engine *e = arg;

	return e->cfg.now(e->cfg.now_arg) * 1000;
}

/* The clock, and the test hooks the environment may set. */
static void
engine_hooks(struct engine *e)
{
	struct run_ctx *ctx = &e->ctx;
	const char *warp = getenv("INTOFOCUS_TEST_TIME_WARP");
	const char *offset = getenv("INTOFOCUS_TEST_TIME_OFFSET");
	const char *crash = getenv("INTOFOCUS_TEST_CRASH_AT");

	e->clock = (struct run_clock){0, 1, 0};
	ctx->now = wall_clock;
	if (e->cfg.now != NULL) {
		ctx->now = e->cfg.now;
		ctx->now_arg = e->cfg.now_arg;
	} else {
		if (warp != NULL &&
		    parse_int64(warp, 2, 100000, &e->clock.warp) == 0) {
			e->clock.start = (int64_t)time(NULL);
			ctx->now_arg = &e->clock;
		}
		if (offset != NULL &&
		    parse_int64(offset, 0, 10LL * 365 * 86400,
				&e->clock.offset) == 0)
			ctx->now_arg = &e->clock;
	}
	/* The kill -9 suites' hook (see crash_point in stage.c). */
	if (crash != NULL &&
	    parse_int64(crash, 1, INT64_MAX, &ctx->crash_at) != 0)
		ctx->crash_at = 0;
	ctx->crash_label = getenv("INTOFOCUS_TEST_CRASH_LABEL");
}

/*
 * The new images one transaction of sync_images inserts: one commit (one
 * fsync) per chunk, not per image, at first start of a large study.
 */
#define SYNC_CHUNK 500
/* Images named one by one in the journal; past that, counted per chunk. */
#define SYNC_LOGGED 20

/*
 * Inserts the images of the experiment that the state has not seen, a
 * chunk per transaction.  A crash between chunks leaves the chunks
 * committed and the rest unseen: the next start inserts the rest (each
 * image is looked up first; seq goes on from the largest).
 */
static int
sync_images(struct run_ctx *ctx, struct errbuf *eb)
{
	size_t added = 0, in_chunk = 0;
	int64_t seq = 0;
	int rc = IF_OK;

	/* One lookup per image of the file: no list of the state's. */
	if (store_image_next_seq(ctx->st, &seq, eb) != IF_OK)
		return eb->code;
	for (size_t i = 0; i < ctx->exp->nimages && rc == IF_OK; i++) {
		const struct exp_image *ei = &ctx->exp->images[i];
		struct image_rec im;
		bool known = false;

		if (store_image_get(ctx->st, ei->id, &im, &known, eb) != IF_OK)
			rc = eb->code;
		if (rc != IF_OK || known)
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
		if (in_chunk == 0)
			rc = state_begin(ctx->st, eb);
		if (rc == IF_OK)
			rc = store_image_insert(ctx->st, &im, eb);
		if (rc != IF_OK)
			break;
		if (++added <= SYNC_LOGGED)
			log_info("%s/%s: new image (%dx%d, %zu faces in the "
				 "ground truth)",
				 ctx->exp->name, ei->id, ei->width,
				 ei->height, ei->nground_truth);
		if (++in_chunk == SYNC_CHUNK) {
			rc = state_commit(ctx->st, eb);
			in_chunk = 0;
			if (rc == IF_OK) {
				log_info("%s: %zu new images so far",
					 ctx->exp->name, added);
				run_crash_point(ctx, "images added");
			}
		}
	}
	if (rc == IF_OK && in_chunk > 0)
		rc = state_commit(ctx->st, eb);
	if (rc != IF_OK) {
		state_rollback(ctx->st);
		return rc;
	}
	if (added > SYNC_LOGGED)
		log_info("%s: %zu new images in all (the first %d named above)",
			 ctx->exp->name, added, SYNC_LOGGED);
	return IF_OK;
}

/* The state: opened (created, recovered) with its salt. */
static int
engine_state_open(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;

	e->state_dir = state_dir_for(e->cfg.state_dir, ctx->exp->name);
	if (e->state_dir == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	if (state_open(e->state_dir, ctx->exp->name, &ctx->st, eb) != IF_OK ||
	    run_salt_load(ctx, eb) != IF_OK ||
	    run_quals_check(ctx, eb) != IF_OK ||
	    run_note_start(ctx, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/*
 * The credentials exp's mturk.profile names, through the chain the AWS
 * tools use (mturk/credentials.c), in a new *out: at start, and at a
 * reload that changes the profile.  The simulator takes any credentials
 * the chain finds, else its own.
 */
static int
creds_for(const struct experiment *exp, struct aws_creds **out,
	  struct errbuf *eb)
{
	struct aws_creds_env env;
	int rc;

	*out = NULL;
	aws_creds_env_from_process(&env);
	if (exp->mturk.environment == EXP_ENV_SIMULATOR) {
		rc = aws_creds_find(&env, exp->mturk.profile, out, eb);
		if (rc == IF_OK && *out == NULL)
			*out = aws_creds_new(
				SIM_DEFAULT_ACCESS_KEY_ID,
				SIM_DEFAULT_SECRET_ACCESS_KEY, NULL,
				"the simulator's pair");
	} else {
		rc = aws_creds_load(&env, exp->mturk.profile, out, eb);
	}
	if (rc != IF_OK)
		return rc;
	if (*out == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

/*
 * The embedded simulator, listening on loopback; e->endpoint its URL.  It
 * keeps its HITs beside our state (unless sim_memory), so that a daemon
 * restarted after kill -9 finds them again.
 */
static int
engine_sim_start(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	struct sim_config scfg;

	if (sim_view_init(&e->simexp, ctx->exp, eb) != IF_OK)
		return eb->code;
	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = e->cfg.sim_seed;
	scfg.crowd_delay_ms = e->cfg.sim_delay_ms;
	scfg.call_latency_ms = e->cfg.sim_latency_ms;
	scfg.push_off = e->cfg.sim_no_push;
	scfg.access_key_id = ctx->creds->access_key_id;
	scfg.secret_access_key = ctx->creds->secret_access_key;
	scfg.experiments = &e->simexp.exp;
	scfg.nexperiments = 1;
	scfg.refusals = e->cfg.sim_refusals;
	scfg.nrefusals = e->cfg.sim_nrefusals;
	if (e->cfg.now != NULL) {
		scfg.clock_ms = test_clock_ms;
		scfg.clock_ctx = e;
	}
	if (!e->cfg.sim_memory) {
		e->sim_dir = path_join(e->state_dir, "simulator");
		if (e->sim_dir == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
		scfg.state_dir = e->sim_dir;
	}
	ctx->sim = sim_new(&scfg, eb);
	if (ctx->sim == NULL)
		return eb->code != IF_OK ? eb->code : IF_ERUNTIME;
	snprintf(e->endpoint, sizeof(e->endpoint), "http://127.0.0.1:%u",
		 sim_port(ctx->sim));
	log_info("%s: embedded simulator at %s (lab mode: open it in a "
		 "browser)",
		 ctx->exp->name, e->endpoint);
	for (size_t i = 0; i < e->cfg.sim_nrefusals; i++)
		log_info("%s: the embedded simulator refuses %s",
			 ctx->exp->name, e->cfg.sim_refusals[i]);
	return IF_OK;
}

/* The MTurk endpoint: given, the embedded simulator, or MTurk's own. */
static int
engine_endpoint(struct engine *e, struct errbuf *eb)
{
	const struct experiment *exp = e->ctx.exp;

	/* A rule that would not apply must not pass for a tested one. */
	if (e->cfg.sim_nrefusals > 0 &&
	    (exp->mturk.endpoint != NULL ||
	     exp->mturk.environment != EXP_ENV_SIMULATOR))
		return err_set(eb, IF_EINPUT,
			       "--sim-refuse \"%s\": %s does not use the "
			       "embedded simulator (mturk.environment: "
			       "simulator, no endpoint)",
			       e->cfg.sim_refusals[0], e->cfg.exp_path);
	if (exp->mturk.endpoint != NULL)
		snprintf(e->endpoint, sizeof(e->endpoint), "%s",
			 exp->mturk.endpoint);
	else if (exp->mturk.environment == EXP_ENV_SIMULATOR)
		return engine_sim_start(e, eb);
	else
		snprintf(e->endpoint, sizeof(e->endpoint), "%s",
			 exp->mturk.environment == EXP_ENV_PRODUCTION
				 ? MTURK_ENDPOINT_PRODUCTION
				 : MTURK_ENDPOINT_SANDBOX);
	return IF_OK;
}

/*
 * Under systemd's watchdog, one call with its retries must end well within
 * the interval: a transfer takes at most a quarter of it and no retry
 * starts past half of it, so a service that stops answering costs at most
 * three quarters, and the pass pings between images (stage.c).  Without
 * these bounds the defaults (30 s a transfer, five tries) outlast
 * WatchdogSec=60s and systemd kills a daemon that was only waiting.
 */
static void
engine_fit_watchdog(const struct notifier *n, struct mturk_client_config *cc)
{
	int64_t usec = (int64_t)n->watchdog_usec;

	if (usec <= 0)
		return;
	if (usec / 4000 < 30000)
		cc->http.timeout_ms = usec / 4000 > 1000 ? (long)(usec / 4000)
							 : 1000;
	if (cc->http.timeout_ms > 0 &&
	    cc->http.connect_timeout_ms == 0 && cc->http.timeout_ms < 10000)
		cc->http.connect_timeout_ms = cc->http.timeout_ms;
	cc->retry.max_elapsed_s = usec / 2000000 > 1 ? usec / 2000000 : 1;
}

/*
 * A client to endpoint with exp's region and CAs, run's pace and clock,
 * signing with creds (borrowed: they must outlive the client).
 */
static int
engine_client_make(const struct engine *e, const struct experiment *exp,
		   const char *endpoint, const struct aws_creds *creds,
		   struct mturk_client **out, struct errbuf *eb)
{
	struct mturk_client_config ccfg;

	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.endpoint = endpoint;
	ccfg.region = exp->mturk.region;
	ccfg.creds = creds;
	ccfg.http.ca_file = exp->mturk.ca_file;
	if (e->cfg.now != NULL) {
		ccfg.clock.now = e->cfg.now;
		ccfg.clock.ctx = e->cfg.now_arg;
	}
	/*
	 * The pace is MTurk's (struct mturk_rate); the project's own server
	 * bounds its connections itself.
	 */
	if (exp->mturk.environment == EXP_ENV_SIMULATOR)
		ccfg.rate.per_second = -1;
	engine_fit_watchdog(&e->ctx.notify, &ccfg);
	return mturk_client_new(&ccfg, out, eb);
}

static int
engine_client_open(struct engine *e, struct errbuf *eb)
{
	return engine_client_make(e, e->ctx.exp, e->endpoint, e->ctx.creds,
				  &e->ctx.client, eb);
}

/*
 * exp's image host, signing with creds (borrowed); the simulator's is at
 * endpoint, the API's.
 */
static int
engine_host_make(struct engine *e, const struct experiment *exp,
		 const char *endpoint, const struct aws_creds *creds,
		 struct mturk_image_host **out, struct errbuf *eb)
{
	struct mturk_host_config hcfg;

	memset(&hcfg, 0, sizeof(hcfg));
	hcfg.creds = creds;
	if (e->cfg.now != NULL) {
		hcfg.clock.now = e->cfg.now;
		hcfg.clock.ctx = e->cfg.now_arg;
	}
	switch (exp->images_host.kind) {
	case EXP_HOST_SIMULATOR:
		snprintf(e->bucket, sizeof(e->bucket), "intofocus-%s",
			 exp->name);
		hcfg.kind = MTURK_HOST_SIMULATOR;
		hcfg.bucket = e->bucket;
		hcfg.endpoint = endpoint;
		hcfg.path_style = true;
		/* The same endpoint as the API, so the same CAs. */
		hcfg.http.ca_file = exp->mturk.ca_file;
		break;
	case EXP_HOST_S3:
		hcfg.kind = MTURK_HOST_S3;
		hcfg.bucket = exp->images_host.bucket;
		hcfg.region = exp->images_host.region;
		hcfg.prefix = exp->images_host.prefix;
		hcfg.endpoint = exp->images_host.endpoint;
		hcfg.path_style = exp->images_host.endpoint != NULL;
		hcfg.url_expiry = exp->images_host.url_expiry;
		break;
	case EXP_HOST_LOCAL:
		hcfg.kind = MTURK_HOST_LOCAL;
		hcfg.dir = exp->images_host.dir;
		hcfg.base_url = exp->images_host.base_url;
		break;
	}
	return mturk_image_host_new(&hcfg, out, eb);
}

static int
engine_host_open(struct engine *e, struct errbuf *eb)
{
	return engine_host_make(e, e->ctx.exp, e->endpoint, e->ctx.creds,
				&e->ctx.host, eb);
}

/* Everything after the experiment is loaded, in the order it must be. */
static int
engine_start(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;

	/* Block the signals before any thread (simulator, filter) exists. */
	if (loop_signals_init(&e->unblocked, eb) != IF_OK ||
	    engine_state_open(e, eb) != IF_OK ||
	    creds_for(ctx->exp, &ctx->creds, eb) != IF_OK ||
	    engine_endpoint(e, eb) != IF_OK ||
	    engine_client_open(e, eb) != IF_OK ||
	    engine_host_open(e, eb) != IF_OK || sync_images(ctx, eb) != IF_OK ||
	    stage0_check_start(ctx, eb) != IF_OK ||
	    recruit_open(ctx, NULL, &e->recruit, eb) != IF_OK)
		return eb->code;
	log_info("%s: running from %s (state %s, credentials from %s)",
		 ctx->exp->name, e->cfg.exp_path, state_path(ctx->st),
		 ctx->creds->source);
	return IF_OK;
}

int
engine_open(const struct engine_config *cfg, struct exp_errors *errs,
	    struct engine **out, struct errbuf *eb)
{
	struct engine *e;
	int rc;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	e->cfg = *cfg;
	e->ctx.exp_path = cfg->exp_path;
	e->ctx.threads = cfg->threads;
	e->ctx.jpeg_quality = IMG_DEFAULT_JPEG_QUALITY;
	e->ctx.tty = isatty(STDERR_FILENO) && getenv("JOURNAL_STREAM") == NULL;
	engine_hooks(e);
	notify_init(&e->ctx.notify);
	rc = exp_load(cfg->exp_path, &e->ctx.exp, errs, eb);
	if (rc == IF_OK)
		rc = run_images_index(&e->ctx, eb);
	if (rc == IF_OK)
		rc = engine_start(e, eb);
	if (rc != IF_OK) {
		if (e->ctx.exp != NULL)
			err_prefix(eb, "%s", e->ctx.exp->name);
		engine_close(e);
		return rc;
	}
	*out = e;
	return IF_OK;
}

void
engine_close(struct engine *e)
{
	if (e == NULL)
		return;
	recruit_close(e->recruit);
	run_pool_free(e->ctx.pool); /* before the client and host it clones */
	img_renderer_free(e->ctx.renderer);
	face_detector_free(e->ctx.detector);
	start_source_close(e->ctx.start);
	mturk_image_host_free(e->ctx.host);
	mturk_client_free(e->ctx.client);
	sim_free(e->ctx.sim);
	sim_view_cleanup(&e->simexp);
	aws_creds_free(e->ctx.creds);
	free(e->sent_before);
	state_close(e->ctx.st);
	run_images_unindex(&e->ctx);
	poll_cursors_free(&e->ctx);
	exp_free(e->ctx.exp);
	free(e->state_dir);
	free(e->sim_dir);
	free(e);
}

struct run_ctx *
engine_ctx(struct engine *e)
{
	return &e->ctx;
}

/*
 * The most images one pass works on (store_images_due): its memory
 * and its work stay those of a small study, whatever the study's size.
 */
#define PASS_IMAGES_MAX 1000

/* ---- progress ------------------------------------------------------------ */

/*
 * The counts of progress, from the state's counts (no list of images:
 * memory and work per pass must not grow with the study).
 */
static int
progress_read(struct run_ctx *ctx, struct engine_progress *p,
	      struct errbuf *eb)
{
	struct image_counts c;

	memset(p, 0, sizeof(*p));
	if (store_image_counts(ctx->st, &c, eb) != IF_OK ||
	    store_hit_counts(ctx->st, &p->open_hits, &p->total_hits, eb) !=
		    IF_OK ||
	    store_committed_cents(ctx->st, &p->committed, eb) != IF_OK)
		return eb->code;
	p->images = c.images;
	p->done = c.done;
	p->failed = c.failed;
	p->paused = c.paused;
	p->erring = c.erring;
	p->next_at = c.next_at;
	p->final = p->done + p->failed;
	return IF_OK;
}

/* The progress line: systemd's STATUS=, and the terminal's last line. */
static void
progress_say(struct run_ctx *ctx, const struct engine_progress *p,
	     bool last)
{
	char line[256], money[32], erring[64] = "";

	cfg_format_money(p->committed, money, sizeof(money));
	if (p->erring > 0)
		snprintf(erring, sizeof(erring),
			 ", %zu retrying after errors (see status)",
			 p->erring);
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

/* ---- reload ------------------------------------------------------------- */

/* The fresh experiment replaces the old one, in the simulator too. */
static int
engine_adopt(struct engine *e, struct experiment *fresh, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;

	run_images_unindex(ctx);
	exp_free(ctx->exp);
	ctx->exp = fresh;
	if (run_images_index(ctx, eb) != IF_OK)
		return eb->code;
	/* Stage 0's sources follow the file: opened again on first use. */
	face_detector_free(ctx->detector);
	ctx->detector = NULL;
	start_source_close(ctx->start);
	ctx->start = NULL;
	if (ctx->sim == NULL)
		return IF_OK;
	sim_view_cleanup(&e->simexp);
	if (sim_view_init(&e->simexp, ctx->exp, eb) != IF_OK ||
	    sim_add_experiment(ctx->sim, &e->simexp.exp, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/* MTurk's side of a reload: the client and host that replace run's. */
struct mturk_next {
	struct mturk_client *client; /* NULL: the client stays */
	struct mturk_image_host *host; /* NULL: nothing changes */
	struct aws_creds *creds; /* a changed profile's, or NULL: they stay */
	char endpoint[256];
	const char *region; /* fresh's */
	bool drop_sim; /* the embedded simulator is no longer the endpoint */
};

static bool
str_differs(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/*
 * The endpoint fresh names, as engine_endpoint chose at start.  An
 * embedded simulator is started only at start: a reload that needs one
 * run does not have, or drops the one --sim-refuse rules apply to, is
 * refused (IF_EINPUT in why).
 */
static int
follow_endpoint(const struct engine *e, const struct experiment *fresh,
		char *out, size_t len, struct errbuf *why)
{
	const struct exp_mturk *m = &fresh->mturk;

	if (m->endpoint != NULL && e->cfg.sim_nrefusals > 0)
		return err_set(why, IF_EINPUT,
			       "%s: mturk.endpoint set, but --sim-refuse "
			       "\"%s\" applies to the embedded simulator only",
			       fresh->source, e->cfg.sim_refusals[0]);
	if (m->endpoint != NULL)
		snprintf(out, len, "%s", m->endpoint);
	else if (m->environment != EXP_ENV_SIMULATOR)
		snprintf(out, len, "%s",
			 m->environment == EXP_ENV_PRODUCTION
				 ? MTURK_ENDPOINT_PRODUCTION
				 : MTURK_ENDPOINT_SANDBOX);
	else if (e->ctx.sim != NULL)
		snprintf(out, len, "http://127.0.0.1:%u",
			 sim_port(e->ctx.sim));
	else
		return err_set(why, IF_EINPUT,
			       "%s: mturk.endpoint removed: run starts its "
			       "embedded simulator only at start (restart "
			       "run to use it)",
			       fresh->source);
	return IF_OK;
}

/* What the image host is made of, but the MTurk endpoint. */
static bool
host_differs(const struct exp_host *a, const struct exp_host *b)
{
	return a->kind != b->kind || str_differs(a->bucket, b->bucket) ||
	       str_differs(a->region, b->region) ||
	       str_differs(a->prefix, b->prefix) ||
	       str_differs(a->endpoint, b->endpoint) ||
	       a->url_expiry != b->url_expiry || str_differs(a->dir, b->dir) ||
	       str_differs(a->base_url, b->base_url);
}

/* How a message names a profile the file may leave out. */
static const char *
profile_named(const char *profile)
{
	return profile != NULL ? profile
			       : "(not written: $AWS_PROFILE, else default)";
}

/*
 * A changed mturk.profile: its credentials, read as at start
 * (creds_for), in next->creds.  Credentials that cannot be read refuse
 * the reload: why says the profile, then the chain's reason, which names
 * the file.
 */
static int
follow_creds(const struct engine *e, const struct experiment *fresh,
	     struct mturk_next *next, struct errbuf *why)
{
	const char *was = e->ctx.exp->mturk.profile;
	const char *now = fresh->mturk.profile;

	if (!str_differs(was, now))
		return IF_OK;
	if (creds_for(fresh, &next->creds, why) != IF_OK) {
		err_prefix(why,
			   "%s: mturk.profile %s (was %s): its credentials "
			   "cannot be read, the old ones stay",
			   fresh->source, profile_named(now),
			   profile_named(was));
		return why->code;
	}
	return IF_OK;
}

static bool
same_pair(const struct aws_creds *a, const struct aws_creds *b)
{
	return strcmp(a->access_key_id, b->access_key_id) == 0 &&
	       strcmp(a->secret_access_key, b->secret_access_key) == 0;
}

/*
 * A reload the rules accepted changes mturk.endpoint, region, ca_file or
 * profile, or images_host (only while no image is in the state): a new
 * client and, since the simulator's host is at the API's endpoint, a new
 * image host for fresh, with the profile's credentials and the same pace
 * and clock; or a new host alone.  They are made before anything is
 * replaced; on failure the reason is in why and the reload is refused.
 */
static int
follow_prepare(struct engine *e, const struct experiment *fresh,
	       struct mturk_next *next, struct errbuf *why)
{
	const struct exp_mturk *o = &e->ctx.exp->mturk, *f = &fresh->mturk;
	const struct aws_creds *creds;
	bool api;

	memset(next, 0, sizeof(*next));
	if (follow_creds(e, fresh, next, why) != IF_OK)
		return why->code;
	api = next->creds != NULL || str_differs(o->endpoint, f->endpoint) ||
	      str_differs(o->region, f->region) ||
	      str_differs(o->ca_file, f->ca_file);
	if (!api && !host_differs(&e->ctx.exp->images_host,
				  &fresh->images_host))
		return IF_OK;
	creds = next->creds != NULL ? next->creds : e->ctx.creds;
	snprintf(next->endpoint, sizeof(next->endpoint), "%s", e->endpoint);
	if (api && follow_endpoint(e, fresh, next->endpoint,
				   sizeof(next->endpoint), why) != IF_OK)
		return why->code;
	next->drop_sim = api && f->endpoint != NULL && e->ctx.sim != NULL;
	/* The embedded simulator was given the start's pair, and only it. */
	if (next->creds != NULL && e->ctx.sim != NULL && !next->drop_sim &&
	    !same_pair(next->creds, e->ctx.creds))
		return err_set(why, IF_EINPUT,
			       "%s: mturk.profile %s: its credentials (%s) "
			       "are not the pair the embedded simulator "
			       "accepts, the one run started with (%s); "
			       "restart run to use them",
			       fresh->source, profile_named(f->profile),
			       next->creds->source, e->ctx.creds->source);
	if ((api && engine_client_make(e, fresh, next->endpoint, creds,
				       &next->client, why) != IF_OK) ||
	    engine_host_make(e, fresh, next->endpoint, creds, &next->host,
			     why) != IF_OK)
		return why->code;
	next->region = f->region;
	return IF_OK;
}

static void
follow_discard(struct mturk_next *next)
{
	mturk_image_host_free(next->host);
	mturk_client_free(next->client);
	aws_creds_free(next->creds); /* after the two that borrow them */
	memset(next, 0, sizeof(*next));
}

/* The replaced client's requests still count in the run's summary. */
static void
keep_sent(struct engine *e, const struct mturk_client *old)
{
	const char *const *ops = mturk_operation_names();
	size_t n = 0;

	while (ops[n] != NULL)
		n++;
	if (e->sent_before == NULL &&
	    (e->sent_before = calloc(n + 1, sizeof(uint64_t))) == NULL)
		return; /* only the summary's figures would miss them */
	for (size_t i = 0; i < n; i++)
		e->sent_before[i] += mturk_client_sent(old, ops[i]);
	e->sent_before[n] += mturk_client_sent(old, NULL);
}

/*
 * The new host, and client and credentials if any, replace run's (the
 * old credentials last: the old client and host borrow them).  The
 * pass's threads hold clones of the old ones, made with the pool: the
 * pool goes (a reload runs between passes, its threads idle; and there
 * is none yet while no image is in the state, the only time the rules
 * accept the change) and the next pass makes it again from the new
 * client.  What run learnt of the old service goes too: its HIT and
 * qualification type IDs, the push's cursor, the sweep of its closed
 * HITs.
 */
static void
follow_commit(struct engine *e, struct mturk_next *next)
{
	struct run_ctx *ctx = &e->ctx;

	if (next->host == NULL)
		return;
	run_pool_free(ctx->pool);
	ctx->pool = NULL;
	mturk_image_host_free(ctx->host);
	ctx->host = next->host;
	next->host = NULL;
	if (next->client == NULL) {
		log_info("%s: image host remade", ctx->exp->name);
		return;
	}
	log_info("%s: MTurk client now to %s, region %s (was %s, %s)",
		 ctx->exp->name, next->endpoint, next->region, e->endpoint,
		 ctx->exp->mturk.region);
	keep_sent(e, ctx->client);
	mturk_client_free(ctx->client);
	ctx->client = next->client;
	next->client = NULL;
	snprintf(e->endpoint, sizeof(e->endpoint), "%s", next->endpoint);
	/* Nothing borrows the old credentials now: client and host are new. */
	if (next->creds != NULL) {
		log_info("%s: MTurk credentials now from %s (were from %s)",
			 ctx->exp->name, next->creds->source,
			 ctx->creds->source);
		aws_creds_free(ctx->creds);
		ctx->creds = next->creds;
		next->creds = NULL;
	}
	/* An endpoint of the file's own: the embedded simulator is idle. */
	if (next->drop_sim) {
		log_info("%s: embedded simulator stopped", ctx->exp->name);
		sim_free(ctx->sim);
		ctx->sim = NULL;
		sim_view_cleanup(&e->simexp);
	}
	memset(ctx->hit_type, 0, sizeof(ctx->hit_type));
	memset(ctx->qual_type, 0, sizeof(ctx->qual_type));
	ctx->reviews_swept = false;
	ctx->push_since = 0;
	ctx->push_rest_until = 0;
	ctx->push_noted = false;
}

/*
 * Paused images look at the budget again now, and images backing off
 * after errors try again now (the operator may have mended the cause).
 */
static int
engine_wake(struct run_ctx *ctx, struct image_rec *list, size_t n,
	    struct errbuf *eb)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].state == IMAGE_PAUSED ||
		    (list[i].error[0] != '\0' && list[i].state != IMAGE_DONE &&
		     list[i].state != IMAGE_FAILED)) {
			list[i].next_at = 0;
			if (store_image_update(ctx->st, &list[i], eb) != IF_OK)
				return eb->code;
		}
	return IF_OK;
}

/*
 * What the reload may not change: exp_diff against the started images.
 * A change the rules refuse sets *refused with the reason in why; *added
 * is the number of images the file adds.
 */
static int
reload_check(struct run_ctx *ctx, const struct experiment *fresh,
	     const struct image_rec *list, size_t n, bool *refused,
	     size_t *added, struct errbuf *why, struct errbuf *eb)
{
	struct exp_diff diff;
	const char **started = calloc(n + 1, sizeof(*started));
	int rc;

	if (started == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++)
		started[i] = list[i].id;
	memset(&diff, 0, sizeof(diff));
	rc = exp_diff(ctx->exp, fresh, started, n, &diff, why);
	*added = diff.nadded;
	if (rc == IF_OK && diff.budget_changed) {
		char a[32], b[32];
		cfg_format_money(diff.old_budget_cents, a, sizeof(a));
		cfg_format_money(diff.new_budget_cents, b, sizeof(b));
		log_info("%s: budget $%s -> $%s", ctx->exp->name, a, b);
	}
	exp_diff_cleanup(&diff);
	free(started);
	*refused = rc != IF_OK;
	return IF_OK;
}

/*
 * start_from checked as at start (stage0_check_start) when it changed or
 * the file adds images: another state that cannot be read, or shares no
 * image, refuses the reload (why), rather than stopping run at the first
 * image's stage 0.  The check reads ctx->exp: fresh stands in for it, and
 * the source it opens is closed (engine_adopt opens the new one on first
 * use); nothing else runs during a reload.
 */
static int
follow_start_from(struct run_ctx *ctx, struct experiment *fresh,
		  size_t added, struct errbuf *why)
{
	const struct exp_start_from *o = &ctx->exp->start_from;
	const struct exp_start_from *f = &fresh->start_from;
	struct experiment *exp = ctx->exp;
	struct start_source *start = ctx->start;
	int rc;

	if (f->state_dir == NULL ||
	    (!str_differs(o->state_dir, f->state_dir) &&
	     o->stage == f->stage && added == 0))
		return IF_OK;
	ctx->exp = fresh;
	ctx->start = NULL;
	rc = stage0_check_start(ctx, why);
	start_source_close(ctx->start);
	ctx->start = start;
	ctx->exp = exp;
	if (rc != IF_OK)
		err_prefix(why, "%s", fresh->source);
	return rc;
}

/*
 * What run takes from the file but another process uses too: intofocus
 * serve --experiment reads the completion code and the share of tasks at
 * its own start.
 */
static void
reload_notes(const struct experiment *old, const struct experiment *fresh)
{
	const struct exp_recruitment *o = &old->recruitment;
	const struct exp_recruitment *f = &fresh->recruitment;

	if (str_differs(o->completion_code, f->completion_code))
		log_info("%s: recruitment.completion_code changed: run does "
			 "not use it; intofocus serve --experiment reads it "
			 "at its start (restart serve for it)",
			 fresh->name);
	if (o->tasks_per_participant != f->tasks_per_participant)
		log_info("%s: recruitment.tasks_per_participant changed: run "
			 "prices bonuses with it now; intofocus serve "
			 "--experiment reads it as its share at its start "
			 "(restart serve for it)",
			 fresh->name);
}

/* SIGHUP: reread the file under the rules of spec section 3. */
int
engine_reload(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	struct experiment *fresh = NULL;
	struct exp_errors errs = {0};
	struct image_rec *list = NULL;
	struct errbuf why = {0};
	struct mturk_next next = {0};
	bool refused = false;
	size_t n = 0, added = 0;
	int rc;

	notify_reloading(&ctx->notify);
	log_info("%s: SIGHUP: rereading %s", ctx->exp->name, ctx->exp_path);
	rc = exp_load(ctx->exp_path, &fresh, &errs, &why);
	if (rc != IF_OK) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			log_warnx("%s", errs.msgs[i]);
		goto refused;
	}
	if ((rc = store_images_list(ctx->st, &list, &n, eb)) != IF_OK)
		goto out;
	if ((rc = reload_check(ctx, fresh, list, n, &refused, &added, &why,
			       eb)) != IF_OK)
		goto out;
	if (refused || follow_start_from(ctx, fresh, added, &why) != IF_OK)
		goto refused;
	/*
	 * An accepted endpoint, region, ca_file, profile, images_host or
	 * api_url applies now, or the reload is refused: the new clients
	 * (and credentials) are made before anything is replaced.
	 */
	if (follow_prepare(e, fresh, &next, &why) != IF_OK ||
	    recruit_follow(e->recruit, fresh, &why) != IF_OK)
		goto refused;
	follow_commit(e, &next);
	reload_notes(ctx->exp, fresh);
	rc = engine_adopt(e, fresh, eb);
	fresh = NULL;
	if (rc == IF_OK)
		rc = engine_wake(ctx, list, n, eb);
	if (rc == IF_OK)
		rc = sync_images(ctx, eb);
	if (rc == IF_OK)
		log_info("%s: reloaded", ctx->exp->name);
	goto out;
refused:
	log_warnx("%s: reload refused, the old plan continues: %s",
		  ctx->exp->name, why.msg);
	rc = IF_OK;
out:
	follow_discard(&next);
	exp_errors_cleanup(&errs);
	exp_free(fresh);
	free(list);
	notify_ready(&ctx->notify);
	return rc;
}

/* ---- the loop ------------------------------------------------------------ */

/*
 * The requests sent per operation (pages, retries and read-backs
 * included), for the operator's view of what polling costs:
 * "crash: MTurk requests: CreateHITWithHITType 6, ListReviewableHITs 9, ...".
 */
static void
log_calls_by_operation(const struct engine *e)
{
	const struct run_ctx *ctx = &e->ctx;
	const char *const *ops = mturk_operation_names();
	const uint64_t *before = e->sent_before;
	char line[1024];
	size_t len = 0, nops = 0;

	while (ops[nops] != NULL)
		nops++;
	line[0] = '\0';
	for (size_t i = 0; i < nops && len < sizeof(line); i++) {
		uint64_t k = mturk_client_sent(ctx->client, ops[i]) +
			     (before != NULL ? before[i] : 0);
		int w;

		if (k == 0)
			continue;
		w = snprintf(line + len, sizeof(line) - len, "%s%s %llu",
			     len > 0 ? ", " : "", ops[i],
			     (unsigned long long)k);
		if (w < 0)
			break;
		len += (size_t)w;
	}
	log_info("%s: MTurk requests: %s (%llu in all)", ctx->exp->name,
		 len > 0 ? line : "none",
		 (unsigned long long)(mturk_client_sent(ctx->client, NULL) +
				      (before != NULL ? before[nops] : 0)));
}

/*
 * The poll round (poll.c: one ListReviewableHITs per HIT type, once a
 * poll interval) makes the WAIT images of Reviewable HITs due; then the
 * pass reads the images due by now, and every one goes as far as it can
 * without waiting (image_advance: a finished stage to its next HIT);
 * then, off that path, the finished HITs leave the Reviewable list.
 */
/* The threads of a pass: as many as the client's concurrent calls. */
#define PASS_THREADS 8

/*
 * Several images' steps at once (pool.c), from the first pass on.  The
 * kill -9 suites count crash points in order, so that a given N stops the
 * daemon at the same instant every time; steps at once would make the
 * N-th point vary.  Under INTOFOCUS_TEST_CRASH_AT the images go one after
 * another, unless INTOFOCUS_TEST_CRASH_POOL asks for the pool (t0614
 * kills runs whose steps go at once).
 */
static int
pass_pool(struct run_ctx *ctx, struct errbuf *eb)
{
	if (ctx->pool == NULL && ctx->client != NULL && ctx->host != NULL &&
	    (ctx->crash_at <= 0 ||
	     getenv("INTOFOCUS_TEST_CRASH_POOL") != NULL) &&
	    run_pool_new(ctx, PASS_THREADS, &ctx->pool, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/*
 * The round, then the images due by now, at most PASS_IMAGES_MAX of
 * them, the soonest due first: a pass costs what its images cost, not
 * what the study holds, and a study with more images due than that
 * takes more passes (the next one at once: progress says they are due).
 */
static int
step_due_images(struct run_ctx *ctx, struct errbuf *eb)
{
	int64_t now = ctx->now(ctx->now_arg);
	struct image_rec *list = NULL;
	size_t n = 0, take = PASS_IMAGES_MAX;
	int rc = IF_OK;

	if (pass_pool(ctx, eb) != IF_OK)
		return eb->code;
	if (poll_round_begin(ctx, now, PASS_IMAGES_MAX, &take, eb) != IF_OK ||
	    store_images_due(ctx->st, now, take, &list, &n, eb) != IF_OK)
		rc = eb->code;
	if (rc == IF_OK && poll_round(ctx, list, n, now, eb) != IF_OK)
		rc = eb->code;
	if (rc == IF_OK && images_advance_due(ctx, list, n, now, eb) != IF_OK)
		rc = eb->code;
	if (rc == IF_OK && hits_review_sweep(ctx, now, eb) != IF_OK)
		rc = eb->code;
	poll_round_end(ctx);
	free(list);
	return rc;
}

/*
 * Prolific's step after the images' (none for mturk): *idle when it has
 * nothing in flight; its next due time joins the images' in p.
 */
static int
engine_recruit_pass(struct engine *e, bool final,
		    struct engine_progress *p, bool *idle, struct errbuf *eb)
{
	int64_t next_at = 0;

	*idle = true;
	if (e->recruit == NULL)
		return IF_OK;
	if (recruit_pass(e->recruit, final, idle, &next_at, eb) != IF_OK)
		return eb->code;
	if (next_at > 0 && (p->next_at == 0 || next_at < p->next_at))
		p->next_at = next_at;
	return IF_OK;
}

int
engine_pass(struct engine *e, struct engine_progress *p, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	bool idle;
	int rc;

	if (loop_take_reload() && engine_reload(e, eb) != IF_OK)
		return eb->code;
	if (progress_read(ctx, p, eb) != IF_OK)
		return eb->code;
	if (p->final == p->images) {
		/*
		 * The last HITs leave the Reviewable list after their images
		 * are final (the sweep ends the pass): a restart finds any
		 * left behind.
		 */
		if (!ctx->reviews_swept &&
		    hits_review_sweep(ctx, ctx->now(ctx->now_arg), eb) != IF_OK)
			return eb->code;
		if (engine_recruit_pass(e, true, p, &idle, eb) != IF_OK)
			return eb->code;
		p->finished = idle;
		return IF_OK;
	}
	rc = step_due_images(ctx, eb);
	if (rc != IF_OK || loop_stop_requested())
		return rc;
	if (progress_read(ctx, p, eb) != IF_OK)
		return eb->code;
	/* The images asleep until a round wakes them: the round's time. */
	if (p->final < p->images) {
		int64_t round_at = poll_round_next_at(ctx, p->open_hits);

		if (round_at > 0 && (p->next_at == 0 || round_at < p->next_at))
			p->next_at = round_at;
	}
	return engine_recruit_pass(e, false, p, &idle, eb);
}

/* How long to sleep before the next pass, in ms of the wall clock. */
static int64_t
engine_wait_ms(const struct engine *e, const struct engine_progress *p)
{
	const struct run_ctx *ctx = &e->ctx;
	int64_t now = ctx->now(ctx->now_arg);
	int64_t wait_ms = p->next_at > now ? (p->next_at - now) * 1000 : 0;
	struct timespec ts;

	if (ctx->now_arg == &e->clock)
		wait_ms /= e->clock.warp;
	/*
	 * On the wall clock the wait ends when next_at's second begins, not
	 * whole seconds after the pass ended (now is whole seconds): so a
	 * pass's own length does not stretch the poll interval (issue 19).
	 * time() may lag the clock read here by a tick: at least 1 ms.
	 */
	if (wait_ms > 0 && ctx->now == wall_clock && e->clock.warp <= 1 &&
	    clock_gettime(CLOCK_REALTIME, &ts) == 0) {
		wait_ms = (p->next_at - e->clock.offset - (int64_t)ts.tv_sec) *
				  1000 -
			  ts.tv_nsec / 1000000;
		if (wait_ms < 1)
			wait_ms = 1;
	}
	/* Wake for the watchdog at half its interval. */
	if (ctx->notify.watchdog_usec > 0 &&
	    wait_ms > (int64_t)(ctx->notify.watchdog_usec / 2000))
		wait_ms = (int64_t)(ctx->notify.watchdog_usec / 2000);
	return wait_ms;
}

int
engine_wait(struct engine *e, const struct engine_progress *p,
	    int64_t max_ms, enum push_outcome *how, struct errbuf *eb)
{
	int64_t wait_ms = engine_wait_ms(e, p);

	*how = PUSH_ABSENT;
	if (max_ms >= 0 && wait_ms > max_ms)
		wait_ms = max_ms;
	if (wait_ms <= 0)
		return IF_OK;
	/* The push ends the wait when a HIT of ours becomes Reviewable. */
	if (push_wait(&e->ctx, &e->unblocked, wait_ms, how, eb) != IF_OK)
		return eb->code;
	if (*how == PUSH_ABSENT || *how == PUSH_FAILED)
		loop_sleep(&e->unblocked, wait_ms);
	return IF_OK;
}

static int
engine_loop(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	int64_t last_watchdog = 0;

	for (;;) {
		struct engine_progress p;
		enum push_outcome how;
		int64_t now;

		if (engine_pass(e, &p, eb) != IF_OK)
			return eb->code;
		if (p.finished) {
			progress_say(ctx, &p, true);
			return IF_OK;
		}
		if (loop_stop_requested()) {
			if (progress_read(ctx, &p, eb) == IF_OK)
				progress_say(ctx, &p, true);
			log_info("%s: stopping on request; run again to go on",
				 ctx->exp->name);
			return IF_OK;
		}
		progress_say(ctx, &p, false);
		now = ctx->now(ctx->now_arg);
		if (ctx->notify.watchdog_usec > 0 || now != last_watchdog) {
			notify_watchdog(&ctx->notify);
			last_watchdog = now;
		}
		if (p.final == p.images && e->recruit == NULL)
			continue;
		if (engine_wait(e, &p, -1, &how, eb) != IF_OK)
			return eb->code;
	}
}

/* The end of a run: what became of the images, and what it cost. */
static void
engine_summary(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	const struct recruit *recruit = e->recruit;
	struct image_rec *list = NULL;
	struct engine_progress p;
	size_t n = 0;

	if (progress_read(ctx, &p, eb) == IF_OK && p.final == p.images) {
		log_info("%s: all %zu images final (%zu done, %zu failed); "
			 "final images in %s",
			 ctx->exp->name, p.images, p.done, p.failed,
			 ctx->exp->output_dir);
		if (p.failed > 0 &&
		    store_images_in_state(ctx->st, IMAGE_FAILED, &list, &n,
					  eb) == IF_OK)
			for (size_t i = 0; i < n; i++)
				log_warnx("%s/%s: failed: %s", ctx->exp->name,
					  list[i].id, list[i].reason);
	}
	free(list);
	log_info("%s: %llu MTurk operations this run", ctx->exp->name,
		 (unsigned long long)ctx->api_calls);
	log_calls_by_operation(e);
	if (recruit != NULL)
		log_info("%s: Prolific requests: %llu", ctx->exp->name,
			 (unsigned long long)recruit_requests(recruit));
}

int
engine_run(struct engine *e, struct errbuf *eb)
{
	struct run_ctx *ctx = &e->ctx;
	int rc;

	notify_ready(&ctx->notify);
	rc = engine_loop(e, eb);
	notify_stopping(&ctx->notify);
	if (rc == IF_OK)
		engine_summary(e, eb);
	else
		err_prefix(eb, "%s", ctx->exp->name);
	return rc;
}
