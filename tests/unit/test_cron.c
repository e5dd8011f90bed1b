/* Unit tests for cron.c: schedule parsing, next/previous run, retry backoff.
 * Every time is an explicit epoch value; nothing reads the clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cron.h"

/* Epoch seconds for a UTC date and time. */
static long long at(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return (long long)timegm(&tm);
}

static void show(long long t, char *buf, size_t n)
{
	if (t < 0) {
		snprintf(buf, n, "-1");
		return;
	}
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S %a", &tm);
}

static struct cron *parse_ok(const char *expr)
{
	struct cron *c = NULL;
	struct tally_err err = {0};
	if (cron_parse(expr, &c, "test", &err) != 0)
		fail_msg("parse of \"%s\" failed: %s", expr, err.msg);
	assert_non_null(c);
	return c;
}

static void expect_time(const char *what, const char *expr, long long got, long long want)
{
	if (got != want) {
		char g[64], w[64];
		show(got, g, sizeof g);
		show(want, w, sizeof w);
		fail_msg("%s of \"%s\": got %s (%lld), want %s (%lld)", what, expr, g, got, w, want);
	}
}

static void next_is(const char *expr, long long after, long long want)
{
	struct cron *c = parse_ok(expr);
	expect_time("next", expr, cron_next(c, after), want);
	cron_free(c);
}

static void prev_is(const char *expr, long long before, long long want)
{
	struct cron *c = parse_ok(expr);
	expect_time("prev", expr, cron_prev(c, before), want);
	cron_free(c);
}

/* Walks cron_next from `from` and checks each result against want[]. */
static void sequence_is(const char *expr, long long from, const long long *want, size_t n)
{
	struct cron *c = parse_ok(expr);
	long long t = from;
	for (size_t i = 0; i < n; i++) {
		t = cron_next(c, t);
		expect_time("sequence", expr, t, want[i]);
	}
	cron_free(c);
}

static void parse_fails(const char *expr, const char *frag1, const char *frag2)
{
	struct cron *c = (struct cron *)(uintptr_t)1;
	struct tally_err err = {0};
	int rc = cron_parse(expr, &c, "tally.conf: component.server.schedule", &err);
	if (rc == 0)
		fail_msg("parse of \"%s\" succeeded, expected \"%s\"", expr, frag1);
	assert_int_equal(rc, -1);
	assert_null(c);
	assert_int_equal(err.cls, TC_INPUT);
	if (strncmp(err.msg, "tally.conf: component.server.schedule: ", 39) != 0)
		fail_msg("message \"%s\" does not start with the context", err.msg);
	if (!strstr(err.msg, frag1))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag1);
	if (frag2 && !strstr(err.msg, frag2))
		fail_msg("message \"%s\" lacks \"%s\"", err.msg, frag2);
	if (strlen(err.msg) > 300)
		fail_msg("message for \"%.40s...\" is %zu bytes long", expr, strlen(err.msg));
}

static void test_daily(void **state)
{
	(void)state;
	next_is("0 2 * * *", at(2024, 3, 10, 1, 59), at(2024, 3, 10, 2, 0));
	/* strictly after: a run at exactly 02:00 is not "next" at 02:00 */
	next_is("0 2 * * *", at(2024, 3, 10, 2, 0), at(2024, 3, 11, 2, 0));
	next_is("0 2 * * *", at(2024, 3, 10, 2, 0) - 1, at(2024, 3, 10, 2, 0));
	next_is("0 2 * * *", at(2024, 3, 10, 2, 0) + 30, at(2024, 3, 11, 2, 0));
	next_is("0 2 * * *", at(2024, 3, 10, 23, 59) + 59, at(2024, 3, 11, 2, 0));
	/* the result is always at second 0 */
	struct cron *c = parse_ok("* * * * *");
	assert_int_equal(cron_next(c, at(2024, 3, 10, 5, 6) + 17), at(2024, 3, 10, 5, 7));
	assert_int_equal(cron_next(c, at(2024, 3, 10, 5, 6)), at(2024, 3, 10, 5, 7));
	cron_free(c);
}

