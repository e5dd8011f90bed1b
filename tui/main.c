/* main.c - command line: options, the command table, and batch mode
 * (--no-tui), which drives the engine only through its messages. */
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#ifdef TALLY_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "completion.h"
#include "config.h"
#include "confref.h"
#include "console.h"
#include "confgen.h"
#include "engine.h"
#include "repo.h"
#include "server.h"
#include "statedir.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BUSY = 3, EXIT_MISMATCH = 4 };

struct opts {
	const char *dir, *config, *state_dir, *theme;
	int no_tui, json, readonly, no_color, ascii, yes, quiet, verbose;
	int dry_run, no_push, follow, all, no_build, no_pin, strict, now;
	int help_config, man, write, help;
	const char *reason;
	const char *version, *attempt;
	long limit;
	const char *command;
	struct strv args;
};

/* The command table: drives dispatch, argument checks and --help. */
#define F_DRYRUN 1u
#define F_NOPUSH 2u
#define F_VERSION 4u
#define F_ATTEMPT 8u
#define F_FOLLOW 16u
#define F_LIMIT 32u
#define F_ALL 64u
#define F_NOBUILD 128u
#define F_NOPIN 256u
#define F_REASON 512u
#define F_STRICT 1024u
#define F_POSVER 2048u   /* the last positional argument is VERSION */
#define F_CONFIRM 4096u  /* asks on a terminal unless -y */
#define F_NOW 8192u
#define F_MAN 16384u
#define F_WRITE 32768u
static const struct command {
	const char *name;
	const char *usage;
	const char *help;
	int min_args, max_args;    /* positional arguments; -1 = any */
	unsigned flags;            /* which command options it takes */
} commands[] = {
	{"status", "status", "one line per component: recorded, upstream, built, state; no network", 0, 0, 0},
	{"check", "check [COMP...]", "read upstreams; build nothing", 0, -1, 0},
	{"run", "run [COMP...] [--dry-run] [--no-push] [--version V]",
	 "ship every component that has a candidate (the scheduled job)", 0, -1,
	 F_DRYRUN | F_NOPUSH | F_VERSION},
	{"retry", "retry COMP", "run the last failed or interrupted attempt again now, ignoring backoff", 1, 1, 0},
	{"rebuild", "rebuild COMP...|--all [--version V]",
	 "ship the recorded version (or V) again and record the new digest", 0, -1,
	 F_ALL | F_VERSION | F_CONFIRM | F_DRYRUN},
	{"reset", "reset COMP VERSION [--no-build] [--no-pin]",
	 "move the record back to VERSION (shipping it first if the registry lost it)", 2, 2,
	 F_POSVER | F_NOBUILD | F_NOPIN | F_CONFIRM | F_REASON | F_DRYRUN},
	{"skip", "skip COMP VERSION [--reason TEXT]", "never build VERSION (commits the holds file)", 2, 2,
	 F_POSVER | F_REASON | F_CONFIRM},
	{"unskip", "unskip COMP VERSION", "undo a skip", 2, 2, F_POSVER},
	{"pin", "pin COMP [--reason TEXT]", "hold the component at its record", 1, 1, F_REASON},
	{"unpin", "unpin COMP", "release a pin", 1, 1, 0},
	{"verify", "verify [COMP...] [--strict]",
	 "check every record against the registry and the working tree (exit 4 on a mismatch)", 0, -1,
	 F_STRICT},
	{"adopt", "adopt COMP...|--all",
	 "give records made before tally their evidence (tags read back; no build)", 0, -1, F_ALL},
	{"history", "history [COMP] [--limit N]", "record and hold commits with their trailers", 0, 1, F_LIMIT},
	{"attempts", "attempts [COMP] [--limit N]", "recent attempts from the ledger", 0, 1, F_LIMIT},
	{"logs", "logs COMP [--attempt ID] [--follow]", "print an attempt's log (the last one by default)", 1, 1,
	 F_ATTEMPT | F_FOLLOW},
	{"init", "init [--write]",
	 "print a starter tally.conf guessed from this repo (--write: write it; commits nothing)", 0, 0,
	 F_WRITE},
	{"help", "help [COMMAND|config] [--man]",
	 "help for one command, or the tally.conf reference (--man: as troff)", 0, 1, F_MAN},
	{"serve", "serve", "run the engine and the schedule with no screen (for systemd)", 0, 0, 0},
	{"stop", "stop [--now]", "end the running engine (after running attempts, or cancelling them)", 0, 0,
	 F_NOW},
	{"pause", "pause", "stop the schedule (lasts across engine restarts)", 0, 0, 0},
	{"resume", "resume", "restart the schedule", 0, 0, 0},
	{"health", "health",
	 "for monitoring: exit 0 when an engine runs the schedule and its runs are on time; no network",
	 0, 0, 0},
	{"completion", "completion bash|zsh",
	 "print shell completion (commands, options, component names from tally.conf)", 1, 1, 0},
};

/* The options each flag stands for: option checks and completions. */
static const struct {
	unsigned flag;
	const char *opt;
} flag_opts[] = {
	{F_DRYRUN, "--dry-run"}, {F_NOPUSH, "--no-push"}, {F_VERSION, "--version"}, {F_ATTEMPT, "--attempt"},
	{F_FOLLOW, "--follow"}, {F_LIMIT, "--limit"}, {F_ALL, "--all"}, {F_NOBUILD, "--no-build"},
	{F_NOPIN, "--no-pin"}, {F_REASON, "--reason"}, {F_STRICT, "--strict"}, {F_NOW, "--now"},
	{F_MAN, "--man"}, {F_WRITE, "--write"},
};
static const char global_opts[] = "-C --config --state-dir --no-tui --json --readonly --theme --no-color "
				  "--ascii -y --yes -q -v --help --version --help-config";
static const char arg_opts[] = "--theme|--reason|--attempt|--limit|--version";

