/* view_log.c - the log pane (the main screen's lower pane): following,
 * scrolling, wrapping, search with a match count. UI thread only. */
#include "ui.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

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
	seg.n = ui_decode(c, s, len, seg.wc, seg.wd, seg.boff, LOGBUF_MAX_LINE);
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
	snprintf(title, sizeof title, _("log: %s%s%s%s%s%s%s%s"), r ? r->name : "-",
		 r && r->attempt ? " " : "", r && r->attempt ? r->attempt : "",
		 r && r->log_live ? _(" (live)") : "", c->follow ? _(" [follow]") : _(" [scrolled: End follows]"),
		 c->wrap ? _(" [wrap]") : c->stamps ? _(" [times UTC]") : "", c->search[0] ? " /" : "", c->search);
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
				   : r && r->log_requested && !r->log ? _("loading the last attempt's log...")
				   : _("no output yet");
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
		ui_flash(c, 0, _("no search yet: press /"));
		return;
	}
	if (!r || !r->log) {
		ui_flash(c, 1, _("no log to search"));
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
		ui_flash(c, 1, _("not found: %s"), c->search);
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
	ui_flash(c, 0, _("match %lld/%lld at line %lld%s"), index, total, found + 1,
		 wrapped ? (dir > 0 ? " (search wrapped to the top)" : " (search wrapped to the bottom)") : "");
}

const struct view_ops log_view = {"log", "log", log_open, log_draw, log_move, NULL};
