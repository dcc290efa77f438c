/*
 * mturk/mturk.h - everything that talks to Mechanical Turk and to image
 * hosting (spec sections 5 and 7).  The MTurk-compatible simulator is in
 * sim/ (sim/sim.h).
 *
 * Sections below are grouped by the .c file that defines them.
 */
#ifndef INTOFOCUS_MTURK_H
#define INTOFOCUS_MTURK_H

#include "common/common.h"
#include "imaging/imaging.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* ==== sigv4.c: the pure SigV4 signer ==================================== */

/*
 * AWS Signature Version 4, pure: the time is passed in, nothing reads a
 * clock, a file or the network.  Signing is staged (canonical request ->
 * string to sign -> signature -> Authorization value) so each stage can be
 * tested on its own; sigv4_sign_headers() and sigv4_presign() run the whole
 * chain and keep every intermediate artifact in a struct sigv4_result.
 * sigv4_verify() is the simulator's side: it recomputes a received
 * request's signature and says why it refuses one, as AWS would.
 */

#define SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SIGV4_HEX_LEN 64 /* hex SHA-256 / HMAC-SHA256 */
/* AWS accepts request times this far (seconds) from its own clock. */
#define SIGV4_MAX_SKEW 900
/* Longest presigned URL lifetime AWS accepts (7 days, in seconds). */
#define SIGV4_MAX_EXPIRES 604800

struct sigv4_header {
	const char *name;
	const char *value;
};

/*
 * One HTTP request as it goes on the wire (all borrowed).  headers are the
 * headers to sign, in any order and case; names may repeat (their values are
 * joined with ',' in order).  host must be among them.  The signer adds its
 * own X-Amz-Date (and token, content hash) headers: they must not be given.
 */
struct sigv4_request {
	const char *method;
	const char *path;  /* as sent, possibly percent-encoded; "" means "/" */
	const char *query; /* raw, without '?'; NULL or "" = none */
	const struct sigv4_header *headers;
	size_t nheaders;
	const void *body; /* may be NULL when body_len is 0 */
	size_t body_len;
	/*
	 * NULL: hex SHA-256 of the body.  Otherwise used as the payload hash
	 * as it is, e.g. SIGV4_UNSIGNED_PAYLOAD.
	 */
	const char *payload_hash;
};

/* Who signs, for what and when (all borrowed). */
struct sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token; /* NULL = none; else signed ("before") */
	const char *region;	   /* "us-east-1" */
	const char *service;	   /* "mturk-requester", "s3" */
	time_t when;		   /* the signing time, UTC seconds */
	/*
	 * S3 rules: the path is neither normalised (no removal of "." and
	 * ".." segments or of "//") nor encoded a second time (an existing
	 * %XX stays as it is).  Other services do both.
	 */
	bool s3;
	/*
	 * Adds and signs x-amz-content-sha256 (the payload hash) in the
	 * header variant.  S3 requires it; set it with s3.
	 */
	bool sign_body;
};

/*
 * Everything one signing produced.  Initialise with sigv4_result_init(),
 * release with sigv4_result_cleanup() (which also wipes it); a result can
 * be reused for another signing after cleanup + init.
 */
struct sigv4_result {
	char amz_date[17];			    /* 20150830T123600Z */
	char payload_hash[SIGV4_HEX_LEN + 1];	    /* or UNSIGNED-PAYLOAD */
	char signature[SIGV4_HEX_LEN + 1];	    /* lower-case hex */
	struct buf canonical_request;
	struct buf string_to_sign;
	struct buf signed_headers;		    /* "host;x-amz-date" */
	struct buf authorization; /* header variant: the Authorization value */
	/*
	 * Presign variant: the query string to send (the request's query,
	 * then the X-Amz-* parameters), without '?'.
	 */
	struct buf query;
	/*
	 * Header variant: the headers to add to the request when it is sent,
	 * in this order: X-Amz-Date, X-Amz-Security-Token (with a token),
	 * X-Amz-Content-Sha256 (with sign_body), Authorization.  Values point
	 * into this struct or into the params.
	 */
	struct sigv4_header add[4];
	size_t nadd;
};

void sigv4_result_init(struct sigv4_result *r);
void sigv4_result_cleanup(struct sigv4_result *r);

/* "20150830T123600Z" for t into out (at least 17 bytes).  0 or -1. */
int sigv4_format_date(time_t t, char out[17]);
/* The reverse; -1 unless s is exactly that form and a valid time. */
int sigv4_parse_date(const char *s, time_t *out);

/*
 * Stage 1: the canonical request of req, signing exactly req->headers (the
 * caller has put X-Amz-Date and the rest among them).  Appends to out.
 * IF_EINPUT for a request that cannot be signed (no host header, a header
 * name with a control character, no method).
 */
