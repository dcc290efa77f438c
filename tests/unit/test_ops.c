/*
 * mturk/ops.c: every typed operation's exact request (target and JSON body,
 * compared as JSON) and the parsing of its answer, paging, and the
 * idempotency rules: HitAlreadyExists -> the recovered HIT, a second approve
 * -> GetAssignment, a repeated expiry update, an existing qualification
 * type.  The service is tests/support/fake_http on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "tests/support/fake_http.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767323045

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
	int64_t now;
	int nsleeps;
	struct mturk_client *c;
};

static int64_t
f_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void
f_sleep(void *ctx, int64_t ms)
{
	struct fx *x = ctx;

	x->nsleeps++;
	x->now += ms / 1000;
}

static double
f_random(void *ctx)
{
	(void)ctx;
	return 0.5;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct mturk_client_config cfg;
	struct errbuf eb = {0};

	assert_non_null(x);
	x->srv = fake_http_start();
	assert_non_null(x->srv);
	x->creds = creds_new("AKIDEXAMPLE", "secret", NULL);
	x->now = T0;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = fake_http_url(x->srv);
	cfg.creds = x->creds;
	cfg.clock.now = f_now;
	cfg.clock.sleep_ms = f_sleep;
	cfg.clock.random = f_random;
	cfg.clock.ctx = x;
	if (mturk_client_new(&cfg, &x->c, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
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

/* Request i was operation op with a body equal (as JSON) to want. */
static void
expect_request(struct fx *x, size_t i, const char *op, const char *want)
{
	const struct fake_request *r = fake_http_request(x->srv, i);
	char target[128];
	json_error_t jerr;
	json_t *got, *exp;

	assert_non_null(r);
	snprintf(target, sizeof(target), "MTurkRequesterServiceV20170117.%s",
		 op);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->path, "/");
	assert_string_equal(fake_request_header(r, "X-Amz-Target"), target);
	assert_non_null(fake_request_header(r, "Authorization"));
	got = json_loads(r->body, JSON_REJECT_DUPLICATES, &jerr);
	exp = json_loads(want, 0, &jerr);
	assert_non_null(exp);
	if (got == NULL || !json_equal(got, exp))
		fail_msg("%s body\n got: %s\nwant: %s", op, r->body, want);
	json_decref(got);
	json_decref(exp);
}

static void
test_create_qualification_type_new(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char id[MTURK_ID_MAX];

	fake_http_push(x->srv, 200,
		       "{\"QualificationType\":{\"QualificationTypeId\":"
		       "\"3QTYPEID0000000000001\",\"Name\":\"exp1-stage-1\","
		       "\"CreationTime\":1767323045.123}}",
		       NULL);
	assert_int_equal(mturk_create_qualification_type(x->c, "exp1-stage-1",
							 "worked in stage 1",
							 id, &eb),
			 IF_OK);
	assert_string_equal(id, "3QTYPEID0000000000001");
	expect_request(x, 0, "CreateQualificationType",
		       "{\"Name\":\"exp1-stage-1\",\"Description\":\"worked in "
		       "stage 1\",\"QualificationTypeStatus\":\"Active\"}");
}

static void
test_create_qualification_type_reused(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char id[MTURK_ID_MAX];

	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"You have "
		       "already created a QualificationType with this name. A "
		       "QualificationType's name must be unique among all of "
		       "the QualificationTypes created by the same user. "
		       "(1492545000000)\",\"TurkErrorCode\":\"AWS."
		       "MechanicalTurk.QualificationTypeAlreadyExists\"}",
		       NULL);
	/* Query matches substrings: page 1 has only a longer name. */
	fake_http_push(x->srv, 200,
		       "{\"NumResults\":1,\"NextToken\":\"page2\","
		       "\"QualificationTypes\":[{\"QualificationTypeId\":"
		       "\"3WRONG00000000000001\",\"Name\":\"exp1-stage-10\"}]}",
		       NULL);
	fake_http_push(x->srv, 200,
		       "{\"NumResults\":1,\"QualificationTypes\":[{"
		       "\"QualificationTypeId\":\"3RIGHT00000000000001\","
		       "\"Name\":\"exp1-stage-1\"}]}",
		       NULL);
	assert_int_equal(mturk_create_qualification_type(x->c, "exp1-stage-1",
							 "d", id, &eb),
			 IF_OK);
	assert_string_equal(id, "3RIGHT00000000000001");
	assert_int_equal(fake_http_count(x->srv), 3);
	expect_request(x, 1, "ListQualificationTypes",
		       "{\"MustBeRequestable\":false,\"MustBeOwnedByCaller\":"
		       "true,\"Query\":\"exp1-stage-1\",\"MaxResults\":100}");
	expect_request(x, 2, "ListQualificationTypes",
		       "{\"MustBeRequestable\":false,\"MustBeOwnedByCaller\":"
		       "true,\"Query\":\"exp1-stage-1\",\"MaxResults\":100,"
		       "\"NextToken\":\"page2\"}");
}

static void
test_create_qualification_type_other_error(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char id[MTURK_ID_MAX];

	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"Name is "
		       "too long\"}",
		       NULL);
	assert_int_equal(mturk_create_qualification_type(x->c, "n", "d", id,
							 &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 1);
	assert_string_equal(eb.msg, "CreateQualificationType: RequestError: "
				    "Name is too long");
}

