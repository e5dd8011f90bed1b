/* Unit tests for versionfile.c: parsing, error messages and byte-exact edits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "versionfile.h"

#define NAME "server-versions.txt"

static struct vfile *parse_ok_n(const char *data, size_t len, int lenient)
{
	struct vfile *vf = NULL;
	struct tally_err err = {0};
	int rc = versionfile_parse(NAME, data, len, lenient, &vf, &err);
	if (rc != 0)
		fail_msg("unexpected parse error: %s", err.msg);
	assert_non_null(vf);
	return vf;
}

static struct vfile *parse_ok(const char *data, int lenient)
{
	return parse_ok_n(data, strlen(data), lenient);
}

/* Parses data expecting failure; the message must contain every fragment. */
static void parse_fails_n(const char *data, size_t len, int lenient, const char *frag1,
			  const char *frag2)
{
	struct vfile *vf = (struct vfile *)(uintptr_t)1;
	struct tally_err err = {0};
	int rc = versionfile_parse(NAME, data, len, lenient, &vf, &err);
	if (rc == 0)
		fail_msg("parse of \"%s\" succeeded, expected \"%s\"", data, frag1);
	assert_int_equal(rc, -1);
	assert_null(vf);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, frag1))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag1);
	if (frag2 && !strstr(err.msg, frag2))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag2);
}

static void parse_fails(const char *data, int lenient, const char *frag1, const char *frag2)
{
	parse_fails_n(data, strlen(data), lenient, frag1, frag2);
}

/* set() must succeed and give exactly `want`. */
static void set_gives(const char *data, int lenient, const char *key, const char *value,
		      const char *want)
{
	struct vfile *vf = parse_ok(data, lenient);
	struct sbuf out = {0};
	struct tally_err err = {0};
	if (versionfile_set(vf, key, value, &out, &err) != 0)
		fail_msg("set %s=%s failed: %s", key, value, err.msg);
	assert_int_equal(out.len, strlen(want));
	assert_memory_equal(out.buf, want, out.len);
	/* The result must itself parse and carry the new value. */
	struct vfile *again = parse_ok_n(out.buf, out.len, lenient);
	assert_string_equal(versionfile_get(again, key), value);
	versionfile_free(again);
	sbuf_free(&out);
	versionfile_free(vf);
}

static void set_fails(const char *data, int lenient, const char *key, const char *value,
		      const char *frag)
{
	struct vfile *vf = parse_ok(data, lenient);
	struct sbuf out = {0};
	sbuf_adds(&out, "stale");
	struct tally_err err = {0};
	assert_int_equal(versionfile_set(vf, key, value, &out, &err), -1);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, frag))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag);
	assert_non_null(strstr(err.msg, NAME));
	sbuf_free(&out);
	versionfile_free(vf);
}

/* ---- parsing ---- */

static void test_parse_seed_file(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("server=v3.8.1\nchat=v1.2.0\nmongodb=7.0.4\n", 0);
	assert_int_equal(versionfile_count(vf), 3);
	assert_string_equal(versionfile_get(vf, "server"), "v3.8.1");
	assert_string_equal(versionfile_get(vf, "chat"), "v1.2.0");
	assert_string_equal(versionfile_get(vf, "mongodb"), "7.0.4");
	assert_int_equal(versionfile_line(vf, "server"), 1);
	assert_int_equal(versionfile_line(vf, "mongodb"), 3);
	assert_string_equal(versionfile_key_at(vf, 0), "server");
	assert_string_equal(versionfile_value_at(vf, 1), "v1.2.0");
	assert_string_equal(versionfile_key_at(vf, 2), "mongodb");
	assert_null(versionfile_key_at(vf, 3));
	assert_null(versionfile_value_at(vf, 3));
	assert_null(versionfile_get(vf, "redis"));
	assert_int_equal(versionfile_line(vf, "redis"), 0);
	versionfile_free(vf);
}

