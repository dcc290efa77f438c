/*
 * sim/sim_server.c and sim_lab.c over HTTP on 127.0.0.1: the daemon's
 * own client (api.c, ops.c) against the simulator, signature refusals,
 * S3 PutObject and presigned GET with expiry, fault injection with
 * UniqueRequestToken recovery, and a lab-mode round trip whose answer XML
 * comes back through ListAssignmentsForHIT.  Clocks are injected; nothing
 * sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "sim/sim.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KEY "AKIDSIMTEST000000000"
#define SECRET "sim-test-secret"

struct ctx {
	struct sim_server *sim;
	struct aws_creds *creds;
	struct mturk_client *client;
	int64_t now; /* seconds, shared by the simulator and the client */
	char base[64];
};

static int64_t
sim_clock(void *arg)
{
	return ((struct ctx *)arg)->now * 1000;
}

static int64_t
client_now(void *arg)
{
	return ((struct ctx *)arg)->now;
}

static void
no_sleep(void *arg, int64_t ms)
{
	(void)arg;
	(void)ms;
}

static double
half(void *arg)
{
	(void)arg;
	return 0.5;
}

static struct ctx *
ctx_new_attempts(double faults, bool crowd_off, const char *secret,
		 int attempts)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sim_config cfg;
	struct mturk_client_config mc;
	struct errbuf eb;

	assert_non_null(c);
	err_init(&eb);
	c->now = 1767323045;
	memset(&cfg, 0, sizeof(cfg));
	cfg.seed = 3;
	cfg.fault_rate = faults;
	cfg.fault_slow_ms = -1; /* a "slow" fault answers at once in tests */
	cfg.crowd_off = crowd_off;
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	cfg.clock_ms = sim_clock;
	cfg.clock_ctx = c;
	c->sim = sim_new(&cfg, &eb);
	if (c->sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(c->base, sizeof(c->base), "http://127.0.0.1:%u",
		 sim_port(c->sim));
	c->creds = aws_creds_new(KEY, secret, NULL, "test");
	memset(&mc, 0, sizeof(mc));
	mc.endpoint = c->base;
	mc.creds = c->creds;
	mc.retry.max_attempts = attempts;
	mc.clock.now = client_now;
	mc.clock.sleep_ms = no_sleep;
	mc.clock.random = half;
	mc.clock.ctx = c;
	if (mturk_client_new(&mc, &c->client, &eb) != IF_OK)
		fail_msg("mturk_client_new: %s", eb.msg);
	return c;
}

static struct ctx *
ctx_new(double faults, bool crowd_off, const char *secret)
{
	return ctx_new_attempts(faults, crowd_off, secret, 12);
}

static void
ctx_free(struct ctx *c)
{
	mturk_client_free(c->client);
	aws_creds_free(c->creds);
	sim_free(c->sim);
	free(c);
}

static json_t *
api(struct ctx *c, const char *op, const char *body, struct mturk_error *e,
    int want)
{
	struct buf out;
	struct errbuf eb;
	struct mturk_error err;
	json_t *j = NULL;
	int rc;

	buf_init(&out, 0);
	err_init(&eb);
	mturk_error_clear(&err);
	rc = mturk_call(c->client, op, body, strlen(body), &out, &err, &eb);
	if (want >= 0 && rc != want)
		fail_msg("%s: rc %d, wanted %d: %s", op, rc, want, eb.msg);
	if (rc == IF_OK) {
		j = json_loads(out.data, 0, NULL);
		assert_non_null(j);
	}
	if (e != NULL)
		*e = err;
	buf_cleanup(&out);
	return j;
}

static void
test_refuses_loopback_only(void **state)
{
	struct sim_config cfg;
	struct errbuf eb;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen_host = "0.0.0.0";
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	err_init(&eb);
	assert_null(sim_new(&cfg, &eb));
	assert_int_equal(eb.code, IF_EINPUT);
	assert_non_null(strstr(eb.msg, "0.0.0.0"));
	assert_non_null(strstr(eb.msg, "loopback"));
}

