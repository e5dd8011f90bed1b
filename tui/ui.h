/* ui.h - the console's internal state, shared by its modules: console.c
 * (the loop), model.c (rows, requests by job id), events.c, dialog.c,
 * actions.c, cmdline.c, draw.c, view.c and view_*.c (one view_ops per
 * view), keys.c (the key table) and theme.c. Everything here lives on the UI thread, which alone
 * calls curses; the engine is reached only through engine.h's messages. */
#ifndef TALLY_UI_H
#define TALLY_UI_H

#include <curses.h>
#include <jansson.h>
#include <wchar.h>

#include "console.h"
#include "logbuf.h"
#include "theme.h"
#include "util.h"

/* Views: one view_ops each (tig's struct view_ops), never a switch on the
 * view type. The table and the log are the two panes of the main screen;
 * the others take the whole body. */
enum view_id { VIEW_TABLE, VIEW_LOG, VIEW_ATTEMPTS, VIEW_HISTORY, VIEW_HELP, VIEW_DETAIL, VIEW_COUNT };
#define VB(v) (1u << (v))
#define V_MAIN (VB(VIEW_TABLE) | VB(VIEW_LOG))
#define V_ALL ((1u << VIEW_COUNT) - 1)

struct console;

struct view_ops {
	const char *name;
	const char *title;
	void (*open)(struct console *c);                 /* shown: fetch what it needs */
	void (*draw)(struct console *c, WINDOW *w, int focused);
	void (*move_by)(struct console *c, int delta);      /* lines; +-VIEW_PAGE, +-VIEW_ALL */
	void (*enter)(struct console *c);                /* Enter on a line (NULL: switch pane) */
};
/* A view's position: the selected line and the first line shown. */
struct view_pos {
	int sel, top;
};
#define VIEW_PAGE 100000
#define VIEW_FAR 1000000

extern const struct view_ops *const views[VIEW_COUNT];   /* view.c */
extern const struct view_ops table_view, log_view, attempts_view, history_view, help_view, detail_view;

/* The key table (keys.c): dispatch, the footer, the help view and the
 * man page's KEYS section all come from it. */
struct keydef {
	int keys[4];            /* key codes, 0-terminated */
	const char *label;      /* as shown: "c", "Up/k" */
	const char *name;       /* a command (command.h) or a UI action (keys.c) */
	const char *help;
	unsigned views;         /* where it applies (VB bits) */
	int footer;             /* offered in the footer */
	void (*handler)(struct console *c, const struct keydef *k);
};
extern const struct keydef key_table[];
extern const size_t key_table_len;
const struct keydef *keys_find(int key, unsigned view_bit);
void keys_print_man(FILE *f);
/* The flags (CF_*) of what the key names: 0, or -1 when it names nothing. */
int keys_flags(const struct keydef *k, unsigned *flags);
int keys_writes(const struct keydef *k);   /* refused in read-only mode */

/* One row of the component table: the last status/check event as the
 * engine sent it, plus what the console learns from live events. */
struct row {
	char *name;
	json_t *st;             /* last "status"/"check" event (owned) */
	const char *live;       /* building/pushing/... from stage events, else NULL */
	char *live_version;
	char *attempt;          /* attempt whose log the buffer holds */
	int log_live;           /* the buffer is fed by live events */
	int log_requested;      /* a "logs" request was made for it */
	char *log_note;         /* why there is no log ("no attempts yet") */
	struct logbuf *log;
	/* t: where each line starts in the log file (by seq) and when the
	 * bytes arrived (ATTEMPT.log.times) */
	long long *loff;
	size_t nloff;
	long long *tend;
	double *tat;
	size_t nt;
};

enum req_kind {
	RQ_STATUS, RQ_ACTION, RQ_HISTORY, RQ_ATTEMPTS, RQ_LOGS, RQ_SHIPPED, RQ_RESET_HISTORY,
	RQ_UNSKIP_HISTORY, RQ_CHECK
};

struct req {
	struct req *next;
	json_int_t id;
	enum req_kind kind;
	char *cmd, *comp;
	int errors;             /* error events seen while it was the newest */
	json_t *acc;            /* events collected for it (array) */
};

enum dlg_kind { DLG_NONE, DLG_CONFIRM, DLG_CHOOSE, DLG_INPUT };

struct dialog {
	enum dlg_kind kind;
	char *title;
	struct strv text;       /* the plan, one paragraph per entry */
	struct strv choices;    /* DLG_CHOOSE */
	int choice;
	char *prompt;           /* DLG_INPUT / field label */
	char input[256];
	size_t input_len;
	int has_input;          /* a text field in a confirm dialog (skip reason) */
	const char *ok_label;
	int focus;              /* 0 = Cancel, 1 = OK, 2 = the field or list */
	/* what OK does */
	void (*on_ok)(struct console *c);
	char *comp, *version, *cmd;
};

enum { D_HEADER = 1, D_BODY = 2, D_FOOTER = 4, D_DIALOG = 8, D_ALL = 15,
       D_LAYOUT = 16 /* the windows are made again before the next draw */ };

struct console {
	struct client *cl;
	const struct console_opts *o;
	int gone;               /* the engine went away */
	int readonly, utf8, ascii, color;
	struct theme theme;
	attr_t role_attr[R_COUNT];
	char *theme_error;      /* shown as a flash at start and on stderr at exit */
	char repo[128], branch[128];
	int paused;

	struct row *rows;
	size_t nrows;
	int sel, table_top;

	enum view_id view, main_focus;
	unsigned dirty;
	int too_small, quit;

