/*
 * sim/sim_ops.c - the MTurk operations and the S3 requests on the
 * simulator's store (spec sections 5 and 6; shapes from
 * reference/mturk-2017-01-17-service-2).
 *
 * Operations take and give the service model's JSON shapes and fail with
 * its errors: RequestError (HTTP 400) with a TurkErrorCode and a message
 * ending in "(epoch-ms)", as the real service writes them.  Each request
 * runs under the store's lock and is saved (sim_persist.c) before it is
 * answered.
 */
#include "sim/sim_private.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SIM_TOKEN_TTL_MS (24LL * 3600 * 1000) /* UniqueRequestToken window */
#define SIM_QUESTION_MAX 65535
#define SIM_AUTO_APPROVAL_DEFAULT (30LL * 24 * 3600)

/* ---- errors ------------------------------------------------------------- */

static int
fail_missing(const struct sim_store *st, struct sim_err *err, const char *name)
{
	return sim_fail(st, err, 400, "ValidationException", NULL,
			"1 validation error detected: Value null at '%s' "
			"failed to satisfy constraint: Member must not be null",
			name);
}

/* A record whose payload the database did not give (logged). */
static int
fail_unreadable(const struct sim_store *st, struct sim_err *err)
{
	return sim_fail(st, err, 500, "ServiceFault", NULL,
			"The simulator could not read its state; try again.");
}

/* ---- request parameters ------------------------------------------------- */

/* A string member; NULL when absent.  A wrong type is an error. */
static int
get_str(const struct sim_store *st, json_t *req, const char *name,
	bool required, const char **out, struct sim_err *err)
{
	json_t *v = json_object_get(req, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? fail_missing(st, err, name) : 0;
	if (!json_is_string(v))
		return sim_fail(st, err, 400, "SerializationException", NULL,
				"%s: expected a string", name);
	*out = json_string_value(v);
	return 0;
}

static int
get_int(const struct sim_store *st, json_t *req, const char *name,
	bool required, int64_t dflt, int64_t lo, int64_t hi, int64_t *out,
	struct sim_err *err)
{
	json_t *v = json_object_get(req, name);
	double d;

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return required ? fail_missing(st, err, name) : 0;
	if (!json_is_number(v))
		return sim_fail(st, err, 400, "SerializationException", NULL,
				"%s: expected a number", name);
	d = json_number_value(v);
	if (d < (double)lo || d > (double)hi)
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"Value %.0f for %s is out of range [%lld, "
				"%lld].",
				d, name, (long long)lo, (long long)hi);
	*out = (int64_t)d;
	return 0;
}

static bool
currency_ok(const char *s)
{
	/* ^[0-9]+(\.)?[0-9]{0,2}$ */
	size_t i = 0, frac = 0;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9' && frac < 3) {
			i++;
			frac++;
		}
	}
	return s[i] == '\0' && frac <= 2;
}

static json_t *
ts_json(int64_t ms)
{
	/* Epoch seconds as a number; whole seconds stay integers. */
	if (ms % 1000 == 0)
		return json_integer(ms / 1000);
	return json_real((double)ms / 1000.0);
}

/* ---- the shapes of HITs and assignments --------------------------------- */

static json_t *
hit_json(struct sim_store *st, struct hit *h, int64_t now)
{
	struct hit_counts c = sim_hit_counts(st, h, now);
	json_t *vals = sim_hit_vals(st, h);
	/* Its own object, the values' members shared: none is changed. */
	json_t *o = json_copy(vals);

	json_decref(vals);
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "HITId", json_string(h->id));
	json_object_set_new(o, "HITTypeId", json_string(h->type_id));
	json_object_set_new(o, "HITGroupId", json_string(h->type_id));
	json_object_set_new(o, "CreationTime", ts_json(h->created_ms));
	json_object_set_new(o, "Expiration", ts_json(h->expiration_ms));
	json_object_set_new(o, "HITStatus",
			    json_string(sim_hit_status(h, &c, now)));
	json_object_set_new(o, "HITReviewStatus", json_string("NotReviewed"));
	json_object_set_new(o, "MaxAssignments", json_integer(h->max));
	json_object_set_new(o, "NumberOfAssignmentsPending",
			    json_integer(c.pending - c.untaken));
	json_object_set_new(o, "NumberOfAssignmentsAvailable",
			    json_integer(c.available + c.untaken));
	json_object_set_new(o, "NumberOfAssignmentsCompleted",
			    json_integer(c.approved_rejected));
	return o;
}

static json_t *
asg_json(struct sim_store *st, struct asg *a, const struct hit *h, int64_t now)
{
	enum asg_state s = sim_asg_settle(st, a, h, now);
	struct asg_payload p;
	json_t *o;

	if (sim_asg_payload(st, a, &p) != 0)
		return NULL;
	o = json_object();

	json_object_set_new(o, "AssignmentId", json_string(a->id));
	json_object_set_new(o, "WorkerId", json_string(a->worker_id));
	json_object_set_new(o, "HITId", json_string(a->hit_id));
	json_object_set_new(o, "AssignmentStatus",
			    json_string(sim_asg_state_str(s)));
	json_object_set_new(o, "AutoApprovalTime",
			    ts_json(a->submit_ms + h->autoapprove_s * 1000));
	json_object_set_new(o, "AcceptTime", ts_json(a->accept_ms));
	json_object_set_new(o, "SubmitTime", ts_json(a->submit_ms));
	if (s == ASG_APPROVED)
		json_object_set_new(o, "ApprovalTime", ts_json(a->approval_ms));
	if (s == ASG_REJECTED)
		json_object_set_new(o, "RejectionTime",
				    ts_json(a->rejection_ms));
	json_object_set_new(o, "Deadline",
			    ts_json(a->accept_ms + h->duration_s * 1000));
	json_object_set_new(o, "Answer",
			    json_string(p.answer != NULL ? p.answer : ""));
	if (p.feedback != NULL)
		json_object_set_new(o, "RequesterFeedback",
				    json_string(p.feedback));
	sim_asg_payload_cleanup(&p);
	return o;
}

