/*
 * The store when its database cannot be read (sim/sim_store.c's finders,
 * sim_persist.c's loaders): a read that fails is the service's own
 * failure - a retryable ServiceFault, the S3 side's InternalError, a
 * page's "try again" - never "does not exist", which the daemon takes as
 * the HIT or assignment being gone.  sim_db_fail_reads() makes the reads
 * fail after k that pass, so a request is failed at each of its reads in
 * turn; once reads pass again, the same request gives what it gives
 * without faults, and a failed one left nothing half-made behind.
 * Also the bounds on what one request reads: a participant passed over
 * by many HITs (people_pick), and the HITs of one annotation key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_private.h"

#include <stdlib.h>
#include <string.h>

struct fixture {
	struct sim_store *st;
	int64_t now_ms;
};

static int64_t
fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now_ms;
}

/* A memory-only store (the same database code path as sim.db). */
static struct fixture *
fixture_new(bool people)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sim_store_config cfg;

	assert_non_null(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 3;
	cfg.crowd_off = people;
	cfg.people = people;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = f;
	f->now_ms = 1767323045000LL; /* 2026-01-02T03:04:05Z */
	f->st = sim_store_new(&cfg);
	assert_non_null(f->st);
	assert_non_null(f->st->db);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	sim_store_free(f->st);
	free(f);
}

static int
call(struct fixture *f, const char *op, const char *text, json_t **resp,
     struct sim_err *err)
{
	json_t *req = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(req);
	memset(err, 0, sizeof(*err));
	rc = sim_store_call(f->st, op, req, resp, err);
	json_decref(req);
	return rc;
}

static json_t *
call_ok(struct fixture *f, const char *op, const char *text)
{
	struct sim_err err;
	json_t *resp = NULL;

	if (call(f, op, text, &resp, &err) != 0)
		fail_msg("%s: %s %s", op, err.type, err.message);
	return resp;
}

/* A string member of member `outer` (or of the response when NULL). */
static const char *
str_of(json_t *r, const char *outer, const char *name)
{
	json_t *o = outer != NULL ? json_object_get(r, outer) : r;

	return json_string_value(json_object_get(o, name));
}

/* The working set dropped: the next request reads from the database. */
static void
drop_working_set(struct fixture *f)
{
	assert_false(sim_changes_pending(f->st));
	sim_store_evict(f->st);
	assert_int_equal(sim_store_resident(f->st), 0);
}

/*
 * Runs op with the reads failing after k = 0, 1, 2, ... that pass, the
 * working set dropped before each run, until a run passes: every failed
 * run is a retryable ServiceFault (500), never a RequestError.  The
 * first run must fail (the request reads), and *reads is how many reads
 * the passing run made.  Returns the passing run's response.
 */
static json_t *
call_through_failures(struct fixture *f, const char *op, const char *text,
		      unsigned long *reads)
{
	for (unsigned long k = 0; k < 10000; k++) {
		struct sim_err err;
		json_t *resp = NULL;
		int rc;

		drop_working_set(f);
		sim_db_fail_reads(f->st->db, true, k);
		rc = call(f, op, text, &resp, &err);
		sim_db_fail_reads(f->st->db, false, 0);
		if (rc == 0) {
			assert_true(k > 0);
			*reads = k;
			return resp;
		}
		assert_null(resp);
		if (err.http != 500 || strcmp(err.type, "ServiceFault") != 0)
			fail_msg("%s, reads failing after %lu: %d %s %s %s", op,
				 k, err.http, err.type, err.turk,
				 err.message);
	}
	fail_msg("%s never passed", op);
	return NULL;
}

/* A HIT of max assignments (the simulated crowd answers at once). */
static void
make_hit(struct fixture *f, int max, const char *ann, char *out, size_t n)
{
	char req[1024];
	json_t *r;

	snprintf(req, sizeof(req),
		 "{\"MaxAssignments\":%d,\"LifetimeInSeconds\":3600,"
		 "\"AssignmentDurationInSeconds\":300,\"Reward\":\"0.10\","
		 "\"Title\":\"t\",\"Description\":\"d\",\"Question\":\"<q/>\","
		 "\"RequesterAnnotation\":\"%s\"}",
		 max, ann);
	r = call_ok(f, "CreateHIT", req);
	snprintf(out, n, "%s", str_of(r, "HIT", "HITId"));
	json_decref(r);
}

