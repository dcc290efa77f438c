/*
 * sim/sim_db.c's HIT index and the listings that read it: ListHITs,
 * ListReviewableHITs, the push's "Reviewable since", the lab list and a
 * participant's next task, checked against the statuses the store
 * derives HIT by HIT (GetHIT, sim_hit_status) while a seeded scenario
 * runs on an injected clock: planned workers submitting, participants
 * accepting, submitting and running out of time, reviews, expiries and
 * deletions.  Also: every query is a range of an index (its plan), and a
 * state directory of schema version 1 is indexed when opened.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_private.h"
#include "tests/support/query_plan.h"
#include "tests/support/tmpdir.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HITS 64

struct fixture {
	struct sim_store *st;
	int64_t now_ms;
	char *dir; /* NULL: memory only */
	char ids[MAX_HITS][SIM_ID_LEN + 1];
	size_t nids;
	uint64_t rnd;
};

/* The HIT or assignment found (NULL: none); reads pass. */
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

static int64_t
fake_clock(void *ctx)
{
	return ((struct fixture *)ctx)->now_ms;
}

static unsigned
rnd(struct fixture *f, unsigned n)
{
	f->rnd = f->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(f->rnd >> 33) % n;
}


static void
store_open(struct fixture *f, bool crowd, bool people)
{
	struct sim_store_config cfg;
	struct errbuf eb;

	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 11;
	cfg.worker_pool = 20;
	cfg.crowd_delay_ms = 90000;
	cfg.crowd_off = !crowd;
	cfg.people = people;
	cfg.clock_ms = fake_clock;
	cfg.clock_ctx = f;
	f->st = sim_store_new(&cfg);
	assert_non_null(f->st);
	err_init(&eb);
	if (f->dir != NULL &&
	    sim_store_open(f->st, f->dir, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
}

static struct fixture *
fixture_new(bool on_disk, bool crowd, bool people)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->now_ms = 1767323045000LL;
	f->rnd = 7;
	f->dir = on_disk ? tmpdir_new("simindex") : NULL;
	store_open(f, crowd, people);
	return f;
}

static void
fixture_free(struct fixture *f)
{
	sim_store_free(f->st);
	if (f->dir != NULL)
		tmpdir_free(f->dir);
	free(f);
}

static json_t *
call(struct fixture *f, const char *op, const char *text, bool ok)
{
	json_error_t je;
	json_t *req = json_loads(text, 0, &je), *resp = NULL;
	struct sim_err err;
	int rc;

	assert_non_null(req);
	rc = sim_store_call(f->st, op, req, &resp, &err);
	json_decref(req);
	if (ok && rc != 0)
		fail_msg("%s %s: %s %s", op, text, err.turk, err.message);
	return rc == 0 ? resp : NULL;
}

/* A HIT of type 0 or 1 (titles differ), max assignments, lifetime. */
static void
create_hit(struct fixture *f, int type, int max, int lifetime_s)
{
	char req[512];
	json_t *r;

	snprintf(req, sizeof(req),
		 "{\"Title\":\"Type %d\",\"Description\":\"d\","
		 "\"Reward\":\"0.10\",\"AssignmentDurationInSeconds\":40,"
		 "\"LifetimeInSeconds\":%d,\"MaxAssignments\":%d,"
		 "\"Question\":\"<q/>\",\"RequesterAnnotation\":\"e/i%zu/1\"}",
		 type, lifetime_s, max, f->nids);
	r = call(f, "CreateHIT", req, true);
	assert_true(f->nids < MAX_HITS);
	snprintf(f->ids[f->nids++], SIM_ID_LEN + 1, "%s",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	json_decref(r);
}

/* HIT i's status as GetHIT says it ("Disposed" once deleted). */
static void
status_of(struct fixture *f, size_t i, char *out, size_t outlen,
	  char *type, size_t typelen)
{
	char req[128];
	json_t *r, *h;

	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[i]);
	r = call(f, "GetHIT", req, false);
	if (r == NULL) {
		snprintf(out, outlen, "Disposed");
		snprintf(type, typelen, "%s", "");
		return;
	}
	h = json_object_get(r, "HIT");
	snprintf(out, outlen, "%s",
		 json_string_value(json_object_get(h, "HITStatus")));
	snprintf(type, typelen, "%s",
		 json_string_value(json_object_get(h, "HITTypeId")));
	json_decref(r);
}

/* Every page of a listing, its HIT ids joined by spaces into out. */
static void
list_all(struct fixture *f, const char *op, const char *extra, char *out,
	 size_t outlen)
{
	char req[512], tok[64] = "";
	size_t len = 0;

	out[0] = '\0';
	for (int pages = 0;; pages++) {
		json_t *r, *v;
		size_t k;

		assert_true(pages < 100);
		snprintf(req, sizeof(req), "{\"MaxResults\":3%s%s%s%s}", extra,
			 tok[0] != '\0' ? ",\"NextToken\":\"" : "", tok,
			 tok[0] != '\0' ? "\"" : "");
		r = call(f, op, req, true);
		json_array_foreach(json_object_get(r, "HITs"), k, v)
			len += (size_t)snprintf(
				out + len, outlen - len, "%s ",
				json_string_value(json_object_get(v, "HITId")));
		assert_true(len < outlen);
		v = json_object_get(r, "NextToken");
		snprintf(tok, sizeof(tok), "%s",
			 v != NULL ? json_string_value(v) : "");
		json_decref(r);
		if (tok[0] == '\0')
			break;
	}
}

/* The moment h became Reviewable: the push's rule, HIT by HIT. */
static int64_t
oracle_reviewable_at(struct sim_store *st, struct hit *h, int64_t now)
{
	int64_t at = 0;

	for (size_t i = 0; i < h->nasgs; i++) {
		const struct asg *a = h->asgs[i];
		enum asg_state s = sim_asg_state_at(st, a, h, now);

		if (sim_asg_listed(s) && a->submit_ms > at)
			at = a->submit_ms;
		if (s == ASG_ABANDONED && !a->simulated &&
		    a->accept_ms + h->duration_s * 1000 > at)
			at = a->accept_ms + h->duration_s * 1000;
	}
	if (now >= h->expiration_ms && h->expiration_ms > at)
		at = h->expiration_ms;
	return at;
}

/* The ids sim_store_reviewable_since() gives for since, joined. */
static int64_t
since_ids(struct fixture *f, int64_t since, char *out, size_t outlen)
{
	char(*ids)[SIM_ID_LEN + 1] = calloc(MAX_HITS, sizeof(*ids));
	int64_t now = 0, next = 0;
	size_t n = 0, len = 0;
	bool more = true;

	assert_non_null(ids);
	assert_int_equal(sim_store_reviewable_since(f->st, since, ids,
						    MAX_HITS, &n, &more, &now,
						    &next),
			 0);
	assert_false(more);
	out[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, outlen - len, "%s ",
					ids[i]);
	free(ids);
	return next;
}

/* The ids the push should give for since, from every HIT, one by one. */
static void
oracle_since(struct fixture *f, int64_t since, char *out, size_t outlen)
{
	struct sim_store *st = f->st;
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < f->nids; i++) {
		struct hit *h = hit_of(st, f->ids[i]);
		struct hit_counts c;

		assert_non_null(h);
		if (h->deleted || h->reviewing)
			continue;
		c = sim_hit_counts(st, h, f->now_ms);
		if (strcmp(sim_hit_status(h, &c, f->now_ms), "Reviewable") !=
			    0 ||
		    oracle_reviewable_at(st, h, f->now_ms) < since)
			continue;
		len += (size_t)snprintf(out + len, outlen - len, "%s ", h->id);
	}
}

