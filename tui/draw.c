/* draw.c - drawing helpers the views share (width-aware text, rules,
 * glyphs, times, list scrolling) and the screen's frame: the header and
 * the footer. UI thread only (the one thread that calls curses). */
#include "ui.h"
#include "i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

#define FLASH_S 5.0

/* The footer's message line: errors stay twice as long. */
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

/* ---- the frame: header and footer --------------------------------------- */

void ui_draw_header(struct console *c)
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
	long long next = ui_next_run(c);
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
	const char *eng = c->gone ? _("gone") : c->paused ? _("paused") : _("running");
	char tail[128], head[300], line[512];
	int avail = c->cols - (int)strlen(clock) - 2;
	snprintf(tail, sizeof tail, _(" %s engine %s %s next run %s"), sep, eng, sep, nextbuf);
	snprintf(head, sizeof head, " tally %s %s %s %s", sep, c->repo, c->branch, c->readonly ? "[RO]" : "[RW]");
	if (i18n_width(head) + i18n_width(tail) > avail) {
		snprintf(tail, sizeof tail, _(" %s %s %s next %s"), sep, eng, sep, nextbuf);
		snprintf(head, sizeof head, " %s %s %s", c->repo, c->branch, c->readonly ? "[RO]" : "[RW]");
	}
	int tailw = i18n_width(tail);
	char fit[300];
	ui_fit(c, head, avail - tailw, fit, sizeof fit);
	snprintf(line, sizeof line, "%s%s", fit, tail);
	ui_put(c, w, 0, 0, avail, line, a);
	ui_put(c, w, 0, c->cols - (int)strlen(clock) - 1, (int)strlen(clock), clock, a);
	wnoutrefresh(w);
}

void ui_draw_footer(struct console *c)
{
	WINDOW *w = c->w_footer;
	werase(w);
	if (c->prompt_kind) {
		char line[400];
		snprintf(line, sizeof line, "%s%.*s_", c->prompt_kind == 1 ? "/" : c->prompt_kind == 4 ? ":" : _("filter the table: "),
			 (int)c->prompt_len, c->prompt_buf);
		const char *keys = c->prompt_kind == 4 ? _("  Tab completes, Enter runs, Esc cancels") : _("  Enter ok, Esc cancel");
		ui_put(c, w, 0, 0, c->cols - 1, line, A_BOLD);
		ui_put(c, w, 0, c->cols - i18n_width(keys), i18n_width(keys), keys, A_DIM);
		wnoutrefresh(w);
		return;
	}
	if (c->dlg.kind != DLG_NONE) {
		/* the dialog's own keys */
		const struct dialog *d = &c->dlg;
		char line[200];
		snprintf(line, sizeof line, _(" Enter %s   y confirm   n/Esc cancel   Tab next%s"),
			 d->focus == 0 ? _("cancels") : _("confirms"),
			 d->kind == DLG_CHOOSE ? _("   Up/Down choose") : d->has_input ? _("   type the reason") : "");
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
			tailw += (int)strlen(tail[i]->label) + i18n_width(i18n_ctx("key", tail[i]->name)) + 3;
	int limit = c->cols - tailw;
	for (size_t i = 0; i < key_table_len && !c->flash[0]; i++) {
		const struct keydef *k = &key_table[i];
		if (!k->footer || !(k->views & vb) || (keys_writes(k) && c->readonly) || k == tail[0] || k == tail[1])
			continue;
		int need = (int)strlen(k->label) + i18n_width(i18n_ctx("key", k->name)) + 3;
		if (x + need > limit)
			break;
		x += ui_put(c, w, 0, x + 1, need, k->label, A_BOLD) + 1;
		x += ui_put(c, w, 0, x + 1, need, i18n_ctx("key", k->name), A_NORMAL) + 1;
	}
	x = c->cols - tailw;
	for (int i = 0; i < 2; i++)
		if (tail[i]) {
			x += ui_put(c, w, 0, x + 1, 20, tail[i]->label, A_BOLD) + 1;
			x += ui_put(c, w, 0, x + 1, 20, i18n_ctx("key", tail[i]->name), A_NORMAL) + 1;
		}
	wnoutrefresh(w);
}
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
size_t ui_decode(const struct console *c, const char *s, size_t len, wchar_t *wc, unsigned char *wd,
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
	size_t n = ui_decode(c, s, strlen(s), wc, wd, NULL, 511);
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
	size_t n = ui_decode(c, s, strlen(s), wc, wd, boff, 511);
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

void ui_list_scroll(int *sel, int *top, int n, int rows)
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
