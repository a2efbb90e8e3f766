/* web_object.c: an object's page: its versions (as `log --json`), a version's tree (as
 * `show --json`), and a file's history (`log ROOT ID PATH`). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "object.h"
#include "object_json.h"
#include "web_int.h"

int web_model_log(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    char *only = NULL;
    int r = web_open_object(w, q, &obj, NULL, err);

    if (r < 0)
        return r;
    if ((r = web_arg(q, "path", &only, err)) < 0 && r != -ENOENT) {
        ocfl_object_close(obj);
        return r;
    }
    *ret = ocfl_log_json(obj, only);
    free(only);
    ocfl_object_close(obj);
    return *ret ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");
}

static int tree_args(const struct web_req *q, const struct ocfl_object *obj, unsigned *num,
                     uint64_t *offset, uint64_t *limit, struct ocfl_err *err)
{
    int r = web_version_arg(q, "v", obj, 0, num, err);

    if (r >= 0)
        r = web_arg_uint(q, "offset", 0, (uint64_t)1 << 40, offset, err);
    if (r >= 0)
        r = web_arg_uint(q, "limit", 1000, 10000, limit, err);
    if (r >= 0 && !*limit)
        *limit = 1000;
    return r;
}

int web_model_show(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    uint64_t offset, limit;
    unsigned num;
    int r = web_open_object(w, q, &obj, NULL, err);

    if (r >= 0 && (r = tree_args(q, obj, &num, &offset, &limit, err)) >= 0)
        if (!(*ret = ocfl_show_json(obj, num, 1, offset, limit)))
            r = ocfl_err_set(err, -ENOMEM, "out of memory");
    ocfl_object_close(obj);
    return r;
}

/* The object page's document: {"log": as /api/log, "tree": as /api/show} */
int web_model_object(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct ocfl_object *obj = NULL;
    uint64_t offset, limit;
    unsigned num;
    int r = web_open_object(w, q, &obj, NULL, err);

    if (r >= 0 && (r = tree_args(q, obj, &num, &offset, &limit, err)) >= 0)
        if (!(*ret = json_pack("{s:o, s:o}", "log", ocfl_log_json(obj, NULL), "tree",
                               ocfl_show_json(obj, num, 1, offset, limit))))
            r = ocfl_err_set(err, -ENOMEM, "out of memory");
    ocfl_object_close(obj);
    return r;
}

static void link_obj(FILE *f, const char *page, const char *id)
{
    fprintf(f, "<a href=\"/%s?id=", page);
    web_qenc(f, id);
}

