/* inventory.h: OCFL inventories in memory: parse strictly, serialize deterministically. */
#ifndef OCFL_INVENTORY_H
#define OCFL_INVENTORY_H

#include <stddef.h>

#include "err.h"
#include "report.h"

/* Largest inventory.json ocflfs will read (untrusted input is bounded). */
#define OCFL_INVENTORY_MAX_BYTES (512u * 1024 * 1024)
/* Most versions an object may have. */
#define OCFL_MAX_VERSIONS 1000000u

enum ocfl_spec {
    OCFL_SPEC_UNKNOWN = 0,
    OCFL_SPEC_1_0 = 10,
    OCFL_SPEC_1_1 = 11,
};

/* "https://ocfl.io/1.1/spec/#inventory" <-> OCFL_SPEC_1_1, etc. */
const char *ocfl_spec_inventory_type(enum ocfl_spec spec);
enum ocfl_spec ocfl_spec_from_inventory_type(const char *type);
/* "1.0" / "1.1" */
const char *ocfl_spec_number(enum ocfl_spec spec);

/* One logical path of a version's state and the digest of its content. */
struct ocfl_state_entry {
    char *logical_path;
    char *digest; /* as written in the inventory */
};

/* One manifest (or fixity) digest and the content paths that have it. */
struct ocfl_manifest_entry {
    char *digest; /* as written in the inventory */
    char **paths;
    size_t n_paths;
};

struct ocfl_version {
    unsigned num;   /* 1, 2, 3 ... (the key "v3" or "v003" gives 3) */
    char *created;  /* RFC 3339 text as written */
    char *message;  /* NULL when absent */
    char *user_name;    /* NULL when there is no user block */
    char *user_address; /* NULL when absent */
    /* Sorted by logical_path (strcmp); lookups use bsearch. */
    struct ocfl_state_entry *state;
    size_t n_state;
};

struct ocfl_fixity_block {
    char *algorithm; /* as written ("md5", "sha1", ...), maybe unknown to ocflfs */
    struct ocfl_manifest_entry *entries; /* sorted by lower-cased digest */
    size_t n_entries;
};

struct ocfl_inventory {
    char *id;
    enum ocfl_spec spec;     /* from "type" */
    char *digest_algorithm;  /* "sha512" or "sha256" */
    char *head;              /* "v3" or "v003" as written */
    unsigned padding;        /* 0 for v1, v2...; N for zero-padded names of N digits */
    char *content_directory; /* NULL when absent (then "content" is meant) */
    struct ocfl_manifest_entry *manifest; /* sorted by lower-cased digest */
    size_t n_manifest;
    struct ocfl_version *versions; /* versions[i].num == i + 1 */
    size_t n_versions;
    struct ocfl_fixity_block *fixity; /* NULL/0 when absent; sorted by algorithm */
    size_t n_fixity;
    int has_fixity_key; /* fixity present (possibly empty) */
};

/*
 * Parse an inventory strictly: any error the spec defines for an inventory
 * on its own (types, required keys, unknown keys, digests, paths, version
 * sequence, manifest/state consistency, duplicate keys) makes it fail with
 * -EBADMSG and a message naming the first problem.  -ENOMEM, -EFBIG (over
 * OCFL_INVENTORY_MAX_BYTES) are the other errors.  On success *ret is a new
 * inventory owned by the caller (ocfl_inventory_free()).
 */
int ocfl_inventory_parse(const char *buf, size_t len, struct ocfl_inventory **ret,
                         struct ocfl_err *err);

/*
 * The validator's entry: check the inventory bytes and record every
 * finding (E/W codes, path @where, e.g. "inventory.json" or
 * "v2/inventory.json") in @report, carrying on past problems where it can.
 * When the bytes are JSON whose shape allows it, *ret_partial receives a
 * best-effort inventory (entries with problems dropped), else NULL.
 * Returns 0, or -ENOMEM.
 */
int ocfl_inventory_check(const char *buf, size_t len, const char *where,
                         struct ocfl_report *report, struct ocfl_inventory **ret_partial);

/*
 * Serialize deterministically: keys in a fixed order, manifest/state/fixity
 * digests sorted, paths sorted, two-space indentation, trailing newline.
 * The same inventory always gives the same bytes.  *ret_buf is malloc'd.
 */
int ocfl_inventory_serialize(const struct ocfl_inventory *inv, char **ret_buf, size_t *ret_len,
                             struct ocfl_err *err);

void ocfl_inventory_free(struct ocfl_inventory *inv);

/* Deep copy; returns NULL on allocation failure. */
struct ocfl_inventory *ocfl_inventory_dup(const struct ocfl_inventory *inv);

/* The head version (the last one), or NULL for an inventory without versions. */
const struct ocfl_version *ocfl_inventory_head(const struct ocfl_inventory *inv);

/* Version @num (1-based), or NULL. */
const struct ocfl_version *ocfl_inventory_version(const struct ocfl_inventory *inv, unsigned num);

/* Version directory name for @num with the inventory's padding ("v3", "v003"). */
int ocfl_inventory_version_name(const struct ocfl_inventory *inv, unsigned num, char *buf,
                                size_t size);

/* The state entry of @logical_path in @v, or NULL. */
const struct ocfl_state_entry *ocfl_version_lookup(const struct ocfl_version *v,
                                                   const char *logical_path);

/* The manifest entry for @digest (case-insensitive), or NULL. */
const struct ocfl_manifest_entry *ocfl_inventory_manifest_lookup(const struct ocfl_inventory *inv,
                                                                 const char *digest);

/*
 * The content path to read for @digest: the manifest's first path (all paths
 * of one digest hold the same bytes).  NULL when the digest is not in the
 * manifest.
 */
const char *ocfl_inventory_content_path(const struct ocfl_inventory *inv, const char *digest);

/* contentDirectory or "content". */
const char *ocfl_inventory_content_dir(const struct ocfl_inventory *inv);

#endif
