/*
 * daemon/recruit.c - run's Prolific step (issue 16): approve each
 * submission once its participant's answers are valid, pay the bonus
 * once, never past budget_usd.
 *
 * It lives off the path that creates the next HIT: engine.c calls
 * recruit_pass() after the images' steps, and a failure here never stops
 * an image.  Everything it knows is in the state (daemon/recruit.h):
 *
 *   listing   every page of the study's submissions, at most once a poll
 *             interval, each one recorded (one transaction per listing);
 *   batch     at most `batch` submissions due by now, read from the
 *             state, each advanced as far as it can go:
 *
 *   AWAITING REVIEW, at least one answer of the participant (WorkerId
 *   = PROLIFIC_PID) and every one approved in the state, no HIT that
 *   was open when the participant completed still open (an answer of
 *   theirs could still arrive), the budget allows the reward and the
 *   bonus
 *     -> intent: the approval and bonus records with their costs, in one
 *        transaction, before any call
 *     -> prolific_approval_step()  (reads, approves once)
 *     -> prolific_bonus_step()     (sets up, records, pays once; a pay
 *        call whose outcome is unknown is settled from the submission's
 *        bonus payments before any new pay call)
 *
 * Invalid answers, answers not yet approved (approve: manual), a
 * submission with no answer at all and submissions Prolific shows in
 * another state wait for the operator: run never rejects.  Memory is
 * one page of the listing and one batch.
 */
#include "daemon/recruit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BATCH 32
#define DEFAULT_PAGE 100
#define BATCH_MAX 256
/* A submission only a new status can move is looked at again after this. */
#define IDLE_S 86400

struct recruit {
	struct run_ctx *ctx;
	struct prolific_client *client;
	char *token;
	char *api_url; /* the client's, as configured (NULL: the default) */
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
	uint64_t requests_before; /* sent by the clients replaced */
	struct prolific_once_policy policy;
	size_t batch;
	int page_size;
	int64_t next_list_at; /* the next listing, on the run's clock */
	bool listed_all;      /* this run's listing of every submission */
	bool listed_final;    /* the listing after every image was final */
	bool list_failed;     /* the last listing did not get every page */
	/* An account-wide fault (the token): no call until the next run. */
	bool account_down;
};

/* ---- the records' hooks ------------------------------------------------- */

struct hook_ctx {
	struct recruit *r;
	bool store_failed; /* the failure came from our state, not Prolific */
};

/*
 * The kill -9 suites' points, around each record: "prolific approval
 * sending unsaved" is the moment after the call that led to it and
 * before the record, "prolific approval sending" the one after it.
 */
static void
crash_point(struct recruit *r, const char *kind, const char *state,
	    bool saved)
{
	char label[64];

	snprintf(label, sizeof(label), "prolific %s %s%s", kind, state,
		 saved ? "" : " unsaved");
	run_crash_point(r->ctx, label);
}

static int
save_approval(void *arg, const struct prolific_approval *a, struct errbuf *eb)
{
	struct hook_ctx *h = arg;
	const char *state = prolific_approval_state_str(a->state);

	crash_point(h->r, "approval", state, false);
	/* The row exists (the intent): its cost is kept. */
	if (store_prolific_approval_put(h->r->ctx->st, a, 0,
					run_now(h->r->ctx), eb) != IF_OK) {
		h->store_failed = true;
		return eb->code;
	}
	crash_point(h->r, "approval", state, true);
	return IF_OK;
}

static int
save_bonus(void *arg, const struct prolific_bonus *b, struct errbuf *eb)
{
	struct hook_ctx *h = arg;
	const char *state = prolific_bonus_state_str(b->state);

	crash_point(h->r, "bonus", state, false);
	if (store_prolific_bonus_put(h->r->ctx->st, b, 0, 0,
				     run_now(h->r->ctx), eb) != IF_OK) {
		h->store_failed = true;
		return eb->code;
	}
	crash_point(h->r, "bonus", state, true);
	return IF_OK;
}

/* ---- open / close ------------------------------------------------------- */

