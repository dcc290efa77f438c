/*
 * config/: loading experiment files, the plan and its cost, reload diffs.
 *
 * - every valid example and fixture loads, with its values checked;
 * - the corpus tests/fixtures/experiments/invalid/NAME.yaml is compared,
 *   message for message, with NAME.expected (exact FILE:LINE:COLUMN text);
 * - inline snippets cover the walker's rules one by one;
 * - the plan's arithmetic and exp_diff's rules on hand-made pairs.
 * Runs from the top of the tree (tests/run.sh does so).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "mturk/mturk.h"
#include "tests/support/scratch.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CORPUS "tests/fixtures/experiments/invalid"
#define VALID "tests/fixtures/experiments/valid"
#define IMAGES "tests/fixtures/experiments/images"

static int
setup(void **state)
{
	*state = scratch_new("cfg");
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return scratch_free(*state);
}

static struct experiment *
load_ok(const char *path)
{
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};

	if (exp_load(path, &e, &errs, &eb) != IF_OK) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			print_error("%s\n", errs.msgs[i]);
		fail_msg("%s does not load: %s", path, eb.msg);
	}
	assert_int_equal(errs.n, 0);
	exp_errors_cleanup(&errs);
	return e;
}

static void
test_examples(void **state)
{
	static const struct {
		const char *file;
		size_t nstages;
		int windows[5];
		enum exp_aggregate agg;
		const char *start_from; /* its stage 1 (41) comes first */
	} table[] = {
		/*
		 * Spec section 1's table of the seed's experiments: 3 and 4
		 * are 41, 21, 13 with their 41 taken from 1 and 2's stage 1
		 * (issue 17), so their own stages are 21, 13.
		 */
		{"examples/exp1.yaml", 5, {41, 27, 21, 17, 13}, EXP_AGG_UNION,
		 NULL},
		{"examples/exp2.yaml", 5, {41, 27, 21, 17, 13}, EXP_AGG_FIRST,
		 NULL},
		{"examples/exp3.yaml", 2, {21, 13}, EXP_AGG_UNION,
		 "state/exp1"},
		{"examples/exp4.yaml", 2, {21, 13}, EXP_AGG_FIRST,
		 "state/exp2"},
	};

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct experiment *e = load_ok(table[i].file);

		assert_int_equal(e->nstages, table[i].nstages);
		assert_memory_equal(e->stages, table[i].windows,
				    table[i].nstages * sizeof(int));
		if (table[i].start_from == NULL) {
			assert_null(e->start_from.state_dir);
		} else {
			assert_string_equal(e->start_from.state_dir,
					    table[i].start_from);
			assert_int_equal(e->start_from.stage, 1);
		}
		assert_int_equal(e->aggregate, table[i].agg);
		/* The seed study: 3 workers, $0.15, 5 minutes, sandbox. */
		assert_int_equal(e->hit.workers, 3);
		assert_int_equal(e->hit.reward_cents, 15);
		assert_int_equal(e->hit.assignment_duration, 300);
		assert_int_equal(e->mturk.environment, EXP_ENV_SANDBOX);
		assert_int_equal(e->images_host.kind, EXP_HOST_S3);
		assert_int_equal(e->budget_cents, 2000);
		assert_int_equal(e->nimages, 4);
		assert_string_equal(e->images[0].id, "astronaut");
		assert_string_equal(e->images[0].file, "images/astronaut.jpg");
		assert_string_equal(e->images[0].path,
				    "examples/images/astronaut.jpg");
		assert_int_equal(e->images[0].width, 512);
		assert_int_equal(e->images[0].height, 512);
		assert_int_equal(e->images[0].format, IMG_FORMAT_JPEG);
		assert_int_equal(e->images[0].nground_truth, 1);
		assert_int_equal(e->images[0].ground_truth[0].x, 179);
		assert_int_equal(e->images[0].ground_truth[0].h, 92);
		assert_true(e->images[1].has_ground_truth);
		assert_int_equal(e->images[1].nground_truth, 0);
		assert_int_equal(e->images[2].nground_truth, 7);
		assert_int_equal(e->images[3].width, 480);
		assert_int_equal(e->images[3].height, 438);
		assert_non_null(exp_image_find(e, "shop"));
		assert_null(exp_image_find(e, "nope"));
		exp_free(e);
	}
	exp_free(load_ok("examples/demo.yaml"));
}

static void
test_defaults(void **state)
{
	struct experiment *e = load_ok(VALID "/minimal.yaml");

	(void)state;
	assert_string_equal(e->source, VALID "/minimal.yaml");
	assert_string_equal(e->name, "minimal");
	assert_int_equal(e->mturk.environment, EXP_ENV_SIMULATOR);
	assert_null(e->mturk.endpoint);
	assert_string_equal(e->mturk.region, "us-east-1");
	assert_null(e->mturk.profile);
	assert_int_equal(e->mturk.poll_interval, 30);
	assert_string_equal(e->hit.title,
			    "Box anything that could identify a person");
	assert_non_null(e->hit.description);
	assert_int_equal(e->hit.nkeywords, 3);
	assert_string_equal(e->hit.keywords[2], "faces");
	assert_int_equal(e->hit.reward_cents, 15);
	assert_int_equal(e->hit.workers, 3);
	assert_int_equal(e->hit.assignment_duration, 300);
	assert_int_equal(e->hit.lifetime, 86400);
	assert_int_equal(e->hit.auto_approval_delay, 3 * 86400);
	assert_int_equal(e->hit.approve, EXP_APPROVE_AUTO);
	assert_true(e->hit.exclusive_stages);
	assert_int_equal(e->hit.max_extensions, 3);
	assert_int_equal(e->hit.nquals, 0);
	assert_int_equal(e->nstages, 5);
	assert_int_equal(e->stages[0], 41);
	assert_int_equal(e->stages[4], 13);
	assert_int_equal(e->aggregate, EXP_AGG_UNION);
	assert_string_equal(e->task.title, TASK_TEXT_TITLE);
	assert_string_equal(e->task.instructions, TASK_TEXT_INSTRUCTIONS);
	assert_non_null(strstr(e->task.instructions,
			       "When you are unsure whether a region shows a "
			       "face, box it."));
	assert_string_equal(e->task.face_question, TASK_TEXT_FACE_QUESTION);
	assert_false(e->task.confidence);
	assert_string_equal(e->task.confidence_label, TASK_TEXT_CONFIDENCE);
	assert_int_equal(e->redact.style, REDACT_FILL);
	assert_int_equal(e->redact.color, 0);
	assert_int_equal(e->images_host.kind, EXP_HOST_SIMULATOR);
	assert_int_equal(e->images_host.url_expiry, 0);
	assert_int_equal(e->budget_cents, -1);
	assert_string_equal(e->output_dir, VALID "/out");
	assert_int_equal(e->nimages, 0);
	assert_null(e->images);
	exp_free(e);
}

