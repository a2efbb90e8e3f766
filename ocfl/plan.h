/* plan.h: update plans: what a new version writes, as an ordered list of idempotent steps. */
#ifndef OCFL_PLAN_H
#define OCFL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "digest.h"
#include "err.h"
#include "inventory.h"

/*
 * Step kinds, in the order a plan runs them.  Paths in @dest are relative to
 * the object root; @source is opaque to this library (the journal resolves it
 * in its state directory).
 *   DECLARE        new object: make the object directory and write its
 *                  declaration 0=ocfl_object_1.x (dest = declaration name)
 *   VERSION_DIRS   make vN/ and, when new content exists, vN/CONTENT_DIR (dest)
 *   CONTENT        move (rename) or copy-and-verify @source to @dest
 *                  (vN/content/LOGICAL_PATH), with @digest and @size
 *   VERSION_INV    write vN/inventory.json and its sidecar (dest = "vN")
 *   ROOT_INV       write inventory.json (the switch point)
 *   ROOT_SIDECAR   write inventory.json.ALG (last of the object's files)
 *   RELEASE        remove @source (a staged file whose content was already
 *                  stored, or a staging directory)
 * A purge (ocfl_plan_build_purge) has steps of its own, paths relative to the storage root:
 *   PURGE_MOVE     rename the object directory @source to @dest, a place in the root outside
 *                  every object (the switch point: before it the object is whole where it
 *                  was, after it it is gone from there), then the directories above
 *                  @source that it left empty
 *   PURGE_DELETE   remove the tree at @dest
 *   PURGE_PRUNE    the same removal again (after a crash between the rename and it)
 */
enum ocfl_step_kind {
    OCFL_STEP_DECLARE = 0,
    OCFL_STEP_VERSION_DIRS,
    OCFL_STEP_CONTENT,
    OCFL_STEP_VERSION_INV,
    OCFL_STEP_ROOT_INV,
    OCFL_STEP_ROOT_SIDECAR,
    OCFL_STEP_RELEASE,
    OCFL_STEP_PURGE_MOVE,
    OCFL_STEP_PURGE_DELETE,
    OCFL_STEP_PURGE_PRUNE,
    OCFL_STEP_KIND_COUNT_
};

/* "declare", "version-dirs", "content", "version-inventory",
 * "root-inventory", "root-sidecar", "release", "purge-move", "purge-delete",
 * "purge-prune"; NULL when out of range. */
const char *ocfl_step_kind_name(enum ocfl_step_kind kind);
/* The reverse; -1 for an unknown name. */
int ocfl_step_kind_from_name(const char *name);

struct ocfl_plan_step {
    enum ocfl_step_kind kind;
    char *source; /* CONTENT, RELEASE; else NULL */
    char *dest;   /* see above; NULL for RELEASE */
    char *digest; /* CONTENT; else NULL */
    uint64_t size;
};

/* One logical path of the new version. */
struct ocfl_plan_file {
    const char *logical_path;
    const char *digest; /* content digest in the object's algorithm (hex) */
    /* Where the bytes are when they are not yet in the object (a staged
     * file), or NULL when the digest is known to be in the base manifest. */
    const char *source;
    uint64_t size;
};

struct ocfl_plan_input {
    /* The object's current inventory, or NULL for a new object. */
    const struct ocfl_inventory *base;
    /* Digest of the base's root inventory.json bytes (NULL for a new object). */
    const char *base_digest;
    const char *id;                     /* new object only (else base->id is used) */
    const char *digest_algorithm;       /* new object only: "sha512" (default) or "sha256" */
    enum ocfl_spec spec;                /* OCFL_SPEC_UNKNOWN = the base's, or 1.1 */
    const struct ocfl_plan_file *files; /* the whole new state, any order */
    size_t n_files;
    const char *created;                  /* RFC 3339, required */
    const char *message;                  /* NULL = none */
    const char *user_name, *user_address; /* NULL = none */
    /* Optional directory (opaque, like sources) removed by a final RELEASE step. */
    const char *release_dir;
};

