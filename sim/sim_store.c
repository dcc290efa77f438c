/*
 * sim/sim_store.c - the simulator's data model (spec section 6): HIT
 * types, HITs, assignments, qualification types and grants, request tokens
 * and S3 objects, the working set that holds them during a request, and
 * the states assignments and HITs go through as the clock passes.
 *
 * The records live in the database (sim_persist.c, sim_db.c; in memory
 * when there is no state directory); behind one mutex (struct sim_store,
 * in sim_private.h) a request reaches them through sim_find_*(), which
 * load a record into the working set on a miss, and every unlock drops
 * the working set once it is larger than SIM_RESIDENT_MAX and nothing is
 * left to save.  HIT types and qualification types (a few) stay in
 * memory.  What the listings select on is kept in the database's HIT
 * index, written with each saved change (sim_hit_index_row() derives a
 * HIT's row from its assignments), and the listings read it through
 * sim_store_hits() rather than walking every HIT.  The other files of
 * the store each
 * do one job on it and call this one, never the reverse: sim_ops.c
 * answers the MTurk operations and the S3 requests, sim_plan.c plans a
 * new HIT's simulated workers, sim_persist.c keeps the store in
 * DIR/sim.db, and sim_store_lab.c serves lab mode's participants.
 *
 * A Submitted assignment is approved automatically once its
 * AutoApprovalTime has passed, as MTurk does.  Ids come from a seeded
 * stream, so the same requests in the same order give the same ids.
 */
#include "sim/sim_private.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Appends item to a growable array of pointers; -1 when memory runs out. */
int
sim_vec_push(void *arrp, size_t *n, void *item)
{
	void ***arr = arrp;
	void **grown;

	/* Capacities 4, 8, 16, ...: grow when n reaches one of them. */
	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		grown = realloc(*arr, (*n == 0 ? 4 : *n * 2) * sizeof(**arr));
		if (grown == NULL)
			return -1;
		*arr = grown;
	}
	(*arr)[(*n)++] = item;
	return 0;
}

static uint64_t
strmap_hash(const char *key, size_t klen)
{
	return sim_hash(0, key, klen);
}

static void
strmap_cleanup(struct strmap *m)
{
	free(m->slot);
	memset(m, 0, sizeof(*m));
}

/* Empties m, keeping its room. */
static void
strmap_clear(struct strmap *m)
{
	if (m->slot != NULL)
		memset(m->slot, 0, m->cap * sizeof(*m->slot));
	m->count = 0;
}

/* The slot of key, or the empty slot where it would go. */
static struct strmap_slot *
strmap_slot(const struct strmap *m, const char *key, size_t klen,
	    uint64_t hash)
{
	size_t i = (size_t)hash & (m->cap - 1);

	while (m->slot[i].key != NULL &&
	       !(m->slot[i].hash == hash && m->slot[i].klen == klen &&
		 memcmp(m->slot[i].key, key, klen) == 0))
		i = (i + 1) & (m->cap - 1);
	return &m->slot[i];
}

/* Makes room for one more key; -1 when memory runs out (m unchanged). */
static int
strmap_reserve(struct strmap *m)
{
	struct strmap_slot *old = m->slot, *t;
	size_t old_cap = m->cap, cap = old_cap != 0 ? old_cap * 2 : 64;

	if ((m->count + 1) * 2 <= old_cap)
		return 0;
	t = calloc(cap, sizeof(*t));
	if (t == NULL)
		return -1;
	m->slot = t;
	m->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].key != NULL)
			*strmap_slot(m, old[i].key, old[i].klen, old[i].hash) =
				old[i];
	free(old);
	return 0;
}

/* What key maps to; NULL when nothing. */
void *
sim_strmap_get(const struct strmap *m, const char *key, size_t klen)
{
	if (m->cap == 0 || key == NULL)
		return NULL;
	return strmap_slot(m, key, klen, strmap_hash(key, klen))->val;
}

/*
 * Maps key (borrowed: it must live as long as the map) to val, replacing
 * what it mapped to; the previous value or NULL.  Needs a strmap_reserve()
 * since the last put.
 */
static void *
strmap_put(struct strmap *m, const char *key, size_t klen, void *val)
{
	uint64_t hash = strmap_hash(key, klen);
	struct strmap_slot *sl = strmap_slot(m, key, klen, hash);
	void *prev = sl->val;

	if (sl->key == NULL)
		m->count++;
	sl->key = key;
	sl->klen = klen;
	sl->hash = hash;
	sl->val = val;
	return prev;
}

