/*
 * config/: windows fitted to the image, the detector and simulator
 * sections (issue 17).  Expected windows are worked out by hand in the
 * comments: the odd number nearest to the share of the shorter side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 500x375 and 480x438, from examples/images. */
#define FAMILY "examples/images/family.jpg"
#define SHOP "examples/images/shop.jpg"

static char top[1024];

static const char *
write_yaml(const char *body)
{
	static char path[1100];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/build/test_windows.yaml", top);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp,
		"name: t\nmturk:\n  environment: simulator\n"
		"hit:\n  reward: \"0.15\"\n%s",
		body);
	fclose(fp);
	return path;
}

/* The file with "@" replaced by the repository's top directory. */
static struct experiment *
load_ok(const char *body)
{
	struct experiment *e = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct buf b;
	char *text;

	buf_init(&b, 0);
	for (const char *p = body; *p != '\0'; p++)
		if (*p == '@')
			buf_append_str(&b, top);
		else
			buf_append(&b, p, 1);
	text = buf_steal(&b, NULL);
	if (exp_load(write_yaml(text), &e, &errs, &eb) != IF_OK) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			print_error("%s\n", errs.msgs[i]);
		fail_msg("refused: %s", eb.msg);
	}
	exp_errors_cleanup(&errs);
	free(text);
	return e;
}

/* Refused, with want in the first message at "FILE:LINE:COL: ". */
static void
load_bad(const char *body, int line, int col, const char *want)
{
	struct experiment *e = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	char pos[64];
	struct buf b;
	char *text;
	const char *path;

	buf_init(&b, 0);
	for (const char *p = body; *p != '\0'; p++)
		if (*p == '@')
			buf_append_str(&b, top);
		else
			buf_append(&b, p, 1);
	text = buf_steal(&b, NULL);
	path = write_yaml(text);
	assert_int_equal(exp_load(path, &e, &errs, &eb), IF_EINPUT);
	assert_null(e);
	assert_true(errs.nmsgs >= 1);
	snprintf(pos, sizeof(pos), ":%d:%d: ", line, col);
	if (strncmp(errs.msgs[0], path, strlen(path)) != 0 ||
	    strncmp(errs.msgs[0] + strlen(path), pos, strlen(pos)) != 0 ||
	    strstr(errs.msgs[0], want) == NULL)
		fail_msg("got: %s\nwant%s... %s", errs.msgs[0], pos, want);
	exp_errors_cleanup(&errs);
	free(text);
}

static void
test_units(void **state)
{
	struct exp_length l;
	char s[16];
	int bp;

	(void)state;
	assert_int_equal(cfg_parse_percent("3%", &bp), 0);
	assert_int_equal(bp, 300);
	assert_int_equal(cfg_parse_percent("2.5%", &bp), 0);
	assert_int_equal(bp, 250);
	assert_int_equal(cfg_parse_percent("0.25%", &bp), 0);
	assert_int_equal(bp, 25);
	assert_int_equal(cfg_parse_percent("100%", &bp), 0);
	assert_int_equal(bp, 10000);
	assert_int_equal(cfg_parse_percent("100.01%", &bp), -1);
	assert_int_equal(cfg_parse_percent("0%", &bp), -1);
	assert_int_equal(cfg_parse_percent("1.234%", &bp), -1);
	assert_int_equal(cfg_parse_percent("3", &bp), -1);
	assert_int_equal(cfg_parse_percent("3.%", &bp), -1);
	assert_int_equal(cfg_parse_percent("-3%", &bp), -1);
	assert_int_equal(cfg_parse_percent("3%%", &bp), -1);
	cfg_format_percent(250, s, sizeof(s));
	assert_string_equal(s, "2.5%");
	cfg_format_percent(25, s, sizeof(s));
	assert_string_equal(s, "0.25%");
	assert_int_equal(cfg_parse_length("41", 1001, &l), 0);
	assert_true(l.px == 41 && l.bp == 0);
	assert_int_equal(cfg_parse_length("1002", 1001, &l), -1);
	assert_int_equal(cfg_parse_length("4x", 1001, &l), -1);
	assert_int_equal(cfg_parse_length("3%", 1001, &l), 0);
	assert_true(l.bp == 300);
	cfg_format_length(&l, s, sizeof(s));
	assert_string_equal(s, "3%");
	/* 3% of 3000 = 90 -> 91; 3% of 100 = 3 -> 3; 0.01% of 100 -> 3. */
	l = (struct exp_length){.bp = 300};
	assert_int_equal(exp_window_resolve(&l, 4000, 3000), 91);
	assert_int_equal(exp_window_resolve(&l, 100, 200), 3);
	l = (struct exp_length){.bp = 1};
	assert_int_equal(exp_window_resolve(&l, 100, 100), 3);
	/* 100% of 4000 is over the widest window. */
	l = (struct exp_length){.bp = 10000};
	assert_int_equal(exp_window_resolve(&l, 4000, 4000), EXP_WINDOW_MAX);
	l = (struct exp_length){.px = 27};
	assert_int_equal(exp_window_resolve(&l, 10, 10), 27);
}

