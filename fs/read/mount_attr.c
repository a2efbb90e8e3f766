/* mount_attr.c: attributes (mode, size, links, times) of the mount's nodes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "mount_ops.h"

static struct timespec version_time(const struct mount *m, const struct ocfl_inventory *inv,
                                    unsigned num)
{
    const struct ocfl_version *v = ocfl_inventory_version(inv, num);
    struct timespec ts;

    if (!v || !v->created || mount_parse_time(v->created, &ts) < 0)
        return m->started;
    return ts;
}

static void fill_dir(const struct mount *m, struct stat *st, unsigned nlink, struct timespec t)
{
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = nlink;
    st->st_size = 4096;
    st->st_blocks = 8;
    st->st_mtim = st->st_ctim = st->st_atim = t;
    (void)m;
}

/* @blocks: what the content file holds (a sparse file fewer than its size says) */
static void fill_file(struct stat *st, uint64_t size, uint64_t blocks, struct timespec t)
{
    st->st_mode = S_IFREG | 0444;
    st->st_nlink = 1;
    st->st_size = (off_t)size;
    st->st_blocks = (blkcnt_t)blocks;
    st->st_mtim = st->st_ctim = st->st_atim = t;
}

/*
 * Size of a content file, without reading data: fstatat (not following the
 * last component) in its directory, which is opened beneath the object and
 * kept for the next file (a listing stats a directory's files in a row).
 */
static int content_size(struct mount *m, struct mount_obj *mo, const struct ocfl_object *o,
                        const char *content_path, uint64_t *ret, uint64_t *ret_blocks)
{
    const char *slash = strrchr(content_path, '/');
    const char *base = slash ? slash + 1 : content_path;
    size_t dlen = slash ? (size_t)(slash - content_path) : 0;
    struct stat st;

    if (m->cdir_fd < 0 || m->cdir_obj != mo || m->cdir_gen != mo->gen ||
        strlen(m->cdir_path) != dlen || strncmp(m->cdir_path, content_path, dlen)) {
        char *dir = strndup(content_path, dlen);
        int fd;
        if (!dir)
            return -ENOMEM;
        fd = dlen ? ocfl_io_open(o->fd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
                  : fcntl(o->fd, F_DUPFD_CLOEXEC, 0);
        if (fd < 0) {
            free(dir);
            return fd;
        }
        if (m->cdir_fd >= 0)
            close(m->cdir_fd);
        free(m->cdir_path);
        m->cdir_fd = fd;
        m->cdir_path = dir;
        m->cdir_obj = mo;
        m->cdir_gen = mo->gen;
    }
    if (fstatat(m->cdir_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EIO;
    *ret = (uint64_t)st.st_size;
    *ret_blocks = (uint64_t)st.st_blocks;
    return 0;
}

/* Attributes of a tree node (MK_OBJ, MK_DIR, MK_FILE, MK_VERSION), cached per load. */
static int tree_stat(struct mount *m, struct mount_node *n, const struct ocfl_object *o,
                     struct stat *st)
{
    const struct ocfl_inventory *inv = o->inv;
    unsigned num = n->version ? n->version : (unsigned)inv->n_versions;
    const struct ocfl_version *v = ocfl_inventory_version(inv, num);
    const struct ocfl_state_entry *e = NULL;
    int what;

    if (!v)
        return -ENOENT;
    if (n->attr_gen != n->obj->gen || n->attr_version != num) {
        what = mount_tree_classify(v, n->path, &e);
        if (what == 1 && n->kind == MK_FILE) {
            const char *cp = ocfl_inventory_content_path(inv, e->digest);
            int rc;
            if (!cp)
                return -EIO;
            rc = content_size(m, n->obj, o, cp, &n->size, &n->blocks);
            if (rc < 0) {
                mount_log(m, "object '%s': content '%s' of '%s': %s", n->obj->id, cp, n->path,
                          strerror(-rc));
                return -EIO;
            }
            n->nlink = 1;
            n->mtime = version_time(m, inv, mount_tree_introduced(inv, num, n->path));
        } else if (what == 2 && n->kind != MK_FILE) {
            n->nlink = 2 + mount_tree_subdirs(v, n->path);
            n->mtime = version_time(m, inv, num);
            n->size = 4096;
        } else {
            return -ENOENT;
        }
        n->attr_gen = n->obj->gen;
        n->attr_version = num;
    }
    if (n->kind == MK_FILE)
        fill_file(st, n->size, n->blocks, n->mtime);
    else
        fill_dir(m, st, n->nlink, n->mtime);
    return 0;
}

int mount_node_stat(struct mount *m, struct mount_node *n, struct stat *st)
{
    struct ocfl_object *o = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc = 0;

    memset(st, 0, sizeof(*st));
    st->st_ino = n->ino;
    st->st_uid = m->uid;
    st->st_gid = m->gid;
    st->st_blksize = 1 << 20;

    switch (n->kind) {
    case MK_ROOT: {
        unsigned links = 2;
        for (size_t i = 0; i < m->objs.n; i++)
            links += !m->objs.all[i]->gone;
        fill_dir(m, st, links, m->started);
        return 0;
    }
    case MK_ROOT_CTL:
        fill_dir(m, st, 2, m->started);
        return 0;
    case MK_CTL_INVENTORY: {
        /* its size without reading it (it may be large): the file itself */
        struct stat ist;
        if ((rc = mount_obj_get(m, n->obj, &o)) < 0)
            return rc;
        if (fstatat(o->fd, "inventory.json", &ist, AT_SYMLINK_NOFOLLOW) < 0 ||
            !S_ISREG(ist.st_mode))
            return -EIO;
        fill_file(st, (uint64_t)ist.st_size, (uint64_t)ist.st_blocks,
                  version_time(m, o->inv, (unsigned)o->inv->n_versions));
        return 0;
    }
    case MK_ROOT_STATUS:
    case MK_CTL_LOG:
    case MK_CTL_STATUS:
        rc = mount_ctl_content(m, n, &buf, &len);
        if (rc < 0)
            return rc;
        free(buf);
        fill_file(st, len, (len + 511) / 512, m->started);
        if (n->obj && n->obj->o)
            st->st_mtim = st->st_ctim = st->st_atim =
                version_time(m, n->obj->o->inv, (unsigned)n->obj->o->inv->n_versions);
        return 0;
    default:
        break;
    }

    rc = mount_obj_get(m, n->obj, &o);
    if (rc < 0)
        return rc;
    switch (n->kind) {
    case MK_CTL:
        fill_dir(m, st, 3, version_time(m, o->inv, (unsigned)o->inv->n_versions));
        return 0;
    case MK_VERSIONS:
        fill_dir(m, st, 2 + (unsigned)o->inv->n_versions,
                 version_time(m, o->inv, (unsigned)o->inv->n_versions));
        return 0;
    case MK_VERSION:
        if (n->version > o->inv->n_versions)
            return -ENOENT;
        return tree_stat(m, n, o, st);
    default:
        return tree_stat(m, n, o, st);
    }
}

double mount_node_ttl(const struct mount *m, const struct mount_node *n)
{
    switch (n->kind) {
    case MK_ROOT_STATUS:
    case MK_CTL_LOG:
    case MK_CTL_STATUS:
    case MK_CTL_INVENTORY:
        return 0;
    case MK_VERSION:
        return m->ttl_committed;
    case MK_DIR:
    case MK_FILE:
        return n->version ? m->ttl_committed : m->ttl_head;
    default:
        return m->ttl_head;
    }
}
