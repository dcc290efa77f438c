/*
 * daemon/stage0.c - stage 0: the boxes an image starts with (issue 17).
 *
 * Before an image's first stage is rendered, its starting boxes are
 * gathered and recorded once in the state (store_stage0_put): the
 * image's own (images[].boxes, origin "image"), those of its boxes_file
 * ("file"), those another experiment redacted by the end of its stage
 * (start_from, "experiment NAME stage N"), and the faces the detector
 * finds, grown by its margin ("detector").  Every stage image hides them
 * and the final image too (stage.c's boxes_through).
 *
 * Restart safety: nothing is recorded until every source has answered,
 * and the record is one transaction whose primary key refuses a second
 * one; a crash between the detection and the record detects again.  The
 * detector's cascades are loaded once per run (ctx->detector), the other
 * experiment's state opened once, read-only (ctx->start).
 */
#include "daemon/daemon.h"
#include "config/config.h"
#include "imaging/imaging.h"

#include <stdlib.h>
#include <string.h>

struct start_source {
	struct state *st;
	char *dir;
	char *name; /* the other experiment's, from its state */
	int stage;
};

void
start_source_close(struct start_source *s)
{
	if (s == NULL)
		return;
	state_close(s->st);
	free(s->dir);
	free(s->name);
	free(s);
}

int
start_source_open(const struct experiment *exp, struct start_source **out,
		  struct errbuf *eb)
{
	struct start_source *s;

	*out = NULL;
	if (exp->start_from.state_dir == NULL)
		return err_set(eb, IF_EINPUT, "%s: no start_from",
			       exp->source);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->dir = strdup(exp->start_from.state_dir)) == NULL) {
		start_source_close(s);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	s->stage = exp->start_from.stage;
	if (state_open_readonly(s->dir, &s->st, eb) != IF_OK ||
	    state_meta_get(s->st, "experiment", &s->name, eb) != IF_OK) {
		start_source_close(s);
		err_prefix(eb, "start_from");
		return eb->code;
	}
	if (s->name == NULL || strcmp(s->name, exp->name) == 0) {
		err_set(eb, IF_EINPUT,
			"start_from: %s: %s", s->dir,
			s->name == NULL
				? "not the state of an experiment"
				: "this is the experiment's own state; name "
				  "another experiment's");
		start_source_close(s);
		return eb->code;
	}
	*out = s;
	return IF_OK;
}

const char *
start_source_name(const struct start_source *s)
{
	return s->name;
}

