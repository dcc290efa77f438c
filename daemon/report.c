/*
 * daemon/report.c - the results site of spec section 7 (the seed's figure
 * 6) and the metrics files of section 8, written by `intofocus report`.
 *
 * The site is one index.html with its data embedded as JSON in a <script>
 * (a page opened from file:// may not fetch() files beside it), and an
 * images/ folder: each stage image as workers saw it, re-rendered from the
 * original and the recorded stage results exactly as the daemon rendered
 * it, the original re-encoded without metadata, and the final image.  The
 * image records come from image_record_json(), the same record the daemon
 * writes as <id>.json, so the site and the outputs cannot disagree.
 * Every file is written atomically; an experiment still running shows the
 * stages that exist so far.
 *
 * Stage 0, the starting boxes each with its origin (issue 17), is shown as
 * a stage of its own: the original with them redacted, their list, and the
 * faces they found (by the detector, or by the other starting boxes) apart
 * from those the crowd found.  Like the daemon, every stage image redacts
 * them.
 */
#include "daemon/daemon.h"
#include "daemon/report_page.h"
#include "daemon/report_stage0.h"
#include "config/config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* Everything known of one image's redaction so far. */
struct image_boxes {
	struct box *all; /* union of the stage results that exist */
	size_t nall;
	size_t nresults; /* stages 1..nresults have a result */
	/* upto[k]: how many of all belong to stages 0..k (a prefix). */
	size_t upto[EXP_STAGES_MAX + 1];
	/* Stage 0 (the first upto[0] of all) with origins, once recorded. */
	bool stage0;
	struct stage0_box *start;
	struct box *detector; /* those of origin "detector" */
	size_t ndetector;
};

static void
image_boxes_cleanup(struct image_boxes *ib)
{
	free(ib->all);
	free(ib->start);
	free(ib->detector);
	memset(ib, 0, sizeof(*ib));
}

/* Stage 0 first: every stage's image redacts it. */
static int
collect_stage0(struct run_ctx *ctx, const char *id, struct image_boxes *ib,
	       struct errbuf *eb)
{
	size_t n = 0;

