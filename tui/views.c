/* views.c - one view_ops per view (tig's model): the component table and
 * the log pane of the main screen, the attempts list, the history and the
 * help (generated from the key table); plus the drawing helpers they share.
 * UI thread only. */
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

/* ---- drawing helpers ------------------------------------------------- */

/* Decodes s into wide characters with their widths; control and invalid
 * bytes become '?', wide characters are kept only in a UTF-8 locale. */
static size_t decode(const struct console *c, const char *s, size_t len, wchar_t *wc, unsigned char *wd,
		     size_t *boff, size_t max)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t n = 0, i = 0;
	while (i < len && n < max) {
		wchar_t ch = L'?';
		size_t used = 1;
		unsigned char b = (unsigned char)s[i];
		if (b < 0x80) {
			ch = b < 32 || b == 127 ? L'?' : (wchar_t)b;
		} else if (c->utf8) {
			size_t r = mbrtowc(&ch, s + i, len - i, &st);
			if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
				memset(&st, 0, sizeof st);
				ch = L'?';
			} else {
				used = r;
			}
		}
		int w = wcwidth(ch);
		if (w < 0) {
			ch = L'?';
			w = 1;
		}
		if (boff)
			boff[n] = i;
		wc[n] = ch;
		wd[n] = (unsigned char)w;
		n++;
		i += used;
	}
	if (boff)
		boff[n] = i;
	return n;
}

int ui_put(struct console *c, WINDOW *w, int y, int x, int maxw, const char *s, attr_t a)
{
	if (!s || maxw <= 0)
		return 0;
	wchar_t wc[512];
	unsigned char wd[512];
	size_t n = decode(c, s, strlen(s), wc, wd, NULL, 511);
	int col = 0;
	size_t k = 0;
	while (k < n && col + wd[k] <= maxw)
		col += wd[k++];
	wattrset(w, a);
	if (k)
		mvwaddnwstr(w, y, x, wc, (int)k);
	wattrset(w, A_NORMAL);
	return col;
}

/* s cut to maxw columns, ending in an ellipsis ("~" in ASCII) when cut, so
 * a shortened line never looks whole. */
void ui_fit(const struct console *c, const char *s, int maxw, char *out, size_t outlen)
{
	wchar_t wc[512];
	unsigned char wd[512];
	size_t boff[513];
	size_t n = decode(c, s, strlen(s), wc, wd, boff, 511);
	int col = 0;
	size_t k = 0;
	while (k < n && col + wd[k] <= maxw)
		col += wd[k++];
	if (k == n && boff[n] == strlen(s)) {
		snprintf(out, outlen, "%s", s);
		return;
	}
	while (k > 0 && col + 1 > maxw)
		col -= wd[--k];
	snprintf(out, outlen, "%.*s%s", (int)boff[k], s, c->ascii ? "~" : "\u2026");
}

/* "HH:MM UTC", with the date in front when it is not today (UTC) */
void ui_when(long long t, char *buf, size_t len)
{
	time_t tt = (time_t)t, now = time(NULL);
	struct tm a, b;
	gmtime_r(&tt, &a);
	gmtime_r(&now, &b);
	if (a.tm_yday == b.tm_yday && a.tm_year == b.tm_year)
		strftime(buf, len, "%H:%M UTC", &a);
	else
		strftime(buf, len, "%m-%d %H:%M UTC", &a);
}

/* A horizontal rule with a title, the pane's border. */
void ui_rule(struct console *c, WINDOW *w, int y, const char *title, int focused)
{
	int cols = getmaxx(w);
	attr_t a = c->role_attr[R_BORDER] | (focused ? A_BOLD : 0);
	wattrset(w, a);
	if (c->ascii)
		mvwhline(w, y, 0, '-', cols);
	else
		mvwhline_set(w, y, 0, WACS_HLINE, cols);
	wattrset(w, A_NORMAL);
	if (title) {
		char buf[512];
		snprintf(buf, sizeof buf, " %s ", title);
		ui_put(c, w, y, 2, cols - 4, buf, a);
	}
}

static const struct {
	const char *state, *utf8, *ascii;
	enum theme_role role;
} glyphs[] = {
	{"current", "\u2713", "=", R_CURRENT},   {"outdated", "\u2191", "^", R_OUTDATED},
	{"ahead", "\u00bb", ">", R_AHEAD},       {"unknown", "?", "?", R_UNKNOWN},
	{"building", "\u25cf", "*", R_BUILDING}, {"pushing", "\u25cf", "*", R_BUILDING},
	{"verifying", "\u25cf", "*", R_BUILDING}, {"recording", "\u25cf", "*", R_BUILDING},
	{"failed", "\u2717", "!", R_FAILED},     {"pinned", "\u25a0", "#", R_PINNED},
	{"unchecked", "\u00b7", ".", R_UNKNOWN}, {"base-moved", "\u2191", "^", R_OUTDATED},
};

const char *ui_glyph(const struct console *c, const char *state)
{
	for (size_t i = 0; i < sizeof glyphs / sizeof glyphs[0]; i++)
		if (state && strcmp(state, glyphs[i].state) == 0)
			return c->ascii ? glyphs[i].ascii : glyphs[i].utf8;
	return " ";
}

enum theme_role ui_state_role(const char *state)
{
	for (size_t i = 0; i < sizeof glyphs / sizeof glyphs[0]; i++)
		if (state && strcmp(state, glyphs[i].state) == 0)
			return glyphs[i].role;
	return R_LOG;
}

