/* cmdline.c - the footer's line input: the ':' command line (any batch
 * command, checked against the command table and completed from it and
 * the component names), and the search and filter prompts. UI thread only. */
#include "ui.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"

/* ---- the ':' command line: any batch command, completed from the command
 * table and the component names ------------------------------------------ */

void kh_cmdline(struct console *c, const struct keydef *k)
{
	(void)k;
	if (!c->o->cmds) {
		ui_flash(c, 1, _("no command table here"));
		return;
	}
	c->prompt_kind = 4;
	c->prompt_len = 0;
	c->dirty |= D_FOOTER;
}

static const struct compl_cmd *cmd_named(struct console *c, const char *name)
{
	for (size_t i = 0; i < c->o->ncmds; i++)
		if (!strcmp(c->o->cmds[i].name, name))
			return &c->o->cmds[i];
	return NULL;
}

static void split_words(const char *s, struct strv *out)
{
	while (*s) {
		while (*s == ' ')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, " ");
		strv_push_owned(out, xstrndup(s, n));
		s += n;
	}
}

/* Tab: the current word completes to the longest common prefix of the
 * commands (first word), the command's options (-...) or the components. */
static void cmdline_complete(struct console *c)
{
	c->prompt_buf[c->prompt_len] = 0;
	const char *cur = strrchr(c->prompt_buf, ' ');
	cur = cur ? cur + 1 : c->prompt_buf;
	int first = cur == c->prompt_buf;
	struct strv words = {0}, cands = {0};
	split_words(c->prompt_buf, &words);
	const struct compl_cmd *cmd = words.n ? cmd_named(c, words.v[0]) : NULL;
	size_t cl = strlen(cur);
	if (first) {
		for (size_t i = 0; i < c->o->ncmds; i++)
			if (!strncmp(c->o->cmds[i].name, cur, cl))
				strv_push(&cands, c->o->cmds[i].name);
	} else if (*cur == '-' && cmd) {
		struct strv opts = {0};
		split_words(cmd->opts ? cmd->opts : "", &opts);
		for (size_t i = 0; i < opts.n; i++)
			if (!strncmp(opts.v[i], cur, cl))
				strv_push(&cands, opts.v[i]);
		strv_free(&opts);
	} else {
		for (size_t i = 0; i < c->nrows; i++)
			if (!strncmp(c->rows[i].name, cur, cl))
				strv_push(&cands, c->rows[i].name);
	}
	if (!cands.n) {
		ui_flash(c, 0, _("no completion for '%s'"), cur);
	} else {
		size_t common = strlen(cands.v[0]);
		for (size_t i = 1; i < cands.n; i++) {
			size_t k = 0;
			while (k < common && cands.v[i][k] == cands.v[0][k])
				k++;
			common = k;
		}
		size_t at = (size_t)(cur - c->prompt_buf);
		if (at + common + 2 < sizeof c->prompt_buf) {
			memcpy(c->prompt_buf + at, cands.v[0], common);
			c->prompt_len = at + common;
			if (cands.n == 1)
				c->prompt_buf[c->prompt_len++] = ' ';
			c->prompt_buf[c->prompt_len] = 0;
		}
		if (cands.n > 1) {
			struct sbuf sb = {0};
			for (size_t i = 0; i < cands.n; i++)
				sbuf_addf(&sb, "%s%s", i ? " " : "", cands.v[i]);
			ui_flash(c, 0, "%s", sbuf_str(&sb));
			sbuf_free(&sb);
		}
	}
	strv_free(&words);
	strv_free(&cands);
}

/* Enter: the words become the engine command, as the batch CLI makes it:
 * COMP... positionals, VERSION second for skip/reset/unskip, and for skip
 * and pin the rest of the line is the reason (":skip server v3.8.2 bad base"). */
