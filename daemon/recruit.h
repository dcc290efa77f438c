/*
 * daemon/recruit.h - private to daemon/: Prolific in the daemon (issue 16).
 *
 * store_prolific.c keeps the schema 4 tables of Prolific (state.c):
 * the study's submissions as listed, and the approval and bonus records
 * of prolific/once.c, each made durable before it returns.  recruit.c is
 * run's Prolific step: list the study's submissions, match each to its
 * participant's answers (WorkerId = PROLIFIC_PID), approve and pay the
 * bonus once, within budget_usd.  The operator commands build on the
 * same store functions.
 */
#ifndef INTOFOCUS_RECRUIT_H
#define INTOFOCUS_RECRUIT_H

#include "daemon/daemon.h"
#include "prolific/prolific.h"

/* ---- store_prolific.c ---------------------------------------------------- */

/*
 * settled in prolific_submissions: what run has left to do with a
 * submission.  OPEN holds the end of a run (money in flight, or ready to
 * approve); WAIT (on the participant, the HITs, the budget) is looked at
 * again every poll interval; OPERATOR only when Prolific's status
 * changes (or an operator command reopens it).
 */
enum prolific_sub_settled {
	PROLIFIC_SUB_OPEN = 0,
	PROLIFIC_SUB_DONE = 1,
	PROLIFIC_SUB_WAIT = 2,
	PROLIFIC_SUB_OPERATOR = 3,
};

/* A submission as the daemon keeps it (prolific_submissions). */
struct prolific_sub_rec {
	char submission_id[PROLIFIC_ID_MAX];
	char participant_id[PROLIFIC_ID_MAX];
	char status[32];	/* as Prolific spells it, last listing */
	int64_t seen_at;	/* that listing */
	int64_t awaiting_since; /* first listed AWAITING REVIEW; 0 = not */
	int settled;		/* enum prolific_sub_settled */
	int64_t next_at;	/* when run looks at it again */
	char waiting[256];	/* why it is not approved yet; "" */
};

/*
 * Records a submission from a listing: a new one is inserted, a known
 * one gets its status and seen_at (and awaiting_since the first time it
 * is AWAITING REVIEW); a known one that changed status is due again.
 */
int store_prolific_sub_seen(struct state *st,
			    const struct prolific_submission *s, int64_t now,
			    struct errbuf *eb);
/* *found false when the submission is not known. */
int store_prolific_sub_get(struct state *st, const char *submission_id,
			   struct prolific_sub_rec *out, bool *found,
			   struct errbuf *eb);
/* Saves settled, next_at and waiting. */
int store_prolific_sub_update(struct state *st,
			      const struct prolific_sub_rec *r,
			      struct errbuf *eb);
/*
 * At most max unsettled submissions due by now, earliest first, into out
 * (max of them); *n says how many.
 */
int store_prolific_subs_due(struct state *st, int64_t now,
			    struct prolific_sub_rec *out, size_t max,
			    size_t *n, struct errbuf *eb);
/* Submissions whose settled is settled. */
int store_prolific_subs_count(struct state *st, int settled, int64_t *n,
			      struct errbuf *eb);
/* The earliest next_at of an OPEN or WAIT submission; 0 = none. */
int store_prolific_subs_next_at(struct state *st, int64_t *t,
				struct errbuf *eb);
/* Every WAIT submission due now (the end of a run looks at them all). */
int store_prolific_subs_wake(struct state *st, struct errbuf *eb);
/*
 * HITs created (hit_id known) at or before t that are still open: a
 * participant who completed at t may have answers in them not yet read.
 */
int store_hits_open_at(struct state *st, int64_t t, int64_t *n,
		       struct errbuf *eb);
/*
 * A page of every known submission, by id, after after_id ("" = from the
 * start): for the operator's view.
 */
int store_prolific_subs_page(struct state *st, const char *after_id,
			     struct prolific_sub_rec *out, size_t max,
			     size_t *n, struct errbuf *eb);

/*
 * A participant's answers in the daemon's state (assignments whose
 * WorkerId is the participant id): all of them, those approved, and
 * those recorded invalid.
 */
struct participant_answers {
	int64_t total, approved, invalid;
};
int store_participant_answers(struct state *st, const char *participant_id,
			      struct participant_answers *out,
			      struct errbuf *eb);

