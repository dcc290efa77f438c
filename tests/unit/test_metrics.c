/*
 * daemon/metrics.c: the 50% found rule at its edge, overlapping redaction
 * boxes counted once, faces past the border, the totals and the CSV/JSON
 * forms of spec section 8.  Every case is small enough to count by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static struct image_metrics
measure(const struct box *truth, size_t nt, const struct box *red, size_t nr,
	int w, int h)
{
	struct image_metrics m;
	struct errbuf eb = {0};

	memset(&m, 0, sizeof(m));
	assert_int_equal(metrics_image(truth, nt, red, nr, w, h, &m, &eb),
			 IF_OK);
	return m;
}

static void
test_exactly_half_is_found(void **state)
{
	/* A 10x10 face, the left 5 columns covered: 50 of 100 pixels. */
	const struct box face = {20, 20, 10, 10};
	const struct box half = {20, 20, 5, 10};
	struct image_metrics m;

	(void)state;
	m = measure(&face, 1, &half, 1, 100, 100);
	assert_int_equal(m.faces, 1);
	assert_int_equal(m.found, 1);
	assert_int_equal(m.smallest_found, 100);
	assert_int_equal(m.largest_missed, 0);
}

static void
test_just_under_half_is_not_found(void **state)
{
	/* 1000 pixels, 499 covered: 49.9%. */
	const struct box face = {0, 0, 100, 10};
	const struct box cover[] = {{0, 0, 49, 10}, {49, 0, 1, 9}};
	struct image_metrics m;

	(void)state;
	m = measure(&face, 1, cover, 2, 200, 200);
	assert_int_equal(m.found, 0);
	assert_int_equal(m.largest_missed, 1000);
	assert_int_equal(m.smallest_found, -1);
	assert_true(m.largest_missed_pct > 2.49 && m.largest_missed_pct < 2.51);
}

static void
test_overlaps_not_double_counted(void **state)
{
	/*
	 * Three boxes over the same 4 columns of a 10x10 face: 40% covered,
	 * though the boxes' areas add up to 120%.
	 */
	const struct box face = {10, 10, 10, 10};
	const struct box cover[] = {
		{10, 10, 4, 10}, {10, 10, 4, 10}, {10, 10, 4, 10}};
	struct image_metrics m;

	(void)state;
	m = measure(&face, 1, cover, 3, 50, 50);
	assert_int_equal(m.found, 0);
	assert_int_equal(m.largest_missed, 100);
}

static void
test_two_boxes_add_to_half(void **state)
{
	/* Two disjoint boxes of 25 pixels each make 50 of a 100-pixel face. */
	const struct box face = {0, 0, 10, 10};
	const struct box cover[] = {{0, 0, 5, 5}, {5, 5, 5, 5}};
	struct image_metrics m;

	(void)state;
	m = measure(&face, 1, cover, 2, 10, 10);
	assert_int_equal(m.found, 1);
}

static void
test_sizes_and_percentages(void **state)
{
	/* 200x100 image: faces of 400 (found), 100 (found), 900 (missed). */
	const struct box faces[] = {
		{0, 0, 20, 20}, {50, 50, 10, 10}, {100, 0, 30, 30}};
	const struct box cover[] = {{0, 0, 60, 60}};
	struct image_metrics m;

	(void)state;
	m = measure(faces, 3, cover, 1, 200, 100);
	assert_int_equal(m.faces, 3);
	assert_int_equal(m.found, 2);
	assert_int_equal(m.image_area, 20000);
	assert_int_equal(m.largest_face, 900);
	assert_int_equal(m.largest_missed, 900);
	assert_int_equal(m.smallest_found, 100);
	assert_true(m.largest_face_pct > 4.49 && m.largest_face_pct < 4.51);
	assert_true(m.smallest_found_pct > 0.49 && m.smallest_found_pct < 0.51);
	assert_true(metrics_found_pct(&m) > 66.6 &&
		    metrics_found_pct(&m) < 66.7);
}

static void
test_face_past_border_counts_visible_part(void **state)
{
	/*
	 * The face sticks out by half: its visible 5x10 part is fully
	 * redacted, so it is found; a face wholly outside is not a face.
	 */
	const struct box faces[] = {{95, 0, 10, 10}, {200, 200, 5, 5}};
	const struct box cover[] = {{95, 0, 5, 10}};
	struct image_metrics m;

	(void)state;
	m = measure(faces, 2, cover, 1, 100, 100);
	assert_int_equal(m.faces, 1);
	assert_int_equal(m.found, 1);
	assert_int_equal(m.largest_face, 50);
}

