/* dialog.c - the dialog widget: confirm (with an optional text field) or
 * choose from a list, its key state machine (SPEC section 10: Cancel is
 * focused first, Enter presses the focused button, y confirms, n and Esc
 * cancel, Tab cycles) and its drawing over the body. UI thread only. */
#include "ui.h"
#include "i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "command.h"

/* ---- dialogs ------------------------------------------------------------- */

void ui_dlg_close(struct console *c)
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

struct dialog *ui_dlg_open(struct console *c, enum dlg_kind kind, const char *title, const char *ok)
{
	ui_dlg_close(c);
	struct dialog *d = &c->dlg;
	d->kind = kind;
	d->title = xstrdup(title);
	d->ok_label = ok;
	d->focus = 0;   /* Cancel is selected */
	c->dirty |= D_DIALOG | D_FOOTER;
	return d;
}

/* word-wraps text into lines of at most w columns (i18n_cut: at spaces, or
 * after a wide character; long words cut, never inside a character) */
static void wrap_text(const char *s, int w, struct strv *out)
{
	while (*s) {
		size_t cut = i18n_cut(s, w);
		if (!s[cut]) {
			strv_push(out, s);
			return;
		}
		strv_push_owned(out, xstrndup(s, cut));
		s += cut;
		while (*s == ' ')
			s++;
	}
}

void ui_dlg_draw(struct console *c)
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
		snprintf(field, sizeof field, _("%s: %.*s%s"), d->prompt ? d->prompt : "", (int)d->input_len, d->input,
			 d->focus == 2 ? "_" : "");
		ui_put(c, w, y++, 2, W - 4, field, d->focus == 2 ? a | A_UNDERLINE | A_BOLD : a | A_UNDERLINE);
	}
	/* the buttons in Tab order: OK, then Cancel */
	char cancel[32], ok[48];
	snprintf(cancel, sizeof cancel, "[ %s ]", _("Cancel"));
	snprintf(ok, sizeof ok, "[ %s ]", d->ok_label ? d->ok_label : _("OK"));
	int bx = W - 4 - i18n_width(cancel) - i18n_width(ok) - 2;
	ui_put(c, w, H - 2, bx, 30, ok, d->focus == 1 ? c->role_attr[R_SELECTED] | A_BOLD : a);
	ui_put(c, w, H - 2, bx + i18n_width(ok) + 2, 20, cancel, d->focus == 0 ? c->role_attr[R_SELECTED] | A_BOLD : a);
	wnoutrefresh(w);
}

/* Dialog keys (SPEC section 10): Enter presses the focused button (in the
 * list or the reason field it confirms, so a skip is: type the reason,
 * Enter), y confirms, n and Esc cancel (while typing a reason, y and n are
 * letters), Tab moves list -> reason -> OK -> Cancel. */
void ui_dlg_key(struct console *c, int ch)
{
	struct dialog *d = &c->dlg;
	int has_field = d->has_input || d->kind == DLG_CHOOSE;
	int typing = d->focus == 2 && d->has_input;
	if (ch == 27 || (ch == 'n' && !typing)) {
		ui_dlg_close(c);
		ui_flash(c, 0, _("cancelled"));
		return;
	}
	if (ch == 'y' && !typing) {
		void (*fn)(struct console *) = d->on_ok;
		fn(c);
		ui_dlg_close(c);
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
			ui_dlg_close(c);
			ui_flash(c, 0, _("cancelled"));
			return;
		} else {
			void (*fn)(struct console *) = d->on_ok;
			fn(c);
			ui_dlg_close(c);
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
	}
	c->dirty |= D_DIALOG;
}
