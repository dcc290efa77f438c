/*
 * mturk/http.c - the libcurl boundary (spec section 5; style guide 12).
 *
 * Nothing else in the project includes curl.h for transfers.  One easy
 * handle per client is reused, so libcurl keeps the TLS connection to the
 * endpoint alive between calls.  Every option that matters for safety is set
 * again before each exchange rather than trusted to survive from the last:
 * TLS verification on, https only (plain http only to a loopback host, for
 * the simulator and tests), no redirects, the path sent exactly as signed
 * (CURLOPT_PATH_AS_IS), timeouts below the watchdog, and a cap on the body
 * kept by the write callback.  Response headers are captured for the
 * clock-skew correction (Date) and for error reports (request ids).
 */
#define _GNU_SOURCE /* ppoll */
#include "mturk/mturk.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define DEFAULT_TIMEOUT_MS 30000L
#define DEFAULT_MAX_BODY ((size_t)8 << 20)

struct http_client {
	CURL *curl;
	CURLM *multi; /* for http_perform_wakeable, made on first use */
	struct http_options opt;
	char errbuf[CURL_ERROR_SIZE];
	bool body_too_big; /* set by the write callback for the message */
};

static bool
host_is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char tmp[64];
	size_t n = strlen(host);

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	/* curl hands IPv6 hosts back in brackets. */
	if (n >= 2 && n < sizeof(tmp) && host[0] == '[' && host[n - 1] == ']') {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, &a6) == 1)
			return IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return false;
}

int
http_url_check(const char *url, char *host_hdr, size_t host_hdr_size,
	       struct errbuf *eb)
{
	CURLU *u = NULL;
	char *scheme = NULL, *host = NULL, *port = NULL;
	int rc = IF_OK;
	bool https;

	u = curl_url();
	if (u == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", url);
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: not a URL (expected https://host[:port])",
			     url);
		goto cleanup;
	}
	https = strcasecmp(scheme, "https") == 0;
	if (!https && strcasecmp(scheme, "http") != 0) {
		rc = err_set(eb, IF_EINPUT, "%s: scheme %s is not https", url,
			     scheme);
		goto cleanup;
	}
	if (!https && !host_is_loopback(host)) {
		rc = err_set(eb, IF_EINPUT,
			     "%s: plain http is allowed only to a loopback "
			     "address (127.0.0.1, ::1, localhost); use https",
			     url);
		goto cleanup;
	}
	if (host_hdr != NULL) {
		/*
		 * The port is in Host only when the URL names a non-default
		 * one, which is what curl itself would send.
		 */
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
			port = NULL;
		if (port != NULL &&
		    strcmp(port, https ? "443" : "80") != 0)
			snprintf(host_hdr, host_hdr_size, "%s:%s", host, port);
		else
			snprintf(host_hdr, host_hdr_size, "%s", host);
	}
cleanup:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

void
http_response_init(struct http_response *resp, size_t max_body)
{
	memset(resp, 0, sizeof(*resp));
	buf_init(&resp->body, max_body);
}

void
http_response_cleanup(struct http_response *resp)
{
	buf_cleanup(&resp->body);
	memset(resp, 0, sizeof(*resp));
}

/* Each exchange starts from an empty response but keeps the buffer. */
static void
response_reset(struct http_response *resp)
{
	buf_reset(&resp->body);
	resp->status = 0;
	resp->curl_code = 0;
	resp->body_over_cap = false;
	resp->strings_elided = 0;
	resp->date[0] = '\0';
	resp->request_id[0] = '\0';
	resp->error_type[0] = '\0';
	resp->content_type[0] = '\0';
	resp->push[0] = '\0';
}

#define ELIDING_READ_FACTOR 16

struct xfer {
	struct http_client *c;
	struct http_response *resp;
	size_t elide_over; /* http_request.elide_strings_over */
	/* Where the JSON lexer of an eliding transfer stands. */
	bool in_string, escaped;
	size_t string_len; /* bytes of the current string's content */
	size_t string_at;  /* offset of its content in the body */
};

/*
 * Appends an answer's bytes, a JSON string's content dropped (rewound to
 * its opening quote) once it passes x->elide_over bytes; the quotes stay,
 * so the string reads "".
 */
static int
append_eliding(struct xfer *x, const char *p, size_t n)
{
	struct buf *b = &x->resp->body;

	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		if (!x->in_string || (!x->escaped && ch == '"')) {
			/* Outside strings, and the quotes: kept. */
			if (!x->in_string) {
				x->in_string = ch == '"';
				x->escaped = false;
				x->string_len = 0;
				x->string_at = b->len + 1;
			} else {
				x->in_string = false;
			}
			if (buf_append(b, &ch, 1) != 0)
				return -1;
			continue;
		}
		x->escaped = !x->escaped && ch == '\\';
		if (++x->string_len > x->elide_over) {
			if (x->string_len == x->elide_over + 1) {
				b->len = x->string_at; /* drop what was kept */
				x->resp->strings_elided++;
			}
			continue;
		}
		if (buf_append(b, &ch, 1) != 0)
			return -1;
	}
	return 0;
}

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	size_t n = size * nmemb;

	if (x->elide_over > 0) {
		if (append_eliding(x, ptr, n) != 0) {
			x->c->body_too_big = true;
			return 0;
		}
		return n;
	}
	if (buf_append(&x->resp->body, ptr, n) != 0) {
		x->c->body_too_big = true;
		return 0; /* curl aborts with CURLE_WRITE_ERROR */
	}
	return n;
}

