/*
 * prolific/errors.c - one classification of Prolific failures.
 *
 * The fault class is decided from the HTTP status and the transfer's
 * CURLcode only; the body's title and detail are kept for people, never
 * read for a decision.  Transport failures are sorted by the MTurk
 * client's own list of passing CURLcodes (mturk_error_from_curl), so that
 * both clients agree on what a network failure means.
 */
#include "prolific/prolific.h"

#include <stdio.h>
#include <string.h>

void
prolific_error_clear(struct prolific_error *e)
{
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->error_code = -1;
}

enum prolific_fault
prolific_fault_classify(long http_status, int curl_code)
{
	struct mturk_error me;

	if (curl_code != 0) {
		mturk_error_from_curl(&me, curl_code, NULL);
		return me.retryable ? PROLIFIC_FAULT_PASSING
				    : PROLIFIC_FAULT_ACCOUNT;
	}
	if (http_status >= 200 && http_status < 300)
		return PROLIFIC_FAULT_NONE;
	if (http_status == 401 || http_status == 403)
		return PROLIFIC_FAULT_ACCOUNT;
	if (http_status == 429 || http_status == 408 || http_status >= 500)
		return PROLIFIC_FAULT_PASSING;
	/* 1xx/3xx (no redirects are followed) and other 4xx. */
	return PROLIFIC_FAULT_REFUSED;
}

const char *
prolific_fault_str(enum prolific_fault f)
{
	switch (f) {
	case PROLIFIC_FAULT_NONE:
		return "none";
	case PROLIFIC_FAULT_PASSING:
		return "passing";
	case PROLIFIC_FAULT_REFUSED:
		return "refused";
	case PROLIFIC_FAULT_ACCOUNT:
		return "account";
	}
	return "unknown";
}

void
prolific_error_format(const struct prolific_error *e, char *out, size_t outsz)
{
	char code[48] = "";

	if (outsz == 0)
		return;
	if (e->http_status == 0) {
		snprintf(out, outsz, "no answer: %s",
			 e->detail[0] != '\0' ? e->detail : "transfer failed");
		return;
	}
	if (e->error_code >= 0)
		snprintf(code, sizeof(code), " (error_code %ld)",
			 e->error_code);
	snprintf(out, outsz, "HTTP %ld%s%s%s%s%s", e->http_status, code,
		 e->title[0] != '\0' ? ": " : "", e->title,
		 e->detail[0] != '\0' ? ": " : "", e->detail);
}
