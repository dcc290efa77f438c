/*
 * daemon/daemon.h - private to daemon/: the commands' entry points and,
 * as they land, the state store, the stage machine and the loop.
 *
 * Every command takes the arguments after its name (argv[0] is the command
 * name) and returns the process exit status (enum if_status).  Only these
 * entry points print errors for the user; everything below them returns an
 * error code and fills a struct errbuf.
 */
#ifndef INTOFOCUS_DAEMON_H
#define INTOFOCUS_DAEMON_H

#include "common/common.h"
#include "config/config.h"
#include "imaging/imaging.h"
#include "mturk/mturk.h"

#include <signal.h>
#include <stdint.h>

/* One entry per command; main.c dispatches on name. */
struct command {
	const char *name;
	const char *summary; /* one line for "intofocus --help" */
	int (*main)(int argc, char **argv);
};

int cmd_run(int argc, char **argv);	/* cmd_run.c */
int cmd_check(int argc, char **argv);	/* cmd_check.c */
int cmd_status(int argc, char **argv);	/* cmd_status.c */
int cmd_report(int argc, char **argv);	/* cmd_report.c */
int cmd_render(int argc, char **argv);	/* cmd_render.c */
int cmd_mturk(int argc, char **argv);	/* cmd_mturk.c */
int cmd_sim(int argc, char **argv);	/* cmd_sim.c */
int cmd_detect(int argc, char **argv);	/* cmd_detect.c */
int cmd_serve(int argc, char **argv);	/* cmd_serve.c */
int cmd_prolific(int argc, char **argv); /* cmd_prolific.c */

/*
 * Prints "intofocus CMD: message" for an error and returns its code, for the
 * commands' entry points.
 */
int cmd_fail(const char *cmd, const struct errbuf *eb);

/* True when arg is "-h" or "--help". */
int is_help_flag(const char *arg);

/*
 * cmd_opts.c: getopt_long's ':' (opt lacks its value) or any other
 * refusal (opt is unknown) as an IF_EINPUT error naming opt.
 */
int cmd_opt_error(int c, const char *opt, struct errbuf *eb);
/* "intofocus CMD: message" and "Try ... --help" on stderr; IF_EINPUT. */
int cmd_usage_error(const char *cmd, const struct errbuf *eb);
/* Prints o (taken; NULL is out of memory) on one line; IF_ERUNTIME. */
struct json_t;
int cmd_print_json_line(struct json_t *o);

/* ---- state.c: the SQLite boundary (spec section 9) ---------------------- */

struct state;
struct sqlite3;

/*
 * Opens (creating when needed) the state of experiment in dir: the
 * directory is made 0700, the database file 0600, WAL with
 * synchronous=FULL, schema version checked or created.  A database that
 * belongs to another experiment is refused (IF_EINPUT).
 */
int state_open(const char *dir, const char *experiment, struct state **out,
	       struct errbuf *eb);
/* For status and report: never creates or changes anything. */
int state_open_readonly(const char *dir, struct state **out,
			struct errbuf *eb);
void state_close(struct state *st);
const char *state_path(const struct state *st);
struct sqlite3 *state_db(struct state *st);
/* One transaction per transition: BEGIN IMMEDIATE ... COMMIT. */
int state_begin(struct state *st, struct errbuf *eb);
int state_commit(struct state *st, struct errbuf *eb);
/* Rolls back an open transaction; a no-op outside one. */
void state_rollback(struct state *st);
/*
 * The writes of one step as one transaction: BEGIN IMMEDIATE, write(st,
 * arg, eb), COMMIT; a failure anywhere rolls it all back and is returned,
 * so that nothing is committed half-done.
 */
int state_transaction(struct state *st,
		      int (*write)(struct state *st, void *arg,
				   struct errbuf *eb),
		      void *arg, struct errbuf *eb);
/*
 * Test hook, compiled in and inert until set: the n-th write statement
 * (INSERT, UPDATE, COMMIT) whose SQL contains match (every one when match
 * is NULL) fails as a full disk would, once.  state_open() sets it from
 * INTOFOCUS_TEST_STORE_FAIL_AT=n and INTOFOCUS_TEST_STORE_FAIL_MATCH.
 */
void state_fail_write_at(struct state *st, int64_t n, const char *match);
/* True once the hook has failed its write. */
bool state_fail_write_fired(const struct state *st);
/* The store calls this before each write; IF_OK unless the hook fires. */
int state_write_check(struct state *st, const char *sql, struct errbuf *eb);
int state_exec(struct state *st, const char *sql, struct errbuf *eb);
int state_meta_set(struct state *st, const char *key, const char *value,
		   struct errbuf *eb);
/* *value is NULL when the key is absent; free() it otherwise. */
int state_meta_get(struct state *st, const char *key, char **value,
		   struct errbuf *eb);

/* ---- store.c: typed rows ------------------------------------------------ */

/*
 * Where one image's state machine stands.  Terminal states are DONE and
 * FAILED; PAUSED waits for budget.  stage counts from 1; it is nstages + 1
 * while the final image is written.
 */
enum image_state {
	IMAGE_RENDER = 0, /* render stage `stage`, host it */
	IMAGE_POST,	  /* HIT intent recorded or to record; CreateHIT */
	IMAGE_WAIT,	  /* HIT open: poll, record, approve, grant */
	IMAGE_FINAL,	  /* write the final image and its JSON */
	IMAGE_DONE,
	IMAGE_PAUSED, /* the next HIT would pass the budget */
	IMAGE_FAILED,
};

const char *image_state_str(enum image_state s);
/* -1 for an unknown name. */
int image_state_parse(const char *name);

/*
 * An MTurk id (HITId, AssignmentId, ...) or an image id: one bound for
 * both, MTurk's EntityId (1-64 characters; the experiment's image ids are
 * held to the same).
 */
#define ID_MAX MTURK_ID_MAX
#define URL_MAX 2048

struct image_rec {
	char id[ID_MAX];
	char file[1024];
	char fingerprint[72]; /* sha256 of the original file, hex */
	enum image_state state;
	int stage;
	int attempt;
	int64_t next_at;
	char reason[512];
	char image_url[URL_MAX];
	char object_key[128];
	int64_t url_expires;
	int64_t started_at;
	int64_t updated_at;
	int64_t seq; /* order of first appearance in the experiment */
	/*
	 * The remote failure the image is retrying, or the one that failed
	 * it; "" when its last step went well.  error_since: when the run of
	 * failures began; retries: failed attempts in a row.
	 */
	char error[512];
	int64_t error_since;
	int retries;
};

