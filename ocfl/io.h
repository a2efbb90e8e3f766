/* io.h: the one seam through which ocflfs touches a storage root's files. */
#ifndef OCFL_IO_H
#define OCFL_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "err.h"

/*
 * Every open, write, fsync, rename, mkdir, unlink and rmdir that ocflfs does
 * inside a storage root goes through these functions, relative to a
 * directory file descriptor.  Paths are resolved beneath that directory
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), so
 * no path, whatever an inventory says, leads outside it or through a
 * symbolic link.  All return a non-negative value or a negative errno.
 *
 * Tests install a fault hook (ocfl_io_set_fault) to fail the Nth call of a
 * kind or to stop the process at a chosen point.
 */

enum ocfl_io_op {
    OCFL_IO_OPEN,
    OCFL_IO_READ,
    OCFL_IO_WRITE,
    OCFL_IO_FSYNC,
    OCFL_IO_RENAME,
    OCFL_IO_MKDIR,
    OCFL_IO_UNLINK,
    OCFL_IO_RMDIR,
    OCFL_IO_COPY,
};

/*
 * A fault hook is called before each operation with its kind and path; a
 * negative return makes the operation fail with that errno without doing it.
 * The hook must be thread-safe.  NULL removes it.
 */
typedef int (*ocfl_io_fault_fn)(void *ctx, enum ocfl_io_op op, const char *path);
void ocfl_io_set_fault(ocfl_io_fault_fn fn, void *ctx);

/*
 * Which hook calls each function makes (the path is the one given):
 *   ocfl_io_open                 OPEN
 *   ocfl_io_read_file            OPEN, READ
 *   ocfl_io_write_file_durable   OPEN (temp), WRITE, FSYNC, RENAME, FSYNC (directory)
 *   ocfl_io_copy_fd_durable      OPEN (temp), COPY, FSYNC, RENAME, FSYNC (directory)
 *   ocfl_io_mkdirs               MKDIR per element, FSYNC per parent of a new directory
 *   ocfl_io_rename               RENAME;  ocfl_io_fsync(_dir)  FSYNC
 *   ocfl_io_unlink / _rmdir      UNLINK / RMDIR
 *   ocfl_io_remove_tree          UNLINK per file, RMDIR per directory (entry names)
 */

/*
 * Check a path before touching the disk: relative, no empty, "." or ".."
 * element, each element at most NAME_MAX bytes.  The whole path may be
 * longer than PATH_MAX: such a path is resolved one element at a time, so
 * a logical path of PATH_MAX-1 bytes still has its "vN/content/" copy.
 * 0 when acceptable;
 * -EXDEV for an absolute path or a ".." element, -EINVAL for an empty path
 * or an empty or "." element, -ENAMETOOLONG.
 */
int ocfl_io_check_path(const char *path);

/*
 * Where openat2(2) is missing (ENOSYS: old kernels, seccomp filters,
 * valgrind before 3.20) paths are resolved one element at a time with
 * O_NOFOLLOW instead, with the same refusals.  Tests call this with 0 to
 * force that fallback, 1 to try openat2 again.
 */
void ocfl_io_use_openat2(int enabled);

/*
 * openat2 beneath @dirfd without following any symlink; returns an fd
 * (O_CLOEXEC is always added).  @path "" or "." opens @dirfd's directory
 * itself; any other path must pass ocfl_io_check_path().  -ELOOP when a
 * component is a symlink.
 */
/*
 * lstat of @path beneath @dirfd (checked as above, any length): the parent
 * is resolved without following symlinks, the last element is not followed.
 * 0 or a negative errno.  No hook.
 */
int ocfl_io_stat(int dirfd, const char *path, struct stat *st);

int ocfl_io_open(int dirfd, const char *path, int flags, mode_t mode);

/* Whole-file read of a regular file beneath @dirfd, at most @max bytes
 * (-EFBIG beyond; -EINVAL when not a regular file).  *ret_buf is malloc'd
 * and NUL-terminated; *ret_len (optional) gets the length. */
int ocfl_io_read_file(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                      struct ocfl_err *err);

/*
 * Durable write: create "<path>.tmp-XXXX" with O_EXCL beside @path, write
 * @len bytes, fsync, close (checked), rename over @path, fsync the parent
 * directory.  On any failure the temp file is removed and @path is either
 * its old self or the complete new content.  XXXX depends only on @path, so
 * the temp of a writer killed before its rename is replaced by the next
 * write of @path (one writer per destination at a time).
 */
int ocfl_io_write_file_durable(int dirfd, const char *path, const void *buf, size_t len,
                               struct ocfl_err *err);

/* mkdir -p beneath @dirfd, fsyncing each parent whose entry was created.
 * An existing directory is success. */
int ocfl_io_mkdirs(int dirfd, const char *path, mode_t mode, struct ocfl_err *err);

/* mkdir of the single element @name in @dirfd, without fsync: the caller makes
 * the new entry durable (fsync of @dirfd).  1 when made, 0 when a directory
 * (or anything) is already there; -EINVAL for a name with a '/' or that
 * ocfl_io_check_path refuses.  Hook: MKDIR. */
int ocfl_io_mkdir_nosync(int dirfd, const char *name, mode_t mode, struct ocfl_err *err);

/* renameat beneath two directory fds (no symlinks followed in either). */
int ocfl_io_rename(int olddirfd, const char *oldpath, int newdirfd, const char *newpath,
                   struct ocfl_err *err);

/* fsync the directory at @path beneath @dirfd ("" or "." for @dirfd itself). */
int ocfl_io_fsync_dir(int dirfd, const char *path, struct ocfl_err *err);

/* fsync an open file, reporting @what in the message. */
int ocfl_io_fsync(int fd, const char *what, struct ocfl_err *err);

/*
 * fsync (fdatasync when @datasync) each of the @n files or directories @paths (beneath @dirfd;
 * "" is not allowed: use ocfl_io_fsync_dir), on up to @threads threads (0: a default suited to
 * waiting on a disk, not to the number of cores).  This, not syncfs(2), is how a caller makes a
 * set of files durable: FUSE file systems and some network ones do not honour syncfs.  Stops at
 * the first failure, whose message names the path.  Returns 0 or a negative errno.
 * Hook: FSYNC (per path).
 */
int ocfl_io_fsync_paths(int dirfd, const char *const *paths, size_t n, int datasync,
                        unsigned threads, struct ocfl_err *err);

/* unlinkat / rmdir beneath @dirfd; a missing entry is success (-ENOENT is 0). */
int ocfl_io_unlink(int dirfd, const char *path, struct ocfl_err *err);
int ocfl_io_rmdir(int dirfd, const char *path, struct ocfl_err *err);

/* Remove the tree at @path beneath @dirfd (never crossing symlinks or mounts). */
int ocfl_io_remove_tree(int dirfd, const char *path, struct ocfl_err *err);

/*
 * Copy @in_fd's bytes to a new file (durably, as above) with
 * copy_file_range/reflink where the kernel can, read/write otherwise.
 * @progress (optional) is called with the bytes done so far at least every
 * 64 MiB and once at the end; a non-zero return from it cancels with that
 * value (-ECANCELED when it is positive).  The whole file is copied from
 * offset 0; @in_fd's file offset is left unchanged.
 */
int ocfl_io_copy_fd_durable(int in_fd, int dirfd, const char *path,
                            int (*progress)(void *ctx, uint64_t done), void *ctx,
                            struct ocfl_err *err);

#endif
