/* main.c - command line: options, the command table, and batch mode
 * (--no-tui), which drives the engine only through its messages. */
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"
#include "engine.h"
#include "repo.h"
#include "statedir.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_BUSY = 3, EXIT_MISMATCH = 4 };

struct opts {
	const char *dir, *config, *state_dir, *theme;
	int no_tui, json, readonly, no_color, ascii, yes, quiet, verbose;
	int dry_run, no_push, follow, all, no_build, no_pin, strict, now;
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
	{"retry", "retry COMP", "run the last failed attempt again now, ignoring backoff", 1, 1, 0},
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
	{"history", "history [COMP] [--limit N]", "record and hold commits with their trailers", 0, 1, F_LIMIT},
	{"attempts", "attempts [COMP] [--limit N]", "recent attempts from the ledger", 0, 1, F_LIMIT},
	{"logs", "logs COMP [--attempt ID]", "print an attempt's log (the last one by default)", 1, 1,
	 F_ATTEMPT | F_FOLLOW},
	{"serve", "serve", "run the engine and the schedule with no screen (for systemd)", 0, 0, 0},
	{"stop", "stop [--now]", "end the running engine (after running attempts, or cancelling them)", 0, 0,
	 F_NOW},
	{"pause", "pause", "stop the schedule (lasts across engine restarts)", 0, 0, 0},
	{"resume", "resume", "restart the schedule", 0, 0, 0},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: tally [OPTIONS] [COMMAND [ARGS...]]\n\n"
		   "tally ships container images and records a version only after its image was\n"
		   "built, pushed and read back from the registry.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-52s %s\n", commands[i].usage, commands[i].help);
	fprintf(f, "\noptions (before or after the command):\n"
		   "  -C DIR            versions repo (default: $TALLY_REPO, else the current directory)\n"
		   "  --config FILE     pipeline definition (default: tally.conf in the repo)\n"
		   "  --state-dir DIR   logs, ledger, caches (default: $TALLY_STATE_DIR or tally.stateDir)\n"
		   "  --no-tui          batch mode (chosen too when stdout is not a terminal)\n"
		   "  --json            JSON Lines on stdout (schema 1), the last line is the summary\n"
		   "  -y, --yes         do not ask for confirmation\n"
		   "  -q, -v            less, more output\n"
		   "  --help, --version\n"
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
			usage(stdout);
			exit(EXIT_OK);
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
	printf("%-16s %-18s %-18s %-18s %-10s %s\n", "COMPONENT", "RECORDED", "UPSTREAM", "BUILT", "STATE",
	       "LAST");
}

