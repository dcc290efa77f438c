/*
 * What a participant with no task now sees on the task server's home page
 * (sim/sim_people.c) when the server knows the experiment
 * (sim/sim_store_outlook.c): the operator's own pool waits between
 * stages and goes on when the next stage comes; they are done once no
 * task can come for them (the study over, kept out of the stages still
 * to come by their slot's qualification, their share done, or the study
 * stopped: nothing open or posted for the quiet period); the page says
 * how long they wait at most when only HITs held now can give them a
 * task.  Prolific's participants are sent to the completion page when
 * the study is over and they did a task, and told to return it when they
 * did none.  Requests are handed to the handler directly, with a store
 * on an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_outlook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUDY "60aa00000000000000000003"
#define CODE "C0DE42"
#define COMPLETE "https://app.prolific.com/submissions/complete?cc=" CODE
#define LIFETIME_S 3600
#define EXTENSIONS 1
#define POLL_S 1

struct fx {
	struct sim_store *st;
	struct sim_people *people;
	int64_t now_ms;
	int share;
	bool prolific;
	bool exclusive;
	const char *who; /* the participant /enter names */
};

static const char *const image_ids[] = {"img1", "img2"};
static const unsigned char image_stages[] = {2, 2};
static const char *const slot_names[] = {"intofocus exp stage 1",
					 "intofocus exp stage 2"};
static const int stage_slot[] = {0, 1};

static int64_t
fake_clock(void *ctx)
{
	return ((struct fx *)ctx)->now_ms;
}

static const char *
enter_arg(void *ctx, const char *name)
{
	struct fx *x = ctx;

	if (x->prolific) {
		if (strcmp(name, "PROLIFIC_PID") == 0)
			return x->who;
		if (strcmp(name, "STUDY_ID") == 0)
			return STUDY;
		if (strcmp(name, "SESSION_ID") == 0)
			return "6b0000000000000000000001";
		return NULL;
	}
	return strcmp(name, "participant") == 0 ? x->who : NULL;
}

static const char *
no_arg(void *ctx, const char *name)
{
	(void)ctx;
	(void)name;
	return NULL;
}

static struct sim_reply
handle(struct fx *x, const char *path, const char *cookie)
{
	struct sim_people_request rq = {
		.method = "GET",
		.path = path,
		.cookie = cookie,
		.body = "",
		.arg = strcmp(path, "/enter") == 0 ? enter_arg : no_arg,
		.arg_ctx = x,
	};
	struct sim_reply r;

	memset(&r, 0, sizeof(r));
	sim_people_handle(x->people, x->st, &rq, &r);
	return r;
}

/* The session cookie of participant who, entering by their link. */
static void
enter(struct fx *x, const char *who, char *cookie, size_t n)
{
	struct sim_reply r;

	x->who = who;
	r = handle(x, "/enter", NULL);
	assert_non_null(strchr(r.cookie, ';'));
	snprintf(cookie, n, "%.*s", (int)strcspn(r.cookie, ";"), r.cookie);
	buf_cleanup(&r.body);
}

static bool
body_has(const struct sim_reply *r, const char *s)
{
	return r->body.data != NULL && strstr(r->body.data, s) != NULL;
}

static void
people_make(struct fx *x)
{
	struct sim_people_study study;
	struct sim_people_config pc;
	struct errbuf eb = {0};

	memset(&study, 0, sizeof(study));
	study.name = "exp";
	study.image_ids = image_ids;
	study.image_stages = image_stages;
	study.nimages = 2;
	study.lifetime_s = LIFETIME_S;
	study.max_extensions = EXTENSIONS;
	study.poll_interval_s = POLL_S;
	if (x->exclusive) {
		study.slot_names = slot_names;
		study.nslots = 2;
		study.stage_slot = stage_slot;
		study.nstages = 2;
	}
	memset(&pc, 0, sizeof(pc));
	pc.participant_param = true;
	pc.share = x->share;
	pc.studies = &study;
	pc.nstudies = 1;
	if (x->prolific) {
		pc.prolific_study = STUDY;
		pc.prolific_code = CODE;
	}
	x->people = sim_people_new(&pc, NULL, "http://127.0.0.1:9", &eb);
	if (x->people == NULL)
		fail_msg("sim_people_new: %s", eb.msg);
}

