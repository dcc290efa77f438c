/*
 * daemon/stage.c - the per-image state machine (spec sections 4, 5, 9).
 *
 *   RENDER --host--> POST --CreateHIT--> WAIT --all answers--> RENDER k+1
 *                     |                   |                    or FINAL
 *                     +--budget--> PAUSED +--expired, none--> FAILED
 *   FINAL --write image and JSON--> DONE
 *
 * image_step() does one bounded step and returns; the loop decides when to
 * call it again (next_at).  Every change of state goes through
 * image_enter_state(), which writes the row, with whatever goes with the
 * change, in one transaction, commits, and logs "old -> new": one place,
 * so the journal and the state can never disagree.  A step's writes are
 * one transaction (state_transaction): a failure of the store anywhere in
 * it rolls the step back and is returned, and the step runs again.
 *
 * Intent before action: the HIT row with its UniqueRequestToken is
 * committed before CreateHIT, and each assignment with its parsed boxes
 * before ApproveAssignment.  After kill -9 the step simply runs again: a
 * repeated CreateHIT with the same token returns the same HIT, a recorded
 * assignment is not recorded twice, and an approval that already happened
 * counts as success; so does one the operator refused by rejecting the
 * assignment by hand, recorded as rejected (the same read-back answers the
 * same after a crash, so nothing is approved twice or lost).  Tokens
 * expire after 24 hours at MTurk, so an intent older than that first
 * searches ListHITs for its RequesterAnnotation.
 *
 * WAIT polls only the HITs the poll round (poll.c) found Reviewable, or
 * close to their expiry.  A finished stage's HIT leaves MTurk's
 * Reviewable list through review.c; what a failed remote step leads to
 * is failure.c's decision.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <openssl/evp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* MTurk forgets a UniqueRequestToken after 24 h; search before that. */
#define TOKEN_TRUST_SECONDS (23 * 3600)

/*
 * Test hook for the kill -9 suites (tests/e2e/t0610-crash.sh): with
 * INTOFOCUS_TEST_CRASH_AT=N in the environment, the daemon kills itself
 * with SIGKILL at the N-th crash point - after each committed transition
 * (named by the new state) and right after each remote action, before its
 * result is recorded, the two kinds of instant that recovery must survive.
 * INTOFOCUS_TEST_CRASH_LABEL=NAME counts only the points of that name.
 * Unset, it costs one comparison.
 */
void
run_crash_point(struct run_ctx *ctx, const char *where)
{
	if (ctx->crash_at <= 0)
		return;
	/* INTOFOCUS_TEST_CRASH_LABEL counts only the points of that name. */
	if (ctx->crash_label != NULL && strcmp(ctx->crash_label, where) != 0)
		return;
	if (++ctx->crash_points != ctx->crash_at)
		return;
	log_warnx("test: SIGKILL at crash point %lld (%s)",
		  (long long)ctx->crash_points, where);
	raise(SIGKILL);
}

int64_t
run_now(const struct run_ctx *ctx)
{
	return ctx->now(ctx->now_arg);
}

int
hit_token(const char *salt, const char *annotation, int attempt,
	  char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char input[512];

	out[0] = '\0';
	snprintf(input, sizeof(input), "%s\n%s\n%d", salt, annotation, attempt);
	if (EVP_Digest(input, strlen(input), md, &mdlen, EVP_sha256(), NULL) !=
		    1 ||
	    mdlen < 20)
		return IF_ERUNTIME;
	hex_encode(md, 20, out);
	return IF_OK;
}

int
run_salt_load(struct run_ctx *ctx, struct errbuf *eb)
{
	char *salt = NULL;
	unsigned char rnd[16];

	if (state_meta_get(ctx->st, "token_salt", &salt, eb) != IF_OK)
		return eb->code;
	if (salt == NULL) {
		if (random_bytes(rnd, sizeof(rnd)) != 0)
			return err_set(eb, IF_ERUNTIME, "no random bytes");
		hex_encode(rnd, sizeof(rnd), ctx->salt);
		return state_meta_set(ctx->st, "token_salt", ctx->salt, eb);
	}
	snprintf(ctx->salt, sizeof(ctx->salt), "%s", salt);
	free(salt);
	return IF_OK;
}

int
run_note_start(struct run_ctx *ctx, struct errbuf *eb)
{
	char *at = NULL, now[32];
	bool halted;

	if (state_meta_get(ctx->st, "halt_at", &at, eb) != IF_OK)
		return eb->code;
	halted = at != NULL && at[0] != '\0';
	free(at);
	if (!halted)
		return IF_OK;
	snprintf(now, sizeof(now), "%lld", (long long)run_now(ctx));
	return state_meta_set(ctx->st, "halt_restarted_at", now, eb);
}

/* The writes of one transition: the caller's, then the image row. */
struct transition {
	const struct run_ctx *ctx;
	const struct image_rec *im;
	int (*with)(struct state *st, void *arg, struct errbuf *eb);
	void *with_arg;
};

static int
write_transition(struct state *st, void *arg, struct errbuf *eb)
{
	const struct transition *t = arg;

	if (t->with != NULL && t->with(st, t->with_arg, eb) != IF_OK)
		return eb->code;
	/* Progress: a stop of an earlier run (run_halt) is over. */
	if (!t->ctx->halt_cleared && t->im->state != IMAGE_FAILED &&
	    state_meta_set(st, "halt_at", "", eb) != IF_OK)
		return eb->code;
	return store_image_update(st, t->im, eb);
}

int
image_enter_state(struct run_ctx *ctx, struct image_rec *im,
		  enum image_state to,
		  int (*with)(struct state *st, void *arg, struct errbuf *eb),
		  void *with_arg, struct errbuf *eb, const char *reason, ...)
{
	struct transition t = {ctx, im, with, with_arg};
	enum image_state from = im->state;
	struct image_rec before = *im;
	va_list ap;

	im->state = to;
	im->updated_at = run_now(ctx);
	im->reason[0] = '\0';
	/* A transition is progress: a FAILED image keeps what failed it. */
	if (to != IMAGE_FAILED) {
		im->error[0] = '\0';
		im->error_since = 0;
		im->retries = 0;
	}
	if (reason != NULL) {
		va_start(ap, reason);
		vsnprintf(im->reason, sizeof(im->reason), reason, ap);
		va_end(ap);
	}
	if (state_transaction(ctx->st, write_transition, &t, eb) != IF_OK) {
		*im = before;
		return eb->code;
	}
	if (to != IMAGE_FAILED)
		ctx->halt_cleared = true;
	run_crash_point(ctx, image_state_str(to));
	if (from == to)
		return IF_OK;
	if (to == IMAGE_FAILED || to == IMAGE_PAUSED)
		log_warnx("%s/%s/%d: %s -> %s: %s", ctx->exp->name, im->id,
			  im->stage, image_state_str(from), image_state_str(to),
			  im->reason);
	else
		log_info("%s/%s/%d: %s -> %s%s%s", ctx->exp->name, im->id,
			 im->stage, image_state_str(from), image_state_str(to),
			 im->reason[0] != '\0' ? ": " : "", im->reason);
	return IF_OK;
}

