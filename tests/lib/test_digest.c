/* test_digest.c: known vectors for every algorithm, one-pass hashing, files. */
#include "check.h"
#include "digest.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static const struct {
    enum ocfl_digest_alg alg;
    const char *empty, *abc;
} vectors[] = {
    {OCFL_DIGEST_MD5, "d41d8cd98f00b204e9800998ecf8427e", "900150983cd24fb0d6963f7d28e17f72"},
    {OCFL_DIGEST_SHA1, "da39a3ee5e6b4b0d3255bfef95601890afd80709",
     "a9993e364706816aba3e25717850c26c9cd0d89d"},
    {OCFL_DIGEST_SHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {OCFL_DIGEST_SHA512,
     "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877ee"
     "c2f63b931bd47417a81a538327af927da3e",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3fee"
     "b"
     "bd454d4423643ce80e2a9ac94fa54ca49f"},
    {OCFL_DIGEST_BLAKE2B_512,
     "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419d25e1031afee585313896444934eb"
     "04b903a685b1448b755d56f701afe9be2ce",
     "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533c"
     "c"
     "9518d38aa8dbf1925ab92386edd4009923"},
    {OCFL_DIGEST_SHA512_256, "c672b8d1ef56ed28ab87c3622c5114069bdd3ad7b8f9737498d0c01ecef0967a",
     "53048e2681941ef99b2e29b76b4c7dabe4c2d0c634fc6d46e0e2f13107e7af23"},
    {OCFL_DIGEST_SIZE, "0", "3"},
};
#define N_VECTORS (sizeof(vectors) / sizeof(vectors[0]))

int main(void)
{
    char hex[OCFL_DIGEST_COUNT_][OCFL_DIGEST_HEX_MAX];
    struct ocfl_hasher *h = NULL;
    unsigned all = 0;

    /* names */
    CHECK_INT(ocfl_digest_alg_from_name("sha512"), OCFL_DIGEST_SHA512);
    CHECK_INT(ocfl_digest_alg_from_name("blake2b-512"), OCFL_DIGEST_BLAKE2B_512);
    CHECK_INT(ocfl_digest_alg_from_name("sha512/256"), OCFL_DIGEST_SHA512_256);
    CHECK_INT(ocfl_digest_alg_from_name("size"), OCFL_DIGEST_SIZE);
    CHECK_INT(ocfl_digest_alg_from_name("SHA512"), OCFL_DIGEST_UNKNOWN);
    CHECK_INT(ocfl_digest_alg_from_name("blake2b-160"), OCFL_DIGEST_UNKNOWN);
    CHECK_INT(ocfl_digest_alg_from_name(NULL), OCFL_DIGEST_UNKNOWN);
    CHECK_STR(ocfl_digest_alg_name(OCFL_DIGEST_SHA512_256), "sha512/256");
    CHECK(ocfl_digest_alg_name(OCFL_DIGEST_UNKNOWN) == NULL);
    CHECK(ocfl_digest_alg_is_content(OCFL_DIGEST_SHA256));
    CHECK(!ocfl_digest_alg_is_content(OCFL_DIGEST_MD5));
    CHECK_INT(ocfl_digest_hex_len(OCFL_DIGEST_SHA512), 128);
    CHECK_INT(ocfl_digest_hex_len(OCFL_DIGEST_SIZE), 0);
    CHECK(ocfl_digest_equal("ABCdef", "abcDEF"));
    CHECK(!ocfl_digest_equal("abc", "abd"));
    CHECK(!ocfl_digest_equal("abc", "abcd"));

    /* each algorithm alone: empty and "abc" */
    for (size_t i = 0; i < N_VECTORS; i++) {
        all |= 1u << vectors[i].alg;
        CHECK_OK(ocfl_hasher_new(1u << vectors[i].alg, &h, NULL));
        if (!h)
            continue;
        CHECK_OK(ocfl_hasher_final(h, vectors[i].alg, hex[0]));
        CHECK_STR(hex[0], vectors[i].empty);
        CHECK_OK(ocfl_hasher_reset(h));
        ocfl_hasher_update(h, "a", 1);
        ocfl_hasher_update(h, "bc", 2);
        CHECK_INT(ocfl_hasher_bytes(h), 3);
        CHECK_OK(ocfl_hasher_final(h, vectors[i].alg, hex[0]));
        CHECK_STR(hex[0], vectors[i].abc);
        CHECK_INT(ocfl_hasher_final(h, OCFL_DIGEST_UNKNOWN, hex[0]), -EINVAL);
        ocfl_hasher_free(h);
        h = NULL;
    }

    /* all in one pass */
    CHECK_OK(ocfl_hasher_new(all, &h, NULL));
    ocfl_hasher_update(h, "abc", 3);
    for (size_t i = 0; i < N_VECTORS; i++) {
        CHECK_OK(ocfl_hasher_final(h, vectors[i].alg, hex[vectors[i].alg]));
        CHECK_STR(hex[vectors[i].alg], vectors[i].abc);
    }
    ocfl_hasher_free(h);
    ocfl_hasher_free(NULL);

    /* a file of 3 MiB + 5 bytes (several reads) vs. the hasher fed directly */
    {
        char path[] = "/tmp/ocfl-test-digest-XXXXXX";
        int fd = mkstemp(path);
        size_t len = 3 * 1024 * 1024 + 5;
        unsigned char *data = malloc(len);
        char want[OCFL_DIGEST_COUNT_][OCFL_DIGEST_HEX_MAX];
        unsigned algs = (1u << OCFL_DIGEST_SHA512) | (1u << OCFL_DIGEST_MD5) |
                        (1u << OCFL_DIGEST_SIZE) | (1u << OCFL_DIGEST_BLAKE2B_512);
        uint64_t size = 0;

        CHECK(fd >= 0 && data);
        for (size_t i = 0; i < len; i++)
            data[i] = (unsigned char)(i * 7 + (i >> 11));
        CHECK_INT(write(fd, data, len), (long long)len);
        CHECK_OK(ocfl_hasher_new(algs, &h, NULL));
        ocfl_hasher_update(h, data, len);
        for (int a = 1; a < OCFL_DIGEST_COUNT_; a++)
            if (algs & (1u << a))
                CHECK_OK(ocfl_hasher_final(h, (enum ocfl_digest_alg)a, want[a]));
        ocfl_hasher_free(h);
        CHECK_OK(ocfl_digest_fd(fd, algs, hex, &size, NULL));
        CHECK_INT(size, len);
        CHECK_STR(hex[OCFL_DIGEST_SHA512], want[OCFL_DIGEST_SHA512]);
        CHECK_STR(hex[OCFL_DIGEST_MD5], want[OCFL_DIGEST_MD5]);
        CHECK_STR(hex[OCFL_DIGEST_BLAKE2B_512], want[OCFL_DIGEST_BLAKE2B_512]);
        CHECK_STR(hex[OCFL_DIGEST_SIZE], "3145733");
        /* pread: the file offset is unchanged (still at the end after write) */
        CHECK_INT(lseek(fd, 0, SEEK_CUR), (long long)len);
        close(fd);
        unlink(path);
        free(data);
    }

    /* a bad descriptor gives an error with a message */
    {
        struct ocfl_err err = {0};
        CHECK_INT(ocfl_digest_fd(-1, 1u << OCFL_DIGEST_SHA256, hex, NULL, &err), -EBADF);
        CHECK(strstr(err.msg, "cannot read") != NULL);
    }
    return check_done();
}
