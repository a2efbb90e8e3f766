/* checks.h: every check the validator makes, and the code each has in OCFL 1.0 and in 1.1. */
#ifndef OCFL_CHECKS_H
#define OCFL_CHECKS_H

#include <stddef.h>

#include "spec.h"

/*
 * One check is one rule of the spec as the validator tests it.  Findings are
 * reported by check, never by code: the code comes from the table in
 * checks.c for the spec version of the object (or storage root, or
 * inventory) being validated, so a 1.0 object is only ever given codes of
 * validation-codes-1.0.md and a 1.1 object codes of the 1.1 list.
 *
 * A check may carry a second code, reported beside its own with the same
 * message: the code the official fixtures (or other validators) give the
 * same problem where the spec's exact rule is another one, e.g. E020 ("MUST
 * NOT change") with E019 for a contentDirectory that changes.
 */
enum ocfl_check {
    /* conformance declarations (validate_decl.c) */
    OCFL_CK_OBJ_DECL_T,        /* 0=... with T other than 0 */
    OCFL_CK_OBJ_DECL_NAME,     /* not 0=ocfl_object_1.0 / 1.1 */
    OCFL_CK_OBJ_DECL_NOT_FILE, /* a declaration that is not a regular file */
    OCFL_CK_OBJ_DECL_CONTENT,  /* its text is not dvalue and a newline */
    OCFL_CK_OBJ_DECL_MISSING,
    OCFL_CK_OBJ_DECL_MULTIPLE,
    OCFL_CK_ROOT_DECL_T,
    OCFL_CK_ROOT_DECL_NAME,
    OCFL_CK_ROOT_DECL_NOT_FILE,
    OCFL_CK_ROOT_DECL_CONTENT,
    OCFL_CK_ROOT_DECL_MISSING, /* a storage root without 0=ocfl_1.x */
    OCFL_CK_ROOT_DECL_MULTIPLE,

