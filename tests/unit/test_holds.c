/* Unit tests for holds.c: the operator holds file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "holds.h"

#define NAME "tally-holds.txt"

static const char *const known[] = { "server", "chat", "mongodb", "redis" };
#define NKNOWN (sizeof known / sizeof known[0])

static const char spec_example[] = "skip server v3.8.1 wget missing in base image\n"
				   "pin mongodb 7.0.4 waiting for compatibility tests\n";

static struct holds *parse_ok_n(const char *data, size_t len)
{
	struct holds *h = NULL;
	struct tally_err err = {0};
	if (holds_parse(NAME, data, len, known, NKNOWN, &h, &err) != 0)
		fail_msg("unexpected parse error: %s", err.msg);
	assert_non_null(h);
	return h;
}

static struct holds *parse_ok(const char *data)
{
	return parse_ok_n(data, strlen(data));
}

static void parse_fails_n(const char *data, size_t len, const char *frag1, const char *frag2)
{
	struct holds *h = (struct holds *)(uintptr_t)1;
	struct tally_err err = {0};
	int rc = holds_parse(NAME, data, len, known, NKNOWN, &h, &err);
	if (rc == 0)
		fail_msg("parse of \"%s\" succeeded, expected \"%s\"", data, frag1);
	assert_int_equal(rc, -1);
	assert_null(h);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, frag1))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag1);
	if (frag2 && !strstr(err.msg, frag2))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag2);
}

static void parse_fails(const char *data, const char *frag1, const char *frag2)
{
	parse_fails_n(data, strlen(data), frag1, frag2);
}

static void add_gives(const char *data, enum hold_kind kind, const char *comp, const char *ver,
		      const char *reason, const char *want)
{
	struct holds *h = parse_ok(data);
	struct sbuf out = {0};
	struct tally_err err = {0};
	if (holds_add(h, kind, comp, ver, reason, &out, &err) != 0)
		fail_msg("add failed: %s", err.msg);
	assert_string_equal(sbuf_str(&out), want);
	/* The new content parses and holds what was added. */
	struct holds *again = parse_ok_n(out.buf, out.len);
	assert_int_equal(holds_count(again), holds_count(h) + 1);
	if (kind == HOLD_SKIP)
		assert_true(holds_is_skipped(again, comp, ver));
	else
		assert_string_equal(holds_pin(again, comp)->version, ver);
	holds_free(again);
	sbuf_free(&out);
	holds_free(h);
}

static void add_fails(const char *data, enum hold_kind kind, const char *comp, const char *ver,
		      const char *reason, const char *frag)
{
	struct holds *h = parse_ok(data);
	struct sbuf out = {0};
	sbuf_adds(&out, "stale");
	struct tally_err err = {0};
	assert_int_equal(holds_add(h, kind, comp, ver, reason, &out, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, frag))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag);
	assert_non_null(strstr(err.msg, NAME));
	assert_int_equal(out.len, 0);
	sbuf_free(&out);
	holds_free(h);
}

static void remove_gives(const char *data, enum hold_kind kind, const char *comp,
			 const char *ver, const char *want)
{
	struct holds *h = parse_ok(data);
	struct sbuf out = {0};
	struct tally_err err = {0};
	if (holds_remove(h, kind, comp, ver, &out, &err) != 0)
		fail_msg("remove failed: %s", err.msg);
	assert_string_equal(sbuf_str(&out), want);
	struct holds *again = parse_ok_n(out.buf, out.len);
	assert_int_equal(holds_count(again), holds_count(h) - 1);
	if (kind == HOLD_SKIP)
		assert_false(holds_is_skipped(again, comp, ver));
	else
		assert_null(holds_pin(again, comp));
	holds_free(again);
	sbuf_free(&out);
	holds_free(h);
}

static void remove_fails(const char *data, enum hold_kind kind, const char *comp,
			 const char *ver, const char *frag)
{
	struct holds *h = parse_ok(data);
	struct sbuf out = {0};
	sbuf_adds(&out, "stale");
	struct tally_err err = {0};
	assert_int_equal(holds_remove(h, kind, comp, ver, &out, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, frag))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag);
	assert_non_null(strstr(err.msg, NAME));
	assert_int_equal(out.len, 0);
	sbuf_free(&out);
	holds_free(h);
}

/* ---- parsing ---- */