static void test_steps(void **state)
{
	(void)state;
	next_is("*/15 * * * *", at(2024, 5, 1, 10, 7), at(2024, 5, 1, 10, 15));
	next_is("*/15 * * * *", at(2024, 5, 1, 10, 45), at(2024, 5, 1, 11, 0));
	next_is("*/15 * * * *", at(2024, 5, 1, 23, 50), at(2024, 5, 2, 0, 0));
	const long long want[] = {
		at(2024, 5, 1, 10, 5),  at(2024, 5, 1, 10, 15), at(2024, 5, 1, 10, 25),
		at(2024, 5, 1, 10, 35), at(2024, 5, 1, 10, 45), at(2024, 5, 1, 11, 5),
	};
	sequence_is("5-50/10 * * * *", at(2024, 5, 1, 10, 0), want, sizeof want / sizeof want[0]);
	/* a/n runs from a to the maximum */
	const long long want2[] = { at(2024, 5, 1, 10, 10), at(2024, 5, 1, 10, 30),
				    at(2024, 5, 1, 10, 50), at(2024, 5, 1, 11, 10) };
	sequence_is("10/20 * * * *", at(2024, 5, 1, 10, 0), want2, sizeof want2 / sizeof want2[0]);
	/* steps in hours, lists mixing items */
	next_is("0 */6 * * *", at(2024, 5, 1, 13, 0), at(2024, 5, 1, 18, 0));
	next_is("0 1,5-7,22 * * *", at(2024, 5, 1, 7, 0), at(2024, 5, 1, 22, 0));
	next_is("0 1,5-7,22 * * *", at(2024, 5, 1, 22, 0), at(2024, 5, 2, 1, 0));
	next_is("*/60 * * * *", at(2024, 5, 1, 10, 1), at(2024, 5, 1, 11, 0));
}

static void test_month_start_and_ends(void **state)
{
	(void)state;
	next_is("0 0 1 * *", at(2024, 1, 15, 0, 0), at(2024, 2, 1, 0, 0));
	next_is("0 0 1 * *", at(2024, 1, 31, 23, 59), at(2024, 2, 1, 0, 0));
	next_is("0 0 1 * *", at(2024, 2, 1, 0, 0), at(2024, 3, 1, 0, 0));
	/* Jan 31 -> Feb: every day at midnight crosses into February */
	next_is("0 0 * * *", at(2025, 1, 31, 0, 0), at(2025, 2, 1, 0, 0));
	/* the 31st skips February and April */
	next_is("0 12 31 * *", at(2024, 1, 31, 12, 0), at(2024, 3, 31, 12, 0));
	next_is("0 12 31 * *", at(2024, 4, 1, 0, 0), at(2024, 5, 31, 12, 0));
	/* the 30th skips February only */
	next_is("0 0 30 * *", at(2024, 1, 30, 0, 0), at(2024, 3, 30, 0, 0));
	next_is("0 0 30 * *", at(2024, 4, 29, 0, 0), at(2024, 4, 30, 0, 0));
	next_is("0 0 30 * *", at(2024, 4, 30, 0, 0), at(2024, 5, 30, 0, 0));
	/* Apr 30 -> May 1 */
	next_is("0 0 * * *", at(2024, 4, 30, 0, 0), at(2024, 5, 1, 0, 0));
	/* Feb 28 -> 29 in leap years (2028), -> Mar 1 otherwise */
	next_is("0 0 * * *", at(2028, 2, 28, 0, 0), at(2028, 2, 29, 0, 0));
	next_is("0 0 * * *", at(2028, 2, 29, 0, 0), at(2028, 3, 1, 0, 0));
	next_is("0 0 * * *", at(2027, 2, 28, 0, 0), at(2027, 3, 1, 0, 0));
	next_is("0 0 * * *", at(2100, 2, 28, 0, 0), at(2100, 3, 1, 0, 0)); /* 2100 is not leap */
	/* Feb 29 only: from 2025 the next is 2028 */
	next_is("0 0 29 2 *", at(2025, 3, 1, 0, 0), at(2028, 2, 29, 0, 0));
	next_is("30 6 29 feb *", at(2028, 2, 29, 6, 30), at(2032, 2, 29, 6, 30));
	/* last day of February, either length */
	next_is("0 0 28,29 2 *", at(2028, 2, 28, 0, 0), at(2028, 2, 29, 0, 0));
	next_is("0 0 28,29 2 *", at(2027, 2, 28, 0, 0), at(2028, 2, 28, 0, 0));
}