/* Copies the value of "Name: value\r\n" when line has that name. */
static void
take_header(const char *line, size_t len, const char *name, char *out,
	    size_t outsz)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' ||
			   line[len - 1] == ' '))
		len--;
	if (len >= outsz)
		len = outsz - 1;
	memcpy(out, line, len);
	out[len] = '\0';
}

static size_t
header_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct xfer *x = userdata;
	struct http_response *r = x->resp;
	size_t n = size * nmemb;

	/* A new status line (after 100 Continue) starts a new header set. */
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		r->date[0] = r->request_id[0] = '\0';
		r->error_type[0] = r->content_type[0] = '\0';
		r->push[0] = '\0';
	}
	take_header(ptr, n, "Date", r->date, sizeof(r->date));
	take_header(ptr, n, "x-amzn-RequestId", r->request_id,
		    sizeof(r->request_id));
	take_header(ptr, n, "x-amz-request-id", r->request_id,
		    sizeof(r->request_id));
	take_header(ptr, n, "x-amzn-ErrorType", r->error_type,
		    sizeof(r->error_type));
	take_header(ptr, n, "Content-Type", r->content_type,
		    sizeof(r->content_type));
	take_header(ptr, n, MTURK_PUSH_HEADER, r->push, sizeof(r->push));
	return n;
}

static bool
is_secret_header(const char *line, size_t len)
{
	static const char *const names[] = {"authorization:",
					    "x-amz-security-token:"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n = strlen(names[i]);
		if (len >= n && strncasecmp(line, names[i], n) == 0)
			return true;
	}
	return false;
}

/*
 * Trace lines go through log_debug().  Header blocks are split into lines so
 * that the credentials' headers can be replaced; bodies are only counted,
 * since a question page or an answer has no place in a log.
 */
static int
debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	const char *dir;
	char *p = data, *end = data + size;

	(void)h;
	(void)userp;
	switch (type) {
	case CURLINFO_TEXT:
		dir = "*";
		break;
	case CURLINFO_HEADER_OUT:
		dir = ">";
		break;
	case CURLINFO_HEADER_IN:
		dir = "<";
		break;
	case CURLINFO_DATA_OUT:
		log_debug("http > [%zu bytes of body]", size);
		return 0;
	case CURLINFO_DATA_IN:
		log_debug("http < [%zu bytes of body]", size);
		return 0;
	default:
		return 0;
	}
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		size_t shown = len;
		if (shown > 0 && p[shown - 1] == '\r')
			shown--;
		if (shown > 0) {
			if (is_secret_header(p, shown)) {
				const char *colon = memchr(p, ':', shown);
				log_debug("http %s %.*s: [redacted]", dir,
					  (int)(colon - p), p);
			} else {
				log_debug("http %s %.*s", dir,
					  (int)(shown > 1000 ? 1000 : shown),
					  p);
			}
		}
		p += len + 1;
	}
	return 0;
}