static void test_parse_spec_example(void **state)
{
	(void)state;
	struct holds *h = parse_ok(spec_example);
	assert_int_equal(holds_count(h), 2);
	const struct hold *s = holds_at(h, 0);
	assert_int_equal(s->kind, HOLD_SKIP);
	assert_string_equal(s->component, "server");
	assert_string_equal(s->version, "v3.8.1");
	assert_string_equal(s->reason, "wget missing in base image");
	assert_int_equal(s->line, 1);
	const struct hold *p = holds_at(h, 1);
	assert_int_equal(p->kind, HOLD_PIN);
	assert_string_equal(p->component, "mongodb");
	assert_string_equal(p->version, "7.0.4");
	assert_string_equal(p->reason, "waiting for compatibility tests");
	assert_int_equal(p->line, 2);
	assert_null(holds_at(h, 2));

	assert_true(holds_is_skipped(h, "server", "v3.8.1"));
	assert_false(holds_is_skipped(h, "server", "v3.8.2"));
	assert_false(holds_is_skipped(h, "chat", "v3.8.1"));
	/* A pin is not a skip of its version. */
	assert_false(holds_is_skipped(h, "mongodb", "7.0.4"));
	assert_ptr_equal(holds_pin(h, "mongodb"), p);
	assert_null(holds_pin(h, "server"));
	holds_free(h);
}

static void test_parse_empty(void **state)
{
	(void)state;
	struct holds *h = parse_ok_n(NULL, 0);
	assert_int_equal(holds_count(h), 0);
	assert_false(holds_is_skipped(h, "server", "v1"));
	assert_null(holds_pin(h, "server"));
	holds_free(h);
	h = parse_ok("# nothing held\n\n   \n\t# still nothing\n");
	assert_int_equal(holds_count(h), 0);
	holds_free(h);
}

static void test_parse_fields_and_reason(void **state)
{
	(void)state;
	struct holds *h = parse_ok("# holds\n"
				   "\n"
				   "skip\tserver\tv1\t  reason  with\tinner  spaces \t\n"
				   "  skip   chat   v2\n"
				   "skip server v2   \n"
				   "pin redis 7.2.0 # not a comment\n");
	assert_int_equal(holds_count(h), 4);
	assert_string_equal(holds_at(h, 0)->reason, "reason  with\tinner  spaces");
	assert_int_equal(holds_at(h, 0)->line, 3);
	assert_string_equal(holds_at(h, 1)->component, "chat");
	assert_string_equal(holds_at(h, 1)->reason, "");
	assert_int_equal(holds_at(h, 1)->line, 4);
	assert_string_equal(holds_at(h, 2)->version, "v2");
	assert_string_equal(holds_at(h, 2)->reason, "");
	assert_string_equal(holds_at(h, 3)->reason, "# not a comment");
	assert_int_equal(holds_at(h, 3)->line, 6);
	holds_free(h);
}

static void test_parse_crlf_and_no_final_newline(void **state)
{
	(void)state;
	struct holds *h = parse_ok("# c\r\nskip server v1 flaky\r\npin chat v2\r\n");
	assert_int_equal(holds_count(h), 2);
	assert_string_equal(holds_at(h, 0)->reason, "flaky");
	assert_string_equal(holds_at(h, 1)->version, "v2");
	assert_string_equal(holds_at(h, 1)->reason, "");
	holds_free(h);
	h = parse_ok("skip server v1\nskip server v2 last line");
	assert_int_equal(holds_count(h), 2);
	assert_string_equal(holds_at(h, 1)->reason, "last line");
	assert_int_equal(holds_at(h, 1)->line, 2);
	holds_free(h);
}

static void test_parse_not_nul_terminated(void **state)
{
	(void)state;
	char buf[40];
	memcpy(buf, "skip server v1 rXXXXXXXXXXXXXXXX", 32);
	struct holds *h = parse_ok_n(buf, 16);
	assert_int_equal(holds_count(h), 1);
	assert_string_equal(holds_at(h, 0)->reason, "r");
	holds_free(h);
}

static void test_parse_allowed_combinations(void **state)
{
	(void)state;
	/* Different versions, components or kinds are not duplicates. */
	struct holds *h = parse_ok("skip server v1\nskip server v2\nskip chat v1\npin server v1\n"
				   "pin chat v1\n");
	assert_int_equal(holds_count(h), 5);
	assert_true(holds_is_skipped(h, "server", "v2"));
	assert_string_equal(holds_pin(h, "chat")->version, "v1");
	holds_free(h);
}

/* ---- malformed input: every message names file and line ---- */

static void test_err_unknown_kind(void **state)
{
	(void)state;
	parse_fails("# c\nskip server v1\nhold server v1\n", NAME ":3: unknown hold 'hold'", NULL);
	parse_fails("Skip server v1\n", NAME ":1: unknown hold 'Skip'", NULL);
	parse_fails("skipserver v1\n", NAME ":1: unknown hold", NULL);
	parse_fails("unpin server\n", NAME ":1: unknown hold", NULL);
	parse_fails("\n\nserver=v1\n", NAME ":3: unknown hold", NULL);
}

