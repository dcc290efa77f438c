/*
 * sim/sim_persist.c and sim_db.c at scale (issue 15): a saved record's
 * payload (a HIT's values and Question, an assignment's answer, feedback
 * and boxes, an S3 object's bytes) leaves memory and is read back from
 * the database (sim.db, or the memory-only store's database in memory);
 * the records themselves are a working set that stays bounded as the
 * study grows, and a record dropped and loaded again is the same; every
 * answer of the service is the same with a state directory or without.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/people_rig.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The HIT, assignment, object or grant found (NULL: none); reads pass. */
static struct hit *
hit_of(struct sim_store *st, const char *id)
{
	struct hit *h;

	assert_int_equal(sim_find_hit(st, id, &h), 0);
	return h;
}

static struct asg *
asg_of(struct sim_store *st, const char *id)
{
	struct asg *a;

	assert_int_equal(sim_find_asg(st, id, &a), 0);
	return a;
}

static struct object *
object_of(struct sim_store *st, const char *path, size_t len)
{
	struct object *o;

	assert_int_equal(sim_find_object(st, path, len, &o), 0);
	return o;
}

static struct grant *
grant_of(struct sim_store *st, const char *qid, const char *worker)
{
	struct grant *g;

	assert_int_equal(sim_find_grant(st, qid, worker, &g), 0);
	return g;
}

/* A store with seed 5; kept in a new temporary directory when on_disk. */
static struct people_rig *
fixture_new(bool on_disk)
{
	struct sim_store_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 5;
	return people_rig_new(&cfg, on_disk ? "simscale" : NULL);
}

/* A HIT of three simulated workers, each with an answer at once. */
static const char create_req[] =
	"{\"Title\":\"Box faces\",\"Description\":\"d\",\"Reward\":\"0.15\","
	"\"AssignmentDurationInSeconds\":300,\"LifetimeInSeconds\":3600,"
	"\"MaxAssignments\":3,\"Question\":\"<q>a long task page</q>\","
	"\"RequesterAnnotation\":\"exp/img/1\"}";

/*
 * A HIT of three simulated workers for one image of a study (as a study's,
 * no HIT reads the others); its id into id.
 */
static void
hit_for_image(struct people_rig *f, const char *image,
	      char id[SIM_ID_LEN + 1])
{
	char ann[64];

	snprintf(ann, sizeof(ann), "exp/%s/1", image);
	people_rig_post_hit(f, 3, ann, NULL, id);
}

/* op (ApproveAssignment, RejectAssignment) of asg with feedback. */
static void
review(struct people_rig *f, const char *op, const char *asg,
       const char *feedback)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "{\"AssignmentId\":\"%s\",\"RequesterFeedback\":\"%s\"}",
		 asg, feedback);
	json_decref(people_rig_call(f, op, req));
}

/* A worker's assignments, newest first, into *mine (freed by the caller). */
static size_t
asgs_of(struct people_rig *f, const char *worker, struct asg ***mine)
{
	size_t n = 99;

	*mine = NULL;
	assert_int_equal(sim_find_asgs_by_worker(f->st, worker, mine, &n), 0);
	return n;
}

/*
 * The same requests on a store in memory and on one on disk: the same
 * answers, while the one on disk holds no payload in memory.
 */
static void
test_payloads_read_back_the_same(void **state)
{
	struct people_rig *mem = fixture_new(false), *disk = fixture_new(true);
	struct people_rig *both[2] = {mem, disk};
	json_t *got[2][4];
	char req[256], hits[2][SIM_ID_LEN + 1];

	(void)state;
	for (int k = 0; k < 2; k++) {
		struct people_rig *f = both[k];
		json_t *asgs;
		char *asg;

		people_rig_hit(f, create_req, hits[k]);
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hits[k]);
		got[k][0] = people_rig_call(f, "GetHIT", req);
		got[k][1] = people_rig_call(f, "ListAssignmentsForHIT", req);
		asgs = json_object_get(got[k][1], "Assignments");
		assert_int_equal(json_array_size(asgs), 3);
		asg = strdup(json_string_value(json_object_get(
			json_array_get(asgs, 0), "AssignmentId")));
		review(f, "ApproveAssignment", asg, "thanks");
		snprintf(req, sizeof(req), "{\"AssignmentId\":\"%s\"}", asg);
		got[k][2] = people_rig_call(f, "GetAssignment", req);
		got[k][3] = people_rig_call(f, "ListHITs", "{}");
		free(asg);
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
	/* Both hold the records without their payloads: one code path. */
	for (int k = 0; k < 2; k++) {
		struct sim_store *st = both[k]->st;
		struct hit *h = hit_of(st, hits[k]);

		assert_non_null(h);
		assert_null(h->vals);
		assert_int_equal(h->nasgs, 3);
		for (size_t i = 0; i < h->nasgs; i++) {
			assert_false(h->asgs[i]->resident);
			assert_null(h->asgs[i]->answer);
			assert_null(h->asgs[i]->feedback);
		}
		assert_int_equal(st->nloaded_asgs, 0);
	}
	people_rig_free(mem);
	people_rig_free(disk);
}

