/* validate_versions.c: an object's inventories against each other and against the content on disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "validate_int.h"

static int same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return !strcmp(a, b);
}

static const char *cdir_of(const struct ocfl_inventory *inv)
{
    return inv->content_directory ? inv->content_directory : "content";
}

/*
 * Whether digest @da of @ia and digest @db of @ib stand for the same
 * content.  With one algorithm the digests say it; across algorithms
 * (an object whose digestAlgorithm changed) the content paths do.
 */
static int same_content(const struct ocfl_inventory *ia, const char *da,
                        const struct ocfl_inventory *ib, const char *db)
{
    const struct ocfl_manifest_entry *ma, *mb;

    if (ia->digest_algorithm && ib->digest_algorithm &&
        !strcasecmp(ia->digest_algorithm, ib->digest_algorithm))
        return ocfl_digest_equal(da, db);
    ma = ocfl_inventory_manifest_lookup(ia, da);
    mb = ocfl_inventory_manifest_lookup(ib, db);
    if (!ma || !mb)
        return 0;
    for (size_t i = 0; i < ma->n_paths; i++)
        for (size_t j = 0; j < mb->n_paths; j++)
            if (!strcmp(ma->paths[i], mb->paths[j]))
                return 1;
    return 0;
}

static int same_state(const struct ocfl_inventory *ia, const struct ocfl_version *va,
                      const struct ocfl_inventory *ib, const struct ocfl_version *vb)
{
    if (va->n_state != vb->n_state)
        return 0;
    for (size_t i = 0; i < va->n_state; i++) {
        const struct ocfl_state_entry *eb = ocfl_version_lookup(vb, va->state[i].logical_path);
        if (!eb || !same_content(ia, va->state[i].digest, ib, eb->digest))
            return 0;
    }
    return 1;
}

