/* view_table.c - the component table (the main screen's upper pane): its
 * order (filter and sort), selection, problems and drawing. UI thread only. */
#include "ui.h"
#include "i18n.h"
#include "i18nmsg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

/* ---- the component table --------------------------------------------- */

static void table_open(struct console *c)
{
	(void)c;
}

/* A component with a problem: n/N in the table go to the next one. */
static int row_problem(const struct row *r)
{
	const char *st = ui_state_of(r);
	return st && (!strcmp(st, "failed") || !strcmp(st, "unknown"));
}

static int state_rank(const char *st)
{
	static const char *const order[] = {"failed", "unknown", "building", "pushing", "verifying", "recording",
					    "outdated", "base-moved", "unchecked", "pinned", "ahead", "current"};
	for (size_t i = 0; st && i < sizeof order / sizeof order[0]; i++)
		if (!strcmp(st, order[i]))
			return (int)i;
	return 99;
}

static struct console *sort_c;
static int cmp_rows(const void *a, const void *b)
{
	const struct row *x = &sort_c->rows[*(const int *)a], *y = &sort_c->rows[*(const int *)b];
	int d = 0;
	if (sort_c->sort == 1)
		d = state_rank(ui_state_of(x)) - state_rank(ui_state_of(y));
	else if (sort_c->sort == 2)
		d = strcmp(x->name, y->name);
	else if (sort_c->sort == 3) {
		const char *lx = ui_s(x->st, "last_result"), *ly = ui_s(y->st, "last_result");
		d = (lx && !strcmp(lx, "failed") ? 0 : lx ? 1 : 2) - (ly && !strcmp(ly, "failed") ? 0 : ly ? 1 : 2);
		if (!d)
			d = strcmp(ui_s(y->st, "last_at") ? ui_s(y->st, "last_at") : "",
				   ui_s(x->st, "last_at") ? ui_s(x->st, "last_at") : "");   /* newest first */
	}
	return d ? d : *(const int *)a - *(const int *)b;
}

const char *const ui_sort_names[4] = {N_("config order"), N_("state"), N_("name"), N_("last result")};

/* The rows shown, in the order shown (filter and sort applied); returns
 * how many. out has room for c->nrows. The selection moves to a shown row. */
int ui_table_order(struct console *c, int *out)
{
	int n = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		const struct row *r = &c->rows[i];
		const char *st = ui_state_of(r);
		/* a state matches by its word or as shown (translated) */
		if (c->filter[0] && !strcasestr(r->name, c->filter) &&
		    !(st && (strcasestr(st, c->filter) || strstr(i18n_word(st), c->filter))))
			continue;
		out[n++] = (int)i;
	}
	sort_c = c;
	qsort(out, (size_t)n, sizeof *out, cmp_rows);
	int seen = 0;
	for (int i = 0; i < n; i++)
		if (out[i] == c->sel)
			seen = 1;
	if (!seen && n)
		c->sel = out[0];
	return n;
}

static int pos_of(const int *order, int n, int sel)
{
	for (int i = 0; i < n; i++)
		if (order[i] == sel)
			return i;
	return 0;
}

static void table_select(struct console *c, int s)
{
	if (s != c->sel) {
		c->sel = s;
		c->match_line = -1;
		c->follow = 1;
		struct row *r = ui_selected(c);
		if (r && !r->log && !r->log_requested)
			ui_request_log(c, r, NULL);
	}
	c->dirty |= D_BODY | D_FOOTER;
}

/* n/N in the table: the next/previous component with a problem */
void ui_table_problem(struct console *c, int dir)
{
	int *order = xcalloc(c->nrows + 1, sizeof *order);
	int n = ui_table_order(c, order), p = pos_of(order, n, c->sel);
	for (int k = 1; k <= n; k++) {
		int q = ((p + dir * k) % n + n) % n;
		if (row_problem(&c->rows[order[q]])) {
			table_select(c, order[q]);
			ui_flash(c, 0, "%s: %s", c->rows[order[q]].name, i18n_word(ui_state_of(&c->rows[order[q]])));
			free(order);
			return;
		}
	}
	free(order);
	ui_flash(c, 0, _("no component has a problem"));
}