/* Appends n boxes of one origin to *v (count *nv); IF_ERUNTIME on OOM. */
static int
push_boxes(struct stage0_box **v, size_t *nv, const struct box *b, size_t n,
	   const char *origin, struct errbuf *eb)
{
	struct stage0_box *grown;

	if (n == 0)
		return IF_OK;
	grown = realloc(*v, (*nv + n) * sizeof(*grown));
	if (grown == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	*v = grown;
	for (size_t i = 0; i < n; i++) {
		grown[*nv + i].box = b[i];
		snprintf(grown[*nv + i].origin, sizeof(grown[*nv + i].origin),
			 "%s", origin);
	}
	*nv += n;
	return IF_OK;
}

int
start_source_boxes(struct start_source *s, const char *image_id,
		   const char *fingerprint, struct stage0_box **out,
		   size_t *n, bool *shared, struct errbuf *eb)
{
	struct image_rec im;
	struct stage0_box *inherited = NULL;
	size_t ninherited = 0;
	bool found = false, recorded = false;
	char origin[STAGE0_ORIGIN_MAX];
	int rc;

	*out = NULL;
	*n = 0;
	*shared = false;
	if (store_image_get(s->st, image_id, &im, &found, eb) != IF_OK)
		return eb->code;
	if (!found)
		return IF_OK;
	if (fingerprint != NULL && strcmp(im.fingerprint, fingerprint) != 0)
		return err_set(eb, IF_EINPUT,
			       "start_from: %s: image %s of experiment %s is "
			       "another photo (its SHA-256 differs): give "
			       "this one another id",
			       s->dir, image_id, s->name);
	/* Whatever the other experiment started with counts too. */
	if (store_stage0_get(s->st, image_id, &inherited, &ninherited,
			     &recorded, eb) != IF_OK)
		return eb->code;
	snprintf(origin, sizeof(origin), "experiment %s stage 0", s->name);
	for (size_t i = 0; i < ninherited; i++)
		snprintf(inherited[i].origin, sizeof(inherited[i].origin), "%s",
			 origin);
	*out = inherited;
	*n = ninherited;
	for (int k = 1; k <= s->stage; k++) {
		char *json = NULL;
		struct box *b = NULL;
		size_t nb = 0;

		if (store_stage_result_get(s->st, image_id, k, &json, &found,
					   eb) != IF_OK)
			goto fail;
		if (!found) {
			err_set(eb, IF_EINPUT,
				"start_from: %s: experiment %s has not "
				"finished stage %d of image %s (it is %s at "
				"stage %d); run it further, or start from an "
				"earlier stage",
				s->dir, s->name, s->stage, image_id,
				image_state_str(im.state), im.stage);
			goto fail;
		}
		rc = boxes_from_json(json, &b, &nb, eb);
		free(json);
		snprintf(origin, sizeof(origin), "experiment %s stage %d",
			 s->name, k);
		if (rc == IF_OK)
			rc = push_boxes(out, n, b, nb, origin, eb);
		free(b);
		if (rc != IF_OK)
			goto fail;
	}
	*shared = true;
	return IF_OK;
fail:
	free(*out);
	*out = NULL;
	*n = 0;
	return eb->code;
}

/* The detector's faces in the image's original, grown by its margin. */
static int
detect_start_boxes(struct run_ctx *ctx, const struct image_rec *im,
		   struct box **out, size_t *n, struct errbuf *cause,
		   struct errbuf *eb)
{
	const struct exp_detector *d = &ctx->exp->detector;
	struct face_detect_opts o = {0};
	struct img *orig = NULL;
	const char *path = NULL;
	const void *data = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (ctx->detector == NULL) {
		rc = face_detector_new((const char *const *)d->cascades,
				       d->ncascades, &ctx->detector, eb);
		if (rc != IF_OK) {
			err_prefix(eb, "detector");
			return rc;
		}
		log_info("%s: detector loaded (%zu cascades)", ctx->exp->name,
			 d->ncascades);
	}
	rc = image_read_original(ctx, im, &path, &data, &len, cause);
	if (rc == IF_OK)
		rc = img_load_mem(data, len, path, 0, &orig, cause);
	if (rc != IF_OK)
		return rc == IF_EINPUT ? rc : err_set(eb, rc, "%s", cause->msg);
	o.min_face = img_length_resolve(d->min_face.px, d->min_face.bp,
					orig->w, orig->h);
	o.margin_bp = d->margin_bp;
	rc = face_detect(ctx->detector, orig, &o, out, n, eb);
	img_free(orig);
	return rc;
}

/* The writes of a stage-0 record (one transaction). */
struct stage0_write {
	const char *image_id;
	const struct stage0_box *boxes;
	size_t n;
	int64_t now;
	bool inserted;
};

static int
write_stage0(struct state *st, void *arg, struct errbuf *eb)
{
	struct stage0_write *w = arg;

	return store_stage0_put(st, w->image_id, w->boxes, w->n, w->now,
				&w->inserted, eb);
}

int
stage0_ensure(struct run_ctx *ctx, const struct image_rec *im,
	      struct errbuf *cause, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	const struct exp_image *ei = run_exp_image(ctx, im->id);
	struct stage0_box *all = NULL, *from = NULL;
	struct box *faces = NULL;
	size_t nall = 0, nfrom = 0, nfaces = 0, nown;
	bool recorded = false, shared = false;
	struct stage0_write w = {0};
	int rc;

	if (store_stage0_get(ctx->st, im->id, &all, &nall, &recorded, eb) !=
	    IF_OK)
		return eb->code;
	free(all);
	all = NULL;
	nall = 0;
	if (recorded)
		return IF_OK;
	if (ei == NULL)
		return err_set(cause, IF_EINPUT,
			       "image %s is no longer in the experiment file",
			       im->id);
	rc = push_boxes(&all, &nall, ei->boxes, ei->nboxes, "image", eb);
	if (rc == IF_OK)
		rc = push_boxes(&all, &nall, ei->file_boxes, ei->nfile_boxes,
				"file", eb);
	nown = nall;
	if (rc != IF_OK)
		goto done;
	if (exp->start_from.state_dir != NULL) {
		/*
		 * run checked the other state when it started: one gone since
		 * is every image's problem, for the operator, not a reason to
		 * fail this image for good.
		 */
		if (ctx->start == NULL &&
		    start_source_open(exp, &ctx->start, cause) != IF_OK) {
			rc = err_set(eb, IF_ERUNTIME, "%s", cause->msg);
			goto done;
		}
		rc = start_source_boxes(ctx->start, im->id, im->fingerprint,
					&from, &nfrom, &shared, cause);
		if (rc != IF_OK)
			goto source_failed;
		if (nfrom > 0) {
			struct stage0_box *grown =
				realloc(all, (nall + nfrom) * sizeof(*grown));

			if (grown == NULL) {
				rc = err_set(eb, IF_ERUNTIME,
					     "out of memory");
				goto done;
			}
			all = grown;
			memcpy(all + nall, from, nfrom * sizeof(*from));
			nall += nfrom;
		}
	}
	if (exp->detector.enabled) {
		rc = detect_start_boxes(ctx, im, &faces, &nfaces, cause, eb);
		if (rc == IF_OK)
			rc = push_boxes(&all, &nall, faces, nfaces, "detector",
					eb);
		if (rc != IF_OK)
			goto done;
	}
	/* The instant recovery must survive: found, not yet recorded. */
	run_crash_point(ctx, "before stage 0");
	w = (struct stage0_write){im->id, all, nall, run_now(ctx), false};
	rc = state_transaction(ctx->st, write_stage0, &w, eb);
	if (rc == IF_OK && w.inserted) {
		char from_src[128] = "", from_det[48] = "";

		if (ctx->start != NULL)
			snprintf(from_src, sizeof(from_src),
				 ", %zu from experiment %s", nfrom,
				 start_source_name(ctx->start));
		if (exp->detector.enabled)
			snprintf(from_det, sizeof(from_det),
				 ", %zu from the detector", nfaces);
		log_info("%s/%s/0: stage 0 recorded: %zu starting box%s (%zu "
			 "of its own%s%s)",
			 exp->name, im->id, nall, nall == 1 ? "" : "es", nown,
			 from_src, from_det);
	}
	goto done;
source_failed:
	/* Our own memory or disk stops the daemon; the rest is the image's. */
	if (rc == IF_ERUNTIME && cause->code == IF_ERUNTIME)
		rc = err_set(eb, rc, "%s", cause->msg);
	else
		rc = IF_EINPUT;
done:
	free(all);
	free(from);
	free(faces);
	return rc;
}

/*
 * start_from's experiment must share at least one image with this one, or
 * the directory is most likely the wrong one.
 */
static int
no_image_shared(const struct start_source *s, struct errbuf *eb)
{
	return err_set(eb, IF_EINPUT,
		       "start_from: %s: experiment %s has none of this "
		       "experiment's image ids",
		       s->dir, s->name);
}

int
stage0_check_start(struct run_ctx *ctx, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	size_t waiting = 0, shared_n = 0, recorded_n = 0;

	if (exp->start_from.state_dir == NULL || exp->nimages == 0)
		return IF_OK;
	if (ctx->start == NULL &&
	    start_source_open(exp, &ctx->start, eb) != IF_OK)
		return eb->code;
	for (size_t i = 0; i < exp->nimages; i++) {
		struct stage0_box *b = NULL;
		struct image_rec im;
		size_t n = 0;
		bool found = false, recorded = false, shared = false;

		if (store_image_get(ctx->st, exp->images[i].id, &im, &found,
				    eb) != IF_OK ||
		    store_stage0_get(ctx->st, exp->images[i].id, &b, &n,
				     &recorded, eb) != IF_OK)
			return eb->code;
		free(b);
		if (recorded || (found && im.stage > 1)) {
			recorded_n++;
			continue;
		}
		waiting++;
		if (start_source_boxes(ctx->start, exp->images[i].id,
				       found ? im.fingerprint : NULL, &b, &n,
				       &shared, eb) != IF_OK)
			return eb->code;
		free(b);
		shared_n += shared;
	}
	if (waiting > 0 && shared_n == 0 && recorded_n == 0)
		return no_image_shared(ctx->start, eb);
	return IF_OK;
}

void
stage0_preview_free(struct stage0_preview *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; p->boxes != NULL && i < p->nimages; i++)
		free(p->boxes[i]);
	free(p->boxes);
	free(p->counts);
	free(p->source_name);
	free(p->problem);
	memset(p, 0, sizeof(*p));
}

