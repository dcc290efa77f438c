/*
 * daemon/poll.c - one poll per HIT type instead of one per HIT (spec
 * sections 5 and 9; issue 6), and work per round that follows what
 * changed, not the images waiting (issue 15).
 *
 * MTurk moves a HIT to Reviewable once all its assignments are submitted,
 * or once it has expired with none in progress.  Before that, the answers
 * of a HIT are of no use to the stage machine (it aggregates a stage only
 * when all are in) except close to the HIT's expiry, where the decision to
 * extend or to go on with fewer answers needs their number.  So a poll
 * round asks MTurk once per HIT type, not once per HIT, and once per poll
 * interval, not once per image:
 *
 *   1. poll_round_begin, before the pass reads its due images: the HIT
 *      types of the open HITs (with exclusive_stages, one per stage),
 *      found through an index one seek each (store_hit_types_after);
 *   2. ListReviewableHITs(HITTypeId, Status=Reviewable) of each, a page
 *      at a time, into one sorted set of HITIds, and only as far as the
 *      pass can take (below);
 *   3. the WAIT images of each page's HITs become due now: one indexed
 *      lookup per HITId listed (store_images_wake_hits), so the round
 *      costs what it lists, whatever the number of images waiting;
 *   4. poll_round, on the pass's due images: a due WAIT image whose HIT
 *      is in the set steps (step_wait in stage.c reads its assignments
 *      with ListAssignmentsForHIT); one within its HIT's expiry margin
 *      keeps its own schedule and its own ListAssignmentsForHIT on every
 *      poll, as before, so that the extension decision is taken in time;
 *      any other sleeps, without a call, until the start of that margin.
 *      A later round wakes it when its HIT is listed Reviewable.
 *
 * A finished HIT leaves the Reviewable list (UpdateHITReviewStatus,
 * stage.c), so with a crowd slower than the daemon a listing is about as
 * long as the number of HITs that finished since the last round: one
 * page of 100.  With a fast one (the simulated crowd answers at once)
 * the list outgrows what one pass works on (the due images, at most
 * pass_max: engine.c's PASS_IMAGES_MAX), and listing all of it every
 * round made the listing grow with the square of the study.  So a round
 * lists only what the pass can take: nothing while the images already
 * due fill it (store_images_due_count), else pages until the images
 * woken fill the room left, or the round has listed pass_max HITs (HITs
 * whose images cannot move - paused, failed - wake nothing), and the
 * pass reads every image the round woke (*take).  Each type's listing
 * goes on at the next round from the NextToken where this one stopped
 * (ctx->poll_cursors, in memory), so HITs stuck Reviewable at the head
 * of the list never starve those after them: every HIT is reached
 * within the rounds the list's length takes, a pass's worth a round.
 * At the end of the list (no NextToken) the next round starts from the
 * first page again.  Whether and for how long MTurk keeps honouring a
 * token is nowhere on record, so any failed page asked for with one
 * makes the next listing start from the first page, and a refusal of
 * the request (a RequestError: the token is all that varies) is retried
 * from the first page at once.
 *
 * A round lists a poll interval after the last (ctx->poll_round_at, in
 * memory: the first pass of a run lists), and at once when a WAIT image
 * is due: a HIT just posted (due at once, as before), one a push named
 * (push.c), one within its expiry margin or whose listing failed.
 * Nothing else here is durable but next_at.  A listing that fails makes
 * every WAIT image of its type's open HITs due, to be polled one by one
 * this pass, which is the old behaviour and always correct.
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
	free(ctx->round_types);
	free(ctx->round_listed);
	ctx->round_types = NULL;
	ctx->round_listed = NULL;
	ctx->nround_types = 0;
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

/*
 * The cursor of HIT type type in ctx->poll_cursors, made ("": the first
 * page) when the type has none; NULL when memory runs out.
 */