static int64_t
real_clock_ms(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sim_store_now_ms(const struct sim_store *st)
{
	return st->cfg.clock_ms(st->cfg.clock_ctx);
}

struct sim_store *
sim_store_new(const struct sim_store_config *cfg)
{
	struct sim_store *st = calloc(1, sizeof(*st));

	if (st == NULL)
		return NULL;
	st->cfg = *cfg;
	if (st->cfg.clock_ms == NULL)
		st->cfg.clock_ms = real_clock_ms;
	if (st->cfg.worker_pool == 0)
		st->cfg.worker_pool = 50;
	st->crowd_size = st->cfg.worker_pool;
	{
		const char *big = getenv("INTOFOCUS_TEST_SIM_ANSWER_BYTES");

		if (big != NULL)
			st->test_answer_bytes = (size_t)strtoull(big, NULL, 10);
	}
	sim_rng_init(&st->ids, sim_hash_str(cfg->seed, "ids"));
	if (pthread_mutex_init(&st->mu, NULL) != 0) {
		free(st);
		return NULL;
	}
	/* Without a directory, a database in memory: the same queries. */
	{
		struct errbuf eb;

		err_init(&eb);
		if (sim_db_open_memory(&st->db, &eb) != IF_OK) {
			log_warnx("%s", eb.msg);
			pthread_mutex_destroy(&st->mu);
			free(st);
			return NULL;
		}
	}
	return st;
}

static void
exp_copy_cleanup(struct exp_copy *e)
{
	free(e->name);
	free(e->windows);
	for (size_t i = 0; i < e->nimages; i++) {
		/* The copies are ours; the struct is const for callers. */
		free((void *)(uintptr_t)e->images[i].id);
		free((void *)(uintptr_t)e->images[i].faces);
		free((void *)(uintptr_t)e->images[i].windows);
		free((void *)(uintptr_t)e->images[i].hidden);
	}
	free(e->images);
	strmap_cleanup(&e->images_by_id);
	memset(e, 0, sizeof(*e));
}

void
sim_store_free(struct sim_store *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nqtypes; i++) {
		json_decref(st->qtypes[i]->obj);
		free(st->qtypes[i]);
	}
	free(st->qtypes);
	sim_store_evict(st);
	free(st->grants);
	free(st->hits);
	free(st->asgs);
	free(st->objects);
	strmap_cleanup(&st->grants_by_key);
	strmap_cleanup(&st->hits_by_id);
	strmap_cleanup(&st->asgs_by_id);
	strmap_cleanup(&st->objects_by_path);
	for (size_t i = 0; i < st->interned.cap; i++)
		free(st->interned.slot[i].val);
	strmap_cleanup(&st->interned);
	for (size_t i = 0; i < st->ntypes; i++) {
		free(st->types[i]->key);
		json_decref(st->types[i]->vals);
		free(st->types[i]);
	}
	free(st->types);
	for (size_t i = 0; i < st->nexps; i++)
		exp_copy_cleanup(&st->exps[i]);
	free(st->exps);
	free(st->state_dir);
	free(st->base);
	sim_db_close(st->db);
	free(st->new_hits);
	free(st->new_asgs);
	free(st->new_grants);
	free(st->new_objects);
	free(st->touched_hits);
	free(st->touched_asgs);
	free(st->touched_grants);
	free(st->touched_objects);
	free(st->loaded_asgs);
	pthread_mutex_destroy(&st->mu);
	free(st);
}

int
sim_store_set_base(struct sim_store *st, const char *base)
{
	char *copy = strdup(base);

	if (copy == NULL)
		return -1;
	pthread_mutex_lock(&st->mu);
	free(st->base);
	st->base = copy;
	sim_store_unlock(st);
	return 0;
}

int
sim_store_set_hidden(struct sim_store *st, const char *experiment,
		     const char *image_id, const struct sim_face *boxes,
		     size_t n, struct errbuf *eb)
{
	struct sim_face *copy = calloc(n + 1, sizeof(*copy));
	struct sim_image *im = NULL;

	if (copy == NULL)
		return err_set(eb, IF_ERUNTIME, "simulator: out of memory");
	if (n > 0)
		memcpy(copy, boxes, n * sizeof(*copy));
	pthread_mutex_lock(&st->mu);
	for (size_t e = 0; e < st->nexps && im == NULL; e++)
		if (strcmp(st->exps[e].name, experiment) == 0)
			im = (struct sim_image *)(uintptr_t)sim_strmap_get(
				&st->exps[e].images_by_id, image_id,
				strlen(image_id));
	if (im != NULL) {
		free((void *)(uintptr_t)im->hidden);
		im->hidden = copy;
		im->nhidden = n;
		copy = NULL;
	}
	sim_store_unlock(st);
	if (copy != NULL) {
		free(copy);
		return err_set(eb, IF_EINPUT,
			       "simulator: no image %s in experiment %s",
			       image_id, experiment);
	}
	return IF_OK;
}

int
sim_store_add_experiment(struct sim_store *st, const struct sim_experiment *exp,
			 struct errbuf *eb)
{
	struct exp_copy c;
	struct exp_copy *grown;
	size_t slot;