void ui_age(long long secs, char *buf, size_t len)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(buf, len, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, len, "%lldm", secs / 60);
	else if (secs < 86400 * 2)
		snprintf(buf, len, "%lldh", secs / 3600);
	else
		snprintf(buf, len, "%lldd", secs / 86400);
}

long long ui_parse_time(const char *iso)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (!iso || !strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm))
		return 0;
	return (long long)timegm(&tm);
}

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

const char *const ui_sort_names[4] = {"config order", "state", "name", "last result"};

/* The rows shown, in the order shown (filter and sort applied); returns
 * how many. out has room for c->nrows. The selection moves to a shown row. */
int ui_table_order(struct console *c, int *out)
{
	int n = 0;
	for (size_t i = 0; i < c->nrows; i++) {
		const struct row *r = &c->rows[i];
		const char *st = ui_state_of(r);
		if (c->filter[0] && !strcasestr(r->name, c->filter) && !(st && strcasestr(st, c->filter)))
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
			ui_flash(c, 0, "%s: %s", c->rows[order[q]].name, ui_state_of(&c->rows[order[q]]));
			free(order);
			return;
		}
	}
	free(order);
	ui_flash(c, 0, "no component has a problem");
}

static void table_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	int *order = xcalloc(c->nrows + 1, sizeof *order);
	int shown = ui_table_order(c, order);
	char title[200];
	snprintf(title, sizeof title, "components (%d%s%zu)%s%s%s%s%s", shown, shown != (int)c->nrows ? " of " : "",
		 shown != (int)c->nrows ? c->nrows : (size_t)0, c->filter[0] ? " /" : "", c->filter,
		 c->sort ? " [sort: " : "", c->sort ? ui_sort_names[c->sort] : "", c->sort ? "]" : "");
	if (shown == (int)c->nrows)
		snprintf(title, sizeof title, "components (%d)%s%s%s", shown, c->sort ? " [sort: " : "",
			 c->sort ? ui_sort_names[c->sort] : "", c->sort ? "]" : "");
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
	const char *heads[7] = {"COMPONENT", "RECORDED", "UPSTREAM", "BUILT", "STATE", "LAST", "NEXT"};
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
		snprintf(cell, sizeof cell, "%s %s%s", ui_glyph(c, state), state ? state : "-", nskip ? "+s" : "");
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
			snprintf(cell, sizeof cell, "%s %s", last, age);
		} else {
			snprintf(cell, sizeof cell, "%s", last ? last : "-");
		}
		ui_put(c, w, y, xs[5], lastw, cell,
		       is_sel && focused ? base : last && !strcmp(last, "failed") ? c->role_attr[R_FAILED] : base);
		long long nr = ui_parse_time(ui_s(st, "next_run"));
		if (c->paused)
			snprintf(cell, sizeof cell, "paused");
		else if (nr) {
			char age[16];
			ui_age(nr - now, age, sizeof age);
			snprintf(cell, sizeof cell, "in %s", age);
		} else
			snprintf(cell, sizeof cell, "-");
		ui_put(c, w, y, xs[6], nextw, cell, base);
	}
	free(order);
	if (!shown && c->nrows)
		ui_put(c, w, 2, 2, W - 4, "no component matches the filter (/ and Enter with nothing clears it)", A_DIM);
	/* the problem lines: what is wrong with the selected component (class,
	 * decisive log line, hint), or what comes next */
	struct row *r = ui_selected(c);
	if (r && h >= 4) {
		char l1[1024], l2[1024], fit[1100];
		int bad = ui_problem(c, r, l1, sizeof l1, l2, sizeof l2);
		ui_fit(c, l1, W - 3, fit, sizeof fit);
		ui_put(c, w, h - 2, 2, W - 3, fit, bad ? c->role_attr[R_FAILED] : A_NORMAL);
		ui_fit(c, l2, W - 3, fit, sizeof fit);
		ui_put(c, w, h - 1, 2, W - 3, fit, A_DIM);
	}
}

