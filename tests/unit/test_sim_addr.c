/*
 * Client addresses and counts per address for the task server's limits
 * (sim/sim_addr.c): one form per address, the proxy's headers read as the
 * proxy writes them (X-Real-IP first, else the last X-Forwarded-For entry,
 * never a client's own claims), counts that stop at their limit, and an
 * IPv6 client counted by its /64 (IPv4, also IPv4-mapped, by its address).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static bool
same(const struct sim_addr *a, const struct sim_addr *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

static void
test_parse_one_form(void **state)
{
	struct sim_addr a, b;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;

	(void)state;
	assert_int_equal(sim_addr_parse("192.0.2.7", &a), 0);
	assert_int_equal(sim_addr_parse("::ffff:192.0.2.7", &b), 0);
	assert_true(same(&a, &b));
	memset(&in4, 0, sizeof(in4));
	in4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.7", &in4.sin_addr);
	assert_int_equal(sim_addr_from_sockaddr((struct sockaddr *)&in4, &b),
			 0);
	assert_true(same(&a, &b));
	memset(&in6, 0, sizeof(in6));
	in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr);
	assert_int_equal(sim_addr_from_sockaddr((struct sockaddr *)&in6, &b),
			 0);
	assert_int_equal(sim_addr_parse("2001:db8::1", &a), 0);
	assert_true(same(&a, &b));
	assert_int_equal(sim_addr_parse("192.0.2.7:443", &a), -1);
	assert_int_equal(sim_addr_parse("example.org", &a), -1);
	assert_int_equal(sim_addr_parse("", &a), -1);
	assert_int_equal(sim_addr_parse(NULL, &a), -1);
}

static void
test_loopback(void **state)
{
	struct sim_addr a;

	(void)state;
	assert_int_equal(sim_addr_parse("127.0.0.2", &a), 0);
	assert_true(sim_addr_is_loopback(&a));
	assert_int_equal(sim_addr_parse("::1", &a), 0);
	assert_true(sim_addr_is_loopback(&a));
	assert_int_equal(sim_addr_parse("128.0.0.1", &a), 0);
	assert_false(sim_addr_is_loopback(&a));
	assert_int_equal(sim_addr_parse("::2", &a), 0);
	assert_false(sim_addr_is_loopback(&a));
}

static void
test_proxy_headers(void **state)
{
	struct sim_addr got, want;

	(void)state;
	/* X-Real-IP is the proxy's own: it wins over X-Forwarded-For. */
	assert_int_equal(sim_addr_from_proxy("198.51.100.1",
					     "203.0.113.9, 198.51.100.2",
					     &got),
			 0);
	sim_addr_parse("198.51.100.1", &want);
	assert_true(same(&got, &want));
	/* Else the last entry, which the proxy appended; not the first. */
	assert_int_equal(sim_addr_from_proxy(NULL,
					     "203.0.113.9,  198.51.100.2 ",
					     &got),
			 0);
	sim_addr_parse("198.51.100.2", &want);
	assert_true(same(&got, &want));
	assert_int_equal(sim_addr_from_proxy(NULL, "2001:db8::5", &got), 0);
	sim_addr_parse("2001:db8::5", &want);
	assert_true(same(&got, &want));
	/* Anything else names no client. */
	assert_int_equal(sim_addr_from_proxy(NULL, NULL, &got), -1);
	assert_int_equal(sim_addr_from_proxy("unknown", NULL, &got), -1);
	assert_int_equal(sim_addr_from_proxy(NULL, "1.2.3.4, ", &got), -1);
	assert_int_equal(sim_addr_from_proxy("<script>", "1.2.3.4", &got), -1);
}

static void
test_counts_stop_at_limit(void **state)
{
	struct sim_addr_counts *c = sim_addr_counts_new(2);
	struct sim_addr a, b, x;

	(void)state;
	assert_non_null(c);
	sim_addr_parse("192.0.2.1", &a);
	sim_addr_parse("192.0.2.2", &b);
	sim_addr_parse("192.0.2.3", &x);
	for (int i = 0; i < 3; i++)
		assert_true(sim_addr_counts_take(c, &a, 3));
	assert_false(sim_addr_counts_take(c, &a, 3));
	assert_int_equal(sim_addr_counts_get(c, &a), 3);
	/* Another address has its own count. */
	assert_true(sim_addr_counts_take(c, &b, 3));
	assert_int_equal(sim_addr_counts_get(c, &b), 1);
	/* The table is full (two addresses): a third is refused. */
	assert_false(sim_addr_counts_take(c, &x, 0));
	assert_int_equal(sim_addr_counts_get(c, &x), 0);
	/* Giving back frees a's place for the next one. */
	sim_addr_counts_give(c, &a);
	assert_true(sim_addr_counts_take(c, &a, 3));
	for (int i = 0; i < 3; i++)
		sim_addr_counts_give(c, &a);
	assert_int_equal(sim_addr_counts_get(c, &a), 0);
	assert_true(sim_addr_counts_take(c, &x, 0));
	assert_int_equal(sim_addr_counts_get(c, &b), 1);
	/* No limit: counts go on. */
	for (int i = 0; i < 100; i++)
		assert_true(sim_addr_counts_take(c, &b, 0));
	assert_int_equal(sim_addr_counts_get(c, &b), 101);
	sim_addr_counts_free(c);
}

