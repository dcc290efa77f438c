/*
 * The error carrier: first error wins, subject first.  See common.h.
 */
#include "common/common.h"

#include <stdio.h>
#include <string.h>

void
err_init(struct errbuf *eb)
{
	if (eb == NULL)
		return;
	eb->code = IF_OK;
	eb->msg[0] = '\0';
}

int
err_set(struct errbuf *eb, int code, const char *fmt, ...)
{
	va_list ap;

	if (code == IF_OK)
		code = IF_ERUNTIME;
	if (eb == NULL || eb->code != IF_OK)
		return code;
	eb->code = code;
	va_start(ap, fmt);
	vsnprintf(eb->msg, sizeof(eb->msg), fmt, ap);
	va_end(ap);
	return code;
}

void
err_prefix(struct errbuf *eb, const char *fmt, ...)
{
	char prefix[512];
	size_t plen, mlen, cap;
	va_list ap;

	if (eb == NULL || eb->code == IF_OK)
		return;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	plen = strlen(prefix);
	cap = sizeof(eb->msg) - 1;
	if (plen + 2 > cap)
		return;
	/* Shift the message right, keeping its start if it must be cut. */
	mlen = strlen(eb->msg);
	if (mlen > cap - plen - 2)
		mlen = cap - plen - 2;
	memmove(eb->msg + plen + 2, eb->msg, mlen);
	memcpy(eb->msg, prefix, plen);
	eb->msg[plen] = ':';
	eb->msg[plen + 1] = ' ';
	eb->msg[plen + 2 + mlen] = '\0';
}

bool
err_isset(const struct errbuf *eb)
{
	return eb != NULL && eb->code != IF_OK;
}