/* The selected component's two problem lines; 1 when something is wrong. */
int ui_problem(struct console *c, struct row *r, char *l1, size_t n1, char *l2, size_t n2)
{
	json_t *st = r->st;
	const char *cls = ui_s(st, "class"), *msg = ui_s(st, "message");
	const char *state = ui_state_of(r), *cand = ui_s(st, "candidate"), *rec = ui_s(st, "recorded");
	json_t *pin = json_object_get(st, "pin"), *ev = json_object_get(st, "evidence");
	json_t *skipped = json_object_get(st, "skipped");
	char skips[256] = "";
	size_t i;
	json_t *v;
	json_array_foreach(skipped, i, v) {
		size_t l = strlen(skips);
		snprintf(skips + l, sizeof skips - l, "%s%s", i ? ", " : c->ascii ? " - " : " \u00b7 ",
			 json_string_value(v));
	}
	if (json_array_size(skipped))
		snprintf(skips + strlen(skips), sizeof skips - strlen(skips), " skipped");
	l2[0] = 0;
	long long nr = ui_parse_time(ui_s(st, "next_run"));
	char when[40] = "";
	if (nr)
		ui_when(nr, when, sizeof when);
	if (r->live) {
		snprintf(l1, n1, "%s: %s %s", r->name, r->live, r->live_version ? r->live_version : "");
		snprintf(l2, n2, "the log pane follows it (Tab); the record moves only after it shipped");
		return 0;
	}
	/* a failure whose version is no longer the candidate (skipped, or a
	 * newer one arrived) is history, not a problem */
	if (cls && state && (!strcmp(state, "failed") || !strcmp(state, "unknown"))) {
		enum tally_class tc = tally_class_from_name(cls);
		const char *hint = tc != TC_CLASS_COUNT && tc != TC_NONE ? classify_hint(tc) : NULL;
		const char *line = json_is_object(ev) ? ui_s(ev, "line") : NULL;
		const char *stage = json_is_object(ev) ? ui_s(ev, "stage") : NULL;
		if (line && stage)
			snprintf(l1, n1, "%s %s: %s (%s exit %lld): %s", r->name, state ? state : "", cls, stage,
				 (long long)json_integer_value(json_object_get(ev, "exit")), line);
		else
			snprintf(l1, n1, "%s %s: %s: %s", r->name, state ? state : "", cls, msg ? msg : "");
		snprintf(l2, n2, "hint: %s  (Enter: details)", hint ? hint : "see the log");
		return 1;
	}
	if (json_is_object(pin)) {
		const char *reason = ui_s(pin, "reason"), *ships = ui_s(pin, "ships");
		long long pn = ui_parse_time(ui_s(pin, "next_run"));
		char pw[40] = "";
		if (pn)
			ui_when(pn, pw, sizeof pw);
		snprintf(l1, n1, "%s: pinned at %s%s%s%s", r->name, ui_s(pin, "version") ? ui_s(pin, "version") : "?",
			 reason && *reason ? ": " : " (no reason given)", reason ? reason : "", skips);
		if (ships && pn)
			snprintf(l2, n2, "p unpins: the next run at %s ships %s", pw, ships);
		else if (ships)
			snprintf(l2, n2, "p unpins: %s is then the candidate", ships);
		else
			snprintf(l2, n2, "p unpins (nothing newer to ship)");
		return 0;
	}
	if (state && !strcmp(state, "unchecked")) {
		snprintf(l1, n1, "%s: unchecked: the upstream was never read here%s", r->name, skips);
		snprintf(l2, n2, "c checks it now%s%s", nr ? "; the next run at " : "", nr ? when : "");
		return 0;
	}
	if (cand) {
		snprintf(l1, n1, "%s: candidate %s (recorded %s)%s", r->name, cand, rec ? rec : "none", skips);
		if (nr)
			snprintf(l2, n2, "the next run at %s ships it; press b to run now", when);
		else
			snprintf(l2, n2, "no scheduled run; press b to run now");
		return 0;
	}
	snprintf(l1, n1, "%s: %s%s%s", r->name, state ? state : "-", skips, rec ? "; nothing to ship" : "");
	if (nr)
		snprintf(l2, n2, "next run at %s", when);
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

/* ---- the log pane ---------------------------------------------------- */

struct seg {
	wchar_t wc[LOGBUF_MAX_LINE];
	unsigned char wd[LOGBUF_MAX_LINE];
	size_t boff[LOGBUF_MAX_LINE + 1];
	unsigned char hl[LOGBUF_MAX_LINE];
	size_t n;
	int width;
};
static struct seg seg;

static int smart_case(const char *pat)
{
	for (const char *p = pat; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			return 1;
	return 0;
}

static const char *find_in(const char *s, const char *pat)
{
	return smart_case(pat) ? strstr(s, pat) : strcasestr(s, pat);
}

static void seg_load(struct console *c, const char *s, size_t len)
{
	seg.n = decode(c, s, len, seg.wc, seg.wd, seg.boff, LOGBUF_MAX_LINE);
	seg.width = 0;
	for (size_t i = 0; i < seg.n; i++)
		seg.width += seg.wd[i];
	memset(seg.hl, 0, seg.n);
	if (c->search[0]) {
		size_t pl = strlen(c->search);
		for (const char *p = s; (p = find_in(p, c->search)); p += pl ? pl : 1) {
			size_t b0 = (size_t)(p - s), b1 = b0 + pl;
			for (size_t i = 0; i < seg.n; i++)
				if (seg.boff[i] >= b0 && seg.boff[i] < b1)
					seg.hl[i] = 1;
		}
	}
}

static int rows_of(int width, int W)
{
	return width <= W ? 1 : (width + W - 1) / W;
}

/* Draws the loaded line from its row `skip` on; returns rows used. */
static int seg_draw(struct console *c, WINDOW *w, int y, int maxrows, int skip, int W, int current, int x0)
{
	int row = 0, col = 0;
	attr_t base = c->role_attr[R_LOG] | (current ? A_BOLD : 0);
	for (size_t i = 0; i < seg.n; i++) {
		if (col + seg.wd[i] > W) {
			if (!c->wrap)
				break;
			row++;
			col = 0;
		}
		if (row - skip >= maxrows)
			break;
		if (row >= skip && seg.wd[i]) {
			wattrset(w, seg.hl[i] ? c->role_attr[R_MATCH] : base);
			mvwaddnwstr(w, y + row - skip, x0 + col, &seg.wc[i], 1);
		}
		col += seg.wd[i];
	}
	wattrset(w, A_NORMAL);
	int used = (c->wrap ? rows_of(seg.width, W) : 1) - skip;
	return used > maxrows ? maxrows : used < 1 ? 1 : used;
}

static void log_open(struct console *c)
{
	struct row *r = ui_selected(c);
	if (r && !r->log && !r->log_requested)
		ui_request_log(c, r, NULL);
}

static void log_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	struct row *r = ui_selected(c);
	struct logbuf *lb = r ? r->log : NULL;
	char title[512];
	snprintf(title, sizeof title, "log: %s%s%s%s%s%s%s%s", r ? r->name : "-",
		 r && r->attempt ? " " : "", r && r->attempt ? r->attempt : "",
		 r && r->log_live ? " (live)" : "", c->follow ? " [follow]" : " [scrolled: End follows]",
		 c->wrap ? " [wrap]" : c->stamps ? " [times UTC]" : "", c->search[0] ? " /" : "", c->search);
	if (c->search[0] && c->match_line >= 0 && c->match_total)
		snprintf(title + strlen(title), sizeof title - strlen(title), " %lld/%lld", c->match_index,
			 c->match_total);
	ui_rule(c, w, 0, title, focused);
	int rows = h - 1;
	c->log_rows = rows;
	/* t: each line's arrival time in a column of its own */
	int x0 = c->stamps ? 9 : 0;
	W -= x0;
	if (!lb || logbuf_end(lb) == logbuf_first(lb)) {
		const char *note = r && r->log_note ? r->log_note
				   : r && r->log_requested && !r->log ? "loading the last attempt's log..."
				   : "no output yet";
		ui_put(c, w, 1, 1, W - 2, note, A_DIM);
		c->log_shown_top = c->log_shown_bottom = 0;
		return;
	}
	long long first = logbuf_first(lb), end = logbuf_end(lb);
	long long top;
	int skip = 0;
	if (c->follow) {
		/* fill from the bottom up */
		int need = rows;
		top = end;
		while (top > first && need > 0) {
			size_t len;
			const char *s = logbuf_line(lb, top - 1, &len);
			int n = 1;
			if (c->wrap) {
				seg_load(c, s, len);
				n = rows_of(seg.width, W);
			}
			top--;
			if (n > need) {
				skip = n - need;
				need = 0;
			} else {
				need -= n;
			}
		}
	} else {
		if (c->log_top < first)
			c->log_top = first;
		if (c->log_top > end - 1)
			c->log_top = end - 1;
		top = c->log_top;
	}
	int y = 1;
	long long seq = top;
	for (; seq < end && y < h; seq++) {
		size_t len;
		const char *s = logbuf_line(lb, seq, &len);
		seg_load(c, s, len);
		if (x0) {
			double t = ui_line_time(r, seq);
			char hms[16] = "        ";
			if (t > 0) {
				time_t tt = (time_t)t;
				struct tm tm;
				gmtime_r(&tt, &tm);
				strftime(hms, sizeof hms, "%H:%M:%S", &tm);
			}
			ui_put(c, w, y, 0, 8, hms, A_DIM);
		}
		y += seg_draw(c, w, y, h - y, seq == top ? skip : 0, W, seq == c->match_line, x0);
	}
	c->log_shown_top = top;
	c->log_shown_bottom = seq - 1;
}

static void log_move(struct console *c, int delta)
{
	struct row *r = ui_selected(c);
	if (!r || !r->log)
		return;
	long long first = logbuf_first(r->log), end = logbuf_end(r->log);
	if (delta >= VIEW_FAR) {
		c->follow = 1;
		c->dirty |= D_BODY;
		return;
	}
	long long top = c->follow ? c->log_shown_top : c->log_top;
	if (delta <= -VIEW_FAR)
		top = first;
	else if (delta >= VIEW_PAGE)
		top += c->log_rows - 1;
	else if (delta <= -VIEW_PAGE)
		top -= c->log_rows - 1;
	else
		top += delta;
	if (top < first)
		top = first;
	if (top > end - 1)
		top = end - 1;
	c->follow = 0;   /* scrolling stops following; End/F resumes */
	c->log_top = top;
	c->dirty |= D_BODY;
}

/* Like less: dir > 0 (/ and n) searches forward, towards newer lines,
 * dir < 0 (N) backward; the first search starts at the top line shown.
 * It wraps around, and the flash says which match of how many ("3/7"). */
void log_search(struct console *c, int dir)
{
	struct row *r = ui_selected(c);
	if (!c->search[0]) {
		ui_flash(c, 0, "no search yet: press /");
		return;
	}
	if (!r || !r->log) {
		ui_flash(c, 1, "no log to search");
		return;
	}
	long long first = logbuf_first(r->log), end = logbuf_end(r->log);
	long long from;
	if (c->match_line >= first && c->match_line < end)
		from = c->match_line + dir;
	else
		from = c->log_shown_top >= first && c->log_shown_top < end ? c->log_shown_top : first;
	long long found = -1, total = 0, index = 0;
	int wrapped = 0;
	for (long long k = 0; k < end - first && found < 0; k++) {
		long long s = from + dir * k;
		if (s >= end || s < first) {
			wrapped = 1;
			s = s >= end ? first + (s - end) : end - (first - s);
		}
		const char *line = logbuf_line(r->log, s, NULL);
		if (line && find_in(line, c->search))
			found = s;
	}
	if (found < 0) {
		ui_flash(c, 1, "not found: %s", c->search);
		return;
	}
	for (long long s = first; s < end; s++) {
		const char *line = logbuf_line(r->log, s, NULL);
		if (line && find_in(line, c->search)) {
			total++;
			if (s <= found)
				index++;
		}
	}
	c->match_line = found;
	c->match_index = index;
	c->match_total = total;
	c->follow = 0;
	c->log_top = found - c->log_rows / 2;
	if (c->log_top < first)
		c->log_top = first;
	c->dirty |= D_BODY | D_FOOTER;
	ui_flash(c, 0, "match %lld/%lld at line %lld%s", index, total, found + 1,
		 wrapped ? (dir > 0 ? " (search wrapped to the top)" : " (search wrapped to the bottom)") : "");
}

/* ---- attempts -------------------------------------------------------- */

static void attempts_open(struct console *c)
{
	struct row *r = ui_selected(c);
	if (!r)
		return;
	free(c->attempts_comp);
	c->attempts_comp = strdup(r->name);
	json_decref(c->attempts);
	c->attempts = NULL;
	c->att_sel = c->att_top = 0;
	ui_submit(c, RQ_ATTEMPTS, "attempts", r->name, json_pack("{s:i}", "limit", 100));
}

static double stage_secs(json_t *att, const char *stage)
{
	size_t i;
	json_t *st;
	json_array_foreach(json_object_get(att, "stages"), i, st) {
		const char *s = ui_s(st, "stage");
		if (s && !strcmp(s, stage))
			return json_number_value(json_object_get(st, "seconds"));
	}
	return -1;
}

static void list_scroll(int *sel, int *top, int n, int rows)
{
	if (*sel >= n)
		*sel = n - 1;
	if (*sel < 0)
		*sel = 0;
	if (*sel < *top)
		*top = *sel;
	if (*sel >= *top + rows)
		*top = *sel - rows + 1;
}

static void attempts_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	char title[160];
	snprintf(title, sizeof title, "attempts: %s (Enter shows the log, Esc goes back)",
		 c->attempts_comp ? c->attempts_comp : "-");
	ui_rule(c, w, 0, title, focused);
	if (!c->attempts) {
		ui_put(c, w, 1, 1, W - 2, "loading...", A_DIM);
		return;
	}
	int n = (int)json_array_size(c->attempts);
	if (!n) {
		ui_put(c, w, 1, 1, W - 2, "no attempts in the ledger", A_DIM);
		return;
	}
	/* the id (it starts with its UTC start time) is never cut */
	ui_put(c, w, 1, 1, W - 2,
	       W >= 100 ? "ATTEMPT (UTC start)         VERSION    ACTION  RESULT    CLASS       BUILD   PUSH VERIFY"
			: "ATTEMPT (UTC start)       VERSION    ACTION  RESULT    CLASS     BUILD  PUSH",
	       A_BOLD);
	int rows = h - 2;
	list_scroll(&c->att_sel, &c->att_top, n, rows);
	for (int i = 0; i < rows && c->att_top + i < n; i++) {
		/* newest first, as the engine sends them */
		json_t *a = json_array_get(c->attempts, (size_t)(c->att_top + i));
		int is_sel = c->att_top + i == c->att_sel;
		attr_t base = is_sel ? c->role_attr[R_SELECTED] : A_NORMAL;
		char line[512], t[3][16];
		const char *stn[3] = {"build", "push", "verify"};
		for (int k = 0; k < 3; k++) {
			double s = stage_secs(a, stn[k]);
			if (s < 0)
				snprintf(t[k], sizeof t[k], "-");
			else
				snprintf(t[k], sizeof t[k], "%.1fs", s);
		}
		const char *res = ui_s(a, "result") ? ui_s(a, "result") : "?";
		const char *id = ui_s(a, "attempt") ? ui_s(a, "attempt") : ui_s(a, "id") ? ui_s(a, "id") : "";
		if (W >= 100)
			snprintf(line, sizeof line, "%-27s %-10.10s %-7.7s %-9.9s %-10.10s %6s %6s %6s", id,
				 ui_s(a, "version") ? ui_s(a, "version") : "?", ui_s(a, "action") ? ui_s(a, "action") : "-",
				 res, ui_s(a, "class") ? ui_s(a, "class") : "-", t[0], t[1], t[2]);
		else
			snprintf(line, sizeof line, "%-25s %-10.10s %-7.7s %-9.9s %-8.8s %6s %5s", id,
				 ui_s(a, "version") ? ui_s(a, "version") : "?", ui_s(a, "action") ? ui_s(a, "action") : "-",
				 res, ui_s(a, "class") ? ui_s(a, "class") : "-", t[0], t[1]);
		if (is_sel) {
			wattrset(w, base);
			mvwhline(w, 2 + i, 0, ' ', W);
		}
		ui_put(c, w, 2 + i, 1, W - 2, line,
		       is_sel ? base : !strcmp(res, "failed") ? c->role_attr[R_FAILED] : A_NORMAL);
	}
}

