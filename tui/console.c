/* console.c - the ncurses operator console (SPEC section 10).
 *
 * DESIGN: the UI thread (this one) owns curses. It talks to the engine only
 * through engine.h's messages, carried by client.h (in process or over the
 * engine's socket): commands with client_submit(), events from
 * client_next_event(). The loop poll()s the terminal and the client's fd, applies what arrived (marking which parts of the screen
 * changed), and redraws the changed windows once per pass with
 * wnoutrefresh()/doupdate(); curses then sends only the changed cells.
 * Nothing is cleared on a timer: the clock and flash expiry redraw one line.
 * Live log output is drawn at most LOG_FPS times a second, so a build that
 * prints as fast as it can costs a bounded amount of drawing. Signals only
 * set a flag (the engine thread has them all blocked). */
#include "ui.h"
#include "command.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define LOG_FPS 20
#define FLASH_S 5.0
#define LOG_TAIL_BYTES (2u << 20)   /* read from a log file for the pane */

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
	got_signal = sig;
}

/* ---- small helpers ----------------------------------------------------- */

const char *ui_s(json_t *o, const char *k)
{
	return o ? json_string_value(json_object_get(o, k)) : NULL;
}

struct row *ui_selected(struct console *c)
{
	return c->nrows ? &c->rows[c->sel] : NULL;
}

const char *ui_state_of(const struct row *r)
{
	return r->live ? r->live : ui_s(r->st, "state");
}

void ui_flash(struct console *c, int error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->flash, sizeof c->flash, fmt, ap);
	va_end(ap);
	/* one line: no control characters from messages */
	for (char *p = c->flash; *p; p++)
		if ((unsigned char)*p < 32)
			*p = ' ';
	c->flash_error = error;
	c->flash_until = util_monotonic() + (error ? 2 * FLASH_S : FLASH_S);
	c->dirty |= D_FOOTER;
}

static struct row *find_row(struct console *c, const char *name)
{
	static size_t hint;
	if (!name)
		return NULL;
	if (hint < c->nrows && strcmp(c->rows[hint].name, name) == 0)
		return &c->rows[hint];
	for (size_t i = 0; i < c->nrows; i++)
		if (strcmp(c->rows[i].name, name) == 0) {
			hint = i;
			return &c->rows[i];
		}
	return NULL;
}

/* ---- requests ------------------------------------------------------- */

json_int_t ui_submit(struct console *c, enum req_kind kind, const char *cmd, const char *comp, json_t *extra)
{
	json_t *j = extra ? extra : json_object();
	json_object_set_new(j, "cmd", json_string(cmd));
	if (!json_object_get(j, "components")) {
		json_t *names = json_array();
		if (comp)
			json_array_append_new(names, json_string(comp));
		json_object_set_new(j, "components", names);
	}
	if (c->gone) {
		json_decref(j);
		ui_flash(c, 1, "%s: the engine went away; restart tally", cmd);
		return -1;
	}
	struct tally_err err = {0};
	long long id = client_submit(c->cl, j, &err);
	if (id < 0) {
		ui_flash(c, 1, "%s: %s", cmd, err.msg[0] ? err.msg : "the engine refused it");
		return -1;
	}
	if (id == 0) {
		/* refused (a watch connection); its error event says why */
		return -1;
	}
	struct req *r = xcalloc(1, sizeof *r);
	r->id = (json_int_t)id;
	r->kind = kind;
	r->cmd = xstrdup(cmd);
	r->comp = xstrdup(comp);
	r->acc = json_array();
	struct req **p = &c->reqs;
	while (*p)
		p = &(*p)->next;
	*p = r;
	return r->id;
}

static struct req *req_find_kind(struct console *c, unsigned kinds)
{
	for (struct req *r = c->reqs; r; r = r->next)
		if (kinds & (1u << r->kind))
			return r;
	return NULL;
}

static struct req *req_newest(struct console *c)
{
	struct req *last = NULL;
	for (struct req *r = c->reqs; r; r = r->next)
		last = r;
	return last;
}

static void req_free(struct req *r)
{
	free(r->cmd);
	free(r->comp);
	json_decref(r->acc);
	free(r);
}

void ui_request_log(struct console *c, struct row *r, const char *attempt)
{
	r->log_requested = 1;
	free(r->log_note);
	r->log_note = NULL;
	json_t *extra = json_object();
	if (attempt)
		json_object_set_new(extra, "attempt", json_string(attempt));
	ui_submit(c, RQ_LOGS, "logs", r->name, extra);
	c->dirty |= D_BODY;
}

/* ---- views and layout ------------------------------------------------- */

void ui_set_view(struct console *c, enum view_id v)
{
	int was_main = c->view == VIEW_TABLE || c->view == VIEW_LOG;
	c->view = v;
	if (v == VIEW_TABLE || v == VIEW_LOG)
		c->main_focus = v;
	if (!was_main || !(v == VIEW_TABLE || v == VIEW_LOG)) {
		if (views[v]->open)
			views[v]->open(c);
	}
	c->dirty |= D_ALL;
}

static void free_windows(struct console *c)
{
	WINDOW **ws[] = {&c->w_header, &c->w_table, &c->w_log, &c->w_full, &c->w_footer, &c->w_dialog};
	for (size_t i = 0; i < sizeof ws / sizeof ws[0]; i++)
		if (*ws[i]) {
			delwin(*ws[i]);
			*ws[i] = NULL;
		}
}

static void layout(struct console *c)
{
	free_windows(c);
	getmaxyx(stdscr, c->lines, c->cols);
	c->too_small = c->cols < 80 || c->lines < 24;
	c->dirty = D_ALL;
	if (c->too_small)
		return;
	int body = c->lines - 2;
	int th = (int)c->nrows + 4;   /* rule, heading, rows, two problem lines */
	int cap = body / 2 > 6 ? body / 2 : 6;
	if (th > cap)
		th = cap;
	if (th < 4)
		th = 4;
	c->w_header = newwin(1, c->cols, 0, 0);
	c->w_table = newwin(th, c->cols, 1, 0);
	c->w_log = newwin(body - th, c->cols, 1 + th, 0);
	c->w_full = newwin(body, c->cols, 1, 0);
	c->w_footer = newwin(1, c->cols, c->lines - 1, 0);
}

/* ---- the log pane's data ---------------------------------------------- */