/* The feedback of an approval is saved with the answer it came with. */
static void
test_approval_keeps_the_answer(void **state)
{
	struct people_rig *f = fixture_new(true);
	struct asg_payload p;
	struct asg *a;
	char hit[SIM_ID_LEN + 1], *answer, id[SIM_ID_LEN + 1];

	(void)state;
	people_rig_hit(f, create_req, hit);
	a = hit_of(f->st, hit)->asgs[1];
	snprintf(id, sizeof(id), "%s", a->id);
	assert_false(a->resident);
	assert_int_equal(sim_asg_payload(f->st, a, &p), 0);
	assert_non_null(p.answer);
	assert_non_null(strstr(p.answer, "QuestionFormAnswers"));
	answer = strdup(p.answer);
	sim_asg_payload_cleanup(&p);
	review(f, "ApproveAssignment", id, "good");
	/* A record is valid only while the lock is held: found again. */
	a = asg_of(f->st, id);
	assert_non_null(a);
	assert_false(a->resident);
	assert_int_equal(sim_asg_payload(f->st, a, &p), 0);
	assert_string_equal(p.answer, answer);
	assert_string_equal(p.feedback, "good");
	sim_asg_payload_cleanup(&p);
	free(answer);
	people_rig_free(f);
}

/* S3 objects: their bytes in sim.db once saved, read back whole. */
static void
test_object_bytes_from_the_database(void **state)
{
	struct people_rig *f = fixture_new(true);
	static const char bytes[] = "\xff\xd8\xff\x00jpeg\x00bytes";
	char *data = NULL, ct[128];
	size_t len = 0;
	bool found = false;

	(void)state;
	assert_int_equal(sim_store_put_object(f->st, "bucket/a.jpg", bytes,
					      sizeof(bytes), "image/jpeg"),
			 0);
	{
		struct object *o = object_of(f->st, "bucket/a.jpg", 12);

		assert_non_null(o);
		assert_false(o->resident);
		assert_null(o->data);
	}
	assert_int_equal(sim_store_get_object(f->st, "bucket/a.jpg", &data,
					      &len, ct, sizeof(ct), &found),
			 0);
	assert_true(found);
	assert_int_equal(len, sizeof(bytes));
	assert_memory_equal(data, bytes, sizeof(bytes));
	assert_string_equal(ct, "image/jpeg");
	free(data);
	assert_int_equal(sim_store_get_object(f->st, "bucket/none.jpg", &data,
					      &len, ct, sizeof(ct), &found),
			 0);
	assert_false(found);
	people_rig_free(f);
}

/* sim_db_get: a record, and a missing one as an error, not as empty. */
static void
test_db_get(void **state)
{
	struct people_rig *f = fixture_new(true);
	struct errbuf eb;
	char *body = NULL, *data = NULL, hit[SIM_ID_LEN + 1];
	size_t len = 0;

	(void)state;
	people_rig_hit(f, create_req, hit);
	err_init(&eb);
	/* The HIT's values in their own record, written once; its
	 * record, saved at every change, without them. */
	assert_int_equal(sim_db_get(f->st->db, "hit_values", hit, &body, NULL,
				    NULL, &eb),
			 IF_OK);
	assert_non_null(strstr(body, "a long task page"));
	free(body);
	assert_int_equal(sim_db_get(f->st->db, "hits", hit, &body, NULL, NULL,
				    &eb),
			 IF_OK);
	assert_null(strstr(body, "a long task page"));
	assert_non_null(strstr(body, "\"created\""));
	free(body);
	assert_int_equal(sim_db_get(f->st->db, "hits", "3NOSUCHHIT", &body,
				    &data, &len, &eb),
			 IF_ERUNTIME);
	assert_null(body);
	assert_null(data);
	assert_non_null(strstr(eb.msg, "no record hits 3NOSUCHHIT"));
	people_rig_free(f);
}

