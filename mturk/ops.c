/*
 * mturk/ops.c - the operations the daemon uses, as typed C calls (spec
 * section 5; style guide 12: JSON is built and parsed here, once, with
 * jansson, and never walked at call sites).
 *
 * Each wrapper also absorbs the service's idempotency quirks, so that a
 * retry after a lost answer is a success rather than an error:
 *   - CreateHITWithHITType with a UniqueRequestToken that already made a HIT
 *     answers AWS.MechanicalTurk.HitAlreadyExists; the HITId is in the
 *     message (mturk-facts 1.2).
 *   - A second ApproveAssignment answers InvalidAssignmentState; the
 *     assignment is read back and Approved counts as done (facts 1.4).
 *   - Repeating UpdateExpirationForHIT answers "The idempotency token ...
 *     has already been processed" (facts 1.4).
 *   - CreateQualificationType refuses a name the requester already used; the
 *     existing type is looked up instead (facts 1.5).
 *   - UpdateHITReviewStatus refused (a repeat after a lost answer or a
 *     crash): GetHIT, and a HIT already in the status asked for counts as
 *     done, as for the double approve.
 * Timestamps arrive as epoch numbers, sometimes with a fraction.
 */
#include "mturk/client_private.h"
#include "mturk/mturk.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PAGES 10000 /* a paging loop that never ends is a bug there */
/* An assignment alone over the response cap: strings longer are dropped. */
#define ANSWER_ELIDE_OVER (64 * 1024)

/* Parsing state: the first bad field sets the error; the rest are skipped. */
struct pctx {
	const char *op;
	struct errbuf *eb;
	int rc;
};

static void
bad_field(struct pctx *p, const char *key, const char *why)
{
	if (p->rc == IF_OK)
		p->rc = err_set(p->eb, IF_ERUNTIME,
				"%s: answer field %s %s", p->op, key, why);
}

static void
p_str(struct pctx *p, json_t *o, const char *key, char *dst, size_t dstsz)
{
	json_t *v = json_object_get(o, key);
	size_t n;

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_string(v)) {
		bad_field(p, key, "is not a string");
		return;
	}
	n = json_string_length(v);
	if (n >= dstsz) {
		bad_field(p, key, "is too long");
		return;
	}
	memcpy(dst, json_string_value(v), n);
	dst[n] = '\0';
}

static void
p_dup(struct pctx *p, json_t *o, const char *key, char **dst)
{
	json_t *v = json_object_get(o, key);

	*dst = NULL;
	if (v != NULL && !json_is_null(v) && !json_is_string(v))
		bad_field(p, key, "is not a string");
	*dst = strdup(json_is_string(v) ? json_string_value(v) : "");
	if (*dst == NULL && p->rc == IF_OK)
		p->rc = err_set(p->eb, IF_ERUNTIME, "%s: out of memory", p->op);
}

static void
p_time(struct pctx *p, json_t *o, const char *key, double *dst)
{
	json_t *v = json_object_get(o, key);

	*dst = 0;
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_number(v)) {
		bad_field(p, key, "is not an epoch number");
		return;
	}
	*dst = json_number_value(v);
}

static void
p_int(struct pctx *p, json_t *o, const char *key, int64_t *dst)
{
	json_t *v = json_object_get(o, key);

	*dst = 0;
	if (v == NULL || json_is_null(v))
		return;
	if (!json_is_integer(v)) {
		bad_field(p, key, "is not an integer");
		return;
	}
	*dst = (int64_t)json_integer_value(v);
}

static void
parse_hit(struct pctx *p, json_t *h, struct mturk_hit *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(h)) {
		bad_field(p, "HIT", "is not an object");
		return;
	}
	p_str(p, h, "HITId", out->hit_id, sizeof(out->hit_id));
	p_str(p, h, "HITTypeId", out->hit_type_id, sizeof(out->hit_type_id));
	p_str(p, h, "HITGroupId", out->hit_group_id, sizeof(out->hit_group_id));
	p_str(p, h, "HITStatus", out->hit_status, sizeof(out->hit_status));
	p_str(p, h, "HITReviewStatus", out->review_status,
	      sizeof(out->review_status));
	p_str(p, h, "Title", out->title, sizeof(out->title));
	p_str(p, h, "Reward", out->reward, sizeof(out->reward));
	p_str(p, h, "RequesterAnnotation", out->requester_annotation,
	      sizeof(out->requester_annotation));
	p_time(p, h, "CreationTime", &out->creation_time);
	p_time(p, h, "Expiration", &out->expiration);
	p_int(p, h, "MaxAssignments", &out->max_assignments);
	p_int(p, h, "AssignmentDurationInSeconds", &out->assignment_duration);
	p_int(p, h, "AutoApprovalDelayInSeconds", &out->auto_approval_delay);
	p_int(p, h, "NumberOfAssignmentsPending", &out->assignments_pending);
	p_int(p, h, "NumberOfAssignmentsAvailable",
	      &out->assignments_available);
	p_int(p, h, "NumberOfAssignmentsCompleted",
	      &out->assignments_completed);
}