static void load_log_file(struct console *c, struct row *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(r->log_note);
		r->log_note = xasprintf("cannot open %s: %s", path, strerror(errno));
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
	struct row *r = find_row(c, ui_s(ev, "component"));
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

/* ---- dialogs ------------------------------------------------------------- */

static void dlg_close(struct console *c)
{
	struct dialog *d = &c->dlg;
	free(d->title);
	strv_free(&d->text);
	strv_free(&d->choices);
	free(d->prompt);
	free(d->comp);
	free(d->version);
	free(d->cmd);
	memset(d, 0, sizeof *d);
	if (c->w_dialog) {
		delwin(c->w_dialog);
		c->w_dialog = NULL;
	}
	c->dirty |= D_ALL;
}

static struct dialog *dlg_open(struct console *c, enum dlg_kind kind, const char *title, const char *ok)
{
	dlg_close(c);
	struct dialog *d = &c->dlg;
	d->kind = kind;
	d->title = xstrdup(title);
	d->ok_label = ok;
	d->focus = 0;   /* Cancel is selected */
	c->dirty |= D_DIALOG | D_FOOTER;
	return d;
}

/* word-wraps text into lines of at most w bytes (ASCII-minded; long words cut) */
static void wrap_text(const char *s, int w, struct strv *out)
{
	while (*s) {
		size_t len = strlen(s);
		if ((int)len <= w) {
			strv_push(out, s);
			return;
		}
		size_t cut = (size_t)w;
		while (cut > 0 && s[cut] != ' ')
			cut--;
		if (cut == 0)
			cut = (size_t)w;
		strv_push_owned(out, xstrndup(s, cut));
		s += cut;
		while (*s == ' ')
			s++;
	}
}

static void draw_dialog(struct console *c)
{
	struct dialog *d = &c->dlg;
	int W = c->cols - 8 < 74 ? c->cols - 8 : 74;
	struct strv lines = {0};
	for (size_t i = 0; i < d->text.n; i++) {
		if (i)
			strv_push(&lines, "");
		wrap_text(d->text.v[i], W - 4, &lines);
	}
	int list_rows = d->kind == DLG_CHOOSE ? (int)(d->choices.n < 8 ? d->choices.n : 8) : 0;
	int H = (int)lines.n + 2 /* border */ + 2 /* title gap, buttons */ + 1 +
		(list_rows ? list_rows + 2 : 0) + (d->has_input ? 2 : 0);
	if (H > c->lines - 2)
		H = c->lines - 2;
	if (c->w_dialog)
		delwin(c->w_dialog);
	c->w_dialog = newwin(H, W, (c->lines - H) / 2, (c->cols - W) / 2);
	WINDOW *w = c->w_dialog;
	attr_t a = c->role_attr[R_DIALOG];
	wbkgdset(w, ' ' | a);
	werase(w);
	wattrset(w, a);
	if (c->ascii)
		wborder(w, '|', '|', '-', '-', '+', '+', '+', '+');
	else
		box_set(w, WACS_VLINE, WACS_HLINE);
	char t[160];
	snprintf(t, sizeof t, " %s ", d->title);
	ui_put(c, w, 0, 2, W - 4, t, a | A_BOLD);
	int y = 2;
	for (size_t i = 0; i < lines.n && y < H - 3; i++)
		ui_put(c, w, y++, 2, W - 4, lines.v[i], a);
	strv_free(&lines);
	if (list_rows) {
		y++;
		int top = d->choice >= list_rows ? d->choice - list_rows + 1 : 0;
		for (int i = 0; i < list_rows && y < H - 3; i++, y++) {
			int k = top + i;
			char item[160];
			snprintf(item, sizeof item, "%s %s", k == d->choice ? (c->ascii ? ">" : "\u25b8") : " ",
				 d->choices.v[k]);
			attr_t ia = k == d->choice ? (d->focus == 2 ? c->role_attr[R_SELECTED] : a | A_BOLD) : a;
			ui_put(c, w, y, 4, W - 8, item, ia);
		}
	}
	if (d->has_input) {
		y++;
		char field[400];
		snprintf(field, sizeof field, "%s: %.*s%s", d->prompt ? d->prompt : "", (int)d->input_len, d->input,
			 d->focus == 2 ? "_" : "");
		ui_put(c, w, y++, 2, W - 4, field, d->focus == 2 ? a | A_UNDERLINE | A_BOLD : a | A_UNDERLINE);
	}
	/* the buttons in Tab order: OK, then Cancel */
	char cancel[32], ok[48];
	snprintf(cancel, sizeof cancel, "[ Cancel ]");
	snprintf(ok, sizeof ok, "[ %s ]", d->ok_label ? d->ok_label : "OK");
	int bx = W - 4 - (int)strlen(cancel) - (int)strlen(ok) - 2;
	ui_put(c, w, H - 2, bx, 30, ok, d->focus == 1 ? c->role_attr[R_SELECTED] | A_BOLD : a);
	ui_put(c, w, H - 2, bx + (int)strlen(ok) + 2, 20, cancel, d->focus == 0 ? c->role_attr[R_SELECTED] | A_BOLD : a);
	wnoutrefresh(w);
}

/* Dialog keys (SPEC section 10): Enter presses the focused button (in the
 * list or the reason field it confirms, so a skip is: type the reason,
 * Enter), y confirms, n and Esc cancel (while typing a reason, y and n are
 * letters), Tab moves list -> reason -> OK -> Cancel. */
static void dialog_key(struct console *c, int ch)
{
	struct dialog *d = &c->dlg;
	int has_field = d->has_input || d->kind == DLG_CHOOSE;
	int typing = d->focus == 2 && d->has_input;
	if (ch == 27 || (ch == 'n' && !typing)) {
		dlg_close(c);
		ui_flash(c, 0, "cancelled");
		return;
	}
	if (ch == 'y' && !typing) {
		void (*fn)(struct console *) = d->on_ok;
		fn(c);
		dlg_close(c);
		return;
	}
	if (ch == '\t' || ch == KEY_RIGHT || ch == KEY_BTAB || ch == KEY_LEFT) {
		int order[3] = {2, 1, 0};   /* field, OK, Cancel */
		int n = has_field ? 3 : 2, pos = 0;
		const int *ord = has_field ? order : order + 1;
		for (int i = 0; i < n; i++)
			if (ord[i] == d->focus)
				pos = i;
		if (d->focus == 2 && (ch == KEY_LEFT || ch == KEY_RIGHT) && d->has_input)
			return;   /* arrows stay in the text field */
		pos = (ch == '\t' || ch == KEY_RIGHT) ? (pos + 1) % n : (pos + n - 1) % n;
		d->focus = ord[pos];
		c->dirty |= D_FOOTER;
	} else if (d->focus == 2 && d->kind == DLG_CHOOSE && (ch == KEY_UP || ch == 'k')) {
		if (d->choice > 0)
			d->choice--;
	} else if (d->focus == 2 && d->kind == DLG_CHOOSE && (ch == KEY_DOWN || ch == 'j')) {
		if (d->choice + 1 < (int)d->choices.n)
			d->choice++;
	} else if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		if (d->focus == 0) {
			dlg_close(c);
			ui_flash(c, 0, "cancelled");
			return;
		} else {
			void (*fn)(struct console *) = d->on_ok;
			fn(c);
			dlg_close(c);
			return;
		}
	} else if (d->focus == 2 && d->has_input) {
		if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
			while (d->input_len && ((unsigned char)d->input[d->input_len - 1] & 0xc0) == 0x80)
				d->input_len--;
			if (d->input_len)
				d->input_len--;
		} else if (ch >= 32 && ch < 256 && ch != 127 && d->input_len + 1 < sizeof d->input) {
			d->input[d->input_len++] = (char)ch;
		}
	} else if (ch == KEY_RESIZE) {
		layout(c);
	}
	c->dirty |= D_DIALOG;
}

/* ---- actions ------------------------------------------------------------ */

static int writable(struct console *c, const struct keydef *k)
{
	if (keys_writes(k) && c->readonly) {
		ui_flash(c, 1, "read-only: %s is not available in watch mode", k->name);
		return 0;
	}
	return 1;
}

