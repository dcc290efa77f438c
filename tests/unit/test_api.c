/*
 * mturk/ api.c, errors.c, http.c: error classification, the exact shape and
 * signature of a call, retries with an injected clock and random source
 * (the schedule is asserted, nothing sleeps), clock-skew correction, the
 * response cap and the loopback-only rule for plain http.  Every exchange
 * goes to tests/support/fake_http on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "tests/support/fake_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define T0 1767323045 /* 2026-01-02T03:04:05Z */

struct fclock {
	int64_t now;
	int64_t sleeps[32];
	int nsleeps;
	double rnd[32];
	int nrnd;
	int irnd;
};

static int64_t
f_now(void *ctx)
{
	return ((struct fclock *)ctx)->now;
}

/* Sleeping only moves the fake clock on. */
static void
f_sleep(void *ctx, int64_t ms)
{
	struct fclock *f = ctx;

	if (f->nsleeps < 32)
		f->sleeps[f->nsleeps++] = ms;
	f->now += ms / 1000;
}

static double
f_random(void *ctx)
{
	struct fclock *f = ctx;

	return f->irnd < f->nrnd ? f->rnd[f->irnd++] : 0.5;
}

/*
 * Credentials made by hand, so that this suite depends on the signer only,
 * not on the credentials chain.
 */
static struct aws_creds *
creds_new(const char *id, const char *secret, const char *token)
{
	struct aws_creds *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->access_key_id = strdup(id);
	c->secret_access_key = strdup(secret);
	c->session_token = token != NULL ? strdup(token) : NULL;
	snprintf(c->source, sizeof(c->source), "test");
	return c;
}

static void
creds_free(struct aws_creds *c)
{
	if (c == NULL)
		return;
	free(c->access_key_id);
	free(c->secret_access_key);
	free(c->session_token);
	free(c);
}

struct fx {
	struct fake_http *srv;
	struct aws_creds *creds;
	struct fclock clk;
	struct mturk_client *c;
};

static struct mturk_client *
client_for(struct fx *x, const char *endpoint, size_t max_body)
{
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = endpoint;
	cfg.creds = x->creds;
	cfg.http.max_body = max_body;
	cfg.clock.now = f_now;
	cfg.clock.sleep_ms = f_sleep;
	cfg.clock.random = f_random;
	cfg.clock.ctx = &x->clk;
	if (mturk_client_new(&cfg, &c, &eb) != IF_OK)
		fail_msg("mturk_client_new: %s", eb.msg);
	return c;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->srv = fake_http_start();
	assert_non_null(x->srv);
	x->creds = creds_new("AKIDEXAMPLE",
				 "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
				 NULL);
	assert_non_null(x->creds);
	x->clk.now = T0;
	x->c = client_for(x, fake_http_url(x->srv), 0);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	mturk_client_free(x->c);
	fake_http_stop(x->srv);
	creds_free(x->creds);
	free(x);
	return 0;
}

static const char *
secret_for(void *arg, const char *id, const char **token)
{
	struct aws_creds *c = arg;

	*token = c->session_token;
	return strcmp(id, c->access_key_id) == 0 ? c->secret_access_key : NULL;
}

/* Recomputes the received request's signature with the signer's verifier. */
static void
assert_signature_valid(const struct fake_request *r, struct aws_creds *creds,
		       time_t now)
{
	struct sigv4_header h[FAKE_MAX_HEADERS];
	char names[FAKE_MAX_HEADERS][128];
	struct sigv4_request req;
	struct sigv4_expect ex;
	enum sigv4_verdict v = SIGV4_MISSING;
	struct errbuf eb = {0};

	for (size_t i = 0; i < r->n_headers; i++) {
		const char *colon = strchr(r->headers[i], ':');
		size_t n = (size_t)(colon - r->headers[i]);
		assert_true(n < sizeof(names[i]));
		memcpy(names[i], r->headers[i], n);
		names[i][n] = '\0';
		h[i].name = names[i];
		h[i].value = colon + 2;
	}
	memset(&req, 0, sizeof(req));
	req.method = r->method;
	req.path = r->path;
	req.query = r->query;
	req.headers = h;
	req.nheaders = r->n_headers;
	req.body = r->body;
	req.body_len = r->body_len;
	memset(&ex, 0, sizeof(ex));
	ex.region = "us-east-1";
	ex.service = "mturk-requester";
	ex.now = now;
	ex.secret_for = secret_for;
	ex.arg = creds;
	if (sigv4_verify(&req, &ex, &v, &eb) != IF_OK)
		fail_msg("signature refused: %s", eb.msg);
	assert_int_equal(v, SIGV4_VALID);
}

