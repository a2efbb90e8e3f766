/* mount_write_dir.c: lookup, getattr, listings, access and xattrs of the writable mount. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount_write.h"

#define XA_STAGED "user.ocfl.staged"
#define XA_STATUS "user.ocfl.status"
#define XA_ID     "user.ocfl.id"

/* The child @name of @p in the writable view (lock held). */
static int child(struct mount *m, struct mount_node *p, const char *name, struct mount_node **ret)
{
    int rc;

    if (mw_is_head(p) && p->kind == MK_OBJ && !strcmp(name, m->ctl_name)) {
        *ret = mount_node_get(&m->nodes, MK_CTL, p->obj, 0, "");
        return *ret ? 0 : -ENOMEM;
    }
    if (mw_is_head(p) && mw_staged(p->obj)) {
        const struct ocfl_inventory *inv;
        struct staging_entry e;
        struct ocfl_err err = {0};
        char path[4096];
        if (mount_join(p->path, name, path, sizeof(path)) < 0)
            return -ENAMETOOLONG;
        if ((rc = mw_inv(m, p->obj, &inv)) < 0)
            return rc;
        rc = staging_lookup(m->journal, p->obj->id, inv, path, &e, &err);
        if (rc < 0)
            return mw_fail(m, p->obj, path, rc, &err);
        if (e.kind == STAGING_NONE)
            return -ENOENT;
        *ret =
            mount_node_get(&m->nodes, e.kind == STAGING_FILE ? MK_FILE : MK_DIR, p->obj, 0, path);
        mw_stat_memo(*ret, *ret ? &e : NULL); /* for the stat that follows */
        return *ret ? 0 : -ENOMEM;
    }
    rc = mw_ctl_child(m, p, name, ret);
    if (rc != 1)
        return rc;
    return mount_child_node(m, p, name, ret);
}

static void fill_entry(struct mount *m, struct mount_node *n, const struct stat *st,
                       struct fuse_entry_param *e)
{
    mount_fill_entry(m, n, st, e);
    if (mw_is_head(n) && mw_staged(n->obj))
        e->attr_timeout = 1.0; /* files being written by others change size */
}

void mw_op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    static const struct mount_lookup_view staged = {
        .child = child,
        .stat = mw_node_stat,
        .fill = fill_entry,
    };

    mount_lookup_reply(req, parent, name, &staged);
    mw_stat_memo(NULL, NULL);
}

void mw_op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct mount_obj *mo;
    struct stat st;
    double ttl = 0;
    int rc, stale;

    (void)fi;
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? mw_node_stat(m, n, &st) : -ESTALE;
    if (rc == -ENOENT && n && n->kind == MK_FILE && mw_is_head(n) &&
        mw_stat_open_handle(m, n, &st) == 0)
        rc = 0; /* fstat of a file unlinked while open */
    if (n)
        ttl = mw_is_head(n) && mw_staged(n->obj) ? 1.0 : mount_node_ttl(m, n);
    stale = mw_is_head(n) && mw_check_view(m, n->obj);
    mo = n ? n->obj : NULL; /* objects stay; the node is not ours after the unlock */
    pthread_mutex_unlock(&m->lock);
    if (stale)
        mw_invalidate_object_async(m, mo);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, ttl);
}

/* ---- listings: a snapshot of names, kept in the directory handle.  A head directory's is
 * taken at its first readdir, not at opendir: the kernel keeps head listings
 * (cache_readdir) while their view stamp holds, and then asks only for the opendir. */

struct mw_dir {
    char **names;
    mode_t *types;
    struct mount_node **nodes; /* for inode numbers and readdirplus attributes (pinned) */
    size_t n;
    int lazy; /* a head directory whose snapshot is not taken yet */
};

/* Free @d and unpin its nodes (lock held). */
static void dir_free(struct mount *m, struct mw_dir *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        free(d->names[i]);
        mount_node_unpin(&m->nodes, d->nodes[i]);
    }
    free(d->names);
    free(d->types);
    free(d->nodes);
    free(d);
}