/* The id of the first assignment of ListAssignmentsForHIT(hit). */
static void
first_asg(struct fixture *f, const char *hit, char *out, size_t n)
{
	char req[128];
	json_t *r;

	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	r = call_ok(f, "ListAssignmentsForHIT", req);
	assert_true(json_array_size(json_object_get(r, "Assignments")) > 0);
	snprintf(out, n, "%s",
		 str_of(json_array_get(json_object_get(r, "Assignments"), 0),
			NULL, "AssignmentId"));
	json_decref(r);
}

/* The same answer with and without faults (texts compared). */
static void
assert_same(json_t *a, json_t *b)
{
	char *x = json_dumps(a, JSON_SORT_KEYS);
	char *y = json_dumps(b, JSON_SORT_KEYS);

	assert_non_null(x);
	assert_non_null(y);
	assert_string_equal(x, y);
	free(x);
	free(y);
}

/*
 * The daemon's reads - GetHIT, GetAssignment, ListAssignmentsForHIT,
 * ListHITs, ListReviewableHITs - fail as ServiceFault at each of their
 * reads, and answer as without faults once reads pass; a HIT is never
 * left resident short of its assignments.
 */
static void
test_reads_fail_as_service_faults(void **state)
{
	struct fixture *f = fixture_new(false);
	char hit[SIM_ID_LEN + 1], asg[SIM_ID_LEN + 1], req[256];
	const char *ops[] = {"GetHIT", "ListAssignmentsForHIT",
			     "GetAssignment", "ListHITs",
			     "ListReviewableHITs"};
	unsigned long reads;

	(void)state;
	make_hit(f, 3, "exp/img/1", hit, sizeof(hit));
	f->now_ms += 60 * 1000;
	first_asg(f, hit, asg, sizeof(asg));
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		json_t *plain, *faulted;

		if (strcmp(ops[i], "GetAssignment") == 0)
			snprintf(req, sizeof(req),
				 "{\"AssignmentId\":\"%s\"}", asg);
		else if (strncmp(ops[i], "List", 4) == 0 &&
			 strcmp(ops[i], "ListAssignmentsForHIT") != 0)
			snprintf(req, sizeof(req), "{}");
		else
			snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
		drop_working_set(f);
		plain = call_ok(f, ops[i], req);
		faulted = call_through_failures(f, ops[i], req, &reads);
		assert_same(plain, faulted);
		json_decref(plain);
		json_decref(faulted);
	}
	/* A HIT whose assignments could not all be read is not resident. */
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	drop_working_set(f);
	sim_db_fail_reads(f->st->db, true, 3); /* HIT, its ids, one asg */
	{
		struct hit *h = NULL;

		assert_int_equal(sim_find_hit(f->st, hit, &h), -1);
		assert_null(h);
	}
	assert_int_equal(f->st->nhits, 0);
	sim_db_fail_reads(f->st->db, false, 0);
	{
		struct hit *h = NULL;

		assert_int_equal(sim_find_hit(f->st, hit, &h), 0);
		assert_non_null(h);
		assert_int_equal(h->nasgs, 3);
	}
	fixture_free(f);
}

/* No such record is still the RequestError it always was. */
static void
test_missing_records_still_missing(void **state)
{
	struct fixture *f = fixture_new(false);
	struct sim_err err;
	json_t *resp = NULL;

	(void)state;
	assert_int_equal(call(f, "GetHIT",
			      "{\"HITId\":\"3NOSUCHHIT00000000000000000000\"}",
			      &resp, &err),
			 -1);
	assert_int_equal(err.http, 400);
	assert_string_equal(err.turk, "AWS.MechanicalTurk.HITDoesNotExist");
	assert_int_equal(call(f, "GetAssignment",
			      "{\"AssignmentId\":"
			      "\"3NOSUCHASG00000000000000000000\"}",
			      &resp, &err),
			 -1);
	assert_int_equal(err.http, 400);
	assert_string_equal(err.turk,
			    "AWS.MechanicalTurk.AssignmentDoesNotExist");
	fixture_free(f);
}

/*
 * The daemon's changes - ApproveAssignment, RejectAssignment,
 * UpdateHITReviewStatus, UpdateExpirationForHIT, DeleteHIT - fail as
 * ServiceFault at each read and change nothing then; the passing run
 * makes the change once.
 */