static void test_err_missing_fields(void **state)
{
	(void)state;
	parse_fails("skip\n", NAME ":1: missing component and version", NULL);
	parse_fails("# c\npin   \t\n", NAME ":2: missing component and version", "pin COMPONENT");
	parse_fails("skip server v1\nskip server\n", NAME ":2: missing version", NULL);
	parse_fails("pin chat\r\n", NAME ":1: missing version", NULL);
	parse_fails("skip server", NAME ":1: missing version", NULL);
}

static void test_err_invalid_version(void **state)
{
	(void)state;
	parse_fails("skip server -v1\n", NAME ":1: invalid version '-v1'", NULL);
	parse_fails("\nskip server v1/2\n", NAME ":2: invalid version 'v1/2'", NULL);
	parse_fails("pin chat .v1\n", NAME ":1: invalid version", NULL);
	parse_fails("skip server v1;rm\n", NAME ":1: invalid version", NULL);
	char longv[200];
	memset(longv, 'a', 129);
	longv[129] = '\0';
	char *line = xasprintf("skip server %s\n", longv);
	parse_fails(line, NAME ":1: invalid version", NULL);
	free(line);
	longv[128] = '\0';
	line = xasprintf("skip server %s\n", longv);
	struct holds *h = parse_ok(line);
	holds_free(h);
	free(line);
}

static void test_err_unknown_component(void **state)
{
	(void)state;
	parse_fails("skip server v1\nskip nginx v1\n", NAME ":2: unknown component 'nginx'", NULL);
	parse_fails("pin Server v1\n", NAME ":1: unknown component 'Server'", NULL);
	/* An empty (non-NULL) list knows nothing... */
	static const char *const none[] = { NULL };
	struct holds *h = NULL;
	struct tally_err err = {0};
	assert_int_equal(holds_parse(NAME, "skip server v1\n", 15, none, 0, &h, &err), -1);
	assert_non_null(strstr(err.msg, NAME ":1: unknown component 'server'"));
	/* ...while NULL skips the check, also in holds_add. */
	assert_int_equal(holds_parse(NAME, "skip nginx v1\n", 14, NULL, 0, &h, &err), 0);
	assert_true(holds_is_skipped(h, "nginx", "v1"));
	struct sbuf out = {0};
	assert_int_equal(holds_add(h, HOLD_PIN, "haproxy", "2.8", NULL, &out, &err), 0);
	assert_string_equal(sbuf_str(&out), "skip nginx v1\npin haproxy 2.8\n");
	assert_int_equal(holds_add(h, HOLD_SKIP, "nginx", "v1", NULL, &out, &err), -1);
	assert_non_null(strstr(err.msg, "already skipped"));
	sbuf_free(&out);
	holds_free(h);
}

static void test_err_duplicate_skip(void **state)
{
	(void)state;
	parse_fails("# c\nskip server v1 a\nskip chat v1\nskip server v1 b\n",
		    NAME ":4: duplicate hold 'skip server v1' (first on line 2)", NULL);
}

static void test_err_second_pin(void **state)
{
	(void)state;
	parse_fails("pin server v1\n\npin server v2\n",
		    NAME ":3: second pin for 'server' (first on line 1)", NULL);
	parse_fails("pin server v1\npin server v1\n", NAME ":2: second pin for 'server'", NULL);
}

static void test_err_nul_byte(void **state)
{
	(void)state;
	static const char data[] = "skip server v1\n# c\0\n";
	parse_fails_n(data, sizeof data - 1, NAME ":2: NUL byte", NULL);
}

/* ---- add ---- */

static void test_add_spec_lines(void **state)
{
	(void)state;
	add_gives("", HOLD_SKIP, "server", "v3.8.1", "wget missing in base image",
		  "skip server v3.8.1 wget missing in base image\n");
	add_gives("skip server v3.8.1 wget missing in base image\n", HOLD_PIN, "mongodb", "7.0.4",
		  "waiting for compatibility tests", spec_example);
}

static void test_add_without_reason(void **state)
{
	(void)state;
	add_gives("", HOLD_SKIP, "server", "v1", NULL, "skip server v1\n");
	add_gives("", HOLD_PIN, "server", "v1", "", "pin server v1\n");
	add_gives("", HOLD_SKIP, "server", "v1", " \t ", "skip server v1\n");
	add_gives("", HOLD_SKIP, "server", "v1", "  padded  ", "skip server v1 padded\n");
}

