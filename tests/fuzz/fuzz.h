/* fuzz.h - shared pieces of the libFuzzer targets in tests/fuzz/.
 *
 * Each fuzz_NAME.c defines LLVMFuzzerTestOneInput. Built with clang and
 * -fsanitize=fuzzer,address,undefined under -DTALLY_FUZZ=ON (scripts/fuzz
 * runs them); in every build, fuzz_replay_NAME (replay_main.c) feeds each
 * file of tests/fuzz/corpus/NAME/ to the same function once, as a test.
 *
 * A target aborts (a finding) when a parser breaks its contract, not only
 * when it crashes: a refusal must say why, naming the input. */
#ifndef TALLY_FUZZ_H
#define TALLY_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_REQUIRE(cond, ...)                                                   \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "fuzz: contract broken: %s: ", #cond);   \
			fprintf(stderr, __VA_ARGS__);                             \
			fputc('\n', stderr);                                      \
			abort();                                                  \
		}                                                                 \
	} while (0)

/* A one-connection-at-a-time HTTP/1.1 server on 127.0.0.1 (a thread),
 * answering every request with the response set by fuzz_http_set (whole
 * bytes: status line, headers, body) and closing the connection. */
int fuzz_http_start(void);   /* the port */
void fuzz_http_set(const char *resp, size_t len);
/* The same on a UNIX socket: each connection gets the bytes set by
 * fuzz_unix_set after the client's first line, then EOF. */
const char *fuzz_unix_start(void);   /* the path */
void fuzz_unix_set(const char *data, size_t len);

#endif
