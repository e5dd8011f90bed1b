/* Unit tests for queue.c: FIFO order, the byte count of live log chunks,
 * the timeout, the outbox's pipe (readable exactly while not empty), a
 * batch pushed with one wake, and many producers with one consumer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include "queue.h"

static int readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

static void test_fifo_and_bytes(void **st)
{
	(void)st;
	struct queue q;
	queue_init(&q, 1);
	assert_true(q.wake[0] >= 0);
	assert_false(readable(q.wake[0]));
	assert_null(queue_pop(&q, 0));
	queue_push(&q, 1, json_string("a"), NULL);
	queue_push_sized(&q, 2, json_string("bb"), NULL, 2);
	queue_push_sized(&q, 3, NULL, &q, 5);
	assert_int_equal(queue_bytes(&q), 7);
	assert_true(readable(q.wake[0]));
	struct msg *m = queue_pop(&q, 0);
	assert_int_equal(m->kind, 1);
	assert_string_equal(json_string_value(m->json), "a");
	json_decref(m->json);
	free(m);
	m = queue_pop(&q, -1);
	assert_int_equal(m->kind, 2);
	assert_int_equal(queue_bytes(&q), 5);
	json_decref(m->json);
	free(m);
	assert_true(readable(q.wake[0]));
	m = queue_pop(&q, 10);
	assert_int_equal(m->kind, 3);
	assert_ptr_equal(m->ptr, &q);
	free(m);
	assert_int_equal(queue_bytes(&q), 0);
	assert_false(readable(q.wake[0]));   /* empty: drained */
	queue_push(&q, 4, json_string("left"), NULL);
	queue_destroy(&q);                     /* drops what is queued */
}

static void test_batch(void **st)
{
	(void)st;
	struct queue q;
	queue_init(&q, 1);
	queue_push(&q, 7, json_string("before"), NULL);
	json_t *evs[3] = {json_string("a"), json_string("b"), json_string("c")};
	queue_push_batch(&q, evs, 3);
	queue_push_batch(&q, evs, 0);   /* nothing: nothing changes */
	/* one wake for the batch: the pipe holds one byte per push */
	char buf[16];
	assert_int_equal(read(q.wake[0], buf, sizeof buf), 2);
	const char *want[] = {"before", "a", "b", "c"};
	for (int i = 0; i < 4; i++) {
		struct msg *m = queue_pop(&q, 0);
		assert_non_null(m);
		assert_string_equal(json_string_value(m->json), want[i]);
		assert_int_equal(m->kind, i ? 0 : 7);
		json_decref(m->json);
		free(m);
	}
	assert_null(queue_pop(&q, 0));
	queue_destroy(&q);
}

/* A pending list: collected without the lock, pushed in order in one go
 * (one wake), its log bytes counted in the queue until popped. */
static void test_pending(void **st)
{
	(void)st;
	struct queue q;
	queue_init(&q, 1);
	struct pending p = {0};
	queue_push_pending(&q, &p);   /* empty: nothing queued, no wake */
	assert_false(readable(q.wake[0]));
	queue_push(&q, 3, json_string("first"), NULL);
	pending_add(&p, json_string("x"), 0);
	pending_add(&p, json_string("log"), 10);
	pending_add(&p, json_string("y"), 0);
	assert_int_equal(p.bytes, 10);
	assert_int_equal(queue_bytes(&q), 0);   /* not queued yet */
	queue_push_pending(&q, &p);
	assert_null(p.head);
	assert_int_equal(p.bytes, 0);
	assert_int_equal(queue_bytes(&q), 10);
	char buf[16];
	assert_int_equal(read(q.wake[0], buf, sizeof buf), 2);
	const char *want[] = {"first", "x", "log", "y"};
	for (int i = 0; i < 4; i++) {
		struct msg *m = queue_pop(&q, 0);
		assert_non_null(m);
		assert_string_equal(json_string_value(m->json), want[i]);
		json_decref(m->json);
		free(m);
	}
	assert_int_equal(queue_bytes(&q), 0);
	pending_add(&p, json_string("dropped"), 5);
	pending_clear(&p);   /* frees what it holds */
	assert_null(p.head);
	assert_int_equal(p.bytes, 0);
	queue_destroy(&q);
}

static void test_timeout(void **st)
{
	(void)st;
	struct queue q;
	queue_init(&q, 0);
	assert_int_equal(q.wake[0], -1);
	assert_null(queue_pop(&q, 20));
	queue_destroy(&q);
}

#define PRODUCERS 4
#define EACH 500

struct prod {
	struct queue *q;
	int id;
};

static void *producer(void *arg)
{
	struct prod *p = arg;
	for (int i = 0; i < EACH; i++)
		queue_push(p->q, p->id, NULL, (void *)(intptr_t)i);
	return NULL;
}

static void test_producers(void **st)
{
	(void)st;
	struct queue q;
	queue_init(&q, 1);
	pthread_t th[PRODUCERS];
	struct prod ps[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++) {
		ps[i] = (struct prod){.q = &q, .id = i};
		assert_int_equal(pthread_create(&th[i], NULL, producer, &ps[i]), 0);
	}
	int next[PRODUCERS] = {0};
	for (int n = 0; n < PRODUCERS * EACH; n++) {
		struct msg *m = queue_pop(&q, -1);
		assert_non_null(m);
		/* each producer's messages come out in the order it pushed them */
		assert_int_equal((intptr_t)m->ptr, next[m->kind]++);
		free(m);
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(th[i], NULL);
	assert_null(queue_pop(&q, 0));
	queue_destroy(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo_and_bytes),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_producers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
