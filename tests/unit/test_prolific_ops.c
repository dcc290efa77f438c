/*
 * daemon/prolific_ops.c: the operator's Prolific commands against the
 * fake Prolific (tests/support/fake_prolific, loopback) and a real state.
 *
 * - the listing puts each submission's Prolific status beside the
 *   daemon's view (answers, valid ones, approval and bonus records, the
 *   operator's decision, why run waits), as text and as JSON, page after
 *   page, and works before the daemon has a state;
 * - approving by hand writes run's approval record with the reward's
 *   cost, and the bonus for the valid tasks for run to pay (it pays
 *   nothing itself), approves once (a second approve calls nothing),
 *   refuses a submission not awaiting review or past the budget without
 *   a call;
 * - rejecting by hand checks Prolific's required fields before any
 *   request, writes the decision and settles the submission for run
 *   before the call, survives a lost reply and an unavailable service
 *   (the same command again finishes it), refuses a submission the
 *   daemon approved, and nothing is sent when the record cannot be
 *   written;
 * - with run's Prolific step on the same state: a rejection by hand is
 *   never followed by an approval or a bonus (while, without it, run
 *   approves and pays), and the bonus of an approval by hand (for an
 *   answer not valid, which run leaves to the operator) is paid by run's
 *   next pass, once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/prolific_ops.h"
#include "daemon/recruit.h"
#include "tests/support/fake_prolific.h"
#include "tests/support/tmpdir.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOKEN "ops-test-token"
#define STUDY "60a1b2c3d4e5f60718293a4b"
#define SUB_A "6b0000000000000000000a0a" /* awaiting review, 2 valid */
#define SUB_B "6b0000000000000000000b0b" /* approved by run, bonus paid */
#define SUB_C "6b0000000000000000000c0c" /* active */
#define SUB_D "6b0000000000000000000d0d" /* returned */
#define PID_A "5f0000000000000000000a0a"
#define PID_B "5f0000000000000000000b0b"
#define PID_C "5f0000000000000000000c0c"
#define PID_D "5f0000000000000000000d0d"
#define SUB_E "6b0000000000000000000e0e" /* one answer not valid */
#define PID_E "5f0000000000000000000e0e"
#define NOW 1796000000
/* Reward 2.00 and the corporate fee, 42.8% rounded up: 2.86. */
#define REWARD_COST 286

#define LONG_MESSAGE                                                      \
	"Your answers to the tasks of this study were left empty: no box "  \
	"was drawn on any picture, so we cannot accept this submission."

struct fx {
	char dir[64];
	char *state_dir;
	struct fake_prolific *fake;
	struct experiment *exp;
	struct state *st;
	struct prolific_client *client;
	struct prolific_ops o;
	FILE *out;
	int64_t now;
};

static int64_t
t_now(void *ctx)
{
	return *(int64_t *)ctx;
}

static void
t_sleep(void *ctx, int64_t ms)
{
	*(int64_t *)ctx += ms / 1000;
}

static double
t_random(void *ctx)
{
	(void)ctx;
	return 0.5;
}

static struct experiment *
load_exp(struct fx *x, const char *budget)
{
	char path[128], yaml[1024];
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	FILE *fp;

	snprintf(path, sizeof(path), "%s/ops.yaml", x->dir);
	snprintf(yaml, sizeof(yaml),
		 "name: ops\nmturk:\n  environment: simulator\n"
		 "hit:\n  reward: \"0.15\"\nimages: []\n"
		 "budget_usd: \"%s\"\nrecruitment:\n  platform: prolific\n"
		 "  study_id: " STUDY "\n  completion_code: C1A2B3C4\n"
		 "  reward_usd: \"2.00\"\n  places: 40\n"
		 "  tasks_per_participant: 2\n"
		 "  bonus_per_task_usd: \"0.05\"\n  api_url: %s\n",
		 budget, fake_prolific_url(x->fake));
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(yaml, fp);
	fclose(fp);
	assert_int_equal(exp_load(path, &e, NULL, &eb), IF_OK);
	return e;
}

static void
add_assignment(struct state *st, const char *aid, const char *worker,
	       int valid)
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
	assert_int_equal(store_assignment_insert(st, &a, &inserted, &eb),
			 IF_OK);
}