int sigv4_canonical_request(const struct sigv4_request *req, bool s3,
			    struct buf *out, struct errbuf *eb);

/* Stage 2: the string to sign for a canonical request; appends to out. */
int sigv4_string_to_sign(const char *canonical_request, size_t len,
			 const struct sigv4_params *p, struct buf *out,
			 struct errbuf *eb);

/*
 * Stage 3: the lower-case hex signature of string_to_sign with the key
 * derived from p (secret, date of p->when, region, service).  The derived
 * keys are wiped before returning.
 */
int sigv4_signature(const char *string_to_sign, size_t len,
		    const struct sigv4_params *p,
		    char out[SIGV4_HEX_LEN + 1], struct errbuf *eb);

/*
 * Stage 4: "AWS4-HMAC-SHA256 Credential=<id>/<scope>, SignedHeaders=<list>,
 * Signature=<hex>"; appends to out.
 */
int sigv4_authorization(const struct sigv4_params *p,
			const char *signed_headers, const char *signature,
			struct buf *out, struct errbuf *eb);

/*
 * Header signing, the whole chain: adds X-Amz-Date (and the token and
 * content hash headers as p asks), signs, and fills r with every stage and
 * the headers to add (r->add).  IF_EINPUT when req already carries one of
 * the headers the signer adds, or cannot be signed.
 */
int sigv4_sign_headers(const struct sigv4_request *req,
		       const struct sigv4_params *p, struct sigv4_result *r,
		       struct errbuf *eb);

/*
 * Query-string signing (a presigned URL valid for expires seconds, 1 to
 * SIGV4_MAX_EXPIRES): fills r->query with the request's query plus
 * X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
 * -Security-Token (with a token) and -Signature.  The payload hash is
 * req->payload_hash, else UNSIGNED-PAYLOAD under S3 rules, else the body's
 * hash.  The URL to hand out is scheme://host + req->path + "?" + r->query.
 */
int sigv4_presign(const struct sigv4_request *req,
		  const struct sigv4_params *p, long expires,
		  struct sigv4_result *r, struct errbuf *eb);

/* Why a received request was refused. */
enum sigv4_verdict {
	SIGV4_VALID = 0,
	SIGV4_MISSING,	    /* no Authorization header, no X-Amz-Algorithm */
	SIGV4_INCOMPLETE,   /* malformed or incomplete signature fields */
	SIGV4_UNKNOWN_KEY,  /* access key id not known */
	SIGV4_BAD_TOKEN,    /* security token missing or wrong */
	SIGV4_BAD_SCOPE,    /* credential scope: wrong date, region, service */
	SIGV4_SKEWED,	    /* X-Amz-Date too far from now */
	SIGV4_EXPIRED,	    /* presigned URL past its X-Amz-Expires */
	SIGV4_MISMATCH,	    /* the signature does not match */
};

/*
 * The AWS error code for a verdict ("SignatureDoesNotMatch",
 * "IncompleteSignature", "InvalidClientTokenId", "RequestExpired",
 * "InvalidSignatureException" for skew, ...); "" for SIGV4_VALID.
 */
const char *sigv4_verdict_code(enum sigv4_verdict v);

/*
 * Looks up the secret of an access key id for the verifier: returns it
 * (borrowed, must live until sigv4_verify returns) and sets *token to the
 * session token that key requires (NULL: none), or returns NULL for an
 * unknown key.
 */
typedef const char *sigv4_secret_fn(void *arg, const char *access_key_id,
				    const char **token);

/* What the verifier expects of a received request. */
struct sigv4_expect {
	const char *region;
	const char *service;
	bool s3;
	time_t now;	 /* the verifier's clock */
	long max_skew;	 /* seconds; 0 = SIGV4_MAX_SKEW */
	sigv4_secret_fn *secret_for;
	void *arg;
	/*
	 * S3 header-signed requests: take x-amz-content-sha256 as the payload
	 * hash without hashing the body, which the caller checks against it
	 * itself once read.  So that a server can refuse a bad signature
	 * before it reads a byte of the body.
	 */
	bool s3_defer_payload;
};

/*
 * Verifies a received request: req holds the method, the raw path and
 * query as received, ALL received headers (only those named in
 * SignedHeaders are used; host must be one) and the body; payload_hash is
 * ignored (the verifier computes it, taking x-amz-content-sha256 under S3
 * rules).  Both variants are understood: an Authorization header, or
 * X-Amz-* query parameters (presigned).  The signatures are compared in
 * constant time.  Returns IF_OK with *verdict SIGV4_VALID, or IF_EINPUT
 * with the reason in *verdict and an AWS-like message in eb (never a
 * secret); IF_ERUNTIME when memory runs out.
 */