/*
 * *resp = {name: v, name2: v2} (name2 NULL: none), taking the values; a
 * value that could not be made (its payload unreadable, logged) is the
 * service's failure, never an empty answer.
 */
static int
answer_with(struct sim_store *st, json_t **resp, const char *name, json_t *v,
	    const char *name2, json_t *v2, struct sim_err *err)
{
	int rc;

	if (v == NULL || (name2 != NULL && v2 == NULL)) {
		json_decref(v);
		json_decref(v2);
		return fail_unreadable(st, err);
	}
	/* json_object_set_new() takes its value even when it fails. */
	*resp = json_object();
	rc = json_object_set_new(*resp, name, v);
	if (name2 != NULL && json_object_set_new(*resp, name2, v2) != 0)
		rc = -1;
	if (rc != 0) {
		json_decref(*resp);
		*resp = NULL;
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	}
	return 0;
}

/* ---- paging ------------------------------------------------------------- */

static int
page_args_at(const struct sim_store *st, json_t *req, size_t *start,
	     int64_t *after, size_t *max, struct sim_err *err)
{
	const char *tok = NULL;
	int64_t m = 0, off = 0;

	if (get_int(st, req, "MaxResults", false, 10, 1, 100, &m, err) != 0 ||
	    get_str(st, req, "NextToken", false, &tok, err) != 0)
		return -1;
	*max = (size_t)m;
	*start = 0;
	if (after != NULL)
		*after = 0;
	if (tok != NULL && tok[0] == 'k' && after != NULL) {
		/* A cursor: the creation order of the last HIT given. */
		if (parse_int64(tok + 1, 0, INT64_MAX, after) != 0)
			return sim_fail(st, err, 400, "RequestError",
					"ParameterValidationError",
					"The pagination token \"%.64s\" is "
					"invalid.",
					tok);
	} else if (tok != NULL) {
		/* Our tokens are "p" + the index of the next item. */
		if (tok[0] != 'p' ||
		    parse_int64(tok + 1, 0, INT32_MAX, &off) != 0)
			return sim_fail(st, err, 400, "RequestError",
					"ParameterValidationError",
					"The pagination token \"%.64s\" is "
					"invalid.",
					tok);
		*start = (size_t)off;
	}
	return 0;
}

static int
page_args(const struct sim_store *st, json_t *req, size_t *start,
	  size_t *max, struct sim_err *err)
{
	return page_args_at(st, req, start, NULL, max, err);
}

static void
page_finish(json_t *resp, const char *member, json_t *items, size_t next,
	    bool more)
{
	char tok[32];

	json_object_set_new(resp, "NumResults",
			    json_integer((json_int_t)json_array_size(items)));
	json_object_set_new(resp, member, items);
	if (more) {
		snprintf(tok, sizeof(tok), "p%zu", next);
		json_object_set_new(resp, "NextToken", json_string(tok));
	}
}

/* ---- qualifications ----------------------------------------------------- */

static int
op_create_qualification_type(struct sim_store *st, json_t *req, json_t **resp,
			     struct sim_err *err)
{
	const char *name, *desc, *status, *kw;
	struct qtype *q;
	json_t *o;
	int64_t now = sim_store_now_ms(st);

	if (get_str(st, req, "Name", true, &name, err) != 0 ||
	    get_str(st, req, "Description", true, &desc, err) != 0 ||
	    get_str(st, req, "QualificationTypeStatus", true, &status,
		    err) != 0 ||
	    get_str(st, req, "Keywords", false, &kw, err) != 0)
		return -1;
	if (strcmp(status, "Active") != 0 && strcmp(status, "Inactive") != 0)
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"QualificationTypeStatus must be Active or "
				"Inactive.");
	for (size_t i = 0; i < st->nqtypes; i++) {
		const char *n = json_string_value(
			json_object_get(st->qtypes[i]->obj, "Name"));
		if (n != NULL && strcmp(n, name) == 0)
			return sim_fail(st, err, 400, "RequestError",
					"QualificationTypeAlreadyExists",
					"You have already created a "
					"QualificationType with this name. A "
					"QualificationType's name must be "
					"unique among all of the "
					"QualificationTypes created by the "
					"same user.");
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	sim_new_id(st, q->id);
	o = json_object();
	json_object_set_new(o, "QualificationTypeId", json_string(q->id));
	json_object_set_new(o, "CreationTime", ts_json(now));
	json_object_set_new(o, "Name", json_string(name));
	json_object_set_new(o, "Description", json_string(desc));
	if (kw != NULL)
		json_object_set_new(o, "Keywords", json_string(kw));
	json_object_set_new(o, "QualificationTypeStatus", json_string(status));
	json_object_set_new(o, "IsRequestable", json_false());
	json_object_set(o, "AutoGranted",
			json_is_true(json_object_get(req, "AutoGranted"))
				? json_true()
				: json_false());
	q->obj = o;
	if (sim_vec_push(&st->qtypes, &st->nqtypes, q) != 0) {
		json_decref(o);
		free(q);
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	}
	*resp = json_object();
	json_object_set(*resp, "QualificationType", o);
	return 0;
}

