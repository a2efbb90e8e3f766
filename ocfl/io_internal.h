/* io_internal.h: what io.c shares with io_tree.c and io_copy.c (not for use outside io*.c). */
#ifndef OCFL_IO_INTERNAL_H
#define OCFL_IO_INTERNAL_H

#include <limits.h>
#include <stddef.h>

#include "io.h"

/* Ask the fault hook about @op on @path: 0, or the negative errno to fail with. */
int io_fault(enum ocfl_io_op op, const char *path);

/*
 * Check @path, open the directory holding its last element beneath @dirfd
 * and point *ret_name at that element.  Returns an owned O_DIRECTORY fd.
 */
int io_open_parent(int dirfd, const char *path, const char **ret_name, struct ocfl_err *err);

/* write(2) all of @buf, retrying on EINTR. */
int io_write_all(int fd, const char *buf, size_t len);

/* Create "<name>.tmp-XXXXXXXX" in @pfd with O_EXCL; its name goes to @tmp.  Returns the fd. */
int io_create_temp(int pfd, const char *name, char tmp[NAME_MAX + 1]);

/*
 * fsync and close @fd (the temp @tmp in @pfd), rename it over @name, fsync
 * @pfd.  Always closes @fd; removes the temp on failure.
 */
int io_commit_temp(int pfd, int fd, const char *tmp, const char *name, const char *path,
                   struct ocfl_err *err);

#endif
