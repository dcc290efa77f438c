/*
 * intofocus check EXPERIMENT.yaml [--json] (spec sections 2 and 3): the
 * `smtpd -n` of IntoFocus.
 *
 * Loads the file exactly as `run` does (config/), prints every problem as
 * FILE:LINE:COLUMN: message with the count at the end (exit 2), or the
 * plan: images, stages, HITs, assignments and the cost, rewards plus MTurk
 * fees, against the budget (exit 0), and each image's starting boxes
 * (stage 0).  A plan over its budget is still a valid file: `run` pauses
 * the images the budget cannot pay for, so check exits 0 and says so
 * plainly on stdout and stderr.  It never opens a network connection:
 * image files are only probed for their headers, except with start_from,
 * whose state is read (read-only) and whose shared images are compared
 * with ours by their SHA-256.
 * A study recruited on Prolific is priced by check_prolific.c instead
 * (its HITs cost nothing), and refused over budget (exit 2).
 */
#include "config/config.h"
#include "daemon/daemon.h"
#include "daemon/recruit.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: intofocus check EXPERIMENT.yaml [--json]\n"
		"       intofocus check --keys\n"
		"\n"
		"Validates an experiment file without touching the network "
		"and prints\nits plan: images, stages, HITs, assignments, and "
		"the cost (rewards\nplus MTurk fees, or with recruitment on "
		"Prolific its rewards, bonuses,\nservice fee and VAT) against "
		"the budget.\n"
		"\n"
		"  --json   print the plan (or the errors) as one JSON object\n"
		"  --keys   describe every key of an experiment file\n"
		"\n"
		"exit status: 0 valid (also when over budget: run pauses the "
		"images\nthe budget cannot pay for), 2 invalid file or "
		"usage, or a Prolific\nstudy over budget\n");
}

static const char *
endpoint_of(const struct experiment *e)
{
	if (e->mturk.endpoint != NULL)
		return e->mturk.endpoint;
	switch (e->mturk.environment) {
	case EXP_ENV_SANDBOX:
		return "https://mturk-requester-sandbox.us-east-1."
		       "amazonaws.com";
	case EXP_ENV_PRODUCTION:
		return "https://mturk-requester.us-east-1.amazonaws.com";
	default:
		return "embedded simulator on a loopback port";
	}
}

static const char *
format_str(enum img_format f)
{
	return f == IMG_FORMAT_JPEG  ? "jpeg"
	       : f == IMG_FORMAT_PNG ? "png"
				     : "?";
}

/* Each image's windows in pixels, when they are not all the schedule's. */
static void
print_windows(const struct experiment *e, int idw)
{
	bool fitted = false;

	for (size_t k = 0; k < e->nstages; k++)
		fitted |= e->stage_specs[k].bp > 0;
	for (size_t i = 0; i < e->nimages; i++)
		fitted |= e->images[i].nwindow_specs > 0;
	if (!fitted)
		return;
	printf("  windows fitted to each image, in pixels:\n");
	for (size_t i = 0; i < e->nimages; i++) {
		const struct exp_image *im = &e->images[i];

		printf("  %-*s ", idw, im->id);
		for (size_t k = 0; k < e->nstages; k++)
			printf("%s%d", k == 0 ? " " : ", ", im->windows[k]);
		printf("%s\n", im->nwindow_specs > 0 ? "  (its own)" : "");
	}
}

/* Requirements per HIT: the file's own and one per other stage slot. */
static size_t
requirements_per_hit(const struct experiment *e)
{
	return e->hit.nquals + (e->hit.exclusive_stages
					? (size_t)exp_qual_slots(e) - 1
					: 0);
}

/* Who may work in which stage (hit.exclusive_stages, exclusivity_group). */
static void
print_exclusive(const struct experiment *e)
{
	const struct exp_group *g = &e->hit.group;
	int first = exp_qual_slot(e, 1);
	int last = exp_qual_slot(e, (int)e->nstages);

	if (!e->hit.exclusive_stages)
		printf("exclusive    no: a worker may work in every stage\n");
	else if (g->name == NULL)
		printf("exclusive    a worker works in one of the %zu stages; "
		       "%zu requirements per HIT\n",
		       e->nstages, requirements_per_hit(e));
	else
		printf("exclusive    a worker works in one of the %d stages of "
		       "group %s (\"intofocus group %s stage N\"), this "
		       "experiment's are %d-%d; %zu requirements per HIT\n",
		       g->stages, g->name, g->name, first, last,
		       requirements_per_hit(e));
}

