/* web_server.c: the HTTP server (libmicrohttpd): start, stop, and routing a request. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "root.h"
#include "web_int.h"
#include "web_listen.h"
#include "web_url.h"

/* Pages and the JSON behind them: /NAME renders the document /api/NAME returns. */
static const struct route {
    const char *name;
    web_model_fn model;
    web_render_fn render;
} routes[] = {
    {"", web_model_objects, web_render_objects},
    {"objects", web_model_objects, web_render_objects},
    {"object", web_model_object, web_render_object},
    {"log", web_model_log, web_render_history},
    {"show", web_model_show, NULL},
    {"file", web_model_file, web_render_file},
    {"diff", web_model_diff, web_render_diff},
    {"plans", web_model_plans, web_render_plans},
    {"plan", web_model_plan, web_render_plan},
};

/* Nothing from the library is printed (library code never prints). */
static void quiet(void *cls, const char *fmt, va_list ap)
{
    (void)cls, (void)fmt, (void)ap;
}

/* Keep the URL as it came: web_arg decodes each value itself, strictly. */
static size_t keep_raw(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls, (void)c;
    return strlen(s);
}

unsigned web_status_of(int code)
{
    switch (code) {
    case -ENOENT:
        return 404;
    case -EINVAL:
    case -EILSEQ:
        return 400;
    case -E2BIG:
        return 414;
    case -EFBIG:
        return 413;
    case -EACCES:
    case -EPERM:
        return 403;
    case -EBUSY:
        return 503;
    default:
        return 500;
    }
}

static void set_body_from(struct web_resp *r, FILE *f, char **buf, size_t *len)
{
    fclose(f);
    r->body = *buf;
    r->len = *len;
}

static void error_page(struct web_resp *r, int json, int code, const char *msg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    r->status = web_status_of(code);
    if (json) {
        json_t *doc = json_pack("{s:s, s:i}", "error", msg, "status", (int)r->status);
        r->body = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        r->len = r->body ? strlen(r->body) : 0;
        r->type = "application/json";
        json_decref(doc);
        return;
    }
    if (!(f = open_memstream(&buf, &len)))
        return;
    web_html_begin(f, "error", NULL);
    fprintf(f, "<h1>%u</h1>\n<p class=\"error\">", r->status);
    web_esc(f, msg);
    fprintf(f, "</p>\n");
    web_html_end(f);
    set_body_from(r, f, &buf, &len);
    r->type = "text/html; charset=utf-8";
}

static void dispatch(struct web *w, const struct web_req *q, struct web_resp *r)
{
    struct ocfl_err err = {0};
    const char *p = q->path;
    int json = 0, rc = -ENOENT;

    if (*p != '/' || strlen(p) > 64) {
        error_page(r, 0, -ENOENT, "no such page");
        return;
    }
    p++;
    if (!strcmp(p, "static/app.js") || !strcmp(p, "static/style.css")) {
        const char *s = p[7] == 'a' ? web_app_js : web_style_css;
        r->body = strdup(s);
        r->len = r->body ? strlen(s) : 0;
        r->type = p[7] == 'a' ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
        return;
    }
    if (!strcmp(p, "raw")) {
        if ((rc = web_raw(w, q, r, &err)) < 0)
            error_page(r, 0, rc, err.msg);
        return;
    }
    if (!strcmp(p, "api/events")) {
        if ((rc = web_events(w, q, r, &err)) < 0)
            error_page(r, 1, rc, err.msg);
        return;
    }
    if (!strncmp(p, "api/", 4)) {
        json = 1;
        p += 4;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *rt = &routes[i];
        json_t *doc = NULL;
        char *buf = NULL;
        size_t len = 0;
        FILE *f;
        if (strcmp(p, rt->name) || (json && !*p) || (!json && !rt->render))
            continue;
        if ((rc = rt->model(w, q, &doc, &err)) < 0) {
            error_page(r, json, rc, err.msg[0] ? err.msg : strerror(-rc));
            return;
        }
        if (json) {
            r->body = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
            r->len = r->body ? strlen(r->body) : 0;
            r->type = "application/json";
        } else if ((f = open_memstream(&buf, &len))) {
            rt->render(w, q, doc, f);
            set_body_from(r, f, &buf, &len);
            r->type = "text/html; charset=utf-8";
        }
        json_decref(doc);
        if (!r->body)
            error_page(r, json, -ENOMEM, "out of memory");
        return;
    }
    error_page(r, json, -ENOENT, "no such page");
}

struct stream {
    struct web_resp r;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    ssize_t n = s->r.read(s->r.ctx, pos, buf, max);

    return n > 0    ? n
           : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
                    : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;

