/*
 * mturk/api.c - one AWS JSON 1.1 call to the MTurk requester API, signed,
 * sent, decoded and retried (spec section 5).
 *
 * Every call is "POST /" with Content-Type application/x-amz-json-1.1 and
 * X-Amz-Target MTurkRequesterServiceV20170117.<Operation>, signed with SigV4
 * for service mturk-requester in us-east-1 (the sandbox too: botocore's
 * "sandbox" pseudo-region would sign a scope the service refuses).  The
 * signed headers are content-type, host, x-amz-date and x-amz-target (and
 * x-amz-security-token with temporary credentials), as botocore signs them.
 *
 * Retries follow botocore's standard mode with a full jitter: the wait
 * before retry k (0-based) is rand(0,1) * min(base * 2^k, cap), for at most
 * max_attempts tries in all.  The clock, the sleep and the random source
 * come from struct mturk_clock, so tests walk the whole schedule without
 * sleeping.  A clock-skew error sets the signing clock's offset from the
 * server's Date header and is retried once at once: a wrong local clock is
 * the one failure that waiting does not cure.
 */
#define _DEFAULT_SOURCE
#include "mturk/client_private.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_BASE_MS 1000
#define DEFAULT_CAP_MS 20000
#define MAX_ATTEMPTS 20
#define DEFAULT_RATE 20
#define DEFAULT_BURST 40
#define DEFAULT_CONCURRENCY 8
#define MAX_CONCURRENCY 32

/* The 2017-01-17 model's operations, sorted (see reference/). */
static const char *const operations[] = {
	"AcceptQualificationRequest",
	"ApproveAssignment",
	"AssociateQualificationWithWorker",
	"CreateAdditionalAssignmentsForHIT",
	"CreateHIT",
	"CreateHITType",
	"CreateHITWithHITType",
	"CreateQualificationType",
	"CreateWorkerBlock",
	"DeleteHIT",
	"DeleteQualificationType",
	"DeleteWorkerBlock",
	"DisassociateQualificationFromWorker",
	"GetAccountBalance",
	"GetAssignment",
	"GetFileUploadURL",
	"GetHIT",
	"GetQualificationScore",
	"GetQualificationType",
	"ListAssignmentsForHIT",
	"ListBonusPayments",
	"ListHITs",
	"ListHITsForQualificationType",
	"ListQualificationRequests",
	"ListQualificationTypes",
	"ListReviewPolicyResultsForHIT",
	"ListReviewableHITs",
	"ListWorkerBlocks",
	"ListWorkersWithQualificationType",
	"NotifyWorkers",
	"RejectAssignment",
	"RejectQualificationRequest",
	"SendBonus",
	"SendTestEventNotification",
	"UpdateExpirationForHIT",
	"UpdateHITReviewStatus",
	"UpdateHITTypeOfHIT",
	"UpdateNotificationSettings",
	"UpdateQualificationType",
	NULL,
};

struct mturk_client {
	char *url;  /* endpoint + "/" */
	char *path; /* the path part of url, as signed and sent */
	char host[256];
	char region[32];
	const struct aws_creds *creds;
	struct http_client *http;
	struct http_response resp;
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
	int64_t clock_offset;
	/* The last call's error; see mturk_client_last_error(). */
	struct mturk_error last_error;
	/*
	 * Requests sent, per operation (index in operations[]), retries
	 * included: what the service counts, for the operator's view of the
	 * cost of a poll (intofocus run's summary, the daemon bench).
	 */
	uint64_t sent[sizeof(operations) / sizeof(operations[0])];
	/*
	 * The server's API answers offered the push (MTURK_PUSH_HEADER): the
	 * project's own server, never MTurk.  Its waits go on a connection
	 * of their own (push_http), so that the calls keep theirs.
	 */
	bool push_offered;
	struct http_client *push_http;
	struct http_response push_resp;
	uint64_t push_sent;
	/*
	 * The pace (struct mturk_rate): the token bucket as a theoretical
	 * arrival time, in ms of the monotonic clock; the pool of
	 * concurrent calls (made on first use); the next call's first try
	 * (mturk_client_resume_next).
	 */
	struct mturk_rate rate;
	int64_t rate_tat_ms;
	struct http_pool *pool;
	int resume_attempt;
	/*
	 * A clone (mturk_client_clone) counts its requests in its root's
	 * sent[] and takes its pace from the root's bucket, under the root's
	 * rate_lock; NULL for a client of its own.  The HTTP options, with
	 * an owned copy of the CA file's name, make the clones.
	 */
	struct mturk_client *root;
	pthread_mutex_t rate_lock;
	struct http_options http_opts;
	char *ca_file;
};

