/* command.c - the one command table (see command.h): the commands, their
 * options as data, lookup, did-you-mean, the argument check and the engine
 * command the CLI and the console build from parsed words. No threads. */
#include "command.h"

#include <stdlib.h>
#include <string.h>

/* In the order of the completions' option lists and of the "does not
 * take" check. */
const struct cmd_option cmd_options[OPT_COUNT] = {
	[OPT_DRY_RUN] = {OPT_DRY_RUN, "--dry-run", NULL, OA_NONE, "dry_run"},
	[OPT_NO_PUSH] = {OPT_NO_PUSH, "--no-push", "--build-only", OA_NONE, "no_push"},
	[OPT_VERSION] = {OPT_VERSION, "--version", NULL, OA_STRING, "version"},
	[OPT_ATTEMPT] = {OPT_ATTEMPT, "--attempt", NULL, OA_STRING, "attempt"},
	[OPT_FOLLOW] = {OPT_FOLLOW, "--follow", NULL, OA_NONE, NULL},
	[OPT_LIMIT] = {OPT_LIMIT, "--limit", NULL, OA_COUNT, "limit"},
	[OPT_ALL] = {OPT_ALL, "--all", NULL, OA_NONE, "all"},
	[OPT_NO_BUILD] = {OPT_NO_BUILD, "--no-build", NULL, OA_NONE, "no_build"},
	[OPT_NO_PIN] = {OPT_NO_PIN, "--no-pin", NULL, OA_NONE, "no_pin"},
	[OPT_REASON] = {OPT_REASON, "--reason", NULL, OA_STRING, "reason"},
	[OPT_STRICT] = {OPT_STRICT, "--strict", NULL, OA_NONE, "strict"},
	[OPT_NOW] = {OPT_NOW, "--now", NULL, OA_NONE, "now"},
	[OPT_MAN] = {OPT_MAN, "--man", NULL, OA_NONE, NULL},
	[OPT_WRITE] = {OPT_WRITE, "--write", NULL, OA_NONE, NULL},
};