/*
 * Every listing against the statuses GetHIT derives, now; returns the
 * expected Reviewable list (for the caller's next-moment check).
 */
static void
check_listings(struct fixture *f, const char *type0, char *reviewable,
	       size_t rlen)
{
	static char want_live[4096], want_rv[4096], want_rg[4096],
		want_t0[4096], got[4096], extra[128];
	char status[32], type[SIM_ID_LEN + 1];
	size_t l = 0, a = 0, b = 0, t = 0;

	want_live[0] = want_rv[0] = want_rg[0] = want_t0[0] = '\0';
	for (size_t i = 0; i < f->nids; i++) {
		status_of(f, i, status, sizeof(status), type, sizeof(type));
		if (strcmp(status, "Disposed") == 0)
			continue;
		l += (size_t)snprintf(want_live + l, sizeof(want_live) - l,
				      "%s ", f->ids[i]);
		if (strcmp(status, "Reviewable") == 0) {
			a += (size_t)snprintf(want_rv + a, sizeof(want_rv) - a,
					      "%s ", f->ids[i]);
			if (strcmp(type, type0) == 0)
				t += (size_t)snprintf(want_t0 + t,
						      sizeof(want_t0) - t,
						      "%s ", f->ids[i]);
		}
		if (strcmp(status, "Reviewing") == 0)
			b += (size_t)snprintf(want_rg + b, sizeof(want_rg) - b,
					      "%s ", f->ids[i]);
	}
	list_all(f, "ListHITs", "", got, sizeof(got));
	assert_string_equal(got, want_live);
	list_all(f, "ListReviewableHITs", "", got, sizeof(got));
	assert_string_equal(got, want_rv);
	list_all(f, "ListReviewableHITs", ",\"Status\":\"Reviewing\"", got,
		 sizeof(got));
	assert_string_equal(got, want_rg);
	snprintf(extra, sizeof(extra), ",\"HITTypeId\":\"%s\"", type0);
	list_all(f, "ListReviewableHITs", extra, got, sizeof(got));
	assert_string_equal(got, want_t0);
	snprintf(reviewable, rlen, "%s", want_rv);
}

/* The push's answers for a few moments against the rule, HIT by HIT. */
static void
check_push(struct fixture *f)
{
	static char got[4096], want[4096], at_next[4096], before[4096];
	const int64_t back[] = {0, 5000, 30000, 120000};
	char rv[4096];
	int64_t next, now = f->now_ms;

	for (size_t k = 0; k < sizeof(back) / sizeof(back[0]); k++) {
		int64_t since = back[k] == 0 ? 0 : now - back[k];

		next = since_ids(f, since, got, sizeof(got));
		oracle_since(f, since, want, sizeof(want));
		assert_string_equal(got, want);
	}
	/*
	 * The next moment: nothing becomes Reviewable before it, something
	 * does at it.
	 */
	next = since_ids(f, 0, got, sizeof(got));
	if (next == INT64_MAX)
		return;
	assert_true(next > now);
	check_listings(f, "", before, sizeof(before));
	f->now_ms = next - 1;
	check_listings(f, "", rv, sizeof(rv));
	assert_string_equal(rv, before);
	f->now_ms = next;
	check_listings(f, "", at_next, sizeof(at_next));
	assert_string_not_equal(at_next, before);
	f->now_ms = now;
}

