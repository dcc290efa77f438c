/*
 * A poll round lists what the pass can take, not the whole Reviewable
 * backlog (daemon/poll.c; issue 15): counted in ListReviewableHITs
 * calls and HITs listed, never time.  A simulator (no crowd) holds
 * thousands of HITs, expired without answers and so Reviewable; the
 * daemon's state has an image waiting, asleep, on each.  A test "pass"
 * reads the images the round woke (store_images_due, as engine.c) and
 * finishes them as stage.c would: the image done, its HIT moved to
 * Reviewing (out of the list).
 *
 *   - each round lists at most a pass's worth of HITs, continuing from
 *     where the last one stopped, and together they reach every HIT once;
 *   - no listing at all while the images already due fill the pass;
 *   - HITs stuck Reviewable at the head of the list (their images
 *     failed) do not starve those after them;
 *   - a page token the service refuses: the listing starts again from
 *     the first page at once, and no image is polled one by one;
 *   - so it does once the run talks to another endpoint (a reload);
 *   - the images woken are due by the pass's now, though the clock
 *     moved on while the pages came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tests/support/state_fixture.h"

#include "config/config.h"
#include "daemon/daemon.h"
#include "mturk/mturk.h"
#include "sim/sim.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define START 1800000000 /* the rig's clock at the start, seconds */
#define HIT_LIFETIME 60

struct rig {
	int64_t now; /* seconds, the daemon's and the simulator's */
	struct state_fixture *f;
	struct experiment exp;
	struct aws_creds *creds;
	struct sim_server *sim;
	struct run_ctx ctx;
	char type[MTURK_ID_MAX];
	char (*hit_ids)[MTURK_ID_MAX];
	int *woken; /* how many times each image was woken */
	size_t nhits;
	bool ticking; /* each reading of the clock moves it a second on */
};

static int64_t
rig_now(void *arg)
{
	struct rig *r = arg;

	return r->ticking ? r->now++ : r->now;
}

static int64_t
rig_now_ms(void *arg)
{
	return ((struct rig *)arg)->now * 1000;
}

/*
 * A simulator with n HITs of one type, all expired without answers, and
 * a state with an image asleep on each (but for the first nfailed, whose
 * images failed: their HITs stay Reviewable).
 */
static struct rig *
rig_new(size_t n, size_t nfailed)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct sim_config scfg;
	struct mturk_client_config ccfg;
	struct mturk_hit_type t = {
		.title = "Boxes", .description = "d", .reward_cents = 5,
		.assignment_duration = 600, .auto_approval_delay = -1,
	};
	struct errbuf eb = {0};
	char endpoint[64];

	assert_non_null(r);
	r->now = START;
	r->f = state_fixture_new("pollpage", "state");
	assert_non_null(r->f);
	r->exp.name = "pollpage";
	r->exp.mturk.poll_interval = 1;
	r->exp.hit.lifetime = 86400;
	r->creds = aws_creds_new(SIM_DEFAULT_ACCESS_KEY_ID,
				 SIM_DEFAULT_SECRET_ACCESS_KEY, NULL, "test");
	assert_non_null(r->creds);
	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = 5;
	scfg.crowd_off = true;
	scfg.access_key_id = r->creds->access_key_id;
	scfg.secret_access_key = r->creds->secret_access_key;
	scfg.clock_ms = rig_now_ms;
	scfg.clock_ctx = r;
	r->sim = sim_new(&scfg, &eb);
	if (r->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
		 sim_port(r->sim));
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.endpoint = endpoint;
	ccfg.region = "us-east-1";
	ccfg.creds = r->creds;
	ccfg.clock.now = rig_now;
	ccfg.clock.ctx = r;
	ccfg.rate.per_second = -1;
	if (mturk_client_new(&ccfg, &r->ctx.client, &eb) != IF_OK)
		fail_msg("mturk_client_new: %s", eb.msg);
	r->ctx.exp = &r->exp;
	r->ctx.st = r->f->st;
	r->ctx.now = rig_now;
	r->ctx.now_arg = r;
	if (mturk_create_hit_type(r->ctx.client, &t, r->type, &eb) != IF_OK)
		fail_msg("CreateHITType: %s", eb.msg);
	r->hit_ids = calloc(n, sizeof(*r->hit_ids));
	r->woken = calloc(n, sizeof(*r->woken));
	assert_non_null(r->hit_ids);
	assert_non_null(r->woken);
	r->nhits = n;
	assert_int_equal(state_begin(r->f->st, &eb), IF_OK);
	for (size_t i = 0; i < n; i++) {
		struct mturk_hit made;
		struct image_rec im;
		struct hit_rec h;
		char ann[64], token[64];
		bool recovered = false;

		snprintf(ann, sizeof(ann), "pollpage/im%05zu/1", i);
		snprintf(token, sizeof(token), "tok%05zu", i);
		memset(&made, 0, sizeof(made));
		if (mturk_create_hit(r->ctx.client, r->type, "<q/>",
				     HIT_LIFETIME, 1, ann, token, &made,
				     &recovered, &eb) != IF_OK)
			fail_msg("CreateHITWithHITType: %s", eb.msg);
		snprintf(r->hit_ids[i], MTURK_ID_MAX, "%s", made.hit_id);
		memset(&im, 0, sizeof(im));
		snprintf(im.id, sizeof(im.id), "im%05zu", i);
		snprintf(im.file, sizeof(im.file), "images/im%05zu.jpg", i);
		im.state = i < nfailed ? IMAGE_FAILED : IMAGE_WAIT;
		im.stage = 1;
		im.attempt = 1;
		im.seq = (int64_t)i;
		im.next_at = START + 100000; /* asleep: a round wakes it */
		assert_int_equal(store_image_insert(r->f->st, &im, &eb), IF_OK);
		memset(&h, 0, sizeof(h));
		snprintf(h.token, sizeof(h.token), "%s", token);
		snprintf(h.image_id, sizeof(h.image_id), "%s", im.id);
		snprintf(h.hit_id, sizeof(h.hit_id), "%s", made.hit_id);
		snprintf(h.hit_type_id, sizeof(h.hit_type_id), "%s", r->type);
		h.stage = 1;
		h.attempt = 1;
		h.max_assignments = 1;
		h.cost_cents = 6;
		h.closed = HIT_OPEN;
		h.created_at = START;
		/* Far from its expiry margin in the daemon's eyes. */
		h.expires_at = START + 200000;
		assert_int_equal(store_hit_insert(r->f->st, &h, &eb), IF_OK);
	}
	assert_int_equal(state_commit(r->f->st, &eb), IF_OK);
	/* Every HIT expired without an answer: Reviewable. */
	r->now += HIT_LIFETIME + 1;
	return r;
}

