/* digest.c: content and fixity digests through OpenSSL EVP, several algorithms in one pass. */
#include "digest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#define READ_CHUNK (1024 * 1024)

static const struct {
    const char *name; /* as in inventories */
    const char *evp;  /* OpenSSL's name; NULL for "size" */
    size_t hex_len;
} algs[OCFL_DIGEST_COUNT_] = {
    [OCFL_DIGEST_MD5] = {"md5", "MD5", 32},
    [OCFL_DIGEST_SHA1] = {"sha1", "SHA1", 40},
    [OCFL_DIGEST_SHA256] = {"sha256", "SHA256", 64},
    [OCFL_DIGEST_SHA512] = {"sha512", "SHA512", 128},
    [OCFL_DIGEST_BLAKE2B_512] = {"blake2b-512", "BLAKE2B-512", 128},
    [OCFL_DIGEST_SHA512_256] = {"sha512/256", "SHA512-256", 64},
    [OCFL_DIGEST_SIZE] = {"size", NULL, 0},
};

struct ocfl_hasher {
    unsigned algs;
    unsigned finished; /* bit set of algorithms already finalised */
    uint64_t bytes;
    EVP_MD *md[OCFL_DIGEST_COUNT_];
    EVP_MD_CTX *ctx[OCFL_DIGEST_COUNT_];
};

const char *ocfl_digest_alg_name(enum ocfl_digest_alg alg)
{
    if (alg <= OCFL_DIGEST_UNKNOWN || alg >= OCFL_DIGEST_COUNT_)
        return NULL;
    return algs[alg].name;
}

enum ocfl_digest_alg ocfl_digest_alg_from_name(const char *name)
{
    if (!name)
        return OCFL_DIGEST_UNKNOWN;
    for (int a = OCFL_DIGEST_UNKNOWN + 1; a < OCFL_DIGEST_COUNT_; a++)
        if (!strcmp(algs[a].name, name))
            return (enum ocfl_digest_alg)a;
    return OCFL_DIGEST_UNKNOWN;
}

int ocfl_digest_alg_is_content(enum ocfl_digest_alg alg)
{
    return alg == OCFL_DIGEST_SHA512 || alg == OCFL_DIGEST_SHA256;
}

size_t ocfl_digest_hex_len(enum ocfl_digest_alg alg)
{
    if (alg <= OCFL_DIGEST_UNKNOWN || alg >= OCFL_DIGEST_COUNT_)
        return 0;
    return algs[alg].hex_len;
}

void ocfl_hasher_free(struct ocfl_hasher *h)
{
    if (!h)
        return;
    for (int a = 0; a < OCFL_DIGEST_COUNT_; a++) {
        EVP_MD_CTX_free(h->ctx[a]);
        EVP_MD_free(h->md[a]);
    }
    free(h);
}

/*
 * OpenSSL says why a call failed only in its error queue: -ENOMEM when an
 * allocation failed, else @fallback.  Empties the queue either way.  Not
 * every allocation failure is queued as one (and OpenSSL 3.2 queues none),
 * so starting or finishing a digest of a fetched algorithm, which fails for
 * nothing else, passes -ENOMEM as @fallback.
 */
static int evp_error(int fallback)
{
    unsigned long e;
    int oom = 0;

    while ((e = ERR_get_error()))
        if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
            oom = 1;
    return oom ? -ENOMEM : fallback;
}

int ocfl_hasher_reset(struct ocfl_hasher *h)
{
    for (int a = 0; a < OCFL_DIGEST_COUNT_; a++)
        if (h->ctx[a] && !EVP_DigestInit_ex2(h->ctx[a], h->md[a], NULL))
            return evp_error(-ENOMEM);
    h->bytes = 0;
    h->finished = 0;
    return 0;
}

