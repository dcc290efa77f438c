/*
 * mturk/mturk.h - everything that talks to Mechanical Turk and to image
 * hosting, and the MTurk-compatible simulator (spec sections 5, 6, 7).
 *
 * Sections below are grouped by the .c file that defines them.
 */
#ifndef INTOFOCUS_MTURK_H
#define INTOFOCUS_MTURK_H

#include "common/common.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ==== sigv4.c: the pure SigV4 signer ==================================== */

/* ==== credentials.c: the credentials chain ============================== */

/* ==== answer.c: QuestionFormAnswers XML ================================= */

/* ==== http.c, api.c, errors.c, ops.c: the API client ==================== */

/*
 * The network half of the client (spec section 5).  http.c owns libcurl,
 * errors.c classifies every remote failure, api.c makes one signed AWS JSON
 * 1.1 call with retries, ops.c wraps the operations the daemon uses in typed
 * structs.  A client is used by one thread at a time.
 */

#define MTURK_ENDPOINT_SANDBOX \
	"https://mturk-requester-sandbox.us-east-1.amazonaws.com"
#define MTURK_ENDPOINT_PRODUCTION \
	"https://mturk-requester.us-east-1.amazonaws.com"
#define MTURK_TARGET_PREFIX "MTurkRequesterServiceV20170117."
#define MTURK_SERVICE "mturk-requester"
#define MTURK_REGION "us-east-1"

struct aws_creds;

/* -- http.c: the libcurl boundary -- */

struct http_options {
	long connect_timeout_ms; /* [default: 10000] */
	long timeout_ms;	 /* whole transfer [default: 30000] */
	size_t max_body;	 /* response body cap [default: 8 MiB] */
	bool trace;		 /* log_debug() each exchange, secrets redacted */
};

struct http_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *url;    /* sent as is (CURLOPT_PATH_AS_IS) */
	/* "Name: value" lines, NULL-terminated; these replace curl's own. */
	const char *const *headers;
	const void *body;
	size_t body_len;
};

struct http_response {
	long status;	       /* 0 when no response arrived */
	int curl_code;	       /* CURLcode of the transfer; 0 = CURLE_OK */
	struct buf body;       /* capped at http_options.max_body */
	char date[64];	       /* Date header, "" if none */
	char request_id[128];  /* x-amzn-RequestId or x-amz-request-id */
	char error_type[128];  /* x-amzn-ErrorType, "" if none */
	char content_type[128];
};

struct http_client;

/* A client holds one curl handle, reused so that connections are too. */
int http_client_new(const struct http_options *opt, struct http_client **out,
		    struct errbuf *eb);
void http_client_free(struct http_client *c);

/*
 * Checks that url may be used: https anywhere, plain http only on a
 * loopback host (127.0.0.0/8, ::1, localhost).  IF_EINPUT naming the URL.
 * On success fills host_hdr (the Host header value curl will send: host,
 * plus ":port" when not the scheme's default) when host_hdr is not NULL.
 */
int http_url_check(const char *url, char *host_hdr, size_t host_hdr_size,
		   struct errbuf *eb);

/* Empties resp for the next exchange; http_response_cleanup() frees it. */
void http_response_init(struct http_response *resp, size_t max_body);
void http_response_cleanup(struct http_response *resp);

/*
 * One exchange.  IF_OK when a response arrived, whatever its status.  A
 * transport failure returns IF_ETEMP (IF_ERUNTIME when retrying cannot help,
 * e.g. an oversized body or a refused URL) with resp->curl_code set and a
 * message naming the method and URL.
 */
int http_perform(struct http_client *c, const struct http_request *req,
		 struct http_response *resp, struct errbuf *eb);

/* Seconds since the epoch for an HTTP date, -1 if it cannot be parsed. */
int64_t http_date_parse(const char *date);

/* -- errors.c: one classification of remote failures -- */

struct mturk_error {
	long http_status;      /* 0 when no response arrived */
	int curl_code;	       /* CURLcode; 0 when the exchange completed */
	char type[128];	       /* __type without "ns#" prefix, ":..." suffix */
	char turk_code[128];   /* TurkErrorCode, e.g. AWS.MechanicalTurk.X */
	char message[512];     /* Message (or message) */
	char request_id[128];  /* x-amzn-RequestId */
	bool retryable;	       /* set by mturk_error_is_retryable() */
};

