/* validate_int.h: what the validator's files share (not a public contract). */
#ifndef OCFL_VALIDATE_INT_H
#define OCFL_VALIDATE_INT_H

#include <stdint.h>

#include "checks.h"
#include "digest.h"
#include "inventory.h"
#include "report.h"
#include "validate.h"

/* Largest sidecar / declaration / ocfl_layout.json read. */
#define VAL_SMALL_FILE_MAX 4096
#define VAL_LAYOUT_MAX     (1024 * 1024)

/* One validation of one object (or of the root's own files). */
struct vctx {
    int fd;             /* the object (or storage root) directory */
    const char *prefix; /* "" or "path/of/object/" for findings */
    const struct ocfl_validate_opts *opts;
    struct ocfl_report *report;
    enum ocfl_spec spec;    /* from the declaration; UNKNOWN when missing */
    uint64_t progress_base; /* bytes hashed by objects before this one */
    int oom; /* a check could not run for lack of memory: val_object_at fails with -ENOMEM */
};

/*
 * Record a finding of check @ck at @rel (relative to the object; NULL = the
 * object itself) with c->prefix in front, under the code c->spec gives the
 * check (1.1's when the spec is not known).
 */
void vreport(struct vctx *c, enum ocfl_check ck, const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * The same for a finding made in the inventory @inv ("v2/inventory.json"):
 * about @rel (a content path), or about the inventory itself when @rel is
 * NULL.  The report keeps one finding however many inventories repeat it.
 */
void vreport_inv(struct vctx *c, enum ocfl_check ck, const char *inv, const char *rel,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Whether @name is an extension registered at ocfl.io (or one ocflfs knows). */
int val_extension_registered(const char *name);

/* What an object validation tells the storage-root validator. */
struct vobj_info {
    enum ocfl_spec spec; /* declaration */
    char *id;            /* root inventory id (malloc'd) or NULL */
    uint64_t bytes;      /* content bytes hashed */
};

/* Validate the object open on c->fd with c's prefix/report/options;
 * *ret_info (optional) is filled, its id owned by the caller. */
int val_object_at(struct vctx *c, struct vobj_info *ret_info);

/* A directory entry as lstat sees it. */
enum vtype { VT_REG, VT_DIR, VT_LNK, VT_OTHER };
struct vdent {
    char *name;
    enum vtype type;
    uint64_t size;
};

/*
 * List the directory @path beneath @dirfd ("" = @dirfd itself), sorted by
 * name, without "." and "..".  Returns the count or a negative errno.
 */
int val_list_dir(int dirfd, const char *path, struct vdent **ret);
void val_free_dents(struct vdent *d, size_t n);

/* ---- conformance declarations (validate_decl.c) ---- */

/* The codes a declaration check reports, for objects or for storage roots. */
struct val_decl {
    const char *prefix; /* "0=ocfl_object_" or "0=ocfl_" */
    const char *what;   /* "object" or "storage root" */
    enum ocfl_check bad_t, bad_name, not_file, bad_content, missing, multiple;
};
extern const struct val_decl val_decl_object, val_decl_root;

/* Check the "0=..." entries among @d (the directory's listing): exactly one
 * regular file naming a known spec, holding its name's value and a newline.
 * Sets c->spec from it; c->oom when memory ran out. */
void val_check_declaration(struct vctx *c, const struct vdent *d, size_t n,
                           const struct val_decl *k);

/* ---- content files and their digests (validate_content.c) ---- */

struct vfile {
    char *path;    /* relative to the object root: "v1/content/a.txt" */
    uint64_t size; /* from the directory walk */
    int status;    /* 0 hashed (or not yet), else a negative errno */
};

struct vfiles {
    struct vfile *v;
    size_t n, alloc;
    int sorted;
    /* digests: hex[(file * n_algs + slot) * OCFL_DIGEST_HEX_MAX] */
    char *hex;
    enum ocfl_digest_alg algs[OCFL_DIGEST_COUNT_];
    size_t n_algs;
    int hashed;
};

int vfiles_add(struct vfiles *f, const char *path, uint64_t size);
/* Sort by path; vfiles_find() needs it. */
void vfiles_sort(struct vfiles *f);
struct vfile *vfiles_find(const struct vfiles *f, const char *path);
void vfiles_release(struct vfiles *f);
/* Ask for @alg to be computed by vfiles_hash() (unknown algs are ignored). */
void vfiles_want(struct vfiles *f, enum ocfl_digest_alg alg);
uint64_t vfiles_total(const struct vfiles *f);

/*
 * Hash every file in the wanted algorithms with a pool of threads; per-file
 * read errors land in vfile.status.  Returns 0 or -ENOMEM.
 */
int vfiles_hash(struct vfiles *f, struct vctx *c);

/* The digest of @file in @alg, or NULL when it was not computed. */
const char *vfiles_digest(const struct vfiles *f, const struct vfile *file,
                          enum ocfl_digest_alg alg);

/* ---- one object being validated (validate_object.c, validate_versions.c) ---- */

/* One inventory as read from disk. */
struct vinv {
    char where[64]; /* "inventory.json", "v2/inventory.json" */
    char *buf;      /* the bytes, NULL when absent or unreadable */
    size_t len;
    struct ocfl_inventory *inv; /* best-effort parse, NULL when hopeless */
};

/* One version directory on disk (a directory named v + digits). */
struct vver {
    char *name;
    unsigned num;
    struct vinv vi;  /* its inventory, if any */
    int has_content; /* the content directory exists */
    size_t n_files;  /* content files found in it */
};

struct vobj {
    struct vctx *c;
    struct vinv root;
    struct vver *vers; /* sorted by num */
    size_t n_vers;
    struct vfiles files;
};

/* Cross-version checks: E040 E066 E103 E110 E019 W011 (validate_versions.c). */
void val_compare_versions(struct vobj *o);

/* Content checks against every inventory: E016 E023 E092 E093 (validate_versions.c).
 * Returns 0 or -ENOMEM. */
int val_check_content(struct vobj *o);

/* The version number a content path starts with ("v12/..." -> 12), 0 if none. */
unsigned val_path_version(const char *path);

#endif