static void
test_full(void **state)
{
	struct experiment *e = load_ok(VALID "/full.yaml");
	const struct exp_qual *q;

	(void)state;
	assert_string_equal(e->name, "full-exp-2");
	assert_int_equal(e->mturk.environment, EXP_ENV_PRODUCTION);
	assert_string_equal(e->mturk.endpoint,
			    "https://mturk.example.org:8443/api");
	assert_string_equal(e->mturk.region, "us-west-2");
	assert_string_equal(e->mturk.profile, "lab");
	assert_int_equal(e->mturk.poll_interval, 120);
	assert_string_equal(e->hit.title, "Find the faces");
	assert_int_equal(e->hit.nkeywords, 3);
	assert_string_equal(e->hit.keywords[1], "blur");
	assert_int_equal(e->hit.reward_cents, 150);
	assert_int_equal(e->hit.workers, 10);
	assert_int_equal(e->hit.assignment_duration, 90);
	assert_int_equal(e->hit.lifetime, 7200);
	assert_int_equal(e->hit.auto_approval_delay, 0);
	assert_int_equal(e->hit.approve, EXP_APPROVE_MANUAL);
	assert_false(e->hit.exclusive_stages);
	assert_int_equal(e->hit.max_extensions, 0);
	assert_int_equal(e->hit.nquals, 4);
	q = &e->hit.quals[0];
	assert_string_equal(q->id, "000000000000000000L0");
	assert_int_equal(q->comparator, EXP_CMP_GREATER_THAN_OR_EQUAL_TO);
	assert_int_equal(q->nintegers, 1);
	assert_int_equal(q->integers[0], 95);
	assert_int_equal(q->guard, EXP_GUARD_NONE);
	assert_null(exp_guard_str(q->guard));
	q = &e->hit.quals[1];
	assert_int_equal(q->comparator, EXP_CMP_IN);
	assert_int_equal(q->nlocales, 2);
	assert_string_equal(q->locales[0].country, "US");
	assert_string_equal(q->locales[0].subdivision, "");
	assert_string_equal(q->locales[1].country, "CA");
	assert_string_equal(q->locales[1].subdivision, "QC");
	assert_string_equal(exp_guard_str(q->guard),
			    "DiscoverPreviewAndAccept");
	assert_int_equal(e->hit.quals[2].comparator, EXP_CMP_EXISTS);
	assert_string_equal(exp_comparator_str(e->hit.quals[3].comparator),
			    "NotIn");
	assert_int_equal(e->hit.quals[3].nintegers, 3);
	assert_int_equal(e->nstages, 3);
	assert_int_equal(e->stages[1], 15);
	assert_int_equal(e->aggregate, EXP_AGG_MAJORITY);
	assert_int_equal(e->redact.style, REDACT_PIXELATE);
	assert_int_equal(e->redact.color, 0xFFA500);
	assert_int_equal(e->images_host.kind, EXP_HOST_LOCAL);
	assert_string_equal(e->images_host.dir, VALID "/www/stage-images");
	assert_string_equal(e->images_host.base_url,
			    "https://example.org/stage-images/");
	assert_int_equal(e->budget_cents, 10000);
	assert_string_equal(e->output_dir, "/tmp/intofocus-full-out");
	assert_int_equal(e->nimages, 3);
	assert_int_equal(e->images[0].format, IMG_FORMAT_PNG);
	assert_int_equal(e->images[0].nground_truth, 2);
	/* EXIF orientation 6: stored 8x4, displayed 4x8. */
	assert_int_equal(e->images[1].width, 4);
	assert_int_equal(e->images[1].height, 8);
	assert_false(e->images[2].has_ground_truth);
	assert_int_equal(e->images[2].line, 47);
	exp_free(e);
}

/* hit.exclusivity_group: the slots, their names, and without a group. */
static void
test_group_slots(void **state)
{
	struct experiment *e = load_ok(VALID "/group.yaml");
	char name[128];

	(void)state;
	assert_string_equal(e->hit.group.name, "study");
	assert_int_equal(exp_qual_slots(e), 5);
	assert_int_equal(exp_qual_slot(e, 1), 4);
	assert_int_equal(exp_qual_slot(e, 2), 5);
	exp_qual_slot_name(e, 2, name, sizeof(name));
	assert_string_equal(name, "intofocus group study stage 2");
	exp_free(e);

	e = load_ok(VALID "/minimal.yaml");
	assert_null(e->hit.group.name);
	assert_int_equal(exp_qual_slots(e), (int)e->nstages);
	assert_int_equal(exp_qual_slot(e, 3), 3);
	exp_qual_slot_name(e, 3, name, sizeof(name));
	assert_string_equal(name, "intofocus minimal stage 3");
	exp_free(e);
}

