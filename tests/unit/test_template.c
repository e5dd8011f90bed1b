#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

#define PUSH_TMPL "buildah push --tls-verify={tlsverify} --digestfile {digestfile} {ref} docker://{ref}"
#define BUILD_TMPL                                                                          \
	"buildah build --build-arg OPENIM_VERSION={version} -t {ref} -f "                   \
	"dockerfiles/anolis/Dockerfile.openim-server ."

static const char *const all_names[] = {
	"component", "key", "version", "prefix", "image", "tag", "ref", "repo", "tlsverify", "digestfile",
};
#define NNAMES (sizeof all_names / sizeof all_names[0])

static size_t argv_len(char **argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	return n;
}

/* Asserts argv equals the NULL-terminated list want. */
static void check_argv(char **argv, const char *const *want)
{
	size_t n = 0;
	for (; want[n]; n++) {
		if (!argv[n])
			fail_msg("argv has %zu words, want more (next \"%s\")", n, want[n]);
		assert_string_equal(argv[n], want[n]);
	}
	assert_null(argv[n]);
}

static void check_split(const char *tmpl, const char *const *want)
{
	char **words = NULL;
	size_t n = 99;
	struct tally_err err = {0};
	if (template_split(tmpl, &words, &n, "t", &err) != 0)
		fail_msg("split(%s) failed: %s", tmpl, err.msg);
	check_argv(words, want);
	assert_int_equal(n, argv_len(words));
	template_argv_free(words);
}

static void check_split_fails(const char *tmpl, const char *needle)
{
	char **words = (char **)1;
	size_t n = 99;
	struct tally_err err = {0};
	assert_int_equal(template_split(tmpl, &words, &n, "tally.conf: component.x.build", &err), -1);
	assert_null(words);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "tally.conf: component.x.build"));
	if (needle && !strstr(err.msg, needle))
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_split_basic(void **state)
{
	(void)state;
	check_split("a b  c", (const char *const[]){"a", "b", "c", NULL});
	check_split("  \tlead and trail \n", (const char *const[]){"lead", "and", "trail", NULL});
	check_split("x", (const char *const[]){"x", NULL});
	check_split("a\nb\tc", (const char *const[]){"a", "b", "c", NULL});
	/* no expansion of any kind */
	check_split("echo $HOME ~ * $(id) `id` ; | && > <",
		    (const char *const[]){"echo", "$HOME", "~", "*", "$(id)", "`id`", ";", "|",
					  "&&", ">", "<", NULL});
	/* braces are left alone by split */
	check_split("a {version} {{x}}", (const char *const[]){"a", "{version}", "{{x}}", NULL});
}

static void test_split_quotes(void **state)
{
	(void)state;
	check_split("'a b' \"c d\"", (const char *const[]){"a b", "c d", NULL});
	check_split("pre'mid dle'post", (const char *const[]){"premid dlepost", NULL});
	check_split("'' \"\" x", (const char *const[]){"", "", "x", NULL});
	check_split("'a\\b' 'it\"s'", (const char *const[]){"a\\b", "it\"s", NULL});
	check_split("\"say \\\"hi\\\" \\\\ \\n $x\"",
		    (const char *const[]){"say \"hi\" \\ \\n $x", NULL});
	check_split("\"it's\"", (const char *const[]){"it's", NULL});
	check_split("a\\ b c\\'d \\\"e\\\\",
		    (const char *const[]){"a b", "c'd", "\"e\\", NULL});
	check_split("--label='{version} x'", (const char *const[]){"--label={version} x", NULL});
}

static void test_split_errors(void **state)
{
	(void)state;
	check_split_fails("", "empty");
	check_split_fails("   \t\n", "empty");
	check_split_fails(NULL, "empty");
	check_split_fails("echo 'abc", "'");
	check_split_fails("echo \"abc", "\"");
	check_split_fails("echo \"abc\\\"", "\"");
	check_split_fails("echo abc\\", "backslash");
	check_split_fails("echo 'a' 'b", "column 10");
}

