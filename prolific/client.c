/*
 * prolific/client.c - the Prolific API client (docs/prolific-api.md).
 *
 * One request at a time through the MTurk client's libcurl boundary
 * (http_perform: TLS verified, https only except to loopback, no
 * redirects, a cap on every body).  Each request carries
 * "Authorization: Token <token>" to the configured base URL only: a
 * pagination link from a response is read as "there is more", never
 * followed.  Requests that may be repeated (reads; transitions, which the
 * reference documents as idempotent; setting up a bonus, which pays
 * nothing) are retried on passing faults with the MTurk policy's
 * full-jitter backoff; the pay call is sent once.  Ids go into paths and
 * CSV lines only after prolific_id_valid(), so that no id can add a path
 * segment, a query or a CSV line.
 */
#include "prolific/prolific.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ATTEMPTS 5
#define DEFAULT_PAGE_SIZE 100
#define MAX_PAGE_SIZE 1000
/* The reference asks for at least this much in a rejection message. */
#define REJECT_MESSAGE_MIN 100

struct prolific_client {
	struct http_client *http;
	struct http_options http_opt;
	char *base; /* no trailing slash */
	char *auth; /* "Authorization: Token ..." (secret, wiped on free) */
	struct mturk_retry_policy retry;
	struct mturk_clock clock;
	struct http_response resp;
	uint64_t requests;
};

bool
prolific_id_valid(const char *id)
{
	size_t n;

	if (id == NULL)
		return false;
	n = strlen(id);
	if (n == 0 || n >= PROLIFIC_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

static const struct {
	enum prolific_status status;
	const char *text;
} status_names[] = {
	{PROLIFIC_STATUS_RESERVED, "RESERVED"},
	{PROLIFIC_STATUS_ACTIVE, "ACTIVE"},
	{PROLIFIC_STATUS_TIMED_OUT, "TIMED-OUT"},
	{PROLIFIC_STATUS_AWAITING_REVIEW, "AWAITING REVIEW"},
	{PROLIFIC_STATUS_APPROVED, "APPROVED"},
	{PROLIFIC_STATUS_RETURNED, "RETURNED"},
	{PROLIFIC_STATUS_REJECTED, "REJECTED"},
	{PROLIFIC_STATUS_SCREENED_OUT, "SCREENED OUT"},
	{PROLIFIC_STATUS_PARTIALLY_APPROVED, "PARTIALLY APPROVED"},
};

const char *
prolific_status_str(enum prolific_status s)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]);
	     i++)
		if (status_names[i].status == s)
			return status_names[i].text;
	return "UNKNOWN";
}

enum prolific_status
prolific_status_parse(const char *text)
{
	if (text == NULL)
		return PROLIFIC_STATUS_UNKNOWN;
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]);
	     i++)
		if (strcmp(status_names[i].text, text) == 0)
			return status_names[i].status;
	return PROLIFIC_STATUS_UNKNOWN;
}

int
prolific_client_new(const struct prolific_client_config *cfg,
		    struct prolific_client **out, struct errbuf *eb)
{
	struct prolific_client *c;
	const char *base = cfg->base_url != NULL ? cfg->base_url
						 : PROLIFIC_API_DEFAULT;
	size_t n;
	int rc;

	*out = NULL;
	if ((rc = http_url_check(base, NULL, 0, eb)) != IF_OK)
		return rc;
	if (cfg->token == NULL || cfg->token[0] == '\0' ||
	    strpbrk(cfg->token, " \t\r\n") != NULL)
		return err_set(eb, IF_EINPUT,
			       "Prolific client: no usable token");
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return err_set(eb, IF_ERUNTIME,
			       "Prolific client: out of memory");
	c->base = strdup(base);
	n = strlen("Authorization: Token ") + strlen(cfg->token) + 1;
	c->auth = malloc(n);
	if (c->base == NULL || c->auth == NULL) {
		prolific_client_free(c);
		return err_set(eb, IF_ERUNTIME,
			       "Prolific client: out of memory");
	}
	snprintf(c->auth, n, "Authorization: Token %s", cfg->token);
	n = strlen(c->base);
	while (n > 0 && c->base[n - 1] == '/')
		c->base[--n] = '\0';
	c->http_opt = cfg->http;
	c->retry = cfg->retry;
	if (c->retry.max_attempts <= 0)
		c->retry.max_attempts = DEFAULT_ATTEMPTS;
	c->clock = cfg->clock;
	mturk_clock_defaults(&c->clock);
	http_response_init(&c->resp, 0);
	if ((rc = http_client_new(&cfg->http, &c->http, eb)) != IF_OK) {
		prolific_client_free(c);
		return rc;
	}
	*out = c;
	return IF_OK;
}