static int
client_open(const struct recruit *r, const char *api_url,
	    struct prolific_client **out, struct errbuf *eb)
{
	struct prolific_client_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = api_url;
	cfg.token = r->token;
	cfg.retry = r->retry;
	cfg.clock = r->clock;
	return prolific_client_new(&cfg, out, eb);
}

int
recruit_open(struct run_ctx *ctx, const struct recruit_options *opt,
	     struct recruit **out, struct errbuf *eb)
{
	const struct exp_recruitment *rc = &ctx->exp->recruitment;
	struct recruit_options none = {0};
	struct prolific_token_env env;
	struct recruit *r;
	char source[256];
	const char *settle = getenv("INTOFOCUS_TEST_PROLIFIC_SETTLE_S");
	int64_t v;

	*out = NULL;
	if (rc->platform != EXP_PLATFORM_PROLIFIC)
		return IF_OK;
	if (opt == NULL)
		opt = &none;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	r->ctx = ctx;
	r->batch = opt->batch > 0 && opt->batch <= BATCH_MAX ? opt->batch
							     : DEFAULT_BATCH;
	r->page_size = opt->page_size > 0 ? opt->page_size : DEFAULT_PAGE;
	r->policy.settle_s = opt->settle_s;
	/* The kill -9 suites' hook: a pay call re-made after S seconds. */
	if (opt->settle_s == 0 && settle != NULL &&
	    parse_int64(settle, 1, 86400, &v) == 0)
		r->policy.settle_s = v;
	if (opt->token != NULL) {
		r->token = strdup(opt->token);
		snprintf(source, sizeof(source), "the caller");
		if (r->token == NULL) {
			recruit_close(r);
			return err_set(eb, IF_ERUNTIME, "out of memory");
		}
	} else {
		prolific_token_env_from_process(&env);
		if (prolific_token_load(&env, NULL, &r->token, source,
					sizeof(source), eb) != IF_OK) {
			recruit_close(r);
			return eb->code;
		}
	}
	r->retry = opt->retry;
	r->clock = opt->clock;
	if (rc->api_url != NULL &&
	    (r->api_url = strdup(rc->api_url)) == NULL) {
		recruit_close(r);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	if (client_open(r, rc->api_url, &r->client, eb) != IF_OK) {
		recruit_close(r);
		return eb->code;
	}
	log_info("%s: Prolific study %s at %s (token from %s)",
		 ctx->exp->name, rc->study_id,
		 rc->api_url != NULL ? rc->api_url : PROLIFIC_API_DEFAULT,
		 source);
	*out = r;
	return IF_OK;
}

void
recruit_close(struct recruit *r)
{
	if (r == NULL)
		return;
	prolific_client_free(r->client);
	prolific_token_free(r->token);
	free(r->api_url);
	free(r);
}

static bool
url_differs(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : PROLIFIC_API_DEFAULT,
		      b != NULL ? b : PROLIFIC_API_DEFAULT) != 0;
}

int
recruit_follow(struct recruit *r, const struct experiment *fresh,
	       struct errbuf *eb)
{
	const char *url = fresh->recruitment.api_url;
	struct prolific_client *c = NULL;
	char *copy = NULL;

	if (r == NULL || !url_differs(r->api_url, url))
		return IF_OK;
	if (client_open(r, url, &c, eb) != IF_OK)
		return eb->code;
	if (url != NULL && (copy = strdup(url)) == NULL) {
		prolific_client_free(c);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	log_info("%s: Prolific API now at %s (was %s)", fresh->name,
		 url != NULL ? url : PROLIFIC_API_DEFAULT,
		 r->api_url != NULL ? r->api_url : PROLIFIC_API_DEFAULT);
	r->requests_before += prolific_client_requests(r->client);
	prolific_client_free(r->client);
	free(r->api_url);
	r->client = c;
	r->api_url = copy;
	/* Another service: its whole view, and its own verdict on the token. */
	r->listed_all = false;
	r->next_list_at = 0;
	r->account_down = false;
	return IF_OK;
}

uint64_t
recruit_requests(const struct recruit *r)
{
	return r != NULL && r->client != NULL
		       ? r->requests_before +
				 prolific_client_requests(r->client)
		       : 0;
}

/* ---- the listing -------------------------------------------------------- */

struct list_ctx {
	struct recruit *r;
	int64_t now;
	size_t seen;
	bool store_failed;
};

static int
on_submission(void *arg, const struct prolific_submission *s,
	      struct errbuf *eb)
{
	struct list_ctx *l = arg;

