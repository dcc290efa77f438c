/*
 * daemon/calibrate.c - the crowd's per-worker detection curve, fitted by
 * maximum likelihood, and the schedule it proposes (issue 17; the method
 * is explained in docs/calibrate.md).
 *
 * One observation is one worker facing one ground-truth face that the
 * image served to that worker did not hide (less than half of the face
 * covered by what earlier stages redacted): x is the face's smaller side
 * over the stage's window, y whether the worker's boxes cover at least
 * half of the face.  The model is P(y = 1) = 1 / (1 + exp(-k (x - x0))),
 * fitted as the logistic regression eta = a + b x (b = k, a = -k x0) by
 * Newton's method; the observed information matrix (for this canonical
 * link equal to the expected one) gives the standard errors, carried to
 * k and x0 by the delta method.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <math.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int
calib_add(struct calib_data *d, double x, bool found)
{
	if (d->n == d->cap) {
		size_t cap = d->cap == 0 ? 256 : d->cap * 2;
		struct calib_obs *p = realloc(d->obs, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		d->obs = p;
		d->cap = cap;
	}
	d->obs[d->n].x = x;
	d->obs[d->n].found = found;
	d->n++;
	return 0;
}

void
calib_data_cleanup(struct calib_data *d)
{
	free(d->obs);
	memset(d, 0, sizeof(*d));
}

static double
logistic(double eta)
{
	return eta >= 0 ? 1.0 / (1.0 + exp(-eta))
			: exp(eta) / (1.0 + exp(eta));
}

double
calib_p(double k, double x0, double x)
{
	return logistic(k * (x - x0));
}

int
calib_fit(const struct calib_data *d, struct calib_fit *f,
	  struct errbuf *eb)
{
	double a = 0.0, b = 1.0, ll = -INFINITY;
	size_t found = 0;
	bool converged = false;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < d->n; i++)
		found += d->obs[i].found;
	f->n = d->n;
	f->found = found;
	if (d->n < 10 || found == 0 || found == d->n)
		return err_set(eb, IF_EINPUT,
			       "calibrate: %zu observations, %zu of them "
			       "found: a curve needs at least 10 "
			       "observations with both found and missed "
			       "faces",
			       d->n, found);
	/* Start from the base rate: a flat curve through it. */
	a = log((double)found / (double)(d->n - found));
	b = 0.0;
	for (int it = 0; it < 100 && !converged; it++) {
		double g0 = 0, g1 = 0, h00 = 0, h01 = 0, h11 = 0, det;
		double da, db, step = 1.0, nll;

		for (size_t i = 0; i < d->n; i++) {
			double x = d->obs[i].x, p = logistic(a + b * x);
			double r = (d->obs[i].found ? 1.0 : 0.0) - p;
			double w = p * (1.0 - p);

			g0 += r;
			g1 += r * x;
			h00 += w;
			h01 += w * x;
			h11 += w * x * x;
		}
		det = h00 * h11 - h01 * h01;
		if (!(det > 0))
			return err_set(eb, IF_EINPUT,
				       "calibrate: the observations do not "
				       "determine a curve (all at one ratio?)");
		da = (h11 * g0 - h01 * g1) / det;
		db = (h00 * g1 - h01 * g0) / det;
		/* Halve the step until the likelihood does not fall. */
		for (;;) {
			nll = 0;
			for (size_t i = 0; i < d->n; i++) {
				double eta = a + step * da +
					     (b + step * db) * d->obs[i].x;
				double p = logistic(d->obs[i].found ? eta
								    : -eta);

				nll += log(p > 1e-300 ? p : 1e-300);
			}
			if (nll >= ll - 1e-12 || step < 1e-6)
				break;
			step /= 2;
		}
		a += step * da;
		b += step * db;
		converged = fabs(step * da) < 1e-10 &&
			    fabs(step * db) < 1e-10;
		ll = nll;
		f->iterations = it + 1;
	}
	/* The observed information at the estimate, and its inverse. */
	{
		double h00 = 0, h01 = 0, h11 = 0, det;

		for (size_t i = 0; i < d->n; i++) {
			double x = d->obs[i].x, p = logistic(a + b * x);
			double w = p * (1.0 - p);

			h00 += w;
			h01 += w * x;
			h11 += w * x * x;
		}
		det = h00 * h11 - h01 * h01;
		if (!(det > 0) || !converged || !(b > 0))
			return err_set(eb, IF_EINPUT,
				       "calibrate: no maximum-likelihood "
				       "curve rising with the face's size "
				       "(found faces and missed ones are "
				       "separated, or larger faces are found "
				       "less often)");
		f->var_a = h11 / det;
		f->var_b = h00 / det;
		f->cov_ab = -h01 / det;
	}
	f->a = a;
	f->b = b;
	f->k = b;
	f->x0 = -a / b;
	f->se_k = sqrt(f->var_b);
	{
		/* x0 = -a/b: gradient (-1/b, a/b^2). */
		double ga = -1.0 / b, gb = a / (b * b);

		f->se_x0 = sqrt(ga * ga * f->var_a + 2 * ga * gb * f->cov_ab +
				gb * gb * f->var_b);
	}
	f->loglik = ll;
	return IF_OK;
}

