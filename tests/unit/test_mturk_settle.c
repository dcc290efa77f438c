/*
 * mturk/settle.c and the client's pace (issue 19): approvals, grants and a
 * review-status update sent at once against the simulator, each with its
 * own result, a second round recognised as done through the read-back, a
 * refusal kept for its own item only; and the token bucket's waits on an
 * injected clock.  Nothing here depends on timing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY "AKIDSETTLETEST000000"
#define SECRET "settle-test-secret"

struct fx {
	struct sim_server *sim;
	struct aws_creds *creds;
	struct mturk_client *c;
	char base[64];
	/* The injected monotonic clock, moved by the injected sleep. */
	int64_t mono;
	int64_t slept;
	int sleeps;
};

static int64_t
fx_mono(void *arg)
{
	return ((struct fx *)arg)->mono;
}

static void
fx_sleep(void *arg, int64_t ms)
{
	struct fx *x = arg;

	x->mono += ms;
	x->slept += ms;
	x->sleeps++;
}

static int64_t
fx_now(void *arg)
{
	(void)arg;
	return (int64_t)time(NULL);
}

static struct fx *
fx_new(const char *refuse, const struct mturk_rate *rate)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct sim_config cfg;
	struct mturk_client_config cc;
	struct errbuf eb = {0};
	const char *refusals[1] = {refuse};

	assert_non_null(x);
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen_host = "127.0.0.1";
	cfg.seed = 9;
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	cfg.refusals = refusals;
	cfg.nrefusals = refuse != NULL ? 1 : 0;
	x->sim = sim_new(&cfg, &eb);
	if (x->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(x->base, sizeof(x->base), "http://127.0.0.1:%u",
		 sim_port(x->sim));
	x->creds = aws_creds_new(KEY, SECRET, NULL, "test");
	assert_non_null(x->creds);
	memset(&cc, 0, sizeof(cc));
	cc.endpoint = x->base;
	cc.creds = x->creds;
	cc.clock.now = fx_now;
	cc.clock.sleep_ms = fx_sleep;
	cc.clock.ctx = x;
	if (rate != NULL) {
		cc.rate = *rate;
		cc.rate.mono_ms = fx_mono;
		cc.rate.sleep_ms = fx_sleep;
		cc.rate.ctx = x;
	}
	assert_int_equal(mturk_client_new(&cc, &x->c, &eb), IF_OK);
	return x;
}

static void
fx_free(struct fx *x)
{
	mturk_client_free(x->c);
	sim_free(x->sim);
	aws_creds_free(x->creds);
	free(x);
}

/* A HIT the simulated crowd answers at once: its assignments in *as. */
static void
answered_hit(struct fx *x, int workers, struct mturk_hit *hit,
	     struct mturk_assignment **as, size_t *n)
{
	struct mturk_hit_type t = {"Settle", "D", NULL, 15, 300, 3600, NULL,
				   0};
	char type_id[MTURK_ID_MAX];
	struct errbuf eb = {0};
	bool rec = false;

	assert_int_equal(mturk_create_hit_type(x->c, &t, type_id, &eb), IF_OK);
	assert_int_equal(mturk_create_hit(x->c, type_id, "<HTMLQuestion/>",
					  3600, workers, "settle/img/1",
					  "settle-1", hit, &rec, &eb),
			 IF_OK);
	assert_int_equal(mturk_list_assignments(x->c, hit->hit_id, 0, as, n,
						&eb),
			 IF_OK);
	assert_int_equal(*n, (size_t)workers);
}

/* Approve, grant and review: every item goes, each with its result. */
static void
test_settle_many(void **state)
{
	struct fx *x = fx_new(NULL, NULL);
	struct mturk_assignment *as = NULL;
	struct mturk_settle items[7];
	struct mturk_hit hit, h;
	struct errbuf eb = {0};
	char qual[MTURK_ID_MAX];
	size_t n = 0, k = 0;

	(void)state;
	assert_int_equal(mturk_create_qualification_type(x->c, "settle s1",
							 "d", qual, &eb),
			 IF_OK);
	answered_hit(x, 3, &hit, &as, &n);
	memset(items, 0, sizeof(items));
	for (size_t i = 0; i < n; i++) {
		items[k].kind = MTURK_SETTLE_APPROVE;
		items[k++].id = as[i].assignment_id;
		items[k].kind = MTURK_SETTLE_GRANT;
		items[k].id = qual;
		items[k].worker_id = as[i].worker_id;
		items[k++].value = 1;
	}
	items[k].kind = MTURK_SETTLE_REVIEWING;
	items[k++].id = hit.hit_id;
	assert_int_equal(mturk_settle_many(x->c, items, k, &eb), IF_OK);
	for (size_t i = 0; i < k; i++)
		if (items[i].rc != IF_OK)
			fail_msg("item %zu: %s", i, items[i].eb.msg);
	assert_int_equal(mturk_client_sent(x->c, "ApproveAssignment"), 3);
	assert_int_equal(mturk_client_sent(x->c,
					   "AssociateQualificationWithWorker"),
			 3);
	/* The service agrees. */
	for (size_t i = 0; i < n; i++) {
		struct mturk_assignment a;

		assert_int_equal(mturk_get_assignment(x->c,
						      as[i].assignment_id, &a,
						      NULL, &eb),
				 IF_OK);
		assert_string_equal(a.status, "Approved");
		mturk_assignment_cleanup(&a);
	}
	assert_int_equal(mturk_get_hit(x->c, hit.hit_id, &h, &eb), IF_OK);
	assert_string_equal(h.hit_status, "Reviewing");
	/* Again (a crash before the results were recorded): all done. */
	assert_int_equal(mturk_settle_many(x->c, items, k, &eb), IF_OK);
	for (size_t i = 0; i < k; i++)
		if (items[i].rc != IF_OK)
			fail_msg("again, item %zu: %s", i, items[i].eb.msg);
	assert_string_equal(items[0].status, "Approved");
	assert_int_equal(mturk_client_sent(x->c, "GetAssignment"), 3 + 3);
	mturk_assignments_free(as, n);
	fx_free(x);
}

