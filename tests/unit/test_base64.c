/* base64: RFC 4648 section 10 vectors both ways, binary round trips, and
 * rejected input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

static const char *const vec[][2] = {
	{"", ""},           {"f", "Zg=="},        {"fo", "Zm8="},         {"foo", "Zm9v"},
	{"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
	{"user:p@ss:word", "dXNlcjpwQHNzOndvcmQ="},
};

static void test_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		struct sbuf e = {0}, d = {0};
		base64_encode(&e, vec[i][0], strlen(vec[i][0]));
		assert_string_equal(e.buf ? e.buf : "", vec[i][1]);
		assert_int_equal(base64_decode(vec[i][1], &d), 0);
		assert_int_equal(d.len, strlen(vec[i][0]));
		if (d.len)
			assert_memory_equal(d.buf, vec[i][0], d.len);
		sbuf_free(&e);
		sbuf_free(&d);
	}
}

static void test_padding_optional(void **state)
{
	(void)state;
	struct sbuf d = {0};
	assert_int_equal(base64_decode("Zm9vYg", &d), 0);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.buf, "foob", 4);
	sbuf_free(&d);
}

static void test_binary_round_trip(void **state)
{
	(void)state;
	unsigned char bin[256];
	for (size_t i = 0; i < sizeof bin; i++)
		bin[i] = (unsigned char)(255 - i);
	for (size_t len = 0; len <= sizeof bin; len += 7) {
		struct sbuf e = {0}, d = {0};
		base64_encode(&e, bin, len);
		assert_int_equal(e.len, (len + 2) / 3 * 4);
		assert_int_equal(base64_decode(e.buf ? e.buf : "", &d), 0);
		assert_int_equal(d.len, len);
		if (len)
			assert_memory_equal(d.buf, bin, len);
		sbuf_free(&e);
		sbuf_free(&d);
	}
}

static void test_rejects(void **state)
{
	(void)state;
	const char *bad[] = {"!!!notbase64", "Zm9v YmFy", "Zm=9v", "Zm9v\n", "Zm9v-_"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct sbuf d = {0};
		assert_int_equal(base64_decode(bad[i], &d), -1);
		sbuf_free(&d);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_padding_optional),
		cmocka_unit_test(test_binary_round_trip),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
