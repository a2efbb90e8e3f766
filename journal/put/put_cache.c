/* put_cache.c: what the last `put` of an object learnt of DIR's files (digests by path and stat).
 */
/*
 * File format (native byte order: the cache never leaves this machine):
 *   header   "ocflfsPC" | u32 format (1) | u32 0 | char[16] digest algorithm's name, NUL-padded |
 *            u64 records | u64 names bytes
 *   records  u64 dev, ino, size | i64 mtime_ns, ctime_ns | u32 name offset, name length |
 *            64 bytes of binary digest (the first hexlen/2 used)
 *   names    the logical paths, each followed by a NUL, in record order (sorted by strcmp)
 *   trailer  SHA-256 of everything above, binary
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "path.h"
#include "put_cache.h"
#include "put_stage.h"

#define MAGIC       "ocflfsPC"
#define FORMAT      1u
#define DIGEST_SLOT 64u
#define SUM_LEN     32u
#define MAX_BYTES   ((size_t)1 << 31) /* 2 GiB: ~15 million files */

struct header {
    char magic[8];
    uint32_t format, pad;
    char alg[16]; /* the algorithm's OCFL name, NUL-padded (not an enum value: those may move) */
    uint64_t n, names_len;
};

struct disk_rec {
    uint64_t dev, ino, size;
    int64_t mtime_ns, ctime_ns;
    uint32_t name_off, name_len;
    unsigned char digest[DIGEST_SLOT];
};

/* "cache/put-" + hex SHA-256 of @id. */
static int cache_name(const char *id, char *buf, size_t size, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = ocfl_digest_buffer(OCFL_DIGEST_SHA256, id, strlen(id), hex, err);

    if (r < 0)
        return ocfl_err_set(err, r, "cannot name the put cache of '%s'", id);
    snprintf(buf, size, "cache/put-%s", hex);
    return 0;
}

static int sha256(const void *buf, size_t len, unsigned char out[SUM_LEN])
{
    char hex[OCFL_DIGEST_HEX_MAX];
    struct ocfl_hasher *h;
    int r = ocfl_hasher_new(1u << OCFL_DIGEST_SHA256, &h, NULL);

    if (r < 0)
        return r;
    ocfl_hasher_update(h, buf, len);
    r = ocfl_hasher_final(h, OCFL_DIGEST_SHA256, hex);
    ocfl_hasher_free(h);
    for (unsigned i = 0; r == 0 && i < SUM_LEN; i++)
        out[i] = (unsigned char)(ocfl_hex_value(hex[2 * i]) << 4 | ocfl_hex_value(hex[2 * i + 1]));
    return r;
}

/* Check @buf[0..len) as a cache file and index it into @c: 0, -EBADMSG or -ENOMEM. */
static int parse(char *buf, size_t len, struct put_cache *c)
{
    struct header hd;
    unsigned char sum[SUM_LEN];
    size_t hexlen;

    if (len < sizeof(hd) + SUM_LEN)
        return -EBADMSG;
    memcpy(&hd, buf, sizeof(hd));
    if (memchr(hd.alg, 0, sizeof(hd.alg)) == NULL)
        return -EBADMSG;
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(hd.alg);
    hexlen = ocfl_digest_alg_is_content(alg) ? ocfl_digest_hex_len(alg) : 0;
    if (memcmp(hd.magic, MAGIC, 8) || hd.format != FORMAT || !hexlen || hexlen / 2 > DIGEST_SLOT ||
        hd.n > (len - sizeof(hd) - SUM_LEN) / sizeof(struct disk_rec) ||
        hd.names_len != len - sizeof(hd) - SUM_LEN - hd.n * sizeof(struct disk_rec))
        return -EBADMSG;
    if (sha256(buf, len - SUM_LEN, sum) < 0 || memcmp(sum, buf + len - SUM_LEN, SUM_LEN))
        return -EBADMSG;
    const char *names = buf + sizeof(hd) + hd.n * sizeof(struct disk_rec);
    c->rec = calloc(hd.n ? hd.n : 1, sizeof(*c->rec));
    if (!c->rec)
        return -ENOMEM;
    for (size_t i = 0; i < hd.n; i++) {
        struct disk_rec d;
        const unsigned char *at = (unsigned char *)buf + sizeof(hd) + i * sizeof(d);
        memcpy(&d, at, sizeof(d));
        if ((uint64_t)d.name_off + d.name_len >= hd.names_len || names[d.name_off + d.name_len] ||
            strlen(names + d.name_off) != d.name_len)
            return -EBADMSG;
        struct put_cache_rec *r = &c->rec[i];
        r->path = names + d.name_off;
        if (i && strcmp(c->rec[i - 1].path, r->path) >= 0)
            return -EBADMSG; /* merged with sorted entries: must be sorted and unique */
        r->dev = d.dev;
        r->ino = d.ino;
        r->size = d.size;
        r->mtime_ns = d.mtime_ns;
        r->ctime_ns = d.ctime_ns;
        r->digest = at + offsetof(struct disk_rec, digest);
    }
    c->n = hd.n;
    c->alg = alg;
    return 0;
}

int put_cache_load(int state_fd, const char *id, struct put_cache *c, struct ocfl_err *err)
{
    char name[192];
    size_t len;
    int r = cache_name(id, name, sizeof(name), err);

    if (r < 0)
        return r;
    r = ocfl_io_read_file(state_fd, name, MAX_BYTES, &c->buf, &len, NULL);
    if (r == 0)
        r = parse(c->buf, len, c);
    if (r == -ENOMEM) {
        put_cache_release(c);
        return ocfl_err_set(err, r, "cannot load the put cache: out of memory");
    }
    if (r < 0) { /* none, unreadable or damaged: no cache */
        put_cache_release(c);
        memset(c, 0, sizeof(*c));
    }
    return 0;
}

