/* Unit tests for hashindex.c: a growing index of named entries finds every
 * entry by name (also by a name that is not NUL-terminated), through
 * every growth, and nothing else. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashindex.h"

#define N 1000

static char names[N][16];

static const char *name_at(const void *ctx, size_t i)
{
	(void)ctx;
	return names[i];
}

static void test_grow_and_find(void **state)
{
	(void)state;
	struct hashindex ix = {0};
	assert_int_equal(hashindex_find(&ix, "a", 1, name_at, NULL), -1);
	for (size_t n = 1; n <= N; n++) {
		snprintf(names[n - 1], sizeof names[n - 1], "comp-%zu", n - 1);
		hashindex_added(&ix, n, name_at, NULL);
		assert_true(ix.nslots >= 2 * n);
		/* the newest and the first are found after every growth */
		assert_int_equal(hashindex_find(&ix, names[n - 1], strlen(names[n - 1]), name_at, NULL),
				 (long)(n - 1));
		assert_int_equal(hashindex_find(&ix, "comp-0", 6, name_at, NULL), 0);
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(hashindex_find(&ix, names[i], strlen(names[i]), name_at, NULL), (long)i);
	/* a prefix of a name, or a longer name, is another name */
	assert_int_equal(hashindex_find(&ix, "comp-1", 5, name_at, NULL), -1);
	assert_int_equal(hashindex_find(&ix, "comp-10x", 8, name_at, NULL), -1);
	/* len bytes of a longer buffer */
	assert_int_equal(hashindex_find(&ix, "comp-42=value", 7, name_at, NULL), 42);
	assert_int_equal(hashindex_find(&ix, "nope", 4, name_at, NULL), -1);
	hashindex_free(&ix);
	assert_int_equal(ix.nslots, 0);
	assert_int_equal(hashindex_find(&ix, "comp-0", 6, name_at, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_and_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
