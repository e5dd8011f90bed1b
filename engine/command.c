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
			"one line per component: recorded, upstream, built, state; no network", 0, 0, 0, SEL_NONE, CF_NO_SUMMARY},
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
	[CMD_RESET] = {CMD_RESET, "reset", "reset COMP VERSION [--no-build] [--no-pin] [--reason TEXT]",
		       "move the record back to VERSION (shipping it first if the registry lost it)", 2, 2,
		       OB(OPT_NO_BUILD) | OB(OPT_NO_PIN) | OB(OPT_REASON) | OB(OPT_DRY_RUN), SEL_ONE,
		       W | CF_CONFIRMS | CF_VERSION_ARG},
	[CMD_SKIP] = {CMD_SKIP, "skip", "skip COMP VERSION [--reason TEXT]",
		      "never build VERSION (commits the holds file)", 2, 2, OB(OPT_REASON), SEL_ONE,
		      W | CF_CONFIRMS | CF_VERSION_ARG | CF_REASON_REST | CF_NO_SUMMARY},
	[CMD_UNSKIP] = {CMD_UNSKIP, "unskip", "unskip COMP VERSION", "undo a skip", 2, 2, 0, SEL_ONE,
			W | CF_VERSION_ARG | CF_NO_SUMMARY},
	[CMD_PIN] = {CMD_PIN, "pin", "pin COMP [--reason TEXT]", "hold the component at its record", 1, 1,
		     OB(OPT_REASON), SEL_ONE, W | CF_REASON_REST | CF_NO_SUMMARY},
	[CMD_UNPIN] = {CMD_UNPIN, "unpin", "unpin COMP", "release a pin", 1, 1, 0, SEL_ONE, W | CF_NO_SUMMARY},
	[CMD_VERIFY] = {CMD_VERIFY, "verify", "verify [COMP...] [--strict]",
			"check every record against the registry and the working tree (exit 4 on a mismatch)", 0,
			-1, OB(OPT_STRICT), SEL_MANY, W},
	[CMD_ADOPT] = {CMD_ADOPT, "adopt", "adopt COMP...|--all",
		       "give records made before tally their evidence (tags read back; no build)", 0, -1, OB(OPT_ALL),
		       SEL_MANY_OR_ALL, W},
	[CMD_HISTORY] = {CMD_HISTORY, "history", "history [COMP] [--limit N]",
			 "record and hold commits with their trailers", 0, 1, OB(OPT_LIMIT), SEL_ONE, CF_NO_SUMMARY},
	[CMD_ATTEMPTS] = {CMD_ATTEMPTS, "attempts", "attempts [COMP] [--limit N]", "recent attempts from the ledger",
			  0, 1, OB(OPT_LIMIT), SEL_ONE, CF_NO_SUMMARY},
	[CMD_LOGS] = {CMD_LOGS, "logs", "logs COMP [--attempt ID] [--follow]",
		      "print an attempt's log (the last one by default)", 1, 1, OB(OPT_ATTEMPT) | OB(OPT_FOLLOW),
		      SEL_ONE, CF_NO_SUMMARY},
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
		       SEL_NONE, W | CF_NO_SUMMARY},
	[CMD_RESUME] = {CMD_RESUME, "resume", "resume", "restart the schedule", 0, 0, 0, SEL_NONE, W | CF_NO_SUMMARY},
	[CMD_HEALTH] = {CMD_HEALTH, "health", "health",
			"for monitoring: exit 0 when an engine runs the schedule and its runs are on time; no network",
			0, 0, 0, SEL_NONE, CF_NO_SUMMARY},
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

/* ---- the man page's COMMANDS section ---------------------------------- */

/* Each command's paragraph in docs/tally.1 (troff); the synopsis line is
 * made from the usage above. */