static void
test_client_round_trip(void **state)
{
	struct ctx *c = ctx_new(0.0, false, SECRET);
	struct errbuf eb;
	struct mturk_hit hit;
	struct mturk_assignment *as = NULL;
	size_t n = 0;
	bool recovered = false;
	int64_t avail = 0, hold = 0;
	char type_id[MTURK_ID_MAX], qual[MTURK_ID_MAX], again[MTURK_ID_MAX];
	struct mturk_hit_type t = {"Box faces", "Draw boxes", "image,privacy",
				   15, 300, 3600, NULL, 0};

	(void)state;
	err_init(&eb);
	assert_int_equal(mturk_get_account_balance(c->client, &avail, &hold,
						   &eb),
			 IF_OK);
	assert_int_equal(avail, 1000000);
	assert_int_equal(mturk_create_qualification_type(c->client, "exp-s1",
							  "d", qual, &eb),
			 IF_OK);
	/* The client finds the existing type on the duplicate-name error. */
	assert_int_equal(mturk_create_qualification_type(c->client, "exp-s1",
							  "d", again, &eb),
			 IF_OK);
	assert_string_equal(qual, again);
	assert_int_equal(mturk_create_hit_type(c->client, &t, type_id, &eb),
			 IF_OK);
	assert_int_equal(mturk_create_hit(c->client, type_id, "<q/>", 3600, 3,
					  "exp/img/1", "tok-a", &hit,
					  &recovered, &eb),
			 IF_OK);
	assert_false(recovered);
	assert_string_equal(hit.requester_annotation, "exp/img/1");
	/* The same token: the same HIT, recovered from HitAlreadyExists. */
	{
		struct mturk_hit h2;
		assert_int_equal(mturk_create_hit(c->client, type_id, "<q/>",
						  3600, 3, "exp/img/1", "tok-a",
						  &h2, &recovered, &eb),
				 IF_OK);
		assert_true(recovered);
		assert_string_equal(h2.hit_id, hit.hit_id);
	}
	assert_int_equal(mturk_list_assignments(c->client, hit.hit_id, 0,
						&as, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(as[i].status, "Submitted");
		assert_non_null(strstr(as[i].answer, "QuestionFormAnswers"));
		assert_int_equal(as[i].worker_id[0], 'A');
		assert_int_equal(mturk_associate_qualification(c->client, qual,
							       as[i].worker_id,
							       1, &eb),
				 IF_OK);
	}
	assert_int_equal(mturk_approve_assignment(c->client,
						  as[0].assignment_id,
						  NULL, NULL, 0, &eb),
			 IF_OK);
	/* The client treats a repeat approve of an Approved one as success. */
	assert_int_equal(mturk_approve_assignment(c->client,
						  as[0].assignment_id,
						  NULL, NULL, 0, &eb),
			 IF_OK);
	assert_int_equal(mturk_update_expiration(c->client, hit.hit_id, 0, &eb),
			 IF_OK);
	mturk_assignments_free(as, n);
	ctx_free(c);
}

static void
test_raw_errors(void **state)
{
	struct ctx *c = ctx_new(0.0, true, SECRET);
	struct mturk_error e;

	(void)state;
	assert_null(api(c, "GetHIT", "{\"HITId\":\"3NOSUCH\"}", &e,
			IF_ERUNTIME));
	assert_int_equal(e.http_status, 400);
	assert_string_equal(e.type, "RequestError");
	assert_string_equal(e.turk_code, "AWS.MechanicalTurk.HITDoesNotExist");
	assert_non_null(strstr(e.message, "Hit 3NOSUCH does not exist. ("));
	ctx_free(c);
}

static void
test_wrong_secret_refused(void **state)
{
	struct ctx *c = ctx_new(0.0, true, "not-the-secret");
	struct mturk_error e;

	(void)state;
	assert_null(api(c, "GetAccountBalance", "{}", &e, IF_ERUNTIME));
	assert_int_equal(e.http_status, 400);
	assert_string_equal(e.type, "InvalidSignatureException");
	assert_null(strstr(e.message, SECRET));
	ctx_free(c);
}

/* --refuse: exact refusals, by operation and body text, before faults. */
static void
test_refusals(void **state)
{
	static const char *const rules[] = {
		"GetAccountBalance=InsufficientFunds",
		"GetHIT:3REFUSEME=ParameterValidationError",
	};
	static const char *const bad[] = {
		"GetAccountBalance",		/* no "=" */
		"NoSuchOperation=InsufficientFunds", /* unknown operation */
		"GetHIT=NoSuchError",		/* unknown error */
		"=InsufficientFunds",		/* no operation */
		"GetHIT:=InsufficientFunds",	/* empty text */
	};
	struct sim_config cfg;
	struct mturk_client_config mc;
	struct mturk_client *client = NULL;
	struct aws_creds *creds;
	struct sim_server *sim;
	struct errbuf eb;
	struct buf out;
	char base[64];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&cfg, 0, sizeof(cfg));
		cfg.access_key_id = KEY;
		cfg.secret_access_key = SECRET;
		cfg.refusals = &bad[i];
		cfg.nrefusals = 1;
		err_init(&eb);
		assert_null(sim_new(&cfg, &eb));
		assert_int_equal(eb.code, IF_EINPUT);
		assert_non_null(strstr(eb.msg, "--refuse"));
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	cfg.crowd_off = true;
	cfg.fault_rate = 1.0; /* refusals come first, faults never */
	cfg.fault_slow_ms = -1;
	cfg.refusals = rules;
	cfg.nrefusals = 2;
	err_init(&eb);
	sim = sim_new(&cfg, &eb);
	if (sim == NULL)
		fail_msg("sim_new: %s", eb.msg);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", sim_port(sim));
	creds = aws_creds_new(KEY, SECRET, NULL, "test");
	memset(&mc, 0, sizeof(mc));
	mc.endpoint = base;
	mc.creds = creds;
	mc.retry.max_attempts = 1;
	mc.clock.sleep_ms = no_sleep;
	mc.clock.random = half;
	assert_int_equal(mturk_client_new(&mc, &client, &eb), IF_OK);
	buf_init(&out, 0);
	assert_int_equal(mturk_call(client, "GetAccountBalance", "{}", 2, &out,
				    NULL, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "insufficient funds"));
	assert_int_equal(mturk_client_fault(client), MTURK_FAULT_FUNDS);
	err_init(&eb);
	assert_int_equal(mturk_call(client, "GetHIT",
				    "{\"HITId\":\"3REFUSEME\"}", 21, &out,
				    NULL, &eb),
			 IF_ERUNTIME);
	assert_non_null(strstr(eb.msg, "ParameterValidationError"));
	assert_int_equal(mturk_client_fault(client), MTURK_FAULT_REQUEST);
	buf_cleanup(&out);
	mturk_client_free(client);
	aws_creds_free(creds);
	sim_free(sim);
}

