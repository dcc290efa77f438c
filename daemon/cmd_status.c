/*
 * intofocus status: progress from the state alone (spec section 2).
 *
 *   intofocus status EXPERIMENT.yaml [--state-dir DIR] [--json]
 *
 * Per image: state, stage and window, HIT ids, assignments submitted and
 * approved, boxes so far, and the remote error it is retrying (since when,
 * how many attempts); then totals and the money committed, and why the
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

struct image_status {
	const struct image_rec *im;
	const char *current_hit;
	size_t hits;
	size_t submitted, valid, approved;
	size_t boxes;
	int64_t cost_cents;
};

static int
collect(struct state *st, const struct image_rec *im, struct image_status *s,
	struct hit_rec **hits, size_t *nhits, struct errbuf *eb)
{
	struct assignment_rec *a = NULL;
	size_t n = 0;

	memset(s, 0, sizeof(*s));
	s->im = im;
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
		s->approved += strcmp(a[i].approval, "approved") == 0;
	}
	assignment_recs_free(a, n);
	for (int k = 1; k < im->stage; k++) {
		char *json = NULL;
		struct box *b = NULL;
		size_t nb = 0;
		int rc = store_stage_result_get(st, im->id, k, &json, eb);
		if (rc == 1)
			continue;
		if (rc != 0)
			return eb->code;
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
	char *reason;	      /* NULL when the daemon did not stop that way */
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