/* The chance that n workers at these windows all miss a face of side. */
static double
miss_all(const struct calib_fit *f, double side, const int *w, size_t m,
	 int workers)
{
	double miss = 1.0;

	for (size_t s = 0; s < m; s++)
		miss *= pow(1.0 - calib_p(f->k, f->x0, side / w[s]), workers);
	return miss;
}

/*
 * m windows from first down to last, evenly spaced on a log scale and
 * made odd and strictly decreasing; false when they cannot be.
 */
static bool
spaced(int first, int last, size_t m, int *w)
{
	for (size_t s = 0; s < m; s++) {
		double t = m == 1 ? 0.0 : (double)s / (double)(m - 1);
		double v = first * pow((double)last / first, t);
		int odd = 2 * (int)floor(v / 2.0) + 1;

		w[s] = s == 0 ? first : odd;
		if (s > 0 && w[s] >= w[s - 1])
			w[s] = w[s - 1] - 2;
		if (w[s] < 3)
			return false;
	}
	return true;
}

int
calib_schedule(const struct calib_fit *f, const struct calib_target *t,
	       struct calib_plan *p, struct errbuf *eb)
{
	memset(p, 0, sizeof(*p));
	if (t->first_window < 3 || t->first_window % 2 == 0 ||
	    t->min_face < 1 || t->workers < 1 || !(t->recall > 0) ||
	    !(t->recall < 1))
		return err_set(eb, IF_EINPUT,
			       "calibrate: the target needs an odd first "
			       "window >= 3, a smallest face >= 1 px, workers "
			       ">= 1 and a recall between 0 and 1");
	/*
	 * Cost grows with the number of stages (each is a HIT of `workers`
	 * assignments), so the fewest stages win; among schedules of that
	 * many, the one whose last window is widest shows faces least
	 * sharply.
	 */
	for (size_t m = 1; m <= EXP_STAGES_MAX; m++) {
		for (int last = m == 1 ? t->first_window : t->first_window - 2;
		     last >= 3; last -= 2) {
			int w[EXP_STAGES_MAX];
			double miss;

			if (!spaced(t->first_window, last, m, w))
				continue;
			miss = miss_all(f, t->min_face, w, m, t->workers);
			if (1.0 - miss < t->recall)
				continue;
			memcpy(p->windows, w, m * sizeof(int));
			p->nwindows = m;
			p->recall = 1.0 - miss;
			p->recall_double =
				1.0 - miss_all(f, 2.0 * t->min_face, w, m,
					       t->workers);
			p->assignments = (int64_t)m * t->workers;
			p->cost_cents =
				t->assignment_cents > 0
					? p->assignments * t->assignment_cents
					: 0;
			for (size_t s = 0; s < m; s++)
				p->p_stage[s] = calib_p(f->k, f->x0,
							(double)t->min_face /
								w[s]);
			return IF_OK;
		}
	}
	return err_set(eb, IF_EINPUT,
		       "calibrate: no schedule of up to %d stages from window "
		       "%d reaches recall %.3f for %d-px faces with %d workers",
		       EXP_STAGES_MAX, t->first_window, t->recall, t->min_face,
		       t->workers);
}

/* ---- observations from a finished experiment's state ------------------- */

static int
json_boxes(const char *text, struct box **b, size_t *n, struct errbuf *eb)
{
	return boxes_from_json(text != NULL ? text : "[]", b, n, eb);
}

/*
 * The image's stage 0 (schema 4): hidden from the first stage on, so a
 * face under it is no observation.  A state of schema 3 has none.
 */
