/* cron.c - the schedule's cron expressions and the retry backoff (see
 * cron.h). Pure; any thread. */
#include "cron.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Each field is a bitmask of allowed values: bit v set means v matches.
 * Day-of-week 7 is folded into bit 0 at parse time. */
struct cron {
	uint64_t minute;        /* bits 0-59 */
	uint32_t hour;          /* bits 0-23 */
	uint32_t dom;           /* bits 1-31 */
	uint32_t month;         /* bits 1-12 */
	uint32_t dow;           /* bits 0-6, Sunday is 0 */
	int dom_star, dow_star; /* the field began with '*' (Vixie's DOM_STAR/DOW_STAR) */
};

enum field { F_MINUTE, F_HOUR, F_DOM, F_MONTH, F_DOW, F_COUNT };

struct field_info {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] stands for min + i; NULL when none */
	int nnames;
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					    "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

static const struct field_info fields[F_COUNT] = {
	[F_MINUTE] = { "minute", 0, 59, NULL, 0 },
	[F_HOUR] = { "hour", 0, 23, NULL, 0 },
	[F_DOM] = { "day-of-month", 1, 31, NULL, 0 },
	[F_MONTH] = { "month", 1, 12, month_names, 12 },
	[F_DOW] = { "day-of-week", 0, 7, day_names, 7 },
};

/* Message context: keeps the error calls short and the wording uniform. */
struct pctx {
	const char *ctx;
	struct tally_err *err;
	const struct field_info *f;
	const char *text;       /* the whole field, NUL-terminated */
};

/* Field and item text in messages is cut so a hostile schedule cannot bury
 * the message; the field name and the start of the text are enough to find it. */
#define SHOW 40

