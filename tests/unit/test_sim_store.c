/*
 * sim/sim_ops.c and the store's other files: the simulator's MTurk
 * operations, called directly with an injected clock - shapes, errors,
 * idempotence, paging, qualification requirements and the planned
 * simulated assignments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_private.h"
#include "tests/support/tmpdir.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct fixture {
	struct sim_store *st;
	int64_t now_ms;
};

static int64_t
fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now_ms;
}

static struct fixture *
fixture_new_pool(int64_t delay_ms, uint64_t seed, size_t pool)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sim_store_config cfg;

	assert_non_null(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = seed;
	cfg.worker_pool = pool;
	cfg.crowd_delay_ms = delay_ms;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = f;
	f->now_ms = 1767323045000LL; /* 2026-01-02T03:04:05Z */
	f->st = sim_store_new(&cfg);
	assert_non_null(f->st);
	return f;
}

static struct fixture *
fixture_new(int64_t delay_ms, uint64_t seed)
{
	return fixture_new_pool(delay_ms, seed, 0);
}

static void
fixture_free(struct fixture *f)
{
	sim_store_free(f->st);
	free(f);
}

/*
 * Calls op with a JSON text request; returns the response (or NULL with
 * err).
 */
static json_t *
call(struct fixture *f, const char *op, const char *req_text,
     struct sim_err *err)
{
	json_error_t je;
	json_t *req = json_loads(req_text, 0, &je), *resp = NULL;
	int rc;

	assert_non_null(req);
	rc = sim_store_call(f->st, op, req, &resp, err);
	json_decref(req);
	if (rc != 0) {
		assert_null(resp);
		return NULL;
	}
	assert_non_null(resp);
	return resp;
}

static json_t *
call_ok(struct fixture *f, const char *op, const char *req_text)
{
	struct sim_err err;
	json_t *r = call(f, op, req_text, &err);

	if (r == NULL)
		fail_msg("%s failed: %s %s %s", op, err.type, err.turk,
			 err.message);
	return r;
}

static void
expect_error(struct fixture *f, const char *op, const char *req_text,
	     int http, const char *type, const char *turk, const char *text)
{
	struct sim_err err;
	json_t *r = call(f, op, req_text, &err);

	if (r != NULL)
		fail_msg("%s succeeded; wanted %s", op, turk);
	assert_int_equal(err.http, http);
	assert_string_equal(err.type, type);
	assert_string_equal(err.turk, turk);
	if (text != NULL && strstr(err.message, text) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err.message, text);
}

static const char hit_req_fmt[] =
	"{\"Title\":\"Box faces\",\"Description\":\"d\",\"Reward\":\"0.15\","
	"\"AssignmentDurationInSeconds\":300,\"LifetimeInSeconds\":3600,"
	"\"MaxAssignments\":%d,\"Question\":\"<q/>\","
	"\"RequesterAnnotation\":\"%s\"%s%s%s}";

static char *
hit_req(int max, const char *ann, const char *token)
{
	char *s = malloc(1024);
	char tok[128] = "";

	assert_non_null(s);
	if (token != NULL)
		snprintf(tok, sizeof(tok), ",\"UniqueRequestToken\":\"%s\"",
			 token);
	snprintf(s, 1024, hit_req_fmt, max, ann, tok, "", "");
	return s;
}

static void
test_balance_and_unknown_op(void **state)
{
	struct fixture *f = fixture_new(0, 1);
	json_t *r;

	(void)state;
	r = call_ok(f, "GetAccountBalance", "{}");
	assert_string_equal(
		json_string_value(json_object_get(r, "AvailableBalance")),
		"10000.00");
	json_decref(r);
	expect_error(f, "SendTestEventNotification", "{}", 400,
		     "UnknownOperationException", "", NULL);
	fixture_free(f);
}

static void
test_create_hit_shape_and_token(void **state)
{
	struct fixture *f = fixture_new(0, 7);
	char *req = hit_req(3, "exp/img/1", "tok-1");
	json_t *r, *hit;
	const char *id;
	char want[128];

	(void)state;
	r = call_ok(f, "CreateHIT", req);
	hit = json_object_get(r, "HIT");
	id = json_string_value(json_object_get(hit, "HITId"));
	assert_non_null(id);
	assert_int_equal(strlen(id), SIM_ID_LEN);
	assert_int_equal(strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
			 SIM_ID_LEN);
	assert_string_equal(
		json_string_value(json_object_get(hit, "HITStatus")),
		"Reviewable"); /* delay 0: all 3 submitted at once */
	assert_int_equal(
		json_integer_value(json_object_get(hit, "MaxAssignments")), 3);
	assert_true(json_is_number(json_object_get(hit, "CreationTime")));
	assert_int_equal(
		json_integer_value(json_object_get(hit, "CreationTime")),
		1767323045);
	assert_int_equal(json_integer_value(json_object_get(hit, "Expiration")),
			 1767323045 + 3600);
	assert_string_equal(
		json_string_value(json_object_get(hit, "RequesterAnnotation")),
		"exp/img/1");
	/* The same token again: HitAlreadyExists naming the HIT. */
	snprintf(want, sizeof(want), "\"%s\"", id);
	expect_error(f, "CreateHIT", req, 400, "RequestError",
		     "AWS.MechanicalTurk.HitAlreadyExists", want);
	/* ... and the message ends with the epoch-ms time. */
	{
		struct sim_err err;
		assert_null(call(f, "CreateHIT", req, &err));
		assert_non_null(strstr(err.message, "(1767323045000)"));
	}
	/* After 24 hours the token is forgotten, as MTurk documents. */
	f->now_ms += 24LL * 3600 * 1000 + 1;
	json_decref(call_ok(f, "CreateHIT", req));
	json_decref(r);
	free(req);
	fixture_free(f);
}

static void
test_hit_type_idempotent(void **state)
{
	struct fixture *f = fixture_new(0, 1);
	const char *t = "{\"Title\":\"T\",\"Description\":\"D\","
			"\"Reward\":\"0.15\","
			"\"AssignmentDurationInSeconds\":300}";
	const char *t2 = "{\"Title\":\"T\",\"Description\":\"D\","
			 "\"Reward\":\"0.16\","
			 "\"AssignmentDurationInSeconds\":300}";
	json_t *a, *b, *c, *h;
	char req[512];

	(void)state;
	a = call_ok(f, "CreateHITType", t);
	b = call_ok(f, "CreateHITType", t);
	c = call_ok(f, "CreateHITType", t2);
	assert_string_equal(json_string_value(json_object_get(a, "HITTypeId")),
			    json_string_value(json_object_get(b, "HITTypeId")));
	assert_string_not_equal(
		json_string_value(json_object_get(a, "HITTypeId")),
		json_string_value(json_object_get(c, "HITTypeId")));
	snprintf(req, sizeof(req),
		 "{\"HITTypeId\":\"%s\",\"LifetimeInSeconds\":60,"
		 "\"MaxAssignments\":2,\"Question\":\"<q/>\"}",
		 json_string_value(json_object_get(a, "HITTypeId")));
	h = call_ok(f, "CreateHITWithHITType", req);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(h, "HIT"), "Title")),
			    "T");
	expect_error(f, "CreateHITWithHITType",
		     "{\"HITTypeId\":\"NOPE\",\"LifetimeInSeconds\":60,"
		     "\"Question\":\"<q/>\"}",
		     400, "RequestError",
		     "AWS.MechanicalTurk.HITTypeDoesNotExist", NULL);
	expect_error(f, "CreateHITType",
		     "{\"Title\":\"T\",\"Description\":\"D\",\"Reward\":\"$1\","
		     "\"AssignmentDurationInSeconds\":300}",
		     400, "RequestError",
		     "AWS.MechanicalTurk.ParameterValidationError", "Reward");
	expect_error(f, "CreateHITType", "{\"Title\":\"T\"}", 400,
		     "ValidationException", "", "Description");
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(h);
	fixture_free(f);
}

static void
test_unknown_ids(void **state)
{
	struct fixture *f = fixture_new(0, 1);

	(void)state;
	expect_error(f, "GetHIT", "{\"HITId\":\"3NOSUCHHIT\"}", 400,
		     "RequestError", "AWS.MechanicalTurk.HITDoesNotExist",
		     "Hit 3NOSUCHHIT does not exist.");
	expect_error(f, "ListAssignmentsForHIT", "{\"HITId\":\"3NOSUCHHIT\"}",
		     400, "RequestError", "AWS.MechanicalTurk.HITDoesNotExist",
		     NULL);
	expect_error(f, "GetAssignment", "{\"AssignmentId\":\"3X\"}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.AssignmentDoesNotExist", NULL);
	expect_error(f, "ApproveAssignment", "{\"AssignmentId\":\"3X\"}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.AssignmentDoesNotExist", NULL);
	fixture_free(f);
}

