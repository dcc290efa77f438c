/*
 * sim/sim_persist.c - the simulator's store kept in DIR/sim.db (spec
 * section 6), and the migration of an older simulator's DIR/sim.json.
 *
 * With a state directory the store is kept in DIR/sim.db (sim_db.c), so
 * that a restarted simulator - a lab study that runs for days, or
 * "intofocus run" resumed after a kill - still knows its HITs,
 * assignments, qualifications, tokens and S3 objects.  Everything but the
 * experiments is kept; those come from the configuration at each start.
 *
 * Each change is saved in one transaction before the request is answered,
 * and the transaction holds only what changed:
 *   - records appended to the store's arrays since the last save (the
 *     saved_* counts), which is how new HITs, assignments, qualification
 *     types, grants, HIT types and objects are found: nothing is removed
 *     from those arrays;
 *   - records changed in place, which the code that changes them marks
 *     with sim_touch_*(): get_hit_arg() and get_asg_arg() touch the HIT or
 *     assignment a request names (touches of a read-only or refused
 *     request are dropped), and the few other writers touch theirs.  A
 *     new operation that changes a record it reached another way must
 *     touch it; test_state_dir_matches_memory compares a reopened store
 *     with the live one;
 *   - the id stream's position and the crowd's size;
 *   - the index rows (sim_db.c) of every HIT and assignment written, and
 *     of the HIT of every assignment written: a HIT's status is derived
 *     from its assignments.  Without a directory only these are written,
 *     to a database in memory (save_index_only()).
 * A save that fails leaves all of it pending: the request is answered
 * with a ServiceFault (the change has happened in memory, so a retry sees
 * it; a CreateHIT retried with its token finds the HIT), and every later
 * request tries again, so nothing is answered that is not on disk.
 *
 * The automatic approval of an assignment (sim_asg_settle) is not saved: it
 * is derived again from the submit time after a restart.
 *
 * An older simulator kept the whole state in DIR/sim.json, rewritten at
 * every change, and S3 objects in DIR/objects/; such a directory is read
 * by load_state(), written to sim.db in one transaction, and sim.json is
 * renamed sim.json.migrated (objects/ may be deleted afterwards).
 */
#include "sim/sim_private.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SIM_STATE_VERSION 1
#define SIM_STATE_MAX (256 * 1024 * 1024)

/* Marks a record changed in place; without memory, the next save is whole. */
void
sim_touch_hit(struct sim_store *st, struct hit *h)
{
	if (st->db != NULL &&
	    sim_vec_push(&st->touched_hits, &st->ntouched_hits, h) != 0)
		st->save_all = true;
}

void
sim_touch_asg(struct sim_store *st, struct asg *a)
{
	if (st->db != NULL &&
	    sim_vec_push(&st->touched_asgs, &st->ntouched_asgs, a) != 0)
		st->save_all = true;
}

void
sim_touch_object(struct sim_store *st, struct object *o)
{
	if (st->db != NULL &&
	    sim_vec_push(&st->touched_objects, &st->ntouched_objects, o) != 0)
		st->save_all = true;
}

/* Grants are touched by their place in st->grants. */
void
sim_touch_grant(struct sim_store *st, size_t i)
{
	size_t *grown;

	if (st->db == NULL)
		return;
	grown = realloc(st->touched_grants,
			(st->ntouched_grants + 1) * sizeof(*grown));
	if (grown == NULL) {
		st->save_all = true;
		return;
	}
	st->touched_grants = grown;
	st->touched_grants[st->ntouched_grants++] = i;
}

/* ---- the records, in the shapes of sim.json's array elements ---- */

static json_t *
grant_row(const struct grant *g)
{
	return json_pack("{s:s, s:s, s:i}", "qual", g->qual_id, "worker",
			 g->worker_id, "value", g->value);
}

static json_t *
hittype_row(const struct hittype *t)
{
	return json_pack("{s:s, s:O}", "id", t->id, "values", t->vals);
}

static json_t *
hit_row(struct sim_store *st, const struct hit *h)
{
	json_t *vals = sim_hit_vals(st, h);
	json_t *j = vals == NULL ? NULL :
		json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:i, s:b}",
			      "id", h->id, "type", h->type_id, "values",
			      vals, "created", (json_int_t)h->created_ms,
			      "expiration", (json_int_t)h->expiration_ms,
			      "duration", (json_int_t)h->duration_s,
			      "autoapprove", (json_int_t)h->autoapprove_s,
			      "max", h->max, "deleted", h->deleted);

	if (j != NULL && h->token != NULL)
		json_object_set_new(j, "token", json_string(h->token));
	if (j != NULL && h->expire_requested)
		json_object_set_new(j, "expire_at", json_integer(h->expire_at));
	if (j != NULL && h->reviewing)
		json_object_set_new(j, "reviewing", json_true());
	return j;
}