int sigv4_verify(const struct sigv4_request *req,
		 const struct sigv4_expect *x, enum sigv4_verdict *verdict,
		 struct errbuf *eb);

/* ==== credentials.c: the credentials chain ============================== */

/*
 * AWS credentials, found as the AWS tools find them (spec section 2):
 *   1. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      (+ AWS_SESSION_TOKEN);
 *   2. the shared credentials file: AWS_SHARED_CREDENTIALS_FILE, else
 *      $HOME/.aws/credentials;
 *   3. systemd credentials: $CREDENTIALS_DIRECTORY/aws, same INI format.
 * The profile read from a file is the caller's (the experiment's
 * mturk.profile or --profile), else AWS_PROFILE, else "default": an
 * explicit choice beats the ambient one.  A file that group or others can
 * read is refused.  A profile named by the caller or AWS_PROFILE that no
 * file holds is an error naming the files and the profile.
 *
 * Secrets have no printing helper; they are wiped on free.  Only `source`
 * may appear in logs.
 */

/* The environment the chain reads, as values (tests fill it by hand). */
struct aws_creds_env {
	const char *access_key_id;	   /* AWS_ACCESS_KEY_ID */
	const char *secret_access_key;	   /* AWS_SECRET_ACCESS_KEY */
	const char *session_token;	   /* AWS_SESSION_TOKEN */
	const char *shared_credentials_file; /* AWS_SHARED_CREDENTIALS_FILE */
	const char *profile;		   /* AWS_PROFILE */
	const char *home;		   /* HOME */
	const char *credentials_directory; /* CREDENTIALS_DIRECTORY */
};

/* Fills env from the process environment (pointers into it). */
void aws_creds_env_from_process(struct aws_creds_env *env);

struct aws_creds {
	char *access_key_id;
	char *secret_access_key;
	char *session_token; /* NULL when none */
	/*
	 * Where they came from, for logs; no secret: "environment", or
	 * "/home/u/.aws/credentials [profile exp]".
	 */
	char source[512];
};

/*
 * Walks the chain.  profile: the caller's explicit profile, or NULL.  On
 * success *out is a new struct aws_creds (aws_creds_free() it).  IF_EINPUT
 * when no source has credentials, a named profile is missing, a file is
 * malformed (file:line) or readable by others, or only half of a key pair
 * is set in the environment.
 */
int aws_creds_load(const struct aws_creds_env *env, const char *profile,
		   struct aws_creds **out, struct errbuf *eb);

/*
 * Like aws_creds_load(), but finding nothing (no variables, no file with a
 * [default] profile, and no profile named by the caller or AWS_PROFILE) is
 * not an error: IF_OK with *out NULL.  For the simulator, which then uses
 * its fixed pair.
 */
int aws_creds_find(const struct aws_creds_env *env, const char *profile,
		   struct aws_creds **out, struct errbuf *eb);

/* A new struct aws_creds holding copies of the three values (tests, sim). */
struct aws_creds *aws_creds_new(const char *access_key_id,
				const char *secret_access_key,
				const char *session_token, const char *source);

/* Wipes and frees; NULL is a no-op. */
void aws_creds_free(struct aws_creds *c);

/* ==== answer.c: QuestionFormAnswers XML ================================= */

/*
 * Assignment.Answer, the QuestionFormAnswers XML MTurk writes from the
 * task page's form (spec sections 5 and 7): `boxes` (a JSON array of
 * [x, y, w, h] integers), `face_found` (yes|no), `feedback` (free text)
 * and, when the page has the slider, `confidence` (a JSON array as long
 * as boxes of integers 0..100 or null).  Parsing is hardened: size capped
 * before libxml2 sees a byte, no network, no DTD, no entity declarations
 * or substitution.  The formatter
 * writes the XML exactly as MTurk does, for the simulator.
 */

#define ANSWER_MAX_XML (1024 * 1024) /* bytes of answer XML accepted */
#define ANSWER_MAX_BOXES 200	     /* boxes in one answer */
#define ANSWER_NAMESPACE                                                      \
	"http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/"   \
	"2005-10-01/QuestionFormAnswers.xsd"

/* Why an answer was refused. */
enum answer_error {
	ANSWER_OK = 0,
	ANSWER_TOO_LARGE,	/* more than ANSWER_MAX_XML bytes */
	ANSWER_NOT_XML,		/* not well-formed XML, or not ASCII/UTF-8 */
	ANSWER_DTD,		/* has a DTD or entity declarations */
	ANSWER_BAD_SHAPE,	/* not QuestionFormAnswers as MTurk writes it */
	ANSWER_MISSING_FIELD,	/* boxes or face_found absent; empty answer */
	ANSWER_DUPLICATE_FIELD, /* a known field given twice */
	ANSWER_BAD_BOXES,	/* boxes not an array of 4-integer arrays */
	ANSWER_TOO_MANY_BOXES,	/* more than ANSWER_MAX_BOXES */
	ANSWER_BAD_FACE_FOUND,	/* face_found neither yes nor no */
	/* confidence not an array of 0..100 or null, one per box */
	ANSWER_BAD_CONFIDENCE,
};