static void test_parse_comments_blank_lines(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("# versions of the stack\n"
				    "\n"
				    "server=v3.8.1\n"
				    "   # indented comment with = sign\n"
				    "\t \n"
				    "#chat=v0\n"
				    "chat=v1.2\n",
				    0);
	assert_int_equal(versionfile_count(vf), 2);
	assert_int_equal(versionfile_line(vf, "server"), 3);
	assert_int_equal(versionfile_line(vf, "chat"), 7);
	assert_string_equal(versionfile_get(vf, "chat"), "v1.2");
	versionfile_free(vf);
}

static void test_parse_key_grammar_and_odd_values(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("_a=1\nA.b-c_9=x\nk=a=b\nu=sha256:abc/def+ghi\n", 0);
	assert_int_equal(versionfile_count(vf), 4);
	assert_string_equal(versionfile_get(vf, "A.b-c_9"), "x");
	assert_string_equal(versionfile_get(vf, "k"), "a=b");
	assert_string_equal(versionfile_get(vf, "u"), "sha256:abc/def+ghi");
	versionfile_free(vf);
}

static void test_parse_empty_buffer(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok_n(NULL, 0, 0);
	assert_int_equal(versionfile_count(vf), 0);
	versionfile_free(vf);
	vf = parse_ok_n("garbage", 0, 0);
	assert_int_equal(versionfile_count(vf), 0);
	versionfile_free(vf);
}

static void test_parse_not_nul_terminated(void **state)
{
	(void)state;
	char buf[32];
	memcpy(buf, "a=1\nb=2XXXXXXXXXXXX", 20);
	struct vfile *vf = parse_ok_n(buf, 7, 0);
	assert_int_equal(versionfile_count(vf), 2);
	assert_string_equal(versionfile_get(vf, "b"), "2");
	versionfile_free(vf);
}

static void test_parse_crlf(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("# c\r\nserver=v3.8.1\r\n\r\nchat=v1\r\n", 0);
	assert_int_equal(versionfile_count(vf), 2);
	assert_string_equal(versionfile_get(vf, "server"), "v3.8.1");
	assert_string_equal(versionfile_get(vf, "chat"), "v1");
	assert_int_equal(versionfile_line(vf, "chat"), 4);
	versionfile_free(vf);
}

static void test_parse_no_final_newline(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("a=1\nb=2", 0);
	assert_string_equal(versionfile_get(vf, "b"), "2");
	assert_int_equal(versionfile_line(vf, "b"), 2);
	versionfile_free(vf);
}

/* ---- malformed input: every message names file and line ---- */

static void test_err_malformed_no_equals(void **state)
{
	(void)state;
	parse_fails("a=1\n# c\nserver v3.8.1\n", 0,
		    NAME ":3: malformed line (expected key=value)", NULL);
	parse_fails("justaword", 0, NAME ":1: malformed line", NULL);
	parse_fails("a=1\r\nb\r\n", 0, NAME ":2: malformed line", NULL);
}

static void test_err_malformed_bad_key(void **state)
{
	(void)state;
	parse_fails("=v1\n", 0, NAME ":1: malformed line", NULL);
	parse_fails("a=1\n1abc=v1\n", 0, NAME ":2: malformed line", NULL);
	parse_fails("a=1\nb=2\nke y=v1\n", 0, NAME ":3: malformed line", NULL);
	parse_fails("a/b=1\n", 0, NAME ":1: malformed line", NULL);
	parse_fails("a\xc3\xa9=1\n", 0, NAME ":1: malformed line", NULL);
}

static void test_err_malformed_spacing(void **state)
{
	(void)state;
	parse_fails(" server=v3.8.1\n", 0, NAME ":1: malformed line", NULL);
	parse_fails("\tserver=v3.8.1\n", 0, NAME ":1: malformed line", NULL);
	parse_fails("a=1\nserver =v3.8.1\n", 0, NAME ":2: malformed line", NULL);
	parse_fails("a=1\nb=2\nserver= v3.8.1\n", 0, NAME ":3: malformed line", NULL);
	parse_fails("server = v3.8.1\n", 0, NAME ":1: malformed line", NULL);
}

