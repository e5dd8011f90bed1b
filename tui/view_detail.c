/* view_detail.c - everything about one component (SPEC section 10):
 * record, upstream, holds, bases, the last failure with its evidence in
 * context. UI thread only. */
#include "ui.h"
#include "i18n.h"
#include "i18nmsg.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include "classify.h"
#include "err.h"

/* ---- detail: everything about one component (SPEC section 10) -------- */

static void detail_open(struct console *c)
{
	c->pos[VIEW_DETAIL].top = 0;
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

/* One "label      value" line: the label padded to 11 columns by display
 * width (a translated label may be wide). */
static void fld(struct strv *o, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fld(struct strv *o, const char *label, const char *fmt, ...)
{
	struct sbuf sb = {0};
	sbuf_adds(&sb, label);
	for (int w = i18n_width(label); w < 10; w++)
		sbuf_adds(&sb, " ");
	sbuf_adds(&sb, " ");
	va_list ap;
	va_start(ap, fmt);
	sbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	strv_push_owned(o, sbuf_detach(&sb));
}

static void detail_lines(struct console *c, struct row *r, struct strv *o)
{
	json_t *st = r->st;
#define S(k) (ui_s(st, k) ? ui_s(st, k) : "-")
	long long now = (long long)time(NULL);
	char age[16] = "", when[40] = "";
	strv_push_owned(o, xasprintf(_("%s  (key %s in %s)"), r->name, S("key"), S("file")));
	fld(o, C_("detail", "state"), "%s %s", ui_glyph(c, ui_state_of(r)), ui_state_of(r) ? i18n_word(ui_state_of(r)) : "-");
	fld(o, C_("detail", "recorded"), "%s", S("recorded"));
	long long ck = ui_parse_time(ui_s(st, "checked_at"));
	if (ck)
		ui_age(now - ck, age, sizeof age);
	if (ck)
		fld(o, C_("detail", "upstream"), _("%s  (read %s ago)"), S("upstream"), age);
	else
		fld(o, C_("detail", "upstream"), _("%s  (never read here)"), S("upstream"));
	fld(o, C_("detail", "candidate"), "%s", S("candidate"));
	fld(o, C_("detail", "built"), "%s", S("built"));
	struct sbuf sb = {0};
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(st, "skipped"), i, v)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", json_string_value(v));
	fld(o, C_("detail", "skipped"), "%s", sb.len ? sbuf_str(&sb) : "-");
	sbuf_free(&sb);
	json_t *pin = json_object_get(st, "pin");
	if (json_is_object(pin))
		fld(o, C_("detail", "pin"), _("at %s: %s  (p unpins; %s)"), ui_s(pin, "version"),
		    ui_s(pin, "reason") && *ui_s(pin, "reason") ? i18n_em(ui_s(pin, "reason")) : _("no reason given"),
		    ui_s(pin, "ships") ? _("the next run then ships the candidate") : _("nothing newer to ship"));
	else
		fld(o, C_("detail", "pin"), "-");
	json_array_foreach(json_object_get(st, "bases"), i, v)
		fld(o, C_("detail", "base"), _("%s %s (built on %s)"), ui_s(v, "image") ? ui_s(v, "image") : "?",
		    ui_s(v, "digest") ? ui_s(v, "digest") : "-", ui_s(v, "built_on") ? ui_s(v, "built_on") : "-");
	struct sbuf pl = {0};
	json_array_foreach(json_object_get(st, "platforms"), i, v)
		sbuf_addf(&pl, "%s%s", i ? ", " : "", json_string_value(v));
	if (pl.len)
		fld(o, C_("detail", "platforms"), _("%s (one OCI index)"), sbuf_str(&pl));
	sbuf_free(&pl);
	long long la = ui_parse_time(ui_s(st, "last_at"));
	if (la)
		ui_age(now - la, age, sizeof age);
	if (la)
		fld(o, C_("detail", "last"), _("%s %s ago"), i18n_word(S("last_result")), age);
	else
		fld(o, C_("detail", "last"), "%s", i18n_word(S("last_result")));
	long long nr = ui_parse_time(ui_s(st, "next_run"));
	long long ra = ui_parse_time(ui_s(st, "retry_at"));
	if (nr)
		ui_when(nr, when, sizeof when);
	const char *why = c->paused ? _("the schedule is paused (P resumes)")
			 : json_is_object(pin) ? _("pinned components are never scheduled")
			 : nr && ra && ra == nr ? _("a backoff retry")
			 : nr ? _("the schedule (tally.schedule)") : _("no schedule (manual upstream)");
	fld(o, C_("detail", "next run"), _("%s  (%s)"), nr ? when : "-", why);
	const char *cls = ui_s(st, "class");
	if (cls) {
		strv_push(o, "");
		enum tally_class tc = tally_class_from_name(cls);
		const char *hint = tc != TC_CLASS_COUNT && tc != TC_NONE ? i18n_msg(classify_hint(tc)) : NULL;
		fld(o, C_("detail", "problem"), "%s: %s", cls, i18n_em(S("message")));
		if (hint)
			fld(o, C_("detail", "hint"), "%s", hint);
		json_t *ev = json_object_get(st, "evidence");
		if (json_is_object(ev)) {
			struct sbuf av = {0};
			json_array_foreach(json_object_get(ev, "argv"), i, v)
				sbuf_addf(&av, "%s%s", i ? " " : "", json_string_value(v));
			fld(o, C_("detail", "stage"), _("%s, exit status %lld"),
			    ui_s(ev, "stage") ? i18n_word(ui_s(ev, "stage")) : "-",
			    (long long)json_integer_value(json_object_get(ev, "exit")));
			fld(o, "argv", "%s", av.len ? sbuf_str(&av) : "-");
			sbuf_free(&av);
			fld(o, C_("detail", "decisive"), "%s", ui_s(ev, "line") ? ui_s(ev, "line") : "-");
			evidence_context(ui_s(st, "log"), ui_s(ev, "line"), o);
		}
	}
	strv_push(o, "");
	fld(o, C_("detail", "log"), _("%s  (l lists the attempts)"), S("log"));
#undef S
}

static void detail_draw(struct console *c, WINDOW *w, int focused)
{
	int h = getmaxy(w), W = getmaxx(w);
	struct row *r = ui_selected(c);
	char title[160];
	snprintf(title, sizeof title, _("detail: %s (Esc goes back)"), r ? r->name : "-");
	ui_rule(c, w, 0, title, focused);
	if (!r)
		return;
	struct strv lines = {0};
	detail_lines(c, r, &lines);
	if (c->pos[VIEW_DETAIL].top > (int)lines.n - 1)
		c->pos[VIEW_DETAIL].top = (int)lines.n - 1;
	if (c->pos[VIEW_DETAIL].top < 0)
		c->pos[VIEW_DETAIL].top = 0;
	for (int i = 0; i < h - 1 && c->pos[VIEW_DETAIL].top + i < (int)lines.n; i++) {
		char fit[1100];
		ui_fit(c, lines.v[c->pos[VIEW_DETAIL].top + i], W - 2, fit, sizeof fit);
		ui_put(c, w, 1 + i, 1, W - 2, fit, fit[0] == '>' ? A_BOLD : A_NORMAL);
	}
	strv_free(&lines);
}

static void detail_move(struct console *c, int delta)
{
	c->pos[VIEW_DETAIL].top += delta >= VIEW_FAR ? 1000 : delta <= -VIEW_FAR ? -1000 : delta >= VIEW_PAGE ? 10
			 : delta <= -VIEW_PAGE ? -10 : delta;
	c->dirty |= D_BODY;
}

const struct view_ops detail_view = {"detail", "detail", detail_open, detail_draw, detail_move, NULL};