static struct row *need_row(struct console *c)
{
	struct row *r = ui_selected(c);
	if (!r)
		ui_flash(c, 1, "no component selected");
	return r;
}

static void submit_action(struct console *c, const char *cmd, const char *comp, json_t *extra)
{
	ui_submit(c, RQ_ACTION, cmd, comp, extra);
	ui_flash(c, 0, "%s %s: sent", cmd, comp ? comp : "");
}

void kh_check(struct console *c, const struct keydef *k)
{
	struct row *r = need_row(c);
	if (!r)
		return;
	ui_submit(c, RQ_CHECK, "check", r->name, NULL);
	ui_flash(c, 0, "checking %s...", r->name);
	(void)k;
}

void kh_run(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	submit_action(c, "run", r->name, NULL);
}

void kh_retry(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (r)
		submit_action(c, "retry", r->name, NULL);
}

static void ok_rebuild(struct console *c)
{
	submit_action(c, "rebuild", c->dlg.comp, NULL);
}

void kh_rebuild(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	const char *rec = ui_s(r->st, "recorded");
	if (!rec) {
		ui_flash(c, 1, "%s has no record to rebuild", r->name);
		return;
	}
	char title[128];
	snprintf(title, sizeof title, "Force rebuild %s %s", r->name, rec);
	struct dialog *d = dlg_open(c, DLG_CONFIRM, title, "Rebuild");
	strv_push_owned(&d->text, xasprintf("Plan: build %s, push, verify every tag, then record it with the new "
					    "digest; floating tags follow.", rec));
	strv_push_owned(&d->text, xasprintf("The record stays %s with its current digest until all of it "
					    "succeeds; a failure changes nothing.", rec));
	d->comp = xstrdup(r->name);
	d->on_ok = ok_rebuild;
}

static void ok_reset(struct console *c)
{
	struct dialog *d = &c->dlg;
	if (d->choice < 0 || d->choice >= (int)d->choices.n)
		return;
	const char *v = d->choices.v[d->choice];
	size_t vl = strcspn(v, " ");
	char *ver = xstrndup(v, vl);
	submit_action(c, "reset", d->comp, json_pack("{s:s}", "version", ver));
	free(ver);
}

static void open_reset_dialog(struct console *c, const char *comp, struct strv *versions)
{
	struct row *r = find_row(c, comp);
	const char *rec = r ? ui_s(r->st, "recorded") : NULL;
	if (!versions->n) {
		ui_flash(c, 1, "%s: no version shipped before (nothing to reset to)", comp);
		return;
	}
	char title[128];
	snprintf(title, sizeof title, "Reset %s", comp);
	struct dialog *d = dlg_open(c, DLG_CHOOSE, title, "Reset");
	strv_push_owned(&d->text, xasprintf("Move the record of %s from %s to a version that shipped before. "
					    "If its tags still read back with the recorded digest it is recorded "
					    "at once; otherwise it is built, pushed and verified first.",
					    comp, rec ? rec : "(none)"));
	strv_push_owned(&d->text, xasprintf("The record stays %s until that succeeds. The reset pins %s in the "
					    "same commit (unpin with p).", rec ? rec : "(none)", comp));
	for (size_t i = 0; i < versions->n; i++)
		strv_push(&d->choices, versions->v[i]);
	d->focus = 2;   /* the list; Enter goes to the buttons, Cancel first */
	d->comp = xstrdup(comp);
	d->on_ok = ok_reset;
}

void kh_reset(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	ui_submit(c, RQ_SHIPPED, "shipped", r->name, NULL);
	ui_flash(c, 0, "%s: looking up the versions that shipped before...", r->name);
}

static void ok_skip(struct console *c)
{
	struct dialog *d = &c->dlg;
	json_t *extra = json_pack("{s:s}", "version", d->version);
	if (d->input_len)
		json_object_set_new(extra, "reason", json_stringn(d->input, d->input_len));
	submit_action(c, "skip", d->comp, extra);
}

void kh_skip(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	const char *v = ui_s(r->st, "candidate");
	if (!v)
		v = r->live_version;
	if (!v) {
		const char *up = ui_s(r->st, "upstream"), *rec = ui_s(r->st, "recorded");
		if (up && (!rec || strcmp(up, rec) != 0))
			v = up;
	}
	if (!v) {
		ui_flash(c, 1, "%s: no candidate version to skip", r->name);
		return;
	}
	const char *rec = ui_s(r->st, "recorded");
	char title[128];
	snprintf(title, sizeof title, "Skip %s %s", r->name, v);
	struct dialog *d = dlg_open(c, DLG_CONFIRM, title, "Skip");
	strv_push_owned(&d->text, xasprintf("Plan: record a skip of %s %s in the holds file (one commit); %s is "
					    "never built while the skip stands (undo with u).", r->name, v, v));
	strv_push_owned(&d->text, xasprintf("The record stays %s; nothing is built or pushed.", rec ? rec : "(none)"));
	d->has_input = 1;
	d->prompt = xstrdup("Reason");
	d->focus = 2;
	d->comp = xstrdup(r->name);
	d->version = xstrdup(v);
	d->on_ok = ok_skip;
}

static void ok_unskip(struct console *c)
{
	struct dialog *d = &c->dlg;
	if (d->choice < 0 || d->choice >= (int)d->choices.n)
		return;
	char *ver = xstrndup(d->choices.v[d->choice], strcspn(d->choices.v[d->choice], " "));
	submit_action(c, "unskip", d->comp, json_pack("{s:s}", "version", ver));
	free(ver);
}

void kh_unskip(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	ui_submit(c, RQ_UNSKIP_HISTORY, "history", r->name, NULL);
}

static void ok_unpin(struct console *c)
{
	submit_action(c, "unpin", c->dlg.comp, NULL);
}

void kh_pin(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (!r)
		return;
	json_t *pin = json_object_get(r->st, "pin");
	const char *state = ui_s(r->st, "state");
	if (!json_is_object(pin) && !(state && !strcmp(state, "pinned"))) {
		submit_action(c, "pin", r->name, NULL);
		return;
	}
	/* unpin starts nothing: the confirmation says what the next run ships */
	char title[128], when[40] = "";
	snprintf(title, sizeof title, "Unpin %s", r->name);
	struct dialog *d = dlg_open(c, DLG_CONFIRM, title, "Unpin");
	const char *ships = ui_s(pin, "ships");
	long long nr = ui_parse_time(ui_s(pin, "next_run"));
	if (nr)
		ui_when(nr, when, sizeof when);
	if (ships && nr)
		strv_push_owned(&d->text, xasprintf("unpin: the next run at %s ships %s.", when, ships));
	else if (ships)
		strv_push_owned(&d->text, xasprintf("unpin: %s becomes the candidate; no run is scheduled (b runs it).",
						    ships));
	else
		strv_push_owned(&d->text, xasprintf("unpin: nothing newer than %s to ship%s%s.",
						    ui_s(r->st, "recorded") ? ui_s(r->st, "recorded") : "the record",
						    nr ? "; the next run is at " : "", when));
	strv_push(&d->text, "Unpinning starts nothing now: runs that fell due while pinned are not made up. "
			    "The record is not touched.");
	d->comp = xstrdup(r->name);
	d->on_ok = ok_unpin;
}

void kh_pause(struct console *c, const struct keydef *k)
{
	(void)k;
	submit_action(c, c->paused ? "resume" : "pause", NULL, NULL);
}

