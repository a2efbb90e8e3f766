/* loadgate.c: an LD_PRELOAD shim for test_loadlock.sh that holds the daemon's load of one file.
 *
 * With OCFLFS_TEST_GATE=PATH and OCFLFS_TEST_GATE_FILE=SUFFIX in the environment, every read()
 * at offset 0 of a regular file whose path ends in SUFFIX appends a line to PATH.reads (a load
 * of it began), and while PATH exists it also appends a line to PATH.held and waits until PATH
 * is removed.  So a test makes a load last exactly as long as it wants, whatever the machine's
 * speed, and counts the loads.  Without the variables read() is the C library's.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

ssize_t read(int fd, void *buf, size_t count);
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);

static ssize_t real_read(int fd, void *buf, size_t count)
{
    static ssize_t (*fn)(int, void *, size_t);

    if (!fn)
        fn = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
    if (!fn) {
        errno = ENOSYS;
        return -1;
    }
    return fn(fd, buf, count);
}

static void mark(const char *gate, const char *what)
{
    char path[PATH_MAX];
    int fd;

    if (snprintf(path, sizeof(path), "%s.%s", gate, what) >= (int)sizeof(path))
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (write(fd, "1\n", 2) < 0) {
        /* a lost mark makes the test fail, which is what it should do */
    }
    close(fd);
}

/* Whether @fd is, at offset 0, a regular file whose path ends in @suffix. */
static int gated(int fd, const char *suffix)
{
    char link[64], path[PATH_MAX];
    size_t slen = strlen(suffix);
    struct stat st;
    ssize_t n;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || lseek(fd, 0, SEEK_CUR) != 0)
        return 0;
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    n = readlink(link, path, sizeof(path) - 1);
    if (n < 0 || (size_t)n < slen)
        return 0;
    path[n] = '\0';
    return !strcmp(path + n - slen, suffix);
}

ssize_t read(int fd, void *buf, size_t count)
{
    const char *gate = getenv("OCFLFS_TEST_GATE"), *suffix = getenv("OCFLFS_TEST_GATE_FILE");
    int saved = errno;

    if (gate && *gate && suffix && *suffix && gated(fd, suffix)) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        mark(gate, "reads");
        if (access(gate, F_OK) == 0) {
            mark(gate, "held");
            while (access(gate, F_OK) == 0)
                nanosleep(&ts, NULL);
        }
    }
    errno = saved;
    return real_read(fd, buf, count);
}

/* What read() becomes under _FORTIFY_SOURCE where the buffer's size is known. */
ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
    (void)buflen;
    return read(fd, buf, count);
}
