/* web_repo.c: the repository page: the root's objects, paged, searched by id. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "io.h"
#include "object.h"
#include "root.h"
#include "web_int.h"

/* The head's files, bytes and name of the object at @path: 0, or a negative errno. */
static int find_size(struct web *w, const char *path, int64_t *ret_size, int64_t *ret_files,
                     char **ret_head, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    const struct ocfl_version *v;
    int64_t size = 0;
    struct stat st;
    int r = ocfl_object_open(w->root->fd, path, &obj, err);

    if (r < 0)
        return r;
    v = ocfl_inventory_head(obj->inv);
    for (size_t i = 0; v && i < v->n_state; i++) {
        const char *cp = ocfl_inventory_content_path(obj->inv, v->state[i].digest);
        if (cp && ocfl_io_stat(obj->fd, cp, &st) == 0)
            size += st.st_size;
    }
    *ret_files = v ? (int64_t)v->n_state : 0;
    *ret_size = size;
    *ret_head = strdup(obj->inv->head);
    ocfl_object_close(obj);
    return *ret_head ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");
}

static int by_id(const void *key, const void *e)
{
    return strcmp(key, ((const struct web_entry *)e)->id);
}

static void set_row(json_t *o, const char *head, int64_t mtime, int64_t size, int64_t files)
{
    json_object_set_new(o, "head", json_string(head));
    json_object_set_new(o, "mtime_ns", json_integer((json_int_t)mtime));
    json_object_set_new(o, "size", json_integer((json_int_t)size));
    json_object_set_new(o, "files", json_integer((json_int_t)files));
}

/*
 * The rows of @arr as the root has them now: each object's inventory stat'ed (the index may
 * be older than the last commit), and where it changed since a page last showed it, read
 * for its head, files and size, without the listing's lock (an inventory may be large);
 * what was found is kept in the listing for the next page.
 */
static void fill_rows(struct web *w, json_t *arr)
{
    struct web_catalog *c = &w->catalog;
    json_t *o;
    size_t i;

    json_array_foreach(arr, i, o)
    {
        const char *id = json_string_value(json_object_get(o, "id")),
                   *path = json_string_value(json_object_get(o, "path"));
        struct web_entry *e;
        struct stat st;
        int64_t size, files, mtime;
        char *inv = NULL, *head = NULL;
        struct ocfl_err ferr = {0};
        int known = 0, r;

        if (asprintf(&inv, "%s/inventory.json", path) < 0)
            continue;
        if ((r = ocfl_io_stat(w->root->fd, inv, &st)) < 0) {
            json_object_set_new(o, "error",
                                json_sprintf("cannot stat '%s': %s", inv, strerror(-r)));
            free(inv); /* gone, or unreadable: shown as listed */
            continue;
        }
        free(inv);
        mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        pthread_mutex_lock(&c->lock);
        e = bsearch(id, c->entries, c->n, sizeof(*c->entries), by_id);
        if (e && e->seen_head && e->seen_ino == (uint64_t)st.st_ino && e->seen_ns == mtime) {
            set_row(o, e->seen_head, mtime, e->size, e->files);
            known = 1;
        }
        pthread_mutex_unlock(&c->lock);
        if (known)
            continue;
        if (find_size(w, path, &size, &files, &head, &ferr) < 0) {
            /* as `ls --json` has it: the object cannot be read (damaged, or being changed) */
            json_object_set_new(o, "error", json_string(ferr.msg));
            continue;
        }
        set_row(o, head, mtime, size, files);
        pthread_mutex_lock(&c->lock);
        e = bsearch(id, c->entries, c->n, sizeof(*c->entries), by_id);
        if (e) {
            free(e->seen_head);
            e->seen_head = head;
            head = NULL;
            e->seen_ino = (uint64_t)st.st_ino;
            e->seen_ns = mtime;
            e->size = size;
            e->files = files;
        }
        pthread_mutex_unlock(&c->lock);
        free(head);
    }
}

