/*
 * tests/support/fake_http.h - a loopback HTTP server for protocol tests.
 *
 * It binds 127.0.0.1 on a port the kernel picks, answers each request with
 * the next canned reply queued by the test (or the default reply when the
 * queue is empty), and records every request exactly as it arrived: method,
 * path, query, headers and body.  The test then asserts on the records.
 * Runs on libmicrohttpd's own thread; every function here is safe to call
 * while a client talks to it.
 */
#ifndef INTOFOCUS_FAKE_HTTP_H
#define INTOFOCUS_FAKE_HTTP_H

#include <stddef.h>

#define FAKE_MAX_HEADERS 64

struct fake_request {
	char method[16];
	char *path;  /* without the query */
	char *query; /* "k=v&k2=v2", decoded, in arrival order; "" if none */
	char *body;  /* NUL-terminated */
	size_t body_len;
	char *headers[FAKE_MAX_HEADERS]; /* "Name: value" as sent */
	size_t n_headers;
};

struct fake_http;

/* NULL when the server cannot start. */
struct fake_http *fake_http_start(void);
void fake_http_stop(struct fake_http *f);
int fake_http_port(const struct fake_http *f);
/* "http://127.0.0.1:PORT" (no slash at the end). */
const char *fake_http_url(const struct fake_http *f);

/*
 * Queues one reply.  headers are "Name: value" strings ending with NULL;
 * Content-Type defaults to application/x-amz-json-1.1.
 */
void fake_http_push(struct fake_http *f, int status, const char *body, ...)
	__attribute__((sentinel));
/* Queues a "reply" that closes the connection without answering. */
void fake_http_push_close(struct fake_http *f);
/* The reply used when the queue is empty [default: 500 "{}"]. */
void fake_http_set_default(struct fake_http *f, int status, const char *body);

size_t fake_http_count(struct fake_http *f);
/* TCP connections accepted so far (to see connection reuse). */
size_t fake_http_connections(struct fake_http *f);
/* Request i (0 = first); valid until fake_http_clear() or stop. */
const struct fake_request *fake_http_request(struct fake_http *f, size_t i);
/* Forgets the recorded requests and the queued replies. */
void fake_http_clear(struct fake_http *f);
/* The value of header name (any case) or NULL. */
const char *fake_request_header(const struct fake_request *r,
				const char *name);

#endif /* INTOFOCUS_FAKE_HTTP_H */