static void table_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	int *order = xcalloc(c->nrows + 1, sizeof *order);
	int shown = ui_table_order(c, order);
	char title[200];
	char sortw[80] = "";
	if (c->sort)
		snprintf(sortw, sizeof sortw, _(" [sort: %s]"), _(ui_sort_names[c->sort]));
	if (shown == (int)c->nrows)
		snprintf(title, sizeof title, _("components (%d)%s"), shown, sortw);
	else
		snprintf(title, sizeof title, _("components (%d of %zu)%s%s%s"), shown, c->nrows,
			 c->filter[0] ? " /" : "", c->filter, sortw);
	ui_rule(c, w, 0, title, focused);
	int stw = 12, lastw = 13, nextw = 7;
	int rest = W - 2 - stw - lastw - nextw - 6;
	int namew = rest / 4, vw = (rest - namew) / 3;
	namew = rest - 3 * vw;
	int xs[7];
	xs[0] = 2;
	xs[1] = xs[0] + namew + 1;
	xs[2] = xs[1] + vw + 1;
	xs[3] = xs[2] + vw + 1;
	xs[4] = xs[3] + vw + 1;
	xs[5] = xs[4] + stw + 1;
	xs[6] = xs[5] + lastw + 1;
	const char *heads[7] = {_("COMPONENT"), _("RECORDED"), _("UPSTREAM"), _("BUILT"), _("STATE"), _("LAST"), _("NEXT")};
	int widths[7] = {namew, vw, vw, vw, stw, lastw, nextw};
	for (int i = 0; i < 7; i++)
		ui_put(c, w, 1, xs[i], widths[i], heads[i], A_BOLD);
	int body = h - 4;   /* rule, heading, two problem lines */
	if (body < 1)
		body = 1;
	int spos = pos_of(order, shown, c->sel);
	if (spos < c->table_top)
		c->table_top = spos;
	if (spos >= c->table_top + body)
		c->table_top = spos - body + 1;
	if (c->table_top > shown - 1)
		c->table_top = shown > 0 ? shown - 1 : 0;
	long long now = (long long)time(NULL);
	for (int i = 0; i < body && c->table_top + i < shown; i++) {
		struct row *r = &c->rows[order[c->table_top + i]];
		int y = 2 + i;
		int is_sel = order[c->table_top + i] == c->sel;
		attr_t base = is_sel && focused ? c->role_attr[R_SELECTED] : A_NORMAL;
		if (is_sel && focused) {
			wattrset(w, base);
			mvwhline(w, y, 0, ' ', W);
			wattrset(w, A_NORMAL);
		}
		if (is_sel)
			ui_put(c, w, y, 0, 1, c->ascii ? ">" : "\u25b8", base | A_BOLD);
		json_t *st = r->st;
		const char *state = ui_state_of(r);
		ui_put(c, w, y, xs[0], namew, r->name, base | (is_sel ? A_BOLD : 0));
		ui_put(c, w, y, xs[1], vw, ui_s(st, "recorded") ? ui_s(st, "recorded") : "-", base);
		const char *up = ui_s(st, "upstream");
		ui_put(c, w, y, xs[2], vw, up ? up : (ui_s(st, "checked_at") ? "?" : "-"), base);
		ui_put(c, w, y, xs[3], vw, ui_s(st, "built") ? ui_s(st, "built") : "-", base);
		char cell[64];
		size_t nskip = json_array_size(json_object_get(st, "skipped"));
		snprintf(cell, sizeof cell, "%s %s%s", ui_glyph(c, state), state ? i18n_word(state) : "-", nskip ? "+s" : "");
		/* the selected row keeps its state's colour, reversed */
		attr_t sa = is_sel && focused ? c->role_attr[ui_state_role(state)] | A_REVERSE | A_BOLD
					      : c->role_attr[ui_state_role(state)];
		ui_put(c, w, y, xs[4], stw, cell, sa);
		const char *last = ui_s(st, "last_result");
		long long at = ui_parse_time(ui_s(st, "last_at"));
		if (!at)
			at = ui_parse_time(ui_s(st, "last_ended"));
		if (last && at) {
			char age[16];
			ui_age(now - at, age, sizeof age);
			snprintf(cell, sizeof cell, "%s %s", i18n_word(last), age);
		} else {
			snprintf(cell, sizeof cell, "%s", last ? i18n_word(last) : "-");
		}
		ui_put(c, w, y, xs[5], lastw, cell,
		       is_sel && focused ? base : last && !strcmp(last, "failed") ? c->role_attr[R_FAILED] : base);
		long long nr = ui_parse_time(ui_s(st, "next_run"));
		if (c->paused)
			snprintf(cell, sizeof cell, "%s", _("paused"));
		else if (nr) {
			char age[16];
			ui_age(nr - now, age, sizeof age);
			snprintf(cell, sizeof cell, _("in %s"), age);
		} else
			snprintf(cell, sizeof cell, "-");
		ui_put(c, w, y, xs[6], nextw, cell, base);
	}
	free(order);
	if (!shown && c->nrows)
		ui_put(c, w, 2, 2, W - 4, _("no component matches the filter (/ and Enter with nothing clears it)"), A_DIM);
	/* the problem lines: what is wrong with the selected component (class,
	 * decisive log line, hint), or what comes next */
	struct row *r = ui_selected(c);
	if (r && h >= 4) {
		char l1[1024], l2[1024], fit[1100];
		int bad = ui_problem(c, r, l1, sizeof l1, l2, sizeof l2);
		ui_fit(c, l1, W - 3, fit, sizeof fit);
		ui_put(c, w, h - 2, 2, W - 3, fit, bad ? c->role_attr[R_FAILED] : A_NORMAL);
		/* a hint too long for the line is shortened, never the pointer
		 * to the detail view after it */
		const char *more = _("  (Enter: details)");
		size_t n2 = strlen(l2), nm = strlen(more);
		ui_fit(c, l2, W - 3, fit, sizeof fit);
		int mw = i18n_width(more);
		if (strcmp(fit, l2) != 0 && n2 > nm && strcmp(l2 + n2 - nm, more) == 0 && W - 3 > mw + 8) {
			l2[n2 - nm] = 0;
			ui_fit(c, l2, W - 3 - mw, fit, sizeof fit - nm);
			strcat(fit, more);
		}
		ui_put(c, w, h - 1, 2, W - 3, fit, A_DIM);
	}
}