/* The client whose counters and bucket c uses. */
static struct mturk_client *
client_root(struct mturk_client *c)
{
	return c->root != NULL ? c->root : c;
}

static int
operation_index(const char *name)
{
	for (size_t i = 0; operations[i] != NULL; i++)
		if (strcmp(name, operations[i]) == 0)
			return (int)i;
	return -1;
}

bool
mturk_operation_known(const char *name)
{
	return operation_index(name) >= 0;
}

uint64_t
mturk_client_sent(const struct mturk_client *c, const char *operation)
{
	int i = operation != NULL ? operation_index(operation) : -1;
	uint64_t total = 0;

	if (c == NULL)
		return 0;
	if (c->root != NULL)
		c = c->root;
	if (i >= 0)
		return __atomic_load_n(&c->sent[i], __ATOMIC_RELAXED);
	if (operation != NULL)
		return 0;
	for (size_t k = 0; operations[k] != NULL; k++)
		total += __atomic_load_n(&c->sent[k], __ATOMIC_RELAXED);
	return total;
}

const char *const *
mturk_operation_names(void)
{
	return operations;
}

static int64_t
real_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL);
}

static void
real_sleep_ms(void *ctx, int64_t ms)
{
	struct timespec ts;

	(void)ctx;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* 53 random bits from the kernel: uniform in [0, 1). */
static double
real_random(void *ctx)
{
	uint64_t x = 0;

	(void)ctx;
	if (random_bytes(&x, sizeof(x)) != 0)
		return 0.5;
	return (double)(x >> 11) * (1.0 / 9007199254740992.0);
}

void
mturk_clock_defaults(struct mturk_clock *k)
{
	if (k->now == NULL)
		k->now = real_now;
	if (k->sleep_ms == NULL)
		k->sleep_ms = real_sleep_ms;
	if (k->random == NULL)
		k->random = real_random;
}

int64_t
mturk_backoff_ms(const struct mturk_retry_policy *p, int attempt, double r)
{
	int64_t base = p->base_ms > 0 ? p->base_ms : DEFAULT_BASE_MS;
	int64_t cap = p->cap_ms > 0 ? p->cap_ms : DEFAULT_CAP_MS;
	int64_t ceiling = base;

	for (int i = 0; i < attempt && ceiling < cap; i++)
		ceiling *= 2;
	if (ceiling > cap)
		ceiling = cap;
	if (r < 0)
		r = 0;
	if (r >= 1)
		r = 1;
	return (int64_t)(r * (double)ceiling);
}

/* The path part of url ("/" when it has none), as curl will send it. */
static int
url_path(const char *url, char **out, struct errbuf *eb)
{
	CURLU *u = curl_url();
	char *p = NULL;
	int rc = IF_OK;

	*out = NULL;
	if (u == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", url);
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_PATH_AS_IS) !=
		    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &p, 0) != CURLUE_OK) {
		rc = err_set(eb, IF_EINPUT, "%s: not a URL", url);
		goto cleanup;
	}
	*out = strdup(p[0] != '\0' ? p : "/");
	if (*out == NULL)
		rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", url);
cleanup:
	curl_free(p);
	curl_url_cleanup(u);
	return rc;
}

int
mturk_client_new(const struct mturk_client_config *cfg,
		  struct mturk_client **out, struct errbuf *eb)
{
	struct mturk_client *c = NULL;
	const char *ep = cfg->endpoint != NULL ? cfg->endpoint
					       : MTURK_ENDPOINT_SANDBOX;
	size_t n = strlen(ep);
	int rc;