void
prolific_client_free(struct prolific_client *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	http_response_cleanup(&c->resp);
	if (c->auth != NULL) {
		secure_zero(c->auth, strlen(c->auth));
		free(c->auth);
	}
	free(c->base);
	free(c);
}

uint64_t
prolific_client_requests(const struct prolific_client *c)
{
	return c->requests;
}

/* Copies what fits of src; messages may be cut, never overrun. */
static void
copy_text(char *dst, size_t dstsz, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (dstsz == 0)
		return;
	if (n >= dstsz)
		n = dstsz - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* A JSON value as text for a message: strings as they are. */
static void
json_text(json_t *v, char *dst, size_t dstsz)
{
	char *s;

	if (v == NULL || json_is_null(v)) {
		dst[0] = '\0';
		return;
	}
	if (json_is_string(v)) {
		copy_text(dst, dstsz, json_string_value(v));
		return;
	}
	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	copy_text(dst, dstsz, s);
	free(s);
}

/*
 * The error body, in either of the two shapes Prolific's own client
 * decodes: {"error": {"status", "title", "error_code", "detail", ...}} or
 * {"message", "detail"}.  Anything else leaves only the status.
 */
static void
error_from_body(struct prolific_error *e, const struct buf *body)
{
	json_t *root, *inner, *code;

	if (body->len == 0)
		return;
	root = json_loadb(body->data, body->len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return;
	}
	inner = json_object_get(root, "error");
	if (json_is_object(inner)) {
		json_text(json_object_get(inner, "title"), e->title,
			  sizeof(e->title));
		json_text(json_object_get(inner, "detail"), e->detail,
			  sizeof(e->detail));
		code = json_object_get(inner, "error_code");
		if (json_is_integer(code))
			e->error_code = (long)json_integer_value(code);
	} else {
		json_text(json_object_get(root, "message"), e->title,
			  sizeof(e->title));
		json_text(json_object_get(root, "detail"), e->detail,
			  sizeof(e->detail));
	}
	json_decref(root);
}

/*
 * One request with the retries its kind allows.  IF_OK with a 2xx answer
 * in c->resp; otherwise err is filled and the status returned.
 *
 * A request that must not be repeated goes on a handle of its own, so on
 * a new connection: libcurl sends a request again by itself when a reused
 * connection turns out closed before any answer ("Connection died,
 * retrying a fresh connect"), which for a pay call would pay twice.  A
 * fresh connection is never resent that way.
 */
static int
call(struct prolific_client *c, const char *what, const char *method,
     const char *path, const char *body, bool may_repeat,
     struct prolific_error *err, struct errbuf *eb)
{
	struct http_client *once = NULL;
	const char *hdrs_json[] = {c->auth, "Accept: application/json",
				   "Content-Type: application/json", NULL};
	const char *hdrs_bare[] = {c->auth, "Accept: application/json", NULL};
	struct http_request req = {0};
	struct prolific_error local;
	struct errbuf heb;
	char text[1024];
	char *url;
	size_t n;
	int64_t started = c->clock.now(c->clock.ctx);
	int attempt = 0, rc;

	if (err == NULL)
		err = &local;
	n = strlen(c->base) + strlen(path) + 1;
	url = malloc(n);
	if (url == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", what);
	snprintf(url, n, "%s%s", c->base, path);
	req.method = method;
	req.url = url;
	req.headers = body != NULL ? hdrs_json : hdrs_bare;
	req.body = body;
	req.body_len = body != NULL ? strlen(body) : 0;
	if (!may_repeat &&
	    (rc = http_client_new(&c->http_opt, &once, eb)) != IF_OK) {
		free(url);
		return rc;
	}
	for (;;) {
		prolific_error_clear(err);
		err_init(&heb);
		c->requests++;
		rc = http_perform(once != NULL ? once : c->http, &req, &c->resp,
				  &heb);
		http_client_free(once);
		once = NULL;
		if (rc == IF_OK && c->resp.status >= 200 &&
		    c->resp.status < 300) {
			free(url);
			return IF_OK;
		}
		if (rc != IF_OK) {
			err->curl_code = c->resp.curl_code != 0
						 ? c->resp.curl_code
						 : CURLE_UNSUPPORTED_PROTOCOL;
			copy_text(err->detail, sizeof(err->detail), heb.msg);
			/* Our own body cap: the same every time. */
			err->fault = c->resp.curl_code == CURLE_WRITE_ERROR
					     ? PROLIFIC_FAULT_REFUSED
					     : prolific_fault_classify(
						       0, err->curl_code);
		} else {
			err->http_status = c->resp.status;
			error_from_body(err, &c->resp.body);
			err->fault = prolific_fault_classify(c->resp.status, 0);
		}
		prolific_error_format(err, text, sizeof(text));
		if (!may_repeat || err->fault != PROLIFIC_FAULT_PASSING) {
			free(url);
			return err_set(eb, IF_ERUNTIME, "Prolific %s: %s (%s)",
				       what, text,
				       prolific_fault_str(err->fault));
		}
		if (attempt + 1 >= c->retry.max_attempts) {
			free(url);
			return err_set(eb, IF_ETEMP,
				       "Prolific %s: %s (gave up after %d "
				       "attempts)", what, text, attempt + 1);
		}
		{
			int64_t ms = mturk_backoff_ms(
				&c->retry, attempt,
				c->clock.random(c->clock.ctx));
			int64_t spent = c->clock.now(c->clock.ctx) - started;
			int64_t limit = c->retry.max_elapsed_s;
			if (limit > 0 && spent + (ms + 999) / 1000 > limit) {
				free(url);
				return err_set(eb, IF_ETEMP,
					       "Prolific %s: %s (gave up after "
					       "%d attempts in %lld s)",
					       what, text, attempt + 1,
					       (long long)spent);
			}
			log_info("Prolific %s: %s; retry %d of %d in %lld ms",
				 what, text, attempt + 1,
				 c->retry.max_attempts - 1, (long long)ms);
			c->clock.sleep_ms(c->clock.ctx, ms);
		}
		attempt++;
	}
}

/* The body of the last answer as a JSON object, or an error. */
static int
answer_object(struct prolific_client *c, const char *what, json_t **out,
	      struct prolific_error *err, struct errbuf *eb)
{
	json_error_t je;

	*out = json_loadb(c->resp.body.data != NULL ? c->resp.body.data : "",
			  c->resp.body.len, 0, &je);
	if (*out == NULL || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		if (err != NULL) {
			prolific_error_clear(err);
			err->http_status = c->resp.status;
			err->fault = PROLIFIC_FAULT_REFUSED;
		}
		return err_set(eb, IF_ERUNTIME,
			       "Prolific %s: the answer is not a JSON object",
			       what);
	}
	return IF_OK;
}

/* A string member into dst; false when present but not a string or too
 * long.  Absent or null leaves "". */
static bool
take_string(json_t *obj, const char *key, char *dst, size_t dstsz)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	if (strlen(s) >= dstsz)
		return false;
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

/* Cents from a JSON number (the API sends doubles); -1 when absent. */
static int64_t
take_cents(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return -1;
	return (int64_t)llround(json_number_value(v));
}

static int
submission_from_json(json_t *o, struct prolific_submission *s,
		     const char *what, struct errbuf *eb)
{
	json_t *bonus, *item;
	size_t i;
	bool ok = true;

	memset(s, 0, sizeof(*s));
	ok &= take_string(o, "id", s->id, sizeof(s->id));
	ok &= take_string(o, "study_id", s->study_id, sizeof(s->study_id));
	/* The list names it participant_id, the element participant. */
	ok &= take_string(o, "participant_id", s->participant_id,
			  sizeof(s->participant_id));
	if (ok && s->participant_id[0] == '\0')
		ok &= take_string(o, "participant", s->participant_id,
				  sizeof(s->participant_id));
	ok &= take_string(o, "status", s->status_text, sizeof(s->status_text));
	ok &= take_string(o, "started_at", s->started_at,
			  sizeof(s->started_at));
	ok &= take_string(o, "completed_at", s->completed_at,
			  sizeof(s->completed_at));
	ok &= take_string(o, "entered_code", s->entered_code,
			  sizeof(s->entered_code));
	if (!ok || !prolific_id_valid(s->id))
		return err_set(eb, IF_ERUNTIME,
			       "Prolific %s: a submission without a usable id "
			       "or with a malformed field", what);
	s->status = prolific_status_parse(s->status_text);
	bonus = json_object_get(o, "bonus_payments");
	if (json_is_array(bonus)) {
		json_array_foreach(bonus, i, item) {
			if (!json_is_number(item))
				return err_set(eb, IF_ERUNTIME,
					       "Prolific %s: submission %s: "
					       "bonus_payments holds a "
					       "non-number", what, s->id);
			if (s->n_bonus < PROLIFIC_BONUS_KEPT)
				s->bonus_cents[s->n_bonus] = (int64_t)llround(
					json_number_value(item));
			s->n_bonus++;
		}
	}
	return IF_OK;
}

static int
check_id(const char *what, const char *kind, const char *id,
	 struct errbuf *eb)
{
	if (!prolific_id_valid(id))
		return err_set(eb, IF_EINPUT,
			       "Prolific %s: %s id is not [A-Za-z0-9_-]{1,64}",
			       what, kind);
	return IF_OK;
}

int
prolific_get_submission(struct prolific_client *c, const char *submission_id,
			struct prolific_submission *out,
			struct prolific_error *err, struct errbuf *eb)
{
	char path[128], what[128];
	json_t *o = NULL;
	int rc;

	if ((rc = check_id("get submission", "submission", submission_id,
			   eb)) != IF_OK)
		return rc;
	snprintf(what, sizeof(what), "get submission %s", submission_id);
	snprintf(path, sizeof(path), "/api/v1/submissions/%s/", submission_id);
	if ((rc = call(c, what, "GET", path, NULL, true, err, eb)) != IF_OK)
		return rc;
	if ((rc = answer_object(c, what, &o, err, eb)) != IF_OK)
		return rc;
	rc = submission_from_json(o, out, what, eb);
	json_decref(o);
	return rc;
}

int
prolific_list_submissions(struct prolific_client *c, const char *study_id,
			  int page_size, prolific_submission_cb cb, void *ctx,
			  struct prolific_error *err, struct errbuf *eb)
{
	return prolific_list_submissions_in(c, study_id,
					    PROLIFIC_STATUS_UNKNOWN,
					    page_size, cb, ctx, err, eb);
}

/*
 * The list filter's spelling of a status: the API's, with '_' for the
 * space and the hyphen ("underscore normalization", docs/prolific-api.md).
 */
static void
status_filter(enum prolific_status status, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", prolific_status_str(status));
	for (char *p = out; *p != '\0'; p++)
		if (*p == ' ' || *p == '-')
			*p = '_';
}

int
prolific_list_submissions_in(struct prolific_client *c, const char *study_id,
			     enum prolific_status status, int page_size,
			     prolific_submission_cb cb, void *ctx,
			     struct prolific_error *err, struct errbuf *eb)
{
	struct prolific_submission s;
	char path[320], what[160], filter[48] = "";
	json_t *o, *results, *item, *next;
	size_t i, got;
	bool more = true;
	int rc;

	if ((rc = check_id("list submissions", "study", study_id, eb)) !=
	    IF_OK)
		return rc;
	if (page_size <= 0)
		page_size = DEFAULT_PAGE_SIZE;
	if (page_size > MAX_PAGE_SIZE)
		page_size = MAX_PAGE_SIZE;
	if (status != PROLIFIC_STATUS_UNKNOWN) {
		status_filter(status, filter + 8, sizeof(filter) - 8);
		memcpy(filter, "&status=", 8);
	}
	for (long page = 1; more; page++) {
		snprintf(what, sizeof(what),
			 "list submissions of study %s%s (page %ld)", study_id,
			 filter, page);
		snprintf(path, sizeof(path),
			 "/api/v1/submissions/?study=%s%s&page=%ld&"
			 "page_size=%d",
			 study_id, filter, page, page_size);
		if ((rc = call(c, what, "GET", path, NULL, true, err, eb)) !=
		    IF_OK)
			return rc;
		if ((rc = answer_object(c, what, &o, err, eb)) != IF_OK)
			return rc;
		results = json_object_get(o, "results");
		if (!json_is_array(results)) {
			json_decref(o);
			return err_set(eb, IF_ERUNTIME,
				       "Prolific %s: no results list", what);
		}
		got = json_array_size(results);
		json_array_foreach(results, i, item) {
			if (!json_is_object(item)) {
				json_decref(o);
				return err_set(eb, IF_ERUNTIME,
					       "Prolific %s: result %zu is "
					       "not an object", what, i);
			}
			if ((rc = submission_from_json(item, &s, what, eb)) !=
				    IF_OK ||
			    (rc = cb(ctx, &s, eb)) != IF_OK) {
				json_decref(o);
				return rc;
			}
		}
		next = json_object_get(json_object_get(o, "_links"), "next");
		if (json_is_object(next))
			next = json_object_get(next, "href");
		if (json_object_get(o, "_links") != NULL)
			more = json_is_string(next) &&
			       json_string_length(next) > 0 && got > 0;
		else
			more = got == (size_t)page_size;
		json_decref(o);
	}
	return IF_OK;
}

/* POST body to path; the answer is not needed beyond its status. */
static int
post_json(struct prolific_client *c, const char *what, const char *path,
	  json_t *body, bool may_repeat, struct prolific_error *err,
	  struct errbuf *eb)
{
	char *text;
	int rc;

	if (body == NULL)
		return err_set(eb, IF_ERUNTIME, "Prolific %s: out of memory",
			       what);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return err_set(eb, IF_ERUNTIME, "Prolific %s: out of memory",
			       what);
	rc = call(c, what, "POST", path, text, may_repeat, err, eb);
	free(text);
	return rc;
}

int
prolific_approve(struct prolific_client *c, const char *submission_id,
		 struct prolific_error *err, struct errbuf *eb)
{
	char path[128], what[128];
	int rc;

	if ((rc = check_id("approve", "submission", submission_id, eb)) !=
	    IF_OK)
		return rc;
	snprintf(what, sizeof(what), "approve submission %s", submission_id);
	snprintf(path, sizeof(path), "/api/v1/submissions/%s/transition/",
		 submission_id);
	return post_json(c, what, path, json_pack("{s:s}", "action", "APPROVE"),
			 true, err, eb);
}

static bool
category_ok(const char *s)
{
	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	for (; *s != '\0'; s++)
		if (!((*s >= 'A' && *s <= 'Z') || *s == '_'))
			return false;
	return true;
}

int
prolific_reject(struct prolific_client *c, const char *submission_id,
		const char *category, const char *message,
		struct prolific_error *err, struct errbuf *eb)
{
	char path[128], what[128];
	int rc;

	if ((rc = check_id("reject", "submission", submission_id, eb)) != IF_OK)
		return rc;
	snprintf(what, sizeof(what), "reject submission %s", submission_id);
	if (!category_ok(category))
		return err_set(eb, IF_EINPUT,
			       "Prolific %s: the rejection category must be "
			       "upper-case letters and '_'", what);
	if (message == NULL || strlen(message) < REJECT_MESSAGE_MIN)
		return err_set(eb, IF_EINPUT,
			       "Prolific %s: the message to the participant "
			       "must be at least %d characters", what,
			       REJECT_MESSAGE_MIN);
	snprintf(path, sizeof(path), "/api/v1/submissions/%s/transition/",
		 submission_id);
	return post_json(c, what, path,
			 json_pack("{s:s,s:s,s:s}", "action", "REJECT",
				   "message", message, "rejection_category",
				   category),
			 true, err, eb);
}

int
prolific_bonus_create(struct prolific_client *c, const char *study_id,
		      const char *submission_id, int64_t amount_cents,
		      struct prolific_bulk_bonus *out,
		      struct prolific_error *err, struct errbuf *eb)
{
	char csv[160], what[160];
	json_t *o = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = check_id("set up bonus", "study", study_id, eb)) != IF_OK ||
	    (rc = check_id("set up bonus", "submission", submission_id, eb)) !=
		    IF_OK)
		return rc;
	snprintf(what, sizeof(what), "set up bonus for submission %s",
		 submission_id);
	/* A bonus of 0 pays nothing; one over $1,000,000 is a mistake. */
	if (amount_cents <= 0 || amount_cents > 100000000)
		return err_set(eb, IF_EINPUT,
			       "Prolific %s: amount %lld cents out of range",
			       what, (long long)amount_cents);
	/* "1.50 for £1.50": the decimal amount in the study currency. */
	snprintf(csv, sizeof(csv), "%s,%lld.%02lld\n", submission_id,
		 (long long)(amount_cents / 100),
		 (long long)(amount_cents % 100));
	rc = post_json(c, what, "/api/v1/submissions/bonus-payments/",
		       json_pack("{s:s,s:s}", "study_id", study_id,
				 "csv_bonuses", csv),
		       true, err, eb);
	if (rc != IF_OK)
		return rc;
	if ((rc = answer_object(c, what, &o, err, eb)) != IF_OK)
		return rc;
	if (!take_string(o, "id", out->id, sizeof(out->id)) ||
	    !prolific_id_valid(out->id)) {
		json_decref(o);
		return err_set(eb, IF_ERUNTIME,
			       "Prolific %s: the answer has no usable id",
			       what);
	}
	out->amount_cents = take_cents(o, "amount");
	out->fees_cents = take_cents(o, "fees");
	out->total_cents = take_cents(o, "total_amount");
	json_decref(o);
	return IF_OK;
}

