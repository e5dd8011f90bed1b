/* Unit tests for workers.c: a pool runs every piece of work once, never on
 * more threads than its size (a pool of one is serial, in order), hands
 * each back through finished(), and pool_free waits for what is queued and
 * joins its threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <unistd.h>

#include "workers.h"

struct job {
	struct work w;
	int seq;
	int ran;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int running, most, finished, order_ok, last_seq;

static void job_run(struct work *w)
{
	struct job *j = (struct job *)w;
	pthread_mutex_lock(&mu);
	running++;
	if (running > most)
		most = running;
	if (j->seq != last_seq + 1)
		order_ok = 0;
	last_seq = j->seq;
	pthread_mutex_unlock(&mu);
	usleep(2000);
	j->ran++;
	pthread_mutex_lock(&mu);
	running--;
	pthread_mutex_unlock(&mu);
}

static void on_finished(void *ctx, struct work *w)
{
	(void)w;
	pthread_mutex_lock(&mu);
	finished++;
	pthread_mutex_unlock(&mu);
	assert_ptr_equal(ctx, &mu);
}

static void run_pool(int size, int n)
{
	running = most = finished = 0;
	order_ok = 1;
	last_seq = 0;
	struct job *jobs = calloc((size_t)n, sizeof *jobs);
	struct pool *p = pool_new("test", size, on_finished, &mu);
	for (int i = 0; i < n; i++) {
		jobs[i].w.run = job_run;
		jobs[i].seq = i + 1;
		pool_submit(p, &jobs[i].w);
	}
	pool_free(p);   /* waits for the queue, joins */
	assert_int_equal(finished, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(jobs[i].ran, 1);
	assert_true(most >= 1);
	assert_true(most <= size);
	free(jobs);
}

static void test_serial(void **st)
{
	(void)st;
	run_pool(1, 50);
	assert_int_equal(most, 1);
	assert_true(order_ok);   /* a pool of one runs in submission order */
}

static void test_bounded(void **st)
{
	(void)st;
	run_pool(4, 100);
}

static void test_empty(void **st)
{
	(void)st;
	pool_free(pool_new("idle", 8, on_finished, &mu));   /* no thread started */
	pool_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
