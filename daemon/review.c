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

int
hit_review(struct run_ctx *ctx, struct hit_rec *h, bool last_try,
	   struct errbuf *eb)
{
	struct errbuf cause = {0};
	char status[32] = "";
	bool early, gone;
	int rc;

	ctx->api_calls++;
	mturk_client_fault_reset(ctx->client);
	rc = mturk_update_hit_review_status(ctx->client, h->hit_id, false,
					    status, sizeof(status), &cause);
	run_crash_point(ctx, "after UpdateHITReviewStatus");
	early = strcmp(status, "Assignable") == 0 ||
		strcmp(status, "Unassignable") == 0;
	gone = mturk_error_is_hit_gone(mturk_client_last_error(ctx->client)) ||
	       strcmp(status, "Disposed") == 0;
	if (rc != IF_OK && !gone) {
		if (!early) {
			log_warnx("%s/%s/%d: HIT %s: moving it to Reviewing "
				  "failed, trying again later: %s",
				  ctx->exp->name, h->image_id, h->stage,
				  h->hit_id, cause.msg);
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
hits_review_sweep(struct run_ctx *ctx, int64_t now, struct errbuf *eb)
{
	struct hit_rec *hs = NULL;
	size_t n = 0;
	int rc = IF_OK;

	if (store_hits_closed(ctx->st, HIT_CLOSED, &hs, &n, eb) != IF_OK)
		return eb->code;
	for (size_t i = 0; i < n && rc == IF_OK && !loop_stop_requested();
	     i++) {
		bool last = now >= hs[i].expires_at +
					   ctx->exp->hit.assignment_duration;
		if (ctx->reviews_swept && !last &&
		    !poll_seen_reviewable(ctx, hs[i].hit_id))
			continue;
		rc = hit_review(ctx, &hs[i], last, eb);
	}
	free(hs);
	if (rc == IF_OK)
		ctx->reviews_swept = true;
	return rc;
}
