/* view_attempts.c - the attempts of one component, from the ledger; Enter
 * shows that attempt's log. UI thread only. */
#include "ui.h"
#include "i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

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
	c->pos[VIEW_ATTEMPTS].sel = c->pos[VIEW_ATTEMPTS].top = 0;
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

static void attempts_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	char title[160];
	snprintf(title, sizeof title, _("attempts: %s (Enter shows the log, Esc goes back)"),
		 c->attempts_comp ? c->attempts_comp : "-");
	ui_rule(c, w, 0, title, focused);
	if (!c->attempts) {
		ui_put(c, w, 1, 1, W - 2, _("loading..."), A_DIM);
		return;
	}
	int n = (int)json_array_size(c->attempts);
	if (!n) {
		ui_put(c, w, 1, 1, W - 2, _("no attempts in the ledger"), A_DIM);
		return;
	}
	/* the id (it starts with its UTC start time) is never cut */
	/* columns by display width: the words may be translated (wide) */
	int wide = W >= 100;
	char hc[8][64], head[512];
	/* the seconds are right-aligned under their headings: " %6s %6s %6s"
	 * (" %6s %5s" when narrow) */
	snprintf(head, sizeof head, "%s %s %s %s %s", i18n_cell(hc[0], 64, _("ATTEMPT (UTC start)"), wide ? 27 : 25),
		 i18n_cell(hc[1], 64, _("VERSION"), 10), i18n_cell(hc[2], 64, _("ACTION"), 7),
		 i18n_cell(hc[3], 64, _("RESULT"), 9), i18n_cell(hc[4], 64, _("CLASS"), wide ? 10 : 8));
	const char *secs[3] = {_("BUILD"), _("PUSH"), _("VERIFY")};
	for (int k = 0; k < (wide ? 3 : 2); k++) {
		size_t l = strlen(head);
		int pad = (wide || k == 0 ? 6 : 5) - i18n_width(secs[k]);
		snprintf(head + l, sizeof head - l, " %*s%s", pad > 0 ? pad : 0, "", secs[k]);
	}
	ui_put(c, w, 1, 1, W - 2, head, A_BOLD);
	int rows = h - 2;
	ui_list_scroll(&c->pos[VIEW_ATTEMPTS].sel, &c->pos[VIEW_ATTEMPTS].top, n, rows);
	for (int i = 0; i < rows && c->pos[VIEW_ATTEMPTS].top + i < n; i++) {
		/* newest first, as the engine sends them */
		json_t *a = json_array_get(c->attempts, (size_t)(c->pos[VIEW_ATTEMPTS].top + i));
		int is_sel = c->pos[VIEW_ATTEMPTS].top + i == c->pos[VIEW_ATTEMPTS].sel;
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
		char ca[3][64];
		i18n_cell(ca[0], 64, ui_s(a, "action") ? i18n_word(ui_s(a, "action")) : "-", 7);
		i18n_cell(ca[1], 64, i18n_word(res), 9);
		if (W >= 100)
			snprintf(line, sizeof line, "%-27s %-10.10s %s %s %-10.10s %6s %6s %6s", id,
				 ui_s(a, "version") ? ui_s(a, "version") : "?", ca[0], ca[1],
				 ui_s(a, "class") ? ui_s(a, "class") : "-", t[0], t[1], t[2]);
		else
			snprintf(line, sizeof line, "%-25s %-10.10s %s %s %-8.8s %6s %5s", id,
				 ui_s(a, "version") ? ui_s(a, "version") : "?", ca[0], ca[1],
				 ui_s(a, "class") ? ui_s(a, "class") : "-", t[0], t[1]);
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
	c->pos[VIEW_ATTEMPTS].sel += delta >= VIEW_FAR ? n : delta <= -VIEW_FAR ? -n : delta >= VIEW_PAGE ? page
		      : delta <= -VIEW_PAGE ? -page : delta;
	ui_list_scroll(&c->pos[VIEW_ATTEMPTS].sel, &c->pos[VIEW_ATTEMPTS].top, n, page);
	c->dirty |= D_BODY;
}

static void attempts_enter(struct console *c)
{
	int n = c->attempts ? (int)json_array_size(c->attempts) : 0;
	if (!n || !c->attempts_comp)
		return;
	json_t *a = json_array_get(c->attempts, (size_t)c->pos[VIEW_ATTEMPTS].sel);
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

const struct view_ops attempts_view = {"attempts", "attempts", attempts_open, attempts_draw, attempts_move,
					 attempts_enter};
