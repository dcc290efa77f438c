/*
 * Stage 0, the starting boxes (issue 17): the keys images[].boxes,
 * images[].boxes_file and start_from with every error they can give; a
 * reload that changes a started image's starting boxes; start_from's
 * reading of another experiment's state (start_source_boxes,
 * stage0_preview): its stages 0..N with their origins, and the refusals
 * naming directory, stage and image.  And the renders: the daemon, in one
 * process on the embedded simulator and a clock of the test's, serves a
 * first stage image that is byte for byte the stage render with stage 0
 * redacted, and writes a final image that includes it.  calibrate takes
 * no observation of a face stage 0 hides.  Runs from the top of the tree.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "config/config.h"
#include "daemon/daemon.h"
#include "mturk/mturk.h"
#include "tests/support/scratch.h"

#include <curl/curl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PHOTO "tests/fixtures/daemon/group.jpg" /* 320x240 */

static int
setup(void **state)
{
	*state = scratch_new("stage0");
	return *state != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	return scratch_free(*state);
}

/*
 * An experiment named name of one image "group" (the fixture photo) with
 * extra lines under the image (image) and at the top level (top).
 */
static const char *
write_exp(struct scratch *x, const char *file, const char *name,
	  const char *image, const char *top)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "name: %s\nmturk:\n  environment: simulator\n"
		 "hit:\n  reward: \"0.15\"\n%s"
		 "images:\n  - id: group\n    file: %s/%s\n%s",
		 name, top, x->top, PHOTO, image);
	return scratch_write(x, file, text);
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
	exp_errors_cleanup(&errs);
	return e;
}

/* Loading fails with exactly one message containing want. */
static void
load_fails(const char *path, const char *want)
{
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};

	assert_int_equal(exp_load(path, &e, &errs, &eb), IF_EINPUT);
	assert_null(e);
	if (errs.nmsgs != 1 || strstr(errs.msgs[0], want) == NULL) {
		for (size_t i = 0; i < errs.nmsgs; i++)
			print_error("%s\n", errs.msgs[i]);
		fail_msg("wanted one error with \"%s\"", want);
	}
	exp_errors_cleanup(&errs);
}

static void
test_keys_load(void **state)
{
	struct scratch *x = *state;
	struct experiment *e;
	char dir[128];

	scratch_write(x, "g.boxes.json", "[[1, 2, 3, 4], [300, 200, 20, 40]]");
	e = load_ok(write_exp(x, "a.yaml", "a",
			      "    boxes: [[40, 50, 48, 60]]\n"
			      "    boxes_file: g.boxes.json\n",
			      "start_from:\n  state_dir: ../other\n"
			      "  stage: 2\n"));
	assert_int_equal(e->images[0].nboxes, 1);
	assert_int_equal(e->images[0].boxes[0].x, 40);
	assert_int_equal(e->images[0].boxes[0].h, 60);
	assert_int_equal(e->images[0].nfile_boxes, 2);
	assert_int_equal(e->images[0].file_boxes[1].x, 300);
	assert_int_equal(e->images[0].file_boxes[1].h, 40);
	assert_string_equal(e->images[0].boxes_file, "g.boxes.json");
	/*
	 * Paths are relative to the experiment file, like the images', and
	 * "DIR/../other" is "other" beside DIR.
	 */
	snprintf(dir, sizeof(dir), "%.*s/other",
		 (int)(strrchr(x->dir, '/') - x->dir), x->dir);
	assert_string_equal(e->start_from.state_dir, dir);
	assert_int_equal(e->start_from.stage, 2);
	exp_free(e);
	/* None of them: no starting boxes, no start. */
	e = load_ok(write_exp(x, "b.yaml", "b", "", ""));
	assert_int_equal(e->images[0].nboxes, 0);
	assert_int_equal(e->images[0].nfile_boxes, 0);
	assert_null(e->start_from.state_dir);
	exp_free(e);
	/* An empty list is no box. */
	scratch_write(x, "empty.json", "[]");
	e = load_ok(write_exp(x, "c.yaml", "c",
			      "    boxes: []\n    boxes_file: empty.json\n",
			      ""));
	assert_int_equal(e->images[0].nboxes, 0);
	assert_int_equal(e->images[0].nfile_boxes, 0);
	exp_free(e);
}

