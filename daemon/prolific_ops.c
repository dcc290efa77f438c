/*
 * daemon/prolific_ops.c - the operator's Prolific commands (see
 * daemon/prolific_ops.h): the study's submissions beside the daemon's
 * view, and approving or rejecting one by hand.
 *
 * The listing holds one page of Prolific's answer and one submission's
 * records at a time, whatever the size of the study.  Decisions follow
 * run's rule: the record first, then the call, then the result.  The
 * prolific_decisions table is this file's (schema 4, state.c).
 */
#include "daemon/prolific_ops.h"
#include "daemon/recruit.h"
#include "daemon/store_private.h"
#include "config/config.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Prolific's rule for a rejection's message [docs/prolific-api.md]. */
#define REJECT_MESSAGE_MIN 100

static const char *const action_names[] = {
	[PROLIFIC_DECIDED_APPROVE] = "approve",
	[PROLIFIC_DECIDED_REJECT] = "reject",
};

static const char *const decision_state_names[] = {
	[PROLIFIC_DECISION_SENDING] = "sending",
	[PROLIFIC_DECISION_DONE] = "done",
};

const char *
prolific_decision_action_str(enum prolific_decision_action a)
{
	return (unsigned)a < 2 ? action_names[a] : "?";
}

const char *
prolific_decision_state_str(enum prolific_decision_state s)
{
	return (unsigned)s < 2 ? decision_state_names[s] : "?";
}

/* ---- the decisions table ------------------------------------------------- */

static int
db_fail(struct state *st, struct errbuf *eb)
{
	return err_set(eb, IF_ERUNTIME, "%s: %s", state_path(st),
		       sqlite3_errmsg(state_db(st)));
}

