/*
 * mturk/image_host.c: the S3 PutObject request as sent (against the
 * loopback fake), its signature and the presigned GET URL (checked with
 * the signer's verifier), the expiry clamp to url_expiry and 7 days,
 * virtual-hosted and path-style addressing, retries with an injected clock,
 * local directory writes, and random object names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "mturk/mturk.h"
#include "tests/support/fake_http.h"
#include "tests/support/tmpdir.h"

#include <openssl/sha.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1767323045 /* 2026-01-02T03:04:05Z */

static char akid[] = "AKIDEXAMPLE";
static char secret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

struct fx {
	struct fake_http *srv;
	struct aws_creds creds;
	int64_t now;
	int64_t sleeps[8];
	int nsleeps;
};

static int64_t
f_now(void *ctx)
{
	return ((struct fx *)ctx)->now;
}

static void
f_sleep(void *ctx, int64_t ms)
{
	struct fx *x = ctx;

	if (x->nsleeps < 8)
		x->sleeps[x->nsleeps++] = ms;
}

static double
f_random(void *ctx)
{
	(void)ctx;
	return 0.5;
}

static int
setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->srv = fake_http_start();
	assert_non_null(x->srv);
	x->creds.access_key_id = akid;
	x->creds.secret_access_key = secret;
	x->now = T0;
	*state = x;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *x = *state;

	fake_http_stop(x->srv);
	free(x);
	return 0;
}

static struct mturk_host_config
s3_config(struct fx *x)
{
	struct mturk_host_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = MTURK_HOST_S3;
	cfg.bucket = "exp-images";
	cfg.prefix = "stage/";
	cfg.endpoint = fake_http_url(x->srv);
	cfg.creds = &x->creds;
	cfg.clock.now = f_now;
	cfg.clock.sleep_ms = f_sleep;
	cfg.clock.random = f_random;
	cfg.clock.ctx = x;
	return cfg;
}

static const char *
secret_for(void *arg, const char *id, const char **token)
{
	(void)arg;
	*token = NULL;
	return strcmp(id, akid) == 0 ? secret : NULL;
}

/* Verifies method/path/query/headers/body as a server would receive them. */
static void
assert_verifies(const char *method, const char *path, const char *query,
		const struct sigv4_header *h, size_t nh, const void *body,
		size_t len, time_t now)
{
	struct sigv4_request req;
	struct sigv4_expect ex;
	enum sigv4_verdict v = SIGV4_MISSING;
	struct errbuf eb = {0};

	memset(&req, 0, sizeof(req));
	req.method = method;
	req.path = path;
	req.query = query;
	req.headers = h;
	req.nheaders = nh;
	req.body = body;
	req.body_len = len;
	memset(&ex, 0, sizeof(ex));
	ex.region = "us-east-1";
	ex.service = "s3";
	ex.s3 = true;
	ex.now = now;
	ex.secret_for = secret_for;
	if (sigv4_verify(&req, &ex, &v, &eb) != IF_OK)
		fail_msg("refused: %s", eb.msg);
	assert_int_equal(v, SIGV4_VALID);
}