static void print_plain(const struct opts *o, json_t *ev, int *header)
{
	const char *event = s_or(ev, "event", "");
	if (strcmp(event, "status") == 0 || strcmp(event, "check") == 0) {
		if (!*header) {
			print_status_header();
			*header = 1;
		}
		printf("%-16s %-18s %-18s %-18s %-10s %s\n", s_or(ev, "component", "?"),
		       s_or(ev, "recorded", "-"), s_or(ev, "upstream", "-"), s_or(ev, "built", "-"),
		       s_or(ev, "state", "?"), s_or(ev, "last_result", "-"));
		if (json_is_string(json_object_get(ev, "message")))
			printf("  %s: %s\n", s_or(ev, "class", "error"), s_or(ev, "message", ""));
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
			}
		} else if (strcmp(event, "hold") == 0) {
			printf("%s %s %s: committed in %.12s\n", s_or(ev, "action", "?"), s_or(ev, "component", "?"),
			       s_or(ev, "version", "?"), s_or(ev, "commit", ""));
		} else {
			const char *prev = s_or(ev, "previous", NULL);
			printf("%s %s: recorded in %.12s", s_or(ev, "component", "?"), s_or(ev, "version", "?"),
			       s_or(ev, "commit", ""));
			if (prev)
				printf(" (was %s)", prev);
			printf("\n");
		}
	} else if (strcmp(event, "error") == 0) {
		const char *comp = s_or(ev, "component", NULL);
		if (o->quiet && json_is_true(json_object_get(ev, "warning")))
			return;
		fprintf(stderr, "tally: %s%s%s\n", comp ? comp : "", comp ? ": " : "", s_or(ev, "message", ""));
	} else if (strcmp(event, "summary") == 0) {
		static const char *const quiet_summary[] = {"status", "history", "logs", "attempts",
							    "pause", "resume", "skip", "unskip", "pin", "unpin"};
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
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Opens and starts the engine; on failure prints why and returns the exit
 * status (with *out NULL). */
static int open_engine(const struct opts *o, struct engine **out, int serve)
{
	struct engine_opts eo = {.dir = o->dir, .config_path = o->config, .state_dir = o->state_dir};
	struct engine *e = NULL;
	struct tally_err err = {0};
	int busy = 0;
	*out = NULL;
	if (engine_open(&eo, &e, &busy, &err) < 0) {
		if (o->json) {
			json_t *ev = json_pack("{s:i, s:s, s:o, s:s, s:s}", "schema", 1, "event", "error",
					       "component", json_null(), "class", busy ? "busy" : "input",
					       "message", err.msg);
			char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
			json_decref(ev);
			printf("{\"schema\":1,\"event\":\"summary\",\"ok\":0,\"failed\":0,\"exit\":%d}\n",
			       busy ? EXIT_BUSY : EXIT_USAGE);
		}
		fprintf(stderr, "tally: %s\n", err.msg);
		return busy ? EXIT_BUSY : EXIT_USAGE;
	}
	const struct strv *w = engine_warnings(e);
	for (size_t i = 0; i < w->n; i++)
		fprintf(stderr, "tally: warning: %s\n", w->v[i]);
	if (serve)
		engine_serve(e);
	if (engine_start(e) < 0) {
		fprintf(stderr, "tally: cannot start the engine thread\n");
		engine_free(e);
		return EXIT_FAIL;
	}
	*out = e;
	return EXIT_OK;
}

static int run_console(struct opts *o)
{
	struct engine *e = NULL;
	int rc = open_engine(o, &e, 0);
	if (!e)
		return rc;
	const char *theme = o->theme ? o->theme : getenv("TALLY_THEME");
	if (!theme || !*theme)
		theme = engine_conf(e)->theme;
	const char *nc = getenv("NO_COLOR");
	struct console_opts co = {
		.theme = theme, .readonly = o->readonly, .no_color = o->no_color || (nc && *nc),
		.ascii = o->ascii,
	};
	rc = console_main(e, &co);
	engine_free(e);
	return rc;
}

static int run_batch(struct opts *o, const struct command *c)
{
	struct engine *e = NULL;
	int rc = open_engine(o, &e, 0);
	if (!e)
		return rc;
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
	engine_submit(e, cmd);

	int code = EXIT_FAIL, header = 0, cancelled = 0;
	for (;;) {
		json_t *ev = engine_next_event(e, 200);
		if (interrupted && !cancelled) {
			fprintf(stderr, "tally: interrupted; cancelling (nothing is recorded by a cancelled attempt)\n");
			engine_cancel(e);
			cancelled = 1;
		}
		if (!ev)
			continue;
		const char *event = s_or(ev, "event", "");
		if (strcmp(event, "done") == 0) {
			code = (int)json_integer_value(json_object_get(ev, "exit"));
			json_decref(ev);
			break;
		}
		if (strcmp(event, "logfile") == 0) {
			if (cat_file(s_or(ev, "path", "")) < 0)
				code = EXIT_FAIL;
		} else if (strcmp(event, "log") == 0) {
			/* live output is in the log file; batch mode shows it with -v */
			if (o->verbose && !o->json)
				fputs(s_or(ev, "data", ""), stdout);
		} else if (o->json) {
			char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
		} else {
			print_plain(o, ev, &header);
		}
		json_decref(ev);
	}
	fflush(stdout);
	engine_free(e);
	if (cancelled && code == EXIT_OK)
		code = EXIT_FAIL;
	return code;
}


/* serve: one line per event on stderr, with sd-daemon priority prefixes
 * and key=value fields, so journald and grep both read it. */
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
	sbuf_addf(&sb, "<%d>%s", prio, event);
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

static int run_serve(struct opts *o)
{
	struct engine *e = NULL;
	int rc = open_engine(o, &e, 1);
	if (!e)
		return rc;
	struct sigaction sa = {0};
	sa.sa_handler = on_stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	fprintf(stderr, "<6>serve pid=%ld\n", (long)getpid());
	while (!interrupted) {
		json_t *ev = engine_next_event(e, 500);
		if (ev) {
			journal_line(ev);
			json_decref(ev);
		}
	}
	const char *g = getenv("TALLY_STOP_GRACE");
	double grace = stop_now ? 0 : (g && *g ? atof(g) : 30);
	fprintf(stderr, "<5>stopping grace=%g (no new attempts; running ones %s)\n", grace,
		grace > 0 ? "may finish, then are cancelled" : "are cancelled");
	int cancelled = engine_shutdown(e, grace);
	json_t *ev;
	while ((ev = engine_next_event(e, 0))) {
		journal_line(ev);
		json_decref(ev);
	}
	fprintf(stderr, "<6>stopped%s\n", cancelled ? " cancelled=true" : "");
	engine_free(e);
	return EXIT_OK;
}

/* stop: signal the engine that holds the repo's lock and wait for it. */
static int run_stop(struct opts *o)
{
	git_repository *repo = NULL;
	struct tally_err err = {0};
	const char *dir = o->dir ? o->dir : getenv("TALLY_REPO");
	if (repo_open(dir && *dir ? dir : ".", &repo, &err) < 0) {
		fprintf(stderr, "tally: %s\n", err.msg);
		return EXIT_USAGE;
	}
	char *git_dir = xstrdup(git_repository_path(repo));
	git_repository_free(repo);
	struct tally_lock *lk = NULL;
	int busy = 0;
	if (statedir_lock(git_dir, NULL, &lk, &busy, &err) == 0) {
		statedir_unlock(lk);
		free(git_dir);
		if (!o->quiet)
			printf("no engine is running\n");
		return EXIT_OK;
	}
	long pid = 0;
	char *sock = NULL;
	statedir_lock_info(git_dir, &pid, &sock);
	free(sock);
	if (!busy || pid <= 1 || kill((pid_t)pid, o->now ? SIGINT : SIGTERM) < 0) {
		fprintf(stderr, "tally: cannot signal the engine (pid %ld): %s\n", pid,
			busy ? strerror(errno) : err.msg);
		free(git_dir);
		return EXIT_FAIL;
	}
	/* it releases the lock when it is done */
	for (int i = 0; i < 36000; i++) {
		if (statedir_lock(git_dir, NULL, &lk, &busy, NULL) == 0) {
			statedir_unlock(lk);
			free(git_dir);
			if (!o->quiet)
				printf("engine %ld stopped\n", pid);
			return EXIT_OK;
		}
		usleep(100000);
	}
	free(git_dir);
	fprintf(stderr, "tally: engine %ld did not stop\n", pid);
	return EXIT_FAIL;
}

int main(int argc, char **argv)
{
	struct opts o = {0};
	if (parse_args(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (o.command && strcmp(o.command, "watch") == 0) {
		o.readonly = 1;
		o.command = NULL;
	}
	if (!o.command) {
		if (!o.no_tui && isatty(STDOUT_FILENO) && isatty(STDIN_FILENO))
			return run_console(&o);
		if (o.readonly) {
			fprintf(stderr, "tally: watch needs a terminal\n");
			return EXIT_USAGE;
		}
		o.command = "status";
	}
	const struct command *c = find_command(o.command);
	if (!c) {
		fprintf(stderr, "tally: unknown command '%s'\ntry 'tally --help'\n", o.command);
		return EXIT_USAGE;
	}
	if (check_command_args(&o, c) < 0)
		return EXIT_USAGE;
	if ((c->flags & F_CONFIRM) && !o.yes && !o.dry_run && isatty(STDIN_FILENO) && !o.json) {
		fprintf(stderr, "tally %s", c->name);
		for (size_t i = 0; i < o.args.n; i++)
			fprintf(stderr, " %s", o.args.v[i]);
		fprintf(stderr, ": the record stays where it is until the image is built, pushed and read back"
				" (try --dry-run for the plan). Proceed? [y/N] ");
		char line[16] = "";
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
			fprintf(stderr, "tally: nothing done\n");
			return EXIT_OK;
		}
	}
	int rc;
	if (strcmp(c->name, "serve") == 0)
		rc = run_serve(&o);
	else if (strcmp(c->name, "stop") == 0)
		rc = run_stop(&o);
	else
		rc = run_batch(&o, c);
	strv_free(&o.args);
	return rc;
}