static void
test_associate_qualification(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};

	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_associate_qualification(
				 x->c, "3QTYPEID0000000000001", "AWORKER1", 1,
				 &eb),
			 IF_OK);
	expect_request(x, 0, "AssociateQualificationWithWorker",
		       "{\"QualificationTypeId\":\"3QTYPEID0000000000001\","
		       "\"WorkerId\":\"AWORKER1\",\"IntegerValue\":1,"
		       "\"SendNotification\":false}");
}

static void
test_create_hit_type(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char id[MTURK_ID_MAX];
	const int64_t pct[] = {95};
	const char *const countries[] = {"US", "DE"};
	struct mturk_qual_req q[3] = {
		{"3STAGE2QUAL000000001", "DoesNotExist", NULL, 0, NULL, 0,
		 "DiscoverPreviewAndAccept"},
		{"000000000000000000L0", "GreaterThanOrEqualTo", pct, 1, NULL,
		 0, NULL},
		{"00000000000000000071", "In", NULL, 0, countries, 2, NULL},
	};
	struct mturk_hit_type t = {
		.title = "Box anything that could identify a person",
		.description = "Draw boxes",
		.keywords = "image,privacy",
		.reward_cents = 15,
		.assignment_duration = 300,
		.auto_approval_delay = 259200,
		.quals = q,
		.n_quals = 3,
	};

	fake_http_push(x->srv, 200, "{\"HITTypeId\":\"3HITTYPE000000000001\"}",
		       NULL);
	assert_int_equal(mturk_create_hit_type(x->c, &t, id, &eb), IF_OK);
	assert_string_equal(id, "3HITTYPE000000000001");
	expect_request(
		x, 0, "CreateHITType",
		"{\"Title\":\"Box anything that could identify a person\","
		"\"Description\":\"Draw boxes\",\"Keywords\":\"image,privacy\","
		"\"Reward\":\"0.15\",\"AssignmentDurationInSeconds\":300,"
		"\"AutoApprovalDelayInSeconds\":259200,"
		"\"QualificationRequirements\":["
		"{\"QualificationTypeId\":\"3STAGE2QUAL000000001\","
		"\"Comparator\":\"DoesNotExist\",\"ActionsGuarded\":"
		"\"DiscoverPreviewAndAccept\"},"
		"{\"QualificationTypeId\":\"000000000000000000L0\","
		"\"Comparator\":\"GreaterThanOrEqualTo\",\"IntegerValues\":"
		"[95]},{\"QualificationTypeId\":\"00000000000000000071\","
		"\"Comparator\":\"In\",\"LocaleValues\":[{\"Country\":\"US\"},"
		"{\"Country\":\"DE\"}]}]}");
	/* Without optional members they are left out, not sent empty. */
	t.keywords = NULL;
	t.auto_approval_delay = -1;
	t.n_quals = 0;
	t.reward_cents = 1205;
	fake_http_push(x->srv, 200, "{\"HITTypeId\":\"3HITTYPE000000000002\"}",
		       NULL);
	assert_int_equal(mturk_create_hit_type(x->c, &t, id, &eb), IF_OK);
	expect_request(x, 1, "CreateHITType",
		       "{\"Title\":\"Box anything that could identify a "
		       "person\",\"Description\":\"Draw boxes\",\"Reward\":"
		       "\"12.05\",\"AssignmentDurationInSeconds\":300}");
}

static const char hit_json[] =
	"{\"HITId\":\"3HITID00000000000000000001\",\"HITTypeId\":"
	"\"3HITTYPE000000000001\",\"HITGroupId\":\"3GROUP00000000000001\","
	"\"CreationTime\":1767323045.5,\"Title\":\"Box\",\"HITStatus\":"
	"\"Assignable\",\"MaxAssignments\":3,\"Reward\":\"0.15\","
	"\"AutoApprovalDelayInSeconds\":259200,\"Expiration\":1767409445,"
	"\"AssignmentDurationInSeconds\":300,\"RequesterAnnotation\":"
	"\"exp1/bikes/1\",\"HITReviewStatus\":\"NotReviewed\","
	"\"NumberOfAssignmentsPending\":1,\"NumberOfAssignmentsAvailable\":1,"
	"\"NumberOfAssignmentsCompleted\":1,\"Question\":\"<x/>\","
	"\"Keywords\":\"a\",\"Description\":\"d\",\"QualificationRequirements\""
	":[]}";

static void
assert_hit_parsed(const struct mturk_hit *h)
{
	assert_string_equal(h->hit_id, "3HITID00000000000000000001");
	assert_string_equal(h->hit_type_id, "3HITTYPE000000000001");
	assert_string_equal(h->hit_group_id, "3GROUP00000000000001");
	assert_string_equal(h->hit_status, "Assignable");
	assert_string_equal(h->review_status, "NotReviewed");
	assert_string_equal(h->reward, "0.15");
	assert_string_equal(h->requester_annotation, "exp1/bikes/1");
	assert_true(h->creation_time == 1767323045.5);
	assert_true(h->expiration == 1767409445.0);
	assert_int_equal(h->max_assignments, 3);
	assert_int_equal(h->assignment_duration, 300);
	assert_int_equal(h->auto_approval_delay, 259200);
	assert_int_equal(h->assignments_pending, 1);
	assert_int_equal(h->assignments_available, 1);
	assert_int_equal(h->assignments_completed, 1);
}