static void test_year_rollover(void **state)
{
	(void)state;
	next_is("* * * * *", at(2024, 12, 31, 23, 59), at(2025, 1, 1, 0, 0));
	next_is("0 0 1 1 *", at(2024, 1, 1, 0, 0), at(2025, 1, 1, 0, 0));
	next_is("59 23 31 12 *", at(2024, 12, 31, 23, 59), at(2025, 12, 31, 23, 59));
	next_is("0 2 * * *", at(2024, 12, 31, 2, 0), at(2025, 1, 1, 2, 0));
	prev_is("* * * * *", at(2025, 1, 1, 0, 0) - 1, at(2024, 12, 31, 23, 59));
	prev_is("0 0 1 1 *", at(2025, 1, 1, 0, 0) - 1, at(2024, 1, 1, 0, 0));
}

static void test_sunday(void **state)
{
	(void)state;
	/* 2024-06-01 is a Saturday, 2024-06-02 a Sunday */
	next_is("0 0 * * 0", at(2024, 6, 1, 12, 0), at(2024, 6, 2, 0, 0));
	next_is("0 0 * * 7", at(2024, 6, 1, 12, 0), at(2024, 6, 2, 0, 0));
	next_is("0 0 * * sun", at(2024, 6, 1, 12, 0), at(2024, 6, 2, 0, 0));
	next_is("0 0 * * 0", at(2024, 6, 2, 0, 0), at(2024, 6, 9, 0, 0));
	next_is("* * * * 7", at(2024, 6, 1, 23, 59), at(2024, 6, 2, 0, 0));
	next_is("* * * * 7", at(2024, 6, 2, 0, 0), at(2024, 6, 2, 0, 1));
	next_is("* * * * 7", at(2024, 6, 2, 23, 59), at(2024, 6, 9, 0, 0));
	/* ranges ending in 7 include Sunday */
	next_is("0 0 * * 6-7", at(2024, 6, 1, 0, 0), at(2024, 6, 2, 0, 0));
	next_is("0 0 * * 5-7", at(2024, 6, 2, 0, 0), at(2024, 6, 7, 0, 0));
}

static void test_mondays(void **state)
{
	(void)state;
	/* 2024-01-01 is a Monday */
	next_is("0 3 * * 1", at(2023, 12, 28, 0, 0), at(2024, 1, 1, 3, 0));
	next_is("0 3 * * 1", at(2024, 1, 1, 3, 0), at(2024, 1, 8, 3, 0));
	next_is("0 3 * * 1", at(2024, 1, 1, 2, 59), at(2024, 1, 1, 3, 0));
	next_is("0 3 * * mon", at(2024, 1, 29, 4, 0), at(2024, 2, 5, 3, 0));
	next_is("0 3 * * MON", at(2024, 1, 29, 4, 0), at(2024, 2, 5, 3, 0));
	/* weekdays by name range */
	next_is("0 9 * * mon-fri", at(2024, 1, 5, 9, 0), at(2024, 1, 8, 9, 0));
	next_is("0 9 * * Mon-Fri", at(2024, 1, 8, 9, 0), at(2024, 1, 9, 9, 0));
}

static void test_dom_dow_or(void **state)
{
	(void)state;
	/* every 13th and every Friday; 2024-01-13 is a Saturday, 2024-02-13 a Tuesday */
	const long long want[] = {
		at(2024, 1, 5, 0, 0),  at(2024, 1, 12, 0, 0), at(2024, 1, 13, 0, 0),
		at(2024, 1, 19, 0, 0), at(2024, 1, 26, 0, 0), at(2024, 2, 2, 0, 0),
		at(2024, 2, 9, 0, 0),  at(2024, 2, 13, 0, 0), at(2024, 2, 16, 0, 0),
		at(2024, 2, 23, 0, 0), at(2024, 3, 1, 0, 0),
	};
	sequence_is("0 0 13 * 5", at(2024, 1, 1, 0, 0), want, sizeof want / sizeof want[0]);
	sequence_is("0 0 13 * fri", at(2024, 1, 1, 0, 0), want, sizeof want / sizeof want[0]);
	/* with day-of-week '*', only the day of month counts (AND) */
	next_is("0 0 13 * *", at(2024, 1, 1, 0, 0), at(2024, 1, 13, 0, 0));
	/* with day-of-month '*', only the day of week counts (AND) */
	next_is("0 0 * * 5", at(2024, 1, 1, 0, 0), at(2024, 1, 5, 0, 0));
	/* Vixie: a field that starts with '*' is unrestricted, so this is AND:
	 * odd days that are Fridays; 2024-01-05 is both */
	next_is("0 0 */2 * 5", at(2024, 1, 1, 0, 0), at(2024, 1, 5, 0, 0));
	next_is("0 0 */2 * 5", at(2024, 1, 5, 0, 0), at(2024, 1, 19, 0, 0));
	/* OR still respects the month */
	next_is("0 0 13 6 5", at(2024, 1, 1, 0, 0), at(2024, 6, 7, 0, 0));
}