	*out = NULL;
	if (cfg->creds == NULL)
		return err_set(eb, IF_EINPUT, "MTurk client: no credentials");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(eb, IF_ERUNTIME, "MTurk client: out of memory");
	http_response_init(&c->resp, 0);
	http_response_init(&c->push_resp, 0);
	while (n > 0 && ep[n - 1] == '/')
		n--;
	c->url = malloc(n + 2);
	if (c->url == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "MTurk client: out of memory");
		goto fail;
	}
	memcpy(c->url, ep, n);
	memcpy(c->url + n, "/", 2);
	rc = http_url_check(c->url, c->host, sizeof(c->host), eb);
	if (rc != IF_OK) {
		err_prefix(eb, "MTurk endpoint");
		goto fail;
	}
	rc = url_path(c->url, &c->path, eb);
	if (rc != IF_OK)
		goto fail;
	snprintf(c->region, sizeof(c->region), "%s",
		 cfg->region != NULL && *cfg->region != '\0' ? cfg->region
							     : MTURK_REGION);
	c->creds = cfg->creds;
	pthread_mutex_init(&c->rate_lock, NULL);
	c->http_opts = cfg->http;
	if (cfg->http.ca_file != NULL &&
	    (c->ca_file = strdup(cfg->http.ca_file)) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "MTurk client: out of memory");
		goto fail;
	}
	c->http_opts.ca_file = c->ca_file;
	c->retry = cfg->retry;
	if (c->retry.max_attempts <= 0)
		c->retry.max_attempts = DEFAULT_ATTEMPTS;
	if (c->retry.max_attempts > MAX_ATTEMPTS)
		c->retry.max_attempts = MAX_ATTEMPTS;
	c->clock = cfg->clock;
	mturk_clock_defaults(&c->clock);
	c->rate = cfg->rate;
	if (c->rate.per_second == 0)
		c->rate.per_second = DEFAULT_RATE;
	if (c->rate.burst <= 0)
		c->rate.burst = DEFAULT_BURST;
	if (c->rate.concurrency <= 0)
		c->rate.concurrency = DEFAULT_CONCURRENCY;
	if (c->rate.concurrency > MAX_CONCURRENCY)
		c->rate.concurrency = MAX_CONCURRENCY;
	rc = http_client_new(&cfg->http, &c->http, eb);
	if (rc != IF_OK)
		goto fail;
	*out = c;
	return IF_OK;
fail:
	mturk_client_free(c);
	return rc;
}

void
mturk_client_free(struct mturk_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	http_client_free(c->push_http);
	http_pool_free(c->pool);
	http_response_cleanup(&c->resp);
	http_response_cleanup(&c->push_resp);
	free(c->url);
	free(c->path);
	free(c->ca_file);
	pthread_mutex_destroy(&c->rate_lock);
	free(c);
}

int
mturk_client_clone(struct mturk_client *c, struct mturk_client **out,
		   struct errbuf *eb)
{
	struct mturk_client_config cfg;
	struct mturk_client *root = client_root(c);
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = c->url;
	cfg.region = c->region;
	cfg.creds = c->creds;
	cfg.http = c->http_opts;
	cfg.retry = c->retry;
	cfg.clock = c->clock;
	cfg.rate = c->rate;
	if ((rc = mturk_client_new(&cfg, out, eb)) != IF_OK)
		return rc;
	(*out)->root = root;
	(*out)->clock_offset = c->clock_offset;
	return IF_OK;
}

const char *
mturk_client_endpoint(const struct mturk_client *c)
{
	return c->url;
}

int64_t
mturk_client_clock_offset(const struct mturk_client *c)
{
	return c->clock_offset;
}

/* "Name: value" in fresh memory, for curl's header list. */
static char *
header_line(const char *name, const char *value)
{
	size_t n = strlen(name) + strlen(value) + 3;
	char *line = malloc(n);

	if (line != NULL)
		snprintf(line, n, "%s: %s", name, value);
	return line;
}

/* Headers a request may sign: what the S3 and MTurk requests need. */
#define SIGNED_HEADERS_MAX 8

/* The signed header lines of one try, NULL-terminated (wipe, free). */
struct signed_lines {
	char *lines[SIGNED_HEADERS_MAX + 5];
	size_t n;
};