static void
rig_free(struct rig *r)
{
	poll_round_end(&r->ctx);
	poll_cursors_free(&r->ctx);
	mturk_client_free(r->ctx.client);
	sim_free(r->sim);
	aws_creds_free(r->creds);
	state_fixture_free(r->f);
	free(r->hit_ids);
	free(r->woken);
	free(r);
}

struct round {
	uint64_t calls;	 /* ListReviewableHITs calls */
	size_t listed;	 /* HITs listed */
	size_t stepped;	 /* images the pass read (all woken here) */
	size_t take;	 /* what poll_round_begin said the pass reads */
};

/*
 * One pass a poll interval after the last: the round, then the images
 * due (at most take of them), each finished (done, its HIT out of the
 * Reviewable list).
 */
static struct round
rig_pass(struct rig *r, size_t pass_max)
{
	struct round out = {0};
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	uint64_t before;
	size_t n = 0;

	r->now += r->exp.mturk.poll_interval;
	before = mturk_client_sent(r->ctx.client, "ListReviewableHITs");
	if (poll_round_begin(&r->ctx, r->now, pass_max, &out.take, &eb) !=
	    IF_OK)
		fail_msg("poll_round_begin: %s", eb.msg);
	out.calls = mturk_client_sent(r->ctx.client, "ListReviewableHITs") -
		    before;
	out.listed = r->ctx.nreviewable;
	if (store_images_due(r->f->st, r->now, out.take, &list, &n, &eb) !=
	    IF_OK)
		fail_msg("store_images_due: %s", eb.msg);
	out.stepped = n;
	for (size_t i = 0; i < n; i++) {
		size_t k = (size_t)list[i].seq;
		char status[32];

		assert_true(k < r->nhits);
		/* Only what a listing named Reviewable was woken. */
		assert_true(poll_seen_reviewable(&r->ctx, r->hit_ids[k]));
		r->woken[k]++;
		if (mturk_update_hit_review_status(r->ctx.client,
						   r->hit_ids[k], false,
						   status, sizeof(status),
						   &eb) != IF_OK)
			fail_msg("UpdateHITReviewStatus: %s", eb.msg);
		list[i].state = IMAGE_DONE;
		list[i].next_at = 0;
		assert_int_equal(state_begin(r->f->st, &eb), IF_OK);
		assert_int_equal(store_image_update(r->f->st, &list[i], &eb),
				 IF_OK);
		assert_int_equal(state_commit(r->f->st, &eb), IF_OK);
	}
	free(list);
	poll_round_end(&r->ctx);
	return out;
}

