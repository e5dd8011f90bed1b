/* fuzz_conf.c - tally.conf (config_load_buffer: libgit2's parser, then
 * tally's key table, templates, paths, regexes). A refusal names the file. */
#include <git2.h>

#include "config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	if (!once++)
		git_libgit2_init();   /* held: libgit2 is not set up again per input */
	struct tally_conf *c = NULL;
	struct tally_err err = {0};
	if (config_load_buffer("fuzz.conf", (const char *)data, size, &c, &err) == 0) {
		FUZZ_REQUIRE(c != NULL, "loaded without a result");
		for (size_t i = 0; i < c->ncomps; i++)
			FUZZ_REQUIRE(c->comps[i].name && c->comps[i].file && c->comps[i].build,
				     "component %zu lacks a required key", i);
		config_free(c);
	} else {
		FUZZ_REQUIRE(c == NULL, "a failed load left a result");
		FUZZ_REQUIRE(strstr(err.msg, "fuzz.conf") != NULL, "message does not name the file: %s",
			     err.msg);
		FUZZ_REQUIRE(!strstr(err.msg, "/tally-conf-") || memmem(data, size, "/tally-conf-", 12),
			     "message names the temporary file: %s", err.msg);
	}
	return 0;
}