static void
parse_assignment(struct pctx *p, json_t *a, struct mturk_assignment *out)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(a)) {
		bad_field(p, "Assignment", "is not an object");
		return;
	}
	p_str(p, a, "AssignmentId", out->assignment_id,
	      sizeof(out->assignment_id));
	p_str(p, a, "WorkerId", out->worker_id, sizeof(out->worker_id));
	p_str(p, a, "HITId", out->hit_id, sizeof(out->hit_id));
	p_str(p, a, "AssignmentStatus", out->status, sizeof(out->status));
	p_time(p, a, "AcceptTime", &out->accept_time);
	p_time(p, a, "SubmitTime", &out->submit_time);
	p_time(p, a, "ApprovalTime", &out->approval_time);
	p_time(p, a, "RejectionTime", &out->rejection_time);
	p_time(p, a, "AutoApprovalTime", &out->auto_approval_time);
	p_time(p, a, "Deadline", &out->deadline);
	p_dup(p, a, "Answer", &out->answer);
	p_dup(p, a, "RequesterFeedback", &out->requester_feedback);
}

void
mturk_assignment_cleanup(struct mturk_assignment *a)
{
	if (a == NULL)
		return;
	free(a->answer);
	free(a->requester_feedback);
	memset(a, 0, sizeof(*a));
}

void
mturk_assignments_free(struct mturk_assignment *a, size_t n)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		mturk_assignment_cleanup(&a[i]);
	free(a);
}

void
mturk_money_format(int64_t cents, char *out, size_t outsz)
{
	if (cents < 0)
		cents = 0;
	snprintf(out, outsz, "%lld.%02lld", (long long)(cents / 100),
		 (long long)(cents % 100));
}

int
mturk_money_parse(const char *s, int64_t *cents)
{
	int64_t whole = 0, frac = 0;
	int nfrac = 0;
	const char *p = s;

	/* CurrencyAmount: ^[0-9]+(\.)?[0-9]{0,2}$ */
	if (s == NULL || !isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (INT64_MAX / 100 - 9) / 10)
			return -1;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++) {
			if (++nfrac > 2)
				return -1;
			frac = frac * 10 + (*p - '0');
		}
	if (*p != '\0')
		return -1;
	if (nfrac == 1)
		frac *= 10;
	*cents = whole * 100 + frac;
	return 0;
}

/*
 * Sends req (consumed, also on failure) as operation op and parses the
 * answer into *resp (an object; json_decref() it).  e receives the remote
 * error, if any.  elide_over and *elided (may be NULL): see
 * mturk_call_eliding().
 */
static int
call_json_eliding(struct mturk_client *c, const char *op, json_t *req,
		  json_t **resp, size_t elide_over, size_t *elided,
		  struct mturk_error *e, struct errbuf *eb)
{
	struct buf out;
	json_error_t jerr;
	char *body = NULL;
	int rc;

	*resp = NULL;
	mturk_error_clear(e);
	if (req == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: cannot build the request",
			       op);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (body == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: cannot build the request",
			       op);
	buf_init(&out, 0);
	if (elided != NULL)
		*elided = 0;
	if (elide_over > 0)
		rc = mturk_call_eliding(c, op, body, strlen(body), elide_over,
					&out, elided, e, eb);
	else
		rc = mturk_call(c, op, body, strlen(body), &out, e, eb);
	free(body);
	if (rc != IF_OK)
		goto cleanup;
	*resp = json_loadb(out.data != NULL ? out.data : "", out.len,
			   JSON_REJECT_DUPLICATES, &jerr);
	if (*resp == NULL) {
		rc = err_set(eb, IF_ERUNTIME,
			     "%s: the answer is not JSON: %d:%d: %s", op,
			     jerr.line, jerr.column, jerr.text);
	} else if (!json_is_object(*resp)) {
		json_decref(*resp);
		*resp = NULL;
		rc = err_set(eb, IF_ERUNTIME,
			     "%s: the answer is not a JSON object", op);
	}
cleanup:
	buf_cleanup(&out);
	return rc;
}

