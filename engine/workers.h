/* workers.h - fixed pools of worker threads, as in redis bio.c.
 *
 * A piece of blocking work is a struct work embedded first in the caller's
 * own struct: run() is called on a worker thread with only what the work
 * carries (copies and a const context, never the engine), then the pool's
 * finished() hook hands it back (the engine posts it to its inbox) and the
 * engine thread calls done(). A pool has at most `size` threads, started as
 * work arrives, and runs its work in the order it was submitted; a pool of
 * size 1 is a serial worker. pool_free waits for the queued work and joins
 * every thread: nothing is detached. Internal to engine/. */
#ifndef TALLY_WORKERS_H
#define TALLY_WORKERS_H

struct engine;

struct work {
	struct work *next;                                /* the pool's queue */
	void (*run)(struct work *w);                      /* on a worker thread */
	void (*done)(struct engine *e, struct work *w);   /* on the engine thread */
};

struct pool;

/* finished(ctx, w) is called on the worker thread after w->run; it must
 * not block (it queues w for the owner). */
struct pool *pool_new(const char *name, int size, void (*finished)(void *ctx, struct work *w),
		      void *ctx);
/* Queues w (any thread; the pool starts a thread when none is idle and it
 * has fewer than size). Threads are created with every signal blocked. */
void pool_submit(struct pool *p, struct work *w);
/* Work queued or running (any thread). */
int pool_busy(struct pool *p);
/* Runs what is queued, joins the threads, frees the pool. NULL is fine. */
void pool_free(struct pool *p);

#endif