/* A short name for the reason ("too_large", "bad_boxes", ...). */
const char *answer_error_str(enum answer_error e);

/* One worker's parsed answer. */
struct answer {
	struct box *boxes; /* clipped to the image, empty ones dropped */
	size_t nboxes;
	size_t ndropped; /* boxes given but empty or outside the image */
	bool face_found;
	char *feedback; /* UTF-8; "" when absent; never NULL after a parse */
	/*
	 * The optional confidence field: per kept box, 0..100, or -1 where
	 * the worker gave none; NULL when the answer has no such field.
	 */
	int *confidence;
};

void answer_init(struct answer *a);
/* Frees what a parse filled; the struct can be parsed into again. */
void answer_cleanup(struct answer *a);

/*
 * Parses len bytes of answer XML for an image of img_w x img_h pixels.
 * Fields other than the four are ignored.  On failure (IF_EINPUT) *why
 * says why, eb says what (field, box index, value), and a is left empty:
 * an answer is never half-read.  More than ANSWER_MAX_BOXES boxes is an
 * error rather than a truncation, because a dropped box may be the one
 * covering a face: the caller must see the answer as bad, not act on part
 * of it.  A box with a negative width or height, or a coordinate beyond
 * +-(1 << 24), is malformed; a box partly outside the image is clipped and
 * one wholly outside (or of zero size) is dropped and counted.
 */
int answer_parse(const char *xml, size_t len, int img_w, int img_h,
		 struct answer *a, enum answer_error *why, struct errbuf *eb);

/* One submitted form field, for the formatter (borrowed, UTF-8). */
struct answer_field {
	const char *name;
	const char *value;
};

/*
 * Appends to out the QuestionFormAnswers XML MTurk writes for these form
 * fields, in order: the ASCII declaration, the 2005-10-01 namespace, one
 * <Answer><QuestionIdentifier>name</QuestionIdentifier><FreeText>value
 * </FreeText></Answer> per field, XML-escaped, every non-ASCII character
 * as a character reference.  IF_EINPUT for a name or value that is not
 * valid UTF-8 or holds a character XML cannot carry; out is then as it was.
 */
int answer_format(const struct answer_field *fields, size_t n,
		  struct buf *out, struct errbuf *eb);

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
/*
 * The push of the project's own server (issue 19), never sent to MTurk: the
 * server's API answers carry MTURK_PUSH_HEADER, and only then does the
 * daemon send MTURK_PUSH_TARGET, signed as an API request, to wait for HITs
 * that become Reviewable (see sim/sim_push.c for the exchange).
 */
#define MTURK_PUSH_HEADER "X-IntoFocus-Push"
#define MTURK_PUSH_TARGET "IntoFocusPush20261207.WaitForReviewableHITs"
#define MTURK_SERVICE "mturk-requester"
#define MTURK_REGION "us-east-1"

struct aws_creds;

/* -- http.c: the libcurl boundary -- */

struct http_options {
	long connect_timeout_ms; /* [default: 10000] */
	long timeout_ms;	 /* whole transfer [default: 30000] */
	size_t max_body;	 /* response body cap [default: 8 MiB] */
	bool trace;		 /* log_debug() each exchange, redacted */
	/*
	 * PEM file of the only CA certificates TLS peers are verified
	 * against (borrowed); NULL = the system's store [default].
	 */
	const char *ca_file;
};

struct http_request {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *url;    /* sent as is (CURLOPT_PATH_AS_IS) */
	/* "Name: value" lines, NULL-terminated; these replace curl's own. */
	const char *const *headers;
	const void *body;
	size_t body_len;
	/*
	 * When not 0, the answer is JSON and every string value longer than
	 * this many bytes (at most a quarter of max_body) is kept as ""
	 * (counted in strings_elided), so that the rest of an answer with one
	 * huge field can be read under the cap.
	 */
	size_t elide_strings_over;
};

