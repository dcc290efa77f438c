/*
 * sim/sim_db.c - the simulator's durable state: one SQLite file,
 * DIR/sim.db (the only file of sim/ that knows SQLite).
 *
 * The database is the records' only truth; the store holds a working set
 * of them during a request, and sim_persist.c tells this file which
 * records changed; each change is one transaction that writes only
 * those records, so saving costs what the change costs, not what the
 * state weighs.  A record is (kind, key) -> a JSON text in the shape the
 * old whole-state file sim.json used for one element of its arrays, plus
 * a blob for S3 objects' bytes.  Records keep the order of their first
 * write (seq), which is the order of the store's arrays.
 *
 * Beside the records, schema version 2 keeps the columns the store's
 * listings select on - hit_index (a HIT's type, flags, expiry and the
 * moments its clock-derived status turns on) and asg_index (an
 * assignment's HIT, worker and state) - written with the records in the
 * same transaction, so that ListHITs, ListReviewableHITs, the push, the
 * lab list and a participant's next task read the HITs they answer with
 * through an index instead of walking every HIT in memory.  The
 * memory-only store has the same tables in a database in memory
 * (sim_db_open_memory()).
 *
 * The file is 0600 in a 0700 directory (lab answers may be personal
 * data), in WAL mode with synchronous=FULL like the daemon's state: a
 * committed change survives kill -9 and power loss, an interrupted one is
 * rolled back when the file is next opened.  The simulator holds an
 * flock() on the directory, so a second simulator on it is refused
 * instead of the two overwriting each other's records, while other
 * programs may still read the file (sqlite3, a test).  The schema version
 * is PRAGMA user_version.
 */
#include "sim/sim_private.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SIM_DB_FILE "sim.db"
#define SIM_DB_VERSION 3
/*
 * The page cache of the file's connection, in KiB: a fixed amount, part
 * of the server's memory budget whatever the study's size.  SQLite's
 * default (2 MiB) holds the index tables' pages of a study of about
 * 1,000 images; past that, most writes and lookups of a random id (every
 * HIT and assignment id is one) read a leaf page from the file again
 * (docs/design.md, "the server's CPU per image").
 */
#define SIM_DB_CACHE_KIB 8192

struct sim_db {
	sqlite3 *db;
	char *path;
	int dirfd; /* holds the flock(); -1 when none */
	sqlite3_stmt *put; /* the upsert of one record */
	sqlite3_stmt *get; /* one record by (kind, key) */
	sqlite3_stmt *put_hit; /* the upsert of one hit_index row */
	sqlite3_stmt *put_asg; /* the upsert of one asg_index row */
	sqlite3_stmt *next;    /* sim_db_next_reviewable() */
	sqlite3_stmt *lookup[SIM_DB_LOOKUPS]; /* sim_db_ids() */
	sqlite3_stmt *query[SIM_DB_QUERIES]; /* sim_db_hits() */
	bool reindex; /* the schema was upgraded: index rows to write */
	uint64_t steps; /* the queries' VM steps (sim_db_steps_take()) */
	/* Test hook (sim_db_fail_reads()): reads fail after reads_left. */
	bool fail_reads;
	unsigned long reads_left;
};

static const char schema_v1[] =
	"CREATE TABLE records ("
	"  seq INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  data BLOB,"
	"  UNIQUE (kind, key));";

/*
 * Version 2: what the store queries, as columns beside the records (see
 * "indexed queries" in sim_private.h).  A HIT's status is derived from
 * the clock; hit_index keeps what selects it with an index: the moment
 * from which the HIT is Reviewable unless a request changes it
 * (reviewable_from), and the latest of its submissions and time-outs
 * (reviewable_base, the push's "became Reviewable at").  seq is the
 * order of creation, the order every listing keeps.
 */
static const char schema_v2[] =
	"CREATE TABLE hit_index ("
	"  seq INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  type_id TEXT NOT NULL,"
	"  deleted INTEGER NOT NULL,"
	"  reviewing INTEGER NOT NULL,"
	"  max INTEGER NOT NULL,"
	"  expiration_ms INTEGER NOT NULL,"
	"  duration_ms INTEGER NOT NULL,"
	"  done_final INTEGER NOT NULL,"
	"  reviewable_from INTEGER NOT NULL,"
	"  reviewable_base INTEGER NOT NULL);"
	"CREATE INDEX hit_index_reviewable ON hit_index (reviewable_from) "
	"  WHERE deleted = 0 AND reviewing = 0;"
	"CREATE INDEX hit_index_type ON hit_index (type_id, reviewable_from) "
	"  WHERE deleted = 0 AND reviewing = 0;"
	"CREATE INDEX hit_index_reviewing ON hit_index (type_id) "
	"  WHERE deleted = 0 AND reviewing = 1;"
	"CREATE INDEX hit_index_open ON hit_index (expiration_ms) "
	"  WHERE deleted = 0;"
	"CREATE INDEX hit_index_takeable ON hit_index (expiration_ms) "
	"  WHERE deleted = 0 AND done_final < max;"
	"CREATE TABLE asg_index ("
	"  id TEXT PRIMARY KEY,"
	"  hit_id TEXT NOT NULL,"
	"  worker_id TEXT NOT NULL,"
	"  simulated INTEGER NOT NULL,"
	"  state INTEGER NOT NULL,"
	"  accept_ms INTEGER NOT NULL);"
	"CREATE INDEX asg_index_worker ON asg_index (worker_id, hit_id);";