static void
test_faults_no_duplicates(void **state)
{
	struct ctx *c = ctx_new(0.4, false, SECRET);
	struct errbuf eb;
	char type_id[MTURK_ID_MAX];
	struct mturk_hit_type t = {"T", "D", NULL, 15, 300, 3600, NULL, 0};
	struct mturk_hit *hits = NULL;
	size_t total = 0, n = 0;
	char tok[256] = "", next[256];
	int recovered_count = 0;

	(void)state;
	err_init(&eb);
	assert_int_equal(mturk_create_hit_type(c->client, &t, type_id, &eb),
			 IF_OK);
	for (int i = 0; i < 12; i++) {
		char ann[64], token[64];
		struct mturk_hit h;
		bool rec = false;

		snprintf(ann, sizeof(ann), "e/img%d/1", i);
		snprintf(token, sizeof(token), "e-img%d-1-0", i);
		err_init(&eb);
		if (mturk_create_hit(c->client, type_id, "<q/>", 3600, 1, ann,
				     token, &h, &rec, &eb) != IF_OK)
			fail_msg("CreateHIT %d: %s", i, eb.msg);
		recovered_count += rec;
	}
	/* Some replies were lost, yet every image has exactly one HIT. */
	do {
		err_init(&eb);
		if (mturk_list_hits_page(c->client, tok[0] ? tok : NULL, 5,
					 &hits, &n, next, sizeof(next),
					 &eb) != IF_OK)
			fail_msg("ListHITs: %s", eb.msg);
		total += n;
		free(hits);
		hits = NULL;
		snprintf(tok, sizeof(tok), "%s", next);
	} while (tok[0] != '\0');
	assert_int_equal(total, 12);
	assert_true(recovered_count > 0);
	ctx_free(c);
}

