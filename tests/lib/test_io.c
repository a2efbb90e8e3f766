/* test_io.c: the I/O seam: paths stay beneath, durable writes, fault injection, copies. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "io.h"

static char base[PATH_MAX];

static void put(int dirfd, const char *path, const char *text)
{
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        printf("# cannot write %s\n", path);
        exit(2);
    }
    close(fd);
}

static char *slurp(int dirfd, const char *path)
{
    char *buf = NULL;
    size_t len;

    if (ocfl_io_read_file(dirfd, path, 1 << 20, &buf, &len, NULL) < 0)
        return NULL;
    return buf;
}

/* Fault hook: fail the Nth call of one kind with EIO. */
struct fault_plan {
    enum ocfl_io_op op;
    atomic_int countdown;
    atomic_int calls;
};

static int fail_nth(void *ctx, enum ocfl_io_op op, const char *path)
{
    struct fault_plan *p = ctx;

    (void)path;
    if (op != p->op)
        return 0;
    atomic_fetch_add(&p->calls, 1);
    if (atomic_fetch_sub(&p->countdown, 1) == 1)
        return -EIO;
    return 0;
}

static void test_beneath(int dfd)
{
    struct ocfl_err err = {0};
    int fd;

    put(dfd, "inside", "in\n");
    sh("mkdir -p '%s/d'", base);
    sh("echo secret > '%s/../outside-io-test'", base);
    CHECK_INT(ocfl_io_open(dfd, "../outside-io-test", O_RDONLY, 0), -EXDEV);
    CHECK_INT(ocfl_io_open(dfd, "d/../../outside-io-test", O_RDONLY, 0), -EXDEV);
    CHECK_INT(ocfl_io_open(dfd, "d/../inside", O_RDONLY, 0), -EXDEV);
    CHECK_INT(ocfl_io_open(dfd, "/etc/passwd", O_RDONLY, 0), -EXDEV);
    CHECK_INT(ocfl_io_open(dfd, "d//inside", O_RDONLY, 0), -EINVAL);
    CHECK_INT(ocfl_io_open(dfd, "./inside", O_RDONLY, 0), -EINVAL);
    CHECK_INT(ocfl_io_open(dfd, "d/", O_RDONLY, 0), -EINVAL);
    /* symlinks: as the last component and in the middle */
    CHECK(symlinkat("inside", dfd, "link") == 0);
    CHECK(symlinkat("d", dfd, "dirlink") == 0);
    put(dfd, "d/f", "f\n");
    CHECK_INT(ocfl_io_open(dfd, "link", O_RDONLY, 0), -ELOOP);
    CHECK_INT(ocfl_io_open(dfd, "dirlink/f", O_RDONLY, 0), -ELOOP);
    CHECK(symlinkat("/etc", dfd, "abs") == 0);
    CHECK_INT(ocfl_io_open(dfd, "abs/passwd", O_RDONLY, 0), -ELOOP);
    fd = ocfl_io_open(dfd, "d/f", O_RDONLY, 0);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    fd = ocfl_io_open(dfd, "", O_RDONLY | O_DIRECTORY, 0);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* writes refuse the same paths before touching the disk */
    CHECK_INT(ocfl_io_write_file_durable(dfd, "../x", "x", 1, &err), -EXDEV);
    CHECK(strstr(err.msg, "'../x'") != NULL);
    CHECK_INT(ocfl_io_write_file_durable(dfd, "dirlink/x", "x", 1, NULL), -ELOOP);
    CHECK_INT(ocfl_io_mkdirs(dfd, "a/../b", 0755, NULL), -EXDEV);
    CHECK_INT(ocfl_io_mkdirs(dfd, "dirlink/sub", 0755, NULL), -ELOOP);
    CHECK_INT(ocfl_io_unlink(dfd, "../outside-io-test", NULL), -EXDEV);
    CHECK_INT(ocfl_io_rename(dfd, "inside", dfd, "/tmp/escaped", NULL), -EXDEV);
    CHECK_INT(ocfl_io_remove_tree(dfd, "dirlink/..", NULL), -EXDEV);
    /* remove_tree on a symlink removes the link, not its target */
    CHECK_INT(ocfl_io_remove_tree(dfd, "dirlink", NULL), 0);
    CHECK(faccessat(dfd, "d/f", F_OK, 0) == 0);
    CHECK(faccessat(dfd, "dirlink", F_OK, AT_SYMLINK_NOFOLLOW) < 0);
    /* read_file bounds and types */
    char *buf = NULL;
    CHECK_INT(ocfl_io_read_file(dfd, "inside", 2, &buf, NULL, &err), -EFBIG);
    CHECK(buf == NULL);
    CHECK_INT(ocfl_io_read_file(dfd, "d", 100, &buf, NULL, NULL), -EINVAL);
    CHECK(mkfifoat(dfd, "fifo", 0644) == 0);
    CHECK_INT(ocfl_io_read_file(dfd, "fifo", 100, &buf, NULL, NULL), -EINVAL);
    CHECK_INT(ocfl_io_read_file(dfd, "missing", 100, &buf, NULL, &err), -ENOENT);
    CHECK(strstr(err.msg, "cannot open 'missing'") != NULL);
    sh("rm -f '%s/../outside-io-test'", base);
}

