/*
 * The task server's store side and answer parser ("intofocus serve",
 * sim/sim_store_lab.c and sim/sim_lab.c), with an injected clock: the
 * server picks tasks a participant may take, one open at a time, a share
 * each; an assignment not submitted in time returns to the pool; a
 * qualification keeps a participant out; ids are kept as given; submits
 * only from the holder; a NUL or a long feedback is refused.
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

static struct fixture *
fixture_new(void)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sim_store_config cfg;

	assert_non_null(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 1;
	cfg.crowd_off = true;
	cfg.csprng_ids = true;
	cfg.people = true;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = f;
	f->now_ms = 1767323045000LL;
	f->st = sim_store_new(&cfg);
	assert_non_null(f->st);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	sim_store_free(f->st);
	free(f);
}

static json_t *
call_ok(struct fixture *f, const char *op, const char *text)
{
	json_error_t je;
	json_t *req = json_loads(text, 0, &je), *resp = NULL;
	struct sim_err err;

	assert_non_null(req);
	memset(&err, 0, sizeof(err));
	if (sim_store_call(f->st, op, req, &resp, &err) != 0)
		fail_msg("%s: %s %s", op, err.type, err.message);
	json_decref(req);
	return resp;
}

/* A HIT of max assignments and duration 300 s; its id into out. */
static void
make_hit(struct fixture *f, int max, const char *quals, char *out, size_t n)
{
	char req[2048];
	json_t *r;

	snprintf(req, sizeof(req),
		 "{\"MaxAssignments\":%d,\"LifetimeInSeconds\":3600,"
		 "\"AssignmentDurationInSeconds\":300,\"Reward\":\"0.10\","
		 "\"Title\":\"t\",\"Description\":\"d\",\"Question\":\"<q/>\","
		 "\"RequesterAnnotation\":\"exp/img/1\"%s}",
		 max, quals != NULL ? quals : "");
	r = call_ok(f, "CreateHIT", req);
	snprintf(out, n, "%s",
		 json_string_value(
			 json_object_get(json_object_get(r, "HIT"), "HITId")));
	json_decref(r);
}

static int
take(struct fixture *f, const char *who, int share, bool peek,
     char asg[SIM_ID_LEN + 1])
{
	char why[256];

	return sim_store_people_take(f->st, who, share, peek, asg, why,
				     sizeof(why));
}

static int
submit(struct fixture *f, const char *who, const char *asg)
{
	char why[256], *xml = strdup("<QuestionFormAnswers/>");

	assert_non_null(xml);
	return sim_store_people_submit(f->st, who, asg, xml, "[]", why,
				       sizeof(why));
}

static void
test_one_open_and_share(void **state)
{
	struct fixture *f = fixture_new();
	char h1[64], h2[64], h3[64], a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1];
	char open[SIM_ID_LEN + 1];
	int submitted = -1;

	(void)state;
	make_hit(f, 3, NULL, h1, sizeof(h1));
	make_hit(f, 3, NULL, h2, sizeof(h2));
	make_hit(f, 3, NULL, h3, sizeof(h3));
	/* Peeking takes nothing. */
	assert_int_equal(take(f, "P01", 2, true, a), 0);
	assert_string_equal(a, "");
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_string_equal(open, "");
	assert_int_equal(take(f, "P01", 2, false, a), 0);
	/* One open assignment at a time: the same one again. */
	assert_int_equal(take(f, "P01", 2, false, b), 0);
	assert_string_equal(a, b);
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_string_equal(open, a);
	assert_int_equal(submitted, 0);
	assert_int_equal(submit(f, "P01", a), 0);
	/* The next task is another HIT: never the same one twice. */
	assert_int_equal(take(f, "P01", 2, false, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(submit(f, "P01", b), 0);
	/* Share done (2): nothing more, though h3 is open. */
	assert_int_equal(take(f, "P01", 2, true, a), 1);
	assert_int_equal(take(f, "P01", 2, false, a), 1);
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_int_equal(submitted, 2);
	/* No share: the third, then nothing left. */
	assert_int_equal(take(f, "P01", 0, false, a), 0);
	assert_int_equal(submit(f, "P01", a), 0);
	assert_int_equal(take(f, "P01", 0, false, a), 1);
	fixture_free(f);
}

static void
test_expired_assignment_returns(void **state)
{
	struct fixture *f = fixture_new();
	char h[64], a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1], c[SIM_ID_LEN + 1];
	char *q = NULL, hit[SIM_ID_LEN + 1];

	(void)state;
	make_hit(f, 1, NULL, h, sizeof(h));
	assert_int_equal(take(f, "P01", 0, false, a), 0);
	/* Full while P01 holds it. */
	assert_int_equal(take(f, "AP01", 0, false, b), 1);
	/* P01's 300 s run out: back in the pool for AP01. */
	f->now_ms += 301 * 1000;
	assert_int_equal(sim_store_people_task(f->st, "P01", a, &q, hit), 0);
	assert_null(q);
	assert_int_equal(take(f, "AP01", 0, false, b), 0);
	assert_string_not_equal(a, b);
	/* P01's late submit is refused; AP01's holds. */
	assert_int_not_equal(submit(f, "P01", a), 0);
	/* Another participant cannot submit AP01's assignment. */
	assert_int_not_equal(submit(f, "P01", b), 0);
	assert_int_not_equal(submit(f, "p01", b), 0);
	assert_int_equal(sim_store_people_task(f->st, "AP01", b, &q, hit), 0);
	assert_string_equal(hit, h);
	free(q);
	assert_int_equal(submit(f, "AP01", b), 0);
	/* Closed once submitted: no page, and P01 may not take it again. */
	assert_int_equal(sim_store_people_task(f->st, "AP01", b, &q, hit), 0);
	assert_null(q);
	assert_int_equal(take(f, "P01", 0, false, c), 1);
	fixture_free(f);
}