struct hit_rec {
	char token[72];
	char image_id[ID_MAX];
	int stage;
	int attempt;
	char annotation[256];
	char hit_id[ID_MAX];
	char hit_type_id[ID_MAX];
	char image_url[URL_MAX];
	int max_assignments;
	int64_t cost_cents;
	int64_t intent_at;
	int64_t created_at;
	int64_t expires_at;
	int extensions;
	int closed; /* HIT_OPEN, HIT_CLOSED or HIT_REVIEWED */
	/*
	 * Why UpdateExpirationForHIT was refused for this HIT, for good; ""
	 * while it was not.  A refused HIT is not asked again.
	 */
	char extension_refused[512];
};

/*
 * hits.closed: open (being polled); closed (its stage is done, or it
 * vanished), still to be moved out of MTurk's Reviewable list; reviewed
 * (moved to Reviewing, or nothing left to move).  Closed is the intent of
 * the UpdateHITReviewStatus that makes it reviewed (spec section 9).
 */
enum {
	HIT_OPEN = 0,
	HIT_CLOSED = 1,
	HIT_REVIEWED = 2,
};

/*
 * Where the payment of an assignment stands: pending (to approve, or to
 * leave to the operator), approved, rejected (outside the daemon), or
 * manual (approve: manual; the operator decides).
 */
enum approval {
	APPROVAL_PENDING = 0,
	APPROVAL_APPROVED,
	APPROVAL_REJECTED,
	APPROVAL_MANUAL,
};

/* "pending", "approved", "rejected", "manual"; "?" for another value. */
const char *approval_str(enum approval a);
/* -1 for an unknown name. */
int approval_parse(const char *name);

struct assignment_rec {
	char assignment_id[ID_MAX];
	char worker_id[256];
	char hit_id[ID_MAX];
	char image_id[ID_MAX];
	int stage;
	int64_t submit_time;
	int64_t accept_time;
	int valid;
	char invalid_reason[256];
	char *boxes;	/* JSON [[x,y,w,h],...]; owned */
	char face_found[8];
	char *feedback; /* owned */
	enum approval approval;
	int granted;
};

void assignment_rec_cleanup(struct assignment_rec *a);
void assignment_recs_free(struct assignment_rec *a, size_t n);

/*
 * Every store function returns a status only (IF_OK or an error code);
 * what a lookup found, or whether an insert inserted, travels in its own
 * out-parameter, set false on an error.
 */
int store_image_insert(struct state *st, const struct image_rec *im,
		       struct errbuf *eb);
/* *found false: no image of that id (out untouched). */
int store_image_get(struct state *st, const char *id, struct image_rec *out,
		    bool *found, struct errbuf *eb);
/* All images in experiment order; *out is freed with free(). */
int store_images_list(struct state *st, struct image_rec **out, size_t *n,
		      struct errbuf *eb);
int store_image_update(struct state *st, const struct image_rec *im,
		       struct errbuf *eb);
/*
 * The images a pass works on: up to max of those not final (neither done
 * nor failed), the soonest due first (next_at, then seq), returned in the
 * order of store_images_list.  An index keeps it proportional to the
 * images with work to do, not to the study.
 */
int store_images_pending(struct state *st, size_t max,
			 struct image_rec **out, size_t *n, struct errbuf *eb);
/*
 * The images due by now (not final, next_at <= now): up to max, the
 * soonest due first, returned in the order of store_images_list.  It
 * reads the rows it returns (an index range), not the images waiting.
 */
int store_images_due(struct state *st, int64_t now, size_t max,
		     struct image_rec **out, size_t *n, struct errbuf *eb);
/* How many images are due by now, counted up to max (*n <= max). */
int store_images_due_count(struct state *st, int64_t now, size_t max,
			   size_t *n, struct errbuf *eb);
/* *found: some WAIT image is due by now (the due range of an index). */
int store_wait_due(struct state *st, int64_t now, bool *found,
		   struct errbuf *eb);
/*
 * The HIT types of the open HITs (created, not closed) one at a time:
 * the first greater than after ("" for the first); *found false after
 * the last.  One index seek each, whatever the number of open HITs.
 */
int store_hit_types_after(struct state *st, const char *after, char *out,
			  size_t size, bool *found, struct errbuf *eb);
/*
 * Makes due now (next_at = now) each WAIT image that waits on an open
 * HIT of hit_ids and was not due yet; *woken how many.  The work is one
 * lookup per HITId, not a look at every image waiting.
 */
int store_images_wake_hits(struct state *st, const char (*hit_ids)[ID_MAX],
			   size_t n, int64_t now, size_t *woken,
			   struct errbuf *eb);
/* The same for every WAIT image of an open HIT of type hit_type_id. */
int store_images_wake_type(struct state *st, const char *hit_type_id,
			   int64_t now, size_t *woken, struct errbuf *eb);
/* The images' counts by state, from one query (no list in memory). */
struct image_counts {
	size_t images, done, failed, paused;
	size_t erring;	 /* not final, with a remote error */
	int64_t next_at; /* soonest next_at (at least 1) of those not
			    final; 0 when every image is final */
};
int store_image_counts(struct state *st, struct image_counts *out,
		       struct errbuf *eb);
/* The images in state s, in the order of store_images_list. */
int store_images_in_state(struct state *st, enum image_state s,
			  struct image_rec **out, size_t *n,
			  struct errbuf *eb);
/* The seq a new image gets: one past the largest, 0 for the first. */
int store_image_next_seq(struct state *st, int64_t *out, struct errbuf *eb);

int store_hit_insert(struct state *st, const struct hit_rec *h,
		     struct errbuf *eb);
/* The HIT of image/stage/attempt; *found false when there is none. */
int store_hit_get(struct state *st, const char *image_id, int stage,
		  int attempt, struct hit_rec *out, bool *found,
		  struct errbuf *eb);
/* The HIT MTurk knows as hit_id (an index, schema 5); *found false if
 * none. */
int store_hit_by_hit_id(struct state *st, const char *hit_id,
			struct hit_rec *out, bool *found, struct errbuf *eb);
int store_hit_update(struct state *st, const struct hit_rec *h,
		     struct errbuf *eb);
/* store_hit_update of hit (a struct hit_rec *) for state_transaction. */
int store_hit_write(struct state *st, void *hit, struct errbuf *eb);
/* Every HIT of an image (all stages), oldest first. */
int store_hits_for_image(struct state *st, const char *image_id,
			 struct hit_rec **out, size_t *n, struct errbuf *eb);
/* Every created HIT (hit_id known) whose closed is closed, oldest first. */
int store_hits_closed(struct state *st, int closed, struct hit_rec **out,
		      size_t *n, struct errbuf *eb);
/*
 * Money committed: the cost of every HIT intent, and of every Prolific
 * approval and bonus record (daemon/recruit.h), in cents.
 */
int store_committed_cents(struct state *st, int64_t *out, struct errbuf *eb);
/* Counts of HITs created and still open. */
int store_hit_counts(struct state *st, int64_t *open, int64_t *total,
		     struct errbuf *eb);