static void
test_request_shape_and_signature(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct buf out;
	const struct fake_request *r;
	const char *auth;

	buf_init(&out, 0);
	fake_http_push(x->srv, 200,
		       "{\"AvailableBalance\":\"10000.00\"}",
		       "x-amzn-RequestId: req-1", NULL);
	assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2, &out,
				    NULL, &eb),
			 IF_OK);
	assert_string_equal(out.data, "{\"AvailableBalance\":\"10000.00\"}");
	assert_int_equal(fake_http_count(x->srv), 1);
	r = fake_http_request(x->srv, 0);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/");
	assert_string_equal(r->query, "");
	assert_string_equal(r->body, "{}");
	assert_string_equal(fake_request_header(r, "Content-Type"),
			    "application/x-amz-json-1.1");
	assert_string_equal(fake_request_header(r, "X-Amz-Target"),
			    "MTurkRequesterServiceV20170117.GetAccountBalance");
	assert_string_equal(fake_request_header(r, "X-Amz-Date"),
			    "20260102T030405Z");
	assert_null(fake_request_header(r, "X-Amz-Security-Token"));
	assert_null(fake_request_header(r, "Expect"));
	auth = fake_request_header(r, "Authorization");
	assert_non_null(auth);
	assert_memory_equal(auth,
			    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/"
			    "us-east-1/mturk-requester/aws4_request, "
			    "SignedHeaders=content-type;host;x-amz-date;"
			    "x-amz-target, Signature=",
			    strlen("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"
				   "20260102/us-east-1/mturk-requester/"
				   "aws4_request, SignedHeaders=content-type;"
				   "host;x-amz-date;x-amz-target, Signature="));
	assert_int_equal(strlen(strstr(auth, "Signature=") + 10), 64);
	assert_signature_valid(r, x->creds, T0);
	buf_cleanup(&out);
}

static void
test_connection_reused(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};

	fake_http_set_default(x->srv, 200, "{}");
	for (int i = 0; i < 4; i++)
		assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2,
					    NULL, NULL, &eb),
				 IF_OK);
	assert_int_equal(fake_http_count(x->srv), 4);
	assert_int_equal(fake_http_connections(x->srv), 1);
}

/* The signed path is the sent path: curl must not remove "/./". */
static void
test_path_sent_as_signed(void **state)
{
	struct fx *x = *state;
	struct mturk_client *c;
	struct errbuf eb = {0};
	char url[128];
	const struct fake_request *r;

	snprintf(url, sizeof(url), "%s/api/./v1", fake_http_url(x->srv));
	c = client_for(x, url, 0);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_call(c, "GetAccountBalance", "{}", 2, NULL,
				    NULL, &eb),
			 IF_OK);
	r = fake_http_request(x->srv, 0);
	assert_string_equal(r->path, "/api/./v1/");
	assert_signature_valid(r, x->creds, T0);
	mturk_client_free(c);
}

static void
test_session_token_signed(void **state)
{
	struct fx *x = *state;
	struct aws_creds *tmp = x->creds;
	struct mturk_client *c;
	struct errbuf eb = {0};
	const struct fake_request *r;

	x->creds = creds_new("ASIAEXAMPLE", "secret", "TOKEN/+=");
	c = client_for(x, fake_http_url(x->srv), 0);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_call(c, "GetAccountBalance", "{}", 2, NULL,
				    NULL, &eb),
			 IF_OK);
	r = fake_http_request(x->srv, 0);
	assert_string_equal(fake_request_header(r, "X-Amz-Security-Token"),
			    "TOKEN/+=");
	assert_non_null(strstr(fake_request_header(r, "Authorization"),
			       "SignedHeaders=content-type;host;x-amz-date;"
			       "x-amz-security-token;x-amz-target,"));
	assert_signature_valid(r, x->creds, T0);
	mturk_client_free(c);
	creds_free(x->creds);
	x->creds = tmp;
}

/* One row of the classification table. */
struct class_case {
	const char *name;
	long status;
	const char *body;
	const char *error_type_hdr;
	const char *type, *turk_code, *message;
	bool retryable, skew;
};

static const struct class_case class_cases[] = {
	{"RequestError", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"Hit 3PR3LXCWSFNV4OJWZBHIMQ"
	 "OIJVSX9G does not exist. (1624047673969)\",\"TurkErrorCode\":"
	 "\"AWS.MechanicalTurk.HITDoesNotExist\"}",
	 NULL, "RequestError", "AWS.MechanicalTurk.HITDoesNotExist",
	 "Hit 3PR3LXCWSFNV4OJWZBHIMQOIJVSX9G does not exist. (1624047673969)",
	 false, false},
	{"ServiceFault", 500,
	 "{\"__type\":\"ServiceFault\",\"Message\":\"try again\"}", NULL,
	 "ServiceFault", "", "try again", true, false},
	{"namespaced throttling, lower-case message", 400,
	 "{\"__type\":\"com.amazon#ThrottlingException:http://x\","
	 "\"message\":\"Rate exceeded\"}",
	 NULL, "ThrottlingException", "", "Rate exceeded", true, false},
	{"Rate exceeded only in the message", 400,
	 "{\"__type\":\"Whatever\",\"Message\":\"Rate exceeded\"}", NULL,
	 "Whatever", "", "Rate exceeded", true, false},
	{"TooManyRequestsException", 400,
	 "{\"__type\":\"TooManyRequestsException\"}", NULL,
	 "TooManyRequestsException", "", "", true, false},
	{"SlowDown", 400, "{\"__type\":\"SlowDown\"}", NULL, "SlowDown", "", "",
	 true, false},
	{"RequestLimitExceeded", 400,
	 "{\"__type\":\"RequestLimitExceeded\"}", NULL, "RequestLimitExceeded",
	 "", "", true, false},
	{"429 without a body", 429, "", NULL, "", "", "", true, false},
	{"502 from a proxy, HTML", 502,
	 "<html>\n<body>Bad\tgateway</body></html>", NULL, "", "",
	 "<html> <body>Bad gateway</body></html>", true, false},
	{"503", 503, "{}", NULL, "", "", "", true, false},
	{"504", 504, "{}", NULL, "", "", "", true, false},
	{"501 is not retried", 501, "{}", NULL, "", "", "", false, false},
	{"403 with x-amzn-ErrorType", 403, "{}",
	 "UnrecognizedClientException:http://internal.amazon.com/",
	 "UnrecognizedClientException", "", "", false, false},
	{"signature expired", 400,
	 "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "
	 "expired: 20260102T030405Z is now earlier than 20260102T040000Z\"}",
	 NULL, "InvalidSignatureException", "",
	 "Signature expired: 20260102T030405Z is now earlier than "
	 "20260102T040000Z",
	 false, true},
	{"wrong signature is not skew", 403,
	 "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request "
	 "signature we calculated does not match\"}",
	 NULL, "InvalidSignatureException", "",
	 "The request signature we calculated does not match", false, false},
	{"RequestTimeTooSkewed", 403,
	 "{\"__type\":\"RequestTimeTooSkewed\"}", NULL, "RequestTimeTooSkewed",
	 "", "", false, true},
	{"duplicate keys are not trusted", 400,
	 "{\"__type\":\"ServiceFault\",\"__type\":\"RequestError\"}", NULL, "",
	 "", "{\"__type\":\"ServiceFault\",\"__type\":\"RequestError\"}", false,
	 false},
};