static void
test_create_hit(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_hit h;
	bool recovered = true;
	char reply[2048];

	snprintf(reply, sizeof(reply), "{\"HIT\":%s}", hit_json);
	fake_http_push(x->srv, 200, reply, NULL);
	assert_int_equal(mturk_create_hit(x->c, "3HITTYPE000000000001",
					  "<HTMLQuestion/>", 86400, 3,
					  "exp1/bikes/1", "exp1-bikes-1-0", &h,
					  &recovered, &eb),
			 IF_OK);
	assert_false(recovered);
	assert_hit_parsed(&h);
	expect_request(x, 0, "CreateHITWithHITType",
		       "{\"HITTypeId\":\"3HITTYPE000000000001\",\"Question\":"
		       "\"<HTMLQuestion/>\",\"LifetimeInSeconds\":86400,"
		       "\"MaxAssignments\":3,\"RequesterAnnotation\":"
		       "\"exp1/bikes/1\",\"UniqueRequestToken\":"
		       "\"exp1-bikes-1-0\"}");
}

static void
test_create_hit_token_recovery(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_hit h;
	bool recovered = false;
	char reply[2048];

	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"There is "
		       "already a HIT which exists with the same Unique "
		       "Request Token. HIT ID: 3HITID00000000000000000001 "
		       "(1624047673969)\",\"TurkErrorCode\":\"AWS."
		       "MechanicalTurk.HitAlreadyExists\"}",
		       NULL);
	snprintf(reply, sizeof(reply), "{\"HIT\":%s}", hit_json);
	fake_http_push(x->srv, 200, reply, NULL);
	assert_int_equal(mturk_create_hit(x->c, "3HITTYPE000000000001",
					  "<q/>", 86400, 3, "exp1/bikes/1",
					  "exp1-bikes-1-0", &h, &recovered,
					  &eb),
			 IF_OK);
	assert_true(recovered);
	assert_hit_parsed(&h);
	assert_int_equal(fake_http_count(x->srv), 2);
	expect_request(x, 1, "GetHIT",
		       "{\"HITId\":\"3HITID00000000000000000001\"}");
	/* The legacy spelling, and GetHIT failing: the id is enough. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"HIT "
		       "3HITID00000000000000000002 exists\",\"TurkErrorCode\":"
		       "\"AWS.MechanicalTurk.HITAlreadyExists\"}",
		       NULL);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":"
		       "\"no\"}", NULL);
	assert_int_equal(mturk_create_hit(x->c, "T", "<q/>", 60, 1, NULL,
					  "tok", &h, &recovered, &eb),
			 IF_OK);
	assert_true(recovered);
	assert_string_equal(h.hit_id, "3HITID00000000000000000002");
	/* Without a token the same error is an error. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"HIT "
		       "3HITID00000000000000000002 exists\",\"TurkErrorCode\":"
		       "\"AWS.MechanicalTurk.HitAlreadyExists\"}",
		       NULL);
	assert_int_equal(mturk_create_hit(x->c, "T", "<q/>", 60, 1, NULL, NULL,
					  &h, &recovered, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "HitAlreadyExists"));
}

static void
test_get_hit_and_bad_answers(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_hit h;
	char reply[2048];

	snprintf(reply, sizeof(reply), "{\"HIT\":%s}", hit_json);
	fake_http_push(x->srv, 200, reply, NULL);
	assert_int_equal(mturk_get_hit(x->c, "3HITID00000000000000000001", &h,
				       &eb),
			 IF_OK);
	assert_hit_parsed(&h);
	expect_request(x, 0, "GetHIT",
		       "{\"HITId\":\"3HITID00000000000000000001\"}");
	fake_http_push(x->srv, 200, "not json", NULL);
	assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "GetHIT: the answer is not JSON: 1:"));
	err_init(&eb);
	fake_http_push(x->srv, 200, "{\"HIT\":{\"HITId\":1}}", NULL);
	assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb), IF_ERUNTIME);
	assert_string_equal(eb.msg,
			    "GetHIT: answer field HITId is not a string");
	err_init(&eb);
	fake_http_push(x->srv, 200,
		       "{\"HIT\":{\"HITId\":\"A\"},\"HIT\":{\"HITId\":\"B\"}}",
		       NULL);
	assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb), IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "duplicate"));
	err_init(&eb);
	fake_http_push(x->srv, 200,
		       "{\"HIT\":{\"HITId\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}",
		       NULL);
	assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb), IF_ERUNTIME);
	assert_string_equal(eb.msg, "GetHIT: answer field HITId is too long");
	err_init(&eb);
	fake_http_push(x->srv, 200, "{\"HIT\":{\"CreationTime\":\"x\"}}", NULL);
	assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb), IF_ERUNTIME);
	assert_string_equal(
		eb.msg,
		"GetHIT: answer field CreationTime is not an epoch number");
}

static void
test_list_hits_and_find_by_annotation(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_hit h;
	bool found = false;

	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"n1\",\"NumResults\":2,\"HITs\":["
		       "{\"HITId\":\"3A0000000000000000001\","
		       "\"RequesterAnnotation\":\"exp1/bikes/10\"},{\"HITId\":"
		       "\"3A0000000000000000002\"}]}",
		       NULL);
	fake_http_push(x->srv, 200,
		       "{\"NumResults\":1,\"HITs\":[{\"HITId\":"
		       "\"3A0000000000000000003\",\"RequesterAnnotation\":"
		       "\"exp1/bikes/1\",\"CreationTime\":1.5}]}",
		       NULL);
	assert_int_equal(mturk_find_hit_by_annotation(x->c, "exp1/bikes/1", &h,
						      &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_string_equal(h.hit_id, "3A0000000000000000003");
	expect_request(x, 0, "ListHITs", "{\"MaxResults\":100}");
	expect_request(x, 1, "ListHITs",
		       "{\"MaxResults\":100,\"NextToken\":\"n1\"}");
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 200, "{\"NumResults\":0,\"HITs\":[]}", NULL);
	assert_int_equal(mturk_find_hit_by_annotation(x->c, "exp1/x/1", &h,
						      &found, &eb),
			 IF_OK);
	assert_false(found);
	/* A token served twice would loop for ever. */
	fake_http_clear(x->srv);
	fake_http_set_default(x->srv, 200,
			      "{\"NextToken\":\"same\",\"HITs\":[]}");
	assert_int_equal(mturk_find_hit_by_annotation(x->c, "exp1/x/1", &h,
						      &found, &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 2);
}