static int
op_list_qualification_types(struct sim_store *st, json_t *req, json_t **resp,
			    struct sim_err *err)
{
	json_t *items, *mbr = json_object_get(req, "MustBeRequestable");
	const char *query;
	size_t start, max, i, seen = 0;

	if (mbr == NULL || !json_is_boolean(mbr))
		return fail_missing(st, err, "MustBeRequestable");
	if (get_str(st, req, "Query", false, &query, err) != 0 ||
	    page_args(st, req, &start, &max, err) != 0)
		return -1;
	items = json_array();
	for (i = 0; i < st->nqtypes; i++) {
		const char *n = json_string_value(
			json_object_get(st->qtypes[i]->obj, "Name"));
		/* Ours are never requestable by workers. */
		if (json_is_true(mbr))
			continue;
		if (query != NULL && strstr(n, query) == NULL)
			continue;
		if (seen++ < start)
			continue;
		if (json_array_size(items) == max)
			break;
		json_array_append(items, st->qtypes[i]->obj);
	}
	*resp = json_object();
	page_finish(*resp, "QualificationTypes", items, start + max,
		    i < st->nqtypes);
	return 0;
}

static int
op_associate_qualification(struct sim_store *st, json_t *req, json_t **resp,
			   struct sim_err *err)
{
	const char *qid, *worker;
	int64_t value;
	struct grant *g;

	if (get_str(st, req, "QualificationTypeId", true, &qid, err) != 0 ||
	    get_str(st, req, "WorkerId", true, &worker, err) != 0 ||
	    get_int(st, req, "IntegerValue", false, 1, INT32_MIN, INT32_MAX,
		    &value, err) != 0)
		return -1;
	if (sim_find_qtype(st, qid) == NULL)
		return sim_fail(st, err, 400, "RequestError",
				"QualificationTypeDoesNotExist",
				"QualificationType %.64s does not exist.", qid);
	/* Real participants keep their pool's ids ("intofocus serve"). */
	if (strlen(worker) >= sizeof(g->worker_id) ||
	    (st->cfg.people ? !sim_participant_id_valid(worker)
			    : worker[0] != 'A'))
		return sim_fail(st, err, 400, "RequestError",
				"WorkerDoesNotExist",
				"Worker %.64s does not exist.", worker);
	if (sim_find_grant(st, qid, worker, &g) != 0)
		return fail_unreadable(st, err);
	if (g != NULL) {
		sim_touch_grant(st, g);
	} else {
		g = calloc(1, sizeof(*g));
		if (g != NULL) {
			snprintf(g->qual_id, sizeof(g->qual_id), "%s", qid);
			snprintf(g->worker_id, sizeof(g->worker_id), "%s",
				 worker);
		}
		if (g == NULL || sim_grant_add(st, g) != 0) {
			free(g);
			return sim_fail(st, err, 500, "ServiceFault", NULL,
					"out of memory");
		}
	}
	g->value = (int)value;
	*resp = json_object();
	return 0;
}

/* ---- HIT types and HITs ------------------------------------------------- */

static const char *const type_members[] = {
	"Title", "Description", "Keywords", "Reward",
	"AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds",
	"QualificationRequirements",
};

/* Validates and copies the HIT type's values out of a request. */
static int
type_values(struct sim_store *st, json_t *req, json_t **vals,
	    struct sim_err *err)
{
	const char *title, *desc, *reward, *kw;
	int64_t dur, aad;
	json_t *quals = json_object_get(req, "QualificationRequirements");
	size_t i;
	json_t *q;

	*vals = NULL;
	if (get_str(st, req, "Title", true, &title, err) != 0 ||
	    get_str(st, req, "Description", true, &desc, err) != 0 ||
	    get_str(st, req, "Reward", true, &reward, err) != 0 ||
	    get_str(st, req, "Keywords", false, &kw, err) != 0 ||
	    get_int(st, req, "AssignmentDurationInSeconds", true, 0, 30,
		    31536000, &dur, err) != 0 ||
	    get_int(st, req, "AutoApprovalDelayInSeconds", false,
		    SIM_AUTO_APPROVAL_DEFAULT, 0, 2592000, &aad, err) != 0)
		return -1;
	if (!currency_ok(reward))
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"Reward \"%.32s\" is not a valid currency "
				"amount.",
				reward);
	if (strlen(title) > 128 || strlen(desc) > 2000 ||
	    (kw != NULL && strlen(kw) > 1000))
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"Title, Description or Keywords is too long.");
	if (quals != NULL &&
	    (!json_is_array(quals) || json_array_size(quals) > 10))
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"QualificationRequirements must be a list of "
				"at most 10 requirements.");
	json_array_foreach(quals, i, q) {
		if (!json_is_string(
			    json_object_get(q, "QualificationTypeId")) ||
		    !json_is_string(json_object_get(q, "Comparator")))
			return sim_fail(st, err, 400, "RequestError",
					"ParameterValidationError",
					"QualificationRequirement %zu needs "
					"QualificationTypeId and Comparator.",
					i + 1);
	}
	*vals = json_object();
	for (i = 0; i < sizeof(type_members) / sizeof(type_members[0]); i++) {
		json_t *v = json_object_get(req, type_members[i]);
		if (v != NULL)
			json_object_set(*vals, type_members[i], v);
	}
	if (json_object_get(*vals, "AutoApprovalDelayInSeconds") == NULL)
		json_object_set_new(*vals, "AutoApprovalDelayInSeconds",
				    json_integer(aad));
	return 0;
}