	if (store_stage0_get(ctx->st, id, &ib->start, &n, &ib->stage0,
			     eb) != IF_OK)
		return eb->code;
	ib->all = calloc(n + 1, sizeof(*ib->all));
	ib->detector = calloc(n + 1, sizeof(*ib->detector));
	if (ib->all == NULL || ib->detector == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (size_t i = 0; i < n; i++) {
		ib->all[i] = ib->start[i].box;
		if (strcmp(ib->start[i].origin, "detector") == 0)
			ib->detector[ib->ndetector++] = ib->start[i].box;
	}
	ib->nall = n;
	ib->upto[0] = n;
	return IF_OK;
}

static int
collect_results(struct run_ctx *ctx, const char *id, struct image_boxes *ib,
		struct errbuf *eb)
{
	memset(ib, 0, sizeof(*ib));
	if (collect_stage0(ctx, id, ib, eb) != IF_OK)
		return eb->code;
	for (size_t k = 1; k <= ctx->exp->nstages; k++) {
		char *text = NULL;
		struct box *b = NULL, *grown;
		size_t n = 0;
		bool found = false;
		int rc = store_stage_result_get(ctx->st, id, (int)k, &text,
						&found, eb);

		if (rc != IF_OK)
			return rc;
		if (!found)
			break;
		rc = boxes_from_json(text, &b, &n, eb);
		free(text);
		if (rc != IF_OK)
			return rc;
		grown = realloc(ib->all, (ib->nall + n + 1) * sizeof(*grown));
		if (grown == NULL) {
			free(b);
			return err_set(eb, IF_ERUNTIME, "out of memory");
		}
		ib->all = grown;
		if (n > 0)
			memcpy(ib->all + ib->nall, b, n * sizeof(*b));
		ib->nall += n;
		ib->nresults = k;
		ib->upto[k] = ib->nall;
		free(b);
	}
	return IF_OK;
}

static int
save_view(const struct img *im, const char *dir, const char *name,
	  int quality, json_t *views, const char *label, const char *kind,
	  int stage, struct errbuf *eb)
{
	char rel[ID_MAX + 32];
	char *path;
	json_t *v;
	int rc;

	snprintf(rel, sizeof(rel), "images/%s", name);
	path = path_join(dir, rel);
	if (path == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	rc = img_save(im, path, quality, eb);
	free(path);
	if (rc != IF_OK)
		return rc;
	v = json_object();
	json_object_set_new(v, "label", json_string(label));
	json_object_set_new(v, "kind", json_string(kind));
	json_object_set_new(v, "stage", json_integer(stage));
	json_object_set_new(v, "src", json_string(rel));
	json_array_append_new(views, v);
	return IF_OK;
}

/* Was stage k (from 1) shown to workers, per the state? */
static bool
stage_shown(const struct image_rec *im, const struct image_boxes *ib,
	    size_t k, const struct hit_rec *hits, size_t nhits)
{
	if (k > 1 && ib->nresults < k - 1)
		return false;
	if (im->state == IMAGE_DONE || (size_t)im->stage > k)
		return true;
	for (size_t i = 0; i < nhits; i++)
		if (hits[i].stage == (int)k)
			return true;
	return false;
}

/*
 * The images of one image: its stage images, original and final, as far
 * as they exist.  The renders repeat the daemon's own (stage.c): the
 * median at the stage's window, then the results of the earlier stages
 * redacted in the experiment's style.
 */
static int
render_views(struct run_ctx *ctx, const struct exp_image *ei,
	     const struct image_rec *im, const struct image_boxes *ib,
	     const char *dir, json_t *views, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct img *orig = NULL, *heavy = NULL, *out = NULL;
	struct hit_rec *hits = NULL;
	size_t nhits = 0;
	char name[ID_MAX + 32], label[64];
	int rc;

	rc = img_load(ei->path, 0, &orig, eb);
	if (rc == IF_OK && im != NULL)
		rc = store_hits_for_image(ctx->st, im->id, &hits, &nhits, eb);
	if (rc == IF_OK && exp->redact.style == REDACT_MEDIAN &&
	    ib->nall > 0) {
		rc = img_new(&heavy, orig->w, orig->h, 0, eb);
		if (rc == IF_OK)
			rc = img_median(orig, heavy, exp_window(exp, ei->id, 1),
					ctx->threads, eb);
	}
	if (rc == IF_OK && im != NULL && ib->upto[0] > 0) {
		rc = img_render_stage(orig, 1, ib->all, ib->upto[0],
				      exp->redact.style, exp->redact.color,
				      heavy, ctx->threads, &out, eb);
		snprintf(name, sizeof(name), "%s-stage0.jpg", im->id);
		if (rc == IF_OK)
			rc = save_view(out, dir, name, ctx->jpeg_quality, views,
				       "Stage 0 (starting boxes)", "stage0", 0,
				       eb);
		img_free(out);
		out = NULL;
	}
	for (size_t k = 1; rc == IF_OK && im != NULL && k <= exp->nstages;
	     k++) {
		if (!stage_shown(im, ib, k, hits, nhits))
			break;
		rc = img_render_stage(orig, exp_window(exp, ei->id, k), ib->all,
				      ib->upto[k - 1],
				      exp->redact.style, exp->redact.color,
				      heavy, ctx->threads, &out, eb);
		if (rc != IF_OK)
			break;
		snprintf(name, sizeof(name), "%s-stage%zu.jpg", im->id, k);
		snprintf(label, sizeof(label), "Stage %zu (window %d)", k,
			 exp_window(exp, ei->id, k));
		rc = save_view(out, dir, name, ctx->jpeg_quality, views, label,
			       "stage", (int)k, eb);
		img_free(out);
		out = NULL;
	}
	if (rc == IF_OK) {
		snprintf(name, sizeof(name), "%s-original.jpg", ei->id);
		rc = save_view(orig, dir, name, ctx->jpeg_quality, views,
			       "Original", "original", 0, eb);
	}
	if (rc == IF_OK && im != NULL && ib->nresults == exp->nstages) {
		rc = img_render_stage(orig, 1, ib->all, ib->nall,
				      exp->redact.style, exp->redact.color,
				      heavy, ctx->threads, &out, eb);
		snprintf(name, sizeof(name), "%s-final.jpg", im->id);
		if (rc == IF_OK)
			rc = save_view(out, dir, name, ctx->jpeg_quality, views,
				       "Final", "final", 0, eb);
		img_free(out);
	}
	if (rc != IF_OK)
		err_prefix(eb, "%s", ei->id);
	free(hits);
	img_free(orig);
	img_free(heavy);
	return rc;
}

static json_t *
boxes_json_value(const struct box *b, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("[iiii]", b[i].x, b[i].y,
						   b[i].w, b[i].h));
	return a;
}

/*
 * The image's faces measured (first stage, coverage), then its answers
 * and HITs fed to the study's analysis, which adds each face's first
 * single-worker stage.  *faces_out: a new array of the faces' JSON.
 */
static int
measure_image(struct run_ctx *ctx, const struct exp_image *ei,
	      const struct image_rec *im, const struct image_boxes *ib,
	      struct analysis *an, struct image_metrics *m,
	      json_t **faces_out, struct errbuf *eb)
{
	struct face_metrics *faces = NULL;
	struct assignment_rec *as = NULL;
	struct hit_rec *hits = NULL;
	size_t nfaces = 0, nas = 0, nhits = 0;
	int rc = IF_OK;

	*faces_out = json_array();
	/* Every CSV row has the stage columns, empty or not. */
	m->nstages = ctx->exp->nstages;
	if (ei->has_ground_truth) {
		faces = calloc(ei->nground_truth + 1, sizeof(*faces));
		if (faces == NULL)
			return err_set(eb, IF_ERUNTIME, "out of memory");
		for (size_t i = 0; i < ei->nground_truth; i++)
			if (metrics_face(&ei->ground_truth[i], ib->all,
					 ib->upto, ib->nresults, ei->width,
					 ei->height, &faces[nfaces])) {
				metrics_face_detector(&faces[nfaces],
						      ib->detector,
						      ib->ndetector);
				nfaces++;
			}
		rc = metrics_image(ei->ground_truth, ei->nground_truth,
				   ib->all, ib->nall, ei->width, ei->height,
				   m, eb);
		if (rc == IF_OK) {
			/* Stage 0 took part: boxes, or a detector. */
			m->has_stage0 = ib->stage0 &&
					(ib->upto[0] > 0 ||
					 ctx->exp->detector.enabled);
			m->stage0_boxes = ib->upto[0];
			m->stage0_detector_boxes = ib->ndetector;
			metrics_stages(m, faces, nfaces, ctx->exp->nstages);
			rc = metrics_privacy_cost(m, ei->ground_truth,
						  ei->nground_truth, ib->all,
						  ib->nall, ei->width,
						  ei->height, eb);
		}
	}
	if (rc == IF_OK && im != NULL)
		rc = store_assignments_for(ctx->st, im->id, 0, &as, &nas, eb);
	if (rc == IF_OK && im != NULL)
		rc = store_hits_for_image(ctx->st, im->id, &hits, &nhits, eb);
	if (rc == IF_OK)
		rc = analysis_add_image(an, ei, as, nas, hits, nhits,
					ei->has_ground_truth ? faces : NULL,
					nfaces, eb);
	for (size_t i = 0; rc == IF_OK && i < nfaces; i++)
		json_array_append_new(*faces_out, metrics_face_json(&faces[i]));
	assignment_recs_free(as, nas);
	free(hits);
	free(faces);
	return rc;
}

/*
 * JSON made safe inside <script>: every "<" becomes \u003c, so neither
 * "</script>" nor "<!--" in an id, a feedback or a file name can end or
 * change the script.  "<" only occurs inside JSON strings, where the
 * escape means the same character.
 */
static int
append_script_json(struct buf *out, const json_t *v, struct errbuf *eb)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII);
	int rc = 0;

	if (text == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	for (const char *p = text; rc == 0 && *p != '\0'; p++)
		rc = *p == '<' ? buf_append_str(out, "\\u003c")
			       : buf_append(out, p, 1);
	free(text);
	return rc == 0 ? IF_OK : err_set(eb, IF_ERUNTIME, "out of memory");
}