/* What run would have written after listing the study once. */
static void
run_listed(struct state *st, const char *id, const char *pid,
	   enum prolific_status status)
{
	struct prolific_submission s = {0};
	struct errbuf eb = {0};

	snprintf(s.id, sizeof(s.id), "%s", id);
	snprintf(s.participant_id, sizeof(s.participant_id), "%s", pid);
	s.status = status;
	assert_int_equal(store_prolific_sub_seen(st, &s, NOW, &eb), IF_OK);
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct prolific_client_config cc;
	struct image_rec im = {0};
	struct prolific_approval a = {0};
	struct prolific_bonus b = {0};
	struct errbuf eb = {0};

	assert_non_null(x);
	x->now = NOW;
	snprintf(x->dir, sizeof(x->dir), "/tmp/intofocus-pops.XXXXXX");
	assert_non_null(mkdtemp(x->dir));
	x->state_dir = path_join(x->dir, "state");
	x->fake = fake_prolific_start(TOKEN, STUDY);
	assert_non_null(x->fake);
	fake_prolific_add_submission(x->fake, SUB_A, PID_A, "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, SUB_B, PID_B, "APPROVED");
	fake_prolific_add_submission(x->fake, SUB_C, PID_C, "ACTIVE");
	fake_prolific_add_submission(x->fake, SUB_D, PID_D, "RETURNED");
	x->exp = load_exp(x, "100");
	assert_int_equal(state_open(x->state_dir, "ops", &x->st, &eb), IF_OK);

	snprintf(im.id, sizeof(im.id), "img");
	im.state = IMAGE_WAIT;
	im.stage = 1;
	im.attempt = 1;
	assert_int_equal(store_image_insert(x->st, &im, &eb), IF_OK);
	add_assignment(x->st, "ASGA1", PID_A, 1);
	add_assignment(x->st, "ASGA2", PID_A, 1);
	add_assignment(x->st, "ASGB1", PID_B, 1);
	add_assignment(x->st, "ASGB2", PID_B, 0);
	run_listed(x->st, SUB_A, PID_A, PROLIFIC_STATUS_AWAITING_REVIEW);
	run_listed(x->st, SUB_B, PID_B, PROLIFIC_STATUS_APPROVED);
	snprintf(a.submission_id, sizeof(a.submission_id), SUB_B);
	a.state = PROLIFIC_APPROVAL_DONE;
	assert_int_equal(store_prolific_approval_put(x->st, &a, REWARD_COST,
						     NOW, &eb),
			 IF_OK);
	snprintf(b.study_id, sizeof(b.study_id), STUDY);
	snprintf(b.submission_id, sizeof(b.submission_id), SUB_B);
	b.amount_cents = 5;
	b.state = PROLIFIC_BONUS_PAID;
	b.baseline = 0;
	b.pay_calls = 1;
	assert_int_equal(store_prolific_bonus_put(x->st, &b, 8, 1, NOW, &eb),
			 IF_OK);

	memset(&cc, 0, sizeof(cc));
	cc.base_url = x->exp->recruitment.api_url;
	cc.token = TOKEN;
	cc.http.timeout_ms = 5000;
	cc.retry.max_attempts = 3;
	cc.clock.now = t_now;
	cc.clock.sleep_ms = t_sleep;
	cc.clock.random = t_random;
	cc.clock.ctx = &x->now;
	assert_int_equal(prolific_client_new(&cc, &x->client, &eb), IF_OK);
	x->out = tmpfile();
	assert_non_null(x->out);
	x->o.exp = x->exp;
	x->o.st = x->st;
	x->o.client = x->client;
	x->o.now = t_now;
	x->o.now_arg = &x->now;
	x->o.out = x->out;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	fclose(x->out);
	prolific_client_free(x->client);
	state_close(x->st);
	exp_free(x->exp);
	fake_prolific_stop(x->fake);
	assert_int_equal(tmpdir_remove(x->dir), 0);
	free(x->state_dir);
	free(x);
	return 0;
}

/* Everything written to the operator so far (free it). */
static char *
output(struct fx *x)
{
	long n;
	char *s;

	fflush(x->out);
	n = ftell(x->out);
	assert_true(n >= 0);
	s = calloc(1, (size_t)n + 1);
	assert_non_null(s);
	rewind(x->out);
	assert_int_equal(fread(s, 1, (size_t)n, x->out), (size_t)n);
	return s;
}

/* The line of the listing that starts with id. */
static char *
line_of(const char *text, const char *id)
{
	const char *p = strstr(text, id), *e;

	assert_non_null(p);
	e = strchr(p, '\n');
	assert_non_null(e);
	return strndup(p, (size_t)(e - p));
}

/* Words of a line, whitespace-separated (at most 16). */
static size_t
words(char *line, char *w[16])
{
	size_t n = 0;

	for (char *t = strtok(line, " "); t != NULL && n < 16;
	     t = strtok(NULL, " "))
		w[n++] = t;
	return n;
}

static void
test_list_text(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char *text, *l, *w[16];

	assert_int_equal(prolific_ops_submissions(&x->o, false, &eb), IF_OK);
	text = output(x);
	assert_non_null(strstr(text, "SUBMISSION"));
	/* A: awaiting review, 2 answers, 2 valid, no records yet. */
	l = line_of(text, SUB_A);
	assert_int_equal(words(l, w), 9);
	assert_string_equal(w[1], PID_A);
	assert_string_equal(w[2], "AWAITING");
	assert_string_equal(w[3], "REVIEW");
	assert_string_equal(w[4], "2");
	assert_string_equal(w[5], "2");
	assert_string_equal(w[6], "-");
	assert_string_equal(w[7], "-");
	assert_string_equal(w[8], "-");
	free(l);
	/* B: approved, one answer of two not valid, run's records. */
	l = line_of(text, SUB_B);
	assert_int_equal(words(l, w), 9);
	assert_string_equal(w[2], "APPROVED");
	assert_string_equal(w[3], "2");
	assert_string_equal(w[4], "1");
	assert_string_equal(w[5], "done");
	assert_string_equal(w[6], "paid");
	assert_string_equal(w[7], "0.05");
	assert_string_equal(w[8], "-");
	free(l);
	/* C: active, unknown to the daemon. */
	l = line_of(text, SUB_C);
	assert_int_equal(words(l, w), 8);
	assert_string_equal(w[2], "ACTIVE");
	assert_string_equal(w[3], "0");
	assert_string_equal(w[4], "0");
	free(l);
	assert_non_null(strstr(text,
			       "4 submissions: 1 awaiting review, 1 approved "
			       "on Prolific; daemon: 1 approvals done, 1 "
			       "bonuses paid, 1 with an answer not valid; 0 "
			       "decided by hand\n"));
	free(text);
}

static void
test_list_json(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	json_error_t jerr;
	json_t *j, *subs, *b, *d;
	char *text;

	assert_int_equal(prolific_ops_submissions(&x->o, true, &eb), IF_OK);
	text = output(x);
	j = json_loads(text, 0, &jerr);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "study_id")),
			    STUDY);
	assert_int_equal(json_integer_value(json_object_get(j, "total")), 4);
	subs = json_object_get(j, "submissions");
	assert_int_equal(json_array_size(subs), 4);
	b = json_array_get(subs, 1);
	assert_string_equal(
		json_string_value(json_object_get(b, "submission_id")), SUB_B);
	assert_string_equal(json_string_value(json_object_get(b, "status")),
			    "APPROVED");
	d = json_object_get(b, "daemon");
	assert_int_equal(json_integer_value(json_object_get(d, "answers")), 2);
	assert_int_equal(
		json_integer_value(json_object_get(d, "answers_valid")), 1);
	assert_string_equal(json_string_value(json_object_get(d, "approval")),
			    "done");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(d, "bonus"), "state")),
			    "paid");
	assert_int_equal(json_integer_value(json_object_get(
				 json_object_get(d, "bonus"), "amount_cents")),
			 5);
	assert_true(json_is_null(json_object_get(d, "decision")));
	json_decref(j);
	free(text);
}