    if (s->r.free_ctx)
        s->r.free_ctx(s->r.ctx);
    free(s);
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct web *w = cls;
    struct web_req q = {.w = w, .c = c, .path = url};
    struct web_resp r = {.status = 200};
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)version, (void)upload, (void)con_cls;
    /* a loopback listener answers only to its own names: another site's page that DNS
     * rebinding points at 127.0.0.1 names that site in Host */
    if (!w->remote && !w->unix_path &&
        !web_host_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
                     w->url)) {
        static const char msg[] = "misdirected request: this server answers to its loopback "
                                  "address only (127.0.0.1, localhost or [::1] with its port)\n";
        resp =
            MHD_create_response_from_buffer(sizeof(msg) - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
        ret = MHD_queue_response(c, 421, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        if (!resp)
            return MHD_NO;
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
        ret = MHD_queue_response(c, 405, resp);
        MHD_destroy_response(resp);
        return ret;
    }
    if (*upload_size) /* a GET with a body: not ours */
        return MHD_NO;
    dispatch(w, &q, &r);
    if (r.read) {
        struct stream *s = malloc(sizeof(*s));
        if (!s) {
            if (r.free_ctx)
                r.free_ctx(r.ctx);
            return MHD_NO;
        }
        s->r = r;
        resp = MHD_create_response_from_callback(r.size < 0 ? MHD_SIZE_UNKNOWN : (uint64_t)r.size,
                                                 64 * 1024, stream_read, s, stream_free);
        if (!resp) {
            stream_free(s);
            free(r.disposition);
            return MHD_NO;
        }
    } else {
        if (!r.body) {
            r.status = 500;
            r.body = strdup("out of memory\n");
            r.len = r.body ? strlen(r.body) : 0;
            r.type = "text/plain";
        }
        resp = MHD_create_response_from_buffer(r.len, r.body ? r.body : (void *)"",
                                               r.body ? MHD_RESPMEM_MUST_FREE
                                                      : MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            free(r.body);
            free(r.disposition);
            return MHD_NO;
        }
    }
    MHD_add_response_header(resp, "Content-Type", r.type ? r.type : "application/octet-stream");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            r.sandbox
                                ? "sandbox; default-src 'none'"
                                : "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                                  "form-action 'self'");
    if (r.disposition)
        MHD_add_response_header(resp, "Content-Disposition", r.disposition);
    free(r.disposition);
    ret = MHD_queue_response(c, r.status, resp);
    MHD_destroy_response(resp);
    return ret;
}

int web_start(const struct web_options *o, struct web **ret, struct ocfl_err *err)
{
    struct web *w = calloc(1, sizeof(*w));
    size_t rl;
    int r;

    if (!w)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    w->listen_fd = -1;
    pthread_mutex_init(&w->catalog.lock, NULL);
    pthread_cond_init(&w->catalog.wake, NULL);
    if (!(w->root_path = strdup(o->root)) ||
        (o->state_dir ? !(w->state_dir = strdup(o->state_dir))
                      : asprintf(&w->state_dir, "%s/extensions/ocflfs", o->root) < 0)) {
        w->state_dir = NULL;
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    rl = strlen(w->root_path);
    while (rl > 1 && w->root_path[rl - 1] == '/')
        w->root_path[--rl] = 0;
    /* a state dir given as a path under the root is kept out of reach too */
    if (!strncmp(w->state_dir, w->root_path, rl) && w->state_dir[rl] == '/' &&
        !(w->state_rel = strdup(w->state_dir + rl + 1))) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if ((r = ocfl_root_open(w->root_path, &w->root, err)) < 0)
        goto fail;
    if ((r = web_listen(o->listen, w->url, sizeof(w->url), &w->remote, &w->unix_path, err)) < 0)
        goto fail;
    w->listen_fd = r;
    if ((r = web_catalog_start(w, err)) < 0)
        goto fail;
    w->mhd = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG,
        0, NULL, NULL, answer, w, MHD_OPTION_LISTEN_SOCKET, w->listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections ? o->max_connections : 64u,
        MHD_OPTION_CONNECTION_TIMEOUT, o->timeout_s ? o->timeout_s : 30u,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024), MHD_OPTION_EXTERNAL_LOGGER, quiet,
        NULL, MHD_OPTION_UNESCAPE_CALLBACK, keep_raw, NULL,
        /* one peer cannot take every connection; a Unix socket's clients (a reverse proxy)
         * are one peer, so TCP only (MHD lets other families through anyway) */
        w->unix_path ? MHD_OPTION_END : MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)WEB_PER_IP_MAX, MHD_OPTION_END);
    if (!w->mhd) {
        r = ocfl_err_set(err, -EIO, "cannot start the web server on '%s'", w->url);
        goto fail;
    }
    w->listen_fd = -1; /* the daemon's now: MHD_stop_daemon closes it */
    *ret = w;
    return 0;
fail:
    web_stop(w);
    return r;
}

const char *web_url(const struct web *w)
{
    return w->url;
}

int web_is_remote(const struct web *w)
{
    return w->remote;
}

void web_stop(struct web *w)
{
    if (!w)
        return;
    atomic_store(&w->stopping, 1); /* event streams end at their next slice */
    if (w->mhd)
        MHD_stop_daemon(w->mhd);
    web_catalog_stop(w);
    if (w->listen_fd >= 0)
        close(w->listen_fd);
    if (w->unix_path)
        unlink(w->unix_path);
    ocfl_root_close(w->root);
    pthread_mutex_destroy(&w->catalog.lock);
    pthread_cond_destroy(&w->catalog.wake);
    free(w->unix_path);
    free(w->root_path);
    free(w->state_dir);
    free(w->state_rel);
    free(w);
}