static void
test_qualification_keeps_out(void **state)
{
	struct fixture *f = fixture_new();
	char h1[64], h2[64], quals[512], qid[64], grant[256];
	char a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1], *q = NULL;
	char hit[SIM_ID_LEN + 1];
	json_t *r;

	(void)state;
	make_hit(f, 5, NULL, h1, sizeof(h1));
	assert_int_equal(take(f, "p-0-1", 0, false, a), 0);
	assert_int_equal(submit(f, "p-0-1", a), 0);
	r = call_ok(f, "CreateQualificationType",
		    "{\"Name\":\"x\",\"Description\":\"d\","
		    "\"QualificationTypeStatus\":\"Active\"}");
	snprintf(qid, sizeof(qid), "%s",
		 json_string_value(json_object_get(
			 json_object_get(r, "QualificationType"),
			 "QualificationTypeId")));
	json_decref(r);
	/* Real participants' ids need not look like MTurk's. */
	snprintf(grant, sizeof(grant),
		 "{\"QualificationTypeId\":\"%s\",\"WorkerId\":\"p-0-1\","
		 "\"IntegerValue\":1}",
		 qid);
	json_decref(call_ok(f, "AssociateQualificationWithWorker", grant));
	snprintf(quals, sizeof(quals),
		 ",\"QualificationRequirements\":[{\"QualificationTypeId\":"
		 "\"%s\",\"Comparator\":\"DoesNotExist\"}]",
		 qid);
	make_hit(f, 5, quals, h2, sizeof(h2));
	/* p-0-1 is kept out of h2: nothing for them. */
	assert_int_equal(take(f, "p-0-1", 0, true, a), 1);
	assert_int_equal(take(f, "p-0-1", 0, false, a), 1);
	/* P01, AP01 and Pe01 are three participants, each let in. */
	assert_int_equal(take(f, "P01", 0, false, a), 0);
	assert_int_equal(take(f, "AP01", 0, false, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(sim_store_people_task(f->st, "P01", a, &q, hit), 0);
	free(q);
	/* p-0-1 sees nothing of P01's h2 assignment. */
	assert_int_equal(sim_store_people_task(f->st, "p-0-1", a, &q, hit),
			 0);
	assert_null(q);
	fixture_free(f);
}

static void
test_ids_kept_as_given(void **state)
{
	(void)state;
	assert_true(sim_participant_id_valid("P01"));
	assert_true(sim_participant_id_valid("AP01"));
	assert_true(sim_participant_id_valid("p-0-1"));
	assert_true(sim_participant_id_valid("5f0c0a1b2c3d4e5f6a7b8c9d"));
	assert_false(sim_participant_id_valid("P\xc3\xa9" "01"));
	assert_false(sim_participant_id_valid(""));
	assert_false(sim_participant_id_valid("P 01"));
	assert_false(sim_participant_id_valid("P01.x"));
	assert_false(sim_participant_id_valid(
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234"));
}

static void
test_answer_parse(void **state)
{
	struct sim_lab_answer a;
	char why[256], body[16384];
	size_t n;

	(void)state;
	/* A %00 is refused, not truncated. */
	snprintf(body, sizeof(body),
		 "assignmentId=3ABC&boxes=%%5B%%5D&feedback=before%%00after");
	assert_int_equal(sim_lab_answer_parse(body, strlen(body), &a, why,
					      sizeof(why)),
			 -1);
	assert_non_null(strstr(why, "NUL"));
	sim_lab_answer_cleanup(&a);
	/* A raw NUL byte too. */
	memcpy(body, "assignmentId=3ABC&feedback=a\0b", 31);
	assert_int_equal(sim_lab_answer_parse(body, 31, &a, why, sizeof(why)),
			 -1);
	sim_lab_answer_cleanup(&a);
	/* 2000 characters of feedback pass, 2001 do not ("é" is 2 bytes). */
	for (int extra = 0; extra < 2; extra++) {
		n = (size_t)snprintf(body, sizeof(body), "%s",
				     "assignmentId=3ABC&csrf_token=t&"
				     "feedback=");
		for (int i = 0; i < SIM_FEEDBACK_MAX + extra; i++)
			n += (size_t)snprintf(body + n, sizeof(body) - n,
					      "%%C3%%A9");
		assert_int_equal(sim_lab_answer_parse(body, n, &a, why,
						      sizeof(why)),
				 extra == 0 ? 0 : -1);
		if (extra == 0) {
			assert_string_equal(a.csrf, "t");
			assert_string_equal(a.assignment_id, "3ABC");
			/* The token is not part of the answer. */
			assert_null(strstr(a.xml, "csrf"));
		}
		sim_lab_answer_cleanup(&a);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_open_and_share),
		cmocka_unit_test(test_expired_assignment_returns),
		cmocka_unit_test(test_qualification_keeps_out),
		cmocka_unit_test(test_ids_kept_as_given),
		cmocka_unit_test(test_answer_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