static void
test_key_errors(void **state)
{
	struct scratch *x = *state;

	load_fails(write_exp(x, "e1.yaml", "e",
			     "    boxes: [[310, 0, 20, 20]]\n", ""),
		   "images[1].boxes: box [310, 0, 20, 20] is not inside the "
		   "320x240 image");
	load_fails(write_exp(x, "e2.yaml", "e", "    boxes: [[1, 2, 3]]\n",
			     ""),
		   "images[1].boxes: a box is [x, y, w, h], four integers");
	load_fails(write_exp(x, "e3.yaml", "e", "    boxes: [[1, 2, 0, 3]]\n",
			     ""),
		   "boxes");
	load_fails(write_exp(x, "e4.yaml", "e", "    boxes: 3\n", ""),
		   "boxes");
	load_fails(write_exp(x, "e5.yaml", "e",
			     "    boxes_file: missing.json\n", ""),
		   "images[1].boxes_file: ");
	scratch_write(x, "bad.json", "[[1, 2, 3, 4],");
	load_fails(write_exp(x, "e6.yaml", "e", "    boxes_file: bad.json\n",
			     ""),
		   "bad.json:1:");
	scratch_write(x, "obj.json", "{\"boxes\": []}");
	load_fails(write_exp(x, "e7.yaml", "e", "    boxes_file: obj.json\n",
			     ""),
		   "expected a list of [x, y, w, h] boxes");
	scratch_write(x, "neg.json", "[[0, 0, 5, 5], [-1, 0, 5, 5]]");
	load_fails(write_exp(x, "e8.yaml", "e", "    boxes_file: neg.json\n",
			     ""),
		   "box 2: a box is [x, y, w, h], four integers");
	scratch_write(x, "out.json", "[[0, 230, 5, 11]]");
	load_fails(write_exp(x, "e9.yaml", "e", "    boxes_file: out.json\n",
			     ""),
		   "box 1 [0, 230, 5, 11] is not inside the 320x240 image");
	scratch_write(x, "empty-file.json", "");
	load_fails(write_exp(x, "e10.yaml", "e",
			     "    boxes_file: empty-file.json\n", ""),
		   "empty-file.json: empty");
	load_fails(write_exp(x, "e11.yaml", "e", "",
			     "start_from:\n  stage: 1\n"),
		   "start_from: missing key \"state_dir\"");
	load_fails(write_exp(x, "e12.yaml", "e", "",
			     "start_from:\n  state_dir: x\n"),
		   "start_from: missing key \"stage\"");
	load_fails(write_exp(x, "e13.yaml", "e", "",
			     "start_from:\n  state_dir: x\n  stage: 0\n"),
		   "start_from.stage");
	load_fails(write_exp(x, "e14.yaml", "e", "",
			     "start_from:\n  state_dir: x\n  stage: 1\n"
			     "  stages: 2\n"),
		   "unknown key \"stages\"");
}

/* Changing a started image's starting boxes is refused on reload. */
static void
test_reload(void **state)
{
	struct scratch *x = *state;
	struct experiment *a, *b, *c;
	const char *started[] = {"group"};
	struct exp_diff d;
	struct errbuf eb = {0};

	scratch_write(x, "one.json", "[[1, 1, 5, 5]]");
	scratch_write(x, "two.json", "[[2, 2, 5, 5]]");
	a = load_ok(write_exp(x, "r1.yaml", "r",
			      "    boxes: [[40, 50, 48, 60]]\n"
			      "    boxes_file: one.json\n",
			      ""));
	b = load_ok(write_exp(x, "r2.yaml", "r",
			      "    boxes: [[40, 50, 48, 61]]\n"
			      "    boxes_file: one.json\n",
			      ""));
	c = load_ok(write_exp(x, "r3.yaml", "r",
			      "    boxes: [[40, 50, 48, 60]]\n"
			      "    boxes_file: two.json\n",
			      ""));
	assert_int_equal(exp_diff(a, b, started, 1, &d, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "image \"group\" changed (its "
				       "starting boxes)"));
	err_init(&eb);
	/* What the file holds counts, not its name. */
	assert_int_equal(exp_diff(a, c, started, 1, &d, &eb), IF_EINPUT);
	err_init(&eb);
	/* Not started yet: the image changes. */
	assert_int_equal(exp_diff(a, b, NULL, 0, &d, &eb), IF_OK);
	assert_int_equal(d.nchanged, 1);
	exp_diff_cleanup(&d);
	assert_int_equal(exp_diff(a, a, started, 1, &d, &eb), IF_OK);
	assert_int_equal(d.nchanged, 0);
	exp_diff_cleanup(&d);
	exp_free(a);
	exp_free(b);
	exp_free(c);
}