/*
 * CreateHITType is idempotent on its values: same values, same id.  The
 * type keeps its own copy: CreateHIT goes on to add the HIT's Question and
 * annotation to vals, which would otherwise end up in the type (and in a
 * later CreateHITWithHITType's HIT, and in the saved type, whose key then
 * differs after a restart).
 */
static struct hittype *
hittype_get_or_add(struct sim_store *st, json_t *vals)
{
	char *key = json_dumps(vals, JSON_SORT_KEYS | JSON_COMPACT);
	struct hittype *t;
	json_t *copy;

	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < st->ntypes; i++)
		if (strcmp(st->types[i]->key, key) == 0) {
			free(key);
			return st->types[i];
		}
	t = calloc(1, sizeof(*t));
	copy = json_deep_copy(vals);
	if (t == NULL || copy == NULL ||
	    sim_vec_push(&st->types, &st->ntypes, t) != 0) {
		free(t);
		json_decref(copy);
		free(key);
		return NULL;
	}
	sim_new_id(st, t->id);
	t->key = key;
	t->vals = copy;
	return t;
}

static int
op_create_hit_type(struct sim_store *st, json_t *req, json_t **resp,
		   struct sim_err *err)
{
	json_t *vals;
	struct hittype *t;

	if (type_values(st, req, &vals, err) != 0)
		return -1;
	t = hittype_get_or_add(st, vals);
	json_decref(vals);
	if (t == NULL)
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	*resp = json_object();
	json_object_set_new(*resp, "HITTypeId", json_string(t->id));
	return 0;
}

static int
op_create_hit(struct sim_store *st, json_t *req, bool with_type, json_t **resp,
	      struct sim_err *err)
{
	const char *question, *ann, *token, *type_id;
	int64_t lifetime, max, now = sim_store_now_ms(st);
	json_t *vals = NULL;
	struct hittype *t = NULL;
	struct hit *h;

	if (get_str(st, req, "Question", false, &question, err) != 0 ||
	    get_str(st, req, "RequesterAnnotation", false, &ann, err) != 0 ||
	    get_str(st, req, "UniqueRequestToken", false, &token, err) != 0 ||
	    get_int(st, req, "LifetimeInSeconds", true, 0, 30, 31536000,
		    &lifetime, err) != 0 ||
	    get_int(st, req, "MaxAssignments", false, 1, 1, 1000000000, &max,
		    err) != 0)
		return -1;
	if (question == NULL)
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"Either Question or HITLayoutId must be "
				"provided (the simulator supports Question).");
	if (strlen(question) > SIM_QUESTION_MAX)
		return sim_fail(st, err, 400, "RequestError", "XMLParseError",
				"Question is %zu bytes; the limit is 65535.",
				strlen(question));
	if (ann != NULL && strlen(ann) > 255)
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"RequesterAnnotation is longer than 255 "
				"characters.");
	if (token != NULL && (strlen(token) == 0 || strlen(token) > 64))
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"UniqueRequestToken must be 1 to 64 "
				"characters.");
	if (token != NULL) {
		struct hit *dup = NULL, **same = NULL;
		size_t nsame = 0;

		if (sim_find_hits_by_token(st, token, &same, &nsame) != 0)
			return fail_unreadable(st, err);
		/* The first one created that is still in the window. */
		for (size_t i = nsame; i-- > 0;)
			if (now - same[i]->created_ms < SIM_TOKEN_TTL_MS)
				dup = same[i];
		free(same);
		if (dup != NULL)
			return sim_fail(st, err, 400, "RequestError",
					    "HitAlreadyExists",
					    "The HIT with ID \"%s\" already "
					    "exists. No new HIT was created "
					    "with the UniqueRequestToken "
					    "\"%s\".",
					    dup->id, token);
	}
	if (with_type) {
		if (get_str(st, req, "HITTypeId", true, &type_id, err) != 0)
			return -1;
		for (size_t i = 0; i < st->ntypes; i++)
			if (strcmp(st->types[i]->id, type_id) == 0)
				t = st->types[i];
		if (t == NULL)
			return sim_fail(st, err, 400, "RequestError",
					"HITTypeDoesNotExist",
					"HITType %.64s does not exist.",
					type_id);
		vals = json_deep_copy(t->vals);
	} else {
		if (type_values(st, req, &vals, err) != 0)
			return -1;
		t = hittype_get_or_add(st, vals);
		if (t == NULL) {
			json_decref(vals);
			return sim_fail(st, err, 500, "ServiceFault", NULL,
					"out of memory");
		}
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || vals == NULL) {
		free(h);
		json_decref(vals);
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	}
	sim_new_id(st, h->id);
	snprintf(h->type_id, sizeof(h->type_id), "%s", t->id);
	json_object_set_new(vals, "Question", json_string(question));
	if (ann != NULL)
		json_object_set_new(vals, "RequesterAnnotation",
				    json_string(ann));
	h->vals = vals;
	h->created_ms = now;
	h->expiration_ms = now + lifetime * 1000;
	h->max = (int)max;
	h->duration_s = json_integer_value(
		json_object_get(vals, "AssignmentDurationInSeconds"));
	h->autoapprove_s = json_integer_value(
		json_object_get(vals, "AutoApprovalDelayInSeconds"));
	h->token = token != NULL ? strdup(token) : NULL;
	if ((token != NULL && h->token == NULL) || sim_hit_add(st, h) != 0) {
		json_decref(h->vals);
		free(h->token);
		free(h);
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	}
	if (sim_plan_crowd(st, h, err) != 0)
		return -1;
	/* Created and saved: its values are in memory, only memory fails. */
	return answer_with(st, resp, "HIT", hit_json(st, h, now), NULL, NULL,
			   err);
}

