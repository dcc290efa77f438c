/*
 * mturk/sigv4.c - AWS Signature Version 4, pure (spec sections 5 and 6).
 *
 * Every function here is a function of its arguments: the signing time comes
 * from the caller (the API layer owns the clock and its skew correction),
 * and nothing reads a file, a clock or the network.  The stages follow the
 * AWS description one to one so that the tests can check each against the
 * published vectors: canonical request, string to sign, signature,
 * Authorization value; the presigned (query) variant only moves the
 * X-Amz-* fields from headers into the query.
 *
 * Two sets of path rules exist.  Every service but S3 normalises the path
 * (drops "." and ".." segments and empty segments) and then percent-encodes
 * the path as sent, so an existing "%20" is encoded again to "%2520".  S3
 * uses the path exactly as sent, encoded once.  Query parameters are
 * decoded and re-encoded, so an already-encoded parameter is not encoded
 * twice.
 *
 * The verifier is the simulator's half (spec section 6): it recomputes a
 * received request's signature from the secret of the key it names and
 * refuses it with the reason AWS would give.  Signatures are compared with
 * CRYPTO_memcmp so that timing says nothing about how much of one matched.
 */
#include "mturk/mturk.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

/* Cap on any single artifact, far above any request we sign. */
#define SIGV4_BUF_LIMIT (1024 * 1024)

/* One header in canonical form: lower-case name, trimmed value. */
struct canon_header {
	char *name;
	char *value;
	size_t order; /* position in the request, for a stable sort */
};

/* One query parameter in canonical (encoded) form. */
struct canon_param {
	char *key;
	char *value;
};

void
sigv4_result_init(struct sigv4_result *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->canonical_request, SIGV4_BUF_LIMIT);
	buf_init(&r->string_to_sign, SIGV4_BUF_LIMIT);
	buf_init(&r->signed_headers, SIGV4_BUF_LIMIT);
	buf_init(&r->authorization, SIGV4_BUF_LIMIT);
	buf_init(&r->query, SIGV4_BUF_LIMIT);
}

void
sigv4_result_cleanup(struct sigv4_result *r)
{
	if (r == NULL)
		return;
	buf_cleanup_secure(&r->canonical_request);
	buf_cleanup_secure(&r->string_to_sign);
	buf_cleanup_secure(&r->signed_headers);
	buf_cleanup_secure(&r->authorization);
	buf_cleanup_secure(&r->query);
	OPENSSL_cleanse(r, sizeof(*r));
}

/* ---- time ------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
sigv4_format_date(time_t t, char out[17])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm) != 16)
		return -1;
	return 0;
}

int
sigv4_parse_date(const char *s, time_t *out)
{
	int v[6] = {0};
	static const int pos[6] = {0, 4, 6, 9, 11, 13};
	static const int len[6] = {4, 2, 2, 2, 2, 2};
	static const int mdays[12] = {31, 29, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};

	if (s == NULL || strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -1;
	for (int i = 0; i < 6; i++) {
		for (int j = 0; j < len[i]; j++) {
			char c = s[pos[i] + j];

			if (c < '0' || c > '9')
				return -1;
			v[i] = v[i] * 10 + (c - '0');
		}
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > mdays[v[1] - 1] ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	if (v[1] == 2 && v[2] == 29 &&
	    !((v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0))
		return -1;
	*out = (time_t)(days_from_civil(v[0], v[1], v[2]) * 86400 +
			v[3] * 3600 + v[4] * 60 + v[5]);
	return 0;
}

/* ---- hashing ---------------------------------------------------------- */

static int
sha256_hex(const void *data, size_t len, char out[SIGV4_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data == NULL ? "" : data, len, md, &mdlen, EVP_sha256(),
		       NULL) != 1 ||
	    mdlen != 32)
		return -1;
	hex_encode(md, 32, out);
	return 0;
}

static int
hmac256(const void *key, size_t keylen, const void *data, size_t len,
	unsigned char out[32])
{
	unsigned int outlen = 0;

	if (keylen > INT_MAX ||
	    HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) ==
		NULL ||
	    outlen != 32)
		return -1;
	return 0;
}

/* ---- encoding --------------------------------------------------------- */

static bool
is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
	       c == '~';
}

static int
hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Percent-encodes s[0..len) into out: every byte but the unreserved ones
 * (and '/' when keep_slash).  keep_escapes leaves a valid %XX as it is
 * (upper-cased), which is S3's "encode once".
 */
static int
uri_encode(struct buf *out, const char *s, size_t len, bool keep_slash,
	   bool keep_escapes)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[3];

		if (is_unreserved(c) || (keep_slash && c == '/')) {
			if (buf_append(out, &s[i], 1) < 0)
				return -1;
			continue;
		}
		if (keep_escapes && c == '%' && i + 2 < len &&
		    hexval((unsigned char)s[i + 1]) >= 0 &&
		    hexval((unsigned char)s[i + 2]) >= 0) {
			e[0] = '%';
			e[1] = (char)toupper((unsigned char)s[i + 1]);
			e[2] = (char)toupper((unsigned char)s[i + 2]);
			i += 2;
		} else {
			e[0] = '%';
			e[1] = hex[c >> 4];
			e[2] = hex[c & 15];
		}
		if (buf_append(out, e, 3) < 0)
			return -1;
	}
	return 0;
}

/* Decodes every valid %XX of s[0..len) into a new string; NULL on OOM. */
static char *
uri_decode(const char *s, size_t len)
{
	char *d = malloc(len + 1);
	size_t j = 0;

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == '%' && i + 2 < len &&
		    (hi = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (lo = hexval((unsigned char)s[i + 2])) >= 0) {
			d[j++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			d[j++] = s[i];
		}
	}
	d[j] = '\0';
	return d;
}