static int
call_json(struct mturk_client *c, const char *op, json_t *req, json_t **resp,
	  struct mturk_error *e, struct errbuf *eb)
{
	return call_json_eliding(c, op, req, resp, 0, NULL, e, eb);
}

/* Finds the caller's qualification type named name, every page. */
static int
find_qualification_type(struct mturk_client *c, const char *name,
			char id[MTURK_ID_MAX], bool *found, struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"ListQualificationTypes", eb, IF_OK};
	char token[256] = "";
	json_t *req, *resp = NULL, *list, *q;
	size_t i;
	int rc = IF_OK;

	*found = false;
	for (int page = 0; page < MAX_PAGES; page++) {
		req = json_pack("{s:b, s:b, s:s, s:i}", "MustBeRequestable", 0,
				"MustBeOwnedByCaller", 1, "Query", name,
				"MaxResults", 100);
		if (req != NULL && token[0] != '\0')
			json_object_set_new(req, "NextToken",
					    json_string(token));
		rc = call_json(c, p.op, req, &resp, &e, eb);
		if (rc != IF_OK)
			return rc;
		list = json_object_get(resp, "QualificationTypes");
		json_array_foreach(list, i, q) {
			json_t *n = json_object_get(q, "Name");
			if (json_is_string(n) &&
			    strcmp(json_string_value(n), name) == 0) {
				p_str(&p, q, "QualificationTypeId", id,
				      MTURK_ID_MAX);
				*found = p.rc == IF_OK && id[0] != '\0';
				json_decref(resp);
				return p.rc;
			}
		}
		p_str(&p, resp, "NextToken", token, sizeof(token));
		json_decref(resp);
		if (p.rc != IF_OK || token[0] == '\0')
			return p.rc;
	}
	return err_set(eb, IF_ERUNTIME, "%s: more than %d pages", p.op,
		       MAX_PAGES);
}

int
mturk_create_qualification_type(struct mturk_client *c, const char *name,
				const char *description, char id[MTURK_ID_MAX],
				struct errbuf *eb)
{
	struct mturk_error e;
	struct errbuf ceb = {0};
	struct pctx p = {"CreateQualificationType", eb, IF_OK};
	json_t *resp = NULL;
	bool found = false;
	int rc;

	id[0] = '\0';
	rc = call_json(c, p.op,
		       json_pack("{s:s, s:s, s:s}", "Name", name,
				 "Description", description,
				 "QualificationTypeStatus", "Active"),
		       &resp, &e, &ceb);
	if (rc == IF_OK) {
		p_str(&p, json_object_get(resp, "QualificationType"),
		      "QualificationTypeId", id, MTURK_ID_MAX);
		json_decref(resp);
		if (p.rc == IF_OK && id[0] == '\0')
			return err_set(eb, IF_ERUNTIME,
				       "%s: the answer has no "
				       "QualificationTypeId", p.op);
		return p.rc;
	}
	/* Names are unique per requester: a rerun finds its own type. */
	if (!mturk_error_is_name_taken(&e))
		return err_set(eb, ceb.code, "%s", ceb.msg);
	rc = find_qualification_type(c, name, id, &found, eb);
	if (rc != IF_OK)
		return rc;
	if (!found)
		return err_set(eb, IF_ERUNTIME,
			       "%s: \"%s\" exists but is not among the "
			       "caller's qualification types: %s",
			       p.op, name, ceb.msg);
	return IF_OK;
}

int
mturk_associate_qualification(struct mturk_client *c, const char *qual_id,
			      const char *worker_id, int64_t value,
			      struct errbuf *eb)
{
	struct mturk_error e;
	json_t *resp = NULL;
	int rc;

	/* SendNotification defaults to true, which e-mails the worker. */
	rc = call_json(c, "AssociateQualificationWithWorker",
		       json_pack("{s:s, s:s, s:I, s:b}", "QualificationTypeId",
				 qual_id, "WorkerId", worker_id, "IntegerValue",
				 (json_int_t)value, "SendNotification", 0),
		       &resp, &e, eb);
	json_decref(resp);
	return rc;
}

