/*
 * sim/sim_private.h - private to the simulator, sim/ (sim_*.c).
 *
 * The simulator's parts, each calling only those listed after it:
 *   sim_server.c     the HTTP front (libmicrohttpd): verifies signatures,
 *                    injects faults, routes to the API, S3 and lab pages;
 *   sim_people.c     the participants' pages of "intofocus serve"
 *                    (sessions, entry links, tasks for their holder);
 *   sim_lab.c        the lab-mode pages (and the answer form's parser);
 *   sim_store_lab.c  the store's side of lab mode;
 *   sim_ops.c        the MTurk operations (one table) and the S3 requests;
 *   sim_plan.c       the simulated workers of a new HIT, the answer XML;
 *   sim_persist.c    the store kept in DIR/sim.db, and the migration of
 *                    an older DIR/sim.json;
 *   sim_store.c      the data model: records, indexes, states;
 *   sim_crowd.c      what simulated workers answer (pure);
 *   sim_db.c         the SQLite file: the records, and the HIT and
 *                    assignment indexes the store queries (in memory
 *                    when there is no state directory: one code path).
 * SQLite is the only truth for the records (HITs, assignments, grants,
 * objects): a request works on a working set of them that sim_find_*()
 * load on demand (a HIT with all its assignments), saves what it changed
 * before it answers, and the working set is dropped at an unlock once it
 * is larger than SIM_RESIDENT_MAX, so the store's memory does not grow
 * with the study.  What would walk every record (ListHITs,
 * ListReviewableHITs, the push, the lab list, a participant's next
 * task) and what linked records in memory (the HITs of an image or of a
 * token, a worker's assignments) read ids from sim_db's indexes.
 * The store is the only shared mutable object; every sim_store_* function
 * takes its lock and releases it through sim_store_unlock(), so the
 * server may run one thread per connection.  The other functions of the
 * store's files (sim_find_hit, sim_touch_asg, ...) expect the lock held,
 * and no pointer to a record outlives it.
 */
#ifndef INTOFOCUS_SIM_PRIVATE_H
#define INTOFOCUS_SIM_PRIVATE_H

#include "common/common.h"
#include "sim/sim.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* The most records resident at an unlock (sim_store_trim()). */
#define SIM_RESIDENT_MAX 2048

/*
 * The most HITs of one annotation key (one image) a new HIT's plan reads:
 * a study's stages (EXP_STAGES_MAX) and their reposts are far fewer, and
 * a client that gives thousands of HITs one annotation does not make each
 * CreateHIT read them all.
 */
#define SIM_ANN_HITS_MAX 64

/* Size of MTurk HIT and assignment ids ([A-Z0-9]{30}). */
#define SIM_ID_LEN 30
#define SIM_WORKER_ID_LEN 14

/* ---- sim_crowd.c: deterministic randomness ------------------------------ */

/* A splitmix64 stream: tiny, seedable, and good enough for a crowd. */
struct sim_rng {
	uint64_t s;
};

uint64_t sim_hash(uint64_t h, const void *data, size_t len);
uint64_t sim_hash_str(uint64_t h, const char *s);
void sim_rng_init(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, 1). */
double sim_rng_unit(struct sim_rng *r);
/* Uniform integer in [lo, hi]. */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* Fills out with n characters of [A-Z0-9] and a NUL. */
void sim_rng_id(struct sim_rng *r, char *out, size_t n);

/* The id of worker number i of the crowd: "A" + 13 of [A-Z0-9]. */
void sim_worker_id(uint64_t seed, size_t i, char out[SIM_WORKER_ID_LEN + 1]);

/* The most workers the simulated crowd ever grows to. */
#define SIM_CROWD_MAX 10000

/*
 * Picks up to want distinct workers for a HIT (key: its annotation, or its
 * id), in a seeded order, who pass eligible(ctx, worker id); out (room
 * for min(want, SIM_CROWD_MAX)) gets their numbers.  *size workers have
 * arrived (at least batch); when too few of them are eligible, batches of
 * `batch` more arrive and *size grows, up to SIM_CROWD_MAX.  Returns how
 * many were picked, or -1 when memory runs out.
 */
int sim_crowd_pick(uint64_t seed, const char *key, int attempt, size_t *size,
		   size_t batch, size_t want,
		   bool (*eligible)(void *ctx, const char *worker_id),
		   void *ctx, size_t *out);

/* ---- sim_crowd.c: the simulated workers --------------------------------- */

/*
 * The detection curve's default is stated once, as SIM_CROWD_MODEL_DEFAULT
 * in sim.h (README: "the simulated crowd").
 */

/* p = 1/(1+exp(-k*(side/window - x0))) for a face of smaller side `side`. */
double sim_crowd_p_find(int side, int window);
/* The same for a model (NULL: the default one). */
double sim_crowd_p_find_model(const struct sim_crowd_model *m, int side,
			      int window);

/* What the crowd knows about one HIT, resolved from its annotation. */
struct sim_crowd_task {
	const struct sim_image *image; /* NULL: not an experiment we know */
	int window;		       /* the stage's median window, or 0 */
	const struct sim_crowd_model *model; /* NULL: the default model */
	int stage;		       /* from 1; 0 unknown */
	/* Boxes already given for this image in earlier stages (redacted). */
	const struct sim_face *covered;
	size_t ncovered;
	/*
	 * The page shows an image hosted here that does not exist: workers
	 * see a broken image, box nothing and say so in their feedback.
	 */
	bool image_missing;
};

