/*
 * Lab mode's list ("intofocus sim", sim/sim_lab.c) between stages and at
 * the study's end (sim_store_lab_over in sim/sim_store_outlook.c): with
 * nothing open it reloads itself while a stage is still to come, and
 * says the study is over, without reloading, once every image of the
 * experiments it knows has a HIT of its last stage and nothing is open;
 * a HIT of an experiment it does not know keeps it looking.  The store
 * runs on an injected clock, with no simulated crowd.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_outlook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIFETIME_S 600

struct fx {
	struct sim_store *st;
	int64_t now_ms;
};

static int64_t
fake_clock(void *ctx)
{
	return ((struct fx *)ctx)->now_ms;
}

static int
setup(void **state)
{
	static const int windows[] = {9, 5};
	static const struct sim_image images[] = {
		{"a", 0, 0, NULL, 0, NULL, 0, NULL, 0},
		{"b", 0, 0, NULL, 0, NULL, 0, NULL, 0},
	};
	struct sim_experiment exp = {"e", windows, 2, images, 2,
				     SIM_AGG_UNION, NULL};
	struct sim_store_config cfg;
	struct fx *x = calloc(1, sizeof(*x));
	struct errbuf eb = {0};

	assert_non_null(x);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 1;
	cfg.crowd_off = true;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = x;
	x->now_ms = 1767323045000LL;
	x->st = sim_store_new(&cfg);
	assert_non_null(x->st);
	assert_int_equal(sim_store_add_experiment(x->st, &exp, &eb), IF_OK);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	sim_store_free(x->st);
	free(x);
	return 0;
}

static void
make_hit(struct fx *x, const char *ann)
{
	json_t *rq, *resp = NULL;
	struct sim_err err;

	rq = json_pack("{s:i, s:i, s:i, s:s, s:s, s:s, s:s, s:s}",
		       "MaxAssignments", 1, "LifetimeInSeconds", LIFETIME_S,
		       "AssignmentDurationInSeconds", 300, "Reward", "0.10",
		       "Title", "t", "Description", "d", "Question", "<q/>",
		       "RequesterAnnotation", ann);
	memset(&err, 0, sizeof(err));
	if (sim_store_call(x->st, "CreateHIT", rq, &resp, &err) != 0)
		fail_msg("CreateHIT: %s %s", err.type, err.message);
	json_decref(rq);
	json_decref(resp);
}

/* The list page: whether it reloads itself and says the study is over. */
static void
assert_list(struct fx *x, bool open, bool over)
{
	struct sim_reply r;
	const char *b;

	sim_reply_init(&r);
	sim_lab_index(x->st, "http://127.0.0.1:9", "W1", &r);
	b = r.body.data != NULL ? r.body.data : "";
	assert_int_equal(r.status, 200);
	assert_int_equal(strstr(b, "http-equiv=\"refresh\"") != NULL, !over);
	assert_int_equal(strstr(b, "The study is over") != NULL, over);
	assert_int_equal(strstr(b, "No HIT is open right now") != NULL,
			 !open && !over);
	sim_reply_cleanup(&r);
}

static void
expire_all(struct fx *x)
{
	x->now_ms += LIFETIME_S * 1000LL;
}

static void
test_lab_over_once_last_stage_posted(void **state)
{
	struct fx *x = *state;

	assert_list(x, false, false); /* nothing posted yet */
	make_hit(x, "e/a/1");
	make_hit(x, "e/b/1");
	assert_list(x, true, false);
	expire_all(x);
	assert_list(x, false, false); /* between stages */
	make_hit(x, "e/a/2");
	expire_all(x);
	assert_list(x, false, false); /* b's stage 2 still to come */
	make_hit(x, "e/b/2");
	assert_list(x, true, false);
	expire_all(x);
	assert_list(x, false, true);
}

static void
test_lab_unknown_experiment_keeps_looking(void **state)
{
	struct fx *x = *state;

	make_hit(x, "e/a/2");
	make_hit(x, "e/b/2");
	make_hit(x, "other/c/1");
	expire_all(x);
	assert_list(x, false, false);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_lab_over_once_last_stage_posted, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_lab_unknown_experiment_keeps_looking, setup,
			teardown),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