static void
test_relative_stages(void **state)
{
	struct experiment *e;
	/*
	 * family 500x375: 8% = 30 -> 31, 5% = 18.75 -> 19, 3% = 11.25 ->
	 * 11, 2% = 7.5 -> 7.  shop 480x438: 8% = 35.04 -> 35, 5% = 21.9 ->
	 * 21, 3% = 13.14 -> 13, 2% = 8.76 -> 9.
	 */
	static const int fam[] = {31, 19, 11, 7}, shop[] = {35, 21, 13, 9};

	(void)state;
	e = load_ok("stages: [8%, 5%, 3%, 2%]\nimages:\n"
		    "  - {id: fam, file: @/" FAMILY "}\n"
		    "  - {id: shop, file: @/" SHOP "}\n");
	assert_int_equal(e->nstages, 4);
	assert_memory_equal(e->images[0].windows, fam, sizeof(fam));
	assert_memory_equal(e->images[1].windows, shop, sizeof(shop));
	/* stages[] holds the widest: the heavier blur. */
	assert_memory_equal(e->stages, shop, sizeof(shop));
	for (size_t k = 1; k <= 4; k++) {
		assert_int_equal(exp_window(e, "fam", k), fam[k - 1]);
		assert_int_equal(exp_window(e, "shop", k), shop[k - 1]);
		assert_int_equal(exp_window(e, "other", k), shop[k - 1]);
	}
	assert_int_equal(exp_window(e, "fam", 5), 0);
	assert_int_equal(exp_window(e, "fam", 0), 0);
	exp_free(e);
}

static void
test_own_schedule(void **state)
{
	struct experiment *e;
	static const int fam[] = {41, 27, 13}, shop[] = {21, 13, 5};

	(void)state;
	/* A mixed schedule: 21 px, then 3% of 438 = 13.14 -> 13, then 5. */
	e = load_ok("stages: [41, 27, 13]\nimages:\n"
		    "  - {id: fam, file: @/" FAMILY "}\n"
		    "  - {id: shop, file: @/" SHOP ", windows: [21, 3%, 5]}\n");
	assert_memory_equal(e->images[0].windows, fam, sizeof(fam));
	assert_memory_equal(e->images[1].windows, shop, sizeof(shop));
	assert_memory_equal(e->stages, fam, sizeof(fam));
	assert_int_equal(e->images[1].nwindow_specs, 3);
	exp_free(e);
}

static void
test_sections_defaults(void **state)
{
	struct experiment *e;

	(void)state;
	e = load_ok("images: []\n");
	assert_false(e->detector.enabled);
	assert_int_equal(e->detector.ncascades, 2);
	assert_string_equal(e->detector.cascades[0], "frontalface_alt2");
	assert_string_equal(e->detector.cascades[1], "profileface");
	assert_int_equal(e->detector.min_face.px, 20);
	assert_int_equal(e->detector.min_face.bp, 0);
	assert_int_equal(e->detector.margin_bp, 1000);
	assert_true(e->sim_crowd.k == 3.0 && e->sim_crowd.x0 == 1.0);
	assert_true(e->sim_crowd.spurious == 0.1);
	assert_true(e->sim_crowd.jitter == 0.1);
	exp_free(e);
	e = load_ok("images: []\ndetector:\n  enabled: true\n"
		    "  cascades: [frontalface_default]\n  min_face: 1.5%\n"
		    "  margin: 0%\nsimulator:\n  crowd_k: 2.25\n"
		    "  crowd_x0: 0.8\n  spurious_rate: 0\n  jitter: 0.05\n");
	assert_true(e->detector.enabled);
	assert_int_equal(e->detector.ncascades, 1);
	assert_int_equal(e->detector.min_face.bp, 150);
	assert_int_equal(e->detector.margin_bp, 0);
	assert_true(e->sim_crowd.k == 2.25 && e->sim_crowd.x0 == 0.8);
	assert_true(e->sim_crowd.spurious == 0.0);
	assert_true(e->sim_crowd.jitter == 0.05);
	exp_free(e);
}

static void
test_errors(void **state)
{
	(void)state;
	/* Lines count from the file's top: 5 lines of head come first. */
	load_bad("stages: [41, 3.333%]\nimages: []\n", 6, 14,
		 "stages: \"3.333%\" is not a share");
	load_bad("stages: [5%, 5%]\nimages: []\n", 6, 14,
		 "window 5% after 5%: windows must strictly decrease");
	/* 1% and 0.9% of 375 both resolve to 3 px. */
	load_bad("stages: [1%, 0.9%]\nimages:\n"
		 "  - {id: fam, file: @/" FAMILY "}\n",
		 6, 9, "its windows resolve to [3, 3] on the 500x375 image");
	load_bad("stages: [41, 27]\nimages:\n"
		 "  - {id: fam, file: @/" FAMILY ", windows: [9]}\n",
		 8,
		 (int)(strlen("  - {id: fam, file: ") + strlen(top) +
		       strlen("/" FAMILY ", windows: ") + 1),
		 "images[1].windows: 1 windows for 2 stages");
	load_bad("images: []\ndetector:\n  margin: 150%\n", 8, 11,
		 "detector.margin: \"150%\" is not a percentage");
	load_bad("images: []\ndetector:\n  min_face: 0\n", 8, 13,
		 "detector.min_face: \"0\" is not a length");
	load_bad("images: []\ndetector:\n  enabled: true\n"
		 "  cascades: [frontalface_alt2, nosuch]\n",
		 9, 32, "haarcascade_nosuch.xml");
	load_bad("images: []\ndetector:\n  cascades: []\n", 8, 13,
		 "detector.cascades: 1 to 8 cascades");
	load_bad("images: []\nsimulator:\n  crowd_k: x\n", 8, 12,
		 "simulator.crowd_k: expected a number");
	load_bad("images: []\nsimulator:\n  spurious_rate: 1.5\n", 8, 18,
		 "simulator.spurious_rate: 1.5 is out of range 0..1");
	load_bad("images: []\nsimulator:\n  crowd_k: \"3\"\n", 8, 12,
		 "simulator.crowd_k: expected a number, found the quoted");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_relative_stages),
		cmocka_unit_test(test_own_schedule),
		cmocka_unit_test(test_sections_defaults),
		cmocka_unit_test(test_errors),
	};

	if (getcwd(top, sizeof(top)) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
