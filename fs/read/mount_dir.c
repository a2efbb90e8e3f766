/* mount_dir.c: directory listings (readdir, readdirplus) with offsets that stay stable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount_ops.h"

void mount_op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    struct stat st;
    int rc;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? mount_node_stat(m, n, &st) : -ESTALE;
    if (rc == 0 && !S_ISDIR(st.st_mode))
        rc = -ENOTDIR;
    if (rc == 0 && ((n->kind == MK_DIR && n->version) || n->kind == MK_VERSION)) {
        /* a committed version's listing never changes: let the kernel keep it */
        fi->cache_readdir = 1;
        fi->keep_cache = 1;
    }
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_open(req, fi);
}

struct dirbuf {
    fuse_req_t req;
    char *buf;
    size_t size, used;
    int plus;
};

/*
 * Add one entry (@n may be NULL for "." / ".." and for entries whose
 * attributes are not worth computing).  Returns 1 when the buffer is full.
 */
static int emit(struct mount *m, struct dirbuf *d, const char *name, struct mount_node *n,
                mode_t type, uint64_t ino, off_t next)
{
    size_t need;

    if (d->plus) {
        struct fuse_entry_param e;
        struct stat st;
        memset(&e, 0, sizeof(e));
        e.attr.st_ino = n ? n->ino : ino;
        e.attr.st_mode = type;
        if (n && mount_node_stat(m, n, &st) == 0)
            mount_fill_entry(m, n, &st, &e);
        need = fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, &e, next);
        if (need > d->size - d->used)
            return 1;
        if (e.ino)
            mount_node_lookup(&m->nodes, n);
    } else {
        struct stat st;
        memset(&st, 0, sizeof(st));
        st.st_ino = n ? n->ino : ino;
        st.st_mode = type;
        need = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &st, next);
        if (need > d->size - d->used)
            return 1;
    }
    d->used += need;
    return 0;
}

/* Fill @d for directory @n from offset @off.  Lock held. */
static int list_dir(struct mount *m, struct mount_node *n, struct dirbuf *d, off_t off)
{
    static const char *const ctl_names[] = {"versions", "inventory.json", "log", "status"};
    struct ocfl_object *o = NULL;
    int rc;

    if (off < 1 && emit(m, d, ".", NULL, S_IFDIR, n->ino, 1))
        return 0;
    if (off < 2 && emit(m, d, "..", NULL, S_IFDIR, 1, 2))
        return 0;
    if (off < 2)
        off = 2;

    switch (n->kind) {
    case MK_ROOT:
        if (off == 2) /* a new listing: notice objects added or removed outside */
            mount_objects_refresh_async(m, m->refresh_age);
        for (size_t i = (size_t)off - 2; i < m->objs.n; i++) {
            struct mount_obj *mo = m->objs.all[i];
            struct mount_node *c;
            if (mo->gone)
                continue;
            c = mount_node_get(&m->nodes, MK_OBJ, mo, 0, "");
            if (!c)
                return -ENOMEM;
            /* no attributes in readdirplus: they would load every object */
            if (emit(m, d, mo->name, d->plus ? NULL : c, S_IFDIR, c->ino, (off_t)i + 3))
                return 0;
        }
        return 0;
    case MK_ROOT_CTL:
        if (off < 3) {
            struct mount_node *c = mount_node_get(&m->nodes, MK_ROOT_STATUS, NULL, 0, "");
            if (!c)
                return -ENOMEM;
            emit(m, d, "status", c, S_IFREG, c->ino, 3);
        }
        return 0;
    case MK_CTL:
        for (size_t i = (size_t)off - 2; i < 4; i++) {
            struct mount_node *c = NULL;
            if ((rc = mount_child_node(m, n, ctl_names[i], &c)) < 0)
                return rc;
            if (emit(m, d, ctl_names[i], c, i ? S_IFREG : S_IFDIR, c->ino, (off_t)i + 3))
                return 0;
        }
        return 0;
    case MK_VERSIONS:
        if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
            return rc;
        for (size_t i = (size_t)off - 2; i < o->inv->n_versions; i++) {
            char name[32];
            struct mount_node *c;
            if (ocfl_inventory_version_name(o->inv, (unsigned)i + 1, name, sizeof(name)) < 0)
                continue;
            c = mount_node_get(&m->nodes, MK_VERSION, n->obj, (unsigned)i + 1, "");
            if (!c)
                return -ENOMEM;
            if (emit(m, d, name, c, S_IFDIR, c->ino, (off_t)i + 3))
                return 0;
        }
        return 0;
    case MK_OBJ:
    case MK_DIR:
    case MK_VERSION: {
        const struct ocfl_version *v;
        size_t pos, next;
        char name[256], path[4096];
        int is_dir;
        if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
            return rc;
        if (!(v = mount_node_version(n, o)))
            return -ENOENT;
        pos = off == 2 ? mount_tree_first(v, n->path) : (size_t)off - 3;
        while ((rc = mount_tree_child(v, n->path, pos, name, sizeof(name), &is_dir, &next)) != 0) {
            struct mount_node *c;
            if (rc < 0 || mount_join(n->path, name, path, sizeof(path)) < 0) {
                pos = next; /* a name the kernel could not take anyway */
                continue;
            }
            c = mount_node_get(&m->nodes, is_dir ? MK_DIR : MK_FILE, n->obj, n->version, path);
            if (!c)
                return -ENOMEM;
            if (emit(m, d, name, c, is_dir ? S_IFDIR : S_IFREG, c->ino, (off_t)next + 3))
                return 0;
            pos = next;
        }
        return 0;
    }
    default:
        return -ENOTDIR;
    }
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus)
{
    struct mount *m = mount_req(req);
    struct dirbuf d = {.req = req, .size = size, .plus = plus};
    struct mount_node *n;
    int rc;

    __atomic_fetch_add(&m->n_readdirs, 1, __ATOMIC_RELAXED);
    d.buf = malloc(size ? size : 1);
    if (!d.buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? list_dir(m, n, &d, off) : -ESTALE;
    mount_nodes_trim(&m->nodes); /* plain readdir makes nodes the kernel does not hold */
    pthread_mutex_unlock(&m->lock);
    if (rc < 0 && d.used == 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, d.buf, d.used);
    free(d.buf);
}

void mount_op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                      struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, 0);
}

void mount_op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                          struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, 1);
}