/* The HIT id and the first assignment of the HIT just created. */
static json_t *
first_assignment(struct fixture *f, const char *hit_id)
{
	char req[256];
	json_t *r, *a;

	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit_id);
	r = call_ok(f, "ListAssignmentsForHIT", req);
	a = json_incref(json_array_get(json_object_get(r, "Assignments"), 0));
	json_decref(r);
	return a;
}

static void
test_approve_twice_and_reject(void **state)
{
	struct fixture *f = fixture_new(0, 3);
	char *req = hit_req(2, "e/i/1", NULL), body[256];
	json_t *r, *a, *g;
	const char *hit_id;

	(void)state;
	r = call_ok(f, "CreateHIT", req);
	hit_id = json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId"));
	a = first_assignment(f, hit_id);
	assert_non_null(a);
	assert_string_equal(
		json_string_value(json_object_get(a, "AssignmentStatus")),
		"Submitted");
	assert_non_null(
		strstr(json_string_value(json_object_get(a, "Answer")),
		       "<QuestionIdentifier>face_found</QuestionIdentifier>"));
	snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}",
		 json_string_value(json_object_get(a, "AssignmentId")));
	json_decref(call_ok(f, "ApproveAssignment", body));
	expect_error(f, "ApproveAssignment", body, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidAssignmentState",
		     "This operation can be called with a status of: "
		     "Submitted");
	expect_error(f, "RejectAssignment", body, 400, "ValidationException",
		     "", "RequesterFeedback");
	g = call_ok(f, "GetAssignment", body);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(g, "Assignment"),
				    "AssignmentStatus")),
			    "Approved");
	assert_non_null(json_object_get(json_object_get(g, "Assignment"),
					"ApprovalTime"));
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(g, "HIT"), "HITId")),
			    hit_id);
	json_decref(g);
	json_decref(a);
	/* The second assignment: rejected, then filtered by status. */
	{
		char lreq[256];
		json_t *l, *b;

		snprintf(lreq, sizeof(lreq),
			 "{\"HITId\":\"%s\",\"AssignmentStatuses\":["
			 "\"Submitted\"]}",
			 hit_id);
		l = call_ok(f, "ListAssignmentsForHIT", lreq);
		assert_int_equal(
			json_integer_value(json_object_get(l, "NumResults")),
			1);
		b = json_array_get(json_object_get(l, "Assignments"), 0);
		snprintf(body, sizeof(body),
			 "{\"AssignmentId\":\"%s\",\"RequesterFeedback\":"
			 "\"no\"}",
			 json_string_value(json_object_get(b, "AssignmentId")));
		json_decref(call_ok(f, "RejectAssignment", body));
		json_decref(l);
		l = call_ok(f, "ListAssignmentsForHIT", lreq);
		assert_int_equal(
			json_integer_value(json_object_get(l, "NumResults")),
			0);
		json_decref(l);
	}
	json_decref(r);
	free(req);
	fixture_free(f);
}

/* Expiring a HIT at the instant it was made keeps what was submitted. */
static void
test_expire_at_creation_keeps_answers(void **state)
{
	struct fixture *f = fixture_new(0, 4);
	char *req = hit_req(3, "e/i/1", NULL), body[256], upd[256];
	json_t *r, *l;
	const char *id;

	(void)state;
	r = call_ok(f, "CreateHIT", req);
	id = json_string_value(
		json_object_get(json_object_get(r, "HIT"), "HITId"));
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"ExpireAt\":0}", id);
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", id);
	json_decref(call_ok(f, "UpdateExpirationForHIT", upd));
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 3);
	json_decref(l);
	json_decref(r);
	free(req);
	fixture_free(f);
}

static void
test_paging(void **state)
{
	struct fixture *f = fixture_new(0, 1);
	json_t *r;
	char tok[64] = "", req[128];
	size_t total = 0, pages = 0;

	(void)state;
	for (int i = 0; i < 7; i++) {
		char ann[32];
		char *hr;

		snprintf(ann, sizeof(ann), "e/i%d/1", i);
		hr = hit_req(1, ann, NULL);
		json_decref(call_ok(f, "CreateHIT", hr));
		free(hr);
	}
	do {
		if (tok[0] != '\0')
			snprintf(req, sizeof(req),
				 "{\"MaxResults\":3,\"NextToken\":"
				 "\"%s\"}", tok);
		else
			snprintf(req, sizeof(req), "{\"MaxResults\":3}");
		r = call_ok(f, "ListHITs", req);
		total += json_array_size(json_object_get(r, "HITs"));
		assert_int_equal(
			json_integer_value(json_object_get(r, "NumResults")),
			json_array_size(json_object_get(r, "HITs")));
		tok[0] = '\0';
		if (json_is_string(json_object_get(r, "NextToken")))
			snprintf(tok, sizeof(tok), "%s",
				 json_string_value(
					 json_object_get(r, "NextToken")));
		json_decref(r);
		pages++;
	} while (tok[0] != '\0');
	assert_int_equal(total, 7);
	assert_int_equal(pages, 3);
	expect_error(f, "ListHITs", "{\"MaxResults\":101}", 400, "RequestError",
		     "AWS.MechanicalTurk.ParameterValidationError", NULL);
	expect_error(f, "ListHITs", "{\"NextToken\":\"garbage\"}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.ParameterValidationError", NULL);
	fixture_free(f);
}

static void
test_qualifications_exclude_workers(void **state)
{
	struct fixture *f = fixture_new(0, 11);
	json_t *q, *r, *l, *a;
	const char *qid;
	char req[1024], body[256], workers[3][64];
	size_t i;

	(void)state;
	q = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"exp-stage-1\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	qid = json_string_value(json_object_get(
					json_object_get(q, "QualificationType"),
					"QualificationTypeId"));
	expect_error(f, "CreateQualificationType",
		     "{\"Name\":\"exp-stage-1\",\"Description\":\"d\","
		     "\"QualificationTypeStatus\":\"Active\"}",
		     400, "RequestError",
		     "AWS.MechanicalTurk.QualificationTypeAlreadyExists", NULL);
	l = call_ok(f, "ListQualificationTypes",
		    "{\"MustBeRequestable\":false,\"MustBeOwnedByCaller\":"
		    "true}");
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 1);
	json_decref(l);
	/* Stage 1 with three workers; grant them the stage's qualification. */
	{
		char *hr = hit_req(3, "e/a/1", NULL);
		r = call_ok(f, "CreateHIT", hr);
		free(hr);
	}
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	l = call_ok(f, "ListAssignmentsForHIT", body);
	json_array_foreach(json_object_get(l, "Assignments"), i, a) {
		char g[512];
		snprintf(workers[i], sizeof(workers[i]), "%s",
			 json_string_value(json_object_get(a, "WorkerId")));
		assert_int_equal(workers[i][0], 'A');
		snprintf(g, sizeof(g),
			 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":\"%s\","
			 "\"IntegerValue\":1,\"SendNotification\":false}",
			 qid, workers[i]);
		json_decref(call_ok(f, "AssociateQualificationWithWorker", g));
	}
	assert_int_equal(i, 3);
	/* Three distinct workers. */
	assert_string_not_equal(workers[0], workers[1]);
	assert_string_not_equal(workers[1], workers[2]);
	assert_string_not_equal(workers[0], workers[2]);
	json_decref(l);
	json_decref(r);
	/* Stage 2 requires DoesNotExist: none of them may take it. */
	snprintf(req, sizeof(req),
		 "{\"Title\":\"t\",\"Description\":\"d\",\"Reward\":\"0.15\","
		 "\"AssignmentDurationInSeconds\":300,\"LifetimeInSeconds\":60,"
		 "\"MaxAssignments\":20,\"Question\":\"<q/>\","
		 "\"RequesterAnnotation\":\"e/a/2\","
		 "\"QualificationRequirements\":"
		 "[{\"QualificationTypeId\":\"%s\",\"Comparator\":"
		 "\"DoesNotExist\","
		 "\"ActionsGuarded\":\"DiscoverPreviewAndAccept\"}]}",
		 qid);
	r = call_ok(f, "CreateHIT", req);
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\",\"MaxResults\":100}",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_array_size(json_object_get(l, "Assignments")),
			 20);
	json_array_foreach(json_object_get(l, "Assignments"), i, a) {
		const char *w = json_string_value(
			json_object_get(a, "WorkerId"));
		for (int k = 0; k < 3; k++)
			assert_string_not_equal(w, workers[k]);
	}
	json_decref(l);
	json_decref(r);
	expect_error(f, "AssociateQualificationWithWorker",
		     "{\"QualificationTypeId\":\"3NOPE\",\"WorkerId\":"
		     "\"AX\"}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.QualificationTypeDoesNotExist", NULL);
	json_decref(q);
	fixture_free(f);
}