static bool
is_hex32(const char *s)
{
	for (int i = 0; i < 32; i++)
		if (strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	return true;
}

static void
test_s3_put_request_and_presigned_url(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config cfg = s3_config(x);
	struct mturk_image_host *h = NULL;
	struct mturk_hosted out;
	struct errbuf eb = {0};
	const struct fake_request *r;
	struct sigv4_header hs[FAKE_MAX_HEADERS];
	char names[FAKE_MAX_HEADERS][64];
	unsigned char digest[SHA256_DIGEST_LENGTH];
	char hexsum[65], want_path[256], want_prefix[512];
	const char body[] = "\xff\xd8\xff\xe0 not really a jpeg \xff\xd9";
	size_t blen = sizeof(body) - 1;

	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	fake_http_push(x->srv, 200, "", "ETag: \"x\"", NULL);
	assert_int_equal(mturk_image_host_put(h, body, blen, "image/jpeg",
					      ".jpg", 86400 + 300, &out, &eb),
			 IF_OK);
	/* The key: prefix + 32 hex digits + extension. */
	assert_int_equal(strlen(out.key), strlen("stage/") + 32 + 4);
	assert_memory_equal(out.key, "stage/", 6);
	assert_true(is_hex32(out.key + 6));
	assert_string_equal(out.key + 38, ".jpg");
	/* The request as sent. */
	assert_int_equal(fake_http_count(x->srv), 1);
	r = fake_http_request(x->srv, 0);
	snprintf(want_path, sizeof(want_path), "/exp-images/%s", out.key);
	assert_string_equal(r->method, "PUT");
	assert_string_equal(r->path, want_path);
	assert_int_equal(r->body_len, blen);
	assert_memory_equal(r->body, body, blen);
	assert_string_equal(fake_request_header(r, "Content-Type"),
			    "image/jpeg");
	assert_string_equal(fake_request_header(r, "X-Amz-Date"),
			    "20260102T030405Z");
	SHA256((const unsigned char *)body, blen, digest);
	hex_encode(digest, sizeof(digest), hexsum);
	assert_string_equal(fake_request_header(r, "X-Amz-Content-Sha256"),
			    hexsum);
	assert_non_null(strstr(fake_request_header(r, "Authorization"),
			       "Credential=AKIDEXAMPLE/20260102/us-east-1/s3/"
			       "aws4_request, SignedHeaders=content-type;host;"
			       "x-amz-content-sha256;x-amz-date, Signature="));
	for (size_t i = 0; i < r->n_headers; i++) {
		const char *colon = strchr(r->headers[i], ':');
		snprintf(names[i], sizeof(names[i]), "%.*s",
			 (int)(colon - r->headers[i]), r->headers[i]);
		hs[i].name = names[i];
		hs[i].value = colon + 2;
	}
	assert_verifies(r->method, r->path, r->query, hs, r->n_headers, r->body,
			r->body_len, T0);
	/* The presigned URL: same object, valid for the HIT's whole life. */
	snprintf(want_prefix, sizeof(want_prefix), "%s%s?",
		 fake_http_url(x->srv), want_path);
	assert_memory_equal(out.url, want_prefix, strlen(want_prefix));
	assert_non_null(strstr(out.url, "X-Amz-Expires=86700&"));
	assert_non_null(strstr(out.url, "X-Amz-Algorithm=AWS4-HMAC-SHA256"));
	assert_int_equal(out.expires_at, T0 + 86700);
	{
		char host[64];
		struct sigv4_header gh[1] = {{"Host", host}};
		snprintf(host, sizeof(host), "127.0.0.1:%d",
			 fake_http_port(x->srv));
		assert_verifies("GET", want_path, out.url + strlen(want_prefix),
				gh, 1, NULL, 0, T0 + 86000);
	}
	mturk_image_host_free(h);
}

static long
expires_of(const char *url)
{
	const char *p = strstr(url, "X-Amz-Expires=");

	assert_non_null(p);
	return strtol(p + strlen("X-Amz-Expires="), NULL, 10);
}

static void
test_presign_expiry_clamp(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config cfg = s3_config(x);
	struct mturk_image_host *h = NULL;
	struct mturk_hosted out;
	struct errbuf eb = {0};

	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	/* A 10-day HIT still gets at most SigV4's 7 days. */
	assert_int_equal(mturk_image_host_url(h, "stage/abc.jpg",
					      10 * 86400, &out, &eb),
			 IF_OK);
	assert_int_equal(expires_of(out.url), 604800);
	assert_int_equal(out.expires_at, T0 + 604800);
	assert_string_equal(out.key, "stage/abc.jpg");
	assert_int_equal(mturk_image_host_url(h, "stage/abc.jpg", 1800, &out,
					      &eb),
			 IF_OK);
	assert_int_equal(expires_of(out.url), 1800);
	assert_int_equal(mturk_image_host_url(h, "stage/abc.jpg", 0, &out,
					      &eb),
			 IF_EINPUT);
	err_init(&eb);
	assert_int_equal(mturk_image_host_url(h, "../etc/passwd", 60, &out,
					      &eb),
			 IF_EINPUT);
	mturk_image_host_free(h);
	/* url_expiry is a tighter bound still. */
	cfg.url_expiry = 3600;
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_url(h, "k.jpg", 86400, &out, &eb),
			 IF_OK);
	assert_int_equal(expires_of(out.url), 3600);
	mturk_image_host_free(h);
	/* No request was needed for any of this. */
	assert_int_equal(fake_http_count(x->srv), 0);
}

