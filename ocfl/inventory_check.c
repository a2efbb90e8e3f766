/* inventory_check.c: the inventory checker, used strictly (parse) or as the validator (check). */
#include "inventory_priv.h"
#include "digest.h"
#include "path.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ocfl_ck_find(struct inv_ck *c, const char *code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap); /* truncation is fine for a message */
    va_end(ap);
    ocfl_report_add(c->r, code, c->where, "%s", msg);
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

/* E099/E100 for a bad content path; returns 0 when the path is fine. */
static int content_path_bad(struct inv_ck *c, const char *s, const char *block)
{
    enum ocfl_path_problem pp;

    pp = ocfl_path_check(s);
    if (pp == OCFL_PATH_SLASH) {
        ocfl_ck_find(c, "E100", "content path '%.200s' in %s begins or ends with '/'", s, block);
        return 1;
    }
    if (pp != OCFL_PATH_OK) {
        ocfl_ck_find(c, "E099", "content path '%.200s' in %s has an empty, '.' or '..' element", s,
                     block);
        return 1;
    }
    return 0;
}

/* E042/E015/E019: a manifest path must be vN/<content directory>/... of a known version. */
static void content_path_place(struct inv_ck *c, const char *s, const char *cdir)
{
    const char *slash = strchr(s, '/'), *rest;
    char vname[64];
    size_t n;

    if (!c->vnames.n)
        return;
    n = slash ? (size_t)(slash - s) : strlen(s);
    if (!slash || n >= sizeof(vname)) {
        ocfl_ck_find(c, "E042", "content path '%.200s' is not inside a version directory", s);
        return;
    }
    memcpy(vname, s, n);
    vname[n] = '\0';
    if (!ocfl_strset_has(&c->vnames, vname, NULL)) {
        ocfl_ck_find(c, "E042", "content path '%.200s' is not inside a version directory", s);
        return;
    }
    if (!cdir)
        return; /* contentDirectory itself is broken (E017/E018/E108) */
    rest = slash + 1;
    slash = strchr(rest, '/');
    if (!slash) {
        ocfl_ck_find(c, "E015", "content path '%.200s' is directly in a version directory", s);
        return;
    }
    if ((size_t)(slash - rest) != strlen(cdir) || strncmp(rest, cdir, strlen(cdir)))
        ocfl_ck_find(c, "E019", "content path '%.200s' is not in the content directory '%.100s'", s,
                     cdir);
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
    const char *bad_shape = manifest ? "E092" : "E057";
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
            if (content_path_bad(c, s, block))
                continue;
            if (manifest) {
                content_path_place(c, s, cdir);
                if (cpaths && ocfl_strset_add(cpaths, s, 0) < 0)
                    c->oom = 1;
            } else if (cpaths && !ocfl_strset_has(cpaths, s, NULL)) {
                ocfl_ck_find(c, "E057", "%s: content path '%.200s' is not in the manifest", block,
                             s);
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
        ocfl_ck_find(c, manifest ? "E096" : "E097", "%s: digest '%.140s' occurs more than once",
                     block, e[i].digest);
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
        ocfl_ck_find(c, "E106", "manifest is not an object");
        return;
    }
    JSON_DOC_FOREACH_MEMBER(c->d, manifest, k, digest, paths)
    {
        (void)paths; /* keys only */
        if (ocfl_digest_alg_is_content(alg) && !is_hex_of(digest, ocfl_digest_hex_len(alg)))
            ocfl_ck_find(c, "E039", "manifest digest '%.140s' is not a %s digest", digest,
                         inv->digest_algorithm);
        if (c->has_used && !ocfl_strset_has(&c->used, digest, NULL))
            ocfl_ck_find(c, "E107", "manifest digest '%.140s' is not used by any version", digest);
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
        ocfl_ck_find(c, "E101", "content paths '%.200s' and '%.200s' conflict", all[a], all[b]);
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
        ocfl_ck_find(c, "E111", "fixity is not an object");
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
            ocfl_ck_find(c, "E057", "fixity block '%.100s' is not an object", alg);
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
        ocfl_ck_find(c, "E017", "contentDirectory is not a string");
        ocfl_ck_find(c, "E108", "contentDirectory is not a directory name");
        return NULL;
    }
    if (strchr(s, '/')) {
        ocfl_ck_find(c, "E017", "contentDirectory '%.100s' contains '/'", s);
        ocfl_ck_find(c, "E108", "contentDirectory '%.100s' is not a direct child", s);
        return NULL;
    }
    if (!strcmp(s, ".") || !strcmp(s, "..")) {
        ocfl_ck_find(c, "E018", "contentDirectory must not be '%s'", s);
        ocfl_ck_find(c, "E108", "contentDirectory '%s' is not a direct child", s);
        return NULL;
    }
    if (!*s) {
        ocfl_ck_find(c, "E108", "contentDirectory is empty");
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

    JSON_DOC_FOREACH_MEMBER(d, root, k, key, val)
    {
        (void)val; /* keys only */
        size_t i;
        for (i = 0; i < sizeof(top_keys) / sizeof(top_keys[0]); i++)
            if (!strcmp(key, top_keys[i]))
                break;
        if (i == sizeof(top_keys) / sizeof(top_keys[0]))
            ocfl_ck_find(c, "E102", "unknown key '%.100s'", key);
    }
    id = json_doc_get(d, root, "id");
    type = json_doc_get(d, root, "type");
    alg = json_doc_get(d, root, "digestAlgorithm");
    head = json_doc_get(d, root, "head");
    manifest = json_doc_get(d, root, "manifest");
    versions = json_doc_get(d, root, "versions");
    fixity = json_doc_get(d, root, "fixity");

    s = json_doc_str(d, id);
    if (id == JSON_NONE) {
        ocfl_ck_find(c, "E036", "id is missing");
    } else if (!s || !*s) {
        ocfl_ck_find(c, "E037", "id is not a non-empty string");
    } else {
        if (!ocfl_is_uri(s))
            ocfl_ck_find(c, "W005", "id '%.100s' is not a URI", s);
        inv->id = ocfl_ck_strdup(c, s);
    }

    s = json_doc_str(d, type);
    if (type == JSON_NONE) {
        ocfl_ck_find(c, "E036", "type is missing");
    } else if (!s) {
        ocfl_ck_find(c, "E038", "type is not a string");
    } else {
        inv->spec = ocfl_spec_from_inventory_type(s);
        if (inv->spec == OCFL_SPEC_UNKNOWN)
            ocfl_ck_find(c, "E038", "type '%.100s' is not an OCFL inventory type", s);
    }

    s = json_doc_str(d, alg);
    if (alg == JSON_NONE) {
        ocfl_ck_find(c, "E036", "digestAlgorithm is missing");
    } else if (!s) {
        ocfl_ck_find(c, "E025", "digestAlgorithm is not a string");
    } else {
        if (!strcmp(s, "sha256"))
            ocfl_ck_find(c, "W004", "digestAlgorithm is sha256 rather than sha512");
        else if (strcmp(s, "sha512"))
            ocfl_ck_find(c, "E025", "digestAlgorithm '%.100s' is not sha512 or sha256", s);
        inv->digest_algorithm = ocfl_ck_strdup(c, s);
    }

    s = json_doc_str(d, head);
    if (head == JSON_NONE)
        ocfl_ck_find(c, "E036", "head is missing");
    else if (!s)
        ocfl_ck_find(c, "E040", "head is not a string");
    else
        inv->head = ocfl_ck_strdup(c, s);

    cdir = check_content_dir(c, json_doc_get(d, root, "contentDirectory"));

    if (manifest == JSON_NONE)
        ocfl_ck_find(c, "E041", "manifest is missing");
    else if (json_doc_is(d, manifest, JSON_K_OBJECT))
        index_manifest(c, manifest); /* the states check their digests against it */

    if (versions == JSON_NONE) {
        ocfl_ck_find(c, "E043", "versions is missing");
        ocfl_ck_find(c, "E008", "the inventory has no versions");
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
static int check(const char *buf, size_t len, const char *where, struct ocfl_report *report,
                 struct ocfl_inventory **ret, int *ret_too_big)
{
    struct inv_ck c = {.r = report, .where = where ? where : ""};
    struct ocfl_strset cpaths = {0};
    struct json_doc *doc = NULL;
    char msg[300];
    int r;

    *ret = NULL;
    *ret_too_big = 0;
    if (len > OCFL_INVENTORY_MAX_BYTES) {
        *ret_too_big = 1;
        ocfl_ck_find(&c, "E033", "inventory is larger than %u bytes", OCFL_INVENTORY_MAX_BYTES);
        return 0;
    }
    r = json_doc_parse(buf, len, &doc, msg, sizeof(msg));
    if (r == -ENOMEM)
        return -ENOMEM;
    if (r < 0) {
        ocfl_ck_find(&c, "E033", "inventory is not parsable JSON (%s)", msg);
        return 0;
    }
    if (!json_doc_is(doc, json_doc_root(doc), JSON_K_OBJECT)) {
        ocfl_ck_find(&c, "E034", "inventory is not a JSON object");
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

int ocfl_inventory_check(const char *buf, size_t len, const char *where, struct ocfl_report *report,
                         struct ocfl_inventory **ret_partial)
{
    struct ocfl_inventory *inv;
    int too_big, r;

    r = check(buf, len, where, report, &inv, &too_big);
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

    r = check(buf, len, "", &report, &inv, &too_big);
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