static void
test_list_assignments_three_pages(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_assignment *a = NULL;
	size_t n = 0;

	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t1\",\"NumResults\":2,\"Assignments\":"
		       "[{\"AssignmentId\":\"3AS1\",\"WorkerId\":\"AW1\","
		       "\"HITId\":\"3H\",\"AssignmentStatus\":\"Submitted\","
		       "\"AcceptTime\":1767323000.25,\"SubmitTime\":1767323100,"
		       "\"AutoApprovalTime\":1767582300,\"Answer\":"
		       "\"<QuestionFormAnswers/>\"},"
		       "{\"AssignmentId\":\"3AS2\",\"WorkerId\":\"AW2\","
		       "\"HITId\":\"3H\",\"AssignmentStatus\":\"Approved\","
		       "\"ApprovalTime\":1767323200,\"RequesterFeedback\":"
		       "\"thanks\"}]}",
		       NULL);
	/* An empty page with a token does not end the list. */
	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t2\",\"NumResults\":0,\"Assignments\":"
		       "[]}",
		       NULL);
	fake_http_push(x->srv, 200,
		       "{\"NumResults\":1,\"Assignments\":[{\"AssignmentId\":"
		       "\"3AS3\",\"WorkerId\":\"AW3\",\"HITId\":\"3H\","
		       "\"AssignmentStatus\":\"Rejected\",\"RejectionTime\":"
		       "1767323300,\"Deadline\":1767323400}]}",
		       NULL);
	assert_int_equal(mturk_list_assignments(x->c, "3H",
						MTURK_ASSIGNMENT_SUBMITTED |
						MTURK_ASSIGNMENT_APPROVED,
						&a, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	assert_string_equal(a[0].assignment_id, "3AS1");
	assert_string_equal(a[0].worker_id, "AW1");
	assert_string_equal(a[0].hit_id, "3H");
	assert_string_equal(a[0].status, "Submitted");
	assert_true(a[0].accept_time == 1767323000.25);
	assert_true(a[0].submit_time == 1767323100.0);
	assert_true(a[0].auto_approval_time == 1767582300.0);
	assert_string_equal(a[0].answer, "<QuestionFormAnswers/>");
	assert_string_equal(a[0].requester_feedback, "");
	assert_string_equal(a[1].status, "Approved");
	assert_true(a[1].approval_time == 1767323200.0);
	assert_string_equal(a[1].answer, "");
	assert_string_equal(a[1].requester_feedback, "thanks");
	assert_string_equal(a[2].assignment_id, "3AS3");
	assert_true(a[2].rejection_time == 1767323300.0);
	assert_true(a[2].deadline == 1767323400.0);
	assert_int_equal(fake_http_count(x->srv), 3);
	expect_request(x, 0, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":100,"
		       "\"AssignmentStatuses\":[\"Submitted\",\"Approved\"]}");
	expect_request(x, 1, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":100,"
		       "\"AssignmentStatuses\":[\"Submitted\",\"Approved\"],"
		       "\"NextToken\":\"t1\"}");
	expect_request(x, 2, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":100,"
		       "\"AssignmentStatuses\":[\"Submitted\",\"Approved\"],"
		       "\"NextToken\":\"t2\"}");
	mturk_assignments_free(a, n);
	/* A failure on a later page frees what was gathered (ASan checks). */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t1\",\"Assignments\":[{"
		       "\"AssignmentId\":\"3AS1\",\"Answer\":\"<x/>\"}]}",
		       NULL);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"bad "
		       "token\"}",
		       NULL);
	assert_int_equal(mturk_list_assignments(x->c, "3H", 0, &a, &n, &eb),
			 IF_ERUNTIME);
	assert_null(a);
	assert_int_equal(n, 0);
	expect_request(x, 0, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":100}");
}

/*
 * A page larger than the response cap is asked for again, smaller, down to
 * one assignment; the rest of the list keeps the smaller size.  One
 * assignment alone over the cap is read once more without its long strings
 * and marked answer_too_large, and the list goes on after it; the answer
 * over the cap is a typed error (issue 15).
 */
