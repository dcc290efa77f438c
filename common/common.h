/*
 * common/common.h - the small shared toolbox of IntoFocus.
 *
 * Every other folder depends on this one and on nothing else of ours
 * (except daemon/, which depends on everything).  It holds:
 *   errbuf.c   the error carrier: a status code and the first message set
 *   buf.c      a growable byte buffer with a hard cap on its size
 *   fsutil.c   atomic file writes, private directories, secrecy checks,
 *              bounded file reads
 *   log.c      OpenBSD-style logging, with journald priority prefixes
 *   util.c     strict number parsing, random bytes, secure wiping
 *
 * Status codes map one to one onto the exit codes of spec section 2; only
 * daemon/main.c turns them into an exit status.
 */
#ifndef INTOFOCUS_COMMON_H
#define INTOFOCUS_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define IF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Status codes: also the process exit codes (spec section 2). */
enum if_status {
	IF_OK = 0,
	IF_ERUNTIME = 1, /* runtime failure */
	IF_EINPUT = 2,	 /* usage or invalid input */
	IF_ETEMP = 75,	 /* temporary failure (EX_TEMPFAIL) */
};

/* ---- errbuf.c ---------------------------------------------------------- */

/*
 * The error carrier.  The innermost layer that knows the cause writes the
 * message; the first message set wins, so an outer layer cannot overwrite
 * the cause by accident.  An outer layer that knows the subject may prefix
 * it once with err_prefix().  A zeroed struct errbuf is ready to use.
 */
struct errbuf {
	int code;	/* enum if_status; IF_OK while no error is set */
	char msg[1024]; /* NUL-terminated; "" while no error is set */
};

/* Resets eb to "no error". */
void err_init(struct errbuf *eb);

/*
 * Records an error with status code (never IF_OK) unless one is already
 * recorded, and returns code either way, so that a caller can write
 * "return err_set(eb, IF_EINPUT, "%s: not a JPEG", path);".
 * eb may be NULL, in which case only code is returned.
 */
int err_set(struct errbuf *eb, int code, const char *fmt, ...) IF_PRINTF(3, 4);

/*
 * Prepends "subject: " (formatted) to the recorded message, for a caller
 * that knows what the failing operation was about.  No-op without an error.
 */
void err_prefix(struct errbuf *eb, const char *fmt, ...) IF_PRINTF(2, 3);

/* True when an error is recorded. */
bool err_isset(const struct errbuf *eb);

/* ---- buf.c ------------------------------------------------------------- */

/*
 * A growable byte buffer with a hard cap, for anything holding outside
 * input (HTTP bodies, answer XML, files read into memory).  The data is
 * always NUL-terminated (the terminator is not counted in len), so text can
 * be used in place.  Appending past limit fails and leaves the buffer as it
 * was.  A zeroed buffer with limit 0 has no cap beyond SIZE_MAX/2.
 */
struct buf {
	char *data; /* NULL until the first append */
	size_t len;
	size_t cap;
	size_t limit; /* maximum len; 0 = no cap */
};

void buf_init(struct buf *b, size_t limit);
/* Frees the memory; the buffer can be reused after buf_init(). */
void buf_cleanup(struct buf *b);
/* Like buf_cleanup() but wipes the bytes first (for secrets). */
void buf_cleanup_secure(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* 0 on success; -1 when the cap would be passed or memory runs out. */
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
/*
 * Appends len bytes of s escaped for HTML text or a quoted attribute
 * (& < > " ' as entities); 0 or -1 as buf_append().
 */
int buf_append_html(struct buf *b, const char *s, size_t len);
int buf_printf(struct buf *b, const char *fmt, ...) IF_PRINTF(2, 3);
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) IF_PRINTF(2, 0);
/*
 * Hands the data to the caller (free() it) and leaves b empty.  Returns an
 * empty allocated string rather than NULL for an empty buffer; NULL only when
 * memory runs out.
 */
char *buf_steal(struct buf *b, size_t *len);

/* ---- fsutil.c ---------------------------------------------------------- */