static void test_never(void **state)
{
	(void)state;
	next_is("0 0 30 2 *", at(2024, 1, 1, 0, 0), -1);
	next_is("0 0 31 4 *", at(2024, 1, 1, 0, 0), -1);
	next_is("0 0 31 2,4,6,9,11 *", at(2024, 1, 1, 0, 0), -1);
	prev_is("0 0 30 2 *", at(2024, 1, 1, 0, 0), -1);
	prev_is("0 0 30 feb *", at(2024, 1, 1, 0, 0), -1);
	/* but Feb 30 OR a weekday is fine */
	next_is("0 0 30 2 1", at(2024, 1, 1, 0, 0), at(2024, 2, 5, 0, 0));
	/* 2100 is not a leap year, so after 2096 the next Feb 29 is 2104: past
	 * the 5-year horizon */
	next_is("0 0 29 2 *", at(2096, 3, 1, 0, 0), -1);
	prev_is("0 0 29 2 *", at(2104, 2, 28, 0, 0), -1);
	next_is("0 0 29 2 *", at(2099, 3, 1, 0, 0), at(2104, 2, 29, 0, 0));
	/* out-of-range inputs are refused, not overflowed */
	struct cron *c = parse_ok("* * * * *");
	assert_int_equal(cron_next(c, 0x7fffffffffffffffLL), -1);
	assert_int_equal(cron_prev(c, -0x7fffffffffffffffLL), -1);
	cron_free(c);
}

static void test_prev(void **state)
{
	(void)state;
	/* across a day boundary */
	prev_is("0 2 * * *", at(2024, 3, 10, 1, 0), at(2024, 3, 9, 2, 0));
	prev_is("30 23 * * *", at(2024, 3, 10, 0, 10), at(2024, 3, 9, 23, 30));
	/* at or before: exactly on a run, and within its minute */
	prev_is("0 2 * * *", at(2024, 3, 10, 2, 0), at(2024, 3, 10, 2, 0));
	prev_is("0 2 * * *", at(2024, 3, 10, 2, 0) + 59, at(2024, 3, 10, 2, 0));
	prev_is("0 2 * * *", at(2024, 3, 10, 2, 0) - 1, at(2024, 3, 9, 2, 0));
	prev_is("*/15 * * * *", at(2024, 3, 10, 10, 14), at(2024, 3, 10, 10, 0));
	prev_is("*/15 * * * *", at(2024, 3, 10, 0, 14), at(2024, 3, 10, 0, 0));
	prev_is("5-50/10 * * * *", at(2024, 3, 10, 10, 4), at(2024, 3, 10, 9, 45));
	/* across month ends, back into a leap February */
	prev_is("0 0 1 * *", at(2024, 3, 1, 0, 0) - 1, at(2024, 2, 1, 0, 0));
	prev_is("0 0 29 2 *", at(2027, 6, 1, 0, 0), at(2024, 2, 29, 0, 0));
	prev_is("0 0 * * *", at(2028, 3, 1, 0, 0) - 1, at(2028, 2, 29, 0, 0));
	prev_is("0 12 31 * *", at(2024, 5, 1, 0, 0), at(2024, 3, 31, 12, 0));
	/* OR semantics backwards */
	prev_is("0 0 13 * 5", at(2024, 2, 15, 0, 0), at(2024, 2, 13, 0, 0));
	prev_is("0 0 13 * 5", at(2024, 2, 13, 0, 0) - 1, at(2024, 2, 9, 0, 0));
	prev_is("0 3 * * 1", at(2024, 1, 7, 0, 0), at(2024, 1, 1, 3, 0));
}