/* *inserted false: recorded already (the row is left as it was). */
int store_assignment_insert(struct state *st, const struct assignment_rec *a,
			    bool *inserted, struct errbuf *eb);
int store_assignments_for(struct state *st, const char *image_id, int stage,
			  struct assignment_rec **out, size_t *n,
			  struct errbuf *eb);
int store_assignment_set_approval(struct state *st, const char *assignment_id,
				  const char *worker_id, enum approval approval,
				  struct errbuf *eb);
int store_assignment_set_granted(struct state *st, const char *assignment_id,
				 const char *worker_id, struct errbuf *eb);

int store_stage_result_put(struct state *st, const char *image_id, int stage,
			   int window, const char *boxes_json, int assignments,
			   int64_t now, struct errbuf *eb);
/*
 * The aggregated boxes JSON of one stage (free() *boxes_json); *found
 * false, and *boxes_json NULL, when the stage is not aggregated.
 */
int store_stage_result_get(struct state *st, const char *image_id, int stage,
			   char **boxes_json, bool *found, struct errbuf *eb);

/* The stage's qualification type into qual_id (size bytes), if known. */
int store_qual_get(struct state *st, int stage, char *qual_id, size_t size,
		   bool *found, struct errbuf *eb);
int store_qual_put(struct state *st, int stage, const char *qual_id,
		   struct errbuf *eb);
/* *granted: the worker has the stage's qualification already. */
int store_grant_get(struct state *st, const char *worker_id, int stage,
		    bool *granted, struct errbuf *eb);
int store_grant_put(struct state *st, const char *worker_id, int stage,
		    int64_t now, struct errbuf *eb);

/* ---- store_stage0.c: stage 0, the starting boxes (issue 17) ----------- */

/* "experiment NAME stage N" with the longest name, and room to spare. */
#define STAGE0_ORIGIN_MAX 96

/*
 * One starting box and where it came from: "image" (images[].boxes),
 * "file" (images[].boxes_file), "experiment NAME stage N" (start_from) or
 * "detector" (already grown by the detector's margin).
 */
struct stage0_box {
	struct box box;
	char origin[STAGE0_ORIGIN_MAX];
};

/*
 * Records the starting boxes of image_id (n may be 0: recorded, none),
 * once: *inserted false when stage 0 was recorded already, and then
 * nothing is written.  Call it inside the caller's transaction.
 */
int store_stage0_put(struct state *st, const char *image_id,
		     const struct stage0_box *boxes, size_t n, int64_t now,
		     bool *inserted, struct errbuf *eb);
/*
 * The starting boxes of image_id in the order recorded, with their
 * origins; *recorded false (and *out NULL, *n 0) while stage 0 is not
 * recorded.  free() *out.
 */
int store_stage0_get(struct state *st, const char *image_id,
		     struct stage0_box **out, size_t *n, bool *recorded,
		     struct errbuf *eb);

/* ---- stage0.c: gathering the starting boxes (issue 17) ----------------- */

struct run_ctx;
struct start_source;

/*
 * The other experiment of start_from, its state opened read-only: IF_EINPUT
 * (or the state's own error) naming the directory when it has no state or
 * is this experiment's own.
 */
int start_source_open(const struct experiment *exp,
		      struct start_source **out, struct errbuf *eb);
void start_source_close(struct start_source *s);
/* The other experiment's name, as its state records it. */
const char *start_source_name(const struct start_source *s);
/*
 * What the other experiment had redacted of image_id by the end of its
 * stage: its stage 0 and stages 1..N, with origins "experiment NAME stage
 * k".  *shared false (nothing else) when it has no image of that id;
 * IF_EINPUT naming directory, stage and image when its stage is not
 * finished, or when fingerprint (may be NULL) is not its photo's.
 */
int start_source_boxes(struct start_source *s, const char *image_id,
		       const char *fingerprint, struct stage0_box **out,
		       size_t *n, bool *shared, struct errbuf *eb);
/*
 * Records im's stage 0 unless it is: its own boxes, boxes_file's,
 * start_from's and the detector's (loaded once per run).  IF_EINPUT with
 * the reason in cause when this image cannot start (start_from cannot give
 * its boxes, its original cannot be read: it should fail); errors of our
 * own state, memory, detector, or start_from's state gone since run
 * started, in eb (they stop the daemon).
 */
int stage0_ensure(struct run_ctx *ctx, const struct image_rec *im,
		  struct errbuf *cause, struct errbuf *eb);
/*
 * At start (run): every image of start_from's experiment that this one
 * shares and has not recorded stage 0 for must be the same photo and have
 * finished the stage; and one image at least must be shared.  IF_EINPUT
 * (or the other state's error) naming the directory, stage and image.
 */
int stage0_check_start(struct run_ctx *ctx, struct errbuf *eb);

/* What `check` shows: the starting boxes each image would have today. */
struct stage0_preview {
	size_t nimages;
	struct stage0_box **boxes; /* per image, in the experiment's order */
	size_t *counts;
	char *source_name; /* start_from's experiment, or NULL */
	/*
	 * Why start_from's boxes are not there (no state yet, a stage not
	 * finished, another photo: what run refuses to start with), or NULL.
	 * Its boxes are then left out.
	 */
	char *problem;
};

/*
 * Every image's own boxes, boxes_file's and start_from's (its state read,
 * never written); the detector's are left to run.  A problem of
 * start_from's state goes to p->problem; only memory fails.
 */
int stage0_preview(const struct experiment *exp, struct stage0_preview *p,
		   struct errbuf *eb);
void stage0_preview_free(struct stage0_preview *p);

/*
 * stage.c: the original of im through the calling thread's renderer
 * (run_renderer), checked against the fingerprint the experiment started
 * with (IF_EINPUT when it changed or cannot be read); *data stays valid
 * until the renderer's next call.
 */
int image_read_original(struct run_ctx *ctx, const struct image_rec *im,
			const char **path, const void **data, size_t *len,
			struct errbuf *eb);

/* ---- notify.c: sd_notify ------------------------------------------------ */

struct notifier {
	bool enabled;		/* NOTIFY_SOCKET is set */
	uint64_t watchdog_usec; /* 0 = no watchdog asked for */
};

void notify_init(struct notifier *n);
void notify_ready(const struct notifier *n);
void notify_reloading(const struct notifier *n);
void notify_stopping(const struct notifier *n);
void notify_watchdog(const struct notifier *n);
void notify_status(const struct notifier *n, const char *status);

/* ---- loop.c: signals and sleeping --------------------------------------- */

/*
 * Installs the SIGTERM/SIGINT/SIGHUP flag handlers, blocks those signals
 * (call before any thread starts, so that threads inherit the mask) and
 * fills *unblocked with the mask loop_sleep() waits under.
 */
