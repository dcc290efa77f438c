/*
 * prolific/once.c - approve once, pay once.
 *
 * Approving is idempotent on Prolific's side; paying a bulk bonus is not
 * ("a repeated pay call pays again", docs/prolific-api.md).  Both follow
 * the daemon's rule for MTurk: record the intent, call, record the result,
 * with the records kept by the caller through hooks that make them durable
 * before returning.  A crash can then leave at worst a record saying a
 * call may have gone.
 *
 * For a bonus that record is settled from the only evidence the reference
 * offers: the submission's bonus_payments (amounts in cents, no ids).  The
 * intent keeps how many payments of the bonus's amount the submission
 * showed before the first pay call; one more means paid.  Payments land
 * asynchronously, so a payment not yet shown is waited for during the
 * policy's settling time before the pay call is made again.
 *
 * Refusals by Prolific (a 4xx other than 429, 401 and 403) are not errors
 * of a step: the record says REFUSED (or the approval is left as it is)
 * and the step says OPERATOR, with the cause in err.  Passing and
 * account-wide faults return their error code, the record untouched or
 * back to a state that is known to be true.
 */
#include "prolific/prolific.h"

#include <string.h>

#define DEFAULT_SETTLE_S 3600

static int
save_approval(const struct prolific_once_hooks *h,
	      const struct prolific_approval *a, struct errbuf *eb)
{
	int rc = h->save_approval(h->ctx, a, eb);

	if (rc != IF_OK)
		err_prefix(eb, "submission %s: recording the approval",
			   a->submission_id);
	return rc;
}

static int
save_bonus(const struct prolific_once_hooks *h, const struct prolific_bonus *b,
	   struct errbuf *eb)
{
	int rc = h->save_bonus(h->ctx, b, eb);

	if (rc != IF_OK)
		err_prefix(eb, "submission %s: recording the bonus",
			   b->submission_id);
	return rc;
}

/* Prolific refused this request (not passing, not the account). */
static bool
refused(const struct prolific_error *e)
{
	return e->fault == PROLIFIC_FAULT_REFUSED;
}

int
prolific_approval_step(struct prolific_client *c,
		       const struct prolific_once_hooks *hooks,
		       struct prolific_approval *a, enum prolific_step *step,
		       struct prolific_error *err, struct errbuf *eb)
{
	struct prolific_submission s;
	struct prolific_error local;
	int rc;

	*step = PROLIFIC_STEP_WAIT;
	if (err == NULL)
		err = &local;
	prolific_error_clear(err);
	if (a->state == PROLIFIC_APPROVAL_DONE) {
		*step = PROLIFIC_STEP_DONE;
		return IF_OK;
	}
	rc = prolific_get_submission(c, a->submission_id, &s, err, eb);
	if (rc != IF_OK) {
		if (refused(err)) {
			*step = PROLIFIC_STEP_OPERATOR;
			err_init(eb);
			return IF_OK;
		}
		return rc;
	}
	switch (s.status) {
	case PROLIFIC_STATUS_APPROVED:
		a->state = PROLIFIC_APPROVAL_DONE;
		if ((rc = save_approval(hooks, a, eb)) != IF_OK)
			return rc;
		*step = PROLIFIC_STEP_DONE;
		return IF_OK;
	case PROLIFIC_STATUS_AWAITING_REVIEW:
		break;
	case PROLIFIC_STATUS_RESERVED:
	case PROLIFIC_STATUS_ACTIVE:
		/* Not completed on Prolific yet: nothing to approve now. */
		return IF_OK;
	default:
		/* Returned, timed out, rejected, screened out, unknown. */
		*step = PROLIFIC_STEP_OPERATOR;
		return IF_OK;
	}
	if (a->state != PROLIFIC_APPROVAL_SENDING) {
		a->state = PROLIFIC_APPROVAL_SENDING;
		if ((rc = save_approval(hooks, a, eb)) != IF_OK)
			return rc;
	}
	rc = prolific_approve(c, a->submission_id, err, eb);
	if (rc != IF_OK) {
		if (refused(err)) {
			*step = PROLIFIC_STEP_OPERATOR;
			err_init(eb);
			return IF_OK;
		}
		return rc;
	}
	a->state = PROLIFIC_APPROVAL_DONE;
	if ((rc = save_approval(hooks, a, eb)) != IF_OK)
		return rc;
	*step = PROLIFIC_STEP_DONE;
	return IF_OK;
}

