/*
 * daemon/stage.c, failure.c, review.c and poll.c: the stage machine
 * driven image by image against the in-process simulator, on one clock
 * that the test moves (the simulator's and the daemon's), as `run` drives
 * it, and a store that fails (issue 14).
 *
 * For every write statement N of an undisturbed experiment, a fresh one
 * runs with its N-th write failing as a full disk would
 * (state_fail_write_at): the step must return the error with nothing of
 * it committed; then, as after a restart of the daemon, the loop goes on
 * from what the state holds.  At the end the simulator - the service -
 * is the judge: one HIT per stage and image, each assignment approved
 * once and recorded once, every finished HIT moved to Reviewing, and the
 * same final images as the undisturbed run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "daemon/daemon.h"
#include "config/config.h"
#include "mturk/mturk.h"
#include "tests/support/tmpdir.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PASSES_MAX 400

/* The experiment: two photos, two stages, two workers, exclusive. */
static const char exp_yaml[] =
	"name: unit\n"
	"mturk:\n"
	"  environment: simulator\n"
	"  poll_interval: 1s\n"
	"hit:\n"
	"  reward: \"0.10\"\n"
	"  workers: 2\n"
	"stages: [41, 13]\n"
	"aggregate: union\n"
	"images_host:\n"
	"  kind: simulator\n"
	"output_dir: out\n"
	"images:\n"
	"  - id: group\n"
	"    file: group.jpg\n"
	"    ground_truth: [[40, 50, 48, 60], [150, 60, 40, 50]]\n"
	"  - id: street\n"
	"    file: street.jpg\n"
	"    ground_truth: [[30, 30, 60, 72]]\n";

/* The daemon client's response cap; 0 = the default (8 MiB). */
static size_t rig_max_body;

struct rig {
	char dir[64];
	int64_t now; /* seconds; the simulator's clock too */
	struct run_ctx ctx;
	struct sim_view view;
	struct aws_creds *creds;
};

static int64_t
rig_now(void *arg)
{
	return ((const struct rig *)arg)->now;
}

static int64_t
rig_now_ms(void *arg)
{
	return ((const struct rig *)arg)->now * 1000;
}

/*
 * In process, not through system("cp ..."): the suite makes a rig per
 * write statement, and a shell and cp for each were seconds of its time.
 */
static void
copy_fixture(const char *dir, const char *name)
{
	char from[256], to[256];
	struct buf data;
	struct errbuf eb = {0};

	snprintf(from, sizeof(from), "tests/fixtures/daemon/%s", name);
	snprintf(to, sizeof(to), "%s/%s", dir, name);
	buf_init(&data, 16u << 20);
	if (read_file(from, &data, &eb) != IF_OK ||
	    atomic_write_file(to, data.data, data.len, 0600, &eb) != IF_OK)
		fail_msg("%s", eb.msg);
	buf_cleanup(&data);
}

/* Inserts the experiment's images, as run does at its start. */
static void
rig_add_images(struct rig *r)
{
	for (size_t i = 0; i < r->ctx.exp->nimages; i++) {
		const struct exp_image *ei = &r->ctx.exp->images[i];
		struct errbuf eb = {0};
		struct image_rec im;

		memset(&im, 0, sizeof(im));
		snprintf(im.id, sizeof(im.id), "%s", ei->id);
		snprintf(im.file, sizeof(im.file), "%s", ei->path);
		assert_int_equal(
			file_fingerprint(ei->path, im.fingerprint, &eb),
			IF_OK);
		im.state = IMAGE_RENDER;
		im.stage = 1;
		im.attempt = 1;
		im.started_at = r->now;
		im.updated_at = r->now;
		im.seq = (int64_t)i;
		assert_int_equal(store_image_insert(r->ctx.st, &im, &eb),
				 IF_OK);
	}
}