/* The selected component's two problem lines; 1 when something is wrong. */
int ui_problem(struct console *c, struct row *r, char *l1, size_t n1, char *l2, size_t n2)
{
	json_t *st = r->st;
	const char *cls = ui_s(st, "class"), *msg = i18n_em(ui_s(st, "message"));
	const char *state = ui_state_of(r), *cand = ui_s(st, "candidate"), *rec = ui_s(st, "recorded");
	json_t *pin = json_object_get(st, "pin"), *ev = json_object_get(st, "evidence");
	json_t *skipped = json_object_get(st, "skipped");
	char skips[256] = "";
	size_t i;
	json_t *v;
	json_array_foreach(skipped, i, v) {
		size_t l = strlen(skips);
		snprintf(skips + l, sizeof skips - l, "%s%s", i ? _(", ") : c->ascii ? " - " : " \u00b7 ",
			 json_string_value(v));
	}
	if (json_array_size(skipped))
		snprintf(skips + strlen(skips), sizeof skips - strlen(skips), "%s", _(" skipped"));
	l2[0] = 0;
	long long nr = ui_parse_time(ui_s(st, "next_run"));
	char when[40] = "";
	if (nr)
		ui_when(nr, when, sizeof when);
	if (r->live) {
		snprintf(l1, n1, "%s: %s %s", r->name, i18n_word(r->live), r->live_version ? r->live_version : "");
		snprintf(l2, n2, "%s", _("the log pane follows it (Tab); the record moves only after it shipped"));
		return 0;
	}
	/* a failure whose version is no longer the candidate (skipped, or a
	 * newer one arrived) is history, not a problem */
	if (cls && state && (!strcmp(state, "failed") || !strcmp(state, "unknown"))) {
		enum tally_class tc = tally_class_from_name(cls);
		const char *hint = tc != TC_CLASS_COUNT && tc != TC_NONE ? i18n_msg(classify_hint(tc)) : NULL;
		const char *line = json_is_object(ev) ? ui_s(ev, "line") : NULL;
		const char *stage = json_is_object(ev) ? ui_s(ev, "stage") : NULL;
		if (line && stage)
			snprintf(l1, n1, _("%s %s: %s (%s exit %lld): %s"), r->name, state ? i18n_word(state) : "", cls,
				 i18n_word(stage),
				 (long long)json_integer_value(json_object_get(ev, "exit")), line);
		else
			snprintf(l1, n1, "%s %s: %s: %s", r->name, state ? i18n_word(state) : "", cls, msg ? msg : "");
		snprintf(l2, n2, _("hint: %s%s"), hint ? hint : _("see the log"), _("  (Enter: details)"));
		return 1;
	}
	if (json_is_object(pin)) {
		const char *reason = ui_s(pin, "reason"), *ships = ui_s(pin, "ships");
		long long pn = ui_parse_time(ui_s(pin, "next_run"));
		char pw[40] = "";
		if (pn)
			ui_when(pn, pw, sizeof pw);
		snprintf(l1, n1, _("%s: pinned at %s%s%s%s"), r->name, ui_s(pin, "version") ? ui_s(pin, "version") : "?",
			 reason && *reason ? _(": ") : _(" (no reason given)"), reason ? i18n_em(reason) : "", skips);
		if (ships && pn)
			snprintf(l2, n2, _("p unpins: the next run at %s ships %s"), pw, ships);
		else if (ships)
			snprintf(l2, n2, _("p unpins: %s is then the candidate"), ships);
		else
			snprintf(l2, n2, "%s", _("p unpins (nothing newer to ship)"));
		return 0;
	}
	if (state && !strcmp(state, "unchecked")) {
		snprintf(l1, n1, _("%s: unchecked: the upstream was never read here%s"), r->name, skips);
		if (nr)
			snprintf(l2, n2, _("c checks it now; the next run at %s"), when);
		else
			snprintf(l2, n2, "%s", _("c checks it now"));
		return 0;
	}
	if (cand && state && !strcmp(state, "building") && ui_s(st, "host")) {
		/* several build hosts: another host's claim holds it */
		snprintf(l1, n1, _("%s: building %s on %s%s"), r->name, cand, ui_s(st, "host"), skips);
		snprintf(l2, n2, "%s", _("that host's claim on the remote; this host builds nothing for it meanwhile"));
		return 0;
	}
	if (cand) {
		snprintf(l1, n1, _("%s: candidate %s (recorded %s)%s"), r->name, cand, rec ? rec : _("none"), skips);
		if (nr)
			snprintf(l2, n2, _("the next run at %s ships it; press b to run now"), when);
		else
			snprintf(l2, n2, "%s", _("no scheduled run; press b to run now"));
		return 0;
	}
	snprintf(l1, n1, "%s: %s%s%s", r->name, state ? i18n_word(state) : "-", skips, rec ? _("; nothing to ship") : "");
	if (nr)
		snprintf(l2, n2, _("next run at %s"), when);
	return 0;
}

