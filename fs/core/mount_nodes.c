/* mount_nodes.c: the inode table: numbers keyed by (kind, object, version, path), freed when
 * the kernel and the daemon no longer hold them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

#define MIN_BUCKETS ((size_t)1 << 12)

int mount_nodes_init(struct mount_nodes *ns, size_t idle_keep)
{
    memset(ns, 0, sizeof(*ns));
    ns->n_buckets = MIN_BUCKETS;
    ns->idle_keep = idle_keep;
    ns->buckets = calloc(ns->n_buckets, sizeof(*ns->buckets));
    ns->ino_buckets = calloc(ns->n_buckets, sizeof(*ns->ino_buckets));
    if (!ns->buckets || !ns->ino_buckets) {
        free(ns->buckets);
        free(ns->ino_buckets);
        memset(ns, 0, sizeof(*ns));
        return -ENOMEM;
    }
    return 0;
}

void mount_nodes_release(struct mount_nodes *ns)
{
    if (!ns)
        return;
    for (size_t b = 0; ns->ino_buckets && b < ns->n_buckets; b++)
        for (struct mount_node *n = ns->ino_buckets[b], *next; n; n = next) {
            next = n->ino_next;
            free(n->path);
            free(n);
        }
    free(ns->buckets);
    free(ns->ino_buckets);
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

/* Numbers are handed out in order: their low bits spread them evenly. */
static size_t ino_slot(const struct mount_nodes *ns, uint64_t ino)
{
    return (size_t)(ino & (ns->n_buckets - 1));
}

/* Rehash both tables into @nb buckets (a power of 2); on ENOMEM keep the old ones. */
static void resize(struct mount_nodes *ns, size_t nb)
{
    struct mount_node **b = calloc(nb, sizeof(*b)), **ib = calloc(nb, sizeof(*ib));

    if (!b || !ib) {
        free(b);
        free(ib);
        return; /* keep working with longer (or sparser) chains */
    }
    for (size_t i = 0; i < ns->n_buckets; i++)
        for (struct mount_node *n = ns->ino_buckets[i], *next; n; n = next) {
            next = n->ino_next;
            n->key_next = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n->ino_next = ib[n->ino & (nb - 1)];
            ib[n->ino & (nb - 1)] = n;
        }
    free(ns->buckets);
    free(ns->ino_buckets);
    ns->buckets = b;
    ns->ino_buckets = ib;
    ns->n_buckets = nb;
}

struct mount_node *mount_nodes_next(const struct mount_nodes *ns, const struct mount_node *n)
{
    size_t b = n ? ino_slot(ns, n->ino) + 1 : 0;

    if (n && n->ino_next)
        return n->ino_next;
    for (; b < ns->n_buckets; b++)
        if (ns->ino_buckets[b])
            return ns->ino_buckets[b];
    return NULL;
}

static int same_key(const struct mount_node *n, uint32_t h, enum mount_kind kind,
                    const struct mount_obj *obj, unsigned version, const char *path)
{
    return n->hash == h && n->kind == kind && n->obj == obj && n->version == version &&
           !n->buried && !strcmp(n->path, path);
}

struct mount_node *mount_node_find(const struct mount_nodes *ns, enum mount_kind kind,
                                   const struct mount_obj *obj, unsigned version, const char *path)
{
    uint32_t h = key_hash(kind, obj, version, path);

    for (struct mount_node *n = ns->buckets[h & (ns->n_buckets - 1)]; n; n = n->key_next)
        if (same_key(n, h, kind, obj, version, path))
            return n;
    return NULL;
}

/* ---- the idle list: nodes that may be unused, least recently idle first */

static void idle_unlink(struct mount_nodes *ns, struct mount_node *n)
{
    if (!n->idle)
        return;
    if (n->idle_prev)
        n->idle_prev->idle_next = n->idle_next;
    else
        ns->idle_head = n->idle_next;
    if (n->idle_next)
        n->idle_next->idle_prev = n->idle_prev;
    else
        ns->idle_tail = n->idle_prev;
    n->idle_prev = n->idle_next = NULL;
    n->idle = 0;
    ns->n_idle--;
}

/* (Re)queue @n as the most recently idle. */
static void idle_push(struct mount_nodes *ns, struct mount_node *n)
{
    idle_unlink(ns, n);
    n->idle_prev = ns->idle_tail;
    if (ns->idle_tail)
        ns->idle_tail->idle_next = n;
    else
        ns->idle_head = n;
    ns->idle_tail = n;
    n->idle = 1;
    ns->n_idle++;
}