static void usage(FILE *f)
{
	fprintf(f, "usage: tally [OPTIONS] [COMMAND [ARGS...]]\n\n"
		   "tally ships container images and records a version only after its image was\n"
		   "built, pushed and read back from the registry.\n\n"
		   "  tally                 the operator console (starts 'tally serve' in the\n"
		   "                        background when no engine runs; needs a terminal)\n"
		   "  tally watch           the read-only console (same as --readonly)\n"
		   "\ncommands (batch; also chosen when stdout is not a terminal):\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
	{
		fprintf(f, "  %s\n", commands[i].usage);
		confref_wrap(f, 6, commands[i].help);
	}
	fprintf(f, "\noptions (before or after the command):\n"
		   "  -C DIR            versions repo (default: $TALLY_REPO, else the current dir)\n"
		   "  --config FILE     pipeline definition (default: tally.conf in the repo)\n"
		   "  --state-dir DIR   logs, ledger, caches ($TALLY_STATE_DIR, tally.stateDir)\n"
		   "  --no-tui          batch mode (chosen too when stdout is not a terminal)\n"
		   "  --json            JSON Lines on stdout (schema 1); the last line: summary\n"
		   "  --readonly        watch: no action runs\n"
		   "  --theme NAME, --no-color, --ascii   console looks\n"
		   "  -y, --yes         do not ask for confirmation\n"
		   "  -q, -v            less, more output\n"
		   "  --help, --version\n"
		   "  --help-config     the tally.conf reference (also: tally help config)\n"
		   "\nexit status: 0 success or nothing to do; 1 an attempt or a check failed;\n"
		   "2 usage, configuration or input error; 3 another engine controls this repo;\n"
		   "4 verify found a mismatch.\n");
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "tally: %s '%s'\ntry 'tally --help'\n", what, arg);
	return -1;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_ARG()                                                   \
	do {                                                         \
		if (!next)                                           \
			return die_usage("missing the argument of", a); \
		i++;                                                 \
	} while (0)
		if (strcmp(a, "--") == 0) {
			for (i++; i < argc; i++)
				strv_push(&o->args, argv[i]);
			break;
		} else if (strcmp(a, "-C") == 0) {
			NEED_ARG();
			o->dir = next;
		} else if (strcmp(a, "--config") == 0) {
			NEED_ARG();
			o->config = next;
		} else if (strcmp(a, "--state-dir") == 0) {
			NEED_ARG();
			o->state_dir = next;
		} else if (strcmp(a, "--theme") == 0) {
			NEED_ARG();
			o->theme = next;
		} else if (strcmp(a, "--no-tui") == 0) {
			o->no_tui = 1;
		} else if (strcmp(a, "--json") == 0) {
			o->json = 1;
		} else if (strcmp(a, "--readonly") == 0) {
			o->readonly = 1;
		} else if (strcmp(a, "--no-color") == 0) {
			o->no_color = 1;
		} else if (strcmp(a, "--ascii") == 0) {
			o->ascii = 1;
		} else if (strcmp(a, "-y") == 0 || strcmp(a, "--yes") == 0) {
			o->yes = 1;
		} else if (strcmp(a, "-q") == 0) {
			o->quiet = 1;
		} else if (strcmp(a, "-v") == 0) {
			o->verbose = 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;   /* tally CMD --help: that command's help */
		} else if (strcmp(a, "--help-config") == 0) {
			o->help_config = 1;
		} else if (strcmp(a, "--man") == 0) {
			o->man = 1;
		} else if (strcmp(a, "--write") == 0) {
			o->write = 1;
		} else if (strcmp(a, "--version") == 0) {
			/* after run or rebuild it is that command's option */
			if (o->command && (strcmp(o->command, "run") == 0 || strcmp(o->command, "rebuild") == 0)) {
				NEED_ARG();
				o->version = next;
			} else {
				printf("tally %s\n", TALLY_VERSION);
				exit(EXIT_OK);
			}
		} else if (strcmp(a, "--dry-run") == 0) {
			o->dry_run = 1;
		} else if (strcmp(a, "--no-push") == 0 || strcmp(a, "--build-only") == 0) {
			o->no_push = 1;
		} else if (strcmp(a, "--now") == 0) {
			o->now = 1;
		} else if (strcmp(a, "--all") == 0) {
			o->all = 1;
		} else if (strcmp(a, "--no-build") == 0) {
			o->no_build = 1;
		} else if (strcmp(a, "--no-pin") == 0) {
			o->no_pin = 1;
		} else if (strcmp(a, "--strict") == 0) {
			o->strict = 1;
		} else if (strcmp(a, "--reason") == 0) {
			NEED_ARG();
			o->reason = next;
		} else if (strcmp(a, "--follow") == 0) {
			o->follow = 1;
		} else if (strcmp(a, "--attempt") == 0) {
			NEED_ARG();
			o->attempt = next;
		} else if (strcmp(a, "--limit") == 0) {
			NEED_ARG();
			char *end;
			errno = 0;
			o->limit = strtol(next, &end, 10);
			if (*end || errno || o->limit < 1)
				return die_usage("--limit takes a positive number, not", next);
		} else if (a[0] == '-' && a[1]) {
			return die_usage("unknown option", a);
		} else if (!o->command) {
			o->command = a;
		} else {
			strv_push(&o->args, a);
		}
#undef NEED_ARG
	}
	return 0;
}

static int check_command_args(const struct opts *o, const struct command *c)
{
	if ((int)o->args.n < c->min_args || (c->max_args >= 0 && (int)o->args.n > c->max_args)) {
		fprintf(stderr, "tally: usage: tally %s\n", c->usage);
		return -1;
	}
	struct {
		int set;
		unsigned flag;
		const char *name;
	} checks[] = {
		{o->dry_run, F_DRYRUN, "--dry-run"}, {o->no_push, F_NOPUSH, "--no-push"},
		{o->version != NULL, F_VERSION, "--version"}, {o->attempt != NULL, F_ATTEMPT, "--attempt"},
		{o->follow, F_FOLLOW, "--follow"}, {o->limit > 0, F_LIMIT, "--limit"},
		{o->all, F_ALL, "--all"}, {o->no_build, F_NOBUILD, "--no-build"},
		{o->no_pin, F_NOPIN, "--no-pin"}, {o->reason != NULL, F_REASON, "--reason"},
		{o->strict, F_STRICT, "--strict"}, {o->now, F_NOW, "--now"},
		{o->man, F_MAN, "--man"}, {o->write, F_WRITE, "--write"},
	};
	for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
		if (checks[i].set && !(c->flags & checks[i].flag)) {
			fprintf(stderr, "tally: %s does not take %s\n", c->name, checks[i].name);
			return -1;
		}
	return 0;
}

/* ---- batch output -------------------------------------------------- */

static const char *s_or(json_t *o, const char *k, const char *dflt)
{
	const char *v = json_string_value(json_object_get(o, k));
	return v ? v : dflt;
}

static void print_status_header(void)
{
	printf("%-16s %-14s %-14s %-14s %-10s %-9s %s\n", "COMPONENT", "RECORDED", "UPSTREAM", "BUILT", "STATE",
	       "LAST", "NEXT RUN");
}

/* "2026-12-02T02:00:00Z" -> "12-02 02:00" (UTC) */
static const char *short_time(const char *iso, char *buf, size_t len)
{
	if (!iso || strlen(iso) < 16)
		return "-";
	snprintf(buf, len, "%.5s %.5s", iso + 5, iso + 11);
	return buf;
}

