/*
 * Logging after OpenBSD's log.c, adapted for journald: under systemd each
 * line carries a <N> syslog priority prefix, on a terminal it does not.
 * The settings are process-wide on purpose: there is one stderr.
 */
#include "common/common.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int log_verbosity;
static bool log_journal;
static FILE *log_out;

void
log_init(int verbosity, bool journal)
{
	log_verbosity = verbosity;
	log_journal = journal || getenv("JOURNAL_STREAM") != NULL;
}

void
log_set_output(FILE *fp)
{
	log_out = fp;
}

static void
emit(enum log_level level, const char *suffix, const char *fmt, va_list ap)
{
	FILE *fp = log_out != NULL ? log_out : stderr;
	char line[2048];
	int saved = errno;

	if (level == LOG_LEVEL_DEBUG && log_verbosity < 1)
		return;
	if (level == LOG_LEVEL_INFO && log_verbosity < 0)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (log_journal)
		fprintf(fp, "<%d>", (int)level);
	if (suffix != NULL)
		fprintf(fp, "%s: %s\n", line, suffix);
	else
		fprintf(fp, "%s\n", line);
	fflush(fp);
	errno = saved;
}

void
log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	emit(level, NULL, fmt, ap);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(level, NULL, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_WARNING, why, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_WARNING, NULL, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_INFO, NULL, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LEVEL_DEBUG, NULL, fmt, ap);
	va_end(ap);
}
