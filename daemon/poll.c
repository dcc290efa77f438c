/*
 * daemon/poll.c - one poll per HIT type instead of one per HIT (spec
 * sections 5 and 9; issue 6).
 *
 * MTurk moves a HIT to Reviewable once all its assignments are submitted,
 * or once it has expired with none in progress.  Before that, the answers
 * of a HIT are of no use to the stage machine (it aggregates a stage only
 * when all are in) except close to the HIT's expiry, where the decision to
 * extend or to go on with fewer answers needs their number.  So a poll
 * round asks MTurk once per HIT type, not once per HIT:
 *
 *   1. the HIT types of the WAIT images that are due (each HIT row keeps
 *      its type; with exclusive_stages there is one per stage);
 *   2. every page of ListReviewableHITs(HITTypeId, Status=Reviewable) of
 *      each, into one sorted set of HITIds;
 *   3. every WAIT image of a listed type: in the set, it is due now and
 *      its step (step_wait in stage.c) reads the assignments with
 *      ListAssignmentsForHIT as before; not in the set, it costs no call
 *      and is rescheduled a poll interval on - never past the start of
 *      its expiry margin, so that the extension decision is taken in time;
 *      within the margin it keeps its own schedule and its own
 *      ListAssignmentsForHIT on every poll, as before.
 *
 * Rescheduling every WAIT image of a type at once also lines them up, so
 * that the next round serves them all with one listing.  A finished HIT
 * leaves the Reviewable list (UpdateHITReviewStatus, stage.c), so a
 * listing stays about as long as the number of HITs that finished since
 * the last round: one page of 100 in practice.
 *
 * Nothing here is durable but next_at: the set lives for one pass of the
 * loop.  After a crash the next round simply lists again.  A listing that
 * fails leaves its type's HITs to their own calls this round, which is
 * the old behaviour and always correct.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

/* A HIT this close to its expiry without enough answers is extended. */
#define EXPIRY_MARGIN_SECONDS 60