static struct poll_cursor *
cursor_of(struct run_ctx *ctx, const char *type)
{
	struct poll_cursor *grown;

	for (size_t i = 0; i < ctx->npoll_cursors; i++)
		if (strcmp(ctx->poll_cursors[i].type, type) == 0)
			return &ctx->poll_cursors[i];
	grown = realloc(ctx->poll_cursors,
			(ctx->npoll_cursors + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	ctx->poll_cursors = grown;
	grown = &ctx->poll_cursors[ctx->npoll_cursors++];
	memset(grown, 0, sizeof(*grown));
	snprintf(grown->type, sizeof(grown->type), "%s", type);
	return grown;
}

/*
 * Forgets the cursors of HIT types no HIT is open of any more (the
 * round's types are the open HITs'), so that they stay as few as the
 * types in use.
 */
static void
cursors_keep_round_types(struct run_ctx *ctx)
{
	size_t kept = 0;

	for (size_t i = 0; i < ctx->npoll_cursors; i++) {
		bool open = false;

		for (size_t t = 0; t < ctx->nround_types && !open; t++)
			open = strcmp(ctx->round_types[t],
				      ctx->poll_cursors[i].type) == 0;
		if (open)
			ctx->poll_cursors[kept++] = ctx->poll_cursors[i];
	}
	ctx->npoll_cursors = kept;
}

void
poll_cursors_free(struct run_ctx *ctx)
{
	free(ctx->poll_cursors);
	free(ctx->poll_cursors_endpoint);
	ctx->poll_cursors = NULL;
	ctx->npoll_cursors = 0;
	ctx->poll_cursors_endpoint = NULL;
}

/*
 * A token is the service's that gave it: after a reload that moved the
 * run to another endpoint, every listing starts from its first page.
 */
static int
cursors_of_endpoint(struct run_ctx *ctx, struct errbuf *eb)
{
	const char *endpoint = mturk_client_endpoint(ctx->client);

	if (endpoint == NULL)
		endpoint = "";
	if (ctx->poll_cursors_endpoint != NULL &&
	    strcmp(ctx->poll_cursors_endpoint, endpoint) == 0)
		return IF_OK;
	poll_cursors_free(ctx);
	ctx->poll_cursors_endpoint = strdup(endpoint);
	if (ctx->poll_cursors_endpoint == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

/*
 * The HITs of one page listed: into ctx->reviewable and woken (saved),
 * due at the round's now, the pass's: the clock may have moved on while
 * the pages came, and an image woken later than the pass's now would
 * not be among the images the pass reads.
 */
struct page_wake {
	const struct mturk_hit *hits;
	size_t n;
	int64_t now;
	size_t woken;
};

static int
write_page_wake(struct state *st, void *arg, struct errbuf *eb)
{
	struct page_wake *w = arg;
	char(*ids)[ID_MAX] = calloc(w->n + 1, sizeof(*ids));
	int rc;

	if (ids == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < w->n; i++)
		snprintf(ids[i], ID_MAX, "%s", w->hits[i].hit_id);
	rc = store_images_wake_hits(st, (const char(*)[ID_MAX])ids, w->n,
				    w->now, &w->woken, eb);
	free(ids);
	return rc;
}

static int
page_take(struct run_ctx *ctx, const struct mturk_hit *hits, size_t n,
	  int64_t now, struct errbuf *eb)
{
	struct page_wake w = {hits, n, now, 0};
	char(*grown)[ID_MAX];

	if (n == 0)
		return IF_OK;
	grown = realloc(ctx->reviewable,
			(ctx->nreviewable + n) * sizeof(*grown));
	if (grown == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	ctx->reviewable = grown;
	for (size_t i = 0; i < n; i++)
		snprintf(ctx->reviewable[ctx->nreviewable++], ID_MAX, "%s",
			 hits[i].hit_id);
	if (state_transaction(ctx->st, write_page_wake, &w, eb) != IF_OK)
		return eb->code;
	ctx->round_woken += w.woken;
	ctx->round_rows += n;
	return IF_OK;
}

/* Whether the round has listed enough: the pass is full, or its rows. */
static bool
round_full(const struct run_ctx *ctx)
{
	return ctx->round_woken >= ctx->round_room ||
	       ctx->round_rows >= ctx->round_rows_max;
}

/*
 * Lists HIT type t's Reviewable HITs from where the last round stopped,
 * a page at a time, until the round is full or the list ends, waking
 * the images of each page's HITs.  *store_failed tells an error of our
 * own state (in cause) from a failed listing.
 */
static int
list_type(struct run_ctx *ctx, size_t t, int64_t now, bool *store_failed,
	  struct errbuf *cause)
{
	const char *type = ctx->round_types[t];
	bool restarted = false;
	size_t listed = 0;
	int pages = 0;

	*store_failed = false;
	while (!round_full(ctx)) {
		struct poll_cursor *cur = cursor_of(ctx, type);
		char token[sizeof(cur->token)], next[sizeof(cur->token)];
		struct mturk_hit *hits = NULL;
		enum mturk_fault fault;
		size_t n = 0;
		int rc;

		if (cur == NULL)
			return err_set(cause, IF_ERUNTIME,
				       "ListReviewableHITs: out of memory");
		snprintf(token, sizeof(token), "%s", cur->token);
		run_pass_unlock(ctx);
		mturk_client_fault_reset(run_client(ctx));
		rc = mturk_list_reviewable_hits_page(
			run_client(ctx), type, "Reviewable", token, 100,
			&hits, &n, next, sizeof(next), cause);
		fault = mturk_client_fault(run_client(ctx));
		run_pass_lock(ctx);
		ctx->api_calls++;
		pages++;
		/* The cursors may have moved while the lock was let go. */
		cur = cursor_of(ctx, type);
		if (cur == NULL) {
			free(hits);
			return err_set(cause, IF_ERUNTIME,
				       "ListReviewableHITs: out of memory");
		}
		if (rc != IF_OK) {
			/*
			 * Whether the service keeps a token, and for how
			 * long, is nowhere on record: after any failure of
			 * a page asked for with one, the next listing
			 * starts again from the first page; at once, once,
			 * when the service refused the request.
			 */
			cur->token[0] = '\0';
			if (token[0] == '\0' || restarted ||
			    fault != MTURK_FAULT_REQUEST)
				return rc;
			log_info("%s: poll: ListReviewableHITs refused the "
				 "page token of HIT type %s; listing it again "
				 "from the first page: %s",
				 ctx->exp->name, type, cause->msg);
			err_init(cause);
			restarted = true;
			continue;
		}
		/* Only the absence of a token ends the list. */
		if (strcmp(next, token) == 0 && next[0] != '\0') {
			log_warnx("%s: poll: ListReviewableHITs repeated the "
				  "page token of HIT type %s; listing it again "
				  "from the first page next time",
				  ctx->exp->name, type);
			next[0] = '\0';
		}
		snprintf(cur->token, sizeof(cur->token), "%s", next);
		rc = page_take(ctx, hits, n, now, cause);
		free(hits);
		listed += n;
		if (rc != IF_OK) {
			*store_failed = true;
			return rc;
		}
		if (next[0] == '\0')
			break; /* the end: the next round starts again */
	}
	log_debug("%s: poll: HIT type %s: %zu Reviewable (%d page%s)",
		  ctx->exp->name, type, listed, pages, pages == 1 ? "" : "s");
	return IF_OK;
}

/*
 * One type's listing (run_pool_each: the types' listings go at once);
 * arg: the round's now.
 */
static int
job_list_type(struct run_ctx *ctx, size_t t, void *arg, struct errbuf *eb)
{
	struct errbuf cause = {0};
	bool store_failed = false;

	if (list_type(ctx, t, *(const int64_t *)arg, &store_failed,
		      &cause) == IF_OK) {
		ctx->round_listed[t] = 1;
		return IF_OK;
	}
	if (store_failed)
		return err_set(eb, cause.code, "%s", cause.msg);
	log_warnx("%s: poll: ListReviewableHITs for HIT type %s failed; its "
		  "HITs are polled one by one this time: %s",
		  ctx->exp->name, ctx->round_types[t], cause.msg);
	return IF_OK;
}

/* The HIT types of the open HITs into ctx->round_types. */
static int
round_types_read(struct run_ctx *ctx, struct errbuf *eb)
{
	size_t cap = 0;
	char after[ID_MAX] = "";

	for (;;) {
		char type[ID_MAX];
		bool found = false;

		if (store_hit_types_after(ctx->st, after, type, sizeof(type),
					  &found, eb) != IF_OK)
			return eb->code;
		if (!found)
			return IF_OK;
		if (ctx->nround_types == cap) {
			size_t ncap = cap != 0 ? cap * 2 : 4;
			char(*t)[ID_MAX] = realloc(ctx->round_types,
						   ncap * sizeof(*t));
			unsigned char *l = realloc(ctx->round_listed, ncap);

			if (t != NULL)
				ctx->round_types = t;
			if (l != NULL)
				ctx->round_listed = l;
			if (t == NULL || l == NULL)
				return err_set(eb, IF_ERUNTIME,
					       "out of memory");
			cap = ncap;
		}
		snprintf(ctx->round_types[ctx->nround_types], ID_MAX, "%s",
			 type);
		ctx->round_listed[ctx->nround_types++] = 0;
		snprintf(after, sizeof(after), "%s", type);
	}
}

/* The WAIT images of the types whose listing failed, due at now. */
struct failed_wake {
	struct run_ctx *ctx;
	int64_t now;
};

static int
write_wake_failed(struct state *st, void *arg, struct errbuf *eb)
{
	const struct failed_wake *w = arg;
	struct run_ctx *ctx = w->ctx;
	int64_t now = w->now;
	size_t woken = 0;

	for (size_t t = 0; t < ctx->nround_types; t++) {
		if (ctx->round_listed[t])
			continue;
		if (store_images_wake_type(st, ctx->round_types[t], now,
					   &woken, eb) != IF_OK)
			return eb->code;
		if (woken > 0)
			log_debug("%s: poll: %zu waiting image%s of HIT type "
				  "%s due now",
				  ctx->exp->name, woken, woken == 1 ? "" : "s",
				  ctx->round_types[t]);
	}
	return IF_OK;
}

int
poll_round_begin(struct run_ctx *ctx, int64_t now, size_t pass_max,
		 size_t *take, struct errbuf *eb)
{
	int64_t open = 0, total = 0;
	size_t due = 0;
	int rc = IF_OK;

	poll_round_end(ctx);
	*take = pass_max;
	if (store_hit_counts(ctx->st, &open, &total, eb) != IF_OK)
		return eb->code;
	if (open == 0)
		return IF_OK; /* nothing to poll: no round */
	/* Not yet, unless an image waits on a HIT no round has seen. */
	if (now < ctx->poll_round_at) {
		bool wait_due = false;

		if (store_wait_due(ctx->st, now, &wait_due, eb) != IF_OK)
			return eb->code;
		if (!wait_due)
			return IF_OK;
	}
	/* The images due already fill the pass: no listing this time. */
	if (store_images_due_count(ctx->st, now, pass_max, &due, eb) != IF_OK)
		return eb->code;
	if (due >= pass_max)
		return IF_OK;
	/* An empty set, not NULL: the round is under way. */
	ctx->reviewable = calloc(1, sizeof(*ctx->reviewable));
	if (ctx->reviewable == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	ctx->round_room = pass_max - due;
	ctx->round_rows_max = pass_max;
	ctx->round_woken = 0;
	ctx->round_rows = 0;
	/* 1. The HIT types of the open HITs. */
	if (round_types_read(ctx, eb) != IF_OK) {
		rc = eb->code;
		goto out;
	}
	if (cursors_of_endpoint(ctx, eb) != IF_OK) {
		rc = eb->code;
		goto out;
	}
	cursors_keep_round_types(ctx);
	for (size_t t = 0; t < ctx->nround_types; t++)
		if (cursor_of(ctx, ctx->round_types[t]) == NULL) {
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
			goto out;
		}
	/* 2-3. Each type's listing, the types at once (pool.c). */
	if (run_pool_each(ctx, ctx->nround_types, job_list_type, &now, eb) !=
	    IF_OK) {
		rc = eb->code;
		goto out;
	}
	if (ctx->nreviewable > 1)
		qsort(ctx->reviewable, ctx->nreviewable,
		      sizeof(ctx->reviewable[0]), id_cmp);
	if (ctx->round_woken > 0)
		log_debug("%s: poll: %zu HIT%s listed, %zu waiting image%s "
			  "due now",
			  ctx->exp->name, ctx->round_rows,
			  ctx->round_rows == 1 ? "" : "s", ctx->round_woken,
			  ctx->round_woken == 1 ? "" : "s");
	/* The images of a type whose listing failed: due now. */
	rc = state_transaction(ctx->st, write_wake_failed,
			       &(struct failed_wake){ctx, now}, eb);
	if (rc == IF_OK) {
		ctx->poll_round_at = now + ctx->exp->mturk.poll_interval;
		/* Every image a listing woke is stepped in this pass. */
		if (due + ctx->round_woken > pass_max)
			*take = due + ctx->round_woken;
	}
out:
	if (rc != IF_OK)
		poll_round_end(ctx);
	return rc;
}

int64_t
poll_round_next_at(const struct run_ctx *ctx, int64_t open_hits)
{
	if (open_hits <= 0)
		return 0;
	return ctx->poll_round_at > 1 ? ctx->poll_round_at : 1;
}

/* Whether the round under way listed HIT type type successfully. */
static bool
type_listed(const struct run_ctx *ctx, const char *type)
{
	for (size_t t = 0; t < ctx->nround_types; t++)
		if (strcmp(ctx->round_types[t], type) == 0)
			return ctx->round_listed[t] != 0;
	return false;
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
	int64_t margin = hit_expiry_margin(ctx->exp);
	unsigned char *changed = NULL;
	int64_t *was = NULL;
	bool any = false;
	int rc = IF_OK;

	changed = calloc(n + 1, 1);
	was = calloc(n + 1, sizeof(*was));
	if (changed == NULL || was == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	/* 4. Each due WAIT image: on, or asleep until its expiry margin. */
	for (size_t i = 0; i < n; i++) {
		struct errbuf lookup = {0};
		struct hit_rec hit;
		const struct hit_rec *h;

		if (list[i].state != IMAGE_WAIT || list[i].next_at > now)
			continue;
		h = hit_of(ctx, &list[i], &hit, &lookup);
		if (err_isset(&lookup)) {
			rc = err_set(eb, lookup.code, "%s", lookup.msg);
			goto out;
		}
		if (h == NULL || h->hit_type_id[0] == '\0')
			continue; /* not listable: its own calls */
		if (poll_seen_reviewable(ctx, h->hit_id))
			continue;
		if (now + margin >= h->expires_at)
			continue; /* the extension decision polls it */
		/* Listed and not Reviewable, or no round: a round wakes it. */
		if (ctx->reviewable != NULL &&
		    !type_listed(ctx, h->hit_type_id))
			continue; /* its listing failed: its own call */
		was[i] = list[i].next_at;
		list[i].next_at = h->expires_at - margin;
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
	free(changed);
	free(was);
	return rc;
}
