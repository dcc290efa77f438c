/*
 * mturk/sim_store.c - the simulator's data and the MTurk operations on it
 * (spec sections 5 and 6; shapes from reference/mturk-2017-01-17-service-2).
 *
 * Everything lives in memory behind one mutex: HIT types, HITs,
 * assignments, qualification types and grants, request tokens and the S3
 * objects.  Operations take and give the service model's JSON shapes and
 * fail with its errors: RequestError (HTTP 400) with a TurkErrorCode and a
 * message ending in "(epoch-ms)", as the real service writes them.
 *
 * Simulated assignments are planned once, when a HIT is created (the
 * workers, their answers and their accept and submit times), and appear as
 * the injected clock passes their submit time.  Planning at creation is
 * what the daemon's exclusive_stages flow needs: it grants qualifications
 * before it posts the next stage's HIT.  A Submitted assignment is
 * approved automatically once its AutoApprovalTime has passed, as MTurk
 * does.  Ids come from a seeded stream, so the same requests in the same
 * order give the same ids.
 */
#include "mturk/sim_private.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SIM_TOKEN_TTL_MS (24LL * 3600 * 1000) /* UniqueRequestToken window */
#define SIM_QUESTION_MAX 65535
#define SIM_AUTO_APPROVAL_DEFAULT (30LL * 24 * 3600)

enum asg_state {
	ASG_ACCEPTED = 0, /* a lab participant is working on it */
	ASG_SUBMITTED,
	ASG_APPROVED,
	ASG_REJECTED,
	/* Derived, never stored: */
	ASG_PENDING,   /* simulated worker not submitted yet */
	ASG_ABANDONED, /* accepted but the time ran out, or never taken */
};

struct qtype {
	char id[SIM_ID_LEN + 1];
	json_t *obj; /* the QualificationType shape */
};

struct grant {
	char qual_id[SIM_ID_LEN + 1];
	char worker_id[256];
	int value;
	struct grant *worker_prev; /* the worker's previous grant */
	size_t seq;		   /* its place in st->grants */
};

struct hittype {
	char id[SIM_ID_LEN + 1];
	char *key;     /* canonical JSON of the defining values */
	json_t *vals;  /* Title, Description, Reward, ... */
};

/*
 * A HIT's assignments by state.  pending counts those not submitted yet,
 * untaken the part of them a planned worker has not accepted yet (on MTurk
 * those are still available; the plan keeps them for its worker).
 */
struct hit_counts {
	int pending, done, approved_rejected, available, untaken;
};

struct hit {
	char id[SIM_ID_LEN + 1];
	char type_id[SIM_ID_LEN + 1];
	json_t *vals; /* the HIT type's values plus Question, annotation */
	int64_t created_ms;
	int64_t expiration_ms;
	int64_t duration_s;
	int64_t autoapprove_s;
	int max;
	char *token; /* NULL when none was given */
	bool deleted;
	/* The last UpdateExpirationForHIT's ExpireAt (seconds), if any. */
	bool expire_requested;
	int64_t expire_at;
	/* UpdateHITReviewStatus(Revert=false): Reviewing while Reviewable. */
	bool reviewing;
	/* Scratch of hits_tally(). */
	struct hit_counts tally;
	/*
	 * The HIT's assignments in the order of st->asgs (the array is
	 * owned, the assignments are the store's).  Assignments are never
	 * removed and never change HIT, so the list only grows.
	 */
	struct asg **asgs;
	size_t nasgs;
	/*
	 * RequesterAnnotation (borrowed from vals, which never changes after
	 * creation; NULL when none) and its key in st->hits_by_ann: up to
	 * its last '/' ("<experiment>/<image>"), or all of it.
	 */
	const char *ann;
	size_t ann_key_len;
	/* The previous HIT with the same annotation key, and with the same token. */
	struct hit *ann_prev;
	struct hit *token_prev;
};

struct asg {
	char id[SIM_ID_LEN + 1];
	char hit_id[SIM_ID_LEN + 1];
	char worker_id[256];
	enum asg_state state;
	bool simulated;
	int64_t accept_ms;
	int64_t submit_ms;
	int64_t approval_ms;
	int64_t rejection_ms;
	char *answer;
	char *feedback; /* RequesterFeedback */
	struct sim_face *boxes;
	size_t nboxes;
	size_t seq; /* its place in st->asgs */
};

struct object {
	char *path;
	char *data;
	size_t len;
	char content_type[128];
};

/*
 * An open-addressing hash map from a string to a record (linear probing,
 * capacity a power of two, at most half full).  Keys are borrowed from the
 * records, which outlive the map; nothing is ever removed.  A put that
 * follows a successful strmap_reserve() cannot fail, so a record is added
 * to its array and its maps together or not at all.
 */
struct strmap_slot {
	const char *key; /* NULL: empty */
	size_t klen;
	uint64_t hash;
	void *val;
};

struct strmap {
	struct strmap_slot *slot;
	size_t cap;
	size_t count;
};

struct exp_copy {
	char *name;
	int *windows;
	size_t nwindows;
	enum sim_aggregate aggregate;
	struct sim_crowd_model crowd;
	struct sim_image *images;
	size_t nimages;
	struct strmap images_by_id; /* of images[] */
};

struct sim_store {
	pthread_mutex_t mu;
	struct sim_store_config cfg;
	struct sim_rng ids;
	struct qtype **qtypes;
	size_t nqtypes;
	struct grant **grants;
	size_t ngrants;
	struct hittype **types;
	size_t ntypes;
	struct hit **hits;
	size_t nhits;
	struct asg **asgs;
	size_t nasgs;
	struct object **objects;
	size_t nobjects;
	/*
	 * Indexes (a scan of every record per request runs quadratic in a
	 * long run).  Each record is added to its array and its indexes by
	 * one function: hit_add(), asg_add(), object_add(), grant_add().
	 *   hits_by_id, asgs_by_id, objects_by_path: the record;
	 *   hits_by_ann: the newest HIT of an annotation key (older ones
	 *   through hit->ann_prev); hits_by_token: the same for tokens.
	 * An assignment's HIT lists it in hit->asgs.
	 */
	struct strmap hits_by_id;
	struct strmap hits_by_ann;
	struct strmap hits_by_token;
	struct strmap asgs_by_id;
	struct strmap objects_by_path;
	/* The newest grant of a worker; older: grant->worker_prev. */
	struct strmap grants_by_worker;
	struct exp_copy *exps;
	size_t nexps;
	char *state_dir; /* NULL: memory only */
	char *base;	 /* "http://127.0.0.1:PORT", NULL until known */
	/* How many simulated workers have arrived (sim_crowd_pick()). */
	size_t crowd_size;
	/*
	 * Persistence (see "persistence" below): the database, NULL for
	 * memory only; how much of each array it holds; what changed in
	 * place since the last save.
	 */
	struct sim_db *db;
	size_t saved_qtypes, saved_grants, saved_types, saved_hits, saved_asgs,
		saved_objects, saved_crowd;
	uint64_t saved_ids;
	bool save_all; /* the next save writes everything */
	struct hit **touched_hits;
	size_t ntouched_hits;
	struct asg **touched_asgs;
	size_t ntouched_asgs;
	size_t *touched_grants;
	size_t ntouched_grants;
	struct object **touched_objects;
	size_t ntouched_objects;
};

/* Persistence marks (see "persistence" below). */
static void touch_hit(struct sim_store *st, struct hit *h);
static void touch_asg(struct sim_store *st, struct asg *a);
static void touch_grant(struct sim_store *st, size_t i);

/* Appends item to a growable array of pointers; -1 when memory runs out. */
static int
vec_push(void *arrp, size_t *n, void *item)
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
static void *
strmap_get(const struct strmap *m, const char *key, size_t klen)
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
	sim_rng_init(&st->ids, sim_hash_str(cfg->seed, "ids"));
	pthread_mutex_init(&st->mu, NULL);
	return st;
}

static void
exp_copy_cleanup(struct exp_copy *e)
{
	free(e->name);
	free(e->windows);
	for (size_t i = 0; i < e->nimages; i++) {
		/* The copies are ours; the public struct is const for callers. */
		free((void *)(uintptr_t)e->images[i].id);
		free((void *)(uintptr_t)e->images[i].faces);
		free((void *)(uintptr_t)e->images[i].windows);
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
	for (size_t i = 0; i < st->ngrants; i++)
		free(st->grants[i]);
	free(st->grants);
	strmap_cleanup(&st->grants_by_worker);
	for (size_t i = 0; i < st->ntypes; i++) {
		free(st->types[i]->key);
		json_decref(st->types[i]->vals);
		free(st->types[i]);
	}
	free(st->types);
	for (size_t i = 0; i < st->nhits; i++) {
		json_decref(st->hits[i]->vals);
		free(st->hits[i]->token);
		free(st->hits[i]->asgs);
		free(st->hits[i]);
	}
	free(st->hits);
	strmap_cleanup(&st->hits_by_id);
	strmap_cleanup(&st->hits_by_ann);
	strmap_cleanup(&st->hits_by_token);
	strmap_cleanup(&st->asgs_by_id);
	strmap_cleanup(&st->objects_by_path);
	for (size_t i = 0; i < st->nasgs; i++) {
		free(st->asgs[i]->answer);
		free(st->asgs[i]->feedback);
		free(st->asgs[i]->boxes);
		free(st->asgs[i]);
	}
	free(st->asgs);
	for (size_t i = 0; i < st->nobjects; i++) {
		free(st->objects[i]->path);
		free(st->objects[i]->data);
		free(st->objects[i]);
	}
	free(st->objects);
	for (size_t i = 0; i < st->nexps; i++)
		exp_copy_cleanup(&st->exps[i]);
	free(st->exps);
	free(st->state_dir);
	free(st->base);
	sim_db_close(st->db);
	free(st->touched_hits);
	free(st->touched_asgs);
	free(st->touched_grants);
	free(st->touched_objects);
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
	pthread_mutex_unlock(&st->mu);
	return 0;
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
		return err_set(eb, IF_EINPUT, "simulator: experiment without a name");
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
		if (o->id == NULL || faces == NULL)
			goto nomem;
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
			pthread_mutex_unlock(&st->mu);
			goto nomem;
		}
		st->exps = grown;
		st->exps[st->nexps++] = c;
	}
	pthread_mutex_unlock(&st->mu);
	return IF_OK;
nomem:
	exp_copy_cleanup(&c);
	return err_set(eb, IF_ERUNTIME, "simulator: experiment %s: out of memory",
		       exp->name);
}

/* ---- errors ------------------------------------------------------------- */