static void
test_valid_fixtures(void **state)
{
	DIR *d = opendir(VALID);
	struct dirent *de;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		char path[512];
		size_t l = strlen(de->d_name);

		if (l < 6 || strcmp(de->d_name + l - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", VALID, de->d_name);
		exp_free(load_ok(path));
		n++;
	}
	closedir(d);
	assert_true(n >= 4);
}

static char *
slurp(const char *path)
{
	struct errbuf eb = {0};
	struct buf b;

	buf_init(&b, 1 << 20);
	if (read_file(path, &b, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	return buf_steal(&b, NULL);
}

/* One corpus file: its messages, joined by newlines, are NAME.expected. */
static void
check_corpus_file(const char *yaml)
{
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	char expected_path[512], *want;
	struct buf got;
	int rc;

	snprintf(expected_path, sizeof(expected_path), "%.*s.expected",
		 (int)(strlen(yaml) - 5), yaml);
	want = slurp(expected_path);
	rc = exp_load(yaml, &e, &errs, &eb);
	if (rc != IF_EINPUT)
		fail_msg("%s: exp_load returned %d, want 2", yaml, rc);
	assert_null(e);
	buf_init(&got, 0);
	for (size_t i = 0; i < errs.nmsgs; i++)
		buf_printf(&got, "%s\n", errs.msgs[i]);
	if (strcmp(got.data != NULL ? got.data : "", want) != 0) {
		print_error("--- %s\n%s+++ got\n%s", expected_path, want,
			    got.data != NULL ? got.data : "");
		fail_msg("%s: messages differ", yaml);
	}
	assert_int_equal(errs.n, errs.nmsgs);
	/* The errbuf carries the first message and the count. */
	assert_true(errs.nmsgs >= 1);
	assert_memory_equal(eb.msg, errs.msgs[0], strlen(errs.msgs[0]));
	if (errs.n > 1) {
		char tail[64];

		snprintf(tail, sizeof(tail), " (%zu errors in all)", errs.n);
		assert_string_equal(eb.msg + strlen(errs.msgs[0]), tail);
	}
	buf_cleanup(&got);
	exp_errors_cleanup(&errs);
	free(want);
}

static void
test_invalid_corpus(void **state)
{
	struct dirent **names = NULL;
	int n, files = 0;

	(void)state;
	n = scandir(CORPUS, &names, NULL, alphasort);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		char path[512];
		size_t l = strlen(names[i]->d_name);

		if (l > 5 && strcmp(names[i]->d_name + l - 5, ".yaml") == 0) {
			snprintf(path, sizeof(path), "%s/%s", CORPUS,
				 names[i]->d_name);
			check_corpus_file(path);
			files++;
		}
		free(names[i]);
	}
	free(names);
	assert_true(files >= 30);
}

/* ---- snippets ----------------------------------------------------------- */

#define HEAD "name: t\nmturk:\n  environment: simulator\n"
#define HIT "hit:\n  reward: \"0.15\"\n"

struct snippet {
	const char *what;
	const char *yaml;  /* IMG is replaced by the tiny PNG's path */
	const char *first; /* expected first message, after "FILE:" */
	size_t count;	   /* expected number of messages */
};

static void
run_snippet(struct scratch *s, const struct snippet *sn)
{
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	char img[1200], *text, *at;
	struct buf b;
	const char *path;
	size_t plen;

	snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top, IMAGES);
	buf_init(&b, 0);
	for (const char *p = sn->yaml; *p != '\0';) {
		if ((at = strstr(p, "IMG")) == NULL) {
			buf_append_str(&b, p);
			break;
		}
		buf_append(&b, p, (size_t)(at - p));
		buf_append_str(&b, img);
		p = at + 3;
	}
	text = buf_steal(&b, NULL);
	path = scratch_write(s, "snippet.yaml", text);
	plen = strlen(path);
	if (sn->first == NULL) {
		if (exp_load(path, &e, &errs, &eb) != IF_OK)
			fail_msg("%s: refused: %s", sn->what, eb.msg);
		exp_free(e);
	} else {
		const char *m;

		if (exp_load(path, &e, &errs, &eb) != IF_EINPUT)
			fail_msg("%s: accepted", sn->what);
		assert_true(errs.nmsgs >= 1);
		/* "FILE:LINE:COL: message" or "FILE: message". */
		m = errs.msgs[0] + plen + 1;
		if (*m == ' ')
			m++;
		if (strncmp(errs.msgs[0], path, plen) != 0 ||
		    strcmp(m, sn->first) != 0)
			fail_msg("%s:\n got: %s\nwant: %s", sn->what, m,
				 sn->first);
		if (errs.n != sn->count) {
			for (size_t i = 0; i < errs.nmsgs; i++)
				print_error("%s\n", errs.msgs[i]);
			fail_msg("%s: %zu messages, want %zu", sn->what,
				 errs.n, sn->count);
		}
	}
	exp_errors_cleanup(&errs);
	free(text);
}

static void
test_snippets(void **state)
{
	static const struct snippet cases[] = {
		{"smallest valid", HEAD HIT "images: []\n", NULL, 0},
		{"images key required", HEAD HIT,
		 "1:1: missing key \"images\"", 1},
		{"typo in a nested key",
		 HEAD "hit:\n  reward: \"0.15\"\n  titel: x\nimages: []\n",
		 "6:3: unknown key \"titel\" (did you mean \"title\"?)", 1},
		{"case of a key", HEAD HIT "Images: []\nimages: []\n",
		 "6:1: unknown key \"Images\" (did you mean \"images\"?)", 1},
		{"misplaced key", HEAD HIT "images: []\nworkers: 3\n",
		 "7:1: unknown key \"workers\" (it belongs under hit:)", 1},
		{"far from any key", HEAD HIT "images: []\nzzzzzz: 1\n",
		 "7:1: unknown key \"zzzzzz\"", 1},
		{"key that is a list", HEAD HIT "images: []\n[a]: 1\n",
		 "7:1: a key must be a word, not a list", 1},
		{"duplicate section", HEAD HIT HIT "images: []\n",
		 "6:1: duplicate key \"hit\" (first at line 4)", 1},
		{"windows decrease", HEAD HIT "images: []\nstages: [41, 43]\n",
		 "7:14: stages: window 43 after 41: windows must strictly "
		 "decrease, from the heaviest blur to the lightest (a typo?)",
		 1},
		{"one stage is fine", HEAD HIT "images: []\nstages: [5]\n",
		 NULL, 0},
		{"task texts", HEAD HIT "images: []\ntask:\n  title: T\n"
		 "  instructions: |\n    one\n\n    two\n"
		 "  face_question: Q?\n  confidence: true\n", NULL, 0},
		{"task title empty", HEAD HIT "images: []\ntask:\n  title: "
		 "\"\"\n", "8:10: task.title: must not be empty", 1},
		{"task typo", HEAD HIT "images: []\ntask:\n  confidense: "
		 "true\n", "8:3: unknown key \"confidense\" (did you mean "
		 "\"confidence\"?)", 1},
		{"weighted majority needs the slider",
		 HEAD HIT "images: []\naggregate: majority-weighted\n",
		 "7:12: aggregate: majority-weighted weighs votes by the "
		 "workers' confidences: set task.confidence: true", 1},
		{"weighted majority with the slider",
		 HEAD HIT "images: []\naggregate: majority-weighted\n"
		 "task:\n  confidence: true\n", NULL, 0},
		{"window bound", HEAD HIT "images: []\nstages: [1003]\n",
		 "7:10: stages: 1003 is out of range 1..1001", 1},
		{"window quoted", HEAD HIT "images: []\nstages: [\"41\"]\n",
		 "7:10: stages: expected an integer, found the quoted string "
		 "\"41\"",
		 1},
		{"reward unquoted is still exact",
		 HEAD "hit:\n  reward: 0.15\nimages: []\n", NULL, 0},
		{"reward 1 decimal",
		 HEAD "hit:\n  reward: \"0.1\"\nimages: []\n", NULL, 0},
		{"budget zero is allowed", HEAD HIT "images: []\nbudget_usd: "
						    "\"0\"\n",
		 NULL, 0},
		{"budget with a sign", HEAD HIT "images: []\nbudget_usd: "
						"\"-5\"\n",
		 "7:13: budget_usd: \"-5\" is not an amount of USD like "
		 "\"0.15\" (digits, at most 2 decimals, no sign or $)",
		 1},
		{"workers 100 is the bound", HEAD HIT "  workers: 100\n"
						      "images: []\n",
		 NULL, 0},
		{"workers 1 is the bound", HEAD HIT "  workers: 1\n"
						    "images: []\n",
		 NULL, 0},
		{"workers float", HEAD HIT "  workers: 2.5\nimages: []\n",
		 "6:12: hit.workers: expected an integer, found \"2.5\"", 1},
		{"durations at the bounds",
		 HEAD HIT "  assignment_duration: 30s\n  lifetime: 365d\n"
			  "  auto_approval_delay: 30d\nimages: []\n",
		 NULL, 0},
		{"auto approval 0", HEAD HIT "  auto_approval_delay: 0s\n"
					     "images: []\n",
		 NULL, 0},
		{"lifetime 29s", HEAD HIT "  lifetime: 29s\nimages: []\n",
		 "6:13: hit.lifetime: 29s is out of range 30s..365d", 1},
		{"poll 0s", "name: t\nmturk:\n  environment: simulator\n"
			    "  poll_interval: 0s\n" HIT "images: []\n",
		 "4:18: mturk.poll_interval: 0s is out of range 1s..1h", 1},
		{"poll 1h", "name: t\nmturk:\n  environment: simulator\n"
			    "  poll_interval: 1h\n" HIT "images: []\n",
		 NULL, 0},
		{"http on 127.0.0.2 is loopback",
		 "name: t\nmturk:\n  environment: sandbox\n"
		 "  endpoint: http://127.0.0.2:9000/\n" HIT
		 "images_host: {kind: local, dir: d, base_url: "
		 "\"http://[::1]:80/\"}\nimages: []\n",
		 NULL, 0},
		{"http on localhost6 is not",
		 "name: t\nmturk:\n  environment: simulator\n"
		 "  endpoint: http://128.0.0.1/\n" HIT "images: []\n",
		 "4:13: mturk.endpoint: \"http://128.0.0.1/\" must use "
		 "https:// "
		 "(plain http:// is allowed only on a loopback address such "
		 "as 127.0.0.1)",
		 1},
		{"ftp endpoint",
		 "name: t\nmturk:\n  environment: simulator\n"
		 "  endpoint: ftp://127.0.0.1/\n" HIT "images: []\n",
		 "4:13: mturk.endpoint: \"ftp://127.0.0.1/\" must use https://",
		 1},
		{"production is never a default",
		 "name: t\n" HIT "images: []\nimages_host: {kind: s3, bucket: "
		 "abc}\n",
		 NULL, 0},
		{"production with a budget",
		 "name: t\nmturk: {environment: production}\n" HIT
		 "images: []\nbudget_usd: \"5\"\nimages_host: {kind: s3, "
		 "bucket: abc}\n",
		 NULL, 0},
		{"ground truth at the edge",
		 HEAD HIT "images:\n  - {id: a, file: IMG, ground_truth: "
			  "[[7, 5, 1, 1]]}\n",
		 NULL, 0},
		{"ground truth one past the edge",
		 HEAD HIT "images:\n  - {id: a, file: IMG, ground_truth: "
			  "[[7, 5, 2, 1]]}\n",
		 NULL, 1},
		{"the images limit of ids",
		 HEAD HIT "images:\n  - {id: a"
			  "123456789012345678901234567890"
			  "123456789012345678901234567890"
			  "1234, file: IMG}\n",
		 "7:10: images[1].id: 65 characters, at most 64", 1},
		{"a scalar document", "just words\n",
		 "1:1: an experiment is a mapping of keys (name:, hit:, "
		 "images:, ...), not a string",
		 1},
		{"document marker only", "---\n",
		 "the file is empty: an experiment needs at least name, "
		 "hit.reward and images",
		 1},
		{"a comment after a tab is harmless",
		 HEAD HIT "images: []\t# ok\n", NULL, 0},
	};
	struct scratch *s = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].first == NULL && cases[i].count > 0) {
			/* Only the count matters (the path is long). */
			struct exp_errors errs = {0};
			struct experiment *e = NULL;
			struct errbuf eb = {0};
			struct snippet sn = cases[i];
			char img[1200], yaml[2048], *at;

			snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top,
				 IMAGES);
			at = strstr(sn.yaml, "IMG");
			snprintf(yaml, sizeof(yaml), "%.*s%s%s",
				 (int)(at - sn.yaml), sn.yaml, img, at + 3);
			assert_int_equal(
				exp_load(scratch_write(s, "n.yaml", yaml), &e,
					 &errs, &eb),
				IF_EINPUT);
			assert_int_equal(errs.n, sn.count);
			assert_non_null(strstr(errs.msgs[0],
					       "box [7, 5, 2, 1] is not inside "
					       "the 8x6 image"));
			exp_errors_cleanup(&errs);
			continue;
		}
		run_snippet(s, &cases[i]);
	}
}

