/* queue.c - the engine's two message queues (see queue.h): a mutex and a
 * condition guard each; the outbox also has a pipe that is readable while
 * events are queued. Any thread pushes; one owner pops. */
#include "engine_int.h"

void queue_init(struct queue *q, int with_pipe)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->bytes = 0;
	q->wake[0] = q->wake[1] = -1;
	if (with_pipe && pipe2(q->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		q->wake[0] = q->wake[1] = -1;
}

void queue_push_sized(struct queue *q, int kind, json_t *json, void *ptr, size_t bytes)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->kind = kind;
	m->json = json;
	m->ptr = ptr;
	m->bytes = bytes;
	pthread_mutex_lock(&q->mu);
	q->bytes += bytes;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	if (q->wake[1] >= 0 && write(q->wake[1], "x", 1) < 0) {
		/* pipe full means already readable */
	}
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void queue_push(struct queue *q, int kind, json_t *json, void *ptr)
{
	queue_push_sized(q, kind, json, ptr, 0);
}

void pending_add(struct pending *p, json_t *json, size_t bytes)
{
	struct msg *m = xcalloc(1, sizeof *m);
	m->json = json;
	m->bytes = bytes;
	if (p->tail)
		p->tail->next = m;
	else
		p->head = m;
	p->tail = m;
	p->bytes += bytes;
	p->n++;
}

void queue_push_pending(struct queue *q, struct pending *p)
{
	if (!p->head)
		return;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = p->head;
	else
		q->head = p->head;
	q->tail = p->tail;
	q->bytes += p->bytes;
	if (q->wake[1] >= 0 && write(q->wake[1], "x", 1) < 0) {
		/* pipe full means already readable */
	}
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	p->head = p->tail = NULL;
	p->bytes = 0;
	p->n = 0;
}

void pending_clear(struct pending *p)
{
	while (p->head) {
		struct msg *m = p->head;
		p->head = m->next;
		json_decref(m->json);
		free(m);
	}
	p->tail = NULL;
	p->bytes = 0;
	p->n = 0;
}

void queue_push_batch(struct queue *q, json_t **evs, size_t n)
{
	struct pending p = {0};
	for (size_t i = 0; i < n; i++)
		pending_add(&p, evs[i], 0);
	queue_push_pending(q, &p);
}

size_t queue_bytes(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	size_t b = q->bytes;
	pthread_mutex_unlock(&q->mu);
	return b;
}

struct msg *queue_pop(struct queue *q, int timeout_ms)
{
	pthread_mutex_lock(&q->mu);
	if (!q->head && timeout_ms != 0) {
		if (timeout_ms < 0) {
			while (!q->head)
				pthread_cond_wait(&q->cv, &q->mu);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += timeout_ms / 1000;
			ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			while (!q->head)
				if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) == ETIMEDOUT)
					break;
		}
	}
	struct msg *m = q->head;
	if (m) {
		q->bytes -= m->bytes;
		q->head = m->next;
		if (!q->head) {
			q->tail = NULL;
			char buf[256];
			while (q->wake[0] >= 0 && read(q->wake[0], buf, sizeof buf) > 0)
				;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return m;
}

void queue_destroy(struct queue *q)
{
	struct msg *m;
	while ((m = queue_pop(q, 0))) {
		json_decref(m->json);
		free(m);
	}
	for (int i = 0; i < 2; i++)
		if (q->wake[i] >= 0)
			close(q->wake[i]);
	q->wake[0] = q->wake[1] = -1;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}
