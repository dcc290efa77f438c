/*
 * prolific/: the client against tests/support/fake_prolific (loopback),
 * with faults: the token chain, the fault classes, paging, retries on
 * passing faults with an injected clock (nothing sleeps), a pay call never
 * repeated, ids refused before they reach a path or a CSV line, and the
 * price of a study against its budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "prolific/prolific.h"
#include "tests/support/fake_prolific.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN "tok_0123456789abcdef"
#define STUDY "60aa00000000000000000001"
#define SUB1 "60bb00000000000000000001"
#define SUB2 "60bb00000000000000000002"
#define SUB3 "60bb00000000000000000003"

struct tclock {
	int64_t now;
	int nsleeps;
	int64_t slept_ms;
};

static int64_t
t_now(void *ctx)
{
	return ((struct tclock *)ctx)->now;
}

static void
t_sleep(void *ctx, int64_t ms)
{
	struct tclock *k = ctx;

	k->nsleeps++;
	k->slept_ms += ms;
	k->now += ms / 1000;
}

static double
t_random(void *ctx)
{
	(void)ctx;
	return 0.5;
}

struct fx {
	struct fake_prolific *fake;
	struct prolific_client *c;
	struct tclock clock;
};

static struct prolific_client *
client_for(struct fx *x, const char *url, const char *token)
{
	struct prolific_client_config cfg;
	struct prolific_client *c = NULL;
	struct errbuf eb = {0};

	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = url;
	cfg.token = token;
	cfg.http.timeout_ms = 5000;
	cfg.retry.max_attempts = 4;
	cfg.clock.now = t_now;
	cfg.clock.sleep_ms = t_sleep;
	cfg.clock.random = t_random;
	cfg.clock.ctx = &x->clock;
	assert_int_equal(prolific_client_new(&cfg, &c, &eb), IF_OK);
	return c;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->clock.now = 1796000000;
	x->fake = fake_prolific_start(TOKEN, STUDY);
	assert_non_null(x->fake);
	fake_prolific_add_submission(x->fake, SUB1, "5f0000000000000000000001",
				     "AWAITING REVIEW");
	fake_prolific_add_submission(x->fake, SUB2, "5f0000000000000000000002",
				     "RETURNED");
	fake_prolific_add_submission(x->fake, SUB3, "5f0000000000000000000003",
				     "ACTIVE");
	x->c = client_for(x, fake_prolific_url(x->fake), TOKEN);
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	prolific_client_free(x->c);
	fake_prolific_stop(x->fake);
	free(x);
	return 0;
}

static void
test_fault_classes(void **state)
{
	(void)state;
	assert_int_equal(prolific_fault_classify(200, 0), PROLIFIC_FAULT_NONE);
	assert_int_equal(prolific_fault_classify(201, 0), PROLIFIC_FAULT_NONE);
	assert_int_equal(prolific_fault_classify(429, 0),
			 PROLIFIC_FAULT_PASSING);
	assert_int_equal(prolific_fault_classify(500, 0),
			 PROLIFIC_FAULT_PASSING);
	assert_int_equal(prolific_fault_classify(503, 0),
			 PROLIFIC_FAULT_PASSING);
	assert_int_equal(prolific_fault_classify(400, 0),
			 PROLIFIC_FAULT_REFUSED);
	assert_int_equal(prolific_fault_classify(404, 0),
			 PROLIFIC_FAULT_REFUSED);
	assert_int_equal(prolific_fault_classify(422, 0),
			 PROLIFIC_FAULT_REFUSED);
	assert_int_equal(prolific_fault_classify(401, 0),
			 PROLIFIC_FAULT_ACCOUNT);
	assert_int_equal(prolific_fault_classify(403, 0),
			 PROLIFIC_FAULT_ACCOUNT);
	assert_int_equal(prolific_fault_classify(0, CURLE_COULDNT_CONNECT),
			 PROLIFIC_FAULT_PASSING);
	assert_int_equal(prolific_fault_classify(0, CURLE_GOT_NOTHING),
			 PROLIFIC_FAULT_PASSING);
	assert_int_equal(
		prolific_fault_classify(0, CURLE_PEER_FAILED_VERIFICATION),
		PROLIFIC_FAULT_ACCOUNT);
	assert_string_equal(prolific_fault_str(PROLIFIC_FAULT_ACCOUNT),
			    "account");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_token_chain(void **state)
{
	char dir[] = "/tmp/prolific-token-XXXXXX", credfile[256], expfile[256];
	char source[256];
	struct prolific_token_env env = {0};
	struct errbuf eb = {0};
	char *tok = NULL;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(credfile, sizeof(credfile), "%s/prolific-token", dir);
	snprintf(expfile, sizeof(expfile), "%s/experiment-token", dir);
	write_file(credfile, "from-credentials\n", 0600);
	write_file(expfile, "from-experiment\r\n", 0600);

	/* The environment first. */
	env.token = "from-env";
	env.credentials_directory = dir;
	assert_int_equal(prolific_token_load(&env, expfile, &tok, source,
					     sizeof(source), &eb), IF_OK);
	assert_string_equal(tok, "from-env");
	assert_null(strstr(source, "from-env"));
	prolific_token_free(tok);

	/* Then systemd's credentials directory. */
	env.token = NULL;
	assert_int_equal(prolific_token_load(&env, expfile, &tok, source,
					     sizeof(source), &eb), IF_OK);
	assert_string_equal(tok, "from-credentials");
	assert_string_equal(source, credfile);
	prolific_token_free(tok);

	/* Then the experiment's file, its line ending dropped. */
	env.credentials_directory = NULL;
	assert_int_equal(prolific_token_load(&env, expfile, &tok, source,
					     sizeof(source), &eb), IF_OK);
	assert_string_equal(tok, "from-experiment");
	prolific_token_free(tok);

	/* A file others can read is refused, naming it, not its value. */
	assert_int_equal(chmod(expfile, 0644), 0);
	err_init(&eb);
	assert_int_equal(prolific_token_load(&env, expfile, &tok, source,
					     sizeof(source), &eb), IF_EINPUT);
	assert_null(tok);
	assert_non_null(strstr(eb.msg, expfile));
	assert_null(strstr(eb.msg, "from-experiment"));

	/* Two words are not a token. */
	write_file(expfile, "two words\n", 0600);
	err_init(&eb);
	assert_int_equal(prolific_token_load(&env, expfile, &tok, source,
					     sizeof(source), &eb), IF_EINPUT);

	/* Nothing anywhere: the message names the three places. */
	err_init(&eb);
	assert_int_equal(prolific_token_load(&env, NULL, &tok, source,
					     sizeof(source), &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "PROLIFIC_TOKEN"));
	assert_non_null(strstr(eb.msg, "LoadCredential"));
	unlink(credfile);
	unlink(expfile);
	rmdir(dir);
}