/*
 * Payments of exactly amount the submission shows; -1 when it shows more
 * payments than are kept (the count cannot be trusted then).
 */
static long
count_amount(const struct prolific_submission *s, int64_t amount)
{
	long n = 0;

	if (s->n_bonus > PROLIFIC_BONUS_KEPT)
		return -1;
	for (size_t i = 0; i < s->n_bonus; i++)
		if (s->bonus_cents[i] == amount)
			n++;
	return n;
}

static int
mark_refused(const struct prolific_once_hooks *hooks, struct prolific_bonus *b,
	     enum prolific_step *step, struct errbuf *eb)
{
	int rc;

	b->state = PROLIFIC_BONUS_REFUSED;
	if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
		return rc;
	*step = PROLIFIC_STEP_OPERATOR;
	err_init(eb);
	return IF_OK;
}

/* The submission's payments of the bonus's amount, or a failure. */
static int
read_count(struct prolific_client *c, const struct prolific_bonus *b,
	   long *count, struct prolific_error *err, struct errbuf *eb)
{
	struct prolific_submission s;
	int rc;

	if ((rc = prolific_get_submission(c, b->submission_id, &s, err, eb)) !=
	    IF_OK)
		return rc;
	*count = count_amount(&s, b->amount_cents);
	if (*count < 0) {
		/* Nothing later will tell better: the operator's case. */
		err->fault = PROLIFIC_FAULT_REFUSED;
		return err_set(eb, IF_ERUNTIME,
			       "submission %s: more than %d bonus payments: "
			       "cannot tell whether the bonus was paid",
			       b->submission_id, PROLIFIC_BONUS_KEPT);
	}
	return IF_OK;
}

/*
 * A refused read leaves the record as it is (a PAYING record must keep
 * saying that a call may have gone) and hands the bonus to the operator.
 */
static int
read_failed(int rc, const struct prolific_error *err, enum prolific_step *step,
	    struct errbuf *eb)
{
	if (!refused(err))
		return rc;
	*step = PROLIFIC_STEP_OPERATOR;
	err_init(eb);
	return IF_OK;
}

int
prolific_bonus_step(struct prolific_client *c,
		    const struct prolific_once_hooks *hooks,
		    const struct prolific_once_policy *policy, int64_t now,
		    struct prolific_bonus *b, enum prolific_step *step,
		    struct prolific_error *err, struct errbuf *eb)
{
	struct prolific_bulk_bonus bulk;
	struct prolific_error local;
	enum prolific_pay_outcome outcome;
	int64_t settle = policy != NULL && policy->settle_s != 0
				 ? policy->settle_s
				 : DEFAULT_SETTLE_S;
	long count;
	int rc;