/* One simulated worker's answer. */
struct sim_crowd_answer {
	struct sim_face *boxes; /* owned */
	size_t nboxes;
	bool face_found;
	char feedback[64];
};

void sim_crowd_answer_cleanup(struct sim_crowd_answer *a);

/*
 * What worker `worker_id` answers for the task; reproducible from
 * (seed, annotation, attempt, worker id) alone.
 */
int sim_crowd_answer(uint64_t seed, const char *annotation, int attempt,
		     const char *worker_id, const struct sim_crowd_task *task,
		     struct sim_crowd_answer *out, struct errbuf *eb);

/* The answer as the JSON text of the "boxes" form field. */
char *sim_boxes_json(const struct sim_face *boxes, size_t n);
/* Parses a "boxes" field ([[x,y,w,h],...]); bad input gives 0 boxes. */
void sim_boxes_parse(const char *json, struct sim_face **boxes, size_t *n);

/* Fraction of face f covered by the union of boxes (sampled on a grid). */
double sim_coverage(const struct sim_face *f, const struct sim_face *boxes,
		    size_t n);

/* ---- sim_db.c: the durable state (DIR/sim.db, SQLite) ------------------- */

struct sim_db;

/*
 * Opens DIR/sim.db, creating it (0600, WAL, synchronous=FULL) and its
 * schema when absent; *empty says it holds no record yet.  IF_EINPUT for
 * a file it cannot read, IF_ERUNTIME when another simulator holds it.
 */
int sim_db_open(const char *dir, struct sim_db **out, bool *empty,
		struct errbuf *eb);
void sim_db_close(struct sim_db *db);
const char *sim_db_path(const struct sim_db *db);
/* One change is begin, puts, commit; a failed one is rolled back. */
int sim_db_begin(struct sim_db *db, struct errbuf *eb);
int sim_db_commit(struct sim_db *db, struct errbuf *eb);
void sim_db_rollback(struct sim_db *db);
/*
 * Writes record (kind, key): its JSON text and, for S3 objects, its bytes
 * (data NULL: none).  A record written again keeps its place in the order.
 */
int sim_db_put(struct sim_db *db, const char *kind, const char *key,
	       const char *body, const void *data, size_t len,
	       struct errbuf *eb);
/*
 * Reads record (kind, key): its JSON text into *body and, with data
 * non-NULL, its bytes into *data and *len (malloc'ed, NUL-terminated;
 * free both).  IF_ERUNTIME when it is missing or cannot be read.
 */
int sim_db_get(struct sim_db *db, const char *kind, const char *key,
	       char **body, char **data, size_t *len, struct errbuf *eb);
/* The same, a missing record as *found false, not as an error. */
int sim_db_find(struct sim_db *db, const char *kind, const char *key,
		char **body, char **data, size_t *len, bool *found,
		struct errbuf *eb);
typedef int (*sim_db_record_fn)(void *ctx, const char *kind, const char *key,
				const char *body, const void *data, size_t len,
				struct errbuf *eb);
/* Calls fn on every record (of kind only, unless NULL) in the order of
 * their first write. */
int sim_db_foreach(struct sim_db *db, const char *only, sim_db_record_fn fn,
		   void *ctx, struct errbuf *eb);

/* The memory-only store's database (no directory): the same queries. */
int sim_db_open_memory(struct sim_db **out, struct errbuf *eb);

/*
 * SQLite's page cache of a file's connection: a fixed size (sim_db.c),
 * and what it did since the file was opened - pages found in it, pages
 * read from the file (or its WAL), pages written - and the bytes it holds
 * now.  Logged when the file is closed; tests check the bound with it.
 */
struct sim_db_cache {
	uint64_t hits, misses, writes;
	size_t used_bytes, limit_bytes;
};
void sim_db_cache(struct sim_db *db, struct sim_db_cache *out);

/*
 * Indexed queries (schema version 2, and 3 for the annotation key, the
 * token and the assignments of a HIT).  Beside each HIT and assignment
 * record the store writes the columns its listings select on, with the
 * record, in the same transaction (sim_persist.c); the listings read ids
 * from these indexes instead of walking every HIT.  A HIT's clock-derived
 * status is selected through the moment from which it is Reviewable
 * unless a request changes it (sim_hit_index_row() in sim_store.c).
 */
struct sim_db_hit {
	const char *id;
	const char *type_id;
	bool deleted, reviewing;
	int max;
	int64_t expiration_ms, duration_ms;
	/* Assignments done (submitted, approved, rejected) once settled. */
	int done_final;
	/* From then on Reviewable (or Reviewing), until a request changes
	 * the HIT; INT64_MIN: since its creation. */
	int64_t reviewable_from;
	/* Its latest submission or time-out (the push's "became
	 * Reviewable at", with the expiry once past). */
	int64_t reviewable_base;
	/* Its annotation's key (ann_key_len bytes) and its token, or NULL. */
	const char *ann_key;
	size_t ann_key_len;
	const char *token;
};

int sim_db_put_hit(struct sim_db *db, const struct sim_db_hit *h,
		   struct errbuf *eb);
int sim_db_put_asg(struct sim_db *db, const char *id, const char *hit_id,
		   const char *worker_id, bool simulated, int state,
		   int64_t accept_ms, struct errbuf *eb);

