/*
 * tests/support/fake_http.c - the loopback server of fake_http.h, after
 * curl's test servers: canned replies in, exact requests out.  Protocol
 * tests assert on what the client sent instead of on what a real service
 * would make of it.
 */
#define _DEFAULT_SOURCE
#include "tests/support/fake_http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define MAX_REPLY_HEADERS 8

struct reply {
	int status;
	bool close;
	char *body;
	char *headers[MAX_REPLY_HEADERS];
	size_t n_headers;
	struct reply *next;
};

struct fake_http {
	struct MHD_Daemon *d;
	int port;
	char url[64];
	pthread_mutex_t mu;
	struct reply *head, *tail;
	int default_status;
	char *default_body;
	struct fake_request **reqs;
	size_t n_reqs;
	size_t cap_reqs;
	size_t n_conns; /* TCP connections accepted */
};

/* Per-request accumulation between the handler's calls. */
struct pending {
	char *body;
	size_t len;
};

static char *
xstrdup(const char *s)
{
	char *p = strdup(s != NULL ? s : "");

	/* A test helper: running out of memory ends the test. */
	if (p == NULL)
		abort();
	return p;
}

static void
reply_free(struct reply *r)
{
	if (r == NULL)
		return;
	free(r->body);
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r);
}

static void
request_free(struct fake_request *r)
{
	if (r == NULL)
		return;
	free(r->path);
	free(r->query);
	free(r->body);
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r);
}

struct kv_ctx {
	struct fake_request *r;
	char *acc;
	size_t acc_len;
};

static enum MHD_Result
header_it(void *cls, enum MHD_ValueKind kind, const char *key,
	  const char *value)
{
	struct fake_request *r = cls;
	size_t n;
	char *line;

	(void)kind;
	if (r->n_headers >= FAKE_MAX_HEADERS)
		return MHD_YES;
	n = strlen(key) + strlen(value != NULL ? value : "") + 3;
	line = malloc(n);
	if (line == NULL)
		abort();
	snprintf(line, n, "%s: %s", key, value != NULL ? value : "");
	r->headers[r->n_headers++] = line;
	return MHD_YES;
}

static enum MHD_Result
query_it(void *cls, enum MHD_ValueKind kind, const char *key,
	 const char *value)
{
	struct kv_ctx *k = cls;
	size_t add = strlen(key) + strlen(value != NULL ? value : "") + 2;
	char *p = realloc(k->acc, k->acc_len + add + 1);

	(void)kind;
	if (p == NULL)
		abort();
	k->acc = p;
	k->acc_len += (size_t)snprintf(p + k->acc_len, add + 1, "%s%s=%s",
				       k->acc_len > 0 ? "&" : "", key,
				       value != NULL ? value : "");
	return MHD_YES;
}

static void
record(struct fake_http *f, struct MHD_Connection *conn, const char *url,
       const char *method, struct pending *p)
{
	struct fake_request *r = calloc(1, sizeof(*r));
	struct kv_ctx k = {0};

	if (r == NULL)
		abort();
	snprintf(r->method, sizeof(r->method), "%s", method);
	r->path = xstrdup(url);
	k.r = r;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, query_it, &k);
	r->query = k.acc != NULL ? k.acc : xstrdup("");
	MHD_get_connection_values(conn, MHD_HEADER_KIND, header_it, r);
	r->body = p->body != NULL ? p->body : xstrdup("");
	r->body_len = p->len;
	p->body = NULL;
	pthread_mutex_lock(&f->mu);
	if (f->n_reqs == f->cap_reqs) {
		size_t cap = f->cap_reqs ? 2 * f->cap_reqs : 16;
		struct fake_request **q = realloc(f->reqs, cap * sizeof(*q));
		if (q == NULL)
			abort();
		f->reqs = q;
		f->cap_reqs = cap;
	}
	f->reqs[f->n_reqs++] = r;
	pthread_mutex_unlock(&f->mu);
}

static struct reply *
next_reply(struct fake_http *f)
{
	struct reply *r;

	pthread_mutex_lock(&f->mu);
	r = f->head;
	if (r != NULL) {
		f->head = r->next;
		if (f->head == NULL)
			f->tail = NULL;
	} else {
		r = calloc(1, sizeof(*r));
		if (r == NULL)
			abort();
		r->status = f->default_status;
		r->body = xstrdup(f->default_body);
	}
	pthread_mutex_unlock(&f->mu);
	return r;
}