int loop_signals_init(sigset_t *unblocked, struct errbuf *eb);
bool loop_stop_requested(void);
void loop_request_stop(void);
/* True once per SIGHUP received. */
bool loop_take_reload(void);
void loop_sleep(const sigset_t *unblocked, int64_t ms);

/* ---- the run context ----------------------------------------------------- */

/*
 * Where a HIT type's Reviewable listing goes on (poll.c): the NextToken
 * its last page gave, "" for the first page.  A token is 1-255
 * characters (the API model's PaginationToken).
 */
struct poll_cursor {
	char type[ID_MAX];
	char token[256];
};

struct experiment;
struct mturk_client;
struct mturk_image_host;
struct sim_server;
struct aws_creds;

/*
 * Everything one `run` needs, passed explicitly (no globals), so that the
 * simulator and the daemon coexist in one process and tests can run two.
 */
struct run_ctx {
	const char *exp_path;
	struct experiment *exp;
	struct state *st;
	struct mturk_client *client;
	struct mturk_image_host *host;
	struct sim_server *sim; /* the embedded simulator, or NULL */
	struct aws_creds *creds;
	struct notifier notify;
	char salt[40];		 /* per-state secret mixed into HIT tokens */
	char hit_type[16][ID_MAX]; /* per stage, "" until created this run */
	/* per stage slot (exp_qual_slot), with exclusive_stages */
	char qual_type[EXP_STAGES_MAX][ID_MAX];
	int threads;		 /* median filter threads (0 = all cores) */
	/* Stage images, buffers kept between them; made on first use. */
	struct img_renderer *renderer;
	int jpeg_quality;
	bool tty;		 /* stderr is a terminal: live progress line */
	uint64_t api_calls;	 /* MTurk operations called this run */
	bool halt_cleared;	 /* a stop of an earlier run is forgotten */
	/*
	 * The poll round under way (poll.c): the HITs that ListReviewableHITs
	 * gave for the HIT types listed this round, sorted; NULL between
	 * rounds.  reviews_swept: the first pass's look at every closed HIT
	 * (stage.c, hits_review_sweep) is done.
	 */
	char (*reviewable)[ID_MAX];
	size_t nreviewable;
	/*
	 * The round's HIT types (the open HITs'), and which of them were
	 * listed; poll_round_at: when the next round lists (run's clock;
	 * 0: at the next pass).
	 */
	char (*round_types)[ID_MAX];
	unsigned char *round_listed;
	size_t nround_types;
	int64_t poll_round_at;
	/*
	 * The round under way lists until the images it woke fill the
	 * room the pass has left (round_room) or it has listed
	 * round_rows_max HITs; poll_cursors: where each HIT type's listing
	 * goes on at the next round (poll.c; in memory only), tokens of
	 * the service at poll_cursors_endpoint (a reload may change it).
	 */
	size_t round_room, round_rows_max, round_woken, round_rows;
	struct poll_cursor *poll_cursors;
	size_t npoll_cursors;
	char *poll_cursors_endpoint;
	bool reviews_swept;
	/*
	 * The experiment's images sorted by id (exp_index.c), built for
	 * indexed_exp; NULL, or another experiment: run_exp_image walks.
	 */
	const struct exp_image **images_by_id;
	size_t nimages_by_id;
	const struct experiment *indexed_exp;
	int64_t (*now)(void *arg); /* seconds since the epoch */
	void *now_arg;
	/*
	 * Stage 0 (stage0.c): the detector, loaded on first use, and the
	 * state of start_from's experiment, opened on first use; NULL until
	 * then.  engine_close() frees them.
	 */
	struct face_detector *detector;
	struct start_source *start;
	/* Test hook: SIGKILL at this crash point (0 = never); see stage.c. */
	int64_t crash_at;
	const char *crash_label; /* count only points of this name, or NULL */
	int64_t crash_points;
	/*
	 * The server's push (push.c): the server's clock of its last answer
	 * (the next wait's cursor), when a failed wait's rest ends, and
	 * whether the log said it is used.
	 */
	int64_t push_since;
	int64_t push_rest_until;
	bool push_noted;
	/* The threads of a pass's rounds (pool.c), or NULL: one by one. */
	struct run_pool *pool;
};

/* ---- calibrate.c: the crowd's detection curve (docs/calibrate.md) ----- */

/* One worker facing one face the served image did not hide. */
struct calib_obs {
	double x;   /* the face's smaller side / the stage's window */
	bool found; /* the worker's boxes cover at least half of it */
};

struct calib_data {
	struct calib_obs *obs;
	size_t n, cap;
};

int calib_add(struct calib_data *d, double x, bool found);
void calib_data_cleanup(struct calib_data *d);

/* P(found) = 1 / (1 + exp(-k (x - x0))), fitted by maximum likelihood. */
struct calib_fit {
	double k, x0;	    /* the curve */
	double se_k, se_x0; /* standard errors (observed information) */
	double a, b;	    /* eta = a + b x: b = k, a = -k x0 */
	double var_a, var_b, cov_ab;
	double loglik;
	size_t n, found;
	int iterations;
};

/* The curve's value at x. */
double calib_p(double k, double x0, double x);
/*
 * Fits the curve to d.  IF_EINPUT when the data cannot determine it
 * (fewer than 10 observations, all found or all missed, separated).
 */
int calib_fit(const struct calib_data *d, struct calib_fit *f,
	      struct errbuf *eb);

/* What the operator asks of a schedule. */
struct calib_target {
	int min_face;	  /* the smallest face side to find, px */
	double recall;	  /* wanted for faces of that side, 0..1 */
	int workers;	  /* assignments per HIT */
	int first_window; /* odd, >= 3 */
	int64_t assignment_cents; /* reward + fee; 0 = unknown */
};

struct calib_plan {
	int windows[EXP_STAGES_MAX];
	size_t nwindows;
	double p_stage[EXP_STAGES_MAX]; /* one worker, smallest face */
	double recall;		/* for the smallest face */
	double recall_double;	/* for faces twice as large */
	int64_t assignments;	/* per image */
	int64_t cost_cents;	/* per image; 0 when the price is unknown */
};

/*
 * The cheapest schedule (fewest stages) from first_window reaching the
 * recall for min_face under the fitted curve, with the widest last
 * window among those; IF_EINPUT when none of up to EXP_STAGES_MAX does.
 */
int calib_schedule(const struct calib_fit *f, const struct calib_target *t,
		   struct calib_plan *p, struct errbuf *eb);

struct calib_counts {
	size_t images, stages, assignments, hidden;
};

/*
 * The observations of a finished experiment: its images' ground truth
 * (exp) and its state (state_dir/state.db, opened read-only).
 */
int calib_collect(const struct experiment *exp, const char *state_dir,
		  struct calib_data *d, struct calib_counts *c,
		  struct errbuf *eb);