void val_compare_versions(struct vobj *o)
{
    struct vctx *c = o->c;
    const struct ocfl_inventory *root = o->root.inv;
    enum ocfl_spec prev = OCFL_SPEC_UNKNOWN;
    const char *prev_where = NULL;

    for (size_t i = 0; i < o->n_vers; i++) {
        const struct vver *v = &o->vers[i];
        const struct ocfl_inventory *inv = v->vi.inv;
        char vname[32];

        if (!inv)
            continue;
        if (prev && inv->spec && inv->spec < prev)
            vreport(c, OCFL_CK_INV_SPEC_OLDER, v->vi.where, "'%s' is OCFL %s, older than '%s'",
                    v->vi.where, ocfl_spec_number(inv->spec), prev_where);
        if (inv->spec) {
            prev = inv->spec;
            prev_where = v->vi.where;
        }
        if (inv->head && strcmp(inv->head, v->name))
            vreport(c, OCFL_CK_INV_HEAD_NOT_DIR, v->vi.where, "head of '%s' is '%s', not '%s'",
                    v->vi.where, inv->head, v->name);
        if (!root)
            continue;
        if (root->spec && inv->spec > root->spec)
            vreport(c, OCFL_CK_INV_SPEC_OLDER, "inventory.json",
                    "root inventory is OCFL %s, older than '%s'", ocfl_spec_number(root->spec),
                    v->vi.where);
        if (inv->id && root->id && strcmp(inv->id, root->id))
            vreport(c, OCFL_CK_ID_CHANGED, v->vi.where,
                    "id '%s' in '%s' differs from the root's '%s'", inv->id, v->vi.where, root->id);
        if (strcmp(cdir_of(inv), cdir_of(root)))
            vreport(c, OCFL_CK_CDIR_CHANGED, v->vi.where,
                    "contentDirectory '%s' in '%s' differs from '%s' in the root inventory",
                    cdir_of(inv), v->vi.where, cdir_of(root));
        for (size_t j = 0; j < inv->n_versions; j++) {
            const struct ocfl_version *a = &inv->versions[j];
            const struct ocfl_version *b = ocfl_inventory_version(root, a->num);
            if (!b)
                continue;
            if (ocfl_inventory_version_name(root, a->num, vname, sizeof(vname)) < 0)
                snprintf(vname, sizeof(vname), "v%u", a->num);
            if (!same_state(inv, a, root, b))
                vreport(c, OCFL_CK_STATE_CHANGED, v->vi.where,
                        "state of %s in '%s' differs from the root inventory", vname, v->vi.where);
            if (!same_str(a->created, b->created) || !same_str(a->message, b->message) ||
                !same_str(a->user_name, b->user_name) ||
                !same_str(a->user_address, b->user_address))
                vreport(c, OCFL_CK_META_CHANGED, v->vi.where,
                        "created, message or user of %s in '%s' differ from the root inventory",
                        vname, v->vi.where);
        }
    }
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * One inventory's manifest against the files on disk in versions up to
 * @upto: E092 (missing or, with digests, different) and E023 (a file no
 * manifest entry names), each naming the inventory @where.
 */
static int check_manifest(struct vobj *o, const struct ocfl_inventory *inv, const char *where,
                          unsigned upto)
{
    struct vctx *c = o->c;
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(inv->digest_algorithm);
    const char **paths = NULL;
    size_t n_paths = 0, k = 0;

    for (size_t i = 0; i < inv->n_manifest; i++)
        n_paths += inv->manifest[i].n_paths;
    if (n_paths) {
        paths = malloc(n_paths * sizeof(*paths));
        if (!paths)
            return -ENOMEM;
    }
    for (size_t i = 0; i < inv->n_manifest; i++) {
        const struct ocfl_manifest_entry *e = &inv->manifest[i];
        for (size_t j = 0; j < e->n_paths; j++) {
            const struct vfile *f = vfiles_find(&o->files, e->paths[j]);
            const char *dg;
            paths[k++] = e->paths[j];
            if (!f) {
                vreport_inv(c, OCFL_CK_CONTENT_MISSING, where, e->paths[j],
                            "content path '%s' does not exist", e->paths[j]);
                continue;
            }
            if (f->status == -ENOMEM) {
                c->oom = 1; /* not hashed for lack of memory: unknown, not invalid */
                continue;
            }
            if (f->status < 0) {
                vreport_inv(c, OCFL_CK_CONTENT_MISSING, where, e->paths[j], "cannot read '%s': %s",
                            e->paths[j], strerror(-f->status));
                continue;
            }
            dg = vfiles_digest(&o->files, f, alg);
            if (dg && !ocfl_digest_equal(dg, e->digest))
                vreport_inv(c, OCFL_CK_CONTENT_MISSING, where, e->paths[j],
                            "'%s' has %s %s, the manifest says %s", e->paths[j],
                            inv->digest_algorithm, dg, e->digest);
        }
    }
    if (n_paths > 1)
        qsort(paths, n_paths, sizeof(*paths), cmp_strp);
    for (size_t i = 0; i < o->files.n; i++) {
        const char *p = o->files.v[i].path;
        unsigned vn = val_path_version(p);
        if (!vn || vn > upto)
            continue;
        if (!n_paths || !bsearch(&p, paths, n_paths, sizeof(*paths), cmp_strp))
            vreport_inv(c, OCFL_CK_CONTENT_UNLISTED, where, p, "'%s' is not in the manifest", p);
    }
    free(paths);
    return 0;
}

/*
 * One inventory's fixity values, in the algorithms ocflfs knows, against the
 * files (E093), naming the inventory @where.  A fixity path that is not the
 * manifest's is the inventory's own problem (E057), not looked for here.
 */
static void check_fixity(struct vobj *o, const struct ocfl_inventory *inv, const char *where)
{
    for (size_t b = 0; b < inv->n_fixity; b++) {
        const struct ocfl_fixity_block *fb = &inv->fixity[b];
        enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(fb->algorithm);
        if (alg == OCFL_DIGEST_UNKNOWN)
            continue; /* E028: ignore what we do not support */
        for (size_t i = 0; i < fb->n_entries; i++) {
            const struct ocfl_manifest_entry *e = &fb->entries[i];
            for (size_t j = 0; j < e->n_paths; j++) {
                const struct vfile *f = vfiles_find(&o->files, e->paths[j]);
                const char *dg;
                if (!ocfl_inventory_content_digest(inv, e->paths[j]))
                    continue;
                if (!f) {
                    vreport_inv(o->c, OCFL_CK_FIXITY_MISMATCH, where, e->paths[j],
                                "fixity path '%s' does not exist", e->paths[j]);
                    continue;
                }
                dg = vfiles_digest(&o->files, f, alg);
                if (dg && !ocfl_digest_equal(dg, e->digest))
                    vreport_inv(o->c, OCFL_CK_FIXITY_MISMATCH, where, e->paths[j],
                                "'%s' has %s %s, the fixity block says %s", e->paths[j],
                                fb->algorithm, dg, e->digest);
            }
        }
    }
}

/* Ask for every algorithm @inv names: its digestAlgorithm and its fixity blocks'. */
static void want_algs(struct vobj *o, const struct ocfl_inventory *inv)
{
    vfiles_want(&o->files, ocfl_digest_alg_from_name(inv->digest_algorithm));
    for (size_t b = 0; b < inv->n_fixity; b++)
        vfiles_want(&o->files, ocfl_digest_alg_from_name(inv->fixity[b].algorithm));
}

int val_check_content(struct vobj *o)
{
    struct vctx *c = o->c;
    const struct ocfl_inventory *root = o->root.inv;
    int rc;

    vfiles_sort(&o->files);
    if (c->opts->check_digests) {
        if (root)
            want_algs(o, root);
        for (size_t i = 0; i < o->n_vers; i++)
            if (o->vers[i].vi.inv)
                want_algs(o, o->vers[i].vi.inv);
        rc = vfiles_hash(&o->files, c);
        if (rc < 0)
            return rc;
    }
    if (root) {
        rc = check_manifest(o, root, o->root.where, (unsigned)-1);
        if (rc < 0)
            return rc;
        check_fixity(o, root, o->root.where);
        /* E016: a version that adds content has a content directory */
        for (size_t i = 0; i < o->n_vers; i++) {
            const struct vver *v = &o->vers[i];
            int adds = 0;
            if (v->has_content)
                continue;
            for (size_t m = 0; m < root->n_manifest && !adds; m++)
                for (size_t j = 0; j < root->manifest[m].n_paths && !adds; j++)
                    adds = val_path_version(root->manifest[m].paths[j]) == v->num;
            if (adds)
                vreport(c, OCFL_CK_VDIR_NO_CONTENT_DIR, v->name,
                        "version '%s' adds content but has no '%s' directory", v->name,
                        cdir_of(root));
        }
    }
    /* Every earlier inventory is held to the files too: its manifest and its fixity. */
    for (size_t i = 0; i < o->n_vers; i++) {
        const struct vver *v = &o->vers[i];
        if (!v->vi.inv)
            continue;
        rc = check_manifest(o, v->vi.inv, v->vi.where, v->num);
        if (rc < 0)
            return rc;
        check_fixity(o, v->vi.inv, v->vi.where);
    }
    return 0;
}
