/* theme.c - theme files: parsing, validation with file:line, look-up. */
#include "theme.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>

#include "util.h"

#ifndef TALLY_THEMES_DIR
#define TALLY_THEMES_DIR "themes"
#endif

const char *const theme_role_names[R_COUNT] = {
	"header", "border", "selected", "current", "outdated", "ahead", "unknown",
	"building", "failed", "pinned", "log", "match", "dialog", "flash",
};

static const char builtin_text[] =
	"# tally default theme: calm on dark and light terminals alike\n"
	"header   = white    blue    bold\n"
	"border   = cyan     default\n"
	"selected = black    cyan\n"
	"current  = green    default\n"
	"outdated = yellow   default bold\n"
	"ahead    = magenta  default\n"
	"unknown  = default  default dim\n"
	"building = cyan     default bold\n"
	"failed   = red      default bold\n"
	"pinned   = blue     default bold\n"
	"log      = default  default\n"
	"match    = black    yellow\n"
	"dialog   = white    blue\n"
	"flash    = black    yellow  bold\n";

static const unsigned mono[R_COUNT] = {
	[R_HEADER] = THEME_A_REVERSE | THEME_A_BOLD,
	[R_BORDER] = 0,
	[R_SELECTED] = THEME_A_REVERSE,
	[R_CURRENT] = 0,
	[R_OUTDATED] = THEME_A_BOLD,
	[R_AHEAD] = THEME_A_UNDERLINE,
	[R_UNKNOWN] = THEME_A_DIM,
	[R_BUILDING] = THEME_A_BOLD,
	[R_FAILED] = THEME_A_BOLD | THEME_A_UNDERLINE,
	[R_PINNED] = THEME_A_UNDERLINE,
	[R_LOG] = 0,
	[R_MATCH] = THEME_A_REVERSE | THEME_A_BOLD,
	[R_DIALOG] = 0,
	[R_FLASH] = THEME_A_REVERSE | THEME_A_BOLD,
};

unsigned theme_mono_attrs(enum theme_role r)
{
	return mono[r];
}

static const char *const colour_names[8] = {"black", "red", "green", "yellow",
					    "blue", "magenta", "cyan", "white"};

static int parse_colour(const char *w, short *out)
{
	if (strcmp(w, "default") == 0) {
		*out = -1;
		return 0;
	}
	const char *base = w;
	int bright = 0;
	if (strncmp(w, "bright-", 7) == 0) {
		base = w + 7;
		bright = 8;
	}
	for (int i = 0; i < 8; i++)
		if (strcmp(base, colour_names[i]) == 0) {
			*out = (short)(i + bright);
			return 0;
		}
	if (strncmp(w, "color", 5) == 0 && w[5]) {
		char *end;
		errno = 0;
		long n = strtol(w + 5, &end, 10);
		if (!*end && !errno && n >= 0 && n <= 255) {
			*out = (short)n;
			return 0;
		}
	}
	return -1;
}

static const struct {
	const char *name;
	unsigned bit;
} attr_names[] = {
	{"bold", THEME_A_BOLD}, {"dim", THEME_A_DIM}, {"underline", THEME_A_UNDERLINE},
	{"reverse", THEME_A_REVERSE}, {"standout", THEME_A_STANDOUT}, {"italic", THEME_A_ITALIC},
	{"none", 0},
};

static int parse_line(char *line, struct theme *t, char *why, size_t wlen)
{
	char *eq = strchr(line, '=');
	if (!eq) {
		snprintf(why, wlen, "expected 'role = fg bg [attrs]'");
		return -1;
	}
	*eq = 0;
	char *role = strtok(line, " \t");
	if (!role || strtok(NULL, " \t")) {
		snprintf(why, wlen, "expected one role name before '='");
		return -1;
	}
	int r = -1;
	for (int i = 0; i < R_COUNT; i++)
		if (strcmp(role, theme_role_names[i]) == 0)
			r = i;
	if (r < 0) {
		struct sbuf sb = {0};
		for (int i = 0; i < R_COUNT; i++)
			sbuf_addf(&sb, "%s%s", i ? " " : "", theme_role_names[i]);
		snprintf(why, wlen, "unknown role '%s' (roles: %s)", role, sbuf_str(&sb));
		sbuf_free(&sb);
		return -1;
	}
	struct theme_entry e = {.fg = -1, .bg = -1, .set = 1};
	char *fg = strtok(eq + 1, " \t,");
	char *bg = fg ? strtok(NULL, " \t,") : NULL;
	if (!fg || !bg) {
		snprintf(why, wlen, "%s: expected a foreground and a background colour", role);
		return -1;
	}
	if (parse_colour(fg, &e.fg) < 0 || parse_colour(bg, &e.bg) < 0) {
		snprintf(why, wlen, "%s: unknown colour '%s' (a name, bright-NAME, color0..color255 or default)",
			 role, parse_colour(fg, &e.fg) < 0 ? fg : bg);
		return -1;
	}
	for (char *a; (a = strtok(NULL, " \t,|"));) {
		size_t k = 0, n = sizeof attr_names / sizeof attr_names[0];
		while (k < n && strcmp(a, attr_names[k].name) != 0)
			k++;
		if (k == n) {
			snprintf(why, wlen, "%s: unknown attribute '%s' (bold dim underline reverse standout italic none)",
				 role, a);
			return -1;
		}
		e.attrs |= attr_names[k].bit;
	}
	t->e[r] = e;
	return 0;
}