static int dir_add(struct mw_dir *d, const char *name, mode_t type, struct mount_node *node)
{
    char **nn = realloc(d->names, (d->n + 1) * sizeof(*nn));
    struct mount_node **nd;
    mode_t *nt;

    if (!node)
        return -ENOMEM;

    if (!nn)
        return -ENOMEM;
    d->names = nn;
    nt = realloc(d->types, (d->n + 1) * sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    d->types = nt;
    nd = realloc(d->nodes, (d->n + 1) * sizeof(*nd));
    if (!nd)
        return -ENOMEM;
    d->nodes = nd;
    if (!(d->names[d->n] = strdup(name)))
        return -ENOMEM;
    d->nodes[d->n] = node;
    mount_node_pin(node); /* until the handle is released */
    d->types[d->n++] = type;
    return 0;
}

/* The snapshot of @n, or 1 when the read side lists it (lock held). */
static int snapshot(struct mount *m, struct mount_node *n, struct mw_dir **ret)
{
    static const char *const ctl_names[] = {"versions", "inventory.json", "log",
                                            "status",   "commit",         "discard"};
    struct mw_dir *d = calloc(1, sizeof(*d));
    int rc = 0;

    if (!d)
        return -ENOMEM;
    if (mw_is_head(n)) {
        const struct ocfl_inventory *inv;
        struct staging_dirent *de = NULL;
        size_t nd = 0;
        struct ocfl_err err = {0};
        if ((rc = mw_inv(m, n->obj, &inv)) == 0)
            rc = staging_list(m->journal, n->obj->id, inv, n->path, &de, &nd, &err);
        if (rc < 0)
            rc = mw_fail(m, n->obj, n->path, rc, &err);
        for (size_t i = 0; rc == 0 && i < nd; i++) {
            char path[4096];
            int dir = de[i].kind == STAGING_DIR;
            if ((n->kind == MK_OBJ && !strcmp(de[i].name, m->ctl_name)) ||
                mount_join(n->path, de[i].name, path, sizeof(path)) < 0)
                continue;
            rc = dir_add(d, de[i].name, dir ? S_IFDIR : S_IFREG,
                         mount_node_get(&m->nodes, dir ? MK_DIR : MK_FILE, n->obj, 0, path));
        }
        staging_dirents_free(de, nd);
    } else if (n->kind == MK_CTL) {
        for (size_t i = n->obj->staged_new ? 3 : 0; rc == 0 && i < 6; i++) {
            struct mount_node *c = NULL;
            rc = child(m, n, ctl_names[i], &c);
            if (rc == 0)
                rc = dir_add(d, ctl_names[i], i ? S_IFREG : S_IFDIR, c);
        }
    } else if (n->kind == MK_ROOT_CTL) {
        rc = dir_add(d, "status", S_IFREG, mount_node_get(&m->nodes, MK_ROOT_STATUS, NULL, 0, ""));
        if (rc == 0)
            rc =
                dir_add(d, "plans", S_IFDIR, mount_node_get(&m->nodes, MK_ROOT_PLANS, NULL, 0, ""));
    } else if (n->kind == MK_ROOT_PLANS) {
        struct journal_plan_info *pl = NULL;
        size_t np = 0;
        if (m->journal && journal_plans_list(m->journal, 1, &pl, &np, NULL) == 0) {
            for (size_t i = 0; rc == 0 && i < np; i++) {
                char name[64];
                snprintf(name, sizeof(name), "%lld.json", (long long)pl[i].id);
                rc = dir_add(d, name, S_IFREG,
                             mount_node_get(&m->nodes, MK_ROOT_PLAN, NULL, (unsigned)pl[i].id, ""));
            }
            journal_plan_infos_free(pl, np);
        }
    } else {
        free(d);
        return 1;
    }
    if (rc < 0) {
        dir_free(m, d);
        return rc;
    }
    *ret = d;
    return 0;
}

void mw_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct mount_obj *mo = NULL;
    struct mw_dir *d = NULL;
    struct stat st;
    int rc, stale = 0;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? mw_node_stat(m, n, &st) : -ESTALE;
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc == 0 && mw_is_head(n)) {
        /* the kernel keeps the listing it read at this stamp; changes through it (create,
         * unlink, rename...) drop it there, the others move the stamp */
        stale = mw_check_view(m, n->obj);
        mo = n->obj;
        fi->cache_readdir = 1;
        fi->keep_cache = n->list_stamp == mw_view_stamp(n->obj) + 1;
        if (!(d = calloc(1, sizeof(*d))))
            rc = -ENOMEM;
        else
            d->lazy = 1;
    } else if (rc == 0 && (rc = snapshot(m, n, &d)) == 1) {
        pthread_mutex_unlock(&m->lock);
        mount_op_opendir(req, ino, fi);
        return;
    }
    pthread_mutex_unlock(&m->lock);
    if (stale) /* the object's entries and attributes the kernel holds too */
        mw_invalidate_object_async(m, mo);
    if (rc < 0) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)d;
    if (fuse_reply_open(req, fi) == -ENOENT) {
        pthread_mutex_lock(&m->lock);
        dir_free(m, d);
        pthread_mutex_unlock(&m->lock);
    }
}