static void
test_list_assignments_pages_smaller_over_cap(void **state)
{
	struct fx *x = *state;
	struct mturk_client_config cfg;
	struct mturk_client *small = NULL;
	struct errbuf eb = {0};
	struct mturk_assignment *a = NULL;
	size_t n = 0;
	char big[4096], big_token[4096], want[128];
	static const int sizes[] = {100, 50, 25, 12, 6, 3, 1};

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = fake_http_url(x->srv);
	cfg.creds = x->creds;
	cfg.clock.now = f_now;
	cfg.clock.sleep_ms = f_sleep;
	cfg.clock.random = f_random;
	cfg.clock.ctx = x;
	cfg.http.max_body = 2048;
	if (mturk_client_new(&cfg, &small, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	snprintf(big, sizeof(big),
		 "{\"Assignments\":[{\"AssignmentId\":\"3AS1\","
		 "\"Answer\":\"%03000d\"}]}",
		 0);
	fake_http_push(x->srv, 200, big, NULL);
	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t1\",\"Assignments\":[{"
		       "\"AssignmentId\":\"3AS1\",\"Answer\":\"<x/>\"}]}",
		       NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignments\":[{\"AssignmentId\":\"3AS2\","
		       "\"Answer\":\"<y/>\"}]}",
		       NULL);
	assert_int_equal(mturk_list_assignments(small, "3H", 0, &a, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].assignment_id, "3AS1");
	assert_string_equal(a[1].assignment_id, "3AS2");
	mturk_assignments_free(a, n);
	assert_int_equal(fake_http_count(x->srv), 3);
	expect_request(x, 0, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":100}");
	expect_request(x, 1, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":50}");
	expect_request(x, 2, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":50,"
		       "\"NextToken\":\"t1\"}");
	/*
	 * One answer alone over the cap (escapes in it): pages of 100 down
	 * to 1, that page again without its long strings, then the rest.
	 */
	snprintf(big_token, sizeof(big_token),
		 "{\"Assignments\":[{\"AssignmentId\":\"3AS1\","
		 "\"WorkerId\":\"AW1\",\"Answer\":\"\\\"\\\\%03000d\\\"\"}],"
		 "\"NextToken\":\"t9\"}",
		 0);
	fake_http_clear(x->srv);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		fake_http_push(x->srv, 200, big_token, NULL);
	fake_http_push(x->srv, 200, big_token, NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignments\":[{\"AssignmentId\":\"3AS2\","
		       "\"Answer\":\"<y/>\"}]}",
		       NULL);
	err_init(&eb);
	if (mturk_list_assignments(small, "3H", 0, &a, &n, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	assert_int_equal(n, 2);
	assert_string_equal(a[0].assignment_id, "3AS1");
	assert_string_equal(a[0].worker_id, "AW1");
	assert_true(a[0].answer_too_large);
	assert_string_equal(a[0].answer, "");
	assert_string_equal(a[1].assignment_id, "3AS2");
	assert_false(a[1].answer_too_large);
	assert_string_equal(a[1].answer, "<y/>");
	mturk_assignments_free(a, n);
	assert_int_equal(fake_http_count(x->srv), 9);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(want, sizeof(want),
			 "{\"HITId\":\"3H\",\"MaxResults\":%d}", sizes[i]);
		expect_request(x, i, "ListAssignmentsForHIT", want);
	}
	expect_request(x, 7, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":1}");
	expect_request(x, 8, "ListAssignmentsForHIT",
		       "{\"HITId\":\"3H\",\"MaxResults\":1,"
		       "\"NextToken\":\"t9\"}");
	/* Still over the cap without its long strings: a typed error. */
	fake_http_clear(x->srv);
	for (size_t i = 0; i < 8; i++)
		fake_http_push(x->srv, 200, big, NULL);
	assert_int_equal(mturk_list_assignments(small, "3H", 0, &a, &n, &eb),
			 IF_OK);
	mturk_assignments_free(a, n);
	fake_http_clear(x->srv);
	snprintf(big, sizeof(big), "{\"Assignments\":[%0*d]}", 3000, 0);
	for (size_t i = 0; i < 8; i++)
		fake_http_push(x->srv, 200, big, NULL);
	err_init(&eb);
	assert_int_equal(mturk_list_assignments(small, "3H", 0, &a, &n, &eb),
			 IF_ERUNTIME);
	assert_null(a);
	assert_true(mturk_error_is_response_over_cap(
		mturk_client_last_error(small)));
	assert_int_equal(mturk_client_fault(small), MTURK_FAULT_REQUEST);
	assert_int_equal(fake_http_count(x->srv), 8);
	/* Other failures are not over the cap. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"response "
		       "larger than the limit\"}",
		       NULL);
	assert_int_equal(mturk_list_assignments(small, "3H", 0, &a, &n, &eb),
			 IF_ERUNTIME);
	assert_false(mturk_error_is_response_over_cap(
		mturk_client_last_error(small)));
	assert_int_equal(fake_http_count(x->srv), 1);
	mturk_client_free(small);
}

static void
test_get_assignment(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_assignment a;
	struct mturk_hit h;
	char reply[2048];

	snprintf(reply, sizeof(reply),
		 "{\"Assignment\":{\"AssignmentId\":\"3AS1\",\"WorkerId\":"
		 "\"AW1\",\"HITId\":\"3HITID00000000000000000001\","
		 "\"AssignmentStatus\":\"Submitted\",\"Answer\":\"<a/>\"},"
		 "\"HIT\":%s}",
		 hit_json);
	fake_http_push(x->srv, 200, reply, NULL);
	assert_int_equal(mturk_get_assignment(x->c, "3AS1", &a, &h, &eb),
			 IF_OK);
	assert_string_equal(a.assignment_id, "3AS1");
	assert_string_equal(a.answer, "<a/>");
	assert_hit_parsed(&h);
	expect_request(x, 0, "GetAssignment", "{\"AssignmentId\":\"3AS1\"}");
	mturk_assignment_cleanup(&a);
	mturk_assignment_cleanup(NULL);
	mturk_assignments_free(NULL, 3);
}

static const char invalid_state[] =
	"{\"__type\":\"RequestError\",\"Message\":\"This operation can be "
	"called with a status of: Submitted (1624047673969)\","
	"\"TurkErrorCode\":\"AWS.MechanicalTurk.InvalidAssignmentState\"}";

static void
test_approve_and_double_approve(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char seen[16] = "x";

	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", "thanks", seen,
						  sizeof(seen), &eb),
			 IF_OK);
	expect_request(x, 0, "ApproveAssignment",
		       "{\"AssignmentId\":\"3AS1\",\"RequesterFeedback\":"
		       "\"thanks\"}");
	assert_string_equal(seen, ""); /* no read-back */
	/* Second approve: the state error, then GetAssignment says Approved. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, invalid_state, NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignment\":{\"AssignmentId\":\"3AS1\","
		       "\"AssignmentStatus\":\"Approved\"}}",
		       NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", NULL, NULL, 0,
						  &eb),
			 IF_OK);
	assert_int_equal(fake_http_count(x->srv), 2);
	expect_request(x, 0, "ApproveAssignment",
		       "{\"AssignmentId\":\"3AS1\"}");
	expect_request(x, 1, "GetAssignment", "{\"AssignmentId\":\"3AS1\"}");
	/* Rejected meanwhile: the approve failed for real. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, invalid_state, NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignment\":{\"AssignmentId\":\"3AS1\","
		       "\"AssignmentStatus\":\"Rejected\"}}",
		       NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", NULL, seen,
						  sizeof(seen), &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "InvalidAssignmentState"));
	assert_non_null(strstr(eb.msg, "(the assignment is Rejected)"));
	assert_string_equal(seen, "Rejected");
	/* Rejected by hand: the status and the worker's feedback named. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, invalid_state, NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignment\":{\"AssignmentId\":\"3AS1\","
		       "\"AssignmentStatus\":\"Rejected\","
		       "\"RequesterFeedback\":\"boxes on the wall\"}}",
		       NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", NULL, seen,
						  sizeof(seen), &eb),
			 IF_ERUNTIME);
	assert_string_equal(seen, "Rejected");
	assert_non_null(strstr(eb.msg, "the assignment is Rejected, with the "
				       "feedback \"boxes on the wall\""));
	/* Right after a submit: Submitted, which passes. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, invalid_state, NULL);
	fake_http_push(x->srv, 200,
		       "{\"Assignment\":{\"AssignmentId\":\"3AS1\","
		       "\"AssignmentStatus\":\"Submitted\"}}",
		       NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", NULL, seen,
						  sizeof(seen), &eb),
			 IF_ERUNTIME);
	assert_string_equal(seen, "Submitted");
	/* Another error is not followed by GetAssignment. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"no funds\"}",
		       NULL);
	assert_int_equal(mturk_approve_assignment(x->c, "3AS1", NULL, NULL, 0,
						  &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 1);
}

static void
test_list_reviewable_hits_paging(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	struct mturk_hit *hits = NULL;
	size_t n = 0;
	int pages = 0;

	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t1\",\"NumResults\":2,\"HITs\":["
		       "{\"HITId\":\"3H1\",\"HITTypeId\":\"3T\",\"HITStatus\":"
		       "\"Reviewable\"},{\"HITId\":\"3H2\",\"HITTypeId\":"
		       "\"3T\"}]}",
		       NULL);
	/* An empty page with a token does not end the list. */
	fake_http_push(x->srv, 200,
		       "{\"NextToken\":\"t2\",\"NumResults\":0,\"HITs\":[]}",
		       NULL);
	fake_http_push(x->srv, 200,
		       "{\"NumResults\":1,\"HITs\":[{\"HITId\":\"3H3\","
		       "\"MaxAssignments\":3}]}",
		       NULL);
	assert_int_equal(mturk_list_reviewable_hits(x->c, "3T", "Reviewable",
						    &hits, &n, &pages, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	assert_int_equal(pages, 3);
	assert_string_equal(hits[0].hit_id, "3H1");
	assert_string_equal(hits[0].hit_status, "Reviewable");
	assert_string_equal(hits[2].hit_id, "3H3");
	assert_int_equal(hits[2].max_assignments, 3);
	free(hits);
	expect_request(x, 0, "ListReviewableHITs",
		       "{\"HITTypeId\":\"3T\",\"Status\":\"Reviewable\","
		       "\"MaxResults\":100}");
	expect_request(x, 1, "ListReviewableHITs",
		       "{\"HITTypeId\":\"3T\",\"Status\":\"Reviewable\","
		       "\"MaxResults\":100,\"NextToken\":\"t1\"}");
	expect_request(x, 2, "ListReviewableHITs",
		       "{\"HITTypeId\":\"3T\",\"Status\":\"Reviewable\","
		       "\"MaxResults\":100,\"NextToken\":\"t2\"}");
	assert_int_equal(mturk_client_sent(x->c, "ListReviewableHITs"), 3);

	/* One page, no filter: only MaxResults is sent. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 200, "{\"NumResults\":0,\"HITs\":[]}", NULL);
	assert_int_equal(mturk_list_reviewable_hits_page(
				 x->c, NULL, NULL, NULL, 7, &hits, &n,
				 (char[256]){0}, 256, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	assert_null(hits);
	expect_request(x, 0, "ListReviewableHITs", "{\"MaxResults\":7}");

	/* A malformed HIT fails the whole list and names the field. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 200,
		       "{\"HITs\":[{\"HITId\":\"3H1\",\"MaxAssignments\":"
		       "\"x\"}]}",
		       NULL);
	assert_int_equal(mturk_list_reviewable_hits(x->c, "3T", "Reviewable",
						    &hits, &n, &pages, &eb),
			 IF_ERUNTIME);
	assert_null(hits);
	assert_string_equal(eb.msg, "ListReviewableHITs: answer field "
				    "MaxAssignments is not an integer");

	/* A token served twice would loop for ever. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_set_default(x->srv, 200,
			      "{\"NextToken\":\"same\",\"HITs\":[{\"HITId\":"
			      "\"3H1\"}]}");
	assert_int_equal(mturk_list_reviewable_hits(x->c, "3T", NULL, &hits,
						    &n, &pages, &eb),
			 IF_ERUNTIME);
	assert_null(hits);
	assert_int_equal(pages, 2);
	assert_non_null(strstr(eb.msg, "repeated the page token same"));
}

static const char hit_state_error[] =
	"{\"__type\":\"RequestError\",\"Message\":\"This HIT is currently in "
	"the state 'Reviewing'.  This operation can be called with a status "
	"of: Reviewable (1624047673969)\",\"TurkErrorCode\":"
	"\"AWS.MechanicalTurk.InvalidHITState\"}";

static void
test_update_hit_review_status(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char status[32];

	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", false,
							status, sizeof(status),
							&eb),
			 IF_OK);
	assert_string_equal(status, "");
	expect_request(x, 0, "UpdateHITReviewStatus",
		       "{\"HITId\":\"3H\",\"Revert\":false}");
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", true,
							NULL, 0, &eb),
			 IF_OK);
	expect_request(x, 0, "UpdateHITReviewStatus",
		       "{\"HITId\":\"3H\",\"Revert\":true}");

	/* A repeat: refused, and GetHIT says Reviewing, so it is done. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, hit_state_error, NULL);
	fake_http_push(x->srv, 200,
		       "{\"HIT\":{\"HITId\":\"3H\",\"HITStatus\":"
		       "\"Reviewing\"}}",
		       NULL);
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", false,
							status, sizeof(status),
							&eb),
			 IF_OK);
	assert_string_equal(status, "Reviewing");
	assert_int_equal(fake_http_count(x->srv), 2);
	expect_request(x, 1, "GetHIT", "{\"HITId\":\"3H\"}");

	/* Not Reviewable yet: a failure that says what the HIT is. */
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, hit_state_error, NULL);
	fake_http_push(x->srv, 200,
		       "{\"HIT\":{\"HITId\":\"3H\",\"HITStatus\":"
		       "\"Assignable\"}}",
		       NULL);
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", false,
							status, sizeof(status),
							&eb),
			 IF_ERUNTIME);
	assert_string_equal(status, "Assignable");
	assert_non_null(strstr(eb.msg, "UpdateHITReviewStatus: "
				       "AWS.MechanicalTurk.InvalidHITState"));
	assert_non_null(strstr(eb.msg, "(the HIT is Assignable)"));

	/* The HIT is gone: both messages, for the caller to recognise. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_push(x->srv, 400, hit_state_error, NULL);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"Hit 3H does "
		       "not exist. (1)\",\"TurkErrorCode\":"
		       "\"AWS.MechanicalTurk.HITDoesNotExist\"}",
		       NULL);
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", false,
							status, sizeof(status),
							&eb),
			 IF_ERUNTIME);
	assert_string_equal(status, "");
	assert_non_null(strstr(eb.msg, "(and then GetHIT: "
				       "AWS.MechanicalTurk.HITDoesNotExist"));

	/* A service fault is not followed by GetHIT. */
	err_init(&eb);
	fake_http_clear(x->srv);
	fake_http_set_default(x->srv, 500,
			      "{\"__type\":\"ServiceFault\",\"Message\":"
			      "\"x\"}");
	assert_int_equal(mturk_update_hit_review_status(x->c, "3H", false,
							status, sizeof(status),
							&eb),
			 IF_ETEMP);
	for (size_t i = 0; i < fake_http_count(x->srv); i++)
		expect_request(x, i, "UpdateHITReviewStatus",
			       "{\"HITId\":\"3H\",\"Revert\":false}");
}

static void
test_reject(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};

	assert_int_equal(mturk_reject_assignment(x->c, "3AS1", "", &eb),
			 IF_EINPUT);
	assert_int_equal(fake_http_count(x->srv), 0);
	err_init(&eb);
	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_reject_assignment(x->c, "3AS1",
						 "no boxes were drawn", &eb),
			 IF_OK);
	expect_request(x, 0, "RejectAssignment",
		       "{\"AssignmentId\":\"3AS1\",\"RequesterFeedback\":"
		       "\"no boxes were drawn\"}");
}