/* A step that went well ends the run of failures it may have had. */
static void
image_clear_error(struct image_rec *im)
{
	im->error[0] = '\0';
	im->error_since = 0;
	im->retries = 0;
}

int
image_save(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	im->updated_at = run_now(ctx);
	return store_image_update(ctx->st, im, eb);
}

/*
 * Shorthands: the fault of the MTurk client's / the image host's last call,
 * the calling thread's own (pool.c).
 */
#define CLIENT_FAULT(ctx) mturk_client_fault(run_client(ctx))
#define HOST_FAULT(ctx) mturk_image_host_fault(run_host(ctx))
#define CLIENT_ERROR(ctx) mturk_client_last_error(run_client(ctx))

static const struct exp_image *
exp_image_of(const struct run_ctx *ctx, const struct image_rec *im)
{
	return run_exp_image(ctx, im->id);
}

/*
 * Reads the original of an image into ctx's renderer and checks it is the
 * file the experiment started with.  IF_EINPUT when it changed or cannot
 * be read: that image cannot go on, the others can.  *path names it.
 */
int
image_read_original(struct run_ctx *ctx, const struct image_rec *im,
		    const char **path, const void **data, size_t *len,
		    struct errbuf *eb)
{
	const struct exp_image *ei = exp_image_of(ctx, im);
	char fp[65];

	if (ei == NULL)
		return err_set(eb, IF_EINPUT,
			       "image %s is no longer in the experiment file",
			       im->id);
	if (*run_renderer(ctx) == NULL &&
	    img_renderer_new(run_renderer(ctx), ctx->threads, 0, eb) != IF_OK)
		return eb->code;
	/* The bytes checked are the bytes decoded: one read, no race. */
	if (img_renderer_read_file(*run_renderer(ctx), ei->path, data, len,
				   eb) != IF_OK)
		return eb->code;
	if (data_fingerprint(*data, *len, fp) != IF_OK)
		return err_set(eb, IF_ERUNTIME,
			       "%s: cannot compute its SHA-256", ei->path);
	if (strcmp(fp, im->fingerprint) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s changed since the experiment started; "
			       "restore it or give it a new image id",
			       ei->path);
	*path = ei->path;
	return IF_OK;
}

/*
 * Every box of stage 0 (the starting boxes) and aggregated in stages
 * 1..upto, appended to *boxes.
 */
static int
boxes_through(struct run_ctx *ctx, const struct image_rec *im, int upto,
	      struct box **boxes, size_t *n, struct errbuf *eb)
{
	struct stage0_box *start = NULL;
	size_t nstart = 0;
	bool recorded = false;

	*boxes = NULL;
	*n = 0;
	if (store_stage0_get(ctx->st, im->id, &start, &nstart, &recorded,
			     eb) != IF_OK)
		return eb->code;
	if ((*boxes = calloc(nstart + 1, sizeof(**boxes))) == NULL) {
		free(start);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < nstart; i++)
		(*boxes)[i] = start[i].box;
	*n = nstart;
	free(start);
	for (int k = 1; k <= upto; k++) {
		char *json = NULL;
		struct box *b = NULL, *p;
		size_t nb = 0;
		bool found = false;
		int rc;

		if (store_stage_result_get(ctx->st, im->id, k, &json, &found,
					   eb) != IF_OK)
			goto fail;
		if (!found)
			continue;
		rc = boxes_from_json(json, &b, &nb, eb);
		free(json);
		if (rc != IF_OK)
			goto fail;
		p = realloc(*boxes, (*n + nb + 1) * sizeof(*p));
		if (p == NULL) {
			free(b);
			err_set(eb, IF_ERUNTIME, "out of memory");
			goto fail;
		}
		if (nb > 0)
			memcpy(p + *n, b, nb * sizeof(*p));
		free(b);
		*boxes = p;
		*n += nb;
	}
	return IF_OK;
fail:
	free(*boxes);
	*boxes = NULL;
	*n = 0;
	return eb->code;
}

/*
 * The stage image (window of stage k; 1 for the final image) of im,
 * through the calling thread's renderer (run_renderer), which keeps its
 * buffers for the next stage and image: encoded as JPEG into *jpeg when
 * jpeg is not NULL, else the image into *out.  Either belongs to the
 * renderer until its next call.  The pass lock is let go while it reads
 * the original and renders (pool.c).
 */
static int
render(struct run_ctx *ctx, const struct image_rec *im, int window,
       int boxes_upto, const struct img **out, const unsigned char **jpeg,
       size_t *len, struct errbuf *eb)
{
	struct img_stage_spec spec = {
		.window = window,
		.style = ctx->exp->redact.style,
		.fill_rgb = ctx->exp->redact.color,
		.heavy_window = run_exp_window(ctx, im->id, 1),
	};
	struct img_renderer *r;
	struct box *boxes = NULL;
	const char *path = NULL;
	const void *data = NULL;
	size_t n = 0, dlen = 0;
	int rc;

	if (*run_renderer(ctx) == NULL &&
	    (rc = img_renderer_new(run_renderer(ctx), ctx->threads, 0, eb)) !=
		    IF_OK)
		return rc;
	r = *run_renderer(ctx);
	/* The store's part first, under the pass lock. */
	if ((rc = boxes_through(ctx, im, boxes_upto, &boxes, &n, eb)) != IF_OK)
		return rc;
	spec.boxes = boxes;
	spec.n = n;
	run_pass_unlock(ctx);
	rc = image_read_original(ctx, im, &path, &data, &dlen, eb);
	if (rc == IF_OK && jpeg != NULL)
		rc = img_renderer_encode(r, data, dlen, path, &spec,
					 IMG_FORMAT_JPEG, ctx->jpeg_quality,
					 jpeg, len, eb);
	else if (rc == IF_OK)
		rc = img_renderer_image(r, data, dlen, path, &spec, out, eb);
	run_pass_lock(ctx);
	free(boxes);
	return rc;
}


/*
 * The embedded simulator plans a HIT's workers when it is created: it
 * must know what the served image hides from stage 0 by then (a restart
 * or a reload gives it a fresh copy of the experiment, hence every time).
 */
static int
sim_tell_stage0(struct run_ctx *ctx, const struct image_rec *im,
		struct errbuf *eb)
{
	struct stage0_box *start = NULL;
	struct sim_face *faces;
	struct errbuf why = {0};
	size_t n = 0;
	bool recorded = false;

