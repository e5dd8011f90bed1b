/* queue.h - the engine's message queues: a FIFO of struct msg guarded by a
 * mutex and a condition. The inbox (commands, worker results, progress) is
 * pushed by any thread and popped by the engine thread; the outbox (events)
 * is pushed by the engine thread and popped by front ends, and has a pipe
 * that is readable while it is not empty (for poll loops). Internal to
 * engine/. */
#ifndef TALLY_QUEUE_H
#define TALLY_QUEUE_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>

struct msg {
	struct msg *next;
	int kind;
	json_t *json;
	void *ptr;
	size_t bytes;     /* live log bytes it carries */
};

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct msg *head, *tail;
	size_t bytes;     /* live log bytes queued */
	int wake[2];      /* outbox only: readable while non-empty */
};

void queue_init(struct queue *q, int with_pipe);
void queue_push_sized(struct queue *q, int kind, json_t *json, void *ptr, size_t bytes);
void queue_push(struct queue *q, int kind, json_t *json, void *ptr);
size_t queue_bytes(struct queue *q);
struct msg *queue_pop(struct queue *q, int timeout_ms);
/* Appends evs[0..n) (kind 0, no pointer) in order under one lock, waking
 * the consumer once; takes the references. */
void queue_push_batch(struct queue *q, json_t **evs, size_t n);
/* Messages one producer collects and then pushes in one go (the engine
 * thread's events of one loop iteration): consumers are woken once for
 * all of them, in order. Only its producer touches a pending list. */
struct pending {
	struct msg *head, *tail;
	size_t bytes;     /* live log bytes it carries */
	size_t n;         /* messages */
};
void pending_add(struct pending *p, json_t *json, size_t bytes);
/* Appends everything in p to q under one lock and empties p. */
void queue_push_pending(struct queue *q, struct pending *p);
/* Drops what p holds. */
void pending_clear(struct pending *p);
/* Drops what is queued and closes the pipe (no thread uses q any more). */
void queue_destroy(struct queue *q);

#endif