static void
status_usage(FILE *fp)
{
	fprintf(fp, "usage: intofocus status EXPERIMENT.yaml [--state-dir DIR] "
		    "[--json]\n\n"
		    "Shows each image's stage, HITs, assignments and boxes, and "
		    "the money\ncommitted, from the state alone (read-only; safe "
		    "beside a running daemon).\n");
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state-dir", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct experiment *exp = NULL;
	struct exp_errors errs = {0};
	struct errbuf eb = {0};
	struct state *st = NULL;
	struct image_rec *list = NULL;
	const char *state_dir_opt = NULL;
	char *state_dir = NULL;
	size_t n = 0, done = 0, failed = 0, retrying = 0;
	struct halt halt = {0, NULL, 0};
	int64_t committed = 0, open_hits = 0, total_hits = 0;
	bool json = false;
	json_t *root = NULL, *images = NULL;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			state_dir_opt = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			status_usage(stdout);
			return IF_OK;
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
	rc = exp_load(argv[optind], &exp, &errs, &eb);
	exp_errors_cleanup(&errs);
	if (rc != IF_OK)
		return cmd_fail("status", &eb);
	state_dir = state_dir_for(state_dir_opt, exp->name);
	rc = state_dir != NULL ? state_open_readonly(state_dir, &st, &eb)
			       : err_set(&eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = store_images_list(st, &list, &n, &eb);
	if (rc == IF_OK)
		rc = store_committed_cents(st, &committed, &eb);
	if (rc == IF_OK)
		rc = store_hit_counts(st, &open_hits, &total_hits, &eb);
	if (rc == IF_OK)
		rc = halt_read(st, &halt, &eb);
	if (rc != IF_OK)
		goto out;
	if (json) {
		root = json_object();
		images = json_array();
	} else {
		printf("experiment %s, state %s\n", exp->name, state_path(st));
		if (halt.reason != NULL && halt.restarted_at > 0) {
			char when[40], again[40];
			format_time(halt.at, when, sizeof(when));
			format_time(halt.restarted_at, again, sizeof(again));
			printf("started again at %s after a stop at %s on:\n"
			       "  %s\n  (no image has moved on since)\n",
			       again, when, halt.reason);
		} else if (halt.reason != NULL) {
			char when[40];
			format_time(halt.at, when, sizeof(when));
			printf("STOPPED at %s on an error that will not pass by "
			       "itself:\n  %s\n  (fix it, then start intofocus run "
			       "again; nothing is lost)\n",
			       when, halt.reason);
		}
		printf("%-20s %-7s %-6s %-6s %-32s %-9s %-8s %s\n", "IMAGE",
		       "STATE", "STAGE", "WINDOW", "HIT", "ANSWERS", "APPROVED",
		       "BOXES");
	}
	for (size_t i = 0; i < n; i++) {
		struct image_status s;
		struct hit_rec *hits = NULL;
		size_t nhits = 0;
		const struct image_rec *im = &list[i];
		int window = im->stage >= 1 && (size_t)im->stage <= exp->nstages
				     ? exp_window(exp, im->id, (size_t)im->stage)
				     : 1;

		rc = collect(st, im, &s, &hits, &nhits, &eb);
		if (rc != IF_OK) {
			free(hits);
			goto out;
		}
		done += im->state == IMAGE_DONE;
		failed += im->state == IMAGE_FAILED;
		retrying += im->error[0] != '\0' && im->state != IMAGE_DONE &&
			    im->state != IMAGE_FAILED;
		if (json) {
			json_t *o = json_object(), *ids = json_array();
			char money[32];
			for (size_t h = 0; h < nhits; h++)
				if (hits[h].hit_id[0] != '\0')
					json_array_append_new(
						ids, json_string(hits[h].hit_id));
			cfg_format_money(s.cost_cents, money, sizeof(money));
			json_object_set_new(o, "id", json_string(im->id));
			json_object_set_new(o, "state",
					    json_string(image_state_str(im->state)));
			json_object_set_new(o, "stage", json_integer(im->stage));
			json_object_set_new(o, "stages",
					    json_integer((json_int_t)exp->nstages));
			json_object_set_new(o, "window", json_integer(window));
			json_object_set_new(o, "hit_ids", ids);
			json_object_set_new(o, "current_hit",
					    s.current_hit != NULL
						    ? json_string(s.current_hit)
						    : json_null());
			json_object_set_new(o, "assignments_submitted",
					    json_integer((json_int_t)s.submitted));
			json_object_set_new(o, "assignments_valid",
					    json_integer((json_int_t)s.valid));
			json_object_set_new(o, "assignments_approved",
					    json_integer((json_int_t)s.approved));
			json_object_set_new(o, "boxes",
					    json_integer((json_int_t)s.boxes));
			json_object_set_new(o, "cost_usd", json_string(money));
			json_object_set_new(o, "reason", json_string(im->reason));
			/* The remote failure of its last step, if any. */
			json_object_set_new(o, "error",
					    im->error[0] != '\0'
						    ? json_string(im->error)
						    : json_null());
			json_object_set_new(o, "error_since",
					    im->error_since > 0
						    ? json_integer(im->error_since)
						    : json_null());
			json_object_set_new(o, "failed_attempts",
					    json_integer(im->retries));
			json_object_set_new(o, "next_attempt_at",
					    im->next_at > 0 &&
							    im->state != IMAGE_DONE &&
							    im->state != IMAGE_FAILED
						    ? json_integer(im->next_at)
						    : json_null());
			json_array_append_new(images, o);
		} else {
			char stage[16], answers[24];
			if (im->state == IMAGE_DONE)
				snprintf(stage, sizeof(stage), "final");
			else
				snprintf(stage, sizeof(stage), "%d/%zu", im->stage,
					 exp->nstages);
			snprintf(answers, sizeof(answers), "%zu", s.submitted);
			printf("%-20s %-7s %-6s %-6d %-32s %-9s %-8zu %zu%s%s\n",
			       im->id, image_state_str(im->state), stage, window,
			       s.current_hit != NULL ? s.current_hit : "-",
			       answers, s.approved, s.boxes,
			       im->reason[0] != '\0' ? "  " : "", im->reason);
			if (im->error[0] != '\0' &&
			    strcmp(im->error, im->reason) != 0) {
				char since[40], next[40];
				format_time(im->error_since, since, sizeof(since));
				format_time(im->next_at, next, sizeof(next));
				printf("  last error since %s, %d failed "
				       "attempt%s%s%s:\n    %s\n",
				       since, im->retries,
				       im->retries == 1 ? "" : "s",
				       im->next_at > 0 ? ", next at " : "",
				       im->next_at > 0 ? next : "", im->error);
			}
		}
		free(hits);
	}
	{
		char money[32], budget[32];
		cfg_format_money(committed, money, sizeof(money));
		if (exp->budget_cents >= 0)
			cfg_format_money(exp->budget_cents, budget,
					 sizeof(budget));
		if (json) {
			json_object_set_new(root, "experiment",
					    json_string(exp->name));
			json_object_set_new(root, "state", json_string(state_path(st)));
			json_object_set_new(root, "images", images);
			images = NULL;
			json_object_set_new(root, "images_total",
					    json_integer((json_int_t)n));
			json_object_set_new(root, "images_done",
					    json_integer((json_int_t)done));
			json_object_set_new(root, "images_failed",
					    json_integer((json_int_t)failed));
			json_object_set_new(root, "images_retrying",
					    json_integer((json_int_t)retrying));
			if (halt.reason != NULL) {
				json_t *h = json_object();
				json_object_set_new(h, "at", json_integer(halt.at));
				json_object_set_new(h, "reason",
						    json_string(halt.reason));
				/* Started again since: the stop is history. */
				json_object_set_new(h, "restarted_at",
						    halt.restarted_at > 0
							    ? json_integer(
								      halt.restarted_at)
							    : json_null());
				json_object_set_new(root,
						    halt.restarted_at > 0
							    ? "stopped_before"
							    : "stopped",
						    h);
				if (halt.restarted_at > 0)
					json_object_set_new(root, "stopped",
							    json_null());
			} else {
				json_object_set_new(root, "stopped", json_null());
			}
			json_object_set_new(root, "hits_open",
					    json_integer(open_hits));
			json_object_set_new(root, "hits_total",
					    json_integer(total_hits));
			json_object_set_new(root, "committed_usd",
					    json_string(money));
			json_object_set_new(root, "budget_usd",
					    exp->budget_cents >= 0
						    ? json_string(budget)
						    : json_null());
			json_dumpf(root, stdout, JSON_INDENT(2));
			printf("\n");
		} else {
			printf("%zu/%zu images final (%zu done, %zu failed), "
			       "%lld HITs open of %lld, $%s committed%s%s",
			       done + failed, n, done, failed,
			       (long long)open_hits, (long long)total_hits, money,
			       exp->budget_cents >= 0 ? " of $" : "",
			       exp->budget_cents >= 0 ? budget : "");
			if (retrying > 0)
				printf(", %zu with a remote error", retrying);
			printf("\n");
		}
	}
out:
	free(halt.reason);
	json_decref(root);
	json_decref(images);
	free(list);
	state_close(st);
	free(state_dir);
	exp_free(exp);
	if (rc != IF_OK)
		return cmd_fail("status", &eb);
	return IF_OK;
}