static void
test_addressing(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config cfg = s3_config(x);
	struct mturk_image_host *h = NULL;
	struct mturk_hosted out;
	struct errbuf eb = {0};

	cfg.endpoint = NULL;
	cfg.prefix = NULL;
	cfg.region = "eu-west-1";
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_url(h, "k.png", 60, &out, &eb),
			 IF_OK);
	assert_memory_equal(out.url,
			    "https://exp-images.s3.eu-west-1.amazonaws.com/"
			    "k.png?",
			    strlen("https://exp-images.s3.eu-west-1."
				   "amazonaws.com/k.png?"));
	assert_non_null(strstr(out.url, "%2Feu-west-1%2Fs3%2Faws4_request"));
	mturk_image_host_free(h);
	/* A dotted bucket name would not match the TLS certificate. */
	cfg.bucket = "my.images";
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_url(h, "k.png", 60, &out, &eb),
			 IF_OK);
	assert_memory_equal(out.url,
			    "https://s3.eu-west-1.amazonaws.com/my.images/"
			    "k.png?",
			    strlen("https://s3.eu-west-1.amazonaws.com/"
				   "my.images/k.png?"));
	mturk_image_host_free(h);
	/* The simulator: its endpoint, path-style, a default bucket. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = MTURK_HOST_SIMULATOR;
	cfg.creds = &x->creds;
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "no endpoint"));
	err_init(&eb);
	cfg.endpoint = "http://127.0.0.1:9000/";
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_url(h, "k.png", 60, &out, &eb),
			 IF_OK);
	assert_memory_equal(out.url, "http://127.0.0.1:9000/intofocus/k.png?",
			    strlen("http://127.0.0.1:9000/intofocus/k.png?"));
	mturk_image_host_free(h);
}

static void
test_bad_configs(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config cfg;
	struct mturk_image_host *h = NULL;
	struct errbuf eb;

	cfg = s3_config(x);
	cfg.endpoint = "http://s3.example.com";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "loopback"));
	cfg = s3_config(x);
	cfg.bucket = "Bad_Bucket";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg = s3_config(x);
	cfg.prefix = "a/../b/";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg = s3_config(x);
	cfg.prefix = "with space/";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg = s3_config(x);
	cfg.creds = NULL;
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg = s3_config(x);
	cfg.endpoint = "http://127.0.0.1:9000/some/path";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = MTURK_HOST_LOCAL;
	cfg.dir = "/tmp";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg.base_url = "ftp://x/";
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	cfg.kind = (enum mturk_host_kind)42;
	err_init(&eb);
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_EINPUT);
	assert_null(h);
	mturk_image_host_free(NULL);
}

static void
test_put_errors_and_retries(void **state)
{
	struct fx *x = *state;
	struct mturk_host_config cfg = s3_config(x);
	struct mturk_image_host *h = NULL;
	struct mturk_hosted out;
	struct errbuf eb = {0};

	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	fake_http_push(x->srv, 403,
		       "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code>"
		       "<Message>Access Denied</Message></Error>",
		       "Content-Type: application/xml", NULL);
	assert_int_equal(mturk_image_host_put(h, "abc", 3, "image/png", ".png",
					      60, &out, &eb),
			 IF_ERUNTIME);
	assert_int_equal(fake_http_count(x->srv), 1);
	assert_non_null(strstr(eb.msg, "PutObject"));
	/* S3's XML error is read: its code and message, not the markup. */
	assert_non_null(strstr(eb.msg, "AccessDenied: Access Denied"));
	assert_null(strstr(eb.msg, "<Error>"));
	assert_int_equal(mturk_image_host_fault(h), MTURK_FAULT_CREDENTIALS);
	/* 503 SlowDown is retried with backoff, up to the attempt bound. */
	fake_http_clear(x->srv);
	fake_http_set_default(x->srv, 503,
			      "<Error><Code>SlowDown</Code></Error>");
	err_init(&eb);
	assert_int_equal(mturk_image_host_put(h, "abc", 3, "image/png", ".png",
					      60, &out, &eb),
			 IF_ETEMP);
	assert_int_equal(fake_http_count(x->srv), 3);
	assert_int_equal(x->nsleeps, 2);
	assert_int_equal(x->sleeps[0], 500);
	assert_int_equal(x->sleeps[1], 1000);
	/* The same object each time: a retried PUT is idempotent. */
	assert_string_equal(fake_http_request(x->srv, 0)->path,
			    fake_http_request(x->srv, 2)->path);
	/* Odd extensions are refused before any request. */
	fake_http_clear(x->srv);
	err_init(&eb);
	assert_int_equal(mturk_image_host_put(h, "abc", 3, "image/png",
					      "/../x", 60, &out, &eb),
			 IF_EINPUT);
	assert_int_equal(fake_http_count(x->srv), 0);
	mturk_image_host_free(h);
}