static void print_plain(const struct opts *o, json_t *ev, int *header)
{
	const char *event = s_or(ev, "event", "");
	if (strcmp(event, "status") == 0 || strcmp(event, "check") == 0) {
		if (!*header) {
			print_status_header();
			*header = 1;
		}
		char nb[32];
		printf("%-16s %-14s %-14s %-14s %-10s %-9s %s\n", s_or(ev, "component", "?"),
		       s_or(ev, "recorded", "-"), s_or(ev, "upstream", "-"), s_or(ev, "built", "-"),
		       s_or(ev, "state", "?"), s_or(ev, "last_result", "-"), short_time(s_or(ev, "next_run", NULL), nb, sizeof nb));
		size_t si;
		json_t *sv;
		json_array_foreach(json_object_get(ev, "skipped"), si, sv)
			printf("  skipped: %s\n", json_string_value(sv));
		json_t *pin = json_object_get(ev, "pin");
		if (json_is_object(pin))
			printf("  pinned at %s: %s (tally unpin %s)\n", s_or(pin, "version", "?"),
			       *s_or(pin, "reason", "") ? s_or(pin, "reason", "") : "no reason given", s_or(ev, "component", "?"));
		if (json_is_string(json_object_get(ev, "message")))
			printf("  %s: %s\n", s_or(ev, "class", "error"), s_or(ev, "message", ""));
		size_t bi;
		json_t *b;
		json_array_foreach(json_object_get(ev, "bases"), bi, b) {
			const char *d = s_or(b, "digest", NULL), *on = s_or(b, "built_on", NULL);
			printf("  base %s %.19s%s%.19s%s\n", s_or(b, "image", "?"), d ? d : "unknown",
			       !d ? " (unreadable: base state unknown)" : !on ? " (no record built on it yet)"
			       : strcmp(d, on) ? " (moved; the record was built on " : " (the record's)",
			       d && on && strcmp(d, on) ? on : "", d && on && strcmp(d, on) ? ")" : "");
		}
		if (json_array_size(json_object_get(ev, "platforms"))) {
			printf("  platforms");
			json_array_foreach(json_object_get(ev, "platforms"), bi, b)
				printf(" %s", json_string_value(b) ? json_string_value(b) : "?");
			printf("\n");
		}
		json_int_t aliases = json_integer_value(json_object_get(ev, "aliases"));
		if (o->verbose && aliases > 0)
			printf("  %lld alias%s without a digit (latest, ...) passed over\n",
			       (long long)aliases, aliases == 1 ? "" : "es");
		json_t *evd = json_object_get(ev, "evidence");
		if (json_is_object(evd) && json_is_string(json_object_get(evd, "line")))
			printf("  %s: %s\n", s_or(evd, "stage", "log"), s_or(evd, "line", ""));
	} else if (strcmp(event, "stage") == 0) {
		if (o->quiet)
			return;
		const char *res = s_or(ev, "result", "");
		if (strcmp(res, "started") == 0) {
			if (o->verbose)
				printf("%s %s: %s started\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
				       s_or(ev, "stage", "?"));
		} else {
			printf("%s %s: %s %s (%.1f s)\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "stage", "?"), res, json_number_value(json_object_get(ev, "seconds")));
		}
	} else if (strcmp(event, "attempt") == 0 && strcmp(o->command, "attempts") == 0) {
		if (!*header) {
			printf("%-36s %-12s %-8s %-9s %-16s %s\n", "ATTEMPT", "VERSION", "ACTION", "RESULT", "CLASS",
			       "ENDED");
			*header = 1;
		}
		printf("%-36s %-12s %-8s %-9s %-16s %s\n", s_or(ev, "attempt", "?"), s_or(ev, "version", "?"),
		       s_or(ev, "action", "?"), s_or(ev, "result", "?"), s_or(ev, "class", "-"),
		       s_or(ev, "ended", "-"));
	} else if (strcmp(event, "verify") == 0) {
		int good = json_is_true(json_object_get(ev, "ok"));
		printf("%s %s: %s\n", s_or(ev, "component", "?"), s_or(ev, "version", "(no record)"),
		       good ? "ok" : "PROBLEM");
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(ev, "problems"), i, x)
			printf("  problem: %s\n", json_string_value(x));
		json_array_foreach(json_object_get(ev, "warnings"), i, x)
			printf("  warning: %s\n", json_string_value(x));
	} else if (strcmp(event, "health") == 0) {
		if (json_is_true(json_object_get(ev, "ok"))) {
			printf("healthy: engine %lld runs the schedule; last run %s; next run %s\n",
			       (long long)json_integer_value(json_object_get(ev, "engine")),
			       s_or(ev, "last_run", "none yet"), s_or(ev, "next_run", "none"));
		} else {
			printf("unhealthy: %s\n", s_or(ev, "reason", "unknown"));
		}
	} else if (strcmp(event, "engine") == 0) {
		printf("schedule %s\n", json_is_true(json_object_get(ev, "paused")) ? "paused" : "running");
	} else if (strcmp(event, "shipped") == 0) {
		printf("%s %s %s %.12s\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
		       s_or(ev, "digest", ""), s_or(ev, "commit", ""));
	} else if (strcmp(event, "attempt") == 0) {
		const char *res = s_or(ev, "result", "?");
		if (strcmp(res, "planned") == 0) {
			printf("%s %s: would %s (%s)\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "action", "ship"), s_or(ev, "plan", ""));
			return;
		}
		printf("%s %s: %s", s_or(ev, "component", "?"), s_or(ev, "version", "?"), res);
		if (json_is_string(json_object_get(ev, "digest")))
			printf(" %s", s_or(ev, "digest", ""));
		printf("\n");
		if (json_is_string(json_object_get(ev, "class"))) {
			printf("  %s: %s\n  hint: %s\n", s_or(ev, "class", ""), s_or(ev, "message", ""),
			       s_or(ev, "hint", ""));
		}
		if (json_is_string(json_object_get(ev, "log")) && strcmp(res, "shipped") != 0)
			printf("  log: %s\n", s_or(ev, "log", ""));
	} else if (strcmp(event, "record") == 0 || strcmp(event, "hold") == 0) {
		const char *subject = s_or(ev, "subject", NULL);
		if (subject) {   /* history */
			printf("%s  %.12s  %s", s_or(ev, "time", ""), s_or(ev, "commit", ""), subject);
			if (json_is_string(json_object_get(ev, "digest")))
				printf("  %s", s_or(ev, "digest", ""));
			printf("\n");
			if (o->verbose) {
				size_t i;
				json_t *img;
				json_array_foreach(json_object_get(ev, "images"), i, img)
					printf("    image %s\n", json_string_value(img));
				printf("    attempt %s  recipe %s\n", s_or(ev, "attempt", "-"), s_or(ev, "recipe", "-"));
				json_array_foreach(json_object_get(ev, "bases"), i, img)
					printf("    base %s\n", json_string_value(img));
				if (json_is_string(json_object_get(ev, "cause")))
					printf("    cause %s\n", s_or(ev, "cause", ""));
			}
		} else if (strcmp(event, "hold") == 0) {
			printf("%s %s %s: committed in %.12s\n", s_or(ev, "action", "?"), s_or(ev, "component", "?"),
			       s_or(ev, "version", "?"), s_or(ev, "commit", ""));
		} else if (strcmp(s_or(ev, "action", ""), "adopt") == 0) {
			printf("%s %s: adopted in %.12s (%s)\n", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "commit", ""), s_or(ev, "digest", ""));
		} else {
			const char *prev = s_or(ev, "previous", NULL);
			printf("%s %s: recorded in %.12s", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "commit", ""));
			if (prev)
				printf(" (was %s)", prev);
			printf("\n");
		}
	} else if (strcmp(event, "note") == 0) {
		if (!o->quiet)
			printf("%s\n", s_or(ev, "message", ""));
	} else if (strcmp(event, "error") == 0) {
		const char *comp = s_or(ev, "component", NULL);
		if (o->quiet && json_is_true(json_object_get(ev, "warning")))
			return;
		fprintf(stderr, "tally: %s%s%s\n", comp ? comp : "", comp ? ": " : "", s_or(ev, "message", ""));
	} else if (strcmp(event, "summary") == 0) {
		static const char *const quiet_summary[] = {"status", "history", "logs", "attempts",
							    "pause", "resume", "skip", "unskip", "pin", "unpin",
							    "health"};
		int show = !o->quiet;
		for (size_t i = 0; i < sizeof quiet_summary / sizeof quiet_summary[0]; i++)
			if (strcmp(o->command, quiet_summary[i]) == 0)
				show = 0;
		if (show)
			printf("%lld ok, %lld failed\n", (long long)json_integer_value(json_object_get(ev, "ok")),
			       (long long)json_integer_value(json_object_get(ev, "failed")));
	}
}