static void
test_update_expiration(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};

	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_update_expiration(x->c, "3H", 1767409445, &eb),
			 IF_OK);
	expect_request(x, 0, "UpdateExpirationForHIT",
		       "{\"HITId\":\"3H\",\"ExpireAt\":1767409445}");
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"The "
		       "idempotency token \\\"3H1767409445\\\" has already "
		       "been processed. (1624047673969)\",\"TurkErrorCode\":"
		       "\"AWS.MechanicalTurk.InvalidParameterValue\"}",
		       NULL);
	assert_int_equal(mturk_update_expiration(x->c, "3H", 1767409445, &eb),
			 IF_OK);
	fake_http_push(x->srv, 400,
		       "{\"__type\":\"RequestError\",\"Message\":\"HIT too "
		       "old\",\"TurkErrorCode\":\"AWS.MechanicalTurk."
		       "HITTooOldForExtension\"}",
		       NULL);
	assert_int_equal(mturk_update_expiration(x->c, "3H", 1767409445, &eb),
			 IF_ERUNTIME);
	assert_string_equal(eb.msg,
			    "UpdateExpirationForHIT: AWS.MechanicalTurk."
			    "HITTooOldForExtension: HIT too old");
}

static void
test_delete_hit_and_balance(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	int64_t avail = -1, hold = -1;

	fake_http_push(x->srv, 200, "{}", NULL);
	assert_int_equal(mturk_delete_hit(x->c, "3H", &eb), IF_OK);
	expect_request(x, 0, "DeleteHIT", "{\"HITId\":\"3H\"}");
	fake_http_push(x->srv, 200,
		       "{\"AvailableBalance\":\"10000.00\",\"OnHoldBalance\":"
		       "\"1.5\"}",
		       NULL);
	assert_int_equal(mturk_get_account_balance(x->c, &avail, &hold, &eb),
			 IF_OK);
	assert_int_equal(avail, 1000000);
	assert_int_equal(hold, 150);
	expect_request(x, 1, "GetAccountBalance", "{}");
	fake_http_push(x->srv, 200, "{\"AvailableBalance\":\"$5\"}", NULL);
	assert_int_equal(mturk_get_account_balance(x->c, &avail, NULL, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "\"$5\" is not an amount"));
}