static void
signed_lines_cleanup(struct signed_lines *l)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->lines[i] != NULL)
			secure_zero(l->lines[i], strlen(l->lines[i]));
		free(l->lines[i]);
		l->lines[i] = NULL;
	}
	l->n = 0;
}

/* Signs req at the sender's clock plus its offset, into l and hreq. */
static int
sign_try(const struct signed_sender *s, const struct signed_request *req,
	 struct signed_lines *l, struct http_request *hreq,
	 struct errbuf *eb)
{
	const struct mturk_clock *k = s->clock;
	struct sigv4_request sreq = {
		.method = req->method,
		.path = req->path,
		.headers = req->headers,
		.nheaders = req->nheaders,
		.body = req->body,
		.body_len = req->body_len,
	};
	struct sigv4_params sp = {
		.access_key_id = s->creds->access_key_id,
		.secret_access_key = s->creds->secret_access_key,
		.session_token = s->creds->session_token,
		.region = req->region,
		.service = req->service,
		.when = (time_t)(k->now(k->ctx) +
				 (s->clock_offset != NULL ? *s->clock_offset
							  : 0)),
		.s3 = req->s3,
		.sign_body = req->s3,
	};
	struct sigv4_result sr;
	int rc;

	memset(l, 0, sizeof(*l));
	if (req->nheaders > SIGNED_HEADERS_MAX)
		return err_set(eb, IF_EINPUT, "%zu headers to sign, at most %d",
			       req->nheaders, SIGNED_HEADERS_MAX);
	sigv4_result_init(&sr);
	rc = sigv4_sign_headers(&sreq, &sp, &sr, eb);
	if (rc != IF_OK)
		goto cleanup;
	for (size_t i = 0; i < req->nheaders; i++)
		l->lines[l->n++] = header_line(req->headers[i].name,
					       req->headers[i].value);
	for (size_t i = 0; i < sr.nadd && i < 4; i++)
		l->lines[l->n++] = header_line(sr.add[i].name,
					       sr.add[i].value);
	for (size_t i = 0; i < l->n; i++)
		if (l->lines[i] == NULL) {
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
			goto cleanup;
		}
	memset(hreq, 0, sizeof(*hreq));
	hreq->method = req->method;
	hreq->url = req->url;
	hreq->headers = (const char *const *)l->lines;
	hreq->body = req->body;
	hreq->body_len = req->body_len;
	hreq->elide_strings_over = req->elide_strings_over;
cleanup:
	sigv4_result_cleanup(&sr);
	if (rc != IF_OK)
		signed_lines_cleanup(l);
	return rc;
}

/*
 * Signs and sends one attempt at the sender's clock plus its offset.  The
 * lines holding the signature and the token are wiped once sent.
 */
static int
attempt_once(const struct signed_sender *s, const struct signed_request *req,
	     struct errbuf *eb)
{
	struct signed_lines l;
	struct http_request hreq;
	int rc;

	if (s->pace != NULL)
		s->pace(s->pace_arg);
	rc = sign_try(s, req, &l, &hreq, eb);
	if (rc != IF_OK)
		return rc;
	if (s->wake != NULL)
		rc = http_perform_wakeable(s->http, &hreq, s->resp, s->wake,
					   s->woken, eb);
	else
		rc = http_perform(s->http, &hreq, s->resp, eb);
	signed_lines_cleanup(&l);
	return rc;
}

/*
 * A clock-skew error: takes the server's clock from its Date header.
 * True when the offset changed, so that the request is worth sending again.
 */
static bool
correct_clock(const struct signed_sender *s)
{
	int64_t server = http_date_parse(s->resp->date);
	int64_t offset = server - s->clock->now(s->clock->ctx);

	if (server <= 0 || offset == *s->clock_offset)
		return false;
	log_warnx("%s: clock skew: the server's clock is %+lld s from ours; "
		  "signing with that offset",
		  s->log_name != NULL ? s->log_name : "AWS",
		  (long long)offset);
	*s->clock_offset = offset;
	return true;
}

