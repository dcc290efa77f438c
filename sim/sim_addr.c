/*
 * sim/sim_addr.c - client addresses and counts per address (see
 * sim_addr.h).  The table is a dense array searched linearly: it holds at
 * most one entry per open connection, a few thousand, and a scan of that
 * costs less than the accept it guards.
 */
#include "sim/sim_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ::ffff:0:0/96, where IPv4 addresses live in IPv6's form. */
static const unsigned char v4_mapped[12] = {[10] = 0xff, [11] = 0xff};

struct addr_count {
	struct sim_addr addr;
	unsigned n;
};

struct sim_addr_counts {
	pthread_mutex_t mu;
	struct addr_count *v;
	size_t n, cap;
};

static void
addr_v4(const void *in4, struct sim_addr *out)
{
	memset(out->b, 0, 10);
	out->b[10] = 0xff;
	out->b[11] = 0xff;
	memcpy(out->b + 12, in4, 4);
}

int
sim_addr_from_sockaddr(const struct sockaddr *sa, struct sim_addr *out)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		addr_v4(&((const struct sockaddr_in *)(const void *)sa)
				 ->sin_addr,
			out);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(out->b,
		       &((const struct sockaddr_in6 *)(const void *)sa)
				->sin6_addr,
		       16);
		return 0;
	}
	return -1;
}

int
sim_addr_parse(const char *text, struct sim_addr *out)
{
	struct in_addr a4;

	if (text == NULL)
		return -1;
	if (inet_pton(AF_INET, text, &a4) == 1) {
		addr_v4(&a4, out);
		return 0;
	}
	return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -1;
}

/* The entry s[0..n) without the blanks around it, as a C string. */
static int
parse_trimmed(const char *s, size_t n, struct sim_addr *out)
{
	char tmp[64];

	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	return sim_addr_parse(tmp, out);
}

int
sim_addr_from_proxy(const char *real_ip, const char *forwarded_for,
		    struct sim_addr *out)
{
	const char *last;

	if (real_ip != NULL)
		return parse_trimmed(real_ip, strlen(real_ip), out);
	if (forwarded_for == NULL)
		return -1;
	last = strrchr(forwarded_for, ',');
	last = last != NULL ? last + 1 : forwarded_for;
	return parse_trimmed(last, strlen(last), out);
}

bool
sim_addr_is_loopback(const struct sim_addr *a)
{
	static const unsigned char v6[16] = {[15] = 1};

	return memcmp(a->b, v6, 16) == 0 ||
	       (memcmp(a->b, v4_mapped, 12) == 0 && a->b[12] == 127);
}

void
sim_addr_block(const struct sim_addr *a, struct sim_addr *out)
{
	*out = *a;
	if (memcmp(a->b, v4_mapped, 12) != 0)
		memset(out->b + 8, 0, 8);
}

struct sim_addr_counts *
sim_addr_counts_new(size_t capacity)
{
	struct sim_addr_counts *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->cap = capacity > 0 ? capacity : 1;
	c->v = calloc(c->cap, sizeof(*c->v));
	if (c->v == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c->v);
		free(c);
		return NULL;
	}
	return c;
}

void
sim_addr_counts_free(struct sim_addr_counts *c)
{
	if (c == NULL)
		return;
	pthread_mutex_destroy(&c->mu);
	free(c->v);
	free(c);
}

/* The index of a's entry, or c->n; the lock held. */
static size_t
find(const struct sim_addr_counts *c, const struct sim_addr *a)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (memcmp(c->v[i].addr.b, a->b, 16) == 0)
			break;
	return i;
}

unsigned
sim_addr_counts_get(struct sim_addr_counts *c, const struct sim_addr *a)
{
	unsigned n;
	size_t i;

	pthread_mutex_lock(&c->mu);
	i = find(c, a);
	n = i < c->n ? c->v[i].n : 0;
	pthread_mutex_unlock(&c->mu);
	return n;
}

bool
sim_addr_counts_take(struct sim_addr_counts *c, const struct sim_addr *a,
		     unsigned limit)
{
	bool ok = false;
	size_t i;

	pthread_mutex_lock(&c->mu);
	i = find(c, a);
	if (i < c->n) {
		if (limit == 0 || c->v[i].n < limit) {
			c->v[i].n++;
			ok = true;
		}
	} else if (c->n < c->cap) {
		c->v[c->n].addr = *a;
		c->v[c->n].n = 1;
		c->n++;
		ok = true;
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void
sim_addr_counts_give(struct sim_addr_counts *c, const struct sim_addr *a)
{
	size_t i;

	pthread_mutex_lock(&c->mu);
	i = find(c, a);
	if (i < c->n && --c->v[i].n == 0)
		c->v[i] = c->v[--c->n]; /* the last one fills the gap */
	pthread_mutex_unlock(&c->mu);
}