int web_model_objects(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct web_catalog *c = &w->catalog;
    struct timespec t0, t1;
    uint64_t offset, limit;
    char *search = NULL;
    json_t *arr = json_array(), *doc;
    size_t total = 0;
    int r;

    if (!arr)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    if ((r = web_arg_uint(q, "offset", 0, (uint64_t)1 << 40, &offset, err)) < 0 ||
        (r = web_arg_uint(q, "limit", 100, WEB_PAGE_MAX, &limit, err)) < 0 ||
        ((r = web_arg(q, "q", &search, err)) < 0 && r != -ENOENT)) {
        json_decref(arr);
        return r;
    }
    if (limit == 0)
        limit = 100;
    web_catalog_refresh(w);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n; i++) {
        const struct web_entry *e = &c->entries[i];
        if (search && *search && !strcasestr(e->id, search))
            continue;
        if (total >= offset && total < offset + limit) {
            json_array_append_new(
                arr, json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "id", e->id, "path", e->path,
                               "head", e->head ? json_string(e->head) : json_null(), "mtime_ns",
                               (json_int_t)e->mtime_ns, "size", (json_int_t)e->size, "files",
                               (json_int_t)e->files));
        }
        total++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    doc = json_pack("{s:s, s:s, s:b, s:I, s:I, s:I, s:s, s:f, s:o}", "root", w->root_path,
                    "listing", c->source, "building", c->building, "total", (json_int_t)total,
                    "offset", (json_int_t)offset, "limit", (json_int_t)limit, "q",
                    search ? search : "", "elapsed_ms",
                    (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6,
                    "objects", arr);
    if (doc)
        json_object_set_new(doc, "built_ms", json_real(c->built_ms));
    if (doc && c->error[0])
        json_object_set_new(doc, "error", json_string(c->error));
    pthread_mutex_unlock(&c->lock);
    free(search);
    if (doc)
        fill_rows(w, arr);
    if (!doc)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    *ret = doc;
    return 0;
}

static void pager_link(FILE *f, const char *q, int64_t offset, int64_t limit, const char *label,
                       const char *rel)
{
    fprintf(f, "<a rel=\"%s\" href=\"/?offset=%lld&amp;limit=%lld", rel, (long long)offset,
            (long long)limit);
    if (*q) {
        fputs("&amp;q=", f);
        web_qenc(f, q);
    }
    fprintf(f, "\">%s</a>", label);
}

void web_render_objects(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    json_t *arr = json_object_get(doc, "objects"), *o;
    int64_t total = web_jint(doc, "total"), offset = web_jint(doc, "offset"),
            limit = web_jint(doc, "limit");
    const char *search = web_jstr(doc, "q");
    size_t i;

    (void)q;
    web_html_begin(f, "objects", "objects");
    fputs("<h1>Objects</h1>\n<p>Storage root <code>", f);
    web_esc(f, w->root_path);
    fprintf(f, "</code>: <span id=\"total\">%lld</span> object%s%s", (long long)total,
            total == 1 ? "" : "s", *search ? " matching" : "");
    fprintf(f, " (listed from the %s%s).</p>\n",
            !strcmp(web_jstr(doc, "listing"), "index") ? "object index" : "walk of the root",
            !strcmp(web_jstr(doc, "listing"), "walking") ? ", still walking: reload" : "");
    if (*web_jstr(doc, "error")) {
        fputs("<p class=\"error\">", f);
        web_esc(f, web_jstr(doc, "error"));
        fputs("</p>\n", f);
    }
    fputs("<form method=\"get\" action=\"/\"><label>Search by id <input type=\"search\" "
          "name=\"q\" id=\"q\" value=\"",
          f);
    web_esc(f, search);
    fputs("\"></label> <button type=\"submit\">Search</button></form>\n", f);
    fputs("<table id=\"objects\"><thead><tr><th>id</th><th>head</th><th>last change</th>"
          "<th>files</th><th>size</th><th>path</th></tr></thead><tbody>\n",
          f);
    json_array_foreach(arr, i, o)
    {
        fputs("<tr><td><a class=\"object\" href=\"/object?id=", f);
        web_qenc(f, web_jstr(o, "id"));
        fputs("\">", f);
        web_esc(f, web_jstr(o, "id"));
        fputs("</a></td><td>", f);
        web_esc(f, json_is_string(json_object_get(o, "head")) ? web_jstr(o, "head") : "?");
        fputs("</td><td>", f);
        web_time_ns(f, web_jint(o, "mtime_ns"));
        fprintf(f, "</td><td class=\"num\">%lld</td><td class=\"num\" data-bytes=\"%lld\">",
                (long long)web_jint(o, "files"), (long long)web_jint(o, "size"));
        web_bytes(f, web_jint(o, "size"));
        fputs("</td><td><code>", f);
        web_esc(f, web_jstr(o, "path"));
        fputs("</code>", f);
        if (*web_jstr(o, "error")) {
            fputs(" <span class=\"error\">", f);
            web_esc(f, web_jstr(o, "error"));
            fputs("</span>", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n<p class=\"pager\">", f);
    if (offset > 0)
        pager_link(f, search, offset > limit ? offset - limit : 0, limit, "&larr; previous",
                   "prev");
    fprintf(f, "objects %lld to %lld of %lld ", (long long)(total ? offset + 1 : 0),
            (long long)(offset + (int64_t)json_array_size(arr)), (long long)total);
    if (offset + limit < total)
        pager_link(f, search, offset + limit, limit, "next &rarr;", "next");
    fputs("</p>\n", f);
    web_html_end(f);
}