/* Take the snapshot of head directory @ino into @d (lock held). */
static int lazy_snapshot(struct mount *m, fuse_ino_t ino, struct mw_dir *d)
{
    struct mount_node *n = mount_node_by_ino(&m->nodes, ino);
    struct mw_dir *s = NULL;
    uint64_t stamp;
    int rc;

    mount_node_preload(m, n, NULL);
    if (!n || !mw_is_head(n))
        return -ESTALE;
    stamp = mw_view_stamp(n->obj);
    if ((rc = snapshot(m, n, &s)) < 0)
        return rc;
    *d = *s;
    d->lazy = 0;
    free(s);
    n->list_stamp = stamp + 1;
    return 0;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi, int plus)
{
    struct mount *m = mount_req(req);
    struct mw_dir *d = (struct mw_dir *)(uintptr_t)fi->fh;
    char *buf;
    size_t used = 0;
    int rc;

    if (!d) {
        if (plus)
            mount_op_readdirplus(req, ino, size, off, fi);
        else
            mount_op_readdir(req, ino, size, off, fi);
        return;
    }
    __atomic_fetch_add(&m->n_readdirs, 1, __ATOMIC_RELAXED);
    if (!(buf = malloc(size ? size : 1))) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_lock(&m->lock);
    if (d->lazy && (rc = lazy_snapshot(m, ino, d)) < 0) {
        pthread_mutex_unlock(&m->lock);
        free(buf);
        fuse_reply_err(req, -rc);
        return;
    }
    for (size_t i = off < 0 ? 0 : (size_t)off; i < d->n + 2; i++) {
        const char *name = i == 0 ? "." : i == 1 ? ".." : d->names[i - 2];
        mode_t type = i < 2 ? S_IFDIR : d->types[i - 2];
        struct mount_node *c = i < 2 ? NULL : d->nodes[i - 2];
        uint64_t cino = i == 0 ? ino : i == 1 ? 1 : c->ino;
        size_t need;
        if (plus) {
            struct fuse_entry_param e;
            struct stat st;
            memset(&e, 0, sizeof(e));
            e.attr.st_mode = type;
            e.attr.st_ino = cino;
            if (c && mw_node_stat(m, c, &st) == 0)
                fill_entry(m, c, &st, &e);
            need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)i + 1);
            if (need <= size - used && e.ino)
                mount_node_lookup(&m->nodes, c);
        } else {
            struct stat st;
            memset(&st, 0, sizeof(st));
            st.st_mode = type;
            st.st_ino = cino;
            need = fuse_add_direntry(req, buf + used, size - used, name, &st, (off_t)i + 1);
        }
        if (need > size - used)
            break;
        used += need;
    }
    mount_nodes_trim(&m->nodes);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_buf(req, buf, used);
    free(buf);
}

void mw_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                   struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 0);
}

void mw_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    do_readdir(req, ino, size, off, fi, 1);
}

void mw_op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mw_dir *d = (struct mw_dir *)(uintptr_t)fi->fh;

    (void)ino;
    if (d) {
        pthread_mutex_lock(&m->lock);
        dir_free(m, d);
        mount_nodes_trim(&m->nodes);
        pthread_mutex_unlock(&m->lock);
    }
    fuse_reply_err(req, 0);
}

void mw_op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct ocfl_err err = {0};
    int rc;

    /* every change of a listing is in the staging index, whose commits survive a crash of the
     * daemon but are fsynced only here, at a file's fsync, a commit and unmount */
    (void)ino, (void)datasync, (void)fi;
    rc = staging_sync_all(m->journal, &err);
    if (rc < 0)
        mount_log(m, "fsyncdir: %s", err.msg);
    fuse_reply_err(req, -rc);
}

void mw_op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    int rc = 0;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    if (!n)
        rc = ESTALE;
    else if ((mask & W_OK) && !mw_is_head(n) && n->kind != MK_ROOT && n->kind != MK_CTL_COMMIT &&
             n->kind != MK_CTL_DISCARD)
        rc = EROFS;
    pthread_mutex_unlock(&m->lock);
    fuse_reply_err(req, rc);
}

/* ---- extended attributes */

static void reply_value(fuse_req_t req, int rc, const char *val, size_t len, size_t size)
{
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (size == 0)
        fuse_reply_xattr(req, len);
    else if (len > size)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, val, len);
}

/* The staging entry of head node @n, with the inventory it is looked up over (lock held). */
static int head_entry(struct mount *m, struct mount_node *n, const struct ocfl_inventory **inv,
                      struct staging_entry *e)
{
    int rc = mw_inv(m, n->obj, inv);

