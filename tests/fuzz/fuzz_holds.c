/* fuzz_holds.c - the holds file (skip/pin lines): a refusal names file and
 * line; what parses survives adding and removing holds, and the results
 * parse again with the expected holds. */
#include "fuzz.h"
#include "holds.h"

static const char *const known[] = {"server", "chat", "a"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct holds *h = NULL;
	struct tally_err err = {0};
	if (holds_parse("fuzz-holds.txt", (const char *)data, size, known, 3, &h, &err) < 0) {
		FUZZ_REQUIRE(h == NULL, "failed parse left a result");
		FUZZ_REQUIRE(strncmp(err.msg, "fuzz-holds.txt", 14) == 0, "message does not name the file: %s",
			     err.msg);
		return 0;
	}
	size_t n = holds_count(h);
	struct sbuf out = {0};
	if (holds_add(h, HOLD_SKIP, "chat", "v7.7.7-fuzz", "fuzzing", &out, &err) == 0) {
		struct holds *again = NULL;
		FUZZ_REQUIRE(holds_parse("fuzz-holds.txt", out.buf ? out.buf : "", out.len, known, 3, &again,
					 &err) == 0, "after add: %s", err.msg);
		FUZZ_REQUIRE(holds_count(again) == n + 1, "add did not add one hold");
		FUZZ_REQUIRE(holds_is_skipped(again, "chat", "v7.7.7-fuzz"), "added skip not found");
		struct sbuf back = {0};
		FUZZ_REQUIRE(holds_remove(again, HOLD_SKIP, "chat", "v7.7.7-fuzz", &back, &err) == 0,
			     "remove of the added skip: %s", err.msg);
		struct holds *third = NULL;
		FUZZ_REQUIRE(holds_parse("fuzz-holds.txt", back.buf ? back.buf : "", back.len, known, 3, &third,
					 &err) == 0, "after remove: %s", err.msg);
		FUZZ_REQUIRE(holds_count(third) == n, "remove did not restore the count");
		holds_free(third);
		sbuf_free(&back);
		holds_free(again);
	}
	for (size_t i = 0; i < n && i < 4; i++) {
		const struct hold *x = holds_at(h, i);
		struct sbuf rm = {0};
		if (holds_remove(h, x->kind, x->component, x->version, &rm, &err) == 0) {
			struct holds *again = NULL;
			FUZZ_REQUIRE(holds_parse("fuzz-holds.txt", rm.buf ? rm.buf : "", rm.len, known, 3, &again,
						 &err) == 0, "after removing line %d: %s", x->line, err.msg);
			FUZZ_REQUIRE(holds_count(again) < n, "remove removed nothing");
			holds_free(again);
		}
		sbuf_free(&rm);
	}
	sbuf_free(&out);
	holds_free(h);
	return 0;
}