static int
fail(const struct sim_store *st, struct sim_err *err, int http,
     const char *type, const char *turk, const char *fmt, ...)
	IF_PRINTF(6, 7);

/* Fills err as the service would and returns -1. */
static int
fail(const struct sim_store *st, struct sim_err *err, int http,
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

static int
fail_missing(const struct sim_store *st, struct sim_err *err, const char *name)
{
	return fail(st, err, 400, "ValidationException", NULL,
		    "1 validation error detected: Value null at '%s' failed to "
		    "satisfy constraint: Member must not be null",
		    name);
}

/* ---- request parameters ------------------------------------------------- */

/* A string member; NULL when absent.  A wrong type is an error. */
static int
get_str(const struct sim_store *st, json_t *req, const char *name,
	bool required, const char **out, struct sim_err *err)
{
	json_t *v = json_object_get(req, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return required ? fail_missing(st, err, name) : 0;
	if (!json_is_string(v))
		return fail(st, err, 400, "SerializationException", NULL,
			    "%s: expected a string", name);
	*out = json_string_value(v);
	return 0;
}

static int
get_int(const struct sim_store *st, json_t *req, const char *name,
	bool required, int64_t dflt, int64_t lo, int64_t hi, int64_t *out,
	struct sim_err *err)
{
	json_t *v = json_object_get(req, name);
	double d;

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return required ? fail_missing(st, err, name) : 0;
	if (!json_is_number(v))
		return fail(st, err, 400, "SerializationException", NULL,
			    "%s: expected a number", name);
	d = json_number_value(v);
	if (d < (double)lo || d > (double)hi)
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "Value %.0f for %s is out of range [%lld, %lld].", d,
			    name, (long long)lo, (long long)hi);
	*out = (int64_t)d;
	return 0;
}

static bool
currency_ok(const char *s)
{
	/* ^[0-9]+(\.)?[0-9]{0,2}$ */
	size_t i = 0, frac = 0;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return false;
	while (s[i] >= '0' && s[i] <= '9')
		i++;
	if (s[i] == '.') {
		i++;
		while (s[i] >= '0' && s[i] <= '9' && frac < 3) {
			i++;
			frac++;
		}
	}
	return s[i] == '\0' && frac <= 2;
}

static json_t *
ts_json(int64_t ms)
{
	/* Epoch seconds as a number; whole seconds stay integers. */
	if (ms % 1000 == 0)
		return json_integer(ms / 1000);
	return json_real((double)ms / 1000.0);
}

/* ---- lookups ------------------------------------------------------------ */

static struct hit *
find_hit(struct sim_store *st, const char *id)
{
	return id != NULL ? strmap_get(&st->hits_by_id, id, strlen(id)) : NULL;
}

static struct asg *
find_asg(struct sim_store *st, const char *id)
{
	return id != NULL ? strmap_get(&st->asgs_by_id, id, strlen(id)) : NULL;
}

static struct object *
find_object(struct sim_store *st, const char *path, size_t len)
{
	return strmap_get(&st->objects_by_path, path, len);
}

/* The newest HIT whose annotation key is key[0..len); older: ->ann_prev. */
static struct hit *
find_hits_by_ann(struct sim_store *st, const char *key, size_t len)
{
	return strmap_get(&st->hits_by_ann, key, len);
}

/*
 * Adds a complete HIT (id, vals and token set) to the store and its
 * indexes; -1 when memory runs out, and then nothing changed.
 */
static int
hit_add(struct sim_store *st, struct hit *h)
{
	const char *slash;

	h->ann = json_string_value(
		json_object_get(h->vals, "RequesterAnnotation"));
	if (h->ann != NULL) {
		slash = strrchr(h->ann, '/');
		h->ann_key_len = slash != NULL ? (size_t)(slash - h->ann)
					       : strlen(h->ann);
	}
	if (strmap_reserve(&st->hits_by_id) != 0 ||
	    strmap_reserve(&st->hits_by_ann) != 0 ||
	    strmap_reserve(&st->hits_by_token) != 0 ||
	    vec_push(&st->hits, &st->nhits, h) != 0)
		return -1;
	strmap_put(&st->hits_by_id, h->id, strlen(h->id), h);
	if (h->ann != NULL)
		h->ann_prev = strmap_put(&st->hits_by_ann, h->ann,
					 h->ann_key_len, h);
	if (h->token != NULL)
		h->token_prev = strmap_put(&st->hits_by_token, h->token,
					   strlen(h->token), h);
	return 0;
}

/*
 * Adds a complete assignment (id and hit_id set) of HIT h (NULL: a saved
 * assignment whose HIT is missing) to the store and its indexes; -1 when
 * memory runs out, and then nothing changed.
 */
static int
asg_add(struct sim_store *st, struct hit *h, struct asg *a)
{
	if (strmap_reserve(&st->asgs_by_id) != 0 ||
	    (h != NULL && vec_push(&h->asgs, &h->nasgs, a) != 0))
		return -1;
	if (vec_push(&st->asgs, &st->nasgs, a) != 0) {
		if (h != NULL)
			h->nasgs--;
		return -1;
	}
	a->seq = st->nasgs - 1;
	strmap_put(&st->asgs_by_id, a->id, strlen(a->id), a);
	return 0;
}

static struct qtype *
find_qtype(struct sim_store *st, const char *id)
{
	for (size_t i = 0; id != NULL && i < st->nqtypes; i++)
		if (strcmp(st->qtypes[i]->id, id) == 0)
			return st->qtypes[i];
	return NULL;
}

static struct grant *
find_grant(struct sim_store *st, const char *qual_id, const char *worker)
{
	for (struct grant *g = strmap_get(&st->grants_by_worker, worker,
					  strlen(worker));
	     g != NULL; g = g->worker_prev)
		if (strcmp(g->qual_id, qual_id) == 0)
			return g;
	return NULL;
}

/*
 * Adds a new grant to the store and its index; -1 when memory runs out,
 * and then nothing changed.
 */
static int
grant_add(struct sim_store *st, struct grant *g)
{
	if (strmap_reserve(&st->grants_by_worker) != 0 ||
	    vec_push(&st->grants, &st->ngrants, g) != 0)
		return -1;
	g->seq = st->ngrants - 1;
	g->worker_prev = strmap_put(&st->grants_by_worker, g->worker_id,
				    strlen(g->worker_id), g);
	return 0;
}

static void
new_id(struct sim_store *st, char out[SIM_ID_LEN + 1])
{
	/* MTurk ids start with a digit (e.g. "3PR3LX..."). */
	sim_rng_id(&st->ids, out, SIM_ID_LEN);
	out[0] = '3';
}

/* The state an assignment is in at time now. */
static enum asg_state
asg_state_at(const struct sim_store *st, const struct asg *a,
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
static enum asg_state
asg_settle(struct sim_store *st, struct asg *a, const struct hit *h,
	   int64_t now)
{
	enum asg_state s = asg_state_at(st, a, h, now);

	if (s == ASG_APPROVED && a->state == ASG_SUBMITTED) {
		a->state = ASG_APPROVED;
		a->approval_ms = a->submit_ms + h->autoapprove_s * 1000;
	}
	return s;
}

static const char *
asg_state_str(enum asg_state s)
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

static struct hit_counts
hit_counts(struct sim_store *st, struct hit *h, int64_t now)
{
	struct hit_counts c = {0, 0, 0, 0, 0};

	for (size_t i = 0; i < h->nasgs; i++)
		count_asg(&c, h->asgs[i], asg_settle(st, h->asgs[i], h, now),
			  now);
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
static const char *
hit_status(const struct hit *h, const struct hit_counts *c, int64_t now)
{
	if (h->deleted)
		return "Disposed";
	if (now < h->expiration_ms && c->available + c->untaken > 0)
		return "Assignable";
	if (c->pending > 0)
		return "Unassignable";
	return h->reviewing ? "Reviewing" : "Reviewable";
}

/* Counts every HIT's assignments (into hit->tally). */
static void
hits_tally(struct sim_store *st, int64_t now)
{
	for (size_t i = 0; i < st->nhits; i++)
		st->hits[i]->tally = hit_counts(st, st->hits[i], now);
}

static json_t *
hit_json(struct sim_store *st, struct hit *h, int64_t now)
{
	struct hit_counts c = hit_counts(st, h, now);
	json_t *o = json_deep_copy(h->vals);

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "HITId", json_string(h->id));
	json_object_set_new(o, "HITTypeId", json_string(h->type_id));
	json_object_set_new(o, "HITGroupId", json_string(h->type_id));
	json_object_set_new(o, "CreationTime", ts_json(h->created_ms));
	json_object_set_new(o, "Expiration", ts_json(h->expiration_ms));
	json_object_set_new(o, "HITStatus", json_string(hit_status(h, &c, now)));
	json_object_set_new(o, "HITReviewStatus", json_string("NotReviewed"));
	json_object_set_new(o, "MaxAssignments", json_integer(h->max));
	json_object_set_new(o, "NumberOfAssignmentsPending",
			    json_integer(c.pending - c.untaken));
	json_object_set_new(o, "NumberOfAssignmentsAvailable",
			    json_integer(c.available + c.untaken));
	json_object_set_new(o, "NumberOfAssignmentsCompleted",
			    json_integer(c.approved_rejected));
	return o;
}

static json_t *
asg_json(struct sim_store *st, struct asg *a, const struct hit *h, int64_t now)
{
	enum asg_state s = asg_settle(st, a, h, now);
	json_t *o = json_object();

	json_object_set_new(o, "AssignmentId", json_string(a->id));
	json_object_set_new(o, "WorkerId", json_string(a->worker_id));
	json_object_set_new(o, "HITId", json_string(a->hit_id));
	json_object_set_new(o, "AssignmentStatus", json_string(asg_state_str(s)));
	json_object_set_new(o, "AutoApprovalTime",
			    ts_json(a->submit_ms + h->autoapprove_s * 1000));
	json_object_set_new(o, "AcceptTime", ts_json(a->accept_ms));
	json_object_set_new(o, "SubmitTime", ts_json(a->submit_ms));
	if (s == ASG_APPROVED)
		json_object_set_new(o, "ApprovalTime", ts_json(a->approval_ms));
	if (s == ASG_REJECTED)
		json_object_set_new(o, "RejectionTime", ts_json(a->rejection_ms));
	json_object_set_new(o, "Deadline",
			    ts_json(a->accept_ms + h->duration_s * 1000));
	json_object_set_new(o, "Answer",
			    json_string(a->answer != NULL ? a->answer : ""));
	if (a->feedback != NULL)
		json_object_set_new(o, "RequesterFeedback",
				    json_string(a->feedback));
	return o;
}

/* A listed assignment: submitted, approved or rejected, never pending. */
static bool
asg_listed(enum asg_state s)
{
	return s == ASG_SUBMITTED || s == ASG_APPROVED || s == ASG_REJECTED;
}

/* ---- paging ------------------------------------------------------------- */

static int
page_args(const struct sim_store *st, json_t *req, size_t *start,
	  size_t *max, struct sim_err *err)
{
	const char *tok = NULL;
	int64_t m = 0, off = 0;

	if (get_int(st, req, "MaxResults", false, 10, 1, 100, &m, err) != 0 ||
	    get_str(st, req, "NextToken", false, &tok, err) != 0)
		return -1;
	*max = (size_t)m;
	*start = 0;
	if (tok != NULL) {
		/* Our tokens are "p" + the index of the next item. */
		if (tok[0] != 'p' || parse_int64(tok + 1, 0, INT32_MAX, &off) != 0)
			return fail(st, err, 400, "RequestError",
				    "ParameterValidationError",
				    "The pagination token \"%.64s\" is invalid.", tok);
		*start = (size_t)off;
	}
	return 0;
}

static void
page_finish(json_t *resp, const char *member, json_t *items, size_t next,
	    bool more)
{
	char tok[32];

	json_object_set_new(resp, "NumResults",
			    json_integer((json_int_t)json_array_size(items)));
	json_object_set_new(resp, member, items);
	if (more) {
		snprintf(tok, sizeof(tok), "p%zu", next);
		json_object_set_new(resp, "NextToken", json_string(tok));
	}
}

/* ---- qualifications ----------------------------------------------------- */

static int
op_create_qualification_type(struct sim_store *st, json_t *req, json_t **resp,
			     struct sim_err *err)
{
	const char *name, *desc, *status, *kw;
	struct qtype *q;
	json_t *o;
	int64_t now = sim_store_now_ms(st);

	if (get_str(st, req, "Name", true, &name, err) != 0 ||
	    get_str(st, req, "Description", true, &desc, err) != 0 ||
	    get_str(st, req, "QualificationTypeStatus", true, &status, err) != 0 ||
	    get_str(st, req, "Keywords", false, &kw, err) != 0)
		return -1;
	if (strcmp(status, "Active") != 0 && strcmp(status, "Inactive") != 0)
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "QualificationTypeStatus must be Active or Inactive.");
	for (size_t i = 0; i < st->nqtypes; i++) {
		const char *n = json_string_value(
			json_object_get(st->qtypes[i]->obj, "Name"));
		if (n != NULL && strcmp(n, name) == 0)
			return fail(st, err, 400, "RequestError",
				    "QualificationTypeAlreadyExists",
				    "You have already created a QualificationType "
				    "with this name. A QualificationType's name "
				    "must be unique among all of the "
				    "QualificationTypes created by the same user.");
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	new_id(st, q->id);
	o = json_object();
	json_object_set_new(o, "QualificationTypeId", json_string(q->id));
	json_object_set_new(o, "CreationTime", ts_json(now));
	json_object_set_new(o, "Name", json_string(name));
	json_object_set_new(o, "Description", json_string(desc));
	if (kw != NULL)
		json_object_set_new(o, "Keywords", json_string(kw));
	json_object_set_new(o, "QualificationTypeStatus", json_string(status));
	json_object_set_new(o, "IsRequestable", json_false());
	json_object_set(o, "AutoGranted",
			json_is_true(json_object_get(req, "AutoGranted"))
				? json_true()
				: json_false());
	q->obj = o;
	if (vec_push(&st->qtypes, &st->nqtypes, q) != 0) {
		json_decref(o);
		free(q);
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	}
	*resp = json_object();
	json_object_set(*resp, "QualificationType", o);
	return 0;
}

static int
op_list_qualification_types(struct sim_store *st, json_t *req, json_t **resp,
			    struct sim_err *err)
{
	json_t *items, *mbr = json_object_get(req, "MustBeRequestable");
	const char *query;
	size_t start, max, i, seen = 0;

	if (mbr == NULL || !json_is_boolean(mbr))
		return fail_missing(st, err, "MustBeRequestable");
	if (get_str(st, req, "Query", false, &query, err) != 0 ||
	    page_args(st, req, &start, &max, err) != 0)
		return -1;
	items = json_array();
	for (i = 0; i < st->nqtypes; i++) {
		const char *n = json_string_value(
			json_object_get(st->qtypes[i]->obj, "Name"));
		/* Ours are never requestable by workers. */
		if (json_is_true(mbr))
			continue;
		if (query != NULL && strstr(n, query) == NULL)
			continue;
		if (seen++ < start)
			continue;
		if (json_array_size(items) == max)
			break;
		json_array_append(items, st->qtypes[i]->obj);
	}
	*resp = json_object();
	page_finish(*resp, "QualificationTypes", items, start + max, i < st->nqtypes);
	return 0;
}

static int
op_associate_qualification(struct sim_store *st, json_t *req, json_t **resp,
			   struct sim_err *err)
{
	const char *qid, *worker;
	int64_t value;
	struct grant *g;

	if (get_str(st, req, "QualificationTypeId", true, &qid, err) != 0 ||
	    get_str(st, req, "WorkerId", true, &worker, err) != 0 ||
	    get_int(st, req, "IntegerValue", false, 1, INT32_MIN, INT32_MAX,
		    &value, err) != 0)
		return -1;
	if (find_qtype(st, qid) == NULL)
		return fail(st, err, 400, "RequestError",
			    "QualificationTypeDoesNotExist",
			    "QualificationType %.64s does not exist.", qid);
	if (strlen(worker) >= sizeof(g->worker_id) || worker[0] != 'A')
		return fail(st, err, 400, "RequestError", "WorkerDoesNotExist",
			    "Worker %.64s does not exist.", worker);
	g = find_grant(st, qid, worker);
	if (g != NULL) {
		touch_grant(st, g->seq);
	} else {
		g = calloc(1, sizeof(*g));
		if (g != NULL) {
			snprintf(g->qual_id, sizeof(g->qual_id), "%s", qid);
			snprintf(g->worker_id, sizeof(g->worker_id), "%s",
				 worker);
		}
		if (g == NULL || grant_add(st, g) != 0) {
			free(g);
			return fail(st, err, 500, "ServiceFault", NULL,
				    "out of memory");
		}
	}
	g->value = (int)value;
	*resp = json_object();
	return 0;
}

/*
 * Whether worker meets every requirement.  Requirements on qualification
 * types the simulator does not hold (the system ones: approval rate,
 * locale, ...) count as met: the simulated workers are good workers.
 */
static bool
worker_eligible(struct sim_store *st, json_t *reqs, const char *worker)
{
	size_t i;
	json_t *r;

	json_array_foreach(reqs, i, r) {
		const char *qid = json_string_value(
			json_object_get(r, "QualificationTypeId"));
		const char *cmp = json_string_value(json_object_get(r, "Comparator"));
		json_t *ints = json_object_get(r, "IntegerValues");
		struct grant *g;
		int64_t want;

		if (qid == NULL || cmp == NULL || find_qtype(st, qid) == NULL)
			continue;
		g = find_grant(st, qid, worker);
		if (strcmp(cmp, "DoesNotExist") == 0) {
			if (g != NULL)
				return false;
			continue;
		}
		if (g == NULL)
			return false;
		if (strcmp(cmp, "Exists") == 0 || json_array_size(ints) == 0)
			continue;
		want = json_integer_value(json_array_get(ints, 0));
		if ((strcmp(cmp, "EqualTo") == 0 && g->value != want) ||
		    (strcmp(cmp, "NotEqualTo") == 0 && g->value == want) ||
		    (strcmp(cmp, "LessThan") == 0 && !(g->value < want)) ||
		    (strcmp(cmp, "LessThanOrEqualTo") == 0 && !(g->value <= want)) ||
		    (strcmp(cmp, "GreaterThan") == 0 && !(g->value > want)) ||
		    (strcmp(cmp, "GreaterThanOrEqualTo") == 0 &&
		     !(g->value >= want)))
			return false;
	}
	return true;
}

/* ---- HIT types and HITs ------------------------------------------------- */

static const char *const type_members[] = {
	"Title", "Description", "Keywords", "Reward",
	"AssignmentDurationInSeconds", "AutoApprovalDelayInSeconds",
	"QualificationRequirements",
};

/* Validates and copies the HIT type's values out of a request. */
static int
type_values(struct sim_store *st, json_t *req, json_t **vals,
	    struct sim_err *err)
{
	const char *title, *desc, *reward, *kw;
	int64_t dur, aad;
	json_t *quals = json_object_get(req, "QualificationRequirements");
	size_t i;
	json_t *q;

	*vals = NULL;
	if (get_str(st, req, "Title", true, &title, err) != 0 ||
	    get_str(st, req, "Description", true, &desc, err) != 0 ||
	    get_str(st, req, "Reward", true, &reward, err) != 0 ||
	    get_str(st, req, "Keywords", false, &kw, err) != 0 ||
	    get_int(st, req, "AssignmentDurationInSeconds", true, 0, 30,
		    31536000, &dur, err) != 0 ||
	    get_int(st, req, "AutoApprovalDelayInSeconds", false,
		    SIM_AUTO_APPROVAL_DEFAULT, 0, 2592000, &aad, err) != 0)
		return -1;
	if (!currency_ok(reward))
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "Reward \"%.32s\" is not a valid currency amount.",
			    reward);
	if (strlen(title) > 128 || strlen(desc) > 2000 ||
	    (kw != NULL && strlen(kw) > 1000))
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "Title, Description or Keywords is too long.");
	if (quals != NULL && (!json_is_array(quals) || json_array_size(quals) > 10))
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "QualificationRequirements must be a list of at most "
			    "10 requirements.");
	json_array_foreach(quals, i, q) {
		if (!json_is_string(json_object_get(q, "QualificationTypeId")) ||
		    !json_is_string(json_object_get(q, "Comparator")))
			return fail(st, err, 400, "RequestError",
				    "ParameterValidationError",
				    "QualificationRequirement %zu needs "
				    "QualificationTypeId and Comparator.", i + 1);
	}
	*vals = json_object();
	for (i = 0; i < sizeof(type_members) / sizeof(type_members[0]); i++) {
		json_t *v = json_object_get(req, type_members[i]);
		if (v != NULL)
			json_object_set(*vals, type_members[i], v);
	}
	if (json_object_get(*vals, "AutoApprovalDelayInSeconds") == NULL)
		json_object_set_new(*vals, "AutoApprovalDelayInSeconds",
				    json_integer(aad));
	return 0;
}