static int
write_text(const char *dir, const char *name, const char *text, size_t len,
	   struct errbuf *eb)
{
	char *path = path_join(dir, name);
	int rc;

	if (path == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	rc = atomic_write_file(path, text, len, 0644, eb);
	free(path);
	return rc;
}

/* One image's entry of the site's data, with its metrics. */
static int
image_entry(struct run_ctx *ctx, const struct exp_image *ei,
	    const struct image_rec *im, const char *dir, struct analysis *an,
	    json_t **out, struct image_metrics *m, struct errbuf *eb)
{
	struct image_boxes ib;
	json_t *rec = NULL, *views = json_array(), *faces = NULL;
	int rc;

	*out = NULL;
	memset(m, 0, sizeof(*m));
	rc = im != NULL ? collect_results(ctx, ei->id, &ib, eb) : IF_OK;
	if (im == NULL)
		memset(&ib, 0, sizeof(ib));
	if (rc == IF_OK && im != NULL)
		rc = image_record_json(ctx, im, &rec, eb);
	else if (rc == IF_OK) {
		rec = json_pack("{s:s,s:s,s:s,s:[],s:[]}", "image", ei->id,
				"file", ei->file, "state", "not started",
				"stages", "boxes");
		if (rec == NULL)
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
	}
	if (rc == IF_OK)
		rc = render_views(ctx, ei, im, &ib, dir, views, eb);
	if (rc == IF_OK)
		rc = measure_image(ctx, ei, im, &ib, an, m, &faces, eb);
	if (rc == IF_OK) {
		json_object_set_new(rec, "width", json_integer(ei->width));
		json_object_set_new(rec, "height", json_integer(ei->height));
		json_object_set_new(rec, "views", views);
		views = NULL;
		json_t *gt = ei->has_ground_truth
				     ? boxes_json_value(ei->ground_truth,
							ei->nground_truth)
				     : json_null();
		json_object_set_new(rec, "ground_truth", gt);
		json_object_set_new(rec, "faces", faces);
		faces = NULL;
		json_object_set_new(rec, "redacted",
				    boxes_json_value(ib.all, ib.nall));
		json_object_set_new(rec, "stages_done",
				    json_integer((json_int_t)ib.nresults));
		json_object_set_new(rec, "metrics", metrics_json(m));
		*out = rec;
		rec = NULL;
	}
	json_decref(rec);
	json_decref(views);
	json_decref(faces);
	image_boxes_cleanup(&ib);
	return rc;
}

/*
 * metrics.csv (table 1 per image and in total) and metrics.json (the same
 * with each image's faces, plus the study's analysis and windows).
 */
static int
write_metrics(const char *dir, const struct experiment *exp,
	      const struct image_metrics *ms, const bool *final,
	      const struct image_metrics *total, json_t *images,
	      json_t *analysis, json_t **out, struct errbuf *eb)
{
	struct buf csv;
	json_t *root = json_object(), *rows = json_array(),
	       *excluded = json_array(), *unfinished = json_array(), *t;
	char *text = NULL;
	int rc = IF_OK;
	/* Stage 0's columns once some image has it, or may have it. */
	bool stage0 = exp->detector.enabled;
	int (*csv_row)(struct buf *, const char *,
		       const struct image_metrics *);

	for (size_t i = 0; i < exp->nimages; i++)
		stage0 = stage0 || ms[i].has_stage0;
	csv_row = stage0 ? metrics_csv_row_stage0 : metrics_csv_row;
	buf_init(&csv, 0);
	(stage0 ? metrics_csv_header_stage0
		: metrics_csv_header_stages)(&csv, exp->nstages);
	for (size_t i = 0; i < exp->nimages; i++) {
		json_t *row = metrics_json(&ms[i]);
		json_t *entry = json_array_get(images, i);

		json_object_set_new(row, "image",
				    json_string(exp->images[i].id));
		json_object_set(row, "faces", json_object_get(entry, "faces"));
		json_object_set_new(row, "final", json_boolean(final[i]));
		json_object_set_new(
			row, "ground_truth",
			json_boolean(exp->images[i].has_ground_truth));
		json_array_append_new(rows, row);
		if (!final[i])
			json_array_append_new(unfinished,
					      json_string(exp->images[i].id));
		else if (!ms[i].has_truth)
			json_array_append_new(excluded,
					      json_string(exp->images[i].id));
		if (csv_row(&csv, exp->images[i].id, &ms[i]) != 0)
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
	}
	if (csv_row(&csv, "total", total) != 0)
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	t = metrics_json(total);
	json_object_set_new(t, "images",
			    json_integer((json_int_t)total->images));
	json_object_set_new(root, "experiment", json_string(exp->name));
	json_object_set_new(root, "found_rule",
			    json_string("at least 50% of the face's area "
					"covered by the final redaction"));
	json_object_set_new(root, "images", rows);
	json_object_set_new(root, "total", t);
	json_object_set_new(root, "excluded_without_ground_truth", excluded);
	json_object_set_new(root, "excluded_not_final", unfinished);
	json_object_set(root, "analysis", analysis);
	t = json_array();
	for (size_t k = 0; k < exp->nstages; k++)
		json_array_append_new(t, json_integer(exp->stages[k]));
	json_object_set_new(root, "windows", t);
	json_object_set_new(root, "aggregate",
			    json_string(exp_aggregate_str(exp->aggregate)));
	if (rc == IF_OK)
		rc = write_text(dir, "metrics.csv", csv.data, csv.len, eb);
	if (rc == IF_OK) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		rc = text != NULL ? write_text(dir, "metrics.json", text,
					       strlen(text), eb)
				  : err_set(eb, IF_ERUNTIME, "out of memory");
	}
	free(text);
	buf_cleanup(&csv);
	if (rc != IF_OK) {
		json_decref(root);
		return rc;
	}
	*out = root;
	return IF_OK;
}