static json_t *
asg_row(struct sim_store *st, const struct asg *x)
{
	struct asg_payload p;
	json_t *boxes;
	json_t *j;

	if (sim_asg_payload(st, x, &p) != 0)
		return NULL;
	boxes = json_array();
	for (size_t k = 0; k < p.nboxes; k++)
		json_array_append_new(boxes,
				      json_pack("[i,i,i,i]", p.boxes[k].x,
						p.boxes[k].y, p.boxes[k].w,
						p.boxes[k].h));
	j = json_pack("{s:s, s:s, s:s, s:i, s:b, s:I, s:I, s:I, s:I, s:o}",
		      "id", x->id, "hit", x->hit_id, "worker", x->worker_id,
		      "state", (int)x->state, "simulated", x->simulated,
		      "accept", (json_int_t)x->accept_ms, "submit",
		      (json_int_t)x->submit_ms, "approval",
		      (json_int_t)x->approval_ms, "rejection",
		      (json_int_t)x->rejection_ms, "boxes", boxes);
	if (j != NULL && p.answer != NULL)
		json_object_set_new(j, "answer", json_string(p.answer));
	if (j != NULL && p.feedback != NULL)
		json_object_set_new(j, "feedback", json_string(p.feedback));
	sim_asg_payload_cleanup(&p);
	return j;
}

static json_t *
object_row(const struct object *o)
{
	return json_pack("{s:s, s:s}", "path", o->path, "content_type",
			 o->content_type);
}

static json_t *
dump_state(struct sim_store *st)
{
	json_t *o = json_object(), *a;
	char rng[32];

	snprintf(rng, sizeof(rng), "%llu", (unsigned long long)st->ids.s);
	json_object_set_new(o, "version", json_integer(SIM_STATE_VERSION));
	json_object_set_new(o, "ids", json_string(rng));
	json_object_set_new(o, "crowd",
			    json_integer((json_int_t)st->crowd_size));
	a = json_array();
	for (size_t i = 0; i < st->nqtypes; i++)
		json_array_append(a, st->qtypes[i]->obj);
	json_object_set_new(o, "qualification_types", a);
	a = json_array();
	for (size_t i = 0; i < st->ngrants; i++)
		json_array_append_new(a, grant_row(st->grants[i]));
	json_object_set_new(o, "grants", a);
	a = json_array();
	for (size_t i = 0; i < st->ntypes; i++)
		json_array_append_new(a, hittype_row(st->types[i]));
	json_object_set_new(o, "hit_types", a);
	a = json_array();
	for (size_t i = 0; i < st->nhits; i++)
		json_array_append_new(a, hit_row(st, st->hits[i]));
	json_object_set_new(o, "hits", a);
	a = json_array();
	for (size_t i = 0; i < st->nasgs; i++)
		json_array_append_new(a, asg_row(st, st->asgs[i]));
	json_object_set_new(o, "assignments", a);
	a = json_array();
	for (size_t i = 0; i < st->nobjects; i++)
		json_array_append_new(a, object_row(st->objects[i]));
	json_object_set_new(o, "objects", a);
	return o;
}

json_t *
sim_store_dump(struct sim_store *st)
{
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = dump_state(st);
	pthread_mutex_unlock(&st->mu);
	return o;
}

/* Writes one record; row is consumed. */
static int
put_row(struct sim_store *st, const char *kind, const char *key, json_t *row,
	const struct object *obj, struct errbuf *eb)
{
	char *body = row != NULL ? json_dumps(row, JSON_COMPACT) : NULL;
	int rc;

	json_decref(row);
	if (body == NULL)
		return err_set(eb, IF_ERUNTIME,
			       "%s: saving %s %s: out of memory",
			       sim_db_path(st->db), kind, key);
	rc = sim_db_put(st->db, kind, key, body, obj != NULL ? obj->data : NULL,
			obj != NULL ? obj->len : 0, eb);
	free(body);
	return rc;
}

static int
put_grant(struct sim_store *st, const struct grant *g, struct errbuf *eb)
{
	char key[sizeof(g->qual_id) + sizeof(g->worker_id) + 1];

	snprintf(key, sizeof(key), "%s/%s", g->qual_id, g->worker_id);
	return put_row(st, "grants", key, grant_row(g), NULL, eb);
}

/* A HIT's row in the HIT index (sim_hit_index_row()). */
static int
put_hit_index(struct sim_store *st, const struct hit *h, struct errbuf *eb)
{
	struct sim_db_hit row;

	sim_hit_index_row(h, &row);
	return sim_db_put_hit(st->db, &row, eb);
}