static void test_add_preserves_bytes(void **state)
{
	(void)state;
	add_gives("# operator holds\n\n  # indented\nskip chat v1 x\n\n", HOLD_SKIP, "server", "v2",
		  "r", "# operator holds\n\n  # indented\nskip chat v1 x\n\nskip server v2 r\n");
	add_gives("skip chat v1", HOLD_SKIP, "server", "v2", NULL, "skip chat v1\nskip server v2\n");
	add_gives("# c\r\nskip chat v1\r\n", HOLD_PIN, "server", "v2", "why",
		  "# c\r\nskip chat v1\r\npin server v2 why\r\n");
	add_gives("# c\r\nskip chat v1", HOLD_SKIP, "server", "v2", NULL,
		  "# c\r\nskip chat v1\r\nskip server v2\r\n");
}

static void test_add_refusals(void **state)
{
	(void)state;
	add_fails("# c\nskip server v1\n", HOLD_SKIP, "server", "v1", NULL, "already skipped");
	add_fails("# c\nskip server v1\n", HOLD_SKIP, "server", "v1", NULL, NAME ":2:");
	add_fails("pin server v1\n", HOLD_PIN, "server", "v2", NULL, "already pinned at v1");
	add_fails("", HOLD_SKIP, "nginx", "v1", NULL, "unknown component 'nginx'");
	add_fails("", HOLD_SKIP, NULL, "v1", NULL, "unknown component");
	add_fails("", HOLD_SKIP, "server", "bad/version", NULL, "invalid version 'bad/version'");
	add_fails("", HOLD_SKIP, "server", NULL, NULL, "invalid version");
	add_fails("", HOLD_SKIP, "server", "v1", "two\nlines", "newline");
	add_fails("", HOLD_PIN, "server", "v1", "cr\r", "newline");
	add_fails("", (enum hold_kind)7, "server", "v1", NULL, "unknown hold kind");
}

/* ---- remove ---- */

static void test_remove_exact_line(void **state)
{
	(void)state;
	remove_gives(spec_example, HOLD_SKIP, "server", "v3.8.1",
		     "pin mongodb 7.0.4 waiting for compatibility tests\n");
	remove_gives(spec_example, HOLD_PIN, "mongodb", NULL,
		     "skip server v3.8.1 wget missing in base image\n");
	remove_gives(spec_example, HOLD_PIN, "mongodb", "ignored",
		     "skip server v3.8.1 wget missing in base image\n");
	remove_gives("# c\n\nskip server v1\n  # keep\nskip server v2 b\nskip server v3\n\n",
		     HOLD_SKIP, "server", "v2", "# c\n\nskip server v1\n  # keep\nskip server v3\n\n");
}

static void test_remove_preserves_endings(void **state)
{
	(void)state;
	remove_gives("# c\r\nskip server v1\r\npin chat v2 x\r\n", HOLD_SKIP, "server", "v1",
		     "# c\r\npin chat v2 x\r\n");
	remove_gives("skip server v1\nskip server v2", HOLD_SKIP, "server", "v2",
		     "skip server v1\n");
	remove_gives("skip server v1\nskip server v2", HOLD_SKIP, "server", "v1",
		     "skip server v2");
	remove_gives("pin server v1", HOLD_PIN, "server", NULL, "");
}

static void test_remove_refusals(void **state)
{
	(void)state;
	remove_fails(spec_example, HOLD_SKIP, "server", "v3.8.2", "server v3.8.2 is not skipped");
	remove_fails(spec_example, HOLD_SKIP, "mongodb", "7.0.4", "is not skipped");
	remove_fails(spec_example, HOLD_PIN, "server", NULL, "server is not pinned");
	remove_fails(spec_example, HOLD_SKIP, "server", NULL, "no version");
	remove_fails("", HOLD_PIN, NULL, NULL, "no component");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_spec_example),
		cmocka_unit_test(test_parse_empty),
		cmocka_unit_test(test_parse_fields_and_reason),
		cmocka_unit_test(test_parse_crlf_and_no_final_newline),
		cmocka_unit_test(test_parse_not_nul_terminated),
		cmocka_unit_test(test_parse_allowed_combinations),
		cmocka_unit_test(test_err_unknown_kind),
		cmocka_unit_test(test_err_missing_fields),
		cmocka_unit_test(test_err_invalid_version),
		cmocka_unit_test(test_err_unknown_component),
		cmocka_unit_test(test_err_duplicate_skip),
		cmocka_unit_test(test_err_second_pin),
		cmocka_unit_test(test_err_nul_byte),
		cmocka_unit_test(test_add_spec_lines),
		cmocka_unit_test(test_add_without_reason),
		cmocka_unit_test(test_add_preserves_bytes),
		cmocka_unit_test(test_add_refusals),
		cmocka_unit_test(test_remove_exact_line),
		cmocka_unit_test(test_remove_preserves_endings),
		cmocka_unit_test(test_remove_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
