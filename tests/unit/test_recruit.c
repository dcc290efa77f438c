/*
 * daemon/recruit.c, run's Prolific step, against the fake Prolific
 * (tests/support/fake_prolific) on loopback, with the daemon's state:
 *
 * - who is approved: a participant whose every answer is approved and
 *   who has nothing open; not one with an invalid answer, an answer not
 *   yet approved, an open HIT, a submission still active or returned,
 *   one with no answer at all (the operator's);
 *   never a rejection; each approved once, each bonus (per valid task,
 *   capped) paid once, across passes;
 * - faults: 429 and 5xx on the listing, on approvals and on bonus
 *   set-ups and pay calls, dropped replies, and "done, reply lost" on
 *   approve and pay: still one approval, one payment;
 * - a failed listing once every image is final holds the end of the run;
 * - the budget: what is committed never passes budget_usd;
 * - many submissions: listed by page, advanced a bounded batch per pass;
 *   later listings ask only for the submissions awaiting review;
 * - a token Prolific refuses: no further calls this run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/recruit.h"
#include "tests/support/fake_prolific.h"
#include "tests/support/tmpdir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "tok-recruit-test"
#define STUDY "60aa00000000000000000001"
#define T0 1796000000
#define POLL 30

struct tclock {
	int64_t now;
};

static int64_t
t_now(void *ctx)
{
	return ((struct tclock *)ctx)->now;
}

static void
t_sleep(void *ctx, int64_t ms)
{
	((struct tclock *)ctx)->now += ms / 1000;
}

static double
t_random(void *ctx)
{
	(void)ctx;
	return 0.5;
}

struct fx {
	char dir[64];
	struct fake_prolific *fake;
	struct tclock clock;
	struct run_ctx ctx;
	struct recruit *r;
	struct recruit_options opt;
	int hits;
};

/* The experiment: reward $1.00, 3 tasks at most, 10 cents a task. */
static void
write_exp(struct fx *x, const char *budget, const char *extra)
{
	char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/exp.yaml", x->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"name: rec\nmturk:\n  environment: simulator\n"
		"  poll_interval: %ds\n"
		"hit:\n  reward: \"0.15\"\nimages: []\n"
		"budget_usd: \"%s\"\n"
		"recruitment:\n  platform: prolific\n  study_id: %s\n"
		"  completion_code: C0DE1\n  reward_usd: \"1.00\"\n"
		"  places: 500\n  tasks_per_participant: 3\n"
		"  bonus_per_task_usd: \"0.10\"\n  fee: academic\n"
		"  api_url: %s\n%s",
		POLL, budget, STUDY, fake_prolific_url(x->fake), extra);
	fclose(fp);
}