int cmd_calibrate(int argc, char **argv); /* cmd_calibrate.c */

/* state_dir.c: --state-dir, else $STATE_DIRECTORY, else ./state/NAME. */
char *state_dir_for(const char *given, const char *exp_name);

/* ---- push.c: waiting on the server's push (issue 19) -------------------- */

enum push_outcome {
	PUSH_ABSENT,	/* not offered, or resting after a failure: sleep */
	PUSH_FAILED,	/* the wait failed (logged): sleep */
	PUSH_SIGNALLED, /* a signal ended the wait */
	PUSH_QUIET,	/* the wait ended with nothing of ours due */
	PUSH_WOKE,	/* images were made due now */
};

/*
 * Waits up to wait_ms on the server's push, under the signal mask
 * unblocked, making the images of HITs that became Reviewable due now.
 * *how says what happened; PUSH_ABSENT and PUSH_FAILED leave the sleep to
 * the caller.  Only errors of the state are returned.
 */
int push_wait(struct run_ctx *ctx, const sigset_t *unblocked, int64_t wait_ms,
	      enum push_outcome *how, struct errbuf *eb);

/* ---- engine.c: the daemon (intofocus run) -------------------------------- */

/* What one run is given; strings are borrowed for the engine's life. */
struct engine_config {
	const char *exp_path;
	const char *state_dir;	/* NULL: state_dir_for()'s default */
	int threads;		/* median filter threads (0 = all cores) */
	/* The embedded simulator (environment: simulator, no endpoint). */
	uint64_t sim_seed;
	int64_t sim_delay_ms;	/* a simulated worker's delay */
	int64_t sim_latency_ms;	/* each request's wait, as if remote */
	bool sim_memory;	/* nothing on disk: not beside the state */
	bool sim_no_push;	/* it offers no push: the daemon polls */
	const char *const *sim_refusals; /* as intofocus sim --refuse */
	size_t sim_nrefusals;
	/*
	 * Tests: the clock (seconds) of the daemon, of its signatures and of
	 * the embedded simulator [default: NULL = the wall clock, with the
	 * INTOFOCUS_TEST_TIME_* hooks for the daemon's].
	 */
	int64_t (*now)(void *arg);
	void *now_arg;
};

/* Where the images stand, from the state. */
struct engine_progress {
	size_t images, final, done, failed, paused;
	size_t erring; /* working images whose last step failed */
	int64_t open_hits, total_hits, committed;
	int64_t next_at; /* earliest next_at of a working image, 0 = none */
	bool finished;	 /* engine_pass: every image was final already */
};

struct engine;
struct exp_errors;

/*
 * Start-up: loads the experiment (its problems into errs, when not NULL),
 * blocks SIGTERM/SIGINT/SIGHUP, opens and recovers the state, finds the
 * credentials, starts the embedded simulator when the experiment asks for
 * it, connects the MTurk client and the image host, and adds the
 * experiment's new images.  engine_close() undoes all of it.
 */
int engine_open(const struct engine_config *cfg, struct exp_errors *errs,
		struct engine **out, struct errbuf *eb);
void engine_close(struct engine *e);
/* The run context, for tests that look into the state. */
struct run_ctx *engine_ctx(struct engine *e);
/*
 * The loop: READY=1, then passes until every image is final, or until
 * SIGTERM/SIGINT once the step under way is done; then a summary in the
 * log.  Only errors of our own state (SQLite, disk) are returned.
 */
int engine_run(struct engine *e, struct errbuf *eb);
/*
 * One pass of the loop, without sleeping: a reload when SIGHUP asked for
 * one, the poll round, one step of every image due, and the progress after
 * them in *p (p->finished when every image was final before the pass).
 */
int engine_pass(struct engine *e, struct engine_progress *p,
		struct errbuf *eb);
/*
 * The loop's wait after a pass that left p: on the server's push when it
 * offers one, else asleep; up to the earliest next_at, and never more
 * than max_ms of the wall clock (tests; <0: no bound).  *how says which.
 */
int engine_wait(struct engine *e, const struct engine_progress *p,
		int64_t max_ms, enum push_outcome *how, struct errbuf *eb);
/*
 * Rereads the experiment file under the rules of spec section 3: a file
 * that does not load, or changes what started images depend on, is
 * refused (logged; the old plan continues, IF_OK).  Paused and erring
 * images look again at once; new images are added.
 */
int engine_reload(struct engine *e, struct errbuf *eb);

/* ---- stage.c: the per-image state machine -------------------------------- */

/*
 * One bounded step of one image's state machine.  Remote failures that may
 * pass are retried later (next_at); an image that cannot go on is moved to
 * FAILED with the reason.  Only errors of our own state (SQLite, disk) are
 * returned, and they stop the daemon.
 */
int image_step(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb);
/*
 * image_step again and again while the image can go on without waiting
 * for anyone: from a finished stage's answers to its next HIT (or the
 * final image) in one call.  Returns like image_step.
 */
int image_advance(struct run_ctx *ctx, struct image_rec *im,
		  struct errbuf *eb);
/*
 * One pass over the images due by now (list from store_images_pending):
 * the WAIT images' steps first (answers read, qualifications granted),
 * then image_advance for every image that can go on.  The first error
 * of our own state is returned.
 */
int images_advance_due(struct run_ctx *ctx, struct image_rec *list, size_t n,
		       int64_t now, struct errbuf *eb);

/* ---- pool.c: several images' steps at once (issue 19) -------------------- */

struct run_pool;
struct img_renderer;
/* Part i of a round (arg: the round's); returns like image_step. */
typedef int (*run_pool_job)(struct run_ctx *ctx, size_t i, void *arg,
			    struct errbuf *eb);
/*
 * threads (at most 8) for ctx->pool, each with a clone of ctx->client and
 * ctx->host, which must outlive the pool.
 */
int run_pool_new(struct run_ctx *ctx, size_t threads, struct run_pool **out,
		 struct errbuf *eb);
void run_pool_free(struct run_pool *p);
/*
 * job for i = 0 .. n - 1: on ctx->pool's threads, at once, taking turns
 * on the pass lock; without a pool, or for one, one after another here.
 * The watchdog is fed as each ends; after the first error (returned) or a
 * stop request the rest are skipped.
 */
int run_pool_each(struct run_ctx *ctx, size_t n, run_pool_job job, void *arg,
		  struct errbuf *eb);
/* The MTurk client, image host and renderer of the calling thread. */
struct mturk_client *run_client(const struct run_ctx *ctx);
struct mturk_image_host *run_host(const struct run_ctx *ctx);
struct img_renderer **run_renderer(struct run_ctx *ctx);
/*
 * Around a request on run_client/run_host, or a render on run_renderer: a
 * pool thread lets go of the pass lock meanwhile, so that the others go
 * on.  Nothing of ctx is written in between, and nothing read that a
 * pass changes.  No-ops on the pass's own thread.
 */
