/*
 * daemon/engine.c and the stage machine (stage.c, poll.c) driven in one
 * process against the simulator: images go through every stage under
 * union, first and majority aggregation, with exclusive stages, pause for
 * budget and go on after a reload, or fail when their HIT expires without
 * an answer.  The daemon, its signatures and the simulator share a clock
 * the test owns and moves to the next step that is due, so nothing here
 * depends on timing.  The assertions read the state (store.c), the final
 * files and what the simulator holds, through the MTurk client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/engine_rig.h"
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"
#include "tests/support/fake_prolific.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Enough passes for any scenario here; more is a loop that never ends. */
#define MAX_PASSES 2000

struct fx {
	struct engine_rig rig;	/* dir, top, yaml, the clock, the engine */
	struct sim_server *sim; /* a simulator of the test's own, or NULL */
	bool sim_no_push;	/* the embedded simulator offers no push */
	int64_t sim_delay_ms;	/* its workers' delay */
};

/* What an experiment file says, for write_exp(). */
struct exp_spec {
	const char *name;
	const char *stages;    /* "41, 21, 13" */
	const char *aggregate; /* union, first, majority */
	int workers;
	bool exclusive;
	const char *budget;   /* "50.00" */
	const char *lifetime; /* "1d" */
	int max_extensions;
	bool manual; /* approve: manual (the operator approves) */
	size_t nimages; /* the first n of group, street */
	unsigned endpoint_port; /* 0: the embedded simulator */
	const char *poll_interval; /* NULL: "1s" */
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL || engine_rig_init(&x->rig, "engine") != 0) {
		free(x);
		return -1;
	}
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	/* The engine before the simulator it talks to. */
	engine_close(x->rig.e);
	x->rig.e = NULL;
	sim_free(x->sim);
	engine_rig_cleanup(&x->rig);
	free(x);
	return 0;
}

static void
write_exp(struct fx *x, const struct exp_spec *s)
{
	/* The fixture photos and their ground truth (tests/e2e). */
	static const char *const ids[] = {"group", "street"};
	static const char *const truth[] = {
		"[[40, 50, 48, 60], [150, 60, 40, 50], [240, 120, 20, 24]]",
		"[[30, 30, 60, 72], [180, 100, 12, 14]]",
	};
	FILE *f = fopen(x->rig.yaml, "w");

	assert_non_null(f);
	fprintf(f, "name: %s\nmturk:\n  environment: simulator\n"
		   "  poll_interval: %s\n",
		s->name, s->poll_interval != NULL ? s->poll_interval : "1s");
	if (s->endpoint_port != 0)
		fprintf(f, "  endpoint: http://127.0.0.1:%u\n",
			s->endpoint_port);
	fprintf(f,
		"hit:\n  reward: \"0.15\"\n  workers: %d\n"
		"  assignment_duration: 5m\n  lifetime: %s\n"
		"  max_extensions: %d\n  exclusive_stages: %s\n"
		"  approve: %s\n"
		"stages: [%s]\naggregate: %s\nimages_host:\n"
		"  kind: simulator\nbudget_usd: \"%s\"\noutput_dir: out\n"
		"images:%s\n",
		s->workers, s->lifetime, s->max_extensions,
		s->exclusive ? "true" : "false", s->manual ? "manual" : "auto",
		s->stages, s->aggregate, s->budget,
		s->nimages == 0 ? " []" : "");
	for (size_t i = 0; i < s->nimages; i++)
		fprintf(f,
			"  - id: %s\n"
			"    file: %s/tests/fixtures/daemon/%s.jpg\n"
			"    ground_truth: %s\n",
			ids[i], x->rig.top, ids[i], truth[i]);
	assert_int_equal(fclose(f), 0);
}

static void
open_engine(struct fx *x)
{
	struct engine_config cfg;

	engine_rig_config(&x->rig, 7, &cfg);
	cfg.sim_no_push = x->sim_no_push;
	cfg.sim_delay_ms = x->sim_delay_ms;
	engine_rig_open(&x->rig, &cfg);
}

/*
 * Passes until every image is final, or until every image that is not
 * is paused for budget (until_paused); the clock jumps to the next step
 * due after each pass.  Returns the last progress.
 */
static struct engine_progress
drive(struct fx *x, bool until_paused)
{
	struct engine_progress p;
	struct errbuf eb = {0};

	for (int i = 0; i < MAX_PASSES; i++) {
		if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
			fail_msg("engine_pass: %s", eb.msg);
		if (p.finished || p.final == p.images)
			return p;
		if (until_paused && p.final + p.paused == p.images)
			return p;
		if (p.next_at > x->rig.now)
			x->rig.now = p.next_at;
	}
	fail_msg("no end after %d passes", MAX_PASSES);
	return p;
}

static struct run_ctx *
ctx_of(struct fx *x)
{
	return engine_ctx(x->rig.e);
}

/*
 * The aggregated boxes of a stage, from the state; the one place this
 * suite reads a lookup that may find nothing.
 */
