/* mount_ops.c: the FUSE low-level operations of the read side (lookup, readdir, read, xattrs). */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "mount.h"

/* An open file: a content file's descriptor, or a control file's bytes. */
struct mount_fh {
    int fd;    /* -1 for control files */
    char *buf; /* control file bytes */
    size_t len;
};

static struct mount *M(fuse_req_t req)
{
    return fuse_req_userdata(req);
}

static int is_ctl_file(enum mount_kind k)
{
    return k == MK_ROOT_STATUS || k == MK_CTL_LOG || k == MK_CTL_STATUS || k == MK_CTL_INVENTORY;
}

/* The version a tree node shows (head resolved), or 0 when it has none. */
static const struct ocfl_version *node_version(const struct mount_node *n,
                                               const struct ocfl_object *o)
{
    unsigned num = n->version ? n->version : (unsigned)o->inv->n_versions;
    return ocfl_inventory_version(o->inv, num);
}

static int join(const char *dir, const char *name, char *buf, size_t size)
{
    int k = *dir ? snprintf(buf, size, "%s/%s", dir, name) : snprintf(buf, size, "%s", name);
    return k < 0 || (size_t)k >= size ? -ENAMETOOLONG : 0;
}

/* Parse a version directory name as the inventory writes it ("v3", "v003"). */
static unsigned version_by_name(const struct ocfl_inventory *inv, const char *name)
{
    char want[32];
    unsigned long num;
    char *end;

    if (name[0] != 'v' || name[1] < '0' || name[1] > '9')
        return 0;
    num = strtoul(name + 1, &end, 10);
    if (*end || num == 0 || num > inv->n_versions)
        return 0;
    if (ocfl_inventory_version_name(inv, (unsigned)num, want, sizeof(want)) < 0 ||
        strcmp(want, name))
        return 0;
    return (unsigned)num;
}

/*
 * The child @name of @p, as a node (not yet counted as looked up).  Called
 * with the lock held.  Returns 0, -ENOENT, -ENOTDIR, -EIO or -ENOMEM.
 */
static int child_node(struct mount *m, struct mount_node *p, const char *name,
                      struct mount_node **ret)
{
    struct ocfl_object *o = NULL;
    struct mount_node *n = NULL;
    char path[4096];
    int rc, what;

    switch (p->kind) {
    case MK_ROOT:
        if (!strcmp(name, m->ctl_name)) {
            n = mount_node_get(&m->nodes, MK_ROOT_CTL, NULL, 0, "");
        } else {
            struct mount_obj *mo = mount_objects_find(&m->objs, name);
            if (!mo)
                mo = mount_objects_discover(m, name);
            if (!mo)
                return -ENOENT;
            n = mount_node_get(&m->nodes, MK_OBJ, mo, 0, "");
        }
        break;
    case MK_ROOT_CTL:
        if (strcmp(name, "status"))
            return -ENOENT;
        n = mount_node_get(&m->nodes, MK_ROOT_STATUS, NULL, 0, "");
        break;
    case MK_CTL:
        if (!strcmp(name, "versions"))
            n = mount_node_get(&m->nodes, MK_VERSIONS, p->obj, 0, "");
        else if (!strcmp(name, "inventory.json"))
            n = mount_node_get(&m->nodes, MK_CTL_INVENTORY, p->obj, 0, "");
        else if (!strcmp(name, "log"))
            n = mount_node_get(&m->nodes, MK_CTL_LOG, p->obj, 0, "");
        else if (!strcmp(name, "status"))
            n = mount_node_get(&m->nodes, MK_CTL_STATUS, p->obj, 0, "");
        else
            return -ENOENT;
        break;
    case MK_VERSIONS: {
        unsigned num;
        if ((rc = mount_obj_get(m, p->obj, &o)) < 0)
            return rc;
        if (!(num = version_by_name(o->inv, name)))
            return -ENOENT;
        n = mount_node_get(&m->nodes, MK_VERSION, p->obj, num, "");
        break;
    }
    case MK_OBJ:
        if (!strcmp(name, m->ctl_name)) {
            if ((rc = mount_obj_get(m, p->obj, &o)) < 0)
                return rc;
            n = mount_node_get(&m->nodes, MK_CTL, p->obj, 0, "");
            break;
        }
        /* the head tree's top */
        __attribute__((fallthrough));
    case MK_DIR:
    case MK_VERSION: {
        const struct ocfl_version *v;
        if ((rc = mount_obj_get(m, p->obj, &o)) < 0)
            return rc;
        if (!(v = node_version(p, o)))
            return -ENOENT;
        if (join(p->path, name, path, sizeof(path)) < 0)
            return -ENOENT;
        what = mount_tree_classify(v, path, NULL);
        if (!what)
            return -ENOENT;
        n = mount_node_get(&m->nodes, what == 1 ? MK_FILE : MK_DIR, p->obj, p->version, path);
        break;
    }
    default:
        return -ENOTDIR;
    }
    if (!n)
        return -ENOMEM;
    *ret = n;
    return 0;
}