static void attempts_move(struct console *c, int delta)
{
	int n = c->attempts ? (int)json_array_size(c->attempts) : 0;
	int page = getmaxy(c->w_full) - 2;
	c->att_sel += delta >= VIEW_FAR ? n : delta <= -VIEW_FAR ? -n : delta >= VIEW_PAGE ? page
		      : delta <= -VIEW_PAGE ? -page : delta;
	list_scroll(&c->att_sel, &c->att_top, n, page);
	c->dirty |= D_BODY;
}

static void attempts_enter(struct console *c)
{
	int n = c->attempts ? (int)json_array_size(c->attempts) : 0;
	if (!n || !c->attempts_comp)
		return;
	json_t *a = json_array_get(c->attempts, (size_t)c->att_sel);
	const char *id = ui_s(a, "attempt") ? ui_s(a, "attempt") : ui_s(a, "id");
	for (size_t i = 0; i < c->nrows; i++)
		if (!strcmp(c->rows[i].name, c->attempts_comp)) {
			c->sel = (int)i;
			if (c->rows[i].log_live && c->rows[i].attempt && id && !strcmp(c->rows[i].attempt, id))
				break;
			ui_request_log(c, &c->rows[i], id);
			break;
		}
	c->follow = 1;
	ui_set_view(c, VIEW_LOG);
}