static void
test_delay_expire_delete(void **state)
{
	struct fixture *f = fixture_new(60000, 5);
	char *req = hit_req(2, "e/i/1", NULL), body[256], upd[256];
	json_t *r, *h, *l;

	(void)state;
	r = call_ok(f, "CreateHIT", req);
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	/*
	 * Nothing submitted yet: the first worker has accepted, the second
	 * takes it in a minute, so one assignment is still available.
	 */
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 0);
	json_decref(l);
	h = call_ok(f, "GetHIT", body);
	assert_int_equal(json_integer_value(
				 json_object_get(json_object_get(h, "HIT"),
						 "NumberOfAssignmentsPending")),
			 1);
	assert_int_equal(json_integer_value(
				 json_object_get(
					 json_object_get(h, "HIT"),
					 "NumberOfAssignmentsAvailable")), 1);
	assert_string_equal(json_string_value(json_object_get(
						      json_object_get(h, "HIT"),
						      "HITStatus")),
			    "Assignable");
	json_decref(h);
	expect_error(f, "DeleteHIT", body, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidHITState", "Assignable");
	/* One minute on: the first worker has submitted. */
	f->now_ms += 60000;
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 1);
	json_decref(l);
	f->now_ms += 60000;
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 2);
	json_decref(l);
	/* Expire it now; Submitted assignments still block DeleteHIT. */
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"ExpireAt\":0}",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	json_decref(call_ok(f, "UpdateExpirationForHIT", upd));
	/* The same (HITId, ExpireAt) again is an idempotency refusal. */
	expect_error(f, "UpdateExpirationForHIT", upd, 400, "RequestError", "",
		     "has already been processed");
	expect_error(f, "DeleteHIT", body, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidHITState", NULL);
	/* Past the auto-approval delay (30 days default) they are Approved. */
	f->now_ms += 31LL * 24 * 3600 * 1000;
	json_decref(call_ok(f, "DeleteHIT", body));
	expect_error(f, "GetHIT", body, 400, "RequestError",
		     "AWS.MechanicalTurk.HITDoesNotExist", NULL);
	json_decref(r);
	free(req);
	fixture_free(f);
}

/* HITStatus of a HIT, read with GetHIT. */
static void
expect_status(struct fixture *f, const char *hit_id, const char *want)
{
	char body[128];
	json_t *h;

	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit_id);
	h = call_ok(f, "GetHIT", body);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(h, "HIT"), "HITStatus")),
			    want);
	json_decref(h);
}

/* The HITIds of one ListReviewableHITs answer, space-separated. */
static void
expect_reviewable(struct fixture *f, const char *req, const char *want,
		  bool more)
{
	json_t *r = call_ok(f, "ListReviewableHITs", req), *h;
	char got[256] = "";
	size_t i;

	json_array_foreach(json_object_get(r, "HITs"), i, h) {
		size_t len = strlen(got);
		snprintf(got + len, sizeof(got) - len, "%s%s", len ? " " : "",
			 json_string_value(json_object_get(h, "HITId")));
	}
	if (strcmp(got, want) != 0)
		fail_msg("ListReviewableHITs %s: got \"%s\", want \"%s\"", req,
			 got, want);
	assert_int_equal(json_integer_value(json_object_get(r, "NumResults")),
			 json_array_size(json_object_get(r, "HITs")));
	assert_int_equal(json_object_get(r, "NextToken") != NULL, more);
	json_decref(r);
}

static void
test_review_status(void **state)
{
	struct fixture *f = fixture_new(60000, 5);
	char *ra = hit_req(2, "e/i/1", NULL), *rb = hit_req(1, "e/j/1", NULL);
	char a[64], b[64], type[64], req[256], ids[160], upd[128];
	json_t *r;

	(void)state;
	r = call_ok(f, "CreateHIT", ra);
	snprintf(a, sizeof(a), "%s",
		 json_string_value(
			 json_object_get(json_object_get(r, "HIT"), "HITId")));
	snprintf(type, sizeof(type), "%s",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITTypeId")));
	json_decref(r);
	r = call_ok(f, "CreateHIT", rb);
	snprintf(b, sizeof(b), "%s",
		 json_string_value(
			 json_object_get(json_object_get(r, "HIT"), "HITId")));
	json_decref(r);
	snprintf(req, sizeof(req), "{\"HITTypeId\":\"%s\"}", type);
	/* A: one worker on it, one assignment left; B: its worker on it. */
	expect_status(f, a, "Assignable");
	expect_status(f, b, "Unassignable");
	expect_reviewable(f, req, "", false);
	/* A minute on: B is submitted; A's second worker has taken it. */
	f->now_ms += 60000;
	expect_status(f, a, "Unassignable");
	expect_status(f, b, "Reviewable");
	expect_reviewable(f, req, b, false);
	/* Two minutes: both done.  Paging, one a page, in creation order. */
	f->now_ms += 60000;
	expect_status(f, a, "Reviewable");
	snprintf(ids, sizeof(ids), "%s %s", a, b);
	expect_reviewable(f, req, ids, false);
	snprintf(req, sizeof(req),
		 "{\"HITTypeId\":\"%s\",\"Status\":\"Reviewable\","
		 "\"MaxResults\":1}",
		 type);
	expect_reviewable(f, req, a, true);
	r = call_ok(f, "ListReviewableHITs", req);
	snprintf(req, sizeof(req),
		 "{\"HITTypeId\":\"%s\",\"MaxResults\":1,\"NextToken\":\"%s\"}",
		 type, json_string_value(json_object_get(r, "NextToken")));
	json_decref(r);
	expect_reviewable(f, req, b, false);
	/* Another type's HITs, or no type: all of the requester's. */
	expect_reviewable(f, "{\"HITTypeId\":\"3NOTATYPE\"}", "", false);
	expect_reviewable(f, "{}", ids, false);

	/* A to Reviewing; a repeat is refused, saying where it is. */
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\"}", a);
	json_decref(call_ok(f, "UpdateHITReviewStatus", upd));
	expect_status(f, a, "Reviewing");
	expect_error(f, "UpdateHITReviewStatus", upd, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidHITState",
		     "currently in the state 'Reviewing'");
	expect_reviewable(f, "{}", b, false);
	expect_reviewable(f, "{\"Status\":\"Reviewing\"}", a, false);
	/* Revert only from Reviewing. */
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"Revert\":true}", b);
	expect_error(f, "UpdateHITReviewStatus", upd, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidHITState",
		     "can be called with a status of: Reviewing");
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"Revert\":true}", a);
	json_decref(call_ok(f, "UpdateHITReviewStatus", upd));
	expect_status(f, a, "Reviewable");
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"Revert\":false}", a);
	json_decref(call_ok(f, "UpdateHITReviewStatus", upd));
	/* Extended, the HIT is open for new work and no longer Reviewing. */
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"ExpireAt\":%lld}", a,
		 (long long)(f->now_ms / 1000 + 3600));
	json_decref(call_ok(f, "UpdateExpirationForHIT", upd));
	expect_status(f, a, "Reviewable");

	/* Bad requests, in the service's shapes. */
	expect_error(f, "ListReviewableHITs", "{\"Status\":\"Assignable\"}",
		     400, "ValidationException", "", "enum value set");
	expect_error(f, "ListReviewableHITs", "{\"MaxResults\":101}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.ParameterValidationError", NULL);
	expect_error(f, "ListReviewableHITs", "{\"NextToken\":\"zz\"}", 400,
		     "RequestError",
		     "AWS.MechanicalTurk.ParameterValidationError", NULL);
	expect_error(f, "UpdateHITReviewStatus", "{}", 400,
		     "ValidationException", "", "HITId");
	expect_error(f, "UpdateHITReviewStatus", "{\"HITId\":\"3NOPE\"}", 400,
		     "RequestError", "AWS.MechanicalTurk.HITDoesNotExist",
		     NULL);
	snprintf(upd, sizeof(upd), "{\"HITId\":\"%s\",\"Revert\":\"yes\"}", b);
	expect_error(f, "UpdateHITReviewStatus", upd, 400,
		     "SerializationException", "", "Revert");
	free(ra);
	free(rb);
	fixture_free(f);
}

/* The same seed and requests give the same ids and answers. */
static char *
run_once(uint64_t seed)
{
	struct fixture *f = fixture_new(0, seed);
	struct sim_face face = {100, 100, 60, 60};
	struct sim_image im = {"img", 640, 480, &face, 1,
			       NULL, 0, NULL, 0};
	int windows[] = {41, 13};
	struct sim_experiment exp = {"e", windows, 2, &im, 1, SIM_AGG_UNION,
				     NULL};
	struct errbuf eb;
	char *req = hit_req(3, "e/img/1", NULL), body[256], *dump;
	json_t *r, *l;

	err_init(&eb);
	assert_int_equal(sim_store_add_experiment(f->st, &exp, &eb), IF_OK);
	r = call_ok(f, "CreateHIT", req);
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	l = call_ok(f, "ListAssignmentsForHIT", body);
	dump = json_dumps(l, JSON_SORT_KEYS);
	json_decref(l);
	json_decref(r);
	free(req);
	fixture_free(f);
	return dump;
}

