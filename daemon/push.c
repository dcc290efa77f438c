/*
 * daemon/push.c - waiting on the server's push instead of sleeping out the
 * poll interval (issue 19; the exchange: sim/sim_push.c, the client:
 * mturk/push.c).
 *
 * When the loop has nothing due it sleeps until the earliest next_at.
 * With a server that offers the push (the project's own; MTurk never
 * does), it waits on the push instead, as long as it would have slept: a
 * HIT that becomes Reviewable meanwhile ends the wait at once, and its
 * image is made due now, so that the next pass's poll round reads it.
 * Nothing else changes: the poll round, its requests and the images'
 * schedules are as without the push, which only shortens the sleep; so
 * a push that is absent, fails or says nothing costs a poll interval at
 * worst, as before.  A failed wait is logged and the push rests for
 * PUSH_REST_SECONDS, the loop sleeping meanwhile.
 *
 * Only next_at is written, as the poll round writes it; the cursor (the
 * server's clock of its last answer) lives in memory: after a restart the
 * first wait asks from 0, and the HITs already dealt with are ignored.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <stdlib.h>
#include <string.h>

/* After a failed wait, sleep instead of waiting on the push this long. */
#define PUSH_REST_SECONDS 60

/* The images a push answer makes due now. */
struct push_due {
	struct image_rec *images;
	size_t n;
};

static int
write_due(struct state *st, void *arg, struct errbuf *eb)
{
	const struct push_due *d = arg;

	for (size_t i = 0; i < d->n; i++)
		if (store_image_update(st, &d->images[i], eb) != IF_OK)
			return eb->code;
	return IF_OK;
}

/*
 * Adds the image of HIT h to d when h is still its image's open HIT and
 * the image waits on it, not yet due.
 */
static int
due_for_hit(struct run_ctx *ctx, const struct hit_rec *h, int64_t now,
	    struct push_due *d, struct errbuf *eb)
{
	struct image_rec im;
	bool found = false;

	if (h->closed != HIT_OPEN)
		return IF_OK;
	if (store_image_get(ctx->st, h->image_id, &im, &found, eb) != IF_OK)
		return eb->code;
	if (!found || im.state != IMAGE_WAIT || im.stage != h->stage ||
	    im.attempt != h->attempt || im.next_at <= now)
		return IF_OK;
	im.next_at = now;
	d->images[d->n++] = im;
	return IF_OK;
}

/*
 * Makes the WAIT images of the announced HITs due now; *n how many.  The
 * HITs named are looked up one by one (by HITId): the work is the
 * answer's, not the study's.  An answer with more than it could name
 * makes every open HIT's image due, which reads them all.
 */
static int
push_mark_due(struct run_ctx *ctx, const struct mturk_push_answer *a,
	      size_t *n, struct errbuf *eb)
{
	struct hit_rec *hits = NULL;
	struct push_due d = {NULL, 0};
	size_t nhits = 0;
	int64_t now = run_now(ctx);
	int rc = IF_OK;

	*n = 0;
	if (a->n == 0 && !a->more)
		return IF_OK;
	if (a->more &&
	    store_hits_closed(ctx->st, HIT_OPEN, &hits, &nhits, eb) != IF_OK)
		return eb->code;
	d.images = calloc((a->more ? nhits : a->n) + 1, sizeof(*d.images));
	if (d.images == NULL) {
		free(hits);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; a->more && i < nhits && rc == IF_OK; i++)
		rc = due_for_hit(ctx, &hits[i], now, &d, eb);
	for (size_t i = 0; !a->more && i < a->n && rc == IF_OK; i++) {
		struct hit_rec h;
		bool found = false;

		rc = store_hit_by_hit_id(ctx->st, a->hit_ids[i], &h, &found,
					 eb);
		if (rc == IF_OK && found)
			rc = due_for_hit(ctx, &h, now, &d, eb);
	}
	if (rc == IF_OK && d.n > 0)
		rc = state_transaction(ctx->st, write_due, &d, eb);
	if (rc == IF_OK)
		*n = d.n;
	free(d.images);
	free(hits);
	return rc;
}

int
push_wait(struct run_ctx *ctx, const sigset_t *unblocked, int64_t wait_ms,
	  enum push_outcome *how, struct errbuf *eb)
{
	struct mturk_push_answer a;
	struct errbuf cause = {0};
	int64_t now = run_now(ctx);
	size_t due = 0;
	int rc;

	*how = PUSH_ABSENT;
	if (ctx->client == NULL || !mturk_client_push_offered(ctx->client))
		return IF_OK;
	if (ctx->push_rest_until > now)
		return IF_OK;
	if (!ctx->push_noted) {
		log_info("%s: the server offers a push: waiting on it instead "
			 "of the poll interval",
			 ctx->exp->name);
		ctx->push_noted = true;
	}
	if (mturk_push_wait(ctx->client, ctx->push_since, wait_ms, unblocked,
			    &a, &cause) != IF_OK) {
		log_warnx("%s: waiting on the server's push failed; polling "
			  "for %d s: %s",
			  ctx->exp->name, PUSH_REST_SECONDS, cause.msg);
		ctx->push_rest_until = now + PUSH_REST_SECONDS;
		*how = PUSH_FAILED;
		return IF_OK;
	}
	if (a.woken) {
		*how = PUSH_SIGNALLED;
		mturk_push_answer_cleanup(&a);
		return IF_OK;
	}
	ctx->push_since = a.now_ms;
	rc = push_mark_due(ctx, &a, &due, eb);
	if (rc == IF_OK && due > 0)
		log_debug("%s: push: %zu HIT%s Reviewable, %zu image%s due",
			  ctx->exp->name, a.n, a.n == 1 ? "" : "s", due,
			  due == 1 ? "" : "s");
	*how = due > 0 ? PUSH_WOKE : PUSH_QUIET;
	mturk_push_answer_cleanup(&a);
	return rc;
}
