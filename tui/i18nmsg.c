/* i18nmsg.c - the engine's English messages matched back to their formats
 * and shown translated (see i18nmsg.h). A set is built once (the global
 * one under pthread_once) and then only read; the cache of the global set
 * has its own mutex. */
#include "i18nmsg.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <libintl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hashindex.h"
#include "i18n.h"
#include "util.h"

/* what one conversion of a format matches in the text it made */
enum tk_kind { TK_LIT, TK_STR, TK_INT, TK_HEX, TK_OCT, TK_FLOAT, TK_CHAR, TK_PTR, TK_STAR };

struct tok {
	enum tk_kind kind;
	const char *lit;   /* TK_LIT: into the pattern's own copy, not terminated */
	size_t len;        /* TK_LIT: bytes; TK_STR: the precision, or SIZE_MAX */
	int arg;           /* conversions: the argument's index */
};

struct pat {
	char *en, *tr;
	struct tok *t;
	int nt, nargs;
	size_t litbytes;        /* letters of literal text: the most specific wins */
	size_t litall;          /* bytes of literal text: the next test */
	const char *longest;    /* the longest literal run, a quick test */
	size_t longest_len;
};

struct i18nmsg_set {
	struct pat *p;          /* formats, most literal text first once sorted */
	size_t np, capp;
	int sorted;
	char **ex_en, **ex_tr;  /* texts without conversions: exact lookups */
	size_t nex, capex;
	struct hashindex ex_ix;
};

/* One conversion: %[n$][flags][width|*[m$]][.prec|.*[m$]][length]conv.
 * Returns the bytes it spans, 0 when it is not one this code knows. */
struct conv {
	int pos;              /* n of n$, 0 when sequential */
	int wstar, wstar_pos; /* a '*' width (and its m$) */
	int pstar, pstar_pos;
	long prec;            /* -1: none */
	char c;               /* the conversion character */
};

/* digits then '$' at *p: their number, *p moved past them; else 0 */
static int dollar_at(const char **p)
{
	const char *q = *p;
	int n = 0;
	while (isdigit((unsigned char)*q))
		n = n * 10 + (*q++ - '0');
	if (*q != '$' || q == *p)
		return 0;
	*p = q + 1;
	return n;
}

static size_t parse_conv(const char *f, struct conv *cv)
{
	const char *p = f + 1;
	memset(cv, 0, sizeof *cv);
	cv->prec = -1;
	cv->pos = dollar_at(&p);
	while (*p && strchr("-+ #0'", *p))
		p++;
	if (*p == '*') {
		cv->wstar = 1;
		p++;
		cv->wstar_pos = dollar_at(&p);
	} else {
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == '.') {
		p++;
		if (*p == '*') {
			cv->pstar = 1;
			p++;
			cv->pstar_pos = dollar_at(&p);
		} else {
			cv->prec = 0;
			while (isdigit((unsigned char)*p))
				cv->prec = cv->prec * 10 + (*p++ - '0');
		}
	}
	while (*p && strchr("hlLqjzt", *p))
		p++;
	if (!*p || !strchr("sdiuxXocfFgGeEp", *p))
		return 0;
	cv->c = *p;
	return (size_t)(p - f) + 1;
}

static enum tk_kind kind_of(char c)
{
	switch (c) {
	case 's': return TK_STR;
	case 'd': case 'i': case 'u': return TK_INT;
	case 'x': case 'X': return TK_HEX;
	case 'o': return TK_OCT;
	case 'c': return TK_CHAR;
	case 'p': return TK_PTR;
	default: return TK_FLOAT;
	}
}

static void push_tok(struct pat *p, int *cap, struct tok t)
{
	if (p->nt == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		p->t = xrealloc(p->t, (size_t)*cap * sizeof *p->t);
	}
	p->t[p->nt++] = t;
}

/* Splits p->en into tokens; 0 when it has a conversion this code cannot
 * match (then the entry serves exact lookups only). */