static void
stage_boxes(struct fx *x, const char *id, int stage, struct box **b,
	    size_t *n)
{
	struct errbuf eb = {0};
	char *json = NULL;
	bool found = false;

	assert_int_equal(store_stage_result_get(ctx_of(x)->st, id, stage,
						&json, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(boxes_from_json(json, b, n, &eb), IF_OK);
	free(json);
}

/*
 * An assignment's approval as the state records it; with stage_boxes()
 * the one place this suite depends on how the store spells a value.
 */
static bool
approval_is(const struct assignment_rec *a, const char *name)
{
	return strcmp(approval_str(a->approval), name) == 0;
}

static void
assert_same_boxes(const struct box *a, size_t na, const struct box *b,
		  size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		assert_int_equal(a[i].x, b[i].x);
		assert_int_equal(a[i].y, b[i].y);
		assert_int_equal(a[i].w, b[i].w);
		assert_int_equal(a[i].h, b[i].h);
	}
}

static const struct exp_image *
exp_image(struct fx *x, const char *id)
{
	const struct experiment *exp = ctx_of(x)->exp;

	for (size_t i = 0; i < exp->nimages; i++)
		if (strcmp(exp->images[i].id, id) == 0)
			return &exp->images[i];
	fail_msg("no image %s", id);
	return NULL;
}

/* How many valid answers boxed the pixel (px, py). */
static int
votes(const struct assignment_rec *a, size_t n, int px, int py)
{
	int k = 0;

	for (size_t i = 0; i < n; i++) {
		struct box *b = NULL;
		size_t nb = 0;
		struct errbuf eb = {0};
		bool in = false;

		if (!a[i].valid)
			continue;
		assert_int_equal(boxes_from_json(a[i].boxes, &b, &nb, &eb),
				 IF_OK);
		for (size_t j = 0; j < nb && !in; j++)
			in = px >= b[j].x && px < b[j].x + b[j].w &&
			     py >= b[j].y && py < b[j].y + b[j].h;
		k += in;
		free(b);
	}
	return k;
}

/* The stage's result is what its rule makes of its recorded answers. */
static void
check_aggregate(struct fx *x, const char *id, int stage,
		const struct assignment_rec *a, size_t n)
{
	enum exp_aggregate rule = ctx_of(x)->exp->aggregate;
	struct box *got = NULL, *want = NULL;
	size_t ngot = 0, nwant = 0;
	struct errbuf eb = {0};

	stage_boxes(x, id, stage, &got, &ngot);
	if (rule == EXP_AGG_MAJORITY) {
		/* Each box's middle was boxed by more than half. */
		size_t valid = 0;
		for (size_t i = 0; i < n; i++)
			valid += a[i].valid != 0;
		for (size_t i = 0; i < ngot; i++)
			assert_true(2 * votes(a, n, got[i].x + got[i].w / 2,
					      got[i].y + got[i].h / 2) >
				    (int)valid);
		free(got);
		return;
	}
	/* union: every valid answer's boxes in turn; first: the first's. */
	for (size_t i = 0; i < n; i++) {
		struct box *b = NULL, *all;
		size_t nb = 0;

		if (!a[i].valid)
			continue;
		assert_int_equal(boxes_from_json(a[i].boxes, &b, &nb, &eb),
				 IF_OK);
		all = realloc(want, (nwant + nb + 1) * sizeof(*all));
		assert_non_null(all);
		want = all;
		if (nb > 0)
			memcpy(want + nwant, b, nb * sizeof(*b));
		nwant += nb;
		free(b);
		if (rule == EXP_AGG_FIRST)
			break;
	}
	assert_same_boxes(got, ngot, want, nwant);
	free(got);
	free(want);
}

/*
 * One stage of a finished image: its HIT in the state and at the
 * simulator, reviewed; every answer recorded once, approved on both
 * sides; the aggregate.  Returns the stage's workers (free()).
 */
static char **
check_stage(struct fx *x, const char *id, const struct hit_rec *h,
	    int workers)
{
	struct run_ctx *ctx = ctx_of(x);
	/* Manual approval leaves every answer to the operator. */
	bool manual = ctx->exp->hit.approve == EXP_APPROVE_MANUAL;
	struct assignment_rec *a = NULL;
	struct mturk_assignment *ma = NULL;
	struct mturk_hit mh;
	struct errbuf eb = {0};
	size_t n = 0, nm = 0;
	char **who = calloc((size_t)workers + 1, sizeof(*who));

	assert_non_null(who);
	assert_true(h->hit_id[0] != '\0');
	assert_int_equal(h->closed, HIT_REVIEWED);
	assert_int_equal(mturk_get_hit(ctx->client, h->hit_id, &mh, &eb),
			 IF_OK);
	assert_string_equal(mh.hit_status, "Reviewing");
	assert_string_equal(mh.requester_annotation, h->annotation);
	assert_int_equal(mh.max_assignments, workers);

	assert_int_equal(store_assignments_for(ctx->st, id, h->stage, &a, &n,
					       &eb),
			 IF_OK);
	assert_int_equal(n, (size_t)workers);
	assert_int_equal(mturk_list_assignments(ctx->client, h->hit_id, 0,
						&ma, &nm, &eb),
			 IF_OK);
	assert_int_equal(nm, n);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		assert_string_equal(a[i].hit_id, h->hit_id);
		assert_true(a[i].valid);
		assert_true(approval_is(&a[i], manual ? "manual" : "approved"));
		for (size_t k = 0; k < nm; k++)
			if (strcmp(ma[k].assignment_id,
				   a[i].assignment_id) == 0) {
				assert_false(seen);
				seen = true;
				assert_string_equal(ma[k].status,
						    manual ? "Submitted"
							   : "Approved");
				assert_string_equal(ma[k].worker_id,
						    a[i].worker_id);
			}
		assert_true(seen);
		if (ctx->exp->hit.exclusive_stages)
			assert_true(a[i].granted);
		who[i] = strdup(a[i].worker_id);
		assert_non_null(who[i]);
	}
	check_aggregate(x, id, h->stage, a, n);
	mturk_assignments_free(ma, nm);
	assignment_recs_free(a, n);
	return who;
}