void kh_verify(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = need_row(c);
	if (r)
		submit_action(c, "verify", r->name, NULL);
}

/* ---- movement, panes, views -------------------------------------------- */

static void view_move(struct console *c, int delta)
{
	if (views[c->view]->move_by)
		views[c->view]->move_by(c, delta);
}

void kh_up(struct console *c, const struct keydef *k) { (void)k; view_move(c, -1); }
void kh_down(struct console *c, const struct keydef *k) { (void)k; view_move(c, 1); }
void kh_pgup(struct console *c, const struct keydef *k) { (void)k; view_move(c, -VIEW_PAGE); }
void kh_pgdn(struct console *c, const struct keydef *k) { (void)k; view_move(c, VIEW_PAGE); }
void kh_home(struct console *c, const struct keydef *k) { (void)k; view_move(c, -VIEW_FAR); }
void kh_end(struct console *c, const struct keydef *k) { (void)k; view_move(c, VIEW_FAR); }

void kh_tab(struct console *c, const struct keydef *k)
{
	(void)k;
	ui_set_view(c, c->view == VIEW_TABLE ? VIEW_LOG : VIEW_TABLE);
}

void kh_enter(struct console *c, const struct keydef *k)
{
	if (views[c->view]->enter)
		views[c->view]->enter(c);
	else if (c->view == VIEW_TABLE || c->view == VIEW_LOG)
		kh_tab(c, k);
}

void kh_back(struct console *c, const struct keydef *k)
{
	(void)k;
	ui_set_view(c, c->main_focus);
}

void kh_follow(struct console *c, const struct keydef *k)
{
	(void)k;
	c->follow = 1;
	c->dirty |= D_BODY;
}

void kh_wrap(struct console *c, const struct keydef *k)
{
	(void)k;
	c->wrap = !c->wrap;
	c->dirty |= D_BODY;
	ui_flash(c, 0, "wrap %s", c->wrap ? "on" : "off");
}

/* / filters the table in the table pane and searches the log in the log pane */
void kh_search(struct console *c, const struct keydef *k)
{
	(void)k;
	c->prompt_kind = c->view == VIEW_TABLE ? 3 : 1;
	c->prompt_len = 0;   /* in the table, Enter on nothing clears the filter */
	c->dirty |= D_FOOTER;
}

void kh_next(struct console *c, const struct keydef *k)
{
	(void)k;
	if (c->view == VIEW_TABLE)
		ui_table_problem(c, 1);
	else
		log_search(c, 1);
}

void kh_prev(struct console *c, const struct keydef *k)
{
	(void)k;
	if (c->view == VIEW_TABLE)
		ui_table_problem(c, -1);
	else
		log_search(c, -1);
}

void kh_sort(struct console *c, const struct keydef *k)
{
	(void)k;
	c->sort = (c->sort + 1) % 4;
	c->table_top = 0;
	ui_flash(c, 0, "sort: %s", ui_sort_names[c->sort]);
	c->dirty |= D_BODY;
}

/* When the line with that seq arrived (0: not known): the first stamp
 * whose end offset is past the line's start. */
double ui_line_time(const struct row *r, long long seq)
{
	if (seq < 0 || (size_t)seq >= r->nloff || !r->nt)
		return 0;
	long long off = r->loff[seq];
	size_t lo = 0, hi = r->nt;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (r->tend[mid] > off)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo < r->nt ? r->tat[lo] : 0;
}

/* t: timestamps (arrival times) beside each log line; the log is read
 * again from its file so that every line's place in it is known */
void kh_stamps(struct console *c, const struct keydef *k)
{
	(void)k;
	c->stamps = !c->stamps;
	struct row *r = ui_selected(c);
	const char *sd = json_string_value(json_object_get(client_hello(c->cl), "state_dir"));
	if (c->stamps && r && r->attempt && sd) {
		char *path = xasprintf("%s/logs/%s/%s.log", sd, r->name, r->attempt);
		int live = r->log_live;
		load_log_file(c, r, path);
		r->log_live = live;
		free(path);
		ui_flash(c, 0, "timestamps on: when each line arrived (UTC)%s", r->nt ? "" : "; this log has no times file");
	} else {
		ui_flash(c, 0, "timestamps %s", c->stamps ? "on" : "off");
	}
	c->dirty |= D_BODY;
}

/* ---- the ':' command line: any batch command, completed from the command
 * table and the component names ------------------------------------------ */

void kh_cmdline(struct console *c, const struct keydef *k)
{
	(void)k;
	if (!c->o->cmds) {
		ui_flash(c, 1, "no command table here");
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
		ui_flash(c, 0, "no completion for '%s'", cur);
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
		ui_flash(c, 1, "unknown command '%s' (Tab completes)", w.v[0]);
		strv_free(&w);
		return;
	}
	if (cmd->flags & CF_FRONTEND) {
		ui_flash(c, 1, "%s is not run from the console (tally %s in a shell)", cmd->name, cmd->name);
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
				ui_flash(c, 1, "%s does not take %s", cmd->name, a);
				goto out;
			}
			if (op->arg != OA_NONE && i + 1 >= w.n) {
				ui_flash(c, 1, "%s needs an argument", a);
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
			struct row *r = find_row(c, json_string_value(json_array_get(names, 0)));
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
		ui_flash(c, 0, ":%s sent", line);
	}
out:
	json_decref(j);
	json_decref(names);
	sbuf_free(&reason);
	strv_free(&w);
}

/* S: the whole log file (not the tail on screen) is copied to the state
 * directory's saved/, never into the versions repo. */
void kh_save(struct console *c, const struct keydef *k)
{
	(void)k;
	struct row *r = ui_selected(c);
	const char *sd = json_string_value(json_object_get(client_hello(c->cl), "state_dir"));
	if (!r || !r->attempt || !sd) {
		ui_flash(c, 1, "no log file to save");
		return;
	}
	char *src = xasprintf("%s/logs/%s/%s.log", sd, r->name, r->attempt);
	char *dir = xasprintf("%s/saved", sd);
	char *dst = xasprintf("%s/%s-%s.log", dir, r->name, r->attempt);
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
	if (in < 0) {
		ui_flash(c, 1, "cannot read %s: %s", src, strerror(errno));
		goto done;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		ui_flash(c, 1, "cannot make %s: %s", dir, strerror(errno));
		goto done;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		ui_flash(c, 1, "cannot write %s: %s", dst, strerror(errno));
		goto done;
	}
	char buf[65536];
	ssize_t n;
	long long total = 0;
	int bad = 0;
	while ((n = read(in, buf, sizeof buf)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			bad = 1;
			break;
		}
		total += n;
	}
	if (close(out) != 0 || bad || n < 0)
		ui_flash(c, 1, "cannot write %s: %s", dst, strerror(errno));
	else
		ui_flash(c, 0, "saved the whole log: %s-%s.log (%lld bytes) in %s", r->name, r->attempt, total, dir);
done:
	if (in >= 0)
		close(in);
	free(src);
	free(dir);
	free(dst);
}

void kh_help(struct console *c, const struct keydef *k) { (void)k; ui_set_view(c, VIEW_HELP); }
void kh_history(struct console *c, const struct keydef *k) { (void)k; ui_set_view(c, VIEW_HISTORY); }