/* Reference predicates for a minute-by-minute comparison. */
static int ref_daily2(const struct tm *t)
{
	return t->tm_min == 0 && t->tm_hour == 2;
}
static int ref_or13fri(const struct tm *t)
{
	return t->tm_min == 0 && t->tm_hour == 0 && (t->tm_mday == 13 || t->tm_wday == 5);
}
static int ref_steps(const struct tm *t)
{
	return t->tm_min >= 5 && t->tm_min <= 50 && (t->tm_min - 5) % 10 == 0 &&
	       t->tm_hour % 7 == 3 && (t->tm_mon + 1 == 2 || t->tm_mon + 1 >= 11);
}
static int ref_lastdays(const struct tm *t)
{
	return t->tm_min == 45 && t->tm_hour == 23 &&
	       (t->tm_mday >= 29 || t->tm_wday == 0 || t->tm_wday == 6);
}
static int ref_weekend_and_odd(const struct tm *t)
{
	return t->tm_min == 15 && t->tm_hour == 12 && t->tm_mday % 2 == 1 &&
	       (t->tm_wday == 0 || t->tm_wday == 6);
}

static void brute(const char *expr, int (*ref)(const struct tm *), long long from, long long to)
{
	struct cron *c = parse_ok(expr);
	long long want_next = -1, n = 0;
	/* walk backwards so the expected "next" is known at every minute */
	for (long long t = to; t >= from; t -= 60) {
		if (want_next >= 0) /* unknown until the first match is seen */
			expect_time("brute next", expr, cron_next(c, t), want_next);
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		if (ref(&tm)) {
			want_next = t;
			n++;
		}
	}
	assert_true(n > 0);
	long long want_prev = -1;
	for (long long t = from; t <= to; t += 60) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		if (ref(&tm))
			want_prev = t;
		if (want_prev >= 0)
			expect_time("brute prev", expr, cron_prev(c, t + 59), want_prev);
	}
	cron_free(c);
}

static void test_brute_force(void **state)
{
	(void)state;
	/* two windows: a year end into a leap February, and the next year end */
	const long long win[][2] = {
		{ at(2027, 12, 20, 0, 0), at(2028, 3, 10, 0, 0) },
		{ at(2028, 12, 20, 0, 0), at(2029, 1, 10, 0, 0) },
	};
	for (size_t i = 0; i < sizeof win / sizeof win[0]; i++) {
		brute("0 2 * * *", ref_daily2, win[i][0], win[i][1]);
		brute("0 0 13 * 5", ref_or13fri, win[i][0], win[i][1]);
		brute("5-50/10 3/7 * 2,nov-dec *", ref_steps, win[i][0], win[i][1]);
		brute("45 23 29-31 * 0,6", ref_lastdays, win[i][0], win[i][1]);
		brute("15 12 */2 * sat,7", ref_weekend_and_odd, win[i][0], win[i][1]);
	}
}