static void
test_many_errors_capped(void **state)
{
	struct scratch *s = *state;
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	struct buf b;

	buf_init(&b, 0);
	buf_append_str(&b, HEAD HIT "images: []\n");
	for (int i = 0; i < 300; i++)
		buf_printf(&b, "unknown%d: 1\n", i);
	assert_int_equal(exp_load(scratch_write(s, "many.yaml", b.data), &e,
				  &errs, &eb),
			 IF_EINPUT);
	assert_int_equal(errs.n, 300);
	assert_int_equal(errs.nmsgs, EXP_ERRORS_MAX);
	assert_non_null(strstr(eb.msg, "(300 errors in all)"));
	exp_errors_cleanup(&errs);
	buf_cleanup(&b);
}

static void
test_unreadable(void **state)
{
	struct scratch *s = *state;
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	struct buf b;

	(void)state;
	/* No error list: the errbuf alone carries the message. */
	assert_int_equal(exp_load("tests/no/such.yaml", &e, NULL, &eb),
			 IF_EINPUT);
	assert_string_equal(eb.msg, "tests/no/such.yaml: cannot open: No such "
				    "file or directory");
	assert_null(e);
	buf_init(&b, 0);
	while (b.len <= EXP_FILE_MAX)
		buf_append_str(&b, "# padding padding padding padding\n");
	err_init(&eb);
	assert_int_equal(exp_load(scratch_write(s, "big.yaml", b.data), &e,
				  NULL, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "larger than the limit"));
	buf_cleanup(&b);
	/* Without an error list, an invalid file still says what is wrong. */
	err_init(&eb);
	assert_int_equal(exp_load(CORPUS "/workers-range.yaml", &e, NULL, &eb),
			 IF_EINPUT);
	assert_string_equal(eb.msg, CORPUS "/workers-range.yaml:6:12: "
					   "hit.workers: 101 is out of range "
					   "1..100");
}

