/* Placeholder until the console lands (issue 5). */
#include "console.h"

#include <stdio.h>

int console_main(struct engine *e, const struct console_opts *o)
{
	(void)e, (void)o;
	fprintf(stderr, "tally: the interactive console is not in this build yet; use 'tally --no-tui status'\n");
	return 2;
}