static int cat_file(const char *path)
{
	struct sbuf sb = {0};
	struct tally_err err = {0};
	if (util_read_file(path, &sb, &err) < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		return -1;
	}
	fwrite(sbuf_str(&sb), 1, sb.len, stdout);
	sbuf_free(&sb);
	return 0;
}

static volatile sig_atomic_t interrupted;

/* logs --follow: print the log and what is appended to it until the
 * attempt's last line ("tally: attempt ID ended: ...") or Ctrl-C. */
static int follow_file(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "tally: %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[65536];
	while (!interrupted) {
		if (fgets(line, sizeof line, f)) {
			fputs(line, stdout);
			if (str_starts(line, "tally: attempt ") && strstr(line, " ended: "))
				break;
			continue;
		}
		fflush(stdout);
		clearerr(f);
		usleep(200000);
	}
	fclose(f);
	fflush(stdout);
	return 0;
}
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* A batch command that could not reach any engine: say so (also as JSON). */
static int batch_fail(const struct opts *o, int code, const char *msg)
{
	if (o->json) {
		json_t *ev = json_pack("{s:i, s:s, s:o, s:s, s:s}", "schema", 1, "event", "error", "component",
				       json_null(), "class", code == EXIT_BUSY ? "busy" : "input", "message", msg);
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(ev);
		printf("{\"schema\":1,\"event\":\"summary\",\"ok\":0,\"failed\":0,\"exit\":%d}\n", code);
	}
	fprintf(stderr, "tally: %s\n", msg);
	return code;
}

static struct engine_opts engine_opts_of(const struct opts *o)
{
	struct engine_opts eo = {.dir = o->dir, .config_path = o->config, .state_dir = o->state_dir};
	return eo;
}

/* Attaches to the engine the lock file names; NULL when none answers. */
static struct client *attach(const struct opts *o, int watch, struct tally_err *err)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine_location loc;
	struct client *c = NULL;
	if (engine_locate(&eo, &loc, err) < 0)
		return NULL;
	if (!loc.socket_path)
		tally_err_set(err, TC_NETWORK, "no engine is running for %s", loc.root);
	else
		client_connect(loc.socket_path, watch, &c, err);
	engine_location_free(&loc);
	return c;
}

/* Starts `tally serve` for this repo in the background, detached from the
 * terminal, logging to STATE/serve.log, and attaches to it. */
static struct client *start_engine(const struct opts *o, struct tally_err *err)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine_location loc;
	if (engine_locate(&eo, &loc, err) < 0)
		return NULL;
	/* where serve will log: found by opening the engine briefly is not an
	 * option (it takes the lock), so ask statedir the same way engine does */
	struct tally_conf *conf = NULL;
	char *conf_path = o->config ? xstrdup(o->config) : xasprintf("%s/tally.conf", loc.root);
	if (config_load(conf_path, &conf, err) < 0) {
		free(conf_path);
		engine_location_free(&loc);
		return NULL;
	}
	char *state = statedir_path(loc.root, o->state_dir, conf->state_dir);
	if (statedir_ensure(state, conf->group, err) < 0) {
		config_free(conf);
		free(state);
		free(conf_path);
		engine_location_free(&loc);
		return NULL;
	}
	config_free(conf);
	char *logpath = xasprintf("%s/serve.log", state);
	struct strv argv = {0};
	strv_push(&argv, "tally");
	strv_push(&argv, "-C");
	strv_push(&argv, loc.root);
	if (o->config) {
		strv_push(&argv, "--config");
		strv_push(&argv, conf_path);
	}
	if (o->state_dir) {
		strv_push(&argv, "--state-dir");
		strv_push(&argv, o->state_dir);
	}
	strv_push(&argv, "serve");
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int log = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (nul >= 0)
			dup2(nul, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		/* a second fork so the engine is not our child (no zombie) */
		if (fork() != 0)
			_exit(0);
		execv("/proc/self/exe", argv.v);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
	strv_free(&argv);
	struct client *c = NULL;
	for (int i = 0; i < 100 && !c; i++) {
		usleep(100000);
		struct tally_err e2 = {0};
		c = attach(o, 0, &e2);
		if (!c)
			*err = e2;
	}
	if (!c)
		tally_err_prefix(err, "started tally serve (log: %s) but could not attach", logpath);
	free(logpath);
	free(state);
	free(conf_path);
	engine_location_free(&loc);
	return c;
}

static struct client *reconnect(void *ctx, char **why)
{
	const struct opts *o = ctx;
	struct tally_err err = {0};
	struct client *c = attach(o, 0, &err);
	if (!c)
		c = start_engine(o, &err);
	if (!c)
		*why = xstrdup(err.msg);
	return c;
}

static struct compl_cmd *compl_table(struct strv *optv, size_t *np);

static int run_console(struct opts *o)
{
	struct tally_err err = {0};
	struct client *c = attach(o, o->readonly, &err);
	if (!c && o->readonly) {
		fprintf(stderr, "tally: %s (watch never starts one; run 'tally' or 'tally serve')\n", err.msg);
		return EXIT_FAIL;
	}
	if (!c)
		c = start_engine(o, &err);
	if (!c) {
		fprintf(stderr, "tally: %s\n", err.msg);
		return EXIT_FAIL;
	}
	const char *theme = o->theme ? o->theme : getenv("TALLY_THEME");
	const char *nc = getenv("NO_COLOR");
	struct console_opts co = {
		.theme = theme && *theme ? theme : NULL, .readonly = o->readonly,
		.no_color = o->no_color || (nc && *nc), .ascii = o->ascii,
		.repo_dir = o->dir ? o->dir : getenv("TALLY_REPO") ? getenv("TALLY_REPO") : ".",
		.reconnect = o->readonly ? NULL : reconnect, .reconnect_ctx = o,
	};
	struct strv optv = {0};
	co.cmds = compl_table(&optv, &co.ncmds);
	int rc = console_main(c, &co); /* it frees the client */
	free((void *)co.cmds);
	strv_free(&optv);
	return rc;
}