enum sim_db_query {
	SIM_DB_LIVE,		/* not deleted (ListHITs) */
	SIM_DB_REVIEWABLE,	/* Reviewable now */
	SIM_DB_REVIEWABLE_TYPE, /* the same, of one HIT type */
	SIM_DB_REVIEWING,	/* Reviewing now */
	SIM_DB_REVIEWING_TYPE,	/* the same, of one HIT type */
	SIM_DB_OPEN,		/* not deleted, not expired (lab list) */
	/* Open, not full once settled, and not held or done by worker */
	SIM_DB_TAKEABLE,
	/* Reviewable, not Reviewing, and became so at or after since */
	SIM_DB_SINCE,
	SIM_DB_QUERIES
};

struct sim_db_hits_args {
	int64_t now_ms;
	int64_t since_ms;      /* SIM_DB_SINCE */
	const char *type_id;   /* the _TYPE queries */
	const char *worker_id; /* SIM_DB_TAKEABLE */
	/*
	 * SIM_DB_LIVE, SIM_DB_OPEN, SIM_DB_TAKEABLE and the Reviewable
	 * and Reviewing lists: seq > it (a page's cursor)
	 */
	int64_t after_seq;
	size_t offset; /* LIVE and the lists: rows skipped (offset token) */
	size_t limit;	       /* out has room for limit */
};

struct sim_db_hit_ref {
	int64_t seq; /* the order of creation */
	char id[SIM_ID_LEN + 1];
};

/* Up to args->limit HITs of query q, in the order of creation. */
int sim_db_hits(struct sim_db *db, enum sim_db_query q,
		const struct sim_db_hits_args *args,
		struct sim_db_hit_ref *out, size_t *n, struct errbuf *eb);
/*
 * What linked the records in memory, as indexed lookups (schema 3): the
 * ids of the HITs of an annotation key (newest first) or of a token
 * (oldest first), of a HIT's assignments (in the order of creation), of
 * a worker's assignments (newest first), or the HIT of an assignment.
 */
enum sim_db_lookup {
	SIM_DB_HITS_BY_ANN,
	SIM_DB_HITS_BY_TOKEN,
	SIM_DB_ASGS_BY_HIT,
	SIM_DB_ASGS_BY_WORKER,
	SIM_DB_HIT_OF_ASG,
	SIM_DB_LOOKUPS
};

/*
 * A growable list of ids (zero it first; sim_db_ids_cleanup() it).  With
 * max set, a lookup stops at max ids: the rows after them are not read.
 */
struct sim_db_ids {
	char (*id)[SIM_ID_LEN + 1];
	size_t n, cap;
	size_t max; /* 0: every id */
};

/* The ids lookup q gives for key[0..klen), replacing out's. */
int sim_db_ids(struct sim_db *db, enum sim_db_lookup q, const char *key,
	       size_t klen, struct sim_db_ids *out, struct errbuf *eb);
void sim_db_ids_cleanup(struct sim_db_ids *ids);
/* Lookup q's SQL (tests read its plan). */
const char *sim_db_lookup_sql(enum sim_db_lookup q);
/* The soonest reviewable_from after now_ms of a HIT not Reviewing. */
int sim_db_next_reviewable(struct sim_db *db, int64_t now_ms,
			   int64_t *next_ms, struct errbuf *eb);
/*
 * The work of the index queries since the last call, in SQLite's virtual
 * machine steps (a count, for tests: it grows with the rows a query
 * visits, not with time).
 */
uint64_t sim_db_steps_take(struct sim_db *db);
/* Query q's SQL (tests read its plan). */
const char *sim_db_query_sql(enum sim_db_query q);
/*
 * Test hooks.  sim_db_fail_reads: with fail, after `after` more reads
 * every read of a record, a lookup or a query fails (IF_ERUNTIME) as an
 * I/O error of the file would, until called again without fail; writes
 * pass.  sim_db_busy_timeout: how long a write waits for another
 * connection's lock (5 s unless a test shortens it).
 */
void sim_db_fail_reads(struct sim_db *db, bool fail, unsigned long after);
void sim_db_busy_timeout(struct sim_db *db, int ms);
/* Opened from version 1 or 2: the index rows are to be written once. */
bool sim_db_needs_reindex(const struct sim_db *db);
void sim_db_reindexed(struct sim_db *db);

/* ---- the store: its interface (sim_store.c and its jobs' files) -------- */

/* An error as the service returns it. */
struct sim_err {
	int http;	   /* 400, 403, 500, 503 */
	char type[64];	   /* __type: RequestError, ServiceFault, ... */
	char turk[96];	   /* TurkErrorCode, "" when none */
	char message[1100]; /* ends with " (epoch-ms)" where AWS adds it */
};

struct sim_store;

struct sim_store_config {
	uint64_t seed;
	int64_t crowd_delay_ms;
	bool crowd_off;
	size_t worker_pool;
	int64_t (*clock_ms)(void *ctx);
	void *clock_ctx;
	/* Ids from the CSPRNG, not the seed: people can see them. */
	bool csprng_ids;
	/* Real participants only: any sim_participant_id_valid() worker. */
	bool people;
};

/* sim_store.c */
struct sim_store *sim_store_new(const struct sim_store_config *cfg);
void sim_store_free(struct sim_store *st);
int64_t sim_store_now_ms(const struct sim_store *st);
/* The service's own URL, "http://127.0.0.1:PORT", to recognise its images. */
int sim_store_set_base(struct sim_store *st, const char *base);