/* The final image: the original's size, every selected region black. */
static void
check_final(struct fx *x, const char *id, int nstages)
{
	const char *out = ctx_of(x)->exp->output_dir;
	const struct exp_image *ei = exp_image(x, id);
	struct img *im = NULL;
	struct errbuf eb = {0};
	struct stat st;
	char path[1200];
	size_t nboxes = 0;

	snprintf(path, sizeof(path), "%s/%s.json", out, id);
	assert_int_equal(stat(path, &st), 0);
	snprintf(path, sizeof(path), "%s/%s.jpg", out, id);
	assert_int_equal(img_load(path, 0, &im, &eb), IF_OK);
	assert_int_equal(im->w, ei->width);
	assert_int_equal(im->h, ei->height);
	for (int k = 1; k <= nstages; k++) {
		struct box *b = NULL;
		size_t n = 0;

		stage_boxes(x, id, k, &b, &n);
		for (size_t i = 0; i < n; i++) {
			int cx = b[i].x + b[i].w / 2, cy = b[i].y + b[i].h / 2;
			const uint8_t *p;

			if (cx < 0 || cy < 0 || cx >= im->w || cy >= im->h)
				continue;
			p = im->px + (size_t)cy * im->stride + (size_t)cx * 3;
			/* Black, give or take JPEG's noise. */
			assert_true(p[0] < 40 && p[1] < 40 && p[2] < 40);
		}
		nboxes += n;
		free(b);
	}
	/* The crowd finds the large faces: something was redacted. */
	assert_true(nboxes > 0);
	img_free(im);
}

/*
 * Every image done, each stage's HIT and answers checked; with exclusive
 * stages no worker is in two stages.
 */
static void
check_done(struct fx *x, const struct exp_spec *s, int nstages)
{
	struct run_ctx *ctx = ctx_of(x);
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	char **stage_workers[8] = {0};
	int64_t committed = -1, open = -1, total = -1, cost = 0;
	size_t n = 0, nw = 0;

	assert_int_equal(store_images_list(ctx->st, &list, &n, &eb), IF_OK);
	assert_int_equal(n, s->nimages);
	for (size_t i = 0; i < n; i++) {
		struct hit_rec *hits = NULL;
		size_t nh = 0;

		assert_int_equal(list[i].state, IMAGE_DONE);
		assert_string_equal(list[i].error, "");
		assert_int_equal(store_hits_for_image(ctx->st, list[i].id,
						      &hits, &nh, &eb),
				 IF_OK);
		assert_int_equal(nh, (size_t)nstages);
		for (size_t k = 0; k < nh; k++) {
			char **who;

			assert_int_equal(hits[k].stage, (int)k + 1);
			assert_int_equal(hits[k].cost_cents,
					 plan_hit_cents(ctx->exp));
			cost += hits[k].cost_cents;
			who = check_stage(x, list[i].id, &hits[k], s->workers);
			/* Gather each stage's workers over the images. */
			for (size_t w = 0; who[w] != NULL; w++) {
				char ***sw = &stage_workers[k];
				size_t m = 0;
				while (*sw != NULL && (*sw)[m] != NULL)
					m++;
				*sw = realloc(*sw, (m + 2) * sizeof(**sw));
				assert_non_null(*sw);
				(*sw)[m] = who[w];
				(*sw)[m + 1] = NULL;
				nw++;
			}
			free(who);
		}
		check_final(x, list[i].id, nstages);
		free(hits);
	}
	assert_int_equal(store_committed_cents(ctx->st, &committed, &eb),
			 IF_OK);
	assert_int_equal(committed, cost);
	assert_int_equal(store_hit_counts(ctx->st, &open, &total, &eb), IF_OK);
	assert_int_equal(open, 0);
	assert_int_equal(total, (int64_t)(n * (size_t)nstages));
	assert_int_equal(nw, n * (size_t)nstages * (size_t)s->workers);
	for (int k = 0; k < nstages; k++)
		for (int j = k + 1; s->exclusive && j < nstages; j++)
			for (size_t a = 0; stage_workers[k][a] != NULL; a++)
				for (size_t b = 0; stage_workers[j][b] != NULL;
				     b++)
					assert_string_not_equal(
						stage_workers[k][a],
						stage_workers[j][b]);
	for (int k = 0; k < nstages; k++) {
		for (size_t a = 0; stage_workers[k][a] != NULL; a++)
			free(stage_workers[k][a]);
		free(stage_workers[k]);
	}
	free(list);
}

static void
run_to_the_end(void **state, const char *aggregate, bool exclusive,
	       bool manual)
{
	struct fx *x = *state;
	struct exp_spec s = {
		.name = "unit", .stages = "41, 21, 13",
		.aggregate = aggregate, .workers = 3, .exclusive = exclusive,
		.budget = "50.00", .lifetime = "1d", .max_extensions = 3,
		.manual = manual, .nimages = 2,
	};
	struct engine_progress p;

	/* The output directory is relative to the experiment file. */
	write_exp(x, &s);
	open_engine(x);
	p = drive(x, false);
	assert_int_equal(p.images, 2);
	assert_int_equal(p.done, 2);
	assert_int_equal(p.failed, 0);
	check_done(x, &s, 3);
	/* Finished: another pass posts nothing and changes nothing. */
	p = drive(x, false);
	assert_true(p.finished);
	assert_int_equal(p.total_hits, 6);
}

static void
test_union(void **state)
{
	run_to_the_end(state, "union", false, false);
}

static void
test_first_exclusive(void **state)
{
	run_to_the_end(state, "first", true, false);
}

static void
test_majority_exclusive(void **state)
{
	run_to_the_end(state, "majority", true, false);
}