/* An assignment's row, and its HIT's: a HIT's status is its assignments'. */
static int
put_asg_index(struct sim_store *st, const struct asg *a, bool with_hit,
	      struct errbuf *eb)
{
	const struct hit *h;
	int rc = sim_db_put_asg(st->db, a->id, a->hit_id, a->worker_id,
				a->simulated, (int)a->state, a->accept_ms, eb);

	if (rc == IF_OK && with_hit &&
	    (h = sim_find_hit(st, a->hit_id)) != NULL)
		rc = put_hit_index(st, h, eb);
	return rc;
}

/* Writes every index row (a database opened from schema version 1). */
static int
reindex(struct sim_store *st, struct errbuf *eb)
{
	int rc;

	if (sim_db_begin(st->db, eb) != IF_OK)
		return eb->code;
	rc = IF_OK;
	for (size_t i = 0; rc == IF_OK && i < st->nhits; i++)
		rc = put_hit_index(st, st->hits[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->nasgs; i++)
		rc = put_asg_index(st, st->asgs[i], false, eb);
	if (rc == IF_OK)
		rc = sim_db_commit(st->db, eb);
	if (rc != IF_OK) {
		sim_db_rollback(st->db);
		return rc;
	}
	sim_db_reindexed(st->db);
	log_info("simulator: %s: indexed %zu HITs and %zu assignments",
		 sim_db_path(st->db), st->nhits, st->nasgs);
	return IF_OK;
}

static bool
changes_pending(const struct sim_store *st)
{
	return st->save_all || st->nqtypes > st->saved_qtypes ||
	       st->ngrants > st->saved_grants || st->ntypes > st->saved_types ||
	       st->nhits > st->saved_hits || st->nasgs > st->saved_asgs ||
	       st->nobjects > st->saved_objects || st->ntouched_hits > 0 ||
	       st->ntouched_asgs > 0 || st->ntouched_grants > 0 ||
	       st->ntouched_objects > 0 || st->ids.s != st->saved_ids ||
	       st->crowd_size != st->saved_crowd;
}

/* What the database holds now: everything in memory. */
static void
mark_saved(struct sim_store *st)
{
	st->saved_qtypes = st->nqtypes;
	st->saved_grants = st->ngrants;
	st->saved_types = st->ntypes;
	st->saved_hits = st->nhits;
	st->saved_asgs = st->nasgs;
	st->saved_objects = st->nobjects;
	st->saved_ids = st->ids.s;
	st->saved_crowd = st->crowd_size;
	st->ntouched_hits = st->ntouched_asgs = 0;
	st->ntouched_grants = st->ntouched_objects = 0;
	st->save_all = false;
}

/* ---- payloads: in the database once saved -------------------------- */

static void
drop_asg(struct asg *a)
{
	free(a->answer);
	free(a->feedback);
	free(a->boxes);
	a->answer = a->feedback = NULL;
	a->boxes = NULL;
	a->nboxes = 0;
	a->resident = false;
}

static void
drop_object(struct object *o)
{
	free(o->data);
	o->data = NULL;
	o->resident = false;
}

/* The assignments sim_asg_load() made resident (saved or unchanged). */
static void
drop_loaded(struct sim_store *st)
{
	for (size_t i = 0; i < st->nloaded_asgs; i++)
		drop_asg(st->loaded_asgs[i]);
	free(st->loaded_asgs);
	st->loaded_asgs = NULL;
	st->nloaded_asgs = 0;
}

/*
 * After a commit: what it wrote leaves memory (the mark_saved() counts
 * and touch lists still say what that was).
 */
static void
drop_saved(struct sim_store *st)
{
	size_t from;

	from = st->save_all ? 0 : st->saved_hits;
	for (size_t i = from; i < st->nhits; i++) {
		json_decref(st->hits[i]->vals);
		st->hits[i]->vals = NULL;
	}
	from = st->save_all ? 0 : st->saved_asgs;
	for (size_t i = from; i < st->nasgs; i++)
		drop_asg(st->asgs[i]);
	for (size_t i = 0; i < st->ntouched_asgs; i++)
		drop_asg(st->touched_asgs[i]);
	from = st->save_all ? 0 : st->saved_objects;
	for (size_t i = from; i < st->nobjects; i++)
		drop_object(st->objects[i]);
	for (size_t i = 0; i < st->ntouched_objects; i++)
		drop_object(st->touched_objects[i]);
	drop_loaded(st);
}

/* One record's JSON from the database; NULL (logged) when unreadable. */
static json_t *
db_row(struct sim_store *st, const char *kind, const char *key)
{
	struct errbuf eb;
	json_error_t je;
	char *body = NULL;
	json_t *row;

	err_init(&eb);
	if (sim_db_get(st->db, kind, key, &body, NULL, NULL, &eb) != IF_OK) {
		log_warnx("simulator: %s", eb.msg);
		return NULL;
	}
	row = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	free(body);
	if (!json_is_object(row)) {
		log_warnx("simulator: %s: record %s %s: malformed",
			  sim_db_path(st->db), kind, key);
		json_decref(row);
		return NULL;
	}
	return row;
}

json_t *
sim_hit_vals(struct sim_store *st, const struct hit *h)
{
	json_t *row, *vals;

	if (h->vals != NULL)
		return json_incref(h->vals);
	if (st->db == NULL || (row = db_row(st, "hits", h->id)) == NULL)
		return NULL;
	vals = json_incref(json_object_get(row, "values"));
	json_decref(row);
	if (!json_is_object(vals)) {
		log_warnx("simulator: %s: HIT %s without values",
			  sim_db_path(st->db), h->id);
		json_decref(vals);
		return NULL;
	}
	return vals;
}

void
sim_asg_payload_cleanup(struct asg_payload *p)
{
	free(p->own_answer);
	free(p->own_feedback);
	free(p->own_boxes);
	memset(p, 0, sizeof(*p));
}

/* Copies a string member of row; -1 when memory runs out. */
static int
dup_member(json_t *row, const char *name, char **out)
{
	const char *v = json_string_value(json_object_get(row, name));

	*out = v != NULL ? strdup(v) : NULL;
	return v != NULL && *out == NULL ? -1 : 0;
}

int
sim_asg_payload(struct sim_store *st, const struct asg *a,
		struct asg_payload *p)
{
	json_t *row, *boxes, *b;
	size_t k;

	memset(p, 0, sizeof(*p));
	if (a->resident || st->db == NULL) {
		p->answer = a->answer;
		p->feedback = a->feedback;
		p->boxes = a->boxes;
		p->nboxes = a->nboxes;
		return 0;
	}
	if ((row = db_row(st, "assignments", a->id)) == NULL)
		return -1;
	boxes = json_object_get(row, "boxes");
	p->own_boxes =
		calloc(json_array_size(boxes) + 1, sizeof(*p->own_boxes));
	if (p->own_boxes == NULL ||
	    dup_member(row, "answer", &p->own_answer) != 0 ||
	    dup_member(row, "feedback", &p->own_feedback) != 0) {
		json_decref(row);
		sim_asg_payload_cleanup(p);
		log_warnx("simulator: assignment %s: out of memory", a->id);
		return -1;
	}
	json_array_foreach(boxes, k, b) {
		struct sim_face *f = &p->own_boxes[k];

		f->x = (int)json_integer_value(json_array_get(b, 0));
		f->y = (int)json_integer_value(json_array_get(b, 1));
		f->w = (int)json_integer_value(json_array_get(b, 2));
		f->h = (int)json_integer_value(json_array_get(b, 3));
	}
	p->nboxes = json_array_size(boxes);
	json_decref(row);
	p->answer = p->own_answer;
	p->feedback = p->own_feedback;
	p->boxes = p->own_boxes;
	return 0;
}

int
sim_asg_load(struct sim_store *st, struct asg *a)
{
	struct asg_payload p;

	if (a->resident || st->db == NULL)
		return 0;
	if (sim_vec_push(&st->loaded_asgs, &st->nloaded_asgs, a) != 0) {
		log_warnx("simulator: assignment %s: out of memory", a->id);
		return -1;
	}
	if (sim_asg_payload(st, a, &p) != 0) {
		st->nloaded_asgs--;
		return -1;
	}
	a->answer = p.own_answer;
	a->feedback = p.own_feedback;
	a->boxes = p.own_boxes;
	a->nboxes = p.nboxes;
	a->resident = true;
	return 0;
}

/*
 * The memory-only store (no directory) keeps its records in memory and
 * only the index rows in its database in memory, so that its listings
 * are the same queries as a kept store's.
 */
static int
save_index_only(struct sim_store *st, struct errbuf *eb)
{
	size_t from;
	int rc = IF_OK;

	if (sim_db_begin(st->db, eb) != IF_OK)
		return eb->code;
	from = st->save_all ? 0 : st->saved_hits;
	for (size_t i = from; rc == IF_OK && i < st->nhits; i++)
		rc = put_hit_index(st, st->hits[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_hits; i++)
		rc = put_hit_index(st, st->touched_hits[i], eb);
	from = st->save_all ? 0 : st->saved_asgs;
	for (size_t i = from; rc == IF_OK && i < st->nasgs; i++)
		rc = put_asg_index(st, st->asgs[i], true, eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_asgs; i++)
		rc = put_asg_index(st, st->touched_asgs[i], true, eb);
	if (rc == IF_OK)
		rc = sim_db_commit(st->db, eb);
	if (rc != IF_OK) {
		sim_db_rollback(st->db);
		return rc;
	}
	mark_saved(st);
	return IF_OK;
}

/*
 * Saves what changed since the last save, in one transaction (see the
 * note above).  Called with the lock held; a no-op without a directory.
 */
int
sim_save_changes(struct sim_store *st, struct errbuf *eb)
{
	size_t from;
	char text[64];
	int rc = IF_OK;

	if (st->db == NULL)
		return IF_OK;
	if (!changes_pending(st)) {
		drop_loaded(st);
		return IF_OK;
	}
	if (st->state_dir == NULL)
		return save_index_only(st, eb);
	if (sim_db_begin(st->db, eb) != IF_OK)
		return eb->code;
	from = st->save_all ? 0 : st->saved_qtypes;
	for (size_t i = from; rc == IF_OK && i < st->nqtypes; i++)
		rc = put_row(st, "qualification_types", st->qtypes[i]->id,
			     json_incref(st->qtypes[i]->obj), NULL, eb);
	from = st->save_all ? 0 : st->saved_grants;
	for (size_t i = from; rc == IF_OK && i < st->ngrants; i++)
		rc = put_grant(st, st->grants[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_grants; i++)
		if (st->touched_grants[i] < st->ngrants)
			rc = put_grant(st, st->grants[st->touched_grants[i]],
				       eb);
	from = st->save_all ? 0 : st->saved_types;
	for (size_t i = from; rc == IF_OK && i < st->ntypes; i++)
		rc = put_row(st, "hit_types", st->types[i]->id,
			     hittype_row(st->types[i]), NULL, eb);
	/* The index rows go with their records (new HITs first: seq is
	 * the order of creation). */
	from = st->save_all ? 0 : st->saved_hits;
	for (size_t i = from; rc == IF_OK && i < st->nhits; i++)
		if ((rc = put_row(st, "hits", st->hits[i]->id,
				  hit_row(st, st->hits[i]), NULL, eb)) ==
		    IF_OK)
			rc = put_hit_index(st, st->hits[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_hits; i++)
		if ((rc = put_row(st, "hits", st->touched_hits[i]->id,
				  hit_row(st, st->touched_hits[i]), NULL,
				  eb)) == IF_OK)
			rc = put_hit_index(st, st->touched_hits[i], eb);
	from = st->save_all ? 0 : st->saved_asgs;
	for (size_t i = from; rc == IF_OK && i < st->nasgs; i++)
		if ((rc = put_row(st, "assignments", st->asgs[i]->id,
				  asg_row(st, st->asgs[i]), NULL, eb)) ==
		    IF_OK)
			rc = put_asg_index(st, st->asgs[i], true, eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_asgs; i++)
		if ((rc = put_row(st, "assignments", st->touched_asgs[i]->id,
				  asg_row(st, st->touched_asgs[i]), NULL,
				  eb)) == IF_OK)
			rc = put_asg_index(st, st->touched_asgs[i], true, eb);
	/* An object not resident is in the database as it is. */
	from = st->save_all ? 0 : st->saved_objects;
	for (size_t i = from; rc == IF_OK && i < st->nobjects; i++)
		if (st->objects[i]->resident)
			rc = put_row(st, "objects", st->objects[i]->path,
				     object_row(st->objects[i]),
				     st->objects[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_objects; i++)
		if (st->touched_objects[i]->resident)
			rc = put_row(st, "objects",
				     st->touched_objects[i]->path,
				     object_row(st->touched_objects[i]),
				     st->touched_objects[i], eb);
	if (rc == IF_OK && (st->save_all || st->ids.s != st->saved_ids)) {
		snprintf(text, sizeof(text), "%llu",
			 (unsigned long long)st->ids.s);
		rc = put_row(st, "meta", "ids", json_pack("{s:s}", "ids", text),
			     NULL, eb);
	}
	if (rc == IF_OK && (st->save_all || st->crowd_size != st->saved_crowd))
		rc = put_row(st, "meta", "crowd",
			     json_pack("{s:I}", "workers",
				       (json_int_t)st->crowd_size),
			     NULL, eb);
	if (rc == IF_OK)
		rc = sim_db_commit(st->db, eb);
	if (rc != IF_OK) {
		sim_db_rollback(st->db);
		return rc;
	}
	drop_saved(st);
	mark_saved(st);
	return IF_OK;
}

/* DIR/objects/<sha256 of path>: where an older simulator kept an object. */
static char *
object_file(const struct sim_store *st, const char *path)
{
	unsigned char md[32];
	char hex[65], name[80];
	unsigned int mdlen = 0;
	char *dir, *file;

	if (EVP_Digest(path, strlen(path), md, &mdlen, EVP_sha256(), NULL) !=
		    1 ||
	    mdlen != 32)
		return NULL; /* the caller's "out of memory" */
	hex_encode(md, 32, hex);
	snprintf(name, sizeof(name), "%s.obj", hex);
	dir = path_join(st->state_dir, "objects");
	file = dir != NULL ? path_join(dir, name) : NULL;
	free(dir);
	return file;
}

static const char *
jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static int64_t
jint(json_t *o, const char *k)
{
	return (int64_t)json_integer_value(json_object_get(o, k));
}

static int
doc_malformed(const char *file, struct errbuf *eb)
{
	return err_set(eb, IF_EINPUT, "%s: malformed simulator state", file);
}

static int
doc_nomem(const char *file, struct errbuf *eb)
{
	return err_set(eb, IF_ERUNTIME, "%s: out of memory", file);
}

/* The qualification types of a sim.json-shaped state. */
static int
load_qual_types(struct sim_store *st, json_t *o, const char *file,
		 struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "qualification_types"), i, v) {
		struct qtype *q = calloc(1, sizeof(*q));
		if (q == NULL ||
		    sim_vec_push(&st->qtypes, &st->nqtypes, q) != 0) {
			free(q);
			goto nomem;
		}
		snprintf(q->id, sizeof(q->id), "%s",
			 jstr(v, "QualificationTypeId"));
		q->obj = json_incref(v);
	}
	return IF_OK;
nomem:
	return doc_nomem(file, eb);
}

/* Its qualification grants. */
static int
load_grants(struct sim_store *st, json_t *o, const char *file,
	     struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "grants"), i, v) {
		struct grant *g = calloc(1, sizeof(*g));
		if (g == NULL)
			goto nomem;
		snprintf(g->qual_id, sizeof(g->qual_id), "%s", jstr(v, "qual"));
		snprintf(g->worker_id, sizeof(g->worker_id), "%s",
			 jstr(v, "worker"));
		g->value = (int)jint(v, "value");
		if (sim_grant_add(st, g) != 0) {
			free(g);
			goto nomem;
		}
	}
	return IF_OK;
nomem:
	return doc_nomem(file, eb);
}

/* Its HIT types. */
static int
load_hit_types(struct sim_store *st, json_t *o, const char *file,
		struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "hit_types"), i, v) {
		struct hittype *t = calloc(1, sizeof(*t));
		json_t *vals = json_object_get(v, "values");
		if (t == NULL || !json_is_object(vals) ||
		    (t->key = json_dumps(vals, JSON_SORT_KEYS | JSON_COMPACT))
			    == NULL ||
		    sim_vec_push(&st->types, &st->ntypes, t) != 0) {
			if (t != NULL)
				free(t->key);
			free(t);
			goto bad;
		}
		snprintf(t->id, sizeof(t->id), "%s", jstr(v, "id"));
		t->vals = json_incref(vals);
	}
	return IF_OK;
