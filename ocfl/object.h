/* object.h: an OCFL object opened for reading: its inventory and its files. */
#ifndef OCFL_OBJECT_H
#define OCFL_OBJECT_H

#include <stdint.h>
#include <sys/stat.h>

#include "digest.h"
#include "err.h"
#include "inventory.h"

struct ocfl_object {
    int fd;     /* O_DIRECTORY fd of the object root (owned) */
    char *path; /* relative to the storage root, or as given */
    struct ocfl_inventory *inv;
    /* digest of the root inventory.json bytes, in inv->digest_algorithm,
     * as checked against inventory.json.ALG */
    char inventory_digest[OCFL_DIGEST_HEX_MAX];
    /* inventory.json as fstatat() saw it just before it was read (all zero if
     * that failed): lets a later reader tell, by inode, size and times, that
     * the file is still the one inventory_digest describes */
    struct stat inventory_st;
};

/*
 * Open the object at @path beneath @dirfd: check the object declaration,
 * read inventory.json (bounded), check it against its sidecar, parse it
 * strictly.  -EBADMSG (message names the file and the problem) when any of
 * that fails; -ENOENT when there is no object there.
 */
int ocfl_object_open(int dirfd, const char *path, struct ocfl_object **ret, struct ocfl_err *err);
void ocfl_object_close(struct ocfl_object *obj);

/*
 * Resolve @logical_path in version @num (0 = head) to its digest and the
 * content path to read.  -ENOENT when the version or path does not exist.
 * The returned pointers live as long as @obj.
 */
int ocfl_object_resolve(const struct ocfl_object *obj, unsigned num, const char *logical_path,
                        const char **ret_digest, const char **ret_content_path,
                        struct ocfl_err *err);

/*
 * Open a content file for reading (O_RDONLY|O_CLOEXEC), beneath the object
 * root, never through a symlink and never outside the object.
 */
int ocfl_object_open_content(const struct ocfl_object *obj, const char *content_path,
                             struct ocfl_err *err);

/*
 * Read the sidecar inventory.json.ALG of @dir ("" for the object root, "v2"
 * for a version) and return its digest (lower-cased) in @hex.
 */
int ocfl_object_read_sidecar(int objfd, const char *dir, const char *alg,
                             char hex[OCFL_DIGEST_HEX_MAX], struct ocfl_err *err);

/*
 * Check cheaply, without reading any bytes, that every content path of
 * @obj's manifest exists beneath the object as a regular file reached
 * without any symbolic link (one openat2 per directory, one fstatat with
 * AT_SYMLINK_NOFOLLOW per file).  Run before planning a new version on an
 * existing object.  0 when all are; -EBADMSG naming the object and the
 * first bad path (missing, a symlink, not a regular file, or under a
 * symlinked or missing directory); another negative errno (-ENOMEM, -EACCES,
 * -EIO...) when the check itself could not be done.
 */
int ocfl_object_check_content(const struct ocfl_object *obj, struct ocfl_err *err);

#endif