/* approve: manual: the stages go on, the payments wait for the operator. */
static void
test_manual_approval(void **state)
{
	run_to_the_end(state, "union", true, true);
}

/*
 * A budget for two HITs: both images post stage 1, then pause before
 * stage 2 with the reason; a reload of a broken file changes nothing, one
 * that raises the budget lets them finish, and nothing was posted twice.
 */
static void
test_budget_pause_and_reload(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = {
		.name = "budget", .stages = "41, 13", .aggregate = "union",
		.workers = 3, .exclusive = true, .budget = "1.10",
		.lifetime = "1d", .max_extensions = 3, .nimages = 2,
	};
	struct engine_progress p;
	struct image_rec *list = NULL;
	struct mturk_hit *hits = NULL;
	struct errbuf eb = {0};
	char next[256];
	size_t n = 0, nh = 0;

	write_exp(x, &s);
	open_engine(x);
	/* 3 answers of 0.15 and MTurk's 20% fee: 0.54 a HIT. */
	assert_int_equal(plan_hit_cents(ctx_of(x)->exp), 54);
	p = drive(x, true);
	assert_int_equal(p.paused, 2);
	assert_int_equal(p.final, 0);
	assert_int_equal(p.committed, 108);
	assert_int_equal(p.total_hits, 2);
	assert_int_equal(store_images_list(ctx_of(x)->st, &list, &n, &eb),
			 IF_OK);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(list[i].state, IMAGE_PAUSED);
		assert_int_equal(list[i].stage, 2);
		assert_non_null(strstr(list[i].reason,
				       "would pass the budget of $1.10"));
	}
	free(list);
	/* The simulator holds those two HITs and no other. */
	assert_int_equal(mturk_list_hits_page(ctx_of(x)->client, NULL, 100,
					      &hits, &nh, next, sizeof(next),
					      &eb),
			 IF_OK);
	assert_int_equal(nh, 2);
	free(hits);
	/* Paused images wait without posting. */
	x->rig.now += 3600;
	p = drive(x, true);
	assert_int_equal(p.paused, 2);
	assert_int_equal(p.total_hits, 2);

	/* A file that does not load is refused; the old plan goes on. */
	{
		FILE *f = fopen(x->rig.yaml, "w");
		assert_non_null(f);
		fputs("name: budget\nstages: [41, 13\n", f);
		assert_int_equal(fclose(f), 0);
	}
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_int_equal(ctx_of(x)->exp->budget_cents, 110);
	assert_int_equal(ctx_of(x)->exp->nimages, 2);
	p = drive(x, true);
	assert_int_equal(p.paused, 2);

	s.budget = "5.00";
	write_exp(x, &s);
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_int_equal(ctx_of(x)->exp->budget_cents, 500);
	p = drive(x, false);
	assert_int_equal(p.done, 2);
	check_done(x, &s, 2);
}

/*
 * No worker answers (a simulator without a crowd): the HIT is extended
 * as often as allowed, then the image fails with the reason and its HIT
 * leaves the Reviewable list.
 */
