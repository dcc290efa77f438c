/*
 * Files: atomic writes (temp, fsync, rename, fsync of the directory),
 * private directories, secrecy checks for credential files and bounded
 * reads.  Spec section 9 relies on the atomic writes: a reader sees the old
 * file or the whole new one, never a part, even after a crash.
 */
#define _DEFAULT_SOURCE
#include "common/common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *
path_join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	bool slash = dl > 0 && dir[dl - 1] != '/';
	char *p = malloc(dl + slash + nl + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	return p;
}

char *
path_normalize(const char *path)
{
	bool absolute = path[0] == '/';
	char *out = malloc(strlen(path) + 2);
	const char *seg = path;
	/* out[0, keep) stays: the root, and a relative path's leading ".."s */
	size_t used = 0, keep;

	if (out == NULL)
		return NULL;
	if (absolute)
		out[used++] = '/';
	keep = used;
	while (*seg != '\0') {
		const char *end = strchr(seg, '/');
		size_t n = end != NULL ? (size_t)(end - seg) : strlen(seg);
		bool dot = n == 1 && seg[0] == '.';
		bool dotdot = n == 2 && seg[0] == '.' && seg[1] == '.';

		if (dotdot && used > keep) {
			/* Back over the last name, then the slash before it. */
			while (used > keep && out[used - 1] != '/')
				used--;
			if (used > keep)
				used--;
		} else if (n > 0 && !dot && !(dotdot && absolute)) {
			if (used > 0 && out[used - 1] != '/')
				out[used++] = '/';
			memcpy(out + used, seg, n);
			used += n;
			if (dotdot)
				keep = used;
		}
		seg += n;
		while (*seg == '/')
			seg++;
	}
	if (used == 0)
		out[used++] = '.';
	out[used] = '\0';
	return out;
}

/* fsync of the directory that holds path, so that a rename is durable. */
static int
fsync_parent(const char *path)
{
	char *copy = strdup(path);
	int fd, rc = -1;

	if (copy == NULL)
		return -1;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		rc = fsync(fd);
		close(fd);
	}
	free(copy);
	return rc;
}

int
atomic_file_begin(struct atomic_file *af, const char *path, mode_t mode,
		  struct errbuf *eb)
{
	unsigned char rnd[6];
	char suffix[32];
	size_t len;
	int fd;

	memset(af, 0, sizeof(*af));
	if (random_bytes(rnd, sizeof(rnd)) != 0)
		return err_set(eb, IF_ERUNTIME, "%s: no random bytes: %s",
			       path, strerror(errno));
	hex_encode(rnd, sizeof(rnd), suffix);
	len = strlen(path) + strlen(suffix) + 8;
	af->path = strdup(path);
	af->tmppath = malloc(len);
	if (af->path == NULL || af->tmppath == NULL) {
		atomic_file_abort(af);
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
	}
	snprintf(af->tmppath, len, "%s.%s.tmp", path, suffix);
	fd = open(af->tmppath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno;
		free(af->tmppath);
		af->tmppath = NULL;
		atomic_file_abort(af);
		return err_set(eb, IF_ERUNTIME, "%s: cannot create: %s", path,
			       strerror(e));
	}
	/* open() applies the umask; the caller asked for this exact mode. */
	(void)fchmod(fd, mode);
	af->fp = fdopen(fd, "wb");
	if (af->fp == NULL) {
		close(fd);
		atomic_file_abort(af);
		return err_set(eb, IF_ERUNTIME, "%s: fdopen failed", path);
	}
	return IF_OK;
}

void
atomic_file_abort(struct atomic_file *af)
{
	if (af->fp != NULL)
		fclose(af->fp);
	if (af->tmppath != NULL)
		unlink(af->tmppath);
	free(af->tmppath);
	free(af->path);
	memset(af, 0, sizeof(*af));
}