static void
test_changes_fail_as_service_faults(void **state)
{
	struct fixture *f = fixture_new(false);
	char hit[SIM_ID_LEN + 1], asg[SIM_ID_LEN + 1], other[SIM_ID_LEN + 1];
	char req[256];
	unsigned long reads;
	json_t *r;

	(void)state;
	make_hit(f, 2, "exp/img/1", hit, sizeof(hit));
	f->now_ms += 60 * 1000;
	first_asg(f, hit, asg, sizeof(asg));
	snprintf(req, sizeof(req), "{\"AssignmentId\":\"%s\"}", asg);
	json_decref(call_through_failures(f, "ApproveAssignment", req,
					  &reads));
	r = call_ok(f, "GetAssignment", req);
	assert_string_equal(str_of(r, "Assignment", "AssignmentStatus"),
			    "Approved");
	json_decref(r);
	/* The other one, rejected through failures the same way. */
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	r = call_ok(f, "ListAssignmentsForHIT", req);
	snprintf(other, sizeof(other), "%s",
		 str_of(json_array_get(json_object_get(r, "Assignments"), 1),
			NULL, "AssignmentId"));
	json_decref(r);
	snprintf(req, sizeof(req),
		 "{\"AssignmentId\":\"%s\",\"RequesterFeedback\":\"no\"}",
		 other);
	json_decref(call_through_failures(f, "RejectAssignment", req,
					  &reads));
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	json_decref(call_through_failures(f, "UpdateHITReviewStatus", req,
					  &reads));
	r = call_ok(f, "GetHIT", req);
	assert_string_equal(str_of(r, "HIT", "HITStatus"), "Reviewing");
	json_decref(r);
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\",\"Revert\":true}", hit);
	json_decref(call_through_failures(f, "UpdateHITReviewStatus", req,
					  &reads));
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\",\"ExpireAt\":0}", hit);
	json_decref(call_through_failures(f, "UpdateExpirationForHIT", req,
					  &reads));
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	json_decref(call_through_failures(f, "DeleteHIT", req, &reads));
	r = NULL;
	{
		struct sim_err err;

		assert_int_equal(call(f, "GetHIT", req, &r, &err), -1);
		assert_string_equal(err.turk,
				    "AWS.MechanicalTurk.HITDoesNotExist");
	}
	fixture_free(f);
}

/*
 * CreateHIT reads (its token's HITs, the HITs of its annotation, the
 * objects its Question shows, the grants its qualification asks for):
 * each read failing is a ServiceFault that leaves no HIT behind, so that
 * the retry with the same token creates it, whole, once.
 */
static void
test_create_fails_whole(void **state)
{
	struct fixture *f = fixture_new(false);
	char hit[SIM_ID_LEN + 1], req[1024], qid[SIM_ID_LEN + 1];
	unsigned long reads;
	json_t *r;

	(void)state;
	assert_int_equal(sim_store_set_base(f->st, "http://127.0.0.1:9"), 0);
	assert_int_equal(sim_store_put_object(f->st, "b/img.jpg", "jpg", 3,
					      "image/jpeg"),
			 0);
	r = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"q\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(qid, sizeof(qid), "%s",
		 str_of(r, "QualificationType", "QualificationTypeId"));
	json_decref(r);
	make_hit(f, 2, "exp/img/1", hit, sizeof(hit));
	snprintf(req, sizeof(req),
		 "{\"MaxAssignments\":2,\"LifetimeInSeconds\":3600,"
		 "\"AssignmentDurationInSeconds\":300,\"Reward\":\"0.10\","
		 "\"Title\":\"t\",\"Description\":\"d\","
		 "\"Question\":\"<q src='http://127.0.0.1:9/b/img.jpg'/>\","
		 "\"RequesterAnnotation\":\"exp/img/1\","
		 "\"UniqueRequestToken\":\"tok-1\","
		 "\"QualificationRequirements\":[{\"QualificationTypeId\":"
		 "\"%s\",\"Comparator\":\"DoesNotExist\"}]}",
		 qid);
	r = call_through_failures(f, "CreateHIT", req, &reads);
	/* The token's HITs, the annotation's, the object, grants. */
	assert_true(reads >= 4);
	snprintf(hit, sizeof(hit), "%s", str_of(r, "HIT", "HITId"));
	json_decref(r);
	/* One HIT of that annotation beside the first, with its crowd. */
	{
		struct hit **same = NULL;
		size_t n = 0;

		drop_working_set(f);
		assert_int_equal(sim_find_hits_by_ann(f->st, "exp/img", 7,
						      SIM_ANN_HITS_MAX, &same,
						      &n),
				 0);
		assert_int_equal(n, 2);
		assert_string_equal(same[0]->id, hit);
		assert_int_equal(same[0]->nasgs, 2);
		free(same);
	}
	fixture_free(f);
}

