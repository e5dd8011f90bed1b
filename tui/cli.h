/* cli.h - the command line's shared parts: the parsed options, the exit
 * statuses, and the front ends main.c dispatches to (batch.c, serve.c,
 * attach.c). Single-threaded: everything here runs on the main thread. */
#ifndef TALLY_CLI_H
#define TALLY_CLI_H

#include <stdio.h>

#include "client.h"
#include "command.h"
#include "completion.h"
#include "engine.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BUSY = 3, EXIT_MISMATCH = 4 };

struct opts {
	const char *dir, *config, *state_dir, *theme;
	int no_tui, json, readonly, no_color, ascii, yes, quiet, verbose;
	int help_config, help;
	const char *command;
	struct cmd_args ca;     /* the command's positionals and options */
};
#define OPT_GIVEN(o, id) (((o)->ca.set & OB(id)) != 0)

/* cli.c: argv by the command table. 0; 1 when --version asks for tally's
 * version; -1 with msg ("unknown option '--bar'") on a usage error. */
int cli_parse(int argc, char **argv, struct opts *o, char *msg, size_t len);
void cli_usage(FILE *f);                          /* --help */
void cli_command_help(FILE *f, const struct command *c);   /* help CMD, CMD --help */
/* The command table as the completions and the console's ':' line see
 * it; optv keeps the option strings. */
struct compl_cmd *cli_compl_table(struct strv *optv, size_t *np);
int cli_completion(const struct opts *o);         /* completion bash|zsh */
int cli_help(const struct opts *o);               /* help [COMMAND|config] [--man] */
/* 1 when c asks before it acts: it confirms, stdin is a terminal, and
 * none of -y, --dry-run, --json (SPEC section 7). */
int cli_confirms(const struct opts *o, const struct command *c);
/* Prints question to stderr and reads the answer: 1 for y or Y, else
 * (after "tally: nothing done") 0. */
int cli_ask(const char *question);

/* batch.c */
int run_batch(struct opts *o, const struct command *c);
int batch_fail(const struct opts *o, int code, const char *msg);

/* attach.c */
struct engine_opts engine_opts_of(const struct opts *o);
struct client *attach(const struct opts *o, int watch, struct tally_err *err);
struct client *start_engine(const struct opts *o, struct tally_err *err);
int run_console(struct opts *o);

/* serve.c */
int run_serve(struct opts *o);
int run_stop(struct opts *o);
int run_health(struct opts *o, const struct command *c);

#endif
