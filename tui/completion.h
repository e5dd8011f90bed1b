/* completion.h - shell completion scripts (tally completion bash|zsh),
 * generated from the CLI's command table: commands, their options, and
 * component names read from tally.conf at completion time (through the
 * hidden 'tally __components'). */
#ifndef TALLY_COMPLETION_H
#define TALLY_COMPLETION_H

#include <stddef.h>
#include <stdio.h>

struct compl_cmd {
	const char *name;
	const char *help;
	const char *opts;       /* its options, space separated */
	int comps;              /* its arguments are component names */
	int posver;             /* its second argument is a VERSION (skip, reset, ...) */
};

/* global_opts: space separated; arg_opts: the options that take an argument */
void completion_bash(FILE *f, const struct compl_cmd *c, size_t n, const char *global_opts,
		     const char *arg_opts);
void completion_zsh(FILE *f, const struct compl_cmd *c, size_t n, const char *global_opts,
		    const char *arg_opts);

#endif
