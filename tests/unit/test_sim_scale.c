/*
 * sim/sim_persist.c and sim_db.c at scale (issue 15): with a state
 * directory, a saved record's payload (a HIT's values and Question, an
 * assignment's answer, feedback and boxes, an S3 object's bytes) leaves
 * memory and is read back from sim.db, and every answer of the service is
 * the same as a store kept in memory gives for the same requests.
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
	char *dir; /* NULL: memory only */
};

static int64_t
fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now_ms;
}

/* A store with seed 5; kept in a new temporary directory when on_disk. */
static struct fixture *
fixture_new(bool on_disk)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sim_store_config cfg;
	struct errbuf eb;
	char tmpl[] = "/tmp/intofocus-simscale.XXXXXX";

	assert_non_null(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 5;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = f;
	f->now_ms = 1767323045000LL; /* 2026-01-02T03:04:05Z */
	f->st = sim_store_new(&cfg);
	assert_non_null(f->st);
	if (on_disk) {
		assert_non_null(mkdtemp(tmpl));
		f->dir = strdup(tmpl);
		assert_non_null(f->dir);
		err_init(&eb);
		assert_int_equal(sim_store_open(f->st, f->dir, &eb), IF_OK);
	}
	return f;
}

static void
fixture_free(struct fixture *f)
{
	char cmd[300];

	sim_store_free(f->st);
	if (f->dir != NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
		assert_int_equal(system(cmd), 0);
		free(f->dir);
	}
	free(f);
}

static json_t *
call_ok(struct fixture *f, const char *op, const char *req_text)
{
	json_error_t je;
	json_t *req = json_loads(req_text, 0, &je), *resp = NULL;
	struct sim_err err;

	assert_non_null(req);
	if (sim_store_call(f->st, op, req, &resp, &err) != 0)
		fail_msg("%s failed: %s %s %s", op, err.type, err.turk,
			 err.message);
	json_decref(req);
	return resp;
}

/* A HIT of three simulated workers, each with an answer at once. */
static const char create_req[] =
	"{\"Title\":\"Box faces\",\"Description\":\"d\",\"Reward\":\"0.15\","
	"\"AssignmentDurationInSeconds\":300,\"LifetimeInSeconds\":3600,"
	"\"MaxAssignments\":3,\"Question\":\"<q>a long task page</q>\","
	"\"RequesterAnnotation\":\"exp/img/1\"}";

/* The id member of a response's object member (a copy). */
static char *
member_id(json_t *r, const char *obj, const char *id)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(r, obj), id));

	assert_non_null(s);
	return strdup(s);
}

/*
 * The same requests on a store in memory and on one on disk: the same
 * answers, while the one on disk holds no payload in memory.
 */
