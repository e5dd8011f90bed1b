/* cli.c - options and help from the command table (engine/command.h):
 * argv parsing (global options anywhere, the command's options by the
 * table), --help, per-command help, the completions' view of the table.
 * Single-threaded. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confref.h"
#include "i18n.h"

static const char global_opts[] = "-C --config --state-dir --no-tui --json --readonly --theme --no-color "
				  "--ascii -y --yes -q -v --help --version --help-config";

/* A command's help, translated (the catalog has the command table's
 * texts through po/commands.c, see scripts/i18n-update), wrapped by display
 * width within 79 columns. */
static void wrap_tr(FILE *f, int indent, const char *text)
{
	confref_wrap(f, indent, i18n_msg(text));
}

void cli_usage(FILE *f)
{
	/* TRANSLATORS: keep every line within 80 columns (a CJK character is
	 * two); command and option names stay as they are */
	fputs(_("usage: tally [OPTIONS] [COMMAND [ARGS...]]\n\n"
		   "tally ships container images and records a version only after its image was\n"
		   "built, pushed and read back from the registry.\n\n"
		   "  tally                 the operator console (starts 'tally serve' in the\n"
		   "                        background when no engine runs; needs a terminal)\n"
		   "  tally watch           the read-only console (same as --readonly)\n"
		   "\ncommands (batch; also chosen when stdout is not a terminal):\n"), f);
	command_print_usage(f, wrap_tr);
	fputs(_("\noptions (before or after the command):\n"
		   "  -C DIR            versions repo (default: $TALLY_REPO, else the current dir)\n"
		   "  --config FILE     pipeline definition (default: tally.conf in the repo)\n"
		   "  --state-dir DIR   logs, ledger, caches ($TALLY_STATE_DIR, tally.stateDir)\n"
		   "  --no-tui          batch mode (chosen too when stdout is not a terminal)\n"
		   "  --json            JSON Lines on stdout (schema 1); the last line: summary\n"
		   "  --readonly        watch: no action runs\n"
		   "  --theme NAME, --no-color, --ascii   console looks\n"
		   "  -y, --yes         do not ask for confirmation\n"
		   "  -q, -v            less, more output\n"
		   "  --help, --version\n"
		   "  --help-config     the tally.conf reference (also: tally help config)\n"
		   "\nexit status: 0 success or nothing to do; 1 an attempt or a check failed;\n"
		   "2 usage, configuration or input error; 3 another engine controls this repo;\n"
		   "4 verify found a mismatch.\n"), f);
}

void cli_command_help(FILE *f, const struct command *c)
{
	fprintf(f, _("usage: tally %s\n"), c->usage);
	wrap_tr(f, 2, c->help);
}

#define USAGE_ERR(what, arg) (snprintf(msg, len, what, arg), -1)

int cli_parse(int argc, char **argv, struct opts *o, char *msg, size_t len)
{
	/* the global options: a flag, or a value (the next word) */
	const struct {
		const char *name, *alias;
		int *flag;
		const char **val;
	} globals[] = {
		{"-C", NULL, NULL, &o->dir},
		{"--config", NULL, NULL, &o->config},
		{"--state-dir", NULL, NULL, &o->state_dir},
		{"--theme", NULL, NULL, &o->theme},
		{"--no-tui", NULL, &o->no_tui, NULL},
		{"--json", NULL, &o->json, NULL},
		{"--readonly", NULL, &o->readonly, NULL},
		{"--no-color", NULL, &o->no_color, NULL},
		{"--ascii", NULL, &o->ascii, NULL},
		{"-y", "--yes", &o->yes, NULL},
		{"-q", NULL, &o->quiet, NULL},
		{"-v", NULL, &o->verbose, NULL},
		{"--help", "-h", &o->help, NULL},   /* tally CMD --help: that command's help */
		{"--help-config", NULL, &o->help_config, NULL},
	};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				strv_push(&o->ca.pos, argv[i]);
			break;
		}
		size_t g;
		for (g = 0; g < sizeof globals / sizeof globals[0]; g++)
			if (strcmp(a, globals[g].name) == 0 || (globals[g].alias && strcmp(a, globals[g].alias) == 0))
				break;
		if (g < sizeof globals / sizeof globals[0]) {
			if (globals[g].flag) {
				*globals[g].flag = 1;
				continue;
			}
			if (!next)
				return USAGE_ERR(_("missing the argument of '%s'"), a);
			*globals[g].val = next;
			i++;
			continue;
		}
		const struct cmd_option *opt = command_option(a);
		/* --version before a command is tally's; after one that takes it,
		 * that command's option */
		const struct command *cmd = o->command ? command_find_cli(o->command) : NULL;
		if (opt && opt->id == OPT_VERSION && !(cmd && command_takes(cmd, OPT_VERSION)))
			return 1;
		if (opt) {
			o->ca.set |= OB(opt->id);
			if (opt->arg == OA_NONE)
				continue;
			if (!next)
				return USAGE_ERR(_("missing the argument of '%s'"), a);
			i++;
			o->ca.val[opt->id] = next;
			if (opt->arg == OA_COUNT) {
				char *end;
				errno = 0;
				o->ca.limit = strtol(next, &end, 10);
				if (*end || errno || o->ca.limit < 1) {
					snprintf(msg, len, _("%s takes a positive number, not '%s'"), a, next);
					return -1;
				}
			}
		} else if (a[0] == '-' && a[1]) {
			return USAGE_ERR(_("unknown option '%s'"), a);
		} else if (!o->command) {
			o->command = a;
		} else {
			strv_push(&o->ca.pos, a);
		}
	}
	return 0;
}

