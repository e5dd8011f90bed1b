/* health_judge: the rules of `tally health` with a clock the test sets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <time.h>

#include "health.h"

static long long at(const char *iso) /* "2026-12-01T02:00:00Z" */
{
	struct tm tm = {0};
	if (!strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm))
		fail_msg("bad time %s", iso);
	return (long long)timegm(&tm);
}

static struct cron *daily, *hourly;

static int setup(void **state)
{
	(void)state;
	struct tally_err err = {0};
	if (cron_parse("0 2 * * *", &daily, NULL, &err) < 0 || cron_parse("15 * * * *", &hourly, NULL, &err) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cron_free(daily);
	cron_free(hourly);
	return 0;
}

static struct health_out judge(long long now, long long started, int serving, int paused,
			       struct health_comp *c, size_t n)
{
	struct health_in in = {.now = now, .started = started, .pid = 42, .serving = serving,
			       .paused = paused, .paused_since = paused ? at("2026-11-30T10:00:00Z") : 0,
			       .comps = c, .n = n};
	struct health_out out;
	health_judge(&in, &out);
	return out;
}

static void test_on_time(void **state)
{
	(void)state;
	struct health_comp c[] = {{"server", daily, 1, at("2026-12-01T02:00:00Z"), 0}};
	/* the day after, within the hour's slack after 02:00 */
	struct health_out o = judge(at("2026-12-02T02:59:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 1);
	assert_true(o.ok);
	assert_string_equal(o.reason, "");
	assert_true(o.last_run == at("2026-12-01T02:00:00Z"));
	assert_true(o.next_run == at("2026-12-03T02:00:00Z"));
}

static void test_missed(void **state)
{
	(void)state;
	struct health_comp c[] = {{"server", daily, 1, at("2026-12-01T02:00:00Z"), 0}};
	struct health_out o = judge(at("2026-12-02T03:01:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 1);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no scheduled run since 2026-12-01T02:00:00Z: server was due at "
				      "2026-12-02T02:00:00Z and has not run");
	/* never ran at all */
	c[0].last_sched = 0;
	o = judge(at("2026-12-02T03:01:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 1);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no scheduled run yet: server was due at 2026-12-02T02:00:00Z and has not run");
}

static void test_fresh_engine(void **state)
{
	(void)state;
	/* an engine started after the last due time has nothing to make up
	 * on a fresh state directory: not late */
	struct health_comp c[] = {{"server", daily, 1, 0, 0}};
	struct health_out o = judge(at("2026-12-01T21:00:00Z"), at("2026-12-01T20:00:00Z"), 1, 0, c, 1);
	assert_true(o.ok);
	assert_true(o.last_run == 0);
	/* until the next due time has passed by more than the slack */
	o = judge(at("2026-12-02T03:30:00Z"), at("2026-12-01T20:00:00Z"), 1, 0, c, 1);
	assert_false(o.ok);
}

static void test_each_component_its_schedule(void **state)
{
	(void)state;
	/* chat runs hourly: its miss is found although server's daily run is fine */
	struct health_comp c[] = {{"server", daily, 1, at("2026-12-01T02:00:00Z"), 0},
				  {"chat", hourly, 1, at("2026-12-01T08:15:00Z"), 0}};
	struct health_out o = judge(at("2026-12-01T10:20:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 2);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no scheduled run since 2026-12-01T08:15:00Z: chat was due at "
				      "2026-12-01T09:15:00Z and has not run");
	assert_true(o.next_run == at("2026-12-01T10:15:00Z") + 3600);
	assert_true(o.last_run == at("2026-12-01T08:15:00Z"));
}

static void test_pinned_and_manual_are_never_late(void **state)
{
	(void)state;
	struct health_comp c[] = {{"server", daily, 0, at("2026-11-01T02:00:00Z"), 0},
				  {"chat", NULL, 1, 0, 0}};
	struct health_out o = judge(at("2026-12-01T10:00:00Z"), at("2026-10-01T00:00:00Z"), 1, 0, c, 2);
	assert_true(o.ok);
	assert_true(o.next_run == 0);
}

static void test_not_serving_and_paused(void **state)
{
	(void)state;
	struct health_comp c[] = {{"server", daily, 1, at("2026-12-01T02:00:00Z"), 0}};
	struct health_out o = judge(at("2026-12-01T10:00:00Z"), at("2026-11-01T00:00:00Z"), 0, 0, c, 1);
	assert_false(o.ok);
	assert_string_equal(o.reason, "engine 42 runs a batch command, not the schedule; start it with 'tally serve'");
	o = judge(at("2026-12-01T10:00:00Z"), at("2026-11-01T00:00:00Z"), 1, 1, c, 1);
	assert_false(o.ok);
	assert_string_equal(o.reason, "the schedule is paused since 2026-11-30T10:00:00Z; 'tally resume' restarts it");
}

static void test_rate_limited(void **state)
{
	(void)state;
	struct health_comp c[] = {{"server", daily, 1, at("2026-12-01T02:00:00Z"), at("2026-12-01T10:30:00Z")},
				  {"chat", daily, 1, at("2026-12-01T02:00:00Z"), at("2026-12-01T09:00:00Z")}};
	struct health_out o = judge(at("2026-12-01T10:00:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 2);
	assert_false(o.ok);
	assert_string_equal(o.reason, "rate-limited until 2026-12-01T10:30:00Z (server's upstream)");
	/* a limit that has passed is no reason */
	o = judge(at("2026-12-01T11:00:00Z"), at("2026-11-01T00:00:00Z"), 1, 0, c, 2);
	assert_true(o.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_on_time),
		cmocka_unit_test(test_missed),
		cmocka_unit_test(test_fresh_engine),
		cmocka_unit_test(test_each_component_its_schedule),
		cmocka_unit_test(test_pinned_and_manual_are_never_late),
		cmocka_unit_test(test_not_serving_and_paused),
		cmocka_unit_test(test_rate_limited),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