void kh_attempts(struct console *c, const struct keydef *k)
{
	(void)k;
	if (!ui_selected(c)) {
		ui_flash(c, 1, "no component selected");
		return;
	}
	ui_set_view(c, VIEW_ATTEMPTS);
}

void kh_redraw(struct console *c, const struct keydef *k)
{
	(void)k;
	clearok(curscr, TRUE);
	c->dirty |= D_ALL;
}

void kh_engine(struct console *c, const struct keydef *k)
{
	(void)k;
	if (!c->gone) {
		ui_flash(c, 0, "the engine is running");
		return;
	}
	if (!c->o->reconnect) {
		ui_flash(c, 1, "cannot start an engine from here; restart tally");
		return;
	}
	char *why = NULL;
	struct client *cl = c->o->reconnect(c->o->reconnect_ctx, &why);
	if (!cl) {
		ui_flash(c, 1, "no engine: %s", why ? why : "it did not start");
		free(why);
		return;
	}
	client_free(c->cl);
	c->cl = cl;
	c->gone = 0;
	ui_flash(c, 0, "attached to a new engine");
	ui_submit(c, RQ_STATUS, "status", NULL, NULL);
	c->dirty |= D_ALL;
}

void kh_quit(struct console *c, const struct keydef *k)
{
	(void)k;
	if (c->view != VIEW_TABLE && c->view != VIEW_LOG) {
		ui_set_view(c, c->main_focus);
		return;
	}
	/* the engine outlives the console: running builds go on */
	c->quit = 1;
}

/* ---- engine events ---------------------------------------------------------- */

static void status_event(struct console *c, json_t *ev)
{
	const char *name = ui_s(ev, "component");
	if (!name)
		return;
	struct row *r = find_row(c, name);
	if (!r) {
		c->rows = xrealloc(c->rows, (c->nrows + 1) * sizeof *c->rows);
		r = &c->rows[c->nrows++];
		memset(r, 0, sizeof *r);
		r->name = xstrdup(name);
		if (!c->too_small)
			layout(c);
		if (c->nrows == 1)
			ui_request_log(c, r, NULL);
		r = find_row(c, name);
	}
	json_decref(r->st);
	r->st = json_incref(ev);
	const char *state = ui_s(ev, "state");
	int active = state && (!strcmp(state, "building") || !strcmp(state, "pushing") ||
			       !strcmp(state, "verifying") || !strcmp(state, "recording"));
	if (!active)
		r->live = NULL;
	c->dirty |= D_BODY;
}

static const char *stage_word(const char *stage)
{
	static const struct {
		const char *stage, *state;
	} words[] = {{"build", "building"}, {"push", "pushing"}, {"verify", "verifying"},
		     {"record", "recording"}, {"floating", "verifying"}, {"cleanup", "recording"}};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (stage && !strcmp(stage, words[i].stage))
			return words[i].state;
	return "building";
}

static void collect(struct req *r, json_t *ev)
{
	json_array_append(r->acc, ev);
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
	struct req **p = &c->reqs, *r = NULL;
	for (; *p; p = &(*p)->next)
		if ((*p)->id == id) {
			r = *p;
			*p = r->next;
			break;
		}
	if (!r)
		return;
	switch (r->kind) {
	case RQ_STATUS:
		break;
	case RQ_CHECK:
	case RQ_ACTION:
		if (!r->errors)
			ui_flash(c, code != 0, "%s %s: %s", r->cmd, r->comp ? r->comp : "",
				 code == 0 ? "done" : code == 4 ? "mismatch found" : "failed");
		if (!strcmp(r->cmd, "pause") && code == 0)
			c->paused = 1;
		if (!strcmp(r->cmd, "resume") && code == 0)
			c->paused = 0;
		c->status_wanted = 1;
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
		struct row *row = find_row(c, r->comp);
		struct strv vs = {0};
		shipped_versions(r->acc, row ? ui_s(row->st, "recorded") : NULL, &vs);
		open_reset_dialog(c, r->comp, &vs);
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
		if (!skipped.n) {
			ui_flash(c, 1, "%s: no skipped versions", r->comp);
		} else {
			char title[128];
			snprintf(title, sizeof title, "Unskip %s", r->comp);
			struct dialog *d = dlg_open(c, DLG_CHOOSE, title, "Unskip");
			strv_push_owned(&d->text, xasprintf("Remove the skip of the chosen version of %s (one commit); "
							    "it may be built again at the next run. The record is not "
							    "touched.", r->comp));
			for (size_t k = 0; k < skipped.n; k++)
				strv_push(&d->choices, skipped.v[k]);
			d->focus = 2;
			d->comp = xstrdup(r->comp);
			d->on_ok = ok_unskip;
		}
		strv_free(&skipped);
		strv_free(&undone);
		break;
	}
	}
	req_free(r);
}