/*
 * The state of experiment "src": image group (the fixture photo) with a
 * stage 0 of its own and stages 1 and 2 finished; image street at stage 2,
 * its stage 1 finished only.
 */
static void
make_source(struct scratch *x, const char *dir, const char *fingerprint)
{
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec im = {0};
	struct stage0_box own = {{5, 6, 7, 8}, "detector"};
	bool inserted = false;

	(void)x;
	assert_int_equal(state_open(dir, "src", &st, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "group");
	snprintf(im.fingerprint, sizeof(im.fingerprint), "%s", fingerprint);
	im.state = IMAGE_RENDER;
	im.stage = 3;
	im.attempt = 1;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	snprintf(im.id, sizeof(im.id), "street");
	im.stage = 2;
	im.state = IMAGE_WAIT;
	assert_int_equal(store_image_insert(st, &im, &eb), IF_OK);
	assert_int_equal(store_stage0_put(st, "group", &own, 1, 1, &inserted,
					  &eb),
			 IF_OK);
	assert_int_equal(store_stage_result_put(st, "group", 1, 41,
						"[[10,20,30,40]]", 3, 2, &eb),
			 IF_OK);
	assert_int_equal(store_stage_result_put(st, "group", 2, 21,
						"[[50,60,7,8],[1,1,2,2]]", 3,
						3, &eb),
			 IF_OK);
	assert_int_equal(store_stage_result_put(st, "street", 1, 41, "[]", 3,
						2, &eb),
			 IF_OK);
	state_close(st);
}

static void
test_source_boxes(void **state)
{
	struct scratch *x = *state;
	struct experiment *e;
	struct start_source *s = NULL;
	struct stage0_box *b = NULL;
	struct errbuf eb = {0};
	char dir[128], fp[65];
	size_t n = 0;
	bool shared = false;

	snprintf(dir, sizeof(dir), "%s/src-state", x->dir);
	assert_int_equal(file_fingerprint(PHOTO, fp, &eb), IF_OK);
	make_source(x, dir, fp);
	e = load_ok(write_exp(x, "f.yaml", "follow", "",
			      "start_from:\n  state_dir: src-state\n"
			      "  stage: 2\n"));
	assert_int_equal(start_source_open(e, &s, &eb), IF_OK);
	assert_string_equal(start_source_name(s), "src");
	/* Stages 0..2 of the other, in order, each with its origin. */
	assert_int_equal(start_source_boxes(s, "group", fp, &b, &n, &shared,
					    &eb),
			 IF_OK);
	assert_true(shared);
	assert_int_equal(n, 4);
	assert_int_equal(b[0].box.x, 5);
	assert_string_equal(b[0].origin, "experiment src stage 0");
	assert_int_equal(b[1].box.x, 10);
	assert_string_equal(b[1].origin, "experiment src stage 1");
	assert_int_equal(b[2].box.x, 50);
	assert_string_equal(b[3].origin, "experiment src stage 2");
	free(b);
	/* An image the other does not have: nothing, and not an error. */
	assert_int_equal(start_source_boxes(s, "cat", fp, &b, &n, &shared,
					    &eb),
			 IF_OK);
	assert_false(shared);
	assert_null(b);
	assert_int_equal(n, 0);
	/* Its stage 2 is not finished for street. */
	assert_int_equal(start_source_boxes(s, "street", fp, &b, &n, &shared,
					    &eb),
			 IF_EINPUT);
	assert_null(b);
	assert_non_null(strstr(eb.msg, "src-state: experiment src has not "
				       "finished stage 2 of image street (it "
				       "is wait at stage 2)"));
	err_init(&eb);
	/* Another photo under the same id. */
	assert_int_equal(start_source_boxes(s, "group", "beef", &b, &n,
					    &shared, &eb),
			 IF_EINPUT);
	assert_non_null(strstr(eb.msg, "image group of experiment src is "
				       "another photo"));
	start_source_close(s);
	exp_free(e);
}

static void
test_source_refusals(void **state)
{
	struct scratch *x = *state;
	struct experiment *e;
	struct start_source *s = NULL;
	struct stage0_preview p;
	struct errbuf eb = {0};
	char dir[128], fp[65];

	/* No state there yet: refused by run, a warning for check. */
	e = load_ok(write_exp(x, "n.yaml", "follow", "",
			      "start_from:\n  state_dir: nowhere\n"
			      "  stage: 1\n"));
	assert_int_equal(start_source_open(e, &s, &eb), IF_EINPUT);
	assert_null(s);
	assert_non_null(strstr(eb.msg, "start_from: "));
	assert_non_null(strstr(eb.msg, "nowhere/state.db: no state yet"));
	err_init(&eb);
	assert_int_equal(stage0_preview(e, &p, &eb), IF_OK);
	assert_non_null(p.problem);
	assert_non_null(strstr(p.problem, "no state yet"));
	assert_int_equal(p.counts[0], 0);
	stage0_preview_free(&p);
	exp_free(e);
	/* Its own state. */
	snprintf(dir, sizeof(dir), "%s/src-state", x->dir);
	assert_int_equal(file_fingerprint(PHOTO, fp, &eb), IF_OK);
	make_source(x, dir, fp);
	e = load_ok(write_exp(x, "o.yaml", "src", "",
			      "start_from:\n  state_dir: src-state\n"
			      "  stage: 1\n"));
	assert_int_equal(start_source_open(e, &s, &eb), IF_EINPUT);
	assert_non_null(strstr(eb.msg, "the experiment's own state"));
	exp_free(e);
	/* check's view: the image's own boxes, then the other's. */
	err_init(&eb);
	e = load_ok(write_exp(x, "p.yaml", "follow",
			      "    boxes: [[0, 0, 4, 4]]\n",
			      "start_from:\n  state_dir: src-state\n"
			      "  stage: 1\n"));
	assert_int_equal(stage0_preview(e, &p, &eb), IF_OK);
	assert_null(p.problem);
	assert_string_equal(p.source_name, "src");
	assert_int_equal(p.counts[0], 3);
	assert_string_equal(p.boxes[0][0].origin, "image");
	assert_string_equal(p.boxes[0][1].origin, "experiment src stage 0");
	assert_string_equal(p.boxes[0][2].origin, "experiment src stage 1");
	stage0_preview_free(&p);
	exp_free(e);
}

/* ---- the renders ----------------------------------------------------- */

static int64_t
test_now(void *arg)
{
	return *(const int64_t *)arg;
}

static size_t
collect(char *data, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	return buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* The bytes of a hosted stage image, fetched from its presigned URL. */
static void
fetch_object(struct run_ctx *ctx, const char *key, struct buf *out)
{
	struct mturk_hosted h;
	struct errbuf eb = {0};
	CURL *c = curl_easy_init();
	long status = 0;

	assert_non_null(c);
	assert_int_equal(mturk_image_host_url(ctx->host, key, 600, &h, &eb),
			 IF_OK);
	curl_easy_setopt(c, CURLOPT_URL, h.url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	assert_int_equal(status, 200);
	curl_easy_cleanup(c);
}

/* What the renderer makes of the photo at window with boxes redacted. */
static void
expected_render(int window, const struct box *boxes, size_t n,
		struct buf *out)
{
	struct img_renderer *r = NULL;
	struct img_stage_spec spec = {.window = window, .boxes = boxes,
				      .n = n, .style = REDACT_FILL,
				      .heavy_window = 41};
	struct errbuf eb = {0};
	const unsigned char *jpeg = NULL;
	const void *data = NULL;
	size_t len = 0, dlen = 0;

	assert_int_equal(img_renderer_new(&r, 1, 0, &eb), IF_OK);
	assert_int_equal(img_renderer_read_file(r, PHOTO, &data, &dlen, &eb),
			 IF_OK);
	assert_int_equal(img_renderer_encode(r, data, dlen, PHOTO, &spec,
					     IMG_FORMAT_JPEG,
					     IMG_DEFAULT_JPEG_QUALITY, &jpeg,
					     &len, &eb),
			 IF_OK);
	assert_int_equal(buf_append(out, jpeg, len), 0);
	img_renderer_free(r);
}

static void
test_renders_hide_stage0(void **state)
{
	struct scratch *x = *state;
	struct box start[2] = {{40, 50, 48, 60}, {300, 220, 20, 20}};
	struct engine_config cfg = {0};
	struct engine_progress p;
	struct engine *e = NULL;
	struct run_ctx *ctx;
	struct image_rec im;
	struct errbuf eb = {0};
	struct buf got, want, bare;
	struct box *all = NULL;
	size_t nall = 2;
	char state_dir[128], out[300];
	int64_t now = 1790000000;
	bool found = false;

	scratch_write(x, "g.json", "[[300, 220, 20, 20]]");
	cfg.exp_path = write_exp(
		x, "r.yaml", "renders",
		"    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50]]\n"
		"    boxes: [[40, 50, 48, 60]]\n"
		"    boxes_file: g.json\n",
		"stages: [41, 21]\noutput_dir: out\n");
	snprintf(state_dir, sizeof(state_dir), "%s/state", x->dir);
	cfg.state_dir = state_dir;
	cfg.threads = 1;
	cfg.sim_seed = 7;
	cfg.sim_memory = true;
	cfg.now = test_now;
	cfg.now_arg = &now;
	if (engine_open(&cfg, NULL, &e, &eb) != IF_OK)
		fail_msg("engine_open: %s", eb.msg);
	ctx = engine_ctx(e);
	/* One pass: stage 0 recorded, stage 1 rendered, hosted and posted. */
	assert_int_equal(engine_pass(e, &p, &eb), IF_OK);
	assert_int_equal(store_image_get(ctx->st, "group", &im, &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(im.stage, 1);
	assert_int_equal(im.state, IMAGE_WAIT);
	buf_init(&got, 0);
	buf_init(&want, 0);
	buf_init(&bare, 0);
	fetch_object(ctx, im.object_key, &got);
	expected_render(41, start, 2, &want);
	expected_render(41, NULL, 0, &bare);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	/* The control: without stage 0 the render differs. */
	assert_true(bare.len != got.len ||
		    memcmp(bare.data, got.data, got.len) != 0);
	/* To the end: the final image is the original with every box. */
	for (int i = 0; i < 500 && !(p.finished || p.final == p.images);
	     i++) {
		if (p.next_at > now)
			now = p.next_at;
		assert_int_equal(engine_pass(e, &p, &eb), IF_OK);
	}
	assert_int_equal(p.done, 1);
	all = calloc(64, sizeof(*all));
	assert_non_null(all);
	memcpy(all, start, sizeof(start));
	for (int k = 1; k <= 2; k++) {
		char *json = NULL;
		struct box *b = NULL;
		size_t nb = 0;

		assert_int_equal(store_stage_result_get(ctx->st, "group", k,
							&json, &found, &eb),
				 IF_OK);
		assert_true(found);
		assert_int_equal(boxes_from_json(json, &b, &nb, &eb), IF_OK);
		assert_true(nall + nb <= 64);
		memcpy(all + nall, b, nb * sizeof(*b));
		nall += nb;
		free(b);
		free(json);
	}
	buf_cleanup(&want);
	buf_init(&want, 0);
	expected_render(1, all, nall, &want);
	snprintf(out, sizeof(out), "%s/out/group.jpg", x->dir);
	buf_cleanup(&got);
	buf_init(&got, 16 * 1024 * 1024);
	assert_int_equal(read_file(out, &got, &eb), IF_OK);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.data, want.data, want.len);
	free(all);
	buf_cleanup(&got);
	buf_cleanup(&want);
	buf_cleanup(&bare);
	engine_close(e);
}

/*
 * run checks start_from when it starts; a stage that is no longer there
 * when the image starts fails that image, with a reason naming directory,
 * stage and image, and nothing is recorded for it.
 */
static void
test_start_from_fails_image(void **state)
{
	struct scratch *x = *state;
	struct engine_config cfg = {0};
	struct engine_progress p;
	struct engine *e = NULL;
	struct image_rec im;
	struct stage0_box *b = NULL;
	struct errbuf eb = {0};
	char dir[128], fp[65], sql[300];
	int64_t now = 1790000000;
	size_t n = 0;
	bool found = false, recorded = true;
	sqlite3 *db;

	snprintf(dir, sizeof(dir), "%s/src-state", x->dir);
	assert_int_equal(file_fingerprint(PHOTO, fp, &eb), IF_OK);
	make_source(x, dir, fp);
	cfg.exp_path = write_exp(x, "follow.yaml", "follow", "",
				 "start_from:\n  state_dir: src-state\n"
				 "  stage: 2\nstages: [13]\n");
	snprintf(sql, sizeof(sql), "%s/state", x->dir);
	cfg.state_dir = sql;
	cfg.threads = 1;
	cfg.sim_memory = true;
	cfg.now = test_now;
	cfg.now_arg = &now;
	if (engine_open(&cfg, NULL, &e, &eb) != IF_OK)
		fail_msg("engine_open: %s", eb.msg);
	/* The other experiment's stage 2 goes away after run started. */
	snprintf(sql, sizeof(sql), "%s/state.db", dir);
	assert_int_equal(sqlite3_open(sql, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DELETE FROM stage_results WHERE "
				      "image_id = 'group' AND stage = 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(engine_pass(e, &p, &eb), IF_OK);
	assert_int_equal(store_image_get(engine_ctx(e)->st, "group", &im,
					 &found, &eb),
			 IF_OK);
	assert_true(found);
	assert_int_equal(im.state, IMAGE_FAILED);
	assert_non_null(strstr(im.reason, "src-state: experiment src has not "
					  "finished stage 2 of image group"));
	assert_int_equal(store_stage0_get(engine_ctx(e)->st, "group", &b, &n,
					  &recorded, &eb),
			 IF_OK);
	assert_false(recorded);
	engine_close(e);
}

/* A face under stage 0 was never shown: calibrate does not count it. */
static void
test_calibrate_skips_stage0(void **state)
{
	struct scratch *x = *state;
	struct box gt[] = {{10, 10, 20, 20}, {100, 100, 40, 40}};
	struct exp_image im = {.id = "img", .ground_truth = gt,
			       .nground_truth = 2, .has_ground_truth = true};
	struct experiment e = {.name = "t", .images = &im, .nimages = 1};
	struct calib_data d = {0};
	struct calib_counts c = {0};
	struct errbuf eb = {0};
	char path[128];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/state.db", x->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE stage_results (image_id TEXT, "
			     "stage INT, window INT, boxes TEXT);"
			     "CREATE TABLE assignments (image_id TEXT, "
			     "stage INT, valid INT, boxes TEXT);"
			     "CREATE TABLE stage0_boxes (image_id TEXT, "
			     "seq INT, x INT, y INT, w INT, h INT, "
			     "origin TEXT);"
			     "INSERT INTO stage0_boxes VALUES"
			     " ('img', 0, 8, 8, 24, 24, 'detector');"
			     "INSERT INTO stage_results VALUES"
			     " ('img', 1, 40, '[]');"
			     "INSERT INTO assignments VALUES"
			     " ('img', 1, 1, '[[100,100,40,40]]'),"
			     " ('img', 1, 1, '[]');",
			     NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(calib_collect(&e, x->dir, &d, &c, &eb), IF_OK);
	/* Face A is hidden for both answers; face B found once, missed. */
	assert_int_equal(c.hidden, 2);
	assert_int_equal(d.n, 2);
	assert_true(d.obs[0].x == 1.0 && d.obs[0].found);
	assert_true(d.obs[1].x == 1.0 && !d.obs[1].found);
	calib_data_cleanup(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keys_load, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_key_errors, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_source_boxes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_source_refusals, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_renders_hide_stage0, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_start_from_fails_image,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_calibrate_skips_stage0,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
