/* console.c - the operator console's loop (SPEC section 10): start and
 * end, layout, the key dispatch by the key table, the movement keys, the
 * redraw. Its parts: model.c (rows, requests), events.c (what the engine
 * sends), view.c and view_*.c (one view_ops per view), dialog.c,
 * actions.c, cmdline.c, draw.c.
 *
 * DESIGN: the UI thread (this one) owns curses. It talks to the engine only
 * through engine.h's messages, carried by client.h (in process or over the
 * engine's socket): commands with client_submit(), events from
 * client_next_event(). The loop poll()s the terminal and the client's fd,
 * applies what arrived (marking which parts of the screen changed), and redraws the changed windows once per pass with
 * wnoutrefresh()/doupdate(); curses then sends only the changed cells.
 * Nothing is cleared on a timer: the clock and flash expiry redraw one line.
 * Live log output is drawn at most LOG_FPS times a second, so a build that
 * prints as fast as it can costs a bounded amount of drawing. Signals only
 * set a flag (the engine thread has them all blocked). */
#include "ui.h"
#include "i18n.h"

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

static volatile sig_atomic_t got_signal;
static void on_signal(int sig)
{
	got_signal = sig;
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
	ui_flash(c, 0, _("wrap %s"), c->wrap ? _("on") : _("off"));
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
	ui_flash(c, 0, _("sort: %s"), _(ui_sort_names[c->sort]));
	c->dirty |= D_BODY;
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
		ui_load_log_file(c, r, path);
		r->log_live = live;
		free(path);
		ui_flash(c, 0, _("timestamps on: when each line arrived (UTC)%s"), r->nt ? "" : "; this log has no times file");
	} else {
		ui_flash(c, 0, _("timestamps %s"), c->stamps ? _("on") : _("off"));
	}
	c->dirty |= D_BODY;
}

void kh_help(struct console *c, const struct keydef *k) { (void)k; ui_set_view(c, VIEW_HELP); }
void kh_history(struct console *c, const struct keydef *k) { (void)k; ui_set_view(c, VIEW_HISTORY); }

void kh_attempts(struct console *c, const struct keydef *k)
{
	(void)k;
	if (!ui_selected(c)) {
		ui_flash(c, 1, _("no component selected"));
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
		ui_flash(c, 0, _("the engine is running"));
		return;
	}
	if (!c->o->reconnect) {
		ui_flash(c, 1, _("cannot start an engine from here; restart tally"));
		return;
	}
	char *why = NULL;
	struct client *cl = c->o->reconnect(c->o->reconnect_ctx, &why);
	if (!cl) {
		ui_flash(c, 1, _("no engine: %s"), why ? why : "it did not start");
		free(why);
		return;
	}
	client_free(c->cl);
	c->cl = cl;
	c->gone = 0;
	ui_flash(c, 0, _("attached to a new engine"));
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

static void draw(struct console *c)
{
	if (c->too_small) {
		werase(stdscr);
		char msg[128];
		snprintf(msg, sizeof msg, _("tally needs at least 80x24; this terminal is %dx%d"), c->cols, c->lines);
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
		ui_draw_header(c);
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
		ui_draw_footer(c);
	if (c->dlg.kind != DLG_NONE)
		ui_dlg_draw(c);
	doupdate();
	c->dirty = 0;
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
		ui_dlg_key(c, ch);
		return;
	}
	if (c->prompt_kind) {
		ui_prompt_key(c, ch);
		return;
	}
	if (ch == KEY_MOUSE) {
		mouse_event(c);
		return;
	}
	const struct keydef *k = keys_find(ch, VB(c->view));
	if (!k) {
		if (ch != ERR && ch != KEY_RESIZE)
			ui_flash(c, 0, _("no such key here; press ? for help"));
		return;
	}
	if (!ui_key_allowed(c, k))
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
		ui_req_free(r);
	}
	json_decref(c->attempts);
	json_decref(c->history);
	free(c->attempts_comp);
	ui_dlg_close(c);
	free(c->theme_error);
}

/* Like tmux's [detached]: the engine goes on, and the terminal is told. */
static void say_detached(struct console *c)
{
	json_t *hello = client_hello(c->cl);
	json_int_t pid = json_integer_value(json_object_get(hello, "pid"));
	if (!pid || !client_is_remote(c->cl))
		return;
	long long next = ui_next_run(c);
	char when[40];
	snprintf(when, sizeof when, "%s", _("none scheduled"));
	if (c->paused)
		snprintf(when, sizeof when, "%s", _("none (paused)"));
	else if (next)
		ui_when(next, when, sizeof when);
	printf(_("engine %lld keeps running; next run %s; `tally stop` ends it\n"), (long long)pid, when);
	fflush(stdout);
}

int console_main(struct client *cl, const struct console_opts *o)
{
	/* the locale (LC_CTYPE, LC_MESSAGES) was set by i18n_init in main */
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
		c->theme_error = xasprintf(_("%s; using the built-in default theme"), terr);
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
		fputs(_("tally: cannot start the console on this terminal\n"), stderr);
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
		ui_flash(c, 1, _("%.*s; built-in default theme used"), (int)strcspn(m, "(;"), m);
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
			ui_on_event(c, ev);
			json_decref(ev);
			if (c->dirty & D_LAYOUT)
				layout(c);
		}
		/* no polling: a serving engine pushes a component's status row
		 * whenever it changes (docs/architecture.md, "Status events");
		 * the console asks only when it attaches */
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