/* ---- history --------------------------------------------------------- */

static void history_open(struct console *c)
{
	json_decref(c->history);
	c->history = NULL;
	c->hist_sel = c->hist_top = 0;
	ui_submit(c, RQ_HISTORY, "history", NULL, json_pack("{s:i}", "limit", 500));
}

static void history_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	ui_rule(c, w, 0, "history: record and hold commits (Esc goes back)", focused);
	if (!c->history) {
		ui_put(c, w, 1, 1, W - 2, "loading...", A_DIM);
		return;
	}
	int n = (int)json_array_size(c->history);
	if (!n) {
		ui_put(c, w, 1, 1, W - 2, "no record or hold commits yet", A_DIM);
		return;
	}
	int detail = 9;   /* the rule, seven trailer lines, one spare */
	int rows = h - 1 - detail;
	list_scroll(&c->hist_sel, &c->hist_top, n, rows);
	for (int i = 0; i < rows && c->hist_top + i < n; i++) {
		json_t *ev = json_array_get(c->history, (size_t)(c->hist_top + i));
		int is_sel = c->hist_top + i == c->hist_sel;
		attr_t base = is_sel ? c->role_attr[R_SELECTED] : A_NORMAL;
		char line[512], when[20] = "";
		const char *t = ui_s(ev, "time");
		if (t)
			snprintf(when, sizeof when, "%.10s %.5s", t, strlen(t) > 11 ? t + 11 : "");
		snprintf(line, sizeof line, "%-16s %.10s  %s", when, ui_s(ev, "commit") ? ui_s(ev, "commit") : "",
			 ui_s(ev, "subject") ? ui_s(ev, "subject") : "");
		if (is_sel) {
			wattrset(w, base);
			mvwhline(w, 1 + i, 0, ' ', W);
		}
		ui_put(c, w, 1 + i, 1, W - 2, line, base);
	}
	/* trailers of the selected commit */
	json_t *ev = json_array_get(c->history, (size_t)c->hist_sel);
	int y = h - detail;
	ui_rule(c, w, y++, "trailers", 0);
	char line[1024];
	snprintf(line, sizeof line, "Tally-Action: %s   Tally-Component: %s   Tally-Version: %s   Tally-Previous: %s",
		 ui_s(ev, "action") ? ui_s(ev, "action") : "-", ui_s(ev, "component") ? ui_s(ev, "component") : "-",
		 ui_s(ev, "version") ? ui_s(ev, "version") : "-", ui_s(ev, "previous") ? ui_s(ev, "previous") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Digest: %s", ui_s(ev, "digest") ? ui_s(ev, "digest") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	size_t i;
	json_t *img;
	struct sbuf sb = {0};
	json_array_foreach(json_object_get(ev, "images"), i, img)
		sbuf_addf(&sb, "%s%s", i ? "  " : "", json_string_value(img) ? json_string_value(img) : "");
	snprintf(line, sizeof line, "Tally-Image: %s", sb.len ? sbuf_str(&sb) : "-");
	sbuf_free(&sb);
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Attempt: %s", ui_s(ev, "attempt") ? ui_s(ev, "attempt") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Recipe: %s   commit %s", ui_s(ev, "recipe") ? ui_s(ev, "recipe") : "-",
		 ui_s(ev, "commit") ? ui_s(ev, "commit") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	json_array_foreach(json_object_get(ev, "bases"), i, img)   /* issue 15 */
		sbuf_addf(&sb, "%s%s", i ? "  " : "", json_string_value(img) ? json_string_value(img) : "");
	snprintf(line, sizeof line, "Tally-Base: %s", sb.len ? sbuf_str(&sb) : "-");
	sbuf_free(&sb);
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Cause: %s", ui_s(ev, "cause") ? ui_s(ev, "cause") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
}