/* Copies the experiment in; a second one with the same name replaces it. */
int sim_store_add_experiment(struct sim_store *st,
			     const struct sim_experiment *exp,
			     struct errbuf *eb);
/* sim_set_hidden(): an image's stage 0, replaced under the lock. */
int sim_store_set_hidden(struct sim_store *st, const char *experiment,
			 const char *image_id, const struct sim_face *boxes,
			 size_t n, struct errbuf *eb);

/* sim_persist.c */
/*
 * Keeps the store in dir (created 0700): loads DIR/sim.db, or migrates an
 * older simulator's DIR/sim.json into it, then saves each change before
 * it is answered.  IF_EINPUT for a state it cannot read.
 */
int sim_store_open(struct sim_store *st, const char *dir, struct errbuf *eb);

/*
 * The whole state as one JSON object in the old sim.json shape (tests
 * compare a store with the one reopened from its directory).
 */
json_t *sim_store_dump(struct sim_store *st);

/* sim_ops.c */
/*
 * Runs one MTurk operation (the part after
 * "MTurkRequesterServiceV20170117.") on a parsed request.  0 with *resp
 * set (caller json_decref()s it), or -1 with *err filled.
 */
int sim_store_call(struct sim_store *st, const char *op, json_t *req,
		   json_t **resp, struct sim_err *err);

/* The S3 side: objects by "bucket/key". */
int sim_store_put_object(struct sim_store *st, const char *path,
			 const void *data, size_t len,
			 const char *content_type);
/*
 * 0 with *found and, when found, a malloc'ed copy in *data (free it); -1
 * (logged) when the store cannot read it: the service's failure, never
 * "no such key".
 */
int sim_store_get_object(struct sim_store *st, const char *path, char **data,
			 size_t *len, char *content_type, size_t ctlen,
			 bool *found);

/* ---- the store: its records (sim_store.c; used by the store's files) ---- */

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
	/* "<qual_id>/<worker_id>": its record's key and its map key. */
	char key[SIM_ID_LEN + 1 + 256 + 1];
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
	/*
	 * The HIT type's values plus Question, annotation (about 11 KB for
	 * the daemon's task page).  In memory only until the HIT is
	 * saved, then NULL: sim_hit_vals() reads them back from their own
	 * record ("hit_values", written once with the new HIT).
	 */
	json_t *vals;
	/* Loaded from a "hits" record of an older version, the values
	 * inline: its next save moves them to their own record. */
	bool vals_inline;
	/* Its QualificationRequirements (a reference), NULL when none. */
	json_t *quals;
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
	/*
	 * The HIT's assignments in the order of creation (the array is
	 * owned, the assignments are the working set's): a HIT is loaded
	 * with all of them.  Assignments are never removed and never
	 * change HIT, so the list only grows.
	 */
	struct asg **asgs;
	size_t nasgs;
	/*
	 * RequesterAnnotation (a copy of the one in vals, which never
	 * changes after creation; NULL when none) and its key, the
	 * hit_index column that finds the HITs of one image: up to its
	 * last '/' ("<experiment>/<image>"), or all of it.
	 */
	char *ann;
	size_t ann_key_len;
};

struct asg {
	char id[SIM_ID_LEN + 1];
	char hit_id[SIM_ID_LEN + 1];
	char *worker_id; /* owned */
	enum asg_state state;
	bool simulated;
	int64_t accept_ms;
	int64_t submit_ms;
	int64_t approval_ms;
	int64_t rejection_ms;
	/*
	 * Its payload: answer, feedback and boxes are in memory only while
	 * resident (a new assignment until it is saved, or one loaded by
	 * sim_asg_load() to be changed); otherwise NULL, and
	 * sim_asg_payload() reads them from the database.  (This is the
	 * payload's residence; the record itself is in the working set.)
	 */
	bool resident;
	char *answer;
	char *feedback; /* RequesterFeedback */
	struct sim_face *boxes;
	size_t nboxes;
};

