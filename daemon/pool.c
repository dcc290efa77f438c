/*
 * daemon/pool.c - several images' steps at once (issue 19).
 *
 * A pass's rounds (images_advance_due in stage.c) and its poll round's
 * listings (poll.c) are handed to a few threads, each with its own MTurk
 * client and image host (clones of run's, sharing its token bucket and
 * its request counters) and its own renderer.  The threads take turns on
 * one lock, the pass lock: a thread holds it for everything it does to
 * the run (the SQLite connection, the caches of HIT and qualification
 * types, the crash points, the budget) and lets go only while it waits
 * on a request or renders a stage image (run_pass_unlock/lock).  So the
 * steps' requests overlap and their rendering uses the machine's cores,
 * while everything else happens one thread at a time, as it did when the
 * images went one after another:
 * the intent of a request is committed before the lock is let go, the
 * budget is read and a HIT's cost committed without a let-go in between,
 * and a HIT type is created once, by the first thread that needs it.
 * The thread that runs the pass waits for the round and feeds the
 * watchdog as each image's step ends.
 *
 * The other design weighed, a phased step that describes every image's
 * next request and sends them together on one libcurl pool (as
 * mturk/settle.c does), would have split each step of stage.c in two
 * around every request; this one keeps the steps as they are.
 */
#include "daemon/daemon.h"
#include "imaging/imaging.h"
#include "mturk/mturk.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* As many as the client's pool of concurrent calls (mturk_rate). */
#define POOL_THREADS_MAX 8

struct pool_worker {
	struct run_pool *pool;
	pthread_t thread;
	struct mturk_client *client;
	struct mturk_image_host *host;
	struct img_renderer *renderer; /* made on first use */
};

struct run_pool {
	pthread_mutex_t lock; /* the pass lock */
	pthread_cond_t work;  /* a round was handed out, or quit */
	pthread_cond_t done;  /* an image's step ended */
	struct pool_worker workers[POOL_THREADS_MAX];
	size_t nworkers;
	bool quit;
	/* The round under way. */
	struct run_ctx *ctx;
	run_pool_job job;
	void *arg;
	size_t nitems, next, finished;
	int rc;
	struct errbuf eb;
};

/* The worker the calling thread is, or NULL (the pass's own thread). */
static _Thread_local struct pool_worker *self;

struct mturk_client *
run_client(const struct run_ctx *ctx)
{
	return self != NULL ? self->client : ctx->client;
}

struct mturk_image_host *
run_host(const struct run_ctx *ctx)
{
	return self != NULL ? self->host : ctx->host;
}

struct img_renderer **
run_renderer(struct run_ctx *ctx)
{
	return self != NULL ? &self->renderer : &ctx->renderer;
}

void
run_pass_unlock(const struct run_ctx *ctx)
{
	(void)ctx;
	if (self != NULL)
		pthread_mutex_unlock(&self->pool->lock);
}

void
run_pass_lock(const struct run_ctx *ctx)
{
	(void)ctx;
	if (self != NULL)
		pthread_mutex_lock(&self->pool->lock);
}

static void *
worker_main(void *arg)
{
	struct pool_worker *w = arg;
	struct run_pool *p = w->pool;

	self = w;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct errbuf eb = {0};
		size_t i;
		int rc = IF_OK;

		while (!p->quit && p->next >= p->nitems)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->quit)
			break;
		i = p->next++;
		/* After a failure the round ends, as the sequential one did. */
		if (p->rc == IF_OK && !loop_stop_requested())
			rc = p->job(p->ctx, i, p->arg, &eb);
		if (rc != IF_OK && p->rc == IF_OK) {
			p->rc = rc;
			p->eb = eb;
		}
		p->finished++;
		pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int
run_pool_new(struct run_ctx *ctx, size_t threads, struct run_pool **out,
	     struct errbuf *eb)
{
	struct run_pool *p;
	int rc = IF_OK;

	*out = NULL;
	if (threads > POOL_THREADS_MAX)
		threads = POOL_THREADS_MAX;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return err_set(eb, IF_ERUNTIME, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->done, NULL);
	for (size_t i = 0; i < threads && rc == IF_OK; i++) {
		struct pool_worker *w = &p->workers[i];

		w->pool = p;
		rc = mturk_client_clone(ctx->client, &w->client, eb);
		if (rc == IF_OK)
			rc = mturk_image_host_clone(ctx->host, &w->host, eb);
		if (rc == IF_OK &&
		    pthread_create(&w->thread, NULL, worker_main, w) != 0)
			rc = err_set(eb, IF_ERUNTIME,
				     "cannot start a thread for the pass");
		if (rc != IF_OK) {
			mturk_client_free(w->client);
			mturk_image_host_free(w->host);
			break;
		}
		p->nworkers++;
	}
	if (rc != IF_OK) {
		run_pool_free(p);
		return rc;
	}
	*out = p;
	return IF_OK;
}

void
run_pool_free(struct run_pool *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->quit = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (size_t i = 0; i < p->nworkers; i++) {
		pthread_join(p->workers[i].thread, NULL);
		mturk_client_free(p->workers[i].client);
		mturk_image_host_free(p->workers[i].host);
		img_renderer_free(p->workers[i].renderer);
	}
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* Without a pool, or for one: on this thread, one by one. */
static int
each_here(struct run_ctx *ctx, size_t n, run_pool_job job, void *arg,
	  struct errbuf *eb)
{
	int rc = IF_OK;

	for (size_t i = 0; i < n && rc == IF_OK && !loop_stop_requested();
	     i++) {
		rc = job(ctx, i, arg, eb);
		/* A pass of many images may outlast the watchdog's interval. */
		notify_watchdog(&ctx->notify);
	}
	return rc;
}

int
run_pool_each(struct run_ctx *ctx, size_t n, run_pool_job job, void *arg,
	      struct errbuf *eb)
{
	struct run_pool *p = ctx->pool;
	size_t fed = 0;
	int rc;

	if (p == NULL || p->nworkers == 0 || n < 2)
		return each_here(ctx, n, job, arg, eb);
	pthread_mutex_lock(&p->lock);
	p->ctx = ctx;
	p->job = job;
	p->arg = arg;
	p->nitems = n;
	p->next = 0;
	p->finished = 0;
	p->rc = IF_OK;
	err_init(&p->eb);
	pthread_cond_broadcast(&p->work);
	while (p->finished < n) {
		pthread_cond_wait(&p->done, &p->lock);
		/* Each image's step is progress. */
		for (; fed < p->finished; fed++)
			notify_watchdog(&ctx->notify);
	}
	rc = p->rc;
	if (rc != IF_OK)
		err_set(eb, rc, "%s", p->eb.msg);
	p->nitems = 0;
	p->next = 0;
	pthread_mutex_unlock(&p->lock);
	return rc;
}