int
signed_request_send(const struct signed_sender *s,
		    const struct signed_request *req, struct mturk_error *e,
		    struct signed_outcome *out, struct errbuf *eb)
{
	const struct mturk_clock *k = s->clock;
	const struct mturk_retry_policy *p = s->retry;
	struct errbuf aeb;
	char text[700];
	bool skew_retried = false;
	int64_t started = k->now(k->ctx);
	int rc;

	memset(out, 0, sizeof(*out));
	mturk_error_clear(e);
	if (s->first_attempt > 0) {
		/* Going on from a try made elsewhere: its backoff first. */
		if (s->first_attempt >= p->max_attempts)
			return err_set(eb, IF_ETEMP, "no try left");
		k->sleep_ms(k->ctx,
			    mturk_backoff_ms(p, s->first_attempt - 1,
					     k->random(k->ctx)));
	}
	for (int attempt = s->first_attempt;;) {
		int64_t ms;

		err_init(&aeb);
		if (s->sent != NULL)
			__atomic_add_fetch(s->sent, 1, __ATOMIC_RELAXED);
		rc = attempt_once(s, req, &aeb);
		if (rc == IF_OK && s->resp->status >= 200 &&
		    s->resp->status < 300)
			return IF_OK;
		if (s->woken != NULL && *s->woken)
			return err_set(eb, IF_ETEMP, "woken by a signal");
		out->attempts = attempt + 1;
		if (rc != IF_OK && s->resp->curl_code == 0) {
			/* Failed before sending: signing, a refused URL. */
			out->not_sent = true;
			return err_set(eb, rc, "%s", aeb.msg);
		}
		if (rc != IF_OK) {
			mturk_error_from_curl(e, s->resp->curl_code, aeb.msg);
			/* An answer over the cap is as large the next time. */
			if (s->resp->curl_code == CURLE_WRITE_ERROR)
				e->retryable = false;
			e->response_over_cap = s->resp->body_over_cap;
		} else {
			mturk_error_from_response(e, s->resp);
		}
		if (s->clock_offset != NULL && !skew_retried &&
		    mturk_error_is_clock_skew(e)) {
			skew_retried = true;
			if (correct_clock(s))
				continue;
		}
		if (!e->retryable)
			return IF_ERUNTIME;
		if (attempt + 1 >= p->max_attempts)
			return IF_ETEMP;
		ms = mturk_backoff_ms(p, attempt, k->random(k->ctx));
		out->spent_s = k->now(k->ctx) - started;
		if (p->max_elapsed_s > 0 &&
		    out->spent_s + (ms + 999) / 1000 > p->max_elapsed_s) {
			out->out_of_time = true;
			return IF_ETEMP;
		}
		if (s->log_name != NULL) {
			mturk_error_format(e, text, sizeof(text));
			log_info("%s: %s; retry %d of %d in %lld ms",
				 s->log_name, text, attempt + 1,
				 p->max_attempts - 1, (long long)ms);
		}
		k->sleep_ms(k->ctx, ms);
		attempt++;
	}
}

enum mturk_fault
mturk_client_fault(const struct mturk_client *c)
{
	return c->last_error.fault;
}

void
mturk_client_fault_reset(struct mturk_client *c)
{
	mturk_error_clear(&c->last_error);
}

const struct mturk_error *
mturk_client_last_error(const struct mturk_client *c)
{
	return &c->last_error;
}

static int64_t
real_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The token bucket (struct mturk_rate) as a theoretical arrival time: a
 * request may go when no more than burst - 1 intervals of others are
 * ahead of it; otherwise it waits for the excess.
 */
static void
client_pace(void *arg)
{
	struct mturk_client *c = client_root(arg);
	const struct mturk_rate *r = &c->rate;
	int64_t interval, now, ahead;

	if (r->per_second < 0)
		return; /* not paced */
	interval = 1000 / r->per_second;
	now = r->mono_ms != NULL ? r->mono_ms(r->ctx) : real_mono_ms();

	if (interval < 1)
		interval = 1;
	/* The clones share the bucket: its arrival time under the lock. */
	pthread_mutex_lock(&c->rate_lock);
	if (c->rate_tat_ms < now)
		c->rate_tat_ms = now;
	ahead = c->rate_tat_ms - now - (int64_t)(c->rate.burst - 1) * interval;
	c->rate_tat_ms += interval;
	pthread_mutex_unlock(&c->rate_lock);
	if (ahead > 0) {
		if (r->sleep_ms != NULL)
			r->sleep_ms(r->ctx, ahead);
		else
			real_sleep_ms(NULL, ahead);
	}
}

