/* web_catalog.c: the listing of a root's objects: from the object index, else by a walk. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal.h"
#include "object.h"
#include "object_index.h"
#include "root.h"
#include "web_int.h"

struct building {
    struct web *w;
    struct web_entry *v;
    size_t n, alloc;
};

static double mono(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void entries_free(struct web_entry *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].id);
        free(v[i].path);
        free(v[i].head);
        free(v[i].seen_head);
    }
    free(v);
}

static int add(struct building *b, const char *id, const char *path, const char *head,
               int64_t mtime_ns)
{
    struct web_entry *e;

    if (b->n == b->alloc) {
        size_t alloc = b->alloc ? b->alloc * 2 : 256;
        struct web_entry *v = realloc(b->v, alloc * sizeof(*v));
        if (!v)
            return -ENOMEM;
        b->v = v;
        b->alloc = alloc;
    }
    e = &b->v[b->n];
    e->id = strdup(id);
    e->path = strdup(path);
    e->head = head ? strdup(head) : NULL;
    e->mtime_ns = mtime_ns;
    e->size = e->files = -1;
    e->seen_head = NULL;
    e->seen_ino = 0;
    e->seen_ns = 0;
    if (!e->id || !e->path || (head && !e->head)) {
        free(e->id), free(e->path), free(e->head);
        return -ENOMEM;
    }
    b->n++;
    return 0;
}

static int from_index(void *ctx, const struct object_index_row *row)
{
    return add(ctx, row->id, row->path, row->head, row->mtime_ns);
}

static int from_walk(void *ctx, const char *object_path)
{
    struct building *b = ctx;
    struct ocfl_object *obj = NULL;
    int r;

    if (atomic_load(&b->w->catalog.stop))
        return -ECANCELED;
    if (ocfl_object_open(b->w->root->fd, object_path, &obj, NULL) < 0)
        return 0; /* damaged: `validate` says why; the listing shows what can be read */
    r = add(b, obj->inv->id, object_path, obj->inv->head,
            (int64_t)obj->inventory_st.st_mtim.tv_sec * 1000000000 +
                obj->inventory_st.st_mtim.tv_nsec);
    ocfl_object_close(obj);
    return r;
}

static int by_id(const void *a, const void *b)
{
    return strcmp(((const struct web_entry *)a)->id, ((const struct web_entry *)b)->id);
}