	memset(&c, 0, sizeof(c));
	if (exp->name == NULL || exp->name[0] == '\0')
		return err_set(eb, IF_EINPUT,
			       "simulator: experiment without a name");
	c.name = strdup(exp->name);
	c.windows = calloc(exp->nwindows + 1, sizeof(int));
	c.images = calloc(exp->nimages + 1, sizeof(*c.images));
	if (c.name == NULL || c.windows == NULL || c.images == NULL)
		goto nomem;
	memcpy(c.windows, exp->windows, exp->nwindows * sizeof(int));
	c.nwindows = exp->nwindows;
	c.aggregate = exp->aggregate;
	if (exp->crowd != NULL)
		c.crowd = *exp->crowd;
	else
		c.crowd = (struct sim_crowd_model)SIM_CROWD_MODEL_DEFAULT;
	for (size_t i = 0; i < exp->nimages; i++) {
		const struct sim_image *in = &exp->images[i];
		struct sim_image *o = &c.images[i];
		struct sim_face *faces = calloc(in->nfaces + 1, sizeof(*faces));

		c.nimages++;
		*o = *in;
		o->id = strdup(in->id != NULL ? in->id : "");
		o->faces = faces;
		o->windows = NULL;
		o->nwindows = 0;
		o->hidden = NULL;
		o->nhidden = 0;
		if (o->id == NULL || faces == NULL)
			goto nomem;
		if (in->hidden != NULL && in->nhidden > 0) {
			struct sim_face *hd = calloc(in->nhidden, sizeof(*hd));

			if (hd == NULL)
				goto nomem;
			memcpy(hd, in->hidden, in->nhidden * sizeof(*hd));
			o->hidden = hd;
			o->nhidden = in->nhidden;
		}
		if (in->windows != NULL && in->nwindows > 0) {
			int *w = calloc(in->nwindows, sizeof(*w));

			if (w == NULL)
				goto nomem;
			memcpy(w, in->windows, in->nwindows * sizeof(*w));
			o->windows = w;
			o->nwindows = in->nwindows;
		}
		if (in->nfaces > 0)
			memcpy(faces, in->faces, in->nfaces * sizeof(*faces));
		if (strmap_reserve(&c.images_by_id) != 0)
			goto nomem;
		/* A repeated id: the last one counts. */
		strmap_put(&c.images_by_id, o->id, strlen(o->id), o);
	}
	pthread_mutex_lock(&st->mu);
	for (slot = 0; slot < st->nexps; slot++)
		if (strcmp(st->exps[slot].name, c.name) == 0)
			break;
	if (slot < st->nexps) {
		exp_copy_cleanup(&st->exps[slot]);
		st->exps[slot] = c;
	} else {
		grown = realloc(st->exps, (st->nexps + 1) * sizeof(*grown));
		if (grown == NULL) {
			sim_store_unlock(st);
			goto nomem;
		}
		st->exps = grown;
		st->exps[st->nexps++] = c;
	}
	sim_store_unlock(st);
	return IF_OK;
nomem:
	exp_copy_cleanup(&c);
	return err_set(eb, IF_ERUNTIME,
		       "simulator: experiment %s: out of memory", exp->name);
}

/* ---- errors ------------------------------------------------------------- */

/* Fills err as the service would and returns -1. */
int
sim_fail(const struct sim_store *st, struct sim_err *err, int http,
	 const char *type, const char *turk, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	err->http = http;
	snprintf(err->type, sizeof(err->type), "%s", type);
	snprintf(err->turk, sizeof(err->turk), "%s%s",
		 turk != NULL ? "AWS.MechanicalTurk." : "",
		 turk != NULL ? turk : "");
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	/* The real service ends every RequestError message with the time. */
	if (strcmp(type, "RequestError") == 0 ||
	    strcmp(type, "ServiceFault") == 0) {
		len = strlen(err->message);
		snprintf(err->message + len, sizeof(err->message) - len,
			 " (%lld)", (long long)sim_store_now_ms(st));
	}
	return -1;
}

/* ---- the working set ---------------------------------------------------- */

void
sim_hit_free(struct hit *h)
{
	if (h == NULL)
		return;
	json_decref(h->vals);
	json_decref(h->quals);
	free(h->ann);
	free(h->token);
	free(h->asgs);
	free(h);
}

void
sim_asg_free(struct asg *a)
{
	if (a == NULL)
		return;
	free(a->worker_id);
	free(a->answer);
	free(a->feedback);
	free(a->boxes);
	free(a);
}

void
sim_object_free(struct object *o)
{
	if (o == NULL)
		return;
	free(o->path);
	free(o->data);
	free(o);
}

