/*
 * daemon/calibrate.c: the detection curve fitted by maximum likelihood
 * recovers a known curve within its stated uncertainty; the schedule it
 * proposes is the cheapest that reaches the target; observations come
 * only from faces the served image showed (issue 17).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* splitmix64: the test's own deterministic stream. */
static uint64_t
next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unit(uint64_t *s)
{
	return (double)(next(s) >> 11) / 9007199254740992.0;
}

/* n answers drawn from the curve (k, x0) at ratios uniform in [lo, hi]. */
static void
draw(uint64_t seed, size_t n, double k, double x0, double lo, double hi,
     struct calib_data *d)
{
	for (size_t i = 0; i < n; i++) {
		double x = lo + (hi - lo) * unit(&seed);
		double p = 1.0 / (1.0 + exp(-k * (x - x0)));

		assert_int_equal(calib_add(d, x, unit(&seed) < p), 0);
	}
}

static void
test_recovers_known_curve(void **state)
{
	struct calib_data d = {0};
	struct calib_fit f;
	struct errbuf eb = {0};

	(void)state;
	draw(17, 3000, 3.0, 1.0, 0.1, 3.0, &d);
	assert_int_equal(calib_fit(&d, &f, &eb), IF_OK);
	print_message("# k = %.3f +- %.3f, x0 = %.3f +- %.3f (n %zu)\n", f.k,
		      f.se_k, f.x0, f.se_x0, f.n);
	assert_true(fabs(f.k - 3.0) <= 2 * f.se_k);
	assert_true(fabs(f.x0 - 1.0) <= 2 * f.se_x0);
	/* The uncertainty is a real one: neither nil nor huge. */
	assert_true(f.se_k > 0.01 && f.se_k < 0.5);
	assert_true(f.se_x0 > 0.001 && f.se_x0 < 0.1);
	assert_int_equal(f.n, 3000);
	calib_data_cleanup(&d);
}

/*
 * Over many seeds, the true values fall within 2 standard errors about
 * 95% of the time: the stated uncertainty is neither too small nor
 * inflated.  40 fits of 800 answers each, from another curve.
 */
static void
test_uncertainty_covers(void **state)
{
	size_t k_in = 0, x0_in = 0, k_in1 = 0;

	(void)state;
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct calib_data d = {0};
		struct calib_fit f;
		struct errbuf eb = {0};

		draw(seed * 7919, 800, 2.0, 0.7, 0.05, 2.5, &d);
		assert_int_equal(calib_fit(&d, &f, &eb), IF_OK);
		k_in += fabs(f.k - 2.0) <= 2 * f.se_k;
		x0_in += fabs(f.x0 - 0.7) <= 2 * f.se_x0;
		k_in1 += fabs(f.k - 2.0) <= f.se_k;
		calib_data_cleanup(&d);
	}
	print_message("# within 2 SE: k %zu/40, x0 %zu/40; within 1 SE: k "
		      "%zu/40\n",
		      k_in, x0_in, k_in1);
	assert_true(k_in >= 34 && x0_in >= 34);
	/* Not inflated: about 68% within one SE, surely not all. */
	assert_true(k_in1 < 40);
}

static void
test_too_little_data(void **state)
{
	struct calib_data d = {0};
	struct calib_fit f;
	struct errbuf eb = {0};

	(void)state;
	for (int i = 0; i < 50; i++)
		assert_int_equal(calib_add(&d, 0.5 + i * 0.01, true), 0);
	assert_int_equal(calib_fit(&d, &f, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "both found and missed"));
	calib_data_cleanup(&d);
	/* Separated: every small face missed, every large one found. */
	err_init(&eb);
	for (int i = 0; i < 50; i++)
		assert_int_equal(calib_add(&d, i * 0.1, i >= 25), 0);
	assert_int_equal(calib_fit(&d, &f, &eb), IF_EINPUT);
	calib_data_cleanup(&d);
}

/* 1 - (1 - p)^n per stage, multiplied: the plan's own model, by hand. */
static double
recall_of(double k, double x0, int side, const int *w, size_t m, int n)
{
	double miss = 1.0;

	for (size_t s = 0; s < m; s++)
		miss *= pow(1.0 - 1.0 / (1.0 + exp(-k * ((double)side / w[s] -
							  x0))),
			    n);
	return 1.0 - miss;
}