static void test_durable(int dfd)
{
    struct ocfl_err err = {0};
    struct fault_plan plan;
    char *s;

    CHECK_OK(ocfl_io_mkdirs(dfd, "w/x/y", 0755, &err));
    CHECK_OK(ocfl_io_mkdirs(dfd, "w/x/y", 0755, &err));
    CHECK_OK(ocfl_io_write_file_durable(dfd, "w/x/y/file", "hello\n", 6, &err));
    CHECK_STR(s = slurp(dfd, "w/x/y/file"), "hello\n");
    free(s);
    /* exactly one entry: no temp left */
    sh("test $(ls -A '%s/w/x/y') = file", base);
    CHECK_OK(ocfl_io_write_file_durable(dfd, "w/x/y/file", "replaced\n", 9, &err));
    CHECK_STR(s = slurp(dfd, "w/x/y/file"), "replaced\n");
    free(s);

    /* a failure at each step leaves the old content and no temp behind */
    const enum ocfl_io_op ops[] = {OCFL_IO_OPEN, OCFL_IO_WRITE, OCFL_IO_FSYNC, OCFL_IO_RENAME};
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        plan.op = ops[i];
        atomic_store(&plan.countdown, 1);
        atomic_store(&plan.calls, 0);
        ocfl_io_set_fault(fail_nth, &plan);
        CHECK_INT(ocfl_io_write_file_durable(dfd, "w/x/y/file", "NEW\n", 4, &err), -EIO);
        ocfl_io_set_fault(NULL, NULL);
        CHECK(strstr(err.msg, "w/x/y/file") != NULL);
        CHECK_STR(s = slurp(dfd, "w/x/y/file"), "replaced\n");
        free(s);
        sh("test $(ls -A '%s/w/x/y') = file", base);
    }
    /* the second fsync (the directory's) fails after the rename: new content, reported */
    plan.op = OCFL_IO_FSYNC;
    atomic_store(&plan.countdown, 2);
    atomic_store(&plan.calls, 0);
    ocfl_io_set_fault(fail_nth, &plan);
    CHECK_INT(ocfl_io_write_file_durable(dfd, "w/x/y/file", "NEW\n", 4, NULL), -EIO);
    ocfl_io_set_fault(NULL, NULL);
    CHECK_INT(atomic_load(&plan.calls), 2);
    CHECK_STR(s = slurp(dfd, "w/x/y/file"), "NEW\n");
    free(s);

    /* the Nth mkdir fails: the earlier levels exist, the later do not */
    plan.op = OCFL_IO_MKDIR;
    atomic_store(&plan.countdown, 2);
    ocfl_io_set_fault(fail_nth, &plan);
    CHECK_INT(ocfl_io_mkdirs(dfd, "m1/m2/m3", 0755, NULL), -EIO);
    ocfl_io_set_fault(NULL, NULL);
    CHECK(faccessat(dfd, "m1", F_OK, 0) == 0);
    CHECK(faccessat(dfd, "m1/m2", F_OK, 0) < 0);

    /* rename, unlink, rmdir, remove_tree */
    CHECK_OK(ocfl_io_rename(dfd, "w/x/y/file", dfd, "w/moved", &err));
    CHECK_STR(s = slurp(dfd, "w/moved"), "NEW\n");
    free(s);
    CHECK_INT(ocfl_io_unlink(dfd, "w/moved", &err), 0);
    CHECK_INT(ocfl_io_unlink(dfd, "w/moved", &err), 0);
    CHECK_INT(ocfl_io_unlink(dfd, "nodir/moved", &err), 0);
    CHECK_INT(ocfl_io_rmdir(dfd, "w/x/y", &err), 0);
    CHECK(faccessat(dfd, "w/x/y", F_OK, 0) < 0);
    CHECK_OK(ocfl_io_fsync_dir(dfd, "w", &err));
    CHECK_OK(ocfl_io_fsync_dir(dfd, "", &err));
    CHECK_OK(ocfl_io_mkdirs(dfd, "t/a/b", 0755, &err));
    put(dfd, "t/a/b/f1", "1");
    put(dfd, "t/a/f2", "2");
    CHECK(symlinkat("../../d", dfd, "t/a/b/l") == 0);
    CHECK_INT(ocfl_io_remove_tree(dfd, "t", &err), 0);
    CHECK(faccessat(dfd, "t", F_OK, 0) < 0);
    CHECK(faccessat(dfd, "d/f", F_OK, 0) == 0); /* the symlink's target survives */
    CHECK_INT(ocfl_io_remove_tree(dfd, "t", &err), 0);
}