void mturk_error_clear(struct mturk_error *e);
/* From an HTTP answer with status >= 300: body decoded when JSON. */
void mturk_error_from_response(struct mturk_error *e,
			       const struct http_response *resp);
/* From a failed transfer (curl_code != 0) with curl's message. */
void mturk_error_from_curl(struct mturk_error *e, int curl_code,
			   const char *msg);
/*
 * THE classification: throttling codes, ServiceFault, HTTP 429/500/502/503/
 * 504 and network errors are retryable; RequestError never is.
 */
bool mturk_error_is_retryable(const struct mturk_error *e);
/* A signature rejected because our clock differs from the server's. */
bool mturk_error_is_clock_skew(const struct mturk_error *e);
/* The TurkErrorCode (or type) equals code, ignoring case and the
 * "AWS.MechanicalTurk." prefix on either side. */
bool mturk_error_is(const struct mturk_error *e, const char *code);
/*
 * HitAlreadyExists (or legacy HITAlreadyExists): copies the HITId named in
 * the message (the first [A-Z0-9]{20,} word that is not token) to out.
 * 0 on success, -1 when e is another error or names no HITId.
 */
int mturk_error_recover_hit_id(const struct mturk_error *e, const char *token,
			       char *out, size_t outsz);
/* "TurkErrorCode: message" (or type, or HTTP status, or curl text). */
void mturk_error_format(const struct mturk_error *e, char *out, size_t outsz);

/* -- api.c: one signed AWS JSON 1.1 call with retries -- */

/*
 * Time and chance, injectable so that tests drive retries without
 * sleeping.  NULL members take the real clock, nanosleep and the kernel's
 * random source.
 */
struct mturk_clock {
	int64_t (*now)(void *ctx);		/* seconds since the epoch */
	void (*sleep_ms)(void *ctx, int64_t ms);
	double (*random)(void *ctx);		/* uniform in [0, 1) */
	void *ctx;
};

struct mturk_retry_policy {
	int max_attempts; /* total tries per call [default: 5] */
	int64_t base_ms;  /* first backoff ceiling [default: 1000] */
	int64_t cap_ms;	  /* backoff ceiling cap [default: 20000] */
};

struct mturk_client_config {
	const char *endpoint; /* NULL = MTURK_ENDPOINT_SANDBOX */
	const char *region;   /* NULL = "us-east-1" (also for the sandbox) */
	const struct aws_creds *creds; /* borrowed; must outlive the client */
	struct http_options http;
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
};

struct mturk_client;

/* Validates the endpoint (https, or http on loopback) and opens a handle. */
int mturk_client_new(const struct mturk_client_config *cfg,
		     struct mturk_client **out, struct errbuf *eb);
void mturk_client_free(struct mturk_client *c);
const char *mturk_client_endpoint(const struct mturk_client *c);
/* Seconds added to the clock when signing, learnt from clock-skew errors. */
int64_t mturk_client_clock_offset(const struct mturk_client *c);

/*
 * Calls operation (e.g. "GetHIT") with the JSON request body.  On IF_OK the
 * response body is in out (reset first).  A remote error fills err (when not
 * NULL) and eb with "Operation: TurkErrorCode: message" and returns
 * IF_ERUNTIME, or IF_ETEMP when the failure was retryable and the attempts
 * ran out.  Retryable failures are retried with full-jitter backoff; one
 * clock-skew error is retried at once with the clock corrected from Date.
 */
int mturk_call(struct mturk_client *c, const char *operation,
	       const char *body, size_t body_len, struct buf *out,
	       struct mturk_error *err, struct errbuf *eb);

/* The backoff before retry number attempt (0-based) for a random r. */
int64_t mturk_backoff_ms(const struct mturk_retry_policy *p, int attempt,
			 double r);

/* True when name is an operation of the 2017-01-17 API. */
bool mturk_operation_known(const char *name);
/* The known operation names, NULL-terminated, sorted. */
const char *const *mturk_operation_names(void);

/* -- ops.c: typed operations -- */

#define MTURK_ID_MAX 65	    /* EntityId: 1-64 characters, + NUL */
#define MTURK_WORKER_MAX 256 /* WorkerId: allocate for 255 bytes */

/* Timestamps are seconds since the epoch (the service sends floats); 0 =
 * absent.  Strings are "" when absent. */