static void test_err_empty_value(void **state)
{
	(void)state;
	parse_fails("a=1\nb=2\n\n# c\nchat=\n", 0, NAME ":5: empty value for 'chat'", NULL);
	parse_fails("chat=", 0, NAME ":1: empty value for 'chat'", NULL);
	parse_fails("x=1\r\nchat=\r\n", 0, NAME ":2: empty value for 'chat'", NULL);
	parse_fails("chat=  \t\n", 0, NAME ":1: empty value for 'chat'", NULL);
}

static void test_err_whitespace_in_value(void **state)
{
	(void)state;
	parse_fails("server=v3.8.1 v3.8.2\n", 0, NAME ":1: value for 'server' contains whitespace",
		    NULL);
	parse_fails("a=1\nserver=v3.8.1 \n", 0, NAME ":2: value for 'server' contains whitespace",
		    NULL);
	parse_fails("server=v3.8.1\t\n", 0, NAME ":1:", "whitespace");
	/* A lone CR that is not part of a CRLF ending is not a line ending. */
	parse_fails("server=v1\rchat=v2\n", 0, NAME ":1:", "whitespace");
}

static void test_err_duplicate_key(void **state)
{
	(void)state;
	parse_fails("# c\nserver=v1\nchat=v2\nserver=v3\n", 0,
		    NAME ":4: duplicate key 'server' (first on line 2)", NULL);
	parse_fails("a=1\r\na=1\r\n", 0, NAME ":2: duplicate key 'a' (first on line 1)", NULL);
	/* A prefix of another key is a different key. */
	struct vfile *vf = parse_ok("server=1\nserver2=2\nserve=3\n", 0);
	assert_int_equal(versionfile_count(vf), 3);
	versionfile_free(vf);
}

/* The duplicate check and lookups are hashed: with thousands of keys
 * (index growth, probing), every key is found with its own value and line,
 * a duplicate far from its first line is still caught, and near keys
 * (prefixes, one character apart) stay distinct. */
static void test_many_keys_hashed(void **state)
{
	(void)state;
	enum { K = 5000 };
	struct sbuf sb = {0};
	for (int i = 0; i < K; i++)
		sbuf_addf(&sb, "c%d=v%d\n", i, i);
	struct vfile *vf = parse_ok_n(sbuf_str(&sb), sb.len, 0);
	assert_int_equal(versionfile_count(vf), K);
	char key[32], want[32];
	for (int i = 0; i < K; i++) {
		snprintf(key, sizeof key, "c%d", i);
		snprintf(want, sizeof want, "v%d", i);
		assert_string_equal(versionfile_get(vf, key), want);
		assert_int_equal(versionfile_line(vf, key), i + 1);
	}
	assert_null(versionfile_get(vf, "c"));
	assert_null(versionfile_get(vf, "c5000"));
	assert_null(versionfile_get(vf, "c12345"));
	versionfile_free(vf);
	/* the last line repeats line 1234 */
	sbuf_adds(&sb, "c1233=v9\n");
	parse_fails_n(sbuf_str(&sb), sb.len, 0, NAME ":5001: duplicate key 'c1233' (first on line 1234)",
		      NULL);
	/* lenient files use the same check */
	parse_fails_n(sbuf_str(&sb), sb.len, 1, NAME ":5001: duplicate key 'c1233'", NULL);
	sbuf_free(&sb);
}

static void test_err_nul_byte(void **state)
{
	(void)state;
	static const char data[] = "a=1\nb=2\0x\nc=3\n";
	parse_fails_n(data, sizeof data - 1, 0, NAME ":2: NUL byte", NULL);
	parse_fails_n(data, sizeof data - 1, 1, NAME ":2: NUL byte", NULL);
	static const char data2[] = "a=1\n\0";
	parse_fails_n(data2, sizeof data2 - 1, 0, NAME ":2: NUL byte", NULL);
}

static void test_err_line_numbers_large(void **state)
{
	(void)state;
	struct sbuf sb = {0};
	for (int i = 0; i < 120; i++)
		sbuf_addf(&sb, "k%d=v%d\n", i, i);
	sbuf_adds(&sb, "broken\n");
	parse_fails(sbuf_str(&sb), 0, NAME ":121: malformed line", NULL);
	sbuf_free(&sb);
}