/*
 * CreateHITType is idempotent on its values: same values, same id.  The
 * type keeps its own copy: CreateHIT goes on to add the HIT's Question and
 * annotation to vals, which would otherwise end up in the type (and in a
 * later CreateHITWithHITType's HIT, and in the saved type, whose key then
 * differs after a restart).
 */
static struct hittype *
hittype_get_or_add(struct sim_store *st, json_t *vals)
{
	char *key = json_dumps(vals, JSON_SORT_KEYS | JSON_COMPACT);
	struct hittype *t;
	json_t *copy;

	if (key == NULL)
		return NULL;
	for (size_t i = 0; i < st->ntypes; i++)
		if (strcmp(st->types[i]->key, key) == 0) {
			free(key);
			return st->types[i];
		}
	t = calloc(1, sizeof(*t));
	copy = json_deep_copy(vals);
	if (t == NULL || copy == NULL ||
	    vec_push(&st->types, &st->ntypes, t) != 0) {
		free(t);
		json_decref(copy);
		free(key);
		return NULL;
	}
	new_id(st, t->id);
	t->key = key;
	t->vals = copy;
	return t;
}

static int
op_create_hit_type(struct sim_store *st, json_t *req, json_t **resp,
		   struct sim_err *err)
{
	json_t *vals;
	struct hittype *t;