void run_pass_unlock(const struct run_ctx *ctx);
void run_pass_lock(const struct run_ctx *ctx);

/*
 * Seconds before the retry of a step whose attempt n (1-based) failed for a
 * passing reason: 15 s doubling up to 15 minutes, with "equal jitter" from
 * r (half the wait fixed, half r's share of it).  In failure.c.
 */
int64_t stage_retry_delay(int n, uint32_t r);

/* The run's clock (ctx->now), seconds since the epoch. */
int64_t run_now(const struct run_ctx *ctx);
/* The kill -9 suites' hook (INTOFOCUS_TEST_CRASH_AT); see stage.c. */
void run_crash_point(struct run_ctx *ctx, const char *where);

/*
 * The one place where an image changes state: in one transaction, with
 * (st, with_arg) first when with is not NULL, then the image row; then the
 * journal line.  On a failure nothing is written and *im is as it was.
 * reason may be NULL.
 */
int image_enter_state(struct run_ctx *ctx, struct image_rec *im,
		      enum image_state to,
		      int (*with)(struct state *st, void *arg,
				  struct errbuf *eb),
		      void *with_arg, struct errbuf *eb, const char *reason,
		      ...) __attribute__((format(printf, 7, 8)));
/* Saves next_at (and anything else changed in im) without a transition. */
int image_save(struct run_ctx *ctx, struct image_rec *im, struct errbuf *eb);

/* ---- failure.c: what a failed remote step leads to ---------------------- */

/*
 * Whose request failed: the image's own (its HIT, that HIT's assignments
 * and expiry), so a refusal fails that image and the others go on; one
 * every image needs (the HIT type, the qualification types, the image
 * host's bucket); or a payment or exclusion that the operator must settle
 * (an approval or a grant refused for good).  A refusal of the last two
 * stops the daemon rather than failing the images one after another.
 */
enum failure_scope {
	SCOPE_IMAGE,
	SCOPE_EXPERIMENT,
	SCOPE_SETTLEMENT,
};

/*
 * The one decision about a remote step that failed, by what the failure
 * means (its typed fault): passing ones are retried with backoff; a
 * request of this image refused fails the image, with the reason; account-
 * wide ones, and refusals outside SCOPE_IMAGE, stop the daemon.  fault
 * NONE (a failure before any call) counts as passing, or as a refused
 * request when cause says the input is invalid.
 */
int image_remote_failed(struct run_ctx *ctx, struct image_rec *im,
			const char *what, enum mturk_fault fault,
			enum failure_scope scope, const struct errbuf *cause,
			struct errbuf *eb);
/* A passing failure: try again later, backing off, and say so. */
int image_retry_later(struct run_ctx *ctx, struct image_rec *im,
		      const char *what, const struct errbuf *cause,
		      struct errbuf *eb);
/* Moves the image to FAILED with the message of a failure. */
int image_fail(struct run_ctx *ctx, struct image_rec *im, const char *what,
	       const struct errbuf *cause, struct errbuf *eb);
/* Notes a failure of this step in the image row (saved by the caller). */
void image_note_error(struct run_ctx *ctx, struct image_rec *im,
		      const char *what, const struct errbuf *cause);

/* ---- review.c: finished HITs out of the Reviewable list ----------------- */

/*
 * UpdateHITReviewStatus(Revert=false) for a closed HIT, then HIT_REVIEWED.
 * A HIT not Reviewable yet (closed with part of its answers before its
 * expiry) stays HIT_CLOSED for a later pass, unless last_try says it is
 * past the time it could still be worked on: it is then left where it is,
 * with a warning, rather than asked about on every pass.  A HIT MTurk no
 * longer has is done too.  Returns only errors of our own state.
 */
int hit_review(struct run_ctx *ctx, struct hit_rec *h, bool last_try,
	       struct errbuf *eb);

/*
 * Moves the HITs whose stage is done (HIT_CLOSED) out of MTurk's
 * Reviewable list with UpdateHITReviewStatus, and records them as
 * HIT_REVIEWED.  Each pass looks at those the poll round saw Reviewable
 * and those past their expiry and assignment duration; the first pass of
 * a run at all of them (recovery after a crash between the two).  Only
 * errors of our own state are returned.
 */
int hits_review_sweep(struct run_ctx *ctx, int64_t now, struct errbuf *eb);

/* ---- exp_index.c: the experiment's images by id ------------------------- */

/* Sorts ctx->exp's images by id (again after a reload). */
int run_images_index(struct run_ctx *ctx, struct errbuf *eb);
void run_images_unindex(struct run_ctx *ctx);
/* exp_image_find and exp_window of ctx->exp, by bisection once indexed. */
const struct exp_image *run_exp_image(const struct run_ctx *ctx,
				      const char *id);
int run_exp_window(const struct run_ctx *ctx, const char *id, size_t stage);

/* ---- poll.c: one poll per HIT type -------------------------------------- */

/*
 * Starts a pass's poll round, when one is due (a poll interval after the
 * last, at the first pass of a run, or when a WAIT image is due: a new
 * HIT, or one a push named), some HIT is open and the images due leave
 * room in the pass (pass_max): for every HIT type of the open HITs,
 * ListReviewableHITs(Status=Reviewable) a page at a time from where the
 * type's last round stopped, into ctx->reviewable, the WAIT images of
 * each page's HITs made due now (saved), until they fill the room or
 * the round has listed pass_max HITs; a listing that reaches the end of
 * its list starts again from the first page at the next round.  A type
 * whose listing failed has every WAIT image of its open HITs made due,
 * to be polled one by one (ListAssignmentsForHIT).  *take gets how many
 * due images the pass reads: pass_max, or more so that every image the
 * listing woke is read.  Call it before reading the due images.  Only
 * errors of our own state are returned.
 */
int poll_round_begin(struct run_ctx *ctx, int64_t now, size_t pass_max,
		     size_t *take, struct errbuf *eb);
/*
 * The due WAIT images of list (the loop's copy, changed in place): one
 * whose HIT was listed Reviewable, is close to its expiry, or was not
 * listed (no type, or its listing failed) keeps due, for its step to
 * read its answers; every other one sleeps until its HIT's expiry margin
 * (saved; no call): a later round wakes it when its HIT is Reviewable.
 */
int poll_round(struct run_ctx *ctx, struct image_rec *list, size_t n,
	       int64_t now, struct errbuf *eb);
/*
 * When the loop must pass again for the poll round: ctx->poll_round_at
 * (at least 1) while a HIT is open, else 0.
 */