static void history_move(struct console *c, int delta)
{
	int n = c->history ? (int)json_array_size(c->history) : 0;
	int page = getmaxy(c->w_full) - 8;
	c->hist_sel += delta >= VIEW_FAR ? n : delta <= -VIEW_FAR ? -n : delta >= VIEW_PAGE ? page
		       : delta <= -VIEW_PAGE ? -page : delta;
	list_scroll(&c->hist_sel, &c->hist_top, n, page > 0 ? page : 1);
	c->dirty |= D_BODY;
}

/* ---- help: generated from the key table ------------------------------- */

static void help_open(struct console *c)
{
	c->help_top = 0;
}

static void help_lines(struct console *c, struct strv *out)
{
	strv_push(out, c->readonly ? "read-only console: action keys are off; scrolling, search, history and save work"
				    : "keys (write) run an action on the selected component");
	strv_push(out, "");
	int W = getmaxx(c->w_full) - 2;
	for (size_t i = 0; i < key_table_len; i++) {
		const struct keydef *k = &key_table[i];
		if (k->needs_write && c->readonly)
			continue;
		/* long help wraps under its column, so no row ends mid-word */
		char *l = xasprintf("  %-8s %-12s %s%s", k->label, k->name, k->help, k->needs_write ? " (write)" : "");
		const char *p = l;
		int first = 1;
		while (*p) {
			int room = first ? W : W - 24;
			size_t len = strlen(p);
			size_t cut = len;
			if ((int)len > room) {
				cut = (size_t)room;
				while (cut > 0 && p[cut] != ' ')
					cut--;
				if (cut == 0)
					cut = (size_t)room;
			}
			strv_push_owned(out, xasprintf("%s%.*s", first ? "" : "                        ", (int)cut, p));
			p += cut;
			while (*p == ' ')
				p++;
			first = 0;
		}
		free(l);
	}
	strv_push(out, "");
	struct sbuf sb = {0};
	sbuf_adds(&sb, "states: ");
	const char *states[] = {"building", "pushing", "verifying", "recording", "pinned", "failed",
				"unknown", "unchecked", "outdated", "ahead", "current"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
		sbuf_addf(&sb, "%s %s  ", ui_glyph(c, states[i]), states[i]);
	strv_push(out, sbuf_str(&sb));
	sbuf_free(&sb);
	strv_push_owned(out, xasprintf("theme: %s%s", c->theme.name, c->color ? "" : " (no colour)"));
}

static void help_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	ui_rule(c, w, 0, "help (Esc goes back)", focused);
	struct strv lines = {0};
	help_lines(c, &lines);
	if (c->help_top > (int)lines.n - 1)
		c->help_top = (int)lines.n - 1;
	if (c->help_top < 0)
		c->help_top = 0;
	for (int i = 0; i < h - 1 && c->help_top + i < (int)lines.n; i++) {
		const char *l = lines.v[c->help_top + i];
		ui_put(c, w, 1 + i, 1, W - 2, l, l[0] == ' ' ? A_NORMAL : A_BOLD);
	}
	strv_free(&lines);
}