static void
test_error_classification(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]);
	     i++) {
		const struct class_case *k = &class_cases[i];
		struct http_response resp;
		struct mturk_error e;

		http_response_init(&resp, 0);
		resp.status = k->status;
		assert_int_equal(buf_append_str(&resp.body, k->body), 0);
		snprintf(resp.request_id, sizeof(resp.request_id), "rid-%zu",
			 i);
		if (k->error_type_hdr != NULL)
			snprintf(resp.error_type, sizeof(resp.error_type), "%s",
				 k->error_type_hdr);
		mturk_error_from_response(&e, &resp);
		print_message("case %s\n", k->name);
		assert_string_equal(e.type, k->type);
		assert_string_equal(e.turk_code, k->turk_code);
		assert_string_equal(e.message, k->message);
		assert_int_equal(e.http_status, k->status);
		assert_int_equal(e.retryable, k->retryable);
		assert_int_equal(mturk_error_is_retryable(&e), k->retryable);
		assert_int_equal(mturk_error_is_clock_skew(&e), k->skew);
		assert_int_equal(strncmp(e.request_id, "rid-", 4), 0);
		http_response_cleanup(&resp);
	}
}

static void
test_curl_classification(void **state)
{
	struct mturk_error e;

	(void)state;
	mturk_error_from_curl(&e, CURLE_COULDNT_CONNECT, "refused");
	assert_true(e.retryable);
	assert_string_equal(e.message, "refused");
	mturk_error_from_curl(&e, CURLE_GOT_NOTHING, NULL);
	assert_true(e.retryable);
	assert_string_equal(e.message, curl_easy_strerror(CURLE_GOT_NOTHING));
	mturk_error_from_curl(&e, CURLE_OPERATION_TIMEDOUT, "slow");
	assert_true(e.retryable);
	mturk_error_from_curl(&e, CURLE_RECV_ERROR, "reset");
	assert_true(e.retryable);
	mturk_error_from_curl(&e, CURLE_PEER_FAILED_VERIFICATION, "cert");
	assert_false(e.retryable);
	mturk_error_from_curl(&e, CURLE_WRITE_ERROR, "cap");
	assert_false(e.retryable);
	mturk_error_from_curl(&e, CURLE_UNSUPPORTED_PROTOCOL, "http");
	assert_false(e.retryable);
}

/* mturk_error_fault: what a failure means beyond "retry now". */
struct fault_case {
	const char *name;
	long status;
	const char *body;
	const char *error_type_hdr;
	enum mturk_fault fault;
};

static const struct fault_case fault_cases[] = {
	{"throttling passes", 400,
	 "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}",
	 NULL, MTURK_FAULT_PASSING},
	{"ServiceFault passes", 500,
	 "{\"__type\":\"ServiceFault\",\"Message\":\"try again\"}", NULL,
	 MTURK_FAULT_PASSING},
	{"503 passes", 503, "<html>busy</html>", NULL, MTURK_FAULT_PASSING},
	{"clock skew passes", 400,
	 "{\"__type\":\"InvalidSignatureException\",\"message\":\"Signature "
	 "expired: 20260102T030405Z is now earlier than 20260102T040000Z\"}",
	 NULL, MTURK_FAULT_PASSING},
	{"approve right after submit passes", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"This operation can be "
	 "called with a status of: Submitted (1)\",\"TurkErrorCode\":"
	 "\"AWS.MechanicalTurk.InvalidAssignmentState\"}",
	 NULL, MTURK_FAULT_PASSING},
	{"unknown key", 400,
	 "{\"__type\":\"UnrecognizedClientException\",\"message\":\"The "
	 "security token included in the request is invalid.\"}",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"wrong secret", 400,
	 "{\"__type\":\"InvalidSignatureException\",\"message\":\"The request "
	 "signature we calculated does not match the signature you "
	 "provided.\"}",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"expired session token", 400,
	 "{\"__type\":\"ExpiredTokenException\",\"message\":\"The security "
	 "token included in the request is expired\"}",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"IAM refuses", 400,
	 "{\"__type\":\"com.amazon.coral#AccessDeniedException\",\"Message\":"
	 "\"User: arn:aws:iam::1:user/x is not authorized to perform: "
	 "mturk-requester:CreateHIT\"}",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"type only in x-amzn-ErrorType", 403, "{}",
	 "UnrecognizedClientException:http://internal.amazon.com/",
	 MTURK_FAULT_CREDENTIALS},
	{"bare 403", 403, "", NULL, MTURK_FAULT_CREDENTIALS},
	{"S3 refusal without a status that says so", 400,
	 "<Error><Code>SignatureDoesNotMatch</Code><Message>no</Message>"
	 "</Error>",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"S3 NoSuchBucket is the request's", 404,
	 "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The "
	 "specified bucket does not exist</Message></Error>",
	 NULL, MTURK_FAULT_REQUEST},
	{"S3 XML refusal", 403,
	 "<?xml version=\"1.0\"?><Error><Code>InvalidAccessKeyId</Code>"
	 "<Message>The AWS Access Key Id you provided does not exist in our "
	 "records.</Message></Error>",
	 NULL, MTURK_FAULT_CREDENTIALS},
	{"insufficient funds (text)", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"This Requester has "
	 "insufficient funds in their account to complete this transaction. "
	 "(1444988036599)\"}",
	 NULL, MTURK_FAULT_FUNDS},
	{"insufficient funds (code)", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"no money\","
	 "\"TurkErrorCode\":\"AWS.MechanicalTurk.InsufficientFunds\"}",
	 NULL, MTURK_FAULT_FUNDS},
	{"an invalid HIT is this request's", 400,
	 "{\"__type\":\"ParameterValidationError\",\"Message\":\"Question: "
	 "the XML is not well formed\"}",
	 NULL, MTURK_FAULT_REQUEST},
	{"an unknown qualification type", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"Qualification type "
	 "3XYZ does not exist. (1)\",\"TurkErrorCode\":"
	 "\"AWS.MechanicalTurk.QualificationTypeDoesNotExist\"}",
	 NULL, MTURK_FAULT_REQUEST},
	{"HITDoesNotExist", 400,
	 "{\"__type\":\"RequestError\",\"Message\":\"Hit X does not exist. "
	 "(1)\",\"TurkErrorCode\":\"AWS.MechanicalTurk.HITDoesNotExist\"}",
	 NULL, MTURK_FAULT_REQUEST},
	{"501", 501, "{}", NULL, MTURK_FAULT_REQUEST},
};