static void
test_local_dir(void **state)
{
	struct fx *x = *state;
	char *dir = tmpdir_new("host"), *path;
	struct mturk_host_config cfg;
	struct mturk_image_host *h = NULL;
	struct mturk_hosted a, b;
	struct errbuf eb = {0};
	struct buf got;
	struct stat st;

	(void)x;
	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = MTURK_HOST_LOCAL;
	cfg.dir = dir;
	cfg.base_url = "https://img.example.org/if";
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_equal(mturk_image_host_put(h, "pixels", 6, "image/jpeg",
					      ".jpg", 3600, &a, &eb),
			 IF_OK);
	assert_int_equal(mturk_image_host_put(h, "pixels2", 7, "image/jpeg",
					      ".jpg", 3600, &b, &eb),
			 IF_OK);
	assert_int_equal(strlen(a.key), 36);
	assert_true(is_hex32(a.key));
	assert_string_not_equal(a.key, b.key);
	assert_memory_equal(a.url, "https://img.example.org/if/",
			    strlen("https://img.example.org/if/"));
	assert_string_equal(a.url + strlen("https://img.example.org/if/"),
			    a.key);
	assert_int_equal(a.expires_at, 0);
	path = path_join(dir, a.key);
	buf_init(&got, 100);
	assert_int_equal(read_file(path, &got, &eb), IF_OK);
	assert_string_equal(got.data, "pixels");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	buf_cleanup(&got);
	free(path);
	/* Only the two images, no temporary files left behind. */
	assert_int_equal(tmpdir_entries(dir), 2);
	mturk_image_host_free(h);
	/* A directory that does not exist is an error naming it. */
	cfg.dir = "/nonexistent-intofocus-dir";
	assert_int_equal(mturk_image_host_new(&cfg, &h, &eb), IF_OK);
	assert_int_not_equal(mturk_image_host_put(h, "p", 1, NULL, ".jpg", 60,
						  &a, &eb),
			     IF_OK);
	assert_non_null(strstr(eb.msg, "/nonexistent-intofocus-dir"));
	mturk_image_host_free(h);
	tmpdir_free(dir);
}

static void
test_random_names(void **state)
{
	char names[64][48];

	(void)state;
	for (int i = 0; i < 64; i++) {
		assert_int_equal(mturk_random_object_name(".png", names[i],
							  sizeof(names[i])),
				 0);
		assert_int_equal(strlen(names[i]), 36);
		assert_true(is_hex32(names[i]));
		assert_string_equal(names[i] + 32, ".png");
		for (int j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	assert_int_equal(mturk_random_object_name(".png", names[0], 20), -1);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_s3_put_request_and_presigned_url),
		T(test_presign_expiry_clamp),
		T(test_addressing),
		T(test_bad_configs),
		T(test_put_errors_and_retries),
		T(test_local_dir),
		cmocka_unit_test(test_random_names),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
