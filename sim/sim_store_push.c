/*
 * sim/sim_store_push.c - which HITs became Reviewable since a moment, for
 * the push that tells the daemon at once (issue 19; sim_push.c).
 *
 * A HIT's moving to Reviewable is derived, as everything else in the store,
 * from the clock: the simulated crowd's submissions are planned when the
 * HIT is created and appear as the clock passes them, and a participant's
 * submit stamps the time it came.  So "became Reviewable at" is the latest
 * submission of a HIT that is Reviewable now (or its expiry, when it
 * expired short of answers), and a waiter's question "what became
 * Reviewable since T" is answered by comparing those moments with T; the
 * next moment at which the clock alone may change the answer (a planned
 * submission, an expiry, an accepted assignment's time running out) is
 * when the hub looks again.  HITs moved to Reviewing (the daemon has dealt
 * with them) and deleted ones are never reported.
 */
#include "sim/sim_private.h"

#include <stdint.h>
#include <string.h>

/* The moment h became Reviewable; the lock held, h Reviewable now. */
static int64_t
reviewable_at(struct sim_store *st, struct hit *h, int64_t now)
{
	int64_t at = 0;

	for (size_t i = 0; i < h->nasgs; i++) {
		const struct asg *a = h->asgs[i];
		enum asg_state s = sim_asg_state_at(st, a, h, now);

		if (sim_asg_listed(s) && a->submit_ms > at)
			at = a->submit_ms;
		/* An abandoned one ran out at its duration's end. */
		if (s == ASG_ABANDONED && !a->simulated &&
		    a->accept_ms + h->duration_s * 1000 > at)
			at = a->accept_ms + h->duration_s * 1000;
	}
	if (now >= h->expiration_ms && h->expiration_ms > at)
		at = h->expiration_ms; /* expired short of answers */
	return at;
}

/* The next moment after now at which h's status may change by itself. */
static int64_t
next_change(struct sim_store *st, const struct hit *h, int64_t now)
{
	int64_t next = INT64_MAX;

	if (h->expiration_ms > now)
		next = h->expiration_ms;
	for (size_t i = 0; i < h->nasgs; i++) {
		const struct asg *a = h->asgs[i];
		int64_t t = INT64_MAX;

		(void)st;
		if (a->simulated && a->state == ASG_SUBMITTED &&
		    a->submit_ms > now)
			t = a->submit_ms;
		else if (!a->simulated && a->state == ASG_ACCEPTED)
			t = a->accept_ms + h->duration_s * 1000 + 1;
		if (t > now && t < next)
			next = t;
	}
	return next;
}

int
sim_store_reviewable_since(struct sim_store *st, int64_t since_ms,
			   char (*ids)[SIM_ID_LEN + 1], size_t max, size_t *n,
			   bool *more, int64_t *now_ms, int64_t *next_ms)
{
	int64_t now, next = INT64_MAX;

	*n = 0;
	*more = false;
	pthread_mutex_lock(&st->mu);
	now = sim_store_now_ms(st);
	for (size_t i = 0; i < st->nhits; i++) {
		struct hit *h = st->hits[i];
		struct hit_counts c;
		const char *status;

		if (h->deleted || h->reviewing)
			continue;
		c = sim_hit_counts(st, h, now);
		status = sim_hit_status(h, &c, now);
		if (strcmp(status, "Reviewable") != 0) {
			int64_t t = next_change(st, h, now);

			if (t < next)
				next = t;
			continue;
		}
		if (reviewable_at(st, h, now) < since_ms)
			continue;
		if (*n < max)
			memcpy(ids[(*n)++], h->id, sizeof(ids[0]));
		else
			*more = true;
	}
	pthread_mutex_unlock(&st->mu);
	*now_ms = now;
	*next_ms = next;
	return 0;
}