/* On a terminal, without -q or --json, the running stage shows one line
 * updated in place: component, version, stage, elapsed, last log line. */
static struct progress {
	int on, shown;
	char comp[64], version[64], stage[32], last[256];
	double started, drawn;
} prog;

static void progress_clear(void)
{
	if (prog.shown) {
		fputs("\r\033[K", stdout);
		prog.shown = 0;
	}
}

static void progress_draw(int force)
{
	if (!prog.on || !prog.stage[0])
		return;
	double now = util_monotonic();
	if (!force && now - prog.drawn < 0.1)
		return;
	prog.drawn = now;
	struct winsize ws;
	int cols = ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 80;
	char line[512];
	int n = snprintf(line, sizeof line, "%s %s: %s %lds%s%s", prog.comp, prog.version, prog.stage,
			 (long)(now - prog.started), prog.last[0] ? " | " : "", prog.last);
	if (n > cols - 1)
		n = cols - 1;
	/* cut on a character boundary */
	while (n > 0 && ((unsigned char)line[n] & 0xc0) == 0x80)
		n--;
	printf("\r\033[K%.*s", n, line);
	fflush(stdout);
	prog.shown = 1;
}

static void progress_log(const char *data)
{
	/* the last complete non-empty line, printable bytes only */
	const char *end = data + strlen(data), *p = end;
	while (p > data && (p[-1] == '\n' || p[-1] == '\r'))
		p--;
	const char *e2 = p;
	while (p > data && p[-1] != '\n' && p[-1] != '\r')
		p--;
	if (e2 == p)
		return;
	size_t k = 0;
	for (; p < e2 && k + 1 < sizeof prog.last; p++)
		if ((unsigned char)*p >= 32 && *p != 127)
			prog.last[k++] = *p;
	prog.last[k] = 0;
	progress_draw(0);
}