	WINDOW *w_header, *w_table, *w_log, *w_full, *w_footer, *w_dialog;
	int cols, lines;

	/* log pane */
	int follow, wrap, stamps;
	long long log_top;      /* first shown line (absolute seq) when not following */
	char search[128];
	long long match_line;   /* -1 none */
	long long match_index, match_total;   /* "3/7" */
	char filter[64];        /* table: / shows the rows whose name or state contain it */
	int sort;               /* table: 0 config order, 1 state, 2 name, 3 last result */
	long long log_shown_top, log_shown_bottom;   /* from the last draw */
	int log_rows;
	double log_drawn_at;
	int log_pending;        /* log changed since the last draw */

	/* the attempts and history views' data (from their requests) */
	json_t *attempts;       /* array of attempt events for attempts_comp */
	char *attempts_comp;
	json_t *history;        /* array of record/hold events */
	/* where each full-body view is: its own, touched only by its file */
	struct view_pos pos[VIEW_COUNT];

	struct req *reqs;       /* in submission order */
	json_int_t next_id;

	char flash[256];
	double flash_until;
	int flash_error;

	struct dialog dlg;
	/* line input in the footer ("/" search, save path) */
	int prompt_kind;        /* 0 none, 1 search, 2 save (unused), 3 table filter, 4 ':' line */
	char prompt_buf[256];
	size_t prompt_len;
};

/* model.c: rows and requests (no curses) */
const char *ui_s(json_t *o, const char *k);
struct row *ui_selected(struct console *c);
struct row *ui_find_row(struct console *c, const char *name);
struct row *ui_row_status(struct console *c, json_t *ev, int *added);
const char *ui_state_of(const struct row *r);
const char *ui_stage_word(const char *stage);
double ui_line_time(const struct row *r, long long seq);   /* 0: not known */
json_int_t ui_submit(struct console *c, enum req_kind kind, const char *cmd, const char *comp,
		     json_t *extra);
struct req *ui_req_of(struct console *c, json_t *ev);       /* by the event's job id */
struct req *ui_req_kind(struct console *c, unsigned kinds); /* 1u << RQ_... */
struct req *ui_req_take(struct console *c, json_int_t id);
void ui_req_free(struct req *r);
void ui_request_log(struct console *c, struct row *r, const char *attempt);
long long ui_next_run(const struct console *c);   /* soonest next_run, 0 none */


/* events.c */
void ui_on_event(struct console *c, json_t *ev);
void ui_load_log_file(struct console *c, struct row *r, const char *path);

/* dialog.c */
struct dialog *ui_dlg_open(struct console *c, enum dlg_kind kind, const char *title, const char *ok);
void ui_dlg_close(struct console *c);
void ui_dlg_key(struct console *c, int ch);
void ui_dlg_draw(struct console *c);

/* actions.c */
int ui_key_allowed(struct console *c, const struct keydef *k);   /* says why not */
void ui_reset_dialog(struct console *c, const char *comp, struct strv *versions);
void ui_unskip_dialog(struct console *c, const char *comp, const struct strv *skipped);

/* cmdline.c */
void ui_prompt_key(struct console *c, int ch);

/* view.c */
void ui_set_view(struct console *c, enum view_id v);

/* draw.c: helpers and the frame */
int ui_put(struct console *c, WINDOW *w, int y, int x, int maxw, const char *s, attr_t a);
size_t ui_decode(const struct console *c, const char *s, size_t len, wchar_t *wc, unsigned char *wd,
		 size_t *boff, size_t max);
void ui_rule(struct console *c, WINDOW *w, int y, const char *title, int focused);
const char *ui_glyph(const struct console *c, const char *state);
enum theme_role ui_state_role(const char *state);
void ui_age(long long secs, char *buf, size_t len);
void ui_fit(const struct console *c, const char *s, int maxw, char *out, size_t outlen);
void ui_when(long long t, char *buf, size_t len);
long long ui_parse_time(const char *iso);
void ui_list_scroll(int *sel, int *top, int n, int rows);
void ui_draw_header(struct console *c);
void ui_draw_footer(struct console *c);
void ui_flash(struct console *c, int error, const char *fmt, ...)   /* the footer's message */
	__attribute__((format(printf, 3, 4)));

/* view_table.c, view_log.c */
int ui_problem(struct console *c, struct row *r, char *l1, size_t n1, char *l2, size_t n2);
void log_search(struct console *c, int dir);
int ui_table_order(struct console *c, int *out);
void ui_table_problem(struct console *c, int dir);
void ui_table_click(struct console *c, int y);
extern const char *const ui_sort_names[4];

/* key handlers (keys.c names them; actions.c, cmdline.c, console.c) */
#define KH(name) void name(struct console *c, const struct keydef *k)
KH(kh_up); KH(kh_down); KH(kh_pgup); KH(kh_pgdn); KH(kh_home); KH(kh_end);
KH(kh_enter); KH(kh_tab); KH(kh_back); KH(kh_follow); KH(kh_wrap); KH(kh_search);
KH(kh_next); KH(kh_prev); KH(kh_save); KH(kh_help); KH(kh_history); KH(kh_attempts);
KH(kh_quit); KH(kh_engine); KH(kh_redraw); KH(kh_check); KH(kh_submit); KH(kh_rebuild);
KH(kh_reset); KH(kh_skip); KH(kh_unskip); KH(kh_pin); KH(kh_pause); KH(kh_sort); KH(kh_cmdline); KH(kh_stamps);
#undef KH

#endif
