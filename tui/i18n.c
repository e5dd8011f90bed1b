/* i18n.c - the locale and the message catalogs of the front ends (see
 * i18n.h): which catalog directory, and display widths for plain output.
 * Called once from main() before any thread starts. */
#include "i18n.h"

#include <limits.h>
#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#ifndef TALLY_BUILD_LOCALEDIR
#define TALLY_BUILD_LOCALEDIR ""
#endif

static char localedir[PATH_MAX];

/* $TALLY_LOCALEDIR; else PREFIX/share/locale for a binary in PREFIX/bin,
 * when it holds tally's catalogs; else the build tree's locale directory. */
static void find_localedir(void)
{
	/* $TALLY_LOCALEDIR wins (tests use a catalog of their own) */
	const char *env = getenv("TALLY_LOCALEDIR");
	if (env && *env) {
		snprintf(localedir, sizeof localedir, "%s", env);
		return;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = 0;
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = 0;
			char probe[PATH_MAX + 64];
			snprintf(probe, sizeof probe, "%s/../share/locale/zh_CN/LC_MESSAGES/tally.mo", exe);
			struct stat st;
			if (stat(probe, &st) == 0) {
				snprintf(localedir, sizeof localedir, "%.*s/../share/locale", PATH_MAX - 20, exe);
				return;
			}
		}
	}
	snprintf(localedir, sizeof localedir, "%s", TALLY_BUILD_LOCALEDIR);
}

/* the environment's LC_MESSAGES (and LC_CTYPE: gettext converts to its
 * charset), for tally's own lookups only */
static locale_t msg_locale = (locale_t)0;

void i18n_init(void)
{
	setlocale(LC_CTYPE, "");
	/* the process's LC_MESSAGES stays "C" (see i18n.h) */
	if (msg_locale == (locale_t)0)
		msg_locale = newlocale(LC_MESSAGES_MASK | LC_CTYPE_MASK, "", (locale_t)0);
	find_localedir();
	if (localedir[0])
		bindtextdomain("tally", localedir);
	textdomain("tally");
}

#undef gettext
#undef ngettext
const char *i18n_gettext(const char *msgid)
{
	if (msg_locale == (locale_t)0 || !msgid)
		return msgid;
	locale_t was = uselocale(msg_locale);
	const char *t = gettext(msgid);
	uselocale(was);
	return t;
}

const char *i18n_ngettext(const char *msgid, const char *plural, unsigned long n)
{
	if (msg_locale == (locale_t)0)
		return n == 1 ? msgid : plural;
	locale_t was = uselocale(msg_locale);
	const char *t = ngettext(msgid, plural, n);
	uselocale(was);
	return t;
}

const char *i18n_localedir(void)
{
	return localedir;
}

/* The words of the protocol (SPEC section 2) shown to people: states,
 * stages, results and actions. JSON keeps them in English. */
static const char *const words[] = {
	NC_("word", "current"),   NC_("word", "outdated"),  NC_("word", "ahead"),     NC_("word", "unknown"),
	NC_("word", "building"),  NC_("word", "pushing"),   NC_("word", "verifying"), NC_("word", "recording"),
	NC_("word", "failed"),    NC_("word", "pinned"),    NC_("word", "unchecked"), NC_("word", "base-moved"),
	NC_("word", "build"),     NC_("word", "push"),      NC_("word", "verify"),    NC_("word", "record"),
	NC_("word", "floating"),  NC_("word", "check"),     NC_("word", "started"),   NC_("word", "ok"),
	NC_("word", "shipped"),   NC_("word", "cancelled"), NC_("word", "planned"),   NC_("word", "ship"),
	NC_("word", "rebuild"),   NC_("word", "reset"),     NC_("word", "retry"),     NC_("word", "adopt"),
	NC_("word", "skip"),      NC_("word", "unskip"),    NC_("word", "pin"),       NC_("word", "unpin"),
};

const char *i18n_ctx(const char *ctx, const char *word)
{
	if (!word || !*word)
		return word;
	char id[128];
	snprintf(id, sizeof id, "%s\004%s", ctx, word);
	const char *t = i18n_gettext(id);
	return t == id ? word : t;
}

const char *i18n_word(const char *word)
{
	for (size_t i = 0; word && i < sizeof words / sizeof words[0]; i++)
		if (strcmp(word, words[i]) == 0)
			return i18n_ctx("word", word);
	return word;
}

const char *i18n_pgettext(const char *ctx_id, const char *id)
{
	const char *t = i18n_gettext(ctx_id);
	return t == ctx_id ? id : t;
}

/* The character at s + i: its bytes (an invalid byte is one character
 * '?' of one column), *ch and its columns *cw. */
static size_t next_char(const char *s, size_t len, size_t i, mbstate_t *st, wchar_t *ch, int *cw)
{
	size_t r = mbrtowc(ch, s + i, len - i, st);
	if (r == (size_t)-1 || r == (size_t)-2 || r == 0) {
		memset(st, 0, sizeof *st);
		*ch = L'?';
		*cw = 1;
		return 1;
	}
	*cw = wcwidth(*ch);
	if (*cw < 0)
		*cw = 1;
	return r;
}

int i18n_width(const char *s)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t len = strlen(s), i = 0;
	int w = 0;
	while (i < len) {
		wchar_t ch;
		int cw;
		i += next_char(s, len, i, &st, &ch, &cw);
		w += cw;
	}
	return w;
}

void i18n_pad(FILE *f, const char *s, int width)
{
	fputs(s, f);
	for (int w = i18n_width(s); w < width; w++)
		fputc(' ', f);
}

/* CJK punctuation that never starts a line (it closes what comes before) */
static int closes(wchar_t ch)
{
	return ch && wcschr(L"\x3001\x3002\xff0c\xff1b\xff1a\xff09\xff01\xff1f\x300b\x300d\x300f\x3011\x2026", ch) != NULL;
}

size_t i18n_cut(const char *s, int room)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t len = strlen(s), i = 0, space = 0, wide = 0, wide_before = 0;
	int w = 0;
	while (i < len) {
		wchar_t ch;
		int cw;
		size_t r = next_char(s, len, i, &st, &ch, &cw);
		if (wide == i && closes(ch))
			wide = wide_before;   /* never break just before ，。） */
		if (w + cw > room && ch == L' ')
			return i;
		if (w + cw > room)
			return space > wide ? space : wide ? wide : i ? i : r;
		if (ch == L' ')
			space = i;
		w += cw;
		i += r;
		if (cw == 2) {
			wide_before = wide;
			wide = i;   /* a line may end after a wide character */
		}
	}
	return len;
}

char *i18n_cell(char *out, size_t outlen, const char *s, int width)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t len = strlen(s), i = 0, o = 0;
	int w = 0;
	while (i < len) {
		wchar_t ch;
		int cw;
		size_t r = next_char(s, len, i, &st, &ch, &cw);
		if (w + cw > width || o + r >= outlen)
			break;
		memcpy(out + o, s + i, r);
		o += r;
		i += r;
		w += cw;
	}
	while (w < width && o + 1 < outlen) {
		out[o++] = ' ';
		w++;
	}
	out[o] = 0;
	return out;
}