/* A typed error from an answer body, for the questions below. */
static void
error_of(struct mturk_error *e, long status, const char *body)
{
	struct http_response resp;

	http_response_init(&resp, 0);
	resp.status = status;
	assert_int_equal(buf_append_str(&resp.body, body), 0);
	mturk_error_from_response(e, &resp);
	http_response_cleanup(&resp);
}

/*
 * The questions the daemon asks a failure instead of reading its message
 * (issue 14): each answers from the codes, or - where the service says it
 * only in words - from mturk/errors.c's one reading of the message.
 */
static void
test_error_questions(void **state)
{
	struct mturk_error e;

	(void)state;
	error_of(&e, 400,
		 "{\"__type\":\"RequestError\",\"Message\":\"Hit X does not "
		 "exist. (1)\",\"TurkErrorCode\":\"AWS.MechanicalTurk."
		 "HITDoesNotExist\"}");
	assert_true(mturk_error_is_hit_gone(&e));
	assert_true(mturk_error_is_request_error(&e));
	assert_false(mturk_error_is_qualification_refusal(&e));
	assert_false(mturk_error_is_name_taken(&e));
	assert_false(mturk_error_is_processed_repeat(&e));
	error_of(&e, 400,
		 "{\"__type\":\"RequestError\",\"Message\":\"A "
		 "QualificationTypeId does not exist. (1)\",\"TurkErrorCode\":"
		 "\"AWS.MechanicalTurk.QualificationTypeDoesNotExist\"}");
	assert_true(mturk_error_is_qualification_refusal(&e));
	assert_false(mturk_error_is_hit_gone(&e));
	/* Only the words say so. */
	error_of(&e, 400,
		 "{\"__type\":\"RequestError\",\"Message\":\"You may not "
		 "use Qualification 3ABC. (1)\"}");
	assert_true(mturk_error_is_qualification_refusal(&e));
	/* A passing failure is nobody's refusal. */
	error_of(&e, 503,
		 "{\"__type\":\"ServiceUnavailable\",\"Message\":\"the "
		 "Qualification service is down\"}");
	assert_false(mturk_error_is_qualification_refusal(&e));
	error_of(&e, 400,
		 "{\"__type\":\"RequestError\",\"Message\":\"You have "
		 "already created a QualificationType with this name. (1)\"}");
	assert_true(mturk_error_is_name_taken(&e));
	error_of(&e, 400,
		 "{\"__type\":\"RequestError\",\"Message\":\"The "
		 "idempotency token \\\"3X1767225600\\\" has already been "
		 "processed. (1)\"}");
	assert_true(mturk_error_is_processed_repeat(&e));
	assert_false(mturk_error_is_name_taken(&e) &&
		     !mturk_error_is_request_error(&e));
	/* The same words from another error type decide nothing. */
	error_of(&e, 400,
		 "{\"__type\":\"ValidationException\",\"message\":\"The "
		 "idempotency token has already been processed\"}");
	assert_false(mturk_error_is_processed_repeat(&e));
	assert_false(mturk_error_is_request_error(&e));
}

