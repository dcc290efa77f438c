/*
 * sim/sim_db.c's page cache: a fixed size, larger than SQLite's default
 * 2 MiB, so that the pages a study of some thousands of images keeps
 * reaching (the index tables' leaves, found by random ids) are read from
 * the file once, not at every request; and bounded, so that a larger
 * study costs misses, never memory.  Both are checked with SQLite's own
 * counters (sim_db_cache()): records read twice, the second pass finds
 * every page in the cache when they fit in it and reads some again when
 * they do not, and the cache never holds more than its size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sim/sim_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A body that fills most of a 4 KiB page: one page per record. */
#define BODY_BYTES 3000
#define PER_CHANGE 100

struct fixture {
	char dir[64];
	struct sim_db *db;
	char *body;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct errbuf eb;
	bool empty;

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/intofocus-simcache.XXXXXX");
	if (mkdtemp(f->dir) == NULL || (f->body = malloc(BODY_BYTES + 1)) ==
						      NULL) {
		free(f);
		return -1;
	}
	/* A JSON string, as the store's records are. */
	memset(f->body, 'x', BODY_BYTES);
	f->body[0] = '"';
	f->body[BODY_BYTES - 1] = '"';
	f->body[BODY_BYTES] = '\0';
	err_init(&eb);
	if (sim_db_open(f->dir, &f->db, &empty, &eb) != IF_OK || !empty) {
		fprintf(stderr, "sim_db_open: %s\n", eb.msg);
		free(f->body);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	static const char *const files[] = {"sim.db", "sim.db-wal",
					    "sim.db-shm"};
	char path[128];

	sim_db_close(f->db);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", f->dir, files[i]);
		(void)unlink(path);
	}
	(void)rmdir(f->dir);
	free(f->body);
	free(f);
	return 0;
}

/* n records "r/<i>", PER_CHANGE to a transaction as the store saves. */
static void
write_records(struct fixture *f, int n)
{
	struct errbuf eb;
	char key[32];

	err_init(&eb);
	for (int i = 0; i < n; i += PER_CHANGE) {
		assert_int_equal(sim_db_begin(f->db, &eb), IF_OK);
		for (int k = i; k < n && k < i + PER_CHANGE; k++) {
			/* Scattered keys, as random ids are. */
			snprintf(key, sizeof(key), "%08x",
				 (unsigned)k * 2654435761u);
			assert_int_equal(sim_db_put(f->db, "r", key, f->body,
						    NULL, 0, &eb),
					 IF_OK);
		}
		assert_int_equal(sim_db_commit(f->db, &eb), IF_OK);
	}
}

/* Reads the n records; returns the cache misses this took. */
static uint64_t
read_records(struct fixture *f, int n)
{
	struct sim_db_cache before, after;
	struct errbuf eb;
	char key[32], *body;

	err_init(&eb);
	sim_db_cache(f->db, &before);
	for (int k = 0; k < n; k++) {
		snprintf(key, sizeof(key), "%08x", (unsigned)k * 2654435761u);
		assert_int_equal(sim_db_get(f->db, "r", key, &body, NULL, NULL,
					    &eb),
				 IF_OK);
		assert_int_equal(strlen(body), BODY_BYTES);
		free(body);
	}
	sim_db_cache(f->db, &after);
	assert_true(after.hits > before.hits);
	return after.misses - before.misses;
}

/*
 * About 5 MiB of records: more than SQLite's default cache holds, less
 * than ours.  Read twice, the second pass reads no page from the file.
 */
static void
test_working_set_within_the_cache_stays_in_it(void **state)
{
	struct fixture *f = *state;
	struct sim_db_cache c;
	int n = 1200;

	sim_db_cache(f->db, &c);
	assert_true(c.limit_bytes > (size_t)n * 4096 + 1024 * 1024);
	write_records(f, n);
	(void)read_records(f, n);
	assert_int_equal(read_records(f, n), 0);
	sim_db_cache(f->db, &c);
	assert_true(c.used_bytes <= c.limit_bytes + c.limit_bytes / 10);
}

/*
 * Twice as many records as the cache holds: the second pass misses
 * (the cache did not grow to hold them), and what it holds stays within
 * its size.
 */
static void
test_cache_is_bounded(void **state)
{
	struct fixture *f = *state;
	struct sim_db_cache c;
	int n;

	sim_db_cache(f->db, &c);
	n = (int)(2 * c.limit_bytes / 4096);
	write_records(f, n);
	(void)read_records(f, n);
	assert_true(read_records(f, n) > (uint64_t)n / 4);
	sim_db_cache(f->db, &c);
	assert_true(c.used_bytes <= c.limit_bytes + c.limit_bytes / 10);
	assert_true(c.used_bytes > c.limit_bytes / 2);
	assert_true(c.writes > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_working_set_within_the_cache_stays_in_it, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_cache_is_bounded, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
