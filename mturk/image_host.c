/*
 * mturk/image_host.c - how stage images reach workers (spec section 5,
 * "images_host").
 *
 * Three kinds behind one small table, since two implementations exist
 * today (style guide, "avoid" 1):
 *   s3         PutObject signed with SigV4 (service "s3", x-amz-content-
 *              sha256 signed), and a presigned GET URL for the task page;
 *              virtual-hosted bucket addressing on AWS, path-style for an
 *              endpoint override (S3-compatible servers) or a bucket name
 *              with dots (its TLS certificate would not match).
 *   simulator  the same code against the simulator's S3-compatible
 *              endpoint, always path-style.
 *   local      an atomic write into a directory a web server publishes;
 *              the URL is base_url + name.
 * Object names are 128 bits from the kernel's CSPRNG in hex plus the
 * extension, never the image's id or file name: the URL is all a worker
 * sees, and it must say nothing about the photo.  A presigned URL lives as
 * long as the HIT can be worked on (lifetime + assignment duration), but
 * never past url_expiry or SigV4's 7-day limit.
 */
#define _DEFAULT_SOURCE
#include "mturk/client_private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUT_ATTEMPTS 3
#define MAX_IMAGE_BYTES ((size_t)64 << 20)

struct host_ops;

struct mturk_image_host {
	const struct host_ops *ops;
	struct mturk_host_config cfg; /* strings below are owned copies */
	char *bucket, *region, *prefix, *dir, *base_url;
	char *base;	   /* s3: scheme://host[:port] to put the path after */
	char host[256];	   /* s3: Host header value */
	bool path_style;
	struct http_client *http;
	struct http_response resp;
	/* The fault of the last put; see mturk_image_host_fault(). */
	enum mturk_fault fault;
};

struct host_ops {
	const char *name;
	int (*put)(struct mturk_image_host *h, const void *data, size_t len,
		   const char *content_type, const char *key,
		   struct errbuf *eb);
	int (*url)(struct mturk_image_host *h, const char *key,
		   int64_t valid_for, struct mturk_hosted *out,
		   struct errbuf *eb);
};

int
mturk_random_object_name(const char *ext, char *out, size_t outsz)
{
	unsigned char r[16];
	char hex[33];

	if (random_bytes(r, sizeof(r)) != 0)
		return -1;
	hex_encode(r, sizeof(r), hex);
	secure_zero(r, sizeof(r));
	if ((size_t)snprintf(out, outsz, "%s%s", hex, ext != NULL ? ext : "") >=
	    outsz)
		return -1;
	return 0;
}