static int
start_boxes(sqlite3 *db, const char *path, const char *image_id,
	    struct box **out, size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *q = NULL;
	int rc = IF_OK, step;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db,
			       "SELECT 1 FROM sqlite_master WHERE type = "
			       "'table' AND name = 'stage0_boxes'",
			       -1, &q, NULL) != SQLITE_OK)
		return err_set(eb, IF_EINPUT, "%s: %s", path,
			       sqlite3_errmsg(db));
	step = sqlite3_step(q);
	sqlite3_finalize(q);
	if (step != SQLITE_ROW)
		return IF_OK;
	if (sqlite3_prepare_v2(db,
			       "SELECT x, y, w, h FROM stage0_boxes WHERE "
			       "image_id = ?1 ORDER BY seq",
			       -1, &q, NULL) != SQLITE_OK)
		return err_set(eb, IF_EINPUT, "%s: %s", path,
			       sqlite3_errmsg(db));
	sqlite3_bind_text(q, 1, image_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(q)) == SQLITE_ROW) {
		struct box *grown = realloc(*out, (*n + 1) * sizeof(*grown));

		if (grown == NULL) {
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
			break;
		}
		*out = grown;
		grown[(*n)++] = (struct box){sqlite3_column_int(q, 0),
					     sqlite3_column_int(q, 1),
					     sqlite3_column_int(q, 2),
					     sqlite3_column_int(q, 3)};
	}
	if (rc == IF_OK && step != SQLITE_DONE)
		rc = err_set(eb, IF_EINPUT, "%s: %s", path,
			     sqlite3_errmsg(db));
	sqlite3_finalize(q);
	if (rc != IF_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
calib_collect(const struct experiment *exp, const char *state_dir,
	      struct calib_data *d, struct calib_counts *c,
	      struct errbuf *eb)
{
	char path[4096];
	sqlite3 *db = NULL;
	sqlite3_stmt *res = NULL, *asg = NULL;
	int rc = IF_OK;

	snprintf(path, sizeof(path), "%s/state.db", state_dir);
	/* Read-only: a running daemon's state is never written here. */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		rc = err_set(eb, IF_EINPUT, "%s: %s", path,
			     db != NULL ? sqlite3_errmsg(db) : "cannot open");
		goto done;
	}
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_prepare_v2(db,
			       "SELECT stage, window, boxes FROM stage_results"
			       " WHERE image_id = ?1 ORDER BY stage",
			       -1, &res, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "SELECT boxes FROM assignments WHERE image_id ="
			       " ?1 AND stage = ?2 AND valid = 1",
			       -1, &asg, NULL) != SQLITE_OK) {
		rc = err_set(eb, IF_EINPUT, "%s: not an IntoFocus state: %s",
			     path, sqlite3_errmsg(db));
		goto done;
	}
	for (size_t i = 0; rc == IF_OK && i < exp->nimages; i++) {
		const struct exp_image *im = &exp->images[i];
		struct box *hidden = NULL;
		size_t nhidden = 0;

		if (!im->has_ground_truth)
			continue;
		c->images++;
		if ((rc = start_boxes(db, path, im->id, &hidden, &nhidden,
				      eb)) != IF_OK)
			break;
		sqlite3_reset(res);
		sqlite3_bind_text(res, 1, im->id, -1, SQLITE_STATIC);
		while (rc == IF_OK && sqlite3_step(res) == SQLITE_ROW) {
			int stage = sqlite3_column_int(res, 0);
			int window = sqlite3_column_int(res, 1);
			struct box *red = NULL, *grown;
			size_t nred = 0;

			c->stages++;
			sqlite3_reset(asg);
			sqlite3_bind_text(asg, 1, im->id, -1, SQLITE_STATIC);
			sqlite3_bind_int(asg, 2, stage);
			while (rc == IF_OK && sqlite3_step(asg) == SQLITE_ROW) {
				struct box *b = NULL;
				size_t nb = 0;

				rc = json_boxes((const char *)
							sqlite3_column_text(
								asg, 0),
						&b, &nb, eb);
				c->assignments += rc == IF_OK;
				for (size_t f = 0; rc == IF_OK &&
						   f < im->nground_truth;
				     f++) {
					const struct box *g =
						&im->ground_truth[f];
					int side = g->w < g->h ? g->w : g->h;

					/* Hidden by what was served: no
					 * observation. */
					if (box_coverage(g, hidden, nhidden) >=
					    0.5) {
						c->hidden++;
						continue;
					}
					if (window <= 0)
						continue;
					if (calib_add(d, (double)side / window,
						      box_coverage(g, b, nb) >=
							      0.5) != 0)
						rc = err_set(eb, IF_ERUNTIME,
							     "out of memory");
				}
				free(b);
			}
			if (rc != IF_OK)
				break;
			/* What this stage redacts hides faces from the next. */
			rc = json_boxes((const char *)sqlite3_column_text(res,
									  2),
					&red, &nred, eb);
			if (rc == IF_OK && nred > 0) {
				grown = realloc(hidden, (nhidden + nred) *
								sizeof(*grown));
				if (grown == NULL) {
					rc = err_set(eb, IF_ERUNTIME,
						     "out of memory");
				} else {
					memcpy(grown + nhidden, red,
					       nred * sizeof(*red));
					hidden = grown;
					nhidden += nred;
				}
			}
			free(red);
		}
		free(hidden);
	}
done:
	sqlite3_finalize(res);
	sqlite3_finalize(asg);
	sqlite3_close(db);
	return rc;
}