static void
test_no_redaction_no_faces(void **state)
{
	const struct box face = {1, 1, 2, 2};
	struct image_metrics m;
	struct errbuf eb = {0};

	(void)state;
	m = measure(&face, 1, NULL, 0, 10, 10);
	assert_int_equal(m.found, 0);
	m = measure(NULL, 0, &face, 1, 10, 10);
	assert_int_equal(m.faces, 0);
	assert_int_equal(m.largest_face, 0);
	assert_int_equal(metrics_image(&face, 1, NULL, 0, 0, 10, &m, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "0x10"));
}

static void
test_totals_skip_images_without_truth(void **state)
{
	const struct box f1[] = {{0, 0, 10, 10}, {20, 20, 4, 4}};
	const struct box c1[] = {{0, 0, 10, 10}};
	const struct box f2[] = {{0, 0, 30, 30}};
	struct image_metrics a, b, none, t;

	(void)state;
	a = measure(f1, 2, c1, 1, 100, 100); /* found 100, missed 16 */
	b = measure(f2, 1, f2, 1, 50, 50);   /* found 900 */
	memset(&none, 0, sizeof(none));
	none.faces = 7; /* must not leak into the total */
	metrics_total_init(&t);
	metrics_total_add(&t, &a);
	metrics_total_add(&t, &none);
	metrics_total_add(&t, &b);
	assert_int_equal(t.images, 2);
	assert_int_equal(t.faces, 3);
	assert_int_equal(t.found, 2);
	assert_int_equal(t.image_area, 12500);
	assert_int_equal(t.largest_face, 900);
	/* 900 of b's 2500 pixels, not of the summed area. */
	assert_true(t.largest_face_pct > 35.99 && t.largest_face_pct < 36.01);
	assert_int_equal(t.largest_missed, 16);
	assert_int_equal(t.smallest_found, 100);
}

static void
test_csv_and_json(void **state)
{
	const struct box face = {0, 0, 10, 10};
	struct image_metrics m, none;
	struct buf b;
	json_t *j;
	char *text;

	(void)state;
	m = measure(&face, 1, &face, 1, 100, 100);
	memset(&none, 0, sizeof(none));
	buf_init(&b, 0);
	metrics_csv_header(&b);
	assert_int_equal(metrics_csv_row(&b, "bikes", &m), 0);
	assert_int_equal(metrics_csv_row(&b, "cat", &none), 0);
	assert_string_equal(
		b.data,
		"image,faces,found,not_found,found_pct,largest_not_found_area,"
		"largest_not_found_pct,largest_face_area,largest_face_pct,"
		"image_area,smallest_found_area,smallest_found_pct,"
		"not_found_pct,largest_not_found_wxh,largest_face_wxh,"
		"smallest_found_wxh,redacted_pct,redacted_outside_faces_pct,"
		"redaction_boxes,boxes_on_no_face\n"
		"bikes,1,1,0,100.0,,,100,1.0000,10000,100,1.0000,"
		"0.0,,10x10,10x10,,,,\n"
		"cat,,,,,,,,,,,,,,,,,,,\n");
	buf_cleanup(&b);
	j = metrics_json(&m);
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
	assert_non_null(strstr(text, "\"found\":1"));
	assert_non_null(strstr(text, "\"largest_not_found_area\":null"));
	assert_non_null(strstr(text, "\"smallest_found_area\":100"));
	free(text);
	json_decref(j);
	j = metrics_json(&none);
	text = json_dumps(j, JSON_COMPACT);
	assert_string_equal(text, "{\"ground_truth\":false}");
	free(text);
	json_decref(j);
}

/*
 * Per face: the first stage whose redaction covers it; per stage the
 * cumulative count; the privacy cost in pixels outside the faces.
 */