int
http_client_new(const struct http_options *opt, struct http_client **out,
		struct errbuf *eb)
{
	struct http_client *c = NULL;

	*out = NULL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(eb, IF_ERUNTIME, "libcurl: global init failed");
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		curl_global_cleanup();
		return err_set(eb, IF_ERUNTIME, "http client: out of memory");
	}
	if (opt != NULL)
		c->opt = *opt;
	if (c->opt.connect_timeout_ms <= 0)
		c->opt.connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
	if (c->opt.timeout_ms <= 0)
		c->opt.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (c->opt.max_body == 0)
		c->opt.max_body = DEFAULT_MAX_BODY;
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		http_client_free(c);
		return err_set(eb, IF_ERUNTIME,
			       "libcurl: cannot create a handle");
	}
	*out = c;
	return IF_OK;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	free(c);
	curl_global_cleanup();
}

/*
 * curl copies each header line; the copies of the session token and the
 * signature are wiped before the memory goes back to the allocator.
 */
static void
slist_free_secure(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		if (p->data != NULL)
			secure_zero(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

/* Sets the options every exchange needs, whatever the last one did. */
static CURLcode
setup(struct http_client *c, const struct http_request *req, bool http_ok,
      struct curl_slist *hdrs, struct xfer *x)
{
	CURL *h = c->curl;
	const char *proto = http_ok ? "http" : "https";
	bool bad = false;

	curl_easy_reset(h);
	bad |= curl_easy_setopt(h, CURLOPT_URL, req->url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, proto) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, proto) !=
	       CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
	if (c->opt.ca_file != NULL) {
		/* That file alone: the system's directory is not consulted. */
		bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->opt.ca_file) !=
		       CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_CAPATH, NULL) != CURLE_OK;
	}
	bad |= curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
				c->opt.connect_timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->opt.timeout_ms) !=
	       CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT,
				"intofocus/" INTOFOCUS_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) !=
	       CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK;
	/*
	 * An eliding transfer keeps at most max_body but may read more: an
	 * answer of one huge string, up to ELIDING_READ_FACTOR times the cap.
	 */
	if (c->opt.max_body <= (size_t)LONG_MAX / ELIDING_READ_FACTOR)
		bad |= curl_easy_setopt(
			       h, CURLOPT_MAXFILESIZE_LARGE,
			       (curl_off_t)c->opt.max_body *
				       (x->elide_over > 0 ? ELIDING_READ_FACTOR
							  : 1)) != CURLE_OK;
	if (c->opt.trace) {
		bad |= curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, debug_cb) !=
		       CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_VERBOSE, 1L) != CURLE_OK;
	}
	if (strcmp(req->method, "GET") == 0) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) != CURLE_OK;
	} else {
		/* POSTFIELDS sends the bytes for PUT too, with no chunking. */
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
					(curl_off_t)req->body_len) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS,
					req->body != NULL ? req->body : "") !=
		       CURLE_OK;
		if (strcmp(req->method, "POST") != 0)
			bad |= curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
						req->method) != CURLE_OK;
	}
	return bad ? CURLE_BAD_FUNCTION_ARGUMENT : CURLE_OK;
}

/* The most sockets of one transfer that a wakeable wait watches. */
#define WAKE_FDS_MAX 8

/*
 * The transfer on a multi handle, waiting in ppoll() under the mask wake,
 * so that a signal it lets through ends the wait (*woken) at once.
 */
