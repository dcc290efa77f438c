/*
 * config/units.c and the fee arithmetic of config/plan.c: durations, money
 * in integer cents, colours, half-up rounding, MTurk's fee rules.  Valid,
 * boundary and invalid cases, each table row named by its input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"

#include <string.h>

static void
test_duration_valid(void **state)
{
	static const struct {
		const char *in;
		int64_t secs;
	} cases[] = {
		{"30s", 30},	    {"5m", 300},	    {"3h", 10800},
		{"2d", 172800},	    {"0s", 0},		    {"1s", 1},
		{"365d", 31536000}, {"007m", 420},	    {"90s", 90},
		{"999999999s", 999999999},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -1;

		assert_int_equal(cfg_parse_duration(cases[i].in, &v), 0);
		if (v != cases[i].secs)
			fail_msg("%s: got %lld, want %lld", cases[i].in,
				 (long long)v, (long long)cases[i].secs);
	}
}

static void
test_duration_invalid(void **state)
{
	static const char *const bad[] = {
		"",    "s",    "30",  "5 m", " 5m", "5m ", "-5m", "+5m",
		"5M",  "1w",   "1.5h", "5mm", "1h30m", "1000000000s", "0x10s",
		"5\n",
	};
	int64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_duration(bad[i], &v) == 0)
			fail_msg("\"%s\" was accepted as %lld s", bad[i],
				 (long long)v);
	assert_int_equal(cfg_parse_duration(NULL, &v), -1);
	assert_int_equal(v, 42); /* untouched on failure */
}

static void
test_duration_format(void **state)
{
	static const struct {
		int64_t secs;
		const char *out;
	} cases[] = {
		{0, "0s"},     {30, "30s"}, {90, "90s"},	  {300, "5m"},
		{3600, "1h"},  {5400, "90m"}, {86400, "1d"}, {31536000, "365d"},
		{86401, "86401s"},
	};
	char buf[24];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t back;

		cfg_format_duration(cases[i].secs, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].out);
		/* What is printed reads back as the same number. */
		assert_int_equal(cfg_parse_duration(buf, &back), 0);
		assert_int_equal(back, cases[i].secs);
	}
}

static void
test_money_valid(void **state)
{
	static const struct {
		const char *in;
		int64_t cents;
	} cases[] = {
		{"0.15", 15},	{"5", 500},	    {"5.", 500},
		{"5.5", 550},	{"101.42", 10142}, {"0", 0},
		{"0.01", 1},	{"0.1", 10},	    {"20.00", 2000},
		{"000.07", 7},	{"999999999.99", 99999999999LL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -1;

		assert_int_equal(cfg_parse_money(cases[i].in, &v), 0);
		if (v != cases[i].cents)
			fail_msg("%s: got %lld, want %lld", cases[i].in,
				 (long long)v, (long long)cases[i].cents);
	}
}

static void
test_money_invalid(void **state)
{
	static const char *const bad[] = {
		"",	"0.155", "$0.15", "-1",	   "+1",   "1e2",  ".5",
		"0,15", "1 000", " 1",	  "1 ",	   "0.1.2", "1000000000",
		"abc",	"0x10",	 "1.2a", "NaN",
	};
	int64_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_money(bad[i], &v) == 0)
			fail_msg("\"%s\" was accepted as %lld cents", bad[i],
				 (long long)v);
	assert_int_equal(v, 42);
}

static void
test_money_format(void **state)
{
	char buf[32];

	(void)state;
	cfg_format_money(15, buf, sizeof(buf));
	assert_string_equal(buf, "0.15");
	cfg_format_money(2000, buf, sizeof(buf));
	assert_string_equal(buf, "20.00");
	cfg_format_money(0, buf, sizeof(buf));
	assert_string_equal(buf, "0.00");
	cfg_format_money(7, buf, sizeof(buf));
	assert_string_equal(buf, "0.07");
	cfg_format_money(-105, buf, sizeof(buf));
	assert_string_equal(buf, "-1.05");
	cfg_format_money(99999999999LL, buf, sizeof(buf));
	assert_string_equal(buf, "999999999.99");
}

