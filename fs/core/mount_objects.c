/* mount_objects.c: the mounted root's objects: their list, index and cache of loaded inventories.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cluster.h"
#include "io.h"
#include "journal.h"
#include "mount.h"
#include "object_index.h"
#include "path.h"
#include "staging.h"

#define NAME_BUCKETS (1u << 16)

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (NAME_BUCKETS - 1);
}

int mount_objects_init(struct mount_objects *os, size_t max_loaded, size_t max_weight)
{
    memset(os, 0, sizeof(*os));
    os->n_buckets = NAME_BUCKETS;
    os->by_name = calloc(os->n_buckets, sizeof(*os->by_name));
    os->max_loaded = max_loaded;
    os->max_weight = max_weight;
    return os->by_name ? 0 : -ENOMEM;
}

void mount_objects_release(struct mount_objects *os)
{
    if (!os)
        return;
    for (size_t i = 0; i < os->n; i++) {
        struct mount_obj *mo = os->all[i];
        ocfl_object_close(mo->o);
        free(mo->id);
        free(mo->name);
        free(mo->path);
        free(mo->load_msg);
        pthread_cond_destroy(&mo->loaded_cv);
        free(mo);
    }
    free(os->all);
    free(os->by_name);
    memset(os, 0, sizeof(*os));
}

struct mount_obj *mount_objects_find(const struct mount_objects *os, const char *name)
{
    for (struct mount_obj *mo = os->by_name[name_hash(name)]; mo; mo = mo->name_next)
        if (!mo->gone && !strcmp(mo->name, name))
            return mo;
    return NULL;
}

static struct mount_obj *find_any(const struct mount_objects *os, const char *name)
{
    for (struct mount_obj *mo = os->by_name[name_hash(name)]; mo; mo = mo->name_next)
        if (!strcmp(mo->name, name))
            return mo;
    return NULL;
}

struct mount_obj *mount_objects_add(struct mount_objects *os, const char *id, const char *path)
{
    struct mount_obj *mo;
    char *name = NULL;

    if (mount_name_encode(id, &name) < 0)
        return NULL;
    mo = find_any(os, name);
    if (mo) {
        free(name);
        if (strcmp(mo->id, id))
            return NULL; /* a hashed-name collision: not representable */
        mo->gone = 0;
        if (strcmp(mo->path, path)) {
            char *p = strdup(path);
            if (!p)
                return NULL;
            free(mo->path);
            mo->path = p;
        }
        return mo;
    }
    if (os->n == os->alloc) {
        size_t na = os->alloc ? os->alloc * 2 : 256;
        struct mount_obj **a = realloc(os->all, na * sizeof(*a));
        if (!a)
            goto fail;
        os->all = a;
        os->alloc = na;
    }
    mo = calloc(1, sizeof(*mo));
    if (!mo)
        goto fail;
    mo->id = strdup(id);
    mo->path = strdup(path);
    if (!mo->id || !mo->path) {
        free(mo->id);
        free(mo->path);
        free(mo);
        goto fail;
    }
    if (pthread_cond_init(&mo->loaded_cv, NULL) != 0) {
        free(mo->id);
        free(mo->path);
        free(mo);
        goto fail;
    }
    mo->name = name;
    mo->idx = (unsigned)os->n;
    os->all[os->n++] = mo;
    mo->name_next = os->by_name[name_hash(name)];
    os->by_name[name_hash(name)] = mo;
    return mo;
fail:
    free(name);
    return NULL;
}

/* ---- the cache of loaded objects */

static void lru_unlink(struct mount_objects *os, struct mount_obj *mo)
{
    if (mo->lru_prev)
        mo->lru_prev->lru_next = mo->lru_next;
    else
        os->lru_head = mo->lru_next;
    if (mo->lru_next)
        mo->lru_next->lru_prev = mo->lru_prev;
    else
        os->lru_tail = mo->lru_prev;
    mo->lru_prev = mo->lru_next = NULL;
}