static void
test_reproducible(void **state)
{
	char *a = run_once(42), *b = run_once(42), *c = run_once(43);

	(void)state;
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

/* A new HIT's id and those of its assignments, in *hit and asg[]. */
static size_t
hit_and_asg_ids(struct fixture *f, const char *ann, char hit[64],
		char asg[][64], size_t max)
{
	char *req = hit_req(3, ann, NULL), body[256];
	json_t *r = call_ok(f, "CreateHIT", req), *l, *items;
	size_t n = 0;

	snprintf(hit, 64, "%s",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	/* The simulated workers answer within the crowd's delay. */
	f->now_ms += 3600 * 1000;
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit);
	l = call_ok(f, "ListAssignmentsForHIT", body);
	items = json_object_get(l, "Assignments");
	for (size_t i = 0; i < json_array_size(items) && n < max; i++)
		snprintf(asg[n++], 64, "%s",
			 json_string_value(json_object_get(
				 json_array_get(items, i), "AssignmentId")));
	json_decref(l);
	json_decref(r);
	free(req);
	return n;
}

/* An id as MTurk's: 30 of [A-Z0-9], a digit first. */
static void
assert_mturk_id(const char *id)
{
	assert_int_equal(strlen(id), 30);
	assert_true(id[0] >= '0' && id[0] <= '9');
	for (const char *p = id; *p != '\0'; p++)
		assert_true((*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9'));
}

/*
 * Ids sort in the order they were made (the B-trees keyed by them stay
 * local: docs/design.md, "ids in creation order"), whether from the
 * seeded stream or from the CSPRNG, and still differ within one ms.
 */
static void
test_ids_in_creation_order(void **state)
{
	for (int csprng = 0; csprng <= 1; csprng++) {
		struct fixture *f = fixture_new(0, 7);
		char prev[64] = "", hit[64], asg[8][64], same[2][64];
		struct sim_face face = {100, 100, 60, 60};
		struct sim_image im = {"img", 640, 480, &face, 1,
				       NULL, 0, NULL, 0};
		int windows[] = {41, 13};
		struct sim_experiment exp = {"e", windows, 2, &im, 1,
					     SIM_AGG_UNION, NULL};
		struct errbuf eb;

		(void)state;
		err_init(&eb);
		f->st->cfg.csprng_ids = csprng != 0;
		assert_int_equal(sim_store_add_experiment(f->st, &exp, &eb),
				 IF_OK);
		for (int k = 0; k < 4; k++) {
			char ann[32];
			size_t n;

			snprintf(ann, sizeof(ann), "e/img/%d", k + 1);
			n = hit_and_asg_ids(f, ann, hit, asg, 8);
			assert_mturk_id(hit);
			assert_true(strcmp(prev, hit) < 0);
			assert_true(n > 0);
			/*
			 * Made with their HIT (the crowd is planned at once:
			 * the same time, or later), before the next one.
			 */
			for (size_t i = 0; i < n; i++) {
				assert_mturk_id(asg[i]);
				assert_true(memcmp(hit, asg[i], 10) <= 0);
			}
			/* The next HIT's id sorts after the last of these. */
			memcpy(prev, asg[0], sizeof(prev));
			for (size_t i = 1; i < n; i++)
				if (strcmp(prev, asg[i]) < 0)
					memcpy(prev, asg[i], sizeof(prev));
			f->now_ms += 1;
		}
		/* Two in the same ms: one time, different ids. */
		sim_new_id(f->st, same[0]);
		sim_new_id(f->st, same[1]);
		assert_memory_equal(same[0], same[1], 10);
		assert_string_not_equal(same[0], same[1]);
		assert_true(strcmp(prev, same[0]) < 0);
		fixture_free(f);
	}
}

static void
test_objects(void **state)
{
	bool found = false;
	struct fixture *f = fixture_new(0, 1);
	char *data = NULL, ct[64];
	size_t len = 0;

	(void)state;
	assert_int_equal(sim_store_put_object(f->st, "b/k.jpg", "abc", 3,
					      "image/jpeg"),
			 0);
	assert_int_equal(sim_store_get_object(f->st, "b/k.jpg", &data, &len, ct,
					      sizeof(ct), &found),
			 0);
	assert_true(found);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	assert_string_equal(ct, "image/jpeg");
	free(data);
	assert_int_equal(sim_store_get_object(f->st, "b/none", &data, &len, ct,
					      sizeof(ct), &found),
			 0);
	assert_false(found);
	assert_null(data);
	fixture_free(f);
}

/* Everything survives a restart with a state directory. */
static void
test_state_dir_survives_restart(void **state)
{
	bool found = false;
	char *dir = tmpdir_new("simstate"), *req = hit_req(2, "e/i/1", "tok-p");
	struct fixture *f = fixture_new(0, 8);
	struct errbuf eb;
	json_t *r, *a;
	char hit_id[64], body[256], want[80], *data = NULL, ct[64], path[300];
	size_t len = 0;
	FILE *fp;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	json_decref(call_ok(f, "CreateQualificationType",
			    "{\"Name\":\"q1\",\"Description\":\"d\","
			    "\"QualificationTypeStatus\":\"Active\"}"));
	r = call_ok(f, "CreateHIT", req);
	snprintf(hit_id, sizeof(hit_id), "%s",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	json_decref(r);
	a = first_assignment(f, hit_id);
	snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}",
		 json_string_value(json_object_get(a, "AssignmentId")));
	json_decref(call_ok(f, "ApproveAssignment", body));
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit_id);
	json_decref(call_ok(f, "UpdateHITReviewStatus", body));
	snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}",
		 json_string_value(json_object_get(a, "AssignmentId")));
	json_decref(a);
	assert_int_equal(sim_store_put_object(f->st, "b/x.jpg", "xyz", 3,
					      "image/jpeg"),
			 0);
	fixture_free(f);

	/* A new store on the same directory. */
	f = fixture_new(0, 8);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	snprintf(want, sizeof(want), "\"%s\"", hit_id);
	expect_error(f, "CreateHIT", req, 400, "RequestError",
		     "AWS.MechanicalTurk.HitAlreadyExists", want);
	expect_error(f, "ApproveAssignment", body, 400, "RequestError",
		     "AWS.MechanicalTurk.InvalidAssignmentState", NULL);
	expect_error(f, "CreateQualificationType",
		     "{\"Name\":\"q1\",\"Description\":\"d\","
		     "\"QualificationTypeStatus\":\"Active\"}",
		     400, "RequestError",
		     "AWS.MechanicalTurk.QualificationTypeAlreadyExists", NULL);
	/* Still Reviewing after the restart. */
	expect_status(f, hit_id, "Reviewing");
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit_id);
	r = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(r, "NumResults")),
			 2);
	json_decref(r);
	/* New ids continue the stream instead of repeating it. */
	{
		char *req2 = hit_req(1, "e/i/2", NULL);
		r = call_ok(f, "CreateHIT", req2);
		assert_string_not_equal(
			json_string_value(json_object_get(
				json_object_get(r, "HIT"), "HITId")),
			hit_id);
		json_decref(r);
		free(req2);
	}
	assert_int_equal(sim_store_get_object(f->st, "b/x.jpg", &data, &len, ct,
					      sizeof(ct), &found),
			 0);
	assert_true(found);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "xyz", 3);
	free(data);
	fixture_free(f);

	/* A damaged state is refused with the file's name. */
	snprintf(path, sizeof(path), "%s/sim.db", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("{broken\n", fp);
	assert_int_equal(fclose(fp), 0);
	f = fixture_new(0, 8);
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "sim.db"));
	fixture_free(f);
	tmpdir_free(dir);
	free(req);
}


static json_t *
dump(struct fixture *f)
{
	json_t *d = sim_store_dump(f->st);

	assert_non_null(d);
	return d;
}

static void
assert_same_state(json_t *a, json_t *b)
{
	if (!json_equal(a, b)) {
		char *ta = json_dumps(a, JSON_SORT_KEYS | JSON_INDENT(1));
		char *tb = json_dumps(b, JSON_SORT_KEYS | JSON_INDENT(1));
		print_error("live:\n%s\nreopened:\n%s\n", ta, tb);
		free(ta);
		free(tb);
		fail_msg("the reopened store differs from the live one");
	}
}

static const char *
hit_id_of(json_t *r)
{
	return json_string_value(
		json_object_get(json_object_get(r, "HIT"), "HITId"));
}