#define W CF_WRITES
const struct command command_table[CMD_COUNT] = {
	[CMD_STATUS] = {CMD_STATUS, "status", "status",
			"one line per component: recorded, upstream, built, state; no network", 0, 0, 0, SEL_NONE, 0},
	[CMD_CHECK] = {CMD_CHECK, "check", "check [COMP...]", "read upstreams; build nothing", 0, -1, 0, SEL_MANY,
		       W},
	[CMD_RUN] = {CMD_RUN, "run", "run [COMP...] [--dry-run] [--no-push] [--version V]",
		     "ship every component that has a candidate (the scheduled job)", 0, -1,
		     OB(OPT_DRY_RUN) | OB(OPT_NO_PUSH) | OB(OPT_VERSION), SEL_MANY, W},
	[CMD_RETRY] = {CMD_RETRY, "retry", "retry COMP",
		       "run the last failed or interrupted attempt again now, ignoring backoff", 1, 1, 0, SEL_ONE, W},
	[CMD_REBUILD] = {CMD_REBUILD, "rebuild", "rebuild COMP...|--all [--version V]",
			 "ship the recorded version (or V) again and record the new digest", 0, -1,
			 OB(OPT_ALL) | OB(OPT_VERSION) | OB(OPT_DRY_RUN), SEL_MANY_OR_ALL, W | CF_CONFIRMS},
	[CMD_RESET] = {CMD_RESET, "reset", "reset COMP VERSION [--no-build] [--no-pin]",
		       "move the record back to VERSION (shipping it first if the registry lost it)", 2, 2,
		       OB(OPT_NO_BUILD) | OB(OPT_NO_PIN) | OB(OPT_REASON) | OB(OPT_DRY_RUN), SEL_ONE,
		       W | CF_CONFIRMS | CF_VERSION_ARG},
	[CMD_SKIP] = {CMD_SKIP, "skip", "skip COMP VERSION [--reason TEXT]",
		      "never build VERSION (commits the holds file)", 2, 2, OB(OPT_REASON), SEL_ONE,
		      W | CF_CONFIRMS | CF_VERSION_ARG | CF_REASON_REST},
	[CMD_UNSKIP] = {CMD_UNSKIP, "unskip", "unskip COMP VERSION", "undo a skip", 2, 2, 0, SEL_ONE,
			W | CF_VERSION_ARG},
	[CMD_PIN] = {CMD_PIN, "pin", "pin COMP [--reason TEXT]", "hold the component at its record", 1, 1,
		     OB(OPT_REASON), SEL_ONE, W | CF_REASON_REST},
	[CMD_UNPIN] = {CMD_UNPIN, "unpin", "unpin COMP", "release a pin", 1, 1, 0, SEL_ONE, W},
	[CMD_VERIFY] = {CMD_VERIFY, "verify", "verify [COMP...] [--strict]",
			"check every record against the registry and the working tree (exit 4 on a mismatch)", 0,
			-1, OB(OPT_STRICT), SEL_MANY, W},
	[CMD_ADOPT] = {CMD_ADOPT, "adopt", "adopt COMP...|--all",
		       "give records made before tally their evidence (tags read back; no build)", 0, -1, OB(OPT_ALL),
		       SEL_MANY_OR_ALL, W},
	[CMD_HISTORY] = {CMD_HISTORY, "history", "history [COMP] [--limit N]",
			 "record and hold commits with their trailers", 0, 1, OB(OPT_LIMIT), SEL_ONE, 0},
	[CMD_ATTEMPTS] = {CMD_ATTEMPTS, "attempts", "attempts [COMP] [--limit N]", "recent attempts from the ledger",
			  0, 1, OB(OPT_LIMIT), SEL_ONE, 0},
	[CMD_LOGS] = {CMD_LOGS, "logs", "logs COMP [--attempt ID] [--follow]",
		      "print an attempt's log (the last one by default)", 1, 1, OB(OPT_ATTEMPT) | OB(OPT_FOLLOW),
		      SEL_ONE, 0},
	[CMD_INIT] = {CMD_INIT, "init", "init [--write]",
		      "print a starter tally.conf guessed from this repo (--write: write it; commits nothing)", 0, 0,
		      OB(OPT_WRITE), SEL_NONE, CF_FRONTEND},
	[CMD_HELP] = {CMD_HELP, "help", "help [COMMAND|config] [--man]",
		      "help for one command, or the tally.conf reference (--man: as troff)", 0, 1, OB(OPT_MAN),
		      SEL_NONE, CF_FRONTEND},
	[CMD_SERVE] = {CMD_SERVE, "serve", "serve", "run the engine and the schedule with no screen (for systemd)", 0,
		       0, 0, SEL_NONE, CF_FRONTEND},
	[CMD_STOP] = {CMD_STOP, "stop", "stop [--now]",
		      "end the running engine (after running attempts, or cancelling them)", 0, 0, OB(OPT_NOW),
		      SEL_NONE, W | CF_FRONTEND},
	[CMD_PAUSE] = {CMD_PAUSE, "pause", "pause", "stop the schedule (lasts across engine restarts)", 0, 0, 0,
		       SEL_NONE, W},
	[CMD_RESUME] = {CMD_RESUME, "resume", "resume", "restart the schedule", 0, 0, 0, SEL_NONE, W},
	[CMD_HEALTH] = {CMD_HEALTH, "health", "health",
			"for monitoring: exit 0 when an engine runs the schedule and its runs are on time; no network",
			0, 0, 0, SEL_NONE, 0},
	[CMD_COMPLETION] = {CMD_COMPLETION, "completion", "completion bash|zsh",
			    "print shell completion (commands, options, component names from tally.conf)", 1, 1, 0,
			    SEL_NONE, CF_FRONTEND},
	/* the console's reset dialog: the versions that shipped before */
	[CMD_SHIPPED] = {CMD_SHIPPED, "shipped", "shipped COMP", "versions of COMP that shipped before", 1, 1, 0,
			 SEL_ONE, CF_INTERNAL},
};
#undef W

