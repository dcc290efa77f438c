/*
 * sim/sim_persist.c - the simulator's store kept in DIR/sim.db (spec
 * section 6), the loaders of its working set, and the migration of an
 * older simulator's DIR/sim.json.
 *
 * With a state directory the store is kept in DIR/sim.db (sim_db.c), so
 * that a restarted simulator - a lab study that runs for days, or
 * "intofocus run" resumed after a kill - still knows its HITs,
 * assignments, qualifications, tokens and S3 objects.  Everything but the
 * experiments is kept; those come from the configuration at each start.
 * Without a directory the same records go to a database in memory.  The
 * database is the records' only truth: a start reads only the HIT types,
 * qualification types and the id stream's position, and sim_load_*()
 * bring a record into the working set when a request reaches it.
 *
 * Each change is saved in one transaction before the request is answered,
 * and the transaction holds only what changed:
 *   - records created since the last save (the new_* lists; HIT and
 *     qualification types by the saved_* counts of their arrays);
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
 *     from its assignments.
 * A save that fails leaves all of it pending, and the working set keeps
 * every record while something is pending (sim_store_trim()): the
 * request is answered with a ServiceFault (the change has happened in
 * memory, so a retry sees it; a CreateHIT retried with its token finds
 * the HIT), and every later request tries again, so nothing is answered
 * that is not on disk.
 *
 * The automatic approval of an assignment (sim_asg_settle) is not saved: it
 * is derived again from the submit time after a restart, or after the
 * record left the working set.
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

void
sim_touch_grant(struct sim_store *st, struct grant *g)
{
	if (st->db != NULL &&
	    sim_vec_push(&st->touched_grants, &st->ntouched_grants, g) != 0)
		st->save_all = true;
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

/*
 * A HIT's "hits" record: its changing fields and the two of its values
 * a reload derives from (sim_hit_derive()); with_values (the shape of
 * sim.json and sim_store_dump()), all its values as "values" instead.
 */
static json_t *
hit_row(struct sim_store *st, const struct hit *h, bool with_values)
{
	json_t *vals = with_values ? sim_hit_vals(st, h) : NULL;
	json_t *j = with_values && vals == NULL ? NULL :
		json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:b}",
			      "id", h->id, "type", h->type_id,
			      "created", (json_int_t)h->created_ms,
			      "expiration", (json_int_t)h->expiration_ms,
			      "duration", (json_int_t)h->duration_s,
			      "autoapprove", (json_int_t)h->autoapprove_s,
			      "max", h->max, "deleted", h->deleted);

	if (j != NULL && vals != NULL)
		json_object_set(j, "values", vals);
	json_decref(vals);
	if (j != NULL && !with_values && h->ann != NULL)
		json_object_set_new(j, "RequesterAnnotation",
				    json_string(h->ann));
	if (j != NULL && !with_values && h->quals != NULL)
		json_object_set(j, "QualificationRequirements", h->quals);
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

static json_t *stored_hit_vals(struct sim_store *, const char *);

/* A saved "hits" record in the shape of hit_row(with_values). */
static json_t *
stored_hit_row(struct sim_store *st, const char *key, const char *body)
{
	json_error_t je;
	json_t *row = json_loads(body, 0, &je), *vals;

	if (!json_is_object(row) || json_object_get(row, "values") != NULL)
		return row;
	if ((vals = stored_hit_vals(st, key)) == NULL) {
		json_decref(row);
		return NULL;
	}
	json_object_set_new(row, "values", vals);
	json_object_del(row, "RequesterAnnotation");
	json_object_del(row, "QualificationRequirements");
	return row;
}