	if (type_values(st, req, &vals, err) != 0)
		return -1;
	t = hittype_get_or_add(st, vals);
	json_decref(vals);
	if (t == NULL)
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	*resp = json_object();
	json_object_set_new(*resp, "HITTypeId", json_string(t->id));
	return 0;
}

/*
 * Orders assignments as the daemon's state does ("first" is its first):
 * by submission time in whole seconds (SubmitTime as the daemon keeps
 * it), then assignment id, then worker id.
 */
static int
asg_submit_cmp(const void *x, const void *y)
{
	const struct asg *a = *(const struct asg *const *)x;
	const struct asg *b = *(const struct asg *const *)y;
	int64_t sa = a->submit_ms / 1000, sb = b->submit_ms / 1000;
	int c;

	if (sa != sb)
		return sa < sb ? -1 : 1;
	if ((c = strcmp(a->id, b->id)) != 0)
		return c;
	return strcmp(a->worker_id, b->worker_id);
}

/* Appends n boxes to *all (count *nall); 0 or -1. */
static int
faces_append(struct sim_face **all, size_t *nall, const struct sim_face *b,
	     size_t n)
{
	struct sim_face *grown;

	if (n == 0)
		return 0;
	grown = realloc(*all, (*nall + n) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	memcpy(grown + *nall, b, n * sizeof(*grown));
	*all = grown;
	*nall += n;
	return 0;
}

/*
 * What the daemon redacts of one stage's answers (daemon/aggregate.c),
 * appended to *all: every box (union), the first answer's (first), or
 * the pixels more than half of the answers boxed (majority, imaging's
 * pixel vote; without the image's size, the union stands in).
 */
static int
served_redaction(const struct sim_image *im, enum sim_aggregate rule,
		 struct asg *const *group, size_t n, struct sim_face **all,
		 size_t *nall)
{
	const struct box **sets;
	size_t *counts, nout = 0;
	struct box *out = NULL;
	struct errbuf eb = {0};
	int rc = 0;

	if (rule == SIM_AGG_FIRST)
		return faces_append(all, nall, group[0]->boxes,
				    group[0]->nboxes);
	if (rule != SIM_AGG_MAJORITY || im->width <= 0 || im->height <= 0) {
		for (size_t i = 0; i < n; i++)
			if (faces_append(all, nall, group[i]->boxes,
					 group[i]->nboxes) != 0)
				return -1;
		return 0;
	}
	sets = calloc(n, sizeof(*sets));
	counts = calloc(n, sizeof(*counts));
	if (sets == NULL || counts == NULL) {
		free(sets);
		free(counts);
		return -1;
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct box *b = calloc(group[i]->nboxes + 1, sizeof(*b));

		if (b == NULL)
			rc = -1;
		for (size_t k = 0; b != NULL && k < group[i]->nboxes; k++) {
			const struct sim_face *f = &group[i]->boxes[k];

			b[k] = (struct box){f->x, f->y, f->w, f->h};
		}
		sets[i] = b;
		counts[i] = group[i]->nboxes;
	}
	if (rc == 0 && boxes_vote(sets, counts, n, n / 2, im->width,
				  im->height, &out, &nout, &eb) != IF_OK)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < nout; i++) {
		struct sim_face f = {out[i].x, out[i].y, out[i].w, out[i].h};

		rc = faces_append(all, nall, &f, 1);
	}
	free(out);
	for (size_t i = 0; i < n; i++)
		free((void *)(uintptr_t)sets[i]);
	free(sets);
	free(counts);
	return rc;
}

/* Resolves "<experiment>/<image-id>/<stage>" against the known experiments. */
static void
crowd_task(struct sim_store *st, const char *annotation, const struct hit *self,
	   struct sim_crowd_task *task, struct sim_face **covered)
{
	char exp[256];
	const char *s1, *s2;
	int64_t stage = 0;
	size_t nfound = 0;
	struct asg **found = NULL;
	int *stage_of = NULL;
	enum sim_aggregate rule = SIM_AGG_UNION;

	memset(task, 0, sizeof(*task));
	*covered = NULL;
	if (annotation == NULL || (s1 = strchr(annotation, '/')) == NULL ||
	    (s2 = strrchr(annotation, '/')) == s1 ||
	    parse_int64(s2 + 1, 1, 1000, &stage) != 0 ||
	    (size_t)(s1 - annotation) >= sizeof(exp) ||
	    (size_t)(s2 - s1 - 1) >= 256)
		return;
	memcpy(exp, annotation, (size_t)(s1 - annotation));
	exp[s1 - annotation] = '\0';
	for (size_t e = 0; e < st->nexps; e++) {
		struct exp_copy *x = &st->exps[e];
		const struct sim_image *im;

		if (strcmp(x->name, exp) != 0)
			continue;
		im = strmap_get(&x->images_by_id, s1 + 1,
				(size_t)(s2 - s1 - 1));
		if (im != NULL) {
			task->image = im;
			task->model = &x->crowd;
			rule = x->aggregate;
		}
		if (im != NULL && im->windows != NULL &&
		    (size_t)stage <= im->nwindows)
			task->window = im->windows[stage - 1];
		else if ((size_t)stage <= x->nwindows)
			task->window = x->windows[stage - 1];
	}
	task->stage = (int)stage;
	if (task->image == NULL)
		return;
	/*
	 * Answers of earlier stages of this image, each with its stage: what
	 * is redacted now is each stage's answers combined by the rule.  The
	 * candidates are the assignments of the HITs with this annotation
	 * key; an answer without boxes counts too (it votes, or comes first).
	 */
	for (struct hit *h = find_hits_by_ann(st, annotation,
					      (size_t)(s2 - annotation));
	     h != NULL; h = h->ann_prev) {
		if (h == self)
			continue;
		for (size_t i = 0; i < h->nasgs; i++) {
			struct asg *a = h->asgs[i];
			const char *ann = h->ann;
			const char *slash;
			int64_t hs = 0;

			if (ann == NULL || (slash = strrchr(ann, '/')) == NULL ||
			    (size_t)(slash - ann) != (size_t)(s2 - annotation) ||
			    strncmp(ann, annotation, (size_t)(s2 - annotation)) != 0 ||
			    parse_int64(slash + 1, 1, 1000, &hs) != 0 ||
			    hs >= stage)
				continue;
			{
				enum asg_state s = asg_state_at(
					st, a, h, sim_store_now_ms(st));
				if (!asg_listed(s) || s == ASG_REJECTED)
					continue;
			}
			if (vec_push(&found, &nfound, a) != 0)
				goto out;
			{
				int *grown = realloc(stage_of,
						     nfound * sizeof(int));

				if (grown == NULL)
					goto out;
				stage_of = grown;
				stage_of[nfound - 1] = (int)hs;
			}
		}
	}
	if (nfound == 0)
		goto out;
	/* Stage by stage, each in submission order. */
	for (int s = 1; s < stage; s++) {
		struct asg **group = NULL;
		size_t ngroup = 0;

		for (size_t i = 0; i < nfound; i++)
			if (stage_of[i] == s &&
			    vec_push(&group, &ngroup, found[i]) != 0) {
				free(group);
				goto out;
			}
		qsort(group, ngroup, sizeof(*group), asg_submit_cmp);
		if (ngroup > 0 &&
		    served_redaction(task->image, rule, group, ngroup, covered,
				     &task->ncovered) != 0) {
			free(group);
			goto out;
		}
		free(group);
	}
	task->covered = *covered;
out:
	free(found);
	free(stage_of);
}

/*
 * Whether the Question shows an image URL of this service whose object does
 * not exist.  Pages that show images hosted elsewhere count as fine.
 */
static bool
question_image_missing(struct sim_store *st, const char *q)
{
	size_t blen;
	const char *p;

	if (st->base == NULL || q == NULL)
		return false;
	blen = strlen(st->base);
	for (p = strstr(q, st->base); p != NULL; p = strstr(p + 1, st->base)) {
		const char *path = p + blen + 1, *end;

		if (p[blen] != '/')
			continue;
		end = path + strcspn(path, "?\"'& <>#");
		if (end == path || (size_t)(end - path) >= 1024 ||
		    memchr(path, '/', (size_t)(end - path)) == NULL)
			continue; /* not /bucket/key: a lab page, say */
		if (find_object(st, path, (size_t)(end - path)) == NULL)
			return true;
	}
	return false;
}

struct plan_ctx {
	struct sim_store *st;
	json_t *reqs;
};

/* Whether a simulated worker may take the HIT being planned. */
static bool
plan_eligible(void *ctx, const char *worker)
{
	struct plan_ctx *p = ctx;

	return worker_eligible(p->st, p->reqs, worker);
}