/*
 * Version 3: the records leave memory (a working set loaded on demand),
 * so what linked them in memory becomes indexed columns: a HIT's
 * annotation key (up to its last '/': the HITs of one image) and its
 * UniqueRequestToken, and the assignments of a HIT.  A worker's
 * assignments were already indexed (asg_index_worker).
 */
static const char schema_v3[] =
	"ALTER TABLE hit_index ADD COLUMN ann_key TEXT;"
	"ALTER TABLE hit_index ADD COLUMN token TEXT;"
	"CREATE INDEX hit_index_ann ON hit_index (ann_key);"
	"CREATE INDEX hit_index_token ON hit_index (token);"
	"CREATE INDEX asg_index_hit ON asg_index (hit_id);";

/*
 * The lookups of sim_db_ids(), by enum sim_db_lookup; ?1 is the key.
 * An assignment's rowid is the order it was first saved in, which is
 * the order of creation.
 */
static const char *const lookup_sql[SIM_DB_LOOKUPS] = {
	[SIM_DB_HITS_BY_ANN] = "SELECT id FROM hit_index WHERE ann_key = ?1 "
			       "ORDER BY seq DESC",
	[SIM_DB_HITS_BY_TOKEN] = "SELECT id FROM hit_index WHERE token = ?1 "
				 "ORDER BY seq",
	[SIM_DB_ASGS_BY_HIT] = "SELECT id FROM asg_index WHERE hit_id = ?1 "
			       "ORDER BY rowid",
	[SIM_DB_ASGS_BY_WORKER] = "SELECT id FROM asg_index "
				  "WHERE worker_id = ?1 ORDER BY rowid DESC",
	[SIM_DB_HIT_OF_ASG] = "SELECT hit_id FROM asg_index WHERE id = ?1",
};

/*
 * The queries of sim_db_hits(), by enum sim_db_query; named parameters
 * :now, :since, :type, :worker, :after, :limit, :offset (those a query
 * lacks are not bound).  Each is a range of one of the partial indexes
 * above (named, so that the planner never prefers a walk of the whole
 * table in seq order), sorted by seq: its work is what it selects - the
 * HITs Reviewable and not yet dealt with, those a participant could
 * still take - not the study.  Two are walks by nature, each a range of
 * seq from a cursor: ListHITs' pages (its NextToken is the seq of the
 * last HIT given) and the lab list (every open HIT, the page shows them
 * all), which reads the table once from its oldest row.  The Reviewable
 * and Reviewing lists page with the same cursor (seq > :after).
 */
