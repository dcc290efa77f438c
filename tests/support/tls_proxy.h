/*
 * tests/support/tls_proxy.h - TLS in front of a loopback HTTP server, for
 * the tests of a client's CA file (mturk.ca_file).
 *
 * tls_proxy_start() makes, in process with OpenSSL, a test CA, a
 * certificate that CA signs for 127.0.0.1, and another CA that signs
 * nothing; it writes the two CAs as PEM files and listens on 127.0.0.1
 * (a port the kernel picks).  Each connection is a TLS handshake with the
 * certificate, then the bytes go on, decrypted, to the backend's port and
 * back.  The counts say what clients made of the certificate: a client
 * that trusts the test CA completes the handshake; one that trusts the
 * other CA refuses it.
 */
#ifndef INTOFOCUS_TLS_PROXY_H
#define INTOFOCUS_TLS_PROXY_H

#include <stddef.h>

struct tls_proxy;

/*
 * Writes dir/ca.pem (the CA that signed the certificate) and
 * dir/other-ca.pem, and starts the proxy to 127.0.0.1:backend_port.
 * NULL with a line on stderr when something cannot be made.
 */
struct tls_proxy *tls_proxy_start(const char *dir, unsigned backend_port);
/*
 * Ends every connection, waits for their threads, then gives the counts
 * (either pointer may be NULL) and frees the proxy (NULL: a no-op, counts
 * 0): the handshakes completed, and those that failed.  Counts are read
 * here only: a client may see a refused handshake before the proxy's
 * thread does.
 */
void tls_proxy_stop(struct tls_proxy *p, size_t *handshakes,
		    size_t *refused);
unsigned tls_proxy_port(const struct tls_proxy *p);

#endif /* INTOFOCUS_TLS_PROXY_H */
