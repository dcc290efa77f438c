/*
 * tests/support/tls_proxy.c - see tls_proxy.h.
 *
 * One thread accepts; each connection has a thread of its own that does
 * the handshake (blocking), then passes bytes both ways with poll(2) on
 * a non-blocking TLS socket and a blocking backend socket.  A pipe wakes
 * every thread at stop; the connections' sockets are shut down too, so
 * that no thread waits for a client that will not speak again.
 */
#include "tests/support/tls_proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

struct conn {
	struct tls_proxy *p;
	pthread_t thread;
	int fd;
	struct conn *next;
};

struct tls_proxy {
	SSL_CTX *ctx;
	int listen_fd;
	int wake[2]; /* written once at stop: readable for every thread */
	unsigned port, backend;
	pthread_t acceptor;
	bool accepting;
	pthread_mutex_t mu;
	struct conn *conns;
	size_t handshakes, refused;
};

/* ---- the certificates ---------------------------------------------------- */

static int
add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);
	int ok;

	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

/*
 * A certificate for key named cn, signed by issuer (issuer_key), or by
 * itself when issuer is NULL: a CA, or a server's for 127.0.0.1.
 */
static X509 *
cert_new(const char *cn, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key,
	 long serial)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509V3_CTX v3;
	bool ca = issuer == NULL;

	if (x == NULL)
		return NULL;
	name = X509_get_subject_name(x);
	if (X509_set_version(x, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), serial) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 2 * 86400L) == NULL ||
	    X509_set_pubkey(x, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, ca ? name
					: X509_get_subject_name(issuer)) != 1)
		goto fail;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, ca ? x : issuer, x, NULL, NULL, 0);
	if (add_ext(x, &v3, NID_subject_key_identifier, "hash") != 0 ||
	    add_ext(x, &v3, NID_authority_key_identifier, "keyid:always") !=
		    0)
		goto fail;
	if (ca ? add_ext(x, &v3, NID_basic_constraints, "critical,CA:TRUE") !=
			     0 ||
			 add_ext(x, &v3, NID_key_usage,
				 "critical,keyCertSign,cRLSign") != 0
	       : add_ext(x, &v3, NID_basic_constraints, "CA:FALSE") != 0 ||
			 add_ext(x, &v3, NID_subject_alt_name,
				 "IP:127.0.0.1") != 0 ||
			 add_ext(x, &v3, NID_ext_key_usage, "serverAuth") !=
				 0)
		goto fail;
	if (X509_sign(x, ca ? key : issuer_key, EVP_sha256()) <= 0)
		goto fail;
	return x;
fail:
	X509_free(x);
	return NULL;
}

static int
write_pem(const char *dir, const char *file, X509 *x)
{
	char path[1024];
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		return -1;
	}
	ok = PEM_write_X509(f, x);
	if (fclose(f) != 0 || ok != 1) {
		fprintf(stderr, "%s: cannot write\n", path);
		return -1;
	}
	return 0;
}

/*
 * The server's context with a certificate the test CA signs; the two
 * CAs' certificates in dir.
 */
static SSL_CTX *
ctx_new(const char *dir)
{
	EVP_PKEY *ca_key = EVP_EC_gen("P-256");
	EVP_PKEY *other_key = EVP_EC_gen("P-256");
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *ca = NULL, *other = NULL, *cert = NULL;
	SSL_CTX *ctx = NULL;

	if (ca_key == NULL || other_key == NULL || key == NULL)
		goto done;
	ca = cert_new("IntoFocus test CA", ca_key, NULL, NULL, 1);
	other = cert_new("IntoFocus other CA", other_key, NULL, NULL, 2);
	if (ca == NULL || other == NULL)
		goto done;
	cert = cert_new("127.0.0.1", key, ca, ca_key, 3);
	if (cert == NULL || write_pem(dir, "ca.pem", ca) != 0 ||
	    write_pem(dir, "other-ca.pem", other) != 0)
		goto done;
	ctx = SSL_CTX_new(TLS_server_method());
	if (ctx != NULL && (SSL_CTX_use_certificate(ctx, cert) != 1 ||
			    SSL_CTX_use_PrivateKey(ctx, key) != 1)) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
done:
	if (ctx == NULL)
		ERR_print_errors_fp(stderr);
	X509_free(cert);
	X509_free(other);
	X509_free(ca);
	EVP_PKEY_free(key);
	EVP_PKEY_free(other_key);
	EVP_PKEY_free(ca_key);
	return ctx;
}

/* ---- the proxy ----------------------------------------------------------- */