int64_t poll_round_next_at(const struct run_ctx *ctx, int64_t open_hits);
/* Ends the round: frees ctx->reviewable and the round's types. */
void poll_round_end(struct run_ctx *ctx);
/* Forgets where each type's listing was (a restart; engine_close). */
void poll_cursors_free(struct run_ctx *ctx);
/* True when this round's listing had hit_id as Reviewable. */
bool poll_seen_reviewable(const struct run_ctx *ctx, const char *hit_id);
/*
 * How long before its expiry a HIT that lacks answers is polled and
 * extended, in seconds: a minute, or a quarter of a shorter lifetime.
 */
int64_t hit_expiry_margin(const struct experiment *exp);

/* The state's per-experiment secret for tokens (created on first use). */
int run_salt_load(struct run_ctx *ctx, struct errbuf *eb);
/*
 * At start: when an earlier run stopped on an error (run_halt) and no image
 * has moved since, records in the state that this run started after that
 * stop (halt_restarted_at), so that status does not show the daemon as
 * stopped while it runs again.  A new stop clears it.
 */
int run_note_start(struct run_ctx *ctx, struct errbuf *eb);

/*
 * The UniqueRequestToken of a HIT: hex, 40 characters (IF_ERUNTIME when
 * the digest cannot be computed).
 */
int hit_token(const char *salt, const char *annotation, int attempt,
	      char out[41]);

/* ---- aggregate.c --------------------------------------------------------- */

int boxes_to_json(const struct box *boxes, size_t n, char **out,
		  struct errbuf *eb);
int boxes_from_json(const char *text, struct box **out, size_t *n,
		    struct errbuf *eb);
/*
 * A worker's boxes with their confidences: [x, y, w, h] or [x, y, w, h, c]
 * with c in 0..100.  conf (may be NULL) gets one value per box, -1 where
 * none was given; free() it.  boxes_from_json() reads the same form and
 * leaves the confidences out.
 */
int boxes_conf_from_json(const char *text, struct box **out, int **conf,
			 size_t *n, struct errbuf *eb);
/* conf NULL, or -1 for a box, writes that box without a confidence. */
int boxes_conf_to_json(const struct box *boxes, const int *conf, size_t n,
		       char **out, struct errbuf *eb);
/*
 * The boxes a stage redacts, from its recorded assignments (submission
 * order): union, first, or the majority pixel vote of the valid answers.
 * rule is an enum exp_aggregate.
 */
int aggregate_boxes(int rule, const struct assignment_rec *a, size_t n, int w,
		    int h, struct box **out, size_t *nout, struct errbuf *eb);

/* ---- turk.c: MTurk beyond single calls ----------------------------------- */

/*
 * The HIT type of stage (from 1) and, with exclusive_stages, every stage's
 * qualification type, created once per run (both are idempotent at MTurk).
 * A remote failure comes back as the call returned it, in cause (IF_ETEMP:
 * retry); a failure of the state (the qualification types are kept there)
 * in eb.
 */
int stage_setup(struct run_ctx *ctx, int stage, struct errbuf *cause,
		struct errbuf *eb);
/*
 * Refuses (IF_EINPUT) a state whose stage qualification types were made
 * for another hit.exclusivity_group (or none) than the file's: grants made
 * under the old types would not keep anyone out of the new ones.
 */
int run_quals_check(struct run_ctx *ctx, struct errbuf *eb);

/* An answer as the state stores it. */
struct parsed_answer {
	char *boxes_json; /* [[x,y,w,h],...] clipped to the image */
	size_t nboxes;
	double union_share; /* of the image the boxes' union covers, 0..1 */
	char face_found[8];
	char *feedback;
};

/* IF_EINPUT with the reason when the answer cannot be used. */
int answer_to_record(const char *xml, int w, int h, struct parsed_answer *pa,
		     struct errbuf *why);
void parsed_answer_cleanup(struct parsed_answer *pa);

/* The HTMLQuestion XML of an image's current stage, showing image_url. */
int task_question(struct run_ctx *ctx, const struct image_rec *im,
		  const char *image_url, struct buf *out, struct errbuf *eb);

/* ---- output.c: the final files ------------------------------------------- */

/* sha256 of a file's bytes, hex. */
int file_fingerprint(const char *path, char out[65], struct errbuf *eb);
/* The same of bytes already read (IF_ERUNTIME when it cannot be had). */
int data_fingerprint(const void *data, size_t len, char out[65]);

/*
 * Writes output_dir/<id>.jpg (the final image, no metadata) and
 * output_dir/<id>.json (boxes per stage and worker, HITs, times, cost).
 */
struct json_t;
/* The record of one image as a new JSON object (status, report, outputs). */
int image_record_json(struct run_ctx *ctx, const struct image_rec *im,
		      struct json_t **out, struct errbuf *eb);

int write_outputs(struct run_ctx *ctx, const struct image_rec *im,
		  const struct img *final, struct errbuf *eb);

/* ---- sim_view.c: the simulator's view of an experiment ------------------ */

#include "mturk/mturk.h"
#include "sim/sim.h"

struct experiment;

/*
 * What the embedded or standalone simulator learns of an experiment: its
 * windows and each image's size and ground truth.  Borrows names from exp,
 * which must outlive the view.
 */
struct sim_view {
	struct sim_experiment exp; /* pass &view.exp to sim_add_experiment() */
	struct sim_image *images;
	struct sim_face **faces;
	struct sim_face **hidden; /* each image's stage 0 known to the file */
	size_t nimages;
	struct sim_crowd_model crowd; /* the experiment's simulator: keys */
};

int sim_view_init(struct sim_view *v, const struct experiment *exp,
		  struct errbuf *eb);
void sim_view_cleanup(struct sim_view *v);
/* --listen's "HOST:PORT" (or "[::1]:PORT"); IF_EINPUT naming it. */
int sim_parse_listen(const char *s, char *host, size_t hostlen,
		     unsigned *port, struct errbuf *eb);

/* ---- metrics.c: the seed's table 1 (spec section 8) --------------------- */

#define METRICS_STAGES_MAX 16 /* EXP_STAGES_MAX */

/*
 * One image's (or the total's) counts.  Areas are pixels; the _pct fields
 * are percentages of the area of the image the face is in.  A face is
 * found when the final redaction covers at least 50% of its area.
 */