/*
 * Writing a file so that readers see either the old file or the whole new
 * one, never a part: the bytes go to a temporary name in the same directory,
 * which is flushed, fsynced, renamed over the final name, and the directory
 * fsynced.  Usage:
 *
 *	struct atomic_file af;
 *	if (atomic_file_begin(&af, path, 0644, eb) != 0) return eb->code;
 *	... write to af.fp ...
 *	return atomic_file_commit(&af, eb);   (or atomic_file_abort(&af))
 *
 * commit and abort both release everything; after a failed commit the
 * temporary file is gone and the final name is untouched.
 */
struct atomic_file {
	FILE *fp;
	char *path;	/* final name (owned) */
	char *tmppath; /* temporary name (owned) */
};

int atomic_file_begin(struct atomic_file *af, const char *path, mode_t mode,
		      struct errbuf *eb);
int atomic_file_commit(struct atomic_file *af, struct errbuf *eb);
void atomic_file_abort(struct atomic_file *af);

/* One-shot form of the above. */
int atomic_write_file(const char *path, const void *data, size_t len,
		      mode_t mode, struct errbuf *eb);

/*
 * Creates directory path and its missing parents with the given mode
 * (0700 for state).  An existing directory is accepted as it is.
 */
int mkdir_p(const char *path, mode_t mode, struct errbuf *eb);

/*
 * Refuses (IF_EINPUT) a file that group or others can read or write, or that
 * is owned by another user than the caller or root: it holds secrets.
 */
int file_check_secrecy(const char *path, struct errbuf *eb);

/*
 * Reads a whole file into out (initialised by the caller with its cap).
 * A file longer than the cap is an IF_EINPUT error naming the file.
 */
int read_file(const char *path, struct buf *out, struct errbuf *eb);

/* Joins dir and name into a newly allocated path ("a/b" for "a", "b"). */
char *path_join(const char *dir, const char *name);
/*
 * path with its "." segments, repeated slashes and each "name/.." taken out
 * (by its text: "a/../b" is "b" even when a is a link), in a newly
 * allocated string; "." for a relative path that comes to nothing, and the
 * leading ".." of a relative path kept.  NULL when out of memory.
 */
char *path_normalize(const char *path);

/* ---- log.c ------------------------------------------------------------- */

/*
 * Logging in the OpenBSD style: log_warn() appends strerror(errno),
 * log_warnx() does not.  All functions keep errno intact.  Lines go to
 * stderr; under systemd (JOURNAL_STREAM set, or log_init(.., true)) each
 * line starts with a <N> priority prefix that journald understands.  Every
 * line should name its object, e.g. "exp1/bikes/2 HIT 3Z..: throttled".
 */
enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* verbosity: 0 = info and above, 1 = debug too, -1 = warnings only. */
void log_init(int verbosity, bool journal);
/* Sends the lines to fp instead of stderr (tests); NULL restores stderr. */
void log_set_output(FILE *fp);
void log_warn(const char *fmt, ...) IF_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) IF_PRINTF(1, 2);
void log_info(const char *fmt, ...) IF_PRINTF(1, 2);
void log_debug(const char *fmt, ...) IF_PRINTF(1, 2);
void log_msg(enum log_level level, const char *fmt, ...) IF_PRINTF(2, 3);
void log_vmsg(enum log_level level, const char *fmt, va_list ap)
	IF_PRINTF(2, 0);

/* ---- util.c ------------------------------------------------------------ */

/*
 * Strict decimal integer parsing: the whole string must be a number within
 * [min, max]; no leading spaces, no trailing characters.  0 or -1.
 */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *out);

/* "#rrggbb" (either case) to 0xRRGGBB.  0 or -1. */
int parse_rgb_hex(const char *s, uint32_t *rgb);

/* Fills buf with len bytes from the kernel's CSPRNG.  0 or -1. */
int random_bytes(void *buf, size_t len);

/* Writes 2*len lower-case hex digits and a NUL to out. */
void hex_encode(const void *data, size_t len, char *out);

/* Overwrites len bytes at p in a way the compiler cannot drop. */
void secure_zero(void *p, size_t len);

/* Number of online processors, at least 1. */
int cpu_count(void);

#endif /* INTOFOCUS_COMMON_H */