int64_t put_cache_time_ns(const struct timespec *t)
{
    int64_t v;

    if (__builtin_mul_overflow((int64_t)t->tv_sec, 1000000000LL, &v) ||
        __builtin_add_overflow(v, (int64_t)t->tv_nsec, &v))
        return t->tv_sec < 0 ? INT64_MIN : INT64_MAX;
    return v;
}

int put_cache_match(const struct put_cache *c, const struct put_cache_rec *rec, struct put_entry *e)
{
    static const char digits[] = "0123456789abcdef";
    size_t bytes = ocfl_digest_hex_len(c->alg) / 2;
    char *hex = e->digest;

    if (rec->dev != e->dev || rec->ino != e->ino || rec->size != e->size ||
        rec->mtime_ns != e->mtime_ns || rec->ctime_ns != e->ctime_ns)
        return 0;
    for (size_t i = 0; i < bytes; i++) {
        hex[2 * i] = digits[rec->digest[i] >> 4];
        hex[2 * i + 1] = digits[rec->digest[i] & 15];
    }
    hex[2 * bytes] = 0;
    return 1;
}

static int settled(const struct put_entry *e, int64_t before)
{
    return e->ino && e->mtime_ns < before && e->ctime_ns < before;
}

int put_cache_save(int state_fd, const char *id, enum ocfl_digest_alg alg,
                   const struct put_entry *e, size_t n, int64_t settled_before_ns,
                   struct ocfl_err *err)
{
    size_t hexlen = ocfl_digest_hex_len(alg), kept = 0, names_len = 0, len, at;
    char name[192], tmp[224];
    struct header hd = {.format = FORMAT};
    char *buf;
    int r = cache_name(id, name, sizeof(name), err);

    if (r < 0)
        return r;
    if (!hexlen || hexlen / 2 > DIGEST_SLOT || !ocfl_digest_alg_is_content(alg) ||
        strlen(ocfl_digest_alg_name(alg)) >= sizeof(hd.alg))
        return ocfl_err_set(err, -EINVAL, "put cache: unsupported digest algorithm");
    strncpy(hd.alg, ocfl_digest_alg_name(alg), sizeof(hd.alg) - 1);
    for (size_t i = 0; i < n; i++)
        if (settled(&e[i], settled_before_ns)) {
            kept++;
            names_len += strlen(e[i].logical_path) + 1;
        }
    memcpy(hd.magic, MAGIC, 8);
    hd.n = kept;
    hd.names_len = names_len;
    len = sizeof(hd) + kept * sizeof(struct disk_rec) + names_len + SUM_LEN;
    buf = malloc(len);
    if (!buf)
        return ocfl_err_set(err, -ENOMEM, "cannot save the put cache: out of memory");
    memcpy(buf, &hd, sizeof(hd));
    at = sizeof(hd) + kept * sizeof(struct disk_rec);
    for (size_t i = 0, k = 0; i < n; i++) {
        if (!settled(&e[i], settled_before_ns))
            continue;
        size_t plen = strlen(e[i].logical_path);
        struct disk_rec d = {
            .dev = e[i].dev,
            .ino = e[i].ino,
            .size = e[i].size,
            .mtime_ns = e[i].mtime_ns,
            .ctime_ns = e[i].ctime_ns,
            .name_off = (uint32_t)(at - sizeof(hd) - kept * sizeof(struct disk_rec)),
            .name_len = (uint32_t)plen,
        };
        for (size_t b = 0; b < hexlen / 2; b++)
            d.digest[b] = (unsigned char)(ocfl_hex_value(e[i].digest[2 * b]) << 4 |
                                          ocfl_hex_value(e[i].digest[2 * b + 1]));
        memcpy(buf + sizeof(hd) + k++ * sizeof(d), &d, sizeof(d));
        memcpy(buf + at, e[i].logical_path, plen + 1);
        at += plen + 1;
    }
    r = sha256(buf, len - SUM_LEN, (unsigned char *)buf + len - SUM_LEN);
    if (r < 0) {
        free(buf);
        return ocfl_err_set(err, r, "cannot checksum the put cache");
    }
    if (mkdirat(state_fd, "cache", 0700) < 0 && errno != EEXIST) {
        free(buf);
        return ocfl_err_sys(err, -errno, "cannot create the put cache directory");
    }
    /* No fsync: a torn file fails its checksum and is then not used.  One temporary name per
     * cache (one writer per storage root): one that a killed put left is overwritten. */
    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    int fd = openat(state_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    r = fd < 0 ? -errno : 0;
    for (size_t off = 0; r == 0 && off < len;) {
        ssize_t w = write(fd, buf + off, len - off);
        if (w < 0 && errno != EINTR)
            r = -errno;
        else if (w > 0)
            off += (size_t)w;
    }
    if (fd >= 0 && close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(state_fd, tmp, state_fd, name) < 0)
        r = -errno;
    if (r < 0) {
        unlinkat(state_fd, tmp, 0);
        ocfl_err_sys(err, r, "cannot write the put cache '%s'", name);
    }
    free(buf);
    return r;
}

void put_cache_release(struct put_cache *c)
{
    free(c->rec);
    free(c->buf);
    c->rec = NULL;
    c->buf = NULL;
    c->n = 0;
}
