/* digest.h: content and fixity digests through OpenSSL EVP. */
#ifndef OCFL_DIGEST_H
#define OCFL_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Algorithms known to ocflfs.  Content digests (digestAlgorithm) may be
 * sha512 or sha256; the others are fixity-only (extension 0009 adds
 * blake2b-512, sha512/256 and size).
 */
enum ocfl_digest_alg {
    OCFL_DIGEST_UNKNOWN = 0,
    OCFL_DIGEST_MD5,
    OCFL_DIGEST_SHA1,
    OCFL_DIGEST_SHA256,
    OCFL_DIGEST_SHA512,
    OCFL_DIGEST_BLAKE2B_512,
    OCFL_DIGEST_SHA512_256,
    OCFL_DIGEST_SIZE, /* "size": decimal byte count (extension 0009) */
    OCFL_DIGEST_COUNT_
};

/* Longest hex digest plus NUL (sha512 / blake2b-512: 128 hex digits). */
#define OCFL_DIGEST_HEX_MAX 129

/* Name as written in inventories ("sha512", "blake2b-512", "size"), or NULL. */
const char *ocfl_digest_alg_name(enum ocfl_digest_alg alg);

/* Parse a name; OCFL_DIGEST_UNKNOWN for names ocflfs does not know. */
enum ocfl_digest_alg ocfl_digest_alg_from_name(const char *name);

/* Whether @alg may be an inventory's digestAlgorithm (sha512, sha256). */
int ocfl_digest_alg_is_content(enum ocfl_digest_alg alg);

/* Number of hex digits of @alg's digest; 0 for size and unknown. */
size_t ocfl_digest_hex_len(enum ocfl_digest_alg alg);

/*
 * A hasher computes one or more algorithms over the same bytes in one pass.
 * @algs is a bit set: (1u << OCFL_DIGEST_SHA512) | ...
 */
struct ocfl_hasher;

int ocfl_hasher_new(unsigned algs, struct ocfl_hasher **ret, struct ocfl_err *err);
void ocfl_hasher_update(struct ocfl_hasher *h, const void *buf, size_t len);
/* Total bytes fed so far. */
uint64_t ocfl_hasher_bytes(const struct ocfl_hasher *h);
/*
 * Write @alg's lower-case hex digest (or decimal size) into @hex, which has
 * room for OCFL_DIGEST_HEX_MAX bytes.  May be called once per algorithm;
 * returns -EINVAL when @alg was not requested.
 */
int ocfl_hasher_final(struct ocfl_hasher *h, enum ocfl_digest_alg alg, char *hex);
/* Start again from zero bytes with the same algorithms. */
int ocfl_hasher_reset(struct ocfl_hasher *h);
void ocfl_hasher_free(struct ocfl_hasher *h);

/*
 * Digest the whole regular file open on @fd (read from offset 0, with
 * pread, so the file offset is unchanged) for every algorithm in @algs;
 * hex[alg] receives each result.  ret_size (optional) gets the byte count.
 */
int ocfl_digest_fd(int fd, unsigned algs, char hex[][OCFL_DIGEST_HEX_MAX], uint64_t *ret_size,
                   struct ocfl_err *err);

/* The digest of @len bytes at @buf in @alg (a hashing algorithm, not "size") into @hex.
 * 0, -EINVAL for an unknown algorithm, -ENOMEM. */
int ocfl_digest_buffer(enum ocfl_digest_alg alg, const void *buf, size_t len,
                       char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err);

/* Case-insensitive digest equality (the spec treats hex digits so). */
int ocfl_digest_equal(const char *a, const char *b);

#endif