/* ---- plan --------------------------------------------------------------- */

static void
test_plan(void **state)
{
	struct experiment *e = load_ok("examples/exp1.yaml");
	struct exp_plan p;

	(void)state;
	plan_compute(e, &p);
	assert_int_equal(p.nimages, 4);
	assert_int_equal(p.nstages, 5);
	assert_int_equal(p.hits, 20);
	assert_int_equal(p.assignments, 60);
	assert_int_equal(p.fee_percent, 20);
	assert_int_equal(p.reward_cents, 15);
	assert_int_equal(p.fee_cents, 3);
	assert_int_equal(p.hit_cents, 54);
	assert_int_equal(plan_hit_cents(e), 54);
	assert_int_equal(p.image_cents, 270);
	assert_int_equal(p.rewards_cents, 900);
	assert_int_equal(p.fees_cents, 180);
	assert_int_equal(p.total_cents, 1080);
	assert_true(p.has_budget);
	assert_int_equal(p.budget_left_cents, 920);
	assert_false(p.over_budget);
	assert_int_equal(p.images_affordable, 4);

	/* Over budget: $6.00 pays for two whole images of $2.70. */
	e->budget_cents = 600;
	plan_compute(e, &p);
	assert_true(p.over_budget);
	assert_int_equal(p.budget_left_cents, -480);
	assert_int_equal(p.images_affordable, 2);
	/* Exactly the cost is not over. */
	e->budget_cents = 1080;
	plan_compute(e, &p);
	assert_false(p.over_budget);
	assert_int_equal(p.budget_left_cents, 0);
	/* No budget. */
	e->budget_cents = -1;
	plan_compute(e, &p);
	assert_false(p.has_budget);
	assert_false(p.over_budget);
	assert_int_equal(p.images_affordable, 4);
	/* Ten workers: 40%, and 10 x (15 + 6) per HIT. */
	e->hit.workers = 10;
	plan_compute(e, &p);
	assert_int_equal(p.fee_percent, 40);
	assert_int_equal(p.fee_cents, 6);
	assert_int_equal(p.hit_cents, 210);
	assert_int_equal(p.total_cents, 20 * 210);
	exp_free(e);

	/* full.yaml: 10 workers and a Masters requirement, 45% of $1.50. */
	e = load_ok(VALID "/full.yaml");
	assert_true(plan_uses_masters(e));
	plan_compute(e, &p);
	assert_int_equal(p.fee_percent, 45);
	assert_int_equal(p.fee_cents, 68); /* 67.5 rounds half up */
	assert_int_equal(p.hit_cents, 10 * (150 + 68));
	assert_int_equal(p.total_cents, 3 * 3 * 10 * 218);
	exp_free(e);
}

/* ---- diff --------------------------------------------------------------- */

static const char diff_base[] =
	"name: d\nmturk:\n  environment: simulator\nhit:\n  reward: \"0.15\"\n"
	"budget_usd: \"10\"\nimages:\n"
	"  - {id: a, file: IMG, ground_truth: [[0, 0, 2, 2]]}\n"
	"  - {id: b, file: IMG}\n";

/* Loads diff_base with one text replacement (from -> to; from NULL: none). */
static struct experiment *
load_variant(struct scratch *s, const char *name, const char *from,
	     const char *to)
{
	char img[1200], text[4096], tmp[4096], *at;

	snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top, IMAGES);
	snprintf(text, sizeof(text), "%s", diff_base);
	if (from != NULL) {
		at = strstr(text, from);
		assert_non_null(at);
		snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(at - text), text,
			 to, at + strlen(from));
		snprintf(text, sizeof(text), "%s", tmp);
	}
	while ((at = strstr(text, "IMG")) != NULL) {
		snprintf(tmp, sizeof(tmp), "%.*s%s%s", (int)(at - text), text,
			 img, at + 3);
		snprintf(text, sizeof(text), "%s", tmp);
	}
	return load_ok(scratch_write(s, name, text));
}

