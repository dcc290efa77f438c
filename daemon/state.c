/*
 * daemon/state.c - the durable state of one experiment (spec section 9).
 *
 * SQLite is the only thing here that knows SQL.  The database lives in a
 * 0700 directory as a 0600 file, in WAL mode with synchronous=FULL, so that
 * a committed transaction survives kill -9 and power loss.  The schema
 * version is PRAGMA user_version: an unknown (newer) version is refused,
 * older ones are migrated in one transaction.
 *
 * The rule that makes recovery work is "intent before action": a HIT row
 * with its UniqueRequestToken is committed before CreateHIT is called, and
 * an assignment with its parsed boxes before ApproveAssignment.  Every
 * image transition is one BEGIN IMMEDIATE ... COMMIT (see stage.c).
 */
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_SCHEMA_VERSION 5
#define STATE_FILE "state.db"

struct state {
	sqlite3 *db;
	char *path;
	/*
	 * Test hook (state_fail_write_at): the fail_at-th write statement
	 * whose SQL contains fail_match (any, when NULL) fails; 0 = never.
	 */
	int64_t fail_at;
	int64_t writes;
	char *fail_match;
};

static const char schema_v1[] =
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL);"
	/* One row per image: where its state machine stands. */
	"CREATE TABLE images ("
	"  id TEXT PRIMARY KEY,"
	"  file TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  stage INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL DEFAULT 1,"
	"  next_at INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  image_url TEXT NOT NULL DEFAULT '',"
	"  object_key TEXT NOT NULL DEFAULT '',"
	"  url_expires INTEGER NOT NULL DEFAULT 0,"
	"  started_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  seq INTEGER NOT NULL);"
	/* A HIT intent is written (hit_id '') before CreateHIT is called. */
	"CREATE TABLE hits ("
	"  token TEXT PRIMARY KEY,"
	"  image_id TEXT NOT NULL REFERENCES images(id),"
	"  stage INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  annotation TEXT NOT NULL,"
	"  hit_id TEXT NOT NULL DEFAULT '',"
	"  hit_type_id TEXT NOT NULL DEFAULT '',"
	"  image_url TEXT NOT NULL DEFAULT '',"
	"  max_assignments INTEGER NOT NULL,"
	"  cost_cents INTEGER NOT NULL,"
	"  intent_at INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER NOT NULL DEFAULT 0,"
	"  extensions INTEGER NOT NULL DEFAULT 0,"
	"  closed INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (image_id, stage, attempt));"
	/* AssignmentIds are reused when a worker returns a HIT: key by both. */
	"CREATE TABLE assignments ("
	"  assignment_id TEXT NOT NULL,"
	"  worker_id TEXT NOT NULL,"
	"  hit_id TEXT NOT NULL,"
	"  image_id TEXT NOT NULL REFERENCES images(id),"
	"  stage INTEGER NOT NULL,"
	"  submit_time INTEGER NOT NULL,"
	"  accept_time INTEGER NOT NULL,"
	"  valid INTEGER NOT NULL,"
	"  invalid_reason TEXT NOT NULL DEFAULT '',"
	"  boxes TEXT NOT NULL,"
	"  face_found TEXT NOT NULL DEFAULT '',"
	"  feedback TEXT NOT NULL DEFAULT '',"
	"  approval TEXT NOT NULL DEFAULT 'pending',"
	"  granted INTEGER NOT NULL DEFAULT 0,"
	"  recorded_at INTEGER NOT NULL,"
	"  PRIMARY KEY (assignment_id, worker_id));"
	/* The aggregated boxes of each finished stage. */
	"CREATE TABLE stage_results ("
	"  image_id TEXT NOT NULL REFERENCES images(id),"
	"  stage INTEGER NOT NULL,"
	"  window INTEGER NOT NULL,"
	"  boxes TEXT NOT NULL,"
	"  assignments INTEGER NOT NULL,"
	"  finished_at INTEGER NOT NULL,"
	"  PRIMARY KEY (image_id, stage));"
	/* exclusive_stages: one qualification type per stage. */
	"CREATE TABLE qualifications ("
	"  stage INTEGER PRIMARY KEY,"
	"  qualification_type_id TEXT NOT NULL);"
	/* Workers already granted a stage's qualification (saves calls). */
	"CREATE TABLE grants ("
	"  worker_id TEXT NOT NULL,"
	"  stage INTEGER NOT NULL,"
	"  granted_at INTEGER NOT NULL,"
	"  PRIMARY KEY (worker_id, stage));"
	"CREATE INDEX assignments_by_image ON assignments (image_id, stage);"
	"CREATE INDEX hits_open ON hits (closed, image_id);";