bad:
	return doc_malformed(file, eb);
}

/* Its HITs. */
static int
load_hits(struct sim_store *st, json_t *o, const char *file,
	   struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "hits"), i, v) {
		struct hit *h = calloc(1, sizeof(*h));
		json_t *vals = json_object_get(v, "values");
		if (h == NULL)
			goto nomem;
		if (!json_is_object(vals)) {
			free(h);
			goto bad;
		}
		snprintf(h->id, sizeof(h->id), "%s", jstr(v, "id"));
		snprintf(h->type_id, sizeof(h->type_id), "%s", jstr(v, "type"));
		h->vals = json_incref(vals);
		h->created_ms = jint(v, "created");
		h->expiration_ms = jint(v, "expiration");
		h->duration_s = jint(v, "duration");
		h->autoapprove_s = jint(v, "autoapprove");
		h->max = (int)jint(v, "max");
		h->deleted = json_is_true(json_object_get(v, "deleted"));
		if (json_is_string(json_object_get(v, "token")))
			h->token = strdup(jstr(v, "token"));
		if (json_is_integer(json_object_get(v, "expire_at"))) {
			h->expire_requested = true;
			h->expire_at = jint(v, "expire_at");
		}
		h->reviewing = json_is_true(json_object_get(v, "reviewing"));
		if (sim_hit_add(st, h) != 0) {
			json_decref(h->vals);
			free(h->token);
			free(h);
			goto nomem;
		}
	}
	return IF_OK;
