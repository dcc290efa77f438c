/*
 * mturk/settle.c - approvals, grants and review-status updates that do not
 * depend on one another, sent at once (issue 19).
 *
 * The first try of every call goes out concurrently on the client's pool
 * (mturk_call_concurrent: at most rate.concurrency at a time, paced by the
 * token bucket).  What does not succeed goes on one call at a time through
 * the same typed operations as ever, so the retry rules and the
 * idempotency quirks are theirs: a retryable failure waits its backoff and
 * makes the remaining tries (mturk_client_resume_next), an approval
 * refused as InvalidAssignmentState is read back (mturk_approve_refused),
 * another refusal stands as the single call would have left it, and a
 * request that never got an answer (signing, a refused URL) is made
 * afresh.  Each item gets its own result and fault, as
 * mturk_client_fault() would have said after the single call.
 */
#include "mturk/client_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The request body of one item (malloc'ed JSON), or NULL. */
static char *
settle_body(const struct mturk_settle *it)
{
	json_t *req = NULL;
	char *body;

	switch (it->kind) {
	case MTURK_SETTLE_APPROVE:
		req = json_pack("{s:s}", "AssignmentId", it->id);
		break;
	case MTURK_SETTLE_GRANT:
		/* SendNotification defaults to true, which e-mails. */
		req = json_pack("{s:s, s:s, s:I, s:b}", "QualificationTypeId",
				it->id, "WorkerId", it->worker_id,
				"IntegerValue", (json_int_t)it->value,
				"SendNotification", 0);
		break;
	case MTURK_SETTLE_REVIEWING:
		req = json_pack("{s:s, s:b}", "HITId", it->id, "Revert", 0);
		break;
	}
	if (req == NULL)
		return NULL;
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	return body;
}

static const char *
settle_operation(enum mturk_settle_kind kind)
{
	switch (kind) {
	case MTURK_SETTLE_APPROVE:
		return "ApproveAssignment";
	case MTURK_SETTLE_GRANT:
		return "AssociateQualificationWithWorker";
	default:
		return "UpdateHITReviewStatus";
	}
}

/* One item, the single typed call (after a concurrent try failed). */
static int
settle_one(struct mturk_client *c, struct mturk_settle *it)
{
	switch (it->kind) {
	case MTURK_SETTLE_APPROVE:
		return mturk_approve_assignment(c, it->id, NULL, it->status,
						sizeof(it->status), &it->eb);
	case MTURK_SETTLE_GRANT:
		return mturk_associate_qualification(c, it->id, it->worker_id,
						     it->value, &it->eb);
	default:
		return mturk_update_hit_review_status(c, it->id, false,
						      it->status,
						      sizeof(it->status),
						      &it->eb);
	}
}

int
mturk_settle_many(struct mturk_client *c, struct mturk_settle *items,
		  size_t n, struct errbuf *eb)
{
	struct mturk_concurrent *calls = calloc(n + 1, sizeof(*calls));
	int rc = IF_OK;

	if (calls == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		struct mturk_settle *it = &items[i];
		char *body = settle_body(it);

		it->rc = IF_OK;
		it->status[0] = '\0';
		it->fault = MTURK_FAULT_NONE;
		mturk_error_clear(&it->error);
		err_init(&it->eb);
		calls[i].operation = settle_operation(it->kind);
		calls[i].body = body != NULL ? body : "";
		calls[i].body_len = body != NULL ? strlen(body) : 0;
	}
	if (mturk_call_concurrent(c, calls, n, eb) != IF_OK) {
		rc = eb->code;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct mturk_settle *it = &items[i];
		struct mturk_concurrent *k = &calls[i];

		if (k->rc == IF_OK)
			continue;
		mturk_client_fault_reset(c);
		if (it->kind == MTURK_SETTLE_APPROVE &&
		    mturk_error_is(&k->err, "InvalidAssignmentState")) {
			/* Read back, as the single call does. */
			it->rc = mturk_approve_refused(c, it->id, &k->err,
						       &k->eb, it->status,
						       sizeof(it->status),
						       &it->eb);
			if (it->rc != IF_OK) {
				it->fault = mturk_client_fault(c);
				it->error = k->err;
			}
			continue;
		}
		if (!k->err.retryable && k->err.http_status > 0 &&
		    it->kind != MTURK_SETTLE_REVIEWING) {
			/* Refused for what it says: again would be the same. */
			it->rc = err_set(&it->eb, k->rc, "%s", k->eb.msg);
			it->fault = k->err.fault;
			it->error = k->err;
			continue;
		}
		if (k->err.retryable)
			mturk_client_resume_next(c);
		it->rc = settle_one(c, it);
		if (it->rc != IF_OK) {
			it->fault = mturk_client_fault(c);
			it->error = *mturk_client_last_error(c);
		}
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (calls[i].body_len > 0)
			free((char *)(uintptr_t)calls[i].body);
		buf_cleanup(&calls[i].out);
	}
	free(calls);
	return rc;
}