/*
 * Version 2: each image remembers the remote failure it is retrying (or
 * that failed it), since when, and how many attempts in a row failed, so
 * that `status` shows a stuck image without the journal.
 */
static const char migrate_v2[] =
	"ALTER TABLE images ADD COLUMN error TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE images ADD COLUMN error_since INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE images ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;";

/*
 * Version 3: a refused UpdateExpirationForHIT is the HIT's own column,
 * not a prefix of the image's error text read back later.  A refusal that
 * schema 2 kept as "UpdateExpirationForHIT refused: MESSAGE" in the error
 * of an image moves to the HIT of that image's current attempt.
 */
static const char migrate_v3[] =
	"ALTER TABLE hits ADD COLUMN extension_refused TEXT NOT NULL "
	"DEFAULT '';"
	"UPDATE hits SET extension_refused = ("
	"  SELECT substr(i.error, 33) FROM images i"
	"  WHERE i.id = hits.image_id AND i.stage = hits.stage"
	"  AND i.attempt = hits.attempt"
	"  AND substr(i.error, 1, 32) = 'UpdateExpirationForHIT refused: ')"
	" WHERE EXISTS ("
	"  SELECT 1 FROM images i"
	"  WHERE i.id = hits.image_id AND i.stage = hits.stage"
	"  AND i.attempt = hits.attempt"
	"  AND substr(i.error, 1, 32) = 'UpdateExpirationForHIT refused: ');";

/*
 * ---- schema 4: Prolific (issue 16, branch prolific-run) -----------------
 * Other helpers may add their own schema 4 tables: each keeps its CREATE
 * TABLEs in a block of its own and one line in migrate() below.
 *
 * prolific_submissions: the study's submissions as the last listing
 * showed them, and where run stands with each (settled: 0 open, 1 done,
 * 2 waiting, 3 for the operator, enum prolific_sub_settled; waiting: why
 * it is not approved yet, for status).  The pass reads only a batch of
 * the due ones (settled 0 or 2, next_at <= now).
 * prolific_approvals and prolific_bonuses: the records of
 * prolific/once.c (struct prolific_approval, struct prolific_bonus),
 * written before each remote call; cost_cents is the money committed
 * (amount, service fee and its VAT), counted against budget_usd from
 * the moment the row exists.  One bonus per submission.
 */
static const char migrate_v4_prolific[] =
	"CREATE TABLE prolific_submissions ("
	"  submission_id TEXT PRIMARY KEY,"
	"  participant_id TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  seen_at INTEGER NOT NULL,"
	"  awaiting_since INTEGER NOT NULL DEFAULT 0,"
	"  settled INTEGER NOT NULL DEFAULT 0,"
	"  next_at INTEGER NOT NULL DEFAULT 0,"
	"  waiting TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX prolific_submissions_due"
	"  ON prolific_submissions (settled, next_at);"
	"CREATE INDEX prolific_submissions_by_participant"
	"  ON prolific_submissions (participant_id);"
	"CREATE TABLE prolific_approvals ("
	"  submission_id TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  cost_cents INTEGER NOT NULL,"
	"  intent_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);"
	"CREATE TABLE prolific_bonuses ("
	"  submission_id TEXT PRIMARY KEY,"
	"  study_id TEXT NOT NULL,"
	"  amount_cents INTEGER NOT NULL,"
	"  tasks INTEGER NOT NULL,"
	"  cost_cents INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  bulk_id TEXT NOT NULL DEFAULT '',"
	"  baseline INTEGER NOT NULL DEFAULT -1,"
	"  pay_sent_at INTEGER NOT NULL DEFAULT 0,"
	"  pay_calls INTEGER NOT NULL DEFAULT 0,"
	"  overpaid INTEGER NOT NULL DEFAULT 0,"
	"  intent_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);";