/*
 * The approval record of a submission; *found false when none.  cost
 * (may be NULL) gets the money it commits.
 */
int store_prolific_approval_get(struct state *st, const char *submission_id,
				struct prolific_approval *out,
				int64_t *cost_cents, bool *found,
				struct errbuf *eb);
/* Inserts the record with its cost, or updates its state. */
int store_prolific_approval_put(struct state *st,
				const struct prolific_approval *a,
				int64_t cost_cents, int64_t now,
				struct errbuf *eb);

/* The bonus record of a submission; *found false when none. */
int store_prolific_bonus_get(struct state *st, const char *submission_id,
			     struct prolific_bonus *out, int64_t *cost_cents,
			     int *tasks, bool *found, struct errbuf *eb);
/*
 * Inserts the record with its cost and the tasks it pays for, or updates
 * what prolific_bonus_step() changes (state, bulk id, baseline, pay
 * calls).
 */
int store_prolific_bonus_put(struct state *st, const struct prolific_bonus *b,
			     int64_t cost_cents, int tasks, int64_t now,
			     struct errbuf *eb);
/* Money the Prolific records commit (approvals and bonuses), in cents. */
int store_prolific_committed_cents(struct state *st, int64_t *out,
				   struct errbuf *eb);

/* "new", "sending", "done"; "created", "paying", "paid", "refused". */
const char *prolific_approval_state_str(enum prolific_approval_state s);
const char *prolific_bonus_state_str(enum prolific_bonus_state s);

/* ---- check_prolific.c: what `check` says of a Prolific study ------------- */

struct json_t;

/* The most the study of e can cost (prolific_price_study()). */
int prolific_plan(const struct experiment *e, struct prolific_price *p,
		  struct errbuf *eb);
/* The lines of `check` about recruitment, its price and the budget. */
void prolific_plan_print(const struct experiment *e,
			 const struct prolific_price *p);
/* The same as a new JSON object. */
struct json_t *prolific_plan_json(const struct experiment *e,
				  const struct prolific_price *p);

/* ---- recruit.c: run's Prolific step -------------------------------------- */

/* What a test changes; zeroes are the daemon's defaults. */
struct recruit_options {
	struct mturk_clock clock;	 /* the client's retries' clock */
	struct mturk_retry_policy retry; /* per call */
	int64_t settle_s;	/* prolific_once_policy [default: 3600, or */
				/* INTOFOCUS_TEST_PROLIFIC_SETTLE_S] */
	size_t batch;		/* submissions advanced per pass [32] */
	int page_size;		/* listing page size [default: 100] */
	const char *token;	/* instead of the credential chain */
};

struct recruit;

/*
 * The Prolific step of a run whose recruitment is prolific: loads the
 * token (prolific_token_load's chain), connects the client to
 * recruitment.api_url.  *out NULL (IF_OK) for an mturk experiment.
 * opt may be NULL.
 */
int recruit_open(struct run_ctx *ctx, const struct recruit_options *opt,
		 struct recruit **out, struct errbuf *eb);
void recruit_close(struct recruit *r);

/*
 * A SIGHUP reload the rules accepted (engine_reload) is about to replace
 * the experiment with fresh: a changed recruitment.api_url takes effect
 * here, like every accepted setting, with a new client to it (the same
 * token) and a full listing from it on the next pass.  On failure
 * nothing changed and the caller refuses the reload.  r may be NULL.
 */
int recruit_follow(struct recruit *r, const struct experiment *fresh,
		   struct errbuf *eb);

/*
 * One pass: the study's submissions listed (page by page, at most once a
 * poll interval, and once more when final), then a bounded batch of the
 * due ones advanced: approved once every answer of the participant is
 * approved in the state and no HIT open when they completed is still
 * open (nothing of theirs can still arrive), then the bonus paid.  final:
 * every image is final (waiting submissions are looked at at once).
 * *idle: nothing OPEN is left (the run may end); *next_at: when the
 * next submission is due (0 = none).  Remote failures are logged and
 * retried on a later pass; only errors of our own state are returned.
 */
int recruit_pass(struct recruit *r, bool final, bool *idle, int64_t *next_at,
		 struct errbuf *eb);

/* Requests sent to Prolific so far (for the run's summary). */
uint64_t recruit_requests(const struct recruit *r);

#endif /* INTOFOCUS_RECRUIT_H */