/*
 * Removes "." and ".." segments and empty segments (RFC 3986 section
 * 5.2.4 plus AWS's collapsing of "//"), keeping a trailing slash.  The
 * result is a new string that always starts with '/'.
 */
static char *
normalize_path(const char *path)
{
	size_t len = strlen(path), n = 0, nseg = 0;
	const char **seg = NULL;
	size_t *seglen = NULL;
	char *out = NULL;
	bool trailing = false;
	const char *p = path;

	seg = calloc(len + 1, sizeof(*seg));
	seglen = calloc(len + 1, sizeof(*seglen));
	out = malloc(len + 2);
	if (seg == NULL || seglen == NULL || out == NULL) {
		free(out);
		out = NULL;
		goto cleanup;
	}
	while (*p != '\0') {
		const char *q = strchr(p, '/');
		size_t l = q == NULL ? strlen(p) : (size_t)(q - p);

		trailing = false;
		if (l == 0) {
			trailing = true;
		} else if (l == 1 && p[0] == '.') {
			trailing = true;
		} else if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (nseg > 0)
				nseg--;
			trailing = true;
		} else {
			seg[nseg] = p;
			seglen[nseg] = l;
			nseg++;
		}
		if (q == NULL)
			break;
		p = q + 1;
		if (*p == '\0')
			trailing = true;
	}
	out[n++] = '/';
	for (size_t i = 0; i < nseg; i++) {
		memcpy(out + n, seg[i], seglen[i]);
		n += seglen[i];
		if (i + 1 < nseg || trailing)
			out[n++] = '/';
	}
	out[n] = '\0';
cleanup:
	free(seg);
	free(seglen);
	return out;
}

static int
canonical_uri(struct buf *out, const char *path, bool s3)
{
	char *norm;
	int rc;

	if (path == NULL || path[0] == '\0')
		return buf_append_str(out, "/");
	if (s3)
		return uri_encode(out, path, strlen(path), true, true);
	if ((norm = normalize_path(path)) == NULL)
		return -1;
	rc = uri_encode(out, norm, strlen(norm), true, false);
	free(norm);
	return rc;
}

/* ---- query ------------------------------------------------------------ */

static int
param_cmp(const void *a, const void *b)
{
	const struct canon_param *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

static void
params_free(struct canon_param *ps, size_t n)
{
	for (size_t i = 0; ps != NULL && i < n; i++) {
		free(ps[i].key);
		free(ps[i].value);
	}
	free(ps);
}

/* Decodes then encodes s[0..len) into a new string. */
static char *
reencode(const char *s, size_t len)
{
	char *dec = uri_decode(s, len);
	struct buf b;

	if (dec == NULL)
		return NULL;
	buf_init(&b, SIGV4_BUF_LIMIT);
	if (uri_encode(&b, dec, strlen(dec), false, false) < 0) {
		free(dec);
		buf_cleanup(&b);
		return NULL;
	}
	free(dec);
	return buf_steal(&b, NULL);
}

/*
 * Splits a raw query into encoded (key, value) pairs, leaving out the key
 * `skip` (already encoded; NULL = none).  Empty pieces ("a=1&&b=2") are
 * not parameters.
 */
static int
query_params(const char *query, const char *skip, struct canon_param **out,
	     size_t *nout)
{
	struct canon_param *ps = NULL;
	size_t n = 0, cap = 1;
	const char *p = query;

	*out = NULL;
	*nout = 0;
	if (query == NULL)
		return 0;
	for (const char *c = query; *c != '\0'; c++)
		cap += *c == '&';
	if ((ps = calloc(cap, sizeof(*ps))) == NULL)
		return -1;
	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		size_t l = amp == NULL ? strlen(p) : (size_t)(amp - p);
		const char *eq = memchr(p, '=', l);
		size_t kl = eq == NULL ? l : (size_t)(eq - p);

		if (l > 0) {
			ps[n].key = reencode(p, kl);
			ps[n].value = eq == NULL ? strdup("")
						 : reencode(eq + 1, l - kl - 1);
			if (ps[n].key == NULL || ps[n].value == NULL) {
				params_free(ps, n + 1);
				return -1;
			}
			n++;
			if (skip != NULL && strcmp(ps[n - 1].key, skip) == 0) {
				n--;
				free(ps[n].key);
				free(ps[n].value);
				ps[n].key = ps[n].value = NULL;
			}
		}
		p = amp == NULL ? NULL : amp + 1;
	}
	qsort(ps, n, sizeof(*ps), param_cmp);
	*out = ps;
	*nout = n;
	return 0;
}

static int
canonical_query(struct buf *out, const char *query, const char *skip)
{
	struct canon_param *ps = NULL;
	size_t n = 0;
	int rc = 0;

	if (query_params(query, skip, &ps, &n) < 0)
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = buf_printf(out, "%s%s=%s", i > 0 ? "&" : "", ps[i].key,
				ps[i].value);
	params_free(ps, n);
	return rc;
}

/* ---- headers ---------------------------------------------------------- */