struct object {
	char *path;
	/* Its bytes while resident (until saved, as for assignments). */
	bool resident;
	char *data;
	size_t len;
	const char *content_type; /* interned */
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
	/*
	 * Test hook (issue 15): INTOFOCUS_TEST_SIM_ANSWER_BYTES makes the
	 * first simulated answer of every HIT carry a feedback of that many
	 * bytes, an answer too large for the daemon to read; 0 = none.
	 */
	size_t test_answer_bytes;
	pthread_mutex_t mu;
	struct sim_store_config cfg;
	struct sim_rng ids;
	/* HIT types and qualification types: few (one per stage), kept. */
	struct qtype **qtypes;
	size_t nqtypes;
	struct hittype **types;
	size_t ntypes;
	/*
	 * The working set: the HITs (each with all its assignments),
	 * assignments, grants and objects a request has reached, found
	 * through their maps.  SQLite is their only truth: sim_find_*()
	 * return the resident record or load it from the database, and a
	 * record is added to its array and map by one function
	 * (sim_hit_add(), sim_asg_add(), sim_grant_add(), sim_object_add()
	 * for new ones; their loaders in sim_persist.c).  A record stays
	 * valid while the lock is held; sim_store_unlock() drops them all
	 * once they are more than SIM_RESIDENT_MAX and every change is
	 * saved, so no pointer to one may be kept across the lock.
	 */
	struct hit **hits;
	size_t nhits;
	struct asg **asgs;
	size_t nasgs;
	struct grant **grants;
	size_t ngrants;
	struct object **objects;
	size_t nobjects;
	struct strmap hits_by_id;
	struct strmap asgs_by_id;
	struct strmap objects_by_path;
	struct strmap grants_by_key; /* grant->key */
	/* sim_intern()'s strings (content types), each its own key. */
	struct strmap interned;
	struct exp_copy *exps;
	size_t nexps;
	char *state_dir; /* NULL: memory only */
	char *base;	 /* "http://127.0.0.1:PORT", NULL until known */
	/* How many simulated workers have arrived (sim_crowd_pick()). */
	size_t crowd_size;
	/*
	 * Persistence (sim_persist.c): the database (in memory when there
	 * is no state directory; NULL only when a directory failed to
	 * open); how many HIT and qualification types it holds; the
	 * records created since the last save (new_*) and those changed in
	 * place (touched_*), all of them resident until saved.
	 */
	struct sim_db *db;
	size_t saved_qtypes, saved_types, saved_crowd;
	uint64_t saved_ids;
	bool save_all; /* the next save writes every resident record */
	struct hit **new_hits;
	size_t nnew_hits;
	struct asg **new_asgs;
	size_t nnew_asgs;
	struct grant **new_grants;
	size_t nnew_grants;
	struct object **new_objects;
	size_t nnew_objects;
	struct hit **touched_hits;
	size_t ntouched_hits;
	struct asg **touched_asgs;
	size_t ntouched_asgs;
	struct grant **touched_grants;
	size_t ntouched_grants;
	struct object **touched_objects;
	size_t ntouched_objects;
	/* Made resident by sim_asg_load(): dropped after the next save. */
	struct asg **loaded_asgs;
	size_t nloaded_asgs;
	/* The most records resident at once (tests zero it, then read it:
	 * what one request held, which the trim at its unlock hides). */
	size_t resident_peak;
};

/* sim_store.c: the data model. */

/* Appends item to a growable array of pointers; -1 when memory runs out. */
int sim_vec_push(void *arrp, size_t *n, void *item);
/* What key maps to in m; NULL when nothing. */
void *sim_strmap_get(const struct strmap *m, const char *key, size_t klen);
/* Fills err as the service would and returns -1. */
int sim_fail(const struct sim_store *st, struct sim_err *err, int http,
	     const char *type, const char *turk, const char *fmt, ...)
	IF_PRINTF(6, 7);

/*
 * The working set (see struct sim_store): 0 with *out the resident
 * record, or the one loaded from the database, or NULL when there is
 * none; -1 (logged, *out NULL) when the database cannot give it, which
 * a request answers as the service's failure, never as "no such
 * record".  Valid until the lock is released.  Qualification types are
 * all in memory: sim_find_qtype() cannot fail (NULL: none).
 */
int sim_find_hit(struct sim_store *st, const char *id, struct hit **out);
int sim_find_asg(struct sim_store *st, const char *id, struct asg **out);
int sim_find_object(struct sim_store *st, const char *path, size_t len,
		    struct object **out);
struct qtype *sim_find_qtype(struct sim_store *st, const char *id);
int sim_find_grant(struct sim_store *st, const char *qual_id,
		   const char *worker, struct grant **out);
/*
 * Lists of records (*out malloc'ed, to free; its records the working
 * set's), from the indexes and the records not saved yet: the HITs
 * whose annotation key is key[0..len), newest first, up to max of them
 * (only those are read); those of a token, oldest first; a worker's
 * assignments, newest first.  -1 (logged) when the database or memory
 * fails.
 */
int sim_find_hits_by_ann(struct sim_store *st, const char *key, size_t len,
			 size_t max, struct hit ***out, size_t *n);
int sim_find_hits_by_token(struct sim_store *st, const char *token,
			   struct hit ***out, size_t *n);
int sim_find_asgs_by_worker(struct sim_store *st, const char *worker_id,
			    struct asg ***out, size_t *n);
/*
 * Add a new, complete record to the working set, to be saved with the
 * next save; -1 when memory runs out, and then nothing changed.  a's
 * worker_id must be set (owned by a from then on); sim_object_add copies
 * path and data and gives the new object.
 */
int sim_hit_add(struct sim_store *st, struct hit *h);
int sim_asg_add(struct sim_store *st, struct hit *h, struct asg *a);
int sim_grant_add(struct sim_store *st, struct grant *g);
struct object *sim_object_add(struct sim_store *st, const char *path,
			      const char *content_type, const void *data,
			      size_t len);
/*
 * The same for a record loaded from the database (resident, not new);
 * h of sim_asg_adopt may be NULL (an assignment whose HIT is missing).
 * On failure the record is not the store's: the caller frees it.
 */
int sim_hit_adopt(struct sim_store *st, struct hit *h);
int sim_asg_adopt(struct sim_store *st, struct hit *h, struct asg *a);
int sim_grant_adopt(struct sim_store *st, struct grant *g);
int sim_object_adopt(struct sim_store *st, struct object *o);
/* Frees a record that is not (or no longer) the store's. */
void sim_hit_free(struct hit *h);
void sim_asg_free(struct asg *a);
void sim_object_free(struct object *o);
/* A HIT's derived members (ann, quals) from its values. */
int sim_hit_derive(struct hit *h, json_t *vals);
/*
 * Frees every resident record, whatever is pending (the store's end, and
 * tests: call it only when sim_changes_pending() is false).
 */
