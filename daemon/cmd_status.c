/*
 * intofocus status: progress from the state alone (spec section 2).
 *
 *   intofocus status EXPERIMENT.yaml [--state-dir DIR] [--json]
 *
 * Per image: state, stage and window, HIT ids, assignments submitted and
 * approved, boxes so far, its stage 0 (the starting boxes by origin, issue
 * 17) and the remote error it is retrying (since when, how many attempts);
 * then totals, stage 0's among them, and the money committed, and why the
 * daemon stopped when it stopped on an error no retry mends.  It opens
 * the state read-only, so it is safe beside a running daemon, and it never
 * touches the network.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct status_opts {
	const char *exp_path;
	const char *state_dir;
	bool json;
};

/* One image as status shows it; hits belong to the caller of collect(). */
struct image_status {
	const struct image_rec *im;
	int window; /* of its current stage */
	const struct hit_rec *hit_list; /* hits of them */
	const char *current_hit;
	size_t hits;
	size_t submitted, valid, approved;
	size_t boxes;
	int64_t cost_cents;
	/*
	 * Stage 0, shown when the experiment has a source of starting boxes
	 * or the image has some: its boxes in the order recorded (owned by
	 * the caller of collect()), or not recorded yet.
	 */
	bool stage0_shown, stage0_recorded;
	struct stage0_box *stage0;
	size_t stage0_boxes;
};

/* Some image may start with boxes: its own, a file's, start_from's, the
 * detector's (what `check` and the metrics call stage 0). */
static bool
exp_has_stage0(const struct experiment *exp)
{
	if (exp->detector.enabled || exp->start_from.state_dir != NULL)
		return true;
	for (size_t i = 0; i < exp->nimages; i++)
		if (exp->images[i].nboxes > 0 ||
		    exp->images[i].nfile_boxes > 0)
			return true;
	return false;
}

static size_t
stage0_detector_boxes(const struct image_status *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->stage0_boxes; i++)
		n += strcmp(s->stage0[i].origin, "detector") == 0;
	return n;
}

/*
 * The length of the run of one origin that starts at box *at (boxes are
 * recorded origin by origin), moving *at past it; 0 at the end.
 */
static size_t
stage0_origin_run(const struct image_status *s, size_t *at)
{
	size_t j = *at;

	while (*at < s->stage0_boxes &&
	       strcmp(s->stage0[*at].origin, s->stage0[j].origin) == 0)
		(*at)++;
	return *at - j;
}

static int
collect(struct state *st, const struct image_rec *im, struct image_status *s,
	struct hit_rec **hits, size_t *nhits, struct errbuf *eb)
{
	struct assignment_rec *a = NULL;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	s->im = im;
	if (store_stage0_get(st, im->id, &s->stage0, &s->stage0_boxes,
			     &s->stage0_recorded, eb) != IF_OK)
		return eb->code;
	if (store_hits_for_image(st, im->id, hits, nhits, eb) != IF_OK)
		return eb->code;
	s->hits = *nhits;
	for (size_t i = 0; i < *nhits; i++) {
		s->cost_cents += (*hits)[i].cost_cents;
		if (!(*hits)[i].closed && (*hits)[i].hit_id[0] != '\0')
			s->current_hit = (*hits)[i].hit_id;
	}
	if (store_assignments_for(st, im->id, 0, &a, &n, eb) != IF_OK)
		return eb->code;
	s->submitted = n;
	for (size_t i = 0; i < n; i++) {
		s->valid += a[i].valid != 0;
		s->approved += a[i].approval == APPROVAL_APPROVED;
	}
	assignment_recs_free(a, n);
	for (int k = 1; k < im->stage; k++) {
		char *json = NULL;
		struct box *b = NULL;
		size_t nb = 0;
		bool found = false;

		if (store_stage_result_get(st, im->id, k, &json, &found, eb) !=
		    IF_OK)
			return eb->code;
		if (!found)
			continue;
		if (boxes_from_json(json, &b, &nb, eb) == IF_OK)
			s->boxes += nb;
		free(b);
		free(json);
	}
	return IF_OK;
}