static void
test_price_and_budget(void **state)
{
	struct prolific_price_input in = {0};
	struct prolific_price p;
	struct errbuf eb = {0};

	(void)state;
	/* 100 x $2.00 with the corporate fee: 42.8% of 200 = 85.6 -> 86. */
	in.reward_cents = 200;
	in.places = 100;
	in.fee_bp = PROLIFIC_FEE_CORPORATE_BP;
	assert_int_equal(prolific_price_study(&in, &p, &eb), IF_OK);
	assert_int_equal(p.rewards_cents, 20000);
	assert_int_equal(p.bonuses_cents, 0);
	assert_int_equal(p.fees_cents, 8600);
	assert_int_equal(p.vat_cents, 0);
	assert_int_equal(p.total_cents, 28600);

	/* Bonuses: 5 tasks x $0.10 each, fee on them too; 20% VAT on fees. */
	in.bonus_per_task_cents = 10;
	in.tasks_per_submission = 5;
	in.fee_bp = PROLIFIC_FEE_ACADEMIC_BP;
	in.vat_bp = 2000;
	assert_int_equal(prolific_price_study(&in, &p, &eb), IF_OK);
	/* reward fee ceil(66.6)=67, VAT ceil(13.4)=14; bonus 50: fee
	 * ceil(16.65)=17, VAT ceil(3.4)=4. */
	assert_int_equal(p.bonuses_cents, 5000);
	assert_int_equal(p.fees_cents, (67 + 17) * 100);
	assert_int_equal(p.vat_cents, (14 + 4) * 100);
	assert_int_equal(p.total_cents, 20000 + 5000 + 8400 + 1800);
	assert_int_equal(prolific_payment_cost_cents(200, 3330, 2000),
			 200 + 67 + 14);

	assert_int_equal(prolific_budget_check(&p, 35200, &eb), IF_OK);
	assert_int_equal(prolific_budget_check(&p, 35199, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "352.00"));
	assert_non_null(strstr(eb.msg, "351.99"));

	assert_true(prolific_budget_allows(100, 50, 150));
	assert_false(prolific_budget_allows(100, 51, 150));
	assert_false(prolific_budget_allows(INT64_MAX, 1, INT64_MAX));

	err_init(&eb);
	in.places = -1;
	assert_int_equal(prolific_price_study(&in, &p, &eb), IF_EINPUT);
	err_init(&eb);
	in.places = INT64_MAX;
	assert_int_equal(prolific_price_study(&in, &p, &eb), IF_EINPUT);
	assert_int_equal(p.total_cents, 0);
	assert_int_equal(prolific_payment_cost_cents(-1, 4280, 0), -1);
}