/* Transfers that fail before the request can have left this machine. */
static bool
curl_never_sent(int code)
{
	switch (code) {
	case CURLE_UNSUPPORTED_PROTOCOL: /* also our own URL refusal */
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
		return true;
	default:
		return false;
	}
}

int
prolific_bonus_pay(struct prolific_client *c, const char *bulk_id,
		   enum prolific_pay_outcome *outcome,
		   struct prolific_error *err, struct errbuf *eb)
{
	struct prolific_error local;
	char path[128], what[128];
	int rc;

	*outcome = PROLIFIC_PAY_REFUSED;
	if ((rc = check_id("pay bonus", "bulk bonus", bulk_id, eb)) != IF_OK)
		return rc;
	if (err == NULL)
		err = &local;
	snprintf(what, sizeof(what), "pay bulk bonus %s", bulk_id);
	snprintf(path, sizeof(path), "/api/v1/bulk-bonus-payments/%s/pay/",
		 bulk_id);
	rc = call(c, what, "POST", path, NULL, false, err, eb);
	if (rc == IF_OK)
		*outcome = PROLIFIC_PAY_SENT;
	else if (err->http_status >= 400 && err->http_status < 500)
		*outcome = PROLIFIC_PAY_REFUSED;
	else if (err->http_status == 0 && curl_never_sent(err->curl_code))
		*outcome = PROLIFIC_PAY_REFUSED;
	else
		*outcome = PROLIFIC_PAY_UNKNOWN;
	return rc;
}