static int
listen_loopback(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(fd, 64) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

static int
connect_backend(unsigned port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons((uint16_t)port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
send_all(int fd, const char *b, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Waits until fd can do what the TLS layer asked for, or stop. */
static int
tls_wait(struct tls_proxy *p, int fd, int err)
{
	struct pollfd pf[2] = {
		{.fd = fd,
		 .events = err == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN},
		{.fd = p->wake[0], .events = POLLIN},
	};

	if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
		return -1;
	if (poll(pf, 2, -1) < 0 && errno != EINTR)
		return -1;
	return pf[1].revents != 0 ? -1 : 0;
}

static int
tls_write_all(struct tls_proxy *p, SSL *s, int fd, const char *b, size_t n)
{
	while (n > 0) {
		int w = SSL_write(s, b, (int)n);

		if (w > 0) {
			b += w;
			n -= (size_t)w;
		} else if (tls_wait(p, fd, SSL_get_error(s, w)) != 0) {
			return -1;
		}
	}
	return 0;
}

/* Bytes both ways until either side closes, or stop. */
static void
pump(struct tls_proxy *p, SSL *s, int fd, int backend)
{
	char b[16384];

	for (;;) {
		struct pollfd pf[3] = {
			{.fd = fd, .events = POLLIN},
			{.fd = backend, .events = POLLIN},
			{.fd = p->wake[0], .events = POLLIN},
		};
		bool tls_ready = SSL_pending(s) > 0;

		if (!tls_ready && poll(pf, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[2].revents != 0)
			return;
		if (tls_ready || pf[0].revents != 0) {
			int r = SSL_read(s, b, sizeof(b));

			if (r > 0) {
				if (send_all(backend, b, (size_t)r) != 0)
					return;
			} else {
				int err = SSL_get_error(s, r);

				if (err != SSL_ERROR_WANT_READ &&
				    err != SSL_ERROR_WANT_WRITE)
					return;
			}
		}
		if (pf[1].revents != 0) {
			ssize_t r = recv(backend, b, sizeof(b), 0);

			if (r <= 0 ||
			    tls_write_all(p, s, fd, b, (size_t)r) != 0)
				return;
		}
	}
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;
	struct tls_proxy *p = c->p;
	SSL *s = SSL_new(p->ctx);
	int backend = -1, flags;
	bool shook;

	shook = s != NULL && SSL_set_fd(s, c->fd) == 1 && SSL_accept(s) == 1;
	pthread_mutex_lock(&p->mu);
	if (shook)
		p->handshakes++;
	else
		p->refused++;
	pthread_mutex_unlock(&p->mu);
	if (shook && (backend = connect_backend(p->backend)) >= 0 &&
	    (flags = fcntl(c->fd, F_GETFL)) >= 0 &&
	    fcntl(c->fd, F_SETFL, flags | O_NONBLOCK) == 0)
		pump(p, s, c->fd, backend);
	if (backend >= 0)
		close(backend);
	SSL_free(s);
	ERR_clear_error();
	return NULL;
}

static void *
accept_main(void *arg)
{
	struct tls_proxy *p = arg;

	for (;;) {
		struct pollfd pf[2] = {
			{.fd = p->listen_fd, .events = POLLIN},
			{.fd = p->wake[0], .events = POLLIN},
		};
		struct conn *c;
		int fd;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		if (pf[1].revents != 0)
			return NULL;
		fd = accept(p->listen_fd, NULL, NULL);
		if (fd < 0)
			continue;
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->p = p;
		c->fd = fd;
		pthread_mutex_lock(&p->mu);
		if (pthread_create(&c->thread, NULL, conn_main, c) != 0) {
			pthread_mutex_unlock(&p->mu);
			close(fd);
			free(c);
			continue;
		}
		c->next = p->conns;
		p->conns = c;
		pthread_mutex_unlock(&p->mu);
	}
}

struct tls_proxy *
tls_proxy_start(const char *dir, unsigned backend_port)
{
	struct tls_proxy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->listen_fd = -1;
	p->wake[0] = p->wake[1] = -1;
	p->backend = backend_port;
	pthread_mutex_init(&p->mu, NULL);
	if ((p->ctx = ctx_new(dir)) == NULL ||
	    (p->listen_fd = listen_loopback(&p->port)) < 0 ||
	    pipe(p->wake) != 0 ||
	    pthread_create(&p->acceptor, NULL, accept_main, p) != 0) {
		fprintf(stderr, "tls_proxy: cannot start\n");
		tls_proxy_stop(p, NULL, NULL);
		return NULL;
	}
	p->accepting = true;
	return p;
}

void
tls_proxy_stop(struct tls_proxy *p, size_t *handshakes, size_t *refused)
{
	struct conn *c, *next;

	if (handshakes != NULL)
		*handshakes = 0;
	if (refused != NULL)
		*refused = 0;
	if (p == NULL)
		return;
	if (p->wake[1] >= 0 && write(p->wake[1], "x", 1) != 1)
		perror("tls_proxy: wake");
	if (p->accepting)
		pthread_join(p->acceptor, NULL);
	/* The acceptor is gone: the list no longer grows. */
	for (c = p->conns; c != NULL; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	for (c = p->conns; c != NULL; c = next) {
		next = c->next;
		pthread_join(c->thread, NULL);
		close(c->fd);
		free(c);
	}
	if (handshakes != NULL)
		*handshakes = p->handshakes;
	if (refused != NULL)
		*refused = p->refused;
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->wake[0] >= 0)
		close(p->wake[0]);
	if (p->wake[1] >= 0)
		close(p->wake[1]);
	SSL_CTX_free(p->ctx);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

unsigned
tls_proxy_port(const struct tls_proxy *p)
{
	return p->port;
}