static void fill_entry(struct mount *m, struct mount_node *n, const struct stat *st,
                       struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = n->ino;
    e->generation = (uint64_t)m->started.tv_sec;
    e->attr = *st;
    e->attr_timeout = e->entry_timeout = mount_node_ttl(m, n);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct mount *m = M(req);
    struct fuse_entry_param e;
    struct mount_node *p, *n = NULL;
    struct stat st;
    double neg_ttl = 0;
    int rc;

    pthread_mutex_lock(&m->lock);
    p = mount_node_by_ino(&m->nodes, parent);
    if (!p) {
        rc = -ESTALE;
    } else {
        neg_ttl = p->kind == MK_ROOT ? 1.0 : mount_node_ttl(m, p);
        rc = child_node(m, p, name, &n);
        if (rc == 0)
            rc = mount_node_stat(m, n, &st);
        if (rc == 0) {
            n->nlookup++;
            fill_entry(m, n, &st, &e);
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (rc == -ENOENT && neg_ttl > 0) {
        memset(&e, 0, sizeof(e));
        e.entry_timeout = neg_ttl;
        fuse_reply_entry(req, &e);
        return;
    }
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
}

static void forget_one(struct mount *m, fuse_ino_t ino, uint64_t nlookup)
{
    struct mount_node *n = mount_node_by_ino(&m->nodes, ino);

    /* nodes stay (their numbers are stable for the mount's life); only the
     * count moves, which a later write side uses to drop removed paths */
    if (n)
        n->nlookup = n->nlookup > nlookup ? n->nlookup - nlookup : 0;
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    struct mount *m = M(req);

    pthread_mutex_lock(&m->lock);
    forget_one(m, ino, nlookup);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    struct mount *m = M(req);

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < count; i++)
        forget_one(m, forgets[i].ino, forgets[i].nlookup);
    pthread_mutex_unlock(&m->lock);
    fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = M(req);
    struct mount_node *n;
    struct stat st;
    double ttl = 0;
    int rc;

    (void)fi;
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    rc = n ? mount_node_stat(m, n, &st) : -ESTALE;
    if (n)
        ttl = mount_node_ttl(m, n);
    pthread_mutex_unlock(&m->lock);
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, ttl);
}

