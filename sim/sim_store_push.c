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
 * Reviewable since T" is answered by comparing those moments with T.
 * Both come from the HIT index (sim_db.c, written with each saved change):
 * its rows say from when each HIT is Reviewable (reviewable_from) and its
 * latest submission or time-out (reviewable_base), so a wait reads the
 * HITs that answer it, not every HIT.  The next moment at which the clock
 * alone may change the answer is the soonest reviewable_from still to
 * come; the hub looks again then.  HITs moved to Reviewing (the daemon
 * has dealt with them) and deleted ones are never reported.
 */
#include "sim/sim_private.h"

#include <stdint.h>
#include <string.h>

int
sim_store_reviewable_since(struct sim_store *st, int64_t since_ms,
			   char (*ids)[SIM_ID_LEN + 1], size_t max, size_t *n,
			   bool *more, int64_t *now_ms, int64_t *next_ms)
{
	struct sim_db_hit_ref *refs = calloc(max + 1, sizeof(*refs));
	struct sim_db_hits_args args;
	struct errbuf eb;
	size_t got = 0;
	int rc = 0;

	*n = 0;
	*more = false;
	*next_ms = INT64_MAX;
	memset(&args, 0, sizeof(args));
	args.since_ms = since_ms;
	args.limit = max + 1; /* one more says whether more follow */
	pthread_mutex_lock(&st->mu);
	args.now_ms = *now_ms = sim_store_now_ms(st);
	err_init(&eb);
	if (refs == NULL ||
	    sim_store_hits(st, SIM_DB_SINCE, &args, refs, &got) != 0 ||
	    sim_db_next_reviewable(st->db, args.now_ms, next_ms, &eb) !=
		    IF_OK) {
		if (eb.msg[0] != '\0')
			log_warnx("simulator: %s", eb.msg);
		got = 0;
		rc = -1;
	}
	sim_store_unlock(st);
	for (size_t i = 0; i < got && i < max; i++)
		memcpy(ids[(*n)++], refs[i].id, sizeof(ids[0]));
	*more = got > max;
	free(refs);
	return rc;
}