static bool
chars_ok(const char *s, const char *allowed)
{
	for (; *s != '\0'; s++)
		if (strchr(allowed, *s) == NULL)
			return false;
	return true;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

static int64_t
host_now(const struct mturk_image_host *h)
{
	return h->cfg.clock.now(h->cfg.clock.ctx);
}

/* The path of key on the server: "/bucket/key" or "/key". */
static int
object_path(const struct mturk_image_host *h, const char *key, struct buf *out)
{
	buf_reset(out);
	if (h->path_style)
		return buf_printf(out, "/%s/%s", h->bucket, key);
	return buf_printf(out, "/%s", key);
}

/* A PUT is retried three times, with the API client's backoff. */
static const struct mturk_retry_policy put_retry = {
	.max_attempts = PUT_ATTEMPTS,
	.base_ms = 1000,
	.cap_ms = 20000,
};

static int
s3_put(struct mturk_image_host *h, const void *data, size_t len,
       const char *content_type, const char *key, struct errbuf *eb)
{
	struct sigv4_header sh[2] = {{"Host", h->host},
				     {"Content-Type", content_type}};
	struct signed_request req = {
		.method = "PUT",
		.headers = sh,
		.nheaders = 2,
		.body = data,
		.body_len = len,
		.service = "s3",
		.region = h->region,
		.s3 = true,
	};
	struct signed_sender s = {
		.http = h->http,
		.resp = &h->resp,
		.creds = h->cfg.creds,
		.clock = &h->cfg.clock,
		.retry = &put_retry,
	};
	struct signed_outcome o;
	struct mturk_error e;
	struct buf path, url;
	char text[700];
	int rc;

	buf_init(&path, 4096);
	buf_init(&url, 8192);
	if (object_path(h, key, &path) != 0 ||
	    buf_printf(&url, "%s%s", h->base, path.data) != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: object name too long", key);
		goto cleanup;
	}
	req.path = path.data;
	req.url = url.data;
	rc = signed_request_send(&s, &req, &e, &o, eb);
	if (rc != IF_OK && !o.not_sent) {
		h->fault = mturk_error_fault(&e);
		mturk_error_format(&e, text, sizeof(text));
		rc = err_set(eb, e.retryable ? IF_ETEMP : IF_ERUNTIME,
			     "PutObject %s: %s", url.data, text);
	}
cleanup:
	buf_cleanup(&path);
	buf_cleanup(&url);
	return rc;
}

static int
s3_url(struct mturk_image_host *h, const char *key, int64_t valid_for,
       struct mturk_hosted *out, struct errbuf *eb)
{
	struct sigv4_header sh[1] = {{"Host", h->host}};
	struct sigv4_request sreq;
	struct sigv4_params sp;
	struct sigv4_result sr;
	struct buf path;
	int64_t limit = h->cfg.url_expiry > 0 &&
				h->cfg.url_expiry < MTURK_PRESIGN_MAX
			? h->cfg.url_expiry
			: MTURK_PRESIGN_MAX;
	int64_t expires = valid_for < limit ? valid_for : limit;
	int64_t now = host_now(h);
	int rc;

	if (valid_for <= 0)
		return err_set(eb, IF_EINPUT,
			       "%s: a URL must stay valid for a positive time",
			       key);
	buf_init(&path, 4096);
	sigv4_result_init(&sr);
	if (object_path(h, key, &path) != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: object name too long", key);
		goto cleanup;
	}
	memset(&sreq, 0, sizeof(sreq));
	sreq.method = "GET";
	sreq.path = path.data;
	sreq.headers = sh;
	sreq.nheaders = 1;
	memset(&sp, 0, sizeof(sp));
	sp.access_key_id = h->cfg.creds->access_key_id;
	sp.secret_access_key = h->cfg.creds->secret_access_key;
	sp.session_token = h->cfg.creds->session_token;
	sp.region = h->region;
	sp.service = "s3";
	sp.when = (time_t)now;
	sp.s3 = true;
	rc = sigv4_presign(&sreq, &sp, (long)expires, &sr, eb);
	if (rc != IF_OK)
		goto cleanup;
	if ((size_t)snprintf(out->url, sizeof(out->url), "%s%s?%s", h->base,
			     path.data, sr.query.data) >= sizeof(out->url)) {
		rc = err_set(eb, IF_ERUNTIME, "%s: presigned URL too long",
			     key);
		goto cleanup;
	}
	out->expires_at = now + expires;
cleanup:
	sigv4_result_cleanup(&sr);
	buf_cleanup(&path);
	return rc;
}

static int
local_put(struct mturk_image_host *h, const void *data, size_t len,
	  const char *content_type, const char *key, struct errbuf *eb)
{
	char *path = path_join(h->dir, key);
	int rc;

	(void)content_type;
	if (path == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", h->dir);
	/* World-readable: the web server that publishes dir must read it. */
	rc = atomic_write_file(path, data, len, 0644, eb);
	free(path);
	return rc;
}

static int
local_url(struct mturk_image_host *h, const char *key, int64_t valid_for,
	  struct mturk_hosted *out, struct errbuf *eb)
{
	size_t n = strlen(h->base_url);
	const char *sep = n > 0 && h->base_url[n - 1] == '/' ? "" : "/";

	(void)valid_for;
	if ((size_t)snprintf(out->url, sizeof(out->url), "%s%s%s", h->base_url,
			     sep, key) >= sizeof(out->url))
		return err_set(eb, IF_EINPUT, "%s: URL too long", h->base_url);
	out->expires_at = 0;
	return IF_OK;
}

static const struct host_ops host_table[] = {
	[MTURK_HOST_S3] = {"s3", s3_put, s3_url},
	[MTURK_HOST_LOCAL] = {"local", local_put, local_url},
	[MTURK_HOST_SIMULATOR] = {"simulator", s3_put, s3_url},
};

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Endpoint, addressing and Host for the s3 and simulator kinds. */
static int
s3_setup(struct mturk_image_host *h, struct errbuf *eb)
{
	const struct mturk_host_config *cfg = &h->cfg;
	struct buf b;
	size_t n;
	int rc;

	if (cfg->creds == NULL)
		return err_set(eb, IF_EINPUT, "images_host %s: no credentials",
			       h->ops->name);
	if (h->bucket == NULL || strlen(h->bucket) < 3 ||
	    strlen(h->bucket) > 63 || !chars_ok(h->bucket, LOWER_DIGITS ".-"))
		return err_set(eb, IF_EINPUT,
			       "images_host: bucket \"%s\" is not a valid S3 "
			       "bucket name (3-63 of a-z 0-9 . -)",
			       h->bucket != NULL ? h->bucket : "");
	if (!chars_ok(h->region, LOWER_DIGITS "-"))
		return err_set(eb, IF_EINPUT, "images_host: bad region \"%s\"",
			       h->region);
	buf_init(&b, 2048);
	h->path_style = cfg->kind == MTURK_HOST_SIMULATOR ||
			cfg->endpoint != NULL || cfg->path_style ||
			strchr(h->bucket, '.') != NULL;
	if (cfg->endpoint != NULL) {
		buf_append_str(&b, cfg->endpoint);
	} else if (cfg->kind == MTURK_HOST_SIMULATOR) {
		buf_cleanup(&b);
		return err_set(eb, IF_EINPUT,
			       "images_host simulator: no endpoint");
	} else if (h->path_style) {
		buf_printf(&b, "https://s3.%s.amazonaws.com", h->region);
	} else {
		buf_printf(&b, "https://%s.s3.%s.amazonaws.com", h->bucket,
			   h->region);
	}
	n = b.len;
	while (n > 0 && b.data[n - 1] == '/')
		n--;
	b.len = n;
	if (b.data != NULL)
		b.data[n] = '\0';
	h->base = buf_steal(&b, NULL);
	if (h->base == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	rc = http_url_check(h->base, h->host, sizeof(h->host), eb);
	if (rc != IF_OK) {
		err_prefix(eb, "images_host endpoint");
		return rc;
	}
	if (strchr(strstr(h->base, "://") + 3, '/') != NULL)
		return err_set(eb, IF_EINPUT,
			       "images_host endpoint %s: give scheme://host"
			       "[:port] without a path",
			       h->base);
	return http_client_new(&cfg->http, &h->http, eb);
}

int
mturk_image_host_new(const struct mturk_host_config *cfg,
		     struct mturk_image_host **out, struct errbuf *eb)
{
	struct mturk_image_host *h;
	int rc = IF_OK;

	*out = NULL;
	if ((unsigned)cfg->kind >= sizeof(host_table) / sizeof(host_table[0]))
		return err_set(eb, IF_EINPUT, "images_host: unknown kind %d",
			       (int)cfg->kind);
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return err_set(eb, IF_ERUNTIME, "images_host: out of memory");
	h->ops = &host_table[cfg->kind];
	h->cfg = *cfg;
	mturk_clock_defaults(&h->cfg.clock);
	http_response_init(&h->resp, 64 * 1024);
	h->bucket = dup_or_null(cfg->bucket != NULL
					? cfg->bucket
					: (cfg->kind == MTURK_HOST_SIMULATOR
						   ? "intofocus"
						   : NULL));
	h->region = strdup(cfg->region != NULL ? cfg->region : MTURK_REGION);
	h->prefix = strdup(cfg->prefix != NULL ? cfg->prefix : "");
	h->dir = dup_or_null(cfg->dir);
	h->base_url = dup_or_null(cfg->base_url);
	if (h->region == NULL || h->prefix == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "images_host: out of memory");
		goto fail;
	}
	/* The prefix goes into paths unencoded, so keep it to safe bytes. */
	if (!chars_ok(h->prefix, LOWER_DIGITS UPPER "/-_.") ||
	    strstr(h->prefix, "..") != NULL || h->prefix[0] == '/') {
		rc = err_set(eb, IF_EINPUT,
			     "images_host: prefix \"%s\" may hold only "
			     "A-Z a-z 0-9 / - _ . (no \"..\", no leading /)",
			     h->prefix);
		goto fail;
	}
	if (cfg->kind == MTURK_HOST_LOCAL) {
		if (h->dir == NULL || h->base_url == NULL) {
			rc = err_set(eb, IF_EINPUT,
				     "images_host local: needs dir and "
				     "base_url");
			goto fail;
		}
		if (strncmp(h->base_url, "https://", 8) != 0 &&
		    strncmp(h->base_url, "http://", 7) != 0) {
			rc = err_set(eb, IF_EINPUT,
				     "images_host local: base_url \"%s\" is "
				     "not an http(s) URL",
				     h->base_url);
			goto fail;
		}
		if (h->prefix[0] != '\0') {
			rc = err_set(eb, IF_EINPUT,
				     "images_host local: prefix is for s3");
			goto fail;
		}
	} else {
		rc = s3_setup(h, eb);
		if (rc != IF_OK)
			goto fail;
	}
	*out = h;
	return IF_OK;
fail:
	mturk_image_host_free(h);
	return rc;
}

int
mturk_image_host_clone(const struct mturk_image_host *h,
		       struct mturk_image_host **out, struct errbuf *eb)
{
	struct mturk_host_config cfg = h->cfg;

	/* h's own copies: the caller's strings may be gone by now. */
	cfg.bucket = h->bucket;
	cfg.region = h->region;
	cfg.prefix = h->prefix;
	cfg.dir = h->dir;
	cfg.base_url = h->base_url;
	if (cfg.kind != MTURK_HOST_LOCAL)
		cfg.endpoint = h->path_style ? h->base : NULL;
	return mturk_image_host_new(&cfg, out, eb);
}

void
mturk_image_host_free(struct mturk_image_host *h)
{
	if (h == NULL)
		return;
	http_client_free(h->http);
	http_response_cleanup(&h->resp);
	free(h->bucket);
	free(h->region);
	free(h->prefix);
	free(h->dir);
	free(h->base_url);
	free(h->base);
	free(h);
}

enum mturk_fault
mturk_image_host_fault(const struct mturk_image_host *h)
{
	return h->fault;
}

int
mturk_image_host_put(struct mturk_image_host *h, const void *data, size_t len,
		     const char *content_type, const char *ext,
		     int64_t valid_for, struct mturk_hosted *out,
		     struct errbuf *eb)
{
	char name[64];
	int rc;

	memset(out, 0, sizeof(*out));
	h->fault = MTURK_FAULT_NONE;
	if (ext == NULL)
		ext = "";
	if (strlen(ext) > 8 || (ext[0] != '\0' && ext[0] != '.') ||
	    !chars_ok(ext, LOWER_DIGITS "."))
		return err_set(eb, IF_EINPUT,
			       "images_host: bad extension \"%s\"", ext);
	if (len > MAX_IMAGE_BYTES)
		return err_set(eb, IF_EINPUT,
			       "images_host: a %zu-byte image is over the "
			       "%zu-byte limit",
			       len, MAX_IMAGE_BYTES);
	if (mturk_random_object_name(ext, name, sizeof(name)) != 0)
		return err_set(eb, IF_ERUNTIME,
			       "images_host: no random bytes for a name");
	if ((size_t)snprintf(out->key, sizeof(out->key), "%s%s", h->prefix,
			     name) >= sizeof(out->key))
		return err_set(eb, IF_EINPUT, "images_host: prefix too long");
	rc = h->ops->put(h, data, len,
			 content_type != NULL ? content_type
					      : "application/octet-stream",
			 out->key, eb);
	if (rc == IF_OK)
		rc = h->ops->url(h, out->key, valid_for, out, eb);
	return rc;
}

int
mturk_image_host_url(struct mturk_image_host *h, const char *key,
		     int64_t valid_for, struct mturk_hosted *out,
		     struct errbuf *eb)
{
	memset(out, 0, sizeof(*out));
	if (!chars_ok(key, LOWER_DIGITS UPPER "/-_.") ||
	    strstr(key, "..") != NULL)
		return err_set(eb, IF_EINPUT, "images_host: bad key \"%s\"",
			       key);
	if ((size_t)snprintf(out->key, sizeof(out->key), "%s", key) >=
	    sizeof(out->key))
		return err_set(eb, IF_EINPUT, "images_host: key too long");
	return h->ops->url(h, key, valid_for, out, eb);
}
