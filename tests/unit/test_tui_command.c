/* The command table (engine/command.h) and what it drives: every engine
 * command has a handler, every key names a command or a UI action, every
 * command is in --help and in docs/tally.1, and the CLI's argv parsing
 * (tui/cli.c) by the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"
#include "command.h"
#include "ui.h"

static void test_every_engine_command_has_a_handler(void **state)
{
	(void)state;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		const struct command *c = &command_table[i];
		assert_int_equal(c->id, (int)i);   /* designated by id, in place */
		if (c->flags & CF_FRONTEND) {
			if (engine_command_handled(c->id))
				fail_msg("front-end command %s has an engine handler", c->name);
		} else if (!engine_command_handled(c->id)) {
			fail_msg("engine command %s has no handler", c->name);
		}
	}
	assert_false(engine_command_handled(CMD_COUNT));
}

static void test_reads_only_from_the_flags(void **state)
{
	(void)state;
	/* what watch connections may send, as before the table */
	const char *const reads[] = {"status", "history", "logs", "attempts", "shipped", "health"};
	const char *const writes[] = {"check", "run", "retry", "rebuild", "reset", "skip", "unskip",
				      "pin", "unpin", "verify", "adopt", "pause", "resume"};
	for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++)
		if (!engine_command_reads_only(reads[i]))
			fail_msg("%s should be allowed on a watch connection", reads[i]);
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
		if (engine_command_reads_only(writes[i]))
			fail_msg("%s should be refused on a watch connection", writes[i]);
	assert_int_equal(sizeof reads / sizeof reads[0] + sizeof writes / sizeof writes[0] + 5, CMD_COUNT);
	assert_false(engine_command_reads_only("stop"));   /* not the engine's: refused to watchers */
	assert_false(engine_command_reads_only("nosuch"));
	assert_false(engine_command_reads_only(NULL));
}

static void test_every_key_names_a_command_or_ui_action(void **state)
{
	(void)state;
	for (size_t i = 0; i < key_table_len; i++) {
		unsigned f;
		if (keys_flags(&key_table[i], &f) < 0)
			fail_msg("key %s names '%s': no command, no UI action", key_table[i].label, key_table[i].name);
	}
	/* inherited, not kept by hand */
	const struct keydef *run = keys_find('b', VB(VIEW_TABLE)), *hist = keys_find('h', VB(VIEW_TABLE));
	assert_non_null(run);
	assert_non_null(hist);
	assert_true(keys_writes(run));
	assert_false(keys_writes(hist));
	assert_true(keys_writes(keys_find('E', VB(VIEW_TABLE))));
	assert_false(keys_writes(keys_find('q', VB(VIEW_TABLE))));
}

/* docs/tally.1 of this source tree */
static void read_man(struct sbuf *sb)
{
	char path[4096];
	snprintf(path, sizeof path, "%s", __FILE__);
	char *slash = strstr(path, "tests/unit/");
	assert_non_null(slash);
	snprintf(slash, sizeof path - (size_t)(slash - path), "docs/tally.1");
	struct tally_err err = {0};
	if (util_read_file(path, sb, &err) < 0)
		fail_msg("%s", err.msg);
}

static void test_every_command_is_documented(void **state)
{
	(void)state;
	char *help = NULL;
	size_t hlen = 0;
	FILE *m = open_memstream(&help, &hlen);
	cli_usage(m);
	fclose(m);
	struct sbuf sb = {0};
	read_man(&sb);
	char *man = xstrdup(sbuf_str(&sb));
	sbuf_free(&sb);
	char *cmds = strstr(man, "\n.SH COMMANDS\n"), *end = cmds ? strstr(cmds + 1, "\n.SH ") : NULL;
	assert_non_null(cmds);
	assert_non_null(end);
	*end = 0;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		const struct command *c = &command_table[i];
		if (c->flags & CF_INTERNAL)
			continue;
		char want[128];
		snprintf(want, sizeof want, "\n  %s\n", c->usage);
		if (!strstr(help, want))
			fail_msg("--help does not list %s", c->name);
		/* ".B name", ".BR name ...", ".BI "name ...", or the second of a pair
		 * (".BR pin ... ", " unpin ...", ".BR pause ", " resume") */
		char f1[128], f2[128], f3[128], f4[128];
		snprintf(f1, sizeof f1, "\n.B %s\n", c->name);
		snprintf(f2, sizeof f2, "\n.BR %s ", c->name);
		snprintf(f3, sizeof f3, "\n.BI \"%s ", c->name);
		snprintf(f4, sizeof f4, "\" %s \"", c->name);
		char f5[128];
		snprintf(f5, sizeof f5, "\" %s\n", c->name);
		int found = strstr(cmds, f1) || strstr(cmds, f2) || strstr(cmds, f3) || strstr(cmds, f4) ||
			    strstr(cmds, f5);
		if (!found)
			fail_msg("docs/tally.1 COMMANDS does not document %s", c->name);
	}
	free(man);
	free(help);
}

/* docs/tally.1's COMMANDS section is the one the table generates
 * (regenerate with tests/console/gen_man_commands.sh). */