static const char *const command_man[CMD_COUNT] = {
	[CMD_STATUS] =
		"One line per component: recorded, upstream (from the last check), built,\n"
		"state and last result, then one line per watched base image: its digest at\n"
		"the last check and whether the record was built on it. No network.\n",
	[CMD_CHECK] =
		"Read the upstreams; build nothing. Exit 1 when an upstream is unknown.\n",
	[CMD_RUN] =
		"Ship every component that has a candidate (the newest upstream version that\n"
		"is not skipped and is newer than the record). Pinned and \\fBmanual\\fR\n"
		"components are passed over (their version and floating tags are still\n"
		"mended to follow the record). \\fB\\-\\-dry\\-run\\fR prints the plan;\n"
		"\\fB\\-\\-no\\-push\\fR (or \\fB\\-\\-build\\-only\\fR) builds only and never records;\n"
		"\\fB\\-\\-version\\fR \\fIV\\fR ships\n"
		"\\fIV\\fR of one component (exit 2 when it is pinned, skipped or not newer than\n"
		"the record).\n",
	[CMD_RETRY] =
		"Run the component's last failed or interrupted attempt (same action and\n"
		"version) now, ignoring backoff; an interrupted force rebuild whose tags moved\n"
		"off the record is finished. Exit 2 when nothing failed or the version is now\n"
		"held.\n"
		".PP\n"
		"A \\fBrun\\fR, \\fBretry\\fR or \\fBrebuild\\fR that meets an attempt in flight for\n"
		"the same component waits for it (saying so), reports its outcome, then starts\n"
		"its own only if work remains.\n",
	[CMD_REBUILD] =
		"Ship the recorded version (or \\fIV\\fR, not older than the record) again even\n"
		"though its image exists, and record the new digest in a commit with no file\n"
		"change. Floating tags follow. Allowed while pinned.\n",
	[CMD_RESET] =
		"Move the record back to an older \\fIVERSION\\fR. It records at once only when\n"
		"a past record commit of \\fIVERSION\\fR carries a digest that every version tag\n"
		"still reads back; otherwise it ships \\fIVERSION\\fR first (\\fB\\-\\-no\\-build\\fR:\n"
		"refuse, exit 1). Pins the component in the same commit unless\n"
		"\\fB\\-\\-no\\-pin\\fR.\n",
	[CMD_SKIP] =
		"Never build \\fIVERSION\\fR: commits the holds file; never touches the record.\n"
		"An attempt of that version still running records nothing (class \\fBheld\\fR).\n"
		"On a terminal, a \\fIVERSION\\fR the upstream did not list at its last check\n"
		"gets its own question (\\fIVERSION\\fR is not among the versions the upstream\n"
		"offers); without a terminal the skip is made, with a warning.\n",
	[CMD_UNSKIP] =
		"Undo a skip.\n",
	[CMD_PIN] =
		"Hold the component at its record: no candidate, no schedule, no recipe\n"
		"re\\-ship while pinned.\n",
	[CMD_UNPIN] =
		"Release a pin: the component has candidates and runs on its schedule again.\n",
	[CMD_VERIFY] =
		"For each record: every version tag reads back with one digest, equal to the\n"
		"last record commit's \\fBTally\\-Digest\\fR; every floating tag points at it;\n"
		"the record line in the working tree equals the committed one. A record not\n"
		"made by tally is a warning (a problem with \\fB\\-\\-strict\\fR). Exit 4 on a\n"
		"mismatch, 1 when the registry cannot be reached.\n",
	[CMD_ADOPT] =
		"For a record made before tally (no record commit of its version carries\n"
		"trailers): read every version tag back from the registry and, when they all\n"
		"give one digest, commit that evidence (\\fBTally\\-Action: adopt\\fR, images,\n"
		"digest, recipe fingerprint) with no file change, so \\fBverify \\-\\-strict\\fR\n"
		"passes and \\fBreset\\fR can return to the version. Never moves a record,\n"
		"never builds. A tag missing or disagreeing writes nothing for that component\n"
		"and exits 1; a record that already has evidence is reported and left.\n",
	[CMD_INIT] =
		"Print a starter \\fItally.conf\\fR for the repository: one component per key\n"
		"of the \\fBkey=value\\fR version files, recipes from the Dockerfiles and\n"
		"Containerfiles that mention the key, \\fBrecordAlso\\fR lines for \\fI.env\\fR\n"
		"values that contain a recorded version, and upstreams guessed from the CI\n"
		"workflows (marked \\fB# check this\\fR). \\fB\\-\\-write\\fR writes it (never\n"
		"over an existing \\fItally.conf\\fR) and commits nothing. Needs no engine.\n",
	[CMD_HELP] =
		"Help for one command (also \\fBtally\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR, from the\n"
		"command table), or the \\fItally.conf\\fR reference (every key, its default,\n"
		"and the template variables; also \\fB\\-\\-help\\-config\\fR); \\fB\\-\\-man\\fR prints\n"
		"it as the \\fBtally.conf\\fR(5) page. A mistyped command or component gets\n"
		"\"did you mean\" and exit 2.\n",
	[CMD_HISTORY] =
		"Record and hold commits from the git log, with their trailers (\\fB\\-v\\fR shows\n"
		"images, attempt, recipe fingerprint, the base images the record was built on\n"
		"(\\fBTally-Base\\fR) and why it was made (\\fBTally-Cause\\fR)).\n",
	[CMD_ATTEMPTS] =
		"Recent attempts from the ledger: version, action, result, class.\n",
	[CMD_LOGS] =
		"Print an attempt's full log (the latest by default); \\fB\\-\\-follow\\fR prints what\n"
		"is appended to it until the attempt ends.\n",
	[CMD_PAUSE] =
		"Stop the schedule; a pause lasts across engine restarts.\n",
	[CMD_RESUME] =
		"Restart the schedule.\n",
	[CMD_SERVE] =
		"Run the engine and the schedule with no screen (for systemd; see\n"
		"\\fIdist/tally@.service\\fR). Holds the repo's lock, listens on the engine\n"
		"socket, logs one line per event to stderr with \\fB<N>\\fR priority prefixes.\n"
		"SIGTERM stops scheduling, lets running attempts finish for\n"
		"\\fB$TALLY_STOP_GRACE\\fR seconds (default 30), then cancels them; SIGINT\n"
		"cancels at once. A second \\fBserve\\fR on the same repo exits 3.\n",
	[CMD_STOP] =
		"End the running engine (after running attempts, or cancelling them).\n",
	[CMD_HEALTH] =
		"For monitoring, with no network: exit 0 when an engine runs this repo's\n"
		"schedule (\\fBtally serve\\fR), it is not paused, no scheduled run of an\n"
		"unpinned component fell due more than an hour ago without running, and no\n"
		"upstream is rate\\-limited; else exit 1 and print the reason (no engine, an\n"
		"engine of a batch command, paused since when, which run was missed, rate\n"
		"limited until when). Never starts an engine. \\fIdist/tally\\-health@.timer\\fR\n"
		"runs it every 15 minutes and leaves a failed unit for the host's monitoring.\n",
	[CMD_COMPLETION] =
		"Print a shell completion script: commands, each command's options, and the\n"
		"component names of \\fItally.conf\\fR (read when completing, through the hidden\n"
		"\\fBtally __components\\fR; no engine, no network). Install with\n"
		"\\fBtally completion bash > /etc/bash_completion.d/tally\\fR or\n"
		"\\fBtally completion zsh > \"${fpath[1]}/_tally\"\\fR.\n",
};