static void
expect_refused(const struct experiment *a, const struct experiment *b,
	       const char *const *started, size_t n, const char *needle)
{
	struct exp_diff d;
	struct errbuf eb = {0};

	assert_int_equal(exp_diff(a, b, started, n, &d, &eb), IF_EINPUT);
	if (strstr(eb.msg, needle) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", eb.msg, needle);
	assert_null(d.added);
	assert_int_equal(d.nadded, 0);
	exp_diff_cleanup(&d);
}

static void
test_diff(void **state)
{
	struct scratch *s = *state;
	const char *const started_a[] = {"a"};
	const char *const started_ab[] = {"a", "b"};
	struct experiment *base = load_variant(s, "base.yaml", NULL, NULL);
	struct experiment *v;
	struct exp_diff d;
	struct errbuf eb = {0};

	/* Identical: nothing to do, with or without started images. */
	v = load_variant(s, "same.yaml", NULL, NULL);
	assert_int_equal(exp_diff(base, v, started_ab, 2, &d, &eb), IF_OK);
	assert_int_equal(d.nadded + d.nremoved + d.nchanged, 0);
	assert_false(d.budget_changed);
	exp_diff_cleanup(&d);
	exp_free(v);

	/* A new image and a new budget apply while images run. */
	{
		char img[1200], text[4096];

		snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top, IMAGES);
		snprintf(text, sizeof(text),
			 "name: d\nmturk:\n  environment: simulator\nhit:\n"
			 "  reward: \"0.15\"\nbudget_usd: \"12.50\"\nimages:\n"
			 "  - {id: c, file: %s}\n"
			 "  - {id: a, file: %s, ground_truth: [[0, 0, 2, 2]]}\n"
			 "  - {id: b, file: %s}\n",
			 img, img, img);
		v = load_ok(scratch_write(s, "grow2.yaml", text));
	}
	assert_int_equal(exp_diff(base, v, started_ab, 2, &d, &eb), IF_OK);
	assert_int_equal(d.nadded, 1);
	assert_int_equal(d.added[0], 0);
	assert_string_equal(v->images[d.added[0]].id, "c");
	assert_true(d.budget_changed);
	assert_int_equal(d.old_budget_cents, 1000);
	assert_int_equal(d.new_budget_cents, 1250);
	exp_diff_cleanup(&d);
	exp_free(v);

	/* Removing or changing an image not started yet is allowed. */
	v = load_variant(s, "drop.yaml", "  - {id: b, file: IMG}\n", "");
	assert_int_equal(exp_diff(base, v, started_a, 1, &d, &eb), IF_OK);
	assert_int_equal(d.nremoved, 1);
	assert_string_equal(base->images[d.removed[0]].id, "b");
	exp_diff_cleanup(&d);
	exp_free(v);
	v = load_variant(s, "chg.yaml", "{id: b, file: IMG}",
			 "{id: b, file: IMG, ground_truth: []}");
	assert_int_equal(exp_diff(base, v, started_a, 1, &d, &eb), IF_OK);
	assert_int_equal(d.nchanged, 1);
	assert_string_equal(v->images[d.changed[0]].id, "b");
	exp_diff_cleanup(&d);
	/* ... but not once it has started. */
	expect_refused(base, v, started_ab, 2,
		       "image \"b\" changed (file or ground truth), but it "
		       "has started");
	exp_free(v);
	v = load_variant(s, "drop2.yaml", "  - {id: b, file: IMG}\n", "");
	expect_refused(base, v, started_ab, 2,
		       "image \"b\" was removed, but it has started");
	exp_free(v);
	v = load_variant(s, "gt.yaml", "[[0, 0, 2, 2]]", "[[0, 0, 3, 2]]");
	expect_refused(base, v, started_a, 1, "image \"a\" changed");
	exp_free(v);

	/* Shared settings: fine before any image starts, refused after. */
	v = load_variant(s, "reward.yaml", "\"0.15\"", "\"0.20\"");
	assert_int_equal(exp_diff(base, v, NULL, 0, &d, &eb), IF_OK);
	exp_diff_cleanup(&d);
	expect_refused(base, v, started_a, 1,
		       "hit.reward changed, but 1 image has started (\"a\" "
		       "first)");
	exp_free(v);
	v = load_variant(s, "stages.yaml", "budget_usd", "stages: [41, 21]\n"
							 "budget_usd");
	expect_refused(base, v, started_ab, 2,
		       "stages changed, but 2 images have started");
	exp_free(v);
	v = load_variant(s, "kw.yaml", "hit:\n", "hit:\n  keywords: [x]\n");
	expect_refused(base, v, started_a, 1, "hit.keywords changed");
	exp_free(v);
	v = load_variant(s, "color.yaml", "budget_usd",
			 "redact: {color: \"#ffffff\"}\nbudget_usd");
	expect_refused(base, v, started_a, 1, "redact.color changed");
	exp_free(v);

	/* Name and environment never change, started or not. */
	v = load_variant(s, "name.yaml", "name: d", "name: e");
	expect_refused(base, v, NULL, 0, "name changed: a reload cannot");
	exp_free(v);
	exp_free(NULL); /* a no-op */
	exp_free(base);
}

static void
test_diff_environment(void **state)
{
	struct scratch *s = *state;
	struct experiment *a, *b;
	char img[1200], text[2048];

	snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top, IMAGES);
	snprintf(text, sizeof(text),
		 "name: d\nmturk: {environment: simulator}\nhit: {reward: "
		 "\"0.15\"}\nimages: [{id: a, file: %s}]\n",
		 img);
	a = load_ok(scratch_write(s, "env1.yaml", text));
	snprintf(text, sizeof(text),
		 "name: d\nmturk: {environment: sandbox}\nhit: {reward: "
		 "\"0.15\"}\nimages: [{id: a, file: %s}]\n"
		 "images_host: {kind: s3, bucket: abc}\n",
		 img);
	b = load_ok(scratch_write(s, "env2.yaml", text));
	expect_refused(a, b, NULL, 0, "mturk.environment changed");
	exp_free(a);
	exp_free(b);
}

/* ---- hostile input ------------------------------------------------------ */

static uint64_t
xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Seeded mutations of a file that uses most keys: whatever the bytes,
 * exp_load() either accepts the file or refuses it with at least one
 * positioned message naming the file; never a crash, a leak (under ASan)
 * or an out-of-range read.  The seed is fixed, so a failure replays.
 */