static void
test_complete_url(void **state)
{
	char url[128];
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(prolific_complete_url("C1A2B3", url, sizeof(url), &eb),
			 IF_OK);
	assert_string_equal(url, "https://app.prolific.com/submissions/"
				 "complete?cc=C1A2B3");
	assert_int_equal(prolific_complete_url("a&b=c", url, sizeof(url), &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_complete_url("C1A2B3", url, 20, &eb),
			 IF_EINPUT);
}

static void
test_entry_check(void **state)
{
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(prolific_entry_check("5f01", STUDY, SUB1, STUDY, &eb),
			 IF_OK);
	assert_int_equal(prolific_entry_check("5f01", "60aa02", SUB1, STUDY,
					      &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "STUDY_ID"));
	err_init(&eb);
	assert_int_equal(prolific_entry_check("<script>", STUDY, SUB1, STUDY,
					      &eb), IF_EINPUT);
	assert_null(strstr(eb.msg, "<script>"));
	err_init(&eb);
	assert_int_equal(prolific_entry_check("5f01", STUDY, NULL, STUDY, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "SESSION_ID"));
}

/* One request to the fake's control surface; the status, body in out. */
static long
control(struct fx *x, const char *method, const char *path_query,
	const char *token, struct buf *out)
{
	const char *hdrs[] = {NULL, NULL};
	char auth[128], url[512];
	struct http_client *h = NULL;
	struct http_request req = {0};
	struct http_response resp;
	struct errbuf eb = {0};
	long status;

	snprintf(auth, sizeof(auth), "Authorization: Token %s", token);
	hdrs[0] = auth;
	snprintf(url, sizeof(url), "%s%s", fake_prolific_url(x->fake),
		 path_query);
	assert_int_equal(http_client_new(NULL, &h, &eb), IF_OK);
	http_response_init(&resp, 0);
	req.method = method;
	req.url = url;
	req.headers = hdrs;
	req.body = "";
	assert_int_equal(http_perform(h, &req, &resp, &eb), IF_OK);
	status = resp.status;
	if (out != NULL) {
		buf_reset(out);
		assert_int_equal(buf_append(out, resp.body.data,
					    resp.body.len), 0);
	}
	http_response_cleanup(&resp);
	http_client_free(h);
	return status;
}

static void
test_fake_control_surface(void **state)
{
	struct fx *x = *state;
	struct prolific_submission s;
	struct prolific_error e;
	struct errbuf eb = {0};
	struct buf body;
	json_t *st, *subs;

	buf_init(&body, 1 << 20);
	assert_int_equal(control(x, "GET", "/_fake/state", "wrong", NULL),
			 401);
	assert_int_equal(control(x, "POST",
				 "/_fake/submission?id=60bb77&participant=5f77"
				 "&status=AWAITING%20REVIEW", TOKEN, NULL),
			 201);
	assert_int_equal(control(x, "POST",
				 "/_fake/inject?method=GET&prefix=/api/v1/"
				 "&fault=503&times=1", TOKEN, NULL), 200);
	assert_int_equal(control(x, "POST", "/_fake/inject?fault=nope", TOKEN,
				 NULL), 400);
	/* The injected 503 meets the client, which retries past it. */
	assert_int_equal(prolific_get_submission(x->c, "60bb77", &s, &e, &eb),
			 IF_OK);
	assert_int_equal(s.status, PROLIFIC_STATUS_AWAITING_REVIEW);
	assert_int_equal(prolific_approve(x->c, "60bb77", &e, &eb), IF_OK);
	assert_int_equal(control(x, "GET", "/_fake/state", TOKEN, &body), 200);
	st = json_loads(body.data, 0, NULL);
	assert_non_null(st);
	subs = json_object_get(st, "submissions");
	assert_int_equal(json_array_size(subs), 4);
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(subs, 3), "status")),
			    "APPROVED");
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(subs, 3), "approvals")), 1);
	json_decref(st);
	buf_cleanup(&body);
}