static void test_parse_errors(void **state)
{
	(void)state;
	/* the message from the brief, exactly */
	struct cron *c = NULL;
	struct tally_err err = {0};
	assert_int_equal(cron_parse("61 * * * *", &c, "tally.conf: component.server.schedule", &err), -1);
	assert_string_equal(err.msg,
			    "tally.conf: component.server.schedule: minute field '61' out of range 0-59");
	/* without a context the message starts with the field */
	assert_int_equal(cron_parse("* * * 13 *", &c, NULL, &err), -1);
	assert_string_equal(err.msg, "month field '13' out of range 1-12");
	assert_int_equal(cron_parse("* * * * *", &c, NULL, NULL), 0);
	cron_free(c);
	assert_int_equal(cron_parse("* * * * 8", &c, NULL, NULL), -1); /* err may be NULL */

	/* field counts */
	parse_fails("0 2 * *", "day-of-week field missing", "5 fields");
	parse_fails("0 2 *", "month field missing", NULL);
	parse_fails("0 2 * * * *", "after the day-of-week field", "'*'");
	parse_fails("0 2 * * * 2024", "after the day-of-week field", "'2024'");
	parse_fails("", "minute field missing", NULL);
	parse_fails("  \t ", "minute field missing", NULL);
	parse_fails(NULL, "minute field missing", NULL);
	/* ranges of each field */
	parse_fails("60 * * * *", "minute field '60' out of range 0-59", NULL);
	parse_fails("* 24 * * *", "hour field '24' out of range 0-23", NULL);
	parse_fails("* * 0 * *", "day-of-month field '0' out of range 1-31", NULL);
	parse_fails("* * 32 * *", "day-of-month field '32' out of range 1-31", NULL);
	parse_fails("* * * 0 *", "month field '0' out of range 1-12", NULL);
	parse_fails("* * * * 8", "day-of-week field '8' out of range 0-7", NULL);
	parse_fails("1,2,99 * * * *", "minute field '99' out of range", NULL);
	parse_fails("* 1-25 * * *", "hour field '1-25' out of range 0-23", NULL);
	parse_fails("* * 99999999999999999999 * *", "day-of-month field", "out of range");
	/* steps */
	parse_fails("*/0 * * * *", "minute field '*/0'", "step 0");
	parse_fails("* */25 * * *", "hour field '*/25'", "step 25");
	parse_fails("*/ * * * *", "minute field '*/'", "no step");
	parse_fails("*/x * * * *", "minute field '*/x'", "no step");
	parse_fails("1-5/0 * * * *", "minute field '1-5/0'", "step 0");
	parse_fails("*/2/3 * * * *", "minute field '*/2/3'", NULL);
	/* ranges */
	parse_fails("5-1 * * * *", "minute field '5-1'", "backwards");
	parse_fails("* * * * fri-mon", "day-of-week field 'fri-mon'", "backwards");
	parse_fails("1-2-3 * * * *", "minute field '1-2-3'", NULL);
	parse_fails("1- * * * *", "minute field '1-'", NULL);
	parse_fails("-1 * * * *", "minute field '-1'", NULL);
	parse_fails("*-5 * * * *", "minute field '*-5'", NULL);
	/* letters and junk */
	parse_fails("abc * * * *", "minute field 'abc'", "not a number");
	parse_fails("* * * * funday", "day-of-week field 'funday'", "day name");
	parse_fails("* * * foo *", "month field 'foo'", "month name");
	parse_fails("* * * * jan", "day-of-week field 'jan'", "day name");
	parse_fails("mon * * * *", "minute field 'mon'", NULL);
	parse_fails("5x * * * *", "minute field '5x'", NULL);
	parse_fails("0 2 * * * # nightly", "after the day-of-week field", "'#'");
	parse_fails("0 0x2 * * *", "hour field '0x2'", NULL);
	/* empty list items */
	parse_fails("1, * * * *", "minute field '1,'", "empty list item");
	parse_fails(",1 * * * *", "minute field ',1'", "empty list item");
	parse_fails("* 1,,2 * * *", "hour field '1,,2'", "empty list item");
	parse_fails("* * * * 1,", "day-of-week field '1,'", "empty list item");
}

static void test_parse_long(void **state)
{
	(void)state;
	char buf[8192];
	/* a long field is refused by length, and the message stays short */
	memset(buf, '1', 5000);
	memcpy(buf + 5000, " * * * *", 9);
	parse_fails(buf, "minute field '1111", "characters long");
	/* a long number in a short enough field is out of range */
	memset(buf, '9', 300);
	memcpy(buf + 300, " * * * *", 9);
	parse_fails(buf, "minute field '9999", "out of range");
	/* a long list whose last item is bad: the message names the item */
	size_t n = 0;
	for (int i = 0; i < 60; i++)
		n += (size_t)snprintf(buf + n, sizeof buf - n, "%d,", i);
	memcpy(buf + n, "x * * * *", 10);
	parse_fails(buf, "minute field 'x'", NULL);
	/* and a long valid list parses */
	buf[n - 1] = ' ';
	memcpy(buf + n, "* * * *", 8);
	struct cron *c = parse_ok(buf);
	assert_int_equal(cron_next(c, at(2024, 1, 1, 0, 0)), at(2024, 1, 1, 0, 1));
	cron_free(c);
	/* a long sixth field */
	memcpy(buf, "* * * * * ", 10);
	memset(buf + 10, 'z', 3000);
	buf[3010] = '\0';
	parse_fails(buf, "after the day-of-week field", "zzz...");
}