static int
get_hit_arg(struct sim_store *st, json_t *req, struct hit **out,
	    struct sim_err *err)
{
	const char *id;

	if (get_str(st, req, "HITId", true, &id, err) != 0)
		return -1;
	if (sim_find_hit(st, id, out) != 0)
		return fail_unreadable(st, err);
	if (*out == NULL || (*out)->deleted)
		return sim_fail(st, err, 400, "RequestError", "HITDoesNotExist",
				"Hit %.64s does not exist.", id);
	sim_touch_hit(st, *out);
	return 0;
}

static int
op_get_hit(struct sim_store *st, json_t *req, json_t **resp,
	   struct sim_err *err)
{
	struct hit *h;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	return answer_with(st, resp, "HIT",
			   hit_json(st, h, sim_store_now_ms(st)), NULL, NULL,
			   err);
}

/*
 * One page of HITs of query q from the index: items (hit_json at now)
 * and whether more follow.  -1 with err when the store cannot answer.
 */
static int
hits_page(struct sim_store *st, enum sim_db_query q,
	  struct sim_db_hits_args *args, size_t max, int64_t now,
	  json_t **items, bool *more, int64_t *last_seq, struct sim_err *err)
{
	struct sim_db_hit_ref *refs = calloc(max + 1, sizeof(*refs));
	size_t n = 0;

	*items = NULL;
	*more = false;
	if (refs == NULL)
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	args->now_ms = now;
	args->limit = max + 1; /* one more says whether more follow */
	if (sim_store_hits(st, q, args, refs, &n) != 0) {
		free(refs);
		return fail_unreadable(st, err);
	}
	*more = n > max;
	*items = json_array();
	for (size_t i = 0; i < n && i < max; i++) {
		struct hit *h = NULL;
		int found = sim_find_hit(st, refs[i].id, &h);

		if (last_seq != NULL)
			*last_seq = refs[i].seq;
		if (found != 0 || h == NULL ||
		    json_array_append_new(*items, hit_json(st, h, now)) != 0) {
			if (found == 0 && h == NULL)
				log_warnx("simulator: the HIT index names %s, "
					  "which the store lacks",
					  refs[i].id);
			free(refs);
			json_decref(*items);
			*items = NULL;
			return fail_unreadable(st, err);
		}
	}
	free(refs);
	return 0;
}

static int
op_list_hits(struct sim_store *st, json_t *req, json_t **resp,
	     struct sim_err *err)
{
	struct sim_db_hits_args args;
	size_t start, max;
	int64_t after, last = 0;
	json_t *items;
	bool more;
	char tok[32];

	if (page_args_at(st, req, &start, &after, &max, err) != 0)
		return -1;
	memset(&args, 0, sizeof(args));
	args.offset = start;
	args.after_seq = after;
	if (hits_page(st, SIM_DB_LIVE, &args, max, sim_store_now_ms(st),
		      &items, &more, &last, err) != 0)
		return -1;
	*resp = json_object();
	page_finish(*resp, "HITs", items, 0, false);
	/*
	 * The next page starts after the last HIT given (a keyset cursor),
	 * so deleting a HIT between pages neither skips nor repeats one,
	 * and a page costs its HITs, not the ones before it.
	 */
	if (more) {
		snprintf(tok, sizeof(tok), "k%lld", (long long)last);
		json_object_set_new(*resp, "NextToken", json_string(tok));
	}
	return 0;
}

static int
op_list_assignments(struct sim_store *st, json_t *req, json_t **resp,
		    struct sim_err *err)
{
	struct hit *h;
	json_t *statuses = json_object_get(req, "AssignmentStatuses"), *items;
	size_t start, max, i, seen = 0;
	int64_t now = sim_store_now_ms(st);
	bool more = false;

	if (get_hit_arg(st, req, &h, err) != 0 ||
	    page_args(st, req, &start, &max, err) != 0)
		return -1;
	if (statuses != NULL && !json_is_array(statuses))
		return sim_fail(st, err, 400, "SerializationException", NULL,
				"AssignmentStatuses: expected a list");
	items = json_array();
	for (i = 0; i < h->nasgs; i++) {
		struct asg *a = h->asgs[i];
		enum asg_state s;
		bool wanted =
			statuses == NULL || json_array_size(statuses) == 0;
		size_t k;
		json_t *v;

		s = sim_asg_settle(st, a, h, now);
		if (!sim_asg_listed(s))
			continue;
		json_array_foreach(statuses, k, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v),
				   sim_asg_state_str(s)) == 0)
				wanted = true;
		}
		if (!wanted || seen++ < start)
			continue;
		if (json_array_size(items) == max) {
			more = true;
			break;
		}
		if (json_array_append_new(items,
					  asg_json(st, a, h, now)) != 0) {
			json_decref(items);
			return fail_unreadable(st, err);
		}
	}
	*resp = json_object();
	page_finish(*resp, "Assignments", items, start + max, more);
	return 0;
}