static enum MHD_Result
handler(void *cls, struct MHD_Connection *conn, const char *url,
	const char *method, const char *version, const char *upload_data,
	size_t *upload_data_size, void **con_cls)
{
	struct fake_http *f = cls;
	struct pending *p = *con_cls;
	struct MHD_Response *resp;
	struct reply *r;
	enum MHD_Result ret;
	bool has_ct = false;

	(void)version;
	if (p == NULL) {
		p = calloc(1, sizeof(*p));
		if (p == NULL)
			abort();
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		char *b = realloc(p->body, p->len + *upload_data_size + 1);
		if (b == NULL)
			abort();
		memcpy(b + p->len, upload_data, *upload_data_size);
		p->len += *upload_data_size;
		b[p->len] = '\0';
		p->body = b;
		*upload_data_size = 0;
		return MHD_YES;
	}
	record(f, conn, url, method, p);
	r = next_reply(f);
	if (r->close) {
		reply_free(r);
		return MHD_NO; /* MHD drops the connection unanswered */
	}
	resp = MHD_create_response_from_buffer(strlen(r->body), r->body,
					       MHD_RESPMEM_MUST_COPY);
	for (size_t i = 0; i < r->n_headers; i++) {
		char *colon = strchr(r->headers[i], ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		if (strcasecmp(r->headers[i], "Content-Type") == 0)
			has_ct = true;
		MHD_add_response_header(resp, r->headers[i],
					colon + 1 + strspn(colon + 1, " "));
		*colon = ':';
	}
	if (!has_ct)
		MHD_add_response_header(resp, "Content-Type",
					"application/x-amz-json-1.1");
	ret = MHD_queue_response(conn, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	reply_free(r);
	return ret;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	  enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (p != NULL) {
		free(p->body);
		free(p);
		*con_cls = NULL;
	}
}

static void
conn_cb(void *cls, struct MHD_Connection *conn, void **socket_ctx,
	enum MHD_ConnectionNotificationCode toe)
{
	struct fake_http *f = cls;

	(void)conn;
	(void)socket_ctx;
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	pthread_mutex_lock(&f->mu);
	f->n_conns++;
	pthread_mutex_unlock(&f->mu);
}

struct fake_http *
fake_http_start(void)
{
	struct fake_http *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;

	if (f == NULL)
		return NULL;
	if (pthread_mutex_init(&f->mu, NULL) != 0) {
		free(f);
		return NULL;
	}
	f->default_status = 500;
	f->default_body = xstrdup("{}");
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, handler, f, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_NOTIFY_CONNECTION, conn_cb, f,
				MHD_OPTION_END);
	if (f->d == NULL) {
		fake_http_stop(f);
		return NULL;
	}
	info = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL || info->port == 0) {
		fake_http_stop(f);
		return NULL;
	}
	f->port = info->port;
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	return f;
}

void
fake_http_stop(struct fake_http *f)
{
	if (f == NULL)
		return;
	if (f->d != NULL)
		MHD_stop_daemon(f->d);
	fake_http_clear(f);
	free(f->reqs);
	free(f->default_body);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

int
fake_http_port(const struct fake_http *f)
{
	return f->port;
}

const char *
fake_http_url(const struct fake_http *f)
{
	return f->url;
}

static void
enqueue(struct fake_http *f, struct reply *r)
{
	pthread_mutex_lock(&f->mu);
	if (f->tail != NULL)
		f->tail->next = r;
	else
		f->head = r;
	f->tail = r;
	pthread_mutex_unlock(&f->mu);
}

void
fake_http_push(struct fake_http *f, int status, const char *body, ...)
{
	struct reply *r = calloc(1, sizeof(*r));
	const char *h;
	va_list ap;

	if (r == NULL)
		abort();
	r->status = status;
	r->body = xstrdup(body);
	va_start(ap, body);
	while ((h = va_arg(ap, const char *)) != NULL)
		if (r->n_headers < MAX_REPLY_HEADERS)
			r->headers[r->n_headers++] = xstrdup(h);
	va_end(ap);
	enqueue(f, r);
}

void
fake_http_push_close(struct fake_http *f)
{
	struct reply *r = calloc(1, sizeof(*r));

	if (r == NULL)
		abort();
	r->close = true;
	r->body = xstrdup("");
	enqueue(f, r);
}

void
fake_http_set_default(struct fake_http *f, int status, const char *body)
{
	pthread_mutex_lock(&f->mu);
	free(f->default_body);
	f->default_body = xstrdup(body);
	f->default_status = status;
	pthread_mutex_unlock(&f->mu);
}

size_t
fake_http_count(struct fake_http *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_reqs;
	pthread_mutex_unlock(&f->mu);
	return n;
}

size_t
fake_http_connections(struct fake_http *f)
{
	size_t n;

	pthread_mutex_lock(&f->mu);
	n = f->n_conns;
	pthread_mutex_unlock(&f->mu);
	return n;
}

const struct fake_request *
fake_http_request(struct fake_http *f, size_t i)
{
	const struct fake_request *r = NULL;

	pthread_mutex_lock(&f->mu);
	if (i < f->n_reqs)
		r = f->reqs[i];
	pthread_mutex_unlock(&f->mu);
	return r;
}

void
fake_http_clear(struct fake_http *f)
{
	struct reply *r, *next;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < f->n_reqs; i++)
		request_free(f->reqs[i]);
	f->n_reqs = 0;
	for (r = f->head; r != NULL; r = next) {
		next = r->next;
		reply_free(r);
	}
	f->head = f->tail = NULL;
	pthread_mutex_unlock(&f->mu);
}

const char *
fake_request_header(const struct fake_request *r, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < r->n_headers; i++)
		if (strncasecmp(r->headers[i], name, n) == 0 &&
		    r->headers[i][n] == ':')
			return r->headers[i] + n + 2;
	return NULL;
}
