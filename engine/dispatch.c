/* dispatch.c - the engine's command table and its dispatch (on_command),
 * the read-only test of the socket and the front ends' header. Engine
 * thread (on_command); engine_command_reads_only and engine_describe from
 * any thread. */
#include "engine_int.h"

static void cmd_status_h(struct engine *e, json_t *cmd);

static const struct command {
	const char *name;
	void (*handler)(struct engine *e, json_t *cmd);
	int writes;     /* changes something: refused on watch connections */
} commands[];

static void cmd_status_h(struct engine *e, json_t *cmd)
{
	cmd_status(e, cmd, "status");
}

static const struct command commands[] = {
	{"status", cmd_status_h, 0},
	{"check", cmd_check, 1},
	{"run", cmd_run, 1},
	{"history", cmd_history, 0},
	{"logs", cmd_logs, 0},
	{"retry", cmd_retry, 1},
	{"rebuild", cmd_rebuild, 1},
	{"reset", cmd_reset, 1},
	{"skip", cmd_skip, 1},
	{"unskip", cmd_unskip, 1},
	{"pin", cmd_pin, 1},
	{"unpin", cmd_unpin, 1},
	{"verify", cmd_verify, 1},
	{"adopt", cmd_adopt, 1},
	{"attempts", cmd_attempts, 0},
	{"shipped", cmd_shipped, 0},
	{"pause", cmd_pause, 1},
	{"resume", cmd_resume, 1},
	{"health", cmd_health, 0},
};

int engine_command_reads_only(const char *name)
{
	for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return !commands[i].writes;
	return 0;
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
	for (size_t i = 0; name && i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0) {
			commands[i].handler(e, cmd);
			return;
		}
	char *m = xasprintf("unknown command '%s'", name ? name : "");
	usage_error(e, cmd, m);
	free(m);
}