int64_t
hit_expiry_margin(const struct experiment *exp)
{
	/* Extend a little before the end, never more than a quarter early. */
	return exp->hit.lifetime / 4 < EXPIRY_MARGIN_SECONDS
		       ? exp->hit.lifetime / 4
		       : EXPIRY_MARGIN_SECONDS;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

void
poll_round_end(struct run_ctx *ctx)
{
	free(ctx->reviewable);
	ctx->reviewable = NULL;
	ctx->nreviewable = 0;
}

bool
poll_seen_reviewable(const struct run_ctx *ctx, const char *hit_id)
{
	char key[ID_MAX];

	if (ctx->reviewable == NULL || hit_id[0] == '\0')
		return false;
	snprintf(key, sizeof(key), "%s", hit_id);
	return bsearch(key, ctx->reviewable, ctx->nreviewable,
		       sizeof(ctx->reviewable[0]), id_cmp) != NULL;
}

/*
 * The open HIT of a WAIT image into *h, or NULL: one indexed lookup, not
 * a list of every open HIT of the study.
 */
static const struct hit_rec *
hit_of(struct run_ctx *ctx, const struct image_rec *im, struct hit_rec *h,
       struct errbuf *eb)
{
	bool found = false;

	if (store_hit_get(ctx->st, im->id, im->stage, im->attempt, h, &found,
			  eb) != IF_OK ||
	    !found || h->closed != HIT_OPEN || h->hit_id[0] == '\0')
		return NULL;
	return h;
}

/* Lists one HIT type's Reviewable HITs into ctx->reviewable. */
static int
list_type(struct run_ctx *ctx, const char *type, struct errbuf *cause)
{
	struct mturk_hit *hits = NULL;
	char(*grown)[ID_MAX];
	size_t n = 0;
	int pages = 0, rc;

	run_pass_unlock(ctx);
	rc = mturk_list_reviewable_hits(run_client(ctx), type, "Reviewable",
					&hits, &n, &pages, cause);
	run_pass_lock(ctx);
	ctx->api_calls += (uint64_t)(pages > 0 ? pages : 1);
	if (rc != IF_OK)
		return rc;
	log_debug("%s: poll: HIT type %s: %zu Reviewable (%d page%s)",
		  ctx->exp->name, type, n, pages, pages == 1 ? "" : "s");
	if (n > 0) {
		grown = realloc(ctx->reviewable,
				(ctx->nreviewable + n) * sizeof(*grown));
		if (grown == NULL) {
			free(hits);
			return err_set(cause, IF_ERUNTIME,
				       "ListReviewableHITs: out of memory");
		}
		ctx->reviewable = grown;
		for (size_t i = 0; i < n; i++)
			snprintf(ctx->reviewable[ctx->nreviewable++], ID_MAX,
				 "%s", hits[i].hit_id);
	}
	free(hits);
	return IF_OK;
}

/* The HIT types of a round, and which of them were listed. */
struct type_listings {
	const char (*types)[ID_MAX];
	unsigned char *listed;
};

/* One type's listing (run_pool_each: the types' listings go at once). */
static int
job_list_type(struct run_ctx *ctx, size_t t, void *arg, struct errbuf *eb)
{
	struct type_listings *tl = arg;
	struct errbuf cause = {0};

	(void)eb;
	if (list_type(ctx, tl->types[t], &cause) == IF_OK)
		tl->listed[t] = 1;
	else
		log_warnx("%s: poll: ListReviewableHITs for HIT type %s "
			  "failed; its HITs are polled one by one this time: "
			  "%s",
			  ctx->exp->name, tl->types[t], cause.msg);
	return IF_OK;
}

/* The images whose next_at a round moved (changed[i]), in one go. */
struct reschedule {
	const struct image_rec *list;
	const unsigned char *changed;
	size_t n;
};

static int
write_reschedule(struct state *st, void *arg, struct errbuf *eb)
{
	const struct reschedule *r = arg;

	for (size_t i = 0; i < r->n; i++)
		if (r->changed[i] &&
		    store_image_update(st, &r->list[i], eb) != IF_OK)
			return eb->code;
	return IF_OK;
}

int
poll_round(struct run_ctx *ctx, struct image_rec *list, size_t n, int64_t now,
	   struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	int64_t margin = hit_expiry_margin(exp);
	struct hit_rec *hits = NULL;
	const struct hit_rec **of = NULL;
	char(*types)[ID_MAX] = NULL;
	unsigned char *listed = NULL, *changed = NULL;
	int64_t *was = NULL;
	struct errbuf lookup = {0};
	size_t ntypes = 0;
	bool any = false, due = false;
	int rc = IF_OK;

	poll_round_end(ctx);
	for (size_t i = 0; i < n && !due; i++)
		due = list[i].state == IMAGE_WAIT && list[i].next_at <= now;
	if (!due)
		return IF_OK; /* nothing to poll: no round */
	hits = calloc(n, sizeof(*hits));
	of = calloc(n, sizeof(*of));
	types = calloc(n, sizeof(*types));
	listed = calloc(n, 1);
	changed = calloc(n, 1);
	was = calloc(n, sizeof(*was));
	/* An empty set, not NULL: the round is under way. */
	ctx->reviewable = calloc(1, sizeof(*ctx->reviewable));
	if (hits == NULL || of == NULL || types == NULL || listed == NULL ||
	    changed == NULL || was == NULL || ctx->reviewable == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	/* 1. The HIT types of the due WAIT images. */
	for (size_t i = 0; i < n; i++) {
		size_t t;

		if (list[i].state != IMAGE_WAIT)
			continue;
		of[i] = hit_of(ctx, &list[i], &hits[i], &lookup);
		if (err_isset(&lookup)) {
			rc = err_set(eb, lookup.code, "%s", lookup.msg);
			goto out;
		}
		if (of[i] == NULL || of[i]->hit_type_id[0] == '\0' ||
		    list[i].next_at > now)
			continue;
		for (t = 0; t < ntypes; t++)
			if (strcmp(types[t], of[i]->hit_type_id) == 0)
				break;
		if (t == ntypes)
			snprintf(types[ntypes++], ID_MAX, "%s",
				 of[i]->hit_type_id);
	}
	/* 2. One listing per type, at once (pool.c). */
	{
		struct type_listings tl = {(const char(*)[ID_MAX])types,
					   listed};

		if (run_pool_each(ctx, ntypes, job_list_type, &tl, eb) !=
		    IF_OK) {
			rc = eb->code;
			goto out;
		}
	}
	if (ctx->nreviewable > 1)
		qsort(ctx->reviewable, ctx->nreviewable,
		      sizeof(ctx->reviewable[0]), id_cmp);
	/* 3. Due now, or rescheduled without a call. */
	for (size_t i = 0; i < n; i++) {
		const struct hit_rec *h = of[i];
		int64_t next;
		size_t t;

		if (h == NULL || h->hit_type_id[0] == '\0')
			continue;
		for (t = 0; t < ntypes; t++)
			if (strcmp(types[t], h->hit_type_id) == 0)
				break;
		if (t == ntypes || !listed[t])
			continue;
		if (poll_seen_reviewable(ctx, h->hit_id)) {
			list[i].next_at = now;
			continue;
		}
		if (now + margin >= h->expires_at)
			continue; /* the extension decision polls it */
		next = now + exp->mturk.poll_interval;
		if (next > h->expires_at - margin)
			next = h->expires_at - margin;
		if (next == list[i].next_at)
			continue;
		was[i] = list[i].next_at;
		list[i].next_at = next;
		changed[i] = 1;
		any = true;
	}
	if (any) {
		struct reschedule r = {list, changed, n};

		rc = state_transaction(ctx->st, write_reschedule, &r, eb);
		/* Not saved: the loop's copy stays as the state has it. */
		for (size_t i = 0; rc != IF_OK && i < n; i++)
			if (changed[i])
				list[i].next_at = was[i];
	}
out:
	if (rc != IF_OK)
		poll_round_end(ctx);
	free(hits);
	free(of);
	free(types);
	free(listed);
	free(changed);
	free(was);
	return rc;
}
