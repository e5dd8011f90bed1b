#include "console.h"
#include <stdio.h>
int console_main(struct client *c, const struct console_opts *o)
{
	(void)c, (void)o;
	fprintf(stderr, "tally: the interactive console is not in this build yet; use 'tally --no-tui status'\n");
	return 2;
}