static void test_err_null_name(void **state)
{
	(void)state;
	struct vfile *vf = NULL;
	struct tally_err err = {0};
	assert_int_equal(versionfile_parse(NULL, "x\n", 2, 0, &vf, &err), -1);
	assert_non_null(strstr(err.msg, ":1: malformed line"));
	assert_int_equal(versionfile_parse(NAME, "x\n", 2, 0, &vf, NULL), -1);
	assert_null(vf);
}

/* ---- set(): byte-for-byte preservation ---- */

static void test_set_changes_only_value(void **state)
{
	(void)state;
	set_gives("# stack versions\n\nserver=v3.8.0\n  # keep me\nchat=v1.2\n", 0, "server",
		  "v3.8.1", "# stack versions\n\nserver=v3.8.1\n  # keep me\nchat=v1.2\n");
	set_gives("a=1\nb=2\nc=3\n", 0, "b", "a-much-longer-value", "a=1\nb=a-much-longer-value\nc=3\n");
	set_gives("a=1\nb=two-hundred\nc=3\n", 0, "b", "2", "a=1\nb=2\nc=3\n");
	set_gives("a=1\nb=2\nc=3\n", 0, "a", "0", "a=0\nb=2\nc=3\n");
}

static void test_set_crlf(void **state)
{
	(void)state;
	set_gives("# c\r\nserver=v3.8.0\r\n\r\nchat=v1\r\n", 0, "server", "v3.8.1",
		  "# c\r\nserver=v3.8.1\r\n\r\nchat=v1\r\n");
	set_gives("server=v1\r\n", 0, "chat", "v2", "server=v1\r\nchat=v2\r\n");
}

static void test_set_no_final_newline(void **state)
{
	(void)state;
	set_gives("a=1\nb=2", 0, "b", "33", "a=1\nb=33");
	set_gives("a=1\nb=2", 0, "c", "3", "a=1\nb=2\nc=3\n");
	set_gives("a=1\r\nb=2", 0, "b", "3", "a=1\r\nb=3");
	set_gives("a=1\r\nb=2", 0, "c", "3", "a=1\r\nb=2\r\nc=3\r\n");
	set_gives("# only a comment", 0, "server", "v1", "# only a comment\nserver=v1\n");
}

static void test_set_append_dominant_ending(void **state)
{
	(void)state;
	set_gives("a=1\nb=2\r\nc=3\n", 0, "d", "4", "a=1\nb=2\r\nc=3\nd=4\n");
	set_gives("a=1\r\nb=2\nc=3\r\n", 0, "d", "4", "a=1\r\nb=2\nc=3\r\nd=4\r\n");
	/* A tie keeps the Unix ending. */
	set_gives("a=1\r\nb=2\n", 0, "d", "4", "a=1\r\nb=2\nd=4\n");
	set_gives("# c\n\n", 0, "server", "v1", "# c\n\nserver=v1\n");
}

static void test_set_creates_from_empty(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok_n(NULL, 0, 0);
	struct sbuf out = {0};
	struct tally_err err = {0};
	assert_int_equal(versionfile_set(vf, "server", "v3.8.1", &out, &err), 0);
	assert_string_equal(sbuf_str(&out), "server=v3.8.1\n");
	sbuf_free(&out);
	versionfile_free(vf);
}

static void test_set_leaves_vf_unchanged(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("server=v1\n", 0);
	struct sbuf out = {0};
	sbuf_adds(&out, "old content that must go");
	struct tally_err err = {0};
	assert_int_equal(versionfile_set(vf, "server", "v2", &out, &err), 0);
	assert_string_equal(sbuf_str(&out), "server=v2\n");
	assert_string_equal(versionfile_get(vf, "server"), "v1");
	assert_int_equal(versionfile_set(vf, "chat", "c1", &out, &err), 0);
	assert_string_equal(sbuf_str(&out), "server=v1\nchat=c1\n");
	assert_int_equal(versionfile_count(vf), 1);
	sbuf_free(&out);
	versionfile_free(vf);
}

