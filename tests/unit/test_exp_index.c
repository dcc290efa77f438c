/*
 * daemon/exp_index.c: the run's experiment images by id (issue 15) give
 * what exp_image_find and exp_window give, for every image, an unknown
 * id and a bad stage; a context whose experiment changed without a new
 * index falls back on the walk; and a lookup compares O(log n) ids, not
 * the study's (counted through strcmp's wrapper, mk/test_exp_index.mk).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int __real_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b);

static long compares;

int
__wrap_strcmp(const char *a, const char *b)
{
	compares++;
	return __real_strcmp(a, b);
}

/* n images "img<k>" in a scrambled order, each with windows k, k + 1. */
static struct experiment *
exp_of(size_t n)
{
	struct experiment *exp = calloc(1, sizeof(*exp));

	assert_non_null(exp);
	exp->images = calloc(n, sizeof(*exp->images));
	assert_non_null(exp->images);
	exp->nimages = n;
	exp->nstages = 2;
	exp->stages[0] = 41;
	exp->stages[1] = 13;
	for (size_t i = 0; i < n; i++) {
		size_t k = (i * 7919) % n; /* a permutation: n is not 7919k */
		char id[32];

		snprintf(id, sizeof(id), "img%zu", k);
		exp->images[i].id = strdup(id);
		assert_non_null(exp->images[i].id);
		exp->images[i].windows[0] = (int)k;
		exp->images[i].windows[1] = (int)k + 1;
	}
	return exp;
}

static void
exp_of_free(struct experiment *exp)
{
	for (size_t i = 0; i < exp->nimages; i++)
		free(exp->images[i].id);
	free(exp->images);
	free(exp);
}

static void
test_same_as_the_walk(void **state)
{
	struct run_ctx ctx;
	struct errbuf eb = {0};
	struct experiment *exp = exp_of(500), *other = exp_of(20);

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	ctx.exp = exp;
	assert_int_equal(run_images_index(&ctx, &eb), IF_OK);
	for (size_t k = 0; k < 500; k++) {
		char id[32];

		snprintf(id, sizeof(id), "img%zu", k);
		assert_ptr_equal(run_exp_image(&ctx, id),
				 exp_image_find(exp, id));
		assert_non_null(run_exp_image(&ctx, id));
		assert_int_equal(run_exp_window(&ctx, id, 1), (int)k);
		assert_int_equal(run_exp_window(&ctx, id, 2),
				 exp_window(exp, id, 2));
	}
	assert_null(run_exp_image(&ctx, "img500"));
	assert_null(run_exp_image(&ctx, ""));
	/* An image not in the file: the experiment's schedule. */
	assert_int_equal(run_exp_window(&ctx, "nope", 2), 13);
	assert_int_equal(run_exp_window(&ctx, "img3", 3), 0);
	assert_int_equal(run_exp_window(&ctx, "img3", 0), 0);
	/* Another experiment in the context, not indexed: the walk. */
	ctx.exp = other;
	assert_ptr_equal(run_exp_image(&ctx, "img7"),
			 exp_image_find(other, "img7"));
	assert_null(run_exp_image(&ctx, "img100"));
	/* Indexed again (a reload). */
	assert_int_equal(run_images_index(&ctx, &eb), IF_OK);
	assert_ptr_equal(run_exp_image(&ctx, "img7"),
			 exp_image_find(other, "img7"));
	run_images_unindex(&ctx);
	exp_of_free(exp);
	exp_of_free(other);
}

/* One lookup among 100 and among 10,000 images: a few more compares. */
static long
compares_at(size_t n)
{
	struct run_ctx ctx;
	struct errbuf eb = {0};
	struct experiment *exp = exp_of(n);
	char id[32];
	long c;

	memset(&ctx, 0, sizeof(ctx));
	ctx.exp = exp;
	assert_int_equal(run_images_index(&ctx, &eb), IF_OK);
	snprintf(id, sizeof(id), "img%zu", n / 3);
	compares = 0;
	assert_non_null(run_exp_image(&ctx, id));
	c = compares;
	run_images_unindex(&ctx);
	exp_of_free(exp);
	return c;
}

static void
test_lookup_does_not_walk(void **state)
{
	long small, big;

	(void)state;
	small = compares_at(101);
	big = compares_at(10007);
	print_message("# compares per lookup: %ld at 101 images, %ld at "
		      "10,007\n",
		      small, big);
	/* log2: about 7 and 14; a walk would be about 33 and 3,300. */
	assert_true(small >= 1);
	assert_true(big <= 2 * small + 4);
	assert_true(big < 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_the_walk),
		cmocka_unit_test(test_lookup_does_not_walk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