void sim_store_evict(struct sim_store *st);
/* The records resident in the working set (tests). */
size_t sim_store_resident(const struct sim_store *st);
/*
 * Drops the working set when it holds more than SIM_RESIDENT_MAX records
 * and nothing is left to save; the lock held, no record pointer kept.
 */
void sim_store_trim(struct sim_store *st);
/* Every sim_store_* function releases the lock through this. */
void sim_store_unlock(struct sim_store *st);
/*
 * The store's one copy of s (worker ids, content types), kept until the
 * store is freed; NULL when memory runs out.
 */
const char *sim_intern(struct sim_store *st, const char *s);
/* The next id of the seeded stream. */
void sim_new_id(struct sim_store *st, char out[SIM_ID_LEN + 1]);

/* The state an assignment is in at time now. */
enum asg_state sim_asg_state_at(const struct sim_store *st,
				const struct asg *a, const struct hit *h,
				int64_t now);
/* The same, making a derived auto-approval permanent. */
enum asg_state sim_asg_settle(struct sim_store *st, struct asg *a,
			      const struct hit *h, int64_t now);
/* "Submitted", "Approved", "Rejected"; "" for the others. */
const char *sim_asg_state_str(enum asg_state s);
/* A listed assignment: submitted, approved or rejected, never pending. */
bool sim_asg_listed(enum asg_state s);
struct hit_counts sim_hit_counts(struct sim_store *st, struct hit *h,
				 int64_t now);
/* Assignable, Unassignable, Reviewable, Reviewing or Disposed. */
const char *sim_hit_status(const struct hit *h, const struct hit_counts *c,
			   int64_t now);
/* The columns of h's row in the HIT index (borrowing h's strings). */
void sim_hit_index_row(const struct hit *h, struct sim_db_hit *row);
/*
 * Up to args->limit HITs of query q (sim_db_hits()), pending changes
 * saved first; -1 (logged) when the database fails.  The lock held.
 */
int sim_store_hits(struct sim_store *st, enum sim_db_query q,
		   const struct sim_db_hits_args *args,
		   struct sim_db_hit_ref *out, size_t *n);
/* Whether worker meets every requirement of reqs (*eligible); -1
 * (logged) when a grant cannot be read. */
int sim_worker_eligible(struct sim_store *st, json_t *reqs,
			const char *worker, bool *eligible);

/* sim_persist.c: what the store's other files tell it. */

/* Mark a record changed in place, for the next save. */
void sim_touch_hit(struct sim_store *st, struct hit *h);
void sim_touch_asg(struct sim_store *st, struct asg *a);
void sim_touch_object(struct sim_store *st, struct object *o);
void sim_touch_grant(struct sim_store *st, struct grant *g);
/* Whether something is left to save. */
bool sim_changes_pending(const struct sim_store *st);
/*
 * The loaders of sim_find_*(): 0 with *out the record from the database,
 * adopted into the working set (a HIT with all its assignments, or not
 * at all), or NULL when there is none; -1 (logged, *out NULL) when it
 * cannot be read.
 */
int sim_load_hit(struct sim_store *st, const char *id, struct hit **out);
int sim_load_asg(struct sim_store *st, const char *id, struct asg **out);
int sim_load_object(struct sim_store *st, const char *path,
		    struct object **out);
int sim_load_grant(struct sim_store *st, const char *key,
		   struct grant **out);
/*
 * Saves what changed since the last save, in one transaction.  A failed
 * save leaves it all pending.  A saved record's payload leaves memory
 * (the database holds it), and the records themselves may leave at the
 * next sim_store_unlock(): the store's memory is its working set,
 * whatever the study's size.
 */
int sim_save_changes(struct sim_store *st, struct errbuf *eb);

/*
 * The payloads, wherever they are (sim_persist.c).  sim_hit_vals: a new
 * reference to the HIT's values, or NULL (logged) when they cannot be
 * read.  sim_asg_payload: the assignment's answer, feedback and boxes,
 * borrowed while resident or read into owned copies; cleanup in any
 * case.  sim_asg_load: makes an assignment resident before a change of
 * its payload (the change must be saved with the record, touched).
 * All -1 (logged) when the database cannot give the record.
 */
struct asg_payload {
	const char *answer;   /* NULL when none */
	const char *feedback; /* NULL when none */
	const struct sim_face *boxes;
	size_t nboxes;
	/* Owned copies (to free), NULL when borrowed. */
	char *own_answer, *own_feedback;
	struct sim_face *own_boxes;
};

json_t *sim_hit_vals(struct sim_store *st, const struct hit *h);
int sim_asg_payload(struct sim_store *st, const struct asg *a,
		    struct asg_payload *p);
void sim_asg_payload_cleanup(struct asg_payload *p);
int sim_asg_load(struct sim_store *st, struct asg *a);

/* ---- sim_plan.c: the simulated workers of a new HIT --------------------- */

/* Plans the simulated workers of the new HIT h (see sim_plan.c). */
int sim_plan_crowd(struct sim_store *st, struct hit *h, struct sim_err *err);

/*
 * The QuestionFormAnswers XML MTurk writes for these form fields (through
 * answer_format()); NULL when memory runs out or a value is not UTF-8.
 */
char *sim_answer_xml(const char *const *names, const char *const *values,
		     size_t n);