static const char *
type_of(struct fixture *f, size_t i, char *type, size_t len)
{
	char status[32];

	status_of(f, i, status, sizeof(status), type, len);
	return type;
}

/* A random request that changes a HIT, as the daemon or an operator. */
static void
random_change(struct fixture *f)
{
	size_t i = rnd(f, (unsigned)f->nids);
	char req[256], status[32], type[SIM_ID_LEN + 1];
	json_t *r, *v;
	size_t k;

	status_of(f, i, status, sizeof(status), type, sizeof(type));
	switch (rnd(f, 5)) {
	case 0: /* the daemon deals with it */
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[i]);
		json_decref(call(f, "UpdateHITReviewStatus", req, false));
		break;
	case 1: /* and back */
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\",\"Revert\":true}",
			 f->ids[i]);
		json_decref(call(f, "UpdateHITReviewStatus", req, false));
		break;
	case 2: /* expired now, or extended */
		snprintf(req, sizeof(req),
			 "{\"HITId\":\"%s\",\"ExpireAt\":%lld}", f->ids[i],
			 rnd(f, 2) == 0 ? 0LL
					: (long long)(f->now_ms / 1000 + 200));
		json_decref(call(f, "UpdateExpirationForHIT", req, false));
		break;
	case 3: /* its submitted answers approved or rejected */
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[i]);
		r = call(f, "ListAssignmentsForHIT", req, false);
		json_array_foreach(json_object_get(r, "Assignments"), k, v) {
			snprintf(req, sizeof(req),
				 "{\"AssignmentId\":\"%s\","
				 "\"RequesterFeedback\":\"x\"}",
				 json_string_value(
					 json_object_get(v, "AssignmentId")));
			json_decref(call(f,
					 rnd(f, 3) == 0 ? "RejectAssignment"
							: "ApproveAssignment",
					 req, false));
		}
		json_decref(r);
		break;
	default:
		if (rnd(f, 3) == 0) {
			snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}",
				 f->ids[i]);
			json_decref(call(f, "DeleteHIT", req, false));
		}
		break;
	}
}

/* Planned workers, reviews, expiries, deletions: listings follow. */
static void
run_crowd_scenario(bool on_disk)
{
	struct fixture *f = fixture_new(on_disk, true, false);
	char type0[SIM_ID_LEN + 1], rv[4096];

	for (int i = 0; i < 24; i++)
		create_hit(f, i % 2, 1 + i % 4, 60 + 45 * (i % 7));
	type_of(f, 0, type0, sizeof(type0));
	for (int step = 0; step < 60; step++) {
		f->now_ms += 9000 + rnd(f, 4000);
		if (step % 10 == 3 && f->nids < MAX_HITS)
			create_hit(f, step % 2, 2, 90);
		for (int k = 0; k < 2; k++)
			random_change(f);
		check_listings(f, type0, rv, sizeof(rv));
		if (step % 4 == 0)
			check_push(f);
	}
	fixture_free(f);
}

static void
test_crowd_in_memory(void **state)
{
	(void)state;
	run_crowd_scenario(false);
}

static void
test_crowd_on_disk(void **state)
{
	(void)state;
	run_crowd_scenario(true);
}

/*
 * The task a participant is given: the oldest HIT that is open, has an
 * assignment left, they have not worked on (their abandoned ones aside)
 * and whose requirements they meet - checked HIT by HIT.  Its id (a
 * record is not kept across the store's lock), or NULL.
 */
static const char *
oracle_pick(struct fixture *f, const char *worker)
{
	struct sim_store *st = f->st;

	for (size_t i = 0; i < f->nids; i++) {
		struct hit *h = hit_of(st, f->ids[i]);
		bool worked = false, eligible = false;

		assert_non_null(h);
		assert_int_equal(
			sim_worker_eligible(st, h->quals, worker, &eligible),
			0);
		if (h->deleted || f->now_ms >= h->expiration_ms ||
		    sim_hit_counts(st, h, f->now_ms).available <= 0 ||
		    !eligible)
			continue;
		for (size_t k = 0; k < h->nasgs; k++)
			if (strcmp(h->asgs[k]->worker_id, worker) == 0 &&
			    sim_asg_state_at(st, h->asgs[k], h, f->now_ms) !=
				    ASG_ABANDONED)
				worked = true;
		if (!worked)
			return f->ids[i];
	}
	return NULL;
}

