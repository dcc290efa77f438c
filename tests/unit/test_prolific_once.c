/*
 * prolific/once.c: approve once and pay once against the fake Prolific,
 * with the state kept by hooks that can "crash" (the record is made
 * durable, then the step is cut off, as kill -9 right after a commit
 * would), and with faults at every step: 429, 5xx, dropped connections,
 * payments done whose reply was lost, payments landing late.  After each
 * scenario the fake's counters say how many times Prolific paid and
 * approved: never more than once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "prolific/prolific.h"
#include "tests/support/fake_prolific.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOKEN "tok_0123456789abcdef"
#define STUDY "60aa00000000000000000001"
#define SUB1 "60bb00000000000000000001"
#define SUB2 "60bb00000000000000000002"
#define SUB3 "60bb00000000000000000003"
#define T0 1796000000

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

/*
 * The durable store: what survives a crash.  crash_at = N makes the N-th
 * save (1-based, counted from the last reset) durable and then fail, as a
 * process killed right after its commit.
 */
struct store {
	struct prolific_bonus bonus;
	struct prolific_approval approval;
	int saves;
	int crash_at;
	enum prolific_bonus_state bonus_states[32];
	int n_bonus_states;
};

static int
save_bonus(void *ctx, const struct prolific_bonus *b, struct errbuf *eb)
{
	struct store *st = ctx;

	st->bonus = *b;
	if (st->n_bonus_states < 32)
		st->bonus_states[st->n_bonus_states++] = b->state;
	if (++st->saves == st->crash_at)
		return err_set(eb, IF_ERUNTIME, "simulated crash");
	return IF_OK;
}

static int
save_approval(void *ctx, const struct prolific_approval *a, struct errbuf *eb)
{
	struct store *st = ctx;

	st->approval = *a;
	if (++st->saves == st->crash_at)
		return err_set(eb, IF_ERUNTIME, "simulated crash");
	return IF_OK;
}

struct fx {
	struct fake_prolific *fake;
	struct prolific_client *c;
	struct tclock clock;
	struct store st;
	struct prolific_once_hooks hooks;
	struct prolific_once_policy policy;
};

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct prolific_client_config cfg;
	struct errbuf eb = {0};

	assert_non_null(x);
	x->clock.now = T0;
	x->fake = fake_prolific_start(TOKEN, STUDY);
	assert_non_null(x->fake);
	fake_prolific_add_submission(x->fake, SUB1, "5f01", "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, SUB2, "5f02", "RETURNED");
	fake_prolific_add_submission(x->fake, SUB3, "5f03", "ACTIVE");
	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = fake_prolific_url(x->fake);
	cfg.token = TOKEN;
	cfg.http.timeout_ms = 5000;
	cfg.retry.max_attempts = 3;
	cfg.clock.now = t_now;
	cfg.clock.sleep_ms = t_sleep;
	cfg.clock.random = t_random;
	cfg.clock.ctx = &x->clock;
	assert_int_equal(prolific_client_new(&cfg, &x->c, &eb), IF_OK);
	x->hooks.save_bonus = save_bonus;
	x->hooks.save_approval = save_approval;
	x->hooks.ctx = &x->st;
	x->policy.settle_s = 3600;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	prolific_client_free(x->c);
	fake_prolific_stop(x->fake);
	free(x);
	return 0;
}

static void
set_id(char *dst, const char *src)
{
	size_t n = strlen(src);

	assert_true(n < PROLIFIC_ID_MAX);
	memcpy(dst, src, n + 1);
}

static void
new_bonus(struct prolific_bonus *b, const char *sub, int64_t cents)
{
	memset(b, 0, sizeof(*b));
	set_id(b->study_id, STUDY);
	set_id(b->submission_id, sub);
	b->amount_cents = cents;
	b->baseline = -1;
}

/* One step on the durable record, as a restarted daemon would take it. */
static int
step_bonus(struct fx *x, enum prolific_step *step)
{
	struct prolific_bonus b = x->st.bonus;
	struct prolific_error e;
	struct errbuf eb = {0};

	return prolific_bonus_step(x->c, &x->hooks, &x->policy, x->clock.now,
				   &b, step, &e, &eb);
}