/* With a session token configured, requests must carry that token;
 * without one, any token or none is accepted. */
static void
test_session_token(void **state)
{
	struct sim_config cfg;
	struct sim_server *sim;
	struct errbuf eb;
	char url[64];
	const char *tokens[] = {"TOKEN-1", NULL, "TOKEN-2", "ANY", NULL};
	int want[] = {IF_OK, IF_ERUNTIME, IF_ERUNTIME, IF_OK, IF_OK};

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.access_key_id = KEY;
	cfg.secret_access_key = SECRET;
	cfg.session_token = "TOKEN-1";
	cfg.crowd_off = true;
	err_init(&eb);
	sim = sim_new(&cfg, &eb);
	assert_non_null(sim);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", sim_port(sim));
	for (int i = 0; i < 5; i++) {
		struct aws_creds *cr = aws_creds_new(KEY, SECRET,
						     tokens[i], "t");
		struct mturk_client_config mc;
		struct mturk_client *cl = NULL;
		struct mturk_error e;
		struct buf out;

		memset(&mc, 0, sizeof(mc));
		mc.endpoint = url;
		mc.creds = cr;
		mc.retry.max_attempts = 1;
		assert_int_equal(mturk_client_new(&mc, &cl, &eb), IF_OK);
		buf_init(&out, 0);
		err_init(&eb);
		mturk_error_clear(&e);
		assert_int_equal(mturk_call(cl, "GetAccountBalance", "{}", 2,
					    &out, &e, &eb),
				 want[i]);
		if (want[i] != IF_OK)
			assert_string_equal(e.type,
					    "UnrecognizedClientException");
		buf_cleanup(&out);
		mturk_client_free(cl);
		aws_creds_free(cr);
		/* Without a configured token, any token (or none) will do. */
		if (i == 2) {
			sim_free(sim);
			cfg.session_token = NULL;
			sim = sim_new(&cfg, &eb);
			assert_non_null(sim);
			snprintf(url, sizeof(url), "http://127.0.0.1:%u",
				 sim_port(sim));
		}
	}
	sim_free(sim);
}

/* ---- raw HTTP for S3 and lab mode ---------------------------------------- */

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
     const char *body, size_t len, struct reply *r)
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
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	}
	assert_int_equal(curl_easy_perform(h), CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
	curl_easy_cleanup(h);
}

static void
test_s3_put_and_presigned_get(void **state)
{
	struct ctx *c = ctx_new(0.0, true, SECRET);
	char host[64], url[4096];
	struct sigv4_header hdr[2];
	struct sigv4_request req;
	struct sigv4_params p;
	struct sigv4_result res;
	struct errbuf eb;
	struct curl_slist *list = NULL;
	struct reply r;
	const char *data = "\xff\xd8 a fake jpeg";

	(void)state;
	err_init(&eb);
	snprintf(host, sizeof(host), "127.0.0.1:%u", sim_port(c->sim));
	hdr[0].name = "Host";
	hdr[0].value = host;
	hdr[1].name = "Content-Type";
	hdr[1].value = "image/jpeg";
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.path = "/bucket/0123abcd.jpg";
	req.headers = hdr;
	req.nheaders = 2;
	req.body = data;
	req.body_len = strlen(data);
	memset(&p, 0, sizeof(p));
	p.access_key_id = KEY;
	p.secret_access_key = SECRET;
	p.region = "us-east-1";
	p.service = "s3";
	p.when = (time_t)c->now;
	p.s3 = true;
	p.sign_body = true;
	sigv4_result_init(&res);
	assert_int_equal(sigv4_sign_headers(&req, &p, &res, &eb), IF_OK);
	list = curl_slist_append(list, "Content-Type: image/jpeg");
	for (size_t i = 0; i < res.nadd; i++) {
		char line[2048];
		snprintf(line, sizeof(line), "%s: %s", res.add[i].name,
			 res.add[i].value);
		list = curl_slist_append(list, line);
	}
	snprintf(url, sizeof(url), "%s/bucket/0123abcd.jpg", c->base);
	http("PUT", url, list, data, strlen(data), &r);
	assert_int_equal(r.status, 200);
	buf_cleanup(&r.body);
	/* A body that does not match its signed hash is refused. */
	http("PUT", url, list, "tampered", 8, &r);
	assert_true(r.status == 400 || r.status == 403);
	buf_cleanup(&r.body);
	curl_slist_free_all(list);
	sigv4_result_cleanup(&res);
	/* An unsigned GET is a lab page, not the object. */
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	buf_cleanup(&r.body);
	/* Presigned GET, valid for 60 s. */
	memset(&req, 0, sizeof(req));
	req.method = "GET";
	req.path = "/bucket/0123abcd.jpg";
	req.headers = hdr;
	req.nheaders = 1;
	sigv4_result_init(&res);
	assert_int_equal(sigv4_presign(&req, &p, 60, &res, &eb), IF_OK);
	snprintf(url, sizeof(url), "%s/bucket/0123abcd.jpg?%s", c->base,
		 res.query.data);
	sigv4_result_cleanup(&res);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body.len, strlen(data));
	assert_memory_equal(r.body.data, data, strlen(data));
	buf_cleanup(&r.body);
	/* Two minutes later the URL has expired. */
	c->now += 120;
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 403);
	buf_cleanup(&r.body);
	ctx_free(c);
}

