/* events.c - applying the engine's events to the console: the rows, the
 * results of requests (routed by job id; a dialog opens when its data has
 * arrived), the log pane's data, flashes. UI thread only. */
#include "ui.h"
#include "i18n.h"
#include "i18nmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"

/* ---- the log pane's data ---------------------------------------------- */

#define LOG_TAIL_BYTES (2u << 20)   /* read from a log file for the pane */

void ui_load_log_file(struct console *c, struct row *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(r->log_note);
		r->log_note = xasprintf(_("cannot open %s: %s"), path, strerror(errno));
		return;
	}
	if (!r->log)
		r->log = logbuf_new();
	logbuf_clear(r->log);
	struct stat st;
	off_t from = 0;
	if (fstat(fd, &st) == 0 && st.st_size > (off_t)LOG_TAIL_BYTES)
		from = st.st_size - (off_t)LOG_TAIL_BYTES;
	char *buf = xmalloc(64 * 1024);
	int skip_partial = from > 0;
	if (from && lseek(fd, from, SEEK_SET) < 0) {
		skip_partial = 0;
		from = 0;
	}
	/* where each line starts, by seq (for t) */
	free(r->loff);
	r->loff = NULL;
	size_t cap = 0;
	r->nloff = 0;
	long long seq0 = logbuf_end(r->log), pos = (long long)from;
	int at_start = !skip_partial;
	ssize_t n;
	while ((n = read(fd, buf, 64 * 1024)) > 0) {
		const char *p = buf;
		size_t len = (size_t)n;
		if (skip_partial) {
			const char *nl = memchr(p, '\n', len);
			if (!nl) {
				pos += n;
				continue;
			}
			pos += nl + 1 - p;
			len -= (size_t)(nl + 1 - p);
			p = nl + 1;
			skip_partial = 0;
			at_start = 1;
		}
		for (size_t i = 0; i < len && seq0 == 0; i++) {
			if (at_start) {
				if (r->nloff == cap) {
					cap = cap ? cap * 2 : 1024;
					r->loff = xrealloc(r->loff, cap * sizeof *r->loff);
				}
				r->loff[r->nloff++] = pos + (long long)i;
				at_start = 0;
			}
			if (p[i] == '\n')
				at_start = 1;
		}
		pos += (long long)len;
		logbuf_append(r->log, p, len);
	}
	free(buf);
	close(fd);
	/* the arrival times beside it */
	free(r->tend);
	free(r->tat);
	r->tend = NULL;
	r->tat = NULL;
	r->nt = 0;
	char *tp = xasprintf("%s.times", path);
	FILE *tf = fopen(tp, "re");
	free(tp);
	if (tf) {
		size_t tcap = 0;
		long long e;
		double t;
		while (fscanf(tf, "%lld %lf", &e, &t) == 2) {
			if (r->nt == tcap) {
				tcap = tcap ? tcap * 2 : 1024;
				r->tend = xrealloc(r->tend, tcap * sizeof *r->tend);
				r->tat = xrealloc(r->tat, tcap * sizeof *r->tat);
			}
			r->tend[r->nt] = e;
			r->tat[r->nt++] = t;
		}
		fclose(tf);
	}
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	free(r->attempt);
	r->attempt = xstrndup(base, strcspn(base, ".") < strlen(base) && str_ends(base, ".log")
					   ? strlen(base) - 4 : strlen(base));
	r->log_live = 0;
	free(r->log_note);
	r->log_note = NULL;
	c->follow = 1;
	c->match_line = -1;
	c->dirty |= D_BODY;
}

static void on_log(struct console *c, json_t *ev)
{
	struct row *r = ui_find_row(c, ui_s(ev, "component"));
	const char *att = ui_s(ev, "attempt");
	json_t *data = json_object_get(ev, "data");
	if (!r || !json_is_string(data))
		return;
	if (!r->log)
		r->log = logbuf_new();
	if (!r->log_live || !r->attempt || !att || strcmp(r->attempt, att) != 0) {
		logbuf_clear(r->log);
		free(r->loff);   /* live lines have no known file offsets */
		r->loff = NULL;
		r->nloff = 0;
		free(r->attempt);
		r->attempt = xstrdup(att);
		r->log_live = 1;
		free(r->log_note);
		r->log_note = NULL;
		if (r == ui_selected(c))
			c->match_line = -1;
	}
	logbuf_append(r->log, json_string_value(data), json_string_length(data));
	if (r == ui_selected(c))
		c->log_pending = 1;
}