static int
get_asg_arg(struct sim_store *st, json_t *req, struct asg **a, struct hit **h,
	    enum asg_state *s, struct sim_err *err)
{
	const char *id;

	if (get_str(st, req, "AssignmentId", true, &id, err) != 0)
		return -1;
	*h = NULL;
	if (sim_find_asg(st, id, a) != 0 ||
	    (*a != NULL && sim_find_hit(st, (*a)->hit_id, h) != 0))
		return fail_unreadable(st, err);
	if (*a != NULL && *h != NULL)
		*s = sim_asg_settle(st, *a, *h, sim_store_now_ms(st));
	if (*a == NULL || *h == NULL || !sim_asg_listed(*s))
		return sim_fail(st, err, 400, "RequestError",
				"AssignmentDoesNotExist",
				"Assignment %.64s does not exist.", id);
	sim_touch_asg(st, *a);
	return 0;
}

static int
op_get_assignment(struct sim_store *st, json_t *req, json_t **resp,
		  struct sim_err *err)
{
	struct asg *a;
	struct hit *h;
	enum asg_state s;
	int64_t now = sim_store_now_ms(st);

	if (get_asg_arg(st, req, &a, &h, &s, err) != 0)
		return -1;
	return answer_with(st, resp, "Assignment", asg_json(st, a, h, now),
			   "HIT", hit_json(st, h, now), err);
}

static int
op_review(struct sim_store *st, json_t *req, bool approve, json_t **resp,
	  struct sim_err *err)
{
	struct asg *a;
	struct hit *h;
	enum asg_state s;
	const char *fb;
	bool override = json_is_true(json_object_get(req, "OverrideRejection"));

	if (get_asg_arg(st, req, &a, &h, &s, err) != 0 ||
	    get_str(st, req, "RequesterFeedback", !approve, &fb, err) != 0)
		return -1;
	if (fb != NULL && strlen(fb) > 1024)
		return sim_fail(st, err, 400, "RequestError",
				"ParameterValidationError",
				"RequesterFeedback is longer than 1024 "
				"characters.");
	if (!(s == ASG_SUBMITTED || (approve && override && s == ASG_REJECTED)))
		return sim_fail(st, err, 400, "RequestError",
				"InvalidAssignmentState",
				"This operation can be called with a status "
				"of: Submitted");
	/* Its feedback changes: the rest of the payload is saved with it. */
	if (sim_asg_load(st, a) != 0)
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"The simulator could not read assignment "
				"%.64s.",
				a->id);
	a->state = approve ? ASG_APPROVED : ASG_REJECTED;
	if (approve)
		a->approval_ms = sim_store_now_ms(st);
	else
		a->rejection_ms = sim_store_now_ms(st);
	free(a->feedback);
	a->feedback = fb != NULL ? strdup(fb) : NULL;
	*resp = json_object();
	return 0;
}

static int
op_update_expiration(struct sim_store *st, json_t *req, json_t **resp,
		     struct sim_err *err)
{
	struct hit *h;
	json_t *at = json_object_get(req, "ExpireAt");
	int64_t now = sim_store_now_ms(st), ms;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	if (at == NULL || !json_is_number(at))
		return fail_missing(st, err, "ExpireAt");
	ms = (int64_t)(json_number_value(at) * 1000.0);
	/*
	 * MTurk treats (HITId, ExpireAt) as an idempotency token: the same
	 * request again is refused (facts 1.4, Dallinger#3109).
	 */
	if (h->expire_requested && h->expire_at == ms / 1000)
		return sim_fail(st, err, 400, "RequestError", NULL,
				"The idempotency token \"%s%lld\" has already "
				"been processed.",
				h->id, (long long)(ms / 1000));
	h->expire_requested = true;
	h->expire_at = ms / 1000;
	/* A time in the past expires the HIT now. */
	h->expiration_ms = ms < now ? now : ms;
	/* Extended, it is open again: its review starts afresh. */
	if (ms > now)
		h->reviewing = false;
	*resp = json_object();
	return 0;
}

static int
op_list_reviewable_hits(struct sim_store *st, json_t *req, json_t **resp,
			struct sim_err *err)
{
	const char *type = NULL, *status = NULL;
	struct sim_db_hits_args args;
	enum sim_db_query q;
	size_t start, max;
	int64_t now = sim_store_now_ms(st), after, last = 0;
	json_t *items;
	bool more;
	char tok[32];

	if (get_str(st, req, "HITTypeId", false, &type, err) != 0 ||
	    get_str(st, req, "Status", false, &status, err) != 0 ||
	    page_args_at(st, req, &start, &after, &max, err) != 0)
		return -1;
	/* The model's ReviewableHITStatus enum; Reviewable by default. */
	if (status == NULL)
		status = "Reviewable";
	if (strcmp(status, "Reviewable") != 0 &&
	    strcmp(status, "Reviewing") != 0)
		return sim_fail(st, err, 400, "ValidationException", NULL,
				"1 validation error detected: Value '%.64s' at "
				"'status' failed to satisfy constraint: Member "
				"must satisfy enum value set: [Reviewable, "
				"Reviewing]",
				status);
	memset(&args, 0, sizeof(args));
	args.offset = start;
	args.after_seq = after;
	args.type_id = type;
	if (strcmp(status, "Reviewable") == 0)
		q = type != NULL ? SIM_DB_REVIEWABLE_TYPE : SIM_DB_REVIEWABLE;
	else
		q = type != NULL ? SIM_DB_REVIEWING_TYPE : SIM_DB_REVIEWING;
	if (hits_page(st, q, &args, max, now, &items, &more, &last, err) != 0)
		return -1;
	*resp = json_object();
	page_finish(*resp, "HITs", items, 0, false);
	/*
	 * As ListHITs: the next page starts after the last HIT given, so a
	 * HIT that leaves the list between pages (moved to Reviewing, say)
	 * makes none after it skipped, and a page deep into the list costs
	 * its own HITs.  An offset token ("p") of an older server still
	 * reads from its offset.
	 */
	if (more) {
		snprintf(tok, sizeof(tok), "k%lld", (long long)last);
		json_object_set_new(*resp, "NextToken", json_string(tok));
	}
	return 0;
}