static void
test_payloads_read_back_the_same(void **state)
{
	struct fixture *mem = fixture_new(false), *disk = fixture_new(true);
	struct fixture *both[2] = {mem, disk};
	json_t *got[2][4];
	char req[256];

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct fixture *f = both[k];
		json_t *r = call_ok(f, "CreateHIT", create_req), *asgs;
		char *hit = member_id(r, "HIT", "HITId"), *asg;

		json_decref(r);
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
		got[k][0] = call_ok(f, "GetHIT", req);
		got[k][1] = call_ok(f, "ListAssignmentsForHIT", req);
		asgs = json_object_get(got[k][1], "Assignments");
		assert_int_equal(json_array_size(asgs), 3);
		asg = strdup(json_string_value(json_object_get(
			json_array_get(asgs, 0), "AssignmentId")));
		snprintf(req, sizeof(req),
			 "{\"AssignmentId\":\"%s\",\"RequesterFeedback\":"
			 "\"thanks\"}",
			 asg);
		json_decref(call_ok(f, "ApproveAssignment", req));
		snprintf(req, sizeof(req), "{\"AssignmentId\":\"%s\"}", asg);
		got[k][2] = call_ok(f, "GetAssignment", req);
		got[k][3] = call_ok(f, "ListHITs", "{}");
		free(asg);
		free(hit);
	}
	for (int i = 0; i < 4; i++) {
		if (!json_equal(got[0][i], got[1][i])) {
			char *a = json_dumps(got[0][i], JSON_SORT_KEYS);
			char *b = json_dumps(got[1][i], JSON_SORT_KEYS);

			fail_msg("answer %d differs:\nmemory %s\ndisk   %s", i,
				 a, b);
		}
		json_decref(got[0][i]);
		json_decref(got[1][i]);
	}
	/* In memory: everything; on disk: the index only. */
	assert_int_equal(mem->st->nhits, 1);
	assert_non_null(mem->st->hits[0]->vals);
	assert_int_equal(disk->st->nhits, 1);
	assert_null(disk->st->hits[0]->vals);
	assert_int_equal(disk->st->nasgs, 3);
	for (size_t i = 0; i < disk->st->nasgs; i++) {
		assert_true(mem->st->asgs[i]->resident);
		assert_non_null(mem->st->asgs[i]->answer);
		assert_false(disk->st->asgs[i]->resident);
		assert_null(disk->st->asgs[i]->answer);
		assert_null(disk->st->asgs[i]->feedback);
	}
	assert_int_equal(disk->st->nloaded_asgs, 0);
	fixture_free(mem);
	fixture_free(disk);
}

/* The feedback of an approval is saved with the answer it came with. */
static void
test_approval_keeps_the_answer(void **state)
{
	struct fixture *f = fixture_new(true);
	struct asg_payload p;
	json_t *r = call_ok(f, "CreateHIT", create_req);
	struct asg *a;
	char req[256], *answer;

	(void)state;
	json_decref(r);
	a = f->st->asgs[1];
	assert_false(a->resident);
	assert_int_equal(sim_asg_payload(f->st, a, &p), 0);
	assert_non_null(p.answer);
	assert_non_null(strstr(p.answer, "QuestionFormAnswers"));
	answer = strdup(p.answer);
	sim_asg_payload_cleanup(&p);
	snprintf(req, sizeof(req),
		 "{\"AssignmentId\":\"%s\",\"RequesterFeedback\":\"good\"}",
		 a->id);
	json_decref(call_ok(f, "ApproveAssignment", req));
	assert_false(a->resident);
	assert_int_equal(sim_asg_payload(f->st, a, &p), 0);
	assert_string_equal(p.answer, answer);
	assert_string_equal(p.feedback, "good");
	sim_asg_payload_cleanup(&p);
	free(answer);
	fixture_free(f);
}

/* S3 objects: their bytes in sim.db once saved, read back whole. */
static void
test_object_bytes_from_the_database(void **state)
{
	struct fixture *f = fixture_new(true);
	static const char bytes[] = "\xff\xd8\xff\x00jpeg\x00bytes";
	char *data = NULL, ct[128];
	size_t len = 0;

	(void)state;
	assert_int_equal(sim_store_put_object(f->st, "bucket/a.jpg", bytes,
					      sizeof(bytes), "image/jpeg"),
			 0);
	assert_int_equal(f->st->nobjects, 1);
	assert_false(f->st->objects[0]->resident);
	assert_null(f->st->objects[0]->data);
	assert_int_equal(sim_store_get_object(f->st, "bucket/a.jpg", &data,
					      &len, ct, sizeof(ct)),
			 0);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(data, bytes, sizeof(bytes));
	assert_string_equal(ct, "image/jpeg");
	free(data);
	assert_int_equal(sim_store_get_object(f->st, "bucket/none.jpg", &data,
					      &len, ct, sizeof(ct)),
			 -1);
	fixture_free(f);
}

