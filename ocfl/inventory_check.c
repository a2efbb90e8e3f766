/* inventory_check.c: the inventory checker, used strictly (parse) or as the validator (check). */
#include "inventory_priv.h"
#include "digest.h"
#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ocfl_ck_find(struct inv_ck *c, enum ocfl_check ck, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    ocfl_report_vcheck(c->r, ck, c->spec, c->where, NULL, fmt, ap);
    va_end(ap);
}

char *ocfl_ck_strdup(struct inv_ck *c, const char *s)
{
    char *d = strdup(s);
    if (!d)
        c->oom = 1;
    return d;
}

int ocfl_is_uri(const char *s)
{
    size_t i = 1;

    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
           (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    return s[i] == ':' && s[i + 1] != '\0';
}

static int is_hex_of(const char *s, size_t len)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
              (s[i] >= 'A' && s[i] <= 'F')))
            return 0;
    return i == len;
}

/* E100/E099 for a bad fixity content path; returns 0 when the path is fine. */
static int content_path_bad(struct inv_ck *c, const char *s, const char *block)
{
    enum ocfl_path_problem pp;

    pp = ocfl_path_check(s);
    if (pp == OCFL_PATH_SLASH) {
        ocfl_ck_find(c, OCFL_CK_CPATH_SLASH, "content path '%.200s' in %s begins or ends with '/'",
                     s, block);
        return 1;
    }
    if (pp != OCFL_PATH_OK) {
        ocfl_ck_find(c, OCFL_CK_CPATH_ELEMENT,
                     "content path '%.200s' in %s has an empty, '.' or '..' element", s, block);
        return 1;
    }
    return 0;
}