int
prolific_complete_url(const char *code, char *out, size_t outsz,
		      struct errbuf *eb)
{
	int n;

	if (!prolific_id_valid(code))
		return err_set(eb, IF_EINPUT,
			       "Prolific completion code: not "
			       "[A-Za-z0-9_-]{1,64}");
	n = snprintf(out, outsz, "%s?cc=%s", PROLIFIC_COMPLETE_URL, code);
	if (n < 0 || (size_t)n >= outsz)
		return err_set(eb, IF_EINPUT,
			       "Prolific completion URL: buffer too small");
	return IF_OK;
}

int
prolific_entry_check(const char *prolific_pid, const char *study_id,
		     const char *session_id, const char *expected_study,
		     struct errbuf *eb)
{
	if (!prolific_id_valid(prolific_pid))
		return err_set(eb, IF_EINPUT,
			       "PROLIFIC_PID: missing or not an id");
	if (!prolific_id_valid(study_id))
		return err_set(eb, IF_EINPUT, "STUDY_ID: missing or not an id");
	if (!prolific_id_valid(session_id))
		return err_set(eb, IF_EINPUT,
			       "SESSION_ID: missing or not an id");
	if (expected_study == NULL || strcmp(study_id, expected_study) != 0)
		return err_set(eb, IF_EINPUT,
			       "STUDY_ID: not this experiment's study");
	return IF_OK;
}
