/* dispatch.c - the engine's side of the command table (command.h): the
 * handlers bound by command id, dispatch (on_command), the read-only test
 * of the socket and the front ends' header. Engine thread (on_command);
 * engine_command_reads_only and engine_describe from any thread. */
#include "engine_int.h"

#include "command.h"

static void cmd_status_h(struct engine *e, json_t *cmd)
{
	cmd_status(e, cmd, "status");
}

/* The handlers of command.h's table, bound by id; a command with none here
 * (init, help, serve, stop, completion) runs in the front end only. */
static void (*const commands[CMD_COUNT])(struct engine *e, json_t *cmd) = {
	[CMD_STATUS] = cmd_status_h,
	[CMD_CHECK] = cmd_check,
	[CMD_RUN] = cmd_run,
	[CMD_HISTORY] = cmd_history,
	[CMD_LOGS] = cmd_logs,
	[CMD_RETRY] = cmd_retry,
	[CMD_REBUILD] = cmd_rebuild,
	[CMD_RESET] = cmd_reset,
	[CMD_SKIP] = cmd_skip,
	[CMD_UNSKIP] = cmd_unskip,
	[CMD_PIN] = cmd_pin,
	[CMD_UNPIN] = cmd_unpin,
	[CMD_VERIFY] = cmd_verify,
	[CMD_ADOPT] = cmd_adopt,
	[CMD_ATTEMPTS] = cmd_attempts,
	[CMD_SHIPPED] = cmd_shipped,
	[CMD_PAUSE] = cmd_pause,
	[CMD_RESUME] = cmd_resume,
	[CMD_HEALTH] = cmd_health,
};

int engine_command_handled(enum cmd_id id)
{
	return (unsigned)id < CMD_COUNT && commands[id] != NULL;
}

int engine_command_reads_only(const char *name)
{
	const struct command *c = command_find(name);
	return c && engine_command_handled(c->id) && !(c->flags & CF_WRITES);
}

json_t *engine_describe(struct engine *e)
{
	const char *branch = str_starts(e->refname, "refs/heads/") ? e->refname + 11 : e->refname;
	return json_pack("{s:s, s:s, s:s, s:s, s:b}", "repo", e->root, "branch", branch, "theme",
			 e->conf->theme ? e->conf->theme : "default", "state_dir", e->state_dir,
			 "paused", engine_paused(e));
}

void on_command(struct engine *e, json_t *cmd)
{
	const char *name = jget_s(cmd, "cmd");
	const struct command *c = command_find(name);
	if (c && engine_command_handled(c->id)) {
		commands[c->id](e, cmd);
		return;
	}
	char *m = xasprintf("unknown command '%s'", name ? name : "");
	usage_error(e, cmd, m);
	free(m);
}