struct ocfl_plan {
    char *object_id;
    int new_object;
    enum ocfl_spec spec;
    char *digest_algorithm;
    unsigned version_num;
    char *version_name; /* "v3", or "v003" with the object's padding */
    char *base_digest;  /* NULL for a new object */
    char *created, *message, *user_name, *user_address;
    char *inventory; /* the new inventory.json bytes (malloc'd, NUL-terminated) */
    size_t inventory_len;
    char inventory_digest[OCFL_DIGEST_HEX_MAX];
    struct ocfl_plan_step *steps;
    size_t n_steps;
    /* How the new state differs from the base head (for "nothing to commit"). */
    size_t n_added, n_modified, n_removed;
    uint64_t content_bytes; /* bytes of new content */
};

/*
 * What every version ocflfs writes carries: a message and a user name that are non-empty
 * UTF-8 (not only white space), and an address, when given, that is a URI (ocfl_is_uri).
 * 0, or -EINVAL with a message naming the field ("message", "user.name", "user.address").
 * An OCFL version may lack all three, but one that does can never get them (W007 and W009
 * for as long as the object lives): ocflfs's commits and put check before they plan
 * (ocfl_plan_build itself writes what OCFL allows).
 */
int ocfl_version_meta_check(const char *message, const char *user_name, const char *user_address,
                            struct ocfl_err *err);

/*
 * Build the plan for the next version.  Deterministic: the same input gives
 * byte-identical inventory bytes and the same steps.  Content whose digest
 * is already in the base manifest, or appears twice in the new state, is
 * stored once (the other sources get RELEASE steps).  The content path of
 * new content is vN/CONTENT_DIR/LOGICAL_PATH (contentDirectory and version
 * padding kept from the base).
 * Errors: -EINVAL for a bad input (a new object's id that is not UTF-8,
 * invalid or conflicting logical paths,
 * duplicates, a digest of the wrong length, a file without source whose
 * digest is not in the base manifest), -ENOTSUP for a spec change,
 * -EOVERFLOW past OCFL_MAX_VERSIONS or the padding's range, -ENOMEM.
 * *ret is owned by the caller (ocfl_plan_free).
 * The inventory bytes are digested on a second thread while they are
 * written (all signals blocked in it; joined before this returns; without
 * a thread to be had, on this one).  @in and its base are only read, and
 * must stay unchanged until this returns.
 */
int ocfl_plan_build(const struct ocfl_plan_input *in, struct ocfl_plan **ret, struct ocfl_err *err);

/*
 * The plan that removes the object of @inv, at @object_path (relative to the storage root),
 * for good: PURGE_MOVE to @trash (relative to the root: on its file system, so that the
 * move is one rename, and outside every object, e.g. under extensions/), PURGE_DELETE of
 * @trash, PURGE_PRUNE above @object_path.  @inventory_digest is the digest of the root
 * inventory.json the decision was made on: it is the plan's base and its "new" digest both
 * (the runner refuses to move an object whose inventory has changed since).  @created,
 * @user_name and @user_address record when and by whom (message "purge").  The plan has no
 * inventory bytes (inventory NULL).  -EINVAL for paths that are not relative, normalized
 * and distinct (@trash inside the object, or the object inside @trash), -ENOMEM.
 */
int ocfl_plan_build_purge(const struct ocfl_inventory *inv, const char *inventory_digest,
                          const char *object_path, const char *trash, const char *created,
                          const char *user_name, const char *user_address, struct ocfl_plan **ret,
                          struct ocfl_err *err);

/* Whether a plan whose first step is of @first_kind is a purge. */
int ocfl_plan_kind_is_purge(enum ocfl_step_kind first_kind);

void ocfl_plan_free(struct ocfl_plan *plan);

/* Whether the new state equals the base head (nothing to commit). */
int ocfl_plan_is_empty(const struct ocfl_plan *plan);

/* Index of the first step of @kind, or plan->n_steps. */
size_t ocfl_plan_find_step(const struct ocfl_plan *plan, enum ocfl_step_kind kind);

#endif