static void test_man_commands_match_the_table(void **state)
{
	(void)state;
	struct sbuf sb = {0};
	read_man(&sb);
	const char *from = strstr(sbuf_str(&sb), ".SH COMMANDS\n");
	const char *to = from ? strstr(from, ".SH OPTIONS\n") : NULL;
	assert_non_null(to);
	char *want = NULL;
	size_t wlen = 0;
	FILE *m = open_memstream(&want, &wlen);
	command_print_man(m);
	fclose(m);
	if (wlen != (size_t)(to - from) || memcmp(want, from, wlen) != 0)
		fail_msg("docs/tally.1 COMMANDS differs from the command table; regenerate it with "
			 "tests/console/gen_man_commands.sh");
	free(want);
	sbuf_free(&sb);
}

static int parse(struct opts *o, char *msg, const char *const *words)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = (char *)"tally";
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	memset(o, 0, sizeof *o);
	return cli_parse(argc, argv, o, msg, 256);
}

static void test_cli_parse(void **state)
{
	(void)state;
	struct opts o;
	char msg[256];
	const char *w1[] = {"-C", "/repo", "run", "a", "--dry-run", "b", "--version", "1.2", NULL};
	assert_int_equal(parse(&o, msg, w1), 0);
	assert_string_equal(o.dir, "/repo");
	assert_string_equal(o.command, "run");
	assert_int_equal(o.ca.pos.n, 2);
	assert_true(OPT_GIVEN(&o, OPT_DRY_RUN));
	assert_string_equal(o.ca.val[OPT_VERSION], "1.2");
	const struct command *c = command_find_cli(o.command);
	assert_int_equal(command_check(c, &o.ca, msg, sizeof msg), 0);
	json_t *j = command_json(c, &o.ca, 7);
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"cmd\":\"run\",\"id\":7,\"components\":[\"a\",\"b\"],\"dry_run\":true,"
			       "\"version\":\"1.2\"}");
	free(s);
	json_decref(j);
	strv_free(&o.ca.pos);

	/* --version before a command (or after one without it) is tally's */
	const char *w2[] = {"--version", NULL};
	assert_int_equal(parse(&o, msg, w2), 1);
	const char *w3[] = {"status", "--version", NULL};
	assert_int_equal(parse(&o, msg, w3), 1);

	/* VERSION positional, the alias, --limit */
	const char *w4[] = {"skip", "server", "v3", "--reason", "bad base", "-y", NULL};
	assert_int_equal(parse(&o, msg, w4), 0);
	assert_true(o.yes);
	c = command_find_cli(o.command);
	assert_int_equal(command_check(c, &o.ca, msg, sizeof msg), 0);
	j = command_json(c, &o.ca, 1);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	assert_string_equal(s, "{\"cmd\":\"skip\",\"id\":1,\"version\":\"v3\",\"components\":[\"server\"],"
			       "\"reason\":\"bad base\"}");
	free(s);
	json_decref(j);
	strv_free(&o.ca.pos);
	const char *w5[] = {"run", "--build-only", NULL};
	assert_int_equal(parse(&o, msg, w5), 0);
	assert_true(OPT_GIVEN(&o, OPT_NO_PUSH));

	/* errors name the option and the command */
	const char *w6[] = {"logs", "x", "--limit", "0", NULL};
	assert_int_equal(parse(&o, msg, w6), -1);
	assert_string_equal(msg, "--limit takes a positive number, not '0'");
	strv_free(&o.ca.pos);
	const char *w7[] = {"status", "--bar", NULL};
	assert_int_equal(parse(&o, msg, w7), -1);
	assert_string_equal(msg, "unknown option '--bar'");
	const char *w8[] = {"rebuild", "--version", NULL};
	assert_int_equal(parse(&o, msg, w8), -1);
	assert_string_equal(msg, "missing the argument of '--version'");
	const char *w9[] = {"run", "--strict", NULL};
	assert_int_equal(parse(&o, msg, w9), 0);
	assert_int_equal(command_check(command_find_cli("run"), &o.ca, msg, sizeof msg), -1);
	assert_string_equal(msg, "run does not take --strict");
	const char *w10[] = {"skip", "a", NULL};
	assert_int_equal(parse(&o, msg, w10), 0);
	assert_int_equal(command_check(command_find_cli("skip"), &o.ca, msg, sizeof msg), -1);
	assert_string_equal(msg, "usage: tally skip COMP VERSION [--reason TEXT]");
	strv_free(&o.ca.pos);
	const char *w11[] = {"--", "-C", NULL};
	assert_int_equal(parse(&o, msg, w11), 0);
	assert_null(o.command);
	assert_int_equal(o.ca.pos.n, 1);
	strv_free(&o.ca.pos);
}

static void test_lookup_and_suggest(void **state)
{
	(void)state;
	assert_null(command_find_cli("shipped"));   /* internal: the engine's only */
	assert_non_null(command_find("shipped"));
	assert_string_equal(command_suggest("stats"), "status");
	assert_string_equal(command_suggest("rn"), "run");
	assert_null(command_suggest("frobnicate"));
	assert_ptr_equal(command_option("--build-only"), &cmd_options[OPT_NO_PUSH]);
	char *w = command_opts_words(command_find_cli("rebuild"));
	assert_string_equal(w, "--dry-run --version --all");
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_engine_command_has_a_handler),
		cmocka_unit_test(test_reads_only_from_the_flags),
		cmocka_unit_test(test_every_key_names_a_command_or_ui_action),
		cmocka_unit_test(test_every_command_is_documented),
		cmocka_unit_test(test_man_commands_match_the_table),
		cmocka_unit_test(test_cli_parse),
		cmocka_unit_test(test_lookup_and_suggest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