static void
test_error_fault(void **state)
{
	struct mturk_error e;

	(void)state;
	for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]);
	     i++) {
		const struct fault_case *k = &fault_cases[i];
		struct http_response resp;

		http_response_init(&resp, 0);
		resp.status = k->status;
		assert_int_equal(buf_append_str(&resp.body, k->body), 0);
		if (k->error_type_hdr != NULL)
			snprintf(resp.error_type, sizeof(resp.error_type), "%s",
				 k->error_type_hdr);
		mturk_error_from_response(&e, &resp);
		print_message("case %s: %s (%s: %s)\n", k->name,
			      mturk_fault_str(mturk_error_fault(&e)), e.type,
			      e.message);
		assert_string_equal(mturk_fault_str(mturk_error_fault(&e)),
				    mturk_fault_str(k->fault));
		assert_int_equal(mturk_fault_is_account_wide(k->fault),
				 k->fault >= MTURK_FAULT_CREDENTIALS);
		http_response_cleanup(&resp);
	}
	{
		struct http_response resp;
		char text[700];

		http_response_init(&resp, 0);
		resp.status = 403;
		assert_int_equal(
			buf_append_str(&resp.body,
				       "<?xml version=\"1.0\"?>\n<Error><Code>"
				       "InvalidAccessKeyId</Code><Message>The "
				       "key does not exist.</Message></Error>"),
			0);
		mturk_error_from_response(&e, &resp);
		assert_string_equal(e.type, "InvalidAccessKeyId");
		assert_string_equal(e.message, "The key does not exist.");
		mturk_error_format(&e, text, sizeof(text));
		assert_string_equal(text,
				    "InvalidAccessKeyId: "
				    "The key does not exist.");
		http_response_cleanup(&resp);
	}
	mturk_error_clear(&e);
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_NONE);
	mturk_error_from_curl(&e, CURLE_COULDNT_CONNECT, "refused");
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_PASSING);
	mturk_error_from_curl(&e, CURLE_OPERATION_TIMEDOUT, "slow");
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_PASSING);
	mturk_error_from_curl(&e, CURLE_PEER_FAILED_VERIFICATION, "cert");
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_SERVICE);
	mturk_error_from_curl(&e, CURLE_UNSUPPORTED_PROTOCOL, "gopher");
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_SERVICE);
	/* Our own body cap: this answer, not the service. */
	mturk_error_from_curl(&e, CURLE_WRITE_ERROR, "cap");
	assert_int_equal(mturk_error_fault(&e), MTURK_FAULT_REQUEST);
	assert_string_equal(mturk_fault_str(MTURK_FAULT_FUNDS), "funds");
	assert_false(mturk_fault_is_account_wide(MTURK_FAULT_REQUEST));
	assert_false(mturk_fault_is_account_wide(MTURK_FAULT_PASSING));
}

static void
test_error_is_and_recover(void **state)
{
	struct mturk_error e;
	char id[MTURK_ID_MAX], text[700];

	(void)state;
	mturk_error_clear(&e);
	snprintf(e.type, sizeof(e.type), "RequestError");
	snprintf(e.turk_code, sizeof(e.turk_code),
		 "AWS.MechanicalTurk.HitAlreadyExists");
	snprintf(e.message, sizeof(e.message),
		 "The HIT with ID \"3AQN9REUTFGXCRWFMFVS1BEXAMPLE1\" already "
		 "exists for token TOKENABCDEFGHIJKLMNOPQRSTU. "
		 "(1624047673969)");
	assert_true(mturk_error_is(&e, "HitAlreadyExists"));
	assert_true(mturk_error_is(&e, "AWS.MechanicalTurk.HITALREADYEXISTS"));
	assert_false(mturk_error_is(&e, "HITDoesNotExist"));
	assert_int_equal(
		mturk_error_recover_hit_id(&e, "TOKENABCDEFGHIJKLMNOPQRSTU",
					   id, sizeof(id)),
		0);
	assert_string_equal(id, "3AQN9REUTFGXCRWFMFVS1BEXAMPLE1");
	/* The token comes first here: it is skipped. */
	snprintf(e.message, sizeof(e.message),
		 "Token TOKENABCDEFGHIJKLMNOPQRSTU already used by HIT "
		 "3AQN9REUTFGXCRWFMFVS1BEXAMPLE2.");
	snprintf(e.turk_code, sizeof(e.turk_code),
		 "AWS.MechanicalTurk.HITAlreadyExists"); /* legacy spelling */
	assert_int_equal(
		mturk_error_recover_hit_id(&e, "TOKENABCDEFGHIJKLMNOPQRSTU",
					   id, sizeof(id)),
		0);
	assert_string_equal(id, "3AQN9REUTFGXCRWFMFVS1BEXAMPLE2");
	/* No id in the message, or another error: nothing recovered. */
	snprintf(e.message, sizeof(e.message), "exists (1624047673969)");
	assert_int_equal(mturk_error_recover_hit_id(&e, NULL, id, sizeof(id)),
			 -1);
	snprintf(e.turk_code, sizeof(e.turk_code),
		 "AWS.MechanicalTurk.HITDoesNotExist");
	snprintf(e.message, sizeof(e.message),
		 "3AQN9REUTFGXCRWFMFVS1BEXAMPLE1");
	assert_int_equal(mturk_error_recover_hit_id(&e, NULL, id, sizeof(id)),
			 -1);
	mturk_error_format(&e, text, sizeof(text));
	assert_string_equal(text, "AWS.MechanicalTurk.HITDoesNotExist: "
				  "3AQN9REUTFGXCRWFMFVS1BEXAMPLE1");
}

