/* theme.h - screen roles and themes (htop's model: an array indexed by an
 * enum of roles; the code never names a raw colour). A theme file has one
 * role per line, `role = fg bg [attr...]`, where a colour is a name
 * (black red green yellow blue magenta cyan white, bright-NAME), colorN
 * (0-255) or default, and attrs are bold dim underline reverse standout
 * italic or none. `#` starts a comment. Roles not named keep the built-in
 * default. */
#ifndef TALLY_THEME_H
#define TALLY_THEME_H

#include <stddef.h>

enum theme_role {
	R_HEADER, R_BORDER, R_SELECTED, R_CURRENT, R_OUTDATED, R_AHEAD, R_UNKNOWN, R_BUILDING,
	R_FAILED, R_PINNED, R_LOG, R_MATCH, R_DIALOG, R_FLASH, R_COUNT
};

struct theme_entry {
	short fg, bg;           /* -1: the terminal's default; 0-255 */
	unsigned attrs;         /* THEME_A_* */
	int set;
};

#define THEME_A_BOLD 1u
#define THEME_A_DIM 2u
#define THEME_A_UNDERLINE 4u
#define THEME_A_REVERSE 8u
#define THEME_A_STANDOUT 16u
#define THEME_A_ITALIC 32u

struct theme {
	char name[64];
	struct theme_entry e[R_COUNT];
};

extern const char *const theme_role_names[R_COUNT];

/* The built-in default theme (the same text as themes/default.theme). */
void theme_builtin(struct theme *t);
/* Parses theme text over the built-in default. On error returns -1 with
 * "NAME:LINE: what is wrong" in err (t is then the built-in default). */
int theme_parse(const char *name, const char *text, struct theme *t, char *err, size_t errlen);
/* Finds and loads theme NAME: a path when it contains '/', else
 * NAME.theme in $XDG_CONFIG_HOME/tally/themes/ (~/.config/...) and then
 * TALLY_THEMES_DIR. "default" without a file is the built-in theme. */
int theme_load(const char *name, struct theme *t, char *err, size_t errlen);
/* Attributes-only rendering of each role (NO_COLOR, mono terminals). */
unsigned theme_mono_attrs(enum theme_role r);
/* A colour usable on a terminal with `colors` colours (256 -> 16 -> 8). */
short theme_fit_color(short c, int colors, int *bold);

#endif