/* Content types are kept once each, whatever the objects. */
static void
test_worker_ids_interned(void **state)
{
	struct people_rig *f = fixture_new(false);
	const char *a, *b;

	(void)state;
	a = sim_intern(f->st, "A1B2C3D4E5F6G7");
	b = sim_intern(f->st, "A1B2C3D4E5F6G7");
	assert_non_null(a);
	assert_ptr_equal(a, b);
	assert_ptr_not_equal(a, sim_intern(f->st, "A1B2C3D4E5F6G8"));
	assert_string_equal(a, "A1B2C3D4E5F6G7");
	people_rig_free(f);
}

/*
 * A participant's standing comes from their own assignments (the index by
 * worker), among many of other workers: their open one, their count.
 */
static void
test_standing_by_worker(void **state)
{
	struct people_rig *f = fixture_new(true);
	char asg[SIM_ID_LEN + 1], open[SIM_ID_LEN + 1], who[16];
	struct asg **mine = NULL;
	int submitted = -1;

	(void)state;
	f->st->cfg.crowd_off = true;
	f->st->cfg.people = true;
	for (int i = 0; i < 40; i++)
		json_decref(people_rig_call(f, "CreateHIT", create_req));
	/* 30 others take a task each, P07 among them. */
	for (int i = 0; i < 30; i++) {
		snprintf(who, sizeof(who), "P%02d", i);
		assert_int_equal(people_rig_take(f, who, 0, false, asg), 0);
	}
	assert_int_equal(sim_store_people_status(f->st, "P07", open,
						 &submitted),
			 0);
	assert_int_equal(submitted, 0);
	assert_non_null(asg_of(f->st, open));
	assert_string_equal(asg_of(f->st, open)->worker_id, "P07");
	assert_int_equal(people_rig_submit(f, "P07", open), 0);
	/* Then a second one: the new one is open, one submitted. */
	assert_int_equal(people_rig_take(f, "P07", 0, false, asg), 0);
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
	assert_int_equal(asgs_of(f, "P99", &mine), 0);
	free(mine);
	/* P07's two, newest first, and no one else's. */
	assert_int_equal(asgs_of(f, "P07", &mine), 2);
	assert_string_equal(mine[0]->id, asg);
	assert_string_equal(mine[0]->worker_id, "P07");
	assert_string_equal(mine[1]->worker_id, "P07");
	assert_string_not_equal(mine[1]->id, asg);
	free(mine);
	/* The same from the index once the records have left memory. */
	sim_store_evict(f->st);
	assert_int_equal(asgs_of(f, "P07", &mine), 2);
	assert_string_equal(mine[0]->id, asg);
	assert_string_equal(mine[1]->worker_id, "P07");
	free(mine);
	people_rig_free(f);
}

/*
 * The working set stays bounded as HITs grow: after every request, at
 * most SIM_RESIDENT_MAX records are resident, however many HITs there
 * are (counted in records, not bytes or time); and a HIT that left
 * memory long ago answers as it did when it was new.
 */
static void
run_bounded(bool on_disk)
{
	struct people_rig *f = fixture_new(on_disk);
	size_t most = 0, hits = 0, drops = 0, before;
	char req[256], image[32], id[SIM_ID_LEN + 1], first[SIM_ID_LEN + 1];
	json_t *r, *then, *now;

	/* Each HIT is 4 records (3 simulated workers): 3 x the bound. */
	while (hits * 4 < 3 * SIM_RESIDENT_MAX) {
		before = sim_store_resident(f->st);
		snprintf(image, sizeof(image), "img%zu", hits);
		hit_for_image(f, image, id);
		if (hits == 0)
			memcpy(first, id, sizeof(first));
		hits++;
		if (sim_store_resident(f->st) < before)
			drops++;
		if (sim_store_resident(f->st) > most)
			most = sim_store_resident(f->st);
		assert_true(sim_store_resident(f->st) <= SIM_RESIDENT_MAX);
	}
	assert_true(drops >= 2);
	assert_true(most > SIM_RESIDENT_MAX / 2);
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", first);
	then = people_rig_call(f, "ListAssignmentsForHIT", req);
	sim_store_evict(f->st);
	assert_int_equal(sim_store_resident(f->st), 0);
	now = people_rig_call(f, "ListAssignmentsForHIT", req);
	assert_true(json_equal(then, now));
	assert_int_equal(json_array_size(json_object_get(now, "Assignments")),
			 3);
	/* One HIT and its three assignments: loaded together. */
	assert_int_equal(sim_store_resident(f->st), 4);
	json_decref(then);
	json_decref(now);
	/* Every HIT is still listed, through the index. */
	r = people_rig_call(f, "ListHITs", "{\"MaxResults\":100}");
	assert_int_equal(json_array_size(json_object_get(r, "HITs")), 100);
	json_decref(r);
	people_rig_free(f);
}