/*
 * Every kind of change is saved: after each of a sequence of operations
 * that change records in place, a store reopened from the directory
 * holds exactly what the live one does.
 */
static void
test_state_dir_matches_memory(void **state)
{
	char *dir = tmpdir_new("simstate"), *req = hit_req(3, "e/i/1", "tok-m");
	struct fixture *f = fixture_new(0, 21), *g;
	struct errbuf eb;
	json_t *r, *q, *a, *live, *back;
	char body[512], hit1[64], hit2[64], qid[64], asg[64], asg2[64];
	char lab_asg[SIM_ID_LEN + 1], why[128], worker[64];
	int step;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	for (step = 0; step < 12; step++) {
		switch (step) {
		case 0:
			q = call_ok(f, "CreateQualificationType",
				    "{\"Name\":\"q\",\"Description\":\"d\","
				    "\"QualificationTypeStatus\":\"Active\"}");
			snprintf(qid, sizeof(qid), "%s",
				 json_string_value(
					 json_object_get(
						 json_object_get(
							 q,
							 "QualificationType"),
						 "QualificationTypeId")));
			json_decref(q);
			break;
		case 1:
			r = call_ok(f, "CreateHIT", req);
			snprintf(hit1, sizeof(hit1), "%s", hit_id_of(r));
			json_decref(r);
			break;
		case 2:
			a = first_assignment(f, hit1);
			snprintf(asg, sizeof(asg), "%s",
				 json_string_value(
					 json_object_get(a, "AssignmentId")));
			snprintf(worker, sizeof(worker), "%s",
				 json_string_value(
					 json_object_get(a, "WorkerId")));
			json_decref(a);
			snprintf(body, sizeof(body),
				 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
				 "\"%s\",\"IntegerValue\":1}",
				 qid, worker);
			json_decref(call_ok(f,
					    "AssociateQualificationWithWorker",
					    body));
			break;
		case 3: /* the same grant again, another value */
			snprintf(body, sizeof(body),
				 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
				 "\"%s\",\"IntegerValue\":7}",
				 qid, worker);
			json_decref(call_ok(f,
					    "AssociateQualificationWithWorker",
					    body));
			break;
		case 4:
			snprintf(body, sizeof(body),
				 "{\"AssignmentId\":\"%s\","
				 "\"RequesterFeedback\":"
				 "\"no\"}",
				 asg);
			json_decref(call_ok(f, "RejectAssignment", body));
			break;
		case 5: /* approved after all */
			snprintf(body, sizeof(body),
				 "{\"AssignmentId\":\"%s\","
				 "\"OverrideRejection\":"
				 "true}",
				 asg);
			json_decref(call_ok(f, "ApproveAssignment", body));
			snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}",
				 hit1);
			r = call_ok(f, "ListAssignmentsForHIT", body);
			{
				size_t i;
				json_array_foreach(
					json_object_get(r, "Assignments"),
					i, a) {
					snprintf(asg2, sizeof(asg2),
					    "{\"AssignmentId\":\"%s\"}",
					    json_string_value(json_object_get(
						a, "AssignmentId")));
					if (i > 0)
						json_decref(call_ok(
							f, "ApproveAssignment",
							asg2));
				}
			}
			json_decref(r);
			break;
		case 6:
			snprintf(body, sizeof(body),
				 "{\"HITId\":\"%s\",\"ExpireAt\":0}", hit1);
			json_decref(call_ok(f, "UpdateExpirationForHIT", body));
			/* Expired, it is Reviewable: moved on, it is
			 * Reviewing. */
			snprintf(body, sizeof(body),
				 "{\"HITId\":\"%s\",\"Revert\":false}", hit1);
			json_decref(call_ok(f, "UpdateHITReviewStatus", body));
			break;
		case 7:
			snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}",
				 hit1);
			json_decref(call_ok(f, "DeleteHIT", body));
			break;
		case 8:
			assert_int_equal(sim_store_put_object(f->st, "b/k",
							      "one", 3,
							      "image/jpeg"), 0);
			assert_int_equal(sim_store_put_object(f->st, "b/k",
							      "two!", 4,
							      "image/png"), 0);
			break;
		case 9: /* a HIT only a lab participant may take */
			q = call_ok(f, "CreateQualificationType",
				    "{\"Name\":\"lab\",\"Description\":\"d\","
				    "\"QualificationTypeStatus\":\"Active\"}");
			snprintf(qid, sizeof(qid), "%s",
				 json_string_value(
					 json_object_get(
						 json_object_get(
							 q,
							 "QualificationType"),
						 "QualificationTypeId")));
			json_decref(q);
			snprintf(body, sizeof(body),
				 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
				 "\"AP01\",\"IntegerValue\":1}",
				 qid);
			json_decref(call_ok(f,
					    "AssociateQualificationWithWorker",
					    body));
			{
				char req2[1024];
				snprintf(req2, sizeof(req2), hit_req_fmt, 1,
					 "lab/x/1",
					 ",\"QualificationRequirements\":[{"
					 "\"QualificationTypeId\":\"",
					 qid, "\",\"Comparator\":\"Exists\"}]");
				r = call_ok(f, "CreateHIT", req2);
				snprintf(hit2, sizeof(hit2), "%s",
					 hit_id_of(r));
				json_decref(r);
			}
			break;
		case 10:
			assert_int_equal(sim_store_lab_accept(f->st, hit2,
							      "AP01", lab_asg,
							      why, sizeof(why)),
					 0);
			break;
		case 11:
			{
				char *xml = strdup("<QuestionFormAnswers/>");
				assert_non_null(xml);
				assert_int_equal(sim_store_lab_submit(
							 f->st, lab_asg, xml,
							 "[[1,2,3,4]]", worker,
							 sizeof(worker), why,
							 sizeof(why)), 0);
				assert_string_equal(worker, "AP01");
			}
			break;
		}
		/* A store reopened now holds what the live one holds. */
		live = dump(f);
		g = fixture_new(0, 21);
		g->now_ms = f->now_ms;
		/* The directory is held by f: copy it to read it. */
		{
			char *copy = tmpdir_new("simstate"), cmd[700];
			snprintf(cmd, sizeof(cmd), "cp %s/sim.db* %s/", dir,
				 copy);
			assert_int_equal(system(cmd), 0);
			err_init(&eb);
			assert_int_equal(sim_store_open(g->st, copy, &eb),
					 IF_OK);
			back = dump(g);
			fixture_free(g);
			tmpdir_free(copy);
		}
		assert_same_state(live, back);
		json_decref(live);
		json_decref(back);
	}
	fixture_free(f);
	tmpdir_free(dir);
	free(req);
}

/* A second simulator on the same directory is refused. */
static void
test_state_dir_in_use(void **state)
{
	char *dir = tmpdir_new("simstate");
	struct fixture *f = fixture_new(0, 1), *g = fixture_new(0, 1);
	struct errbuf eb;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	assert_int_equal(sim_store_open(g->st, dir, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "another simulator"));
	fixture_free(g);
	fixture_free(f);
	tmpdir_free(dir);
}

/*
 * A directory an older simulator wrote (sim.json and objects/, made by
 * the simulator of commit 7a2d7ad) loads, moves into sim.db, and loads
 * from there afterwards.
 */
static void
test_old_format_migrates(void **state)
{
	bool found = false;
	char *dir = tmpdir_new("simstate"), cmd[700], path[600];
	struct fixture *f = fixture_new(0, 7);
	struct errbuf eb;
	json_error_t je;
	json_t *old, *d, *d2, *r;
	char *data = NULL, ct[64];
	size_t len = 0;
	struct stat sb;

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "cp -r tests/fixtures/sim-v1/. %s/ && chmod -R go-rwx %s", dir,
		 dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/sim.json", dir);
	old = json_load_file(path, 0, &je);
	assert_non_null(old);
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	d = dump(f);
	assert_true(json_equal(json_object_get(d, "ids"),
			       json_object_get(old, "ids")));
	assert_true(json_equal(json_object_get(d, "qualification_types"),
			       json_object_get(old, "qualification_types")));
	assert_true(json_equal(json_object_get(d, "grants"),
			       json_object_get(old, "grants")));
	assert_true(json_equal(json_object_get(d, "hit_types"),
			       json_object_get(old, "hit_types")));
	assert_true(json_equal(json_object_get(d, "hits"),
			       json_object_get(old, "hits")));
	assert_true(json_equal(json_object_get(d, "assignments"),
			       json_object_get(old, "assignments")));
	assert_true(json_equal(json_object_get(d, "objects"),
			       json_object_get(old, "objects")));
	assert_int_equal(json_array_size(json_object_get(d, "hits")), 2);
	/* Its objects' bytes came along. */
	assert_int_equal(
		sim_store_get_object(
			f->st,
			json_string_value(json_object_get(
				json_array_get(json_object_get(old, "objects"),
					       0),
				"path")),
			&data, &len, ct, sizeof(ct), &found),
		0);
	assert_true(found);
	assert_true(len > 1000);
	assert_memory_equal(data, "\xff\xd8", 2); /* a JPEG */
	free(data);
	/* Its tokens still refuse a second HIT. */
	r = json_array_get(json_object_get(old, "hits"), 0);
	{
		char req[1024];
		snprintf(req, sizeof(req), hit_req_fmt, 3, "x/y/1",
			 ",\"UniqueRequestToken\":\"",
			 json_string_value(json_object_get(r, "token")), "\"");
		expect_error(f, "CreateHIT", req, 400, "RequestError",
			     "AWS.MechanicalTurk.HitAlreadyExists",
			     json_string_value(json_object_get(r, "id")));
	}
	fixture_free(f);
	/* sim.json is set aside; the next start reads sim.db. */
	assert_int_not_equal(stat(path, &sb), 0);
	snprintf(path, sizeof(path), "%s/sim.json.migrated", dir);
	assert_int_equal(stat(path, &sb), 0);
	f = fixture_new(0, 7);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	d2 = dump(f);
	assert_same_state(d, d2);
	fixture_free(f);
	json_decref(d);
	json_decref(d2);
	json_decref(old);
	tmpdir_free(dir);
}