static void
test_backoff_formula(void **state)
{
	struct mturk_retry_policy p = {
		.max_attempts = 5, .base_ms = 1000, .cap_ms = 20000};

	(void)state;
	assert_int_equal(mturk_backoff_ms(&p, 0, 0.5), 500);
	assert_int_equal(mturk_backoff_ms(&p, 1, 0.5), 1000);
	assert_int_equal(mturk_backoff_ms(&p, 3, 1.0), 8000);
	assert_int_equal(mturk_backoff_ms(&p, 4, 0.99), 15840);
	/* min(base * 2^k, 20 s): the ceiling stops at the cap. */
	assert_int_equal(mturk_backoff_ms(&p, 5, 0.999), 19980);
	assert_int_equal(mturk_backoff_ms(&p, 60, 0.5), 10000);
	assert_int_equal(mturk_backoff_ms(&p, 2, 0.0), 0);
}

static void
test_retry_schedule_then_success(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_error e;
	struct buf out;

	buf_init(&out, 0);
	x->clk.nrnd = 4;
	x->clk.rnd[0] = 0.25;
	x->clk.rnd[1] = 0.5;
	x->clk.rnd[2] = 0.75;
	x->clk.rnd[3] = 0.1;
	/*
	 * The dropped connection comes first: on a reused connection curl
	 * itself would send the request again once, hiding the drop.
	 */
	fake_http_push_close(x->srv);
	fake_http_push(x->srv, 503, "{}", NULL);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"ThrottlingException\",\"message\":"
		       "\"Rate exceeded\"}",
		       NULL);
	fake_http_push(x->srv, 500,
		       "{\"__type\":\"ServiceFault\",\"Message\":\"x\"}", NULL);
	fake_http_push(x->srv, 200, "{\"ok\":1}", NULL);
	assert_int_equal(mturk_call(x->c, "GetHIT", "{\"HITId\":\"H\"}", 14,
				    &out, &e, &eb),
			 IF_OK);
	assert_string_equal(out.data, "{\"ok\":1}");
	assert_int_equal(fake_http_count(x->srv), 5);
	/* rand * min(1 s * 2^k, 20 s) for k = 0..3 */
	assert_int_equal(x->clk.nsleeps, 4);
	assert_int_equal(x->clk.sleeps[0], 250);
	assert_int_equal(x->clk.sleeps[1], 1000);
	assert_int_equal(x->clk.sleeps[2], 3000);
	assert_int_equal(x->clk.sleeps[3], 800);
	/* Each attempt is signed anew at the (fake) time it is sent. */
	assert_string_equal(
		fake_request_header(fake_http_request(x->srv, 3), "X-Amz-Date"),
		"20260102T030409Z");
	buf_cleanup(&out);
}

static void
test_retry_bound(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_error e;

	fake_http_set_default(x->srv, 503, "{\"message\":\"unavailable\"}");
	assert_int_equal(mturk_call(x->c, "ListHITs", "{}", 2, NULL, &e, &eb),
			 IF_ETEMP);
	assert_int_equal(fake_http_count(x->srv), 5);
	assert_int_equal(x->clk.nsleeps, 4);
	/* The default random is 0.5 in this fake: 500, 1000, 2000, 4000. */
	assert_int_equal(x->clk.sleeps[0], 500);
	assert_int_equal(x->clk.sleeps[3], 4000);
	assert_int_equal(e.http_status, 503);
	assert_true(e.retryable);
	assert_non_null(strstr(eb.msg, "ListHITs: HTTP 503: unavailable"));
	assert_non_null(strstr(eb.msg, "gave up after 5 attempts"));
	/* The client remembers what the failure means for its caller. */
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_PASSING);
}

static void
test_retry_time_budget(void **state)
{
	struct fx *x = *state;
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};
	struct mturk_error e;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = fake_http_url(x->srv);
	cfg.creds = x->creds;
	cfg.retry.max_elapsed_s = 3;
	cfg.clock.now = f_now;
	cfg.clock.sleep_ms = f_sleep;
	cfg.clock.random = f_random;
	cfg.clock.ctx = &x->clk;
	assert_int_equal(mturk_client_new(&cfg, &c, &eb), IF_OK);
	x->clk.nrnd = 3;
	x->clk.rnd[0] = x->clk.rnd[1] = x->clk.rnd[2] = 0.999;
	fake_http_set_default(x->srv, 503, "{}");
	/* Waits of 0.999 s and 1.998 s fit in 3 s; the third (3.996 s)
	 * would not, so the call ends after three attempts. */
	assert_int_equal(mturk_call(c, "ListHITs", "{}", 2, NULL, &e, &eb),
			 IF_ETEMP);
	assert_int_equal(fake_http_count(x->srv), 3);
	assert_int_equal(x->clk.nsleeps, 2);
	assert_non_null(strstr(eb.msg, "gave up after 3 attempts in 1 s"));
	mturk_client_free(c);
}

