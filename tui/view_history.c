/* view_history.c - record and hold commits with their trailers. UI thread
 * only. */
#include "ui.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

/* ---- history --------------------------------------------------------- */

static void history_open(struct console *c)
{
	json_decref(c->history);
	c->history = NULL;
	c->pos[VIEW_HISTORY].sel = c->pos[VIEW_HISTORY].top = 0;
	ui_submit(c, RQ_HISTORY, "history", NULL, json_pack("{s:i}", "limit", 500));
}

/* One trailer line "NAME: a  b  c" of a list of strings ("-": none). */
static void put_list(struct console *c, WINDOW *w, int y, int W, const char *name, json_t *list)
{
	char line[1024];
	size_t i;
	json_t *v;
	struct sbuf sb = {0};
	json_array_foreach(list, i, v)
		sbuf_addf(&sb, "%s%s", i ? "  " : "", json_string_value(v) ? json_string_value(v) : "");
	snprintf(line, sizeof line, "%s: %s", name, sb.len ? sbuf_str(&sb) : "-");
	sbuf_free(&sb);
	ui_put(c, w, y, 1, W - 2, line, A_NORMAL);
}

static void history_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	ui_rule(c, w, 0, _("history: record and hold commits (Esc goes back)"), focused);
	if (!c->history) {
		ui_put(c, w, 1, 1, W - 2, _("loading..."), A_DIM);
		return;
	}
	int n = (int)json_array_size(c->history);
	if (!n) {
		ui_put(c, w, 1, 1, W - 2, _("no record or hold commits yet"), A_DIM);
		return;
	}
	int detail = 10;   /* the rule, eight trailer lines, one spare */
	int rows = h - 1 - detail;
	ui_list_scroll(&c->pos[VIEW_HISTORY].sel, &c->pos[VIEW_HISTORY].top, n, rows);
	for (int i = 0; i < rows && c->pos[VIEW_HISTORY].top + i < n; i++) {
		json_t *ev = json_array_get(c->history, (size_t)(c->pos[VIEW_HISTORY].top + i));
		int is_sel = c->pos[VIEW_HISTORY].top + i == c->pos[VIEW_HISTORY].sel;
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
	json_t *ev = json_array_get(c->history, (size_t)c->pos[VIEW_HISTORY].sel);
	int y = h - detail;
	ui_rule(c, w, y++, _("trailers"), 0);
	char line[1024];
	/* two lines, so that the previous version is visible at 80 columns */
	snprintf(line, sizeof line, "Tally-Action: %s   Tally-Component: %s", ui_s(ev, "action") ? ui_s(ev, "action") : "-",
		 ui_s(ev, "component") ? ui_s(ev, "component") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Version: %s   Tally-Previous: %s", ui_s(ev, "version") ? ui_s(ev, "version") : "-",
		 ui_s(ev, "previous") ? ui_s(ev, "previous") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Digest: %s", ui_s(ev, "digest") ? ui_s(ev, "digest") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	put_list(c, w, y++, W, "Tally-Image", json_object_get(ev, "images"));
	snprintf(line, sizeof line, "Tally-Attempt: %s   Tally-Host: %s", ui_s(ev, "attempt") ? ui_s(ev, "attempt") : "-",
		 ui_s(ev, "host") ? ui_s(ev, "host") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	snprintf(line, sizeof line, "Tally-Recipe: %s   commit %s", ui_s(ev, "recipe") ? ui_s(ev, "recipe") : "-",
		 ui_s(ev, "commit") ? ui_s(ev, "commit") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
	put_list(c, w, y++, W, "Tally-Base", json_object_get(ev, "bases"));
	snprintf(line, sizeof line, "Tally-Cause: %s", ui_s(ev, "cause") ? ui_s(ev, "cause") : "-");
	ui_put(c, w, y++, 1, W - 2, line, A_NORMAL);
}

static void history_move(struct console *c, int delta)
{
	int n = c->history ? (int)json_array_size(c->history) : 0;
	int page = getmaxy(c->w_full) - 8;
	c->pos[VIEW_HISTORY].sel += delta >= VIEW_FAR ? n : delta <= -VIEW_FAR ? -n : delta >= VIEW_PAGE ? page
		       : delta <= -VIEW_PAGE ? -page : delta;
	ui_list_scroll(&c->pos[VIEW_HISTORY].sel, &c->pos[VIEW_HISTORY].top, n, page > 0 ? page : 1);
	c->dirty |= D_BODY;
}

const struct view_ops history_view = {"history", "history", history_open, history_draw, history_move, NULL};