/* ---- end of schema 4: Prolific ------------------------------------------ */

/*
 * ---- schema 4: stage 0, the starting boxes (issue 17) -----------------
 * Kept as one block so that other version-4 tables can join it.
 *
 * stage0 has a row once an image's starting boxes are recorded (even when
 * there are none), so that they are gathered - and the detector run - once
 * per image; stage0_boxes holds each box with its origin: "image"
 * (images[].boxes), "file" (images[].boxes_file), "experiment NAME stage
 * N" (start_from) or "detector".  Both are written in one transaction
 * before the image's first stage is rendered (store_stage0_put).
 */
static const char migrate_v4_stage0[] =
	"CREATE TABLE stage0 ("
	"  image_id TEXT PRIMARY KEY REFERENCES images(id),"
	"  recorded_at INTEGER NOT NULL);"
	"CREATE TABLE stage0_boxes ("
	"  image_id TEXT NOT NULL REFERENCES stage0(image_id),"
	"  seq INTEGER NOT NULL,"
	"  x INTEGER NOT NULL,"
	"  y INTEGER NOT NULL,"
	"  w INTEGER NOT NULL,"
	"  h INTEGER NOT NULL,"
	"  origin TEXT NOT NULL,"
	"  PRIMARY KEY (image_id, seq));";
/* ---- end of schema 4: stage 0 ------------------------------------------ */

/*
 * ---- schema 4: the operator's Prolific decisions (issue 16, branch
 * prolific-ops) ----------------------------------------------------------
 * prolific_decisions: a submission approved or rejected by hand
 * (daemon/prolific_ops.c), written before the call ('sending') and
 * marked 'done' once Prolific shows it.  A rejection here keeps run away
 * from the submission; an approval by hand is run's own approval record
 * as well (prolific_approvals), this row only saying who decided.
 */
static const char migrate_v4_prolific_ops[] =
	"CREATE TABLE prolific_decisions ("
	"  submission_id TEXT PRIMARY KEY,"
	"  action TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  category TEXT NOT NULL DEFAULT '',"
	"  decided_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL);";
/* ---- end of schema 4: the operator's Prolific decisions ----------------- */

/*
 * ---- schema 5: the counts of progress (issue 15) ------------------------
 * Every pass reads how many images there are, how many are final, paused
 * or retrying an error, how many HITs are posted and open, and the money
 * committed; before each HIT the budget check reads the money again.
 * Counted over the tables, that is work that grows with the study, paid
 * on every pass and every HIT.  progress_counts is one row kept by
 * triggers in the transaction of each change to the rows it counts, so
 * it is exactly as durable as they are (a crash leaves both or neither)
 * and reading it costs the same at 10 images or 10,000.  The migration
 * counts once over the tables as they are.  erring: not final (done or
 * failed) and with a remote error.  cents_prolific: the approvals' and
 * bonuses' cost_cents (store_committed_cents).
 */
/*
 * The terms a row r (NEW or OLD) of images, hits or the Prolific costs
 * adds to the counts (sign "+") or takes from them (sign "-").
 */
#define COUNT_IMAGE(sign, r)                                               \
	"images = images " sign " 1,"                                        \
	"done = done " sign " (" r ".state = 'done'),"                       \
	"failed = failed " sign " (" r ".state = 'failed'),"                 \
	"paused = paused " sign " (" r ".state = 'paused'),"                 \
	"erring = erring " sign " (" r ".error != '' AND " r ".state NOT IN " \
	"('done', 'failed'))"
#define COUNT_HIT(sign, r)                                                 \
	"hits_posted = hits_posted " sign " (" r ".hit_id != ''),"           \
	"hits_open = hits_open " sign " (" r ".hit_id != '' AND " r          \
	".closed = 0),"                                                      \
	"cents_hits = cents_hits " sign " " r ".cost_cents"