#define PASS_MAX 1000 /* engine.c's PASS_IMAGES_MAX */
#define PAGE 100      /* the HITs of a page the daemon asks for */

/*
 * 3,000 Reviewable HITs: a round lists a pass's worth (10 pages, not
 * the 30 of the whole list), the next round goes on from there, and
 * three rounds reach every HIT once; the fourth finds the list empty
 * (one call).  The old round listed all 3,000 in each.
 */
static void
test_round_bounded_by_the_pass(void **state)
{
	struct rig *r = rig_new(3000, 0);
	size_t total = 0;

	(void)state;
	for (int k = 0; k < 3; k++) {
		struct round o = rig_pass(r, PASS_MAX);

		print_message("# round %d: %llu ListReviewableHITs, %zu HITs "
			      "listed, %zu images stepped\n",
			      k + 1, (unsigned long long)o.calls, o.listed,
			      o.stepped);
		assert_int_equal(o.calls, PASS_MAX / PAGE);
		assert_int_equal(o.listed, PASS_MAX);
		assert_int_equal(o.stepped, PASS_MAX);
		assert_int_equal(o.take, PASS_MAX);
		total += o.stepped;
	}
	assert_int_equal(total, 3000);
	for (size_t i = 0; i < r->nhits; i++)
		assert_int_equal(r->woken[i], 1);
	{
		struct round o = rig_pass(r, PASS_MAX);

		assert_int_equal(o.calls, 1);
		assert_int_equal(o.listed, 0);
		assert_int_equal(o.stepped, 0);
	}
	rig_free(r);
}

/*
 * The room a pass has left bounds the round: with 30 images due already
 * of a pass of 50, one page (its 100 HITs woken: the pass reads 130, so
 * that none of them waits); with more than 50 due, no listing at all.
 */
static void
test_room_left_in_the_pass(void **state)
{
	struct rig *r = rig_new(400, 0);
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	uint64_t before;
	size_t take = 0, n = 0;

	(void)state;
	r->now += 1;
	before = mturk_client_sent(r->ctx.client, "ListReviewableHITs");
	/* 30 images due already, of a pass of 50: one page. */
	assert_int_equal(state_exec(r->f->st,
				    "UPDATE images SET next_at = 0 WHERE "
				    "seq >= 370",
				    &eb),
			 IF_OK);
	assert_int_equal(poll_round_begin(&r->ctx, r->now, 50, &take, &eb),
			 IF_OK);
	assert_int_equal(mturk_client_sent(r->ctx.client,
					   "ListReviewableHITs") -
				 before,
			 1);
	/* Its 100 HITs: 100 of the first 370 woken (the others due). */
	assert_int_equal(r->ctx.nreviewable, PAGE);
	assert_int_equal(take, 30 + PAGE);
	assert_int_equal(store_images_due(r->f->st, r->now, take, &list, &n,
					  &eb),
			 IF_OK);
	assert_int_equal(n, 30 + PAGE);
	free(list);
	poll_round_end(&r->ctx);
	/* Now 130 due, more than a pass of 50: no listing. */
	r->now += 1;
	before = mturk_client_sent(r->ctx.client, "ListReviewableHITs");
	assert_int_equal(poll_round_begin(&r->ctx, r->now, 50, &take, &eb),
			 IF_OK);
	assert_int_equal(mturk_client_sent(r->ctx.client,
					   "ListReviewableHITs") -
				 before,
			 0);
	assert_null(r->ctx.reviewable);
	assert_int_equal(take, 50);
	poll_round_end(&r->ctx);
	rig_free(r);
}

/*
 * 150 HITs at the head of the list stay Reviewable for good (their
 * images failed: nothing wakes, nothing takes them out), more than a
 * round lists with a pass of 50: the rounds go on past them, and every
 * one of the 250 after them is reached, once, within a bounded number
 * of rounds (a listing that started again from the first page each
 * round would list the stuck ones forever).
 */
static void
test_stuck_hits_do_not_starve_the_rest(void **state)
{
	struct rig *r = rig_new(400, 150);
	size_t reached = 0;
	int rounds = 0;

	(void)state;
	while (reached < 250 && rounds < 20) {
		struct round o = rig_pass(r, 50);

		/* A round: at most a pass's worth of HITs and a page. */
		assert_true(o.listed <= 50 + PAGE);
		assert_true(o.calls <= 2);
		reached += o.stepped;
		rounds++;
	}
	print_message("# 250 HITs after 150 stuck: reached in %d rounds\n",
		      rounds);
	assert_int_equal(reached, 250);
	/* 4 pages of 100, one or two a round, with one round at the end. */
	assert_true(rounds <= 8);
	for (size_t i = 0; i < r->nhits; i++)
		assert_int_equal(r->woken[i], i < 150 ? 0 : 1);
	rig_free(r);
}

