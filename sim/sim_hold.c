/*
 * sim/sim_hold.c - a test hook (issue 19): requests of an operation held
 * until k of them have arrived, so that a test of a client that should
 * send them at once fails when it sends them one after another.
 *
 * Each hold counts the requests of its operation as they arrive; the
 * first k - 1 wait until the k-th comes, then all go on, and so do the
 * later ones.  A hold that is not met within SIM_HOLD_GIVE_UP_MS lets its
 * waiters go and stays not met: the bound only ends a failing test, so
 * no test's passing depends on time (90 s: a loaded CI machine can take
 * seconds to schedule a thread; a sequential pass still fails, slowly).
 */
#include "sim/sim_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_HOLDS_MAX 4
#define SIM_HOLD_GIVE_UP_MS 90000

struct hold {
	char operation[64];
	int k, arrived;
	bool met, gave_up;
};

struct sim_hold {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct hold holds[SIM_HOLDS_MAX];
};

struct sim_hold *
sim_hold_new(void)
{
	struct sim_hold *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	return h;
}

void
sim_hold_free(struct sim_hold *h)
{
	if (h == NULL)
		return;
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static struct hold *
hold_of(struct sim_hold *h, const char *operation)
{
	for (size_t i = 0; i < SIM_HOLDS_MAX; i++)
		if (h->holds[i].k > 0 &&
		    strcmp(h->holds[i].operation, operation) == 0)
			return &h->holds[i];
	return NULL;
}

int
sim_hold_set(struct sim_hold *h, const char *operation, int k)
{
	struct hold *o;
	int rc = 0;

	if (strlen(operation) >= sizeof(o->operation))
		return -1;
	pthread_mutex_lock(&h->mu);
	o = hold_of(h, operation);
	for (size_t i = 0; o == NULL && i < SIM_HOLDS_MAX; i++)
		if (h->holds[i].k == 0)
			o = &h->holds[i];
	if (o == NULL) {
		rc = -1;
	} else {
		memset(o, 0, sizeof(*o));
		if (k > 0) {
			snprintf(o->operation, sizeof(o->operation), "%s",
				 operation);
			o->k = k;
		}
	}
	/* Waiters of a hold disarmed or set again go on. */
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return rc;
}

bool
sim_hold_was_met(struct sim_hold *h, const char *operation)
{
	struct hold *o;
	bool met;

	pthread_mutex_lock(&h->mu);
	o = hold_of(h, operation);
	met = o != NULL && o->met && !o->gave_up;
	pthread_mutex_unlock(&h->mu);
	return met;
}

void
sim_hold_wait(struct sim_hold *h, const char *operation)
{
	struct timespec until;
	struct hold *o;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	o = hold_of(h, operation);
	if (o == NULL || o->met || o->gave_up || o->arrived >= o->k) {
		pthread_mutex_unlock(&h->mu);
		return;
	}
	if (++o->arrived == o->k) {
		o->met = true;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += SIM_HOLD_GIVE_UP_MS / 1000;
	while (hold_of(h, operation) == o && !o->met && !o->gave_up)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) ==
		    ETIMEDOUT)
			o->gave_up = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}
