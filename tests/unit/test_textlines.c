/* Unit tests for textlines.c: a file's bytes as lines, endings kept
 * apart, a NUL byte refused naming the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "textlines.h"

static void test_endings(void **state)
{
	(void)state;
	static const char data[] = "a=1\r\nb=2\n\nlast\r";
	struct textline l = {0};
	struct tally_err err = {0};
	size_t len = sizeof data - 1;
	static const struct {
		const char *text;
		int lf;
	} want[] = {{"a=1", 2}, {"b=2", 1}, {"", 1}, {"last\r", 0}};
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(textline_next("f", data, len, &l, &err), 1);
		assert_int_equal(l.line, (int)i + 1);
		assert_int_equal(l.len, strlen(want[i].text));
		assert_memory_equal(data + l.off, want[i].text, l.len);
		assert_int_equal(l.lf, want[i].lf);
	}
	assert_int_equal(l.next, len);
	assert_int_equal(textline_next("f", data, len, &l, &err), 0);
	assert_int_equal(textline_next("f", data, len, &l, &err), 0);
	struct textline e = {0};
	assert_int_equal(textline_next("f", "", 0, &e, &err), 0);
}

static void test_nul_byte(void **state)
{
	(void)state;
	static const char data[] = "ok\nb\0d\nc\n";
	struct textline l = {0};
	struct tally_err err = {0};
	assert_int_equal(textline_next("versions.txt", data, sizeof data - 1, &l, &err), 1);
	assert_int_equal(textline_next("versions.txt", data, sizeof data - 1, &l, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_string_equal(err.msg, "versions.txt:2: NUL byte in file (is it a text file?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_endings),
		cmocka_unit_test(test_nul_byte),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