/* The block of a literal, which must parse. */
static struct sim_addr
block_of(const char *text)
{
	struct sim_addr a, out;

	assert_int_equal(sim_addr_parse(text, &a), 0);
	sim_addr_block(&a, &out);
	return out;
}

static void
test_block_ipv6_by_64(void **state)
{
	struct sim_addr a, b, want;

	(void)state;
	/* Any two addresses of one /64 are one client ... */
	a = block_of("2001:db8:1:2::1");
	b = block_of("2001:db8:1:2:ffff:ffff:ffff:ffff");
	assert_true(same(&a, &b));
	b = block_of("2001:db8:1:2:8000:1234:5678:9abc");
	assert_true(same(&a, &b));
	assert_int_equal(sim_addr_parse("2001:db8:1:2::", &want), 0);
	assert_true(same(&a, &want));
	/* ... and the neighbouring /64s, however close, are others. */
	b = block_of("2001:db8:1:3::1");
	assert_false(same(&a, &b));
	b = block_of("2001:db8:1:1:ffff:ffff:ffff:ffff");
	assert_false(same(&a, &b));
	b = block_of("2001:db9:1:2::1");
	assert_false(same(&a, &b));
	/* IPv4, as such or IPv4-mapped, is its exact address. */
	a = block_of("192.0.2.7");
	b = block_of("::ffff:192.0.2.7");
	assert_true(same(&a, &b));
	assert_int_equal(sim_addr_parse("192.0.2.7", &want), 0);
	assert_true(same(&a, &want));
	b = block_of("192.0.2.8");
	assert_false(same(&a, &b));
	b = block_of("::ffff:192.0.2.8");
	assert_false(same(&a, &b));
	/* Not IPv4-mapped: an IPv6 address whose low bits look like one. */
	a = block_of("::fffe:192.0.2.7");
	b = block_of("::fffe:192.0.2.8");
	assert_true(same(&a, &b));
	/* From a socket address as from a literal. */
	{
		struct sockaddr_in6 in6;
		struct sim_addr from_sa;

		memset(&in6, 0, sizeof(in6));
		in6.sin6_family = AF_INET6;
		inet_pton(AF_INET6, "2001:db8:1:2:abcd::9", &in6.sin6_addr);
		assert_int_equal(sim_addr_from_sockaddr(
					 (struct sockaddr *)&in6, &from_sa),
				 0);
		sim_addr_block(&from_sa, &b);
		a = block_of("2001:db8:1:2::1");
		assert_true(same(&a, &b));
		inet_pton(AF_INET6, "::ffff:198.51.100.3", &in6.sin6_addr);
		assert_int_equal(sim_addr_from_sockaddr(
					 (struct sockaddr *)&in6, &from_sa),
				 0);
		sim_addr_block(&from_sa, &b);
		a = block_of("198.51.100.3");
		assert_true(same(&a, &b));
		a = block_of("198.51.100.4");
		assert_false(same(&a, &b));
	}
}

/* The proxy names clients: one /64's addresses share one allowance. */
static void
test_counts_by_block(void **state)
{
	struct sim_addr_counts *c = sim_addr_counts_new(8);
	static const char *const one_64[] = {
		"2001:db8:5:6::1", "2001:db8:5:6::2", "2001:db8:5:6:1::1",
		"2001:db8:5:6:ffff::ffff"};
	struct sim_addr named, key, other;

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(sim_addr_from_proxy(one_64[i], NULL, &named),
				 0);
		sim_addr_block(&named, &key);
		assert_true(sim_addr_counts_take(c, &key, 4));
	}
	assert_int_equal(sim_addr_from_proxy(NULL, "203.0.113.1, "
					     "2001:db8:5:6:8000::42",
					     &named),
			 0);
	sim_addr_block(&named, &key);
	assert_false(sim_addr_counts_take(c, &key, 4));
	assert_int_equal(sim_addr_counts_get(c, &key), 4);
	/* The next /64 has its own four. */
	assert_int_equal(sim_addr_from_proxy("2001:db8:5:7::1", NULL, &named),
			 0);
	sim_addr_block(&named, &other);
	assert_true(sim_addr_counts_take(c, &other, 4));
	assert_int_equal(sim_addr_counts_get(c, &other), 1);
	/* One of the five gives back: the /64 may take one more. */
	sim_addr_counts_give(c, &key);
	assert_true(sim_addr_counts_take(c, &key, 4));
	assert_false(sim_addr_counts_take(c, &key, 4));
	sim_addr_counts_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_one_form),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_proxy_headers),
		cmocka_unit_test(test_counts_stop_at_limit),
		cmocka_unit_test(test_block_ipv6_by_64),
		cmocka_unit_test(test_counts_by_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