static json_t *
qual_reqs_json(const struct mturk_qual_req *q, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr != NULL && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "QualificationTypeId",
				      q[i].qualification_type_id, "Comparator",
				      q[i].comparator);
		if (o == NULL)
			goto fail;
		if (q[i].n_integer_values > 0) {
			json_t *iv = json_array();
			for (size_t k = 0; k < q[i].n_integer_values; k++)
				json_array_append_new(
					iv,
					json_integer(q[i].integer_values[k]));
			json_object_set_new(o, "IntegerValues", iv);
		}
		if (q[i].n_countries > 0) {
			json_t *lv = json_array();
			for (size_t k = 0; k < q[i].n_countries; k++)
				json_array_append_new(
					lv, json_pack("{s:s}", "Country",
						      q[i].countries[k]));
			json_object_set_new(o, "LocaleValues", lv);
		}
		if (q[i].actions_guarded != NULL)
			json_object_set_new(o, "ActionsGuarded",
					    json_string(q[i].actions_guarded));
		if (json_array_append_new(arr, o) != 0)
			goto fail;
	}
	return arr;
fail:
	json_decref(arr);
	return NULL;
}

int
mturk_create_hit_type(struct mturk_client *c, const struct mturk_hit_type *t,
		      char id[MTURK_ID_MAX], struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"CreateHITType", eb, IF_OK};
	char reward[32];
	json_t *req, *resp = NULL;
	int rc;

	id[0] = '\0';
	mturk_money_format(t->reward_cents, reward, sizeof(reward));
	req = json_pack("{s:s, s:s, s:s, s:I}", "Title", t->title,
			"Description", t->description, "Reward", reward,
			"AssignmentDurationInSeconds",
			(json_int_t)t->assignment_duration);
	if (req != NULL && t->keywords != NULL && *t->keywords != '\0')
		json_object_set_new(req, "Keywords", json_string(t->keywords));
	if (req != NULL && t->auto_approval_delay >= 0)
		json_object_set_new(req, "AutoApprovalDelayInSeconds",
				    json_integer(t->auto_approval_delay));
	if (req != NULL && t->n_quals > 0) {
		json_t *qr = qual_reqs_json(t->quals, t->n_quals);
		if (qr == NULL) {
			json_decref(req);
			req = NULL;
		} else {
			json_object_set_new(req, "QualificationRequirements",
					    qr);
		}
	}
	rc = call_json(c, p.op, req, &resp, &e, eb);
	if (rc != IF_OK)
		return rc;
	p_str(&p, resp, "HITTypeId", id, MTURK_ID_MAX);
	json_decref(resp);
	if (p.rc == IF_OK && id[0] == '\0')
		return err_set(eb, IF_ERUNTIME,
			       "%s: the answer has no HITTypeId", p.op);
	return p.rc;
}

int
mturk_get_hit(struct mturk_client *c, const char *hit_id,
	      struct mturk_hit *out, struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"GetHIT", eb, IF_OK};
	json_t *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = call_json(c, p.op, json_pack("{s:s}", "HITId", hit_id), &resp, &e,
		       eb);
	if (rc != IF_OK)
		return rc;
	parse_hit(&p, json_object_get(resp, "HIT"), out);
	json_decref(resp);
	return p.rc;
}

int
mturk_create_hit(struct mturk_client *c, const char *hit_type_id,
		 const char *question, int64_t lifetime,
		 int64_t max_assignments, const char *annotation,
		 const char *token, struct mturk_hit *out, bool *recovered,
		 struct errbuf *eb)
{
	struct mturk_error e;
	struct errbuf ceb = {0}, geb = {0};
	struct pctx p = {"CreateHITWithHITType", eb, IF_OK};
	char hit_id[MTURK_ID_MAX];
	json_t *req, *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	*recovered = false;
	req = json_pack("{s:s, s:s, s:I, s:I}", "HITTypeId", hit_type_id,
			"Question", question, "LifetimeInSeconds",
			(json_int_t)lifetime, "MaxAssignments",
			(json_int_t)max_assignments);
	if (req != NULL && annotation != NULL)
		json_object_set_new(req, "RequesterAnnotation",
				    json_string(annotation));
	if (req != NULL && token != NULL)
		json_object_set_new(req, "UniqueRequestToken",
				    json_string(token));
	rc = call_json(c, p.op, req, &resp, &e, &ceb);
	if (rc == IF_OK) {
		parse_hit(&p, json_object_get(resp, "HIT"), out);
		json_decref(resp);
		if (p.rc == IF_OK && out->hit_id[0] == '\0')
			return err_set(eb, IF_ERUNTIME,
				       "%s: the answer has no HITId", p.op);
		return p.rc;
	}
	if (token == NULL ||
	    mturk_error_recover_hit_id(&e, token, hit_id, sizeof(hit_id)) != 0)
		return err_set(eb, ceb.code, "%s", ceb.msg);
	/* Our token made this HIT before (a lost answer, or a crash). */
	*recovered = true;
	if (mturk_get_hit(c, hit_id, out, &geb) != IF_OK) {
		log_warnx("HIT %s: created earlier with token %s, but GetHIT "
			  "failed: %s", hit_id, token, geb.msg);
		memset(out, 0, sizeof(*out));
		snprintf(out->hit_id, sizeof(out->hit_id), "%s", hit_id);
	}
	return IF_OK;
}