static void
test_working_set_bounded_in_memory(void **state)
{
	(void)state;
	run_bounded(false);
}

static void
test_working_set_bounded_on_disk(void **state)
{
	(void)state;
	run_bounded(true);
}

/* A HIT's members, copied (a dropped record's memory is gone). */
struct hit_copy {
	struct hit h;
	json_t *vals;
	char *token, *ann, *quals;
	struct asg a[3];
	char *worker[3];
	struct asg_payload p[3];
};

static void
hit_copy_take(struct sim_store *st, struct hit *h, struct hit_copy *c)
{
	memset(c, 0, sizeof(*c));
	c->h = *h;
	c->vals = sim_hit_vals(st, h);
	assert_non_null(c->vals);
	c->token = h->token != NULL ? strdup(h->token) : NULL;
	c->ann = h->ann != NULL ? strdup(h->ann) : NULL;
	c->quals = h->quals != NULL ? json_dumps(h->quals, JSON_SORT_KEYS)
				    : NULL;
	assert_int_equal(h->nasgs, 3);
	for (size_t i = 0; i < 3; i++) {
		c->a[i] = *h->asgs[i];
		c->worker[i] = strdup(h->asgs[i]->worker_id);
		assert_int_equal(sim_asg_payload(st, h->asgs[i], &c->p[i]), 0);
		/* Owned copies, whatever the payload's residence. */
		if (c->p[i].own_answer == NULL && c->p[i].answer != NULL)
			c->p[i].own_answer = strdup(c->p[i].answer);
		if (c->p[i].own_feedback == NULL && c->p[i].feedback != NULL)
			c->p[i].own_feedback = strdup(c->p[i].feedback);
		if (c->p[i].own_boxes == NULL) {
			c->p[i].own_boxes = calloc(c->p[i].nboxes + 1,
						   sizeof(struct sim_face));
			if (c->p[i].nboxes > 0)
				memcpy(c->p[i].own_boxes, c->p[i].boxes,
				       c->p[i].nboxes *
					       sizeof(struct sim_face));
		}
	}
}

static void
hit_copy_cleanup(struct hit_copy *c)
{
	json_decref(c->vals);
	free(c->token);
	free(c->ann);
	free(c->quals);
	for (size_t i = 0; i < 3; i++) {
		free(c->worker[i]);
		sim_asg_payload_cleanup(&c->p[i]);
	}
}

/* Every member of two copies of one HIT and its assignments. */
static void
hit_copy_equal(const struct hit_copy *x, const struct hit_copy *y)
{
	assert_string_equal(x->h.id, y->h.id);
	assert_string_equal(x->h.type_id, y->h.type_id);
	assert_true(json_equal(x->vals, y->vals));
	assert_true(x->h.created_ms == y->h.created_ms);
	assert_true(x->h.expiration_ms == y->h.expiration_ms);
	assert_true(x->h.duration_s == y->h.duration_s);
	assert_true(x->h.autoapprove_s == y->h.autoapprove_s);
	assert_int_equal(x->h.max, y->h.max);
	assert_string_equal(x->token, y->token);
	assert_int_equal(x->h.deleted, y->h.deleted);
	assert_int_equal(x->h.expire_requested, y->h.expire_requested);
	assert_true(x->h.expire_at == y->h.expire_at);
	assert_int_equal(x->h.reviewing, y->h.reviewing);
	assert_string_equal(x->ann, y->ann);
	assert_int_equal(x->h.ann_key_len, y->h.ann_key_len);
	assert_string_equal(x->quals, y->quals);
	for (size_t i = 0; i < 3; i++) {
		const struct asg *a = &x->a[i], *b = &y->a[i];

		assert_string_equal(a->id, b->id);
		assert_string_equal(a->hit_id, b->hit_id);
		assert_string_equal(x->worker[i], y->worker[i]);
		assert_int_equal(a->state, b->state);
		assert_int_equal(a->simulated, b->simulated);
		assert_true(a->accept_ms == b->accept_ms);
		assert_true(a->submit_ms == b->submit_ms);
		assert_true(a->approval_ms == b->approval_ms);
		assert_true(a->rejection_ms == b->rejection_ms);
		if (x->p[i].own_answer == NULL)
			assert_null(y->p[i].own_answer);
		else
			assert_string_equal(x->p[i].own_answer,
					    y->p[i].own_answer);
		if (x->p[i].own_feedback == NULL)
			assert_null(y->p[i].own_feedback);
		else
			assert_string_equal(x->p[i].own_feedback,
					    y->p[i].own_feedback);
		assert_int_equal(x->p[i].nboxes, y->p[i].nboxes);
		if (x->p[i].nboxes > 0)
			assert_memory_equal(x->p[i].own_boxes,
					    y->p[i].own_boxes,
					    x->p[i].nboxes *
						    sizeof(struct sim_face));
	}
}