bad:
	return doc_malformed(file, eb);
nomem:
	return doc_nomem(file, eb);
}

/* Its assignments, with their boxes. */
static int
load_assignments(struct sim_store *st, json_t *o, const char *file,
		  struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "assignments"), i, v) {
		struct asg *a = calloc(1, sizeof(*a));
		json_t *boxes = json_object_get(v, "boxes"), *b;
		size_t k;

		if (a == NULL)
			goto nomem;
		snprintf(a->id, sizeof(a->id), "%s", jstr(v, "id"));
		snprintf(a->hit_id, sizeof(a->hit_id), "%s", jstr(v, "hit"));
		a->worker_id = sim_intern(st, jstr(v, "worker"));
		if (a->worker_id == NULL ||
		    sim_asg_add(st, sim_find_hit(st, a->hit_id), a) != 0) {
			free(a);
			goto nomem;
		}
		a->state = (enum asg_state)jint(v, "state");
		if (a->state > ASG_REJECTED)
			goto bad;
		a->simulated = json_is_true(json_object_get(v, "simulated"));
		a->accept_ms = jint(v, "accept");
		a->submit_ms = jint(v, "submit");
		a->approval_ms = jint(v, "approval");
		a->rejection_ms = jint(v, "rejection");
		if (json_is_string(json_object_get(v, "answer")))
			a->answer = strdup(jstr(v, "answer"));
		if (json_is_string(json_object_get(v, "feedback")))
			a->feedback = strdup(jstr(v, "feedback"));
		a->boxes =
			calloc(json_array_size(boxes) + 1, sizeof(*a->boxes));
		if (a->boxes == NULL)
			goto nomem;
		json_array_foreach(boxes, k, b) {
			a->boxes[k].x =
				(int)json_integer_value(json_array_get(b, 0));
			a->boxes[k].y =
				(int)json_integer_value(json_array_get(b, 1));
			a->boxes[k].w =
				(int)json_integer_value(json_array_get(b, 2));
			a->boxes[k].h =
				(int)json_integer_value(json_array_get(b, 3));
		}
		a->nboxes = json_array_size(boxes);
	}
	return IF_OK;