static const char *const query_sql[SIM_DB_QUERIES] = {
	[SIM_DB_LIVE] = "SELECT seq, id FROM hit_index WHERE deleted = 0 "
			"AND seq > :after ORDER BY seq "
			"LIMIT :limit OFFSET :offset",
	/*
	 * The Reviewable and Reviewing lists page with a cursor (seq >
	 * :after; :offset only for an older offset token).  The inner
	 * select reads the index alone (its entries hold seq), so the rows
	 * before the cursor and the sort cost index entries, never a
	 * table row; the page's own rows are read by seq.
	 */
	[SIM_DB_REVIEWABLE] =
		"SELECT seq, id FROM hit_index WHERE seq IN ("
		"SELECT seq FROM hit_index "
		"INDEXED BY hit_index_reviewable WHERE deleted = 0 AND "
		"reviewing = 0 AND reviewable_from <= :now AND seq > :after "
		"ORDER BY seq LIMIT :limit OFFSET :offset) ORDER BY seq",
	[SIM_DB_REVIEWABLE_TYPE] =
		"SELECT seq, id FROM hit_index WHERE seq IN ("
		"SELECT seq FROM hit_index "
		"INDEXED BY hit_index_type WHERE deleted = 0 AND "
		"reviewing = 0 AND type_id = :type AND "
		"reviewable_from <= :now AND seq > :after "
		"ORDER BY seq LIMIT :limit OFFSET :offset) ORDER BY seq",
	[SIM_DB_REVIEWING] =
		"SELECT seq, id FROM hit_index "
		"INDEXED BY hit_index_reviewing WHERE deleted = 0 AND "
		"reviewing = 1 AND reviewable_from <= :now AND seq > :after "
		"ORDER BY seq LIMIT :limit OFFSET :offset",
	[SIM_DB_REVIEWING_TYPE] =
		"SELECT seq, id FROM hit_index "
		"INDEXED BY hit_index_reviewing WHERE deleted = 0 AND "
		"reviewing = 1 AND type_id = :type AND "
		"reviewable_from <= :now AND seq > :after "
		"ORDER BY seq LIMIT :limit OFFSET :offset",
	[SIM_DB_OPEN] = "SELECT seq, id FROM hit_index WHERE deleted = 0 AND "
			"expiration_ms > :now AND seq > :after "
			"ORDER BY seq LIMIT :limit",
	/* A HIT the worker holds or did (not abandoned) is not offered. */
	[SIM_DB_TAKEABLE] =
		"SELECT seq, id FROM hit_index AS h "
		"INDEXED BY hit_index_takeable WHERE deleted = 0 AND "
		"done_final < max AND expiration_ms > :now AND "
		"seq > :after AND NOT EXISTS (SELECT 1 FROM asg_index AS a "
		"WHERE a.worker_id = :worker AND a.hit_id = h.id AND "
		"a.simulated = 0 AND (a.state <> 0 OR "
		"a.accept_ms + h.duration_ms >= :now)) "
		"ORDER BY seq LIMIT :limit",
	[SIM_DB_SINCE] =
		"SELECT seq, id FROM hit_index "
		"INDEXED BY hit_index_reviewable WHERE deleted = 0 AND "
		"reviewing = 0 AND reviewable_from <= :now AND "
		"(reviewable_base >= :since OR (expiration_ms <= :now AND "
		"expiration_ms >= :since)) ORDER BY seq LIMIT :limit",
};

/*
 * A read the test hook makes fail (sim_db_fail_reads()), as SQLite's
 * own I/O error would; IF_OK otherwise.
 */
static int
read_injected(struct sim_db *d, struct errbuf *eb)
{
	if (!d->fail_reads)
		return IF_OK;
	if (d->reads_left > 0) {
		d->reads_left--;
		return IF_OK;
	}
	return err_set(eb, IF_ERUNTIME, "%s: reading: %s (a test's)", d->path,
		       sqlite3_errstr(SQLITE_IOERR_READ));
}

void
sim_db_fail_reads(struct sim_db *d, bool fail, unsigned long after)
{
	d->fail_reads = fail;
	d->reads_left = after;
}

void
sim_db_busy_timeout(struct sim_db *d, int ms)
{
	sqlite3_busy_timeout(d->db, ms);
}

static int
db_error(struct sim_db *d, struct errbuf *eb, int code, const char *what)
{
	return err_set(eb, code, "%s: %s: %s", d->path, what,
		       sqlite3_errmsg(d->db));
}

static int
db_exec(struct sim_db *d, const char *sql, int code, const char *what,
	struct errbuf *eb)
{
	char *msg = NULL;
	int rc = IF_OK;

	if (sqlite3_exec(d->db, sql, NULL, NULL, &msg) != SQLITE_OK)
		rc = err_set(eb, code, "%s: %s: %s", d->path, what,
			     msg != NULL ? msg : sqlite3_errmsg(d->db));
	sqlite3_free(msg);
	return rc;
}

