/* mask: secret values become *** in a stream, also split across chunks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mask.h"

/* Feeds text in chunks of size step (0: all at once), then flushes. */
static char *stream(struct mask *m, const char *text, size_t step)
{
	struct sbuf out = {0};
	size_t n = strlen(text);
	if (!step)
		step = n ? n : 1;
	for (size_t i = 0; i < n; i += step)
		mask_feed(m, text + i, i + step <= n ? step : n - i, &out);
	mask_flush(m, &out);
	char *r = sbuf_detach(&out);
	return r ? r : calloc(1, 1);
}

static void expect_all_steps(struct mask *m, const char *text, const char *want)
{
	for (size_t step = 0; step <= strlen(text) + 1; step++) {
		char *got = stream(m, text, step);
		if (strcmp(got, want) != 0)
			fail_msg("step %zu: '%s' gave '%s', want '%s'", step, text, got, want);
		free(got);
	}
}

static void test_basic(void **state)
{
	(void)state;
	char *vals[] = {"s3cr3t-token", NULL};
	struct mask *m = mask_new(vals);
	assert_non_null(m);
	expect_all_steps(m, "token=s3cr3t-token\n", "token=***\n");
	expect_all_steps(m, "s3cr3t-tokens3cr3t-token", "******");
	expect_all_steps(m, "no secret here\n", "no secret here\n");
	/* a start that never completes comes out as it was */
	expect_all_steps(m, "s3cr3t-toke", "s3cr3t-toke");
	expect_all_steps(m, "ss3cr3t-token!", "s***!");
	expect_all_steps(m, "", "");
	mask_free(m);
}

static void test_several_values(void **state)
{
	(void)state;
	/* the longer value wins where one contains the other */
	char *vals[] = {"abc", "abcdef", "", "zz", NULL};
	struct mask *m = mask_new(vals);
	expect_all_steps(m, "xabcdefx abc zzz", "x***x *** ***z");
	char *s = mask_string(m, "abcabcdef");
	assert_string_equal(s, "******");
	free(s);
	mask_free(m);
}

static void test_nothing_to_mask(void **state)
{
	(void)state;
	char *none[] = {"", NULL};
	assert_null(mask_new(none));
	assert_null(mask_new(NULL));
	/* a NULL mask passes data through */
	struct sbuf out = {0};
	mask_feed(NULL, "abc", 3, &out);
	mask_flush(NULL, &out);
	assert_string_equal(sbuf_str(&out), "abc");
	sbuf_free(&out);
	char *s = mask_string(NULL, "x");
	assert_string_equal(s, "x");
	free(s);
}

static void test_binary(void **state)
{
	(void)state;
	char *vals[] = {"pw", NULL};
	struct mask *m = mask_new(vals);
	struct sbuf out = {0};
	const char in[] = {'a', '\0', 'p', 'w', '\0', 'p'};
	mask_feed(m, in, sizeof in, &out);
	mask_flush(m, &out);
	const char want[] = {'a', '\0', '*', '*', '*', '\0', 'p'};
	assert_int_equal(out.len, sizeof want);
	assert_memory_equal(out.buf, want, sizeof want);
	sbuf_free(&out);
	mask_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_several_values),
		cmocka_unit_test(test_nothing_to_mask),
		cmocka_unit_test(test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
