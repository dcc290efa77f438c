/*
 * daemon/pool.c: a pass's images take their steps at once (issue 19).
 * The embedded simulator holds the requests of an operation until k of
 * them have arrived (sim_hold_requests): a pass that sent them one after
 * another would leave the first waiting alone, and the hold not met.  So
 * these tests fail when the steps are sequential, and nothing in them
 * depends on timing: the hold lets go when its k-th request arrives.
 * The daemon and the simulator share a clock the test owns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"
#include "tests/support/engine_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PASSES 200
#define NIMAGES 4

/* The rig is the whole fixture: its dir, top, yaml, clock and engine. */
struct fx {
	struct engine_rig rig;
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (x == NULL || engine_rig_init(&x->rig, "pool") != 0) {
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

	engine_rig_cleanup(&x->rig);
	free(x);
	return 0;
}

/* NIMAGES images (the two fixture photos in turn), one worker a HIT. */
static void
write_exp(struct fx *x, const char *name, const char *budget)
{
	static const char *const files[] = {"group", "street"};
	FILE *f = fopen(x->rig.yaml, "w");

	assert_non_null(f);
	fprintf(f,
		"name: %s\nmturk:\n  environment: simulator\n"
		"  poll_interval: 1s\n"
		"hit:\n  reward: \"0.15\"\n  workers: 1\n"
		"  assignment_duration: 5m\n  lifetime: 1d\n"
		"  max_extensions: 1\n  exclusive_stages: true\n"
		"  approve: auto\n"
		"stages: [41, 21]\naggregate: union\nimages_host:\n"
		"  kind: simulator\nbudget_usd: \"%s\"\noutput_dir: out\n"
		"images:\n",
		name, budget);
	for (int i = 0; i < NIMAGES; i++)
		fprintf(f,
			"  - id: %s%d\n"
			"    file: %s/tests/fixtures/daemon/%s.jpg\n",
			files[i % 2], i, x->rig.top, files[i % 2]);
	assert_int_equal(fclose(f), 0);
}

static void
open_engine(struct fx *x)
{
	struct engine_config cfg;

	engine_rig_config(&x->rig, 11, &cfg);
	cfg.sim_no_push = true;
	engine_rig_open(&x->rig, &cfg);
}

static struct run_ctx *
ctx_of(struct fx *x)
{
	return engine_ctx(x->rig.e);
}

static void
hold(struct fx *x, const char *operation, int k)
{
	assert_int_equal(sim_hold_requests(ctx_of(x)->sim, operation, k), 0);
}

static struct engine_progress
pass(struct fx *x)
{
	struct engine_progress p;
	struct errbuf eb = {0};

	if (engine_pass(x->rig.e, &p, &eb) != IF_OK)
		fail_msg("engine_pass: %s", eb.msg);
	if (p.next_at > x->rig.now)
		x->rig.now = p.next_at;
	return p;
}

/* How many images are in state at stage. */
static size_t
images_in(struct fx *x, enum image_state state, int stage)
{
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	size_t n = 0, k = 0;

	assert_int_equal(store_images_list(ctx_of(x)->st, &list, &n, &eb),
			 IF_OK);
	assert_int_equal(n, NIMAGES);
	for (size_t i = 0; i < n; i++)
		k += list[i].state == state && list[i].stage == stage;
	free(list);
	return k;
}

static uint64_t
sent(struct fx *x, const char *operation)
{
	return mturk_client_sent(ctx_of(x)->client, operation);
}

/*
 * Four images through two stages.  The first pass posts stage 1 of all
 * four with their uploads and CreateHITs at once; the next reads the
 * four HITs' answers at once, posts stage 2 of all four at once, and
 * approves the four answers at once.  The requests per HIT are those of
 * one image at a time: one HIT type per stage, one CreateHIT, one
 * listing and one approval per HIT.
 */
static void
test_steps_of_images_at_once(void **state)
{
	struct fx *x = *state;
	struct engine_progress p;
	int passes = 0;

	write_exp(x, "atonce", "50.00");
	open_engine(x);
	hold(x, "PutObject", NIMAGES);
	hold(x, "CreateHITWithHITType", NIMAGES);
	p = pass(x);
	assert_true(sim_hold_met(ctx_of(x)->sim, "PutObject"));
	assert_true(sim_hold_met(ctx_of(x)->sim, "CreateHITWithHITType"));
	assert_int_equal(images_in(x, IMAGE_WAIT, 1), NIMAGES);
	assert_int_equal(sent(x, "CreateHITType"), 1);

	hold(x, "ListAssignmentsForHIT", NIMAGES);
	hold(x, "PutObject", NIMAGES);
	hold(x, "CreateHITWithHITType", NIMAGES);
	hold(x, "ApproveAssignment", NIMAGES);
	p = pass(x);
	assert_true(sim_hold_met(ctx_of(x)->sim, "ListAssignmentsForHIT"));
	assert_true(sim_hold_met(ctx_of(x)->sim, "PutObject"));
	assert_true(sim_hold_met(ctx_of(x)->sim, "CreateHITWithHITType"));
	assert_true(sim_hold_met(ctx_of(x)->sim, "ApproveAssignment"));
	assert_int_equal(images_in(x, IMAGE_WAIT, 2), NIMAGES);
	assert_int_equal(sent(x, "CreateHITType"), 2);

	hold(x, "ListAssignmentsForHIT", 0);
	hold(x, "PutObject", 0);
	hold(x, "CreateHITWithHITType", 0);
	hold(x, "ApproveAssignment", 0);
	while (p.final < p.images && ++passes < MAX_PASSES)
		p = pass(x);
	assert_int_equal(p.done, NIMAGES);
	assert_int_equal(sent(x, "CreateHITType"), 2);
	assert_int_equal(sent(x, "CreateQualificationType"), 2);
	assert_int_equal(sent(x, "CreateHITWithHITType"), 2 * NIMAGES);
	assert_int_equal(sent(x, "ListAssignmentsForHIT"), 2 * NIMAGES);
	assert_int_equal(sent(x, "ApproveAssignment"), 2 * NIMAGES);
}

/*
 * A budget of two HITs (0.18 each: 0.15 and MTurk's 20% fee) for four
 * images whose steps go at once: the two HITs it allows are created
 * together, and the other two images pause; nothing is committed past
 * the budget and the simulator holds two HITs.
 */
static void
test_budget_not_overcommitted_at_once(void **state)
{
	struct fx *x = *state;
	struct engine_progress p;
	struct errbuf eb = {0};
	int64_t committed = 0;

	write_exp(x, "atoncebudget", "0.40");
	open_engine(x);
	assert_int_equal(plan_hit_cents(ctx_of(x)->exp), 18);
	hold(x, "PutObject", NIMAGES);
	hold(x, "CreateHITWithHITType", 2);
	p = pass(x);
	assert_true(sim_hold_met(ctx_of(x)->sim, "PutObject"));
	assert_true(sim_hold_met(ctx_of(x)->sim, "CreateHITWithHITType"));
	assert_int_equal(images_in(x, IMAGE_WAIT, 1), 2);
	assert_int_equal(images_in(x, IMAGE_PAUSED, 1), 2);
	assert_int_equal(store_committed_cents(ctx_of(x)->st, &committed,
					       &eb),
			 IF_OK);
	assert_int_equal(committed, 36);
	assert_int_equal(p.committed, 36);
	assert_int_equal(sent(x, "CreateHITWithHITType"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_steps_of_images_at_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_budget_not_overcommitted_at_once, setup,
			teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
