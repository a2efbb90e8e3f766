/* web_diff.c: what changed between two versions (as `diff --json`), with text diffs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "object.h"
#include "object_json.h"
#include "web_int.h"
#include "web_textdiff.h"

/* Text diffs on one page: at most this many files. */
#define TEXT_DIFFS_MAX 20

/* Each list (added, modified, removed, renamed) on one page: at most this many paths. */
#define DIFF_LIST_MAX 1000

static const char *const lists[] = {"added", "modified", "removed", "renamed"};

/* Cut each list to DIFF_LIST_MAX; totals: {added: N, ...} the full counts. */
static int cap_lists(json_t *doc)
{
    json_t *totals = json_object();

    if (!totals)
        return -ENOMEM;
    for (size_t i = 0; i < sizeof(lists) / sizeof(*lists); i++) {
        json_t *arr = json_object_get(doc, lists[i]);
        size_t n = json_array_size(arr);
        json_object_set_new(totals, lists[i], json_integer((json_int_t)n));
        while (json_array_size(arr) > DIFF_LIST_MAX)
            json_array_remove(arr, json_array_size(arr) - 1);
    }
    json_object_set_new(doc, "limit", json_integer(DIFF_LIST_MAX));
    return json_object_set_new(doc, "totals", totals) ? -ENOMEM : 0;
}

/* The line diff of @path from @a to @b, or why there is none. */
static json_t *text_diff(const struct ocfl_object *obj, const struct ocfl_version *a,
                         const struct ocfl_version *b, const char *path)
{
    const struct ocfl_state_entry *ea = ocfl_version_lookup(a, path),
                                  *eb = ocfl_version_lookup(b, path);
    char *ba = NULL, *bb = NULL, *out = NULL;
    size_t la = 0, lb = 0, lo = 0;
    const char *why = NULL;
    FILE *f;
    json_t *o;

    if (web_read_content(obj, ea->digest, WEB_TEXTDIFF_MAX, &ba, &la, NULL) < 0 ||
        web_read_content(obj, eb->digest, WEB_TEXTDIFF_MAX, &bb, &lb, NULL) < 0)
        why = "larger than 256 KiB, or unreadable";
    else if (!web_looks_text(ba, la) || !web_looks_text(bb, lb))
        why = "not text";
    else if (!(f = open_memstream(&out, &lo)))
        why = "out of memory";
    else {
        if (web_textdiff(ba, la, bb, lb, f) < 0)
            why = "too many changed lines to compare";
        fclose(f);
    }
    o = why ? json_pack("{s:s, s:s}", "path", path, "skipped", why)
            : json_pack("{s:s, s:s%}", "path", path, "diff", out, lo);
    free(ba), free(bb), free(out);
    return o;
}