static void lru_push(struct mount_objects *os, struct mount_obj *mo)
{
    mo->lru_prev = NULL;
    mo->lru_next = os->lru_head;
    if (os->lru_head)
        os->lru_head->lru_prev = mo;
    os->lru_head = mo;
    if (!os->lru_tail)
        os->lru_tail = mo;
}

static void unload(struct mount_objects *os, struct mount_obj *mo)
{
    if (!mo->o)
        return;
    lru_unlink(os, mo);
    ocfl_object_close(mo->o);
    mo->o = NULL;
    os->n_loaded--;
    os->weight_loaded -= mo->weight;
    mo->weight = 0;
}

static int stat_sidecar(const struct ocfl_object *o, struct stat *st)
{
    char name[64];
    int k = snprintf(name, sizeof(name), "inventory.json.%s", o->inv->digest_algorithm);

    if (k < 0 || (size_t)k >= sizeof(name))
        return -ENAMETOOLONG;
    /* the sidecar sits directly in the object root: no intermediate component */
    return fstatat(o->fd, name, st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static void load_failed(struct mount *m, struct mount_obj *mo, int code, const char *msg)
{
    char *copy = strdup(msg);

    mount_log(m, "object '%s' ('%s') cannot be loaded: %s", mo->id, mo->path, msg);
    free(mo->load_msg);
    mo->load_msg = copy;
    mo->load_err = code < 0 ? code : -EIO;
    mo->load_err_at = mount_now();
}

/* What one load produced: the object and its sidecar, or a failure and its message. */
struct loaded {
    struct ocfl_object *o;
    int rc;
    int have_sidecar;
    struct stat sidecar;
    char msg[sizeof(((struct ocfl_err *)0)->msg)];
};

/* Open the object at @path and check that it is @id.  Touches no mount state: runs
 * with or without m->lock. */
static void load(int root_fd, const char *path, const char *id, struct loaded *l)
{
    struct ocfl_err err = {0};

    memset(l, 0, sizeof(*l));
    l->rc = ocfl_object_open(root_fd, path, &l->o, &err);
    /* parsing a large inventory leaves much freed memory behind: give it back */
    malloc_trim(0);
    if (l->rc < 0) {
        snprintf(l->msg, sizeof(l->msg), "%s", err.msg[0] ? err.msg : strerror(-l->rc));
        l->o = NULL;
        return;
    }
    if (strcmp(l->o->inv->id, id)) {
        snprintf(l->msg, sizeof(l->msg), "its inventory's id is '%.200s'", l->o->inv->id);
        ocfl_object_close(l->o);
        l->o = NULL;
        l->rc = -EIO;
        return;
    }
    l->have_sidecar = stat_sidecar(l->o, &l->sidecar) == 0;
}

/* Make @l the loaded object of @mo (lock held), evicting beyond the bounds.  -EIO on failure. */
static int publish(struct mount *m, struct mount_obj *mo, struct loaded *l, double now)
{
    struct mount_objects *os = &m->objs;
    struct ocfl_object *o = l->o;

    if (!o) {
        load_failed(m, mo, l->rc, l->msg);
        return -EIO;
    }
    if (l->have_sidecar) {
        mo->sidecar_ino = l->sidecar.st_ino;
        mo->sidecar_size = l->sidecar.st_size;
        mo->sidecar_mtime = l->sidecar.st_mtim;
    }
    mo->checked_at = now;
    mo->o = o;
    mo->gen++;
    /* loaded again with another root inventory (changed outside, or committed): the head's
     * listings the kernel keeps are stale (see mount_node.list_stamp) */
    if (mo->inv_digest[0] && strcmp(mo->inv_digest, o->inventory_digest))
        mo->head_gen++;
    snprintf(mo->inv_digest, sizeof(mo->inv_digest), "%s", o->inventory_digest);
    mo->load_err = 0;
    free(mo->load_msg);
    mo->load_msg = NULL;
    mo->weight = o->inv->n_manifest;
    for (size_t i = 0; i < o->inv->n_versions; i++)
        mo->weight += o->inv->versions[i].n_state;
    os->n_loaded++;
    os->weight_loaded += mo->weight;
    lru_push(os, mo);
    while (os->lru_tail && os->lru_tail != mo &&
           (os->n_loaded > os->max_loaded || os->weight_loaded > os->max_weight))
        unload(os, os->lru_tail);
    return 0;
}

/* Drop @mo's loaded object when its root inventory changed outside (checked at most once
 * a second).  Lock held. */
static void check_changed(struct mount *m, struct mount_obj *mo, double now)
{
    struct stat st;

    if (!mo->o || now - mo->checked_at < 1.0)
        return;
    mo->checked_at = now;
    if (stat_sidecar(mo->o, &st) < 0 || st.st_ino != mo->sidecar_ino ||
        st.st_size != mo->sidecar_size || st.st_mtim.tv_sec != mo->sidecar_mtime.tv_sec ||
        st.st_mtim.tv_nsec != mo->sidecar_mtime.tv_nsec)
        unload(&m->objs, mo); /* changed outside: read it again */
}

static void touch(struct mount_objects *os, struct mount_obj *mo)
{
    if (os->lru_head != mo) {
        lru_unlink(os, mo);
        lru_push(os, mo);
    }
}

int mount_obj_load(struct mount *m, struct mount_obj *mo)
{
    for (;;) {
        double now = mount_now(), started;
        struct loaded l;
        char *path;

        check_changed(m, mo, now);
        if (mo->o) {
            touch(&m->objs, mo);
            return 0;
        }
        if (mo->loading) { /* another thread reads it: wait for its outcome */
            pthread_cond_wait(&mo->loaded_cv, &m->lock);
            continue;
        }
        if (mo->load_err && now - mo->load_err_at < 2.0)
            return -EIO;
        /* the path may be replaced by a refresh meanwhile; the id never changes */
        if (!(path = strdup(mo->path)))
            return -ENOMEM;
        /* a commit marks the object stale by moving checked_at: noticed below */
        started = mo->checked_at = now;
        mo->loading = 1;
        pthread_mutex_unlock(&m->lock);
        load(m->root->fd, path, mo->id, &l);
        free(path);
        pthread_mutex_lock(&m->lock);
        mo->loading = 0;
        pthread_cond_broadcast(&mo->loaded_cv);
        if (mo->o || mo->checked_at != started) {
            /* loaded under the lock meanwhile (mount_obj_get), or made stale by a
             * commit while this load read the old inventory: look again */
            ocfl_object_close(l.o);
            continue;
        }
        return publish(m, mo, &l, mount_now());
    }
}

int mount_obj_reload(struct mount *m, struct mount_obj *mo)
{
    struct ocfl_object *o;

    unload(&m->objs, mo);
    mo->checked_at = mount_now(); /* a load running outside meanwhile read the old one */
    mo->load_err = 0;
    return mount_obj_get(m, mo, &o);
}

void mount_node_preload(struct mount *m, struct mount_node *n, const char *name)
{
    struct mount_obj *mo = n ? n->obj : NULL;

    if (n && n->kind == MK_ROOT && name && strcmp(name, m->ctl_name))
        mo = mount_objects_find(&m->objs, name);
    if (mo && !mo->staged_new) {
        /* the lock may be released: a forget meanwhile must not free the caller's node */
        mount_node_pin(n);
        (void)mount_obj_load(m, mo); /* a failure is kept in mo->load_err for the caller */
        mount_node_unpin(&m->nodes, n);
    }
}

int mount_obj_get(struct mount *m, struct mount_obj *mo, struct ocfl_object **ret)
{
    double now = mount_now();
    struct loaded l;
    int rc;

    check_changed(m, mo, now);
    if (mo->o) {
        touch(&m->objs, mo);
        *ret = mo->o;
        return 0;
    }
    if (mo->load_err && now - mo->load_err_at < 2.0)
        return -EIO;
    /* not preloaded (or evicted since): read it here, under the lock; a load running
     * outside meanwhile notices and drops its result */
    load(m->root->fd, mo->path, mo->id, &l);
    if ((rc = publish(m, mo, &l, now)) < 0)
        return rc;
    *ret = mo->o;
    return 0;
}

/* ---- filling the list */

static int index_row(void *ctx, const struct object_index_row *row)
{
    struct mount *m = ctx;

    return mount_objects_add(&m->objs, row->id, row->path) ? 0 : -ENOMEM;
}

struct walked {
    struct mount *m;
    char **paths;
    size_t n, alloc;
};

static char *read_object_id(struct mount *m, const char *path);

/* Tests: with $OCFLFS_TEST_WALK_GATE naming a file, a walk stops after 100 objects until that
 * file exists (so that a test sees a first mount serving while its walk runs). */
static void test_walk_gate(struct mount *m)
{
    const char *gate = getenv("OCFLFS_TEST_WALK_GATE");
    struct stat st;

    while (gate && *gate && !m->walk_stop && stat(gate, &st) < 0)
        usleep(10000);
}

static int walk_one(void *ctx, const char *object_path)
{
    struct walked *w = ctx;

    if (w->m->walk_stop)
        return 1;
    if (w->n == 100)
        test_walk_gate(w->m);
    if (w->m->first_walk) { /* shown at once: the root's listing grows while the walk runs */
        char *id = read_object_id(w->m, object_path);
        if (id) {
            pthread_mutex_lock(&w->m->lock);
            if (!mount_objects_add(&w->m->objs, id, object_path))
                mount_log(w->m, "object '%s' at '%s': cannot be listed", id, object_path);
            pthread_mutex_unlock(&w->m->lock);
            free(id);
        }
    }

    if (w->n == w->alloc) {
        size_t na = w->alloc ? w->alloc * 2 : 256;
        char **a = realloc(w->paths, na * sizeof(*a));
        if (!a)
            return -ENOMEM;
        w->paths = a;
        w->alloc = na;
    }
    if (!(w->paths[w->n] = strdup(object_path)))
        return -ENOMEM;
    w->n++;
    return 0;
}

/* The id an object's root inventory declares (only that key is used); NULL and a log
 * line when there is none. */
static char *read_object_id(struct mount *m, const char *path)
{
    char rel[4096], *buf = NULL, *id = NULL;
    size_t len;
    json_t *j, *v;
    int k = snprintf(rel, sizeof(rel), "%s/inventory.json", path);

    if (k < 0 || (size_t)k >= sizeof(rel))
        return NULL;
    if (ocfl_io_read_file(m->root->fd, rel, OCFL_INVENTORY_MAX_BYTES, &buf, &len, NULL) < 0) {
        mount_log(m, "object at '%s': cannot read its inventory, not shown", path);
        return NULL;
    }
    j = json_loadb(buf, len, 0, NULL);
    v = j ? json_object_get(j, "id") : NULL;
    if (v && json_is_string(v) && json_string_length(v) > 0 &&
        strlen(json_string_value(v)) == json_string_length(v))
        id = strdup(json_string_value(v));
    else
        mount_log(m, "object at '%s': its inventory has no usable id, not shown", path);
    json_decref(j);
    free(buf);
    return id;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mount_objects_refresh(struct mount *m, struct ocfl_err *err)
{
    struct walked w = {.m = m};
    struct object_index_row *rows = NULL;
    char **ids = NULL;
    size_t n_known = 0;
    int rc;

    rc = ocfl_root_walk(m->root, walk_one, &w, err);
    if (rc < 0)
        goto out;
    if (rc > 0) { /* stopped by the unmount: a part of the root says nothing of the rest */
        rc = 0;
        goto out;
    }
    if (w.n) /* an empty root has no array (qsort and bsearch want one) */
        qsort(w.paths, w.n, sizeof(*w.paths), cmp_path);

    /* which walked paths are already known (their id need not be read) */
    pthread_mutex_lock(&m->lock);
    ids = calloc(w.n ? w.n : 1, sizeof(*ids));
    if (!ids) {
        pthread_mutex_unlock(&m->lock);
        rc = ocfl_err_set(err, -ENOMEM, "object list: out of memory");
        goto out;
    }
    for (size_t i = 0; i < m->objs.n; i++) {
        struct mount_obj *mo = m->objs.all[i];
        char **hit = w.n ? bsearch(&mo->path, w.paths, w.n, sizeof(*w.paths), cmp_path) : NULL;
        if (hit && !ids[hit - w.paths])
            ids[hit - w.paths] = strdup(mo->id); /* NULL on ENOMEM: read it again */
    }
    pthread_mutex_unlock(&m->lock);

    for (size_t i = 0; i < w.n; i++)
        if (!ids[i])
            ids[i] = read_object_id(m, w.paths[i]);

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->objs.n; i++)
        m->objs.all[i]->gone = 1;
    for (size_t i = 0; i < w.n; i++)
        if (ids[i] && !mount_objects_add(&m->objs, ids[i], w.paths[i]))
            mount_log(m, "object '%s' at '%s': cannot be listed", ids[i], w.paths[i]);
    for (size_t i = 0; i < m->objs.n; i++)
        if (m->objs.all[i]->staged_new) /* made by mkdir, not in the root before its commit */
            m->objs.all[i]->gone = 0;
    pthread_mutex_unlock(&m->lock);

    rows = calloc(w.n ? w.n : 1, sizeof(*rows));
    if (!rows) {
        rc = ocfl_err_set(err, -ENOMEM, "object list: out of memory");
        goto out;
    }
    for (size_t i = 0; i < w.n; i++) {
        if (!ids[i])
            continue;
        rows[n_known].id = ids[i];
        rows[n_known].path = w.paths[i];
        n_known++;
    }
    rc = (int)n_known;
    if (m->journal) {
        struct ocfl_err ierr = {0};
        journal_lock(m->journal);
        if (object_index_replace(journal_sqlite(m->journal), rows, n_known, &ierr) < 0)
            mount_log(m, "%s", ierr.msg);
        journal_unlock(m->journal);
    }
out:
    for (size_t i = 0; i < w.n; i++) {
        free(w.paths[i]);
        if (ids)
            free(ids[i]);
    }
    free(w.paths);
    free(ids);
    free(rows);
    return rc;
}

static void *refresh_thread(void *arg)
{
    struct mount *m = arg;
    struct ocfl_err err = {0};
    int rc = mount_objects_refresh(m, &err);

    if (rc < 0)
        mount_log(m, "cannot refresh the object list: %s", err.msg);
    pthread_mutex_lock(&m->lock);
    if (!m->walk_stop && rc >= 0) /* a walk that failed is no complete listing */
        m->first_walk = 0;
    m->refreshing = 0;
    m->refreshed_at = mount_now();
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

void mount_objects_refresh_async(struct mount *m, double min_age)
{
    if (m->refreshing || (m->refreshed_at > 0 && mount_now() - m->refreshed_at < min_age))
        return;
    if (m->refresher_started) {
        /* finished (refreshing is 0): only its return is left */
        pthread_join(m->refresher, NULL);
        m->refresher_started = 0;
    }
    if (pthread_create(&m->refresher, NULL, refresh_thread, m) == 0) {
        m->refresher_started = 1;
        m->refreshing = 1;
    }
}

void mount_objects_stop_refresh(struct mount *m)
{
    m->walk_stop = 1;
    if (m->refresher_started)
        pthread_join(m->refresher, NULL);
    m->refresher_started = 0;
}

static int has_staged(struct mount *m)
{
    struct staging_object_info *oi = NULL;
    size_t n = 0;

    if (staging_objects(m->journal, &oi, &n, NULL) < 0)
        return 1; /* cannot tell: the careful way */
    staging_object_infos_free(oi, n);
    return n > 0;
}

/* The list from the cluster's shared index: the number of objects (0 when it has none or
 * cannot be read: then as without it). */
static int populate_from_cluster(struct mount *m)
{
    struct cluster_object_info *v = NULL;
    struct ocfl_err e = {0};
    size_t n = 0, added = 0;

    if (cluster_objects(m->cluster, &v, &n, &e) < 0) {
        mount_log(m, "%s; walking the root instead", e.msg);
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < n; i++)
        if (*v[i].path && ocfl_path_check(v[i].path) == OCFL_PATH_OK &&
            mount_objects_add(&m->objs, v[i].object_id, v[i].path))
            added++;
    pthread_mutex_unlock(&m->lock);
    cluster_object_infos_free(v, n);
    if (added)
        mount_log(m, "cluster: %zu objects listed from the shared index", added);
    return (int)added;
}

int mount_objects_populate(struct mount *m, struct ocfl_err *err)
{
    int rc;

    if (m->journal) {
        struct ocfl_err ierr = {0};
        journal_lock(m->journal);
        pthread_mutex_lock(&m->lock);
        rc = object_index_load(journal_sqlite(m->journal), index_row, m, &ierr);
        pthread_mutex_unlock(&m->lock);
        journal_unlock(m->journal);
        if (rc < 0)
            mount_log(m, "%s; walking the root instead", ierr.msg);
        else if (m->objs.n > 0)
            return (int)m->objs.n;
    }
    /* Cluster mode, no index of our own yet: the cluster's, which every host's commits keep;
     * the walk once mounted catches up with what other tools wrote. */
    if (m->cluster && (rc = populate_from_cluster(m)) > 0)
        return rc;
    /* No index: the mount serves at once (an object is found by its name through the layout)
     * and the listing fills in from the walk started once mounted.  Unless the root has no
     * layout to find an object by (then nothing could be reached until the walk is done), or
     * changes are staged (a first walk cut short): their objects are found by walking first,
     * wherever they are, so that the start-up reconciles them. */
    if (m->root->layout && (!m->journal || !has_staged(m))) {
        m->first_walk = 1;
        return 0;
    }
    rc = mount_objects_refresh(m, err);
    if (rc >= 0)
        m->refreshed_at = mount_now();
    return rc;
}

struct mount_obj *mount_objects_discover(struct mount *m, const char *name)
{
    char *id = NULL, *path = NULL, *found = NULL, rel[4096];
    struct mount_obj *mo = NULL;
    int fd, k;

    if (!m->root->layout || mount_name_decode(name, &id) < 0)
        return NULL;
    if (ocfl_root_object_path(m->root, id, &path, NULL) < 0)
        goto out;
    k = snprintf(rel, sizeof(rel), "%s/inventory.json", path);
    if (k < 0 || (size_t)k >= sizeof(rel))
        goto out;
    fd = ocfl_io_open(m->root->fd, rel, O_PATH | O_CLOEXEC, 0);
    if (fd < 0)
        goto out; /* the usual case: no such object */
    close(fd);
    found = read_object_id(m, path);
    if (!found || strcmp(found, id))
        goto out;
    mo = mount_objects_add(&m->objs, id, path);
    /* (not while a first walk runs: an index of a few rows would pass for a complete one) */
    if (mo && m->journal && !m->first_walk) {
        struct object_index_row row = {.id = id, .path = path};
        struct ocfl_err ierr = {0};
        journal_lock(m->journal);
        if (object_index_put(journal_sqlite(m->journal), &row, &ierr) < 0)
            mount_log(m, "%s", ierr.msg);
        journal_unlock(m->journal);
    }
out:
    free(id);
    free(path);
    free(found);
    return mo;
}
