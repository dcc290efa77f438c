/*
 * sim/sim_db.c - the simulator's durable state: one SQLite file,
 * DIR/sim.db (the only file of sim/ that knows SQLite).
 *
 * The store keeps everything in memory and sim_persist.c tells this file
 * which records changed; each change is one transaction that writes only
 * those records, so saving costs what the change costs, not what the
 * state weighs.  A record is (kind, key) -> a JSON text in the shape the
 * old whole-state file sim.json used for one element of its arrays, plus
 * a blob for S3 objects' bytes.  Records keep the order of their first
 * write (seq), which is the order of the store's arrays.
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
#define SIM_DB_VERSION 1

struct sim_db {
	sqlite3 *db;
	char *path;
	int dirfd; /* holds the flock(); -1 when none */
	sqlite3_stmt *put; /* the upsert of one record */
	sqlite3_stmt *get; /* one record by (kind, key) */
};

static const char schema_v1[] =
	"CREATE TABLE records ("
	"  seq INTEGER PRIMARY KEY,"
	"  kind TEXT NOT NULL,"
	"  key TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  data BLOB,"
	"  UNIQUE (kind, key));";

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
	if (version == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
			 SIM_DB_VERSION);
		if (db_exec(d, schema_v1, IF_ERUNTIME, "creating the schema",
			    eb) != IF_OK ||
		    db_exec(d, sql, IF_ERUNTIME, "creating the schema", eb) !=
			    IF_OK)
			goto fail;
	}
	/* Future versions: "if (version == 1) { ALTER ...; }" here. */
	return db_exec(d, "COMMIT", IF_ERUNTIME, "creating the schema", eb);
fail:
	(void)sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
	return eb->code;
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
	sqlite3_stmt *stmt = NULL;
	int fd;

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
	sqlite3_busy_timeout(d->db, 5000); /* a reader checkpointing */
	sqlite3_extended_result_codes(d->db, 1);
	if (db_exec(d, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
		    IF_EINPUT, "cannot read the simulator state",
		    eb) != IF_OK ||
	    db_migrate(d, eb) != IF_OK) {
		sim_db_close(d);
		return eb->code;
	}
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
	    sqlite3_prepare_v2(d->db, "SELECT 1 FROM records LIMIT 1", -1,
			       &stmt, NULL) != SQLITE_OK) {
		db_error(d, eb, IF_EINPUT, "cannot read the simulator state");
		sqlite3_finalize(stmt);
		sim_db_close(d);
		return eb->code;
	}
	*empty = sqlite3_step(stmt) == SQLITE_DONE;
	sqlite3_finalize(stmt);
	*out = d;
	return IF_OK;
}

void
sim_db_close(struct sim_db *d)
{
	if (d == NULL)
		return;
	sqlite3_finalize(d->put);
	sqlite3_finalize(d->get);
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
sim_db_get(struct sim_db *d, const char *kind, const char *key, char **body,
	   char **data, size_t *len, struct errbuf *eb)
{
	const void *blob;
	const char *text;
	size_t n = 0;
	int rc;

	*body = NULL;
	if (data != NULL) {
		*data = NULL;
		*len = 0;
	}
	sqlite3_reset(d->get);
	if (sqlite3_bind_text(d->get, 1, kind, -1, SQLITE_STATIC) !=
		    SQLITE_OK ||
	    sqlite3_bind_text(d->get, 2, key, -1, SQLITE_STATIC) != SQLITE_OK)
		return db_error(d, eb, IF_ERUNTIME, "reading");
	rc = sqlite3_step(d->get);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(d->get);
		return err_set(eb, IF_ERUNTIME, "%s: no record %s %s",
			       d->path, kind, key);
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
	return IF_OK;
}

int
sim_db_foreach(struct sim_db *d, sim_db_record_fn fn, void *ctx,
	       struct errbuf *eb)
{
	sqlite3_stmt *stmt = NULL;
	int rc = IF_OK, step;

	if (sqlite3_prepare_v2(d->db,
			       "SELECT kind, key, body, data FROM records "
			       "ORDER BY seq",
			       -1, &stmt, NULL) != SQLITE_OK)
		return db_error(d, eb, IF_EINPUT,
				"reading the simulator state");
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