/*
 * Revert false moves a Reviewable HIT to Reviewing, true a Reviewing one
 * back.  Any other status is refused with the InvalidHITState shape the
 * service gives DeleteHIT (boto3#2107); so is a repeat, since no answer
 * of the real service to one is on record and a client must not rely on
 * a silent success (the daemon reads the HIT back, as after a double
 * approve).
 */
static int
op_update_hit_review_status(struct sim_store *st, json_t *req, json_t **resp,
			    struct sim_err *err)
{
	json_t *rv = json_object_get(req, "Revert");
	int64_t now = sim_store_now_ms(st);
	struct hit_counts c;
	const char *status, *from;
	struct hit *h;
	bool revert;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	if (rv != NULL && !json_is_null(rv) && !json_is_boolean(rv))
		return sim_fail(st, err, 400, "SerializationException", NULL,
				"Revert: expected a boolean");
	revert = json_is_true(rv);
	from = revert ? "Reviewing" : "Reviewable";
	c = sim_hit_counts(st, h, now);
	status = sim_hit_status(h, &c, now);
	if (strcmp(status, from) != 0)
		return sim_fail(st, err, 400, "RequestError", "InvalidHITState",
				"This HIT is currently in the state '%s'.  "
				"This operation can be called with a status "
				"of: %s",
				status, from);
	h->reviewing = !revert;
	*resp = json_object();
	return 0;
}

static int
op_delete_hit(struct sim_store *st, json_t *req, json_t **resp,
	      struct sim_err *err)
{
	struct hit *h;
	int64_t now = sim_store_now_ms(st);
	struct hit_counts c;
	const char *status;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	c = sim_hit_counts(st, h, now);
	status = sim_hit_status(h, &c, now);
	if (strcmp(status, "Reviewable") != 0 &&
	    strcmp(status, "Reviewing") != 0)
		return sim_fail(st, err, 400, "RequestError", "InvalidHITState",
				"This HIT is currently in the state '%s'.  "
				"This operation can be called with a status "
				"of: Reviewing, Reviewable",
				status);
	for (size_t i = 0; i < h->nasgs; i++)
		if (sim_asg_settle(st, h->asgs[i], h, now) == ASG_SUBMITTED)
			return sim_fail(st, err, 400, "RequestError",
					"InvalidHITState",
					"This HIT has assignments that are not "
					"approved or rejected.");
	h->deleted = true;
	*resp = json_object();
	return 0;
}

/* ---- dispatch ----------------------------------------------------------- */

static int
op_create_hit_alone(struct sim_store *st, json_t *req, json_t **resp,
		    struct sim_err *err)
{
	return op_create_hit(st, req, false, resp, err);
}

static int
op_create_hit_with_type(struct sim_store *st, json_t *req, json_t **resp,
			struct sim_err *err)
{
	return op_create_hit(st, req, true, resp, err);
}

static int
op_approve(struct sim_store *st, json_t *req, json_t **resp,
	   struct sim_err *err)
{
	return op_review(st, req, true, resp, err);
}

static int
op_reject(struct sim_store *st, json_t *req, json_t **resp,
	  struct sim_err *err)
{
	return op_review(st, req, false, resp, err);
}

static int
op_get_account_balance(struct sim_store *st, json_t *req, json_t **resp,
		       struct sim_err *err)
{
	(void)st;
	(void)req;
	(void)err;
	*resp = json_pack("{s:s, s:s}", "AvailableBalance", "10000.00",
			  "OnHoldBalance", "0.00");
	return 0;
}

/*
 * The operations the simulator implements, each with its handler.  A
 * read-only one changes no record: sim_store_call() drops the touches its
 * lookups made, so that it saves nothing (see sim_persist.c).
 */
static const struct sim_op {
	const char *name;
	int (*run)(struct sim_store *st, json_t *req, json_t **resp,
		   struct sim_err *err);
	bool read_only;
} sim_ops[] = {
	{"CreateQualificationType", op_create_qualification_type, false},
	{"ListQualificationTypes", op_list_qualification_types, true},
	{"AssociateQualificationWithWorker", op_associate_qualification, false},
	{"CreateHITType", op_create_hit_type, false},
	{"CreateHIT", op_create_hit_alone, false},
	{"CreateHITWithHITType", op_create_hit_with_type, false},
	{"GetHIT", op_get_hit, true},
	{"ListHITs", op_list_hits, true},
	{"ListAssignmentsForHIT", op_list_assignments, true},
	{"GetAssignment", op_get_assignment, true},
	{"ApproveAssignment", op_approve, false},
	{"RejectAssignment", op_reject, false},
	{"UpdateExpirationForHIT", op_update_expiration, false},
	{"DeleteHIT", op_delete_hit, false},
	{"ListReviewableHITs", op_list_reviewable_hits, true},
	{"UpdateHITReviewStatus", op_update_hit_review_status, false},
	{"GetAccountBalance", op_get_account_balance, true},
};