/*
 * The source's state as it stands: a problem there (no state yet, a stage
 * not finished) is the other experiment's progress, not this file's, so
 * `check` reports it beside a valid plan, whatever its kind.
 */
static int
preview_problem(struct stage0_preview *p, struct errbuf *why,
		struct errbuf *eb)
{
	if ((p->problem = strdup(why->msg)) == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	return IF_OK;
}

int
stage0_preview(const struct experiment *exp, struct stage0_preview *p,
	       struct errbuf *eb)
{
	struct start_source *src = NULL;
	struct errbuf why = {0};
	size_t shared_n = 0;
	int rc = IF_OK;

	memset(p, 0, sizeof(*p));
	p->nimages = exp->nimages;
	p->boxes = calloc(exp->nimages + 1, sizeof(*p->boxes));
	p->counts = calloc(exp->nimages + 1, sizeof(*p->counts));
	if (p->boxes == NULL || p->counts == NULL) {
		stage0_preview_free(p);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	for (size_t i = 0; i < exp->nimages && rc == IF_OK; i++) {
		const struct exp_image *ei = &exp->images[i];

		rc = push_boxes(&p->boxes[i], &p->counts[i], ei->boxes,
				ei->nboxes, "image", eb);
		if (rc == IF_OK)
			rc = push_boxes(&p->boxes[i], &p->counts[i],
					ei->file_boxes, ei->nfile_boxes,
					"file", eb);
	}
	if (rc != IF_OK || exp->start_from.state_dir == NULL)
		goto done;
	if (start_source_open(exp, &src, &why) != IF_OK) {
		rc = preview_problem(p, &why, eb);
		goto done;
	}
	if ((p->source_name = strdup(src->name)) == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < exp->nimages; i++) {
		const struct exp_image *ei = &exp->images[i];
		struct stage0_box *from = NULL, *grown;
		size_t nfrom = 0;
		bool shared = false;
		char fp[65];

		if (file_fingerprint(ei->path, fp, &why) != IF_OK ||
		    start_source_boxes(src, ei->id, fp, &from, &nfrom, &shared,
				       &why) != IF_OK) {
			rc = preview_problem(p, &why, eb);
			goto done;
		}
		shared_n += shared;
		if (nfrom == 0)
			continue;
		grown = realloc(p->boxes[i],
				(p->counts[i] + nfrom) * sizeof(*grown));
		if (grown == NULL) {
			free(from);
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
			goto done;
		}
		memcpy(grown + p->counts[i], from, nfrom * sizeof(*from));
		free(from);
		p->boxes[i] = grown;
		p->counts[i] += nfrom;
	}
	if (exp->nimages > 0 && shared_n == 0) {
		no_image_shared(src, &why);
		rc = preview_problem(p, &why, eb);
	}
done:
	start_source_close(src);
	if (rc != IF_OK)
		stage0_preview_free(p);
	return rc;
}