#define COUNT_PROLIFIC(table)                                              \
	"CREATE TRIGGER progress_" table "_insert AFTER INSERT ON " table    \
	" BEGIN UPDATE progress_counts SET cents_prolific ="                 \
	"  cents_prolific + NEW.cost_cents; END;"                            \
	"CREATE TRIGGER progress_" table "_delete AFTER DELETE ON " table    \
	" BEGIN UPDATE progress_counts SET cents_prolific ="                 \
	"  cents_prolific - OLD.cost_cents; END;"                            \
	"CREATE TRIGGER progress_" table "_update AFTER UPDATE OF cost_cents" \
	"  ON " table " BEGIN UPDATE progress_counts SET cents_prolific ="   \
	"  cents_prolific - OLD.cost_cents + NEW.cost_cents; END;"
static const char migrate_v5_counts[] =
	"CREATE TABLE progress_counts ("
	"  one INTEGER PRIMARY KEY CHECK (one = 1),"
	"  images INTEGER NOT NULL, done INTEGER NOT NULL,"
	"  failed INTEGER NOT NULL, paused INTEGER NOT NULL,"
	"  erring INTEGER NOT NULL, hits_posted INTEGER NOT NULL,"
	"  hits_open INTEGER NOT NULL, cents_hits INTEGER NOT NULL,"
	"  cents_prolific INTEGER NOT NULL);"
	"INSERT INTO progress_counts SELECT 1,"
	"  (SELECT COUNT(*) FROM images),"
	"  (SELECT COUNT(*) FROM images WHERE state = 'done'),"
	"  (SELECT COUNT(*) FROM images WHERE state = 'failed'),"
	"  (SELECT COUNT(*) FROM images WHERE state = 'paused'),"
	"  (SELECT COUNT(*) FROM images WHERE error != '' AND"
	"    state NOT IN ('done', 'failed')),"
	"  (SELECT COUNT(*) FROM hits WHERE hit_id != ''),"
	"  (SELECT COUNT(*) FROM hits WHERE hit_id != '' AND closed = 0),"
	"  (SELECT COALESCE(SUM(cost_cents), 0) FROM hits),"
	"  (SELECT COALESCE(SUM(cost_cents), 0) FROM prolific_approvals) +"
	"  (SELECT COALESCE(SUM(cost_cents), 0) FROM prolific_bonuses);"
	"CREATE TRIGGER progress_images_insert AFTER INSERT ON images BEGIN"
	"  UPDATE progress_counts SET " COUNT_IMAGE("+", "NEW") ";"
	" END;"
	"CREATE TRIGGER progress_images_delete AFTER DELETE ON images BEGIN"
	"  UPDATE progress_counts SET " COUNT_IMAGE("-", "OLD") ";"
	" END;"
	/* An update takes the old row's terms away and adds the new's. */
	"CREATE TRIGGER progress_images_update AFTER UPDATE OF state, error"
	"  ON images WHEN OLD.state IS NOT NEW.state"
	"  OR OLD.error IS NOT NEW.error BEGIN"
	"  UPDATE progress_counts SET " COUNT_IMAGE("-", "OLD") ";"
	"  UPDATE progress_counts SET " COUNT_IMAGE("+", "NEW") ";"
	" END;"
	"CREATE TRIGGER progress_hits_insert AFTER INSERT ON hits BEGIN"
	"  UPDATE progress_counts SET " COUNT_HIT("+", "NEW") ";"
	" END;"
	"CREATE TRIGGER progress_hits_delete AFTER DELETE ON hits BEGIN"
	"  UPDATE progress_counts SET " COUNT_HIT("-", "OLD") ";"
	" END;"
	"CREATE TRIGGER progress_hits_update AFTER UPDATE OF hit_id, closed,"
	"  cost_cents ON hits WHEN OLD.hit_id IS NOT NEW.hit_id"
	"  OR OLD.closed IS NOT NEW.closed"
	"  OR OLD.cost_cents IS NOT NEW.cost_cents BEGIN"
	"  UPDATE progress_counts SET " COUNT_HIT("-", "OLD") ";"
	"  UPDATE progress_counts SET " COUNT_HIT("+", "NEW") ";"
	" END;"
	COUNT_PROLIFIC("prolific_approvals")
	COUNT_PROLIFIC("prolific_bonuses");
