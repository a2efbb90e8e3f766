/* inventory.h: OCFL inventories in memory: parse strictly, serialize deterministically. */
#ifndef OCFL_INVENTORY_H
#define OCFL_INVENTORY_H

#include <stddef.h>

#include "err.h"
#include "report.h"
#include "spec.h"

/* Largest inventory.json ocflfs will read (untrusted input is bounded). */
#define OCFL_INVENTORY_MAX_BYTES (512u * 1024 * 1024)
/* Most versions an object may have. */
#define OCFL_MAX_VERSIONS 1000000u

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
    unsigned num;       /* 1, 2, 3 ... (the key "v3" or "v003" gives 3) */
    char *created;      /* RFC 3339 text as written */
    char *message;      /* NULL when absent */
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
    enum ocfl_spec spec;                  /* from "type" */
    char *digest_algorithm;               /* "sha512" or "sha256" */
    char *head;                           /* "v3" or "v003" as written */
    unsigned padding;                     /* 0 for v1, v2...; N for zero-padded names of N digits */
    char *content_directory;              /* NULL when absent (then "content" is meant) */
    struct ocfl_manifest_entry *manifest; /* sorted by lower-cased digest */
    size_t n_manifest;
    struct ocfl_version *versions; /* versions[i].num == i + 1 */
    size_t n_versions;
    struct ocfl_fixity_block *fixity; /* NULL/0 when absent; sorted by algorithm */
    size_t n_fixity;
    int has_fixity_key; /* fixity present (possibly empty) */
    /*
     * Private lookup tables (content path -> digest), built by
     * ocfl_inventory_parse/_check/_dup/_reindex; NULL on an inventory built
     * by hand, where lookups fall back to linear scans.  After changing an
     * indexed inventory, call ocfl_inventory_reindex() before any lookup.
     */
    struct ocfl_inventory_index *index;
};

/* Whether @s is a URI as a version's user address wants it (RFC 3986): a scheme (a letter,
 * then letters, digits, "+", "-", "."), a colon and something after it ("mailto:a@b", "ark:"). */
