/*
 * mturk/sim_private.h - private to the simulator files of mturk/ (sim_*.c).
 *
 * The simulator is four parts: sim_store.c holds the service's data and
 * answers the JSON operations; sim_crowd.c decides what simulated workers
 * answer; sim_lab.c serves the lab-mode pages; sim_server.c is the HTTP
 * front (libmicrohttpd), which verifies signatures and injects faults.
 * The store is the only shared mutable object; every sim_store_* function
 * takes its lock, so the server may run one thread per connection.
 */
#ifndef INTOFOCUS_SIM_PRIVATE_H
#define INTOFOCUS_SIM_PRIVATE_H

#include "mturk/mturk.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

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
 * in mturk.h (README: "the simulated crowd").
 */

/* p = 1/(1+exp(-k*(side/window - x0))) for a face of smaller side `side`. */
double sim_crowd_p_find(int side, int window);
/* The same for a model (NULL: the default one). */
double sim_crowd_p_find_model(const struct sim_crowd_model *m, int side,
			      int window);

/* What the crowd knows about one HIT, resolved from its annotation. */
struct sim_crowd_task {
	const struct sim_image *image; /* NULL: not an experiment we know */
	int window;		       /* the stage's median window; 0 unknown */
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
typedef int (*sim_db_record_fn)(void *ctx, const char *kind, const char *key,
				const char *body, const void *data, size_t len,
				struct errbuf *eb);
/* Calls fn on every record in the order of their first write. */
int sim_db_foreach(struct sim_db *db, sim_db_record_fn fn, void *ctx,
		   struct errbuf *eb);

/* ---- sim_store.c: the service's data ------------------------------------ */

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
};

struct sim_store *sim_store_new(const struct sim_store_config *cfg);
void sim_store_free(struct sim_store *st);
int64_t sim_store_now_ms(const struct sim_store *st);
/* The service's own URL, "http://127.0.0.1:PORT", to recognise its images. */
int sim_store_set_base(struct sim_store *st, const char *base);

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

/* Copies the experiment in; a second one with the same name replaces it. */
int sim_store_add_experiment(struct sim_store *st,
			     const struct sim_experiment *exp,
			     struct errbuf *eb);

/*
 * Runs one MTurk operation (the part after "MTurkRequesterServiceV20170117.")
 * on a parsed request.  0 with *resp set (caller json_decref()s it), or -1
 * with *err filled.
 */
int sim_store_call(struct sim_store *st, const char *op, json_t *req,
		   json_t **resp, struct sim_err *err);

/* The S3 side: objects by "bucket/key". */
int sim_store_put_object(struct sim_store *st, const char *path,
			 const void *data, size_t len,
			 const char *content_type);
/* 0 with a malloc'ed copy in *data (free it), or -1 when absent. */
int sim_store_get_object(struct sim_store *st, const char *path, char **data,
			 size_t *len, char *content_type, size_t ctlen);

/* ---- lab mode support (used by sim_lab.c) ------------------------------- */

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
/* A malloc'ed copy of the HIT's Question XML; -1 when unknown. */
int sim_store_lab_question(struct sim_store *st, const char *hit_id,
			   char **question);
/*
 * Accepts a HIT for worker: fills assignment_id with the worker's open
 * assignment (the same one again on a reload).  -1 with a reason when the
 * HIT is gone, full, or the worker already submitted it or lacks a
 * qualification.
 */
int sim_store_lab_accept(struct sim_store *st, const char *hit_id,
			 const char *worker_id,
			 char assignment_id[SIM_ID_LEN + 1], char *why,
			 size_t whylen);
/*
 * Submits an accepted assignment with its answer XML (consumed: the store
 * keeps it) and the boxes field for the crowd's knowledge of redaction.
 */
int sim_store_lab_submit(struct sim_store *st, const char *assignment_id,
			 char *answer_xml, const char *boxes_json,
			 char *worker_id, size_t worker_len, char *why,
			 size_t whylen);

/* ---- sim_lab.c: lab mode pages and the answer XML ---------------------- */

/* What the server sends back for a page. */
struct sim_reply {
	int status;
	char content_type[64];
	char location[2048]; /* a redirect target, "" for none */
	struct buf body;
};

void sim_reply_init(struct sim_reply *r);
void sim_reply_cleanup(struct sim_reply *r);

/*
 * The QuestionFormAnswers XML MTurk writes for these form fields (through
 * answer_format()); NULL when memory runs out or a value is not UTF-8.
 */
char *sim_answer_xml(const char *const *names, const char *const *values,
		     size_t n);

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

#endif /* INTOFOCUS_SIM_PRIVATE_H */