#undef COUNT_IMAGE
#undef COUNT_HIT
#undef COUNT_PROLIFIC

/*
 * Also schema 5: the HITs by MTurk's HITId, so that the HITs a push names
 * are found one by one (store_hit_by_hit_id) instead of among all the
 * open ones.
 */
static const char migrate_v5_hit_ids[] =
	"CREATE INDEX hits_by_hit_id ON hits (hit_id);";
/* ---- end of schema 5: the counts of progress ---------------------------- */

static int
db_error(struct state *st, struct errbuf *eb, const char *what)
{
	return err_set(eb, IF_ERUNTIME, "%s: %s: %s", st->path, what,
		       sqlite3_errmsg(st->db));
}

int
state_exec(struct state *st, const char *sql, struct errbuf *eb)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int rc = err_set(eb, IF_ERUNTIME, "%s: %s", st->path,
				 msg != NULL ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return rc;
	}
	return IF_OK;
}

static int
user_version(struct state *st, int *out, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &stmt,
			       NULL) != SQLITE_OK)
		return db_error(st, eb, "reading the schema version");
	rc = sqlite3_step(stmt);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : -1;
	sqlite3_finalize(stmt);
	if (*out < 0)
		return db_error(st, eb, "reading the schema version");
	return IF_OK;
}