/* Setting every key to its current value must reproduce the input exactly. */
static void test_round_trip_identity(void **state)
{
	(void)state;
	static const char *const files[] = {
		"server=v3.8.1\n",
		"# header\n\n  # x=y\nserver=v3.8.1\n\t\nchat=v1\n\n",
		"# c\r\nserver=v3.8.1\r\n\r\nchat=v1\r\n",
		"a=1\nb=2",
		"a=1\r\nb=2",
		"a=1\nb=2\r\n#x\r",
		"#only\n\n\n",
	};
	for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
		struct vfile *vf = parse_ok(files[f], 0);
		for (size_t i = 0; i < versionfile_count(vf); i++) {
			struct sbuf out = {0};
			struct tally_err err = {0};
			assert_int_equal(versionfile_set(vf, versionfile_key_at(vf, i),
							 versionfile_value_at(vf, i), &out, &err),
					 0);
			assert_string_equal(sbuf_str(&out), files[f]);
			sbuf_free(&out);
		}
		versionfile_free(vf);
	}
}

static void test_set_errors(void **state)
{
	(void)state;
	set_fails("a=1\n", 0, "a", "", "empty value for 'a'");
	set_fails("a=1\n", 0, "a", NULL, "empty value for 'a'");
	set_fails("a=1\n", 0, "a", "v1\nb=2", "newline");
	set_fails("a=1\n", 0, "a", "v1\r", "newline");
	set_fails("a=1\n", 0, "b", "v1 v2", "whitespace");
	set_fails("a=1\n", 0, "a", "\tv1", "whitespace");
	set_fails("a=1\n", 0, "bad key", "v1", "invalid key 'bad key'");
	set_fails("a=1\n", 0, "", "v1", "invalid key");
	set_fails("a=1\n", 0, "9a", "v1", "invalid key");
	set_fails("a=1\n", 1, "A", "x\ny", "newline");
	set_fails("a=1\n", 1, "A", "", "empty value");

	/* out is reset even when set() refuses. */
	struct vfile *vf = parse_ok("a=1\n", 0);
	struct sbuf out = {0};
	sbuf_adds(&out, "stale");
	assert_int_equal(versionfile_set(vf, "a", "", &out, NULL), -1);
	assert_int_equal(out.len, 0);
	sbuf_free(&out);
	versionfile_free(vf);
}

/* ---- lenient mode (.env and other recordAlso files) ---- */

static const char env_file[] = "# deployment settings\n"
			       "export PATH=/bin\n"
			       "SERVER_IMAGE=registry/ns/server:v3.8.1-anolis\n"
			       "GREETING=hello world  \n"
			       "EMPTY=\n"
			       "  INDENTED=x\n"
			       "this is not a key value line\n"
			       "KEY = spaced\n"
			       "\n";

static void test_lenient_keeps_other_lines(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok(env_file, 1);
	assert_int_equal(versionfile_count(vf), 3);
	assert_string_equal(versionfile_get(vf, "SERVER_IMAGE"), "registry/ns/server:v3.8.1-anolis");
	assert_int_equal(versionfile_line(vf, "SERVER_IMAGE"), 3);
	assert_string_equal(versionfile_get(vf, "GREETING"), "hello world");   /* trailing blanks are spacing */
	assert_string_equal(versionfile_get(vf, "EMPTY"), "");
	assert_null(versionfile_get(vf, "INDENTED"));
	assert_null(versionfile_get(vf, "KEY"));
	versionfile_free(vf);
	/* The same content is rejected in strict mode. */
	parse_fails(env_file, 0, NAME ":2: malformed line", NULL);
}

static void test_lenient_set_preserves(void **state)
{
	(void)state;
	set_gives(env_file, 1, "SERVER_IMAGE", "registry/ns/server:v3.8.2-anolis",
		  "# deployment settings\n"
		  "export PATH=/bin\n"
		  "SERVER_IMAGE=registry/ns/server:v3.8.2-anolis\n"
		  "GREETING=hello world  \n"
		  "EMPTY=\n"
		  "  INDENTED=x\n"
		  "this is not a key value line\n"
		  "KEY = spaced\n"
		  "\n");

	set_gives("A=1\nB=x y\n", 1, "B", "spaces are fine here", "A=1\nB=spaces are fine here\n");
	set_gives("A=1\r\nB=\r\n", 1, "B", "2", "A=1\r\nB=2\r\n");
	set_gives("not kv\nA=1", 1, "C", "3", "not kv\nA=1\nC=3\n");
}