/* "v" and decimal digits (the form of a version directory name), of @n bytes at @s. */
static int vname_form(const char *s, size_t n)
{
    if (n < 2 || s[0] != 'v')
        return 0;
    for (size_t i = 1; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/*
 * A manifest content path must be VERSION/CONTENTDIR/REST, VERSION a version
 * of this inventory: anything else is not a path to content of the object
 * (E042, "relative to the object root": "a.txt", "../a.txt", "v1/a.txt",
 * "v1/other/a.txt", "v9/content/a.txt" without a v9).  The checks run in
 * the order ocfl-py's run: E100 first, then E042, then E099 on what follows
 * the content directory, so "v1/content/../a" is E099 and "../v1/a" E042.
 * Returns 0 when the path is fine.
 */
static int manifest_path_bad(struct inv_ck *c, const char *s, const char *cdir)
{
    enum ocfl_path_problem pp = ocfl_path_check(s);
    const char *slash = strchr(s, '/'), *rest;
    size_t n = slash ? (size_t)(slash - s) : strlen(s), clen;
    char vname[64];

    if (pp == OCFL_PATH_SLASH) {
        ocfl_ck_find(c, OCFL_CK_CPATH_SLASH,
                     "content path '%.200s' in manifest begins or ends with '/'", s);
        return 1;
    }
    if (!slash || !vname_form(s, n) || n >= sizeof(vname)) {
        ocfl_ck_find(c, OCFL_CK_CPATH_PLACE,
                     "content path '%.200s' is not inside a version directory", s);
        return 1;
    }
    memcpy(vname, s, n);
    vname[n] = '\0';
    /* without a usable versions block there is no list of versions to hold it to */
    if (c->vnames.n && !ocfl_strset_has(&c->vnames, vname, NULL)) {
        ocfl_ck_find(c, OCFL_CK_CPATH_PLACE,
                     "content path '%.200s' is in '%s', which is not a version of the inventory", s,
                     vname);
        return 1;
    }
    rest = slash + 1;
    if (cdir) { /* else contentDirectory itself is broken (E017/E018/E108) */
        clen = strlen(cdir);
        if (strncmp(rest, cdir, clen) || rest[clen] != '/' || !rest[clen + 1]) {
            ocfl_ck_find(c, OCFL_CK_CPATH_PLACE,
                         "content path '%.200s' is not in the content directory '%.100s' of %s", s,
                         cdir, vname);
            return 1;
        }
    }
    if (pp != OCFL_PATH_OK) {
        ocfl_ck_find(c, OCFL_CK_CPATH_ELEMENT,
                     "content path '%.200s' in manifest has an empty, '.' or '..' element", s);
        return 1;
    }
    return 0;
}

/*
 * Read a manifest-shaped object (digest -> [content paths]) into entries.
 * @manifest selects the manifest rules (E092/E096, placement); otherwise
 * fixity rules (E057/E097, paths must be in the manifest).
 */
static void read_blocks(struct inv_ck *c, json_ref obj, int manifest, const char *block,
                        const char *cdir, struct ocfl_strset *cpaths,
                        struct ocfl_manifest_entry **ret, size_t *ret_n)
{
    const struct json_doc *d = c->d;
    enum ocfl_check bad_shape = manifest ? OCFL_CK_MANIFEST_VALUE : OCFL_CK_FIXITY_BLOCK;
    size_t n = 0;
    struct ocfl_manifest_entry *e;
    const char *digest;
    json_ref paths;

    *ret = NULL;
    *ret_n = 0;
    if (!json_doc_size(d, obj))
        return;
    e = calloc(json_doc_size(d, obj), sizeof(*e));
    if (!e) {
        c->oom = 1;
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, obj, k, digest, paths)
    {
        size_t np_here = json_doc_size(d, paths);

        if (!json_doc_is(d, paths, JSON_K_ARRAY)) {
            ocfl_ck_find(c, bad_shape, "%s: value of '%.140s' is not an array", block, digest);
            continue;
        }
        e[n].digest = ocfl_ck_strdup(c, digest);
        e[n].paths = np_here ? calloc(np_here, sizeof(char *)) : NULL;
        n++;
        if (!e[n - 1].digest || (np_here && !e[n - 1].paths)) {
            c->oom = 1;
            break;
        }
        JSON_DOC_FOREACH_ELEMENT(d, paths, p)
        {
            const char *s = json_doc_str(d, p);
            if (!s) {
                ocfl_ck_find(c, bad_shape, "%s: a content path of '%.140s' is not a string", block,
                             digest);
                continue;
            }
            /* a bad path is dropped from the partial: the validator does not look for it */
            if (manifest) {
                int bad = manifest_path_bad(c, s, cdir);
                /* a misplaced path is still the manifest's, for the fixity check */
                if (cpaths && ocfl_path_check(s) == OCFL_PATH_OK &&
                    ocfl_strset_add(cpaths, s, 0) < 0)
                    c->oom = 1;
                if (bad)
                    continue;
            } else if (content_path_bad(c, s, block)) {
                continue;
            } else if (cpaths && !ocfl_strset_has(cpaths, s, NULL)) {
                ocfl_ck_find(c, OCFL_CK_FIXITY_NOT_MANIFEST,
                             "%s: content path '%.200s' is not in the manifest", block, s);
            }
            e[n - 1].paths[e[n - 1].n_paths] = ocfl_ck_strdup(c, s);
            if (!e[n - 1].paths[e[n - 1].n_paths])
                break;
            e[n - 1].n_paths++;
        }
        if (c->oom)
            break;
    }
    if (c->oom) {
        ocfl_manifest_entries_free(e, n);
        return;
    }
    /* Duplicate digests regardless of case: sorted by lower case, they are neighbours. */
    ocfl_sort_if_needed(e, n, sizeof(*e), ocfl_cmp_manifest_entry);
    for (size_t i = 0; i + 1 < n; i++) {
        if (ocfl_ascii_casecmp(e[i].digest, e[i + 1].digest))
            continue;
        ocfl_ck_find(c, manifest ? OCFL_CK_MANIFEST_DUP_DIGEST : OCFL_CK_FIXITY_DUP_DIGEST,
                     "%s: digest '%.140s' occurs more than once", block, e[i].digest);
        free(e[i + 1].digest);
        for (size_t k = 0; k < e[i + 1].n_paths; k++)
            free(e[i + 1].paths[k]);
        free(e[i + 1].paths);
        memmove(&e[i + 1], &e[i + 2], (n - i - 2) * sizeof(*e));
        n--;
        i--;
    }
    *ret = e;
    *ret_n = n;
}

static void check_manifest(struct inv_ck *c, json_ref manifest, struct ocfl_strset *cpaths,
                           const char *cdir)
{
    struct ocfl_inventory *inv = c->inv;
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(inv->digest_algorithm);
    const char **all = NULL;
    size_t np2 = 0, a, b;
    struct ocfl_path_ref *refs;
    const char *digest;
    json_ref paths;
    int r;

    if (!json_doc_is(c->d, manifest, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_MANIFEST_NOT_OBJECT, "manifest is not an object");
        return;
    }
    JSON_DOC_FOREACH_MEMBER(c->d, manifest, k, digest, paths)
    {
        (void)paths; /* keys only */
        if (ocfl_digest_alg_is_content(alg) && !is_hex_of(digest, ocfl_digest_hex_len(alg)))
            ocfl_ck_find(c, OCFL_CK_MANIFEST_DIGEST, "manifest digest '%.140s' is not a %s digest",
                         digest, inv->digest_algorithm);
        if (c->has_used && !ocfl_strset_has(&c->used, digest, NULL))
            ocfl_ck_find(c, OCFL_CK_MANIFEST_UNUSED,
                         "manifest digest '%.140s' is not used by any version", digest);
    }
    read_blocks(c, manifest, 1, "manifest", cdir, cpaths, &inv->manifest, &inv->n_manifest);
    if (c->oom)
        return;
    /* The paths that stayed (a duplicate digest's are dropped), sorted once: for the
     * conflict check here and as the index's table later. */
    for (size_t i = 0; i < inv->n_manifest; i++)
        np2 += inv->manifest[i].n_paths;
    refs = np2 ? malloc(np2 * sizeof(*refs)) : NULL;
    all = np2 ? malloc(np2 * sizeof(*all)) : NULL;
    if (np2 && (!refs || !all)) {
        free(refs);
        free(all);
        c->oom = 1;
        return;
    }
    np2 = 0;
    for (size_t i = 0; i < inv->n_manifest; i++)
        for (size_t k = 0; k < inv->manifest[i].n_paths; k++)
            refs[np2++] =
                (struct ocfl_path_ref){inv->manifest[i].paths[k], inv->manifest[i].digest};
    ocfl_sort_if_needed(refs, np2, sizeof(*refs), ocfl_cmp_path_ref);
    for (size_t i = 0; i < np2; i++)
        all[i] = refs[i].path;
    r = ocfl_sorted_paths_conflict(all, np2, &a, &b);
    if (r < 0)
        c->oom = 1;
    else if (r > 0)
        ocfl_ck_find(c, OCFL_CK_CPATH_CONFLICT, "content paths '%.200s' and '%.200s' conflict",
                     all[a], all[b]);
    free(all);
    c->manifest_refs = refs;
    c->n_manifest_refs = np2;
}

static void check_fixity(struct inv_ck *c, json_ref fixity, struct ocfl_strset *cpaths)
{
    const struct json_doc *d = c->d;
    struct ocfl_inventory *inv = c->inv;
    const char *alg;
    json_ref block;
    size_t n = 0;

    inv->has_fixity_key = 1;
    if (!json_doc_is(d, fixity, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_FIXITY_NOT_OBJECT, "fixity is not an object");
        return;
    }
    if (!json_doc_size(d, fixity))
        return;
    inv->fixity = calloc(json_doc_size(d, fixity), sizeof(*inv->fixity));
    if (!inv->fixity) {
        c->oom = 1;
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, fixity, k, alg, block)
    {
        char what[160];

        if (!json_doc_is(d, block, JSON_K_OBJECT)) {
            ocfl_ck_find(c, OCFL_CK_FIXITY_BLOCK, "fixity block '%.100s' is not an object", alg);
            continue;
        }
        snprintf(what, sizeof(what), "fixity block '%.100s'", alg);
        inv->fixity[n].algorithm = ocfl_ck_strdup(c, alg);
        if (!inv->fixity[n].algorithm)
            break;
        read_blocks(c, block, 0, what, NULL, c->has_manifest ? cpaths : NULL,
                    &inv->fixity[n].entries, &inv->fixity[n].n_entries);
        n++;
        inv->n_fixity = n;
    }
}

static const char *const top_keys[] = {
    "id", "type", "digestAlgorithm", "head", "contentDirectory", "manifest", "versions", "fixity"};

/* Returns the content directory to check paths against, or NULL when it is broken. */
static const char *check_content_dir(struct inv_ck *c, json_ref cd)
{
    const char *s;

    if (cd == JSON_NONE)
        return "content";
    s = json_doc_str(c->d, cd);
    if (!s) {
        ocfl_ck_find(c, OCFL_CK_CDIR_SLASH, "contentDirectory is not a string");
        return NULL;
    }
    if (strchr(s, '/')) {
        ocfl_ck_find(c, OCFL_CK_CDIR_SLASH, "contentDirectory '%.100s' contains '/'", s);
        return NULL;
    }
    if (!strcmp(s, ".") || !strcmp(s, "..")) {
        ocfl_ck_find(c, OCFL_CK_CDIR_DOTS, "contentDirectory must not be '%s'", s);
        return NULL;
    }
    if (!*s) {
        ocfl_ck_find(c, OCFL_CK_CDIR_EMPTY, "contentDirectory is empty");
        return NULL;
    }
    c->inv->content_directory = ocfl_ck_strdup(c, s);
    return s;
}

/* The manifest's digests as a set, for the states to check theirs against (E050). */
static void index_manifest(struct inv_ck *c, json_ref manifest)
{
    const char *digest;
    json_ref paths;

    c->has_manifest = 1;
    if (ocfl_strset_reserve(&c->manifest_keys, json_doc_size(c->d, manifest)) < 0) {
        c->oom = 1;
        return;
    }
    JSON_DOC_FOREACH_MEMBER(c->d, manifest, k, digest, paths)
    {
        (void)paths; /* keys only */
        if (ocfl_strset_add(&c->manifest_keys, digest, 0) < 0)
            c->oom = 1;
    }
}

static void check_top(struct inv_ck *c, json_ref root, struct ocfl_strset *cpaths)
{
    const struct json_doc *d = c->d;
    struct ocfl_inventory *inv = c->inv;
    json_ref id, type, alg, head, manifest, versions, fixity, val;
    const char *key, *cdir, *s;

    type = json_doc_get(d, root, "type");
    /* codes of the inventory's own spec when the caller does not know the object's */
    if (!c->spec)
        c->spec = ocfl_spec_from_inventory_type(json_doc_str(d, type));
    JSON_DOC_FOREACH_MEMBER(d, root, k, key, val)
    {
        (void)val; /* keys only */
        size_t i;
        for (i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
            if (!strcmp(key, top_keys[i]))
                break;
        if (i == sizeof(top_keys) / sizeof(top_keys[0]))
            ocfl_ck_find(c, OCFL_CK_INV_UNKNOWN_KEY, "unknown key '%.100s'", key);
    }
    id = json_doc_get(d, root, "id");
    alg = json_doc_get(d, root, "digestAlgorithm");
    head = json_doc_get(d, root, "head");
    manifest = json_doc_get(d, root, "manifest");
    versions = json_doc_get(d, root, "versions");
    fixity = json_doc_get(d, root, "fixity");

    s = json_doc_str(d, id);
    if (id == JSON_NONE) {
        ocfl_ck_find(c, OCFL_CK_INV_KEY_MISSING, "id is missing");
    } else if (!s || !*s) {
        ocfl_ck_find(c, OCFL_CK_INV_ID_BAD, "id is not a non-empty string");
    } else {
        if (!ocfl_is_uri(s))
            ocfl_ck_find(c, OCFL_CK_INV_ID_NOT_URI, "id '%.100s' is not a URI", s);
        inv->id = ocfl_ck_strdup(c, s);
    }

    s = json_doc_str(d, type);
    if (type == JSON_NONE) {
        ocfl_ck_find(c, OCFL_CK_INV_KEY_MISSING, "type is missing");
    } else if (!s) {
        ocfl_ck_find(c, OCFL_CK_INV_TYPE_BAD, "type is not a string");
    } else {
        inv->spec = ocfl_spec_from_inventory_type(s);
        if (inv->spec == OCFL_SPEC_UNKNOWN)
            ocfl_ck_find(c, OCFL_CK_INV_TYPE_BAD, "type '%.100s' is not an OCFL inventory type", s);
    }

    s = json_doc_str(d, alg);
    if (alg == JSON_NONE) {
        ocfl_ck_find(c, OCFL_CK_INV_KEY_MISSING, "digestAlgorithm is missing");
    } else if (!s) {
        ocfl_ck_find(c, OCFL_CK_INV_ALG_BAD, "digestAlgorithm is not a string");
    } else {
        if (!strcmp(s, "sha256"))
            ocfl_ck_find(c, OCFL_CK_INV_ALG_SHA256, "digestAlgorithm is sha256 rather than sha512");
        else if (strcmp(s, "sha512"))
            ocfl_ck_find(c, OCFL_CK_INV_ALG_BAD, "digestAlgorithm '%.100s' is not sha512 or sha256",
                         s);
        inv->digest_algorithm = ocfl_ck_strdup(c, s);
    }

    s = json_doc_str(d, head);
    if (head == JSON_NONE)
        ocfl_ck_find(c, OCFL_CK_INV_KEY_MISSING, "head is missing");
    else if (!s)
        ocfl_ck_find(c, OCFL_CK_INV_HEAD_BAD, "head is not a string");
    else
        inv->head = ocfl_ck_strdup(c, s);

    cdir = check_content_dir(c, json_doc_get(d, root, "contentDirectory"));

    if (manifest == JSON_NONE)
        ocfl_ck_find(c, OCFL_CK_MANIFEST_MISSING, "manifest is missing");
    else if (json_doc_is(d, manifest, JSON_K_OBJECT))
        index_manifest(c, manifest); /* the states check their digests against it */

    if (versions == JSON_NONE) {
        ocfl_ck_find(c, OCFL_CK_VERSIONS_MISSING, "versions is missing");
    } else {
        c->has_used = json_doc_is(d, versions, JSON_K_OBJECT);
        ocfl_ck_versions(c, versions, head);
    }

    /* Content paths are collected only for the fixity block to check against. */
    if (manifest != JSON_NONE)
        check_manifest(c, manifest, fixity != JSON_NONE ? cpaths : NULL, cdir);
    if (fixity != JSON_NONE)
        check_fixity(c, fixity, cpaths);
}

/* The shared checker.  *ret_too_big tells parse to answer -EFBIG. */
static int check(const char *buf, size_t len, const char *where, enum ocfl_spec spec,
                 struct ocfl_report *report, struct ocfl_inventory **ret, int *ret_too_big)
{
    struct inv_ck c = {.r = report, .where = where ? where : "", .spec = spec};
    struct ocfl_strset cpaths = {0};
    struct json_doc *doc = NULL;
    char msg[300];
    int r;

    *ret = NULL;
    *ret_too_big = 0;
    if (len > OCFL_INVENTORY_MAX_BYTES) {
        *ret_too_big = 1;
        ocfl_ck_find(&c, OCFL_CK_INV_TOO_BIG, "inventory is larger than %u bytes",
                     OCFL_INVENTORY_MAX_BYTES);
        return 0;
    }
    r = json_doc_parse(buf, len, &doc, msg, sizeof(msg));
    if (r == -ENOMEM)
        return -ENOMEM;
    if (r < 0) {
        ocfl_ck_find(&c, OCFL_CK_INV_NOT_JSON, "inventory is not parsable JSON (%s)", msg);
        return 0;
    }
    if (!json_doc_is(doc, json_doc_root(doc), JSON_K_OBJECT)) {
        ocfl_ck_find(&c, OCFL_CK_INV_NOT_OBJECT, "inventory is not a JSON object");
        json_doc_free(doc);
        return 0;
    }
    c.d = doc;
    c.inv = calloc(1, sizeof(*c.inv));
    if (!c.inv)
        c.oom = 1;
    else
        check_top(&c, json_doc_root(doc), &cpaths);
    ocfl_strset_release(&cpaths);
    ocfl_strset_release(&c.manifest_keys);
    ocfl_strset_release(&c.used);
    ocfl_strset_release(&c.vnames);
    json_doc_free(doc);
    if (c.oom)
        free(c.manifest_refs);
    else if (ocfl_inventory_reindex_with(c.inv, c.manifest_refs, c.n_manifest_refs) < 0)
        c.oom = 1;
    if (c.oom || report->oom) {
        ocfl_inventory_free(c.inv);
        return -ENOMEM;
    }
    *ret = c.inv;
    return 0;
}

int ocfl_inventory_check(const char *buf, size_t len, const char *where, enum ocfl_spec spec,
                         struct ocfl_report *report, struct ocfl_inventory **ret_partial)
{
    struct ocfl_inventory *inv;
    int too_big, r;

    r = check(buf, len, where, spec, report, &inv, &too_big);
    if (ret_partial)
        *ret_partial = inv;
    else
        ocfl_inventory_free(inv);
    return r;
}

int ocfl_inventory_parse(const char *buf, size_t len, struct ocfl_inventory **ret,
                         struct ocfl_err *err)
{
    struct ocfl_report report = {0};
    struct ocfl_inventory *inv = NULL;
    int too_big, r;

    r = check(buf, len, "", OCFL_SPEC_UNKNOWN, &report, &inv, &too_big);
    if (r < 0) {
        ocfl_err_set(err, r, "cannot check inventory: out of memory");
    } else if (too_big) {
        r = ocfl_err_set(err, -EFBIG, "inventory is larger than %u bytes",
                         OCFL_INVENTORY_MAX_BYTES);
    } else if (report.n_errors) {
        const struct ocfl_finding *f = NULL;
        for (size_t i = 0; i < report.n && !f; i++)
            if (report.items[i].severity == OCFL_ERROR)
                f = &report.items[i];
        r = ocfl_err_set(err, -EBADMSG, "invalid inventory: %s [%s]", f ? f->message : "?",
                         f ? f->code : "E000");
    } else {
        *ret = inv;
        inv = NULL;
    }
    ocfl_inventory_free(inv);
    ocfl_report_release(&report);
    return r;
}