/* Signs and sends PUT /bucket/key with the test's key. */
static long
s3_put(struct ctx *c, const char *path, const char *data)
{
	char host[64], url[4096];
	struct sigv4_header hdr[1];
	struct sigv4_request req;
	struct sigv4_params p;
	struct sigv4_result res;
	struct errbuf eb;
	struct curl_slist *list = NULL;
	struct reply r;

	err_init(&eb);
	snprintf(host, sizeof(host), "127.0.0.1:%u", sim_port(c->sim));
	hdr[0].name = "Host";
	hdr[0].value = host;
	memset(&req, 0, sizeof(req));
	req.method = "PUT";
	req.path = path;
	req.headers = hdr;
	req.nheaders = 1;
	req.body = data;
	req.body_len = strlen(data);
	memset(&p, 0, sizeof(p));
	p.access_key_id = KEY;
	p.secret_access_key = SECRET;
	p.region = "us-east-1";
	p.service = "s3";
	p.when = (time_t)c->now;
	p.s3 = true;
	p.sign_body = true;
	sigv4_result_init(&res);
	assert_int_equal(sigv4_sign_headers(&req, &p, &res, &eb), IF_OK);
	for (size_t i = 0; i < res.nadd; i++) {
		char line[2048];
		snprintf(line, sizeof(line), "%s: %s", res.add[i].name,
			 res.add[i].value);
		list = curl_slist_append(list, line);
	}
	snprintf(url, sizeof(url), "%s%s", c->base, path);
	http("PUT", url, list, data, strlen(data), &r);
	curl_slist_free_all(list);
	sigv4_result_cleanup(&res);
	buf_cleanup(&r.body);
	return r.status;
}

/* Workers whose page shows a missing image of ours box nothing. */
static void
test_crowd_sees_missing_images(void **state)
{
	struct ctx *c = ctx_new(0.0, false, SECRET);
	struct errbuf eb;
	char type_id[MTURK_ID_MAX], q[512];
	struct mturk_hit_type t = {"T", "D", NULL, 15, 300, 3600, NULL, 0};
	const char *keys[] = {"/imgs/present.jpg", "/imgs/absent.jpg"};
	bool broken[2];

	(void)state;
	err_init(&eb);
	assert_int_equal(s3_put(c, "/imgs/present.jpg", "jpeg bytes"), 200);
	assert_int_equal(mturk_create_hit_type(c->client, &t, type_id, &eb),
			 IF_OK);
	for (int i = 0; i < 2; i++) {
		struct mturk_hit hit;
		struct mturk_assignment *as = NULL;
		size_t n = 0;
		bool rec;
		char tok[16];

		snprintf(q, sizeof(q),
			 "<HTMLQuestion><HTMLContent><![CDATA[<img src=\"%s%s?"
			 "X-Amz-Signature=00&amp;a=b\">]]></HTMLContent>"
			 "</HTMLQuestion>",
			 c->base, keys[i]);
		snprintf(tok, sizeof(tok), "img-%d", i);
		assert_int_equal(mturk_create_hit(c->client, type_id, q, 600, 3,
						  "x/y/1", tok, &hit, &rec,
						  &eb),
				 IF_OK);
		assert_int_equal(mturk_list_assignments(c->client, hit.hit_id,
							0, &as, &n, &eb),
				 IF_OK);
		assert_int_equal(n, 3);
		broken[i] = true;
		for (size_t k = 0; k < n; k++)
			broken[i] = broken[i] &&
				    strstr(as[k].answer, "did not load") !=
					    NULL &&
				    strstr(as[k].answer,
					   "<FreeText>[]</FreeText>") != NULL;
		mturk_assignments_free(as, n);
	}
	assert_false(broken[0]);
	assert_true(broken[1]);
	ctx_free(c);
}