/* recordAlso keeps quotes, spacing and an inline comment (SPEC section 4) */
static void test_lenient_quotes_comments(void **state)
{
	(void)state;
	static const char env[] =
		"# images\n"
		"OPENIM_CHAT_IMAGE=openim/openim-chat:v1.8.4-patch.2 # chat image\n"
		"X=\"v1\"\n"
		"Y='v2'   # single\n"
		"Z = \"v3\"\t# spaced\n"
		"W=  v4\n"
		"H=a#b\n"
		"E= # nothing yet\n"
		"Q=\"unclosed\n"
		"D=\"has \\\" quote\" # escaped\n";
	struct vfile *vf = parse_ok(env, 1);
	assert_string_equal(versionfile_get(vf, "OPENIM_CHAT_IMAGE"), "openim/openim-chat:v1.8.4-patch.2");
	assert_string_equal(versionfile_get(vf, "X"), "v1");
	assert_string_equal(versionfile_get(vf, "Y"), "v2");
	assert_null(versionfile_get(vf, "Z"));        /* "Z =" is not KEY= */
	assert_string_equal(versionfile_get(vf, "W"), "v4");
	assert_string_equal(versionfile_get(vf, "H"), "a#b");     /* no blank before '#' */
	assert_string_equal(versionfile_get(vf, "E"), "");
	assert_string_equal(versionfile_get(vf, "Q"), "\"unclosed");
	assert_string_equal(versionfile_get(vf, "D"), "has \\\" quote");
	versionfile_free(vf);

	set_gives("OPENIM_CHAT_IMAGE=openim/openim-chat:v1.8.4-patch.2 # chat image\n", 1,
		  "OPENIM_CHAT_IMAGE", "openim/openim-chat:v1.8.4-patch.3",
		  "OPENIM_CHAT_IMAGE=openim/openim-chat:v1.8.4-patch.3 # chat image\n");
	set_gives("X=\"v1\"\n", 1, "X", "v2", "X=\"v2\"\n");
	set_gives("X=\"v1\" # quoted\r\n", 1, "X", "v2", "X=\"v2\" # quoted\r\n");
	set_gives("Y='v2'   # single\n", 1, "Y", "v3.0.1", "Y='v3.0.1'   # single\n");
	set_gives("W=  v4  \n", 1, "W", "v5", "W=  v5  \n");
	set_gives("E= # nothing yet\n", 1, "E", "7.0.5", "E=7.0.5 # nothing yet\n");
	set_gives("E=\n", 1, "E", "7.0.5", "E=7.0.5\n");
	set_gives("H=a#b\n", 1, "H", "c", "H=c\n");
	set_gives("A=1 #c\nB=\"x\" #d\n", 1, "B", "y", "A=1 #c\nB=\"y\" #d\n");

	/* values that would change the line's meaning are refused */
	set_fails("X=\"v1\"\n", 1, "X", "a\"b", "would not read back");
	set_fails("X=v1 # c\n", 1, "X", "a #b", "would not read back");
	set_fails("X='v1'\n", 1, "X", "it's", "would not read back");
}

/* null, undefined and None are what a failed JSON lookup prints */
static void test_null_values(void **state)
{
	(void)state;
	parse_fails("server=v3.8.1\nweb=null\n", 0, NAME ":2: 'null' is not a version for 'web'", NULL);
	parse_fails("a=undefined\n", 0, NAME ":1: 'undefined' is not a version", NULL);
	parse_fails("# c\n\nb=None\n", 0, NAME ":3: 'None' is not a version", NULL);
	parse_fails("b=NULL\r\n", 0, NAME ":1: 'NULL'", NULL);
	struct vfile *vf = parse_ok("web=nullish\nx=v1\n", 0);
	assert_string_equal(versionfile_get(vf, "web"), "nullish");
	versionfile_free(vf);
	set_fails("web=v1\n", 0, "web", "null", "'null' is not a version");
	set_fails("web=v1\n", 0, "new", "None", "'None' is not a version");
	/* in a .env it is just a value */
	vf = parse_ok("WEB=null\n", 1);
	assert_string_equal(versionfile_get(vf, "WEB"), "null");
	versionfile_free(vf);
}

