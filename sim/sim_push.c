/*
 * sim/sim_push.c - the long poll that tells the daemon at once which HITs
 * became Reviewable (issue 19), instead of its waiting for the next poll.
 *
 * The server announces it in a header of its API answers (MTURK_PUSH_HEADER)
 * and serves it as one more signed operation (MTURK_PUSH_TARGET, checked
 * like every API request): {"Since": ms, "WaitMs": ms} is answered with
 * {"Now": ms, "HITIds": [...], "More": bool}: the HITs that became
 * Reviewable at or after Since (the store's clock, as the previous answer's
 * Now gave it), at once when there are any, else when one does or WaitMs
 * has passed.  A repeat of a HIT at the very millisecond of a Now is
 * harmless: the daemon then finds it dealt with.
 *
 * A waiter holds no thread in the epoll mode of "intofocus serve": its
 * connection is suspended (MHD_suspend_connection, in the request's own
 * handler and under the hub's lock, so that the hub cannot resume it
 * before) and resumed by the hub's one thread with its answer ready.  In
 * the simulator's thread-per-connection mode, where MHD cannot suspend,
 * the connection's own thread waits on a condition variable.  Either way
 * the hub's thread decides: it looks again when notified (a submission,
 * a new HIT), at the next moment the store's clock alone may change the
 * answer (a planned submission, an expiry), and at each waiter's
 * deadline.  Waiters are few (max_waiters; beyond that the request is
 * refused as throttled and the daemon polls) and bounded in time
 * (SIM_PUSH_WAIT_MAX_MS).
 */
#include "sim/sim_private.h"
#include "mturk/mturk.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SIM_PUSH_IDS_MAX 100
/* The hub looks again at least this often (a test clock that jumps). */
#define SIM_PUSH_RECHECK_MS 1000

struct sim_push {
	pthread_mutex_t mu;
	pthread_cond_t wake;	 /* the hub's thread */
	pthread_cond_t answered; /* threads of blocking waiters */
	pthread_t thread;
	bool started, stop, dirty;
	struct sim_store *store;
	struct sim_push_wait *waiters;
	size_t nwaiters, max_waiters;
};

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The answer for since, into *answer when it is due (events, or force);
 * *next_ms the store's next moment of change, *now_ms its clock.
 */
static int
evaluate(struct sim_store *st, int64_t since, bool force, char **answer,
	 int64_t *now_ms, int64_t *next_ms)
{
	char(*ids)[SIM_ID_LEN + 1] = calloc(SIM_PUSH_IDS_MAX, sizeof(*ids));
	size_t n = 0;
	bool more = false;
	json_t *o, *arr;

	*answer = NULL;
	if (ids == NULL)
		return -1;
	sim_store_reviewable_since(st, since, ids, SIM_PUSH_IDS_MAX, &n, &more,
				   now_ms, next_ms);
	if (n == 0 && !more && !force) {
		free(ids);
		return 0;
	}
	o = json_object();
	arr = json_array();
	for (size_t i = 0; i < n && o != NULL && arr != NULL; i++)
		json_array_append_new(arr, json_string(ids[i]));
	free(ids);
	if (o == NULL || arr == NULL) {
		json_decref(o);
		json_decref(arr);
		return -1;
	}
	json_object_set_new(o, "Now", json_integer(*now_ms));
	json_object_set_new(o, "HITIds", arr);
	json_object_set_new(o, "More", json_boolean(more));
	*answer = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *answer != NULL ? 0 : -1;
}

/* Hands w its answer and wakes whoever waits for it; the lock held. */
static void
finish(struct sim_push *p, struct sim_push_wait *w, char *answer)
{
	w->answer = answer;
	w->done = true;
	if (w->conn != NULL)
		MHD_resume_connection(w->conn);
	else
		pthread_cond_broadcast(&p->answered);
}

