/*
 * daemon/prolific_ops.h - private to daemon/: the operator's Prolific
 * commands (issue 16), "intofocus prolific EXPERIMENT.yaml ...".
 *
 * prolific_ops.c lists a study's submissions with the daemon's view of
 * each beside Prolific's (answers, approval and bonus records, the
 * operator's decision), and approves or rejects one by hand.  A decision
 * is written to the state before its call, as run writes its own, so a
 * crash leaves a record saying what may have been sent; an approval by
 * hand is run's own approval record (daemon/recruit.h), which run never
 * repeats, and a rejection settles the submission for run.
 * cmd_prolific.c is the command line around it.
 */
#ifndef INTOFOCUS_PROLIFIC_OPS_H
#define INTOFOCUS_PROLIFIC_OPS_H

#include "daemon/daemon.h"
#include "prolific/prolific.h"

#include <stdio.h>

/* ---- the operator's decisions (schema 4, prolific_decisions) ------------- */

enum prolific_decision_action {
	PROLIFIC_DECIDED_APPROVE = 0,
	PROLIFIC_DECIDED_REJECT,
};

enum prolific_decision_state {
	PROLIFIC_DECISION_SENDING = 0, /* recorded; the call may have gone */
	PROLIFIC_DECISION_DONE,	       /* Prolific shows it */
};

struct prolific_decision {
	char submission_id[PROLIFIC_ID_MAX];
	enum prolific_decision_action action;
	enum prolific_decision_state state;
	char category[64]; /* a rejection's category; "" otherwise */
	int64_t decided_at;
};

/* "approve", "reject"; "sending", "done". */
const char *prolific_decision_action_str(enum prolific_decision_action a);
const char *prolific_decision_state_str(enum prolific_decision_state s);

/* *found false when the operator decided nothing about the submission. */
int store_prolific_decision_get(struct state *st, const char *submission_id,
				struct prolific_decision *out, bool *found,
				struct errbuf *eb);
/*
 * Inserts the decision (decided_at = now) or updates its state; durable
 * when it returns.  A decision is never replaced by the other action.
 */
int store_prolific_decision_put(struct state *st,
				const struct prolific_decision *d,
				int64_t now, struct errbuf *eb);

/* ---- the commands -------------------------------------------------------- */

struct prolific_ops {
	const struct experiment *exp; /* recruitment.platform prolific */
	struct state *st;	      /* NULL: no state yet (listing only) */
	struct prolific_client *client;
	int64_t (*now)(void *arg);    /* seconds; NULL = the real clock */
	void *now_arg;
	FILE *out;		      /* what the operator reads */
};

/*
 * Every submission of the study, a page at a time, one line each (or one
 * JSON object each, in a JSON array): Prolific's id, participant, status
 * and bonus payments beside the daemon's answers, approval and bonus
 * records and the operator's decision.  Then a line of totals.
 */
int prolific_ops_submissions(struct prolific_ops *o, bool json,
			     struct errbuf *eb);

/*
 * Approves a submission of the study by hand: its approval record
 * (run's) is written before the call, with the reward's cost, which
 * must fit in budget_usd like run's.  IF_OK once Prolific shows it
 * APPROVED; IF_ERUNTIME naming its status when it cannot be approved
 * (not awaiting review), or when the operator rejected it.
 */
int prolific_ops_approve(struct prolific_ops *o, const char *submission_id,
			 struct errbuf *eb);

/*
 * Rejects a submission of the study by hand, with Prolific's required
 * category and message (100 characters or more, checked first).  The
 * decision is written before the call and the submission settled for
 * run.  Refused when run approved it or is approving it.
 */
int prolific_ops_reject(struct prolific_ops *o, const char *submission_id,
			const char *category, const char *message,
			struct errbuf *eb);

#endif /* INTOFOCUS_PROLIFIC_OPS_H */