static int compile(struct pat *p)
{
	int cap = 0, seq = 0;
	const char *f = p->en, *lit = f;
	while (*f) {
		if (*f != '%') {
			f++;
			continue;
		}
		if (f[1] == '%') {   /* the literal '%': a run of its own */
			if (f > lit)
				push_tok(p, &cap, (struct tok){TK_LIT, lit, (size_t)(f - lit), 0});
			push_tok(p, &cap, (struct tok){TK_LIT, f, 1, 0});
			f += 2;
			lit = f;
			continue;
		}
		struct conv cv;
		size_t n = parse_conv(f, &cv);
		if (!n || cv.pos || cv.wstar_pos || cv.pstar_pos)
			return 0;    /* the English formats are sequential */
		if (f > lit)
			push_tok(p, &cap, (struct tok){TK_LIT, lit, (size_t)(f - lit), 0});
		if (cv.wstar)
			push_tok(p, &cap, (struct tok){TK_STAR, NULL, 0, seq++});
		if (cv.pstar)
			push_tok(p, &cap, (struct tok){TK_STAR, NULL, 0, seq++});
		push_tok(p, &cap, (struct tok){kind_of(cv.c), NULL,
					       cv.c == 's' && cv.prec >= 0 ? (size_t)cv.prec : SIZE_MAX, seq++});
		f += n;
		lit = f;
	}
	if (f > lit)
		push_tok(p, &cap, (struct tok){TK_LIT, lit, (size_t)(f - lit), 0});
	p->nargs = seq;
	/* two values side by side ("%s%s") cannot be told apart: such a
	 * format is never guessed at */
	for (int i = 0; i + 1 < p->nt; i++)
		if (p->t[i].kind != TK_LIT && p->t[i].kind != TK_STAR && p->t[i + 1].kind != TK_LIT)
			return 0;
	for (int i = 0; i < p->nt; i++) {
		if (p->t[i].kind != TK_LIT)
			continue;
		p->litall += p->t[i].len;
		for (size_t k = 0; k < p->t[i].len; k++)
			if (isalpha((unsigned char)p->t[i].lit[k]))
				p->litbytes++;
		if (p->t[i].len > p->longest_len) {
			p->longest = p->t[i].lit;
			p->longest_len = p->t[i].len;
		}
	}
	/* a format needs two words of its own: one word ("%s config %s")
	 * also turns up in other programs' text */
	int words = 0;
	for (int i = 0; i < p->nt; i++) {
		if (p->t[i].kind != TK_LIT)
			continue;
		for (size_t k = 0; k < p->t[i].len; k++)
			if (isalpha((unsigned char)p->t[i].lit[k]) && k + 1 < p->t[i].len &&
			    isalpha((unsigned char)p->t[i].lit[k + 1]) &&
			    (k == 0 || !isalpha((unsigned char)p->t[i].lit[k - 1])))
				words++;
	}
	return p->litbytes >= 4 && words >= 2;
}

struct i18nmsg_set *i18nmsg_set_new(void)
{
	return xcalloc(1, sizeof(struct i18nmsg_set));
}

static const char *ex_name(const void *ctx, size_t i)
{
	return ((const struct i18nmsg_set *)ctx)->ex_en[i];
}

void i18nmsg_set_add(struct i18nmsg_set *set, const char *english, const char *translated)
{
	if (!english || !*english || !translated)
		return;
	if (!strchr(english, '%')) {
		if (hashindex_find(&set->ex_ix, english, strlen(english), ex_name, set) >= 0)
			return;
		if (set->nex == set->capex) {
			set->capex = set->capex ? set->capex * 2 : 64;
			set->ex_en = xrealloc(set->ex_en, set->capex * sizeof *set->ex_en);
			set->ex_tr = xrealloc(set->ex_tr, set->capex * sizeof *set->ex_tr);
		}
		set->ex_en[set->nex] = xstrdup(english);
		set->ex_tr[set->nex] = xstrdup(translated);
		set->nex++;
		hashindex_added(&set->ex_ix, set->nex, ex_name, set);
		return;
	}
	struct pat p = {.en = xstrdup(english), .tr = xstrdup(translated)};
	if (!compile(&p)) {
		free(p.en);
		free(p.tr);
		free(p.t);
		return;
	}
	if (set->np == set->capp) {
		set->capp = set->capp ? set->capp * 2 : 64;
		set->p = xrealloc(set->p, set->capp * sizeof *set->p);
	}
	set->p[set->np++] = p;
	set->sorted = 0;
}