/*
 * A record dropped from the working set and loaded again equals the
 * original, every member: a HIT (token, annotation, requirements, a
 * requested expiry, Reviewing) with its assignments (approved with
 * feedback, rejected, submitted), a grant, an object.
 */
static void
run_reload_equal(bool on_disk)
{
	struct people_rig *f = fixture_new(on_disk);
	struct hit_copy before, after;
	struct hit *h;
	struct grant *g;
	struct object *o;
	char req[1024], qid[SIM_ID_LEN + 1], hit[SIM_ID_LEN + 1];
	char ids[3][SIM_ID_LEN + 1];

	people_rig_grant(f, "A1B2C3D4E5F6G7", 7, qid);
	snprintf(req, sizeof(req),
		 "{\"Title\":\"Box faces\",\"Description\":\"d\","
		 "\"Reward\":\"0.15\",\"AssignmentDurationInSeconds\":300,"
		 "\"LifetimeInSeconds\":3600,\"MaxAssignments\":3,"
		 "\"Question\":\"<q>page</q>\",\"UniqueRequestToken\":"
		 "\"tok-1\",\"RequesterAnnotation\":\"exp/img/2\","
		 "\"QualificationRequirements\":[{\"QualificationTypeId\":"
		 "\"%s\",\"Comparator\":\"DoesNotExist\"}]}",
		 qid);
	people_rig_hit(f, req, hit);
	h = hit_of(f->st, hit);
	assert_non_null(h);
	for (size_t i = 0; i < 3; i++)
		snprintf(ids[i], sizeof(ids[i]), "%s", h->asgs[i]->id);
	review(f, "ApproveAssignment", ids[0], "good");
	review(f, "RejectAssignment", ids[1], "no");
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\",\"ExpireAt\":0}", hit);
	json_decref(people_rig_call(f, "UpdateExpirationForHIT", req));
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", hit);
	json_decref(people_rig_call(f, "UpdateHITReviewStatus", req));
	assert_int_equal(sim_store_put_object(f->st, "b/k.png", "png", 3,
					      "image/png"),
			 0);
	h = hit_of(f->st, hit);
	hit_copy_take(f->st, h, &before);
	assert_true(before.h.reviewing);
	assert_true(before.h.expire_requested);
	assert_non_null(before.token);
	assert_non_null(before.quals);
	assert_int_equal(before.a[0].state, ASG_APPROVED);
	assert_string_equal(before.p[0].own_feedback, "good");
	assert_int_equal(before.a[1].state, ASG_REJECTED);
	assert_false(sim_changes_pending(f->st));
	sim_store_evict(f->st);
	assert_int_equal(sim_store_resident(f->st), 0);
	h = hit_of(f->st, hit);
	assert_non_null(h);
	hit_copy_take(f->st, h, &after);
	hit_copy_equal(&before, &after);
	/* An assignment alone brings its HIT; the same records. */
	sim_store_evict(f->st);
	assert_string_equal(asg_of(f->st, ids[2])->hit_id, hit);
	assert_int_equal(sim_store_resident(f->st), 4);
	assert_ptr_equal(hit_of(f->st, hit)->asgs[2],
			 asg_of(f->st, ids[2]));
	g = grant_of(f->st, qid, "A1B2C3D4E5F6G7");
	assert_non_null(g);
	assert_int_equal(g->value, 7);
	assert_string_equal(g->qual_id, qid);
	assert_string_equal(g->worker_id, "A1B2C3D4E5F6G7");
	assert_null(grant_of(f->st, qid, "A0000000000000"));
	o = object_of(f->st, "b/k.png", 7);
	assert_non_null(o);
	assert_string_equal(o->path, "b/k.png");
	assert_string_equal(o->content_type, "image/png");
	assert_null(object_of(f->st, "b/none.png", 10));
	/* The token still refuses a second HIT after the reload. */
	{
		struct hit **same = NULL;
		size_t n = 0;

		sim_store_evict(f->st);
		assert_int_equal(sim_find_hits_by_token(f->st, "tok-1", &same,
							&n),
				 0);
		assert_int_equal(n, 1);
		assert_string_equal(same[0]->id, hit);
		free(same);
		assert_int_equal(sim_find_hits_by_ann(f->st, "exp/img", 7,
						      SIM_ANN_HITS_MAX, &same,
						      &n),
				 0);
		assert_int_equal(n, 1);
		assert_string_equal(same[0]->id, hit);
		free(same);
	}
	hit_copy_cleanup(&before);
	hit_copy_cleanup(&after);
	people_rig_free(f);
}