static const struct sim_op *
sim_op_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sim_ops) / sizeof(sim_ops[0]); i++)
		if (strcmp(sim_ops[i].name, name) == 0)
			return &sim_ops[i];
	return NULL;
}

int
sim_store_call(struct sim_store *st, const char *op, json_t *req,
	       json_t **resp, struct sim_err *err)
{
	const struct sim_op *o = sim_op_find(op);
	size_t touched_hits, touched_asgs;
	struct errbuf eb;
	int rc;

	*resp = NULL;
	memset(err, 0, sizeof(*err));
	if (!json_is_object(req))
		return sim_fail(st, err, 400, "SerializationException", NULL,
				"The request body must be a JSON object.");
	pthread_mutex_lock(&st->mu);
	/*
	 * What an earlier failed save left is written first, so that the
	 * records this request adds or changes are its own alone.
	 */
	err_init(&eb);
	if (sim_changes_pending(st) && sim_save_changes(st, &eb) != IF_OK) {
		log_warnx("simulator: %s: %s", op, eb.msg);
		sim_store_unlock(st);
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"The simulator could not save its state; try "
				"again.");
	}
	touched_hits = st->ntouched_hits;
	touched_asgs = st->ntouched_asgs;
	if (o != NULL)
		rc = o->run(st, req, resp, err);
	else
		rc = sim_fail(st, err, 400, "UnknownOperationException", NULL,
			      "The simulator does not implement %.64s.", op);
	/* A read-only or refused request changed nothing it touched. */
	if (rc != 0 || o == NULL || o->read_only) {
		st->ntouched_hits = touched_hits;
		st->ntouched_asgs = touched_asgs;
	}
	/*
	 * A request that failed (a read the database refused, memory) may
	 * have added records half-made - a new HIT without its planned
	 * workers - that a retry must not find: they leave with the
	 * working set, unsaved, and the retry starts from the database.
	 */
	if (rc != 0 && err->http >= 500)
		sim_store_evict(st);
	/* Nothing is answered that is not on disk (see sim_persist.c). */
	if (sim_save_changes(st, &eb) != IF_OK) {
		log_warnx("simulator: %s: %s", op, eb.msg);
		json_decref(*resp);
		*resp = NULL;
		rc = sim_fail(st, err, 500, "ServiceFault", NULL,
			      "The simulator could not save its state; try "
			      "again.");
	}
	sim_store_unlock(st);
	if (rc == 0 && *resp == NULL)
		return sim_fail(st, err, 500, "ServiceFault", NULL,
				"out of memory");
	return rc;
}

/* ---- S3 objects --------------------------------------------------------- */

int
sim_store_put_object(struct sim_store *st, const char *path, const void *data,
		     size_t len, const char *content_type)
{
	struct object *o = NULL;
	char *copy = malloc(len + 1);
	char type[128];
	const char *ct;
	struct errbuf eb;
	int rc = 0;

	if (copy == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, data, len);
	snprintf(type, sizeof(type), "%s",
		 content_type != NULL ? content_type
				      : "application/octet-stream");
	pthread_mutex_lock(&st->mu);
	/* One that cannot be read is not replaced as if it were new. */
	ct = sim_find_object(st, path, strlen(path), &o) == 0
		     ? sim_intern(st, type)
		     : NULL;
	if (ct == NULL) {
		sim_store_unlock(st);
		free(copy);
		return -1;
	}
	if (o == NULL) {
		o = sim_object_add(st, path, "", NULL, 0);
		if (o == NULL) {
			sim_store_unlock(st);
			free(copy);
			return -1;
		}
	} else {
		sim_touch_object(st, o);
	}
	free(o->data);
	o->data = copy;
	o->resident = true;
	o->len = len;
	o->content_type = ct;
	err_init(&eb);
	if (sim_save_changes(st, &eb) != IF_OK) {
		log_warnx("simulator: saving %s: %s", path, eb.msg);
		rc = -1;
	}
	sim_store_unlock(st);
	return rc;
}

int
sim_store_get_object(struct sim_store *st, const char *path, char **data,
		     size_t *len, char *content_type, size_t ctlen,
		     bool *found)
{
	struct object *o;
	struct errbuf eb;
	char *body = NULL;
	int rc = -1;

	*data = NULL;
	*len = 0;
	*found = false;
	pthread_mutex_lock(&st->mu);
	if (sim_find_object(st, path, strlen(path), &o) != 0)
		goto out;
	if (o == NULL) {
		rc = 0;
		goto out;
	}
	if (!o->resident) {
		/* Saved: its bytes are in the database. */
		err_init(&eb);
		if (sim_db_get(st->db, "objects", o->path, &body, data, len,
			       &eb) != IF_OK) {
			log_warnx("simulator: %s", eb.msg);
			goto out;
		}
		free(body);
	} else {
		*data = malloc(o->len + 1);
		if (*data == NULL)
			goto out;
		if (o->len > 0)
			memcpy(*data, o->data, o->len);
		*len = o->len;
	}
	snprintf(content_type, ctlen, "%s", o->content_type);
	*found = true;
	rc = 0;
out:
	sim_store_unlock(st);
	return rc;
}