/* Participants take, submit or run out of time; lab list and take follow. */
static void
run_people_scenario(bool on_disk)
{
	struct fixture *f = fixture_new(on_disk, false, true);
	char asg[SIM_ID_LEN + 1], why[256], who[16], type0[SIM_ID_LEN + 1];
	char rv[4096];
	int taken = 0, nothing = 0;

	for (int i = 0; i < 30; i++)
		create_hit(f, i % 2, 1 + i % 3, 300 + 60 * (i % 5));
	type_of(f, 0, type0, sizeof(type0));
	for (int step = 0; step < 150; step++) {
		const char *want;
		struct sim_lab_hit *list = NULL;
		size_t n = 0, open = 0;
		int rc;

		f->now_ms += 3000 + rnd(f, 6000);
		snprintf(who, sizeof(who), "P%02u", rnd(f, 12));
		want = oracle_pick(f, who);
		rc = sim_store_people_take(f->st, who, 0, false, asg, why,
					   sizeof(why));
		assert_true(rc == 0 || rc == 1);
		if (rc == 0) {
			struct asg *a = asg_of(f->st, asg);

			assert_non_null(a);
			/* An open one of theirs comes first, else the pick. */
			if (sim_asg_state_at(f->st, a, hit_of(
							   f->st, a->hit_id),
					     f->now_ms) == ASG_ACCEPTED &&
			    a->accept_ms != f->now_ms) {
				/* Their open assignment, given again. */
			} else {
				assert_non_null(want);
				assert_string_equal(a->hit_id, want);
				taken++;
			}
			/* Two of three submit; the others run out. */
			if (rnd(f, 3) != 0)
				assert_int_equal(
					sim_store_people_submit(
						f->st, who, asg, strdup("<a/>"),
						"[]", why, sizeof(why)),
					0);
		} else {
			assert_null(want);
			nothing++;
		}
		if (step % 7 == 0)
			random_change(f);
		/* The lab list: the open HITs, oldest first. */
		assert_int_equal(sim_store_lab_list(f->st, &list, &n), 0);
		for (size_t i = 0; i < f->nids; i++) {
			struct hit *h = hit_of(f->st, f->ids[i]);

			assert_non_null(h);
			if (h->deleted || f->now_ms >= h->expiration_ms)
				continue;
			assert_true(open < n);
			assert_string_equal(list[open].hit_id, h->id);
			open++;
		}
		assert_int_equal(open, n);
		free(list);
		if (step % 5 == 0) {
			check_listings(f, type0, rv, sizeof(rv));
			check_push(f);
		}
	}
	/* The scenario went through both answers. */
	assert_true(taken > 20);
	assert_true(nothing > 0);
	fixture_free(f);
}

static void
test_people_in_memory(void **state)
{
	(void)state;
	run_people_scenario(false);
}

static void
test_people_on_disk(void **state)
{
	(void)state;
	run_people_scenario(true);
}

/*
 * The moments themselves: a HIT that expired while a participant held its
 * one assignment is Unassignable until the assignment's time has run out
 * (its last millisecond included) and Reviewable the millisecond after,
 * which is the moment the push looks again.
 */
static void
test_time_out_boundary(void **state)
{
	struct fixture *f = fixture_new(false, false, true);
	char asg[SIM_ID_LEN + 1], why[256], status[32], type[64], rv[4096];
	int64_t t0 = f->now_ms, accepted;

	(void)state;
	create_hit(f, 0, 1, 60);
	f->now_ms = t0 + 30000;
	accepted = f->now_ms;
	assert_int_equal(sim_store_people_take(f->st, "P1", 0, false, asg, why,
					       sizeof(why)),
			 0);
	f->now_ms = accepted + 40000; /* the duration's last moment */
	status_of(f, 0, status, sizeof(status), type, sizeof(type));
	assert_string_equal(status, "Unassignable");
	check_listings(f, type, rv, sizeof(rv));
	assert_string_equal(rv, "");
	assert_int_equal(since_ids(f, 0, rv, sizeof(rv)), accepted + 40001);
	f->now_ms = accepted + 40001;
	status_of(f, 0, status, sizeof(status), type, sizeof(type));
	assert_string_equal(status, "Reviewable");
	check_listings(f, type, rv, sizeof(rv));
	assert_string_not_equal(rv, "");
	/* It became Reviewable when the time ran out, not at the expiry. */
	assert_int_equal(since_ids(f, accepted + 40000, rv, sizeof(rv)),
			 INT64_MAX);
	assert_string_not_equal(rv, "");
	since_ids(f, accepted + 40001, rv, sizeof(rv));
	assert_string_equal(rv, "");
	fixture_free(f);
}

/*
 * A study of `done` HITs answered and dealt with (moved to Reviewing)
 * and a few in progress: the index work of the daemon's poll, the push
 * and a participant's next task, in VM steps.
 */