const struct command *command_find(const char *name)
{
	for (size_t i = 0; name && i < CMD_COUNT; i++)
		if (strcmp(command_table[i].name, name) == 0)
			return &command_table[i];
	return NULL;
}

const struct command *command_find_cli(const char *name)
{
	const struct command *c = command_find(name);
	return c && !(c->flags & CF_INTERNAL) ? c : NULL;
}

const char *command_suggest(const char *name)
{
	const char *near = NULL;
	int best = 3;
	for (size_t i = 0; i < CMD_COUNT; i++) {
		if (command_table[i].flags & CF_INTERNAL)
			continue;
		int d = util_edit_distance(name, command_table[i].name);
		if (d < best) {
			best = d;
			near = command_table[i].name;
		}
	}
	return near;
}

const struct cmd_option *command_option(const char *arg)
{
	for (size_t i = 0; arg && i < OPT_COUNT; i++)
		if (strcmp(cmd_options[i].name, arg) == 0 ||
		    (cmd_options[i].alias && strcmp(cmd_options[i].alias, arg) == 0))
			return &cmd_options[i];
	return NULL;
}

char *command_opts_words(const struct command *c)
{
	struct sbuf sb = {0};
	for (size_t k = 0; k < OPT_COUNT; k++)
		if (c->opts & OB(k))
			sbuf_addf(&sb, "%s%s", sb.len ? " " : "", cmd_options[k].name);
	char *s = xstrdup(sbuf_str(&sb));
	sbuf_free(&sb);
	return s;
}

int command_check(const struct command *c, const struct cmd_args *a, char *msg, size_t len)
{
	if ((int)a->pos.n < c->min_args || (c->max_args >= 0 && (int)a->pos.n > c->max_args)) {
		snprintf(msg, len, "usage: tally %s", c->usage);
		return -1;
	}
	for (size_t k = 0; k < OPT_COUNT; k++)
		if ((a->set & OB(k)) && !(c->opts & OB(k))) {
			snprintf(msg, len, "%s does not take %s", c->name, cmd_options[k].name);
			return -1;
		}
	return 0;
}

json_t *command_json(const struct command *c, const struct cmd_args *a, json_int_t id)
{
	json_t *cmd = json_pack("{s:s, s:I}", "cmd", c->name, "id", id);
	json_t *names = json_array();
	size_t ncomp = a->pos.n;
	if ((c->flags & CF_VERSION_ARG) && ncomp) {
		ncomp--;
		json_object_set_new(cmd, "version", json_string(a->pos.v[ncomp]));
	}
	for (size_t i = 0; i < ncomp; i++)
		json_array_append_new(names, json_string(a->pos.v[i]));
	json_object_set_new(cmd, "components", names);
	/* the CLI's key order since before the table */
	static const enum opt_id order[] = {OPT_ALL, OPT_NO_BUILD, OPT_NO_PIN, OPT_STRICT, OPT_REASON, OPT_DRY_RUN,
					    OPT_NO_PUSH, OPT_VERSION, OPT_ATTEMPT, OPT_LIMIT, OPT_NOW};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		const struct cmd_option *o = &cmd_options[order[i]];
		if (!(a->set & OB(o->id)) || !o->key)
			continue;
		if (o->arg == OA_STRING)
			json_object_set_new(cmd, o->key, json_string(a->val[o->id]));
		else if (o->arg == OA_COUNT)
			json_object_set_new(cmd, o->key, json_integer(a->limit));
		else
			json_object_set_new(cmd, o->key, json_true());
	}
	return cmd;
}

void command_print_usage(FILE *f, void (*wrap)(FILE *f, int indent, const char *text))
{
	for (size_t i = 0; i < CMD_COUNT; i++) {
		if (command_table[i].flags & CF_INTERNAL)
			continue;
		fprintf(f, "  %s\n", command_table[i].usage);
		wrap(f, 6, command_table[i].help);
	}
}