void
mturk_client_resume_next(struct mturk_client *c)
{
	c->resume_attempt = 1;
}

static int mturk_call_once(struct mturk_client *c, const char *operation,
			   const char *body, size_t body_len, size_t elide_over,
			   struct buf *out, struct mturk_error *e,
			   struct errbuf *eb);

int
mturk_call(struct mturk_client *c, const char *operation, const char *body,
	   size_t body_len, struct buf *out, struct mturk_error *err,
	   struct errbuf *eb)
{
	return mturk_call_eliding(c, operation, body, body_len, 0, out, NULL,
				  err, eb);
}

int
mturk_call_eliding(struct mturk_client *c, const char *operation,
		   const char *body, size_t body_len, size_t elide_over,
		   struct buf *out, size_t *elided, struct mturk_error *err,
		   struct errbuf *eb)
{
	struct mturk_error local;
	struct mturk_error *e = err != NULL ? err : &local;
	int rc;

	rc = mturk_call_once(c, operation, body, body_len, elide_over, out, e,
			     eb);
	if (elided != NULL)
		*elided = c->resp.strings_elided;
	if (rc == IF_OK) {
		mturk_error_clear(&c->last_error);
		if (strcmp(c->resp.push, "1") == 0)
			c->push_offered = true;
		return rc;
	}
	snprintf(e->operation, sizeof(e->operation), "%s", operation);
	e->fault = mturk_error_fault(e);
	/* Failed before sending (signing, a refused URL): ours. */
	if (e->fault == MTURK_FAULT_NONE)
		e->fault = rc == IF_ETEMP ? MTURK_FAULT_PASSING
					  : MTURK_FAULT_REQUEST;
	c->last_error = *e;
	return rc;
}

static int
mturk_call_once(struct mturk_client *c, const char *operation,
		const char *body, size_t body_len, size_t elide_over,
		struct buf *out, struct mturk_error *e, struct errbuf *eb)
{
	char target[128], text[700], rid[160], name[160];
	struct sigv4_header signed_hdrs[3] = {
		{"Content-Type", "application/x-amz-json-1.1"},
		{"Host", c->host},
		{"X-Amz-Target", target},
	};
	struct signed_request req = {
		.method = "POST",
		.url = c->url,
		.path = c->path,
		.headers = signed_hdrs,
		.nheaders = 3,
		.body = body,
		.body_len = body_len,
		.service = MTURK_SERVICE,
		.region = c->region,
		.elide_strings_over = elide_over,
	};
	struct signed_sender s = {
		.http = c->http,
		.resp = &c->resp,
		.creds = c->creds,
		.clock = &c->clock,
		.retry = &c->retry,
		.clock_offset = &c->clock_offset,
		.log_name = name,
	};
	struct signed_outcome o;
	int rc, opi;