/* "2026-12-04 18:30:12 UTC" */
static void
format_time(int64_t t, char *out, size_t outsz)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(out, outsz, "?");
}

/*
 * Why the daemon stopped, when it stopped on an account-wide or
 * experiment-wide refusal (stage.c run_halt) and no image moved on since
 * (the next transition clears halt_at).
 */
struct halt {
	int64_t at;
	char *reason; /* NULL when the daemon did not stop that way */
	int64_t restarted_at; /* a run started after the stop; 0: none yet */
};

static int
halt_read(struct state *st, struct halt *h, struct errbuf *eb)
{
	char *at = NULL;

	memset(h, 0, sizeof(*h));
	if (state_meta_get(st, "halt_at", &at, eb) != IF_OK)
		return eb->code;
	if (at == NULL || parse_int64(at, 0, INT64_MAX, &h->at) != 0) {
		free(at);
		return IF_OK;
	}
	free(at);
	if (state_meta_get(st, "halt_restarted_at", &at, eb) != IF_OK)
		return eb->code;
	if (at != NULL && parse_int64(at, 0, INT64_MAX, &h->restarted_at) != 0)
		h->restarted_at = 0;
	free(at);
	return state_meta_get(st, "halt_reason", &h->reason, eb);
}

/* What status shows beside the images: totals, money, the stop. */
struct status_totals {
	const struct experiment *exp;
	const char *state_path;
	size_t images, done, failed, retrying;
	int64_t committed, open_hits, total_hits;
	struct halt halt;
	/* Stage 0 over the images shown so far (added by status_show). */
	bool stage0;
	size_t stage0_recorded, stage0_boxes, stage0_detector_boxes;
};

/* The totals, from the image list and the state's counters. */
static int
totals_read(struct state *st, const struct experiment *exp,
	    const struct image_rec *list, size_t n, struct status_totals *t,
	    struct errbuf *eb)
{
	memset(t, 0, sizeof(*t));
	t->exp = exp;
	t->state_path = state_path(st);
	t->images = n;
	t->stage0 = exp_has_stage0(exp);
	for (size_t i = 0; i < n; i++) {
		const struct image_rec *im = &list[i];
		t->done += im->state == IMAGE_DONE;
		t->failed += im->state == IMAGE_FAILED;
		t->retrying += im->error[0] != '\0' &&
			       im->state != IMAGE_DONE &&
			       im->state != IMAGE_FAILED;
	}
	if (store_committed_cents(st, &t->committed, eb) != IF_OK ||
	    store_hit_counts(st, &t->open_hits, &t->total_hits, eb) != IF_OK ||
	    halt_read(st, &t->halt, eb) != IF_OK)
		return eb->code;
	return IF_OK;
}

/* ---- text ------------------------------------------------------------- */

static void
text_begin(const struct status_totals *t)
{
	const struct halt *h = &t->halt;
	char when[40], again[40];

	printf("experiment %s, state %s\n", t->exp->name, t->state_path);
	format_time(h->at, when, sizeof(when));
	if (h->reason != NULL && h->restarted_at > 0) {
		format_time(h->restarted_at, again, sizeof(again));
		printf("started again at %s after a stop at %s on:\n"
		       "  %s\n  (no image has moved on since)\n",
		       again, when, h->reason);
	} else if (h->reason != NULL) {
		printf("STOPPED at %s on an error that will not pass by "
		       "itself:\n  %s\n  (fix it, then start intofocus run "
		       "again; nothing is lost)\n",
		       when, h->reason);
	}
	printf("%-20s %-7s %-6s %-6s %-32s %-9s %-8s %s\n", "IMAGE", "STATE",
	       "STAGE", "WINDOW", "HIT", "ANSWERS", "APPROVED", "BOXES");
}

