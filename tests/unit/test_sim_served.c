/*
 * The simulated crowd sees what it is served (issue 17): a worker judges a
 * face hidden only when the image the daemon serves hides it, whatever
 * the aggregation; and the crowd's model is a setting.
 *
 * The oracle is the daemon's own path from answers to redaction: each
 * simulated answer is parsed as the daemon parses it (answer_parse), each
 * stage's answers combined by the daemon's aggregate_boxes(), and every
 * answer of the next stage must be exactly what the crowd model gives for
 * an image with that redaction (sim_crowd_answer with those boxes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "mturk/mturk.h"
#include "sim/sim_private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 800
#define H 600
#define STAGES 3
#define WORKERS 5

/* Sides from well below to well above the windows: p spans 0.05-0.99. */
static const struct sim_face faces[] = {
	{20, 20, 14, 16},   {80, 30, 20, 22},	{150, 40, 26, 28},
	{230, 50, 32, 32},  {300, 60, 38, 40},	{380, 70, 44, 46},
	{460, 80, 50, 52},  {540, 90, 20, 20},	{600, 300, 28, 30},
	{100, 400, 34, 36}, {300, 420, 24, 24}, {500, 450, 40, 40},
};
#define NFACES (sizeof(faces) / sizeof(faces[0]))
static const int windows[STAGES] = {41, 27, 13};

static int64_t
fixed_clock(void *ctx)
{
	(void)ctx;
	return 1767323045000LL;
}

static json_t *
call_ok(struct sim_store *st, const char *op, const char *text)
{
	json_t *req = json_loads(text, 0, NULL), *resp = NULL;
	struct sim_err err;

	assert_non_null(req);
	if (sim_store_call(st, op, req, &resp, &err) != 0)
		fail_msg("%s: %s %s", op, err.type, err.message);
	json_decref(req);
	return resp;
}

/* Appends boxes to a served set of faces. */
static void
serve(struct sim_face **served, size_t *n, const struct box *b, size_t nb)
{
	*served = realloc(*served, (*n + nb + 1) * sizeof(**served));
	assert_non_null(*served);
	for (size_t i = 0; i < nb; i++)
		(*served)[(*n)++] = (struct sim_face){b[i].x, b[i].y, b[i].w,
						      b[i].h};
}

/*
 * The order of the daemon's state (store_assignments_for): submission
 * time in seconds, assignment id, worker id.
 */
static int
daemon_order(const void *x, const void *y)
{
	const struct assignment_rec *a = x, *b = y;
	int c;

	if (a->submit_time != b->submit_time)
		return a->submit_time < b->submit_time ? -1 : 1;
	if ((c = strcmp(a->assignment_id, b->assignment_id)) != 0)
		return c;
	return strcmp(a->worker_id, b->worker_id);
}

struct tally {
	size_t answers;
	size_t differs_from_all_boxes; /* the old crowd would answer else */
};

static void
run_rule(int rule, enum sim_aggregate sim_rule, uint64_t seed,
	 struct tally *t)
{
	struct sim_store_config cfg = {.seed = seed, .clock_ms = fixed_clock};
	struct sim_image im = {"img", W, H, faces, NFACES,
			       NULL, 0, NULL, 0};
	struct sim_crowd_model model = SIM_CROWD_MODEL_DEFAULT;
	struct sim_experiment exp = {"e", windows, STAGES, &im, 1, sim_rule,
				     &model};
	struct sim_store *st = sim_store_new(&cfg);
	struct sim_face *served = NULL, *all = NULL;
	size_t nserved = 0, nall = 0;
	struct errbuf eb = {0};