/*
 * Every truncation of a valid answer, and every byte of it swapped for a
 * quote, is refused or parsed cleanly: never a crash, never a half-filled
 * success (ASan watches the memory).
 */
static void
test_hostile_answers(void **state)
{
	struct fx *x = *state;
	char reply[2048], bad[2048];
	size_t len, refused = 0;
	struct mturk_hit h;

	snprintf(reply, sizeof(reply), "{\"HIT\":%s}", hit_json);
	len = strlen(reply);
	for (size_t cut = 0; cut < len; cut += 7) {
		struct errbuf eb = {0};
		memcpy(bad, reply, cut);
		bad[cut] = '\0';
		fake_http_push(x->srv, 200, bad, NULL);
		assert_int_equal(mturk_get_hit(x->c, "H", &h, &eb),
				 IF_ERUNTIME);
		assert_true(eb.msg[0] != '\0');
		refused++;
	}
	for (size_t i = 0; i < len; i += 5) {
		struct errbuf eb = {0};
		int rc;
		memcpy(bad, reply, len + 1);
		bad[i] = '"';
		fake_http_push(x->srv, 200, bad, NULL);
		rc = mturk_get_hit(x->c, "H", &h, &eb);
		assert_true(rc == IF_OK || rc == IF_ERUNTIME);
		if (rc != IF_OK)
			assert_true(eb.msg[0] != '\0');
	}
	assert_true(refused > 50);
	assert_int_equal(x->nsleeps, 0); /* a bad answer is not retried */
}