static void
work_at(size_t done, uint64_t steps[3])
{
	struct fixture *f = fixture_new(false, false, true);
	char asg[SIM_ID_LEN + 1], why[256], who[32], req[256], type[64];
	char rv[4096], status[32];
	json_t *r;

	for (size_t i = 0; i < done + 4; i++) {
		f->nids = 0;
		create_hit(f, 0, 1, 3600);
		if (i >= done)
			continue; /* in progress: open, or Reviewable below */
		snprintf(who, sizeof(who), "P%zu", i);
		assert_int_equal(sim_store_people_take(f->st, who, 0, false,
						       asg, why, sizeof(why)),
				 0);
		assert_int_equal(sim_store_people_submit(f->st, who, asg,
							 strdup("<a/>"), "[]",
							 why, sizeof(why)),
				 0);
		snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[0]);
		json_decref(call(f, "UpdateHITReviewStatus", req, true));
	}
	/* Two of the four answered, not dealt with yet. */
	for (int k = 0; k < 2; k++) {
		snprintf(who, sizeof(who), "Q%d", k);
		assert_int_equal(sim_store_people_take(f->st, who, 0, false,
						       asg, why, sizeof(why)),
				 0);
		assert_int_equal(sim_store_people_submit(f->st, who, asg,
							 strdup("<a/>"), "[]",
							 why, sizeof(why)),
				 0);
	}
	f->now_ms += 1000;
	status_of(f, 0, status, sizeof(status), type, sizeof(type));
	snprintf(req, sizeof(req), "{\"HITTypeId\":\"%s\"}", type);
	sim_db_steps_take(f->st->db);
	r = call(f, "ListReviewableHITs", req, true);
	assert_int_equal(json_integer_value(json_object_get(r, "NumResults")),
			 2);
	json_decref(r);
	steps[0] = sim_db_steps_take(f->st->db);
	since_ids(f, f->now_ms - 60000, rv, sizeof(rv));
	steps[1] = sim_db_steps_take(f->st->db);
	assert_int_equal(sim_store_people_take(f->st, "NEW", 0, true, asg,
					       why, sizeof(why)),
			 0);
	steps[2] = sim_db_steps_take(f->st->db);
	fixture_free(f);
}

/*
 * The index work of a poll, a push and a take does not grow with the
 * HITs already dealt with: 20 times as many leave it about the same.
 */
static void
test_work_does_not_grow(void **state)
{
	uint64_t small[3], big[3];

	(void)state;
	work_at(20, small);
	work_at(400, big);
	for (int k = 0; k < 3; k++) {
		if (small[k] == 0 || big[k] > small[k] + small[k] / 4)
			fail_msg("query %d: %llu steps with 20 HITs done, "
				 "%llu with 400",
				 k, (unsigned long long)small[k],
				 (unsigned long long)big[k]);
	}
}

/* A lab list longer than one page of the index. */
static void
test_lab_list_pages(void **state)
{
	struct fixture *f = fixture_new(false, false, false);
	struct sim_lab_hit *list = NULL;
	char(*all)[SIM_ID_LEN + 1] = calloc(600, sizeof(*all));
	size_t n = 0;

	(void)state;
	assert_non_null(all);
	for (int i = 0; i < 600; i++) {
		f->nids = 0; /* the fixture keeps 64: kept here */
		create_hit(f, 0, 1, i % 3 == 0 ? 60 : 3600);
		memcpy(all[i], f->ids[0], sizeof(all[i]));
	}
	f->now_ms += 61000;
	assert_int_equal(sim_store_lab_list(f->st, &list, &n), 0);
	assert_int_equal(n, 400);
	for (size_t i = 0, k = 0; i < 600; i++)
		if (i % 3 != 0)
			assert_string_equal(list[k++].hit_id, all[i]);
	free(list);
	free(all);
	fixture_free(f);
}

/*
 * Every query of the HIT index is a search of one of its indexes, never
 * a walk of the whole table, but for the two that list everything by
 * nature (ListHITs' offset pages and the lab list).
 */
static void
test_queries_use_indexes(void **state)
{
	struct fixture *f = fixture_new(true, false, false);
	char path[512];
	sqlite3 *db = NULL;

	(void)state;
	create_hit(f, 0, 1, 60);
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	for (int q = 0; q < SIM_DB_QUERIES; q++) {
		const char *sql = sim_db_query_sql((enum sim_db_query)q);
		char what[32];

		snprintf(what, sizeof(what), "query %d", q);
		/* Ranges of seq from a cursor: a search of the table. */
		if (q == SIM_DB_LIVE || q == SIM_DB_OPEN)
			assert_plan_searches(db, what, sql,
					     "INTEGER PRIMARY KEY", NULL);
		else
			assert_plan_searches(db, what, sql,
					     "USING INDEX hit_index_", NULL);
	}
	sqlite3_close(db);
	fixture_free(f);
}

/*
 * A state directory of schema version 1 (records only) is indexed when
 * opened: its listings are the same as before.
 */