/* ---- directories */

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = M(req);
    struct mount_node *n;
    struct stat st;
    int rc;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
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
            fill_entry(m, n, &st, &e);
        need = fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, &e, next);
        if (need > d->size - d->used)
            return 1;
        if (e.ino)
            n->nlookup++;
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
            if ((rc = child_node(m, n, ctl_names[i], &c)) < 0)
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
        if (!(v = node_version(n, o)))
            return -ENOENT;
        pos = off == 2 ? mount_tree_first(v, n->path) : (size_t)off - 3;
        while ((rc = mount_tree_child(v, n->path, pos, name, sizeof(name), &is_dir, &next)) != 0) {
            struct mount_node *c;
            if (rc < 0 || join(n->path, name, path, sizeof(path)) < 0) {
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
    struct mount *m = M(req);
    struct dirbuf d = {.req = req, .size = size, .plus = plus};
    struct mount_node *n;
    int rc;

    d.buf = malloc(size ? size : 1);
    if (!d.buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    rc = n ? list_dir(m, n, &d, off) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    if (rc < 0 && d.used == 0)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_buf(req, d.buf, d.used);
    free(d.buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    (void)fi;
    do_readdir(req, ino, size, off, 1);
}

/* ---- files */

static int open_node(struct mount *m, struct mount_node *n, struct fuse_file_info *fi,
                     struct mount_fh *fh)
{
    struct ocfl_object *o = NULL;
    const struct ocfl_version *v;
    const struct ocfl_state_entry *e = NULL;
    const char *cp;
    struct ocfl_err err = {0};
    int rc;

    if (is_ctl_file(n->kind)) {
        rc = mount_ctl_content(m, n, &fh->buf, &fh->len);
        fi->direct_io = 1;
        return rc;
    }
    if (n->kind != MK_FILE)
        return -EISDIR;
    if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
        return rc;
    if (!(v = node_version(n, o)) || mount_tree_classify(v, n->path, &e) != 1)
        return -ENOENT;
    if (!(cp = ocfl_inventory_content_path(o->inv, e->digest)))
        return -EIO;
    rc = ocfl_object_open_content(o, cp, &err);
    if (rc < 0) {
        mount_log(m, "object '%s': cannot open '%s' for '%s': %s", n->obj->id, cp, n->path,
                  err.msg);
        return -EIO;
    }
    fh->fd = rc;
    /* committed bytes never change; a head path whose content changes gets a
     * new mtime/size, which invalidates the cache (FUSE_CAP_AUTO_INVAL_DATA) */
    fi->keep_cache = 1;
    return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount *m = M(req);
    struct mount_fh *fh;
    struct mount_node *n;
    int rc;

    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & (O_TRUNC | O_APPEND | O_CREAT))) {
        fuse_reply_err(req, EROFS);
        return;
    }
    fh = calloc(1, sizeof(*fh));
    if (!fh) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    fh->fd = -1;
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    rc = n ? open_node(m, n, fi, fh) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    if (rc < 0) {
        free(fh->buf);
        free(fh);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uint64_t)(uintptr_t)fh;
    if (fuse_reply_open(req, fi) == -ENOENT) { /* interrupted: nobody will release it */
        if (fh->fd >= 0)
            close(fh->fd);
        free(fh->buf);
        free(fh);
    }
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct mount_fh *fh = (struct mount_fh *)(uintptr_t)fi->fh;

    (void)ino;
    if (fh->fd < 0) {
        size_t n = off < 0 || (size_t)off >= fh->len ? 0 : fh->len - (size_t)off;
        char *copy;
        if (n > size)
            n = size;
        /* reply from a private copy: once the kernel has the bytes, the
         * file may be released (and fh->buf freed) while writev returns */
        copy = malloc(n ? n : 1);
        if (!copy) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        if (n)
            memcpy(copy, fh->buf + off, n);
        fuse_reply_buf(req, copy, n);
        free(copy);
        return;
    }
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fh->fd;
    bv.buf[0].pos = off;
    fuse_reply_data(req, &bv, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct mount_fh *fh = (struct mount_fh *)(uintptr_t)fi->fh;

    (void)ino;
    if (fh) {
        if (fh->fd >= 0)
            close(fh->fd);
        free(fh->buf);
        free(fh);
    }
    fuse_reply_err(req, 0);
}

/* ---- extended attributes */

#define XA_ID     "user.ocfl.id"
#define XA_HEAD   "user.ocfl.head"
#define XA_STATUS "user.ocfl.status"
#define XA_DIGEST "user.ocfl.digest"
#define XA_FIXITY "user.ocfl.fixity."

/* The fixity digest of @alg's block for content with manifest digest @digest, or NULL. */
static const char *fixity_of(const struct ocfl_inventory *inv, const struct ocfl_fixity_block *fb,
                             const char *digest)
{
    const struct ocfl_manifest_entry *me = ocfl_inventory_manifest_lookup(inv, digest);

    if (!me)
        return NULL;
    for (size_t i = 0; i < fb->n_entries; i++)
        for (size_t j = 0; j < fb->entries[i].n_paths; j++)
            for (size_t k = 0; k < me->n_paths; k++)
                if (!strcmp(fb->entries[i].paths[j], me->paths[k]))
                    return fb->entries[i].digest;
    return NULL;
}

static int append(char **buf, size_t *len, const char *s, size_t n)
{
    char *b = realloc(*buf, *len + n + 1);

    if (!b)
        return -ENOMEM;
    memcpy(b + *len, s, n);
    *len += n;
    b[*len] = '\0';
    *buf = b;
    return 0;
}

/*
 * With @name: its value into *ret; without: the NUL-separated list of
 * names.  Lock held.  -ENODATA when there is no such attribute.
 */
static int xattrs(struct mount *m, struct mount_node *n, const char *name, char **ret,
                  size_t *ret_len)
{
    struct ocfl_object *o = NULL;
    const struct ocfl_state_entry *e = NULL;
    const struct ocfl_version *v;
    char *out = NULL;
    size_t len = 0;
    int rc = 0;

    if (n->kind == MK_OBJ) {
        if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
            return rc;
        if (!name) {
            static const char names[] = XA_ID "\0" XA_HEAD "\0" XA_STATUS;
            rc = append(&out, &len, names, sizeof(names));
        } else if (!strcmp(name, XA_ID)) {
            rc = append(&out, &len, n->obj->id, strlen(n->obj->id));
        } else if (!strcmp(name, XA_HEAD)) {
            rc = append(&out, &len, o->inv->head, strlen(o->inv->head));
        } else if (!strcmp(name, XA_STATUS)) {
            struct mount_node *sn = mount_node_get(&m->nodes, MK_CTL_STATUS, n->obj, 0, "");
            if (!sn)
                return -ENOMEM;
            rc = mount_ctl_content(m, sn, &out, &len);
            if (rc == 0 && len && out[len - 1] == '\n')
                out[--len] = '\0';
        } else {
            return -ENODATA;
        }
    } else if (n->kind == MK_FILE) {
        if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
            return rc;
        if (!(v = node_version(n, o)) || mount_tree_classify(v, n->path, &e) != 1)
            return -ENOENT;
        if (!name) {
            rc = append(&out, &len, XA_DIGEST, sizeof(XA_DIGEST));
            for (size_t i = 0; rc == 0 && i < o->inv->n_fixity; i++) {
                const struct ocfl_fixity_block *fb = &o->inv->fixity[i];
                if (!fixity_of(o->inv, fb, e->digest))
                    continue;
                rc = append(&out, &len, XA_FIXITY, strlen(XA_FIXITY));
                if (rc == 0)
                    rc = append(&out, &len, fb->algorithm, strlen(fb->algorithm) + 1);
            }
        } else if (!strcmp(name, XA_DIGEST)) {
            rc = append(&out, &len, o->inv->digest_algorithm, strlen(o->inv->digest_algorithm));
            if (rc == 0)
                rc = append(&out, &len, ":", 1);
            for (const char *p = e->digest; rc == 0 && *p; p++) {
                char c = (*p >= 'A' && *p <= 'F') ? (char)(*p - 'A' + 'a') : *p;
                rc = append(&out, &len, &c, 1);
            }
        } else if (!strncmp(name, XA_FIXITY, strlen(XA_FIXITY))) {
            const char *alg = name + strlen(XA_FIXITY), *fd = NULL;
            for (size_t i = 0; !fd && i < o->inv->n_fixity; i++)
                if (!strcmp(o->inv->fixity[i].algorithm, alg))
                    fd = fixity_of(o->inv, &o->inv->fixity[i], e->digest);
            if (!fd)
                return -ENODATA;
            rc = append(&out, &len, fd, strlen(fd));
        } else {
            return -ENODATA;
        }
    } else {
        if (!name) {
            *ret = NULL;
            *ret_len = 0;
            return 0;
        }
        return -ENODATA;
    }
    if (rc < 0) {
        free(out);
        return rc;
    }
    *ret = out;
    *ret_len = len;
    return 0;
}

static void reply_xattr(fuse_req_t req, int rc, char *val, size_t len, size_t size)
{
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (size == 0)
        fuse_reply_xattr(req, len);
    else if (len > size)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, val, len);
    free(val);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct mount *m = M(req);
    struct mount_node *n;
    char *val = NULL;
    size_t len = 0;
    int rc;

    /* ls -l asks every file for security.selinux and system.posix_acl_*:
     * "not supported" (no lock taken) makes it stop asking for this device */
    if (strncmp(name, "user.", 5)) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    if (strncmp(name, "user.ocfl.", 10)) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    rc = n ? xattrs(m, n, name, &val, &len) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    reply_xattr(req, rc, val, len, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct mount *m = M(req);
    struct mount_node *n;
    char *val = NULL;
    size_t len = 0;
    int rc;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    rc = n ? xattrs(m, n, NULL, &val, &len) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    reply_xattr(req, rc, val, len, size);
}

/* ---- everything that would write: read-only for now */

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    (void)ino, (void)attr, (void)to_set, (void)fi;
    fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
    (void)parent, (void)name, (void)mode, (void)rdev;
    fuse_reply_err(req, EPERM);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    (void)parent, (void)name, (void)mode;
    fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    (void)parent, (void)name;
    fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    (void)link, (void)parent, (void)name;
    fuse_reply_err(req, EPERM);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
    (void)parent, (void)name, (void)newparent, (void)newname, (void)flags;
    fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    (void)ino, (void)newparent, (void)newname;
    fuse_reply_err(req, EPERM);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    (void)parent, (void)name, (void)mode, (void)fi;
    fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    (void)ino, (void)name, (void)value, (void)size, (void)flags;
    fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)ino, (void)name;
    fuse_reply_err(req, EROFS);
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    (void)ino;
    fuse_reply_err(req, (mask & W_OK) ? EROFS : 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct mount *m = M(req);
    struct statvfs sv;

    (void)ino;
    if (fstatvfs(m->root->fd, &sv) < 0) {
        fuse_reply_err(req, errno);
        return;
    }
    sv.f_namemax = 255;
    sv.f_flag |= ST_RDONLY;
    fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
    (void)userdata;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE)
        conn->want |= FUSE_CAP_SPLICE_WRITE;
    if (conn->capable & FUSE_CAP_SPLICE_MOVE)
        conn->want |= FUSE_CAP_SPLICE_MOVE;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
        conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
    conn->max_write = 1u << 20;
    conn->max_readahead = 1u << 20;
    conn->max_read = 1u << 20; /* must equal -o max_read */
    conn->time_gran = 1;
}

const struct fuse_lowlevel_ops mount_ops = {
    .init = op_init,
    .lookup = op_lookup,
    .forget = op_forget,
    .forget_multi = op_forget_multi,
    .getattr = op_getattr,
    .setattr = op_setattr,
    .mknod = op_mknod,
    .mkdir = op_mkdir,
    .unlink = op_unlink,
    .rmdir = op_unlink,
    .symlink = op_symlink,
    .rename = op_rename,
    .link = op_link,
    .create = op_create,
    .open = op_open,
    .read = op_read,
    .release = op_release,
    .opendir = op_opendir,
    .readdir = op_readdir,
    .readdirplus = op_readdirplus,
    .setxattr = op_setxattr,
    .getxattr = op_getxattr,
    .listxattr = op_listxattr,
    .removexattr = op_removexattr,
    .access = op_access,
    .statfs = op_statfs,
};
