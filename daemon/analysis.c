/*
 * daemon/analysis.c - what the report says beyond table 1: per worker
 * (answers, boxes, recall and precision against the ground truth), the
 * working time per assignment (mean, median, a histogram, the effective
 * hourly pay), HIT attempts and extensions, and the money per stage.
 *
 * The report feeds it one image at a time (that image's assignments and
 * HITs, read from the state just before); what it keeps grows with the
 * number of workers and stages, never with the number of images or
 * answers: working times go into a histogram of whole seconds, capped at
 * a day, from which the median is exact below the cap.
 *
 * Recall counts, per answer, the ground-truth faces the worker could
 * still see (not covered by an earlier stage's redaction) and how many of
 * them the worker's own boxes cover at least half of (the found rule of
 * table 1).  Precision counts the worker's boxes that touch a face.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define TIME_CAP 86400 /* seconds kept one by one in the histogram */
#define TIME_BINS 20   /* bars of the working-time plot */

struct worker_stat {
	char id[256];
	size_t answers, valid, boxes, boxes_on_face, faces, found;
	int64_t seconds;
};

struct analysis {
	const struct experiment *exp;
	struct worker_stat *workers;
	size_t nworkers, cap;
	uint32_t *hist; /* TIME_CAP + 1 counters, one per second */
	size_t timed, over_cap;
	int64_t seconds, longest;
	int64_t cost_by_stage[METRICS_STAGES_MAX];
	size_t hits_by_stage[METRICS_STAGES_MAX];
	size_t hits, slots, attempts, extensions;
	int max_attempts, max_extensions;
};

int
analysis_new(const struct experiment *exp, struct analysis **out,
	     struct errbuf *eb)
{
	struct analysis *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (a == NULL ||
	    (a->hist = calloc(TIME_CAP + 1, sizeof(*a->hist))) == NULL) {
		free(a);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	a->exp = exp;
	*out = a;
	return IF_OK;
}

void
analysis_free(struct analysis *a)
{
	if (a == NULL)
		return;
	free(a->workers);
	free(a->hist);
	free(a);
}

static struct worker_stat *
worker(struct analysis *a, const char *id)
{
	struct worker_stat *w;

	for (size_t i = 0; i < a->nworkers; i++)
		if (strcmp(a->workers[i].id, id) == 0)
			return &a->workers[i];
	if (a->nworkers == a->cap) {
		size_t ncap = a->cap != 0 ? a->cap * 2 : 16;

		w = realloc(a->workers, ncap * sizeof(*w));
		if (w == NULL)
			return NULL;
		a->workers = w;
		a->cap = ncap;
	}
	w = &a->workers[a->nworkers++];
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", id);
	return w;
}

static bool
touches(const struct box *b, const struct face_metrics *faces, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct box *f = &faces[i].box;

		if (b->x < f->x + f->w && f->x < b->x + b->w &&
		    b->y < f->y + f->h && f->y < b->y + b->h)
			return true;
	}
	return false;
}

/* One valid answer against the faces it could see. */
static int
score_answer(struct worker_stat *w, const struct assignment_rec *as,
	     struct face_metrics *faces, size_t nfaces, int iw, int ih,
	     struct errbuf *eb)
{
	struct box *b = NULL;
	size_t n = 0;
	int rc = boxes_from_json(as->boxes, &b, &n, eb);

	if (rc != IF_OK)
		return rc;
	n = boxes_clip_all(b, n, iw, ih);
	w->boxes += n;
	for (size_t i = 0; faces != NULL && i < n; i++)
		if (touches(&b[i], faces, nfaces))
			w->boxes_on_face++;
	for (size_t i = 0; faces != NULL && i < nfaces; i++) {
		struct face_metrics *f = &faces[i];
		bool hidden = f->at_stage0 || (f->first_stage > 0 &&
						f->first_stage < as->stage);

		if (!metrics_covers(&f->box, b, n)) {
			if (!hidden)
				w->faces++;
			continue;
		}
		if (f->first_worker_stage == 0 ||
		    as->stage < f->first_worker_stage)
			f->first_worker_stage = as->stage;
		if (!hidden) {
			w->faces++;
			w->found++;
		}
	}
	free(b);
	return IF_OK;
}

int
analysis_add_image(struct analysis *a, const struct exp_image *ei,
		   const struct assignment_rec *as, size_t nas,
		   const struct hit_rec *hits, size_t nhits,
		   struct face_metrics *faces, size_t nfaces,
		   struct errbuf *eb)
{
	int last_stage = 0, attempts = 0;