/* "  stage 0: 3 starting boxes: 1 image, 2 detector" */
static void
text_stage0(const struct image_status *s)
{
	size_t n, at = 0;

	if (!s->stage0_shown)
		return;
	if (!s->stage0_recorded) {
		printf("  stage 0: not recorded yet\n");
		return;
	}
	printf("  stage 0: %zu starting box%s", s->stage0_boxes,
	       s->stage0_boxes == 1 ? "" : "es");
	for (size_t j = 0; (n = stage0_origin_run(s, &at)) > 0; j = at)
		printf("%s%zu %s", j == 0 ? ": " : ", ", n,
		       s->stage0[j].origin);
	printf("\n");
}

static void
text_image(const struct status_totals *t, const struct image_status *s)
{
	const struct image_rec *im = s->im;
	char stage[16], answers[24], since[40], next[40];

	if (im->state == IMAGE_DONE)
		snprintf(stage, sizeof(stage), "final");
	else
		snprintf(stage, sizeof(stage), "%d/%zu", im->stage,
			 t->exp->nstages);
	snprintf(answers, sizeof(answers), "%zu", s->submitted);
	printf("%-20s %-7s %-6s %-6d %-32s %-9s %-8zu %zu%s%s\n", im->id,
	       image_state_str(im->state), stage, s->window,
	       s->current_hit != NULL ? s->current_hit : "-", answers,
	       s->approved, s->boxes, im->reason[0] != '\0' ? "  " : "",
	       im->reason);
	text_stage0(s);
	if (im->error[0] == '\0' || strcmp(im->error, im->reason) == 0)
		return;
	format_time(im->error_since, since, sizeof(since));
	format_time(im->next_at, next, sizeof(next));
	printf("  last error since %s, %d failed attempt%s%s%s:\n    %s\n",
	       since, im->retries, im->retries == 1 ? "" : "s",
	       im->next_at > 0 ? ", next at " : "",
	       im->next_at > 0 ? next : "", im->error);
}

static int
text_end(const struct status_totals *t)
{
	char money[32], budget[32] = "";

	cfg_format_money(t->committed, money, sizeof(money));
	if (t->exp->budget_cents >= 0)
		cfg_format_money(t->exp->budget_cents, budget, sizeof(budget));
	printf("%zu/%zu images final (%zu done, %zu failed), "
	       "%lld HITs open of %lld, $%s committed%s%s",
	       t->done + t->failed, t->images, t->done, t->failed,
	       (long long)t->open_hits, (long long)t->total_hits, money,
	       t->exp->budget_cents >= 0 ? " of $" : "", budget);
	if (t->retrying > 0)
		printf(", %zu with a remote error", t->retrying);
	printf("\n");
	if (t->stage0)
		printf("stage 0: %zu starting box%s recorded for %zu/%zu "
		       "images, %zu by the detector\n",
		       t->stage0_boxes, t->stage0_boxes == 1 ? "" : "es",
		       t->stage0_recorded, t->images,
		       t->stage0_detector_boxes);
	return IF_OK;
}

/* ---- JSON ------------------------------------------------------------- */

static json_t *
json_count(size_t n)
{
	return json_integer((json_int_t)n);
}

/* A time, or null for none. */
static json_t *
json_time(bool set, int64_t t)
{
	return set ? json_integer(t) : json_null();
}

/*
 * {"recorded", "boxes", "detector_boxes", "origins": [{"origin",
 * "boxes"}]}, or null when stage 0 is not shown.
 */
static json_t *
json_stage0(const struct image_status *s)
{
	json_t *o, *origins;
	size_t n, at = 0;

	if (!s->stage0_shown)
		return json_null();
	origins = json_array();
	for (size_t j = 0; (n = stage0_origin_run(s, &at)) > 0; j = at)
		json_array_append_new(origins,
				      json_pack("{s:s, s:I}", "origin",
						s->stage0[j].origin, "boxes",
						(json_int_t)n));
	o = json_object();
	json_object_set_new(o, "recorded", json_boolean(s->stage0_recorded));
	json_object_set_new(o, "boxes", json_count(s->stage0_boxes));
	json_object_set_new(o, "detector_boxes",
			    json_count(stage0_detector_boxes(s)));
	json_object_set_new(o, "origins", origins);
	return o;
}

