/*
 * daemon/stage.c stage_retry_delay: the backoff of a step that failed for
 * a passing reason doubles from 15 s to a cap of 15 minutes, and its
 * jitter never takes it below half nor above the whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"

#include <stdint.h>

static void
test_doubles_to_a_cap(void **state)
{
	/* r = UINT32_MAX % (d/2 + 1) is not d/2 in general; use exact ones. */
	static const int64_t want[] = {15, 30, 60, 120, 240, 480, 900, 900};

	(void)state;
	for (int n = 1; n <= 8; n++) {
		int64_t d = want[n - 1];
		/* r = d/2 gives the whole wait, r = 0 half of it. */
		assert_int_equal(stage_retry_delay(n, (uint32_t)(d / 2)),
				 d / 2 + d / 2);
		assert_int_equal(stage_retry_delay(n, 0), d / 2);
	}
	/* Far beyond the cap, and nonsense attempt numbers, stay bounded. */
	assert_int_equal(stage_retry_delay(1000, 0), 450);
	assert_int_equal(stage_retry_delay(0, 0), 7);
	assert_int_equal(stage_retry_delay(-5, 0), 7);
}

static void
test_jitter_within_bounds(void **state)
{
	(void)state;
	for (int n = 1; n <= 12; n++)
		for (uint32_t r = 0; r < 5000; r += 7) {
			int64_t d = stage_retry_delay(n, r * 2654435761u);
			int64_t hi = stage_retry_delay(n, 0) * 2 + 1;
			assert_true(d >= stage_retry_delay(n, 0));
			assert_true(d <= hi);
			assert_true(d >= 7 && d <= 900);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_a_cap),
		cmocka_unit_test(test_jitter_within_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