    return rc < 0 ? rc : staging_lookup(m->journal, n->obj->id, *inv, n->path, e, NULL);
}

/* user.ocfl.staged of a staged file: "added", "modified", "damaged", or NULL (the same content
 * as the head's at that path). */
static const char *staged_what(const struct ocfl_inventory *inv, const char *path,
                               const struct staging_entry *e)
{
    const struct ocfl_version *v =
        inv ? ocfl_inventory_version(inv, (unsigned)inv->n_versions) : NULL;
    const struct ocfl_state_entry *he = NULL;
    const char *what = NULL;

    if (e->damaged[0])
        return "damaged"; /* its staged data is not what was acknowledged */
    if (!(v && mount_tree_classify(v, path, &he) == 1))
        what = "added";
    else if (e->scratch[0] || strcmp(e->digest, he->digest))
        what = "modified";
    return what;
}

void mw_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    char *val = NULL;
    size_t len = 0;
    int rc = 1;

    if (strcmp(name, XA_STAGED) && strcmp(name, XA_STATUS) && strcmp(name, XA_ID) &&
        strncmp(name, "user.ocfl.digest", 16)) {
        mount_op_getxattr(req, ino, name, size);
        return;
    }
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    if (!n) {
        rc = -ESTALE;
    } else if (n->kind == MK_OBJ && !strcmp(name, XA_STATUS)) {
        struct mount_node *sn = mount_node_get(&m->nodes, MK_CTL_STATUS, n->obj, 0, "");
        rc = sn ? mw_ctl_content(m, sn, &val, &len) : -ENOMEM;
        if (rc == 0 && len && val[len - 1] == '\n')
            val[--len] = '\0';
    } else if (n->kind == MK_OBJ && !strcmp(name, XA_ID) && n->obj->staged_new) {
        rc = (val = strdup(n->obj->id)) ? 0 : -ENOMEM;
        len = val ? strlen(val) : 0;
    } else if (n->kind == MK_FILE && mw_is_head(n) && mw_staged(n->obj)) {
        const struct ocfl_inventory *inv = NULL;
        struct staging_entry e;
        rc = head_entry(m, n, &inv, &e);
        if (rc == 0 && e.staged) {
            const char *what = staged_what(inv, n->path, &e);
            if (!strcmp(name, XA_STAGED)) {
                if (what)
                    rc = (val = strdup(what)) ? 0 : -ENOMEM;
                else
                    rc = -ENODATA;
            } else if (!strcmp(name, "user.ocfl.digest") && !e.scratch[0] && e.digest[0] && inv) {
                rc = asprintf(&val, "%s:%s", inv->digest_algorithm, e.digest) < 0 ? -ENOMEM : 0;
            } else if (e.scratch[0]) {
                rc = -ENODATA; /* not committed content */
            } else {
                rc = 1;
            }
            len = val ? strlen(val) : 0;
        } else if (rc == 0) {
            rc = strcmp(name, XA_STAGED) ? 1 : -ENODATA;
        }
    } else if (!strcmp(name, XA_STAGED)) {
        rc = -ENODATA;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == 1)
        mount_op_getxattr(req, ino, name, size);
    else
        reply_value(req, rc, val, len, size);
    free(val);
}

/* The names of a staged file's attributes (staged state; a digest once it is committed
 * content), and of a new object's; anything else as the read side lists it. */
void mw_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    char list[64];
    size_t len = 0;
    int rc = 1;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    if (!n) {
        rc = -ESTALE;
    } else if (n->kind == MK_OBJ && n->obj->staged_new) {
        static const char names[] = XA_ID "\0" XA_STATUS;
        memcpy(list, names, sizeof(names));
        len = sizeof(names);
        rc = 0;
    } else if (n->kind == MK_FILE && mw_is_head(n) && mw_staged(n->obj)) {
        const struct ocfl_inventory *inv = NULL;
        struct staging_entry e;
        rc = head_entry(m, n, &inv, &e);
        if (rc == 0 && e.kind != STAGING_FILE)
            rc = -ENOENT;
        else if (rc == 0 && e.staged) {
            if (staged_what(inv, n->path, &e)) {
                memcpy(list, XA_STAGED, sizeof(XA_STAGED));
                len = sizeof(XA_STAGED);
            }
            if (!e.scratch[0] && e.digest[0] && !e.damaged[0]) {
                memcpy(list + len, "user.ocfl.digest", sizeof("user.ocfl.digest"));
                len += sizeof("user.ocfl.digest");
            }
        } else if (rc == 0) {
            rc = 1; /* the head's file, unchanged */
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == 1)
        mount_op_listxattr(req, ino, size);
    else
        reply_value(req, rc, list, len, size);
}