static json_t *
json_image(const struct status_totals *t, const struct image_status *s)
{
	const struct image_rec *im = s->im;
	json_t *o = json_object(), *ids = json_array();
	bool working = im->state != IMAGE_DONE && im->state != IMAGE_FAILED;
	char money[32];

	for (size_t h = 0; h < s->hits; h++)
		if (s->hit_list[h].hit_id[0] != '\0')
			json_array_append_new(
				ids, json_string(s->hit_list[h].hit_id));
	cfg_format_money(s->cost_cents, money, sizeof(money));
	json_object_set_new(o, "id", json_string(im->id));
	json_object_set_new(o, "state",
			    json_string(image_state_str(im->state)));
	json_object_set_new(o, "stage", json_integer(im->stage));
	json_object_set_new(o, "stages", json_count(t->exp->nstages));
	json_object_set_new(o, "window", json_integer(s->window));
	json_object_set_new(o, "hit_ids", ids);
	json_object_set_new(o, "current_hit",
			    s->current_hit != NULL
				    ? json_string(s->current_hit)
				    : json_null());
	json_object_set_new(o, "assignments_submitted",
			    json_count(s->submitted));
	json_object_set_new(o, "assignments_valid", json_count(s->valid));
	json_object_set_new(o, "assignments_approved",
			    json_count(s->approved));
	json_object_set_new(o, "boxes", json_count(s->boxes));
	json_object_set_new(o, "stage0", json_stage0(s));
	json_object_set_new(o, "cost_usd", json_string(money));
	json_object_set_new(o, "reason", json_string(im->reason));
	/* The remote failure of its last step, if any. */
	json_object_set_new(o, "error",
			    im->error[0] != '\0' ? json_string(im->error)
						 : json_null());
	json_object_set_new(o, "error_since",
			    json_time(im->error_since > 0, im->error_since));
	json_object_set_new(o, "failed_attempts", json_integer(im->retries));
	json_object_set_new(o, "next_attempt_at",
			    json_time(im->next_at > 0 && working,
				      im->next_at));
	return o;
}

/* "stopped" (or, once a run started again, "stopped_before"). */
static void
json_halt(json_t *root, const struct halt *halt)
{
	json_t *h;

	if (halt->reason == NULL) {
		json_object_set_new(root, "stopped", json_null());
		return;
	}
	h = json_object();
	json_object_set_new(h, "at", json_integer(halt->at));
	json_object_set_new(h, "reason", json_string(halt->reason));
	/* Started again since: the stop is history. */
	json_object_set_new(h, "restarted_at",
			    json_time(halt->restarted_at > 0,
				      halt->restarted_at));
	json_object_set_new(root,
			    halt->restarted_at > 0 ? "stopped_before"
						   : "stopped",
			    h);
	if (halt->restarted_at > 0)
		json_object_set_new(root, "stopped", json_null());
}

/* Takes images (the array of json_image objects). */
static int
json_end(const struct status_totals *t, json_t *images)
{
	json_t *root = json_object();
	char money[32], budget[32];

	cfg_format_money(t->committed, money, sizeof(money));
	if (t->exp->budget_cents >= 0)
		cfg_format_money(t->exp->budget_cents, budget, sizeof(budget));
	json_object_set_new(root, "experiment", json_string(t->exp->name));
	json_object_set_new(root, "state", json_string(t->state_path));
	json_object_set_new(root, "images", images);
	json_object_set_new(root, "images_total", json_count(t->images));
	json_object_set_new(root, "images_done", json_count(t->done));
	json_object_set_new(root, "images_failed", json_count(t->failed));
	json_object_set_new(root, "images_retrying",
			    json_count(t->retrying));
	json_object_set_new(
		root, "stage0",
		!t->stage0 ? json_null()
			   : json_pack("{s:I, s:I, s:I}", "images_recorded",
				       (json_int_t)t->stage0_recorded, "boxes",
				       (json_int_t)t->stage0_boxes,
				       "detector_boxes",
				       (json_int_t)t->stage0_detector_boxes));
	json_halt(root, &t->halt);
	json_object_set_new(root, "hits_open", json_integer(t->open_hits));
	json_object_set_new(root, "hits_total", json_integer(t->total_hits));
	json_object_set_new(root, "committed_usd", json_string(money));
	json_object_set_new(root, "budget_usd",
			    t->exp->budget_cents >= 0 ? json_string(budget)
						      : json_null());
	json_dumpf(root, stdout, JSON_INDENT(2));
	printf("\n");
	json_decref(root);
	return IF_OK;
}