static struct rig *
rig_new(void)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct sim_config scfg;
	struct mturk_client_config ccfg;
	struct mturk_host_config hcfg;
	char path[256], endpoint[64], bucket[64];
	FILE *fp;

	assert_non_null(r);
	snprintf(r->dir, sizeof(r->dir), "/tmp/intofocus-stage.XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	copy_fixture(r->dir, "group.jpg");
	copy_fixture(r->dir, "street.jpg");
	snprintf(path, sizeof(path), "%s/exp.yaml", r->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(exp_yaml, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	r->now = 1800000000;
	r->ctx.now = rig_now;
	r->ctx.now_arg = r;
	r->ctx.exp_path = "exp.yaml";
	r->ctx.threads = 1;
	r->ctx.jpeg_quality = IMG_DEFAULT_JPEG_QUALITY;
	assert_int_equal(exp_load(path, &r->ctx.exp, &errs, &eb), IF_OK);
	exp_errors_cleanup(&errs);
	assert_int_equal(sim_view_init(&r->view, r->ctx.exp, &eb), IF_OK);
	r->creds = aws_creds_new(SIM_DEFAULT_ACCESS_KEY_ID,
				 SIM_DEFAULT_SECRET_ACCESS_KEY, NULL, "test");
	assert_non_null(r->creds);
	r->ctx.creds = r->creds;
	memset(&scfg, 0, sizeof(scfg));
	scfg.listen_host = "127.0.0.1";
	scfg.seed = 7;
	scfg.access_key_id = r->creds->access_key_id;
	scfg.secret_access_key = r->creds->secret_access_key;
	scfg.experiments = &r->view.exp;
	scfg.nexperiments = 1;
	scfg.clock_ms = rig_now_ms;
	scfg.clock_ctx = r;
	r->ctx.sim = sim_new(&scfg, &eb);
	assert_non_null(r->ctx.sim);
	snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%u",
		 sim_port(r->ctx.sim));
	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.endpoint = endpoint;
	ccfg.region = r->ctx.exp->mturk.region;
	ccfg.creds = r->creds;
	ccfg.clock.now = rig_now; /* requests are signed at the rig's time */
	ccfg.clock.ctx = r;
	ccfg.http.max_body = rig_max_body;
	/* No pace against the simulator, as run (engine_client_open). */
	ccfg.rate.per_second = -1;
	assert_int_equal(mturk_client_new(&ccfg, &r->ctx.client, &eb), IF_OK);
	memset(&hcfg, 0, sizeof(hcfg));
	snprintf(bucket, sizeof(bucket), "intofocus-%s", r->ctx.exp->name);
	hcfg.kind = MTURK_HOST_SIMULATOR;
	hcfg.bucket = bucket;
	hcfg.endpoint = endpoint;
	hcfg.path_style = true;
	hcfg.creds = r->creds;
	hcfg.clock.now = rig_now;
	hcfg.clock.ctx = r;
	assert_int_equal(mturk_image_host_new(&hcfg, &r->ctx.host, &eb),
			 IF_OK);
	snprintf(path, sizeof(path), "%s/st", r->dir);
	assert_int_equal(state_open(path, r->ctx.exp->name, &r->ctx.st, &eb),
			 IF_OK);
	assert_int_equal(run_salt_load(&r->ctx, &eb), IF_OK);
	rig_add_images(r);
	return r;
}

static void
rig_free(struct rig *r)
{
	img_renderer_free(r->ctx.renderer);
	mturk_image_host_free(r->ctx.host);
	mturk_client_free(r->ctx.client);
	sim_free(r->ctx.sim);
	sim_view_cleanup(&r->view);
	aws_creds_free(r->creds);
	state_close(r->ctx.st);
	exp_free(r->ctx.exp);
	assert_int_equal(tmpdir_remove(r->dir), 0);
	free(r);
}

/* What a restart of the daemon forgets: the run's caches. */
static void
rig_restart(struct rig *r)
{
	memset(r->ctx.hit_type, 0, sizeof(r->ctx.hit_type));
	memset(r->ctx.qual_type, 0, sizeof(r->ctx.qual_type));
	r->ctx.reviews_swept = false;
	r->ctx.poll_round_at = 0;
	r->ctx.halt_cleared = false;
	poll_round_end(&r->ctx);
}

/*
 * One pass of run's loop: the poll round, each due image as far as it
 * goes, the review sweep.
 * IF_OK with *final when every image is final, else the first error.
 */
static int
rig_pass(struct rig *r, bool *final, struct errbuf *eb)
{
	struct image_rec *list = NULL;
	size_t n = 0, nfinal = 0;
	int rc;

	*final = false;
	/* As engine_pass: the round wakes its images before they are read. */
	if (poll_round_begin(&r->ctx, r->now, eb) != IF_OK)
		return eb->code;
	if (store_images_list(r->ctx.st, &list, &n, eb) != IF_OK) {
		poll_round_end(&r->ctx);
		return eb->code;
	}
	for (size_t i = 0; i < n; i++)
		nfinal += list[i].state == IMAGE_DONE ||
			  list[i].state == IMAGE_FAILED;
	if (nfinal == n) {
		free(list);
		poll_round_end(&r->ctx);
		/* As engine_pass: a restart sweeps what the last pass left. */
		if (!r->ctx.reviews_swept &&
		    hits_review_sweep(&r->ctx, r->now, eb) != IF_OK)
			return eb->code;
		*final = true;
		return IF_OK;
	}
	rc = poll_round(&r->ctx, list, n, r->now, eb);
	if (rc == IF_OK)
		rc = images_advance_due(&r->ctx, list, n, r->now, eb);
	if (rc == IF_OK)
		rc = hits_review_sweep(&r->ctx, r->now, eb);
	poll_round_end(&r->ctx);
	free(list);
	r->now++;
	return rc;
}

/*
 * Runs the experiment to its end with the fail_at-th write failing (0:
 * none).  *failed tells whether the hook fired; when it did, a step must
 * have returned its error (a failure of the store taken for something
 * else would pass unseen), and the loop then goes on as a restarted
 * daemon would.
 */
static void
rig_run(struct rig *r, int64_t fail_at, bool *failed)
{
	bool final = false;
	int passes = 0;

	*failed = false;
	if (fail_at > 0)
		state_fail_write_at(r->ctx.st, fail_at, NULL);
	while (!final && passes++ < PASSES_MAX) {
		struct errbuf eb = {0};

		if (rig_pass(r, &final, &eb) == IF_OK)
			continue;
		/* Only the hook may fail a step here, and only once. */
		if (strstr(eb.msg, "database or disk is full (test: write") ==
			    NULL ||
		    *failed)
			fail_msg("unexpected error: %s", eb.msg);
		*failed = true;
		rig_restart(r);
	}
	assert_true(final);
	assert_int_equal(*failed, state_fail_write_fired(r->ctx.st));
}

static int64_t
count(struct rig *r, const char *sql)
{
	sqlite3_stmt *stmt = NULL;
	int64_t v;

	assert_int_equal(sqlite3_prepare_v2(state_db(r->ctx.st), sql, -1,
					    &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	v = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/*
 * The service's view: one HIT per annotation (stage of an image), each
 * with all its assignments submitted and approved, all Reviewing; and the
 * state's: each assignment once, approved and granted; each HIT once,
 * moved; both images done.
 */
static void
rig_audit(struct rig *r)
{
	struct mturk_hit *hits = NULL, *rev = NULL;
	char next[256];
	size_t n = 0, nrev = 0, nassign = 0;
	int pages = 0;
	struct errbuf eb = {0};

	assert_int_equal(mturk_list_hits_page(r->ctx.client, NULL, 100, &hits,
					      &n, next, sizeof(next), &eb),
			 IF_OK);
	assert_string_equal(next, "");
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		struct mturk_assignment *as = NULL;
		size_t na = 0;

		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(hits[i].requester_annotation,
						hits[j].requester_annotation);
		assert_int_equal(mturk_list_assignments(r->ctx.client,
							hits[i].hit_id, 0, &as,
							&na, &eb),
				 IF_OK);
		assert_int_equal((int64_t)na, hits[i].max_assignments);
		for (size_t k = 0; k < na; k++)
			assert_string_equal(as[k].status, "Approved");
		nassign += na;
		mturk_assignments_free(as, na);
	}
	free(hits);
	assert_int_equal(mturk_list_reviewable_hits(r->ctx.client, NULL,
						    "Reviewing", &rev, &nrev,
						    &pages, &eb),
			 IF_OK);
	assert_int_equal(nrev, 4);
	free(rev);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM assignments"),
			 (int64_t)nassign);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM assignments WHERE "
				  "approval != 'approved' OR granted != 1"),
			 0);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM hits"), 4);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM hits WHERE closed = 2"),
			 4);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM images WHERE "
				  "state = 'done'"),
			 2);
}