static void test_parse_forms(void **state)
{
	(void)state;
	/* separators: tabs and runs of spaces, leading and trailing blanks */
	next_is("\t0  2\t* *  * \n", at(2024, 3, 10, 1, 59), at(2024, 3, 10, 2, 0));
	/* month names in any case, in lists, ranges and with steps */
	next_is("0 0 1 JAN,jul *", at(2024, 1, 1, 0, 0), at(2024, 7, 1, 0, 0));
	next_is("0 0 1 jun-aug *", at(2024, 8, 1, 0, 0), at(2025, 6, 1, 0, 0));
	next_is("0 0 1 jan/3 *", at(2024, 1, 1, 0, 0), at(2024, 4, 1, 0, 0));
	next_is("0 0 1 */4 *", at(2024, 5, 1, 0, 0), at(2024, 9, 1, 0, 0));
	/* day-of-week steps over 0-7 */
	next_is("0 0 * * */2", at(2024, 6, 2, 0, 0), at(2024, 6, 4, 0, 0)); /* Sun -> Tue */
	/* duplicates and overlapping items are harmless */
	next_is("5,5,1-10/5 * * * *", at(2024, 6, 2, 0, 5), at(2024, 6, 2, 0, 6));
	cron_free(NULL);
}

static void test_backoff(void **state)
{
	(void)state;
	long long f = at(2024, 3, 10, 12, 0);
	long long sched = at(2024, 3, 11, 2, 0);
	assert_int_equal(backoff_next(1, f, sched, 0), f + 5 * 60);
	assert_int_equal(backoff_next(2, f, sched, 0), f + 15 * 60);
	assert_int_equal(backoff_next(3, f, sched, 0), f + 45 * 60);
	assert_int_equal(backoff_next(4, f, sched, 0), sched);
	assert_int_equal(backoff_next(5, f, sched, 0), sched);
	assert_int_equal(backoff_next(1000, f, sched, 0), sched);
	assert_int_equal(backoff_next(0, f, sched, 0), f + 5 * 60);
	assert_int_equal(backoff_next(-3, f, sched, 0), f + 5 * 60);

	/* a whole run of failures, each measured from its own failure time */
	long long t = f;
	const long long delays[] = { 5 * 60, 15 * 60, 45 * 60 };
	for (int i = 1; i <= 3; i++) {
		long long r = backoff_next(i, t, sched, 0);
		assert_int_equal(r, t + delays[i - 1]);
		t = r + 30; /* the retry failed 30 s in */
	}
	assert_int_equal(backoff_next(4, t, sched, 0), sched);

	/* the rate-limit reset is a floor */
	long long reset = f + 10 * 60;
	assert_int_equal(backoff_next(1, f, sched, reset), reset);       /* 5 min < reset */
	assert_int_equal(backoff_next(2, f, sched, reset), f + 15 * 60); /* already later */
	assert_int_equal(backoff_next(3, f, sched, reset), f + 45 * 60);
	assert_int_equal(backoff_next(4, f, sched, reset), sched);
	long long late = sched + 3600;
	assert_int_equal(backoff_next(4, f, sched, late), late);
	assert_int_equal(backoff_next(1, f, sched, late), late);
	assert_int_equal(backoff_next(1, f, sched, f + 5 * 60), f + 5 * 60); /* equal */
	/* a reset in the past changes nothing */
	assert_int_equal(backoff_next(1, f, sched, f - 3600), f + 5 * 60);

	/* no schedule: no automatic retry after the third, even with a reset */
	assert_int_equal(backoff_next(4, f, -1, 0), -1);
	assert_int_equal(backoff_next(4, f, -1, late), -1);
	assert_int_equal(backoff_next(3, f, -1, 0), f + 45 * 60);

	/* the fourth failure's retry is whatever cron_next gives */
	struct cron *c = parse_ok("0 2 * * *");
	assert_int_equal(backoff_next(4, f, cron_next(c, f), 0), at(2024, 3, 11, 2, 0));
	cron_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_daily),
		cmocka_unit_test(test_steps),
		cmocka_unit_test(test_month_start_and_ends),
		cmocka_unit_test(test_year_rollover),
		cmocka_unit_test(test_sunday),
		cmocka_unit_test(test_mondays),
		cmocka_unit_test(test_dom_dow_or),
		cmocka_unit_test(test_never),
		cmocka_unit_test(test_prev),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_long),
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_backoff),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