static void
test_mutations(void **state)
{
	static const char special[] = ":-[]{}\"'#\t\n &*!|>%@`,?~\\\0";
	static const unsigned char high[] = {0xff, 0xc3, 0xe2, 0x80, 0xfe};
	struct scratch *s = *state;
	char img[1200], base[4096], path[256];
	uint64_t rng = 0x9E3779B97F4A7C15ULL;
	int accepted = 0, refused = 0;

	snprintf(img, sizeof(img), "%s/%s/tiny.png", s->top, IMAGES);
	snprintf(base, sizeof(base),
		 "# A comment: mutations here, and in the description below,\n"
		 "# leave a valid file, so both outcomes are exercised.\n"
		 "# Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n"
		 "name: m\nmturk:\n  environment: simulator\n"
		 "  poll_interval: 5s\nhit:\n  title: \"T\"\n"
		 "  description: \"Sed do eiusmod tempor incididunt ut labore "
		 "et dolore magna aliqua. Ut enim ad minim veniam, quis "
		 "nostrud exercitation ullamco laboris nisi ut aliquip ex "
		 "ea commodo\"\n"
		 "  keywords: [a, b]\n  reward: \"0.15\"\n  workers: 3\n"
		 "  lifetime: 1h\n  qualifications:\n"
		 "    - {id: \"00000000000000000071\", comparator: In, "
		 "locale: [US, \"CA-QC\"]}\n"
		 "stages: [41, 21, 13]\naggregate: first\n"
		 "redact: {style: median, color: \"#102030\"}\n"
		 "budget_usd: \"9.99\"\nimages:\n"
		 "  - id: a\n    file: %s\n    ground_truth: [[1, 1, 2, 2]]\n",
		 img);
	snprintf(path, sizeof(path), "%s/mut.yaml", s->dir);
	for (int iter = 0; iter < 600; iter++) {
		struct exp_errors errs = {0};
		struct experiment *e = NULL;
		struct errbuf eb = {0};
		char text[8192];
		size_t len = strlen(base), pos;
		int edits = 1 + (int)(xorshift(&rng) % 4);
		FILE *fp;
		int rc;

		memcpy(text, base, len);
		for (int k = 0; k < edits && len > 2; k++) {
			pos = xorshift(&rng) % len;
			switch (xorshift(&rng) % 5) {
			case 0: /* replace a byte by a YAML-significant one */
				text[pos] = special[xorshift(&rng) %
						    (sizeof(special) - 1)];
				break;
			case 1: /* a byte that is not UTF-8 on its own */
				text[pos] = (char)high[xorshift(&rng) %
						       sizeof(high)];
				break;
			case 2: { /* delete a run */
				size_t n = 1 + xorshift(&rng) % 8;

				if (pos + n > len)
					n = len - pos;
				memmove(text + pos, text + pos + n,
					len - pos - n);
				len -= n;
				break;
			}
			case 3: { /* duplicate a run */
				size_t n = 1 + xorshift(&rng) % 16;

				if (pos + n > len)
					n = len - pos;
				if (len + n < sizeof(text)) {
					memmove(text + pos + n, text + pos,
						len - pos);
					len += n;
				}
				break;
			}
			default: /* truncate */
				len = pos;
				break;
			}
		}
		fp = fopen(path, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(text, 1, len, fp), len);
		fclose(fp);
		rc = exp_load(path, &e, &errs, &eb);
		if (rc == IF_OK) {
			assert_non_null(e);
			assert_int_equal(errs.n, 0);
			exp_free(e);
			accepted++;
		} else {
			if (rc != IF_EINPUT)
				fail_msg("iteration %d: status %d: %s", iter,
					 rc, eb.msg);
			assert_null(e);
			assert_true(errs.n >= 1);
			for (size_t i = 0; i < errs.nmsgs; i++)
				assert_memory_equal(errs.msgs[i], path,
						    strlen(path));
			refused++;
		}
		exp_errors_cleanup(&errs);
	}
	print_message("# %d accepted, %d refused\n", accepted, refused);
	/* Both outcomes happen, or the mutations test nothing. */
	assert_true(accepted > 30);
	assert_true(refused > 300);
}

static void
test_keys_format(void **state)
{
	static const char *const lines[] = {
		"name: string, 1-40 characters, required; SIGHUP: never\n",
		"mturk.environment: simulator | sandbox | production "
		"[default: sandbox]; SIGHUP: never\n",
		"hit.workers: integer 1..100 [default: 3]; SIGHUP: before any "
		"image starts\n",
		"hit.auto_approval_delay: duration 0s..30d [default: 3d];",
		"hit.reward: USD amount, e.g. \"0.15\", required;",
		"budget_usd: USD amount, e.g. \"0.15\"; SIGHUP: any time\n",
		"images_host.url_expiry: duration 1s..7d (kind s3);",
		"hit.qualifications[].comparator: LessThan | ",
		"images[].file: string, 1-1024 characters, required\n",
		"hit.exclusivity_group.first_stage: integer 1..16 "
		"[default: 1];",
		"images: list, required; SIGHUP: new images start",
	};
	struct buf b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(exp_keys_format(&b), IF_OK);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (strstr(b.data, lines[i]) == NULL)
			fail_msg("--keys lacks: %s", lines[i]);
	buf_cleanup(&b);
}

/* ---- recruitment: (issue 16) -------------------------------------------- */

#define PROLIFIC_OK                                                     \
	"budget_usd: \"100\"\nrecruitment:\n  platform: prolific\n"     \
	"  study_id: 6571f0aa\n  completion_code: C1A2B3C4\n"           \
	"  reward_usd: \"2.00\"\n  places: 40\n"

static void
test_recruitment_values(void **state)
{
	struct scratch *s = *state;
	struct experiment *e;

	e = load_ok(scratch_write(s, "mturk.yaml", HEAD HIT "images: []\n"));
	assert_int_equal(e->recruitment.platform, EXP_PLATFORM_MTURK);
	assert_null(e->recruitment.study_id);
	exp_free(e);

	e = load_ok(scratch_write(s, "p.yaml",
				  HEAD HIT "images: []\n" PROLIFIC_OK
				  "  tasks_per_participant: 5\n"
				  "  bonus_per_task_usd: \"0.05\"\n"
				  "  fee: academic\n  vat_percent: 20\n"
				  "  api_url: http://127.0.0.1:9/\n"));
	assert_int_equal(e->recruitment.platform, EXP_PLATFORM_PROLIFIC);
	assert_string_equal(e->recruitment.study_id, "6571f0aa");
	assert_string_equal(e->recruitment.completion_code, "C1A2B3C4");
	assert_int_equal(e->recruitment.reward_cents, 200);
	assert_int_equal(e->recruitment.places, 40);
	assert_int_equal(e->recruitment.tasks_per_participant, 5);
	assert_int_equal(e->recruitment.bonus_per_task_cents, 5);
	assert_int_equal(e->recruitment.fee, EXP_FEE_ACADEMIC);
	assert_int_equal(e->recruitment.fee_bp, 3330);
	assert_int_equal(e->recruitment.vat_bp, 2000);
	assert_string_equal(e->recruitment.api_url, "http://127.0.0.1:9/");
	assert_string_equal(exp_platform_str(e->recruitment.platform),
			    "prolific");
	assert_string_equal(exp_fee_str(e->recruitment.fee), "academic");
	exp_free(e);

	/* The defaults: corporate fee, no VAT, no bonus, the real API. */
	e = load_ok(scratch_write(s, "d.yaml",
				  HEAD HIT "images: []\n" PROLIFIC_OK));
	assert_int_equal(e->recruitment.fee, EXP_FEE_CORPORATE);
	assert_int_equal(e->recruitment.currency, EXP_CURRENCY_USD);
	assert_int_equal(e->recruitment.fee_bp, 4280);
	assert_int_equal(e->recruitment.fee_percent_bp, -1);
	assert_int_equal(e->recruitment.vat_bp, 0);
	assert_int_equal(e->recruitment.bonus_per_task_cents, 0);
	assert_int_equal(e->recruitment.tasks_per_participant, 0);
	assert_null(e->recruitment.api_url);
	exp_free(e);

	/* fee_percent wins over the published rates; "%" is optional. */
	e = load_ok(scratch_write(s, "f.yaml",
				  HEAD HIT "images: []\n" PROLIFIC_OK
				  "  fee_percent: 12.5%\n"));
	assert_int_equal(e->recruitment.fee_bp, 1250);
	exp_free(e);
}