static void
test_schedule(void **state)
{
	struct calib_fit f = {.k = 3.0, .x0 = 1.0};
	struct calib_target t = {.min_face = 20, .recall = 0.95, .workers = 3,
				 .first_window = 41, .assignment_cents = 18};
	struct calib_plan p;
	struct errbuf eb = {0};
	int wider[EXP_STAGES_MAX];

	(void)state;
	assert_int_equal(calib_schedule(&f, &t, &p, &eb), IF_OK);
	assert_true(p.nwindows >= 2);
	assert_int_equal(p.windows[0], 41);
	for (size_t s = 1; s < p.nwindows; s++) {
		assert_true(p.windows[s] < p.windows[s - 1]);
		assert_int_equal(p.windows[s] % 2, 1);
		assert_true(p.windows[s] >= 3);
	}
	assert_true(fabs(p.recall - recall_of(3, 1, 20, p.windows,
					      p.nwindows, 3)) < 1e-12);
	assert_true(p.recall >= 0.95);
	assert_true(p.recall_double >= p.recall);
	assert_int_equal(p.assignments, (int64_t)p.nwindows * 3);
	assert_int_equal(p.cost_cents, p.assignments * 18);
	/*
	 * Cheapest: with one stage fewer, even the sharpest last window
	 * (3 px, or window 41 alone) falls short.
	 */
	if (p.nwindows == 2) {
		int one[] = {41};

		assert_true(recall_of(3, 1, 20, one, 1, 3) < 0.95);
	}
	/* Widest last window: two pixels wider no longer reaches it. */
	memcpy(wider, p.windows, sizeof(wider));
	if (p.nwindows == 2 && wider[1] + 2 < 41) {
		wider[1] += 2;
		assert_true(recall_of(3, 1, 20, wider, 2, 3) < 0.95);
	}
	/* An impossible target is refused. */
	f.x0 = 1000.0;
	err_init(&eb);
	assert_int_equal(calib_schedule(&f, &t, &p, &eb), IF_EINPUT);
}

static void
exec_sql(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
}

/*
 * Stage 1 redacts face A: in stage 2, A gives no observation, B does.
 * Face A [10,10,20,20], face B [100,100,40,40]; windows 40 then 20.
 */
static void
test_collect(void **state)
{
	char dir[] = "/tmp/intofocus-calib.XXXXXX", path[128];
	struct box gt[] = {{10, 10, 20, 20}, {100, 100, 40, 40}};
	struct exp_image im = {.id = "img", .ground_truth = gt,
			       .nground_truth = 2, .has_ground_truth = true};
	struct experiment e = {.name = "t", .images = &im, .nimages = 1};
	struct calib_data d = {0};
	struct calib_counts c = {0};
	struct errbuf eb = {0};
	sqlite3 *db;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_sql(db, "CREATE TABLE stage_results (image_id TEXT, stage INT,"
		     " window INT, boxes TEXT);"
		     "CREATE TABLE assignments (image_id TEXT, stage INT,"
		     " valid INT, boxes TEXT);"
		     "INSERT INTO stage_results VALUES"
		     " ('img', 1, 40, '[[8,8,24,24]]'),"
		     " ('img', 2, 20, '[[100,100,40,40]]');"
		     "INSERT INTO assignments VALUES"
		     " ('img', 1, 1, '[[8,8,24,24]]'),"
		     " ('img', 1, 1, '[]'),"
		     " ('img', 1, 0, '[[100,100,40,40]]'),"
		     " ('img', 2, 1, '[[100,100,40,40]]');");
	sqlite3_close(db);
	assert_int_equal(calib_collect(&e, dir, &d, &c, &eb), IF_OK);
	/* Stage 1: 2 valid answers x 2 faces; stage 2: 1 answer x face B. */
	assert_int_equal(d.n, 5);
	assert_int_equal(c.hidden, 1);
	assert_int_equal(c.assignments, 3);
	/* A at 20/40 found, B at 40/40 missed, A and B missed, B found. */
	assert_true(d.obs[0].x == 0.5 && d.obs[0].found);
	assert_true(d.obs[1].x == 1.0 && !d.obs[1].found);
	assert_true(d.obs[2].x == 0.5 && !d.obs[2].found);
	assert_true(d.obs[3].x == 1.0 && !d.obs[3].found);
	assert_true(d.obs[4].x == 2.0 && d.obs[4].found);
	calib_data_cleanup(&d);
	/* A directory without a state is named. */
	unlink(path);
	err_init(&eb);
	assert_int_equal(calib_collect(&e, dir, &d, &c, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "state.db"));
	calib_data_cleanup(&d);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recovers_known_curve),
		cmocka_unit_test(test_uncertainty_covers),
		cmocka_unit_test(test_too_little_data),
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_collect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