bad:
	return doc_malformed(file, eb);
nomem:
	return doc_nomem(file, eb);
}

/* Its S3 objects, from DIR/objects/ (the old layout). */
static int
load_objects(struct sim_store *st, json_t *o, const char *file,
	      struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "objects"), i, v) {
		struct buf data;
		char *objfile = object_file(st, jstr(v, "path"));
		int rc;

		buf_init(&data, SIM_STATE_MAX);
		if (objfile == NULL) {
			buf_cleanup(&data);
			goto nomem;
		}
		rc = read_file(objfile, &data, eb);
		free(objfile);
		if (rc == IF_OK &&
		    sim_object_add(st, jstr(v, "path"), jstr(v, "content_type"),
				   data.data, data.len) != 0)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     file);
		buf_cleanup(&data);
		if (rc != IF_OK)
			return rc;
	}
	return IF_OK;
nomem:
	return doc_nomem(file, eb);
}

/*
 * Reads a state in the sim.json shape into the empty store.  Objects
 * listed in it are read from DIR/objects/ (the old layout); sim.db gives
 * its objects to load_record() instead.
 */
static int
load_doc(struct sim_store *st, json_t *o, const char *file, struct errbuf *eb)
{
	int rc;

	if (jint(o, "version") != SIM_STATE_VERSION)
		return err_set(eb, IF_EINPUT,
			       "%s: state version %lld is not %d; move the "
			       "directory away to start afresh",
			       file, (long long)jint(o, "version"),
			       SIM_STATE_VERSION);
	st->ids.s = strtoull(jstr(o, "ids"), NULL, 10);
	if ((rc = load_qual_types(st, o, file, eb)) != IF_OK ||
	    (rc = load_grants(st, o, file, eb)) != IF_OK ||
	    (rc = load_hit_types(st, o, file, eb)) != IF_OK ||
	    (rc = load_hits(st, o, file, eb)) != IF_OK ||
	    (rc = load_assignments(st, o, file, eb)) != IF_OK)
		return rc;
	return load_objects(st, o, file, eb);
}