static void
test_lab_round_trip(void **state)
{
	struct ctx *c = ctx_new(0.0, true, SECRET);
	struct errbuf eb;
	struct buf q;
	struct task_page tp = {
		.image_url = "http://127.0.0.1:1/b/k.jpg",
		.width = 64,
		.height = 48,
		.stage = 1,
		.nstages = 1};
	struct mturk_hit hit;
	struct mturk_assignment *as = NULL;
	struct reply r;
	char type_id[MTURK_ID_MAX], url[8192], task[4096];
	struct mturk_hit_type t = {"Lab HIT <b>", "D", NULL, 15, 300, 3600,
				   NULL, 0};
	bool rec;
	size_t n = 0;
	char body[1024];

	(void)state;
	err_init(&eb);
	buf_init(&q, 0);
	assert_int_equal(task_page_question(&tp, &q, &eb), IF_OK);
	assert_int_equal(mturk_create_hit_type(c->client, &t, type_id, &eb),
			 IF_OK);
	assert_int_equal(mturk_create_hit(c->client, type_id, q.data, 3600, 2,
					  "lab/k/1", "lab-1", &hit, &rec, &eb),
			 IF_OK);
	/* A participant without an id is given one in the URL. */
	snprintf(url, sizeof(url), "%s/", c->base);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 303);
	assert_memory_equal(r.location, "/?workerId=A", 12);
	buf_cleanup(&r.body);
	/* The index lists the HIT, escaped. */
	snprintf(url, sizeof(url), "%s/?workerId=p-17", c->base);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, hit.hit_id));
	assert_non_null(strstr(r.body.data, "Lab HIT &lt;b&gt;"));
	assert_non_null(strstr(r.body.data, "workerId=AP17"));
	buf_cleanup(&r.body);
	/* Preview: the page, with no assignment. */
	snprintf(url, sizeof(url), "%s/lab/preview/%s", c->base, hit.hit_id);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 303);
	assert_non_null(strstr(r.location,
			       "assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE"));
	buf_cleanup(&r.body);
	/* Accept: redirected to the task page with MTurk's parameters. */
	snprintf(url, sizeof(url), "%s/lab/accept/%s?workerId=p-17", c->base,
		 hit.hit_id);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 303);
	snprintf(task, sizeof(task), "%s", r.location);
	buf_cleanup(&r.body);
	assert_non_null(strstr(task, "hitId="));
	assert_non_null(strstr(task, "workerId=AP17"));
	assert_non_null(strstr(task, "turkSubmitTo=http%3A%2F%2F127.0.0.1%3A"));
	snprintf(url, sizeof(url), "%s%s", c->base, task);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "Did you find a face?"));
	buf_cleanup(&r.body);
	/* Submit as the page would. */
	{
		const char *a = strstr(task, "assignmentId=") + 13;
		char aid[64];
		snprintf(aid, sizeof(aid), "%.*s", (int)strcspn(a, "&"), a);
		snprintf(body, sizeof(body),
			 "assignmentId=%s&boxes="
			 "%%5B%%5B1%%2C2%%2C3%%2C4%%5D%%5D"
			 "&face_found=yes&feedback=caf%%C3%%A9+%%3C3",
			 aid);
	}
	snprintf(url, sizeof(url), "%s/mturk/externalSubmit", c->base);
	http("POST", url, NULL, body, strlen(body), &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body.data, "Thank you"));
	buf_cleanup(&r.body);
	/* A second submit of the same assignment is refused. */
	http("POST", url, NULL, body, strlen(body), &r);
	assert_int_equal(r.status, 409);
	buf_cleanup(&r.body);
	/* Preview submits are refused. */
	http("POST", url, NULL, "assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE", 40,
	     &r);
	assert_int_equal(r.status, 400);
	buf_cleanup(&r.body);
	assert_int_equal(mturk_list_assignments(c->client, hit.hit_id, 0,
						&as, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 1);
	assert_string_equal(as[0].worker_id, "AP17");
	assert_non_null(strstr(as[0].answer,
			       "<QuestionIdentifier>boxes</QuestionIdentifier>"
			       "<FreeText>[[1,2,3,4]]</FreeText>"));
	assert_non_null(strstr(as[0].answer, "<FreeText>yes</FreeText>"));
	assert_non_null(strstr(as[0].answer, "caf&#233; &lt;3"));
	assert_null(strstr(as[0].answer, "assignmentId"));
	/* The same participant cannot take the HIT twice. */
	snprintf(url, sizeof(url), "%s/lab/accept/%s?workerId=p-17", c->base,
		 hit.hit_id);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 409);
	buf_cleanup(&r.body);
	mturk_assignments_free(as, n);
	buf_cleanup(&q);
	ctx_free(c);
}

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* With every request faulted, each kind shows up, and lost CreateHIT
 * replies leave HITs behind that the caller never heard of. */