/*
 * exclusive_stages with a crowd of five: once all five hold stage 1's
 * qualification, stage 2's HIT is taken by workers who arrive for it,
 * and the crowd's size survives a restart.
 */
static void
test_crowd_grows_when_nobody_may(void **state)
{
	char *dir = tmpdir_new("simstate"), req[1024], body[512];
	struct fixture *f = fixture_new_pool(0, 4, 5);
	struct errbuf eb;
	json_t *q, *r, *l, *a, *d;
	char qid[64], pool[5][SIM_WORKER_ID_LEN + 1];
	size_t i;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	q = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"s1\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(qid, sizeof(qid), "%s",
		 json_string_value(json_object_get(
			 json_object_get(q, "QualificationType"),
			 "QualificationTypeId")));
	json_decref(q);
	for (i = 0; i < 5; i++) {
		sim_worker_id(4, i, pool[i]);
		snprintf(body, sizeof(body),
			 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":\"%s\","
			 "\"IntegerValue\":1}",
			 qid, pool[i]);
		json_decref(
			call_ok(f, "AssociateQualificationWithWorker", body));
	}
	snprintf(req, sizeof(req), hit_req_fmt, 3, "e/a/2",
		 ",\"QualificationRequirements\":[{\"QualificationTypeId\":\"",
		 qid, "\",\"Comparator\":\"DoesNotExist\"}]");
	r = call_ok(f, "CreateHIT", req);
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit_id_of(r));
	json_decref(r);
	l = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(l, "NumResults")),
			 3);
	json_array_foreach(json_object_get(l, "Assignments"), i, a) {
		const char *w = json_string_value(
			json_object_get(a, "WorkerId"));
		for (size_t k = 0; k < 5; k++)
			assert_string_not_equal(w, pool[k]);
	}
	json_decref(l);
	d = dump(f);
	assert_int_equal(json_integer_value(json_object_get(d, "crowd")), 10);
	json_decref(d);
	fixture_free(f);
	f = fixture_new_pool(0, 4, 5);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	d = dump(f);
	assert_int_equal(json_integer_value(json_object_get(d, "crowd")), 10);
	json_decref(d);
	fixture_free(f);
	tmpdir_free(dir);
}

/* ---- the store's indexes ------------------------------------------------ */

/* Every listed assignment of hit_id, paged max at a time, as one array. */
static json_t *
list_all_assignments(struct fixture *f, const char *hit_id, int max)
{
	json_t *all = json_array(), *r, *a;
	char tok[64] = "", req[256];
	size_t i;

	assert_non_null(all);
	do {
		snprintf(req, sizeof(req),
			 "{\"HITId\":\"%s\",\"MaxResults\":%d%s%s%s}", hit_id,
			 max, tok[0] != '\0' ? ",\"NextToken\":\"" : "", tok,
			 tok[0] != '\0' ? "\"" : "");
		r = call_ok(f, "ListAssignmentsForHIT", req);
		assert_true(
			json_array_size(json_object_get(r, "Assignments")) <=
			(size_t)max);
		json_array_foreach(json_object_get(r, "Assignments"), i, a)
			json_array_append(all, a);
		tok[0] = '\0';
		if (json_is_string(json_object_get(r, "NextToken")))
			snprintf(tok, sizeof(tok), "%s",
				 json_string_value(
					 json_object_get(r, "NextToken")));
		json_decref(r);
	} while (tok[0] != '\0');
	return all;
}

/*
 * What a scan of every assignment gives for hit_id: the ids, in the
 * store's order, of its listed assignments (from the dump: states 1-3).
 */
static void
expect_listed_as_scan(struct fixture *f, const char *hit_id, int max)
{
	json_t *d = dump(f), *all = list_all_assignments(f, hit_id, max), *a;
	size_t i, k = 0;

	json_array_foreach(json_object_get(d, "assignments"), i, a) {
		json_int_t s = json_integer_value(json_object_get(a, "state"));
		json_int_t submit = json_integer_value(
			json_object_get(a, "submit"));
		json_t *got;

		/* Submitted, approved or rejected; a planned one once done. */
		if (strcmp(json_string_value(json_object_get(a, "hit")),
			   hit_id) != 0 ||
		    s < 1 || s > 3 ||
		    (json_is_true(json_object_get(a, "simulated")) &&
		     submit > f->now_ms))
			continue;
		got = json_array_get(all, k++);
		assert_non_null(got);
		assert_string_equal(
			json_string_value(json_object_get(got, "AssignmentId")),
			json_string_value(json_object_get(a, "id")));
		assert_string_equal(
			json_string_value(json_object_get(got, "WorkerId")),
			json_string_value(json_object_get(a, "worker")));
		assert_string_equal(
			json_string_value(json_object_get(got, "HITId")),
			hit_id);
	}
	assert_int_equal(k, json_array_size(all));
	json_decref(all);
	json_decref(d);
}

/*
 * ListAssignmentsForHIT reads a HIT's own list of assignments: paged over
 * many, with other HITs' assignments made in between, it gives what a
 * scan of all of them gives, before and after a reload.
 */
static void
test_list_assignments_index(void **state)
{
	char *dir = tmpdir_new("simstate"), req[1024], hits[4][64], body[256];
	struct fixture *f = fixture_new(1000, 31), *g;
	struct errbuf eb;
	json_t *r;
	int i;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	for (i = 0; i < 4; i++) {
		char ann[32];

		snprintf(ann, sizeof(ann), "e/m%d/1", i);
		snprintf(req, sizeof(req), hit_req_fmt, i == 1 ? 120 : 40, ann,
			 "", "", "");
		r = call_ok(f, "CreateHIT", req);
		snprintf(hits[i], sizeof(hits[i]), "%s", hit_id_of(r));
		json_decref(r);
	}
	/* Half of the 120 have submitted, a few of them are approved. */
	f->now_ms += 60 * 1000;
	r = list_all_assignments(f, hits[1], 100);
	assert_int_equal(json_array_size(r), 60);
	for (i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}",
			 json_string_value(json_object_get(
				 json_array_get(r, (size_t)i * 7),
				 "AssignmentId")));
		json_decref(call_ok(f, "ApproveAssignment", body));
	}
	json_decref(r);
	for (i = 0; i < 4; i++) {
		expect_listed_as_scan(f, hits[i], 7);
		expect_listed_as_scan(f, hits[i], 100);
	}
	/* Only approved ones, paged. */
	snprintf(body, sizeof(body),
		 "{\"HITId\":\"%s\",\"AssignmentStatuses\":[\"Approved\"],"
		 "\"MaxResults\":2}",
		 hits[1]);
	r = call_ok(f, "ListAssignmentsForHIT", body);
	assert_int_equal(json_integer_value(json_object_get(r, "NumResults")),
			 2);
	assert_non_null(json_object_get(r, "NextToken"));
	json_decref(r);
	/* A store reopened from the directory has the same lists. */
	g = fixture_new(1000, 31);
	g->now_ms = f->now_ms;
	fixture_free(f);
	assert_int_equal(sim_store_open(g->st, dir, &eb), IF_OK);
	for (i = 0; i < 4; i++)
		expect_listed_as_scan(g, hits[i], 7);
	g->now_ms += 60 * 1000;
	r = list_all_assignments(g, hits[1], 100);
	assert_int_equal(json_array_size(r), 120);
	json_decref(r);
	expect_listed_as_scan(g, hits[1], 13);
	fixture_free(g);
	tmpdir_free(dir);
}