/* ---- sim_store_lab.c: lab mode's side of the store (for sim_lab.c) ------ */

struct sim_lab_hit {
	char hit_id[SIM_ID_LEN + 1];
	char title[256];
	char annotation[256];
	char reward[32];
	int available;
	int max;
	int64_t expiration_ms;
};

/* The HITs a participant could take now; *out freed with free(). */
int sim_store_lab_list(struct sim_store *st, struct sim_lab_hit **out,
		       size_t *n);
/*
 * 0 with a malloc'ed copy of the HIT's Question XML in *question, NULL
 * when there is no such HIT; -1 when the store cannot read it.
 */
int sim_store_lab_question(struct sim_store *st, const char *hit_id,
			   char **question);
/*
 * Accepts a HIT for worker: 0 with assignment_id the worker's open
 * assignment (the same one again on a reload); 1 with a reason when the
 * HIT is gone, full, or the worker already submitted it or lacks a
 * qualification; -1 with a reason (try again) when the store fails.
 */
int sim_store_lab_accept(struct sim_store *st, const char *hit_id,
			 const char *worker_id,
			 char assignment_id[SIM_ID_LEN + 1], char *why,
			 size_t whylen);
/*
 * Submits an accepted assignment with its answer XML (consumed: the store
 * keeps it) and the boxes field for the crowd's knowledge of redaction:
 * 0 done, 1 refused (unknown, expired or done already: why), -1 the store
 * failed (why: try again).
 */
int sim_store_lab_submit(struct sim_store *st, const char *assignment_id,
			 char *answer_xml, const char *boxes_json,
			 char *worker_id, size_t worker_len, char *why,
			 size_t whylen);

/*
 * People only ("intofocus serve"; sim_store_lab.c).  The worker id is the
 * session's participant, never a request's field.
 */
/* Submits like sim_store_lab_submit, only an assignment worker_id holds. */
int sim_store_people_submit(struct sim_store *st, const char *worker_id,
			    const char *assignment_id, char *answer_xml,
			    const char *boxes_json, char *why, size_t whylen);
/* The participant's open assignment ("" when none), and submitted count;
 * -1 when the store cannot read them. */
int sim_store_people_status(struct sim_store *st, const char *worker_id,
			    char open_asg[SIM_ID_LEN + 1], int *submitted);
/*
 * Gives the participant a task: their open assignment if they hold one,
 * else a new assignment of the oldest HIT they may take (qualified, not
 * worked on, one left).  0 with assignment_id; 1 when there is nothing for
 * them (share done, or nothing left); -1 with why.  peek: only says
 * whether there is one (0 with assignment_id "" for a new one).
 */
int sim_store_people_take(struct sim_store *st, const char *worker_id,
			  int share, bool peek,
			  char assignment_id[SIM_ID_LEN + 1], char *why,
			  size_t whylen);
/*
 * 0 with *question the Question of an assignment worker_id holds open
 * now, NULL when none; -1 when the store cannot read it.
 */
int sim_store_people_task(struct sim_store *st, const char *worker_id,
			  const char *assignment_id, char **question,
			  char hit_id[SIM_ID_LEN + 1]);
/* Whether the S3 object "bucket/key" (len bytes of path) exists
 * (*found); -1 (logged) when the store cannot read it. */
int sim_store_people_object(struct sim_store *st, const char *path,
			    size_t len, bool *found);

/* ---- sim_lab.c: lab mode's pages ---------------------------------------- */

/* What the server sends back for a page. */
struct sim_reply {
	int status;
	char content_type[64];
	char location[2048]; /* a redirect target, "" for none */
	char csp[512];	     /* Content-Security-Policy [SIM_CSP_PAGE] */
	char cookie[512];    /* a Set-Cookie value, "" for none */
	struct buf body;
};

/* Pages: their own style, images from here, forms posted here. */
#define SIM_CSP_PAGE                                                       \
	"default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "  \
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
/* A HIT's page (its inline script) in the simulator's lab mode. */
#define SIM_CSP_TASK_SIM                                                   \
	"default-src 'none'; script-src 'unsafe-inline'; "                 \
	"style-src 'unsafe-inline'; img-src 'self' http: https: data: "    \
	"blob:; form-action 'self'; frame-ancestors 'none'; "              \
	"base-uri 'none'"

/* The longest feedback a participant may give, in characters (the task
 * page's textarea says the same with maxlength). */
#define SIM_FEEDBACK_MAX 2000
/* The largest answer XML kept: 100 of them fit well in a daemon's read. */
#define SIM_ANSWER_XML_MAX (32 * 1024)
/* The form field carrying the CSRF token ("intofocus serve"). */
#define SIM_CSRF_FIELD "csrf_token"

/* An externalSubmit body, parsed (pointers into copy). */
struct sim_lab_answer {
	char *copy;
	const char *assignment_id;
	const char *csrf;  /* NULL when absent */
	const char *boxes; /* NULL when absent */
	char *xml;	   /* the QuestionFormAnswers of every other field */
};

/*
 * Parses a submitted form: refuses a NUL anywhere, a feedback longer than
 * SIM_FEEDBACK_MAX, more than 32 fields, an answer XML above
 * SIM_ANSWER_XML_MAX, and a missing or preview assignment id.  -1 with
 * why (constant text); cleanup in any case.
 */
int sim_lab_answer_parse(const char *body, size_t len,
			 struct sim_lab_answer *a, char *why, size_t whylen);