static void cmdline_run(struct console *c, const char *line)
{
	struct strv w = {0};
	split_words(line, &w);
	if (!w.n)
		return;
	const struct command *cmd = command_find_cli(w.v[0]);
	if (!cmd) {
		ui_flash(c, 1, _("unknown command '%s' (Tab completes)"), w.v[0]);
		strv_free(&w);
		return;
	}
	if (cmd->flags & CF_FRONTEND) {
		ui_flash(c, 1, _("%s is not run from the console (tally %s in a shell)"), cmd->name, cmd->name);
		strv_free(&w);
		return;
	}
	int posver = (cmd->flags & CF_VERSION_ARG) != 0;
	json_t *j = json_object(), *names = json_array();
	struct sbuf reason = {0};
	int npos = 0, rest = (cmd->flags & CF_REASON_REST) != 0;
	for (size_t i = 1; i < w.n; i++) {
		const char *a = w.v[i];
		if (a[0] == '-' && !reason.len) {
			const struct cmd_option *op = command_option(a);
			if (!op || !op->key || !command_takes(cmd, op->id)) {
				ui_flash(c, 1, _("%s does not take %s"), cmd->name, a);
				goto out;
			}
			if (op->arg != OA_NONE && i + 1 >= w.n) {
				ui_flash(c, 1, _("%s needs an argument"), a);
				goto out;
			}
			if (op->arg == OA_COUNT)
				json_object_set_new(j, op->key, json_integer(atoll(w.v[++i])));
			else if (op->arg == OA_STRING)
				json_object_set_new(j, op->key, json_string(w.v[++i]));
			else
				json_object_set_new(j, op->key, json_true());
			continue;
		}
		int limit = posver ? 2 : -1;
		if (rest && npos >= (posver ? 2 : 1)) {
			sbuf_addf(&reason, "%s%s", reason.len ? " " : "", a);
			continue;
		}
		if (posver && npos == 1)
			json_object_set_new(j, "version", json_string(a));
		else if (limit < 0 || npos < limit)
			json_array_append_new(names, json_string(a));
		npos++;
	}
	if (reason.len)
		json_object_set_new(j, "reason", json_string(sbuf_str(&reason)));
	if (cmd->id == CMD_HISTORY || cmd->id == CMD_ATTEMPTS) {
		if (json_array_size(names)) {
			struct row *r = ui_find_row(c, json_string_value(json_array_get(names, 0)));
			if (r)
				c->sel = (int)(r - c->rows);
		}
		ui_set_view(c, cmd->id == CMD_HISTORY ? VIEW_HISTORY : VIEW_ATTEMPTS);
		goto out;
	}
	json_object_set(j, "components", names);
	json_object_set_new(j, "cmd", json_string(cmd->name));
	const char *first = json_string_value(json_array_get(names, 0));
	json_int_t id = ui_submit(c, RQ_ACTION, cmd->name, NULL, json_incref(j));
	if (id > 0) {
		/* ui_submit sets no components when comp is NULL: put them back */
		for (struct req *r = c->reqs; r; r = r->next)
			if (r->id == id) {
				free(r->comp);
				r->comp = xstrdup(first ? first : "");
			}
		ui_flash(c, 0, _(":%s sent"), line);
	}
out:
	json_decref(j);
	json_decref(names);
	sbuf_free(&reason);
	strv_free(&w);
}

/* ---- the footer prompt: search, filter, the command line ---------------- */

void ui_prompt_key(struct console *c, int ch)
{
	if (ch == 27) {
		c->prompt_kind = 0;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		int kind = c->prompt_kind;
		c->prompt_kind = 0;
		c->prompt_buf[c->prompt_len] = 0;
		if (kind == 1 && c->prompt_len) {
			snprintf(c->search, sizeof c->search, "%.120s", c->prompt_buf);
			c->match_line = -1;
			log_search(c, 1);
		} else if (kind == 4) {
			char line[sizeof c->prompt_buf];
			snprintf(line, sizeof line, "%s", c->prompt_buf);
			cmdline_run(c, line);
		} else if (kind == 3) {
			snprintf(c->filter, sizeof c->filter, "%.60s", c->prompt_buf);
			c->table_top = 0;
			if (c->filter[0])
				ui_flash(c, 0, _("filter: %s (/ then Enter with nothing clears it)"), c->filter);
		}
		c->dirty |= D_BODY;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		while (c->prompt_len && ((unsigned char)c->prompt_buf[c->prompt_len - 1] & 0xc0) == 0x80)
			c->prompt_len--;
		if (c->prompt_len)
			c->prompt_len--;
	} else if (ch == '\t' && c->prompt_kind == 4) {
		cmdline_complete(c);
	} else if (ch >= 32 && ch < 256 && ch != 127 && c->prompt_len + 1 < sizeof c->prompt_buf &&
		   (c->prompt_kind == 4 || c->prompt_len + 1 < sizeof c->search)) {
		c->prompt_buf[c->prompt_len++] = (char)ch;
	}
	c->dirty |= D_FOOTER;
}