int
atomic_file_commit(struct atomic_file *af, struct errbuf *eb)
{
	int rc = IF_OK;

	if (af->fp == NULL) {
		atomic_file_abort(af);
		return err_set(eb, IF_ERUNTIME, "atomic file not open");
	}
	if (fflush(af->fp) != 0 || ferror(af->fp) ||
	    fsync(fileno(af->fp)) != 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: write failed: %s", af->path,
			     strerror(errno));
		goto fail;
	}
	if (fclose(af->fp) != 0) {
		af->fp = NULL;
		rc = err_set(eb, IF_ERUNTIME, "%s: close failed: %s", af->path,
			     strerror(errno));
		goto fail;
	}
	af->fp = NULL;
	if (rename(af->tmppath, af->path) != 0) {
		rc = err_set(eb, IF_ERUNTIME, "%s: rename failed: %s", af->path,
			     strerror(errno));
		goto fail;
	}
	free(af->tmppath);
	af->tmppath = NULL;
	if (fsync_parent(af->path) != 0)
		rc = err_set(eb, IF_ERUNTIME,
			     "%s: fsync of directory failed: %s",
			     af->path, strerror(errno));
fail:
	atomic_file_abort(af);
	return rc;
}

int
atomic_write_file(const char *path, const void *data, size_t len, mode_t mode,
		  struct errbuf *eb)
{
	struct atomic_file af;

	if (atomic_file_begin(&af, path, mode, eb) != IF_OK)
		return eb != NULL ? eb->code : IF_ERUNTIME;
	if (len > 0 && fwrite(data, 1, len, af.fp) != len) {
		int rc = err_set(eb, IF_ERUNTIME, "%s: write failed: %s", path,
				 strerror(errno));
		atomic_file_abort(&af);
		return rc;
	}
	return atomic_file_commit(&af, eb);
}

int
mkdir_p(const char *path, mode_t mode, struct errbuf *eb)
{
	struct stat st;
	char *parent;
	int rc;

	/*
	 * Only missing directories are created, deepest last: never a mkdir()
	 * of an existing parent, which a read-only sandbox may refuse.
	 */
	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return err_set(eb, IF_ERUNTIME, "%s: not a directory",
				       path);
		return IF_OK;
	}
	if (errno != ENOENT)
		return err_set(eb, IF_ERUNTIME, "%s: %s", path,
			       strerror(errno));
	parent = strdup(path);
	if (parent == NULL)
		return err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
	rc = IF_OK;
	{
		char *d = dirname(parent);
		if (strcmp(d, path) != 0 && strcmp(d, ".") != 0 &&
		    strcmp(d, "/") != 0)
			rc = mkdir_p(d, mode, eb);
	}
	free(parent);
	if (rc != IF_OK)
		return rc;
	if (mkdir(path, mode) != 0 && errno != EEXIST)
		return err_set(eb, IF_ERUNTIME,
			       "%s: cannot create directory: %s",
			       path, strerror(errno));
	return IF_OK;
}

int
file_check_secrecy(const char *path, struct errbuf *eb)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return err_set(eb, IF_EINPUT, "%s: %s", path, strerror(errno));
	if (st.st_uid != getuid() && st.st_uid != 0)
		return err_set(eb, IF_EINPUT,
			       "%s: holds secrets but is owned by uid %u, "
			       "not by you (uid %u) or root",
			       path, (unsigned)st.st_uid, (unsigned)getuid());
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return err_set(eb, IF_EINPUT,
			       "%s: holds secrets but others may read it (mode "
			       "%04o); run: chmod 600 %s",
			       path, (unsigned)(st.st_mode & 07777), path);
	return IF_OK;
}

int
read_file(const char *path, struct buf *out, struct errbuf *eb)
{
	char chunk[65536];
	FILE *fp = fopen(path, "rb");
	size_t n;
	int rc = IF_OK;

	if (fp == NULL)
		return err_set(eb, IF_EINPUT, "%s: cannot open: %s", path,
			       strerror(errno));
	buf_reset(out);
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
		if (buf_append(out, chunk, n) != 0) {
			rc = err_set(eb, IF_EINPUT,
				     "%s: larger than the limit of %zu bytes",
				     path, out->limit);
			break;
		}
	}
	if (rc == IF_OK && ferror(fp))
		rc = err_set(eb, IF_EINPUT, "%s: read error: %s", path,
			     strerror(errno));
	fclose(fp);
	if (rc == IF_OK && out->data == NULL && buf_append(out, "", 0) != 0)
		rc = err_set(eb, IF_ERUNTIME, "%s: out of memory", path);
	return rc;
}