static int run_batch(struct opts *o, const struct command *c)
{
	/* written as each event happens, also into a pipe */
	setvbuf(stdout, NULL, _IOLBF, 0);
	prog.on = isatty(STDOUT_FILENO) && !o->quiet && !o->json && !o->verbose;
	struct engine *e = NULL;
	struct client *cl = NULL;
	struct server *srv = NULL;
	struct engine_opts eo = engine_opts_of(o);
	struct tally_err err = {0};
	int busy = 0;
	if (engine_open(&eo, &e, &busy, &err) == 0) {
		const struct strv *w = engine_warnings(e);
		for (size_t i = 0; i < w->n; i++)
			fprintf(stderr, "tally: warning: %s\n", w->v[i]);
		engine_set_live_logs(e, (o->verbose || prog.on) && !o->json);
		if (engine_start(e) < 0) {
			fprintf(stderr, "tally: cannot start the engine thread\n");
			engine_free(e);
			return EXIT_FAIL;
		}
		/* this engine listens on the socket like serve (SPEC section 8):
		 * a command or console started meanwhile is handed to it; this
		 * command is one of its clients */
		struct server_opts so = {.socket_path = engine_socket_path(e), .group = engine_conf(e)->group};
		struct tally_err serr = {0};
		signal(SIGPIPE, SIG_IGN);
		if (server_start(e, &so, &srv, &serr) == 0 &&
		    client_connect(engine_socket_path(e), 0, &cl, &serr) < 0) {
			fprintf(stderr, "tally: warning: %s; other commands cannot reach this one\n", serr.msg);
			server_free(srv);
			srv = NULL;
		} else if (!srv) {
			fprintf(stderr, "tally: warning: %s; other commands cannot reach this one\n", serr.msg);
		}
		if (!cl)
			cl = client_local(e);
	} else if (busy) {
		/* an engine runs: hand it the command */
		struct tally_err aerr = {0};
		cl = attach(o, 0, &aerr);
		if (!cl) {
			fprintf(stderr, "tally: %s\ntally: and it could not be reached: %s\n", err.msg, aerr.msg);
			return batch_fail(o, EXIT_BUSY, err.msg);
		}
	} else {
		return batch_fail(o, EXIT_USAGE, err.msg);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	json_t *cmd = json_pack("{s:s, s:i}", "cmd", c->name, "id", 1);
	json_t *names = json_array();
	size_t ncomp = o->args.n;
	if ((c->flags & F_POSVER) && ncomp) {
		ncomp--;
		json_object_set_new(cmd, "version", json_string(o->args.v[ncomp]));
	}
	for (size_t i = 0; i < ncomp; i++)
		json_array_append_new(names, json_string(o->args.v[i]));
	json_object_set_new(cmd, "components", names);
	if (o->all)
		json_object_set_new(cmd, "all", json_true());
	if (o->no_build)
		json_object_set_new(cmd, "no_build", json_true());
	if (o->no_pin)
		json_object_set_new(cmd, "no_pin", json_true());
	if (o->strict)
		json_object_set_new(cmd, "strict", json_true());
	if (o->reason)
		json_object_set_new(cmd, "reason", json_string(o->reason));
	if (o->dry_run)
		json_object_set_new(cmd, "dry_run", json_true());
	if (o->no_push)
		json_object_set_new(cmd, "no_push", json_true());
	if (o->version)
		json_object_set_new(cmd, "version", json_string(o->version));
	if (o->attempt)
		json_object_set_new(cmd, "attempt", json_string(o->attempt));
	if (o->limit)
		json_object_set_new(cmd, "limit", json_integer(o->limit));
#ifdef TALLY_TESTING
	/* tests judge health with a clock they set */
	if (strcmp(c->name, "health") == 0 && getenv("TALLY_NOW"))
		json_object_set_new(cmd, "now", json_integer(atoll(getenv("TALLY_NOW"))));
#endif
	long long job = client_submit(cl, cmd, &err);
	int code = EXIT_FAIL, header = 0, cancelled = 0;
	if (job < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		goto out;
	}
	for (;;) {
		json_t *ev = client_next_event(cl, 200);
		if (!ev)
			progress_draw(1);   /* the elapsed time moves on */
		if (interrupted && !cancelled) {
			if (e) {
				fprintf(stderr, "tally: interrupted; cancelling (nothing is recorded by a cancelled attempt)\n");
				engine_cancel(e);
			} else {
				/* attached: the engine carries on, as with a closed console */
				fprintf(stderr, "tally: detached; the engine carries on (see tally status)\n");
				json_decref(ev);
				break;
			}
			cancelled = 1;
		}
		if (!ev)
			continue;
		const char *event = s_or(ev, "event", "");
		if (strcmp(event, "disconnected") == 0) {
			fprintf(stderr, "tally: the engine went away before the command finished\n");
			json_decref(ev);
			break;
		}
		/* attached to a busy engine: only this command's events */
		json_t *evjob = json_object_get(ev, "job");
		if (client_is_remote(cl) && (!json_is_integer(evjob) || json_integer_value(evjob) != job)) {
			json_decref(ev);
			continue;
		}
		if (strcmp(event, "done") == 0) {
			code = (int)json_integer_value(json_object_get(ev, "exit"));
			json_decref(ev);
			break;
		}
		if (strcmp(event, "logfile") == 0) {
			if ((o->follow ? follow_file(s_or(ev, "path", "")) : cat_file(s_or(ev, "path", ""))) < 0)
				code = EXIT_FAIL;
		} else if (strcmp(event, "log") == 0 || strcmp(event, "accepted") == 0 ||
			   strcmp(event, "hello") == 0 || strcmp(event, "dropped") == 0) {
			/* live output is in the log file; batch mode shows it with -v,
			 * and its last line on the progress line */
			if (o->verbose && !o->json && strcmp(event, "log") == 0)
				fputs(s_or(ev, "data", ""), stdout);
			else if (prog.on && strcmp(event, "log") == 0)
				progress_log(s_or(ev, "data", ""));
		} else if (o->json) {
			char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
		} else {
			if (prog.on && strcmp(event, "stage") == 0) {
				progress_clear();
				if (strcmp(s_or(ev, "result", ""), "started") == 0) {
					snprintf(prog.comp, sizeof prog.comp, "%s", s_or(ev, "component", "?"));
					snprintf(prog.version, sizeof prog.version, "%s", s_or(ev, "version", "?"));
					snprintf(prog.stage, sizeof prog.stage, "%s", s_or(ev, "stage", "?"));
					prog.last[0] = 0;
					prog.started = util_monotonic();
					progress_draw(1);
					json_decref(ev);
					continue;
				}
				prog.stage[0] = 0;
			} else if (prog.shown) {
				progress_clear();
			}
			print_plain(o, ev, &header);
			progress_draw(1);
		}
		json_decref(ev);
	}
	progress_clear();
out:
	fflush(stdout);
	client_free(cl);
	if (srv) {
		/* commands other front ends handed to this engine finish first */
		while (engine_jobs(e) > 0 && !interrupted) {
			struct pollfd p = {.fd = server_stop_fd(srv), .events = POLLIN};
			if (poll(&p, 1, 100) > 0) {
				if (server_stop_now(srv))
					engine_cancel(e);
				break;
			}
		}
		if (interrupted)
			engine_cancel(e);
		engine_shutdown(e, 30);
		server_free(srv);   /* flushes the last events to attached clients */
	}
	engine_free(e);
	if (cancelled && code == EXIT_OK)
		code = EXIT_FAIL;
	return code;
}

/* serve: one line per event on stderr, with key=value fields, so journald
 * and grep both read it; the sd-daemon priority prefixes ("<6>") only when
 * stderr is the journal's stream ($JOURNAL_STREAM names its device and
 * inode), never on a terminal or in a file. */
static int journal_prefix = -1;

static const char *jp(int prio)
{
	static const char *const p[8] = {"<0>", "<1>", "<2>", "<3>", "<4>", "<5>", "<6>", "<7>"};
	if (journal_prefix < 0) {
		const char *js = getenv("JOURNAL_STREAM");
		unsigned long long dev = 0, ino = 0;
		struct stat st;
		journal_prefix = js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
				 (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
	}
	return journal_prefix && prio >= 0 && prio < 8 ? p[prio] : "";
}

static void sd_say(const char *what)
{
#ifdef TALLY_HAVE_SYSTEMD
	sd_notify(0, what);
#else
	(void)what;
#endif
}

static void journal_line(json_t *ev)
{
	const char *event = s_or(ev, "event", "?");
	if (!strcmp(event, "log") || !strcmp(event, "done"))
		return;
	const char *res = s_or(ev, "result", "");
	int prio = 6;
	if (!strcmp(event, "error"))
		prio = json_is_true(json_object_get(ev, "warning")) ? 4 : 3;
	else if (!strcmp(res, "failed"))
		prio = 3;
	else if (!strcmp(res, "cancelled"))
		prio = 4;
	struct sbuf sb = {0};
	sbuf_addf(&sb, "%s%s", jp(prio), event);
	const char *k;
	json_t *v;
	json_object_foreach(ev, k, v) {
		if (!strcmp(k, "schema") || !strcmp(k, "event") || json_is_null(v))
			continue;
		if (json_is_string(v)) {
			const char *str = json_string_value(v);
			int quote = strpbrk(str, " \t\"") != NULL || !*str;
			sbuf_addf(&sb, " %s=%s", k, quote ? "\"" : "");
			for (const char *p = str; *p; p++) {
				if (*p == '"' || *p == '\\')
					sbuf_addc(&sb, '\\');
				sbuf_addc(&sb, (*p == '\n' || *p == '\r') ? ' ' : *p);
			}
			if (quote)
				sbuf_addc(&sb, '"');
		} else if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
			char *d = json_dumps(v, JSON_ENCODE_ANY);
			sbuf_addf(&sb, " %s=%s", k, d);
			free(d);
		}
	}
	sbuf_addc(&sb, '\n');
	fputs(sb.buf, stderr);
	sbuf_free(&sb);
}

static volatile sig_atomic_t stop_now;
static void on_stop_signal(int sig)
{
	interrupted = 1;
	if (sig == SIGINT)
		stop_now = 1;
}

static void journal_cb(void *ctx, json_t *ev)
{
	(void)ctx;
	journal_line(ev);
}

static int run_serve(struct opts *o)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine *e = NULL;
	struct tally_err err = {0};
	int busy = 0;
	if (engine_open(&eo, &e, &busy, &err) < 0) {
		fprintf(stderr, "%stally: %s\n", jp(3), err.msg);
		return busy ? EXIT_BUSY : EXIT_USAGE;
	}
	const struct strv *w = engine_warnings(e);
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, "%swarning message=\"%s\"\n", jp(4), w->v[i]);
	/* signals reach this thread only: the engine and server block them */
	struct sigaction sa = {0};
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	engine_serve(e);
	if (engine_start(e) < 0) {
		fprintf(stderr, "%stally: cannot start the engine thread\n", jp(3));
		engine_free(e);
		return EXIT_FAIL;
	}
	struct server *srv = NULL;
	struct server_opts so = {
		.socket_path = engine_socket_path(e), .group = engine_conf(e)->group,
		.on_event = journal_cb,
	};
	if (server_start(e, &so, &srv, &err) < 0) {
		fprintf(stderr, "%stally: %s\n", jp(3), err.msg);
		engine_shutdown(e, 0);
		engine_free(e);
		return err.cls == TC_INPUT ? EXIT_USAGE : EXIT_FAIL;
	}
	fprintf(stderr, "%sserve pid=%ld socket=%s\n", jp(6), (long)getpid(), engine_socket_path(e));
	/* Type=notify: ready once the socket listens */
	sd_say("READY=1\nSTATUS=serving the schedule");
	while (!interrupted) {
		struct pollfd p = {.fd = server_stop_fd(srv), .events = POLLIN};
		if (poll(&p, 1, 500) > 0) {
			stop_now = server_stop_now(srv);
			break;
		}
	}
	const char *g = getenv("TALLY_STOP_GRACE");
	double grace = stop_now ? 0 : (g && *g ? atof(g) : 30);
	fprintf(stderr, "%sstopping grace=%g\n", jp(5), grace);
	sd_say("STOPPING=1\nSTATUS=stopping: running attempts finish or are cancelled");
	int cancelled = engine_shutdown(e, grace);
	server_free(srv);   /* flushes the last events to attached clients */
	fprintf(stderr, "%sstopped%s\n", jp(6), cancelled ? " cancelled=true" : "");
	engine_free(e);
	return EXIT_OK;
}