/* Frees every resident record; nothing may point to one any more. */
void
sim_store_evict(struct sim_store *st)
{
	for (size_t i = 0; i < st->nhits; i++)
		sim_hit_free(st->hits[i]);
	for (size_t i = 0; i < st->nasgs; i++)
		sim_asg_free(st->asgs[i]);
	for (size_t i = 0; i < st->ngrants; i++)
		free(st->grants[i]);
	for (size_t i = 0; i < st->nobjects; i++)
		sim_object_free(st->objects[i]);
	st->nhits = st->nasgs = st->ngrants = st->nobjects = 0;
	strmap_clear(&st->hits_by_id);
	strmap_clear(&st->asgs_by_id);
	strmap_clear(&st->grants_by_key);
	strmap_clear(&st->objects_by_path);
	/* Their lists hold nothing once saved; say so for good. */
	st->nnew_hits = st->nnew_asgs = st->nnew_grants = 0;
	st->nnew_objects = 0;
	st->ntouched_hits = st->ntouched_asgs = st->ntouched_grants = 0;
	st->ntouched_objects = 0;
	free(st->loaded_asgs);
	st->loaded_asgs = NULL;
	st->nloaded_asgs = 0;
}

size_t
sim_store_resident(const struct sim_store *st)
{
	return st->nhits + st->nasgs + st->ngrants + st->nobjects;
}

/* Keeps resident_peak (a record was just added to the working set). */
static void
resident_note(struct sim_store *st)
{
	size_t n = sim_store_resident(st);

	if (n > st->resident_peak)
		st->resident_peak = n;
}

void
sim_store_trim(struct sim_store *st)
{
	if (sim_store_resident(st) > SIM_RESIDENT_MAX &&
	    !sim_changes_pending(st))
		sim_store_evict(st);
}

void
sim_store_unlock(struct sim_store *st)
{
	sim_store_trim(st);
	pthread_mutex_unlock(&st->mu);
}

int
sim_find_hit(struct sim_store *st, const char *id, struct hit **out)
{
	*out = NULL;
	if (id == NULL)
		return 0;
	*out = sim_strmap_get(&st->hits_by_id, id, strlen(id));
	return *out != NULL ? 0 : sim_load_hit(st, id, out);
}

int
sim_find_asg(struct sim_store *st, const char *id, struct asg **out)
{
	*out = NULL;
	if (id == NULL)
		return 0;
	*out = sim_strmap_get(&st->asgs_by_id, id, strlen(id));
	return *out != NULL ? 0 : sim_load_asg(st, id, out);
}

int
sim_find_object(struct sim_store *st, const char *path, size_t len,
		struct object **out)
{
	char *copy;
	int rc;

	*out = sim_strmap_get(&st->objects_by_path, path, len);
	/* A path that long is never stored (sim_server.c refuses it). */
	if (*out != NULL || len >= 4096)
		return 0;
	copy = strndup(path, len);
	if (copy == NULL) {
		log_warnx("simulator: object lookup: out of memory");
		return -1;
	}
	rc = sim_load_object(st, copy, out);
	free(copy);
	return rc;
}

/* Looks q up for key, logging a failure. */
static int
lookup(struct sim_store *st, enum sim_db_lookup q, const char *key,
       size_t klen, struct sim_db_ids *ids)
{
	struct errbuf eb;

	err_init(&eb);
	if (st->db == NULL)
		return -1;
	if (sim_db_ids(st->db, q, key, klen, ids, &eb) != IF_OK) {
		log_warnx("simulator: %s", eb.msg);
		return -1;
	}
	return 0;
}

/* Appends each HIT of ids (loaded) to *out. */
static int
append_hits(struct sim_store *st, const struct sim_db_ids *ids,
	    struct hit ***out, size_t *n)
{
	for (size_t i = 0; i < ids->n; i++) {
		struct hit *h;

		if (sim_find_hit(st, ids->id[i], &h) != 0)
			return -1;
		if (h == NULL) {
			log_warnx("simulator: the HIT index names %s, which "
				  "the store lacks",
				  ids->id[i]);
			return -1;
		}
		if (sim_vec_push(out, n, h) != 0)
			return -1;
	}
	return 0;
}

/* Whether h is one of the n HITs of list. */
static bool hit_listed(struct hit *const *list, size_t n,
		       const struct hit *h);

/* Appends the HITs of ids (loaded) not listed yet, up to max in all. */
static int
append_hits_upto(struct sim_store *st, const struct sim_db_ids *ids,
		 size_t max, struct hit ***out, size_t *n)
{
	for (size_t i = 0; i < ids->n && *n < max; i++) {
		struct hit *h;

		if (sim_find_hit(st, ids->id[i], &h) != 0)
			return -1;
		if (h == NULL) {
			log_warnx("simulator: the HIT index names %s, which "
				  "the store lacks",
				  ids->id[i]);
			return -1;
		}
		if (!hit_listed(*out, *n, h) && sim_vec_push(out, n, h) != 0)
			return -1;
	}
	return 0;
}


static bool
hit_listed(struct hit *const *list, size_t n, const struct hit *h)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] == h)
			return true;
	return false;
}

