/* confcheck.h - checking tally.conf values as the loader (config.c)
 * stores them: a value by its key's flags (paths inside the repo,
 * templates and their variables, regexes, names), the values with parts
 * of their own (upstream kind and argument, recordAlso FILE:VAR=TEMPLATE,
 * secrets), and, after all entries, required keys, defaults and the checks
 * across components (platforms, after, two writers of one key). Every
 * failure is TC_INPUT naming the file, the line and the key. No threads. */
#ifndef TALLY_CONFCHECK_H
#define TALLY_CONFCHECK_H

#include "confkeys.h"
#include "confload.h"

/* 1 when s may name a component: letters, digits, '_', '.' and '-',
 * starting with a letter, digit or '_'. */
int confcheck_comp_name(const char *s);
/* Checks the value of one string key (or one value of a list) by kd's
 * flags. */
int confcheck_str(struct loader *ld, const struct keydef *kd, const char *value, int line,
		  const char *key);
/* Splits and checks component.<n>.upstream into cc. */
int confcheck_upstream(struct loader *ld, struct comp_conf *cc, const char *value, int line,
		       const char *key);
/* Parses and checks one recordAlso value into cc (its line into ax). */
int confcheck_record_also(struct loader *ld, struct comp_conf *cc, struct comp_aux *ax,
			  const char *value, int line, const char *key);
/* Missing keys, defaults and checks across components, after all
 * entries. */
int confcheck_finish(struct loader *ld);

#endif