/* Where the repo's engine is (*loc, caller frees) and whether one holds
 * its lock now: 1 yes, 0 no, -1 the repo was not found (said on stderr). */
static int engine_running(const struct opts *o, struct engine_location *loc)
{
	struct engine_opts eo = engine_opts_of(o);
	struct tally_err err = {0};
	if (engine_locate(&eo, loc, &err) < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		return -1;
	}
	struct tally_lock *lk = NULL;
	int busy = 0;
	if (statedir_lock(loc->git_dir, NULL, &lk, &busy, NULL) == 0) {
		statedir_unlock(lk);
		return 0;
	}
	return 1;
}

/* health: only a running engine can be healthy, so none is started; with
 * one running, the command goes to it like any batch command. */
static int run_health(struct opts *o, const struct command *c)
{
	struct engine_location loc;
	struct tally_err err = {0};
	int running = engine_running(o, &loc);
	if (running < 0)
		return EXIT_USAGE;
	char *reason = NULL;
	if (running) {
		struct client *cl = attach(o, 1, &err);
		if (cl) {
			client_free(cl);
			engine_location_free(&loc);
			return run_batch(o, c);
		}
		reason = xasprintf("engine %ld holds %s but does not answer on its socket, so it is not "
				   "the schedule's engine ('tally serve'): %s", loc.pid, loc.root, err.msg);
	} else {
		reason = xasprintf("no engine runs %s; start it with 'tally serve'", loc.root);
	}
	engine_location_free(&loc);
	if (o->json) {
		json_t *ev = json_pack("{s:i, s:s, s:b, s:s, s:n, s:b, s:n, s:n}", "schema", 1, "event", "health",
				       "ok", 0, "reason", reason, "engine", "paused", 0, "last_run", "next_run");
		char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(ev);
		printf("{\"schema\":1,\"event\":\"summary\",\"ok\":0,\"failed\":1,\"exit\":1}\n");
	} else {
		printf("unhealthy: %s\n", reason);
	}
	free(reason);
	return EXIT_FAIL;
}

/* Is pid a live process (a zombie is not: its parent has yet to reap it)? */
static int process_alive(long pid)
{
	if (pid <= 1)
		return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return kill((pid_t)pid, 0) == 0;
	char buf[512];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *rp = strrchr(buf, ')');
	return !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
}

/* stop: ask the engine over its socket (or with a signal) and wait until it
 * lets go of the repo's lock and has exited. */
static int run_stop(struct opts *o)
{
	struct engine_location loc;
	struct tally_err err = {0};
	struct tally_lock *lk = NULL;
	int busy = 0;
	int running = engine_running(o, &loc);
	if (running < 0)
		return EXIT_USAGE;
	if (!running) {
		engine_location_free(&loc);
		if (!o->quiet)
			printf("no engine is running\n");
		return EXIT_OK;
	}
	struct client *c = NULL;
	int asked = 0;
	if (loc.socket_path && client_connect(loc.socket_path, 0, &c, &err) == 0) {
		json_t *cmd = json_pack("{s:s, s:b}", "cmd", "stop", "now", o->now);
		asked = client_submit(c, cmd, &err) >= 0;
		client_free(c);
	}
	if (!asked && (loc.pid <= 1 || kill((pid_t)loc.pid, o->now ? SIGINT : SIGTERM) < 0)) {
		fprintf(stderr, "tally: cannot reach the engine (pid %ld): %s\n", loc.pid, err.msg);
		engine_location_free(&loc);
		return EXIT_FAIL;
	}
	for (int i = 0; i < 36000; i++) {
		if (statedir_lock(loc.git_dir, NULL, &lk, &busy, NULL) == 0) {
			statedir_unlock(lk);
			/* the lock goes before the process: wait (bounded) for it
			 * to be gone too, so that "stopped" means stopped */
			for (int k = 0; k < 100 && process_alive(loc.pid); k++)
				usleep(100000);
			if (process_alive(loc.pid)) {
				fprintf(stderr, "tally: engine %ld released its lock but did not exit\n", loc.pid);
				engine_location_free(&loc);
				return EXIT_FAIL;
			}
			if (!o->quiet)
				printf("engine %ld stopped\n", loc.pid);
			engine_location_free(&loc);
			return EXIT_OK;
		}
		usleep(100000);
	}
	fprintf(stderr, "tally: engine %ld did not stop\n", loc.pid);
	engine_location_free(&loc);
	return EXIT_FAIL;
}

/* init [--write]: no engine, no lock, no commit. */
static int run_init(const struct opts *o)
{
	struct engine_opts eo = engine_opts_of(o);
	struct engine_location loc;
	struct tally_err err = {0};
	if (engine_locate(&eo, &loc, &err) < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		return EXIT_USAGE;
	}
	struct sbuf conf = {0};
	int rc = EXIT_OK;
	if (confgen_starter(loc.root, &conf, &err) < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		rc = err.cls == TC_INPUT ? EXIT_USAGE : EXIT_FAIL;
		goto out;
	}
	if (!o->write) {
		fwrite(sbuf_str(&conf), 1, conf.len, stdout);
		goto out;
	}
	char *path = o->config ? xstrdup(o->config) : xasprintf("%s/tally.conf", loc.root);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, "tally: %s exists; init never overwrites it (tally init prints the "
					"starter without --write)\n", path);
		else
			fprintf(stderr, "tally: cannot create %s: %s\n", path, strerror(errno));
		rc = EXIT_USAGE;
	} else {
		size_t off = 0;
		while (off < conf.len) {
			ssize_t n = write(fd, conf.buf + off, conf.len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			off += (size_t)n;
		}
		if (close(fd) < 0 || off < conf.len) {
			fprintf(stderr, "tally: cannot write %s: %s\n", path, strerror(errno));
			unlink(path);
			rc = EXIT_FAIL;
		} else if (!o->quiet) {
			printf("wrote %s (not committed): check the lines marked \"check this\", then commit it\n",
			       path);
		}
	}
	free(path);
out:
	sbuf_free(&conf);
	engine_location_free(&loc);
	return rc;
}