/* Creates the schema in an empty file; refuses a version it does not know. */
static int
db_migrate(struct sim_db *d, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	char sql[64];
	int version = -1;

	if (db_exec(d, "BEGIN IMMEDIATE", IF_EINPUT, "cannot read the state",
		    eb) != IF_OK)
		return eb->code;
	if (sqlite3_prepare_v2(d->db, "PRAGMA user_version", -1, &stmt,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (version < 0) {
		db_error(d, eb, IF_EINPUT, "cannot read the schema version");
		goto fail;
	}
	if (version > SIM_DB_VERSION) {
		err_set(eb, IF_EINPUT,
			"%s: simulator state version %d is newer than this "
			"intofocus understands (%d); run a newer intofocus",
			d->path, version, SIM_DB_VERSION);
		goto fail;
	}
	if (version == 0 && db_exec(d, schema_v1, IF_ERUNTIME,
				    "creating the schema", eb) != IF_OK)
		goto fail;
	/*
	 * Version 1 had the records only: the index tables are made here
	 * and filled by the store once it has read the records
	 * (sim_db_reindex()).
	 */
	if (version <= 1) {
		if (db_exec(d, schema_v2, IF_ERUNTIME, "upgrading the schema",
			    eb) != IF_OK)
			goto fail;
		d->reindex = version == 1;
	}
	if (version <= 2) {
		if (db_exec(d, schema_v3, IF_ERUNTIME, "upgrading the schema",
			    eb) != IF_OK)
			goto fail;
		d->reindex = version == 1 || version == 2;
	}
	/* Future versions: "if (version <= 3) { ALTER ...; }" here. */
	if (version < SIM_DB_VERSION) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 SIM_DB_VERSION);
		if (db_exec(d, sql, IF_ERUNTIME, "creating the schema", eb) !=
		    IF_OK)
			goto fail;
	}
	return db_exec(d, "COMMIT", IF_ERUNTIME, "creating the schema", eb);
fail:
	(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return eb->code;
}

/*
 * The rest of opening, for a file or memory: pragmas, schema, statements;
 * *empty says whether any record is there yet.
 */
static int
db_setup(struct sim_db *d, const char *pragmas, bool *empty,
	 struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;

	sqlite3_busy_timeout(d->db, 5000); /* a reader checkpointing */
	sqlite3_extended_result_codes(d->db, 1);
	if (db_exec(d, pragmas, IF_EINPUT, "cannot read the simulator state",
		    eb) != IF_OK ||
	    db_migrate(d, eb) != IF_OK)
		return eb->code;
	if (sqlite3_prepare_v2(d->db,
			       "INSERT INTO records (kind, key, body, data) "
			       "VALUES (?1, ?2, ?3, ?4) "
			       "ON CONFLICT (kind, key) "
			       "DO UPDATE SET body = excluded.body, "
			       "data = excluded.data",
			       -1, &d->put, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db,
			       "SELECT body, data FROM records "
			       "WHERE kind = ?1 AND key = ?2",
			       -1, &d->get, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		    d->db,
		    "INSERT INTO hit_index (id, type_id, deleted, reviewing, "
		    "max, expiration_ms, duration_ms, done_final, "
		    "reviewable_from, reviewable_base, ann_key, token) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
		    "?12) "
		    "ON CONFLICT (id) DO UPDATE SET "
		    "type_id = excluded.type_id, deleted = excluded.deleted, "
		    "reviewing = excluded.reviewing, max = excluded.max, "
		    "expiration_ms = excluded.expiration_ms, "
		    "duration_ms = excluded.duration_ms, "
		    "done_final = excluded.done_final, "
		    "reviewable_from = excluded.reviewable_from, "
		    "reviewable_base = excluded.reviewable_base, "
		    "ann_key = excluded.ann_key, token = excluded.token",
		    -1, &d->put_hit, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
		    d->db,
		    "INSERT INTO asg_index (id, hit_id, worker_id, simulated, "
		    "state, accept_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
		    "ON CONFLICT (id) DO UPDATE SET state = excluded.state, "
		    "accept_ms = excluded.accept_ms",
		    -1, &d->put_asg, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(d->db,
			       "SELECT MIN(reviewable_from) FROM hit_index "
			       "INDEXED BY hit_index_reviewable "
			       "WHERE deleted = 0 AND reviewing = 0 AND "
			       "reviewable_from > ?1",
			       -1, &d->next, NULL) != SQLITE_OK)
		return db_error(d, eb, IF_EINPUT,
				"cannot read the simulator state");
	for (int q = 0; q < SIM_DB_QUERIES; q++)
		if (sqlite3_prepare_v2(d->db, query_sql[q], -1, &d->query[q],
				       NULL) != SQLITE_OK)
			return db_error(d, eb, IF_EINPUT,
					"cannot read the simulator state");
	for (int q = 0; q < SIM_DB_LOOKUPS; q++)
		if (sqlite3_prepare_v2(d->db, lookup_sql[q], -1,
				       &d->lookup[q], NULL) != SQLITE_OK)
			return db_error(d, eb, IF_EINPUT,
					"cannot read the simulator state");
	if (sqlite3_prepare_v2(d->db, "SELECT 1 FROM records LIMIT 1", -1,
			       &stmt, NULL) != SQLITE_OK) {
		sqlite3_finalize(stmt);
		return db_error(d, eb, IF_EINPUT,
				"cannot read the simulator state");
	}
	*empty = sqlite3_step(stmt) == SQLITE_DONE;
	sqlite3_finalize(stmt);
	return IF_OK;
}

/*
 * The state directory, as the daemon keeps its own: owned by us, mode
 * 0700 whatever it was created or planted with.
 */
static int
dir_make_private(int dirfd, const char *dir, struct errbuf *eb)
{
	struct stat sb;

	if (fstat(dirfd, &sb) != 0)
		return err_set(eb, IF_ERUNTIME, "%s: %s", dir, strerror(errno));
	if (sb.st_uid != geteuid())
		return err_set(eb, IF_EINPUT,
			       "%s: owned by uid %u, not by this user (uid %u)",
			       dir, (unsigned)sb.st_uid, (unsigned)geteuid());
	if ((sb.st_mode & 07777) != 0700 && fchmod(dirfd, 0700) != 0)
		return err_set(eb, IF_ERUNTIME, "%s: cannot make it 0700: %s",
			       dir, strerror(errno));
	return IF_OK;
}

int
sim_db_open(const char *dir, struct sim_db **out, bool *empty,
	    struct errbuf *eb)
{
	struct sim_db *d = calloc(1, sizeof(*d));
	char pragmas[128];
	int fd, rc;

	*out = NULL;
	*empty = false;
	if (d != NULL)
		d->dirfd = -1;
	if (d == NULL || (d->path = path_join(dir, SIM_DB_FILE)) == NULL) {
		sim_db_close(d);
		return err_set(eb, IF_ERUNTIME, "simulator: out of memory");
	}
	/* One simulator per directory (the lock is the directory's, not the
	 * file's, so it never meets SQLite's own POSIX locks). */
	d->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->dirfd < 0) {
		err_set(eb, IF_ERUNTIME, "%s: cannot open%s: %s", dir,
			errno == ELOOP || errno == ENOTDIR
				? " (a symbolic link is refused)"
				: "",
			strerror(errno));
		sim_db_close(d);
		return eb->code;
	}
	if (dir_make_private(d->dirfd, dir, eb) != IF_OK) {
		sim_db_close(d);
		return eb->code;
	}
	if (flock(d->dirfd, LOCK_EX | LOCK_NB) != 0) {
		err_set(eb, IF_ERUNTIME,
			"%s: another simulator is using this state "
			"directory%s%s",
			dir, errno == EWOULDBLOCK ? "" : ": ",
			errno == EWOULDBLOCK ? "" : strerror(errno));
		sim_db_close(d);
		return eb->code;
	}
	/* Create the file with mode 0600 before SQLite opens it. */
	/* The directory was opened without following a link just above. */
	fd = open(d->path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(eb, IF_ERUNTIME, "%s: cannot open%s: %s", d->path,
			errno == ELOOP ? " (a symbolic link is refused)" : "",
			strerror(errno));
		sim_db_close(d);
		return eb->code;
	}
	if (fchmod(fd, 0600) != 0) {
		err_set(eb, IF_ERUNTIME, "%s: cannot make it private: %s",
			d->path, strerror(errno));
		close(fd);
		sim_db_close(d);
		return eb->code;
	}
	close(fd);
	/* NOFOLLOW also covers the -wal and -shm files SQLite makes. */
	if (sqlite3_open_v2(d->path, &d->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
				    SQLITE_OPEN_NOFOLLOW,
			    NULL) != SQLITE_OK) {
		db_error(d, eb, IF_ERUNTIME, "cannot open the simulator state");
		sim_db_close(d);
		return eb->code;
	}
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
		 "PRAGMA cache_size=-%d;",
		 SIM_DB_CACHE_KIB);
	rc = db_setup(d, pragmas, empty, eb);
	if (rc != IF_OK) {
		sim_db_close(d);
		return rc;
	}
	*out = d;
	return IF_OK;
}