    /* one inventory on its own (inventory_check*.c) */
    OCFL_CK_INV_TOO_BIG,       /* over OCFL_INVENTORY_MAX_BYTES */
    OCFL_CK_INV_NOT_JSON,      /* not parsable */
    OCFL_CK_INV_NOT_OBJECT,    /* top level not a JSON object */
    OCFL_CK_INV_UNKNOWN_KEY,   /* a key the spec does not define */
    OCFL_CK_INV_KEY_MISSING,   /* id, type, digestAlgorithm or head */
    OCFL_CK_INV_ID_BAD,        /* id not a non-empty string */
    OCFL_CK_INV_ID_NOT_URI,    /* W: id not a URI */
    OCFL_CK_INV_TYPE_BAD,      /* type not an inventory type of a known spec */
    OCFL_CK_INV_ALG_BAD,       /* digestAlgorithm not sha512 / sha256 */
    OCFL_CK_INV_ALG_SHA256,    /* W: sha256 rather than sha512 */
    OCFL_CK_INV_HEAD_BAD,      /* head not a string */
    OCFL_CK_INV_HEAD_NOT_LAST, /* head not the highest version (or none) */
    OCFL_CK_CDIR_SLASH,        /* contentDirectory contains '/' or is no string */
    OCFL_CK_CDIR_DOTS,         /* contentDirectory "." or ".." */
    OCFL_CK_CDIR_EMPTY,        /* contentDirectory "" */
    OCFL_CK_MANIFEST_MISSING,  /* no manifest key */
    OCFL_CK_MANIFEST_NOT_OBJECT,
    OCFL_CK_MANIFEST_VALUE,      /* a value not an array of strings */
    OCFL_CK_MANIFEST_DIGEST,     /* a key not a digest of digestAlgorithm */
    OCFL_CK_MANIFEST_UNUSED,     /* a digest no version state uses */
    OCFL_CK_MANIFEST_DUP_DIGEST, /* a digest twice regardless of case */
    OCFL_CK_CPATH_SLASH,         /* content path begins or ends with '/' */
    OCFL_CK_CPATH_ELEMENT,       /* content path element "", "." or ".." */
    OCFL_CK_CPATH_PLACE,         /* manifest path not VERSION/CONTENTDIR/... of a version */
    OCFL_CK_CPATH_CONFLICT,      /* content paths equal, or one a directory of another */
    OCFL_CK_VERSIONS_MISSING,
    OCFL_CK_VERSIONS_NOT_OBJECT,
    OCFL_CK_VERSIONS_EMPTY,
    OCFL_CK_VNAME_FORM,         /* a versions key not "v" and digits */
    OCFL_CK_VNAME_RANGE,        /* its number 0 or too large */
    OCFL_CK_VNAME_PADDED,       /* W: zero-padded names */
    OCFL_CK_VNAME_PAD_PREFIX,   /* padded width without the leading zero */
    OCFL_CK_VNAME_MIXED,        /* padded and unpadded, or two widths */
    OCFL_CK_VNAME_SAME_NUMBER,  /* two keys with one number ("v1", "v01") */
    OCFL_CK_VERSIONS_START,     /* the lowest version is not 1 */
    OCFL_CK_VERSIONS_GAP,       /* a number missing in the sequence */
    OCFL_CK_VERSION_NOT_OBJECT, /* a versions value not an object */
    OCFL_CK_VERSION_KEY_MISSING,
    OCFL_CK_VERSION_CREATED,      /* created not RFC 3339 */
    OCFL_CK_VERSION_MESSAGE,      /* message not a string */
    OCFL_CK_VERSION_NO_META,      /* W: no message or no user */
    OCFL_CK_USER_BAD,             /* user not an object, no name, address not a string */
    OCFL_CK_USER_NO_ADDRESS,      /* W */
    OCFL_CK_USER_ADDRESS_NOT_URI, /* W */
    OCFL_CK_STATE_BAD,            /* state not an object of arrays of strings */
    OCFL_CK_STATE_DIGEST,         /* a state digest not in the manifest */
    OCFL_CK_LPATH_SLASH,          /* logical path begins or ends with '/' */
    OCFL_CK_LPATH_ELEMENT,        /* logical path element "", "." or ".." */
    OCFL_CK_LPATH_CONFLICT,
    OCFL_CK_FIXITY_NOT_OBJECT,
    OCFL_CK_FIXITY_BLOCK,        /* a block not shaped like the manifest */
    OCFL_CK_FIXITY_NOT_MANIFEST, /* a fixity path the manifest does not have */
    OCFL_CK_FIXITY_DUP_DIGEST,

    /* an object on disk (validate_object.c, validate_versions.c) */
    OCFL_CK_OBJ_EXTRA,        /* an entry the object root may not hold */
    OCFL_CK_OBJ_LOGS,         /* W: logs that is not a directory */
    OCFL_CK_OBJ_NO_INVENTORY, /* no readable root inventory */
    OCFL_CK_OBJ_INV_TYPE,     /* root inventory type is not the declaration's */
    OCFL_CK_OBJ_EXT_FILE,     /* a file in extensions/ */
    OCFL_CK_OBJ_EXT_UNKNOWN,  /* W: an unregistered extension */
    OCFL_CK_SIDECAR_MISSING,
    OCFL_CK_SIDECAR_FORMAT,
    OCFL_CK_SIDECAR_DIGEST, /* the sidecar's digest is not the inventory's */
    OCFL_CK_NO_VERSION_DIRS,
    OCFL_CK_VDIRS_START, /* the first version directory is not v1 */
    OCFL_CK_VDIRS_GAP,   /* version directories skip a number */
    OCFL_CK_VDIRS_SAME_NUMBER,
    OCFL_CK_VDIRS_PAD_PREFIX,
    OCFL_CK_VDIRS_MIXED,
    OCFL_CK_VDIR_MISSING,      /* a version of the inventory without its directory */
    OCFL_CK_VDIR_UNKNOWN,      /* a version directory the inventory does not name */
    OCFL_CK_VDIR_NO_INVENTORY, /* W */
    OCFL_CK_VDIR_EXTRA_FILE,
    OCFL_CK_VDIR_EXTRA_DIR,      /* W */
    OCFL_CK_VDIR_NO_CONTENT_DIR, /* a version that adds content has no content directory */
    OCFL_CK_CONTENT_DIR_EMPTY,   /* W: a content directory without a file */
    OCFL_CK_CONTENT_EMPTY_DIR,   /* an empty directory inside a content directory */
    OCFL_CK_CONTENT_UNREADABLE,  /* a content directory that cannot be walked */
    OCFL_CK_CONTENT_LINK,        /* a link or special file in a content directory */
    OCFL_CK_ROOT_INV_NOT_LAST,   /* root inventory differs from the newest version's */
    OCFL_CK_INV_SPEC_OLDER,      /* a version's inventory of an older spec than the one before */
    OCFL_CK_INV_HEAD_NOT_DIR,    /* a version's inventory whose head is not that version */
    OCFL_CK_ID_CHANGED,          /* an inventory's id differs from the root's */
    OCFL_CK_CDIR_CHANGED,        /* contentDirectory differs between inventories */
    OCFL_CK_STATE_CHANGED,       /* a version's state differs between inventories */
    OCFL_CK_META_CHANGED,        /* W: created, message or user differ */
    OCFL_CK_CONTENT_MISSING,     /* a manifest path missing, unreadable or of other bytes */
    OCFL_CK_CONTENT_UNLISTED,    /* a content file no manifest entry names */
    OCFL_CK_FIXITY_MISMATCH,     /* a fixity digest the file does not have, or no file */