static void
test_reload_equal_in_memory(void **state)
{
	(void)state;
	run_reload_equal(false);
}

static void
test_reload_equal_on_disk(void **state)
{
	(void)state;
	run_reload_equal(true);
}

/*
 * A failed save keeps its records: while the database refuses writes
 * (another connection holds its write lock), a new HIT answered with a
 * ServiceFault stays in the working set however large it grows, and it
 * is saved and found by the next request once writes pass again.
 */
static void
test_failed_save_keeps_records(void **state)
{
	struct people_rig *f = fixture_new(true);
	char(*ids)[SIM_ID_LEN + 1] = calloc(600, sizeof(*ids));
	char one[512], path[512], image[32], pending[SIM_ID_LEN + 1];
	struct sim_err err;
	sqlite3 *db = NULL;
	size_t n = 0;
	json_t *req, *resp = NULL;

	(void)state;
	assert_non_null(ids);
	/* Enough HITs that loading them all passes the bound. */
	while (n * 4 <= SIM_RESIDENT_MAX + 64) {
		snprintf(image, sizeof(image), "f%zu", n);
		hit_for_image(f, image, ids[n++]);
	}
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	req = json_loads(create_req, 0, NULL);
	assert_non_null(req);
	/* The save meets the lock and fails at once (no 5 s wait). */
	sim_db_busy_timeout(f->st->db, 0);
	assert_int_equal(sim_store_call(f->st, "CreateHIT", req, &resp, &err),
			 -1);
	assert_string_equal(err.type, "ServiceFault");
	assert_null(resp);
	assert_true(sim_changes_pending(f->st));
	assert_int_equal(f->st->nnew_hits, 1);
	snprintf(pending, sizeof(pending), "%s", f->st->new_hits[0]->id);
	/* Every earlier HIT read in: more than the bound, and kept. */
	for (size_t i = 0; i < n; i++)
		assert_non_null(hit_of(f->st, ids[i]));
	assert_true(sim_store_resident(f->st) > SIM_RESIDENT_MAX);
	sim_store_trim(f->st);
	assert_true(sim_store_resident(f->st) > SIM_RESIDENT_MAX);
	assert_ptr_equal(hit_of(f->st, pending), f->st->new_hits[0]);
	/* Writes pass again: the next request saves it, then it leaves. */
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	snprintf(one, sizeof(one), "{\"HITId\":\"%s\"}", ids[0]);
	json_decref(people_rig_call(f, "GetHIT", one));
	assert_false(sim_changes_pending(f->st));
	assert_true(sim_store_resident(f->st) <= SIM_RESIDENT_MAX);
	snprintf(one, sizeof(one), "{\"HITId\":\"%s\"}", pending);
	json_decref(people_rig_call(f, "ListAssignmentsForHIT", one));
	sim_store_evict(f->st);
	assert_non_null(hit_of(f->st, pending));
	assert_int_equal(hit_of(f->st, pending)->nasgs, 3);
	json_decref(req);
	free(ids);
	people_rig_free(f);
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
		cmocka_unit_test(test_working_set_bounded_in_memory),
		cmocka_unit_test(test_working_set_bounded_on_disk),
		cmocka_unit_test(test_reload_equal_in_memory),
		cmocka_unit_test(test_reload_equal_on_disk),
		cmocka_unit_test(test_failed_save_keeps_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
