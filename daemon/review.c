/*
 * daemon/review.c - finished HITs out of MTurk's Reviewable list (spec
 * section 9).
 *
 * Once a stage is aggregated its HIT is marked closed (HIT_CLOSED, in the
 * transition's transaction: the intent) and then moved to Reviewing with
 * UpdateHITReviewStatus, so that MTurk's Reviewable list, which every poll
 * round reads, holds only HITs not dealt with yet; a repeat after a crash
 * finds the HIT Reviewing already and counts as done.  Manual approval
 * changes nothing here: ApproveAssignment and MTurk's auto-approval work
 * on a Reviewing HIT's assignments as well, and Reviewing is what the
 * status means ("the requester is reviewing it"): the operator finds them
 * with ListReviewableHITs Status=Reviewing.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

/*
 * What an UpdateHITReviewStatus came to (rc, the HIT's read-back status,
 * the error of the call, cause its words): the HIT recorded as reviewed,
 * or left for a later sweep.
 */
static int
review_outcome(struct run_ctx *ctx, struct hit_rec *h, bool last_try,
	       int rc, const char *status, const struct mturk_error *err,
	       const struct errbuf *cause, struct errbuf *eb)
{
	bool early, gone;

	early = strcmp(status, "Assignable") == 0 ||
		strcmp(status, "Unassignable") == 0;
	gone = mturk_error_is_hit_gone(err) || strcmp(status, "Disposed") == 0;
	if (rc != IF_OK && !gone) {
		if (!early) {
			log_warnx("%s/%s/%d: HIT %s: moving it to Reviewing "
				  "failed, trying again later: %s",
				  ctx->exp->name, h->image_id, h->stage,
				  h->hit_id, cause->msg);
			return IF_OK;
		}
		if (!last_try) {
			log_debug("%s/%s/%d: HIT %s is %s; it moves to "
				  "Reviewing once Reviewable",
				  ctx->exp->name, h->image_id, h->stage,
				  h->hit_id, status);
			return IF_OK;
		}
		log_warnx("%s/%s/%d: HIT %s is still %s past its expiry; left "
			  "as it is",
			  ctx->exp->name, h->image_id, h->stage, h->hit_id,
			  status);
	}
	h->closed = HIT_REVIEWED;
	if (state_transaction(ctx->st, store_hit_write, h, eb) != IF_OK) {
		h->closed = HIT_CLOSED;
		return eb->code;
	}
	log_debug("%s/%s/%d: HIT %s out of the Reviewable list",
		  ctx->exp->name, h->image_id, h->stage, h->hit_id);
	return IF_OK;
}

int
hit_review(struct run_ctx *ctx, struct hit_rec *h, bool last_try,
	   struct errbuf *eb)
{
	struct errbuf cause = {0};
	char status[32] = "";
	int rc;

	ctx->api_calls++;
	mturk_client_fault_reset(run_client(ctx));
	run_pass_unlock(ctx);
	rc = mturk_update_hit_review_status(run_client(ctx), h->hit_id,
					    false, status, sizeof(status),
					    &cause);
	run_pass_lock(ctx);
	run_crash_point(ctx, "after UpdateHITReviewStatus");
	return review_outcome(ctx, h, last_try, rc, status,
			      mturk_client_last_error(run_client(ctx)),
			      &cause, eb);
}

int
hits_review_sweep(struct run_ctx *ctx, int64_t now, struct errbuf *eb)
{
	struct hit_rec *hs = NULL;
	struct mturk_settle *items = NULL;
	size_t *of = NULL, n = 0, m = 0;
	unsigned char *last = NULL;
	int rc = IF_OK;

	if (store_hits_closed(ctx->st, HIT_CLOSED, &hs, &n, eb) != IF_OK)
		return eb->code;
	items = calloc(n + 1, sizeof(*items));
	of = calloc(n + 1, sizeof(*of));
	last = calloc(n + 1, 1);
	if (items == NULL || of == NULL || last == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		last[i] = now >= hs[i].expires_at +
					 ctx->exp->hit.assignment_duration;
		if (ctx->reviews_swept && !last[i] &&
		    !poll_seen_reviewable(ctx, hs[i].hit_id))
			continue;
		items[m].kind = MTURK_SETTLE_REVIEWING;
		items[m].id = hs[i].hit_id;
		of[m++] = i;
	}
	/* Independent of one another: at once (issue 19). */
	if (m > 0 && !loop_stop_requested()) {
		ctx->api_calls += m;
		if (mturk_settle_many(ctx->client, items, m, eb) != IF_OK) {
			rc = eb->code;
			goto out;
		}
		for (size_t k = 0; k < m && rc == IF_OK; k++) {
			size_t i = of[k];

			run_crash_point(ctx, "after UpdateHITReviewStatus");
			rc = review_outcome(ctx, &hs[i], last[i], items[k].rc,
					    items[k].status, &items[k].error,
					    &items[k].eb, eb);
		}
	}
out:
	free(items);
	free(of);
	free(last);
	free(hs);
	if (rc == IF_OK)
		ctx->reviews_swept = true;
	return rc;
}