static json_t *
exclusive_json(const struct experiment *e)
{
	const struct exp_group *g = &e->hit.group;

	if (!e->hit.exclusive_stages)
		return json_null();
	return json_pack("{s:o, s:i, s:i, s:i, s:I}", "group",
			 g->name != NULL ? json_string(g->name) : json_null(),
			 "slots", exp_qual_slots(e), "first_slot",
			 exp_qual_slot(e, 1), "last_slot",
			 exp_qual_slot(e, (int)e->nstages),
			 "requirements_per_hit",
			 (json_int_t)requirements_per_hit(e));
}

static void
print_detector(const struct experiment *e)
{
	const struct exp_detector *d = &e->detector;
	char len[16], margin[16];

	if (!d->enabled)
		return;
	cfg_format_length(&d->min_face, len, sizeof(len));
	cfg_format_percent(d->margin_bp, margin, sizeof(margin));
	printf("detector     OpenCV cascades");
	for (size_t i = 0; i < d->ncascades; i++)
		printf("%s%s", i == 0 ? " " : ", ", d->cascades[i]);
	printf("; faces from %s%s, grown by %s\n", len,
	       d->min_face.bp > 0 ? " of the shorter side" : " px",
	       d->margin_bp > 0 ? margin : "0%");
}

/* Stage 0: each image's starting boxes, by origin (issue 17). */
static void
print_start_boxes(const struct experiment *e, const struct stage0_preview *s,
		  int idw)
{
	size_t total = 0;

	if (e->start_from.state_dir != NULL && s->problem == NULL)
		printf("start from   experiment %s, stage %d (state %s)\n",
		       s->source_name, e->start_from.stage,
		       e->start_from.state_dir);
	else if (e->start_from.state_dir != NULL)
		printf("start from   stage %d of the experiment in %s: NOT "
		       "READY (see the warning)\n",
		       e->start_from.stage, e->start_from.state_dir);
	for (size_t i = 0; i < s->nimages; i++)
		total += s->counts[i];
	if (total == 0 && e->start_from.state_dir == NULL &&
	    !e->detector.enabled)
		return;
	printf("stage 0      %zu starting boxes, hidden from the first stage "
	       "on%s:\n",
	       total, e->detector.enabled ? " (and the detector's)" : "");
	for (size_t i = 0; i < s->nimages; i++) {
		const struct stage0_box *b = s->boxes[i];
		size_t n = s->counts[i];

		printf("  %-*s  %zu", idw, e->images[i].id, n);
		/* Runs of one origin: "2 image, 3 experiment exp1 stage 1". */
		for (size_t j = 0; j < n;) {
			size_t k = j;

			while (k < n && strcmp(b[k].origin, b[j].origin) == 0)
				k++;
			printf("%s%zu %s", j == 0 ? ": " : ", ", k - j,
			       b[j].origin);
			j = k;
		}
		printf("\n");
	}
}

static json_t *
start_boxes_json(const struct stage0_box *b, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:[iiii], s:s}", "box", b[i].box.x,
				       b[i].box.y, b[i].box.w, b[i].box.h,
				       "origin", b[i].origin));
	return arr;
}