int
sim_db_open_memory(struct sim_db **out, struct errbuf *eb)
{
	struct sim_db *d = calloc(1, sizeof(*d));
	bool empty;
	int rc;

	*out = NULL;
	if (d == NULL || (d->path = strdup("(memory)")) == NULL) {
		free(d);
		return err_set(eb, IF_ERUNTIME, "simulator: out of memory");
	}
	d->dirfd = -1;
	if (sqlite3_open_v2(":memory:", &d->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				    SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		db_error(d, eb, IF_ERUNTIME, "cannot open the simulator state");
		sim_db_close(d);
		return eb->code;
	}
	if ((rc = db_setup(d, "", &empty, eb)) != IF_OK) {
		sim_db_close(d);
		return rc;
	}
	*out = d;
	return IF_OK;
}

static uint64_t
db_status(sqlite3 *db, int op)
{
	int cur = 0, high = 0;

	return sqlite3_db_status(db, op, &cur, &high, 0) == SQLITE_OK &&
			       cur > 0
		       ? (uint64_t)cur
		       : 0;
}

void
sim_db_cache(struct sim_db *d, struct sim_db_cache *out)
{
	memset(out, 0, sizeof(*out));
	out->hits = db_status(d->db, SQLITE_DBSTATUS_CACHE_HIT);
	out->misses = db_status(d->db, SQLITE_DBSTATUS_CACHE_MISS);
	out->writes = db_status(d->db, SQLITE_DBSTATUS_CACHE_WRITE);
	out->used_bytes =
		(size_t)db_status(d->db, SQLITE_DBSTATUS_CACHE_USED);
	out->limit_bytes = d->dirfd >= 0 ? (size_t)SIM_DB_CACHE_KIB * 1024
					 : 0;
}

void
sim_db_close(struct sim_db *d)
{
	struct sim_db_cache c;

	if (d == NULL)
		return;
	/* What the cache did, for the operator and the scale bench. */
	if (d->db != NULL && d->dirfd >= 0) {
		sim_db_cache(d, &c);
		log_info("simulator: %s: page cache of %zu KiB: %llu hits, "
			 "%llu misses, %llu writes",
			 d->path, c.limit_bytes / 1024,
			 (unsigned long long)c.hits,
			 (unsigned long long)c.misses,
			 (unsigned long long)c.writes);
	}
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->get);
	sqlite3_finalize(d->put_hit);
	sqlite3_finalize(d->put_asg);
	sqlite3_finalize(d->next);
	for (int q = 0; q < SIM_DB_QUERIES; q++)
		sqlite3_finalize(d->query[q]);
	for (int q = 0; q < SIM_DB_LOOKUPS; q++)
		sqlite3_finalize(d->lookup[q]);
	if (d->db != NULL)
		sqlite3_close(d->db);
	if (d->dirfd >= 0)
		close(d->dirfd); /* and its lock */
	free(d->path);
	free(d);
}