static void
test_recruitment_rules(void **state)
{
	static const struct snippet cases[] = {
		{"prolific, all required keys", HEAD HIT "images: []\n"
		 PROLIFIC_OK, NULL, 0},
		{"unknown platform", HEAD HIT "images: []\nrecruitment:\n"
		 "  platform: upwork\n",
		 "8:13: recruitment.platform: \"upwork\" is not one of mturk, "
		 "prolific", 1},
		{"prolific keys with mturk", HEAD HIT "images: []\n"
		 "recruitment:\n  platform: mturk\n  study_id: abc\n",
		 "9:3: recruitment.study_id: only with platform prolific", 1},
		{"prolific needs its keys", HEAD HIT "images: []\n"
		 "budget_usd: \"5\"\nrecruitment:\n  platform: prolific\n",
		 "9:3: recruitment.study_id: required with platform prolific",
		 4},
		{"prolific needs a budget", HEAD HIT "images: []\n"
		 "recruitment:\n  platform: prolific\n"
		 "  study_id: 6571f0aa\n  completion_code: C1A2B3C4\n"
		 "  reward_usd: \"2.00\"\n  places: 40\n",
		 "8:13: recruitment.platform: prolific pays real money: set "
		 "budget_usd to cap it", 1},
		{"study id with a slash", HEAD HIT "images: []\n"
		 "budget_usd: \"100\"\nrecruitment:\n  platform: prolific\n"
		 "  study_id: a/b\n  completion_code: C1A2B3C4\n"
		 "  reward_usd: \"2.00\"\n  places: 40\n",
		 "10:13: recruitment.study_id: \"a/b\" may use only A-Z, a-z, "
		 "0-9, '_' and '-' (1-64 characters)", 1},
		{"negative reward", HEAD HIT "images: []\n"
		 "budget_usd: \"100\"\nrecruitment:\n  platform: prolific\n"
		 "  study_id: s1\n  completion_code: C1\n"
		 "  reward_usd: \"-2\"\n  places: 40\n",
		 "12:15: recruitment.reward_usd: \"-2\" is not an amount of "
		 "USD like \"0.15\" (digits, at most 2 decimals, no sign or "
		 "$)", 1},
		{"zero places", HEAD HIT "images: []\n"
		 "budget_usd: \"100\"\nrecruitment:\n  platform: prolific\n"
		 "  study_id: s1\n  completion_code: C1\n"
		 "  reward_usd: \"2\"\n  places: 0\n",
		 "13:11: recruitment.places: 0 is out of range 1..1000000", 1},
		{"fee and fee_percent", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  fee: academic\n  fee_percent: 30\n",
		 "15:16: recruitment.fee_percent: give either fee or "
		 "fee_percent, not both", 1},
		{"fee percent over 100", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  fee_percent: 101\n",
		 "14:16: recruitment.fee_percent: \"101\" is not a percentage "
		 "like 20 or 42.8 (0 to 100, at most two decimals)", 1},
		{"vat with three decimals", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  vat_percent: 20.125\n",
		 "14:16: recruitment.vat_percent: \"20.125\" is not a "
		 "percentage like 20 or 42.8 (0 to 100, at most two "
		 "decimals)", 1},
		{"bonus without tasks", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  bonus_per_task_usd: \"0.05\"\n",
		 "14:23: recruitment.bonus_per_task_usd: needs "
		 "recruitment.tasks_per_participant (the most bonuses one "
		 "submission can earn)", 1},
		{"plain http api", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  api_url: http://api.prolific.com\n",
		 "14:12: recruitment.api_url: \"http://api.prolific.com\" must "
		 "use https:// (plain http:// is allowed only on a loopback "
		 "address such as 127.0.0.1)", 1},
		{"no token in YAML", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  token: abc\n",
		 "14:3: unknown key \"token\"", 1},
		{"a study in USD", HEAD HIT "images: []\n" PROLIFIC_OK
		 "  currency: USD\n", NULL, 0},
		{"a study in GBP cannot meet budget_usd", HEAD HIT
		 "images: []\n" PROLIFIC_OK "  currency: GBP\n",
		 "14:13: recruitment.currency: a study paid in GBP cannot be "
		 "priced: reward_usd, bonus_per_task_usd and budget_usd are "
		 "USD amounts and no exchange rate is known; create the study "
		 "in USD on Prolific", 1},
		{"a currency Prolific does not pay in", HEAD HIT
		 "images: []\n" PROLIFIC_OK "  currency: EUR\n",
		 "14:13: recruitment.currency: \"EUR\" is not one of USD, GBP",
		 1},
	};
	struct scratch *s = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_snippet(s, &cases[i]);
}

static void
test_enum_names(void **state)
{
	(void)state;
	assert_string_equal(exp_env_str(EXP_ENV_SANDBOX), "sandbox");
	assert_string_equal(exp_env_str(EXP_ENV_PRODUCTION), "production");
	assert_string_equal(exp_aggregate_str(EXP_AGG_MAJORITY), "majority");
	assert_string_equal(exp_aggregate_str(EXP_AGG_MAJORITY_WEIGHTED),
			    "majority-weighted");
	assert_string_equal(exp_approve_str(EXP_APPROVE_MANUAL), "manual");
	assert_string_equal(exp_host_kind_str(EXP_HOST_LOCAL), "local");
	assert_string_equal(exp_comparator_str(EXP_CMP_DOES_NOT_EXIST),
			    "DoesNotExist");
	assert_string_equal(exp_guard_str(EXP_GUARD_ACCEPT), "Accept");
	assert_string_equal(exp_redact_style_str(REDACT_MEDIAN), "median");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_valid_fixtures),
		cmocka_unit_test(test_group_slots),
		cmocka_unit_test(test_invalid_corpus),
		cmocka_unit_test(test_snippets),
		cmocka_unit_test(test_many_errors_capped),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_diff_environment),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_keys_format),
		cmocka_unit_test(test_enum_names),
		cmocka_unit_test(test_recruitment_values),
		cmocka_unit_test(test_recruitment_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
