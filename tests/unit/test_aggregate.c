/*
 * daemon/aggregate.c: union, first, majority and majority-weighted over
 * recorded assignments, and the boxes' JSON form (with confidences).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct assignment_rec
rec(const char *boxes, int valid)
{
	struct assignment_rec a;

	memset(&a, 0, sizeof(a));
	/* The record does not own the text here; nothing frees it. */
	a.boxes = (char *)(uintptr_t)boxes;
	a.valid = valid;
	return a;
}

static void
test_json_round_trip(void **state)
{
	struct box in[2] = {{1, 2, 3, 4}, {-5, 0, 10, 20}}, *out = NULL;
	struct errbuf eb = {0};
	char *json = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(boxes_to_json(in, 2, &json, &eb), IF_OK);
	assert_string_equal(json, "[[1,2,3,4],[-5,0,10,20]]");
	assert_int_equal(boxes_from_json(json, &out, &n, &eb), IF_OK);
	assert_int_equal(n, 2);
	assert_memory_equal(in, out, sizeof(in));
	free(json);
	free(out);
	assert_int_equal(boxes_to_json(NULL, 0, &json, &eb), IF_OK);
	assert_string_equal(json, "[]");
	free(json);
	assert_int_equal(boxes_from_json("[[1,2,3]]", &out, &n, &eb),
			 IF_ERUNTIME);
	err_init(&eb);
	assert_int_equal(boxes_from_json("{}", &out, &n, &eb), IF_ERUNTIME);
}

static void
test_union_and_first(void **state)
{
	struct assignment_rec a[3] = {
		rec("[[0,0,10,10]]", 0), /* invalid: never counts */
		rec("[[5,5,10,10],[50,50,5,5]]", 1),
		rec("[[90,90,20,20]]", 1),
	};
	struct errbuf eb = {0};
	struct box *out = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(aggregate_boxes(EXP_AGG_UNION, a, 3, 100, 100, &out,
					 &n, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	assert_int_equal(out[0].x, 5);
	assert_int_equal(out[2].w, 10); /* clipped to the image */
	free(out);
	assert_int_equal(aggregate_boxes(EXP_AGG_FIRST, a, 3, 100, 100, &out,
					 &n, &eb),
			 IF_OK);
	assert_int_equal(n, 2); /* the first VALID assignment */
	assert_int_equal(out[1].x, 50);
	free(out);
}

static void
test_majority(void **state)
{
	/* Three workers: pixels boxed by two or more win. */
	struct assignment_rec a[3] = {
		rec("[[0,0,10,10]]", 1),
		rec("[[5,0,10,10]]", 1),
		rec("[[40,40,5,5]]", 1),
	};
	struct errbuf eb = {0};
	struct box *out = NULL;
	size_t n = 0;
	long area = 0;

	(void)state;
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY, a, 3, 100, 100, &out,
					 &n, &eb),
			 IF_OK);
	for (size_t i = 0; i < n; i++) {
		assert_true(out[i].x >= 5 && out[i].x + out[i].w <= 10);
		area += (long)out[i].w * out[i].h;
	}
	assert_int_equal(area, 50);
	free(out);
	/* No valid answer: nothing to redact, not an error. */
	a[0].valid = a[1].valid = a[2].valid = 0;
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY, a, 3, 100, 100, &out,
					 &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	free(out);
}

static long
area_of(const struct box *b, size_t n)
{
	long a = 0;

	for (size_t i = 0; i < n; i++)
		a += (long)b[i].w * b[i].h;
	return a;
}

static void
test_confidence_json(void **state)
{
	struct box in[3] = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 9, 9, 9}};
	int conf[3] = {80, -1, 0}, *back = NULL;
	struct box *out = NULL;
	struct errbuf eb = {0};
	char *json = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(boxes_conf_to_json(in, conf, 3, &json, &eb), IF_OK);
	assert_string_equal(json, "[[1,2,3,4,80],[5,6,7,8],[9,9,9,9,0]]");
	assert_int_equal(boxes_conf_from_json(json, &out, &back, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(in, out, sizeof(in));
	assert_memory_equal(conf, back, sizeof(conf));
	free(out);
	free(back);
	/* Readers of plain boxes see the same boxes. */
	assert_int_equal(boxes_from_json(json, &out, &n, &eb), IF_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(in, out, sizeof(in));
	free(out);
	free(json);
	assert_int_equal(boxes_conf_from_json("[[1,2,3,4,101]]", &out, &back,
					      &n, &eb),
			 IF_ERUNTIME);
	err_init(&eb);
	assert_int_equal(boxes_conf_from_json("[[1,2,3,4,5,6]]", &out, &back,
					      &n, &eb),
			 IF_ERUNTIME);
}

/*
 * Three workers box the same 10x10 region with confidences: the region
 * is redacted when their weights sum past half of 3 x 100%.
 */
static void
test_majority_weighted(void **state)
{
	struct assignment_rec a[3] = {
		rec("[[0,0,10,10,40]]", 1),
		rec("[[0,0,10,10,40]]", 1),
		rec("[[0,0,10,10]]", 1),
	};
	struct errbuf eb = {0};
	struct box *out = NULL;
	size_t n = 0;

	(void)state;
	/* 40 + 40 + 100 (no confidence counts in full) = 180 > 100. */
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY_WEIGHTED, a, 3, 100,
					 100, &out, &n, &eb),
			 IF_OK);
	assert_int_equal(area_of(out, n), 100);
	free(out);
	/* 40 + 40 + 20 = 100, not more than half of 3 x 100%. */
	a[2] = rec("[[0,0,10,10,20]]", 1);
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY_WEIGHTED, a, 3, 100,
					 100, &out, &n, &eb),
			 IF_OK);
	assert_int_equal(n, 0);
	free(out);
	/* The plain majority ignores the confidences. */
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY, a, 3, 100, 100,
					 &out, &n, &eb),
			 IF_OK);
	assert_int_equal(area_of(out, n), 100);
	free(out);
	/*
	 * A box clipped away keeps the others' confidences in step: the
	 * first worker's off-image box is dropped, its second box (90%)
	 * and the others' 90% win over [20,20,10,10].
	 */
	a[0] = rec("[[500,500,5,5,100],[20,20,10,10,90]]", 1);
	a[1] = rec("[[20,20,10,10,90]]", 1);
	a[2] = rec("[[20,20,10,10,0]]", 1);
	assert_int_equal(aggregate_boxes(EXP_AGG_MAJORITY_WEIGHTED, a, 3, 100,
					 100, &out, &n, &eb),
			 IF_OK);
	assert_int_equal(area_of(out, n), 100);
	assert_int_equal(out[0].x, 20);
	free(out);
}

static void
test_token(void **state)
{
	char t1[41], t2[41], t3[41];

	(void)state;
	hit_token("salt", "exp/img/1", 1, t1);
	hit_token("salt", "exp/img/1", 1, t2);
	assert_string_equal(t1, t2);
	assert_int_equal(strlen(t1), 40);
	hit_token("salt", "exp/img/1", 2, t3);
	assert_string_not_equal(t1, t3);
	hit_token("other", "exp/img/1", 1, t3);
	assert_string_not_equal(t1, t3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_union_and_first),
		cmocka_unit_test(test_majority),
		cmocka_unit_test(test_confidence_json),
		cmocka_unit_test(test_majority_weighted),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