static void versions_table(FILE *f, const char *id, json_t *log, const char *path)
{
    json_t *vs = json_object_get(log, "versions"), *v;
    size_t i;

    fputs("<table id=\"versions\"><thead><tr><th>version</th><th>created</th><th>user</th>"
          "<th>message</th><th>files</th><th></th></tr></thead><tbody>\n",
          f);
    json_array_foreach(vs, i, v)
    {
        const char *name = web_jstr(v, "version");
        json_t *u = json_object_get(v, "user");
        fputs("<tr><td>", f);
        link_obj(f, "object", id);
        fputs("&amp;v=", f);
        web_qenc(f, name);
        fputs("\" class=\"version\">", f);
        web_esc(f, name);
        fputs("</a></td><td>", f);
        web_esc(f, web_jstr(v, "created"));
        fputs("</td><td>", f);
        if (json_is_object(u)) {
            web_esc(f, web_jstr(u, "name"));
            if (*web_jstr(u, "address")) {
                fputs(" &lt;", f);
                web_esc(f, web_jstr(u, "address"));
                fputs("&gt;", f);
            }
        }
        fputs("</td><td class=\"message\">", f);
        web_esc(f, web_jstr(v, "message"));
        fprintf(f, "</td><td class=\"num\">%lld</td><td>", (long long)web_jint(v, "files"));
        link_obj(f, "diff", id);
        fputs("&amp;to=", f);
        web_qenc(f, name);
        fputs("\" class=\"diff\">changes</a>", f);
        if (path) {
            fputs(" ", f);
            link_obj(f, "file", id);
            fputs("&amp;v=", f);
            web_qenc(f, name);
            fputs("&amp;path=", f);
            web_qenc(f, path);
            fputs("\">this file</a>", f);
        }
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
}

void web_render_object(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    json_t *log = json_object_get(doc, "log"), *tree = json_object_get(doc, "tree"), *e;
    json_t *files = json_object_get(tree, "files");
    const char *id = web_jstr(log, "id"), *ver = web_jstr(tree, "version");
    int64_t offset = web_jint(tree, "offset"), limit = web_jint(tree, "limit"),
            total = web_jint(tree, "total_files");
    size_t i;

    (void)w, (void)q;
    web_html_begin(f, id, "objects");
    fputs("<h1>Object <span id=\"object-id\">", f);
    web_esc(f, id);
    fputs("</span></h1>\n<p>Head <strong id=\"head\">", f);
    web_esc(f, web_jstr(log, "head"));
    fputs("</strong>, at <code>", f);
    web_esc(f, web_jstr(log, "path"));
    fputs("</code>.</p>\n<h2>Versions</h2>\n", f);
    versions_table(f, id, log, NULL);
    fprintf(f, "<h2>Files of <span id=\"tree-version\">");
    web_esc(f, ver);
    fprintf(f, "</span>%s</h2>\n<p><span id=\"tree-files\">%lld</span> files, ",
            strcmp(ver, web_jstr(log, "head")) ? "" : " (the head)", (long long)total);
    web_bytes(f, web_jint(tree, "total_size"));
    fputs(" (digests: ", f);
    web_esc(f, web_jstr(tree, "digest_algorithm"));
    fputs(").</p>\n<table id=\"tree\"><thead><tr><th>path</th><th>size</th><th>digest</th>"
          "<th></th></tr></thead><tbody>\n",
          f);
    json_array_foreach(files, i, e)
    {
        const char *p = web_jstr(e, "path"), *d = web_jstr(e, "digest");
        fputs("<tr><td>", f);
        link_obj(f, "file", id);
        fputs("&amp;v=", f);
        web_qenc(f, ver);
        fputs("&amp;path=", f);
        web_qenc(f, p);
        fputs("\" class=\"file\">", f);
        web_esc(f, p);
        fprintf(f, "</a></td><td class=\"num\" data-bytes=\"%lld\">",
                (long long)web_jint(e, "size"));
        web_bytes(f, web_jint(e, "size"));
        fputs("</td><td class=\"digest\" title=\"", f);
        web_esc(f, d);
        {
            /* a digest from the inventory is the inventory's text: escaped like the rest */
            char pre[17];
            snprintf(pre, sizeof(pre), "%s", d);
            fputs("\">", f);
            web_esc(f, pre);
            fputs("&hellip;</td><td>", f);
        }
        link_obj(f, "log", id);
        fputs("&amp;path=", f);
        web_qenc(f, p);
        fputs("\" class=\"history\">history</a></td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    if (offset > 0 || offset + limit < total) {
        fputs("<p class=\"pager\">", f);
        if (offset + limit < total) {
            link_obj(f, "object", id);
            fputs("&amp;v=", f);
            web_qenc(f, ver);
            fprintf(f, "&amp;offset=%lld\" rel=\"next\">more files &rarr;</a>",
                    (long long)(offset + limit));
        }
        fputs("</p>\n", f);
    }
    web_html_end(f);
}

void web_render_history(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    const char *id = web_jstr(doc, "id"), *path = web_jstr(doc, "logical_path");

    (void)w, (void)q;
    web_html_begin(f, *path ? path : id, "objects");
    if (*path) {
        fputs("<h1>History of <span id=\"history-path\">", f);
        web_esc(f, path);
        fputs("</span></h1>\n<p>In object ", f);
        link_obj(f, "object", id);
        fputs("\">", f);
        web_esc(f, id);
        fprintf(f,
                "</a>: the <span id=\"history-count\">%zu</span> versions that added, "
                "changed or removed it, newest first.</p>\n",
                json_array_size(json_object_get(doc, "versions")));
    } else {
        fputs("<h1>Versions of ", f);
        link_obj(f, "object", id);
        fputs("\">", f);
        web_esc(f, id);
        fputs("</a></h1>\n", f);
    }
    versions_table(f, id, doc, *path ? path : NULL);
    web_html_end(f);
}