int ocfl_is_uri(const char *s);

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
 * finding in @report as about the inventory @where ("inventory.json",
 * "v2/inventory.json"), carrying on past problems where it can.  The codes
 * are those @spec's list gives each check (checks.h): pass the object's
 * spec version, or OCFL_SPEC_UNKNOWN for the inventory's own type (1.1's
 * codes when that is not known either).  When the bytes are JSON whose
 * shape allows it, *ret_partial receives a best-effort inventory (entries
 * with problems dropped, bad content paths too), else NULL.  @ret_partial
 * may be NULL.  Returns 0, or -ENOMEM.
 *
 * Checked (everything decidable from the inventory bytes alone; the 1.1
 * code, the 1.0 one in brackets where it differs):
 *   E033  not parsable: bad JSON, invalid UTF-8, \u0000, duplicate keys,
 *         over OCFL_INVENTORY_MAX_BYTES, nesting deeper than 2048; or the
 *         top level not a JSON object
 *   E036  id, type, digestAlgorithm or head missing
 *   E037  id not a non-empty string
 *   E038  type not a string, or not an inventory type URI of a known spec
 *   E025  digestAlgorithm not a string or not sha512/sha256
 *   E040  head not a string, not a version name, or not the highest version
 *   E041  manifest missing;  E106 [E041] manifest not an object
 *   E092  a manifest value not an array of strings
 *   E096  a digest occurs twice in the manifest regardless of case
 *   E100  content path (manifest or fixity) begins or ends with '/'
 *   E042  manifest content path not VERSION/CONTENTDIR/... of a version of
 *         the inventory ("a", "../a", "v1/a", "v1/other/a", "v9/content/a")
 *   E099  content path with an "", ".", ".." element (after VERSION/
 *         CONTENTDIR/ in the manifest), not UTF-8, or empty
 *   E101  content paths not unique or one a directory prefix of another
 *   E017  contentDirectory contains '/' or is not a string;  E018 it is
 *         "." or "..";  1.1 adds E108 (not a direct child) to both, and
 *         gives E108 [E017] for ""
 *   E043  versions missing (and E008);  E045 versions not an object;
 *         E008 no versions
 *   E104 [E046]  a versions key is not "v" followed by digits (1.1 adds
 *         E046);  E105 [E009] its number is 0 or > OCFL_MAX_VERSIONS
 *   E009  versions do not start at 1;  E010 versions missing in the sequence
 *   E011  zero-padded naming (set by v1) but a key does not start with "v0"
 *   E012  keys mix naming conventions (padded/unpadded or other widths)
 *   E013  with E011 and E012: a later version breaks v1's naming
 *   E047  a version value not an object;  E048 created or state missing
 *   E049  created not a string or not RFC 3339 with seconds and time zone
 *   E050  state not an object, a state value not an array of strings, or a
 *         state digest that is not a manifest key (exact, case-sensitive)
 *   E052  logical path with "", ".", ".." element, not UTF-8, or empty
 *         (any length);  E053 logical path begins or ends with '/'
 *   E095  logical paths of one version not unique / conflicting
 *   E094  message not a string
 *   E054  user not an object, or name missing / not a string, or address
 *         not a string
 *   E107 [none: 1.0 allows it]  a manifest digest no version state uses
 *   E111 [E056]  fixity not an object;  E057 a fixity block not an object
 *         of arrays of strings, or a fixity content path not in the manifest
 *   E097  a digest occurs twice in one fixity block regardless of case
 *   E102  a key the spec does not define (top level, version, user)
 *   W001  zero-padded version names;  W004 sha256 rather than sha512
 *   W005  id not a URI (no "scheme:" prefix)
 *   W007  a version without message or without user
 *   W008  user without address;  W009 address not a URI
 * Fixity blocks of algorithms ocflfs does not know are checked for shape
 * only.  Not reported here (the object validator's work): anything needing
 * files on disk, sidecars, the conformance declaration (E038's comparison
 * with it), comparisons between inventories (E066, E019/E020 across
 * inventory files, E110, W011), content digests (E092/E093 against files).
 */
int ocfl_inventory_check(const char *buf, size_t len, const char *where, enum ocfl_spec spec,
                         struct ocfl_report *report, struct ocfl_inventory **ret_partial);

/*
 * Serialize deterministically: keys in a fixed order, manifest/state/fixity
 * digests sorted, paths sorted, two-space indentation, trailing newline.
 * The same inventory always gives the same bytes, and parsing them gives
 * the same inventory back.  The inventory need not be sorted or indexed.
 * *ret_buf is malloc'd (NUL-terminated; *ret_len excludes the NUL).
 * Errors: -EINVAL when id, a known spec, digest_algorithm or head is unset
 * or versions[i].num != i + 1; -ERANGE when a version number does not fit
 * the zero-padded width; -ENOMEM.
 */
int ocfl_inventory_serialize(const struct ocfl_inventory *inv, char **ret_buf, size_t *ret_len,
                             struct ocfl_err *err);

void ocfl_inventory_free(struct ocfl_inventory *inv);

/* Deep copy (indexed when @inv is); returns NULL on allocation failure or NULL @inv. */
struct ocfl_inventory *ocfl_inventory_dup(const struct ocfl_inventory *inv);

/* The head version (the last one), or NULL for an inventory without versions. */
const struct ocfl_version *ocfl_inventory_head(const struct ocfl_inventory *inv);

/* Version @num (1-based), or NULL. */
const struct ocfl_version *ocfl_inventory_version(const struct ocfl_inventory *inv, unsigned num);

/*
 * Version directory name for @num with the inventory's padding ("v3", "v003")
 * into @buf.  Returns 0, -EINVAL for 0, -ERANGE when @num has more digits than
 * the padding allows, -ENAMETOOLONG when @size is too small.
 */
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

/*
 * The @i-th content path of the manifest in strcmp order, for walking them
 * directory by directory; NULL past the end or on an unindexed inventory.
 */
const char *ocfl_inventory_sorted_content_path(const struct ocfl_inventory *inv, size_t i);

/* contentDirectory or "content". */
const char *ocfl_inventory_content_dir(const struct ocfl_inventory *inv);

/*
 * The digest the manifest gives for @content_path ("v1/content/a.txt"), or
 * NULL.  O(log n) on an indexed inventory.
 */
const char *ocfl_inventory_content_digest(const struct ocfl_inventory *inv,
                                          const char *content_path);

/*
 * The fixity digest of algorithm @alg ("md5", as written in the inventory)
 * for @content_path, or NULL when the inventory has none.  O(log n) on an
 * indexed inventory.  Used for the user.ocfl.fixity.ALG attribute.
 */
const char *ocfl_inventory_fixity_lookup(const struct ocfl_inventory *inv, const char *alg,
                                         const char *content_path);

/*
 * Sort everything the lookups rely on (manifest and fixity entries by
 * lower-cased digest, their paths, fixity blocks by algorithm, each state by
 * logical path) and rebuild the private index.  Call after building or
 * changing an inventory by hand.  Returns 0 or -ENOMEM (then the inventory
 * is sorted but unindexed, which lookups handle).
 */
int ocfl_inventory_reindex(struct ocfl_inventory *inv);

#endif
