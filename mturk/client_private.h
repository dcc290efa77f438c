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

#endif /* INTOFOCUS_MTURK_CLIENT_PRIVATE_H */