/* Before the daemon has a state: Prolific's side, "daemon": null. */
static void
test_list_without_state(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	json_t *j;
	char *text;

	x->o.st = NULL;
	assert_int_equal(prolific_ops_submissions(&x->o, true, &eb), IF_OK);
	text = output(x);
	j = json_loads(text, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "daemon_state")));
	assert_true(json_is_null(json_object_get(
		json_array_get(json_object_get(j, "submissions"), 0),
		"daemon")));
	json_decref(j);
	free(text);
}

/* More submissions than a page (100): every one listed once. */
static void
test_list_pages(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char id[32], *text;
	size_t lines = 0;

	for (int i = 0; i < 150; i++) {
		snprintf(id, sizeof(id), "6c%022d", i);
		fake_prolific_add_submission(x->fake, id, "5f01", "ACTIVE");
	}
	assert_int_equal(prolific_ops_submissions(&x->o, false, &eb), IF_OK);
	text = output(x);
	for (const char *p = text; (p = strstr(p, "\n6")) != NULL; p++)
		lines++;
	assert_int_equal(lines, 154);
	assert_non_null(strstr(text, "154 submissions:"));
	free(text);
}

static void
test_approve(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_approval a;
	struct prolific_decision d;
	struct prolific_bonus b;
	struct prolific_sub_rec r;
	int64_t cost = 0;
	char status[32], *text;
	int tasks = 0;
	bool found;

	assert_int_equal(prolific_ops_approve(&x->o, SUB_A, &eb), IF_OK);
	fake_prolific_status(x->fake, SUB_A, status, sizeof(status));
	assert_string_equal(status, "APPROVED");
	assert_int_equal(fake_prolific_approvals(x->fake, SUB_A), 1);
	assert_int_equal(store_prolific_approval_get(x->st, SUB_A, &a, &cost,
						     &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(a.state, PROLIFIC_APPROVAL_DONE);
	assert_int_equal(cost, REWARD_COST);
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(d.action, PROLIFIC_DECIDED_APPROVE);
	assert_int_equal(d.state, PROLIFIC_DECISION_DONE);
	/* The bonus for its 2 valid tasks is recorded for run to pay. */
	assert_int_equal(store_prolific_bonus_get(x->st, SUB_A, &b, &cost,
						  &tasks, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(b.state, PROLIFIC_BONUS_NEW);
	assert_int_equal(b.amount_cents, 10);
	assert_int_equal(tasks, 2);
	assert_int_equal(cost, 15); /* 0.10 and its fee, 0.0428 up */
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_A), 0);
	assert_int_equal(fake_prolific_bulks(x->fake), 0);
	assert_int_equal(store_prolific_sub_get(x->st, SUB_A, &r, &found, &eb),
			 IF_OK);
	assert_int_equal(r.settled, PROLIFIC_SUB_OPEN);
	assert_int_equal(r.next_at, 0);
	text = output(x);
	assert_non_null(strstr(text, "submission " SUB_A " (participant "
				     PID_A "): approved\n"
				     "its bonus of 0.10 is paid by the "
				     "daemon's next pass"));
	free(text);
	/* Again: the record says done; no second transition is sent. */
	assert_int_equal(prolific_ops_approve(&x->o, SUB_A, &eb), IF_OK);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_A), 1);
}