static void help_move(struct console *c, int delta)
{
	c->help_top += delta >= VIEW_FAR ? 1000 : delta <= -VIEW_FAR ? -1000 : delta >= VIEW_PAGE ? 10
		       : delta <= -VIEW_PAGE ? -10 : delta;
	c->dirty |= D_BODY;
}

/* ---- detail: everything about one component (SPEC section 10) -------- */

static void detail_open(struct console *c)
{
	c->detail_top = 0;
}

static void table_enter(struct console *c)
{
	if (ui_selected(c))
		ui_set_view(c, VIEW_DETAIL);
}

/* The lines around the decisive line in the log file (the last place it
 * occurs), as "  NNN| text" with a marker on the line itself. */
static void evidence_context(const char *path, const char *line, struct strv *out)
{
	FILE *f = path && line && *line ? fopen(path, "re") : NULL;
	if (!f)
		return;
	enum { K = 7 };
	char *ring[K] = {0};
	long n = 0, hit = -1;
	char *hitctx[K] = {0};
	int after = 0, hn = 0;
	char buf[1024];
	while (fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\r\n")] = 0;
		free(ring[n % K]);
		ring[n % K] = xstrdup(buf);
		if (after > 0 && hn < K) {
			hitctx[hn++] = xasprintf("  %5ld| %s", n + 1, buf);
			after--;
		}
		if (strstr(buf, line)) {
			for (int i = 0; i < hn; i++)
				free(hitctx[i]);
			hn = 0;
			hit = n;
			for (long k = n - 3 < 0 ? 0 : n - 3; k <= n && hn < K; k++)
				hitctx[hn++] = xasprintf("%s%5ld| %s", k == n ? "> " : "  ", k + 1, ring[k % K]);
			after = 3;
		}
		n++;
	}
	fclose(f);
	for (int i = 0; i < K; i++)
		free(ring[i]);
	if (hit < 0)
		return;
	for (int i = 0; i < hn; i++)
		strv_push_owned(out, hitctx[i]);
}