	if (store_stage0_get(ctx->st, im->id, &start, &n, &recorded, eb) !=
	    IF_OK)
		return eb->code;
	if ((faces = calloc(n + 1, sizeof(*faces))) == NULL) {
		free(start);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		faces[i] = (struct sim_face){start[i].box.x, start[i].box.y,
					     start[i].box.w, start[i].box.h};
	free(start);
	/* An image the simulator does not know has no crowd to tell. */
	if (sim_set_hidden(ctx->sim, ctx->exp->name, im->id, faces, n,
			   &why) == IF_ERUNTIME) {
		free(faces);
		return err_set(eb, IF_ERUNTIME, "%s", why.msg);
	}
	free(faces);
	return IF_OK;
}

/* ---- RENDER ------------------------------------------------------------- */

static int
step_render(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	const struct exp_hit *hit = &ctx->exp->hit;
	struct errbuf cause = {0};
	struct mturk_hosted hosted;
	const unsigned char *jpeg = NULL;
	size_t len = 0;
	int64_t valid_for;
	int rc;

	/* Stage 0 first: the first stage image already hides it. */
	if (im->stage == 1) {
		rc = stage0_ensure(ctx, im, &cause, eb);
		if (rc == IF_EINPUT)
			return image_fail(ctx, im, "starting boxes", &cause,
					  eb);
		if (rc != IF_OK)
			return rc;
	}
	rc = render(ctx, im, run_exp_window(ctx, im->id, (size_t)im->stage),
		    im->stage - 1,
		    NULL, &jpeg, &len, &cause);
	if (rc != IF_OK) {
		if (rc == IF_EINPUT)
			return image_fail(ctx, im, "rendering", &cause, eb);
		return err_set(eb, rc, "%s/%s/%d: rendering: %s",
			       ctx->exp->name, im->id, im->stage, cause.msg);
	}
	/*
	 * The URL must outlive every extension of the HIT and the last
	 * worker's assignment; the host clamps it to what it allows (7 days
	 * for presigned S3 URLs).
	 */
	valid_for = hit->lifetime * (1 + hit->max_extensions) +
		    hit->assignment_duration;
	run_pass_unlock(ctx);
	rc = mturk_image_host_put(run_host(ctx), jpeg, len, "image/jpeg",
				  ".jpg", valid_for, &hosted, &cause);
	run_pass_lock(ctx);
	run_crash_point(ctx, "after PutObject");
	/*
	 * A refusal by the host is about its bucket or its keys, which every
	 * image needs; one of ours before any request (an oversized stage
	 * image) is this image's.
	 */
	if (rc != IF_OK)
		return image_remote_failed(ctx, im, "hosting the stage image",
					   HOST_FAULT(ctx),
					   HOST_FAULT(ctx) == MTURK_FAULT_NONE
						   ? SCOPE_IMAGE
						   : SCOPE_EXPERIMENT,
					   &cause, eb);
	/*
	 * The state keeps the URL without its query: a presigned URL carries
	 * the session token of temporary credentials, which has no place on
	 * disk.  step_post signs a fresh one from the object key.
	 */
	snprintf(im->image_url, sizeof(im->image_url), "%.*s",
		 (int)strcspn(hosted.url, "?"), hosted.url);
	snprintf(im->object_key, sizeof(im->object_key), "%s", hosted.key);
	im->url_expires = hosted.expires_at;
	im->next_at = 0;
	return image_enter_state(ctx, im, IMAGE_POST, NULL, NULL, eb,
				 "stage image %s", hosted.key);
}

/* ---- POST --------------------------------------------------------------- */

/* Assignments of this stage already recorded (from earlier attempts). */
static int
stage_answers(struct run_ctx *ctx, const struct image_rec *im, size_t *total,
	      size_t *valid, struct errbuf *eb)
{
	struct assignment_rec *a = NULL;
	size_t n = 0;

	*total = 0;
	*valid = 0;
	if (store_assignments_for(ctx->st, im->id, im->stage, &a, &n, eb) !=
	    IF_OK)
		return eb->code;
	*total = n;
	for (size_t i = 0; i < n; i++)
		*valid += a[i].valid != 0;
	assignment_recs_free(a, n);
	return IF_OK;
}

static int
write_hit_intent(struct state *st, void *hit, struct errbuf *eb)
{
	return store_hit_insert(st, hit, eb);
}

/*
 * The HIT intent of the image's current attempt: the row with its token
 * and cost, committed before CreateHIT is called.  *paused when the HIT
 * would pass the budget (the image is PAUSED then, nothing recorded).
 */
static int
post_intent(struct run_ctx *ctx, struct image_rec *im, struct hit_rec *h,
	    bool *paused, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	int64_t committed = 0, cost;
	size_t have = 0, valid = 0;
	int need;

	*paused = false;
	if (stage_answers(ctx, im, &have, &valid, eb) != IF_OK)
		return eb->code;
	need = exp->hit.workers - (int)have;
	if (need < 1)
		need = 1;
	cost = (int64_t)need * plan_assignment_cents(exp);
	if (store_committed_cents(ctx->st, &committed, eb) != IF_OK)
		return eb->code;
	if (exp->budget_cents >= 0 && committed + cost > exp->budget_cents) {
		char c1[24], c2[24], c3[24];

		cfg_format_money(committed, c1, sizeof(c1));
		cfg_format_money(cost, c2, sizeof(c2));
		cfg_format_money(exp->budget_cents, c3, sizeof(c3));
		*paused = true;
		return image_enter_state(
			ctx, im, IMAGE_PAUSED, NULL, NULL, eb,
			"budget: $%s committed + $%s for this HIT would pass "
			"the budget of $%s; raise budget_usd and reload",
			c1, c2, c3);
	}
	memset(h, 0, sizeof(*h));
	snprintf(h->image_id, sizeof(h->image_id), "%s", im->id);
	h->stage = im->stage;
	h->attempt = im->attempt;
	snprintf(h->annotation, sizeof(h->annotation), "%s/%s/%d", exp->name,
		 im->id, im->stage);
	if (hit_token(ctx->salt, h->annotation, h->attempt, h->token) !=
	    IF_OK)
		return err_set(eb, IF_ERUNTIME,
			       "%s: cannot compute the HIT token (SHA-256)",
			       h->annotation);
	snprintf(h->image_url, sizeof(h->image_url), "%s", im->image_url);
	h->max_assignments = need;
	h->cost_cents = cost;
	h->intent_at = run_now(ctx);
	/* Intent before action: the token is durable before the call. */
	if (state_transaction(ctx->st, write_hit_intent, h, eb) != IF_OK)
		return eb->code;
	run_crash_point(ctx, "HIT intent recorded");
	return IF_OK;
}

/*
 * CreateHIT for the intent h (or, past the token's trust, the HIT found
 * by its annotation) into *mh.  A failure is dealt with (failure.c) and
 * *dealt set; the return value is then that decision's.
 */
static int
post_create(struct run_ctx *ctx, struct image_rec *im, const struct hit_rec *h,
	    struct mturk_hit *mh, bool *recovered, bool *dealt,
	    struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	const struct exp_hit *eh = &exp->hit;
	struct errbuf cause = {0};
	struct mturk_hosted fresh;
	struct buf question;
	char hit_type[ID_MAX];
	bool found = false;
	int rc;

	*dealt = true;
	*recovered = false;
	memset(mh, 0, sizeof(*mh));
	if (run_now(ctx) - h->intent_at > TOKEN_TRUST_SECONDS) {
		/* The token may be forgotten by now: look for the HIT first. */
		ctx->api_calls++;
		run_pass_unlock(ctx);
		rc = mturk_find_hit_by_annotation(run_client(ctx),
						  h->annotation, mh, &found,
						  &cause);
		run_pass_lock(ctx);
		if (rc != IF_OK)
			return image_remote_failed(ctx, im, "ListHITs",
						   CLIENT_FAULT(ctx),
						   SCOPE_EXPERIMENT, &cause,
						   eb);
		if (found) {
			log_info("%s/%s/%d: found HIT %s by its annotation",
				 exp->name, im->id, im->stage, mh->hit_id);
			*dealt = false;
			return IF_OK;
		}
	}
	rc = mturk_image_host_url(run_host(ctx), im->object_key,
				  eh->lifetime * (1 + eh->max_extensions) +
					  eh->assignment_duration,
				  &fresh, &cause);
	if (rc != IF_OK)
		return image_retry_later(ctx, im, "signing the image URL",
					 &cause, eb);
	buf_init(&question, 0);
	rc = task_question(ctx, im, fresh.url, &question, &cause);
	secure_zero(&fresh, sizeof(fresh));
	if (rc != IF_OK) {
		buf_cleanup(&question);
		return image_fail(ctx, im, "building the task page", &cause,
				  eb);
	}
	if (ctx->sim != NULL &&
	    (rc = sim_tell_stage0(ctx, im, eb)) != IF_OK) {
		buf_cleanup(&question);
		return rc;
	}
	ctx->api_calls++;
	mturk_client_fault_reset(run_client(ctx));
	/* The cache is the run's: read under the lock, before letting go. */
	snprintf(hit_type, sizeof(hit_type), "%s",
		 ctx->hit_type[im->stage - 1]);
	run_pass_unlock(ctx);
	rc = mturk_create_hit(run_client(ctx), hit_type, question.data,
			      eh->lifetime, h->max_assignments, h->annotation,
			      h->token, mh, recovered, &cause);
	run_pass_lock(ctx);
	buf_cleanup(&question);
	run_crash_point(ctx, "after CreateHIT");
	/*
	 * A HIT inherits its qualification requirements from the HIT type: a
	 * refusal that names one is the experiment's (hit.qualifications),
	 * not this image's.
	 */
	if (rc != IF_OK)
		return image_remote_failed(
			ctx, im, "CreateHIT", CLIENT_FAULT(ctx),
			mturk_error_is_qualification_refusal(CLIENT_ERROR(ctx))
				? SCOPE_EXPERIMENT
				: SCOPE_IMAGE,
			&cause, eb);
	*dealt = false;
	return IF_OK;
}

static int
step_post(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	struct errbuf cause = {0};
	struct hit_rec h;
	struct mturk_hit mh;
	bool recovered = false, have_hit = false, paused = false;
	bool dealt = false;
	int rc;

	if (store_hit_get(ctx->st, im->id, im->stage, im->attempt, &h,
			  &have_hit, eb) != IF_OK)
		return eb->code;
	if (!have_hit) {
		if ((rc = post_intent(ctx, im, &h, &paused, eb)) != IF_OK ||
		    paused)
			return rc;
	}
	if (h.hit_id[0] != '\0')
		/* Created before a crash, recorded, but not yet moved on. */
		return image_enter_state(ctx, im, IMAGE_WAIT, NULL, NULL, eb,
					 "HIT %s (recorded)", h.hit_id);
	mturk_client_fault_reset(run_client(ctx));
	if ((rc = stage_setup(ctx, im->stage, &cause, eb)) != IF_OK)
		return err_isset(eb)
			       ? rc
			       : image_remote_failed(ctx, im,
						     "preparing the HIT type",
						     CLIENT_FAULT(ctx),
						     SCOPE_EXPERIMENT, &cause,
						     eb);
	rc = post_create(ctx, im, &h, &mh, &recovered, &dealt, eb);
	if (dealt)
		return rc;
	snprintf(h.hit_id, sizeof(h.hit_id), "%s", mh.hit_id);
	snprintf(h.hit_type_id, sizeof(h.hit_type_id), "%s", mh.hit_type_id);
	h.created_at = mh.creation_time > 0 ? (int64_t)mh.creation_time
					    : run_now(ctx);
	h.expires_at = mh.expiration > 0
			       ? (int64_t)mh.expiration
			       : run_now(ctx) + ctx->exp->hit.lifetime;
	im->next_at = run_now(ctx);
	return image_enter_state(ctx, im, IMAGE_WAIT, store_hit_write, &h, eb,
				 "HIT %s%s", h.hit_id,
				 recovered ? " (recovered by its token)" : "");
}

static int
hit_vanished(struct run_ctx *ctx, struct image_rec *im, struct hit_rec *h,
	     const struct errbuf *cause, struct errbuf *eb)
{
	/*
	 * The service no longer knows the HIT (deleted by an operator, or a
	 * restarted embedded simulator).  The answers recorded so far stay;
	 * a new attempt asks for the ones still missing, with a fresh stage
	 * image since the old one may be gone with it.
	 */
	log_warnx("%s/%s/%d: HIT %s is gone (%s); posting a new one for the "
		  "missing answers",
		  ctx->exp->name, im->id, im->stage, h->hit_id, cause->msg);
	h->closed = HIT_REVIEWED; /* gone: not in any list to leave */
	im->attempt++;
	im->image_url[0] = '\0';
	im->object_key[0] = '\0';
	im->next_at = 0;
	return image_enter_state(ctx, im, IMAGE_RENDER, store_hit_write, h, eb,
				 "HIT %s vanished; attempt %d", h->hit_id,
				 im->attempt);
}

/* ---- WAIT --------------------------------------------------------------- */

/* What the service says of an assignment it lists, as the state keeps it. */
static enum approval
approval_of_status(const char *status)
{
	/* An approved-by-us assignment seen again keeps its record. */
	if (strcmp(status, "Submitted") == 0)
		return APPROVAL_PENDING;
	if (strcmp(status, "Approved") == 0)
		return APPROVAL_APPROVED;
	return APPROVAL_REJECTED;
}

struct answers_write {
	const struct run_ctx *ctx;
	const struct image_rec *im;
	const struct exp_image *ei;
	const struct mturk_assignment *as;
	size_t n;
};

/* Records the listed assignments not seen before, with parsed boxes. */
static int
write_answers(struct state *st, void *arg, struct errbuf *eb)
{
	const struct answers_write *w = arg;
	const struct image_rec *im = w->im;
	const char *name = w->ctx->exp->name;
	int rc = IF_OK;

	for (size_t i = 0; i < w->n && rc == IF_OK; i++) {
		const struct mturk_assignment *as = &w->as[i];
		struct assignment_rec rec;
		struct errbuf why = {0};
		struct parsed_answer pa;
		bool inserted = false;

		memset(&rec, 0, sizeof(rec));
		snprintf(rec.assignment_id, sizeof(rec.assignment_id), "%s",
			 as->assignment_id);
		snprintf(rec.worker_id, sizeof(rec.worker_id), "%s",
			 as->worker_id);
		snprintf(rec.hit_id, sizeof(rec.hit_id), "%s", as->hit_id);
		snprintf(rec.image_id, sizeof(rec.image_id), "%s", im->id);
		rec.stage = im->stage;
		rec.submit_time = (int64_t)as->submit_time;
		rec.accept_time = (int64_t)as->accept_time;
		/* Isolated by the listing (issue 15): never approved. */
		if (as->answer_too_large)
			err_set(&why, IF_EINPUT, "answer too large to read");
		if (!as->answer_too_large &&
		    answer_to_record(as->answer, w->ei->width, w->ei->height,
				     &pa, &why) == IF_OK) {
			rec.valid = 1;
			rec.boxes = pa.boxes_json;
			snprintf(rec.face_found, sizeof(rec.face_found), "%s",
				 pa.face_found);
			rec.feedback = pa.feedback;
		} else {
			rec.valid = 0;
			rec.boxes = NULL;
			snprintf(rec.invalid_reason, sizeof(rec.invalid_reason),
				 "%.250s", why.msg);
		}
		rec.approval = approval_of_status(as->status);
		rc = store_assignment_insert(st, &rec, &inserted, eb);
		/* A summary: the boxes stay in the state (issue 15). */
		if (rc == IF_OK && inserted && rec.valid)
			log_info("%s/%s/%d: assignment %s by %s: %zu boxes "
				 "over %.1f%% of the image",
				 name, im->id, im->stage, rec.assignment_id,
				 rec.worker_id, pa.nboxes,
				 100.0 * pa.union_share);
		else if (rc == IF_OK && inserted)
			log_warnx("%s/%s/%d: assignment %s by %s is not "
				  "usable: %s",
				  name, im->id, im->stage, rec.assignment_id,
				  rec.worker_id, rec.invalid_reason);
		if (rec.valid)
			parsed_answer_cleanup(&pa);
	}
	return rc;
}

static int
record_assignments(struct run_ctx *ctx, const struct image_rec *im,
		   const struct mturk_assignment *as, size_t n,
		   struct errbuf *eb)
{
	struct answers_write w = {ctx, im, exp_image_of(ctx, im), as, n};