struct image_metrics {
	bool has_truth;		 /* false: listed, left out of totals */
	size_t images;		 /* totals only: images counted */
	size_t faces, found;
	int64_t image_area;	 /* in the total: the sum */
	int64_t largest_face;	 /* 0 without faces */
	int64_t largest_missed;	 /* 0 when every face was found */
	int64_t smallest_found;	 /* -1 when none was found */
	double largest_face_pct, largest_missed_pct, smallest_found_pct;
	/* The same faces' width x height (clipped to the image). */
	int largest_face_w, largest_face_h;
	int largest_missed_w, largest_missed_h;
	int smallest_found_w, smallest_found_h;
	/*
	 * metrics_stages(): found_by_stage[k]: faces the redaction of stages
	 * 1..k+1 covers (cumulative, with stage 0's starting boxes);
	 * nstages = 0 until measured.
	 */
	size_t nstages;
	size_t found_by_stage[METRICS_STAGES_MAX];
	/*
	 * Stage 0, the starting boxes (issue 17), also from metrics_stages():
	 * has_stage0 once the image's stage 0 is recorded (in the total: for
	 * some image); stage0_boxes and stage0_detector_boxes (those of origin
	 * "detector") are counted by the caller.  found_stage0: faces stage 0
	 * covers, found_by_detector those the detector's boxes alone cover,
	 * the rest of found_stage0 by the other starting boxes; every other
	 * found face was found by the crowd (found - found_stage0).
	 */
	bool has_stage0;
	size_t stage0_boxes, stage0_detector_boxes;
	size_t found_stage0, found_by_detector;
	/*
	 * metrics_privacy_cost(): the cost of privacy in utility.
	 * redacted_area: pixels the redaction hides; redacted_outside: those
	 * of them outside every ground-truth face; boxes: redaction boxes;
	 * boxes_no_face: those that touch no face.
	 */
	bool has_cost;
	int64_t redacted_area, redacted_outside;
	size_t boxes, boxes_no_face;
};

/* One ground-truth face, as metrics_face() measures it. */
struct face_metrics {
	struct box box;	     /* clipped to the image */
	int64_t area;
	double pct;	     /* of the image */
	double covered;	     /* by the whole redaction, 0..1 */
	bool found;	     /* covered >= 0.5 */
	/*
	 * Covered by stage 0 (the starting boxes), and by the detector's
	 * boxes of stage 0 alone (metrics_face_detector).  Such a face is
	 * hidden from every worker.
	 */
	bool at_stage0, by_detector;
	/*
	 * The first crowd stage (from 1) whose redaction covers it; 0 never,
	 * or covered from stage 0 on (at_stage0).
	 */
	int first_stage;
	/* The first stage one worker covered it in; 0 never. */
	int first_worker_stage;
};

/*
 * Measures truth (faces, clipped to w x h) against redacted (the union of
 * every stage's aggregated boxes).  IF_EINPUT for an empty image size.
 */
int metrics_image(const struct box *truth, size_t ntruth,
		  const struct box *redacted, size_t nredacted, int w, int h,
		  struct image_metrics *m, struct errbuf *eb);
/*
 * Per face: size, coverage, and the first stage whose redaction covers
 * it.  redacted holds stage 0's and then the stages' boxes in stage
 * order, upto[0] of them stage 0's, upto[k] of them
 * belonging to stages 1..k (upto[0] = 0), for stages 1..nstages.  Returns
 * false for a face wholly outside the image (not measured).
 */
bool metrics_face(const struct box *face, const struct box *redacted,
		  const size_t *upto, size_t nstages, int w, int h,
		  struct face_metrics *f);
/* Sets f->by_detector: the detector's boxes cover half of the face. */
void metrics_face_detector(struct face_metrics *f, const struct box *det,
			   size_t ndet);
/* True when boxes cover at least half of face (a worker "found" it). */
bool metrics_covers(const struct box *face, const struct box *boxes,
		    size_t n);
/* Adds the per-stage cumulative counts of metrics_face() results. */
void metrics_stages(struct image_metrics *m, const struct face_metrics *f,
		    size_t nfaces, size_t nstages);
/* Fills the privacy-cost fields of m; IF_ERUNTIME out of memory. */
int metrics_privacy_cost(struct image_metrics *m, const struct box *truth,
			 size_t ntruth, const struct box *redacted,
			 size_t nredacted, int w, int h, struct errbuf *eb);
void metrics_total_init(struct image_metrics *t);
/* Adds an image with ground truth to the total; others are skipped. */
void metrics_total_add(struct image_metrics *t, const struct image_metrics *m);
/* found / faces in percent; 0 without faces. */
double metrics_found_pct(const struct image_metrics *m);
/*
 * metrics.csv: the header line, then one row per image and "total".  With
 * nstages > 0 the header ends in found_stage1..N, which rows fill from
 * their found_by_stage (empty when not measured).
 */
void metrics_csv_header(struct buf *out);
void metrics_csv_header_stages(struct buf *out, size_t nstages);
int metrics_csv_row(struct buf *out, const char *name,
		    const struct image_metrics *m);
/*
 * The same with stage 0's columns before found_stage1: stage0_boxes,
 * found_by_detector, found_by_start, found_by_crowd, found_stage0 (for an
 * experiment where some image has stage 0).
 */
void metrics_csv_header_stage0(struct buf *out, size_t nstages);
int metrics_csv_row_stage0(struct buf *out, const char *name,
			   const struct image_metrics *m);
/* A new JSON object; null for the values that do not exist. */
struct json_t *metrics_json(const struct image_metrics *m);
struct json_t *metrics_face_json(const struct face_metrics *f);

/* ---- analysis.c: workers, time, HITs and cost, one image at a time ------ */

struct analysis;
struct exp_image;

int analysis_new(const struct experiment *exp, struct analysis **out,
		 struct errbuf *eb);
void analysis_free(struct analysis *a);
/*
 * Adds one image: its assignments (all stages, submission order), its
 * HITs (oldest first) and its faces as metrics_face() measured them (NULL
 * without ground truth), whose first_worker_stage it fills in.
 */
int analysis_add_image(struct analysis *a, const struct exp_image *ei,
		       const struct assignment_rec *as, size_t nas,
		       const struct hit_rec *hits, size_t nhits,
		       struct face_metrics *faces, size_t nfaces,
		       struct errbuf *eb);
/* workers, unique_workers, time, hits and stages, as a new object. */
struct json_t *analysis_json(struct analysis *a);

/* ---- report.c: the results site (spec section 7) ------------------------ */

/*
 * Writes the results site of the experiment of ctx (exp and st set) into
 * dir: index.html with the data embedded, images/ (each stage image as
 * shown to workers, the original and the final image, re-rendered without
 * metadata), metrics.csv and metrics.json.  Shows what exists for an
 * experiment still running.  *nimages counts the images reported;
 * *metrics_out (when not NULL) gets metrics.json's object.
 */
int report_write(struct run_ctx *ctx, const char *dir, size_t *nimages,
		 struct json_t **metrics_out, struct errbuf *eb);
/*
 * The comparison page of several experiments' reports: dir/index.html
 * with their metrics.json objects (names[i]'s in metrics[i]), each
 * report in dir/<name>/.
 */
int report_compare_write(const char *dir, const char *const *names,
			 struct json_t *const *metrics, size_t n,
			 struct errbuf *eb);

#endif /* INTOFOCUS_DAEMON_H */
