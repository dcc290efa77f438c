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
 * image_enter_state(), which writes the row in the transaction the step
 * opened, commits, and logs "old -> new": one place, so the journal and the
 * state can never disagree.
 *
 * Intent before action: the HIT row with its UniqueRequestToken is
 * committed before CreateHIT, and each assignment with its parsed boxes
 * before ApproveAssignment.  After kill -9 the step simply runs again: a
 * repeated CreateHIT with the same token returns the same HIT, a recorded
 * assignment is not recorded twice, and an approval that already happened
 * counts as success; so does one the operator refused by rejecting the
 * assignment by hand, recorded as rejected (the same read-back answers the
 * same after a crash, so nothing is approved twice or lost).  Tokens expire after 24 hours at MTurk, so an intent
 * older than that first searches ListHITs for its RequesterAnnotation.
 *
 * WAIT polls only the HITs the poll round (poll.c) found Reviewable, or
 * close to their expiry.  Once a stage is aggregated its HIT is marked
 * closed (in the transition's transaction: the intent) and then moved to
 * Reviewing with UpdateHITReviewStatus, so that MTurk's Reviewable list,
 * which every round reads, holds only HITs not dealt with yet; a repeat
 * after a crash finds the HIT Reviewing already and counts as done.
 * Manual approval changes nothing here: ApproveAssignment and MTurk's
 * auto-approval work on a Reviewing HIT's assignments as well, and
 * Reviewing is what the status means ("the requester is reviewing it"):
 * the operator finds them with ListReviewableHITs Status=Reviewing.
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
 * A step that failed for a passing reason is retried after 15 s, then 30,
 * 60, ... up to 15 minutes between attempts (each with "equal jitter", so
 * that images failing together do not retry together).
 */
#define RETRY_FIRST_SECONDS 15
#define RETRY_CAP_SECONDS 900
/* A HIT this close to its expiry without enough answers is extended. */
#define EXPIRY_MARGIN_SECONDS 60
/* im->error's prefix when this HIT's UpdateExpirationForHIT was refused. */
#define EXTENSION_REFUSED "UpdateExpirationForHIT refused"

/*
 * Test hook for the kill -9 suites (tests/e2e/t0610-crash.sh): with
 * INTOFOCUS_TEST_CRASH_AT=N in the environment, the daemon kills itself
 * with SIGKILL at the N-th crash point - after each committed transition
 * (named by the new state) and right after each remote action, before its
 * result is recorded, the two kinds of instant that recovery must survive.
 * INTOFOCUS_TEST_CRASH_LABEL=NAME counts only the points of that name.
 * Unset, it costs one comparison.
 */
static void
crash_point(struct run_ctx *ctx, const char *where)
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

static int64_t
now_s(const struct run_ctx *ctx)
{
	return ctx->now(ctx->now_arg);
}

void
hit_token(const char *salt, const char *annotation, int attempt, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char input[512];

	snprintf(input, sizeof(input), "%s\n%s\n%d", salt, annotation, attempt);
	EVP_Digest(input, strlen(input), md, &mdlen, EVP_sha256(), NULL);
	hex_encode(md, 20, out);
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
	snprintf(now, sizeof(now), "%lld", (long long)now_s(ctx));
	return state_meta_set(ctx->st, "halt_restarted_at", now, eb);
}

/*
 * The one place where an image changes state.  The caller has opened a
 * transaction (state_begin) and written whatever goes with the change; this
 * writes the image row, commits, and logs.  reason may be NULL.
 */
static int
image_enter_state(struct run_ctx *ctx, struct image_rec *im,
		  enum image_state to, struct errbuf *eb, const char *reason,
		  ...) __attribute__((format(printf, 5, 6)));

static int
image_enter_state(struct run_ctx *ctx, struct image_rec *im,
		  enum image_state to, struct errbuf *eb, const char *reason,
		  ...)
{
	enum image_state from = im->state;
	va_list ap;

	im->state = to;
	im->updated_at = now_s(ctx);
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
	/* Progress: a stop of an earlier run (run_halt) is over. */
	if (!ctx->halt_cleared && to != IMAGE_FAILED &&
	    state_meta_set(ctx->st, "halt_at", "", eb) != IF_OK) {
		state_rollback(ctx->st);
		im->state = from;
		return eb->code;
	}
	if (store_image_update(ctx->st, im, eb) != IF_OK ||
	    state_commit(ctx->st, eb) != IF_OK) {
		state_rollback(ctx->st);
		im->state = from;
		return eb->code;
	}
	if (to != IMAGE_FAILED)
		ctx->halt_cleared = true;
	crash_point(ctx, image_state_str(to));
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

/* Saves next_at (and anything else changed in im) without a transition. */
static int
image_save(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	im->updated_at = now_s(ctx);
	return store_image_update(ctx->st, im, eb);
}

/* Moves the image to FAILED with the message of a remote failure. */
static int
image_fail(struct run_ctx *ctx, struct image_rec *im, const char *what,
	   const struct errbuf *cause, struct errbuf *eb)
{
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	return image_enter_state(ctx, im, IMAGE_FAILED, eb, "%s: %s", what,
				 cause->msg);
}

/* Notes a failure of this step in the image row (saved by the caller). */
static void
image_note_error(struct run_ctx *ctx, struct image_rec *im, const char *what,
		 const struct errbuf *cause)
{
	snprintf(im->error, sizeof(im->error), "%.100s: %.400s", what,
		 cause->msg);
	if (im->error_since == 0)
		im->error_since = now_s(ctx);
	im->retries++;
}

int64_t
stage_retry_delay(int n, uint32_t r)
{
	int64_t d = RETRY_FIRST_SECONDS;

	for (int i = 1; i < n && d < RETRY_CAP_SECONDS; i++)
		d *= 2;
	if (d > RETRY_CAP_SECONDS)
		d = RETRY_CAP_SECONDS;
	return d / 2 + (int64_t)(r % (uint32_t)(d / 2 + 1));
}

static int64_t
retry_delay(int n)
{
	uint32_t r = UINT32_MAX; /* no randomness: the longest wait */

	(void)random_bytes(&r, sizeof(r));
	return stage_retry_delay(n, r);
}

/* A passing failure: try again later, backing off, and say so. */
static int
image_retry_later(struct run_ctx *ctx, struct image_rec *im, const char *what,
		  const struct errbuf *cause, struct errbuf *eb)
{
	int64_t delay;

	image_note_error(ctx, im, what, cause);
	delay = retry_delay(im->retries);
	log_warnx("%s/%s/%d: %s failed (attempt %d), retrying in %llds: %s",
		  ctx->exp->name, im->id, im->stage, what, im->retries,
		  (long long)delay, cause->msg);
	im->next_at = now_s(ctx) + delay;
	return image_save(ctx, im, eb);
}

/*
 * Whose request failed: the image's own (its HIT, that HIT's assignments
 * and expiry), so a refusal fails that image and the others go on; or one
 * every image needs (the HIT type, the qualification types, the image
 * host's bucket) or that the operator must settle (an approval or a grant
 * refused for good), so a refusal stops the daemon rather than failing the
 * images one after another.
 */
enum failure_scope {
	SCOPE_IMAGE,
	SCOPE_EXPERIMENT,
};

/* What an operator does about a failure that will not pass by itself. */
static const char *
halt_advice(const struct run_ctx *ctx, enum mturk_fault fault,
	    const char *what, char *buf, size_t bufsz)
{
	switch (fault) {
	case MTURK_FAULT_CREDENTIALS:
		snprintf(buf, bufsz,
			 "the service refuses the credentials (from %.200s) or what "
			 "they may do: check the key pair, the session token's "
			 "expiry and the IAM policy for this endpoint",
			 ctx->creds != NULL ? ctx->creds->source : "?");
		break;
	case MTURK_FAULT_FUNDS:
		snprintf(buf, bufsz,
			 "the requester account cannot pay: add funds (\"intofocus "
			 "mturk GetAccountBalance\" shows the balance)");
		break;
	case MTURK_FAULT_SERVICE:
		snprintf(buf, bufsz,
			 "the endpoint %s cannot be used (certificate or "
			 "protocol): check mturk.endpoint and the system's CA "
			 "certificates",
			 ctx->client != NULL ? mturk_client_endpoint(ctx->client)
					     : "?");
		break;
	default:
		if (strncmp(what, "approving", 9) == 0)
			snprintf(buf, bufsz,
				 "the service refuses it for good: settle that "
				 "assignment by hand (intofocus mturk "
				 "GetAssignment, ApproveAssignment or "
				 "RejectAssignment)");
		else
			snprintf(buf, bufsz,
				 "the service refuses what every image needs: "
				 "fix %.300s (its hit or images_host settings)",
				 ctx->exp_path);
		break;
	}
	return buf;
}

/*
 * A failure no retry will mend and that is not this image's alone: stop
 * posting.  The image keeps the error (status shows it), the state says
 * when and why the daemon stopped, and the error goes up to the loop,
 * which exits 1 (under systemd, Restart=on-failure tries again later).
 * Nothing is lost: every intent and answer is committed already, and the
 * next run resumes where this one stopped.
 */
static int
run_halt(struct run_ctx *ctx, struct image_rec *im, const char *what,
	 enum mturk_fault fault, const struct errbuf *cause,
	 struct errbuf *eb)
{
	char advice[512], when[32], status[256];

	image_note_error(ctx, im, what, cause);
	im->next_at = 0; /* due at once when the daemon starts again */
	if (image_save(ctx, im, eb) != IF_OK)
		return eb->code;
	snprintf(when, sizeof(when), "%lld", (long long)now_s(ctx));
	ctx->halt_cleared = false;
	if (state_meta_set(ctx->st, "halt_at", when, eb) != IF_OK ||
	    state_meta_set(ctx->st, "halt_reason", im->error, eb) != IF_OK ||
	    state_meta_set(ctx->st, "halt_restarted_at", "", eb) != IF_OK)
		return eb->code;
	snprintf(status, sizeof(status), "stopped (%s): %.200s",
		 mturk_fault_str(fault), im->error);
	notify_status(&ctx->notify, status);
	log_warnx("%s/%s/%d: %s failed and will not pass by itself (%s); "
		  "stopping",
		  ctx->exp->name, im->id, im->stage, what,
		  mturk_fault_str(fault));
	/* cmd_run prefixes the experiment's name. */
	return err_set(eb, IF_ERUNTIME,
		       "image %s, stage %d: %s: %s; %s, then start intofocus "
		       "run again (the state keeps every HIT and answer; "
		       "nothing more is posted until then)",
		       im->id, im->stage, what, cause->msg,
		       halt_advice(ctx, fault, what, advice, sizeof(advice)));
}

/*
 * The one decision about a remote step that failed, by what the failure
 * means (mturk_error_fault): passing ones are retried with backoff; a
 * request of this image refused fails the image, with the reason, through
 * image_enter_state; account-wide ones, and refusals of what the whole
 * experiment needs, stop the daemon.  fault NONE (a failure before any
 * call) counts as passing, or as a refused request when cause says the
 * input is invalid.
 */
static int
image_remote_failed(struct run_ctx *ctx, struct image_rec *im,
		    const char *what, enum mturk_fault fault,
		    enum failure_scope scope, const struct errbuf *cause,
		    struct errbuf *eb)
{
	if (fault == MTURK_FAULT_NONE)
		fault = cause->code == IF_EINPUT ? MTURK_FAULT_REQUEST
						 : MTURK_FAULT_PASSING;
	if (mturk_fault_is_account_wide(fault) ||
	    (fault == MTURK_FAULT_REQUEST && scope == SCOPE_EXPERIMENT))
		return run_halt(ctx, im, what, fault, cause, eb);
	if (fault == MTURK_FAULT_REQUEST) {
		image_note_error(ctx, im, what, cause);
		return image_fail(ctx, im, what, cause, eb);
	}
	return image_retry_later(ctx, im, what, cause, eb);
}

/* Shorthands: the fault of the MTurk client's / the image host's last call. */
#define CLIENT_FAULT(ctx) mturk_client_fault((ctx)->client)
#define HOST_FAULT(ctx) mturk_image_host_fault((ctx)->host)

static const struct exp_image *
exp_image_of(const struct run_ctx *ctx, const struct image_rec *im)
{
	return exp_image_find(ctx->exp, im->id);
}

/*
 * Reads the original of an image into ctx's renderer and checks it is the
 * file the experiment started with.  IF_EINPUT when it changed or cannot
 * be read: that image cannot go on, the others can.  *path names it.
 */
static int
read_original(struct run_ctx *ctx, const struct image_rec *im,
	      const char **path, const void **data, size_t *len,
	      struct errbuf *eb)
{
	const struct exp_image *ei = exp_image_of(ctx, im);
	char fp[65];

	if (ei == NULL)
		return err_set(eb, IF_EINPUT,
			       "image %s is no longer in the experiment file",
			       im->id);
	/* The bytes checked are the bytes decoded: one read, no race. */
	if (img_renderer_read_file(ctx->renderer, ei->path, data, len, eb) !=
	    IF_OK)
		return eb->code;
	data_fingerprint(*data, *len, fp);
	if (strcmp(fp, im->fingerprint) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s changed since the experiment started; "
			       "restore it or give it a new image id",
			       ei->path);
	*path = ei->path;
	return IF_OK;
}

/* Every box aggregated in stages 1..upto, appended to *boxes. */
static int
boxes_through(struct run_ctx *ctx, const struct image_rec *im, int upto,
	      struct box **boxes, size_t *n, struct errbuf *eb)
{
	*boxes = NULL;
	*n = 0;
	for (int k = 1; k <= upto; k++) {
		char *json = NULL;
		struct box *b = NULL, *p;
		size_t nb = 0;
		int rc = store_stage_result_get(ctx->st, im->id, k, &json, eb);
		if (rc == 1)
			continue;
		if (rc != 0)
			goto fail;
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
 * through ctx's renderer, which keeps its buffers for the next stage and
 * image: encoded as JPEG into *jpeg when jpeg is not NULL, else the image
 * into *out.  Either belongs to the renderer until its next call.
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
		.heavy_window = exp_window(ctx->exp, im->id, 1),
	};
	struct box *boxes = NULL;
	const char *path = NULL;
	const void *data = NULL;
	size_t n = 0, dlen = 0;
	int rc;

	if (ctx->renderer == NULL &&
	    (rc = img_renderer_new(&ctx->renderer, ctx->threads, 0, eb)) !=
		    IF_OK)
		return rc;
	rc = read_original(ctx, im, &path, &data, &dlen, eb);
	if (rc == IF_OK)
		rc = boxes_through(ctx, im, boxes_upto, &boxes, &n, eb);
	spec.boxes = boxes;
	spec.n = n;
	if (rc == IF_OK && jpeg != NULL)
		rc = img_renderer_encode(ctx->renderer, data, dlen, path, &spec,
					 IMG_FORMAT_JPEG, ctx->jpeg_quality,
					 jpeg, len, eb);
	else if (rc == IF_OK)
		rc = img_renderer_image(ctx->renderer, data, dlen, path, &spec,
					out, eb);
	free(boxes);
	return rc;
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

	rc = render(ctx, im, exp_window(ctx->exp, im->id, (size_t)im->stage),
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
	rc = mturk_image_host_put(ctx->host, jpeg, len, "image/jpeg", ".jpg",
				  valid_for, &hosted, &cause);
	crash_point(ctx, "after PutObject");
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
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
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
	return image_enter_state(ctx, im, IMAGE_POST, eb, "stage image %s",
				 hosted.key);
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
step_post(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct errbuf cause = {0};
	struct hit_rec h;
	struct mturk_hit mh;
	struct buf question;
	bool recovered = false, found = false;
	int rc;

	rc = store_hit_get(ctx->st, im->id, im->stage, im->attempt, &h, eb);
	if (rc != 0 && rc != 1)
		return rc;
	if (rc == 1) {
		int64_t committed = 0, cost;
		size_t have = 0, valid = 0;
		int need;

		if (stage_answers(ctx, im, &have, &valid, eb) != IF_OK)
			return eb->code;
		need = exp->hit.workers - (int)have;
		if (need < 1)
			need = 1;
		cost = (int64_t)need *
		       (exp->hit.reward_cents +
			plan_fee_cents(exp->hit.reward_cents, exp->hit.workers,
				       plan_uses_masters(exp)));
		if (store_committed_cents(ctx->st, &committed, eb) != IF_OK)
			return eb->code;
		if (exp->budget_cents >= 0 &&
		    committed + cost > exp->budget_cents) {
			char c1[24], c2[24], c3[24];
			cfg_format_money(committed, c1, sizeof(c1));
			cfg_format_money(cost, c2, sizeof(c2));
			cfg_format_money(exp->budget_cents, c3, sizeof(c3));
			if (state_begin(ctx->st, eb) != IF_OK)
				return eb->code;
			return image_enter_state(
				ctx, im, IMAGE_PAUSED, eb,
				"budget: $%s committed + $%s for this HIT would "
				"pass the budget of $%s; raise budget_usd and "
				"reload",
				c1, c2, c3);
		}
		memset(&h, 0, sizeof(h));
		snprintf(h.image_id, sizeof(h.image_id), "%s", im->id);
		h.stage = im->stage;
		h.attempt = im->attempt;
		snprintf(h.annotation, sizeof(h.annotation), "%s/%s/%d",
			 exp->name, im->id, im->stage);
		hit_token(ctx->salt, h.annotation, h.attempt, h.token);
		snprintf(h.image_url, sizeof(h.image_url), "%s", im->image_url);
		h.max_assignments = need;
		h.cost_cents = cost;
		h.intent_at = now_s(ctx);
		/* Intent before action: the token is durable before the call. */
		if (state_begin(ctx->st, eb) != IF_OK)
			return eb->code;
		if (store_hit_insert(ctx->st, &h, eb) != IF_OK ||
		    state_commit(ctx->st, eb) != IF_OK) {
			state_rollback(ctx->st);
			return eb->code;
		}
		crash_point(ctx, "HIT intent recorded");
	}
	if (h.hit_id[0] != '\0') {
		/* Created before a crash, recorded, but not yet moved on. */
		if (state_begin(ctx->st, eb) != IF_OK)
			return eb->code;
		return image_enter_state(ctx, im, IMAGE_WAIT, eb,
					 "HIT %s (recorded)", h.hit_id);
	}
	mturk_client_fault_reset(ctx->client);
	if (stage_setup(ctx, im->stage, &cause) != IF_OK)
		return image_remote_failed(ctx, im, "preparing the HIT type",
					   CLIENT_FAULT(ctx), SCOPE_EXPERIMENT,
					   &cause, eb);
	memset(&mh, 0, sizeof(mh));
	if (now_s(ctx) - h.intent_at > TOKEN_TRUST_SECONDS) {
		/* The token may be forgotten by now: look for the HIT first. */
		ctx->api_calls++;
		rc = mturk_find_hit_by_annotation(ctx->client, h.annotation, &mh,
						  &found, &cause);
		if (rc != IF_OK)
			return image_remote_failed(ctx, im, "ListHITs",
						   CLIENT_FAULT(ctx),
						   SCOPE_EXPERIMENT, &cause, eb);
		if (found)
			log_info("%s/%s/%d: found HIT %s by its annotation",
				 exp->name, im->id, im->stage, mh.hit_id);
	}
	if (!found) {
		struct mturk_hosted fresh;
		const struct exp_hit *eh = &exp->hit;

		rc = mturk_image_host_url(ctx->host, im->object_key,
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
			return image_fail(ctx, im, "building the task page",
					  &cause, eb);
		}
		ctx->api_calls++;
		mturk_client_fault_reset(ctx->client);
		rc = mturk_create_hit(ctx->client, ctx->hit_type[im->stage - 1],
				      question.data, exp->hit.lifetime,
				      h.max_assignments, h.annotation, h.token,
				      &mh, &recovered, &cause);
		buf_cleanup(&question);
		crash_point(ctx, "after CreateHIT");
		/*
		 * A HIT inherits its qualification requirements from the HIT
		 * type: a refusal that names one is the experiment's
		 * (hit.qualifications), not this image's.
		 */
		if (rc != IF_OK)
			return image_remote_failed(
				ctx, im, "CreateHIT", CLIENT_FAULT(ctx),
				strstr(cause.msg, "Qualification") != NULL
					? SCOPE_EXPERIMENT
					: SCOPE_IMAGE,
				&cause, eb);
	}
	snprintf(h.hit_id, sizeof(h.hit_id), "%s", mh.hit_id);
	snprintf(h.hit_type_id, sizeof(h.hit_type_id), "%s", mh.hit_type_id);
	h.created_at = mh.creation_time > 0 ? (int64_t)mh.creation_time
					    : now_s(ctx);
	h.expires_at = mh.expiration > 0 ? (int64_t)mh.expiration
					 : now_s(ctx) + exp->hit.lifetime;
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	if (store_hit_update(ctx->st, &h, eb) != IF_OK) {
		state_rollback(ctx->st);
		return eb->code;
	}
	im->next_at = now_s(ctx);
	return image_enter_state(ctx, im, IMAGE_WAIT, eb, "HIT %s%s", h.hit_id,
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
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	h->closed = HIT_REVIEWED; /* gone: not in any list to leave */
	if (store_hit_update(ctx->st, h, eb) != IF_OK) {
		state_rollback(ctx->st);
		return eb->code;
	}
	im->attempt++;
	im->image_url[0] = '\0';
	im->object_key[0] = '\0';
	im->next_at = 0;
	return image_enter_state(ctx, im, IMAGE_RENDER, eb,
				 "HIT %s vanished; attempt %d", h->hit_id,
				 im->attempt);
}

/* ---- WAIT --------------------------------------------------------------- */

/* Records assignments not seen before, each with its parsed boxes. */
static int
record_assignments(struct run_ctx *ctx, const struct image_rec *im,
		   const struct mturk_assignment *as, size_t n,
		   struct errbuf *eb)
{
	const struct exp_image *ei = exp_image_of(ctx, im);
	int rc = IF_OK;

	if (ei == NULL)
		return err_set(eb, IF_EINPUT, "image %s left the experiment",
			       im->id);
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	for (size_t i = 0; i < n && rc == IF_OK; i++) {
		struct assignment_rec rec;
		struct errbuf why = {0};
		struct parsed_answer pa;

		memset(&rec, 0, sizeof(rec));
		snprintf(rec.assignment_id, sizeof(rec.assignment_id), "%s",
			 as[i].assignment_id);
		snprintf(rec.worker_id, sizeof(rec.worker_id), "%s",
			 as[i].worker_id);
		snprintf(rec.hit_id, sizeof(rec.hit_id), "%s", as[i].hit_id);
		snprintf(rec.image_id, sizeof(rec.image_id), "%s", im->id);
		rec.stage = im->stage;
		rec.submit_time = (int64_t)as[i].submit_time;
		rec.accept_time = (int64_t)as[i].accept_time;
		if (answer_to_record(as[i].answer, ei->width, ei->height, &pa,
				     &why) == IF_OK) {
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
		/* An approved-by-us assignment seen again keeps its record. */
		snprintf(rec.approval, sizeof(rec.approval), "%s",
			 strcmp(as[i].status, "Submitted") == 0 ? "pending"
			 : strcmp(as[i].status, "Approved") == 0 ? "approved"
								 : "rejected");
		rc = store_assignment_insert(ctx->st, &rec, eb);
		if (rc == 0) {
			if (rec.valid)
				log_info("%s/%s/%d: assignment %s by %s: %s",
					 ctx->exp->name, im->id, im->stage,
					 rec.assignment_id, rec.worker_id,
					 rec.boxes);
			else
				log_warnx("%s/%s/%d: assignment %s by %s is not "
					  "usable: %s",
					  ctx->exp->name, im->id, im->stage,
					  rec.assignment_id, rec.worker_id,
					  rec.invalid_reason);
			rc = IF_OK;
		} else if (rc == 1) {
			rc = IF_OK;
		}
		if (rec.valid)
			parsed_answer_cleanup(&pa);
	}
	if (rc != IF_OK) {
		state_rollback(ctx->st);
		return rc;
	}
	return state_commit(ctx->st, eb);
}

/*
 * Approves (approve: auto) and grants the stage qualification
 * (exclusive_stages) for every recorded assignment of the stage that still
 * needs it.  A passing failure leaves the rest for the next poll.
 */
static int
settle_assignments(struct run_ctx *ctx, const struct image_rec *im,
		   bool *never, struct errbuf *cause, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	bool auto_ok = exp->hit.approve == EXP_APPROVE_AUTO;
	struct assignment_rec *a = NULL;
	unsigned char *approved = NULL, *granted = NULL;
	size_t n = 0;
	int rc = IF_OK, wrc = IF_OK;

	*never = false;
	if (store_assignments_for(ctx->st, im->id, im->stage, &a, &n, eb) !=
	    IF_OK)
		return eb->code;
	approved = calloc(n + 1, 1);
	granted = calloc(n + 1, 1);
	if (approved == NULL || granted == NULL) {
		wrc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	/*
	 * The remote calls first, then one transaction for what they did: a
	 * crash in between only repeats calls that are safe to repeat (a
	 * second approve is recognised as done, a grant is idempotent).
	 */
	for (size_t i = 0; i < n && rc == IF_OK; i++) {
		if (strcmp(a[i].approval, "pending") == 0) {
			if (auto_ok && a[i].valid) {
				char seen[16];
				ctx->api_calls++;
				rc = mturk_approve_assignment(ctx->client,
							      a[i].assignment_id,
							      NULL, seen, cause);
				crash_point(ctx, "after ApproveAssignment");
				if (rc != IF_OK && strcmp(seen, "Rejected") == 0) {
					/* Settled outside the daemon: say so, go on. */
					log_warnx("%s/%s/%d: assignment %s by %s was "
						  "rejected outside the daemon; its "
						  "answer counts, no approval is "
						  "tried again: %s",
						  exp->name, im->id, im->stage,
						  a[i].assignment_id,
						  a[i].worker_id, cause->msg);
					err_init(cause);
					rc = IF_OK;
					approved[i] = 2;
				} else if (rc != IF_OK) {
					/* Approve never succeeds from there. */
					if (seen[0] != '\0' &&
					    strcmp(seen, "Submitted") != 0)
						*never = true;
					break;
				}
			}
			if (approved[i] == 0)
				approved[i] = 1;
		}
		if (exp->hit.exclusive_stages && !a[i].granted) {
			int g = store_grant_get(ctx->st, a[i].worker_id,
						im->stage, eb);
			if (g != 0 && g != 1) {
				wrc = eb->code;
				break;
			}
			if (g == 1) {
				ctx->api_calls++;
				rc = mturk_associate_qualification(
					ctx->client, ctx->qual_type[im->stage - 1],
					a[i].worker_id, 1, cause);
				crash_point(ctx, "after AssociateQualification");
				if (rc != IF_OK)
					break;
			}
			granted[i] = 1;
		}
	}
	if (wrc != IF_OK)
		goto out;
	if (state_begin(ctx->st, eb) != IF_OK) {
		wrc = eb->code;
		goto out;
	}
	for (size_t i = 0; i < n && wrc == IF_OK; i++) {
		if (approved[i])
			wrc = store_assignment_set_approval(
				ctx->st, a[i].assignment_id, a[i].worker_id,
				approved[i] == 2	    ? "rejected"
				: auto_ok && a[i].valid ? "approved"
							: "manual",
				eb);
		if (wrc == IF_OK && granted[i])
			wrc = store_grant_put(ctx->st, a[i].worker_id,
					      im->stage, now_s(ctx), eb);
		if (wrc == IF_OK && granted[i])
			wrc = store_assignment_set_granted(
				ctx->st, a[i].assignment_id, a[i].worker_id, eb);
	}
	if (wrc == IF_OK)
		wrc = state_commit(ctx->st, eb);
	if (wrc != IF_OK)
		state_rollback(ctx->st);
out:
	free(approved);
	free(granted);
	assignment_recs_free(a, n);
	if (wrc != IF_OK)
		return wrc; /* our own state failed */
	return rc;
}

int64_t
hit_expiry_margin(const struct experiment *exp)
{
	/* Extend a little before the end, never more than a quarter early. */
	return exp->hit.lifetime / 4 < EXPIRY_MARGIN_SECONDS
		       ? exp->hit.lifetime / 4
		       : EXPIRY_MARGIN_SECONDS;
}

/*
 * UpdateHITReviewStatus(Revert=false) for a closed HIT, then HIT_REVIEWED.
 * A HIT not Reviewable yet (closed with part of its answers before its
 * expiry) stays HIT_CLOSED for a later pass, unless last_try says it is
 * past the time it could still be worked on: it is then left where it is,
 * with a warning, rather than asked about on every pass.  A HIT MTurk no
 * longer has is done too.  Returns only errors of our own state.
 */
static int
hit_review(struct run_ctx *ctx, struct hit_rec *h, bool last_try,
	   struct errbuf *eb)
{
	struct errbuf cause = {0};
	char status[32] = "";
	bool early;
	int rc;

	ctx->api_calls++;
	rc = mturk_update_hit_review_status(ctx->client, h->hit_id, false,
					    status, &cause);
	crash_point(ctx, "after UpdateHITReviewStatus");
	early = strcmp(status, "Assignable") == 0 ||
		strcmp(status, "Unassignable") == 0;
	if (rc != IF_OK && strstr(cause.msg, "HITDoesNotExist") == NULL &&
	    strcmp(status, "Disposed") != 0) {
		if (!early) {
			log_warnx("%s/%s/%d: HIT %s: moving it to Reviewing "
				  "failed, trying again later: %s",
				  ctx->exp->name, h->image_id, h->stage,
				  h->hit_id, cause.msg);
			return IF_OK;
		}
		if (!last_try) {
			log_debug("%s/%s/%d: HIT %s is %s; it moves to Reviewing "
				  "once Reviewable",
				  ctx->exp->name, h->image_id, h->stage,
				  h->hit_id, status);
			return IF_OK;
		}
		log_warnx("%s/%s/%d: HIT %s is still %s past its expiry; left "
			  "as it is",
			  ctx->exp->name, h->image_id, h->stage, h->hit_id,
			  status);
	}
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	h->closed = HIT_REVIEWED;
	if (store_hit_update(ctx->st, h, eb) != IF_OK ||
	    state_commit(ctx->st, eb) != IF_OK) {
		state_rollback(ctx->st);
		return eb->code;
	}
	log_debug("%s/%s/%d: HIT %s out of the Reviewable list", ctx->exp->name,
		  h->image_id, h->stage, h->hit_id);
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
	size_t n = 0, nboxes = 0;
	char *json = NULL;
	int rc;

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
	free(boxes);
	if (rc != IF_OK)
		return rc;
	if (state_begin(ctx->st, eb) != IF_OK) {
		free(json);
		return eb->code;
	}
	h->closed = HIT_CLOSED; /* the intent of hit_review() */
	if (store_stage_result_put(ctx->st, im->id, im->stage,
				   exp_window(ctx->exp, im->id, (size_t)im->stage), json,
				   (int)n, now_s(ctx), eb) != IF_OK ||
	    store_hit_update(ctx->st, h, eb) != IF_OK) {
		state_rollback(ctx->st);
		free(json);
		return eb->code;
	}
	log_info("%s/%s/%d: window %d done, %zu boxes %s%s%s", ctx->exp->name,
		 im->id, im->stage, exp_window(ctx->exp, im->id, (size_t)im->stage), nboxes,
		 json, note != NULL ? "; " : "", note != NULL ? note : "");
	free(json);
	im->stage++;
	im->attempt = 1;
	im->image_url[0] = '\0';
	im->object_key[0] = '\0';
	im->url_expires = 0;
	im->next_at = 0;
	rc = image_enter_state(ctx, im,
			       (size_t)im->stage <= ctx->exp->nstages
				       ? IMAGE_RENDER
				       : IMAGE_FINAL,
			       eb, NULL);
	if (rc != IF_OK || !review)
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
	size_t n = 0, have = 0, valid = 0;
	int64_t now, margin;
	bool never = false, refused;
	int rc;

	rc = store_hit_get(ctx->st, im->id, im->stage, im->attempt, &h, eb);
	if (rc == 1)
		return err_set(eb, IF_ERUNTIME,
			       "%s/%s/%d: waiting without a HIT row (attempt %d)",
			       exp->name, im->id, im->stage, im->attempt);
	if (rc != 0)
		return rc;
	ctx->api_calls++;
	rc = mturk_list_assignments(ctx->client, h.hit_id, 0, &as, &n, &cause);
	if (rc != IF_OK) {
		if (rc != IF_ETEMP && strstr(cause.msg, "HITDoesNotExist") != NULL)
			return hit_vanished(ctx, im, &h, &cause, eb);
		return image_remote_failed(ctx, im, "ListAssignmentsForHIT",
					   CLIENT_FAULT(ctx), SCOPE_IMAGE, &cause,
					   eb);
	}
	crash_point(ctx, "after ListAssignmentsForHIT");
	rc = record_assignments(ctx, im, as, n, eb);
	mturk_assignments_free(as, n);
	if (rc != IF_OK)
		return rc;
	crash_point(ctx, "assignments recorded");
	/* After a restart the stage's qualification type is not known yet. */
	if (exp->hit.exclusive_stages &&
	    ctx->qual_type[im->stage - 1][0] == '\0' &&
	    (rc = stage_setup(ctx, im->stage, &cause)) != IF_OK)
		return image_remote_failed(ctx, im, "preparing the HIT type",
					   CLIENT_FAULT(ctx), SCOPE_EXPERIMENT,
					   &cause, eb);
	rc = settle_assignments(ctx, im, &never, &cause, eb);
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
	 * the client's fault says nothing, and retrying would loop.  A
	 * Rejected one is settled already (settle_assignments records it).
	 */
	if (rc != IF_OK)
		return image_remote_failed(ctx, im, "approving or granting",
					   never ? MTURK_FAULT_REQUEST
						 : CLIENT_FAULT(ctx),
					   SCOPE_EXPERIMENT, &cause, eb);
	if (stage_answers(ctx, im, &have, &valid, eb) != IF_OK)
		return eb->code;
	if (have >= (size_t)exp->hit.workers)
		return finish_stage(ctx, im, &h, NULL, true, eb);
	now = now_s(ctx);
	margin = hit_expiry_margin(exp);
	/* An extension refused already (this HIT, kept in im->error). */
	refused = strncmp(im->error, EXTENSION_REFUSED ":",
			  strlen(EXTENSION_REFUSED ":")) == 0;
	if (now + margin >= h.expires_at) {
		if (h.extensions < exp->hit.max_extensions && !refused) {
			int64_t until = now + exp->hit.lifetime;
			enum mturk_fault fault;
			ctx->api_calls++;
			rc = mturk_update_expiration(ctx->client, h.hit_id, until,
						     &cause);
			crash_point(ctx, "after UpdateExpirationForHIT");
			fault = CLIENT_FAULT(ctx);
			if (rc != IF_OK && fault != MTURK_FAULT_REQUEST)
				return image_remote_failed(
					ctx, im, "UpdateExpirationForHIT", fault,
					SCOPE_IMAGE, &cause, eb);
			if (rc != IF_OK) {
				/*
				 * Refused for this HIT (too old, say): no more
				 * time, so the HIT ends as if its extensions
				 * were spent; kept in the image row so that it
				 * is not asked again, and status shows it.
				 */
				image_note_error(ctx, im, EXTENSION_REFUSED,
						 &cause);
				log_warnx("%s/%s/%d: HIT %s cannot be extended, "
					  "so it ends with %zu of %d answers: %s",
					  exp->name, im->id, im->stage, h.hit_id,
					  have, exp->hit.workers, cause.msg);
				refused = true;
			}
		}
		if (!refused && h.extensions < exp->hit.max_extensions) {
			h.expires_at = now + exp->hit.lifetime;
			h.extensions++;
			log_info("%s/%s/%d: HIT %s extended (%d of %d) with %zu "
				 "of %d answers",
				 exp->name, im->id, im->stage, h.hit_id,
				 h.extensions, exp->hit.max_extensions, have,
				 exp->hit.workers);
			if (state_begin(ctx->st, eb) != IF_OK)
				return eb->code;
			if (store_hit_update(ctx->st, &h, eb) != IF_OK ||
			    state_commit(ctx->st, eb) != IF_OK) {
				state_rollback(ctx->st);
				return eb->code;
			}
		} else if (valid > 0) {
			char note[600];
			if (refused)
				snprintf(note, sizeof(note),
					 "HIT not extended (%.500s), %zu of %d "
					 "answers",
					 im->error + strlen(EXTENSION_REFUSED ": "),
					 have, exp->hit.workers);
			else
				snprintf(note, sizeof(note),
					 "HIT expired with %zu of %d answers", have,
					 exp->hit.workers);
			return finish_stage(ctx, im, &h, note,
					    now >= h.expires_at, eb);
		} else if (now >= h.expires_at) {
			/* Done with the HIT too: out of the Reviewable list. */
			if (state_begin(ctx->st, eb) != IF_OK)
				return eb->code;
			h.closed = HIT_CLOSED;
			if (store_hit_update(ctx->st, &h, eb) != IF_OK) {
				state_rollback(ctx->st);
				return eb->code;
			}
			if (refused)
				rc = image_enter_state(
					ctx, im, IMAGE_FAILED, eb,
					"HIT %s expired without a usable answer "
					"and could not be extended (%.400s)",
					h.hit_id,
					im->error + strlen(EXTENSION_REFUSED ": "));
			else
				rc = image_enter_state(
					ctx, im, IMAGE_FAILED, eb,
					"HIT %s expired without a usable answer "
					"after %d extensions",
					h.hit_id, h.extensions);
			if (rc != IF_OK)
				return rc;
			return hit_review(ctx, &h, false, eb);
		}
	}
	im->next_at = now + exp->mturk.poll_interval;
	if (im->next_at > h.expires_at && h.expires_at > now)
		im->next_at = h.expires_at;
	/* A refused extension is remembered until the HIT's end. */
	if (!refused)
		image_clear_error(im);
	return image_save(ctx, im, eb);
}

/* ---- FINAL, PAUSED ------------------------------------------------------ */

static int
step_final(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	struct errbuf cause = {0};
	const struct img *final = NULL;
	int rc;

	rc = render(ctx, im, 1, (int)ctx->exp->nstages, &final, NULL, NULL,
		    &cause);
	if (rc == IF_OK)
		rc = write_outputs(ctx, im, final, &cause);
	if (rc == IF_EINPUT)
		return image_fail(ctx, im, "writing the final image", &cause, eb);
	if (rc != IF_OK)
		return err_set(eb, rc, "%s/%s: %s", ctx->exp->name, im->id,
			       cause.msg);
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	return image_enter_state(ctx, im, IMAGE_DONE, eb, "%s/%s.jpg",
				 ctx->exp->output_dir, im->id);
}

static int
step_paused(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	int64_t committed = 0, cost = plan_hit_cents(exp);

	if (store_committed_cents(ctx->st, &committed, eb) != IF_OK)
		return eb->code;
	if (exp->budget_cents >= 0 && committed + cost > exp->budget_cents) {
		im->next_at = now_s(ctx) + exp->mturk.poll_interval;
		return image_save(ctx, im, eb);
	}
	if (state_begin(ctx->st, eb) != IF_OK)
		return eb->code;
	return image_enter_state(ctx, im, IMAGE_POST, eb, "budget allows");
}

int
image_step(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb)
{
	/* Each step reads the fault of its own calls only. */
	if (ctx->client != NULL)
		mturk_client_fault_reset(ctx->client);
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