static void
test_get_submission(void **state)
{
	struct fx *x = *state;
	struct prolific_submission s;
	struct prolific_error e;
	struct errbuf eb = {0};
	struct prolific_bulk_bonus bb;
	enum prolific_pay_outcome out;

	assert_int_equal(prolific_get_submission(x->c, SUB1, &s, &e, &eb),
			 IF_OK);
	assert_string_equal(s.id, SUB1);
	assert_string_equal(s.study_id, STUDY);
	/* The element names it "participant". */
	assert_string_equal(s.participant_id, "5f0000000000000000000001");
	assert_int_equal(s.status, PROLIFIC_STATUS_AWAITING_REVIEW);
	assert_string_equal(s.status_text, "AWAITING REVIEW");
	assert_int_equal(s.n_bonus, 0);
	assert_int_equal(fake_prolific_unauthorized(x->fake), 0);

	/* A bonus paid shows in bonus_payments, in cents. */
	assert_int_equal(prolific_bonus_create(x->c, STUDY, SUB1, 125, &bb, &e,
					       &eb), IF_OK);
	assert_int_equal(bb.amount_cents, 125);
	assert_int_equal(bb.fees_cents, 54); /* ceil(125 * 0.428) */
	assert_int_equal(bb.total_cents, 179);
	assert_int_equal(prolific_bonus_pay(x->c, bb.id, &out, &e, &eb), IF_OK);
	assert_int_equal(out, PROLIFIC_PAY_SENT);
	assert_int_equal(prolific_get_submission(x->c, SUB1, &s, &e, &eb),
			 IF_OK);
	assert_int_equal(s.n_bonus, 1);
	assert_int_equal(s.bonus_cents[0], 125);

	/* Unknown id: refused, not retried. */
	uint64_t before = prolific_client_requests(x->c);
	assert_int_equal(prolific_get_submission(x->c, "60bb99", &s, &e, &eb),
			 IF_ERUNTIME);
	assert_int_equal(e.http_status, 404);
	assert_int_equal(e.fault, PROLIFIC_FAULT_REFUSED);
	assert_int_equal(prolific_client_requests(x->c), before + 1);
}

static void
test_wrong_token_is_account_wide(void **state)
{
	struct fx *x = *state;
	struct prolific_client *bad =
		client_for(x, fake_prolific_url(x->fake), "not-the-token");
	struct prolific_submission s;
	struct prolific_error e;
	struct errbuf eb = {0};

	assert_int_equal(prolific_get_submission(bad, SUB1, &s, &e, &eb),
			 IF_ERUNTIME);
	assert_int_equal(e.http_status, 401);
	assert_int_equal(e.error_code, 140000);
	assert_int_equal(e.fault, PROLIFIC_FAULT_ACCOUNT);
	assert_int_equal(prolific_client_requests(bad), 1);
	/* The message carries the status and the code, never the token. */
	assert_non_null(strstr(eb.msg, "401"));
	assert_null(strstr(eb.msg, "not-the-token"));
	prolific_client_free(bad);
}