int ocfl_hasher_new(unsigned want, struct ocfl_hasher **ret, struct ocfl_err *err)
{
    struct ocfl_hasher *h;
    int r;

    if (want & ~(((1u << OCFL_DIGEST_COUNT_) - 1) & ~1u))
        return ocfl_err_set(err, -EINVAL, "unknown digest algorithm in set 0x%x", want);
    h = calloc(1, sizeof(*h));
    if (!h)
        return ocfl_err_set(err, -ENOMEM, "cannot allocate a hasher");
    h->algs = want;
    for (int a = OCFL_DIGEST_UNKNOWN + 1; a < OCFL_DIGEST_COUNT_; a++) {
        if (!(want & (1u << a)) || !algs[a].evp)
            continue;
        h->md[a] = EVP_MD_fetch(NULL, algs[a].evp, NULL);
        if (!h->md[a]) {
            int r = evp_error(-ENOTSUP);
            ocfl_hasher_free(h);
            return ocfl_err_set(err, r, "digest algorithm '%s' is not available", algs[a].name);
        }
        h->ctx[a] = EVP_MD_CTX_new();
        if (!h->ctx[a]) {
            ocfl_hasher_free(h);
            return ocfl_err_set(err, -ENOMEM, "cannot allocate a '%s' context", algs[a].name);
        }
    }
    if ((r = ocfl_hasher_reset(h)) < 0) {
        ocfl_hasher_free(h);
        return ocfl_err_set(err, r, "cannot start digests");
    }
    *ret = h;
    return 0;
}

void ocfl_hasher_update(struct ocfl_hasher *h, const void *buf, size_t len)
{
    for (int a = 0; a < OCFL_DIGEST_COUNT_; a++)
        if (h->ctx[a] && !(h->finished & (1u << a)))
            EVP_DigestUpdate(h->ctx[a], buf, len);
    h->bytes += len;
}

uint64_t ocfl_hasher_bytes(const struct ocfl_hasher *h)
{
    return h->bytes;
}

int ocfl_hasher_final(struct ocfl_hasher *h, enum ocfl_digest_alg alg, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;

    if (alg <= OCFL_DIGEST_UNKNOWN || alg >= OCFL_DIGEST_COUNT_ || !(h->algs & (1u << alg)))
        return -EINVAL;
    if (alg == OCFL_DIGEST_SIZE) {
        snprintf(hex, OCFL_DIGEST_HEX_MAX, "%" PRIu64, h->bytes);
        return 0;
    }
    if (h->finished & (1u << alg))
        return -EINVAL;
    if (!EVP_DigestFinal_ex(h->ctx[alg], md, &n))
        return evp_error(-ENOMEM);
    if (n * 2 >= OCFL_DIGEST_HEX_MAX)
        return -EIO;
    h->finished |= 1u << alg;
    for (unsigned int i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
    return 0;
}

int ocfl_digest_buffer(enum ocfl_digest_alg alg, const void *buf, size_t len,
                       char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err)
{
    struct ocfl_hasher *h;
    int r = ocfl_hasher_new(1u << alg, &h, err);

    if (r < 0)
        return r;
    ocfl_hasher_update(h, buf, len);
    r = ocfl_hasher_final(h, alg, hex);
    ocfl_hasher_free(h);
    return r < 0 ? ocfl_err_set(err, r, "cannot digest %zu bytes", len) : 0;
}

int ocfl_digest_fd(int fd, unsigned want, char hex[][OCFL_DIGEST_HEX_MAX], uint64_t *ret_size,
                   struct ocfl_err *err)
{
    struct ocfl_hasher *h = NULL;
    unsigned char *buf;
    off_t off = 0;
    int r;

    buf = malloc(READ_CHUNK);
    if (!buf)
        return ocfl_err_set(err, -ENOMEM, "cannot allocate a read buffer");
    r = ocfl_hasher_new(want, &h, err);
    if (r < 0)
        goto out;
    for (;;) {
        ssize_t got = pread(fd, buf, READ_CHUNK, off);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            r = ocfl_err_sys(err, -errno, "cannot read file to digest");
            goto out;
        }
        if (got == 0)
            break;
        ocfl_hasher_update(h, buf, (size_t)got);
        off += got;
    }
    for (int a = OCFL_DIGEST_UNKNOWN + 1; a < OCFL_DIGEST_COUNT_; a++) {
        if (!(want & (1u << a)))
            continue;
        r = ocfl_hasher_final(h, (enum ocfl_digest_alg)a, hex[a]);
        if (r < 0) {
            ocfl_err_set(err, r, "cannot finish the '%s' digest", algs[a].name);
            goto out;
        }
    }
    if (ret_size)
        *ret_size = ocfl_hasher_bytes(h);
    r = 0;
out:
    ocfl_hasher_free(h);
    free(buf);
    return r;
}

/* ASCII only: strcasecmp() would follow the locale (Turkish dotless i). */
int ocfl_digest_equal(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    for (;; a++, b++) {
        unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
        if (x >= 'A' && x <= 'Z')
            x += 'a' - 'A';
        if (y >= 'A' && y <= 'Z')
            y += 'a' - 'A';
        if (x != y)
            return 0;
        if (!x)
            return 1;
    }
}
