/*
 * daemon/sim_view.c: the simulator's view of an experiment, and its
 * out-of-memory path.  calloc fails at each of sim_view_init's calls in
 * turn (mk/test_sim_view.mk links this test with calloc and free
 * wrapped): every call must fail with the error, and free all it took.
 * Runs from the top of the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- calloc and free, wrapped at link time ------------------------------ */

void *__real_calloc(size_t n, size_t size);
void __real_free(void *p);
void *__wrap_calloc(size_t n, size_t size);
void __wrap_free(void *p);

#define LIVE_MAX 64

/*
 * While counting: calloc's calls are numbered from 1, the fail_at-th
 * returns NULL (0: none), and what it gave is live until freed.
 */
static struct {
	bool counting;
	int calls, fail_at;
	void *live[LIVE_MAX];
	size_t nlive;
	bool overflow;
} mem;

void *
__wrap_calloc(size_t n, size_t size)
{
	void *p;

	if (!mem.counting)
		return __real_calloc(n, size);
	if (++mem.calls == mem.fail_at)
		return NULL;
	p = __real_calloc(n, size);
	if (p != NULL && mem.nlive < LIVE_MAX)
		mem.live[mem.nlive++] = p;
	else if (p != NULL)
		mem.overflow = true;
	return p;
}

void
__wrap_free(void *p)
{
	for (size_t i = 0; p != NULL && i < mem.nlive; i++)
		if (mem.live[i] == p) {
			mem.live[i] = mem.live[--mem.nlive];
			break;
		}
	__real_free(p);
}

static void
mem_count(int fail_at)
{
	memset(&mem, 0, sizeof(mem));
	mem.counting = true;
	mem.fail_at = fail_at;
}

/* ---- the experiment ------------------------------------------------------ */

/* Two photos with faces, one with a starting box. */
static struct experiment *
load_exp(char *dir, size_t dirsz)
{
	struct experiment *exp = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	char top[1024], path[1200];
	FILE *fp;

	snprintf(dir, dirsz, "/tmp/intofocus-simview.XXXXXX");
	assert_non_null(mkdtemp(dir));
	assert_non_null(getcwd(top, sizeof(top)));
	snprintf(path, sizeof(path), "%s/exp.yaml", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"name: view\n"
		"mturk:\n"
		"  environment: simulator\n"
		"hit:\n"
		"  reward: \"0.10\"\n"
		"  workers: 2\n"
		"stages: [41, 13]\n"
		"images_host:\n"
		"  kind: simulator\n"
		"images:\n"
		"  - id: group\n"
		"    file: %s/tests/fixtures/daemon/group.jpg\n"
		"    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50]]\n"
		"    boxes: [[40, 50, 48, 60]]\n"
		"  - id: street\n"
		"    file: %s/tests/fixtures/daemon/street.jpg\n"
		"    ground_truth: [[30, 30, 60, 72]]\n",
		top, top);
	assert_int_equal(fclose(fp), 0);
	if (exp_load(path, &exp, &errs, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	exp_errors_cleanup(&errs);
	unlink(path);
	rmdir(dir);
	return exp;
}

static void
test_view_of_the_experiment(void **state)
{
	char dir[64];
	struct experiment *exp = load_exp(dir, sizeof(dir));
	struct sim_view v;
	struct errbuf eb = {0};

	(void)state;
	assert_int_equal(sim_view_init(&v, exp, &eb), IF_OK);
	assert_int_equal(v.exp.nimages, 2);
	assert_string_equal(v.exp.images[0].id, "group");
	assert_int_equal(v.exp.images[0].nfaces, 2);
	assert_int_equal(v.exp.images[0].faces[1].x, 150);
	assert_int_equal(v.exp.images[0].nhidden, 1);
	assert_int_equal(v.exp.images[0].hidden[0].w, 48);
	assert_int_equal(v.exp.images[1].nfaces, 1);
	assert_int_equal(v.exp.images[1].nhidden, 0);
	assert_int_equal(v.exp.nwindows, 2);
	sim_view_cleanup(&v);
	exp_free(exp);
}

static void
test_each_allocation_failing_frees_the_rest(void **state)
{
	char dir[64];
	struct experiment *exp = load_exp(dir, sizeof(dir));
	struct sim_view v;
	struct errbuf eb = {0};
	int calls;

	(void)state;
	/* Undisturbed: how many callocs, and all freed by the cleanup. */
	mem_count(0);
	assert_int_equal(sim_view_init(&v, exp, &eb), IF_OK);
	calls = mem.calls;
	assert_true(mem.nlive > 0);
	sim_view_cleanup(&v);
	mem.counting = false;
	assert_false(mem.overflow);
	assert_int_equal(mem.nlive, 0);
	/* Three arrays, then two per image. */
	assert_int_equal(calls, 3 + 2 * 2);
	for (int k = 1; k <= calls; k++) {
		memset(&eb, 0, sizeof(eb));
		mem_count(k);
		assert_int_equal(sim_view_init(&v, exp, &eb), IF_ERUNTIME);
		mem.counting = false;
		assert_false(mem.overflow);
		if (mem.nlive != 0)
			fail_msg("calloc %d of %d failing: %zu block(s) not "
				 "freed",
				 k, calls, mem.nlive);
		assert_non_null(strstr(eb.msg, "out of memory"));
		assert_null(v.images);
		assert_int_equal(v.nimages, 0);
	}
	exp_free(exp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_of_the_experiment),
		cmocka_unit_test(test_each_allocation_failing_frees_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