struct seen {
	char ids[64][PROLIFIC_ID_MAX];
	int n;
};

static int
collect(void *ctx, const struct prolific_submission *s, struct errbuf *eb)
{
	struct seen *seen = ctx;

	(void)eb;
	assert_true(seen->n < 64);
	memcpy(seen->ids[seen->n++], s->id, PROLIFIC_ID_MAX);
	return IF_OK;
}

static void
test_list_paged(void **state)
{
	struct fx *x = *state;
	struct seen seen = {0};
	struct prolific_error e;
	struct errbuf eb = {0};
	char id[32];

	for (int i = 4; i <= 45; i++) {
		snprintf(id, sizeof(id), "60bb%020d", i);
		fake_prolific_add_submission(x->fake, id, "5f01", "ACTIVE");
	}
	assert_int_equal(prolific_list_submissions(x->c, STUDY, 20, collect,
						   &seen, &e, &eb), IF_OK);
	assert_int_equal(seen.n, 45);
	assert_string_equal(seen.ids[0], SUB1);
	assert_string_equal(seen.ids[44], "60bb00000000000000000045");
	assert_int_equal(fake_prolific_requests(x->fake), 3);

	/* A page that is exactly full still ends on the null next link. */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(prolific_list_submissions(x->c, STUDY, 45, collect,
						   &seen, &e, &eb), IF_OK);
	assert_int_equal(seen.n, 45);
	assert_int_equal(fake_prolific_requests(x->fake), 4);
}

/*
 * The status filter ("status=AWAITING_REVIEW", underscore normalization):
 * only those submissions, paged among themselves.
 */
static void
test_list_by_status(void **state)
{
	struct fx *x = *state;
	struct seen seen = {0};
	struct prolific_error e;
	struct errbuf eb = {0};
	char id[32];

	for (int i = 4; i <= 30; i++) {
		snprintf(id, sizeof(id), "60bb%020d", i);
		fake_prolific_add_submission(x->fake, id, "5f01",
					     i % 3 == 0 ? "AWAITING REVIEW"
							: "ACTIVE");
	}
	assert_int_equal(prolific_list_submissions_in(
				 x->c, STUDY, PROLIFIC_STATUS_AWAITING_REVIEW,
				 5, collect, &seen, &e, &eb),
			 IF_OK);
	/* 6, 9, ..., 30 and the fixture's SUB1: two full pages. */
	for (int i = 0; i < seen.n; i++) {
		char st[32];

		fake_prolific_status(x->fake, seen.ids[i], st, sizeof(st));
		assert_string_equal(st, "AWAITING REVIEW");
	}
	assert_int_equal(seen.n, 10);
	assert_string_equal(seen.ids[0], SUB1);
	assert_int_equal(fake_prolific_requests(x->fake), 2);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(prolific_list_submissions_in(
				 x->c, STUDY, PROLIFIC_STATUS_TIMED_OUT, 5,
				 collect, &seen, &e, &eb),
			 IF_OK);
	assert_int_equal(seen.n, 0);
}

static void
test_list_retries_passing_faults(void **state)
{
	struct fx *x = *state;
	struct seen seen = {0};
	struct prolific_error e;
	struct errbuf eb = {0};

	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/",
			     FAKE_PROLIFIC_429, 1);
	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/",
			     FAKE_PROLIFIC_503, 1);
	fake_prolific_inject(x->fake, "GET", "/api/v1/submissions/",
			     FAKE_PROLIFIC_DROP, 1);
	assert_int_equal(prolific_list_submissions(x->c, STUDY, 0, collect,
						   &seen, &e, &eb), IF_OK);
	assert_int_equal(seen.n, 3);
	/*
	 * The dropped request was on a reused connection: libcurl sends it
	 * again at once by itself (harmless for a read; the reason a pay
	 * call gets a connection of its own).  So 4 requests (429, 503,
	 * the dropped one, curl's resend) and 2 backoffs: full jitter at
	 * r = 0.5 gives 500 and 1000 ms.
	 */
	assert_int_equal(fake_prolific_requests(x->fake), 4);
	assert_int_equal(x->clock.nsleeps, 2);
	assert_int_equal(x->clock.slept_ms, 1500);
}

