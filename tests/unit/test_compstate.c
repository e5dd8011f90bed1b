/* Unit tests for compstate.c: a component's candidate, state word, next
 * run and status row as pure functions of its state and the holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "compstate.h"
#include "cron.h"
#include "protocol.h"

static const char *const known[] = {"server", "chat"};

struct fixture {
	struct comp_conf cc;
	struct comp_state cs;
};

static void setup_comp(struct fixture *f, const char *recorded, const char *const *up, size_t nup)
{
	memset(f, 0, sizeof *f);
	f->cc.name = "server";
	f->cc.key = "server";
	f->cc.file = "server-versions.txt";
	f->cc.upstream_kind = "git-tags";
	f->cs.cc = &f->cc;
	f->cs.recorded = recorded ? strdup(recorded) : NULL;
	f->cs.checked = 1;
	for (size_t i = 0; i < nup; i++)
		strv_push(&f->cs.upstream, up[i]);
}

static struct holds *holds_of(const char *text)
{
	struct holds *h = NULL;
	struct tally_err err = {0};
	if (holds_parse("tally-holds.txt", text, strlen(text), known, 2, &h, &err) != 0)
		fail_msg("holds: %s", err.msg);
	return h;
}

static const char *state(struct fixture *f, const struct holds *h)
{
	return state_of(&f->cs, h, candidate_of(&f->cs, h));
}

static void test_candidate_newer_than_record(void **st)
{
	(void)st;
	static const char *const up[] = {"v3.8.2", "v3.8.1", "v3.8.0"};
	struct fixture f;
	setup_comp(&f, "v3.8.0", up, 3);
	assert_string_equal(candidate_of(&f.cs, NULL), "v3.8.2");
	assert_string_equal(state(&f, NULL), "outdated");
	/* the newest is skipped: the next one is the candidate */
	struct holds *h = holds_of("skip server v3.8.2 broken\n");
	assert_string_equal(candidate_of(&f.cs, h), "v3.8.1");
	holds_free(h);
	comp_state_free(&f.cs);
}

static void test_current_ahead_unchecked(void **st)
{
	(void)st;
	static const char *const up[] = {"v3.8.0"};
	struct fixture f;
	setup_comp(&f, "v3.8.0", up, 1);
	assert_null(candidate_of(&f.cs, NULL));
	assert_string_equal(state(&f, NULL), "current");
	free(f.cs.recorded);
	f.cs.recorded = strdup("v3.9.0");
	assert_string_equal(state(&f, NULL), "ahead");
	f.cs.checked = 0;
	assert_string_equal(state(&f, NULL), "unchecked");
	f.cs.checked = 1;
	f.cs.up_cls = TC_NETWORK;
	assert_null(candidate_of(&f.cs, NULL));
	assert_string_equal(state(&f, NULL), "unknown");
	comp_state_free(&f.cs);
}

static void test_pinned_has_no_candidate(void **st)
{
	(void)st;
	static const char *const up[] = {"v3.8.1", "v3.8.0"};
	struct fixture f;
	setup_comp(&f, "v3.8.0", up, 2);
	struct holds *h = holds_of("pin server v3.8.0 waiting for tests\n");
	assert_null(candidate_of(&f.cs, h));
	assert_string_equal(candidate_unpinned(&f.cs, h), "v3.8.1");
	assert_string_equal(state(&f, h), "pinned");
	/* a running attempt's stage and an unpushed record come first */
	f.cs.unpushed = 1;
	assert_string_equal(state(&f, h), "recording");
	f.cs.stage = state_name(ST_PUSHING);
	assert_string_equal(state(&f, h), "pushing");
	holds_free(h);
	comp_state_free(&f.cs);
}

static void test_failed_candidate(void **st)
{
	(void)st;
	static const char *const up[] = {"v3.8.1", "v3.8.0"};
	struct fixture f;
	setup_comp(&f, "v3.8.0", up, 2);
	json_t *ent = json_pack("{s:s, s:s, s:s, s:s, s:I}", "version", "v3.8.1", "result", "failed", "class",
				"build", "message", "exit 1", "ended", (json_int_t)1000);
	apply_ledger_entry(&f.cs, ent);
	json_decref(ent);
	assert_string_equal(state(&f, NULL), "failed");
	/* a newer candidate than the failed one is outdated again */
	strv_free(&f.cs.upstream);
	strv_push(&f.cs.upstream, "v3.8.2");
	assert_string_equal(state(&f, NULL), "outdated");
	comp_state_free(&f.cs);
}