	if (store_prolific_sub_seen(l->r->ctx->st, s, l->now, eb) != IF_OK) {
		l->store_failed = true;
		return eb->code;
	}
	l->seen++;
	return IF_OK;
}

/* A remote failure of the Prolific step: logged, and what it means. */
static void
remote_failed(struct recruit *r, const char *what,
	      const struct prolific_error *err, const struct errbuf *cause)
{
	if (err->fault == PROLIFIC_FAULT_ACCOUNT) {
		r->account_down = true;
		log_msg(LOG_LEVEL_ERR,
			"%s: Prolific: %s: %s; no more Prolific calls this "
			"run (check the token, then run again)",
			r->ctx->exp->name, what, cause->msg);
	} else {
		log_warnx("%s: Prolific: %s: %s (%s; tried again later)",
			  r->ctx->exp->name, what, cause->msg,
			  prolific_fault_str(err->fault));
	}
}

/*
 * Every submission at the start of a run and once every image is final;
 * in between only those awaiting review (the list's status filter), so
 * that a listing grows with the submissions run has still to approve,
 * not with the study.  A submission that completes shows up there.
 */
static int
list_study(struct recruit *r, int64_t now, struct errbuf *eb)
{
	struct list_ctx l = {.r = r, .now = now};
	enum prolific_status filter = r->listed_all
					      ? PROLIFIC_STATUS_AWAITING_REVIEW
					      : PROLIFIC_STATUS_UNKNOWN;
	struct prolific_error err;
	struct errbuf cause = {0};
	int rc;

	if (state_begin(r->ctx->st, eb) != IF_OK)
		return eb->code;
	rc = prolific_list_submissions_in(r->client,
					  r->ctx->exp->recruitment.study_id,
					  filter, r->page_size, on_submission,
					  &l, &err, &cause);
	if (l.store_failed) {
		state_rollback(r->ctx->st);
		return err_set(eb, cause.code, "%s", cause.msg);
	}
	/* What was listed before a failure is kept. */
	if (state_commit(r->ctx->st, eb) != IF_OK) {
		state_rollback(r->ctx->st);
		return eb->code;
	}
	r->list_failed = rc != IF_OK;
	if (rc != IF_OK) {
		remote_failed(r, "listing the submissions", &err, &cause);
		/* Soon again, not at once: Prolific may be overloaded. */
		r->next_list_at = now + r->ctx->exp->mturk.poll_interval;
		return IF_OK;
	}
	log_debug("%s: Prolific: %zu submissions listed%s", r->ctx->exp->name,
		  l.seen, r->listed_all ? " (awaiting review)" : "");
	r->listed_all = true;
	r->next_list_at = now + r->ctx->exp->mturk.poll_interval;
	return IF_OK;
}

/* ---- one submission ------------------------------------------------------ */

/* Saves where the submission stands and why, with a log line on change. */
static int
sub_set(struct recruit *r, struct prolific_sub_rec *sub, int settled,
	int64_t next_at, struct errbuf *eb, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

static int
sub_set(struct recruit *r, struct prolific_sub_rec *sub, int settled,
	int64_t next_at, struct errbuf *eb, const char *fmt, ...)
{
	char why[sizeof(sub->waiting)] = "";
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
	}
	if (strcmp(why, sub->waiting) != 0 && why[0] != '\0')
		log_info("%s: Prolific submission %s (%s): %s",
			 r->ctx->exp->name, sub->submission_id,
			 sub->participant_id, why);
	sub->settled = settled;
	sub->next_at = next_at;
	snprintf(sub->waiting, sizeof(sub->waiting), "%s", why);
	return store_prolific_sub_update(r->ctx->st, sub, eb);
}

struct intent {
	const struct prolific_approval *a;
	const struct prolific_bonus *b; /* NULL: no bonus */
	int64_t approval_cost, bonus_cost;
	int tasks;
	int64_t now;
};

static int
write_intent(struct state *st, void *arg, struct errbuf *eb)
{
	const struct intent *in = arg;

	if (store_prolific_approval_put(st, in->a, in->approval_cost, in->now,
					eb) != IF_OK)
		return eb->code;
	if (in->b != NULL &&
	    store_prolific_bonus_put(st, in->b, in->bonus_cost, in->tasks,
				     in->now, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/*
 * A submission without records: is it ready, and may the money be
 * committed?  On IF_OK *ready says whether the intent was recorded; if
 * not, the submission was saved as waiting, with the reason.
 */
static int
decide(struct recruit *r, struct prolific_sub_rec *sub, int64_t now,
       bool *ready, struct errbuf *eb)
{
	const struct exp_recruitment *rc = &r->ctx->exp->recruitment;
	int64_t poll = r->ctx->exp->mturk.poll_interval;
	int64_t wait_at = now + poll, budget = r->ctx->exp->budget_cents;
	enum prolific_status status = prolific_status_parse(sub->status);
	struct participant_answers pa;
	struct prolific_approval a = {0};
	struct prolific_bonus b = {0};
	struct intent in = {.a = &a, .now = now};
	int64_t open = 0, committed = 0, tasks;
	char c1[24], c2[24], c3[24];

	*ready = false;
	switch (status) {
	case PROLIFIC_STATUS_AWAITING_REVIEW:
	case PROLIFIC_STATUS_APPROVED:
		break;
	case PROLIFIC_STATUS_RESERVED:
	case PROLIFIC_STATUS_ACTIVE:
		/* Due again when a listing shows it completed. */
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, now + IDLE_S, eb,
			       "not completed on Prolific yet (%s)",
			       sub->status);
	default:
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "Prolific shows it %s: for the operator",
			       sub->status);
	}
	if (store_participant_answers(r->ctx->st, sub->participant_id, &pa,
				      eb) != IF_OK)
		return eb->code;
	if (pa.invalid > 0)
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, wait_at, eb,
			       "%lld invalid answer%s: for the operator "
			       "(run never rejects)",
			       (long long)pa.invalid,
			       pa.invalid == 1 ? "" : "s");
	if (pa.approved < pa.total)
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, wait_at, eb,
			       "%lld of %lld answers not approved yet",
			       (long long)(pa.total - pa.approved),
			       (long long)pa.total);
	if (store_hits_open_at(r->ctx->st,
			       sub->awaiting_since > 0 ? sub->awaiting_since
						       : now,
			       &open, eb) != IF_OK)
		return eb->code;
	if (open > 0)
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, wait_at, eb,
			       "%lld HIT%s open when the participant "
			       "completed: an answer may still arrive",
			       (long long)open, open == 1 ? "" : "s");
	/*
	 * Completed with no answer at all (they came when no task was
	 * open, or took none): nothing shows they did the study, and an
	 * approval is final.  Prolific's model for a participant who did
	 * not take part is a return, asked for by the researcher; the API
	 * documents no rejection category for it.  The operator decides.
	 */
	if (pa.total == 0)
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "no answer from this participant: for the "
			       "operator (approve by hand, or ask them to "
			       "return the study)");

	snprintf(a.submission_id, sizeof(a.submission_id), "%s",
		 sub->submission_id);
	in.approval_cost = prolific_payment_cost_cents(rc->reward_cents,
						       rc->fee_bp, rc->vat_bp);
	tasks = pa.approved;
	if (rc->tasks_per_participant > 0 &&
	    tasks > rc->tasks_per_participant)
		tasks = rc->tasks_per_participant;
	if (rc->bonus_per_task_cents > 0 && tasks > 0) {
		snprintf(b.study_id, sizeof(b.study_id), "%s", rc->study_id);
		snprintf(b.submission_id, sizeof(b.submission_id), "%s",
			 sub->submission_id);
		b.amount_cents = rc->bonus_per_task_cents * tasks;
		b.baseline = -1;
		in.b = &b;
		in.tasks = (int)tasks;
		in.bonus_cost = prolific_payment_cost_cents(
			b.amount_cents, rc->fee_bp, rc->vat_bp);
	}
	if (in.approval_cost < 0 || in.bonus_cost < 0)
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "the reward or bonus is too large to price");
	if (store_committed_cents(r->ctx->st, &committed, eb) != IF_OK)
		return eb->code;
	if (budget >= 0 &&
	    !prolific_budget_allows(committed,
				    in.approval_cost + in.bonus_cost,
				    budget)) {
		cfg_format_money(committed, c1, sizeof(c1));
		cfg_format_money(in.approval_cost + in.bonus_cost, c2,
				 sizeof(c2));
		cfg_format_money(budget, c3, sizeof(c3));
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, wait_at, eb,
			       "budget: $%s committed + $%s for this "
			       "submission would pass the budget of $%s; "
			       "raise budget_usd and reload",
			       c1, c2, c3);
	}
	/* Intent first: both records, with their costs, before any call. */
	if (state_transaction(r->ctx->st, write_intent, &in, eb) != IF_OK)
		return eb->code;
	crash_point(r, "intent", "recorded", true);
	log_info("%s: Prolific submission %s (%s): %lld answers valid; "
		 "approving%s",
		 r->ctx->exp->name, sub->submission_id, sub->participant_id,
		 (long long)pa.total,
		 in.b != NULL ? " and paying a bonus" : "");
	*ready = true;
	return IF_OK;
}