static void
test_stages_and_cost(void **state)
{
	/* Three 10x10 faces on a 100x100 image. */
	const struct box faces[] = {{0, 0, 10, 10}, {50, 50, 10, 10},
				    {80, 0, 10, 10}};
	/*
	 * Stage 1 covers face 0; stage 2 half of face 1 (found at stage 2);
	 * stage 3 a box over no face (20x10).
	 */
	const struct box red[] = {{0, 0, 10, 10}, {50, 50, 5, 10},
				  {20, 80, 20, 10}};
	const size_t upto[] = {0, 1, 2, 3};
	struct face_metrics f[3];
	struct image_metrics m, t;
	struct errbuf eb = {0};
	struct buf b;
	json_t *j;
	char *text;

	(void)state;
	for (size_t i = 0; i < 3; i++)
		assert_true(metrics_face(&faces[i], red, upto, 3, 100, 100,
					 &f[i]));
	assert_int_equal(f[0].first_stage, 1);
	assert_int_equal(f[1].first_stage, 2);
	assert_int_equal(f[2].first_stage, 0);
	assert_false(f[2].found);
	assert_true(f[1].found);
	assert_true(f[0].pct > 0.999 && f[0].pct < 1.001);
	m = measure(faces, 3, red, 3, 100, 100);
	metrics_stages(&m, f, 3, 3);
	assert_int_equal(m.found_by_stage[0], 1);
	assert_int_equal(m.found_by_stage[1], 2);
	assert_int_equal(m.found_by_stage[2], 2);
	assert_int_equal(m.largest_missed_w, 10);
	assert_int_equal(metrics_privacy_cost(&m, faces, 3, red, 3, 100, 100,
					      &eb),
			 IF_OK);
	/* 100 + 50 + 200 hidden, 150 of them on faces. */
	assert_int_equal(m.redacted_area, 350);
	assert_int_equal(m.redacted_outside, 200);
	assert_int_equal(m.boxes, 3);
	assert_int_equal(m.boxes_no_face, 1);
	/* A face outside the image is not measured. */
	{
		const struct box out = {200, 200, 5, 5};
		struct face_metrics g;

		assert_false(metrics_face(&out, red, upto, 3, 100, 100, &g));
	}
	/* A worker's boxes cover a face at half, not below. */
	assert_true(metrics_covers(&faces[1], &red[1], 1));
	assert_false(metrics_covers(&faces[2], red, 3));
	metrics_total_init(&t);
	metrics_total_add(&t, &m);
	metrics_total_add(&t, &m);
	assert_int_equal(t.found_by_stage[1], 4);
	assert_int_equal(t.redacted_outside, 400);
	buf_init(&b, 0);
	metrics_csv_header_stages(&b, 3);
	assert_int_equal(metrics_csv_row(&b, "x", &m), 0);
	assert_non_null(strstr(b.data, ",found_stage1,found_stage2,"
				       "found_stage3\n"));
	/* not found 33.3%, the missed face, the largest, the smallest. */
	assert_non_null(strstr(b.data, ",33.3,10x10,10x10,10x10,"));
	assert_non_null(strstr(b.data, ",3.5000,2.0000,3,1,1,2,2\n"));
	buf_cleanup(&b);
	j = metrics_json(&m);
	text = json_dumps(j, JSON_COMPACT);
	assert_non_null(strstr(text, "\"found_by_stage\":[1,2,2]"));
	assert_non_null(strstr(text, "\"largest_not_found_wxh\":[10,10]"));
	assert_non_null(strstr(text, "\"not_found_pct\":33.3"));
	free(text);
	json_decref(j);
	j = metrics_face_json(&f[2]);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"first_stage\":null"));
	free(text);
	json_decref(j);
}

/*
 * Stage 0: four 10x10 faces on a 100x100 image.  Stage 0 holds a detector
 * box over face 0 and a given box over 60% of face 1 plus a detector box
 * over the other 40% (found at stage 0, not by the detector: "start");
 * stage 1's crowd covers face 2; face 3 is missed.
 */