static void on_event(struct console *c, json_t *ev)
{
	const char *event = ui_s(ev, "event");
	if (!event)
		return;
	if (!strcmp(event, "log")) {
		on_log(c, ev);
	} else if (!strcmp(event, "status") || !strcmp(event, "check")) {
		status_event(c, ev);
	} else if (!strcmp(event, "stage")) {
		struct row *r = find_row(c, ui_s(ev, "component"));
		if (r && ui_s(ev, "result") && !strcmp(ui_s(ev, "result"), "started")) {
			r->live = stage_word(ui_s(ev, "stage"));
			free(r->live_version);
			r->live_version = xstrdup(ui_s(ev, "version"));
			c->dirty |= D_BODY;
		}
	} else if (!strcmp(event, "attempt")) {
		struct req *q = req_find_kind(c, 1u << RQ_ATTEMPTS);
		const char *res = ui_s(ev, "result");
		if (q && json_object_get(ev, "stages")) {
			collect(q, ev);   /* from the ledger, newest first */
			return;
		}
		struct row *r = find_row(c, ui_s(ev, "component"));
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
				 res ? res : "?", cls, ui_s(ev, "hint") ? " - " : "",
				 ui_s(ev, "hint") ? ui_s(ev, "hint") : "");
		else
			ui_flash(c, 0, "%s %s %s", ui_s(ev, "component"), ui_s(ev, "version"), res ? res : "?");
		c->status_wanted = 1;
		c->dirty |= D_BODY;
	} else if (!strcmp(event, "record") || !strcmp(event, "hold")) {
		struct req *q = req_find_kind(c, 1u << RQ_HISTORY | 1u << RQ_RESET_HISTORY | 1u << RQ_UNSKIP_HISTORY);
		if (q && json_object_get(ev, "subject")) {
			collect(q, ev);
			return;
		}
		ui_flash(c, 0, "%s %s: %s %s", !strcmp(event, "record") ? "recorded" : "hold",
			 ui_s(ev, "component") ? ui_s(ev, "component") : "", ui_s(ev, "action") ? ui_s(ev, "action") : "",
			 ui_s(ev, "version") ? ui_s(ev, "version") : "");
		c->status_wanted = 1;
	} else if (!strcmp(event, "shipped")) {
		struct req *q = req_find_kind(c, 1u << RQ_SHIPPED);
		if (q)
			collect(q, ev);
	} else if (!strcmp(event, "verify")) {
		json_t *probs = json_object_get(ev, "problems");
		if (json_is_true(json_object_get(ev, "ok")))
			ui_flash(c, 0, "verify %s %s: ok", ui_s(ev, "component"), ui_s(ev, "version") ? ui_s(ev, "version") : "");
		else
			ui_flash(c, 1, "verify %s: %s", ui_s(ev, "component"),
				 json_string_value(json_array_get(probs, 0)) ? json_string_value(json_array_get(probs, 0))
									     : "mismatch");
	} else if (!strcmp(event, "logfile")) {
		struct req *q = req_find_kind(c, 1u << RQ_LOGS);
		struct row *r = find_row(c, ui_s(ev, "component") ? ui_s(ev, "component") : q ? q->comp : NULL);
		if (r && ui_s(ev, "path") && !(r->log_live && r->log))
			load_log_file(c, r, ui_s(ev, "path"));
	} else if (!strcmp(event, "error")) {
		const char *msg = ui_s(ev, "message"), *comp = ui_s(ev, "component");
		const char *cls = ui_s(ev, "class");
		/* errors carry no id: "unknown command 'X'" names its request,
		 * others belong to the newest request still waiting */
		struct req *q = NULL;
		if (msg && !strncmp(msg, "unknown command '", 17)) {
			for (struct req *r = c->reqs; r && !q; r = r->next)
				if (!strncmp(msg + 17, r->cmd, strlen(r->cmd)) && msg[17 + strlen(r->cmd)] == '\'')
					q = r;
		}
		if (!q && !comp)
			q = req_newest(c);
		if (q)
			q->errors++;
		if (q && q->kind == RQ_SHIPPED)
			return;   /* falls back to history */
		if (q && q->kind == RQ_LOGS) {
			struct row *r = find_row(c, q->comp);
			if (r) {
				free(r->log_note);
				r->log_note = xstrdup(msg ? msg : "no log");
				c->dirty |= D_BODY;
			}
			return;
		}
		int warn = cls && !strcmp(cls, "warning");
		char pre[64] = "";
		if (q && q->kind == RQ_ACTION)
			snprintf(pre, sizeof pre, "%.40s: ", q->cmd);
		ui_flash(c, !warn, "%s%s%s%s", pre, comp ? comp : "", comp ? ": " : "", msg ? msg : "error");
	} else if (!strcmp(event, "engine")) {
		if (json_is_boolean(json_object_get(ev, "paused")))
			c->paused = json_is_true(json_object_get(ev, "paused"));
		c->dirty |= D_HEADER | D_BODY;
	} else if (!strcmp(event, "disconnected")) {
		c->gone = 1;
		ui_flash(c, 1, c->o->reconnect && !c->readonly
				       ? "the engine went away; what is shown is no longer live. E starts a new engine"
				       : "the engine went away; what is shown is no longer live (restart tally)");
		c->dirty |= D_HEADER;
	} else if (!strcmp(event, "dropped")) {
		ui_flash(c, 0, "live log lines were dropped for this slow console; the log file has them all");
	} else if (!strcmp(event, "done")) {
		on_done(c, ev);
	}
}

/* ---- drawing ------------------------------------------------------------------- */

static void draw_header(struct console *c)
{
	WINDOW *w = c->w_header;
	attr_t a = c->role_attr[R_HEADER];
	wbkgdset(w, ' ' | a);
	werase(w);
	char clock[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(clock, sizeof clock, "%H:%M:%S UTC", &tm);
	long long next = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		long long t = ui_parse_time(ui_s(c->rows[i].st, "next_run"));
		if (t && (!next || t < next))
			next = t;
	}
	char nextbuf[40] = "-";
	if (next) {
		struct tm nt;
		time_t tt = (time_t)next;
		gmtime_r(&tt, &nt);
		strftime(nextbuf, sizeof nextbuf, nt.tm_yday == tm.tm_yday ? "%H:%M" : "%m-%d %H:%M", &nt);
	}
	/* the times are kept whole: at 80 columns the words shorten first, then
	 * the repo and branch names are cut */
	const char *sep = c->ascii ? "|" : "\u2502";
	const char *eng = c->gone ? "gone" : c->paused ? "paused" : "running";
	char tail[128], head[300], line[512];
	int avail = c->cols - (int)strlen(clock) - 2;
	snprintf(tail, sizeof tail, " %s engine %s %s next run %s", sep, eng, sep, nextbuf);
	snprintf(head, sizeof head, " tally %s %s %s %s", sep, c->repo, c->branch, c->readonly ? "[RO]" : "[RW]");
	if ((int)(strlen(head) + strlen(tail)) - (c->ascii ? 0 : 6) > avail) {
		snprintf(tail, sizeof tail, " %s %s %s next %s", sep, eng, sep, nextbuf);
		snprintf(head, sizeof head, " %s %s %s", c->repo, c->branch, c->readonly ? "[RO]" : "[RW]");
	}
	int tailw = (int)strlen(tail) - (c->ascii ? 0 : 4);
	char fit[300];
	ui_fit(c, head, avail - tailw, fit, sizeof fit);
	snprintf(line, sizeof line, "%s%s", fit, tail);
	ui_put(c, w, 0, 0, avail, line, a);
	ui_put(c, w, 0, c->cols - (int)strlen(clock) - 1, (int)strlen(clock), clock, a);
	wnoutrefresh(w);
}

static void draw_footer(struct console *c)
{
	WINDOW *w = c->w_footer;
	werase(w);
	if (c->prompt_kind) {
		char line[400];
		snprintf(line, sizeof line, "%s%.*s_", c->prompt_kind == 1 ? "/" : c->prompt_kind == 4 ? ":" : "filter the table: ",
			 (int)c->prompt_len, c->prompt_buf);
		const char *keys = c->prompt_kind == 4 ? "  Tab completes, Enter runs, Esc cancels" : "  Enter ok, Esc cancel";
		ui_put(c, w, 0, 0, c->cols - 1, line, A_BOLD);
		ui_put(c, w, 0, c->cols - (int)strlen(keys), (int)strlen(keys), keys, A_DIM);
		wnoutrefresh(w);
		return;
	}
	if (c->dlg.kind != DLG_NONE) {
		/* the dialog's own keys */
		const struct dialog *d = &c->dlg;
		char line[200];
		snprintf(line, sizeof line, " Enter %s   y confirm   n/Esc cancel   Tab next%s",
			 d->focus == 0 ? "cancels" : "confirms",
			 d->kind == DLG_CHOOSE ? "   Up/Down choose" : d->has_input ? "   type the reason" : "");
		ui_put(c, w, 0, 0, c->cols - 1, line, A_BOLD);
		wnoutrefresh(w);
		return;
	}
	int x = 0;
	if (c->flash[0] && util_monotonic() < c->flash_until) {
		char buf[300];
		snprintf(buf, sizeof buf, " %s ", c->flash);
		ui_put(c, w, 0, 0, c->cols - 1, buf, c->role_attr[R_FLASH]);
		wnoutrefresh(w);
		return;
	} else {
		c->flash[0] = 0;
	}
	/* the keys that apply here, from the table; help and quit always fit */
	unsigned vb = VB(c->view);
	const struct keydef *tail[2] = {keys_find('?', vb), keys_find('q', vb)};
	int tailw = 0;
	for (int i = 0; i < 2; i++)
		if (tail[i])
			tailw += (int)strlen(tail[i]->label) + (int)strlen(tail[i]->name) + 3;
	int limit = c->cols - tailw;
	for (size_t i = 0; i < key_table_len && !c->flash[0]; i++) {
		const struct keydef *k = &key_table[i];
		if (!k->footer || !(k->views & vb) || (keys_writes(k) && c->readonly) || k == tail[0] || k == tail[1])
			continue;
		int need = (int)strlen(k->label) + (int)strlen(k->name) + 3;
		if (x + need > limit)
			break;
		x += ui_put(c, w, 0, x + 1, need, k->label, A_BOLD) + 1;
		x += ui_put(c, w, 0, x + 1, need, k->name, A_NORMAL) + 1;
	}
	x = c->cols - tailw;
	for (int i = 0; i < 2; i++)
		if (tail[i]) {
			x += ui_put(c, w, 0, x + 1, 20, tail[i]->label, A_BOLD) + 1;
			x += ui_put(c, w, 0, x + 1, 20, tail[i]->name, A_NORMAL) + 1;
		}
	wnoutrefresh(w);
}

