/*
 * The push of the project's own server (sim/sim_push.c, mturk/push.c;
 * issue 19) over HTTP on 127.0.0.1: a wait refused unsigned, a wait that a
 * participant's submit ends (the simulator, a thread per connection), a
 * wait in serve's epoll mode that holds no thread while it waits (one
 * server thread still answers others) and ends when the store's clock
 * makes the HIT Reviewable, the bound on waiters, and the simulated
 * latency paid once a push (counted, not timed).  Nothing depends on
 * timing: each wait ends on an event the test causes, or is answered when
 * the server stops; the only bound is a wait's own 20 s, which no passing
 * run reaches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "sim/sim.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY "AKIDSIMPUSHTEST00000"
#define SECRET "sim-push-secret"
#define WAIT_MS 20000
#define WAITERS_MAX 16 /* the server's bound (sim_server.c) */

struct fx {
	struct sim_server *sim;
	struct aws_creds *creds;
	_Atomic int64_t now_ms; /* the server's clock when test_clock */
	bool test_clock;
	char base[64];
};

static int64_t
fx_clock(void *arg)
{
	return atomic_load(&((struct fx *)arg)->now_ms);
}

static struct fx *
fx_new_latency(bool people, bool test_clock, int64_t latency_ms)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct sim_people_config pc;
	struct sim_config cfg;
	struct errbuf eb = {0};

	assert_non_null(x);
	atomic_store(&x->now_ms, (int64_t)1790000000 * 1000);
	x->test_clock = test_clock;
	memset(&cfg, 0, sizeof(cfg));
	memset(&pc, 0, sizeof(pc));
	cfg.listen_host = "127.0.0.1";
	cfg.seed = 5;
	cfg.crowd_off = true;
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	cfg.call_latency_ms = latency_ms;
	if (test_clock) {
		cfg.clock_ms = fx_clock;
		cfg.clock_ctx = x;
	}
	if (people) {
		pc.threads = 1; /* one server thread for everyone */
		cfg.people = &pc;
	}
	x->sim = sim_new(&cfg, &eb);
	if (x->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(x->base, sizeof(x->base), "http://127.0.0.1:%u",
		 sim_port(x->sim));
	x->creds = aws_creds_new(KEY, SECRET, NULL, "test");
	assert_non_null(x->creds);
	return x;
}

static struct fx *
fx_new(bool people, bool test_clock)
{
	return fx_new_latency(people, test_clock, 0);
}

static void
fx_free(struct fx *x)
{
	sim_free(x->sim);
	aws_creds_free(x->creds);
	free(x);
}

static int64_t
fx_now_s(void *arg)
{
	const struct fx *x = arg;

	return x->test_clock ? atomic_load(&x->now_ms) / 1000
			     : (int64_t)time(NULL);
}

/* A client that has made one call, so that it knows of the push. */
static struct mturk_client *
client_new(struct fx *x)
{
	struct mturk_client_config cfg;
	struct mturk_client *c = NULL;
	struct errbuf eb = {0};
	int64_t avail = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.endpoint = x->base;
	cfg.creds = x->creds;
	cfg.clock.now = fx_now_s;
	cfg.clock.ctx = x;
	cfg.retry.max_attempts = 1;
	assert_int_equal(mturk_client_new(&cfg, &c, &eb), IF_OK);
	assert_false(mturk_client_push_offered(c));
	assert_int_equal(mturk_get_account_balance(c, &avail, NULL, &eb),
			 IF_OK);
	assert_true(mturk_client_push_offered(c));
	return c;
}

/* The server's clock now, from an answer that does not wait. */
static int64_t
server_now(struct mturk_client *c)
{
	struct mturk_push_answer a;
	struct errbuf eb = {0};
	int64_t now;

	assert_int_equal(mturk_push_wait(c, 0, 0, NULL, &a, &eb), IF_OK);
	now = a.now_ms;
	mturk_push_answer_cleanup(&a);
	return now;
}

static void
create_hit(struct mturk_client *c, const char *token, int64_t lifetime,
	   struct mturk_hit *out)
{
	struct mturk_hit_type t = {"Push", "D", NULL, 15, 300, 3600, NULL, 0};
	char type_id[MTURK_ID_MAX];
	struct errbuf eb = {0};
	bool rec = false;

	assert_int_equal(mturk_create_hit_type(c, &t, type_id, &eb), IF_OK);
	assert_int_equal(mturk_create_hit(c, type_id, "<HTMLQuestion/>",
					  lifetime, 1, "push/img/1", token,
					  out, &rec, &eb),
			 IF_OK);
}

/* One wait on a thread of its own, with a client of its own. */
struct waiter {
	struct fx *x;
	struct mturk_client *c;
	int64_t since;
	pthread_t thread;
	int rc;
	atomic_bool done;
	struct mturk_push_answer a;
	struct errbuf eb;
};