static void
print_text(const struct experiment *e, const struct exp_plan *p,
	   const struct prolific_price *pp, const struct stage0_preview *s0)
{
	char a[32], b[32], c[32], d[32], dur[24];
	size_t idw = 2, filew = 4;

	printf("%s: experiment \"%s\" is valid\n", e->source, e->name);
	printf("environment  %s (%s)\n", exp_env_str(e->mturk.environment),
	       endpoint_of(e));
	printf("images       %zu, hosted by %s\n", e->nimages,
	       exp_host_kind_str(e->images_host.kind));
	for (size_t i = 0; i < e->nimages; i++) {
		if (strlen(e->images[i].id) > idw)
			idw = strlen(e->images[i].id);
		if (strlen(e->images[i].file) > filew)
			filew = strlen(e->images[i].file);
	}
	if (e->nimages > 0)
		printf("  %-*s  %-*s  %11s  %s\n", (int)idw, "id", (int)filew,
		       "file", "size", "faces");
	for (size_t i = 0; i < e->nimages; i++) {
		const struct exp_image *im = &e->images[i];
		char size[32], faces[24];

		snprintf(size, sizeof(size), "%dx%d", im->width, im->height);
		if (im->has_ground_truth)
			snprintf(faces, sizeof(faces), "%zu",
				 im->nground_truth);
		else
			snprintf(faces, sizeof(faces), "-");
		printf("  %-*s  %-*s  %11s  %s\n", (int)idw, im->id, (int)filew,
		       im->file, size, faces);
	}
	printf("stages       %zu, median windows", e->nstages);
	for (size_t i = 0; i < e->nstages; i++) {
		char len[16];

		cfg_format_length(&e->stage_specs[i], len, sizeof(len));
		printf("%s%s", i == 0 ? " " : ", ", len);
	}
	printf("\n");
	print_windows(e, (int)idw);
	print_detector(e);
	print_start_boxes(e, s0, (int)idw);
	printf("aggregate    %s of %d worker%s per stage\n",
	       exp_aggregate_str(e->aggregate), e->hit.workers,
	       e->hit.workers == 1 ? "" : "s");
	print_exclusive(e);
	cfg_format_duration(e->hit.assignment_duration, dur, sizeof(dur));
	printf("HITs         %lld (%zu images x %zu stages), %d assignments "
	       "each, %s per assignment\n",
	       (long long)p->hits, p->nimages, p->nstages, p->workers, dur);
	printf("assignments  %lld\n", (long long)p->assignments);
	if (pp != NULL) {
		prolific_plan_print(e, pp);
		return;
	}
	cfg_format_money(p->reward_cents, a, sizeof(a));
	cfg_format_money(p->fee_cents, b, sizeof(b));
	printf("per assign.  $%s reward + $%s MTurk fee (%d%%)\n", a, b,
	       p->fee_percent);
	cfg_format_money(p->hit_cents, a, sizeof(a));
	cfg_format_money(p->image_cents, b, sizeof(b));
	printf("per HIT      $%s; per image $%s\n", a, b);
	cfg_format_money(p->total_cents, a, sizeof(a));
	cfg_format_money(p->rewards_cents, b, sizeof(b));
	cfg_format_money(p->fees_cents, c, sizeof(c));
	printf("cost         $%s ($%s rewards + $%s fees)\n", a, b, c);
	if (!p->has_budget) {
		printf("budget       none set (budget_usd)\n");
		return;
	}
	cfg_format_money(p->budget_cents, a, sizeof(a));
	cfg_format_money(p->budget_left_cents < 0 ? -p->budget_left_cents
						  : p->budget_left_cents,
			 d, sizeof(d));
	if (!p->over_budget)
		printf("budget       $%s, $%s left after the plan\n", a, d);
	else
		printf("budget       $%s: OVER BUDGET by $%s; it pays for %zu "
		       "of %zu images, run pauses the others\n",
		       a, d, p->images_affordable, p->nimages);
}

static json_t *
money_json(int64_t cents)
{
	char s[32];

	cfg_format_money(cents, s, sizeof(s));
	return json_string(s);
}

static json_t *
detector_json(const struct experiment *e)
{
	const struct exp_detector *d = &e->detector;
	json_t *o, *c = json_array();
	char len[16];

	if (!d->enabled) {
		json_decref(c);
		return json_null();
	}
	for (size_t i = 0; i < d->ncascades; i++)
		json_array_append_new(c, json_string(d->cascades[i]));
	cfg_format_length(&d->min_face, len, sizeof(len));
	o = json_pack("{s:o, s:s, s:i}", "cascades", c, "min_face", len,
		      "margin_bp", d->margin_bp);
	return o;
}

