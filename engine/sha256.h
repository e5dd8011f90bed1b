/* sha256.h - SHA-256 (FIPS 180-4), small and dependency-free: the digests
 * of manifests, blobs and image indexes ("sha256:<hex>"). No threads, no
 * shared state: a struct sha256 belongs to its caller. */
#ifndef TALLY_SHA256_H
#define TALLY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32
/* "sha256:" + 64 hex + NUL */
#define SHA256_DIGEST_STR 72

struct sha256 {
	uint32_t h[8];
	uint64_t bytes;
	unsigned char buf[64];
	size_t n;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, unsigned char out[SHA256_LEN]);

/* One shot: "sha256:<64 lowercase hex>" into out. */
void sha256_digest_str(const void *data, size_t len, char out[SHA256_DIGEST_STR]);

/* 1 when s is "sha256:" followed by exactly 64 lowercase hex digits. */
int sha256_digest_valid(const char *s);

#endif