/* Sends one page request of a HITs list (ListHITs, ListReviewableHITs). */
static int
hits_page(struct mturk_client *c, const char *op, json_t *req,
	  const char *token, int max_results, struct mturk_hit **hits,
	  size_t *n, char *next_token, size_t next_token_size,
	  struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {op, eb, IF_OK};
	json_t *resp = NULL, *list, *h;
	size_t i, count;
	int rc;

	*hits = NULL;
	*n = 0;
	next_token[0] = '\0';
	if (req != NULL)
		json_object_set_new(req, "MaxResults",
				    json_integer(max_results > 0 &&
							 max_results <= 100
						 ? max_results
						 : 100));
	if (req != NULL && token != NULL && *token != '\0')
		json_object_set_new(req, "NextToken", json_string(token));
	rc = call_json(c, p.op, req, &resp, &e, eb);
	if (rc != IF_OK)
		return rc;
	list = json_object_get(resp, "HITs");
	count = json_array_size(list);
	if (count > 0) {
		*hits = calloc(count, sizeof(**hits));
		if (*hits == NULL) {
			json_decref(resp);
			return err_set(eb, IF_ERUNTIME, "%s: out of memory",
				       p.op);
		}
	}
	json_array_foreach(list, i, h) parse_hit(&p, h, &(*hits)[i]);
	*n = count;
	p_str(&p, resp, "NextToken", next_token, next_token_size);
	json_decref(resp);
	if (p.rc != IF_OK) {
		free(*hits);
		*hits = NULL;
		*n = 0;
	}
	return p.rc;
}

int
mturk_list_hits_page(struct mturk_client *c, const char *token,
		     int max_results, struct mturk_hit **hits, size_t *n,
		     char *next_token, size_t next_token_size,
		     struct errbuf *eb)
{
	return hits_page(c, "ListHITs", json_object(), token, max_results,
			 hits, n, next_token, next_token_size, eb);
}

int
mturk_list_reviewable_hits_page(struct mturk_client *c,
				const char *hit_type_id, const char *status,
				const char *token, int max_results,
				struct mturk_hit **hits, size_t *n,
				char *next_token, size_t next_token_size,
				struct errbuf *eb)
{
	json_t *req = json_object();

	if (req != NULL && hit_type_id != NULL && *hit_type_id != '\0')
		json_object_set_new(req, "HITTypeId", json_string(hit_type_id));
	if (req != NULL && status != NULL)
		json_object_set_new(req, "Status", json_string(status));
	return hits_page(c, "ListReviewableHITs", req, token, max_results,
			 hits, n, next_token, next_token_size, eb);
}

int
mturk_list_reviewable_hits(struct mturk_client *c, const char *hit_type_id,
			   const char *status, struct mturk_hit **hits,
			   size_t *n, int *pages, struct errbuf *eb)
{
	char token[256] = "", next[256];
	struct mturk_hit *all = NULL, *page = NULL, *grown;
	size_t count = 0, got = 0;
	int rc = IF_OK;

	*hits = NULL;
	*n = 0;
	if (pages != NULL)
		*pages = 0;
	for (int k = 0;; k++) {
		if (k >= MAX_PAGES) {
			rc = err_set(eb, IF_ERUNTIME,
				     "ListReviewableHITs: more than %d pages",
				     MAX_PAGES);
			break;
		}
		if (pages != NULL)
			(*pages)++;
		rc = mturk_list_reviewable_hits_page(c, hit_type_id, status,
						     token, 100, &page, &got,
						     next, sizeof(next), eb);
		if (rc != IF_OK)
			break;
		if (got > 0) {
			grown = realloc(all, (count + got) * sizeof(*all));
			if (grown == NULL) {
				free(page);
				rc = err_set(
					eb, IF_ERUNTIME,
					"ListReviewableHITs: out of memory");
				break;
			}
			all = grown;
			memcpy(all + count, page, got * sizeof(*all));
			count += got;
		}
		free(page);
		page = NULL;
		/* Only the absence of a token ends the list. */
		if (next[0] == '\0') {
			*hits = all;
			*n = count;
			return IF_OK;
		}
		if (strcmp(next, token) == 0) {
			rc = err_set(eb, IF_ERUNTIME,
				     "ListReviewableHITs: the service repeated "
				     "the page token %s",
				     next);
			break;
		}
		memcpy(token, next, sizeof(token));
	}
	free(all);
	return rc;
}

