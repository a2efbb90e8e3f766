/* validate.h: the OCFL validator: objects and storage roots, every checkable E/W code. */
#ifndef OCFL_VALIDATE_H
#define OCFL_VALIDATE_H

#include <stdint.h>

#include "err.h"
#include "report.h"

/*
 * Options of a validation run.  Initialise with ocfl_validate_opts_init()
 * (digests on, threads = online CPUs, no progress callback).
 */
struct ocfl_validate_opts {
    /* Hash every content file once (in the inventory's algorithm, every
     * older inventory's algorithm and every fixity algorithm ocflfs knows
     * that any inventory names, all in one pass) and compare: E092, E093.
     * 0 still checks that every content path exists, only not the bytes. */
    int check_digests;
    /* Hashing threads; 0 = the number of online CPUs. */
    unsigned threads;
    /* Called with the content bytes hashed so far and the bytes to hash
     * (for a storage root both count every object validated so far plus
     * the current one, so the total grows object by object).  May be
     * called from any hashing thread, but never by two at once.  NULL = no
     * progress. */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *progress_ctx;
};

void ocfl_validate_opts_init(struct ocfl_validate_opts *opts);

/* What a path is, for the validator. */
enum ocfl_validate_kind {
    OCFL_VALIDATE_NEITHER = 0,
    OCFL_VALIDATE_OBJECT,    /* a directory with a 0=ocfl_object_* file */
    OCFL_VALIDATE_ROOT,      /* a directory with a 0=ocfl_* file, or a storage root
                              * without one (ocfl_layout.json or objects below it) */
    OCFL_VALIDATE_INVENTORY, /* a regular file: an inventory on its own */
};

/*
 * Look at @path beneath @dirfd (AT_FDCWD for the working directory; @path
 * itself may be absolute or relative and may be a symlink, as a user typed
 * it) and say what it is.  A directory without any declaration is a storage
 * root that lost its declaration (E069) when it holds ocfl_layout.json or
 * an object root somewhere below it (looked for in at most 16 levels and
 * 10000 directories), else neither.  Returns the kind (>= 0) or a negative
 * errno (-ENOENT, -EACCES, -EINVAL for something neither a directory nor a
 * regular file ...) with a message naming @path.
 */
int ocfl_validate_detect(int dirfd, const char *path, struct ocfl_err *err);

/*
 * Validate the inventory file @path beneath @dirfd (followed as typed) on
 * its own: every check ocfl_inventory_check() makes, with the codes of the
 * inventory's own type (1.1's when it has none), the findings about the
 * file's base name ("inventory.json").  Nothing else is read: no sidecar,
 * no content.  @opts is unused (NULL is fine).  Returns 0 when the
 * validation ran, or a negative errno (-ENOENT, -EINVAL for no regular
 * file, -ENOMEM ...).
 */
int ocfl_validate_inventory(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                            struct ocfl_report *report, struct ocfl_err *err);

/*
 * Validate the OCFL object whose root is @path beneath @dirfd and record
 * every finding in @report, with paths relative to the object root ("" for
 * the object root itself, "inventory.json", "v2/content/a.txt").  The codes
 * are those of the object's spec version (its declaration, else its root
 * inventory's type, else 1.1); every inventory of the object is checked,
 * its manifest and its fixity against the files, and a problem that several
 * inventories repeat is one finding listing them.  @opts may
 * be NULL for the defaults.  Nothing is followed through a symlink and
 * nothing outside the object is read.
 *
 * Returns 0 when the validation ran (valid iff report->n_errors == 0), or a
 * negative errno when it could not: -ENOENT / -ENOTDIR / -EACCES for @path
 * itself, -ENOMEM.  Problems inside the object are findings, not errors.
 *
 * Objects whose point is an empty directory cannot be stored in git, so a
 * directory holding nothing but a file named ".keep" is validated as an
 * empty object root (E003, E063) rather than one with an extra file.
 */
int ocfl_validate_object(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                         struct ocfl_report *report, struct ocfl_err *err);

/*
 * Validate the storage root @path beneath @dirfd: its declaration (E069
 * when it has none, E075-E080), ocfl_layout.json (E070, E071), extensions/
 * (E112, W016), the storage hierarchy (E072, E073, E082, E084, E085, E088,
 * E090, W015), the placement of objects (W014: not where the layout maps
 * their id; E037: an id used twice) and then every object found, as
 * ocfl_validate_object() does (E081 for an object of a later spec than the
 * root), each object with the codes of its own spec version, the root's
 * findings with the root's.  Findings inside an object carry the object's
 * path as a prefix ("ab/cd/obj1/v1/inventory.json").  extensions/ocflfs
 * (the ocflfs state directory) is an unregistered extension: W016, nothing
 * more.
 *
 * Returns 0 when the validation ran, or a negative errno as above.
 */
int ocfl_validate_root(int dirfd, const char *path, const struct ocfl_validate_opts *opts,
                       struct ocfl_report *report, struct ocfl_err *err);

#endif
