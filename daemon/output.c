/*
 * daemon/output.c - the product handed back to the requester (spec
 * section 4): output_dir/<id>.jpg, the original with every aggregated box
 * redacted and no metadata, and output_dir/<id>.json, the record of how it
 * came to be (boxes per stage and per worker, HIT and assignment ids,
 * times, cost).  Both are written atomically, the JSON last, so a JSON
 * file means its image is complete.
 */
#include "daemon/daemon.h"
#include "config/config.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The sha256 of a file, hex, to notice an original changed mid-run. */
int
file_fingerprint(const char *path, char out[65], struct errbuf *eb)
{
	struct buf b;
	int rc;

	buf_init(&b, 1024u * 1024u * 1024u);
	rc = read_file(path, &b, eb);
	if (rc == IF_OK && data_fingerprint(b.data, b.len, out) != IF_OK)
		rc = err_set(eb, IF_ERUNTIME, "%s: cannot compute its SHA-256",
			     path);
	buf_cleanup(&b);
	return rc;
}

int
data_fingerprint(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	out[0] = '\0';
	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return IF_ERUNTIME;
	hex_encode(md, 32, out);
	return IF_OK;
}

static json_t *
iso_time(int64_t t)
{
	struct tm tm;
	time_t tt = (time_t)t;
	char s[32];

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		return json_null();
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(s);
}

static json_t *
money(int64_t cents)
{
	char s[32];

	cfg_format_money(cents, s, sizeof(s));
	return json_string(s);
}

/* The stored boxes JSON as a JSON value ([] when unreadable). */
static json_t *
boxes_value(const char *text)
{
	json_t *v = json_loads(text != NULL ? text : "[]", 0, NULL);

	return v != NULL ? v : json_array();
}

static json_t *
assignment_json(const struct assignment_rec *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "assignment_id", json_string(a->assignment_id));
	json_object_set_new(o, "worker_id", json_string(a->worker_id));
	json_object_set_new(o, "hit_id", json_string(a->hit_id));
	json_object_set_new(o, "accept_time", iso_time(a->accept_time));
	json_object_set_new(o, "submit_time", iso_time(a->submit_time));
	json_object_set_new(o, "valid", json_boolean(a->valid));
	if (!a->valid)
		json_object_set_new(o, "invalid_reason",
				    json_string(a->invalid_reason));
	json_object_set_new(o, "boxes", boxes_value(a->boxes));
	json_object_set_new(o, "face_found", json_string(a->face_found));
	json_object_set_new(o, "feedback", json_string(a->feedback));
	json_object_set_new(o, "approval",
			    json_string(approval_str(a->approval)));
	return o;
}

static json_t *
hit_json(const struct hit_rec *h)
{
	json_t *o = json_object();

	json_object_set_new(o, "hit_id", json_string(h->hit_id));
	json_object_set_new(o, "hit_type_id", json_string(h->hit_type_id));
	json_object_set_new(o, "annotation", json_string(h->annotation));
	json_object_set_new(o, "attempt", json_integer(h->attempt));
	json_object_set_new(o, "max_assignments",
			    json_integer(h->max_assignments));
	json_object_set_new(o, "created_at", iso_time(h->created_at));
	json_object_set_new(o, "expires_at", iso_time(h->expires_at));
	json_object_set_new(o, "extensions", json_integer(h->extensions));
	json_object_set_new(o, "cost_usd", money(h->cost_cents));
	return o;
}

/*
 * Stage 0: {"boxes": [[x, y, w, h], ...], "origins": [...]} once the
 * starting boxes are recorded (each box's origin at the same index), null
 * before.  Its boxes join the record's "boxes" (all that is redacted).
 */
static int
stage0_json(struct run_ctx *ctx, const char *image_id, json_t *all,
	    json_t **out, struct errbuf *eb)
{
	struct stage0_box *b = NULL;
	size_t n = 0;
	bool recorded = false;
	json_t *boxes, *origins;

	*out = NULL;
	if (store_stage0_get(ctx->st, image_id, &b, &n, &recorded, eb) !=
	    IF_OK)
		return eb->code;
	if (!recorded) {
		*out = json_null();
		return IF_OK;
	}
	boxes = json_array();
	origins = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(boxes,
				      json_pack("[iiii]", b[i].box.x,
						b[i].box.y, b[i].box.w,
						b[i].box.h));
		json_array_append_new(all, json_pack("[iiii]", b[i].box.x,
						     b[i].box.y, b[i].box.w,
						     b[i].box.h));
		json_array_append_new(origins, json_string(b[i].origin));
	}
	free(b);
	*out = json_pack("{s:i, s:o, s:o}", "stage", 0, "boxes", boxes,
			 "origins", origins);
	return *out != NULL ? IF_OK
			    : err_set(eb, IF_ERUNTIME, "out of memory");
}