static void *
waiter_main(void *arg)
{
	struct waiter *w = arg;

	w->rc = mturk_push_wait(w->c, w->since, WAIT_MS, NULL, &w->a, &w->eb);
	atomic_store(&w->done, true);
	return NULL;
}

static void
waiter_start(struct waiter *w, struct fx *x, int64_t since)
{
	memset(w, 0, sizeof(*w));
	w->x = x;
	w->c = client_new(x);
	w->since = since;
	assert_int_equal(pthread_create(&w->thread, NULL, waiter_main, w), 0);
}

static void
waiter_join(struct waiter *w)
{
	assert_int_equal(pthread_join(w->thread, NULL), 0);
	mturk_client_free(w->c);
}

/* Until the server holds n waits (each registers before it waits). */
static void
until_waiting(struct fx *x, size_t n)
{
	struct timespec ms = {0, 1000000L};

	while (sim_push_waiting(x->sim) < n)
		nanosleep(&ms, NULL);
}

static bool
answer_has(const struct mturk_push_answer *a, const char *hit_id)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->hit_ids[i], hit_id) == 0)
			return true;
	return false;
}

/* ---- raw HTTP (the lab pages, an unsigned request) ---------------------- */

struct reply {
	long status;
	struct buf body;
	char location[2048];
};

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;

	buf_append(&r->body, p, sz * n);
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = sz * n;

	if (len > 10 && strncasecmp(p, "Location: ", 10) == 0) {
		snprintf(r->location, sizeof(r->location), "%.*s",
			 (int)(len - 10), p + 10);
		r->location[strcspn(r->location, "\r\n")] = '\0';
	}
	return len;
}

static void
http(const char *method, const char *url, struct curl_slist *hdrs,
     const char *body, struct reply *r)
{
	CURL *h = curl_easy_init();

	memset(r, 0, sizeof(*r));
	buf_init(&r->body, 0);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	if (body != NULL) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
}

/* A lab participant takes the HIT and submits an answer. */
static void
lab_submit(struct fx *x, const char *hit_id)
{
	struct reply r;
	char url[4096], body[256];
	const char *a;

	snprintf(url, sizeof(url), "%s/lab/accept/%s?workerId=p-9", x->base,
		 hit_id);
	http("GET", url, NULL, NULL, &r);
	assert_int_equal(r.status, 303);
	buf_cleanup(&r.body);
	a = strstr(r.location, "assignmentId=");
	assert_non_null(a);
	a += 13;
	snprintf(body, sizeof(body),
		 "assignmentId=%.*s&boxes=%%5B%%5D&face_found=no",
		 (int)strcspn(a, "&"), a);
	snprintf(url, sizeof(url), "%s/mturk/externalSubmit", x->base);
	http("POST", url, NULL, body, &r);
	assert_int_equal(r.status, 200);
	buf_cleanup(&r.body);
}

/* ---- the tests ---------------------------------------------------------- */

/* The wait is an API request like the others: unsigned, it is refused. */
static void
test_unsigned_wait_refused(void **state)
{
	struct fx *x = fx_new(true, false);
	struct curl_slist *h = NULL;
	struct reply r;

	(void)state;
	h = curl_slist_append(h, "X-Amz-Target: " MTURK_PUSH_TARGET);
	h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.1");
	http("POST", x->base, h, "{\"Since\":0,\"WaitMs\":20000}", &r);
	curl_slist_free_all(h);
	assert_int_equal(r.status, 400);
	assert_non_null(strstr(r.body.data,
			       "MissingAuthenticationTokenException"));
	assert_int_equal(sim_push_waiting(x->sim), 0);
	buf_cleanup(&r.body);
	fx_free(x);
}

/* The simulator: a participant's submit ends the wait with its HIT. */
static void
test_submit_ends_the_wait(void **state)
{
	struct fx *x = fx_new(false, false);
	struct mturk_client *c = client_new(x);
	struct mturk_hit hit;
	struct waiter w;

	(void)state;
	create_hit(c, "push-1", 3600, &hit);
	waiter_start(&w, x, server_now(c));
	until_waiting(x, 1);
	assert_false(atomic_load(&w.done));
	lab_submit(x, hit.hit_id);
	waiter_join(&w);
	if (w.rc != IF_OK)
		fail_msg("wait: %s", w.eb.msg);
	assert_false(w.a.woken);
	assert_true(answer_has(&w.a, hit.hit_id));
	mturk_push_answer_cleanup(&w.a);
	/* Since that answer, nothing new: an immediate answer is empty. */
	{
		struct mturk_push_answer a;
		struct errbuf eb = {0};

		assert_int_equal(mturk_push_wait(c, server_now(c) + 1, 0, NULL,
						 &a, &eb),
				 IF_OK);
		assert_int_equal(a.n, 0);
		mturk_push_answer_cleanup(&a);
	}
	mturk_client_free(c);
	fx_free(x);
}