/* What the journal says now: plans added or ended, the index's size; -1 without one. */
static int64_t journal_mark(struct web *w)
{
    struct journal *j = NULL;
    sqlite3_stmt *st = NULL;
    int64_t mark = -1;

    if (web_journal(w, &j, NULL, NULL) < 0)
        return -1;
    if (sqlite3_prepare_v2(journal_sqlite(j),
                           "SELECT (SELECT count(*) + coalesce(max(finished_ns), 0) FROM plans)"
                           " + (SELECT count(*) FROM objects)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        mark = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    journal_close(j);
    return mark;
}

static void build(struct web *w)
{
    struct web_catalog *c = &w->catalog;
    struct building b = {.w = w};
    struct journal *j = NULL;
    struct ocfl_err err = {0};
    const char *source = "index";
    double t0 = mono();
    int64_t mark = journal_mark(w);
    int r = -ENOENT;

    if (web_journal(w, &j, NULL, NULL) == 0) {
        if (object_index_count(journal_sqlite(j), NULL) > 0)
            r = object_index_load(journal_sqlite(j), from_index, &b, &err);
        journal_close(j);
    }
    if (r < 0) { /* no index (never mounted): walk the root, each inventory read */
        entries_free(b.v, b.n);
        memset(&b, 0, sizeof(b));
        b.w = w;
        source = "walk";
        pthread_mutex_lock(&c->lock);
        if (!c->entries)
            c->source = "walking";
        pthread_mutex_unlock(&c->lock);
        ocfl_err_clear(&err);
        r = ocfl_root_walk(w->root, from_walk, &b, &err);
        if (b.n) /* qsort of NULL is undefined, even for none */
            qsort(b.v, b.n, sizeof(*b.v), by_id);
    }
    pthread_mutex_lock(&c->lock);
    if (r < 0) {
        snprintf(c->error, sizeof(c->error), "%s", err.msg[0] ? err.msg : strerror(-r));
        entries_free(b.v, b.n);
        if (!c->entries)
            c->source = source;
    } else {
        /* what pages found stays: it is checked against the inventory when shown */
        for (size_t i = 0, k = 0; i < b.n && k < c->n;) {
            int d = strcmp(b.v[i].id, c->entries[k].id);
            if (d == 0 && !strcmp(b.v[i].path, c->entries[k].path)) {
                struct web_entry *to = &b.v[i], *from = &c->entries[k];
                to->size = from->size;
                to->files = from->files;
                to->seen_ino = from->seen_ino;
                to->seen_ns = from->seen_ns;
                to->seen_head = from->seen_head;
                from->seen_head = NULL;
            }
            if (d <= 0)
                i++;
            if (d >= 0)
                k++;
        }
        entries_free(c->entries, c->n);
        c->entries = b.v;
        c->n = b.n;
        c->source = source;
        c->error[0] = 0;
    }
    c->built_plan_mark = mark;
    c->built_ms = (mono() - t0) * 1000;
    pthread_mutex_unlock(&c->lock);
}

static void *run(void *arg)
{
    struct web *w = arg;
    struct web_catalog *c = &w->catalog;

    pthread_mutex_lock(&c->lock);
    while (!atomic_load(&c->stop)) {
        if (!c->wanted) {
            pthread_cond_wait(&c->wake, &c->lock);
            continue;
        }
        c->wanted = 0;
        c->building = 1;
        pthread_mutex_unlock(&c->lock);
        build(w);
        pthread_mutex_lock(&c->lock);
        c->building = 0;
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int web_catalog_start(struct web *w, struct ocfl_err *err)
{
    struct web_catalog *c = &w->catalog;
    int r;

    c->source = "walking";
    c->wanted = 1;
    if ((r = pthread_create(&c->thread, NULL, run, w)) != 0)
        return ocfl_err_sys(err, -r, "cannot start a thread");
    c->thread_started = 1;
    return 0;
}

void web_catalog_refresh(struct web *w)
{
    struct web_catalog *c = &w->catalog;
    double now = mono();
    int look;

    pthread_mutex_lock(&c->lock);
    look = !c->building && !c->wanted && now - c->checked_at >= 1;
    if (look)
        c->checked_at = now;
    pthread_mutex_unlock(&c->lock);
    if (!look)
        return;
    int64_t mark = journal_mark(w);
    pthread_mutex_lock(&c->lock);
    if (mark != c->built_plan_mark && !c->building) {
        c->wanted = 1;
        pthread_cond_signal(&c->wake);
    }
    pthread_mutex_unlock(&c->lock);
}

void web_catalog_stop(struct web *w)
{
    struct web_catalog *c = &w->catalog;

    pthread_mutex_lock(&c->lock);
    atomic_store(&c->stop, 1);
    pthread_cond_broadcast(&c->wake);
    pthread_mutex_unlock(&c->lock);
    if (c->thread_started)
        pthread_join(c->thread, NULL);
    c->thread_started = 0;
    entries_free(c->entries, c->n);
    c->entries = NULL;
    c->n = 0;
}

int web_catalog_path(struct web *w, const char *id, char **ret)
{
    struct web_catalog *c = &w->catalog;
    struct web_entry key = {.id = (char *)id};
    const struct web_entry *e;
    int r = -ENOENT;

    web_catalog_refresh(w);
    pthread_mutex_lock(&c->lock);
    e = c->n ? bsearch(&key, c->entries, c->n, sizeof(key), by_id) : NULL;
    if (e)
        r = (*ret = strdup(e->path)) ? 0 : -ENOMEM;
    pthread_mutex_unlock(&c->lock);
    return r;
}