/* AssociateQualificationWithWorker: a grant that cannot be read. */
static void
test_grant_fails_as_service_fault(void **state)
{
	struct fixture *f = fixture_new(false);
	char req[256], qid[SIM_ID_LEN + 1];
	unsigned long reads;
	json_t *r;

	(void)state;
	r = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"q\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(qid, sizeof(qid), "%s",
		 str_of(r, "QualificationType", "QualificationTypeId"));
	json_decref(r);
	snprintf(req, sizeof(req),
		 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":"
		 "\"A1B2C3D4E5F6G7\",\"IntegerValue\":5}",
		 qid);
	json_decref(call_through_failures(f,
					  "AssociateQualificationWithWorker",
					  req, &reads));
	assert_int_equal(reads, 1);
	fixture_free(f);
}

/* The S3 GET: a failure (-1) apart from a missing key (found false). */
static void
test_object_read_fails_apart(void **state)
{
	struct fixture *f = fixture_new(false);
	char *data = NULL, ct[64];
	size_t len = 0;
	bool found = true;

	(void)state;
	assert_int_equal(sim_store_put_object(f->st, "b/k.jpg", "abc", 3,
					      "image/jpeg"),
			 0);
	drop_working_set(f);
	sim_db_fail_reads(f->st->db, true, 0);
	assert_int_equal(sim_store_get_object(f->st, "b/k.jpg", &data, &len,
					      ct, sizeof(ct), &found),
			 -1);
	assert_false(found);
	assert_null(data);
	/* A PUT over it is refused too, not taken for a new object. */
	assert_int_equal(sim_store_put_object(f->st, "b/k.jpg", "xyz", 3,
					      "image/jpeg"),
			 -1);
	/* The record, then its bytes: each read in turn. */
	sim_db_fail_reads(f->st->db, true, 1);
	assert_int_equal(sim_store_get_object(f->st, "b/k.jpg", &data, &len,
					      ct, sizeof(ct), &found),
			 -1);
	assert_null(data);
	sim_db_fail_reads(f->st->db, false, 0);
	drop_working_set(f);
	assert_int_equal(sim_store_get_object(f->st, "b/k.jpg", &data, &len,
					      ct, sizeof(ct), &found),
			 0);
	assert_true(found);
	assert_int_equal(len, 3);
	assert_memory_equal(data, "abc", 3);
	free(data);
	assert_int_equal(sim_store_get_object(f->st, "b/none", &data, &len,
					      ct, sizeof(ct), &found),
			 0);
	assert_false(found);
	fixture_free(f);
}

/* The participants' store calls: failed (-1), never refused or none. */
static void
test_people_calls_fail_apart(void **state)
{
	struct fixture *f = fixture_new(true);
	char hit[SIM_ID_LEN + 1], asg[SIM_ID_LEN + 1], open[SIM_ID_LEN + 1];
	char why[256], hid[SIM_ID_LEN + 1], *q = NULL, *xml;
	int submitted = -1;
	bool found = true;

	(void)state;
	make_hit(f, 2, "exp/img/1", hit, sizeof(hit));
	assert_int_equal(sim_store_people_take(f->st, "P01", 0, false, asg,
					       why, sizeof(why)),
			 0);
	drop_working_set(f);
	sim_db_fail_reads(f->st->db, true, 0);
	assert_int_equal(sim_store_people_status(f->st, "P01", open,
						 &submitted),
			 -1);
	assert_int_equal(sim_store_people_take(f->st, "P02", 0, true, open,
					       why, sizeof(why)),
			 -1);
	assert_int_equal(sim_store_people_task(f->st, "P01", asg, &q, hid),
			 -1);
	assert_null(q);
	assert_int_equal(sim_store_people_object(f->st, "b/x", 3, &found),
			 -1);
	assert_int_equal(sim_store_lab_question(f->st, hit, &q), -1);
	assert_null(q);
	assert_int_equal(sim_store_lab_accept(f->st, hit, "AP03", open, why,
					      sizeof(why)),
			 -1);
	xml = strdup("<QuestionFormAnswers/>");
	assert_non_null(xml);
	assert_int_equal(sim_store_people_submit(f->st, "P01", asg, xml, "[]",
						 why, sizeof(why)),
			 -1);
	sim_db_fail_reads(f->st->db, false, 0);
	/* Reads pass: the same calls do what they did. */
	assert_int_equal(sim_store_people_task(f->st, "P01", asg, &q, hid),
			 0);
	assert_non_null(q);
	free(q);
	assert_string_equal(hid, hit);
	assert_int_equal(sim_store_lab_question(f->st, "3NOSUCH", &q), 0);
	assert_null(q);
	xml = strdup("<QuestionFormAnswers/>");
	assert_non_null(xml);
	assert_int_equal(sim_store_people_submit(f->st, "P01", asg, xml, "[]",
						 why, sizeof(why)),
			 0);
	assert_int_equal(sim_store_people_status(f->st, "P01", open,
						 &submitted),
			 0);
	assert_int_equal(submitted, 1);
	assert_string_equal(open, "");
	fixture_free(f);
}