static int parse_into(const char *name, const char *text, struct theme *t, char *err, size_t errlen)
{
	char *copy = xstrdup(text);
	int lineno = 0, rc = 0;
	for (char *save = NULL, *p = copy, *nl; p && rc == 0; p = nl) {
		(void)save;
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = 0;
		lineno++;
		char *hash = strchr(p, '#');
		if (hash)
			*hash = 0;
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		size_t l = strlen(p);
		while (l && (p[l - 1] == ' ' || p[l - 1] == '\t' || p[l - 1] == '\r'))
			p[--l] = 0;
		if (!*p)
			continue;
		char why[256];
		if (parse_line(p, t, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

void theme_builtin(struct theme *t)
{
	char err[64];
	memset(t, 0, sizeof *t);
	snprintf(t->name, sizeof t->name, "default");
	parse_into("builtin", builtin_text, t, err, sizeof err);
}

int theme_parse(const char *name, const char *text, struct theme *t, char *err, size_t errlen)
{
	theme_builtin(t);
	struct theme tmp = *t;
	if (parse_into(name, text, &tmp, err, errlen) < 0)
		return -1;
	*t = tmp;
	return 0;
}

static int valid_name(const char *n)
{
	if (!*n || strlen(n) > 48)
		return 0;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return n[0] != '.';
}

int theme_load(const char *name, struct theme *t, char *err, size_t errlen)
{
	theme_builtin(t);
	if (!name || !*name)
		return 0;
	struct strv cands = {0};
	if (strchr(name, '/')) {
		strv_push(&cands, name);
	} else {
		if (!valid_name(name)) {
			snprintf(err, errlen, "theme '%s': not a theme name (letters, digits, - _ .)", name);
			return -1;
		}
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		if (xdg && *xdg)
			strv_push_owned(&cands, xasprintf("%s/tally/themes/%s.theme", xdg, name));
		else if (home && *home)
			strv_push_owned(&cands, xasprintf("%s/.config/tally/themes/%s.theme", home, name));
		/* installed: PREFIX/bin/tally finds PREFIX/share/tally/themes;
		 * in the build tree, the source tree's themes/ */
		char exe[4096];
		ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = 0;
			char *slash = strrchr(exe, '/');
			if (slash) {
				*slash = 0;
				strv_push_owned(&cands, xasprintf("%s/../share/tally/themes/%s.theme", exe, name));
			}
		}
		strv_push_owned(&cands, xasprintf("%s/%s.theme", TALLY_THEMES_DIR, name));
	}
	int rc = -1;
	for (size_t i = 0; i < cands.n; i++) {
		struct sbuf sb = {0};
		struct tally_err terr = {0};
		if (util_read_file(cands.v[i], &sb, &terr) < 0) {
			sbuf_free(&sb);
			continue;
		}
		rc = theme_parse(cands.v[i], sbuf_str(&sb), t, err, errlen);
		sbuf_free(&sb);
		if (rc == 0) {
			const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
			snprintf(t->name, sizeof t->name, "%.*s", (int)strcspn(base, "."), base);
		}
		strv_free(&cands);
		return rc;
	}
	strv_free(&cands);
	if (strcmp(name, "default") == 0)
		return 0;
	snprintf(err, errlen, "theme '%s' not found (looked in $XDG_CONFIG_HOME/tally/themes, PREFIX/share/tally/themes and %s)", name,
		 TALLY_THEMES_DIR);
	return -1;
}

/* xterm's 256 colours: 16-231 a 6x6x6 cube, 232-255 a grey ramp */
static void rgb_of(int c, int *r, int *g, int *b)
{
	static const int lv[6] = {0, 95, 135, 175, 215, 255};
	if (c >= 232) {
		*r = *g = *b = 8 + (c - 232) * 10;
	} else {
		c -= 16;
		*r = lv[c / 36];
		*g = lv[(c / 6) % 6];
		*b = lv[c % 6];
	}
}

short theme_fit_color(short c, int colors, int *bold)
{
	if (c < 0 || c < colors)
		return c;
	if (c >= 16) {
		int r, g, b;
		rgb_of(c, &r, &g, &b);
		int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
		int bright = mx > 200;
		int idx = (r > mx / 2 ? 1 : 0) | (g > mx / 2 ? 2 : 0) | (b > mx / 2 ? 4 : 0);
		if (mx < 60)
			idx = 0;
		c = (short)(idx + (bright ? 8 : 0));
		if (c < colors)
			return c;
	}
	/* 8-15 on an 8-colour terminal: the base colour, bold */
	if (bold)
		*bold = 1;
	return (short)(c - 8);
}