static void
test_fault_kinds(void **state)
{
	struct ctx *c = ctx_new_attempts(1.0, true, SECRET, 1);
	struct mturk_error e;
	int throttled = 0, fault500 = 0, fault503 = 0, dropped = 0, ok = 0;
	int created = 0;
	struct reply r;
	char url[128];
	json_t *j;

	(void)state;
	for (int i = 0; i < 60; i++) {
		j = api(c, "GetAccountBalance", "{}", &e, -1);
		if (j != NULL) {
			ok++;
			json_decref(j);
		} else if (e.curl_code != 0) {
			dropped++;
		} else if (strcmp(e.type, "ThrottlingException") == 0) {
			throttled++;
		} else if (e.http_status == 500 &&
			   strcmp(e.type, "ServiceFault") == 0) {
			fault500++;
		} else if (e.http_status == 503) {
			fault503++;
		} else {
			fail_msg("unexpected fault %ld %s", e.http_status,
				 e.type);
		}
	}
	assert_true(throttled > 0 && fault500 > 0 && fault503 > 0);
	assert_true(dropped > 0);
	assert_true(ok > 0); /* "slow" replies, made instant here */
	assert_int_equal(throttled + fault500 + fault503 + dropped + ok, 60);
	for (int i = 0; i < 30; i++) {
		j = api(c, "CreateHIT",
			"{\"Title\":\"t\",\"Description\":\"d\","
			"\"Reward\":\"1\","
			"\"AssignmentDurationInSeconds\":60,"
			"\"LifetimeInSeconds\":600,\"Question\":\"<q/>\"}",
			&e, -1);
		if (j != NULL)
			created++;
		json_decref(j);
	}
	/* Lab pages are never faulted: count the HITs that exist. */
	snprintf(url, sizeof(url), "%s/?workerId=AX", c->base);
	http("GET", url, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_true(count(r.body.data, "/lab/preview/") > (size_t)created);
	buf_cleanup(&r.body);
	ctx_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refuses_loopback_only),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_client_round_trip),
		cmocka_unit_test(test_raw_errors),
		cmocka_unit_test(test_wrong_secret_refused),
		cmocka_unit_test(test_session_token),
		cmocka_unit_test(test_faults_no_duplicates),
		cmocka_unit_test(test_s3_put_and_presigned_get),
		cmocka_unit_test(test_lab_round_trip),
		cmocka_unit_test(test_crowd_sees_missing_images),
		cmocka_unit_test(test_fault_kinds),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