static void test_next_run(void **st)
{
	(void)st;
	struct fixture f;
	setup_comp(&f, "v3.8.0", NULL, 0);
	struct tally_err err = {0};
	assert_int_equal(cron_parse("0 * * * *", &f.cs.cron, "test", &err), 0);
	long long now = 1700000000;   /* 22:13:20 UTC */
	long long next = next_run_of(&f.cs, NULL, 0, now);
	assert_int_equal(next, cron_next(f.cs.cron, now));
	assert_int_equal(next % 3600, 0);
	assert_int_equal(next_run_of(&f.cs, NULL, 1, now), 0);   /* paused */
	struct holds *h = holds_of("pin server v3.8.0 frozen\n");
	assert_int_equal(next_run_of(&f.cs, h, 0, now), 0);       /* pinned */
	/* a backoff retry before the next cron time comes first */
	f.cs.retry_due = now + 60;
	assert_int_equal(next_run_of(&f.cs, NULL, 0, now), now + 60);
	f.cs.retry_due = 0;
	f.cc.upstream_kind = "manual";
	assert_int_equal(next_run_of(&f.cs, NULL, 0, now), 0);
	holds_free(h);
	comp_state_free(&f.cs);
}

static void test_transient_backoff(void **st)
{
	(void)st;
	struct fixture f;
	setup_comp(&f, "v3.8.0", NULL, 0);
	note_result(&f.cs, "failed", "network", 1000, 0);
	assert_int_equal(f.cs.transient_failures, 1);
	assert_true(f.cs.retry_due > 1000);
	note_result(&f.cs, "failed", "build", 2000, 0);   /* not transient: the series ends */
	assert_int_equal(f.cs.transient_failures, 0);
	assert_int_equal(f.cs.retry_due, 0);
	comp_state_free(&f.cs);
}

static void test_status_row(void **st)
{
	(void)st;
	static const char *const up[] = {"v3.8.1", "v3.8.0"};
	struct fixture f;
	setup_comp(&f, "v3.8.0", up, 2);
	struct holds *h = holds_of("skip server v3.7.9 old\n");
	json_t *row = status_json(&f.cs, h, ev_name(EV_STATUS), 0, 1700000000);
	assert_string_equal(json_string_value(json_object_get(row, "event")), "status");
	assert_string_equal(json_string_value(json_object_get(row, "state")), "outdated");
	assert_string_equal(json_string_value(json_object_get(row, "candidate")), "v3.8.1");
	assert_string_equal(json_string_value(json_object_get(row, "upstream")), "v3.8.1");
	assert_string_equal(json_string_value(json_object_get(row, "recorded")), "v3.8.0");
	assert_true(json_is_null(json_object_get(row, "next_run")));   /* no schedule */
	assert_true(json_is_null(json_object_get(row, "pin")));
	json_t *sk = json_object_get(row, "skipped");
	assert_int_equal(json_array_size(sk), 1);
	assert_string_equal(json_string_value(json_array_get(sk, 0)), "v3.7.9");
	json_decref(row);
	holds_free(h);
	comp_state_free(&f.cs);
}

static void test_base_moved(void **st)
{
	(void)st;
	struct fixture f;
	setup_comp(&f, "v3.8.0", NULL, 0);
	f.cs.bases = json_pack("[{s:s, s:s, s:s}]", "image", "docker.io/library/alpine:3", "digest", "sha256:b",
			       "built_on", "sha256:a");
	assert_string_equal(base_moved(&f.cs), "docker.io/library/alpine:3");
	assert_non_null(base_entry(&f.cs, "docker.io/library/alpine:3"));
	assert_null(base_entry(&f.cs, "other"));
	assert_string_equal(state(&f, NULL), "base-moved");
	/* the base read back as built on: current */
	json_object_set_new(json_array_get(f.cs.bases, 0), "digest", json_string("sha256:a"));
	assert_null(base_moved(&f.cs));
	assert_string_equal(state(&f, NULL), "current");
	comp_state_free(&f.cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_candidate_newer_than_record),
		cmocka_unit_test(test_current_ahead_unchecked),
		cmocka_unit_test(test_pinned_has_no_candidate),
		cmocka_unit_test(test_failed_candidate),
		cmocka_unit_test(test_next_run),
		cmocka_unit_test(test_transient_backoff),
		cmocka_unit_test(test_status_row),
		cmocka_unit_test(test_base_moved),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