static void test_lenient_errors(void **state)
{
	(void)state;
	parse_fails("# env\nFOO=1\nBAR=2\nFOO=3\n", 1,
		    NAME ":4: duplicate key 'FOO' (first on line 2)", NULL);
}

/* issue 10: a CR at the very end is the CRLF ending of a file that lost its
 * final LF. A strict file like that parses; in a lenient file the value
 * reads the same before and after a key is appended. */
static void test_final_bare_cr(void **state)
{
	(void)state;
	struct vfile *vf = parse_ok("a=1\r\nb=2\r", 0);
	assert_string_equal(versionfile_get(vf, "b"), "2");
	versionfile_free(vf);
	set_gives("a=1\r\nb=2\r", 0, "c", "3", "a=1\r\nb=2\r\nc=3\r\n");
	set_gives("a=1\r\nb=2\r", 0, "b", "4", "a=1\r\nb=4\r");

	vf = parse_ok("A=1\nB=2\r", 1);
	const char *before = versionfile_get(vf, "B");
	struct sbuf out = {0};
	struct tally_err err = {0};
	assert_int_equal(versionfile_set(vf, "K", "v", &out, &err), 0);
	struct vfile *again = parse_ok_n(out.buf, out.len, 1);
	assert_string_equal(versionfile_get(again, "B"), before);
	assert_string_equal(versionfile_get(again, "K"), "v");
	versionfile_free(again);
	sbuf_free(&out);
	versionfile_free(vf);
}

static void test_key_valid(void **state)
{
	(void)state;
	assert_true(versionfile_key_valid("server"));
	assert_true(versionfile_key_valid("_x"));
	assert_true(versionfile_key_valid("A.b-c_9"));
	assert_false(versionfile_key_valid(""));
	assert_false(versionfile_key_valid(NULL));
	assert_false(versionfile_key_valid("9a"));
	assert_false(versionfile_key_valid(".a"));
	assert_false(versionfile_key_valid("-a"));
	assert_false(versionfile_key_valid("a b"));
	assert_false(versionfile_key_valid("a=b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_seed_file),
		cmocka_unit_test(test_final_bare_cr),
		cmocka_unit_test(test_parse_comments_blank_lines),
		cmocka_unit_test(test_parse_key_grammar_and_odd_values),
		cmocka_unit_test(test_parse_empty_buffer),
		cmocka_unit_test(test_parse_not_nul_terminated),
		cmocka_unit_test(test_parse_crlf),
		cmocka_unit_test(test_parse_no_final_newline),
		cmocka_unit_test(test_err_malformed_no_equals),
		cmocka_unit_test(test_err_malformed_bad_key),
		cmocka_unit_test(test_err_malformed_spacing),
		cmocka_unit_test(test_err_empty_value),
		cmocka_unit_test(test_err_whitespace_in_value),
		cmocka_unit_test(test_err_duplicate_key),
		cmocka_unit_test(test_many_keys_hashed),
		cmocka_unit_test(test_err_nul_byte),
		cmocka_unit_test(test_err_line_numbers_large),
		cmocka_unit_test(test_err_null_name),
		cmocka_unit_test(test_set_changes_only_value),
		cmocka_unit_test(test_set_crlf),
		cmocka_unit_test(test_set_no_final_newline),
		cmocka_unit_test(test_set_append_dominant_ending),
		cmocka_unit_test(test_set_creates_from_empty),
		cmocka_unit_test(test_set_leaves_vf_unchanged),
		cmocka_unit_test(test_round_trip_identity),
		cmocka_unit_test(test_lenient_quotes_comments),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_set_errors),
		cmocka_unit_test(test_lenient_keeps_other_lines),
		cmocka_unit_test(test_lenient_set_preserves),
		cmocka_unit_test(test_lenient_errors),
		cmocka_unit_test(test_key_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