void i18nmsg_set_free(struct i18nmsg_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->np; i++) {
		free(set->p[i].en);
		free(set->p[i].tr);
		free(set->p[i].t);
	}
	for (size_t i = 0; i < set->nex; i++) {
		free(set->ex_en[i]);
		free(set->ex_tr[i]);
	}
	free(set->p);
	free(set->ex_en);
	free(set->ex_tr);
	hashindex_free(&set->ex_ix);
	free(set);
}

size_t i18nmsg_set_count(const struct i18nmsg_set *set)
{
	return set ? set->np + set->nex : 0;
}

int i18nmsg_set_format(const struct i18nmsg_set *set, size_t i, const char **english, const char **translated)
{
	if (!set || i >= set->np)
		return 0;
	*english = set->p[i].en;
	*translated = set->p[i].tr;
	return 1;
}

/* Most letters of literal text first; then most literal bytes ("%s: %s is
 * not pinned" before "%s is not pinned", which matches the same text). */
static int by_specificity(const void *a, const void *b)
{
	const struct pat *x = a, *y = b;
	if (x->litbytes != y->litbytes)
		return x->litbytes > y->litbytes ? -1 : 1;
	if (x->litall != y->litall)
		return x->litall > y->litall ? -1 : 1;
	return strcmp(x->en, y->en);
}

/* ---- matching ---- */

struct span {
	size_t at, len;
};

struct mstate {
	const struct pat *p;
	const char *s;
	size_t n;
	struct span *caps;
	long budget;    /* steps left: a pathological text gives up, not hangs */
};

static size_t run_of(const char *s, size_t n, const char *set)
{
	size_t k = 0;
	while (k < n && s[k] && strchr(set, s[k]))
		k++;
	return k;
}