int
report_write(struct run_ctx *ctx, const char *dir, size_t *nimages,
	     json_t **metrics_out, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	struct image_rec *list = NULL;
	struct image_metrics *ms = NULL, total;
	struct analysis *an = NULL;
	bool *final = NULL;
	json_t *data = json_object(), *images = json_array(),
	       *metrics = NULL, *analysis = NULL;
	struct buf page;
	char *imgdir = NULL;
	size_t n = 0;
	int rc;

	*nimages = 0;
	if (metrics_out != NULL)
		*metrics_out = NULL;
	buf_init(&page, 0);
	metrics_total_init(&total);
	if (analysis_new(exp, &an, eb) != IF_OK) {
		rc = eb->code;
		goto out;
	}
	ms = calloc(exp->nimages + 1, sizeof(*ms));
	final = calloc(exp->nimages + 1, sizeof(*final));
	imgdir = path_join(dir, "images");
	if (ms == NULL || final == NULL || imgdir == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	rc = mkdir_p(imgdir, 0755, eb);
	if (rc == IF_OK)
		rc = store_images_list(ctx->st, &list, &n, eb);
	for (size_t i = 0; rc == IF_OK && i < exp->nimages; i++) {
		const struct exp_image *ei = &exp->images[i];
		const struct image_rec *im = NULL;
		json_t *entry = NULL;

		for (size_t j = 0; j < n; j++)
			if (strcmp(list[j].id, ei->id) == 0)
				im = &list[j];
		rc = image_entry(ctx, ei, im, dir, an, &entry, &ms[i], eb);
		if (rc != IF_OK)
			break;
		/*
		 * Table 1 measures final redactions: an image still on its
		 * way is shown with what it has, but not counted yet.
		 */
		final[i] = im != NULL && im->state == IMAGE_DONE;
		if (!final[i])
			ms[i].has_truth = false;
		json_array_append_new(images, entry);
		metrics_total_add(&total, &ms[i]);
		(*nimages)++;
	}
	if (rc == IF_OK && (analysis = analysis_json(an)) == NULL)
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = write_metrics(dir, exp, ms, final, &total, images,
				   analysis, &metrics, eb);
	if (rc != IF_OK)
		goto out;
	json_object_set_new(data, "experiment", json_string(exp->name));
	json_object_set_new(data, "aggregate",
			    json_string(exp_aggregate_str(exp->aggregate)));
	json_object_set_new(data, "images", images);
	images = NULL;
	json_object_set(data, "metrics", metrics);
	if (buf_append_str(&page, report_page_head) != 0 ||
	    buf_printf(&page, "<title>IntoFocus: %s</title>\n", exp->name) !=
		    0 ||
	    buf_append_str(&page, report_page_body) != 0 ||
	    buf_append_str(&page, "<script>const IF_DATA = ") != 0) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto out;
	}
	rc = append_script_json(&page, data, eb);
	if (rc == IF_OK &&
	    (buf_append_str(&page, ";</script>\n<script>\n") != 0 ||
	     buf_append_str(&page, report_page_common) != 0 ||
	     buf_append_str(&page, report_page_script) != 0 ||
	     buf_append_str(&page, report_page_stage0) != 0 ||
	     buf_append_str(&page, "</script>\n</body>\n</html>\n") != 0))
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = write_text(dir, "index.html", page.data, page.len, eb);
	if (rc == IF_OK && metrics_out != NULL) {
		*metrics_out = metrics;
		metrics = NULL;
	}
out:
	analysis_free(an);
	json_decref(analysis);
	buf_cleanup(&page);
	json_decref(data);
	json_decref(images);
	json_decref(metrics);
	free(list);
	free(ms);
	free(final);
	free(imgdir);
	return rc;
}

