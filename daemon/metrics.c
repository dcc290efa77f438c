/*
 * daemon/metrics.c - the seed's table 1 (spec section 8): per image and in
 * total, how many ground-truth faces the final redaction caught.
 *
 * A face counts as found when the union of every stage's aggregated boxes
 * covers at least half of its area.  Coverage is measured exactly by
 * box_coverage() (overlapping boxes are not counted twice), so "half" is a
 * pixel count, not a float guess.  Areas are in pixels of the oriented
 * original; percentages are of the area of the image the face is in.
 * Images without ground truth are listed but stay out of the totals: there
 * is nothing to count them against.
 */
#include "daemon/daemon.h"

#include <jansson.h>
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
	m->has_truth = true;
	m->image_area = (int64_t)w * h;
	m->faces = ntruth;
	m->found = 0;
	m->largest_face = 0;
	m->largest_missed = 0;
	m->smallest_found = -1;
	m->largest_missed_pct = 0.0;
	m->largest_face_pct = 0.0;
	m->smallest_found_pct = 0.0;
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
		if (area > m->largest_face)
			m->largest_face = area;
		if (cov >= 0.5) {
			m->found++;
			if (m->smallest_found < 0 || area < m->smallest_found)
				m->smallest_found = area;
		} else if (area > m->largest_missed) {
			m->largest_missed = area;
		}
	}
	m->largest_missed_pct = pct(m->largest_missed, m->image_area);
	m->largest_face_pct = pct(m->largest_face, m->image_area);
	if (m->smallest_found >= 0)
		m->smallest_found_pct = pct(m->smallest_found, m->image_area);
	return IF_OK;
}

void
metrics_total_init(struct image_metrics *t)
{
	memset(t, 0, sizeof(*t));
	t->has_truth = true;
	t->smallest_found = -1;
}

/*
 * The total's areas are the extremes over the images, each with the
 * percentage of its own image (an area summed over images of different
 * sizes would say nothing).  image_area is the sum.
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
	}
	if (m->largest_missed > t->largest_missed) {
		t->largest_missed = m->largest_missed;
		t->largest_missed_pct = m->largest_missed_pct;
	}
	if (m->smallest_found >= 0 &&
	    (t->smallest_found < 0 || m->smallest_found < t->smallest_found)) {
		t->smallest_found = m->smallest_found;
		t->smallest_found_pct = m->smallest_found_pct;
	}
}

double
metrics_found_pct(const struct image_metrics *m)
{
	return m->faces > 0 ? 100.0 * (double)m->found / (double)m->faces
			    : 0.0;
}

void
metrics_csv_header(struct buf *out)
{
	buf_append_str(out,
		       "image,faces,found,not_found,found_pct,"
		       "largest_not_found_area,largest_not_found_pct,"
		       "largest_face_area,largest_face_pct,image_area,"
		       "smallest_found_area,smallest_found_pct\n");
}

/*
 * One CSV row.  Ids are [a-z0-9-] by the schema, so they need no quoting;
 * an image without ground truth has empty cells, not zeros, so that a
 * spreadsheet does not average them in.  A missing value is empty too.
 */
int
metrics_csv_row(struct buf *out, const char *name,
		const struct image_metrics *m)
{
	int rc;

	if (!m->has_truth)
		return buf_printf(out, "%s,,,,,,,,,,,\n", name);
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
		rc = buf_printf(out, "%lld,%.4f\n",
				(long long)m->smallest_found,
				m->smallest_found_pct);
	else if (rc == 0)
		rc = buf_append_str(out, ",\n");
	return rc;
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

json_t *
metrics_json(const struct image_metrics *m)
{
	json_t *o = json_object();
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
	json_object_set_new(o, "largest_not_found_area",
			    area_or_null(missed, m->largest_missed));
	json_object_set_new(o, "largest_not_found_pct",
			    real_or_null(missed, m->largest_missed_pct));
	json_object_set_new(o, "largest_face_area",
			    area_or_null(m->faces > 0, m->largest_face));
	json_object_set_new(o, "largest_face_pct",
			    real_or_null(m->faces > 0, m->largest_face_pct));
	json_object_set_new(o, "image_area", json_integer(m->image_area));
	json_object_set_new(o, "smallest_found_area",
			    area_or_null(found, m->smallest_found));
	json_object_set_new(o, "smallest_found_pct",
			    real_or_null(found, m->smallest_found_pct));
	return o;
}