/*
 * After a step that did not finish: own failures are returned; remote
 * ones leave the submission open for a later pass (or for the operator).
 */
static int
step_failed(struct recruit *r, struct prolific_sub_rec *sub, int rc,
	    const struct hook_ctx *h, const struct prolific_error *err,
	    struct errbuf *cause, const char *what, int64_t now,
	    struct errbuf *eb)
{
	int64_t poll = r->ctx->exp->mturk.poll_interval;

	if (h->store_failed)
		return err_set(eb, rc, "%s", cause->msg);
	/* Refused before anything was sent (a record or id out of rule). */
	if (err->fault == PROLIFIC_FAULT_NONE)
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "%s: %s; for the operator", what, cause->msg);
	remote_failed(r, what, err, cause);
	return sub_set(r, sub, PROLIFIC_SUB_OPEN, now + poll, eb, "%s: %s",
		       what, cause->msg);
}

static int
advance(struct recruit *r, struct prolific_sub_rec *sub, int64_t now,
	struct errbuf *eb)
{
	struct hook_ctx h = {.r = r};
	struct prolific_once_hooks hooks = {save_approval, save_bonus, &h};
	int64_t poll = r->ctx->exp->mturk.poll_interval;
	struct prolific_approval a;
	struct prolific_bonus b;
	struct prolific_error err;
	struct errbuf cause = {0};
	enum prolific_step step;
	bool found = false, ready;
	int rc;

