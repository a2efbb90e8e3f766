/* mount_ctl.c: the bytes of the read-only control files (status, log, inventory.json). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "io.h"
#include "mount_ops.h"

static int json_out(json_t *j, char **ret, size_t *ret_len)
{
    char *s;
    size_t len;

    if (!j)
        return -ENOMEM;
    s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    len = strlen(s);
    /* room for the newline: json_dumps' buffer is exactly len + 1 */
    char *t = realloc(s, len + 2);
    if (!t) {
        free(s);
        return -ENOMEM;
    }
    t[len] = '\n';
    t[len + 1] = '\0';
    *ret = t;
    *ret_len = len + 1;
    return 0;
}

static int root_status(struct mount *m, char **ret, size_t *ret_len)
{
    json_t *j = json_object(), *failed = json_array();
    size_t n = 0;

    if (!j || !failed) {
        json_decref(j);
        json_decref(failed);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->objs.n; i++) {
        struct mount_obj *mo = m->objs.all[i];
        if (mo->gone)
            continue;
        n++;
        if (mo->load_err)
            json_array_append_new(failed, json_pack("{s:s, s:s}", "id", mo->id, "reason",
                                                    mo->load_msg ? mo->load_msg : "unknown"));
    }
    json_object_set_new(j, "root", json_string(m->root->path));
    json_object_set_new(j, "objects", json_integer((json_int_t)n));
    /* a first mount lists the objects found so far while its walk of the root runs */
    json_object_set_new(j, "listing", json_string(m->first_walk ? "walking" : "complete"));
    json_object_set_new(j, "loaded", json_integer((json_int_t)m->objs.n_loaded));
    json_object_set_new(j, "failed", failed);
    /* kernel passthrough: a read of committed content through it costs no FUSE read */
    json_object_set_new(j, "passthrough", json_boolean(m->passthrough));
    json_object_set_new(j, "passthrough_opens", json_integer((json_int_t)m->n_pt_opens));
    json_object_set_new(j, "fuse_reads",
                        json_integer((json_int_t)__atomic_load_n(&m->n_reads, __ATOMIC_RELAXED)));
    /* writes of staged files the daemon served (a passthrough writer's cost none) */
    json_object_set_new(j, "fuse_writes",
                        json_integer((json_int_t)__atomic_load_n(&m->n_writes, __ATOMIC_RELAXED)));
    /* listings the kernel keeps (committed versions, unchanged head directories) cost none */
    json_object_set_new(
        j, "fuse_readdirs",
        json_integer((json_int_t)__atomic_load_n(&m->n_readdirs, __ATOMIC_RELAXED)));
    /* the inode table: nodes alive now (the kernel's, open handles', idle ones) and freed */
    json_object_set_new(j, "nodes", json_integer((json_int_t)m->nodes.n));
    json_object_set_new(j, "nodes_idle", json_integer((json_int_t)m->nodes.n_idle));
    json_object_set_new(j, "nodes_freed", json_integer((json_int_t)m->nodes.n_freed));
    json_object_set_new(j, "staged", json_array());
    json_object_set_new(j, "plans", json_array());
    return json_out(j, ret, ret_len);
}

static int object_status(struct mount_obj *mo, const struct ocfl_object *o, char **ret,
                         size_t *ret_len)
{
    json_t *j = json_object();

    if (!j)
        return -ENOMEM;
    json_object_set_new(j, "id", json_string(mo->id));
    json_object_set_new(j, "path", json_string(mo->path));
    json_object_set_new(j, "head", json_string(o->inv->head));
    json_object_set_new(j, "versions", json_integer((json_int_t)o->inv->n_versions));
    json_object_set_new(j, "digestAlgorithm", json_string(o->inv->digest_algorithm));
    json_object_set_new(j, "inventoryDigest", json_string(o->inventory_digest));
    json_object_set_new(
        j, "staged",
        json_pack("{s:[], s:[], s:[], s:[]}", "added", "modified", "removed", "renamed"));
    json_object_set_new(j, "plan", json_null());
    return json_out(j, ret, ret_len);
}

/* Append @s to the growing buffer, with newlines and tabs turned into spaces. */
static int put(char **buf, size_t *len, size_t *alloc, const char *s, int flatten)
{
    size_t n = strlen(s);

    if (*len + n + 1 > *alloc) {
        size_t na = (*alloc ? *alloc : 1024);
        while (na < *len + n + 1)
            na *= 2;
        char *b = realloc(*buf, na);
        if (!b)
            return -ENOMEM;
        *buf = b;
        *alloc = na;
    }
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        (*buf)[(*len)++] = flatten && (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
    }
    (*buf)[*len] = '\0';
    return 0;
}

/* One line per version, newest first: VERSION TAB CREATED TAB USER TAB MESSAGE. */
static int object_log(const struct ocfl_object *o, char **ret, size_t *ret_len)
{
    char *buf = NULL, name[32];
    size_t len = 0, alloc = 0;
    int rc = put(&buf, &len, &alloc, "", 0);

    for (size_t i = o->inv->n_versions; rc == 0 && i > 0; i--) {
        const struct ocfl_version *v = &o->inv->versions[i - 1];
        if (ocfl_inventory_version_name(o->inv, v->num, name, sizeof(name)) < 0)
            snprintf(name, sizeof(name), "v%u", v->num);
        rc |= put(&buf, &len, &alloc, name, 1);
        rc |= put(&buf, &len, &alloc, "\t", 0);
        rc |= put(&buf, &len, &alloc, v->created ? v->created : "", 1);
        rc |= put(&buf, &len, &alloc, "\t", 0);
        rc |= put(&buf, &len, &alloc, v->user_name ? v->user_name : "", 1);
        if (v->user_address) {
            rc |= put(&buf, &len, &alloc, " <", 0);
            rc |= put(&buf, &len, &alloc, v->user_address, 1);
            rc |= put(&buf, &len, &alloc, ">", 0);
        }
        rc |= put(&buf, &len, &alloc, "\t", 0);
        rc |= put(&buf, &len, &alloc, v->message ? v->message : "", 1);
        rc |= put(&buf, &len, &alloc, "\n", 0);
    }
    if (rc) {
        free(buf);
        return -ENOMEM;
    }
    *ret = buf;
    *ret_len = len;
    return 0;
}

int mount_ctl_content(struct mount *m, struct mount_node *n, char **ret, size_t *ret_len)
{
    struct ocfl_object *o = NULL;
    int rc;

    if (n->kind == MK_ROOT_STATUS)
        return root_status(m, ret, ret_len);
    rc = mount_obj_get(m, n->obj, &o);
    if (rc < 0)
        return rc;
    switch (n->kind) {
    case MK_CTL_STATUS:
        return object_status(n->obj, o, ret, ret_len);
    case MK_CTL_LOG:
        return object_log(o, ret, ret_len);
    case MK_CTL_INVENTORY:
        rc = ocfl_io_read_file(o->fd, "inventory.json", OCFL_INVENTORY_MAX_BYTES, ret, ret_len,
                               NULL);
        return rc < 0 ? -EIO : 0;
    default:
        return -EINVAL;
    }
}