int
store_prolific_decision_get(struct state *st, const char *submission_id,
			    struct prolific_decision *out, bool *found,
			    struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	const unsigned char *t;
	int rc;

	*found = false;
	if (prepare(st,
		    "SELECT action, state, category, decided_at "
		    "FROM prolific_decisions WHERE submission_id = ?1",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, submission_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		memset(out, 0, sizeof(*out));
		snprintf(out->submission_id, sizeof(out->submission_id), "%s",
			 submission_id);
		t = sqlite3_column_text(stmt, 0);
		out->action = t != NULL && strcmp((const char *)t,
						  "approve") == 0
				      ? PROLIFIC_DECIDED_APPROVE
				      : PROLIFIC_DECIDED_REJECT;
		t = sqlite3_column_text(stmt, 1);
		/* Anything but "done" may have been sent. */
		out->state = t != NULL && strcmp((const char *)t, "done") == 0
				     ? PROLIFIC_DECISION_DONE
				     : PROLIFIC_DECISION_SENDING;
		t = sqlite3_column_text(stmt, 2);
		snprintf(out->category, sizeof(out->category), "%s",
			 t != NULL ? (const char *)t : "");
		out->decided_at = sqlite3_column_int64(stmt, 3);
		*found = true;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(st, eb);
	return IF_OK;
}

int
store_prolific_decision_put(struct state *st,
			    const struct prolific_decision *d, int64_t now,
			    struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "INSERT INTO prolific_decisions (submission_id, action, "
		    "state, category, decided_at, updated_at) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?5) "
		    "ON CONFLICT (submission_id) DO UPDATE SET state = ?3, "
		    "updated_at = ?5 WHERE action = ?2",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, d->submission_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(stmt, 2, prolific_decision_action_str(d->action), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, prolific_decision_state_str(d->state), -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, d->category, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(stmt, 5, now);
	return write_done(st, stmt, eb);
}

/* A decision recorded but refused by Prolific: nothing was done. */
static int
decision_forget(struct state *st, const char *submission_id,
		struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	if (prepare(st,
		    "DELETE FROM prolific_decisions WHERE submission_id = ?1 "
		    "AND state = 'sending'",
		    &stmt, eb) != IF_OK)
		return eb->code;
	sqlite3_bind_text(stmt, 1, submission_id, -1, SQLITE_TRANSIENT);
	return write_done(st, stmt, eb);
}

/* ---- helpers ------------------------------------------------------------- */

static int64_t
ops_now(const struct prolific_ops *o)
{
	return o->now != NULL ? o->now(o->now_arg) : (int64_t)time(NULL);
}

/* "12.34" from cents. */
static void
money(int64_t cents, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s%lld.%02lld", cents < 0 ? "-" : "",
		 (long long)(cents < 0 ? -cents : cents) / 100,
		 (long long)(cents < 0 ? -cents : cents) % 100);
}

/* A failed call: the client's message names it; else one from pe. */
static int
failure(const char *what, const char *id, const struct prolific_error *pe,
	int rc, struct errbuf *eb)
{
	char text[768];

	if (err_isset(eb))
		return eb->code;
	prolific_error_format(pe, text, sizeof(text));
	return err_set(eb, rc == IF_ETEMP ? IF_ETEMP : IF_ERUNTIME,
		       "%s %s: %s", what, id, text);
}

/* The submission, which must belong to the experiment's study. */
static int
fetch_own(struct prolific_ops *o, const char *id,
	  struct prolific_submission *s, struct errbuf *eb)
{
	const char *study = o->exp->recruitment.study_id;
	struct prolific_error pe;
	int rc;

	if (!prolific_id_valid(id))
		return err_set(eb, IF_EINPUT,
			       "\"%s\" is not a submission id (letters, "
			       "digits, _ and -)",
			       id);
	prolific_error_clear(&pe);
	rc = prolific_get_submission(o->client, id, s, &pe, eb);
	if (rc != IF_OK)
		return failure("reading submission", id, &pe, rc, eb);
	if (s->study_id[0] != '\0' && strcmp(s->study_id, study) != 0)
		return err_set(eb, IF_EINPUT,
			       "submission %s belongs to study %s, not to "
			       "this experiment's %s",
			       id, s->study_id, study);
	return IF_OK;
}

/* ---- the listing --------------------------------------------------------- */

/* What the daemon knows of one submission. */
struct daemon_view {
	bool have_state;
	struct participant_answers answers;
	bool approval_found;
	struct prolific_approval approval;
	bool bonus_found;
	struct prolific_bonus bonus;
	bool decision_found;
	struct prolific_decision decision;
	bool sub_found;
	struct prolific_sub_rec sub;
};

static int
daemon_view_read(struct state *st, const struct prolific_submission *s,
		 struct daemon_view *v, struct errbuf *eb)
{
	memset(v, 0, sizeof(*v));
	if (st == NULL)
		return IF_OK;
	v->have_state = true;
	if (store_participant_answers(st, s->participant_id, &v->answers,
				      eb) != IF_OK ||
	    store_prolific_approval_get(st, s->id, &v->approval, NULL,
					&v->approval_found, eb) != IF_OK ||
	    store_prolific_bonus_get(st, s->id, &v->bonus, NULL, NULL,
				     &v->bonus_found, eb) != IF_OK ||
	    store_prolific_decision_get(st, s->id, &v->decision,
					&v->decision_found, eb) != IF_OK ||
	    store_prolific_sub_get(st, s->id, &v->sub, &v->sub_found, eb) !=
		    IF_OK)
		return eb->code;
	return IF_OK;
}

struct listing {
	struct prolific_ops *o;
	bool json;
	int64_t n, awaiting, approved, approvals_done, bonuses_paid,
		decided, not_valid;
};

static void
print_text(struct listing *l, const struct prolific_submission *s,
	   const struct daemon_view *v)
{
	char answers[32] = "-", valid[32] = "-", bonus[48] = "-";
	char decided[48] = "-", amount[24];

	if (v->have_state) {
		snprintf(answers, sizeof(answers), "%lld",
			 (long long)v->answers.total);
		snprintf(valid, sizeof(valid), "%lld",
			 (long long)(v->answers.total - v->answers.invalid));
	}
	if (v->bonus_found) {
		money(v->bonus.amount_cents, amount, sizeof(amount));
		snprintf(bonus, sizeof(bonus), "%s %s%s",
			 prolific_bonus_state_str(v->bonus.state), amount,
			 v->bonus.overpaid ? " OVERPAID" : "");
	}
	if (v->decision_found)
		snprintf(decided, sizeof(decided), "%s%s",
			 prolific_decision_action_str(v->decision.action),
			 v->decision.state == PROLIFIC_DECISION_SENDING
				 ? " (sending)"
				 : "");
	fprintf(l->o->out, "%-24s  %-24s  %-16s  %7s  %5s  %-8s  %-14s  %-16s"
			   "  %s\n",
		s->id, s->participant_id, s->status_text, answers, valid,
		v->approval_found
			? prolific_approval_state_str(v->approval.state)
			: "-",
		bonus, decided, v->sub_found ? v->sub.waiting : "");
}

static json_t *
view_json(const struct prolific_submission *s, const struct daemon_view *v)
{
	json_t *o = json_object(), *d;

	json_object_set_new(o, "submission_id", json_string(s->id));
	json_object_set_new(o, "participant_id",
			    json_string(s->participant_id));
	json_object_set_new(o, "status", json_string(s->status_text));
	json_object_set_new(o, "started_at", json_string(s->started_at));
	json_object_set_new(o, "completed_at",
			    s->completed_at[0] != '\0'
				    ? json_string(s->completed_at)
				    : json_null());
	if (!v->have_state) {
		json_object_set_new(o, "daemon", json_null());
		return o;
	}
	d = json_object();
	json_object_set_new(d, "answers", json_integer(v->answers.total));
	json_object_set_new(d, "answers_valid",
			    json_integer(v->answers.total -
					 v->answers.invalid));
	json_object_set_new(d, "answers_approved",
			    json_integer(v->answers.approved));
	json_object_set_new(d, "approval",
			    v->approval_found
				    ? json_string(prolific_approval_state_str(
					      v->approval.state))
				    : json_null());
	if (v->bonus_found)
		json_object_set_new(
			d, "bonus",
			json_pack("{s:s,s:I,s:i,s:b}", "state",
				  prolific_bonus_state_str(v->bonus.state),
				  "amount_cents",
				  (json_int_t)v->bonus.amount_cents,
				  "pay_calls", v->bonus.pay_calls, "overpaid",
				  v->bonus.overpaid));
	else
		json_object_set_new(d, "bonus", json_null());
	if (v->decision_found)
		json_object_set_new(
			d, "decision",
			json_pack("{s:s,s:s,s:s}", "action",
				  prolific_decision_action_str(
					  v->decision.action),
				  "state",
				  prolific_decision_state_str(
					  v->decision.state),
				  "category", v->decision.category));
	else
		json_object_set_new(d, "decision", json_null());
	json_object_set_new(d, "waiting",
			    json_string(v->sub_found ? v->sub.waiting : ""));
	json_object_set_new(o, "daemon", d);
	return o;
}

static int
list_one(void *ctx, const struct prolific_submission *s, struct errbuf *eb)
{
	struct listing *l = ctx;
	struct daemon_view v;

	if (daemon_view_read(l->o->st, s, &v, eb) != IF_OK)
		return eb->code;
	l->awaiting += s->status == PROLIFIC_STATUS_AWAITING_REVIEW;
	l->approved += s->status == PROLIFIC_STATUS_APPROVED;
	l->approvals_done += v.approval_found &&
			     v.approval.state == PROLIFIC_APPROVAL_DONE;
	l->bonuses_paid += v.bonus_found &&
			   v.bonus.state == PROLIFIC_BONUS_PAID;
	l->decided += v.decision_found;
	l->not_valid += v.answers.invalid > 0;
	if (l->json) {
		json_t *j = view_json(s, &v);
		char *text = json_dumps(j, JSON_COMPACT);

		json_decref(j);
		if (text == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
		fprintf(l->o->out, "%s  %s", l->n > 0 ? ",\n" : "", text);
		free(text);
	} else {
		print_text(l, s, &v);
	}
	l->n++;
	return IF_OK;
}

int
prolific_ops_submissions(struct prolific_ops *o, bool json,
			 struct errbuf *eb)
{
	struct listing l = {.o = o, .json = json};
	struct prolific_error pe;
	int rc;

	if (json)
		fprintf(o->out, "{\"study_id\": \"%s\", \"submissions\": [\n",
			o->exp->recruitment.study_id);
	else
		fprintf(o->out,
			"%-24s  %-24s  %-16s  %7s  %5s  %-8s  %-14s  %-16s  "
			"%s\n",
			"SUBMISSION", "PARTICIPANT", "PROLIFIC", "ANSWERS",
			"VALID", "APPROVAL", "BONUS", "DECIDED", "WAITING");
	prolific_error_clear(&pe);
	rc = prolific_list_submissions(o->client,
				       o->exp->recruitment.study_id, 0,
				       list_one, &l, &pe, eb);
	if (rc != IF_OK)
		return failure("listing the submissions of study",
			       o->exp->recruitment.study_id, &pe, rc, eb);
	if (json)
		fprintf(o->out,
			"\n], \"total\": %lld, \"awaiting_review\": %lld, "
			"\"approved\": %lld, \"daemon_state\": %s}\n",
			(long long)l.n, (long long)l.awaiting,
			(long long)l.approved,
			o->st != NULL ? "true" : "false");
	else
		fprintf(o->out,
			"%lld submissions: %lld awaiting review, %lld approved "
			"on Prolific; daemon: %lld approvals done, %lld "
			"bonuses paid, %lld with an answer not valid; %lld "
			"decided by hand%s\n",
			(long long)l.n, (long long)l.awaiting,
			(long long)l.approved, (long long)l.approvals_done,
			(long long)l.bonuses_paid, (long long)l.not_valid,
			(long long)l.decided,
			o->st != NULL ? "" : " (no daemon state yet)");
	return IF_OK;
}

/* ---- approving by hand --------------------------------------------------- */

static int
save_approval(void *arg, const struct prolific_approval *a,
	      struct errbuf *eb)
{
	struct prolific_ops *o = arg;

	/* The row exists (the intent, with its cost): the state changes. */
	return store_prolific_approval_put(o->st, a, 0, ops_now(o), eb);
}

/* The records run would write, as one intent (approve_intent). */
struct intent {
	struct prolific_approval a;
	struct prolific_bonus b;
	bool bonus;
	int64_t approval_cost, bonus_cost, now;
	int tasks;
};

static int
write_intent(struct state *st, void *arg, struct errbuf *eb)
{
	const struct intent *in = arg;

	if (store_prolific_approval_put(st, &in->a, in->approval_cost,
					in->now, eb) != IF_OK)
		return eb->code;
	if (in->bonus && store_prolific_bonus_put(st, &in->b, in->bonus_cost,
						  in->tasks, in->now,
						  eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/*
 * A submission without an approval record: the approval and, with
 * bonus_per_task_usd, the bonus for its valid tasks (as run pays them),
 * priced and checked against the budget, then written as one intent.
 */
static int
approve_intent(struct prolific_ops *o, const struct prolific_submission *s,
	       struct intent *in, struct errbuf *eb)
{
	const struct exp_recruitment *r = &o->exp->recruitment;
	struct participant_answers pa;
	int64_t committed, valid;

	if (s->status == PROLIFIC_STATUS_RESERVED ||
	    s->status == PROLIFIC_STATUS_ACTIVE)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s is %s on Prolific: not "
			       "completed yet, nothing to approve",
			       s->id, s->status_text);
	if (s->status != PROLIFIC_STATUS_AWAITING_REVIEW &&
	    s->status != PROLIFIC_STATUS_APPROVED)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s is %s on Prolific: only one "
			       "awaiting review can be approved",
			       s->id, s->status_text);
	memset(in, 0, sizeof(*in));
	in->now = ops_now(o);
	snprintf(in->a.submission_id, sizeof(in->a.submission_id), "%s",
		 s->id);
	in->a.state = PROLIFIC_APPROVAL_NEW;
	in->approval_cost = prolific_payment_cost_cents(
		r->reward_cents, r->fee_bp, r->vat_bp);
	if (store_participant_answers(o->st, s->participant_id, &pa, eb) !=
	    IF_OK)
		return eb->code;
	valid = pa.total - pa.invalid;
	if (r->tasks_per_participant > 0 && valid > r->tasks_per_participant)
		valid = r->tasks_per_participant;
	if (r->bonus_per_task_cents > 0 && valid > 0) {
		in->bonus = true;
		in->tasks = (int)valid;
		snprintf(in->b.study_id, sizeof(in->b.study_id), "%s",
			 r->study_id);
		snprintf(in->b.submission_id, sizeof(in->b.submission_id),
			 "%s", s->id);
		in->b.amount_cents = r->bonus_per_task_cents * valid;
		in->b.state = PROLIFIC_BONUS_NEW;
		in->b.baseline = -1;
		in->bonus_cost = prolific_payment_cost_cents(
			in->b.amount_cents, r->fee_bp, r->vat_bp);
	}
	if (in->approval_cost < 0 || in->bonus_cost < 0)
		return err_set(eb, IF_EINPUT,
			       "recruitment: the reward or bonus is too "
			       "large to price");
	if (store_committed_cents(o->st, &committed, eb) != IF_OK)
		return eb->code;
	if (o->exp->budget_cents >= 0 &&
	    !prolific_budget_allows(committed,
				    in->approval_cost + in->bonus_cost,
				    o->exp->budget_cents)) {
		char c[24], n[24], b[24];

		money(committed, c, sizeof(c));
		money(in->approval_cost + in->bonus_cost, n, sizeof(n));
		money(o->exp->budget_cents, b, sizeof(b));
		return err_set(eb, IF_EINPUT,
			       "approving %s would commit %s more to %s "
			       "committed, past budget_usd %s: raise the "
			       "budget first",
			       s->id, n, c, b);
	}
	return state_transaction(o->st, write_intent, in, eb);
}

/*
 * After an approval by hand: with a bonus to pay, the submission is due
 * for run's next pass, which pays it (only run pays: never two processes
 * on one pay call); without, run has nothing left to do.
 */
static int
hand_to_run(struct prolific_ops *o, const char *id, bool bonus,
	    struct errbuf *eb)
{
	struct prolific_sub_rec rec;
	bool found;

	if (store_prolific_sub_get(o->st, id, &rec, &found, eb) != IF_OK)
		return eb->code;
	if (!found)
		return IF_OK; /* run's next listing finds it, records and all */
	rec.settled = bonus ? PROLIFIC_SUB_OPEN : PROLIFIC_SUB_DONE;
	rec.next_at = 0;
	snprintf(rec.waiting, sizeof(rec.waiting), "%s",
		 bonus ? "approved by the operator; the bonus is run's"
		       : "approved by the operator");
	return store_prolific_sub_update(o->st, &rec, eb);
}

int
prolific_ops_approve(struct prolific_ops *o, const char *submission_id,
		     struct errbuf *eb)
{
	struct prolific_once_hooks hooks = {.save_approval = save_approval,
					    .ctx = o};
	struct prolific_submission s;
	struct prolific_approval a;
	struct prolific_bonus b;
	struct prolific_decision d;
	struct prolific_error pe;
	struct intent in;
	enum prolific_step step;
	bool found, bonus;
	char amount[24];
	int rc;

	if (fetch_own(o, submission_id, &s, eb) != IF_OK)
		return eb->code;
	if (store_prolific_decision_get(o->st, s.id, &d, &found, eb) != IF_OK)
		return eb->code;
	if (found && d.action == PROLIFIC_DECIDED_REJECT)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s: you rejected it (%s); a "
			       "decision is final on Prolific",
			       s.id, prolific_decision_state_str(d.state));
	if (store_prolific_approval_get(o->st, s.id, &a, NULL, &found, eb) !=
	    IF_OK)
		return eb->code;
	if (!found) {
		if (approve_intent(o, &s, &in, eb) != IF_OK)
			return eb->code;
		a = in.a;
	}
	prolific_error_clear(&pe);
	rc = prolific_approval_step(o->client, &hooks, &a, &step, &pe, eb);
	if (rc != IF_OK)
		return failure("approving", s.id, &pe, rc, eb);
	if (step == PROLIFIC_STEP_WAIT)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s is not completed on Prolific "
			       "yet: nothing to approve",
			       s.id);
	if (step == PROLIFIC_STEP_OPERATOR)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s was not approved: Prolific "
			       "%s",
			       s.id,
			       pe.http_status != 0 ? "refused"
						   : "shows another status");
	if (store_prolific_bonus_get(o->st, s.id, &b, NULL, NULL, &bonus,
				     eb) != IF_OK)
		return eb->code;
	bonus = bonus && b.state != PROLIFIC_BONUS_PAID &&
		b.state != PROLIFIC_BONUS_REFUSED;
	memset(&d, 0, sizeof(d));
	snprintf(d.submission_id, sizeof(d.submission_id), "%s", s.id);
	d.action = PROLIFIC_DECIDED_APPROVE;
	d.state = PROLIFIC_DECISION_DONE;
	if (store_prolific_decision_put(o->st, &d, ops_now(o), eb) != IF_OK ||
	    hand_to_run(o, s.id, bonus, eb) != IF_OK)
		return eb->code;
	fprintf(o->out, "submission %s (participant %s): approved\n", s.id,
		s.participant_id);
	if (bonus) {
		money(b.amount_cents, amount, sizeof(amount));
		fprintf(o->out,
			"its bonus of %s is paid by the daemon's next pass "
			"(intofocus run)\n",
			amount);
	}
	return IF_OK;
}

/* ---- rejecting by hand --------------------------------------------------- */

static bool
category_valid(const char *c)
{
	if (c == NULL || *c == '\0' || strlen(c) >= 64)
		return false;
	for (; *c != '\0'; c++)
		if (!((*c >= 'A' && *c <= 'Z') || *c == '_'))
			return false;
	return true;
}

/*
 * Takes the submission out of run's hands (if run has listed it); *prev
 * keeps the record as it was, for restore_for_run().
 */
static int
settle_for_run(struct prolific_ops *o, const char *id, const char *why,
	       struct prolific_sub_rec *prev, bool *found, struct errbuf *eb)
{
	struct prolific_sub_rec rec;

	if (store_prolific_sub_get(o->st, id, prev, found, eb) != IF_OK)
		return eb->code;
	if (!*found)
		return IF_OK;
	rec = *prev;
	rec.settled = PROLIFIC_SUB_DONE;
	snprintf(rec.waiting, sizeof(rec.waiting), "%s", why);
	return store_prolific_sub_update(o->st, &rec, eb);
}

/* Prolific refused the rejection: nothing was done; undone here too. */
static int
restore_for_run(struct prolific_ops *o, const char *id,
		const struct prolific_sub_rec *prev, bool found,
		struct errbuf *eb)
{
	if (decision_forget(o->st, id, eb) != IF_OK)
		return eb->code;
	return found ? store_prolific_sub_update(o->st, prev, eb) : IF_OK;
}

int
prolific_ops_reject(struct prolific_ops *o, const char *submission_id,
		    const char *category, const char *message,
		    struct errbuf *eb)
{
	struct prolific_submission s;
	struct prolific_approval a;
	struct prolific_decision d;
	struct prolific_sub_rec prev;
	struct prolific_error pe;
	bool found, listed;
	int rc;

	if (!category_valid(category))
		return err_set(eb, IF_EINPUT,
			       "--category: Prolific's rejection category, "
			       "upper-case letters and _");
	if (message == NULL || strlen(message) < REJECT_MESSAGE_MIN)
		return err_set(eb, IF_EINPUT,
			       "--message: Prolific requires at least %d "
			       "characters (this one has %zu): say to the "
			       "participant why",
			       REJECT_MESSAGE_MIN,
			       message != NULL ? strlen(message) : 0);
	if (fetch_own(o, submission_id, &s, eb) != IF_OK)
		return eb->code;
	if (store_prolific_approval_get(o->st, s.id, &a, NULL, &found, eb) !=
	    IF_OK)
		return eb->code;
	if (found && a.state != PROLIFIC_APPROVAL_NEW)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s: the daemon %s it; it cannot "
			       "be rejected",
			       s.id,
			       a.state == PROLIFIC_APPROVAL_DONE
				       ? "approved"
				       : "is approving");
	if (store_prolific_decision_get(o->st, s.id, &d, &found, eb) != IF_OK)
		return eb->code;
	if (found && d.action == PROLIFIC_DECIDED_APPROVE)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s: you approved it", s.id);
	if (s.status != PROLIFIC_STATUS_REJECTED &&
	    s.status != PROLIFIC_STATUS_AWAITING_REVIEW)
		return err_set(eb, IF_ERUNTIME,
			       "submission %s is %s on Prolific: only one "
			       "awaiting review can be rejected",
			       s.id, s.status_text);
	memset(&d, 0, sizeof(d));
	snprintf(d.submission_id, sizeof(d.submission_id), "%s", s.id);
	d.action = PROLIFIC_DECIDED_REJECT;
	d.state = PROLIFIC_DECISION_SENDING;
	snprintf(d.category, sizeof(d.category), "%s", category);
	/* The intent, and run kept away, before the call. */
	if (store_prolific_decision_put(o->st, &d, ops_now(o), eb) != IF_OK ||
	    settle_for_run(o, s.id, "rejected by the operator", &prev,
			   &listed, eb) != IF_OK)
		return eb->code;
	if (s.status != PROLIFIC_STATUS_REJECTED) {
		prolific_error_clear(&pe);
		rc = prolific_reject(o->client, s.id, category, message, &pe,
				     eb);
		if (rc != IF_OK && pe.fault == PROLIFIC_FAULT_REFUSED) {
			/* Prolific answered that it did nothing. */
			struct errbuf keep = *eb;
			if (restore_for_run(o, s.id, &prev, listed, eb) !=
			    IF_OK)
				return eb->code;
			*eb = keep;
			return failure("rejecting", s.id, &pe, rc, eb);
		}
		if (rc != IF_OK) {
			failure("rejecting", s.id, &pe, rc, eb);
			err_prefix(eb,
				   "the rejection may have gone through; "
				   "run the same command again (Prolific "
				   "ignores a repeated one)");
			return eb->code;
		}
	}
	d.state = PROLIFIC_DECISION_DONE;
	if (store_prolific_decision_put(o->st, &d, ops_now(o), eb) != IF_OK)
		return eb->code;
	fprintf(o->out, "submission %s (participant %s): rejected (%s)\n",
		s.id, s.participant_id, category);
	return IF_OK;
}