/* The final image's bytes. */
static void
read_output(struct rig *r, const char *id, struct buf *out)
{
	struct errbuf eb = {0};
	char path[256];

	snprintf(path, sizeof(path), "%s/out/%s.jpg", r->dir, id);
	buf_init(out, 0);
	assert_int_equal(read_file(path, out, &eb), IF_OK);
}

static void
test_undisturbed(void **state)
{
	struct rig *r = rig_new();
	bool failed = true;

	(void)state;
	rig_run(r, 0, &failed);
	assert_false(failed);
	rig_audit(r);
	rig_free(r);
}

static void
test_each_write_fails_once(void **state)
{
	struct rig *calm = rig_new();
	struct buf want[2];
	bool failed = false;
	int64_t n;

	(void)state;
	rig_run(calm, 0, &failed);
	read_output(calm, "group", &want[0]);
	read_output(calm, "street", &want[1]);
	rig_free(calm);
	for (n = 1;; n++) {
		struct rig *r = rig_new();
		struct buf got[2];

		rig_run(r, n, &failed);
		if (!failed) {
			rig_free(r);
			break;
		}
		rig_audit(r);
		read_output(r, "group", &got[0]);
		read_output(r, "street", &got[1]);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(got[k].len, want[k].len);
			assert_memory_equal(got[k].data, want[k].data,
					    want[k].len);
			buf_cleanup(&got[k]);
		}
		rig_free(r);
	}
	print_message("%lld writes, each failed once and recovered\n",
		      (long long)(n - 1));
	assert_true(n > 40);
	buf_cleanup(&want[0]);
	buf_cleanup(&want[1]);
}