/*
 * A lab assignment abandoned by one participant and taken by another:
 * each worker's assignment is found by its id and listed with its HIT,
 * live and after a reload.  (The simulator gives the second participant
 * a new id; MTurk may hand out the same one.)
 */
static void
test_abandoned_assignment_taken_again(void **state)
{
	char *dir = tmpdir_new("simstate"), req[1024], hit[64], body[256];
	char a1[SIM_ID_LEN + 1], a2[SIM_ID_LEN + 1], why[128], worker[64];
	struct fixture *f = fixture_new(0, 32);
	struct errbuf eb;
	json_t *r;
	char *xml;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	/* A qualification no simulated worker holds keeps the crowd away. */
	r = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"lab\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(body, sizeof(body), "%s",
		 json_string_value(json_object_get(
			 json_object_get(r, "QualificationType"),
			 "QualificationTypeId")));
	json_decref(r);
	snprintf(req, sizeof(req), hit_req_fmt, 1, "lab/y/1",
		 ",\"QualificationRequirements\":[{\"QualificationTypeId\":\"",
		 body, "\",\"Comparator\":\"Exists\"}]");
	for (int i = 0; i < 2; i++) {
		char grant[512];

		snprintf(grant, sizeof(grant),
			 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
			 "\"AP0%d\"}",
			 body, i + 1);
		json_decref(
			call_ok(f, "AssociateQualificationWithWorker", grant));
	}
	r = call_ok(f, "CreateHIT", req);
	snprintf(hit, sizeof(hit), "%s", hit_id_of(r));
	json_decref(r);
	assert_int_equal(sim_store_lab_accept(f->st, hit, "AP01", a1, why,
					      sizeof(why)),
			 0);
	/* Full while AP01 works on it. */
	assert_int_equal(sim_store_lab_accept(f->st, hit, "AP02", a2, why,
					      sizeof(why)),
			 1);
	/* AP01's time (300 s) runs out; AP02 takes the assignment. */
	f->now_ms += 301 * 1000;
	assert_int_equal(sim_store_lab_accept(f->st, hit, "AP02", a2, why,
					      sizeof(why)),
			 0);
	assert_string_not_equal(a1, a2);
	assert_int_equal(sim_store_lab_accept(f->st, hit, "AP01", a1 + 0, why,
					      sizeof(why)),
			 1);
	xml = strdup("<QuestionFormAnswers/>");
	assert_non_null(xml);
	assert_int_equal(sim_store_lab_submit(f->st, a2, xml, "[]", worker,
					      sizeof(worker), why, sizeof(why)),
			 0);
	assert_string_equal(worker, "AP02");
	for (int round = 0; round < 2; round++) {
		char got[64];

		/* a1 was abandoned: never listed, not found. */
		snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}", a1);
		expect_error(f, "GetAssignment", body, 400, "RequestError",
			     "AWS.MechanicalTurk.AssignmentDoesNotExist", NULL);
		snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}", a2);
		r = call_ok(f, "GetAssignment", body);
		snprintf(got, sizeof(got), "%s",
			 json_string_value(json_object_get(
						   json_object_get(
							   r, "Assignment"),
						   "WorkerId")));
		assert_string_equal(got, "AP02");
		assert_string_equal(
			json_string_value(json_object_get(
				json_object_get(r, "HIT"), "HITStatus")),
			"Reviewable");
		json_decref(r);
		expect_listed_as_scan(f, hit, 10);
		r = list_all_assignments(f, hit, 10);
		assert_int_equal(json_array_size(r), 1);
		json_decref(r);
		/* Neither may take it again. */
		assert_int_equal(sim_store_lab_accept(f->st, hit, "AP02", got,
						      why, sizeof(why)),
				 1);
		assert_non_null(strstr(why, "already worked"));
		assert_int_equal(sim_store_lab_accept(f->st, hit, "AP01", got,
						      why, sizeof(why)),
				 1);
		if (round == 0) {
			struct fixture *g = fixture_new(0, 32);

			g->now_ms = f->now_ms;
			fixture_free(f);
			f = g;
			assert_int_equal(sim_store_open(f->st, dir, &eb),
					 IF_OK);
		}
	}
	/* Submitting the abandoned one is refused. */
	xml = strdup("<QuestionFormAnswers/>");
	assert_non_null(xml);
	assert_int_equal(sim_store_lab_submit(f->st, a1, xml, "[]", worker,
					      sizeof(worker), why, sizeof(why)),
			 1);
	snprintf(body, sizeof(body), "{\"AssignmentId\":\"%s\"}", a2);
	json_decref(call_ok(f, "ApproveAssignment", body));
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", hit);
	json_decref(call_ok(f, "DeleteHIT", body));
	fixture_free(f);
	tmpdir_free(dir);
}

static const struct sim_face idx_faces[] = {{10, 10, 30, 34}};
static const struct sim_image idx_images[] = {
	{"a", 96, 72, idx_faces, 1, NULL, 0, NULL, 0},
	{"b", 96, 72, idx_faces, 1, NULL, 0, NULL, 0},
};
static const int idx_windows[] = {41, 27, 13};
static const struct sim_experiment idx_exp = {
	"e", idx_windows, 3, idx_images, 2, SIM_AGG_UNION, NULL};

/* The assignments of a HIT as they are saved, without their ids. */
static json_t *
planned(struct fixture *f, const char *hit_id)
{
	json_t *d = dump(f), *out = json_array(), *a;
	size_t i;

	json_array_foreach(json_object_get(d, "assignments"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "hit")),
			   hit_id) != 0)
			continue;
		a = json_deep_copy(a);
		json_object_del(a, "id");
		json_object_del(a, "hit");
		json_array_append_new(out, a);
	}
	json_decref(d);
	return out;
}

static void
create_hit_with(struct fixture *f, const char *ann, const char *token,
		char out[64])
{
	char *req = hit_req(3, ann, token);
	json_t *r = call_ok(f, "CreateHIT", req);

	snprintf(out, 64, "%s", hit_id_of(r));
	json_decref(r);
	free(req);
}

/*
 * What the crowd plans depends on the HITs of the same annotation (the
 * attempt) and the boxes of the image's earlier stages.  A deleted HIT
 * still counts; a reload must give the same plan for the next HIT as the
 * live store, and tokens of reloaded HITs still refuse a second one.
 */
static void
test_crowd_plan_after_delete_and_reload(void **state)
{
	bool found = false;
	char *dir = tmpdir_new("simstate"), body[256], h[5][64];
	struct fixture *f = fixture_new(0, 33), *g;
	struct errbuf eb;
	json_t *pf, *pg;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	assert_int_equal(sim_store_add_experiment(f->st, &idx_exp, &eb), IF_OK);
	create_hit_with(f, "e/a/1", "t-a1", h[0]);
	create_hit_with(f, "e/b/1", "t-b1", h[1]);
	/* Approve h[0]'s assignments and delete it. */
	{
		json_t *all = list_all_assignments(f, h[0], 10), *a;
		size_t i;

		assert_int_equal(json_array_size(all), 3);
		json_array_foreach(all, i, a) {
			snprintf(body, sizeof(body),
				 "{\"AssignmentId\":\"%s\"}",
				 json_string_value(
					 json_object_get(a, "AssignmentId")));
			json_decref(call_ok(f, "ApproveAssignment", body));
		}
		json_decref(all);
	}
	snprintf(body, sizeof(body), "{\"HITId\":\"%s\"}", h[0]);
	json_decref(call_ok(f, "DeleteHIT", body));
	expect_error(f, "GetHIT", body, 400, "RequestError",
		     "AWS.MechanicalTurk.HITDoesNotExist", NULL);
	expect_error(f, "ListAssignmentsForHIT", body, 400, "RequestError",
		     "AWS.MechanicalTurk.HITDoesNotExist", NULL);
	/* The deleted HIT's token still names it. */
	{
		char *req = hit_req(3, "e/a/1", "t-a1");
		expect_error(f, "CreateHIT", req, 400, "RequestError",
			     "AWS.MechanicalTurk.HitAlreadyExists", h[0]);
		free(req);
	}
	create_hit_with(f, "e/a/1", NULL, h[2]); /* attempt 1 of e/a/1 */
	/* The same in a store reopened from a copy of the directory. */
	g = fixture_new(0, 33);
	g->now_ms = f->now_ms;
	{
		char cmd[700];
		char *copy = tmpdir_new("simstate");

		snprintf(cmd, sizeof(cmd), "cp %s/sim.db* %s/", dir, copy);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(sim_store_open(g->st, copy, &eb), IF_OK);
		assert_int_equal(sim_store_add_experiment(g->st, &idx_exp, &eb),
				 IF_OK);
		/* Stage 2 of each image sees the boxes of its stage 1. */
		create_hit_with(f, "e/a/2", "t-a2", h[3]);
		create_hit_with(g, "e/a/2", "t-a2", h[4]);
		assert_string_equal(h[3], h[4]);
		pf = planned(f, h[3]);
		pg = planned(g, h[4]);
		assert_int_equal(json_array_size(pf), 3);
		assert_true(json_equal(pf, pg));
		json_decref(pf);
		json_decref(pg);
		/* Attempt 2 of e/a/1: its deleted and its live HIT count. */
		create_hit_with(f, "e/a/1", NULL, h[3]);
		create_hit_with(g, "e/a/1", NULL, h[4]);
		pf = planned(f, h[3]);
		pg = planned(g, h[4]);
		assert_true(json_equal(pf, pg));
		json_decref(pf);
		json_decref(pg);
		pf = planned(f, h[2]);
		pg = planned(g, h[3]);
		/* attempt 1 is not attempt 2 */
		assert_false(json_equal(pf, pg));
		json_decref(pf);
		json_decref(pg);
		{
			char *req = hit_req(3, "e/b/1", "t-b1");
			expect_error(g, "CreateHIT", req, 400, "RequestError",
				     "AWS.MechanicalTurk.HitAlreadyExists",
				     h[1]);
			free(req);
		}
		fixture_free(g);
		tmpdir_free(copy);
	}
	assert_int_equal(
		sim_store_put_object(f->st, "b/o1", "1", 1, "text/plain"), 0);
	assert_int_equal(
		sim_store_put_object(f->st, "b/o1", "22", 2, "text/plain"), 0);
	{
		char *data = NULL, ct[32];
		size_t len = 0;

		assert_int_equal(sim_store_get_object(f->st, "b/o1", &data,
						      &len, ct, sizeof(ct),
						      &found),
				 0);
		assert_true(found);
		assert_int_equal(len, 2);
		free(data);
		pf = dump(f);
		assert_int_equal(
			json_array_size(json_object_get(pf, "objects")), 1);
		json_decref(pf);
	}
	fixture_free(f);
	tmpdir_free(dir);
}