static void test_split_templates(void **state)
{
	(void)state;
	check_split(PUSH_TMPL, (const char *const[]){"buildah", "push", "--tls-verify={tlsverify}",
						    "--digestfile", "{digestfile}", "{ref}",
						    "docker://{ref}", NULL});
	check_split(BUILD_TMPL,
		    (const char *const[]){"buildah", "build", "--build-arg",
					  "OPENIM_VERSION={version}", "-t", "{ref}", "-f",
					  "dockerfiles/anolis/Dockerfile.openim-server", ".", NULL});
}

static void test_expand_push_build(void **state)
{
	(void)state;
	const struct tvar vars[] = {
		{"version", "v3.8.1"},
		{"ref", "127.0.0.1:5000/openim-server:v3.8.1-anolis"},
		{"tlsverify", "false"},
		{"digestfile", "/state/attempts/7/digest"},
		{"prefix", "127.0.0.1:5000"},
	};
	char **argv = NULL;
	struct tally_err err = {0};

	assert_int_equal(template_expand(PUSH_TMPL, vars, 5, &argv, "push", &err), 0);
	check_argv(argv, (const char *const[]){
				 "buildah", "push", "--tls-verify=false", "--digestfile",
				 "/state/attempts/7/digest",
				 "127.0.0.1:5000/openim-server:v3.8.1-anolis",
				 "docker://127.0.0.1:5000/openim-server:v3.8.1-anolis", NULL});
	template_argv_free(argv);

	assert_int_equal(template_expand(BUILD_TMPL, vars, 5, &argv, "build", &err), 0);
	check_argv(argv, (const char *const[]){
				 "buildah", "build", "--build-arg", "OPENIM_VERSION=v3.8.1", "-t",
				 "127.0.0.1:5000/openim-server:v3.8.1-anolis", "-f",
				 "dockerfiles/anolis/Dockerfile.openim-server", ".", NULL});
	template_argv_free(argv);

	/* both default templates pass the config-load check */
	assert_int_equal(template_check(PUSH_TMPL, all_names, NNAMES, 1, "push", &err), 0);
	assert_int_equal(template_check(BUILD_TMPL, all_names, NNAMES, 1, "build", &err), 0);
}

/* The point of the module: whatever a value holds, it stays one word. */
static void test_hostile_values_stay_one_word(void **state)
{
	(void)state;
	static const char *const hostile[] = {
		"v1 2 3",
		"a'b\"c",
		"'",
		"\"",
		"x; rm -rf /",
		"$(touch /tmp/pwned)",
		"`id`",
		"line1\nline2",
		"\t \n",
		"",
		"\\",
		"a\\ b",
		"{ref}",
		"{{",
		"}",
		"v9;touch$IFS/tmp/x",
		"--privileged",
		"> /etc/passwd",
		"caf\xc3\xa9 \xe2\x80\x8b",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		const struct tvar vars[] = {{"version", hostile[i]}, {"ref", "r"}};
		char **argv = NULL;
		struct tally_err err = {0};

		assert_int_equal(template_expand(BUILD_TMPL, vars, 2, &argv, "build", &err), 0);
		assert_int_equal(argv_len(argv), 9);
		char *want = NULL;
		size_t len = strlen("OPENIM_VERSION=") + strlen(hostile[i]) + 1;
		want = malloc(len);
		assert_non_null(want);
		snprintf(want, len, "OPENIM_VERSION=%s", hostile[i]);
		assert_string_equal(argv[3], want);
		assert_string_equal(argv[5], "r");
		free(want);
		template_argv_free(argv);

		/* a word that is only the variable: still exactly one word,
		 * even when the value is empty */
		assert_int_equal(template_expand("echo {version} end", vars, 2, &argv, "t", &err), 0);
		assert_int_equal(argv_len(argv), 3);
		assert_string_equal(argv[1], hostile[i]);
		assert_string_equal(argv[2], "end");
		template_argv_free(argv);

		/* inside quotes of the template too */
		assert_int_equal(template_expand("echo '{version}' \"x{version}y\"", vars, 2, &argv,
						 "t", &err),
				 0);
		assert_int_equal(argv_len(argv), 3);
		assert_string_equal(argv[1], hostile[i]);
		assert_int_equal(strlen(argv[2]), strlen(hostile[i]) + 2);
		assert_int_equal(memcmp(argv[2] + 1, hostile[i], strlen(hostile[i])), 0);
		template_argv_free(argv);
	}
}

