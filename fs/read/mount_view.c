/* mount_view.c: what the read view's operations share: a node's version, child lookup,
 * entry replies, and replies to reads. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount_ops.h"

const struct ocfl_version *mount_node_version(const struct mount_node *n,
                                              const struct ocfl_object *o)
{
    unsigned num = n->version ? n->version : (unsigned)o->inv->n_versions;
    return ocfl_inventory_version(o->inv, num);
}

int mount_join(const char *dir, const char *name, char *buf, size_t size)
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

int mount_child_node(struct mount *m, struct mount_node *p, const char *name,
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
        if (!(v = mount_node_version(p, o)))
            return -ENOENT;
        if (mount_join(p->path, name, path, sizeof(path)) < 0)
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

void mount_fill_entry(struct mount *m, struct mount_node *n, const struct stat *st,
                      struct fuse_entry_param *e)
{
    memset(e, 0, sizeof(*e));
    e->ino = n->ino;
    e->generation = (uint64_t)m->started.tv_sec;
    e->attr = *st;
    e->attr_timeout = e->entry_timeout = mount_node_ttl(m, n);
}

void mount_lookup_reply(fuse_req_t req, fuse_ino_t parent, const char *name,
                        const struct mount_lookup_view *v)
{
    struct mount *m = mount_req(req);
    struct fuse_entry_param e;
    struct mount_node *p, *n = NULL;
    struct stat st;
    double neg_ttl = 0;
    int rc;

    pthread_mutex_lock(&m->lock);
    p = mount_node_by_ino(&m->nodes, parent);
    if (!p) {
        rc = -ESTALE;
    } else if (strlen(name) > MOUNT_NAME_MAX) {
        rc = -ENAMETOOLONG; /* no such name can exist here (statfs says so) */
    } else {
        mount_node_preload(m, p, name);
        neg_ttl = p->kind == MK_ROOT ? 1.0 : mount_node_ttl(m, p);
        rc = v->child(m, p, name, &n);
        if (rc == 0)
            rc = v->stat(m, n, &st);
        if (rc == 0) {
            mount_node_lookup(&m->nodes, n);
            v->fill(m, n, &st, &e);
        }
    }
    /* a lookup of a missing name may have left a node nobody holds */
    mount_nodes_trim(&m->nodes);
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

void mount_reply_read(fuse_req_t req, int fd, const char *buf, size_t len, size_t size, off_t off)
{
    if (fd < 0) {
        size_t n = off < 0 || (size_t)off >= len ? 0 : len - (size_t)off;
        char *copy;
        if (n > size)
            n = size;
        /* reply from a private copy: once the kernel has the bytes, the
         * file may be released (and its buffer freed) while writev returns */
        copy = malloc(n ? n : 1);
        if (!copy) {
            fuse_reply_err(req, ENOMEM);
            return;
        }
        if (n)
            memcpy(copy, buf + off, n);
        fuse_reply_buf(req, copy, n);
        free(copy);
        return;
    }
    mount_io_count_read(mount_req(req)); /* file bytes only: control files are not counted */
    struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);
    bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    bv.buf[0].fd = fd;
    bv.buf[0].pos = off;
    fuse_reply_data(req, &bv, 0);
}
