/* console.h - the ncurses operator console (SPEC section 10). It drives the
 * engine only through engine.h's messages. */
#ifndef TALLY_CONSOLE_H
#define TALLY_CONSOLE_H

#include "client.h"
#include "completion.h"

struct console_opts {
	const char *theme;     /* --theme, else $TALLY_THEME, else tally.theme */
	int readonly;          /* watch mode: no action runs */
	int no_color;          /* --no-color or NO_COLOR */
	int ascii;             /* --ascii */
	const char *repo_dir;  /* -C DIR, $TALLY_REPO or "." (for the header) */
	/* when the engine went away: attach to (or start) a new one; NULL with
	 * *why (caller frees) when that fails */
	struct client *(*reconnect)(void *ctx, char **why);
	void *reconnect_ctx;
	/* the batch commands, for the ':' command line and its completion */
	const struct compl_cmd *cmds;
	size_t ncmds;
};

/* Runs the console on an attached engine (client.h: client_submit,
 * client_next_event, client_fd, client_pending) until the operator quits.
 * Takes c: the console frees it, or the client that replaced it after the
 * engine went away, before it returns. Returns the process exit status. */
int console_main(struct client *c, const struct console_opts *o);

#endif