/* help [COMMAND|config] [--man] */
static int run_help(const struct opts *o)
{
	const char *what = o->args.n ? o->args.v[0] : NULL;
	if (what && strcmp(what, "config") == 0) {
		if (o->man)
			confref_man(stdout);
		else
			confref_text(stdout);
		return EXIT_OK;
	}
	if (o->man) {
		fprintf(stderr, "tally: --man goes with 'help config'\n");
		return EXIT_USAGE;
	}
	if (!what) {
		usage(stdout);
		return EXIT_OK;
	}
	const struct command *c = find_command(what);
	if (!c) {
		fprintf(stderr, "tally: no help for '%s' (try 'tally help' or 'tally help config')\n", what);
		return EXIT_USAGE;
	}
	printf("usage: tally %s\n", c->usage);
	confref_wrap(stdout, 2, c->help);
	return EXIT_OK;
}

/* The command table as the completions and the console's ':' line see it
 * (optv keeps the option strings). */
static struct compl_cmd *compl_table(struct strv *optv, size_t *np)
{
	size_t n = sizeof commands / sizeof commands[0];
	struct compl_cmd *cc = xcalloc(n, sizeof *cc);
	for (size_t i = 0; i < n; i++) {
		struct sbuf sb = {0};
		for (size_t k = 0; k < sizeof flag_opts / sizeof flag_opts[0]; k++)
			if (commands[i].flags & flag_opts[k].flag)
				sbuf_addf(&sb, "%s%s", sb.len ? " " : "", flag_opts[k].opt);
		strv_push(optv, sbuf_str(&sb));
		sbuf_free(&sb);
		const char *nm = commands[i].name;
		cc[i] = (struct compl_cmd){nm, commands[i].help, NULL,
					   commands[i].max_args != 0 && strcmp(nm, "help") && strcmp(nm, "completion") &&
						   strcmp(nm, "init"),
					   (commands[i].flags & F_POSVER) != 0};
	}
	for (size_t i = 0; i < n; i++)
		cc[i].opts = optv->v[i];
	*np = n;
	return cc;
}

/* tally completion bash|zsh, from the command table */
static int run_completion(const struct opts *o)
{
	const char *sh = o->args.v[0];
	struct strv optv = {0};
	size_t n;
	struct compl_cmd *cc = compl_table(&optv, &n);
	int rc = EXIT_OK;
	char pat[sizeof arg_opts];
	snprintf(pat, sizeof pat, "%s", arg_opts);
	for (char *p = pat; *p; p++)
		if (*p == '|')
			*p = ' ';
	if (strcmp(sh, "bash") == 0)
		completion_bash(stdout, cc, n, global_opts, pat);
	else if (strcmp(sh, "zsh") == 0)
		completion_zsh(stdout, cc, n, global_opts, pat);
	else {
		fprintf(stderr, "tally: completion knows bash and zsh, not '%s'\n", sh);
		rc = EXIT_USAGE;
	}
	strv_free(&optv);
	free(cc);
	return rc;
}

/* tally __components: the component names of tally.conf, one a line (for
 * the completions; no engine, no lock, no network) */
static int run_components(const struct opts *o)
{
	const char *dir = o->dir ? o->dir : getenv("TALLY_REPO");
	git_repository *repo = NULL;
	struct tally_err err = {0};
	struct tally_conf *conf = NULL;
	char *path = NULL;
	if (o->config)
		path = xstrdup(o->config);
	else if (repo_open(dir && *dir ? dir : ".", &repo, &err) == 0 && git_repository_workdir(repo))
		path = xasprintf("%s/tally.conf", git_repository_workdir(repo));
	git_repository_free(repo);
	if (!path || config_load(path, &conf, &err) < 0) {
		free(path);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < conf->ncomps; i++)
		printf("%s\n", conf->comps[i].name);
	config_free(conf);
	free(path);
	return EXIT_OK;
}

static int tally_main(int argc, char **argv, struct opts *o)
{
	if (parse_args(argc, argv, o) < 0)
		return EXIT_USAGE;
	if (o->help && (!o->command || strcmp(o->command, "watch") == 0)) {
		usage(stdout);
		return EXIT_OK;
	}
	if (o->help_config && !o->command) {
		confref_text(stdout);
		return EXIT_OK;
	}
	if (o->command && strcmp(o->command, "__components") == 0)
		return run_components(o);
	if (o->command && strcmp(o->command, "watch") == 0) {
		o->readonly = 1;
		o->command = NULL;
	}
	if (!o->command) {
		if (!o->no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
			return run_console(o);
		if (o->readonly) {
			fprintf(stderr, "tally: watch needs a terminal\n");
			return EXIT_USAGE;
		}
		o->command = "status";
	}
	const struct command *c = find_command(o->command);
	if (!c) {
		const char *near = NULL;
		int best = 3;
		for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
			int d = util_edit_distance(o->command, commands[i].name);
			if (d < best) {
				best = d;
				near = commands[i].name;
			}
		}
		if (near)
			fprintf(stderr, "tally: unknown command '%s'; did you mean '%s'?\ntry 'tally --help'\n", o->command,
				near);
		else
			fprintf(stderr, "tally: unknown command '%s'\ntry 'tally --help'\n", o->command);
		return EXIT_USAGE;
	}
	if (o->help) {
		/* tally CMD --help is tally help CMD */
		printf("usage: tally %s\n", c->usage);
		confref_wrap(stdout, 2, c->help);
		return EXIT_OK;
	}
	if (check_command_args(o, c) < 0)
		return EXIT_USAGE;
	if ((c->flags & F_CONFIRM) && !o->yes && !o->dry_run && isatty(STDIN_FILENO) && !o->json) {
		fprintf(stderr, "tally %s", c->name);
		for (size_t i = 0; i < o->args.n; i++)
			fprintf(stderr, " %s", o->args.v[i]);
		if (strcmp(c->name, "skip") == 0)
			fprintf(stderr, ": %s; the record is not touched. Proceed? [y/N] ", c->help);
		else
			fprintf(stderr, ": the record stays where it is until the image is built, pushed and read back"
					" (try --dry-run for the plan). Proceed? [y/N] ");
		char line[16] = "";
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
			fprintf(stderr, "tally: nothing done\n");
			return EXIT_OK;
		}
	}
	int rc;
	if (strcmp(c->name, "help") == 0)
		rc = run_help(o);
	else if (strcmp(c->name, "completion") == 0)
		rc = run_completion(o);
	else if (strcmp(c->name, "init") == 0)
		rc = run_init(o);
	else if (strcmp(c->name, "serve") == 0)
		rc = run_serve(o);
	else if (strcmp(c->name, "stop") == 0)
		rc = run_stop(o);
	else if (strcmp(c->name, "health") == 0)
		rc = run_health(o, c);
	else
		rc = run_batch(o, c);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	int rc = tally_main(argc, argv, &o);
	strv_free(&o.args);
	return rc;
}