int
report_compare_write(const char *dir, const char *const *names,
		     json_t *const *metrics, size_t n, struct errbuf *eb)
{
	json_t *data = json_object(), *list = json_array();
	struct buf page;
	int rc = IF_OK;

	buf_init(&page, 0);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list,
				      json_pack("{s:s,s:O}", "name", names[i],
						"metrics", metrics[i]));
	json_object_set_new(data, "experiments", list);
	if (buf_append_str(&page, report_page_head) != 0 ||
	    buf_append_str(&page, "<title>IntoFocus comparison</title>\n") !=
		    0 ||
	    buf_append_str(&page, report_compare_body) != 0 ||
	    buf_append_str(&page, "<script>const IF_COMPARE = ") != 0)
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = append_script_json(&page, data, eb);
	if (rc == IF_OK &&
	    (buf_append_str(&page, ";</script>\n<script>\n") != 0 ||
	     buf_append_str(&page, report_page_common) != 0 ||
	     buf_append_str(&page, report_compare_script) != 0 ||
	     buf_append_str(&page, "</script>\n</body>\n</html>\n") != 0))
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
	if (rc == IF_OK)
		rc = write_text(dir, "index.html", page.data, page.len, eb);
	buf_cleanup(&page);
	json_decref(data);
	return rc;
}