const char *
sim_db_path(const struct sim_db *d)
{
	return d->path;
}

int
sim_db_begin(struct sim_db *d, struct errbuf *eb)
{
	return db_exec(d, "BEGIN IMMEDIATE", IF_ERUNTIME, "saving", eb);
}

int
sim_db_commit(struct sim_db *d, struct errbuf *eb)
{
	return db_exec(d, "COMMIT", IF_ERUNTIME, "saving", eb);
}

void
sim_db_rollback(struct sim_db *d)
{
	if (!sqlite3_get_autocommit(d->db))
		(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

int
sim_db_put(struct sim_db *d, const char *kind, const char *key,
	   const char *body, const void *data, size_t len, struct errbuf *eb)
{
	int rc;

	sqlite3_reset(d->put);
	sqlite3_clear_bindings(d->put);
	if (sqlite3_bind_text(d->put, 1, kind, -1,
			      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(d->put, 2, key, -1,
			      SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(d->put, 3, body, -1,
			      SQLITE_STATIC) != SQLITE_OK ||
	    (data != NULL &&
	     sqlite3_bind_blob64(d->put, 4, len > 0 ? data : "", len,
				 SQLITE_STATIC) != SQLITE_OK))
		return db_error(d, eb, IF_ERUNTIME, "saving");
	rc = sqlite3_step(d->put);
	sqlite3_reset(d->put);
	if (rc != SQLITE_DONE)
		return err_set(eb, IF_ERUNTIME, "%s: saving %s %s: %s", d->path,
			       kind, key, sqlite3_errstr(rc));
	return IF_OK;
}

int
sim_db_find(struct sim_db *d, const char *kind, const char *key, char **body,
	    char **data, size_t *len, bool *found, struct errbuf *eb)
{
	const void *blob;
	const char *text;
	size_t n = 0;
	int rc;

	*body = NULL;
	*found = false;
	if (data != NULL) {
		*data = NULL;
		*len = 0;
	}
	if (read_injected(d, eb) != IF_OK)
		return IF_ERUNTIME;
	sqlite3_reset(d->get);
	if (sqlite3_bind_text(d->get, 1, kind, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(d->get, 2, key, -1, SQLITE_STATIC) != SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "reading");
	rc = sqlite3_step(d->get);
	d->steps += (uint64_t)sqlite3_stmt_status(
		d->get, SQLITE_STMTSTATUS_VM_STEP, 1);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(d->get);
		return IF_OK;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(d->get);
		return err_set(eb, IF_ERUNTIME, "%s: reading %s %s: %s",
			       d->path, kind, key, sqlite3_errstr(rc));
	}
	text = (const char *)sqlite3_column_text(d->get, 0);
	*body = strdup(text != NULL ? text : "");
	if (*body != NULL && data != NULL) {
		blob = sqlite3_column_blob(d->get, 1);
		n = (size_t)sqlite3_column_bytes(d->get, 1);
		*data = malloc(n + 1);
		if (*data != NULL && n > 0)
			memcpy(*data, blob, n);
		if (*data != NULL)
			*len = n;
	}
	sqlite3_reset(d->get);
	if (*body == NULL || (data != NULL && *data == NULL)) {
		free(*body);
		*body = NULL;
		return err_set(eb, IF_ERUNTIME, "%s: reading %s %s: out of "
						"memory",
			       d->path, kind, key);
	}
	*found = true;
	return IF_OK;
}

int
sim_db_get(struct sim_db *d, const char *kind, const char *key, char **body,
	   char **data, size_t *len, struct errbuf *eb)
{
	bool found;
	int rc = sim_db_find(d, kind, key, body, data, len, &found, eb);

	if (rc == IF_OK && !found)
		return err_set(eb, IF_ERUNTIME, "%s: no record %s %s",
			       d->path, kind, key);
	return rc;
}

int
sim_db_foreach(struct sim_db *d, const char *only, sim_db_record_fn fn,
	       void *ctx, struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc = IF_OK, step;

	if (sqlite3_prepare_v2(d->db,
			       only != NULL
				       ? "SELECT kind, key, body, data FROM "
					 "records WHERE kind = ?1 ORDER BY seq"
				       : "SELECT kind, key, body, data FROM "
					 "records ORDER BY seq",
			       -1, &stmt, NULL) != SQLITE_OK ||
	    (only != NULL && sqlite3_bind_text(stmt, 1, only, -1,
					       SQLITE_STATIC) != SQLITE_OK)) {
		sqlite3_finalize(stmt);
		return db_error(d, eb, IF_EINPUT,
				"reading the simulator state");
	}
	while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(stmt, 0);
		const char *key = (const char *)sqlite3_column_text(stmt, 1);
		const char *body = (const char *)sqlite3_column_text(stmt, 2);
		const void *data = sqlite3_column_blob(stmt, 3);
		size_t len = (size_t)sqlite3_column_bytes(stmt, 3);

		if (kind == NULL || key == NULL || body == NULL) {
			rc = err_set(eb, IF_EINPUT, "%s: a record without a "
						    "kind, key or body",
				     d->path);
			break;
		}
		if (sqlite3_column_type(stmt, 3) == SQLITE_NULL)
			data = NULL;
		else if (data == NULL)
			data = "";
		if ((rc = fn(ctx, kind, key, body, data, len, eb)) != IF_OK)
			break;
	}
	if (rc == IF_OK && step != SQLITE_DONE)
		rc = db_error(d, eb, IF_EINPUT, "reading the simulator state");
	sqlite3_finalize(stmt);
	return rc;
}

/* ---- the index tables (version 2) ---------------------------------------- */

bool
sim_db_needs_reindex(const struct sim_db *d)
{
	return d->reindex;
}

void
sim_db_reindexed(struct sim_db *d)
{
	d->reindex = false;
}

/* Runs an upsert whose values are bound; reset in any case. */
static int
step_done(struct sim_db *d, sqlite3_stmt *stmt, const char *what,
	  const char *id, struct errbuf *eb)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	if (rc != SQLITE_DONE)
		return err_set(eb, IF_ERUNTIME, "%s: saving %s %s: %s",
			       d->path, what, id, sqlite3_errstr(rc));
	return IF_OK;
}

int
sim_db_put_hit(struct sim_db *d, const struct sim_db_hit *h,
	       struct errbuf *eb)
{
	sqlite3_stmt *s = d->put_hit;

	sqlite3_reset(s);
	if (sqlite3_bind_text(s, 1, h->id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, h->type_id, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(s, 3, h->deleted) != SQLITE_OK ||
	    sqlite3_bind_int(s, 4, h->reviewing) != SQLITE_OK ||
	    sqlite3_bind_int(s, 5, h->max) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, h->expiration_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 7, h->duration_ms) != SQLITE_OK ||
	    sqlite3_bind_int(s, 8, h->done_final) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 9, h->reviewable_from) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 10, h->reviewable_base) != SQLITE_OK ||
	    (h->ann_key != NULL
		     ? sqlite3_bind_text(s, 11, h->ann_key,
					 (int)h->ann_key_len, SQLITE_STATIC)
		     : sqlite3_bind_null(s, 11)) != SQLITE_OK ||
	    (h->token != NULL
		     ? sqlite3_bind_text(s, 12, h->token, -1, SQLITE_STATIC)
		     : sqlite3_bind_null(s, 12)) != SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "saving");
	return step_done(d, s, "HIT index", h->id, eb);
}