int
mturk_update_hit_review_status(struct mturk_client *c, const char *hit_id,
			       bool revert, char *hit_status, size_t size,
			       struct errbuf *eb)
{
	struct mturk_error e;
	struct errbuf ueb = {0}, geb = {0};
	struct mturk_hit h;
	const char *want = revert ? "Reviewable" : "Reviewing";
	json_t *req, *resp = NULL;
	int rc;

	if (hit_status != NULL && size > 0)
		hit_status[0] = '\0';
	req = json_pack("{s:s, s:b}", "HITId", hit_id, "Revert", revert);
	rc = call_json(c, "UpdateHITReviewStatus", req, &resp, &e, &ueb);
	json_decref(resp);
	if (rc == IF_OK)
		return IF_OK;
	/*
	 * The model calls the operation idempotent, but no answer of the
	 * real service to a repeat is on record; a refusal is checked as a
	 * second approve is (facts 1.4): read the HIT, and the status asked
	 * for counts as done.  Retryable failures are not checked.
	 */
	if (rc == IF_ETEMP || !mturk_error_is_request_error(&e))
		return err_set(eb, ueb.code, "%s", ueb.msg);
	if (mturk_get_hit(c, hit_id, &h, &geb) != IF_OK)
		return err_set(eb, ueb.code, "%s (and then %s)", ueb.msg,
			       geb.msg);
	if (hit_status != NULL && size > 0)
		snprintf(hit_status, size, "%s", h.hit_status);
	if (strcmp(h.hit_status, want) == 0)
		return IF_OK;
	return err_set(eb, IF_ERUNTIME, "%s (the HIT is %s)", ueb.msg,
		       h.hit_status[0] != '\0' ? h.hit_status
					       : "in no status");
}

int
mturk_find_hit_by_annotation(struct mturk_client *c, const char *annotation,
			     struct mturk_hit *out, bool *found,
			     struct errbuf *eb)
{
	char token[256] = "", next[256];
	struct mturk_hit *hits = NULL;
	size_t n = 0;
	int rc;

	*found = false;
	memset(out, 0, sizeof(*out));
	for (int page = 0; page < MAX_PAGES; page++) {
		rc = mturk_list_hits_page(c, token, 100, &hits, &n, next,
					  sizeof(next), eb);
		if (rc != IF_OK)
			return rc;
		for (size_t i = 0; i < n && !*found; i++)
			if (strcmp(hits[i].requester_annotation, annotation) ==
			    0) {
				*out = hits[i];
				*found = true;
			}
		free(hits);
		if (*found || next[0] == '\0')
			return IF_OK;
		if (strcmp(next, token) == 0)
			return err_set(eb, IF_ERUNTIME,
				       "ListHITs: the service repeated the "
				       "page token %s", next);
		memcpy(token, next, sizeof(token));
	}
	return err_set(eb, IF_ERUNTIME, "ListHITs: more than %d pages",
		       MAX_PAGES);
}

static json_t *
statuses_json(int statuses)
{
	json_t *arr = json_array();

	if (statuses & MTURK_ASSIGNMENT_SUBMITTED)
		json_array_append_new(arr, json_string("Submitted"));
	if (statuses & MTURK_ASSIGNMENT_APPROVED)
		json_array_append_new(arr, json_string("Approved"));
	if (statuses & MTURK_ASSIGNMENT_REJECTED)
		json_array_append_new(arr, json_string("Rejected"));
	return arr;
}