static struct fx *
fx_new(int share, bool prolific, bool exclusive)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct sim_store_config cfg;

	assert_non_null(x);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 1;
	cfg.crowd_off = true;
	cfg.csprng_ids = true;
	cfg.people = true;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = x;
	x->now_ms = 1767323045000LL;
	x->st = sim_store_new(&cfg);
	assert_non_null(x->st);
	x->share = share;
	x->prolific = prolific;
	x->exclusive = exclusive;
	people_make(x);
	return x;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	sim_people_free(x->people);
	sim_store_free(x->st);
	free(x);
	return 0;
}

static int
setup_pool(void **state)
{
	*state = fx_new(0, false, true);
	return 0;
}

static int
setup_share(void **state)
{
	*state = fx_new(1, false, true);
	return 0;
}

static int
setup_prolific(void **state)
{
	*state = fx_new(0, true, false);
	return 0;
}

/* A HIT of one assignment, as the daemon posts an image's stage. */
static void
make_hit(struct fx *x, const char *ann)
{
	char req[1024];
	json_error_t je;
	json_t *rq, *resp = NULL;
	struct sim_err err;

	snprintf(req, sizeof(req),
		 "{\"MaxAssignments\":1,\"LifetimeInSeconds\":%d,"
		 "\"AssignmentDurationInSeconds\":300,\"Reward\":\"0.10\","
		 "\"Title\":\"t\",\"Description\":\"d\",\"Question\":\"<q/>\","
		 "\"RequesterAnnotation\":\"%s\"}",
		 LIFETIME_S, ann);
	rq = json_loads(req, 0, &je);
	assert_non_null(rq);
	memset(&err, 0, sizeof(err));
	if (sim_store_call(x->st, "CreateHIT", rq, &resp, &err) != 0)
		fail_msg("CreateHIT: %s %s", err.type, err.message);
	json_decref(rq);
	json_decref(resp);
}

/* The daemon grants who a stage slot's type (made when missing). */
static void
grant(struct fx *x, const char *who, const char *slot_name)
{
	json_t *rq, *resp = NULL;
	struct sim_err err;
	const char *qid = NULL;

	rq = json_pack("{s:s, s:s, s:s}", "Name", slot_name, "Description",
		       "d", "QualificationTypeStatus", "Active");
	memset(&err, 0, sizeof(err));
	if (sim_store_call(x->st, "CreateQualificationType", rq, &resp,
			   &err) != 0)
		fail_msg("CreateQualificationType: %s", err.message);
	json_decref(rq);
	qid = json_string_value(json_object_get(
		json_object_get(resp, "QualificationType"),
		"QualificationTypeId"));
	assert_non_null(qid);
	rq = json_pack("{s:s, s:s, s:i, s:b}", "QualificationTypeId", qid,
		       "WorkerId", who, "IntegerValue", 1, "SendNotification",
		       0);
	json_decref(resp);
	resp = NULL;
	if (sim_store_call(x->st, "AssociateQualificationWithWorker", rq,
			   &resp, &err) != 0)
		fail_msg("AssociateQualificationWithWorker: %s", err.message);
	json_decref(rq);
	json_decref(resp);
}

/* who takes the task the server offers (its assignment into asg). */
static void
take(struct fx *x, const char *who, char asg[SIM_ID_LEN + 1])
{
	char why[256];

	assert_int_equal(sim_store_people_take(x->st, who, 0, false, asg, why,
					       sizeof(why)),
			 0);
	assert_string_not_equal(asg, "");
}

static void
submit(struct fx *x, const char *who, const char *asg)
{
	char why[256], *xml = strdup("<QuestionFormAnswers/>");

	assert_non_null(xml);
	assert_int_equal(sim_store_people_submit(x->st, who, asg, xml, "[]",
						 why, sizeof(why)),
			 0);
}

static void
do_task(struct fx *x, const char *who)
{
	char asg[SIM_ID_LEN + 1];

	take(x, who, asg);
	submit(x, who, asg);
}

/* The own pool's wait page: refresh, no Prolific, no bound unless said. */
static void
assert_pool_wait(const struct sim_reply *r, bool bound)
{
	assert_int_equal(r->status, 200);
	assert_string_equal(r->location, "");
	assert_true(body_has(r, "<h1>Please wait for the next task</h1>"));
	assert_true(body_has(r, "<meta http-equiv=\"refresh\" "
				"content=\"60\">"));
	assert_true(body_has(r, "<a href=\"/?wait=manual\">Stop looking "
				"again automatically</a>"));
	assert_true(body_has(r, "come back later through your link"));
	assert_false(body_has(r, "Prolific"));
	assert_false(body_has(r, "You are done"));
	assert_int_equal(body_has(r, "You will wait at most"), bound);
	assert_int_equal(body_has(r, "once the current round is finished"),
			 !bound);
}