static void *
hub_main(void *arg)
{
	struct sim_push *p = arg;

	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		int64_t now = mono_ms(), wake = now + SIM_PUSH_RECHECK_MS;
		struct timespec ts;

		p->dirty = false;
		for (struct sim_push_wait *w = p->waiters; w != NULL;
		     w = w->next) {
			int64_t store_now = 0, next = INT64_MAX;
			char *answer = NULL;

			if (w->done)
				continue;
			evaluate(p->store, w->since_ms, now >= w->deadline,
				 &answer, &store_now, &next);
			if (answer != NULL || now >= w->deadline) {
				finish(p, w, answer);
				continue;
			}
			if (w->deadline < wake)
				wake = w->deadline;
			if (next != INT64_MAX && next - store_now < wake - now)
				wake = now + (next - store_now);
		}
		if (p->dirty)
			continue;
		if (p->nwaiters == 0) {
			/* Nobody to answer: until a waiter comes. */
			while (!p->dirty && !p->stop)
				pthread_cond_wait(&p->wake, &p->mu);
			continue;
		}
		/* Condition variables time out on CLOCK_REALTIME. */
		clock_gettime(CLOCK_REALTIME, &ts);
		wake -= mono_ms();
		if (wake < 1)
			wake = 1;
		ts.tv_sec += (time_t)(wake / 1000);
		ts.tv_nsec += (long)(wake % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		while (!p->dirty && !p->stop &&
		       pthread_cond_timedwait(&p->wake, &p->mu, &ts) == 0)
			;
	}
	/* Stopping: every waiter gets its (empty) answer now. */
	for (struct sim_push_wait *w = p->waiters; w != NULL; w = w->next)
		if (!w->done) {
			int64_t a, b;
			char *answer = NULL;

			evaluate(p->store, w->since_ms, true, &answer, &a, &b);
			finish(p, w, answer);
		}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct sim_push *
sim_push_new(struct sim_store *st, size_t max_waiters)
{
	struct sim_push *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->store = st;
	p->max_waiters = max_waiters;
	if (pthread_mutex_init(&p->mu, NULL) != 0) {
		free(p);
		return NULL;
	}
	if (pthread_cond_init(&p->wake, NULL) != 0 ||
	    pthread_cond_init(&p->answered, NULL) != 0 ||
	    pthread_create(&p->thread, NULL, hub_main, p) != 0) {
		/* Never started: nothing else to undo but the primitives. */
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	p->started = true;
	return p;
}

void
sim_push_stop(struct sim_push *p)
{
	if (p == NULL || !p->started)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	p->started = false;
}

void
sim_push_free(struct sim_push *p)
{
	if (p == NULL)
		return;
	sim_push_stop(p);
	/* Waiters are their requests'; only answers never taken are left. */
	for (struct sim_push_wait *w = p->waiters; w != NULL; w = w->next) {
		free(w->answer);
		w->answer = NULL;
	}
	pthread_cond_destroy(&p->wake);
	pthread_cond_destroy(&p->answered);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

size_t
sim_push_count(struct sim_push *p)
{
	size_t n = 0;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->mu);
	for (const struct sim_push_wait *w = p->waiters; w != NULL;
	     w = w->next)
		n += !w->done;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void
sim_push_notify(struct sim_push *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->nwaiters > 0) {
		p->dirty = true;
		pthread_cond_signal(&p->wake);
	}
	pthread_mutex_unlock(&p->mu);
}

int
sim_push_begin(struct sim_push *p, struct sim_push_wait *w,
	       struct MHD_Connection *conn, int64_t since_ms, int64_t wait_ms)
{
	int64_t now = 0, next = 0;
	char *answer = NULL;
	int rc;

	memset(w, 0, sizeof(*w));
	w->since_ms = since_ms;
	if (wait_ms > SIM_PUSH_WAIT_MAX_MS)
		wait_ms = SIM_PUSH_WAIT_MAX_MS;
	w->deadline = mono_ms() + (wait_ms > 0 ? wait_ms : 0);
	pthread_mutex_lock(&p->mu);
	if (evaluate(p->store, since_ms, wait_ms <= 0 || p->stop, &answer,
		     &now, &next) != 0) {
		rc = -1;
	} else if (answer != NULL) {
		w->answer = answer;
		w->done = true;
		rc = SIM_PUSH_ANSWERED;
	} else if (p->nwaiters >= p->max_waiters) {
		rc = SIM_PUSH_BUSY;
	} else {
		w->conn = conn;
		w->next = p->waiters;
		p->waiters = w;
		p->nwaiters++;
		w->registered = true;
		/* Before the hub can see it: it resumes only under the lock. */
		if (conn != NULL)
			MHD_suspend_connection(conn);
		p->dirty = true;
		pthread_cond_signal(&p->wake);
		rc = SIM_PUSH_WAITING;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

/* Takes w off the list; the lock held. */
static void
unlink_wait(struct sim_push *p, struct sim_push_wait *w)
{
	for (struct sim_push_wait **pp = &p->waiters; *pp != NULL;
	     pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			p->nwaiters--;
			break;
		}
	w->registered = false;
}

char *
sim_push_take(struct sim_push *p, struct sim_push_wait *w, bool block)
{
	char *answer = NULL;

	pthread_mutex_lock(&p->mu);
	while (block && w->registered && !w->done)
		pthread_cond_wait(&p->answered, &p->mu);
	if (w->done) {
		answer = w->answer;
		w->answer = NULL;
		if (w->registered)
			unlink_wait(p, w);
	}
	pthread_mutex_unlock(&p->mu);
	return answer;
}

void
sim_push_cancel(struct sim_push *p, struct sim_push_wait *w)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	if (w->registered)
		unlink_wait(p, w);
	free(w->answer);
	w->answer = NULL;
	pthread_mutex_unlock(&p->mu);
}
