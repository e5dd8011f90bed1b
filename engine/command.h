/* command.h - the one command table (tmux's cmd_entry): per command its
 * name, usage, help, positional arguments, the options it takes, how it
 * selects components and its flags. It drives the engine's dispatch
 * (engine.c binds a handler per id), the socket's read-only refusal, the
 * CLI's option parsing, --help and per-command help, did-you-mean, the
 * completions, the console's ':' line and keys, and the man page's
 * COMMANDS section. Pure data and pure functions; no threads. */
#ifndef TALLY_COMMAND_H
#define TALLY_COMMAND_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "util.h"

/* In the order --help lists them; CMD_SHIPPED (internal) last. */
enum cmd_id {
	CMD_STATUS, CMD_CHECK, CMD_RUN, CMD_RETRY, CMD_REBUILD, CMD_RESET, CMD_SKIP, CMD_UNSKIP,
	CMD_PIN, CMD_UNPIN, CMD_VERIFY, CMD_ADOPT, CMD_HISTORY, CMD_ATTEMPTS, CMD_LOGS, CMD_INIT,
	CMD_HELP, CMD_SERVE, CMD_STOP, CMD_PAUSE, CMD_RESUME, CMD_HEALTH, CMD_COMPLETION,
	CMD_SHIPPED,
	CMD_COUNT
};

/* The command options (global options such as -C are the CLI's own). */
enum opt_id {
	OPT_DRY_RUN, OPT_NO_PUSH, OPT_VERSION, OPT_ATTEMPT, OPT_FOLLOW, OPT_LIMIT, OPT_ALL,
	OPT_NO_BUILD, OPT_NO_PIN, OPT_REASON, OPT_STRICT, OPT_NOW, OPT_MAN, OPT_WRITE,
	OPT_COUNT
};
#define OB(o) (1u << (o))

enum opt_arg { OA_NONE, OA_STRING, OA_COUNT };   /* OA_COUNT: a positive number */

struct cmd_option {
	enum opt_id id;
	const char *name;       /* "--dry-run" */
	const char *alias;      /* "--build-only", or NULL */
	enum opt_arg arg;
	const char *key;        /* its key in the engine command, NULL: front end only */
};
extern const struct cmd_option cmd_options[OPT_COUNT];

/* How a command selects components from its positional arguments. */
enum cmd_select {
	SEL_NONE,       /* no components (positionals, if any, are not components) */
	SEL_ONE,        /* exactly one (optional when min_args is 0) */
	SEL_MANY,       /* any number; none means all */
	SEL_MANY_OR_ALL /* one or more, or --all */
};

#define CF_WRITES 1u     /* changes something: refused on read-only connections and keys */
#define CF_CONFIRMS 2u   /* asks on a terminal unless -y, --dry-run or --json */
#define CF_FRONTEND 4u   /* runs in the front end only (no engine handler) */
#define CF_INTERNAL 8u   /* engine-only: not on the CLI, in --help or completions */
#define CF_VERSION_ARG 16u   /* the last positional argument is VERSION */
#define CF_REASON_REST 32u   /* on the console's ':' line the rest of the words are the reason */
#define CF_NO_SUMMARY 64u    /* batch output prints no "N ok, M failed" line */

struct command {
	enum cmd_id id;
	const char *name;
	const char *usage;      /* after "tally " */
	const char *help;       /* one sentence, for --help and help CMD */
	int min_args, max_args; /* positional arguments; -1 = any */
	unsigned opts;          /* OB(opt_id) bits */
	enum cmd_select select;
	unsigned flags;         /* CF_* */
};
extern const struct command command_table[CMD_COUNT];

/* By name: every command, internal ones included (the engine's view). */
const struct command *command_find(const char *name);
/* By name as the CLI and the console see it (no internal commands). */
const struct command *command_find_cli(const char *name);
/* The closest CLI command name within edit distance 2, or NULL. */
const char *command_suggest(const char *name);
const struct cmd_option *command_option(const char *arg);   /* by name or alias */
static inline int command_takes(const struct command *c, enum opt_id o)
{
	return (c->opts & OB(o)) != 0;
}
/* "--dry-run --no-push ..." (caller frees). */
char *command_opts_words(const struct command *c);

/* The CLI's command words after global options were taken out: what the
 * command gets (argv parsing, unit-tested). */
struct cmd_args {
	struct strv pos;                /* positional arguments */
	unsigned set;                   /* OB() of the options given */
	const char *val[OPT_COUNT];     /* their arguments */
	long limit;
};
/* Checks positional count and options against c; 0, or -1 with msg
 * ("usage: tally skip COMP VERSION [--reason TEXT]", "run does not take --strict"). */
int command_check(const struct command *c, const struct cmd_args *a, char *msg, size_t len);
/* The engine command {"cmd", "id", ["version"], "components", options...}
 * in the CLI's key order. */
json_t *command_json(const struct command *c, const struct cmd_args *a, json_int_t id);

/* --help's command list (wrap: confref_wrap). */
void command_print_usage(FILE *f, void (*wrap)(FILE *f, int indent, const char *text));
/* The COMMANDS section of docs/tally.1 (tests/console/gen_man_commands.sh). */
void command_print_man(FILE *f);

/* Defined by the engine (engine.c): whether id has a handler there. */
int engine_command_handled(enum cmd_id id);

#endif
