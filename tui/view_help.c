/* view_help.c - the help view, generated from the key table. UI thread
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

/* ---- help: generated from the key table ------------------------------- */

static void help_open(struct console *c)
{
	c->pos[VIEW_HELP].top = 0;
}

static void help_lines(struct console *c, struct strv *out)
{
	strv_push(out, c->readonly ? _("read-only console: action keys are off; scrolling, search, history and save work")
				    : _("keys (write) run an action on the selected component"));
	strv_push(out, "");
	int W = getmaxx(c->w_full) - 2;
	for (size_t i = 0; i < key_table_len; i++) {
		const struct keydef *k = &key_table[i];
		if (keys_writes(k) && c->readonly)
			continue;
		/* long help wraps under its column, so no row ends mid-word */
		char *l = xasprintf("  %-8s %-12s %s%s", k->label, k->name, _(k->help), keys_writes(k) ? _(" (write)") : "");
		const char *p = l;
		int first = 1;
		while (*p) {
			int room = first ? W : W - 24;
			size_t cut = i18n_cut(p, room);
			strv_push_owned(out, xasprintf("%s%.*s", first ? "" : "                        ", (int)cut, p));
			p += cut;
			while (*p == ' ')
				p++;
			first = 0;
		}
		free(l);
	}
	strv_push(out, "");
	/* the legend wraps between its items (never inside one) */
	struct sbuf sb = {0};
	sbuf_adds(&sb, _("states: "));
	int indent = i18n_width(sbuf_str(&sb));
	const char *states[] = {"building", "pushing", "verifying", "recording", "pinned", "failed",
				"unknown", "unchecked", "outdated", "ahead", "current"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		char *item = xasprintf("%s %s  ", ui_glyph(c, states[i]), i18n_word(states[i]));
		if (i && i18n_width(sbuf_str(&sb)) + i18n_width(item) - 2 > W) {
			strv_push(out, sbuf_str(&sb));
			sbuf_reset(&sb);
			sbuf_addf(&sb, "%*s", indent, "");
		}
		sbuf_adds(&sb, item);
		free(item);
	}
	strv_push(out, sbuf_str(&sb));
	sbuf_free(&sb);
	strv_push_owned(out, xasprintf(_("theme: %s%s"), c->theme.name, c->color ? "" : _(" (no colour)")));
}

static void help_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	ui_rule(c, w, 0, _("help (Esc goes back)"), focused);
	struct strv lines = {0};
	help_lines(c, &lines);
	if (c->pos[VIEW_HELP].top > (int)lines.n - 1)
		c->pos[VIEW_HELP].top = (int)lines.n - 1;
	if (c->pos[VIEW_HELP].top < 0)
		c->pos[VIEW_HELP].top = 0;
	for (int i = 0; i < h - 1 && c->pos[VIEW_HELP].top + i < (int)lines.n; i++) {
		const char *l = lines.v[c->pos[VIEW_HELP].top + i];
		ui_put(c, w, 1 + i, 1, W - 2, l, l[0] == ' ' ? A_NORMAL : A_BOLD);
	}
	strv_free(&lines);
}

static void help_move(struct console *c, int delta)
{
	c->pos[VIEW_HELP].top += delta >= VIEW_FAR ? 1000 : delta <= -VIEW_FAR ? -1000 : delta >= VIEW_PAGE ? 10
		       : delta <= -VIEW_PAGE ? -10 : delta;
	c->dirty |= D_BODY;
}

const struct view_ops help_view = {"help", "help", help_open, help_draw, help_move, NULL};