/* Plans the simulated workers of a new HIT (see the note at the top). */
static int
crowd_plan(struct sim_store *st, struct hit *h, struct sim_err *err)
{
	const char *ann = json_string_value(
		json_object_get(h->vals, "RequesterAnnotation"));
	json_t *reqs = json_object_get(h->vals, "QualificationRequirements");
	struct sim_crowd_task task;
	struct sim_face *covered = NULL;
	struct plan_ctx elig;
	size_t npicked, *picked = NULL;
	int attempt = 0, taken = 0, rc = 0, n;
	struct errbuf eb;

	if (st->cfg.crowd_off)
		return 0;
	err_init(&eb);
	/* Attempt: how many other HITs have this annotation. */
	for (struct hit *o = ann != NULL ? find_hits_by_ann(st, ann,
							    h->ann_key_len)
					 : NULL;
	     o != NULL; o = o->ann_prev)
		if (o != h && strcmp(o->ann, ann) == 0)
			attempt++;
	crowd_task(st, ann, h, &task, &covered);
	task.image_missing = question_image_missing(
		st, json_string_value(json_object_get(h->vals, "Question")));
	npicked = (size_t)h->max < SIM_CROWD_MAX ? (size_t)h->max : SIM_CROWD_MAX;
	picked = calloc(npicked, sizeof(*picked));
	elig.st = st;
	elig.reqs = reqs;
	n = picked == NULL ? -1
			   : sim_crowd_pick(st->cfg.seed,
					    ann != NULL ? ann : h->id, attempt,
					    &st->crowd_size, st->cfg.worker_pool,
					    npicked, plan_eligible, &elig, picked);
	if (n < 0) {
		free(picked);
		free(covered);
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		struct sim_crowd_answer ans;
		struct asg *a;
		char worker[SIM_WORKER_ID_LEN + 1];
		char *boxes_json = NULL;
		int64_t delay = st->cfg.crowd_delay_ms;

		sim_worker_id(st->cfg.seed, picked[i], worker);
		if (sim_crowd_answer(st->cfg.seed, ann != NULL ? ann : h->id,
				     attempt, worker, &task, &ans, &eb) != IF_OK) {
			rc = fail(st, err, 500, "ServiceFault", NULL, "%s", eb.msg);
			break;
		}
		a = calloc(1, sizeof(*a));
		boxes_json = sim_boxes_json(ans.boxes, ans.nboxes);
		if (a != NULL) {
			new_id(st, a->id);
			snprintf(a->hit_id, sizeof(a->hit_id), "%s", h->id);
		}
		if (a == NULL || boxes_json == NULL || asg_add(st, h, a) != 0) {
			free(a);
			free(boxes_json);
			sim_crowd_answer_cleanup(&ans);
			rc = fail(st, err, 500, "ServiceFault", NULL, "out of memory");
			break;
		}
		snprintf(a->worker_id, sizeof(a->worker_id), "%s", worker);
		a->simulated = true;
		a->state = ASG_SUBMITTED;
		a->accept_ms = h->created_ms + delay * taken;
		a->submit_ms = a->accept_ms + delay;
		if (a->submit_ms > a->accept_ms + h->duration_s * 1000 - 1000)
			a->submit_ms = a->accept_ms + h->duration_s * 1000 - 1000;
		a->boxes = ans.boxes;
		a->nboxes = ans.nboxes;
		ans.boxes = NULL;
		{
			const char *names[] = {"boxes", "face_found", "feedback"};
			const char *vals[] = {boxes_json,
					      ans.face_found ? "yes" : "no",
					      ans.feedback};
			a->answer = sim_answer_xml(names, vals, 3);
		}
		free(boxes_json);
		sim_crowd_answer_cleanup(&ans);
		if (a->answer == NULL) {
			rc = fail(st, err, 500, "ServiceFault", NULL, "out of memory");
			break;
		}
		taken++;
	}
	free(picked);
	free(covered);
	return rc;
}

static int
op_create_hit(struct sim_store *st, json_t *req, bool with_type, json_t **resp,
	      struct sim_err *err)
{
	const char *question, *ann, *token, *type_id;
	int64_t lifetime, max, now = sim_store_now_ms(st);
	json_t *vals = NULL;
	struct hittype *t = NULL;
	struct hit *h;

	if (get_str(st, req, "Question", false, &question, err) != 0 ||
	    get_str(st, req, "RequesterAnnotation", false, &ann, err) != 0 ||
	    get_str(st, req, "UniqueRequestToken", false, &token, err) != 0 ||
	    get_int(st, req, "LifetimeInSeconds", true, 0, 30, 31536000,
		    &lifetime, err) != 0 ||
	    get_int(st, req, "MaxAssignments", false, 1, 1, 1000000000, &max,
		    err) != 0)
		return -1;
	if (question == NULL)
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "Either Question or HITLayoutId must be provided "
			    "(the simulator supports Question).");
	if (strlen(question) > SIM_QUESTION_MAX)
		return fail(st, err, 400, "RequestError", "XMLParseError",
			    "Question is %zu bytes; the limit is 65535.",
			    strlen(question));
	if (ann != NULL && strlen(ann) > 255)
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "RequesterAnnotation is longer than 255 characters.");
	if (token != NULL && (strlen(token) == 0 || strlen(token) > 64))
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "UniqueRequestToken must be 1 to 64 characters.");
	if (token != NULL) {
		struct hit *dup = NULL;

		/* The first one created that is still in the window. */
		for (struct hit *o = strmap_get(&st->hits_by_token, token,
						strlen(token));
		     o != NULL; o = o->token_prev)
			if (now - o->created_ms < SIM_TOKEN_TTL_MS)
				dup = o;
		if (dup != NULL)
			return fail(st, err, 400, "RequestError",
					    "HitAlreadyExists",
					    "The HIT with ID \"%s\" already "
					    "exists. No new HIT was created "
					    "with the UniqueRequestToken "
					    "\"%s\".",
					    dup->id, token);
	}
	if (with_type) {
		if (get_str(st, req, "HITTypeId", true, &type_id, err) != 0)
			return -1;
		for (size_t i = 0; i < st->ntypes; i++)
			if (strcmp(st->types[i]->id, type_id) == 0)
				t = st->types[i];
		if (t == NULL)
			return fail(st, err, 400, "RequestError",
				    "HITTypeDoesNotExist",
				    "HITType %.64s does not exist.", type_id);
		vals = json_deep_copy(t->vals);
	} else {
		if (type_values(st, req, &vals, err) != 0)
			return -1;
		t = hittype_get_or_add(st, vals);
		if (t == NULL) {
			json_decref(vals);
			return fail(st, err, 500, "ServiceFault", NULL,
				    "out of memory");
		}
	}
	h = calloc(1, sizeof(*h));
	if (h == NULL || vals == NULL) {
		free(h);
		json_decref(vals);
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	}
	new_id(st, h->id);
	snprintf(h->type_id, sizeof(h->type_id), "%s", t->id);
	json_object_set_new(vals, "Question", json_string(question));
	if (ann != NULL)
		json_object_set_new(vals, "RequesterAnnotation", json_string(ann));
	h->vals = vals;
	h->created_ms = now;
	h->expiration_ms = now + lifetime * 1000;
	h->max = (int)max;
	h->duration_s = json_integer_value(
		json_object_get(vals, "AssignmentDurationInSeconds"));
	h->autoapprove_s = json_integer_value(
		json_object_get(vals, "AutoApprovalDelayInSeconds"));
	h->token = token != NULL ? strdup(token) : NULL;
	if ((token != NULL && h->token == NULL) || hit_add(st, h) != 0) {
		json_decref(h->vals);
		free(h->token);
		free(h);
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	}
	if (crowd_plan(st, h, err) != 0)
		return -1;
	*resp = json_object();
	json_object_set_new(*resp, "HIT", hit_json(st, h, now));
	return 0;
}

static int
get_hit_arg(struct sim_store *st, json_t *req, struct hit **out,
	    struct sim_err *err)
{
	const char *id;

	if (get_str(st, req, "HITId", true, &id, err) != 0)
		return -1;
	*out = find_hit(st, id);
	if (*out == NULL || (*out)->deleted)
		return fail(st, err, 400, "RequestError", "HITDoesNotExist",
			    "Hit %.64s does not exist.", id);
	touch_hit(st, *out);
	return 0;
}

static int
op_get_hit(struct sim_store *st, json_t *req, json_t **resp,
	   struct sim_err *err)
{
	struct hit *h;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	*resp = json_object();
	json_object_set_new(*resp, "HIT", hit_json(st, h, sim_store_now_ms(st)));
	return 0;
}

static int
op_list_hits(struct sim_store *st, json_t *req, json_t **resp,
	     struct sim_err *err)
{
	size_t start, max, i, seen = 0;
	json_t *items;
	int64_t now = sim_store_now_ms(st);
	bool more = false;

	if (page_args(st, req, &start, &max, err) != 0)
		return -1;
	items = json_array();
	for (i = 0; i < st->nhits; i++) {
		if (st->hits[i]->deleted)
			continue;
		if (seen++ < start)
			continue;
		if (json_array_size(items) == max) {
			more = true;
			break;
		}
		json_array_append_new(items, hit_json(st, st->hits[i], now));
	}
	*resp = json_object();
	page_finish(*resp, "HITs", items, start + max, more);
	return 0;
}

static int
op_list_assignments(struct sim_store *st, json_t *req, json_t **resp,
		    struct sim_err *err)
{
	struct hit *h;
	json_t *statuses = json_object_get(req, "AssignmentStatuses"), *items;
	size_t start, max, i, seen = 0;
	int64_t now = sim_store_now_ms(st);
	bool more = false;

	if (get_hit_arg(st, req, &h, err) != 0 ||
	    page_args(st, req, &start, &max, err) != 0)
		return -1;
	if (statuses != NULL && !json_is_array(statuses))
		return fail(st, err, 400, "SerializationException", NULL,
			    "AssignmentStatuses: expected a list");
	items = json_array();
	for (i = 0; i < h->nasgs; i++) {
		struct asg *a = h->asgs[i];
		enum asg_state s;
		bool wanted = statuses == NULL || json_array_size(statuses) == 0;
		size_t k;
		json_t *v;

		s = asg_settle(st, a, h, now);
		if (!asg_listed(s))
			continue;
		json_array_foreach(statuses, k, v) {
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), asg_state_str(s)) == 0)
				wanted = true;
		}
		if (!wanted || seen++ < start)
			continue;
		if (json_array_size(items) == max) {
			more = true;
			break;
		}
		json_array_append_new(items, asg_json(st, a, h, now));
	}
	*resp = json_object();
	page_finish(*resp, "Assignments", items, start + max, more);
	return 0;
}

static int
get_asg_arg(struct sim_store *st, json_t *req, struct asg **a, struct hit **h,
	    enum asg_state *s, struct sim_err *err)
{
	const char *id;

	if (get_str(st, req, "AssignmentId", true, &id, err) != 0)
		return -1;
	*a = find_asg(st, id);
	*h = *a != NULL ? find_hit(st, (*a)->hit_id) : NULL;
	if (*a != NULL && *h != NULL)
		*s = asg_settle(st, *a, *h, sim_store_now_ms(st));
	if (*a == NULL || *h == NULL || !asg_listed(*s))
		return fail(st, err, 400, "RequestError", "AssignmentDoesNotExist",
			    "Assignment %.64s does not exist.", id);
	touch_asg(st, *a);
	return 0;
}

