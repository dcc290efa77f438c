/*
 * mturk/push.c - the daemon's side of the project's own server's push
 * (issue 19; the server's side and the exchange: sim/sim_push.c).
 *
 * MTurk has no such thing, and the daemon sends it only to a server whose
 * API answers offered it (mturk_client_push_offered), so that against AWS
 * nothing but the model's operations ever leaves.  One signed request
 * waits, on a connection of its own, until HITs became Reviewable or the
 * wait is over; a signal the caller lets through ends it at once.
 */
#include "mturk/client_private.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* The answers of one wait are few: the HITs that finished meanwhile. */
#define PUSH_IDS_MAX 100
/* What the exchange may take beyond the wait itself. */
#define PUSH_SLACK_MS 10000

void
mturk_push_answer_cleanup(struct mturk_push_answer *a)
{
	free(a->hit_ids);
	memset(a, 0, sizeof(*a));
}

/* Reads {"Now": ms, "HITIds": [...], "More": bool} into a. */
static int
parse_answer(const struct buf *body, struct mturk_push_answer *a,
	     struct errbuf *eb)
{
	json_t *o, *now, *ids, *more;
	json_error_t jerr;
	size_t n;
	int rc = IF_OK;

	o = json_loadb(body->data != NULL ? body->data : "", body->len, 0,
		       &jerr);
	now = json_object_get(o, "Now");
	ids = json_object_get(o, "HITIds");
	more = json_object_get(o, "More");
	if (!json_is_integer(now) || json_integer_value(now) < 0 ||
	    !json_is_array(ids) || (more != NULL && !json_is_boolean(more))) {
		json_decref(o);
		return err_set(eb, IF_ERUNTIME,
			       "WaitForReviewableHITs: an answer without Now "
			       "and HITIds");
	}
	n = json_array_size(ids);
	a->now_ms = (int64_t)json_integer_value(now);
	a->more = json_is_true(more) || n > PUSH_IDS_MAX;
	if (n > PUSH_IDS_MAX)
		n = PUSH_IDS_MAX;
	a->hit_ids = calloc(n + 1, sizeof(*a->hit_ids));
	if (a->hit_ids == NULL) {
		json_decref(o);
		return err_set(eb, IF_ERUNTIME,
			       "WaitForReviewableHITs: out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const char *id = json_string_value(json_array_get(ids, i));

		if (id == NULL || id[0] == '\0' || strlen(id) >= MTURK_ID_MAX) {
			rc = err_set(eb, IF_ERUNTIME,
				     "WaitForReviewableHITs: HITIds[%zu] is "
				     "not a HIT id", i);
			break;
		}
		snprintf(a->hit_ids[a->n++], MTURK_ID_MAX, "%s", id);
	}
	json_decref(o);
	return rc;
}

int
mturk_push_wait(struct mturk_client *c, int64_t since_ms, int64_t wait_ms,
		const sigset_t *wake, struct mturk_push_answer *out,
		struct errbuf *eb)
{
	struct mturk_error e;
	struct buf body, answer;
	bool woken = false;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!mturk_client_push_offered(c))
		return err_set(eb, IF_EINPUT,
			       "WaitForReviewableHITs: the server offers no "
			       "push");
	if (wait_ms < 0)
		wait_ms = 0;
	buf_init(&body, 0);
	buf_init(&answer, 0);
	buf_printf(&body, "{\"Since\":%lld,\"WaitMs\":%lld}",
		   (long long)since_ms, (long long)wait_ms);
	rc = mturk_push_call(c, body.data, body.len, wait_ms + PUSH_SLACK_MS,
			     wake, &woken, &answer, &e, eb);
	out->woken = woken;
	if (rc == IF_OK)
		rc = parse_answer(&answer, out, eb);
	else if (woken)
		rc = IF_OK; /* the caller's signal: no failure */
	buf_cleanup(&body);
	buf_cleanup(&answer);
	if (rc != IF_OK) {
		free(out->hit_ids);
		out->hit_ids = NULL;
		out->n = 0;
	}
	return rc;
}