	mturk_error_clear(e);
	opi = operation_index(operation);
	if (opi < 0)
		return err_set(eb, IF_EINPUT,
			       "\"%s\" is not an MTurk operation (see "
			       "intofocus mturk --help)",
			       operation);
	snprintf(target, sizeof(target), "%s%s", MTURK_TARGET_PREFIX,
		 operation);
	snprintf(name, sizeof(name), "MTurk %s", operation);
	s.sent = &client_root(c)->sent[opi];
	s.pace = client_pace;
	s.pace_arg = c;
	s.first_attempt = c->resume_attempt;
	c->resume_attempt = 0;
	rc = signed_request_send(&s, &req, e, &o, eb);
	if (rc == IF_OK) {
		if (out != NULL) {
			buf_reset(out);
			if (buf_append(out, c->resp.body.data,
				       c->resp.body.len) != 0)
				return err_set(eb, IF_ERUNTIME,
					       "%s: answer of %zu bytes does "
					       "not fit",
					       operation, c->resp.body.len);
		}
		mturk_error_clear(e);
		return IF_OK;
	}
	if (o.not_sent) {
		err_prefix(eb, "%s", operation);
		return rc;
	}
	mturk_error_format(e, text, sizeof(text));
	/* AWS support asks for the request id of a failed call. */
	if (e->request_id[0] != '\0')
		snprintf(rid, sizeof(rid), " [request id %s]", e->request_id);
	else
		rid[0] = '\0';
	if (!e->retryable)
		return err_set(eb, IF_ERUNTIME, "%s: %s%s", operation, text,
			       rid);
	if (o.out_of_time)
		return err_set(eb, IF_ETEMP,
			       "%s: %s (gave up after %d attempts in %lld "
			       "s)%s",
			       operation, text, o.attempts,
			       (long long)o.spent_s, rid);
	return err_set(eb, IF_ETEMP, "%s: %s (gave up after %d attempts)%s",
		       operation, text, o.attempts, rid);
}

bool
mturk_client_push_offered(const struct mturk_client *c)
{
	return c->push_offered;
}

uint64_t
mturk_client_push_sent(const struct mturk_client *c)
{
	return c->push_sent;
}

int
mturk_push_call(struct mturk_client *c, const char *body, size_t body_len,
		int64_t timeout_ms, const sigset_t *wake, bool *woken,
		struct buf *out, struct mturk_error *e, struct errbuf *eb)
{
	struct sigv4_header signed_hdrs[3] = {
		{"Content-Type", "application/x-amz-json-1.1"},
		{"Host", c->host},
		{"X-Amz-Target", MTURK_PUSH_TARGET},
	};
	struct signed_request req = {
		.method = "POST",
		.url = c->url,
		.path = c->path,
		.headers = signed_hdrs,
		.nheaders = 3,
		.body = body,
		.body_len = body_len,
		.service = MTURK_SERVICE,
		.region = c->region,
	};
	/* One try: a failed wait is replaced by the poll, not retried. */
	struct mturk_retry_policy once = {1, 0, 0, 0};
	struct signed_sender s = {
		.resp = &c->push_resp,
		.creds = c->creds,
		.clock = &c->clock,
		.retry = &once,
		.clock_offset = &c->clock_offset,
		.sent = &c->push_sent,
		.wake = wake,
		.woken = woken,
	};
	struct signed_outcome o;
	char text[700];
	int rc;

	*woken = false;
	if (c->push_http == NULL) {
		struct http_options opt = {0};

		opt.timeout_ms = (long)timeout_ms;
		opt.max_body = (size_t)1 << 20;
		/* The endpoint's own CAs (mturk.ca_file), as for each call. */
		opt.ca_file = c->http_opts.ca_file;
		if (http_client_new(&opt, &c->push_http, eb) != IF_OK)
			return eb->code;
	}
	s.http = c->push_http;
	rc = signed_request_send(&s, &req, e, &o, eb);
	if (rc == IF_OK) {
		buf_reset(out);
		if (buf_append(out, c->push_resp.body.data,
			       c->push_resp.body.len) != 0)
			return err_set(eb, IF_ERUNTIME,
				       "WaitForReviewableHITs: out of memory");
		return IF_OK;
	}
	if (*woken || o.not_sent)
		return rc;
	mturk_error_format(e, text, sizeof(text));
	return err_set(eb, rc, "WaitForReviewableHITs: %s", text);
}

/* One call's signed request, for mturk_call_concurrent. */
struct concurrent_req {
	char target[128];
	struct sigv4_header hdrs[3];
	struct signed_request req;
	struct signed_lines lines;
};

int
mturk_call_concurrent(struct mturk_client *c,
		      struct mturk_concurrent *calls, size_t n,
		      struct errbuf *eb)
{
	struct concurrent_req *cr = calloc(n + 1, sizeof(*cr));
	struct http_request *hreqs = calloc(n + 1, sizeof(*hreqs));
	struct http_response *resps = calloc(n + 1, sizeof(*resps));
	struct errbuf *ebs = calloc(n + 1, sizeof(*ebs));
	int *rcs = calloc(n + 1, sizeof(*rcs));
	size_t *of = calloc(n + 1, sizeof(*of)); /* hreqs[j] is calls[of[j]] */
	struct signed_sender s = {
		.creds = c->creds,
		.clock = &c->clock,
		.retry = &c->retry,
		.clock_offset = &c->clock_offset,
	};
	size_t m = 0;
	int rc = IF_OK;