/* The old layout: DIR/sim.json. */
static int
load_state(struct sim_store *st, const char *file, struct errbuf *eb)
{
	json_error_t je;
	json_t *o = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	int rc;

	if (o == NULL)
		return err_set(eb, IF_EINPUT, "%s:%d:%d: %s", file, je.line,
			       je.column, je.text);
	rc = load_doc(st, o, file, eb);
	json_decref(o);
	return rc;
}

struct load_ctx {
	struct sim_store *st;
	json_t *doc; /* the records gathered in the sim.json shape */
};

/* One record of sim.db (a sim_db_record_fn). */
static int
load_record(void *ctxp, const char *kind, const char *key, const char *body,
	    const void *data, size_t len, struct errbuf *eb)
{
	struct load_ctx *ctx = ctxp;
	struct sim_store *st = ctx->st;
	json_error_t je;
	json_t *v = json_loads(body, JSON_REJECT_DUPLICATES, &je), *one;
	int rc = IF_OK;

	if (!json_is_object(v)) {
		json_decref(v);
		return err_set(eb, IF_EINPUT, "%s: record %s %s: malformed",
			       sim_db_path(st->db), kind, key);
	}
	if (strcmp(kind, "meta") == 0) {
		if (strcmp(key, "ids") == 0)
			json_object_set(ctx->doc, "ids",
					json_object_get(v, "ids"));
		else if (strcmp(key, "crowd") == 0 && jint(v, "workers") > 0 &&
			 jint(v, "workers") <= SIM_CROWD_MAX)
			st->crowd_size = (size_t)jint(v, "workers");
	} else if (strcmp(kind, "objects") == 0) {
		/* Its bytes stay in the database (sim_store_get_object). */
		if (sim_object_add(st, jstr(v, "path"), jstr(v, "content_type"),
				   "", 0) != 0)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     sim_db_path(st->db));
		else
			drop_object(st->objects[st->nobjects - 1]);
		(void)data;
		(void)len;
	} else if (json_object_get(ctx->doc, kind) != NULL) {
		/*
		 * Loaded one at a time, its payload dropped at once: a
		 * restart's memory is the index, as a run's is.
		 */
		size_t nhits = st->nhits, nasgs = st->nasgs;

		one = json_pack("{s:[O]}", kind, v);
		if (one == NULL)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     sim_db_path(st->db));
		else if (strcmp(kind, "qualification_types") == 0)
			rc = load_qual_types(st, one, sim_db_path(st->db), eb);
		else if (strcmp(kind, "grants") == 0)
			rc = load_grants(st, one, sim_db_path(st->db), eb);
		else if (strcmp(kind, "hit_types") == 0)
			rc = load_hit_types(st, one, sim_db_path(st->db), eb);
		else if (strcmp(kind, "hits") == 0)
			rc = load_hits(st, one, sim_db_path(st->db), eb);
		else
			rc = load_assignments(st, one, sim_db_path(st->db),
					      eb);
		json_decref(one);
		for (size_t i = nhits; i < st->nhits; i++) {
			json_decref(st->hits[i]->vals);
			st->hits[i]->vals = NULL;
		}
		for (size_t i = nasgs; i < st->nasgs; i++)
			drop_asg(st->asgs[i]);
	} else {
		rc = err_set(eb, IF_EINPUT, "%s: record %s %s: unknown kind",
			     sim_db_path(st->db), kind, key);
	}
	json_decref(v);
	return rc;
}