static void
test_bonus_paid_once(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAID);
	/* Set up, intent, result: each recorded before the next call. */
	assert_int_equal(x->st.n_bonus_states, 3);
	assert_int_equal(x->st.bonus_states[0], PROLIFIC_BONUS_CREATED);
	assert_int_equal(x->st.bonus_states[1], PROLIFIC_BONUS_PAYING);
	assert_int_equal(x->st.bonus_states[2], PROLIFIC_BONUS_PAID);
	assert_int_equal(x->st.bonus.baseline, 0);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);

	/* Stepping a paid bonus again calls nothing. */
	size_t before = fake_prolific_requests(x->fake);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_requests(x->fake), before);
}

static void
test_crash_after_setup_leaves_only_an_orphan(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* The set-up is recorded, then the process dies. */
	new_bonus(&x->st.bonus, SUB1, 150);
	x->st.crash_at = 1;
	assert_int_not_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_CREATED);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);
	/* Restarted: pays the recorded bulk bonus, sets none up again. */
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_bulks(x->fake), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
}

static void
test_crash_after_intent_before_call(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* Intent recorded (2nd save), killed before the pay call. */
	new_bonus(&x->st.bonus, SUB1, 150);
	x->st.crash_at = 2;
	assert_int_not_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAYING);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);

	/* Restarted within the settling time: look, do not pay. */
	x->clock.now += 600;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_WAIT);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);

	/* Settled without a payment: the call never went; pay now. */
	x->clock.now += 3600;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);
	assert_int_equal(x->st.bonus.pay_calls, 2);
}

static void
test_crash_after_call_before_result(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* Paid, then killed while recording PAID (3rd save not durable:
	 * the store keeps it, so undo it to what a lost commit leaves). */
	new_bonus(&x->st.bonus, SUB1, 150);
	x->st.crash_at = 3;
	assert_int_not_equal(step_bonus(x, &step), IF_OK);
	x->st.bonus.state = PROLIFIC_BONUS_PAYING;
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);

	/* Restarted at once: the payment shows, nothing is paid again. */
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAID);
	assert_false(x->st.bonus.overpaid);
	x->clock.now += 10 * 3600;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);
}

static void
test_reply_lost_payment_late(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* Paid, the reply lost, and Prolific pays "in the following
	 * minutes": the step waits until the payment shows. */
	fake_prolific_set_async(x->fake, true);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAYING);
	for (int i = 0; i < 5; i++) {
		x->clock.now += 600;
		assert_int_equal(step_bonus(x, &step), IF_OK);
		assert_int_equal(step, PROLIFIC_STEP_WAIT);
	}
	fake_prolific_settle(x->fake);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);
}

static void
test_5xx_on_pay_then_paid_after_settling(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_503, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAYING);
	x->clock.now += 60;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_WAIT);
	x->clock.now += 3600;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);
}

static void
test_429_on_pay_is_known_unpaid(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_429, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_CREATED);
	/* No settling needed: Prolific said no. */
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bulks(x->fake), 1);
}

static void
test_never_again_without_operator(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	x->policy.settle_s = -1;
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_DROP, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	x->clock.now += 100000;
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_OPERATOR);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAYING);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);
}

static void
test_refused_setup_goes_to_operator(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* Not a submission of the study: 400 on set-up. */
	new_bonus(&x->st.bonus, "60bb0000000000000000ffff", 150);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_OPERATOR);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_REFUSED);
	assert_int_equal(fake_prolific_bulks(x->fake), 0);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_OPERATOR);
}

static void
test_unreadable_submission_goes_to_operator(void **state)
{
	struct fx *x = *state;
	enum prolific_step step;

	/* The pay call's outcome is unknown, then the submission cannot be
	 * read (gone: 404): the record keeps saying PAYING, for the
	 * operator, and nothing is paid again. */
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_503, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	x->clock.now += 7200;
	/* A 404 for the read: the fake answers unknown ids so. */
	set_id(x->st.bonus.submission_id, "60bb0000000000000000dead");
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_OPERATOR);
	assert_int_equal(x->st.bonus.state, PROLIFIC_BONUS_PAYING);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);
}