	if (cr == NULL || hreqs == NULL || resps == NULL || ebs == NULL ||
	    rcs == NULL || of == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	if (c->pool == NULL) {
		struct http_options opt = {0};

		/* The endpoint's own CAs (mturk.ca_file), as for each call. */
		opt.ca_file = c->http_opts.ca_file;
		if (http_pool_new(&opt, (size_t)c->rate.concurrency, &c->pool,
				  eb) != IF_OK) {
			rc = eb->code;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct mturk_concurrent *k = &calls[i];
		struct concurrent_req *q = &cr[i];
		int opi = operation_index(k->operation);

		buf_init(&k->out, 0);
		mturk_error_clear(&k->err);
		err_init(&k->eb);
		k->rc = IF_OK;
		if (opi < 0) {
			k->rc = err_set(&k->eb, IF_EINPUT,
					"\"%s\" is not an MTurk operation",
					k->operation);
			continue;
		}
		snprintf(q->target, sizeof(q->target), "%s%s",
			 MTURK_TARGET_PREFIX, k->operation);
		q->hdrs[0] = (struct sigv4_header){
			"Content-Type", "application/x-amz-json-1.1"};
		q->hdrs[1] = (struct sigv4_header){"Host", c->host};
		q->hdrs[2] = (struct sigv4_header){"X-Amz-Target", q->target};
		q->req = (struct signed_request){
			.method = "POST",
			.url = c->url,
			.path = c->path,
			.headers = q->hdrs,
			.nheaders = 3,
			.body = k->body,
			.body_len = k->body_len,
			.service = MTURK_SERVICE,
			.region = c->region,
		};
		if (sign_try(&s, &q->req, &q->lines, &hreqs[m], &k->eb) !=
		    IF_OK) {
			k->rc = k->eb.code;
			continue;
		}
		http_response_init(&resps[m], 0);
		__atomic_add_fetch(&client_root(c)->sent[opi], 1,
				   __ATOMIC_RELAXED);
		of[m++] = i;
	}
	if (m > 0 && http_pool_perform(c->pool, hreqs, resps, rcs, ebs, m,
				       client_pace, c) != IF_OK) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		for (size_t j = 0; j < m; j++)
			http_response_cleanup(&resps[j]);
		goto out;
	}
	for (size_t j = 0; j < m; j++) {
		struct mturk_concurrent *k = &calls[of[j]];
		struct http_response *r = &resps[j];
		char text[700];

		if (rcs[j] == IF_OK && r->status >= 200 && r->status < 300) {
			if (buf_append(&k->out, r->body.data, r->body.len) !=
			    0)
				k->rc = err_set(&k->eb, IF_ERUNTIME,
						"%s: out of memory",
						k->operation);
			http_response_cleanup(r);
			continue;
		}
		if (rcs[j] != IF_OK) {
			mturk_error_from_curl(&k->err, r->curl_code,
					      ebs[j].msg);
			if (r->curl_code == CURLE_WRITE_ERROR)
				k->err.retryable = false;
		} else {
			mturk_error_from_response(&k->err, r);
		}
		snprintf(k->err.operation, sizeof(k->err.operation), "%s",
			 k->operation);
		k->err.fault = mturk_error_fault(&k->err);
		mturk_error_format(&k->err, text, sizeof(text));
		k->rc = err_set(&k->eb,
				k->err.retryable ? IF_ETEMP : IF_ERUNTIME,
				"%s: %s", k->operation, text);
		http_response_cleanup(r);
	}
out:
	for (size_t i = 0; cr != NULL && i < n; i++)
		signed_lines_cleanup(&cr[i].lines);
	free(cr);
	free(hreqs);
	free(resps);
	free(ebs);
	free(rcs);
	free(of);
	return rc;
}