static void draw(struct console *c)
{
	if (c->too_small) {
		werase(stdscr);
		char msg[128];
		snprintf(msg, sizeof msg, "tally needs at least 80x24; this terminal is %dx%d", c->cols, c->lines);
		mvwaddnstr(stdscr, c->lines / 2, 0, msg, c->cols);
		wnoutrefresh(stdscr);
		doupdate();
		c->dirty = 0;
		return;
	}
	if ((c->dirty & D_ALL) == D_ALL) {
		/* stdscr is never drawn on; refreshing it first keeps getch from
		 * painting it over the windows after a resize */
		wnoutrefresh(stdscr);
		touchwin(c->w_header);
		touchwin(c->w_footer);
		touchwin(c->w_table);
		touchwin(c->w_log);
		touchwin(c->w_full);
	}
	if (c->dirty & D_HEADER)
		draw_header(c);
	if (c->dirty & D_BODY || c->log_pending) {
		if (c->view == VIEW_TABLE || c->view == VIEW_LOG) {
			werase(c->w_table);
			views[VIEW_TABLE]->draw(c, c->w_table, c->view == VIEW_TABLE);
			wnoutrefresh(c->w_table);
			werase(c->w_log);
			views[VIEW_LOG]->draw(c, c->w_log, c->view == VIEW_LOG);
			wnoutrefresh(c->w_log);
		} else {
			werase(c->w_full);
			views[c->view]->draw(c, c->w_full, 1);
			wnoutrefresh(c->w_full);
		}
		c->log_pending = 0;
		c->log_drawn_at = util_monotonic();
	}
	if (c->dirty & D_FOOTER)
		draw_footer(c);
	if (c->dlg.kind != DLG_NONE)
		draw_dialog(c);
	doupdate();
	c->dirty = 0;
}

/* ---- keys ------------------------------------------------------------------------ */

static void prompt_key(struct console *c, int ch)
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
				ui_flash(c, 0, "filter: %s (/ then Enter with nothing clears it)", c->filter);
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

/* The mouse selects rows and scrolls the log (and the lists). */
static void mouse_event(struct console *c)
{
	MEVENT me;
	if (getmouse(&me) != OK)
		return;
	int wheel_up = (me.bstate & BUTTON4_PRESSED) != 0;
#ifdef BUTTON5_PRESSED
	int wheel_down = (me.bstate & BUTTON5_PRESSED) != 0;
#else
	int wheel_down = 0;
#endif
	if (c->view != VIEW_TABLE && c->view != VIEW_LOG) {
		if ((wheel_up || wheel_down) && views[c->view]->move_by)
			views[c->view]->move_by(c, wheel_up ? -3 : 3);
		return;
	}
	int ty, tx;
	getbegyx(c->w_table, ty, tx);
	(void)tx;
	int in_table = me.y >= ty && me.y < ty + getmaxy(c->w_table);
	if (wheel_up || wheel_down) {
		if (in_table)
			views[VIEW_TABLE]->move_by(c, wheel_up ? -1 : 1);
		else
			views[VIEW_LOG]->move_by(c, wheel_up ? -3 : 3);
		return;
	}
	if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)) {
		if (in_table) {
			ui_set_view(c, VIEW_TABLE);
			ui_table_click(c, me.y - ty);
		} else if (me.y > 0 && me.y < c->lines - 1) {
			ui_set_view(c, VIEW_LOG);
		}
	}
}

static void on_key(struct console *c, int ch)
{
	if (ch == KEY_RESIZE) {
		layout(c);
		return;
	}
	if (c->too_small) {
		if (ch == 'q')
			c->quit = 1;
		return;
	}
	if (c->dlg.kind != DLG_NONE) {
		dialog_key(c, ch);
		return;
	}
	if (c->prompt_kind) {
		prompt_key(c, ch);
		return;
	}
	if (ch == KEY_MOUSE) {
		mouse_event(c);
		return;
	}
	const struct keydef *k = keys_find(ch, VB(c->view));
	if (!k) {
		if (ch != ERR && ch != KEY_RESIZE)
			ui_flash(c, 0, "no such key here; press ? for help");
		return;
	}
	if (!writable(c, k))
		return;
	k->handler(c, k);
}

/* ---- start and the loop ----------------------------------------------------------- */

static attr_t curses_attrs(unsigned a)
{
	attr_t r = A_NORMAL;
	if (a & THEME_A_BOLD)
		r |= A_BOLD;
	if (a & THEME_A_DIM)
		r |= A_DIM;
	if (a & THEME_A_UNDERLINE)
		r |= A_UNDERLINE;
	if (a & THEME_A_REVERSE)
		r |= A_REVERSE;
	if (a & THEME_A_STANDOUT)
		r |= A_STANDOUT;
#ifdef A_ITALIC
	if (a & THEME_A_ITALIC)
		r |= A_ITALIC;
#endif
	return r;
}

static void apply_theme(struct console *c)
{
	c->color = !c->o->no_color && has_colors();
	if (c->color && start_color() == ERR)
		c->color = 0;
	if (c->color)
		use_default_colors();
	for (int i = 0; i < R_COUNT; i++) {
		if (!c->color) {
			c->role_attr[i] = curses_attrs(theme_mono_attrs((enum theme_role)i));
			continue;
		}
		const struct theme_entry *te = &c->theme.e[i];
		int bold = 0;
		short fg = theme_fit_color(te->fg, COLORS, &bold);
		short bg = theme_fit_color(te->bg, COLORS, NULL);
		init_pair((short)(i + 1), fg, bg);
		c->role_attr[i] = curses_attrs(te->attrs) | COLOR_PAIR(i + 1) | (bold ? A_BOLD : 0);
	}
}

static void repo_info(struct console *c)
{
	/* the repo's directory name and its current branch (the engine's
	 * hello does not say them yet) */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", c->o->repo_dir ? c->o->repo_dir : ".");
	char real[4096];
	if (realpath(dir, real))
		snprintf(dir, sizeof dir, "%s", real);
	const char *base = strrchr(dir, '/') && strrchr(dir, '/')[1] ? strrchr(dir, '/') + 1 : dir;
	snprintf(c->repo, sizeof c->repo, "%.100s", base);
	snprintf(c->branch, sizeof c->branch, "?");
	char *head = xasprintf("%s/.git/HEAD", dir);
	FILE *f = fopen(head, "re");
	free(head);
	if (!f)
		return;
	char buf[256];
	if (fgets(buf, sizeof buf, f) && !strncmp(buf, "ref: refs/heads/", 16)) {
		buf[strcspn(buf, "\n")] = 0;
		snprintf(c->branch, sizeof c->branch, "%.100s", buf + 16);
	}
	fclose(f);
}