	if (store_prolific_approval_get(r->ctx->st, sub->submission_id, &a,
					NULL, &found, eb) != IF_OK)
		return eb->code;
	if (!found) {
		if (decide(r, sub, now, &ready, eb) != IF_OK)
			return eb->code;
		if (!ready)
			return IF_OK;
		memset(&a, 0, sizeof(a));
		snprintf(a.submission_id, sizeof(a.submission_id), "%s",
			 sub->submission_id);
	}
	rc = prolific_approval_step(r->client, &hooks, &a, &step, &err,
				    &cause);
	if (rc != IF_OK)
		return step_failed(r, sub, rc, &h, &err, &cause,
				   "approving", now, eb);
	if (step == PROLIFIC_STEP_WAIT)
		return sub_set(r, sub, PROLIFIC_SUB_WAIT, now + poll, eb,
			       "not completed on Prolific yet");
	if (step == PROLIFIC_STEP_OPERATOR) {
		char f[256] = "";

		if (err.fault != PROLIFIC_FAULT_NONE)
			prolific_error_format(&err, f, sizeof(f));
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "not approved: %s; for the operator",
			       f[0] != '\0' ? f : "Prolific shows another "
						  "status");
	}
	if (store_prolific_bonus_get(r->ctx->st, sub->submission_id, &b, NULL,
				     NULL, &found, eb) != IF_OK)
		return eb->code;
	if (!found)
		return sub_set(r, sub, PROLIFIC_SUB_DONE, 0, eb, "approved");
	prolific_error_clear(&err);
	err_init(&cause);
	rc = prolific_bonus_step(r->client, &hooks, &r->policy, now, &b, &step,
				 &err, &cause);
	if (rc != IF_OK)
		return step_failed(r, sub, rc, &h, &err, &cause,
				   "paying the bonus", now, eb);
	switch (step) {
	case PROLIFIC_STEP_DONE:
		return sub_set(r, sub, PROLIFIC_SUB_DONE, 0, eb,
			       "approved, bonus of %lld cents paid%s",
			       (long long)b.amount_cents,
			       b.overpaid ? " (more than once: see the log)"
					  : "");
	case PROLIFIC_STEP_WAIT:
		/* A pay call whose outcome is unknown: its payment may land. */
		return sub_set(r, sub, PROLIFIC_SUB_OPEN, now + poll, eb,
			       "approved; waiting for the bonus payment of "
			       "bulk %s to show",
			       b.bulk_id);
	default: {
		char f[256] = "";

		if (err.fault != PROLIFIC_FAULT_NONE)
			prolific_error_format(&err, f, sizeof(f));
		return sub_set(r, sub, PROLIFIC_SUB_OPERATOR, 0, eb,
			       "approved; bonus not paid: %s; for the "
			       "operator",
			       f[0] != '\0' ? f : "cannot tell");
	}
	}
}