static void
test_money(void **state)
{
	static const struct {
		const char *s;
		int rc;
		int64_t cents;
	} cases[] = {
		{"0.15", 0, 15}, {"5", 0, 500},	     {"5.", 0, 500},
		{"101.42", 0, 10142}, {"0.5", 0, 50}, {"10000.00", 0, 1000000},
		{"", -1, 0},	 {".5", -1, 0},	     {"1.234", -1, 0},
		{"-1", -1, 0},	 {"1e3", -1, 0},     {"1 ", -1, 0},
		{"99999999999999999999", -1, 0},
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t c = -7;
		print_message("money \"%s\"\n", cases[i].s);
		assert_int_equal(mturk_money_parse(cases[i].s, &c),
				 cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(c, cases[i].cents);
	}
	mturk_money_format(15, out, sizeof(out));
	assert_string_equal(out, "0.15");
	mturk_money_format(1205, out, sizeof(out));
	assert_string_equal(out, "12.05");
	mturk_money_format(100, out, sizeof(out));
	assert_string_equal(out, "1.00");
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_qualification_type_new),
		T(test_create_qualification_type_reused),
		T(test_create_qualification_type_other_error),
		T(test_associate_qualification),
		T(test_create_hit_type),
		T(test_create_hit),
		T(test_create_hit_token_recovery),
		T(test_get_hit_and_bad_answers),
		T(test_list_hits_and_find_by_annotation),
		T(test_list_assignments_three_pages),
		T(test_list_assignments_pages_smaller_over_cap),
		T(test_get_assignment),
		T(test_approve_and_double_approve),
		T(test_list_reviewable_hits_paging),
		T(test_update_hit_review_status),
		T(test_reject),
		T(test_update_expiration),
		T(test_delete_hit_and_balance),
		T(test_hostile_answers),
		cmocka_unit_test(test_money),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