/* versions from history events: ship/rebuild/reset records, newest first */
static void shipped_versions(json_t *acc, const char *current, struct strv *out)
{
	size_t i;
	json_t *ev;
	json_array_foreach(acc, i, ev) {
		const char *action = ui_s(ev, "action"), *v = ui_s(ev, "version"), *ev_name = ui_s(ev, "event");
		if (!v || (ev_name && strcmp(ev_name, "shipped") != 0 && strcmp(ev_name, "record") != 0))
			continue;
		if (action && strcmp(action, "ship") && strcmp(action, "rebuild") && strcmp(action, "reset"))
			continue;
		if (current && !strcmp(v, current))
			continue;
		if (strv_contains(out, v))
			continue;
		strv_push(out, v);
	}
}

static void on_done(struct console *c, json_t *ev)
{
	/* over the socket the engine's job id answers; in process, the id */
	json_t *jid = json_object_get(ev, "job");
	json_int_t id = json_integer_value(jid ? jid : json_object_get(ev, "id"));
	int code = (int)json_integer_value(json_object_get(ev, "exit"));
	struct req *r = ui_req_take(c, id);
	if (!r)
		return;
	switch (r->kind) {
	case RQ_STATUS:
		break;
	case RQ_CHECK:
	case RQ_ACTION:
		if (!r->errors)
			ui_flash(c, code != 0, "%s %s: %s", r->cmd, r->comp ? r->comp : "",
				 code == 0 ? _("done") : code == 4 ? _("mismatch found") : i18n_word("failed"));
		if (!strcmp(r->cmd, "pause") && code == 0)
			c->paused = 1;
		if (!strcmp(r->cmd, "resume") && code == 0)
			c->paused = 0;
		c->dirty |= D_HEADER;
		break;
	case RQ_HISTORY:
		json_decref(c->history);
		c->history = json_incref(r->acc);
		c->dirty |= D_BODY;
		break;
	case RQ_ATTEMPTS:
		json_decref(c->attempts);
		c->attempts = json_incref(r->acc);
		c->dirty |= D_BODY;
		break;
	case RQ_LOGS:
		break;
	case RQ_SHIPPED:
		if (r->errors) {
			/* until the engine has "shipped": the record commits say it */
			ui_submit(c, RQ_RESET_HISTORY, "history", r->comp, NULL);
			break;
		}
		/* fall through */
	case RQ_RESET_HISTORY: {
		struct row *row = ui_find_row(c, r->comp);
		struct strv vs = {0};
		shipped_versions(r->acc, row ? ui_s(row->st, "recorded") : NULL, &vs);
		ui_reset_dialog(c, r->comp, &vs);
		strv_free(&vs);
		break;
	}
	case RQ_UNSKIP_HISTORY: {
		/* skips that were not undone, newest first */
		struct strv skipped = {0}, undone = {0};
		size_t i;
		json_t *h;
		json_array_foreach(r->acc, i, h) {
			const char *a = ui_s(h, "action"), *v = ui_s(h, "version");
			if (!a || !v)
				continue;
			if (!strcmp(a, "unskip"))
				strv_push(&undone, v);
			else if (!strcmp(a, "skip") && !strv_contains(&undone, v) && !strv_contains(&skipped, v))
				strv_push(&skipped, v);
		}
		ui_unskip_dialog(c, r->comp, &skipped);
		strv_free(&skipped);
		strv_free(&undone);
		break;
	}
	}
	ui_req_free(r);
}

static void status_event(struct console *c, json_t *ev)
{
	int added;
	struct row *r = ui_row_status(c, ev, &added);
	if (added) {
		if (!c->too_small)
			c->dirty |= D_LAYOUT;   /* the table grows: the loop lays out again */
		if (c->nrows == 1)
			ui_request_log(c, r, NULL);
	}
}