/*
 * Grants are found by worker: a grant changed after a reload changes that
 * record (the saved state says so), and a requirement on its new value
 * decides who may take a HIT.
 */
static void
test_grant_index(void **state)
{
	char *dir = tmpdir_new("simstate"), body[512], qid[2][64], req[1024];
	struct fixture *f = fixture_new_pool(0, 34, 3);
	struct errbuf eb;
	json_t *r, *live, *back, *a;
	char pool[3][SIM_WORKER_ID_LEN + 1];
	size_t i;

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	for (int q = 0; q < 2; q++) {
		snprintf(body, sizeof(body),
			 "{\"Name\":\"g%d\",\"Description\":\"d\","
			 "\"QualificationTypeStatus\":\"Active\"}",
			 q);
		r = call_ok(f, "CreateQualificationType", body);
		snprintf(qid[q], sizeof(qid[q]), "%s",
			 json_string_value(json_object_get(
				 json_object_get(r, "QualificationType"),
				 "QualificationTypeId")));
		json_decref(r);
	}
	for (i = 0; i < 3; i++) {
		sim_worker_id(34, i, pool[i]);
		for (int q = 0; q < 2; q++) {
			snprintf(body, sizeof(body),
				 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
				 "\"%s\",\"IntegerValue\":%d}",
				 qid[q], pool[i], q + 1);
			json_decref(call_ok(f,
					    "AssociateQualificationWithWorker",
					    body));
		}
	}
	fixture_free(f);
	f = fixture_new_pool(0, 34, 3);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	/* Worker 1's first grant becomes 9. */
	snprintf(body, sizeof(body),
		 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":\"%s\","
		 "\"IntegerValue\":9}",
		 qid[0], pool[1]);
	json_decref(call_ok(f, "AssociateQualificationWithWorker", body));
	live = dump(f);
	assert_int_equal(json_array_size(json_object_get(live, "grants")), 6);
	fixture_free(f);
	f = fixture_new_pool(0, 34, 3);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	back = dump(f);
	assert_same_state(live, back);
	json_decref(live);
	json_decref(back);
	/* Only worker 1 has 9 (the crowd of three does not grow: max 1). */
	snprintf(req, sizeof(req), hit_req_fmt, 1, "e/g/1",
		 ",\"QualificationRequirements\":[{\"QualificationTypeId\":\"",
		 qid[0],
		 "\",\"Comparator\":\"EqualTo\",\"IntegerValues\":[9]}]");
	r = call_ok(f, "CreateHIT", req);
	a = first_assignment(f, hit_id_of(r));
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "WorkerId")),
			    pool[1]);
	json_decref(a);
	json_decref(r);
	fixture_free(f);
	tmpdir_free(dir);
}

/* sim.db's PRAGMA data_version: it moves when another connection commits. */
static int64_t
data_version(sqlite3 *db)
{
	sqlite3_stmt *q = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &q,
					    NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	v = sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	return v;
}

/*
 * The operations sim_ops.c's table marks read-only leave sim.db as it
 * was, also when the clock has approved an assignment in memory (an
 * automatic approval is derived again after a restart, never saved); a
 * writer changes it, which shows the check can fail.
 */
static void
test_read_only_ops_save_nothing(void **state)
{
	char *dir = tmpdir_new("simstate"), *req = hit_req(2, "e/i/1", NULL);
	struct fixture *f = fixture_new(0, 29);
	char file[600], hit[64], asg[64], by_hit[128], by_asg[128], exp[128];
	struct errbuf eb;
	sqlite3 *db = NULL;
	json_t *r, *a;
	int64_t before;
	const struct {
		const char *op;
		const char *body;
	} reads[] = {
		{"GetHIT", by_hit},
		{"ListHITs", "{}"},
		{"ListAssignmentsForHIT", by_hit},
		{"GetAssignment", by_asg},
		{"ListReviewableHITs", "{}"},
		{"ListQualificationTypes", "{\"MustBeRequestable\":false}"},
		{"GetAccountBalance", "{}"},
	};

	(void)state;
	err_init(&eb);
	assert_int_equal(sim_store_open(f->st, dir, &eb), IF_OK);
	r = call_ok(f, "CreateHIT", req);
	snprintf(hit, sizeof(hit), "%s", hit_id_of(r));
	json_decref(r);
	a = first_assignment(f, hit);
	snprintf(asg, sizeof(asg), "%s",
		 json_string_value(json_object_get(a, "AssignmentId")));
	json_decref(a);
	snprintf(by_hit, sizeof(by_hit), "{\"HITId\":\"%s\"}", hit);
	snprintf(by_asg, sizeof(by_asg), "{\"AssignmentId\":\"%s\"}", asg);
	snprintf(exp, sizeof(exp), "{\"HITId\":\"%s\",\"ExpireAt\":0}", hit);
	/* Past the default AutoApprovalDelayInSeconds (30 days). */
	f->now_ms += 31LL * 24 * 3600 * 1000;
	snprintf(file, sizeof(file), "%s/sim.db", dir);
	assert_int_equal(sqlite3_open_v2(file, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	before = data_version(db);
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		json_decref(call_ok(f, reads[i].op, reads[i].body));
		if (data_version(db) != before)
			fail_msg("%s changed sim.db", reads[i].op);
	}
	r = call_ok(f, "GetAssignment", by_asg);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(r, "Assignment"),
				    "AssignmentStatus")),
			    "Approved");
	json_decref(r);
	assert_true(data_version(db) == before);
	json_decref(call_ok(f, "UpdateExpirationForHIT", exp));
	assert_true(data_version(db) != before);
	sqlite3_close(db);
	fixture_free(f);
	tmpdir_free(dir);
	free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_balance_and_unknown_op),
		cmocka_unit_test(test_create_hit_shape_and_token),
		cmocka_unit_test(test_hit_type_idempotent),
		cmocka_unit_test(test_unknown_ids),
		cmocka_unit_test(test_approve_twice_and_reject),
		cmocka_unit_test(test_expire_at_creation_keeps_answers),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_qualifications_exclude_workers),
		cmocka_unit_test(test_delay_expire_delete),
		cmocka_unit_test(test_review_status),
		cmocka_unit_test(test_reproducible),
		cmocka_unit_test(test_ids_in_creation_order),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_state_dir_survives_restart),
		cmocka_unit_test(test_state_dir_matches_memory),
		cmocka_unit_test(test_state_dir_in_use),
		cmocka_unit_test(test_old_format_migrates),
		cmocka_unit_test(test_crowd_grows_when_nobody_may),
		cmocka_unit_test(test_list_assignments_index),
		cmocka_unit_test(test_abandoned_assignment_taken_again),
		cmocka_unit_test(test_crowd_plan_after_delete_and_reload),
		cmocka_unit_test(test_grant_index),
		cmocka_unit_test(test_read_only_ops_save_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