static int
header_cmp(const void *a, const void *b)
{
	const struct canon_header *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool
is_lws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The value trimmed, with each run of white space made one space. */
static char *
trim_value(const char *v)
{
	size_t len = strlen(v), j = 0;
	char *d = malloc(len + 1);
	bool space = false;

	if (d == NULL)
		return NULL;
	while (*v != '\0' && is_lws(*v))
		v++;
	for (; *v != '\0'; v++) {
		if (is_lws(*v)) {
			space = true;
			continue;
		}
		if (space && j > 0)
			d[j++] = ' ';
		space = false;
		d[j++] = *v;
	}
	d[j] = '\0';
	return d;
}

static bool
valid_header_name(const char *name)
{
	if (name == NULL || name[0] == '\0')
		return false;
	for (const unsigned char *c = (const unsigned char *)name; *c != '\0';
	     c++)
		if (*c <= ' ' || *c >= 127 || *c == ':')
			return false;
	return true;
}

/*
 * Canonical header block ("name:v1,v2\n" per distinct name, sorted) into
 * canon and the signed-header list into list.
 */
static int
canonical_headers(const struct sigv4_header *h, size_t n, struct buf *canon,
		  struct buf *list, struct errbuf *eb)
{
	struct canon_header *ch = NULL;
	bool have_host = false;
	int rc = IF_OK;

	if (n == 0 || (ch = calloc(n, sizeof(*ch))) == NULL) {
		rc = n == 0 ? err_set(eb, IF_EINPUT,
				      "SigV4: request has no host header")
			    : err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		if (!valid_header_name(h[i].name) || h[i].value == NULL) {
			rc = err_set(eb, IF_EINPUT,
				     "SigV4: invalid header name \"%s\"",
				     h[i].name == NULL ? "(null)" : h[i].name);
			goto cleanup;
		}
		ch[i].name = strdup(h[i].name);
		ch[i].value = trim_value(h[i].value);
		ch[i].order = i;
		if (ch[i].name == NULL || ch[i].value == NULL) {
			rc = err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
			goto cleanup;
		}
		for (char *c = ch[i].name; *c != '\0'; c++)
			*c = (char)tolower((unsigned char)*c);
		if (strcmp(ch[i].name, "host") == 0)
			have_host = true;
	}
	if (!have_host) {
		rc = err_set(eb, IF_EINPUT,
			     "SigV4: request has no host header");
		goto cleanup;
	}
	qsort(ch, n, sizeof(*ch), header_cmp);
	for (size_t i = 0; i < n; i++) {
		bool first = i == 0 || strcmp(ch[i].name, ch[i - 1].name) != 0;
		bool last = i + 1 == n ||
		    strcmp(ch[i].name, ch[i + 1].name) != 0;
		int r = 0;

		if (first) {
			r |= buf_printf(canon, "%s:", ch[i].name);
			r |= buf_printf(list, "%s%s", i > 0 ? ";" : "",
					ch[i].name);
		} else {
			r |= buf_append_str(canon, ",");
		}
		r |= buf_append_str(canon, ch[i].value);
		if (last)
			r |= buf_append_str(canon, "\n");
		if (r != 0) {
			rc = err_set(eb, IF_ERUNTIME,
				     "SigV4: canonical headers too large");
			goto cleanup;
		}
	}
cleanup:
	for (size_t i = 0; ch != NULL && i < n; i++) {
		free(ch[i].name);
		free(ch[i].value);
	}
	free(ch);
	return rc;
}

/* ---- the stages ------------------------------------------------------- */

/* The canonical request and the signed-header list; skip: see above. */
static int
build_canonical(const struct sigv4_request *req, bool s3, const char *skip,
		struct buf *out, struct buf *list, struct errbuf *eb)
{
	struct buf canon_h;
	char hash[SIGV4_HEX_LEN + 1];
	const char *payload = req->payload_hash;
	int rc;

	buf_init(&canon_h, SIGV4_BUF_LIMIT);
	if (req->method == NULL || req->method[0] == '\0') {
		rc = err_set(eb, IF_EINPUT, "SigV4: request has no method");
		goto cleanup;
	}
	if (payload == NULL) {
		if (sha256_hex(req->body, req->body_len, hash) < 0) {
			rc = err_set(eb, IF_ERUNTIME, "SigV4: SHA-256 failed");
			goto cleanup;
		}
		payload = hash;
	}
	if ((rc = canonical_headers(req->headers, req->nheaders, &canon_h,
				    list, eb)) != IF_OK)
		goto cleanup;
	if (buf_printf(out, "%s\n", req->method) < 0 ||
	    canonical_uri(out, req->path, s3) < 0 ||
	    buf_append_str(out, "\n") < 0 ||
	    canonical_query(out, req->query, skip) < 0 ||
	    buf_printf(out, "\n%s\n%s\n%s", canon_h.data, list->data,
		       payload) < 0) {
		rc = err_set(eb, IF_ERUNTIME,
			     "SigV4: canonical request too large");
		goto cleanup;
	}
	rc = IF_OK;
cleanup:
	buf_cleanup(&canon_h);
	return rc;
}

int
sigv4_canonical_request(const struct sigv4_request *req, bool s3,
			struct buf *out, struct errbuf *eb)
{
	struct buf list;
	int rc;

	buf_init(&list, SIGV4_BUF_LIMIT);
	rc = build_canonical(req, s3, NULL, out, &list, eb);
	buf_cleanup(&list);
	return rc;
}

/* "20150830/us-east-1/service/aws4_request" */
static int
scope(struct buf *out, const struct sigv4_params *p, struct errbuf *eb)
{
	char date[17];

	if (p->region == NULL || p->region[0] == '\0' || p->service == NULL ||
	    p->service[0] == '\0')
		return err_set(eb, IF_EINPUT, "SigV4: no region or service");
	if (sigv4_format_date(p->when, date) < 0)
		return err_set(eb, IF_EINPUT, "SigV4: time %lld out of range",
			       (long long)p->when);
	if (buf_printf(out, "%.8s/%s/%s/aws4_request", date, p->region,
		       p->service) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
	return IF_OK;
}

int
sigv4_string_to_sign(const char *canonical_request, size_t len,
		     const struct sigv4_params *p, struct buf *out,
		     struct errbuf *eb)
{
	char date[17], hash[SIGV4_HEX_LEN + 1];
	int rc;

	if (sigv4_format_date(p->when, date) < 0)
		return err_set(eb, IF_EINPUT, "SigV4: time %lld out of range",
			       (long long)p->when);
	if (sha256_hex(canonical_request, len, hash) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: SHA-256 failed");
	if (buf_printf(out, SIGV4_ALGORITHM "\n%s\n", date) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
	if ((rc = scope(out, p, eb)) != IF_OK)
		return rc;
	if (buf_printf(out, "\n%s", hash) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
	return IF_OK;
}

int
sigv4_signature(const char *string_to_sign, size_t len,
		const struct sigv4_params *p, char out[SIGV4_HEX_LEN + 1],
		struct errbuf *eb)
{
	unsigned char k[32], k2[32], sig[32];
	char date[17];
	struct buf key;
	int rc = IF_OK;

	buf_init(&key, 0);
	if (p->secret_access_key == NULL || p->region == NULL ||
	    p->service == NULL) {
		rc = err_set(eb, IF_EINPUT,
			     "SigV4: no secret key, region or service");
		goto cleanup;
	}
	if (sigv4_format_date(p->when, date) < 0) {
		rc = err_set(eb, IF_EINPUT, "SigV4: time %lld out of range",
			     (long long)p->when);
		goto cleanup;
	}
	if (buf_printf(&key, "AWS4%s", p->secret_access_key) < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
		goto cleanup;
	}
	/*
	 * kDate -> kRegion -> kService -> kSigning, then the signature; two
	 * buffers in turn, since HMAC() does not promise that its output may
	 * alias its key.
	 */
	if (hmac256(key.data, key.len, date, 8, k) < 0 ||
	    hmac256(k, 32, p->region, strlen(p->region), k2) < 0 ||
	    hmac256(k2, 32, p->service, strlen(p->service), k) < 0 ||
	    hmac256(k, 32, "aws4_request", 12, k2) < 0 ||
	    hmac256(k2, 32, string_to_sign, len, sig) < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4: HMAC-SHA256 failed");
		goto cleanup;
	}
	hex_encode(sig, 32, out);
cleanup:
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(k2, sizeof(k2));
	OPENSSL_cleanse(sig, sizeof(sig));
	buf_cleanup_secure(&key);
	return rc;
}

int
sigv4_authorization(const struct sigv4_params *p, const char *signed_headers,
		    const char *signature, struct buf *out, struct errbuf *eb)
{
	int rc;

	if (p->access_key_id == NULL || p->access_key_id[0] == '\0')
		return err_set(eb, IF_EINPUT, "SigV4: no access key id");
	if (buf_printf(out, SIGV4_ALGORITHM " Credential=%s/",
		       p->access_key_id) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
	if ((rc = scope(out, p, eb)) != IF_OK)
		return rc;
	if (buf_printf(out, ", SignedHeaders=%s, Signature=%s", signed_headers,
		       signature) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
	return IF_OK;
}

static bool
has_header(const struct sigv4_request *req, const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (req->headers[i].name != NULL &&
		    strcasecmp(req->headers[i].name, name) == 0)
			return true;
	return false;
}

/* Stages 1-3 for a request whose headers and query are final. */
static int
sign_chain(const struct sigv4_request *req, const struct sigv4_params *p,
	   const char *skip, struct sigv4_result *r, struct errbuf *eb)
{
	int rc;

	if ((rc = build_canonical(req, p->s3, skip, &r->canonical_request,
				  &r->signed_headers, eb)) != IF_OK)
		return rc;
	if ((rc = sigv4_string_to_sign(r->canonical_request.data,
				       r->canonical_request.len, p,
				       &r->string_to_sign, eb)) != IF_OK)
		return rc;
	return sigv4_signature(r->string_to_sign.data, r->string_to_sign.len,
			       p, r->signature, eb);
}

static int
payload_hash(const struct sigv4_request *req, const char *dflt,
	     struct sigv4_result *r, struct errbuf *eb)
{
	const char *h = req->payload_hash != NULL ? req->payload_hash : dflt;

	if (h != NULL) {
		if (strlen(h) > SIGV4_HEX_LEN)
			return err_set(eb, IF_EINPUT,
				       "SigV4: payload hash too long");
		memcpy(r->payload_hash, h, strlen(h) + 1);
		return IF_OK;
	}
	if (sha256_hex(req->body, req->body_len, r->payload_hash) < 0)
		return err_set(eb, IF_ERUNTIME, "SigV4: SHA-256 failed");
	return IF_OK;
}

int
sigv4_sign_headers(const struct sigv4_request *req,
		   const struct sigv4_params *p, struct sigv4_result *r,
		   struct errbuf *eb)
{
	static const char *const reserved[] = {
		"x-amz-date", "authorization", "x-amz-security-token",
		"x-amz-content-sha256"};
	struct sigv4_header *h = NULL;
	struct sigv4_request sreq = *req;
	size_t n = req->nheaders;
	int rc;

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (i == 2 && p->session_token == NULL)
			continue;
		if (i == 3 && !p->sign_body)
			continue;
		if (has_header(req, reserved[i])) {
			rc = err_set(eb, IF_EINPUT,
				     "SigV4: request already has a %s header",
				     reserved[i]);
			goto cleanup;
		}
	}
	if (sigv4_format_date(p->when, r->amz_date) < 0) {
		rc = err_set(eb, IF_EINPUT, "SigV4: time %lld out of range",
			     (long long)p->when);
		goto cleanup;
	}
	if ((rc = payload_hash(req, NULL, r, eb)) != IF_OK)
		goto cleanup;
	if ((h = calloc(n + 3, sizeof(*h))) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
		goto cleanup;
	}
	if (n > 0)
		memcpy(h, req->headers, n * sizeof(*h));
	r->nadd = 0;
	r->add[r->nadd++] = (struct sigv4_header){"X-Amz-Date", r->amz_date};
	if (p->session_token != NULL)
		r->add[r->nadd++] = (struct sigv4_header){
			"X-Amz-Security-Token", p->session_token};
	if (p->sign_body)
		r->add[r->nadd++] = (struct sigv4_header){
			"X-Amz-Content-Sha256", r->payload_hash};
	for (size_t i = 0; i < r->nadd; i++)
		h[n + i] = r->add[i];
	sreq.headers = h;
	sreq.nheaders = n + r->nadd;
	sreq.payload_hash = r->payload_hash;
	if ((rc = sign_chain(&sreq, p, NULL, r, eb)) != IF_OK)
		goto cleanup;
	if ((rc = sigv4_authorization(p, r->signed_headers.data, r->signature,
				      &r->authorization, eb)) != IF_OK)
		goto cleanup;
	r->add[r->nadd++] =
		(struct sigv4_header){"Authorization", r->authorization.data};
cleanup:
	free(h);
	return rc;
}

/* The X-Amz-* query keys the presigner writes; none may be given. */
static const char *const presign_keys[] = {
	"X-Amz-Algorithm", "X-Amz-Credential",	   "X-Amz-Date",
	"X-Amz-Expires",   "X-Amz-SignedHeaders",  "X-Amz-Security-Token",
	"X-Amz-Signature",
};

int
sigv4_presign(const struct sigv4_request *req, const struct sigv4_params *p,
	      long expires, struct sigv4_result *r, struct errbuf *eb)
{
	struct sigv4_request sreq = *req;
	struct canon_param *ps = NULL;
	struct buf q, cred, list;
	size_t n = 0;
	int rc;

	buf_init(&q, SIGV4_BUF_LIMIT);
	buf_init(&cred, SIGV4_BUF_LIMIT);
	buf_init(&list, SIGV4_BUF_LIMIT);
	if (expires < 1 || expires > SIGV4_MAX_EXPIRES) {
		rc = err_set(eb, IF_EINPUT,
			     "SigV4: presign expiry %ld s not in 1..%d",
			     expires, SIGV4_MAX_EXPIRES);
		goto cleanup;
	}
	if (query_params(req->query, NULL, &ps, &n) < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < sizeof(presign_keys) /
					       sizeof(presign_keys[0]);
		     k++) {
			if (strcmp(ps[i].key, presign_keys[k]) == 0) {
				rc = err_set(eb, IF_EINPUT,
					     "SigV4: query already has %s",
					     presign_keys[k]);
				goto cleanup;
			}
		}
	}
	if (p->access_key_id == NULL || p->access_key_id[0] == '\0') {
		rc = err_set(eb, IF_EINPUT, "SigV4: no access key id");
		goto cleanup;
	}
	if (sigv4_format_date(p->when, r->amz_date) < 0) {
		rc = err_set(eb, IF_EINPUT, "SigV4: time %lld out of range",
			     (long long)p->when);
		goto cleanup;
	}
	if ((rc = payload_hash(req, p->s3 ? SIGV4_UNSIGNED_PAYLOAD : NULL, r,
			       eb)) != IF_OK)
		goto cleanup;
	/* The signed-header list goes into the query, so compute it first. */
	{
		struct buf scratch;

		buf_init(&scratch, SIGV4_BUF_LIMIT);
		rc = canonical_headers(req->headers, req->nheaders, &scratch,
				       &list, eb);
		buf_cleanup(&scratch);
		if (rc != IF_OK)
			goto cleanup;
	}
	if (buf_printf(&cred, "%s/", p->access_key_id) < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4: out of memory");
		goto cleanup;
	}
	if ((rc = scope(&cred, p, eb)) != IF_OK)
		goto cleanup;
	if ((req->query != NULL && req->query[0] != '\0' &&
	     buf_printf(&q, "%s&", req->query) < 0) ||
	    buf_append_str(&q, "X-Amz-Algorithm=" SIGV4_ALGORITHM
			       "&X-Amz-Credential=") < 0 ||
	    uri_encode(&q, cred.data, cred.len, false, false) < 0 ||
	    buf_printf(&q, "&X-Amz-Date=%s&X-Amz-Expires=%ld", r->amz_date,
		       expires) < 0 ||
	    buf_append_str(&q, "&X-Amz-SignedHeaders=") < 0 ||
	    uri_encode(&q, list.data, list.len, false, false) < 0 ||
	    (p->session_token != NULL &&
	     (buf_append_str(&q, "&X-Amz-Security-Token=") < 0 ||
	      uri_encode(&q, p->session_token, strlen(p->session_token),
			 false, false) < 0))) {
		rc = err_set(eb, IF_ERUNTIME,
			     "SigV4: presigned query too large");
		goto cleanup;
	}
	sreq.query = q.data;
	sreq.payload_hash = r->payload_hash;
	if ((rc = sign_chain(&sreq, p, NULL, r, eb)) != IF_OK)
		goto cleanup;
	if (buf_append(&r->query, q.data, q.len) < 0 ||
	    buf_printf(&r->query, "&X-Amz-Signature=%s", r->signature) < 0) {
		rc = err_set(eb, IF_ERUNTIME,
			     "SigV4: presigned query too large");
		goto cleanup;
	}
	rc = IF_OK;
cleanup:
	params_free(ps, n);
	buf_cleanup(&q);
	buf_cleanup(&cred);
	buf_cleanup(&list);
	return rc;
}

/* ---- the verifier ----------------------------------------------------- */

const char *
sigv4_verdict_code(enum sigv4_verdict v)
{
	switch (v) {
	case SIGV4_VALID:
		return "";
	case SIGV4_MISSING:
		return "MissingAuthenticationToken";
	case SIGV4_INCOMPLETE:
		return "IncompleteSignature";
	case SIGV4_UNKNOWN_KEY:
	case SIGV4_BAD_TOKEN:
		return "InvalidClientTokenId";
	case SIGV4_BAD_SCOPE:
	case SIGV4_MISMATCH:
		return "SignatureDoesNotMatch";
	case SIGV4_SKEWED:
		return "InvalidSignatureException";
	case SIGV4_EXPIRED:
		return "RequestExpired";
	}
	return "SignatureDoesNotMatch";
}

/* The fields of a signature, from either variant (all owned). */
struct sig_fields {
	char *algorithm;
	char *credential; /* akid/date/region/service/aws4_request */
	char *signed_headers;
	char *signature;
	char *date;    /* X-Amz-Date */
	char *token;   /* X-Amz-Security-Token, or NULL */
	char *expires; /* presigned only */
	bool presigned;
};

static void
sig_fields_cleanup(struct sig_fields *f)
{
	free(f->algorithm);
	free(f->credential);
	free(f->signed_headers);
	free(f->signature);
	free(f->date);
	free(f->token);
	free(f->expires);
	memset(f, 0, sizeof(*f));
}

/* The first header named name (any case), or NULL; *count gets how many. */
static const char *
find_header(const struct sigv4_request *req, const char *name, size_t *count)
{
	const char *v = NULL;
	size_t c = 0;

	for (size_t i = 0; i < req->nheaders; i++) {
		if (req->headers[i].name != NULL &&
		    strcasecmp(req->headers[i].name, name) == 0) {
			if (v == NULL)
				v = req->headers[i].value;
			c++;
		}
	}
	if (count != NULL)
		*count = c;
	return v;
}

static char *
dup_range(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

/*
 * "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=..."
 * Returns SIGV4_VALID, SIGV4_INCOMPLETE, or -1 when memory runs out.
 */
static int
parse_authorization(const char *v, struct sig_fields *f)
{
	const char *sp = strchr(v, ' ');
	const char *p;

	if (sp == NULL)
		return SIGV4_INCOMPLETE;
	if ((f->algorithm = dup_range(v, (size_t)(sp - v))) == NULL)
		return -1;
	p = sp;
	while (*p != '\0') {
		const char *end, *eq;
		size_t l;
		char **slot = NULL;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		end = strchr(p, ',');
		l = end == NULL ? strlen(p) : (size_t)(end - p);
		while (l > 0 && p[l - 1] == ' ')
			l--;
		eq = memchr(p, '=', l);
		if (eq == NULL)
			return SIGV4_INCOMPLETE;
		if ((size_t)(eq - p) == 10 && strncmp(p, "Credential", 10) == 0)
			slot = &f->credential;
		else if ((size_t)(eq - p) == 13 &&
			 strncmp(p, "SignedHeaders", 13) == 0)
			slot = &f->signed_headers;
		else if ((size_t)(eq - p) == 9 &&
			 strncmp(p, "Signature", 9) == 0)
			slot = &f->signature;
		else
			return SIGV4_INCOMPLETE;
		if (*slot != NULL)
			return SIGV4_INCOMPLETE;
		if ((*slot = dup_range(eq + 1, l - (size_t)(eq + 1 - p))) ==
		    NULL)
			return -1;
		p += l;
	}
	return SIGV4_VALID;
}

/* The X-Amz-* parameters of a presigned query, decoded. */
static int
parse_presigned(const char *query, struct sig_fields *f)
{
	struct {
		const char *key;
		char **slot;
	} map[] = {
		{"X-Amz-Algorithm", &f->algorithm},
		{"X-Amz-Credential", &f->credential},
		{"X-Amz-SignedHeaders", &f->signed_headers},
		{"X-Amz-Signature", &f->signature},
		{"X-Amz-Date", &f->date},
		{"X-Amz-Security-Token", &f->token},
		{"X-Amz-Expires", &f->expires},
	};
	const char *p = query;

	f->presigned = true;
	while (p != NULL && *p != '\0') {
		const char *amp = strchr(p, '&');
		size_t l = amp == NULL ? strlen(p) : (size_t)(amp - p);
		const char *eq = memchr(p, '=', l);
		size_t kl = eq == NULL ? l : (size_t)(eq - p);
		char *key = uri_decode(p, kl);

		if (key == NULL)
			return -1;
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
			if (strcmp(key, map[i].key) != 0)
				continue;
			if (*map[i].slot != NULL || eq == NULL) {
				free(key);
				return SIGV4_INCOMPLETE;
			}
			*map[i].slot = uri_decode(eq + 1, l - kl - 1);
			if (*map[i].slot == NULL) {
				free(key);
				return -1;
			}
		}
		free(key);
		p = amp == NULL ? NULL : amp + 1;
	}
	if (f->credential == NULL || f->signed_headers == NULL ||
	    f->signature == NULL || f->date == NULL || f->expires == NULL)
		return SIGV4_INCOMPLETE;
	return SIGV4_VALID;
}

/* Refuses with verdict v and an AWS-like message. */
static int
refuse(enum sigv4_verdict *verdict, enum sigv4_verdict v, struct errbuf *eb,
       const char *fmt, ...) IF_PRINTF(4, 5);

static int
refuse(enum sigv4_verdict *verdict, enum sigv4_verdict v, struct errbuf *eb,
       const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	*verdict = v;
	return err_set(eb, IF_EINPUT, "%s: %s", sigv4_verdict_code(v), msg);
}

/* Equal in constant time for equal lengths; token and signature checks. */
static bool
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	return la == lb && CRYPTO_memcmp(a, b, la) == 0;
}

/* True when the name p[0..l) already occurs in list before p. */
static bool
listed_before(const char *list, const char *p, size_t l)
{
	const char *q = list;

	while (q < p) {
		const char *semi = strchr(q, ';');
		size_t ql = semi == NULL ? strlen(q) : (size_t)(semi - q);

		if (ql == l && strncasecmp(q, p, l) == 0)
			return true;
		q = semi == NULL ? q + ql : semi + 1;
	}
	return false;
}

/*
 * The headers of req named in list ("a;b;c"), all instances, in order.  A
 * name listed twice is taken once: each header is then copied at most once
 * and h cannot overflow (a fuzzer's "host;host" did), and the signature
 * will not match, as no signer lists a name twice.
 */
static int
select_signed(const struct sigv4_request *req, const char *list,
	      struct sigv4_header **out, size_t *nout, const char **missing,
	      char **missing_buf)
{
	struct sigv4_header *h = calloc(req->nheaders + 1, sizeof(*h));
	size_t n = 0;
	const char *p = list;

	*missing = NULL;
	*missing_buf = NULL;
	if (h == NULL)
		return -1;
	while (*p != '\0') {
		const char *semi = strchr(p, ';');
		size_t l = semi == NULL ? strlen(p) : (size_t)(semi - p);
		bool dup = listed_before(list, p, l), found = dup;

		for (size_t i = 0; !dup && i < req->nheaders; i++) {
			const char *name = req->headers[i].name;

			if (name != NULL && strlen(name) == l &&
			    strncasecmp(name, p, l) == 0) {
				h[n++] = req->headers[i];
				found = true;
			}
		}
		if (!found) {
			*missing_buf = dup_range(p, l);
			*missing = *missing_buf == NULL ? "?" : *missing_buf;
			break;
		}
		p = semi == NULL ? p + l : semi + 1;
	}
	*out = h;
	*nout = n;
	return 0;
}

int
sigv4_verify(const struct sigv4_request *req, const struct sigv4_expect *x,
	     enum sigv4_verdict *verdict, struct errbuf *eb)
{
	struct sig_fields f = {0};
	struct sigv4_params p = {0};
	struct sigv4_result r;
	struct sigv4_request sreq = *req;
	struct sigv4_header *signed_h = NULL;
	size_t nsigned = 0, ndate = 0;
	const char *auth = find_header(req, "authorization", NULL);
	const char *secret, *want_token = NULL, *missing = NULL;
	char *missing_buf = NULL, *cred_parts[5] = {0}, *cred_copy = NULL;
	char hash[SIGV4_HEX_LEN + 1];
	long max_skew = x->max_skew > 0 ? x->max_skew : SIGV4_MAX_SKEW;
	time_t t = 0;
	int64_t expires = 0;
	bool presigned = false;
	int rc, pr;

	sigv4_result_init(&r);
	*verdict = SIGV4_VALID;
	if (req->query != NULL &&
	    strstr(req->query, "X-Amz-Algorithm=") != NULL)
		presigned = true;
	if (auth != NULL && presigned) {
		rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
			    "Only one auth mechanism allowed; only the "
			    "X-Amz-Algorithm query parameter or the "
			    "Authorization header should be specified");
		goto cleanup;
	}
	if (auth == NULL && !presigned) {
		rc = refuse(verdict, SIGV4_MISSING, eb,
			    "Request is missing Authentication Token");
		goto cleanup;
	}
	pr = presigned ? parse_presigned(req->query, &f)
		       : parse_authorization(auth, &f);
	if (pr < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4 verify: out of memory");
		goto cleanup;
	}
	if (!presigned) {
		const char *d = find_header(req, "x-amz-date", &ndate);

		if (d != NULL && (f.date = trim_value(d)) == NULL) {
			rc = err_set(eb, IF_ERUNTIME,
				     "SigV4 verify: out of memory");
			goto cleanup;
		}
		if (f.credential == NULL || f.signed_headers == NULL ||
		    f.signature == NULL)
			pr = SIGV4_INCOMPLETE;
	}
	if (pr != SIGV4_VALID || f.algorithm == NULL ||
	    strcmp(f.algorithm, SIGV4_ALGORITHM) != 0) {
		rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
			    "Authorization must be " SIGV4_ALGORITHM
			    " with Credential, SignedHeaders and Signature");
		goto cleanup;
	}
	if (f.date == NULL || ndate > 1 || sigv4_parse_date(f.date, &t) < 0) {
		rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
			    "Authorization requires a valid X-Amz-Date "
			    "(yyyyMMddTHHmmssZ)");
		goto cleanup;
	}
	/* akid/date/region/service/aws4_request */
	if ((cred_copy = strdup(f.credential)) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4 verify: out of memory");
		goto cleanup;
	}
	{
		char *s = cred_copy;
		size_t k = 0;

		for (; k < 5 && s != NULL; k++) {
			cred_parts[k] = s;
			s = strchr(s, '/');
			if (s != NULL)
				*s++ = '\0';
		}
		if (k != 5 || s != NULL || cred_parts[0][0] == '\0') {
			rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
				    "Credential must have the form "
				    "<key>/<date>/<region>/<service>/"
				    "aws4_request");
			goto cleanup;
		}
	}
	if (strncmp(cred_parts[1], f.date, 8) != 0 ||
	    strlen(cred_parts[1]) != 8) {
		rc = refuse(verdict, SIGV4_BAD_SCOPE, eb,
			    "Date in Credential scope does not match YYYYMMDD "
			    "from X-Amz-Date");
		goto cleanup;
	}
	if (strcmp(cred_parts[2], x->region) != 0) {
		rc = refuse(verdict, SIGV4_BAD_SCOPE, eb,
			    "Credential should be scoped to a valid region, "
			    "not '%.64s'",
			    cred_parts[2]);
		goto cleanup;
	}
	if (strcmp(cred_parts[3], x->service) != 0) {
		rc = refuse(verdict, SIGV4_BAD_SCOPE, eb,
			    "Credential should be scoped to correct service: "
			    "'%s'",
			    x->service);
		goto cleanup;
	}
	if (strcmp(cred_parts[4], "aws4_request") != 0) {
		rc = refuse(verdict, SIGV4_BAD_SCOPE, eb,
			    "Credential should be scoped with a valid "
			    "terminator: 'aws4_request'");
		goto cleanup;
	}
	secret = x->secret_for(x->arg, cred_parts[0], &want_token);
	if (secret == NULL) {
		rc = refuse(verdict, SIGV4_UNKNOWN_KEY, eb,
			    "The security token included in the request is "
			    "invalid");
		goto cleanup;
	}
	if (presigned) {
		if (parse_int64(f.expires, 1, SIGV4_MAX_EXPIRES, &expires) <
		    0) {
			rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
				    "X-Amz-Expires must be a number of seconds "
				    "from 1 to %d",
				    SIGV4_MAX_EXPIRES);
			goto cleanup;
		}
		if (x->now < t - max_skew) {
			rc = refuse(verdict, SIGV4_SKEWED, eb,
				    "Signature not yet current: %s is still "
				    "later than now + %ld s",
				    f.date, max_skew);
			goto cleanup;
		}
		if (x->now > t + expires) {
			rc = refuse(verdict, SIGV4_EXPIRED, eb,
				    "Request has expired: signed %s, valid "
				    "for %lld s",
				    f.date, (long long)expires);
			goto cleanup;
		}
	} else {
		if (x->now > t + max_skew) {
			rc = refuse(verdict, SIGV4_SKEWED, eb,
				    "Signature expired: %s is now earlier "
				    "than now - %ld s",
				    f.date, max_skew);
			goto cleanup;
		}
		if (x->now < t - max_skew) {
			rc = refuse(verdict, SIGV4_SKEWED, eb,
				    "Signature not yet current: %s is still "
				    "later than now + %ld s",
				    f.date, max_skew);
			goto cleanup;
		}
		{
			size_t ntok = 0;
			const char *tok = find_header(
				req, "x-amz-security-token", &ntok);

			if (ntok > 1) {
				rc = refuse(verdict, SIGV4_BAD_TOKEN, eb,
					    "More than one security token");
				goto cleanup;
			}
			if (tok != NULL &&
			    (f.token = trim_value(tok)) == NULL) {
				rc = err_set(eb, IF_ERUNTIME,
					     "SigV4 verify: out of memory");
				goto cleanup;
			}
		}
	}
	if ((want_token == NULL) != (f.token == NULL) ||
	    (want_token != NULL && !secret_equal(want_token, f.token))) {
		rc = refuse(verdict, SIGV4_BAD_TOKEN, eb,
			    "The security token included in the request is "
			    "invalid");
		goto cleanup;
	}
	/* host must be signed; every signed header must be present. */
	{
		bool host = false;
		const char *s = f.signed_headers;

		while (*s != '\0') {
			const char *semi = strchr(s, ';');
			size_t l = semi == NULL ? strlen(s) :
			    (size_t)(semi - s);

			if (l == 4 && strncmp(s, "host", 4) == 0)
				host = true;
			s = semi == NULL ? s + l : semi + 1;
		}
		if (!host) {
			rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
				    "'Host' must be a 'SignedHeader' in the "
				    "AWS Authorization");
			goto cleanup;
		}
	}
	if (select_signed(req, f.signed_headers, &signed_h, &nsigned, &missing,
			  &missing_buf) < 0) {
		rc = err_set(eb, IF_ERUNTIME, "SigV4 verify: out of memory");
		goto cleanup;
	}
	if (missing != NULL) {
		rc = refuse(verdict, SIGV4_MISMATCH, eb,
			    "signed header '%.64s' is not in the request",
			    missing);
		goto cleanup;
	}
	sreq.headers = signed_h;
	sreq.nheaders = nsigned;
	sreq.payload_hash = NULL;
	if (presigned && x->s3) {
		sreq.payload_hash = SIGV4_UNSIGNED_PAYLOAD;
	} else if (!presigned && x->s3) {
		const char *ch = find_header(req, "x-amz-content-sha256", NULL);

		if (ch == NULL) {
			rc = refuse(verdict, SIGV4_INCOMPLETE, eb,
				    "Missing required header for this request: "
				    "x-amz-content-sha256");
			goto cleanup;
		}
		if (strcmp(ch, SIGV4_UNSIGNED_PAYLOAD) != 0 &&
		    !x->s3_defer_payload) {
			if (sha256_hex(req->body, req->body_len, hash) < 0) {
				rc = err_set(eb, IF_ERUNTIME,
					     "SigV4 verify: SHA-256 failed");
				goto cleanup;
			}
			if (strcmp(ch, hash) != 0) {
				rc = refuse(verdict, SIGV4_MISMATCH, eb,
					    "The provided "
					    "'x-amz-content-sha256' header "
					    "does not match what was "
					    "computed");
				goto cleanup;
			}
		}
		sreq.payload_hash = ch;
	}
	p.access_key_id = cred_parts[0];
	p.secret_access_key = secret;
	p.region = x->region;
	p.service = x->service;
	p.when = t;
	p.s3 = x->s3;
	if ((rc = sign_chain(&sreq, &p, presigned ? "X-Amz-Signature" : NULL,
			     &r, eb)) != IF_OK) {
		if (rc == IF_EINPUT)
			*verdict = SIGV4_INCOMPLETE;
		goto cleanup;
	}
	if (!secret_equal(r.signature, f.signature)) {
		rc = refuse(verdict, SIGV4_MISMATCH, eb,
			    "The request signature we calculated does not "
			    "match the signature you provided. Check your "
			    "AWS Secret Access Key and signing method.");
		goto cleanup;
	}
	rc = IF_OK;
cleanup:
	sigv4_result_cleanup(&r);
	sig_fields_cleanup(&f);
	free(signed_h);
	free(missing_buf);
	free(cred_copy);
	return rc;
}
