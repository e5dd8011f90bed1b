/* Unit tests for protocol.c: every name table maps each value to one name
 * and back, names are distinct, unknown names are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol.h"

static void round_trip(const char *(*name)(int), int (*from)(const char *), int n)
{
	for (int i = 0; i < n; i++) {
		const char *s = name(i);
		assert_non_null(s);
		assert_true(s[0] != '\0');
		assert_int_equal(from(s), i);
		for (int k = 0; k < i; k++)
			assert_string_not_equal(name(k), s);
	}
	assert_null(name(n));
	assert_int_equal(from("no-such-name"), -1);
	assert_int_equal(from(NULL), -1);
}

static const char *ev_i(int i) { return ev_name((enum ev)i); }
static const char *state_i(int i) { return state_name((enum comp_st)i); }
static const char *stage_i(int i) { return stage_name((enum stage)i); }
static const char *result_i(int i) { return result_name((enum result)i); }
static const char *hold_i(int i) { return hold_action_name((enum recorder_hold_op)i); }
static const char *record_i(int i) { return record_action_name((enum recorder_action)i); }

static void test_events(void **st) { (void)st; round_trip(ev_i, ev_from_name, EV_COUNT); }
static void test_states(void **st) { (void)st; round_trip(state_i, state_from_name, ST_COUNT); }
static void test_stages(void **st) { (void)st; round_trip(stage_i, stage_from_name, SG_COUNT); }
static void test_results(void **st) { (void)st; round_trip(result_i, result_from_name, RS_COUNT); }
static void test_holds(void **st) { (void)st; round_trip(hold_i, hold_action_from_name, RH_UNPIN + 1); }
static void test_records(void **st) { (void)st; round_trip(record_i, record_action_from_name, RA_ADOPT + 1); }

static void test_words(void **st)
{
	(void)st;
	/* the words SPEC section 8 spells, as front ends and scripts read them */
	assert_string_equal(ev_name(EV_STATUS), "status");
	assert_string_equal(ev_name(EV_ERROR), "error");
	assert_string_equal(state_name(ST_BASE_MOVED), "base-moved");
	assert_string_equal(hold_action_name(RH_UNPIN), "unpin");
	assert_string_equal(result_name(RS_CANCELLED), "cancelled");
	assert_string_equal(record_action_name(RA_SHIP), "ship");
	assert_string_equal(ev_name(EV_ACCEPTED), "accepted");
	assert_string_equal(ev_name(EV_HELLO), "hello");
	assert_true(result_is("failed", RS_FAILED));
	assert_false(result_is("failed", RS_SHIPPED));
	assert_false(result_is(NULL, RS_FAILED));
}

static void test_stage_states(void **st)
{
	(void)st;
	assert_int_equal(stage_state(SG_BUILD), ST_BUILDING);
	assert_int_equal(stage_state(SG_PUSH), ST_PUSHING);
	assert_int_equal(stage_state(SG_VERIFY), ST_VERIFYING);
	assert_int_equal(stage_state(SG_FLOATING), ST_VERIFYING);
	assert_int_equal(stage_state(SG_RECORD), ST_RECORDING);
	assert_int_equal(stage_state(SG_CLEANUP), ST_RECORDING);
}

static void test_warning_event(void **st)
{
	(void)st;
	json_t *w = ev_warning("server", "base unreadable");
	assert_string_equal(json_string_value(json_object_get(w, "event")), "error");
	assert_string_equal(json_string_value(json_object_get(w, "component")), "server");
	assert_true(json_is_null(json_object_get(w, "class")));
	assert_true(json_is_true(json_object_get(w, "warning")));
	assert_string_equal(json_string_value(json_object_get(w, "message")), "base unreadable");
	json_decref(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events),  cmocka_unit_test(test_states),
		cmocka_unit_test(test_stages),  cmocka_unit_test(test_results),
		cmocka_unit_test(test_holds),   cmocka_unit_test(test_records),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_stage_states), cmocka_unit_test(test_warning_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