static void
test_gives_up_after_attempts(void **state)
{
	struct fx *x = *state;
	struct prolific_submission s;
	struct prolific_error e;
	struct errbuf eb = {0};

	fake_prolific_inject(x->fake, NULL, NULL, FAKE_PROLIFIC_500, 10);
	assert_int_equal(prolific_get_submission(x->c, SUB1, &s, &e, &eb),
			 IF_ETEMP);
	assert_int_equal(e.fault, PROLIFIC_FAULT_PASSING);
	assert_int_equal(e.http_status, 500);
	assert_int_equal(fake_prolific_requests(x->fake), 4);
	assert_non_null(strstr(eb.msg, "gave up after 4 attempts"));
}

static void
test_approve_idempotent_and_refused(void **state)
{
	struct fx *x = *state;
	struct prolific_error e;
	struct errbuf eb = {0};
	char status[32];

	assert_int_equal(prolific_approve(x->c, SUB1, &e, &eb), IF_OK);
	assert_int_equal(prolific_approve(x->c, SUB1, &e, &eb), IF_OK);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB1), 2);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB1), 1);
	fake_prolific_status(x->fake, SUB1, status, sizeof(status));
	assert_string_equal(status, "APPROVED");

	/* A returned submission cannot be approved: refused, no retry. */
	assert_int_equal(prolific_approve(x->c, SUB2, &e, &eb), IF_ERUNTIME);
	assert_int_equal(e.http_status, 400);
	assert_int_equal(e.error_code, 140102);
	assert_int_equal(e.fault, PROLIFIC_FAULT_REFUSED);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB2), 1);
}

static void
test_approve_reply_lost_is_retried_safely(void **state)
{
	struct fx *x = *state;
	struct prolific_error e;
	struct errbuf eb = {0};

	fake_prolific_inject(x->fake, "POST", "/api/v1/submissions/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	assert_int_equal(prolific_approve(x->c, SUB1, &e, &eb), IF_OK);
	assert_int_equal(fake_prolific_approve_calls(x->fake, SUB1), 2);
	assert_int_equal(fake_prolific_approvals(x->fake, SUB1), 1);
}

static void
test_reject_rules(void **state)
{
	struct fx *x = *state;
	struct prolific_error e;
	struct errbuf eb = {0};
	char msg[160];
	char status[32];

	memset(msg, 'x', 120);
	msg[120] = '\0';
	assert_int_equal(prolific_reject(x->c, SUB1, "LOW_EFFORT", "too short",
					 &e, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_reject(x->c, SUB1, "low effort", msg, &e,
					 &eb), IF_EINPUT);
	assert_int_equal(fake_prolific_requests(x->fake), 0);
	err_init(&eb);
	assert_int_equal(prolific_reject(x->c, SUB1, "LOW_EFFORT", msg, &e,
					 &eb), IF_OK);
	fake_prolific_status(x->fake, SUB1, status, sizeof(status));
	assert_string_equal(status, "REJECTED");
	assert_int_equal(fake_prolific_reject_calls(x->fake, SUB1), 1);
}

static void
test_pay_is_sent_once(void **state)
{
	struct fx *x = *state;
	struct prolific_bulk_bonus bb;
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_pay_outcome out;

	assert_int_equal(prolific_bonus_create(x->c, STUDY, SUB1, 150, &bb, &e,
					       &eb), IF_OK);

	/* 503: not retried; Prolific may or may not have paid. */
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_503, 1);
	assert_int_not_equal(prolific_bonus_pay(x->c, bb.id, &out, &e, &eb),
			     IF_OK);
	assert_int_equal(out, PROLIFIC_PAY_UNKNOWN);
	assert_int_equal(e.fault, PROLIFIC_FAULT_PASSING);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 0);

	/* Done, but the reply lost: unknown, and it did pay. */
	err_init(&eb);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_DONE_DROP, 1);
	assert_int_not_equal(prolific_bonus_pay(x->c, bb.id, &out, &e, &eb),
			     IF_OK);
	assert_int_equal(out, PROLIFIC_PAY_UNKNOWN);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(fake_prolific_bonus_landed(x->fake, SUB1), 1);

	/* 429: Prolific answered that it did not take it. */
	err_init(&eb);
	fake_prolific_inject(x->fake, "POST", "/api/v1/bulk-bonus-payments/",
			     FAKE_PROLIFIC_429, 1);
	assert_int_not_equal(prolific_bonus_pay(x->c, bb.id, &out, &e, &eb),
			     IF_OK);
	assert_int_equal(out, PROLIFIC_PAY_REFUSED);
	assert_int_equal(e.fault, PROLIFIC_FAULT_PASSING);
	assert_int_equal(fake_prolific_pay_calls(x->fake, SUB1), 1);
	assert_int_equal(x->clock.nsleeps, 0);
}