/* An answer not valid: approved by hand, the bonus for the valid one. */
static void
test_approve_one_invalid(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_bonus b;
	bool found;
	int tasks = 0;

	fake_prolific_add_submission(x->fake, SUB_E, PID_E, "AWAITING REVIEW");
	add_assignment(x->st, "ASGE1", PID_E, 1);
	add_assignment(x->st, "ASGE2", PID_E, 0);
	assert_int_equal(prolific_ops_approve(&x->o, SUB_E, &eb), IF_OK);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB_E), 1);
	assert_int_equal(store_prolific_bonus_get(x->st, SUB_E, &b, NULL,
						  &tasks, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(b.amount_cents, 5);
	assert_int_equal(tasks, 1);
}

static void
test_approve_refused(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_approval a;
	bool found;

	/* Returned on Prolific: nothing to approve, nothing recorded. */
	assert_int_equal(prolific_ops_approve(&x->o, SUB_D, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "RETURNED"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_D), 0);
	assert_int_equal(store_prolific_approval_get(x->st, SUB_D, &a, NULL,
						     &found, &eb),
			 IF_OK);
	assert_false(found);
	/* Still active: not completed yet. */
	err_init(&eb);
	assert_int_equal(prolific_ops_approve(&x->o, SUB_C, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "not completed yet"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_C), 0);
	/* Not an id: refused before any request. */
	err_init(&eb);
	assert_int_equal(prolific_ops_approve(&x->o, "../x", &eb), IF_EINPUT);
	/* Unknown to Prolific (404). */
	err_init(&eb);
	assert_int_equal(prolific_ops_approve(&x->o, "6bffffffffffffffffffffff",
					      &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "404"));
}

/* budget_usd 5.00, 2.86 committed by B: A's 2.86 more would pass it. */
static void
test_approve_past_budget(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_approval a;
	bool found;

	exp_free(x->exp);
	x->exp = load_exp(x, "5.00");
	x->o.exp = x->exp;
	assert_int_equal(prolific_ops_approve(&x->o, SUB_A, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "budget_usd 5.00"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_A), 0);
	assert_int_equal(store_prolific_approval_get(x->st, SUB_A, &a, NULL,
						     &found, &eb),
			 IF_OK);
	assert_false(found);
}

static void
test_reject(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_decision d;
	struct prolific_sub_rec r;
	char status[32];
	bool found;

	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_OK);
	fake_prolific_status(x->fake, SUB_A, status, sizeof(status));
	assert_string_equal(status, "REJECTED");
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB_A), 1);
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(d.action, PROLIFIC_DECIDED_REJECT);
	assert_int_equal(d.state, PROLIFIC_DECISION_DONE);
	assert_string_equal(d.category, "NO_DATA");
	/* Run leaves it alone. */
	assert_int_equal(store_prolific_sub_get(x->st, SUB_A, &r, &found, &eb),
			 IF_OK);
	assert_int_equal(r.settled, PROLIFIC_SUB_DONE);
	assert_string_equal(r.waiting, "rejected by the operator");
	/* Approving it afterwards is refused here, before Prolific. */
	assert_int_equal(prolific_ops_approve(&x->o, SUB_A, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "you rejected it"));
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_A), 0);
	/* Rejecting again: Prolific shows it rejected; nothing is sent. */
	err_init(&eb);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_OK);
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB_A), 1);
}