static void table_move(struct console *c, int delta)
{
	if (!c->nrows)
		return;
	int *order = xcalloc(c->nrows + 1, sizeof *order);
	int n = ui_table_order(c, order);
	if (!n) {
		free(order);
		return;
	}
	int s = pos_of(order, n, c->sel);
	if (delta >= VIEW_FAR)
		s = n - 1;
	else if (delta <= -VIEW_FAR)
		s = 0;
	else if (delta >= VIEW_PAGE)
		s += getmaxy(c->w_table) - 4;
	else if (delta <= -VIEW_PAGE)
		s -= getmaxy(c->w_table) - 4;
	else
		s += delta;
	if (s < 0)
		s = 0;
	if (s >= n)
		s = n - 1;
	table_select(c, order[s]);
	free(order);
}

/* A click on the table's row y (window coordinates) selects that row. */
void ui_table_click(struct console *c, int y)
{
	int *order = xcalloc(c->nrows + 1, sizeof *order);
	int n = ui_table_order(c, order), i = c->table_top + y - 2;
	if (y >= 2 && i < n && i >= 0)
		table_select(c, order[i]);
	free(order);
}

static void table_enter(struct console *c)
{
	if (ui_selected(c))
		ui_set_view(c, VIEW_DETAIL);
}

const struct view_ops table_view = {"components", "components", table_open, table_draw, table_move, table_enter};
