/*
 * sim/sim_addr.h - private to sim/: client addresses and how many
 * connections or requests each one holds, for the task server's limits
 * per address ("intofocus serve", issue 15).
 *
 * Behind a reverse proxy on the same machine every participant arrives
 * from the proxy's one address; the client's own address then comes from
 * the proxy's X-Real-IP (or the last X-Forwarded-For entry), trusted only
 * from the configured proxy address (sim_server.c).  Either way an IPv6
 * client counts by its /64 (sim_addr_block).
 */
#ifndef INTOFOCUS_SIM_ADDR_H
#define INTOFOCUS_SIM_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* An IPv4 or IPv6 address; IPv4 as ::ffff:a.b.c.d, so each has one form. */
struct sim_addr {
	unsigned char b[16];
};

/* From a socket address (AF_INET or AF_INET6); -1 for another family. */
int sim_addr_from_sockaddr(const struct sockaddr *sa, struct sim_addr *out);
/* From an address literal, "192.0.2.1" or "2001:db8::1"; -1 if not one. */
int sim_addr_parse(const char *text, struct sim_addr *out);
/*
 * The client a proxy names: X-Real-IP when given, else the last entry of
 * X-Forwarded-For (the address the proxy itself saw; earlier entries are
 * the client's own claims).  -1 when neither holds an address literal.
 */
int sim_addr_from_proxy(const char *real_ip, const char *forwarded_for,
			struct sim_addr *out);
bool sim_addr_is_loopback(const struct sim_addr *a);
/*
 * The block of addresses one client holds, which the limits count: an
 * IPv4 address (also written as IPv4-mapped IPv6) alone, an IPv6
 * address's /64 (its lower 64 bits zero).  An IPv6 site is given a /64 at
 * least and picks addresses in it at will, so counting exact IPv6
 * addresses would give one client 2^64 allowances.
 */
void sim_addr_block(const struct sim_addr *a, struct sim_addr *out);

/*
 * How many connections or requests each address holds, for at most
 * capacity addresses at once.  Thread-safe.
 */
struct sim_addr_counts;

struct sim_addr_counts *sim_addr_counts_new(size_t capacity);
void sim_addr_counts_free(struct sim_addr_counts *c);
/* What a holds now. */
unsigned sim_addr_counts_get(struct sim_addr_counts *c,
			     const struct sim_addr *a);
/*
 * One more for a if it holds fewer than limit (0: no limit) and the table
 * has room; false, changing nothing, otherwise.
 */
bool sim_addr_counts_take(struct sim_addr_counts *c, const struct sim_addr *a,
			  unsigned limit);
/* One less for a (which took one). */
void sim_addr_counts_give(struct sim_addr_counts *c, const struct sim_addr *a);

#endif /* INTOFOCUS_SIM_ADDR_H */