struct mturk_hit {
	char hit_id[MTURK_ID_MAX];
	char hit_type_id[MTURK_ID_MAX];
	char hit_group_id[MTURK_ID_MAX];
	char hit_status[32];	/* Assignable, Unassignable, Reviewable, ... */
	char review_status[32];
	char title[256];
	char reward[24];	/* CurrencyAmount, e.g. "0.15" */
	char requester_annotation[256];
	double creation_time;
	double expiration;
	int64_t max_assignments;
	int64_t assignment_duration;
	int64_t auto_approval_delay;
	int64_t assignments_pending;
	int64_t assignments_available;
	int64_t assignments_completed;
};

struct mturk_assignment {
	char assignment_id[MTURK_ID_MAX];
	char worker_id[MTURK_WORKER_MAX];
	char hit_id[MTURK_ID_MAX];
	char status[16]; /* Submitted, Approved, Rejected */
	double accept_time;
	double submit_time;
	double approval_time;
	double rejection_time;
	double auto_approval_time;
	double deadline;
	char *answer;		  /* QuestionFormAnswers XML; owned, never NULL */
	char *requester_feedback; /* owned, never NULL */
};

void mturk_assignment_cleanup(struct mturk_assignment *a);
void mturk_assignments_free(struct mturk_assignment *a, size_t n);

/* One entry of QualificationRequirements. */
struct mturk_qual_req {
	const char *qualification_type_id;
	const char *comparator;	    /* e.g. "DoesNotExist", "GreaterThan" */
	const int64_t *integer_values;
	size_t n_integer_values;
	const char *const *countries; /* LocaleValues[].Country */
	size_t n_countries;
	const char *actions_guarded; /* NULL = the service's default */
};

struct mturk_hit_type {
	const char *title;
	const char *description;
	const char *keywords; /* comma-separated; NULL = none */
	int64_t reward_cents;
	int64_t assignment_duration; /* seconds */
	int64_t auto_approval_delay; /* seconds; < 0 = the service's default */
	const struct mturk_qual_req *quals;
	size_t n_quals;
};

/* AssignmentStatuses filter of ListAssignmentsForHIT; 0 = no filter. */
enum {
	MTURK_ASSIGNMENT_SUBMITTED = 1,
	MTURK_ASSIGNMENT_APPROVED = 2,
	MTURK_ASSIGNMENT_REJECTED = 4,
};

/* Money: "12.05" for 1205 cents (the CurrencyAmount format). */
void mturk_money_format(int64_t cents, char *out, size_t outsz);
/* "12.05", "5", "0.5" -> cents; -1 when s is not a CurrencyAmount. */
int mturk_money_parse(const char *s, int64_t *cents);

/*
 * Creates a Qualification type, or finds the caller's existing one with the
 * same name (the service refuses duplicate names).  id gets its id.
 */
int mturk_create_qualification_type(struct mturk_client *c, const char *name,
				     const char *description,
				     char id[MTURK_ID_MAX], struct errbuf *eb);
/* Grants a qualification with SendNotification false. */
int mturk_associate_qualification(struct mturk_client *c, const char *qual_id,
				  const char *worker_id, int64_t value,
				  struct errbuf *eb);
int mturk_create_hit_type(struct mturk_client *c, const struct mturk_hit_type *t,
			  char id[MTURK_ID_MAX], struct errbuf *eb);
/*
 * CreateHITWithHITType with UniqueRequestToken token.  When the service says
 * the token already made a HIT, that HIT is the answer: *recovered is set,
 * its HITId is taken from the message and the rest read with GetHIT.
 */
int mturk_create_hit(struct mturk_client *c, const char *hit_type_id,
		     const char *question, int64_t lifetime,
		     int64_t max_assignments, const char *annotation,
		     const char *token, struct mturk_hit *out, bool *recovered,
		     struct errbuf *eb);
int mturk_get_hit(struct mturk_client *c, const char *hit_id,
		  struct mturk_hit *out, struct errbuf *eb);
/*
 * One page of ListHITs.  *hits is allocated (free()), next_token gets the
 * next page's token or "" after the last page.
 */
int mturk_list_hits_page(struct mturk_client *c, const char *token,
			 int max_results, struct mturk_hit **hits, size_t *n,
			 char *next_token, size_t next_token_size,
			 struct errbuf *eb);
/*
 * Searches every page of ListHITs for the HIT whose RequesterAnnotation is
 * annotation (recovery after the 24 h token window).  *found false if none.
 */