	if (w.ei == NULL)
		return err_set(eb, IF_EINPUT, "image %s left the experiment",
			       im->id);
	return state_transaction(ctx->st, write_answers, &w, eb);
}

struct settle_write {
	const struct assignment_rec *a;
	size_t n;
	const enum approval *settled; /* PENDING: left as it is */
	const unsigned char *granted;
	int stage;
	int64_t now;
};

static int
write_settlement(struct state *st, void *arg, struct errbuf *eb)
{
	const struct settle_write *w = arg;

	for (size_t i = 0; i < w->n; i++) {
		const struct assignment_rec *a = &w->a[i];

		if (w->settled[i] != APPROVAL_PENDING &&
		    store_assignment_set_approval(st, a->assignment_id,
						  a->worker_id, w->settled[i],
						  eb) != IF_OK)
			return eb->code;
		if (!w->granted[i])
			continue;
		if (store_grant_put(st, a->worker_id, w->stage, w->now, eb) !=
			    IF_OK ||
		    store_assignment_set_granted(st, a->assignment_id,
						 a->worker_id, eb) != IF_OK)
			return eb->code;
	}
	return IF_OK;
}

/*
 * What an ApproveAssignment of the batch came to: *settled gets what the
 * state records.  Rejected outside the daemon counts as settled (its
 * answer counts, no approval is tried again); *never when approve can
 * never succeed from the state the read-back saw.
 */
static int
approve_outcome(struct run_ctx *ctx, const struct image_rec *im,
		const struct assignment_rec *a, struct mturk_settle *it,
		enum approval *settled, bool *never, struct errbuf *cause)
{
	/* a->stage: a finished stage's approvals follow its next HIT. */
	if (it->rc == IF_OK) {
		*settled = APPROVAL_APPROVED;
		return IF_OK;
	}
	if (strcmp(it->status, "Rejected") == 0) {
		/* Settled outside the daemon: say so, go on. */
		log_warnx("%s/%s/%d: assignment %s by %s was rejected outside "
			  "the daemon; its answer counts, no approval is tried "
			  "again: %s",
			  ctx->exp->name, im->id, a->stage, a->assignment_id,
			  a->worker_id, it->eb.msg);
		*settled = APPROVAL_REJECTED;
		return IF_OK;
	}
	/* Approve never succeeds from there. */
	if (it->status[0] != '\0' && strcmp(it->status, "Submitted") != 0)
		*never = true;
	*settled = APPROVAL_PENDING;
	err_set(cause, it->rc, "%s", it->eb.msg);
	return it->rc;
}

/* The remote calls of a settlement, and which assignment each is for. */
struct settle_calls {
	struct mturk_settle *items;
	size_t *of;
	size_t n;
};

/*
 * Approves (approve: auto, when approve) and grants the stage
 * qualification (exclusive_stages, when grant) for every recorded
 * assignment of the image's stage that still needs it: the calls at once
 * (mturk_settle_many, issue 19), then one transaction for what they did.
 * A failure leaves its assignment for the next poll; the first failure is
 * returned, with its fault in *fault.
 */
static int
settle_assignments(struct run_ctx *ctx, const struct image_rec *im,
		   int stage, bool approve, bool grant, bool *never,
		   enum mturk_fault *fault, struct errbuf *cause,
		   struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	bool auto_ok = exp->hit.approve == EXP_APPROVE_AUTO;
	struct assignment_rec *a = NULL;
	enum approval *settled = NULL;
	unsigned char *granted = NULL;
	struct settle_calls sc = {NULL, NULL, 0};
	char qual[ID_MAX];
	size_t n = 0;
	int rc = IF_OK, wrc = IF_OK;

	*never = false;
	*fault = MTURK_FAULT_NONE;
	/* The run's cache, read under the lock (pool.c). */
	snprintf(qual, sizeof(qual), "%s",
		 ctx->qual_type[exp_qual_slot(exp, stage) - 1]);
	if (store_assignments_for(ctx->st, im->id, stage, &a, &n, eb) != IF_OK)
		return eb->code;
	settled = calloc(n + 1, sizeof(*settled));
	granted = calloc(n + 1, 1);
	sc.items = calloc(2 * n + 1, sizeof(*sc.items));
	sc.of = calloc(2 * n + 1, sizeof(*sc.of));
	if (settled == NULL || granted == NULL || sc.items == NULL ||
	    sc.of == NULL) {
		wrc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	/* What each assignment still needs. */
	for (size_t i = 0; i < n; i++) {
		if (approve && a[i].approval == APPROVAL_PENDING) {
			settled[i] = APPROVAL_MANUAL;
			if (auto_ok && a[i].valid) {
				sc.items[sc.n].kind = MTURK_SETTLE_APPROVE;
				sc.items[sc.n].id = a[i].assignment_id;
				sc.of[sc.n++] = i;
			}
		}
		if (grant && exp->hit.exclusive_stages && !a[i].granted) {
			bool had = false;

			if (store_grant_get(ctx->st, a[i].worker_id, stage,
					    &had, eb) != IF_OK) {
				wrc = eb->code;
				goto out;
			}
			granted[i] = had;
			if (!had) {
				sc.items[sc.n].kind = MTURK_SETTLE_GRANT;
				sc.items[sc.n].id = qual;
				sc.items[sc.n].worker_id = a[i].worker_id;
				sc.items[sc.n].value = 1;
				sc.of[sc.n++] = i;
			}
		}
	}
	/*
	 * The remote calls first, then one transaction for what they did: a
	 * crash in between only repeats calls that are safe to repeat (a
	 * second approve is recognised as done, a grant is idempotent).
	 */
	if (sc.n > 0) {
		ctx->api_calls += sc.n;
		run_pass_unlock(ctx);
		wrc = mturk_settle_many(run_client(ctx), sc.items, sc.n, eb);
		run_pass_lock(ctx);
		if (wrc != IF_OK)
			goto out;
	}
	for (size_t k = 0; k < sc.n; k++) {
		struct mturk_settle *it = &sc.items[k];
		struct errbuf why = {0};
		size_t i = sc.of[k];
		bool cannot = false;
		int krc;

		if (it->kind == MTURK_SETTLE_APPROVE) {
			run_crash_point(ctx, "after ApproveAssignment");
			krc = approve_outcome(ctx, im, &a[i], it, &settled[i],
					      &cannot, &why);
		} else {
			run_crash_point(ctx, "after AssociateQualification");
			krc = it->rc;
			if (krc == IF_OK)
				granted[i] = 1;
			else
				err_set(&why, krc, "%s", it->eb.msg);
		}
		/* The first failure is the one reported. */
		if (krc != IF_OK && rc == IF_OK) {
			rc = krc;
			*fault = it->fault;
			*never = cannot;
			err_set(cause, why.code, "%s", why.msg);
		}
	}
	if (wrc == IF_OK) {
		struct settle_write w = {a, n, settled, granted, stage,
					 run_now(ctx)};
		wrc = state_transaction(ctx->st, write_settlement, &w, eb);
	}
out:
	free(settled);
	free(granted);
	free(sc.items);
	free(sc.of);
	assignment_recs_free(a, n);
	if (wrc != IF_OK)
		return wrc; /* our own state failed */
	return rc;
}

/*
 * The approvals of a finished stage (stage < im->stage), which follow its
 * next HIT: in the pass that finished it (images_advance_due), or, after
 * a crash or a passing failure, before the next stage's step.  *dealt
 * when a failure was dealt with (failure.c): the step ends there.
 */
static int
settle_earlier(struct run_ctx *ctx, struct image_rec *im, int stage,
	       bool *dealt, struct errbuf *eb)
{
	struct errbuf cause = {0};
	enum mturk_fault fault = MTURK_FAULT_NONE;
	bool never = false;
	int rc;

	*dealt = false;
	rc = settle_assignments(ctx, im, stage, true, false, &never, &fault,
				&cause, eb);
	if (rc == IF_OK || err_isset(eb))
		return rc;
	*dealt = true;
	return image_remote_failed(ctx, im, "approving",
				   never ? MTURK_FAULT_REQUEST : fault,
				   SCOPE_SETTLEMENT, &cause, eb);
}

struct stage_write {
	const struct image_rec *im;
	const struct hit_rec *h;
	int window;
	const char *json;
	int assignments;
	int64_t now;
};

static int
write_stage_result(struct state *st, void *arg, struct errbuf *eb)
{
	const struct stage_write *w = arg;

	if (store_stage_result_put(st, w->im->id, w->im->stage, w->window,
				   w->json, w->assignments, w->now,
				   eb) != IF_OK)
		return eb->code;
	return store_hit_update(st, w->h, eb);
}

/*
 * Aggregates the stage and moves on to the next stage or the final image;
 * then, when review says the HIT should be Reviewable (all its answers
 * are in, or it has expired), moves it out of the Reviewable list.
 */
static int
finish_stage(struct run_ctx *ctx, struct image_rec *im, struct hit_rec *h,
	     const char *note, bool review, struct errbuf *eb)
{
	const struct exp_image *ei = exp_image_of(ctx, im);
	struct assignment_rec *a = NULL;
	struct box *boxes = NULL;
	struct stage_write w;
	size_t n = 0, nboxes = 0;
	char *json = NULL;
	double share;
	int stage = im->stage, rc;

	if (ei == NULL)
		return err_set(eb, IF_EINPUT, "image %s left the experiment",
			       im->id);
	if (store_assignments_for(ctx->st, im->id, im->stage, &a, &n, eb) !=
	    IF_OK)
		return eb->code;
	rc = aggregate_boxes((int)ctx->exp->aggregate, a, n, ei->width,
			     ei->height, &boxes, &nboxes, eb);
	assignment_recs_free(a, n);
	if (rc == IF_OK)
		rc = boxes_to_json(boxes, nboxes, &json, eb);
	share = box_coverage(&(struct box){0, 0, ei->width, ei->height},
			     boxes, nboxes);
	free(boxes);
	if (rc != IF_OK)
		return rc;
	h->closed = HIT_CLOSED; /* the intent of hit_review() */
	w = (struct stage_write){im, h,
				 run_exp_window(ctx, im->id, (size_t)stage),
				 json, (int)n, run_now(ctx)};
	/* The image row written is the next stage's; w.im reads it first. */
	{
		struct image_rec next = *im;

		next.stage++;
		next.attempt = 1;
		next.image_url[0] = '\0';
		next.object_key[0] = '\0';
		next.url_expires = 0;
		next.next_at = 0;
		rc = image_enter_state(ctx, &next,
				       (size_t)next.stage <= ctx->exp->nstages
					       ? IMAGE_RENDER
					       : IMAGE_FINAL,
				       write_stage_result, &w, eb, NULL);
		if (rc != IF_OK) {
			h->closed = HIT_OPEN;
			free(json);
			return rc;
		}
		*im = next;
	}
	log_info("%s/%s/%d: window %d done, %zu boxes over %.1f%% of the "
		 "image%s%s",
		 ctx->exp->name, im->id, stage,
		 run_exp_window(ctx, im->id, (size_t)stage), nboxes,
		 100.0 * share, note != NULL ? "; " : "",
		 note != NULL ? note : "");
	free(json);
	if (!review)
		return IF_OK;
	return hit_review(ctx, h, false, eb);
}

struct image_hit_write {
	const struct image_rec *im;
	const struct hit_rec *h;
};

static int
write_image_and_hit(struct state *st, void *arg, struct errbuf *eb)
{
	const struct image_hit_write *w = arg;

	if (store_hit_update(st, w->h, eb) != IF_OK)
		return eb->code;
	return store_image_update(st, w->im, eb);
}

/*
 * Near the HIT's expiry without enough answers: extend it, or, when its
 * extensions are spent or refused, go on with the answers there are or
 * fail the image.  *decided when the step ends here (its status in the
 * return value); otherwise the caller saves the image for the next poll.
 */
static int
wait_near_expiry(struct run_ctx *ctx, struct image_rec *im, struct hit_rec *h,
		 size_t have, size_t valid, bool *decided, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct errbuf cause = {0};
	bool refused = h->extension_refused[0] != '\0';
	int64_t now = run_now(ctx);
	int rc;

	*decided = false;
	if (h->extensions < exp->hit.max_extensions && !refused) {
		int64_t until = now + exp->hit.lifetime;
		enum mturk_fault fault;

		ctx->api_calls++;
		run_pass_unlock(ctx);
		rc = mturk_update_expiration(run_client(ctx), h->hit_id, until,
					     &cause);
		run_pass_lock(ctx);
		run_crash_point(ctx, "after UpdateExpirationForHIT");
		fault = CLIENT_FAULT(ctx);
		if (rc != IF_OK && fault != MTURK_FAULT_REQUEST) {
			*decided = true;
			return image_remote_failed(ctx, im,
						   "UpdateExpirationForHIT",
						   fault, SCOPE_IMAGE, &cause,
						   eb);
		}
		if (rc != IF_OK) {
			/*
			 * Refused for this HIT (too old, say): no more time,
			 * so the HIT ends as if its extensions were spent;
			 * kept in the HIT row so that it is not asked again,
			 * and in the image's error so that status shows it.
			 */
			image_note_error(ctx, im,
					 "UpdateExpirationForHIT refused",
					 &cause);
			snprintf(h->extension_refused,
				 sizeof(h->extension_refused), "%.400s",
				 cause.msg);
			log_warnx("%s/%s/%d: HIT %s cannot be extended, so it "
				  "ends with %zu of %d answers: %s",
				  exp->name, im->id, im->stage, h->hit_id, have,
				  exp->hit.workers, cause.msg);
			refused = true;
		}
	}
	if (!refused && h->extensions < exp->hit.max_extensions) {
		h->expires_at = now + exp->hit.lifetime;
		h->extensions++;
		log_info("%s/%s/%d: HIT %s extended (%d of %d) with %zu of %d "
			 "answers",
			 exp->name, im->id, im->stage, h->hit_id, h->extensions,
			 exp->hit.max_extensions, have, exp->hit.workers);
		return state_transaction(ctx->st, store_hit_write, h, eb);
	}
	if (valid > 0) {
		char note[600];

		if (refused)
			snprintf(note, sizeof(note),
				 "HIT not extended (%.400s), %zu of %d answers",
				 h->extension_refused, have, exp->hit.workers);
		else
			snprintf(note, sizeof(note),
				 "HIT expired with %zu of %d answers", have,
				 exp->hit.workers);
		*decided = true;
		return finish_stage(ctx, im, h, note, now >= h->expires_at, eb);
	}
	if (now < h->expires_at)
		return IF_OK;
	/* Done with the HIT too: out of the Reviewable list. */
	*decided = true;
	h->closed = HIT_CLOSED;
	if (refused)
		rc = image_enter_state(ctx, im, IMAGE_FAILED, store_hit_write,
				       h, eb,
				       "HIT %s expired without a usable answer "
				       "and could not be extended (%.400s)",
				       h->hit_id, h->extension_refused);
	else
		rc = image_enter_state(ctx, im, IMAGE_FAILED, store_hit_write,
				       h, eb,
				       "HIT %s expired without a usable answer "
				       "after %d extensions",
				       h->hit_id, h->extensions);
	if (rc != IF_OK)
		return rc;
	return hit_review(ctx, h, false, eb);
}

static int
step_wait(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct errbuf cause = {0};
	struct mturk_assignment *as = NULL;
	struct hit_rec h;
	char refused_before[sizeof(h.extension_refused)];
	size_t n = 0, have = 0, valid = 0;
	int64_t now;
	bool never = false, have_hit = false, decided = false, dealt = false;
	enum mturk_fault fault = MTURK_FAULT_NONE;
	bool complete;
	int rc;

	if (im->stage > 1 &&
	    ((rc = settle_earlier(ctx, im, im->stage - 1, &dealt, eb)) !=
		     IF_OK ||
	     dealt))
		return rc;
	if (store_hit_get(ctx->st, im->id, im->stage, im->attempt, &h,
			  &have_hit, eb) != IF_OK)
		return eb->code;
	if (!have_hit)
		return err_set(eb, IF_ERUNTIME,
			       "%s/%s/%d: waiting without a HIT row "
			       "(attempt %d)",
			       exp->name, im->id, im->stage, im->attempt);
	ctx->api_calls++;
	run_pass_unlock(ctx);
	rc = mturk_list_assignments(run_client(ctx), h.hit_id, 0, &as, &n,
				    &cause);
	run_pass_lock(ctx);
	if (rc != IF_OK) {
		if (rc != IF_ETEMP &&
		    mturk_error_is_hit_gone(CLIENT_ERROR(ctx)))
			return hit_vanished(ctx, im, &h, &cause, eb);
		return image_remote_failed(ctx, im, "ListAssignmentsForHIT",
					   CLIENT_FAULT(ctx), SCOPE_IMAGE,
					   &cause, eb);
	}
	run_crash_point(ctx, "after ListAssignmentsForHIT");
	rc = record_assignments(ctx, im, as, n, eb);
	mturk_assignments_free(as, n);
	if (rc != IF_OK)
		return rc;
	run_crash_point(ctx, "assignments recorded");
	/* After a restart the stage's qualification type is not known yet. */
	if (exp->hit.exclusive_stages &&
	    ctx->qual_type[exp_qual_slot(exp, im->stage) - 1][0] == '\0' &&
	    (rc = stage_setup(ctx, im->stage, &cause, eb)) != IF_OK)
		return err_isset(eb)
			       ? rc
			       : image_remote_failed(ctx, im,
						     "preparing the HIT type",
						     CLIENT_FAULT(ctx),
						     SCOPE_EXPERIMENT, &cause,
						     eb);
	if (stage_answers(ctx, im, &have, &valid, eb) != IF_OK)
		return eb->code;
	/*
	 * With every answer in, the grants (which must precede the next
	 * stage's HIT) are all that is settled here; the approvals follow
	 * the next HIT (images_advance_due).  The last stage has no next
	 * HIT: its approvals come with its grants, as before.
	 */
	complete = have >= (size_t)exp->hit.workers;
	rc = settle_assignments(ctx, im, im->stage,
				!complete ||
					(size_t)im->stage >= exp->nstages,
				true, &never, &fault, &cause, eb);
	if (rc != IF_OK && err_isset(eb))
		return rc;
	/*
	 * An approval or grant refused for good (not the InvalidAssignmentState
	 * of a fresh submit, which passes) is a payment or an exclusion the
	 * operator must decide on; failing the image instead would waste its
	 * answers and leave its workers to MTurk's auto-approval.  So is an
	 * approval refused because the assignment is in a state approve never
	 * leaves (the read-back after InvalidAssignmentState says neither
	 * Submitted nor Approved nor Rejected): the GetAssignment succeeded, so
	 * the call's fault says nothing, and retrying would loop.  A
	 * Rejected one is settled already (settle_assignments records it).
	 */
	if (rc != IF_OK)
		return image_remote_failed(ctx, im, "approving or granting",
					   never ? MTURK_FAULT_REQUEST : fault,
					   SCOPE_SETTLEMENT, &cause, eb);
	/*
	 * A HIT this round found Reviewable leaves the list in the review
	 * sweep at the end of the pass, off the path to the next HIT.
	 */
	if (complete)
		return finish_stage(ctx, im, &h, NULL,
				    !poll_seen_reviewable(ctx, h.hit_id), eb);
	now = run_now(ctx);
	snprintf(refused_before, sizeof(refused_before), "%s",
		 h.extension_refused);
	if (now + hit_expiry_margin(exp) >= h.expires_at) {
		rc = wait_near_expiry(ctx, im, &h, have, valid, &decided, eb);
		if (rc != IF_OK || decided)
			return rc;
	}
	im->next_at = now + exp->mturk.poll_interval;
	if (im->next_at > h.expires_at && h.expires_at > now)
		im->next_at = h.expires_at;
	/* A refused extension is remembered until the HIT's end. */
	if (h.extension_refused[0] == '\0')
		image_clear_error(im);
	if (strcmp(refused_before, h.extension_refused) != 0) {
		struct image_hit_write w = {im, &h};

		im->updated_at = run_now(ctx);
		return state_transaction(ctx->st, write_image_and_hit, &w, eb);
	}
	return image_save(ctx, im, eb);
}

/* ---- FINAL, PAUSED ------------------------------------------------------ */

static int
step_final(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	struct errbuf cause = {0};
	const struct img *final = NULL;
	bool dealt = false;
	int rc;

	/* The last stage's approvals, before the image is done. */
	if ((rc = settle_earlier(ctx, im, im->stage - 1, &dealt, eb)) !=
		    IF_OK ||
	    dealt)
		return rc;
	rc = render(ctx, im, 1, (int)ctx->exp->nstages, &final, NULL, NULL,
		    &cause);
	if (rc == IF_OK)
		rc = write_outputs(ctx, im, final, &cause);
	if (rc == IF_EINPUT)
		return image_fail(ctx, im, "writing the final image", &cause,
				  eb);
	if (rc != IF_OK)
		return err_set(eb, rc, "%s/%s: %s", ctx->exp->name, im->id,
			       cause.msg);
	return image_enter_state(ctx, im, IMAGE_DONE, NULL, NULL, eb,
				 "%s/%s.jpg", ctx->exp->output_dir, im->id);
}

static int
step_paused(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	int64_t committed = 0, cost = plan_hit_cents(exp);

	if (store_committed_cents(ctx->st, &committed, eb) != IF_OK)
		return eb->code;
	if (exp->budget_cents >= 0 && committed + cost > exp->budget_cents) {
		im->next_at = run_now(ctx) + exp->mturk.poll_interval;
		return image_save(ctx, im, eb);
	}
	return image_enter_state(ctx, im, IMAGE_POST, NULL, NULL, eb,
				 "budget allows");
}

int
image_step(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	/* Each step reads the fault of its own calls only. */
	if (run_client(ctx) != NULL)
		mturk_client_fault_reset(run_client(ctx));
	switch (im->state) {
	case IMAGE_RENDER:
		return step_render(ctx, im, eb);
	case IMAGE_POST:
		return step_post(ctx, im, eb);
	case IMAGE_WAIT:
		return step_wait(ctx, im, eb);
	case IMAGE_FINAL:
		return step_final(ctx, im, eb);
	case IMAGE_PAUSED:
		return step_paused(ctx, im, eb);
	case IMAGE_DONE:
	case IMAGE_FAILED:
		break;
	}
	return IF_OK;
}

/*
 * The steps that need no one else follow one another in one pass: a
 * stage whose answers are in goes through aggregation, rendering, hosting
 * and CreateHIT without waiting for the next pass (issue 19).  The chain
 * ends where the image waits for someone (WAIT for workers, PAUSED for
 * the operator), is final, or was scheduled later (a retry after a
 * passing failure); a step that changes nothing ends it too.
 */
#define ADVANCE_STEPS_MAX 8

int
image_advance(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	for (int i = 0; i < ADVANCE_STEPS_MAX; i++) {
		enum image_state from = im->state;
		int stage = im->stage, attempt = im->attempt;

		if (image_step(ctx, im, eb) != IF_OK)
			return eb->code;
		if (im->state == from && im->stage == stage &&
		    im->attempt == attempt)
			return IF_OK;
		if (im->state != IMAGE_RENDER && im->state != IMAGE_POST &&
		    im->state != IMAGE_FINAL)
			return IF_OK;
		if (im->next_at > run_now(ctx) || loop_stop_requested())
			return IF_OK;
	}
	return IF_OK;
}

/*
 * The approvals of the stages a pass finished, once every next HIT is
 * out.  An image that failed on its way on leaves a failed approval to
 * MTurk's auto-approval (the log says so); any other passing failure is
 * retried before the image's next step (settle_earlier).
 */
static int
approve_finished(struct run_ctx *ctx, struct image_rec *im, int stage,
		 struct errbuf *eb)
{
	struct errbuf cause = {0};
	enum mturk_fault fault = MTURK_FAULT_NONE;
	bool never = false, dealt = false;
	int rc;

	if (im->state != IMAGE_FAILED)
		return settle_earlier(ctx, im, stage, &dealt, eb);
	rc = settle_assignments(ctx, im, stage, true, false, &never, &fault,
				&cause, eb);
	if (rc != IF_OK && err_isset(eb))
		return rc;
	if (rc != IF_OK)
		log_warnx("%s/%s/%d: approving the answers of the failed "
			  "image failed; MTurk approves them after the HIT "
			  "type's auto-approval delay: %s",
			  ctx->exp->name, im->id, stage, cause.msg);
	return IF_OK;
}

/* A round of a pass: its images, and the stages they were at before it. */
struct pass_round {
	struct image_rec **items;
	const struct image_rec *list;
	const int *was;
};

static int
job_step(struct run_ctx *ctx, size_t i, void *arg, struct errbuf *eb)
{
	return image_step(ctx, ((struct pass_round *)arg)->items[i], eb);
}

static int
job_advance(struct run_ctx *ctx, size_t i, void *arg, struct errbuf *eb)
{
	return image_advance(ctx, ((struct pass_round *)arg)->items[i], eb);
}

static int
job_approve(struct run_ctx *ctx, size_t i, void *arg, struct errbuf *eb)
{
	const struct pass_round *r = arg;
	struct image_rec *im = r->items[i];

	return approve_finished(ctx, im, r->was[im - r->list], eb);
}

/*
 * Every due image, in three rounds: first the WAIT images read their
 * answers and grant their stage qualifications, then every image that
 * can goes on to its next HIT, then the stages finished this pass are
 * approved.  So a worker whose answer this pass read, for any image, is
 * kept out of the next stage's HITs this pass creates, and no approval
 * delays a next HIT.  Within a round the images' steps go at once on
 * the run's pool (pool.c), when it has one.
 */
int
images_advance_due(struct run_ctx *ctx, struct image_rec *list, size_t n,
		   int64_t now, struct errbuf *eb)
{
	int *was = calloc(n + 1, sizeof(*was));
	struct image_rec **items = calloc(n + 1, sizeof(*items));
	struct pass_round r = {items, list, was};
	size_t k;
	int rc = IF_OK;

	if (was == NULL || items == NULL) {
		free(was);
		free(items);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		was[i] = list[i].stage;
	for (int round = 0; round < 2 && rc == IF_OK; round++) {
		k = 0;
		for (size_t i = 0; i < n; i++) {
			struct image_rec *im = &list[i];

			if (im->state == IMAGE_DONE ||
			    im->state == IMAGE_FAILED || im->next_at > now ||
			    (im->state == IMAGE_WAIT) != (round == 0))
				continue;
			items[k++] = im;
		}
		rc = run_pool_each(ctx, k, round == 0 ? job_step : job_advance,
				   &r, eb);
	}
	k = 0;
	for (size_t i = 0; i < n && rc == IF_OK; i++)
		if (list[i].stage != was[i])
			items[k++] = &list[i];
	if (rc == IF_OK)
		rc = run_pool_each(ctx, k, job_approve, &r, eb);
	free(was);
	free(items);
	return rc;
}
