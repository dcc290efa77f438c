/*
 * daemon/failure.c - what the stage machine does when a remote step fails
 * (spec sections 5 and 9): retry later with backoff, fail the image, or
 * stop the daemon.
 *
 * The decision reads the typed fault of the failure (mturk_error_fault)
 * and whose request it was (enum failure_scope), never the text of a
 * message: passing failures are retried with "equal jitter" backoff; a
 * refusal of this image's own request fails the image, with the reason;
 * account-wide refusals, and refusals of what every image needs, stop the
 * daemon with advice for the operator.
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"

#include <string.h>

/*
 * A step that failed for a passing reason is retried after 15 s, then 30,
 * 60, ... up to 15 minutes between attempts (each with "equal jitter", so
 * that images failing together do not retry together).
 */
#define RETRY_FIRST_SECONDS 15
#define RETRY_CAP_SECONDS 900

void
image_note_error(struct run_ctx *ctx, struct image_rec *im, const char *what,
		 const struct errbuf *cause)
{
	snprintf(im->error, sizeof(im->error), "%.100s: %.400s", what,
		 cause->msg);
	if (im->error_since == 0)
		im->error_since = run_now(ctx);
	im->retries++;
}

int
image_fail(struct run_ctx *ctx, struct image_rec *im, const char *what,
	   const struct errbuf *cause, struct errbuf *eb)
{
	return image_enter_state(ctx, im, IMAGE_FAILED, NULL, NULL, eb,
				 "%s: %s", what, cause->msg);
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

int
image_retry_later(struct run_ctx *ctx, struct image_rec *im, const char *what,
		  const struct errbuf *cause, struct errbuf *eb)
{
	int64_t delay;

	image_note_error(ctx, im, what, cause);
	delay = retry_delay(im->retries);
	log_warnx("%s/%s/%d: %s failed (attempt %d), retrying in %llds: %s",
		  ctx->exp->name, im->id, im->stage, what, im->retries,
		  (long long)delay, cause->msg);
	im->next_at = run_now(ctx) + delay;
	return image_save(ctx, im, eb);
}

/* What an operator does about a failure that will not pass by itself. */
static const char *
halt_advice(const struct run_ctx *ctx, enum mturk_fault fault,
	    enum failure_scope scope, char *buf, size_t bufsz)
{
	switch (fault) {
	case MTURK_FAULT_CREDENTIALS:
		snprintf(buf, bufsz,
			 "the service refuses the credentials (from %.200s) "
			 "or what they may do: check the key pair, the "
			 "session token's expiry and the IAM policy for this "
			 "endpoint",
			 ctx->creds != NULL ? ctx->creds->source : "?");
		break;
	case MTURK_FAULT_FUNDS:
		snprintf(buf, bufsz,
			 "the requester account cannot pay: add funds "
			 "(\"intofocus mturk GetAccountBalance\" shows the "
			 "balance)");
		break;
	case MTURK_FAULT_SERVICE:
		snprintf(buf, bufsz,
			 "the endpoint %s cannot be used (certificate or "
			 "protocol): check mturk.endpoint and mturk.ca_file "
			 "(or the system's CA certificates)",
			 ctx->client != NULL
				 ? mturk_client_endpoint(ctx->client)
				 : "?");
		break;
	default:
		if (scope == SCOPE_SETTLEMENT)
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

/* The stop's record in the state, with the image's error, in one go. */
struct halt_write {
	const struct image_rec *im;
	const char *when;
};

static int
write_halt(struct state *st, void *arg, struct errbuf *eb)
{
	const struct halt_write *w = arg;

	if (store_image_update(st, w->im, eb) != IF_OK ||
	    state_meta_set(st, "halt_at", w->when, eb) != IF_OK ||
	    state_meta_set(st, "halt_reason", w->im->error, eb) != IF_OK ||
	    state_meta_set(st, "halt_restarted_at", "", eb) != IF_OK)
		return eb->code;
	return IF_OK;
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
	 enum mturk_fault fault, enum failure_scope scope,
	 const struct errbuf *cause, struct errbuf *eb)
{
	char advice[512], when[32], status[256];
	struct halt_write w = {im, when};

	image_note_error(ctx, im, what, cause);
	im->next_at = 0; /* due at once when the daemon starts again */
	im->updated_at = run_now(ctx);
	snprintf(when, sizeof(when), "%lld", (long long)run_now(ctx));
	if (state_transaction(ctx->st, write_halt, &w, eb) != IF_OK)
		return eb->code;
	ctx->halt_cleared = false;
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
		       halt_advice(ctx, fault, scope, advice, sizeof(advice)));
}

int
image_remote_failed(struct run_ctx *ctx, struct image_rec *im,
		    const char *what, enum mturk_fault fault,
		    enum failure_scope scope, const struct errbuf *cause,
		    struct errbuf *eb)
{
	if (fault == MTURK_FAULT_NONE)
		fault = cause->code == IF_EINPUT ? MTURK_FAULT_REQUEST
						 : MTURK_FAULT_PASSING;
	if (mturk_fault_is_account_wide(fault) ||
	    (fault == MTURK_FAULT_REQUEST && scope != SCOPE_IMAGE))
		return run_halt(ctx, im, what, fault, scope, cause, eb);
	if (fault == MTURK_FAULT_REQUEST) {
		image_note_error(ctx, im, what, cause);
		return image_fail(ctx, im, what, cause, eb);
	}
	return image_retry_later(ctx, im, what, cause, eb);
}