/*
 * serve's epoll mode with one server thread: while a wait is suspended,
 * that thread answers another request; the HIT's expiry on the store's
 * clock then ends the wait.
 */
static void
test_epoll_wait_holds_no_thread(void **state)
{
	struct fx *x = fx_new(true, true);
	struct mturk_client *c = client_new(x);
	struct mturk_hit hit;
	struct waiter w;
	struct errbuf eb = {0};
	char q[MTURK_ID_MAX];

	(void)state;
	create_hit(c, "push-2", 60, &hit);
	waiter_start(&w, x, server_now(c));
	until_waiting(x, 1);
	/* The only thread is free: this call is answered while w waits. */
	assert_int_equal(mturk_create_qualification_type(c, "push q", "d", q,
							 &eb),
			 IF_OK);
	assert_false(atomic_load(&w.done));
	assert_int_equal(sim_push_waiting(x->sim), 1);
	/* The HIT expires unanswered: Reviewable; any change looks again. */
	atomic_fetch_add(&x->now_ms, (int64_t)120 * 1000);
	assert_int_equal(mturk_create_qualification_type(c, "push q2", "d", q,
							 &eb),
			 IF_OK);
	waiter_join(&w);
	if (w.rc != IF_OK)
		fail_msg("wait: %s", w.eb.msg);
	assert_true(answer_has(&w.a, hit.hit_id));
	mturk_push_answer_cleanup(&w.a);
	mturk_client_free(c);
	fx_free(x);
}

/*
 * At most WAITERS_MAX waits at once: one more is refused as throttled (the
 * daemon then polls); stopping the server ends every wait.
 */
static void
test_waiters_bounded(void **state)
{
	struct fx *x = fx_new(false, false);
	struct mturk_client *c = client_new(x);
	struct waiter *w = calloc(WAITERS_MAX, sizeof(*w));
	struct mturk_push_answer a;
	struct errbuf eb = {0};
	int64_t since = server_now(c);

	(void)state;
	assert_non_null(w);
	for (int i = 0; i < WAITERS_MAX; i++)
		waiter_start(&w[i], x, since);
	until_waiting(x, WAITERS_MAX);
	assert_int_not_equal(mturk_push_wait(c, since, WAIT_MS, NULL, &a, &eb),
			     IF_OK);
	assert_non_null(strstr(eb.msg, "ThrottlingException"));
	assert_int_equal(sim_push_waiting(x->sim), WAITERS_MAX);
	sim_free(x->sim);
	x->sim = NULL;
	/* Each ends: answered empty, or its connection closed by the stop. */
	for (int i = 0; i < WAITERS_MAX; i++) {
		waiter_join(&w[i]);
		assert_true(atomic_load(&w[i].done));
		assert_int_equal(w[i].a.n, 0);
		mturk_push_answer_cleanup(&w[i].a);
	}
	free(w);
	mturk_client_free(c);
	fx_free(x);
}

/*
 * The simulated latency is one trip a request: the push pays it once,
 * whether answered at once or after a wait, like any other API call.
 * Counted by the server (sim_latency_waits), not timed.
 */
static void
test_push_pays_latency_once(void **state)
{
	struct fx *x = fx_new_latency(false, false, 1);
	struct mturk_client *c = client_new(x);
	struct mturk_hit hit;
	struct waiter w;
	struct errbuf eb = {0};
	char q[MTURK_ID_MAX];
	uint64_t n;

	(void)state;
	create_hit(c, "push-3", 3600, &hit);
	/* Another call, the reference: one wait. */
	n = sim_latency_waits(x->sim);
	assert_int_equal(mturk_create_qualification_type(c, "lat q", "d", q,
							 &eb),
			 IF_OK);
	assert_int_equal(sim_latency_waits(x->sim), n + 1);
	/* A push answered at once. */
	n = sim_latency_waits(x->sim);
	(void)server_now(c);
	assert_int_equal(sim_latency_waits(x->sim), n + 1);
	/*
	 * A push that waits until a participant's submit (the lab's pages
	 * are not API calls): the waiter's client makes one call first.
	 */
	n = sim_latency_waits(x->sim);
	waiter_start(&w, x, server_now(c));
	until_waiting(x, 1);
	lab_submit(x, hit.hit_id);
	waiter_join(&w);
	if (w.rc != IF_OK)
		fail_msg("wait: %s", w.eb.msg);
	assert_true(answer_has(&w.a, hit.hit_id));
	mturk_push_answer_cleanup(&w.a);
	/* server_now's push, the waiter's first call, its push. */
	assert_int_equal(sim_latency_waits(x->sim), n + 3);
	mturk_client_free(c);
	fx_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unsigned_wait_refused),
		cmocka_unit_test(test_submit_ends_the_wait),
		cmocka_unit_test(test_epoll_wait_holds_no_thread),
		cmocka_unit_test(test_waiters_bounded),
		cmocka_unit_test(test_push_pays_latency_once),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	log_init(0, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