static void
open_all(struct fx *x, const char *budget, const char *extra)
{
	struct errbuf eb = {0};
	char path[128], sdir[128];

	write_exp(x, budget, extra);
	snprintf(path, sizeof(path), "%s/exp.yaml", x->dir);
	snprintf(sdir, sizeof(sdir), "%s/state", x->dir);
	if (exp_load(path, &x->ctx.exp, NULL, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	assert_int_equal(state_open(sdir, "rec", &x->ctx.st, &eb), IF_OK);
	x->ctx.now = t_now;
	x->ctx.now_arg = &x->clock;
	x->opt.clock.now = t_now;
	x->opt.clock.sleep_ms = t_sleep;
	x->opt.clock.random = t_random;
	x->opt.clock.ctx = &x->clock;
	x->opt.retry.max_attempts = 3;
	x->opt.settle_s = 600;
	if (x->opt.token == NULL)
		x->opt.token = TOKEN;
	assert_int_equal(recruit_open(&x->ctx, &x->opt, &x->r, &eb), IF_OK);
	assert_non_null(x->r);
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct image_rec im = {0};
	struct errbuf eb = {0};

	assert_non_null(x);
	snprintf(x->dir, sizeof(x->dir), "/tmp/intofocus-rec.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	x->clock.now = T0;
	x->fake = fake_prolific_start(TOKEN, STUDY);
	assert_non_null(x->fake);
	*state = x;
	log_init(-1, false);
	(void)eb;
	(void)im;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	recruit_close(x->r);
	state_close(x->ctx.st);
	exp_free(x->ctx.exp);
	fake_prolific_stop(x->fake);
	assert_int_equal(tmpdir_remove(x->dir), 0);
	free(x);
	return 0;
}

static void
add_image(struct fx *x)
{
	struct image_rec im = {0};
	struct errbuf eb = {0};

	snprintf(im.id, sizeof(im.id), "img");
	im.state = IMAGE_WAIT;
	im.stage = 1;
	im.attempt = 1;
	assert_int_equal(store_image_insert(x->ctx.st, &im, &eb), IF_OK);
}

/* A HIT, created now, open or closed. */
static void
add_hit(struct fx *x, int closed)
{
	struct hit_rec h = {0};
	struct errbuf eb = {0};

	x->hits++;
	snprintf(h.token, sizeof(h.token), "tok%d", x->hits);
	snprintf(h.hit_id, sizeof(h.hit_id), "HIT%d", x->hits);
	snprintf(h.image_id, sizeof(h.image_id), "img");
	h.stage = 1;
	h.attempt = x->hits;
	h.created_at = x->clock.now;
	h.closed = closed;
	assert_int_equal(store_hit_insert(x->ctx.st, &h, &eb), IF_OK);
}

static void
answer(struct fx *x, const char *aid, const char *worker, int valid,
       enum approval approval)
{
	struct assignment_rec a = {0};
	struct errbuf eb = {0};
	bool inserted;

	snprintf(a.assignment_id, sizeof(a.assignment_id), "%s", aid);
	snprintf(a.worker_id, sizeof(a.worker_id), "%s", worker);
	snprintf(a.image_id, sizeof(a.image_id), "img");
	a.stage = 1;
	a.valid = valid;
	a.boxes = "[]";
	assert_int_equal(store_assignment_insert(x->ctx.st, &a, &inserted,
						 &eb),
			 IF_OK);
	assert_int_equal(store_assignment_set_approval(x->ctx.st, aid, worker,
						       approval, &eb),
			 IF_OK);
}

static void
pass(struct fx *x, bool final, bool *idle)
{
	struct errbuf eb = {0};
	int64_t next_at;
	bool local;

	if (recruit_pass(x->r, final, idle != NULL ? idle : &local, &next_at,
			 &eb) != IF_OK)
		fail_msg("recruit_pass: %s", eb.msg);
}

static struct prolific_sub_rec
sub_of(struct fx *x, const char *id)
{
	struct prolific_sub_rec r;
	struct errbuf eb = {0};
	bool found = false;

	assert_int_equal(store_prolific_sub_get(x->ctx.st, id, &r, &found,
						&eb),
			 IF_OK);
	assert_true(found);
	return r;
}

static int64_t
committed(struct fx *x)
{
	struct errbuf eb = {0};
	int64_t c = -1;

	assert_int_equal(store_committed_cents(x->ctx.st, &c, &eb), IF_OK);
	return c;
}

/* Who is approved, who waits, and nothing twice. */
static void
test_who_is_approved(void **state)
{
	struct fx *x = *state;
	bool idle;

	open_all(x, "100", "");
	add_image(x);
	add_hit(x, HIT_CLOSED);
	/* P1: 4 approved answers (the bonus pays 3); P2: one invalid. */
	answer(x, "A1", "P1", 1, APPROVAL_APPROVED);
	answer(x, "A2", "P1", 1, APPROVAL_APPROVED);
	answer(x, "A3", "P1", 1, APPROVAL_APPROVED);
	answer(x, "A4", "P1", 1, APPROVAL_APPROVED);
	answer(x, "A5", "P2", 0, APPROVAL_PENDING);
	answer(x, "A6", "P2", 1, APPROVAL_APPROVED);
	/* P3: an answer the operator has not approved (approve: manual). */
	answer(x, "A7", "P3", 1, APPROVAL_MANUAL);
	/* P6: will complete while a HIT is open. */
	answer(x, "A8", "P6", 1, APPROVAL_APPROVED);
	fake_prolific_add_submission(x->fake, "S1", "P1", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S2", "P2", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S3", "P3", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S4", "P4", "ACTIVE");
	fake_prolific_add_submission(x->fake, "S5", "P5", "RETURNED");
	fake_prolific_add_submission(x->fake, "S6", "P6", "ACTIVE");
	/*
	 * P7 completed without any answer (no task was open): nothing
	 * shows they took part, so the operator decides, not run.
	 */
	fake_prolific_add_submission(x->fake, "S7", "P7", "AWAITING REVIEW");

	pass(x, false, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_approvals(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S7"), 0);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S7"), 0);
	for (int i = 2; i <= 7; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		assert_int_equal(fake_prolific_approve_calls(x->fake, id), 0);
		assert_int_equal(fake_prolific_reject_calls(x->fake, id), 0);
	}
	assert_int_equal(sub_of(x, "S1").settled, PROLIFIC_SUB_DONE);
	assert_non_null(strstr(sub_of(x, "S1").waiting, "30 cents"));
	assert_int_equal(sub_of(x, "S2").settled, PROLIFIC_SUB_WAIT);
	assert_non_null(strstr(sub_of(x, "S2").waiting, "1 invalid answer"));
	assert_non_null(strstr(sub_of(x, "S3").waiting, "not approved yet"));
	assert_non_null(strstr(sub_of(x, "S4").waiting, "not completed"));
	assert_int_equal(sub_of(x, "S5").settled, PROLIFIC_SUB_OPERATOR);
	assert_int_equal(sub_of(x, "S7").settled, PROLIFIC_SUB_OPERATOR);
	assert_non_null(strstr(sub_of(x, "S7").waiting, "no answer"));
	/* $1.00 + 33.3% -> $1.34; $0.30 bonus + $0.10 fee: S1's only. */
	assert_int_equal(committed(x), 134 + 40);

	/*
	 * P6 completes while a HIT is open: an answer of theirs may still
	 * be read from it.  No call is repeated meanwhile.
	 */
	x->clock.now += POLL;
	add_hit(x, HIT_OPEN);
	fake_prolific_set_status(x->fake, "S6", "AWAITING REVIEW");
	pass(x, false, NULL);
	assert_non_null(strstr(sub_of(x, "S6").waiting, "HIT open"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S6"), 0);
	assert_int_equal(state_exec(x->ctx.st,
				    "UPDATE hits SET closed = 1", NULL),
			 IF_OK);
	/* The operator approves P3's answer. */
	{
		struct errbuf eb = {0};

		assert_int_equal(store_assignment_set_approval(
					 x->ctx.st, "A7", "P3",
					 APPROVAL_APPROVED, &eb),
				 IF_OK);
	}
	x->clock.now += POLL;
	pass(x, false, NULL);
	assert_int_equal(fake_prolific_approvals(x->fake, "S6"), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, "S6"), 1);
	assert_int_equal(fake_prolific_approvals(x->fake, "S3"), 1);
	assert_int_equal(fake_prolific_approvals(x->fake, "S2"), 0);
	/*
	 * P4 completes: Prolific's status changes, it is looked at again;
	 * with no answer of theirs, it is the operator's (not approved).
	 */
	fake_prolific_set_status(x->fake, "S4", "AWAITING REVIEW");
	x->clock.now += POLL;
	pass(x, true, &idle);
	assert_non_null(strstr(sub_of(x, "S4").waiting, "no answer"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S4"), 0);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S4"), 0);
	assert_true(idle);
	for (int i = 1; i <= 7; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		assert_true(fake_prolific_approvals(x->fake, id) <= 1);
		assert_true(fake_prolific_pay_calls(x->fake, id) <= 1);
		assert_int_equal(fake_prolific_reject_calls(x->fake, id), 0);
	}
}

/*
 * No answer at all: while a HIT that was open at completion is still
 * open, an answer may arrive and the submission waits; once none is,
 * it is the operator's, never approved (nor rejected) by run, also on
 * the final pass.  An answer read meanwhile makes it an ordinary one.
 */
static void
test_no_answer(void **state)
{
	struct fx *x = *state;
	bool idle;

	open_all(x, "100", "");
	add_image(x);
	add_hit(x, HIT_OPEN);
	fake_prolific_add_submission(x->fake, "S1", "P1", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S2", "P2", "AWAITING REVIEW");
	pass(x, false, &idle);
	assert_int_equal(sub_of(x, "S1").settled, PROLIFIC_SUB_WAIT);
	assert_non_null(strstr(sub_of(x, "S1").waiting, "HIT open"));
	/* P2's answer arrives; the HIT closes. */
	answer(x, "A1", "P2", 1, APPROVAL_APPROVED);
	assert_int_equal(state_exec(x->ctx.st,
				    "UPDATE hits SET closed = 1", NULL),
			 IF_OK);
	x->clock.now += POLL;
	pass(x, true, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_approvals(x->fake, "S2"), 1);
	assert_int_equal(sub_of(x, "S1").settled, PROLIFIC_SUB_OPERATOR);
	assert_non_null(strstr(sub_of(x, "S1").waiting,
			       "no answer from this participant"));
	x->clock.now += POLL;
	pass(x, true, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S1"), 0);
	assert_int_equal(fake_prolific_reject_calls(x->fake, "S1"), 0);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S1"), 0);
	/* Nothing committed for S1: S2's reward and bonus only. */
	assert_int_equal(committed(x), 134 + 14);
}

/* Faults on every call: one approval and one payment each, in the end. */
static void
test_faults(void **state)
{
	struct fx *x = *state;
	bool idle = false;

	open_all(x, "100", "");
	add_image(x);
	add_hit(x, HIT_CLOSED);
	answer(x, "A1", "P1", 1, APPROVAL_APPROVED);
	answer(x, "A2", "P2", 1, APPROVAL_APPROVED);
	answer(x, "A3", "P3", 1, APPROVAL_APPROVED);
	answer(x, "A4", "P4", 1, APPROVAL_APPROVED);
	fake_prolific_add_submission(x->fake, "S1", "P1", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S2", "P2", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S3", "P3", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, "S4", "P4", "AWAITING REVIEW");

	/* The listing fails for good this pass: nothing else is called. */
	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/",
			     FAKE_PROLIFIC_429, 3);
	pass(x, false, &idle);
	assert_int_equal(fake_prolific_bulks(x->fake), 0);
	/* Faults on each step of each submission. */
	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/S1/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/S2/",
			     FAKE_PROLIFIC_503, 3);
	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/bonus-",
			     FAKE_PROLIFIC_DROP, 1);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_500, 1);
	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/S4/",
			     FAKE_PROLIFIC_DROP, 3);
	x->clock.now += POLL;
	pass(x, false, &idle);
	for (int round = 0; round < 8 && !idle; round++) {
		/* Past the settling time of a pay call that may have gone. */
		x->clock.now += 700;
		pass(x, false, &idle);
	}
	assert_true(idle);
	for (int i = 1; i <= 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		assert_int_equal(fake_prolific_approvals(x->fake, id), 1);
		assert_int_equal(fake_prolific_bonus_landed(x->fake, id), 1);
		assert_int_equal(sub_of(x, id).settled, PROLIFIC_SUB_DONE);
	}
	/*
	 * "Done, reply lost" on a pay call: read back, never paid again;
	 * a 500 (not processed) paid once after the settling time.
	 */
	for (int i = 1; i <= 4; i++) {
		char id[16];

		snprintf(id, sizeof(id), "S%d", i);
		assert_int_equal(fake_prolific_pay_calls(x->fake, id), 1);
		assert_int_equal(fake_prolific_reject_calls(x->fake, id), 0);
	}
}

/*
 * Once every image is final, a listing that failed holds the end of the
 * run: the last completions are seen by the next one.
 */
static void
test_final_listing_fails(void **state)
{
	struct fx *x = *state;
	bool idle = true;

	open_all(x, "100", "");
	add_image(x);
	add_hit(x, HIT_CLOSED);
	answer(x, "A1", "P1", 1, APPROVAL_APPROVED);
	fake_prolific_add_submission(x->fake, "S1", "P1", "AWAITING REVIEW");
	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/",
			     FAKE_PROLIFIC_503, 3);
	pass(x, true, &idle);
	assert_false(idle);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S1"), 0);
	x->clock.now += POLL;
	pass(x, true, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_approvals(x->fake, "S1"), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, "S1"), 1);
}