/* One usage word in troff: NAMES in italics, --options and literal words
 * in bold, "-" escaped. */
static void man_word(FILE *f, const char *w, size_t n)
{
	int upper = 1;
	for (size_t i = 0; i < n; i++)
		upper &= w[i] >= 'A' && w[i] <= 'Z';
	fputs(upper ? "\\fI" : "\\fB", f);
	for (size_t i = 0; i < n; i++) {
		if (w[i] == '-')
			fputc('\\', f);
		fputc(w[i], f);
	}
	fputs("\\fR", f);
}

void command_print_man(FILE *f)
{
	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; i < CMD_COUNT; i++) {
		const struct command *c = &command_table[i];
		if (c->flags & CF_INTERNAL)
			continue;
		const char *rest = c->usage + strlen(c->name);
		if (!*rest) {
			fprintf(f, ".TP\n.B %s\n", c->name);
		} else {
			fprintf(f, ".TP\n.BR %s \"", c->name);
			for (const char *p = rest; *p;) {
				size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-");
				if (n) {
					man_word(f, p, n);
					p += n;
				} else {
					fputc(*p++, f);
				}
			}
			fputs("\"\n", f);
		}
		fputs(command_man[i] ? command_man[i] : "", f);
	}
	fputs(".TP\n"
	      ".B watch\n"
	      "Attach read\\-only to the running engine (same as \\fB\\-\\-readonly\\fR); never\n"
	      "starts one.\n"
	      ".PP\n"
	      "While an engine runs (\\fBtally serve\\fR, or one started by the console),\n"
	      "every batch command is handed to it over its socket and prints only its own\n"
	      "events; with none running, the command runs an engine in\\-process for its\n"
	      "own duration.\n", f);
}

#ifdef COMMAND_MAN_MAIN
int main(void)
{
	command_print_man(stdout);
	return 0;
}
#endif