void sim_lab_answer_cleanup(struct sim_lab_answer *a);

void sim_reply_init(struct sim_reply *r);
void sim_reply_cleanup(struct sim_reply *r);

/* Lab pages.  base is "http://127.0.0.1:PORT"; strings are decoded. */
void sim_lab_index(struct sim_store *st, const char *base,
		   const char *worker_id, struct sim_reply *r);
/* Accepts (or previews) a HIT and redirects to its task page. */
void sim_lab_start(struct sim_store *st, const char *base, const char *hit_id,
		   const char *worker_id, bool preview, struct sim_reply *r);
/* The HIT's HTMLQuestion content, as MTurk's iframe shows it. */
void sim_lab_task(struct sim_store *st, const char *hit_id,
		  struct sim_reply *r);
/* The externalSubmit form post (an urlencoded body). */
void sim_lab_submit(struct sim_store *st, const char *base, const char *body,
		    size_t len, struct sim_reply *r);

/* ---- sim_people.c: the participants' pages of "intofocus serve" ------- */

struct sim_people;

/* A request as the pages see it (strings raw, as received). */
struct sim_people_request {
	const char *method;
	const char *path;
	const char *cookie; /* the Cookie header, NULL when none */
	const char *origin; /* the Origin header, NULL when none */
	const char *body;
	size_t body_len;
	/* A raw query argument, NULL when absent. */
	const char *(*arg)(void *ctx, const char *name);
	void *arg_ctx;
};

/*
 * The pages' state: the session key (DIR/serve.key, or a random one when
 * state_dir is NULL) and the configuration; local_base is the listening
 * address, the public URL's default.
 */
struct sim_people *sim_people_new(const struct sim_people_config *cfg,
				  const char *state_dir,
				  const char *local_base, struct errbuf *eb);
void sim_people_free(struct sim_people *p);
void sim_people_handle(struct sim_people *p, struct sim_store *st,
		       const struct sim_people_request *rq,
		       struct sim_reply *r);

/* ---- the push (sim_store_push.c, sim_push.c; issue 19) ----------------- */

/*
 * The HITs that became Reviewable at or after since_ms (not Reviewing, not
 * deleted): up to max ids, *more when there were more; *now_ms the
 * store's clock; *next_ms the next moment the clock alone may change the
 * answer (INT64_MAX: none).  Takes the store's lock.
 */
int sim_store_reviewable_since(struct sim_store *st, int64_t since_ms,
			       char (*ids)[SIM_ID_LEN + 1], size_t max,
			       size_t *n, bool *more, int64_t *now_ms,
			       int64_t *next_ms);

/* The longest a waiter waits, whatever it asks. */
#define SIM_PUSH_WAIT_MAX_MS 20000

struct MHD_Connection;
struct sim_push;

/* One waiting request (its memory is the request's). */
struct sim_push_wait {
	struct MHD_Connection *conn; /* suspended; NULL: its thread blocks */
	int64_t since_ms;
	int64_t deadline; /* CLOCK_MONOTONIC ms */
	bool registered;  /* on the hub's list */
	bool done;	  /* answer is ready */
	char *answer;	  /* the JSON answer */
	struct sim_push_wait *next;
};

enum {
	SIM_PUSH_ANSWERED = 0, /* answer ready at once: sim_push_take() */
	SIM_PUSH_WAITING = 1,  /* registered (and conn suspended) */
	SIM_PUSH_BUSY = 2,     /* max_waiters wait already */
};

/* The hub and its thread; NULL when out of memory or threads. */
struct sim_push *sim_push_new(struct sim_store *st, size_t max_waiters);
/* Answers every waiter and ends the thread (before MHD_stop_daemon). */
void sim_push_stop(struct sim_push *p);
void sim_push_free(struct sim_push *p);
/* Waiters not answered yet. */
size_t sim_push_count(struct sim_push *p);
/* Something changed (a submission, a new HIT): look again. */
void sim_push_notify(struct sim_push *p);
/*
 * Starts w for since_ms, waiting up to wait_ms: SIM_PUSH_ANSWERED,
 * SIM_PUSH_WAITING (conn, when not NULL, is suspended: the call must come
 * from its request handler), SIM_PUSH_BUSY, or -1 (out of memory).
 */
int sim_push_begin(struct sim_push *p, struct sim_push_wait *w,
		   struct MHD_Connection *conn, int64_t since_ms,
		   int64_t wait_ms);
/* w's answer (the caller frees it), waiting for it when block; or NULL. */
char *sim_push_take(struct sim_push *p, struct sim_push_wait *w, bool block);
/* Takes w off the hub, answered or not (a connection that ended). */
void sim_push_cancel(struct sim_push *p, struct sim_push_wait *w);

/* ---- sim_hold.c: requests held until k arrive (a test hook) ----------- */

struct sim_hold;
struct sim_hold *sim_hold_new(void);
void sim_hold_free(struct sim_hold *h);
/* Arms (k > 0) or disarms (k = 0) operation's hold; -1: no room. */
int sim_hold_set(struct sim_hold *h, const char *operation, int k);
bool sim_hold_was_met(struct sim_hold *h, const char *operation);
/* A request of operation arrived: waits as its hold says (h may be NULL). */
void sim_hold_wait(struct sim_hold *h, const char *operation);

#endif /* INTOFOCUS_SIM_PRIVATE_H */
