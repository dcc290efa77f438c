/*
 * intofocus calibrate: the crowd's per-worker detection curve from
 * finished experiments with ground truth, and the schedule it proposes
 * for a target (issue 17; the method: docs/calibrate.md).
 *
 *   intofocus calibrate EXPERIMENT[=STATE_DIR]... [--min-face PX]
 *                       [--recall R] [--workers N] [--first-window W]
 *                       [--json]
 *
 * Each state is opened read-only; the experiment file gives the ground
 * truth.  Nothing touches the network.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CALIB_EXPS_MAX 32

static const double bin_edges[] = {0, 0.25, 0.5, 0.75, 1.0, 1.25,
				   1.5, 2.0, 3.0, INFINITY};
#define NBINS (sizeof(bin_edges) / sizeof(bin_edges[0]) - 1)

static void
calibrate_usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus calibrate EXPERIMENT[=STATE_DIR]... "
		"[--min-face PX] [--recall R]\n"
		"                           [--workers N] [--first-window W] "
		"[--json]\n"
		"\n"
		"Fits P(a worker boxes a face the served image shows) = "
		"1/(1+exp(-k(side/window-x0)))\n"
		"by maximum likelihood to finished experiments with ground "
		"truth, prints the fit\n"
		"with its standard errors and the data behind it, and "
		"proposes the cheapest\n"
		"schedule that finds faces of PX pixels with recall R.\n"
		"\n"
		"  EXPERIMENT[=DIR]     an experiment file with ground truth; "
		"its state in DIR\n"
		"                       [default: as run finds it: "
		"$STATE_DIRECTORY, else state/NAME]\n"
		"  --min-face PX        the smallest face to find [default: "
		"20]\n"
		"  --recall R           wanted for faces of PX, 0..1 "
		"[default: 0.95]\n"
		"  --workers N          assignments per HIT [default: the "
		"first experiment's]\n"
		"  --first-window W     odd [default: the first experiment's "
		"first window]\n"
		"  --json               one JSON object\n"
		"\nexit status: 0 done, 1 runtime failure, 2 bad arguments, "
		"unreadable state, or\n"
		"too little data for a curve\n");
}

static void
bins_of(const struct calib_data *d, size_t n[NBINS], size_t f[NBINS],
	double mean[NBINS])
{
	memset(n, 0, NBINS * sizeof(*n));
	memset(f, 0, NBINS * sizeof(*f));
	memset(mean, 0, NBINS * sizeof(*mean));
	for (size_t i = 0; i < d->n; i++)
		for (size_t b = 0; b < NBINS; b++)
			if (d->obs[i].x >= bin_edges[b] &&
			    d->obs[i].x < bin_edges[b + 1]) {
				n[b]++;
				f[b] += d->obs[i].found;
				mean[b] += d->obs[i].x;
				break;
			}
	for (size_t b = 0; b < NBINS; b++)
		if (n[b] > 0)
			mean[b] /= (double)n[b];
}

static void
print_text(const struct calib_data *d, const struct calib_counts *c,
	   const struct calib_fit *f, const struct calib_target *t,
	   const struct calib_plan *p, const char *plan_error)
{
	size_t n[NBINS], fd[NBINS];
	double mean[NBINS];
	char money[32];

	printf("observations %zu worker-face pairs, %zu found: %zu images, "
	       "%zu stages, %zu answers\n",
	       d->n, f->found, c->images, c->stages, c->assignments);
	printf("             (%zu pairs left out: the face was hidden by "
	       "earlier stages)\n",
	       c->hidden);
	printf("fit          P(found) = 1 / (1 + exp(-k (side/window - "
	       "x0))), maximum likelihood\n");
	printf("             k  = %.3f +- %.3f (standard error)\n", f->k,
	       f->se_k);
	printf("             x0 = %.3f +- %.3f\n", f->x0, f->se_x0);
	printf("             log-likelihood %.2f after %d Newton steps\n",
	       f->loglik, f->iterations);
	printf("data         side/window  pairs  found  rate   fitted\n");
	bins_of(d, n, fd, mean);
	for (size_t b = 0; b < NBINS; b++) {
		char range[32];

		if (n[b] == 0)
			continue;
		if (isinf(bin_edges[b + 1]))
			snprintf(range, sizeof(range), ">= %.2f", bin_edges[b]);
		else
			snprintf(range, sizeof(range), "%.2f-%.2f",
				 bin_edges[b], bin_edges[b + 1]);
		printf("             %-11s %6zu %6zu  %.2f   %.2f\n", range,
		       n[b], fd[b], (double)fd[b] / (double)n[b],
		       calib_p(f->k, f->x0, mean[b]));
	}
	printf("replay       simulator: {crowd_k: %.3f, crowd_x0: %.3f}\n",
	       f->k, f->x0);
	if (plan_error != NULL) {
		printf("schedule     none: %s\n", plan_error);
		return;
	}
	printf("schedule     for %d-px faces, recall >= %.3f with %d workers "
	       "from window %d:\n",
	       t->min_face, t->recall, t->workers, t->first_window);
	printf("             stages: [");
	for (size_t s = 0; s < p->nwindows; s++)
		printf("%s%d", s > 0 ? ", " : "", p->windows[s]);
	printf("]\n             one worker finds a %d-px face with p =",
	       t->min_face);
	for (size_t s = 0; s < p->nwindows; s++)
		printf("%s %.2f", s > 0 ? "," : "", p->p_stage[s]);
	printf("\n             expected recall %.3f (faces of %d px: %.3f)\n",
	       p->recall, 2 * t->min_face, p->recall_double);
	if (p->cost_cents > 0) {
		cfg_format_money(p->cost_cents, money, sizeof(money));
		printf("             cost per image: %lld assignments, $%s\n",
		       (long long)p->assignments, money);
	} else {
		printf("             cost per image: %lld assignments\n",
		       (long long)p->assignments);
	}
}

static int
print_json(const struct calib_data *d, const struct calib_counts *c,
	   const struct calib_fit *f, const struct calib_target *t,
	   const struct calib_plan *p, const char *plan_error)
{
	json_t *o = json_object(), *bins = json_array(), *plan;
	size_t n[NBINS], fd[NBINS];
	double mean[NBINS];

	bins_of(d, n, fd, mean);
	for (size_t b = 0; b < NBINS; b++)
		if (n[b] > 0)
			json_array_append_new(
				bins,
				json_pack("{s:f, s:o, s:I, s:I, s:f, s:f}",
					  "from", bin_edges[b], "to",
					  isinf(bin_edges[b + 1])
						  ? json_null()
						  : json_real(bin_edges[b + 1]),
					  "pairs", (json_int_t)n[b], "found",
					  (json_int_t)fd[b], "mean_ratio",
					  mean[b], "fitted",
					  calib_p(f->k, f->x0, mean[b])));
	json_object_set_new(o, "observations", json_integer((json_int_t)d->n));
	json_object_set_new(o, "found", json_integer((json_int_t)f->found));
	json_object_set_new(o, "hidden", json_integer((json_int_t)c->hidden));
	json_object_set_new(o, "images", json_integer((json_int_t)c->images));
	json_object_set_new(o, "answers",
			    json_integer((json_int_t)c->assignments));
	json_object_set_new(o, "k", json_real(f->k));
	json_object_set_new(o, "se_k", json_real(f->se_k));
	json_object_set_new(o, "x0", json_real(f->x0));
	json_object_set_new(o, "se_x0", json_real(f->se_x0));
	json_object_set_new(o, "loglik", json_real(f->loglik));
	json_object_set_new(o, "bins", bins);
	if (plan_error != NULL) {
		plan = json_pack("{s:s}", "error", plan_error);
	} else {
		json_t *w = json_array();

		for (size_t s = 0; s < p->nwindows; s++)
			json_array_append_new(w, json_integer(p->windows[s]));
		plan = json_pack("{s:i, s:f, s:i, s:i, s:o, s:f, s:f, s:I, "
				 "s:I}",
				 "min_face", t->min_face, "recall_wanted",
				 t->recall, "workers", t->workers,
				 "first_window", t->first_window, "windows", w,
				 "recall", p->recall, "recall_double",
				 p->recall_double, "assignments",
				 (json_int_t)p->assignments, "cost_cents",
				 (json_int_t)p->cost_cents);
	}
	json_object_set_new(o, "schedule", plan);
	return cmd_print_json_line(o);
}

int
cmd_calibrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{"min-face", required_argument, NULL, 'm'},
		{"recall", required_argument, NULL, 'r'},
		{"workers", required_argument, NULL, 'n'},
		{"first-window", required_argument, NULL, 'w'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct calib_target t = {.min_face = 20, .recall = 0.95};
	struct calib_data d = {0};
	struct calib_counts counts = {0};
	struct calib_fit fit;
	struct calib_plan plan;
	struct errbuf eb = {0}, plan_eb = {0};
	int64_t v;
	int c, rc = IF_OK, nexps;
	bool json = false;
	char *end;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":jh", opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_int64(optarg, 1, 100000, &v) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--min-face \"%s\": pixels, "
					     "1..100000",
					     optarg);
			t.min_face = (int)v;
			break;
		case 'r':
			t.recall = strtod(optarg, &end);
			if (*end != '\0' || !(t.recall > 0) ||
			    !(t.recall < 1))
				rc = err_set(&eb, IF_EINPUT,
					     "--recall \"%s\": a number above "
					     "0 and below 1, like 0.95",
					     optarg);
			break;
		case 'n':
			if (parse_int64(optarg, 1, EXP_WORKERS_MAX, &v) != 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--workers \"%s\": 1..%d", optarg,
					     EXP_WORKERS_MAX);
			t.workers = (int)v;
			break;
		case 'w':
			if (parse_int64(optarg, 3, EXP_WINDOW_MAX, &v) != 0 ||
			    v % 2 == 0)
				rc = err_set(&eb, IF_EINPUT,
					     "--first-window \"%s\": odd, "
					     "3..%d",
					     optarg, EXP_WINDOW_MAX);
			t.first_window = (int)v;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			calibrate_usage(stdout);
			return IF_OK;
		default:
			rc = cmd_opt_error(c, argv[optind - 1], &eb);
			break;
		}
		if (rc != IF_OK)
			goto usage_error;
	}
	nexps = argc - optind;
	if (nexps < 1 || nexps > CALIB_EXPS_MAX) {
		err_set(&eb, IF_EINPUT, "give 1 to %d EXPERIMENT files",
			CALIB_EXPS_MAX);
		goto usage_error;
	}
	for (int i = optind; rc == IF_OK && i < argc; i++) {
		char *arg = strdup(argv[i]), *eq, *dir = NULL;
		struct experiment *e = NULL;

		if (arg == NULL) {
			rc = err_set(&eb, IF_ERUNTIME, "out of memory");
			break;
		}
		if ((eq = strchr(arg, '=')) != NULL)
			*eq = '\0';
		rc = exp_load(arg, &e, NULL, &eb);
		if (rc == IF_OK) {
			dir = state_dir_for(eq != NULL ? eq + 1 : NULL,
					    e->name);
			if (dir == NULL)
				rc = err_set(&eb, IF_ERUNTIME,
					     "out of memory");
		}
		if (rc == IF_OK)
			rc = calib_collect(e, dir, &d, &counts, &eb);
		if (rc == IF_OK && i == optind) {
			if (t.workers == 0)
				t.workers = e->hit.workers;
			if (t.first_window == 0)
				t.first_window = e->stages[0];
			t.assignment_cents =
				e->hit.reward_cents +
				plan_fee_cents(e->hit.reward_cents, t.workers,
					       plan_uses_masters(e));
		}
		free(dir);
		free(arg);
		exp_free(e);
	}
	if (rc == IF_OK)
		rc = calib_fit(&d, &fit, &eb);
	if (rc == IF_OK) {
		calib_schedule(&fit, &t, &plan, &plan_eb);
		if (json)
			rc = print_json(&d, &counts, &fit, &t, &plan,
					err_isset(&plan_eb) ? plan_eb.msg
							    : NULL);
		else
			print_text(&d, &counts, &fit, &t, &plan,
				   err_isset(&plan_eb) ? plan_eb.msg : NULL);
		if (rc != IF_OK)
			err_set(&eb, rc, "out of memory");
	}
	calib_data_cleanup(&d);
	if (rc != IF_OK)
		return cmd_fail("calibrate", &eb);
	return IF_OK;

usage_error:
	return cmd_usage_error("calibrate", &eb);
}