struct http_response {
	long status;	       /* 0 when no response arrived */
	int curl_code;	       /* CURLcode of the transfer; 0 = CURLE_OK */
	bool body_over_cap;    /* the answer was larger than max_body */
	size_t strings_elided; /* see http_request.elide_strings_over */
	struct buf body;       /* capped at http_options.max_body */
	char date[64];	       /* Date header, "" if none */
	char request_id[128];  /* x-amzn-RequestId or x-amz-request-id */
	char error_type[128];  /* x-amzn-ErrorType, "" if none */
	char content_type[128];
	char push[8]; /* MTURK_PUSH_HEADER, "" if none */
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

/*
 * http_perform, waiting in ppoll() under the signal mask wake: a signal
 * it lets through ends the exchange at once with *woken set (and
 * IF_ETEMP), so that a long wait does not delay a stop or a reload.
 */
int http_perform_wakeable(struct http_client *c,
			  const struct http_request *req,
			  struct http_response *resp, const sigset_t *wake,
			  bool *woken, struct errbuf *eb);

/*
 * A pool of n handles on one multi handle (one connection cache), for
 * independent exchanges at once (issue 19).
 */
struct http_pool;
int http_pool_new(const struct http_options *opt, size_t n,
		  struct http_pool **out, struct errbuf *eb);
void http_pool_free(struct http_pool *p);
size_t http_pool_size(const struct http_pool *p);
/*
 * Performs reqs[i] into resps[i], at most the pool's size at a time, each
 * rcs[i] and ebs[i] as http_perform's; before_start (when not NULL) is
 * called before each transfer starts, to pace them.  IF_OK, or
 * IF_ERUNTIME when out of memory (no exchange made).
 */
int http_pool_perform(struct http_pool *p, const struct http_request *reqs,
		      struct http_response *resps, int *rcs,
		      struct errbuf *ebs, size_t n,
		      void (*before_start)(void *arg), void *arg);

/* Seconds since the epoch for an HTTP date, -1 if it cannot be parsed. */
int64_t http_date_parse(const char *date);

/* -- errors.c: one classification of remote failures -- */

/*
 * What a failure means for the caller, beyond "may a retry help now"
 * (mturk_error_is_retryable, which bounds the retries inside one call):
 *   PASSING      throttling, 5xx, network, clock skew, an answer not yet
 *                consistent: the same request later may well succeed;
 *   REQUEST      this request is refused for what it says (RequestError,
 *                ParameterValidationError, ...): another request may pass;
 *   CREDENTIALS  the keys, the token, the signature or the permissions are
 *                refused: every request will be, until an operator acts;
 *   FUNDS        the requester account cannot pay: nothing that costs money
 *                will pass until someone adds funds;
 *   SERVICE      the endpoint cannot be used at all (its certificate, its
 *                protocol): every request will fail the same way.
 * The last three are account-wide.  NONE is no failure.
 */
enum mturk_fault {
	MTURK_FAULT_NONE = 0,
	MTURK_FAULT_PASSING,
	MTURK_FAULT_REQUEST,
	MTURK_FAULT_CREDENTIALS,
	MTURK_FAULT_FUNDS,
	MTURK_FAULT_SERVICE,
};

/*
 * A failed call, typed: the operation, what came back (HTTP status, the
 * service's error code, its message) and what it means (fault).  Callers
 * decide with the questions below (mturk_error_is, mturk_error_fault,
 * mturk_error_is_hit_gone, ...), never by reading message.
 */
struct mturk_error {
	char operation[64];    /* e.g. "CreateHITWithHITType"; "" unknown */
	enum mturk_fault fault; /* set by mturk_call (mturk_error_fault) */
	long http_status;      /* 0 when no response arrived */
	int curl_code;	       /* CURLcode; 0 when the exchange completed */
	char type[128];	       /* __type without "ns#" prefix, ":..." suffix */
	char turk_code[128];   /* TurkErrorCode, e.g. AWS.MechanicalTurk.X */
	char message[512];     /* Message (or message) */
	char request_id[128];  /* x-amzn-RequestId */
	bool retryable;	       /* set by mturk_error_is_retryable() */
	bool response_over_cap; /* the answer passed http_options.max_body */
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


/* THE classification of a failure by its consequence (see above). */
enum mturk_fault mturk_error_fault(const struct mturk_error *e);
/* "passing", "request", "credentials", "funds", "service" or "none". */
const char *mturk_fault_str(enum mturk_fault f);
/* CREDENTIALS, FUNDS or SERVICE: no other request will fare better. */
bool mturk_fault_is_account_wide(enum mturk_fault f);
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
/* The service's RequestError: it refuses the request for what it says. */
bool mturk_error_is_request_error(const struct mturk_error *e);
/* HITDoesNotExist: the service no longer knows the HIT. */
bool mturk_error_is_hit_gone(const struct mturk_error *e);
/*
 * The answer was larger than the client's response cap (max_body): the
 * same request fails the same way; a smaller page may pass.
 */
bool mturk_error_is_response_over_cap(const struct mturk_error *e);
/*
 * A refusal that names a qualification (a QualificationTypeDoesNotExist
 * of a HIT type's requirements, say): the experiment's settings, not the
 * request of one image.
 */
bool mturk_error_is_qualification_refusal(const struct mturk_error *e);
/* CreateQualificationType refused a name the requester already uses. */
bool mturk_error_is_name_taken(const struct mturk_error *e);
/*
 * A repeat of an UpdateExpirationForHIT already done ("The idempotency
 * token ... has already been processed"; mturk-facts 1.4).
 */
bool mturk_error_is_processed_repeat(const struct mturk_error *e);

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

/*
 * The client's own limit on its request rate: MTurk publishes none but
 * throttles bursts ("Rate exceeded"), so requests are paced by a token
 * bucket of burst tokens refilled at per_second, and at most concurrency
 * go out at once (mturk_settle_many).
 */
struct mturk_rate {
	int per_second;	 /* [default: 20]; < 0: no pace */
	int burst;	 /* [default: 40] */
	int concurrency; /* [default: 8] */
	/*
	 * The pace's clock, for tests: ms of a monotonic clock and a sleep
	 * [default: NULL = CLOCK_MONOTONIC and nanosleep].
	 */
	int64_t (*mono_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, int64_t ms);
	void *ctx;
};

struct mturk_retry_policy {
	int max_attempts; /* total tries per call [default: 5] */
	int64_t base_ms;  /* first backoff ceiling [default: 1000] */
	int64_t cap_ms;	  /* backoff ceiling cap [default: 20000] */
	/*
	 * A retry is not started when its wait would take the call past this
	 * many seconds (of the client's clock), so that a daemon step stays
	 * within its watchdog [default: 0 = only max_attempts bounds a call].
	 */
	int64_t max_elapsed_s;
};

struct mturk_client_config {
	const char *endpoint; /* NULL = MTURK_ENDPOINT_SANDBOX */
	const char *region;   /* NULL = "us-east-1" (also for the sandbox) */
	const struct aws_creds *creds; /* borrowed; must outlive the client */
	struct http_options http;
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
	struct mturk_rate rate;
};

struct mturk_client;

/* Validates the endpoint (https, or http on loopback) and opens a handle. */
int mturk_client_new(const struct mturk_client_config *cfg,
		     struct mturk_client **out, struct errbuf *eb);
void mturk_client_free(struct mturk_client *c);
/*
 * A second handle on c's endpoint, credentials and options, for another
 * thread (daemon/pool.c): its own connections and last error, but c's
 * token bucket and request counters (mturk_client_sent of either counts
 * both).  c must outlive it.
 */
int mturk_client_clone(struct mturk_client *c, struct mturk_client **out,
		       struct errbuf *eb);
const char *mturk_client_endpoint(const struct mturk_client *c);
/* Seconds added to the clock when signing, learnt from clock-skew errors. */
int64_t mturk_client_clock_offset(const struct mturk_client *c);
/*
 * The fault of the client's last call (MTURK_FAULT_NONE when it succeeded),
 * so that a caller of a typed operation that failed can tell a passing
 * failure from a refused request or an account-wide refusal.  Meaningful
 * right after a failed operation; an operation that fails before calling
 * (e.g. a request it cannot build) leaves the previous value, so callers
 * reset it first with mturk_client_fault_reset().
 */
enum mturk_fault mturk_client_fault(const struct mturk_client *c);
void mturk_client_fault_reset(struct mturk_client *c);
/*
 * The typed error of the client's last call (all empty, fault NONE, when
 * it succeeded or after mturk_client_fault_reset()); valid until the next
 * call.  Its fault is mturk_client_fault().
 */
const struct mturk_error *mturk_client_last_error(
	const struct mturk_client *c);

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

/* Fills the NULL members of k with the real clock, sleep and random. */
void mturk_clock_defaults(struct mturk_clock *k);

/* The backoff before retry number attempt (0-based) for a random r. */
int64_t mturk_backoff_ms(const struct mturk_retry_policy *p, int attempt,
			 double r);

/* True when name is an operation of the 2017-01-17 API. */
bool mturk_operation_known(const char *name);
/* The known operation names, NULL-terminated, sorted. */
const char *const *mturk_operation_names(void);
/*
 * Requests c has sent for operation (retries and pages included), or for
 * every operation when operation is NULL; 0 for an unknown name.
 */
uint64_t mturk_client_sent(const struct mturk_client *c,
			   const char *operation);

/* -- ops.c: typed operations -- */

#define MTURK_ID_MAX 65	    /* EntityId: 1-64 characters, + NUL */
#define MTURK_WORKER_MAX 256 /* WorkerId: allocate for 255 bytes */

/* -- settle.c: independent calls at once (issue 19) -- */

enum mturk_settle_kind {
	MTURK_SETTLE_APPROVE,	/* ApproveAssignment(id), read back */
	MTURK_SETTLE_GRANT,	/* AssociateQualificationWithWorker */
	MTURK_SETTLE_REVIEWING, /* UpdateHITReviewStatus(id) to Reviewing */
};

struct mturk_settle {
	enum mturk_settle_kind kind;
	const char *id;	       /* assignment, qualification type or HIT */
	const char *worker_id; /* GRANT: the worker */
	int64_t value;	       /* GRANT: the qualification's value */
	/* Out, as the single typed call leaves them: */
	int rc;
	char status[16]; /* APPROVE, REVIEWING: the read-back, or "" */
	enum mturk_fault fault;
	struct mturk_error error; /* of its last call, when it failed */
	struct errbuf eb;
};

/*
 * Makes every item's call (mturk_approve_assignment,
 * mturk_associate_qualification, mturk_update_hit_review_status), the
 * first tries at once on the client's pool and under its pace, the rest
 * as those calls make them.  IF_OK when each item has its result; an
 * error only when none could be tried (out of memory).
 */
int mturk_settle_many(struct mturk_client *c, struct mturk_settle *items,
		      size_t n, struct errbuf *eb);

/* -- push.c: the long poll of the project's own server (issue 19) -- */

/* The server's API answers offered the push (MTURK_PUSH_HEADER). */
bool mturk_client_push_offered(const struct mturk_client *c);
/* Push waits sent (not among the operations' counts). */
uint64_t mturk_client_push_sent(const struct mturk_client *c);

struct mturk_push_answer {
	int64_t now_ms; /* the server's clock: the next wait's since_ms */
	char (*hit_ids)[MTURK_ID_MAX]; /* became Reviewable */
	size_t n;
	bool more;  /* more than hit_ids: treat every HIT as due */
	bool woken; /* a signal ended the wait: nothing else is set */
};

void mturk_push_answer_cleanup(struct mturk_push_answer *a);

/*
 * Waits up to wait_ms for HITs that became Reviewable at or after since_ms
 * (the server's clock; 0 the first time), under the signal mask wake.
 * IF_OK with the answer, or with out->woken when a signal ended the wait;
 * IF_EINPUT when the server offers no push; otherwise the failure, for
 * the caller to poll instead.
 */
int mturk_push_wait(struct mturk_client *c, int64_t since_ms, int64_t wait_ms,
		    const sigset_t *wake, struct mturk_push_answer *out,
		    struct errbuf *eb);

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
	char *answer;		  /* QuestionFormAnswers XML; owned, non-NULL */
	char *requester_feedback; /* owned, never NULL */
	/*
	 * The assignment alone was larger than the response cap: answer is
	 * "" and cannot be read (mturk_list_assignments).
	 */
	bool answer_too_large;
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
int mturk_create_hit_type(struct mturk_client *c,
			  const struct mturk_hit_type *t, char id[MTURK_ID_MAX],
			  struct errbuf *eb);
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
/*
 * One page of ListReviewableHITs: the HITs of type hit_type_id (NULL = all
 * of the requester's) whose status is status ("Reviewable" or "Reviewing";
 * NULL = the service's default, Reviewable).  max_results 1-100 (else 100),
 * token "" or NULL for the first page.  *hits is allocated (free()),
 * next_token gets the next page's token or "" after the last page.
 */
int mturk_list_reviewable_hits_page(struct mturk_client *c,
				    const char *hit_type_id, const char *status,
				    const char *token, int max_results,
				    struct mturk_hit **hits, size_t *n,
				    char *next_token, size_t next_token_size,
				    struct errbuf *eb);
/*
 * Every page of ListReviewableHITs, 100 HITs a page; *hits is allocated
 * (free(); NULL when none).  *pages (may be NULL) gets the number of pages
 * asked for, also on failure.
 */
int mturk_list_reviewable_hits(struct mturk_client *c, const char *hit_type_id,
			       const char *status, struct mturk_hit **hits,
			       size_t *n, int *pages, struct errbuf *eb);
/*
 * UpdateHITReviewStatus: revert false moves a Reviewable HIT to Reviewing,
 * revert true a Reviewing HIT back to Reviewable.  When the service
 * refuses, the HIT is read back with GetHIT (as a second approve is): a
 * HIT already in the status asked for counts as done.  hit_status (may be
 * NULL; size bytes) gets the status GetHIT saw, "" when it was not asked, so
 * that a caller can tell "not Reviewable yet" (Assignable, Unassignable)
 * from a real failure.
 */
int mturk_update_hit_review_status(struct mturk_client *c, const char *hit_id,
				   bool revert, char *hit_status, size_t size,
				   struct errbuf *eb);
/* All pages; *out is freed with mturk_assignments_free(). */
int mturk_list_assignments(struct mturk_client *c, const char *hit_id,
			   int statuses, struct mturk_assignment **out,
			   size_t *n, struct errbuf *eb);
/* hit may be NULL.  out is cleaned with mturk_assignment_cleanup(). */
int mturk_get_assignment(struct mturk_client *c, const char *assignment_id,
			 struct mturk_assignment *out, struct mturk_hit *hit,
			 struct errbuf *eb);
/*
 * A repeat approve of an Approved assignment is a success.  When the
 * service refuses with InvalidAssignmentState, the assignment is read back
 * with GetAssignment, and status (may be NULL; size bytes) gets the status
 * seen ("" when it was not asked): Submitted is the eventual consistency
 * right after a submit and passes; Rejected (someone rejected it outside
 * this call, and without OverrideRejection approve never succeeds from
 * there) or any other status will not.  The message then names the status
 * and the rejection's feedback.
 */
int mturk_approve_assignment(struct mturk_client *c, const char *assignment_id,
			     const char *feedback, char *status, size_t size,
			     struct errbuf *eb);
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
/* A second handle like h (its own connection), for another thread. */
int mturk_image_host_clone(const struct mturk_image_host *h,
			   struct mturk_image_host **out, struct errbuf *eb);

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
/*
 * The fault of the last put's failure (see enum mturk_fault): NONE after a
 * success or a failure of our own (a bad extension, no random bytes).
 */
enum mturk_fault mturk_image_host_fault(const struct mturk_image_host *h);
/* A fresh URL for an object put earlier (key as returned by put). */
int mturk_image_host_url(struct mturk_image_host *h, const char *key,
			 int64_t valid_for, struct mturk_hosted *out,
			 struct errbuf *eb);
/* 32 lower-case hex digits from 128 random bits, then ext.  0 or -1. */
int mturk_random_object_name(const char *ext, char *out, size_t outsz);

/* ==== task_page.c: the worker task page (HTMLQuestion) ================== */

/*
 * The self-contained worker page of spec section 7, and the HTMLQuestion
 * XML that carries it.  The page posts boxes (JSON [[x,y,w,h],...] in
 * full-image pixels), face_found (yes|no), feedback and assignmentId to
 * turkSubmitTo + "/mturk/externalSubmit"; in preview mode it cannot submit.
 * With the confidence slider on, it also posts confidence: a JSON array
 * as long as boxes, each an integer 0..100 (how sure the worker is that
 * the box shows something identifying) or null when the worker left the
 * slider alone.
 */

#define TASK_QUESTION_MAX 65535 /* MTurk's cap on the Question, in bytes */

/*
 * The page's texts when the experiment file sets none (task.* keys; the
 * config's defaults are these same macros).  Plain text: the page
 * escapes them, and a blank line in the instructions parts paragraphs.
 */
#define TASK_TEXT_TITLE "Box anything that could identify a person"
#define TASK_TEXT_INSTRUCTIONS                                              \
	"The photo below is blurred on purpose, and parts of it may be "    \
	"blacked out. Draw a box over every face you can see, even a "      \
	"blurry one, and over anything else that could identify a "         \
	"person: documents, screens, licence plates, name tags. When you "  \
	"are unsure whether a region shows a face, box it.\n\n"             \
	"Drag on the image to draw a box. Click a box to select it; drag "  \
	"it to move it, drag its blue handle to resize it, and use Remove " \
	"box (or the Delete key) to remove it. Add box puts a new box in "  \
	"the middle. From the keyboard: Tab to a box, arrow keys move it, " \
	"Shift + arrow keys resize it, Delete removes it. Then answer the " \
	"question and submit."
#define TASK_TEXT_FACE_QUESTION "Did you find a face?"
#define TASK_TEXT_CONFIDENCE "How sure are you that this box shows a face?"

struct task_page {
	const char *image_url; /* http(s); HTML-escaped into the page */
	int width, height;     /* the stage image's pixels (the original's) */
	int stage, nstages;    /* "stage 2 of 5"; 0 = not shown */
	/* Texts (UTF-8, plain); NULL for the TASK_TEXT_* default. */
	const char *title, *instructions, *face_question;
	const char *confidence_label;
	bool confidence; /* a confidence slider per box */
};

/*
 * Appends the HTML page to out.  IF_EINPUT for a URL that is not http(s)
 * or holds spaces or control characters, or a bad size.
 */
int task_page_html(const struct task_page *p, struct buf *out,
		   struct errbuf *eb);
/*
 * Appends the HTMLQuestion XML (FrameHeight 0) to out; IF_EINPUT when it
 * would pass TASK_QUESTION_MAX bytes.
 */
int task_page_question(const struct task_page *p, struct buf *out,
		       struct errbuf *eb);

#endif /* INTOFOCUS_MTURK_H */