static void
test_baseline_counts_earlier_bonus(void **state)
{
	struct fx *x = *state;
	struct prolific_bulk_bonus bb;
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_pay_outcome out;
	enum prolific_step step;

	/* The operator already paid a bonus of the same amount by hand. */
	assert_int_equal(prolific_bonus_create(x->c, STUDY, SUB1, 150, &bb, &e,
					       &eb), IF_OK);
	assert_int_equal(prolific_bonus_pay(x->c, bb.id, &out, &e, &eb), IF_OK);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	new_bonus(&x->st.bonus, SUB1, 150);
	assert_int_equal(step_bonus(x, &step), IF_ETEMP);
	assert_int_equal(x->st.bonus.baseline, 1);
	assert_int_equal(step_bonus(x, &step), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 2);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 2);
}

static void
test_approval_once(void **state)
{
	struct fx *x = *state;
	struct prolific_approval a = {0};
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_step step;

	set_id(a.submission_id, SUB1);
	/* Intent recorded, then killed before the call. */
	x->st.crash_at = 1;
	assert_int_not_equal(prolific_approval_step(x->c, &x->hooks, &a, &step,
						    &e, &eb), IF_OK);
	assert_int_equal(x->st.approval.state, PROLIFIC_APPROVAL_SENDING);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB1), 0);
	/* Restarted; the reply of the approval is lost once. */
	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	a = x->st.approval;
	err_init(&eb);
	assert_int_equal(prolific_approval_step(x->c, &x->hooks, &a, &step, &e,
						&eb), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal(x->st.approval.state, PROLIFIC_APPROVAL_DONE);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB1), 1);
	/* A record lost after the call: the status says approved. */
	a.state = PROLIFIC_APPROVAL_SENDING;
	size_t calls = (size_t)fake_prolific_approve_calls(x->fake, SUB1);
	assert_int_equal(prolific_approval_step(x->c, &x->hooks, &a, &step, &e,
						&eb), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_DONE);
	assert_int_equal((size_t)fake_prolific_approve_calls(x->fake, SUB1),
			 calls);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB1), 1);
}

static void
test_approval_only_when_awaiting_review(void **state)
{
	struct fx *x = *state;
	struct prolific_approval a = {0};
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_step step;

	set_id(a.submission_id, SUB2);
	assert_int_equal(prolific_approval_step(x->c, &x->hooks, &a, &step, &e,
						&eb), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_OPERATOR);
	set_id(a.submission_id, SUB3);
	assert_int_equal(prolific_approval_step(x->c, &x->hooks, &a, &step, &e,
						&eb), IF_OK);
	assert_int_equal(step, PROLIFIC_STEP_WAIT);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB2), 0);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB3), 0);
	assert_int_equal(x->st.saves, 0);
	/* A 5xx that outlasts the retries: passing, the record unchanged. */
	fake_prolific_inject(x->fake, NULL, NULL, FAKE_PROLIFIC_500, 3);
	set_id(a.submission_id, SUB1);
	assert_int_equal(prolific_approval_step(x->c, &x->hooks, &a, &step, &e,
						&eb), IF_ETEMP);
	assert_int_equal(e.fault, PROLIFIC_FAULT_PASSING);
	assert_int_equal(a.state, PROLIFIC_APPROVAL_NEW);
}