static void
test_version_1_indexed(void **state)
{
	struct fixture *f = fixture_new(true, true, false);
	char before[4096], after[4096], path[512], type0[SIM_ID_LEN + 1];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;

	(void)state;
	for (int i = 0; i < 10; i++)
		create_hit(f, i % 2, 1 + i % 3, 60 + 30 * i);
	f->now_ms += 150000;
	type_of(f, 0, type0, sizeof(type0));
	check_listings(f, type0, before, sizeof(before));
	assert_string_not_equal(before, "");
	sim_store_free(f->st);
	/* What an older intofocus wrote: no index tables, version 1. */
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE hit_index; "
				      "DROP TABLE asg_index; "
				      "PRAGMA user_version = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	store_open(f, true, false);
	check_listings(f, type0, after, sizeof(after));
	assert_string_equal(after, before);
	/* Upgraded: version 3, a row per HIT. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT (SELECT user_version FROM "
					    "pragma_user_version), "
					    "(SELECT count(*) FROM hit_index)",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 3);
	assert_int_equal(sqlite3_column_int(s, 1), 10);
	sqlite3_finalize(s);
	sqlite3_close(db);
	fixture_free(f);
}

/*
 * A state directory of schema version 2 (no annotation key, token or
 * assignments-of-a-HIT index) is upgraded when opened: the columns are
 * filled from the records, the listings are the same as before, and a
 * token and an image's earlier HITs are found through them.
 */
static void
test_version_2_upgraded(void **state)
{
	struct fixture *f = fixture_new(true, true, false);
	char before[4096], after[4096], path[512], type0[SIM_ID_LEN + 1];
	static const char tok_req[] =
		"{\"Title\":\"Type 0\",\"Description\":\"d\","
		"\"Reward\":\"0.10\",\"AssignmentDurationInSeconds\":40,"
		"\"LifetimeInSeconds\":600,\"MaxAssignments\":2,"
		"\"Question\":\"<q/>\",\"RequesterAnnotation\":\"e/i0/2\","
		"\"UniqueRequestToken\":\"tok-v2\"}";
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	json_t *r;
	struct hit **same = NULL;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 10; i++)
		create_hit(f, i % 2, 1 + i % 3, 60 + 30 * i);
	r = call(f, "CreateHIT", tok_req, true);
	snprintf(f->ids[f->nids++], SIM_ID_LEN + 1, "%s",
		 json_string_value(json_object_get(json_object_get(r, "HIT"),
						   "HITId")));
	json_decref(r);
	f->now_ms += 150000;
	type_of(f, 0, type0, sizeof(type0));
	check_listings(f, type0, before, sizeof(before));
	assert_string_not_equal(before, "");
	sim_store_free(f->st);
	/* What the previous intofocus wrote: version 2's tables. */
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP INDEX hit_index_ann; "
				      "DROP INDEX hit_index_token; "
				      "DROP INDEX asg_index_hit; "
				      "ALTER TABLE hit_index DROP COLUMN "
				      "ann_key; "
				      "ALTER TABLE hit_index DROP COLUMN "
				      "token; "
				      "PRAGMA user_version = 2;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	store_open(f, true, false);
	check_listings(f, type0, after, sizeof(after));
	assert_string_equal(after, before);
	/* The token is found again: no second HIT. */
	r = call(f, "CreateHIT", tok_req, false);
	assert_null(r);
	/* The image's two HITs, newest first. */
	assert_int_equal(sim_find_hits_by_ann(f->st, "e/i0", 4,
					      SIM_ANN_HITS_MAX,
					      &same, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(same[0]->id, f->ids[10]);
	assert_string_equal(same[1]->id, f->ids[0]);
	free(same);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT (SELECT user_version FROM "
					    "pragma_user_version), "
					    "(SELECT count(*) FROM hit_index "
					    "WHERE ann_key IS NOT NULL), "
					    "(SELECT count(*) FROM hit_index "
					    "WHERE token = 'tok-v2')",
					    -1, &s, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 3);
	assert_int_equal(sqlite3_column_int(s, 1), 11);
	assert_int_equal(sqlite3_column_int(s, 2), 1);
	sqlite3_finalize(s);
	sqlite3_close(db);
	fixture_free(f);
}

/* GetHIT's HIT i. */
static json_t *
get_hit(struct fixture *f, size_t i)
{
	char req[128];
	json_t *r, *h;

	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[i]);
	r = call(f, "GetHIT", req, true);
	h = json_incref(json_object_get(r, "HIT"));
	json_decref(r);
	assert_non_null(h);
	return h;
}

/* One integer a query on DIR/sim.db gives. */
static int
db_int(struct fixture *f, const char *sql)
{
	char path[512];
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	int v;

	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

/*
 * A HIT's values are a record of their own, written once; a database
 * of an older version, its HITs' values inline in their records, reads
 * the same (dump, GetHIT, listings, an image's HITs), and a HIT saved
 * again has its values moved to their own record.
 */
static void
test_inline_values_read(void **state)
{
	struct fixture *f = fixture_new(true, false, false);
	char before[4096], after[4096], path[512], type0[SIM_ID_LEN + 1];
	char req[256], sql[256];
	sqlite3 *db = NULL;
	json_t *d0, *d1, *h0, *h1;
	struct hit **same = NULL;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 6; i++)
		create_hit(f, i % 2, 1 + i % 3, 600 + 30 * i);
	assert_int_equal(db_int(f, "SELECT count(*) FROM records WHERE kind = "
				   "'hit_values'"),
			 6);
	assert_int_equal(db_int(f, "SELECT count(*) FROM records WHERE kind = "
				   "'hits' AND json_type(body, '$.values') "
				   "IS NULL"),
			 6);
	type_of(f, 0, type0, sizeof(type0));
	check_listings(f, type0, before, sizeof(before));
	d0 = sim_store_dump(f->st);
	h0 = get_hit(f, 2);
	assert_string_equal(json_string_value(json_object_get(h0, "Question")),
			    "<q/>");
	sim_store_free(f->st);
	/* What an older intofocus wrote: the values inside the HITs. */
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "UPDATE records SET body = json_remove(json_set("
			     "body, '$.values', json((SELECT v.body FROM "
			     "records v WHERE v.kind = 'hit_values' AND "
			     "v.key = records.key))), "
			     "'$.RequesterAnnotation', "
			     "'$.QualificationRequirements') "
			     "WHERE kind = 'hits'; "
			     "DELETE FROM records WHERE kind = 'hit_values';",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(db_int(f, "SELECT count(*) FROM records WHERE kind = "
				   "'hits' AND json_type(body, '$.values') = "
				   "'object'"),
			 6);
	store_open(f, false, false);
	d1 = sim_store_dump(f->st);
	assert_true(json_equal(d0, d1));
	json_decref(d1);
	h1 = get_hit(f, 2);
	assert_true(json_equal(h0, h1));
	json_decref(h1);
	check_listings(f, type0, after, sizeof(after));
	assert_string_equal(after, before);
	assert_int_equal(sim_find_hits_by_ann(f->st, "e/i2", 4,
					      SIM_ANN_HITS_MAX,
					      &same, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(same[0]->id, f->ids[2]);
	free(same);
	/* HIT 2 saved again: its values move to their own record. */
	snprintf(req, sizeof(req),
		 "{\"HITId\":\"%s\",\"ExpireAt\":%lld}", f->ids[2],
		 (long long)(f->now_ms / 1000 + 3600));
	json_decref(call(f, "UpdateExpirationForHIT", req, true));
	sim_store_free(f->st);
	snprintf(sql, sizeof(sql),
		 "SELECT count(*) FROM records WHERE kind = 'hits' AND "
		 "key = '%s' AND json_type(body, '$.values') IS NULL",
		 f->ids[2]);
	assert_int_equal(db_int(f, sql), 1);
	assert_int_equal(db_int(f, "SELECT count(*) FROM records WHERE kind = "
				   "'hit_values'"),
			 1);
	store_open(f, false, false);
	h1 = get_hit(f, 2);
	assert_string_equal(json_string_value(json_object_get(h1, "Question")),
			    "<q/>");
	assert_string_equal(json_string_value(json_object_get(h1, "Title")),
			    json_string_value(json_object_get(h0, "Title")));
	assert_string_equal(
		json_string_value(json_object_get(h1, "RequesterAnnotation")),
		"e/i2/1");
	json_decref(h1);
	assert_int_equal(sim_find_hits_by_ann(f->st, "e/i2", 4,
					      SIM_ANN_HITS_MAX,
					      &same, &n), 0);
	assert_int_equal(n, 1);
	free(same);
	/* The dump: the same but for the new expiration. */
	d1 = sim_store_dump(f->st);
	assert_true(json_equal(
		json_object_get(json_array_get(json_object_get(d0, "hits"), 2),
				"values"),
		json_object_get(json_array_get(json_object_get(d1, "hits"), 2),
				"values")));
	json_decref(d1);
	json_decref(d0);
	json_decref(h0);
	fixture_free(f);
}

/* The lookups that replaced the records' links are index searches. */
static void
test_lookups_use_indexes(void **state)
{
	struct fixture *f = fixture_new(true, false, false);
	char path[512];
	sqlite3 *db = NULL;

	(void)state;
	create_hit(f, 0, 1, 60);
	snprintf(path, sizeof(path), "%s/sim.db", f->dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
					 NULL),
			 SQLITE_OK);
	for (int q = 0; q < SIM_DB_LOOKUPS; q++) {
		char what[32];

		snprintf(what, sizeof(what), "lookup %d", q);
		assert_plan_searches(db, what,
				     sim_db_lookup_sql((enum sim_db_lookup)q),
				     "USING INDEX", "USING COVERING INDEX",
				     NULL);
	}
	sqlite3_close(db);
	fixture_free(f);
}

/*
 * ListHITs' NextToken is a cursor (the last HIT given), not an offset: a
 * HIT deleted between two pages neither skips nor repeats one.
 */
static void
test_list_hits_cursor(void **state)
{
	struct fixture *f = fixture_new(true, false, false);
	char req[256], tok[64];
	json_t *r, *hits;

	(void)state;
	for (int i = 0; i < 25; i++)
		create_hit(f, 0, 1, 600);
	r = call(f, "ListHITs", "{\"MaxResults\":10}", true);
	hits = json_object_get(r, "HITs");
	assert_int_equal(json_array_size(hits), 10);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(hits, 9), "HITId")),
			    f->ids[9]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	assert_int_equal(tok[0], 'k');
	json_decref(r);
	/* The first HIT goes (expired, then deleted) before page two. */
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\",\"ExpireAt\":0}",
		 f->ids[0]);
	json_decref(call(f, "UpdateExpirationForHIT", req, true));
	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[0]);
	json_decref(call(f, "DeleteHIT", req, true));
	snprintf(req, sizeof(req), "{\"MaxResults\":10,\"NextToken\":\"%s\"}",
		 tok);
	r = call(f, "ListHITs", req, true);
	hits = json_object_get(r, "HITs");
	assert_int_equal(json_array_size(hits), 10);
	/* An offset would start at the 12th HIT and skip the 11th. */
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(hits, 0), "HITId")),
			    f->ids[10]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	json_decref(r);
	snprintf(req, sizeof(req), "{\"MaxResults\":10,\"NextToken\":\"%s\"}",
		 tok);
	r = call(f, "ListHITs", req, true);
	hits = json_object_get(r, "HITs");
	assert_int_equal(json_array_size(hits), 5);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(hits, 4), "HITId")),
			    f->ids[24]);
	assert_null(json_object_get(r, "NextToken"));
	json_decref(r);
	/* A token that is no cursor is refused. */
	assert_null(call(f, "ListHITs", "{\"NextToken\":\"kx\"}", false));
	fixture_free(f);
}