static int
op_get_assignment(struct sim_store *st, json_t *req, json_t **resp,
		  struct sim_err *err)
{
	struct asg *a;
	struct hit *h;
	enum asg_state s;
	int64_t now = sim_store_now_ms(st);

	if (get_asg_arg(st, req, &a, &h, &s, err) != 0)
		return -1;
	*resp = json_object();
	json_object_set_new(*resp, "Assignment", asg_json(st, a, h, now));
	json_object_set_new(*resp, "HIT", hit_json(st, h, now));
	return 0;
}

static int
op_review(struct sim_store *st, json_t *req, bool approve, json_t **resp,
	  struct sim_err *err)
{
	struct asg *a;
	struct hit *h;
	enum asg_state s;
	const char *fb;
	bool override = json_is_true(json_object_get(req, "OverrideRejection"));

	if (get_asg_arg(st, req, &a, &h, &s, err) != 0 ||
	    get_str(st, req, "RequesterFeedback", !approve, &fb, err) != 0)
		return -1;
	if (fb != NULL && strlen(fb) > 1024)
		return fail(st, err, 400, "RequestError", "ParameterValidationError",
			    "RequesterFeedback is longer than 1024 characters.");
	if (!(s == ASG_SUBMITTED || (approve && override && s == ASG_REJECTED)))
		return fail(st, err, 400, "RequestError", "InvalidAssignmentState",
			    "This operation can be called with a status of: "
			    "Submitted");
	a->state = approve ? ASG_APPROVED : ASG_REJECTED;
	if (approve)
		a->approval_ms = sim_store_now_ms(st);
	else
		a->rejection_ms = sim_store_now_ms(st);
	free(a->feedback);
	a->feedback = fb != NULL ? strdup(fb) : NULL;
	*resp = json_object();
	return 0;
}

static int
op_update_expiration(struct sim_store *st, json_t *req, json_t **resp,
		     struct sim_err *err)
{
	struct hit *h;
	json_t *at = json_object_get(req, "ExpireAt");
	int64_t now = sim_store_now_ms(st), ms;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	if (at == NULL || !json_is_number(at))
		return fail_missing(st, err, "ExpireAt");
	ms = (int64_t)(json_number_value(at) * 1000.0);
	/*
	 * MTurk treats (HITId, ExpireAt) as an idempotency token: the same
	 * request again is refused (facts 1.4, Dallinger#3109).
	 */
	if (h->expire_requested && h->expire_at == ms / 1000)
		return fail(st, err, 400, "RequestError", NULL,
			    "The idempotency token \"%s%lld\" has already "
			    "been processed.",
			    h->id, (long long)(ms / 1000));
	h->expire_requested = true;
	h->expire_at = ms / 1000;
	/* A time in the past expires the HIT now. */
	h->expiration_ms = ms < now ? now : ms;
	/* Extended, it is open again: its review starts afresh. */
	if (ms > now)
		h->reviewing = false;
	*resp = json_object();
	return 0;
}

static int
op_list_reviewable_hits(struct sim_store *st, json_t *req, json_t **resp,
			struct sim_err *err)
{
	const char *type = NULL, *status = NULL;
	size_t start, max, i, seen = 0;
	int64_t now = sim_store_now_ms(st);
	json_t *items;
	bool more = false;

	if (get_str(st, req, "HITTypeId", false, &type, err) != 0 ||
	    get_str(st, req, "Status", false, &status, err) != 0 ||
	    page_args(st, req, &start, &max, err) != 0)
		return -1;
	/* The model's ReviewableHITStatus enum; Reviewable by default. */
	if (status == NULL)
		status = "Reviewable";
	if (strcmp(status, "Reviewable") != 0 &&
	    strcmp(status, "Reviewing") != 0)
		return fail(st, err, 400, "ValidationException", NULL,
			    "1 validation error detected: Value '%.64s' at "
			    "'status' failed to satisfy constraint: Member "
			    "must satisfy enum value set: [Reviewable, "
			    "Reviewing]",
			    status);
	hits_tally(st, now);
	items = json_array();
	for (i = 0; i < st->nhits; i++) {
		struct hit *h = st->hits[i];

		if (h->deleted || (type != NULL && strcmp(h->type_id, type) != 0))
			continue;
		if (strcmp(hit_status(h, &h->tally, now), status) != 0)
			continue;
		if (seen++ < start)
			continue;
		if (json_array_size(items) == max) {
			more = true;
			break;
		}
		json_array_append_new(items, hit_json(st, h, now));
	}
	*resp = json_object();
	page_finish(*resp, "HITs", items, start + max, more);
	return 0;
}

/*
 * Revert false moves a Reviewable HIT to Reviewing, true a Reviewing one
 * back.  Any other status is refused with the InvalidHITState shape the
 * service gives DeleteHIT (boto3#2107); so is a repeat, since no answer
 * of the real service to one is on record and a client must not rely on
 * a silent success (the daemon reads the HIT back, as after a double
 * approve).
 */
static int
op_update_hit_review_status(struct sim_store *st, json_t *req, json_t **resp,
			    struct sim_err *err)
{
	json_t *rv = json_object_get(req, "Revert");
	int64_t now = sim_store_now_ms(st);
	struct hit_counts c;
	const char *status, *from;
	struct hit *h;
	bool revert;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	if (rv != NULL && !json_is_null(rv) && !json_is_boolean(rv))
		return fail(st, err, 400, "SerializationException", NULL,
			    "Revert: expected a boolean");
	revert = json_is_true(rv);
	from = revert ? "Reviewing" : "Reviewable";
	c = hit_counts(st, h, now);
	status = hit_status(h, &c, now);
	if (strcmp(status, from) != 0)
		return fail(st, err, 400, "RequestError", "InvalidHITState",
			    "This HIT is currently in the state '%s'.  This "
			    "operation can be called with a status of: %s",
			    status, from);
	h->reviewing = !revert;
	*resp = json_object();
	return 0;
}

static int
op_delete_hit(struct sim_store *st, json_t *req, json_t **resp,
	      struct sim_err *err)
{
	struct hit *h;
	int64_t now = sim_store_now_ms(st);
	struct hit_counts c;
	const char *status;

	if (get_hit_arg(st, req, &h, err) != 0)
		return -1;
	c = hit_counts(st, h, now);
	status = hit_status(h, &c, now);
	if (strcmp(status, "Reviewable") != 0 &&
	    strcmp(status, "Reviewing") != 0)
		return fail(st, err, 400, "RequestError", "InvalidHITState",
			    "This HIT is currently in the state '%s'.  This "
			    "operation can be called with a status of: "
			    "Reviewing, Reviewable",
			    status);
	for (size_t i = 0; i < h->nasgs; i++)
		if (asg_settle(st, h->asgs[i], h, now) == ASG_SUBMITTED)
			return fail(st, err, 400, "RequestError",
				    "InvalidHITState",
				    "This HIT has assignments that are not "
				    "approved or rejected.");
	h->deleted = true;
	*resp = json_object();
	return 0;
}

/* ---- persistence (optional) ------------------------------------------- */

/*
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
 *     with touch_*(): get_hit_arg() and get_asg_arg() touch the HIT or
 *     assignment a request names (touches of a read-only or refused
 *     request are dropped), and the few other writers touch theirs.  A
 *     new operation that changes a record it reached another way must
 *     touch it; test_state_dir_matches_memory compares a reopened store
 *     with the live one;
 *   - the id stream's position and the crowd's size.
 * A save that fails leaves all of it pending: the request is answered
 * with a ServiceFault (the change has happened in memory, so a retry sees
 * it; a CreateHIT retried with its token finds the HIT), and every later
 * request tries again, so nothing is answered that is not on disk.
 *
 * The automatic approval of an assignment (asg_settle) is not saved: it
 * is derived again from the submit time after a restart.
 *
 * An older simulator kept the whole state in DIR/sim.json, rewritten at
 * every change, and S3 objects in DIR/objects/; such a directory is read
 * by load_state(), written to sim.db in one transaction, and sim.json is
 * renamed sim.json.migrated (objects/ may be deleted afterwards).
 */
#define SIM_STATE_VERSION 1
#define SIM_STATE_MAX (256 * 1024 * 1024)

static bool
read_only_op(const char *op)
{
	return strncmp(op, "Get", 3) == 0 || strncmp(op, "List", 4) == 0;
}

/* Marks a record changed in place; without memory, the next save is whole. */
static void
touch_hit(struct sim_store *st, struct hit *h)
{
	if (st->db != NULL &&
	    vec_push(&st->touched_hits, &st->ntouched_hits, h) != 0)
		st->save_all = true;
}

static void
touch_asg(struct sim_store *st, struct asg *a)
{
	if (st->db != NULL &&
	    vec_push(&st->touched_asgs, &st->ntouched_asgs, a) != 0)
		st->save_all = true;
}

static void
touch_object(struct sim_store *st, struct object *o)
{
	if (st->db != NULL &&
	    vec_push(&st->touched_objects, &st->ntouched_objects, o) != 0)
		st->save_all = true;
}

