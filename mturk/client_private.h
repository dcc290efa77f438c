/*
 * mturk/client_private.h - private to mturk/: the one signed AWS request
 * with retries that the API client (api.c) and the S3 image host
 * (image_host.c) both send.  api.c defines it.
 */
#ifndef INTOFOCUS_MTURK_CLIENT_PRIVATE_H
#define INTOFOCUS_MTURK_CLIENT_PRIVATE_H

#include "mturk/mturk.h"

/* One request as it is signed and sent (all borrowed). */
struct signed_request {
	const char *method;
	const char *url;  /* sent as is */
	const char *path; /* url's path, as signed */
	/* Signed and sent, in this order; Host among them. */
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *body;
	size_t body_len;
	const char *service;
	const char *region;
	/* S3's signing rules, and x-amz-content-sha256 signed. */
	bool s3;
	size_t elide_strings_over; /* http_request.elide_strings_over */
};

/* Where and how requests go (all borrowed). */
struct signed_sender {
	struct http_client *http;
	struct http_response *resp; /* the last answer */
	const struct aws_creds *creds;
	const struct mturk_clock *clock;
	const struct mturk_retry_policy *retry;
	/*
	 * Seconds added to the clock when signing, corrected from the
	 * server's Date after one clock-skew error (which is then retried at
	 * once, outside the attempts); NULL: no correction.
	 */
	int64_t *clock_offset;
	uint64_t *sent;	      /* counts every request sent, or NULL */
	const char *log_name; /* "MTurk GetHIT": log each retry; NULL: none */
	/*
	 * Not NULL: each try waits under this signal mask and ends when a
	 * signal arrives (*woken, IF_ETEMP, no retry); see
	 * http_perform_wakeable.
	 */
	const sigset_t *wake;
	bool *woken;
	/* Called before each try, to pace the requests; NULL: none. */
	void (*pace)(void *arg);
	void *pace_arg;
	/*
	 * The try to begin with: 0, or 1 after a first try made elsewhere
	 * (mturk_call_concurrent) failed retryably; its backoff comes first.
	 */
	int first_attempt;
};

/* How a request that failed ended. */
struct signed_outcome {
	bool not_sent;	  /* failed before sending (signing, the URL) */
	bool out_of_time; /* a retry would pass retry->max_elapsed_s */
	int attempts;	  /* tries made, the skew retry not counted */
	int64_t spent_s;  /* seconds from the first try to giving up */
};

/*
 * Signs req at the clock (plus *clock_offset) and sends it until a 2xx
 * answer (IF_OK; it is in sender->resp), a failure a retry cannot mend
 * (IF_ERUNTIME), or the retry policy's bound (IF_ETEMP), waiting the
 * full-jitter backoff between tries.  A remote failure is classified in
 * e (errors.c), for the caller to word in eb with what it was doing; a
 * failure before sending sets out->not_sent, and its code and message
 * (eb) are returned as they came.
 */
int signed_request_send(const struct signed_sender *s,
			const struct signed_request *req,
			struct mturk_error *e, struct signed_outcome *out,
			struct errbuf *eb);

/*
 * api.c, for ops.c: mturk_call with JSON strings longer than elide_over
 * bytes in the answer kept as "" (http_request.elide_strings_over);
 * *elided gets how many were.
 */
int mturk_call_eliding(struct mturk_client *c, const char *operation,
		       const char *body, size_t body_len, size_t elide_over,
		       struct buf *out, size_t *elided, struct mturk_error *err,
		       struct errbuf *eb);

/*
 * api.c, for push.c: one signed MTURK_PUSH_TARGET request on the client's
 * push connection (made on first use, with timeout_ms for a whole
 * exchange), woken by a signal under wake; the answer's body in out.
 */
int mturk_push_call(struct mturk_client *c, const char *body,
		    size_t body_len, int64_t timeout_ms, const sigset_t *wake,
		    bool *woken, struct buf *out, struct mturk_error *e,
		    struct errbuf *eb);

/* One call of mturk_call_concurrent. */
struct mturk_concurrent {
	const char *operation;
	const char *body;
	size_t body_len;
	/* Out: as mturk_call's, for the one try made. */
	int rc;
	struct buf out;
	struct mturk_error err;
	struct errbuf eb;
};

/*
 * api.c: the first try of each call, at once on the client's pool (at
 * most rate.concurrency, each paced by the token bucket).  A call that
 * did not succeed keeps its error for the caller to go on with
 * sequentially (mturk_client_resume_next for a retryable failure).
 * IF_OK, or an error when nothing could be sent (out of memory).
 */
int mturk_call_concurrent(struct mturk_client *c,
			  struct mturk_concurrent *calls, size_t n,
			  struct errbuf *eb);

/*
 * The client's next call goes on from a concurrent first try that failed
 * retryably: it waits that try's backoff and makes the remaining tries.
 */
void mturk_client_resume_next(struct mturk_client *c);

/*
 * ops.c, for settle.c: what mturk_approve_assignment makes of a refused
 * ApproveAssignment (e, with its message in aeb): the read-back after
 * InvalidAssignmentState, else the refusal as it came.
 */
int mturk_approve_refused(struct mturk_client *c, const char *assignment_id,
			  const struct mturk_error *e,
			  const struct errbuf *aeb, char *status, size_t size,
			  struct errbuf *eb);

#endif /* INTOFOCUS_MTURK_CLIENT_PRIVATE_H */