/* Prolific's required fields are checked before any request. */
static void
test_reject_fields(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	size_t before = fake_prolific_requests(x->fake);

	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     "too short", &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "at least 100"));
	err_init(&eb);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "no data",
					     LONG_MESSAGE, &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "", LONG_MESSAGE,
					     &eb),
			 IF_EINPUT);
	assert_int_equal(fake_prolific_requests(x->fake), before);
}

/* The daemon approved B: a rejection is refused without a call. */
static void
test_reject_after_run_approved(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};

	assert_int_equal(prolific_ops_reject(&x->o, SUB_B, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "the daemon approved it"));
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB_B), 0);
}

/* Rejected, but the reply lost: the client's retry is ignored. */
static void
test_reject_reply_lost(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_decision d;
	bool found;

	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/" SUB_A,
			     FAKE_PROLIFIC_DONE_DROP, 1);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_OK);
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB_A), 2);
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_int_equal(d.state, PROLIFIC_DECISION_DONE);
}

/* Unavailable: the intent stays, and the same command finishes it. */
static void
test_reject_unavailable(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_decision d;
	struct prolific_sub_rec r;
	char status[32];
	bool found;

	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/" SUB_A,
			     FAKE_PROLIFIC_503, 3);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_ETEMP);
	assert_non_null(strstr(eb.msg, "run the same command again"));
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(d.state, PROLIFIC_DECISION_SENDING);
	assert_int_equal(store_prolific_sub_get(x->st, SUB_A, &r, &found, &eb),
			 IF_OK);
	assert_int_equal(r.settled, PROLIFIC_SUB_DONE);
	fake_prolific_status(x->fake, SUB_A, status, sizeof(status));
	assert_string_equal(status, "AWAITING REVIEW");
	err_init(&eb);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_OK);
	fake_prolific_status(x->fake, SUB_A, status, sizeof(status));
	assert_string_equal(status, "REJECTED");
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_int_equal(d.state, PROLIFIC_DECISION_DONE);
}

/* The intent cannot be written: nothing goes to Prolific. */
static void
test_reject_record_first(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct prolific_decision d;
	bool found;

	state_fail_write_at(x->st, 1, "prolific_decisions");
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_ERUNTIME);
	assert_true(state_fail_write_fired(x->st));
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB_A), 0);
	assert_int_equal(store_prolific_decision_get(x->st, SUB_A, &d, &found,
						     &eb),
			 IF_OK);
	assert_false(found);
}