/* Reads sim.db into the empty store. */
static int
load_db(struct sim_store *st, struct errbuf *eb)
{
	struct load_ctx ctx = {st, NULL};
	int rc;

	ctx.doc = json_pack("{s:i, s:s, s:[], s:[], s:[], s:[], s:[]}",
			    "version", SIM_STATE_VERSION, "ids", "0",
			    "qualification_types", "grants", "hit_types",
			    "hits", "assignments");
	if (ctx.doc == NULL)
		return err_set(eb, IF_ERUNTIME, "simulator: out of memory");
	rc = sim_db_foreach(st->db, load_record, &ctx, eb);
	if (rc == IF_OK)
		rc = load_doc(st, ctx.doc, sim_db_path(st->db), eb);
	json_decref(ctx.doc);
	return rc;
}

int
sim_store_open(struct sim_store *st, const char *dir, struct errbuf *eb)
{
	char *file = NULL, *moved = NULL;
	struct stat sb;
	bool empty = false, old;
	int rc = IF_OK;

	st->state_dir = strdup(dir);
	file = path_join(dir, "sim.json");
	moved = path_join(dir, "sim.json.migrated");
	if (st->state_dir == NULL || file == NULL || moved == NULL) {
		rc = err_set(eb, IF_ERUNTIME, "simulator: out of memory");
		goto out;
	}
	/* The memory-only database it had until now holds nothing yet. */
	sim_db_close(st->db);
	st->db = NULL;
	if ((rc = mkdir_p(dir, 0700, eb)) != IF_OK ||
	    (rc = sim_db_open(dir, &st->db, &empty, eb)) != IF_OK)
		goto out;
	old = stat(file, &sb) == 0;
	if (!empty) {
		rc = load_db(st, eb);
		if (rc == IF_OK && sim_db_needs_reindex(st->db))
			rc = reindex(st, eb);
	} else if (old) {
		/* An older simulator's directory: move it into sim.db. */
		rc = load_state(st, file, eb);
		st->save_all = true;
		if (rc == IF_OK && (rc = sim_save_changes(st, eb)) == IF_OK)
			log_info("simulator: %s: moved into %s", file,
				 sim_db_path(st->db));
	}
	if (rc != IF_OK)
		goto out;
	/* Done again when a crash came between the commit and the rename. */
	if (old && rename(file, moved) != 0)
		log_warn("simulator: renaming %s", file);
	mark_saved(st);
out:
	if (rc != IF_OK) {
		sim_db_close(st->db);
		st->db = NULL;
	}
	free(file);
	free(moved);
	return rc;
}