int web_model_diff(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    const struct ocfl_version *a = NULL, *b;
    unsigned na = 0, nb;
    char *s = NULL;
    int r = web_open_object(w, q, &obj, NULL, err), has_from;
    json_t *doc, *texts, *m;
    size_t k;

    if (r < 0)
        return r;
    if ((r = web_version_arg(q, "to", obj, 0, &nb, err)) < 0)
        goto out;
    has_from = web_arg(q, "from", &s, NULL) == 0 && *s;
    free(s);
    if (has_from && (r = web_version_arg(q, "from", obj, 0, &na, err)) < 0)
        goto out;
    if (!has_from) /* the version before; none before v1 (everything added) */
        na = nb > 1 ? nb - 1 : 0;
    b = ocfl_inventory_version(obj->inv, nb);
    a = na ? ocfl_inventory_version(obj->inv, na) : NULL;
    if (!(doc = ocfl_diff_json(obj->inv, a, b)) || !(texts = json_array())) {
        json_decref(doc);
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    json_array_foreach(json_object_get(doc, "modified"), k, m) if (k < TEXT_DIFFS_MAX)
        json_array_append_new(texts, text_diff(obj, a, b, json_string_value(m)));
    json_object_set_new(doc, "text_diffs", texts);
    if (cap_lists(doc) < 0) {
        json_decref(doc);
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    *ret = doc;
out:
    ocfl_object_close(obj);
    return r;
}

static void file_link(FILE *f, const char *id, int64_t v, const char *path)
{
    fputs("<a href=\"/file?id=", f);
    web_qenc(f, id);
    fprintf(f, "&amp;v=%lld&amp;path=", (long long)v);
    web_qenc(f, path);
    fputs("\">", f);
    web_esc(f, path);
    fputs("</a>", f);
}

static void list(FILE *f, json_t *doc, const char *key, const char *title, int64_t v)
{
    json_t *arr = json_object_get(doc, key), *m;
    int64_t total = web_jint(json_object_get(doc, "totals"), key);
    size_t k;

    fprintf(f, "<h2>%s (<span id=\"n-%s\">%lld</span>)</h2>\n", title, key, (long long)total);
    if ((size_t)total > json_array_size(arr))
        fprintf(f, "<p class=\"capped\">The first %zu shown.</p>\n", json_array_size(arr));
    fprintf(f, "<ul id=\"%s\">\n", key);
    json_array_foreach(arr, k, m)
    {
        fputs("<li>", f);
        if (json_is_object(m)) {
            web_esc(f, web_jstr(m, "from"));
            fputs(" &rarr; ", f);
            file_link(f, web_jstr(doc, "id"), v, web_jstr(m, "to"));
        } else {
            file_link(f, web_jstr(doc, "id"), v, json_string_value(m));
        }
        fputs("</li>\n", f);
    }
    fputs("</ul>\n", f);
}

void web_render_diff(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    const char *id = web_jstr(doc, "id");
    int64_t from = web_jint(doc, "from"), to = web_jint(doc, "to");
    json_t *t;
    size_t k;

    (void)w, (void)q;
    web_html_begin(f, "changes", "objects");
    fputs("<h1>Changes in <a href=\"/object?id=", f);
    web_qenc(f, id);
    fputs("\">", f);
    web_esc(f, id);
    if (from)
        fprintf(f, "</a> from <span id=\"diff-from\">v%lld</span>", (long long)from);
    else
        fputs("</a> from nothing", f);
    fprintf(f, " to <span id=\"diff-to\">v%lld</span></h1>\n", (long long)to);
    fputs("<form method=\"get\" action=\"/diff\"><input type=\"hidden\" name=\"id\" value=\"", f);
    web_esc(f, id);
    fprintf(f,
            "\"><label>from <input name=\"from\" size=\"4\" value=\"%lld\"></label> "
            "<label>to <input name=\"to\" size=\"4\" value=\"%lld\"></label> "
            "<button type=\"submit\">Compare</button></form>\n",
            (long long)from, (long long)to);
    list(f, doc, "added", "Added", to);
    list(f, doc, "modified", "Modified", to);
    list(f, doc, "removed", "Removed", from);
    list(f, doc, "renamed", "Renamed", to);
    json_array_foreach(json_object_get(doc, "text_diffs"), k, t)
    {
        fputs("<h3 class=\"textdiff-path\">", f);
        web_esc(f, web_jstr(t, "path"));
        fputs("</h3>\n", f);
        if (*web_jstr(t, "skipped")) {
            fputs("<p>No text diff: ", f);
            web_esc(f, web_jstr(t, "skipped"));
            fputs(".</p>\n", f);
            continue;
        }
        fputs("<pre class=\"diff\">", f);
        const char *s = web_jstr(t, "diff");
        while (*s) {
            const char *nl = strchr(s, '\n');
            size_t n = nl ? (size_t)(nl - s) : strlen(s);
            char *line = strndup(s, n);
            fprintf(f, "<span class=\"%s\">", *s == '+' ? "add" : *s == '-' ? "del" : "ctx");
            web_esc(f, line ? line : "");
            fputs("</span>\n", f);
            free(line);
            s += n + (nl != NULL);
        }
        fputs("</pre>\n", f);
    }
    web_html_end(f);
}