    /* a storage root (validate_root.c) */
    OCFL_CK_LAYOUT_BAD,       /* ocfl_layout.json unreadable or without its keys */
    OCFL_CK_LAYOUT_UNKNOWN,   /* its extension is not registered */
    OCFL_CK_ROOT_EXT_FILE,    /* a file in the root's extensions/ */
    OCFL_CK_ROOT_EXT_UNKNOWN, /* W */
    OCFL_CK_ROOT_UNREADABLE,  /* a directory of the hierarchy that cannot be read */
    OCFL_CK_ROOT_TOO_DEEP,
    OCFL_CK_ROOT_EMPTY_DIR,
    OCFL_CK_ROOT_FILE_BETWEEN, /* a file in an intermediate directory */
    OCFL_CK_ROOT_FILE_UNENDED, /* a file in a directory that ends no hierarchy */
    OCFL_CK_ROOT_LINK,
    OCFL_CK_ROOT_NESTED_OBJECT, /* an object inside an object */
    OCFL_CK_ROOT_LATER_OBJECT,  /* an object of a later spec than the root */
    OCFL_CK_ROOT_MISPLACED,     /* W: not where the layout maps its id */
    OCFL_CK_ROOT_MIXED_DEPTH,   /* W: top-level objects and a hierarchy */
    OCFL_CK_ROOT_DUP_ID,        /* two objects with one id */

    OCFL_CK_COUNT_
};

/* A row of the table. */
struct ocfl_check_info {
    const char *name;    /* the enum's name without OCFL_CK_: "CDIR_CHANGED" */
    const char *code[2]; /* [0] in OCFL 1.0, [1] in 1.1; NULL: that version has no rule for it */
    const char *also[2]; /* the second code reported with it, or NULL */
};

/* The row of @ck, or NULL when @ck is out of range. */
const struct ocfl_check_info *ocfl_check_info(enum ocfl_check ck);

/*
 * The code @ck has in @spec's list (OCFL_SPEC_UNKNOWN reads as 1.1, the
 * latest), and the second code reported with it (NULL when none).  Both
 * NULL when that version has no rule for the check.
 */
const char *ocfl_check_code(enum ocfl_check ck, enum ocfl_spec spec);
const char *ocfl_check_also(enum ocfl_check ck, enum ocfl_spec spec);

/*
 * The spec's address for @code in @spec ("https://ocfl.io/1.1/spec/#E093")
 * into @buf.  Returns 0, or -ENAMETOOLONG when @size is too small
 * (OCFL_CHECK_URL_MAX always suffices for a code of four characters).
 */
#define OCFL_CHECK_URL_MAX 40
int ocfl_check_url(const char *code, enum ocfl_spec spec, char *buf, size_t size);

#endif
