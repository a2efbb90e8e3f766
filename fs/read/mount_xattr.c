/* mount_xattr.c: extended attributes: user.ocfl.id/head/status, digest and fixity of files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount_ops.h"

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
        if (!(v = mount_node_version(n, o)) || mount_tree_classify(v, n->path, &e) != 1)
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

void mount_op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    struct mount *m = mount_req(req);
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
    mount_node_preload(m, n, NULL);
    rc = n ? xattrs(m, n, name, &val, &len) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    reply_xattr(req, rc, val, len, size);
}

void mount_op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct mount *m = mount_req(req);
    struct mount_node *n;
    char *val = NULL;
    size_t len = 0;
    int rc;

    pthread_mutex_lock(&m->lock);
    n = mount_node_by_ino(&m->nodes, ino);
    mount_node_preload(m, n, NULL);
    rc = n ? xattrs(m, n, NULL, &val, &len) : -ESTALE;
    pthread_mutex_unlock(&m->lock);
    reply_xattr(req, rc, val, len, size);
}
