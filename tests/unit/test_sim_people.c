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

#include "tests/support/people_rig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct people_rig *
fixture_new(void)
{
	struct sim_store_config cfg;

	people_rig_participants(&cfg);
	return people_rig_new(&cfg, NULL);
}

/* A HIT of max assignments and duration 300 s; its id into out. */
static void
make_hit(struct people_rig *f, int max, const char *quals,
	 char out[SIM_ID_LEN + 1])
{
	people_rig_post_hit(f, max, "exp/img/1", quals, out);
}

static void
test_one_open_and_share(void **state)
{
	struct people_rig *f = fixture_new();
	char h1[SIM_ID_LEN + 1], h2[SIM_ID_LEN + 1], h3[SIM_ID_LEN + 1];
	char a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1];
	char open[SIM_ID_LEN + 1];
	int submitted = -1;

	(void)state;
	make_hit(f, 3, NULL, h1);
	make_hit(f, 3, NULL, h2);
	make_hit(f, 3, NULL, h3);
	/* Peeking takes nothing. */
	assert_int_equal(people_rig_take(f, "P01", 2, true, a), 0);
	assert_string_equal(a, "");
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_string_equal(open, "");
	assert_int_equal(people_rig_take(f, "P01", 2, false, a), 0);
	/* One open assignment at a time: the same one again. */
	assert_int_equal(people_rig_take(f, "P01", 2, false, b), 0);
	assert_string_equal(a, b);
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_string_equal(open, a);
	assert_int_equal(submitted, 0);
	assert_int_equal(people_rig_submit(f, "P01", a), 0);
	/* The next task is another HIT: never the same one twice. */
	assert_int_equal(people_rig_take(f, "P01", 2, false, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(people_rig_submit(f, "P01", b), 0);
	/* Share done (2): nothing more, though h3 is open. */
	assert_int_equal(people_rig_take(f, "P01", 2, true, a), 1);
	assert_int_equal(people_rig_take(f, "P01", 2, false, a), 1);
	sim_store_people_status(f->st, "P01", open, &submitted);
	assert_int_equal(submitted, 2);
	/* No share: the third, then nothing left. */
	assert_int_equal(people_rig_take(f, "P01", 0, false, a), 0);
	assert_int_equal(people_rig_submit(f, "P01", a), 0);
	assert_int_equal(people_rig_take(f, "P01", 0, false, a), 1);
	people_rig_free(f);
}

static void
test_expired_assignment_returns(void **state)
{
	struct people_rig *f = fixture_new();
	char h[SIM_ID_LEN + 1], a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1];
	char c[SIM_ID_LEN + 1];
	char *q = NULL, hit[SIM_ID_LEN + 1];

	(void)state;
	make_hit(f, 1, NULL, h);
	assert_int_equal(people_rig_take(f, "P01", 0, false, a), 0);
	/* Full while P01 holds it. */
	assert_int_equal(people_rig_take(f, "AP01", 0, false, b), 1);
	/* P01's 300 s run out: back in the pool for AP01. */
	f->now_ms += 301 * 1000;
	assert_int_equal(sim_store_people_task(f->st, "P01", a, &q, hit), 0);
	assert_null(q);
	assert_int_equal(people_rig_take(f, "AP01", 0, false, b), 0);
	assert_string_not_equal(a, b);
	/* P01's late submit is refused; AP01's holds. */
	assert_int_not_equal(people_rig_submit(f, "P01", a), 0);
	/* Another participant cannot submit AP01's assignment. */
	assert_int_not_equal(people_rig_submit(f, "P01", b), 0);
	assert_int_not_equal(people_rig_submit(f, "p01", b), 0);
	assert_int_equal(sim_store_people_task(f->st, "AP01", b, &q, hit), 0);
	assert_string_equal(hit, h);
	free(q);
	assert_int_equal(people_rig_submit(f, "AP01", b), 0);
	/* Closed once submitted: no page, and P01 may not take it again. */
	assert_int_equal(sim_store_people_task(f->st, "AP01", b, &q, hit), 0);
	assert_null(q);
	assert_int_equal(people_rig_take(f, "P01", 0, false, c), 1);
	people_rig_free(f);
}

static void
test_qualification_keeps_out(void **state)
{
	struct people_rig *f = fixture_new();
	char h1[SIM_ID_LEN + 1], h2[SIM_ID_LEN + 1], quals[512];
	char qid[SIM_ID_LEN + 1], a[SIM_ID_LEN + 1], b[SIM_ID_LEN + 1];
	char hit[SIM_ID_LEN + 1], *q = NULL;

	(void)state;
	make_hit(f, 5, NULL, h1);
	assert_int_equal(people_rig_take(f, "p-0-1", 0, false, a), 0);
	assert_int_equal(people_rig_submit(f, "p-0-1", a), 0);
	/* Real participants' ids need not look like MTurk's. */
	people_rig_grant(f, "p-0-1", 1, qid);
	snprintf(quals, sizeof(quals),
		 ",\"QualificationRequirements\":[{\"QualificationTypeId\":"
		 "\"%s\",\"Comparator\":\"DoesNotExist\"}]",
		 qid);
	make_hit(f, 5, quals, h2);
	/* p-0-1 is kept out of h2: nothing for them. */
	assert_int_equal(people_rig_take(f, "p-0-1", 0, true, a), 1);
	assert_int_equal(people_rig_take(f, "p-0-1", 0, false, a), 1);
	/* P01, AP01 and Pe01 are three participants, each let in. */
	assert_int_equal(people_rig_take(f, "P01", 0, false, a), 0);
	assert_int_equal(people_rig_take(f, "AP01", 0, false, b), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(sim_store_people_task(f->st, "P01", a, &q, hit), 0);
	free(q);
	/* p-0-1 sees nothing of P01's h2 assignment. */
	assert_int_equal(sim_store_people_task(f->st, "p-0-1", a, &q, hit),
			 0);
	assert_null(q);
	people_rig_free(f);
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