/* One record for sim_store_dump(): the resident one, else the saved. */
static int
dump_record(void *ctxp, const char *kind, const char *key, const char *body,
	    const void *data, size_t len, struct errbuf *eb)
{
	json_t *arr = ((void **)ctxp)[1], *row = NULL;
	struct sim_store *st = ((void **)ctxp)[0];
	json_error_t je;
	void *r;

	(void)data;
	(void)len;
	(void)eb;
	if (strcmp(kind, "hits") == 0 &&
	    (r = sim_strmap_get(&st->hits_by_id, key, strlen(key))) != NULL)
		row = hit_row(st, r, true);
	else if (strcmp(kind, "hits") == 0)
		row = stored_hit_row(st, key, body);
	else if (strcmp(kind, "assignments") == 0 &&
		 (r = sim_strmap_get(&st->asgs_by_id, key, strlen(key))) !=
			 NULL)
		row = asg_row(st, r);
	else if (strcmp(kind, "grants") == 0 &&
		 (r = sim_strmap_get(&st->grants_by_key, key, strlen(key))) !=
			 NULL)
		row = grant_row(r);
	else if (strcmp(kind, "objects") == 0 &&
		 (r = sim_strmap_get(&st->objects_by_path, key,
				     strlen(key))) != NULL)
		row = object_row(r);
	if (row == NULL)
		row = json_loads(body, 0, &je);
	json_array_append_new(arr, row != NULL ? row : json_null());
	return IF_OK;
}

/*
 * The records in the order the database keeps them, each as the working
 * set holds it if resident (a change made in memory and never saved
 * shows here, not in a reopened store).
 */
static json_t *
dump_kind(struct sim_store *st, const char *kind)
{
	json_t *a = json_array();
	void *ctx[2] = {st, a};
	struct errbuf eb;

	err_init(&eb);
	if (st->db != NULL &&
	    sim_db_foreach(st->db, kind, dump_record, ctx, &eb) != IF_OK)
		log_warnx("simulator: %s", eb.msg);
	return a;
}

static json_t *
dump_state(struct sim_store *st)
{
	json_t *o = json_object(), *a;
	struct errbuf eb;
	char rng[32];

	/* What is not saved yet is not in the database's order yet. */
	err_init(&eb);
	if (sim_save_changes(st, &eb) != IF_OK)
		log_warnx("simulator: %s", eb.msg);
	snprintf(rng, sizeof(rng), "%llu", (unsigned long long)st->ids.s);
	json_object_set_new(o, "version", json_integer(SIM_STATE_VERSION));
	json_object_set_new(o, "ids", json_string(rng));
	json_object_set_new(o, "crowd",
			    json_integer((json_int_t)st->crowd_size));
	a = json_array();
	for (size_t i = 0; i < st->nqtypes; i++)
		json_array_append(a, st->qtypes[i]->obj);
	json_object_set_new(o, "qualification_types", a);
	json_object_set_new(o, "grants", dump_kind(st, "grants"));
	a = json_array();
	for (size_t i = 0; i < st->ntypes; i++)
		json_array_append_new(a, hittype_row(st->types[i]));
	json_object_set_new(o, "hit_types", a);
	json_object_set_new(o, "hits", dump_kind(st, "hits"));
	json_object_set_new(o, "assignments", dump_kind(st, "assignments"));
	json_object_set_new(o, "objects", dump_kind(st, "objects"));
	return o;
}