static CURLcode
perform_wakeable(struct http_client *c, const sigset_t *wake, bool *woken)
{
	CURLcode result = CURLE_OK;
	int running = 1;

	if (c->multi == NULL && (c->multi = curl_multi_init()) == NULL)
		return CURLE_OUT_OF_MEMORY;
	if (curl_multi_add_handle(c->multi, c->curl) != CURLM_OK)
		return CURLE_FAILED_INIT;
	for (;;) {
		struct pollfd pfd[WAKE_FDS_MAX];
		fd_set rd, wr, ex;
		struct timespec ts;
		long timeout = -1;
		int maxfd = -1;
		nfds_t n = 0;

		if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
			result = CURLE_SEND_ERROR;
			break;
		}
		if (running == 0)
			break;
		FD_ZERO(&rd);
		FD_ZERO(&wr);
		FD_ZERO(&ex);
		if (curl_multi_fdset(c->multi, &rd, &wr, &ex, &maxfd) !=
			    CURLM_OK ||
		    curl_multi_timeout(c->multi, &timeout) != CURLM_OK) {
			result = CURLE_SEND_ERROR;
			break;
		}
		for (int fd = 0; fd <= maxfd && n < WAKE_FDS_MAX; fd++) {
			short ev = (short)((FD_ISSET(fd, &rd) ? POLLIN : 0) |
					   (FD_ISSET(fd, &wr) ? POLLOUT : 0) |
					   (FD_ISSET(fd, &ex) ? POLLPRI : 0));

			if (ev != 0)
				pfd[n++] = (struct pollfd){fd, ev, 0};
		}
		/* Without a socket yet (resolving), look again soon. */
		if (timeout < 0 || timeout > 1000)
			timeout = 1000;
		if (n == 0 && timeout > 50)
			timeout = 50;
		ts.tv_sec = (time_t)(timeout / 1000);
		ts.tv_nsec = (timeout % 1000) * 1000000L;
		if (ppoll(pfd, n, &ts, wake) < 0 && errno == EINTR) {
			*woken = true;
			result = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
	}
	if (running == 0) {
		CURLMsg *msg;
		int left = 0;

		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE &&
			    msg->easy_handle == c->curl)
				result = msg->data.result;
	}
	curl_multi_remove_handle(c->multi, c->curl);
	return result;
}

static int perform(struct http_client *c, const struct http_request *req,
		   struct http_response *resp, const sigset_t *wake,
		   bool *woken, struct errbuf *eb);

int
http_perform(struct http_client *c, const struct http_request *req,
	     struct http_response *resp, struct errbuf *eb)
{
	return perform(c, req, resp, NULL, NULL, eb);
}

int
http_perform_wakeable(struct http_client *c, const struct http_request *req,
		      struct http_response *resp, const sigset_t *wake,
		      bool *woken, struct errbuf *eb)
{
	*woken = false;
	return perform(c, req, resp, wake, woken, eb);
}

static int
perform(struct http_client *c, const struct http_request *req,
	struct http_response *resp, const sigset_t *wake, bool *woken,
	struct errbuf *eb)
{
	struct curl_slist *hdrs = NULL, *tmp;
	struct xfer x = {c, resp, req->elide_strings_over, false, false, 0, 0};

	/* Within the cap, whatever the caller asked for. */
	if (x.elide_over > 0 && c->opt.max_body / 4 < x.elide_over)
		x.elide_over = c->opt.max_body / 4 > 0 ?
		    c->opt.max_body / 4 : 1;
	struct errbuf ueb = {0};
	CURLcode cc;
	long status = 0;
	int rc = IF_OK;
	bool http_ok;