int
mturk_list_assignments(struct mturk_client *c, const char *hit_id,
		       int statuses, struct mturk_assignment **out, size_t *n,
		       struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"ListAssignmentsForHIT", eb, IF_OK};
	struct mturk_assignment *all = NULL, *grown;
	char token[256] = "", next[256];
	size_t count = 0, i, elided = 0, first;
	json_t *req, *resp = NULL, *list, *a;
	int rc = IF_OK, page_size = 100;
	bool eliding = false;

	*out = NULL;
	*n = 0;
	for (int page = 0;; page++) {
		if (page >= MAX_PAGES) {
			rc = err_set(eb, IF_ERUNTIME, "%s: more than %d pages",
				     p.op, MAX_PAGES);
			goto fail;
		}
		req = json_pack("{s:s, s:i}", "HITId", hit_id, "MaxResults",
				page_size);
		if (req != NULL && statuses != 0)
			json_object_set_new(req, "AssignmentStatuses",
					    statuses_json(statuses));
		if (req != NULL && token[0] != '\0')
			json_object_set_new(req, "NextToken",
					    json_string(token));
		rc = call_json_eliding(c, p.op, req, &resp,
				       eliding ? ANSWER_ELIDE_OVER : 0, &elided,
				       &e, eb);
		/*
		 * A page larger than the response cap (answers are the
		 * workers' text): the same page again, smaller, down to one
		 * assignment, and the rest of the list at that size.  One
		 * assignment alone over the cap is read without its long
		 * strings: its ids and the next page's token, not its answer.
		 */
		if (rc != IF_OK && mturk_error_is_response_over_cap(&e) &&
		    !eliding) {
			if (page_size > 1)
				page_size /= 2;
			else
				eliding = true;
			err_init(eb);
			continue;
		}
		if (rc != IF_OK)
			goto fail;
		first = count;
		list = json_object_get(resp, "Assignments");
		if (json_array_size(list) > 0) {
			grown = realloc(all, (count + json_array_size(list)) *
						     sizeof(*all));
			if (grown == NULL) {
				json_decref(resp);
				rc = err_set(eb, IF_ERUNTIME,
					     "%s: out of memory", p.op);
				goto fail;
			}
			all = grown;
		}
		json_array_foreach(list, i, a)
			parse_assignment(&p, a, &all[count++]);
		for (i = first; eliding && elided > 0 && i < count; i++)
			all[i].answer_too_large = true;
		eliding = false;
		p_str(&p, resp, "NextToken", next, sizeof(next));
		json_decref(resp);
		if (p.rc != IF_OK) {
			rc = p.rc;
			goto fail;
		}
		/* A page may be empty and still carry a token; only its
		 * absence ends the list. */
		if (next[0] == '\0')
			break;
		if (strcmp(next, token) == 0) {
			rc = err_set(eb, IF_ERUNTIME,
				     "%s: the service repeated the page token",
				     p.op);
			goto fail;
		}
		memcpy(token, next, sizeof(token));
	}
	*out = all;
	*n = count;
	return IF_OK;
fail:
	mturk_assignments_free(all, count);
	return rc;
}

int
mturk_get_assignment(struct mturk_client *c, const char *assignment_id,
		     struct mturk_assignment *out, struct mturk_hit *hit,
		     struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"GetAssignment", eb, IF_OK};
	json_t *resp = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = call_json(c, p.op, json_pack("{s:s}", "AssignmentId",
					  assignment_id),
		       &resp, &e, eb);
	if (rc != IF_OK)
		return rc;
	parse_assignment(&p, json_object_get(resp, "Assignment"), out);
	if (hit != NULL)
		parse_hit(&p, json_object_get(resp, "HIT"), hit);
	json_decref(resp);
	if (p.rc != IF_OK)
		mturk_assignment_cleanup(out);
	return p.rc;
}

int
mturk_approve_assignment(struct mturk_client *c, const char *assignment_id,
			 const char *feedback, char *status, size_t size,
			 struct errbuf *eb)
{
	struct mturk_error e;
	struct errbuf aeb = {0};
	json_t *req, *resp = NULL;
	int rc;

	if (status != NULL && size > 0)
		status[0] = '\0';
	req = json_pack("{s:s}", "AssignmentId", assignment_id);
	if (req != NULL && feedback != NULL && *feedback != '\0')
		json_object_set_new(req, "RequesterFeedback",
				    json_string(feedback));
	rc = call_json(c, "ApproveAssignment", req, &resp, &e, &aeb);
	json_decref(resp);
	if (rc == IF_OK)
		return IF_OK;
	return mturk_approve_refused(c, assignment_id, &e, &aeb, status, size,
				     eb);
}

