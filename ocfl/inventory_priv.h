/* inventory_priv.h: helpers shared by the inventory files (not a public contract). */
#ifndef OCFL_INVENTORY_PRIV_H
#define OCFL_INVENTORY_PRIV_H

#include "checks.h"
#include "digest.h"
#include "inventory.h"
#include "json_doc.h"
#include "strset.h"

/* ASCII case-insensitive comparison (locale-independent), as digests compare. */
int ocfl_ascii_casecmp(const char *a, const char *b);

/* qsort comparators. */
int ocfl_cmp_manifest_entry(const void *a, const void *b); /* by digest, ignoring case */
int ocfl_cmp_state_entry(const void *a, const void *b);    /* by logical path */
int ocfl_cmp_str_ptr(const void *a, const void *b);        /* char ** by strcmp */

/* qsort() unless the array is already in order (one pass to find out). */
void ocfl_sort_if_needed(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* Like ocfl_paths_find_conflict() (equal, or one a directory prefix of the
 * other), in O(n) for @paths already sorted by strcmp.  1 with the indexes
 * of a conflicting pair, 0, or -ENOMEM. */
int ocfl_sorted_paths_conflict(const char *const *paths, size_t n, size_t *ret_a, size_t *ret_b);

/*
 * ocfl_inventory_serialize() that also digests the bytes with @alg (a content
 * algorithm), on a second thread while they are made (on this one when no
 * thread can be started): the lower-case hex goes to @ret_hex (room for
 * OCFL_DIGEST_HEX_MAX).  Same bytes, same errors; all out parameters are
 * untouched on failure.
 */
int ocfl_inventory_serialize_digest(const struct ocfl_inventory *inv, enum ocfl_digest_alg alg,
                                    char **ret_buf, size_t *ret_len, char *ret_hex,
                                    struct ocfl_err *err);

void ocfl_manifest_entries_free(struct ocfl_manifest_entry *e, size_t n);

/* A content path and its digest, as the index keeps them (both borrowed from the inventory). */
struct ocfl_path_ref {
    const char *path;
    const char *digest;
};
int ocfl_cmp_path_ref(const void *a, const void *b); /* by path (strcmp) */

/*
 * ocfl_inventory_reindex() with the manifest's path table already made:
 * @refs (malloc'd, taken over even on failure) holds every content path of
 * the manifest, sorted by path, pointing into inv->manifest.  Spares the
 * checker sorting the same paths twice.  0 or -ENOMEM.
 */
int ocfl_inventory_reindex_with(struct ocfl_inventory *inv, struct ocfl_path_ref *refs, size_t n);
void ocfl_version_release(struct ocfl_version *v);

/* The state of one inventory check (inventory_check.c, inventory_check_versions.c). */
struct inv_ck {
    struct ocfl_report *r;
    const char *where;
    enum ocfl_spec spec; /* whose codes to report (UNKNOWN: the inventory's type, else 1.1) */
    struct ocfl_inventory *inv; /* the best-effort result being built */
    int oom;
    const struct json_doc *d;
    int has_manifest;                    /* the manifest is an object: manifest_keys is filled */
    struct ocfl_strset manifest_keys;    /* its digests, exactly as written */
    int has_used;                        /* versions is an object: used is filled */
    struct ocfl_strset used;             /* digests named by any state */
    struct ocfl_strset vnames;           /* valid version directory names -> number */
    struct ocfl_path_ref *manifest_refs; /* the manifest's paths sorted, for the index */
    size_t n_manifest_refs;
};

/* Record a finding of check @ck about the inventory c->where, with the code c->spec gives it;
 * untrusted text must be bounded by the caller (%.100s). */
void ocfl_ck_find(struct inv_ck *c, enum ocfl_check ck, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* strdup() that marks c->oom on failure. */
char *ocfl_ck_strdup(struct inv_ck *c, const char *s);
/* Check the versions block (and head against it), filling c->inv->versions. */
void ocfl_ck_versions(struct inv_ck *c, json_ref versions, json_ref head);

#endif
