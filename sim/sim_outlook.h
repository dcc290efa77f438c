/*
 * sim/sim_outlook.h - private to sim/: whether a task can still come for
 * a participant of "intofocus serve" who has none now
 * (sim_store_outlook.c), for the pages of sim_people.c.
 */
#ifndef INTOFOCUS_SIM_OUTLOOK_H
#define INTOFOCUS_SIM_OUTLOOK_H

#include "sim/sim_private.h"

/*
 * The studies the server knows and what it learned of their HITs so far
 * (each image's newest stage posted), read from the HIT index a page at
 * a time as HITs are created.  Its mutable part is touched only with the
 * store's lock held.
 */
struct sim_outlook;

/* A copy of the studies; NULL (with eb) when memory runs out. */
struct sim_outlook *sim_outlook_new(const struct sim_people_study *studies,
				    size_t n, struct errbuf *eb);
void sim_outlook_free(struct sim_outlook *o);

/*
 * A participant with no task open and none to take now: either one can
 * still come (wait; until_ms the latest it can, 0 when that is not known)
 * or none can (done).
 */
struct sim_outlook_verdict {
	bool done;
	int64_t until_ms;
	int64_t now_ms;
};

/*
 * The verdict for worker_id; -1 when the store cannot be read.  The
 * caller has found nothing for them to take and their share not done.
 */
int sim_store_people_outlook(struct sim_store *st, struct sim_outlook *o,
			     const char *worker_id,
			     struct sim_outlook_verdict *out);

/*
 * How long after a study's last sign of life (its newest HIT, or the
 * server's first look) with no HIT of it open it counts as stopped:
 * lifetime x (1 + max_extensions) + 2 x poll_interval + 1 hour, the
 * longest a running daemon leaves a study without a HIT open or a new one
 * posted, and an hour for its rendering.  Without a study's file, the
 * keys' defaults (1 day, 3, 30 s): 4 days, 1 hour and a minute.
 */
int64_t sim_outlook_quiet_ms(int64_t lifetime_s, int max_extensions,
			     int64_t poll_interval_s);

/*
 * Lab mode ("intofocus sim"): whether the study is over for everyone:
 * experiments known (st->exps), no HIT open, every image of them with a
 * HIT of its last stage, and no HIT of another experiment.  false when
 * no experiment is known.  -1 when the store cannot be read.
 */
int sim_store_lab_over(struct sim_store *st, bool *over);

#endif /* INTOFOCUS_SIM_OUTLOOK_H */