/* Grants are touched by their place in st->grants. */
static void
touch_grant(struct sim_store *st, size_t i)
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
hit_row(const struct hit *h)
{
	json_t *j = json_pack("{s:s, s:s, s:O, s:I, s:I, s:I, s:I, s:i, s:b}",
			      "id", h->id, "type", h->type_id, "values",
			      h->vals, "created", (json_int_t)h->created_ms,
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
asg_row(const struct asg *x)
{
	json_t *boxes = json_array();
	json_t *j;

	for (size_t k = 0; k < x->nboxes; k++)
		json_array_append_new(boxes,
				      json_pack("[i,i,i,i]", x->boxes[k].x,
						x->boxes[k].y, x->boxes[k].w,
						x->boxes[k].h));
	j = json_pack("{s:s, s:s, s:s, s:i, s:b, s:I, s:I, s:I, s:I, s:o}",
		      "id", x->id, "hit", x->hit_id, "worker", x->worker_id,
		      "state", (int)x->state, "simulated", x->simulated,
		      "accept", (json_int_t)x->accept_ms, "submit",
		      (json_int_t)x->submit_ms, "approval",
		      (json_int_t)x->approval_ms, "rejection",
		      (json_int_t)x->rejection_ms, "boxes", boxes);
	if (j != NULL && x->answer != NULL)
		json_object_set_new(j, "answer", json_string(x->answer));
	if (j != NULL && x->feedback != NULL)
		json_object_set_new(j, "feedback", json_string(x->feedback));
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
		json_array_append_new(a, hit_row(st->hits[i]));
	json_object_set_new(o, "hits", a);
	a = json_array();
	for (size_t i = 0; i < st->nasgs; i++)
		json_array_append_new(a, asg_row(st->asgs[i]));
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
		return err_set(eb, IF_ERUNTIME, "%s: saving %s %s: out of memory",
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

/*
 * Saves what changed since the last save, in one transaction (see the
 * note above).  Called with the lock held; a no-op without a directory.
 */
static int
save_changes(struct sim_store *st, struct errbuf *eb)
{
	size_t from;
	char text[64];
	int rc = IF_OK;

	if (st->db == NULL || !changes_pending(st))
		return IF_OK;
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
			rc = put_grant(st, st->grants[st->touched_grants[i]], eb);
	from = st->save_all ? 0 : st->saved_types;
	for (size_t i = from; rc == IF_OK && i < st->ntypes; i++)
		rc = put_row(st, "hit_types", st->types[i]->id,
			     hittype_row(st->types[i]), NULL, eb);
	from = st->save_all ? 0 : st->saved_hits;
	for (size_t i = from; rc == IF_OK && i < st->nhits; i++)
		rc = put_row(st, "hits", st->hits[i]->id, hit_row(st->hits[i]),
			     NULL, eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_hits; i++)
		rc = put_row(st, "hits", st->touched_hits[i]->id,
			     hit_row(st->touched_hits[i]), NULL, eb);
	from = st->save_all ? 0 : st->saved_asgs;
	for (size_t i = from; rc == IF_OK && i < st->nasgs; i++)
		rc = put_row(st, "assignments", st->asgs[i]->id,
			     asg_row(st->asgs[i]), NULL, eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_asgs; i++)
		rc = put_row(st, "assignments", st->touched_asgs[i]->id,
			     asg_row(st->touched_asgs[i]), NULL, eb);
	from = st->save_all ? 0 : st->saved_objects;
	for (size_t i = from; rc == IF_OK && i < st->nobjects; i++)
		rc = put_row(st, "objects", st->objects[i]->path,
			     object_row(st->objects[i]), st->objects[i], eb);
	for (size_t i = 0; rc == IF_OK && i < st->ntouched_objects; i++)
		rc = put_row(st, "objects", st->touched_objects[i]->path,
			     object_row(st->touched_objects[i]),
			     st->touched_objects[i], eb);
	if (rc == IF_OK && (st->save_all || st->ids.s != st->saved_ids)) {
		snprintf(text, sizeof(text), "%llu", (unsigned long long)st->ids.s);
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

	EVP_Digest(path, strlen(path), md, &mdlen, EVP_sha256(), NULL);
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

/*
 * Adds a new object to the store and its index; data is copied.  -1 when
 * memory runs out, and then nothing changed.
 */
static int
object_add(struct sim_store *st, const char *path, const char *content_type,
	   const void *data, size_t len)
{
	struct object *ob = calloc(1, sizeof(*ob));

	if (ob == NULL || (ob->path = strdup(path)) == NULL ||
	    (ob->data = malloc(len + 1)) == NULL ||
	    strmap_reserve(&st->objects_by_path) != 0 ||
	    vec_push(&st->objects, &st->nobjects, ob) != 0) {
		if (ob != NULL) {
			free(ob->path);
			free(ob->data);
		}
		free(ob);
		return -1;
	}
	strmap_put(&st->objects_by_path, ob->path, strlen(ob->path), ob);
	if (len > 0)
		memcpy(ob->data, data, len);
	ob->len = len;
	snprintf(ob->content_type, sizeof(ob->content_type), "%s",
		 content_type);
	return 0;
}

/*
 * Reads a state in the sim.json shape into the empty store.  Objects
 * listed in it are read from DIR/objects/ (the old layout); sim.db gives
 * its objects to load_record() instead.
 */
static int
load_doc(struct sim_store *st, json_t *o, const char *file, struct errbuf *eb)
{
	json_t *v;
	size_t i;

	if (jint(o, "version") != SIM_STATE_VERSION)
		return err_set(eb, IF_EINPUT,
			       "%s: state version %lld is not %d; move the "
			       "directory away to start afresh",
			       file, (long long)jint(o, "version"),
			       SIM_STATE_VERSION);
	st->ids.s = strtoull(jstr(o, "ids"), NULL, 10);
	json_array_foreach(json_object_get(o, "qualification_types"), i, v) {
		struct qtype *q = calloc(1, sizeof(*q));
		if (q == NULL || vec_push(&st->qtypes, &st->nqtypes, q) != 0) {
			free(q);
			goto nomem;
		}
		snprintf(q->id, sizeof(q->id), "%s",
			 jstr(v, "QualificationTypeId"));
		q->obj = json_incref(v);
	}
	json_array_foreach(json_object_get(o, "grants"), i, v) {
		struct grant *g = calloc(1, sizeof(*g));
		if (g == NULL)
			goto nomem;
		snprintf(g->qual_id, sizeof(g->qual_id), "%s", jstr(v, "qual"));
		snprintf(g->worker_id, sizeof(g->worker_id), "%s",
			 jstr(v, "worker"));
		g->value = (int)jint(v, "value");
		if (grant_add(st, g) != 0) {
			free(g);
			goto nomem;
		}
	}
	json_array_foreach(json_object_get(o, "hit_types"), i, v) {
		struct hittype *t = calloc(1, sizeof(*t));
		json_t *vals = json_object_get(v, "values");
		if (t == NULL || !json_is_object(vals) ||
		    (t->key = json_dumps(vals, JSON_SORT_KEYS | JSON_COMPACT)) ==
			    NULL ||
		    vec_push(&st->types, &st->ntypes, t) != 0) {
			if (t != NULL)
				free(t->key);
			free(t);
			goto bad;
		}
		snprintf(t->id, sizeof(t->id), "%s", jstr(v, "id"));
		t->vals = json_incref(vals);
	}
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
		if (hit_add(st, h) != 0) {
			json_decref(h->vals);
			free(h->token);
			free(h);
			goto nomem;
		}
	}
	json_array_foreach(json_object_get(o, "assignments"), i, v) {
		struct asg *a = calloc(1, sizeof(*a));
		json_t *boxes = json_object_get(v, "boxes"), *b;
		size_t k;

		if (a == NULL)
			goto nomem;
		snprintf(a->id, sizeof(a->id), "%s", jstr(v, "id"));
		snprintf(a->hit_id, sizeof(a->hit_id), "%s", jstr(v, "hit"));
		if (asg_add(st, find_hit(st, a->hit_id), a) != 0) {
			free(a);
			goto nomem;
		}
		snprintf(a->worker_id, sizeof(a->worker_id), "%s",
			 jstr(v, "worker"));
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
		a->boxes = calloc(json_array_size(boxes) + 1, sizeof(*a->boxes));
		if (a->boxes == NULL)
			goto nomem;
		json_array_foreach(boxes, k, b) {
			a->boxes[k].x = (int)json_integer_value(json_array_get(b, 0));
			a->boxes[k].y = (int)json_integer_value(json_array_get(b, 1));
			a->boxes[k].w = (int)json_integer_value(json_array_get(b, 2));
			a->boxes[k].h = (int)json_integer_value(json_array_get(b, 3));
		}
		a->nboxes = json_array_size(boxes);
	}
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
		if (rc == IF_OK && object_add(st, jstr(v, "path"),
					      jstr(v, "content_type"), data.data,
					      data.len) != 0)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", file);
		buf_cleanup(&data);
		if (rc != IF_OK)
			return rc;
	}
	return IF_OK;
bad:
	return err_set(eb, IF_EINPUT, "%s: malformed simulator state", file);
nomem:
	return err_set(eb, IF_ERUNTIME, "%s: out of memory", file);
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
	json_t *v = json_loads(body, JSON_REJECT_DUPLICATES, &je), *arr;
	int rc = IF_OK;

	if (!json_is_object(v)) {
		json_decref(v);
		return err_set(eb, IF_EINPUT, "%s: record %s %s: malformed",
			       sim_db_path(st->db), kind, key);
	}
	if (strcmp(kind, "meta") == 0) {
		if (strcmp(key, "ids") == 0)
			json_object_set(ctx->doc, "ids", json_object_get(v, "ids"));
		else if (strcmp(key, "crowd") == 0 && jint(v, "workers") > 0 &&
			 jint(v, "workers") <= SIM_CROWD_MAX)
			st->crowd_size = (size_t)jint(v, "workers");
	} else if (strcmp(kind, "objects") == 0) {
		if (object_add(st, jstr(v, "path"), jstr(v, "content_type"),
			       data != NULL ? data : "",
			       data != NULL ? len : 0) != 0)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     sim_db_path(st->db));
	} else if ((arr = json_object_get(ctx->doc, kind)) != NULL) {
		if (json_array_append(arr, v) != 0)
			rc = err_set(eb, IF_ERUNTIME, "%s: out of memory",
				     sim_db_path(st->db));
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
	if ((rc = mkdir_p(dir, 0700, eb)) != IF_OK ||
	    (rc = sim_db_open(dir, &st->db, &empty, eb)) != IF_OK)
		goto out;
	old = stat(file, &sb) == 0;
	if (!empty) {
		rc = load_db(st, eb);
	} else if (old) {
		/* An older simulator's directory: move it into sim.db. */
		rc = load_state(st, file, eb);
		st->save_all = true;
		if (rc == IF_OK && (rc = save_changes(st, eb)) == IF_OK)
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

int
sim_store_call(struct sim_store *st, const char *op, json_t *req,
	       json_t **resp, struct sim_err *err)
{
	size_t touched_hits, touched_asgs;
	struct errbuf eb;
	int rc;

	*resp = NULL;
	memset(err, 0, sizeof(*err));
	if (!json_is_object(req))
		return fail(st, err, 400, "SerializationException", NULL,
			    "The request body must be a JSON object.");
	pthread_mutex_lock(&st->mu);
	touched_hits = st->ntouched_hits;
	touched_asgs = st->ntouched_asgs;
	if (strcmp(op, "CreateQualificationType") == 0)
		rc = op_create_qualification_type(st, req, resp, err);
	else if (strcmp(op, "ListQualificationTypes") == 0)
		rc = op_list_qualification_types(st, req, resp, err);
	else if (strcmp(op, "AssociateQualificationWithWorker") == 0)
		rc = op_associate_qualification(st, req, resp, err);
	else if (strcmp(op, "CreateHITType") == 0)
		rc = op_create_hit_type(st, req, resp, err);
	else if (strcmp(op, "CreateHIT") == 0)
		rc = op_create_hit(st, req, false, resp, err);
	else if (strcmp(op, "CreateHITWithHITType") == 0)
		rc = op_create_hit(st, req, true, resp, err);
	else if (strcmp(op, "GetHIT") == 0)
		rc = op_get_hit(st, req, resp, err);
	else if (strcmp(op, "ListHITs") == 0)
		rc = op_list_hits(st, req, resp, err);
	else if (strcmp(op, "ListAssignmentsForHIT") == 0)
		rc = op_list_assignments(st, req, resp, err);
	else if (strcmp(op, "GetAssignment") == 0)
		rc = op_get_assignment(st, req, resp, err);
	else if (strcmp(op, "ApproveAssignment") == 0)
		rc = op_review(st, req, true, resp, err);
	else if (strcmp(op, "RejectAssignment") == 0)
		rc = op_review(st, req, false, resp, err);
	else if (strcmp(op, "UpdateExpirationForHIT") == 0)
		rc = op_update_expiration(st, req, resp, err);
	else if (strcmp(op, "DeleteHIT") == 0)
		rc = op_delete_hit(st, req, resp, err);
	else if (strcmp(op, "ListReviewableHITs") == 0)
		rc = op_list_reviewable_hits(st, req, resp, err);
	else if (strcmp(op, "UpdateHITReviewStatus") == 0)
		rc = op_update_hit_review_status(st, req, resp, err);
	else if (strcmp(op, "GetAccountBalance") == 0) {
		*resp = json_pack("{s:s, s:s}", "AvailableBalance", "10000.00",
				  "OnHoldBalance", "0.00");
		rc = 0;
	} else
		rc = fail(st, err, 400, "UnknownOperationException", NULL,
			  "The simulator does not implement %.64s.", op);
	/* A read-only or refused request changed nothing it touched. */
	if (rc != 0 || read_only_op(op)) {
		st->ntouched_hits = touched_hits;
		st->ntouched_asgs = touched_asgs;
	}
	/* Nothing is answered that is not on disk (see "persistence"). */
	err_init(&eb);
	if (save_changes(st, &eb) != IF_OK) {
		log_warnx("simulator: %s: %s", op, eb.msg);
		json_decref(*resp);
		*resp = NULL;
		rc = fail(st, err, 500, "ServiceFault", NULL,
			  "The simulator could not save its state; try again.");
	}
	pthread_mutex_unlock(&st->mu);
	if (rc == 0 && *resp == NULL)
		return fail(st, err, 500, "ServiceFault", NULL, "out of memory");
	return rc;
}

/* ---- S3 objects --------------------------------------------------------- */

int
sim_store_put_object(struct sim_store *st, const char *path, const void *data,
		     size_t len, const char *content_type)
{
	struct object *o = NULL;
	char *copy = malloc(len + 1);
	struct errbuf eb;
	int rc = 0;

	if (copy == NULL)
		return -1;
	if (len > 0)
		memcpy(copy, data, len);
	pthread_mutex_lock(&st->mu);
	o = find_object(st, path, strlen(path));
	if (o == NULL) {
		if (object_add(st, path, "", NULL, 0) != 0) {
			pthread_mutex_unlock(&st->mu);
			free(copy);
			return -1;
		}
		o = st->objects[st->nobjects - 1];
	} else {
		touch_object(st, o);
	}
	free(o->data);
	o->data = copy;
	o->len = len;
	snprintf(o->content_type, sizeof(o->content_type), "%s",
		 content_type != NULL ? content_type : "application/octet-stream");
	err_init(&eb);
	if (save_changes(st, &eb) != IF_OK) {
		log_warnx("simulator: saving %s: %s", path, eb.msg);
		rc = -1;
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int
sim_store_get_object(struct sim_store *st, const char *path, char **data,
		     size_t *len, char *content_type, size_t ctlen)
{
	int rc = -1;

	*data = NULL;
	*len = 0;
	pthread_mutex_lock(&st->mu);
	for (struct object *o = find_object(st, path, strlen(path)); o != NULL;
	     o = NULL) {
		*data = malloc(o->len + 1);
		if (*data != NULL) {
			if (o->len > 0)
				memcpy(*data, o->data, o->len);
			*len = o->len;
			snprintf(content_type, ctlen, "%s", o->content_type);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&st->mu);
	return rc;
}

/* ---- lab mode ----------------------------------------------------------- */

/* Saves a participant's change before the page says it is done. */
static int
lab_save(struct sim_store *st, char *why, size_t whylen)
{
	struct errbuf eb;

	err_init(&eb);
	if (save_changes(st, &eb) == IF_OK)
		return 0;
	log_warnx("simulator: lab: %s", eb.msg);
	snprintf(why, whylen, "The simulator could not save this; please try "
			      "again.");
	return -1;
}

int
sim_store_lab_list(struct sim_store *st, struct sim_lab_hit **out, size_t *n)
{
	int64_t now;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	*out = calloc(st->nhits + 1, sizeof(**out));
	if (*out == NULL) {
		pthread_mutex_unlock(&st->mu);
		return -1;
	}
	for (size_t i = 0; i < st->nhits; i++) {
		struct hit *h = st->hits[i];
		struct hit_counts c;
		struct sim_lab_hit *l;
		const char *s;

		if (h->deleted || now >= h->expiration_ms)
			continue;
		c = hit_counts(st, h, now);
		l = &(*out)[(*n)++];
		snprintf(l->hit_id, sizeof(l->hit_id), "%s", h->id);
		s = json_string_value(json_object_get(h->vals, "Title"));
		snprintf(l->title, sizeof(l->title), "%s", s != NULL ? s : "");
		s = json_string_value(json_object_get(h->vals, "RequesterAnnotation"));
		snprintf(l->annotation, sizeof(l->annotation), "%s",
			 s != NULL ? s : "");
		s = json_string_value(json_object_get(h->vals, "Reward"));
		snprintf(l->reward, sizeof(l->reward), "%s", s != NULL ? s : "");
		l->available = c.available;
		l->max = h->max;
		l->expiration_ms = h->expiration_ms;
	}
	pthread_mutex_unlock(&st->mu);
	return 0;
}

int
sim_store_lab_question(struct sim_store *st, const char *hit_id,
		       char **question)
{
	struct hit *h;
	const char *q;

	*question = NULL;
	pthread_mutex_lock(&st->mu);
	h = find_hit(st, hit_id);
	q = h != NULL && !h->deleted
		    ? json_string_value(json_object_get(h->vals, "Question"))
		    : NULL;
	if (q != NULL)
		*question = strdup(q);
	pthread_mutex_unlock(&st->mu);
	return *question != NULL ? 0 : -1;
}

int
sim_store_lab_accept(struct sim_store *st, const char *hit_id,
		     const char *worker_id, char assignment_id[SIM_ID_LEN + 1],
		     char *why, size_t whylen)
{
	struct hit *h;
	struct hit_counts c;
	struct asg *a;
	int64_t now;
	int rc = -1;

	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	h = find_hit(st, hit_id);
	if (h == NULL || h->deleted) {
		snprintf(why, whylen, "This HIT does not exist.");
		goto out;
	}
	/* One assignment per worker per HIT, as on MTurk. */
	for (size_t i = 0; i < h->nasgs; i++) {
		a = h->asgs[i];
		if (strcmp(a->worker_id, worker_id) != 0)
			continue;
		enum asg_state s = asg_settle(st, a, h, now);
		if (s == ASG_ACCEPTED) {
			snprintf(assignment_id, SIM_ID_LEN + 1, "%s", a->id);
			rc = 0;
			goto out;
		}
		if (s != ASG_ABANDONED) {
			snprintf(why, whylen,
				 "You have already worked on this HIT.");
			goto out;
		}
	}
	if (now >= h->expiration_ms) {
		snprintf(why, whylen, "This HIT has expired.");
		goto out;
	}
	if (!worker_eligible(st, json_object_get(h->vals,
						 "QualificationRequirements"),
			     worker_id)) {
		snprintf(why, whylen, "You do not meet the qualification "
				      "requirements of this HIT.");
		goto out;
	}
	c = hit_counts(st, h, now);
	if (c.available <= 0) {
		snprintf(why, whylen, "There are no more assignments available "
				      "for this HIT.");
		goto out;
	}
	a = calloc(1, sizeof(*a));
	if (a != NULL) {
		new_id(st, a->id);
		snprintf(a->hit_id, sizeof(a->hit_id), "%s", h->id);
		snprintf(a->worker_id, sizeof(a->worker_id), "%s", worker_id);
		a->state = ASG_ACCEPTED;
		a->accept_ms = now;
	}
	if (a == NULL || asg_add(st, h, a) != 0) {
		free(a);
		snprintf(why, whylen, "Out of memory.");
		goto out;
	}
	snprintf(assignment_id, SIM_ID_LEN + 1, "%s", a->id);
	rc = 0;
out:
	if (lab_save(st, why, whylen) != 0)
		rc = -1;
	pthread_mutex_unlock(&st->mu);
	return rc;
}

int
sim_store_lab_submit(struct sim_store *st, const char *assignment_id,
		     char *answer_xml, const char *boxes_json, char *worker_id,
		     size_t worker_len, char *why, size_t whylen)
{
	struct asg *a;
	struct hit *h = NULL;
	int rc = -1;
	int64_t now;

	worker_id[0] = '\0';
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	a = find_asg(st, assignment_id);
	if (a != NULL)
		h = find_hit(st, a->hit_id);
	if (a == NULL || h == NULL || a->simulated) {
		snprintf(why, whylen, "Unknown assignment.");
		goto out;
	}
	switch (asg_settle(st, a, h, now)) {
	case ASG_ACCEPTED:
		break;
	case ASG_ABANDONED:
		snprintf(why, whylen, "The time allotted for this assignment "
				      "has expired.");
		goto out;
	default:
		snprintf(why, whylen, "This assignment was already submitted.");
		goto out;
	}
	a->state = ASG_SUBMITTED;
	a->submit_ms = now;
	snprintf(worker_id, worker_len, "%s", a->worker_id);
	a->answer = answer_xml;
	answer_xml = NULL;
	sim_boxes_parse(boxes_json, &a->boxes, &a->nboxes);
	touch_asg(st, a);
	rc = 0;
out:
	if (lab_save(st, why, whylen) != 0)
		rc = -1;
	pthread_mutex_unlock(&st->mu);
	free(answer_xml);
	return rc;
}