/* ---- the pass ------------------------------------------------------------ */

int
recruit_pass(struct recruit *r, bool final, bool *idle, int64_t *next_at,
	     struct errbuf *eb)
{
	int64_t now = run_now(r->ctx), open = 0;
	struct prolific_sub_rec *due;
	size_t n = 0;
	int rc = IF_OK;

	*idle = true;
	*next_at = 0;
	if (r->account_down)
		return IF_OK;
	if (final && !r->listed_final) {
		/* The last completions: look now, and at every waiting one. */
		r->listed_final = true;
		r->listed_all = false;
		r->next_list_at = 0;
		if (store_prolific_subs_wake(r->ctx->st, eb) != IF_OK)
			return eb->code;
	}
	if (now >= r->next_list_at && list_study(r, now, eb) != IF_OK)
		return eb->code;
	if ((due = calloc(r->batch, sizeof(*due))) == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	if (store_prolific_subs_due(r->ctx->st, now, due, r->batch, &n, eb) !=
	    IF_OK)
		rc = eb->code;
	for (size_t i = 0; i < n && rc == IF_OK && !r->account_down; i++) {
		if (loop_stop_requested())
			break;
		rc = advance(r, &due[i], now, eb);
	}
	free(due);
	if (rc != IF_OK)
		return rc;
	if (r->account_down)
		return IF_OK;
	if (store_prolific_subs_count(r->ctx->st, PROLIFIC_SUB_OPEN, &open,
				      eb) != IF_OK)
		return eb->code;
	/* The run does not end before a listing has seen the last ones. */
	*idle = open == 0 && !(final && r->list_failed);
	/* A full batch may have more behind it: come back at once. */
	if (n == r->batch) {
		*next_at = now;
		return IF_OK;
	}
	if (store_prolific_subs_next_at(r->ctx->st, next_at, eb) != IF_OK)
		return eb->code;
	if (*next_at == 0 || r->next_list_at < *next_at)
		*next_at = r->next_list_at;
	return IF_OK;
}