	response_reset(resp);
	if (resp->body.limit == 0 || resp->body.limit > c->opt.max_body)
		resp->body.limit = c->opt.max_body;
	if (http_url_check(req->url, NULL, 0, &ueb) != IF_OK) {
		resp->curl_code = CURLE_UNSUPPORTED_PROTOCOL;
		return err_set(eb, ueb.code, "%s", ueb.msg);
	}
	http_ok = strncasecmp(req->url, "http:", 5) == 0;
	/* Without these curl would add headers the signature does not cover
	 * (a form content type) or stall on 100-continue. */
	for (const char *const *h = req->headers; h != NULL && *h != NULL;
	     h++) {
		tmp = curl_slist_append(hdrs, *h);
		if (tmp == NULL)
			goto nomem;
		hdrs = tmp;
	}
	tmp = curl_slist_append(hdrs, "Expect:");
	if (tmp == NULL)
		goto nomem;
	hdrs = tmp;
	c->errbuf[0] = '\0';
	c->body_too_big = false;
	cc = setup(c, req, http_ok, hdrs, &x);
	if (cc == CURLE_OK)
		cc = wake != NULL ? perform_wakeable(c, wake, woken)
				  : curl_easy_perform(c->curl);
	resp->curl_code = (int)cc;
	if (cc != CURLE_OK) {
		if (c->body_too_big || cc == CURLE_FILESIZE_EXCEEDED) {
			resp->curl_code = CURLE_WRITE_ERROR;
			resp->body_over_cap = true;
			rc = err_set(eb, IF_ERUNTIME,
				     "%s %s: response larger than the %zu-byte "
				     "limit", req->method, req->url,
				     c->opt.max_body);
		} else {
			struct mturk_error me;
			mturk_error_from_curl(&me, (int)cc, c->errbuf);
			rc = err_set(eb, me.retryable ? IF_ETEMP : IF_ERUNTIME,
				     "%s %s: %s", req->method, req->url,
				     c->errbuf[0] != '\0'
					     ? c->errbuf
					     : curl_easy_strerror(cc));
		}
		goto cleanup;
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	resp->status = status;
cleanup:
	slist_free_secure(hdrs);
	return rc;
nomem:
	slist_free_secure(hdrs);
	return err_set(eb, IF_ERUNTIME, "%s %s: out of memory", req->method,
		       req->url);
}

int64_t
http_date_parse(const char *date)
{
	time_t t;

	if (date == NULL || *date == '\0')
		return -1;
	t = curl_getdate(date, NULL);
	return t == (time_t)-1 ? -1 : (int64_t)t;
}

/* ---- several exchanges at once (issue 19) -------------------------------- */

struct http_pool {
	CURLM *multi; /* one connection cache for all */
	struct http_client **clients;
	size_t n;
};

int
http_pool_new(const struct http_options *opt, size_t n,
	      struct http_pool **out, struct errbuf *eb)
{
	struct http_pool *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (p == NULL || n == 0 ||
	    (p->clients = calloc(n, sizeof(*p->clients))) == NULL ||
	    (p->multi = curl_multi_init()) == NULL) {
		http_pool_free(p);
		return err_set(eb, IF_ERUNTIME, "http pool: out of memory");
	}
	p->n = n;
	for (size_t i = 0; i < n; i++)
		if (http_client_new(opt, &p->clients[i], eb) != IF_OK) {
			http_pool_free(p);
			return eb->code;
		}
	/* As many connections to the one endpoint as transfers at once. */
	curl_multi_setopt(p->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)n);
	*out = p;
	return IF_OK;
}

void
http_pool_free(struct http_pool *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; p->clients != NULL && i < p->n; i++)
		http_client_free(p->clients[i]);
	free(p->clients);
	if (p->multi != NULL)
		curl_multi_cleanup(p->multi);
	free(p);
}

size_t
http_pool_size(const struct http_pool *p)
{
	return p->n;
}

/* One exchange of a pool's run: its handle, headers and transfer. */
struct pool_slot {
	struct http_client *c;
	struct curl_slist *hdrs;
	struct xfer x;
	size_t item; /* index into the run's arrays */
	bool busy;
};

/* Readies req on slot's handle; IF_OK, or rcs' error for the item. */
static int
pool_start(struct http_pool *p, struct pool_slot *slot,
	   const struct http_request *req, struct http_response *resp,
	   struct errbuf *eb)
{
	struct errbuf ueb = {0};
	struct curl_slist *tmp;
	struct http_client *c = slot->c;

	response_reset(resp);
	if (resp->body.limit == 0 || resp->body.limit > c->opt.max_body)
		resp->body.limit = c->opt.max_body;
	if (http_url_check(req->url, NULL, 0, &ueb) != IF_OK) {
		resp->curl_code = CURLE_UNSUPPORTED_PROTOCOL;
		return err_set(eb, ueb.code, "%s", ueb.msg);
	}
	slot->hdrs = NULL;
	for (const char *const *h = req->headers; h != NULL && *h != NULL;
	     h++) {
		if ((tmp = curl_slist_append(slot->hdrs, *h)) == NULL)
			goto nomem;
		slot->hdrs = tmp;
	}
	if ((tmp = curl_slist_append(slot->hdrs, "Expect:")) == NULL)
		goto nomem;
	slot->hdrs = tmp;
	slot->x = (struct xfer){c, resp, req->elide_strings_over, false,
				false, 0, 0};
	c->errbuf[0] = '\0';
	c->body_too_big = false;
	if (setup(c, req, strncasecmp(req->url, "http:", 5) == 0, slot->hdrs,
		  &slot->x) != CURLE_OK ||
	    curl_multi_add_handle(p->multi, c->curl) != CURLM_OK) {
		slist_free_secure(slot->hdrs);
		slot->hdrs = NULL;
		resp->curl_code = CURLE_FAILED_INIT;
		return err_set(eb, IF_ERUNTIME, "%s %s: cannot start",
			       req->method, req->url);
	}
	slot->busy = true;
	return IF_OK;
nomem:
	slist_free_secure(slot->hdrs);
	slot->hdrs = NULL;
	return err_set(eb, IF_ERUNTIME, "%s %s: out of memory", req->method,
		       req->url);
}