static void console_free(struct console *c)
{
	free_windows(c);
	for (size_t i = 0; i < c->nrows; i++) {
		struct row *r = &c->rows[i];
		free(r->name);
		json_decref(r->st);
		free(r->live_version);
		free(r->attempt);
		free(r->log_note);
		logbuf_free(r->log);
		free(r->loff);
		free(r->tend);
		free(r->tat);
	}
	free(c->rows);
	while (c->reqs) {
		struct req *r = c->reqs;
		c->reqs = r->next;
		req_free(r);
	}
	json_decref(c->attempts);
	json_decref(c->history);
	free(c->attempts_comp);
	dlg_close(c);
	free(c->theme_error);
}

/* Like tmux's [detached]: the engine goes on, and the terminal is told. */
static void say_detached(struct console *c)
{
	json_t *hello = client_hello(c->cl);
	json_int_t pid = json_integer_value(json_object_get(hello, "pid"));
	if (!pid || !client_is_remote(c->cl))
		return;
	long long next = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		long long t = ui_parse_time(ui_s(c->rows[i].st, "next_run"));
		if (t && (!next || t < next))
			next = t;
	}
	char when[40] = "none scheduled";
	if (c->paused)
		snprintf(when, sizeof when, "none (paused)");
	else if (next)
		ui_when(next, when, sizeof when);
	printf("engine %lld keeps running; next run %s; `tally stop` ends it\n", (long long)pid, when);
	fflush(stdout);
}

int console_main(struct client *cl, const struct console_opts *o)
{
	setlocale(LC_ALL, "");
	struct console con, *c = &con;
	memset(c, 0, sizeof *c);
	c->cl = cl;
	c->o = o;
	c->readonly = o->readonly;
	c->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	c->ascii = o->ascii || !c->utf8;
	c->follow = 1;
	c->match_line = -1;
	char terr[512] = "";
	/* --theme and $TALLY_THEME win; else the repo's tally.theme */
	json_t *hello = client_hello(cl);
	const char *theme = o->theme ? o->theme : json_string_value(json_object_get(hello, "theme"));
	if (theme_load(theme, &c->theme, terr, sizeof terr) < 0)
		c->theme_error = xasprintf("%s; using the built-in default theme", terr);
	repo_info(c);
	const char *hrepo = json_string_value(json_object_get(hello, "repo"));
	const char *hbranch = json_string_value(json_object_get(hello, "branch"));
	if (hrepo) {
		const char *base = strrchr(hrepo, '/') && strrchr(hrepo, '/')[1] ? strrchr(hrepo, '/') + 1 : hrepo;
		snprintf(c->repo, sizeof c->repo, "%.100s", base);
	}
	if (hbranch)
		snprintf(c->branch, sizeof c->branch, "%.100s", hbranch);
	if (json_is_true(json_object_get(hello, "paused")))
		c->paused = 1;

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (!initscr()) {
		fprintf(stderr, "tally: cannot start the console on this terminal\n");
		client_free(c->cl);
		c->cl = NULL;
		console_free(c);
		return 2;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	curs_set(0);
	/* clicks select rows, the wheel scrolls; Shift+drag still selects text
	 * in most terminals */
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
		  | BUTTON5_PRESSED
#endif
		  , NULL);
	mouseinterval(0);
	apply_theme(c);
	layout(c);
	if (c->theme_error) {
		/* the footer is short: the file's base name and the first clause;
		 * stderr gets the whole message on exit */
		const char *m = c->theme_error, *slash = NULL;
		for (const char *p = m; *p && *p != ':'; p++)
			if (*p == '/')
				slash = p;
		if (slash)
			m = slash + 1;
		ui_flash(c, 1, "%.*s; built-in default theme used", (int)strcspn(m, "(;"), m);
	}

	ui_submit(c, RQ_STATUS, "status", NULL, NULL);
	double last_clock = 0;
	while (!c->quit) {
		if (got_signal)
			break;   /* the engine outlives the console */
		/* the client changes when E started a new engine */
		int efd = client_fd(c->cl);
		/* apply what arrived; cap a pass so keys stay responsive */
		for (int n = 0; n < 20000; n++) {
			json_t *ev = client_next_event(c->cl, 0);
			if (!ev)
				break;
			on_event(c, ev);
			json_decref(ev);
		}
		if (c->status_wanted && !req_find_kind(c, 1u << RQ_STATUS)) {
			c->status_wanted = 0;
			ui_submit(c, RQ_STATUS, "status", NULL, NULL);
		}
		double now = util_monotonic();
		if ((long long)util_now() != (long long)last_clock) {
			/* the clock, ages and countdowns tick every second */
			last_clock = util_now();
			c->dirty |= D_HEADER | D_BODY;
		}
		if (c->flash[0] && now >= c->flash_until)
			c->dirty |= D_FOOTER;
		/* live log output: at most LOG_FPS frames a second */
		int log_wait = 0;
		if (c->log_pending && !(c->dirty & D_BODY) && now - c->log_drawn_at < 1.0 / LOG_FPS) {
			log_wait = (int)((1.0 / LOG_FPS - (now - c->log_drawn_at)) * 1000) + 1;
			c->log_pending = 0;
			c->dirty &= ~(unsigned)0;   /* nothing else forced */
			c->log_pending = 1;
		}
		if (c->dirty || (c->log_pending && !log_wait)) {
			if (log_wait && !(c->dirty & D_BODY)) {
				int saved = c->log_pending;
				c->log_pending = 0;
				draw(c);
				c->log_pending = saved;
			} else {
				draw(c);
			}
		}
		int timeout = 1000 - (int)((util_now() - (double)(long long)util_now()) * 1000) + 5;
		if (c->flash[0]) {
			int ft = (int)((c->flash_until - now) * 1000) + 5;
			if (ft < timeout)
				timeout = ft < 0 ? 0 : ft;
		}
		if (log_wait && log_wait < timeout)
			timeout = log_wait;
		if (client_pending(c->cl))
			timeout = 0;
		struct pollfd pf[2] = {{.fd = STDIN_FILENO, .events = POLLIN}, {.fd = efd, .events = POLLIN}};
		/* with a frame pending, events may wait; keys and the frame may not */
		int r = poll(pf, log_wait || c->gone ? 1 : 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		/* the terminal went away (an SSH connection dropped, tmux
		 * killed): leave before reading keys, which a hung-up terminal
		 * may never stop giving */
		if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break;
		int ch;
		for (int k = 0; k < 512 && !got_signal && (ch = getch()) != ERR; k++)
			on_key(c, ch);
	}
	endwin();
	if (c->theme_error)
		fprintf(stderr, "tally: %s\n", c->theme_error);
	if (!c->gone)
		say_detached(c);
	client_free(c->cl);
	c->cl = NULL;
	console_free(c);
	return 0;
}
