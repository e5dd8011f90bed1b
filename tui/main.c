/* main.c - the command line: parse argv by the command table (cli.c) and
 * hand the command to its front end: the console (attach.c), batch mode
 * (batch.c), serve/stop/health (serve.c), or the commands that need no
 * engine (init, help, completion, __components). Single-threaded. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "confgen.h"
#include "config.h"
#include "confref.h"
#include "i18n.h"
#include "repo.h"

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
	if (!OPT_GIVEN(o, OPT_WRITE)) {
		fwrite(sbuf_str(&conf), 1, conf.len, stdout);
		goto out;
	}
	char *path = o->config ? xstrdup(o->config) : xasprintf("%s/tally.conf", loc.root);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			fprintf(stderr, _("tally: %s exists; init never overwrites it (tally init prints the "
					  "starter without --write)\n"),
				path);
		else
			fprintf(stderr, _("tally: cannot create %s: %s\n"), path, strerror(errno));
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
			fprintf(stderr, _("tally: cannot write %s: %s\n"), path, strerror(errno));
			unlink(path);
			rc = EXIT_FAIL;
		} else if (!o->quiet) {
			printf(_("wrote %s (not committed): check the lines marked \"check this\", then commit it\n"),
			       path);
		}
	}
	free(path);
out:
	sbuf_free(&conf);
	engine_location_free(&loc);
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
	char msg[512];
	int prc = cli_parse(argc, argv, o, msg, sizeof msg);
	if (prc > 0) {
		printf("tally %s\n", TALLY_VERSION);
		return EXIT_OK;
	}
	if (prc < 0) {
		fprintf(stderr, _("tally: %s\ntry 'tally --help'\n"), msg);
		return EXIT_USAGE;
	}
	if (o->help && (!o->command || strcmp(o->command, "watch") == 0)) {
		cli_usage(stdout);
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
			fputs(_("tally: watch needs a terminal\n"), stderr);
			return EXIT_USAGE;
		}
		o->command = "status";
	}
	const struct command *c = command_find_cli(o->command);
	if (!c) {
		const char *near = command_suggest(o->command);
		if (near)
			fprintf(stderr, _("tally: unknown command '%s'; did you mean '%s'?\ntry 'tally --help'\n"),
				o->command, near);
		else
			fprintf(stderr, _("tally: unknown command '%s'\ntry 'tally --help'\n"), o->command);
		return EXIT_USAGE;
	}
	if (o->help) {
		/* tally CMD --help is tally help CMD */
		cli_command_help(stdout, c);
		return EXIT_OK;
	}
	if (command_check(c, &o->ca, msg, sizeof msg) < 0) {
		fprintf(stderr, "tally: %s\n", msg);
		return EXIT_USAGE;
	}
	if ((c->flags & CF_CONFIRMS) && !o->yes && !OPT_GIVEN(o, OPT_DRY_RUN) && isatty(STDIN_FILENO) && !o->json) {
		fprintf(stderr, "tally %s", c->name);
		for (size_t i = 0; i < o->ca.pos.n; i++)
			fprintf(stderr, " %s", o->ca.pos.v[i]);
		if (c->id == CMD_SKIP)
			fprintf(stderr, _(": %s; the record is not touched. Proceed? [y/N] "), c->help);
		else
			fputs(_(": the record stays where it is until the image is built, pushed and read back"
				" (try --dry-run for the plan). Proceed? [y/N] "),
			      stderr);
		char line[16] = "";
		if (!fgets(line, sizeof line, stdin) || (line[0] != 'y' && line[0] != 'Y')) {
			fputs(_("tally: nothing done\n"), stderr);
			return EXIT_OK;
		}
	}
	switch (c->id) {
	case CMD_HELP:
		return cli_help(o);
	case CMD_COMPLETION:
		return cli_completion(o);
	case CMD_INIT:
		return run_init(o);
	case CMD_SERVE:
		return run_serve(o);
	case CMD_STOP:
		return run_stop(o);
	case CMD_HEALTH:
		return run_health(o, c);
	default:
		return run_batch(o, c);
	}
}

int main(int argc, char **argv)
{
	i18n_init();
	struct opts o = {0};
	int rc = tally_main(argc, argv, &o);
	strv_free(&o.ca.pos);
	return rc;
}