/* A finished transfer into its response and status, as http_perform. */
static int
pool_finish(struct http_pool *p, struct pool_slot *slot, CURLcode cc,
	    const struct http_request *req, struct http_response *resp,
	    struct errbuf *eb)
{
	struct http_client *c = slot->c;
	long status = 0;
	int rc = IF_OK;

	curl_multi_remove_handle(p->multi, c->curl);
	slist_free_secure(slot->hdrs);
	slot->hdrs = NULL;
	slot->busy = false;
	resp->curl_code = (int)cc;
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
		resp->status = status;
		return IF_OK;
	}
	if (c->body_too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		resp->curl_code = CURLE_WRITE_ERROR;
		resp->body_over_cap = true;
		rc = err_set(eb, IF_ERUNTIME,
			     "%s %s: response larger than the %zu-byte limit",
			     req->method, req->url, c->opt.max_body);
	} else {
		struct mturk_error me;

		mturk_error_from_curl(&me, (int)cc, c->errbuf);
		rc = err_set(eb, me.retryable ? IF_ETEMP : IF_ERUNTIME,
			     "%s %s: %s", req->method, req->url,
			     c->errbuf[0] != '\0' ? c->errbuf
						  : curl_easy_strerror(cc));
	}
	return rc;
}

int
http_pool_perform(struct http_pool *p, const struct http_request *reqs,
		  struct http_response *resps, int *rcs, struct errbuf *ebs,
		  size_t n, void (*before_start)(void *arg), void *arg)
{
	struct pool_slot *slots = calloc(p->n, sizeof(*slots));
	size_t next = 0, running = 0;
	int still = 0;

	if (slots == NULL)
		return IF_ERUNTIME;
	for (size_t k = 0; k < p->n; k++)
		slots[k].c = p->clients[k];
	while (next < n || running > 0) {
		CURLMsg *msg;
		int left = 0;

		/* Fill the free slots, each start paced by the caller. */
		for (size_t k = 0; k < p->n && next < n; k++) {
			if (slots[k].busy)
				continue;
			if (before_start != NULL)
				before_start(arg);
			slots[k].item = next;
			rcs[next] = pool_start(p, &slots[k], &reqs[next],
					       &resps[next], &ebs[next]);
			if (rcs[next] == IF_OK)
				running++;
			next++;
		}
		if (running == 0)
			continue;
		if (curl_multi_perform(p->multi, &still) != CURLM_OK)
			break;
		/*
		 * Wait only for transfers still under way: when this perform
		 * finished them all, nothing would wake the poll before its
		 * timeout, and every such round would cost a second.
		 */
		if (still > 0) {
			if (curl_multi_poll(p->multi, NULL, 0, 1000, NULL) !=
			    CURLM_OK)
				break;
			curl_multi_perform(p->multi, &still);
		}
		while ((msg = curl_multi_info_read(p->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			for (size_t k = 0; k < p->n; k++) {
				size_t i = slots[k].item;

				if (!slots[k].busy ||
				    slots[k].c->curl != msg->easy_handle)
					continue;
				rcs[i] = pool_finish(p, &slots[k],
						     msg->data.result,
						     &reqs[i], &resps[i],
						     &ebs[i]);
				running--;
				break;
			}
		}
	}
	/* Only a broken multi handle leaves transfers: they fail. */
	for (size_t k = 0; k < p->n; k++)
		if (slots[k].busy) {
			size_t i = slots[k].item;

			rcs[i] = pool_finish(p, &slots[k], CURLE_SEND_ERROR,
					     &reqs[i], &resps[i], &ebs[i]);
		}
	free(slots);
	return IF_OK;
}