int
mturk_approve_refused(struct mturk_client *c, const char *assignment_id,
		      const struct mturk_error *e, const struct errbuf *aeb,
		      char *status, size_t size, struct errbuf *eb)
{
	struct mturk_assignment a;
	struct errbuf geb = {0};
	bool approved;

	if (!mturk_error_is(e, "InvalidAssignmentState"))
		return err_set(eb, aeb->code, "%s", aeb->msg);
	/* Approve is not idempotent on the wire: ask what state it is in. */
	if (mturk_get_assignment(c, assignment_id, &a, NULL, &geb) != IF_OK)
		return err_set(eb, aeb->code, "%s (and then %s)", aeb->msg,
			       geb.msg);
	if (status != NULL && size > 0)
		snprintf(status, size, "%s", a.status);
	approved = strcmp(a.status, "Approved") == 0;
	if (!approved && a.requester_feedback[0] != '\0')
		err_set(eb, IF_ERUNTIME,
			"%s (the assignment is %s, with the feedback "
			"\"%.200s\")",
			aeb->msg, a.status, a.requester_feedback);
	else if (!approved)
		err_set(eb, IF_ERUNTIME, "%s (the assignment is %s)", aeb->msg,
			a.status[0] != '\0' ? a.status : "in no state");
	mturk_assignment_cleanup(&a);
	return approved ? IF_OK : IF_ERUNTIME;
}

int
mturk_reject_assignment(struct mturk_client *c, const char *assignment_id,
			const char *feedback, struct errbuf *eb)
{
	struct mturk_error e;
	json_t *resp = NULL;
	int rc;

	if (feedback == NULL || *feedback == '\0')
		return err_set(eb, IF_EINPUT,
			       "RejectAssignment %s: a reason for the worker "
			       "(RequesterFeedback) is required",
			       assignment_id);
	rc = call_json(c, "RejectAssignment",
		       json_pack("{s:s, s:s}", "AssignmentId", assignment_id,
				 "RequesterFeedback", feedback),
		       &resp, &e, eb);
	json_decref(resp);
	return rc;
}

int
mturk_update_expiration(struct mturk_client *c, const char *hit_id,
			int64_t expire_at, struct errbuf *eb)
{
	struct mturk_error e;
	struct errbuf ueb = {0};
	json_t *resp = NULL;
	int rc;

	rc = call_json(c, "UpdateExpirationForHIT",
		       json_pack("{s:s, s:I}", "HITId", hit_id, "ExpireAt",
				 (json_int_t)expire_at),
		       &resp, &e, &ueb);
	json_decref(resp);
	if (rc == IF_OK)
		return IF_OK;
	/* The same (HITId, ExpireAt) again: the first call did the work. */
	if (mturk_error_is_processed_repeat(&e))
		return IF_OK;
	return err_set(eb, ueb.code, "%s", ueb.msg);
}

int
mturk_delete_hit(struct mturk_client *c, const char *hit_id,
		 struct errbuf *eb)
{
	struct mturk_error e;
	json_t *resp = NULL;
	int rc;

	rc = call_json(c, "DeleteHIT", json_pack("{s:s}", "HITId", hit_id),
		       &resp, &e, eb);
	json_decref(resp);
	return rc;
}

int
mturk_get_account_balance(struct mturk_client *c, int64_t *available_cents,
			  int64_t *on_hold_cents, struct errbuf *eb)
{
	struct mturk_error e;
	struct pctx p = {"GetAccountBalance", eb, IF_OK};
	char avail[32], hold[32];
	json_t *resp = NULL;
	int rc;

	*available_cents = 0;
	if (on_hold_cents != NULL)
		*on_hold_cents = 0;
	rc = call_json(c, p.op, json_object(), &resp, &e, eb);
	if (rc != IF_OK)
		return rc;
	p_str(&p, resp, "AvailableBalance", avail, sizeof(avail));
	p_str(&p, resp, "OnHoldBalance", hold, sizeof(hold));
	json_decref(resp);
	if (p.rc != IF_OK)
		return p.rc;
	if (mturk_money_parse(avail, available_cents) != 0)
		return err_set(eb, IF_ERUNTIME,
			       "%s: AvailableBalance \"%s\" is not an amount",
			       p.op, avail);
	if (on_hold_cents != NULL && hold[0] != '\0' &&
	    mturk_money_parse(hold, on_hold_cents) != 0)
		return err_set(eb, IF_ERUNTIME,
			       "%s: OnHoldBalance \"%s\" is not an amount",
			       p.op, hold);
	return IF_OK;
}