/* sim_db_get: a record, and a missing one as an error, not as empty. */
static void
test_db_get(void **state)
{
	struct fixture *f = fixture_new(true);
	struct errbuf eb;
	char *body = NULL, *data = NULL;
	size_t len = 0;

	(void)state;
	json_decref(call_ok(f, "CreateHIT", create_req));
	err_init(&eb);
	assert_int_equal(sim_db_get(f->st->db, "hits", f->st->hits[0]->id,
				    &body, NULL, NULL, &eb),
			 IF_OK);
	assert_non_null(strstr(body, "a long task page"));
	free(body);
	assert_int_equal(sim_db_get(f->st->db, "hits", "3NOSUCHHIT", &body,
				    &data, &len, &eb),
			 IF_ERUNTIME);
	assert_null(body);
	assert_null(data);
	assert_non_null(strstr(eb.msg, "no record hits 3NOSUCHHIT"));
	fixture_free(f);
}

/* A worker's assignments share one copy of the worker's id. */
static void
test_worker_ids_interned(void **state)
{
	struct fixture *f = fixture_new(false);
	const char *a, *b;

	(void)state;
	a = sim_intern(f->st, "A1B2C3D4E5F6G7");
	b = sim_intern(f->st, "A1B2C3D4E5F6G7");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, sim_intern(f->st, "A1B2C3D4E5F6G8"));
	assert_string_equal(a, "A1B2C3D4E5F6G7");
	fixture_free(f);
}

/*
 * A participant's standing comes from their own assignments (the index by
 * worker), among many of other workers: their open one, their count.
 */
static void
test_standing_by_worker(void **state)
{
	struct fixture *f = fixture_new(true);
	char asg[SIM_ID_LEN + 1], open[SIM_ID_LEN + 1], why[256], who[16];
	int submitted = -1;

	(void)state;
	f->st->cfg.crowd_off = true;
	f->st->cfg.people = true;
	for (int i = 0; i < 40; i++)
		json_decref(call_ok(f, "CreateHIT", create_req));
	/* 30 others take a task each, P07 among them. */
	for (int i = 0; i < 30; i++) {
		snprintf(who, sizeof(who), "P%02d", i);
		assert_int_equal(sim_store_people_take(f->st, who, 0, false,
						       asg, why, sizeof(why)),
				 0);
	}
	assert_int_equal(sim_store_people_status(f->st, "P07", open,
						 &submitted),
			 0);
	assert_int_equal(submitted, 0);
	assert_non_null(sim_find_asg(f->st, open));
	assert_string_equal(sim_find_asg(f->st, open)->worker_id, "P07");
	assert_int_equal(sim_store_people_submit(f->st, "P07", open,
						 strdup("<a/>"), "[]", why,
						 sizeof(why)),
			 0);
	/* Then a second one: the new one is open, one submitted. */
	assert_int_equal(sim_store_people_take(f->st, "P07", 0, false, asg,
					       why, sizeof(why)),
			 0);
	assert_int_equal(sim_store_people_status(f->st, "P07", open,
						 &submitted),
			 0);
	assert_string_equal(open, asg);
	assert_int_equal(submitted, 1);
	/* Nobody else's assignment counts for P99, who has none. */
	assert_int_equal(sim_store_people_status(f->st, "P99", open,
						 &submitted),
			 0);
	assert_string_equal(open, "");
	assert_int_equal(submitted, 0);
	assert_null(sim_find_asgs_by_worker(f->st, "P99"));
	/* P07's two, newest first, and no one else's. */
	{
		struct asg *a = sim_find_asgs_by_worker(f->st, "P07");

		assert_non_null(a);
		assert_string_equal(a->id, asg);
		assert_non_null(a->worker_prev);
		assert_string_equal(a->worker_prev->worker_id, "P07");
		assert_null(a->worker_prev->worker_prev);
	}
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payloads_read_back_the_same),
		cmocka_unit_test(test_approval_keeps_the_answer),
		cmocka_unit_test(test_object_bytes_from_the_database),
		cmocka_unit_test(test_db_get),
		cmocka_unit_test(test_worker_ids_interned),
		cmocka_unit_test(test_standing_by_worker),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