struct progress_log {
    int calls;
    uint64_t last;
    int cancel_at;
};

static int on_progress(void *ctx, uint64_t done)
{
    struct progress_log *p = ctx;

    p->calls++;
    p->last = done;
    return p->cancel_at && p->calls >= p->cancel_at ? -ECANCELED : 0;
}

static void test_copy(int dfd)
{
    struct ocfl_err err = {0};
    struct progress_log log = {0};
    const size_t n = 3 * 1024 * 1024 + 17;
    char *data = malloc(n), *got = NULL;
    size_t got_len = 0;
    int in;

    if (!data)
        exit(2);
    for (size_t i = 0; i < n; i++)
        data[i] = (char)(i * 2654435761u >> 13);
    CHECK_OK(ocfl_io_write_file_durable(dfd, "src.bin", data, n, &err));
    in = ocfl_io_open(dfd, "src.bin", O_RDONLY, 0);
    CHECK(in >= 0);
    CHECK(lseek(in, 100, SEEK_SET) == 100);
    CHECK_OK(ocfl_io_copy_fd_durable(in, dfd, "dst.bin", on_progress, &log, &err));
    CHECK(lseek(in, 0, SEEK_CUR) == 100);
    CHECK_OK(ocfl_io_read_file(dfd, "dst.bin", n + 1, &got, &got_len, &err));
    CHECK_INT(got_len, n);
    CHECK(got && memcmp(got, data, n) == 0);
    CHECK(log.calls >= 1);
    CHECK_INT(log.last, n);
    free(got);

    /* a copy that fails leaves no file and no temp */
    struct fault_plan plan = {.op = OCFL_IO_COPY};
    atomic_store(&plan.countdown, 1);
    ocfl_io_set_fault(fail_nth, &plan);
    CHECK_INT(ocfl_io_copy_fd_durable(in, dfd, "dst2.bin", NULL, NULL, &err), -EIO);
    ocfl_io_set_fault(NULL, NULL);
    CHECK(faccessat(dfd, "dst2.bin", F_OK, 0) < 0);
    log.cancel_at = 1;
    log.calls = 0;
    CHECK_INT(ocfl_io_copy_fd_durable(in, dfd, "dst3.bin", on_progress, &log, &err), -ECANCELED);
    CHECK(faccessat(dfd, "dst3.bin", F_OK, 0) < 0);
    sh("test -z \"$(ls -A '%s' | grep tmp-)\"", base);
    close(in);
    free(data);
}

/* Files of 8 MiB and more go out with O_DIRECT through a bounce buffer, the tail buffered:
 * the bytes must be the same whatever the size's alignment and the source's. */
static void test_durable_big(int dfd)
{
    static const size_t sizes[] = {(size_t)8 << 20, ((size_t)8 << 20) + 1, ((size_t)8 << 20) + 4095,
                                   13000001, ((size_t)9 << 20) - 512};
    size_t max = 13000001 + 1;
    unsigned char *data = malloc(max);
    uint32_t x = 2463534242u;

    CHECK(data != NULL);
    if (!data)
        return;
    for (size_t i = 0; i < max; i++) { /* xorshift: no run of equal blocks */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        data[i] = (unsigned char)x;
    }
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct ocfl_err err = {0};
        const char *src = (const char *)data + (k & 1); /* an odd source address too */
        char *back = NULL;
        size_t len = 0;
        CHECK_OK(ocfl_io_write_file_durable(dfd, "big.bin", src, sizes[k], &err));
        CHECK_OK(ocfl_io_read_file(dfd, "big.bin", max, &back, &len, &err));
        CHECK(len == sizes[k]);
        CHECK(back && len == sizes[k] && !memcmp(back, src, len));
        free(back);
    }
    sh("test $(ls -A '%s' | grep -c tmp-) = 0", base);
    free(data);
}

int main(void)
{
    char tmpl[] = "/tmp/ocfl-test-io-XXXXXX";
    int dfd, dfd2;

    if (!mkdtemp(tmpl))
        return 2;
    snprintf(base, sizeof(base), "%s/root", tmpl);
    sh("mkdir '%s'", base);
    dfd = open(base, O_RDONLY | O_DIRECTORY);
    if (dfd < 0)
        return 2;
    test_beneath(dfd);
    /* the same refusals without openat2, in a fresh directory */
    snprintf(base, sizeof(base), "%s/root2", tmpl);
    sh("mkdir '%s'", base);
    dfd2 = open(base, O_RDONLY | O_DIRECTORY);
    if (dfd2 < 0)
        return 2;
    ocfl_io_use_openat2(0);
    test_beneath(dfd2);
    ocfl_io_use_openat2(1);
    close(dfd2);
    snprintf(base, sizeof(base), "%s/root", tmpl);
    test_durable(dfd);
    test_durable_big(dfd);
    test_copy(dfd);
    close(dfd);
    sh("rm -rf '%s'", tmpl);
    return check_done();
}