/*
 * The service refuses the page token the last round stopped at (here
 * one it never gave): the listing starts again from the first page at
 * once, the round goes on as usual, and no image is made due to be
 * polled one by one (the failure's fallback).
 */
static void
test_refused_token_restarts(void **state)
{
	struct rig *r = rig_new(300, 0);
	struct round o;

	(void)state;
	o = rig_pass(r, 50);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.stepped, PAGE);
	assert_int_equal(r->ctx.npoll_cursors, 1);
	assert_string_equal(r->ctx.poll_cursors[0].type, r->type);
	assert_int_not_equal(r->ctx.poll_cursors[0].token[0], '\0');
	snprintf(r->ctx.poll_cursors[0].token,
		 sizeof(r->ctx.poll_cursors[0].token), "%s", "not-a-token");
	o = rig_pass(r, 50);
	/* The refused page, then the first page again. */
	assert_int_equal(o.calls, 2);
	assert_int_equal(o.listed, PAGE);
	assert_int_equal(o.stepped, PAGE);
	/* The list's first page now: the second hundred HITs. */
	for (size_t i = 0; i < r->nhits; i++)
		assert_int_equal(r->woken[i], i < 2 * PAGE ? 1 : 0);
	/* The end of the list: the cursor starts again. */
	o = rig_pass(r, 50);
	assert_int_equal(o.stepped, PAGE);
	assert_int_equal(r->ctx.poll_cursors[0].token[0], '\0');
	o = rig_pass(r, 50);
	assert_int_equal(o.calls, 1);
	assert_int_equal(o.stepped, 0);
	rig_free(r);
}

/*
 * A token belongs to the service that gave it: once the run talks to
 * another endpoint (a reload), the listing starts from the first page.
 * Here the head of the list is 100 stuck HITs: a listing that went on
 * from the old token would reach the HITs after them at once.
 */
static void
test_other_endpoint_starts_again(void **state)
{
	struct rig *r = rig_new(300, 100);
	struct round o;

	(void)state;
	o = rig_pass(r, 50);
	assert_int_equal(o.listed, PAGE);
	assert_int_equal(o.stepped, 0);
	assert_non_null(r->ctx.poll_cursors_endpoint);
	free(r->ctx.poll_cursors_endpoint);
	r->ctx.poll_cursors_endpoint = strdup("http://127.0.0.1:1");
	assert_non_null(r->ctx.poll_cursors_endpoint);
	o = rig_pass(r, 50);
	assert_int_equal(o.listed, PAGE);
	assert_int_equal(o.stepped, 0); /* the stuck first page again */
	o = rig_pass(r, 50);
	assert_int_equal(o.stepped, PAGE); /* then on from there */
	rig_free(r);
}

/*
 * The clock moves on while the pages come (here a second at each of its
 * readings: every request is signed with it): the images a round wakes
 * are due by the pass's now, the one it reads its due images at, so
 * that the pass steps them instead of a later round listing them again.
 */
static void
test_woken_due_by_the_pass_now(void **state)
{
	struct rig *r = rig_new(250, 0);
	struct image_rec *list = NULL;
	struct errbuf eb = {0};
	size_t take = 0, n = 0;
	int64_t now;

	(void)state;
	now = ++r->now;
	r->ticking = true;
	assert_int_equal(poll_round_begin(&r->ctx, now, 1000, &take, &eb),
			 IF_OK);
	r->ticking = false;
	assert_true(r->now > now + 2); /* three pages: three readings */
	assert_int_equal(r->ctx.nreviewable, 250);
	assert_int_equal(store_images_due(r->f->st, now, take, &list, &n,
					  &eb),
			 IF_OK);
	assert_int_equal(n, 250);
	free(list);
	poll_round_end(&r->ctx);
	rig_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_bounded_by_the_pass),
		cmocka_unit_test(test_room_left_in_the_pass),
		cmocka_unit_test(test_stuck_hits_do_not_starve_the_rest),
		cmocka_unit_test(test_refused_token_restarts),
		cmocka_unit_test(test_other_endpoint_starts_again),
		cmocka_unit_test(test_woken_due_by_the_pass_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