int
sim_db_put_asg(struct sim_db *d, const char *id, const char *hit_id,
	       const char *worker_id, bool simulated, int state,
	       int64_t accept_ms, struct errbuf *eb)
{
	sqlite3_stmt *s = d->put_asg;

	sqlite3_reset(s);
	if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 2, hit_id, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(s, 3, worker_id, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_int(s, 4, simulated) != SQLITE_OK ||
	    sqlite3_bind_int(s, 5, state) != SQLITE_OK ||
	    sqlite3_bind_int64(s, 6, accept_ms) != SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "saving");
	return step_done(d, s, "assignment index", id, eb);
}

/* Binds a named parameter when the statement has it. */
static int
bind_named_int64(sqlite3_stmt *s, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	return i == 0 ? SQLITE_OK : sqlite3_bind_int64(s, i, v);
}

static int
bind_named_text(sqlite3_stmt *s, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(s, name);

	if (i == 0)
		return SQLITE_OK;
	return v != NULL ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC)
			 : sqlite3_bind_null(s, i);
}

int
sim_db_hits(struct sim_db *d, enum sim_db_query q,
	    const struct sim_db_hits_args *args, struct sim_db_hit_ref *out,
	    size_t *n, struct errbuf *eb)
{
	sqlite3_stmt *s;
	int step = SQLITE_DONE;

	*n = 0;
	if ((int)q < 0 || q >= SIM_DB_QUERIES || args->limit == 0)
		return IF_OK;
	if (read_injected(d, eb) != IF_OK)
		return IF_ERUNTIME;
	s = d->query[q];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (bind_named_int64(s, ":now", args->now_ms) != SQLITE_OK ||
	    bind_named_int64(s, ":since", args->since_ms) != SQLITE_OK ||
	    bind_named_text(s, ":type", args->type_id) != SQLITE_OK ||
	    bind_named_text(s, ":worker", args->worker_id) != SQLITE_OK ||
	    bind_named_int64(s, ":after", args->after_seq) != SQLITE_OK ||
	    bind_named_int64(s, ":limit", (int64_t)args->limit) !=
		    SQLITE_OK ||
	    bind_named_int64(s, ":offset", (int64_t)args->offset) !=
		    SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "querying HITs");
	while (*n < args->limit && (step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 1);

		out[*n].seq = sqlite3_column_int64(s, 0);
		snprintf(out[*n].id, sizeof(out[*n].id), "%s",
			 id != NULL ? id : "");
		(*n)++;
	}
	d->steps += (uint64_t)sqlite3_stmt_status(
		s, SQLITE_STMTSTATUS_VM_STEP, 1);
	if (*n < args->limit && step != SQLITE_DONE) {
		sqlite3_reset(s);
		return err_set(eb, IF_ERUNTIME, "%s: querying HITs: %s",
			       d->path, sqlite3_errstr(step));
	}
	sqlite3_reset(s);
	return IF_OK;
}