int mount_node_unused(const struct mount_node *n)
{
    /* objects' tops stay (the root lists them all), unless removed (rekeyed "\x01...") */
    return !n->nlookup && !n->pins && !n->backing_id && n->kind != MK_ROOT &&
           (n->kind != MK_OBJ || n->path[0] == '\x01');
}

struct mount_node *mount_node_get(struct mount_nodes *ns, enum mount_kind kind,
                                  struct mount_obj *obj, unsigned version, const char *path)
{
    struct mount_node *n = mount_node_find(ns, kind, obj, version, path);
    size_t slot;

    if (n)
        return n;
    n = calloc(1, sizeof(*n));
    if (!n || !(n->path = strdup(path))) {
        free(n);
        return NULL;
    }
    n->kind = kind;
    n->obj = obj;
    n->version = version;
    n->hash = key_hash(kind, obj, version, path);
    n->ino = ++ns->last_ino; /* FUSE_ROOT_ID (1) is the first node made */
    n->key_next = ns->buckets[n->hash & (ns->n_buckets - 1)];
    ns->buckets[n->hash & (ns->n_buckets - 1)] = n;
    slot = ino_slot(ns, n->ino);
    n->ino_next = ns->ino_buckets[slot];
    ns->ino_buckets[slot] = n;
    ns->n++;
    if (mount_node_unused(n))
        idle_push(ns, n);
    if (ns->n > ns->n_buckets)
        resize(ns, ns->n_buckets * 2);
    return n;
}

static void unchain(struct mount_node **pp, struct mount_node *n, int by_ino)
{
    for (; *pp; pp = by_ino ? &(*pp)->ino_next : &(*pp)->key_next)
        if (*pp == n) {
            *pp = by_ino ? n->ino_next : n->key_next;
            return;
        }
}

static void node_free(struct mount_nodes *ns, struct mount_node *n)
{
    idle_unlink(ns, n);
    unchain(&ns->buckets[n->hash & (ns->n_buckets - 1)], n, 0);
    unchain(&ns->ino_buckets[ino_slot(ns, n->ino)], n, 1);
    free(n->path);
    free(n);
    ns->n--;
    ns->n_freed++;
}

size_t mount_nodes_trim(struct mount_nodes *ns)
{
    size_t freed = 0;

    while (ns->n_idle > ns->idle_keep) {
        struct mount_node *n = ns->idle_head;
        if (mount_node_unused(n)) {
            node_free(ns, n);
            freed++;
        } else {
            idle_unlink(ns, n); /* looked up or pinned since: it comes back when unused */
        }
    }
    /* a table emptied after a large walk gives its buckets back (down to twice its nodes) */
    if (freed && ns->n_buckets > MIN_BUCKETS && ns->n < ns->n_buckets / 8) {
        size_t nb = ns->n_buckets;
        while (nb > MIN_BUCKETS && ns->n < nb / 4)
            nb /= 2;
        resize(ns, nb);
    }
    return freed;
}

void mount_node_pin(struct mount_node *n)
{
    if (n)
        n->pins++;
}

void mount_node_unpin(struct mount_nodes *ns, struct mount_node *n)
{
    if (!n || !n->pins)
        return;
    if (--n->pins == 0 && mount_node_unused(n))
        idle_push(ns, n);
}

void mount_node_lookup(struct mount_nodes *ns, struct mount_node *n)
{
    n->nlookup++;
    idle_unlink(ns, n); /* so the idle list counts what trim may free */
}

void mount_node_forget(struct mount_nodes *ns, struct mount_node *n, uint64_t count)
{
    n->nlookup = n->nlookup > count ? n->nlookup - count : 0;
    if (mount_node_unused(n))
        idle_push(ns, n);
}

struct mount_node *mount_node_by_ino(const struct mount_nodes *ns, uint64_t ino)
{
    for (struct mount_node *n = ns->ino_buckets[ino_slot(ns, ino)]; n; n = n->ino_next)
        if (n->ino == ino)
            return n;
    return NULL;
}

int mount_node_rekey(struct mount_nodes *ns, struct mount_node *n, const char *path)
{
    char *copy = strdup(path);

    if (!copy)
        return -ENOMEM;
    unchain(&ns->buckets[n->hash & (ns->n_buckets - 1)], n, 0);
    free(n->path);
    n->path = copy;
    n->hash = key_hash(n->kind, n->obj, n->version, copy);
    n->attr_gen = 0; /* attributes are those of another path now */
    if (mount_node_unused(n))
        idle_push(ns, n); /* a removed object's top may go now */
    n->key_next = ns->buckets[n->hash & (ns->n_buckets - 1)];
    ns->buckets[n->hash & (ns->n_buckets - 1)] = n;
    return 0;
}