/* A refusal is its own item's: the others go through. */
static void
test_refusal_stays_with_its_item(void **state)
{
	struct fx *x = fx_new("AssociateQualificationWithWorker="
			      "ParameterValidationError",
			      NULL);
	struct mturk_assignment *as = NULL;
	struct mturk_settle items[2];
	struct mturk_hit hit;
	struct errbuf eb = {0};
	char qual[MTURK_ID_MAX];
	size_t n = 0;

	(void)state;
	assert_int_equal(mturk_create_qualification_type(x->c, "settle s2",
							 "d", qual, &eb),
			 IF_OK);
	answered_hit(x, 1, &hit, &as, &n);
	memset(items, 0, sizeof(items));
	items[0].kind = MTURK_SETTLE_GRANT;
	items[0].id = qual;
	items[0].worker_id = as[0].worker_id;
	items[0].value = 1;
	items[1].kind = MTURK_SETTLE_APPROVE;
	items[1].id = as[0].assignment_id;
	assert_int_equal(mturk_settle_many(x->c, items, 2, &eb), IF_OK);
	assert_int_not_equal(items[0].rc, IF_OK);
	assert_int_equal(items[0].fault, MTURK_FAULT_REQUEST);
	assert_non_null(strstr(items[0].eb.msg, "ParameterValidationError"));
	assert_int_equal(items[1].rc, IF_OK);
	/* Refused for what it says: not sent again. */
	assert_int_equal(mturk_client_sent(x->c,
					   "AssociateQualificationWithWorker"),
			 1);
	mturk_assignments_free(as, n);
	fx_free(x);
}

/*
 * The token bucket: 10 a second with a burst of 3; on the injected clock
 * the first three go at once and each later one waits 100 ms, whether
 * sent one by one or at once.
 */
static void
test_pace(void **state)
{
	struct mturk_rate rate = {10, 3, 4, NULL, NULL, NULL};
	struct fx *x = fx_new(NULL, &rate);
	struct mturk_settle items[5];
	struct errbuf eb = {0};
	char qual[MTURK_ID_MAX];
	int64_t avail = 0;

	(void)state;
	x->mono = 1000000;
	assert_int_equal(mturk_create_qualification_type(x->c, "settle s3",
							 "d", qual, &eb),
			 IF_OK);
	/* A second later the bucket is full. */
	x->mono += 1000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(mturk_get_account_balance(x->c, &avail, NULL,
							   &eb),
				 IF_OK);
	assert_int_equal(x->sleeps, 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(mturk_get_account_balance(x->c, &avail, NULL,
							   &eb),
				 IF_OK);
	assert_int_equal(x->sleeps, 2);
	assert_int_equal(x->slept, 200);
	/* A second later the bucket is full again: 3 at once, 2 wait. */
	x->mono += 1000;
	memset(items, 0, sizeof(items));
	for (int i = 0; i < 5; i++) {
		items[i].kind = MTURK_SETTLE_GRANT;
		items[i].id = qual;
		items[i].worker_id = "AWORKER1";
		items[i].value = 1;
	}
	assert_int_equal(mturk_settle_many(x->c, items, 5, &eb), IF_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(items[i].rc, IF_OK);
	assert_int_equal(x->slept, 200 + 200);
	fx_free(x);
}

/*
 * A clone (another thread's handle, daemon/pool.c) takes its pace from the
 * same bucket and counts in the same counters: with a burst of 3, two
 * calls on the client and two on its clone make one wait of 100 ms.
 */
static void
test_pace_shared_by_clones(void **state)
{
	struct mturk_rate rate = {10, 3, 4, NULL, NULL, NULL};
	struct fx *x = fx_new(NULL, &rate);
	struct mturk_client *clone = NULL;
	struct mturk_hit mh;
	struct errbuf eb = {0};
	int64_t avail = 0;

	(void)state;
	x->mono = 1000000;
	assert_int_equal(mturk_client_clone(x->c, &clone, &eb), IF_OK);
	for (int i = 0; i < 4; i++)
		assert_int_equal(mturk_get_account_balance(i % 2 ? clone
								  : x->c,
							   &avail, NULL, &eb),
				 IF_OK);
	assert_int_equal(x->sleeps, 1);
	assert_int_equal(x->slept, 100);
	assert_int_equal(mturk_client_sent(x->c, "GetAccountBalance"), 4);
	assert_int_equal(mturk_client_sent(clone, "GetAccountBalance"), 4);
	/* Its own last error: a failure of one is not the other's. */
	assert_int_not_equal(mturk_get_hit(clone, "NOSUCHHIT", &mh, &eb),
			     IF_OK);
	assert_int_not_equal(mturk_client_fault(clone), MTURK_FAULT_NONE);
	assert_int_equal(mturk_client_fault(x->c), MTURK_FAULT_NONE);
	mturk_client_free(clone);
	fx_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle_many),
		cmocka_unit_test(test_refusal_stays_with_its_item),
		cmocka_unit_test(test_pace),
		cmocka_unit_test(test_pace_shared_by_clones),
	};

	log_init(0, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
