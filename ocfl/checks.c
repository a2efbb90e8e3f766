/* checks.c: the one table of the validator's checks and their codes in OCFL 1.0 and 1.1. */
#include "checks.h"

#include <errno.h>
#include <stdio.h>

/* ROW(check, code in 1.0, code in 1.1): the same second code (or none) in both. */
#define ROW(ck, c10, c11)            [OCFL_CK_##ck] = {#ck, {c10, c11}, {NULL, NULL}}
#define ROW2(ck, c10, c11, a10, a11) [OCFL_CK_##ck] = {#ck, {c10, c11}, {a10, a11}}

/*
 * Where the two lists differ: 1.1 added E103-E112 and W016; a 1.0 object is
 * given the 1.0 rule the same problem broke (E041 for a manifest that is not
 * an object, E056 for a fixity that is not one, E046 for a versions key that
 * cannot name a version directory, E009 for version number 0, E037 for an id
 * that changes, E086 for a file in the root's extensions/), or no code where
 * 1.0 had no rule at all (E103, E107, W016).  1.0 codes that 1.1 dropped
 * (E068, E086, E091) are never given to a 1.1 object.
 */
static const struct ocfl_check_info table[OCFL_CK_COUNT_] = {
    ROW(OBJ_DECL_T, "E005", "E005"),
    ROW(OBJ_DECL_NAME, "E006", "E006"),
    ROW(OBJ_DECL_NOT_FILE, "E003", "E003"),
    ROW(OBJ_DECL_CONTENT, "E007", "E007"),
    ROW(OBJ_DECL_MISSING, "E003", "E003"),
    ROW(OBJ_DECL_MULTIPLE, "E003", "E003"),
    ROW(ROOT_DECL_T, "E078", "E078"),
    ROW(ROOT_DECL_NAME, "E079", "E079"),
    ROW(ROOT_DECL_NOT_FILE, "E076", "E076"),
    ROW(ROOT_DECL_CONTENT, "E080", "E080"),
    ROW(ROOT_DECL_MISSING, "E069", "E069"),
    ROW(ROOT_DECL_MULTIPLE, "E076", "E076"),

    ROW(INV_TOO_BIG, "E033", "E033"),
    ROW(INV_NOT_JSON, "E033", "E033"),
    /* E033 is the JSON structure; E034 is the file's name */
    ROW(INV_NOT_OBJECT, "E033", "E033"),
    ROW(INV_UNKNOWN_KEY, "E102", "E102"),
    ROW(INV_KEY_MISSING, "E036", "E036"),
    ROW(INV_ID_BAD, "E037", "E037"),
    ROW(INV_ID_NOT_URI, "W005", "W005"),
    ROW(INV_TYPE_BAD, "E038", "E038"),
    ROW(INV_ALG_BAD, "E025", "E025"),
    ROW(INV_ALG_SHA256, "W004", "W004"),
    ROW(INV_HEAD_BAD, "E040", "E040"),
    ROW(INV_HEAD_NOT_LAST, "E040", "E040"),
    /* 1.1's E108 (a direct child of the version directory) is the rule E017/E018 spell out */
    ROW2(CDIR_SLASH, "E017", "E017", NULL, "E108"),
    ROW2(CDIR_DOTS, "E018", "E018", NULL, "E108"),
    ROW(CDIR_EMPTY, "E017", "E108"),
    ROW(MANIFEST_MISSING, "E041", "E041"),
    ROW(MANIFEST_NOT_OBJECT, "E041", "E106"),
    ROW(MANIFEST_VALUE, "E092", "E092"),
    ROW(MANIFEST_DIGEST, "E039", "E039"),
    ROW(MANIFEST_UNUSED, NULL, "E107"),
    ROW(MANIFEST_DUP_DIGEST, "E096", "E096"),
    ROW(CPATH_SLASH, "E100", "E100"),
    ROW(CPATH_ELEMENT, "E099", "E099"),
    ROW(CPATH_PLACE, "E042", "E042"),
    ROW(CPATH_CONFLICT, "E101", "E101"),
    ROW2(VERSIONS_MISSING, "E043", "E043", "E008", "E008"),
    /* E044 is the key, E045 its value */
    ROW(VERSIONS_NOT_OBJECT, "E045", "E045"),
    ROW(VERSIONS_EMPTY, "E008", "E008"),
    ROW2(VNAME_FORM, "E046", "E104", NULL, "E046"),
    ROW(VNAME_RANGE, "E009", "E105"),
    ROW(VNAME_PADDED, "W001", "W001"),
    ROW2(VNAME_PAD_PREFIX, "E011", "E011", "E013", "E013"),
    ROW2(VNAME_MIXED, "E012", "E012", "E013", "E013"),
    ROW(VNAME_SAME_NUMBER, "E012", "E012"),
    ROW(VERSIONS_START, "E009", "E009"),
    ROW(VERSIONS_GAP, "E010", "E010"),
    ROW(VERSION_NOT_OBJECT, "E047", "E047"),
    ROW(VERSION_KEY_MISSING, "E048", "E048"),
    ROW(VERSION_CREATED, "E049", "E049"),
    ROW(VERSION_MESSAGE, "E094", "E094"),
    ROW(VERSION_NO_META, "W007", "W007"),
    ROW(USER_BAD, "E054", "E054"),
    ROW(USER_NO_ADDRESS, "W008", "W008"),
    ROW(USER_ADDRESS_NOT_URI, "W009", "W009"),
    ROW(STATE_BAD, "E050", "E050"),
    ROW(STATE_DIGEST, "E050", "E050"),
    ROW(LPATH_SLASH, "E053", "E053"),
    ROW(LPATH_ELEMENT, "E052", "E052"),
    ROW(LPATH_CONFLICT, "E095", "E095"),
    ROW(FIXITY_NOT_OBJECT, "E056", "E111"),
    ROW(FIXITY_BLOCK, "E057", "E057"),
    ROW(FIXITY_NOT_MANIFEST, "E057", "E057"),
    ROW(FIXITY_DUP_DIGEST, "E097", "E097"),

    ROW(OBJ_EXTRA, "E001", "E001"),
    ROW(OBJ_LOGS, "W012", "W012"),
    ROW(OBJ_NO_INVENTORY, "E063", "E063"),
    ROW(OBJ_INV_TYPE, "E038", "E038"),
    ROW(OBJ_EXT_FILE, "E067", "E067"),
    ROW(OBJ_EXT_UNKNOWN, "W013", "W013"),
    ROW(SIDECAR_MISSING, "E058", "E058"),
    ROW(SIDECAR_FORMAT, "E061", "E061"),
    ROW(SIDECAR_DIGEST, "E060", "E060"),
    ROW(NO_VERSION_DIRS, "E008", "E008"),
    ROW(VDIRS_START, "E009", "E009"),
    ROW(VDIRS_GAP, "E010", "E010"),
    ROW(VDIRS_SAME_NUMBER, "E012", "E012"),
    ROW2(VDIRS_PAD_PREFIX, "E011", "E011", "E013", "E013"),
    ROW(VDIRS_MIXED, "E012", "E012"),
    /* the versions keys must name the version directories (E046); the fixtures say E010 */
    ROW2(VDIR_MISSING, "E046", "E046", "E010", "E010"),
    ROW(VDIR_UNKNOWN, "E046", "E046"),
    ROW(VDIR_NO_INVENTORY, "W010", "W010"),
    ROW(VDIR_EXTRA_FILE, "E015", "E015"),
    ROW(VDIR_EXTRA_DIR, "W002", "W002"),
    ROW(VDIR_NO_CONTENT_DIR, "E016", "E016"),
    ROW(CONTENT_DIR_EMPTY, "W003", "W003"),
    ROW(CONTENT_EMPTY_DIR, "E024", "E024"),
    ROW(CONTENT_UNREADABLE, "E023", "E023"),
    ROW(CONTENT_LINK, "E090", "E090"),
    ROW(ROOT_INV_NOT_LAST, "E064", "E064"),
    ROW(INV_SPEC_OLDER, NULL, "E103"),
    ROW(INV_HEAD_NOT_DIR, "E040", "E040"),
    ROW2(ID_CHANGED, "E037", "E110", NULL, "E037"),
    /* "MUST NOT change" is E020; the fixtures (and other validators) say E019 */
    ROW2(CDIR_CHANGED, "E020", "E020", "E019", "E019"),
    ROW(STATE_CHANGED, "E066", "E066"),
    ROW(META_CHANGED, "W011", "W011"),
    ROW(CONTENT_MISSING, "E092", "E092"),
    ROW(CONTENT_UNLISTED, "E023", "E023"),
    ROW(FIXITY_MISMATCH, "E093", "E093"),

    ROW(LAYOUT_BAD, "E070", "E070"),
    ROW(LAYOUT_UNKNOWN, "E071", "E071"),
    ROW(ROOT_EXT_FILE, "E086", "E112"),
    ROW(ROOT_EXT_UNKNOWN, NULL, "W016"),
    ROW(ROOT_UNREADABLE, "E088", "E088"),
    ROW(ROOT_TOO_DEEP, "E088", "E088"),
    ROW(ROOT_EMPTY_DIR, "E073", "E073"),
    ROW2(ROOT_FILE_BETWEEN, "E084", "E084", "E072", "E072"),
    ROW2(ROOT_FILE_UNENDED, "E085", "E085", "E072", "E072"),
    ROW(ROOT_LINK, "E090", "E090"),
    ROW(ROOT_NESTED_OBJECT, "E082", "E082"),
    ROW(ROOT_LATER_OBJECT, "E081", "E081"),
    ROW(ROOT_MISPLACED, "W014", "W014"),
    ROW(ROOT_MIXED_DEPTH, "W015", "W015"),
    ROW(ROOT_DUP_ID, "E037", "E037"),
};

const struct ocfl_check_info *ocfl_check_info(enum ocfl_check ck)
{
    if ((unsigned)ck >= OCFL_CK_COUNT_)
        return NULL;
    return &table[ck];
}

static int column(enum ocfl_spec spec)
{
    return spec == OCFL_SPEC_1_0 ? 0 : 1;
}

const char *ocfl_check_code(enum ocfl_check ck, enum ocfl_spec spec)
{
    const struct ocfl_check_info *i = ocfl_check_info(ck);

    return i ? i->code[column(spec)] : NULL;
}

const char *ocfl_check_also(enum ocfl_check ck, enum ocfl_spec spec)
{
    const struct ocfl_check_info *i = ocfl_check_info(ck);

    return i && i->code[column(spec)] ? i->also[column(spec)] : NULL;
}

int ocfl_check_url(const char *code, enum ocfl_spec spec, char *buf, size_t size)
{
    int n = snprintf(buf, size, "https://ocfl.io/%s/spec/#%s", column(spec) ? "1.1" : "1.0",
                     code ? code : "");

    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