static void
test_request_error_not_retried(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_error e;

	fake_http_set_default(x->srv, 400,
			      "{\"__type\":\"RequestError\","
			      "\"Message\":\"Hit X "
			      "does not exist.\",\"TurkErrorCode\":\"AWS."
			      "MechanicalTurk.HITDoesNotExist\"}");
	assert_int_equal(mturk_call(x->c, "GetHIT", "{}", 2, NULL, &e, &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 1);
	assert_int_equal(x->clk.nsleeps, 0);
	assert_false(e.retryable);
	assert_string_equal(eb.msg,
			    "GetHIT: AWS.MechanicalTurk.HITDoesNotExist: "
			    "Hit X does not exist.");
	/* With a request id, the message carries it for AWS support. */
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"no\"}",
		       "x-amzn-RequestId: 8a2b-request", NULL);
	err_init(&eb);
	assert_int_equal(mturk_call(x->c, "GetHIT", "{}", 2, NULL, &e, &eb),
			 IF_ERUNTIME);
	assert_string_equal(e.request_id, "8a2b-request");
	assert_string_equal(eb.msg, "GetHIT: RequestError: no [request id "
				    "8a2b-request]");
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_REQUEST);
	/* The client keeps the call's typed error for its caller. */
	assert_string_equal(mturk_client_last_error(x->c)->operation, "GetHIT");
	assert_int_equal(mturk_client_last_error(x->c)->http_status, 400);
	assert_int_equal(mturk_client_last_error(x->c)->fault,
			 MTURK_FAULT_REQUEST);
	assert_true(mturk_error_is_request_error(
		mturk_client_last_error(x->c)));
	/* Wrong keys: account-wide, and a success clears it again. */
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"UnrecognizedClientException\","
		       "\"message\":"
		       "\"The security token included in the request is "
		       "invalid.\"}",
		       NULL);
	err_init(&eb);
	assert_int_equal(mturk_call(x->c, "GetHIT", "{}", 2, NULL, NULL, &eb),
			 IF_ERUNTIME);
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_CREDENTIALS);
	mturk_client_fault_reset(x->c);
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_NONE);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"This "
		       "Requester has insufficient funds in their account to "
		       "complete this transaction.\"}",
		       NULL);
	err_init(&eb);
	assert_int_equal(mturk_call(x->c, "GetHIT", "{}", 2, NULL, NULL, &eb),
			 IF_ERUNTIME);
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_FUNDS);
	fake_http_push(x->srv, 200, "{}", NULL);
	err_init(&eb);
	assert_int_equal(mturk_call(x->c, "GetHIT", "{}", 2, NULL, NULL, &eb),
			 IF_OK);
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_NONE);
	assert_string_equal(mturk_client_last_error(x->c)->operation, "");
}

/* A port nobody listens on: bind one, learn it, close it. */
static int
dead_port(void)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void
test_connection_refused(void **state)
{
	struct fx *x = *state;
	struct mturk_client *c;
	struct errbuf eb = {0};
	struct mturk_error e;
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", dead_port());
	c = client_for(x, url, 0);
	assert_int_equal(mturk_call(c, "GetAccountBalance", "{}", 2, NULL, &e,
				    &eb),
			 IF_ETEMP);
	assert_int_equal(e.curl_code, CURLE_COULDNT_CONNECT);
	assert_true(e.retryable);
	assert_int_equal(x->clk.nsleeps, 4);
	assert_non_null(strstr(eb.msg, "network error"));
	mturk_client_free(c);
}

static void
test_connection_closed_every_time(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_error e;

	for (int i = 0; i < 5; i++)
		fake_http_push_close(x->srv);
	assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2, NULL,
				    &e, &eb),
			 IF_ETEMP);
	assert_int_equal(e.curl_code, CURLE_GOT_NOTHING);
	assert_int_equal(fake_http_count(x->srv), 5);
}

static void
test_clock_skew_corrected(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	const struct fake_request *r;

	/* The server is an hour ahead of us. */
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"InvalidSignatureException\",\"message\":"
		       "\"Signature expired: 20260102T030405Z is now earlier "
		       "than 20260102T035905Z (20260102T040405Z - 5 min.)\"}",
		       "Date: Fri, 02 Jan 2026 04:04:05 GMT", NULL);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2, NULL,
				    NULL, &eb),
			 IF_OK);
	assert_int_equal(fake_http_count(x->srv), 2);
	assert_int_equal(x->clk.nsleeps, 0); /* no backoff: retried at once */
	assert_int_equal(mturk_client_clock_offset(x->c), 3600);
	r = fake_http_request(x->srv, 1);
	assert_string_equal(fake_request_header(r, "X-Amz-Date"),
			    "20260102T040405Z");
	assert_signature_valid(r, x->creds, T0 + 3600);
	/* The offset stays for later calls. */
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2, NULL,
				    NULL, &eb),
			 IF_OK);
	assert_string_equal(fake_request_header(fake_http_request(x->srv, 2),
						"X-Amz-Date"),
			    "20260102T040405Z");
}

