/*
 * The task server's home page for a Prolific participant with nothing to
 * do right now (sim/sim_people.c, sim_people_handle): between two stages,
 * with their share not done, they get a page that looks again by itself,
 * not Prolific's completion page (which would end their submission
 * mid-study); once a task is there, the same page gives it; once their
 * share is done, the completion page with the study's code.  A finish
 * link is offered only to one who has done a task, and the refresh can
 * be turned off (/?wait=manual).  The operator's own
 * participants keep the "you are done" page.  Requests are handed to the
 * handler directly, with a store on an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/people_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUDY "60aa00000000000000000003"
#define CODE "C0DE42"
#define COMPLETE "https://app.prolific.com/submissions/complete?cc=" CODE
#define PID "5f0000000000000000000001"
#define SESSION "6b0000000000000000000001"

struct fx {
	struct people_rig *rig;
	char cookie[256]; /* "ifs=P.ID.MAC" */
	int hits;
};

/* The query of an /enter link: Prolific's three parameters. */
static const char *
enter_arg(void *ctx, const char *name)
{
	(void)ctx;
	if (strcmp(name, "PROLIFIC_PID") == 0)
		return PID;
	if (strcmp(name, "STUDY_ID") == 0)
		return STUDY;
	if (strcmp(name, "SESSION_ID") == 0)
		return SESSION;
	return NULL;
}

/* "/?wait=manual": the wait page without its refresh. */
static const char *
manual_arg(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "wait") == 0 ? "manual" : NULL;
}

static struct sim_reply
get(struct fx *x, const char *path, const char *cookie)
{
	if (strcmp(path, "/?wait=manual") == 0)
		return people_rig_get(x->rig, "/", cookie, manual_arg);
	return people_rig_get(x->rig, path, cookie, NULL);
}

static bool
body_has(const struct sim_reply *r, const char *s)
{
	return people_rig_body_has(r, s);
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct sim_store_config cfg;
	struct sim_people_config pc;

	assert_non_null(x);
	people_rig_participants(&cfg);
	x->rig = people_rig_new(&cfg, NULL);
	memset(&pc, 0, sizeof(pc));
	pc.prolific_study = STUDY;
	pc.prolific_code = CODE;
	pc.participant_param = true;
	pc.share = 2;
	people_rig_pages(x->rig, &pc);
	/* The participant arrives from Prolific: a session cookie. */
	assert_int_equal(people_rig_enter(x->rig, enter_arg, x->cookie,
					  sizeof(x->cookie)),
			 0);
	assert_non_null(strstr(x->cookie, "=P." PID "."));
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	people_rig_free(x->rig);
	free(x);
	return 0;
}

/* A HIT of one assignment, as the daemon posts a stage's. */
static void
make_hit(struct fx *x)
{
	char ann[64], id[SIM_ID_LEN + 1];

	x->hits++;
	snprintf(ann, sizeof(ann), "exp/img%d/1", x->hits);
	people_rig_post_hit(x->rig, 1, ann, NULL, id);
}

/* The participant takes the task the server offers and submits it. */
static void
do_task(struct fx *x)
{
	char asg[SIM_ID_LEN + 1];

	people_rig_do_task(x->rig, PID, 2, asg);
}

/* Either wait page: no redirect, and the participant's count. */
static void
assert_waiting(const struct sim_reply *r, int done)
{
	char line[64];

	assert_int_equal(r->status, 200);
	assert_string_equal(r->location, "");
	assert_true(body_has(r, "Please wait for the next task"));
	snprintf(line, sizeof(line), "You have done %d of your 2 tasks",
		 done);
	assert_true(body_has(r, line));
}

/* The wait page: it refreshes itself; finish or return. */
static void
assert_wait_page(const struct sim_reply *r, int done, bool finish)
{
	assert_waiting(r, done);
	assert_true(body_has(r, "<meta http-equiv=\"refresh\" "
				"content=\"60\">"));
	assert_int_equal(body_has(r, "href=\"" COMPLETE "\""), finish);
	assert_int_equal(body_has(r, "return the study on Prolific"),
			 !finish);
	/* The refresh can be turned off (WCAG 2.2.1), by the first link. */
	assert_true(body_has(r, "<a href=\"/?wait=manual\">Stop looking "
				"again automatically</a>"));
}

/* The same page with the refresh turned off, and a way back to it. */
static void
assert_manual_wait_page(const struct sim_reply *r, int done)
{
	assert_waiting(r, done);
	assert_false(body_has(r, "refresh"));
	assert_true(body_has(r, "<a href=\"/?wait=manual\">Look again "
				"now</a>"));
	assert_true(body_has(r, "<a href=\"/\">look again every "
				"minute</a>"));
}

static void
test_wait_between_stages(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;

	/* Published before the first HIT: wait, and nothing to finish. */
	r = get(x, "/", x->cookie);
	assert_wait_page(&r, 0, false);
	buf_cleanup(&r.body);

	/* Stage 1's HIT: the tasks page. */
	make_hit(x);
	r = get(x, "/", x->cookie);
	assert_string_equal(r.location, "");
	assert_true(body_has(&r, "Your tasks"));
	buf_cleanup(&r.body);

	/* Done with it; stage 2 not posted yet: wait, not the end. */
	do_task(x);
	r = get(x, "/", x->cookie);
	assert_wait_page(&r, 1, true);
	buf_cleanup(&r.body);
	r = get(x, "/?wait=manual", x->cookie);
	assert_manual_wait_page(&r, 1);
	buf_cleanup(&r.body);

	/* Stage 2 comes: the same page now offers the task (either way). */
	make_hit(x);
	r = get(x, "/?wait=manual", x->cookie);
	assert_string_equal(r.location, "");
	assert_true(body_has(&r, "Start the next task"));
	buf_cleanup(&r.body);
	r = get(x, "/", x->cookie);
	assert_string_equal(r.location, "");
	assert_true(body_has(&r, "You have done 1 of your 2 tasks"));
	assert_true(body_has(&r, "Start the next task"));
	buf_cleanup(&r.body);

	/* Share done: Prolific's completion page, even with tasks left. */
	do_task(x);
	make_hit(x);
	r = get(x, "/", x->cookie);
	assert_int_equal(r.status, 303);
	assert_string_equal(r.location, COMPLETE);
	buf_cleanup(&r.body);
}

static const char *
pool_arg(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "participant") == 0 ? "W0001" : NULL;
}

/* The operator's own participants keep the "you are done" page. */
static void
test_pool_participant_unchanged(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char cookie[256];

	people_rig_enter(x->rig, pool_arg, cookie, sizeof(cookie));
	assert_non_null(strstr(cookie, "=O.W0001."));
	r = get(x, "/", cookie);
	assert_int_equal(r.status, 200);
	assert_true(body_has(&r, "You are done"));
	assert_false(body_has(&r, "refresh"));
	buf_cleanup(&r.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wait_between_stages,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_pool_participant_unchanged, setup, teardown),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
