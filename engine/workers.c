/* workers.c - the worker pools (see workers.h): one mutex and condition per
 * pool guard its queue and counters; a worker thread owns the work it took
 * off the queue until it hands it to finished(). The model is redis bio.c:
 * a fixed set of threads per kind of job, a FIFO queue per set, results
 * handed back to the owner under its own lock. */
#include "workers.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct work *head, *tail;
	int size;
	int nthreads, idle, busy;   /* busy: queued or running */
	int stopping;
	pthread_t *threads;
	void (*finished)(void *ctx, struct work *w);
	void *ctx;
	char *name;
};

static void *worker_main(void *arg)
{
	struct pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->head && !p->stopping) {
			p->idle++;
			pthread_cond_wait(&p->cv, &p->mu);
			p->idle--;
		}
		if (!p->head)
			break;   /* stopping and nothing left */
		struct work *w = p->head;
		p->head = w->next;
		if (!p->head)
			p->tail = NULL;
		w->next = NULL;
		pthread_mutex_unlock(&p->mu);
		w->run(w);
		p->finished(p->ctx, w);   /* w is the owner's again */
		pthread_mutex_lock(&p->mu);
		p->busy--;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct pool *pool_new(const char *name, int size, void (*finished)(void *ctx, struct work *w),
		      void *ctx)
{
	struct pool *p = xcalloc(1, sizeof *p);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->size = size > 0 ? size : 1;
	p->threads = xcalloc((size_t)p->size, sizeof *p->threads);
	p->finished = finished;
	p->ctx = ctx;
	p->name = xstrdup(name);
	return p;
}

void pool_submit(struct pool *p, struct work *w)
{
	w->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->tail)
		p->tail->next = w;
	else
		p->head = w;
	p->tail = w;
	p->busy++;
	/* a thread more while work outnumbers threads (idle ones take the rest) */
	if (p->busy > p->nthreads && p->nthreads < p->size) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		int rc = pthread_create(&p->threads[p->nthreads], NULL, worker_main, p);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc != 0) {
			fprintf(stderr, "tally: cannot create a %s worker thread\n", p->name);
			abort();
		}
		p->nthreads++;
	}
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

int pool_busy(struct pool *p)
{
	pthread_mutex_lock(&p->mu);
	int n = p->busy;
	pthread_mutex_unlock(&p->mu);
	return n;
}

void pool_free(struct pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->name);
	free(p);
}