/* The budget: what is committed never passes budget_usd. */
static void
test_budget(void **state)
{
	struct fx *x = *state;
	bool idle;

	/* $1.34 + $0.14 ($0.10 bonus, 33.3% fee) per submission: two fit. */
	open_all(x, "3.00", "");
	add_image(x);
	add_hit(x, HIT_CLOSED);
	for (int i = 1; i <= 3; i++) {
		char aid[16], p[16], s[16];

		snprintf(aid, sizeof(aid), "A%d", i);
		snprintf(p, sizeof(p), "P%d", i);
		snprintf(s, sizeof(s), "S%d", i);
		answer(x, aid, p, 1, APPROVAL_APPROVED);
		fake_prolific_add_submission(x->fake, s, p, "AWAITING REVIEW");
	}
	pass(x, true, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_approvals(x->fake, "S1") +
				 fake_prolific_approvals(x->fake, "S2") +
				 fake_prolific_approvals(x->fake, "S3"),
			 2);
	assert_true(committed(x) <= 300);
	assert_int_equal(committed(x), 2 * (134 + 14));
	assert_non_null(strstr(sub_of(x, "S3").waiting, "budget"));
}

/* 250 submissions: pages of 100, batches of 32; each approved once. */
static void
test_many(void **state)
{
	struct fx *x = *state;
	bool idle = false;
	int passes = 0;
	size_t before;

	x->opt.batch = 32;
	x->opt.page_size = 100;
	open_all(x, "10000", "");
	add_image(x);
	add_hit(x, HIT_CLOSED);
	for (int i = 0; i < 250; i++) {
		char s[16], p[16], a[16];

		snprintf(s, sizeof(s), "S%03d", i);
		snprintf(p, sizeof(p), "P%03d", i);
		snprintf(a, sizeof(a), "A%03d", i);
		answer(x, a, p, 1, APPROVAL_APPROVED);
		fake_prolific_add_submission(x->fake, s, p, "AWAITING REVIEW");
	}
	do {
		pass(x, true, &idle);
		passes++;
	} while (!idle && passes < 20);
	assert_true(idle);
	/* 250 / 32 batches. */
	assert_int_equal(passes, 8);
	for (int i = 0; i < 250; i++) {
		char s[16];

		snprintf(s, sizeof(s), "S%03d", i);
		assert_int_equal(fake_prolific_approvals(x->fake, s), 1);
		assert_int_equal(fake_prolific_pay_calls(x->fake, s), 1);
	}
	/*
	 * Later listings ask only for what awaits review: with every
	 * submission approved, one request (an empty page), not three.
	 */
	before = fake_prolific_requests(x->fake);
	x->clock.now += POLL;
	pass(x, false, &idle);
	assert_true(idle);
	assert_int_equal(fake_prolific_requests(x->fake) - before, 1);
	/* One more completes: listed, approved, the others untouched. */
	answer(x, "A999", "P999", 1, APPROVAL_APPROVED);
	fake_prolific_add_submission(x->fake, "S999", "P999",
				     "AWAITING REVIEW");
	x->clock.now += POLL;
	pass(x, false, &idle);
	assert_int_equal(fake_prolific_approvals(x->fake, "S999"), 1);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S000"), 1);
}

/* A token Prolific refuses: logged once, no more calls this run. */
static void
test_refused_token(void **state)
{
	struct fx *x = *state;
	size_t before;
	bool idle = false;

	x->opt.token = "not-the-token";
	open_all(x, "100", "");
	fake_prolific_add_submission(x->fake, "S1", "P1", "AWAITING REVIEW");
	pass(x, false, &idle);
	assert_true(idle);
	before = fake_prolific_requests(x->fake);
	assert_true(fake_prolific_unauthorized(x->fake) >= 1);
	x->clock.now += POLL;
	pass(x, true, &idle);
	assert_int_equal(fake_prolific_requests(x->fake), before);
	assert_int_equal(fake_prolific_approve_calls(x->fake, "S1"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_who_is_approved, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_no_answer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_final_listing_fails,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_token, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