/* The candidates a participant's next task reads per page (people_pick). */
#define TAKE_PAGE_MOST 64

/*
 * A participant passed over by more HITs than SIM_RESIDENT_MAX in a row
 * (each asks for a qualification they lack) before the one they may
 * take: one request reads them all, page by page, and holds at most the
 * bound and a page of them at any moment, not every one passed over.
 */
static void
test_pick_holds_a_page_at_a_time(void **state)
{
	struct fixture *f = fixture_new(true);
	char req[1024], qid[SIM_ID_LEN + 1], last[SIM_ID_LEN + 1];
	char asg[SIM_ID_LEN + 1], why[256], hit[SIM_ID_LEN + 1], *q = NULL;
	size_t refused = SIM_RESIDENT_MAX + 4 * TAKE_PAGE_MOST;
	json_t *r;

	(void)state;
	r = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"q\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(qid, sizeof(qid), "%s",
		 str_of(r, "QualificationType", "QualificationTypeId"));
	json_decref(r);
	for (size_t i = 0; i < refused; i++) {
		snprintf(req, sizeof(req),
			 "{\"MaxAssignments\":1,\"LifetimeInSeconds\":3600,"
			 "\"AssignmentDurationInSeconds\":300,"
			 "\"Reward\":\"0.10\",\"Title\":\"t\","
			 "\"Description\":\"d\",\"Question\":\"<q/>\","
			 "\"RequesterAnnotation\":\"exp/i%zu/1\","
			 "\"QualificationRequirements\":[{"
			 "\"QualificationTypeId\":\"%s\","
			 "\"Comparator\":\"Exists\"}]}",
			 i, qid);
		json_decref(call_ok(f, "CreateHIT", req));
		/* The store's own bound between requests. */
		assert_true(sim_store_resident(f->st) <= SIM_RESIDENT_MAX);
	}
	make_hit(f, 1, "exp/last/1", last, sizeof(last));
	drop_working_set(f);
	f->st->resident_peak = 0;
	assert_int_equal(sim_store_people_take(f->st, "P01", 0, false, asg,
					       why, sizeof(why)),
			 0);
	assert_int_equal(sim_store_people_task(f->st, "P01", asg, &q, hit),
			 0);
	assert_non_null(q);
	free(q);
	assert_string_equal(hit, last);
	/* Every one was read (more than the bound), a page at a time. */
	if (f->st->resident_peak > SIM_RESIDENT_MAX + 2 * TAKE_PAGE_MOST)
		fail_msg("%zu records resident at once for %zu refusals",
			 f->st->resident_peak, refused);
	fixture_free(f);
}

/*
 * A client giving thousands of HITs one RequesterAnnotation: a new HIT
 * of it reads the newest SIM_ANN_HITS_MAX of them (each with its one
 * assignment), not all; its crowd is planned as before.
 */
static void
test_one_annotation_reads_a_bounded_few(void **state)
{
	struct fixture *f = fixture_new(false);
	char hit[SIM_ID_LEN + 1];
	size_t many = 5 * SIM_ANN_HITS_MAX;
	struct hit *h;

	(void)state;
	for (size_t i = 0; i < many; i++) {
		make_hit(f, 1, "x/y/1", hit, sizeof(hit));
		assert_true(sim_store_resident(f->st) <= SIM_RESIDENT_MAX);
	}
	drop_working_set(f);
	f->st->resident_peak = 0;
	(void)sim_db_steps_take(f->st->db);
	make_hit(f, 1, "x/y/1", hit, sizeof(hit));
	/* The new HIT and its worker, and the newest others with theirs. */
	if (f->st->resident_peak > 2 * (SIM_ANN_HITS_MAX + 1))
		fail_msg("%zu records read for one CreateHIT among %zu",
			 f->st->resident_peak, many);
	assert_int_equal(sim_find_hit(f->st, hit, &h), 0);
	assert_non_null(h);
	assert_int_equal(h->nasgs, 1);
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_fail_as_service_faults),
		cmocka_unit_test(test_missing_records_still_missing),
		cmocka_unit_test(test_changes_fail_as_service_faults),
		cmocka_unit_test(test_create_fails_whole),
		cmocka_unit_test(test_grant_fails_as_service_fault),
		cmocka_unit_test(test_object_read_fails_apart),
		cmocka_unit_test(test_people_calls_fail_apart),
		cmocka_unit_test(test_pick_holds_a_page_at_a_time),
		cmocka_unit_test(test_one_annotation_reads_a_bounded_few),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