static int cron_fail(const struct pctx *p, const char *item, size_t itemlen, const char *what)
{
	char shown[SHOW + 4];
	snprintf(shown, sizeof shown, "%.*s%s", itemlen > SHOW ? SHOW : (int)itemlen, item,
		 itemlen > SHOW ? "..." : "");
	tally_err_set(p->err, TC_INPUT, "%s field '%s' %s", p->f->name, shown, what);
	return p->ctx ? tally_err_prefix(p->err, "%s", p->ctx) : -1;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Reads a number or (where the field has them) a three-letter name at *s,
 * advancing *s. Numbers saturate instead of overflowing, so "99999999999"
 * reports as out of range. Returns 0, or -1 with *bad set to 1 when there is
 * no number or name here at all, 2 when a word is not a known name. */
static int read_value(const struct field_info *f, const char **s, const char *end, long *out,
		      int *bad)
{
	const char *q = *s;
	if (q < end && is_digit(*q)) {
		long v = 0;
		while (q < end && is_digit(*q)) {
			if (v < 1000000)
				v = v * 10 + (*q - '0');
			q++;
		}
		*out = v;
		*s = q;
		return 0;
	}
	if (q < end && is_alpha(*q)) {
		const char *w = q;
		while (q < end && is_alpha(*q))
			q++;
		if (f->names && q - w == 3) {
			for (int i = 0; i < f->nnames; i++) {
				const char *nm = f->names[i];
				if (lower(w[0]) == nm[0] && lower(w[1]) == nm[1] && lower(w[2]) == nm[2]) {
					*out = f->min + i;
					*s = q;
					return 0;
				}
			}
		}
		*bad = 2;
		*s = q;
		return -1;
	}
	*bad = 1;
	return -1;
}

static int range_msg(const struct pctx *p, const char *item, size_t len)
{
	char what[64];
	snprintf(what, sizeof what, "out of range %d-%d", p->f->min, p->f->max);
	return cron_fail(p, item, len, what);
}

static int bad_value_msg(const struct pctx *p, const char *item, size_t len, int bad)
{
	if (bad == 2 && p->f->names)
		return cron_fail(p, item, len,
			    p->f->names == month_names
				    ? "has an unknown month name; use 1-12 or jan-dec"
				    : "has an unknown day name; use 0-7 or sun-sat");
	if (bad == 2)
		return cron_fail(p, item, len, "is not a number; write numbers, '*', a-b, a,b or */n");
	return cron_fail(p, item, len, "is malformed; write numbers, '*', a-b, a,b or */n");
}

/* Parses one list item [s, end) into *mask. */
static int parse_item(const struct pctx *p, const char *s, const char *end, uint64_t *mask)
{
	const struct field_info *f = p->f;
	size_t len = (size_t)(end - s);
	const char *q = s;
	long lo, hi, step = 1;
	int bad = 0;

	if (len == 0)
		return cron_fail(p, p->text, strlen(p->text), "has an empty list item");
	if (*q == '*') {
		lo = f->min;
		hi = f->max;
		q++;
	} else {
		if (read_value(f, &q, end, &lo, &bad) != 0)
			return bad_value_msg(p, s, len, bad);
		if (lo < f->min || lo > f->max)
			return range_msg(p, s, len);
		hi = lo;
		if (q < end && *q == '-') {
			q++;
			if (read_value(f, &q, end, &hi, &bad) != 0)
				return bad_value_msg(p, s, len, bad);
			if (hi < f->min || hi > f->max)
				return range_msg(p, s, len);
			if (hi < lo)
				return cron_fail(p, s, len, "is a range that goes backwards; write low-high");
		} else if (q < end && *q == '/') {
			hi = f->max; /* a/n: from a to the maximum */
		}
	}
	if (q < end && *q == '/') {
		q++;
		if (q >= end || !is_digit(*q))
			return cron_fail(p, s, len, "has no step after '/'");
		if (read_value(f, &q, end, &step, &bad) != 0)
			return bad_value_msg(p, s, len, bad);
		if (step < 1 || step > f->max - f->min + 1) {
			char what[64];
			snprintf(what, sizeof what, "has step %ld; use 1-%d", step,
				 f->max - f->min + 1);
			return cron_fail(p, s, len, what);
		}
	}
	if (q != end)
		return bad_value_msg(p, s, len, 1);
	for (long v = lo; v <= hi; v += step)
		*mask |= (uint64_t)1 << v;
	return 0;
}

static int parse_field(const struct pctx *p, uint64_t *mask)
{
	const char *s = p->text;
	const char *end = s + strlen(s);
	*mask = 0;
	for (;;) {
		const char *comma = memchr(s, ',', (size_t)(end - s));
		const char *iend = comma ? comma : end;
		if (parse_item(p, s, iend, mask) != 0)
			return -1;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

int cron_parse(const char *expr, struct cron **out, const char *ctx, struct tally_err *err)
{
	char buf[F_COUNT][CRON_FIELD_MAX + 1];
	uint64_t mask[F_COUNT];
	const char *s = expr ? expr : "";
	struct pctx p = { ctx, err, NULL, NULL };
	const char *pre = ctx ? ctx : "";
	const char *sep = ctx ? ": " : "";

	*out = NULL;
	for (int i = 0; i < F_COUNT; i++) {
		while (is_space(*s))
			s++;
		const char *w = s;
		while (*s && !is_space(*s))
			s++;
		size_t len = (size_t)(s - w);
		p.f = &fields[i];
		if (len == 0)
			return tally_err_set(err, TC_INPUT,
					     "%s%s%s field missing; a schedule has 5 fields: minute hour "
					     "day-of-month month day-of-week (e.g. \"0 2 * * *\")",
					     pre, sep, fields[i].name);
		if (len > CRON_FIELD_MAX) {
			char what[80];
			snprintf(what, sizeof what, "is %zu characters long; at most %d", len,
				 CRON_FIELD_MAX);
			return cron_fail(&p, w, len, what);
		}
		memcpy(buf[i], w, len);
		buf[i][len] = '\0';
	}
	while (is_space(*s))
		s++;
	if (*s) {
		const char *w = s;
		while (*s && !is_space(*s))
			s++;
		int n = s - w > SHOW ? SHOW : (int)(s - w);
		return tally_err_set(err, TC_INPUT,
				     "%s%sunexpected '%.*s%s' after the day-of-week field; a schedule "
				     "has 5 fields: minute hour day-of-month month day-of-week",
				     pre, sep, n, w, s - w > SHOW ? "..." : "");
	}
	for (int i = 0; i < F_COUNT; i++) {
		p.f = &fields[i];
		p.text = buf[i];
		if (parse_field(&p, &mask[i]) != 0)
			return -1;
	}

	struct cron *c = calloc(1, sizeof *c);
	if (!c)
		return tally_err_set(err, TC_INTERNAL, "out of memory parsing a schedule");
	c->minute = mask[F_MINUTE];
	c->hour = (uint32_t)mask[F_HOUR];
	c->dom = (uint32_t)mask[F_DOM];
	c->month = (uint32_t)mask[F_MONTH];
	c->dow = (uint32_t)(mask[F_DOW] & 0x7f);
	if (mask[F_DOW] & (1u << 7))
		c->dow |= 1u; /* 7 is Sunday too */
	c->dom_star = buf[F_DOM][0] == '*';
	c->dow_star = buf[F_DOW][0] == '*';
	*out = c;
	return 0;
}

void cron_free(struct cron *c)
{
	free(c);
}

static int day_matches(const struct cron *c, const struct tm *tm)
{
	int dom = (c->dom >> tm->tm_mday) & 1u;
	int dow = (c->dow >> tm->tm_wday) & 1u;
	if (!c->dom_star && !c->dow_star)
		return dom || dow;
	return dom && dow;
}

static long long floor_minute(long long t)
{
	long long m = t / 60;
	if (t % 60 < 0)
		m--;
	return m * 60;
}

/* The start of tm's month or day, moved by `add` months or days; timegm
 * normalises the overflow. */
enum unit { U_MONTH, U_DAY };

static long long start_of(struct tm tm, enum unit u, int add)
{
	tm.tm_sec = 0;
	tm.tm_min = 0;
	if (u == U_MONTH) {
		tm.tm_hour = 0;
		tm.tm_mday = 1;
		tm.tm_mon += add;
	} else {
		tm.tm_hour = 0;
		tm.tm_mday += add;
	}
	tm.tm_isdst = 0;
	return (long long)timegm(&tm);
}

/* Inputs outside years 1-9999 are refused: far enough for any schedule,
 * and it keeps the horizon arithmetic and struct tm years from overflowing. */
#define T_MIN (-62135596800LL)
#define T_MAX 253402300799LL

/* The loops below skip a whole month or day at a time and find the hour and
 * minute within a matching day by bit arithmetic, so even a schedule that
 * never matches costs at most a few thousand steps over the horizon (60
 * months, plus at most 31 days in each month that matches). */
/* r, or -1 when it lies beyond the horizon (dir 1: after limit, -1: before). */
static long long within(long long r, long long limit, int dir)
{
	return (dir > 0 ? r > limit : r < limit) ? -1 : r;
}

long long cron_next(const struct cron *c, long long after)
{
	if (after < T_MIN || after > T_MAX)
		return -1;
	long long t = floor_minute(after) + 60;
	long long limit = after + CRON_HORIZON_SECS;
	struct tm tm;

	while (t <= limit) {
		time_t tt = (time_t)t;
		if (!gmtime_r(&tt, &tm))
			return -1;
		if (!((c->month >> (tm.tm_mon + 1)) & 1u)) {
			t = start_of(tm, U_MONTH, 1);
			continue;
		}
		if (!day_matches(c, &tm)) {
			t = start_of(tm, U_DAY, 1);
			continue;
		}
		/* The day matches: the rest is bit arithmetic within it. */
		uint32_t hours = c->hour >> tm.tm_hour;
		if (hours & 1u) {
			uint64_t later = c->minute >> tm.tm_min;
			if (later)
				return within(t + 60LL * __builtin_ctzll(later), limit, 1);
			hours &= ~1u; /* nothing left in this hour */
		}
		if (!hours || !c->minute) {
			t = start_of(tm, U_DAY, 1);
			continue;
		}
		int h = tm.tm_hour + __builtin_ctz(hours);
		return within(t - 60LL * tm.tm_min + 3600LL * (h - tm.tm_hour) +
				      60LL * __builtin_ctzll(c->minute), limit, 1);
	}
	return -1;
}

long long cron_prev(const struct cron *c, long long before)
{
	if (before < T_MIN || before > T_MAX)
		return -1;
	long long t = floor_minute(before);
	long long limit = before - CRON_HORIZON_SECS;
	struct tm tm;

	while (t >= limit) {
		time_t tt = (time_t)t;
		if (!gmtime_r(&tt, &tm))
			return -1;
		if (!((c->month >> (tm.tm_mon + 1)) & 1u)) {
			t = start_of(tm, U_MONTH, 0) - 60;
			continue;
		}
		if (!day_matches(c, &tm)) {
			t = start_of(tm, U_DAY, 0) - 60;
			continue;
		}
		/* Hours 0..tm_hour; in the current one only minutes 0..tm_min. */
		uint32_t hours = c->hour & (((uint32_t)2 << tm.tm_hour) - 1);
		if ((hours >> tm.tm_hour) & 1u) {
			uint64_t earlier = c->minute & (((uint64_t)2 << tm.tm_min) - 1);
			if (earlier)
				return within(t - 60LL * (tm.tm_min - (63 - __builtin_clzll(earlier))),
					      limit, -1);
			hours &= ~((uint32_t)1 << tm.tm_hour);
		}
		if (!hours || !c->minute) {
			t = start_of(tm, U_DAY, 0) - 60;
			continue;
		}
		int h = 31 - __builtin_clz(hours);
		return within(t - 60LL * tm.tm_min - 3600LL * (tm.tm_hour - h) +
				      60LL * (63 - __builtin_clzll(c->minute)), limit, -1);
	}
	return -1;
}

long long backoff_next(int failures, long long failed_at, long long next_scheduled,
		       long long rate_limit_reset)
{
	long long r;
	if (failures <= 1)
		r = failed_at + BACKOFF_1_SECS;
	else if (failures == 2)
		r = failed_at + BACKOFF_2_SECS;
	else if (failures == 3)
		r = failed_at + BACKOFF_3_SECS;
	else if (next_scheduled < 0)
		return -1;
	else
		r = next_scheduled;
	if (rate_limit_reset > 0 && r < rate_limit_reset)
		r = rate_limit_reset;
	return r;
}
