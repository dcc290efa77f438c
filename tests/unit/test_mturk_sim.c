/*
 * The client against the simulator, in one process: the typed operations
 * and their idempotency rules meet a real implementation of the service's
 * errors (not canned replies), the signing clock is corrected from the
 * simulator's Date header, and the simulator image host puts an object
 * over the S3 code path and fetches it back with its presigned URL.
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

static char akid[] = "AKIDSIMINTEROP000000";
static char secret[] = "interop-secret";

struct fx {
	struct sim_server *sim;
	struct aws_creds creds;
	char url[64];
	int64_t offset; /* added to the real clock: a wrong local clock */
	int nsleeps;
	struct mturk_client *c;
};

static int64_t
f_now(void *ctx)
{
	return (int64_t)time(NULL) + ((struct fx *)ctx)->offset;
}

/* Nothing here should be retried with a backoff: count, never sleep. */
static void
f_sleep(void *ctx, int64_t ms)
{
	(void)ms;
	((struct fx *)ctx)->nsleeps++;
}

static double
f_random(void *ctx)
{
	(void)ctx;
	return 0.0;
}

static struct mturk_clock
fx_clock(struct fx *x)
{
	struct mturk_clock k = {f_now, f_sleep, f_random, x};

	return k;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct sim_config sc;
	struct mturk_client_config cfg;
	struct errbuf eb = {0};

	assert_non_null(x);
	memset(&sc, 0, sizeof(sc));
	sc.seed = 7;
	sc.crowd_off = true;
	sc.access_key_id = akid;
	sc.secret_access_key = secret;
	x->sim = sim_new(&sc, &eb);
	if (x->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(x->url, sizeof(x->url), "http://127.0.0.1:%u",
		 sim_port(x->sim));
	x->creds.access_key_id = akid;
	x->creds.secret_access_key = secret;
	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = x->url;
	cfg.creds = &x->creds;
	cfg.clock = fx_clock(x);
	if (mturk_client_new(&cfg, &x->c, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	assert_int_equal(x->nsleeps, 0);
	mturk_client_free(x->c);
	sim_free(x->sim);
	free(x);
	return 0;
}

static void
test_workflow_and_idempotency(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	char q1[MTURK_ID_MAX], q2[MTURK_ID_MAX], type_id[MTURK_ID_MAX];
	struct mturk_hit_type t = {
		.title = "Box anything that could identify a person",
		.description = "Draw boxes",
		.reward_cents = 15,
		.assignment_duration = 300,
		.auto_approval_delay = -1,
	};
	struct mturk_hit h1, h2, found;
	struct mturk_assignment *as = NULL;
	size_t n = 0;
	bool recovered = true, ok = false;
	int64_t avail = 0;

	assert_int_equal(mturk_get_account_balance(x->c, &avail, NULL, &eb),
			 IF_OK);
	assert_true(avail > 0);
	/* The second create meets the simulator's duplicate-name error. */
	assert_int_equal(mturk_create_qualification_type(x->c, "interop-s1",
							 "stage 1", q1, &eb),
			 IF_OK);
	assert_int_equal(mturk_create_qualification_type(x->c, "interop-s1",
							 "stage 1", q2, &eb),
			 IF_OK);
	assert_string_equal(q1, q2);
	assert_int_equal(mturk_associate_qualification(x->c, q1, "AINTEROP1", 1,
						       &eb),
			 IF_OK);
	assert_int_equal(mturk_create_hit_type(x->c, &t, type_id, &eb), IF_OK);
	assert_int_equal(mturk_create_hit(x->c, type_id, "<HTMLQuestion/>",
					  3600, 3, "interop/img/1",
					  "interop-img-1-0", &h1, &recovered,
					  &eb),
			 IF_OK);
	assert_false(recovered);
	assert_int_equal(h1.max_assignments, 3);
	/* The same token again: the same HIT, recovered from the message. */
	assert_int_equal(mturk_create_hit(x->c, type_id, "<HTMLQuestion/>",
					  3600, 3, "interop/img/1",
					  "interop-img-1-0", &h2, &recovered,
					  &eb),
			 IF_OK);
	assert_true(recovered);
	assert_string_equal(h2.hit_id, h1.hit_id);
	assert_string_equal(h2.requester_annotation, "interop/img/1");
	assert_int_equal(mturk_find_hit_by_annotation(x->c, "interop/img/1",
						      &found, &ok, &eb),
			 IF_OK);
	assert_true(ok);
	assert_string_equal(found.hit_id, h1.hit_id);
	assert_int_equal(mturk_list_assignments(x->c, h1.hit_id,
						MTURK_ASSIGNMENT_SUBMITTED, &as,
						&n, &eb),
			 IF_OK);
	assert_int_equal(n, 0); /* the crowd is off */
	mturk_assignments_free(as, n);
	assert_int_equal(mturk_update_expiration(x->c, h1.hit_id, 0, &eb),
			 IF_OK);
	assert_int_equal(mturk_update_expiration(x->c, h1.hit_id, 0, &eb),
			 IF_OK);
	/* Errors of the real shapes come back typed. */
	assert_int_equal(mturk_get_hit(x->c, "NOSUCHHIT", &h2, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "HITDoesNotExist"));
	err_init(&eb);
	assert_int_equal(mturk_approve_assignment(x->c, "NOSUCHASSIGNMENT",
						  NULL, NULL, 0, &eb),
			 IF_ERUNTIME);
}

static void
test_clock_skew_against_sim(void **state)
{
	struct fx *x = *state;
	struct errbuf eb = {0};
	int64_t avail = 0;

	/* Our clock is two hours behind: the first call is refused, the
	 * offset is learnt from Date, and the retry passes. */
	x->offset = -7200;
	assert_int_equal(mturk_get_account_balance(x->c, &avail, NULL, &eb),
			 IF_OK);
	assert_true(mturk_client_clock_offset(x->c) >= 7199 &&
		    mturk_client_clock_offset(x->c) <= 7201);
}

static void
test_image_host_on_sim(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config hc;
	struct mturk_image_host *h = NULL;
	struct mturk_hosted out;
	struct http_client *hcl = NULL;
	struct http_response resp;
	struct http_request get = {"GET", NULL, NULL, NULL, 0, 0};
	struct errbuf eb = {0};
	const char img[] = "\x89PNG\r\n\x1a\n fake png bytes";

	memset(&hc, 0, sizeof(hc));
	hc.kind = MTURK_HOST_SIMULATOR;
	hc.endpoint = x->url;
	hc.creds = &x->creds;
	hc.clock = fx_clock(x);
	assert_int_equal(mturk_image_host_new(&hc, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_put(h, img, sizeof(img) - 1,
					      "image/png", ".png", 3600, &out,
					      &eb),
			 IF_OK);
	/* A worker's browser fetches the presigned URL, unsigned itself. */
	assert_int_equal(http_client_new(NULL, &hcl, &eb), IF_OK);
	http_response_init(&resp, 0);
	get.url = out.url;
	assert_int_equal(http_perform(hcl, &get, &resp, &eb), IF_OK);
	assert_int_equal(resp.status, 200);
	assert_int_equal(resp.body.len, sizeof(img) - 1);
	assert_memory_equal(resp.body.data, img, sizeof(img) - 1);
	/* A tampered URL is refused. */
	out.url[strlen(out.url) - 1] =
		out.url[strlen(out.url) - 1] == '0' ? '1' : '0';
	get.url = out.url;
	assert_int_equal(http_perform(hcl, &get, &resp, &eb), IF_OK);
	assert_int_equal(resp.status, 403);
	http_response_cleanup(&resp);
	http_client_free(hcl);
	mturk_image_host_free(h);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_workflow_and_idempotency),
		T(test_clock_skew_against_sim),
		T(test_image_host_on_sim),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