static void test_values_not_rescanned(void **state)
{
	(void)state;
	/* a value that looks like a variable or a brace escape is literal */
	const struct tvar vars[] = {{"a", "{b}"}, {"b", "B"}, {"c", "{{"}};
	char *out = NULL;
	struct tally_err err = {0};
	assert_int_equal(template_subst("{a}{b}{c}", vars, 3, &out, "t", &err), 0);
	assert_string_equal(out, "{b}B{{");
	free(out);
}

static void test_subst(void **state)
{
	(void)state;
	const struct tvar vars[] = {
		{"version", "v3.8.1"}, {"prefix", "reg/x"}, {"component", "server"}, {"tag", "t1"},
	};
	struct {
		const char *in, *out;
	} cases[] = {
		{"OPENIM_SERVER_VERSION={version}-anolis", "OPENIM_SERVER_VERSION=v3.8.1-anolis"},
		{"{prefix}/openim-{component}", "reg/x/openim-server"},
		{"{version}", "v3.8.1"},
		{"", ""},
		{"no vars", "no vars"},
		{"{{literal}}", "{literal}"},
		{"{{{version}}}", "{v3.8.1}"},
		{"a{{b", "a{b"},
		{"a}}b", "a}b"},
		{"}}{{", "}{"},
		{"{version}{tag}", "v3.8.1t1"},
		{"spaces stay 'quoted' \"too\"", "spaces stay 'quoted' \"too\""},
		{"a\\{version}", "a\\v3.8.1"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = NULL;
		struct tally_err err = {0};
		if (template_subst(cases[i].in, vars, 4, &out, "t", &err) != 0)
			fail_msg("subst(\"%s\") failed: %s", cases[i].in, err.msg);
		assert_string_equal(out, cases[i].out);
		free(out);
	}
	/* duplicates: the first one wins */
	const struct tvar dup[] = {{"x", "1"}, {"x", "2"}};
	char *out = NULL;
	assert_int_equal(template_subst("{x}", dup, 2, &out, "t", NULL), 0);
	assert_string_equal(out, "1");
	free(out);
	/* no variables at all */
	assert_int_equal(template_subst("plain {{}}", NULL, 0, &out, "t", NULL), 0);
	assert_string_equal(out, "plain {}");
	free(out);
}

static void check_subst_fails(const char *in, const char *needle)
{
	const struct tvar vars[] = {{"version", "1"}, {"ref", "r"}};
	char *out = (char *)1;
	struct tally_err err = {0};
	assert_int_equal(template_subst(in, vars, 2, &out, "tally.conf: component.s.recordAlso", &err),
			 -1);
	assert_null(out);
	assert_int_equal(err.cls, TC_INPUT);
	if (!strstr(err.msg, "tally.conf: component.s.recordAlso") || !strstr(err.msg, needle))
		fail_msg("subst(\"%s\"): error \"%s\" lacks ctx or \"%s\"", in, err.msg, needle);
}

static void test_subst_errors(void **state)
{
	(void)state;
	check_subst_fails("{verison}", "{verison}");
	check_subst_fails("{Version}", "{Version}");
	check_subst_fails("x{digestfile}y", "{digestfile}");
	check_subst_fails("{version", "unterminated");
	check_subst_fails("abc{", "unterminated");
	check_subst_fails("a}b", "'}'");
	check_subst_fails("{version}}", "'}'");
	check_subst_fails("}", "'}'");
	check_subst_fails("{}", "empty");
	check_subst_fails("{a b}", "name");
	check_subst_fails("{ver{sion}", "name");
	check_subst_fails("{{{version", "unterminated");
	/* the message lists what is known, so the fix is obvious */
	check_subst_fails("{nope}", "{version} {ref}");

	/* a known name without a value is an error, not an empty string */
	const struct tvar novalue[] = {{"prefix", NULL}};
	char *out = NULL;
	struct tally_err err = {0};
	assert_int_equal(template_subst("{prefix}/x", novalue, 1, &out, "image", &err), -1);
	assert_non_null(strstr(err.msg, "{prefix}"));
	assert_non_null(strstr(err.msg, "image"));
	assert_null(out);
}

static void test_expand_errors(void **state)
{
	(void)state;
	const struct tvar vars[] = {{"version", "1"}};
	char **argv = (char **)1;
	struct tally_err err = {0};

	assert_int_equal(template_expand("echo {ref}", vars, 1, &argv, "component.s.build", &err), -1);
	assert_null(argv);
	assert_non_null(strstr(err.msg, "component.s.build"));
	assert_non_null(strstr(err.msg, "{ref}"));

	assert_int_equal(template_expand("echo 'x {version}", vars, 1, &argv, "b", &err), -1);
	assert_non_null(strstr(err.msg, "unterminated"));
	assert_int_equal(template_expand("", vars, 1, &argv, "b", &err), -1);
	assert_int_equal(template_expand("a {version} {x", vars, 1, &argv, "b", &err), -1);
	assert_non_null(strstr(err.msg, "unterminated"));
	/* err may be NULL */
	assert_int_equal(template_expand("{nope}", vars, 1, &argv, "b", NULL), -1);
}

static void test_check(void **state)
{
	(void)state;
	struct tally_err err = {0};
	const char *const few[] = {"version"};

	assert_int_equal(template_check("echo {version}", few, 1, 1, "c", &err), 0);
	assert_int_equal(template_check("buildah rmi {ref}", all_names, NNAMES, 1, "c", &err), 0);
	assert_int_equal(template_check("{prefix}/openim-server", all_names, NNAMES, 0, "c", &err),
			 0);
	assert_int_equal(template_check("{version}-anolis", all_names, NNAMES, 0, "c", &err), 0);
	/* split=0: quotes mean nothing and an empty string is fine */
	assert_int_equal(template_check("it's {version}", few, 1, 0, "c", &err), 0);
	assert_int_equal(template_check("", few, 1, 0, "c", &err), 0);
	/* split=1: the same strings are command errors */
	assert_int_equal(template_check("it's {version}", few, 1, 1, "c", &err), -1);
	assert_non_null(strstr(err.msg, "unterminated"));
	assert_int_equal(template_check("", few, 1, 1, "c", &err), -1);

	assert_int_equal(template_check("echo {ref}", few, 1, 1, "tally.conf: component.s.build",
					&err),
			 -1);
	assert_int_equal(err.cls, TC_INPUT);
	assert_non_null(strstr(err.msg, "{ref}"));
	assert_non_null(strstr(err.msg, "tally.conf: component.s.build"));
	assert_int_equal(template_check("{ref}", few, 1, 0, "c", &err), -1);
	assert_int_equal(template_check("echo {version", few, 1, 1, "c", &err), -1);
	assert_int_equal(template_check("echo version}", few, 1, 1, "c", &err), -1);
	assert_int_equal(template_check("{version", few, 1, 0, "c", &err), -1);
	assert_int_equal(template_check("{{version}}", NULL, 0, 0, "c", &err), 0);
	assert_int_equal(template_check("{version}", NULL, 0, 0, "c", &err), -1);
	assert_non_null(strstr(err.msg, "(none)"));
}

static void test_argv_free_null(void **state)
{
	(void)state;
	template_argv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_basic),
		cmocka_unit_test(test_split_quotes),
		cmocka_unit_test(test_split_errors),
		cmocka_unit_test(test_split_templates),
		cmocka_unit_test(test_expand_push_build),
		cmocka_unit_test(test_hostile_values_stay_one_word),
		cmocka_unit_test(test_values_not_rescanned),
		cmocka_unit_test(test_subst),
		cmocka_unit_test(test_subst_errors),
		cmocka_unit_test(test_expand_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_argv_free_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