/*
 * Issue 15: the first answer of every HIT is larger than the daemon's
 * response cap (the simulator's test hook; a scaled-down 12 MB feedback
 * against the 8 MB cap).  The listing pages down until it is alone, it is
 * recorded invalid with its reason and left to the operator (never
 * approved), and every stage
 * goes on with the other answer: both images end done.
 */
static void
test_answer_over_the_cap_isolated(void **state)
{
	struct rig *r;
	bool failed = true;
	struct errbuf eb = {0};
	sqlite3_stmt *stmt = NULL;
	size_t nhits = 0, submitted = 0, approved = 0;

	(void)state;
	assert_int_equal(setenv("INTOFOCUS_TEST_SIM_ANSWER_BYTES", "65536", 1),
			 0);
	rig_max_body = 32 * 1024;
	r = rig_new();
	unsetenv("INTOFOCUS_TEST_SIM_ANSWER_BYTES");
	rig_max_body = 0;
	rig_run(r, 0, &failed);
	assert_false(failed);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM images WHERE "
				  "state = 'done'"),
			 2);
	/* Two images x two stages: one answer too large in each HIT. */
	assert_int_equal(count(r, "SELECT COUNT(*) FROM assignments WHERE "
				  "valid = 0 AND invalid_reason = 'answer too "
				  "large to read' AND approval = 'manual'"),
			 4);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM assignments WHERE "
				  "valid = 1 AND approval = 'approved'"),
			 4);
	assert_int_equal(count(r, "SELECT COUNT(*) FROM assignments"), 8);
	/* The service saw the large ones left Submitted, the others paid. */
	assert_int_equal(sqlite3_prepare_v2(state_db(r->ctx.st),
					    "SELECT hit_id FROM hits", -1,
					    &stmt, NULL),
			 SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		const char *hit_id =
			(const char *)sqlite3_column_text(stmt, 0);
		struct mturk_assignment *as = NULL;
		size_t na = 0;

		nhits++;
		if (mturk_list_assignments(r->ctx.client, hit_id, 0, &as, &na,
					   &eb) != IF_OK)
			fail_msg("%s", eb.msg);
		for (size_t k = 0; k < na; k++) {
			submitted += strcmp(as[k].status, "Submitted") == 0;
			approved += strcmp(as[k].status, "Approved") == 0;
		}
		mturk_assignments_free(as, na);
	}
	sqlite3_finalize(stmt);
	assert_int_equal(nhits, 4);
	assert_int_equal(submitted, 4);
	assert_int_equal(approved, 4);
	rig_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_undisturbed),
		cmocka_unit_test(test_each_write_fails_once),
		cmocka_unit_test(test_answer_over_the_cap_isolated),
	};

	log_init(-1, false);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