static void
test_expired_hit_fails_the_image(void **state)
{
	struct fx *x = *state;
	struct sim_config scfg;
	struct exp_spec s = {
		.name = "expiry", .stages = "41, 13", .aggregate = "union",
		.workers = 1, .exclusive = false, .budget = "5.00",
		.lifetime = "30s", .max_extensions = 2, .nimages = 1,
	};
	struct engine_progress p;
	struct image_rec *list = NULL;
	struct hit_rec *hits = NULL;
	struct mturk_assignment *ma = NULL;
	struct mturk_hit mh;
	struct errbuf eb = {0};
	struct stat st;
	char path[1200];
	size_t n = 0, nh = 0, nm = 0;

	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = 3;
	scfg.crowd_off = true;
	scfg.access_key_id = SIM_DEFAULT_ACCESS_KEY_ID;
	scfg.secret_access_key = SIM_DEFAULT_SECRET_ACCESS_KEY;
	scfg.clock_ms = engine_rig_clock_ms;
	scfg.clock_ctx = &x->rig;
	x->sim = sim_new(&scfg, &eb);
	if (x->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	s.endpoint_port = sim_port(x->sim);
	write_exp(x, &s);
	open_engine(x);
	p = drive(x, false);
	assert_int_equal(p.failed, 1);
	assert_int_equal(p.done, 0);

	assert_int_equal(store_images_list(ctx_of(x)->st, &list, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].state, IMAGE_FAILED);
	assert_int_equal(list[0].stage, 1);
	assert_non_null(strstr(list[0].reason,
			       "expired without a usable answer after 2 "
			       "extensions"));
	assert_int_equal(store_hits_for_image(ctx_of(x)->st, "group", &hits,
					      &nh, &eb),
			 IF_OK);
	assert_int_equal(nh, 1);
	assert_int_equal(hits[0].extensions, 2);
	assert_true(hits[0].expires_at > hits[0].created_at + 30);
	assert_true(x->rig.now >= hits[0].expires_at);
	assert_int_not_equal(hits[0].closed, HIT_OPEN);
	/* The simulator agrees: extended to that time, never answered. */
	assert_int_equal(mturk_get_hit(ctx_of(x)->client, hits[0].hit_id, &mh,
				       &eb),
			 IF_OK);
	assert_int_equal((int64_t)mh.expiration, hits[0].expires_at);
	assert_int_equal(mturk_list_assignments(ctx_of(x)->client,
						hits[0].hit_id, 0, &ma, &nm,
						&eb),
			 IF_OK);
	assert_int_equal(nm, 0);
	/* No final image for a failed one. */
	snprintf(path, sizeof(path), "%s/group.jpg",
		 ctx_of(x)->exp->output_dir);
	assert_int_not_equal(stat(path, &st), 0);
	mturk_assignments_free(ma, nm);
	free(hits);
	free(list);
}

/*
 * Asserts that no image of the state stands between a stage's answers
 * and its next HIT: none in RENDER, POST or FINAL, and each stage result
 * recorded has the next stage's HIT created (its HITId in the state).
 * Returns how many stage results are recorded.
 */
static int
assert_no_image_between_stages(struct fx *x, int nstages)
{
	struct run_ctx *ctx = ctx_of(x);
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	size_t n = 0;
	int results = 0;

	assert_int_equal(store_images_list(ctx->st, &list, &n, &eb), IF_OK);
	for (size_t i = 0; i < n; i++) {
		struct hit_rec *hits = NULL;
		size_t nh = 0;

		assert_int_not_equal(list[i].state, IMAGE_RENDER);
		assert_int_not_equal(list[i].state, IMAGE_POST);
		assert_int_not_equal(list[i].state, IMAGE_FINAL);
		assert_int_equal(store_hits_for_image(ctx->st, list[i].id,
						      &hits, &nh, &eb),
				 IF_OK);
		for (int k = 1; k <= nstages; k++) {
			char *json = NULL;
			bool found = false, next = k == nstages;

			assert_int_equal(store_stage_result_get(
						 ctx->st, list[i].id, k, &json,
						 &found, &eb),
					 IF_OK);
			free(json);
			if (!found)
				continue;
			results++;
			for (size_t h = 0; h < nh && !next; h++)
				next = hits[h].stage == k + 1 &&
				       hits[h].hit_id[0] != '\0';
			assert_true(next);
		}
		free(hits);
	}
	free(list);
	return results;
}

/*
 * Issue 19: the pass that reads a stage's last answers creates the next
 * stage's HIT.  With an instant crowd on the test clock, pass 1 posts
 * stage 1, and each later pass reads one stage and posts the next (or
 * writes the final image): nstages + 1 passes, none ending with an image
 * between two stages.
 */
static void
test_next_hit_in_the_same_pass(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = {
		.name = "samepass", .stages = "41, 21, 13",
		.aggregate = "union", .workers = 3, .exclusive = true,
		.budget = "50.00", .lifetime = "1d", .max_extensions = 3,
		.nimages = 2,
	};
	struct engine_progress p;
	struct errbuf eb = {0};
	int passes = 0, results = 0, before;

	write_exp(x, &s);
	open_engine(x);
	do {
		before = results;
		if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
			fail_msg("engine_pass: %s", eb.msg);
		passes++;
		results = assert_no_image_between_stages(x, 3);
		/* Every pass after the first finishes a stage of each. */
		if (passes > 1)
			assert_int_equal(results, before + 2);
		if (p.next_at > x->rig.now)
			x->rig.now = p.next_at;
	} while (p.final < p.images && passes < MAX_PASSES);
	assert_int_equal(p.done, 2);
	assert_int_equal(passes, 3 + 1);
	check_done(x, &s, 3);
}

/* The image's row (there is one image in these tests). */
static struct image_rec
the_image(struct fx *x)
{
	struct image_rec *list = NULL, im;
	struct errbuf eb = {0};
	size_t n = 0;

	assert_int_equal(store_images_list(ctx_of(x)->st, &list, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 1);
	im = list[0];
	free(list);
	return im;
}

/* Whether the stage's answers are aggregated (its result recorded). */
static bool
stage_done(struct fx *x, int stage)
{
	struct errbuf eb = {0};
	char *json = NULL;
	bool found = false;

	assert_int_equal(store_stage_result_get(ctx_of(x)->st, "group", stage,
						&json, &found, &eb),
			 IF_OK);
	free(json);
	return found;
}

/*
 * One image, a poll interval of a minute, workers answering 5 s apart
 * (PUSH_DELAY_MS).
 */
#define PUSH_DELAY_MS 5000
static struct exp_spec
push_spec(const char *name)
{
	struct exp_spec s = {
		.name = name, .stages = "41, 13", .aggregate = "union",
		.workers = 3, .exclusive = true, .budget = "5.00",
		.lifetime = "1d", .max_extensions = 1, .nimages = 1,
		.poll_interval = "1m",
	};

	return s;
}

/*
 * When the image waiting on stage 1 wakes by itself: at the start of its
 * HIT's expiry margin (poll.c); until then only a poll round, which
 * finds its HIT Reviewable, or a push wakes it.
 */
static int64_t
asleep_until(struct fx *x)
{
	struct errbuf eb = {0};
	struct hit_rec h;
	bool found = false;

	assert_int_equal(store_hit_get(ctx_of(x)->st, "group", 1, 1, &h,
				       &found, &eb),
			 IF_OK);
	assert_true(found);
	return h.expires_at - hit_expiry_margin(ctx_of(x)->exp);
}

/*
 * Stage 1 posted and polled once at the start (no answer yet), then the
 * clock moved to when its three answers are in: the next poll is 45 s
 * away.  Returns that poll's time.
 */
static int64_t
post_first_stage(struct fx *x, const struct exp_spec *s)
{
	struct engine_progress p;
	struct errbuf eb = {0};
	struct image_rec im;
	int64_t poll_at = x->rig.now + 60;

	x->sim_delay_ms = PUSH_DELAY_MS;
	write_exp(x, s);
	open_engine(x);
	for (int i = 0; i < 2; i++)
		if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
			fail_msg("engine_pass: %s", eb.msg);
	im = the_image(x);
	assert_int_equal(im.state, IMAGE_WAIT);
	assert_int_equal(im.stage, 1);
	assert_int_equal(im.next_at, asleep_until(x));
	assert_true(im.next_at > poll_at);
	assert_int_equal(p.next_at, poll_at);
	x->rig.now += 3 * PUSH_DELAY_MS / 1000;
	return poll_at;
}

/*
 * Issue 19: with the simulator's push, the wait after a pass ends as soon
 * as the HIT is Reviewable and makes its image due: the next pass, at the
 * same instant of the test's clock, reads the answers and posts stage 2,
 * without the minute's poll interval.
 */
static void
test_push_wakes_the_daemon(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = push_spec("push");
	struct engine_progress p;
	struct errbuf eb = {0};
	enum push_outcome how = PUSH_ABSENT;
	struct hit_rec h;
	struct image_rec im;
	bool found = false;
	int64_t posted, poll_at;

	poll_at = post_first_stage(x, &s);
	posted = x->rig.now;
	assert_true(mturk_client_push_offered(ctx_of(x)->client));
	memset(&p, 0, sizeof(p));
	p.next_at = poll_at;
	/* At most a minute of the wall clock; the push answers at once. */
	assert_int_equal(engine_wait(x->rig.e, &p, 60000, &how, &eb), IF_OK);
	assert_int_equal(how, PUSH_WOKE);
	assert_int_equal(mturk_client_push_sent(ctx_of(x)->client), 1);
	im = the_image(x);
	assert_int_equal(im.next_at, posted);
	assert_false(stage_done(x, 1));
	if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
		fail_msg("engine_pass: %s", eb.msg);
	assert_int_equal(x->rig.now, posted);
	assert_true(stage_done(x, 1));
	im = the_image(x);
	assert_int_equal(im.state, IMAGE_WAIT);
	assert_int_equal(im.stage, 2);
	assert_int_equal(store_hit_get(ctx_of(x)->st, "group", 2, 1, &h,
				       &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_not_equal(h.hit_id[0], '\0');
	assert_int_equal(h.created_at, posted);
	assert_true(h.created_at < poll_at);
	/* The poll round read that HIT's assignments once, as without. */
	assert_int_equal(mturk_client_sent(ctx_of(x)->client,
					   "ListAssignmentsForHIT"),
			 1);
}

/*
 * Without a push (a server that offers none, as MTurk), the daemon sends
 * no wait and sleeps; the image stays on its poll schedule and the answers
 * are read when the poll interval has passed.
 */
static void
test_no_push_falls_back_to_polling(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = push_spec("nopush");
	struct engine_progress p;
	struct errbuf eb = {0};
	enum push_outcome how = PUSH_WOKE;
	struct image_rec im;
	int64_t poll_at;

	x->sim_no_push = true;
	poll_at = post_first_stage(x, &s);
	assert_false(mturk_client_push_offered(ctx_of(x)->client));
	memset(&p, 0, sizeof(p));
	p.next_at = poll_at;
	/* A millisecond's sleep stands for the minute. */
	assert_int_equal(engine_wait(x->rig.e, &p, 1, &how, &eb), IF_OK);
	assert_int_equal(how, PUSH_ABSENT);
	assert_int_equal(mturk_client_push_sent(ctx_of(x)->client), 0);
	im = the_image(x);
	assert_int_equal(im.next_at, asleep_until(x));
	/* Nothing due yet, though the answers are in. */
	if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
		fail_msg("engine_pass: %s", eb.msg);
	assert_false(stage_done(x, 1));
	assert_int_equal(p.next_at, poll_at);
	/* The poll interval passes: the poll reads it. */
	x->rig.now = p.next_at;
	if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
		fail_msg("engine_pass: %s", eb.msg);
	assert_true(stage_done(x, 1));
	assert_int_equal(the_image(x).stage, 2);
}

/*
 * A push that fails (here the server is gone after offering it): the
 * wait says so, the loop sleeps instead, and the push rests a minute.
 */
static void
test_failed_push_falls_back_to_polling(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = push_spec("pushfail");
	struct sim_config scfg;
	struct engine_progress p;
	struct errbuf eb = {0};
	enum push_outcome how = PUSH_WOKE;
	int64_t poll_at;

	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = 3;
	scfg.crowd_delay_ms = PUSH_DELAY_MS;
	scfg.access_key_id = SIM_DEFAULT_ACCESS_KEY_ID;
	scfg.secret_access_key = SIM_DEFAULT_SECRET_ACCESS_KEY;
	scfg.clock_ms = engine_rig_clock_ms;
	scfg.clock_ctx = &x->rig;
	x->sim = sim_new(&scfg, &eb);
	if (x->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	s.endpoint_port = sim_port(x->sim);
	poll_at = post_first_stage(x, &s);
	assert_true(mturk_client_push_offered(ctx_of(x)->client));
	sim_free(x->sim);
	x->sim = NULL;
	memset(&p, 0, sizeof(p));
	p.next_at = poll_at;
	assert_int_equal(engine_wait(x->rig.e, &p, 1, &how, &eb), IF_OK);
	assert_int_equal(how, PUSH_FAILED);
	assert_int_equal(engine_wait(x->rig.e, &p, 1, &how, &eb), IF_OK);
	assert_int_equal(how, PUSH_ABSENT);
	assert_int_equal(mturk_client_push_sent(ctx_of(x)->client), 1);
	assert_int_equal(the_image(x).next_at, asleep_until(x));
}

/*
 * Under systemd's watchdog (NOTIFY_SOCKET, WATCHDOG_USEC), a pass tells
 * systemd it lives after each image's step, not only between passes, so
 * that a pass of many images cannot outlast WatchdogSec; and the client's
 * calls are bounded to fit the interval.  The test is systemd: it binds
 * the notify socket and counts the WATCHDOG=1 datagrams of one pass.
 */
static void
test_watchdog_pinged_within_a_pass(void **state)
{
	struct fx *x = *state;
	struct exp_spec s = {
		.name = "watchdog", .stages = "41, 13",
		.aggregate = "union", .workers = 1, .exclusive = false,
		.budget = "50.00", .lifetime = "1d", .max_extensions = 0,
		.nimages = 2,
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct engine_progress p;
	struct errbuf eb = {0};
	char pid[32], msg[256];
	int fd, pings = 0;
	ssize_t got;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", x->rig.dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	setenv("WATCHDOG_USEC", "60000000", 1);
	setenv("WATCHDOG_PID", pid, 1);
	write_exp(x, &s);
	open_engine(x);
	assert_int_equal(ctx_of(x)->notify.watchdog_usec, 60000000);
	/* One pass posts both images' first HITs: two steps, two pings. */
	if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
		fail_msg("engine_pass: %s", eb.msg);
	/* sd_notify() reads the socket's name at each call. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	assert_int_equal(p.total_hits, 2);
	while ((got = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
		msg[got] = '\0';
		if (strstr(msg, "WATCHDOG=1") != NULL)
			pings++;
	}
	assert_int_equal(pings, 2);
	close(fd);
	p = drive(x, false);
	assert_int_equal(p.done, 2);
}

/* A Prolific study with no image, its API at url. */
static void
write_prolific_exp(struct fx *x, const char *url)
{
	FILE *f = fopen(x->rig.yaml, "w");

	assert_non_null(f);
	fprintf(f,
		"name: prol\nmturk:\n  environment: simulator\n"
		"  poll_interval: 1s\nhit:\n  reward: \"0.15\"\n"
		"images: []\nbudget_usd: \"10\"\nrecruitment:\n"
		"  platform: prolific\n  study_id: %s\n"
		"  completion_code: C0DE1\n  reward_usd: \"1.00\"\n"
		"  places: 5\n  api_url: %s\n",
		"60aa00000000000000000002", url);
	assert_int_equal(fclose(f), 0);
}

/*
 * A reload that changes recruitment.api_url (accepted: no image has
 * started) takes effect: the next pass lists the study at the new URL
 * and the old one hears nothing more.
 */
static void
test_reload_prolific_api_url(void **state)
{
	struct fx *x = *state;
	const char *study = "60aa00000000000000000002";
	struct fake_prolific *a = fake_prolific_start("tok-engine", study);
	struct fake_prolific *b = fake_prolific_start("tok-engine", study);
	struct engine_progress p;
	struct errbuf eb = {0};
	size_t heard_a;

	assert_non_null(a);
	assert_non_null(b);
	setenv("PROLIFIC_TOKEN", "tok-engine", 1);
	write_prolific_exp(x, fake_prolific_url(a));
	open_engine(x);
	assert_int_equal(engine_pass(x->rig.e, &p, &eb), IF_OK);
	heard_a = fake_prolific_requests(a);
	assert_true(heard_a > 0);
	assert_int_equal(fake_prolific_requests(b), 0);

	write_prolific_exp(x, fake_prolific_url(b));
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_string_equal(ctx_of(x)->exp->recruitment.api_url,
			    fake_prolific_url(b));
	x->rig.now += 60;
	assert_int_equal(engine_pass(x->rig.e, &p, &eb), IF_OK);
	assert_true(fake_prolific_requests(b) > 0);
	assert_int_equal(fake_prolific_requests(a), heard_a);
	unsetenv("PROLIFIC_TOKEN");
	engine_close(x->rig.e);
	x->rig.e = NULL;
	fake_prolific_stop(a);
	fake_prolific_stop(b);
}

/* A simulator of the test's own on loopback, on the test's clock. */
static struct sim_server *
own_sim(struct fx *x, uint64_t seed)
{
	struct sim_config scfg;
	struct errbuf eb = {0};
	struct sim_server *sim;

	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = seed;
	scfg.access_key_id = SIM_DEFAULT_ACCESS_KEY_ID;
	scfg.secret_access_key = SIM_DEFAULT_SECRET_ACCESS_KEY;
	scfg.clock_ms = engine_rig_clock_ms;
	scfg.clock_ctx = &x->rig;
	sim = sim_new(&scfg, &eb);
	if (sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	return sim;
}

/* The HITs sim holds (one page is all of this test's); run is open. */
static size_t
hits_at(struct fx *x, struct sim_server *sim)
{
	struct mturk_client_config cc;
	struct mturk_client *c = NULL;
	struct mturk_hit *hits = NULL;
	struct errbuf eb = {0};
	char url[64], next[256];
	size_t n = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", sim_port(sim));
	memset(&cc, 0, sizeof(cc));
	cc.endpoint = url;
	cc.creds = ctx_of(x)->creds; /* the simulator's pair */
	cc.clock.now = engine_rig_now;
	cc.clock.ctx = &x->rig;
	cc.rate.per_second = -1;
	if (mturk_client_new(&cc, &c, &eb) != IF_OK ||
	    mturk_list_hits_page(c, NULL, 100, &hits, &n, next, sizeof(next),
				 &eb) != IF_OK)
		fail_msg("ListHITs at %s: %s", url, eb.msg);
	assert_string_equal(next, "");
	free(hits);
	mturk_client_free(c);
	return n;
}

/*
 * A reload that changes mturk.endpoint (accepted: no image has started)
 * takes effect: the image it adds is uploaded and its HITs made at the
 * new endpoint, through the pass's threads too, and the old one hears
 * nothing of it.
 */
static void
test_reload_mturk_endpoint(void **state)
{
	struct fx *x = *state;
	struct sim_server *a = own_sim(x, 3), *b = own_sim(x, 5);
	struct exp_spec s = {
		.name = "moved", .stages = "41, 13", .aggregate = "union",
		.workers = 2, .budget = "5.00", .lifetime = "1d",
		.max_extensions = 1, .nimages = 0,
	};
	struct engine_progress p;
	struct errbuf eb = {0};
	char url_a[64], url_b[64];

	snprintf(url_a, sizeof(url_a), "http://127.0.0.1:%u/", sim_port(a));
	snprintf(url_b, sizeof(url_b), "http://127.0.0.1:%u/", sim_port(b));
	s.endpoint_port = sim_port(a);
	write_exp(x, &s);
	open_engine(x);
	assert_int_equal(engine_pass(x->rig.e, &p, &eb), IF_OK);
	assert_string_equal(mturk_client_endpoint(ctx_of(x)->client), url_a);

	/* Any request that reaches a meets its hold: the counter here. */
	assert_int_equal(sim_hold_requests(a, "PutObject", 1), 0);
	assert_int_equal(sim_hold_requests(a, "CreateHITWithHITType", 1), 0);
	assert_int_equal(sim_hold_requests(b, "PutObject", 1), 0);
	assert_int_equal(sim_hold_requests(b, "CreateHITWithHITType", 1), 0);
	s.endpoint_port = sim_port(b);
	s.nimages = 2;
	write_exp(x, &s);
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_int_equal(strncmp(ctx_of(x)->exp->mturk.endpoint, url_b,
				 strlen(url_b) - 1),
			 0);
	assert_string_equal(mturk_client_endpoint(ctx_of(x)->client), url_b);
	p = drive(x, false);
	assert_int_equal(p.done, 2);
	assert_int_equal(p.failed, 0);
	assert_true(sim_hold_met(b, "PutObject"));
	assert_true(sim_hold_met(b, "CreateHITWithHITType"));
	assert_false(sim_hold_met(a, "PutObject"));
	assert_false(sim_hold_met(a, "CreateHITWithHITType"));
	/* Two images, two stages: four HITs, all at b. */
	assert_int_equal(hits_at(x, b), 4);
	assert_int_equal(hits_at(x, a), 0);
	engine_close(x->rig.e);
	x->rig.e = NULL;
	sim_free(a);
	sim_free(b);
}

/*
 * The embedded simulator starts only with run: a reload that drops the
 * endpoint for it is refused and logged, and the old endpoint goes on.
 */
static void
test_reload_to_embedded_simulator_refused(void **state)
{
	struct fx *x = *state;
	struct sim_server *a = own_sim(x, 3);
	struct exp_spec s = {
		.name = "stay", .stages = "41, 13", .aggregate = "union",
		.workers = 2, .budget = "5.00", .lifetime = "1d",
		.max_extensions = 1, .nimages = 0,
	};
	struct errbuf eb = {0};
	char url_a[64];

	x->sim = a;
	snprintf(url_a, sizeof(url_a), "http://127.0.0.1:%u/", sim_port(a));
	s.endpoint_port = sim_port(a);
	write_exp(x, &s);
	open_engine(x);
	s.endpoint_port = 0;
	s.nimages = 1;
	write_exp(x, &s);
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_non_null(ctx_of(x)->exp->mturk.endpoint);
	assert_string_equal(mturk_client_endpoint(ctx_of(x)->client), url_a);
	assert_int_equal(ctx_of(x)->exp->nimages, 0);
	assert_null(ctx_of(x)->sim);
}

/*
 * From the embedded simulator to an endpoint of the file's: the new one
 * gets the work and the embedded simulator stops.
 */
static void
test_reload_from_embedded_simulator(void **state)
{
	struct fx *x = *state;
	struct sim_server *b = own_sim(x, 5);
	struct exp_spec s = {
		.name = "leave", .stages = "41, 13", .aggregate = "union",
		.workers = 2, .budget = "5.00", .lifetime = "1d",
		.max_extensions = 1, .nimages = 0,
	};
	struct engine_progress p;
	struct errbuf eb = {0};

	x->sim = b;
	write_exp(x, &s);
	open_engine(x);
	assert_non_null(ctx_of(x)->sim);
	s.endpoint_port = sim_port(b);
	s.nimages = 1;
	write_exp(x, &s);
	assert_int_equal(engine_reload(x->rig.e, &eb), IF_OK);
	assert_null(ctx_of(x)->sim);
	p = drive(x, false);
	assert_int_equal(p.done, 1);
	assert_int_equal(hits_at(x, b), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_union, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_watchdog_pinged_within_a_pass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_exclusive, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_majority_exclusive, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_manual_approval, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_budget_pause_and_reload,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_expired_hit_fails_the_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_hit_in_the_same_pass,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_wakes_the_daemon,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_no_push_falls_back_to_polling, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_failed_push_falls_back_to_polling, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_reload_prolific_api_url,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_mturk_endpoint,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_to_embedded_simulator_refused, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_reload_from_embedded_simulator, setup, teardown),
	};

	/* The simulator's pair, whatever the environment holds. */
	setenv("AWS_ACCESS_KEY_ID", SIM_DEFAULT_ACCESS_KEY_ID, 1);
	setenv("AWS_SECRET_ACCESS_KEY", SIM_DEFAULT_SECRET_ACCESS_KEY, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	unsetenv("STATE_DIRECTORY");
	log_init(0, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
