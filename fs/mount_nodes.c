/* mount_nodes.c: the inode table: stable numbers keyed by (kind, object, version, path). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

int mount_nodes_init(struct mount_nodes *ns)
{
    memset(ns, 0, sizeof(*ns));
    ns->n_buckets = 1u << 12;
    ns->buckets = calloc(ns->n_buckets, sizeof(*ns->buckets));
    return ns->buckets ? 0 : -ENOMEM;
}

void mount_nodes_release(struct mount_nodes *ns)
{
    if (!ns)
        return;
    for (size_t i = 0; i < ns->n; i++) {
        free(ns->by_ino[i]->path);
        free(ns->by_ino[i]);
    }
    free(ns->by_ino);
    free(ns->buckets);
    memset(ns, 0, sizeof(*ns));
}

static uint32_t key_hash(enum mount_kind kind, const struct mount_obj *obj, unsigned version,
                         const char *path)
{
    uint32_t h = 2166136261u;

    h = (h ^ (uint32_t)kind) * 16777619u;
    h = (h ^ (obj ? obj->idx + 1 : 0)) * 16777619u;
    h = (h ^ version) * 16777619u;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

/* Double the buckets when the table is as full as it is wide. */
static void grow(struct mount_nodes *ns)
{
    size_t nb = ns->n_buckets * 2;
    struct mount_node **b = calloc(nb, sizeof(*b));

    if (!b)
        return; /* keep working with longer chains */
    for (size_t i = 0; i < ns->n; i++) {
        struct mount_node *n = ns->by_ino[i];
        n->key_next = b[n->hash & (nb - 1)];
        b[n->hash & (nb - 1)] = n;
    }
    free(ns->buckets);
    ns->buckets = b;
    ns->n_buckets = nb;
}

struct mount_node *mount_node_get(struct mount_nodes *ns, enum mount_kind kind,
                                  struct mount_obj *obj, unsigned version, const char *path)
{
    uint32_t h = key_hash(kind, obj, version, path);
    struct mount_node *n;

    for (n = ns->buckets[h & (ns->n_buckets - 1)]; n; n = n->key_next)
        if (n->hash == h && n->kind == kind && n->obj == obj && n->version == version &&
            !n->detached && !strcmp(n->path, path))
            return n;
    if (ns->n == ns->alloc) {
        size_t na = ns->alloc ? ns->alloc * 2 : 1024;
        struct mount_node **a = realloc(ns->by_ino, na * sizeof(*a));
        if (!a)
            return NULL;
        ns->by_ino = a;
        ns->alloc = na;
    }
    n = calloc(1, sizeof(*n));
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->kind = kind;
    n->obj = obj;
    n->version = version;
    n->hash = h;
    n->ino = ns->n + 1; /* FUSE_ROOT_ID (1) is the first node made */
    ns->by_ino[ns->n++] = n;
    n->key_next = ns->buckets[h & (ns->n_buckets - 1)];
    ns->buckets[h & (ns->n_buckets - 1)] = n;
    if (ns->n > ns->n_buckets)
        grow(ns);
    return n;
}

void mount_node_reattach(struct mount_nodes *ns, struct mount_node *n)
{
    for (struct mount_node *o = ns->buckets[n->hash & (ns->n_buckets - 1)]; o; o = o->key_next)
        if (o != n && o->hash == n->hash && o->kind == n->kind && o->obj == n->obj &&
            o->version == n->version && !o->detached && !strcmp(o->path, n->path))
            return;
    n->detached = 0;
}

struct mount_node *mount_node_by_ino(const struct mount_nodes *ns, uint64_t ino)
{
    if (ino == 0 || ino > ns->n)
        return NULL;
    return ns->by_ino[ino - 1];
}

int mount_node_rekey(struct mount_nodes *ns, struct mount_node *n, const char *path)
{
    struct mount_node **pp;
    char *copy = strdup(path);

    if (!copy)
        return -ENOMEM;
    for (pp = &ns->buckets[n->hash & (ns->n_buckets - 1)]; *pp; pp = &(*pp)->key_next)
        if (*pp == n) {
            *pp = n->key_next;
            break;
        }
    free(n->path);
    n->path = copy;
    n->hash = key_hash(n->kind, n->obj, n->version, copy);
    n->attr_gen = 0; /* attributes are those of another path now */
    n->key_next = ns->buckets[n->hash & (ns->n_buckets - 1)];
    ns->buckets[n->hash & (ns->n_buckets - 1)] = n;
    return 0;
}
