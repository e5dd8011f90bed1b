/* template.h - command templates to argv, never through a shell.
 *
 * A template is split into words first (shell-like quoting: '...' literal,
 * "..." with \" \\ escapes, backslash escapes outside quotes, no expansion of
 * any kind), then {name} variables are substituted inside each word. A value
 * can therefore never add, remove or split a word. "{{" and "}}" give literal
 * braces. An unknown variable, an unterminated quote or an unbalanced brace is
 * an error. */
#ifndef TALLY_TEMPLATE_H
#define TALLY_TEMPLATE_H

#include <stddef.h>

#include "err.h"

struct tvar {
	const char *name;
	const char *value;
};

/* Splits tmpl into words without substituting. *words is a NULL-terminated
 * array the caller frees with template_argv_free. An empty template (no
 * words) is an error. ctx names the template in messages. */
int template_split(const char *tmpl, char ***words, size_t *nwords, const char *ctx,
		   struct tally_err *err);

/* Split + substitute. Each variable name used must be in vars. */
int template_expand(const char *tmpl, const struct tvar *vars, size_t nvars, char ***argv,
		    const char *ctx, struct tally_err *err);

/* Substitutes variables in one string with no splitting (for recordAlso
 * values and image names). Caller frees *out. */
int template_subst(const char *s, const struct tvar *vars, size_t nvars, char **out,
		   const char *ctx, struct tally_err *err);

/* Checks syntax and that every variable is one of names[] (config load). */
int template_check(const char *tmpl, const char *const *names, size_t nnames, int split,
		   const char *ctx, struct tally_err *err);

void template_argv_free(char **argv);

#endif
