/* fuzz_versionfile.c - key=value version files, strict and lenient: a
 * refusal names file and line; what parses can have each key set and a
 * new key appended, and the result parses again with the new values and
 * every other value unchanged. */
#include "fuzz.h"
#include "versionfile.h"

static void one(const char *data, size_t size, int lenient)
{
	struct vfile *vf = NULL;
	struct tally_err err = {0};
	if (versionfile_parse("fuzz.txt", data, size, lenient, &vf, &err) < 0) {
		FUZZ_REQUIRE(vf == NULL, "failed parse left a result");
		FUZZ_REQUIRE(strncmp(err.msg, "fuzz.txt:", 9) == 0, "message does not name file:line: %s",
			     err.msg);
		return;
	}
	size_t n = versionfile_count(vf);
	/* setting a key to a new value, and appending one */
	for (size_t i = 0; i <= n && i < 8; i++) {
		const char *key = i < n ? versionfile_key_at(vf, i) : "zz_fuzz.new-key";
		if (i == n && versionfile_get(vf, key))
			continue;
		struct sbuf out = {0};
		if (versionfile_set(vf, key, "v9.9.9-fuzz", &out, &err) < 0) {
			FUZZ_REQUIRE(0, "set %s failed on a parsed file: %s", key, err.msg);
		}
		struct vfile *again = NULL;
		FUZZ_REQUIRE(versionfile_parse("fuzz.txt", out.buf ? out.buf : "", out.len, lenient, &again,
					       &err) == 0, "result of set %s does not parse: %s", key, err.msg);
		FUZZ_REQUIRE(strcmp(versionfile_get(again, key), "v9.9.9-fuzz") == 0, "set %s did not take", key);
		for (size_t k = 0; k < n; k++) {
			const char *kk = versionfile_key_at(vf, k);
			if (strcmp(kk, key) == 0)
				continue;
			const char *was = versionfile_value_at(vf, k), *now = versionfile_get(again, kk);
			FUZZ_REQUIRE(now && strcmp(was, now) == 0, "set %s changed %s from '%s' to '%s'", key, kk,
				     was, now ? now : "(gone)");
		}
		FUZZ_REQUIRE(versionfile_count(again) == n + (i == n), "set %s changed the key count", key);
		versionfile_free(again);
		sbuf_free(&out);
	}
	versionfile_free(vf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	one((const char *)data, size, 0);
	one((const char *)data, size, 1);
	return 0;
}