int
sim_find_hits_by_ann(struct sim_store *st, const char *key, size_t len,
		     size_t max, struct hit ***out, size_t *n)
{
	struct sim_db_ids ids = {NULL, 0, 0, 0};
	int rc = 0;

	*out = NULL;
	*n = 0;
	/* The new ones (not in the index yet) are the newest. */
	for (size_t i = st->nnew_hits; rc == 0 && *n < max && i-- > 0;) {
		struct hit *h = st->new_hits[i];

		if (h->ann != NULL && h->ann_key_len == len &&
		    memcmp(h->ann, key, len) == 0 &&
		    !hit_listed(*out, *n, h))
			rc = sim_vec_push(out, n, h);
	}
	/*
	 * A failed save's new ones may be in the index too: the lookup
	 * reads as many more as could repeat them.
	 */
	ids.max = max + *n;
	if (rc == 0 && *n < max)
		rc = lookup(st, SIM_DB_HITS_BY_ANN, key, len, &ids);
	if (rc == 0)
		rc = append_hits_upto(st, &ids, max, out, n);
	sim_db_ids_cleanup(&ids);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
sim_find_hits_by_token(struct sim_store *st, const char *token,
		       struct hit ***out, size_t *n)
{
	struct sim_db_ids ids = {NULL, 0, 0, 0};
	int rc;

	*out = NULL;
	*n = 0;
	rc = lookup(st, SIM_DB_HITS_BY_TOKEN, token, strlen(token), &ids);
	if (rc == 0)
		rc = append_hits(st, &ids, out, n);
	for (size_t i = 0; rc == 0 && i < st->nnew_hits; i++) {
		struct hit *h = st->new_hits[i];

		if (h->token != NULL && strcmp(h->token, token) == 0 &&
		    !hit_listed(*out, *n, h))
			rc = sim_vec_push(out, n, h);
	}
	sim_db_ids_cleanup(&ids);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
sim_find_asgs_by_worker(struct sim_store *st, const char *worker_id,
			struct asg ***out, size_t *n)
{
	struct sim_db_ids ids = {NULL, 0, 0, 0};
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = st->nnew_asgs; rc == 0 && i-- > 0;)
		if (strcmp(st->new_asgs[i]->worker_id, worker_id) == 0)
			rc = sim_vec_push(out, n, st->new_asgs[i]);
	if (rc == 0)
		rc = lookup(st, SIM_DB_ASGS_BY_WORKER, worker_id,
			    strlen(worker_id), &ids);
	for (size_t i = 0; rc == 0 && i < ids.n; i++) {
		struct asg *a;
		bool seen = false;

		if (sim_find_asg(st, ids.id[i], &a) != 0) {
			rc = -1;
			break;
		}
		if (a == NULL) {
			log_warnx("simulator: the assignment index names %s, "
				  "which the store lacks",
				  ids.id[i]);
			rc = -1;
			break;
		}
		/* A failed save's new ones may be in the index already. */
		for (size_t k = 0; k < *n && !seen; k++)
			seen = (*out)[k] == a;
		if (!seen)
			rc = sim_vec_push(out, n, a);
	}
	sim_db_ids_cleanup(&ids);
	if (rc != 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int
sim_hit_derive(struct hit *h, json_t *vals)
{
	const char *slash, *ann;
	json_t *quals;

	ann = json_string_value(json_object_get(vals, "RequesterAnnotation"));
	quals = json_object_get(vals, "QualificationRequirements");
	h->ann = ann != NULL ? strdup(ann) : NULL;
	if (ann != NULL && h->ann == NULL)
		return -1;
	if (h->ann != NULL) {
		slash = strrchr(h->ann, '/');
		h->ann_key_len = slash != NULL ? (size_t)(slash - h->ann)
					       : strlen(h->ann);
	}
	/* An empty list requires nothing: none kept. */
	if (json_array_size(quals) > 0)
		h->quals = json_incref(quals);
	return 0;
}

int
sim_hit_adopt(struct sim_store *st, struct hit *h)
{
	if (strmap_reserve(&st->hits_by_id) != 0 ||
	    sim_vec_push(&st->hits, &st->nhits, h) != 0)
		return -1;
	strmap_put(&st->hits_by_id, h->id, strlen(h->id), h);
	resident_note(st);
	return 0;
}

/*
 * Adds a complete HIT (id, vals and token set) to the working set as a
 * new record; -1 when memory runs out, and then nothing changed.
 */
int
sim_hit_add(struct sim_store *st, struct hit *h)
{
	if (sim_hit_derive(h, h->vals) != 0)
		return -1;
	if (sim_vec_push(&st->new_hits, &st->nnew_hits, h) != 0 ||
	    sim_hit_adopt(st, h) != 0) {
		if (st->nnew_hits > 0 && st->new_hits[st->nnew_hits - 1] == h)
			st->nnew_hits--;
		free(h->ann);
		h->ann = NULL;
		json_decref(h->quals);
		h->quals = NULL;
		return -1;
	}
	return 0;
}

int
sim_asg_adopt(struct sim_store *st, struct hit *h, struct asg *a)
{
	if (strmap_reserve(&st->asgs_by_id) != 0 ||
	    (h != NULL && sim_vec_push(&h->asgs, &h->nasgs, a) != 0))
		return -1;
	if (sim_vec_push(&st->asgs, &st->nasgs, a) != 0) {
		if (h != NULL)
			h->nasgs--;
		return -1;
	}
	strmap_put(&st->asgs_by_id, a->id, strlen(a->id), a);
	resident_note(st);
	return 0;
}

/*
 * Adds a complete new assignment (id, hit_id and worker_id set) of the
 * resident HIT h; -1 when memory runs out, and then nothing changed.
 */
int
sim_asg_add(struct sim_store *st, struct hit *h, struct asg *a)
{
	if (sim_vec_push(&st->new_asgs, &st->nnew_asgs, a) != 0)
		return -1;
	if (sim_asg_adopt(st, h, a) != 0) {
		st->nnew_asgs--;
		return -1;
	}
	a->resident = true;
	return 0;
}

struct qtype *
sim_find_qtype(struct sim_store *st, const char *id)
{
	for (size_t i = 0; id != NULL && i < st->nqtypes; i++)
		if (strcmp(st->qtypes[i]->id, id) == 0)
			return st->qtypes[i];
	return NULL;
}

int
sim_find_grant(struct sim_store *st, const char *qual_id, const char *worker,
	       struct grant **out)
{
	char key[sizeof(((struct grant *)0)->key)];
	int len = snprintf(key, sizeof(key), "%s/%s", qual_id, worker);

	*out = NULL;
	/* A key that long is never granted (worker ids are shorter). */
	if (len < 0 || (size_t)len >= sizeof(key))
		return 0;
	*out = sim_strmap_get(&st->grants_by_key, key, (size_t)len);
	return *out != NULL ? 0 : sim_load_grant(st, key, out);
}

int
sim_grant_adopt(struct sim_store *st, struct grant *g)
{
	snprintf(g->key, sizeof(g->key), "%s/%s", g->qual_id, g->worker_id);
	if (strmap_reserve(&st->grants_by_key) != 0 ||
	    sim_vec_push(&st->grants, &st->ngrants, g) != 0)
		return -1;
	strmap_put(&st->grants_by_key, g->key, strlen(g->key), g);
	resident_note(st);
	return 0;
}

/*
 * Adds a new grant to the working set; -1 when memory runs out, and
 * then nothing changed.
 */
int
sim_grant_add(struct sim_store *st, struct grant *g)
{
	if (sim_vec_push(&st->new_grants, &st->nnew_grants, g) != 0)
		return -1;
	if (sim_grant_adopt(st, g) != 0) {
		st->nnew_grants--;
		return -1;
	}
	return 0;
}

const char *
sim_intern(struct sim_store *st, const char *s)
{
	size_t len = strlen(s);
	char *copy = sim_strmap_get(&st->interned, s, len);

	if (copy != NULL)
		return copy;
	if (strmap_reserve(&st->interned) != 0 || (copy = strdup(s)) == NULL)
		return NULL;
	strmap_put(&st->interned, copy, len, copy);
	return copy;
}

/*
 * The characters of an id that carry the time of its creation: 9 base-36
 * digits of the store's clock in ms, enough for 10,000 years.
 */
#define SIM_ID_TIME_DIGITS 9

void
sim_new_id(struct sim_store *st, char out[SIM_ID_LEN + 1])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	unsigned char rnd[SIM_ID_LEN];
	int64_t now = sim_store_now_ms(st);
	uint64_t t = now > 0 ? (uint64_t)now : 0;

	/* MTurk ids start with a digit (e.g. "3PR3LX..."). */
	sim_rng_id(&st->ids, out, SIM_ID_LEN);
	if (st->cfg.csprng_ids) {
		/*
		 * Unpredictable (the ids people hold must not be guessed); the
		 * seeded stream still advances, so nothing else changes.  The
		 * 20 random characters after the time carry about 103 bits;
		 * the modulo bias (256 % 36) costs a fraction of one.
		 */
		if (random_bytes(rnd, sizeof(rnd)) != 0)
			abort(); /* no CSPRNG: never fall back to the seed */
		for (size_t i = 0; i < SIM_ID_LEN; i++)
			out[i] = alphabet[rnd[i] % 36];
	}
	out[0] = '3';
	/*
	 * Then the time, most significant digit first, so that ids sort in
	 * the order they were made.  Every lookup of sim.db (and of the
	 * daemon's state) by a HIT or assignment id goes through a B-tree
	 * keyed by it: with random ids each new id lands on a random leaf,
	 * and a study larger than the page cache reads a page from the file
	 * for most lookups; ids in creation order keep the recent ones,
	 * those requests name, on a few hot pages (docs/design.md, "ids in
	 * creation order").  The time says no more than when the id was
	 * made, which its holder knows.
	 */
	for (int i = SIM_ID_TIME_DIGITS; i >= 1; i--) {
		out[i] = digits[t % 36];
		t /= 36;
	}
}

/* ---- assignment and HIT states ----------------------------------------- */

/* The state an assignment is in at time now. */
enum asg_state
sim_asg_state_at(const struct sim_store *st, const struct asg *a,
		 const struct hit *h, int64_t now)
{
	(void)st;
	if (a->simulated) {
		/* The HIT closed before this worker took it. */
		if (a->state == ASG_SUBMITTED &&
		    a->accept_ms >= h->expiration_ms &&
		    a->submit_ms > h->expiration_ms)
			return ASG_ABANDONED;
		if (a->state == ASG_SUBMITTED && a->submit_ms > now)
			return ASG_PENDING;
	}
	if (a->state == ASG_ACCEPTED &&
	    now > a->accept_ms + h->duration_s * 1000)
		return ASG_ABANDONED;
	if (a->state == ASG_SUBMITTED &&
	    now >= a->submit_ms + h->autoapprove_s * 1000)
		return ASG_APPROVED;
	return a->state;
}

/* Makes a derived auto-approval permanent, as MTurk records it. */
enum asg_state
sim_asg_settle(struct sim_store *st, struct asg *a, const struct hit *h,
	       int64_t now)
{
	enum asg_state s = sim_asg_state_at(st, a, h, now);

	if (s == ASG_APPROVED && a->state == ASG_SUBMITTED) {
		a->state = ASG_APPROVED;
		a->approval_ms = a->submit_ms + h->autoapprove_s * 1000;
	}
	return s;
}

const char *
sim_asg_state_str(enum asg_state s)
{
	switch (s) {
	case ASG_SUBMITTED:
		return "Submitted";
	case ASG_APPROVED:
		return "Approved";
	case ASG_REJECTED:
		return "Rejected";
	default:
		return "";
	}
}

/* Adds assignment a, in state s at time now, to the counts of its HIT. */
static void
count_asg(struct hit_counts *c, const struct asg *a, enum asg_state s,
	  int64_t now)
{
	if (s == ASG_PENDING || s == ASG_ACCEPTED) {
		c->pending++;
		/* A planned worker who has not accepted it yet. */
		if (a->simulated && a->accept_ms > now)
			c->untaken++;
	} else if (s != ASG_ABANDONED) {
		c->done++;
	}
	if (s == ASG_APPROVED || s == ASG_REJECTED)
		c->approved_rejected++;
}

static void
counts_finish(struct hit_counts *c, const struct hit *h)
{
	c->available = h->max - c->pending - c->done;
	if (c->available < 0)
		c->available = 0;
}

struct hit_counts
sim_hit_counts(struct sim_store *st, struct hit *h, int64_t now)
{
	struct hit_counts c = {0, 0, 0, 0, 0};

	for (size_t i = 0; i < h->nasgs; i++)
		count_asg(&c, h->asgs[i],
			  sim_asg_settle(st, h->asgs[i], h, now), now);
	counts_finish(&c, h);
	return c;
}

/*
 * MTurk's HIT statuses: Assignable while it is open and has an assignment
 * left to take; Unassignable while every remaining assignment is accepted
 * (or, after the expiry, while accepted ones are still being worked on);
 * Reviewable once every assignment is submitted or the HIT expired with
 * none in progress; Reviewing when the requester moved a Reviewable HIT
 * there with UpdateHITReviewStatus; Disposed once deleted.
 */
const char *
sim_hit_status(const struct hit *h, const struct hit_counts *c, int64_t now)
{
	if (h->deleted)
		return "Disposed";
	if (now < h->expiration_ms && c->available + c->untaken > 0)
		return "Assignable";
	if (c->pending > 0)
		return "Unassignable";
	return h->reviewing ? "Reviewing" : "Reviewable";
}

/*
 * The columns the listings select h on (sim_db_hit): derived from its
 * assignments as sim_asg_state_at() and sim_hit_status() derive them, so
 * that "Reviewable at now" is reviewable_from <= now for every now until
 * the HIT or one of its assignments changes (and is saved again).
 *
 * Once every assignment that may still be pending has settled (a planned
 * worker's submission has come, an accepted one has been submitted or
 * run out) nothing is pending; the HIT is then Reviewable if it has
 * expired or holds its MaxAssignments done, and Assignable otherwise.
 * Before that moment something is pending, so it is not Reviewable.
 */
void
sim_hit_index_row(const struct hit *h, struct sim_db_hit *row)
{
	int64_t settled = INT64_MIN, base = 0;
	int done = 0;

	for (size_t i = 0; i < h->nasgs; i++) {
		const struct asg *a = h->asgs[i];

		/* A planned worker who came after the HIT closed. */
		if (a->simulated && a->state == ASG_SUBMITTED &&
		    a->accept_ms >= h->expiration_ms &&
		    a->submit_ms > h->expiration_ms)
			continue;
		if (a->state == ASG_ACCEPTED) {
			int64_t end = a->accept_ms + h->duration_s * 1000;

			if (end + 1 > settled)
				settled = end + 1;
			if (!a->simulated && end > base)
				base = end;
			continue;
		}
		done++;
		if (a->simulated && a->state == ASG_SUBMITTED &&
		    a->submit_ms > settled)
			settled = a->submit_ms;
		if (a->submit_ms > base)
			base = a->submit_ms;
	}
	memset(row, 0, sizeof(*row));
	row->id = h->id;
	row->type_id = h->type_id;
	row->deleted = h->deleted;
	row->reviewing = h->reviewing;
	row->max = h->max;
	row->expiration_ms = h->expiration_ms;
	row->duration_ms = h->duration_s * 1000;
	row->done_final = done;
	row->reviewable_from = settled;
	if (done < h->max && h->expiration_ms > settled)
		row->reviewable_from = h->expiration_ms;
	row->reviewable_base = base;
	row->ann_key = h->ann;
	row->ann_key_len = h->ann != NULL ? h->ann_key_len : 0;
	row->token = h->token;
}

int
sim_store_hits(struct sim_store *st, enum sim_db_query q,
	       const struct sim_db_hits_args *args,
	       struct sim_db_hit_ref *out, size_t *n)
{
	struct errbuf eb;

	*n = 0;
	if (st->db == NULL) /* a state directory that failed to open */
		return -1;
	err_init(&eb);
	/* The index holds what is saved: a change a failed save left
	 * pending is written first. */
	if (sim_save_changes(st, &eb) != IF_OK ||
	    sim_db_hits(st->db, q, args, out, n, &eb) != IF_OK) {
		log_warnx("simulator: %s", eb.msg);
		return -1;
	}
	return 0;
}

/* A listed assignment: submitted, approved or rejected, never pending. */
bool
sim_asg_listed(enum asg_state s)
{
	return s == ASG_SUBMITTED || s == ASG_APPROVED || s == ASG_REJECTED;
}

/* ---- qualifications of workers ----------------------------------------- */

/*
 * Whether worker meets every requirement.  Requirements on qualification
 * types the simulator does not hold (the system ones: approval rate,
 * locale, ...) count as met: the simulated workers are good workers.
 */
int
sim_worker_eligible(struct sim_store *st, json_t *reqs, const char *worker,
		    bool *eligible)
{
	size_t i;
	json_t *r;

	*eligible = false;
	json_array_foreach(reqs, i, r) {
		const char *qid = json_string_value(
			json_object_get(r, "QualificationTypeId"));
		const char *cmp =
			json_string_value(json_object_get(r, "Comparator"));
		json_t *ints = json_object_get(r, "IntegerValues");
		struct grant *g;
		int64_t want;

		if (qid == NULL || cmp == NULL ||
		    sim_find_qtype(st, qid) == NULL)
			continue;
		if (sim_find_grant(st, qid, worker, &g) != 0)
			return -1;
		if (strcmp(cmp, "DoesNotExist") == 0) {
			if (g != NULL)
				return 0;
			continue;
		}
		if (g == NULL)
			return 0;
		if (strcmp(cmp, "Exists") == 0 || json_array_size(ints) == 0)
			continue;
		want = json_integer_value(json_array_get(ints, 0));
		if ((strcmp(cmp, "EqualTo") == 0 && g->value != want) ||
		    (strcmp(cmp, "NotEqualTo") == 0 && g->value == want) ||
		    (strcmp(cmp, "LessThan") == 0 && !(g->value < want)) ||
		    (strcmp(cmp, "LessThanOrEqualTo") == 0 &&
		     !(g->value <= want)) ||
		    (strcmp(cmp, "GreaterThan") == 0 && !(g->value > want)) ||
		    (strcmp(cmp, "GreaterThanOrEqualTo") == 0 &&
		     !(g->value >= want)))
			return 0;
	}
	*eligible = true;
	return 0;
}

/* ---- S3 objects --------------------------------------------------------- */

int
sim_object_adopt(struct sim_store *st, struct object *o)
{
	if (strmap_reserve(&st->objects_by_path) != 0 ||
	    sim_vec_push(&st->objects, &st->nobjects, o) != 0)
		return -1;
	strmap_put(&st->objects_by_path, o->path, strlen(o->path), o);
	resident_note(st);
	return 0;
}

/*
 * Adds a new object to the working set; path and data are copied.  NULL
 * when memory runs out, and then nothing changed.
 */
struct object *
sim_object_add(struct sim_store *st, const char *path,
	       const char *content_type, const void *data, size_t len)
{
	struct object *ob = calloc(1, sizeof(*ob));

	if (ob == NULL || (ob->path = strdup(path)) == NULL ||
	    (ob->content_type = sim_intern(st, content_type)) == NULL ||
	    (ob->data = malloc(len + 1)) == NULL ||
	    sim_vec_push(&st->new_objects, &st->nnew_objects, ob) != 0) {
		sim_object_free(ob);
		return NULL;
	}
	if (sim_object_adopt(st, ob) != 0) {
		st->nnew_objects--;
		sim_object_free(ob);
		return NULL;
	}
	ob->resident = true;
	if (len > 0)
		memcpy(ob->data, data, len);
	ob->len = len;
	return ob;
}