/* ---- with run's Prolific step (daemon/recruit.c) ------------------------ */

/* run's step on the same state and fake, on the test's clock. */
static struct recruit *
run_step(struct fx *x, struct run_ctx *ctx)
{
	struct recruit_options opt;
	struct recruit *r = NULL;
	struct errbuf eb = {0};

	memset(ctx, 0, sizeof(*ctx));
	ctx->exp = x->exp;
	ctx->st = x->st;
	ctx->now = t_now;
	ctx->now_arg = &x->now;
	memset(&opt, 0, sizeof(opt));
	opt.clock.now = t_now;
	opt.clock.sleep_ms = t_sleep;
	opt.clock.random = t_random;
	opt.clock.ctx = &x->now;
	opt.retry.max_attempts = 3;
	opt.token = TOKEN;
	assert_int_equal(recruit_open(ctx, &opt, &r, &eb), IF_OK);
	assert_non_null(r);
	return r;
}

static void
run_pass(struct recruit *r)
{
	struct errbuf eb = {0};
	int64_t next_at;
	bool idle;

	if (recruit_pass(r, true, &idle, &next_at, &eb) != IF_OK)
		fail_msg("recruit_pass: %s", eb.msg);
}

static void
approve_answers(struct fx *x, const char *a1, const char *a2,
		const char *worker)
{
	struct errbuf eb = {0};

	assert_int_equal(store_assignment_set_approval(x->st, a1, worker,
						       APPROVAL_APPROVED, &eb),
			 IF_OK);
	assert_int_equal(store_assignment_set_approval(x->st, a2, worker,
						       APPROVAL_APPROVED, &eb),
			 IF_OK);
}

/* The control: with A's answers approved, run approves A and pays. */
static void
test_run_approves_without_decision(void **state)
{
	struct fx *x = *state;
	struct run_ctx ctx;
	struct recruit *r;

	approve_answers(x, "ASGA1", "ASGA2", PID_A);
	r = run_step(x, &ctx);
	run_pass(r);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB_A), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_A), 1);
	recruit_close(r);
}

/* Rejected by hand: run's passes send nothing about A, ever. */
static void
test_run_leaves_hand_rejection(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct run_ctx ctx;
	struct recruit *r;
	char status[32];

	approve_answers(x, "ASGA1", "ASGA2", PID_A);
	assert_int_equal(prolific_ops_reject(&x->o, SUB_A, "NO_DATA",
					     LONG_MESSAGE, &eb),
			 IF_OK);
	r = run_step(x, &ctx);
	for (int i = 0; i < 3; i++) {
		run_pass(r);
		x->now += 3600;
	}
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_A), 0);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_A), 0);
	assert_int_equal(fake_prolific_bulks(x->fake), 0);
	fake_prolific_status(x->fake, SUB_A, status, sizeof(status));
	assert_string_equal(status, "REJECTED");
	recruit_close(r);
}

/*
 * E has an answer not valid: run waits for the operator.  Approved by
 * hand, its bonus for the valid task is paid by run's next pass, once.
 */
static void
test_run_pays_hand_approval(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct run_ctx ctx;
	struct recruit *r;

	fake_prolific_add_submission(x->fake, SUB_E, PID_E, "AWAITING REVIEW");
	add_assignment(x->st, "ASGE1", PID_E, 1);
	add_assignment(x->st, "ASGE2", PID_E, 0);
	assert_int_equal(store_assignment_set_approval(x->st, "ASGE1", PID_E,
						       APPROVAL_APPROVED, &eb),
			 IF_OK);
	r = run_step(x, &ctx);
	run_pass(r);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_E), 0);
	assert_int_equal(prolific_ops_approve(&x->o, SUB_E, &eb), IF_OK);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_E), 0);
	x->now += 60;
	run_pass(r);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB_E), 1);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_E), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB_E), 1);
	x->now += 3600;
	run_pass(r);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB_E), 1);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB_E), 1);
	recruit_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list_text, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_json, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_without_state, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_pages, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_approve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_one_invalid,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_approve_past_budget,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reject_after_run_approved,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_reply_lost, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reject_unavailable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reject_record_first,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_run_approves_without_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_leaves_hand_rejection,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_pays_hand_approval,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
