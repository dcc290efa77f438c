/*
 * daemon/metrics.c - the seed's table 1 (spec section 8) and the analysis
 * around it: per image and in total, how many ground-truth faces the
 * final redaction caught, at which stage each face was first covered,
 * and what the redaction cost in hidden pixels that show no face.
 *
 * A face counts as found when the union of every stage's aggregated boxes
 * covers at least half of its area.  Coverage is measured exactly by
 * box_coverage() (overlapping boxes are not counted twice), so "half" is a
 * pixel count, not a float guess.  Areas are in pixels of the oriented
 * original; percentages are of the area of the image the face is in.
 * Images without ground truth are listed but stay out of the totals: there
 * is nothing to count them against.
 *
 * Stage 0 (issue 17) is the image's starting boxes, redacted before any
 * worker looks: the detector's, the file's, or an earlier experiment's.
 * A face stage 0 covers is hidden from every worker, so it is counted
 * apart: found by the detector when the detector's boxes alone cover it,
 * by the other starting boxes otherwise.  Every other face found was
 * found by the crowd, at its first covering stage.
 */
#include "daemon/daemon.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double
pct(int64_t part, int64_t whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

int
metrics_image(const struct box *truth, size_t ntruth,
	      const struct box *redacted, size_t nredacted, int w, int h,
	      struct image_metrics *m, struct errbuf *eb)
{
	if (w <= 0 || h <= 0)
		return err_set(eb, IF_EINPUT, "metrics: bad image size %dx%d",
			       w, h);
	memset(m, 0, sizeof(*m));
	m->has_truth = true;
	m->image_area = (int64_t)w * h;
	m->faces = ntruth;
	m->smallest_found = -1;
	for (size_t i = 0; i < ntruth; i++) {
		struct box face = truth[i];
		int64_t area;
		double cov;

		/* A face drawn past the border counts by its visible part. */
		if (!box_clip(&face, w, h)) {
			m->faces--;
			continue;
		}
		area = (int64_t)face.w * face.h;
		cov = box_coverage(&face, redacted, nredacted);
		if (area > m->largest_face) {
			m->largest_face = area;
			m->largest_face_w = face.w;
			m->largest_face_h = face.h;
		}
		if (cov >= 0.5) {
			m->found++;
			if (m->smallest_found < 0 || area < m->smallest_found) {
				m->smallest_found = area;
				m->smallest_found_w = face.w;
				m->smallest_found_h = face.h;
			}
		} else if (area > m->largest_missed) {
			m->largest_missed = area;
			m->largest_missed_w = face.w;
			m->largest_missed_h = face.h;
		}
	}
	m->largest_missed_pct = pct(m->largest_missed, m->image_area);
	m->largest_face_pct = pct(m->largest_face, m->image_area);
	if (m->smallest_found >= 0)
		m->smallest_found_pct = pct(m->smallest_found, m->image_area);
	return IF_OK;
}

void
metrics_face_detector(struct face_metrics *f, const struct box *det,
		       size_t ndet)
{
	f->by_detector = f->at_stage0 && metrics_covers(&f->box, det, ndet);
}

bool
metrics_covers(const struct box *face, const struct box *boxes, size_t n)
{
	return n > 0 && box_coverage(face, boxes, n) >= 0.5;
}

bool
metrics_face(const struct box *face, const struct box *redacted,
	     const size_t *upto, size_t nstages, int w, int h,
	     struct face_metrics *f)
{
	memset(f, 0, sizeof(*f));
	f->box = *face;
	if (w <= 0 || h <= 0 || !box_clip(&f->box, w, h))
		return false;
	f->area = (int64_t)f->box.w * f->box.h;
	f->pct = pct(f->area, (int64_t)w * h);
	f->covered = upto[nstages] > 0
			     ? box_coverage(&f->box, redacted, upto[nstages])
			     : 0.0;
	f->found = f->covered >= 0.5;
	f->at_stage0 = f->found && metrics_covers(&f->box, redacted, upto[0]);
	/* Stage prefixes only grow, so the first covering one is found by
	 * walking up from stage 1. */
	for (size_t k = 1; f->found && !f->at_stage0 && k <= nstages; k++)
		if (metrics_covers(&f->box, redacted, upto[k])) {
			f->first_stage = (int)k;
			break;
		}
	return true;
}

void
metrics_stages(struct image_metrics *m, const struct face_metrics *f,
	       size_t nfaces, size_t nstages)
{
	if (nstages > METRICS_STAGES_MAX)
		nstages = METRICS_STAGES_MAX;
	m->nstages = nstages;
	memset(m->found_by_stage, 0, sizeof(m->found_by_stage));
	m->found_stage0 = 0;
	m->found_by_detector = 0;
	for (size_t i = 0; i < nfaces; i++) {
		if (f[i].at_stage0) {
			m->found_stage0++;
			m->found_by_detector += f[i].by_detector;
		}
		for (size_t k = 0; k < nstages; k++)
			if (f[i].at_stage0 ||
			    (f[i].first_stage > 0 &&
			     (size_t)f[i].first_stage <= k + 1))
				m->found_by_stage[k]++;
	}
}

/* Pixels of the w x h image under the union of boxes. */
static int64_t
union_area(const struct box *boxes, size_t n, int w, int h)
{
	struct box all = {0, 0, w, h};

	if (n == 0)
		return 0;
	return llround(box_coverage(&all, boxes, n) * (double)w * h);
}

static bool
overlaps(const struct box *a, const struct box *b, struct box *out)
{
	int x0 = a->x > b->x ? a->x : b->x, y0 = a->y > b->y ? a->y : b->y;
	int64_t x1 = (int64_t)a->x + a->w, y1 = (int64_t)a->y + a->h;

	if ((int64_t)b->x + b->w < x1)
		x1 = (int64_t)b->x + b->w;
	if ((int64_t)b->y + b->h < y1)
		y1 = (int64_t)b->y + b->h;
	if (x1 <= x0 || y1 <= y0)
		return false;
	if (out != NULL)
		*out = (struct box){x0, y0, (int)(x1 - x0), (int)(y1 - y0)};
	return true;
}

int
metrics_privacy_cost(struct image_metrics *m, const struct box *truth,
		     size_t ntruth, const struct box *redacted,
		     size_t nredacted, int w, int h, struct errbuf *eb)
{
	struct box *inter = NULL;
	size_t ninter = 0;

	m->has_cost = true;
	m->boxes = nredacted;
	m->boxes_no_face = 0;
	m->redacted_area = union_area(redacted, nredacted, w, h);
	if (nredacted > 0 && ntruth > 0) {
		inter = calloc(nredacted * ntruth, sizeof(*inter));
		if (inter == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < nredacted; i++) {
		bool any = false;

		for (size_t j = 0; j < ntruth; j++)
			if (overlaps(&redacted[i], &truth[j], &inter[ninter])) {
				ninter++;
				any = true;
			}
		if (!any)
			m->boxes_no_face++;
	}
	/* Hidden pixels inside faces: the union of the overlaps. */
	m->redacted_outside =
		m->redacted_area - union_area(inter, ninter, w, h);
	free(inter);
	return IF_OK;
}

void
metrics_total_init(struct image_metrics *t)
{
	memset(t, 0, sizeof(*t));
	t->has_truth = true;
	t->has_cost = true;
	t->smallest_found = -1;
}

/*
 * The total's areas are the extremes over the images, each with the
 * percentage of its own image (an area summed over images of different
 * sizes would say nothing).  image_area and the redacted areas are sums,
 * so that the total's redacted percentages are of all pixels.
 */
void
metrics_total_add(struct image_metrics *t, const struct image_metrics *m)
{
	if (!m->has_truth)
		return;
	t->images++;
	t->faces += m->faces;
	t->found += m->found;
	t->image_area += m->image_area;
	if (m->largest_face > t->largest_face) {
		t->largest_face = m->largest_face;
		t->largest_face_pct = m->largest_face_pct;
		t->largest_face_w = m->largest_face_w;
		t->largest_face_h = m->largest_face_h;
	}
	if (m->largest_missed > t->largest_missed) {
		t->largest_missed = m->largest_missed;
		t->largest_missed_pct = m->largest_missed_pct;
		t->largest_missed_w = m->largest_missed_w;
		t->largest_missed_h = m->largest_missed_h;
	}
	if (m->smallest_found >= 0 &&
	    (t->smallest_found < 0 || m->smallest_found < t->smallest_found)) {
		t->smallest_found = m->smallest_found;
		t->smallest_found_pct = m->smallest_found_pct;
		t->smallest_found_w = m->smallest_found_w;
		t->smallest_found_h = m->smallest_found_h;
	}
	t->has_cost = t->has_cost && m->has_cost;
	t->redacted_area += m->redacted_area;
	t->redacted_outside += m->redacted_outside;
	t->boxes += m->boxes;
	t->boxes_no_face += m->boxes_no_face;
	t->has_stage0 = t->has_stage0 || m->has_stage0;
	t->stage0_boxes += m->stage0_boxes;
	t->stage0_detector_boxes += m->stage0_detector_boxes;
	t->found_stage0 += m->found_stage0;
	t->found_by_detector += m->found_by_detector;
	if (m->nstages > t->nstages)
		t->nstages = m->nstages;
	for (size_t k = 0; k < m->nstages; k++)
		t->found_by_stage[k] += m->found_by_stage[k];
	/* An image with fewer stages has found all it will by its last. */
	for (size_t k = m->nstages; m->nstages > 0 && k < t->nstages; k++)
		t->found_by_stage[k] += m->found_by_stage[m->nstages - 1];
}

double
metrics_found_pct(const struct image_metrics *m)
{
	return m->faces > 0 ? 100.0 * (double)m->found / (double)m->faces
			    : 0.0;
}

static void
csv_header(struct buf *out, size_t nstages, bool stage0)
{
	buf_append_str(out,
		       "image,faces,found,not_found,found_pct,"
		       "largest_not_found_area,largest_not_found_pct,"
		       "largest_face_area,largest_face_pct,image_area,"
		       "smallest_found_area,smallest_found_pct,"
		       "not_found_pct,largest_not_found_wxh,largest_face_wxh,"
		       "smallest_found_wxh,redacted_pct,"
		       "redacted_outside_faces_pct,redaction_boxes,"
		       "boxes_on_no_face");
	if (stage0)
		buf_append_str(out, ",stage0_boxes,found_by_detector,"
				    "found_by_start,found_by_crowd,"
				    "found_stage0");
	for (size_t k = 1; k <= nstages; k++)
		buf_printf(out, ",found_stage%zu", k);
	buf_append_str(out, "\n");
}

void
metrics_csv_header_stages(struct buf *out, size_t nstages)
{
	csv_header(out, nstages, false);
}

void
metrics_csv_header_stage0(struct buf *out, size_t nstages)
{
	csv_header(out, nstages, true);
}

void
metrics_csv_header(struct buf *out)
{
	metrics_csv_header_stages(out, 0);
}

static int
csv_wxh(struct buf *out, bool present, int w, int h)
{
	return present ? buf_printf(out, ",%dx%d", w, h)
		       : buf_append_str(out, ",");
}

/* The columns after table 1's first twelve. */
static int
csv_more(struct buf *out, const struct image_metrics *m, bool stage0)
{
	int rc = 0;

	if (m->faces > 0)
		rc = buf_printf(out, ",%.1f", 100.0 - metrics_found_pct(m));
	else
		rc = buf_append_str(out, ",");
	rc |= csv_wxh(out, m->faces > m->found, m->largest_missed_w,
		      m->largest_missed_h);
	rc |= csv_wxh(out, m->faces > 0, m->largest_face_w,
		      m->largest_face_h);
	rc |= csv_wxh(out, m->smallest_found >= 0, m->smallest_found_w,
		      m->smallest_found_h);
	if (m->has_cost)
		rc |= buf_printf(out, ",%.4f,%.4f,%zu,%zu",
				 pct(m->redacted_area, m->image_area),
				 pct(m->redacted_outside, m->image_area),
				 m->boxes, m->boxes_no_face);
	else
		rc |= buf_append_str(out, ",,,,");
	if (stage0 && m->has_stage0)
		rc |= buf_printf(out, ",%zu,%zu,%zu,%zu,%zu", m->stage0_boxes,
				 m->found_by_detector,
				 m->found_stage0 - m->found_by_detector,
				 m->found - m->found_stage0, m->found_stage0);
	else if (stage0)
		rc |= buf_append_str(out, ",,,,,");
	for (size_t k = 0; k < m->nstages; k++)
		rc |= buf_printf(out, ",%zu", m->found_by_stage[k]);
	return rc;
}

/*
 * One CSV row.  Ids are [a-z0-9-] by the schema, so they need no quoting;
 * an image without ground truth has empty cells, not zeros, so that a
 * spreadsheet does not average them in.  A missing value is empty too.
 */
static int
csv_row(struct buf *out, const char *name, const struct image_metrics *m,
	bool stage0)
{
	int rc;

	if (!m->has_truth) {
		rc = buf_printf(out, "%s,,,,,,,,,,,,,,,,,,,%s", name,
				stage0 ? ",,,,," : "");
		for (size_t k = 0; k < m->nstages; k++)
			rc |= buf_append_str(out, ",");
		return rc | buf_append_str(out, "\n");
	}
	rc = buf_printf(out, "%s,%zu,%zu,%zu,", name, m->faces, m->found,
			m->faces - m->found);
	if (rc == 0 && m->faces > 0)
		rc = buf_printf(out, "%.1f,", metrics_found_pct(m));
	else if (rc == 0)
		rc = buf_append_str(out, ",");
	if (rc == 0 && m->faces > m->found)
		rc = buf_printf(out, "%lld,%.4f,", (long long)m->largest_missed,
				m->largest_missed_pct);
	else if (rc == 0)
		rc = buf_append_str(out, ",,");
	if (rc == 0 && m->faces > 0)
		rc = buf_printf(out, "%lld,%.4f,", (long long)m->largest_face,
				m->largest_face_pct);
	else if (rc == 0)
		rc = buf_append_str(out, ",,");
	if (rc == 0)
		rc = buf_printf(out, "%lld,", (long long)m->image_area);
	if (rc == 0 && m->smallest_found >= 0)
		rc = buf_printf(out, "%lld,%.4f", (long long)m->smallest_found,
				m->smallest_found_pct);
	else if (rc == 0)
		rc = buf_append_str(out, ",");
	if (rc == 0)
		rc = csv_more(out, m, stage0);
	return rc != 0 ? rc : buf_append_str(out, "\n");
}

int
metrics_csv_row(struct buf *out, const char *name,
		const struct image_metrics *m)
{
	return csv_row(out, name, m, false);
}

int
metrics_csv_row_stage0(struct buf *out, const char *name,
		       const struct image_metrics *m)
{
	return csv_row(out, name, m, true);
}

static json_t *
area_or_null(bool present, int64_t area)
{
	return present ? json_integer(area) : json_null();
}

static json_t *
real_or_null(bool present, double v)
{
	return present ? json_real(v) : json_null();
}

static json_t *
wxh_or_null(bool present, int w, int h)
{
	return present ? json_pack("[ii]", w, h) : json_null();
}

json_t *
metrics_json(const struct image_metrics *m)
{
	json_t *o = json_object(), *stages;
	bool missed = m->faces > m->found, found = m->smallest_found >= 0;

	json_object_set_new(o, "ground_truth", json_boolean(m->has_truth));
	if (!m->has_truth)
		return o;
	json_object_set_new(o, "faces", json_integer((json_int_t)m->faces));
	json_object_set_new(o, "found", json_integer((json_int_t)m->found));
	json_object_set_new(o, "not_found",
			    json_integer((json_int_t)(m->faces - m->found)));
	json_object_set_new(o, "found_pct",
			    real_or_null(m->faces > 0, metrics_found_pct(m)));
	json_object_set_new(o, "not_found_pct",
			    real_or_null(m->faces > 0,
					 100.0 - metrics_found_pct(m)));
	json_object_set_new(o, "largest_not_found_area",
			    area_or_null(missed, m->largest_missed));
	json_object_set_new(o, "largest_not_found_pct",
			    real_or_null(missed, m->largest_missed_pct));
	json_object_set_new(o, "largest_not_found_wxh",
			    wxh_or_null(missed, m->largest_missed_w,
					m->largest_missed_h));
	json_object_set_new(o, "largest_face_area",
			    area_or_null(m->faces > 0, m->largest_face));
	json_object_set_new(o, "largest_face_pct",
			    real_or_null(m->faces > 0, m->largest_face_pct));
	json_object_set_new(o, "largest_face_wxh",
			    wxh_or_null(m->faces > 0, m->largest_face_w,
					m->largest_face_h));
	json_object_set_new(o, "image_area", json_integer(m->image_area));
	json_object_set_new(o, "smallest_found_area",
			    area_or_null(found, m->smallest_found));
	json_object_set_new(o, "smallest_found_pct",
			    real_or_null(found, m->smallest_found_pct));
	json_object_set_new(o, "smallest_found_wxh",
			    wxh_or_null(found, m->smallest_found_w,
					m->smallest_found_h));
	if (m->has_cost) {
		json_object_set_new(o, "redacted_pct",
				    json_real(pct(m->redacted_area,
						  m->image_area)));
		json_object_set_new(o, "redacted_outside_faces_pct",
				    json_real(pct(m->redacted_outside,
						  m->image_area)));
		json_object_set_new(o, "redaction_boxes",
				    json_integer((json_int_t)m->boxes));
		json_object_set_new(o, "boxes_on_no_face",
				    json_integer((json_int_t)m->boxes_no_face));
	}
	if (m->has_stage0) {
		json_object_set_new(
			o, "stage0",
			json_pack("{s:I,s:I,s:I,s:I,s:I}", "boxes",
				  (json_int_t)m->stage0_boxes,
				  "detector_boxes",
				  (json_int_t)m->stage0_detector_boxes, "found",
				  (json_int_t)m->found_stage0,
				  "found_by_detector",
				  (json_int_t)m->found_by_detector,
				  "found_by_start",
				  (json_int_t)(m->found_stage0 -
					       m->found_by_detector)));
		json_object_set_new(
			o, "found_by_crowd",
			json_integer((json_int_t)(m->found -
						  m->found_stage0)));
	}
	if (m->nstages > 0) {
		stages = json_array();
		for (size_t k = 0; k < m->nstages; k++) {
			json_int_t v = (json_int_t)m->found_by_stage[k];

			json_array_append_new(stages, json_integer(v));
		}
		json_object_set_new(o, "found_by_stage", stages);
	}
	return o;
}

static json_t *
stage_or_null(int k)
{
	return k > 0 ? json_integer(k) : json_null();
}

/* "detector", "start" (the other starting boxes), "crowd", or null. */
static json_t *
found_by_json(const struct face_metrics *f)
{
	if (!f->found)
		return json_null();
	if (f->at_stage0)
		return json_string(f->by_detector ? "detector" : "start");
	return json_string("crowd");
}

json_t *
metrics_face_json(const struct face_metrics *f)
{
	return json_pack("{s:[iiii],s:I,s:f,s:f,s:b,s:o,s:o,s:o}", "box",
			 f->box.x, f->box.y, f->box.w, f->box.h, "area",
			 (json_int_t)f->area, "pct", f->pct, "covered",
			 f->covered, "found", f->found, "first_stage",
			 f->at_stage0 ? json_integer(0)
				      : stage_or_null(f->first_stage),
			 "first_worker_stage",
			 stage_or_null(f->first_worker_stage), "found_by",
			 found_by_json(f));
}