static void
assert_done(const struct sim_reply *r)
{
	assert_int_equal(r->status, 200);
	assert_string_equal(r->location, "");
	assert_true(body_has(r, "<h1>You are done</h1>"));
	assert_false(body_has(r, "refresh"));
}

static struct sim_reply
home(struct fx *x, const char *cookie)
{
	return handle(x, "/", cookie);
}

/*
 * Between two stages the own pool's participant waits, with no bound
 * known (the next stage's HITs are not posted yet), and goes on to the
 * next stage's task on the same page once it is posted.
 */
static void
test_pool_waits_between_stages(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256];

	enter(x, "W1", c1, sizeof(c1));
	make_hit(x, "exp/img1/1");
	make_hit(x, "exp/img2/1");
	do_task(x, "W1");
	do_task(x, "W2");
	r = home(x, c1);
	assert_pool_wait(&r, false);
	assert_true(body_has(&r, "You have done 1 tasks."));
	buf_cleanup(&r.body);
	/* Stage 2 of img1 comes: the same page now offers it. */
	make_hit(x, "exp/img1/2");
	r = home(x, c1);
	assert_string_equal(r.location, "");
	assert_true(body_has(&r, "Start the next task"));
	buf_cleanup(&r.body);
}

/*
 * Once every image's last stage is posted and no HIT left can give them
 * a task: done.  Just before, with the last HIT held by someone else
 * (who may give it up), they wait, at most until it can end: its expiry
 * and one extension of the lifetime (two hours here).
 */
static void
test_pool_done_when_study_over(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256], held[SIM_ID_LEN + 1];

	enter(x, "W1", c1, sizeof(c1));
	make_hit(x, "exp/img1/1");
	make_hit(x, "exp/img2/1");
	do_task(x, "W1");
	do_task(x, "W2");
	make_hit(x, "exp/img1/2");
	make_hit(x, "exp/img2/2");
	do_task(x, "W1");
	take(x, "W3", held);
	r = home(x, c1);
	assert_pool_wait(&r, true);
	assert_true(body_has(&r, "You will wait at most 2 hours (until "
				 "2026-01-02 05:05 UTC)"));
	assert_true(body_has(&r, "one comes to you if someone gives theirs "
				 "up"));
	buf_cleanup(&r.body);
	/* The last answer is in: nothing can come for W1 any more. */
	submit(x, "W3", held);
	r = home(x, c1);
	assert_done(&r);
	buf_cleanup(&r.body);
}

/*
 * Exclusive stages: once granted stage 1's slot, W1 is kept out of
 * stage 2, whose HITs are still to come; every stage-1 HIT is posted and
 * done, so W1 is done.  W3, who holds no slot, and W4, who holds stage
 * 2's, still wait for stage 2.
 */
static void
test_excluded_from_later_stages_done(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256], c3[256], c4[256];

	enter(x, "W1", c1, sizeof(c1));
	enter(x, "W3", c3, sizeof(c3));
	enter(x, "W4", c4, sizeof(c4));
	make_hit(x, "exp/img1/1");
	make_hit(x, "exp/img2/1");
	do_task(x, "W1");
	do_task(x, "W2");
	/* Not granted yet: stage 2 may still be theirs. */
	r = home(x, c1);
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	grant(x, "W1", slot_names[0]);
	r = home(x, c1);
	assert_done(&r);
	buf_cleanup(&r.body);
	r = home(x, c3);
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	grant(x, "W4", slot_names[1]);
	r = home(x, c4);
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
}

/* Their share done: done, though stage 2 is still to come. */
static void
test_share_reached_done(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256], c2[256];

	enter(x, "W1", c1, sizeof(c1));
	enter(x, "W2", c2, sizeof(c2));
	make_hit(x, "exp/img1/1");
	make_hit(x, "exp/img2/1");
	do_task(x, "W1");
	make_hit(x, "exp/img1/2");
	r = home(x, c1);
	assert_done(&r);
	buf_cleanup(&r.body);
	/* W2, with nothing done, has img2's stage 1 to take. */
	r = home(x, c2);
	assert_true(body_has(&r, "Start the next task"));
	assert_true(body_has(&r, "You have done 0 of your 1 tasks."));
	buf_cleanup(&r.body);
}