int mturk_find_hit_by_annotation(struct mturk_client *c, const char *annotation,
				 struct mturk_hit *out, bool *found,
				 struct errbuf *eb);
/* All pages; *out is freed with mturk_assignments_free(). */
int mturk_list_assignments(struct mturk_client *c, const char *hit_id,
			   int statuses, struct mturk_assignment **out,
			   size_t *n, struct errbuf *eb);
/* hit may be NULL.  out is cleaned with mturk_assignment_cleanup(). */
int mturk_get_assignment(struct mturk_client *c, const char *assignment_id,
			 struct mturk_assignment *out, struct mturk_hit *hit,
			 struct errbuf *eb);
/* A repeat approve of an Approved assignment is a success. */
int mturk_approve_assignment(struct mturk_client *c, const char *assignment_id,
			     const char *feedback, struct errbuf *eb);
/* feedback is required: the worker sees it. */
int mturk_reject_assignment(struct mturk_client *c, const char *assignment_id,
			    const char *feedback, struct errbuf *eb);
/* A repeat of the same (hit_id, expire_at) is a success. */
int mturk_update_expiration(struct mturk_client *c, const char *hit_id,
			    int64_t expire_at, struct errbuf *eb);
int mturk_delete_hit(struct mturk_client *c, const char *hit_id,
		     struct errbuf *eb);
int mturk_get_account_balance(struct mturk_client *c, int64_t *available_cents,
			      int64_t *on_hold_cents, struct errbuf *eb);

/* ==== image_host.c: stage image hosting ================================= */

/*
 * Stage images reach workers through a host (spec section 5): an S3 bucket
 * (SigV4 PutObject, presigned GET URL), the simulator's S3-compatible
 * endpoint (the same code), or a local directory that a web server
 * publishes.  Object names are 128 random bits in hex plus an extension.
 */

#define MTURK_PRESIGN_MAX (7 * 24 * 3600) /* SigV4 presigned URL limit */
#define MTURK_URL_MAX 2048

enum mturk_host_kind {
	MTURK_HOST_S3,
	MTURK_HOST_LOCAL,
	MTURK_HOST_SIMULATOR,
};

struct mturk_host_config {
	enum mturk_host_kind kind;
	/* s3 and simulator */
	const char *bucket;
	const char *region;   /* NULL = "us-east-1" */
	const char *prefix;   /* key prefix, e.g. "intofocus/"; NULL = none */
	const char *endpoint; /* NULL = https://s3.REGION.amazonaws.com */
	bool path_style;      /* forced for endpoint overrides and simulator */
	int64_t url_expiry;   /* upper bound in seconds; 0 = 7 days */
	const struct aws_creds *creds; /* borrowed */
	struct http_options http;
	struct mturk_clock clock;
	/* local */
	const char *dir;
	const char *base_url;
};

struct mturk_hosted {
	char key[128];		 /* object name (with the prefix) */
	char url[MTURK_URL_MAX]; /* what the task page shows */
	int64_t expires_at;	 /* 0 = never (local) */
};

struct mturk_image_host;

int mturk_image_host_new(const struct mturk_host_config *cfg,
			 struct mturk_image_host **out, struct errbuf *eb);
void mturk_image_host_free(struct mturk_image_host *h);

/*
 * Publishes one image under a fresh random name with extension ext (".jpg")
 * and returns where workers fetch it.  valid_for is how long the URL must
 * work (the HIT's lifetime plus its assignment duration); presigned URLs
 * are clamped to url_expiry and to 7 days.
 */
int mturk_image_host_put(struct mturk_image_host *h, const void *data,
			 size_t len, const char *content_type, const char *ext,
			 int64_t valid_for, struct mturk_hosted *out,
			 struct errbuf *eb);
/* A fresh URL for an object put earlier (key as returned by put). */
int mturk_image_host_url(struct mturk_image_host *h, const char *key,
			 int64_t valid_for, struct mturk_hosted *out,
			 struct errbuf *eb);
/* 32 lower-case hex digits from 128 random bits, then ext.  0 or -1. */
int mturk_random_object_name(const char *ext, char *out, size_t outsz);

/* ==== task_page.c: the worker task page (HTMLQuestion) ================== */

/* ==== sim_*.c: the simulator ============================================ */

#endif /* INTOFOCUS_MTURK_H */