	assert_non_null(st);
	assert_int_equal(sim_store_add_experiment(st, &exp, &eb), IF_OK);
	for (int s = 1; s <= STAGES; s++) {
		struct assignment_rec recs[WORKERS];
		char req[512], ann[32];
		json_t *hit, *list, *asgs;
		struct box *red = NULL;
		size_t nred = 0, n;

		memset(recs, 0, sizeof(recs));
		snprintf(ann, sizeof(ann), "e/img/%d", s);
		snprintf(req, sizeof(req),
			 "{\"Title\":\"t\",\"Description\":\"d\","
			 "\"Reward\":\"0.15\",\"AssignmentDurationInSeconds\":"
			 "300,\"LifetimeInSeconds\":3600,\"MaxAssignments\":%d,"
			 "\"Question\":\"<q/>\","
			 "\"RequesterAnnotation\":\"%s\"}",
			 WORKERS, ann);
		hit = call_ok(st, "CreateHIT", req);
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}",
			 json_string_value(json_object_get(
				 json_object_get(hit, "HIT"), "HITId")));
		list = call_ok(st, "ListAssignmentsForHIT", req);
		asgs = json_object_get(list, "Assignments");
		n = json_array_size(asgs);
		assert_int_equal(n, WORKERS);
		for (size_t i = 0; i < n; i++) {
			json_t *a = json_array_get(asgs, i);
			const char *xml = json_string_value(
				json_object_get(a, "Answer"));
			const char *worker = json_string_value(
				json_object_get(a, "WorkerId"));
			struct sim_crowd_task task = {
				.image = &im, .window = windows[s - 1],
				.stage = s, .model = &model,
				.covered = served, .ncovered = nserved};
			struct sim_crowd_answer want, old;
			struct answer got;
			enum answer_error why;

			answer_init(&got);
			assert_int_equal(answer_parse(xml, strlen(xml), W, H,
						      &got, &why, &eb),
					 IF_OK);
			/* The oracle: the model on the image as served. */
			assert_int_equal(sim_crowd_answer(seed, ann, 0, worker,
							  &task, &want, &eb),
					 IF_OK);
			assert_int_equal(got.nboxes, want.nboxes);
			for (size_t k = 0; k < got.nboxes; k++) {
				assert_int_equal(got.boxes[k].x,
						 want.boxes[k].x);
				assert_int_equal(got.boxes[k].y,
						 want.boxes[k].y);
				assert_int_equal(got.boxes[k].w,
						 want.boxes[k].w);
				assert_int_equal(got.boxes[k].h,
						 want.boxes[k].h);
			}
			/* What a crowd that took every box as hidden says. */
			task.covered = all;
			task.ncovered = nall;
			assert_int_equal(sim_crowd_answer(seed, ann, 0, worker,
							  &task, &old, &eb),
					 IF_OK);
			t->answers++;
			if (old.nboxes != want.nboxes ||
			    (want.nboxes > 0 &&
			     memcmp(old.boxes, want.boxes,
				    want.nboxes * sizeof(*want.boxes)) != 0))
				t->differs_from_all_boxes++;
			sim_crowd_answer_cleanup(&want);
			sim_crowd_answer_cleanup(&old);
			assert_int_equal(boxes_to_json(got.boxes, got.nboxes,
						       &recs[i].boxes, &eb),
					 IF_OK);
			recs[i].valid = 1;
			recs[i].submit_time = (int64_t)json_number_value(
				json_object_get(a, "SubmitTime"));
			snprintf(recs[i].assignment_id,
				 sizeof(recs[i].assignment_id), "%s",
				 json_string_value(
					 json_object_get(a, "AssignmentId")));
			snprintf(recs[i].worker_id, sizeof(recs[i].worker_id),
				 "%s", worker);
			answer_cleanup(&got);
		}
		/* The daemon's redaction of this stage, in its order. */
		qsort(recs, n, sizeof(recs[0]), daemon_order);
		assert_int_equal(aggregate_boxes(rule, recs, n, W, H, &red,
						 &nred, &eb),
				 IF_OK);
		serve(&served, &nserved, red, nred);
		free(red);
		for (size_t i = 0; i < n; i++) {
			struct box *b = NULL;
			size_t nb = 0;

			assert_int_equal(boxes_from_json(recs[i].boxes, &b,
							 &nb, &eb),
					 IF_OK);
			serve(&all, &nall, b, nb);
			free(b);
			free(recs[i].boxes);
		}
		json_decref(list);
		json_decref(hit);
	}
	free(served);
	free(all);
	sim_store_free(st);
}

