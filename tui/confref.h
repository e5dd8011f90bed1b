/* confref.h - the configuration reference, generated from config.c's key
 * table and template variables: `tally help config` (plain text, 80
 * columns) and the tally.conf(5) man page (docs/tally.conf.5 is its output,
 * checked by tests/integration/t_config_ref.sh). */
#ifndef TALLY_CONFREF_H
#define TALLY_CONFREF_H

#include <stdio.h>

void confref_text(FILE *f);
/* Prints text filled to 79 columns, every line indented by indent spaces. */
void confref_wrap(FILE *f, int indent, const char *text);
void confref_man(FILE *f);

#endif
