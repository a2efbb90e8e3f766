/* validate_inventory.c: validate one inventory file on its own, outside any object. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "validate_int.h"

/* Read all of @fd (a regular file of @size bytes, which may still grow) up to @max. */
static int read_all(int fd, size_t size, size_t max, char **ret_buf, size_t *ret_len)
{
    size_t alloc = size + 1, len = 0;
    char *buf = malloc(alloc + 1);

    if (!buf)
        return -ENOMEM;
    for (;;) {
        ssize_t n;
        if (len == alloc) {
            char *nb;
            if (alloc > max) {
                free(buf);
                return -EFBIG;
            }
            alloc = alloc > max / 2 ? max + 1 : alloc * 2;
            nb = realloc(buf, alloc + 1);
            if (!nb) {
                free(buf);
                return -ENOMEM;
            }
            buf = nb;
        }
        n = read(fd, buf + len, alloc - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int rc = -errno;
            free(buf);
            return rc;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > max) {
        free(buf);
        return -EFBIG;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

int ocfl_validate_inventory(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                            struct ocfl_report *report, struct ocfl_err *err)
{
    const char *slash = strrchr(path, '/');
    const char *name = slash && slash[1] ? slash + 1 : path;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, rc;

    (void)opts; /* nothing to hash: an inventory on its own names no file to compare */
    /* the path as the user typed it: symlinks are theirs to follow */
    fd = openat(dirfd, path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s'", path);
    if (fstat(fd, &st) < 0) {
        rc = ocfl_err_sys(err, -errno, "cannot stat '%s'", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = ocfl_err_set(err, -EINVAL, "'%s' is not a regular file", path);
        goto out;
    }
    rc = (uint64_t)st.st_size > OCFL_INVENTORY_MAX_BYTES
             ? -EFBIG
             : read_all(fd, (size_t)st.st_size, OCFL_INVENTORY_MAX_BYTES, &buf, &len);
    if (rc == -EFBIG) {
        ocfl_report_check(report, OCFL_CK_INV_TOO_BIG, OCFL_SPEC_UNKNOWN, name, NULL,
                          "inventory is larger than %u bytes", OCFL_INVENTORY_MAX_BYTES);
        rc = 0;
        goto out;
    }
    if (rc < 0) {
        ocfl_err_sys(err, rc, "cannot read '%s'", path);
        goto out;
    }
    /* the codes of the inventory's own type: there is no declaration to go by */
    rc = ocfl_inventory_check(buf, len, name, OCFL_SPEC_UNKNOWN, report, NULL);
    if (rc < 0)
        ocfl_err_sys(err, rc, "cannot validate '%s'", path);
out:
    free(buf);
    close(fd);
    return rc < 0 ? rc : 0;
}