json_t *
sim_store_dump(struct sim_store *st)
{
	json_t *o;

	pthread_mutex_lock(&st->mu);
	o = dump_state(st);
	sim_store_unlock(st);
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
	struct hit *h;
	int rc = sim_db_put_asg(st->db, a->id, a->hit_id, a->worker_id,
				a->simulated, (int)a->state, a->accept_ms, eb);

	if (rc != IF_OK || !with_hit)
		return rc;
	if (sim_find_hit(st, a->hit_id, &h) != 0)
		return err_set(eb, IF_ERUNTIME, "%s: HIT %s: unreadable",
			       sim_db_path(st->db), a->hit_id);
	return h != NULL ? put_hit_index(st, h, eb) : IF_OK;
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

/* An assignment record's index row (reindex()). */
static int
reindex_asg(void *ctxp, const char *kind, const char *key, const char *body,
	    const void *data, size_t len, struct errbuf *eb)
{
	struct sim_store *st = ctxp;
	json_error_t je;
	json_t *v = json_loads(body, 0, &je);
	int rc;

	(void)kind;
	(void)data;
	(void)len;
	if (!json_is_object(v)) {
		json_decref(v);
		return err_set(eb, IF_EINPUT, "%s: record assignments %s: "
					      "malformed",
			       sim_db_path(st->db), key);
	}
	rc = sim_db_put_asg(st->db, key, jstr(v, "hit"), jstr(v, "worker"),
			    json_is_true(json_object_get(v, "simulated")),
			    (int)jint(v, "state"), jint(v, "accept"), eb);
	json_decref(v);
	return rc;
}

/* A HIT record's index row, from the HIT and its assignments. */
static int
reindex_hit(void *ctxp, const char *kind, const char *key, const char *body,
	    const void *data, size_t len, struct errbuf *eb)
{
	struct sim_store *st = ctxp;
	struct hit *h;
	int rc;

	(void)kind;
	(void)body;
	(void)data;
	(void)len;
	if (sim_find_hit(st, key, &h) != 0 || h == NULL)
		return err_set(eb, IF_EINPUT, "%s: record hits %s: unreadable",
			       sim_db_path(st->db), key);
	rc = put_hit_index(st, h, eb);
	/* One HIT at a time: the working set stays small. */
	sim_store_trim(st);
	return rc;
}

/*
 * Writes every index row (a database opened from schema version 1 or
 * 2): the assignments' first, which the HITs are loaded with.
 */
static int
reindex(struct sim_store *st, struct errbuf *eb)
{
	int rc;

	if (sim_db_begin(st->db, eb) != IF_OK)
		return eb->code;
	rc = sim_db_foreach(st->db, "assignments", reindex_asg, st, eb);
	if (rc == IF_OK)
		rc = sim_db_foreach(st->db, "hits", reindex_hit, st, eb);
	if (rc == IF_OK)
		rc = sim_db_commit(st->db, eb);
	if (rc != IF_OK) {
		sim_db_rollback(st->db);
		return rc;
	}
	sim_db_reindexed(st->db);
	log_info("simulator: %s: indexed", sim_db_path(st->db));
	return IF_OK;
}

bool
sim_changes_pending(const struct sim_store *st)
{
	return st->save_all || st->nqtypes > st->saved_qtypes ||
	       st->ntypes > st->saved_types || st->nnew_hits > 0 ||
	       st->nnew_asgs > 0 || st->nnew_grants > 0 ||
	       st->nnew_objects > 0 || st->ntouched_hits > 0 ||
	       st->ntouched_asgs > 0 || st->ntouched_grants > 0 ||
	       st->ntouched_objects > 0 || st->ids.s != st->saved_ids ||
	       st->crowd_size != st->saved_crowd;
}

/* What the database holds now: every change. */
static void
mark_saved(struct sim_store *st)
{
	st->saved_qtypes = st->nqtypes;
	st->saved_types = st->ntypes;
	st->saved_ids = st->ids.s;
	st->saved_crowd = st->crowd_size;
	st->nnew_hits = st->nnew_asgs = st->nnew_grants = 0;
	st->nnew_objects = 0;
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
 * After a commit: the payloads it wrote leave memory (the new and
 * touched lists still say what that was).
 */
static void
drop_saved(struct sim_store *st)
{
	for (size_t i = 0; i < st->nnew_hits; i++) {
		json_decref(st->new_hits[i]->vals);
		st->new_hits[i]->vals = NULL;
	}
	for (size_t i = 0; i < st->nnew_asgs; i++)
		drop_asg(st->new_asgs[i]);
	for (size_t i = 0; i < st->ntouched_asgs; i++)
		drop_asg(st->touched_asgs[i]);
	for (size_t i = 0; i < st->nnew_objects; i++)
		drop_object(st->new_objects[i]);
	for (size_t i = 0; i < st->ntouched_objects; i++)
		drop_object(st->touched_objects[i]);
	if (st->save_all) {
		for (size_t i = 0; i < st->nhits; i++) {
			json_decref(st->hits[i]->vals);
			st->hits[i]->vals = NULL;
		}
		for (size_t i = 0; i < st->nasgs; i++)
			drop_asg(st->asgs[i]);
		for (size_t i = 0; i < st->nobjects; i++)
			drop_object(st->objects[i]);
	}
	drop_loaded(st);
}

/*
 * One record's JSON from the database into *row (NULL when there is
 * none); -1 (logged) when it cannot be read.
 */
static int
db_find_row(struct sim_store *st, const char *kind, const char *key,
	    json_t **row)
{
	struct errbuf eb;
	json_error_t je;
	char *body = NULL;
	bool found = false;

	*row = NULL;
	err_init(&eb);
	if (st->db == NULL)
		return 0;
	if (sim_db_find(st->db, kind, key, &body, NULL, NULL, &found, &eb) !=
	    IF_OK) {
		log_warnx("simulator: %s", eb.msg);
		return -1;
	}
	if (!found)
		return 0;
	*row = json_loads(body, JSON_REJECT_DUPLICATES, &je);
	free(body);
	if (!json_is_object(*row)) {
		log_warnx("simulator: %s: record %s %s: malformed",
			  sim_db_path(st->db), kind, key);
		json_decref(*row);
		*row = NULL;
		return -1;
	}
	return 0;
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

/*
 * The saved values of HIT id: their own record, else (written by an
 * older version) the "values" of its "hits" record.
 */
static json_t *
stored_hit_vals(struct sim_store *st, const char *id)
{
	json_t *row, *vals;

	if (st->db == NULL || db_find_row(st, "hit_values", id, &row) != 0)
		return NULL;
	if (row != NULL)
		return row;
	if ((row = db_row(st, "hits", id)) == NULL)
		return NULL;
	vals = json_incref(json_object_get(row, "values"));
	json_decref(row);
	if (!json_is_object(vals)) {
		log_warnx("simulator: %s: HIT %s without values",
			  sim_db_path(st->db), id);
		json_decref(vals);
		return NULL;
	}
	return vals;
}

json_t *
sim_hit_vals(struct sim_store *st, const struct hit *h)
{
	if (h->vals != NULL)
		return json_incref(h->vals);
	return stored_hit_vals(st, h->id);
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
 * A HIT's record and its index row; with its values' record when new
 * (they never change) or when an older version kept them inline (read
 * before the record without them replaces it).
 */
static int
put_hit(struct sim_store *st, const struct hit *h, bool is_new,
	struct errbuf *eb)
{
	int rc = IF_OK;

	if ((is_new && h->vals != NULL) || h->vals_inline) {
		json_t *vals = sim_hit_vals(st, h);

		if (vals == NULL)
			return err_set(eb, IF_EINPUT,
				       "%s: HIT %s: values unreadable",
				       sim_db_path(st->db), h->id);
		rc = put_row(st, "hit_values", h->id, vals, NULL, eb);
	}
	if (rc == IF_OK)
		rc = put_row(st, "hits", h->id, hit_row(st, h, false), NULL,
			     eb);
	return rc == IF_OK ? put_hit_index(st, h, eb) : rc;
}

/* An assignment's record, its index row and its HIT's. */
static int
put_asg(struct sim_store *st, const struct asg *a, struct errbuf *eb)
{
	int rc = put_row(st, "assignments", a->id, asg_row(st, a), NULL, eb);

	return rc == IF_OK ? put_asg_index(st, a, true, eb) : rc;
}

/* An object not resident is in the database as it is. */
static int
put_object(struct sim_store *st, const struct object *o, struct errbuf *eb)
{
	if (!o->resident)
		return IF_OK;
	return put_row(st, "objects", o->path, object_row(o), o, eb);
}

/*
 * Saves what changed since the last save, in one transaction (see the
 * note above).  Called with the lock held.
 */
int
sim_save_changes(struct sim_store *st, struct errbuf *eb)
{
	size_t from;
	char text[64];
	int rc = IF_OK;

	if (st->db == NULL)
		return IF_OK;
	if (!sim_changes_pending(st)) {
		drop_loaded(st);
		return IF_OK;
	}
	if (sim_db_begin(st->db, eb) != IF_OK)
		return eb->code;
	from = st->save_all ? 0 : st->saved_qtypes;
	for (size_t i = from; rc == IF_OK && i < st->nqtypes; i++)
		rc = put_row(st, "qualification_types", st->qtypes[i]->id,
			     json_incref(st->qtypes[i]->obj), NULL, eb);
	for (size_t i = 0; rc == IF_OK && i < st->nnew_grants; i++)
		rc = put_grant(st, st->new_grants[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_grants; i++)
		rc = put_grant(st, st->touched_grants[i], eb);
	for (size_t i = 0; rc == IF_OK && st->save_all && i < st->ngrants;
	     i++)
		rc = put_grant(st, st->grants[i], eb);
	from = st->save_all ? 0 : st->saved_types;
	for (size_t i = from; rc == IF_OK && i < st->ntypes; i++)
		rc = put_row(st, "hit_types", st->types[i]->id,
			     hittype_row(st->types[i]), NULL, eb);
	/* The index rows go with their records (new HITs first: seq is
	 * the order of creation). */
	for (size_t i = 0; rc == IF_OK && i < st->nnew_hits; i++)
		rc = put_hit(st, st->new_hits[i], true, eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_hits; i++)
		rc = put_hit(st, st->touched_hits[i], false, eb);
	for (size_t i = 0; rc == IF_OK && st->save_all && i < st->nhits; i++)
		rc = put_hit(st, st->hits[i], true, eb);
	for (size_t i = 0; rc == IF_OK && i < st->nnew_asgs; i++)
		rc = put_asg(st, st->new_asgs[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_asgs; i++)
		rc = put_asg(st, st->touched_asgs[i], eb);
	for (size_t i = 0; rc == IF_OK && st->save_all && i < st->nasgs; i++)
		rc = put_asg(st, st->asgs[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->nnew_objects; i++)
		rc = put_object(st, st->new_objects[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_objects; i++)
		rc = put_object(st, st->touched_objects[i], eb);
	for (size_t i = 0; rc == IF_OK && st->save_all && i < st->nobjects;
	     i++)
		rc = put_object(st, st->objects[i], eb);
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

/* A grant from its record; NULL when memory runs out. */
static struct grant *
grant_from_row(json_t *v)
{
	struct grant *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return NULL;
	snprintf(g->qual_id, sizeof(g->qual_id), "%s", jstr(v, "qual"));
	snprintf(g->worker_id, sizeof(g->worker_id), "%s", jstr(v, "worker"));
	g->value = (int)jint(v, "value");
	return g;
}

/* Its qualification grants. */
static int
load_grants(struct sim_store *st, json_t *o, const char *file,
	    struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "grants"), i, v) {
		struct grant *g = grant_from_row(v);

		if (g == NULL || sim_grant_add(st, g) != 0) {
			free(g);
			return doc_nomem(file, eb);
		}
	}
	return IF_OK;
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

/*
 * A HIT from its record, its values (if the record has them: sim.json
 * and an older version's database) in h->vals (the caller keeps or
 * drops them); -1 malformed (or without values when need_values), -2
 * out of memory.
 */
static int
hit_from_row(json_t *v, bool need_values, struct hit **out)
{
	struct hit *h = calloc(1, sizeof(*h));
	json_t *vals = json_object_get(v, "values");

	*out = NULL;
	if (h == NULL)
		return -2;
	if (vals != NULL ? !json_is_object(vals) : need_values) {
		free(h);
		return -1;
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
	if (json_is_string(json_object_get(v, "token")) &&
	    (h->token = strdup(jstr(v, "token"))) == NULL) {
		sim_hit_free(h);
		return -2;
	}
	if (json_is_integer(json_object_get(v, "expire_at"))) {
		h->expire_requested = true;
		h->expire_at = jint(v, "expire_at");
	}
	h->reviewing = json_is_true(json_object_get(v, "reviewing"));
	*out = h;
	return 0;
}

/* Its HITs. */
static int
load_hits(struct sim_store *st, json_t *o, const char *file,
	  struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "hits"), i, v) {
		struct hit *h;
		int rc = hit_from_row(v, true, &h);

		if (rc == -1)
			return doc_malformed(file, eb);
		if (rc != 0 || sim_hit_add(st, h) != 0) {
			sim_hit_free(h);
			return doc_nomem(file, eb);
		}
	}
	return IF_OK;
}

/*
 * An assignment from its record, with its payload when with_payload;
 * -1 malformed, -2 out of memory.
 */
static int
asg_from_row(json_t *v, bool with_payload, struct asg **out)
{
	struct asg *a = calloc(1, sizeof(*a));
	json_t *boxes = json_object_get(v, "boxes"), *b;
	size_t k;

	*out = NULL;
	if (a == NULL || (a->worker_id = strdup(jstr(v, "worker"))) == NULL) {
		free(a);
		return -2;
	}
	snprintf(a->id, sizeof(a->id), "%s", jstr(v, "id"));
	snprintf(a->hit_id, sizeof(a->hit_id), "%s", jstr(v, "hit"));
	a->state = (enum asg_state)jint(v, "state");
	if (a->state > ASG_REJECTED) {
		sim_asg_free(a);
		return -1;
	}
	a->simulated = json_is_true(json_object_get(v, "simulated"));
	a->accept_ms = jint(v, "accept");
	a->submit_ms = jint(v, "submit");
	a->approval_ms = jint(v, "approval");
	a->rejection_ms = jint(v, "rejection");
	*out = a;
	if (!with_payload)
		return 0;
	a->resident = true;
	if ((json_is_string(json_object_get(v, "answer")) &&
	     (a->answer = strdup(jstr(v, "answer"))) == NULL) ||
	    (json_is_string(json_object_get(v, "feedback")) &&
	     (a->feedback = strdup(jstr(v, "feedback"))) == NULL) ||
	    (a->boxes = calloc(json_array_size(boxes) + 1,
			       sizeof(*a->boxes))) == NULL) {
		sim_asg_free(a);
		*out = NULL;
		return -2;
	}
	json_array_foreach(boxes, k, b) {
		a->boxes[k].x = (int)json_integer_value(json_array_get(b, 0));
		a->boxes[k].y = (int)json_integer_value(json_array_get(b, 1));
		a->boxes[k].w = (int)json_integer_value(json_array_get(b, 2));
		a->boxes[k].h = (int)json_integer_value(json_array_get(b, 3));
	}
	a->nboxes = json_array_size(boxes);
	return 0;
}

/* Its assignments, with their boxes. */
static int
load_assignments(struct sim_store *st, json_t *o, const char *file,
		 struct errbuf *eb)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(o, "assignments"), i, v) {
		struct hit *h;
		struct asg *a;
		int rc = asg_from_row(v, true, &a);

		if (rc == -1)
			return doc_malformed(file, eb);
		if (rc == 0 && sim_find_hit(st, a->hit_id, &h) != 0) {
			sim_asg_free(a);
			return err_set(eb, IF_EINPUT, "%s: HIT %s: unreadable",
				       file, a->hit_id);
		}
		if (rc != 0 || sim_asg_add(st, h, a) != 0) {
			sim_asg_free(a);
			return doc_nomem(file, eb);
		}
	}
	return IF_OK;
}

/* ---- the working set's loaders (sim_find_*) ------------------------- */

/*
 * Reads assignment id's record, not adopted yet: 0 with *out; -1 (logged)
 * when it is missing (the index names it) or cannot be read.
 */
static int
read_asg(struct sim_store *st, const char *id, struct asg **out)
{
	json_t *row;
	int rc;

	*out = NULL;
	if (db_find_row(st, "assignments", id, &row) != 0)
		return -1;
	if (row == NULL) {
		log_warnx("simulator: %s: no record assignments %s",
			  sim_db_path(st->db), id);
		return -1;
	}
	rc = asg_from_row(row, false, out);
	json_decref(row);
	if (rc != 0) {
		log_warnx("simulator: %s: assignment %s: unreadable or out of "
			  "memory",
			  sim_db_path(st->db), id);
		sim_asg_free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Frees the n assignments of list not adopted yet, and list. */
static void
asgs_free(struct asg **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sim_asg_free(list[i]);
	free(list);
}

int
sim_load_hit(struct sim_store *st, const char *id, struct hit **out)
{
	struct sim_db_ids ids = {NULL, 0, 0, 0};
	struct asg **asgs = NULL;
	struct errbuf eb;
	struct hit *h = NULL;
	json_t *row;
	size_t i = 0;
	int rc;

	*out = NULL;
	if (db_find_row(st, "hits", id, &row) != 0)
		return -1;
	if (row == NULL)
		return 0;
	err_init(&eb);
	rc = hit_from_row(row, false, &h);
	if (rc == 0) {
		/* The payload stays in the database (sim_hit_vals()); the
		 * record has what is derived from it, unless written by an
		 * older version. */
		h->vals_inline = h->vals != NULL;
		rc = sim_hit_derive(h, h->vals != NULL ? h->vals : row);
		json_decref(h->vals);
		h->vals = NULL;
	}
	json_decref(row);
	if (rc == 0 && sim_db_ids(st->db, SIM_DB_ASGS_BY_HIT, id, strlen(id),
				  &ids, &eb) != IF_OK)
		rc = -1;
	if (rc == 0 && ids.n > 0 &&
	    (asgs = calloc(ids.n, sizeof(*asgs))) == NULL)
		rc = -2;
	/*
	 * With all its assignments or not at all: a HIT's state is theirs,
	 * and one missing would make it look fuller or emptier than it is.
	 */
	for (i = 0; rc == 0 && i < ids.n; i++) {
		const char *aid = ids.id[i];

		if (sim_strmap_get(&st->asgs_by_id, aid, strlen(aid)) ==
			    NULL &&
		    read_asg(st, aid, &asgs[i]) != 0)
			rc = -3;
	}
	if (rc == 0 && sim_hit_adopt(st, h) != 0)
		rc = -2;
	if (rc != 0) {
		if (rc != -3)
			log_warnx("simulator: %s: HIT %s: %s",
				  sim_db_path(st->db), id,
				  eb.msg[0] != '\0' ? eb.msg
						    : "unreadable");
		sim_hit_free(h);
		asgs_free(asgs, ids.n);
		sim_db_ids_cleanup(&ids);
		return -1;
	}
	for (i = 0; i < ids.n; i++) {
		if (asgs[i] == NULL || sim_asg_adopt(st, h, asgs[i]) == 0)
			continue;
		/* Out of memory: the HIT stays, short of these. */
		log_warnx("simulator: %s: HIT %s: out of memory",
			  sim_db_path(st->db), id);
		asgs_free(asgs + i, ids.n - i);
		sim_db_ids_cleanup(&ids);
		return -1;
	}
	free(asgs);
	sim_db_ids_cleanup(&ids);
	*out = h;
	return 0;
}

int
sim_load_asg(struct sim_store *st, const char *id, struct asg **out)
{
	struct sim_db_ids ids = {NULL, 0, 0, 0};
	struct errbuf eb;
	struct hit *h = NULL;
	struct asg *a = NULL;
	int rc = 0;

	*out = NULL;
	if (st->db == NULL)
		return 0;
	err_init(&eb);
	if (sim_db_ids(st->db, SIM_DB_HIT_OF_ASG, id, strlen(id), &ids,
		       &eb) != IF_OK) {
		log_warnx("simulator: %s", eb.msg);
		return -1;
	}
	/* Loaded with its HIT; one whose HIT is missing, alone. */
	if (ids.n > 0)
		rc = sim_find_hit(st, ids.id[0], &h);
	if (rc == 0 && h != NULL) {
		*out = sim_strmap_get(&st->asgs_by_id, id, strlen(id));
	} else if (rc == 0 && ids.n > 0) {
		rc = read_asg(st, id, &a);
		if (rc == 0 && sim_asg_adopt(st, NULL, a) != 0) {
			log_warnx("simulator: assignment %s: out of memory",
				  id);
			sim_asg_free(a);
			rc = -1;
		} else if (rc == 0) {
			*out = a;
		}
	}
	sim_db_ids_cleanup(&ids);
	return rc;
}

int
sim_load_object(struct sim_store *st, const char *path, struct object **out)
{
	struct object *o;
	json_t *row;

	*out = NULL;
	if (db_find_row(st, "objects", path, &row) != 0)
		return -1;
	if (row == NULL)
		return 0;
	o = calloc(1, sizeof(*o));
	/* Its bytes stay in the database (sim_store_get_object()). */
	if (o == NULL || (o->path = strdup(path)) == NULL ||
	    (o->content_type = sim_intern(st, jstr(row, "content_type"))) ==
		    NULL ||
	    sim_object_adopt(st, o) != 0) {
		log_warnx("simulator: object %s: out of memory", path);
		sim_object_free(o);
		json_decref(row);
		return -1;
	}
	json_decref(row);
	*out = o;
	return 0;
}

int
sim_load_grant(struct sim_store *st, const char *key, struct grant **out)
{
	struct grant *g;
	json_t *row;

	*out = NULL;
	if (db_find_row(st, "grants", key, &row) != 0)
		return -1;
	if (row == NULL)
		return 0;
	g = grant_from_row(row);
	json_decref(row);
	if (g == NULL || sim_grant_adopt(st, g) != 0) {
		log_warnx("simulator: grant %s: out of memory", key);
		free(g);
		return -1;
	}
	*out = g;
	return 0;
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
				   data.data, data.len) == NULL)
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
	} else if (json_object_get(ctx->doc, kind) != NULL) {
		one = json_pack("{s:[O]}", kind, v);
		if (one == NULL)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     sim_db_path(st->db));
		else if (strcmp(kind, "qualification_types") == 0)
			rc = load_qual_types(st, one, sim_db_path(st->db), eb);
		else
			rc = load_hit_types(st, one, sim_db_path(st->db), eb);
		json_decref(one);
	} else {
		(void)data;
		(void)len;
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

	ctx.doc = json_pack("{s:i, s:s, s:[], s:[]}", "version",
			    SIM_STATE_VERSION, "ids", "0",
			    "qualification_types", "hit_types");
	if (ctx.doc == NULL)
		return err_set(eb, IF_ERUNTIME, "simulator: out of memory");
	/* The few records kept in memory; the others stay where they are
	 * until a request needs them. */
	rc = sim_db_foreach(st->db, "meta", load_record, &ctx, eb);
	if (rc == IF_OK)
		rc = sim_db_foreach(st->db, "qualification_types",
				    load_record, &ctx, eb);
	if (rc == IF_OK)
		rc = sim_db_foreach(st->db, "hit_types", load_record, &ctx,
				    eb);
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
		if (rc == IF_OK)
			mark_saved(st);
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