	*step = PROLIFIC_STEP_WAIT;
	if (err == NULL)
		err = &local;
	prolific_error_clear(err);
	if (!prolific_id_valid(b->submission_id) ||
	    !prolific_id_valid(b->study_id) || b->amount_cents <= 0)
		return err_set(eb, IF_EINPUT,
			       "bonus record: bad study, submission or amount");
	switch (b->state) {
	case PROLIFIC_BONUS_PAID:
		*step = PROLIFIC_STEP_DONE;
		return IF_OK;
	case PROLIFIC_BONUS_REFUSED:
		*step = PROLIFIC_STEP_OPERATOR;
		return IF_OK;
	case PROLIFIC_BONUS_NEW:
		rc = prolific_bonus_create(c, b->study_id, b->submission_id,
					   b->amount_cents, &bulk, err, eb);
		if (rc != IF_OK)
			return refused(err) ? mark_refused(hooks, b, step, eb)
					    : rc;
		memcpy(b->bulk_id, bulk.id, sizeof(b->bulk_id));
		b->state = PROLIFIC_BONUS_CREATED;
		if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
			return rc;
		break;
	case PROLIFIC_BONUS_PAYING:
		/* A pay call may have gone: look before calling again. */
		if (b->baseline < 0) {
			*step = PROLIFIC_STEP_OPERATOR;
			return IF_OK;
		}
		if ((rc = read_count(c, b, &count, err, eb)) != IF_OK)
			return read_failed(rc, err, step, eb);
		if (count > b->baseline) {
			b->state = PROLIFIC_BONUS_PAID;
			b->overpaid = count > b->baseline + 1;
			if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
				return rc;
			if (b->overpaid)
				log_warnx("submission %s: %ld bonus payments "
					  "of %lld cents where one was meant",
					  b->submission_id, count - b->baseline,
					  (long long)b->amount_cents);
			*step = PROLIFIC_STEP_DONE;
			return IF_OK;
		}
		if (settle < 0) {
			*step = PROLIFIC_STEP_OPERATOR;
			return IF_OK;
		}
		if (now - b->pay_sent_at < settle)
			return IF_OK; /* may still land: wait */
		log_warnx("submission %s: bulk bonus %s not paid %lld s after "
			  "the pay call; paying again", b->submission_id,
			  b->bulk_id, (long long)(now - b->pay_sent_at));
		b->state = PROLIFIC_BONUS_CREATED;
		if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
			return rc;
		break;
	case PROLIFIC_BONUS_CREATED:
		break;
	default:
		return err_set(eb, IF_EINPUT, "bonus record: unknown state %d",
			       (int)b->state);
	}

	/* CREATED: the baseline, then the intent, then the one pay call. */
	if ((rc = read_count(c, b, &count, err, eb)) != IF_OK)
		return read_failed(rc, err, step, eb);
	if (b->baseline < 0) {
		b->baseline = count;
	} else if (count > b->baseline) {
		/* An earlier call landed after all. */
		b->state = PROLIFIC_BONUS_PAID;
		if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
			return rc;
		*step = PROLIFIC_STEP_DONE;
		return IF_OK;
	}
	b->state = PROLIFIC_BONUS_PAYING;
	b->pay_sent_at = now;
	b->pay_calls++;
	if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
		return rc;
	rc = prolific_bonus_pay(c, b->bulk_id, &outcome, err, eb);
	switch (outcome) {
	case PROLIFIC_PAY_SENT:
		b->state = PROLIFIC_BONUS_PAID;
		if ((rc = save_bonus(hooks, b, eb)) != IF_OK)
			return rc;
		*step = PROLIFIC_STEP_DONE;
		return IF_OK;
	case PROLIFIC_PAY_REFUSED:
		if (refused(err)) {
			struct errbuf seb = {0};
			if (mark_refused(hooks, b, step, &seb) != IF_OK)
				return err_set(eb, seb.code, "%s", seb.msg);
			err_init(eb);
			return IF_OK;
		}
		/* 429, the token, or never sent: known not paid. */
		b->state = PROLIFIC_BONUS_CREATED;
		{
			struct errbuf seb = {0};
			if (save_bonus(hooks, b, &seb) != IF_OK) {
				err_init(eb);
				return err_set(eb, seb.code, "%s", seb.msg);
			}
		}
		return err->fault == PROLIFIC_FAULT_PASSING ? IF_ETEMP : rc;
	case PROLIFIC_PAY_UNKNOWN:
	default:
		/* The record says PAYING: the next step will look. */
		return IF_ETEMP;
	}
}