static json_t *
plan_json(const struct experiment *e, const struct exp_plan *p,
	  const struct prolific_price *pp, const struct stage0_preview *s0)
{
	json_t *o = json_object(), *imgs = json_array(), *st = json_array();
	json_t *cost = json_object(), *budget;

	for (size_t i = 0; i < e->nimages; i++) {
		const struct exp_image *im = &e->images[i];

		json_t *faces =
			im->has_ground_truth
				? json_integer((json_int_t)im->nground_truth)
				: json_null();

		json_array_append_new(
			imgs,
			json_pack("{s:s, s:s, s:s, s:i, s:i, s:s, s:o}", "id",
				  im->id, "file", im->file, "path", im->path,
				  "width", im->width, "height", im->height,
				  "format", format_str(im->format), "faces",
				  faces));
	}
	for (size_t i = 0; i < e->nstages; i++)
		json_array_append_new(st, json_integer(e->stages[i]));
	for (size_t i = 0; i < e->nimages; i++) {
		json_t *w = json_array();

		for (size_t k = 0; k < e->nstages; k++)
			json_array_append_new(
				w, json_integer(e->images[i].windows[k]));
		json_object_set_new(json_array_get(imgs, i), "windows", w);
		json_object_set_new(json_array_get(imgs, i), "start_boxes",
				    start_boxes_json(s0->boxes[i],
						     s0->counts[i]));
	}
	json_object_set_new(
		o, "start_from",
		e->start_from.state_dir == NULL
			? json_null()
			: json_pack("{s:s, s:i, s:o, s:b, s:o}", "state_dir",
				    e->start_from.state_dir, "stage",
				    e->start_from.stage, "experiment",
				    s0->source_name != NULL
					    ? json_string(s0->source_name)
					    : json_null(),
				    "ready", s0->problem == NULL, "problem",
				    s0->problem != NULL
					    ? json_string(s0->problem)
					    : json_null()));
	{
		json_t *specs = json_array();
		char len[16];

		for (size_t k = 0; k < e->nstages; k++) {
			cfg_format_length(&e->stage_specs[k], len,
					  sizeof(len));
			json_array_append_new(specs, json_string(len));
		}
		json_object_set_new(o, "stages_written", specs);
	}
	json_object_set_new(o, "detector", detector_json(e));
	json_object_set_new(cost, "reward_per_assignment_usd",
			    money_json(p->reward_cents));
	json_object_set_new(cost, "fee_per_assignment_usd",
			    money_json(p->fee_cents));
	json_object_set_new(cost, "fee_percent", json_integer(p->fee_percent));
	json_object_set_new(cost, "per_hit_usd", money_json(p->hit_cents));
	json_object_set_new(cost, "per_image_usd", money_json(p->image_cents));
	json_object_set_new(cost, "rewards_usd", money_json(p->rewards_cents));
	json_object_set_new(cost, "fees_usd", money_json(p->fees_cents));
	json_object_set_new(cost, "total_usd", money_json(p->total_cents));
	json_object_set_new(cost, "total_cents", json_integer(p->total_cents));
	if (p->has_budget)
		budget = json_pack("{s:o, s:I, s:o, s:I, s:b, s:I}", "usd",
				   money_json(p->budget_cents), "cents",
				   (json_int_t)p->budget_cents, "left_usd",
				   money_json(p->budget_left_cents),
				   "left_cents",
				   (json_int_t)p->budget_left_cents, "over",
				   p->over_budget, "images_affordable",
				   (json_int_t)p->images_affordable);
	else
		budget = json_null();
	json_object_set_new(o, "valid", json_true());
	json_object_set_new(o, "file", json_string(e->source));
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "environment",
			    json_string(exp_env_str(e->mturk.environment)));
	json_object_set_new(o, "endpoint",
			    e->mturk.endpoint != NULL
				    ? json_string(e->mturk.endpoint)
				    : json_null());
	json_object_set_new(
		o, "images_host",
		json_string(exp_host_kind_str(e->images_host.kind)));
	json_object_set_new(o, "images", imgs);
	json_object_set_new(o, "stages", st);
	json_object_set_new(o, "aggregate",
			    json_string(exp_aggregate_str(e->aggregate)));
	json_object_set_new(o, "exclusive", exclusive_json(e));
	json_object_set_new(o, "workers", json_integer(p->workers));
	json_object_set_new(o, "hits", json_integer(p->hits));
	json_object_set_new(o, "assignments", json_integer(p->assignments));
	json_object_set_new(o, "assignment_duration_s",
			    json_integer(e->hit.assignment_duration));
	json_object_set_new(o, "cost", cost);
	json_object_set_new(o, "budget", budget);
	json_object_set_new(o, "recruitment",
			    pp != NULL ? prolific_plan_json(e, pp)
				       : json_pack("{s:s}", "platform",
						   "mturk"));
	return o;
}

static int
print_json(json_t *o)
{
	int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	putchar('\n');
	json_decref(o);
	return rc == 0 ? IF_OK : IF_ERUNTIME;
}