/* Creates the schema, or refuses a database from a newer IntoFocus. */
static int
migrate(struct state *st, const char *experiment, struct errbuf *eb)
{
	char sql[256];
	bool fresh;
	int version;

	if (state_exec(st, "BEGIN IMMEDIATE", eb) != IF_OK)
		return eb->code;
	if (user_version(st, &version, eb) != IF_OK)
		goto fail;
	if (version > STATE_SCHEMA_VERSION) {
		err_set(eb, IF_ERUNTIME,
			"%s: schema version %d is newer than this intofocus "
			"understands (%d); run a newer intofocus",
			st->path, version, STATE_SCHEMA_VERSION);
		goto fail;
	}
	fresh = version == 0;
	if (version == 0) {
		if (state_exec(st, schema_v1, eb) != IF_OK)
			goto fail;
		if (state_meta_set(st, "experiment", experiment, eb) != IF_OK)
			goto fail;
		version = 1;
	}
	/* Each step takes version n to n + 1, in the same transaction. */
	if (version == 1) {
		if (state_exec(st, migrate_v2, eb) != IF_OK)
			goto fail;
		if (!fresh)
			log_info("%s: state schema 1 -> 2 (remote errors per "
				 "image)",
				 st->path);
		version = 2;
	}
	if (version == 2) {
		if (state_exec(st, migrate_v3, eb) != IF_OK)
			goto fail;
		if (!fresh)
			log_info("%s: state schema 2 -> 3 (refused extensions "
				 "per HIT)",
				 st->path);
		version = 3;
	}
	/*
	 * Schema 4 is made of blocks of their own: Prolific and the
	 * operator's Prolific decisions (issue 16), stage 0 (issue 17).
	 */
	if (version == 3) {
		if (state_exec(st, migrate_v4_prolific, eb) != IF_OK ||
		    state_exec(st, migrate_v4_prolific_ops, eb) != IF_OK ||
		    state_exec(st, migrate_v4_stage0, eb) != IF_OK)
			goto fail;
		if (!fresh)
			log_info("%s: state schema 3 -> 4 (Prolific "
				 "submissions, approvals and bonuses; starting "
				 "boxes, stage 0)",
				 st->path);
		version = 4;
	}
	if (version == 4) {
		if (state_exec(st, migrate_v5_counts, eb) != IF_OK ||
		    state_exec(st, migrate_v5_hit_ids, eb) != IF_OK)
			goto fail;
		if (!fresh)
			log_info("%s: state schema 4 -> 5 (counts of progress "
				 "kept as the rows change, HITs by HITId)",
				 st->path);
		version = 5;
	}
	/*
	 * Not a schema change (no version): an index, which an older
	 * intofocus ignores.  A pass reads the images not final, soonest
	 * due first (store_images_pending), without reading the others.
	 */
	if (state_exec(st,
		       "CREATE INDEX IF NOT EXISTS images_pending ON images "
		       "(next_at, seq, id) WHERE state NOT IN ('done', "
		       "'failed');",
		       eb) != IF_OK)
		goto fail;
	/*
	 * Nor these (issue 15): the open HITs by type, so that a poll round
	 * finds the types to list without reading the open HITs
	 * (store_hit_types_after), and by creation time, so that Prolific's
	 * "HITs open when the participant completed" counts those only
	 * (store_hits_open_at).  Led by closed, so that the planner prefers
 * them to hits_open (closed, image_id) without statistics.
	 */
	if (state_exec(st,
		       "CREATE INDEX IF NOT EXISTS hits_open_types ON hits "
		       "(closed, hit_type_id);"
		       "CREATE INDEX IF NOT EXISTS hits_open_created ON hits "
		       "(closed, created_at);",
		       eb) != IF_OK)
		goto fail;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	if (state_exec(st, sql, eb) != IF_OK)
		goto fail;
	return state_exec(st, "COMMIT", eb);
fail:
	(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return eb->code;
}

int
state_open(const char *dir, const char *experiment, struct state **out,
	   struct errbuf *eb)
{
	struct state *st = NULL;
	char *stored = NULL;
	struct stat sb;
	int fd;

	*out = NULL;
	if (mkdir_p(dir, 0700, eb) != IF_OK)
		return eb->code;
	/* An existing directory keeps its mode; ours must stay private. */
	if (stat(dir, &sb) == 0 && (sb.st_mode & 077) != 0 &&
	    chmod(dir, 0700) != 0)
		return err_set(eb, IF_ERUNTIME,
			       "%s: state directory is readable by others and "
			       "cannot be made private: %s",
			       dir, strerror(errno));
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = path_join(dir, STATE_FILE)) == NULL) {
		state_close(st);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	/* Create the file with mode 0600 before SQLite opens it. */
	fd = open(st->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(eb, IF_ERUNTIME, "%s: cannot open: %s", st->path,
			strerror(errno));
		state_close(st);
		return eb->code;
	}
	(void)fchmod(fd, 0600);
	close(fd);
	if (sqlite3_open_v2(st->path, &st->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		db_error(st, eb, "cannot open the state database");
		state_close(st);
		return eb->code;
	}
	sqlite3_busy_timeout(st->db, 5000);
	sqlite3_extended_result_codes(st->db, 1);
	if (state_exec(st,
		       "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
		       "PRAGMA foreign_keys=ON;",
		       eb) != IF_OK ||
	    migrate(st, experiment, eb) != IF_OK) {
		state_close(st);
		return eb->code;
	}
	if (state_meta_get(st, "experiment", &stored, eb) != IF_OK) {
		state_close(st);
		return eb->code;
	}
	if (stored == NULL || strcmp(stored, experiment) != 0) {
		err_set(eb, IF_EINPUT,
			"%s: holds the state of experiment \"%s\", not \"%s\"; "
			"use another --state-dir",
			st->path, stored != NULL ? stored : "?", experiment);
		free(stored);
		state_close(st);
		return eb->code;
	}
	free(stored);
	/* The store-failure suites' hook (see state_fail_write_at). */
	{
		const char *at = getenv("INTOFOCUS_TEST_STORE_FAIL_AT");
		const char *m = getenv("INTOFOCUS_TEST_STORE_FAIL_MATCH");
		int64_t n = 0;

		if (at != NULL && parse_int64(at, 1, INT64_MAX, &n) == 0)
			state_fail_write_at(st, n, m);
	}
	*out = st;
	return IF_OK;
}

int
state_open_readonly(const char *dir, struct state **out, struct errbuf *eb)
{
	struct state *st;
	int version;

	*out = NULL;
	st = calloc(1, sizeof(*st));
	if (st == NULL || (st->path = path_join(dir, STATE_FILE)) == NULL) {
		state_close(st);
		return err_set(eb, IF_ERUNTIME, "out of memory");
	}
	if (access(st->path, R_OK) != 0) {
		err_set(eb, IF_EINPUT,
			"%s: no state yet (has \"intofocus run\" started?): %s",
			st->path, strerror(errno));
		state_close(st);
		return eb->code;
	}
	if (sqlite3_open_v2(st->path, &st->db, SQLITE_OPEN_READONLY,
			    NULL) != SQLITE_OK) {
		db_error(st, eb, "cannot open the state database");
		state_close(st);
		return eb->code;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (user_version(st, &version, eb) != IF_OK) {
		state_close(st);
		return eb->code;
	}
	if (version < STATE_SCHEMA_VERSION) {
		err_set(eb, IF_ERUNTIME,
			"%s: schema version %d from an older intofocus; "
			"\"intofocus run\" migrates it to %d when it starts",
			st->path, version, STATE_SCHEMA_VERSION);
		state_close(st);
		return eb->code;
	}
	if (version != STATE_SCHEMA_VERSION) {
		err_set(eb, IF_ERUNTIME, "%s: schema version %d, expected %d",
			st->path, version, STATE_SCHEMA_VERSION);
		state_close(st);
		return eb->code;
	}
	*out = st;
	return IF_OK;
}

void
state_close(struct state *st)
{
	if (st == NULL)
		return;
	if (st->db != NULL)
		sqlite3_close(st->db);
	free(st->path);
	free(st->fail_match);
	free(st);
}

void
state_fail_write_at(struct state *st, int64_t n, const char *match)
{
	free(st->fail_match);
	st->fail_match = match != NULL && *match != '\0' ? strdup(match)
							 : NULL;
	st->fail_at = n;
	st->writes = 0;
}

bool
state_fail_write_fired(const struct state *st)
{
	return st->fail_at > 0 && st->writes >= st->fail_at;
}

int
state_write_check(struct state *st, const char *sql, struct errbuf *eb)
{
	if (st->fail_at <= 0)
		return IF_OK;
	if (st->fail_match != NULL &&
	    (sql == NULL || strstr(sql, st->fail_match) == NULL))
		return IF_OK;
	if (++st->writes != st->fail_at)
		return IF_OK;
	log_warnx("test: write %lld to the state fails (%.60s)",
		  (long long)st->writes, sql != NULL ? sql : "?");
	return err_set(eb, IF_ERUNTIME,
		       "%s: database or disk is full (test: write %lld, "
		       "%.40s)",
		       st->path, (long long)st->writes,
		       sql != NULL ? sql : "?");
}

int
state_transaction(struct state *st,
		  int (*write)(struct state *st, void *arg, struct errbuf *eb),
		  void *arg, struct errbuf *eb)
{
	int rc;

	if (state_begin(st, eb) != IF_OK)
		return eb->code;
	rc = write(st, arg, eb);
	if (rc == IF_OK)
		rc = state_commit(st, eb);
	if (rc != IF_OK)
		state_rollback(st);
	return rc;
}

const char *
state_path(const struct state *st)
{
	return st->path;
}

sqlite3 *
state_db(struct state *st)
{
	return st->db;
}

int
state_begin(struct state *st, struct errbuf *eb)
{
	return state_exec(st, "BEGIN IMMEDIATE", eb);
}

int
state_commit(struct state *st, struct errbuf *eb)
{
	if (state_write_check(st, "COMMIT", eb) != IF_OK)
		return eb->code;
	return state_exec(st, "COMMIT", eb);
}

void
state_rollback(struct state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}

int
state_meta_set(struct state *st, const char *key, const char *value,
	       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc = IF_OK;

	if (state_write_check(st, "INSERT INTO meta", eb) != IF_OK)
		return eb->code;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			       "ON CONFLICT (key) DO UPDATE SET value = ?2",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(st, eb, "writing meta");
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		rc = db_error(st, eb, "writing meta");
	sqlite3_finalize(stmt);
	return rc;
}

int
state_meta_get(struct state *st, const char *key, char **value,
	       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc = IF_OK;

	*value = NULL;
	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(st, eb, "reading meta");
	sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
	switch (sqlite3_step(stmt)) {
	case SQLITE_ROW:
		*value = strdup((const char *)sqlite3_column_text(stmt, 0));
		if (*value == NULL)
			rc = err_set(eb, IF_ERUNTIME, "out of memory");
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = db_error(st, eb, "reading meta");
	}
	sqlite3_finalize(stmt);
	return rc;
}