static void
test_stage0_detector_and_crowd(void **state)
{
	const struct box faces[] = {{0, 0, 10, 10}, {50, 50, 10, 10},
				    {80, 0, 10, 10}, {0, 80, 10, 10}};
	const struct box red[] = {{0, 0, 10, 10}, {50, 50, 6, 10},
				  {56, 50, 4, 10}, {80, 0, 10, 10}};
	const struct box det[] = {{0, 0, 10, 10}, {56, 50, 4, 10}};
	const size_t upto[] = {3, 4};
	struct face_metrics f[4];
	struct image_metrics m, t;
	struct buf b;
	json_t *j;
	char *text;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_true(metrics_face(&faces[i], red, upto, 1, 100, 100,
					 &f[i]));
		metrics_face_detector(&f[i], det, 2);
	}
	assert_true(f[0].at_stage0 && f[0].by_detector);
	assert_true(f[1].at_stage0 && !f[1].by_detector);
	assert_true(!f[2].at_stage0 && f[2].first_stage == 1);
	assert_true(!f[3].found && !f[3].at_stage0 && f[3].first_stage == 0);
	assert_int_equal(f[0].first_stage, 0);
	m = measure(faces, 4, red, 4, 100, 100);
	m.has_stage0 = true;
	m.stage0_boxes = 3;
	m.stage0_detector_boxes = 2;
	metrics_stages(&m, f, 4, 1);
	assert_int_equal(m.found, 3);
	assert_int_equal(m.found_stage0, 2);
	assert_int_equal(m.found_by_detector, 1);
	/* Cumulative: stage 1's redaction holds stage 0's. */
	assert_int_equal(m.found_by_stage[0], 3);

	j = metrics_face_json(&f[0]);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"first_stage\":0,"));
	assert_non_null(strstr(text, "\"found_by\":\"detector\""));
	free(text);
	json_decref(j);
	j = metrics_face_json(&f[1]);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"found_by\":\"start\""));
	free(text);
	json_decref(j);
	j = metrics_face_json(&f[2]);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"first_stage\":1,"));
	assert_non_null(strstr(text, "\"found_by\":\"crowd\""));
	free(text);
	json_decref(j);
	j = metrics_face_json(&f[3]);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"first_stage\":null,"));
	assert_non_null(strstr(text, "\"found_by\":null"));
	free(text);
	json_decref(j);

	j = metrics_json(&m);
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(strstr(text, "\"found_by_crowd\":1,"));
	assert_non_null(strstr(text, "\"stage0\":{\"boxes\":3,"
				     "\"detector_boxes\":2,\"found\":2,"
				     "\"found_by_detector\":1,"
				     "\"found_by_start\":1}"));
	free(text);
	json_decref(j);

	buf_init(&b, 0);
	metrics_csv_header_stage0(&b, 1);
	assert_int_equal(metrics_csv_row_stage0(&b, "x", &m), 0);
	metrics_total_init(&t);
	metrics_total_add(&t, &m);
	metrics_total_add(&t, &m);
	assert_true(t.has_stage0);
	assert_int_equal(t.found_stage0, 4);
	assert_int_equal(t.found_by_detector, 2);
	assert_int_equal(metrics_csv_row_stage0(&b, "total", &t), 0);
	m.has_truth = false;
	assert_int_equal(metrics_csv_row_stage0(&b, "none", &m), 0);
	assert_non_null(strstr(b.data, ",boxes_on_no_face,stage0_boxes,"
				       "found_by_detector,found_by_start,"
				       "found_by_crowd,found_stage0,"
				       "found_stage1\n"));
	/* 3 boxes; 1 by the detector, 1 start, 1 crowd; 2 at stage 0. */
	assert_non_null(strstr(b.data, ",3,1,1,1,2,3\n"));
	assert_non_null(strstr(b.data, "\ntotal,8,6,2,"));
	assert_non_null(strstr(b.data, ",6,2,2,2,4,6\n"));
	/* Every row has as many cells as the header. */
	{
		size_t cells[4] = {0}, line = 0;

		for (const char *p = b.data; *p != '\0'; p++) {
			if (*p == ',')
				cells[line]++;
			else if (*p == '\n')
				line++;
		}
		assert_int_equal(line, 4);
		for (size_t i = 1; i < 4; i++)
			assert_int_equal(cells[i], cells[0]);
	}
	buf_cleanup(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exactly_half_is_found),
		cmocka_unit_test(test_just_under_half_is_not_found),
		cmocka_unit_test(test_overlaps_not_double_counted),
		cmocka_unit_test(test_two_boxes_add_to_half),
		cmocka_unit_test(test_sizes_and_percentages),
		cmocka_unit_test(test_face_past_border_counts_visible_part),
		cmocka_unit_test(test_no_redaction_no_faces),
		cmocka_unit_test(test_totals_skip_images_without_truth),
		cmocka_unit_test(test_csv_and_json),
		cmocka_unit_test(test_stages_and_cost),
		cmocka_unit_test(test_stage0_detector_and_crowd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