void ui_on_event(struct console *c, json_t *ev)
{
	const char *event = ui_s(ev, "event");
	if (!event)
		return;
	if (!strcmp(event, "log")) {
		on_log(c, ev);
	} else if (!strcmp(event, "status") || !strcmp(event, "check")) {
		status_event(c, ev);
	} else if (!strcmp(event, "stage")) {
		struct row *r = ui_find_row(c, ui_s(ev, "component"));
		if (r && ui_s(ev, "result") && !strcmp(ui_s(ev, "result"), "started")) {
			r->live = ui_stage_word(ui_s(ev, "stage"));
			free(r->live_version);
			r->live_version = xstrdup(ui_s(ev, "version"));
			c->dirty |= D_BODY;
		}
	} else if (!strcmp(event, "attempt")) {
		struct req *q = ui_req_of(c, ev);
		const char *res = ui_s(ev, "result");
		if (q && q->kind == RQ_ATTEMPTS && json_object_get(ev, "stages")) {
			json_array_append(q->acc, ev);   /* from the ledger, newest first */
			return;
		}
		struct row *r = ui_find_row(c, ui_s(ev, "component"));
		if (res && !strcmp(res, "planned"))
			return;
		if (r) {
			r->live = NULL;
			if (r->attempt && ui_s(ev, "attempt") && !strcmp(r->attempt, ui_s(ev, "attempt")))
				r->log_live = 0;
		}
		if (c->attempts && c->attempts_comp && r && !strcmp(c->attempts_comp, r->name))
			json_array_insert(c->attempts, 0, ev);
		const char *cls = ui_s(ev, "class");
		if (cls)
			ui_flash(c, 1, "%s %s %s: %s%s%s", ui_s(ev, "component"), ui_s(ev, "version"),
				 res ? i18n_word(res) : "?", cls, ui_s(ev, "hint") ? " - " : "",
				 ui_s(ev, "hint") ? i18n_msg(ui_s(ev, "hint")) : "");
		else
			ui_flash(c, 0, "%s %s %s", ui_s(ev, "component"), ui_s(ev, "version"), res ? i18n_word(res) : "?");
		c->dirty |= D_BODY;
	} else if (!strcmp(event, "record") || !strcmp(event, "hold")) {
		struct req *q = ui_req_of(c, ev);
		if (q && (q->kind == RQ_HISTORY || q->kind == RQ_RESET_HISTORY || q->kind == RQ_UNSKIP_HISTORY) &&
		    json_object_get(ev, "subject")) {
			json_array_append(q->acc, ev);
			return;
		}
		ui_flash(c, 0, "%s %s: %s %s", !strcmp(event, "record") ? _("recorded") : _("hold"),
			 ui_s(ev, "component") ? ui_s(ev, "component") : "",
			 ui_s(ev, "action") ? i18n_word(ui_s(ev, "action")) : "",
			 ui_s(ev, "version") ? ui_s(ev, "version") : "");
	} else if (!strcmp(event, "shipped")) {
		struct req *q = ui_req_of(c, ev);
		if (q && q->kind == RQ_SHIPPED)
			json_array_append(q->acc, ev);
	} else if (!strcmp(event, "verify")) {
		json_t *probs = json_object_get(ev, "problems");
		if (json_is_true(json_object_get(ev, "ok")))
			ui_flash(c, 0, _("verify %s %s: ok"), ui_s(ev, "component"), ui_s(ev, "version") ? ui_s(ev, "version") : "");
		else
			ui_flash(c, 1, _("verify %s: %s"), ui_s(ev, "component"),
				 json_string_value(json_array_get(probs, 0)) ? json_string_value(json_array_get(probs, 0))
									     : _("mismatch"));
	} else if (!strcmp(event, "logfile")) {
		struct req *q = ui_req_of(c, ev);
		if (q && q->kind != RQ_LOGS)
			q = NULL;
		struct row *r = ui_find_row(c, ui_s(ev, "component") ? ui_s(ev, "component") : q ? q->comp : NULL);
		if (r && ui_s(ev, "path") && !(r->log_live && r->log))
			ui_load_log_file(c, r, ui_s(ev, "path"));
	} else if (!strcmp(event, "error")) {
		const char *msg = ui_s(ev, "message"), *comp = ui_s(ev, "component");
		const char *cls = ui_s(ev, "class");
		/* an error without a component belongs to the request whose job
		 * it carries (one with a component is about that component) */
		struct req *q = comp ? NULL : ui_req_of(c, ev);
		if (q)
			q->errors++;
		if (q && q->kind == RQ_SHIPPED)
			return;   /* falls back to history */
		if (q && q->kind == RQ_LOGS) {
			struct row *r = ui_find_row(c, q->comp);
			if (r) {
				free(r->log_note);
				r->log_note = xstrdup(msg ? i18n_em(msg) : _("no log"));
				c->dirty |= D_BODY;
			}
			return;
		}
		int warn = cls && !strcmp(cls, "warning");
		char pre[64] = "";
		if (q && q->kind == RQ_ACTION)
			snprintf(pre, sizeof pre, "%.40s: ", q->cmd);
		ui_flash(c, !warn, "%s%s%s%s", pre, comp ? comp : "", comp ? ": " : "", msg ? i18n_em(msg) : _("error"));
	} else if (!strcmp(event, "engine")) {
		if (json_is_boolean(json_object_get(ev, "paused")))
			c->paused = json_is_true(json_object_get(ev, "paused"));
		c->dirty |= D_HEADER | D_BODY;
	} else if (!strcmp(event, "disconnected")) {
		c->gone = 1;
		ui_flash(c, 1, c->o->reconnect && !c->readonly
				       ? _("the engine went away; what is shown is no longer live. E starts a new engine")
				       : _("the engine went away; what is shown is no longer live (restart tally)"));
		c->dirty |= D_HEADER;
	} else if (!strcmp(event, "dropped")) {
		ui_flash(c, 0, _("live log lines were dropped for this slow console; the log file has them all"));
	} else if (!strcmp(event, "done")) {
		on_done(c, ev);
	}
}