static void
test_union(void **state)
{
	struct tally t = {0};

	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++)
		run_rule(EXP_AGG_UNION, SIM_AGG_UNION, seed, &t);
	assert_int_equal(t.answers, 8 * STAGES * WORKERS);
	/* Under union what is served is every box: nothing differs. */
	assert_int_equal(t.differs_from_all_boxes, 0);
}

static void
test_first(void **state)
{
	struct tally t = {0};

	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++)
		run_rule(EXP_AGG_FIRST, SIM_AGG_FIRST, seed, &t);
	print_message("# first: %zu of %zu answers see a face the old crowd "
		      "took as hidden\n",
		      t.differs_from_all_boxes, t.answers);
	/* The oracle tells the two crowds apart on these runs. */
	assert_true(t.differs_from_all_boxes > 0);
}

static void
test_majority(void **state)
{
	struct tally t = {0};

	(void)state;
	for (uint64_t seed = 1; seed <= 8; seed++)
		run_rule(EXP_AGG_MAJORITY, SIM_AGG_MAJORITY, seed, &t);
	print_message("# majority: %zu of %zu answers see a face the old "
		      "crowd took as hidden\n",
		      t.differs_from_all_boxes, t.answers);
	assert_true(t.differs_from_all_boxes > 0);
}

/* The model's numbers are the crowd's: curve, spurious boxes, jitter. */
static void
test_model_settings(void **state)
{
	struct sim_crowd_model m = {2.0, 0.5, 0.0, 0.0};
	struct sim_image im = {"img", W, H, faces, NFACES,
			       NULL, 0, NULL, 0};
	struct sim_crowd_task task = {.image = &im, .window = 41, .stage = 1,
				      .model = &m};
	struct errbuf eb = {0};
	size_t spurious = 0;

	(void)state;
	assert_true(fabs(sim_crowd_p_find_model(&m, 41, 41) -
			 1.0 / (1.0 + exp(-2.0 * 0.5))) < 1e-12);
	assert_true(fabs(sim_crowd_p_find_model(&m, 41, 82) - 0.5) < 1e-12);
	assert_true(sim_crowd_p_find_model(NULL, 41, 41) == 0.5);
	for (int i = 0; i < 200; i++) {
		char worker[16];
		struct sim_crowd_answer a;

		snprintf(worker, sizeof(worker), "W%d", i);
		assert_int_equal(sim_crowd_answer(7, "e/img/1", 0, worker,
						  &task, &a, &eb),
				 IF_OK);
		/* No jitter, no spurious box: every box is a face as is. */
		for (size_t k = 0; k < a.nboxes; k++) {
			bool is_face = false;

			for (size_t f = 0; f < NFACES; f++)
				is_face |= memcmp(&a.boxes[k], &faces[f],
						  sizeof(faces[f])) == 0;
			assert_true(is_face);
		}
		sim_crowd_answer_cleanup(&a);
	}
	m.spurious = 1.0;
	m.k = 1000.0; /* a step: only faces wider than x0 * window */
	m.x0 = 10.0;
	for (int i = 0; i < 50; i++) {
		char worker[16];
		struct sim_crowd_answer a;

		snprintf(worker, sizeof(worker), "W%d", i);
		assert_int_equal(sim_crowd_answer(7, "e/img/1", 0, worker,
						  &task, &a, &eb),
				 IF_OK);
		/* No face is 410 px wide: the one box is the spurious one. */
		assert_int_equal(a.nboxes, 1);
		assert_false(a.face_found);
		spurious += a.nboxes;
		sim_crowd_answer_cleanup(&a);
	}
	assert_int_equal(spurious, 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_union),
		cmocka_unit_test(test_first),
		cmocka_unit_test(test_majority),
		cmocka_unit_test(test_model_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