/* A small deterministic generator for the storm below. */
static uint32_t
lcg(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/*
 * Six submissions, each to approve and to pay a bonus, under a storm of
 * faults on every endpoint (a pay call meeting one every other time)
 * and a crash at a random save, with payments landing late (up to
 * 3,500 s, within the settling time, as Prolific pays "in the following
 * minutes"), until every one is done; for one seed on its own fake.
 */
static void
storm(uint32_t seed)
{
	static const enum fake_prolific_fault kinds[] = {
		FAKE_PROLIFIC_429, FAKE_PROLIFIC_500, FAKE_PROLIFIC_503,
		FAKE_PROLIFIC_DROP, FAKE_PROLIFIC_DONE_DROP,
	};
	static const char *const prefixes[] = {
		"/api/v1/submissions/", "/api/v1/bulk-bonus-payments/",
		"/api/v1/submissions/bonus-payments/",
	};
	struct prolific_bonus bonus[6];
	struct prolific_approval appr[6];
	char ids[6][PROLIFIC_ID_MAX];
	void *state = NULL;
	struct fx *x;
	int done = 0, rounds = 0, injected = 0;

	setup(&state);
	x = state;
	fake_prolific_set_async(x->fake, true);
	for (int i = 0; i < 6; i++) {
		snprintf(ids[i], sizeof(ids[i]), "60cc%020d", i);
		fake_prolific_add_submission(x->fake, ids[i], "5f",
					     "AWAITING REVIEW");
		new_bonus(&bonus[i], ids[i], 100 + 5 * i);
		memset(&appr[i], 0, sizeof(appr[i]));
		memcpy(appr[i].submission_id, ids[i], PROLIFIC_ID_MAX);
	}
	while (done < 12 && rounds++ < 600) {
		uint32_t r = lcg(&seed);
		enum prolific_step step;
		struct prolific_error e;
		struct errbuf eb = {0};
		int i = (int)(r % 6);

		/* Bounded, so that unmatched faults cannot pile up. */
		if (r % 4 == 0 && injected++ < 100)
			fake_prolific_inject(x->fake,
					     (r >> 4) % 2 ? "POST" : NULL,
					     prefixes[(r >> 5) % 3],
					     kinds[(r >> 7) % 5], 1);
		/* A crash on one of the next saves, one time in five. */
		x->st.saves = 0;
		x->st.crash_at = (r >> 10) % 5 == 0 ? 1 + (int)((r >> 13) % 3)
						    : 0;
		if ((r >> 16) % 2 == 0) {
			x->st.approval = appr[i];
			(void)prolific_approval_step(x->c, &x->hooks,
						     &x->st.approval, &step,
						     &e, &eb);
			appr[i] = x->st.approval; /* only what was saved */
		} else {
			/* The pay call about to be made meets a fault one
			 * time in two. */
			if (bonus[i].state <= PROLIFIC_BONUS_CREATED &&
			    (r >> 19) % 2 == 0)
				fake_prolific_inject(
					x->fake, "POST",
					"/api/v1/bulk-bonus-payments/",
					kinds[(r >> 20) % 5], 1);
			x->st.bonus = bonus[i];
			(void)step_bonus(x, &step);
			bonus[i] = x->st.bonus;
		}
		if (rounds % 5 == 0)
			fake_prolific_settle(x->fake);
		x->clock.now += 700;
		done = 0;
		for (int k = 0; k < 6; k++)
			done += (appr[k].state == PROLIFIC_APPROVAL_DONE) +
				(bonus[k].state == PROLIFIC_BONUS_PAID);
	}
	fake_prolific_settle(x->fake);
	assert_int_equal(done, 12);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(fake_prolific_approvals(x->fake, ids[i]), 1);
		assert_int_equal(fake_prolific_pay_calls(x->fake, ids[i]), 1);
		assert_int_equal(fake_prolific_bonus_landed(x->fake, ids[i]),
				 1);
		assert_false(bonus[i].overpaid);
	}
	teardown(&state);
}

static void
test_storm(void **state)
{
	(void)state;
	for (uint32_t seed = 1; seed <= 10; seed++)
		storm(seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bonus_paid_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_crash_after_setup_leaves_only_an_orphan, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_crash_after_intent_before_call, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_crash_after_call_before_result, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_lost_payment_late,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_5xx_on_pay_then_paid_after_settling, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_429_on_pay_is_known_unpaid,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_never_again_without_operator, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_refused_setup_goes_to_operator, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_unreadable_submission_goes_to_operator, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			test_baseline_counts_earlier_bonus, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approval_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_approval_only_when_awaiting_review, setup,
			teardown),
		cmocka_unit_test(test_storm),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