/* The lengths a numeric conversion may take at s: at most *maxlen bytes. */
static size_t num_len(enum tk_kind k, const char *s, size_t n)
{
	size_t i = run_of(s, n, " ");   /* a width pads with spaces */
	switch (k) {
	case TK_INT:
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		return i + run_of(s + i, n - i, "0123456789");
	case TK_HEX:
		if (i + 1 < n && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
			i += 2;
		return i + run_of(s + i, n - i, "0123456789abcdefABCDEF");
	case TK_OCT:
		return i + run_of(s + i, n - i, "01234567");
	case TK_FLOAT:
		if (n - i >= 3 && (!strncmp(s + i, "inf", 3) || !strncmp(s + i, "nan", 3)))
			return i + 3;
		return i + run_of(s + i, n - i, "0123456789.eE+-");
	case TK_PTR:
		if (n - i >= 5 && !strncmp(s + i, "(nil)", 5))
			return i + 5;
		return i + run_of(s + i, n - i, "0123456789abcdefx");
	default:
		return 0;
	}
}

static int match_from(struct mstate *m, int ti, size_t si)
{
	if (--m->budget < 0)
		return 0;
	if (ti == m->p->nt)
		return si == m->n;
	const struct tok *t = &m->p->t[ti];
	const char *s = m->s;
	size_t rest = m->n - si;
	switch (t->kind) {
	case TK_LIT:
		if (rest < t->len || memcmp(s + si, t->lit, t->len) != 0)
			return 0;
		return match_from(m, ti + 1, si + t->len);
	case TK_STAR:
		m->caps[t->arg] = (struct span){si, 0};
		return match_from(m, ti + 1, si);
	case TK_CHAR: {
		if (!rest)
			return 0;
		size_t len = 1;
		while (len < rest && ((unsigned char)s[si + len] & 0xC0) == 0x80)
			len++;
		m->caps[t->arg] = (struct span){si, len};
		return match_from(m, ti + 1, si + len);
	}
	case TK_STR: {
		size_t maxlen = t->len < rest ? t->len : rest;
		if (ti + 1 == m->p->nt) {   /* the last token takes the rest */
			if (rest > maxlen)
				return 0;
			m->caps[t->arg] = (struct span){si, rest};
			return 1;
		}
		const struct tok *next = &m->p->t[ti + 1];
		if (next->kind == TK_LIT) {   /* only where the next literal is */
			const char *from = s + si;
			for (;;) {
				const char *hit = memmem(from, m->n - (size_t)(from - s), next->lit, next->len);
				if (!hit || (size_t)(hit - (s + si)) > maxlen)
					return 0;
				m->caps[t->arg] = (struct span){si, (size_t)(hit - (s + si))};
				if (match_from(m, ti + 1, (size_t)(hit - s)))
					return 1;
				from = hit + 1;
			}
		}
		for (size_t len = 0; len <= maxlen; len++) {
			m->caps[t->arg] = (struct span){si, len};
			if (match_from(m, ti + 1, si + len))
				return 1;
		}
		return 0;
	}
	default: {
		size_t most = num_len(t->kind, s + si, rest);
		for (size_t len = most; len > 0; len--) {
			m->caps[t->arg] = (struct span){si, len};
			if (match_from(m, ti + 1, si + len))
				return 1;
		}
		return 0;
	}
	}
}

static char *apply_at(const struct i18nmsg_set *set, const char *s, size_t n, int depth);

/* The translated format with the captured values put in; values that are
 * sentences are translated too. */
static char *render(const struct i18nmsg_set *set, const struct pat *p, const char *s,
		    const struct span *caps, int depth)
{
	struct sbuf out = {0};
	int seq = 0;
	for (const char *f = p->tr; *f;) {
		if (*f != '%') {
			const char *e = strchr(f, '%');
			size_t len = e ? (size_t)(e - f) : strlen(f);
			sbuf_add(&out, f, len);
			f += len;
			continue;
		}
		if (f[1] == '%') {
			sbuf_add(&out, "%", 1);
			f += 2;
			continue;
		}
		struct conv cv;
		size_t n = parse_conv(f, &cv);
		if (!n) {   /* msgfmt --check keeps this from happening */
			sbuf_free(&out);
			return NULL;
		}
		if (cv.wstar && !cv.wstar_pos)
			seq++;
		if (cv.pstar && !cv.pstar_pos)
			seq++;
		int arg = cv.pos ? cv.pos - 1 : seq++;
		if (arg < 0 || arg >= p->nargs) {
			sbuf_free(&out);
			return NULL;
		}
		const struct span *v = &caps[arg];
		if (cv.c == 's' && memchr(s + v->at, ' ', v->len)) {
			char *inner = apply_at(set, s + v->at, v->len, depth + 1);
			sbuf_adds(&out, inner);
			free(inner);
		} else {
			sbuf_add(&out, s + v->at, v->len);
		}
		f += n;
	}
	return sbuf_detach(&out);
}

static char *apply_at(const struct i18nmsg_set *set, const char *s, size_t n, int depth)
{
	if (!set || depth > 4 || !n)
		return xstrndup(s, n);
	long ex = hashindex_find(&set->ex_ix, s, n, ex_name, set);
	if (ex >= 0)
		return xstrdup(set->ex_tr[ex]);
	struct span caps[32];
	for (size_t i = 0; i < set->np; i++) {
		const struct pat *p = &set->p[i];
		if (p->nargs > 32 || (p->longest_len && !memmem(s, n, p->longest, p->longest_len)))
			continue;
		struct mstate m = {p, s, n, caps, 20000};
		if (match_from(&m, 0, 0)) {
			char *r = render(set, p, s, caps, depth);
			if (r)
				return r;
		}
	}
	/* "PREFIX: message": the message translated, the prefix kept */
	for (const char *c = s; (c = memmem(c, n - (size_t)(c - s), ": ", 2)) != NULL; c += 2) {
		size_t at = (size_t)(c - s) + 2;
		char *tail = apply_at(set, s + at, n - at, depth + 1);
		if (strlen(tail) != n - at || memcmp(tail, s + at, n - at) != 0) {
			char *r = xasprintf("%.*s%s", (int)at, s, tail);
			free(tail);
			return r;
		}
		free(tail);
	}
	return xstrndup(s, n);
}

char *i18nmsg_apply(const struct i18nmsg_set *set, const char *msg)
{
	if (!msg)
		return NULL;
	if (set && !set->sorted) {   /* the first use sorts (one thread builds a set) */
		struct i18nmsg_set *w = (struct i18nmsg_set *)set;
		qsort(w->p, w->np, sizeof *w->p, by_specificity);
		w->sorted = 1;
	}
	return apply_at(set, msg, strlen(msg), 0);
}

/* ---- the process's set, from tally's .mo ---- */

static struct i18nmsg_set *global;
static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static uint32_t mo_word(const unsigned char *b, size_t off, int swap)
{
	uint32_t v;
	memcpy(&v, b + off, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* The msgids of one .mo file (any language: they are the English texts),
 * each added with gettext's translation in the current locale. */
static void load_mo(struct i18nmsg_set *set, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat st;
	if (fstat(fd, &st) != 0 || st.st_size < 28) {
		close(fd);
		return;
	}
	size_t size = (size_t)st.st_size;
	unsigned char *b = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (b == MAP_FAILED)
		return;
	uint32_t magic = mo_word(b, 0, 0);
	int swap = magic == 0xde120495u;
	if (magic == 0x950412deu || swap) {
		uint32_t count = mo_word(b, 8, swap), otab = mo_word(b, 12, swap);
		for (uint32_t i = 0; i < count && (size_t)otab + 8u * i + 8 <= size; i++) {
			uint32_t len = mo_word(b, otab + 8u * i, swap), off = mo_word(b, otab + 8u * i + 4, swap);
			if (!len || (size_t)off + len >= size || memchr(b + off, '\004', len))
				continue;   /* the header, and the short words with a context */
			const char *id = (const char *)b + off;
			if (strlen(id) != len)
				continue;   /* a plural pair: the engine makes none */
			const char *tr = i18n_gettext(id);
			if (tr != id)
				i18nmsg_set_add(set, id, tr);
		}
	}
	munmap(b, size);
}

static void global_init(void)
{
	global = i18nmsg_set_new();
	/* no catalog for this locale: messages stay as the engine made them */
	static const char header_id[] = "";   /* gettext of "" is the header */
	const char *hdr = i18n_gettext(header_id);
	if (!hdr || !*hdr)
		return;
	const char *dir = i18n_localedir();
	DIR *d = dir && *dir ? opendir(dir) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *path = xasprintf("%s/%s/LC_MESSAGES/tally.mo", dir, de->d_name);
		struct stat st;
		int found = stat(path, &st) == 0;
		if (found)
			load_mo(global, path);
		free(path);
		if (found)
			break;
	}
	if (d)
		closedir(d);
	char *warm = i18nmsg_apply(global, "");   /* sorts the set once, here */
	free(warm);
}

const struct i18nmsg_set *i18nmsg_global(void)
{
	pthread_once(&global_once, global_init);
	return global;
}

/* what was shown before: the console draws the same messages each frame */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static char **cache_en, **cache_tr;
static size_t cache_n;
static struct hashindex cache_ix;
#define CACHE_MAX 4096

static const char *cache_name(const void *ctx, size_t i)
{
	(void)ctx;
	return cache_en[i];
}

const char *i18n_em(const char *msg)
{
	static __thread char *ring[16];
	static __thread unsigned ring_at;
	if (!msg || !*msg)
		return msg;
	const struct i18nmsg_set *set = i18nmsg_global();
	if (!i18nmsg_set_count(set))
		return msg;
	char *r = NULL;
	pthread_mutex_lock(&cache_lock);
	long at = hashindex_find(&cache_ix, msg, strlen(msg), cache_name, NULL);
	if (at >= 0)
		r = xstrdup(cache_tr[at]);
	pthread_mutex_unlock(&cache_lock);
	if (!r) {
		r = i18nmsg_apply(set, msg);
		pthread_mutex_lock(&cache_lock);
		if (cache_n < CACHE_MAX && hashindex_find(&cache_ix, msg, strlen(msg), cache_name, NULL) < 0) {
			if (!cache_n) {
				cache_en = xcalloc(CACHE_MAX, sizeof *cache_en);
				cache_tr = xcalloc(CACHE_MAX, sizeof *cache_tr);
			}
			cache_en[cache_n] = xstrdup(msg);
			cache_tr[cache_n] = xstrdup(r);
			cache_n++;
			hashindex_added(&cache_ix, cache_n, cache_name, NULL);
		}
		pthread_mutex_unlock(&cache_lock);
	}
	unsigned slot = ring_at++ % 16;
	free(ring[slot]);
	ring[slot] = r;
	return r;
}