/* One page of ListReviewableHITs of type (and status, "" or ",..."). */
static json_t *
reviewable_page(struct fixture *f, const char *type, const char *extra,
		int max, const char *tok, bool ok)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "{\"HITTypeId\":\"%s\",\"MaxResults\":%d%s%s%s%s}", type,
		 max, extra, tok[0] != '\0' ? ",\"NextToken\":\"" : "", tok,
		 tok[0] != '\0' ? "\"" : "");
	return call(f, "ListReviewableHITs", req, ok);
}

/* HIT k of a page's HITs. */
static const char *
page_hit(json_t *r, size_t k)
{
	return json_string_value(json_object_get(
		json_array_get(json_object_get(r, "HITs"), k), "HITId"));
}

/* Moves HIT i to Reviewing: it leaves the Reviewable list. */
static void
review(struct fixture *f, size_t i)
{
	char req[128];

	snprintf(req, sizeof(req), "{\"HITId\":\"%s\"}", f->ids[i]);
	json_decref(call(f, "UpdateHITReviewStatus", req, true));
}

/*
 * ListReviewableHITs pages with a cursor, as ListHITs: HITs that leave
 * the list between two pages (moved to Reviewing by a poll round) make
 * none after them skipped, which an offset would; an offset token of an
 * older server still reads from its offset; a token that is neither is
 * refused.  The Reviewing list pages the same way.
 */