static int
report_errors(const char *path, const struct exp_errors *errs,
	      const struct errbuf *eb, bool json)
{
	size_t n = errs->n > 0 ? errs->n : 1;

	if (json) {
		json_t *o = json_object(), *arr = json_array();

		for (size_t i = 0; i < errs->nmsgs; i++)
			json_array_append_new(arr, json_string(errs->msgs[i]));
		if (errs->nmsgs == 0)
			json_array_append_new(arr, json_string(eb->msg));
		json_object_set_new(o, "valid", json_false());
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "errors", arr);
		json_object_set_new(o, "count", json_integer((json_int_t)n));
		print_json(o);
	}
	for (size_t i = 0; i < errs->nmsgs; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
	if (errs->nmsgs == 0)
		fprintf(stderr, "%s\n", eb->msg);
	if (errs->n > errs->nmsgs)
		fprintf(stderr, "... and %zu more\n", errs->n - errs->nmsgs);
	fprintf(stderr, "intofocus check: %s: %zu error%s\n", path, n,
		n == 1 ? "" : "s");
	return eb->code != IF_OK ? eb->code : IF_EINPUT;
}

static int
print_keys(void)
{
	struct buf b;
	int rc;

	buf_init(&b, 0);
	rc = exp_keys_format(&b);
	if (rc == IF_OK)
		fputs(b.data, stdout);
	else
		fprintf(stderr, "intofocus check: out of memory\n");
	buf_cleanup(&b);
	return rc;
}

struct check_opts {
	const char *path; /* the experiment file, NULL with --keys */
	bool json;
	bool keys;
};

/*
 * IF_OK to go on, -1 after --help, or an error with eb set (a usage
 * error in run's shape: cmd_opt_error, cmd_usage_error).
 */
static int
parse_check_opts(int argc, char **argv, struct check_opts *o,
		 struct errbuf *eb)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"keys", no_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'k':
			o->keys = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			return cmd_opt_error(c, argv[optind - 1], eb);
		}
	}
	if (o->keys)
		return optind == argc ? IF_OK
				      : err_set(eb, IF_EINPUT,
						"--keys takes no file");
	if (optind != argc - 1)
		return err_set(eb, IF_EINPUT,
			       "give exactly one EXPERIMENT.yaml");
	o->path = argv[optind];
	return IF_OK;
}

int
cmd_check(int argc, char **argv)
{
	struct exp_errors errs = {0};
	struct experiment *e = NULL;
	struct errbuf eb = {0};
	struct exp_plan plan;
	struct prolific_price price;
	const struct prolific_price *pp = NULL;
	struct stage0_preview s0;
	struct check_opts o;
	const char *path;
	bool json;
	int rc;

	rc = parse_check_opts(argc, argv, &o, &eb);
	if (rc == -1)
		return IF_OK;
	if (rc != IF_OK)
		return cmd_usage_error("check", &eb);
	if (o.keys)
		return print_keys();
	path = o.path;
	json = o.json;
	rc = exp_load(path, &e, &errs, &eb);
	if (rc != IF_OK) {
		rc = report_errors(path, &errs, &eb, json);
		exp_errors_cleanup(&errs);
		return rc;
	}
	/* Starting boxes: start_from's state is read now (read-only). */
	if (stage0_preview(e, &s0, &eb) != IF_OK) {
		exp_free(e);
		return cmd_fail("check", &eb);
	}
	plan_compute(e, &plan);
	if (e->recruitment.platform == EXP_PLATFORM_PROLIFIC) {
		if ((rc = prolific_plan(e, &price, &eb)) != IF_OK) {
			rc = cmd_fail("check", &eb);
			stage0_preview_free(&s0);
			exp_free(e);
			exp_errors_cleanup(&errs);
			return rc;
		}
		pp = &price;
	}
	if (json)
		rc = print_json(plan_json(e, &plan, pp, &s0));
	else
		print_text(e, &plan, pp, &s0);
	if (s0.problem != NULL)
		fprintf(stderr,
			"intofocus check: warning: %s: %s; run refuses to "
			"start until that changes\n",
			path, s0.problem);
	stage0_preview_free(&s0);
	if (pp != NULL &&
	    prolific_budget_check(pp, e->budget_cents, &eb) != IF_OK) {
		fprintf(stderr, "intofocus check: %s: %s: run would stop "
				"approving before the study ends; raise "
				"budget_usd or lower places\n",
			path, eb.msg);
		rc = IF_EINPUT;
	} else if (plan.over_budget)
		fprintf(stderr,
			"intofocus check: warning: %s: the plan costs more "
			"than budget_usd; run will pause the images it cannot "
			"pay for\n",
			path);
	exp_free(e);
	exp_errors_cleanup(&errs);
	return rc;
}