static void detail_lines(struct console *c, struct row *r, struct strv *o)
{
	json_t *st = r->st;
#define S(k) (ui_s(st, k) ? ui_s(st, k) : "-")
	long long now = (long long)time(NULL);
	char age[16] = "", when[40] = "";
	strv_push_owned(o, xasprintf("%s  (key %s in %s)", r->name, S("key"), S("file")));
	strv_push_owned(o, xasprintf("state      %s %s", ui_glyph(c, ui_state_of(r)), ui_state_of(r) ? ui_state_of(r) : "-"));
	strv_push_owned(o, xasprintf("recorded   %s", S("recorded")));
	long long ck = ui_parse_time(ui_s(st, "checked_at"));
	if (ck)
		ui_age(now - ck, age, sizeof age);
	strv_push_owned(o, xasprintf("upstream   %s%s%s%s", S("upstream"), ck ? "  (read " : "  (never read here)",
				     ck ? age : "", ck ? " ago)" : ""));
	strv_push_owned(o, xasprintf("candidate  %s", S("candidate")));
	strv_push_owned(o, xasprintf("built      %s", S("built")));
	struct sbuf sb = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(st, "skipped"), i, v)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", json_string_value(v));
	strv_push_owned(o, xasprintf("skipped    %s", sb.len ? sbuf_str(&sb) : "-"));
	sbuf_free(&sb);
	json_t *pin = json_object_get(st, "pin");
	if (json_is_object(pin))
		strv_push_owned(o, xasprintf("pin        at %s: %s  (p unpins; %s)", ui_s(pin, "version"),
					     ui_s(pin, "reason") && *ui_s(pin, "reason") ? ui_s(pin, "reason") : "no reason given",
					     ui_s(pin, "ships") ? "the next run then ships the candidate" : "nothing newer to ship"));
	else
		strv_push(o, "pin        -");
	json_array_foreach(json_object_get(st, "bases"), i, v)
		strv_push_owned(o, xasprintf("base       %s %s (built on %s)", ui_s(v, "image") ? ui_s(v, "image") : "?",
					     ui_s(v, "digest") ? ui_s(v, "digest") : "-",
					     ui_s(v, "built_on") ? ui_s(v, "built_on") : "-"));
	struct sbuf pl = {0};
	json_array_foreach(json_object_get(st, "platforms"), i, v)
		sbuf_addf(&pl, "%s%s", i ? ", " : "", json_string_value(v));
	if (pl.len)
		strv_push_owned(o, xasprintf("platforms  %s (one OCI index)", sbuf_str(&pl)));
	sbuf_free(&pl);
	long long la = ui_parse_time(ui_s(st, "last_at"));
	if (la)
		ui_age(now - la, age, sizeof age);
	strv_push_owned(o, xasprintf("last       %s%s%s%s", S("last_result"), la ? " " : "", la ? age : "", la ? " ago" : ""));
	long long nr = ui_parse_time(ui_s(st, "next_run"));
	long long ra = ui_parse_time(ui_s(st, "retry_at"));
	if (nr)
		ui_when(nr, when, sizeof when);
	const char *why = c->paused ? "the schedule is paused (P resumes)"
			 : json_is_object(pin) ? "pinned components are never scheduled"
			 : nr && ra && ra == nr ? "a backoff retry"
			 : nr ? "the schedule (tally.schedule)" : "no schedule (manual upstream)";
	strv_push_owned(o, xasprintf("next run   %s  (%s)", nr ? when : "-", why));
	const char *cls = ui_s(st, "class");
	if (cls) {
		strv_push(o, "");
		enum tally_class tc = tally_class_from_name(cls);
		const char *hint = tc != TC_CLASS_COUNT && tc != TC_NONE ? classify_hint(tc) : NULL;
		strv_push_owned(o, xasprintf("problem    %s: %s", cls, S("message")));
		if (hint)
			strv_push_owned(o, xasprintf("hint       %s", hint));
		json_t *ev = json_object_get(st, "evidence");
		if (json_is_object(ev)) {
			struct sbuf av = {0};
			json_array_foreach(json_object_get(ev, "argv"), i, v)
				sbuf_addf(&av, "%s%s", i ? " " : "", json_string_value(v));
			strv_push_owned(o, xasprintf("stage      %s, exit status %lld", ui_s(ev, "stage") ? ui_s(ev, "stage") : "-",
						     (long long)json_integer_value(json_object_get(ev, "exit"))));
			strv_push_owned(o, xasprintf("argv       %s", av.len ? sbuf_str(&av) : "-"));
			sbuf_free(&av);
			strv_push_owned(o, xasprintf("decisive   %s", ui_s(ev, "line") ? ui_s(ev, "line") : "-"));
			evidence_context(ui_s(st, "log"), ui_s(ev, "line"), o);
		}
	}
	strv_push(o, "");
	strv_push_owned(o, xasprintf("log        %s  (l lists the attempts)", S("log")));
#undef S
}

static void detail_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	struct row *r = ui_selected(c);
	char title[160];
	snprintf(title, sizeof title, "detail: %s (Esc goes back)", r ? r->name : "-");
	ui_rule(c, w, 0, title, focused);
	if (!r)
		return;
	struct strv lines = {0};
	detail_lines(c, r, &lines);
	if (c->detail_top > (int)lines.n - 1)
		c->detail_top = (int)lines.n - 1;
	if (c->detail_top < 0)
		c->detail_top = 0;
	for (int i = 0; i < h - 1 && c->detail_top + i < (int)lines.n; i++) {
		char fit[1100];
		ui_fit(c, lines.v[c->detail_top + i], W - 2, fit, sizeof fit);
		ui_put(c, w, 1 + i, 1, W - 2, fit, fit[0] == '>' ? A_BOLD : A_NORMAL);
	}
	strv_free(&lines);
}

static void detail_move(struct console *c, int delta)
{
	c->detail_top += delta >= VIEW_FAR ? 1000 : delta <= -VIEW_FAR ? -1000 : delta >= VIEW_PAGE ? 10
			 : delta <= -VIEW_PAGE ? -10 : delta;
	c->dirty |= D_BODY;
}

static const struct view_ops table_ops = {"components", "components", table_open, table_draw, table_move,
					  table_enter};
static const struct view_ops detail_ops = {"detail", "detail", detail_open, detail_draw, detail_move, NULL};
static const struct view_ops log_ops = {"log", "log", log_open, log_draw, log_move, NULL};
static const struct view_ops attempts_ops = {"attempts", "attempts", attempts_open, attempts_draw, attempts_move,
					     attempts_enter};
static const struct view_ops history_ops = {"history", "history", history_open, history_draw, history_move, NULL};
static const struct view_ops help_ops = {"help", "help", help_open, help_draw, help_move, NULL};

const struct view_ops *const views[VIEW_COUNT] = {
	[VIEW_TABLE] = &table_ops, [VIEW_LOG] = &log_ops, [VIEW_ATTEMPTS] = &attempts_ops,
	[VIEW_HISTORY] = &history_ops, [VIEW_HELP] = &help_ops, [VIEW_DETAIL] = &detail_ops,
};