/* ---- the command -------------------------------------------------------- */

/*
 * Collects one image at a time and hands it to the printer, so that
 * memory follows one image, not the study.
 */
static int
status_show(struct state *st, const struct experiment *exp,
	    const struct image_rec *list, size_t n, bool json,
	    struct errbuf *eb)
{
	struct status_totals t;
	json_t *images = NULL;
	int rc;

	if ((rc = totals_read(st, exp, list, n, &t, eb)) != IF_OK)
		goto out;
	if (json)
		images = json_array();
	else
		text_begin(&t);
	for (size_t i = 0; i < n; i++) {
		const struct image_rec *im = &list[i];
		struct image_status s;
		struct hit_rec *hits = NULL;
		size_t nhits = 0;

		rc = collect(st, im, &s, &hits, &nhits, eb);
		if (rc != IF_OK) {
			free(s.stage0);
			free(hits);
			goto out;
		}
		s.hit_list = hits;
		s.stage0_shown = t.stage0 || s.stage0_boxes > 0;
		if (s.stage0_shown)
			t.stage0 = true;
		t.stage0_recorded += s.stage0_recorded;
		t.stage0_boxes += s.stage0_boxes;
		t.stage0_detector_boxes += stage0_detector_boxes(&s);
		s.window = im->stage >= 1 && (size_t)im->stage <= exp->nstages
				   ? exp_window(exp, im->id,
						(size_t)im->stage)
				   : 1;
		if (json)
			json_array_append_new(images, json_image(&t, &s));
		else
			text_image(&t, &s);
		free(s.stage0);
		free(hits);
	}
	if (json) {
		rc = json_end(&t, images);
		images = NULL;
	} else {
		rc = text_end(&t);
	}
out:
	json_decref(images);
	free(t.halt.reason);
	return rc;
}

static void
status_usage(FILE *fp)
{
	fprintf(fp, "usage: intofocus status EXPERIMENT.yaml [--state-dir DIR] "
		    "[--json]\n\n"
		    "Shows each image's stage, HITs, assignments and boxes, "
		    "and the money\ncommitted, from the state alone "
		    "(read-only; safe beside a running daemon).\n");
}

/* 0 to go on, -1 after --help, or IF_EINPUT (usage printed). */
static int
parse_status_opts(int argc, char **argv, struct status_opts *o)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o->state_dir = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			status_usage(stdout);
			return -1;
		default:
			fprintf(stderr, "intofocus status: bad option \"%s\"\n",
				argv[optind - 1]);
			status_usage(stderr);
			return IF_EINPUT;
		}
	}
	if (optind != argc - 1) {
		status_usage(stderr);
		return IF_EINPUT;
	}
	o->exp_path = argv[optind];
	return IF_OK;
}

int
cmd_status(int argc, char **argv)
{
	struct status_opts o;
	struct experiment *exp = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec *list = NULL;
	char *state_dir = NULL;
	size_t n = 0;
	int rc;

	rc = parse_status_opts(argc, argv, &o);
	if (rc != IF_OK)
		return rc == -1 ? IF_OK : rc;
	rc = exp_load(o.exp_path, &exp, &errs, &eb);
	exp_errors_cleanup(&errs);
	if (rc != IF_OK)
		return cmd_fail("status", &eb);
	state_dir = state_dir_for(o.state_dir, exp->name);
	rc = state_dir != NULL ? state_open_readonly(state_dir, &st, &eb)
			       : err_set(&eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = store_images_list(st, &list, &n, &eb);
	if (rc == IF_OK)
		rc = status_show(st, exp, list, n, o.json, &eb);
	free(list);
	state_close(st);
	free(state_dir);
	exp_free(exp);
	if (rc != IF_OK)
		return cmd_fail("status", &eb);
	return IF_OK;
}