/*
 * A study that stopped (the daemon gone for good, say) with stages still
 * to come: participants wait until no HIT of it has been open and none
 * posted for the quiet period, then they are done.
 */
static void
test_study_stopped_done(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256];
	int64_t created = x->now_ms;
	int64_t quiet = sim_outlook_quiet_ms(LIFETIME_S, EXTENSIONS, POLL_S);

	assert_int_equal(quiet, (2 * LIFETIME_S + 2 * POLL_S + 3600) * 1000LL);
	enter(x, "W1", c1, sizeof(c1));
	r = home(x, c1); /* the server's first look */
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	make_hit(x, "exp/img1/1");
	do_task(x, "W1");
	x->now_ms = created + quiet - 1;
	r = home(x, c1);
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	x->now_ms = created + quiet;
	r = home(x, c1);
	assert_done(&r);
	buf_cleanup(&r.body);
}

/*
 * A HIT of the study still open (extended by the daemon) keeps it alive
 * past the quiet period; once that HIT has expired too, it has stopped.
 */
static void
test_open_hit_keeps_study_alive(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char c1[256], asg[SIM_ID_LEN + 1], hit[SIM_ID_LEN + 1], *q = NULL;
	int64_t quiet = sim_outlook_quiet_ms(LIFETIME_S, EXTENSIONS, POLL_S);
	int64_t created = x->now_ms, until = created + 2 * quiet;
	json_t *rq, *resp = NULL;
	struct sim_err err;

	enter(x, "W1", c1, sizeof(c1));
	r = home(x, c1); /* the server's first look */
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	make_hit(x, "exp/img1/1");
	take(x, "W1", asg);
	assert_int_equal(sim_store_people_task(x->st, "W1", asg, &q, hit), 0);
	free(q);
	submit(x, "W1", asg);
	rq = json_pack("{s:s, s:I}", "HITId", hit, "ExpireAt",
		       (json_int_t)(until / 1000));
	memset(&err, 0, sizeof(err));
	if (sim_store_call(x->st, "UpdateExpirationForHIT", rq, &resp,
			   &err) != 0)
		fail_msg("UpdateExpirationForHIT: %s", err.message);
	json_decref(rq);
	json_decref(resp);
	x->now_ms = created + quiet + 1000;
	r = home(x, c1);
	assert_pool_wait(&r, false);
	buf_cleanup(&r.body);
	x->now_ms = until;
	r = home(x, c1);
	assert_done(&r);
	buf_cleanup(&r.body);
}

/*
 * Prolific, the study over: one who did a task goes to the completion
 * page; one who did none is told to return the study (nothing to
 * submit), not sent there.
 */
static void
test_prolific_study_over(void **state)
{
	struct fx *x = *state;
	struct sim_reply r;
	char ca[256], cb[256];

	enter(x, "5f0000000000000000000001", ca, sizeof(ca));
	enter(x, "5f0000000000000000000002", cb, sizeof(cb));
	make_hit(x, "exp/img1/1");
	make_hit(x, "exp/img2/1");
	make_hit(x, "exp/img1/2");
	make_hit(x, "exp/img2/2");
	for (int i = 0; i < 4; i++)
		do_task(x, i % 2 == 0 ? "5f0000000000000000000001"
				      : "W9");
	r = home(x, ca);
	assert_int_equal(r.status, 303);
	assert_string_equal(r.location, COMPLETE);
	buf_cleanup(&r.body);
	r = home(x, cb);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.location, "");
	assert_true(body_has(&r, "<h1>No task is left for you</h1>"));
	assert_true(body_has(&r, "return the study on Prolific"));
	assert_false(body_has(&r, "refresh"));
	buf_cleanup(&r.body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pool_waits_between_stages,
						setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_pool_done_when_study_over,
						setup_pool, teardown),
		cmocka_unit_test_setup_teardown(
			test_excluded_from_later_stages_done, setup_pool,
			teardown),
		cmocka_unit_test_setup_teardown(test_share_reached_done,
						setup_share, teardown),
		cmocka_unit_test_setup_teardown(test_study_stopped_done,
						setup_pool, teardown),
		cmocka_unit_test_setup_teardown(
			test_open_hit_keeps_study_alive, setup_pool, teardown),
		cmocka_unit_test_setup_teardown(test_prolific_study_over,
						setup_prolific, teardown),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