/* help [COMMAND|config] [--man] */
int cli_confirms(const struct opts *o, const struct command *c)
{
	return (c->flags & CF_CONFIRMS) && !o->yes && !OPT_GIVEN(o, OPT_DRY_RUN) && isatty(STDIN_FILENO) &&
	       !o->json;
}

int cli_ask(const char *question)
{
	fputs(question, stderr);
	char line[16] = "";
	if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
		fputs(_("tally: nothing done\n"), stderr);
		return 0;
	}
	return 1;
}

int cli_help(const struct opts *o)
{
	const char *what = o->ca.pos.n ? o->ca.pos.v[0] : NULL;
	int man = OPT_GIVEN(o, OPT_MAN);
	if (what && strcmp(what, "config") == 0) {
		if (man)
			confref_man(stdout);
		else
			confref_text(stdout);
		return EXIT_OK;
	}
	if (man) {
		fputs(_("tally: --man goes with 'help config'\n"), stderr);
		return EXIT_USAGE;
	}
	if (!what) {
		cli_usage(stdout);
		return EXIT_OK;
	}
	const struct command *c = command_find_cli(what);
	if (!c) {
		fprintf(stderr, _("tally: no help for '%s' (try 'tally help' or 'tally help config')\n"), what);
		return EXIT_USAGE;
	}
	cli_command_help(stdout, c);
	return EXIT_OK;
}

struct compl_cmd *cli_compl_table(struct strv *optv, size_t *np)
{
	struct compl_cmd *cc = xcalloc(CMD_COUNT, sizeof *cc);
	size_t n = 0;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		const struct command *c = &command_table[i];
		if (c->flags & CF_INTERNAL)
			continue;
		strv_push_owned(optv, command_opts_words(c));
		cc[n++] = (struct compl_cmd){c->name, c->help, NULL, c->select != SEL_NONE,
					     (c->flags & CF_VERSION_ARG) != 0};
	}
	for (size_t i = 0; i < n; i++)
		cc[i].opts = optv->v[i];
	*np = n;
	return cc;
}

/* tally completion bash|zsh, from the command table */
int cli_completion(const struct opts *o)
{
	const char *sh = o->ca.pos.v[0];
	struct strv optv = {0};
	size_t n;
	struct compl_cmd *cc = cli_compl_table(&optv, &n);
	/* zsh shows the descriptions: in the language of who generates it */
	for (size_t i = 0; i < n; i++)
		cc[i].help = i18n_msg(cc[i].help);
	int rc = EXIT_OK;
	/* the options that take an argument: the global ones (but -C and
	 * --config, which the scripts read), then the table's */
	struct sbuf pat = {0};
	sbuf_addf(&pat, "--state-dir --theme");
	for (size_t k = 0; k < OPT_COUNT; k++)
		if (cmd_options[k].arg != OA_NONE)
			sbuf_addf(&pat, " %s", cmd_options[k].name);
	if (strcmp(sh, "bash") == 0)
		completion_bash(stdout, cc, n, global_opts, sbuf_str(&pat));
	else if (strcmp(sh, "zsh") == 0)
		completion_zsh(stdout, cc, n, global_opts, sbuf_str(&pat));
	else {
		fprintf(stderr, _("tally: completion knows bash and zsh, not '%s'\n"), sh);
		rc = EXIT_USAGE;
	}
	sbuf_free(&pat);
	strv_free(&optv);
	free(cc);
	return rc;
}