static void
test_clock_skew_retried_once(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_error e;

	fake_http_set_default(x->srv, 403,
			      "{\"__type\":\"RequestTimeTooSkewed\","
			      "\"message\":\"too skewed\"}");
	/* The Date moves every time: only one correction is tried anyway. */
	fake_http_push(x->srv, 403,
		       "{\"__type\":\"RequestTimeTooSkewed\"}",
		       "Date: Fri, 02 Jan 2026 05:00:00 GMT", NULL);
	fake_http_push(x->srv, 403,
		       "{\"__type\":\"RequestTimeTooSkewed\"}",
		       "Date: Fri, 02 Jan 2026 06:00:00 GMT", NULL);
	assert_int_equal(mturk_call(x->c, "GetAccountBalance", "{}", 2, NULL,
				    &e, &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 2);
	assert_string_equal(e.type, "RequestTimeTooSkewed");
}

static void
test_response_cap(void **state)
{
	struct fx *x = *state;
	struct mturk_client *c = client_for(x, fake_http_url(x->srv), 100);
	struct errbuf eb = {0};
	struct mturk_error e;
	char big[1001];

	memset(big, 'a', 1000);
	big[0] = '"';
	big[999] = '"';
	big[1000] = '\0';
	fake_http_set_default(x->srv, 200, big);
	assert_int_equal(mturk_call(c, "ListHITs", "{}", 2, NULL, &e, &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 1); /* not retried */
	assert_non_null(strstr(eb.msg, "100-byte limit"));
	/* Exactly at the cap is fine. */
	fake_http_push(x->srv, 200, big + 900, NULL);
	err_init(&eb);
	assert_int_equal(mturk_call(c, "ListHITs", "{}", 2, NULL, &e, &eb),
			 IF_OK);
	mturk_client_free(c);
}

static void
test_endpoint_rules(void **state)
{
	static const struct {
		const char *url;
		int rc;
		const char *host;
	} cases[] = {
		{"http://127.0.0.1:9000", IF_OK, "127.0.0.1:9000"},
		{"http://127.3.4.5:80/", IF_OK, "127.3.4.5"},
		{"http://localhost:8080", IF_OK, "localhost:8080"},
		{"http://[::1]:8080", IF_OK, "[::1]:8080"},
		{"https://mturk-requester-sandbox.us-east-1.amazonaws.com",
		 IF_OK, "mturk-requester-sandbox.us-east-1.amazonaws.com"},
		{"https://example.com:8443/", IF_OK, "example.com:8443"},
		{"http://example.com", IF_EINPUT, NULL},
		{"http://128.0.0.1", IF_EINPUT, NULL},
		{"http://10.0.0.1:9000", IF_EINPUT, NULL},
		{"http://[::2]", IF_EINPUT, NULL},
		{"http://localhost.example.com", IF_EINPUT, NULL},
		{"ftp://127.0.0.1", IF_EINPUT, NULL},
		{"not a url", IF_EINPUT, NULL},
	};
	struct fx *x = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct errbuf eb = {0};
		struct mturk_client_config cfg;
		struct mturk_client *c = NULL;
		char host[256] = "";

		print_message("url %s\n", cases[i].url);
		assert_int_equal(http_url_check(cases[i].url, host,
						sizeof(host), &eb),
				 cases[i].rc);
		if (cases[i].host != NULL)
			assert_string_equal(host, cases[i].host);
		else
			assert_non_null(strstr(eb.msg, cases[i].url));
		memset(&cfg, 0, sizeof(cfg));
		cfg.endpoint = cases[i].url;
		cfg.creds = x->creds;
		err_init(&eb);
		assert_int_equal(mturk_client_new(&cfg, &c, &eb), cases[i].rc);
		mturk_client_free(c);
	}
}

static void
test_defaults_and_unknown_operation(void **state)
{
	struct fx *x = *state;
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};

	memset(&cfg, 0, sizeof(cfg));
	cfg.creds = x->creds;
	assert_int_equal(mturk_client_new(&cfg, &c, &eb), IF_OK);
	assert_string_equal(mturk_client_endpoint(c),
			    MTURK_ENDPOINT_SANDBOX "/");
	mturk_client_free(c);
	cfg.creds = NULL;
	assert_int_equal(mturk_client_new(&cfg, &c, &eb), IF_EINPUT);
	/* Only the model's names are sent: no header injection either. */
	err_init(&eb);
	assert_int_equal(mturk_call(x->c, "GetHIT\r\nX-Evil: 1", "{}", 2, NULL,
				    NULL, &eb),
			 IF_EINPUT);
	assert_int_equal(fake_http_count(x->srv), 0);
	assert_true(mturk_operation_known("CreateHITWithHITType"));
	assert_false(mturk_operation_known("GetHit"));
	assert_string_equal(mturk_operation_names()[0],
			    "AcceptQualificationRequest");
}

static void
test_trace_redacts_secrets(void **state)
{
	struct fx *x = *state;
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};
	struct aws_creds *creds =
		creds_new("ASIAEXAMPLE", "secret", "SESSIONTOKENVALUE");
	char *logtext = NULL;
	size_t loglen = 0;
	FILE *log = open_memstream(&logtext, &loglen);
	const char *sig;

	assert_non_null(log);
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = fake_http_url(x->srv);
	cfg.creds = creds;
	cfg.http.trace = true;
	assert_int_equal(mturk_client_new(&cfg, &c, &eb), IF_OK);
	log_init(1, false);
	log_set_output(log);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_call(c, "GetAccountBalance", "{}", 2, NULL,
				    NULL, &eb),
			 IF_OK);
	log_set_output(NULL);
	log_init(0, false);
	fclose(log);
	sig = strstr(fake_request_header(fake_http_request(x->srv, 0),
					 "Authorization"),
		     "Signature=");
	assert_non_null(strstr(logtext, "X-Amz-Target: MTurkRequesterService"));
	assert_non_null(strstr(logtext, "Authorization: [redacted]"));
	assert_non_null(strstr(logtext, "X-Amz-Security-Token: [redacted]"));
	assert_null(strstr(logtext, sig));
	assert_null(strstr(logtext, "SESSIONTOKENVALUE"));
	free(logtext);
	mturk_client_free(c);
	creds_free(creds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_request_shape_and_signature, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_token_signed,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_path_sent_as_signed, setup,
						teardown),
		cmocka_unit_test(test_error_classification),
		cmocka_unit_test(test_curl_classification),
		cmocka_unit_test(test_error_is_and_recover),
		cmocka_unit_test(test_backoff_formula),
		cmocka_unit_test_setup_teardown(
			test_retry_schedule_then_success, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retry_bound, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_retry_time_budget, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_request_error_not_retried,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_connection_closed_every_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clock_skew_corrected,
						setup, teardown),
		cmocka_unit_test(test_error_fault),
		cmocka_unit_test(test_error_questions),
		cmocka_unit_test_setup_teardown(test_clock_skew_retried_once,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_response_cap, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_endpoint_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_defaults_and_unknown_operation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_redacts_secrets,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
