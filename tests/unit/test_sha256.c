/* sha256: FIPS 180-4 test vectors, one shot and incremental. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sha256.h"
#include "util.h"

static const char ABC448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void hex_of(const unsigned char md[SHA256_LEN], char out[65])
{
	for (int i = 0; i < SHA256_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_vectors(void **state)
{
	(void)state;
	char d[SHA256_DIGEST_STR];
	sha256_digest_str("", 0, d);
	assert_string_equal(d, "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_digest_str("abc", 3, d);
	assert_string_equal(d, "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256_digest_str(ABC448, strlen(ABC448), d);
	assert_string_equal(d, "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* the 896-bit message of FIPS 180-2 appendix B.3's companion */
	const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
			   "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	sha256_digest_str(m896, strlen(m896), d);
	assert_string_equal(d, "sha256:cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	char *mil = xmalloc(1000000);
	memset(mil, 'a', 1000000);
	sha256_digest_str(mil, 1000000, d);
	assert_string_equal(d, "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(mil);
}

/* One million 'a' fed 1000 at a time, as FIPS 180-4's long example. */
static void test_million_incremental(void **state)
{
	(void)state;
	char a[1000];
	memset(a, 'a', sizeof a);
	struct sha256 s;
	unsigned char md[SHA256_LEN];
	char hex[65];
	sha256_init(&s);
	for (int i = 0; i < 1000; i++)
		sha256_update(&s, a, sizeof a);
	sha256_final(&s, md);
	hex_of(md, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* Every split of messages of lengths around the block and padding
 * boundaries (55, 56, 63, 64, 65, 119, 120, 128 ...) equals the one-shot
 * digest. */
static void test_incremental_equals_one_shot(void **state)
{
	(void)state;
	unsigned char msg[200];
	for (size_t i = 0; i < sizeof msg; i++)
		msg[i] = (unsigned char)(i * 7 + 3);
	for (size_t len = 0; len <= sizeof msg; len++) {
		unsigned char one[SHA256_LEN];
		struct sha256 s;
		sha256_init(&s);
		sha256_update(&s, msg, len);
		sha256_final(&s, one);
		for (size_t cut = 0; cut <= len; cut += (len > 70 ? 13 : 1)) {
			unsigned char two[SHA256_LEN];
			sha256_init(&s);
			sha256_update(&s, msg, cut);
			sha256_update(&s, msg + cut, 0);
			sha256_update(&s, msg + cut, len - cut);
			sha256_final(&s, two);
			assert_memory_equal(one, two, SHA256_LEN);
		}
		/* byte by byte */
		unsigned char three[SHA256_LEN];
		sha256_init(&s);
		for (size_t i = 0; i < len; i++)
			sha256_update(&s, msg + i, 1);
		sha256_final(&s, three);
		assert_memory_equal(one, three, SHA256_LEN);
	}
	/* and the 448-bit message split at every byte */
	char want[SHA256_DIGEST_STR];
	sha256_digest_str(ABC448, strlen(ABC448), want);
	for (size_t cut = 0; cut <= strlen(ABC448); cut++) {
		struct sha256 s;
		unsigned char md[SHA256_LEN];
		char hex[65];
		sha256_init(&s);
		sha256_update(&s, ABC448, cut);
		sha256_update(&s, ABC448 + cut, strlen(ABC448) - cut);
		sha256_final(&s, md);
		hex_of(md, hex);
		assert_string_equal(hex, want + 7);
	}
}

static void test_digest_valid(void **state)
{
	(void)state;
	char d[SHA256_DIGEST_STR];
	sha256_digest_str("x", 1, d);
	assert_true(sha256_digest_valid(d));
	assert_false(sha256_digest_valid(NULL));
	assert_false(sha256_digest_valid(""));
	assert_false(sha256_digest_valid(d + 7));
	d[70] = 'A';
	assert_false(sha256_digest_valid(d));
	d[70] = 'g';
	assert_false(sha256_digest_valid(d));
	d[70] = '\0';
	assert_false(sha256_digest_valid(d));
	assert_false(sha256_digest_valid("sha512:ab"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_million_incremental),
		cmocka_unit_test(test_incremental_equals_one_shot),
		cmocka_unit_test(test_digest_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