static void
test_pay_never_sent_when_nothing_listens(void **state)
{
	struct fx *x = *state;
	struct prolific_client *c;
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_pay_outcome out;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	char url[64];
	int fd;

	/*
	 * A port nothing listens on, held for the test: bound, never
	 * listening, so a connection is refused and no other socket (a
	 * later fake's, say) can take the port meanwhile.
	 */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u",
		 (unsigned)ntohs(sa.sin_port));
	c = client_for(x, url, TOKEN);
	assert_int_not_equal(prolific_bonus_pay(c, "bb0001", &out, &e, &eb),
			     IF_OK);
	assert_int_equal(out, PROLIFIC_PAY_REFUSED);
	assert_int_equal(e.fault, PROLIFIC_FAULT_PASSING);
	prolific_client_free(c);
	close(fd);
}

static void
test_ids_checked_before_sending(void **state)
{
	struct fx *x = *state;
	struct prolific_submission s;
	struct prolific_bulk_bonus bb;
	struct prolific_error e;
	struct errbuf eb = {0};
	enum prolific_pay_outcome out;

	assert_int_equal(prolific_get_submission(x->c, "../studies", &s, &e,
						 &eb), IF_EINPUT);
	err_init(&eb);
	/* A comma or a newline would add a CSV line: a second bonus. */
	assert_int_equal(prolific_bonus_create(x->c, STUDY,
					       SUB1 ",9999\n" SUB2, 100, &bb,
					       &e, &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_bonus_create(x->c, STUDY, SUB1, 0, &bb, &e,
					       &eb), IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_bonus_pay(x->c, "a/b", &out, &e, &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(prolific_approve(x->c, "a?b", &e, &eb), IF_EINPUT);
	assert_int_equal(fake_prolific_requests(x->fake), 0);
	assert_int_equal(fake_prolific_bulks(x->fake), 0);
}

static void
test_https_only(void **state)
{
	struct prolific_client_config cfg;
	struct prolific_client *c = NULL;
	struct errbuf eb = {0};

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.base_url = "http://api.prolific.com";
	cfg.token = TOKEN;
	assert_int_equal(prolific_client_new(&cfg, &c, &eb), IF_EINPUT);
	assert_null(c);
	err_init(&eb);
	cfg.base_url = NULL;
	cfg.token = "two words";
	assert_int_equal(prolific_client_new(&cfg, &c, &eb), IF_EINPUT);
	err_init(&eb);
	cfg.token = TOKEN;
	assert_int_equal(prolific_client_new(&cfg, &c, &eb), IF_OK);
	prolific_client_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fault_classes),
		cmocka_unit_test(test_token_chain),
		cmocka_unit_test(test_price_and_budget),
		cmocka_unit_test(test_complete_url),
		cmocka_unit_test(test_https_only),
		cmocka_unit_test(test_entry_check),
		cmocka_unit_test_setup_teardown(test_get_submission, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_fake_control_surface,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_wrong_token_is_account_wide, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_by_status, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list_paged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_list_retries_passing_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gives_up_after_attempts,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_approve_idempotent_and_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_approve_reply_lost_is_retried_safely, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_reject_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pay_is_sent_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_pay_never_sent_when_nothing_listens, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_ids_checked_before_sending,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