int
sim_db_next_reviewable(struct sim_db *d, int64_t now_ms, int64_t *next_ms,
		       struct errbuf *eb)
{
	sqlite3_stmt *s = d->next;
	int step;

	*next_ms = INT64_MAX;
	if (read_injected(d, eb) != IF_OK)
		return IF_ERUNTIME;
	sqlite3_reset(s);
	if (sqlite3_bind_int64(s, 1, now_ms) != SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "querying HITs");
	step = sqlite3_step(s);
	if (step == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		*next_ms = sqlite3_column_int64(s, 0);
	d->steps += (uint64_t)sqlite3_stmt_status(
		s, SQLITE_STMTSTATUS_VM_STEP, 1);
	sqlite3_reset(s);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return err_set(eb, IF_ERUNTIME, "%s: querying HITs: %s",
			       d->path, sqlite3_errstr(step));
	return IF_OK;
}

int
sim_db_ids(struct sim_db *d, enum sim_db_lookup q, const char *key,
	   size_t klen, struct sim_db_ids *out, struct errbuf *eb)
{
	sqlite3_stmt *s;
	int step = SQLITE_DONE;

	out->n = 0;
	if ((int)q < 0 || q >= SIM_DB_LOOKUPS)
		return IF_OK;
	if (read_injected(d, eb) != IF_OK)
		return IF_ERUNTIME;
	s = d->lookup[q];
	sqlite3_reset(s);
	if (sqlite3_bind_text(s, 1, key, (int)klen, SQLITE_STATIC) !=
	    SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "looking up");
	while ((out->max == 0 || out->n < out->max) &&
	       (step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);

		if (out->n == out->cap) {
			size_t cap = out->cap != 0 ? out->cap * 2 : 16;
			char(*grown)[SIM_ID_LEN + 1] =
				realloc(out->id, cap * sizeof(*grown));

			if (grown == NULL) {
				sqlite3_reset(s);
				return err_set(eb, IF_ERUNTIME,
					       "%s: looking up: out of memory",
					       d->path);
			}
			out->id = grown;
			out->cap = cap;
		}
		snprintf(out->id[out->n++], SIM_ID_LEN + 1, "%s",
			 id != NULL ? id : "");
	}
	d->steps += (uint64_t)sqlite3_stmt_status(
		s, SQLITE_STMTSTATUS_VM_STEP, 1);
	sqlite3_reset(s);
	if (step != SQLITE_DONE && step != SQLITE_ROW)
		return err_set(eb, IF_ERUNTIME, "%s: looking up: %s", d->path,
			       sqlite3_errstr(step));
	return IF_OK;
}

void
sim_db_ids_cleanup(struct sim_db_ids *ids)
{
	free(ids->id);
	memset(ids, 0, sizeof(*ids));
}

const char *
sim_db_lookup_sql(enum sim_db_lookup q)
{
	return (int)q >= 0 && q < SIM_DB_LOOKUPS ? lookup_sql[q] : "";
}

const char *
sim_db_query_sql(enum sim_db_query q)
{
	return (int)q >= 0 && q < SIM_DB_QUERIES ? query_sql[q] : "";
}

uint64_t
sim_db_steps_take(struct sim_db *d)
{
	uint64_t steps = d->steps;

	d->steps = 0;
	return steps;
}