static void
test_color(void **state)
{
	static const char *const bad[] = {
		"",	  "000000", "#00000", "#0000000", "#00000g", "#fff",
		"# 00000", "black",  "#-12345",
	};
	uint32_t rgb = 7;

	(void)state;
	assert_int_equal(cfg_parse_color("#000000", &rgb), 0);
	assert_int_equal(rgb, 0);
	assert_int_equal(cfg_parse_color("#FFa500", &rgb), 0);
	assert_int_equal(rgb, 0xFFA500);
	assert_int_equal(cfg_parse_color("#ffffff", &rgb), 0);
	assert_int_equal(rgb, 0xFFFFFF);
	assert_int_equal(cfg_parse_color("#010203", &rgb), 0);
	assert_int_equal(rgb, 0x010203);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cfg_parse_color(bad[i], &rgb) == 0)
			fail_msg("\"%s\" was accepted as %06x", bad[i], rgb);
	assert_int_equal(cfg_parse_color(NULL, &rgb), -1);
}

static void
test_half_up(void **state)
{
	(void)state;
	/* mturk-facts.md 1.8: $0.104 -> $0.10, $0.105 -> $0.11 (in mills). */
	assert_int_equal(cfg_div_half_up(104, 10), 10);
	assert_int_equal(cfg_div_half_up(105, 10), 11);
	assert_int_equal(cfg_div_half_up(1049, 100), 10);
	assert_int_equal(cfg_div_half_up(1050, 100), 11);
	assert_int_equal(cfg_div_half_up(0, 100), 0);
	assert_int_equal(cfg_div_half_up(49, 100), 0);
	assert_int_equal(cfg_div_half_up(50, 100), 1);
	assert_int_equal(cfg_div_half_up(1, 3), 0);
	assert_int_equal(cfg_div_half_up(2, 3), 1);
}

static void
test_fee(void **state)
{
	static const struct {
		int64_t reward;
		int workers;
		bool masters;
		int64_t fee;
	} cases[] = {
		/* 20%: the seed's $0.15 reward pays a $0.03 fee. */
		{15, 3, false, 3},
		{5, 3, false, 1}, /* the worked example of mturk-facts 1.8 */
		/* The minimum of $0.01: 20% of 1-4 cents rounds to 0 or 1. */
		{1, 1, false, 1},
		{2, 1, false, 1},
		{4, 9, false, 1},
		/* Half up: 20% of 53 = 10.6 -> 11; of 52 = 10.4 -> 10. */
		{53, 3, false, 11},
		{52, 3, false, 10},
		/* 40% from 10 assignments on, not at 9. */
		{15, 9, false, 3},
		{15, 10, false, 6},
		{15, 100, false, 6},
		{1, 10, false, 1},
		/* 40% of 26 = 10.4 -> 10; of 27 = 10.8 -> 11. */
		{26, 10, false, 10},
		{27, 10, false, 11},
		/* Masters: +5%.  25% of 15 = 3.75 -> 4; of 10 = 2.5 -> 3. */
		{15, 3, true, 4},
		{10, 3, true, 3},
		{10, 10, true, 5}, /* 45% of 10 = 4.5 -> 5 */
		{100000, 3, false, 20000},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = plan_fee_cents(cases[i].reward, cases[i].workers,
					     cases[i].masters);

		if (got != cases[i].fee)
			fail_msg("reward %lld x%d%s: fee %lld, want %lld",
				 (long long)cases[i].reward, cases[i].workers,
				 cases[i].masters ? " masters" : "",
				 (long long)got, (long long)cases[i].fee);
	}
}

static void
test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(cfg_edit_distance("workres", "workers"), 2);
	assert_int_equal(cfg_edit_distance("worker", "workers"), 1);
	assert_int_equal(cfg_edit_distance("", "abc"), 3);
	assert_int_equal(cfg_edit_distance("same", "same"), 0);
	assert_int_equal(cfg_edit_distance("kitten", "sitting"), 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_money_valid),
		cmocka_unit_test(test_money_invalid),
		cmocka_unit_test(test_money_format),
		cmocka_unit_test(test_color),
		cmocka_unit_test(test_half_up),
		cmocka_unit_test(test_fee),
		cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