static void
test_list_reviewable_cursor(void **state)
{
	struct fixture *f = fixture_new(true, false, false);
	char type[SIM_ID_LEN + 1], tok[64];
	json_t *r;

	(void)state;
	for (int i = 0; i < 25; i++)
		create_hit(f, 0, 1, 60);
	f->now_ms += 61000; /* all expired without answers: Reviewable */
	type_of(f, 0, type, sizeof(type));
	r = reviewable_page(f, type, "", 10, "", true);
	assert_int_equal(json_array_size(json_object_get(r, "HITs")), 10);
	assert_string_equal(page_hit(r, 0), f->ids[0]);
	assert_string_equal(page_hit(r, 9), f->ids[9]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	assert_int_equal(tok[0], 'k');
	assert_true(strlen(tok) >= 1 && strlen(tok) <= 255);
	json_decref(r);
	/* One HIT of page one and the first of page two leave the list. */
	review(f, 0);
	review(f, 10);
	r = reviewable_page(f, type, "", 10, tok, true);
	assert_int_equal(json_array_size(json_object_get(r, "HITs")), 10);
	/* An offset of 10 would start at the 13th HIT, skipping the 12th. */
	assert_string_equal(page_hit(r, 0), f->ids[11]);
	assert_string_equal(page_hit(r, 9), f->ids[20]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	json_decref(r);
	r = reviewable_page(f, type, "", 10, tok, true);
	assert_int_equal(json_array_size(json_object_get(r, "HITs")), 4);
	assert_string_equal(page_hit(r, 3), f->ids[24]);
	assert_null(json_object_get(r, "NextToken"));
	json_decref(r);
	/* An older offset token: the 11th of the list as it is now. */
	r = reviewable_page(f, type, "", 5, "p10", true);
	assert_int_equal(json_array_size(json_object_get(r, "HITs")), 5);
	assert_string_equal(page_hit(r, 0), f->ids[12]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	assert_int_equal(tok[0], 'k');
	json_decref(r);
	/* Its next page follows on by the cursor. */
	r = reviewable_page(f, type, "", 5, tok, true);
	assert_string_equal(page_hit(r, 0), f->ids[17]);
	json_decref(r);
	/* The Reviewing list: the two reviewed, one a page. */
	r = reviewable_page(f, type, ",\"Status\":\"Reviewing\"", 1, "", true);
	assert_string_equal(page_hit(r, 0), f->ids[0]);
	snprintf(tok, sizeof(tok), "%s",
		 json_string_value(json_object_get(r, "NextToken")));
	json_decref(r);
	r = reviewable_page(f, type, ",\"Status\":\"Reviewing\"", 1, tok,
			    true);
	assert_string_equal(page_hit(r, 0), f->ids[10]);
	assert_null(json_object_get(r, "NextToken"));
	json_decref(r);
	/* Neither a cursor nor an offset: refused. */
	assert_null(reviewable_page(f, type, "", 10, "kx", false));
	assert_null(reviewable_page(f, type, "", 10, "zz", false));
	fixture_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crowd_in_memory),
		cmocka_unit_test(test_crowd_on_disk),
		cmocka_unit_test(test_people_in_memory),
		cmocka_unit_test(test_people_on_disk),
		cmocka_unit_test(test_time_out_boundary),
		cmocka_unit_test(test_lab_list_pages),
		cmocka_unit_test(test_work_does_not_grow),
		cmocka_unit_test(test_queries_use_indexes),
		cmocka_unit_test(test_version_1_indexed),
		cmocka_unit_test(test_version_2_upgraded),
		cmocka_unit_test(test_inline_values_read),
		cmocka_unit_test(test_lookups_use_indexes),
		cmocka_unit_test(test_list_hits_cursor),
		cmocka_unit_test(test_list_reviewable_cursor),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