/* The record of one image; *out is a new JSON object. */
int
image_record_json(struct run_ctx *ctx, const struct image_rec *im,
		  json_t **out, struct errbuf *eb)
{
	const struct experiment *exp = ctx->exp;
	const struct exp_image *ei = run_exp_image(ctx, im->id);
	struct hit_rec *hits = NULL;
	size_t nhits = 0;
	json_t *root = json_object(), *stages = json_array(),
	       *all = json_array(), *start = NULL;
	int64_t cost = 0;
	int rc;

	*out = NULL;
	rc = store_hits_for_image(ctx->st, im->id, &hits, &nhits, eb);
	if (rc == IF_OK)
		rc = stage0_json(ctx, im->id, all, &start, eb);
	if (rc != IF_OK)
		goto fail;
	for (size_t k = 1; k <= exp->nstages; k++) {
		json_t *st = json_object(), *jh = json_array(),
		       *ja = json_array();
		struct assignment_rec *as = NULL;
		size_t nas = 0;
		char *boxes = NULL;
		bool found = false;

		json_object_set_new(st, "stage", json_integer((json_int_t)k));
		json_object_set_new(
			st, "window",
			json_integer(run_exp_window(ctx, im->id, k)));
		rc = store_stage_result_get(ctx->st, im->id, (int)k, &boxes,
					    &found, eb);
		if (rc != IF_OK) {
			json_decref(st);
			json_decref(jh);
			json_decref(ja);
			goto fail;
		}
		json_object_set_new(st, "boxes", found ? boxes_value(boxes)
						       : json_null());
		if (found) {
			json_t *b = boxes_value(boxes);
			json_array_extend(all, b);
			json_decref(b);
		}
		free(boxes);
		for (size_t i = 0; i < nhits; i++)
			if (hits[i].stage == (int)k) {
				json_array_append_new(jh, hit_json(&hits[i]));
				cost += hits[i].cost_cents;
			}
		json_object_set_new(st, "hits", jh);
		rc = store_assignments_for(ctx->st, im->id, (int)k, &as, &nas,
					   eb);
		if (rc != IF_OK) {
			json_decref(st);
			json_decref(ja);
			goto fail;
		}
		for (size_t i = 0; i < nas; i++)
			json_array_append_new(ja, assignment_json(&as[i]));
		assignment_recs_free(as, nas);
		json_object_set_new(st, "assignments", ja);
		json_array_append_new(stages, st);
	}
	json_object_set_new(root, "experiment", json_string(exp->name));
	json_object_set_new(root, "image", json_string(im->id));
	json_object_set_new(root, "file", json_string(ei != NULL ? ei->file
								  : im->file));
	json_object_set_new(root, "sha256", json_string(im->fingerprint));
	if (ei != NULL) {
		json_object_set_new(root, "width", json_integer(ei->width));
		json_object_set_new(root, "height", json_integer(ei->height));
	}
	json_object_set_new(root, "state",
			    json_string(image_state_str(im->state)));
	if (im->reason[0] != '\0')
		json_object_set_new(root, "reason", json_string(im->reason));
	json_object_set_new(root, "aggregate",
			    json_string(exp_aggregate_str(exp->aggregate)));
	json_object_set_new(
		root, "redact",
		json_string(exp_redact_style_str(exp->redact.style)));
	json_object_set_new(root, "stage0", start);
	json_object_set_new(root, "stages", stages);
	json_object_set_new(root, "boxes", all);
	json_object_set_new(root, "cost_usd", money(cost));
	json_object_set_new(root, "started_at", iso_time(im->started_at));
	json_object_set_new(root, "updated_at", iso_time(im->updated_at));
	free(hits);
	*out = root;
	return IF_OK;
fail:
	free(hits);
	json_decref(root);
	json_decref(stages);
	json_decref(all);
	json_decref(start);
	return eb->code;
}

int
write_outputs(struct run_ctx *ctx, const struct image_rec *im,
	      const struct img *final, struct errbuf *eb)
{
	const char *dir = ctx->exp->output_dir;
	char name[ID_MAX + 8];
	char *path = NULL, *text = NULL;
	json_t *rec = NULL;
	int rc;

	if (mkdir_p(dir, 0755, eb) != IF_OK)
		return eb->code;
	snprintf(name, sizeof(name), "%s.jpg", im->id);
	path = path_join(dir, name);
	if (path == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	rc = img_save(final, path, ctx->jpeg_quality, eb);
	free(path);
	if (rc != IF_OK)
		return rc;
	{
		/* The record says "done": it is written once the image is. */
		struct image_rec done = *im;
		done.state = IMAGE_DONE;
		done.updated_at = ctx->now(ctx->now_arg);
		rc = image_record_json(ctx, &done, &rec, eb);
	}
	if (rc != IF_OK)
		return rc;
	json_object_set_new(rec, "final_image", json_string(name));
	text = json_dumps(rec, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	json_decref(rec);
	if (text == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	snprintf(name, sizeof(name), "%s.json", im->id);
	path = path_join(dir, name);
	if (path == NULL) {
		free(text);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	rc = atomic_write_file(path, text, strlen(text), 0644, eb);
	free(path);
	free(text);
	return rc;
}