	for (size_t i = 0; i < nas; i++) {
		struct worker_stat *w = worker(a, as[i].worker_id);
		int64_t secs = as[i].submit_time - as[i].accept_time;
		int rc;

		if (w == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
		w->answers++;
		if (as[i].accept_time > 0 && secs >= 0) {
			w->seconds += secs;
			a->timed++;
			a->seconds += secs;
			if (secs > a->longest)
				a->longest = secs;
			if (secs <= TIME_CAP)
				a->hist[secs]++;
			else
				a->over_cap++;
		}
		if (!as[i].valid)
			continue;
		w->valid++;
		rc = score_answer(w, &as[i], faces, nfaces, ei->width,
				  ei->height, eb);
		if (rc != IF_OK)
			return rc;
	}
	/* HITs come oldest first: a stage's attempts are consecutive. */
	for (size_t i = 0; i < nhits; i++) {
		const struct hit_rec *h = &hits[i];
		size_t k = h->stage > 0 ? (size_t)h->stage - 1 : 0;

		if (k < METRICS_STAGES_MAX) {
			a->cost_by_stage[k] += h->cost_cents;
			a->hits_by_stage[k]++;
		}
		a->hits++;
		a->extensions += (size_t)h->extensions;
		if (h->extensions > a->max_extensions)
			a->max_extensions = h->extensions;
		if (h->stage != last_stage) {
			a->slots++;
			last_stage = h->stage;
			attempts = 0;
		}
		attempts++;
		a->attempts++;
		if (attempts > a->max_attempts)
			a->max_attempts = attempts;
	}
	return IF_OK;
}

static json_t *
ratio_or_null(size_t part, size_t whole)
{
	return whole > 0 ? json_real((double)part / (double)whole)
			 : json_null();
}

static int
cmp_worker(const void *x, const void *y)
{
	return strcmp(((const struct worker_stat *)x)->id,
		      ((const struct worker_stat *)y)->id);
}

static json_t *
workers_json(struct analysis *a)
{
	json_t *arr = json_array();

	qsort(a->workers, a->nworkers, sizeof(*a->workers), cmp_worker);
	for (size_t i = 0; i < a->nworkers; i++) {
		const struct worker_stat *w = &a->workers[i];

		json_array_append_new(
			arr,
			json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o}",
				  "worker", w->id, "answers",
				  (json_int_t)w->answers, "valid",
				  (json_int_t)w->valid, "boxes",
				  (json_int_t)w->boxes, "faces",
				  (json_int_t)w->faces, "faces_found",
				  (json_int_t)w->found, "recall",
				  ratio_or_null(w->found, w->faces),
				  "precision",
				  ratio_or_null(w->boxes_on_face, w->boxes),
				  "mean_seconds",
				  w->answers > 0
					  ? json_real((double)w->seconds /
						      (double)w->answers)
					  : json_null()));
	}
	return arr;
}

/* The k-th smallest (from 0) timed assignment, in seconds. */
static int64_t
nth_seconds(const struct analysis *a, size_t k)
{
	size_t seen = 0;

	for (int64_t s = 0; s <= TIME_CAP; s++) {
		seen += a->hist[s];
		if (seen > k)
			return s;
	}
	return a->longest; /* beyond the cap: the cap's side of it */
}

static json_t *
time_json(const struct analysis *a)
{
	json_t *o = json_object(), *bins = json_array();
	double mean = a->timed > 0 ? (double)a->seconds / (double)a->timed
				   : 0.0;
	double median = 0.0;
	int64_t top = a->longest < TIME_CAP ? a->longest : TIME_CAP;
	int64_t width = top / TIME_BINS + 1;

	if (a->timed > 0) {
		median = (double)nth_seconds(a, (a->timed - 1) / 2);
		if (a->timed % 2 == 0)
			median = (median +
				  (double)nth_seconds(a, a->timed / 2)) /
				 2.0;
	}
	json_object_set_new(o, "assignments",
			    json_integer((json_int_t)a->timed));
	json_object_set_new(o, "mean_seconds",
			    a->timed > 0 ? json_real(mean) : json_null());
	json_object_set_new(o, "median_seconds",
			    a->timed > 0 ? json_real(median) : json_null());
	json_object_set_new(o, "longest_seconds", json_integer(a->longest));
	json_object_set_new(o, "reward_usd",
			    json_real((double)a->exp->hit.reward_cents /
				      100.0));
	/* The reward per assignment over the mean time it took. */
	json_object_set_new(o, "hourly_usd",
			    a->timed > 0 && mean > 0
				    ? json_real((double)a->exp->hit
							.reward_cents /
						100.0 * 3600.0 / mean)
				    : json_null());
	for (int64_t b = 0; a->timed > 0 && b * width <= top; b++) {
		size_t n = 0;

		for (int64_t s = b * width; s < (b + 1) * width && s <= top;
		     s++)
			n += a->hist[s];
		json_array_append_new(bins, json_pack("[III]",
						       (json_int_t)(b * width),
						       (json_int_t)((b + 1) *
								    width),
						       (json_int_t)n));
	}
	json_object_set_new(o, "histogram", bins);
	json_object_set_new(o, "over_a_day",
			    json_integer((json_int_t)a->over_cap));
	return o;
}

json_t *
analysis_json(struct analysis *a)
{
	json_t *o = json_object(), *stages = json_array(), *h;

	json_object_set_new(o, "workers", workers_json(a));
	json_object_set_new(o, "unique_workers",
			    json_integer((json_int_t)a->nworkers));
	json_object_set_new(o, "time", time_json(a));
	h = json_object();
	json_object_set_new(h, "hits", json_integer((json_int_t)a->hits));
	json_object_set_new(h, "image_stages",
			    json_integer((json_int_t)a->slots));
	json_object_set_new(h, "attempts_per_hit",
			    ratio_or_null(a->attempts, a->slots));
	json_object_set_new(h, "max_attempts", json_integer(a->max_attempts));
	json_object_set_new(h, "extensions_per_hit",
			    ratio_or_null(a->extensions, a->hits));
	json_object_set_new(h, "max_extensions",
			    json_integer(a->max_extensions));
	json_object_set_new(o, "hits", h);
	for (size_t k = 0; k < a->exp->nstages && k < METRICS_STAGES_MAX;
	     k++)
		json_array_append_new(
			stages,
			json_pack("{s:I,s:i,s:I,s:f}", "stage",
				  (json_int_t)(k + 1), "window",
				  a->exp->stages[k], "hits",
				  (json_int_t)a->hits_by_stage[k], "cost_usd",
				  (double)a->cost_by_stage[k] / 100.0));
	json_object_set_new(o, "stages", stages);
	return o;
}
